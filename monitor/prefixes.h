/*
 * prefixes.h — the provider's own space (`prefixes.txt`): one `CIDR ASN [alloc]` per line,
 * `#` comments. `alloc` marks a registered allocation/assignment block, the unit that
 * range-scope lists (UCEPROTECT L2) escalate. Answers "is this IP ours, in which ASN, in
 * which range". Parse errors name file:line.
 */
#ifndef RW_PREFIXES_H
#define RW_PREFIXES_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct prefixes;

struct prefix {
	struct rw_cidr cidr;
	uint32_t asn;
	int alloc;		/* a registered allocation block */
	unsigned line;		/* where it was read */
};

/* Reads path. On error returns -1 with "FILE:LINE: what is wrong" in err. */
int prefixes_load(const char *path, struct prefixes **out, char *err, size_t errlen);
/* Builds an empty set (no provider space configured). */
struct prefixes *prefixes_new_empty(void);
/* NULL-safe. */
void prefixes_free(struct prefixes *p);
/* How many prefixes (announced and alloc) were read. */
size_t prefixes_count(const struct prefixes *p);
/* Prefix i in file order, or NULL past the end. */
const struct prefix *prefixes_get(const struct prefixes *p, size_t i);
/* The most specific announced prefix (not alloc) holding a, or NULL when a is not ours. */
const struct prefix *prefixes_announced(const struct prefixes *p, const struct rw_addr *a);
/* The most specific alloc block holding a, or NULL. */
const struct prefix *prefixes_alloc(const struct prefixes *p, const struct rw_addr *a);
/* 1 when a is in the provider's space: in an announced prefix or an allocation block
 * (a file may list only those), or when there is no space (p NULL or empty: every
 * address is ours). */
int prefixes_ours(const struct prefixes *p, const struct rw_addr *a);
/* The range (neighbourhood) of a: its alloc block when there is one, else its /24
 * (IPv4) or /48 (IPv6). */
void prefixes_range(const struct prefixes *p, const struct rw_addr *a, struct rw_cidr *out);
/* The ASN of a, or 0 when a is not ours. */
uint32_t prefixes_asn(const struct prefixes *p, const struct rw_addr *a);

#endif
