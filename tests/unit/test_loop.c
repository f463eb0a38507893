/*
 * test_loop.c — the event loop: timers fire in time order and not early, a descriptor's
 * callback runs when it is readable, a signal becomes an ordinary callback in the loop,
 * sources get their pollfds back, and callbacks may remove what is being dispatched; each
 * turn's work (not its wait) is measured: a slow turn is counted with its slowest callback.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "loop.h"

static char order[16];
static size_t norder;
static struct loop *L;

static void
mark(void *arg)
{
	order[norder++] = *(const char *)arg;
}

static void
test_timers(void **state)
{
	static const char a = 'a', b = 'b', c = 'c';
	int64_t start = loop_now_ms();
	uint64_t id;

	(void)state;
	L = loop_new();
	norder = 0;
	loop_timer(L, 60, mark, (void *)&c);
	loop_timer(L, 20, mark, (void *)&a);
	id = loop_timer(L, 40, mark, (void *)&b);
	loop_timer_del(L, id);
	while (norder < 2)
		assert_int_equal(loop_once(L, 1000), 0);
	assert_memory_equal(order, "ac", 2);
	assert_true(loop_now_ms() - start >= 60);
	loop_free(L);
}

static int readable;

static void
on_read(void *arg, int fd, short revents)
{
	char buf[8];

	(void)arg;
	assert_true(revents & POLLIN);
	assert_int_equal(read(fd, buf, sizeof buf), 3);
	readable++;
	loop_fd_del(L, fd);	/* removing itself from inside its callback */
}

static int got_signal;

static void
on_sig(void *arg)
{
	(void)arg;
	got_signal++;
}

static void
test_fd_and_signal(void **state)
{
	int p[2];

	(void)state;
	L = loop_new();
	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_fd(L, p[0], POLLIN, on_read, NULL), 0);
	assert_int_equal(write(p[1], "abc", 3), 3);
	assert_int_equal(loop_once(L, 1000), 0);
	assert_int_equal(readable, 1);
	assert_int_equal(write(p[1], "abc", 3), 3);
	assert_int_equal(loop_once(L, 50), 0);	/* no longer watched */
	assert_int_equal(readable, 1);
	assert_int_equal(loop_signal(L, SIGUSR1, on_sig, NULL), 0);
	raise(SIGUSR1);
	assert_int_equal(got_signal, 0);	/* not in the handler: in the loop */
	assert_int_equal(loop_once(L, 1000), 0);
	assert_int_equal(got_signal, 1);
	close(p[0]);
	close(p[1]);
	loop_free(L);
}

struct src {
	int fd;
	int dispatched, saw_in;
};

static int
src_fill(void *arg, struct pollfd *fds, int max)
{
	struct src *s = arg;

	assert_true(max >= 1);
	fds[0] = (struct pollfd){ s->fd, POLLIN, 0 };
	return 1;
}

static void
src_dispatch(void *arg, const struct pollfd *fds, int n)
{
	struct src *s = arg;

	assert_int_equal(n, 1);
	s->dispatched++;
	if (fds[0].revents & POLLIN)
		s->saw_in++;
}

static int
src_timeout(void *arg)
{
	(void)arg;
	return 30;
}

static void
test_source(void **state)
{
	int p[2];
	struct src s = { 0, 0, 0 };
	struct loop_source ls = { src_fill, src_dispatch, src_timeout, &s };
	int64_t start;

	(void)state;
	L = loop_new();
	assert_int_equal(pipe(p), 0);
	s.fd = p[0];
	assert_int_equal(loop_source(L, &ls), 0);
	start = loop_now_ms();
	assert_int_equal(loop_once(L, -1), 0);	/* the source's timeout bounds the wait */
	assert_true(loop_now_ms() - start < 1000);
	assert_int_equal(s.dispatched, 1);
	assert_int_equal(s.saw_in, 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(loop_once(L, -1), 0);
	assert_int_equal(s.saw_in, 1);
	close(p[0]);
	close(p[1]);
	loop_free(L);
}

static void
slow_cb(void *arg)
{
	(void)arg;
	usleep(120 * 1000);
}

static void
quick_cb(void *arg)
{
	(void)arg;
}

/* Nine quick turns after waits of 30 ms, one of 120 ms of work: the histogram holds ten
 * turns, the wait counts for none of them, the slow one is counted and named. */
static void
test_turn_stats(void **state)
{
	struct loop_stats st;
	int i;

	(void)state;
	L = loop_new();
	for (i = 0; i < 9; i++) {
		loop_timer(L, 30, quick_cb, NULL);
		assert_int_equal(loop_once(L, 1000), 0);
	}
	loop_timer(L, 0, slow_cb, NULL);
	assert_int_equal(loop_once(L, 1000), 0);
	loop_get_stats(L, &st);
	assert_int_equal(st.turns_us.count, 10);
	assert_int_equal(st.slow_turns, 1);
	assert_true(st.turns_us.max >= 120000 && st.turns_us.max < 1000000);
	assert_true(hist_quantile(&st.turns_us, 0.5) < 10000);	/* the 30 ms waits: not work */
	assert_true(hist_quantile(&st.turns_us, 0.99) >= 120000);
	assert_true(st.slowest_fn_us >= 120000);
	assert_true(strstr(st.slowest_fn, "test_loop+0x") != NULL);
	print_message("slowest: %s, %llu us\n", st.slowest_fn,
	    (unsigned long long)st.slowest_fn_us);
	loop_free(L);
}

/* The histogram the loop keeps: a quantile is never below the truth and at most 12.5%
 * above it; the maximum is exact. */
static void
test_hist(void **state)
{
	struct hist h;
	uint64_t v, q;

	(void)state;
	memset(&h, 0, sizeof h);
	assert_int_equal(hist_quantile(&h, 0.5), 0);
	for (v = 1; v <= 100000; v++)
		hist_add(&h, v);
	q = hist_quantile(&h, 0.5);
	assert_true(q >= 50000 && q <= 50000 * 1.125);
	q = hist_quantile(&h, 0.99);
	assert_true(q >= 99000 && q <= 100000);		/* capped at the maximum */
	assert_int_equal(h.max, 100000);
	assert_int_equal(h.count, 100000);
	memset(&h, 0, sizeof h);
	hist_add(&h, 7);
	hist_add(&h, UINT64_MAX);
	assert_int_equal(hist_quantile(&h, 0.5), 7);	/* exact below 16 */
	assert_true(hist_quantile(&h, 1.0) == UINT64_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers),
		cmocka_unit_test(test_fd_and_signal),
		cmocka_unit_test(test_source),
		cmocka_unit_test(test_turn_stats),
		cmocka_unit_test(test_hist),
	};
	return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
