/*
 * capthread.c — the capture thread. Owns the thread, its outbound accounting (and so the
 * flow table), the ring and the two eventfds; borrows the capture handle and the provider
 * space. The thread never touches a traffic record, the store, the model or a socket, and
 * never waits on the main loop: its only lock is taken with trylock (the stats snapshot)
 * or when the main loop asked it to park (a reload).
 */
#include "capthread.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "ring.h"

#define BATCH		4096	/* frames per pcap_dispatch: how soon a pause is seen */
#define POLL_MS		100	/* the longest the thread sleeps without looking around */
#define PUBLISH_MS	100	/* how often the stats snapshot is refreshed */
#define TICK_MS		1000	/* idle flows expire in wall time */

struct capthread {
	/* ------------------------------------------------ SHARED by the two threads */
	struct ring *ring;		/* SPSC: the thread pushes, the main loop drains */
	int wake_main;			/* eventfd: thread -> main, "events are waiting" */
	int wake_thread;		/* eventfd: main -> thread, "look at pause/stop" */
	_Atomic int wake_pending;	/* 1 while wake_main has been written and not read */
	_Atomic int stop;		/* main -> thread: end */
	_Atomic int pause_req;		/* main -> thread: park (also read under mu) */
	pthread_mutex_t mu;		/* guards paused, running, snap */
	pthread_cond_t cv;
	int paused;			/* the thread is parked outside its frame work */
	int running;			/* the thread has not ended */
	struct capthread_stats snap;	/* the thread's counters as of its last publish */
	/* ------------------------------------------------ the thread's; the main loop
	 * touches them only before start, after join, or while the thread is parked */
	struct capture *cap;		/* borrowed */
	struct outbound *o;
	uint64_t errors;
	struct flow_event pending;	/* the last event, not pushed yet: the next one of
					 * the same client and second merges into it */
	int have_pending;
	uint64_t merged;
	/* ------------------------------------------------ the main loop's own */
	pthread_t tid;
	int started;
	uint64_t applied;
	uint64_t pauses;
	struct hist backlog;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 when b can be added to a and the sum says exactly what the two said: the same client
 * and second, no yes/no fact in both (two SYNs are two), no list named by both, no counter
 * past its width. */
static int
mergeable(const struct flow_event *a, const struct flow_event *b)
{
	return a->sec == b->sec && memcmp(&a->client, &b->client, sizeof a->client) == 0 &&
	    (a->flags & b->flags & (FE_SYN | FE_SESSION | FE_NEWDST | FE_TLS)) == 0 &&
	    (a->lists & b->lists) == 0 && (a->list_hi == 0 || b->list_hi == 0) &&
	    a->bytes <= UINT32_MAX - b->bytes &&
	    (uint32_t)a->mail + b->mail <= FE_COUNT_MAX &&
	    (uint32_t)a->rcpt + b->rcpt <= FE_COUNT_MAX &&
	    (uint32_t)a->data + b->data <= FE_COUNT_MAX &&
	    (uint32_t)a->r4xx + b->r4xx <= FE_COUNT_MAX &&
	    (uint32_t)a->r5xx + b->r5xx <= FE_COUNT_MAX &&
	    (uint32_t)a->cited + b->cited <= FE_COUNT_MAX;
}

static void
merge(struct flow_event *a, const struct flow_event *b)
{
	if (b->flags & FE_NEWDST)
		a->dst = b->dst;
	a->flags |= b->flags;
	a->lists |= b->lists;
	if (b->list_hi)
		a->list_hi = b->list_hi;
	a->bytes += b->bytes;
	a->mail += b->mail;
	a->rcpt += b->rcpt;
	a->data += b->data;
	a->r4xx += b->r4xx;
	a->r5xx += b->r5xx;
	a->cited += b->cited;
}

/* Sends the pending event: into the ring, or counted lost. Never waits. */
static void
flush(struct capthread *ct)
{
	if (ct->have_pending)
		(void)ring_push(ct->ring, &ct->pending);
	ct->have_pending = 0;
}

/* The thread's emit function. The segments of one connection come one after the other
 * (a handshake, a pipelined command and its replies): merged into one event while they
 * are of the same client and second, they cost the main loop one lookup, not three. */
static void
push(void *arg, const struct flow_event *ev)
{
	struct capthread *ct = arg;

	if (ct->have_pending && mergeable(&ct->pending, ev)) {
		merge(&ct->pending, ev);
		ct->merged++;
		return;
	}
	flush(ct);
	ct->pending = *ev;
	ct->have_pending = 1;
}

/* Tells the main loop events are waiting, once until it has read the eventfd. Both sides
 * swap wake_pending (read-modify-writes of one variable are totally ordered): when our
 * swap reads the main loop's 0, we write the eventfd; when the main loop's swap reads our
 * 1, it synchronizes with us and its drain sees every event pushed before it. No lost
 * wake-up either way. */
static void
wake_main(struct capthread *ct)
{
	uint64_t one = 1;

	if (atomic_exchange(&ct->wake_pending, 1) == 0)
		(void)!write(ct->wake_main, &one, sizeof one);
}

/* Copies the thread's counters into the shared snapshot; skipped when the main loop holds
 * the lock (the next publish comes PUBLISH_MS later). */
static void
publish(struct capthread *ct)
{
	struct capthread_stats s;

	memset(&s, 0, sizeof s);
	outbound_get_counts(ct->o, &s.n);
	outbound_get_flow_stats(ct->o, &s.flows);
	s.merged = ct->merged;
	capture_get_stats(ct->cap, &s.kernel);
	if (s.kernel.recv > s.kernel.drop + s.n.total)
		s.kernel_backlog = s.kernel.recv - s.kernel.drop - s.n.total;
	if (pthread_mutex_trylock(&ct->mu) != 0)
		return;
	s.running = ct->running;
	ct->snap = s;
	pthread_mutex_unlock(&ct->mu);
}

/* Parks until the main loop resumes (or stops) us. */
static void
park(struct capthread *ct)
{
	pthread_mutex_lock(&ct->mu);
	while (atomic_load(&ct->pause_req) && !atomic_load(&ct->stop)) {
		if (!ct->paused) {
			ct->paused = 1;
			pthread_cond_broadcast(&ct->cv);
		}
		pthread_cond_wait(&ct->cv, &ct->mu);
	}
	ct->paused = 0;
	pthread_mutex_unlock(&ct->mu);
}

/* Reads what the kernel has for us, BATCH frames at a time, until it has no more or the
 * main loop wants something. */
static void
read_frames(struct capthread *ct)
{
	char err[256];
	uint64_t before = ring_pushed(ct->ring) + ring_lost(ct->ring);
	int n;

	do {
		n = capture_dispatch(ct->cap, BATCH, ct->o, err, sizeof err);
		if (n == -1 && ct->errors++ == 0)
			log_warnx("capture: %s", err);
	} while (n == BATCH && !atomic_load_explicit(&ct->pause_req, memory_order_relaxed) &&
	    !atomic_load_explicit(&ct->stop, memory_order_relaxed));
	flush(ct);	/* nothing waits past a batch: the main loop sees it now */
	if (ring_pushed(ct->ring) + ring_lost(ct->ring) != before)
		wake_main(ct);
}

static void *
run(void *arg)
{
	struct capthread *ct = arg;
	struct pollfd pfd[2];
	int64_t now, last_tick = mono_ms(), last_pub = 0;
	uint64_t junk;

	pfd[0] = (struct pollfd){ capture_fd(ct->cap), POLLIN, 0 };
	pfd[1] = (struct pollfd){ ct->wake_thread, POLLIN, 0 };
	while (!atomic_load(&ct->stop)) {
		if (atomic_load(&ct->pause_req)) {
			park(ct);
			continue;
		}
		if (poll(pfd, 2, POLL_MS) == -1 && errno != EINTR) {
			if (ct->errors++ == 0)
				log_warn("capture: poll");
			usleep(POLL_MS * 1000);
		}
		if (pfd[1].revents & POLLIN)
			while (read(ct->wake_thread, &junk, sizeof junk) > 0)
				;
		/* TPACKET_V3 wakes us per retired block: read whatever is there */
		read_frames(ct);
		now = mono_ms();
		if (now - last_tick >= TICK_MS) {
			outbound_tick(ct->o, (uint32_t)time(NULL));
			last_tick = now;
		}
		if (now - last_pub >= PUBLISH_MS) {
			publish(ct);
			last_pub = now;
		}
	}
	publish(ct);
	pthread_mutex_lock(&ct->mu);
	ct->running = 0;
	ct->snap.running = 0;
	pthread_cond_broadcast(&ct->cv);
	pthread_mutex_unlock(&ct->mu);
	return NULL;
}

static void
release(struct capthread *ct)
{
	outbound_free(ct->o);
	ring_free(ct->ring);
	if (ct->wake_main != -1)
		close(ct->wake_main);
	if (ct->wake_thread != -1)
		close(ct->wake_thread);
	pthread_mutex_destroy(&ct->mu);
	pthread_cond_destroy(&ct->cv);
	free(ct);
}

struct capthread *
capthread_start(struct capture *cap, const struct prefixes *p, size_t max_flows,
    unsigned flow_timeout, size_t ring_events, char *err, size_t errlen)
{
	struct capthread *ct = calloc(1, sizeof *ct);
	sigset_t all, old;
	int rc;

	if (ct == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ct->wake_main = ct->wake_thread = -1;
	pthread_mutex_init(&ct->mu, NULL);
	pthread_cond_init(&ct->cv, NULL);
	atomic_init(&ct->wake_pending, 0);
	atomic_init(&ct->stop, 0);
	atomic_init(&ct->pause_req, 0);
	ct->cap = cap;
	if ((ct->ring = ring_new(ring_events, sizeof(struct flow_event))) == NULL ||
	    (ct->o = outbound_new_emit(p, max_flows, flow_timeout, push, ct)) == NULL) {
		snprintf(err, errlen, "out of memory for the capture's ring (%zu events)",
		    ring_events);
		goto fail;
	}
	if ((ct->wake_main = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1 ||
	    (ct->wake_thread = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	ct->running = 1;
	ct->snap.running = 1;
	ct->snap.capacity = ring_capacity(ct->ring);
	/* signals are the main loop's business: the thread blocks them all */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&ct->tid, NULL, run, ct);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the capture thread: %s", strerror(rc));
		goto fail;
	}
	ct->started = 1;
	return ct;
fail:
	release(ct);
	return NULL;
}

void
capthread_stop(struct capthread *ct)
{
	uint64_t one = 1;

	if (ct == NULL)
		return;
	if (ct->started) {
		atomic_store(&ct->stop, 1);
		pthread_mutex_lock(&ct->mu);
		pthread_cond_broadcast(&ct->cv);
		pthread_mutex_unlock(&ct->mu);
		(void)!write(ct->wake_thread, &one, sizeof one);
		pthread_join(ct->tid, NULL);
	}
	release(ct);
}

int
capthread_fd(const struct capthread *ct)
{
	return ct->wake_main;
}

size_t
capthread_drain(struct capthread *ct, size_t max, flow_emit_fn apply, void *arg, int *more)
{
	const struct flow_event *ev;
	uint64_t junk;
	size_t done = 0, n, i;

	while (read(ct->wake_main, &junk, sizeof junk) > 0)
		;
	(void)atomic_exchange(&ct->wake_pending, 0);	/* pairs with wake_main() */
	hist_add(&ct->backlog, ring_backlog(ct->ring));
	while (done < max && (ev = ring_peek(ct->ring, max - done, &n)) != NULL) {
		for (i = 0; i < n; i++)
			apply(arg, &ev[i]);
		ring_release(ct->ring, n);
		done += n;
	}
	ct->applied += done;
	*more = ring_backlog(ct->ring) > 0;
	return done;
}

void
capthread_pause(struct capthread *ct)
{
	uint64_t one = 1;

	pthread_mutex_lock(&ct->mu);
	atomic_store(&ct->pause_req, 1);
	(void)!write(ct->wake_thread, &one, sizeof one);
	while (!ct->paused && ct->running)
		pthread_cond_wait(&ct->cv, &ct->mu);
	pthread_mutex_unlock(&ct->mu);
	ct->pauses++;
}

void
capthread_resume(struct capthread *ct)
{
	pthread_mutex_lock(&ct->mu);
	atomic_store(&ct->pause_req, 0);
	pthread_cond_broadcast(&ct->cv);
	pthread_mutex_unlock(&ct->mu);
}

void
capthread_set_space(struct capthread *ct, const struct prefixes *p)
{
	outbound_set_space(ct->o, p, NULL);
}

void
capthread_get_stats(struct capthread *ct, struct capthread_stats *out)
{
	pthread_mutex_lock(&ct->mu);
	*out = ct->snap;
	pthread_mutex_unlock(&ct->mu);
	out->events = ring_pushed(ct->ring);
	out->lost = ring_lost(ct->ring);
	out->backlog = ring_backlog(ct->ring);
	out->capacity = ring_capacity(ct->ring);
	out->applied = ct->applied;
	out->pauses = ct->pauses;
}

const struct hist *
capthread_backlog_hist(const struct capthread *ct)
{
	return &ct->backlog;
}
