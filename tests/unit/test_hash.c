/*
 * test_hash.c — the process-wide hash key (monitor/addr.h, addr_hash_key): addresses chosen
 * to fall into one run of a table under one key spread out under another, so nobody who does
 * not know the key can line them up; the same addresses land in different slots under two
 * keys; and the tables keyed by addresses (traffic, flows) still find exactly what they hold.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"
#include "traffic.h"

#define SLOTS	1024u
#define N	4096

/* The nth address of 2001:db8:1:2::/64, the part a customer with a /64 may choose. */
static void
v6(struct rw_addr *a, uint32_t n)
{
	static const uint8_t net[8] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2 };
	uint8_t b[16];

	memcpy(b, net, 8);
	memset(b + 8, 0, 4);
	b[12] = (uint8_t)(n >> 24), b[13] = (uint8_t)(n >> 16);
	b[14] = (uint8_t)(n >> 8), b[15] = (uint8_t)n;
	addr_from_v6(a, b);
}

/* Addresses picked, knowing key 1, to land in slot 0 of a 1024-slot table: under key 2 they
 * are scattered like any others. */
static void
test_chosen_addresses_scatter(void **state)
{
	static uint32_t chosen[64];
	static unsigned count[SLOTS];
	struct rw_addr a;
	uint32_t n, k = 0;
	unsigned i, most = 0;

	(void)state;
	addr_hash_set_key(1);
	for (n = 0; k < 64; n++) {
		v6(&a, n);
		if ((addr_hash(&a, 0x5eed) & (SLOTS - 1)) == 0)
			chosen[k++] = n;
	}
	addr_hash_set_key(2);
	for (i = 0; i < 64; i++) {
		v6(&a, chosen[i]);
		count[addr_hash(&a, 0x5eed) & (SLOTS - 1)]++;
	}
	for (i = 0; i < SLOTS; i++)
		if (count[i] > most)
			most = count[i];
	assert_true(most <= 4);		/* 64 into 1024 slots: a few share at most */
	assert_true(count[0] <= 4);
	addr_hash_set_key(0);
}

/* The same addresses in different slots under two keys. */
static void
test_keys_move_slots(void **state)
{
	struct rw_addr a;
	uint32_t n, h1, h2, differ = 0;

	(void)state;
	for (n = 0; n < N; n++) {
		v6(&a, n);
		addr_hash_set_key(0x0123456789abcdefULL);
		h1 = addr_hash(&a, 7) & (SLOTS - 1);
		addr_hash_set_key(0xfedcba9876543210ULL);
		h2 = addr_hash(&a, 7) & (SLOTS - 1);
		differ += h1 != h2;
	}
	assert_true(differ > N * 9 / 10);
	addr_hash_set_key(0);
}

/* Under any key, a table keyed by addresses finds exactly the record of each address. */
static void
test_lookups_exact(void **state)
{
	static const uint64_t keys[] = { 0, 1, 0x9e3779b97f4a7c15ULL, UINT64_MAX };
	struct traffic *t;
	struct traffic_ip *ip;
	struct rw_addr a;
	uint32_t n;
	size_t k;
	int created;

	(void)state;
	for (k = 0; k < sizeof keys / sizeof keys[0]; k++) {
		addr_hash_set_key(keys[k]);
		assert_non_null(t = traffic_new(N, 0));
		for (n = 0; n < N; n++) {
			v6(&a, n * 7919);
			assert_non_null(ip = traffic_add(t, &a, &created));
			assert_true(created);
			ip->syn = n;
		}
		for (n = 0; n < N; n++) {
			v6(&a, n * 7919);
			assert_non_null(ip = traffic_get(t, &a));
			assert_int_equal(ip->syn, n);
			assert_memory_equal(ip->addr.a, a.a, 16);
			v6(&a, n * 7919 + 1);	/* never added */
			assert_null(traffic_get(t, &a));
		}
		assert_int_equal(traffic_count(t), N);
		traffic_free(t);
	}
	addr_hash_set_key(0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chosen_addresses_scatter),
		cmocka_unit_test(test_keys_move_slots),
		cmocka_unit_test(test_lookups_exact),
	};
	return cmocka_run_group_tests_name("hash", tests, NULL, NULL);
}
