/*
 * snds.c — reading Microsoft SNDS exports (see snds.h for the formats).
 *
 * For: monitor/snds.c, which fetches or reads them and feeds the rows to the risk engine,
 * and the fuzz target. Owns: nothing; pure functions over the caller's bytes.
 * Must never: read past len, trust a field's length or its bytes (text fields are escaped
 * and cut), or guess what a row with an unknown column count means (it is a bad row).
 */
#include "snds.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "text.h"

#define MAX_FIELDS	16	/* more than any known form: the rest counts, unread */
#define FIELD_MAX	512	/* bytes of one field (unescaped) we look at */

struct fields {
	char v[MAX_FIELDS][FIELD_MAX];
	size_t len[MAX_FIELDS];
	unsigned n;		/* fields seen (may pass MAX_FIELDS: counted, not kept) */
};

const char *
snds_filter_name(enum snds_filter f)
{
	switch (f) {
	case SNDS_F_GREEN: return "GREEN";
	case SNDS_F_YELLOW: return "YELLOW";
	case SNDS_F_RED: return "RED";
	default: return "";
	}
}

/* ------------------------------------------------------------------ time */

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar (m 1..12). */
static int64_t
days_of(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* 0 Sunday .. 6 Saturday */
static int
weekday(int64_t days)
{
	return (int)((days % 7 + 11) % 7);	/* 1970-01-01 was a Thursday (4) */
}

static int
month_days(int y, int m)
{
	static const int md[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : md[m - 1];
}

/* The day of month of the n-th Sunday of y-m. */
static int
nth_sunday(int y, int m, int n)
{
	int first = weekday(days_of(y, m, 1));

	return 1 + (7 - first) % 7 + 7 * (n - 1);
}

int
snds_pacific_to_utc(int year, int mon, int day, int hour, int min, int64_t *out)
{
	int64_t local;
	int dst, start, end;

	if (year < 2007 || year > 2199 || mon < 1 || mon > 12 || day < 1 ||
	    day > month_days(year, mon) || hour < 0 || hour > 23 || min < 0 || min > 59)
		return -1;
	/* US rule since 2007: from the second Sunday of March at 02:00 PST to the first
	 * Sunday of November at 02:00 PDT (01:00 PST); the repeated hour is taken as PDT */
	start = nth_sunday(year, 3, 2);
	end = nth_sunday(year, 11, 1);
	if (mon > 3 && mon < 11)
		dst = 1;
	else if (mon == 3)
		dst = day > start || (day == start && hour >= 2);
	else if (mon == 11)
		dst = day < end || (day == end && hour < 2);
	else
		dst = 0;
	local = days_of(year, mon, day) * 86400 + hour * 3600 + min * 60;
	*out = local + (dst ? 7 : 8) * 3600;
	return 0;
}

/* ------------------------------------------------------------------ fields */

/* Splits one line into fields: commas, a field in double quotes may hold commas and ""
 * for a quote. Leading and trailing blanks of a field are dropped. */
static void
split(const char *s, size_t n, struct fields *f)
{
	size_t i = 0;

	f->n = 0;
	for (;;) {
		char *dst = f->n < MAX_FIELDS ? f->v[f->n] : NULL;
		size_t k = 0;
		int quoted = 0;

		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i < n && s[i] == '"') {
			quoted = 1;
			i++;
		}
		for (; i < n; i++) {
			char c = s[i];
			if (quoted && c == '"') {
				if (i + 1 < n && s[i + 1] == '"') {
					i++;
				} else {
					quoted = 0;
					continue;
				}
			} else if (!quoted && c == ',')
				break;
			if (dst != NULL && k < FIELD_MAX - 1)
				dst[k++] = c;
		}
		while (dst != NULL && k > 0 && (dst[k - 1] == ' ' || dst[k - 1] == '\t'))
			k--;
		if (dst != NULL) {
			dst[k] = '\0';
			f->len[f->n] = k;
		}
		f->n++;
		if (i >= n)
			break;
		i++;		/* the comma */
	}
}

/* A decimal count of at most 10 digits that fits uint32_t. */
static int
parse_u32(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (s[0] == '\0')
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Reads 1..maxd digits at *p into *out. */
static int
digits(const char **p, int maxd, int *out)
{
	int v = 0, k = 0;

	while (**p >= '0' && **p <= '9' && k < maxd) {
		v = v * 10 + (**p - '0');
		(*p)++;
		k++;
	}
	if (k == 0 || (**p >= '0' && **p <= '9'))
		return -1;
	*out = v;
	return 0;
}

/* "M/D/YYYY h:mm AM|PM" (seconds ":ss" and a 24-hour form without AM/PM tolerated), US
 * Pacific, into UTC. */
static int
parse_time(const char *s, int64_t *out)
{
	int mo, d, y, h, mi, sec = 0;
	const char *p = s;

	if (digits(&p, 2, &mo) == -1 || *p++ != '/' || digits(&p, 2, &d) == -1 ||
	    *p++ != '/' || digits(&p, 4, &y) == -1 || *p++ != ' ')
		return -1;
	while (*p == ' ')
		p++;
	if (digits(&p, 2, &h) == -1 || *p++ != ':' || digits(&p, 2, &mi) == -1)
		return -1;
	if (*p == ':' && (p++, digits(&p, 2, &sec) == -1))
		return -1;
	while (*p == ' ')
		p++;
	if ((p[0] == 'A' || p[0] == 'P' || p[0] == 'a' || p[0] == 'p') &&
	    (p[1] == 'M' || p[1] == 'm') && p[2] == '\0') {
		if (h < 1 || h > 12)
			return -1;
		h = h % 12 + ((p[0] == 'P' || p[0] == 'p') ? 12 : 0);
	} else if (*p != '\0')
		return -1;
	if (sec > 59 || snds_pacific_to_utc(y, mo, d, h, mi, out) == -1)
		return -1;
	*out += sec;
	return 0;
}

static int
parse_filter(const char *s, enum snds_filter *out)
{
	if (strcasecmp(s, "GREEN") == 0)
		*out = SNDS_F_GREEN;
	else if (strcasecmp(s, "YELLOW") == 0)
		*out = SNDS_F_YELLOW;
	else if (strcasecmp(s, "RED") == 0)
		*out = SNDS_F_RED;
	else if (s[0] == '\0')
		*out = SNDS_F_NONE;
	else
		return -1;
	return 0;
}

/* "< 0.1%", "0.4%", "> 10%", "": a fraction (the bucket's bound), -1 for none. */
static int
parse_rate(const char *s, double *out, int *below)
{
	double v = 0, scale = 1;
	int any = 0, dot = 0;

	*below = 0;
	*out = -1;
	if (*s == '\0')
		return 0;
	if (*s == '<' || *s == '>') {
		*below = *s == '<';
		s++;
		while (*s == ' ')
			s++;
	}
	for (; (*s >= '0' && *s <= '9') || (*s == '.' && !dot); s++) {
		if (*s == '.') {
			dot = 1;
			continue;
		}
		if (dot)
			scale /= 10;
		v = v * 10 + (*s - '0');
		any = 1;
		if (v > 1e6)
			return -1;
	}
	while (*s == ' ')
		s++;
	if (!any || s[0] != '%' || s[1] != '\0')
		return -1;
	*out = v * scale / 100;
	return *out > 1 ? -1 : 0;
}

static void
copy_text(char *dst, const char *s, size_t n)
{
	text_escape(dst, SNDS_TEXT_MAX, s, n);
}

/* ------------------------------------------------------------------ lines */

struct lines {
	const char *buf;
	size_t len, pos, row;
};

/* The next line (without CR/LF) in *s, *n; 0 at the end. */
static int
next_line(struct lines *l, const char **s, size_t *n)
{
	const char *nl;
	size_t k;

	if (l->pos >= l->len)
		return 0;
	*s = l->buf + l->pos;
	nl = memchr(*s, '\n', l->len - l->pos);
	k = nl != NULL ? (size_t)(nl - *s) : l->len - l->pos;
	l->pos += k + (nl != NULL);
	l->row++;
	while (k > 0 && (*s)[k - 1] == '\r')
		k--;
	*n = k;
	return 1;
}

static int
blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != ',')
			return 0;
	return 1;
}

