/*
 * traffic.h — the per-source-IP table of outbound SMTP counters: what the capture probe
 * fills and what reports, the risk engine and the store read. Bounded by max_ips: the
 * model's minute makes room (traffic_evict: sources that never completed a handshake first,
 * then the least recently active), and a source arriving while the table is full is not
 * tracked until then (counted in traffic_dropped()). About 100 bytes per tracked IP
 * (record + index), so a million senders fit in ~100 MB.
 */
#ifndef RW_TRAFFIC_H
#define RW_TRAFFIC_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "distinct.h"

/* The counters of one source IP. Records never move; a forgotten one (traffic_evict) is
 * reused for a new source, so a pointer to a record is good only until the next
 * traffic_evict. A forgotten record has customer TRAFFIC_FREE and is skipped by readers. */
struct traffic_ip {
	struct rw_addr addr;
	uint64_t bytes_out;	/* TCP payload bytes sent to port 25 */
	uint32_t syn;		/* SYN without ACK to port 25 */
	uint32_t sessions;	/* handshakes completed */
	uint32_t mail_from, rcpt_to, data, starttls;
	uint32_t replies_4xx, replies_5xx;
	int32_t customer;	/* index in the customer map, -1 when unassigned,
				 * TRAFFIC_FREE when forgotten */
	uint32_t last_seen;	/* packet time (s) of its last segment to port 25 */
	struct distinct dst;	/* distinct destination IPs */
	uint32_t cited;		/* 4xx/5xx replies naming a list or a capture word (once each) */
	uint32_t *cites;	/* per list (its index in the lists file, traffic_ncite() of
				 * them): 4xx/5xx replies naming it; NULL until one */
	/* --- flow exports: monitor/flows.c's estimates for this IP (struct flows_ip in
	 * flows.h, owned by flows.c), NULL for an IP no flow export counted. flows.c adds
	 * only the 95% lower bound of its session estimate to syn and sessions above, and
	 * the sampled destinations to dst, so the model weighs an estimate by its error.
	 * traffic_evict tells flows.c of a record it forgets (traffic_on_forget) before it
	 * clears it, fx included, for reuse by another address. */
	struct flows_ip *fx;
};

#define TRAFFIC_FREE	(-2)

struct traffic;

/* Called by traffic_evict for each record it forgets, before the record is reused. */
typedef void (*traffic_forget_cb)(void *arg, size_t i, const struct traffic_ip *ip);
/* The owner of what a record's fx points at hears of each record forgotten (before it is
 * cleared), whoever calls traffic_evict; NULL cb: no longer. */
void traffic_on_forget(struct traffic *t, void (*cb)(void *arg, struct traffic_ip *ip),
    void *arg);

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
/* The number of record slots (tracked sources plus forgotten records waiting for reuse). */
size_t traffic_count(const struct traffic *t);
/* Sources tracked now. */
size_t traffic_live(const struct traffic *t);
/* Record i, 0 <= i < traffic_count() (check traffic_is_free before reading it). */
struct traffic_ip *traffic_at(const struct traffic *t, size_t i);
/* The number of lists ip->cites counts. */
size_t traffic_ncite(const struct traffic *t);
static inline int
traffic_is_free(const struct traffic_ip *ip)
{
	return ip->customer == TRAFFIC_FREE;
}
/* Frames of sources not tracked because the table was full. */
uint64_t traffic_dropped(const struct traffic *t);
/* Records forgotten by traffic_evict since the start. */
uint64_t traffic_evicted(const struct traffic *t);
/*
 * Makes room once the table is past 7/8 of max_ips, or has turned a source away since the
 * last call: forgets records down to 3/4 of max_ips, the sources that never completed a
 * handshake first (anyone can spoof a SYN; such a source has delivered no mail), then the
 * least recently active (last_seen against now). forget, when set, hears of each record
 * before it goes. Returns the number forgotten; -1 when out of memory (nothing forgotten).
 * O(records).
 */
long traffic_evict(struct traffic *t, uint32_t now, traffic_forget_cb forget, void *arg);

#endif
