/*
 * top.c — `rangewatch top`, the live dashboard (see top.h).
 *
 * Owns: the terminal while it runs (curses on stdscr), one control connection (a client),
 * the last result of each request it made (status, ranges, customers, customer, alerts).
 * One loop: poll() on the keyboard and the socket with a timeout; replies are matched by id,
 * events ask for a refresh; key handlers return what to redraw.
 * Must never: block on the socket, put text from the daemon on the screen without
 * text_escape (names, TXT, evidence are untrusted), or leave the terminal unrestored (q,
 * SIGTERM/SIGINT, atexit, crash signals all end curses).
 */
#include "top.h"

#include <curses.h>
#include <errno.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "client.h"
#include "show.h"
#include "text.h"
#include "widgets.h"

#define TOP_REFRESH_MS	2000	/* a refresh at least this often */
#define TOP_RETRY_MS	2000	/* reconnect every */
#define TOP_POLL_MS	250
#define TOP_SEND_MS	1000	/* a request must leave within */
#define TOP_CELL	512	/* bytes of one escaped cell */
#define TOP_LINE	1024
#define TOP_INPUT	200	/* bytes of a typed reason or filter */
#define TOP_CUSTOMERS	500	/* rows of the customer table asked for (worst first) */

enum view { V_OVERVIEW, V_LISTINGS, V_ALERTS, V_DETAIL, V_HELP, V_COUNT };
enum req {
	R_STATUS, R_RANGES, R_CUSTOMERS, R_CUSTOMER, R_CALERTS, R_ALERTS, R_LISTINGS, R_ACT,
	R_COUNT
};
enum pair { P_RED = 1, P_YELLOW, P_GREEN, P_CYAN };
enum prompt { PR_NONE, PR_FILTER, PR_REASON, PR_CONFIRM };
/* The customer table's columns, in the order `o` steps through them; S_RISK is the
 * daemon's own order (level, then contribution x blast radius). */
enum sort { S_RISK, S_ID, S_NAME, S_LEVEL, S_SCORE, S_1H, S_RCPT, S_5XX, S_LISTED, S_COUNT };

/* A line of a text pane (detail, alerts, help): escaped text and its attribute. */
struct pane_line {
	char *text;
	int attr;
};

struct top {
	char sock[256];
	struct client *cl;
	char err[512];			/* why we are not connected */
	long long retry_at, refresh_at;
	int want_refresh;
	long long pending[R_COUNT];	/* the id of the request in flight, 0 none */
	double sent[R_COUNT];		/* when it left (ms, for --timing) */
	json_t *res[R_COUNT];		/* the last result of each */
	int view, prev_view;
	struct widget_list cust;	/* the customer table */
	struct widget_list pane;	/* the text pane of the detail, alerts and help */
	struct pane_line *lines;
	size_t nlines, caplines;
	char detail_id[64];		/* the customer the detail shows (raw id, for requests) */
	char filter[TOP_INPUT + 1];	/* as typed: text, id:ID, list:NAME or a CIDR */
	size_t *order;			/* the customer rows in the chosen sort */
	size_t norder;
	int sort, sort_desc;
	int cust_y;			/* the screen line of the first customer row */
	int prompt;
	char input[TOP_INPUT + 1];
	size_t inlen;
	char act_id[64];
	const char *act_cmd;		/* "suspend", "resume" or "ack" */
	FILE *timing;			/* --timing: one line per redraw */
	int mouse;
	char message[TOP_LINE];		/* the last outcome, shown above the function bar */
	int utf8, color;
	int dirty;
};

static const char *const view_names[V_COUNT] = {
	"Overview", "Listings", "Alerts", "Detail", "Help"
};
static const char *const req_names[R_COUNT] = {
	"status", "ranges", "customers", "customer", "customer-alerts", "alerts", "listings", "act"
};
static const char *const sort_names[S_COUNT] = {
	"risk", "id", "name", "level", "score", "1h", "rcpt", "5xx", "listed"
};
static volatile sig_atomic_t got_stop;
static int curses_on;

/* --- the terminal, always restored -------------------------------------------------- */

static void
restore(void)
{
	if (curses_on && !isendwin())
		endwin();
	curses_on = 0;
}

static void
on_stop(int sig)
{
	(void)sig;
	got_stop = 1;
}

