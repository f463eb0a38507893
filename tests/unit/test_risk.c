/*
 * test_risk.c — unit tests of the risk engine on hand-built histories: thresholds by
 * prefix length (a /28 allocation listed on one impact, a /23 at 6), impacts leaving the
 * window exactly window seconds after last seen, the per-IP baseline (steady is not
 * suspect, 10x is), ranking by contribution x blast radius, an innocent customer in a hot
 * range never flagged, the ASN SPAMSCORE, an escalated neighbourhood naming its
 * contributors, forecasts both ways with exact times, a range's impacts leaving one by
 * one (pressure and level stepping down), and the persisted per-IP state: a restart that
 * changes no evaluation, dirty marks, the first snapshot after an import, bad states. The
 * provider space and the customers are small files written into a fresh folder per test.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "addr.h"
#include "customers.h"
#include "prefixes.h"
#include "risk.h"
#include "testfiles.h"

#define T0	1717200000LL	/* 2024-06-01 00:00 UTC */
#define DAY	86400LL
#define WEEK	(7 * DAY)

static const char PREFIXES[] =
    "# test space\n"
    "203.0.113.0/24 64500\n"
    "198.51.100.0/22 64500\n"
    "198.51.100.0/23 64500 alloc\n"
    "192.0.2.0/24 64500\n"
    "192.0.2.0/28 64500 alloc\n"
    "100.64.0.0/22 64501\n"
    "44.0.0.0/12 64502\n";

static const char CUSTOMERS[] =
    "id,name,cidrs,contact,tags\n"
    "4711,Acme VPS,203.0.113.0/28,a@example.net,\n"
    "100,Innocent,203.0.113.64/26,b@example.net,\n"
    "200,Big,203.0.113.128/25,c@example.net,\n"
    "300,Tiny,192.0.2.0/28,d@example.net,\n"
    "400,Other,192.0.2.16/28,e@example.net,\n"
    "500,Spam ASN,100.64.0.0/22,f@example.net,\n";

struct fx {
	char dir[64];
	struct prefixes *p;
	struct customers *c;
	struct risk *r;
	struct risk_config cfg;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char path[128], err[256];

	if (f == NULL || testdir_make(f->dir, sizeof f->dir, "risk") == -1)
		return -1;
	snprintf(path, sizeof path, "%s/prefixes.txt", f->dir);
	write_file(path, PREFIXES, sizeof PREFIXES - 1);
	if (prefixes_load(path, &f->p, err, sizeof err) == -1) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	snprintf(path, sizeof path, "%s/customers.csv", f->dir);
	write_file(path, CUSTOMERS, sizeof CUSTOMERS - 1);
	if (customers_load(path, &f->c, err, sizeof err) == -1) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	risk_config_init(&f->cfg);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	risk_free(f->r);
	customers_free(f->c);
	prefixes_free(f->p);
	testdir_remove(f->dir);
	free(f);
	return 0;
}

/* The engine from f->cfg over the test space. */
static struct risk *
engine(struct fx *f)
{
	char err[256];

	f->r = risk_new(&f->cfg, err, sizeof err);
	if (f->r == NULL)
		fail_msg("risk_new: %s", err);
	if (risk_set_space(f->r, f->p, f->c, err, sizeof err) == -1)
		fail_msg("risk_set_space: %s", err);
	return f->r;
}

static struct rw_addr
A(const char *s)
{
	struct rw_addr a;

	if (addr_parse(s, &a) == -1)
		fail_msg("bad test address %s", s);
	return a;
}

static void
list1(struct risk *r, const char *ip, int listed, int64_t first, int64_t last)
{
	struct rw_addr a = A(ip);

	assert_int_equal(risk_listing(r, "uceprotect-1", &a, listed, first, last), 0);
}

static const struct risk_flag *
flag_of(struct fx *f, const char *id)
{
	return risk_flag_of(f->r, customers_find(f->c, id));
}

static int
evidence_has(const struct risk_flag *fl, const char *s)
{
	size_t i;

	for (i = 0; i < fl->nevidence; i++)
		if (strstr(fl->evidence[i], s) != NULL)
			return 1;
	for (i = 0; i < fl->nevidence; i++)
		fprintf(stderr, "  evidence: %s\n", fl->evidence[i]);
	return 0;
}

static void
test_thresholds(void **state)
{
	struct risk_policy p;
	static const uint32_t want[] = {
		[32] = 1, [28] = 1, [27] = 1, [26] = 2, [25] = 3, [24] = 4, [23] = 6, [22] = 9,
		[21] = 13, [20] = 19, [19] = 28, [18] = 41, [17] = 60, [16] = 88,
	};
	unsigned n;

	(void)state;
	risk_policy_init(&p, "uceprotect-2", RISK_SCOPE_RANGE);
	for (n = 16; n <= 32; n++)
		if (want[n] != 0)
			assert_int_equal(risk_range_threshold(&p, n, 0), want[n]);
	assert_int_equal(risk_range_threshold(&p, 48, 1), 4);	/* v6 /48 like a /24 */
	/* an override at /24 carries upward through the recurrence; /25 stays */
	assert_int_equal(risk_policy_set_threshold(&p, 24, 5), 0);
	assert_int_equal(risk_range_threshold(&p, 24, 0), 5);
	assert_int_equal(risk_range_threshold(&p, 23, 0), 7);
	assert_int_equal(risk_range_threshold(&p, 25, 0), 3);
	/* an override of a long one is kept when another changes */
	assert_int_equal(risk_policy_set_threshold(&p, 11, 651), 0);
	assert_int_equal(risk_policy_set_threshold(&p, 24, 4), 0);
	assert_int_equal(risk_range_threshold(&p, 11, 0), 651);
	assert_int_equal(risk_range_threshold(&p, 23, 0), 6);
	assert_int_equal(risk_policy_set_threshold(&p, 40, 1), -1);
	/* ASN: at least 50, and SPAMSCORE 50 = 0.05 % of the ASN's space */
	risk_policy_init(&p, "uceprotect-3", RISK_SCOPE_ASN);
	assert_int_equal(risk_asn_threshold(&p, 1024), 50);
	assert_int_equal(risk_asn_threshold(&p, 65536), 50);
	assert_int_equal(risk_asn_threshold(&p, 1048576), 525);
	assert_int_equal(risk_asn_threshold(&p, 1000000), 500);
}

static void
test_alloc_thresholds(void **state)
{
	struct fx *f = *state;
	struct risk *r = engine(f);
	const struct risk_nb_view *v;
	const struct risk_flag *fl;
	int64_t now = T0 + DAY;

	list1(r, "192.0.2.5", 1, now - 600, now - 60);
	list1(r, "198.51.101.9", 1, now - 600, now - 60);
	assert_int_equal(risk_evaluate(r, now), 0);
	v = risk_nb_find(r, "uceprotect-2", "192.0.2.0/28");
	assert_non_null(v);
	assert_int_equal(v->threshold, 1);
	assert_int_equal(v->impacts, 1);
	assert_true(v->pressure == 1.0);
	v = risk_nb_find(r, "uceprotect-2", "198.51.100.0/23");
	assert_non_null(v);
	assert_int_equal(v->threshold, 6);
	fl = flag_of(f, "300");
	assert_non_null(fl);
	assert_int_equal(fl->level, RISK_ACT);
	assert_true(evidence_has(fl, "range 192.0.2.0/28 at 1 of 1 impacts toward uceprotect-2"));
	assert_true(evidence_has(fl, "192.0.2.5 listed on uceprotect-1 since 2024-06-01 23:50 UTC"));
}

static void
test_window(void **state)
{
	struct fx *f = *state;
	struct risk *r = engine(f);
	const struct risk_nb_view *v;

	/* delisted; last seen listed at T0 */
	list1(r, "203.0.113.3", 0, T0 - DAY, T0);
	assert_int_equal(risk_evaluate(r, T0 + WEEK - 1), 0);
	v = risk_nb_find(r, "uceprotect-2", "203.0.113.0/24");
	assert_non_null(v);
	assert_int_equal(v->impacts, 1);
	assert_int_equal(v->clear_all_at, T0 + WEEK);
	assert_int_equal(risk_evaluate(r, T0 + WEEK), 0);
	assert_null(risk_nb_find(r, "uceprotect-2", "203.0.113.0/24"));
	assert_null(flag_of(f, "4711"));
	/* a listing seen again moves its end */
	list1(r, "203.0.113.3", 1, T0 - DAY, T0 + WEEK);
	assert_int_equal(risk_evaluate(r, T0 + 2 * WEEK - 1), 0);
	assert_non_null(risk_nb_find(r, "uceprotect-2", "203.0.113.0/24"));
	assert_int_equal(risk_evaluate(r, T0 + 2 * WEEK), 0);
	assert_null(risk_nb_find(r, "uceprotect-2", "203.0.113.0/24"));
}

