/*
 * risk_eval.c — risk_evaluate(): the phases that turn the IPs' states into neighbourhood
 * views and customer flags. For: the minute's evaluation. Owns: nothing of its own; it
 * rebuilds the results held by struct risk (risk_int.h). Never: I/O, the clock, text
 * escaping; never a level `act` without strong evidence on the customer's own IPs.
 *
 * Phases: (1) score every IP (risk_score.c) and collect, per policy, its impacts,
 * provisional impacts and suspects with their estimated trap hits; (2) group them into
 * neighbourhood views with pressures and forecasts, and calibrate the trap-hit estimate
 * from the lists' own counts; (3) per customer and neighbourhood, its share and its
 * evidence decide the level; (4) the words (risk_evidence.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "risk_int.h"

#define EV_IPS_MAX	10	/* IP lines per customer's evidence */
#define SCALE_MIN	0.25	/* calibration of spam_per_impact: at most 4x fewer hits ... */
#define SCALE_MAX	20.0	/* ... or 20x more than the default rate */

/* Why a customer has its level, worst first within a level (risk_evidence.c words it). */
enum why { WHY_NONE, WHY_WATCH, WHY_STRONG, WHY_RATE, WHY_WARN_PROJ, WHY_WARN_ETA,
	WHY_ACT_HOLD, WHY_ACT_PROJ, WHY_ACT_ETA, WHY_ACT_ESC };

/* ------------------------------------------------------------- sorting */

static const struct risk *sort_r;	/* the engine being sorted (qsort has no argument) */

static int
cmp_imp(const void *x, const void *y)
{
	const struct imp *a = x, *b = y;

	if (a->pol != b->pol)
		return a->pol < b->pol ? -1 : 1;
	if (a->nb != b->nb)
		return a->nb < b->nb ? -1 : 1;
	if (a->impact != b->impact)
		return a->impact > b->impact ? -1 : 1;
	if (a->leave != b->leave)
		return a->leave < b->leave ? -1 : 1;
	return a->ip < b->ip ? -1 : a->ip > b->ip;
}

static int
cmp_cand(const void *x, const void *y)
{
	const struct cand *a = x, *b = y;

	if (a->cust != b->cust)
		return a->cust < b->cust ? -1 : 1;
	return a->ip < b->ip ? -1 : a->ip > b->ip;
}

/* imps of customers, by (customer, view, ip) */
static int
cmp_contrib(const void *x, const void *y)
{
	const struct imp *a = *(const struct imp *const *)x, *b = *(const struct imp *const *)y;
	int32_t ca = sort_r->ip[a->ip].customer, cb = sort_r->ip[b->ip].customer;

	if (ca != cb)
		return ca < cb ? -1 : 1;
	if (a->view != b->view)
		return a->view < b->view ? -1 : 1;
	return a->ip < b->ip ? -1 : a->ip > b->ip;
}

/* imps of customers, by (view, customer, ip) */
static int
cmp_byview(const void *x, const void *y)
{
	const struct imp *a = *(const struct imp *const *)x, *b = *(const struct imp *const *)y;
	int32_t ca, cb;

	if (a->view != b->view)
		return a->view < b->view ? -1 : 1;
	ca = sort_r->ip[a->ip].customer;
	cb = sort_r->ip[b->ip].customer;
	if (ca != cb)
		return ca < cb ? -1 : 1;
	return a->ip < b->ip ? -1 : a->ip > b->ip;
}

static int
cmp_vorder(const void *x, const void *y)
{
	const struct risk_nb_view *a = *(const struct risk_nb_view *const *)x;
	const struct risk_nb_view *b = *(const struct risk_nb_view *const *)y;

	if (a->escalated != b->escalated)
		return a->escalated ? -1 : 1;
	if (a->projected != b->projected)
		return a->projected > b->projected ? -1 : 1;
	return strcmp(a->key, b->key);
}

static int
cmp_flag(const void *x, const void *y)
{
	const struct risk_flag *a = x, *b = y;

	if (a->level != b->level)
		return a->level > b->level ? -1 : 1;
	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	return a->customer < b->customer ? -1 : a->customer > b->customer;
}

/* ------------------------------------------------- phase 1: the IPs */

