/*
 * show.c — the read subcommands (see show.h): status, customers (and one customer's
 * detail), ranges, listings and alerts, printed from the daemon's results through one
 * small table helper, and the exchange every daemon-facing subcommand shares.
 *
 * Owns, for one run, one client connection and the result it got.
 * Must never: print a byte of text that came from the daemon (names, ids, TXT, evidence,
 * reasons, outcomes, actors, list names) without text_escape(), or crash on a field that
 * is missing or null (views.h lets fields be added, and times be null).
 */
#include "show.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "client.h"
#include "text.h"

#define LINE_WIDTH	80
#define MAX_ARG		200	/* bytes of a text argument (names, filters, ids) */
#define MAX_LIMIT	1000000
#define MAX_COLS	12
#define CELL		256	/* bytes of one escaped cell */

/* --- reading members ------------------------------------------------------------------ */

static int
has_num(const json_t *o, const char *k)
{
	return json_is_number(json_object_get(o, k));
}

/* The number k of o, 0 when it is not one. */
static double
num(const json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}


long long
show_inum(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? (long long)json_integer_value(v) :
	    (long long)json_number_value(v);
}

const json_t *
show_arr(const json_t *o, const char *k)
{
	static json_t *empty;
	const json_t *a = json_object_get(o, k);

	if (json_is_array(a))
		return a;
	if (empty == NULL)
		empty = json_array();
	return empty;
}

/* The string v escaped (text_escape) into buf, "-" when v is not a string. */
static const char *
esc(const json_t *v, char *buf, size_t len)
{
	if (!json_is_string(v))
		return "-";
	text_escape(buf, len, json_string_value(v), json_string_length(v));
	return buf;
}

const char *
show_str(const json_t *o, const char *key, char *buf, size_t len)
{
	return esc(json_object_get(o, key), buf, len);
}

const char *
show_src_escaped(const json_t *o, const char *key, char *buf, size_t len)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_string(v) && json_string_length(v) < len &&
	    text_is_clean(json_string_value(v), json_string_length(v))) {
		memcpy(buf, json_string_value(v), json_string_length(v) + 1);
		return buf;
	}
	return esc(v, buf, len);
}

/* A whole number in buf, "-" when k is not a number of o. */
static const char *
ifmt(char *buf, size_t len, const json_t *o, const char *k)
{
	if (!has_num(o, k))
		return "-";
	snprintf(buf, len, "%lld", show_inum(o, k));
	return buf;
}

