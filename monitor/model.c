/*
 * model.c — the join of traffic and listings into the risk engine, once a minute of the
 * model's clock, and what of it must survive a restart.
 *
 * For: turning the capture's cumulative per-IP counters into per-minute deltas (the store's
 * traffic rows, the customers' sparklines and last-hour figures, the risk engine's
 * observations), following the listings as the DNSBL probe applies answers, evaluating, and
 * turning level changes into durable flag history and socket events.
 * Owns: the risk engine, a snapshot per traffic record (the counters as of the last minute,
 * first seen), the per-customer state (recorded level, acknowledgement, sparkline).
 * Must never: write per packet (the minute's rows go into the store's batch), lose a level
 * change (it is committed before it is published; a failed commit is retried at the next
 * minute because the recorded level only moves once the store took it), or keep a pointer
 * into a customer map or space after a reload.
 */
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chunk.h"
#include "control.h"
#include "log.h"
#include "text.h"

#define MINUTE		60
#define HOUR		3600
/* A loop turn's share of the minute's work (model_step): records looked at, and rows or
 * risk histories written. The minute after a million new senders is spread over thousands
 * of turns instead of one of 30 s (bench_daemon.sh: the turns' p99 7.2 ms at 512 rows a
 * turn, 22.5 ms at 2048). */
#define STEP_SCAN	65536
#define STEP_ROWS	512

struct snap {			/* a traffic record's counters as of the last minute */
	uint64_t bytes_out, dst;
	uint32_t syn, sessions, mail_from, rcpt_to, data, starttls, r4, r5, cited;
	uint32_t first_seen;
	uint32_t citedip, r5adj;	/* what the risk engine counts (see report_lists) */
	uint32_t *lc;			/* per list: replies naming it, as of the last minute */
	uint32_t nlc;
	uint8_t suspect;
	uint8_t observed;		/* the risk engine has had a snapshot of it */
};

/* What the risk engine of the moment counts from: the counters as they stood when it was
 * built by a reload (an engine restored from the store counts its first snapshot of an IP
 * in full, which must then be only what came after). Absent until such a reload. */
struct rbase {
	uint32_t conn, rcpt, r5, cited;
	uint64_t dst;
};

struct cust {
	uint8_t level;
	int64_t since;
	char *ack_by, *ack_reason;
	int64_t ack_ts;
	uint32_t spark[MODEL_SPARK];	/* sessions, by hour % MODEL_SPARK */
	uint32_t hour;			/* the hour of the newest slot */
	uint32_t cur[4], prev[4];	/* rcpt, 5xx, cited, dst: this hour and the last */
};

struct model {
	struct model_env env;
	struct risk_config rc;
	struct risk *risk;
	const struct prefixes *space;
	const struct customers *cus;
	const struct dnsbl_lists *lists;
	struct snap *snapc[CHUNK_MAX];	/* per traffic record, by its index: chunks
					 * from calloc, so the pages of records never
					 * accounted (a flood's SYN-only sources) are
					 * never touched */
	unsigned nsnapc;
	size_t nsnap;			/* records covered: the chunks' total */
	struct rbase *base;		/* NULL, or nbase entries */
	size_t nbase;
	struct cust *cust;
	size_t ncust;
	int64_t minute;			/* the minute number of the last tick */
	/* the minute's work in progress, a slice per loop turn (model_step) */
	enum { W_IDLE, W_ACCOUNT, W_EXPORT } phase;
	size_t cursor, wcount;		/* the next record to account, and the end */
	int64_t wts, wnow;		/* the rows' minute, and the clock it ends at */
	double wms;			/* wall milliseconds spent on it so far */
	size_t step_scan, step_rows;	/* a slice's share (STEP_SCAN, STEP_ROWS) */
	int wrc;			/* -1 once the store refused a part of it */
	int64_t now, evaluated;
	double eval_ms, minute_ms;	/* the last risk evaluation, the last minute's work */
	int64_t pruned_hour;
	int reeval;			/* a listing changed: evaluate without waiting a minute */
	int logged_full;		/* the risk engine's IP table full: said once */
	long minute_retention, hour_retention;
	size_t levels[4];
};

static void work_finish(struct model *m);

static inline struct snap *
snap_at(const struct model *m, size_t i)
{
	unsigned c = chunk_of((uint32_t)i);

	return &m->snapc[c][i - chunk_first(c)];
}

static void
cust_clear(struct cust *c)
{
	free(c->ack_by);
	free(c->ack_reason);
	c->ack_by = c->ack_reason = NULL;
	c->ack_ts = 0;
}

static void
free_custs(struct cust *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		cust_clear(&c[i]);
	free(c);
}

enum risk_level
model_level_parse(const char *s)
{
	if (s == NULL)
		return RISK_NONE;
	if (strcmp(s, "watch") == 0)
		return RISK_WATCH;
	if (strcmp(s, "warn") == 0)
		return RISK_WARN;
	if (strcmp(s, "act") == 0)
		return RISK_ACT;
	return RISK_NONE;
}

void
model_publish(struct model *m, const char *ev, json_t *data)
{
	if (m->env.control == NULL) {
		json_decref(data);
		return;
	}
	control_publish(m->env.control, ev, data);
}

/* ------------------------------------------------------------------ listings */

