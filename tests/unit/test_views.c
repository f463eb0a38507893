/*
 * test_views.c — the control socket's commands (monitor/views.c) through a real socket: a
 * loop, a control server on a temporary path, the views over a model fixture (a store in
 * a fresh folder, listings, a traffic table filled by hand, the space, the customers and
 * the lists from small files), and clients that are plain AF_UNIX sockets of the test,
 * the loop pumped between a write and the reply. Replies are parsed with jansson.
 * Checks: status; customers by default (flagged, worst first), all, filter, range, list,
 * streamed a slice per loop turn when longer than a slice (the same reply, whole),
 * limit, and arguments of the wrong type refused; customer (addresses with counters and
 * listings, history, audit; an unknown id refused); ranges with contributors; listings
 * (clean keys with all, expiry, customer); alerts; ack, suspend and resume (a reason
 * required, control characters and unknown customers refused, an audit row written, the
 * daemon's refusal audited as refused, an ack whose audit entry is refused not kept);
 * events to a subscriber; hostile customer names (ESC, CR/LF, invalid UTF-8) coming back
 * as valid JSON, the invalid bytes as escaped text.
 * The test runs as root in CI, and root is always an operator.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "addr.h"
#include "control.h"
#include "customers.h"
#include "dnsbl.h"
#include "dnsbl_lists.h"
#include "listings.h"
#include "loop.h"
#include "model.h"
#include "prefixes.h"
#include "risk.h"
#include "store.h"
#include "text.h"
#include "traffic.h"
#include "views.h"
#include "testaddr.h"
#include "testfiles.h"
#include "modelfix.h"

#define T0	1717200000LL	/* 2024-06-01 00:00 UTC */
#define WEEK	(7 * 86400LL)
#define WAIT_MS	5000

static const char PREFIXES[] =
    "203.0.113.0/24 64500\n"
    "192.0.2.0/24 64500\n"
    "192.0.2.0/28 64500 alloc\n";

/* 666's name: ESC and a colour sequence, CR LF, then bytes that are not UTF-8; 667's: ESC
 * and CR LF in valid UTF-8 (with a non-ASCII letter) */
#define EVIL	"Evil\x1b[31m\r\nInc\xff\xfe"
#define ODD	"Odd\x1b]0;t\x07\r\nK\xc3\xa4se"

static const char CUSTOMERS[] =
    "id,name,cidrs,contact,tags\n"
    "4711,Acme VPS,203.0.113.0/28,a@example.net,vip\n"
    "100,Innocent,203.0.113.64/26,b@example.net,\n"
    "300,Tiny,192.0.2.0/28,d@example.net,never_suspend\n"
    "666,\"" EVIL "\",192.0.2.16/28,e@example.net,\n"
    "667,\"" ODD "\",192.0.2.32/28,f@example.net,\n";

static const char LISTS[] =
    "[list \"uceprotect-1\"]\n"
    "zone = dnsbl-1.uceprotect.test\n"
    "scope = ip\n"
    "expiry = 7d\n"
    "\n"
    "[list \"uceprotect-2\"]\n"
    "zone = dnsbl-2.uceprotect.test\n"
    "scope = range\n"
    "\n"
    "[list \"spamcop\"]\n"
    "zone = bl.spamcop.test\n"
    "scope = ip\n"
    "expiry = 1d\n";

/* A client of the test: its socket and what it read that is not yet a whole line. */
struct cli {
	int fd;
	char buf[256 * 1024];
	size_t len;
};

/* What the daemon's suspend/resume callback was asked. */
struct acted {
	int n;
	char action[16], reason[256], actor[160];
	long c;
	int refuse;
};

struct fx {
	struct modelfix mf;
	char sock[128];
	struct loop *loop;
	struct control *ctl;
	struct views *v;
	struct cli cli;
	struct acted acted;
};

/* ------------------------------------------------------------------ the client */

static void
pump(struct fx *f, int ms)
{
	int64_t end = loop_now_ms() + ms;

	do
		assert_int_equal(loop_once(f->loop, 5), 0);
	while (loop_now_ms() < end);
}

static void
cli_open(struct fx *f, struct cli *c)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	memset(c, 0, sizeof *c);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	memcpy(sun.sun_path, f->sock, strlen(f->sock));
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sun, sizeof sun), 0);
	pump(f, 5);	/* accepted */
}

static void
cli_close(struct cli *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void
cli_puts(struct fx *f, struct cli *c, const char *s)
{
	size_t off = 0, len = strlen(s);
	ssize_t n;

	while (off < len) {
		n = send(c->fd, s + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0)
			off += (size_t)n;
		else if (n == -1 && errno == EAGAIN)
			pump(f, 1);
		else
			fail_msg("send: %s", strerror(errno));
	}
}

/* The next line as a JSON object (the caller decrefs): json_loadb refuses invalid UTF-8,
 * so a reply that loads is valid JSON. Fails the test after WAIT_MS without one. */
static json_t *
cli_msg(struct fx *f, struct cli *c)
{
	int64_t end = loop_now_ms() + WAIT_MS;
	json_error_t je;
	char *nl;
	json_t *j;
	size_t n;
	ssize_t r;

	for (;;) {
		if ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			n = (size_t)(nl - c->buf);
			j = json_loadb(c->buf, n, 0, &je);
			if (j == NULL)
				fail_msg("reply not JSON: %s: %.*s", je.text, (int)n, c->buf);
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			return j;
		}
		assert_true(c->len < sizeof c->buf);
		r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, MSG_DONTWAIT);
		if (r == 0)
			fail_msg("the server closed the connection");
		if (r > 0)
			c->len += (size_t)r;
		else
			assert_true(errno == EAGAIN);
		if (loop_now_ms() > end)
			fail_msg("no reply within %d ms", WAIT_MS);
		assert_int_equal(loop_once(f->loop, 5), 0);
	}
}