static int
imp_push(struct risk *r, uint32_t i, uint32_t nb, size_t pol, int64_t now)
{
	struct iprec *ip = &r->ip[i];
	int64_t first, leave;
	int hit = (ip->lst != NULL || ip->x != NULL) &&
	    risk_impact_of(r, ip, pol, now, &first, &leave);
	int prov = !hit && ip->lst != NULL && risk_provisional_of(r, ip, pol, now);
	struct imp *m;

	if (nb == NONE || (!hit && !prov && !ip->rules))
		return 0;
	if (risk_grow(&r->imp, &r->capimp, r->nimp + 1, sizeof *r->imp) == -1)
		return -1;
	m = &r->imp[r->nimp++];
	memset(m, 0, sizeof *m);
	m->ip = i;
	m->nb = nb;
	m->pol = (uint8_t)pol;
	m->impact = (uint8_t)hit;
	m->provisional = (uint8_t)prov;
	m->first = hit ? first : 0;
	m->leave = hit ? leave : 0;
	m->view = NONE;
	risk_estimate(r, ip, m);
	return 1;
}

/* Forgets the list records no window or report keeps; 1 when the IP is listed now. */
static int
forget_listings(struct risk *r, struct iprec *ip, int64_t now, int64_t maxwin)
{
	struct lrec **pp = &ip->lst, *l;
	int listed = 0;

	while ((l = *pp) != NULL) {
		int dns_gone = !l->listed && (l->first == 0 || now >= l->last + maxwin);
		int rep_gone = l->rep_last == 0 || now - l->rep_last >= r->cfg.provisional_for;
		if (dns_gone && rep_gone) {
			*pp = l->next;
			free(l);
			continue;
		}
		listed |= l->listed;
		pp = &l->next;
	}
	return listed;
}

/* How long ip has been idle at now (an IP that never completed a session: since its
 * first snapshot's hour). */
static int64_t
idle_for(const struct iprec *ip, int64_t now)
{
	return now - (ip->last_active ? ip->last_active : (int64_t)ip->hour * HOUR);
}

/* Per customer, the most any of its IPs with a history usually sends: an IP with no history
 * of its own is judged against it (a newsletter's ninth IP sends like its other eight). */
static int
customer_bases(struct risk *r)
{
	size_t n = r->cus ? customers_count(r->cus) : 0, i;

	if (n > r->ncbase) {
		struct cbase *q = realloc(r->cbase, n * sizeof *q);
		if (q == NULL)
			return -1;
		r->cbase = q;
		r->ncbase = n;
	}
	if (r->ncbase > 0)
		memset(r->cbase, 0, r->ncbase * sizeof *r->cbase);
	for (i = 0; i < r->nip; i++) {
		const struct iprec *ip = &r->ip[i];
		struct cbase *b;
		if ((ip->flags & (F_FREE | F_SILENT)) || ip->customer < 0 ||
		    (size_t)ip->customer >= n || ip->hours < r->cfg.baseline_hours)
			continue;
		b = &r->cbase[ip->customer];
		b->has = 1;
		b->mean = fmaxf(b->mean, ip->mean);
		b->peak = fmaxf(b->peak, ip->peak);
		b->rmean = fmaxf(b->rmean, ip->rmean);
		b->rpeak = fmaxf(b->rpeak, ip->rpeak);
		b->mxmean = fmaxf(b->mxmean, ip->mxmean);
		b->mxpeak = fmaxf(b->mxpeak, ip->mxpeak);
	}
	return 0;
}

static int
score_ips(struct risk *r, int64_t now, struct cand **cand, size_t *ncand, size_t *capcand)
{
	int64_t maxwin = 0;
	size_t i, j;

	for (i = 0; i < r->cfg.npolicies; i++)
		if (r->cfg.policy[i].window > maxwin)
			maxwin = r->cfg.policy[i].window;
	if (customer_bases(r) == -1)
		return -1;
	for (i = 0; i < r->nip; i++) {
		struct iprec *ip = &r->ip[i];
		int worth;

		if (ip->flags & F_FREE)
			continue;
		worth = forget_listings(r, ip, now, maxwin);
		risk_x_prune(r, ip, now, maxwin);
		if (!worth && ip->lst == NULL && ip->x == NULL &&
		    idle_for(ip, now) >= r->cfg.idle_forget) {
			risk_ip_forget(r, (uint32_t)i);	/* a month of silence says nothing */
			continue;
		}
		risk_score_ip(r, ip, now);
		if (ip->rules)
			worth = 1;
		for (j = 0; j < r->cfg.npolicies; j++) {
			uint32_t nb = r->cfg.policy[j].scope == RISK_SCOPE_ASN ? ip->nb_asn :
			    ip->nb_range;
			int k = imp_push(r, (uint32_t)i, nb, j, now);
			if (k == -1)
				return -1;
			worth |= k;
		}
		if (worth && ip->customer >= 0) {
			if (risk_grow(cand, capcand, *ncand + 1, sizeof **cand) == -1)
				return -1;
			(*cand)[*ncand].cust = ip->customer;
			(*cand)[(*ncand)++].ip = (uint32_t)i;
		}
	}
	return 0;
}

