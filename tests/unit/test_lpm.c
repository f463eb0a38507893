/*
 * test_lpm.c — unit tests of lpm: nesting in both families, interval boundaries, the ends
 * of the address space, duplicates, lpm_exact before and after build, and a randomized
 * comparison against a brute-force scan (fixed seed, so a failure replays).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"
#include "lpm.h"
#include "testaddr.h"

static struct rw_cidr
C(const char *s)
{
	struct rw_cidr c;

	if (cidr_parse(s, &c, 1) == -1)
		fail_msg("bad test CIDR %s", s);
	return c;
}

/* The value found for s, or -1 when none. */
static long
look(const struct lpm *t, const char *s)
{
	struct rw_addr a = A(s);
	uint32_t v;

	return lpm_lookup(t, &a, &v) ? (long)v : -1;
}

static void
add(struct lpm *t, const char *s, uint32_t v)
{
	struct rw_cidr c = C(s);

	assert_int_equal(lpm_add(t, &c, v), 0);
}

static void
build(struct lpm *t)
{
	char err[256] = "";

	if (lpm_build(t, err, sizeof err) != 0)
		fail_msg("lpm_build: %s", err);
}

static void
test_empty(void **state)
{
	struct lpm *t = lpm_new();

	(void)state;
	assert_non_null(t);
	assert_int_equal(look(t, "192.0.2.1"), -1);	/* before build: nothing */
	build(t);
	assert_int_equal(lpm_count(t), 0);
	assert_int_equal(look(t, "192.0.2.1"), -1);
	assert_int_equal(look(t, "::"), -1);
	assert_int_equal(look(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), -1);
	lpm_free(t);
	lpm_free(NULL);
}

static void
test_nested_v4(void **state)
{
	struct lpm *t = lpm_new();

	(void)state;
	/* added out of order on purpose */
	add(t, "10.1.2.3/32", 4);
	add(t, "10.1.0.0/16", 1);
	add(t, "10.1.2.0/29", 3);
	add(t, "10.1.2.0/24", 2);
	add(t, "10.1.9.0/24", 5);
	build(t);
	assert_int_equal(lpm_count(t), 5);

	assert_int_equal(look(t, "10.0.255.255"), -1);	/* just below the /16 */
	assert_int_equal(look(t, "10.1.0.0"), 1);	/* first of the /16 */
	assert_int_equal(look(t, "10.1.1.255"), 1);	/* just below the /24 */
	assert_int_equal(look(t, "10.1.2.0"), 3);	/* /24 and /29 start together */
	assert_int_equal(look(t, "10.1.2.2"), 3);
	assert_int_equal(look(t, "10.1.2.3"), 4);	/* the /32 */
	assert_int_equal(look(t, "10.1.2.4"), 3);
	assert_int_equal(look(t, "10.1.2.7"), 3);	/* last of the /29 */
	assert_int_equal(look(t, "10.1.2.8"), 2);	/* just past the /29 */
	assert_int_equal(look(t, "10.1.2.255"), 2);	/* last of the /24 */
	assert_int_equal(look(t, "10.1.3.0"), 1);	/* just past the /24 */
	assert_int_equal(look(t, "10.1.8.255"), 1);
	assert_int_equal(look(t, "10.1.9.0"), 5);
	assert_int_equal(look(t, "10.1.9.255"), 5);
	assert_int_equal(look(t, "10.1.10.0"), 1);
	assert_int_equal(look(t, "10.1.255.255"), 1);	/* last of the /16 */
	assert_int_equal(look(t, "10.2.0.0"), -1);	/* just past the /16 */
	/* IPv6 neighbours of the mapped space never match an IPv4 prefix */
	assert_int_equal(look(t, "::10.1.2.3"), -1);
	assert_int_equal(look(t, "2001:db8::"), -1);
	lpm_free(t);
}

