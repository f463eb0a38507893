/*
 * rangewatch.c — the `rangewatch` client: one binary, one subcommand per concern. The
 * offline subcommands (analyze, check) work on files and DNS; the others talk to the
 * daemon's control socket and take -c FILE, -s SOCKET and --json after the subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "act.h"
#include "addr.h"
#include "analyze.h"
#include "check.h"
#include "log.h"
#include "ping.h"
#include "reports.h"
#include "show.h"
#include "top.h"

struct subcommand {
	const char *name;
	int (*run)(int, char **);
	const char *help;
};

static const struct subcommand subcommands[] = {
	{ "analyze", analyze_main, "analyze [-c FILE] [--json] [--bpf] CAPTURE...  "
	    "outbound SMTP per IP, customer and range in capture files" },
	{ "check", check_main, "check [-c FILE] [--json | --summary] [--timeout MS] IP|CIDR...  "
	    "ask the configured DNSBLs now" },
	{ "ping", ping_main, "ping [-c FILE] [-s SOCKET] [--timeout MS]  "
	    "does rangewatchd answer on its control socket?" },
	{ "status", show_main, "status [-c FILE] [-s SOCKET] [--json]  "
	    "the daemon: uptime, capture, levels, lists' health" },
	{ "customers", show_main, "customers [--all] [--limit N] [--filter TEXT] [--range CIDR] "
	    "[--list NAME] [ID]  flagged customers worst first, or one customer" },
	{ "ranges", show_main, "ranges [--limit N] [--policy NAME]  "
	    "neighbourhoods by pressure toward escalation" },
	{ "listings", show_main, "listings [--list NAME] [--all] [--limit N]  "
	    "what the DNSBLs list of ours now" },
	{ "alerts", show_main, "alerts [--limit N] [--customer ID]  "
	    "level changes, the audit log, alert deliveries" },
	{ "top", top_main, "top [-c FILE] [-s SOCKET]  the live dashboard (ncurses)" },
	{ "suspend", act_main, "suspend CUSTOMER --reason TEXT  suspend through the hook" },
	{ "resume", act_main, "resume CUSTOMER --reason TEXT  lift a suspension" },
	{ "ack", act_main, "ack CUSTOMER --reason TEXT  acknowledge a flag until it rises" },
	{ "report", reports_main, "report [--dry-run] [FILE...]  complaint reports (ARF, X-ARF, "
	    "JMRP) to the daemon" },
	{ "test-alert", test_alert_main, "test-alert  a test message to every alert recipient" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: rangewatch COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
		fprintf(f, "  %s\n", subcommands[i].help);
}

int
main(int argc, char **argv)
{
	char err[160];
	size_t i;

	log_init("rangewatch", 1, 0);
	/* before the first table (analyze, check): every hash table keys on it */
	if (addr_hash_init(err, sizeof err) == -1) {
		fprintf(stderr, "rangewatch: %s\n", err);
		return 1;
	}
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "rangewatch: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