/* ------------------------------------------- phase 2: neighbourhoods */

static const struct esc *
esc_of(const struct risk *r, uint32_t nb, size_t pol)
{
	size_t e;

	for (e = 0; e < r->nesc; e++)
		if (r->esc[e].nb == nb && r->esc[e].pol == pol &&
		    (r->esc[e].listed || r->esc[e].reported))
			return &r->esc[e];
	return NULL;
}

static int
view_grow(struct risk *r)
{
	size_t cap = r->capview ? r->capview * 2 : 64;
	void *q;

	if (r->nview < r->capview)
		return 0;
	/* four parallel arrays, one capacity */
	if ((q = realloc(r->view, cap * sizeof *r->view)) == NULL)
		return -1;
	r->view = q;
	if ((q = realloc(r->vnb, cap * sizeof *r->vnb)) == NULL)
		return -1;
	r->vnb = q;
	if ((q = realloc(r->vpol, cap)) == NULL)
		return -1;
	r->vpol = q;
	if ((q = realloc(r->vorder, cap * sizeof *r->vorder)) == NULL)
		return -1;
	r->vorder = q;
	r->capview = cap;
	return 0;
}

/* The view of (pol, nb), appended. */
static int
view_add(struct risk *r, size_t pol, uint32_t nb, int64_t now)
{
	const struct risk_policy *p = &r->cfg.policy[pol];
	const struct nb *n = &r->nb[nb];
	struct risk_nb_view *v;
	const struct esc *e;

	if (view_grow(r) == -1)
		return -1;
	v = &r->view[r->nview];
	memset(v, 0, sizeof *v);
	v->policy = p->name;
	v->scope = p->scope;
	v->list_count = -1;
	v->ips = n->ips;
	v->customer_ips = n->customer_ips;
	v->calibration = r->scale[pol];
	v->eta_threshold = -1;
	if (p->scope == RISK_SCOPE_ASN) {
		snprintf(v->key, sizeof v->key, "AS%u", n->asn);
		v->threshold = risk_asn_threshold(p, n->ips);
	} else {
		cidr_format(&n->cidr, v->key, sizeof v->key);
		v->threshold = risk_range_threshold(p, cidr_user_plen(&n->cidr),
		    !addr_is_v4(&n->cidr.net));
	}
	if ((e = esc_of(r, nb, pol)) != NULL) {
		v->escalated = e->listed;
		v->escalated_since = e->listed ? e->since : 0;
		v->list_count = e->listed ? e->count : -1;
		/* a report older than the window is history, not news */
		v->reported = !e->listed && e->reported != 0 && now - e->reported < p->window;
		v->reported_since = v->reported ? e->reported : 0;
	}
	r->vnb[r->nview] = nb;
	r->vpol[r->nview] = (uint8_t)pol;
	r->nview++;
	return 0;
}

/* When the view reaches its threshold: from the pace of its suspicious sending and from
 * the rate of new listings over rate_window, whichever comes first; -1 neither moves. */
static int64_t
view_eta(const struct risk *r, const struct risk_nb_view *v, size_t fresh, int64_t now)
{
	double need = (double)v->threshold - v->estimated;
	int64_t eta = -1;

	if (v->pace > 0)
		eta = now + (int64_t)ceil(need / v->pace * HOUR);
	if (fresh > 0) {
		uint64_t left = v->threshold - v->impacts;
		int64_t e2 = now + (int64_t)((left * (uint64_t)r->cfg.rate_window + fresh - 1) /
		    fresh);
		if (eta < 0 || e2 < eta)
			eta = e2;
	}
	return eta;
}

