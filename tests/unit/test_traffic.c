/*
 * test_traffic.c — the capture's per-IP table under a flood: it turns sources away only
 * until the minute's traffic_evict makes room, forgets spoofable sources (no completed
 * handshake) before real senders and the idlest of those first, reuses forgotten records,
 * and keeps its index right (a forgotten address is not found, a survivor still is).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "traffic.h"
#include "testaddr.h"

static struct rw_addr
nth(unsigned i)
{
	char s[32];

	snprintf(s, sizeof s, "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
	return A(s);
}

struct forgot {
	size_t n;
	int bad;		/* the callback saw a record already forgotten */
};

static void
on_forget(void *arg, size_t i, const struct traffic_ip *ip)
{
	struct forgot *f = arg;

	(void)i;
	if (traffic_is_free(ip))
		f->bad = 1;
	f->n++;
}

/* 100 slots: 60 spoofed SYN-only sources (some old, some new), 40 real senders of
 * different idleness; a refused newcomer, then the minute's eviction down to 75. */
static void
test_flood_then_eviction(void **state)
{
	struct traffic *t = traffic_new(100, 2);
	struct forgot f = { 0 };
	struct rw_addr late = A("192.0.2.99");
	int created;
	unsigned i;

	(void)state;
	assert_non_null(t);
	for (i = 0; i < 100; i++) {
		struct rw_addr a = nth(i);
		struct traffic_ip *ip = traffic_add(t, &a, &created);

		assert_non_null(ip);
		assert_int_equal(created, 1);
		if (i < 40) {		/* real: idle 40-i minutes as of t=10000 */
			ip->sessions = 1;
			ip->last_seen = 10000 - (40 - i) * 60;
			assert_int_equal(distinct_add(&ip->dst, 1000 + i), 0);
			assert_int_equal(distinct_add(&ip->dst, 2000 + i), 0);
			traffic_cite(t, ip, 1);
		} else {		/* spoofed SYNs, seen recently */
			ip->syn = 1;
			ip->last_seen = 9990;
		}
	}
	assert_null(traffic_add(t, &late, &created));
	assert_int_equal(traffic_dropped(t), 1);

	/* the table is full and turned one away: it forgets 25, all of them spoofed */
	assert_int_equal(traffic_evict(t, 10000, on_forget, &f), 25);
	assert_int_equal(f.n, 25);
	assert_false(f.bad);
	assert_int_equal(traffic_live(t), 75);
	assert_int_equal(traffic_evicted(t), 25);
	for (i = 0; i < 40; i++) {
		struct rw_addr a = nth(i);

		assert_non_null(traffic_get(t, &a));
	}
	/* the newcomer gets a forgotten record, zeroed */
	struct traffic_ip *ip = traffic_add(t, &late, &created);
	assert_non_null(ip);
	assert_int_equal(created, 1);
	assert_int_equal(ip->syn, 0);
	assert_int_equal(ip->customer, -1);
	assert_null(ip->cites);
	assert_int_equal(distinct_count(&ip->dst), 0);
	assert_int_equal(traffic_count(t), 100);	/* no new slot was made */
	assert_true(traffic_get(t, &late) == ip);

	/* below the high-water mark and nothing refused: nothing goes */
	f.n = 0;
	assert_int_equal(traffic_evict(t, 10000, on_forget, &f), 0);
	traffic_free(t);
}

/* Among real senders only, the longest idle go first. */
static void
test_idlest_first(void **state)
{
	struct traffic *t = traffic_new(8, 0);
	int created;
	unsigned i;

	(void)state;
	for (i = 0; i < 8; i++) {
		struct rw_addr a = nth(i);
		struct traffic_ip *ip = traffic_add(t, &a, &created);

		ip->sessions = 3;
		ip->last_seen = 100000 - i * 600;	/* i = 7 is the idlest */
	}
	/* 8 > 7 (high water): down to 6, the two idlest */
	assert_int_equal(traffic_evict(t, 100000, NULL, NULL), 2);
	for (i = 0; i < 8; i++) {
		struct rw_addr a = nth(i);

		if (i >= 6)
			assert_null(traffic_get(t, &a));
		else
			assert_non_null(traffic_get(t, &a));
	}
	traffic_free(t);
}

/* Five floods in a row: records are reused, never leaked (ASan), the index
 * finds every survivor. */
static void
test_flood_reuse(void **state)
{
	struct traffic *t = traffic_new(20000, 1);
	int created;
	unsigned i, round;

	(void)state;
	for (round = 0; round < 5; round++) {
		for (i = 0; i < 20000; i++) {
			struct rw_addr a = nth(round * 20000 + i);
			struct traffic_ip *ip = traffic_add(t, &a, &created);

			if (ip == NULL)
				continue;
			ip->last_seen = round * 60 + 1;
			ip->syn = 1;
			if (i % 1000 == 0)
				assert_int_equal(distinct_add(&ip->dst, i + 1), 0);
		}
		assert_true(traffic_evict(t, round * 60 + 2, NULL, NULL) > 0);
		assert_int_equal(traffic_live(t), 15000);
	}
	assert_int_equal(traffic_count(t), 20000);
	assert_true(traffic_dropped(t) > 0);
	traffic_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flood_then_eviction),
		cmocka_unit_test(test_idlest_first),
		cmocka_unit_test(test_flood_reuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
