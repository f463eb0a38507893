/*
 * loop.h — the daemon's one event loop: poll(2) over the descriptors of everything the
 * daemon owns (the capture, c-ares's sockets, the control socket and its clients, hook
 * pipes, libcurl's sockets), timers, and signals turned into ordinary events through a
 * self-pipe, so handlers only write a byte and every reaction runs in the loop. Components
 * that manage their own sockets (c-ares, libcurl multi) plug in as sources that fill their
 * pollfds and say their timeout each round. Single-threaded; callbacks may add and remove
 * descriptors, timers and sources.
 */
#ifndef RW_LOOP_H
#define RW_LOOP_H

#include <poll.h>
#include <stdint.h>

#include "hist.h"

struct loop;

typedef void (*loop_fd_cb)(void *arg, int fd, short revents);
typedef void (*loop_cb)(void *arg);

/* A component with sockets of its own. fill writes at most max pollfds and returns how
 * many; dispatch gets them back after poll (revents set, maybe all 0: timeouts are its own
 * business); timeout_ms says how long the loop may sleep for it (-1: no limit). */
struct loop_source {
	int (*fill)(void *arg, struct pollfd *fds, int max);
	void (*dispatch)(void *arg, const struct pollfd *fds, int n);
	int (*timeout_ms)(void *arg);
	void *arg;
};

/* NULL when out of memory or the self-pipe cannot be made. */
struct loop *loop_new(void);
/* Frees the loop; descriptors added to it are not closed (their owners close them). */
void loop_free(struct loop *l);
/* Watches fd for events (POLLIN/POLLOUT); replaces an earlier watch of fd. -1 on ENOMEM. */
int loop_fd(struct loop *l, int fd, short events, loop_fd_cb cb, void *arg);
/* Stops watching fd (safe from inside a callback). */
void loop_fd_del(struct loop *l, int fd);
/* Adds a source; -1 when there are too many. */
int loop_source(struct loop *l, const struct loop_source *src);
/* Removes the source whose arg is arg (safe from inside a callback: it takes effect at the
 * next round). */
void loop_source_del(struct loop *l, void *arg);
/* Calls cb once, ms milliseconds from now. Returns an id for loop_timer_del, 0 on ENOMEM. */
uint64_t loop_timer(struct loop *l, int64_t ms, loop_cb cb, void *arg);
void loop_timer_del(struct loop *l, uint64_t id);
/* Calls cb in the loop whenever signal sig arrives (the handler only wakes the loop). */
int loop_signal(struct loop *l, int sig, loop_cb cb, void *arg);
/* Runs one round: waits at most max_wait_ms (-1: as long as needed) and dispatches. */
int loop_once(struct loop *l, int max_wait_ms);
/* Runs rounds until loop_stop(). */
void loop_run(struct loop *l);
void loop_stop(struct loop *l);
#define LOOP_SLOW_MS	100	/* a turn longer than this is logged and counted */

/* How long the loop's turns worked (the wait in poll excluded), since loop_new. */
struct loop_stats {
	struct hist turns_us;	/* each turn's work, microseconds */
	uint64_t slow_turns;	/* turns over LOOP_SLOW_MS */
	char slowest_fn[160];	/* the callback that took most of the longest turn:
				 * "OBJECT+0xOFFSET [SYMBOL]", for addr2line */
	uint64_t slowest_fn_us;	/* ... and how long it took */
};

void loop_get_stats(const struct loop *l, struct loop_stats *out);
/* Milliseconds of CLOCK_MONOTONIC. */
int64_t loop_now_ms(void);

#endif
