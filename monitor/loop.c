/*
 * loop.c — poll(2) loop, timers and the signal self-pipe. Owns the self-pipe and its own
 * tables; never owns, reads or closes a watched descriptor. Signal handlers write one byte
 * and return: nothing else is async-signal-safe, so nothing else happens there.
 * Measures its own turns: the work of each (from poll's return to the next poll, callbacks
 * and sources' fill included) goes into a histogram, and a turn over LOOP_SLOW_MS is
 * logged with the callback that took the most of it, as an address in the executable
 * (`addr2line -f -e rangewatchd ADDR` names the function).
 */
#include "loop.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define MAX_SOURCES	8
#define MAX_SIGNALS	8
#define SOURCE_FDS	64

struct watch {
	int fd;
	short events;
	loop_fd_cb cb;
	void *arg;
	int dead;		/* removed during a round; compacted after it */
};

struct timer {
	uint64_t id;
	int64_t when;
	loop_cb cb;
	void *arg;
};

struct sigwatch {
	int sig;
	loop_cb cb;
	void *arg;
	volatile sig_atomic_t pending;
};

struct loop {
	struct watch *w;
	size_t nw, capw;
	struct timer *t;	/* unsorted; a daemon has a handful */
	size_t nt, capt;
	uint64_t next_id;
	struct loop_source src[MAX_SOURCES];
	size_t nsrc;
	struct sigwatch sigs[MAX_SIGNALS];
	size_t nsig;
	int pipe[2];
	int stop;
	struct pollfd *pfd;
	size_t cappfd;
	/* the turn being measured: its slowest callback so far */
	const void *turn_fn;
	int64_t turn_fn_ns;
	struct loop_stats st;
};

/* The signal handlers need to find the loop: there is one per process. */
static struct loop *the_loop;

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Where fn is: its offset in the object that holds it (addr2line takes that for a PIE),
 * written into buf. */
static void
describe(const void *fn, char *buf, size_t len)
{
	Dl_info di;

	if (fn != NULL && dladdr(fn, &di) != 0 && di.dli_fname != NULL) {
		const char *base = strrchr(di.dli_fname, '/');

		snprintf(buf, len, "%s+0x%lx%s%s", base ? base + 1 : di.dli_fname,
		    (unsigned long)((const char *)fn - (const char *)di.dli_fbase),
		    di.dli_sname ? " " : "", di.dli_sname ? di.dli_sname : "");
	} else
		snprintf(buf, len, "%p", fn);
}

/* Times one callback of the turn (fn identifies it), keeping the turn's slowest. */
#define TIMED(l, fn, call) do {						\
	int64_t t0_ = now_ns();						\
	call;								\
	t0_ = now_ns() - t0_;						\
	if (t0_ > (l)->turn_fn_ns) {					\
		(l)->turn_fn_ns = t0_;					\
		(l)->turn_fn = (const void *)(uintptr_t)(fn);		\
	}								\
} while (0)

int64_t
loop_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct loop *
loop_new(void)
{
	struct loop *l = calloc(1, sizeof *l);

	if (l == NULL)
		return NULL;
	if (pipe2(l->pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		free(l);
		return NULL;
	}
	l->next_id = 1;
	the_loop = l;
	return l;
}

void
loop_free(struct loop *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->nsig; i++)
		signal(l->sigs[i].sig, SIG_DFL);
	close(l->pipe[0]);
	close(l->pipe[1]);
	free(l->w);
	free(l->t);
	free(l->pfd);
	if (the_loop == l)
		the_loop = NULL;
	free(l);
}