static void
bad(snds_err_fn err, void *arg, size_t row, struct snds_result *res, const char *fmt,
    const char *what)
{
	char msg[200], esc[64];

	res->bad++;
	if (err == NULL)
		return;
	text_escape(esc, sizeof esc, what, strnlen(what, 40));
	snprintf(msg, sizeof msg, fmt, esc);
	err(arg, row, msg);
}

/* One data row from its fields; NULL or what is wrong (the field's name). */
static const char *
data_row(const struct fields *f, struct snds_row *r, const char **val)
{
	memset(r, 0, sizeof *r);
	*val = "";
#define NEED(cond, name, i) do { if (!(cond)) { *val = f->v[i]; return name; } } while (0)
	NEED(addr_parse(f->v[0], &r->ip) == 0, "IP", 0);
	NEED(parse_time(f->v[1], &r->start) == 0, "activity start", 1);
	NEED(parse_time(f->v[2], &r->end) == 0 && r->end >= r->start, "activity end", 2);
	NEED(parse_u32(f->v[3], &r->rcpt) == 0, "RCPT commands", 3);
	NEED(parse_u32(f->v[4], &r->data) == 0, "DATA commands", 4);
	NEED(parse_u32(f->v[5], &r->recipients) == 0, "message recipients", 5);
	NEED(parse_filter(f->v[6], &r->filter) == 0, "filter result", 6);
	NEED(parse_rate(f->v[7], &r->complaint, &r->complaint_below) == 0, "complaint rate",
	    7);
	NEED(f->v[10][0] == '\0' || parse_u32(f->v[10], &r->trap_hits) == 0, "trap hits", 10);
	if (f->v[8][0] != '\0' || f->v[9][0] != '\0') {
		NEED(parse_time(f->v[8], &r->trap_start) == 0, "trap message start", 8);
		NEED(parse_time(f->v[9], &r->trap_end) == 0 && r->trap_end >= r->trap_start,
		    "trap message end", 9);
	}
#undef NEED
	if (r->trap_hits > 0 && r->trap_start == 0) {
		r->trap_start = r->start;	/* hits without their times: the day's */
		r->trap_end = r->end;
	}
	if (f->n >= 14) {
		copy_text(r->helo, f->v[11], f->len[11]);
		copy_text(r->mail_from, f->v[12], f->len[12]);
		copy_text(r->comment, f->v[13], f->len[13]);
	}
	return NULL;
}

