/*
 * test_snds.c — the SNDS parsers (probes/snds.c): Pacific time against the system's tzdata
 * (America/Los_Angeles through localtime_r, an independent reference) for every hour of
 * 2007-2040 with the repeated November hour taken as daylight time; the 14- and 11-column
 * rows field by field; quotes, CRLF, blank lines; bad rows with their row numbers; a changed
 * column count; escaped text; the IP-status list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "snds.h"

static void
test_pacific_vs_tzdata(void **state)
{
	time_t t, start, end;
	struct tm tm;
	int64_t got;
	size_t checked = 0, repeated = 0;

	(void)state;
	if (setenv("TZ", "America/Los_Angeles", 1) != 0)
		fail_msg("setenv");
	tzset();
	start = 1167638400;	/* 2007-01-01 00:00 PST */
	end = 2240524800;	/* 2041-01-01 */
	for (t = start; t < end; t += 1800) {
		if (localtime_r(&t, &tm) == NULL)
			fail_msg("localtime_r");
		assert_int_equal(snds_pacific_to_utc(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		    tm.tm_hour, tm.tm_min, &got), 0);
		if (got != (int64_t)t) {
			/* only the second (standard time) pass of the repeated hour may differ,
			 * by exactly the hour */
			assert_int_equal(tm.tm_isdst, 0);
			assert_int_equal(tm.tm_mon, 10);
			assert_int_equal(tm.tm_hour, 1);
			assert_int_equal(got, (int64_t)t - 3600);
			repeated++;
		}
		checked++;
	}
	unsetenv("TZ");
	tzset();
	assert_int_equal(repeated, 34 * 2);	/* two half hours a year */
	assert_true(checked > 590000);
	assert_int_equal(snds_pacific_to_utc(2006, 6, 1, 0, 0, &got), -1);
	assert_int_equal(snds_pacific_to_utc(2026, 2, 29, 0, 0, &got), -1);
	assert_int_equal(snds_pacific_to_utc(2028, 2, 29, 0, 0, &got), 0);
}

struct got {
	struct snds_row row[8];
	size_t nrow;
	struct snds_range range[8];
	size_t nrange;
	size_t errrow[8];
	char errmsg[8][200];
	size_t nerr;
};

static void
on_row(void *arg, const struct snds_row *r)
{
	struct got *g = arg;

	if (g->nrow < 8)
		g->row[g->nrow] = *r;
	g->nrow++;
}

static void
on_range(void *arg, const struct snds_range *r)
{
	struct got *g = arg;

	if (g->nrange < 8)
		g->range[g->nrange] = *r;
	g->nrange++;
}

static void
on_err(void *arg, size_t row, const char *msg)
{
	struct got *g = arg;

	if (g->nerr < 8) {
		g->errrow[g->nerr] = row;
		snprintf(g->errmsg[g->nerr], sizeof g->errmsg[0], "%s", msg);
	}
	g->nerr++;
}

static int64_t
utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
	    .tm_min = mi };

	return (int64_t)timegm(&tm);
}

static void
test_data_rows(void **state)
{
	static const char doc[] =
	    "192.0.2.7,12/6/2026 12:00 AM,12/7/2026 12:00 AM,14129,14000,13025,RED,0.4%,"
	    "12/6/2026 8:07 AM,12/6/2026 12:03 PM,14,\"vps7, example\",spam@x.example,\x1b[31m\r\n"
	    "\r\n"
	    "192.0.2.8,7/4/2026 1:00 PM,7/4/2026 11:00 PM,5,5,5,GREEN,< 0.1%,,,0,,,\r\n"
	    "2001:db8::1,12/6/2026 12:00 AM,12/7/2026 12:00 AM,1,1,1,YELLOW,,,,3,h,m,c\n";
	struct got g;
	struct snds_result res;

	(void)state;

	memset(&g, 0, sizeof g);
	snds_parse_data(doc, sizeof doc - 1, on_row, on_err, &g, &res);
	assert_int_equal(res.rows, 3);
	assert_int_equal(res.bad, 0);
	assert_int_equal(res.columns, 14);
	assert_int_equal(g.row[0].start, utc(2026, 12, 6, 8, 0));	/* PST: +8 */
	assert_int_equal(g.row[0].end, utc(2026, 12, 7, 8, 0));
	assert_int_equal(g.row[0].rcpt, 14129);
	assert_int_equal(g.row[0].data, 14000);
	assert_int_equal(g.row[0].recipients, 13025);
	assert_int_equal(g.row[0].filter, SNDS_F_RED);
	assert_true(g.row[0].complaint > 0.00399 && g.row[0].complaint < 0.00401);
	assert_int_equal(g.row[0].complaint_below, 0);
	assert_int_equal(g.row[0].trap_start, utc(2026, 12, 6, 16, 7));
	assert_int_equal(g.row[0].trap_end, utc(2026, 12, 6, 20, 3));
	assert_int_equal(g.row[0].trap_hits, 14);
	assert_string_equal(g.row[0].helo, "vps7, example");
	assert_string_equal(g.row[0].comment, "\\x1b[31m");	/* escaped */
	assert_int_equal(g.row[1].start, utc(2026, 7, 4, 20, 0));	/* PDT: +7 */
	assert_int_equal(g.row[1].filter, SNDS_F_GREEN);
	assert_true(g.row[1].complaint > 0.00099 && g.row[1].complaint < 0.00101);
	assert_int_equal(g.row[1].complaint_below, 1);
	assert_int_equal(g.row[1].trap_start, 0);
	/* hits without their times: the day's */
	assert_int_equal(g.row[2].trap_hits, 3);
	assert_int_equal(g.row[2].trap_start, g.row[2].start);
	assert_true(g.row[2].complaint < 0);
}

