/*
 * risk.c — the risk engine's state (see risk.h for the words and the baseline choice):
 * config and policies, the IP history table, the neighbourhoods, observations, listings
 * and reports, persistence and the results' accessors. The evaluation itself is in
 * risk_score.c (one IP), risk_eval.c (neighbourhoods and levels) and risk_evidence.c
 * (the words), over the structures of risk_int.h.
 * Owns: the IP history table (dense array + hidx, bounded by max_ips), the list of IPs
 * whose history changed since the last risk_export_dirty(), the neighbourhood table, the
 * interned list names and every result of the last risk_evaluate(). Never: I/O, the
 * clock, escaping text, or keeping pointers into the customer map or prefixes beyond
 * risk_set_space().
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsbl_txt.h"
#include "risk_int.h"

#define WALK_MAX	(1u << 17)	/* ranges walked per customer block at most */
#define REP_HALF_LIFE	3600.0		/* reports naming a list: decay half-life, s */

/* The persisted state of one IP (risk_export_dirty/risk_import), little-endian:
 *   0 version (2)       1 hour u32           5 cur[5] u32        25 prev[5] u32
 *  45 last: connections, rcpt, replies_5xx, cited u32, distinct_dst u64
 *  69 mean f32 bits    73 peak f32 bits     77 hours u16        79 seen u8
 *  80 last_active i64  88 woke_at i64       96 engine t0 i64
 * 104 mxmean f32      108 mxpeak f32       112 rjmean f32      116 spam f32
 * 120 spam_last i64   128 rmean f32        132 rpeak f32       136 end
 * Version 1 is the first 104 bytes: it is still read (the new baselines start at 0). */
#define STATE_VERSION	2
#define STATE_LEN	136
#define STATE_V1_LEN	104
_Static_assert(STATE_LEN <= RISK_STATE_MAX, "the state outgrew RISK_STATE_MAX");

/* ---------------------------------------------------------------- helpers */

