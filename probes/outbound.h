/*
 * outbound.h — the outbound SMTP accounting of provider IPs: each captured frame is
 * decoded, kept when it is TCP port 25 with an endpoint in provider space, followed in its
 * connection and counted for the provider IP that opened it (and so for its customer).
 * Counts what it skips: malformed, truncated, fragments.
 *
 * Two ways out: outbound_new() applies each event to a traffic table at once (analyze, the
 * replay, tests: one thread); outbound_new_emit() hands the events to a function (the live
 * capture's thread pushes them into its ring, capthread.h) and touches no table at all.
 */
#ifndef RW_OUTBOUND_H
#define RW_OUTBOUND_H

#include <stddef.h>
#include <stdint.h>

#include "customers.h"
#include "flow.h"
#include "prefixes.h"
#include "traffic.h"

struct outbound_counts {
	uint64_t total;		/* frames read */
	uint64_t smtp;		/* TCP port 25 with an endpoint in provider space */
	uint64_t malformed;	/* frames that cannot be */
	uint64_t truncated;	/* frames cut by the snaplen (their complete headers still count) */
	uint64_t fragments;	/* IP fragments after the first, skipped */
	uint64_t unsupported;	/* frames of a link type we do not decode */
	uint64_t unsolicited;	/* server segments outside a handshake we saw, or whose sequence
				 * numbers do not fit it: forged or picked up mid-stream, ignored */
};

struct outbound;

/* Accounting into t for the space p (empty: every client is ours) and customers c; none
 * of them is owned. NULL when out of memory. */
struct outbound *outbound_new(struct traffic *t, const struct prefixes *p,
    const struct customers *c, size_t max_flows, unsigned flow_timeout);
/* Accounting for the space p (not owned) whose per-IP effects go to emit(arg, ...) as
 * events (flow.h); no traffic table, no customers. NULL when out of memory. */
struct outbound *outbound_new_emit(const struct prefixes *p, size_t max_flows,
    unsigned flow_timeout, flow_emit_fn emit, void *arg);
/* A reload: new space and customers (not owned; the old ones may be freed after return).
 * With a table (outbound_new), every tracked IP's customer is resolved again; flows in
 * progress keep counting. c is unused by an outbound_new_emit() accounting. */
void outbound_set_space(struct outbound *o, const struct prefixes *p, const struct customers *c);
/* NULL-safe. */
void outbound_free(struct outbound *o);
/* Accounts one frame of link type dlt captured at time sec. */
void outbound_frame(struct outbound *o, int dlt, uint32_t sec, const uint8_t *frame,
    uint32_t caplen, uint32_t wirelen);
/* Lets time pass without packets (a quiet live capture): idle connections expire. */
void outbound_tick(struct outbound *o, uint32_t sec);
void outbound_get_counts(const struct outbound *o, struct outbound_counts *out);
void outbound_get_flow_stats(const struct outbound *o, struct flow_stats *out);

#endif
