/*
 * test_config.c — unit tests of rangewatch.conf loading: the built-in defaults, every key
 * read, relative paths resolved against the config file's folder (also when the config is
 * named by a relative path), comments, BOM, CRLF, indentation, list keys that append, and
 * every error with its exact FILE:LINE text. The [risk] defaults are risk_config_init()'s,
 * also as the shipped etc/rangewatch.conf writes them out, and its commented [policy]
 * examples load and mean what they say; [policy "NAME"] sections edit, disable and add
 * escalation policies. text_duration(), the duration reader this file shares with the DNSBL
 * lists file, is tested here on its own too.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "testfiles.h"
#include "text.h"

struct fixture {
	char dir[64];		/* as made */
	char *real;		/* realpath of dir */
	char path[128];		/* dir/rangewatch.conf */
	char sub[128];		/* dir/sub */
	char subpath[160];	/* dir/sub/rw.conf */
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);

	if (fx == NULL || testdir_make(fx->dir, sizeof fx->dir, "config") == -1 ||
	    (fx->real = realpath(fx->dir, NULL)) == NULL)
		return -1;
	snprintf(fx->path, sizeof fx->path, "%s/rangewatch.conf", fx->dir);
	snprintf(fx->sub, sizeof fx->sub, "%s/sub", fx->dir);
	snprintf(fx->subpath, sizeof fx->subpath, "%s/rw.conf", fx->sub);
	if (mkdir(fx->sub, 0700) == -1)
		return -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	testdir_remove(fx->dir);
	free(fx->real);
	free(fx);
	return 0;
}

static struct rw_config *
load(struct fixture *fx, const char *text)
{
	struct rw_config *c = NULL;
	char err[512] = "";

	write_file(fx->path, text, 0);
	if (config_load(fx->path, &c, err, sizeof err) != 0)
		fail_msg("config_load: %s", err);
	return c;
}

/* dir/rel in a static buffer (one at a time). */
static const char *
in(const char *dir, const char *rel)
{
	static char buf[PATH_MAX];

	snprintf(buf, sizeof buf, "%s/%s", dir, rel);
	return buf;
}

/* r is risk_config_init()'s, byte for byte (it memsets, and so do the loads). */
static void
check_risk_defaults(const struct risk_config *r)
{
	struct risk_config want;

	risk_config_init(&want);
	assert_int_equal(r->npolicies, 2);
	assert_string_equal(r->policy[0].name, "uceprotect-2");
	assert_string_equal(r->policy[1].name, "uceprotect-3");
	assert_memory_equal(r, &want, sizeof want);
}

static void
check_defaults(const struct rw_config *c)
{
	assert_string_equal(c->prefixes, "");
	assert_string_equal(c->customers, "");
	assert_string_equal(c->lists, "");
	assert_string_equal(c->interface, "");
	assert_string_equal(c->nameserver, "");
	assert_int_equal(c->dns_max_ttl, 86400);
	assert_int_equal(c->dns_max_negative_ttl, 3600);
	assert_string_equal(c->state_dir, "/var/lib/rangewatch");
	assert_string_equal(c->socket, "/run/rangewatch/rangewatch.sock");
	assert_int_equal(c->socket_mode, 0660);
	assert_string_equal(c->socket_group, "");
	assert_int_equal(c->noperators, 0);
	assert_string_equal(c->user, "rangewatch");
	assert_string_equal(c->pidfile, "/run/rangewatch/rangewatchd.pid");
	assert_int_equal(c->nreplay, 0);
	assert_true(c->replay_speed == 1.0);
	assert_int_equal(c->snaplen, 65535);
	assert_int_equal(c->buffer_size, 33554432);
	assert_int_equal(c->ring_events, 131072);
	assert_int_equal(c->flow_timeout, 300);
	assert_int_equal(c->max_flows, 1000000);
	assert_int_equal(c->max_ips, 4000000);
	assert_int_equal(c->ncite, 11);
	assert_string_equal(c->cite[0], "uceprotect");
	assert_string_equal(c->cite[1], "spamhaus");
	assert_string_equal(c->cite[10], "s5h");
	assert_int_equal(c->minute_retention, 48 * 3600);
	assert_int_equal(c->hour_retention, 35 * 86400);
	check_risk_defaults(&c->risk);
	assert_string_equal(c->alert_smtp_url, "");
	assert_string_equal(c->alert_from, "");
	assert_string_equal(c->alert_to, "");
	assert_string_equal(c->alert_tls, "auto");
	assert_string_equal(c->alert_username, "");
	assert_string_equal(c->alert_password_file, "");
	assert_null(c->alert_password);
	assert_string_equal(c->alert_to_act, "");
	assert_string_equal(c->alert_to_warn, "");
	assert_string_equal(c->alert_to_watch, "");
	assert_string_equal(c->alert_subject_prefix, "[rangewatch]");
	assert_int_equal(c->alert_cooldown, 3600);
	assert_int_equal(c->alert_digest, 3600);
	assert_int_equal(c->alert_timeout, 30);
	assert_int_equal(c->alert_retry_for, 7 * 86400);
	assert_string_equal(c->webhook_url, "");
	assert_int_equal(c->webhook_timeout, 10);
	assert_int_equal(c->webhook_retries, 10);
	assert_string_equal(c->hook_path, "");
	assert_int_equal(c->hook_timeout, 30);
	assert_string_equal(c->hook_user, "nobody");
	assert_int_equal(c->hook_auto_suspend, 0);
	assert_int_equal(c->hook_dry_run, 1);
}

static void
test_defaults(void **state)
{
	struct fixture *fx = *state;
	struct rw_config *c = config_default();

	assert_non_null(c);
	assert_null(c->path);
	assert_null(c->dir);
	check_defaults(c);
	config_free(c);
	config_free(NULL);

	/* an empty file, and one of comments only, are the defaults too */
	c = load(fx, "");
	check_defaults(c);
	assert_string_equal(c->path, fx->path);
	assert_string_equal(c->dir, fx->real);
	config_free(c);
	c = load(fx, "; nothing\n# here\n\n[rangewatch]\n[hook]\n");
	check_defaults(c);
	config_free(c);

	/* a comment longer than a line may be is still a comment */
	{
		static const char tail[] = "\n[hook]\nuser = x\n";
		char text[600];

		memset(text, 'c', sizeof text);
		text[0] = '#';
		memcpy(text + 500, tail, sizeof tail);
		c = load(fx, text);
		assert_string_equal(c->hook_user, "x");
		config_free(c);
	}
}

struct big_load {
	const char *path, *want;
};

/* 0 when the config loads (want NULL, and [hook] user is x) or fails with want. */
static int
load_big(void *v)
{
	const struct big_load *b = v;
	struct rw_config *c = NULL;
	char err[512] = "", full[512];
	int bad;

	if (config_load(b->path, &c, err, sizeof err) == 0) {
		bad = b->want != NULL || strcmp(c->hook_user, "x") != 0;
		config_free(c);
		return bad;
	}
	snprintf(full, sizeof full, "%s%s", b->path, b->want ? b->want : "");
	return b->want == NULL || strcmp(err, full) != 0;
}

/* Lines of gigabytes are never read whole (the child may not hold 1 GiB): one without a
 * newline is refused from its first bytes; a long comment is dropped as it is read, and
 * what follows it still counts. */
