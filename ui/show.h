/*
 * show.h — the read subcommands, `rangewatch status|customers|ranges|listings|alerts
 * [-c FILE] [-s SOCKET] [--json]`: one request on the control socket (shapes in
 * monitor/views.h), its result printed as tables for an 80-column terminal or, with
 * --json, as the daemon sent it. Also the exchange and the checks the acting subcommands
 * (act.h) share with them.
 */
#ifndef RW_SHOW_H
#define RW_SHOW_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

/* Prints one result (borrowed) as text to f; now is the daemon's clock, for relative
 * times. 0, or -1 when the result is not an object (nothing printed then). */
typedef int (*show_fn)(FILE *f, const json_t *result, time_t now);

/* The lines of every daemon-facing subcommand's usage about the options they share, and
 * about the exit codes. */
#define SHOW_COMMON_HELP \
	"  -c FILE        the config whose `socket` key names the daemon's socket (default\n" \
	"                 /etc/rangewatch/rangewatch.conf when it exists)\n" \
	"  -s SOCKET      the socket itself (default /run/rangewatch/rangewatch.sock)\n" \
	"  --json         the daemon's result as one JSON document\n"
#define SHOW_EXIT_HELP \
	"Exit: 0 done; 1 rangewatchd is unreachable or refused; 2 usage or configuration.\n"

/* One exchange with the daemon, as every daemon-facing subcommand makes it. */
struct show_call {
	const char *prog;	/* "rangewatch status": the prefix of messages */
	const char *config;	/* -c, may be NULL */
	const char *socket;	/* -s, may be NULL */
	const char *cmd;
	const json_t *args;	/* the request's arguments, may be NULL */
	int json;		/* print the result as JSON instead of through print */
	int need_now;		/* ask `status` for the daemon's clock first (text only) */
	show_fn print;
};

/* Finds the socket, sends the request, prints the result. Returns the exit code: 0; 1 the
 * daemon is unreachable, failed or replied ok:false (the reason on stderr); 2 the socket
 * cannot be found (a bad config). */
int show_run(const struct show_call *call);

/* Checks a text argument of an option: not empty, at most max bytes, one line of valid
 * UTF-8 without control characters. -1 after saying why on stderr (prog: the prefix). */
int show_check_arg(const char *prog, const char *opt, const char *s, size_t max);

/* The member key of o as text made safe for a terminal (text_escape) in buf, or "-" when
 * it is not a string. Returns buf or "-". */
const char *show_str(const json_t *o, const char *key, char *buf, size_t len);

/* show_str for a member the daemon escaped at its source (a list's TXT, as the probe kept
 * it: views.h): copied as it is when it is clean text, so its backslashes are not doubled
 * on the way; escaped again when it is not. */
const char *show_src_escaped(const json_t *o, const char *key, char *buf, size_t len);

/* The member k of o as a whole number (a real one cut), 0 when missing. */
long long show_inum(const json_t *o, const char *k);
/* The array k of o; an empty one (static, never freed) when it is missing or not one. */
const json_t *show_arr(const json_t *o, const char *k);

/* A duration in seconds as the views write it: 45s, 12m, 5h12m, 2d4h. Returns buf. */
const char *show_dur(char *buf, size_t len, long long s);

/* The text printers, one per read command (result shapes in views.h). */
int show_status(FILE *f, const json_t *result, time_t now);
int show_customers(FILE *f, const json_t *result, time_t now);
int show_customer(FILE *f, const json_t *result, time_t now);
int show_ranges(FILE *f, const json_t *result, time_t now);
int show_listings(FILE *f, const json_t *result, time_t now);
int show_alerts(FILE *f, const json_t *result, time_t now);

/* Runs status, customers, ranges, listings or alerts (argv[0]). Returns the exit code. */
int show_main(int argc, char **argv);

#endif