/* Feeds ip per_10min connections every 10 minutes over [from, to). */
static void
send_steady(struct risk *r, const char *ip, struct risk_counters *c, int64_t from, int64_t to,
    uint32_t per_10min)
{
	struct rw_addr a = A(ip);
	int64_t t;

	for (t = from; t < to; t += 600) {
		c->connections += per_10min;
		c->rcpt += per_10min;
		c->distinct_dst += 1;
		assert_int_equal(risk_observe(r, &a, c, t), 0);
	}
}

static void
test_baseline(void **state)
{
	struct fx *f = *state;
	struct risk *r;
	struct risk_counters c = { 0 }, q = { 0 };
	struct rw_addr a = A("203.0.113.70");
	unsigned rules;
	const struct risk_flag *fl;

	f->cfg.conn_per_hour = 1000000;	/* the rate rule alone */
	f->cfg.rcpt_per_hour = 1000000;
	r = engine(f);
	/* two days at 120/h: not suspect */
	send_steady(r, "203.0.113.70", &c, T0, T0 + 2 * DAY, 20);
	send_steady(r, "203.0.113.80", &q, T0, T0 + 2 * DAY, 20);
	assert_int_equal(risk_evaluate(r, T0 + 2 * DAY - 600), 0);
	assert_int_equal(risk_ip_suspect(r, &a, &rules), 0);
	assert_null(flag_of(f, "100"));
	/* the next hour at 10x: suspect on the rate rule; the other IP keeps steady */
	send_steady(r, "203.0.113.70", &c, T0 + 2 * DAY, T0 + 2 * DAY + 3600, 200);
	send_steady(r, "203.0.113.80", &q, T0 + 2 * DAY, T0 + 2 * DAY + 3600, 20);
	assert_int_equal(risk_evaluate(r, T0 + 2 * DAY + 3000), 0);
	assert_int_equal(risk_ip_suspect(r, &a, &rules), 1);
	assert_int_equal(rules, RISK_R_RATE);
	a = A("203.0.113.80");
	assert_int_equal(risk_ip_suspect(r, &a, NULL), 0);
	fl = flag_of(f, "100");
	assert_non_null(fl);
	/* far over its own history: warn, on weak evidence (never act on volume) */
	assert_int_equal(fl->level, RISK_WARN);
	assert_int_equal(fl->suspect_ips, 1);
	assert_int_equal(fl->strong_ips, 0);
	assert_true(evidence_has(fl, "warn: sending far above its own history (weak evidence"));
	assert_true(evidence_has(fl, "own baseline 120/h"));
	assert_true(evidence_has(fl, "weak evidence, likelihood 0.20"));
	assert_true(evidence_has(fl, "range 203.0.113.0/24 at 0 of 4 impacts toward "
	    "uceprotect-2 (+1 suspect not yet listed, likelihood 0.20; about 0.2 estimated "
	    "trap hits: projected 0.05)"));
}

static void
test_ranking_and_innocent(void **state)
{
	struct fx *f = *state;
	struct risk *r = engine(f);
	struct risk_counters c = { 0 };
	const struct risk_flag *fl;
	int64_t now = T0 + 3 * DAY;
	int i;

	for (i = 1; i <= 4; i++) {
		char ip[32];
		snprintf(ip, sizeof ip, "203.0.113.%d", i);
		list1(r, ip, 1, now - DAY, now - 60);
	}
	list1(r, "192.0.2.3", 1, now - DAY, now - 60);	/* 300: its /28 alloc */
	list1(r, "192.0.2.17", 1, now - DAY, now - 60);	/* 400: a /24, 1 of 4 */
	/* the innocent neighbour sends steadily in the hot range */
	send_steady(r, "203.0.113.70", &c, now - 2 * DAY, now, 20);
	assert_int_equal(risk_evaluate(r, now), 0);

	assert_int_equal(risk_flag_count(r), 3);
	fl = risk_flag_at(r, 0);
	assert_string_equal(customers_get(f->c, (size_t)fl->customer)->id, "4711");
	assert_int_equal(fl->level, RISK_ACT);
	/* range: 4 x (64 + 128) others; ASN: 4 x (240 - 16) others */
	assert_true(fl->score == 4.0 * 192 + 4.0 * 224);
	assert_true(evidence_has(fl, "range 203.0.113.0/24 at 4 of 4 impacts toward "
	    "uceprotect-2; this customer adds 4.0; 192 other customers' IPs would be listed"));
	assert_true(evidence_has(fl, "act: strong evidence on 4 IPs and range 203.0.113.0/24 "
	    "at 100% of its threshold"));
	assert_true(evidence_has(fl, "ASN 64500 at 6 of 50 impacts toward uceprotect-3, "
	    "spamscore 390.6"));
	fl = risk_flag_at(r, 1);
	assert_string_equal(customers_get(f->c, (size_t)fl->customer)->id, "300");
	assert_int_equal(fl->level, RISK_ACT);
	assert_true(fl->score == 0 + 224.0);
	fl = risk_flag_at(r, 2);
	assert_string_equal(customers_get(f->c, (size_t)fl->customer)->id, "400");
	assert_int_equal(fl->level, RISK_WATCH);
	/* the innocent ones are not flagged at all */
	assert_null(flag_of(f, "100"));
	assert_null(flag_of(f, "200"));
}

static void
test_asn_spamscore(void **state)
{
	struct fx *f = *state;
	struct risk *r = engine(f);
	const struct risk_nb_view *v;
	struct rw_addr a = A("44.0.0.1");
	int64_t now = T0 + DAY;
	int i;

	for (i = 1; i <= 49; i++) {
		char ip[32];
		snprintf(ip, sizeof ip, "100.64.%d.%d", i / 200, i % 200 + 1);
		list1(r, ip, 1, now - 3600, now - 60);
	}
	assert_int_equal(risk_listing(r, "uceprotect-1", &a, 1, now - 3600, now), 0);
	assert_int_equal(risk_evaluate(r, now), 0);
	v = risk_nb_find(r, "uceprotect-3", "AS64501");
	assert_non_null(v);
	assert_int_equal(v->ips, 1024);
	assert_int_equal(v->threshold, 50);
	assert_int_equal(v->impacts, 49);
	assert_true(v->pressure == 0.98);
	assert_true(v->spamscore == 4785.2);	/* 49 / 1024 x 100000, one decimal */
	assert_int_equal(flag_of(f, "500")->level, RISK_ACT);
	v = risk_nb_find(r, "uceprotect-3", "AS64502");
	assert_non_null(v);
	assert_int_equal(v->threshold, 525);	/* 0.05 % of a /12 */
	assert_true(v->spamscore == 0.1);
	list1(r, "100.64.3.3", 1, now - 3600, now - 60);
	assert_int_equal(risk_evaluate(r, now), 0);
	v = risk_nb_find(r, "uceprotect-3", "AS64501");
	assert_int_equal(v->impacts, 50);
	assert_true(v->pressure == 1.0);
	assert_true(v->spamscore == 4882.8);
}

static void
test_escalated(void **state)
{
	struct fx *f = *state;
	struct risk *r = engine(f);
	const struct risk_nb_view *v;
	const struct risk_flag *fl;
	char err[256];
	int64_t now = T0 + DAY;

	list1(r, "203.0.113.5", 1, now - 7200, now - 60);
	assert_int_equal(risk_nb_listing(r, "uceprotect-2", "203.0.113.0/24", 1, now - 3600,
	    "Net 203.0.113.0/24 is UCEPROTECT-Level2 listed because 7 abusers are hosted by "
	    "Acme/AS64500 there.", err, sizeof err), 0);
	assert_int_equal(risk_nb_listing(r, "uceprotect-2", "not a key", 1, now, NULL, err,
	    sizeof err), -1);
	assert_int_equal(risk_evaluate(r, now), 0);
	v = risk_nb_find(r, "uceprotect-2", "203.0.113.0/24");
	assert_non_null(v);
	assert_int_equal(v->escalated, 1);
	assert_int_equal(v->list_count, 7);
	assert_int_equal(v->impacts, 1);
	fl = flag_of(f, "4711");
	assert_non_null(fl);
	assert_int_equal(fl->level, RISK_ACT);	/* escalated and a contributor */
	assert_true(evidence_has(fl, "range 203.0.113.0/24 is listed on uceprotect-2 since "
	    "2024-06-01 23:00 UTC (escalated; the list counts 7 abusers); 1 of 4 impacts in "
	    "our view; contributors: customer 4711 Acme VPS (1 IP)"));
	assert_null(flag_of(f, "100"));		/* listed with the range, contributes nothing */
	assert_null(flag_of(f, "200"));
	/* delisted: no longer escalated */
	assert_int_equal(risk_nb_listing(r, "uceprotect-2", "203.0.113.0/24", 0, 0, NULL, err,
	    sizeof err), 0);
	assert_int_equal(risk_evaluate(r, now), 0);
	assert_int_equal(flag_of(f, "4711")->level, RISK_WATCH);
}