/* Fills the view's counts and forecasts from its imps (impacts first, by leave). */
static void
view_fill(struct risk *r, struct risk_nb_view *v, const struct imp *im, size_t n, int64_t now)
{
	size_t i, fresh = 0;

	for (i = 0; i < n; i++) {
		if (im[i].impact) {
			v->impacts++;
			if (im[i].first > now - r->cfg.rate_window)
				fresh++;
			if (im[i].leave > v->clear_all_at)
				v->clear_all_at = im[i].leave;
		} else if (im[i].provisional)
			v->provisional++;
		else {
			v->suspects++;
			v->likelihood += im[i].w;
		}
		v->estimated += im[i].est;
		v->pace += im[i].pace;
	}
	if (v->estimated < v->impacts)
		v->estimated = v->impacts;
	v->pressure = (double)v->impacts / v->threshold;
	v->projected = v->estimated / v->threshold;
	if (v->ips > 0 && v->ips != UINT64_MAX)
		v->spamscore = round((double)v->impacts / (double)v->ips * 100000.0 * 10) / 10;
	if (v->impacts >= v->threshold) {
		v->eta_threshold = 0;
		/* impacts sorted by leave: below threshold once impacts - thr + 1 have left */
		v->clear_at = im[v->impacts - v->threshold].leave;
	} else if (v->estimated >= v->threshold)
		v->eta_threshold = 0;	/* by the estimate, due at the list's next rebuild */
	else
		v->eta_threshold = view_eta(r, v, fresh, now);
}

/* A list that states its own count for a range or ASN it escalated calibrates the
 * policy's trap-hit estimate (used from the next evaluation on): the list knows its hits. */
static void
calibrate(struct risk *r)
{
	size_t i;

	for (i = 0; i < r->nview; i++) {
		const struct risk_nb_view *v = &r->view[i];
		double s;
		if (!v->escalated || v->list_count <= 0 || v->estimated < 1)
			continue;
		s = r->scale[r->vpol[i]] * (double)v->list_count / v->estimated;
		r->scale[r->vpol[i]] = s < SCALE_MIN ? SCALE_MIN : s > SCALE_MAX ? SCALE_MAX : s;
	}
}

static int
build_views(struct risk *r, int64_t now)
{
	size_t i, j, v;

	if (r->nimp > 0)
		qsort(r->imp, r->nimp, sizeof *r->imp, cmp_imp);
	for (i = 0; i < r->nimp; i = j) {
		for (j = i; j < r->nimp && r->imp[j].pol == r->imp[i].pol &&
		    r->imp[j].nb == r->imp[i].nb; j++)
			;
		if (view_add(r, r->imp[i].pol, r->imp[i].nb, now) == -1)
			return -1;
		for (size_t k = i; k < j; k++)
			r->imp[k].view = (uint32_t)(r->nview - 1);
		view_fill(r, &r->view[r->nview - 1], &r->imp[i], j - i, now);
	}
	for (i = 0; i < r->nesc; i++) {	/* escalated with no impact we see */
		if (!r->esc[i].listed && !r->esc[i].reported)
			continue;
		for (v = 0; v < r->nview; v++)
			if (r->vnb[v] == r->esc[i].nb && r->vpol[v] == r->esc[i].pol)
				break;
		if (v == r->nview) {
			if (view_add(r, r->esc[i].pol, r->esc[i].nb, now) == -1)
				return -1;
			view_fill(r, &r->view[v], NULL, 0, now);
			if (!r->view[v].escalated && !r->view[v].reported)
				r->nview--;	/* an old report only: nothing to show */
		}
	}
	for (i = 0; i < r->nview; i++)
		r->vorder[i] = &r->view[i];
	if (r->nview > 0)
		qsort(r->vorder, r->nview, sizeof *r->vorder, cmp_vorder);
	calibrate(r);
	return 0;
}

/* ------------------------------------------------ phase 3: levels */

/* One customer's part in one view. */
struct part {
	double est, pace;	/* its estimated trap hits and their pace */
	int strong;		/* strong evidence on one of its IPs there */
	int impact;		/* one of its IPs is an impact or a provisional one there */
	int rate;		/* one of its IPs sends far over its own history */
};

