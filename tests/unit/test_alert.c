/*
 * test_alert.c — unit tests of the alert module: headers that untrusted names cannot break
 * (no CR/LF injection, RFC 2047 for non-ASCII, folded lines <= 78), the exact subject, a
 * quoted-printable body that decodes back to the evidence (checked by Python's email
 * package), unique Message-IDs; the cooldown per customer and level and the watch digest on
 * a fake clock; and delivery against real servers on loopback, started here with
 * /usr/bin/python3: an aiosmtpd SMTP server (received messages parsed with Python's email
 * package; a server down then up gets the alert exactly once; a process killed right after
 * queueing leaves it to the next one, delivered exactly once) and an http.server webhook
 * (a 500 is retried, a 2xx marks it sent, the body has text and the evidence). The live
 * part is skipped (and says so) when python3 or aiosmtpd is missing.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "alert.h"
#include "config.h"
#include "addr.h"
#include "loop.h"
#include "store.h"
#include "testfiles.h"
#include "reportfix.h"

#define PY	"/usr/bin/python3"

struct fx {
	char dir[64];
	char state[96];
	char conf[128];
	char spool[128];	/* the SMTP server's messages */
	char hooks[128];	/* the webhook server's bodies */
	struct loop *loop;
	struct store *st;
	struct rw_config *cfg;
	pid_t smtpd, httpd;
	int smtp_port, http_port;
};

/* The flag the tests start from: customer id "name" at level (was warn), two evidence
 * lines, an ASN and a range neighbourhood (the range the worse, clearing at a known time),
 * one suspect address listed with a hostile TXT. */
static struct report *
customer(const char *id, const char *name, enum risk_level level)
{
	struct report *r = rf_new(id, name, level, RISK_WARN, 3.5);
	struct report_addr *ad;

	rf_evidence(r, "customer 1001 Acme VPS: 203.0.113.7 listed on UCEPROTECT L1 since 09:12");
	rf_evidence(r, "37 remote 5xx naming spamhaus = a lot");
	rf_nb(r, "uceprotect-3", RISK_SCOPE_ASN, "AS64500", 31, 50);
	rf_nb(r, "uceprotect-2", RISK_SCOPE_RANGE, "203.0.113.0/24", 4, 4)->clear_at = 1790000000;
	ad = rf_addr(r, "203.0.113.7");
	ad->first_seen = 1780000000;
	ad->last_seen = 1780003600;
	ad->sessions = 1240;
	ad->rcpt_to = 5000;
	ad->replies_5xx = 37;
	ad->cited = 12;
	ad->dst = 380;
	ad->suspect = 1;
	ad->rules = RISK_R_RATE | RISK_R_FANOUT;
	rf_listing(ad, "uceprotect-1", 1, "127.0.0.2", "Net of 203.0.113.7 is \x1b[31mlisted",
	    1780000000, 1780003600);
	return r;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char err[512];

	if (f == NULL || testdir_make(f->dir, sizeof f->dir, "alert") == -1)
		return -1;
	snprintf(f->state, sizeof f->state, "%s/state", f->dir);
	snprintf(f->conf, sizeof f->conf, "%s/rw.conf", f->dir);
	snprintf(f->spool, sizeof f->spool, "%s/spool", f->dir);
	snprintf(f->hooks, sizeof f->hooks, "%s/hooks", f->dir);
	mkdir(f->spool, 0700);
	mkdir(f->hooks, 0700);
	if ((f->loop = loop_new()) == NULL || store_open(f->state, &f->st, err, sizeof err))
		return -1;
	*state = f;
	return 0;
}

static void
stop(pid_t *pid)
{
	if (*pid > 0) {
		kill(*pid, SIGTERM);
		waitpid(*pid, NULL, 0);
		*pid = 0;
	}
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	stop(&f->smtpd);
	stop(&f->httpd);
	store_close(f->st);
	loop_free(f->loop);
	config_free(f->cfg);
	testdir_remove(f->dir);
	free(f);
	return 0;
}

