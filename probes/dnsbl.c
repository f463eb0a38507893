/*
 * dnsbl.c — the DNSBL query engine. Owns one c-ares channel (and, through it, the sockets
 * c-ares opens), the state of every list it was asked about (health, query budgets, the
 * queue of what waits, the zone file of a file-source list) and every query until its
 * callback has run. What an A record means is decided by dnsbl_classify() alone; TXT
 * leaves only through text_escape(). It never runs a caller's callback inside dnsbl_ask()
 * or inside c-ares: answers are collected and delivered from dnsbl_process(), so a
 * callback may ask again. It never builds or parses a DNS packet by hand.
 *
 * Rules decided here (see dnsbl.h for the contract):
 * - several A records: blocked when any is a refusal code, else listed when any is
 *   listed (the others are kept in codes), else error;
 * - NXDOMAIN is clean (TTL: the SOA minimum, else DEFAULT_NEG_TTL); NOERROR without an
 *   A record is error: only NXDOMAIN says "not listed" (RFC 5782);
 * - TTLs come from the list's servers or anyone on the path: cut to max_ttl (an NXDOMAIN's
 *   to max_neg_ttl), so no answer keeps a key from being asked again for years;
 * - a refusal code in any answer makes the list BLOCKED, FAIL_STREAK failures in a row
 *   (timeout, SERVFAIL, REFUSED, bogus answers) make it BROKEN; only a passing dnsbl_test()
 *   makes it OK again. While a list is BLOCKED or BROKEN nothing more is sent to it: its
 *   asks are answered blocked or error at once (next round), with the list's reason;
 * - the token bucket of max_qps holds a tenth of a second's worth; TXT queries spend
 *   tokens too (the bucket may go briefly negative) but are skipped once the daily budget
 *   is spent (the listing stands without its text);
 * - file-source answers cost no token and no slot.
 */
#include "dnsbl.h"

#include <arpa/inet.h>
#include <ares.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "text.h"
#include "zonefile.h"

#define DEFAULT_TIMEOUT_MS	2000
#define DEFAULT_TRIES		3
/* In flight at most, by default: rbldnsd sets its receive buffer to 128 KiB, about 170
 * queued queries; at 150 and more in flight, a /16 sweep on loopback lost queries there
 * (each costing a 2 s retry), at 100 none (bench/bench_dnsbl.sh, RESULTS.md). */
#define DEFAULT_OUTSTANDING	100
#define DEFAULT_NEG_TTL		300	/* NXDOMAIN without a usable SOA */
#define FAIL_STREAK		16	/* failures in a row that make a list BROKEN */
#define SOCKBUF_BYTES		(4 << 20)	/* room for a burst of answers (and of queries:
					 * c-ares 1.18 fails a query whose send() would
					 * block), capped by net.core.[rw]mem_max */
#define MAX_SOCKS		16
#define RAW_TXT_MAX		2048	/* TXT bytes joined before escaping */
#define TP_LISTED		0x7f000002u	/* 127.0.0.2: must be listed */
#define TP_CLEAN		0x7f000001u	/* 127.0.0.1: must not be */

struct job;

struct jq {
	struct job *head, *tail;
};

/* What dnsbl knows of one list. */
struct lstate {
	const struct dnsbl_list *l;
	enum dnsbl_health health;
	char reason[160];
	struct jq queue;		/* DNS asks waiting for a slot, a token or the day */
	double tokens;
	int64_t refill_us;
	int64_t day_start_us;
	unsigned long day_count;
	unsigned fail_streak;
	struct zonefile *zf;		/* source = file: loaded at first use */
	int64_t zf_checked_us;		/* last load attempt or refresh */
	char zf_err[256];		/* why the last load failed */
	char zf_warned[256];		/* the refresh error already logged */
};

/* A dnsbl_test() under way: two test points. */
struct htest {
	struct lstate *ls;
	dnsbl_health_cb cb;
	void *arg;
	int left;
	enum dnsbl_health h[2];
	char why[2][160];
};

struct job {
	struct job *next;
	struct dnsbl *d;
	struct lstate *ls;
	struct rw_addr ip;
	dnsbl_cb cb;
	void *arg;
	struct htest *test;	/* a test point's job, or NULL */
	int point;		/* which test point (0: 127.0.0.2, 1: 127.0.0.1) */
	enum dnsbl_status status;
	uint32_t codes[DNSBL_MAX_CODES];
	size_t ncodes;
	uint32_t ttl;
	int from_file;
	int cancelled;
	int local;		/* answered here, not by the list: says nothing of its health */
	char *txt;		/* escaped, or NULL */
	char *reason;		/* or NULL */
};

struct sock {
	int fd, r, w;
};

struct dnsbl {
	ares_channel ch;
	struct dnsbl_opts o;
	struct lstate **ls;
	size_t nls, als, rr;
	struct jq filework;	/* file-source asks: answered in the next round */
	struct jq ready;	/* answered; their callback has not run yet */
	size_t queued, inflight, nfile, nready;
	struct sock socks[MAX_SOCKS];
	int nsocks;
	struct dnsbl_stats st;
	dnsbl_health_cb on_health;	/* told of every change of a list's health */
	void *on_health_arg;
	int closing;
};

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
jq_push(struct jq *q, struct job *j)
{
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
}

