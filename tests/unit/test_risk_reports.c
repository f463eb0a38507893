/*
 * test_risk_reports.c — the risk engine's evidence from what others report (risk_reports.c):
 * SNDS trap hits as impacts of a policy that feeds on `snds-traps` (a /24 at threshold 4
 * acts on 14 hits x 0.5; leaves the window a week after the last hit), trap hits and RED as
 * strong evidence where no policy takes them, a row that counts only once its day is over,
 * complaints as weak evidence that never acts however many, the complaint record bounded
 * under a flood, and the evidence's words ("SNDS: 14 trap hits on 2024-06-03, filter RED").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"
#include "customers.h"
#include "prefixes.h"
#include "risk.h"
#include "testfiles.h"

#define T0	1717200000LL	/* 2024-06-01 00:00 UTC */
#define DAY	86400LL
#define HOUR	3600LL

static const char PREFIXES[] =
    "203.0.113.0/24 64500\n"
    "198.51.100.0/24 64500\n";

static const char CUSTOMERS[] =
    "id,name,cidrs,contact,tags\n"
    "4711,Acme VPS,203.0.113.0/28,a@example.net,\n"
    "100,Innocent,203.0.113.64/26,b@example.net,\n"
    "200,Mailer,198.51.100.0/28,c@example.net,\n";

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

	if (f == NULL || testdir_make(f->dir, sizeof f->dir, "riskrep") == -1)
		return -1;
	snprintf(path, sizeof path, "%s/prefixes.txt", f->dir);
	write_file(path, PREFIXES, sizeof PREFIXES - 1);
	snprintf(path, sizeof path, "%s/customers.csv", f->dir);
	write_file(path, CUSTOMERS, sizeof CUSTOMERS - 1);
	snprintf(path, sizeof path, "%s/prefixes.txt", f->dir);
	if (prefixes_load(path, &f->p, err, sizeof err) == -1)
		return -1;
	snprintf(path, sizeof path, "%s/customers.csv", f->dir);
	if (customers_load(path, &f->c, err, sizeof err) == -1)
		return -1;
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

static struct risk *
engine(struct fx *f)
{
	char err[256];

	if ((f->r = risk_new(&f->cfg, err, sizeof err)) == NULL)
		fail_msg("risk_new: %s", err);
	if (risk_set_space(f->r, f->p, f->c, err, sizeof err) == -1)
		fail_msg("risk_set_space: %s", err);
	return f->r;
}

/* uceprotect-2 (the built-in /24 policy, threshold 4) takes SNDS trap hits too. */
static void
feed_snds(struct fx *f)
{
	struct risk_policy *p = &f->cfg.policy[0];

	assert_string_equal(p->name, "uceprotect-2");
	snprintf(p->feeds[p->nfeeds++], RISK_NAME_MAX, "%s", RISK_SNDS_TRAPS);
}

static struct rw_addr
A(const char *s)
{
	struct rw_addr a;

	if (addr_parse(s, &a) == -1)
		fail_msg("bad test address %s", s);
	return a;
}

static const struct risk_flag *
flag(struct fx *f, const char *id)
{
	return risk_flag_of(f->r, customers_find(f->c, id));
}

/* The SNDS day of 2024-06-01 + day (Pacific midnight to midnight, PDT: 07:00 UTC). */
static struct risk_snds
row(int day, uint32_t traps, uint8_t filter)
{
	struct risk_snds s;

	memset(&s, 0, sizeof s);
	s.start = T0 + day * DAY + 7 * HOUR;
	s.end = s.start + DAY;
	s.recipients = 4000;
	s.filter = filter;
	s.complaint = 0.001f;
	s.complaint_below = 1;
	s.trap_hits = traps;
	if (traps) {
		s.trap_start = s.start + 2 * HOUR;
		s.trap_end = s.start + 20 * HOUR;
	}
	return s;
}

static int
has_line(const struct risk_flag *fl, const char *needle)
{
	size_t i;

	for (i = 0; fl != NULL && i < fl->nevidence; i++)
		if (strstr(fl->evidence[i], needle) != NULL)
			return 1;
	return 0;
}

static void
test_traps_as_impacts(void **state)
{
	struct fx *f = *state;
	struct rw_addr ip = A("203.0.113.5");
	struct risk_snds s = row(2, 14, 3);
	const struct risk_nb_view *v;
	const struct risk_flag *fl;
	uint32_t comp, traps;

	feed_snds(f);
	engine(f);
	assert_int_equal(risk_snds(f->r, &ip, &s), 0);
	/* the day is not over: Microsoft has not reported it yet */
	assert_int_equal(risk_evaluate(f->r, s.end - 1), 0);
	assert_null(flag(f, "4711"));
	assert_int_equal(risk_evaluate(f->r, s.end), 0);
	fl = flag(f, "4711");
	assert_non_null(fl);
	assert_int_equal(fl->level, RISK_ACT);
	assert_int_equal(fl->strong_ips, 1);
	v = risk_nb_find(f->r, "uceprotect-2", "203.0.113.0/24");
	assert_non_null(v);
	assert_int_equal(v->impacts, 1);
	assert_int_equal(v->threshold, 4);
	assert_true(v->estimated > 6.99 && v->estimated < 7.01);	/* 0.5 x 14 */
	assert_true(has_line(fl, "SNDS: 14 trap hits on 2024-06-03, filter RED"));
	assert_null(flag(f, "100"));	/* the innocent next door */
	risk_ip_reports(f->r, &ip, s.end, &comp, &traps);
	assert_int_equal(traps, 14);
	assert_int_equal(comp, 0);
	/* the impact leaves the window exactly a week after the last hit */
	assert_int_equal(risk_evaluate(f->r, s.trap_end + 7 * DAY - 1), 0);
	v = risk_nb_find(f->r, "uceprotect-2", "203.0.113.0/24");
	assert_non_null(v);
	assert_int_equal(v->impacts, 1);
	assert_int_equal(risk_evaluate(f->r, s.trap_end + 7 * DAY), 0);
	assert_null(risk_nb_find(f->r, "uceprotect-2", "203.0.113.0/24"));
	assert_null(flag(f, "4711"));
}

