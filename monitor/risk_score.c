/*
 * risk_score.c — one IP's evidence, its likelihood of becoming an impact and the trap hits
 * estimated behind it (rangewatchd(8), DETECTION MODEL, has the reasoning behind every
 * number here).
 * For: risk_eval.c, once per IP and evaluation. Owns nothing: it reads and updates one
 * struct iprec. Never: looks at other IPs, its customer or its neighbourhoods (that is the
 * next phase), or turns volume alone into strong evidence.
 *
 * Evidence comes in two kinds. Strong: a list already acts on the IP — it is listed on a
 * list that feeds a policy, remote servers report it listed on one (a provisional impact),
 * at least rej_cited replies an hour name an ip-scope list for it and make up cited_share
 * (1%) of its recipients, or a large share of its recipients is rejected, well above its own usual
 * share. Weak: its behaviour changed — rate or fan-out far over its own history, volume
 * with no history yet, a waking long-silent or unassigned IP, a listing on a list no policy
 * counts. Only strong evidence can make a customer act, and only the volume an IP sends
 * under strong evidence counts toward its estimated trap hits.
 *
 * Sampled flow exports (monitor/flows.h) reach this file only as connections (and new
 * destinations): the 95% lower bound of their estimate, so an estimate is weighed by its
 * error before it gets here, and they can only ever make weak evidence (rate, volume,
 * fan-out, waking, unassigned). Recipients, 5xx replies and citations, on which strong
 * evidence rests, come only from pcap sensors.
 */
#include <math.h>
#include <string.h>

#include "risk_int.h"

/*
 * Likelihood that one piece of evidence alone ends in an ip-scope listing within the
 * window; pieces combine as independent chances (1 - prod(1 - p)). Strong evidence says a
 * list already has the IP, or is about to: a reply naming an ip-scope list is a listing
 * somebody's server sees (0.6: it may be a list no policy counts, or a stale cache); half
 * of the recipients rejected is what a blocklisted or trap-hitting sender sees (0.5). Weak
 * evidence is a change of behaviour that precedes most compromises but also many
 * legitimate campaigns: alone it stays below the weight of one listing, and together it
 * stays below one half, so that volume alone never reaches warn_at of a /24 by itself.
 */
static const struct {
	unsigned rule;
	double p;
} weight[] = {
	{ RISK_R_FEED, 1.0 },		/* a provisional impact */
	{ RISK_R_TRAP, 0.8 },		/* Microsoft's traps took its mail (risk_reports.c) */
	{ RISK_R_CITED, 0.6 },
	{ RISK_R_RATIO, 0.5 },
	{ RISK_R_RED, 0.5 },		/* SNDS: > 90% spam by Microsoft's filter */
	{ RISK_R_UNASSIGNED, 0.5 },	/* nobody should send from unassigned space */
	{ RISK_R_LISTED, 0.3 },		/* listed where no policy looks (e.g. PBL) */
	{ RISK_R_RATE, 0.2 },
	{ RISK_R_FANOUT, 0.2 },
	{ RISK_R_WOKE, 0.2 },
	{ RISK_R_YELLOW, 0.2 },		/* SNDS: 10-90% spam */
	{ RISK_R_COMPLAINT, 0.2 },	/* third-party words: weak, whatever their number */
	{ RISK_R_CONN, 0.1 },		/* no history yet: volume says little */
	{ RISK_R_RCPT, 0.1 },
	{ RISK_R_REJECT, 0.1 },
};

void
risk_last_hour(const struct iprec *ip, int64_t now, double out[NC])
{
	uint32_t h = (uint32_t)(now / HOUR), k;
	double frac = (double)(now % HOUR) / HOUR;

	for (k = 0; k < NC; k++) {
		if (ip->hour == h)
			out[k] = ip->cur[k] + ip->prev[k] * (1 - frac);
		else if (ip->hour + 1 == h)
			out[k] = ip->cur[k] * (1 - frac);
		else
			out[k] = 0;
	}
}

int
risk_lrec_provisional(const struct risk *r, const struct lrec *l, int64_t now)
{
	return l->rep_last != 0 && now - l->rep_last < r->cfg.provisional_for &&
	    l->rep_total >= r->cfg.rej_cited;
}

static int
feeds_any(const struct risk *r, unsigned list)
{
	size_t k;

	for (k = 0; k < r->cfg.npolicies; k++)
		if (r->feedmask[k] >> list & 1)
			return 1;
	return 0;
}

/* RISK_R_FEED and RISK_R_LISTED from the IP's lists; *fed: listed on a feeding list. */
static unsigned
list_rules(const struct risk *r, const struct iprec *ip, int64_t now, int *fed)
{
	const struct lrec *l;
	unsigned rules = 0;

	*fed = 0;
	for (l = ip->lst; l != NULL; l = l->next) {
		int feeds = feeds_any(r, l->list);
		if (l->listed && feeds)
			*fed = 1;
		else if (l->listed)
			rules |= RISK_R_LISTED;
		else if (feeds && risk_lrec_provisional(r, l, now))
			rules |= RISK_R_FEED;
	}
	return rules;
}