static void
jq_push_front(struct jq *q, struct job *j)
{
	j->next = q->head;
	q->head = j;
	if (q->tail == NULL)
		q->tail = j;
}

static struct job *
jq_pop(struct jq *q)
{
	struct job *j = q->head;

	if (j) {
		q->head = j->next;
		if (q->head == NULL)
			q->tail = NULL;
		j->next = NULL;
	}
	return j;
}

static void
job_free(struct job *j)
{
	if (j) {
		free(j->txt);
		free(j->reason);
		free(j);
	}
}

static void
job_reason(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
job_reason(struct job *j, const char *fmt, ...)
{
	char raw[320], buf[sizeof ((struct dnsbl_result *)0)->reason];
	va_list ap;
	int n;

	/* reasons quote answers, code meanings and file errors: escaped like TXT */
	va_start(ap, fmt);
	n = vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	text_escape(buf, sizeof buf, raw, (size_t)n < sizeof raw ? (size_t)n : sizeof raw - 1);
	free(j->reason);
	j->reason = strdup(buf);
}

static void
ip4_text(uint32_t a, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static int
is_bad_health(enum dnsbl_health h)
{
	return h == DNSBL_H_BLOCKED || h == DNSBL_H_BROKEN;
}

const char *
dnsbl_status_name(enum dnsbl_status s)
{
	switch (s) {
	case DNSBL_LISTED: return "listed";
	case DNSBL_CLEAN: return "clean";
	case DNSBL_BLOCKED: return "blocked";
	case DNSBL_ERROR: return "error";
	}
	return "error";
}

int
dnsbl_qname(const struct rw_addr *ip, const char *zone, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t zl = zone ? strlen(zone) : 0, need, o = 0;
	int i;

	if (zl == 0 || buf == NULL)
		return -1;
	if (addr_is_v4(ip)) {
		int n = snprintf(buf, len, "%u.%u.%u.%u.%s", ip->a[15], ip->a[14], ip->a[13],
		    ip->a[12], zone);
		if (n < 0 || (size_t)n >= len || n > 253)
			return -1;
		return 0;
	}
	need = 64 + zl;		/* 32 nibbles, each with its dot */
	if (need >= len || need > 253)
		return -1;
	for (i = 15; i >= 0; i--) {
		buf[o++] = hex[ip->a[i] & 15];
		buf[o++] = '.';
		buf[o++] = hex[ip->a[i] >> 4];
		buf[o++] = '.';
	}
	memcpy(buf + o, zone, zl + 1);
	return 0;
}

/* Why one A record that is not a listing cannot be one. */
static void
why_not_listing(const struct dnsbl_list *l, uint32_t a, char *buf, size_t len)
{
	char t[16];
	const char *m = dnsbl_code_meaning(l, a);

	ip4_text(a, t, sizeof t);
	if ((a >> 24) != 127)
		snprintf(buf, len, "answer %s is outside 127.0.0.0/8 (a resolver rewriting "
		    "NXDOMAIN, or a dead list?)", t);
	else if (a == TP_CLEAN)
		snprintf(buf, len, "answer %s is never a listing (RFC 5782)", t);
	else
		snprintf(buf, len, "answer %s is not a listing code of this list%s%s", t,
		    m ? ": " : "", m ? m : "");
}

enum dnsbl_status
dnsbl_judge(const struct dnsbl_list *l, const uint32_t *a, size_t n, char *reason,
    size_t len)
{
	size_t i, listed = 0, bad = n;
	char t[16];

	if (len)
		reason[0] = '\0';
	if (n == 0) {
		snprintf(reason, len, "no A record in the answer");
		return DNSBL_ERROR;
	}
	for (i = 0; i < n; i++) {
		switch (dnsbl_classify(l, a[i])) {
		case DNSBL_V_BLOCKED: {
			const char *m = dnsbl_code_meaning(l, a[i]);
			ip4_text(a[i], t, sizeof t);
			snprintf(reason, len, "%s: %s", t, m ? m : "refusal code: the list "
			    "refuses to answer this resolver");
			return DNSBL_BLOCKED;
		}
		case DNSBL_V_LISTED:
			listed++;
			break;
		case DNSBL_V_ERROR:
			if (bad == n)
				bad = i;
			break;
		}
	}
	if (listed)
		return DNSBL_LISTED;
	why_not_listing(l, a[bad], reason, len);
	return DNSBL_ERROR;
}

static struct lstate *
lstate_find(const struct dnsbl *d, const struct dnsbl_list *l)
{
	size_t i;

	for (i = 0; i < d->nls; i++)
		if (d->ls[i]->l == l)
			return d->ls[i];
	return NULL;
}

static struct lstate *
lstate_get(struct dnsbl *d, const struct dnsbl_list *l)
{
	struct lstate *ls = lstate_find(d, l), **n;

	if (ls)
		return ls;
	if (d->nls == d->als) {
		size_t na = d->als ? d->als * 2 : 8;
		if ((n = realloc(d->ls, na * sizeof *n)) == NULL)
			return NULL;
		d->ls = n;
		d->als = na;
	}
	if ((ls = calloc(1, sizeof *ls)) == NULL)
		return NULL;
	ls->l = l;
	ls->health = DNSBL_H_UNTESTED;
	ls->refill_us = ls->day_start_us = now_us();
	ls->tokens = l->max_qps > 10 ? l->max_qps / 10.0 : 1.0;
	d->ls[d->nls++] = ls;
	return ls;
}

static void
set_health(struct dnsbl *d, struct lstate *ls, enum dnsbl_health h, const char *reason)
{
	int changed = ls->health != h || strcmp(ls->reason, reason) != 0;

	ls->health = h;
	snprintf(ls->reason, sizeof ls->reason, "%s", reason);
	if (changed && d->on_health)
		d->on_health(d->on_health_arg, ls->l, h, ls->reason);
}

/* A job is answered: its callback runs in the next delivery. */
static void
finish(struct dnsbl *d, struct job *j)
{
	jq_push(&d->ready, j);
	d->nready++;
}

/* Counts an answer of an ask (not a test point) toward the list's health. */
static void
note_outcome(struct dnsbl *d, struct job *j)
{
	struct lstate *ls = j->ls;
	char why[200];

	if (j->test || j->cancelled || j->local)
		return;
	if (j->status == DNSBL_LISTED || j->status == DNSBL_CLEAN) {
		ls->fail_streak = 0;
		return;
	}
	if (j->status == DNSBL_BLOCKED && ls->health != DNSBL_H_BLOCKED) {
		set_health(d, ls, DNSBL_H_BLOCKED, j->reason ? j->reason : "refusal code");
		return;
	}
	if (j->status == DNSBL_ERROR && ++ls->fail_streak >= FAIL_STREAK &&
	    !is_bad_health(ls->health)) {
		snprintf(why, sizeof why, "%u queries in a row failed (last: %s)", ls->fail_streak,
		    j->reason ? j->reason : "error");
		set_health(d, ls, DNSBL_H_BROKEN, why);
	}
}

static void
set_error_from_ares(struct job *j, int status)
{
	j->status = DNSBL_ERROR;
	switch (status) {
	case ARES_ETIMEOUT:
		job_reason(j, "timeout: no answer from the nameserver");
		break;
	case ARES_ESERVFAIL:
		job_reason(j, "SERVFAIL from the nameserver");
		break;
	case ARES_EREFUSED:
		job_reason(j, "REFUSED by the nameserver");
		break;
	case ARES_ECONNREFUSED:
		job_reason(j, "nameserver unreachable (connection refused)");
		break;
	case ARES_ENODATA:
		job_reason(j, "NOERROR without an A record (only NXDOMAIN means not listed)");
		break;
	case ARES_EDESTRUCTION:
	case ARES_ECANCELLED:
		j->cancelled = 1;
		job_reason(j, "cancelled");
		break;
	default:
		job_reason(j, "DNS error: %s", ares_strerror(status));
		break;
	}
}

/* Joins the TXT strings of abuf (one record's strings run together, records separated by
 * " | ") and escapes them. NULL when there is none. */
static char *
txt_from_answer(const unsigned char *abuf, int alen)
{
	struct ares_txt_ext *t = NULL, *p;
	char raw[RAW_TXT_MAX], *out;
	size_t n = 0, k;

	if (ares_parse_txt_reply_ext(abuf, alen, &t) != ARES_SUCCESS)
		return NULL;
	for (p = t; p; p = p->next) {
		if (p->record_start && p != t && n + 3 < sizeof raw) {
			memcpy(raw + n, " | ", 3);
			n += 3;
		}
		k = p->length;
		if (k > sizeof raw - n)
			k = sizeof raw - n;
		memcpy(raw + n, p->txt, k);
		n += k;
	}
	ares_free_data(t);
	if (n == 0)
		return NULL;
	if ((out = malloc(sizeof ((struct dnsbl_result *)0)->txt)) == NULL)
		return NULL;
	text_escape(out, sizeof ((struct dnsbl_result *)0)->txt, raw, n);
	return out;
}

static int
day_budget_left(struct lstate *ls, int64_t now)
{
	if (ls->l->max_per_day == 0)
		return 1;
	if (now - ls->day_start_us >= (int64_t)86400 * 1000000) {
		ls->day_start_us = now;
		ls->day_count = 0;
	}
	return ls->day_count < ls->l->max_per_day;
}

static void
refill(struct lstate *ls, int64_t now)
{
	double cap;

	if (ls->l->max_qps == 0)
		return;
	cap = ls->l->max_qps > 10 ? ls->l->max_qps / 10.0 : 1.0;
	ls->tokens += (double)(now - ls->refill_us) * ls->l->max_qps / 1e6;
	if (ls->tokens > cap)
		ls->tokens = cap;
	ls->refill_us = now;
}

/* 1 when the list may be sent one more query now. */
static int
may_send(struct lstate *ls, int64_t now)
{
	if (!day_budget_left(ls, now))
		return 0;
	if (ls->l->max_qps == 0)
		return 1;
	refill(ls, now);
	return ls->tokens >= 1.0;
}

static void
spend(struct lstate *ls)
{
	ls->day_count++;
	if (ls->l->max_qps)
		ls->tokens -= 1.0;
}

/* How long an NXDOMAIN may be cached: the SOA minimum of its authority section (RFC
 * 2308), else DEFAULT_NEG_TTL. c-ares 1.18's SOA parser reads only the answer section, so
 * it is given a copy whose header counts the authority records as answers (RFC 1035 4.1.1:
 * ANCOUNT at bytes 6-7, NSCOUNT at 8-9); the records themselves are c-ares's to read. */
static uint32_t
neg_ttl(const unsigned char *abuf, int alen)
{
	struct ares_soa_reply *soa = NULL;
	unsigned char copy[4096];
	uint32_t ttl = DEFAULT_NEG_TTL;

	if (abuf == NULL || alen < 12 || (size_t)alen > sizeof copy)
		return ttl;
	memcpy(copy, abuf, (size_t)alen);
	if (copy[6] != 0 || copy[7] != 0 || (copy[8] == 0 && copy[9] == 0))
		return ttl;
	copy[6] = copy[8];
	copy[7] = copy[9];
	copy[8] = copy[9] = 0;
	if (ares_parse_soa_reply(copy, alen, &soa) == ARES_SUCCESS) {
		ttl = soa->minttl;
		ares_free_data(soa);
	}
	return ttl;
}

static void on_txt(void *arg, int status, int timeouts, unsigned char *abuf, int alen);

static void
on_a(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct job *j = arg;
	struct dnsbl *d = j->d;
	struct hostent *he = NULL;
	struct ares_addrttl ttls[DNSBL_MAX_CODES];
	uint32_t all[64];
	char qname[300], why[160];
	int nttl = DNSBL_MAX_CODES, i;
	size_t n = 0;

	d->st.retried += (uint64_t)timeouts;
	if (abuf)
		d->st.answered++;
	if (status == ARES_ETIMEOUT)
		d->st.timeouts++;
	if (status == ARES_ENOTFOUND) {
		j->status = DNSBL_CLEAN;
		/* the zone's SOA says how long: a hostile one says 68 years */
		j->ttl = neg_ttl(abuf, alen);
		if (j->ttl > d->o.max_neg_ttl)
			j->ttl = d->o.max_neg_ttl;
		goto done;
	}
	if (status != ARES_SUCCESS) {
		set_error_from_ares(j, status);
		goto done;
	}
	if (ares_parse_a_reply(abuf, alen, &he, ttls, &nttl) != ARES_SUCCESS || he == NULL ||
	    he->h_addr_list == NULL || he->h_addr_list[0] == NULL) {
		j->status = DNSBL_ERROR;
		job_reason(j, "no A record in the answer (wrong type or malformed)");
		goto done;
	}
	/* every record counts for the verdict, the first DNSBL_MAX_CODES are kept */
	for (i = 0; he->h_addr_list[i] && n < sizeof all / sizeof all[0]; i++) {
		uint32_t a;
		memcpy(&a, he->h_addr_list[i], 4);
		all[n++] = ntohl(a);
	}
	ares_free_hostent(he);
	j->ncodes = n < DNSBL_MAX_CODES ? n : DNSBL_MAX_CODES;
	memcpy(j->codes, all, j->ncodes * sizeof all[0]);
	j->ttl = UINT32_MAX;
	for (i = 0; i < nttl; i++)
		if (ttls[i].ttl >= 0 && (uint32_t)ttls[i].ttl < j->ttl)
			j->ttl = (uint32_t)ttls[i].ttl;
	if (j->ttl == UINT32_MAX)
		j->ttl = 0;
	if (j->ttl > d->o.max_ttl)
		j->ttl = d->o.max_ttl;	/* a listing is asked again within max_ttl */
	j->status = dnsbl_judge(j->ls->l, all, n, why, sizeof why);
	if (why[0])
		job_reason(j, "%s", why);
	if (j->status == DNSBL_LISTED && j->ls->l->txt && j->test == NULL && !d->closing &&
	    day_budget_left(j->ls, now_us()) &&
	    dnsbl_qname(&j->ip, j->ls->l->zone, qname, sizeof qname) == 0) {
		spend(j->ls);
		d->st.sent++;
		ares_query(d->ch, qname, 1 /* IN */, 16 /* TXT */, on_txt, j);
		return;
	}
done:
	d->inflight--;
	finish(d, j);
}

static void
on_txt(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct job *j = arg;
	struct dnsbl *d = j->d;

	d->st.retried += (uint64_t)timeouts;
	if (abuf)
		d->st.answered++;
	if (status == ARES_ETIMEOUT)
		d->st.timeouts++;
	if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED)
		set_error_from_ares(j, status);
	else if (status == ARES_SUCCESS)
		j->txt = txt_from_answer(abuf, alen);
	/* without its text a listing is still a listing */
	d->inflight--;
	finish(d, j);
}

static void
send_a(struct dnsbl *d, struct job *j)
{
	char qname[300];

	if (dnsbl_qname(&j->ip, j->ls->l->zone, qname, sizeof qname) == -1) {
		j->status = DNSBL_ERROR;
		j->local = 1;
		job_reason(j, "query name too long for zone");
		finish(d, j);
		return;
	}
	spend(j->ls);
	d->st.sent++;
	d->inflight++;	/* before: c-ares may answer at once (a socket error) */
	ares_query(d->ch, qname, 1 /* IN */, 1 /* A */, on_a, j);
}

/* Sends what waits, fairly over the lists, within every limit. */
static void
dispatch(struct dnsbl *d)
{
	int64_t now = now_us();
	struct job *j;
	int progress = 1;
	size_t k;

	for (k = 0; k < d->nls; k++) {
		struct lstate *ls = d->ls[k];
		struct jq keep = { NULL, NULL };
		if (!is_bad_health(ls->health))
			continue;
		/* an unhealthy list is not asked: what waits for it is answered from its
		 * health; only test points still go out */
		while ((j = jq_pop(&ls->queue)) != NULL) {
			if (j->test)
				jq_push(&keep, j);
			else {
				d->queued--;
				j->local = 1;
				finish(d, j);
			}
		}
		ls->queue = keep;
	}
	while (progress && d->inflight < d->o.max_outstanding && d->queued) {
		progress = 0;
		for (k = 0; k < d->nls && d->inflight < d->o.max_outstanding; k++) {
			struct lstate *ls = d->ls[(d->rr + k) % d->nls];
			if (ls->queue.head == NULL || !may_send(ls, now))
				continue;
			j = jq_pop(&ls->queue);
			d->queued--;
			if (is_bad_health(ls->health) && j->test == NULL) {
				j->local = 1;
				finish(d, j);
			} else
				send_a(d, j);
			progress = 1;
		}
		d->rr++;
	}
}

/* Loads or refreshes ls's zone file (at most once a second). -1 when there is no data. */
static int
zone_ready(struct lstate *ls, int64_t now)
{
	char err[256];

	if (ls->zf == NULL) {
		if (ls->zf_checked_us && now - ls->zf_checked_us < 1000000)
			return -1;
		ls->zf_checked_us = now;
		if (zonefile_load(ls->l->file, &ls->zf, err, sizeof err) == -1) {
			ls->zf = NULL;
			snprintf(ls->zf_err, sizeof ls->zf_err, "%s", err);
			return -1;
		}
		ls->zf_err[0] = '\0';
		return 0;
	}
	if (now - ls->zf_checked_us >= 1000000) {
		ls->zf_checked_us = now;
		if (zonefile_refresh(ls->zf, err, sizeof err) == -1) {
			if (strcmp(err, ls->zf_warned) != 0) {
				log_warnx("dnsbl %s: keeping the old data: %s", ls->l->name, err);
				snprintf(ls->zf_warned, sizeof ls->zf_warned, "%s", err);
			}
		} else
			ls->zf_warned[0] = '\0';
	}
	return 0;
}

/* Answers one file-source job from its list's zone file. */
static void
file_answer(struct dnsbl *d, struct job *j, int64_t now)
{
	char raw[RAW_TXT_MAX], why[160];
	uint32_t a;

	j->from_file = 1;
	d->st.from_file++;
	if (zone_ready(j->ls, now) == -1) {
		j->status = DNSBL_ERROR;
		job_reason(j, "zone file: %s", j->ls->zf_err);
		return;
	}
	raw[0] = '\0';
	if (zonefile_lookup(j->ls->zf, &j->ip, &a, raw, sizeof raw) != 1) {
		j->status = DNSBL_CLEAN;
		return;
	}
	j->codes[0] = a;
	j->ncodes = 1;
	j->status = dnsbl_judge(j->ls->l, &a, 1, why, sizeof why);
	if (why[0])
		job_reason(j, "%s", why);
	if (j->status == DNSBL_LISTED && j->ls->l->txt && raw[0]) {
		if ((j->txt = malloc(sizeof ((struct dnsbl_result *)0)->txt)) != NULL)
			text_escape(j->txt, sizeof ((struct dnsbl_result *)0)->txt, raw,
			    strnlen(raw, sizeof raw));
	}
}

static void
file_round(struct dnsbl *d)
{
	struct jq work = d->filework;
	struct job *j;
	int64_t now = now_us();

	d->filework.head = d->filework.tail = NULL;
	while ((j = jq_pop(&work)) != NULL) {
		d->nfile--;
		if (d->closing) {
			j->status = DNSBL_ERROR;
			j->cancelled = 1;
		} else {
			file_answer(d, j, now);
		}
		finish(d, j);
	}
}

/* Verdict of one test point from its raw answer. */
static void
test_point(struct job *j, enum dnsbl_health *h, char *why, size_t len)
{
	const char *tp = j->point == 0 ? "127.0.0.2" : "127.0.0.1";
	const char *r = j->reason ? j->reason : "";
	char codes[DNSBL_MAX_CODES * 16 + 1] = "", t[16];
	size_t i, o = 0;

	for (i = 0; i < j->ncodes && o < sizeof codes; i++) {
		ip4_text(j->codes[i], t, sizeof t);
		o += (size_t)snprintf(codes + o, sizeof codes - o, "%s%s", i ? " " : "", t);
	}
	*h = DNSBL_H_OK;
	why[0] = '\0';
	if (j->status == DNSBL_BLOCKED) {
		*h = DNSBL_H_BLOCKED;
		snprintf(why, len, "%s", r);
	} else if (j->point == 0 && j->status == DNSBL_CLEAN) {
		*h = DNSBL_H_BROKEN;
		snprintf(why, len, "test point %s is not listed", tp);
	} else if (j->point == 1 && j->status == DNSBL_LISTED) {
		*h = DNSBL_H_BROKEN;
		snprintf(why, len, "test point %s is listed (%s): the list answers everything?",
		    tp, codes);
	} else if (j->status == DNSBL_ERROR) {
		*h = DNSBL_H_BROKEN;
		snprintf(why, len, "test point %s: %s", tp, r);
	}
}

static void
test_done(struct dnsbl *d, struct job *j)
{
	struct htest *t = j->test;
	enum dnsbl_health h;
	const char *why;

	if (j->cancelled || d->closing) {
		t->h[j->point] = DNSBL_H_UNTESTED;
		snprintf(t->why[j->point], sizeof t->why[0], "cancelled");
	} else
		test_point(j, &t->h[j->point], t->why[j->point], sizeof t->why[0]);
	if (--t->left > 0)
		return;
	if (t->h[0] == DNSBL_H_UNTESTED || t->h[1] == DNSBL_H_UNTESTED) {
		h = DNSBL_H_UNTESTED;
		why = "cancelled";
	} else if (t->h[0] == DNSBL_H_BLOCKED || t->h[1] == DNSBL_H_BLOCKED) {
		h = DNSBL_H_BLOCKED;
		why = t->h[0] == DNSBL_H_BLOCKED ? t->why[0] : t->why[1];
	} else if (t->h[0] == DNSBL_H_BROKEN || t->h[1] == DNSBL_H_BROKEN) {
		h = DNSBL_H_BROKEN;
		why = t->h[0] == DNSBL_H_BROKEN ? t->why[0] : t->why[1];
	} else {
		h = DNSBL_H_OK;
		why = "";
	}
	if (h != DNSBL_H_UNTESTED) {
		set_health(d, t->ls, h, why);
		t->ls->fail_streak = 0;
	}
	if (t->cb)
		t->cb(t->arg, t->ls->l, h, why);
	free(t);
}

/* Runs the callbacks of what was answered so far (not of what they add). */
static void
deliver(struct dnsbl *d)
{
	struct jq batch = d->ready;
	struct dnsbl_result r;
	struct job *j;

	d->ready.head = d->ready.tail = NULL;
	while ((j = jq_pop(&batch)) != NULL) {
		d->nready--;
		if (d->closing || j->cancelled) {
			j->cancelled = 1;
			j->status = DNSBL_ERROR;
			j->ncodes = 0;
			free(j->txt);
			j->txt = NULL;
			job_reason(j, "cancelled");
		}
		if (j->test) {
			test_done(d, j);
			job_free(j);
			continue;
		}
		note_outcome(d, j);
		memset(&r, 0, sizeof r);
		r.list = j->ls->l;
		r.ip = j->ip;
		r.status = j->status;
		r.ttl = j->ttl;
		r.from_file = j->from_file;
		/* codes are what came back (none when the list was not asked) */
		r.ncodes = j->ncodes;
		memcpy(r.codes, j->codes, j->ncodes * sizeof j->codes[0]);
		if (!j->cancelled && is_bad_health(j->ls->health)) {
			/* an unhealthy list's answers are never listed or clean */
			r.status = j->ls->health == DNSBL_H_BLOCKED ? DNSBL_BLOCKED : DNSBL_ERROR;
			snprintf(r.reason, sizeof r.reason, "%s", j->ls->reason);
		} else {
			if (j->txt && r.status == DNSBL_LISTED)
				snprintf(r.txt, sizeof r.txt, "%s", j->txt);
			if (j->reason && (r.status == DNSBL_ERROR || r.status == DNSBL_BLOCKED))
				snprintf(r.reason, sizeof r.reason, "%s", j->reason);
		}
		j->cb(j->arg, &r);
		job_free(j);
	}
}

static void
on_sock(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dnsbl *d = data;
	int i;

	for (i = 0; i < d->nsocks; i++)
		if (d->socks[i].fd == fd)
			break;
	if (!readable && !writable) {
		if (i < d->nsocks)
			d->socks[i] = d->socks[--d->nsocks];
		return;
	}
	if (i == d->nsocks) {
		if (d->nsocks == MAX_SOCKS) {
			log_warnx("dnsbl: more than %d c-ares sockets", MAX_SOCKS);
			return;
		}
		d->nsocks++;
	}
	d->socks[i].fd = fd;
	d->socks[i].r = readable;
	d->socks[i].w = writable;
}

/* c-ares wants "IP[:PORT],..." without blanks; the config allows blanks after commas. */
static int
set_servers(struct dnsbl *d, const char *spec, char *err, size_t errlen)
{
	char *csv = malloc(strlen(spec) + 1);
	size_t i, o = 0;
	int rc;

	if (csv == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; spec[i]; i++)
		if (spec[i] != ' ' && spec[i] != '\t')
			csv[o++] = spec[i];
	csv[o] = '\0';
	rc = o ? ares_set_servers_ports_csv(d->ch, csv) : ARES_EBADSTR;
	free(csv);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "nameserver '%s': not IP[:PORT][,IP[:PORT]...] (%s)", spec,
		    ares_strerror(rc));
		return -1;
	}
	return 0;
}

