/*
 * lpm.h — longest-prefix match over IPv4 and IPv6 (mapped space, see addr.h), mapping a
 * prefix to a 32-bit value (an index into the caller's array). Built once, then read-only:
 * a reload builds a new one and swaps it, so lookups never see a half-built table.
 * Sized for 1M prefixes; a lookup is a binary search over disjoint intervals.
 */
#ifndef RW_LPM_H
#define RW_LPM_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct lpm;

/* An empty table to lpm_add to; NULL when out of memory. */
struct lpm *lpm_new(void);
/* NULL-safe. */
void lpm_free(struct lpm *t);
/* Adds a prefix (plen in mapped space) with its value. Adding after lpm_build is an error.
 * Returns 0, or -1 when out of memory (or after build, or value == UINT32_MAX, which is
 * reserved). Host bits past plen are cleared. */
int lpm_add(struct lpm *t, const struct rw_cidr *c, uint32_t value);
/* Freezes the table. Nested prefixes are fine (the longest wins). The same prefix added
 * twice is an error: -1 with the prefix and both values in err. */
int lpm_build(struct lpm *t, char *err, size_t errlen);
/* After a failed lpm_build: the duplicate it reported and its two values (the smaller
 * value first); 1 when the build failed on a duplicate, else 0. When several prefixes are
 * duplicated, the one reported is the one whose second value is smallest: with values that
 * grow in file order, the duplicate a reader meets first. */
int lpm_duplicate(const struct lpm *t, struct rw_cidr *c, uint32_t *first, uint32_t *second);
/* Finds the value of the longest prefix holding a; 1 when found, 0 when none does (always
 * 0 before lpm_build). Never allocates; safe from several threads once built. */
int lpm_lookup(const struct lpm *t, const struct rw_addr *a, uint32_t *value);
/* Finds the value of the exact prefix c; 1 when present. Works before (a linear scan) and
 * after build (a binary search). */
int lpm_exact(const struct lpm *t, const struct rw_cidr *c, uint32_t *value);
/* How many prefixes were added. */
size_t lpm_count(const struct lpm *t);

#endif