/* The level a customer's part in view v earns, and why. */
static enum risk_level
part_level(const struct risk *r, const struct risk_nb_view *v, const struct part *pt,
    int64_t now, enum why *why)
{
	const struct risk_config *c = &r->cfg;
	double share = v->estimated > 0 ? pt->est / v->estimated : 0;
	double pshare = v->pace > 0 ? pt->pace / v->pace : 0;
	int main = share >= c->main_share || pshare >= c->main_share;
	int soon = v->eta_threshold == 0 || (v->eta_threshold > 0 &&
	    v->eta_threshold - now <= c->horizon);

	if (pt->strong) {
		if ((v->escalated || v->reported) && pt->impact)
			return *why = WHY_ACT_ESC, RISK_ACT;
		/* past act_at: every customer whose own IPs are impacts there, and a main
		 * contributor on other strong evidence (a reply naming some list is not by
		 * itself a trap hit, so a small share of it does not act) */
		if ((pt->impact || main) && v->projected >= c->act_at)
			return *why = WHY_ACT_PROJ, RISK_ACT;
		if (main && soon && pt->pace > 0)
			return *why = WHY_ACT_ETA, RISK_ACT;
		if (v->projected >= c->warn_at)
			return *why = WHY_WARN_PROJ, RISK_WARN;
		if (soon && v->pace > 0)
			return *why = WHY_WARN_ETA, RISK_WARN;
		return *why = WHY_STRONG, RISK_WATCH;
	}
	/* weak evidence only: never act (a volume or fan-out change is no listing) */
	if (main && v->projected >= c->warn_at)
		return *why = WHY_WARN_PROJ, RISK_WARN;
	if (pt->rate)
		return *why = WHY_RATE, RISK_WARN;
	return *why = WHY_WATCH, RISK_WATCH;
}

static void
part_add(const struct risk *r, struct part *pt, const struct imp *m)
{
	const struct iprec *ip = &r->ip[m->ip];

	pt->est += m->est;
	pt->pace += m->pace;
	if ((ip->flags & F_STRONG) || m->impact || m->provisional)
		pt->strong = 1;
	if (m->impact || m->provisional)
		pt->impact = 1;
	if (ip->rules & RISK_R_RATE)
		pt->rate = 1;
}

static int
line_push(struct risk *r, size_t *cap, const char *s)
{
	char *d;
	size_t n = strlen(s);

	if (risk_grow(&r->lines, cap, r->nlines + 1, sizeof *r->lines) == -1 ||
	    (d = malloc(n + 1)) == NULL)
		return -1;
	memcpy(d, s, n + 1);
	r->lines[r->nlines++] = d;
	return 0;
}

static uint64_t
own_ips(const struct risk *r, long cust, const struct nb *n)
{
	const struct customer *cu = customers_get(r->cus, (size_t)cust);
	uint64_t s = 0;
	size_t k;

	for (k = 0; cu != NULL && k < cu->ncidrs; k++) {
		const struct rw_cidr *c = &cu->cidrs[k];
		if (n->scope == RISK_SCOPE_ASN) {
			if (prefixes_asn(r->pfx, &c->net) == n->asn)
				s = risk_sat_add(s, risk_block_size(c->plen));
		} else if (c->plen >= n->cidr.plen && cidr_contains(&n->cidr, &c->net))
			s = risk_sat_add(s, risk_block_size(c->plen));
		else if (c->plen < n->cidr.plen && cidr_contains(c, &n->cidr.net))
			s = risk_sat_add(s, risk_block_size(n->cidr.plen));
	}
	return s;
}

/* The evaluation's scratch for phases 3 and 4. */
struct work {
	const struct imp **contrib, **byview;
	size_t ncontrib, *vstart, *pnb, capline, nfnb, capfnb;
	int64_t now;
};

/* The customer's IP lines (at most EV_IPS_MAX) and counts. */
static int
flag_ips(struct risk *r, struct work *w, struct risk_flag *f, const struct cand *cd, size_t n)
{
	struct risk_lb b;
	size_t k, nips = 0;

	for (k = 0; k < n; k++) {
		const struct iprec *ip = &r->ip[cd[k].ip];
		const struct lrec *l;
		for (l = ip->lst; l != NULL; l = l->next)
			if (l->listed)
				break;
		if (l != NULL)
			f->listed_ips++;
		else if (ip->rules)
			f->suspect_ips++;
		if (ip->flags & F_STRONG)
			f->strong_ips++;
	}
	for (k = 0; k < n; k++) {
		const struct iprec *ip = &r->ip[cd[k].ip];
		if (ip->lst == NULL && ip->x == NULL && !ip->rules)
			continue;
		if (nips++ == EV_IPS_MAX)
			break;
		b.n = 0;
		b.s[0] = '\0';
		risk_ip_evidence(r, ip, w->now, &b);
		if (line_push(r, &w->capline, b.s) == -1)
			return -1;
	}
	return 0;
}

