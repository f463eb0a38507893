/*
 * test_model.c — unit tests of the model (monitor/model.c): the join of the capture's
 * cumulative per-IP counters and the DNSBL listings into the risk engine once a minute of
 * the caller's clock. A real store in a fresh folder, a real listings view, a traffic
 * table the test fills by hand (records added, counters bumped as the capture would), the
 * space, customers and lists read from small files. Checks, with exact numbers: a tick in
 * the same minute does nothing, a minute crossed writes one row per IP that moved (the
 * deltas) and the hourly rows add up; a first burst is suspect at the next minute; a
 * listing re-evaluates at once, a level change writes one history row and an ack is
 * cleared by the next change; the sparkline and last-hour figures; a restart brings
 * back levels, flags, the ack, the sparkline and the hour in progress without recording a
 * change; a reload of the customers (one removed, one added, indexes shifted) keeps state
 * by id; a reload of the risk settings does not count the hour in progress twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "addr.h"
#include "customers.h"
#include "dnsbl.h"
#include "dnsbl_lists.h"
#include "listings.h"
#include "model.h"
#include "prefixes.h"
#include "risk.h"
#include "store.h"
#include "traffic.h"
#include "testaddr.h"
#include "testfiles.h"
#include "modelfix.h"

#define T0	1717200000LL	/* 2024-06-01 00:00 UTC, an hour boundary */
#define MIN	60LL
#define HOUR	3600LL

static const char PREFIXES[] =
    "# test space\n"
    "203.0.113.0/24 64500\n"
    "192.0.2.0/24 64500\n"
    "192.0.2.0/28 64500 alloc\n";

static const char CUSTOMERS[] =
    "id,name,cidrs,contact,tags\n"
    "4711,Acme VPS,203.0.113.0/28,a@example.net,\n"
    "100,Innocent,203.0.113.64/26,b@example.net,\n"
    "300,Tiny,192.0.2.0/28,d@example.net,never_suspend\n";

/* 100 removed, 900 added in front: 4711 moves from index 0 to 1, 300 from 2 to 2 */
static const char CUSTOMERS2[] =
    "id,name,cidrs,contact,tags\n"
    "900,Newcomer,203.0.113.128/28,n@example.net,\n"
    "4711,Acme VPS,203.0.113.0/28,a@example.net,\n"
    "300,Tiny,192.0.2.0/28,d@example.net,never_suspend\n";

static const char LISTS[] =
    "[list \"uceprotect-1\"]\n"
    "zone = dnsbl-1.uceprotect.test\n"
    "scope = ip\n"
    "expiry = 7d\n"
    "\n"
    "[list \"uceprotect-2\"]\n"
    "zone = dnsbl-2.uceprotect.test\n"
    "scope = range\n";

struct fx {
	struct modelfix mf;
	char suspects[8][64];	/* what the suspect callback was given */
	size_t nsuspects;
};

static void
on_suspect(void *arg, const struct rw_addr *ip)
{
	struct fx *f = arg;

	assert_true(f->nsuspects < 8);
	addr_format(ip, f->suspects[f->nsuspects++], sizeof f->suspects[0]);
}

/* Store, listings and model over the fixture's files, the suspect callback recording (the
 * traffic table is kept when there is one: a restart test frees it itself). */
static void
open_model(struct fx *f, int64_t now)
{
	mf_open(&f->mf, now, NULL, on_suspect, f);
}

/* Everything but the files: as a stopping daemon does (save, flush, free). */
static void
close_model(struct fx *f)
{
	char err[512] = "";

	if (f->mf.m != NULL)
		model_save(f->mf.m);
	if (f->mf.st != NULL && store_flush(f->mf.st, err, sizeof err) == -1)
		fail_msg("store_flush: %s", err);
	mf_close(&f->mf);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);

	if (f == NULL)
		return -1;
	mf_files(&f->mf, "model", PREFIXES, CUSTOMERS, LISTS);
	/* low absolute limits: 10 connections an hour make a suspect; the others never */
	mf_low_limits(&f->mf);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	close_model(f);
	mf_teardown(&f->mf);
	free(f);
	return 0;
}

/* ------------------------------------------------------------------ helpers */

static int
tick(struct fx *f, int64_t now)
{
	return model_tick(f->mf.m, now);
}

/* list says key is listed (or clean) at now; returns the listing change. */
static int
list_key(struct fx *f, const char *list, const char *key, int listed, int64_t now)
{
	return mf_list(&f->mf, list, key, listed, "listed for the test", now);
}

static int
suspect(struct fx *f, const char *ip, unsigned *rules)
{
	struct rw_addr a = A(ip);
	unsigned r = 0;
	int s = risk_ip_suspect(model_risk(f->mf.m), &a, &r);

	if (rules != NULL)
		*rules = r;
	return s;
}

/* Traffic rows, one line each: "TS IP CUST sessions/rcpt/syn/mail/data/tls/4xx/5xx/cited/
 * dst/bytes", TS relative to T0. */
struct text {
	char s[8192];
	size_t len;
	size_t n;
};

static void
row_line(void *arg, const struct store_traffic *t)
{
	struct text *x = arg;
	int w = snprintf(x->s + x->len, sizeof x->s - x->len,
	    "%lld %s %s %u/%u/%u/%u/%u/%u/%u/%u/%u/%u/%llu\n", (long long)(t->ts - T0), t->ip,
	    t->customer, t->sessions, t->rcpt_to, t->syn, t->mail_from, t->data, t->starttls,
	    t->replies_4xx, t->replies_5xx, t->cited, t->new_dst,
	    (unsigned long long)t->bytes_out);

	assert_true(w > 0 && (size_t)w < sizeof x->s - x->len);
	x->len += (size_t)w;
	x->n++;
}

