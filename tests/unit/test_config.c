/*
 * test_config.c — unit tests of rangewatch.conf loading: the built-in defaults, every key
 * read, relative paths resolved against the config file's folder (also when the config is
 * named by a relative path), comments, BOM, CRLF, indentation, list keys that append, and
 * every error with its exact FILE:LINE text.
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

static void
check_defaults(const struct rw_config *c)
{
	assert_string_equal(c->prefixes, "");
	assert_string_equal(c->customers, "");
	assert_string_equal(c->lists, "");
	assert_string_equal(c->interface, "");
	assert_string_equal(c->nameserver, "");
	assert_string_equal(c->state_dir, "/var/lib/rangewatch");
	assert_string_equal(c->socket, "/run/rangewatch/rangewatch.sock");
	assert_string_equal(c->user, "rangewatch");
	assert_string_equal(c->pidfile, "/run/rangewatch/rangewatchd.pid");
	assert_int_equal(c->nreplay, 0);
	assert_true(c->replay_speed == 1.0);
	assert_int_equal(c->snaplen, 65535);
	assert_int_equal(c->buffer_size, 4194304);
	assert_int_equal(c->flow_timeout, 300);
	assert_int_equal(c->max_flows, 1000000);
	assert_int_equal(c->max_ips, 4000000);
	assert_int_equal(c->ncite, 11);
	assert_string_equal(c->cite[0], "uceprotect");
	assert_string_equal(c->cite[1], "spamhaus");
	assert_string_equal(c->cite[10], "s5h");
	assert_string_equal(c->alert_smtp_url, "");
	assert_string_equal(c->alert_from, "");
	assert_string_equal(c->alert_to, "");
	assert_string_equal(c->webhook_url, "");
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
	expect_error(fx, "user = x\n[rangewatch]\n", 0, ":1: key 'user' outside any section");
	expect_error(fx, "[hook \"x\"]\npath = y\n", 0,
	    ":1: section [hook] takes no name (found [hook \"x\"])");
	expect_error(fx, "[list \"spamhaus\"]\nzone = zen.spamhaus.org\n", 0,
	    ":1: unknown section [list \"spamhaus\"]");
	expect_error(fx, "[hook] junk\n", 0, ":1: text after the [section] header");
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
	assert_int_equal(config_restart_keys(a, b, buf, sizeof buf), 2);
	assert_string_equal(buf, "[rangewatch] user, [capture] snaplen");
	config_free(b);
	b = load(fx, "[rangewatch]\nreplay = x.pcap\n");
	assert_int_equal(config_restart_keys(a, b, buf, sizeof buf), 1);
	assert_string_equal(buf, "[rangewatch] replay");
	config_free(a);
	config_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relative_config_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_keys, setup, teardown),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