/* Sends one request line and returns the whole reply (the caller decrefs). */
static json_t *
request(struct fx *f, const char *line)
{
	json_t *r;

	cli_puts(f, &f->cli, line);
	cli_puts(f, &f->cli, "\n");
	assert_non_null(r = cli_msg(f, &f->cli));
	assert_int_equal(json_integer_value(json_object_get(r, "v")), 1);
	assert_null(json_object_get(r, "event"));
	return r;
}

/* The result of a request that must succeed (a new reference). */
static json_t *
ok(struct fx *f, const char *line)
{
	json_t *r = request(f, line), *res;

	if (!json_is_true(json_object_get(r, "ok")))
		fail_msg("%s: %s", line, json_string_value(json_object_get(r, "error")));
	res = json_incref(json_object_get(r, "result"));
	json_decref(r);
	assert_non_null(res);
	return res;
}

/* A request that must fail with an error saying want. */
static void
refused(struct fx *f, const char *line, const char *want)
{
	json_t *r = request(f, line);
	const char *e;

	assert_true(json_is_false(json_object_get(r, "ok")));
	assert_non_null(e = json_string_value(json_object_get(r, "error")));
	if (strstr(e, want) == NULL)
		fail_msg("%s: error '%s' does not say '%s'", line, e, want);
	json_decref(r);
}

/* ------------------------------------------------------------------ JSON helpers */

static const char *
S(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	if (!json_is_string(v))
		fail_msg("\"%s\" is not a string", k);
	return json_string_value(v);
}

static json_int_t
I(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	if (!json_is_integer(v))
		fail_msg("\"%s\" is not an integer", k);
	return json_integer_value(v);
}

static double
F(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	if (!json_is_number(v))
		fail_msg("\"%s\" is not a number", k);
	return json_number_value(v);
}

/* The ids of an array of customers, space-separated. */
static const char *
ids(const json_t *arr)
{
	static char buf[512];
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < json_array_size(arr); i++) {
		int w = snprintf(buf + off, sizeof buf - off, "%s%s", i ? " " : "",
		    S(json_array_get(arr, i), "id"));

		assert_true(w > 0 && (size_t)w < sizeof buf - off);
		off += (size_t)w;
	}
	return buf;
}

/* The element of arr whose member k is the string want, or NULL. */
static json_t *
find(const json_t *arr, const char *k, const char *want)
{
	size_t i;

	for (i = 0; i < json_array_size(arr); i++) {
		json_t *e = json_array_get(arr, i);
		const json_t *v = json_object_get(e, k);

		if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
			return e;
	}
	return NULL;
}

/* ------------------------------------------------------------------ the fixture */

static void
status_add(void *arg, json_t *status)
{
	(void)arg;
	json_object_set_new(status, "capture", json_pack("{s:s}", "source", "none"));
}

static int
act_cb(void *arg, const char *action, long c, const char *reason, const char *actor,
    int64_t audit_id, char *outcome, size_t len)
{
	struct acted *a = arg;

	assert_true(audit_id > 0);	/* audited before it runs */
	a->n++;
	a->c = c;
	snprintf(a->action, sizeof a->action, "%s", action);
	snprintf(a->reason, sizeof a->reason, "%s", reason);
	snprintf(a->actor, sizeof a->actor, "%s", actor);
	if (a->refuse) {
		snprintf(outcome, len, "the hook is busy");
		return -1;
	}
	snprintf(outcome, len, "%s done (test)", action);
	return 0;
}

/* ip sent sessions (rcpt RCPT in all), last seen in the first minute. */
static void
sendn(struct fx *f, const char *ip, uint32_t sessions, uint32_t rcpt)
{
	mf_send(&f->mf, ip, sessions, rcpt)->last_seen = (uint32_t)T0 + 30;
}

/* list says key is listed (its TXT a link that names it) or clean at now. */
static void
list_key(struct fx *f, const char *list, const char *key, int listed, int64_t now)
{
	char txt[256];

	snprintf(txt, sizeof txt, "listed: see http://example.test/%s", key);
	mf_list(&f->mf, list, key, listed, txt, now);
}

/*
 * The state every test starts from, at T0 + 65:
 *   4711: 203.0.113.5 sent 12 sessions (suspect), 203.0.113.6 listed on uceprotect-1,
 *         203.0.113.9 listed then delisted on spamcop -> 1 listed + a volume suspect
 *         (likelihood 0.1) of 4 in 203.0.113.0/24 = 0.275, past warn_at 0.26: warn
 *   100:  203.0.113.70 sent 2 sessions: none
 *   300:  192.0.2.3 listed -> the /28 allocation at 1 of 1: act
 *   666:  192.0.2.20 listed -> 192.0.2.0/24 at 1 of 4: watch
 *   667:  nothing: none
 */
static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	struct control_opts o;
	char err[512] = "";

	if (f == NULL)
		return -1;
	mf_files(&f->mf, "views", PREFIXES, CUSTOMERS, LISTS);
	mf_low_limits(&f->mf);
	f->mf.rc.warn_at = 0.26;	/* so that the world holds one customer at each level */
	snprintf(f->sock, sizeof f->sock, "%s/rw.sock", f->mf.dir);
	assert_non_null(f->loop = loop_new());
	memset(&o, 0, sizeof o);
	o.path = f->sock;
	o.group = (gid_t)-1;
	o.mode = 0600;
	if ((f->ctl = control_new(f->loop, &o, err, sizeof err)) == NULL)
		fail_msg("control_new: %s", err);
	mf_open(&f->mf, T0, f->ctl, NULL, NULL);
	if ((f->v = views_new(f->ctl, f->mf.m, status_add, act_cb, &f->acted, T0 - 100, err,
	    sizeof err)) == NULL)
		fail_msg("views_new: %s", err);

	assert_int_equal(model_tick(f->mf.m, T0 + 10), 1);	/* the first tick evaluates */
	sendn(f, "203.0.113.5", 12, 30);
	sendn(f, "203.0.113.70", 2, 2);
	list_key(f, "uceprotect-1", "203.0.113.6", 1, T0 + 20);
	list_key(f, "spamcop", "203.0.113.9", 1, T0 + 21);
	list_key(f, "spamcop", "203.0.113.9", 0, T0 + 22);
	list_key(f, "uceprotect-1", "192.0.2.3", 1, T0 + 23);
	list_key(f, "uceprotect-1", "192.0.2.20", 1, T0 + 24);
	assert_int_equal(model_tick(f->mf.m, T0 + 65), 1);
	cli_open(f, &f->cli);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	cli_close(&f->cli);
	control_free(f->ctl);
	views_free(f->v);
	mf_close(&f->mf);
	loop_free(f->loop);
	mf_teardown(&f->mf);
	free(f);
	return 0;
}

