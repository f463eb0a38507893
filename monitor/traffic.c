/*
 * traffic.c — the per-IP counter table. Owns its records (chunks of doubling size, never
 * moved: see chunk.h; forgotten ones are reused), each record's distinct set and citation
 * array, the hash index and the list of forgotten records. Single-threaded: the daemon's
 * loop is its only writer.
 */
#include "traffic.h"

#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "hidx.h"
#include "log.h"

#define HASH_SEED	0x5eed1u
/* traffic_evict's age buckets: minutes up to a day, then one for everything older */
#define AGE_BUCKETS	1441

struct traffic {
	struct traffic_ip *chunk[CHUNK_MAX];
	unsigned nchunk;
	size_t count;
	size_t max;
	size_t ncite;
	uint64_t dropped;
	uint64_t evicted;
	uint64_t dropped_seen;	/* dropped as of the last traffic_evict */
	uint32_t *freeids;	/* forgotten records waiting for reuse */
	void (*on_forget)(void *arg, struct traffic_ip *ip);	/* fx's owner (flows.c) */
	void *on_forget_arg;
	size_t nfree, capfree;
	struct hidx idx;
};

struct traffic *
traffic_new(size_t max_ips, size_t ncite)
{
	struct traffic *t = calloc(1, sizeof *t);

	if (t == NULL)
		return NULL;
	if (hidx_init(&t->idx, 1024) == -1) {
		free(t);
		return NULL;
	}
	t->max = max_ips < UINT32_MAX - 1 ? max_ips : UINT32_MAX - 1;
	t->ncite = ncite;
	return t;
}

void
traffic_free(struct traffic *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->count; i++) {
		struct traffic_ip *ip = traffic_at(t, i);
		distinct_clear(&ip->dst);
		free(ip->cites);
	}
	for (i = 0; i < t->nchunk; i++)
		free(t->chunk[i]);
	hidx_release(&t->idx);
	free(t->freeids);
	free(t);
}

struct traffic_ip *
traffic_at(const struct traffic *t, size_t i)
{
	unsigned c = chunk_of((uint32_t)i);

	return &t->chunk[c][i - chunk_first(c)];
}

static struct traffic_ip *
find(const struct traffic *t, const struct rw_addr *a, uint32_t h)
{
	uint32_t pos = h & t->idx.mask, id;
	struct traffic_ip *ip;

	while ((id = hidx_next(&t->idx, h, &pos)) != HIDX_NONE) {
		ip = traffic_at(t, id);
		if (memcmp(ip->addr.a, a->a, 16) == 0)
			return ip;
	}
	return NULL;
}

struct traffic_ip *
traffic_get(struct traffic *t, const struct rw_addr *a)
{
	return find(t, a, addr_hash(a, HASH_SEED));
}

/* A slot for a new record: a forgotten one, else the next of the chunks. UINT32_MAX when
 * out of memory. */
static uint32_t
take_slot(struct traffic *t)
{
	if (t->nfree > 0)
		return t->freeids[--t->nfree];
	if (t->count == chunk_first(t->nchunk)) {
		if ((t->chunk[t->nchunk] = malloc(chunk_len(t->nchunk) *
		    sizeof(struct traffic_ip))) == NULL)
			return UINT32_MAX;
		t->nchunk++;
	}
	return (uint32_t)t->count++;
}

struct traffic_ip *
traffic_add(struct traffic *t, const struct rw_addr *a, int *created)
{
	uint32_t h = addr_hash(a, HASH_SEED), id;
	struct traffic_ip *ip;

	*created = 0;
	if ((ip = find(t, a, h)) != NULL)
		return ip;
	if (t->count - t->nfree >= t->max) {
		if (t->dropped++ == 0)
			log_warnx("per-IP table full at %zu sources: new sources wait for the "
			    "minute's eviction", t->max);
		return NULL;
	}
	if ((id = take_slot(t)) == UINT32_MAX)
		return NULL;
	if (hidx_insert(&t->idx, h, id) == -1) {
		if (id == t->count - 1)
			t->count--;
		else
			t->freeids[t->nfree++] = id;	/* its room is still there */
		return NULL;
	}
	ip = traffic_at(t, id);
	memset(ip, 0, sizeof *ip);
	ip->addr = *a;
	ip->customer = -1;
	*created = 1;
	return ip;
}

void
traffic_cite(struct traffic *t, struct traffic_ip *ip, unsigned w)
{
	if (w >= t->ncite)
		return;
	if (ip->cites == NULL && (ip->cites = calloc(t->ncite, sizeof *ip->cites)) == NULL)
		return;
	ip->cites[w]++;
}

