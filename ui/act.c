/*
 * act.c — the acting subcommands (see act.h): checks the customer and the reason before
 * anything is sent (the reason goes to the audit log and to the suspend hook's
 * environment: one line, at most ACT_MAX_REASON bytes, no control characters), then
 * makes the exchange through show_run() and prints the outcome with its audit id.
 *
 * Owns nothing beyond one request object. Must never: send an action without a reason,
 * or print text from the daemon (outcome, customer id) that did not pass text_escape().
 */
#include "act.h"

#include <getopt.h>
#include <string.h>

#include "show.h"

#define ACT_MAX_REASON	200	/* bytes, as views.h allows */
#define ACT_MAX_ID	200

static const char *const actions[] = { "suspend", "resume", "ack" };

static void
act_usage(FILE *f, const char *action)
{
	fprintf(f, "usage: rangewatch %s CUSTOMER --reason TEXT [-c FILE] [-s SOCKET] [--json]\n"
	    "%s;\nrecorded in the audit log with your user and the reason (operators only).\n"
	    "  --reason TEXT  why: one line of at most %d bytes (required)\n" SHOW_COMMON_HELP SHOW_EXIT_HELP,
	    action, strcmp(action, "suspend") == 0 ? "Suspends the customer through the hook" :
	    strcmp(action, "resume") == 0 ? "Lifts a suspension through the hook" :
	    "Acknowledges the customer's flag until its level rises", ACT_MAX_REASON);
}

int
act_print(FILE *f, const json_t *r, time_t now)
{
	char idb[256], what[256], aid[32];
	const char *id;

	(void)now;
	if (!json_is_object(r))
		return -1;
	if (json_is_integer(json_object_get(r, "audit_id")))
		snprintf(aid, sizeof aid, "#%lld",
		    (long long)json_integer_value(json_object_get(r, "audit_id")));
	else
		snprintf(aid, sizeof aid, "-");
	id = show_str(r, "customer", idb, sizeof idb);
	if (json_is_string(json_object_get(r, "level")))
		fprintf(f, "customer %s acknowledged at level %s (audit %s)\n", id,
		    show_str(r, "level", what, sizeof what), aid);
	else {
		fprintf(f, "%s customer %s: ", show_str(r, "action", what, sizeof what), id);
		fprintf(f, "%s (audit %s)\n", show_src_escaped(r, "outcome", what, sizeof what), aid);
	}
	return 0;
}

int
act_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "reason", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct show_call sc = { .print = act_print };
	const char *reason = NULL;
	char prog[64];
	json_t *args = NULL;
	size_t i;
	int ch, rc = 2;

	for (i = 0; i < sizeof actions / sizeof actions[0]; i++)
		if (strcmp(argv[0], actions[i]) == 0)
			sc.cmd = actions[i];
	if (sc.cmd == NULL)
		return 2;
	snprintf(prog, sizeof prog, "rangewatch %s", sc.cmd);
	sc.prog = prog;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:s:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': sc.config = optarg; break;
		case 's': sc.socket = optarg; break;
		case 'j': sc.json = 1; break;
		case 'r': reason = optarg; break;
		case 'h': act_usage(stdout, sc.cmd); return 0;
		default: act_usage(stderr, sc.cmd); return 2;
		}
	}
	if (argc - optind != 1) {
		act_usage(stderr, sc.cmd);
		return 2;
	}
	if (reason == NULL) {
		fprintf(stderr, "%s: --reason TEXT is required: it goes to the audit log\n", prog);
		return 2;
	}
	if (show_check_arg(prog, "CUSTOMER", argv[optind], ACT_MAX_ID) == -1 ||
	    show_check_arg(prog, "--reason", reason, ACT_MAX_REASON) == -1)
		return 2;
	if ((args = json_object()) == NULL ||
	    json_object_set_new(args, "customer", json_string(argv[optind])) == -1 ||
	    json_object_set_new(args, "reason", json_string(reason)) == -1) {
		fprintf(stderr, "%s: out of memory\n", prog);
		rc = 1;
		goto out;
	}
	sc.args = args;
	rc = show_run(&sc);
out:
	json_decref(args);
	return rc;
}

static int
test_alert_print(FILE *f, const json_t *r, time_t now)
{
	(void)now;
	if (!json_is_object(r) || !json_is_integer(json_object_get(r, "queued")))
		return -1;
	fprintf(f, "test alert queued: %lld message(s); see `rangewatch alerts` for delivery\n",
	    (long long)json_integer_value(json_object_get(r, "queued")));
	return 0;
}

/* test-alert: a test message to every alert recipient (operators only). */
int
test_alert_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct show_call sc = { .prog = "rangewatch test-alert", .cmd = "test-alert",
	    .print = test_alert_print };
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:s:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': sc.config = optarg; break;
		case 's': sc.socket = optarg; break;
		case 'j': sc.json = 1; break;
		case 'h':
		default:
			fprintf(ch == 'h' ? stdout : stderr, "usage: rangewatch test-alert [-c FILE] "
			    "[-s SOCKET] [--json]\nQueues a test message to every alert recipient "
			    "(operators only).\n" SHOW_COMMON_HELP SHOW_EXIT_HELP);
			return ch == 'h' ? 0 : 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "rangewatch test-alert: no arguments expected\n");
		return 2;
	}
	return show_run(&sc);
}