/* ------------------------------------------------------------------ tests */

static void
test_status(void **state)
{
	struct fx *f = *state;
	json_t *r = ok(f, "{\"v\":1,\"id\":3,\"cmd\":\"status\"}"), *lv;

	assert_string_equal(S(r, "version"), VIEWS_VERSION);
	assert_int_equal(I(r, "pid"), getpid());
	assert_int_equal(I(r, "started"), T0 - 100);
	assert_int_equal(I(r, "now"), T0 + 65);
	assert_int_equal(I(r, "evaluated"), T0 + 65);
	assert_int_equal(I(r, "ips"), 2);
	assert_int_equal(I(r, "customers"), 5);
	assert_int_equal(I(r, "clients"), 1);
	assert_int_equal(I(r, "tracked_ips"), (json_int_t)risk_ip_count(model_risk(f->mf.m)));
	assert_true(I(r, "tracked_ips") >= 4);
	assert_true(F(r, "evaluation_ms") >= 0);
	assert_true(F(r, "minute_ms") >= 0);
	lv = json_object_get(r, "levels");
	assert_int_equal(I(lv, "watch"), 1);
	assert_int_equal(I(lv, "warn"), 1);
	assert_int_equal(I(lv, "act"), 1);
	/* the daemon's part, through the callback */
	assert_string_equal(S(json_object_get(r, "capture"), "source"), "none");
	json_decref(r);
}

static void
test_customers(void **state)
{
	struct fx *f = *state;
	json_t *r, *c, *nb, *spark, *smtp;
	size_t i;

	/* default: the flagged ones, worst first */
	r = ok(f, "{\"v\":1,\"cmd\":\"customers\"}");
	assert_int_equal(I(r, "total"), 3);
	assert_string_equal(ids(json_object_get(r, "customers")), "300 4711 666");
	c = find(json_object_get(r, "customers"), "id", "4711");
	assert_string_equal(S(c, "name"), "Acme VPS");
	assert_string_equal(S(c, "level"), "warn");
	assert_int_equal(I(c, "since"), T0 + 65);
	assert_true(json_is_null(json_object_get(c, "ack")));
	assert_int_equal(I(c, "listed_ips"), 1);
	assert_int_equal(I(c, "suspect_ips"), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(c, "ips"), 0)),
	    "203.0.113.0/28");
	assert_string_equal(json_string_value(json_array_get(json_object_get(c, "tags"), 0)),
	    "vip");
	smtp = json_object_get(c, "smtp_1h");
	assert_int_equal(I(smtp, "sessions"), 12);
	assert_int_equal(I(smtp, "rcpt"), 30);
	assert_int_equal(I(smtp, "replies_5xx"), 0);
	spark = json_object_get(c, "spark");
	assert_int_equal(json_array_size(spark), MODEL_SPARK);
	for (i = 0; i < MODEL_SPARK - 1; i++)
		assert_int_equal(json_integer_value(json_array_get(spark, i)), 0);
	assert_int_equal(json_integer_value(json_array_get(spark, MODEL_SPARK - 1)), 12);
	assert_true(json_array_size(json_object_get(c, "evidence")) >= 2);
	nb = find(json_object_get(c, "neighbourhoods"), "key", "203.0.113.0/24");
	assert_non_null(nb);
	assert_string_equal(S(nb, "policy"), "uceprotect-2");
	assert_string_equal(S(nb, "scope"), "range");
	assert_int_equal(I(nb, "impacts"), 1);
	assert_int_equal(I(nb, "suspects"), 1);
	assert_int_equal(I(nb, "threshold"), 4);
	assert_true(F(nb, "pressure") == 0.25);
	/* 1 impact + the suspect's likelihood (volume, no history: 0.1), by the estimate */
	assert_true(fabs(F(nb, "projected") - 0.275) < 1e-6);
	assert_true(fabs(F(nb, "estimated") - 1.1) < 1e-6);
	assert_int_equal(I(nb, "provisional"), 0);
	/* the forecasts too, as ranges has them: the alert mail's "Forecast" part reads them */
	assert_true(json_is_integer(json_object_get(nb, "eta_threshold")));
	assert_true(I(nb, "eta_threshold") > 0);
	assert_true(json_is_null(json_object_get(nb, "clear_at")));
	c = find(json_object_get(r, "customers"), "id", "300");
	assert_string_equal(S(c, "level"), "act");
	assert_true(F(c, "score") >= 0);
	json_decref(r);

	/* all: the others follow in file order */
	r = ok(f, "{\"v\":1,\"cmd\":\"customers\",\"all\":true}");
	assert_int_equal(I(r, "total"), 5);
	assert_string_equal(ids(json_object_get(r, "customers")), "300 4711 666 100 667");
	c = find(json_object_get(r, "customers"), "id", "100");
	assert_string_equal(S(c, "level"), "none");
	assert_true(json_is_null(json_object_get(c, "since")));
	assert_int_equal(I(json_object_get(c, "smtp_1h"), "sessions"), 2);
	json_decref(r);

	/* filter: a substring of id or name, any case; only flagged ones without all */
	r = ok(f, "{\"v\":1,\"cmd\":\"customers\",\"filter\":\"aCmE\"}");
	assert_int_equal(I(r, "total"), 1);
	assert_string_equal(ids(json_object_get(r, "customers")), "4711");
	json_decref(r);
	r = ok(f, "{\"v\":1,\"cmd\":\"customers\",\"filter\":\"inno\"}");
	assert_int_equal(I(r, "total"), 0);
	json_decref(r);
	r = ok(f, "{\"v\":1,\"cmd\":\"customers\",\"filter\":\"inno\",\"all\":true}");
	assert_string_equal(ids(json_object_get(r, "customers")), "100");
	json_decref(r);
	r = ok(f, "{\"v\":1,\"cmd\":\"customers\",\"filter\":\"66\",\"all\":true}");
	assert_string_equal(ids(json_object_get(r, "customers")), "666 667");
	json_decref(r);

	/* range: customers with a block overlapping it */
	r = ok(f, "{\"v\":1,\"cmd\":\"customers\",\"range\":\"192.0.2.0/24\"}");
	assert_int_equal(I(r, "total"), 2);
	assert_string_equal(ids(json_object_get(r, "customers")), "300 666");
	json_decref(r);
	r = ok(f, "{\"v\":1,\"cmd\":\"customers\",\"range\":\"203.0.113.64/32\",\"all\":true}");
	assert_string_equal(ids(json_object_get(r, "customers")), "100");
	json_decref(r);

	/* list: customers with an IP listed on it now (spamcop's was delisted) */
	r = ok(f, "{\"v\":1,\"cmd\":\"customers\",\"list\":\"uceprotect-1\",\"all\":true}");
	assert_int_equal(I(r, "total"), 3);
	assert_string_equal(ids(json_object_get(r, "customers")), "300 4711 666");
	json_decref(r);
	r = ok(f, "{\"v\":1,\"cmd\":\"customers\",\"list\":\"spamcop\",\"all\":true}");
	assert_int_equal(I(r, "total"), 0);
	json_decref(r);

	/* limit: the total counts them all */
	r = ok(f, "{\"v\":1,\"cmd\":\"customers\",\"limit\":1}");
	assert_int_equal(I(r, "total"), 3);
	assert_string_equal(ids(json_object_get(r, "customers")), "300");
	json_decref(r);
	r = ok(f, "{\"v\":1,\"cmd\":\"customers\",\"limit\":0,\"all\":true}");
	assert_int_equal(json_array_size(json_object_get(r, "customers")), 5);
	json_decref(r);
	/* one customer */
	r = ok(f, "{\"v\":1,\"cmd\":\"customers\",\"customer\":\"100\"}");
	assert_int_equal(I(r, "total"), 1);
	assert_string_equal(ids(json_object_get(r, "customers")), "100");
	json_decref(r);

	/* arguments of the wrong type or shape: an error, and the connection stays */
	refused(f, "{\"v\":1,\"cmd\":\"customers\",\"limit\":\"10\"}", "\"limit\" must be");
	refused(f, "{\"v\":1,\"cmd\":\"customers\",\"limit\":-1}", "\"limit\" must be");
	refused(f, "{\"v\":1,\"cmd\":\"customers\",\"all\":1}", "\"all\" must be true or false");
	refused(f, "{\"v\":1,\"cmd\":\"customers\",\"filter\":[\"a\"]}", "\"filter\" must be");
	refused(f, "{\"v\":1,\"cmd\":\"customers\",\"filter\":\"a\\u001bb\"}",
	    "without control characters");
	refused(f, "{\"v\":1,\"cmd\":\"customers\",\"range\":\"203.0.113.0/33\"}",
	    "\"range\" is not a CIDR");
	refused(f, "{\"v\":1,\"cmd\":\"customers\",\"list\":7}", "\"list\" must be");
	r = ok(f, "{\"v\":1,\"cmd\":\"customers\"}");
	assert_int_equal(I(r, "total"), 3);
	json_decref(r);
}

