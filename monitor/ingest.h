/*
 * ingest.h — the one place where what the capture saw becomes per-IP counters: a struct
 * flow_event (flow.h: what a segment did for the provider IP that opened its connection,
 * keyed by address) applied to the traffic table, on the thread that owns that table (the
 * daemon's main loop; analyze's and the replay's only thread). The capture side never
 * holds a pointer to a traffic record: records may move or be evicted between two events.
 * The customer of a new record is looked up here, on the main side.
 */
#ifndef RW_INGEST_H
#define RW_INGEST_H

#include <stddef.h>

#include "customers.h"
#include "flow.h"
#include "traffic.h"

/* Applies ev to t; a new record gets its customer from c (NULL: unassigned). A full table
 * drops the event (traffic_dropped() counts the source). */
void ingest_apply(struct traffic *t, const struct customers *c, const struct flow_event *ev);
/* The record of a, made when new with its customer from c (NULL: unassigned): what every
 * source of per-IP counts (the capture's events, flow exports) starts from. NULL when the
 * table is full or out of memory. */
struct traffic_ip *ingest_record(struct traffic *t, const struct customers *c,
    const struct rw_addr *a);
/* A reload: every tracked IP's customer is resolved again in c (NULL: none). */
void ingest_set_customers(struct traffic *t, const struct customers *c);

#endif
