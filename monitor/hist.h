/*
 * hist.h — a fixed-size log-linear histogram of unsigned values (microseconds of a loop
 * turn, events waiting in the capture ring): exact below 16, then 8 buckets per power of
 * two, so a quantile is reported within 12.5% (as the upper end of its bucket, never
 * below the truth) and the maximum exactly. 2.5 KiB, no allocation: embed it.
 * Not thread-safe: one writer, and readers on the same thread.
 */
#ifndef RW_HIST_H
#define RW_HIST_H

#include <stdint.h>

#define HIST_SUB	8			/* buckets per power of two */
#define HIST_BUCKETS	(16 + (64 - 4) * HIST_SUB)

struct hist {
	uint64_t count;
	uint64_t max;
	uint64_t sum;
	uint64_t b[HIST_BUCKETS];
};

/* Counts one value. */
void hist_add(struct hist *h, uint64_t v);
/* The q-quantile (0 < q <= 1): the upper end of the bucket holding it, capped at the
 * maximum seen; 0 when empty. */
uint64_t hist_quantile(const struct hist *h, double q);

#endif
