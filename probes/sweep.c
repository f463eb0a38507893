/*
 * sweep.c — the DNSBL probe's schedule: which key to ask which list, and when.
 *
 * For: deciding, at the caller's clock, the queries due now, so that every key of provider
 * space is asked once per interval, spread evenly over it, urgent and recently active IPs
 * first, and no list ever above its max_qps or its daily budget.
 * Owns: per list, its cursor through the base keys, its budgets, its fast-check heap and
 * urgent queue; the provider space turned into IPv4 intervals, ranges and ASNs; the table of
 * "hot" IPs (active, urgent, or deferred by a TTL) and their per-list state.
 * Must never: ask a key before its TTL has passed or, on the base sweep, before its interval
 * has; exceed max_qps in any second of the caller's clock or max_per_day in any 86400
 * seconds; hold a record per IP of provider space (a /8 is 16M IPs per list).
 *
 * Keys. ip scope: every IPv4 address of the announced prefixes (overlaps merged), plus IPv6
 * addresses only while they are hot, and only on lists with ipv6 = yes. range scope: one key
 * per range of an announced IPv4 address (its smallest alloc block, else its /24), asked
 * about through a representative: the range's first address + 1 (the first address for a
 * /31 or /32), or, when part of the range is not ours or belongs to a nested alloc block,
 * the first address of ours that maps to it (+1 when that is the range's first address).
 * asn scope: one key per ASN of an announced prefix, represented by its first announced
 * IPv4 prefix's first address + 1 (an ASN with IPv6 space only: its first IPv6 prefix's,
 * on lists with ipv6 = yes only).
 *
 * Base sweep. A list's N base keys are one implicit sequence with a cursor: key i of the
 * cycle starting at t0 is due at t0 + i * cycle / N, so a /16 on a 1-day interval goes out
 * at ~0.76 queries a second, not in a burst. Cycles are aligned to the clock (t0 a multiple
 * of the cycle), so a restart resumes at the key the schedule stands at. cycle is the
 * interval, lengthened when N keys in an interval would need more than 9/10 of max_qps or
 * of max_per_day (the rest is headroom for fast and urgent checks, which share the same
 * hard limits). A cycle that fell behind (budgets taken by other checks, a stalled loop)
 * catches up at most at max_qps, and the next cycle starts that much later, so no key is
 * asked twice within an interval. The base skips a key asked less than an interval ago (by
 * a fast or urgent check) or whose TTL has not passed. Memory per base key: none.
 *
 * Order: urgent checks, then fast re-checks, then the base; but a base sweep more than
 * BEHIND_DIV-th of its cycle behind goes before the fast re-checks until it has caught up,
 * so that more active IPs than a list's budget can re-check slow their own re-checks down
 * instead of stopping the sweep of everything else (listings such as Spamhaus XBL need no
 * SMTP from us to happen).
 *
 * Hot IPs. sweep_active() puts an IP on the fast interval for ACTIVE_WINDOW after its last
 * activity: a min-heap per list orders the fast checks (lazily: an entry whose IP was asked
 * meanwhile, got a longer TTL or went quiet is fixed or dropped when it comes up).
 * sweep_urgent() also queues it before everything else (still within max_qps, still after
 * its TTL). A hot IP costs 20 bytes, its hash slot, and per ip-scope list 17 bytes (last
 * asked, not before, flags, its heap entry); it is freed once quiet for an interval.
 * Range and asn keys are few (65,536 /24s for a /8): 12 or 20 bytes each plus 8 per list.
 */
#include "sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hidx.h"
#include "log.h"

#define ACTIVE_WINDOW	(24 * 3600)	/* seconds an IP stays on the fast interval */
#define PLAN_NUM	9		/* the base sweep plans for 9/10 of each budget */
#define PLAN_DEN	10
#define DAY		86400
#define DAY_BUCKETS	1441		/* minutes: the current one and the 1440 before */
#define GC_EVERY	3600		/* seconds between two passes over the hot table */
#define BEHIND_DIV	8		/* a base this far behind (1/8 cycle) goes before fast */
#define HOT_SEED	0x5117e9u

#define F_HEAP		0x01		/* in the list's fast heap */
#define F_URGENT	0x02		/* in the list's urgent queue */
#define F_RECHECK	0x04		/* in the list's recheck queue */

/* What one list knows of one key: times relative to the sweep's epoch, 0 = never. */
struct kstate {
	uint32_t last_asked;
	uint32_t not_before;
	uint32_t last_recheck;	/* ip scope: when sweep_recheck last queued it */
};

struct srange {
	uint32_t net;		/* host order */
	uint32_t rep;
	uint8_t plen;		/* 0..32 */
};

struct sasn {
	uint32_t asn;
	struct rw_addr rep;
};

struct hot {
	struct rw_addr addr;	/* all zero: a free record */
	uint32_t active_until;	/* relative; 0: not active */
};

struct slist {
	const struct dnsbl_list *l;
	enum dnsbl_scope scope;
	uint32_t interval, fast;
	/* the base sweep */
	uint64_t n;		/* base keys */
	uint64_t i;		/* the next one */
	int64_t t0;		/* start of the current cycle */
	int64_t cycle;
	int64_t maxlag;		/* most a key of this cycle went out after its time */
	size_t iv;		/* ip scope: the interval holding key i ... */
	uint64_t ivoff;		/* ... and its offset there */
	struct kstate *ks;	/* range and asn scope: per key */
	/* ip scope: per hot IP (indexed like the hot table) */
	struct kstate *hs;
	uint8_t *hf;
	uint64_t *heap;		/* due << 32 | hot id */
	size_t nheap, capheap;
	uint32_t *urg;		/* FIFO of hot ids: urg[uhead .. uhead + nurg) */
	size_t uhead, nurg, capurg;
	uint32_t *rck;		/* FIFO of hot ids to recheck past their TTL, oldest first */
	size_t nrck, caprck;
	/* budgets */
	int64_t sec;
	unsigned sec_n;
	int64_t minute;		/* newest bucket's minute, relative to the epoch */
	uint64_t day_sum;
	uint32_t day[DAY_BUCKETS];
	int held;
	int64_t held_since;
};