/* A crash: give the terminal back, then die of the same signal. */
static void
on_crash(int sig)
{
	if (curses_on)
		endwin();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
signals(void)
{
	struct sigaction sa;
	static const int crash[] = { SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL };
	size_t i;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;	/* no SA_RESTART: poll() returns, the loop acts */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_crash;
	sa.sa_flags = SA_RESETHAND;
	for (i = 0; i < sizeof crash / sizeof crash[0]; i++)
		sigaction(crash[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Monotonic milliseconds with their fraction, for --timing. */
static double
now_fine(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- reading results ------------------------------------------------------------------ */


static size_t
alen(const json_t *o, const char *k)
{
	return json_array_size(show_arr(o, k));
}

/* The attribute of a level or a list's health. */
static int
level_attr(const struct top *t, const char *level)
{
	if (strcmp(level, "act") == 0 || strcmp(level, "blocked") == 0 ||
	    strcmp(level, "broken") == 0 || strcmp(level, "ESCALATED") == 0)
		return t->color ? COLOR_PAIR(P_RED) | A_BOLD : A_BOLD;
	if (strcmp(level, "warn") == 0 || strcmp(level, "unknown") == 0)
		return t->color ? COLOR_PAIR(P_YELLOW) | A_BOLD : A_BOLD;
	if (strcmp(level, "watch") == 0)
		return t->color ? COLOR_PAIR(P_CYAN) : 0;
	if (strcmp(level, "ok") == 0)
		return t->color ? COLOR_PAIR(P_GREEN) : 0;
	return 0;
}

/* --- the connection ------------------------------------------------------------------- */

static void
disconnect(struct top *t, const char *why)
{
	int i;

	client_free(t->cl);
	t->cl = NULL;
	snprintf(t->err, sizeof t->err, "%s", why);
	for (i = 0; i < R_COUNT; i++)
		t->pending[i] = 0;
	t->retry_at = now_ms() + TOP_RETRY_MS;
	t->dirty = 1;
}

/* Sends cmd with args (stolen, may be NULL) as request kind r. */
static void
request(struct top *t, enum req r, const char *cmd, json_t *args)
{
	char err[512];
	long long id;

	if (t->cl == NULL) {
		json_decref(args);
		return;
	}
	id = client_send(t->cl, cmd, args, TOP_SEND_MS, err, sizeof err);
	json_decref(args);
	if (id == -1) {
		disconnect(t, err);
		return;
	}
	t->pending[r] = id;
	t->sent[r] = now_fine();
}

/* The customers request for the filter as typed: "id:ID" one customer, "list:NAME" those
 * with an IP listed on NAME, an address or CIDR those inside it, else a substring of id or
 * name. A filter also shows customers at level none: the operator is looking one up. */
static json_t *
customers_args(const struct top *t)
{
	const char *f = t->filter;
	json_t *a = json_pack("{s:i}", "limit", TOP_CUSTOMERS);

	if (a == NULL || f[0] == '\0')
		return a;
	json_object_set_new(a, "all", json_true());
	if (strncmp(f, "id:", 3) == 0)
		json_object_set_new(a, "customer", json_string(f + 3));
	else if (strncmp(f, "list:", 5) == 0)
		json_object_set_new(a, "list", json_string(f + 5));
	else if (strspn(f, "0123456789abcdefABCDEF.:/") == strlen(f) && strpbrk(f, ".:") != NULL)
		json_object_set_new(a, "range", json_string(f));
	else
		json_object_set_new(a, "filter", json_string(f));
	return a;
}

static void
refresh_data(struct top *t)
{
	t->want_refresh = 0;
	t->refresh_at = now_ms() + TOP_REFRESH_MS;
	if (!t->pending[R_STATUS])
		request(t, R_STATUS, "status", NULL);
	if (!t->pending[R_RANGES])
		request(t, R_RANGES, "ranges", json_pack("{s:i}", "limit", 20));
	if (!t->pending[R_CUSTOMERS])
		request(t, R_CUSTOMERS, "customers", customers_args(t));
	if (t->view == V_DETAIL && t->detail_id[0] != '\0' && !t->pending[R_CUSTOMER])
		request(t, R_CUSTOMER, "customer", json_pack("{s:s}", "customer", t->detail_id));
	if (t->view == V_DETAIL && t->detail_id[0] != '\0' && !t->pending[R_CALERTS])
		request(t, R_CALERTS, "alerts", json_pack("{s:s,s:i}", "customer", t->detail_id,
		    "limit", 20));
	if (t->view == V_ALERTS && !t->pending[R_ALERTS])
		request(t, R_ALERTS, "alerts", json_pack("{s:i}", "limit", 50));
	if (t->view == V_LISTINGS && !t->pending[R_LISTINGS])
		request(t, R_LISTINGS, "listings", json_pack("{s:i}", "limit", 1000));
}

static void
try_connect(struct top *t)
{
	char err[512];

	t->cl = client_connect(t->sock, err, sizeof err);
	if (t->cl == NULL) {
		snprintf(t->err, sizeof t->err, "%s", err);
		t->retry_at = now_ms() + TOP_RETRY_MS;
		t->dirty = 1;
		return;
	}
	t->err[0] = '\0';
	if (client_send(t->cl, "subscribe", NULL, TOP_SEND_MS, err, sizeof err) == -1) {
		disconnect(t, err);
		return;
	}
	refresh_data(t);
	t->dirty = 1;
}

static void build_pane(struct top *t);
static int selected(struct top *t, char *buf, size_t len);

/* --- the customer table's order -------------------------------------------------------- */

static int
level_rank(const json_t *c)
{
	const char *l = json_string_value(json_object_get(c, "level"));

	if (l == NULL)
		return 0;
	return strcmp(l, "act") == 0 ? 3 : strcmp(l, "warn") == 0 ? 2 :
	    strcmp(l, "watch") == 0 ? 1 : 0;
}

static int
cmp_num(double a, double b)
{
	return a < b ? -1 : a > b;
}

/* Ids compare as numbers when both are (billing ids usually are), else as text. */
static int
cmp_id(const char *a, const char *b)
{
	char *ea, *eb;
	unsigned long long na = strtoull(a, &ea, 10), nb = strtoull(b, &eb, 10);

	if (*a != '\0' && *b != '\0' && *ea == '\0' && *eb == '\0' && na != nb)
		return na < nb ? -1 : 1;
	return strcmp(a, b);
}

static int
cmp_customer(const void *pa, const void *pb, void *arg)
{
	const struct top *t = arg;
	const json_t *a = json_array_get(show_arr(t->res[R_CUSTOMERS], "customers"), *(const size_t *)pa);
	const json_t *b = json_array_get(show_arr(t->res[R_CUSTOMERS], "customers"), *(const size_t *)pb);
	const json_t *sa = json_object_get(a, "smtp_1h"), *sb = json_object_get(b, "smtp_1h");
	const char *ia = json_string_value(json_object_get(a, "id"));
	const char *ib = json_string_value(json_object_get(b, "id"));
	const char *na = json_string_value(json_object_get(a, "name"));
	const char *nb = json_string_value(json_object_get(b, "name"));
	int r = 0;

	switch (t->sort) {
	case S_ID: r = cmp_id(ia ? ia : "", ib ? ib : ""); break;
	case S_NAME: r = strcasecmp(na ? na : "", nb ? nb : ""); break;
	case S_LEVEL: r = -cmp_num(level_rank(a), level_rank(b)); break;
	case S_SCORE: r = -cmp_num(json_number_value(json_object_get(a, "score")),
	    json_number_value(json_object_get(b, "score"))); break;
	case S_1H: r = -cmp_num(show_inum(sa, "sessions"), show_inum(sb, "sessions")); break;
	case S_RCPT: r = -cmp_num(show_inum(sa, "rcpt"), show_inum(sb, "rcpt")); break;
	case S_5XX: r = -cmp_num(show_inum(sa, "replies_5xx"), show_inum(sb, "replies_5xx")); break;
	case S_LISTED: r = -cmp_num(show_inum(a, "listed_ips"), show_inum(b, "listed_ips")); break;
	}
	if (t->sort_desc)
		r = -r;
	/* ties keep the daemon's (risk) order, so the sort is stable */
	return r != 0 ? r : cmp_num((double)*(const size_t *)pa, (double)*(const size_t *)pb);
}

/* Orders the rows by the chosen column and puts the cursor back on customer sel. */
static void
sort_customers(struct top *t, const char *sel)
{
	const json_t *a = show_arr(t->res[R_CUSTOMERS], "customers"), *id;
	size_t i, n = json_array_size(a), *o;

	if (n > t->norder || t->order == NULL) {
		if ((o = realloc(t->order, (n ? n : 1) * sizeof *o)) == NULL) {
			t->norder = 0;
			return;
		}
		t->order = o;
	}
	t->norder = n;
	for (i = 0; i < n; i++)
		t->order[i] = i;
	if (t->sort != S_RISK || t->sort_desc)
		qsort_r(t->order, n, sizeof *t->order, cmp_customer, t);
	if (sel == NULL || sel[0] == '\0')
		return;
	for (i = 0; i < n; i++) {
		id = json_object_get(json_array_get(a, t->order[i]), "id");
		if (json_is_string(id) && strcmp(json_string_value(id), sel) == 0) {
			t->cust.cursor = (int)i;
			return;
		}
	}
}

/* The customer shown on table row i, NULL past the end. */
static const json_t *
row_customer(const struct top *t, int i)
{
	if (i < 0 || (size_t)i >= t->norder)
		return NULL;
	return json_array_get(show_arr(t->res[R_CUSTOMERS], "customers"), t->order[i]);
}

/* One message from the daemon: an event asks for a refresh; a reply is stored by its id. */
static void
handle_message(struct top *t, json_t *m)
{
	const json_t *ev = json_object_get(m, "event"), *jid = json_object_get(m, "id");
	const json_t *e;
	char buf[TOP_CELL], sel[64] = "";
	long long id;
	int r;

	if (json_is_string(ev)) {
		t->want_refresh = 1;
		return;
	}
	if (!json_is_integer(jid))
		return;
	id = json_integer_value(jid);
	for (r = 0; r < R_COUNT; r++)
		if (t->pending[r] == id)
			break;
	if (r == R_COUNT)
		return;
	t->pending[r] = 0;
	if (t->timing != NULL)
		fprintf(t->timing, "reply %s %.3f\n", req_names[r], now_fine() - t->sent[r]);
	if (!json_is_true(json_object_get(m, "ok"))) {
		e = json_object_get(m, "error");
		text_escape(buf, sizeof buf, json_is_string(e) ? json_string_value(e) : "failed",
		    json_is_string(e) ? json_string_length(e) : 6);
		snprintf(t->message, sizeof t->message, "rangewatchd: %s", buf);
		t->dirty = 1;
		return;
	}
	if (r == R_ACT) {
		const json_t *res = json_object_get(m, "result");
		char a[TOP_CELL], c[TOP_CELL], o[TOP_CELL];

		snprintf(t->message, sizeof t->message, "audit #%lld %s %s: %s",
		    show_inum(res, "audit_id"), show_str(res, "action", a, sizeof a),
		    show_str(res, "customer", c, sizeof c), show_src_escaped(res, "outcome", o, sizeof o));
		t->want_refresh = 1;
		t->dirty = 1;
		return;
	}
	e = json_object_get(m, "result");
	if (json_equal(e, t->res[r]))
		return;		/* nothing changed: nothing to redraw */
	if (r == R_CUSTOMERS)
		selected(t, sel, sizeof sel);
	json_decref(t->res[r]);
	t->res[r] = json_incref((json_t *)e);
	if (r == R_CUSTOMERS)
		sort_customers(t, sel);
	if (r == R_CUSTOMER || r == R_CALERTS || r == R_ALERTS || r == R_LISTINGS)
		build_pane(t);
	t->dirty = 1;
}

static void
read_socket(struct top *t)
{
	char err[512];
	json_t *m;
	int r;

	while (t->cl != NULL && (r = client_try_recv(t->cl, &m, err, sizeof err)) != 0) {
		if (r == -1) {
			disconnect(t, err);
			return;
		}
		handle_message(t, m);
		json_decref(m);
	}
}

/* --- the text pane (detail, alerts, help) --------------------------------------------- */

static void
pane_clear(struct top *t)
{
	size_t i;

	for (i = 0; i < t->nlines; i++)
		free(t->lines[i].text);
	t->nlines = 0;
}

static void
pane_add(struct top *t, int attr, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
pane_add(struct top *t, int attr, const char *fmt, ...)
{
	struct pane_line *p;
	va_list ap;
	char *s;

	if (t->nlines == t->caplines) {
		p = realloc(t->lines, (t->caplines ? t->caplines * 2 : 64) * sizeof *p);
		if (p == NULL)
			return;
		t->lines = p;
		t->caplines = t->caplines ? t->caplines * 2 : 64;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		s = NULL;
	va_end(ap);
	if (s == NULL)
		return;
	t->lines[t->nlines].text = s;
	t->lines[t->nlines++].attr = attr;
}

/* "YYYY-MM-DD HH:MM" of the time k of o, "-" when none. */
static const char *
when(char *buf, size_t len, const json_t *o, const char *k)
{
	time_t ts = (time_t)show_inum(o, k);
	struct tm tm;

	if (ts <= 0 || localtime_r(&ts, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M", &tm) == 0)
		return "-";
	return buf;
}

/* Escaped text s as lines of the terminal's width, each after prefix: broken at the last
 * blank that fits, or at the width when a word is longer (TXT records carry long URLs).
 * The pane is built again on a resize. */
static void
pane_wrap(struct top *t, int attr, const char *prefix, const char *s)
{
	int w = COLS - (int)strlen(prefix), cols;
	const char *p, *brk;

	if (w < 20)
		w = 20;
	while (*s != '\0') {
		cols = 0;
		brk = NULL;
		for (p = s; *p != '\0' && cols < w; cols++) {
			if (*p == ' ')
				brk = p;
			p++;
			while (((unsigned char)*p & 0xc0) == 0x80)
				p++;	/* the rest of a UTF-8 character */
		}
		if (*p == '\0' || *p == ' ' || brk == NULL || brk == s)
			brk = p;
		pane_add(t, attr, "%s%.*s", prefix, (int)(brk - s), s);
		s = brk;
		while (*s == ' ')
			s++;
	}
}

/* Each string of the array k of o, escaped, as wrapped lines with prefix. */
static void
pane_strings(struct top *t, const json_t *o, const char *k, const char *prefix)
{
	char buf[TOP_LINE];
	const json_t *v;
	size_t i;

	json_array_foreach(show_arr(o, k), i, v) {
		if (!json_is_string(v))
			continue;
		text_escape(buf, sizeof buf, json_string_value(v), json_string_length(v));
		pane_wrap(t, 0, prefix, buf);
	}
}

static void
pane_audit(struct top *t, const json_t *a)
{
	char w[32], ac[TOP_CELL], ca[TOP_CELL], c[TOP_CELL], r[TOP_CELL], o[TOP_CELL];
	const json_t *e;
	size_t i;

	json_array_foreach(a, i, e)
		pane_add(t, 0, "  %s %s %s %s: %s (%s)", when(w, sizeof w, e, "ts"),
		    show_str(e, "actor", ac, sizeof ac), show_str(e, "action", ca, sizeof ca),
		    show_str(e, "customer", c, sizeof c), show_str(e, "reason", r, sizeof r),
		    show_src_escaped(e, "outcome", o, sizeof o));
}

static void
pane_flags(struct top *t, const json_t *a)
{
	char w[32], c[TOP_CELL], n[TOP_CELL], p[32], l[32];
	const json_t *e;
	size_t i;

	json_array_foreach(a, i, e) {
		show_str(e, "level", l, sizeof l);
		pane_add(t, level_attr(t, l), "  %s %s %s %s -> %s (score %.1f)",
		    when(w, sizeof w, e, "ts"), show_str(e, "customer", c, sizeof c),
		    show_str(e, "name", n, sizeof n), show_str(e, "previous", p, sizeof p), l,
		    json_number_value(json_object_get(e, "score")));
		pane_strings(t, e, "evidence", "      ");
	}
}

/* The alert outbox's entries in r (mail, webhook, digest) with their state. */
static void
pane_deliveries(struct top *t, const json_t *r)
{
	char w[32], k[32], c[TOP_CELL], s[TOP_CELL], st[32];
	const json_t *d;
	size_t i;

	pane_add(t, A_BOLD, "Alert deliveries (%zu)", alen(r, "deliveries"));
	json_array_foreach(show_arr(r, "deliveries"), i, d) {
		show_str(d, "state", st, sizeof st);
		pane_add(t, strcmp(st, "failed") == 0 ? level_attr(t, "act") : 0,
		    "  %s %-7s %-6s %s %s", when(w, sizeof w, d, "created"),
		    show_str(d, "kind", k, sizeof k), st, show_str(d, "customer", c, sizeof c),
		    show_str(d, "subject", s, sizeof s));
	}
}

static void
build_detail(struct top *t, const json_t *c)
{
	char id[TOP_CELL], name[TOP_CELL], lv[32], a[TOP_CELL], b[TOP_CELL], w1[32], w2[32];
	const json_t *ad, *ls, *smtp = json_object_get(c, "smtp_1h");
	size_t i, j;

	show_str(c, "level", lv, sizeof lv);
	pane_add(t, A_BOLD, "Customer %s  %s", show_str(c, "id", id, sizeof id),
	    show_str(c, "name", name, sizeof name));
	pane_add(t, level_attr(t, lv), "level %s   score %.1f   contact %s", lv,
	    json_number_value(json_object_get(c, "score")), show_str(c, "contact", a, sizeof a));
	if (json_is_object(json_object_get(c, "ack")))
		pane_add(t, 0, "acknowledged by %s: %s",
		    show_str(json_object_get(c, "ack"), "by", a, sizeof a),
		    show_str(json_object_get(c, "ack"), "reason", b, sizeof b));
	pane_add(t, 0, "last hour: %lld sessions, %lld rcpt, %lld 5xx, %lld citing lists",
	    show_inum(smtp, "sessions"), show_inum(smtp, "rcpt"), show_inum(smtp, "replies_5xx"),
	    show_inum(smtp, "cited"));
	pane_add(t, 0, "%s", "");
	pane_add(t, A_BOLD, "Addresses (%zu)", alen(c, "addresses"));
	json_array_foreach(show_arr(c, "addresses"), i, ad) {
		pane_add(t, json_is_true(json_object_get(ad, "suspect")) ? A_BOLD : 0,
		    "  %s%s  sessions %lld  rcpt %lld  4xx %lld  5xx %lld  cited %lld",
		    show_str(ad, "ip", a, sizeof a),
		    json_is_true(json_object_get(ad, "suspect")) ? " (suspect)" : "",
		    show_inum(ad, "sessions"), show_inum(ad, "rcpt_to"), show_inum(ad, "replies_4xx"),
		    show_inum(ad, "replies_5xx"), show_inum(ad, "cited"));
		pane_add(t, 0, "    seen %s .. %s", when(w1, sizeof w1, ad, "first_seen"),
		    when(w2, sizeof w2, ad, "last_seen"));
		if (show_inum(ad, "complaints") > 0 || show_inum(ad, "snds_trap_hits") > 0)
			pane_add(t, A_BOLD, "    %lld complaint(s) in the last day, %lld SNDS trap "
			    "hit(s)", show_inum(ad, "complaints"), show_inum(ad, "snds_trap_hits"));
		json_array_foreach(show_arr(ad, "listings"), j, ls) {
			int on = json_is_true(json_object_get(ls, "listed"));

			pane_add(t, on ? level_attr(t, "act") : 0, "    %s %s %s",
			    show_str(ls, "list", a, sizeof a), on ? "LISTED" : "clean",
			    show_str(ls, "codes", b, sizeof b));
			if (json_is_string(json_object_get(ls, "txt")) &&
			    json_string_length(json_object_get(ls, "txt")) > 0)
				pane_wrap(t, 0, "      ", show_src_escaped(ls, "txt", a, sizeof a));
			pane_add(t, 0, "      since %s, last %s",
			    when(w1, sizeof w1, ls, "first_seen"),
			    when(w2, sizeof w2, ls, "last_seen"));
		}
	}
	pane_add(t, 0, "%s", "");
	pane_add(t, A_BOLD, "Evidence");
	pane_strings(t, c, "evidence", "  ");
	pane_add(t, 0, "%s", "");
	pane_add(t, A_BOLD, "History");
	pane_flags(t, show_arr(c, "history"));
	pane_add(t, 0, "%s", "");
	pane_add(t, A_BOLD, "Audit (hook runs and operators' acts)");
	pane_audit(t, show_arr(c, "audit"));
	pane_add(t, 0, "%s", "");
	if (json_is_object(t->res[R_CALERTS]))
		pane_deliveries(t, t->res[R_CALERTS]);
}

static void
build_alerts(struct top *t, const json_t *r)
{
	pane_add(t, A_BOLD, "Level changes (%zu)", alen(r, "flags"));
	pane_flags(t, show_arr(r, "flags"));
	pane_add(t, 0, "%s", "");
	pane_add(t, A_BOLD, "Audit log (%zu)", alen(r, "audit"));
	pane_audit(t, show_arr(r, "audit"));
	pane_add(t, 0, "%s", "");
	pane_deliveries(t, r);
}

/* Per list, what it lists of ours now, with when it would let go (its expiry rule applied
 * to the last time it was seen listed): rows come sorted by list, then key. */
static void
build_listings(struct top *t, const json_t *r)
{
	char list[TOP_CELL] = "", l[TOP_CELL], k[TOP_CELL], sc[32], c[TOP_CELL], cd[64];
	char line[TOP_CELL + 80];
	char w1[32], w2[32], d[32], tx[TOP_CELL];
	long long nowd = show_inum(t->res[R_STATUS], "now"), exp;
	const json_t *e;
	size_t i, n = 0;

	pane_add(t, A_BOLD, "Listings of our addresses and ranges (%lld)", show_inum(r, "total"));
	json_array_foreach(show_arr(r, "listings"), i, e) {
		show_str(e, "list", l, sizeof l);
		if (strcmp(l, list) != 0) {
			snprintf(list, sizeof list, "%s", l);
			pane_add(t, 0, "%s", "");
			pane_add(t, A_BOLD, "%s", l);
			pane_add(t, A_UNDERLINE, "  %-18s %-5s %-10s %-16s %-16s %s", "LISTED",
			    "SCOPE", "CUSTOMER", "SINCE", "LAST SEEN", "EXPIRES");
		}
		exp = show_inum(e, "expires");
		if (exp > 0 && nowd > 0 && exp > nowd)
			snprintf(d, sizeof d, "in %s", show_dur(w2, sizeof w2, exp - nowd));
		else if (exp > 0 && nowd > 0)
			snprintf(d, sizeof d, "due (re-listed since?)");
		else
			snprintf(d, sizeof d, "not known");
		pane_add(t, level_attr(t, "act"), "  %-18s %-5s %-10s %-16s %-16s %s",
		    show_str(e, "key", k, sizeof k), show_str(e, "scope", sc, sizeof sc),
		    show_str(e, "customer", c, sizeof c), when(w1, sizeof w1, e, "first_seen"),
		    when(w2, sizeof w2, e, "last_seen"), d);
		if (json_string_length(json_object_get(e, "txt")) > 0) {
			snprintf(line, sizeof line, "%s %s", show_str(e, "codes", cd, sizeof cd),
			    show_src_escaped(e, "txt", tx, sizeof tx));
			pane_wrap(t, 0, "      ", line);
		}
		n++;
	}
	if (n == 0)
		pane_add(t, 0, "  nothing of ours is listed");
}

static void
build_help(struct top *t)
{
	static const char *const help[] = {
		"rangewatch top: the daemon's view of its customers and neighbourhoods",
		"",
		"  Tab/Shift-Tab  next/previous view: Overview, Listings, Alerts",
		"  1 2 3          Overview, Listings, Alerts",
		"  Up/Down j/k    move the cursor; PgUp/PgDn a page; Home/End (g/G) first/last",
		"  Enter          the selected customer's detail (also a double click)",
		"  Esc/Backspace  back",
		"  o / O          sort the customers by the next column / reverse the order",
		"  /              filter: text (id or name), id:ID, list:NAME, or an address or",
		"                 CIDR (customers inside it); empty shows the flagged ones again",
		"  s r a          suspend, resume, acknowledge the selected customer: asks a",
		"                 reason, then y/n; the daemon records it under your user",
		"  ?              this help",
		"  q              quit",
		"",
		"Bars show a neighbourhood's impacts toward its policy's threshold;",
		"+N reported: remote servers say a list has them, not yet seen in DNS;",
		"+N suspect: likely to be. ESCALATED: the range/ASN list has it; REPORTED:",
		"remote replies say so. eta: time to the threshold at the current pace;",
		"clear: when it falls below.",
		"Customers: LEVEL and SCORE from the risk model, 1H sessions in the last hour,",
		"CITE rejections naming a blocklist in the last hour, 24H a sparkline of",
		"sessions per hour, L/S listed/suspect addresses.",
	};
	size_t i;

	for (i = 0; i < sizeof help / sizeof help[0]; i++)
		pane_add(t, i == 0 ? A_BOLD : 0, "%s", help[i]);
}

static void
build_pane(struct top *t)
{
	pane_clear(t);
	if (t->view == V_DETAIL && json_is_object(t->res[R_CUSTOMER]))
		build_detail(t, t->res[R_CUSTOMER]);
	else if (t->view == V_DETAIL)
		pane_add(t, 0, "loading customer ...");
	else if (t->view == V_ALERTS && json_is_object(t->res[R_ALERTS]))
		build_alerts(t, t->res[R_ALERTS]);
	else if (t->view == V_ALERTS)
		pane_add(t, 0, "loading alerts ...");
	else if (t->view == V_LISTINGS && json_is_object(t->res[R_LISTINGS]))
		build_listings(t, t->res[R_LISTINGS]);
	else if (t->view == V_LISTINGS)
		pane_add(t, 0, "loading listings ...");
	else if (t->view == V_HELP)
		build_help(t);
	widget_list_fit(&t->pane, (int)t->nlines, t->pane.h);
}

/* --- drawing ------------------------------------------------------------------------- */

static int
put(int y, int x, int attr, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
put(int y, int x, int attr, const char *fmt, ...)
{
	char buf[TOP_LINE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return widget_put(y, x, COLS - x, buf, attr);
}

/* The time k of o as "HH:MM", "-" when none. */
static const char *
hhmm(char *buf, size_t len, const json_t *o, const char *k)
{
	time_t ts = (time_t)show_inum(o, k);
	struct tm tm;

	if (ts <= 0 || localtime_r(&ts, &tm) == NULL || strftime(buf, len, "%H:%M", &tm) == 0)
		return "-";
	return buf;
}

/* The header: lines 0-2. */
static void
draw_header(struct top *t)
{
	const json_t *st = t->res[R_STATUS], *cap = json_object_get(st, "capture"), *l;
	const json_t *lv = json_object_get(st, "levels");
	char clock[32], a[TOP_CELL], b[TOP_CELL], h[32], d[32], sw[32];
	time_t now = time(NULL);
	struct tm tm;
	size_t i;
	int x;

	localtime_r(&now, &tm);
	strftime(clock, sizeof clock, "%H:%M:%S", &tm);
	attron(A_REVERSE);
	mvhline(0, 0, ' ', COLS);
	x = put(0, 0, A_REVERSE | A_BOLD, " rangewatch top ");
	if (t->cl == NULL)
		x += put(0, x, A_REVERSE | level_attr(t, "act"), " daemon DOWN ");
	else
		x += put(0, x, A_REVERSE, " daemon up %s ", show_dur(d, sizeof d,
		    show_inum(st, "uptime")));
	put(0, COLS - 20 > x ? COLS - 20 : x, A_REVERSE, "%10s  %s", view_names[t->view],
	    clock);
	attroff(A_REVERSE);
	if (t->cl == NULL) {
		put(1, 0, level_attr(t, "act"), "daemon unreachable %s retrying every %ds",
		    t->utf8 ? "\u2014" : "-", TOP_RETRY_MS / 1000);
		put(2, 0, 0, "%s", t->err);
		return;
	}
	if (!json_is_object(st)) {
		put(1, 0, 0, "waiting for the daemon ...");
		return;
	}
	x = put(1, 0, 0, "capture %s%s%s  %.1f pps  drops %lld  clock %s  evaluated %s  "
	    "dnsbl %s", show_str(cap, "source", a, sizeof a),
	    json_string_length(json_object_get(cap, "interface")) ? " " : "",
	    json_string_length(json_object_get(cap, "interface")) ?
	    show_str(cap, "interface", b, sizeof b) : "",
	    json_number_value(json_object_get(cap, "pps")), show_inum(cap, "drops"),
	    show_str(st, "clock", h, sizeof h), hhmm(d, sizeof d, st, "evaluated"),
	    hhmm(sw, sizeof sw, json_object_get(st, "dnsbl"), "last_answer"));
	x = put(2, 0, 0, "levels ");
	x += put(2, x, level_attr(t, "watch"), "watch %lld ", show_inum(lv, "watch"));
	x += put(2, x, level_attr(t, "warn"), "warn %lld ", show_inum(lv, "warn"));
	x += put(2, x, level_attr(t, "act"), "act %lld", show_inum(lv, "act"));
	x += put(2, x, 0, "  lists");
	json_array_foreach(show_arr(st, "lists"), i, l) {
		show_str(l, "health", h, sizeof h);
		x += put(2, x, 0, " %s:", show_str(l, "name", a, sizeof a));
		x += put(2, x, level_attr(t, h), "%s", h);
		if (x >= COLS)
			break;
	}
}

/* The neighbourhoods, from line y, at most n lines. Returns the lines used. */
static int
draw_ranges(struct top *t, int y, int n)
{
	const json_t *r = t->res[R_RANGES], *nb;
	char key[TOP_CELL], pol[TOP_CELL], d[32];
	long long imp, thr, sus, eta, nowd;
	size_t i;
	int x, used = 0, bw;

	attron(A_BOLD | A_UNDERLINE);
	mvhline(y, 0, ' ', COLS);
	put(y, 0, A_BOLD | A_UNDERLINE, "Neighbourhoods (%lld)", show_inum(r, "total"));
	attroff(A_BOLD | A_UNDERLINE);
	used++;
	nowd = show_inum(t->res[R_STATUS], "now");
	json_array_foreach(show_arr(r, "neighbourhoods"), i, nb) {
		if (used >= n)
			break;
		imp = show_inum(nb, "impacts");
		thr = show_inum(nb, "threshold");
		sus = show_inum(nb, "suspects");
		x = put(y + used, 0, 0, "%-18.18s %-14.14s ", show_str(nb, "key", key, sizeof key),
		    show_str(nb, "policy", pol, sizeof pol));
		bw = thr > 0 && thr <= 12 ? (int)thr : 12;
		x += widget_bar(y + used, x, bw, (double)imp, (double)thr, t->utf8,
		    imp >= thr ? level_attr(t, "act") : imp * 2 >= thr ? level_attr(t, "warn") :
		    level_attr(t, "ok"));
		x += put(y + used, x, 0, " %lld/%lld", imp, thr);
		if (show_inum(nb, "provisional") > 0)
			x += put(y + used, x, level_attr(t, "warn"), " +%lld reported",
			    show_inum(nb, "provisional"));
		if (sus > 0)
			x += put(y + used, x, 0, " +%lld suspect", sus);
		if (json_is_true(json_object_get(nb, "escalated")))
			x += put(y + used, x, level_attr(t, "ESCALATED"), " ESCALATED");
		else if (json_is_true(json_object_get(nb, "reported_escalated")))
			x += put(y + used, x, level_attr(t, "ESCALATED"), " REPORTED");
		else if (json_is_integer(json_object_get(nb, "eta_threshold"))) {
			eta = show_inum(nb, "eta_threshold");
			if (eta == 0)
				x += put(y + used, x, level_attr(t, "warn"), " at threshold");
			else if (eta > nowd && nowd > 0)
				x += put(y + used, x, 0, " eta %s", show_dur(d, sizeof d, eta - nowd));
		}
		if (json_is_integer(json_object_get(nb, "clear_at")) && nowd > 0 &&
		    show_inum(nb, "clear_at") > nowd)
			put(y + used, x, 0, " clear %s",
			    show_dur(d, sizeof d, show_inum(nb, "clear_at") - nowd));
		used++;
	}
	if (used == 1)
		put(y + used++, 0, 0, "  none under pressure");
	return used;
}

/* The customer's neighbourhood under the highest pressure, NULL when none. */
static const json_t *
worst_neighbourhood(const json_t *c)
{
	const json_t *nb, *w = NULL;
	size_t i;

	json_array_foreach(show_arr(c, "neighbourhoods"), i, nb)
		if (w == NULL || json_number_value(json_object_get(nb, "pressure")) >
		    json_number_value(json_object_get(w, "pressure")))
			w = nb;
	return w;
}

/* The customer table from line y to line y+h-1. 80 columns hold id, name, level, score,
 * sessions in the last hour, the 24 h sparkline and listed/suspect addresses; a wider
 * terminal gets a wider name and the RCPT, 5XX and CITED counts and the customer's worst
 * neighbourhood. */
static void
draw_customers(struct top *t, int y, int h)
{
	const json_t *c, *sp, *smtp, *nb;
	char id[TOP_CELL], name[TOP_CELL], lv[32], hd[TOP_LINE], k[TOP_CELL];
	long long spark[24];
	int i, x, attr, row, nw, wide = COLS >= 120;
	size_t j;

	nw = 18 + (COLS - 80) / 3;
	if (nw < 18)
		nw = 18;
	if (nw > 40)
		nw = 40;
	if (wide)
		nw = COLS - 100 > 40 ? 40 : COLS - 100;
	attron(A_BOLD | A_UNDERLINE);
	mvhline(y, 0, ' ', COLS);
	snprintf(hd, sizeof hd, "%-8s %-*s %-5s %5s %5s %s%-24s %s", "ID", nw, "CUSTOMER", "LEVEL",
	    "SCORE", "1H", wide ? "  RCPT   5XX CITED " : "CITE ", "24H",
	    wide ? "L/S  WORST RANGE" : "L/S");
	put(y, 0, A_BOLD | A_UNDERLINE, "%s", hd);
	attroff(A_BOLD | A_UNDERLINE);
	{
		char f[TOP_CELL / 2], m[TOP_CELL];

		text_escape(f, sizeof f, t->filter, strlen(t->filter));
		snprintf(m, sizeof m, "%s%s%s%s", t->filter[0] ? " /" : "", t->filter[0] ? f : "",
		    t->sort != S_RISK || t->sort_desc ? " sort:" : "",
		    t->sort != S_RISK || t->sort_desc ? sort_names[t->sort] : "");
		if (t->sort_desc && m[0] != '\0')
			snprintf(m + strlen(m), sizeof m - strlen(m), "%s", t->utf8 ? "\u2191" : "^");
		if (m[0] != '\0') {
			x = (int)widget_width(m) + 1;
			put(y, COLS > x + 40 ? COLS - x : 40, A_BOLD, "%s", m);
		}
	}
	t->cust_y = y + 1;
	widget_list_fit(&t->cust, (int)t->norder, h - 1);
	if (t->norder == 0)
		put(y + 1, 0, 0, "  %s", t->res[R_CUSTOMERS] == NULL ? "loading ..." :
		    t->filter[0] ? "no customer matches the filter" : "no flagged customers");
	for (row = 0; row < h - 1; row++) {
		i = t->cust.top + row;
		if ((c = row_customer(t, i)) == NULL)
			break;
		show_str(c, "level", lv, sizeof lv);
		attr = i == t->cust.cursor ? A_REVERSE : 0;
		if (attr)
			mvhline(y + 1 + row, 0, ' ', COLS);
		smtp = json_object_get(c, "smtp_1h");
		x = put(y + 1 + row, 0, attr, "%-8.8s %-*.*s ", show_str(c, "id", id, sizeof id),
		    nw, nw, show_str(c, "name", name, sizeof name));
		x += put(y + 1 + row, x, attr | level_attr(t, lv), "%-5s", lv);
		x += put(y + 1 + row, x, attr, " %5.0f %5lld ",
		    json_number_value(json_object_get(c, "score")), show_inum(smtp, "sessions"));
		if (wide)
			x += put(y + 1 + row, x, attr, "%6lld %5lld %5lld ", show_inum(smtp, "rcpt"),
			    show_inum(smtp, "replies_5xx"), show_inum(smtp, "cited"));
		else
			x += put(y + 1 + row, x, attr, "%4lld ", show_inum(smtp, "cited"));
		memset(spark, 0, sizeof spark);
		json_array_foreach(show_arr(c, "spark"), j, sp)
			if (j < 24)
				spark[j] = json_is_integer(sp) ? json_integer_value(sp) : 0;
		x += widget_spark(y + 1 + row, x, spark, 24, t->utf8, attr);
		x += put(y + 1 + row, x, attr, " %lld/%lld", show_inum(c, "listed_ips"),
		    show_inum(c, "suspect_ips"));
		nb = worst_neighbourhood(c);
		if (wide && nb != NULL)
			put(y + 1 + row, x, attr, "  %s %lld/%lld", show_str(nb, "key", k, sizeof k),
			    show_inum(nb, "impacts"), show_inum(nb, "threshold"));
	}
}

static void
draw_pane(struct top *t, int y, int h)
{
	int i;

	widget_list_fit(&t->pane, (int)t->nlines, h);
	for (i = 0; i < h && (size_t)(t->pane.top + i) < t->nlines; i++)
		widget_put(y + i, 0, COLS, t->lines[t->pane.top + i].text,
		    t->lines[t->pane.top + i].attr);
}

static void
draw_footer(struct top *t)
{
	static const char *const keys[][2] = {
		{ "?", "Help" }, { "Tab", "View" }, { "Enter", "Detail" }, { "/", "Filter" },
		{ "o", "Sort" }, { "s", "Suspend" }, { "r", "Resume" }, { "a", "Ack" },
		{ "q", "Quit" },
	};
	size_t i;
	int x = 0;

	if (t->prompt != PR_NONE) {
		char in[TOP_CELL];

		text_escape(in, sizeof in, t->input, t->inlen);
		mvhline(LINES - 2, 0, ' ', COLS);
		if (t->prompt == PR_FILTER)
			put(LINES - 2, 0, A_BOLD, "filter (text, id:ID, list:NAME, CIDR): %s_", in);
		else if (t->prompt == PR_REASON)
			put(LINES - 2, 0, A_BOLD, "reason to %s %s: %s_", t->act_cmd, t->act_id, in);
		else
			put(LINES - 2, 0, A_BOLD, "%s %s (\"%s\")? y/n", t->act_cmd, t->act_id, in);
	} else if (t->message[0] != '\0')
		put(LINES - 2, 0, 0, "%s", t->message);
	for (i = 0; i < sizeof keys / sizeof keys[0] && x < COLS; i++) {
		x += put(LINES - 1, x, A_BOLD, "%s", keys[i][0]);
		x += put(LINES - 1, x, A_REVERSE, "%s", keys[i][1]);
		x += put(LINES - 1, x, 0, " ");
	}
}

static void
draw(struct top *t)
{
	struct timespec t0, t1;
	int y = 3, nb, body;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	erase();
	draw_header(t);
	body = LINES - 2 - y;	/* the function bar and the message line below */
	if (body >= 2 && t->cl != NULL) {
		if (t->view == V_OVERVIEW) {
			nb = 1 + (int)json_array_size(show_arr(t->res[R_RANGES], "neighbourhoods"));
			if (nb < 2)
				nb = 2;
			if (nb > body / 3 + 1)
				nb = body / 3 + 1;
			y += draw_ranges(t, y, nb);
			draw_customers(t, y, LINES - 2 - y);
		} else
			draw_pane(t, y, body);
	}
	draw_footer(t);
	refresh();
	t->dirty = 0;
	if (t->timing != NULL) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		fprintf(t->timing, "draw %s %zu %.3f\n", view_names[t->view], t->norder,
		    (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
		fflush(t->timing);
	}
}

/* Only the clock moved: its cells alone (curses sends just what differs). */
static void
draw_clock(void)
{
	char clock[32];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(clock, sizeof clock, "%H:%M:%S", &tm);
	put(0, COLS - 8 > 0 ? COLS - 8 : 0, A_REVERSE, "%s", clock);
	refresh();
}

/* --- keys ----------------------------------------------------------------------------- */

static void
set_view(struct top *t, int v)
{
	if (t->view != V_HELP)
		t->prev_view = t->view;
	t->view = v;
	t->pane.top = 0;
	build_pane(t);
	if (v == V_DETAIL || v == V_ALERTS)
		refresh_data(t);
}

/* The selected customer's id (raw, for requests) in buf; 0, -1 when none. */
static int
selected(struct top *t, char *buf, size_t len)
{
	const json_t *c, *id;

	if (t->view == V_DETAIL)
		c = t->res[R_CUSTOMER];
	else if (t->view == V_OVERVIEW)
		c = row_customer(t, t->cust.cursor);
	else
		return -1;
	id = json_object_get(c, "id");
	if (!json_is_string(id) || json_string_length(id) >= len ||
	    !text_is_clean(json_string_value(id), json_string_length(id)))
		return -1;
	snprintf(buf, len, "%s", json_string_value(id));
	return 0;
}

/* A key while a prompt line is open. */
static int
prompt_key(struct top *t, int ch)
{
	json_t *a;

	if (ch == 27) {			/* Esc: cancel */
		t->prompt = PR_NONE;
		return WR_VIEW;
	}
	if (t->prompt == PR_CONFIRM) {
		if (ch == 'y' || ch == 'Y') {
			a = json_pack("{s:s,s:s}", "customer", t->act_id, "reason", t->input);
			request(t, R_ACT, t->act_cmd, a);
			snprintf(t->message, sizeof t->message, "%s %s: sent", t->act_cmd, t->act_id);
		} else
			snprintf(t->message, sizeof t->message, "%s %s: cancelled", t->act_cmd,
			    t->act_id);
		t->prompt = PR_NONE;
		return WR_VIEW;
	}
	if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		t->input[t->inlen] = '\0';
		if (t->prompt == PR_FILTER) {
			snprintf(t->filter, sizeof t->filter, "%s", t->input);
			t->prompt = PR_NONE;
			t->cust.cursor = t->cust.top = 0;
			if (!t->pending[R_CUSTOMERS])
				refresh_data(t);
			else
				t->want_refresh = 1;
		} else if (t->inlen == 0)
			snprintf(t->message, sizeof t->message, "a reason is required");
		else
			t->prompt = PR_CONFIRM;
		return WR_VIEW;
	}
	if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		while (t->inlen > 0 && ((unsigned char)t->input[--t->inlen] & 0xc0) == 0x80)
			;
		t->input[t->inlen] = '\0';
		return WR_VIEW;
	}
	/* printable ASCII and UTF-8 bytes; the daemon checks the reason again */
	if (ch >= 0x20 && ch < 0x100 && ch != 0x7f && t->inlen < TOP_INPUT) {
		t->input[t->inlen++] = (char)ch;
		t->input[t->inlen] = '\0';
		return WR_VIEW;
	}
	return WR_NONE;
}

static int handle_key(struct top *t, int ch);

/* The wheel scrolls like the arrows; a click on a customer row selects it, a double click
 * (or a click on the selected row) opens its detail. */
static int
mouse_key(struct top *t)
{
	MEVENT ev;
	int row;

	if (getmouse(&ev) != OK)
		return WR_NONE;
	if (ev.bstate & BUTTON4_PRESSED)
		return handle_key(t, KEY_UP);
	if (ev.bstate & BUTTON5_PRESSED)
		return handle_key(t, KEY_DOWN);
	if (t->view != V_OVERVIEW || !(ev.bstate & (BUTTON1_CLICKED | BUTTON1_DOUBLE_CLICKED)))
		return WR_NONE;
	row = t->cust.top + ev.y - t->cust_y;
	if (ev.y < t->cust_y || row_customer(t, row) == NULL)
		return WR_NONE;
	if ((ev.bstate & BUTTON1_DOUBLE_CLICKED) || row == t->cust.cursor) {
		t->cust.cursor = row;
		return handle_key(t, '\n');
	}
	t->cust.cursor = row;
	return WR_VIEW;
}

/* One key; returns what to redraw, or -1 to quit. */
static int
handle_key(struct top *t, int ch)
{
	struct widget_list *l = t->view == V_OVERVIEW ? &t->cust : &t->pane;
	char sel[64];
	int r;

	if (ch == KEY_RESIZE) {
		build_pane(t);		/* wrapped to the new width */
		return WR_VIEW;
	}
	if (t->prompt != PR_NONE)
		return prompt_key(t, ch);
	if ((r = widget_list_key(l, ch)) != WR_KEY_UNUSED)
		return r;
	switch (ch) {
	case 'q':
	case 'Q':
		return -1;
	case '\t':
		set_view(t, t->view == V_OVERVIEW ? V_LISTINGS : t->view == V_LISTINGS ?
		    V_ALERTS : V_OVERVIEW);
		return WR_VIEW;
	case KEY_BTAB:
		set_view(t, t->view == V_OVERVIEW ? V_ALERTS : t->view == V_ALERTS ?
		    V_LISTINGS : V_OVERVIEW);
		return WR_VIEW;
	case '1':
		set_view(t, V_OVERVIEW);
		return WR_VIEW;
	case '2':
		set_view(t, V_LISTINGS);
		return WR_VIEW;
	case '3':
		set_view(t, V_ALERTS);
		return WR_VIEW;
	case 'o':
	case 'O':
		if (ch == 'o')
			t->sort = (t->sort + 1) % S_COUNT;
		else
			t->sort_desc = !t->sort_desc;
		selected(t, sel, sizeof sel);
		sort_customers(t, sel);
		if (t->view != V_OVERVIEW)
			set_view(t, V_OVERVIEW);
		snprintf(t->message, sizeof t->message, "customers sorted by %s%s",
		    sort_names[t->sort], t->sort_desc ? ", reversed" : "");
		return WR_VIEW;
	case KEY_MOUSE:
		return mouse_key(t);
	case '?':
	case KEY_F(1):
		set_view(t, V_HELP);
		return WR_VIEW;
	case 27:
	case KEY_BACKSPACE:
	case 127:
	case 8:
		if (t->view != V_OVERVIEW)
			set_view(t, t->view == V_HELP ? t->prev_view : V_OVERVIEW);
		return WR_VIEW;
	case '\n':
	case '\r':
	case KEY_ENTER:
		if (t->view != V_OVERVIEW || selected(t, t->detail_id, sizeof t->detail_id) == -1)
			return WR_NONE;
		json_decref(t->res[R_CUSTOMER]);
		json_decref(t->res[R_CALERTS]);
		t->res[R_CUSTOMER] = t->res[R_CALERTS] = NULL;
		t->pending[R_CUSTOMER] = t->pending[R_CALERTS] = 0;
		set_view(t, V_DETAIL);
		return WR_VIEW;
	case '/':
		t->prompt = PR_FILTER;
		snprintf(t->input, sizeof t->input, "%s", t->filter);
		t->inlen = strlen(t->input);
		return WR_VIEW;
	case 's':
	case 'r':
	case 'a':
		if (selected(t, t->act_id, sizeof t->act_id) == -1)
			return WR_NONE;
		t->act_cmd = ch == 's' ? "suspend" : ch == 'r' ? "resume" : "ack";
		t->prompt = PR_REASON;
		t->input[0] = '\0';
		t->inlen = 0;
		return WR_VIEW;
	}
	return WR_NONE;
}

/* --- the loop ------------------------------------------------------------------------- */

static int
utf8_locale(void)
{
	const char *cs = nl_langinfo(CODESET);

	return cs != NULL && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
}

static void
start_curses(struct top *t)
{
	const char *nc = getenv("NO_COLOR");

	initscr();
	curses_on = 1;
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	if (t->mouse)
		mousemask(BUTTON1_CLICKED | BUTTON1_DOUBLE_CLICKED | BUTTON4_PRESSED |
		    BUTTON5_PRESSED, NULL);
	t->color = has_colors() && (nc == NULL || nc[0] == '\0');
	if (t->color) {
		start_color();
		use_default_colors();
		init_pair(P_RED, COLOR_RED, -1);
		init_pair(P_YELLOW, COLOR_YELLOW, -1);
		init_pair(P_GREEN, COLOR_GREEN, -1);
		init_pair(P_CYAN, COLOR_CYAN, -1);
	}
}

static void
run(struct top *t)
{
	struct pollfd pfd[2];
	long long now, wait;
	time_t shown = 0;
	int ch, r, n;

	t->dirty = 1;
	while (!got_stop) {
		now = now_ms();
		if (t->cl == NULL && now >= t->retry_at)
			try_connect(t);
		if (t->cl != NULL && (t->want_refresh || now >= t->refresh_at))
			refresh_data(t);
		if (t->dirty)
			draw(t);
		pfd[0] = (struct pollfd){ STDIN_FILENO, POLLIN, 0 };
		pfd[1] = (struct pollfd){ t->cl ? client_fd(t->cl) : -1, POLLIN, 0 };
		wait = t->cl ? t->refresh_at - now : t->retry_at - now;
		if (wait > TOP_POLL_MS || wait < 0)
			wait = TOP_POLL_MS;	/* the clock in the header moves too */
		n = poll(pfd, 2, (int)wait);
		if (n == -1 && errno != EINTR)
			break;
		if (n > 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			read_socket(t);
		while ((ch = getch()) != ERR) {
			if ((r = handle_key(t, ch)) == -1)
				return;
			if (r == WR_VIEW)
				t->dirty = 1;
		}
		if (n == 0 && !t->dirty && time(NULL) != shown) {
			shown = time(NULL);
			draw_clock();
		}
	}
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: rangewatch top [-c FILE] [-s SOCKET] [--no-mouse] [--timing FILE]\n"
	    "  the live dashboard: neighbourhoods, customers, listings, alerts (? in it for\n"
	    "  the keys); acting keys go through the daemon, which checks you are an operator\n"
	    "  -c FILE        the config whose `socket` key names the daemon's socket (default\n"
	    "                 /etc/rangewatch/rangewatch.conf when it exists)\n"
	    "  -s SOCKET      the socket itself (default /run/rangewatch/rangewatch.sock)\n"
	    "  --no-mouse     leave the mouse to the terminal (text selection)\n"
	    "  --timing FILE  append each redraw's view, rows and milliseconds to FILE\n"
	    "  NO_COLOR=1 in the environment: monochrome; a non-UTF-8 locale: ASCII bars\n");
}

int
top_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "no-mouse", no_argument, NULL, 'M' },
		{ "timing", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *sock = NULL, *timing = NULL;
	struct top *t;
	char err[512];
	int ch, i, mouse = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:s:h", lo, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 's': sock = optarg; break;
		case 'M': mouse = 0; break;
		case 'T': timing = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "rangewatch top: needs a terminal\n");
		return 2;
	}
	if ((t = calloc(1, sizeof *t)) == NULL)
		return 2;
	if (client_socket_path(sock, config, t->sock, sizeof t->sock, err, sizeof err) == -1) {
		fprintf(stderr, "rangewatch top: %s\n", err);
		free(t);
		return 2;
	}
	if (timing != NULL && (t->timing = fopen(timing, "ae")) == NULL) {
		fprintf(stderr, "rangewatch top: %s: %s\n", timing, strerror(errno));
		free(t);
		return 2;
	}
	t->mouse = mouse;
	setlocale(LC_ALL, "");
	t->utf8 = utf8_locale();
	t->cust.cursor = 0;
	t->pane.cursor = -1;
	t->prev_view = V_OVERVIEW;
	signals();
	atexit(restore);
	start_curses(t);
	run(t);
	restore();
	client_free(t->cl);
	for (i = 0; i < R_COUNT; i++)
		json_decref(t->res[i]);
	pane_clear(t);
	free(t->lines);
	free(t->order);
	if (t->timing != NULL)
		fclose(t->timing);
	free(t);
	return 0;
}
