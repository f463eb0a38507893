/*
 * risk.c — the risk engine (see risk.h for the words and the baseline choice).
 * For: turning listing states and per-IP SMTP history into neighbourhood pressures,
 * forecasts and ranked customer flags with evidence. Owns: the IP history table (dense
 * array + hidx, bounded by max_ips), the list of IPs whose history changed since the last
 * risk_export_dirty(), the neighbourhood table, the interned list names and every result
 * of the last risk_evaluate(). Never: I/O, the clock, escaping text, or keeping pointers
 * into the customer map or prefixes beyond risk_set_space().
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dnsbl_txt.h"
#include "hidx.h"
#include "risk.h"

#define MAX_LISTS	64
#define NONE		UINT32_MAX
#define HOUR		3600
#define EV_IPS_MAX	10	/* IP lines per customer's evidence */
#define EV_NAMES_MAX	10	/* contributors named per escalated neighbourhood */
#define LINE_MAX_LEN	1024
#define WALK_MAX	(1u << 17)	/* ranges walked per customer block at most */

enum { C_CONN, C_RCPT, C_5XX, C_CITED, C_MX, NC };

/* iprec.flags */
#define F_DIRTY		0x01	/* in r->dirty[]: changed since the last export */
#define F_RESTORED	0x02	/* imported, not observed since: the next snapshot counts
				 * from zero (the capture's counters restarted with us) */

/* The persisted state of one IP (risk_export_dirty/risk_import), little-endian:
 *   0 version (1)       1 hour u32           5 cur[5] u32        25 prev[5] u32
 *  45 last: connections, rcpt, replies_5xx, cited u32, distinct_dst u64
 *  69 mean f32 bits    73 peak f32 bits     77 hours u16        79 seen u8
 *  80 last_active i64  88 woke_at i64       96 engine t0 i64   104 end */
#define STATE_VERSION	1
#define STATE_LEN	104
_Static_assert(STATE_LEN <= RISK_STATE_MAX, "the state outgrew RISK_STATE_MAX");

struct lrec {			/* one ip-scope listing of one IP */
	struct lrec *next;
	uint8_t list, listed;
	int64_t first, last;
};

struct iprec {
	struct rw_addr addr;
	int32_t customer;
	uint32_t nb_range, nb_asn;
	uint32_t hour;		/* hour number of cur[] */
	uint32_t cur[NC], prev[NC];
	struct risk_counters last;
	float mean, peak;	/* connections/h baseline */
	uint16_t hours;		/* finalized hours of baseline */
	uint8_t seen, rules;
	uint8_t flags;		/* F_* (sits in padding: the record does not grow) */
	int64_t last_active, woke_at;
	struct lrec *lst;
};

struct nb {
	uint8_t scope;
	struct rw_cidr cidr;	/* scope range */
	uint32_t asn;		/* scope asn */
	uint64_t ips, customer_ips;
};

struct esc {			/* an escalating listing of a neighbourhood */
	uint32_t nb;
	uint8_t pol, listed;
	int64_t since;
	long count;
};

struct imp {			/* an IP that is an impact or a suspect under a policy */
	uint32_t ip, nb, view;
	uint8_t pol, impact;
	int64_t first, leave;
};

struct cand {			/* a customer's IP worth a word */
	int32_t cust;
	uint32_t ip;
};

struct risk {
	struct risk_config cfg;
	const struct prefixes *pfx;
	const struct customers *cus;
	char lists[MAX_LISTS][RISK_NAME_MAX];
	size_t nlists;
	uint64_t feedmask[RISK_MAX_POLICIES];
	int64_t t0;		/* first time the engine saw traffic */

	struct iprec *ip;
	size_t nip, capip;
	uint64_t ip_refused;	/* IPs turned away: the table was at max_ips */
	struct hidx ipidx;
	uint32_t *dirty;	/* ids with F_DIRTY, each once; capacity follows capip so
				 * that marking never fails */
	size_t ndirty, capdirty;

	struct nb *nb;
	size_t nnb, capnb;
	struct hidx nbidx;

	struct esc *esc;
	size_t nesc, capesc;

	/* results */
	struct imp *imp;
	size_t nimp, capimp;
	struct risk_nb_view *view;
	uint32_t *vnb;		/* view -> nb */
	uint8_t *vpol;
	size_t nview, capview;
	const struct risk_nb_view **vorder;
	struct risk_flag *flag;
	size_t nflag;
	int32_t *flag_of;	/* customer -> flag index or -1 */
	size_t nflag_of;
	const struct risk_nb_view **fnb;	/* per-flag views */
	char **lines;
	size_t nlines;
	const char **lineptr;
};

/* ---------------------------------------------------------------- helpers */

static int
grow(void *pp, size_t *cap, size_t need, size_t el)
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

static uint64_t
block_size(unsigned mplen)
{
	unsigned host = 128 - mplen;

	return host >= 64 ? UINT64_MAX : (uint64_t)1 << host;
}

static uint64_t
sat_add(uint64_t a, uint64_t b)
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

static void
fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
}