/* The customer's neighbourhoods from contrib[*ci...]: level, score, their lines. */
static int
flag_views(struct risk *r, struct work *w, struct risk_flag *f, size_t *ci, enum why *why,
    const struct risk_nb_view **whyv)
{
	int32_t c = (int32_t)f->customer;

	while (*ci < w->ncontrib && r->ip[w->contrib[*ci]->ip].customer == c) {
		uint32_t v = w->contrib[*ci]->view;
		const struct risk_nb_view *vw = &r->view[v];
		struct part pt;
		struct risk_lb b;
		uint64_t own, blast;
		enum risk_level lev;
		enum why y;

		memset(&pt, 0, sizeof pt);
		while (*ci < w->ncontrib && r->ip[w->contrib[*ci]->ip].customer == c &&
		    w->contrib[*ci]->view == v)
			part_add(r, &pt, w->contrib[(*ci)++]);
		own = own_ips(r, c, &r->nb[r->vnb[v]]);
		blast = vw->customer_ips > own ? vw->customer_ips - own : 0;
		f->score += pt.est * (double)blast;
		lev = part_level(r, vw, &pt, w->now, &y);
		if (lev > f->level || (lev == f->level && y > *why)) {
			f->level = lev;
			*why = y;
			*whyv = vw;
		}
		if (risk_grow(&r->fnb, &w->capfnb, w->nfnb + 1, sizeof *r->fnb) == -1)
			return -1;
		r->fnb[w->nfnb++] = vw;
		b.n = 0;
		b.s[0] = '\0';
		risk_nb_evidence(r, vw, pt.est, blast, w->byview + w->vstart[v],
		    w->vstart[v + 1] - w->vstart[v], w->now, &b);
		if (line_push(r, &w->capline, b.s) == -1)
			return -1;
	}
	return 0;
}

/* The first line of a flag: its level and what made it. */
static void
reason_line(const struct risk *r, const struct risk_flag *f, enum why why,
    const struct risk_nb_view *v, int64_t now, struct risk_lb *b)
{
	char d[40];

	risk_lb_add(b, "%s: ", risk_level_name(f->level));
	switch (why) {
	case WHY_ACT_ESC:
		risk_lb_add(b, "%s %s %s on %s and this customer's IPs are impacts there",
		    v->scope == RISK_SCOPE_ASN ? "ASN" : "range", v->key,
		    v->escalated ? "is listed" : "is reported listed by remote servers",
		    v->policy);
		break;
	case WHY_ACT_PROJ:
		risk_lb_add(b, "strong evidence on %u IP%s and %s %s at %.0f%% of its "
		    "threshold toward %s by the estimate, this customer an impact or a main "
		    "contributor there",
		    f->strong_ips, f->strong_ips == 1 ? "" : "s",
		    v->scope == RISK_SCOPE_ASN ? "ASN" : "range", v->key, v->projected * 100,
		    v->policy);
		break;
	case WHY_ACT_ETA:
	case WHY_WARN_ETA:
		risk_fmt_dur(v->eta_threshold - now, d, sizeof d);
		risk_lb_add(b, "%s%s %s reaches its %s threshold in about %s at the current "
		    "pace (%.2f estimated impacts/h), within the %lld h horizon, this customer "
		    "a main contributor", why == WHY_ACT_ETA ? "strong evidence, and " : "",
		    v->scope == RISK_SCOPE_ASN ? "ASN" : "range", v->key, v->policy, d, v->pace,
		    (long long)(r->cfg.horizon / HOUR));
		break;
	case WHY_ACT_HOLD:
		risk_lb_add(b, "stays at act: its strong evidence holds and %s %s is still at "
		    "%.0f%% of its %s threshold by the estimate (it acts at %.0f%%, falls back below "
		    "%.0f%%)", v->scope == RISK_SCOPE_ASN ? "ASN" : "range", v->key,
		    v->projected * 100, v->policy, r->cfg.act_at * 100, r->cfg.warn_at * 100);
		break;
	case WHY_STRONG:
		risk_lb_add(b, "strong evidence on %u IP%s (a list acts on it), no neighbourhood "
		    "near its threshold yet", f->strong_ips, f->strong_ips == 1 ? "" : "s");
		break;
	case WHY_WARN_PROJ:
		risk_lb_add(b, "%s%s %s at %.0f%% of its threshold toward %s by the estimate",
		    f->strong_ips ? "" : "weak evidence only (no suspension): ",
		    v->scope == RISK_SCOPE_ASN ? "ASN" : "range", v->key, v->projected * 100,
		    v->policy);
		break;
	case WHY_RATE:
		risk_lb_add(b, "sending far above its own history (weak evidence, no "
		    "suspension)");
		break;
	default:
		risk_lb_add(b, "suspect or listed IPs, no neighbourhood near its threshold");
		break;
	}
}

