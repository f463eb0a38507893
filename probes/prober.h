/*
 * prober.h — the DNSBL probe at run time: ties the schedule (sweep), the query engine
 * (dnsbl) and the listing state (listings) to the daemon's event loop. Tests every list's
 * test points at start and every PROBER_TEST_EVERY seconds, and asks nothing of a list that
 * is blocked or broken until it passes again (a blocked resolver is not a listing). Keeps
 * at most the engine's max_outstanding queries in flight.
 */
#ifndef RW_PROBER_H
#define RW_PROBER_H

#include <stddef.h>
#include <stdint.h>

#include "dnsbl.h"
#include "dnsbl_lists.h"
#include "listings.h"
#include "loop.h"
#include "prefixes.h"

#define PROBER_TEST_EVERY 600

struct prober;

/* The list's current health, as the dashboard and the alerts show it. */
struct prober_health {
	const struct dnsbl_list *list;
	enum dnsbl_health health;
	const char *reason;
	unsigned long day_used;		/* queries in its day so far (max_per_day's count) */
	uint64_t asked;			/* queries asked of it since start */
	uint64_t results[4];		/* its answers by enum dnsbl_status */
};

/* A probe on loop l over lists and space (none owned; all must outlive it), recording into
 * listings. opts sets the resolver. NULL with the reason in err. */
struct prober *prober_new(struct loop *l, const struct dnsbl_opts *opts,
    const struct dnsbl_lists *lists, const struct prefixes *space, struct listings *listings,
    char *err, size_t errlen);
/* The clock that stamps listings (first and last seen): the model's, which is the
 * packets' time when the daemon replays captures. The schedule and the query budgets keep
 * wall time whatever it says. NULL: wall time. */
typedef int64_t (*prober_clock)(void *arg);
void prober_set_clock(struct prober *p, prober_clock fn, void *arg);
/* Cancels what is in flight. NULL-safe. */
void prober_free(struct prober *p);
/* ip sent SMTP: ip-scope lists re-check it at their fast interval. */
void prober_active(struct prober *p, const struct rw_addr *ip);
/* ip turned suspect: checked at once. */
void prober_urgent(struct prober *p, const struct rw_addr *ip);
/* A remote server's rejection of ip named list list_index (its index in the lists): that
 * list, when it is an enabled ip-scope list, asks about ip before anything else, past the
 * TTL of a cached answer, at most once per (ip, list) every SWEEP_RECHECK_EVERY seconds of
 * wall time and within its budgets. 1 when queued, 0 when not, -1 when out of memory. */
int prober_recheck(struct prober *p, size_t list_index, const struct rw_addr *ip);
/* The health of list i (0 <= i < dnsbl_lists_count()). */
void prober_health(const struct prober *p, size_t i, struct prober_health *out);
struct prober_stats {
	uint64_t asked, answered, listed_events, delisted_events, skipped_unhealthy, store_errors;
	int64_t last_answer;	/* wall time of the last answer (0: none yet) */
	uint64_t results[4];	/* answers by enum dnsbl_status (listed, clean, blocked, error) */
};
void prober_get_stats(const struct prober *p, struct prober_stats *out);

#endif