static void
config(struct fx *f, const char *text)
{
	char err[512];

	write_file(f->conf, text, 0);
	config_free(f->cfg);
	f->cfg = NULL;
	if (config_load(f->conf, &f->cfg, err, sizeof err) != 0)
		fail_msg("%s", err);
}

static char *
run_py(const char *script, const char *arg)
{
	char cmd[1024], *out = NULL;
	size_t n = 0, cap = 0;
	FILE *p;
	int c;

	snprintf(cmd, sizeof cmd, PY " -c '%s' '%s'", script, arg);
	if ((p = popen(cmd, "r")) == NULL)
		return NULL;
	while ((c = fgetc(p)) != EOF) {
		if (n + 2 > cap) {
			cap = cap ? cap * 2 : 4096;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		out[n++] = (char)c;
	}
	if (out != NULL)
		out[n] = '\0';
	pclose(p);
	return out;
}

/* ------------------------------------------------------------------ composition */

/* Every header line of msg at most 78 characters, CRLF only, no bare CR/LF. */
static void
check_lines(const char *msg)
{
	const char *p = msg, *e;
	int in_head = 1;

	while (*p != '\0') {
		e = strstr(p, "\r\n");
		assert_non_null(e);
		assert_null(memchr(p, '\n', (size_t)(e - p)));
		assert_null(memchr(p, '\r', (size_t)(e - p)));
		if (e == p)
			in_head = 0;
		if (in_head)
			assert_true(e - p <= 78);
		else
			assert_true(e - p <= 76);
		p = e + 2;
	}
}

/* The parsed message as one JSON object (Python's email package, policy default). */
static const char parse_py[] =
    "import sys, json, email, email.policy\n"
    "m = email.message_from_bytes(open(sys.argv[1], \"rb\").read(), policy=email.policy.default)\n"
    "print(json.dumps({\"subject\": str(m[\"subject\"]), \"from\": str(m[\"from\"]),"
    " \"to\": str(m[\"to\"]), \"cte\": m[\"content-transfer-encoding\"],"
    " \"ctype\": m.get_content_type(), \"charset\": m.get_content_charset(),"
    " \"date\": m[\"date\"] and m[\"date\"].datetime.isoformat(), \"mid\": str(m[\"message-id\"]),"
    " \"bcc\": m[\"bcc\"], \"defects\": len(m.defects) + sum(len(h.defects) for h in"
    " [m[\"subject\"]] if hasattr(h, \"defects\")), \"body\": m.get_content().replace(\"\\r\\n\", \"\\n\"),"
    " \"rcpt\": m[\"x-rcpt\"] and str(m[\"x-rcpt\"])}))\n";

static json_t *
parse_file(const char *path)
{
	char *out = run_py(parse_py, path);
	json_t *j;

	assert_non_null(out);
	j = json_loads(out, 0, NULL);
	if (j == NULL)
		fail_msg("python said: %s", out);
	free(out);
	return j;
}

static json_t *
parse_msg(struct fx *f, const char *msg)
{
	char path[160];

	snprintf(path, sizeof path, "%s/msg.eml", f->dir);
	write_file(path, msg, 0);
	return parse_file(path);
}

static void
test_compose(void **state)
{
	struct fx *f = *state;
	struct report *c = customer("1001", "Acme VPS", RISK_ACT);
	json_t *p;
	char *subject, *body, *msg, *msg2, *h;
	const char *nasty = "Acme\r\nBcc: x@evil\x1b[31m";
	char want[512];

	subject = alert_subject("[rangewatch]", c);
	assert_string_equal(subject, "[rangewatch] ACT 1001 Acme VPS: 203.0.113.0/24 at 4/4 "
	    "impacts toward uceprotect-2");
	body = alert_body(c, "hook: suspend dry-run ok");
	assert_non_null(strstr(body, "Customer 1001 Acme VPS is now at level ACT (was warn)"));
	assert_non_null(strstr(body, "Action: hook: suspend dry-run ok\n"));
	assert_non_null(strstr(body, "  - 37 remote 5xx naming spamhaus = a lot\n"));
	assert_non_null(strstr(body, "range 203.0.113.0/24 toward uceprotect-2: 4 impacts + 0 "
	    "reported + 0 suspects of 4, about 0.0 estimated: pressure 1.00, projected 1.00"));
	assert_non_null(strstr(body, "1240 SMTP sessions, 5000 RCPT, 37 remote 5xx, 12 "
	    "rejections citing a list, 380 distinct MX"));
	assert_non_null(strstr(body, "listed on uceprotect-1 since 2026-05-28 20:26 UTC "
	    "(127.0.0.2): \"Net of 203.0.113.7 is \\x1b[31mlisted\""));
	assert_non_null(strstr(body, "203.0.113.0/24 clears around"));
	assert_non_null(strstr(body, "rangewatch customers 1001\n"));
	assert_non_null(strstr(body, "rangewatch top\n"));
	msg = alert_message("rw@example.net", "a@example.net,b@example.net", subject, body,
	    1780000000);
	check_lines(msg);
	assert_non_null(strstr(msg, "\r\nMIME-Version: 1.0\r\n"));
	assert_non_null(strstr(msg, "Content-Type: text/plain; charset=UTF-8\r\n"));
	assert_non_null(strstr(msg, "Content-Transfer-Encoding: quoted-printable\r\n"));
	assert_int_equal(strncmp(msg, "Date: Thu, 28 May 2026 20:26:40 +0000\r\n", 39), 0);
	assert_non_null(strstr(msg, "\r\nFrom: rw@example.net\r\nTo: a@example.net, "
	    "b@example.net\r\n"));
	p = parse_msg(f, msg);
	assert_string_equal(json_string_value(json_object_get(p, "subject")), subject);
	assert_string_equal(json_string_value(json_object_get(p, "cte")), "quoted-printable");
	assert_string_equal(json_string_value(json_object_get(p, "charset")), "utf-8");
	assert_string_equal(json_string_value(json_object_get(p, "date")),
	    "2026-05-28T20:26:40+00:00");
	assert_string_equal(json_string_value(json_object_get(p, "body")), body);
	assert_non_null(strstr(json_string_value(json_object_get(p, "mid")),
	    ".rangewatch@example.net>"));
	/* unique Message-IDs */
	msg2 = alert_message("rw@example.net", "a@example.net", subject, body, 1780000000);
	assert_string_not_equal(strstr(msg, "Message-ID:"), strstr(msg2, "Message-ID:"));
	assert_int_not_equal(strncmp(strstr(msg, "Message-ID:"), strstr(msg2, "Message-ID:"),
	    60), 0);
	json_decref(p);
	free(msg);
	free(msg2);
	free(subject);
	free(body);

	/* a hostile name: one Subject line, no Bcc, the escape shown, never sent */
	rf_set(&c->name, nasty);
	subject = alert_subject("[rangewatch]", c);
	body = alert_body(c, NULL);
	msg = alert_message("rw@example.net", "a@example.net", subject, body, 1780000000);
	check_lines(msg);
	assert_null(strstr(msg, "\r\nBcc:"));
	assert_null(strchr(msg, '\x1b'));
	p = parse_msg(f, msg);
	assert_true(json_is_null(json_object_get(p, "bcc")));
	assert_string_equal(json_string_value(json_object_get(p, "subject")),
	    "[rangewatch] ACT 1001 Acme\\x0d\\x0aBcc: x@evil\\x1b[31m: 203.0.113.0/24 at 4/4 "
	    "impacts toward uceprotect-2");
	assert_string_equal(json_string_value(json_object_get(p, "body")), body);
	json_decref(p);
	free(msg);
	free(subject);
	free(body);

	/* an id holding shell syntax: the line to paste quotes it as one word, whole */
	rf_set(&c->id, "$(touch /tmp/x) `id`; it's");
	body = alert_body(c, NULL);
	assert_non_null(strstr(body, "\n  rangewatch customers '$(touch /tmp/x) `id`; "
	    "it'\\''s'\n"));
	free(body);
	rf_set(&c->id, "1001");

	/* non-ASCII: RFC 2047, each encoded-word <= 75, folded, decoding back */
	rf_set(&c->name, "M\xc3\xbcller GmbH \xe6\x97\xa5\xe6\x9c\xac"
	    "\xe8\xaa\x9e\xe3\x81\xae\xe9\x95\xb7\xe3\x81\x84\xe5\x90\x8d\xe5\x89\x8d\xe3\x81\xa7"
	    "\xe3\x81\x99\xe3\x82\x88 \xc3\xa9t\xc3\xa9");
	subject = alert_subject("[rangewatch]", c);
	msg = alert_message("rw@example.net", "a@example.net", subject, "M\xc3\xbcller\n", 0);
	check_lines(msg);
	h = strstr(msg, "Subject:");
	assert_non_null(strstr(h, "=?UTF-8?B?"));
	for (h = strstr(msg, "=?UTF-8?B?"); h != NULL; h = strstr(h + 1, "=?UTF-8?B?"))
		assert_true(strstr(h, "?=") - h + 2 <= 75);
	p = parse_msg(f, msg);
	assert_string_equal(json_string_value(json_object_get(p, "subject")), subject);
	assert_string_equal(json_string_value(json_object_get(p, "body")), "M\xc3\xbcller\n");
	json_decref(p);
	free(msg);
	free(subject);

	/* a header of one long word and of "=?" stays safe and decodes */
	h = alert_header("Subject", "=?UTF-8?B?QUFB?= aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	snprintf(want, sizeof want, "From: a@b\r\nTo: c@d\r\n%s\r\nx\r\n", h);
	check_lines(want);
	p = parse_msg(f, want);
	assert_string_equal(json_string_value(json_object_get(p, "subject")),
	    "=?UTF-8?B?QUFB?= aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	json_decref(p);
	free(h);

	/* QP: '=', trailing blanks, a leading dot and "From ", long lines */
	h = alert_qp("a=b \n.\nFrom here\n" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n");
	assert_int_equal(strncmp(h, "a=3Db=20\r\n=2E\r\n=46rom here\r\n", 28), 0);
	check_lines(h - 0);
	free(h);
	report_free(c);
}

/* ------------------------------------------------------------------ cooldown and digest */

struct rows {
	char s[4096];
};

static void
rows_cb(void *arg, const struct store_outbox *o)
{
	struct rows *r = arg;
	size_t n = strlen(r->s);

	snprintf(r->s + n, sizeof r->s - n, "%s %s %s %s|", o->kind, o->customer, o->level,
	    o->state);
}

static const char *
rows_of(struct fx *f, struct rows *r)
{
	char err[512];

	r->s[0] = '\0';
	assert_int_equal(store_outbox_each(f->st, NULL, 0, 0, rows_cb, r, err, sizeof err), 0);
	return r->s;
}

static void
test_cooldown_digest(void **state)
{
	struct fx *f = *state;
	struct report *act = customer("1001", "Acme VPS", RISK_ACT);
	struct report *warn = customer("1001", "Acme VPS", RISK_WARN);
	struct report *w2 = customer("1002", "Beta", RISK_WATCH);
	struct report *w3 = customer("1003", "Gamma", RISK_WATCH);
	struct report *none = customer("1001", "Acme VPS", RISK_NONE);
	struct alert_stats s;
	struct alert *a;
	struct rows r;
	char err[512];
	int64_t now = (int64_t)time(NULL);

	/* a port where nobody listens: the sends fail and stay queued */
	config(f, "[alert]\nsmtp_url = smtp://127.0.0.1:9\nfrom = rw@example.net\n"
	    "to = a@example.net\nto_watch = w@example.net\n");
	a = alert_new(f->loop, f->st, f->cfg, err, sizeof err);
	assert_non_null(a);
	assert_int_equal(alert_flag(a, act, NULL, 1000, err, sizeof err), 1);
	assert_int_equal(alert_flag(a, act, NULL, 1000 + 1800, err, sizeof err), 0);
	/* a fall to warn, and a rise back to act within act's cooldown */
	assert_int_equal(alert_flag(a, warn, NULL, 1000 + 1900, err, sizeof err), 1);
	assert_int_equal(alert_flag(a, act, NULL, 1000 + 2000, err, sizeof err), 0);
	/* a rise is never held by the cooldown of a lower level */
	rf_set(&warn->id, "1004");
	assert_int_equal(alert_flag(a, warn, NULL, 5000, err, sizeof err), 1);
	rf_set(&act->id, "1004");
	assert_int_equal(alert_flag(a, act, NULL, 5001, err, sizeof err), 1);
	rf_set(&act->id, "1001");
	assert_int_equal(alert_flag(a, act, NULL, 1000 + 3600, err, sizeof err), 1);
	assert_int_equal(alert_flag(a, none, NULL, 9000, err, sizeof err), 0);
	/* watch: digest items, not mails */
	assert_int_equal(alert_flag(a, w2, NULL, 9000, err, sizeof err), 1);
	assert_int_equal(alert_flag(a, w3, NULL, 9000, err, sizeof err), 1);
	alert_stats(a, &s);
	assert_int_equal(s.held, 2);
	assert_int_equal(s.queued, 7);
	assert_string_equal(rows_of(f, &r), "digest 1003 watch queued|digest 1002 watch queued|"
	    "mail 1001 act queued|mail 1004 act queued|mail 1004 warn queued|"
	    "mail 1001 warn queued|mail 1001 act queued|");
	alert_tick(a, now + 60);	/* not yet */
	assert_string_equal(rows_of(f, &r), "digest 1003 watch queued|digest 1002 watch queued|"
	    "mail 1001 act queued|mail 1004 act queued|mail 1004 warn queued|"
	    "mail 1001 warn queued|mail 1001 act queued|");
	alert_tick(a, now + 3600);
	assert_string_equal(rows_of(f, &r), "mail  digest queued|digest 1003 watch sent|"
	    "digest 1002 watch sent|mail 1001 act queued|mail 1004 act queued|"
	    "mail 1004 warn queued|mail 1001 warn queued|mail 1001 act queued|");
	alert_tick(a, now + 7200);	/* nothing more to digest */
	alert_stats(a, &s);
	assert_int_equal(s.digests, 1);
	alert_free(a);
	report_free(act);
	report_free(warn);
	report_free(w2);
	report_free(w3);
	report_free(none);
}

/* How often needle occurs in the file at path. */
static int
count_in(const char *path, const char *needle)
{
	char buf[16384];
	const char *p;
	size_t n;
	int k = 0;
	FILE *fp = fopen(path, "r");

	assert_non_null(fp);
	n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	for (p = buf; (p = strstr(p, needle)) != NULL; p++)
		k++;
	return k;
}

/* The outbox at its bound: each alert past it refused (-2) and counted once (not twice),
 * the bound logged once, not per alert, and again once when there is room; an operator's
 * test-alert gets an error. */
static void
test_outbox_full(void **state)
{
	struct fx *f = *state;
	struct report *c = customer("1001", "Acme VPS", RISK_ACT);
	struct alert_stats s;
	struct alert *a;
	char err[512], log[192], id[16];
	int i, saved;

	config(f, "[alert]\nsmtp_url = smtp://127.0.0.1:9\nfrom = rw@example.net\n"
	    "to = a@example.net\n");
	a = alert_new(f->loop, f->st, f->cfg, err, sizeof err);
	assert_non_null(a);
	store_outbox_set_max(f->st, 2);
	snprintf(log, sizeof log, "%s/stderr", f->dir);
	fflush(stderr);
	saved = dup(2);
	assert_true(freopen(log, "w", stderr) != NULL);
	for (i = 0; i < 6; i++) {
		snprintf(id, sizeof id, "%d", 2000 + i);
		rf_set(&c->id, id);
		assert_int_equal(alert_flag(a, c, NULL, 1000, err, sizeof err),
		    i < 2 ? 1 : -2);
	}
	assert_non_null(strstr(err, "the alert outbox is full (2 queued, at most 2)"));
	assert_int_equal(alert_test(a, err, sizeof err), -1);
	assert_non_null(strstr(err, "the alert outbox is full"));
	store_outbox_set_max(f->st, 0);
	rf_set(&c->id, "3000");
	assert_int_equal(alert_flag(a, c, NULL, 1000, err, sizeof err), 1);
	fflush(stderr);
	assert_true(dup2(saved, 2) == 2);
	close(saved);
	assert_int_equal(count_in(log, "the alert outbox is full"), 1);
	assert_int_equal(count_in(log, "the outbox has room again; 5 alert row(s) were lost"),
	    1);
	alert_stats(a, &s);
	assert_int_equal(s.queued, 3);
	assert_int_equal(s.refused, 5);		/* 4 flags and the test */
	assert_int_equal(s.outbox_full, 5);
	assert_int_equal(store_outbox_refused(f->st), 5);
	alert_free(a);
	report_free(c);
}

/* ------------------------------------------------------------------ live servers */

static const char smtpd_py[] =
    "import sys, os, time, signal\n"
    "from aiosmtpd.controller import Controller\n"
    "d, port = sys.argv[1], int(sys.argv[2])\n"
    "class H:\n"
    "    async def handle_DATA(self, server, session, env):\n"
    "        n = len(os.listdir(d))\n"
    "        p = os.path.join(d, \"%03d.eml\" % n)\n"
    "        open(p + \".tmp\", \"wb\").write(b\"X-Rcpt: \" + \",\".join(env.rcpt_tos).encode()"
    " + b\"\\r\\nX-From: \" + env.mail_from.encode() + b\"\\r\\n\" + env.original_content)\n"
    "        os.rename(p + \".tmp\", p)\n"
    "        return \"250 OK\"\n"
    "c = Controller(H(), hostname=\"127.0.0.1\", port=port)\n"
    "c.start()\n"
    "signal.signal(signal.SIGTERM, lambda *a: (c.stop(), sys.exit(0)))\n"
    "while True: time.sleep(1)\n";

static const char httpd_py[] =
    "import sys, os, http.server\n"
    "d, port = sys.argv[1], int(sys.argv[2])\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_POST(self):\n"
    "        body = self.rfile.read(int(self.headers[\"Content-Length\"]))\n"
    "        n = len(os.listdir(d))\n"
    "        open(os.path.join(d, \"%03d.json\" % n), \"wb\").write(body)\n"
    "        ok = n > 0 and self.headers[\"Content-Type\"] == \"application/json\"\n"
    "        self.send_response(200 if ok else 500)\n"
    "        self.end_headers()\n"
    "    def log_message(self, *a): pass\n"
    "http.server.HTTPServer((\"127.0.0.1\", port), H).serve_forever()\n";

static int
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int
port_open(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), r;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	close(fd);
	return r == 0;
}

static pid_t
start_py(const char *script, const char *dir, int port)
{
	char p[16];
	pid_t pid;
	int i;

	snprintf(p, sizeof p, "%d", port);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execl(PY, PY, "-c", script, dir, p, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100 && !port_open(port); i++)
		usleep(50000);
	assert_true(port_open(port));
	return pid;
}

static int
have_python(void)
{
	char *out = run_py("import aiosmtpd; print(\"ok\")", "");
	int ok = out != NULL && strncmp(out, "ok", 2) == 0;

	free(out);
	if (!ok)
		print_message("SKIP: " PY " with aiosmtpd is missing: no live delivery test\n");
	return ok;
}

/* Runs the loop until cond(a) or ms pass. */
static int
run_until(struct fx *f, struct alert *a, int (*cond)(struct alert *), int ms)
{
	int64_t end = loop_now_ms() + ms;

	while (!cond(a) && loop_now_ms() < end)
		loop_once(f->loop, 100);
	return cond(a);
}

static uint64_t want_sent;

static int
sent_enough(struct alert *a)
{
	struct alert_stats s;

	alert_stats(a, &s);
	return s.sent >= want_sent && s.in_flight == 0;
}

static int
retried(struct alert *a)
{
	struct alert_stats s;

	alert_stats(a, &s);
	return s.retried >= 1 && s.in_flight == 0;
}

static int
files_in(const char *dir)
{
	char *out = run_py("import os,sys; print(len([f for f in os.listdir(sys.argv[1]) if"
	    " not f.endswith(\".tmp\")]))", dir);
	int n = out != NULL ? atoi(out) : -1;

	free(out);
	return n;
}

static json_t *
spool_msg(struct fx *f, int n)
{
	char path[200];

	snprintf(path, sizeof path, "%s/%03d.eml", f->spool, n);
	return parse_file(path);
}

static void
test_smtp_live(void **state)
{
	struct fx *f = *state;
	struct report *c = customer("1001", "M\xc3\xbcller GmbH", RISK_ACT);
	json_t *p;
	char text[512], err[512], *body;
	struct alert *a;
	pid_t pid;
	int st;

	if (!have_python())
		return;
	f->smtp_port = free_port();
	snprintf(text, sizeof text, "[alert]\nsmtp_url = smtp://127.0.0.1:%d\n"
	    "from = rw@example.net\nto = a@example.net\nto_act = b@example.net\n", f->smtp_port);
	config(f, text);
	f->smtpd = start_py(smtpd_py, f->spool, f->smtp_port);
	a = alert_new(f->loop, f->st, f->cfg, err, sizeof err);
	assert_non_null(a);
	alert_set_retry(a, 1, 2);
	assert_int_equal(alert_flag(a, c, "recommended: suspend", 100, err, sizeof err),
	    1);
	want_sent = 1;
	assert_true(run_until(f, a, sent_enough, 10000));
	assert_int_equal(files_in(f->spool), 1);
	p = spool_msg(f, 0);
	assert_string_equal(json_string_value(json_object_get(p, "subject")),
	    "[rangewatch] ACT 1001 M\xc3\xbcller GmbH: 203.0.113.0/24 at 4/4 impacts toward "
	    "uceprotect-2");
	assert_string_equal(json_string_value(json_object_get(p, "rcpt")),
	    "a@example.net,b@example.net");
	assert_string_equal(json_string_value(json_object_get(p, "to")),
	    "a@example.net, b@example.net");
	body = alert_body(c, "recommended: suspend");
	assert_string_equal(json_string_value(json_object_get(p, "body")), body);
	free(body);
	json_decref(p);
	print_message("smtp: delivered, parsed by Python's email package, body decodes back\n");

	/* the server is down: the alert waits, retried; up again: it arrives once */
	stop(&f->smtpd);
	rf_set(&c->id, "1002");
	assert_int_equal(alert_flag(a, c, NULL, 100, err, sizeof err), 1);
	assert_true(run_until(f, a, retried, 10000));
	f->smtpd = start_py(smtpd_py, f->spool, f->smtp_port);
	want_sent = 2;
	assert_true(run_until(f, a, sent_enough, 15000));
	/* and nothing more comes */
	run_until(f, a, retried, 1500);
	assert_int_equal(files_in(f->spool), 2);
	p = spool_msg(f, 1);
	assert_non_null(strstr(json_string_value(json_object_get(p, "subject")), " 1002 "));
	json_decref(p);
	print_message("smtp: server down then up: delivered exactly once\n");
	alert_free(a);

	/* a process that queues and dies before sending: the next one delivers it once */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *s2 = NULL;
		struct loop *l2 = loop_new();
		struct alert *a2;

		if (l2 == NULL || store_open(f->state, &s2, err, sizeof err) != 0)
			_exit(2);
		if ((a2 = alert_new(l2, s2, f->cfg, err, sizeof err)) == NULL)
			_exit(3);
		rf_set(&c->id, "1003");
		if (alert_flag(a2, c, NULL, 100, err, sizeof err) != 1)
			_exit(4);
		kill(getpid(), SIGKILL);
		_exit(5);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	a = alert_new(f->loop, f->st, f->cfg, err, sizeof err);
	assert_non_null(a);
	want_sent = 1;
	assert_true(run_until(f, a, sent_enough, 10000));
	run_until(f, a, retried, 1500);
	assert_int_equal(files_in(f->spool), 3);
	p = spool_msg(f, 2);
	assert_non_null(strstr(json_string_value(json_object_get(p, "subject")), " 1003 "));
	json_decref(p);
	print_message("smtp: killed after queueing: the next process delivered it once\n");

	/* the digest reaches the watch recipients, as one mail */
	c->level = RISK_WATCH;
	rf_set(&c->id, "1004");
	assert_int_equal(alert_flag(a, c, NULL, 100, err, sizeof err), 1);
	rf_set(&c->id, "1005");
	assert_int_equal(alert_flag(a, c, NULL, 100, err, sizeof err), 1);
	alert_tick(a, (int64_t)time(NULL) + 3600);
	want_sent = 2;
	assert_true(run_until(f, a, sent_enough, 10000));
	assert_int_equal(files_in(f->spool), 4);
	p = spool_msg(f, 3);
	assert_string_equal(json_string_value(json_object_get(p, "subject")),
	    "[rangewatch] WATCH digest: 2 customers");
	assert_non_null(strstr(json_string_value(json_object_get(p, "body")),
	    "[rangewatch] WATCH 1004 M\xc3\xbcller GmbH"));
	assert_non_null(strstr(json_string_value(json_object_get(p, "body")),
	    "[rangewatch] WATCH 1005 M\xc3\xbcller GmbH"));
	json_decref(p);
	/* the test message: every recipient */
	assert_int_equal(alert_test(a, err, sizeof err), 1);
	want_sent = 3;
	assert_true(run_until(f, a, sent_enough, 10000));
	p = spool_msg(f, 4);
	assert_string_equal(json_string_value(json_object_get(p, "rcpt")),
	    "a@example.net,b@example.net");
	json_decref(p);
	print_message("smtp: watch digest as one mail; test mail to every recipient\n");
	alert_free(a);
	report_free(c);
}

static void
test_webhook_live(void **state)
{
	struct fx *f = *state;
	struct report *c = customer("1001", "Acme <!channel> & co", RISK_WARN);
	json_t *j;
	char text[512], err[512], path[200];
	struct alert_stats s;
	struct alert *a;

	if (!have_python())
		return;
	f->http_port = free_port();
	snprintf(text, sizeof text, "[webhook]\nurl = http://127.0.0.1:%d/hook\n", f->http_port);
	config(f, text);
	f->httpd = start_py(httpd_py, f->hooks, f->http_port);
	a = alert_new(f->loop, f->st, f->cfg, err, sizeof err);
	assert_non_null(a);
	alert_set_retry(a, 1, 2);
	assert_int_equal(alert_flag(a, c, "recommended: suspend", 100, err,
	    sizeof err), 1);
	want_sent = 1;
	assert_true(run_until(f, a, sent_enough, 15000));
	alert_stats(a, &s);
	assert_int_equal(s.retried, 1);	/* the first answer was a 500 */
	assert_int_equal(files_in(f->hooks), 2);
	snprintf(path, sizeof path, "%s/001.json", f->hooks);
	j = json_load_file(path, 0, NULL);
	assert_non_null(j);
	assert_non_null(strstr(json_string_value(json_object_get(j, "text")),
	    "[rangewatch] WARN 1001 Acme &lt;!channel&gt; &amp; co: 203.0.113.0/24"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "evidence"),
	    "id")), "1001");
	assert_int_equal(json_array_size(json_object_get(json_object_get(j, "evidence"),
	    "addresses")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "action")),
	    "recommended: suspend");
	json_decref(j);
	print_message("webhook: a 500 retried, the 200 marked it sent; text + evidence\n");
	alert_free(a);
	report_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_compose, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cooldown_digest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outbox_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_smtp_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_webhook_live, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