static void
test_huge_lines(void **state)
{
	struct fixture *fx = *state;
	struct big_load b = { fx->path, ":2: line longer than 199 characters (split a list "
	    "over several lines with the same key)" };
	char head[6000];
	FILE *f;
	size_t i;

	memset(head, 'x', sizeof head);
	memcpy(head, "[rangewatch]\nuser = ", 20);
	head[sizeof head - 1] = '\0';
	write_sparse(fx->path, head, (off_t)4 << 30);
	assert_int_equal(bounded_child(load_big, &b), 0);
	/* a comment of 4 GiB holding NULs (the sparse part) */
	b.want = ":2: NUL byte";
	write_sparse(fx->path, "[rangewatch]\n# a long comment", (off_t)4 << 30);
	assert_int_equal(bounded_child(load_big, &b), 0);
	/* a comment of 64 MiB, then a key */
	memset(head, 'c', sizeof head);
	assert_non_null(f = fopen(fx->path, "w"));
	fputs("[hook]\n#", f);
	for (i = 0; i < (64u << 20) / sizeof head; i++)
		assert_int_equal(fwrite(head, 1, sizeof head, f), sizeof head);
	fputs("\nuser = x\n", f);
	assert_int_equal(fclose(f), 0);
	b.want = NULL;
	assert_int_equal(bounded_child(load_big, &b), 0);
	unlink(fx->path);
}

static void
test_every_key(void **state)
{
	struct fixture *fx = *state;
	struct rw_config *c;

	c = load(fx,
	    "\xef\xbb\xbf# every key\r\n"
	    "[rangewatch]\r\n"
	    "prefixes = prefixes.txt\r\n"
	    "  customers = data/customers.csv   ; indented, with a comment\n"
	    "lists = /etc/rangewatch/dnsbl.conf\n"
	    "interface = eth0\n"
	    "nameserver = 192.0.2.53:5353,[2001:db8::53]:53\n"
	    "max_ttl = 2h\n"
	    "max_negative_ttl = 90s\n"
	    "state_dir = state\n"
	    "socket = ../run/rw.sock\n"
	    "user = rwuser\n"
	    "pidfile =\n"
	    "replay = a.pcap /abs/b.pcapng\n"
	    "replay = sub/c.pcap\n"	/* lists append */
	    "replay_speed = 0.5\n"
	    "\n"
	    "[Capture]\n"		/* sections and keys ignore case */
	    "SnapLen = 96\n"
	    "buffer_size = 65536\n"
	    "flow_timeout = 86400\n"
	    "max_flows = 5000\n"
	    "max_ips = 1000000000\n"
	    "cite = spamhaus   rejected\n"
	    "[alert]\n"
	    "smtp_url = smtps://mail.example.net:465\n"
	    "from = rangewatch@example.net\n"
	    "to = abuse@example.net, noc@example.net\n"
	    "[webhook]\n"
	    "url = https://hooks.example.net/rw?a=1&b=2\n"
	    "[hook]\n"
	    "path = hooks/suspend.sh\n"
	    "timeout = 3600\n"
	    "user = hookrunner\n"
	    "auto_suspend = TRUE\n"
	    "dry_run = 0\n");
	assert_string_equal(c->prefixes, in(fx->real, "prefixes.txt"));
	assert_string_equal(c->customers, in(fx->real, "data/customers.csv"));
	assert_string_equal(c->lists, "/etc/rangewatch/dnsbl.conf");
	assert_string_equal(c->interface, "eth0");
	assert_string_equal(c->nameserver, "192.0.2.53:5353,[2001:db8::53]:53");
	assert_int_equal(c->dns_max_ttl, 7200);
	assert_int_equal(c->dns_max_negative_ttl, 90);
	assert_string_equal(c->state_dir, in(fx->real, "state"));
	assert_string_equal(c->socket, in(fx->real, "../run/rw.sock"));
	assert_string_equal(c->user, "rwuser");
	assert_string_equal(c->pidfile, "");		/* empty PATH stays empty */
	assert_int_equal(c->nreplay, 3);
	assert_string_equal(c->replay[0], in(fx->real, "a.pcap"));
	assert_string_equal(c->replay[1], "/abs/b.pcapng");
	assert_string_equal(c->replay[2], in(fx->real, "sub/c.pcap"));
	assert_true(c->replay_speed == 0.5);
	assert_int_equal(c->snaplen, 96);
	assert_int_equal(c->buffer_size, 65536);
	assert_int_equal(c->flow_timeout, 86400);
	assert_int_equal(c->max_flows, 5000);
	assert_int_equal(c->max_ips, 1000000000);
	assert_int_equal(c->ncite, 2);			/* the first line replaces the default */
	assert_string_equal(c->cite[0], "spamhaus");
	assert_string_equal(c->cite[1], "rejected");
	assert_string_equal(c->alert_smtp_url, "smtps://mail.example.net:465");
	assert_string_equal(c->alert_from, "rangewatch@example.net");
	assert_string_equal(c->alert_to, "abuse@example.net, noc@example.net");
	assert_string_equal(c->webhook_url, "https://hooks.example.net/rw?a=1&b=2");
	assert_string_equal(c->hook_path, in(fx->real, "hooks/suspend.sh"));
	assert_int_equal(c->hook_timeout, 3600);
	assert_string_equal(c->hook_user, "hookrunner");
	assert_int_equal(c->hook_auto_suspend, 1);
	assert_int_equal(c->hook_dry_run, 0);
	config_free(c);

	/* the booleans and an empty list */
	c = load(fx, "[hook]\nauto_suspend = yes\ndry_run = No\n[capture]\ncite =\n"
	    "[rangewatch]\nreplay_speed = 0\n");
	assert_int_equal(c->hook_auto_suspend, 1);
	assert_int_equal(c->hook_dry_run, 0);
	assert_int_equal(c->ncite, 0);
	assert_true(c->replay_speed == 0.0);
	config_free(c);
	c = load(fx, "[hook]\nauto_suspend = 1\ndry_run = false\n");
	assert_int_equal(c->hook_auto_suspend, 1);
	assert_int_equal(c->hook_dry_run, 0);
	config_free(c);
}