static const char *
scope_of(const struct store_listing *s)
{
	return dnsbl_scope_name((enum dnsbl_scope)s->scope);
}

/* The risk engine's IP table at [risk] max_ips: said once, not per IP and minute (the
 * engine counts them: risk_ip_refused, status tracked_ips_refused). */
static void
note_full(struct model *m)
{
	if (m->logged_full || risk_ip_refused(m->risk) == 0)
		return;
	m->logged_full = 1;
	log_warnx("model: the risk engine's IP table is full at %zu IPs ([risk] max_ips): "
	    "further IPs are not modelled and cannot be flagged; said once, counted in status "
	    "(tracked_ips_refused)", risk_ip_count(m->risk));
}

static void
feed_listing(struct model *m, const struct store_listing *s)
{
	struct rw_addr a;
	char err[160];

	if (m->risk == NULL)
		return;
	if (s->scope == DNSBL_SCOPE_IP) {
		if (addr_parse(s->key, &a) == -1)
			return;
		if (risk_listing(m->risk, s->list, &a, s->listed, s->first_seen,
		    s->last_seen) == -1)
			note_full(m);
	} else if (risk_nb_listing(m->risk, s->list, s->key, s->listed, s->first_seen,
	    s->txt, err, sizeof err) == -1)
		log_warnx("model: %s", err);
}

static void
on_listing(void *arg, enum listing_change ch, const struct store_listing *s)
{
	static const char *const name[] = { "same", "listed", "delisted", "changed" };
	struct model *m = arg;

	feed_listing(m, s);
	if (ch == LISTING_SAME)
		return;
	m->reeval = 1;
	model_publish(m, "listing", json_pack("{s:s, s:s, s:s, s:s, s:I}", "list", s->list,
	    "key", s->key, "scope", scope_of(s), "event", name[ch], "ts",
	    (json_int_t)s->checked));
}

static void
feed_each(void *arg, const struct store_listing *s)
{
	feed_listing(arg, s);
}

static int flags_diff(struct model *m, int64_t now);