int
loop_fd(struct loop *l, int fd, short events, loop_fd_cb cb, void *arg)
{
	struct watch *nw;
	size_t i;

	for (i = 0; i < l->nw; i++)
		if (l->w[i].fd == fd && !l->w[i].dead) {
			l->w[i].events = events;
			l->w[i].cb = cb;
			l->w[i].arg = arg;
			return 0;
		}
	if (l->nw == l->capw) {
		size_t cap = l->capw ? l->capw * 2 : 16;
		if ((nw = realloc(l->w, cap * sizeof *nw)) == NULL)
			return -1;
		l->w = nw;
		l->capw = cap;
	}
	l->w[l->nw++] = (struct watch){ fd, events, cb, arg, 0 };
	return 0;
}

void
loop_fd_del(struct loop *l, int fd)
{
	size_t i;

	for (i = 0; i < l->nw; i++)
		if (l->w[i].fd == fd)
			l->w[i].dead = 1;
}

int
loop_source(struct loop *l, const struct loop_source *src)
{
	if (l->nsrc == MAX_SOURCES)
		return -1;
	l->src[l->nsrc++] = *src;
	return 0;
}

void
loop_source_del(struct loop *l, void *arg)
{
	size_t i;

	for (i = 0; i < l->nsrc; i++)
		if (l->src[i].arg == arg) {
			memmove(&l->src[i], &l->src[i + 1], (l->nsrc - i - 1) * sizeof l->src[0]);
			l->nsrc--;
			return;
		}
}

uint64_t
loop_timer(struct loop *l, int64_t ms, loop_cb cb, void *arg)
{
	struct timer *nt;

	if (l->nt == l->capt) {
		size_t cap = l->capt ? l->capt * 2 : 16;
		if ((nt = realloc(l->t, cap * sizeof *nt)) == NULL)
			return 0;
		l->t = nt;
		l->capt = cap;
	}
	l->t[l->nt] = (struct timer){ l->next_id++, loop_now_ms() + (ms > 0 ? ms : 0), cb, arg };
	return l->t[l->nt++].id;
}

void
loop_timer_del(struct loop *l, uint64_t id)
{
	size_t i;

	for (i = 0; i < l->nt; i++)
		if (l->t[i].id == id) {
			l->t[i] = l->t[--l->nt];
			return;
		}
}

static void
on_signal(int sig)
{
	int saved = errno;
	size_t i;
	char c = (char)sig;

	if (the_loop == NULL)
		return;
	for (i = 0; i < the_loop->nsig; i++)
		if (the_loop->sigs[i].sig == sig)
			the_loop->sigs[i].pending = 1;
	(void)!write(the_loop->pipe[1], &c, 1);
	errno = saved;
}

int
loop_signal(struct loop *l, int sig, loop_cb cb, void *arg)
{
	struct sigaction sa;

	if (l->nsig == MAX_SIGNALS)
		return -1;
	l->sigs[l->nsig++] = (struct sigwatch){ sig, cb, arg, 0 };
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	return sigaction(sig, &sa, NULL);
}

/* Runs the timers that are due; one added by a callback waits for the next round. */
static void
run_timers(struct loop *l)
{
	int64_t now = loop_now_ms();
	uint64_t limit = l->next_id;
	struct timer t;
	size_t i;

	for (i = 0; i < l->nt;) {
		if (l->t[i].id < limit && l->t[i].when <= now) {
			t = l->t[i];
			l->t[i] = l->t[--l->nt];
			TIMED(l, t.cb, t.cb(t.arg));
		} else
			i++;
	}
}

static int
wait_ms(struct loop *l, int max_wait_ms)
{
	int64_t now = loop_now_ms(), best = max_wait_ms < 0 ? INT64_MAX : max_wait_ms, d;
	size_t i;
	int s;

	for (i = 0; i < l->nt; i++) {
		d = l->t[i].when - now;
		if (d < best)
			best = d < 0 ? 0 : d;
	}
	for (i = 0; i < l->nsrc; i++)
		if ((s = l->src[i].timeout_ms(l->src[i].arg)) >= 0 && s < best)
			best = s;
	return best == INT64_MAX ? -1 : (int)best;
}

