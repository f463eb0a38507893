/*
 * traffic.c — the per-IP counter table. Owns its records (chunks of doubling size, never
 * moved, so callers may keep pointers: see chunk.h), each record's distinct set and
 * citation array, and the hash index. Single-threaded: the capture loop is its only writer.
 */
#include "traffic.h"

#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "hidx.h"
#include "log.h"

#define HASH_SEED	0x5eed1u

struct traffic {
	struct traffic_ip *chunk[CHUNK_MAX];
	unsigned nchunk;
	size_t count;
	size_t max;
	size_t ncite;
	uint64_t dropped;
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

struct traffic_ip *
traffic_add(struct traffic *t, const struct rw_addr *a, int *created)
{
	uint32_t h = addr_hash(a, HASH_SEED);
	struct traffic_ip *ip;

	*created = 0;
	if ((ip = find(t, a, h)) != NULL)
		return ip;
	if (t->count >= t->max) {
		if (t->dropped++ == 0)
			log_warnx("per-IP table full at %zu sources: further sources are not tracked",
			    t->max);
		return NULL;
	}
	if (t->count == chunk_first(t->nchunk)) {
		if ((t->chunk[t->nchunk] = malloc(chunk_len(t->nchunk) * sizeof *ip)) == NULL)
			return NULL;
		t->nchunk++;
	}
	if (hidx_insert(&t->idx, h, (uint32_t)t->count) == -1)
		return NULL;
	ip = traffic_at(t, t->count++);
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
traffic_ncite(const struct traffic *t)
{
	return t->ncite;
}

uint64_t
traffic_dropped(const struct traffic *t)
{
	return t->dropped;
}