static void
test_forecasts(void **state)
{
	struct fx *f = *state;
	struct risk *r = engine(f);
	const struct risk_nb_view *v;
	int64_t now = T0 + 10 * DAY;

	/* two fresh impacts in the last 24 h: 2 more needed at 2 a day */
	list1(r, "203.0.113.1", 1, now - 3600, now - 600);
	list1(r, "203.0.113.2", 1, now - 7200, now - 1200);
	assert_int_equal(risk_evaluate(r, now), 0);
	v = risk_nb_find(r, "uceprotect-2", "203.0.113.0/24");
	assert_int_equal(v->impacts, 2);
	assert_int_equal(v->eta_threshold, now + DAY);
	assert_int_equal(v->clear_at, 0);
	assert_int_equal(v->clear_all_at, now - 600 + WEEK);
	/* one fresh impact: 2 more at one a day */
	list1(r, "203.0.113.2", 0, now - 3 * DAY, now - 2 * DAY);
	assert_int_equal(risk_evaluate(r, now), 0);
	v = risk_nb_find(r, "uceprotect-2", "203.0.113.0/24");
	assert_int_equal(v->eta_threshold, now + 2 * DAY);
	/* no fresh impact: no rate */
	list1(r, "203.0.113.1", 1, now - 2 * DAY, now - 600);
	assert_int_equal(risk_evaluate(r, now), 0);
	v = risk_nb_find(r, "uceprotect-2", "203.0.113.0/24");
	assert_int_equal(v->eta_threshold, -1);
	/* at 5 of 4: below threshold once the two oldest have left */
	list1(r, "203.0.113.3", 0, now - 4 * DAY, now - 3 * DAY);
	list1(r, "203.0.113.4", 0, now - 5 * DAY, now - 5 * DAY + 100);
	list1(r, "203.0.113.6", 1, now - 4 * DAY, now - 60);
	assert_int_equal(risk_evaluate(r, now), 0);
	v = risk_nb_find(r, "uceprotect-2", "203.0.113.0/24");
	assert_int_equal(v->impacts, 5);
	assert_int_equal(v->eta_threshold, 0);
	assert_int_equal(v->clear_at, now - 3 * DAY + WEEK);
	assert_int_equal(v->clear_all_at, now - 60 + WEEK);
}

/* An impact listed at day 0 and delisted at day 1 still counts at day 7 and leaves exactly
 * 7 days after it was last seen listed; as the impacts of a hot range leave one by one, its
 * pressure steps down and the customer's level falls from act to warn to watch to none. */
static void
test_window_slides(void **state)
{
	struct fx *f = *state;
	struct risk *r = engine(f);
	const struct risk_nb_view *v;
	static const struct {
		int64_t at;
		uint32_t impacts;
		enum risk_level level;
	} step[] = {
		{ T0 + WEEK, 4, RISK_ACT },		/* day 7: all four still count */
		{ T0 + 8 * DAY - 1, 4, RISK_ACT },
		{ T0 + 8 * DAY, 3, RISK_WARN },		/* .4 (last seen day 1) left */
		{ T0 + 10 * DAY - 1, 3, RISK_WARN },
		{ T0 + 10 * DAY, 2, RISK_WARN },	/* 2 of 4 is warn_at exactly */
		{ T0 + 12 * DAY - 1, 2, RISK_WARN },
		{ T0 + 12 * DAY, 1, RISK_WATCH },
		{ T0 + 13 * DAY - 1, 1, RISK_WATCH },
		{ T0 + 13 * DAY, 0, RISK_NONE },
	};
	size_t i;

	list1(r, "203.0.113.4", 0, T0, T0 + DAY);	/* listed day 0, delisted day 1 */
	list1(r, "203.0.113.3", 0, T0, T0 + 3 * DAY);
	list1(r, "203.0.113.2", 0, T0, T0 + 5 * DAY);
	list1(r, "203.0.113.1", 0, T0, T0 + 6 * DAY);
	for (i = 0; i < sizeof step / sizeof step[0]; i++) {
		const struct risk_flag *fl;
		assert_int_equal(risk_evaluate(r, step[i].at), 0);
		v = risk_nb_find(r, "uceprotect-2", "203.0.113.0/24");
		fl = flag_of(f, "4711");
		if (step[i].impacts == 0) {
			assert_null(v);
			assert_null(fl);
			assert_int_equal(risk_flag_count(r), 0);
			continue;
		}
		assert_non_null(v);
		assert_int_equal(v->impacts, step[i].impacts);
		assert_int_equal(v->suspects, 0);
		assert_true(v->pressure == step[i].impacts / 4.0);
		assert_true(v->projected == v->pressure);
		assert_int_equal(v->clear_all_at, T0 + 13 * DAY);
		assert_non_null(fl);
		assert_int_equal(fl->level, step[i].level);
		assert_int_equal(fl->listed_ips, 0);	/* all delisted: impacts by window only */
		/* at threshold, the one delisted at day 1 is what holds it there */
		assert_int_equal(v->clear_at, step[i].impacts == 4 ? T0 + DAY + WEEK : 0);
	}
}

/* An innocent customer whose only IP sends normally (steadily, and with a nightly batch)
 * in a range at pressure >= act_at is never flagged, hour after hour; a listing of its IP
 * on a list that feeds no policy makes it watch, never more. */
static void
test_innocent_hot_range(void **state)
{
	struct fx *f = *state;
	struct risk *r = engine(f);
	struct risk_counters c = { 0 }, q = { 0 };
	struct rw_addr inn = A("203.0.113.70"), big = A("203.0.113.200");
	const struct risk_nb_view *v;
	const struct risk_flag *fl;
	int64_t t;
	int i, evals = 0;

	for (i = 1; i <= 4; i++) {
		char ip[32];
		snprintf(ip, sizeof ip, "203.0.113.%d", i);
		list1(r, ip, 1, T0 + DAY, T0 + 5 * DAY);
	}
	for (t = T0; t < T0 + 5 * DAY; t += 600) {
		unsigned hod = (unsigned)((t - T0) / 3600 % 24);
		c.connections += 20;		/* 120/h */
		c.rcpt += 30;
		c.distinct_dst += 2;
		assert_int_equal(risk_observe(r, &inn, &c, t), 0);
		q.connections += hod == 2 ? 50 : 5;	/* 30/h, 300 in the 02:00 batch */
		q.rcpt += hod == 2 ? 100 : 5;
		q.distinct_dst += hod == 2 ? 30 : 1;
		assert_int_equal(risk_observe(r, &big, &q, t), 0);
		if (t < T0 + DAY || (t - T0) % 3600 != 3000)
			continue;
		assert_int_equal(risk_evaluate(r, t), 0);
		evals++;
		v = risk_nb_find(r, "uceprotect-2", "203.0.113.0/24");
		assert_non_null(v);
		assert_true(v->projected >= f->cfg.act_at);
		assert_int_equal(flag_of(f, "4711")->level, RISK_ACT);
		assert_int_equal(risk_ip_suspect(r, &inn, NULL), 0);
		assert_int_equal(risk_ip_suspect(r, &big, NULL), 0);
		assert_null(flag_of(f, "100"));
		assert_null(flag_of(f, "200"));
	}
	assert_int_equal(evals, 4 * 24);
	/* listed on a list that is nobody's impact: a single listing, watch */
	assert_int_equal(risk_listing(r, "spamcop", &inn, 1, t - 3600, t), 0);
	assert_int_equal(risk_evaluate(r, t), 0);
	fl = flag_of(f, "100");
	assert_non_null(fl);
	assert_int_equal(fl->level, RISK_WATCH);
	assert_int_equal(fl->listed_ips, 1);
	assert_int_equal(fl->strong_ips, 0);	/* no policy counts that list */
	assert_null(flag_of(f, "200"));
}