/* Checks the row's column count against the document's; 0 when it may be read. */
static int
columns_ok(const struct fields *f, struct snds_result *res, unsigned a, unsigned b,
    snds_err_fn err, void *arg, size_t row)
{
	char msg[160];

	if ((res->columns == 0 && (f->n == a || f->n == b)) || f->n == res->columns)
		return 0;
	res->bad++;
	if (err != NULL) {
		if (res->columns != 0)
			snprintf(msg, sizeof msg, "%u columns where the rows before have %u (the "
			    "format changed?)", f->n, res->columns);
		else
			snprintf(msg, sizeof msg, "%u columns, expected %u or %u", f->n, a, b);
		err(arg, row, msg);
	}
	return -1;
}

/* The next row of l with a columns to b columns, split into f; blank lines are skipped,
 * and a line too long or of another column count is reported and skipped. 0 at the end. */
static int
next_record(struct lines *l, struct fields *f, struct snds_result *res, unsigned a,
    unsigned b, snds_err_fn err, void *arg)
{
	const char *s;
	size_t n;

	while (next_line(l, &s, &n)) {
		if (blank(s, n))
			continue;
		if (n > SNDS_LINE_MAX) {
			bad(err, arg, l->row, res, "line longer than 4096 bytes%s", "");
			continue;
		}
		split(s, n, f);
		if (columns_ok(f, res, a, b, err, arg, l->row) == 0)
			return 1;
	}
	return 0;
}

void
snds_parse_data(const char *buf, size_t len, snds_row_fn row, snds_err_fn err, void *arg,
    struct snds_result *res)
{
	struct fields f;		/* 8 KiB */
	struct lines l = { buf, len, 0, 0 };
	struct snds_row r;
	const char *what, *val;

	memset(res, 0, sizeof *res);
	while (next_record(&l, &f, res, 11, 14, err, arg)) {
		if ((what = data_row(&f, &r, &val)) != NULL) {
			char fmt[96];
			snprintf(fmt, sizeof fmt, "bad %s: '%%s'", what);
			bad(err, arg, l.row, res, fmt, val);
			continue;
		}
		res->columns = f.n;
		res->rows++;
		row(arg, &r);
	}
}

void
snds_parse_status(const char *buf, size_t len, snds_range_fn range, snds_err_fn err,
    void *arg, struct snds_result *res)
{
	struct fields f;
	struct lines l = { buf, len, 0, 0 };
	struct snds_range r;

	memset(res, 0, sizeof *res);
	while (next_record(&l, &f, res, 4, 4, err, arg)) {
		memset(&r, 0, sizeof r);
		if (addr_parse(f.v[0], &r.first) == -1) {
			bad(err, arg, l.row, res, "bad first IP: '%s'", f.v[0]);
			continue;
		}
		if (addr_parse(f.v[1], &r.last) == -1 ||
		    addr_is_v4(&r.first) != addr_is_v4(&r.last) ||
		    addr_cmp(&r.first, &r.last) > 0) {
			bad(err, arg, l.row, res, "bad last IP: '%s'", f.v[1]);
			continue;
		}
		if (strcasecmp(f.v[2], "Yes") == 0)
			r.blocked = 1;
		else if (strcasecmp(f.v[2], "No") != 0) {
			bad(err, arg, l.row, res, "bad blocked: '%s' (Yes or No)", f.v[2]);
			continue;
		}
		copy_text(r.reason, f.v[3], f.len[3]);
		res->columns = f.n;
		res->rows++;
		range(arg, &r);
	}
}