/* Counts a turn of work_ns; a slow one is logged with its slowest callback. */
static void
end_turn(struct loop *l, int64_t work_ns)
{
	uint64_t us = work_ns > 0 ? (uint64_t)work_ns / 1000 : 0;
	char where[160];

	if (l->st.turns_us.count == 0 || us >= l->st.turns_us.max) {
		/* the longest turn so far: say where its time went */
		describe(l->turn_fn, l->st.slowest_fn, sizeof l->st.slowest_fn);
		l->st.slowest_fn_us = (uint64_t)l->turn_fn_ns / 1000;
	}
	hist_add(&l->st.turns_us, us);
	if (us > LOOP_SLOW_MS * 1000) {
		l->st.slow_turns++;
		describe(l->turn_fn, where, sizeof where);
		log_warnx("loop: a turn took %llu ms, %llu ms of it in %s",
		    (unsigned long long)(us / 1000),
		    (unsigned long long)(l->turn_fn_ns / 1000000), where);
	}
	l->turn_fn = NULL;
	l->turn_fn_ns = 0;
}

void
loop_get_stats(const struct loop *l, struct loop_stats *out)
{
	*out = l->st;
}

int
loop_once(struct loop *l, int max_wait_ms)
{
	size_t i, n = 0, need, base[MAX_SOURCES + 1], nwatch, nsrc = l->nsrc;
	struct pollfd *p;
	char buf[64];
	int r;
	int64_t t_start = now_ns(), t_poll;

	/* compact removed watches between rounds, never during one */
	for (i = 0, nwatch = 0; i < l->nw; i++)
		if (!l->w[i].dead)
			l->w[nwatch++] = l->w[i];
	l->nw = nwatch;
	need = 1 + l->nw + l->nsrc * SOURCE_FDS;
	if (need > l->cappfd) {
		if ((p = realloc(l->pfd, need * sizeof *p)) == NULL)
			return -1;
		l->pfd = p;
		l->cappfd = need;
	}
	l->pfd[n++] = (struct pollfd){ l->pipe[0], POLLIN, 0 };
	for (i = 0; i < l->nw; i++)
		l->pfd[n++] = (struct pollfd){ l->w[i].fd, l->w[i].events, 0 };
	for (i = 0; i < nsrc; i++) {
		base[i] = n;
		n += (size_t)l->src[i].fill(l->src[i].arg, l->pfd + n, SOURCE_FDS);
	}
	base[nsrc] = n;
	r = wait_ms(l, max_wait_ms);
	t_poll = now_ns();
	r = poll(l->pfd, n, r);
	if (r == -1 && errno != EINTR)
		return -1;
	t_start += now_ns() - t_poll;	/* the wait is not work */
	if (l->pfd[0].revents & POLLIN)
		while (read(l->pipe[0], buf, sizeof buf) > 0)
			;
	for (i = 0; i < l->nsig; i++)
		if (l->sigs[i].pending) {
			l->sigs[i].pending = 0;
			TIMED(l, l->sigs[i].cb, l->sigs[i].cb(l->sigs[i].arg));
		}
	for (i = 0; i < nwatch; i++) {
		struct pollfd *pf = &l->pfd[1 + i];
		if (pf->revents && i < l->nw && !l->w[i].dead && l->w[i].fd == pf->fd)
			TIMED(l, l->w[i].cb, l->w[i].cb(l->w[i].arg, pf->fd, pf->revents));
	}
	for (i = 0; i < nsrc && i < l->nsrc; i++)
		TIMED(l, l->src[i].dispatch, l->src[i].dispatch(l->src[i].arg,
		    l->pfd + base[i], (int)(base[i + 1] - base[i])));
	run_timers(l);
	end_turn(l, now_ns() - t_start);
	return 0;
}

void
loop_run(struct loop *l)
{
	l->stop = 0;
	while (!l->stop)
		if (loop_once(l, -1) == -1)
			break;
}

void
loop_stop(struct loop *l)
{
	l->stop = 1;
}