static const char *
rows(struct fx *f, int hourly, int64_t from, int64_t to, size_t *n)
{
	static struct text x;
	char err[256] = "";

	memset(&x, 0, sizeof x);
	if (store_traffic_each(f->mf.st, hourly, from, to, NULL, NULL, row_line, &x, err,
	    sizeof err) == -1)
		fail_msg("store_traffic_each: %s", err);
	if (n != NULL)
		*n = x.n;
	return x.s;
}

static void
count_row(void *arg, const struct store_traffic *t)
{
	(void)t;
	(*(size_t *)arg)++;
}

/* Minute rows in the store, however many (rows() holds 8 KiB of them). */
static size_t
count_rows(struct fx *f)
{
	char err[256] = "";
	size_t n = 0;

	if (store_traffic_each(f->mf.st, 0, 0, INT64_MAX, NULL, NULL, count_row, &n, err,
	    sizeof err) == -1)
		fail_msg("store_traffic_each: %s", err);
	return n;
}

/* A customer's flag history, newest first: "act<warn warn<watch watch<none". */
static void
hist_line(void *arg, const struct store_flag *fl)
{
	struct text *x = arg;
	int w = snprintf(x->s + x->len, sizeof x->s - x->len, "%s%s<%s", x->len ? " " : "",
	    fl->level, fl->previous);

	assert_true(w > 0 && (size_t)w < sizeof x->s - x->len);
	x->len += (size_t)w;
	x->n++;
}

static const char *
history(struct fx *f, const char *id)
{
	static struct text x;
	char err[256] = "";

	memset(&x, 0, sizeof x);
	if (store_flag_history(f->mf.st, id, 0, 0, hist_line, &x, err, sizeof err) == -1)
		fail_msg("store_flag_history: %s", err);
	return x.s;
}

/* The current flag row of a customer as the store has it. */
struct cur {
	const char *want;
	int found;
	char level[16], ack_by[64], ack_reason[64];
	int64_t ack_ts, ts;
};

static void
cur_row(void *arg, const struct store_flag *fl)
{
	struct cur *c = arg;

	if (strcmp(fl->customer, c->want) != 0)
		return;
	c->found = 1;
	snprintf(c->level, sizeof c->level, "%s", fl->level);
	snprintf(c->ack_by, sizeof c->ack_by, "%s", fl->ack_by ? fl->ack_by : "");
	snprintf(c->ack_reason, sizeof c->ack_reason, "%s", fl->ack_reason ? fl->ack_reason :
	    "");
	c->ack_ts = fl->ack_ts;
	c->ts = fl->ts;
}

static struct cur
stored_flag(struct fx *f, const char *id)
{
	struct cur c;
	char err[256] = "";

	memset(&c, 0, sizeof c);
	c.want = id;
	if (store_flag_load(f->mf.st, cur_row, &c, err, sizeof err) == -1)
		fail_msg("store_flag_load: %s", err);
	return c;
}

/* ------------------------------------------------------------------ tests */

/* Minute rows: none within the minute; one per IP that moved, with the deltas; hourly
 * rows add up; an unchanged IP writes nothing. */
static void
test_minute_rows(void **state)
{
	struct fx *f = *state;
	struct traffic_ip *a;
	struct rw_addr d1 = A("198.18.0.1"), d2 = A("198.18.0.2"), d3 = A("198.18.0.3");
	size_t n;

	open_model(f, T0);
	assert_int_equal(tick(f, T0 + 10), 1);		/* the first tick: the clock starts, and
						 * what the restored state changed is recorded */
	mf_send(&f->mf, "203.0.113.5", 3, 7);
	a = mf_rec(&f->mf, "203.0.113.5");
	a->starttls = 1;
	a->replies_4xx = 1;
	a->replies_5xx = 2;
	a->cited = 1;				/* one reply naming list 1 */
	traffic_cite(f->mf.tr, a, 1);
	distinct_add(&a->dst, distinct_key(&d1));
	distinct_add(&a->dst, distinct_key(&d2));
	mf_send(&f->mf, "203.0.113.70", 1, 1);
	mf_send(&f->mf, "10.9.9.9", 2, 2);	/* outside the space: unassigned, "" customer */

	assert_int_equal(tick(f, T0 + 30), 0);		/* same minute: nothing */
	assert_int_equal(tick(f, T0 + 59), 0);
	rows(f, 0, T0 - HOUR, T0 + 2 * HOUR, &n);
	assert_int_equal(n, 0);
	assert_int_equal(model_evaluated(f->mf.m), T0 + 10);	/* the first tick's only */

	assert_int_equal(tick(f, T0 + 65), 1);		/* minute 0 ends */
	assert_int_equal(model_evaluated(f->mf.m), T0 + 65);
	assert_string_equal(rows(f, 0, T0 - HOUR, T0 + 2 * HOUR, &n),
	    "0 10.9.9.9  2/2/2/2/2/0/0/0/0/0/2000\n"
	    "0 203.0.113.5 4711 3/7/3/3/3/1/1/2/1/2/3000\n"
	    "0 203.0.113.70 100 1/1/1/1/1/0/0/0/0/0/1000\n");

	/* minute 1: only .5 moves (2 sessions, 1 RCPT, one new and one old destination) */
	mf_send(&f->mf, "203.0.113.5", 2, 1);
	distinct_add(&a->dst, distinct_key(&d3));
	distinct_add(&a->dst, distinct_key(&d1));
	assert_int_equal(tick(f, T0 + 125), 1);
	assert_string_equal(rows(f, 0, T0 + 60, T0 + 120, &n),
	    "60 203.0.113.5 4711 2/1/2/2/2/0/0/0/0/1/2000\n");
	/* minute 2: nobody moves, nobody is written */
	assert_int_equal(tick(f, T0 + 185), 1);
	rows(f, 0, T0 + 120, T0 + 180, &n);
	assert_int_equal(n, 0);
	/* a tick several minutes later carries what came since into the last tick's minute */
	mf_send(&f->mf, "203.0.113.70", 4, 4);
	assert_int_equal(tick(f, T0 + 600), 1);
	assert_string_equal(rows(f, 0, T0 + 180, T0 + 600, &n),
	    "180 203.0.113.70 100 4/4/4/4/4/0/0/0/0/0/4000\n");
	rows(f, 0, T0 - HOUR, T0 + 2 * HOUR, &n);
	assert_int_equal(n, 5);

	/* the hour adds them up */
	assert_string_equal(rows(f, 1, T0 - HOUR, T0 + 2 * HOUR, &n),
	    "0 10.9.9.9  2/2/2/2/2/0/0/0/0/0/2000\n"
	    "0 203.0.113.5 4711 5/8/5/5/5/1/1/2/1/3/5000\n"
	    "0 203.0.113.70 100 5/5/5/5/5/0/0/0/0/0/5000\n");

	/* a minute of the next hour goes into the next hour's row */
	assert_int_equal(tick(f, T0 + HOUR + 5), 1);
	mf_send(&f->mf, "203.0.113.5", 1, 1);
	assert_int_equal(tick(f, T0 + HOUR + 65), 1);
	assert_string_equal(rows(f, 1, T0 + HOUR, T0 + 2 * HOUR, &n),
	    "3600 203.0.113.5 4711 1/1/1/1/1/0/0/0/0/0/1000\n");
}