/* ------------------------------------------------------------ the evidence model */

static void obs(struct risk *r, const char *ip, const struct risk_counters *c, int64_t t);

/* A quiet engine: one unrelated sender observed from T0 on, so the engine's clock starts
 * there and its learning period (baseline_hours) ends at T0 + 1 day. */
static void
learn(struct risk *r, int64_t until)
{
	struct risk_counters c = { 0 };

	send_steady(r, "198.51.100.200", &c, T0, until, 1);
}

/* Adds one burst step to c and observes it. */
static void
burst(struct risk *r, const char *ip, struct risk_counters *c, int64_t t, uint32_t conn,
    uint32_t rcpt, uint32_t r5, uint32_t cited, uint32_t dst)
{
	c->connections += conn;
	c->rcpt += rcpt;
	c->replies_5xx += r5;
	c->cited += cited;
	c->distinct_dst += dst;
	obs(r, ip, c, t);
}

static int
reason_has(const struct risk_flag *fl, const char *s)
{
	if (strstr(fl->reason, s) != NULL)
		return 1;
	fprintf(stderr, "  reason: %s\n", fl->reason);
	return 0;
}

/* A hacked idle VPS: first seen after the learning period (so silent all that time), it
 * sends 1,500 sessions an hour; remote servers reject a third, naming UCEPROTECT Level 1.
 * Within minutes: provisional impact, strong evidence, the /24's threshold within the
 * horizon at its pace, act, long before 4 listed IPs. DNS then confirms: an impact. */
static void
test_burst_reported(void **state)
{
	struct fx *f = *state;
	struct risk *r = engine(f);
	struct risk_counters c = { 0 };
	struct rw_addr a = A("203.0.113.7");
	const struct risk_nb_view *v;
	const struct risk_flag *fl;
	int64_t t0 = T0 + 2 * DAY, t;
	unsigned rules;

	learn(r, t0);
	obs(r, "203.0.113.7", &c, t0);
	/* two minutes: 50 sessions, no rejection yet: a rate far over its own (zero) */
	burst(r, "203.0.113.7", &c, t0 + 120, 50, 200, 0, 0, 50);
	assert_int_equal(risk_evaluate(r, t0 + 120), 0);
	assert_int_equal(risk_ip_suspect(r, &a, &rules), 1);
	assert_true(rules & RISK_R_RATE);
	fl = flag_of(f, "4711");
	assert_int_equal(fl->level, RISK_WARN);
	assert_int_equal(fl->strong_ips, 0);
	/* then the rejections naming the list, minute by minute */
	for (t = t0 + 180; t <= t0 + 600; t += 60) {
		burst(r, "203.0.113.7", &c, t, 25, 100, 33, 30, 25);
		assert_int_equal(risk_reported(r, "uceprotect-1", &a, 10, t), 0);
	}
	assert_int_equal(risk_evaluate(r, t0 + 600), 0);
	assert_int_equal(risk_ip_provisional(r, "uceprotect-1", &a), 1);
	v = risk_nb_find(r, "uceprotect-2", "203.0.113.0/24");
	assert_non_null(v);
	assert_int_equal(v->impacts, 0);
	assert_int_equal(v->provisional, 1);
	assert_true(v->pace > 0);
	assert_true(v->eta_threshold > t0 + 600 && v->eta_threshold < t0 + 600 + 6 * 3600);
	fl = flag_of(f, "4711");
	assert_int_equal(fl->level, RISK_ACT);
	assert_int_equal(fl->strong_ips, 1);
	assert_true(reason_has(fl, "act: strong evidence, and range 203.0.113.0/24 reaches "
	    "its uceprotect-2 threshold in about"));
	assert_true(evidence_has(fl, "203.0.113.7 reported as listed on uceprotect-1 by 80 "
	    "remote replies since"));
	assert_true(evidence_has(fl, "not yet seen in DNS"));
	assert_true(evidence_has(fl, "(+1 reported listed, not yet in DNS;"));
	/* DNS confirms: an impact, no longer provisional; still act */
	list1(r, "203.0.113.7", 1, t0 + 660, t0 + 660);
	assert_int_equal(risk_evaluate(r, t0 + 660), 0);
	v = risk_nb_find(r, "uceprotect-2", "203.0.113.0/24");
	assert_int_equal(v->impacts, 1);
	assert_int_equal(v->provisional, 0);
	assert_true(v->estimated >= 1);
	assert_int_equal(flag_of(f, "4711")->level, RISK_ACT);
}

/* Trap hits, not IPs: a listed IP that keeps sending adds estimated impacts (1 per
 * spam_per_impact accepted recipients above its usual peak); the lower bound stays 1. A
 * range list stating its own count calibrates the estimate for the next evaluation. */
static void
test_estimate_and_calibration(void **state)
{
	struct fx *f = *state;
	struct risk *r = engine(f);
	struct risk_counters c = { 0 };
	const struct risk_nb_view *v;
	char err[256];
	int64_t t0 = T0 + 2 * DAY, t;
	double est;

	learn(r, t0);
	obs(r, "203.0.113.7", &c, t0);
	list1(r, "203.0.113.7", 1, t0, t0);
	/* 3,000 recipients accepted within the hour (none rejected): 3 estimated hits */
	for (t = t0 + 60; t <= t0 + 600; t += 60)
		burst(r, "203.0.113.7", &c, t, 75, 300, 0, 0, 60);
	assert_int_equal(risk_evaluate(r, t0 + 600), 0);
	v = risk_nb_find(r, "uceprotect-2", "203.0.113.0/24");
	assert_int_equal(v->impacts, 1);
	assert_true(fabs(v->estimated - 3.0) < 1e-6);
	assert_true(v->projected == 0.75);
	assert_true(v->calibration == 1);
	/* the list says 6 abusers where we estimate 3: twice the rate from now on */
	assert_int_equal(risk_nb_listing(r, "uceprotect-2", "203.0.113.0/24", 1, t0 + 600,
	    "Net 203.0.113.0/24 is UCEPROTECT-Level2 listed because 6 abusers are hosted by "
	    "Example/AS64500 there.", err, sizeof err), 0);
	assert_int_equal(risk_evaluate(r, t0 + 600), 0);
	assert_int_equal(risk_evaluate(r, t0 + 600), 0);
	v = risk_nb_find(r, "uceprotect-2", "203.0.113.0/24");
	assert_true(fabs(v->calibration - 2.0) < 1e-6);
	{
		struct rw_addr a = A("203.0.113.7");
		double p;
		risk_ip_score(r, &a, &p, &est);
		assert_true(fabs(est - 6.0) < 1e-6);
		assert_true(p > 0);
	}
	assert_true(fabs(v->estimated - 6.0) < 1e-6);
	assert_true(evidence_has(flag_of(f, "4711"), "calibrated x2.00 by the list's own "
	    "counts"));
}

/* Volume alone never acts: a customer's eight new IPs (no history, in the learning
 * period) sending 5,000 connections and 400 new destinations an hour each, with a few
 * percent of bounces, reach warn on their share of the range, never act. */
static void
test_volume_never_acts(void **state)
{
	struct fx *f = *state;
	struct risk *r = engine(f);
	struct risk_counters c[8];
	int64_t t;
	int i;

	memset(c, 0, sizeof c);
	for (t = T0; t <= T0 + 3 * 3600; t += 300)
		for (i = 0; i < 8; i++) {
			char ip[32];
			snprintf(ip, sizeof ip, "203.0.113.%d", 1 + i);
			burst(r, ip, &c[i], t, 420, 840, 25, 0, 35);
		}
	assert_int_equal(risk_evaluate(r, T0 + 3 * 3600), 0);
	assert_int_equal(flag_of(f, "4711")->level, RISK_WARN);
	assert_int_equal(flag_of(f, "4711")->strong_ips, 0);
	assert_true(reason_has(flag_of(f, "4711"), "weak evidence only (no suspension)"));
}

/* A newsletter: a daily one-hour peak of 500 sessions to 250 new destinations from one IP;
 * from the second week on, for a week, the same peak is its history, never a spike (the
 * usual peak is refreshed by every peak that is not a spike, so it does not decay away). */