/* Milliseconds of a monotonic clock, for the model's own timings. */
static double
loop_now_ms_f(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------------ restore */

struct restore {
	struct model *m;
	size_t ok, bad;
	int64_t now;
};

static void
restore_ipstate(void *arg, const char *ip, const void *state, size_t len)
{
	struct restore *rs = arg;
	struct rw_addr a;
	char err[160];

	if (addr_parse(ip, &a) == -1 ||
	    risk_import(rs->m->risk, &a, state, len, err, sizeof err) == -1)
		rs->bad++;
	else
		rs->ok++;
}

static int
dupstr(char **dst, const char *s)
{
	*dst = NULL;
	if (s == NULL || s[0] == '\0')
		return 0;
	return (*dst = strdup(s)) == NULL ? -1 : 0;
}

static void
restore_flag(void *arg, const struct store_flag *f)
{
	struct restore *rs = arg;
	long c = customers_find(rs->m->cus, f->customer);
	struct cust *cu;

	if (c < 0)
		return;		/* no longer a customer: its history stays in the store */
	cu = &rs->m->cust[c];
	cu->level = (uint8_t)model_level_parse(f->level);
	cu->since = f->ts;
	cust_clear(cu);
	if (f->ack_by != NULL && f->ack_by[0] != '\0' &&
	    (dupstr(&cu->ack_by, f->ack_by) == -1 ||
	    dupstr(&cu->ack_reason, f->ack_reason) == -1))
		rs->bad++;
	cu->ack_ts = f->ack_ts;
	rs->ok++;
}

/* Moves the sparkline of cu to hour h (zeroing the hours in between). */
static void
spark_roll(struct cust *cu, uint32_t h)
{
	uint32_t k;

	if (h <= cu->hour)
		return;
	if (h - cu->hour >= MODEL_SPARK)
		memset(cu->spark, 0, sizeof cu->spark);
	else
		for (k = cu->hour + 1; k <= h; k++)
			cu->spark[k % MODEL_SPARK] = 0;
	if (h - cu->hour == 1)
		memcpy(cu->prev, cu->cur, sizeof cu->prev);
	else
		memset(cu->prev, 0, sizeof cu->prev);
	memset(cu->cur, 0, sizeof cu->cur);
	cu->hour = h;
}

static void
cust_add(struct cust *cu, uint32_t h, uint32_t sessions, uint32_t rcpt, uint32_t r5,
    uint32_t cited, uint32_t dst)
{
	uint32_t *p;

	if (h + MODEL_SPARK <= cu->hour)
		return;		/* older than the sparkline */
	spark_roll(cu, h);
	cu->spark[h % MODEL_SPARK] += sessions;
	p = h == cu->hour ? cu->cur : h + 1 == cu->hour ? cu->prev : NULL;
	if (p != NULL) {
		p[0] += rcpt;
		p[1] += r5;
		p[2] += cited;
		p[3] += dst;
	}
}

static void
restore_traffic(void *arg, const struct store_traffic *t)
{
	struct restore *rs = arg;
	long c;

	if (t->customer[0] == '\0' || (c = customers_find(rs->m->cus, t->customer)) < 0)
		return;
	cust_add(&rs->m->cust[c], (uint32_t)(t->ts / HOUR), t->sessions, t->rcpt_to,
	    t->replies_5xx, t->cited, t->new_dst);
}

/* A new risk engine over the current space, its history from the store, the listings fed. */
static int
build_risk(struct model *m, char *err, size_t errlen)
{
	struct restore rs = { .m = m };
	struct risk *r;

	if ((r = risk_new(&m->rc, err, errlen)) == NULL)
		return -1;
	if (risk_set_space(r, m->space, m->cus, err, errlen) == -1) {
		risk_free(r);
		return -1;
	}
	risk_free(m->risk);
	m->risk = r;
	if (store_ipstate_load(m->env.store, restore_ipstate, &rs, err, errlen) == -1)
		return -1;
	if (rs.bad > 0)
		log_warnx("model: %zu stored IP states unreadable (skipped)", rs.bad);
	listings_each(m->env.listings, feed_each, m);
	if (m->env.refeed != NULL)
		m->env.refeed(m->env.arg, r);
	return 0;
}

/* Per-customer state for the map m->cus; state of customers of the old map follows the ids. */
static int
build_custs(struct model *m, const struct customers *old, int64_t now, char *err,
    size_t errlen)
{
	size_t n = customers_count(m->cus), i;
	struct cust *nc = calloc(n ? n : 1, sizeof *nc);
	struct restore rs = { .m = m, .now = now };
	struct cust *oc = m->cust;
	size_t on = m->ncust;

	if (nc == NULL) {
		snprintf(err, errlen, "model: out of memory");
		return -1;
	}
	if (old != NULL) {
		for (i = 0; i < on; i++) {
			long c = customers_find(m->cus, customers_get(old, i)->id);
			if (c >= 0) {
				nc[c] = oc[i];	/* takes the ack strings */
				oc[i].ack_by = oc[i].ack_reason = NULL;
			}
		}
		free_custs(oc, on);
		m->cust = nc;
		m->ncust = n;
		return 0;
	}
	free_custs(oc, on);
	m->cust = nc;
	m->ncust = n;
	if (store_flag_load(m->env.store, restore_flag, &rs, err, errlen) == -1)
		return -1;
	return store_traffic_each(m->env.store, 1, (now / HOUR - MODEL_SPARK + 1) * HOUR,
	    (now / HOUR + 1) * HOUR, NULL, NULL, restore_traffic, &rs, err, errlen);
}

struct model *
model_new(const struct model_env *env, const struct risk_config *rc,
    const struct prefixes *p, const struct customers *c, const struct dnsbl_lists *ls,
    int64_t now, char *err, size_t errlen)
{
	struct model *m = calloc(1, sizeof *m);

	if (m == NULL) {
		snprintf(err, errlen, "model: out of memory");
		return NULL;
	}
	m->env = *env;
	m->rc = *rc;
	m->space = p;
	m->cus = c;
	m->lists = ls;
	m->now = now;
	m->minute_retention = 48 * HOUR;
	m->hour_retention = 35 * 24 * HOUR;
	if (build_custs(m, NULL, now, err, errlen) == -1 || build_risk(m, err, errlen) == -1) {
		model_free(m);
		return NULL;
	}
	listings_set_hook(env->listings, on_listing, m);
	/* the restored state's view at once (a restart shows the flags it had); what changed
	 * meanwhile is recorded, and acted on, at the first tick, once the daemon is whole */
	if (risk_evaluate(m->risk, now) == 0)
		m->evaluated = now;
	m->reeval = 1;
	return m;
}

void
model_free(struct model *m)
{
	if (m == NULL)
		return;
	if (m->env.listings != NULL)
		listings_set_hook(m->env.listings, NULL, NULL);
	risk_free(m->risk);
	for (size_t i = 0; i < m->nsnap; i++)
		free(snap_at(m, i)->lc);
	for (unsigned c = 0; c < m->nsnapc; c++)
		free(m->snapc[c]);
	free(m->base);
	free_custs(m->cust, m->ncust);
	free(m);
}

int
model_set_space(struct model *m, const struct prefixes *p, const struct customers *c,
    const struct dnsbl_lists *ls, char *err, size_t errlen)
{
	const struct customers *old = m->cus;
	const struct prefixes *oldp = m->space;

	work_finish(m);	/* the minute in progress counts under what it began with */
	if (risk_set_space(m->risk, p, c, err, errlen) == -1)
		return -1;
	m->space = p;
	m->cus = c;
	if (build_custs(m, old, m->now, err, errlen) == -1) {
		m->space = oldp;
		m->cus = old;
		(void)risk_set_space(m->risk, oldp, old, err, errlen);
		return -1;
	}
	m->lists = ls;
	m->reeval = 1;		/* new customers, new neighbourhoods: flags follow now */
	return 0;
}

/* The new engine counts from the counters as they stand (see struct rbase). */
static void
set_bases(struct model *m)
{
	struct rbase *b = NULL;
	size_t i;

	if (m->nsnap > 0 && (b = calloc(m->nsnap, sizeof *b)) == NULL)
		log_warnx("model: out of memory: the hour in progress counts twice after this "
		    "reload");
	for (i = 0; b != NULL && i < m->nsnap; i++) {
		struct snap *sn = snap_at(m, i);

		b[i].conn = sn->sessions;
		b[i].rcpt = sn->rcpt_to;
		b[i].r5 = sn->r5adj;
		b[i].cited = sn->citedip;
		b[i].dst = sn->dst;
		sn->observed = 0;
	}
	free(m->base);
	m->base = b;
	m->nbase = b != NULL ? m->nsnap : 0;
}

int
model_set_risk(struct model *m, const struct risk_config *rc, char *err, size_t errlen)
{
	struct risk_config old = m->rc;

	work_finish(m);	/* the minute in progress counts under what it began with */
	model_save(m);		/* every IP's state is then in the store to start from */
	m->rc = *rc;
	if (build_risk(m, err, errlen) == -1) {
		char err2[200];

		m->rc = old;
		if (build_risk(m, err2, sizeof err2) == -1)
			log_warnx("model: the old risk engine is gone too: %s", err2);
		return -1;
	}
	set_bases(m);
	m->reeval = 1;
	return 0;
}

void
model_set_retention(struct model *m, long minute_retention, long hour_retention)
{
	m->minute_retention = minute_retention;
	m->hour_retention = hour_retention;
}

/* ------------------------------------------------------------------ the minute */

static uint32_t
cited_of(const struct traffic *t, const struct traffic_ip *ip)
{
	/* a reply naming two lists (or a list and a capture word) is one rejection: the
	 * per-IP total, not a sum over the lists */
	(void)t;
	return ip->cited;
}

static uint32_t
d32(uint32_t now, uint32_t before)
{
	return now >= before ? now - before : now;	/* a reset counts from 0 */
}

/*
 * The minute's replies naming each list for one sender: each list's count goes to the risk
 * engine as reports (ip scope: a provisional listing, re-checked in DNS at once; range and
 * asn scope: the escalation happened). What the engine counts as this IP's own citations
 * are the replies naming an ip-scope list (*dip, the most of any one list, so a reply
 * naming two is not counted twice); replies naming a range or ASN list (*drange) speak of
 * the neighbourhood, not of this sender, and are taken out of its rejections: once a /24
 * is listed, every innocent in it is rejected too.
 */
static void
report_lists(struct model *m, const struct traffic_ip *ip, struct snap *s, int64_t now,
    uint32_t *dip, uint32_t *drange)
{
	size_t n = traffic_ncite(m->env.traffic), i;

	*dip = *drange = 0;
	if (ip->cites == NULL || n == 0)
		return;
	if (s->nlc != n) {
		free(s->lc);
		s->nlc = 0;
		if ((s->lc = calloc(n, sizeof *s->lc)) == NULL)
			return;
		s->nlc = (uint32_t)n;
	}
	for (i = 0; i < n; i++) {
		const struct dnsbl_list *l = m->lists != NULL && i < dnsbl_lists_count(m->lists) ?
		    dnsbl_lists_get(m->lists, i) : NULL;
		uint32_t d = d32(ip->cites[i], s->lc[i]);

		s->lc[i] = ip->cites[i];
		if (d == 0 || l == NULL)
			continue;
		if (risk_reported(m->risk, l->name, &ip->addr, d, now) == -1)
			note_full(m);
		if (l->scope == DNSBL_SCOPE_IP) {
			if (d > *dip)
				*dip = d;
			if (m->env.recheck != NULL)
				m->env.recheck(m->env.arg, i, &ip->addr);
		} else if (d > *drange)
			*drange = d;
	}
}

/* Covers traffic records 0..n-1 with zeroed snapshots (a snapshot's first_seen is set
 * when its record is first accounted). */
static int
grow_snaps(struct model *m, size_t n)
{
	while (m->nsnap < n) {
		if (m->nsnapc == CHUNK_MAX ||
		    (m->snapc[m->nsnapc] = calloc(chunk_len(m->nsnapc), sizeof(struct snap))) == NULL)
			return -1;
		m->nsnap += chunk_len(m->nsnapc++);
	}
	return 0;
}

struct save_ctx {
	struct model *m;
	int64_t now;
	size_t errors;
};

static void
save_state(void *arg, const struct rw_addr *ip, const void *state, size_t len)
{
	struct save_ctx *sc = arg;
	char buf[ADDR_STRLEN], err[160];

	if (store_ipstate_put(sc->m->env.store, addr_format(ip, buf, sizeof buf), state, len,
	    sc->now, err, sizeof err) == -1 && sc->errors++ == 0)
		log_warnx("model: %s", err);
}

/* Hands one sender's minute to the risk engine: its cumulative counters (less what a
 * reloaded engine starts from), or, for an IPv6 address that the engine tracks under its
 * /64 with the other addresses there, the minute's increase. */
static int
observe(struct model *m, const struct traffic_ip *ip, struct snap *s,
    const struct store_traffic *row, uint64_t dst, size_t i, int64_t now)
{
	struct risk_counters rc, zero;
	uint32_t dip, drange, d5 = d32(ip->replies_5xx, s->r5), d5adj;

	report_lists(m, ip, s, now, &dip, &drange);
	d5adj = d5 - (drange < d5 ? drange : d5);
	s->citedip += dip;
	s->r5adj += d5adj;
	if (!addr_is_v4(&ip->addr) && m->rc.v6_plen < 128) {
		rc.connections = row->sessions;
		rc.rcpt = row->rcpt_to;
		rc.replies_5xx = d5adj;
		rc.cited = dip;
		rc.distinct_dst = row->new_dst;
		s->observed = 1;
		return risk_observe_add(m->risk, &ip->addr, &rc, now);
	}
	rc.connections = ip->sessions;
	rc.rcpt = ip->rcpt_to;
	rc.replies_5xx = s->r5adj;
	rc.cited = s->citedip;
	rc.distinct_dst = dst;
	if (i < m->nbase) {
		rc.connections -= m->base[i].conn;
		rc.rcpt -= m->base[i].rcpt;
		rc.replies_5xx -= m->base[i].r5;
		rc.cited -= m->base[i].cited;
		rc.distinct_dst -= m->base[i].dst;
	}
	if (!s->observed) {
		/* the engine takes an IP's first snapshot as its starting point; ours start at
		 * zero, so that is the first one it gets */
		memset(&zero, 0, sizeof zero);
		(void)risk_observe(m->risk, &ip->addr, &zero, now);
		s->observed = 1;
	}
	return risk_observe(m->risk, &ip->addr, &rc, now);
}

/* A traffic record about to be reused: its snapshot goes with it. */
static void
forget_snap(void *arg, size_t i, const struct traffic_ip *ip)
{
	struct model *m = arg;

	(void)ip;
	if (i < m->nsnap) {
		free(snap_at(m, i)->lc);
		memset(snap_at(m, i), 0, sizeof(struct snap));
	}
	if (i < m->nbase)
		memset(&m->base[i], 0, sizeof m->base[i]);
}

/* Once the minute is accounted: the capture's table past its high-water mark forgets the
 * sources it can best spare (traffic_evict says which), so that a flood of new addresses
 * never keeps a real sender out for longer than a minute. */
static void
make_room(struct model *m, int64_t now)
{
	long n = traffic_evict(m->env.traffic, (uint32_t)now, forget_snap, m);

	if (n > 0)
		log_info("model: the capture's table forgot %ld idle sources to make room "
		    "(%zu tracked)", n, traffic_live(m->env.traffic));
	else if (n == -1)
		log_warnx("model: out of memory making room in the capture's table");
}

/* Turns the counters' increase since the last minute into rows, observations and customer
 * figures, for records m->cursor .. m->wcount-1, at most max_scan looked at and max_rows
 * rows written. Returns 1 when it reached the end, 0 when a limit stopped it, -1 when the
 * store refused (the snapshots from there on stay, so the next minute carries their
 * increase). */
static int
account(struct model *m, size_t max_scan, size_t max_rows)
{
	struct traffic *t = m->env.traffic;
	size_t i, end = m->cursor + (max_scan < m->wcount - m->cursor ? max_scan :
	    m->wcount - m->cursor), rows = 0;
	char ipbuf[ADDR_STRLEN], err[160];
	int64_t ts = m->wts, now = m->wnow;
	uint32_t hour = (uint32_t)(ts / HOUR);

	for (i = m->cursor; i < end && rows < max_rows; i++) {
		struct traffic_ip *ip = traffic_at(t, i);
		struct snap *s;
		struct store_traffic row;
		uint32_t cited;
		uint64_t dst;

		/* a source that never completed a handshake has delivered nothing, and anyone
		 * can forge its SYNs: no row, no observation until it does (its SYNs are
		 * then in its first row) */
		if (traffic_is_free(ip) || ip->sessions == 0)
			continue;
		s = snap_at(m, i);
		if (s->first_seen == 0)
			s->first_seen = (uint32_t)now;
		cited = cited_of(t, ip);
		dst = distinct_count(&ip->dst);
		if (ip->syn == s->syn && ip->sessions == s->sessions &&
		    ip->bytes_out == s->bytes_out && ip->replies_4xx == s->r4 &&
		    ip->replies_5xx == s->r5 && dst == s->dst && cited == s->cited)
			continue;
		memset(&row, 0, sizeof row);
		row.ip = addr_format(&ip->addr, ipbuf, sizeof ipbuf);
		row.customer = ip->customer >= 0 && (size_t)ip->customer < m->ncust ?
		    customers_get(m->cus, (size_t)ip->customer)->id : "";
		row.ts = ts;
		row.bytes_out = ip->bytes_out >= s->bytes_out ? ip->bytes_out - s->bytes_out :
		    ip->bytes_out;
		row.syn = d32(ip->syn, s->syn);
		row.sessions = d32(ip->sessions, s->sessions);
		row.mail_from = d32(ip->mail_from, s->mail_from);
		row.rcpt_to = d32(ip->rcpt_to, s->rcpt_to);
		row.data = d32(ip->data, s->data);
		row.starttls = d32(ip->starttls, s->starttls);
		row.replies_4xx = d32(ip->replies_4xx, s->r4);
		row.replies_5xx = d32(ip->replies_5xx, s->r5);
		row.cited = d32(cited, s->cited);
		row.new_dst = (uint32_t)(dst >= s->dst ? dst - s->dst : dst);
		if (store_traffic_put(m->env.store, &row, err, sizeof err) == -1) {
			log_warnx("model: %s", err);
			m->cursor = m->wcount;
			return -1;
		}
		rows++;
		if (observe(m, ip, s, &row, dst, i, now) == -1)
			note_full(m);	/* counted by risk */
		if (ip->customer >= 0 && (size_t)ip->customer < m->ncust)
			cust_add(&m->cust[ip->customer], hour, row.sessions, row.rcpt_to,
			    row.replies_5xx, row.cited, row.new_dst);
		s->syn = ip->syn;
		s->sessions = ip->sessions;
		s->mail_from = ip->mail_from;
		s->rcpt_to = ip->rcpt_to;
		s->data = ip->data;
		s->starttls = ip->starttls;
		s->bytes_out = ip->bytes_out;
		s->r4 = ip->replies_4xx;
		s->r5 = ip->replies_5xx;
		s->cited = cited;
		s->dst = dst;
	}
	m->cursor = i;
	return i == m->wcount ? 1 : 0;
}

json_t *
model_nb_json(const struct risk_nb_view *v)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:f, s:f, s:I, s:f, s:f, s:f, s:b}",
	    "policy", v->policy,
	    "scope", v->scope == RISK_SCOPE_ASN ? "asn" : "range", "key", v->key,
	    "impacts", (json_int_t)v->impacts, "suspects", (json_int_t)v->suspects,
	    "threshold", (json_int_t)v->threshold, "pressure", v->pressure,
	    "projected", v->projected, "provisional", (json_int_t)v->provisional,
	    "likelihood", v->likelihood, "estimated", v->estimated, "pace", v->pace,
	    "reported_escalated", v->reported);
}

