/*
 * lpm.c — longest-prefix match over the mapped 128-bit space.
 *
 * For: answering "which prefix (value) holds this address" for customers and provider
 * space, 1M prefixes, millions of lookups a second.
 * Owns: the (prefix, value) pairs it was given and the flattened interval table built
 * from them. Values are opaque 32-bit numbers (indexes into the caller's array).
 * Must never: change after lpm_build (readers share a built table without locks), or
 * allocate during a lookup.
 *
 * How: lpm_add collects pairs. lpm_build sorts them by (network, length) and sweeps once
 * with a stack of open (enclosing) prefixes, cutting the whole 128-bit space into disjoint
 * intervals, each carrying the value of its most specific prefix (or none). Only the start
 * of each interval is kept: interval i runs up to the next start - 1. A lookup finds the
 * last start <= key, comparing keys as two big-endian uint64 halves.
 *
 * Most of a hosting provider's prefixes and nearly all lookups are IPv4, so the intervals
 * inside the mapped IPv4 block go to a table of their own, 8 bytes an interval ({32-bit
 * start, value}: the value is in the cache line of its key), the others to a table of
 * 128-bit starts. Each table gets a static search tree (every 16th IPv4 start, every 16th
 * of those, ...; one cache line a node) instead of a plain binary search: a binary search
 * over 2M intervals takes ~21 dependent cache misses, the tree's upper levels stay cached
 * and a lookup misses about once, in its leaf. A first-level index on the address's top bits
 * was tried and dropped: it is fast for uniformly random prefixes but collapses when the
 * space is dense in a few /16s, which is what a provider's space looks like.
 * The sorted pairs stay, so lpm_exact is a binary search after build (a scan before).
 */
#include "lpm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LPM_NONE	UINT32_MAX
#define FAN4		16	/* IPv4 index node: 16 keys of 4 bytes, one cache line */
#define FAN6		4	/* IPv6 index node: 4 keys of 16 bytes, one cache line */
#define MAXLEVELS	40	/* enough for 2^64 intervals at FAN6 */
#define LINE		64
#define V4_FIRST	0x0000ffff00000000ULL	/* ::ffff:0.0.0.0, low half */
#define V4_LAST		0x0000ffffffffffffULL	/* ::ffff:255.255.255.255, low half */

struct lpm_key {
	uint64_t hi, lo;
};

/* An interval of the mapped IPv4 block: 8 bytes, the value beside its key. */
struct lpm_v4 {
	uint32_t start;		/* IPv4 address, host order */
	uint32_t value;
};

/* An interval of the rest of the space. */
struct lpm_v6 {
	uint64_t hi, lo;
	uint32_t value;
};

/* A static search tree over a sorted array: level 0 holds every FAN-th key of the array,
 * level l+1 every FAN-th key of level l, up to a level of at most FAN keys. A lookup reads
 * one node (one cache line) a level, then one leaf of the array. */
struct lpm_index {
	void *level[MAXLEVELS];
	size_t n[MAXLEVELS];
	int nl;
};

struct lpm_entry {
	uint64_t hi, lo;	/* network, host bits clear */
	uint32_t value;
	uint8_t plen;
};

struct lpm {
	struct lpm_entry *e;	/* the pairs: insertion order, sorted once built */
	size_t n, cap;
	int built;

	/* While building: the intervals of the whole space. Interval i runs from start[i]
	 * up to start[i + 1] - 1 and carries val[i] (LPM_NONE for none); start[0] == 0. */
	struct lpm_key *start;
	uint32_t *val;
	size_t ni, icap;

	/* Once built: the same intervals, split in two tables. */
	struct lpm_v4 *v4;	/* the mapped IPv4 block; v4[0].start == 0 */
	size_t n4;
	struct lpm_index ix4;
	struct lpm_v6 *v6;	/* the rest; v6[0] starts at :: */
	size_t n6;
	struct lpm_index ix6;