static void
test_daily_peak_is_history(void **state)
{
	struct fx *f = *state;
	struct risk *r = engine(f);
	struct risk_counters c = { 0 };
	struct rw_addr a = A("203.0.113.70");
	int64_t t;

	for (t = T0; t < T0 + 15 * DAY; t += 600) {
		int peak = (t - T0) / 3600 % 24 == 9;
		burst(r, "203.0.113.70", &c, t, peak ? 84 : 1, peak ? 168 : 1, peak ? 3 : 0, 0,
		    peak ? 42 : 1);
		if (t >= T0 + 7 * DAY && peak) {
			assert_int_equal(risk_evaluate(r, t), 0);
			assert_int_equal(risk_ip_suspect(r, &a, NULL), 0);
		}
	}
	assert_null(flag_of(f, "100"));
}

/* Replies naming the range-scope list say the escalation happened: the range shows it at
 * once; its impacts act; an innocent neighbour rejected with the same text contributes
 * nothing (the model takes those replies out of its rejections). */
static void
test_escalation_reported(void **state)
{
	struct fx *f = *state;
	struct risk *r = engine(f);
	struct rw_addr inn = A("203.0.113.70");
	const struct risk_nb_view *v;
	int64_t now = T0 + 2 * DAY;

	list1(r, "203.0.113.5", 1, now - 7200, now - 60);
	assert_int_equal(risk_reported(r, "uceprotect-2", &inn, 4, now - 120), 0);
	assert_int_equal(risk_evaluate(r, now), 0);
	v = risk_nb_find(r, "uceprotect-2", "203.0.113.0/24");
	assert_non_null(v);
	assert_int_equal(v->escalated, 0);
	assert_int_equal(v->reported, 1);
	assert_int_equal(v->reported_since, now - 120);
	assert_int_equal(flag_of(f, "4711")->level, RISK_ACT);
	assert_true(reason_has(flag_of(f, "4711"), "is reported listed by remote servers on "
	    "uceprotect-2"));
	assert_null(flag_of(f, "100"));
	assert_int_equal(risk_ip_provisional(r, "uceprotect-1", &inn), 0);
}

/* Classes: the same no-history sending (300 new destinations an hour, 15% bounces) is weak
 * evidence from an untagged customer and nothing from one tagged `bulk`, whose class
 * allows a bigger fan-out and bounce share. */
static void
test_classes(void **state)
{
	static const char CUS[] = "id,name,cidrs,contact,tags\n"
	    "1,Plain,203.0.113.1,a@b,\n2,Newsletter,203.0.113.2,a@b,vip bulk\n";
	struct fx *f = *state;
	struct customers *cs;
	struct risk *r;
	struct risk_counters a = { 0 }, b = { 0 };
	struct rw_addr x = A("203.0.113.1"), y = A("203.0.113.2");
	char path[128], err[256];
	unsigned rules;
	int64_t t;

	snprintf(path, sizeof path, "%s/cls.csv", f->dir);
	write_file(path, CUS, sizeof CUS - 1);
	assert_int_equal(customers_load(path, &cs, err, sizeof err), 0);
	f->cfg.nclasses = 1;
	snprintf(f->cfg.cls[0].name, sizeof f->cfg.cls[0].name, "bulk");
	f->cfg.cls[0].mx_per_hour = 2000;
	f->cfg.cls[0].reject_ratio_weak = 0.2;
	r = risk_new(&f->cfg, err, sizeof err);
	assert_non_null(r);
	assert_int_equal(risk_set_space(r, f->p, cs, err, sizeof err), 0);
	for (t = T0; t <= T0 + 3000; t += 600) {
		burst(r, "203.0.113.1", &a, t, 50, 100, 15, 0, 50);
		burst(r, "203.0.113.2", &b, t, 50, 100, 15, 0, 50);
	}
	assert_int_equal(risk_evaluate(r, T0 + 3000), 0);
	assert_int_equal(risk_ip_suspect(r, &x, &rules), 1);
	assert_int_equal(rules, RISK_R_FANOUT | RISK_R_REJECT);
	assert_int_equal(risk_ip_suspect(r, &y, &rules), 0);
	risk_free(r);
	customers_free(cs);
}

/* Hysteresis: at act with 4 of 4, the customer stays at act when one impact leaves the
 * window (3 of 4, past warn_at) while its listed IPs still hold; below warn_at it falls. */
static void
test_act_holds(void **state)
{
	struct fx *f = *state;
	struct risk *r = engine(f);
	const struct risk_flag *fl;
	int64_t t1 = T0 + 8 * DAY;

	list1(r, "203.0.113.1", 1, T0, T0 + DAY);
	list1(r, "203.0.113.2", 1, T0, T0 + DAY);
	list1(r, "203.0.113.3", 1, T0, T0 + DAY);
	list1(r, "203.0.113.4", 0, T0, T0);
	assert_int_equal(risk_evaluate(r, T0 + DAY), 0);
	assert_int_equal(flag_of(f, "4711")->level, RISK_ACT);
	list1(r, "203.0.113.1", 1, T0, t1);
	list1(r, "203.0.113.2", 1, T0, t1);
	list1(r, "203.0.113.3", 1, T0, t1);
	assert_int_equal(risk_evaluate(r, t1), 0);
	fl = flag_of(f, "4711");
	assert_int_equal(risk_nb_find(r, "uceprotect-2", "203.0.113.0/24")->impacts, 3);
	assert_int_equal(fl->level, RISK_ACT);
	assert_true(reason_has(fl, "act: stays at act: its strong evidence holds"));
	list1(r, "203.0.113.2", 0, T0, T0 + 1);
	list1(r, "203.0.113.3", 0, T0, T0 + 1);
	assert_int_equal(risk_evaluate(r, t1), 0);
	assert_int_equal(flag_of(f, "4711")->level, RISK_WATCH);
	/* a fresh engine sees 3 of 4 as warn: the hold is the only difference */
	risk_free(r);
	r = f->r = engine(f);
	list1(r, "203.0.113.1", 1, T0, t1);
	list1(r, "203.0.113.2", 1, T0, t1);
	list1(r, "203.0.113.3", 1, T0, t1);
	assert_int_equal(risk_evaluate(r, t1), 0);
	assert_int_equal(flag_of(f, "4711")->level, RISK_WARN);
}

/* A customer's new IP with no history of its own is judged against its other IPs: the
 * same sending as its established one is nothing; ten times it is a rate; and the same new
 * sending from a customer with no history at all is volume with no history. */
static void
test_customer_baseline(void **state)
{
	struct fx *f = *state;
	struct risk *r = engine(f);
	struct risk_counters a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
	struct rw_addr two = A("203.0.113.2"), three = A("203.0.113.3"), seven = A("198.51.100.7");
	int64_t t;
	unsigned rules;

	for (t = T0; t < T0 + 3 * DAY; t += 600)	/* 4711's established sender */
		burst(r, "203.0.113.1", &a, t, 60, 120, 1, 0, 40);
	obs(r, "203.0.113.2", &b, t);
	obs(r, "203.0.113.3", &c, t);
	obs(r, "198.51.100.7", &d, t);
	for (t += 600; t <= T0 + 3 * DAY + 3000; t += 600) {
		burst(r, "203.0.113.1", &a, t, 60, 120, 1, 0, 40);
		burst(r, "203.0.113.2", &b, t, 60, 120, 1, 0, 40);	/* like .1 */
		burst(r, "203.0.113.3", &c, t, 1000, 2000, 1, 0, 40);	/* 10x+ */
		burst(r, "198.51.100.7", &d, t, 60, 120, 1, 0, 40);	/* nobody's */
	}
	assert_int_equal(risk_evaluate(r, T0 + 3 * DAY + 3000), 0);
	assert_int_equal(risk_ip_suspect(r, &two, &rules), 0);
	assert_int_equal(risk_ip_suspect(r, &three, &rules), 1);
	assert_true(rules & RISK_R_RATE);
	assert_true(evidence_has(flag_of(f, "4711"), "judged against its customer's other IPs"));
	assert_int_equal(risk_ip_suspect(r, &seven, &rules), 1);
	assert_true(rules & RISK_R_FANOUT);
}

/* A flood of new addresses (5,000 unassigned ones of our space, one session each) through a
 * table of 1,000: the idlest make room, the table stays at its bound, and a customer's
 * spammer arriving next is tracked and flagged as usual; a listed IP is never pushed out.
 * A month idle, an IP with nothing against it is forgotten. */