struct sweep {
	const struct prefixes *space;
	int64_t epoch;		/* relative times count from here */
	int64_t last_now;	/* the clock never runs backwards in here */
	struct slist *lists;
	size_t nlists, rr;
	uint32_t (*iv)[2];	/* IPv4 provider space: disjoint, sorted, inclusive */
	size_t niv;
	uint64_t nip;
	struct srange *ranges;	/* sorted by (net, plen) */
	size_t nranges;
	struct sasn *asns;	/* those with an IPv4 representative first, each part by ASN */
	size_t nasns, nasns4;
	struct hot *hot;
	uint32_t nhot, caphot;	/* records used (high-water mark), allocated */
	uint32_t *freeids;	/* hot records freed, for reuse */
	uint32_t nfree, capfree;
	struct hidx hidx;
	int64_t next_gc;
	int oom_logged;
};

/* Time helpers: relative times fit 32 bits (136 years) and 0 means never. */
static uint32_t
rel(const struct sweep *s, int64_t t)
{
	t -= s->epoch;
	if (t < 1)
		return 1;
	return t > (int64_t)UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)t;
}

static int64_t
absolute(const struct sweep *s, uint32_t r)
{
	return s->epoch + r;
}

static uint32_t
v4_of(const struct rw_addr *a)
{
	return (uint32_t)a->a[12] << 24 | (uint32_t)a->a[13] << 16 | (uint32_t)a->a[14] << 8 |
	    a->a[15];
}

static struct rw_addr
addr_v4(uint32_t v)
{
	struct rw_addr a;
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	addr_from_v4(&a, b);
	return a;
}

static int
addr_zero(const struct rw_addr *a)
{
	static const struct rw_addr zero;

	return memcmp(a, &zero, sizeof zero) == 0;
}

/* --- building the keys ------------------------------------------------------------- */

static int
cmp_iv(const void *x, const void *y)
{
	const uint32_t *a = x, *b = y;

	return a[0] < b[0] ? -1 : a[0] > b[0];
}

/* The announced IPv4 space as merged intervals. */
static int
build_intervals(struct sweep *s)
{
	const struct prefix *p;
	size_t i, n = 0, cnt = prefixes_count(s->space), j;
	unsigned plen;

	if ((s->iv = calloc(cnt ? cnt : 1, sizeof *s->iv)) == NULL)
		return -1;
	for (i = 0; (p = prefixes_get(s->space, i)) != NULL; i++) {
		if (p->alloc || !addr_is_v4(&p->cidr.net))
			continue;
		plen = cidr_user_plen(&p->cidr);
		s->iv[n][0] = v4_of(&p->cidr.net);
		s->iv[n][1] = s->iv[n][0] + (plen == 0 ? UINT32_MAX :
		    (uint32_t)((1ULL << (32 - plen)) - 1));
		n++;
	}
	if (n > 1)
		qsort(s->iv, n, sizeof *s->iv, cmp_iv);
	for (i = 0, j = 0; i < n; i++) {
		if (j > 0 && (uint64_t)s->iv[i][0] <= (uint64_t)s->iv[j - 1][1] + 1) {
			if (s->iv[i][1] > s->iv[j - 1][1])
				s->iv[j - 1][1] = s->iv[i][1];
			continue;
		}
		s->iv[j][0] = s->iv[i][0];
		s->iv[j][1] = s->iv[i][1];
		j++;
	}
	s->niv = j;
	for (i = 0; i < j; i++)
		s->nip += (uint64_t)s->iv[i][1] - s->iv[i][0] + 1;
	return 0;
}

static int
cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

static int
cmp_range(const void *x, const void *y)
{
	const struct srange *a = x, *b = y;

	if (a->net != b->net)
		return a->net < b->net ? -1 : 1;
	return a->plen < b->plen ? -1 : a->plen > b->plen;
}

static uint32_t
range_hash(uint32_t net, unsigned plen)
{
	uint64_t x = ((uint64_t)net << 8 | plen) * 0x9e3779b97f4a7c15ULL;

	return (uint32_t)(x >> 32);
}

/* One key per range of the announced IPv4 space, walking it segment by segment: a segment
 * ends at its range's end, at an alloc block's edge, or at the interval's end. */