static void
test_nested_v6(void **state)
{
	struct lpm *t = lpm_new();

	(void)state;
	add(t, "2001:db8:1:2::7/128", 40);
	add(t, "2001:db8:1:2::/64", 30);
	add(t, "2001:db8:1::/48", 20);
	add(t, "2001:db8::/32", 10);
	add(t, "192.0.2.0/24", 99);
	build(t);

	assert_int_equal(look(t, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"), -1);
	assert_int_equal(look(t, "2001:db8::"), 10);
	assert_int_equal(look(t, "2001:db8:0:ffff:ffff:ffff:ffff:ffff"), 10);
	assert_int_equal(look(t, "2001:db8:1::"), 20);
	assert_int_equal(look(t, "2001:db8:1:1:ffff:ffff:ffff:ffff"), 20);
	assert_int_equal(look(t, "2001:db8:1:2::"), 30);
	assert_int_equal(look(t, "2001:db8:1:2::6"), 30);
	assert_int_equal(look(t, "2001:db8:1:2::7"), 40);
	assert_int_equal(look(t, "2001:db8:1:2::8"), 30);
	assert_int_equal(look(t, "2001:db8:1:2:ffff:ffff:ffff:ffff"), 30);
	assert_int_equal(look(t, "2001:db8:1:3::"), 20);
	assert_int_equal(look(t, "2001:db8:1:ffff:ffff:ffff:ffff:ffff"), 20);
	assert_int_equal(look(t, "2001:db8:2::"), 10);
	assert_int_equal(look(t, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), 10);
	assert_int_equal(look(t, "2001:db9::"), -1);
	assert_int_equal(look(t, "192.0.2.77"), 99);
	assert_int_equal(look(t, "::ffff:192.0.2.77"), 99);	/* the same, written mapped */
	lpm_free(t);
}

/* Prefixes touching both ends of the 128-bit space, and the default route. */
static void
test_space_ends(void **state)
{
	struct lpm *t = lpm_new();
	struct rw_cidr all = { .plen = 0 };

	(void)state;
	assert_int_equal(lpm_add(t, &all, 7), 0);	/* ::/0 */
	add(t, "::/128", 1);
	add(t, "ffff::/16", 2);
	add(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 3);
	add(t, "0.0.0.0/0", 4);		/* all of IPv4: ::ffff:0:0/96 */
	build(t);
	assert_int_equal(look(t, "::"), 1);
	assert_int_equal(look(t, "::1"), 7);
	assert_int_equal(look(t, "::ffff:0:0"), 4);
	assert_int_equal(look(t, "0.0.0.0"), 4);
	assert_int_equal(look(t, "255.255.255.255"), 4);
	assert_int_equal(look(t, "::1:0:0:0"), 7);	/* just past the mapped block */
	assert_int_equal(look(t, "::fffe:ffff:ffff"), 7);	/* just before it */
	assert_int_equal(look(t, "fffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 7);
	assert_int_equal(look(t, "ffff::"), 2);
	assert_int_equal(look(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"), 2);
	assert_int_equal(look(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 3);
	lpm_free(t);

	/* a table holding only the last address, and one holding only the first */
	t = lpm_new();
	add(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 3);
	build(t);
	assert_int_equal(look(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 3);
	assert_int_equal(look(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"), -1);
	assert_int_equal(look(t, "::"), -1);
	lpm_free(t);
	t = lpm_new();
	add(t, "::/128", 1);
	build(t);
	assert_int_equal(look(t, "::"), 1);
	assert_int_equal(look(t, "::1"), -1);
	lpm_free(t);
}

static void
test_duplicate(void **state)
{
	struct lpm *t = lpm_new();
	struct rw_cidr c;
	uint32_t a, b;
	char err[256] = "";

	(void)state;
	add(t, "192.0.2.0/24", 1);
	add(t, "198.51.100.0/24", 2);
	add(t, "198.51.100.0/25", 3);
	add(t, "2001:db8::/32", 4);
	add(t, "192.0.2.0/24", 5);
	add(t, "2001:db8::/32", 6);	/* a later duplicate: the first one is reported */
	assert_int_equal(lpm_duplicate(t, &c, &a, &b), 0);
	assert_int_equal(lpm_build(t, err, sizeof err), -1);
	assert_string_equal(err, "duplicate prefix 192.0.2.0/24 (values 1 and 5)");
	assert_int_equal(lpm_duplicate(t, &c, &a, &b), 1);
	assert_int_equal(a, 1);
	assert_int_equal(b, 5);
	assert_int_equal(c.plen, 120);
	assert_string_equal(cidr_format(&c, err, sizeof err), "192.0.2.0/24");
	assert_int_equal(look(t, "192.0.2.1"), -1);	/* not built */
	lpm_free(t);

	/* same prefix, same value is still a duplicate */
	t = lpm_new();
	add(t, "10.0.0.0/8", 3);
	add(t, "10.0.0.0/8", 3);
	assert_int_equal(lpm_build(t, err, sizeof err), -1);
	assert_string_equal(err, "duplicate prefix 10.0.0.0/8 (values 3 and 3)");
	lpm_free(t);
}

static void
test_exact_and_rules(void **state)
{
	struct lpm *t = lpm_new();
	struct rw_cidr c;
	uint32_t v = 0;

	(void)state;
	add(t, "192.0.2.0/24", 1);
	add(t, "192.0.2.0/25", 2);
	add(t, "2001:db8::/32", 3);
	/* host bits are cleared on add */
	assert_int_equal(cidr_parse("203.0.113.77/24", &c, 0), 0);
	c.net = A("203.0.113.77");
	assert_int_equal(lpm_add(t, &c, 4), 0);
	c = C("198.51.100.0/24");
	assert_int_equal(lpm_add(t, &c, UINT32_MAX), -1);	/* reserved value */
	c.plen = 129;
	assert_int_equal(lpm_add(t, &c, 5), -1);

	c = C("192.0.2.0/25");
	assert_int_equal(lpm_exact(t, &c, &v), 1);		/* before build */
	assert_int_equal(v, 2);
	c = C("192.0.2.0/26");
	assert_int_equal(lpm_exact(t, &c, &v), 0);
	c = C("203.0.113.0/24");
	assert_int_equal(lpm_exact(t, &c, &v), 1);
	assert_int_equal(v, 4);
	build(t);
	assert_int_equal(lpm_count(t), 4);
	c = C("192.0.2.0/25");
	assert_int_equal(lpm_exact(t, &c, &v), 1);		/* after build */
	assert_int_equal(v, 2);
	c = C("192.0.2.0/24");
	assert_int_equal(lpm_exact(t, &c, &v), 1);
	assert_int_equal(v, 1);
	c = C("2001:db8::/32");
	assert_int_equal(lpm_exact(t, &c, &v), 1);
	assert_int_equal(v, 3);
	c = C("2001:db8::/33");
	assert_int_equal(lpm_exact(t, &c, &v), 0);
	c = C("192.0.2.128/25");
	assert_int_equal(lpm_exact(t, &c, &v), 0);
	assert_int_equal(look(t, "203.0.113.255"), 4);
	assert_int_equal(look(t, "192.0.2.127"), 2);
	assert_int_equal(look(t, "192.0.2.128"), 1);

	c = C("198.51.100.0/24");
	assert_int_equal(lpm_add(t, &c, 9), -1);		/* frozen */
	assert_int_equal(lpm_count(t), 4);
	lpm_free(t);
}

/* --- randomized comparison against a linear scan --- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	/* xorshift64*: fixed seed, same sequence everywhere */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

/* A random prefix in a few crowded regions, so prefixes nest and touch often. */
static void
random_prefix(struct rw_cidr *c)
{
	uint8_t v4[4];
	uint64_t r = rnd();
	int i;

	if (r % 3 != 0) {
		/* IPv4 inside 10.0.0.0/14 or 192.0.2.0/24: /8../32 */
		v4[0] = (r >> 8) & 1 ? 10 : 192;
		v4[1] = v4[0] == 10 ? (uint8_t)((r >> 16) & 3) : 0;
		v4[2] = v4[0] == 10 ? (uint8_t)(r >> 24) : 2;
		v4[3] = (uint8_t)(r >> 32);
		addr_from_v4(&c->net, v4);
		c->plen = 96 + 8 + (unsigned)((r >> 40) % 25);
	} else {
		/* IPv6 inside 2001:db8::/32 and around the top of the space */
		for (i = 0; i < 16; i++)
			c->net.a[i] = (uint8_t)rnd();
		if ((r >> 8) & 1) {
			c->net.a[0] = 0x20; c->net.a[1] = 0x01;
			c->net.a[2] = 0x0d; c->net.a[3] = 0xb8;
			c->net.a[4] &= 0x03;
			c->plen = 16 + (unsigned)((r >> 16) % 113);
		} else {
			c->net.a[0] = 0xff;
			c->net.a[1] |= 0xfe;
			c->plen = 8 + (unsigned)((r >> 16) % 121);
		}
	}
	addr_mask(&c->net, c->plen);
}

/* A random address near or inside p: start, end, one either side, or random host bits. */
static void
random_probe(const struct rw_cidr *p, struct rw_addr *a)
{
	uint64_t r = rnd();
	int i, carry;

	*a = p->net;
	switch (r % 5) {
	case 0:		/* the start */
		break;
	case 1:		/* one before the start */
		for (i = 15; i >= 0; i--)
			if (a->a[i]-- != 0)
				break;
		break;
	case 2:		/* the last address, and maybe one past it */
	case 3:
		for (i = 0; i < 16; i++)
			if ((unsigned)i * 8 + 8 > p->plen)
				a->a[i] |= (uint8_t)(i * 8 >= (int)p->plen ?
				    0xff : 0xff >> (p->plen - (unsigned)i * 8));
		if (r % 5 == 3) {
			carry = 1;
			for (i = 15; i >= 0 && carry; i--)
				carry = ++a->a[i] == 0;
		}
		break;
	default:	/* random host bits */
		for (i = 0; i < 16; i++)
			if ((unsigned)i * 8 + 8 > p->plen)
				a->a[i] |= (uint8_t)rnd() & (uint8_t)(i * 8 >= (int)p->plen ?
				    0xff : 0xff >> (p->plen - (unsigned)i * 8));
	}
}

/* The brute force keeps each prefix as two halves and their network masks. */
struct scanpfx {
	uint64_t hi, lo, mhi, mlo;
	unsigned plen;
};

static uint64_t
be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void
scan_prep(const struct rw_cidr *c, struct scanpfx *s)
{
	s->hi = be64(c->net.a);
	s->lo = be64(c->net.a + 8);
	s->plen = c->plen;
	s->mhi = c->plen == 0 ? 0 : c->plen >= 64 ? UINT64_MAX : UINT64_MAX << (64 - c->plen);
	s->mlo = c->plen <= 64 ? 0 : c->plen >= 128 ? UINT64_MAX : UINT64_MAX << (128 - c->plen);
}

/* npfx random prefixes, nlook lookups, each answer checked against the scan. */
static void
random_vs_scan(size_t npfx, size_t nlook)
{
	const size_t NPFX = npfx, NLOOK = nlook;
	struct rw_cidr *p = calloc(NPFX, sizeof *p);
	struct scanpfx *sp = calloc(NPFX, sizeof *sp);
	uint64_t hi, lo;
	struct lpm *t = lpm_new();
	struct rw_addr a;
	size_t n = 0, i, j, best;
	uint32_t v;
	int found, want;

	assert_non_null(p);
	while (n < NPFX) {
		random_prefix(&p[n]);
		if (lpm_exact(t, &p[n], &v))	/* keep prefixes unique (scan before build) */
			continue;
		assert_int_equal(lpm_add(t, &p[n], (uint32_t)n), 0);
		scan_prep(&p[n], &sp[n]);
		n++;
	}
	build(t);
	for (i = 0; i < NLOOK; i++) {
		if (i % 4 == 0) {
			for (j = 0; j < 16; j++)
				a.a[j] = (uint8_t)rnd();
			if (i % 8 == 0)
				memcpy(a.a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
		} else
			random_probe(&p[rnd() % n], &a);
		best = SIZE_MAX;
		hi = be64(a.a);
		lo = be64(a.a + 8);
		for (j = 0; j < n; j++)
			if ((hi & sp[j].mhi) == sp[j].hi && (lo & sp[j].mlo) == sp[j].lo &&
			    (best == SIZE_MAX || sp[j].plen > sp[best].plen))
				best = j;
		/* the scan itself is checked against addr.c now and then */
		if (i % 1000 == 0 && best != SIZE_MAX)
			assert_true(cidr_contains(&p[best], &a));
		want = best != SIZE_MAX;
		found = lpm_lookup(t, &a, &v);
		if (found != want || (found && v != best)) {
			char buf[ADDR_STRLEN];

			fail_msg("lookup %zu of %s: lpm says %d/%u, scan says %d/%zu", i,
			    addr_format(&a, buf, sizeof buf), found, found ? v : 0, want, best);
		}
	}
	for (i = 0; i < n; i++) {
		assert_int_equal(lpm_exact(t, &p[i], &v), 1);
		assert_int_equal(v, i);
	}
	lpm_free(t);
	free(p);
	free(sp);
}

/* Big enough for the first-level indexes (IPv4 and IPv6) to be built. */
static void
test_random_vs_scan(void **state)
{
	(void)state;
	random_vs_scan(4000, 100000);
}

/* Small: plain binary searches, no index. */
static void
test_random_small(void **state)
{
	(void)state;
	random_vs_scan(150, 50000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_nested_v4),
		cmocka_unit_test(test_nested_v6),
		cmocka_unit_test(test_space_ends),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_exact_and_rules),
		cmocka_unit_test(test_random_vs_scan),
		cmocka_unit_test(test_random_small),
	};

	return cmocka_run_group_tests_name("lpm", tests, NULL, NULL);
}