/* A minute with more changed senders than a loop turn writes (2048 rows; 300 here) is
 * worked in slices: the tick writes the first, model_step the others (ticks meanwhile
 * wait), and the step that finishes evaluates; every sender gets its one row. */
static void
test_minute_sliced(void **state)
{
	struct fx *f = *state;
	char ip[32];
	int i, steps = 0, r;

	open_model(f, T0);
	model_set_step(f->mf.m, 0, 300);
	assert_int_equal(tick(f, T0 + 10), 1);
	for (i = 0; i < 900; i++) {
		snprintf(ip, sizeof ip, "10.1.%d.%d", i / 250, i % 250 + 1);
		mf_send(&f->mf, ip, 1, 1);
	}
	assert_int_equal(tick(f, T0 + 65), 0);		/* a slice, not the whole */
	assert_true(model_busy(f->mf.m));
	assert_int_equal(count_rows(f), 300);
	assert_int_equal(tick(f, T0 + 125), 0);		/* waits for the work */
	assert_int_equal(model_evaluated(f->mf.m), T0 + 10);
	while ((r = model_step(f->mf.m)) == 0)
		steps++;
	assert_int_equal(r, 1);
	/* the tick and two steps write the rows, 300 each (the second step also the first
	 * 300 risk histories), two more steps the other 600, the last one evaluating */
	assert_int_equal(steps, 3);
	assert_false(model_busy(f->mf.m));
	assert_int_equal(model_evaluated(f->mf.m), T0 + 65);
	assert_int_equal(count_rows(f), 900);
	assert_int_equal(model_step(f->mf.m), 0);	/* nothing left */
}

/* A new IP's first burst is suspect at the next minute: its first snapshot counts from
 * zero. 9 connections stay under the limit of 10, the 10th makes it. */
static void
test_first_burst(void **state)
{
	struct fx *f = *state;
	unsigned rules;

	open_model(f, T0);
	assert_int_equal(tick(f, T0 + 10), 1);
	mf_send(&f->mf, "203.0.113.5", 12, 12);
	mf_send(&f->mf, "203.0.113.70", 9, 9);
	assert_int_equal(tick(f, T0 + 65), 1);
	assert_int_equal(suspect(f, "203.0.113.5", &rules), 1);
	assert_int_equal(rules, RISK_R_CONN);
	assert_int_equal(suspect(f, "203.0.113.70", &rules), 0);
	assert_int_equal(f->nsuspects, 1);
	assert_string_equal(f->suspects[0], "203.0.113.5");
	/* one suspect toward the /24's 4: watch */
	assert_int_equal(mf_level(&f->mf, "4711"), RISK_WATCH);
	assert_int_equal(mf_level(&f->mf, "100"), RISK_NONE);
	assert_string_equal(history(f, "4711"), "watch<none");
	assert_string_equal(history(f, "100"), "");

	/* the 10th connection of .70; .5 stays suspect and is not announced again */
	mf_send(&f->mf, "203.0.113.70", 1, 1);
	mf_send(&f->mf, "203.0.113.5", 1, 1);
	assert_int_equal(tick(f, T0 + 125), 1);
	assert_int_equal(suspect(f, "203.0.113.70", &rules), 1);
	assert_int_equal(f->nsuspects, 2);
	assert_string_equal(f->suspects[1], "203.0.113.70");
	/* two suspects on volume alone (no history yet, likelihood 0.1 each): watch, never
	 * more, however many of them */
	assert_int_equal(mf_level(&f->mf, "4711"), RISK_WATCH);
	assert_int_equal(mf_level(&f->mf, "100"), RISK_WATCH);
	assert_string_equal(history(f, "4711"), "watch<none");
	assert_string_equal(history(f, "100"), "watch<none");
	/* an unchanged minute records nothing */
	assert_int_equal(tick(f, T0 + 185), 1);
	assert_string_equal(history(f, "4711"), "watch<none");
}