/* A config named by a relative path: its folder is still made absolute. */
static void
test_relative_config_path(void **state)
{
	struct fixture *fx = *state;
	struct rw_config *c = NULL;
	char cwd[PATH_MAX], err[512], want[PATH_MAX];

	write_file(fx->subpath, "[rangewatch]\nprefixes = p.txt\ncustomers = ../c.csv\n", 0);
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(fx->dir), 0);
	if (config_load("sub/rw.conf", &c, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(chdir(cwd), 0);
	assert_string_equal(c->path, "sub/rw.conf");
	snprintf(want, sizeof want, "%s/sub", fx->real);
	assert_string_equal(c->dir, want);
	snprintf(want, sizeof want, "%s/sub/p.txt", fx->real);
	assert_string_equal(c->prefixes, want);
	snprintf(want, sizeof want, "%s/sub/../c.csv", fx->real);
	assert_string_equal(c->customers, want);
	config_free(c);

	/* a bare file name: the current folder */
	assert_int_equal(chdir(fx->sub), 0);
	c = NULL;
	if (config_load("rw.conf", &c, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(chdir(cwd), 0);
	snprintf(want, sizeof want, "%s/sub/p.txt", fx->real);
	assert_string_equal(c->prefixes, want);
	config_free(c);
}

static void
expect_error(struct fixture *fx, const char *text, size_t len, const char *want)
{
	struct rw_config *c = (struct rw_config *)1;
	char err[512] = "", full[512];

	write_file(fx->path, text, len);
	snprintf(full, sizeof full, "%s%s", fx->path, want);
	assert_int_equal(config_load(fx->path, &c, err, sizeof err), -1);
	assert_null(c);
	assert_string_equal(err, full);
}

static void
test_errors(void **state)
{
	struct fixture *fx = *state;
	static const char nul[] = "[rangewatch]\nuser = a\0b\n";
	char longline[400], err[512], want[512], missing[256];
	struct rw_config *c;

	expect_error(fx, "[rangewatch]\nuser = x\n\n[bogus]\n", 0,
	    ":4: unknown section [bogus]");
	expect_error(fx, "# c\n[rangewatch]\nprefixes = p\n[capture]\nsnaplenn = 100\n", 0,
	    ":5: unknown key 'snaplenn' in [capture]");
	expect_error(fx, "[alert]\nsmtp = x\n", 0, ":2: unknown key 'smtp' in [alert]");
	expect_error(fx, "[flows]\nexporter = 192.0.2.1\nexporter = router1\n", 0,
	    ":3: [flows] exporter: "
	    "expected ADDR or ADDR sampling N (an IP address; N from 1 to 10000000, the 1-in-N rate that overrides what the exporter says)");
	expect_error(fx, "[flows]\nexporter = 192.0.2.1 sampling 0\n", 0,
	    ":2: [flows] exporter: "
	    "expected ADDR or ADDR sampling N (an IP address; N from 1 to 10000000, the 1-in-N rate that overrides what the exporter says)");
	expect_error(fx, "[flows]\nsflow = flows.example:6343\n", 0,
	    ":2: [flows] sflow: 'flows.example:6343': "
	    "not an address to listen on: ADDR, ADDR:PORT or [V6ADDR]:PORT (an IP address, not a name)");
	expect_error(fx, "[flows]\nipfix = 127.0.0.1:0\n", 0,
	    ":2: [flows] ipfix: '127.0.0.1:0': "
	    "not an address to listen on: ADDR, ADDR:PORT or [V6ADDR]:PORT (an IP address, not a name)");
	expect_error(fx, "[flows]\npcap_window = 5m\npcap_window = 1m\n", 0,
	    ":3: [flows] pcap_window is already set at line 2");
	expect_error(fx, "user = x\n[rangewatch]\n", 0, ":1: key 'user' outside any section");
	expect_error(fx, "[hook \"x\"]\npath = y\n", 0,
	    ":1: section [hook] takes no name (found [hook \"x\"])");
	expect_error(fx, "[list \"spamhaus\"]\nzone = zen.spamhaus.org\n", 0,
	    ":1: unknown section [list \"spamhaus\"]");
	expect_error(fx, "[hook] junk\n", 0, ":1: text after the [section] header");
	config_free(load(fx, "[rangewatch]\nuser = nobody\n"));	/* no hook: no clash */
	/* the hook's user is not the daemon's: file:line of [hook] user, else of user */
	expect_error(fx, "[rangewatch]\nuser = rw\n[hook]\npath = /bin/true\nuser = rw\n", 0,
	    ":5: [hook] user: must not be the daemon's own user ([rangewatch] user = rw): hooks run as a user of their own");
	expect_error(fx, "[rangewatch]\nuser = nobody\n[hook]\npath = /bin/true\n", 0,
	    ":2: [hook] user: must not be the daemon's own user ([rangewatch] user = nobody): hooks run as a user of their own");
	expect_error(fx, "[rangewatch]\nthis line has no equals sign\nuser = x\n", 0,
	    ":2: syntax error (expected [section] or key = value)");
	expect_error(fx, "[rangewatch\nuser = x\n", 0,
	    ":1: syntax error (expected [section] or key = value)");
	/* a syntax error before a bad key is the one reported */
	expect_error(fx, "[rangewatch]\noops\nbogus = 1\n", 0,
	    ":2: syntax error (expected [section] or key = value)");
	expect_error(fx, "[capture]\nsnaplen = 12abc\n", 0,
	    ":2: [capture] snaplen: '12abc' is not an integer");
	expect_error(fx, "[capture]\nsnaplen =\n", 0, ":2: [capture] snaplen: '' is not an integer");
	expect_error(fx, "[capture]\nsnaplen = 95\n", 0,
	    ":2: [capture] snaplen: 95 is out of range (96..262144)");
	expect_error(fx, "[capture]\nsnaplen = 262145\n", 0,
	    ":2: [capture] snaplen: 262145 is out of range (96..262144)");
	expect_error(fx, "[capture]\nbuffer_size = 65535\n", 0,
	    ":2: [capture] buffer_size: 65535 is out of range (65536..2147483647)");
	expect_error(fx, "[capture]\nbuffer_size = 99999999999999999999999\n", 0,
	    ":2: [capture] buffer_size: '99999999999999999999999' is not an integer");
	expect_error(fx, "[capture]\nflow_timeout = 4\n", 0,
	    ":2: [capture] flow_timeout: 4 is out of range (5..86400)");
	expect_error(fx, "[capture]\nmax_ips = -1\n", 0,
	    ":2: [capture] max_ips: -1 is out of range (1..1000000000)");
	expect_error(fx, "[capture]\nmax_flows = +5\n", 0,
	    ":2: [capture] max_flows: '+5' is not an integer");
	expect_error(fx, "[hook]\ntimeout = 0\n", 0,
	    ":2: [hook] timeout: 0 is out of range (1..3600)");
	expect_error(fx, "[hook]\nauto_suspend = maybe\n", 0,
	    ":2: [hook] auto_suspend: 'maybe' is not yes/no, true/false or 1/0");
	expect_error(fx, "[hook]\ndry_run = \n", 0,
	    ":2: [hook] dry_run: '' is not yes/no, true/false or 1/0");
	expect_error(fx, "[rangewatch]\nreplay_speed = fast\n", 0,
	    ":2: [rangewatch] replay_speed: 'fast' is not a number");
	expect_error(fx, "[rangewatch]\nreplay_speed = nan\n", 0,
	    ":2: [rangewatch] replay_speed: 'nan' is not a number");
	expect_error(fx, "[rangewatch]\nreplay_speed = -0.5\n", 0,
	    ":2: [rangewatch] replay_speed: -0.5 is out of range (0..1e+06)");
	expect_error(fx, "[rangewatch]\nuser = a\n[hook]\nuser = b\n[rangewatch]\nuser = c\n", 0,
	    ":6: [rangewatch] user is already set at line 2");
	expect_error(fx, "[rangewatch]\nuser = a\x1b[2Jb\n", 0,
	    ":2: [rangewatch] user: control character or bad UTF-8 in the value");
	expect_error(fx, nul, sizeof nul - 1, ":2: NUL byte");
	memset(longline, 'x', sizeof longline - 1);
	longline[sizeof longline - 1] = '\0';
	memcpy(longline, "[rangewatch]\nuser = ", 20);
	expect_error(fx, longline, 0, ":2: line longer than 199 characters (split a list "
	    "over several lines with the same key)");

	snprintf(missing, sizeof missing, "%s/nonexistent.conf", fx->dir);
	snprintf(want, sizeof want, "%s: No such file or directory", missing);
	assert_int_equal(config_load(missing, &c, err, sizeof err), -1);
	assert_string_equal(err, want);
}

/* The keys of issue 4: the socket's mode and group, operators, [store], [risk]. */
static void
test_socket_store_risk(void **state)
{
	struct fixture *fx = *state;
	struct rw_config *c;

	c = load(fx,
	    "[rangewatch]\n"
	    "socket_mode = 600\n"
	    "socket_group = rw-ops_2.x\n"
	    "operators = alice @noc\n"
	    "operators = bob.smith\n"		/* lists append */
	    "[store]\n"
	    "minute_retention = 90m\n"
	    "hour_retention = 2w\n"
	    "[risk]\n"
	    "max_ips = 5000\n"
	    "rate_factor = 4.5\n"
	    "peak_factor = 1.5\n"
	    "rate_min = 0\n"
	    "baseline_hours = 168\n"
	    "conn_per_hour = 100\n"
	    "rcpt_per_hour = 700\n"
	    "mx_per_hour = 30\n"
	    "rejections_5xx_per_hour = 7\n"
	    "rejections_cited_per_hour = 1\n"
	    "silent = 1w\n"
	    "woke_for = 90m\n"
	    "woke_min = 2\n"
	    "warn_at = 0.25\n"
	    "act_at = 0.25\n"			/* equal is fine */
	    "rate_window = 7200\n");		/* no unit: seconds */
	assert_int_equal(c->socket_mode, 0600);
	assert_string_equal(c->socket_group, "rw-ops_2.x");
	assert_int_equal(c->noperators, 3);
	assert_string_equal(c->operators[0], "alice");
	assert_string_equal(c->operators[1], "@noc");
	assert_string_equal(c->operators[2], "bob.smith");
	assert_int_equal(c->minute_retention, 90 * 60);
	assert_int_equal(c->hour_retention, 14 * 86400);
	assert_int_equal(c->risk.max_ips, 5000);
	assert_true(c->risk.rate_factor == 4.5);
	assert_true(c->risk.peak_factor == 1.5);
	assert_int_equal(c->risk.rate_min, 0);
	assert_int_equal(c->risk.baseline_hours, 168);
	assert_int_equal(c->risk.conn_per_hour, 100);
	assert_int_equal(c->risk.rcpt_per_hour, 700);
	assert_int_equal(c->risk.mx_per_hour, 30);
	assert_int_equal(c->risk.rej_5xx, 7);
	assert_int_equal(c->risk.rej_cited, 1);
	assert_int_equal(c->risk.silent, 7 * 86400);
	assert_int_equal(c->risk.woke_for, 90 * 60);
	assert_int_equal(c->risk.woke_min, 2);
	assert_true(c->risk.warn_at == 0.25);
	assert_true(c->risk.act_at == 0.25);
	assert_int_equal(c->risk.rate_window, 7200);
	assert_int_equal(c->risk.npolicies, 2);		/* no [policy]: the built-ins */
	config_free(c);

	/* every unit, the bounds themselves, the other spellings of the modes */
	c = load(fx, "[store]\nminute_retention = 3600s\nhour_retention = 3650d\n"
	    "[rangewatch]\nsocket_mode = 0660\noperators =\n[risk]\nsilent = 365d\n"
	    "woke_for = 1m\nrate_window = 30d\nwarn_at = 10\nact_at = 10\n");
	assert_int_equal(c->minute_retention, 3600);
	assert_int_equal(c->hour_retention, 3650L * 86400);
	assert_int_equal(c->socket_mode, 0660);
	assert_int_equal(c->noperators, 0);
	assert_int_equal(c->risk.silent, 365 * 86400);
	assert_int_equal(c->risk.woke_for, 60);
	assert_int_equal(c->risk.rate_window, 30 * 86400);
	config_free(c);
	c = load(fx, "[store]\nminute_retention = 1h\nhour_retention = 192h\n"
	    "[rangewatch]\nsocket_mode = 0600\n");
	assert_int_equal(c->minute_retention, 3600);
	assert_int_equal(c->hour_retention, 8 * 86400);
	assert_int_equal(c->socket_mode, 0600);
	config_free(c);
	c = load(fx, "[rangewatch]\nsocket_mode = 660\n");
	assert_int_equal(c->socket_mode, 0660);
	config_free(c);
}

/* The built-in policies edited and disabled, new ones added. */
/* [class "NAME"]: a tag's own limits; bad names, keys, values and twice-defined classes
 * are refused with their line. */
static void
test_classes(void **state)
{
	struct fixture *fx = *state;
	struct rw_config *c;

	c = load(fx, "[class \"bulk\"]\nmx_per_hour = 3000\nreject_ratio_weak = 0.25\n"
	    "[risk]\nmx_per_hour = 150\n[class \"relay\"]\nrejections_5xx_per_hour = 90\n");
	assert_int_equal(c->risk.nclasses, 2);
	assert_string_equal(c->risk.cls[0].name, "bulk");
	assert_int_equal(c->risk.cls[0].mx_per_hour, 3000);
	assert_true(c->risk.cls[0].reject_ratio_weak == 0.25);
	assert_int_equal(c->risk.cls[0].conn_per_hour, 0);	/* [risk]'s */
	assert_int_equal(c->risk.mx_per_hour, 150);
	assert_int_equal(c->risk.cls[1].rej_5xx, 90);
	config_free(c);
	expect_error(fx, "[class \"bulk\"]\nfanout = 3\n", 0,
	    ":2: unknown key 'fanout' in [class \"bulk\"]");
	expect_error(fx, "[class \"bulk\"]\nmx_per_hour = 0\n", 0,
	    ":2: [class \"bulk\"] mx_per_hour: 0 is out of range (1..1000000000)");
	expect_error(fx, "[class \"bulk\"]\nmx_per_hour = 5\nmx_per_hour = 6\n", 0,
	    ":3: [class \"bulk\"] mx_per_hour is already set at line 2");
	expect_error(fx, "[class \"bulk\"]\n[class \"bulk\"]\n", 0,
	    ":2: [class \"bulk\"] is defined twice");
	expect_error(fx, "[class \"Bad Name\"]\n", 0, ":1: bad class name in [class \"Bad "
	    "Name\"] (a customer tag: 1..63 characters of a-z, 0-9, '_', '.', '-')");
	expect_error(fx, "[class \"bulk\"]\nreject_ratio = 0.05\n", 0,
	    ":1: [risk]: class 0 (bulk): needs a name, and reject_ratio_weak (0.1) <= "
	    "reject_ratio (0.05)");
}

static void
test_policies(void **state)
{
	struct fixture *fx = *state;
	struct risk_policy want[2];
	struct rw_config *c;
	const struct risk_policy *p;

	risk_default_policies(want, 2);

	/* editing the built-in range policy: a threshold, the window, its lists */
	c = load(fx,
	    "[policy \"uceprotect-2\"]\n"
	    "Threshold_24 = 6\n"
	    "window = 14d\n"
	    "feeds = uceprotect-1 zen\n"
	    "feeds = spamcop\n"
	    "escalating =\n");
	assert_int_equal(c->risk.npolicies, 2);
	p = &c->risk.policy[0];
	assert_string_equal(p->name, "uceprotect-2");
	assert_int_equal(p->scope, RISK_SCOPE_RANGE);
	assert_int_equal(p->range_thr[24], 6);
	assert_int_equal(p->range_thr[25], 3);		/* untouched */
	assert_int_equal(p->range_thr[26], 2);
	assert_int_equal(p->range_thr[23], 6 + 2);	/* thr(/n) = thr(/n+1) + thr(/n+3) */
	assert_int_equal(p->range_thr[22], 8 + 3);
	assert_int_equal(p->window, 14 * 86400);
	assert_int_equal(p->nfeeds, 3);
	assert_string_equal(p->feeds[0], "uceprotect-1");
	assert_string_equal(p->feeds[1], "zen");
	assert_string_equal(p->feeds[2], "spamcop");
	assert_string_equal(p->escalating, "");
	assert_memory_equal(&c->risk.policy[1], &want[1], sizeof want[1]);	/* the other */
	config_free(c);

	/* an explicit shorter threshold survives a longer one given after it, even when it
	 * equals what the recurrence gave before */
	c = load(fx, "[policy \"uceprotect-2\"]\nthreshold_23 = 6\nthreshold_24 = 10\n"
	    "threshold_32 = 1\n");
	p = &c->risk.policy[0];
	assert_int_equal(p->range_thr[24], 10);
	assert_int_equal(p->range_thr[23], 6);
	assert_int_equal(p->range_thr[22], 6 + 3);
	config_free(c);

	/* the built-in asn policy edited, the range one disabled */
	c = load(fx,
	    "[policy \"uceprotect-2\"]\n"
	    "enabled = no\n"
	    "[policy \"uceprotect-3\"]\n"
	    "min_impacts = 20\n"
	    "spamscore = 12.5\n"
	    "enabled = yes\n");
	assert_int_equal(c->risk.npolicies, 1);
	p = &c->risk.policy[0];
	assert_string_equal(p->name, "uceprotect-3");
	assert_int_equal(p->scope, RISK_SCOPE_ASN);
	assert_int_equal(p->asn_min_impacts, 20);
	assert_true(p->asn_spamscore == 12.5);
	assert_string_equal(p->feeds[0], "uceprotect-1");
	assert_string_equal(p->escalating, "uceprotect-3");
	config_free(c);

	/* new policies: scope after a range key is fine; defaults from risk_policy_init */
	c = load(fx,
	    "[policy \"zen-range\"]\n"
	    "threshold_26 = 3\n"
	    "feeds = zen\n"
	    "scope = range\n"
	    "[policy \"spamhaus.asn_1\"]\n"
	    "scope = ASN\n"
	    "feeds = zen sbl\n"
	    "escalating = sbl-asn\n"
	    "min_impacts = 5\n"
	    "[policy \"off\"]\n"			/* added, then dropped */
	    "enabled = no\n"
	    "[policy \"uceprotect-3\"]\n"
	    "enabled = no\n");
	assert_int_equal(c->risk.npolicies, 3);
	assert_memory_equal(&c->risk.policy[0], &want[0], sizeof want[0]);
	p = &c->risk.policy[1];
	assert_string_equal(p->name, "zen-range");
	assert_int_equal(p->scope, RISK_SCOPE_RANGE);
	assert_int_equal(p->nfeeds, 1);
	assert_string_equal(p->feeds[0], "zen");
	assert_string_equal(p->escalating, "");
	assert_int_equal(p->window, 7 * 86400);
	assert_int_equal(p->range_thr[26], 3);
	assert_int_equal(p->range_thr[24], 4);
	assert_int_equal(p->range_thr[23], 4 + 3);
	p = &c->risk.policy[2];
	assert_string_equal(p->name, "spamhaus.asn_1");
	assert_int_equal(p->scope, RISK_SCOPE_ASN);
	assert_int_equal(p->nfeeds, 2);
	assert_string_equal(p->feeds[1], "sbl");
	assert_string_equal(p->escalating, "sbl-asn");
	assert_int_equal(p->asn_min_impacts, 5);
	assert_true(p->asn_spamscore == 50);
	config_free(c);

	/* RISK_MAX_POLICIES in all: 6 new ones beside the built-ins, or 8 without them */
	c = load(fx, "[policy \"a\"]\nscope = asn\nfeeds = x\n[policy \"b\"]\nscope = asn\n"
	    "feeds = x\n[policy \"c\"]\nscope = asn\nfeeds = x\n[policy \"d\"]\nscope = asn\n"
	    "feeds = x\n[policy \"e\"]\nscope = asn\nfeeds = x\n[policy \"f\"]\nscope = asn\n"
	    "feeds = x\n");
	assert_int_equal(c->risk.npolicies, RISK_MAX_POLICIES);
	assert_string_equal(c->risk.policy[7].name, "f");
	config_free(c);
	c = load(fx, "[policy \"uceprotect-2\"]\nenabled = no\n[policy \"uceprotect-3\"]\n"
	    "enabled = no\n[policy \"a\"]\nscope = asn\nfeeds = x\n[policy \"b\"]\nscope = asn\n"
	    "feeds = x\n[policy \"c\"]\nscope = asn\nfeeds = x\n[policy \"d\"]\nscope = asn\n"
	    "feeds = x\n[policy \"e\"]\nscope = asn\nfeeds = x\n[policy \"f\"]\nscope = asn\n"
	    "feeds = x\n[policy \"g\"]\nscope = asn\nfeeds = x\n[policy \"h\"]\nscope = asn\n"
	    "feeds = x\n");
	assert_int_equal(c->risk.npolicies, RISK_MAX_POLICIES);
	assert_string_equal(c->risk.policy[0].name, "a");
	assert_string_equal(c->risk.policy[7].name, "h");
	config_free(c);

	/* the longest NAME (longer than inih keeps of a section header) */
	{
		char text[256], name[RISK_NAME_MAX];

		memset(name, 'n', sizeof name - 1);
		name[sizeof name - 1] = '\0';
		snprintf(text, sizeof text, "[policy \"%s\"]\nscope = asn\nfeeds = x\n"
		    "min_impacts = 9\n[risk]\nwarn_at = 0.1\n", name);
		c = load(fx, text);
		assert_int_equal(c->risk.npolicies, 3);
		assert_string_equal(c->risk.policy[2].name, name);
		assert_int_equal(c->risk.policy[2].asn_min_impacts, 9);
		assert_true(c->risk.warn_at == 0.1);
		config_free(c);
	}

	/* eight feeds are the most */
	c = load(fx, "[policy \"uceprotect-2\"]\nfeeds = a b c d\nfeeds = e f g h\n");
	assert_int_equal(c->risk.policy[0].nfeeds, RISK_MAX_FEEDS);
	assert_string_equal(c->risk.policy[0].feeds[7], "h");
	config_free(c);
}

/* The shipped example: its [risk] is the defaults written out, and its commented [policy]
 * examples, uncommented, load and do what the comments say. */
static void
test_example_conf(void **state)
{
	struct fixture *fx = *state;
	char dir[PATH_MAX], path[PATH_MAX + 32], err[512], *slash, *text, *line, *save;
	struct risk_policy want[2];
	struct rw_config *c = NULL;
	size_t i, len = 0, cap;
	int inpol = 0, npol = 0;
	FILE *f;

	snprintf(dir, sizeof dir, "%s", __FILE__);	/* tests/unit/test_config.c */
	for (i = 0; i < 3; i++) {
		if ((slash = strrchr(dir, '/')) == NULL) {
			snprintf(dir, sizeof dir, ".");
			break;
		}
		*slash = '\0';
	}
	snprintf(path, sizeof path, "%s/etc/rangewatch.conf", dir);
	if (access(path, R_OK) != 0) {
		print_message("cannot find %s (run from the source tree)\n", path);
		skip();
	}
	if (config_load(path, &c, err, sizeof err) != 0)
		fail_msg("%s", err);
	/* the two shipped classes, then everything else is the built-in default */
	assert_int_equal(c->risk.nclasses, 2);
	assert_string_equal(c->risk.cls[0].name, "bulk");
	assert_int_equal(c->risk.cls[0].mx_per_hour, 2000);
	assert_true(c->risk.cls[0].reject_ratio_weak == 0.2);
	assert_true(c->risk.cls[0].reject_ratio == 0);		/* [risk]'s */
	assert_string_equal(c->risk.cls[1].name, "relay");
	assert_int_equal(c->risk.cls[1].rej_5xx, 100);
	memset(c->risk.cls, 0, sizeof c->risk.cls);
	c->risk.nclasses = 0;
	check_risk_defaults(&c->risk);
	assert_int_equal(c->socket_mode, 0660);
	assert_string_equal(c->socket_group, "");
	assert_int_equal(c->noperators, 0);
	assert_int_equal(c->minute_retention, 48 * 3600);
	assert_int_equal(c->hour_retention, 35 * 86400);
	config_free(c);

	/* the file, plus the lines of each commented `;   [policy ...]` block uncommented */
	assert_non_null(f = fopen(path, "r"));
	cap = 1 << 16;
	assert_non_null(text = malloc(cap * 2));
	len = fread(text, 1, cap - 1, f);
	fclose(f);
	assert_true(len > 0 && len < cap - 1);
	text[len] = '\0';
	memcpy(text + cap, text, len + 1);	/* strtok_r's copy */
	for (line = strtok_r(text + cap, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, ";   [policy ", 12) == 0) {
			inpol = 1;
			npol++;
		} else if (strncmp(line, ";   ", 4) != 0)
			inpol = 0;
		if (inpol)
			len += (size_t)snprintf(text + len, cap - len, "%s\n", line + 4);
	}
	assert_int_equal(npol, 3);
	assert_true(len < cap);
	text[len] = '\0';
	c = load(fx, text);
	free(text);
	/* uceprotect-2 written out is itself, uceprotect-3 is gone, zen-range is added */
	risk_default_policies(want, 2);
	assert_int_equal(c->risk.npolicies, 2);
	assert_memory_equal(&c->risk.policy[0], &want[0], sizeof want[0]);
	assert_string_equal(c->risk.policy[1].name, "zen-range");
	assert_string_equal(c->risk.policy[1].feeds[0], "zen");
	config_free(c);
}

static void
test_new_errors(void **state)
{
	struct fixture *fx = *state;
	char text[2048];
	size_t n;
	int i;

	/* durations */
	expect_error(fx, "[store]\nhour_retention = 7d\n", 0,
	    ":2: [store] hour_retention: 7d is out of range (8d..3650d)");
	expect_error(fx, "[store]\nhour_retention = 191h\n", 0,
	    ":2: [store] hour_retention: 191h is out of range (8d..3650d)");
	expect_error(fx, "[store]\nhour_retention = 99999999999999999999w\n", 0,
	    ":2: [store] hour_retention: 99999999999999999999w is out of range (8d..3650d)");
	expect_error(fx, "# retention\n[store]\nminute_retention = 59m\n", 0,
	    ":3: [store] minute_retention: 59m is out of range (1h..365d)");
	expect_error(fx, "[store]\nminute_retention = 48 hours\n", 0,
	    ":2: [store] minute_retention: '48 hours' is not a duration (a number of seconds, "
	    "or with s, m, h, d or w: 90s, 30m, 48h, 7d, 1w)");
	expect_error(fx, "[store]\nminute_retention = 5y\n", 0,
	    ":2: [store] minute_retention: '5y' is not a duration (a number of seconds, "
	    "or with s, m, h, d or w: 90s, 30m, 48h, 7d, 1w)");
	expect_error(fx, "[store]\nminute_retention = -1h\n", 0,
	    ":2: [store] minute_retention: '-1h' is not a duration (a number of seconds, "
	    "or with s, m, h, d or w: 90s, 30m, 48h, 7d, 1w)");
	expect_error(fx, "[store]\nminute_retention = 2hh\n", 0,
	    ":2: [store] minute_retention: '2hh' is not a duration (a number of seconds, "
	    "or with s, m, h, d or w: 90s, 30m, 48h, 7d, 1w)");
	expect_error(fx, "[store]\nminute_retention = h\n", 0,
	    ":2: [store] minute_retention: 'h' is not a duration (a number of seconds, "
	    "or with s, m, h, d or w: 90s, 30m, 48h, 7d, 1w)");
	expect_error(fx, "[store]\nminute_retention = 2h\nminute_retention = 3h\n", 0,
	    ":3: [store] minute_retention is already set at line 2");
	expect_error(fx, "[store]\nretention = 2h\n", 0, ":2: unknown key 'retention' in [store]");
	expect_error(fx, "[risk]\nsilent = 30\n", 0,
	    ":2: [risk] silent: 30 is out of range (1h..365d)");
	expect_error(fx, "[risk]\nrate_window = 31d\n", 0,
	    ":2: [risk] rate_window: 31d is out of range (1h..30d)");

	/* the socket and the operators */
	expect_error(fx, "[rangewatch]\nsocket_mode = 0666\n", 0,
	    ":2: [rangewatch] socket_mode: '0666' must be 0600 (the daemon's user only) or "
	    "0660 (and its group)");
	expect_error(fx, "[rangewatch]\nsocket_mode = 0640\n", 0,
	    ":2: [rangewatch] socket_mode: '0640' must be 0600 (the daemon's user only) or "
	    "0660 (and its group)");
	expect_error(fx, "[rangewatch]\nsocket_mode = 00660\n", 0,
	    ":2: [rangewatch] socket_mode: '00660' must be 0600 (the daemon's user only) or "
	    "0660 (and its group)");
	expect_error(fx, "[rangewatch]\nsocket_mode = 432\n", 0,	/* 0660 in decimal */
	    ":2: [rangewatch] socket_mode: '432' must be 0600 (the daemon's user only) or "
	    "0660 (and its group)");
	expect_error(fx, "[rangewatch]\nsocket_group = @noc\n", 0,
	    ":2: [rangewatch] socket_group: '@noc' is not a name (letters, digits, '.', '_', "
	    "'-')");
	expect_error(fx, "[rangewatch]\nsocket_group = noc staff\n", 0,
	    ":2: [rangewatch] socket_group: 'noc staff' is not a name (letters, digits, '.', "
	    "'_', '-')");
	expect_error(fx, "[rangewatch]\noperators = alice\noperators = b\xc3\xa9la\n", 0,
	    ":3: [rangewatch] operators: 'b\xc3\xa9la' is not a user name or @group (letters, "
	    "digits, '.', '_', '-')");
	expect_error(fx, "[rangewatch]\noperators = alice @\n", 0,
	    ":2: [rangewatch] operators: '@' is not a user name or @group (letters, "
	    "digits, '.', '_', '-')");
	expect_error(fx, "[rangewatch]\noperators = @@noc\n", 0,
	    ":2: [rangewatch] operators: '@@noc' is not a user name or @group (letters, "
	    "digits, '.', '_', '-')");

	/* [risk] */
	expect_error(fx, "[risk]\nwarn_at = 0.9\n", 0,
	    ":2: [risk] warn_at (0.9) is above act_at (0.8): a customer must be warned before "
	    "anyone acts");
	expect_error(fx, "[risk]\nwarn_at = 0.7\n[hook]\n[risk]\nact_at = 0.6\n", 0,
	    ":5: [risk] warn_at (0.7) is above act_at (0.6): a customer must be warned before "
	    "anyone acts");
	expect_error(fx, "[risk]\nwarn_at = 0\n", 0, ":2: [risk] warn_at: must be above 0");
	expect_error(fx, "[risk]\nwarn_at = 0.1\nact_at = 0\n", 0,
	    ":3: [risk] act_at: must be above 0");
	expect_error(fx, "[risk]\nact_at = 10.5\n", 0,
	    ":2: [risk] act_at: 10.5 is out of range (0..10)");
	expect_error(fx, "[risk]\nmax_ips = 0\n", 0,
	    ":2: [risk] max_ips: 0 is out of range (1..1000000000)");
	expect_error(fx, "[risk]\nrate_factor = 0.5\n", 0,
	    ":2: [risk] rate_factor: 0.5 is out of range (1..1000)");
	expect_error(fx, "[risk]\nconn_per_hour = 0\n", 0,
	    ":2: [risk] conn_per_hour: 0 is out of range (1..1000000000)");
	expect_error(fx, "[risk]\nrej_5xx = 3\n", 0, ":2: unknown key 'rej_5xx' in [risk]");
	expect_error(fx, "[risk \"x\"]\n", 0,
	    ":1: section [risk] takes no name (found [risk \"x\"])");

	/* [policy "NAME"]: the header */
	expect_error(fx, "[policy]\nscope = asn\n", 0,
	    ":1: section [policy] needs a name: [policy \"NAME\"]");
	expect_error(fx, "[policy \"\"]\n", 0,
	    ":1: bad section name [policy \"\"] (expected [policy \"NAME\"])");
	expect_error(fx, "[policy \"UCEprotect-2\"]\n", 0,
	    ":1: bad policy name in [policy \"UCEprotect-2\"] (1..63 characters of a-z, 0-9, "
	    "'_', '.', '-')");
	expect_error(fx, "[policy \"a b\"]\n", 0,
	    ":1: bad policy name in [policy \"a b\"] (1..63 characters of a-z, 0-9, '_', '.', "
	    "'-')");
	snprintf(text, sizeof text, "[policy \"%064d\"]\n", 0);
	expect_error(fx, text, 0, ":1: bad policy name in [policy \"0000000000000000000000000"
	    "000000000000000000000000000000000000000\"] (1..63 characters of a-z, 0-9, '_', "
	    "'.', '-')");
	expect_error(fx, "[policy \"x\"]\nscope = range\nfeeds = zen\n[risk]\n[policy \"x\"]\n",
	    0, ":5: [policy \"x\"] is already defined at line 1");
	expect_error(fx, "[policy \"uceprotect-3\"]\nenabled = no\n[policy \"uceprotect-3\"]\n"
	    "window = 1d\n", 0, ":3: [policy \"uceprotect-3\"] is already defined at line 1");
	n = 0;
	for (i = 0; i < 7; i++)
		n += (size_t)snprintf(text + n, sizeof text - n,
		    "[policy \"p%d\"]\nscope = asn\nfeeds = x\n", i);
	expect_error(fx, text, 0, ":19: [policy \"p6\"]: too many policies (at most 8, the "
	    "built-in ones included; remove one with enabled = no)");

	/* [policy "NAME"]: the keys */
	expect_error(fx, "[policy \"uceprotect-2\"]\nthreshold = 4\n", 0,
	    ":2: unknown key 'threshold' in [policy \"uceprotect-2\"]");
	expect_error(fx, "[policy \"uceprotect-2\"]\nthreshold_024 = 4\n", 0,
	    ":2: unknown key 'threshold_024' in [policy \"uceprotect-2\"]");
	expect_error(fx, "[policy \"uceprotect-2\"]\nthreshold_7 = 40\n", 0,
	    ":2: [policy \"uceprotect-2\"] threshold_7: the prefix length must be 8..32 "
	    "(threshold_24 = 4)");
	expect_error(fx, "[policy \"uceprotect-2\"]\nthreshold_33 = 1\n", 0,
	    ":2: [policy \"uceprotect-2\"] threshold_33: the prefix length must be 8..32 "
	    "(threshold_24 = 4)");
	expect_error(fx, "[policy \"uceprotect-2\"]\nthreshold_24 = 0\n", 0,
	    ":2: [policy \"uceprotect-2\"] threshold_24: 0 is out of range (1..1000000)");
	expect_error(fx, "[policy \"uceprotect-2\"]\nthreshold_24 = 3\nthreshold_24 = 5\n", 0,
	    ":3: [policy \"uceprotect-2\"] threshold_24 is already set at line 2");
	expect_error(fx, "[policy \"uceprotect-2\"]\nwindow = 2d\n; again\nwindow = 3d\n", 0,
	    ":4: [policy \"uceprotect-2\"] window is already set at line 2");
	expect_error(fx, "[policy \"uceprotect-2\"]\nwindow = 30m\n", 0,
	    ":2: [policy \"uceprotect-2\"] window: 30m is out of range (1h..365d)");
	expect_error(fx, "[policy \"uceprotect-2\"]\nwindow = 366d\n", 0,
	    ":2: [policy \"uceprotect-2\"] window: 366d is out of range (1h..365d)");
	expect_error(fx, "[policy \"uceprotect-2\"]\nenabled = maybe\n", 0,
	    ":2: [policy \"uceprotect-2\"] enabled: 'maybe' is not yes/no, true/false or 1/0");
	expect_error(fx, "[policy \"uceprotect-2\"]\nescalating = a b\n", 0,
	    ":2: [policy \"uceprotect-2\"] escalating: 'a b' is not a list name (1..63 "
	    "letters, digits, '.', '_', '-'), or empty for none");
	expect_error(fx, "[policy \"uceprotect-3\"]\nspamscore = -1\n", 0,
	    ":2: [policy \"uceprotect-3\"] spamscore: -1 is out of range (0..100000)");
	/* a key of the other scope */
	expect_error(fx, "[policy \"uceprotect-3\"]\nthreshold_24 = 4\n", 0,
	    ":2: [policy \"uceprotect-3\"] threshold_24 is a key of scope range policies, and "
	    "this one is scope asn");
	expect_error(fx, "[policy \"uceprotect-2\"]\nmin_impacts = 10\n", 0,
	    ":2: [policy \"uceprotect-2\"] min_impacts is a key of scope asn policies, and "
	    "this one is scope range");
	expect_error(fx, "[policy \"x\"]\nscope = asn\nfeeds = zen\nthreshold_26 = 1\n", 0,
	    ":4: [policy \"x\"] threshold_26 is a key of scope range policies, and this one is "
	    "scope asn");
	expect_error(fx, "[policy \"x\"]\nfeeds = zen\nthreshold_24 = 3\nscope = asn\n", 0,
	    ":4: [policy \"x\"] scope: line 3 sets a key of scope range policies");
	expect_error(fx, "[policy \"x\"]\nspamscore = 3\nfeeds = zen\nscope = range\n", 0,
	    ":4: [policy \"x\"] scope: line 2 sets a key of scope asn policies");
	/* scope is fixed for a built-in, required (and valid) for a new one */
	expect_error(fx, "[policy \"uceprotect-2\"]\nscope = range\n", 0,
	    ":2: [policy \"uceprotect-2\"] scope: the built-in policy uceprotect-2 is scope "
	    "range, which cannot change (add a [policy] of another name instead)");
	expect_error(fx, "[policy \"x\"]\nscope = ip\n", 0,
	    ":2: [policy \"x\"] scope: 'ip' is not range or asn");
	expect_error(fx, "[policy \"x\"]\nfeeds = zen\n[risk]\nwarn_at = 0.1\n", 0,
	    ":1: [policy \"x\"] is a new policy: it needs scope = range or asn");
	expect_error(fx, "[hook]\n[policy \"x\"]\nfeeds = zen\n", 0,	/* at the end */
	    ":2: [policy \"x\"] is a new policy: it needs scope = range or asn");
	expect_error(fx, "[policy \"x\"]\nscope = asn\n", 0,
	    ":1: [policy \"x\"] needs feeds = LIST... (the ip-scope lists whose listings count "
	    "as impacts)");
	expect_error(fx, "[policy \"uceprotect-2\"]\nwindow = 1d\nfeeds =\n[risk]\n", 0,
	    ":3: [policy \"uceprotect-2\"] needs feeds = LIST... (the ip-scope lists whose "
	    "listings count as impacts)");
	/* feeds */
	expect_error(fx, "[policy \"uceprotect-2\"]\nfeeds = a b c d e f g h i\n", 0,
	    ":2: [policy \"uceprotect-2\"] feeds: too many lists (at most 8)");
	expect_error(fx, "[policy \"uceprotect-2\"]\nfeeds = a b c d e\nfeeds = f g h i\n", 0,
	    ":3: [policy \"uceprotect-2\"] feeds: too many lists (at most 8)");
	expect_error(fx, "[policy \"uceprotect-2\"]\nfeeds = a b\nfeeds = a\n", 0,
	    ":3: [policy \"uceprotect-2\"] feeds: 'a' is given twice");
	expect_error(fx, "[policy \"uceprotect-2\"]\nfeeds = zen,spamcop\n", 0,
	    ":2: [policy \"uceprotect-2\"] feeds: 'zen,spamcop' is not a list name (1..63 "
	    "letters, digits, '.', '_', '-')");
	expect_error(fx, "[policy \"uceprotect-2\"]\nfeeds = zen\x1b[2J\n", 0,
	    ":2: [policy \"uceprotect-2\"] feeds: control character or bad UTF-8 in the value");
}

static void
test_restart_keys(void **state)
{
	struct fixture *fx = *state;
	struct rw_config *a, *b;
	char buf[256];

	a = config_default();
	b = load(fx, "[rangewatch]\nprefixes = p.txt\nuser = other\n[capture]\nsnaplen = 200\n"
	    "cite = x\n[hook]\ntimeout = 5\n");
	assert_int_equal(config_restart_keys(a, a, buf, sizeof buf), 0);
	assert_string_equal(buf, "");
	assert_int_equal(config_restart_keys(a, b, buf, sizeof buf), 3);
	assert_string_equal(buf, "[rangewatch] user, [capture] snaplen, [hook] timeout");
	config_free(b);
	b = load(fx, "[rangewatch]\nreplay = x.pcap\n");
	assert_int_equal(config_restart_keys(a, b, buf, sizeof buf), 1);
	assert_string_equal(buf, "[rangewatch] replay");
	config_free(b);

	/* the socket is made as root: its mode and group need a restart ... */
	b = load(fx, "[rangewatch]\nsocket_mode = 0600\nsocket_group = noc\n");
	assert_int_equal(config_restart_keys(a, b, buf, sizeof buf), 2);
	assert_string_equal(buf, "[rangewatch] socket_mode, [rangewatch] socket_group");
	config_free(b);
	/* ... operators, [store], [risk] and the policies do not */
	b = load(fx, "[rangewatch]\noperators = alice\n[store]\nhour_retention = 9d\n"
	    "minute_retention = 2h\n[risk]\nmax_ips = 10\nsilent = 2d\nwarn_at = 0.2\n"
	    "[policy \"uceprotect-3\"]\nenabled = no\n[policy \"n\"]\nscope = asn\n"
	    "feeds = x\n");
	assert_int_equal(config_restart_keys(a, b, buf, sizeof buf), 0);
	assert_string_equal(buf, "");
	config_free(a);
	config_free(b);
}

/* [alert] and [webhook]: every key, the password read from its file (newline stripped),
 * and each inconsistency reported on its key's line. */
static void
test_alert_keys(void **state)
{
	struct fixture *fx = *state;
	char text[1024], pw[160], want[PATH_MAX + 256];
	struct rw_config *c;

	snprintf(pw, sizeof pw, "%s/pw", fx->dir);
	write_file(pw, "s3cret pass\n", 0);
	c = load(fx, "[alert]\n"
	    "smtp_url = smtp://mx.example.net:587\n"
	    "tls = opportunistic\n"
	    "username = rw\n"
	    "password_file = pw\n"
	    "from = rangewatch@example.net\n"
	    "to = abuse@example.net , noc@example.net\n"
	    "to_act = boss@example.net\n"
	    "to_warn = desk@example.net\n"
	    "to_watch =\n"
	    "subject_prefix = [rw-fra1]\n"
	    "cooldown = 30m\n"
	    "digest = 0\n"
	    "timeout = 1m\n"
	    "retry_for = 2d\n"
	    "[webhook]\n"
	    "url = http://127.0.0.1:9/hook\n"
	    "timeout = 5\n"
	    "retries = 0\n");
	assert_string_equal(c->alert_tls, "opportunistic");
	assert_string_equal(c->alert_username, "rw");
	assert_string_equal(c->alert_password_file, in(fx->real, "pw"));
	assert_string_equal(c->alert_password, "s3cret pass");
	assert_string_equal(c->alert_to, "abuse@example.net , noc@example.net");
	assert_string_equal(c->alert_to_act, "boss@example.net");
	assert_string_equal(c->alert_to_warn, "desk@example.net");
	assert_string_equal(c->alert_subject_prefix, "[rw-fra1]");
	assert_int_equal(c->alert_cooldown, 1800);
	assert_int_equal(c->alert_digest, 0);
	assert_int_equal(c->alert_timeout, 60);
	assert_int_equal(c->alert_retry_for, 2 * 86400);
	assert_string_equal(c->webhook_url, "http://127.0.0.1:9/hook");
	assert_int_equal(c->webhook_timeout, 5);
	assert_int_equal(c->webhook_retries, 0);
	config_free(c);
	/* CRLF stripped too; a level list alone is recipient enough */
	write_file(pw, "x\r\n", 0);
	c = load(fx, "[alert]\nsmtp_url = smtps://mx.example.net\nfrom = a@example.net\n"
	    "to_act = b@example.net\npassword_file = pw\n");
	assert_string_equal(c->alert_password, "x");
	config_free(c);

	expect_error(fx, "[alert]\nsmtp_url = http://mx.example.net\n", 0,
	    ":2: [alert] smtp_url: must start with smtp:// or smtps:// (or be empty: no mail)");
	expect_error(fx, "[alert]\n\ntls = maybe\n", 0,
	    ":3: [alert] tls: must be auto, required, opportunistic or none");
	expect_error(fx, "[alert]\nfrom = Rangewatch <rw@example.net>\n", 0,
	    ":2: [alert] from: not a plain address (rangewatch@example.net)");
	expect_error(fx, "[alert]\nto = a@example.net,\nto_warn = b@example.net, c\n", 0,
	    ":3: [alert] to_warn: 'c' is not a plain address (user@example.net; "
	    "comma-separated)");
	expect_error(fx, "[alert]\nsmtp_url = smtp://localhost\nto = a@example.net\n", 0,
	    ":2: [alert] smtp_url is set: from must be set too");
	expect_error(fx, "[alert]\nsmtp_url = smtp://localhost\nfrom = a@example.net\n", 0,
	    ":2: [alert] smtp_url is set: to (or to_act, to_warn, to_watch) must name a "
	    "recipient");
	expect_error(fx, "[webhook]\nurl = ftp://x\n", 0,
	    ":2: [webhook] url: must start with http:// or https:// (or be empty: none)");
	expect_error(fx, "[webhook]\nretries = 101\n", 0,
	    ":2: [webhook] retries: 101 is out of range (0..100)");
	expect_error(fx, "[alert]\ndigest = 2d\n", 0,
	    ":2: [alert] digest: 2d is out of range (0s..1d)");
	snprintf(text, sizeof text, "[alert]\nfrom = a@example.net\n\npassword_file = nope\n");
	snprintf(want, sizeof want, ":4: [alert] password_file: cannot read %s: No such file "
	    "or directory", in(fx->real, "nope"));
	expect_error(fx, text, 0, want);
	write_file(pw, "two\nlines\n", 0);
	snprintf(want, sizeof want, ":2: [alert] password_file: %s must hold the password on "
	    "one line (1..1024 bytes, no control characters)", in(fx->real, "pw"));
	expect_error(fx, "[alert]\npassword_file = pw\n", 0, want);
	write_file(pw, "\n", 0);
	expect_error(fx, "[alert]\npassword_file = pw\n", 0, want);
}

/* text_duration(): a whole number with at most one unit; too big saturates to INT64_MAX. */
static void
test_text_duration(void **state)
{
	static const struct {
		const char *s;
		int64_t secs;
	} ok[] = {
		{ "0", 0 }, { "90", 90 }, { "90s", 90 }, { "30m", 1800 }, { "48h", 172800 },
		{ "7d", 604800 }, { "1w", 604800 }, { "007s", 7 },
		{ "9223372036854775807", INT64_MAX }, { "9223372036854775808", INT64_MAX },
		{ "99999999999999999999999w", INT64_MAX },
		{ "15250284452471w", INT64_C(15250284452471) * 604800 },
		{ "15250284452472w", INT64_MAX },
	};
	static const char *const bad[] = {
		"", "s", "h", "-1", "+1", " 1", "1 ", "1.5h", "48 hours", "5y", "2hh", "1sm", "0x10",
	};
	int64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		v = -1;
		assert_int_equal(text_duration(ok[i].s, &v), 0);
		assert_true(v == ok[i].secs);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(text_duration(bad[i], &v), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relative_config_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_store_risk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_classes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_example_conf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alert_keys, setup, teardown),
		cmocka_unit_test(test_text_duration),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
