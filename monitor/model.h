/*
 * model.h — the daemon's model: joins the capture probe's per-IP counters (traffic.h) and
 * the DNSBL probe's listings (listings.h) into the risk engine (risk.h) once a minute of
 * the model's clock, persists what a restart must keep (traffic aggregates, per-IP
 * baselines, flags and their history) and publishes the changes on the control socket.
 *
 * The clock is the caller's: wall time when capturing live, the packets' time when
 * replaying. model_tick() does the minute's work when the clock crosses a minute boundary
 * and nothing otherwise, so it may be called as often as the loop likes.
 */
#ifndef RW_MODEL_H
#define RW_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "addr.h"
#include "config.h"
#include "customers.h"
#include "dnsbl_lists.h"
#include "listings.h"
#include "prefixes.h"
#include "risk.h"
#include "store.h"
#include "traffic.h"

struct control;
struct model;

#define MODEL_SPARK	24	/* hours of the per-customer sparkline */

/* What the model knows of a customer beyond its flag. */
struct model_customer {
	enum risk_level level;		/* as last recorded (survives restarts) */
	int64_t since;			/* at this level since */
	const char *ack_by;		/* NULL when not acknowledged */
	const char *ack_reason;
	int64_t ack_ts;
	uint32_t spark[MODEL_SPARK];	/* sessions per hour, oldest first, the last is now's */
	uint32_t sessions_1h, rcpt_1h, rej_1h, cited_1h, dst_1h;	/* the last 60 minutes */
};

/* Things that live outside the model and that it calls on. */
struct model_env {
	struct store *store;		/* not owned */
	struct traffic *traffic;	/* not owned */
	struct listings *listings;	/* not owned; the model installs its listings hook */
	struct control *control;	/* not owned; NULL: no events */
	/* an IP turned suspect: the daemon asks the DNSBL probe at once; NULL: none */
	void (*suspect)(void *arg, const struct rw_addr *ip);
	/* remote replies named ip-scope list index li (dnsbl_lists order) for ip: the daemon
	 * re-checks that IP on that list at once, past a cached negative; NULL: none */
	void (*recheck)(void *arg, size_t li, const struct rw_addr *ip);
	/* customer c's level changed (recorded in a store hold that commits when this
	 * returns, with the durable writes made here): alerts and hooks; NULL: none */
	void (*flag)(void *arg, long c, enum risk_level level, enum risk_level previous,
	    int64_t event);	/* event: the change's flag history id */
	/* a new risk engine (start, a reload of the risk settings): what others reported
	 * (SNDS rows, complaints) is fed to it again through model_feed's fn; NULL: none */
	void (*refeed)(void *arg, struct risk *r);
	void *arg;
};

/* A model over env with the risk config rc, space p, customers c and lists ls (none
 * owned; keep them until model_set_space or model_free). Restores the baselines, the
 * listings, the flags and the sparklines from the store. NULL with err. */
struct model *model_new(const struct model_env *env, const struct risk_config *rc,
    const struct prefixes *p, const struct customers *c, const struct dnsbl_lists *ls,
    int64_t now, char *err, size_t errlen);
/* NULL-safe. */
void model_free(struct model *m);
/* A reload: new space, customers and lists (the old ones may be freed after return).
 * Customer state follows the ids. -1 with err (the old ones stay in use). */
int model_set_space(struct model *m, const struct prefixes *p, const struct customers *c,
    const struct dnsbl_lists *ls, char *err, size_t errlen);
/* A reload that changes the suspect rules or policies: a new engine, history kept. */
int model_set_risk(struct model *m, const struct risk_config *rc, char *err, size_t errlen);
/* Retention of the traffic rows, seconds. */
void model_set_retention(struct model *m, long minute_retention, long hour_retention);
/* Lets the clock reach now: the minute's work when a minute boundary was crossed, its
 * first slice now (a slice is a loop turn's share: ~65k records looked at, 512 rows
 * written), the rest by model_step; while that work lasts, ticks wait. Returns 1 when it
 * evaluated, 0 when not (yet), -1 on a store error (logged; retried). */
int model_tick(struct model *m, int64_t now);
/* 1 while the minute's work is unfinished: call model_step (a loop turn each). The counts
 * of a record accounted a few turns into the work include what came in those turns. */
int model_busy(const struct model *m);
/* The next slice of the minute's work; same returns as model_tick (1 when this slice
 * finished it with the evaluation). A reload, a flush and the stop finish it at once. */
int model_step(struct model *m);
/* A slice's share: records looked at and rows written (0: the defaults, 65536 and 512). */
void model_set_step(struct model *m, size_t scan, size_t rows);
/* Writes the counts of the minute in progress now (their row adds up with the rest of the
 * minute's later) and has the next tick evaluate: the end of a replay. */
void model_flush(struct model *m);
/* Writes the per-IP state and the aggregates of the minute in progress (at stop). */
void model_save(struct model *m);

/* Read access for the control socket's views (valid until the next tick or reload). */
const struct risk *model_risk(const struct model *m);
const struct customers *model_customers(const struct model *m);
const struct prefixes *model_space(const struct model *m);
const struct dnsbl_lists *model_lists(const struct model *m);
struct listings *model_listings(const struct model *m);
struct store *model_store(const struct model *m);
struct traffic *model_traffic(const struct model *m);
/* Fills out for customer index c; -1 when there is none. */
int model_customer(const struct model *m, long c, struct model_customer *out);
/* First time (packet clock) traffic record i was seen; 0 unknown. */
int64_t model_first_seen(const struct model *m, size_t i);
/* The clock as of the last tick, and the time of the last evaluation (0 before one). */
int64_t model_now(const struct model *m);
int64_t model_evaluated(const struct model *m);
/* Wall milliseconds of the last risk evaluation and of the last minute's whole work. */
void model_timings(const struct model *m, double *eval_ms, double *minute_ms);
/* Customers at each level as of the last evaluation: out[RISK_NONE..RISK_ACT]. */
void model_levels(const struct model *m, size_t out[4]);
/* Acknowledges customer c's current flag (durable). -1 with err. */
int model_ack(struct model *m, long c, const char *by, const char *reason, int64_t now,
    char *err, size_t errlen);
/* Feeds reports to the risk engine (SNDS rows, complaints: fn calls risk_snds and
 * risk_complaint on r) and has the next tick evaluate at once. */
void model_feed(struct model *m, void (*fn)(void *arg, struct risk *r), void *arg);
/* Publishes ev on the control socket (nothing without one); takes data's reference. */
void model_publish(struct model *m, const char *ev, json_t *data);
/* The JSON of a neighbourhood view, and of a flag's evidence lines (new references). */
json_t *model_nb_json(const struct risk_nb_view *v);
json_t *model_evidence_json(const struct risk_flag *f);
/* The level named s ("none", "watch", ...), RISK_NONE when unknown. */
enum risk_level model_level_parse(const char *s);

#endif