struct dnsbl *
dnsbl_new(const struct dnsbl_opts *o, char *err, size_t errlen)
{
	static int lib_ready;
	struct ares_options ao;
	struct dnsbl *d;
	int rc, mask;

	if (!lib_ready) {
		if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
			snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
			return NULL;
		}
		lib_ready = 1;
	}
	if ((d = calloc(1, sizeof *d)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (o)
		d->o = *o;
	if (d->o.timeout_ms == 0)
		d->o.timeout_ms = DEFAULT_TIMEOUT_MS;
	if (d->o.tries == 0)
		d->o.tries = DEFAULT_TRIES;
	if (d->o.max_outstanding == 0)
		d->o.max_outstanding = DEFAULT_OUTSTANDING;
	if (d->o.max_ttl == 0)
		d->o.max_ttl = DNSBL_MAX_TTL;
	if (d->o.max_neg_ttl == 0)
		d->o.max_neg_ttl = DNSBL_MAX_NEG_TTL;
	memset(&ao, 0, sizeof ao);
	/* NOCHECKRESP: SERVFAIL and REFUSED come back as such (c-ares 1.18 would report
	 * them as ECONNREFUSED after skipping the server) */
	ao.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_STAYOPEN |
	    ARES_FLAG_NOCHECKRESP;
	ao.timeout = (int)d->o.timeout_ms;
	ao.tries = (int)d->o.tries;
	ao.sock_state_cb = on_sock;
	ao.sock_state_cb_data = d;
	ao.socket_receive_buffer_size = SOCKBUF_BYTES;
	ao.socket_send_buffer_size = SOCKBUF_BYTES;
	mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB |
	    ARES_OPT_SOCK_RCVBUF | ARES_OPT_SOCK_SNDBUF;
#ifdef ARES_OPT_QUERY_CACHE
	/* c-ares >= 1.23 caches answers by default: the sweep honours every TTL itself, and a
	 * recheck (a rejection naming a list, sweep_recheck) must reach the server, not a
	 * cached negative answer. 0 turns the cache off. */
	ao.qcache_max_ttl = 0;
	mask |= ARES_OPT_QUERY_CACHE;
#endif
	if ((rc = ares_init_options(&d->ch, &ao, mask)) != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		free(d);
		return NULL;
	}
	if (d->o.nameservers && d->o.nameservers[0] &&
	    set_servers(d, d->o.nameservers, err, errlen) == -1) {
		ares_destroy(d->ch);
		free(d);
		return NULL;
	}
	d->o.nameservers = NULL;	/* not kept: the caller's string may go */
	return d;
}

void
dnsbl_free(struct dnsbl *d)
{
	struct job *j;
	size_t k;

	if (d == NULL)
		return;
	d->closing = 1;
	ares_destroy(d->ch);	/* in-flight queries come back as ARES_EDESTRUCTION */
	for (k = 0; k < d->nls; k++)
		while ((j = jq_pop(&d->ls[k]->queue)) != NULL) {
			d->queued--;
			finish(d, j);
		}
	file_round(d);
	deliver(d);
	for (k = 0; k < d->nls; k++) {
		zonefile_free(d->ls[k]->zf);
		free(d->ls[k]);
	}
	free(d->ls);
	free(d);
}

static struct job *
job_new(struct dnsbl *d, struct lstate *ls, const struct rw_addr *ip)
{
	struct job *j = calloc(1, sizeof *j);

	if (j == NULL)
		return NULL;
	j->d = d;
	j->ls = ls;
	j->ip = *ip;
	j->status = DNSBL_ERROR;
	return j;
}

/* Routes a new job: answered at once (next round), from the file, or by DNS. */
static void
route(struct dnsbl *d, struct job *j)
{
	if (!addr_is_v4(&j->ip) && !j->ls->l->ipv6) {
		j->local = 1;
		job_reason(j, "list does not support IPv6");
		finish(d, j);
	} else if (j->test == NULL && is_bad_health(j->ls->health)) {
		j->local = 1;
		finish(d, j);		/* delivery reports the list's health */
	} else if (j->ls->l->file) {
		jq_push(&d->filework, j);
		d->nfile++;
	} else {
		if (j->test)
			jq_push_front(&j->ls->queue, j);
		else
			jq_push(&j->ls->queue, j);
		d->queued++;
	}
}

int
dnsbl_ask(struct dnsbl *d, const struct dnsbl_list *l, const struct rw_addr *ip,
    dnsbl_cb cb, void *arg)
{
	struct lstate *ls;
	struct job *j;

	if (d == NULL || d->closing || l == NULL || ip == NULL || cb == NULL)
		return -1;
	if ((ls = lstate_get(d, l)) == NULL || (j = job_new(d, ls, ip)) == NULL)
		return -1;
	j->cb = cb;
	j->arg = arg;
	route(d, j);
	return 0;
}

void
dnsbl_on_health(struct dnsbl *d, dnsbl_health_cb cb, void *arg)
{
	d->on_health = cb;
	d->on_health_arg = arg;
}

int
dnsbl_test(struct dnsbl *d, const struct dnsbl_list *l, dnsbl_health_cb cb, void *arg)
{
	static const uint8_t tp[2][4] = { { 127, 0, 0, 2 }, { 127, 0, 0, 1 } };
	struct lstate *ls;
	struct htest *t;
	struct job *j[2];
	struct rw_addr ip;
	int i;

	if (d == NULL || d->closing || l == NULL || (ls = lstate_get(d, l)) == NULL)
		return -1;
	if ((t = calloc(1, sizeof *t)) == NULL)
		return -1;
	for (i = 0; i < 2; i++) {
		addr_from_v4(&ip, tp[i]);
		if ((j[i] = job_new(d, ls, &ip)) == NULL) {
			if (i)
				job_free(j[0]);
			free(t);
			return -1;
		}
		j[i]->test = t;
		j[i]->point = i;
	}
	t->ls = ls;
	t->cb = cb;
	t->arg = arg;
	t->left = 2;
	/* pushed to the front: 127.0.0.1 first, then 127.0.0.2 before it */
	route(d, j[1]);
	route(d, j[0]);
	return 0;
}

enum dnsbl_health
dnsbl_health(const struct dnsbl *d, const struct dnsbl_list *l, const char **reason)
{
	const struct lstate *ls = d ? lstate_find(d, l) : NULL;

	if (reason)
		*reason = ls ? ls->reason : "";
	return ls ? ls->health : DNSBL_H_UNTESTED;
}

unsigned long
dnsbl_day_used(const struct dnsbl *d, const struct dnsbl_list *l)
{
	const struct lstate *ls = d ? lstate_find(d, l) : NULL;

	/* a day that is over counts nothing, even before the next query resets it */
	if (ls == NULL || now_us() - ls->day_start_us >= (int64_t)86400 * 1000000)
		return 0;
	return ls->day_count;
}

int
dnsbl_pollfds(struct dnsbl *d, struct pollfd *fds, int max)
{
	int i, n = 0;

	for (i = 0; i < d->nsocks && n < max; i++) {
		fds[n].fd = d->socks[i].fd;
		fds[n].events = (short)((d->socks[i].r ? POLLIN : 0) | (d->socks[i].w ? POLLOUT : 0));
		fds[n].revents = 0;
		n++;
	}
	return n;
}

static int
is_ours(const struct dnsbl *d, int fd)
{
	int i;

	for (i = 0; i < d->nsocks; i++)
		if (d->socks[i].fd == fd)
			return 1;
	return 0;
}

void
dnsbl_process(struct dnsbl *d, const struct pollfd *fds, int n)
{
	int i, any = 0;

	for (i = 0; fds && i < n; i++) {
		short re = fds[i].revents;
		if (re == 0 || (re & POLLNVAL) || !is_ours(d, fds[i].fd))
			continue;
		ares_process_fd(d->ch, (re & (POLLIN | POLLERR | POLLHUP)) ? fds[i].fd :
		    ARES_SOCKET_BAD, (re & POLLOUT) ? fds[i].fd : ARES_SOCKET_BAD);
		any = 1;
	}
	if (!any)
		ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);	/* timeouts */
	file_round(d);
	dispatch(d);		/* refill the pipeline first: answers freed slots */
	deliver(d);
	dispatch(d);		/* what the callbacks asked */
}

