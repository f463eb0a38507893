/*
 * reports.h — `rangewatch report [-c FILE] [-s SOCKET] [--json] [--dry-run] [FILE...]`:
 * complaint reports (ARF, X-ARF, JMRP; ui/arf.h) read from files or standard input,
 * parsed here (the daemon never sees MIME) and given to the daemon as `complaint`
 * commands (operators only; monitor/complaints.h), which resolves the source IP to the
 * customer and stores it.
 */
#ifndef RW_UI_REPORTS_H
#define RW_UI_REPORTS_H

/* Runs the subcommand. Returns the exit code: 0 all taken, 1 one or more refused or
 * unreadable (each said on stderr), 2 usage. */
int reports_main(int argc, char **argv);

#endif