static void
test_customer_detail(void **state)
{
	struct fx *f = *state;
	json_t *r, *ad, *a, *l, *h;

	r = ok(f, "{\"v\":1,\"cmd\":\"customer\",\"customer\":\"4711\"}");
	assert_string_equal(S(r, "id"), "4711");
	assert_string_equal(S(r, "contact"), "a@example.net");
	assert_string_equal(S(r, "level"), "warn");
	ad = json_object_get(r, "addresses");
	/* the IP that sent, then the one only listed; not the delisted .9 */
	assert_int_equal(json_array_size(ad), 2);
	a = json_array_get(ad, 0);
	assert_string_equal(S(a, "ip"), "203.0.113.5");
	assert_int_equal(I(a, "sessions"), 12);
	assert_int_equal(I(a, "rcpt_to"), 30);
	assert_int_equal(I(a, "mail_from"), 12);
	assert_int_equal(I(a, "data"), 12);
	assert_int_equal(I(a, "first_seen"), T0 + 65);
	assert_int_equal(I(a, "last_seen"), T0 + 30);
	assert_true(json_is_true(json_object_get(a, "suspect")));
	assert_int_equal(json_array_size(json_object_get(a, "rules")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(a, "rules"), 0)),
	    "connections");
	assert_int_equal(json_array_size(json_object_get(a, "listings")), 0);
	a = json_array_get(ad, 1);
	assert_string_equal(S(a, "ip"), "203.0.113.6");
	assert_true(json_is_null(json_object_get(a, "first_seen")));
	assert_true(json_is_false(json_object_get(a, "suspect")));
	assert_int_equal(json_array_size(json_object_get(a, "listings")), 1);
	l = json_array_get(json_object_get(a, "listings"), 0);
	assert_string_equal(S(l, "list"), "uceprotect-1");
	assert_true(json_is_true(json_object_get(l, "listed")));
	assert_string_equal(S(l, "codes"), "127.0.0.2");
	assert_string_equal(S(l, "txt"), "listed: see http://example.test/203.0.113.6");
	assert_int_equal(I(l, "first_seen"), T0 + 20);
	assert_int_equal(I(l, "last_seen"), T0 + 20);
	/* history: one level change */
	h = json_object_get(r, "history");
	assert_int_equal(json_array_size(h), 1);
	assert_string_equal(S(json_array_get(h, 0), "level"), "warn");
	assert_string_equal(S(json_array_get(h, 0), "previous"), "none");
	assert_string_equal(S(json_array_get(h, 0), "customer"), "4711");
	assert_int_equal(I(json_array_get(h, 0), "ts"), T0 + 65);
	assert_true(json_array_size(json_object_get(json_array_get(h, 0), "evidence")) >= 2);
	assert_int_equal(json_array_size(json_object_get(r, "audit")), 0);
	json_decref(r);

	/* 100: its sender, clean, no history */
	r = ok(f, "{\"v\":1,\"cmd\":\"customer\",\"customer\":\"100\"}");
	assert_string_equal(S(r, "level"), "none");
	ad = json_object_get(r, "addresses");
	assert_int_equal(json_array_size(ad), 1);
	assert_true(json_is_false(json_object_get(json_array_get(ad, 0), "suspect")));
	assert_int_equal(json_array_size(json_object_get(r, "history")), 0);
	json_decref(r);

	refused(f, "{\"v\":1,\"cmd\":\"customer\",\"customer\":\"4712\"}", "no customer");
	refused(f, "{\"v\":1,\"cmd\":\"customer\"}", "is required");
	refused(f, "{\"v\":1,\"cmd\":\"customer\",\"customer\":4711}", "must be a string");
}