static int
flag_one(struct risk *r, struct work *w, const struct cand *cd, size_t n, size_t *ci)
{
	struct risk_flag *f = &r->flag[r->nflag];
	int32_t c = cd[0].cust;
	size_t first_line = r->nlines, reason_at;
	const struct risk_nb_view *whyv = NULL;
	enum why why = WHY_NONE;
	struct risk_lb b;

	f->customer = c;
	f->level = RISK_WATCH;
	while (*ci < w->ncontrib && r->ip[w->contrib[*ci]->ip].customer < c)
		(*ci)++;
	w->pnb[r->nflag] = w->nfnb;
	reason_at = r->nlines;
	if (line_push(r, &w->capline, "") == -1)	/* the reason, once known */
		return -1;
	if (flag_ips(r, w, f, cd, n) == -1)
		return -1;
	b.n = 0;
	b.s[0] = '\0';
	risk_lb_add(&b, "customer %.64s %.128s: %u listed IP%s, %u more suspect, %u with "
	    "strong evidence", risk_cust_id(r, c), risk_cust_name(r, c), f->listed_ips,
	    f->listed_ips == 1 ? "" : "s", f->suspect_ips, f->strong_ips);
	if (line_push(r, &w->capline, b.s) == -1)
		return -1;
	/* the header goes second: move it before the IP lines */
	{
		char *h = r->lines[r->nlines - 1];
		memmove(&r->lines[reason_at + 2], &r->lines[reason_at + 1],
		    (r->nlines - 1 - (reason_at + 1)) * sizeof *r->lines);
		r->lines[reason_at + 1] = h;
	}
	if (flag_views(r, w, f, ci, &why, &whyv) == -1)
		return -1;
	/* Hysteresis: a customer at act stays there while its strong evidence holds and its
	 * neighbourhood stays past warn_at; without it, an estimate hovering at act_at makes
	 * the level (and the hook and the mails) flap minute by minute. */
	if (f->level == RISK_WARN && (why == WHY_WARN_PROJ || why == WHY_WARN_ETA) &&
	    f->strong_ips > 0 && (size_t)c < r->nprevlev && r->prevlev[c] == RISK_ACT) {
		f->level = RISK_ACT;
		why = WHY_ACT_HOLD;
	}
	b.n = 0;
	b.s[0] = '\0';
	reason_line(r, f, why, whyv, w->now, &b);
	free(r->lines[reason_at]);
	if ((r->lines[reason_at] = strdup(b.s)) == NULL)
		return -1;
	f->nnb = w->nfnb - w->pnb[r->nflag];
	f->nevidence = r->nlines - first_line;
	f->evidence = (const char *const *)(uintptr_t)first_line;	/* fixed below */
	r->nflag++;
	return 0;
}

