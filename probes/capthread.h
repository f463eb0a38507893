/*
 * capthread.h — the live capture on a thread of its own. The thread only reads packets
 * (libpcap's TPACKET_V3 ring, capture.h) and does the per-frame work (decode, the provider
 * space check, flow following, SMTP parsing: outbound.h); what a frame does to a provider
 * IP's counters crosses to the main loop as a 64-byte struct flow_event over a bounded
 * lock-free SPSC ring (ring.h). The main loop polls capthread_fd() and applies the events
 * in slices (capthread_drain); it owns the traffic table, the model, the store, the
 * socket: the capture never waits for any of them. A full ring never blocks the capture:
 * the event is counted lost (capthread_stats.lost).
 *
 * What the two threads share, all of it (capthread.c's "shared" section):
 *   - the ring: the thread produces, the main loop consumes;
 *   - two eventfds: the thread wakes the main loop (events waiting), the main loop wakes
 *     the thread (a pause or a stop);
 *   - a mutex and condition guarding the pause handshake and the stats snapshot;
 *   - two atomics: stop, and whether a wake-up of the main loop is pending;
 *   - while paused, and only then: the capture handle, the outbound accounting, the
 *     provider space it reads, and the process-wide citation words (cite.h, smtp.h),
 *     which the main loop may then change (a reload); the pause returns only once the
 *     thread is parked outside its per-frame work, and that is the grace period after
 *     which the old space may be freed.
 *   - read-only once the thread runs: the address hash key (addr_hash_init, set before
 *     any table) and the logger's settings (log_init); the thread logs through log.h,
 *     whose calls are whole lines (stdio's and syslog's own locks).
 * Nothing else: no traffic record, no customer map, no model, no store, no socket.
 *
 * Bounds: the ring holds ring_events events of 64 bytes ([capture] ring_events, 131,072:
 * 8 MiB); the main loop applies at most DRAIN_SLICE (32,768, rangewatchd.c) a turn; the
 * thread reads at most 4,096 frames between two looks at a pause or stop request, and
 * sleeps at most 100 ms in poll; a pause lasts as long as the main loop's change (a
 * pointer and a filter: microseconds), the kernel's ring ([capture] buffer_size) holding
 * the frames meanwhile.
 */
#ifndef RW_CAPTHREAD_H
#define RW_CAPTHREAD_H

#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "flow.h"
#include "hist.h"
#include "outbound.h"
#include "prefixes.h"

struct capthread;

struct capthread_stats {
	struct outbound_counts n;	/* frames read and what became of them */
	struct flow_stats flows;
	struct capture_stats kernel;	/* pcap_stats: recv, drop, ifdrop */
	uint64_t kernel_backlog;	/* frames the kernel's ring holds for us, estimated
					 * as recv - drop - read at the last snapshot */
	uint64_t events;		/* events handed to the main loop */
	uint64_t merged;		/* events merged into the one before (same client,
					 * same second) before the hand-over */
	uint64_t lost;			/* events refused: the ring was full */
	uint64_t applied;		/* events the main loop applied */
	size_t backlog;			/* events waiting in the ring now */
	size_t capacity;		/* the ring's size, events */
	uint64_t pauses;		/* reloads that parked the thread */
	int running;
};

/* Starts the thread on cap (borrowed: close it after capthread_stop), accounting for the
 * space p (borrowed; see capthread_set_space) with a flow table of max_flows and a ring
 * of ring_events. NULL with the reason in err. */
struct capthread *capthread_start(struct capture *cap, const struct prefixes *p,
    size_t max_flows, unsigned flow_timeout, size_t ring_events, char *err, size_t errlen);
/* Stops and joins the thread, frees what it owns. NULL-safe. Events still in the ring are
 * dropped: drain first to keep them. */
void capthread_stop(struct capthread *ct);
/* The descriptor the main loop polls (POLLIN: events are waiting). */
int capthread_fd(const struct capthread *ct);
/* Main loop: applies at most max waiting events through apply(arg, ev), in the order the
 * frames came. Returns how many; *more is set when events are still waiting (call again on
 * a later turn). Records the backlog it found in the backlog histogram. */
size_t capthread_drain(struct capthread *ct, size_t max, flow_emit_fn apply, void *arg,
    int *more);
/* Main loop: parks the thread outside its per-frame work and returns once it is (or has
 * ended). Until capthread_resume the main loop may change what the thread reads: the
 * space (capthread_set_space), the capture's filter (capture_set_space), the citation
 * words (cite_install). The kernel's ring keeps the frames meanwhile. */
void capthread_pause(struct capthread *ct);
void capthread_resume(struct capthread *ct);
/* While paused: the provider space for the frames to come (the old one may be freed after
 * capthread_resume). */
void capthread_set_space(struct capthread *ct, const struct prefixes *p);
/* Main loop: the latest snapshot of the thread's counters (at most ~100 ms old) and the
 * ring's live figures. */
void capthread_get_stats(struct capthread *ct, struct capthread_stats *out);
/* Main loop: the histogram of the ring's backlog found at each drain (events). */
const struct hist *capthread_backlog_hist(const struct capthread *ct);

#endif