/* n with thousands separators: 1,234,567. */
static const char *
count(char *buf, size_t len, long long n)
{
	char d[32];
	size_t i, o = 0, nd;

	nd = (size_t)snprintf(d, sizeof d, "%lld", n < 0 ? -n : n);
	if (n < 0 && o + 1 < len)
		buf[o++] = '-';
	for (i = 0; i < nd && o + 2 < len; i++) {
		if (i > 0 && (nd - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = d[i];
	}
	buf[o] = '\0';
	return buf;
}

/* --- times -------------------------------------------------------------------------- */

/* A duration: 45s, 12m, 5h12m, 2d4h. */
static const char *
dur(char *buf, size_t len, long long s)
{
	if (s >= 86400)
		snprintf(buf, len, s % 86400 / 3600 ? "%lldd%lldh" : "%lldd", s / 86400,
		    s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, len, s % 3600 / 60 ? "%lldh%lldm" : "%lldh", s / 3600,
		    s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, len, "%lldm", s / 60);
	else
		snprintf(buf, len, "%llds", s);
	return buf;
}

const char *
show_dur(char *buf, size_t len, long long s)
{
	return dur(buf, len, s < 0 ? -s : s);
}

/* The time k of o as local "YYYY-MM-DD HH:MM", "-" when there is none. */
static const char *
when(char *buf, size_t len, const json_t *o, const char *k)
{
	time_t t = (time_t)show_inum(o, k);
	struct tm tm;

	if (t <= 0 || localtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M", &tm) == 0)
		return "-";
	return buf;
}

/* The time k of o relative to now: "5m ago", "in 2d4h", "now"; "-" when there is none. */
static const char *
rel(char *buf, size_t len, const json_t *o, const char *k, time_t now)
{
	long long t = show_inum(o, k), d = t - (long long)now;
	char b[32];

	if (t <= 0)
		return "-";
	if (d == 0)
		return "now";
	snprintf(buf, len, d > 0 ? "in %s" : "%s ago", dur(b, sizeof b, d > 0 ? d : -d));
	return buf;
}

/* --- the table helper -------------------------------------------------------------------- */

enum { COL_LEFT = 0, COL_RIGHT = 1, COL_CUT = 2, COL_WRAP = 4 };

/* A column: its header, width, and how a cell is fitted (COL_CUT: cut to the width with
 * '~'; COL_WRAP, last column only: wrapped to the line width; otherwise a wider cell
 * pushes the rest of its row right, so ids and addresses are never cut). */
struct col {
	const char *head;
	unsigned char width;
	unsigned char flags;
};

/* Display width of s, escaped text: one column per code point. */
static size_t
u8len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Bytes of the first n code points of s. */
static size_t
u8bytes(const char *s, size_t n)
{
	size_t i = 0;

	while (s[i] && n > 0) {
		i++;
		while (((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		n--;
	}
	return i;
}

static void
spaces(FILE *f, size_t n)
{
	while (n-- > 0)
		fputc(' ', f);
}

/* Prints s from column col on, breaking at spaces before LINE_WIDTH; continuation lines
 * start at column at. No newline at the end. */
static void
put_wrapped(FILE *f, size_t col, size_t at, const char *s)
{
	size_t room = col + 20 < LINE_WIDTH ? LINE_WIDTH - col : 20, cut, n;

	while (u8len(s) > room) {
		cut = u8bytes(s, room);
		for (n = cut; n > 0 && s[n] != ' '; n--)
			;
		if (n == 0)
			n = cut;
		fwrite(s, 1, n, f);
		fputc('\n', f);
		spaces(f, at);
		for (s += n; *s == ' '; s++)
			;
		room = at + 20 < LINE_WIDTH ? LINE_WIDTH - at : 20;
	}
	fputs(s, f);
}

/* One row of n cells (escaped text, NULL as empty) under columns c, indented by indent
 * spaces. A cell that does not fit pushes the next one right by what it needs, and the
 * row realigns where a later column has room (right-aligned cells give theirs). Trailing
 * empty cells print nothing, so lines carry no trailing blanks. */
static void
table_row(FILE *f, size_t indent, const struct col *c, size_t n, const char *const *cell)
{
	size_t i, pos = 0, start = indent, w, at, end = n;
	const char *s;

	while (end > 0 && (cell[end - 1] == NULL || cell[end - 1][0] == '\0'))
		end--;
	for (i = 0; i < end; start += c[i].width + 1u, i++) {
		s = cell[i] ? cell[i] : "";
		w = u8len(s);
		if ((c[i].flags & COL_CUT) && w > c[i].width && c[i].width > 1)
			w = c[i].width;
		at = (c[i].flags & COL_RIGHT) && w < c[i].width ? start + c[i].width - w : start;
		if (i > 0 && at < pos + 1)
			at = pos + 1;
		spaces(f, at - pos);
		pos = at;
		if (w < u8len(s)) {
			fwrite(s, 1, u8bytes(s, w - 1), f);
			fputc('~', f);
		} else if (c[i].flags & COL_WRAP)
			put_wrapped(f, pos, pos, s);
		else
			fputs(s, f);
		pos += w;
	}
	fputc('\n', f);
}

/* The header row of columns c. */
static void
table_head(FILE *f, size_t indent, const struct col *c, size_t n)
{
	const char *h[MAX_COLS];
	size_t i;

	for (i = 0; i < n && i < MAX_COLS; i++)
		h[i] = c[i].head;
	table_row(f, indent, c, i, h);
}

/* Safe text e ("" for none) wrapped as a line of its own: indent spaces, prefix, the
 * text; continuation lines indented by indent + 2. */
static void
put_text(FILE *f, size_t indent, const char *prefix, const char *e)
{
	size_t plen = strlen(prefix);

	spaces(f, indent);
	/* without text, the prefix's trailing blanks would trail the line */
	while (e[0] == '\0' && plen > 0 && prefix[plen - 1] == ' ')
		plen--;
	fwrite(prefix, 1, plen, f);
	put_wrapped(f, indent + strlen(prefix), indent + 2, e);
	fputc('\n', f);
}

/* put_text of the string v (not a string: empty), escaped. */
static void
put_line(FILE *f, size_t indent, const char *prefix, const json_t *v)
{
	size_t len = json_is_string(v) ? json_string_length(v) : 0;
	char *e;

	if ((e = malloc(4 * len + 1)) == NULL)
		return;
	text_escape(e, 4 * len + 1, len ? json_string_value(v) : "", len);
	put_text(f, indent, prefix, e);
	free(e);
}

/* put_text of a member the daemon escaped at its source (a list's TXT, an audit
 * outcome: views.h): its backslashes are not doubled on the way. */
static void
put_src_escaped(FILE *f, size_t indent, const char *prefix, const json_t *o, const char *k)
{
	char buf[4096];

	if (json_is_string(json_object_get(o, k)))
		put_text(f, indent, prefix, show_src_escaped(o, k, buf, sizeof buf));
	else
		put_text(f, indent, prefix, "");
}

/* Every string of the array k of o, one line each (see put_line). */
static void
put_lines(FILE *f, size_t indent, const json_t *o, const char *k)
{
	const json_t *v;
	size_t i;

	json_array_foreach(show_arr(o, k), i, v)
		if (json_is_string(v))
			put_line(f, indent, "", v);
	if (json_array_size(show_arr(o, k)) == 0 && indent == 2)
		fprintf(f, "  (none)\n");
}

/* The strings of the array k of o on the current line, sep between them; "-" when there
 * is none. */
static void
put_words(FILE *f, const json_t *o, const char *k, const char *sep)
{
	const json_t *v;
	char b[CELL];
	size_t i;

	json_array_foreach(show_arr(o, k), i, v)
		fprintf(f, "%s%s", i ? sep : "", esc(v, b, sizeof b));
	if (json_array_size(show_arr(o, k)) == 0)
		fputc('-', f);
}

/* Cell buffers for one row. */
struct cells {
	char b[MAX_COLS][CELL];
	const char *c[MAX_COLS];
};

/* --- status ---------------------------------------------------------------------------- */

static const struct col list_cols[] = {
	{ "LIST", 16, COL_CUT }, { "ZONE", 26, COL_CUT }, { "SCOPE", 5, 0 },
	{ "HEALTH", 8, 0 }, { "REASON", 20, COL_WRAP },
};

/* The bounds the daemon reached (rangewatchd(8), LIMITS), one line: what each turned away, or
 * that none was reached. */
static void
status_limits(FILE *f, const json_t *r)
{
	static const struct {
		const char *obj, *key, *what;
	} lim[] = {
		{ "capture", "connections_untracked", "connections not followed (max_flows)" },
		{ "capture", "sources_untracked", "frames of untracked sources (max_ips)" },
		{ "capture", "sources_evicted", "idle sources forgotten to make room (max_ips)" },
		{ NULL, "tracked_ips_refused", "IPs turned away by the risk engine (max_ips)" },
		{ "control", "refused", "connections refused" },
		{ "control", "dropped_slow", "slow clients dropped" },
		{ "control", "too_big", "replies over the reply bound refused" },
		{ "control", "dropped_bad", "bad clients dropped" },
		{ "alerts", "outbox_full", "alerts LOST to a full outbox" },
		{ "hooks", "refused", "hook runs refused" },
		{ "hooks", "output_cut", "hook outputs cut at 8 KiB" },
	};
	char b[32], item[128];
	size_t i, col = 9;
	long long n;
	int any = 0;

	fprintf(f, "limits   ");
	for (i = 0; i < sizeof lim / sizeof lim[0]; i++) {
		n = show_inum(lim[i].obj ? json_object_get(r, lim[i].obj) : r, lim[i].key);
		if (n <= 0)
			continue;
		snprintf(item, sizeof item, " %s %s", count(b, sizeof b, n), lim[i].what);
		if (any++) {
			/* 80 columns: the comma, then the item here or on a line of its own */
			fputc(',', f);
			if (++col + strlen(item) > 80) {
				fputs("\n         ", f);
				col = 9;
			}
		}
		fputs(item, f);
		col += strlen(item);
	}
	fprintf(f, "%s\n", any ? "" : " none reached");
}

/* "1.2 ms" for a count of microseconds. */
static const char *
usec(char *buf, size_t len, long long us)
{
	if (us < 1000)
		snprintf(buf, len, "%lld us", us);
	else if (us < 10000000)
		snprintf(buf, len, "%.1f ms", (double)us / 1000.0);
	else
		snprintf(buf, len, "%.1f s", (double)us / 1e6);
	return buf;
}

/* The capture thread's hand-over ring, the kernel's ring, and the loop's turns (a daemon
 * without them, an older one, prints nothing of them). */
static void
status_capture(FILE *f, const json_t *cap, const json_t *loop)
{
	const json_t *k = json_object_get(cap, "kernel"), *ring = json_object_get(cap, "ring");
	char a[64], b[64], c[64], e[64], h[64], g[CELL];

	if (json_is_object(k))
		fprintf(f, "          kernel ring %s MiB, %s frames waiting in it\n",
		    count(a, sizeof a, show_inum(k, "ring_bytes") >> 20),
		    count(b, sizeof b, show_inum(k, "backlog_frames")));
	if (json_is_object(ring) && json_is_true(json_object_get(ring, "thread")))
		fprintf(f, "          hand-over: %s events, %s lost, backlog p50 %s p99 %s max %s "
		    "of %s\n", count(a, sizeof a, show_inum(ring, "events")),
		    count(b, sizeof b, show_inum(ring, "lost")),
		    count(c, sizeof c, show_inum(ring, "backlog_p50")),
		    count(e, sizeof e, show_inum(ring, "backlog_p99")),
		    count(g, sizeof g, show_inum(ring, "backlog_max")),
		    count(h, sizeof h, show_inum(ring, "capacity")));
	if (json_is_object(loop)) {
		fprintf(f, "loop turns %s: p50 %s, p99 %s, max %s", count(a, sizeof a,
		    show_inum(loop, "turns")), usec(b, sizeof b, show_inum(loop, "p50_us")),
		    usec(c, sizeof c, show_inum(loop, "p99_us")),
		    usec(e, sizeof e, show_inum(loop, "max_us")));
		fprintf(f, ", %s over 100 ms\n", count(a, sizeof a, show_inum(loop, "over_100ms")));
		if (show_inum(loop, "over_100ms") > 0)
			fprintf(f, "          longest in %s (%s)\n", show_str(loop, "slowest", g,
			    sizeof g), usec(b, sizeof b, show_inum(loop, "slowest_us")));
	}
}

int
show_status(FILE *f, const json_t *r, time_t now)
{
	const json_t *cap, *rep, *lv, *d, *l;
	char a[CELL], b[64], c[64], e[64], g[64];
	struct cells x;
	size_t i;

	if (!json_is_object(r))
		return -1;
	if (has_num(r, "now"))
		now = (time_t)show_inum(r, "now");
	/* uptime is wall time; "now" may be a replay's packet time */
	fprintf(f, "rangewatchd %s, pid %s, up since %s (%s)\n",
	    show_str(r, "version", a, sizeof a), ifmt(b, sizeof b, r, "pid"),
	    when(c, sizeof c, r, "started"),
	    has_num(r, "uptime") ? dur(e, sizeof e, show_inum(r, "uptime")) : "-");
	fprintf(f, "clock     %s, %s\n", show_str(r, "clock", a, sizeof a),
	    when(c, sizeof c, r, "now"));
	cap = json_object_get(r, "capture");
	fprintf(f, "capture   %s", show_str(cap, "source", a, sizeof a));
	if (json_is_string(json_object_get(cap, "interface")) &&
	    json_string_length(json_object_get(cap, "interface")) > 0)
		fprintf(f, " %s", show_str(cap, "interface", a, sizeof a));
	fprintf(f, ", %.1f pps\n", num(cap, "pps"));
	fprintf(f, "          %s packets, %s SMTP, %s malformed, %s truncated\n",
	    count(b, sizeof b, show_inum(cap, "packets")), count(c, sizeof c, show_inum(cap, "smtp")),
	    count(e, sizeof e, show_inum(cap, "malformed")),
	    count(g, sizeof g, show_inum(cap, "truncated")));
	fprintf(f, "          %s dropped, %s by the interface\n",
	    count(b, sizeof b, show_inum(cap, "drops")), count(c, sizeof c, show_inum(cap, "ifdrops")));
	status_capture(f, cap, json_object_get(r, "loop"));
	if (json_is_object(rep = json_object_get(cap, "replay"))) {
		snprintf(e, sizeof e, "at speed %.1f", num(rep, "speed"));
		fprintf(f, "          replay: %s files %s, %s frames, %s\n",
		    count(b, sizeof b, show_inum(rep, "files")), num(rep, "speed") > 0 ? e :
		    "as fast as it goes", count(c, sizeof c, show_inum(rep, "frames")),
		    json_is_true(json_object_get(rep, "done")) ? "done" : "running");
	}
	fprintf(f, "senders   %s IPs tracked, %s customers in the map\n",
	    count(b, sizeof b, show_inum(r, "ips")), count(c, sizeof c, show_inum(r, "customers")));
	lv = json_object_get(r, "levels");
	fprintf(f, "levels    act %s, warn %s, watch %s\n", count(b, sizeof b, show_inum(lv, "act")),
	    count(c, sizeof c, show_inum(lv, "warn")), count(e, sizeof e, show_inum(lv, "watch")));
	d = json_object_get(r, "dnsbl");
	fprintf(f, "dnsbl     %s asked, %s answered, %s listed now, last answer %s\n",
	    count(b, sizeof b, show_inum(d, "asked")), count(c, sizeof c, show_inum(d, "answered")),
	    count(e, sizeof e, show_inum(d, "listed")), rel(g, sizeof g, d, "last_answer", now));
	fprintf(f, "evaluated %s (%s)\n", when(b, sizeof b, r, "evaluated"),
	    rel(c, sizeof c, r, "evaluated", now));
	fprintf(f, "clients   %s on the control socket\n", ifmt(b, sizeof b, r, "clients"));
	status_limits(f, r);
	fputc('\n', f);
	table_head(f, 0, list_cols, 5);
	json_array_foreach(show_arr(r, "lists"), i, l) {
		x.c[0] = show_str(l, "name", x.b[0], CELL);
		x.c[1] = show_str(l, "zone", x.b[1], CELL);
		x.c[2] = show_str(l, "scope", x.b[2], CELL);
		x.c[3] = json_is_false(json_object_get(l, "enabled")) ? "off" :
		    show_str(l, "health", x.b[3], CELL);
		x.c[4] = json_is_string(json_object_get(l, "reason")) ?
		    show_str(l, "reason", x.b[4], CELL) : "";
		table_row(f, 0, list_cols, 5, x.c);
	}
	return 0;
}

/* --- neighbourhoods (ranges, and a customer's) ------------------------------------------- */

static const struct col nb_cols[] = {
	{ "KEY", 18, 0 }, { "POLICY", 12, COL_CUT }, { "IMPACTS", 7, COL_RIGHT },
	{ "+SUS", 4, COL_RIGHT }, { "PRESS", 5, COL_RIGHT }, { "PROJ", 5, COL_RIGHT },
	{ "ETA", 9, COL_RIGHT }, { "CLEAR", 10, COL_RIGHT },
};

/* "in 2d4h" for a forecast time k, "-" when null; at or before now: past. */
static const char *
forecast(char *buf, size_t len, const json_t *o, const char *k, time_t now, const char *past)
{
	const json_t *v = json_object_get(o, k);

	if (!json_is_number(v))
		return "-";
	if (json_number_value(v) <= (double)now)
		return past;
	return rel(buf, len, o, k, now);
}

/* One neighbourhood row, then (detail) what else the daemon says of it. */
static void
nb_row(FILE *f, const json_t *n, time_t now, int detail)
{
	const json_t *v;
	struct cells x;
	char a[CELL], b[64];
	FILE *m;
	char *s = NULL;
	size_t i, len = 0;

	x.c[0] = show_str(n, "key", x.b[0], CELL);
	x.c[1] = show_str(n, "policy", x.b[1], CELL);
	snprintf(x.b[2], CELL, "%lld/%lld", show_inum(n, "impacts"), show_inum(n, "threshold"));
	x.c[2] = x.b[2];
	snprintf(x.b[3], CELL, "+%lld", show_inum(n, "provisional") + show_inum(n, "suspects"));
	x.c[3] = show_inum(n, "provisional") + show_inum(n, "suspects") > 0 ? x.b[3] : "";
	snprintf(x.b[4], CELL, "%.0f%%", num(n, "pressure") * 100);
	x.c[4] = has_num(n, "pressure") ? x.b[4] : "-";
	snprintf(x.b[5], CELL, "%.0f%%", num(n, "projected") * 100);
	x.c[5] = has_num(n, "projected") ? x.b[5] : "-";
	x.c[6] = json_is_true(json_object_get(n, "escalated")) ? "ESCALATED" :
	    json_is_true(json_object_get(n, "reported_escalated")) ? "REPORTED" :
	    forecast(x.b[6], CELL, n, "eta_threshold", now, "now");
	x.c[7] = forecast(x.b[7], CELL, n, "clear_at", now, "cleared");
	table_row(f, 0, nb_cols, 8, x.c);
	if (!detail || (m = open_memstream(&s, &len)) == NULL)
		return;
	if (json_is_true(json_object_get(n, "escalated")))
		fprintf(m, "; escalated since %s", when(b, sizeof b, n, "escalated_since"));
	else if (json_is_true(json_object_get(n, "reported_escalated")))
		fprintf(m, "; reported listed by remote servers since %s, not yet seen in DNS",
		    when(b, sizeof b, n, "reported_since"));
	if (show_inum(n, "provisional") > 0)
		fprintf(m, "; %lld reported listed, not yet in DNS", show_inum(n, "provisional"));
	if (has_num(n, "estimated"))
		fprintf(m, "; about %.1f estimated trap hits", num(n, "estimated"));
	if (has_num(n, "list_count"))
		fprintf(m, "; the list's TXT counts %lld", show_inum(n, "list_count"));
	if (has_num(n, "clear_all_at"))
		fprintf(m, "; all clear %s", forecast(b, sizeof b, n, "clear_all_at", now, "now"));
	if (has_num(n, "ips"))
		fprintf(m, "; %lld IPs, %lld of customers", show_inum(n, "ips"), show_inum(n, "customer_ips"));
	if (has_num(n, "spamscore") && strcmp(show_str(n, "scope", a, sizeof a), "asn") == 0)
		fprintf(m, "; SPAMSCORE %.1f", num(n, "spamscore"));
	json_array_foreach(show_arr(n, "contributors"), i, v)
		fprintf(m, "%s%s %s (%lld+%lld)", i ? ", " : "; contributors: ",
		    show_str(v, "id", a, sizeof a / 2), show_str(v, "name", a + sizeof a / 2,
		    sizeof a / 2), show_inum(v, "impacts"), show_inum(v, "suspects"));
	if (fclose(m) == 0 && len > 2) {
		spaces(f, 2);
		put_wrapped(f, 2, 4, s + 2);
		fputc('\n', f);
	}
	free(s);
}

/* A table of the neighbourhoods in array a. */
static void
nb_table(FILE *f, const json_t *a, time_t now, int detail)
{
	const json_t *n;
	size_t i;

	if (json_array_size(a) == 0) {
		fprintf(f, "  (none)\n");
		return;
	}
	table_head(f, 0, nb_cols, 8);
	json_array_foreach(a, i, n)
		nb_row(f, n, now, detail);
}

/* "N of TOTAL WHAT (--limit 0 shows all)" when the limit hid some. */
static void
shown_of(FILE *f, const json_t *r, size_t shown, const char *what)
{
	if (has_num(r, "total") && show_inum(r, "total") > (long long)shown)
		fprintf(f, "%zu of %lld %s shown (--limit 0 shows all)\n", shown, show_inum(r, "total"),
		    what);
}

int
show_ranges(FILE *f, const json_t *r, time_t now)
{
	const json_t *a = show_arr(r, "neighbourhoods");

	if (!json_is_object(r))
		return -1;
	if (json_array_size(a) == 0) {
		fprintf(f, "no neighbourhood under pressure\n");
		return 0;
	}
	nb_table(f, a, now, 1);
	shown_of(f, r, json_array_size(a), "neighbourhoods");
	fprintf(f, "IMPACTS: our IPs listed on the feeding list / threshold; +SUS: suspects not "
	    "yet\nlisted; PROJ: with them; ETA: the threshold at the recent pace.\n");
	return 0;
}

/* --- customers --------------------------------------------------------------------------- */

static const struct col cust_cols[] = {
	{ "LEVEL", 5, 0 }, { "ID", 6, 0 }, { "NAME", 12, COL_CUT }, { "SCORE", 5, COL_RIGHT },
	{ "L/S", 5, COL_RIGHT }, { "S/1H", 5, COL_RIGHT }, { "WORST NEIGHBOURHOOD", 36, COL_WRAP },
};

/* The neighbourhood of c with the highest projected pressure, NULL when none. */
static const json_t *
worst(const json_t *c)
{
	const json_t *n, *w = NULL;
	size_t i;

	json_array_foreach(show_arr(c, "neighbourhoods"), i, n)
		if (w == NULL || num(n, "projected") > num(w, "projected"))
			w = n;
	return w;
}

/* "acknowledged by alice at 2024-05-04 10:00: reason", when c is acknowledged. */
static void
ack_line(FILE *f, size_t indent, const json_t *c)
{
	const json_t *ack = json_object_get(c, "ack");
	char by[CELL], ts[64], pre[CELL + 96];

	if (!json_is_object(ack))
		return;
	snprintf(pre, sizeof pre, "acknowledged by %s at %s: ", show_str(ack, "by", by, sizeof by),
	    when(ts, sizeof ts, ack, "ts"));
	put_line(f, indent, pre, json_object_get(ack, "reason"));
}

int
show_customers(FILE *f, const json_t *r, time_t now)
{
	const json_t *a = show_arr(r, "customers"), *c, *w;
	char k[80], p[80];	/* with the numbers, they fit a cell: nothing cut mid-character */
	struct cells x;
	size_t i;

	(void)now;
	if (!json_is_object(r))
		return -1;
	if (json_array_size(a) == 0) {
		fprintf(f, "no flagged customer (--all shows every customer)\n");
		return 0;
	}
	table_head(f, 0, cust_cols, 7);
	json_array_foreach(a, i, c) {
		x.c[0] = show_str(c, "level", x.b[0], CELL);
		x.c[1] = show_str(c, "id", x.b[1], CELL);
		x.c[2] = show_str(c, "name", x.b[2], CELL);
		snprintf(x.b[3], CELL, "%.1f", num(c, "score"));
		x.c[3] = has_num(c, "score") ? x.b[3] : "-";
		snprintf(x.b[4], CELL, "%lld/%lld", show_inum(c, "listed_ips"), show_inum(c, "suspect_ips"));
		x.c[4] = x.b[4];
		x.c[5] = ifmt(x.b[5], CELL, json_object_get(c, "smtp_1h"), "sessions");
		x.c[6] = "";
		if ((w = worst(c)) != NULL) {
			snprintf(x.b[6], CELL, "%s %s %lld/%lld", show_str(w, "key", k, sizeof k),
			    show_str(w, "policy", p, sizeof p), show_inum(w, "impacts"),
			    show_inum(w, "threshold"));
			if (show_inum(w, "suspects") > 0)
				snprintf(x.b[6] + strlen(x.b[6]), CELL - strlen(x.b[6]), " (+%lld)",
				    show_inum(w, "suspects"));
			x.c[6] = x.b[6];
		}
		table_row(f, 0, cust_cols, 7, x.c);
		if (strcmp(x.c[0], "none") != 0 && strcmp(x.c[0], "-") != 0) {
			ack_line(f, 6, c);
			put_lines(f, 6, c, "evidence");
		}
	}
	shown_of(f, r, json_array_size(a), "customers");
	fprintf(f, "L/S: listed/suspect IPs; S/1H: SMTP sessions in the last hour; a "
	    "neighbourhood\nas KEY POLICY impacts/threshold (+suspects).\n");
	return 0;
}

/* --- alerts (and a customer's history and audit) -------------------------------------- */

static const struct col flag_cols[] = {
	{ "TIME", 16, 0 }, { "CUSTOMER", 8, 0 }, { "NAME", 16, COL_CUT },
	{ "CHANGE", 14, 0 }, { "SCORE", 6, COL_RIGHT },
};

static const struct col audit_cols[] = {
	{ "TIME", 16, 0 }, { "AUDIT", 6, COL_RIGHT }, { "ACTOR", 10, COL_CUT },
	{ "ACTION", 9, 0 }, { "CUSTOMER", 8, 0 }, { "REASON", 25, COL_WRAP },
};

static const struct col delivery_cols[] = {
	{ "CREATED", 16, 0 }, { "KIND", 7, 0 }, { "STATE", 6, 0 }, { "TRIES", 5, COL_RIGHT },
	{ "SUBJECT", 40, COL_WRAP },
};

/* The alert outbox rows in array a; the last error under a row that has one. */
static void
delivery_table(FILE *f, const json_t *a)
{
	const json_t *e;
	char b[CELL];
	struct cells x;
	size_t i;

	if (json_array_size(a) == 0) {
		fprintf(f, "  (none)\n");
		return;
	}
	table_head(f, 0, delivery_cols, 5);
	json_array_foreach(a, i, e) {
		x.c[0] = when(x.b[0], CELL, e, "created");
		x.c[1] = show_str(e, "kind", x.b[1], CELL);
		x.c[2] = show_str(e, "state", x.b[2], CELL);
		x.c[3] = ifmt(x.b[3], CELL, e, "tries");
		x.c[4] = show_str(e, "subject", x.b[4], CELL);
		table_row(f, 0, delivery_cols, 5, x.c);
		if (json_is_string(json_object_get(e, "last_error")) &&
		    json_string_length(json_object_get(e, "last_error")) > 0)
			fprintf(f, "    last error: %s\n", show_str(e, "last_error", b, sizeof b));
	}
}

/* The level changes in array a, each with its evidence. */
static void
flag_table(FILE *f, const json_t *a)
{
	const json_t *fl;
	char prev[64], lvl[64];
	struct cells x;
	size_t i;

	if (json_array_size(a) == 0) {
		fprintf(f, "  (none)\n");
		return;
	}
	table_head(f, 0, flag_cols, 5);
	json_array_foreach(a, i, fl) {
		x.c[0] = when(x.b[0], CELL, fl, "ts");
		x.c[1] = show_str(fl, "customer", x.b[1], CELL);
		x.c[2] = show_str(fl, "name", x.b[2], CELL);
		snprintf(x.b[3], CELL, "%s -> %s", show_str(fl, "previous", prev, sizeof prev),
		    show_str(fl, "level", lvl, sizeof lvl));
		x.c[3] = x.b[3];
		snprintf(x.b[4], CELL, "%.1f", num(fl, "score"));
		x.c[4] = has_num(fl, "score") ? x.b[4] : "-";
		table_row(f, 0, flag_cols, 5, x.c);
		put_lines(f, 4, fl, "evidence");
	}
}

/* The audit entries in array a, each with its outcome. */
static void
audit_table(FILE *f, const json_t *a)
{
	const json_t *e;
	struct cells x;
	size_t i;

	if (json_array_size(a) == 0) {
		fprintf(f, "  (none)\n");
		return;
	}
	table_head(f, 0, audit_cols, 6);
	json_array_foreach(a, i, e) {
		x.c[0] = when(x.b[0], CELL, e, "ts");
		snprintf(x.b[1], CELL, "#%lld", show_inum(e, "id"));
		x.c[1] = x.b[1];
		x.c[2] = show_str(e, "actor", x.b[2], CELL);
		x.c[3] = show_str(e, "action", x.b[3], CELL);
		x.c[4] = show_str(e, "customer", x.b[4], CELL);
		x.c[5] = show_str(e, "reason", x.b[5], CELL);
		table_row(f, 0, audit_cols, 6, x.c);
		if (json_is_string(json_object_get(e, "outcome")))
			put_src_escaped(f, 4, "outcome: ", e, "outcome");
	}
}

int
show_alerts(FILE *f, const json_t *r, time_t now)
{
	(void)now;
	if (!json_is_object(r))
		return -1;
	fprintf(f, "level changes, newest first:\n");
	flag_table(f, show_arr(r, "flags"));
	fprintf(f, "\naudit log, newest first:\n");
	audit_table(f, show_arr(r, "audit"));
	if (json_is_array(json_object_get(r, "deliveries"))) {
		fprintf(f, "\nalert deliveries, newest first:\n");
		delivery_table(f, show_arr(r, "deliveries"));
	}
	return 0;
}

/* --- one customer ------------------------------------------------------------------------ */

static const struct col addr_cols[] = {
	{ "IP", 15, 0 }, { "SESS", 6, COL_RIGHT }, { "FROM", 5, COL_RIGHT },
	{ "RCPT", 6, COL_RIGHT }, { "DATA", 5, COL_RIGHT }, { "TLS", 4, COL_RIGHT },
	{ "4XX", 4, COL_RIGHT }, { "5XX", 4, COL_RIGHT }, { "CITED", 5, COL_RIGHT },
	{ "DST", 5, COL_RIGHT }, { "LAST SEEN", 10, COL_RIGHT },
};

static const char *const addr_counters[] = {
	"sessions", "mail_from", "rcpt_to", "data", "starttls", "replies_4xx", "replies_5xx",
	"cited", "dst",
};

/* The addresses of a customer, each with its suspect rules and its listings. */
static void
addr_table(FILE *f, const json_t *a, time_t now)
{
	const json_t *ad, *l;
	char pre[3 * CELL], b1[CELL], b2[64], b3[64], b4[CELL];
	struct cells x;
	size_t i, k;

	if (json_array_size(a) == 0) {
		fprintf(f, "  (none)\n");
		return;
	}
	table_head(f, 0, addr_cols, 11);
	json_array_foreach(a, i, ad) {
		x.c[0] = show_str(ad, "ip", x.b[0], CELL);
		for (k = 0; k < 9; k++)
			x.c[k + 1] = ifmt(x.b[k + 1], CELL, ad, addr_counters[k]);
		x.c[10] = rel(x.b[10], CELL, ad, "last_seen", now);
		table_row(f, 0, addr_cols, 11, x.c);
		if (json_is_true(json_object_get(ad, "suspect"))) {
			fprintf(f, "    suspect: ");
			put_words(f, ad, "rules", ", ");
			fputc('\n', f);
		}
		json_array_foreach(show_arr(ad, "listings"), k, l) {
			if (json_is_true(json_object_get(l, "listed")))
				snprintf(pre, sizeof pre, "%s listed since %s, seen %s: %s ",
				    show_str(l, "list", b1, sizeof b1), when(b2, sizeof b2, l,
				    "first_seen"), rel(b3, sizeof b3, l, "last_seen", now),
				    show_str(l, "codes", b4, sizeof b4));
			else if (has_num(l, "first_seen") && show_inum(l, "first_seen") > 0) {
				fprintf(f, "    %s clean now, listed from %s to %s\n",
				    show_str(l, "list", b1, sizeof b1), when(b2, sizeof b2, l,
				    "first_seen"), when(b3, sizeof b3, l, "last_seen"));
				continue;
			} else {
				fprintf(f, "    %s clean\n", show_str(l, "list", b1, sizeof b1));
				continue;
			}
			put_src_escaped(f, 4, pre, l, "txt");
		}
	}
}

int
show_customer(FILE *f, const json_t *c, time_t now)
{
	const json_t *s;
	char a[CELL], b[CELL], t[64];

	if (!json_is_object(c))
		return -1;
	fprintf(f, "customer  %s  %s\n", show_str(c, "id", a, sizeof a),
	    show_str(c, "name", b, sizeof b));
	fprintf(f, "level     %s, score %.1f, since %s\n", show_str(c, "level", a, sizeof a),
	    num(c, "score"), when(t, sizeof t, c, "since"));
	ack_line(f, 10, c);
	fprintf(f, "contact   %s\n", show_str(c, "contact", a, sizeof a));
	fprintf(f, "tags      ");
	put_words(f, c, "tags", " ");
	fprintf(f, "\ncidrs     ");
	put_words(f, c, "ips", " ");
	s = json_object_get(c, "smtp_1h");
	fprintf(f, "\nsmtp 1h   %lld sessions, %lld RCPT, %lld 5xx (%lld citing a list), %lld "
	    "destinations\n", show_inum(s, "sessions"), show_inum(s, "rcpt"), show_inum(s, "replies_5xx"),
	    show_inum(s, "cited"), show_inum(s, "dst"));
	fprintf(f, "\nevidence:\n");
	put_lines(f, 2, c, "evidence");
	fprintf(f, "\nneighbourhoods:\n");
	nb_table(f, show_arr(c, "neighbourhoods"), now, 0);
	fprintf(f, "\naddresses (counters since first seen):\n");
	addr_table(f, show_arr(c, "addresses"), now);
	fprintf(f, "\nlevel changes, newest first:\n");
	flag_table(f, show_arr(c, "history"));
	fprintf(f, "\naudit log, newest first:\n");
	audit_table(f, show_arr(c, "audit"));
	return 0;
}

/* --- listings ------------------------------------------------------------------------- */

static const struct col listing_cols[] = {
	{ "LIST", 12, COL_CUT }, { "KEY", 18, 0 }, { "SINCE", 16, 0 }, { "SEEN", 8, COL_RIGHT },
	{ "EXPIRES", 9, COL_RIGHT }, { "CUSTOMER", 11, 0 },
};

int
show_listings(FILE *f, const json_t *r, time_t now)
{
	const json_t *a = show_arr(r, "listings"), *l;
	char codes[CELL], pre[CELL + 2];
	struct cells x;
	size_t i;
	int listed;

	if (!json_is_object(r))
		return -1;
	if (json_array_size(a) == 0) {
		fprintf(f, "no listing\n");
		return 0;
	}
	table_head(f, 0, listing_cols, 6);
	json_array_foreach(a, i, l) {
		listed = json_is_true(json_object_get(l, "listed"));
		x.c[0] = show_str(l, "list", x.b[0], CELL);
		x.c[1] = show_str(l, "key", x.b[1], CELL);
		x.c[2] = listed ? when(x.b[2], CELL, l, "first_seen") : "clean";
		x.c[3] = rel(x.b[3], CELL, l, "last_seen", now);
		x.c[4] = listed ? forecast(x.b[4], CELL, l, "expires", now, "due") : "";
		x.c[5] = show_str(l, "customer", x.b[5], CELL);
		table_row(f, 0, listing_cols, 6, x.c);
		if (listed) {
			snprintf(pre, sizeof pre, "%s ", show_str(l, "codes", codes, sizeof codes));
			put_src_escaped(f, 4, pre, l, "txt");
		}
	}
	shown_of(f, r, json_array_size(a), "listings");
	return 0;
}

/* --- the exchange ------------------------------------------------------------------------ */

int
show_check_arg(const char *prog, const char *opt, const char *s, size_t max)
{
	size_t len = strlen(s);
	char e[4 * 64 + 1];

	if (len == 0) {
		fprintf(stderr, "%s: %s must not be empty\n", prog, opt);
		return -1;
	}
	if (len > max) {
		fprintf(stderr, "%s: %s is %zu bytes long: at most %zu\n", prog, opt, len, max);
		return -1;
	}
	if (!text_is_clean(s, len)) {
		text_escape(e, sizeof e, s, len);
		fprintf(stderr, "%s: %s must be one line of printable text, without control "
		    "characters or invalid UTF-8: \"%s\"\n", prog, opt, e);
		return -1;
	}
	return 0;
}

int
show_run(const struct show_call *sc)
{
	char path[256], err[1024];
	struct client *c;
	json_t *res = NULL, *st = NULL;
	time_t now = time(NULL);
	int rc = 1;

	if (client_socket_path(sc->socket, sc->config, path, sizeof path, err,
	    sizeof err) == -1) {
		fprintf(stderr, "%s: %s\n", sc->prog, err);
		return 2;
	}
	if ((c = client_connect(path, err, sizeof err)) == NULL) {
		fprintf(stderr, "%s: %s\n%s: is rangewatchd running? (it listens on the socket its "
		    "config names; -c FILE or -s SOCKET for another one)\n", sc->prog, err,
		    sc->prog);
		return 1;
	}
	/* relative times follow the daemon's clock, which is packet time when replaying */
	if (sc->need_now && !sc->json &&
	    client_call(c, "status", NULL, &st, CLIENT_TIMEOUT_MS, err, sizeof err) == 0 &&
	    has_num(st, "now"))
		now = (time_t)show_inum(st, "now");
	json_decref(st);
	if (client_call(c, sc->cmd, sc->args, &res, CLIENT_TIMEOUT_MS, err, sizeof err) == -1) {
		fprintf(stderr, "%s: %s\n", sc->prog, err);
		goto out;
	}
	if (sc->json) {
		if (text_json_dumpf(res, stdout, JSON_COMPACT | JSON_ENCODE_ANY) == 0)
			fputc('\n', stdout);
	} else if (sc->print(stdout, res, now) == -1) {
		fprintf(stderr, "%s: rangewatchd sent a %s result that is not an object\n",
		    sc->prog, sc->cmd);
		goto out;
	}
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "%s: writing the output failed\n", sc->prog);
		goto out;
	}
	rc = 0;
out:
	json_decref(res);
	client_free(c);
	return rc;
}

/* --- the subcommands --------------------------------------------------------------------- */

enum {
	O_ALL = 1 << 0, O_LIMIT = 1 << 1, O_FILTER = 1 << 2, O_RANGE = 1 << 3,
	O_LIST = 1 << 4, O_POLICY = 1 << 5, O_CUSTOMER = 1 << 6, O_ID = 1 << 7
};

/* The options of the read commands; a view takes those of its bits (0: every view). */
static const struct {
	struct option o;
	unsigned bit;
	const char *arg;	/* its argument in the synopsis */
	const char *help;
} options[] = {
	{ { "config", required_argument, NULL, 'c' }, 0, NULL, NULL },
	{ { "socket", required_argument, NULL, 's' }, 0, NULL, NULL },
	{ { "json", no_argument, NULL, 'j' }, 0, NULL, NULL },
	{ { "help", no_argument, NULL, 'h' }, 0, NULL, NULL },
	{ { "all", no_argument, NULL, 'a' }, O_ALL, "",
	    "  --all          also customers at level none, listings that are clean\n" },
	{ { "limit", required_argument, NULL, 'l' }, O_LIMIT, " N",
	    "  --limit N      at most N rows (0: all; the daemon has a default)\n" },
	{ { "filter", required_argument, NULL, 'f' }, O_FILTER, " TEXT",
	    "  --filter TEXT  customers whose id or name holds TEXT\n" },
	{ { "range", required_argument, NULL, 'r' }, O_RANGE, " CIDR",
	    "  --range CIDR   customers with addresses in CIDR\n" },
	{ { "list", required_argument, NULL, 'L' }, O_LIST, " NAME",
	    "  --list NAME    only what is listed on the list NAME\n" },
	{ { "policy", required_argument, NULL, 'p' }, O_POLICY, " NAME",
	    "  --policy NAME  only the neighbourhoods of the escalation policy NAME\n" },
	{ { "customer", required_argument, NULL, 'u' }, O_CUSTOMER, " ID",
	    "  --customer ID  only the alerts and audit entries of customer ID\n" },
};
#define NOPTIONS	(sizeof options / sizeof options[0])

struct view {
	const char *name;
	unsigned opts;
	int need_now;
	show_fn print;
	const char *about;
};

static const struct view views[] = {
	{ "status", 0, 0, show_status,
	    "The daemon: uptime, clock, capture, levels, the lists' health." },
	{ "customers", O_ALL | O_LIMIT | O_FILTER | O_RANGE | O_LIST | O_ID, 1, show_customers,
	    "Flagged customers, worst first, with their evidence; with an ID, that customer's\n"
	    "addresses, listings, history and audit log." },
	{ "ranges", O_LIMIT | O_POLICY, 1, show_ranges,
	    "Neighbourhoods (ranges, ASNs) by projected pressure toward escalation." },
	{ "listings", O_LIST | O_ALL | O_LIMIT, 1, show_listings,
	    "What the DNSBLs list of ours now, with their TXT." },
	{ "alerts", O_LIMIT | O_CUSTOMER, 0, show_alerts,
	    "Level changes and the audit log, newest first." },
};

static void
show_usage(FILE *f, const struct view *v)
{
	size_t i;

	fprintf(f, "usage: rangewatch %s [-c FILE] [-s SOCKET] [--json]", v->name);
	for (i = 0; i < NOPTIONS; i++)
		if (options[i].bit & v->opts)
			fprintf(f, " [--%s%s]", options[i].o.name, options[i].arg);
	fprintf(f, "%s\n%s\n" SHOW_COMMON_HELP, v->opts & O_ID ? " [ID]" : "", v->about);
	for (i = 0; i < NOPTIONS; i++)
		if (options[i].bit & v->opts)
			fputs(options[i].help, f);
	fputs(SHOW_EXIT_HELP, f);
}

/* --limit's argument: 0..MAX_LIMIT, else -1. */
static long
parse_limit(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);

	return *s == '\0' || *end != '\0' || n < 0 || n > MAX_LIMIT ? -1 : n;
}

/* Sets the member k of args to the text argument s of option opt after checking it. */
static int
text_arg(const char *prog, json_t *args, const char *k, const char *opt, const char *s)
{
	if (show_check_arg(prog, opt, s, MAX_ARG) == -1)
		return -1;
	return json_object_set_new(args, k, json_string(s));
}

int
show_main(int argc, char **argv)
{
	struct option lo[NOPTIONS + 1];
	const struct view *v = NULL;
	struct show_call sc = { 0 };
	struct rw_cidr cidr;
	char prog[64];
	json_t *args;
	size_t i, n = 0;
	long limit;
	int ch, rc = 2;

	for (i = 0; i < sizeof views / sizeof views[0]; i++)
		if (strcmp(argv[0], views[i].name) == 0)
			v = &views[i];
	if (v == NULL || (args = json_object()) == NULL)
		return 2;
	snprintf(prog, sizeof prog, "rangewatch %s", v->name);
	for (i = 0; i < NOPTIONS; i++)
		if (options[i].bit == 0 || (options[i].bit & v->opts))
			lo[n++] = options[i].o;
	memset(&lo[n], 0, sizeof lo[n]);
	sc = (struct show_call){ .prog = prog, .cmd = v->name, .args = args,
	    .need_now = v->need_now, .print = v->print };
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:s:h", lo, NULL)) != -1) {
		switch (ch) {
		case 'c': sc.config = optarg; break;
		case 's': sc.socket = optarg; break;
		case 'j': sc.json = 1; break;
		case 'a':
			if (json_object_set_new(args, "all", json_true()) == -1)
				goto out;
			break;
		case 'l':
			if ((limit = parse_limit(optarg)) == -1) {
				fprintf(stderr, "%s: --limit wants a whole number from 0 to %d\n",
				    prog, MAX_LIMIT);
				goto out;
			}
			if (json_object_set_new(args, "limit", json_integer(limit)) == -1)
				goto out;
			break;
		case 'r':
			if (cidr_parse(optarg, &cidr, 0) == -1) {
				fprintf(stderr, "%s: --range wants a CIDR such as 192.0.2.0/24\n",
				    prog);
				goto out;
			}
			if (text_arg(prog, args, "range", "--range", optarg) == -1)
				goto out;
			break;
		case 'f':
			if (text_arg(prog, args, "filter", "--filter", optarg) == -1)
				goto out;
			break;
		case 'L':
			if (text_arg(prog, args, "list", "--list", optarg) == -1)
				goto out;
			break;
		case 'p':
			if (text_arg(prog, args, "policy", "--policy", optarg) == -1)
				goto out;
			break;
		case 'u':
			if (text_arg(prog, args, "customer", "--customer", optarg) == -1)
				goto out;
			break;
		case 'h': show_usage(stdout, v); rc = 0; goto out;
		default: show_usage(stderr, v); goto out;
		}
	}
	if (argc - optind > ((v->opts & O_ID) ? 1 : 0)) {
		show_usage(stderr, v);
		goto out;
	}
	if (optind < argc) {
		/* one customer: its detail, which no filter applies to */
		if (json_object_size(args) > 0) {
			fprintf(stderr, "%s: an ID shows one customer; --all, --limit, --filter, "
			    "--range and --list do not go with it\n", prog);
			goto out;
		}
		/* views.h writes this request {"id":ID}, but "id" is the protocol's request
		 * id, an integer (control.h; control_parse refuses anything else, and
		 * client_send sets it): the customer goes in "customer", as in customers,
		 * alerts and the acting commands */
		if (text_arg(prog, args, "customer", "the customer ID", argv[optind]) == -1)
			goto out;
		sc.cmd = "customer";
		sc.print = show_customer;
	}
	rc = show_run(&sc);
out:
	json_decref(args);
	return rc;
}
