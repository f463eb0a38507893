/*
 * traffic.h — the per-source-IP table of outbound SMTP counters: what the capture probe
 * fills and what reports, the risk engine and the store read. Bounded by max_ips; an IP
 * past the bound is not tracked and is counted in traffic_dropped(). About 100 bytes per
 * tracked IP (record + index), so a million senders fit in ~100 MB.
 */
#ifndef RW_TRAFFIC_H
#define RW_TRAFFIC_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "distinct.h"

/* The counters of one source IP. Records never move once created. */
struct traffic_ip {
	struct rw_addr addr;
	uint64_t bytes_out;	/* TCP payload bytes sent to port 25 */
	uint32_t syn;		/* SYN without ACK to port 25 */
	uint32_t sessions;	/* handshakes completed */
	uint32_t mail_from, rcpt_to, data, starttls;
	uint32_t replies_4xx, replies_5xx;
	int32_t customer;	/* index in the customer map, -1 when unassigned */
	uint32_t last_seen;	/* packet time (s) of its last segment to port 25 */
	struct distinct dst;	/* distinct destination IPs */
	uint32_t cited;		/* 4xx/5xx replies naming a list or a capture word (once each) */
	uint32_t *cites;	/* per list (its index in the lists file, traffic_ncite() of
				 * them): 4xx/5xx replies naming it; NULL until one */
	/* --- flow exports: monitor/flows.c's estimates for this IP (struct flows_ip in
	 * flows.h, owned by flows.c), NULL for an IP no flow export counted. flows.c adds
	 * only the 95% lower bound of its session estimate to syn and sessions above, and
	 * the sampled destinations to dst, so the model weighs an estimate by its error.
	 * A record ever reused for another address must start with fx NULL. */
	struct flows_ip *fx;
};

struct traffic;

/* A table for at most max_ips sources and ncite lists. NULL when out of memory. */
struct traffic *traffic_new(size_t max_ips, size_t ncite);
/* NULL-safe. */
void traffic_free(struct traffic *t);
/* The record of a, or NULL. */
struct traffic_ip *traffic_get(struct traffic *t, const struct rw_addr *a);
/* The record of a, created (zeroed, customer -1, *created set) when new; NULL when the
 * table is full (the source is then counted as dropped) or out of memory. */
struct traffic_ip *traffic_add(struct traffic *t, const struct rw_addr *a, int *created);
/* Counts a reply naming list w (its index in the lists file) for ip. */
void traffic_cite(struct traffic *t, struct traffic_ip *ip, unsigned w);
/* Sets the number of lists (a reload may change it): every IP's per-list counts are cut or
 * grown with zeros. The counts follow the index, not the name: a reload that reorders the
 * lists leaves earlier counts under the new order. -1 when out of memory (nothing changed
 * for the IPs not yet resized; the count is then the smaller of the two). */
int traffic_set_ncite(struct traffic *t, size_t ncite);
size_t traffic_count(const struct traffic *t);
/* Record i, 0 <= i < traffic_count(), in creation order. */
struct traffic_ip *traffic_at(const struct traffic *t, size_t i);
/* The number of lists ip->cites counts. */
size_t traffic_ncite(const struct traffic *t);
/* Sources not tracked because the table was full. */
uint64_t traffic_dropped(const struct traffic *t);

#endif