int
dnsbl_timeout_ms(struct dnsbl *d)
{
	int64_t now = now_us(), t = -1, w;
	struct timeval tv, *tp;
	size_t k;

	if (d->nready || d->nfile)
		return 0;
	if (d->inflight && (tp = ares_timeout(d->ch, NULL, &tv)) != NULL)
		t = (int64_t)tp->tv_sec * 1000 + (tp->tv_usec + 999) / 1000;
	if (d->queued && d->inflight < d->o.max_outstanding) {
		for (k = 0; k < d->nls; k++) {
			struct lstate *ls = d->ls[k];
			/* (an unhealthy list's queue holds only test points: dispatch() answers
			 * the rest at once) */
			if (ls->queue.head == NULL)
				continue;
			if (!day_budget_left(ls, now))
				w = (ls->day_start_us + (int64_t)86400 * 1000000 - now + 999) / 1000;
			else if (ls->l->max_qps == 0)
				return 0;
			else {
				refill(ls, now);
				if (ls->tokens >= 1.0)
					return 0;
				w = (int64_t)((1.0 - ls->tokens) * 1000.0 / ls->l->max_qps) + 1;
			}
			if (t < 0 || w < t)
				t = w;
		}
	}
	if (t > 3600 * 1000)
		t = 3600 * 1000;	/* wake at least hourly: the caller's poll takes an int */
	return (int)t;
}

size_t
dnsbl_pending(const struct dnsbl *d)
{
	return d ? d->queued + d->inflight + d->nfile + d->nready : 0;
}

void
dnsbl_run(struct dnsbl *d)
{
	struct pollfd fds[MAX_SOCKS];
	int n, t;

	while (dnsbl_pending(d)) {
		n = dnsbl_pollfds(d, fds, MAX_SOCKS);
		t = dnsbl_timeout_ms(d);
		if (t < 0)
			t = 1000;	/* cannot happen while something is pending; never hang */
		poll(fds, (nfds_t)n, t);
		dnsbl_process(d, fds, n);
	}
}

void
dnsbl_get_stats(const struct dnsbl *d, struct dnsbl_stats *out)
{
	memset(out, 0, sizeof *out);
	if (d)
		*out = d->st;
}