json_t *
model_evidence_json(const struct risk_flag *f)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && f != NULL && i < f->nevidence; i++)
		json_array_append_new(a, text_json(f->evidence[i]));
	return a;
}

/* The evidence document the store keeps with a flag. */
static char *
evidence_doc(const struct risk_flag *f)
{
	json_t *nbs = json_array(), *doc;
	char *s;
	size_t i;

	for (i = 0; f != NULL && nbs != NULL && i < f->nnb; i++)
		json_array_append_new(nbs, model_nb_json(f->nb[i]));
	doc = json_pack("{s:o, s:o}", "evidence", model_evidence_json(f), "neighbourhoods",
	    nbs);
	s = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	return s;
}

/* Records and publishes the level changes of the last evaluation. */
static int
flags_diff(struct model *m, int64_t now)
{
	size_t c;
	int rc = 0;

	memset(m->levels, 0, sizeof m->levels);
	for (c = 0; c < m->ncust; c++) {
		const struct risk_flag *f = risk_flag_of(m->risk, (long)c);
		enum risk_level lev = f != NULL ? f->level : RISK_NONE;
		struct cust *cu = &m->cust[c];
		const struct customer *cus = customers_get(m->cus, c);
		struct store_flag sf;
		char err[200], *doc;
		enum risk_level prev;
		int64_t id = 0, since;

		m->levels[lev]++;
		if (lev == cu->level && lev == RISK_NONE)
			continue;
		if ((doc = evidence_doc(f)) == NULL) {
			log_warnx("model: out of memory");
			return -1;
		}
		if (lev == cu->level) {
			if (store_flag_update(m->env.store, cus->id, f->score, doc, err,
			    sizeof err) == -1)
				log_warnx("model: %s", err);
			free(doc);
			continue;
		}
		memset(&sf, 0, sizeof sf);
		sf.ts = now;
		sf.customer = cus->id;
		sf.name = cus->name;
		sf.level = risk_level_name(lev);
		sf.previous = risk_level_name((enum risk_level)cu->level);
		sf.score = f != NULL ? f->score : 0;
		sf.evidence = doc;
		/* the change and what env.flag sets off (the hook's audit row, the alert rows)
		 * commit together: committed alone, a kill before the alert would lose it for
		 * good, since after a restart the level is already the new one */
		if (store_hold(m->env.store, err, sizeof err) == -1 ||
		    store_flag_change(m->env.store, &sf, &id, err, sizeof err) == -1) {
			log_warnx("model: customer %s: level change not recorded, retried at the "
			    "next minute: %s", cus->id, err);
			(void)store_release(m->env.store, 0, err, sizeof err);
			free(doc);
			rc = -1;
			continue;
		}
		free(doc);
		model_publish(m, "flag", json_pack("{s:I, s:I, s:o, s:o, s:s, s:s, s:f, s:o}",
		    "id", (json_int_t)id, "ts", (json_int_t)now, "customer", text_json(cus->id),
		    "name", text_json(cus->name), "level", sf.level, "previous", sf.previous, "score", sf.score,
		    "evidence", model_evidence_json(f)));
		prev = (enum risk_level)cu->level;
		since = cu->since;
		cu->level = (uint8_t)lev;
		cu->since = now;
		cust_clear(cu);
		if (m->env.flag != NULL)
			m->env.flag(m->env.arg, (long)c, lev, prev, id);
		if (store_release(m->env.store, 1, err, sizeof err) == -1) {
			log_warnx("model: customer %s: level change not recorded (nor what it set "
			    "off), retried at the next minute: %s", cus->id, err);
			cu->level = (uint8_t)prev;
			cu->since = since;
			rc = -1;
		}
	}
	return rc;
}

