/*
 * analyze.h — `rangewatch analyze [-c FILE] [--json] [--bpf] CAPTURE...`: the offline,
 * forensic report of capture files — who in the provider's space sent SMTP, how much, to
 * how many MX, with which replies — per IP, per customer and per range.
 */
#ifndef RW_ANALYZE_H
#define RW_ANALYZE_H

/* Runs the subcommand; argv[0] is "analyze". Returns the process exit code. */
int analyze_main(int argc, char **argv);

#endif