static void
test_ranges_listings_alerts(void **state)
{
	struct fx *f = *state;
	json_t *r, *nb, *con, *ls, *e;

	r = ok(f, "{\"v\":1,\"cmd\":\"ranges\"}");
	assert_int_equal(I(r, "total"), (json_int_t)risk_nb_count(model_risk(f->mf.m)));
	nb = find(json_object_get(r, "neighbourhoods"), "key", "203.0.113.0/24");
	assert_non_null(nb);
	assert_string_equal(S(nb, "policy"), "uceprotect-2");
	assert_int_equal(I(nb, "impacts"), 1);
	assert_int_equal(I(nb, "suspects"), 1);
	assert_int_equal(I(nb, "threshold"), 4);
	assert_int_equal(I(nb, "ips"), 256);
	assert_true(json_is_false(json_object_get(nb, "escalated")));
	assert_true(json_is_null(json_object_get(nb, "list_count")));
	con = json_object_get(nb, "contributors");
	assert_string_equal(ids(con), "4711");
	assert_int_equal(I(json_array_get(con, 0), "impacts"), 1);
	assert_int_equal(I(json_array_get(con, 0), "suspects"), 1);
	nb = find(json_object_get(r, "neighbourhoods"), "key", "192.0.2.0/28");
	assert_non_null(nb);
	assert_int_equal(I(nb, "threshold"), 1);
	assert_true(F(nb, "pressure") == 1.0);
	assert_string_equal(ids(json_object_get(nb, "contributors")), "300");
	/* the ranges first: by projected pressure */
	assert_string_equal(S(json_array_get(json_object_get(r, "neighbourhoods"), 0), "key"),
	    "192.0.2.0/28");
	json_decref(r);
	r = ok(f, "{\"v\":1,\"cmd\":\"ranges\",\"policy\":\"uceprotect-3\"}");
	assert_int_equal(I(r, "total"), 1);
	nb = json_array_get(json_object_get(r, "neighbourhoods"), 0);
	assert_string_equal(S(nb, "scope"), "asn");
	assert_string_equal(S(nb, "key"), "AS64500");
	assert_int_equal(I(nb, "impacts"), 3);
	json_decref(r);
	r = ok(f, "{\"v\":1,\"cmd\":\"ranges\",\"limit\":1}");
	assert_int_equal(json_array_size(json_object_get(r, "neighbourhoods")), 1);
	json_decref(r);
	refused(f, "{\"v\":1,\"cmd\":\"ranges\",\"limit\":true}", "\"limit\" must be");

	/* listings: listed keys by default, the delisted one with all */
	r = ok(f, "{\"v\":1,\"cmd\":\"listings\"}");
	assert_int_equal(I(r, "total"), 3);
	ls = json_object_get(r, "listings");
	e = find(ls, "key", "203.0.113.6");
	assert_non_null(e);
	assert_string_equal(S(e, "list"), "uceprotect-1");
	assert_string_equal(S(e, "scope"), "ip");
	assert_string_equal(S(e, "customer"), "4711");
	assert_int_equal(I(e, "expires"), T0 + 20 + WEEK);
	assert_int_equal(I(e, "checked"), T0 + 20);
	assert_null(find(ls, "key", "203.0.113.9"));
	json_decref(r);
	r = ok(f, "{\"v\":1,\"cmd\":\"listings\",\"all\":true}");
	assert_int_equal(I(r, "total"), 4);
	e = find(json_object_get(r, "listings"), "key", "203.0.113.9");
	assert_non_null(e);
	assert_string_equal(S(e, "list"), "spamcop");
	assert_true(json_is_false(json_object_get(e, "listed")));
	assert_true(json_is_null(json_object_get(e, "first_seen")));
	assert_int_equal(I(e, "last_seen"), T0 + 21);
	assert_true(json_is_null(json_object_get(e, "expires")));
	json_decref(r);
	r = ok(f, "{\"v\":1,\"cmd\":\"listings\",\"list\":\"spamcop\"}");
	assert_int_equal(I(r, "total"), 0);
	json_decref(r);
	r = ok(f, "{\"v\":1,\"cmd\":\"listings\",\"limit\":2}");
	assert_int_equal(I(r, "total"), 3);
	assert_int_equal(json_array_size(json_object_get(r, "listings")), 2);
	json_decref(r);

	/* alerts: every level change, newest first */
	r = ok(f, "{\"v\":1,\"cmd\":\"alerts\"}");
	assert_int_equal(json_array_size(json_object_get(r, "flags")), 3);
	assert_int_equal(json_array_size(json_object_get(r, "audit")), 0);
	e = find(json_object_get(r, "flags"), "customer", "300");
	assert_string_equal(S(e, "level"), "act");
	assert_string_equal(S(e, "name"), "Tiny");
	assert_true(I(e, "id") > 0);
	json_decref(r);
	r = ok(f, "{\"v\":1,\"cmd\":\"alerts\",\"customer\":\"4711\",\"limit\":5}");
	assert_int_equal(json_array_size(json_object_get(r, "flags")), 1);
	json_decref(r);
	r = ok(f, "{\"v\":1,\"cmd\":\"alerts\",\"limit\":1}");
	assert_int_equal(json_array_size(json_object_get(r, "flags")), 1);
	json_decref(r);
	refused(f, "{\"v\":1,\"cmd\":\"alerts\",\"limit\":1001}", "\"limit\" must be");
}