static int
build_ranges(struct sweep *s)
{
	const struct prefix *p;
	uint64_t *bp = NULL, x, end, rend, seg;
	size_t i, nbp = 0, cap = 0, k, lo, hi;
	struct hidx seen = { 0 };
	struct rw_addr a;
	struct rw_cidr c;
	struct srange r, *v;
	uint32_t h, pos, id;
	unsigned plen;
	int ret = -1;

	for (i = 0; (p = prefixes_get(s->space, i)) != NULL; i++)
		if (p->alloc && addr_is_v4(&p->cidr.net))
			cap += 2;
	if ((bp = calloc(cap ? cap : 1, sizeof *bp)) == NULL || hidx_init(&seen, 64) == -1)
		goto out;
	for (i = 0; (p = prefixes_get(s->space, i)) != NULL; i++) {
		if (!p->alloc || !addr_is_v4(&p->cidr.net))
			continue;
		plen = cidr_user_plen(&p->cidr);
		bp[nbp++] = v4_of(&p->cidr.net);
		bp[nbp++] = (uint64_t)v4_of(&p->cidr.net) + (1ULL << (32 - plen));
	}
	if (nbp > 1)
		qsort(bp, nbp, sizeof *bp, cmp_u64);
	cap = 0;
	for (i = 0; i < s->niv; i++) {
		for (x = s->iv[i][0]; x <= s->iv[i][1]; x = seg + 1) {
			a = addr_v4((uint32_t)x);
			prefixes_range(s->space, &a, &c);
			plen = cidr_user_plen(&c);
			r.net = v4_of(&c.net);
			r.plen = (uint8_t)plen;
			rend = (uint64_t)r.net + (1ULL << (32 - plen)) - 1;
			end = s->iv[i][1] < rend ? s->iv[i][1] : rend;
			/* the first breakpoint above x */
			lo = 0;
			hi = nbp;
			while (lo < hi) {
				k = (lo + hi) / 2;
				if (bp[k] <= x)
					lo = k + 1;
				else
					hi = k;
			}
			seg = lo < nbp && bp[lo] - 1 < end ? bp[lo] - 1 : end;
			h = range_hash(r.net, plen);
			pos = h & seen.mask;
			while ((id = hidx_next(&seen, h, &pos)) != HIDX_NONE)
				if (s->ranges[id].net == r.net && s->ranges[id].plen == r.plen)
					break;
			if (id != HIDX_NONE)
				continue;
			r.rep = (uint32_t)x;
			if (x == r.net && plen < 31 && seg > x)
				r.rep++;
			if (s->nranges == cap) {
				cap = cap ? cap * 2 : 64;
				if ((v = realloc(s->ranges, cap * sizeof *v)) == NULL)
					goto out;
				s->ranges = v;
			}
			if (hidx_insert(&seen, h, (uint32_t)s->nranges) == -1)
				goto out;
			s->ranges[s->nranges++] = r;
			if (seg == UINT32_MAX)
				break;
		}
	}
	if (s->nranges > 1)
		qsort(s->ranges, s->nranges, sizeof *s->ranges, cmp_range);
	ret = 0;
out:
	free(bp);
	hidx_release(&seen);
	return ret;
}

static int
cmp_asn(const void *x, const void *y)
{
	const struct sasn *a = x, *b = y;
	int av4 = addr_is_v4(&a->rep), bv4 = addr_is_v4(&b->rep);

	if (av4 != bv4)
		return av4 ? -1 : 1;
	return a->asn < b->asn ? -1 : a->asn > b->asn;
}

/* The representative of a prefix: its first address + 1 (the first for /31, /32, /127,
 * /128). */
static struct rw_addr
prefix_rep(const struct rw_cidr *c)
{
	struct rw_addr a = c->net;
	int i;

	if (c->plen < 127)
		for (i = 15; i >= 0 && ++a.a[i] == 0; i--)
			;
	return a;
}

static int
build_asns(struct sweep *s)
{
	const struct prefix *p;
	struct sasn *v;
	size_t i, j, cap = 0;

	for (i = 0; (p = prefixes_get(s->space, i)) != NULL; i++) {
		if (p->alloc)
			continue;
		for (j = 0; j < s->nasns && s->asns[j].asn != p->asn; j++)
			;
		if (j < s->nasns) {
			if (!addr_is_v4(&s->asns[j].rep) && addr_is_v4(&p->cidr.net))
				s->asns[j].rep = prefix_rep(&p->cidr);
			continue;
		}
		if (s->nasns == cap) {
			cap = cap ? cap * 2 : 16;
			if ((v = realloc(s->asns, cap * sizeof *v)) == NULL)
				return -1;
			s->asns = v;
		}
		s->asns[s->nasns].asn = p->asn;
		s->asns[s->nasns].rep = prefix_rep(&p->cidr);
		s->nasns++;
	}
	if (s->nasns > 1)
		qsort(s->asns, s->nasns, sizeof *s->asns, cmp_asn);
	for (i = 0; i < s->nasns && addr_is_v4(&s->asns[i].rep); i++)
		;
	s->nasns4 = i;
	return 0;
}

/* --- budgets --------------------------------------------------------------------------- */

/* Moves the list's budget windows to now. */
static void
budget_roll(struct sweep *s, struct slist *L, int64_t now)
{
	int64_t m = (now - s->epoch) / 60, k;

	if (now != L->sec) {
		L->sec = now;
		L->sec_n = 0;
	}
	if (m <= L->minute)
		return;
	if (m - L->minute >= DAY_BUCKETS) {
		memset(L->day, 0, sizeof L->day);
		L->day_sum = 0;
	} else
		for (k = L->minute + 1; k <= m; k++) {
			L->day_sum -= L->day[k % DAY_BUCKETS];
			L->day[k % DAY_BUCKETS] = 0;
		}
	L->minute = m;
}

/* 1 when one more query of L may go out at the time of the last budget_roll(). */
static int
budget_ok(const struct slist *L)
{
	return (L->l->max_qps == 0 || L->sec_n < L->l->max_qps) &&
	    (L->l->max_per_day == 0 || L->day_sum < L->l->max_per_day);
}

static void
budget_use(struct slist *L)
{
	L->sec_n++;
	L->day[L->minute % DAY_BUCKETS]++;
	L->day_sum++;
}

/* The first time >= t at which L's budgets allow a query (t >= the last roll). */
static int64_t
budget_next(const struct sweep *s, const struct slist *L, int64_t t)
{
	int64_t m, start, k;
	uint64_t sum = 0;

	if (L->l->max_qps != 0 && t == L->sec && L->sec_n >= L->l->max_qps)
		t++;
	if (L->l->max_per_day == 0)
		return t;
	/* the buckets still in the window at t's minute m: minutes m - 1440 .. L->minute */
	m = (t - s->epoch) / 60;
	start = m - (DAY_BUCKETS - 1);
	if (start < L->minute - (DAY_BUCKETS - 1))
		start = L->minute - (DAY_BUCKETS - 1);
	if (start < 0)
		start = 0;
	for (k = start; k <= L->minute; k++)
		sum += L->day[k % DAY_BUCKETS];
	if (sum < L->l->max_per_day)
		return t;
	/* wait until enough of the oldest buckets have left the window: bucket k leaves it
	 * at minute k + 1441 */
	for (k = start; k <= L->minute; k++) {
		sum -= L->day[k % DAY_BUCKETS];
		if (sum < L->l->max_per_day)
			return s->epoch + (k + DAY_BUCKETS) * 60;
	}
	return s->epoch + (L->minute + DAY_BUCKETS) * 60;
}