/* A listing re-evaluates at the next tick within the minute; one history row per change,
 * none while the level stays; an ack stays while the level does and goes when it rises. */
static void
test_listing_levels_ack(void **state)
{
	struct fx *f = *state;
	struct model_customer mc;
	struct cur cu;
	char err[256] = "";
	const struct risk_flag *fl;

	open_model(f, T0);
	assert_int_equal(tick(f, T0 + 10), 1);
	assert_int_equal(tick(f, T0 + 65), 1);
	assert_int_equal(tick(f, T0 + 66), 0);		/* nothing changed: nothing to do */

	assert_int_equal(list_key(f, "uceprotect-1", "203.0.113.5", 1, T0 + 70),
	    LISTING_LISTED);
	assert_int_equal(mf_level(&f->mf, "4711"), RISK_NONE);	/* not before the tick */
	assert_int_equal(tick(f, T0 + 70), 1);
	assert_int_equal(model_evaluated(f->mf.m), T0 + 70);
	assert_int_equal(mf_level(&f->mf, "4711"), RISK_WATCH);	/* 1 of 4 impacts */
	assert_int_equal(mf_customer(&f->mf, "4711").since, T0 + 70);
	assert_string_equal(history(f, "4711"), "watch<none");
	assert_int_equal(tick(f, T0 + 71), 0);		/* done: no second evaluation */

	/* the same listing seen again: no change, no re-evaluation */
	assert_int_equal(list_key(f, "uceprotect-1", "203.0.113.5", 1, T0 + 75), LISTING_SAME);
	assert_int_equal(tick(f, T0 + 76), 0);

	assert_int_equal(list_key(f, "uceprotect-1", "203.0.113.6", 1, T0 + 80),
	    LISTING_LISTED);
	assert_int_equal(tick(f, T0 + 80), 1);
	assert_int_equal(mf_level(&f->mf, "4711"), RISK_WARN);	/* 2 of 4: 0.5 */
	assert_string_equal(history(f, "4711"), "warn<watch watch<none");
	assert_int_equal(tick(f, T0 + 125), 1);		/* a minute at the same level */
	assert_string_equal(history(f, "4711"), "warn<watch watch<none");

	/* ack: nothing to ack for a customer without a flag, nor an unknown index */
	assert_int_equal(model_ack(f->mf.m, mf_cidx(&f->mf, "100"), "op", "why", T0 + 126, err,
	    sizeof err), -1);
	assert_non_null(strstr(err, "no flag"));
	assert_int_equal(model_ack(f->mf.m, 99, "op", "why", T0 + 126, err, sizeof err), -1);
	assert_int_equal(model_ack(f->mf.m, mf_cidx(&f->mf, "4711"), "op", "customer called",
	    T0 + 126, err, sizeof err), 0);
	mc = mf_customer(&f->mf, "4711");
	assert_string_equal(mc.ack_by, "op");
	assert_string_equal(mc.ack_reason, "customer called");
	assert_int_equal(mc.ack_ts, T0 + 126);
	cu = stored_flag(f, "4711");
	assert_true(cu.found);
	assert_string_equal(cu.level, "warn");
	assert_string_equal(cu.ack_by, "op");
	assert_int_equal(cu.ack_ts, T0 + 126);

	/* 3 of 4 is still warn: the ack stays */
	list_key(f, "uceprotect-1", "203.0.113.7", 1, T0 + 130);
	assert_int_equal(tick(f, T0 + 130), 1);
	assert_int_equal(mf_level(&f->mf, "4711"), RISK_WARN);
	assert_string_equal(mf_customer(&f->mf, "4711").ack_by, "op");
	assert_string_equal(history(f, "4711"), "warn<watch watch<none");

	/* 4 of 4: act, one row, the ack gone in memory and in the store */
	list_key(f, "uceprotect-1", "203.0.113.8", 1, T0 + 140);
	assert_int_equal(tick(f, T0 + 140), 1);
	assert_int_equal(mf_level(&f->mf, "4711"), RISK_ACT);
	assert_string_equal(history(f, "4711"), "act<warn warn<watch watch<none");
	mc = mf_customer(&f->mf, "4711");
	assert_null(mc.ack_by);
	assert_null(mc.ack_reason);
	assert_int_equal(mc.since, T0 + 140);
	cu = stored_flag(f, "4711");
	assert_string_equal(cu.level, "act");
	assert_string_equal(cu.ack_by, "");
	fl = risk_flag_of(model_risk(f->mf.m), mf_cidx(&f->mf, "4711"));
	assert_non_null(fl);
	assert_int_equal(fl->listed_ips, 4);

	/* a /28 allocation escalates on one impact: straight to act */
	list_key(f, "uceprotect-1", "192.0.2.3", 1, T0 + 150);
	assert_int_equal(tick(f, T0 + 150), 1);
	assert_int_equal(mf_level(&f->mf, "300"), RISK_ACT);
	assert_string_equal(history(f, "300"), "act<none");

	/* a range-scope listing alone (no customer contributes): no flag for 100 */
	list_key(f, "uceprotect-2", "203.0.113.0/24", 1, T0 + 160);
	assert_int_equal(tick(f, T0 + 160), 1);
	assert_int_equal(mf_level(&f->mf, "100"), RISK_NONE);
	assert_int_equal(mf_level(&f->mf, "4711"), RISK_ACT);
	assert_string_equal(history(f, "4711"), "act<warn warn<watch watch<none");
	{
		size_t lv[4];

		model_levels(f->mf.m, lv);
		assert_int_equal(lv[RISK_WATCH], 0);
		assert_int_equal(lv[RISK_WARN], 0);
		assert_int_equal(lv[RISK_ACT], 2);
	}
}