int
risk_grow(void *pp, size_t *cap, size_t need, size_t el)
{
	void **p = pp;
	size_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if ((q = realloc(*p, n * el)) == NULL)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

static void
setname(char *dst, const char *src)
{
	size_t n = strlen(src);

	if (n >= RISK_NAME_MAX)
		n = RISK_NAME_MAX - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

uint64_t
risk_block_size(unsigned mplen)
{
	unsigned host = 128 - mplen;

	return host >= 64 ? UINT64_MAX : (uint64_t)1 << host;
}

uint64_t
risk_sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* a += 2^(128 - plen); returns 1 on wrap past the end of the space. */
static int
addr_advance(struct rw_addr *a, unsigned plen)
{
	int i = (int)(plen == 0 ? 0 : (plen - 1) / 8);
	unsigned carry = 1u << (7 - (plen == 0 ? 7 : (plen - 1) % 8));

	if (plen == 0)
		return 1;
	for (; i >= 0; i--) {
		unsigned v = a->a[i] + carry;
		a->a[i] = (uint8_t)v;
		carry = v >> 8;
		if (carry == 0)
			return 0;
	}
	return 1;
}

/* ------------------------------------------------------------- policies */

static void
recompute(struct risk_policy *p, const uint8_t *fixed)
{
	int n;

	for (n = 23; n >= 0; n--)
		if (fixed == NULL || !fixed[n])
			p->range_thr[n] = p->range_thr[n + 1] + p->range_thr[n + 3];
}

void
risk_policy_init(struct risk_policy *p, const char *name, enum risk_scope scope)
{
	unsigned n;

	memset(p, 0, sizeof *p);
	setname(p->name, name);
	p->scope = scope;
	p->window = 7 * 86400;
	for (n = 27; n < RISK_V4_PLENS; n++)
		p->range_thr[n] = 1;
	p->range_thr[26] = 2;
	p->range_thr[25] = 3;
	p->range_thr[24] = 4;
	recompute(p, NULL);
	p->asn_min_impacts = 50;
	p->asn_spamscore = 50;
	p->spam_per_impact = 1000;
	p->snds_weight = 0.5;
}

int
risk_policy_set_threshold(struct risk_policy *p, unsigned plen, uint32_t thr)
{
	struct risk_policy d;
	uint8_t fixed[RISK_V4_PLENS];
	unsigned n;

	if (plen >= RISK_V4_PLENS)
		return -1;
	/* Which lengths were overridden: those that differ from the recurrence over the
	 * current values; then the new one, then the recurrence for the rest. */
	risk_policy_init(&d, "", p->scope);
	memset(fixed, 0, sizeof fixed);
	for (n = 0; n < RISK_V4_PLENS; n++) {
		uint32_t want = n < 24 ? p->range_thr[n + 1] + p->range_thr[n + 3] : d.range_thr[n];
		if (p->range_thr[n] != want)
			fixed[n] = 1;
	}
	if (thr == 0) {
		fixed[plen] = 0;
		if (plen >= 24)
			p->range_thr[plen] = d.range_thr[plen];
	} else {
		p->range_thr[plen] = thr;
		fixed[plen] = 1;
	}
	recompute(p, fixed);
	return 0;
}

size_t
risk_default_policies(struct risk_policy *out, size_t max)
{
	if (max >= 1) {
		risk_policy_init(&out[0], "uceprotect-2", RISK_SCOPE_RANGE);
		setname(out[0].feeds[0], "uceprotect-1");
		out[0].nfeeds = 1;
		setname(out[0].escalating, "uceprotect-2");
	}
	if (max >= 2) {
		risk_policy_init(&out[1], "uceprotect-3", RISK_SCOPE_ASN);
		setname(out[1].feeds[0], "uceprotect-1");
		out[1].nfeeds = 1;
		setname(out[1].escalating, "uceprotect-3");
	}
	return max < 2 ? max : 2;
}

uint32_t
risk_range_threshold(const struct risk_policy *p, unsigned plen, int v6)
{
	if (v6)
		plen = plen >= 24 ? plen - 24 : 0;
	if (plen >= RISK_V4_PLENS)
		plen = RISK_V4_PLENS - 1;
	return p->range_thr[plen] ? p->range_thr[plen] : 1;
}

uint32_t
risk_asn_threshold(const struct risk_policy *p, uint64_t ips)
{
	/* SPAMSCORE = impacts / ips x 100000 >= s  <=>  impacts >= s x ips / 100000 */
	double need = ceil(p->asn_spamscore * (double)ips / 100000.0 - 1e-9);
	uint32_t t = p->asn_min_impacts ? p->asn_min_impacts : 1;

	if (need > (double)UINT32_MAX)
		return UINT32_MAX;
	return need > t ? (uint32_t)need : t;
}

void
risk_config_init(struct risk_config *c)
{
	memset(c, 0, sizeof *c);
	c->max_ips = 1000000;
	c->rate_factor = 10;
	c->peak_factor = 2;
	c->rate_min = 50;
	c->baseline_hours = 24;
	c->conn_per_hour = 1000;
	c->rcpt_per_hour = 5000;
	c->mx_per_hour = 200;
	c->rej_5xx = 20;
	c->rej_cited = 3;
	c->silent = 30 * 86400;
	c->woke_for = 86400;
	c->woke_min = 5;
	c->warn_at = 0.5;
	c->act_at = 0.8;
	c->rate_window = 86400;
	c->reject_ratio = 0.5;
	c->reject_ratio_weak = 0.1;
	c->cited_share = 0.01;
	c->provisional_for = 2 * 3600;
	c->horizon = 6 * 3600;
	c->main_share = 0.33;
	c->v6_plen = 64;
	c->idle_forget = 30 * 86400;
	c->snds_for = 3 * 86400;
	c->snds_complaint_rate = 0.003;
	c->complaints_for = 86400;
	c->complaints_min = 1;
	c->npolicies = risk_default_policies(c->policy, RISK_MAX_POLICIES);
}

int
risk_config_check(const struct risk_config *c, char *err, size_t errlen)
{
	size_t i;

	if (c->max_ips == 0 || c->max_ips >= NONE) {
		snprintf(err, errlen, "max_ips must be 1..%u", NONE - 1);
		return -1;
	}
	if (c->nclasses > RISK_MAX_CLASSES) {
		snprintf(err, errlen, "at most %d classes", RISK_MAX_CLASSES);
		return -1;
	}
	for (i = 0; i < c->nclasses; i++) {
		const struct risk_class *k = &c->cls[i];
		double weak = k->reject_ratio_weak ? k->reject_ratio_weak : c->reject_ratio_weak;
		double strong = k->reject_ratio ? k->reject_ratio : c->reject_ratio;
		if (k->name[0] == '\0' || weak > strong) {
			snprintf(err, errlen, "class %zu (%.64s): needs a name, and reject_ratio_weak "
			    "(%g) <= reject_ratio (%g)", i, k->name, weak, strong);
			return -1;
		}
	}
	if (c->npolicies > RISK_MAX_POLICIES) {
		snprintf(err, errlen, "at most %d policies", RISK_MAX_POLICIES);
		return -1;
	}
	if (!(c->warn_at > 0 && c->warn_at <= c->act_at)) {
		snprintf(err, errlen, "warn_at must be > 0 and <= act_at");
		return -1;
	}
	if (c->rate_window <= 0 || c->provisional_for <= 0 || c->horizon < 0) {
		snprintf(err, errlen, "rate_window and provisional_for must be > 0, horizon >= 0");
		return -1;
	}
	if (!(c->reject_ratio_weak > 0 && c->reject_ratio_weak <= c->reject_ratio &&
	    c->reject_ratio <= 1)) {
		snprintf(err, errlen, "reject_ratio_weak must be > 0 and <= reject_ratio <= 1");
		return -1;
	}
	if (c->idle_forget < 3600) {
		snprintf(err, errlen, "idle_forget must be at least 1h");
		return -1;
	}
	if (c->v6_plen < 32 || c->v6_plen > 128) {
		snprintf(err, errlen, "ipv6_prefix must be 32..128");
		return -1;
	}
	if (!(c->cited_share >= 0 && c->cited_share <= 1)) {
		snprintf(err, errlen, "cited_share must be 0..1");
		return -1;
	}
	if (!(c->main_share > 0 && c->main_share <= 1)) {
		snprintf(err, errlen, "main_share must be > 0 and <= 1");
		return -1;
	}
	for (i = 0; i < c->npolicies; i++) {
		const struct risk_policy *p = &c->policy[i];
		if (p->name[0] == '\0' || p->nfeeds == 0 || p->nfeeds > RISK_MAX_FEEDS ||
		    p->window <= 0 || !(p->spam_per_impact >= 1)) {
			snprintf(err, errlen, "policy %zu (%.64s): needs a name, 1..%d feeding "
			    "lists, a window > 0 and spam_per_impact >= 1", i, p->name,
			    RISK_MAX_FEEDS);
			return -1;
		}
	}
	return 0;
}

/* --------------------------------------------------------------- engine */

static int
list_id(struct risk *r, const char *name, int create)
{
	size_t i, k;

	for (i = 0; i < r->nlists; i++)
		if (strncmp(r->lists[i], name, RISK_NAME_MAX - 1) == 0)
			return (int)i;
	if (!create || r->nlists == MAX_LISTS)
		return -1;
	setname(r->lists[r->nlists], name);
	for (k = 0; k < r->cfg.npolicies; k++) {
		const struct risk_policy *p = &r->cfg.policy[k];
		size_t f;
		for (f = 0; f < p->nfeeds; f++)
			if (strncmp(p->feeds[f], name, RISK_NAME_MAX - 1) == 0)
				r->feedmask[k] |= (uint64_t)1 << r->nlists;
	}
	return (int)r->nlists++;
}

struct risk *
risk_new(const struct risk_config *c, char *err, size_t errlen)
{
	struct risk *r;

	if (risk_config_check(c, err, errlen) == -1)
		return NULL;
	if ((r = calloc(1, sizeof *r)) == NULL)
		goto oom;
	r->cfg = *c;
	for (size_t k = 0; k < RISK_MAX_POLICIES; k++)
		r->scale[k] = 1;
	/* the name policies feed SNDS trap hits under, as one of the engine's lists */
	r->snds_list = list_id(r, RISK_SNDS_TRAPS, 1);
	if (hidx_init(&r->ipidx, 1024) == -1) {
		free(r);
		goto oom;
	}
	if (hidx_init(&r->nbidx, 1024) == -1) {
		hidx_release(&r->ipidx);
		free(r);
		goto oom;
	}
	return r;
oom:
	snprintf(err, errlen, "out of memory");
	return NULL;
}

void
risk_free_results(struct risk *r)
{
	size_t i;

	for (i = 0; i < r->nlines; i++)
		free(r->lines[i]);
	free(r->lines);
	free(r->lineptr);
	free(r->flag);
	free(r->fnb);
	r->lines = NULL;
	r->lineptr = NULL;
	r->flag = NULL;
	r->fnb = NULL;
	r->nlines = r->nflag = 0;
}

void
risk_free(struct risk *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nip; i++) {
		struct lrec *l = r->ip[i].lst, *n;
		for (; l != NULL; l = n) {
			n = l->next;
			free(l);
		}
		free(r->ip[i].x);
	}
	risk_free_results(r);
	free(r->ip);
	free(r->cbase);
	free(r->prevlev);
	free(r->freeids);
	free(r->dirty);
	free(r->nb);
	free(r->esc);
	free(r->imp);
	free(r->view);
	free(r->vnb);
	free(r->vpol);
	free(r->vorder);
	free(r->flag_of);
	hidx_release(&r->ipidx);
	hidx_release(&r->nbidx);
	free(r);
}

static uint32_t
nb_hash(int scope, const struct rw_cidr *c, uint32_t asn)
{
	if (scope == RISK_SCOPE_ASN) {
		struct rw_addr a;
		memset(&a, 0, sizeof a);
		memcpy(a.a, &asn, sizeof asn);
		return addr_hash(&a, 0xa5a5u);
	}
	return addr_hash(&c->net, c->plen);
}

static uint32_t
nb_get(struct risk *r, int scope, const struct rw_cidr *c, uint32_t asn, int create)
{
	uint32_t h = nb_hash(scope, c, asn), pos = h & r->nbidx.mask, id;
	struct nb *n;

	while ((id = hidx_next(&r->nbidx, h, &pos)) != HIDX_NONE) {
		n = &r->nb[id];
		if (n->scope != scope)
			continue;
		if (scope == RISK_SCOPE_ASN ? n->asn == asn :
		    n->cidr.plen == c->plen && addr_cmp(&n->cidr.net, &c->net) == 0)
			return id;
	}
	if (!create || risk_grow(&r->nb, &r->capnb, r->nnb + 1, sizeof *r->nb) == -1)
		return NONE;
	if (hidx_insert(&r->nbidx, h, (uint32_t)r->nnb) == -1)
		return NONE;
	n = &r->nb[r->nnb];
	memset(n, 0, sizeof *n);
	n->scope = (uint8_t)scope;
	if (scope == RISK_SCOPE_ASN)
		n->asn = asn;
	else {
		n->cidr = *c;
		n->ips = risk_block_size(c->plen);
	}
	return (uint32_t)r->nnb++;
}

/* The key an address is tracked under: itself, or for IPv6 its /v6_plen (a sender that
 * rotates addresses inside its /64 is one sender; a /64 is what one customer holds). */
static struct rw_addr
ip_key(const struct risk *r, const struct rw_addr *a)
{
	struct rw_addr k = *a;

	if (r->cfg.v6_plen < 128 && !addr_is_v4(a))
		addr_mask(&k, r->cfg.v6_plen);
	return k;
}

uint32_t
risk_ip_find(const struct risk *r, const struct rw_addr *a)
{
	struct rw_addr k = ip_key(r, a);
	uint32_t h = addr_hash(&k, 0x1234u), pos = h & r->ipidx.mask, id;

	while ((id = hidx_next(&r->ipidx, h, &pos)) != HIDX_NONE)
		if (memcmp(&r->ip[id].addr, &k, sizeof k) == 0)
			return id;
	return NONE;
}

/* The class of customer c: its first tag that names one. */
static uint8_t
class_of(const struct risk *r, long c)
{
	const struct customer *cu = c >= 0 && r->cus ? customers_get(r->cus, (size_t)c) : NULL;
	size_t t, k;

	for (t = 0; cu != NULL && t < cu->ntags; t++)
		for (k = 0; k < r->cfg.nclasses; k++)
			if (strcmp(cu->tags[t], r->cfg.cls[k].name) == 0)
				return (uint8_t)k;
	return NOCLASS;
}

static void
resolve_ip(struct risk *r, struct iprec *ip)
{
	struct rw_cidr rc;
	uint32_t asn;

	ip->customer = -1;
	ip->cls = NOCLASS;
	ip->nb_range = ip->nb_asn = NONE;
	if (r->pfx == NULL)
		return;
	if (r->cus != NULL) {
		ip->customer = (int32_t)customers_lookup(r->cus, &ip->addr);
		ip->cls = class_of(r, ip->customer);
	}
	asn = prefixes_asn(r->pfx, &ip->addr);
	if (asn == 0)
		return;		/* not ours: no neighbourhood */
	prefixes_range(r->pfx, &ip->addr, &rc);
	ip->nb_range = nb_get(r, RISK_SCOPE_RANGE, &rc, 0, 1);
	ip->nb_asn = nb_get(r, RISK_SCOPE_ASN, NULL, asn, 1);
}

/* Forgets record id: its listings, its index entry; the id waits for a new IP. */
void
risk_ip_forget(struct risk *r, uint32_t id)
{
	struct iprec *ip = &r->ip[id];
	struct lrec *l, *n;

	for (l = ip->lst; l != NULL; l = n) {
		n = l->next;
		free(l);
	}
	free(ip->x);
	ip->x = NULL;
	hidx_remove(&r->ipidx, addr_hash(&ip->addr, 0x1234u), id);
	/* a pending dirty mark stays with the id (export skips a free record) */
	ip->flags = (uint8_t)(F_FREE | (ip->flags & F_DIRTY));
	ip->lst = NULL;
	ip->rules = 0;
	r->freeids[r->nfree++] = id;	/* nfree <= nip <= capfree */
	r->ip_evicted++;
}

static uint32_t
rnd(struct risk *r)
{
	uint32_t x = r->rng ? r->rng : 0x9e3779b9u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return r->rng = x;
}

/* Makes room at max_ips: of a few random samples of 16, the IP idle longest that has
 * nothing against it (no listing or report, no rule, no strong evidence) goes: an
 * approximation of least recently active in constant work, as Redis evicts keys. A flood
 * of new addresses then pushes out only its own idle ones, never a customer's suspect nor
 * a listed IP. -1: none. */
static int
evict(struct risk *r)
{
	uint32_t best = NONE, k, id;
	int64_t bt = INT64_MAX;
	int round;

	for (round = 0; round < 4 && best == NONE; round++)
		for (k = 0; k < 16; k++) {
			const struct iprec *ip;
			id = rnd(r) % (uint32_t)r->nip;
			ip = &r->ip[id];
			/* kept: listed or reported, strong evidence, a customer's suspect (an
			 * unassigned one sending is weak evidence a flood can forge) */
			if ((ip->flags & (F_FREE | F_STRONG)) || ip->lst != NULL || ip->x != NULL ||
			    (ip->rules && ip->customer >= 0))
				continue;
			if (ip->last_active < bt) {
				bt = ip->last_active;
				best = id;
			}
		}
	if (best == NONE)
		return -1;
	risk_ip_forget(r, best);
	return 0;
}

static uint32_t ip_get(struct risk *r, const struct rw_addr *a);

uint32_t
risk_ip_get(struct risk *r, const struct rw_addr *a)
{
	return ip_get(r, a);
}

static uint32_t
ip_get(struct risk *r, const struct rw_addr *a)
{
	uint32_t id = risk_ip_find(r, a);
	struct rw_addr k = ip_key(r, a);
	struct iprec *ip;
	uint8_t keep;

	if (id != NONE)
		return id;
	a = &k;
	if (r->nip - r->nfree >= r->cfg.max_ips && (r->nip == 0 || evict(r) == -1)) {
		r->ip_refused++;
		return NONE;
	}
	if (r->nfree > 0) {
		id = r->freeids[r->nfree - 1];
		if (hidx_insert(&r->ipidx, addr_hash(a, 0x1234u), id) == -1)
			return NONE;
		r->nfree--;
		keep = r->ip[id].flags & F_DIRTY;	/* still in r->dirty[] */
	} else {
		if (risk_grow(&r->ip, &r->capip, r->nip + 1, sizeof *r->ip) == -1 ||
		    risk_grow(&r->dirty, &r->capdirty, r->nip + 1, sizeof *r->dirty) == -1 ||
		    risk_grow(&r->freeids, &r->capfree, r->nip + 1, sizeof *r->freeids) == -1 ||
		    hidx_insert(&r->ipidx, addr_hash(a, 0x1234u), (uint32_t)r->nip) == -1)
			return NONE;
		id = (uint32_t)r->nip++;
		keep = 0;
	}
	ip = &r->ip[id];
	memset(ip, 0, sizeof *ip);
	ip->flags = keep;
	ip->addr = *a;
	resolve_ip(r, ip);
	return id;
}

static int
cmp_prefix(const void *x, const void *y)
{
	const struct prefix *a = *(const struct prefix *const *)x;
	const struct prefix *b = *(const struct prefix *const *)y;
	int c = addr_cmp(&a->cidr.net, &b->cidr.net);

	if (c != 0)
		return c;
	return a->cidr.plen < b->cidr.plen ? -1 : a->cidr.plen > b->cidr.plen;
}

/* Adds a customer block's addresses to the neighbourhoods it lies in. */
static void
walk_block(struct risk *r, const struct rw_cidr *c)
{
	struct rw_addr a = c->net;
	uint32_t asn = prefixes_asn(r->pfx, &c->net), id;
	unsigned steps = 0;

	if (asn != 0 && (id = nb_get(r, RISK_SCOPE_ASN, NULL, asn, 1)) != NONE)
		r->nb[id].customer_ips = risk_sat_add(r->nb[id].customer_ips, risk_block_size(c->plen));
	while (steps++ < WALK_MAX) {
		struct rw_cidr rc;
		unsigned plen;

		if (prefixes_asn(r->pfx, &a) == 0) {
			plen = addr_is_v4(&a) ? 120 : 48;
			if (plen < c->plen)
				plen = c->plen;
		} else {
			prefixes_range(r->pfx, &a, &rc);
			plen = rc.plen < c->plen ? c->plen : rc.plen;
			if ((id = nb_get(r, RISK_SCOPE_RANGE, &rc, 0, 1)) != NONE)
				r->nb[id].customer_ips = risk_sat_add(r->nb[id].customer_ips,
				    risk_block_size(plen));
		}
		if (plen <= c->plen || addr_advance(&a, plen) || !cidr_contains(c, &a))
			break;
	}
}

int
risk_set_space(struct risk *r, const struct prefixes *p, const struct customers *c,
    char *err, size_t errlen)
{
	const struct prefix **v = NULL, *outer = NULL;
	size_t i, n = 0, np;

	r->pfx = p;
	r->cus = c;
	if (r->nprevlev > 0)
		memset(r->prevlev, 0, r->nprevlev);	/* the indices mean other customers now */
	for (i = 0; i < r->nnb; i++)
		r->nb[i].customer_ips = 0;
	for (i = 0; i < r->nnb; i++)
		if (r->nb[i].scope == RISK_SCOPE_ASN)
			r->nb[i].ips = 0;
	if (p == NULL)
		goto resolve;
	/* ASN sizes: announced prefixes not inside another announced one of the same set */
	np = prefixes_count(p);
	if (np > 0 && (v = calloc(np, sizeof *v)) == NULL)
		goto oom;
	for (i = 0; i < np; i++) {
		const struct prefix *x = prefixes_get(p, i);
		if (x != NULL && !x->alloc && x->asn != 0)
			v[n++] = x;
	}
	if (n > 0)
		qsort(v, n, sizeof *v, cmp_prefix);
	for (i = 0; i < n; i++) {
		uint32_t id;
		if (outer != NULL && cidr_contains(&outer->cidr, &v[i]->cidr.net))
			continue;
		outer = v[i];
		if ((id = nb_get(r, RISK_SCOPE_ASN, NULL, v[i]->asn, 1)) == NONE)
			goto oom;
		r->nb[id].ips = risk_sat_add(r->nb[id].ips, risk_block_size(v[i]->cidr.plen));
	}
	free(v);
	v = NULL;
	if (c != NULL) {
		size_t nc = customers_count(c), k;
		for (i = 0; i < nc; i++) {
			const struct customer *cu = customers_get(c, i);
			for (k = 0; cu != NULL && k < cu->ncidrs; k++)
				walk_block(r, &cu->cidrs[k]);
		}
	}
resolve:
	for (i = 0; i < r->nip; i++)
		if (!(r->ip[i].flags & F_FREE))
			resolve_ip(r, &r->ip[i]);
	return 0;
oom:
	free(v);
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* ------------------------------------------------------------- traffic */

/* One finished hour x into a baseline (mean, usual peak). An hour the rate rule would call
 * a spike (far over both) does not become the usual peak, nor one under strong evidence:
 * a spam run must not teach the baseline that it is normal. Any other hour refreshes the
 * peak, so a newsletter's daily peak stays its usual one, week after week. */
static void
learn(const struct risk *r, float *mean, float *peak, double x, double a, double dk,
    int based, int strong)
{
	int spike = strong || (based && x >= r->cfg.rate_min &&
	    x >= r->cfg.rate_factor * *mean && x >= r->cfg.peak_factor * *peak);

	*mean = (float)(*mean + a * (x - *mean));
	*peak = (float)(spike ? *peak * dk : fmax(*peak * dk, x));
}

static void
roll(struct risk *r, struct iprec *ip, uint32_t h)
{
	const double dk = pow(0.5, 1.0 / 168);
	uint32_t gap = h - ip->hour, k;
	double x = ip->cur[C_CONN], mx = ip->cur[C_MX], rx = ip->cur[C_RCPT];
	/* a plain mean over the first week, then an EWMA with one week of memory: the
	 * usual bias correction, so a young IP's baseline is not dragged toward 0 */
	double a = ip->hours < 168 ? 1.0 / (ip->hours + 1) : 1.0 / 168;

	if (ip->hours == 0) {
		ip->mean = (float)x;
		ip->peak = (float)x;
		ip->mxmean = ip->mxpeak = (float)mx;
		ip->rmean = ip->rpeak = (float)rx;
	} else {
		int based = ip->hours >= r->cfg.baseline_hours;
		int strong = (ip->rules & RISK_R_STRONG) != 0;

		learn(r, &ip->mean, &ip->peak, x, a, dk, based, strong);
		learn(r, &ip->mxmean, &ip->mxpeak, mx, a, dk, based, strong);
		learn(r, &ip->rmean, &ip->rpeak, rx, a, dk, based, strong);
	}
	/* the usual share of recipients rejected, from hours with enough recipients to
	 * say (a dead-address-laden mailing list has its own, and is judged against it) */
	if (ip->cur[C_RCPT] >= 20 && !(ip->rules & RISK_R_STRONG)) {
		double q = (double)ip->cur[C_5XX] / ip->cur[C_RCPT];
		ip->rjmean = (float)(ip->rjmean + (ip->hours < 24 ? 0.25 : 1.0 / 24) *
		    ((q > 1 ? 1 : q) - ip->rjmean));
	}
	if (ip->hours < UINT16_MAX)
		ip->hours++;
	if ((ip->flags & F_SILENT) && ip->hours >= 2 * r->cfg.baseline_hours)
		ip->flags &= (uint8_t)~F_SILENT;	/* a baseline's worth of its own now */
	if (gap > 1) {
		double g = gap - 1 > 24 * 400 ? 24 * 400 : gap - 1;
		if (ip->hours < 168)	/* still a plain mean: g hours of zero */
			ip->mean = (float)(ip->mean * ip->hours / (ip->hours + g));
		else
			ip->mean = (float)(ip->mean * pow(1 - 1.0 / 168, g));
		ip->mxmean = (float)(ip->mxmean * (ip->hours < 168 ? ip->hours / (ip->hours + g) :
		    pow(1 - 1.0 / 168, g)));
		ip->rmean = (float)(ip->rmean * (ip->hours < 168 ? ip->hours / (ip->hours + g) :
		    pow(1 - 1.0 / 168, g)));
		ip->rpeak = (float)(ip->rpeak * pow(dk, g));
		ip->peak = (float)(ip->peak * pow(dk, g));
		ip->mxpeak = (float)(ip->mxpeak * pow(dk, g));
		ip->hours = (uint16_t)(ip->hours + g > UINT16_MAX ? UINT16_MAX : ip->hours + g);
	}
	for (k = 0; k < NC; k++) {
		ip->prev[k] = gap == 1 ? ip->cur[k] : 0;
		ip->cur[k] = 0;
	}
	ip->hour = h;
}

static uint32_t
delta32(uint32_t now, uint32_t before)
{
	return now >= before ? now - before : now;
}

static void
mark_dirty(struct risk *r, uint32_t id)
{
	if (r->ip[id].flags & F_DIRTY)
		return;
	r->ip[id].flags |= F_DIRTY;
	r->dirty[r->ndirty++] = id;	/* ndirty <= nip <= capdirty */
}

static int
same_counters(const struct risk_counters *a, const struct risk_counters *b)
{
	return a->connections == b->connections && a->rcpt == b->rcpt &&
	    a->replies_5xx == b->replies_5xx && a->cited == b->cited &&
	    a->distinct_dst == b->distinct_dst;
}

int
risk_observe(struct risk *r, const struct rw_addr *a, const struct risk_counters *cnt,
    int64_t now)
{
	uint32_t id = ip_get(r, a), h = (uint32_t)(now / HOUR), d[NC], k;
	struct iprec *ip;

	if (id == NONE)
		return -1;
	if (r->t0 == 0 || now < r->t0)
		r->t0 = now;
	ip = &r->ip[id];
	if (!ip->seen) {
		ip->seen = 1;
		ip->last = *cnt;
		ip->hour = h;
		/* An IP first seen once the engine has watched the space for a baseline's
		 * worth of hours was silent all that time: that is its history (zero), and a
		 * burst from it is a rate far over its own, not volume with no history. Before
		 * that (the learning period after the first start) nothing is known of it. */
		if (r->t0 != 0 && now - r->t0 >= (int64_t)r->cfg.baseline_hours * HOUR) {
			ip->hours = (uint16_t)(r->cfg.baseline_hours > UINT16_MAX ? UINT16_MAX :
			    r->cfg.baseline_hours);
			ip->flags |= F_SILENT;
		}
		mark_dirty(r, id);
		return 0;
	}
	if (ip->flags & F_RESTORED) {
		/* The first snapshot since a restart: the capture counts from zero again, so
		 * all of it is new. The went-down test alone would lose the stored snapshot's
		 * worth of every counter that has already climbed past it. */
		memset(&ip->last, 0, sizeof ip->last);
		ip->flags &= (uint8_t)~F_RESTORED;
		mark_dirty(r, id);
	} else if (h > ip->hour || !same_counters(cnt, &ip->last))
		mark_dirty(r, id);
	d[C_CONN] = delta32(cnt->connections, ip->last.connections);
	d[C_RCPT] = delta32(cnt->rcpt, ip->last.rcpt);
	d[C_5XX] = delta32(cnt->replies_5xx, ip->last.replies_5xx);
	d[C_CITED] = delta32(cnt->cited, ip->last.cited);
	d[C_MX] = (uint32_t)(cnt->distinct_dst >= ip->last.distinct_dst ?
	    cnt->distinct_dst - ip->last.distinct_dst : cnt->distinct_dst);
	ip->last = *cnt;
	if (h > ip->hour)
		roll(r, ip, h);
	for (k = 0; k < NC; k++)
		ip->cur[k] = ip->cur[k] + d[k] < ip->cur[k] ? UINT32_MAX : ip->cur[k] + d[k];
	if (d[C_CONN] > 0) {
		int64_t since = ip->last_active ? ip->last_active : r->t0;
		if (now - since >= r->cfg.silent)
			ip->woke_at = now;
		ip->last_active = now;
	}
	return 0;
}

int
risk_observe_add(struct risk *r, const struct rw_addr *a, const struct risk_counters *d,
    int64_t now)
{
	uint32_t id = ip_get(r, a);
	struct risk_counters c, zero;
	struct iprec *ip;

	if (id == NONE)
		return -1;
	ip = &r->ip[id];
	memset(&zero, 0, sizeof zero);
	if (!ip->seen && risk_observe(r, a, &zero, now) == -1)
		return -1;
	/* a restored key's stored snapshot is stale: the deltas are all there is */
	c = (ip->flags & F_RESTORED) ? zero : ip->last;
	c.connections = c.connections + d->connections < c.connections ? UINT32_MAX :
	    c.connections + d->connections;
	c.rcpt = c.rcpt + d->rcpt < c.rcpt ? UINT32_MAX : c.rcpt + d->rcpt;
	c.replies_5xx = c.replies_5xx + d->replies_5xx < c.replies_5xx ? UINT32_MAX :
	    c.replies_5xx + d->replies_5xx;
	c.cited = c.cited + d->cited < c.cited ? UINT32_MAX : c.cited + d->cited;
	c.distinct_dst += d->distinct_dst;
	return risk_observe(r, a, &c, now);
}

/* ---------------------------------------------------------- persistence */

static uint8_t *
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
	return p + 4;
}

static uint8_t *
put64(uint8_t *p, uint64_t v)
{
	return put32(put32(p, (uint32_t)v), (uint32_t)(v >> 32));
}

/* IEEE 754 single: its bits, as every platform we build on holds them */
static uint8_t *
putf(uint8_t *p, float f)
{
	uint32_t v;

	memcpy(&v, &f, sizeof v);
	return put32(p, v);
}

static uint32_t
get32(const uint8_t **pp)
{
	const uint8_t *p = *pp;

	*pp += 4;
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
get64(const uint8_t **pp)
{
	uint64_t lo = get32(pp);

	return lo | (uint64_t)get32(pp) << 32;
}

static float
getf(const uint8_t **pp)
{
	uint32_t v = get32(pp);
	float f;

	memcpy(&f, &v, sizeof f);
	return f;
}

static void
state_write(const struct risk *r, const struct iprec *ip, uint8_t out[STATE_LEN])
{
	uint8_t *p = out;
	unsigned k;

	*p++ = STATE_VERSION;
	p = put32(p, ip->hour);
	for (k = 0; k < NC; k++)
		p = put32(p, ip->cur[k]);
	for (k = 0; k < NC; k++)
		p = put32(p, ip->prev[k]);
	p = put32(p, ip->last.connections);
	p = put32(p, ip->last.rcpt);
	p = put32(p, ip->last.replies_5xx);
	p = put32(p, ip->last.cited);
	p = put64(p, ip->last.distinct_dst);
	p = putf(p, ip->mean);
	p = putf(p, ip->peak);
	*p++ = (uint8_t)ip->hours;
	*p++ = (uint8_t)(ip->hours >> 8);
	*p++ = ip->seen;
	p = put64(p, (uint64_t)ip->last_active);
	p = put64(p, (uint64_t)ip->woke_at);
	p = put64(p, (uint64_t)r->t0);
	p = putf(p, ip->mxmean);
	p = putf(p, ip->mxpeak);
	p = putf(p, ip->rjmean);
	p = putf(p, ip->spam);
	p = put64(p, (uint64_t)ip->spam_last);
	p = putf(p, ip->rmean);
	(void)putf(p, ip->rpeak);
}

size_t
risk_export_dirty(struct risk *r, void (*cb)(void *arg, const struct rw_addr *ip,
    const void *state, size_t len), void *arg)
{
	return risk_export_dirty_max(r, SIZE_MAX, cb, arg);
}

size_t
risk_dirty_count(const struct risk *r)
{
	return r->ndirty;
}

size_t
risk_export_dirty_max(struct risk *r, size_t max, void (*cb)(void *arg,
    const struct rw_addr *ip, const void *state, size_t len), void *arg)
{
	uint8_t buf[STATE_LEN];
	size_t i, n = max < r->ndirty ? max : r->ndirty;

	/* the newest marked go first; the rest stay marked for the next call */
	r->ndirty -= n;
	for (i = r->ndirty; i < r->ndirty + n; i++) {
		struct iprec *ip = &r->ip[r->dirty[i]];
		ip->flags &= (uint8_t)~F_DIRTY;
		if (ip->flags & F_FREE)
			continue;
		state_write(r, ip, buf);
		cb(arg, &ip->addr, buf, sizeof buf);
	}
	return n;
}

int
risk_import(struct risk *r, const struct rw_addr *a, const void *state, size_t len,
    char *err, size_t errlen)
{
	const uint8_t *p = state;
	struct iprec s, *ip;
	uint32_t id;
	int64_t t0;
	unsigned k;

	if (len < 1) {
		snprintf(err, errlen, "empty state");
		return -1;
	}
	if (p[0] != STATE_VERSION && p[0] != 1) {
		snprintf(err, errlen, "state format version %u, this build reads 1 and %u", p[0],
		    STATE_VERSION);
		return -1;
	}
	if (len != (p[0] == 1 ? STATE_V1_LEN : STATE_LEN)) {
		snprintf(err, errlen, "state of %zu bytes, format version %u has %u", len,
		    p[0], p[0] == 1 ? STATE_V1_LEN : STATE_LEN);
		return -1;
	}
	memset(&s, 0, sizeof s);
	p++;
	s.hour = get32(&p);
	for (k = 0; k < NC; k++)
		s.cur[k] = get32(&p);
	for (k = 0; k < NC; k++)
		s.prev[k] = get32(&p);
	s.last.connections = get32(&p);
	s.last.rcpt = get32(&p);
	s.last.replies_5xx = get32(&p);
	s.last.cited = get32(&p);
	s.last.distinct_dst = get64(&p);
	s.mean = getf(&p);
	s.peak = getf(&p);
	s.hours = (uint16_t)(p[0] | p[1] << 8);
	s.seen = p[2];
	p += 3;
	s.last_active = (int64_t)get64(&p);
	s.woke_at = (int64_t)get64(&p);
	t0 = (int64_t)get64(&p);
	if (len == STATE_LEN) {
		s.mxmean = getf(&p);
		s.mxpeak = getf(&p);
		s.rjmean = getf(&p);
		s.spam = getf(&p);
		s.spam_last = (int64_t)get64(&p);
		s.rmean = getf(&p);
		s.rpeak = getf(&p);
	}
	/* export writes only observed IPs, with a finite, non-negative baseline */
	if (s.seen != 1 || !isfinite(s.mean) || !isfinite(s.peak) || s.mean < 0 ||
	    s.peak < 0 || !isfinite(s.mxmean) || !isfinite(s.mxpeak) || s.mxmean < 0 ||
	    s.mxpeak < 0 || !(s.rjmean >= 0 && s.rjmean <= 1) || !(s.spam >= 0) ||
	    !isfinite(s.spam) || !(s.rmean >= 0) || !(s.rpeak >= 0) || !isfinite(s.rmean) ||
	    !isfinite(s.rpeak)) {
		snprintf(err, errlen, "state out of range (seen %u, mean %g, peak %g)", s.seen,
		    (double)s.mean, (double)s.peak);
		return -1;
	}
	if ((id = ip_get(r, a)) == NONE) {
		if (r->nip - r->nfree >= r->cfg.max_ips)
			snprintf(err, errlen, "IP table full (max_ips %zu)", r->cfg.max_ips);
		else
			snprintf(err, errlen, "out of memory");
		return -1;
	}
	ip = &r->ip[id];
	if (ip->seen) {
		/* what the engine saw since it started is newer than any stored state */
		snprintf(err, errlen, "IP already observed since start: stored state ignored");
		return -1;
	}
	/* history only: the record keeps its address, resolution and listings, and it is
	 * not marked dirty (the store already holds this) */
	ip->hour = s.hour;
	memcpy(ip->cur, s.cur, sizeof ip->cur);
	memcpy(ip->prev, s.prev, sizeof ip->prev);
	ip->last = s.last;
	ip->mean = s.mean;
	ip->peak = s.peak;
	ip->hours = s.hours;
	ip->seen = s.seen;
	ip->last_active = s.last_active;
	ip->woke_at = s.woke_at;
	ip->mxmean = s.mxmean;
	ip->mxpeak = s.mxpeak;
	ip->rjmean = s.rjmean;
	ip->spam = s.spam;
	ip->spam_last = s.spam_last;
	ip->rmean = s.rmean;
	ip->rpeak = s.rpeak;
	ip->ev_rcpt = ip->ev_5xx = 0;	/* the capture counts from zero again */
	ip->flags |= F_RESTORED;
	if (t0 != 0 && (r->t0 == 0 || t0 < r->t0))
		r->t0 = t0;
	return 0;
}

/* ------------------------------------------------------------- listings */

/* The lrec of list li on IP id; created when create. NULL when absent or out of memory. */
static struct lrec *
lrec_get(struct risk *r, uint32_t id, int li, int create)
{
	struct lrec *l;

	for (l = r->ip[id].lst; l != NULL; l = l->next)
		if (l->list == li)
			return l;
	if (!create || (l = calloc(1, sizeof *l)) == NULL)
		return NULL;
	l->list = (uint8_t)li;
	l->next = r->ip[id].lst;
	r->ip[id].lst = l;
	return l;
}

static void
lrec_drop(struct risk *r, uint32_t id, const struct lrec *x)
{
	struct lrec **pp;

	for (pp = &r->ip[id].lst; *pp != NULL; pp = &(*pp)->next)
		if (*pp == x) {
			*pp = x->next;
			free((void *)(uintptr_t)x);
			return;
		}
}

int
risk_listing(struct risk *r, const char *list, const struct rw_addr *a, int listed,
    int64_t first_seen, int64_t last_seen)
{
	int li = list_id(r, list, 1);
	int keep = listed || last_seen;
	uint32_t id;
	struct lrec *l;

	if (li < 0)
		return -1;
	id = keep ? ip_get(r, a) : risk_ip_find(r, a);
	if (id == NONE)
		return keep ? -1 : 0;
	if ((l = lrec_get(r, id, li, keep)) == NULL)
		return keep ? -1 : 0;
	if (!keep) {			/* never listed: DNS has nothing to keep */
		l->listed = 0;
		l->first = l->last = 0;
		if (l->rep_last == 0)
			lrec_drop(r, id, l);
		return 0;
	}
	l->listed = listed ? 1 : 0;
	l->first = first_seen;
	l->last = last_seen ? last_seen : first_seen;
	return 0;
}

/* The escalation of ip's neighbourhood under every policy whose escalating list is li,
 * reported by a remote reply at now. */
static int
esc_reported(struct risk *r, uint32_t id, const char *list, int64_t now)
{
	size_t k, e;

	for (k = 0; k < r->cfg.npolicies; k++) {
		const struct risk_policy *p = &r->cfg.policy[k];
		uint32_t nb = p->scope == RISK_SCOPE_ASN ? r->ip[id].nb_asn : r->ip[id].nb_range;
		if (nb == NONE || strncmp(p->escalating, list, RISK_NAME_MAX - 1) != 0)
			continue;
		for (e = 0; e < r->nesc; e++)
			if (r->esc[e].nb == nb && r->esc[e].pol == k)
				break;
		if (e == r->nesc) {
			if (risk_grow(&r->esc, &r->capesc, r->nesc + 1, sizeof *r->esc) == -1)
				return -1;
			memset(&r->esc[e], 0, sizeof r->esc[e]);
			r->esc[e].nb = nb;
			r->esc[e].pol = (uint8_t)k;
			r->esc[e].count = -1;
			r->nesc++;
		}
		if (r->esc[e].reported == 0 || r->esc[e].reported > now)
			r->esc[e].reported = now;
	}
	return 0;
}

int
risk_reported(struct risk *r, const char *list, const struct rw_addr *a, uint32_t n,
    int64_t now)
{
	int li = list_id(r, list, 1);
	uint32_t id;
	struct lrec *l;
	double dt;

	if (li < 0)
		return -1;
	if (n == 0)
		return 0;
	if ((id = ip_get(r, a)) == NONE || (l = lrec_get(r, id, li, 1)) == NULL)
		return -1;
	dt = l->rep_at != 0 && now > l->rep_at ? (double)(now - l->rep_at) : 0;
	l->rep = (float)(l->rep * pow(0.5, dt / REP_HALF_LIFE) + n);
	l->rep_at = now;
	if (l->rep_first == 0 || (l->rep_last != 0 && now - l->rep_last >
	    r->cfg.provisional_for)) {
		l->rep_first = now;	/* a new run of reports */
		l->rep_total = 0;
	}
	l->rep_total = l->rep_total + n < l->rep_total ? UINT32_MAX : l->rep_total + n;
	l->rep_last = now;
	return esc_reported(r, id, list, now);
}

int
risk_nb_listing(struct risk *r, const char *list, const char *key, int listed,
    int64_t since, const char *txt, char *err, size_t errlen)
{
	struct rw_cidr c;
	uint32_t asn = 0, id;
	int scope;

	memset(&c, 0, sizeof c);
	size_t k, e;
	long count = -1;

	if ((key[0] == 'A' || key[0] == 'a') && (key[1] == 'S' || key[1] == 's')) {
		const char *s = key + 2;
		uint64_t v = 0;
		if (*s == '\0')
			goto bad;
		for (; *s != '\0'; s++) {
			if (*s < '0' || *s > '9' || (v = v * 10 + (uint64_t)(*s - '0')) > UINT32_MAX)
				goto bad;
		}
		if (v == 0)
			goto bad;
		asn = (uint32_t)v;
		scope = RISK_SCOPE_ASN;
	} else if (cidr_parse(key, &c, 0) == 0)
		scope = RISK_SCOPE_RANGE;
	else
		goto bad;
	if (txt != NULL) {
		struct dnsbl_txt_info ti;
		if (dnsbl_txt_parse(txt, strlen(txt), &ti))
			count = ti.abusers;
	}
	if ((id = nb_get(r, scope, &c, asn, 1)) == NONE) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (k = 0; k < r->cfg.npolicies; k++) {
		const struct risk_policy *p = &r->cfg.policy[k];
		if ((int)p->scope != scope || strncmp(p->escalating, list, RISK_NAME_MAX - 1) != 0)
			continue;
		for (e = 0; e < r->nesc; e++)
			if (r->esc[e].nb == id && r->esc[e].pol == k)
				break;
		if (e == r->nesc) {
			if (!listed)
				continue;
			if (risk_grow(&r->esc, &r->capesc, r->nesc + 1, sizeof *r->esc) == -1) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			r->esc[e].reported = 0;
			r->nesc++;
		}
		r->esc[e].nb = id;
		r->esc[e].pol = (uint8_t)k;
		r->esc[e].listed = listed ? 1 : 0;
		r->esc[e].since = since;
		r->esc[e].count = count;
	}
	return 0;
bad:
	snprintf(err, errlen, "bad neighbourhood key \"%.60s\": want CIDR or AS<number>", key);
	return -1;
}

/* ------------------------------------------------------------- results */

size_t
risk_flag_count(const struct risk *r)
{
	return r->nflag;
}

const struct risk_flag *
risk_flag_at(const struct risk *r, size_t i)
{
	return i < r->nflag ? &r->flag[i] : NULL;
}

const struct risk_flag *
risk_flag_of(const struct risk *r, long c)
{
	if (c < 0 || (size_t)c >= r->nflag_of || r->flag_of[c] < 0)
		return NULL;
	return &r->flag[r->flag_of[c]];
}

size_t
risk_nb_count(const struct risk *r)
{
	return r->nview;
}

const struct risk_nb_view *
risk_nb_at(const struct risk *r, size_t i)
{
	return i < r->nview ? r->vorder[i] : NULL;
}

uint64_t
risk_generation(const struct risk *r)
{
	return r->gen;
}

const struct risk_nb_view *
risk_nb_find(const struct risk *r, const char *policy, const char *key)
{
	size_t i;

	for (i = 0; i < r->nview; i++)
		if (strcmp(r->view[i].policy, policy) == 0 && strcmp(r->view[i].key, key) == 0)
			return &r->view[i];
	return NULL;
}

int
risk_ip_suspect(const struct risk *r, const struct rw_addr *a, unsigned *rules)
{
	uint32_t id = risk_ip_find(r, a);
	unsigned x = id == NONE ? 0 : r->ip[id].rules;

	if (rules != NULL)
		*rules = x;
	return x != 0;
}

int
risk_ip_provisional(const struct risk *r, const char *list, const struct rw_addr *a)
{
	uint32_t id = risk_ip_find(r, a);
	const struct lrec *l;
	size_t i;

	for (i = 0; id != NONE && i < r->nlists; i++)
		if (strncmp(r->lists[i], list, RISK_NAME_MAX - 1) == 0)
			break;
	if (id == NONE || i == r->nlists)
		return 0;
	for (l = r->ip[id].lst; l != NULL; l = l->next)
		if (l->list == i)
			return !l->listed && risk_lrec_provisional(r, l, r->at);
	return 0;
}

void
risk_ip_score(const struct risk *r, const struct rw_addr *a, double *likelihood,
    double *estimated)
{
	uint32_t id = risk_ip_find(r, a);
	size_t i;

	*likelihood = id == NONE ? 0 : r->ip[id].p;
	*estimated = 0;
	for (i = 0; id != NONE && i < r->nimp; i++)
		if (r->imp[i].ip == id && r->imp[i].est > *estimated)
			*estimated = r->imp[i].est;
}

const char *
risk_rule_name(unsigned i)
{
	static const char *const name[RISK_NRULES] = {
		"rate", "connections", "rcpt", "fanout", "rejections", "cited", "unassigned",
		"woke", "rejected_share", "reported_listed", "listed_elsewhere",
		"snds_traps", "snds_red", "snds_yellow", "complaints",
	};

	return i < RISK_NRULES ? name[i] : "?";
}

size_t
risk_ip_count(const struct risk *r)
{
	return r->nip - r->nfree;
}

uint64_t
risk_ip_evicted(const struct risk *r)
{
	return r->ip_evicted;
}

const struct risk_config *
risk_get_config(const struct risk *r)
{
	return &r->cfg;
}

uint64_t
risk_ip_refused(const struct risk *r)
{
	return r->ip_refused;
}

size_t
risk_bytes(const struct risk *r)
{
	size_t b = sizeof *r + r->capip * sizeof *r->ip + r->capdirty * sizeof *r->dirty +
	    r->capfree * sizeof *r->freeids +
	    r->capnb * sizeof *r->nb +
	    hidx_bytes(&r->ipidx) + hidx_bytes(&r->nbidx) + r->capimp * sizeof *r->imp +
	    r->capview * (sizeof *r->view + sizeof *r->vnb + 1 + sizeof *r->vorder) +
	    r->nflag * sizeof *r->flag + r->nflag_of * sizeof *r->flag_of;
	size_t i;

	for (i = 0; i < r->nip; i++) {
		const struct lrec *l;
		for (l = r->ip[i].lst; l != NULL; l = l->next)
			b += sizeof *l;
	}
	for (i = 0; i < r->nlines; i++)
		b += strlen(r->lines[i]) + 1 + 2 * sizeof(char *);
	return b;
}

const char *
risk_level_name(enum risk_level l)
{
	switch (l) {
	case RISK_WATCH:
		return "watch";
	case RISK_WARN:
		return "warn";
	case RISK_ACT:
		return "act";
	default:
		return "none";
	}
}
