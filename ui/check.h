/*
 * check.h — `rangewatch check [-c FILE] [--json | --summary] [--timeout MS] IP|CIDR...`:
 * asks the configured DNSBLs about addresses now, through the engine the daemon uses
 * (probes/dnsbl): each list's test points first, then one query per IP, per range or per
 * ASN as the list's scope says, and prints what every list said of every address.
 */
#ifndef RW_CHECK_H
#define RW_CHECK_H

/* Runs the subcommand; argv[0] is "check". Returns the process exit code. */
int check_main(int argc, char **argv);

#endif