static void
test_old_form_and_bad_rows(void **state)
{
	static const char doc[] =
	    "192.0.2.7,12/6/2026 12:00 AM,12/7/2026 12:00 AM,1,1,1,GREEN,< 0.1%,,,0\n"
	    "192.0.2.8,12/6/2026 12:00 AM,12/7/2026 12:00 AM,1,1,1,GREEN,< 0.1%,,,0,h,m,c\n"
	    "192.0.2.999,12/6/2026 12:00 AM,12/7/2026 12:00 AM,1,1,1,GREEN,< 0.1%,,,0\n"
	    "192.0.2.9,12/7/2026 12:00 AM,12/6/2026 12:00 AM,1,1,1,GREEN,< 0.1%,,,0\n"
	    "192.0.2.9,12/6/2026 12:00 AM,12/7/2026 12:00 AM,1,-1,1,GREEN,< 0.1%,,,0\n"
	    "192.0.2.9,12/6/2026 12:00 AM,12/7/2026 12:00 AM,1,1,1,BLUE,< 0.1%,,,0\n"
	    "192.0.2.9,12/6/2026 12:00 AM,12/7/2026 12:00 AM,1,1,1,RED,lots,,,0\n"
	    "192.0.2.9,12/6/2026 13:00 PM,12/7/2026 12:00 AM,1,1,1,RED,1%,,,0\n"
	    "192.0.2.10,12/6/2026 12:00 AM,12/7/2026 12:00 AM,1,1,1,RED,1%,,,99999999999\n";
	struct got g;
	struct snds_result res;

	(void)state;

	memset(&g, 0, sizeof g);
	snds_parse_data(doc, sizeof doc - 1, on_row, on_err, &g, &res);
	assert_int_equal(res.rows, 1);
	assert_int_equal(res.columns, 11);
	assert_int_equal(res.bad, 8);
	assert_int_equal(g.errrow[0], 2);
	assert_string_equal(g.errmsg[0], "14 columns where the rows before have 11 (the format "
	    "changed?)");
	assert_int_equal(g.errrow[1], 3);
	assert_string_equal(g.errmsg[1], "bad IP: '192.0.2.999'");
	assert_string_equal(g.errmsg[2], "bad activity end: '12/6/2026 12:00 AM'");
	assert_string_equal(g.errmsg[3], "bad DATA commands: '-1'");
	assert_string_equal(g.errmsg[4], "bad filter result: 'BLUE'");
	assert_string_equal(g.errmsg[5], "bad complaint rate: 'lots'");
	assert_string_equal(g.errmsg[6], "bad activity start: '12/6/2026 13:00 PM'");
	assert_int_equal(g.errrow[7], 9);
	assert_string_equal(g.errmsg[7], "bad trap hits: '99999999999'");
	/* an unknown column count from the start */
	memset(&g, 0, sizeof g);
	snds_parse_data("a,b,c\n", 6, on_row, on_err, &g, &res);
	assert_int_equal(res.rows, 0);
	assert_int_equal(res.bad, 1);
	assert_string_equal(g.errmsg[0], "3 columns, expected 11 or 14");
}

static void
test_status(void **state)
{
	static const char doc[] =
	    "192.0.2.0,192.0.2.3,Yes,Blocked due to user complaints or other evidence of "
	    "spamming\r\n"
	    "192.0.2.9,192.0.2.9,No,\r\n"
	    "192.0.2.9,192.0.2.8,Yes,backwards\r\n"
	    "192.0.2.9,2001:db8::1,Yes,mixed\r\n"
	    "192.0.2.9,192.0.2.9,Maybe,x\r\n";
	struct got g;
	struct snds_result res;
	char a[ADDR_STRLEN];

	(void)state;

	memset(&g, 0, sizeof g);
	snds_parse_status(doc, sizeof doc - 1, on_range, on_err, &g, &res);
	assert_int_equal(res.rows, 2);
	assert_int_equal(res.bad, 3);
	assert_string_equal(addr_format(&g.range[0].last, a, sizeof a), "192.0.2.3");
	assert_int_equal(g.range[0].blocked, 1);
	assert_string_equal(g.range[0].reason, "Blocked due to user complaints or other "
	    "evidence of spamming");
	assert_int_equal(g.range[1].blocked, 0);
	assert_int_equal(g.errrow[0], 3);
	assert_string_equal(g.errmsg[2], "bad blocked: 'Maybe' (Yes or No)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pacific_vs_tzdata),
		cmocka_unit_test(test_data_rows),
		cmocka_unit_test(test_old_form_and_bad_rows),
		cmocka_unit_test(test_status),
	};

	return cmocka_run_group_tests_name("snds", tests, NULL, NULL);
}