	/* the duplicate reported by the last failed build */
	int has_dup;
	struct rw_cidr dup;
	uint32_t dup_first, dup_second;
};

static uint64_t
load_be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void
store_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static struct lpm_key
key_of(const struct rw_addr *a)
{
	struct lpm_key k;

	k.hi = load_be64(a->a);
	k.lo = load_be64(a->a + 8);
	return k;
}

/* The host-bit mask of a prefix length, as two halves. */
static void
host_mask(unsigned plen, uint64_t *hi, uint64_t *lo)
{
	if (plen >= 128) {
		*hi = 0;
		*lo = 0;
	} else if (plen >= 64) {
		*hi = 0;
		*lo = plen == 64 ? UINT64_MAX : UINT64_MAX >> (plen - 64);
	} else {
		*hi = plen == 0 ? UINT64_MAX : UINT64_MAX >> plen;
		*lo = UINT64_MAX;
	}
}

static int
key_le(const struct lpm_key *x, uint64_t hi, uint64_t lo)
{
	return x->hi < hi || (x->hi == hi && x->lo <= lo);
}

static void
entry_cidr(const struct lpm_entry *e, struct rw_cidr *c)
{
	store_be64(c->net.a, e->hi);
	store_be64(c->net.a + 8, e->lo);
	c->plen = e->plen;
}

/* An empty table. */
struct lpm *
lpm_new(void)
{
	return calloc(1, sizeof(struct lpm));
}

static void
index_free(struct lpm_index *ix)
{
	int l;

	for (l = 0; l < ix->nl; l++)
		free(ix->level[l]);
	ix->nl = 0;
}

/* Drops everything lpm_build made, keeping the pairs. */
static void
unbuild(struct lpm *t)
{
	free(t->start);
	free(t->val);
	free(t->v4);
	free(t->v6);
	index_free(&t->ix4);
	index_free(&t->ix6);
	t->start = NULL;
	t->val = NULL;
	t->v4 = NULL;
	t->v6 = NULL;
	t->ni = t->icap = t->n4 = t->n6 = 0;
}

/* Frees the table and everything it built. */
void
lpm_free(struct lpm *t)
{
	if (t == NULL)
		return;
	unbuild(t);
	free(t->e);
	free(t);
}

/* Records one (prefix, value) pair for the next build. */
int
lpm_add(struct lpm *t, const struct rw_cidr *c, uint32_t value)
{
	struct lpm_entry *e;
	struct rw_addr net;
	size_t ncap;

	if (t->built || c->plen > 128 || value == LPM_NONE)
		return -1;
	if (t->n == t->cap) {
		ncap = t->cap ? t->cap * 2 : 64;
		if (ncap > SIZE_MAX / sizeof *e)
			return -1;
		e = realloc(t->e, ncap * sizeof *e);
		if (e == NULL)
			return -1;
		t->e = e;
		t->cap = ncap;
	}
	net = c->net;
	addr_mask(&net, c->plen);	/* the invariant the sweep relies on */
	e = &t->e[t->n++];
	memset(e, 0, sizeof *e);
	e->hi = load_be64(net.a);
	e->lo = load_be64(net.a + 8);
	e->plen = (uint8_t)c->plen;
	e->value = value;
	return 0;
}

/* Network ascending, then shorter (enclosing) first, then value: a deterministic order in
 * which every prefix comes after the prefixes that contain it. */
static int
entry_cmp(const void *va, const void *vb)
{
	const struct lpm_entry *a = va, *b = vb;

	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	if (a->plen != b->plen)
		return a->plen < b->plen ? -1 : 1;
	if (a->value != b->value)
		return a->value < b->value ? -1 : 1;
	return 0;
}

/* Appends interval [hi:lo, ...) -> value, merging with the previous one when the value is
 * the same. -1 when out of memory. */