/* The sparkline (sessions per hour, oldest first) and the last hour's figures (this hour
 * plus the part of the last one still inside). */
static void
test_customer_figures(void **state)
{
	struct fx *f = *state;
	struct model_customer mc;
	struct traffic_ip *a;
	size_t k;

	open_model(f, T0);
	assert_int_equal(tick(f, T0 + 10), 1);
	mf_send(&f->mf, "203.0.113.5", 6, 10);
	a = mf_rec(&f->mf, "203.0.113.5");
	a->replies_5xx += 2;
	assert_int_equal(tick(f, T0 + 65), 1);		/* hour 0: 6 sessions */

	assert_int_equal(tick(f, T0 + HOUR + 5), 1);
	mf_send(&f->mf, "203.0.113.5", 4, 5);
	a->replies_5xx += 4;
	mf_send(&f->mf, "203.0.113.9", 1, 1);		/* another IP of 4711 */
	assert_int_equal(tick(f, T0 + HOUR + 65), 1);	/* hour 1: 5 sessions */

	assert_int_equal(tick(f, T0 + 2 * HOUR + 5), 1);
	mf_send(&f->mf, "203.0.113.5", 3, 2);
	assert_int_equal(tick(f, T0 + 2 * HOUR + 65), 1);	/* hour 2: 3 sessions */
	assert_int_equal(tick(f, T0 + 2 * HOUR + 1800), 1);	/* half of hour 2 gone */

	mc = mf_customer(&f->mf, "4711");
	for (k = 0; k < MODEL_SPARK - 3; k++)
		assert_int_equal(mc.spark[k], 0);
	assert_int_equal(mc.spark[MODEL_SPARK - 3], 6);
	assert_int_equal(mc.spark[MODEL_SPARK - 2], 5);
	assert_int_equal(mc.spark[MODEL_SPARK - 1], 3);
	/* this hour's plus half of the last one's */
	assert_int_equal(mc.sessions_1h, 3 + 5 / 2);
	assert_int_equal(mc.rcpt_1h, 2 + 6 / 2);
	assert_int_equal(mc.rej_1h, 0 + 4 / 2);
	mc = mf_customer(&f->mf, "100");
	assert_int_equal(mc.sessions_1h, 0);
	assert_int_equal(mc.spark[MODEL_SPARK - 1], 0);

	/* an hour with no traffic: the window slides, the last hour shrinks */
	assert_int_equal(tick(f, T0 + 3 * HOUR + 900), 1);
	mc = mf_customer(&f->mf, "4711");
	assert_int_equal(mc.spark[MODEL_SPARK - 4], 6);
	assert_int_equal(mc.spark[MODEL_SPARK - 2], 3);
	assert_int_equal(mc.spark[MODEL_SPARK - 1], 0);
	assert_int_equal(mc.sessions_1h, (uint32_t)(0.75 * 3));
	assert_int_equal(mc.rcpt_1h, (uint32_t)(0.75 * 2));

	/* 24 hours on, hour 0 has left the sparkline */
	assert_int_equal(tick(f, T0 + 24 * HOUR + 5), 1);
	mc = mf_customer(&f->mf, "4711");
	assert_int_equal(mc.spark[MODEL_SPARK - 24], 5);	/* hour 1 is the oldest */
	assert_int_equal(mc.spark[MODEL_SPARK - 23], 3);
	assert_int_equal(mc.sessions_1h, 0);
}

/* A restart keeps the recorded levels, the flags, the ack, the sparkline and the hour in
 * progress; its first ticks record no change for levels that did not change. */
