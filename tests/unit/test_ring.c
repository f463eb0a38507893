/*
 * test_ring.c — the capture's hand-over ring: items come out in the order they went in,
 * across the end of the array (wraparound); a full ring refuses at once and counts what it
 * refused; and two real threads, a producer that never waits and a consumer that drains in
 * slices, lose nothing but what was counted lost and never reorder (run under TSan by
 * `make test` too, which then checks the atomics' ordering as well).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ring.h"

struct item {
	uint64_t seq;
	uint64_t check;		/* seq * a constant: a torn copy would not match */
	unsigned char pad[48];
};

#define CHECK(s) ((s) * 0x9e3779b97f4a7c15ull)

static struct item
mk(uint64_t s)
{
	struct item it;

	memset(&it, 0, sizeof it);
	it.seq = s;
	it.check = CHECK(s);
	memset(it.pad, (int)(s & 0xff), sizeof it.pad);
	return it;
}

static void
test_capacity(void **state)
{
	struct ring *r;

	(void)state;
	assert_null(ring_new(0, 8));
	assert_null(ring_new(8, 0));
	r = ring_new(5, sizeof(struct item));
	assert_non_null(r);
	assert_int_equal(ring_capacity(r), 8);	/* rounded up to a power of two */
	ring_free(r);
	ring_free(NULL);
}

/* A full ring: the producer gets -1 at once, every refusal counted, nothing overwritten. */
static void
test_full_counts(void **state)
{
	struct ring *r = ring_new(8, sizeof(struct item));
	struct item it;
	const struct item *p;
	size_t n, i;
	uint64_t s;

	(void)state;
	for (s = 0; s < 8; s++) {
		it = mk(s);
		assert_int_equal(ring_push(r, &it), 0);
	}
	for (s = 8; s < 20; s++) {
		it = mk(s);
		assert_int_equal(ring_push(r, &it), -1);
	}
	assert_int_equal(ring_lost(r), 12);
	assert_int_equal(ring_pushed(r), 8);
	assert_int_equal(ring_backlog(r), 8);
	p = ring_peek(r, 100, &n);
	assert_int_equal(n, 8);
	for (i = 0; i < n; i++)
		assert_int_equal(p[i].seq, i);	/* the first 8, not the last */
	ring_release(r, n);
	assert_int_equal(ring_backlog(r), 0);
	assert_null(ring_peek(r, 100, &n));
	assert_int_equal(n, 0);
	it = mk(99);
	assert_int_equal(ring_push(r, &it), 0);	/* room again */
	ring_free(r);
}

/* Order across the end of the array, in uneven slices; peek never crosses the end. */
static void
test_wraparound(void **state)
{
	struct ring *r = ring_new(8, sizeof(struct item));
	struct item it;
	const struct item *p;
	uint64_t in = 0, out = 0;
	size_t n, i, k, round;

	(void)state;
	for (round = 0; round < 50; round++) {
		for (k = 0; k < 1 + round % 7; k++) {
			it = mk(in);
			if (ring_push(r, &it) == 0)
				in++;
		}
		p = ring_peek(r, 1 + round % 3, &n);
		assert_true(n <= 1 + round % 3);
		for (i = 0; i < n; i++) {
			assert_int_equal(p[i].seq, out);
			assert_int_equal(p[i].check, CHECK(out));
			out++;
		}
		ring_release(r, n);
	}
	while ((p = ring_peek(r, 8, &n)) != NULL) {
		for (i = 0; i < n; i++)
			assert_int_equal(p[i].seq, out++);
		ring_release(r, n);
	}
	assert_int_equal(out, in);
	assert_true(in > 16);	/* went round the array more than twice */
	assert_int_equal(ring_lost(r) + ring_pushed(r), in + ring_lost(r));
	ring_free(r);
}

#define N_ITEMS 2000000ull

struct shared {
	struct ring *r;
	uint64_t refused;	/* the producer's own count of -1 */
	int64_t longest_ns;	/* the producer's longest single push */
};

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *
producer(void *arg)
{
	struct shared *sh = arg;
	struct item it;
	uint64_t s;
	int64_t t0, dt;

	for (s = 0; s < N_ITEMS; s++) {
		it = mk(s);
		t0 = now_ns();
		if (ring_push(sh->r, &it) == -1)
			sh->refused++;
		dt = now_ns() - t0;
		if (dt > sh->longest_ns)
			sh->longest_ns = dt;
	}
	return NULL;
}

/* Two threads: the consumer sees a strictly increasing sequence, every item intact, and
 * what it got plus what was refused is what was offered. */
static void
test_two_threads(void **state)
{
	struct shared sh = { ring_new(1024, sizeof(struct item)), 0, 0 };
	pthread_t t;
	const struct item *p;
	uint64_t got = 0, last = 0;
	size_t n, i;
	int first = 1, done = 0;

	(void)state;
	assert_non_null(sh.r);
	assert_int_equal(pthread_create(&t, NULL, producer, &sh), 0);
	while (!done) {
		/* the producer is done when everything offered is accounted for */
		done = ring_pushed(sh.r) + ring_lost(sh.r) == N_ITEMS;
		while ((p = ring_peek(sh.r, 97, &n)) != NULL) {
			for (i = 0; i < n; i++) {
				assert_int_equal(p[i].check, CHECK(p[i].seq));
				assert_int_equal(p[i].pad[47], p[i].seq & 0xff);
				if (!first)
					assert_true(p[i].seq > last);
				first = 0;
				last = p[i].seq;
			}
			got += n;
			ring_release(sh.r, n);
		}
	}
	pthread_join(t, NULL);
	assert_int_equal(got + sh.refused, N_ITEMS);
	assert_int_equal(ring_lost(sh.r), sh.refused);
	assert_int_equal(ring_pushed(sh.r), got);
	print_message("two threads: %llu items, %llu through, %llu refused, longest push %lld ns\n",
	    N_ITEMS, (unsigned long long)got, (unsigned long long)sh.refused,
	    (long long)sh.longest_ns);
	ring_free(sh.r);
}

/* No consumer at all: the producer still never waits; all but the capacity is lost. */
static void
test_never_blocks(void **state)
{
	struct shared sh = { ring_new(4096, sizeof(struct item)), 0, 0 };
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, producer, &sh), 0);
	pthread_join(t, NULL);	/* returns: nothing waited for a consumer */
	assert_int_equal(ring_pushed(sh.r), 4096);
	assert_int_equal(sh.refused, N_ITEMS - 4096);
	assert_int_equal(ring_lost(sh.r), N_ITEMS - 4096);
	ring_free(sh.r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_full_counts),
		cmocka_unit_test(test_wraparound),
		cmocka_unit_test(test_two_threads),
		cmocka_unit_test(test_never_blocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