static int
emit(struct lpm *t, uint64_t hi, uint64_t lo, uint32_t value)
{
	struct lpm_key *s;
	uint32_t *v;
	size_t ncap;

	if (t->ni > 0 && t->val[t->ni - 1] == value)
		return 0;
	if (t->ni == t->icap) {
		ncap = t->icap ? t->icap * 2 : 64;
		if (ncap > SIZE_MAX / sizeof *s)
			return -1;
		s = realloc(t->start, ncap * sizeof *s);
		if (s == NULL)
			return -1;
		t->start = s;
		v = realloc(t->val, ncap * sizeof *v);
		if (v == NULL)
			return -1;
		t->val = v;
		t->icap = ncap;
	}
	t->start[t->ni].hi = hi;
	t->start[t->ni].lo = lo;
	t->val[t->ni] = value;
	t->ni++;
	return 0;
}

/* The last interval whose start is <= key, searching [first, first + n). */
static size_t
search(const struct lpm_key *start, size_t first, size_t n, uint64_t hi, uint64_t lo)
{
	size_t half;

	while (n > 1) {
		half = n / 2;
		if (key_le(&start[first + half], hi, lo))
			first += half;
		n -= half;
	}
	return first;
}

/* size rounded up to whole cache lines, aligned on one. NULL when out of memory. */
static void *
alloc_lines(size_t size)
{
	size_t rounded = (size + LINE - 1) & ~(size_t)(LINE - 1);

	if (rounded < size)
		return NULL;
	return aligned_alloc(LINE, rounded ? rounded : LINE);
}

/* Builds the search tree over n elements of stride bytes whose first ks bytes are the key. */
static int
index_build(struct lpm_index *ix, const void *data, size_t n, size_t stride, size_t ks,
    size_t fan)
{
	const char *src = data;
	char *lvl;
	size_t m, k;

	while (n > fan) {
		if (ix->nl == MAXLEVELS)
			return -1;
		m = (n + fan - 1) / fan;
		if ((lvl = alloc_lines(m * ks)) == NULL)
			return -1;
		for (k = 0; k < m; k++)
			memcpy(lvl + k * ks, src + k * fan * stride, ks);
		ix->level[ix->nl] = lvl;
		ix->n[ix->nl] = m;
		ix->nl++;
		src = lvl;
		n = m;
		stride = ks;
	}
	return 0;
}

/* Splits the intervals into the IPv4 table (those inside the mapped block, the first one
 * clamped to its start) and the IPv6 table (the others, plus the two holding the block's
 * ends, since they may reach outside it), then indexes both. */
static int
split(struct lpm *t)
{
	size_t a, b, j, k;

	a = search(t->start, 0, t->ni, 0, V4_FIRST);
	b = search(t->start, 0, t->ni, 0, V4_LAST);
	t->n4 = b - a + 1;
	t->n6 = t->ni - (b > a + 1 ? b - a - 1 : 0);
	if ((t->v4 = alloc_lines(t->n4 * sizeof *t->v4)) == NULL ||
	    (t->v6 = alloc_lines(t->n6 * sizeof *t->v6)) == NULL)
		return -1;
	for (j = a; j <= b; j++) {
		t->v4[j - a].start = j == a ? 0 : (uint32_t)t->start[j].lo;
		t->v4[j - a].value = t->val[j];
	}
	for (j = 0, k = 0; j < t->ni; j++) {
		if (j > a && j < b)
			continue;
		t->v6[k].hi = t->start[j].hi;
		t->v6[k].lo = t->start[j].lo;
		t->v6[k].value = t->val[j];
		k++;
	}
	free(t->start);
	free(t->val);
	t->start = NULL;
	t->val = NULL;
	t->ni = t->icap = 0;
	if (index_build(&t->ix4, t->v4, t->n4, sizeof *t->v4, sizeof t->v4->start, FAN4) == -1 ||
	    index_build(&t->ix6, t->v6, t->n6, sizeof *t->v6, sizeof(struct lpm_key), FAN6) == -1)
		return -1;
	return 0;
}

/* Cuts the space into intervals from the sorted, duplicate-free pairs. -1 when out of
 * memory. */
