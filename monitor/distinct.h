/*
 * distinct.h — counting distinct items (destination IPs of one sender) in little memory.
 * Exact up to DISTINCT_EXACT_MAX items (the common case: a few MX), then a HyperLogLog
 * sketch (Flajolet et al. 2007, precision 10: 1024 one-byte registers, standard error
 * about 3.25%, with the linear-counting correction for small cardinalities). The value is
 * 16 bytes inline; it allocates only past 2 items. Keys are 64-bit: an IPv4 address is its
 * own key (exact), an IPv6 address a 63-bit hash of it with the top bit set.
 */
#ifndef RW_DISTINCT_H
#define RW_DISTINCT_H

#include <stdint.h>

#include "addr.h"

#define DISTINCT_EXACT_MAX 128

struct distinct {
	uint32_t n;		/* exact count; DISTINCT_SKETCH once a sketch */
	uint32_t cap;		/* slots of the exact set on the heap */
	union {
		uint64_t inl[1];	/* n <= 1: the key itself */
		uint64_t *set;		/* n > 1: open-addressing set, 0 = empty */
		uint8_t *hll;		/* sketch registers */
	} u;
};

#define DISTINCT_SKETCH UINT32_MAX

/* The key of an address. */
uint64_t distinct_key(const struct rw_addr *a);
/* Adds key (never 0). Returns -1 only when out of memory (the item is then not counted). */
int distinct_add(struct distinct *d, uint64_t key);
/* The count: exact, or the sketch's estimate. */
uint64_t distinct_count(const struct distinct *d);
/* 1 when the count is an estimate. */
int distinct_is_estimate(const struct distinct *d);
/* Adds every item of src to dst. -1 when out of memory. */
int distinct_merge(struct distinct *dst, const struct distinct *src);
/* Frees what it holds and zeroes it (the empty value is all zero). */
void distinct_clear(struct distinct *d);

#endif