static void
test_flood_eviction(void **state)
{
	struct fx *f = *state;
	struct risk *r;
	struct risk_counters c = { 0 }, one = { .connections = 1, .rcpt = 1, .distinct_dst = 1 };
	struct rw_addr a = A("203.0.113.7"), l = A("203.0.113.9");
	int64_t t0 = T0 + 2 * DAY;
	char ip[32];
	int i;

	f->cfg.max_ips = 1000;
	r = engine(f);
	learn(r, t0);
	list1(r, "203.0.113.9", 1, t0, t0);
	for (i = 0; i < 5000; i++) {
		struct rw_addr x;
		snprintf(ip, sizeof ip, "198.51.%d.%d", 101 + i / 250, 1 + i % 250);
		x = A(ip);
		assert_int_equal(risk_observe_add(r, &x, &one, t0 + i / 100), 0);
		if (i % 500 == 499)
			assert_int_equal(risk_evaluate(r, t0 + i / 100), 0);
	}
	assert_int_equal(risk_ip_count(r), 1000);
	assert_true(risk_ip_evicted(r) >= 4000);
	assert_int_equal(risk_ip_refused(r), 0);
	obs(r, "203.0.113.7", &c, t0 + 60);
	for (i = 1; i <= 5; i++)
		burst(r, "203.0.113.7", &c, t0 + 60 + i * 60, 30, 120, 40, 30, 30);
	assert_int_equal(risk_evaluate(r, t0 + 360), 0);
	assert_int_equal(risk_ip_suspect(r, &a, NULL), 1);
	assert_non_null(flag_of(f, "4711"));
	assert_int_equal(flag_of(f, "4711")->strong_ips >= 1, 1);
	assert_int_equal(risk_ip_provisional(r, "uceprotect-1", &l), 0);
	assert_non_null(risk_nb_find(r, "uceprotect-2", "203.0.113.0/24"));
	assert_int_equal(risk_nb_find(r, "uceprotect-2", "203.0.113.0/24")->impacts, 1);
	/* a month later the flood's addresses are forgotten; the listed IP is not */
	assert_int_equal(risk_evaluate(r, t0 + 31 * DAY), 0);
	assert_true(risk_ip_count(r) < 10);
	risk_free(r);
	f->r = NULL;
}

/* An IPv6 sender rotating through its /64: 400 addresses, a few sessions each, are one
 * sender of 1,200 sessions an hour to the engine. */
static void
test_ipv6_per_64(void **state)
{
	struct fx *f = *state;
	static const char PFX6[] = "2001:db8::/32 64500\n";
	static const char CUS6[] = "id,name,cidrs,contact,tags\n1,V6 VPS,2001:db8:10:1::/64,a@b,\n";
	struct prefixes *p;
	struct customers *cs;
	struct risk *r;
	struct risk_counters d = { .connections = 3, .rcpt = 9, .distinct_dst = 3 };
	char path[128], err[256], ip[64];
	struct rw_addr one;
	unsigned rules;
	int i;

	snprintf(path, sizeof path, "%s/p6.txt", f->dir);
	write_file(path, PFX6, sizeof PFX6 - 1);
	assert_int_equal(prefixes_load(path, &p, err, sizeof err), 0);
	snprintf(path, sizeof path, "%s/c6.csv", f->dir);
	write_file(path, CUS6, sizeof CUS6 - 1);
	assert_int_equal(customers_load(path, &cs, err, sizeof err), 0);
	r = risk_new(&f->cfg, err, sizeof err);
	assert_non_null(r);
	assert_int_equal(risk_set_space(r, p, cs, err, sizeof err), 0);
	for (i = 0; i < 400; i++) {
		snprintf(ip, sizeof ip, "2001:db8:10:1:%x::%x", i, i + 1);
		one = A(ip);
		assert_int_equal(risk_observe_add(r, &one, &d, T0 + 3000 + i), 0);
	}
	assert_int_equal(risk_evaluate(r, T0 + 3500), 0);
	assert_int_equal(risk_ip_count(r), 1);
	one = A("2001:db8:10:1:ffff::1");
	assert_int_equal(risk_ip_suspect(r, &one, &rules), 1);
	assert_true(rules & RISK_R_CONN);
	assert_int_equal(risk_flag_count(r), 1);
	assert_non_null(strstr(risk_flag_at(r, 0)->evidence[2], "2001:db8:10:1::/64"));
	risk_free(r);
	customers_free(cs);
	prefixes_free(p);
}

/* ------------------------------------------------------------ persistence */

struct saved {
	struct rw_addr ip;
	uint8_t st[RISK_STATE_MAX];
	size_t len;
};

struct saver {
	struct saved v[16];
	size_t n;
};

static void
save_cb(void *arg, const struct rw_addr *ip, const void *st, size_t len)
{
	struct saver *s = arg;

	assert_true(s->n < sizeof s->v / sizeof s->v[0]);
	assert_true(len > 0 && len <= RISK_STATE_MAX);
	s->v[s->n].ip = *ip;
	memcpy(s->v[s->n].st, st, len);
	s->v[s->n++].len = len;
}

/* Another engine over the test space with config c (the caller frees it). */
static struct risk *
engine_with(struct fx *f, const struct risk_config *c)
{
	char err[256];
	struct risk *r = risk_new(c, err, sizeof err);

	if (r == NULL)
		fail_msg("risk_new: %s", err);
	if (risk_set_space(r, f->p, f->c, err, sizeof err) == -1)
		fail_msg("risk_set_space: %s", err);
	return r;
}

static void
import_all(struct risk *r, const struct saver *s)
{
	char err[256];
	size_t i;

	for (i = 0; i < s->n; i++)
		if (risk_import(r, &s->v[i].ip, s->v[i].st, s->v[i].len, err, sizeof err) != 0)
			fail_msg("risk_import: %s", err);
}

static void
obs(struct risk *r, const char *ip, const struct risk_counters *c, int64_t t)
{
	struct rw_addr a = A(ip);

	assert_int_equal(risk_observe(r, &a, c, t), 0);
}

/* The IPs of the round trip, and their connections in hour h after T0. */
static const char *const RT_IP[] = {
	"203.0.113.5",		/* 4711: 30/h by day, 6/h by night */
	"203.0.113.70",		/* 100: 12/h; a spike in the day after the restart */
	"203.0.113.130",	/* 200: 40/h, 300 in a nightly batch */
	"192.0.2.3",		/* 300: 20/h, 400 in the hour before the restart */
	"203.0.113.6",		/* 4711: day 0 02:00..03:00 only, wakes after the restart */
	"203.0.113.7",		/* 4711: one snapshot at the start, wakes after the restart */
	"203.0.113.8",		/* 4711: one snapshot at the start, wakes before the restart */
};
#define RT_N		(sizeof RT_IP / sizeof RT_IP[0])
#define RT_RESTART	720	/* the hour of the restart: day 30 */
#define RT_SPIKE	(RT_RESTART + 10)
#define RT_WAKE		(RT_RESTART + 5)

static int
rt_sends(size_t i, unsigned h)
{
	unsigned hod = h % 24;

	switch (i) {
	case 0:
		return hod >= 8 && hod < 20 ? 30 : 6;
	case 1:
		return h == RT_SPIKE ? 200 : 12;
	case 2:
		return hod == 2 ? 300 : 40;
	case 3:
		return h == RT_RESTART - 1 ? 400 : 20;
	case 4:
		return h < 3 || h == RT_WAKE ? 10 : -1;	/* -1: not observed */
	case 5:
		return h == 0 ? 0 : h == RT_WAKE ? 10 : -1;
	default:
		return h == 0 ? 0 : h >= RT_RESTART - 1 ? 10 : -1;
	}
}

/* Half of hour h's traffic of every IP: at h:10 (half 0) or h:40 (half 1). */
static void
rt_feed(struct risk *r, struct risk_counters *c, unsigned h, int half)
{
	size_t i;

	for (i = 0; i < RT_N; i++) {
		int n = rt_sends(i, h);
		if (n < 0)
			continue;
		c[i].connections += (uint32_t)(half ? n - n / 2 : n / 2);
		c[i].rcpt += (uint32_t)(half ? n : n / 2) * 2;
		c[i].distinct_dst += (uint64_t)(n / 4 + half);
		c[i].replies_5xx += h % 7 == 0 && half;
		obs(r, RT_IP[i], &c[i], T0 + (int64_t)h * 3600 + (half ? 2400 : 600));
	}
}