static int
sweep(struct lpm *t)
{
	/* the open prefixes; nesting is at most 129 deep, each strictly shorter */
	struct {
		uint64_t ehi, elo;	/* last address */
		uint32_t value;
	} stack[129];
	size_t i, sp = 0;
	uint64_t curhi = 0, curlo = 0, mhi, mlo, shi, slo;

	t->ni = 0;
	for (i = 0; i < t->n; i++) {
		shi = t->e[i].hi;
		slo = t->e[i].lo;
		/* close the prefixes that end before this one starts */
		while (sp > 0 && !key_le(&(struct lpm_key){ shi, slo },
		    stack[sp - 1].ehi, stack[sp - 1].elo)) {
			sp--;
			if (key_le(&(struct lpm_key){ curhi, curlo }, stack[sp].ehi, stack[sp].elo)) {
				if (emit(t, curhi, curlo, stack[sp].value) == -1)
					return -1;
				curhi = stack[sp].ehi;
				curlo = stack[sp].elo + 1;
				if (curlo == 0)
					curhi++;
			}
		}
		/* the gap (or the enclosing prefix's part) before this one */
		if ((curhi != shi || curlo != slo) &&
		    emit(t, curhi, curlo, sp > 0 ? stack[sp - 1].value : LPM_NONE) == -1)
			return -1;
		curhi = shi;
		curlo = slo;
		host_mask(t->e[i].plen, &mhi, &mlo);
		stack[sp].ehi = shi | mhi;
		stack[sp].elo = slo | mlo;
		stack[sp].value = t->e[i].value;
		sp++;
	}
	while (sp > 0) {
		sp--;
		if (key_le(&(struct lpm_key){ curhi, curlo }, stack[sp].ehi, stack[sp].elo)) {
			if (emit(t, curhi, curlo, stack[sp].value) == -1)
				return -1;
			if (stack[sp].ehi == UINT64_MAX && stack[sp].elo == UINT64_MAX)
				return 0;	/* reached the end of the space */
			curhi = stack[sp].ehi;
			curlo = stack[sp].elo + 1;
			if (curlo == 0)
				curhi++;
		}
	}
	/* the tail after the last prefix (the whole space when there is none): start[0] is
	 * always 0, so every key has an interval */
	return emit(t, curhi, curlo, LPM_NONE);
}

/* Sorts, checks for duplicates, and builds the interval tables. */
int
lpm_build(struct lpm *t, char *err, size_t errlen)
{
	size_t i, best = SIZE_MAX;
	char cbuf[CIDR_STRLEN];

	if (t->built)
		return 0;
	t->has_dup = 0;
	if (t->n > 1)
		qsort(t->e, t->n, sizeof *t->e, entry_cmp);

	/* Report the duplicate whose later copy was added first: with values that grow in
	 * insertion order (line numbers, indexes) that is the one a reader meets first. */
	for (i = 1; i < t->n; i++) {
		if (t->e[i].hi == t->e[i - 1].hi && t->e[i].lo == t->e[i - 1].lo &&
		    t->e[i].plen == t->e[i - 1].plen &&
		    (best == SIZE_MAX || t->e[i].value < t->e[best].value))
			best = i;
	}
	if (best != SIZE_MAX) {
		t->has_dup = 1;
		entry_cidr(&t->e[best], &t->dup);
		t->dup_first = t->e[best - 1].value;
		t->dup_second = t->e[best].value;
		snprintf(err, errlen, "duplicate prefix %s (values %u and %u)",
		    cidr_format(&t->dup, cbuf, sizeof cbuf), t->dup_first, t->dup_second);
		return -1;
	}
	if (sweep(t) == -1 || split(t) == -1) {
		unbuild(t);
		snprintf(err, errlen, "out of memory building the prefix table");
		return -1;
	}
	t->built = 1;
	return 0;
}

