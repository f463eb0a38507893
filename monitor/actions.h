/*
 * actions.h — what rangewatch does about a flag besides telling people: the suspend hook
 * (hook.h), run automatically when a customer reaches the configured level (`[hook]
 * auto_suspend`, `level`), never for customers tagged never_suspend, within a circuit
 * breaker (`max_per_hour` in all, `max_per_range` per range; past it nothing is suspended
 * and the abuse desk is told loudly), or by an operator (suspend/resume on the control
 * socket). Every run is in the audit log (who, what, the event, exit code, duration,
 * output); exit 75 runs it again after `retry_after` (at most `retries` times); any other
 * failure is mailed to the abuse desk. Suspensions are kept in the store, so a customer is
 * suspended once however often its level rises again; with `unsuspend_after` it is resumed
 * after that long at level none.
 */
#ifndef RW_ACTIONS_H
#define RW_ACTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "customers.h"
#include "hook.h"
#include "risk.h"

struct actions;
struct alert;
struct report;

/* Counters since actions_new: what the hook's bounds (hook.h) did. */
struct actions_stats {
	uint64_t runs;		/* hook runs that ended (exit, signal, timeout, error) */
	uint64_t failed;	/* of those, not done and not to be run again */
	uint64_t refused;	/* runs the runner would not take (a field, the queue of
				 * HOOK_QUEUE_MAX, the evidence over HOOK_EVIDENCE_MAX) */
	uint64_t output_cut;	/* runs whose output passed HOOK_OUTPUT_MAX */
	uint64_t output_dropped;	/* bytes of output dropped past it */
	uint64_t breaker;	/* automatic suspensions the circuit breaker stopped */
};
struct loop;
struct model;
struct store;

/* Hooks (may be NULL: no [hook] path), the store, the alerts and the model (none owned).
 * Hook runs the last stop cut off (audit entries without their result) get their outcome
 * ("interrupted: ..."); the automatic suspensions among them are remembered for
 * actions_redo(). */
struct actions *actions_new(struct loop *l, struct hook_runner *hook, struct store *st,
    struct alert *al, struct model *m, const struct rw_config *cfg, char *err, size_t errlen);
/* NULL-safe. */
void actions_free(struct actions *a);
/* A reload (auto_suspend, dry_run, level, bounds, retries). 1 when the hook may now do
 * more than before (auto_suspend turned on, dry_run off, or the level lowered to warn):
 * the customers already at the level are then due what a rise to it would have given
 * them (actions_flag for each), else 0. */
int actions_set_config(struct actions *a, const struct rw_config *cfg);
/* 1 (once) when customer's automatic suspension was cut off by the last stop: the daemon
 * then calls actions_flag for it again, at its current level. */
int actions_redo(struct actions *a, const char *customer);
/* Customer c's level changed to level (event: its flag history id; r: its flag, report.h,
 * read and not kept: the range the breaker counts, the addresses for RANGEWATCH_IPS, the
 * hook's stdin as report_json; NULL: "{}"). level is the model's recorded level, given
 * apart: after a reload that replaced the risk engine, r has no flag until the next
 * evaluation. Runs the hook when the policy says so; writes what was done or is
 * recommended, one line, to line (for the alert). */
void actions_flag(struct actions *a, long c, enum risk_level level, int64_t event,
    const struct report *r, char *line, size_t len);
/* An operator's "suspend" or "resume" of customer c, already audited as audit_id: runs the
 * hook (r as for actions_flag). 0 with what happened in outcome, -1 with why not. */
int actions_manual(struct actions *a, const char *action, long c, const char *reason,
    const char *actor, int64_t audit_id, const struct report *r, char *outcome, size_t len);
/* A hook run finished (the daemon's hook_runner callback hands it on). */
void actions_hook_done(struct actions *a, const struct hook_result *r);
/* Once a minute: hooks due again (exit 75), customers quiet long enough to resume. */
void actions_tick(struct actions *a, int64_t now);
/* Copies the counters. */
void actions_get_stats(const struct actions *a, struct actions_stats *out);
/* 1 and since when customer id is suspended (a dry run counts), 0 when not. */
int actions_suspended(const struct actions *a, const char *id, int64_t *since, int *dry_run);

#endif