/* The limits an IP is judged by: [risk]'s, with its class's over them. */
struct limits {
	double rate_factor, peak_factor, reject_ratio_weak, reject_ratio;
	uint32_t conn_per_hour, rcpt_per_hour, mx_per_hour, rej_5xx;
};

static void
limits_of(const struct risk *r, const struct iprec *ip, struct limits *l)
{
	const struct risk_config *c = &r->cfg;
	const struct risk_class *k = ip->cls < c->nclasses ? &c->cls[ip->cls] : NULL;

	l->rate_factor = k && k->rate_factor ? k->rate_factor : c->rate_factor;
	l->peak_factor = k && k->peak_factor ? k->peak_factor : c->peak_factor;
	l->reject_ratio_weak = k && k->reject_ratio_weak ? k->reject_ratio_weak :
	    c->reject_ratio_weak;
	l->reject_ratio = k && k->reject_ratio ? k->reject_ratio : c->reject_ratio;
	l->conn_per_hour = k && k->conn_per_hour ? k->conn_per_hour : c->conn_per_hour;
	l->rcpt_per_hour = k && k->rcpt_per_hour ? k->rcpt_per_hour : c->rcpt_per_hour;
	l->mx_per_hour = k && k->mx_per_hour ? k->mx_per_hour : c->mx_per_hour;
	l->rej_5xx = k && k->rej_5xx ? k->rej_5xx : c->rej_5xx;
}

/* The baseline ip is judged against: its own once it has one, else its customer's (the most
 * its IPs with a history usually send), else the silence before it was first seen, else none
 * (NULL). */
static const struct cbase *
own_or_customer(const struct risk *r, const struct iprec *ip, struct cbase *own)
{
	int cust = ip->customer >= 0 && (size_t)ip->customer < r->ncbase &&
	    r->cbase[ip->customer].has;

	if (ip->hours >= r->cfg.baseline_hours && !((ip->flags & F_SILENT) && cust)) {
		own->mean = ip->mean;
		own->peak = ip->peak;
		own->rmean = ip->rmean;
		own->rpeak = ip->rpeak;
		own->mxmean = ip->mxmean;
		own->mxpeak = ip->mxpeak;
		own->has = 1;
		return own;
	}
	if (cust)
		return &r->cbase[ip->customer];
	return NULL;
}

/* The behaviour rules of the last hour. */
static unsigned
traffic_rules(const struct risk *r, const struct iprec *ip, int64_t now, const double lh[NC])
{
	const struct risk_config *c = &r->cfg;
	double share = lh[C_RCPT] > 0 ? lh[C_5XX] / lh[C_RCPT] : 0;
	unsigned rules = 0;
	const struct cbase *b;
	struct cbase cb;
	struct limits l;
	int based;

	limits_of(r, ip, &l);
	/* sessions or recipients far over the IP's own: a hacked site sending a few sessions
	 * with many recipients each shows in the recipients first. With no history of its own,
	 * the most its customer's other IPs usually send stands in for it. */
	b = own_or_customer(r, ip, &cb);
	if (b != NULL && ((lh[C_CONN] >= c->rate_min && lh[C_CONN] >= l.rate_factor * b->mean &&
	    lh[C_CONN] >= l.peak_factor * b->peak) || (lh[C_RCPT] >= c->rate_min &&
	    lh[C_RCPT] >= l.rate_factor * b->rmean && lh[C_RCPT] >= l.peak_factor * b->rpeak)))
		rules |= RISK_R_RATE;
	based = b != NULL;
	/* absolute limits only until the IP has a history: then its own history judges */
	if (!based && lh[C_CONN] >= l.conn_per_hour)
		rules |= RISK_R_CONN;
	if (!based && lh[C_RCPT] >= l.rcpt_per_hour)
		rules |= RISK_R_RCPT;
	if (based ? lh[C_MX] >= c->rate_min && lh[C_MX] >= l.rate_factor * b->mxmean &&
	    lh[C_MX] >= l.peak_factor * b->mxpeak : lh[C_MX] >= l.mx_per_hour)
		rules |= RISK_R_FANOUT;
	if (lh[C_5XX] >= l.rej_5xx && share >= 2 * ip->rjmean) {
		if (share >= l.reject_ratio)
			rules |= RISK_R_RATIO;
		else if (share >= l.reject_ratio_weak)
			rules |= RISK_R_REJECT;
	}
	if (lh[C_CITED] >= c->rej_cited && lh[C_CITED] >= c->cited_share * lh[C_RCPT])
		rules |= RISK_R_CITED;
	if (ip->customer < 0 && ip->nb_asn != NONE && lh[C_CONN] >= 1)
		rules |= RISK_R_UNASSIGNED;
	if (ip->woke_at != 0 && now - ip->woke_at < c->woke_for && lh[C_CONN] >= c->woke_min)
		rules |= RISK_R_WOKE;
	return rules;
}