/* The audit log of a customer, newest first: "action:reason:outcome:actor ...". */
struct text {
	char s[4096];
	size_t len;
};

static void
audit_line(void *arg, const struct store_audit *a)
{
	struct text *x = arg;
	int w = snprintf(x->s + x->len, sizeof x->s - x->len, "%s%s:%s:%s:%s", x->len ? " | " :
	    "", a->action, a->reason, a->outcome, a->actor);

	assert_true(w > 0 && (size_t)w < sizeof x->s - x->len);
	x->len += (size_t)w;
}

static const char *
audit(struct fx *f, const char *customer)
{
	static struct text x;
	char err[256] = "";

	memset(&x, 0, sizeof x);
	if (store_audit_each(f->mf.st, customer, 0, 0, audit_line, &x, err, sizeof err) == -1)
		fail_msg("store_audit_each: %s", err);
	return x.s;
}

static void
test_ack_suspend(void **state)
{
	struct fx *f = *state;
	char line[600], big[260];
	json_t *r, *c, *ev;
	struct cli sub;

	/* a subscriber sees the audit events */
	cli_open(f, &sub);
	cli_puts(f, &sub, "{\"v\":1,\"cmd\":\"subscribe\"}\n");
	r = cli_msg(f, &sub);
	assert_true(json_is_true(json_object_get(json_object_get(r, "result"), "subscribed")));
	json_decref(r);

	refused(f, "{\"v\":1,\"cmd\":\"ack\",\"customer\":\"4711\"}", "\"reason\" is required");
	refused(f, "{\"v\":1,\"cmd\":\"ack\",\"customer\":\"4711\",\"reason\":\"\"}",
	    "\"reason\" is required");
	refused(f, "{\"v\":1,\"cmd\":\"ack\",\"customer\":\"4711\",\"reason\":\"a\\nb\"}",
	    "without control characters");
	refused(f, "{\"v\":1,\"cmd\":\"ack\",\"customer\":\"4711\",\"reason\":\"\\u001b[2J\"}",
	    "without control characters");
	memset(big, 'x', 201);
	big[201] = '\0';
	snprintf(line, sizeof line, "{\"v\":1,\"cmd\":\"ack\",\"customer\":\"4711\","
	    "\"reason\":\"%s\"}", big);
	refused(f, line, "at most 200 bytes");
	refused(f, "{\"v\":1,\"cmd\":\"ack\",\"customer\":\"nobody\",\"reason\":\"x\"}",
	    "no customer with id \"nobody\"");
	refused(f, "{\"v\":1,\"cmd\":\"ack\",\"reason\":\"x\"}", "is required");
	refused(f, "{\"v\":1,\"cmd\":\"ack\",\"customer\":\"100\",\"reason\":\"x\"}", "no flag");
	assert_string_equal(audit(f, NULL), "");	/* nothing refused is audited */

	big[200] = '\0';	/* 200 bytes are allowed */
	snprintf(line, sizeof line, "{\"v\":1,\"cmd\":\"ack\",\"customer\":\"300\","
	    "\"reason\":\"%s\"}", big);
	json_decref(ok(f, line));
	r = ok(f, "{\"v\":1,\"id\":9,\"cmd\":\"ack\",\"customer\":\"4711\","
	    "\"reason\":\"called the customer\"}");
	assert_true(I(r, "audit_id") > 0);
	assert_string_equal(S(r, "customer"), "4711");
	assert_string_equal(S(r, "outcome"), "acknowledged at level warn");
	assert_string_equal(S(r, "level"), "warn");
	json_decref(r);
	assert_string_equal(audit(f, "4711"),
	    "ack:called the customer:acknowledged at level warn:uid 0 (root)");
	assert_int_equal(f->acted.n, 0);	/* an ack is the model's, not the daemon's */
	ev = cli_msg(f, &sub);			/* 300's ack, then 4711's */
	assert_string_equal(S(ev, "event"), "audit");
	json_decref(ev);
	ev = cli_msg(f, &sub);
	assert_string_equal(S(ev, "event"), "audit");
	assert_string_equal(S(json_object_get(ev, "data"), "customer"), "4711");
	assert_string_equal(S(json_object_get(ev, "data"), "action"), "ack");
	json_decref(ev);

	r = ok(f, "{\"v\":1,\"cmd\":\"customers\",\"customer\":\"4711\"}");
	c = json_array_get(json_object_get(r, "customers"), 0);
	assert_string_equal(S(json_object_get(c, "ack"), "by"), "uid 0 (root)");
	assert_string_equal(S(json_object_get(c, "ack"), "reason"), "called the customer");
	assert_int_equal(I(json_object_get(c, "ack"), "ts"), T0 + 65);
	json_decref(r);

	/* suspend goes to the daemon's callback, then to the audit log */
	refused(f, "{\"v\":1,\"cmd\":\"suspend\",\"customer\":\"666\"}", "\"reason\" is required");
	r = ok(f, "{\"v\":1,\"cmd\":\"suspend\",\"customer\":\"666\",\"reason\":\"spam run\"}");
	assert_string_equal(S(r, "action"), "suspend");
	assert_string_equal(S(r, "outcome"), "suspend done (test)");
	assert_string_equal(S(r, "customer"), "666");
	json_decref(r);
	assert_int_equal(f->acted.n, 1);
	assert_string_equal(f->acted.action, "suspend");
	assert_int_equal(f->acted.c, customers_find(f->mf.c, "666"));
	assert_string_equal(f->acted.reason, "spam run");
	assert_string_equal(f->acted.actor, "uid 0 (root)");
	/* the daemon refuses: an error with its words; the request stays in the audit log,
	 * marked refused */
	f->acted.refuse = 1;
	refused(f, "{\"v\":1,\"cmd\":\"resume\",\"customer\":\"666\",\"reason\":\"fixed\"}",
	    "the hook is busy");
	f->acted.refuse = 0;
	r = ok(f, "{\"v\":1,\"cmd\":\"resume\",\"customer\":\"666\",\"reason\":\"fixed\"}");
	assert_string_equal(S(r, "action"), "resume");
	json_decref(r);
	assert_int_equal(f->acted.n, 3);
	assert_string_equal(audit(f, "666"),
	    "resume:fixed:resume done (test):uid 0 (root) | "
	    "resume:fixed:refused: the hook is busy:uid 0 (root) | "
	    "suspend:spam run:suspend done (test):uid 0 (root)");

	/* the customer view and alerts show the audit */
	r = ok(f, "{\"v\":1,\"cmd\":\"customer\",\"customer\":\"666\"}");
	assert_int_equal(json_array_size(json_object_get(r, "audit")), 3);
	assert_string_equal(S(json_array_get(json_object_get(r, "audit"), 0), "action"),
	    "resume");
	json_decref(r);
	r = ok(f, "{\"v\":1,\"cmd\":\"alerts\"}");
	assert_int_equal(json_array_size(json_object_get(r, "audit")), 5);
	json_decref(r);

	/* the level rises: the ack goes, a flag event follows the listing event */
	list_key(f, "uceprotect-1", "203.0.113.7", 1, T0 + 70);
	list_key(f, "uceprotect-1", "203.0.113.8", 1, T0 + 71);
	list_key(f, "uceprotect-1", "203.0.113.10", 1, T0 + 71);	/* 4.1 of 4 */
	assert_int_equal(model_tick(f->mf.m, T0 + 71), 1);
	r = ok(f, "{\"v\":1,\"cmd\":\"customers\",\"customer\":\"4711\"}");
	c = json_array_get(json_object_get(r, "customers"), 0);
	assert_string_equal(S(c, "level"), "act");
	assert_true(json_is_null(json_object_get(c, "ack")));
	json_decref(r);
	ev = cli_msg(f, &sub);
	assert_string_equal(S(ev, "event"), "audit");	/* suspend */
	json_decref(ev);
	ev = cli_msg(f, &sub);
	assert_string_equal(S(ev, "event"), "audit");	/* resume */
	json_decref(ev);
	ev = cli_msg(f, &sub);
	assert_string_equal(S(ev, "event"), "listing");
	assert_string_equal(S(json_object_get(ev, "data"), "key"), "203.0.113.7");
	assert_string_equal(S(json_object_get(ev, "data"), "event"), "listed");
	json_decref(ev);
	ev = cli_msg(f, &sub);
	assert_string_equal(S(ev, "event"), "listing");
	json_decref(ev);
	ev = cli_msg(f, &sub);
	assert_string_equal(S(ev, "event"), "listing");
	json_decref(ev);
	ev = cli_msg(f, &sub);
	assert_string_equal(S(ev, "event"), "flag");
	assert_string_equal(S(json_object_get(ev, "data"), "customer"), "4711");
	assert_string_equal(S(json_object_get(ev, "data"), "level"), "act");
	assert_string_equal(S(json_object_get(ev, "data"), "previous"), "warn");
	json_decref(ev);
	cli_close(&sub);
}