/* Asks the DNSBL probe about the IPs that turned suspect this minute. */
static void
new_suspects(struct model *m)
{
	size_t i;
	unsigned rules;

	for (i = 0; i < m->nsnap && i < traffic_count(m->env.traffic); i++) {
		struct traffic_ip *ip = traffic_at(m->env.traffic, i);
		int s;

		if (traffic_is_free(ip) || ip->sessions == 0)
			continue;
		s = risk_ip_suspect(m->risk, &ip->addr, &rules);

		if (s && !snap_at(m, i)->suspect && m->env.suspect != NULL)
			m->env.suspect(m->env.arg, &ip->addr);
		snap_at(m, i)->suspect = (uint8_t)s;
	}
}

/* Evaluates at now and records what changed. */
static int
evaluate(struct model *m, int64_t now)
{
	double t1 = loop_now_ms_f();
	int rc;

	m->reeval = 0;
	if (risk_evaluate(m->risk, now) == -1) {
		log_warnx("model: out of memory evaluating");
		return -1;
	}
	m->eval_ms = loop_now_ms_f() - t1;
	m->evaluated = now;
	new_suspects(m);
	rc = flags_diff(m, now);
	model_publish(m, "tick", json_pack("{s:I, s:{s:I, s:I, s:I}}", "now", (json_int_t)now,
	    "levels", "watch", (json_int_t)m->levels[RISK_WATCH], "warn",
	    (json_int_t)m->levels[RISK_WARN], "act", (json_int_t)m->levels[RISK_ACT]));
	return rc;
}

