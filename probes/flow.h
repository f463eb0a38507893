/*
 * flow.h — the TCP connections to port 25 that provider IPs open: handshake tracking
 * (sessions), in-order delivery of each direction's bytes to the SMTP parser (a
 * retransmission is trimmed, a hole is a gap), and the per-IP counters they feed. The
 * table is bounded (max_flows) and forgets a connection flow_timeout seconds after its last
 * packet (a closed one after FLOW_CLOSED_LINGER), so memory does not grow with old flows;
 * when full, a new connection takes the place of the one idle the longest.
 * Time is the packets' own (capture timestamps), so replays behave like live traffic.
 *
 * It holds no pointer to the per-IP table: what a segment does to its client's counters
 * leaves as a struct flow_event keyed by the client's address, handed to the emit function
 * the table was made with. The live capture runs the table on its own thread and the
 * events cross to the main loop (capthread.h); analyze and the replay apply them at once
 * (ingest.h). Either way the per-IP records are only ever touched by whoever applies.
 */
#ifndef RW_FLOW_H
#define RW_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "decode.h"

#define FLOW_CLOSED_LINGER 10	/* seconds a closed connection is remembered (retransmits) */

struct flow_table;

/* What one segment (or a few: see flow.c) did to the counters of its connection's client.
 * 64 bytes, no pointer: it may cross threads and outlive the flow. */
#define FE_SEEN		0x01	/* a client segment: last_seen = sec */
#define FE_SYN		0x02	/* a SYN without ACK to port 25 */
#define FE_SESSION	0x04	/* a handshake completed */
#define FE_NEWDST	0x08	/* a new connection to server key dst (distinct_key()) */
#define FE_TLS		0x10	/* the server accepted STARTTLS */
#define FE_COUNT_MAX	UINT16_MAX	/* a counter this high: the event is sent, a new one
					 * begins */
struct flow_event {
	struct rw_addr client;	/* the provider IP that opened the connection */
	uint64_t dst;		/* FE_NEWDST: distinct_key() of the server */
	uint64_t lists;		/* bit w: one reply named list w (w < 64), cite.h */
	uint32_t sec;		/* packet time */
	uint32_t bytes;		/* TCP payload bytes the client sent */
	uint16_t mail, rcpt, data;	/* commands: MAIL, RCPT, DATA or BDAT LAST */
	uint16_t r4xx, r5xx;	/* replies */
	uint16_t cited;		/* replies naming a list or a capture word */
	uint16_t list_hi;	/* 1 + a list index >= 64 one reply named (0: none) */
	uint8_t flags;		/* FE_* */
	uint8_t pad[5];
};

/* Receives the events of a table; ev is valid during the call only. */
typedef void (*flow_emit_fn)(void *arg, const struct flow_event *ev);

struct flow_stats {
	uint64_t created;	/* connections seen */
	uint64_t expired;	/* forgotten after their timeout */
	uint64_t dropped;	/* forgotten while active to make room: the table was full */
	uint64_t scanned;	/* records looked at to expire or make room (work done) */
	uint64_t gaps;		/* holes in a direction's bytes (lost or cut segments) */
	uint64_t long_lines;	/* SMTP lines over 512 bytes, skipped */
	size_t active;
};

/* A table whose segments' effects go to emit(arg, ...). NULL when out of memory. */
struct flow_table *flow_new(size_t max_flows, unsigned timeout, flow_emit_fn emit, void *arg);
/* NULL-safe. */
void flow_free(struct flow_table *ft);
struct flow;

/* The tracked connection this segment belongs to, or NULL; *hash gets the connection's
 * key hash, for flow_create when it is new (a SYN flood is all new connections: the key
 * is hashed once a segment). */
struct flow *flow_find(struct flow_table *ft, const struct pkt *p, int from_client,
    uint32_t *hash);
/* Starts tracking the connection of this segment, opened by the provider IP (p->src when
 * from_client, else p->dst). A full table first forgets the connection idle the longest
 * (counted in dropped unless it had timed out), in constant time. The new destination is
 * told with the first flow_segment(). NULL when out of memory. */
struct flow *flow_create(struct flow_table *ft, const struct pkt *p, int from_client,
    uint32_t hash, uint32_t now);
/* Accounts one segment of f. now is the packet's time in seconds. -1 when it is a server's
 * segment that does not belong: f's handshake was not seen from our side (our SYN, the
 * SYN-ACK answering it), or its sequence or acknowledgement number does not fit. Such a
 * segment changes nothing: no counter, no state, not even f's idle time. */
int flow_segment(struct flow_table *ft, struct flow *f, const struct pkt *p, int from_client,
    uint32_t now);
/* Forgets connections idle past their timeout at time now. Called by flow_segment as time
 * passes; callers call it when packets stop (live capture idle). */
void flow_expire(struct flow_table *ft, uint32_t now);
void flow_get_stats(const struct flow_table *ft, struct flow_stats *out);

#endif
