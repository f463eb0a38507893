/*
 * sweep.h — the DNSBL probe's schedule: what to ask which list, and when, so that a /16
 * costs what it must and no more. ip-scope lists sweep every IPv4 address of provider space
 * at their slow `interval`, re-check IPs that sent SMTP recently at `fast_interval`, and an
 * IP that turned suspect at once; range-scope lists are asked once per range (one
 * representative IP) per interval; asn-scope lists once per ASN. Each sweep is spread
 * evenly over its interval instead of bursting, never above a list's max_qps or its daily
 * budget, and an answer's TTL defers the next check of that key. Time is the caller's
 * (seconds), so tests and replays drive it.
 */
#ifndef RW_SWEEP_H
#define RW_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "dnsbl_lists.h"
#include "prefixes.h"

struct sweep_item {
	const struct dnsbl_list *list;
	struct rw_addr ip;		/* the address to ask about (a representative for range/asn) */
	char key[CIDR_STRLEN];		/* what the answer is about: "192.0.2.7", "192.0.2.0/24",
					 * "AS64500" */
};

struct sweep;

/* A schedule over the enabled lists of lists and the provider space (neither owned; both
 * must outlive it). now is the start. NULL when out of memory. */
struct sweep *sweep_new(const struct dnsbl_lists *lists, const struct prefixes *space,
    int64_t now);
/* The same over an array of n lists (the disabled ones are left out; the lists must outlive
 * it): for a subset of the configured lists, and for tests. */
struct sweep *sweep_new_lists(const struct dnsbl_list *const *lists, size_t n,
    const struct prefixes *space, int64_t now);
/* NULL-safe. */
void sweep_free(struct sweep *s);
/* ip sent SMTP at now: ip-scope lists check it soon and then re-check it at their fast
 * interval, for a day after its last activity. IPs that are not ours are ignored. */
void sweep_active(struct sweep *s, const struct rw_addr *ip, int64_t now);
/* ip turned suspect: ip-scope lists check it at the next sweep_due(), before anything
 * else (but not before the TTL of its last answer has passed). */
void sweep_urgent(struct sweep *s, const struct rw_addr *ip, int64_t now);
#define SWEEP_RECHECK_EVERY	600	/* seconds between two rechecks of one (IP, list) */

/* A remote server's rejection of ip named list l: l (ip scope, enabled) asks about ip at
 * the next sweep_due(), before everything else, even when the TTL or negative TTL of its
 * last answer would defer it; at most once per (ip, l) every SWEEP_RECHECK_EVERY seconds
 * (forged replies must not spend the budget), and within max_qps and max_per_day. 1 when
 * queued, 0 when not (not ours, not an ip-scope list of the schedule, queued already, or
 * rechecked too recently), -1 when out of memory. */
int sweep_recheck(struct sweep *s, const struct dnsbl_list *l, const struct rw_addr *ip,
    int64_t now);
/* Writes at most max queries due at now into out (rechecks and urgent first), within every
 * budget; returns how many. */
size_t sweep_due(struct sweep *s, int64_t now, struct sweep_item *out, size_t max);
/* The answer to an item came: its key is not asked again before ttl seconds pass. */
void sweep_answered(struct sweep *s, const struct sweep_item *it, uint32_t ttl, int64_t now);
/* When the next query is due (<= now: at once), or INT64_MAX when nothing ever is. */
int64_t sweep_next(const struct sweep *s, int64_t now);
/* The key of ip for list l (its IP, range or ASN as in sweep_item.key). */
void sweep_key(const struct sweep *s, const struct dnsbl_list *l, const struct rw_addr *ip,
    char *key, size_t len);
/* Holds list l while it is unhealthy (it is asked nothing) or, hold 0, lets it go on: its
 * schedule resumes where it stood instead of bursting to catch up. */
void sweep_hold(struct sweep *s, const struct dnsbl_list *l, int hold, int64_t now);
/* How far l's current base cycle has come: keys done and keys in all (for the dashboard). */
void sweep_progress(const struct sweep *s, const struct dnsbl_list *l, uint64_t *done,
    uint64_t *total);
/* Bytes the schedule holds. */
size_t sweep_bytes(const struct sweep *s);

#endif