/* Sets up accounting the records there are now into rows of minute ts, at clock now. */
static void
work_begin(struct model *m, int64_t ts, int64_t now)
{
	size_t n = traffic_count(m->env.traffic);

	m->wts = ts;
	m->wnow = now;
	m->wms = 0;
	m->wrc = 0;
	m->cursor = 0;
	m->wcount = n;
	if (grow_snaps(m, n) == -1) {
		log_warnx("model: out of memory for %zu senders", n);
		m->wcount = 0;
		m->wrc = -1;
	}
}

/* One slice of the minute's work: accounting the records, then writing the risk engine's
 * changed histories, then (in the step that gets there) evaluating and pruning. */
static int
work_slice(struct model *m, size_t max_scan, size_t max_rows)
{
	struct save_ctx sc = { .m = m, .now = m->wnow };
	int64_t now = m->wnow;
	char err[200];
	int r;

	if (m->phase == W_ACCOUNT) {
		if ((r = account(m, max_scan, max_rows)) == 0)
			return 0;
		if (r == -1)
			m->wrc = -1;
		else
			make_room(m, now);
		m->phase = W_EXPORT;
	}
	if (risk_export_dirty_max(m->risk, max_rows, save_state, &sc) > 0 &&
	    risk_dirty_count(m->risk) > 0)
		return 0;
	m->phase = W_IDLE;
	if (evaluate(m, now) == -1)
		m->wrc = -1;
	if (now / HOUR != m->pruned_hour) {
		m->pruned_hour = now / HOUR;
		if (store_traffic_prune(m->env.store, now - m->minute_retention,
		    now - m->hour_retention, err, sizeof err) == -1 ||
		    store_ipstate_prune(m->env.store, now - m->hour_retention, err,
		    sizeof err) == -1)
			log_warnx("model: pruning: %s", err);
	}
	return m->wrc == -1 ? -1 : 1;
}