/* A `customers` reply of more than a slice is a stream: the same reply, whole, with at
 * most a slice of customer objects built per loop turn (counted by the views). */
static void
test_customers_streamed(void **state)
{
	struct fx *f = *state;
	json_t *whole, *streamed;

	whole = ok(f, "{\"v\":1,\"cmd\":\"customers\",\"all\":true}");
	assert_int_equal(views_most_per_turn(f->v), 0);		/* small: built at once */
	views_set_slice(f->v, 2);
	streamed = ok(f, "{\"v\":1,\"cmd\":\"customers\",\"all\":true}");
	assert_int_equal(json_array_size(json_object_get(streamed, "customers")), 5);
	assert_true(json_equal(whole, streamed));
	assert_int_equal(views_most_per_turn(f->v), 2);
	json_decref(streamed);
	json_decref(whole);
	/* with a limit: total counts every match, the array holds the limit */
	streamed = ok(f, "{\"v\":1,\"cmd\":\"customers\",\"all\":true,\"limit\":3}");
	assert_int_equal(json_integer_value(json_object_get(streamed, "total")), 5);
	assert_int_equal(json_array_size(json_object_get(streamed, "customers")), 3);
	json_decref(streamed);
	/* and the connection goes on */
	json_decref(ok(f, "{\"v\":1,\"cmd\":\"status\"}"));
}

/* `ranges` and `listings` stream as `customers` does: the same reply, a slice of objects
 * per loop turn; contributors and customers as in the reply built at once. */
