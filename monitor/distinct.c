/*
 * distinct.c — exact small sets that turn into HyperLogLog sketches. Owns the heap memory
 * behind a struct distinct; the struct itself lives inside its owner's record.
 */
#include "distinct.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HLL_P	10
#define HLL_M	(1u << HLL_P)

static uint64_t
mix64(uint64_t x)
{
	/* the splitmix64 finalizer: every input bit affects every output bit */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

uint64_t
distinct_key(const struct rw_addr *a)
{
	uint64_t hi, lo;

	if (addr_is_v4(a))
		return 0x100000000ULL | ((uint64_t)a->a[12] << 24 | (uint64_t)a->a[13] << 16 |
		    (uint64_t)a->a[14] << 8 | a->a[15]);
	memcpy(&hi, a->a, 8);
	memcpy(&lo, a->a + 8, 8);
	return mix64(hi ^ mix64(lo)) | (1ULL << 63);
}

static void
hll_add(uint8_t *reg, uint64_t key)
{
	uint64_t h = mix64(key);
	uint32_t idx = (uint32_t)(h >> (64 - HLL_P));
	uint64_t rest = h << HLL_P;
	uint8_t rank = rest ? (uint8_t)(__builtin_clzll(rest) + 1) : (uint8_t)(64 - HLL_P + 1);

	if (rank > reg[idx])
		reg[idx] = rank;
}

static int
set_insert(uint64_t *set, uint32_t cap, uint64_t key)
{
	uint32_t i = (uint32_t)mix64(key) & (cap - 1);

	while (set[i] != 0) {
		if (set[i] == key)
			return 0;
		i = (i + 1) & (cap - 1);
	}
	set[i] = key;
	return 1;
}

/* Turns the exact set into a sketch holding the same items. */
static int
to_sketch(struct distinct *d)
{
	uint8_t *reg = calloc(HLL_M, 1);
	uint32_t i;

	if (reg == NULL)
		return -1;
	if (d->n == 1)
		hll_add(reg, d->u.inl[0]);
	else if (d->n > 1) {
		for (i = 0; i < d->cap; i++)
			if (d->u.set[i])
				hll_add(reg, d->u.set[i]);
		free(d->u.set);
	}
	d->u.hll = reg;
	d->n = DISTINCT_SKETCH;
	d->cap = 0;
	return 0;
}

int
distinct_add(struct distinct *d, uint64_t key)
{
	uint64_t *set, first;
	uint32_t i, ncap;

	if (d->n == DISTINCT_SKETCH) {
		hll_add(d->u.hll, key);
		return 0;
	}
	if (d->n == 0) {
		d->u.inl[0] = key;
		d->n = 1;
		return 0;
	}
	if (d->n == 1) {
		if (d->u.inl[0] == key)
			return 0;
		first = d->u.inl[0];
		if ((set = calloc(4, sizeof *set)) == NULL)
			return -1;
		set_insert(set, 4, first);
		set_insert(set, 4, key);
		d->u.set = set;
		d->cap = 4;
		d->n = 2;
		return 0;
	}
	/* keep the exact set at most half full */
	if ((d->n + 1) * 2 > d->cap) {
		if (d->n >= DISTINCT_EXACT_MAX) {
			if (to_sketch(d) == -1)
				return -1;
			hll_add(d->u.hll, key);
			return 0;
		}
		ncap = d->cap * 2;
		if ((set = calloc(ncap, sizeof *set)) == NULL)
			return -1;
		for (i = 0; i < d->cap; i++)
			if (d->u.set[i])
				set_insert(set, ncap, d->u.set[i]);
		free(d->u.set);
		d->u.set = set;
		d->cap = ncap;
	}
	d->n += (uint32_t)set_insert(d->u.set, d->cap, key);
	return 0;
}

uint64_t
distinct_count(const struct distinct *d)
{
	double sum = 0, est, alpha = 0.7213 / (1.0 + 1.079 / HLL_M);
	uint32_t i, zeros = 0;

	if (d->n != DISTINCT_SKETCH)
		return d->n;
	for (i = 0; i < HLL_M; i++) {
		sum += ldexp(1.0, -d->u.hll[i]);
		if (d->u.hll[i] == 0)
			zeros++;
	}
	est = alpha * HLL_M * HLL_M / sum;
	if (est <= 2.5 * HLL_M && zeros)
		est = HLL_M * log((double)HLL_M / zeros);
	return (uint64_t)(est + 0.5);
}

int
distinct_is_estimate(const struct distinct *d)
{
	return d->n == DISTINCT_SKETCH;
}

int
distinct_merge(struct distinct *dst, const struct distinct *src)
{
	uint32_t i;

	if (src->n == DISTINCT_SKETCH) {
		if (dst->n != DISTINCT_SKETCH && to_sketch(dst) == -1)
			return -1;
		for (i = 0; i < HLL_M; i++)
			if (src->u.hll[i] > dst->u.hll[i])
				dst->u.hll[i] = src->u.hll[i];
		return 0;
	}
	if (src->n == 1)
		return distinct_add(dst, src->u.inl[0]);
	for (i = 0; src->n > 1 && i < src->cap; i++)
		if (src->u.set[i] && distinct_add(dst, src->u.set[i]) == -1)
			return -1;
	return 0;
}

void
distinct_clear(struct distinct *d)
{
	if (d->n == DISTINCT_SKETCH)
		free(d->u.hll);
	else if (d->n > 1)
		free(d->u.set);
	memset(d, 0, sizeof *d);
}
