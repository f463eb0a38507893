/*
 * test_risk.c — unit tests of the risk engine on hand-built histories: thresholds by
 * prefix length (a /28 allocation listed on one impact, a /23 at 6), impacts leaving the
 * window exactly window seconds after last seen, the per-IP baseline (steady is not
 * suspect, 10x is), ranking by contribution x blast radius, an innocent customer in a hot
 * range never flagged, the ASN SPAMSCORE, an escalated neighbourhood naming its
 * contributors, and forecasts both ways with exact times. The provider space and the
 * customers are small files written into a fresh folder per test.
 */
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
	assert_int_equal(fl->level, RISK_WATCH);	/* 1 suspect of 4: projected 0.25 */
	assert_int_equal(fl->suspect_ips, 1);
	assert_true(evidence_has(fl, "own baseline 120/h"));
	assert_true(evidence_has(fl, "range 203.0.113.0/24 at 0 of 4 impacts toward "
	    "uceprotect-2 (+1 suspect not yet listed: projected 0.25)"));
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
	    "uceprotect-2; this customer adds 4; 192 other customers' IPs would be listed"));
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
	};

	return cmocka_run_group_tests_name("risk", tests, NULL, NULL);
}