static void
test_ranges_listings_streamed(void **state)
{
	struct fx *f = *state;
	static const char *req[] = {
		"{\"v\":1,\"cmd\":\"ranges\",\"limit\":0}",
		"{\"v\":1,\"cmd\":\"listings\",\"all\":true,\"limit\":0}",
	};
	static const char *arr[] = { "neighbourhoods", "listings" };
	json_t *whole[2], *streamed;
	size_t i;

	for (i = 0; i < 2; i++) {
		whole[i] = ok(f, req[i]);
		assert_true(json_array_size(json_object_get(whole[i], arr[i])) >= 2);
	}
	assert_int_equal(views_most_per_turn(f->v), 0);		/* small: built at once */
	views_set_slice(f->v, 1);
	for (i = 0; i < 2; i++) {
		streamed = ok(f, req[i]);
		assert_true(json_equal(whole[i], streamed));
		json_decref(streamed);
		json_decref(whole[i]);
	}
	assert_int_equal(views_most_per_turn(f->v), 1);
	/* a limit: total counts every match */
	streamed = ok(f, "{\"v\":1,\"cmd\":\"listings\",\"all\":true,\"limit\":1}");
	assert_int_equal(json_array_size(json_object_get(streamed, "listings")), 1);
	assert_true(json_integer_value(json_object_get(streamed, "total")) >= 2);
	json_decref(streamed);
	json_decref(ok(f, "{\"v\":1,\"cmd\":\"status\"}"));
}

/* Hostile names from customers.csv come back as valid JSON: valid UTF-8 as data (the JSON
 * encoding escapes ESC, CR, LF), invalid bytes as text_escape()d text. */
static void
test_hostile_names(void **state)
{
	struct fx *f = *state;
	char want[256];
	json_t *r, *c, *ev;
	const char *name;
	size_t i;

	text_escape(want, sizeof want, EVIL, strlen(EVIL));
	assert_non_null(strstr(want, "\\xff\\xfe"));
	r = ok(f, "{\"v\":1,\"cmd\":\"customers\",\"all\":true}");
	c = find(json_object_get(r, "customers"), "id", "666");
	assert_non_null(c);
	name = S(c, "name");
	assert_string_equal(name, want);
	for (i = 0; name[i] != '\0'; i++)
		assert_true((unsigned char)name[i] >= 0x20 && (unsigned char)name[i] != 0x7f);
	assert_string_equal(S(c, "level"), "watch");
	/* the evidence names the customer too */
	ev = json_object_get(c, "evidence");
	assert_true(json_array_size(ev) >= 2);	/* [0] is why the level, [1] who */
	assert_non_null(strstr(json_string_value(json_array_get(ev, 1)), "\\xff\\xfe"));
	c = find(json_object_get(r, "customers"), "id", "667");
	assert_string_equal(S(c, "name"), ODD);		/* as read: the client escapes */
	json_decref(r);

	r = ok(f, "{\"v\":1,\"cmd\":\"customer\",\"customer\":\"666\"}");
	assert_string_equal(S(r, "name"), want);
	assert_string_equal(S(json_array_get(json_object_get(r, "history"), 0), "name"), want);
	json_decref(r);
	r = ok(f, "{\"v\":1,\"cmd\":\"alerts\",\"customer\":\"666\"}");
	assert_string_equal(S(json_array_get(json_object_get(r, "flags"), 0), "name"), want);
	json_decref(r);
	r = ok(f, "{\"v\":1,\"cmd\":\"ranges\"}");
	c = find(json_object_get(r, "neighbourhoods"), "key", "192.0.2.0/24");
	assert_non_null(c);
	assert_string_equal(S(json_array_get(json_object_get(c, "contributors"), 0), "name"),
	    want);
	json_decref(r);
	/* filter matches the raw name */
	r = ok(f, "{\"v\":1,\"cmd\":\"customers\",\"filter\":\"evil\"}");
	assert_string_equal(ids(json_object_get(r, "customers")), "666");
	json_decref(r);
}

static int
one_row(void *arg, int ncol, char **val, char **col)
{
	(void)ncol;
	(void)val;
	(void)col;
	(*(int *)arg)++;
	return 0;
}

/* BUG (fixed): an ack was committed on the flag, then its audit entry in a commit of its
 * own; a kill between them (the crash test caught one) or an audit entry refused left an
 * acknowledged flag the audit log does not know of. Now both commit together or neither
 * does: here the audit table refuses the entry (a trigger), and the ack must not stay. */
static void
test_ack_needs_its_audit_entry(void **state)
{
	struct fx *f = *state;
	char db[128], err[256] = "", *msg = NULL;
	sqlite3 *c = NULL;
	json_t *r, *cu;
	int n = 0;

	assert_int_equal(store_flush(f->mf.st, err, sizeof err), 0);
	snprintf(db, sizeof db, "%s/rangewatch.db", f->mf.dir);
	assert_int_equal(sqlite3_open_v2(db, &c, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(c, 2000);
	if (sqlite3_exec(c, "CREATE TRIGGER no_audit BEFORE INSERT ON audit BEGIN "
	    "SELECT RAISE(ABORT, 'the audit log is full'); END", NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("create trigger: %s", msg);
	sqlite3_close(c);

	refused(f, "{\"v\":1,\"cmd\":\"ack\",\"customer\":\"4711\",\"reason\":\"seen\"}",
	    "the audit log is full");
	r = ok(f, "{\"v\":1,\"cmd\":\"customers\",\"customer\":\"4711\"}");
	cu = json_array_get(json_object_get(r, "customers"), 0);
	assert_string_equal(S(cu, "level"), "warn");
	assert_true(json_is_null(json_object_get(cu, "ack")));	/* not in memory */
	json_decref(r);
	assert_string_equal(audit(f, NULL), "");
	/* nor on disk, where a restart would find it */
	assert_int_equal(store_flush(f->mf.st, err, sizeof err), 0);
	assert_int_equal(sqlite3_open_v2(db, &c, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(c, "SELECT 1 FROM flag WHERE ack_by <> ''", one_row, &n,
	    NULL), SQLITE_OK);
	sqlite3_close(c);
	assert_int_equal(n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_customers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_customer_detail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ranges_listings_alerts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_suspend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_needs_its_audit_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_customers_streamed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ranges_listings_streamed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_names, setup, teardown),
	};

	if (geteuid() != 0) {
		/* the acting commands need an operator; root always is one */
		fprintf(stderr, "test_views: not root: the acting commands will be refused\n");
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