/* a and b agree on everything risk_evaluate says; returns the flags compared. */
static size_t
same_view(struct risk *a, struct risk *b, int64_t now)
{
	size_t i, k;

	assert_int_equal(risk_evaluate(a, now), 0);
	assert_int_equal(risk_evaluate(b, now), 0);
	assert_int_equal(risk_flag_count(a), risk_flag_count(b));
	for (i = 0; i < risk_flag_count(a); i++) {
		const struct risk_flag *x = risk_flag_at(a, i), *y = risk_flag_at(b, i);
		assert_int_equal(x->customer, y->customer);
		assert_int_equal(x->level, y->level);
		assert_true(x->score == y->score);
		assert_int_equal(x->listed_ips, y->listed_ips);
		assert_int_equal(x->suspect_ips, y->suspect_ips);
		assert_int_equal(x->nnb, y->nnb);
		assert_int_equal(x->nevidence, y->nevidence);
		for (k = 0; k < x->nevidence; k++)
			assert_string_equal(x->evidence[k], y->evidence[k]);
	}
	assert_int_equal(risk_nb_count(a), risk_nb_count(b));
	for (i = 0; i < risk_nb_count(a); i++) {
		const struct risk_nb_view *x = risk_nb_at(a, i), *y = risk_nb_at(b, i);
		assert_string_equal(x->policy, y->policy);
		assert_string_equal(x->key, y->key);
		assert_int_equal(x->impacts, y->impacts);
		assert_int_equal(x->suspects, y->suspects);
		assert_true(x->pressure == y->pressure && x->projected == y->projected);
		assert_int_equal(x->eta_threshold, y->eta_threshold);
		assert_int_equal(x->clear_at, y->clear_at);
	}
	for (i = 0; i < RT_N; i++) {
		struct rw_addr ip = A(RT_IP[i]);
		unsigned ra, rb;
		assert_int_equal(risk_ip_suspect(a, &ip, &ra), risk_ip_suspect(b, &ip, &rb));
		assert_int_equal(ra, rb);
	}
	return risk_flag_count(a);
}

static unsigned
rules_of(struct risk *r, const char *ip)
{
	struct rw_addr a = A(ip);
	unsigned rules;

	risk_ip_suspect(r, &a, &rules);
	return rules;
}

/* A restart: 30 days of hourly traffic into one engine, its states exported mid-hour and
 * imported into a second; then the same traffic into both (the second's capture counting
 * from zero again, as after a real restart) gives the same evaluations hour by hour. The
 * baselines, the hour in progress and the one before, the last activity, a wake-up and the
 * engine's start came across: a spike within a day of the restart is a rate suspect, an IP
 * that woke before it stays suspect and two long-silent IPs wake, where a third engine
 * started without the states sees none of it. */
static void
test_state_round_trip(void **state)
{
	struct fx *f = *state;
	struct risk *a, *b, *fresh;
	struct risk_counters ca[RT_N], cb[RT_N], cf[RT_N];
	struct saver s = { .n = 0 };
	size_t i, flags = 0;
	unsigned h;

	f->cfg.silent = 20 * DAY;	/* so that 30 days hold a wake-up before the restart */
	a = engine(f);
	memset(ca, 0, sizeof ca);
	memset(cb, 0, sizeof cb);
	memset(cf, 0, sizeof cf);
	for (h = 0; h < RT_RESTART; h++) {
		rt_feed(a, ca, h, 0);
		rt_feed(a, ca, h, 1);
	}
	list1(a, "203.0.113.1", 1, T0 + 29 * DAY, T0 + 30 * DAY);
	rt_feed(a, ca, RT_RESTART, 0);	/* the hour in progress */
	assert_int_equal(risk_export_dirty(a, save_cb, &s), RT_N);
	assert_int_equal(s.n, RT_N);
	for (i = 0; i < RT_N; i++) {
		struct rw_addr ip = A(RT_IP[i]);
		assert_memory_equal(&s.v[i].ip, &ip, sizeof ip);	/* listing-only .1 is not */
		assert_int_equal(s.v[i].len, s.v[0].len);
	}

	b = engine_with(f, &f->cfg);
	import_all(b, &s);
	list1(b, "203.0.113.1", 1, T0 + 29 * DAY, T0 + 30 * DAY);	/* from the store */
	assert_int_equal(risk_ip_count(b), risk_ip_count(a));
	fresh = engine_with(f, &f->cfg);
	/* right at the restart (the previous hour's spike still in the last 60 minutes),
	 * and every hour of the two days after */
	flags += same_view(a, b, T0 + RT_RESTART * 3600LL + 900);
	assert_int_equal(rules_of(b, "192.0.2.3"), RISK_R_RATE | RISK_R_FANOUT);
	assert_int_equal(rules_of(b, "203.0.113.8"), RISK_R_WOKE);
	for (h = RT_RESTART; h < RT_RESTART + 48; h++) {
		if (h > RT_RESTART) {
			rt_feed(a, ca, h, 0);
			rt_feed(b, cb, h, 0);
			rt_feed(fresh, cf, h, 0);
		}
		rt_feed(a, ca, h, 1);
		rt_feed(b, cb, h, 1);
		rt_feed(fresh, cf, h, 1);
		if (h == RT_RESTART + 20) {	/* a new impact while both run */
			list1(a, "203.0.113.2", 1, T0 + h * 3600LL, T0 + h * 3600LL + 3000);
			list1(b, "203.0.113.2", 1, T0 + h * 3600LL, T0 + h * 3600LL + 3000);
		}
		flags += same_view(a, b, T0 + h * 3600LL + 3000);
		assert_int_equal(risk_evaluate(fresh, T0 + h * 3600LL + 3000), 0);
		/* woke at RT_RESTART - 1 h:10, suspect for 24 h after: across the restart */
		assert_int_equal(rules_of(b, "203.0.113.8"),
		    h < RT_RESTART + 23 ? RISK_R_WOKE : 0);
		assert_int_equal(rules_of(fresh, "203.0.113.8"), 0);
		if (h == RT_WAKE) {
			assert_int_equal(rules_of(b, "203.0.113.6"), RISK_R_WOKE);
			assert_int_equal(rules_of(b, "203.0.113.7"), RISK_R_WOKE);	/* by t0 */
			assert_int_equal(rules_of(fresh, "203.0.113.6"), 0);
			assert_int_equal(rules_of(fresh, "203.0.113.7"), 0);
		}
		if (h == RT_SPIKE) {
			const struct risk_flag *fl = risk_flag_of(b, customers_find(f->c, "100"));
			assert_int_equal(rules_of(b, "203.0.113.70"), RISK_R_RATE | RISK_R_FANOUT);
			assert_int_equal(rules_of(fresh, "203.0.113.70"), 0);	/* no baseline */
			assert_non_null(fl);
			assert_int_equal(fl->suspect_ips, 1);
			assert_true(evidence_has(fl, "own baseline 12/h"));
		} else
			assert_int_equal(rules_of(b, "203.0.113.70"), 0);
	}
	assert_true(flags >= 48);	/* 4711 at least, every hour: the comparisons compared */
	risk_free(b);
	risk_free(fresh);
}

/* Dirty marks: only IPs whose history risk_observe changed are exported, once; an import
 * marks nothing; the IP table's bound holds for imports too. */