int
traffic_set_ncite(struct traffic *t, size_t ncite)
{
	size_t i, n = traffic_count(t), old = t->ncite;
	uint32_t *c;

	if (ncite == old)
		return 0;
	if (ncite < old)
		t->ncite = ncite;	/* cut first: readers never index past an array */
	for (i = 0; i < n; i++) {
		struct traffic_ip *ip = traffic_at(t, i);

		if (ip->cites == NULL)
			continue;
		if (ncite == 0) {
			free(ip->cites);
			ip->cites = NULL;
			continue;
		}
		if ((c = realloc(ip->cites, ncite * sizeof *c)) == NULL) {
			if (ncite > old)
				t->ncite = old;
			return -1;
		}
		if (ncite > old)
			memset(c + old, 0, (ncite - old) * sizeof *c);
		ip->cites = c;
	}
	t->ncite = ncite;
	return 0;
}

size_t
traffic_count(const struct traffic *t)
{
	return t->count;
}

size_t
traffic_live(const struct traffic *t)
{
	return t->count - t->nfree;
}

void
traffic_on_forget(struct traffic *t, void (*cb)(void *arg, struct traffic_ip *ip), void *arg)
{
	t->on_forget = cb;
	t->on_forget_arg = arg;
}

uint64_t
traffic_evicted(const struct traffic *t)
{
	return t->evicted;
}

/* ------------------------------------------------------------------ eviction */

/* The order of forgetting: bucket 0 goes first. Sources without a completed handshake
 * come before every source that has one; within each, the longest idle first. */
static size_t
evict_rank(const struct traffic_ip *ip, uint32_t now)
{
	uint32_t age = now > ip->last_seen ? (now - ip->last_seen) / 60 : 0;
	size_t b = AGE_BUCKETS - 1 - (age < AGE_BUCKETS - 1 ? age : AGE_BUCKETS - 1);

	return ip->sessions == 0 ? b : AGE_BUCKETS + b;
}

static void
forget(struct traffic *t, uint32_t id, struct traffic_ip *ip, traffic_forget_cb cb,
    void *arg)
{
	if (cb != NULL)
		cb(arg, id, ip);
	if (t->on_forget != NULL)
		t->on_forget(t->on_forget_arg, ip);
	hidx_remove(&t->idx, addr_hash(&ip->addr, HASH_SEED), id);
	distinct_clear(&ip->dst);
	free(ip->cites);
	memset(ip, 0, sizeof *ip);
	ip->customer = TRAFFIC_FREE;
	t->freeids[t->nfree++] = id;
	t->evicted++;
}

long
traffic_evict(struct traffic *t, uint32_t now, traffic_forget_cb cb, void *arg)
{
	size_t live = traffic_live(t), low = t->max * 3 / 4, need, i, cut, *hist;
	size_t taken = 0, at_cut;
	int refused = t->dropped != t->dropped_seen;

	t->dropped_seen = t->dropped;
	if ((live <= t->max * 7 / 8 && !refused) || live <= low)
		return 0;
	need = live - low;
	if (t->capfree < t->count) {
		uint32_t *f = realloc(t->freeids, t->count * sizeof *f);

		if (f == NULL)
			return -1;
		t->freeids = f;
		t->capfree = t->count;
	}
	if ((hist = calloc(2 * AGE_BUCKETS, sizeof *hist)) == NULL)
		return -1;
	for (i = 0; i < t->count; i++)
		if (!traffic_is_free(traffic_at(t, i)))
			hist[evict_rank(traffic_at(t, i), now)]++;
	/* the rank where the need is met: everything below goes, and at_cut of it */
	for (cut = 0; cut < 2 * AGE_BUCKETS && taken + hist[cut] < need; cut++)
		taken += hist[cut];
	at_cut = need - taken;
	free(hist);
	for (i = 0, taken = 0; i < t->count && taken < need; i++) {
		struct traffic_ip *ip = traffic_at(t, i);
		size_t r;

		if (traffic_is_free(ip) || (r = evict_rank(ip, now)) > cut)
			continue;
		if (r == cut) {
			if (at_cut == 0)
				continue;
			at_cut--;
		}
		forget(t, (uint32_t)i, ip, cb, arg);
		taken++;
	}
	return (long)taken;
}

size_t
traffic_ncite(const struct traffic *t)
{
	return t->ncite;
}

uint64_t
traffic_dropped(const struct traffic *t)
{
	return t->dropped;
}