/* --- hot IPs ----------------------------------------------------------------------------- */

static uint32_t
hot_find(const struct sweep *s, const struct rw_addr *a)
{
	uint32_t h = addr_hash(a, HOT_SEED), pos = h & s->hidx.mask, id;

	while ((id = hidx_next(&s->hidx, h, &pos)) != HIDX_NONE)
		if (memcmp(&s->hot[id].addr, a, sizeof *a) == 0)
			return id;
	return HIDX_NONE;
}

/* Grows the hot table and every ip-scope list's arrays to ncap records. */
static int
hot_grow(struct sweep *s, uint32_t ncap)
{
	struct slist *L;
	void *p;
	size_t i;

	if ((p = realloc(s->hot, (size_t)ncap * sizeof *s->hot)) == NULL)
		return -1;
	s->hot = p;
	for (i = 0; i < s->nlists; i++) {
		L = &s->lists[i];
		if (L->scope != DNSBL_SCOPE_IP)
			continue;
		if ((p = realloc(L->hs, (size_t)ncap * sizeof *L->hs)) == NULL)
			return -1;
		L->hs = p;
		memset(L->hs + s->caphot, 0, (size_t)(ncap - s->caphot) * sizeof *L->hs);
		if ((p = realloc(L->hf, ncap)) == NULL)
			return -1;
		L->hf = p;
		memset(L->hf + s->caphot, 0, ncap - s->caphot);
	}
	s->caphot = ncap;
	return 0;
}

/* The hot record of a, created (inactive, no state) when missing; HIDX_NONE when out of
 * memory. */
static uint32_t
hot_get(struct sweep *s, const struct rw_addr *a)
{
	uint32_t id = hot_find(s, a), ncap;

	if (id != HIDX_NONE)
		return id;
	if (s->nfree > 0)
		id = s->freeids[--s->nfree];
	else {
		if (s->nhot == s->caphot) {
			if (s->caphot >= UINT32_MAX / 2)
				goto oom;
			ncap = s->caphot ? s->caphot * 2 : 256;
			if (hot_grow(s, ncap) == -1)
				goto oom;
		}
		id = s->nhot;
	}
	if (hidx_insert(&s->hidx, addr_hash(a, HOT_SEED), id) == -1) {
		if (id != s->nhot)
			s->freeids[s->nfree++] = id;
		goto oom;
	}
	if (id == s->nhot)
		s->nhot++;
	s->hot[id].addr = *a;
	s->hot[id].active_until = 0;
	return id;
oom:
	if (!s->oom_logged++)
		log_warnx("sweep: out of memory for active IPs: some are checked at the base "
		    "interval only");
	return HIDX_NONE;
}

/* Frees hot records that nothing needs any more: quiet, in no heap or queue, no TTL
 * pending, not asked within any list's interval (the base sweep looks at that). */
static void
hot_gc(struct sweep *s, int64_t now)
{
	uint32_t id, r = rel(s, now), *nf;
	struct slist *L;
	size_t i;

	for (id = 0; id < s->nhot; id++) {
		if (addr_zero(&s->hot[id].addr) || s->hot[id].active_until > r)
			continue;
		for (i = 0; i < s->nlists; i++) {
			L = &s->lists[i];
			if (L->scope != DNSBL_SCOPE_IP)
				continue;
			if (L->hf[id] != 0 || L->hs[id].not_before > r ||
			    (L->hs[id].last_asked != 0 && r - L->hs[id].last_asked < L->interval))
				break;
		}
		if (i < s->nlists)
			continue;
		if (s->nfree == s->capfree) {
			if ((nf = realloc(s->freeids, ((size_t)s->capfree + 256) * sizeof *nf)) ==
			    NULL)
				return;		/* kept: tried again next time */
			s->freeids = nf;
			s->capfree += 256;
		}
		hidx_remove(&s->hidx, addr_hash(&s->hot[id].addr, HOT_SEED), id);
		memset(&s->hot[id], 0, sizeof s->hot[id]);
		for (i = 0; i < s->nlists; i++)
			if (s->lists[i].scope == DNSBL_SCOPE_IP)
				memset(&s->lists[i].hs[id], 0, sizeof s->lists[i].hs[id]);
		s->freeids[s->nfree++] = id;
	}
}

/* Does list L ask about address a at all? */
static int
list_takes(const struct slist *L, const struct rw_addr *a)
{
	return L->scope == DNSBL_SCOPE_IP && (addr_is_v4(a) || L->l->ipv6);
}

/* --- the fast heap and the urgent queue ------------------------------------------------- */

static int
heap_push(struct slist *L, uint32_t due, uint32_t id)
{
	uint64_t *v, e = (uint64_t)due << 32 | id;
	size_t i, parent;

	if (L->nheap == L->capheap) {
		size_t ncap = L->capheap ? L->capheap * 2 : 64;

		if ((v = realloc(L->heap, ncap * sizeof *v)) == NULL)
			return -1;
		L->heap = v;
		L->capheap = ncap;
	}
	for (i = L->nheap++; i > 0; i = parent) {
		parent = (i - 1) / 2;
		if (L->heap[parent] <= e)
			break;
		L->heap[i] = L->heap[parent];
	}
	L->heap[i] = e;
	return 0;
}

static uint64_t
heap_pop(struct slist *L)
{
	uint64_t top = L->heap[0], e = L->heap[--L->nheap];
	size_t i = 0, c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= L->nheap)
			break;
		if (c + 1 < L->nheap && L->heap[c + 1] < L->heap[c])
			c++;
		if (e <= L->heap[c])
			break;
		L->heap[i] = L->heap[c];
		i = c;
	}
	if (L->nheap > 0)
		L->heap[i] = e;
	return top;
}