static double
likelihood(unsigned rules)
{
	double q = 1;
	size_t i;

	for (i = 0; i < sizeof weight / sizeof weight[0]; i++)
		if (rules & weight[i].rule)
			q *= 1 - weight[i].p;
	return 1 - q;
}

/* The share of this hour's sending above the IP's usual peak: what an IP with a history
 * sends as usual is never counted as spam, however large (1 with no history yet). */
static double
excess(const struct risk *r, const struct iprec *ip, double conn)
{
	if (ip->hours < r->cfg.baseline_hours)
		return 1;
	if (conn <= 0 || conn <= ip->peak)
		return 0;
	return 1 - ip->peak / conn;
}

void
risk_score_ip(struct risk *r, struct iprec *ip, int64_t now)
{
	double lh[NC], f, acc;
	uint32_t drcpt, d5;
	int64_t maxwin = 0;
	int fed;
	size_t k;

	ip->rules = 0;
	ip->p = 0;
	ip->pace = 0;
	ip->flags &= (uint8_t)~F_STRONG;
	drcpt = ip->last.rcpt >= ip->ev_rcpt ? ip->last.rcpt - ip->ev_rcpt : ip->last.rcpt;
	d5 = ip->last.replies_5xx >= ip->ev_5xx ? ip->last.replies_5xx - ip->ev_5xx :
	    ip->last.replies_5xx;
	ip->ev_rcpt = ip->last.rcpt;
	ip->ev_5xx = ip->last.replies_5xx;
	for (k = 0; k < r->cfg.npolicies; k++)
		if (r->cfg.policy[k].window > maxwin)
			maxwin = r->cfg.policy[k].window;
	if (ip->spam_last != 0 && now - ip->spam_last >= maxwin) {
		ip->spam = 0;	/* its last spam left every window */
		ip->spam_last = 0;
	}
	ip->rules = (uint16_t)(list_rules(r, ip, now, &fed) | risk_snds_rules(r, ip, now));
	if (ip->seen) {
		risk_last_hour(ip, now, lh);
		ip->rules |= (uint16_t)traffic_rules(r, ip, now, lh);
	} else
		memset(lh, 0, sizeof lh);
	ip->p = (float)likelihood(ip->rules);
	if (!fed && !(ip->rules & RISK_R_STRONG))
		return;
	ip->flags |= F_STRONG;
	/* Trap hits come from recipients that were accepted: rejected ones reach no trap. */
	f = excess(r, ip, lh[C_CONN]);
	acc = drcpt > d5 ? (double)(drcpt - d5) : 0;
	if (acc * f > 0) {
		ip->spam = (float)(ip->spam + acc * f);
		ip->spam_last = now;
	}
	ip->pace = (float)(lh[C_RCPT] > lh[C_5XX] ? (lh[C_RCPT] - lh[C_5XX]) * f : 0);
}

int
risk_impact_of(const struct risk *r, const struct iprec *ip, size_t pol, int64_t now,
    int64_t *first, int64_t *leave)
{
	const struct lrec *l;
	int hit = 0;

	*first = INT64_MAX;
	*leave = 0;
	if (risk_snds_impact(r, ip, pol, now, first, leave) > 0)
		hit = 1;
	for (l = ip->lst; l != NULL; l = l->next) {
		int64_t lv;
		if (!(r->feedmask[pol] >> l->list & 1) || l->first == 0)
			continue;
		lv = l->last + r->cfg.policy[pol].window;
		if (l->first <= now && now < lv) {
			hit = 1;
			if (l->first < *first)
				*first = l->first;
			if (lv > *leave)
				*leave = lv;
		}
	}
	return hit;
}

int
risk_provisional_of(const struct risk *r, const struct iprec *ip, size_t pol, int64_t now)
{
	const struct lrec *l;

	for (l = ip->lst; l != NULL; l = l->next)
		if ((r->feedmask[pol] >> l->list & 1) && !l->listed &&
		    risk_lrec_provisional(r, l, now))
			return 1;
	return 0;
}

void
risk_estimate(const struct risk *r, const struct iprec *ip, struct imp *m)
{
	const struct risk_policy *p = &r->cfg.policy[m->pol];
	double per = p->spam_per_impact / r->scale[m->pol];	/* recipients per trap hit */

	m->w = m->impact || m->provisional ? 1.0 : ip->p;
	if (!(ip->flags & F_STRONG) && !m->impact) {
		m->est = m->w;
		m->pace = 0;
		return;
	}
	/* a listing is at least one trap hit; the spam sent under strong evidence says how
	 * many more probably came (listings run from the last one) */
	m->est = m->w * fmax(1.0, ip->spam / per);
	m->pace = m->w * ip->pace / per;
	if (m->impact) {
		/* SNDS trap hits the policy takes: so many of the list's own, estimated */
		int64_t f = INT64_MAX, lv = 0;
		uint32_t hits = risk_snds_impact(r, ip, m->pol, r->at, &f, &lv);
		m->est = fmax(m->est, p->snds_weight * hits);
	}
}