static void
test_restart(void **state)
{
	struct fx *f = *state;
	struct model_customer before, after;
	char err[256] = "";
	int64_t now;
	unsigned rules;
	size_t k;

	open_model(f, T0);
	assert_int_equal(tick(f, T0 + 10), 1);
	mf_send(&f->mf, "203.0.113.5", 5, 10);
	assert_int_equal(tick(f, T0 + 65), 1);
	assert_int_equal(tick(f, T0 + HOUR + 5), 1);
	mf_send(&f->mf, "203.0.113.5", 2, 3);
	mf_send(&f->mf, "203.0.113.70", 9, 9);	/* 100: one short of suspect */
	list_key(f, "uceprotect-1", "203.0.113.5", 1, T0 + HOUR + 30);
	list_key(f, "uceprotect-1", "203.0.113.6", 1, T0 + HOUR + 31);
	list_key(f, "uceprotect-1", "192.0.2.3", 1, T0 + HOUR + 32);
	assert_int_equal(tick(f, T0 + HOUR + 65), 1);
	assert_int_equal(mf_level(&f->mf, "4711"), RISK_WARN);
	assert_int_equal(mf_level(&f->mf, "300"), RISK_ACT);
	assert_int_equal(mf_level(&f->mf, "100"), RISK_NONE);
	assert_int_equal(suspect(f, "203.0.113.70", NULL), 0);
	assert_int_equal(model_ack(f->mf.m, mf_cidx(&f->mf, "4711"), "op", "on it",
	    T0 + HOUR + 70, err, sizeof err), 0);
	/* traffic of the minute in progress: model_save writes it */
	mf_send(&f->mf, "203.0.113.5", 1, 1);
	now = T0 + HOUR + 100;
	assert_int_equal(tick(f, now), 0);
	before = mf_customer(&f->mf, "4711");
	assert_int_equal(before.spark[MODEL_SPARK - 2], 5);
	assert_int_equal(before.spark[MODEL_SPARK - 1], 2);	/* the minute in progress not yet */
	assert_string_equal(history(f, "4711"), "warn<none");
	assert_string_equal(history(f, "300"), "act<none");

	close_model(f);		/* save, flush, free everything */
	open_model(f, now);
	after = mf_customer(&f->mf, "4711");
	assert_int_equal(after.level, RISK_WARN);
	assert_int_equal(after.since, before.since);
	assert_non_null(after.ack_by);
	assert_string_equal(after.ack_by, "op");
	assert_string_equal(after.ack_reason, "on it");
	assert_int_equal(after.ack_ts, T0 + HOUR + 70);
	assert_int_equal(mf_level(&f->mf, "300"), RISK_ACT);
	assert_int_equal(mf_level(&f->mf, "100"), RISK_NONE);
	/* the flags themselves, as evaluated at start from the restored state */
	assert_non_null(risk_flag_of(model_risk(f->mf.m), mf_cidx(&f->mf, "4711")));
	assert_int_equal(risk_flag_of(model_risk(f->mf.m), mf_cidx(&f->mf, "4711"))->level,
	    RISK_WARN);
	assert_int_equal(risk_flag_of(model_risk(f->mf.m), mf_cidx(&f->mf, "300"))->level,
	    RISK_ACT);
	/* the sparkline, now with the minute model_save wrote */
	for (k = 0; k < MODEL_SPARK - 2; k++)
		assert_int_equal(after.spark[k], 0);
	assert_int_equal(after.spark[MODEL_SPARK - 2], 5);
	assert_int_equal(after.spark[MODEL_SPARK - 1], 3);
	assert_int_equal(after.sessions_1h, before.sessions_1h + 1);
	assert_int_equal(after.rcpt_1h, before.rcpt_1h + 1);
	/* no change recorded by the restart nor by its first ticks */
	assert_string_equal(history(f, "4711"), "warn<none");
	assert_string_equal(history(f, "300"), "act<none");
	assert_int_equal(tick(f, now + 1), 1);	/* the first tick evaluates: no change */
	assert_string_equal(history(f, "4711"), "warn<none");
	assert_int_equal(tick(f, now + 60), 1);
	assert_string_equal(history(f, "4711"), "warn<none");
	assert_string_equal(history(f, "300"), "act<none");
	assert_string_equal(mf_customer(&f->mf, "4711").ack_by, "op");

	/* the hour in progress survived: the new capture counts from zero, 9 + 1 = 10 */
	mf_send(&f->mf, "203.0.113.70", 1, 1);
	assert_int_equal(tick(f, now + 120), 1);
	assert_int_equal(suspect(f, "203.0.113.70", &rules), 1);
	assert_int_equal(rules, RISK_R_CONN);
	/* 2 listed + a volume suspect (0.1) of 4: 100 adds a small share on weak evidence:
	 * watch; 4711 stays warn */
	assert_int_equal(mf_level(&f->mf, "100"), RISK_WATCH);
	assert_string_equal(history(f, "100"), "watch<none");
	assert_string_equal(history(f, "4711"), "warn<none");
}

/* A reload of the customers: 100 removed, 900 added in front, 4711 moves from index 0 to
 * index 1; its level, ack and sparkline follow its id. */
static void
test_set_space(void **state)
{
	struct fx *f = *state;
	struct customers *c2;
	struct model_customer mc;
	char err[256] = "";
	size_t i;

	open_model(f, T0);
	assert_int_equal(tick(f, T0 + 10), 1);
	mf_send(&f->mf, "203.0.113.5", 4, 4);
	mf_send(&f->mf, "203.0.113.70", 3, 3);
	mf_send(&f->mf, "203.0.113.130", 2, 2);	/* unassigned before, 900's after */
	list_key(f, "uceprotect-1", "203.0.113.5", 1, T0 + 20);
	list_key(f, "uceprotect-1", "203.0.113.70", 1, T0 + 21);
	assert_int_equal(tick(f, T0 + 65), 1);
	assert_int_equal(mf_level(&f->mf, "4711"), RISK_WARN);
	assert_int_equal(mf_level(&f->mf, "100"), RISK_WARN);
	assert_int_equal(model_ack(f->mf.m, mf_cidx(&f->mf, "4711"), "op", "known", T0 + 66,
	    err, sizeof err), 0);
	assert_int_equal(mf_cidx(&f->mf, "4711"), 0);

	mf_customers(&f->mf, CUSTOMERS2, &c2);
	assert_int_equal(model_set_space(f->mf.m, f->mf.p, c2, f->mf.ls, err, sizeof err), 0);
	customers_free(f->mf.c);
	f->mf.c = c2;
	/* the capture re-resolves its records (outbound_set_space) */
	for (i = 0; i < traffic_count(f->mf.tr); i++) {
		struct traffic_ip *t = traffic_at(f->mf.tr, i);

		t->customer = (int32_t)customers_lookup(c2, &t->addr);
	}
	assert_int_equal(mf_cidx(&f->mf, "4711"), 1);
	mc = mf_customer(&f->mf, "4711");
	assert_int_equal(mc.level, RISK_WARN);
	assert_string_equal(mc.ack_by, "op");
	assert_int_equal(mc.spark[MODEL_SPARK - 1], 4);
	mc = mf_customer(&f->mf, "900");
	assert_int_equal(mc.level, RISK_NONE);
	assert_null(mc.ack_by);
	assert_int_equal(mc.spark[MODEL_SPARK - 1], 0);
	mc = mf_customer(&f->mf, "300");
	assert_int_equal(mc.level, RISK_NONE);

	/* the reload re-evaluates within the minute; 4711's level stays: no new row */
	assert_int_equal(tick(f, T0 + 70), 1);
	assert_int_equal(mf_level(&f->mf, "4711"), RISK_WARN);
	assert_string_equal(mf_customer(&f->mf, "4711").ack_by, "op");
	assert_string_equal(history(f, "4711"), "warn<none");
	assert_non_null(risk_flag_of(model_risk(f->mf.m), 1));
	assert_null(risk_flag_of(model_risk(f->mf.m), 0));
	/* 900's traffic counts for 900 from now on */
	mf_send(&f->mf, "203.0.113.130", 1, 1);
	assert_int_equal(tick(f, T0 + 125), 1);
	assert_string_equal(rows(f, 0, T0 + 60, T0 + 120, NULL),
	    "60 203.0.113.130 900 1/1/1/1/1/0/0/0/0/0/1000\n");
	assert_int_equal(mf_customer(&f->mf, "900").spark[MODEL_SPARK - 1], 1);
	assert_int_equal(mf_customer(&f->mf, "4711").spark[MODEL_SPARK - 1], 4);
	/* 4711's next change is its own, at its new index */
	list_key(f, "uceprotect-1", "203.0.113.6", 1, T0 + 130);
	list_key(f, "uceprotect-1", "203.0.113.7", 1, T0 + 131);
	assert_int_equal(tick(f, T0 + 131), 1);
	assert_int_equal(mf_level(&f->mf, "4711"), RISK_ACT);	/* 4 of 4 */
	assert_null(mf_customer(&f->mf, "4711").ack_by);
	assert_string_equal(history(f, "4711"), "act<warn warn<none");
	assert_string_equal(history(f, "900"), "");
}