int
model_step(struct model *m)
{
	double t0 = loop_now_ms_f();
	int r;

	if (m->phase == W_IDLE)
		return 0;
	r = work_slice(m, m->step_scan ? m->step_scan : STEP_SCAN,
	    m->step_rows ? m->step_rows : STEP_ROWS);
	m->wms += loop_now_ms_f() - t0;
	if (r != 0)
		m->minute_ms = m->wms;
	return r;
}

void
model_set_step(struct model *m, size_t scan, size_t rows)
{
	m->step_scan = scan;
	m->step_rows = rows;
}

int
model_busy(const struct model *m)
{
	return m->phase != W_IDLE;
}

/* Does what is left of the minute's work now (a reload, a flush, the stop). */
static void
work_finish(struct model *m)
{
	while (m->phase != W_IDLE)
		(void)work_slice(m, SIZE_MAX, SIZE_MAX);
}

int
model_tick(struct model *m, int64_t now)
{
	int64_t minute = now / MINUTE;

	if (m->phase != W_IDLE)
		return 0;	/* the last minute's work goes on: model_step */
	if (m->minute == 0 || minute < m->minute) {
		m->minute = minute;	/* the first tick, or the clock went back (a replay) */
		m->now = now;
		if (!m->reeval)
			return 0;
		return evaluate(m, now) == -1 ? -1 : 1;
	}
	m->now = now;
	if (minute == m->minute) {
		/* a listing came or went: the flags follow it now, not at the next minute */
		if (!m->reeval || now < m->evaluated + 1)
			return 0;
		return evaluate(m, now) == -1 ? -1 : 1;
	}
	work_begin(m, m->minute * MINUTE, now);
	m->phase = W_ACCOUNT;
	m->minute = minute;
	return model_step(m);
}