static void
fmt_dur(int64_t s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(buf, len, "%lld d %lld h", (long long)(s / 86400),
		    (long long)(s % 86400 / 3600));
	else
		snprintf(buf, len, "%lld h %lld min", (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
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
	if (c->npolicies > RISK_MAX_POLICIES) {
		snprintf(err, errlen, "at most %d policies", RISK_MAX_POLICIES);
		return -1;
	}
	if (!(c->warn_at > 0 && c->warn_at <= c->act_at)) {
		snprintf(err, errlen, "warn_at must be > 0 and <= act_at");
		return -1;
	}
	if (c->rate_window <= 0) {
		snprintf(err, errlen, "rate_window must be > 0");
		return -1;
	}
	for (i = 0; i < c->npolicies; i++) {
		const struct risk_policy *p = &c->policy[i];
		if (p->name[0] == '\0' || p->nfeeds == 0 || p->nfeeds > RISK_MAX_FEEDS ||
		    p->window <= 0) {
			snprintf(err, errlen, "policy %zu (%.64s): needs a name, 1..%d feeding "
			    "lists and a window > 0", i, p->name, RISK_MAX_FEEDS);
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

static void
free_results(struct risk *r)
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
	}
	free_results(r);
	free(r->ip);
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
	if (!create || grow(&r->nb, &r->capnb, r->nnb + 1, sizeof *r->nb) == -1)
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
		n->ips = block_size(c->plen);
	}
	return (uint32_t)r->nnb++;
}

static uint32_t
ip_find(const struct risk *r, const struct rw_addr *a)
{
	uint32_t h = addr_hash(a, 0x1234u), pos = h & r->ipidx.mask, id;

	while ((id = hidx_next(&r->ipidx, h, &pos)) != HIDX_NONE)
		if (memcmp(&r->ip[id].addr, a, sizeof *a) == 0)
			return id;
	return NONE;
}

static void
resolve_ip(struct risk *r, struct iprec *ip)
{
	struct rw_cidr rc;
	uint32_t asn;

	ip->customer = -1;
	ip->nb_range = ip->nb_asn = NONE;
	if (r->pfx == NULL)
		return;
	if (r->cus != NULL)
		ip->customer = (int32_t)customers_lookup(r->cus, &ip->addr);
	asn = prefixes_asn(r->pfx, &ip->addr);
	if (asn == 0)
		return;		/* not ours: no neighbourhood */
	prefixes_range(r->pfx, &ip->addr, &rc);
	ip->nb_range = nb_get(r, RISK_SCOPE_RANGE, &rc, 0, 1);
	ip->nb_asn = nb_get(r, RISK_SCOPE_ASN, NULL, asn, 1);
}

static uint32_t
ip_get(struct risk *r, const struct rw_addr *a)
{
	uint32_t id = ip_find(r, a);
	struct iprec *ip;

	if (id != NONE)
		return id;
	if (r->nip >= r->cfg.max_ips) {
		r->ip_refused++;
		return NONE;
	}
	if (grow(&r->ip, &r->capip, r->nip + 1, sizeof *r->ip) == -1 ||
	    grow(&r->dirty, &r->capdirty, r->nip + 1, sizeof *r->dirty) == -1 ||
	    hidx_insert(&r->ipidx, addr_hash(a, 0x1234u), (uint32_t)r->nip) == -1)
		return NONE;
	ip = &r->ip[r->nip];
	memset(ip, 0, sizeof *ip);
	ip->addr = *a;
	resolve_ip(r, ip);
	return (uint32_t)r->nip++;
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
		r->nb[id].customer_ips = sat_add(r->nb[id].customer_ips, block_size(c->plen));
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
				r->nb[id].customer_ips = sat_add(r->nb[id].customer_ips,
				    block_size(plen));
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
		r->nb[id].ips = sat_add(r->nb[id].ips, block_size(v[i]->cidr.plen));
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
		resolve_ip(r, &r->ip[i]);
	return 0;
oom:
	free(v);
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* ------------------------------------------------------------- traffic */

static void
roll(struct risk *r, struct iprec *ip, uint32_t h)
{
	const double dk = pow(0.5, 1.0 / 168);
	uint32_t gap = h - ip->hour, k;
	double x = ip->cur[C_CONN];
	/* a plain mean over the first week, then an EWMA with one week of memory: the
	 * usual bias correction, so a young IP's baseline is not dragged toward 0 */
	double a = ip->hours < 168 ? 1.0 / (ip->hours + 1) : 1.0 / 168;

	if (ip->hours == 0) {
		ip->mean = (float)x;
		ip->peak = (float)x;
	} else {
		/* a suspect hour does not become the usual peak */
		int spike = ip->hours >= r->cfg.baseline_hours &&
		    x >= r->cfg.rate_factor * ip->mean && x >= r->cfg.rate_min;
		ip->mean = (float)(ip->mean + a * (x - ip->mean));
		if (!spike)
			ip->peak = (float)fmax(ip->peak * dk, x);
		else
			ip->peak = (float)(ip->peak * dk);
	}
	if (ip->hours < UINT16_MAX)
		ip->hours++;
	if (gap > 1) {
		double g = gap - 1 > 24 * 400 ? 24 * 400 : gap - 1;
		if (ip->hours < 168)	/* still a plain mean: g hours of zero */
			ip->mean = (float)(ip->mean * ip->hours / (ip->hours + g));
		else
			ip->mean = (float)(ip->mean * pow(1 - 1.0 / 168, g));
		ip->peak = (float)(ip->peak * pow(dk, g));
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
	(void)put64(p, (uint64_t)r->t0);
}

size_t
risk_export_dirty(struct risk *r, void (*cb)(void *arg, const struct rw_addr *ip,
    const void *state, size_t len), void *arg)
{
	uint8_t buf[STATE_LEN];
	size_t i, n = r->ndirty;

	r->ndirty = 0;
	for (i = 0; i < n; i++) {
		struct iprec *ip = &r->ip[r->dirty[i]];
		ip->flags &= (uint8_t)~F_DIRTY;
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
	if (p[0] != STATE_VERSION) {
		snprintf(err, errlen, "state format version %u, this build reads %u", p[0],
		    STATE_VERSION);
		return -1;
	}
	if (len != STATE_LEN) {
		snprintf(err, errlen, "state of %zu bytes, format version %u has %u", len,
		    STATE_VERSION, STATE_LEN);
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
	/* export writes only observed IPs, with a finite, non-negative baseline */
	if (s.seen != 1 || !isfinite(s.mean) || !isfinite(s.peak) || s.mean < 0 ||
	    s.peak < 0) {
		snprintf(err, errlen, "state out of range (seen %u, mean %g, peak %g)", s.seen,
		    (double)s.mean, (double)s.peak);
		return -1;
	}
	if ((id = ip_get(r, a)) == NONE) {
		if (r->nip >= r->cfg.max_ips)
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
	ip->flags |= F_RESTORED;
	if (t0 != 0 && (r->t0 == 0 || t0 < r->t0))
		r->t0 = t0;
	return 0;
}

/* The counts of the last 60 minutes at now: the current hour plus the part of the
 * previous one still inside (sliding-window approximation). */
static void
last_hour(const struct iprec *ip, int64_t now, double out[NC])
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

static unsigned
suspect_rules(const struct risk *r, const struct iprec *ip, int64_t now)
{
	const struct risk_config *c = &r->cfg;
	double lh[NC];
	unsigned rules = 0;

	if (!ip->seen)
		return 0;
	last_hour(ip, now, lh);
	if (ip->hours >= c->baseline_hours && lh[C_CONN] >= c->rate_min &&
	    lh[C_CONN] >= c->rate_factor * ip->mean && lh[C_CONN] >= c->peak_factor * ip->peak)
		rules |= RISK_R_RATE;
	if (lh[C_CONN] >= c->conn_per_hour)
		rules |= RISK_R_CONN;
	if (lh[C_RCPT] >= c->rcpt_per_hour)
		rules |= RISK_R_RCPT;
	if (lh[C_MX] >= c->mx_per_hour)
		rules |= RISK_R_FANOUT;
	if (lh[C_5XX] >= c->rej_5xx)
		rules |= RISK_R_REJECT;
	if (lh[C_CITED] >= c->rej_cited)
		rules |= RISK_R_CITED;
	if (ip->customer < 0 && ip->nb_asn != NONE && lh[C_CONN] >= 1)
		rules |= RISK_R_UNASSIGNED;
	if (ip->woke_at != 0 && now - ip->woke_at < c->woke_for && lh[C_CONN] >= c->woke_min)
		rules |= RISK_R_WOKE;
	return rules;
}

/* ------------------------------------------------------------- listings */

int
risk_listing(struct risk *r, const char *list, const struct rw_addr *a, int listed,
    int64_t first_seen, int64_t last_seen)
{
	int li = list_id(r, list, 1);
	uint32_t id;
	struct lrec **pp, *l;

	if (li < 0)
		return -1;
	id = listed || last_seen ? ip_get(r, a) : ip_find(r, a);
	if (id == NONE)
		return listed || last_seen ? -1 : 0;
	for (pp = &r->ip[id].lst; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->list == li)
			break;
	if (!listed && last_seen == 0) {	/* never listed: nothing to keep */
		if ((l = *pp) != NULL) {
			*pp = l->next;
			free(l);
		}
		return 0;
	}
	if ((l = *pp) == NULL) {
		if ((l = calloc(1, sizeof *l)) == NULL)
			return -1;
		l->list = (uint8_t)li;
		*pp = l;
	}
	l->listed = listed ? 1 : 0;
	l->first = first_seen;
	l->last = last_seen ? last_seen : first_seen;
	return 0;
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
			if (grow(&r->esc, &r->capesc, r->nesc + 1, sizeof *r->esc) == -1) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
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

/* ------------------------------------------------------------- evaluate */

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
static const struct risk *sort_r;
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

static const struct esc *
esc_find(const struct risk *r, uint32_t nb, size_t pol)
{
	size_t e;

	for (e = 0; e < r->nesc; e++)
		if (r->esc[e].nb == nb && r->esc[e].pol == pol && r->esc[e].listed)
			return &r->esc[e];
	return NULL;
}

/* The view of (pol, nb), created when new. */
static int
view_add(struct risk *r, size_t pol, uint32_t nb)
{
	const struct risk_policy *p = &r->cfg.policy[pol];
	const struct nb *n = &r->nb[nb];
	struct risk_nb_view *v;
	const struct esc *e;

	if (r->nview == r->capview) {
		/* four parallel arrays, one capacity */
		size_t cap = r->capview ? r->capview * 2 : 64;
		void *q;
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
	}
	v = &r->view[r->nview];
	memset(v, 0, sizeof *v);
	v->policy = p->name;
	v->scope = p->scope;
	v->list_count = -1;
	v->ips = n->ips;
	v->customer_ips = n->customer_ips;
	if (p->scope == RISK_SCOPE_ASN) {
		snprintf(v->key, sizeof v->key, "AS%u", n->asn);
		v->threshold = risk_asn_threshold(p, n->ips);
	} else {
		cidr_format(&n->cidr, v->key, sizeof v->key);
		v->threshold = risk_range_threshold(p, cidr_user_plen(&n->cidr),
		    !addr_is_v4(&n->cidr.net));
	}
	if ((e = esc_find(r, nb, pol)) != NULL) {
		v->escalated = 1;
		v->escalated_since = e->since;
		v->list_count = e->count;
	}
	r->vnb[r->nview] = nb;
	r->vpol[r->nview] = (uint8_t)pol;
	r->nview++;
	return 0;
}

/* Fills the view's counts and forecasts from its imps [lo, hi) (impacts first, by leave). */
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
		} else
			v->suspects++;
	}
	v->pressure = (double)v->impacts / v->threshold;
	v->projected = (double)(v->impacts + v->suspects) / v->threshold;
	if (v->ips > 0 && v->ips != UINT64_MAX)
		v->spamscore = round((double)v->impacts / (double)v->ips * 100000.0 * 10) / 10;
	if (v->impacts >= v->threshold) {
		v->eta_threshold = 0;
		/* impacts sorted by leave: below threshold once impacts - thr + 1 have left */
		v->clear_at = im[v->impacts - v->threshold].leave;
	} else {
		v->clear_at = 0;
		if (fresh == 0)
			v->eta_threshold = -1;
		else {
			uint64_t need = v->threshold - v->impacts;
			v->eta_threshold = now + (int64_t)((need * (uint64_t)r->cfg.rate_window +
			    fresh - 1) / fresh);
		}
	}
}

static int
line_push(struct risk *r, size_t *cap, const char *s)
{
	char *d;
	size_t n = strlen(s);

	if (grow(&r->lines, cap, r->nlines + 1, sizeof *r->lines) == -1 ||
	    (d = malloc(n + 1)) == NULL)
		return -1;
	memcpy(d, s, n + 1);
	r->lines[r->nlines++] = d;
	return 0;
}

struct lb {
	char s[LINE_MAX_LEN];
	size_t n;
};

static void __attribute__((format(printf, 2, 3)))
lb_add(struct lb *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (b->n >= sizeof b->s - 1)
		return;
	va_start(ap, fmt);
	k = vsnprintf(b->s + b->n, sizeof b->s - b->n, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	b->n += (size_t)k;
	if (b->n > sizeof b->s - 1)
		b->n = sizeof b->s - 1;
}

static int
impact_of(const struct risk *r, const struct iprec *ip, size_t pol, int64_t now,
    int64_t *first, int64_t *leave)
{
	const struct lrec *l;
	int hit = 0;

	*first = INT64_MAX;
	*leave = 0;
	for (l = ip->lst; l != NULL; l = l->next) {
		int64_t lv;
		if (!(r->feedmask[pol] >> l->list & 1))
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

static void
ip_evidence(const struct risk *r, const struct iprec *ip, int64_t now, struct lb *b)
{
	const struct lrec *l;
	char a[ADDR_STRLEN], t1[40], t2[40];
	double lh[NC];
	int any = 0;

	addr_format(&ip->addr, a, sizeof a);
	lb_add(b, "%s", a);
	for (l = ip->lst; l != NULL; l = l->next) {
		fmt_time(l->first, t1, sizeof t1);
		if (l->listed)
			lb_add(b, "%s listed on %s since %s", any ? " and" : "", r->lists[l->list], t1);
		else {
			fmt_time(l->last, t2, sizeof t2);
			lb_add(b, "%s was listed on %s from %s until %s", any ? " and" : "",
			    r->lists[l->list], t1, t2);
		}
		any = 1;
	}
	if (!ip->rules)
		return;
	last_hour(ip, now, lh);
	lb_add(b, "%s suspect: %.0f SMTP connections and %.0f RCPT in the last hour",
	    any ? ";" : "", lh[C_CONN], lh[C_RCPT]);
	if (ip->rules & RISK_R_FANOUT)
		lb_add(b, " to %.0f new distinct destinations", lh[C_MX]);
	if (ip->hours >= r->cfg.baseline_hours)
		lb_add(b, " (own baseline %.0f/h, usual peak %.0f/h)", ip->mean, ip->peak);
	else
		lb_add(b, " (no baseline yet: %u h of history)", ip->hours);
	if (ip->rules & (RISK_R_REJECT | RISK_R_CITED))
		lb_add(b, "; %.0f remote 5xx in the last hour, %.0f rejections naming a DNSBL",
		    lh[C_5XX], lh[C_CITED]);
	if (ip->rules & RISK_R_UNASSIGNED)
		lb_add(b, "; the IP is assigned to no customer");
	if (ip->rules & RISK_R_WOKE) {
		fmt_time(ip->woke_at, t1, sizeof t1);
		lb_add(b, "; started sending at %s after a long silence", t1);
	}
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
				s = sat_add(s, block_size(c->plen));
		} else if (c->plen >= n->cidr.plen && cidr_contains(&n->cidr, &c->net))
			s = sat_add(s, block_size(c->plen));
		else if (c->plen < n->cidr.plen && cidr_contains(c, &n->cidr.net))
			s = sat_add(s, block_size(n->cidr.plen));
	}
	return s;
}

static const char *
cust_id(const struct risk *r, long c)
{
	const struct customer *cu = r->cus ? customers_get(r->cus, (size_t)c) : NULL;

	return cu && cu->id ? cu->id : "?";
}

static const char *
cust_name(const struct risk *r, long c)
{
	const struct customer *cu = r->cus ? customers_get(r->cus, (size_t)c) : NULL;

	return cu && cu->name ? cu->name : "";
}

/* The evidence line of one neighbourhood for one customer. */
static void
nb_evidence(const struct risk *r, const struct risk_nb_view *v, uint32_t mine,
    uint64_t blast, const struct imp *const *byview, size_t nbv, int64_t now, struct lb *b)
{
	char t[40], d[40];
	size_t i, named = 0;

	lb_add(b, "%s %s", v->scope == RISK_SCOPE_ASN ? "ASN" : "range",
	    v->scope == RISK_SCOPE_ASN ? v->key + 2 : v->key);
	if (v->escalated) {
		fmt_time(v->escalated_since, t, sizeof t);
		lb_add(b, " is listed on %s since %s (escalated", v->policy, t);
		if (v->list_count >= 0)
			lb_add(b, "; the list counts %ld abusers", v->list_count);
		lb_add(b, "); %u of %u impacts in our view; contributors:", v->impacts,
		    v->threshold);
		for (i = 0; i < nbv; i++) {
			int32_t c = r->ip[byview[i]->ip].customer;
			size_t j = i;
			while (j + 1 < nbv && r->ip[byview[j + 1]->ip].customer == c)
				j++;
			if (named < EV_NAMES_MAX)
				lb_add(b, "%s customer %.64s %.64s (%zu IP%s)", named ? "," : "",
				    cust_id(r, c), cust_name(r, c), j - i + 1, j > i ? "s" : "");
			named++;
			i = j;
		}
		if (named > EV_NAMES_MAX)
			lb_add(b, " and %zu more", named - EV_NAMES_MAX);
		lb_add(b, "; %llu other customers' IPs listed", (unsigned long long)blast);
		return;
	}
	lb_add(b, " at %u of %u impacts toward %s", v->impacts, v->threshold, v->policy);
	if (v->suspects)
		lb_add(b, " (+%u suspect%s not yet listed: projected %.2f)", v->suspects,
		    v->suspects > 1 ? "s" : "", v->projected);
	if (v->scope == RISK_SCOPE_ASN)
		lb_add(b, ", spamscore %.1f", v->spamscore);
	lb_add(b, "; this customer adds %u; %llu other customers' IPs would be listed", mine,
	    (unsigned long long)blast);
	if (v->eta_threshold > 0) {
		fmt_dur(v->eta_threshold - now, d, sizeof d);
		lb_add(b, "; threshold in %s at the current rate of new impacts", d);
	}
	if (v->clear_at > 0) {
		fmt_time(v->clear_at, t, sizeof t);
		lb_add(b, "; below threshold again %s if no new impact comes", t);
	} else if (v->clear_all_at > 0) {
		fmt_time(v->clear_all_at, t, sizeof t);
		lb_add(b, "; its last impact leaves the window %s", t);
	}
}

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

int
risk_evaluate(struct risk *r, int64_t now)
{
	const struct imp **contrib = NULL, **byview = NULL;
	struct cand *cand = NULL;
	size_t *vstart = NULL, *pnb = NULL;
	size_t i, j, ncand = 0, capcand = 0, ncontrib = 0, capline = 0, ncust, nfnb = 0, capfnb = 0;
	int64_t maxwin = 0;
	int rc = -1;

	free_results(r);
	r->nimp = r->nview = 0;
	for (i = 0; i < r->cfg.npolicies; i++)
		if (r->cfg.policy[i].window > maxwin)
			maxwin = r->cfg.policy[i].window;

	/* 1. per IP: suspect rules, impacts per policy, candidates */
	for (i = 0; i < r->nip; i++) {
		struct iprec *ip = &r->ip[i];
		struct lrec **pp = &ip->lst, *l;
		int worth = 0;

		while ((l = *pp) != NULL) {	/* forget listings past every window */
			if (!l->listed && now >= l->last + maxwin) {
				*pp = l->next;
				free(l);
				continue;
			}
			if (l->listed)
				worth = 1;
			pp = &l->next;
		}
		ip->rules = (uint8_t)suspect_rules(r, ip, now);
		if (ip->rules)
			worth = 1;
		for (j = 0; j < r->cfg.npolicies; j++) {
			uint32_t nb = r->cfg.policy[j].scope == RISK_SCOPE_ASN ? ip->nb_asn :
			    ip->nb_range;
			int64_t first, leave;
			int hit = ip->lst != NULL && impact_of(r, ip, j, now, &first, &leave);
			struct imp *m;
			if (nb == NONE || (!hit && !ip->rules))
				continue;
			if (grow(&r->imp, &r->capimp, r->nimp + 1, sizeof *r->imp) == -1)
				goto out;
			m = &r->imp[r->nimp++];
			m->ip = (uint32_t)i;
			m->nb = nb;
			m->pol = (uint8_t)j;
			m->impact = (uint8_t)hit;
			m->first = hit ? first : 0;
			m->leave = hit ? leave : 0;
			m->view = NONE;
			worth = 1;
		}
		if (worth && ip->customer >= 0) {
			if (grow(&cand, &capcand, ncand + 1, sizeof *cand) == -1)
				goto out;
			cand[ncand].cust = ip->customer;
			cand[ncand++].ip = (uint32_t)i;
		}
	}

	/* 2. neighbourhood views */
	if (r->nimp > 0)
		qsort(r->imp, r->nimp, sizeof *r->imp, cmp_imp);
	for (i = 0; i < r->nimp; i = j) {
		for (j = i; j < r->nimp && r->imp[j].pol == r->imp[i].pol &&
		    r->imp[j].nb == r->imp[i].nb; j++)
			;
		if (view_add(r, r->imp[i].pol, r->imp[i].nb) == -1)
			goto out;
		for (size_t k = i; k < j; k++)
			r->imp[k].view = (uint32_t)(r->nview - 1);
		view_fill(r, &r->view[r->nview - 1], &r->imp[i], j - i, now);
	}
	for (i = 0; i < r->nesc; i++) {	/* escalated with no impact we see */
		size_t v;
		if (!r->esc[i].listed)
			continue;
		for (v = 0; v < r->nview; v++)
			if (r->vnb[v] == r->esc[i].nb && r->vpol[v] == r->esc[i].pol)
				break;
		if (v == r->nview) {
			if (view_add(r, r->esc[i].pol, r->esc[i].nb) == -1)
				goto out;
			view_fill(r, &r->view[v], NULL, 0, now);
		}
	}
	for (i = 0; i < r->nview; i++)
		r->vorder[i] = &r->view[i];
	if (r->nview > 0)
		qsort(r->vorder, r->nview, sizeof *r->vorder, cmp_vorder);

	/* 3. contributions by customer and by view */
	for (i = 0; i < r->nimp; i++)
		if (r->ip[r->imp[i].ip].customer >= 0)
			ncontrib++;
	if (ncontrib > 0 && ((contrib = malloc(ncontrib * sizeof *contrib)) == NULL ||
	    (byview = malloc(ncontrib * sizeof *byview)) == NULL))
		goto out;
	for (i = j = 0; i < r->nimp; i++)
		if (r->ip[r->imp[i].ip].customer >= 0) {
			contrib[j] = &r->imp[i];
			byview[j++] = &r->imp[i];
		}
	sort_r = r;
	if (ncontrib > 0) {
		qsort(contrib, ncontrib, sizeof *contrib, cmp_contrib);
		qsort(byview, ncontrib, sizeof *byview, cmp_byview);
	}
	if ((vstart = calloc(r->nview + 1, sizeof *vstart)) == NULL)
		goto out;
	for (i = 0; i < ncontrib; i++)
		vstart[byview[i]->view + 1]++;
	for (i = 0; i < r->nview; i++)
		vstart[i + 1] += vstart[i];

	/* 4. flags, one per customer with a candidate IP */
	if (ncand > 0)
		qsort(cand, ncand, sizeof *cand, cmp_cand);
	ncust = r->cus ? customers_count(r->cus) : 0;
	if (r->nflag_of < ncust) {
		int32_t *q = realloc(r->flag_of, ncust * sizeof *q);
		if (q == NULL)
			goto out;
		r->flag_of = q;
		r->nflag_of = ncust;
	}
	for (i = 0; i < r->nflag_of; i++)
		r->flag_of[i] = -1;
	{
		size_t nf = 0, ci = 0;
		for (i = 0; i < ncand; i++)
			if (i == 0 || cand[i].cust != cand[i - 1].cust)
				nf++;
		if (nf > 0 && (r->flag = calloc(nf, sizeof *r->flag)) == NULL)
			goto out;
		if (nf > 0 && (pnb = calloc(nf, sizeof *pnb)) == NULL)
			goto out;
		for (i = 0; i < ncand; i = j) {
			struct risk_flag *f = &r->flag[r->nflag];
			int32_t c = cand[i].cust;
			size_t k, nips = 0, first_line = r->nlines;
			struct lb b;

			for (j = i; j < ncand && cand[j].cust == c; j++) {
				const struct iprec *ip = &r->ip[cand[j].ip];
				const struct lrec *l;
				for (l = ip->lst; l != NULL; l = l->next)
					if (l->listed)
						break;
				if (l != NULL)
					f->listed_ips++;
				else if (ip->rules)
					f->suspect_ips++;
			}
			f->customer = c;
			f->level = RISK_WATCH;
			while (ci < ncontrib && r->ip[contrib[ci]->ip].customer < c)
				ci++;
			pnb[r->nflag] = nfnb;
			/* header line */
			b.n = 0;
			b.s[0] = '\0';
			/* suspect_ips counts the suspects not (yet) listed: say so */
			lb_add(&b, "customer %.64s %.128s: %u listed IP%s, %u more suspect",
			    cust_id(r, c), cust_name(r, c), f->listed_ips,
			    f->listed_ips == 1 ? "" : "s", f->suspect_ips);
			if (line_push(r, &capline, b.s) == -1)
				goto out;
			for (k = i; k < j; k++) {
				const struct iprec *ip = &r->ip[cand[k].ip];
				if (ip->lst == NULL && !ip->rules)
					continue;
				if (nips++ == EV_IPS_MAX)
					break;
				b.n = 0;
				b.s[0] = '\0';
				ip_evidence(r, ip, now, &b);
				if (line_push(r, &capline, b.s) == -1)
					goto out;
			}
			/* its neighbourhoods */
			while (ci < ncontrib && r->ip[contrib[ci]->ip].customer == c) {
				uint32_t v = contrib[ci]->view, mine = 0;
				const struct risk_nb_view *vw = &r->view[v];
				uint64_t own, blast;
				while (ci < ncontrib && r->ip[contrib[ci]->ip].customer == c &&
				    contrib[ci]->view == v) {
					mine++;
					ci++;
				}
				own = own_ips(r, c, &r->nb[r->vnb[v]]);
				blast = vw->customer_ips > own ? vw->customer_ips - own : 0;
				f->score += (double)mine * (double)blast;
				if (vw->escalated || vw->projected >= r->cfg.act_at)
					f->level = RISK_ACT;
				else if (vw->projected >= r->cfg.warn_at && f->level < RISK_WARN)
					f->level = RISK_WARN;
				if (grow(&r->fnb, &capfnb, nfnb + 1, sizeof *r->fnb) == -1)
					goto out;
				r->fnb[nfnb++] = vw;
				b.n = 0;
				b.s[0] = '\0';
				nb_evidence(r, vw, mine, blast, byview + vstart[v],
				    vstart[v + 1] - vstart[v], now, &b);
				if (line_push(r, &capline, b.s) == -1)
					goto out;
			}
			f->nnb = nfnb - pnb[r->nflag];
			f->nevidence = r->nlines - first_line;
			f->evidence = (const char *const *)(uintptr_t)first_line;	/* fixed below */
			r->nflag++;
		}
	}
	/* pointers now that the arrays stopped moving */
	if (r->nlines > 0 && (r->lineptr = malloc(r->nlines * sizeof *r->lineptr)) == NULL)
		goto out;
	for (i = 0; i < r->nlines; i++)
		r->lineptr[i] = r->lines[i];
	for (i = 0; i < r->nflag; i++) {
		r->flag[i].evidence = r->lineptr + (uintptr_t)r->flag[i].evidence;
		r->flag[i].nb = r->fnb + pnb[i];
	}
	if (r->nflag > 0)
		qsort(r->flag, r->nflag, sizeof *r->flag, cmp_flag);
	for (i = 0; i < r->nflag; i++)
		if ((size_t)r->flag[i].customer < r->nflag_of)
			r->flag_of[r->flag[i].customer] = (int32_t)i;
	rc = 0;
out:
	if (rc == -1)
		free_results(r);
	free(contrib);
	free(byview);
	free(cand);
	free(vstart);
	free(pnb);
	return rc;
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
	uint32_t id = ip_find(r, a);
	unsigned x = id == NONE ? 0 : r->ip[id].rules;

	if (rules != NULL)
		*rules = x;
	return x != 0;
}

size_t
risk_ip_count(const struct risk *r)
{
	return r->nip;
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