/* A reload of the risk settings: a new engine that keeps the history and does not count
 * the hour in progress twice. The limit is 10 connections an hour: 6 before the reload
 * and 3 after are 9 (not suspect; 15 if counted twice), one more makes 10. */
static void
test_set_risk(void **state)
{
	struct fx *f = *state;
	struct risk_config rc2;
	char err[256] = "";
	size_t n;

	open_model(f, T0);
	assert_int_equal(tick(f, T0 + 10), 1);
	mf_send(&f->mf, "203.0.113.5", 6, 6);
	list_key(f, "uceprotect-1", "203.0.113.6", 1, T0 + 20);
	assert_int_equal(tick(f, T0 + 65), 1);
	assert_int_equal(suspect(f, "203.0.113.5", NULL), 0);
	assert_int_equal(mf_level(&f->mf, "4711"), RISK_WATCH);
	assert_string_equal(history(f, "4711"), "watch<none");
	/* traffic of the minute in progress when the reload comes */
	mf_send(&f->mf, "203.0.113.5", 1, 1);
	assert_int_equal(tick(f, T0 + 70), 0);

	rc2 = f->mf.rc;
	rc2.rcpt_per_hour = 999;		/* a change; the connection limit stays 10 */
	assert_int_equal(model_set_risk(f->mf.m, &rc2, err, sizeof err), 0);
	f->mf.rc = rc2;
	assert_int_equal(tick(f, T0 + 71), 1);	/* re-evaluated at once */
	assert_int_equal(suspect(f, "203.0.113.5", NULL), 0);
	assert_int_equal(mf_level(&f->mf, "4711"), RISK_WATCH);
	assert_string_equal(history(f, "4711"), "watch<none");	/* listings fed again */

	mf_send(&f->mf, "203.0.113.5", 2, 2);	/* 6 + 1 + 2 = 9 */
	assert_int_equal(tick(f, T0 + 125), 1);
	assert_int_equal(suspect(f, "203.0.113.5", NULL), 0);
	mf_send(&f->mf, "203.0.113.5", 1, 1);	/* 10 */
	assert_int_equal(tick(f, T0 + 185), 1);
	assert_int_equal(suspect(f, "203.0.113.5", NULL), 1);
	/* 1 listed + a volume suspect of 4 (1.1 of 4): still watch */
	assert_int_equal(mf_level(&f->mf, "4711"), RISK_WATCH);
	assert_string_equal(history(f, "4711"), "watch<none");
	/* the store's rows count each connection once */
	assert_string_equal(rows(f, 1, T0, T0 + HOUR, &n),
	    "0 203.0.113.5 4711 10/10/10/10/10/0/0/0/0/0/10000\n");

	/* a second reload with the limit at 11: the same counts, now one short */
	rc2.conn_per_hour = 11;
	assert_int_equal(model_set_risk(f->mf.m, &rc2, err, sizeof err), 0);
	assert_int_equal(tick(f, T0 + 186), 1);
	assert_int_equal(suspect(f, "203.0.113.5", NULL), 0);
	mf_send(&f->mf, "203.0.113.5", 1, 1);	/* 11 */
	assert_int_equal(tick(f, T0 + 245), 1);
	assert_int_equal(suspect(f, "203.0.113.5", NULL), 1);
	/* and after a restart on top: the hour holds 11, the new capture adds from zero */
	close_model(f);
	f->mf.rc = rc2;
	f->mf.rc.conn_per_hour = 13;
	open_model(f, T0 + 250);
	assert_int_equal(tick(f, T0 + 250), 1);
	mf_send(&f->mf, "203.0.113.5", 1, 1);	/* 12 */
	assert_int_equal(tick(f, T0 + 305), 1);
	assert_int_equal(suspect(f, "203.0.113.5", NULL), 0);
	mf_send(&f->mf, "203.0.113.5", 1, 1);	/* 13 */
	assert_int_equal(tick(f, T0 + 365), 1);
	assert_int_equal(suspect(f, "203.0.113.5", NULL), 1);
}