/* Accounts the minute in progress in full, now. 0 when the store took it all. */
static int
account_now(struct model *m)
{
	work_finish(m);
	if (m->minute == 0)
		return -1;
	work_begin(m, m->minute * MINUTE, m->now);	/* the accounting alone */
	return account(m, SIZE_MAX, SIZE_MAX) == 1 ? 0 : -1;
}

void
model_flush(struct model *m)
{
	if (account_now(m) == 0)
		m->reeval = 1;
}

void
model_save(struct model *m)
{
	struct save_ctx sc = { .m = m, .now = m->now };

	if (account_now(m) == 0)
		risk_export_dirty(m->risk, save_state, &sc);
}

void
model_feed(struct model *m, void (*fn)(void *arg, struct risk *r), void *arg)
{
	fn(arg, m->risk);
	note_full(m);
	m->reeval = 1;
}

/* ------------------------------------------------------------------ read access */

const struct risk *model_risk(const struct model *m) { return m->risk; }
const struct customers *model_customers(const struct model *m) { return m->cus; }
const struct prefixes *model_space(const struct model *m) { return m->space; }
const struct dnsbl_lists *model_lists(const struct model *m) { return m->lists; }
struct listings *model_listings(const struct model *m) { return m->env.listings; }
struct store *model_store(const struct model *m) { return m->env.store; }
struct traffic *model_traffic(const struct model *m) { return m->env.traffic; }
int64_t model_now(const struct model *m) { return m->now; }
int64_t model_evaluated(const struct model *m) { return m->evaluated; }

int64_t
model_first_seen(const struct model *m, size_t i)
{
	return i < m->nsnap ? snap_at(m, i)->first_seen : 0;
}

void
model_timings(const struct model *m, double *eval_ms, double *minute_ms)
{
	*eval_ms = m->eval_ms;
	*minute_ms = m->minute_ms;
}

void
model_levels(const struct model *m, size_t out[4])
{
	memcpy(out, m->levels, sizeof m->levels);
}

int
model_customer(const struct model *m, long c, struct model_customer *v)
{
	const struct cust *cu;
	uint32_t h = (uint32_t)(m->now / HOUR), k;
	double frac = (double)(m->now % HOUR) / HOUR, keep = 1 - frac;

	if (c < 0 || (size_t)c >= m->ncust)
		return -1;
	cu = &m->cust[c];
	memset(v, 0, sizeof *v);
	v->level = (enum risk_level)cu->level;
	v->since = cu->since;
	v->ack_by = cu->ack_by;
	v->ack_reason = cu->ack_reason;
	v->ack_ts = cu->ack_ts;
	for (k = 0; k < MODEL_SPARK; k++) {
		uint32_t hk = h - (MODEL_SPARK - 1) + k;
		if (hk <= cu->hour && hk + MODEL_SPARK > cu->hour)
			v->spark[k] = cu->spark[hk % MODEL_SPARK];
	}
	/* the last 60 minutes: this hour and the part of the last one still inside */
	if (cu->hour == h) {
		v->sessions_1h = cu->spark[h % MODEL_SPARK] +
		    (uint32_t)(keep * cu->spark[(h + MODEL_SPARK - 1) % MODEL_SPARK]);
		v->rcpt_1h = cu->cur[0] + (uint32_t)(keep * cu->prev[0]);
		v->rej_1h = cu->cur[1] + (uint32_t)(keep * cu->prev[1]);
		v->cited_1h = cu->cur[2] + (uint32_t)(keep * cu->prev[2]);
		v->dst_1h = cu->cur[3] + (uint32_t)(keep * cu->prev[3]);
	} else if (cu->hour + 1 == h) {
		v->sessions_1h = (uint32_t)(keep * cu->spark[cu->hour % MODEL_SPARK]);
		v->rcpt_1h = (uint32_t)(keep * cu->cur[0]);
		v->rej_1h = (uint32_t)(keep * cu->cur[1]);
		v->cited_1h = (uint32_t)(keep * cu->cur[2]);
		v->dst_1h = (uint32_t)(keep * cu->cur[3]);
	}
	return 0;
}

int
model_ack(struct model *m, long c, const char *by, const char *reason, int64_t now,
    char *err, size_t errlen)
{
	struct cust *cu;
	char *nb, *nr;
	int r;

	if (c < 0 || (size_t)c >= m->ncust) {
		snprintf(err, errlen, "no such customer");
		return -1;
	}
	cu = &m->cust[c];
	if (cu->level == RISK_NONE) {
		snprintf(err, errlen, "customer %s has no flag to acknowledge",
		    customers_get(m->cus, (size_t)c)->id);
		return -1;
	}
	if ((nb = strdup(by)) == NULL || (nr = strdup(reason)) == NULL) {
		free(nb);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r = store_flag_ack(m->env.store, customers_get(m->cus, (size_t)c)->id, by, reason, now,
	    err, errlen);
	if (r != 0) {
		if (r == 1)
			snprintf(err, errlen, "customer %s has no recorded flag",
			    customers_get(m->cus, (size_t)c)->id);
		free(nb);
		free(nr);
		return -1;
	}
	cust_clear(cu);
	cu->ack_by = nb;
	cu->ack_reason = nr;
	cu->ack_ts = now;
	return 0;
}