static int
contributions(struct risk *r, struct work *w)
{
	size_t i, j;

	for (i = 0; i < r->nimp; i++)
		if (r->ip[r->imp[i].ip].customer >= 0)
			w->ncontrib++;
	if (w->ncontrib > 0 && ((w->contrib = malloc(w->ncontrib * sizeof *w->contrib)) ==
	    NULL || (w->byview = malloc(w->ncontrib * sizeof *w->byview)) == NULL))
		return -1;
	for (i = j = 0; i < r->nimp; i++)
		if (r->ip[r->imp[i].ip].customer >= 0) {
			w->contrib[j] = &r->imp[i];
			w->byview[j++] = &r->imp[i];
		}
	sort_r = r;
	if (w->ncontrib > 0) {
		qsort(w->contrib, w->ncontrib, sizeof *w->contrib, cmp_contrib);
		qsort(w->byview, w->ncontrib, sizeof *w->byview, cmp_byview);
	}
	if ((w->vstart = calloc(r->nview + 1, sizeof *w->vstart)) == NULL)
		return -1;
	for (i = 0; i < w->ncontrib; i++)
		w->vstart[w->byview[i]->view + 1]++;
	for (i = 0; i < r->nview; i++)
		w->vstart[i + 1] += w->vstart[i];
	return 0;
}

/* Each customer's level of this evaluation, for the next one's hysteresis. */
static int
remember_levels(struct risk *r, size_t ncust)
{
	size_t i;

	if (ncust > r->nprevlev) {
		uint8_t *q = realloc(r->prevlev, ncust);
		if (q == NULL)
			return -1;
		r->prevlev = q;
		r->nprevlev = ncust;
	}
	if (r->nprevlev > 0)
		memset(r->prevlev, 0, r->nprevlev);
	for (i = 0; i < r->nflag; i++)
		if ((size_t)r->flag[i].customer < r->nprevlev)
			r->prevlev[r->flag[i].customer] = (uint8_t)r->flag[i].level;
	return 0;
}

static int
build_flags(struct risk *r, struct work *w, struct cand *cand, size_t ncand)
{
	size_t i, j, nf = 0, ci = 0, ncust = r->cus ? customers_count(r->cus) : 0;

	if (ncand > 0)
		qsort(cand, ncand, sizeof *cand, cmp_cand);
	if (r->nflag_of < ncust) {
		int32_t *q = realloc(r->flag_of, ncust * sizeof *q);
		if (q == NULL)
			return -1;
		r->flag_of = q;
		r->nflag_of = ncust;
	}
	for (i = 0; i < r->nflag_of; i++)
		r->flag_of[i] = -1;
	for (i = 0; i < ncand; i++)
		if (i == 0 || cand[i].cust != cand[i - 1].cust)
			nf++;
	if (nf > 0 && ((r->flag = calloc(nf, sizeof *r->flag)) == NULL ||
	    (w->pnb = calloc(nf, sizeof *w->pnb)) == NULL))
		return -1;
	for (i = 0; i < ncand; i = j) {
		for (j = i; j < ncand && cand[j].cust == cand[i].cust; j++)
			;
		if (flag_one(r, w, cand + i, j - i, &ci) == -1)
			return -1;
	}
	/* pointers now that the arrays stopped moving */
	if (r->nlines > 0 && (r->lineptr = malloc(r->nlines * sizeof *r->lineptr)) == NULL)
		return -1;
	for (i = 0; i < r->nlines; i++)
		r->lineptr[i] = r->lines[i];
	for (i = 0; i < r->nflag; i++) {
		r->flag[i].evidence = r->lineptr + (uintptr_t)r->flag[i].evidence;
		r->flag[i].nb = r->fnb + w->pnb[i];
		r->flag[i].reason = r->flag[i].evidence[0];
	}
	if (r->nflag > 0)
		qsort(r->flag, r->nflag, sizeof *r->flag, cmp_flag);
	if (remember_levels(r, ncust) == -1)
		return -1;
	for (i = 0; i < r->nflag; i++)
		if ((size_t)r->flag[i].customer < r->nflag_of)
			r->flag_of[r->flag[i].customer] = (int32_t)i;
	return 0;
}

int
risk_evaluate(struct risk *r, int64_t now)
{
	struct cand *cand = NULL;
	size_t ncand = 0, capcand = 0;
	struct work w;
	int rc = -1;

	memset(&w, 0, sizeof w);
	w.now = now;
	risk_free_results(r);
	r->gen++;
	r->nimp = r->nview = 0;
	r->at = now;
	if (score_ips(r, now, &cand, &ncand, &capcand) == -1 || build_views(r, now) == -1 ||
	    contributions(r, &w) == -1 || build_flags(r, &w, cand, ncand) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		risk_free_results(r);
	free(w.contrib);
	free(w.byview);
	free(w.vstart);
	free(w.pnb);
	free(cand);
	return rc;
}
