/*
 * hist.c — the log-linear histogram. Owns nothing but the struct it is handed.
 */
#include "hist.h"

/* The bucket of v: 0..15 themselves; then for v in [2^k, 2^(k+1)), k >= 4, one of
 * HIST_SUB equal slices of that octave. */
static unsigned
bucket_of(uint64_t v)
{
	unsigned k;

	if (v < 16)
		return (unsigned)v;
	k = 63u - (unsigned)__builtin_clzll(v);
	return 16 + (k - 4) * HIST_SUB + (unsigned)((v >> (k - 3)) & (HIST_SUB - 1));
}

/* The largest value that falls in bucket i. */
static uint64_t
bucket_top(unsigned i)
{
	unsigned k, s;

	if (i < 16)
		return i;
	k = 4 + (i - 16) / HIST_SUB;
	s = (i - 16) % HIST_SUB;
	if (k == 63 && s == HIST_SUB - 1)
		return UINT64_MAX;
	return ((uint64_t)1 << k) + ((uint64_t)(s + 1) << (k - 3)) - 1;
}

void
hist_add(struct hist *h, uint64_t v)
{
	h->b[bucket_of(v)]++;
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

uint64_t
hist_quantile(const struct hist *h, double q)
{
	uint64_t want, seen = 0, top;
	unsigned i;

	if (h->count == 0)
		return 0;
	want = (uint64_t)(q * (double)h->count + 0.999999);
	if (want < 1)
		want = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			top = bucket_top(i);
			return top < h->max ? top : h->max;
		}
	}
	return h->max;
}