static int
urg_push(struct slist *L, uint32_t id)
{
	uint32_t *v;
	size_t ncap;

	if (L->uhead + L->nurg == L->capurg) {
		if (L->uhead > 0) {
			memmove(L->urg, L->urg + L->uhead, L->nurg * sizeof *L->urg);
			L->uhead = 0;
		} else {
			ncap = L->capurg ? L->capurg * 2 : 16;
			if ((v = realloc(L->urg, ncap * sizeof *v)) == NULL)
				return -1;
			L->urg = v;
			L->capurg = ncap;
		}
	}
	L->urg[L->uhead + L->nurg++] = id;
	return 0;
}

static uint32_t
urg_pop(struct slist *L)
{
	uint32_t id = L->urg[L->uhead++];

	if (--L->nurg == 0)
		L->uhead = 0;
	return id;
}

/* When hot id may next be asked on L's fast interval. */
static uint32_t
fast_due(const struct slist *L, uint32_t id, uint32_t r)
{
	const struct kstate *k = &L->hs[id];
	uint32_t due = k->last_asked != 0 ? k->last_asked + L->fast : r;

	if (due < k->last_asked)
		due = UINT32_MAX - 1;
	return k->not_before > due ? k->not_before : due;
}

/* --- the base sweep ------------------------------------------------------------------- */

static int64_t
base_due(const struct slist *L)
{
	return L->t0 + (int64_t)((unsigned __int128)L->i * (uint64_t)L->cycle / L->n);
}

/* Key i of L's base: its address, and its per-key state (NULL: none kept). */
static struct kstate *
base_key(const struct sweep *s, const struct slist *L, struct rw_addr *a)
{
	uint32_t id;

	switch (L->scope) {
	case DNSBL_SCOPE_IP:
		*a = addr_v4(s->iv[L->iv][0] + (uint32_t)L->ivoff);
		id = hot_find(s, a);
		return id != HIDX_NONE ? &L->hs[id] : NULL;
	case DNSBL_SCOPE_RANGE:
		*a = addr_v4(s->ranges[L->i].rep);
		return &L->ks[L->i];
	case DNSBL_SCOPE_ASN:
		*a = s->asns[L->i].rep;
		return &L->ks[L->i];
	}
	return NULL;
}

/* Puts L's cursor on key i of its current cycle. */
static void
base_seek(struct slist *L, const struct sweep *s, uint64_t i)
{
	uint64_t left = i, size;

	L->i = i;
	L->iv = 0;
	L->ivoff = 0;
	if (L->scope != DNSBL_SCOPE_IP)
		return;
	for (; L->iv < s->niv; L->iv++) {
		size = (uint64_t)s->iv[L->iv][1] - s->iv[L->iv][0] + 1;
		if (left < size)
			break;
		left -= size;
	}
	L->ivoff = left;
}

/* Starts L's schedule at now where a schedule running since the epoch of the clock would
 * stand: cycles are aligned to multiples of their length, and the first key is the first
 * one not yet due. A restarted daemon thus goes on where it stopped instead of asking the
 * beginning of the space again; the first run asks every key within one cycle all the
 * same. */
static void
base_start(struct slist *L, const struct sweep *s, int64_t now)
{
	int64_t into = now % L->cycle;
	uint64_t i;

	if (into < 0)
		into += L->cycle;
	L->t0 = now - into;
	if (L->n == 0)
		return;
	i = (uint64_t)(((unsigned __int128)into * L->n + (uint64_t)L->cycle - 1) /
	    (uint64_t)L->cycle);
	if (i >= L->n) {
		i = 0;
		L->t0 += L->cycle;
	}
	base_seek(L, s, i);
}

static void
base_advance(struct slist *L, const struct sweep *s)
{
	if (L->scope == DNSBL_SCOPE_IP &&
	    ++L->ivoff > (uint64_t)s->iv[L->iv][1] - s->iv[L->iv][0]) {
		L->iv++;
		L->ivoff = 0;
	}
	if (++L->i == L->n) {
		L->i = 0;
		L->iv = 0;
		L->ivoff = 0;
		L->t0 += L->cycle + L->maxlag;
		L->maxlag = 0;
	}
}

/* --- items ------------------------------------------------------------------------------ */

static void
format_key(const struct sweep *s, const struct slist *L, size_t k, const struct rw_addr *a,
    char *key, size_t len)
{
	const struct srange *r;
	struct rw_cidr c;

	switch (L->scope) {
	case DNSBL_SCOPE_IP:
		addr_format(a, key, len);
		return;
	case DNSBL_SCOPE_RANGE:
		r = &s->ranges[k];
		c.net = addr_v4(r->net);
		c.plen = 96u + r->plen;
		cidr_format(&c, key, len);
		return;
	case DNSBL_SCOPE_ASN:
		snprintf(key, len, "AS%u", s->asns[k].asn);
		return;
	}
	key[0] = '\0';
}

static void
emit(const struct sweep *s, struct slist *L, size_t k, const struct rw_addr *a,
    struct sweep_item *it)
{
	it->list = L->l;
	it->ip = *a;
	format_key(s, L, k, a, it->key, sizeof it->key);
	budget_use(L);
}

/* Rechecks go first and past the key's TTL: sweep_recheck already bounded how often. */
static size_t
due_recheck(struct sweep *s, struct slist *L, int64_t now, struct sweep_item *out,
    size_t max)
{
	uint32_t r = rel(s, now), id;
	size_t n = 0;

	while (n < max && L->nrck > 0 && budget_ok(L)) {
		id = L->rck[0];
		memmove(L->rck, L->rck + 1, --L->nrck * sizeof *L->rck);
		L->hf[id] &= (uint8_t)~F_RECHECK;
		L->hs[id].last_asked = r;
		emit(s, L, 0, &s->hot[id].addr, &out[n++]);
	}
	return n;
}

