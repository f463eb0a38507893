/*
 * snds.h — Microsoft SNDS (Smart Network Data Services) exports, read into structures: the
 * per-IP data (data.aspx) and the IP-status list (ipStatus.aspx). Pure: bytes in, rows to a
 * callback; no I/O, no clock, no state between calls, so it is fuzzed as it is.
 *
 * Data: header-less CSV, one row per IP and activity period, 14 columns:
 *   IP, activity start, activity end, RCPT commands, DATA commands, message recipients,
 *   filter result (GREEN|YELLOW|RED), complaint rate ("< 0.1%", "0.4%"), trap message
 *   start, trap message end, trap hits, sample HELO, sample MAIL FROM, comment
 * or the older 11 columns (without the last three). Times are "M/D/YYYY h:mm AM|PM" in US
 * Pacific time; they are turned into UTC by the US DST rule in force since 2007 (second
 * Sunday of March 02:00 to first Sunday of November 02:00), computed here rather than
 * through TZ and localtime_r: setting TZ is process-wide and the daemon has other threads,
 * and the rule needs no tzdata file in a chroot. Years before 2007 or after 2199 are bad.
 *
 * IP status: "first IP, last IP, blocked (Yes|No), reason" per line.
 *
 * Rows that cannot be read go to the error callback with their row number (1-based line)
 * and are skipped; the first good row fixes the column count, and a row with another count
 * is bad ("a changed column count"). Text fields (HELO, MAIL FROM, comment, reason) come
 * from whoever sent the mail Microsoft saw: they are kept escaped (text_escape) and cut.
 */
#ifndef RW_SNDS_H
#define RW_SNDS_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define SNDS_TEXT_MAX	128	/* escaped text fields, NUL included */
#define SNDS_LINE_MAX	4096	/* a longer line is a bad row */

enum snds_filter { SNDS_F_NONE, SNDS_F_GREEN, SNDS_F_YELLOW, SNDS_F_RED };

struct snds_row {
	struct rw_addr ip;
	int64_t start, end;		/* activity period, UTC */
	uint32_t rcpt, data, recipients;
	enum snds_filter filter;
	double complaint;		/* complaint rate, a fraction: the bucket's upper bound
					 * ("< 0.1%" is 0.001), -1 when not given */
	int complaint_below;		/* 1 when given as "< x%" */
	int64_t trap_start, trap_end;	/* 0 when no trap hit */
	uint32_t trap_hits;
	char helo[SNDS_TEXT_MAX];	/* escaped, "" when absent (11-column form) */
	char mail_from[SNDS_TEXT_MAX];
	char comment[SNDS_TEXT_MAX];
};

struct snds_range {
	struct rw_addr first, last;	/* same family, first <= last */
	int blocked;
	char reason[SNDS_TEXT_MAX];	/* escaped */
};

/* What one parse saw. */
struct snds_result {
	size_t rows;			/* good rows */
	size_t bad;			/* bad rows (each given to the error callback) */
	unsigned columns;		/* the column count of the good rows (0: none) */
};

typedef void (*snds_row_fn)(void *arg, const struct snds_row *r);
typedef void (*snds_range_fn)(void *arg, const struct snds_range *r);
/* row: the 1-based line number; msg: one printable line. */
typedef void (*snds_err_fn)(void *arg, size_t row, const char *msg);

/* Parses len bytes of SNDS data (untrusted; need not be NUL-terminated). Blank lines are
 * skipped. Calls row for each good row, err (may be NULL) for each bad one. */
void snds_parse_data(const char *buf, size_t len, snds_row_fn row, snds_err_fn err, void *arg,
    struct snds_result *res);
/* The same for the IP-status list. */
void snds_parse_status(const char *buf, size_t len, snds_range_fn range, snds_err_fn err,
    void *arg, struct snds_result *res);
/* The UTC time of a US Pacific wall-clock time; -1 when out of the supported years. In the
 * hour that repeats in November the first (daylight) one is taken. */
int snds_pacific_to_utc(int year, int mon, int day, int hour, int min, int64_t *out);
/* The name of a filter result ("GREEN", ...; "" for none). */
const char *snds_filter_name(enum snds_filter f);

#endif
