/*
 * addr.h — one address type for IPv4 and IPv6. An IPv4 address is held as its IPv4-mapped
 * IPv6 form (::ffff:a.b.c.d), so every table keys on 16 bytes and one longest-prefix
 * structure serves both families. Prefix lengths are likewise kept in the mapped space
 * (an IPv4 /24 is plen 120); parse and format convert at the edges.
 */
#ifndef RW_ADDR_H
#define RW_ADDR_H

#include <stddef.h>
#include <stdint.h>

struct rw_addr {
	uint8_t a[16];
};

struct rw_cidr {
	struct rw_addr net;	/* host bits cleared */
	unsigned plen;		/* 0..128 in mapped space */
};

#define ADDR_STRLEN 46		/* INET6_ADDRSTRLEN */
#define CIDR_STRLEN 50

/* Builds the mapped form of a host-order-free IPv4 address given as 4 network-order bytes. */
void addr_from_v4(struct rw_addr *out, const uint8_t v4[4]);
void addr_from_v6(struct rw_addr *out, const uint8_t v6[16]);
/* 1 when the address is IPv4 (mapped). */
int addr_is_v4(const struct rw_addr *a);
/* Parses a textual IPv4 or IPv6 address; 0 on success, -1 on bad text. */
int addr_parse(const char *s, struct rw_addr *out);
/* Writes the usual textual form (dotted quad for IPv4) into buf (ADDR_STRLEN bytes). */
const char *addr_format(const struct rw_addr *a, char *buf, size_t len);
int addr_cmp(const struct rw_addr *x, const struct rw_addr *y);
/* Clears the bits past plen (mapped space). */
void addr_mask(struct rw_addr *a, unsigned plen);

/* Parses "a.b.c.d/n", "x::/n" or a bare address (a host prefix). With strict, host bits set
 * past the length are an error; without, they are cleared. 0 on success, -1 on bad text. */
int cidr_parse(const char *s, struct rw_cidr *out, int strict);
const char *cidr_format(const struct rw_cidr *c, char *buf, size_t len);
/* The prefix length as the user writes it (IPv4: 0..32). */
unsigned cidr_user_plen(const struct rw_cidr *c);
/* 1 when a lies inside c. */
int cidr_contains(const struct rw_cidr *c, const struct rw_addr *a);

/* The process-wide secret every hash table of ours mixes in (addresses, ids, listing keys),
 * so that nobody can choose addresses (an IPv6 /64 offers plenty) that fall into one run of
 * a linear-probing table and make each lookup O(n). Set once at start, before the first
 * table is built; 0 (the tests' default) until then. Read-only everywhere else. */
extern uint64_t addr_hash_key;
/* Draws addr_hash_key from getrandom(). -1 with a message in err when it cannot. */
int addr_hash_init(char *err, size_t errlen);
/* Sets addr_hash_key: for tests and fuzzing only, before any table is built. */
void addr_hash_set_key(uint64_t key);

/* A 32-bit hash of an address, seeded so several keys can be combined, keyed with
 * addr_hash_key; inline because every packet hashes two addresses. */
static inline uint32_t
addr_hash(const struct rw_addr *a, uint32_t seed)
{
	uint64_t x = addr_hash_key ^ seed, w;
	unsigned i;

	for (i = 0; i < 16; i += 8) {
		__builtin_memcpy(&w, a->a + i, 8);
		x = (x ^ w) * 0x9e3779b97f4a7c15ULL;
		x ^= x >> 32;
	}
	x *= 0xd6e8feb86659fd93ULL;
	return (uint32_t)(x >> 32);
}

#endif