static size_t
due_urgent(struct sweep *s, struct slist *L, int64_t now, struct sweep_item *out, size_t max)
{
	uint32_t r = rel(s, now), id;
	size_t n = 0, tries = L->nurg;

	while (tries-- > 0 && n < max && budget_ok(L)) {
		id = urg_pop(L);
		if (L->hs[id].not_before > r) {
			urg_push(L, id);	/* cannot fail: the slot was just freed */
			continue;
		}
		L->hf[id] &= (uint8_t)~F_URGENT;
		L->hs[id].last_asked = r;
		emit(s, L, 0, &s->hot[id].addr, &out[n++]);
	}
	return n;
}

static size_t
due_fast(struct sweep *s, struct slist *L, int64_t now, struct sweep_item *out, size_t max)
{
	uint32_t r = rel(s, now), id, due;
	size_t n = 0;
	uint64_t e;

	while (n < max && L->nheap > 0 && (uint32_t)(L->heap[0] >> 32) <= r && budget_ok(L)) {
		e = heap_pop(L);
		id = (uint32_t)e;
		if (s->hot[id].active_until <= r) {
			L->hf[id] &= (uint8_t)~F_HEAP;	/* went quiet */
			continue;
		}
		if ((due = fast_due(L, id, r)) > r) {
			heap_push(L, due, id);		/* cannot fail: the slot was just freed */
			continue;
		}
		L->hs[id].last_asked = r;
		heap_push(L, fast_due(L, id, r), id);
		emit(s, L, 0, &s->hot[id].addr, &out[n++]);
	}
	return n;
}

static size_t
due_base(struct sweep *s, struct slist *L, int64_t now, struct sweep_item *out, size_t max)
{
	uint32_t r = rel(s, now);
	struct kstate *k;
	struct rw_addr a;
	int64_t due;
	size_t n = 0, idx;
	int skip;

	while (n < max && L->n > 0 && (due = base_due(L)) <= now) {
		idx = (size_t)L->i;
		k = base_key(s, L, &a);
		skip = k != NULL && (k->not_before > r ||
		    (k->last_asked != 0 && r - k->last_asked < L->interval));
		if (!skip && !budget_ok(L))
			break;
		if (now - due > L->maxlag)
			L->maxlag = now - due;
		base_advance(L, s);
		if (skip)
			continue;
		if (k != NULL)
			k->last_asked = r;
		emit(s, L, idx, &a, &out[n++]);
	}
	return n;
}

/* --- the interface ------------------------------------------------------------------------ */

/* A schedule over an array of lists (the disabled ones are left out). */
struct sweep *
sweep_new_lists(const struct dnsbl_list *const *lists, size_t nlists,
    const struct prefixes *space, int64_t now)
{
	struct sweep *s;
	struct slist *L;
	uint64_t need, per_day;
	size_t i;

	if ((s = calloc(1, sizeof *s)) == NULL)
		return NULL;
	s->space = space;
	s->epoch = now - 1;	/* relative times start at 1: 0 is "never" */
	s->last_now = now;
	s->next_gc = now + GC_EVERY;
	if (hidx_init(&s->hidx, 256) == -1 || build_intervals(s) == -1 ||
	    build_ranges(s) == -1 || build_asns(s) == -1 ||
	    (s->lists = calloc(nlists ? nlists : 1, sizeof *s->lists)) == NULL)
		goto fail;
	for (i = 0; i < nlists; i++) {
		if (lists[i] == NULL || !lists[i]->enabled)
			continue;
		L = &s->lists[s->nlists++];
		L->l = lists[i];
		L->scope = lists[i]->scope;
		L->interval = lists[i]->interval ? lists[i]->interval : DAY;
		L->fast = lists[i]->fast_interval && lists[i]->fast_interval < L->interval ?
		    lists[i]->fast_interval : L->interval;
		L->n = L->scope == DNSBL_SCOPE_IP ? s->nip : L->scope == DNSBL_SCOPE_RANGE ?
		    s->nranges : L->l->ipv6 ? s->nasns : s->nasns4;
		L->cycle = L->interval;
		if (L->l->max_qps != 0) {
			need = (L->n * PLAN_DEN + (uint64_t)PLAN_NUM * L->l->max_qps - 1) /
			    ((uint64_t)PLAN_NUM * L->l->max_qps);
			if ((int64_t)need > L->cycle)
				L->cycle = (int64_t)need;
		}
		if (L->l->max_per_day != 0) {
			per_day = (uint64_t)PLAN_NUM * L->l->max_per_day;
			need = (L->n * DAY * PLAN_DEN + per_day - 1) / per_day;
			if ((int64_t)need > L->cycle)
				L->cycle = (int64_t)need;
		}
		base_start(L, s, now);
		L->sec = now - 1;
		if (L->scope != DNSBL_SCOPE_IP && L->n > 0 &&
		    (L->ks = calloc((size_t)L->n, sizeof *L->ks)) == NULL)
			goto fail;
	}
	if (hot_grow(s, 256) == -1)
		goto fail;
	return s;
fail:
	sweep_free(s);
	return NULL;
}

/* A schedule over the enabled lists of lists. */
struct sweep *
sweep_new(const struct dnsbl_lists *lists, const struct prefixes *space, int64_t now)
{
	const struct dnsbl_list **v;
	struct sweep *s;
	size_t i, n = lists ? dnsbl_lists_count(lists) : 0;

	if ((v = calloc(n ? n : 1, sizeof *v)) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		v[i] = dnsbl_lists_get(lists, i);
	s = sweep_new_lists(v, n, space, now);
	free(v);
	return s;
}

/* Frees everything. */
void
sweep_free(struct sweep *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nlists; i++) {
		free(s->lists[i].ks);
		free(s->lists[i].hs);
		free(s->lists[i].hf);
		free(s->lists[i].heap);
		free(s->lists[i].urg);
		free(s->lists[i].rck);
	}
	free(s->lists);
	free(s->iv);
	free(s->ranges);
	free(s->asns);
	free(s->hot);
	free(s->freeids);
	hidx_release(&s->hidx);
	free(s);
}