/* ------------------------------------------------------------------ a kill in a change */

/* Rows of table in the test's store, through a connection of its own (what is committed). */
static long long
committed(struct fx *f, const char *table)
{
	char path[128], sql[128];
	sqlite3 *c = NULL;
	sqlite3_stmt *st = NULL;
	long long v = -1;

	snprintf(path, sizeof path, "%s/rangewatch.db", f->mf.dir);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
	assert_int_equal(sqlite3_open_v2(path, &c, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(c, 2000);
	if (sqlite3_prepare_v2(c, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(c));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(c);
	return v;
}

/* The daemon's part of a level change, reduced to its alert: one outbox row. Checks that
 * the change is not committed before it (it commits with the row). */
static int nalerts;
static long long history_before;

static void
queue_alert(void *arg, long c, enum risk_level level, enum risk_level previous, int64_t event)
{
	struct fx *f = arg;
	struct store_outbox o = { .kind = "mail", .level = risk_level_name(level),
	    .created = 1, .next_try = 1, .subject = "level change",
	    .recipients = "desk@example.net", .payload = "body" };
	char err[256] = "";

	(void)previous;
	o.customer = customers_get(model_customers(f->mf.m), (size_t)c)->id;
	assert_true(event > 0);
	assert_int_equal(committed(f, "flag_history"), history_before);
	if (store_outbox_add(f->mf.st, &o, NULL, err, sizeof err) == -1)
		fail_msg("store_outbox_add: %s", err);
	nalerts++;
}

/* A SIGKILL between the level change and its alert. */
static void
die_in_flag(void *arg, long c, enum risk_level level, enum risk_level previous,
    int64_t event)
{
	(void)arg;
	(void)c;
	(void)level;
	(void)previous;
	(void)event;
	_exit(0);
}

/* The child: the model at T0, a listing, the tick that changes 4711's level; it dies in the
 * flag callback. No cmocka in here (a failed assert would run the other tests in the
 * child): exit codes. */
static void __attribute__((noreturn))
child_change(struct fx *f)
{
	struct model_env env;
	struct store *st = NULL;
	struct listings *li;
	struct traffic *tr = traffic_new(1000, 2);
	struct model *m;
	struct dnsbl_result r;
	char err[512];

	if (tr == NULL || store_open(f->mf.dir, &st, err, sizeof err) == -1 ||
	    (li = listings_open(st, err, sizeof err)) == NULL)
		_exit(2);
	memset(&env, 0, sizeof env);
	env.store = st;
	env.traffic = tr;
	env.listings = li;
	env.flag = die_in_flag;
	if ((m = model_new(&env, &f->mf.rc, f->mf.p, f->mf.c, f->mf.ls, T0, err,
	    sizeof err)) == NULL)
		_exit(3);
	memset(&r, 0, sizeof r);
	r.list = dnsbl_lists_find(f->mf.ls, "uceprotect-1");
	r.status = DNSBL_LISTED;
	r.codes[0] = 0x7f000002;
	r.ncodes = 1;
	r.ttl = 300;
	if (model_tick(m, T0 + 10) == -1 || model_tick(m, T0 + 65) == -1 ||
	    listings_apply(li, "203.0.113.5", &r, T0 + 70, err, sizeof err) != LISTING_LISTED)
		_exit(4);
	model_tick(m, T0 + 70);		/* the change: dies in the callback */
	_exit(5);
}

/* BUG (fixed): the level change was committed on its own, then the daemon's callback
 * queued the alert (and the hook's audit row) in commits of their own. A kill between them
 * kept the change and lost the alert for good: at the restart the level is already the new
 * one, so nothing raises it again. Now the change commits with what it sets off: the kill
 * keeps neither, and the restart records the change again and queues its alert, once. */
static void
test_kill_between_change_and_alert(void **state)
{
	struct fx *f = *state;
	int status;
	pid_t pid;

	open_model(f, T0);	/* the store exists: the child only opens it */
	close_model(f);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child_change(f);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);	/* it died in the callback */
	/* what the kill left: the listing (durable before the tick), not the change */
	assert_int_equal(committed(f, "listing_event"), 1);
	assert_int_equal(committed(f, "flag_history"), 0);
	assert_int_equal(committed(f, "outbox"), 0);

	f->mf.flag = queue_alert;
	nalerts = 0;
	history_before = 0;
	open_model(f, T0 + 75);
	assert_int_equal(tick(f, T0 + 75), 1);
	assert_int_equal(mf_level(&f->mf, "4711"), RISK_WATCH);
	assert_int_equal(nalerts, 1);
	assert_int_equal(committed(f, "flag_history"), 1);
	assert_int_equal(committed(f, "outbox"), 1);
	assert_string_equal(history(f, "4711"), "watch<none");
	/* a second listing: the next change, committed with its alert again */
	history_before = 1;
	assert_int_equal(list_key(f, "uceprotect-1", "203.0.113.6", 1, T0 + 80),
	    LISTING_LISTED);
	assert_int_equal(tick(f, T0 + 80), 1);
	assert_int_equal(nalerts, 2);
	assert_int_equal(committed(f, "flag_history"), 2);
	assert_int_equal(committed(f, "outbox"), 2);
	close_model(f);
	f->mf.flag = NULL;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_minute_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_minute_sliced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_burst, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listing_levels_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_customer_figures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_risk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_between_change_and_alert, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