static void
test_state_dirty(void **state)
{
	struct fx *f = *state;
	struct risk *r = engine(f), *b, *small;
	struct risk_config cfg = f->cfg;
	struct risk_counters c = { .connections = 5, .rcpt = 9, .distinct_dst = 2 };
	struct rw_addr x = A("203.0.113.5"), y = A("203.0.113.70"), z = A("203.0.113.9");
	struct saver s = { .n = 0 }, s2 = { .n = 0 };
	char err[256];

	assert_int_equal(risk_export_dirty(r, save_cb, &s), 0);
	obs(r, "203.0.113.5", &c, T0 + 60);
	obs(r, "203.0.113.70", &c, T0 + 60);
	c.connections++;
	obs(r, "203.0.113.5", &c, T0 + 120);	/* changed twice: exported once */
	list1(r, "203.0.113.9", 1, T0, T0 + 60);	/* a record, but no history */
	assert_int_equal(risk_ip_count(r), 3);
	assert_int_equal(risk_export_dirty(r, save_cb, &s), 2);
	assert_int_equal(s.n, 2);
	assert_memory_equal(&s.v[0].ip, &x, sizeof x);
	assert_memory_equal(&s.v[1].ip, &y, sizeof y);
	assert_int_equal(risk_export_dirty(r, save_cb, &s), 0);
	/* the same counters in the same hour change nothing; a new hour or new counts do */
	obs(r, "203.0.113.5", &c, T0 + 600);
	assert_int_equal(risk_export_dirty(r, save_cb, &s), 0);
	obs(r, "203.0.113.5", &c, T0 + 3600 + 60);
	c.connections++;
	obs(r, "203.0.113.70", &c, T0 + 3600 + 60);
	s.n = 0;
	assert_int_equal(risk_export_dirty(r, save_cb, &s), 2);
	assert_memory_equal(&s.v[0].ip, &x, sizeof x);
	assert_memory_equal(&s.v[1].ip, &y, sizeof y);

	/* import marks nothing; observing the imported IP does */
	b = engine_with(f, &f->cfg);
	import_all(b, &s);
	assert_int_equal(risk_ip_count(b), 2);
	assert_int_equal(risk_export_dirty(b, save_cb, &s2), 0);
	c.connections++;
	assert_int_equal(risk_observe(b, &y, &c, T0 + 3600 + 120), 0);
	assert_int_equal(risk_export_dirty(b, save_cb, &s2), 1);
	assert_memory_equal(&s2.v[0].ip, &y, sizeof y);
	/* what the engine saw since start wins over a stored state */
	assert_int_equal(risk_import(b, &y, s.v[1].st, s.v[1].len, err, sizeof err), -1);
	assert_non_null(strstr(err, "already observed"));
	risk_free(b);

	/* max_ips bounds imports as it bounds observations: an idle IP with nothing against
	 * it makes room; once every tracked IP has a listing, a new one is turned away */
	cfg.max_ips = 2;
	small = engine_with(f, &cfg);
	import_all(small, &s);
	assert_int_equal(risk_import(small, &z, s.v[0].st, s.v[0].len, err, sizeof err), 0);
	assert_int_equal(risk_ip_count(small), 2);
	assert_int_equal(risk_ip_evicted(small), 1);
	assert_int_equal(risk_listing(small, "uceprotect-1", &z, 1, T0, T0 + 7200), 0);
	assert_int_equal(risk_listing(small, "uceprotect-1", &y, 1, T0, T0 + 7200), 0);
	assert_int_equal(risk_ip_count(small), 2);
	{
		struct rw_addr w = A("203.0.113.99");
		assert_int_equal(risk_observe(small, &w, &c, T0 + 7200), -1);
		assert_int_equal(risk_listing(small, "uceprotect-1", &w, 1, T0, T0 + 7200), -1);
	}
	assert_int_equal(risk_ip_count(small), 2);
	/* each turned away, counted (status tracked_ips_refused) */
	assert_int_equal(risk_ip_refused(small), 2);
	risk_free(small);
}

/* One IP through a restart: before the export its counters read x0 then x1 in hour H
 * (x1 - x0 is that hour so far); after the restart the capture counts from zero and reads
 * y1 then y2 later in the same hour. The hour must then hold exactly (x1 - x0) + y2: the
 * absolute limits set to exactly that fire every rule, set one higher fire none. */
static void
restart_case(struct fx *f, struct risk_counters x0, struct risk_counters x1,
    struct risk_counters y1, struct risk_counters y2)
{
	const int64_t H = T0 + 10 * DAY;
	struct risk_counters want = {
		.connections = x1.connections - x0.connections + y2.connections,
		.rcpt = x1.rcpt - x0.rcpt + y2.rcpt,
		.replies_5xx = x1.replies_5xx - x0.replies_5xx + y2.replies_5xx,
		.cited = x1.cited - x0.cited + y2.cited,
		.distinct_dst = x1.distinct_dst - x0.distinct_dst + y2.distinct_dst,
	};
	struct risk *a = engine_with(f, &f->cfg);
	struct saver s = { .n = 0 };
	int plus;

	obs(a, "203.0.113.5", &x0, H + 10);
	obs(a, "203.0.113.5", &x1, H + 600);
	assert_int_equal(risk_export_dirty(a, save_cb, &s), 1);
	risk_free(a);
	for (plus = 0; plus <= 1; plus++) {
		struct risk_config cfg = f->cfg;
		struct risk *b;
		cfg.conn_per_hour = want.connections + (uint32_t)plus;
		cfg.rcpt_per_hour = want.rcpt + (uint32_t)plus;
		cfg.rej_5xx = want.replies_5xx + (uint32_t)plus;
		cfg.rej_cited = want.cited + (uint32_t)plus;
		cfg.mx_per_hour = (uint32_t)want.distinct_dst + (uint32_t)plus;
		cfg.cited_share = 0;		/* the counts alone decide here */
		cfg.reject_ratio_weak = 1e-9;
		cfg.reject_ratio = 1;
		b = engine_with(f, &cfg);
		import_all(b, &s);
		obs(b, "203.0.113.5", &y1, H + 1200);
		obs(b, "203.0.113.5", &y2, H + 1500);
		assert_int_equal(risk_evaluate(b, H + 1800), 0);
		assert_int_equal(rules_of(b, "203.0.113.5"), plus ? 0 : RISK_R_CONN |
		    RISK_R_RCPT | RISK_R_FANOUT | RISK_R_REJECT | RISK_R_CITED);
		risk_free(b);
	}
}

static void
test_state_reset_after_import(void **state)
{
	struct fx *f = *state;
	typedef struct risk_counters K;

	/* the usual case: every counter restarts below the stored snapshot */
	restart_case(f, (K){ 10000, 20000, 50, 5, 3000 }, (K){ 10300, 20600, 57, 6, 3040 },
	    (K){ 200, 400, 5, 2, 60 }, (K){ 210, 420, 6, 2, 61 });
	/* a quiet IP whose new counters already passed the stored ones: still all new */
	restart_case(f, (K){ 0, 0, 0, 0, 0 }, (K){ 3, 6, 1, 1, 2 },
	    (K){ 5, 10, 2, 3, 4 }, (K){ 9, 10, 2, 3, 5 });
	/* some below, some past */
	restart_case(f, (K){ 100, 0, 40, 0, 0 }, (K){ 150, 2, 45, 1, 1 },
	    (K){ 7, 60, 1, 4, 9 }, (K){ 20, 70, 3, 4, 9 });
}

/* A state this build does not read is refused with the reason, and creates nothing. */
static void
test_state_bad(void **state)
{
	struct fx *f = *state;
	struct risk *r = engine(f), *b;
	struct risk_counters c = { .connections = 5 };
	struct rw_addr x = A("203.0.113.5");
	struct saver s = { .n = 0 };
	uint8_t st[RISK_STATE_MAX + 1];
	size_t len;
	char err[256];

	obs(r, "203.0.113.5", &c, T0);
	assert_int_equal(risk_export_dirty(r, save_cb, &s), 1);
	len = s.v[0].len;
	memset(st, 0, sizeof st);
	memcpy(st, s.v[0].st, len);
	b = engine_with(f, &f->cfg);
	err[0] = '\0';
	assert_int_equal(risk_import(b, &x, st, len - 1, err, sizeof err), -1);
	assert_non_null(strstr(err, "bytes"));
	err[0] = '\0';
	assert_int_equal(risk_import(b, &x, st, len + 1, err, sizeof err), -1);
	assert_non_null(strstr(err, "bytes"));
	err[0] = '\0';
	assert_int_equal(risk_import(b, &x, st, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "empty"));
	st[0] ^= 0x80;
	err[0] = '\0';
	assert_int_equal(risk_import(b, &x, st, len, err, sizeof err), -1);
	assert_non_null(strstr(err, "version"));
	assert_int_equal(risk_ip_count(b), 0);
	st[0] ^= 0x80;		/* the same bytes, whole: taken */
	assert_int_equal(risk_import(b, &x, st, len, err, sizeof err), 0);
	assert_int_equal(risk_ip_count(b), 1);
	risk_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thresholds),
		cmocka_unit_test_setup_teardown(test_alloc_thresholds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_baseline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ranking_and_innocent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_asn_spamscore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escalated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forecasts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_slides, setup, teardown),
		cmocka_unit_test_setup_teardown(test_innocent_hot_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_burst_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_estimate_and_calibration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_volume_never_acts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_daily_peak_is_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_escalation_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6_per_64, setup, teardown),
		cmocka_unit_test_setup_teardown(test_classes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flood_eviction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_customer_baseline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_act_holds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_dirty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_reset_after_import, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_bad, setup, teardown),
	};

	return cmocka_run_group_tests_name("risk", tests, NULL, NULL);
}