static int64_t
clock_now(struct sweep *s, int64_t now)
{
	if (now < s->last_now)
		now = s->last_now;
	s->last_now = now;
	return now;
}

/* Puts ip on the fast interval of the ip-scope lists that take it; its hot id, or
 * HIDX_NONE when it is not ours (or no list takes it, or out of memory). */
static uint32_t
activate(struct sweep *s, const struct rw_addr *ip, int64_t now)
{
	uint32_t id, r, until;
	struct slist *L;
	size_t i;

	for (i = 0; i < s->nlists && !list_takes(&s->lists[i], ip); i++)
		;
	if (i == s->nlists || prefixes_announced(s->space, ip) == NULL)
		return HIDX_NONE;
	if ((id = hot_get(s, ip)) == HIDX_NONE)
		return HIDX_NONE;
	r = rel(s, now);
	until = rel(s, now + ACTIVE_WINDOW);
	if (s->hot[id].active_until < until)
		s->hot[id].active_until = until;
	for (i = 0; i < s->nlists; i++) {
		L = &s->lists[i];
		if (!list_takes(L, ip) || (L->hf[id] & F_HEAP))
			continue;
		if (heap_push(L, fast_due(L, id, r), id) == 0)
			L->hf[id] |= F_HEAP;
	}
	return id;
}

/* ip sent SMTP at now. */
void
sweep_active(struct sweep *s, const struct rw_addr *ip, int64_t now)
{
	activate(s, ip, clock_now(s, now));
}

/* ip turned suspect at now. */
void
sweep_urgent(struct sweep *s, const struct rw_addr *ip, int64_t now)
{
	struct slist *L;
	uint32_t id;
	size_t i;

	if ((id = activate(s, ip, clock_now(s, now))) == HIDX_NONE)
		return;
	for (i = 0; i < s->nlists; i++) {
		L = &s->lists[i];
		if (!list_takes(L, ip) || (L->hf[id] & F_URGENT))
			continue;
		if (urg_push(L, id) == 0)
			L->hf[id] |= F_URGENT;
	}
}

/* The queries due at now: rechecks and urgent, then fast re-checks, then the base sweeps. */
size_t
sweep_due(struct sweep *s, int64_t now, struct sweep_item *out, size_t max)
{
	size_t n = 0, k, phase;
	struct slist *L;
	int behind;

	now = clock_now(s, now);
	if (now >= s->next_gc) {
		hot_gc(s, now);
		s->next_gc = now + GC_EVERY;
	}
	for (k = 0; k < s->nlists; k++)
		budget_roll(s, &s->lists[k], now);
	for (phase = 0; phase < 3; phase++)
		for (k = 0; k < s->nlists && n < max; k++) {
			L = &s->lists[(s->rr + k) % s->nlists];
			if (L->held)
				continue;
			behind = L->n > 0 && now - base_due(L) > L->cycle / BEHIND_DIV;
			if (phase == 0 && L->scope == DNSBL_SCOPE_IP) {
				n += due_recheck(s, L, now, out + n, max - n);
				n += due_urgent(s, L, now, out + n, max - n);
			}
			if (phase == 1 && behind)
				n += due_base(s, L, now, out + n, max - n);
			if (phase == 1 && L->scope == DNSBL_SCOPE_IP)
				n += due_fast(s, L, now, out + n, max - n);
			if (phase == 2)
				n += due_base(s, L, now, out + n, max - n);
		}
	if (s->nlists > 0)
		s->rr = (s->rr + 1) % s->nlists;
	return n;
}

static struct slist *
find_list(const struct sweep *s, const struct dnsbl_list *l)
{
	size_t i;

	for (i = 0; i < s->nlists; i++)
		if (s->lists[i].l == l)
			return &s->lists[i];
	return NULL;
}

/* A remote server named list l in a rejection of ip: ask again now, whatever a cached
 * answer said, but at most once per (IP, list) every SWEEP_RECHECK_EVERY seconds. */
int
sweep_recheck(struct sweep *s, const struct dnsbl_list *l, const struct rw_addr *ip,
    int64_t now)
{
	struct slist *L;
	uint32_t id, r, *v;
	size_t ncap;

	now = clock_now(s, now);
	if ((L = find_list(s, l)) == NULL || !list_takes(L, ip))
		return 0;
	if ((id = activate(s, ip, now)) == HIDX_NONE)
		return 0;
	r = rel(s, now);
	if (L->hf[id] & F_RECHECK)
		return 0;
	if (L->hs[id].last_recheck != 0 && r - L->hs[id].last_recheck < SWEEP_RECHECK_EVERY)
		return 0;
	if (L->nrck == L->caprck) {
		ncap = L->caprck ? L->caprck * 2 : 16;
		if ((v = realloc(L->rck, ncap * sizeof *v)) == NULL)
			return -1;
		L->rck = v;
		L->caprck = ncap;
	}
	L->rck[L->nrck++] = id;
	L->hf[id] |= F_RECHECK;
	L->hs[id].last_recheck = r;
	return 1;
}