static void
test_traps_without_feed(void **state)
{
	struct fx *f = *state;
	struct rw_addr ip = A("203.0.113.5"), ip2 = A("198.51.100.3");
	struct risk_snds s = row(2, 14, 1), y = row(2, 0, 2);
	const struct risk_flag *fl;
	unsigned rules;

	engine(f);
	assert_int_equal(risk_snds(f->r, &ip, &s), 0);
	assert_int_equal(risk_snds(f->r, &ip2, &y), 0);
	assert_int_equal(risk_evaluate(f->r, s.end + HOUR), 0);
	fl = flag(f, "4711");
	assert_non_null(fl);
	/* strong evidence, but no policy counts Microsoft's hits: 0.8 of an impact of 4 */
	assert_int_equal(fl->level, RISK_WATCH);
	assert_int_equal(fl->strong_ips, 1);
	assert_true(risk_ip_suspect(f->r, &ip, &rules));
	assert_int_equal(rules, RISK_R_TRAP);
	assert_true(risk_ip_suspect(f->r, &ip2, &rules));
	assert_int_equal(rules, RISK_R_YELLOW);
	fl = flag(f, "200");
	assert_non_null(fl);
	assert_int_equal(fl->strong_ips, 0);
	assert_true(has_line(fl, "SNDS: no trap hits on 2024-06-03, filter YELLOW"));
	/* snds_for (3 d) after the day's end the row says nothing more */
	assert_int_equal(risk_evaluate(f->r, s.end + 3 * DAY), 0);
	assert_false(risk_ip_suspect(f->r, &ip, &rules));
	assert_null(flag(f, "200"));
}

static void
test_red_is_strong(void **state)
{
	struct fx *f = *state;
	struct rw_addr ip = A("203.0.113.5");
	struct risk_snds s = row(0, 0, 3);
	unsigned rules;

	engine(f);
	s.complaint = 0.004f;	/* "0.4%": over the 0.3% that is high */
	s.complaint_below = 0;
	assert_int_equal(risk_snds(f->r, &ip, &s), 0);
	assert_int_equal(risk_evaluate(f->r, s.end), 0);
	assert_true(risk_ip_suspect(f->r, &ip, &rules));
	assert_int_equal(rules, RISK_R_RED | RISK_R_COMPLAINT);
	assert_int_equal(flag(f, "4711")->strong_ips, 1);
	/* the same day again replaces the row: GREEN now */
	s.filter = 1;
	s.complaint = 0.001f;
	s.complaint_below = 1;
	assert_int_equal(risk_snds(f->r, &ip, &s), 0);
	assert_int_equal(risk_evaluate(f->r, s.end + 60), 0);
	assert_false(risk_ip_suspect(f->r, &ip, &rules));
}

static void
test_complaints_never_act(void **state)
{
	struct fx *f = *state;
	struct rw_addr ip = A("203.0.113.5");
	const struct risk_flag *fl;
	uint32_t comp, traps;
	unsigned rules;
	int i;

	feed_snds(f);
	engine(f);
	for (i = 0; i < 500; i++)
		assert_int_equal(risk_complaint(f->r, &ip, T0 + i * 60, 3), 0);
	assert_int_equal(risk_evaluate(f->r, T0 + 500 * 60), 0);
	fl = flag(f, "4711");
	assert_non_null(fl);
	assert_int_equal(fl->level, RISK_WATCH);	/* 1500 complaints: weak, whatever */
	assert_int_equal(fl->strong_ips, 0);
	assert_true(risk_ip_suspect(f->r, &ip, &rules));
	assert_int_equal(rules, RISK_R_COMPLAINT);
	/* the record is bounded (16 arrival times), the count kept */
	risk_ip_reports(f->r, &ip, T0 + 500 * 60, &comp, &traps);
	assert_int_equal(comp, 1500);
	assert_true(has_line(fl, "1500 complaints (feedback or abuse reports) in the last 24 h"));
	/* 24 h after the last one, nothing */
	assert_int_equal(risk_evaluate(f->r, T0 + 499 * 60 + DAY), 0);
	assert_false(risk_ip_suspect(f->r, &ip, &rules));
	assert_null(flag(f, "4711"));
}

static void
test_rows_bounded(void **state)
{
	struct fx *f = *state;
	struct rw_addr ip = A("203.0.113.5");
	struct risk_snds s;
	uint32_t comp, traps;
	int d;

	f->cfg.snds_for = 30 * DAY;
	engine(f);
	for (d = 0; d < 20; d++) {
		s = row(d, 1, 1);
		assert_int_equal(risk_snds(f->r, &ip, &s), 0);
	}
	s = row(0, 100, 1);	/* older than all it keeps: refused quietly */
	assert_int_equal(risk_snds(f->r, &ip, &s), 0);
	risk_ip_reports(f->r, &ip, T0 + 25 * DAY, &comp, &traps);
	assert_int_equal(traps, RISK_SNDS_ROWS);	/* the newest 8 days, 1 hit each */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_traps_as_impacts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_traps_without_feed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_red_is_strong, setup, teardown),
		cmocka_unit_test_setup_teardown(test_complaints_never_act, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rows_bounded, setup, teardown),
	};

	return cmocka_run_group_tests_name("risk_reports", tests, NULL, NULL);
}
