/*
 * flow.h — the TCP connections to port 25 that provider IPs open: handshake tracking
 * (sessions), in-order delivery of each direction's bytes to the SMTP parser (a
 * retransmission is trimmed, a hole is a gap), and the per-IP counters they feed. The
 * table is bounded (max_flows) and forgets a connection flow_timeout seconds after its last
 * packet (a closed one after FLOW_CLOSED_LINGER), so memory does not grow with old flows;
 * when full, a new connection takes the place of the one idle the longest. A connection
 * whose client the traffic table forgot (traffic_evict) is forgotten at its next segment,
 * so it never counts into the record's next owner.
 * Time is the packets' own (capture timestamps), so replays behave like live traffic.
 */
#ifndef RW_FLOW_H
#define RW_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "traffic.h"

#define FLOW_CLOSED_LINGER 10	/* seconds a closed connection is remembered (retransmits) */

struct flow_table;

struct flow_stats {
	uint64_t created;	/* connections seen */
	uint64_t expired;	/* forgotten after their timeout */
	uint64_t dropped;	/* forgotten while active to make room: the table was full */
	uint64_t scanned;	/* records looked at to expire or make room (work done) */
	uint64_t gaps;		/* holes in a direction's bytes (lost or cut segments) */
	uint64_t long_lines;	/* SMTP lines over 512 bytes, skipped */
	size_t active;
};

/* A table feeding the counters of t. NULL when out of memory. */
struct flow_table *flow_new(struct traffic *t, size_t max_flows, unsigned timeout);
/* NULL-safe. */
void flow_free(struct flow_table *ft);
struct flow;

/* The tracked connection this segment belongs to, or NULL. */
struct flow *flow_find(struct flow_table *ft, const struct pkt *p, int from_client);
/* Starts tracking the connection of this segment, opened by client (the record of the
 * provider IP: p->src when from_client, else p->dst). A full table first forgets the
 * connection idle the longest (counted in dropped unless it had timed out), in constant
 * time. NULL when out of memory. */
struct flow *flow_create(struct flow_table *ft, const struct pkt *p, int from_client,
    struct traffic_ip *client, uint32_t now);
/* The record of the IP that opened f. */
struct traffic_ip *flow_client(const struct flow *f);
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