/* The per-key state of a range or asn key named in an item; NULL when unknown. */
static struct kstate *
item_state(const struct sweep *s, const struct slist *L, const struct sweep_item *it)
{
	struct rw_cidr c;
	size_t lo, hi, mid, base = 0;
	uint32_t net, asn = 0;
	unsigned plen;
	const char *p;

	if (L->scope == DNSBL_SCOPE_RANGE) {
		if (cidr_parse(it->key, &c, 1) == -1 || !addr_is_v4(&c.net))
			return NULL;
		net = v4_of(&c.net);
		plen = cidr_user_plen(&c);
		for (lo = 0, hi = s->nranges; lo < hi; ) {
			mid = (lo + hi) / 2;
			if (s->ranges[mid].net < net ||
			    (s->ranges[mid].net == net && s->ranges[mid].plen < plen))
				lo = mid + 1;
			else
				hi = mid;
		}
		return lo < s->nranges && s->ranges[lo].net == net && s->ranges[lo].plen == plen ?
		    &L->ks[lo] : NULL;
	}
	if (it->key[0] != 'A' || it->key[1] != 'S' || it->key[2] == '\0')
		return NULL;
	for (p = it->key + 2; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || asn > (UINT32_MAX - 9) / 10)
			return NULL;
		asn = asn * 10 + (uint32_t)(*p - '0');
	}
	hi = s->nasns4;
	if (!addr_is_v4(&it->ip)) {
		base = s->nasns4;
		hi = s->nasns;
	}
	for (lo = base; lo < hi; ) {
		mid = (lo + hi) / 2;
		if (s->asns[mid].asn < asn)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= (addr_is_v4(&it->ip) ? s->nasns4 : s->nasns) || s->asns[lo].asn != asn ||
	    lo >= L->n)
		return NULL;
	return &L->ks[lo];
}

/* The answer to it came with ttl: its key waits at least that long. */
void
sweep_answered(struct sweep *s, const struct sweep_item *it, uint32_t ttl, int64_t now)
{
	struct slist *L;
	struct kstate *k = NULL;
	uint32_t id, nb;

	now = clock_now(s, now);
	if ((L = find_list(s, it->list)) == NULL || ttl == 0)
		return;
	nb = rel(s, now + ttl);
	if (L->scope == DNSBL_SCOPE_IP) {
		id = hot_find(s, &it->ip);
		/* a key nobody watches closely is next asked a cycle later anyway */
		if (id == HIDX_NONE && (int64_t)ttl > L->cycle &&
		    prefixes_announced(s->space, &it->ip) != NULL)
			id = hot_get(s, &it->ip);
		if (id != HIDX_NONE)
			k = &L->hs[id];
	} else
		k = item_state(s, L, it);
	if (k != NULL && k->not_before < nb)
		k->not_before = nb;
}

/* When the next query is due. */
int64_t
sweep_next(const struct sweep *s, int64_t now)
{
	const struct slist *L;
	int64_t best = INT64_MAX, cand, t;
	size_t i, j;

	if (now < s->last_now)
		now = s->last_now;
	for (i = 0; i < s->nlists; i++) {
		L = &s->lists[i];
		if (L->held)
			continue;
		cand = L->nrck > 0 ? now : INT64_MAX;
		for (j = 0; j < L->nurg; j++) {
			t = absolute(s, L->hs[L->urg[L->uhead + j]].not_before);
			if (t < cand)
				cand = t;
		}
		if (L->nheap > 0 && (t = absolute(s, (uint32_t)(L->heap[0] >> 32))) < cand)
			cand = t;
		if (L->n > 0 && (t = base_due(L)) < cand)
			cand = t;
		if (cand == INT64_MAX)
			continue;
		if (cand < now)
			cand = now;
		cand = budget_next(s, L, cand);
		if (cand < best)
			best = cand;
	}
	return best;
}

/* The key of ip for list l. */
void
sweep_key(const struct sweep *s, const struct dnsbl_list *l, const struct rw_addr *ip,
    char *key, size_t len)
{
	struct rw_cidr c;
	uint32_t asn;

	switch (l->scope) {
	case DNSBL_SCOPE_IP:
		addr_format(ip, key, len);
		return;
	case DNSBL_SCOPE_RANGE:
		prefixes_range(s->space, ip, &c);
		cidr_format(&c, key, len);
		return;
	case DNSBL_SCOPE_ASN:
		if ((asn = prefixes_asn(s->space, ip)) != 0)
			snprintf(key, len, "AS%u", asn);
		else if (len > 0)
			key[0] = '\0';
		return;
	}
	if (len > 0)
		key[0] = '\0';
}

/* Holds list l (it asks nothing) or lets it go on; its schedule resumes where it stood. */
void
sweep_hold(struct sweep *s, const struct dnsbl_list *l, int hold, int64_t now)
{
	struct slist *L = find_list(s, l);

	now = clock_now(s, now);
	if (L == NULL || (hold != 0) == L->held)
		return;
	if (hold) {
		L->held = 1;
		L->held_since = now;
		return;
	}
	L->held = 0;
	/* shift the base cycle by the pause, so it does not burst to catch up */
	if (base_due(L) < now)
		L->t0 += now - (L->held_since > base_due(L) ? L->held_since : base_due(L));
}

/* How far l's current base cycle has come: keys done and keys in all. */
void
sweep_progress(const struct sweep *s, const struct dnsbl_list *l, uint64_t *done,
    uint64_t *total)
{
	const struct slist *L = find_list(s, l);

	*done = L ? L->i : 0;
	*total = L ? L->n : 0;
}

/* Bytes held. */
size_t
sweep_bytes(const struct sweep *s)
{
	size_t b = sizeof *s + s->nlists * sizeof *s->lists + s->niv * sizeof *s->iv +
	    s->nranges * sizeof *s->ranges + s->nasns * sizeof *s->asns +
	    (size_t)s->caphot * sizeof *s->hot + hidx_bytes(&s->hidx) +
	    (size_t)s->capfree * sizeof *s->freeids;
	const struct slist *L;
	size_t i;

	for (i = 0; i < s->nlists; i++) {
		L = &s->lists[i];
		if (L->scope == DNSBL_SCOPE_IP)
			b += (size_t)s->caphot * (sizeof *L->hs + 1);
		else
			b += (size_t)L->n * sizeof *L->ks;
		b += L->capheap * sizeof *L->heap + L->capurg * sizeof *L->urg;
	}
	return b;
}