/* The duplicate the last failed build found. */
int
lpm_duplicate(const struct lpm *t, struct rw_cidr *c, uint32_t *first, uint32_t *second)
{
	if (!t->has_dup)
		return 0;
	*c = t->dup;
	*first = t->dup_first;
	*second = t->dup_second;
	return 1;
}

/* The last IPv4 interval whose start is <= a: down the tree, counting in each node the
 * keys <= a (no branches to mispredict; the node's first key always is). */
static size_t
find4(const struct lpm *t, uint32_t a)
{
	const uint32_t *key;
	size_t p = 0, base, m, c, j;
	int l;

	for (l = t->ix4.nl - 1; l >= 0; l--) {
		key = t->ix4.level[l];
		base = p * FAN4;
		m = t->ix4.n[l] - base < FAN4 ? t->ix4.n[l] - base : FAN4;
		for (c = 0, j = 0; j < m; j++)
			c += key[base + j] <= a;
		p = base + c - 1;
	}
	base = p * FAN4;
	m = t->n4 - base < FAN4 ? t->n4 - base : FAN4;
	for (c = 0, j = 0; j < m; j++)
		c += t->v4[base + j].start <= a;
	return base + c - 1;
}

static size_t
find6(const struct lpm *t, uint64_t hi, uint64_t lo)
{
	const struct lpm_key *key;
	size_t p = 0, base, m, c, j;
	int l;

	for (l = t->ix6.nl - 1; l >= 0; l--) {
		key = t->ix6.level[l];
		base = p * FAN6;
		m = t->ix6.n[l] - base < FAN6 ? t->ix6.n[l] - base : FAN6;
		for (c = 0, j = 0; j < m; j++)
			c += key_le(&key[base + j], hi, lo);
		p = base + c - 1;
	}
	base = p * FAN6;
	m = t->n6 - base < FAN6 ? t->n6 - base : FAN6;
	for (c = 0, j = 0; j < m; j++)
		c += t->v6[base + j].hi < hi ||
		    (t->v6[base + j].hi == hi && t->v6[base + j].lo <= lo);
	return base + c - 1;
}

/* The value of the most specific prefix holding a. */
int
lpm_lookup(const struct lpm *t, const struct rw_addr *a, uint32_t *value)
{
	struct lpm_key k;
	uint32_t v;

	if (!t->built)
		return 0;
	k = key_of(a);
	if (k.hi == 0 && (k.lo >> 32) == 0xffff)
		v = t->v4[find4(t, (uint32_t)k.lo)].value;
	else
		v = t->v6[find6(t, k.hi, k.lo)].value;
	if (v == LPM_NONE)
		return 0;
	*value = v;
	return 1;
}

/* The value of exactly prefix c. */
int
lpm_exact(const struct lpm *t, const struct rw_cidr *c, uint32_t *value)
{
	struct rw_addr net;
	struct lpm_entry want;
	size_t i, first, n, half;

	if (c->plen > 128)
		return 0;
	net = c->net;
	addr_mask(&net, c->plen);
	want.hi = load_be64(net.a);
	want.lo = load_be64(net.a + 8);
	want.plen = (uint8_t)c->plen;
	if (!t->built) {
		for (i = 0; i < t->n; i++) {
			if (t->e[i].hi == want.hi && t->e[i].lo == want.lo &&
			    t->e[i].plen == want.plen) {
				*value = t->e[i].value;
				return 1;
			}
		}
		return 0;
	}
	/* first entry not below (network, plen); values break ties, so want.value = 0 */
	want.value = 0;
	first = 0;
	n = t->n;
	while (n > 0) {
		half = n / 2;
		if (entry_cmp(&t->e[first + half], &want) < 0) {
			first += half + 1;
			n -= half + 1;
		} else
			n = half;
	}
	if (first < t->n && t->e[first].hi == want.hi && t->e[first].lo == want.lo &&
	    t->e[first].plen == want.plen) {
		*value = t->e[first].value;
		return 1;
	}
	return 0;
}

/* How many pairs were added. */
size_t
lpm_count(const struct lpm *t)
{
	return t->n;
}
