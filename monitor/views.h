/*
 * views.h — what the daemon answers on its control socket: the read commands (the model,
 * the listings, the history as JSON) and the acting ones (suspend, resume, ack: checked,
 * recorded in the audit log, published). control.c carries the lines; this module decides
 * what they say. The `rangewatch` CLI and `rangewatch top` are written against the shapes
 * below (protocol version 1); a field may be added, never renamed or removed.
 *
 * Times are UNIX seconds (the model's clock: packet time when replaying), 0 or null when
 * there is none. Untrusted text (customer names, SMTP replies) is sent as data, not
 * escaped: every client escapes at output. A list's TXT ("txt") and an audit entry's
 * "outcome" (which quotes a hook's output) are the exceptions: they are escaped where they
 * arrive (text_escape), so they are clean text already.
 *
 * Read commands
 *   status      {} ->
 *     {"version":"0.4","pid":N,"started":T (wall),"uptime":N (wall seconds),"now":T,
 *      "clock":"live"|"replay",
 *      "capture":{"source":"interface"|"replay"|"none","interface":S,"packets":N,"smtp":N,
 *                 "malformed":N,"truncated":N,"pps":F,"drops":N,"ifdrops":N,
 *                 "replay":{"files":N,"done":B,"speed":F,"frames":N}|null,
 *                 "connections_active":N,"connections_untracked":N (new connections not
 *                 followed: [capture] max_flows reached),"sources_untracked":N (SMTP
 *                 frames of sources past [capture] max_ips, not tracked)},
 *      "ips":N (tracked senders),"customers":N (in the map),
 *      "levels":{"watch":N,"warn":N,"act":N},
 *      "lists":[{"name":S,"zone":S,"scope":"ip"|"range"|"asn","enabled":B,
 *                "health":"ok"|"blocked"|"broken"|"unknown","reason":S,
 *                "listed":N (keys listed now),"asked":N,"answers":{"listed":N,"clean":N,
 *                "blocked":N,"error":N},"day_used":N (queries in its day),
 *                "max_per_day":N (0: no budget)}],
 *      "dnsbl":{"asked":N,"answered":N,"listed":N (keys listed now),"last_answer":T,
 *               "results":{"listed":N,"clean":N,"blocked":N,"error":N},
 *               "skipped_unhealthy":N (not asked: the list was blocked or broken)},
 *      "loop":{"turns":N,"busy_seconds":F,"max_turn_seconds":F} (the event loop's work),
 *      "store":{"bytes":N (database and WAL on disk),"flushes":N,"flush_errors":N,
 *               "flush_seconds":F (all flushes),"last_flush_seconds":F},
 *      "store_memory":N (bytes SQLite holds: its page cache, at most 128 MiB, and the rest),
 *      "evaluated":T (last risk evaluation),"clients":N,
 *      "evaluation_ms":F (its wall time),"minute_ms":F (the whole minute's work),
 *      "tracked_ips":N (IPs with history in the risk engine),
 *      "tracked_ips_refused":N (observations and listings of IPs it turned away: [risk]
 *      max_ips reached),
 *      "policies":[{"name":S,"scope":"range"|"asn","neighbourhoods":N,
 *                   "bands":{"below":N,"warn":N,"act":N,"over":N} (by projected pressure:
 *                   under warn_at, from warn_at, from act_at, from 1),
 *                   "pressure_max":F,"projected_max":F,"eta_seconds":N|null (the shortest
 *                   time to threshold at the current pace; 0 already there)}],
 *      "control":{"clients":N,"accepted":N,"refused":N (over max_clients/max_per_uid),
 *                 "requests":N,"errors":N (error replies),"denied":N (acting commands
 *                 refused),"dropped_slow":N (output queue full or stalled),"dropped_bad":N
 *                 (a line over the limit, half a line too long or left at close, nothing
 *                 sent in time),"events":N,"too_big":N (replies over the reply bound,
 *                 refused with an error),"stream_steps":N (slices of streamed replies)},
 *      "alerts":{"queued_total":N,"held":N,"digests":N,"sent":N,"retried":N,"failed":N,
 *                "refused":N (rows the store refused),"outbox_full":N (of those: the
 *                outbox at its bound),"in_flight":N,"outbox":N (queued now)} (when
 *                [alert] or [webhook] is set),
 *      "hooks":{"pending":N,"runs":N,"failed":N,"refused":N (runs the runner would not
 *               take),"output_cut":N (runs whose output passed 8 KiB),"output_dropped":N
 *               (bytes),"breaker":N (automatic suspensions the circuit breaker
 *               stopped)} (when [hook] path is set)}
 *   customers   {"limit":N (default 100, 0 all),"all":B (also level none),
 *                "customer":ID (just that one),"filter":S (substring of id or name),
 *                "range":CIDR, "list":NAME (only customers with an IP listed on it)} ->
 *     {"total":N (matching, before limit),"customers":[C...]} worst first, where C is
 *     {"id":S,"name":S,"level":"none"|"watch"|"warn"|"act","score":F,"since":T,
 *      "ack":{"by":S,"reason":S,"ts":T}|null,"tags":[S],"ips":[S] (its CIDRs),
 *      "listed_ips":N,"suspect_ips":N,
 *      "smtp_1h":{"sessions":N,"rcpt":N,"replies_5xx":N,"cited":N,"dst":N},
 *      "spark":[24 integers: sessions per hour, oldest first, the last is this hour],
 *      "evidence":[S...],
 *      "neighbourhoods":[{"policy":S,"scope":"range"|"asn","key":S,"impacts":N,
 *                         "suspects":N,"threshold":N,"pressure":F,"projected":F,
 *                         "eta_threshold":T|null,"clear_at":T|null (as in ranges)}]}
 *   customer    {"customer":ID} -> C (as above) plus
 *      "contact":S, "complaints":N, "snds_trap_hits":N (its addresses' sums),
 *      "addresses":[{"ip":S,"first_seen":T,"last_seen":T,"sessions":N,"mail_from":N,
 *                    "rcpt_to":N,"data":N,"starttls":N,"replies_4xx":N,"replies_5xx":N,
 *                    "cited":N,"dst":N,"suspect":B,"rules":[S],
 *                    "complaints":N (complaint reports within [risk] complaints_for),
 *                    "snds_trap_hits":N (SNDS trap hits of rows within snds_for),
 *                    "listings":[{"list":S,"listed":B,"codes":S,"txt":S,
 *                                 "first_seen":T,"last_seen":T}]}]
 *        (the IPs of its CIDRs that sent or are listed),
 *      "history":[F...] (its last 20 level changes, newest first, F as in alerts),
 *      "audit":[A...] (its last 20 audit entries).
 *   ranges      {"limit":N (default 100, 0 all),"policy":S} ->
 *     {"total":N,"neighbourhoods":[{"policy":S,"scope":S,"key":S,"impacts":N,"suspects":N,
 *      "threshold":N,"pressure":F,"projected":F,"spamscore":F,"ips":N,"customer_ips":N,
 *      "escalated":B,"escalated_since":T,"list_count":N|null,"eta_threshold":T|null
 *      (0: already there),"clear_at":T|null,"clear_all_at":T|null,
 *      "contributors":[{"id":S,"name":S,"impacts":N,"suspects":N}]}]} by projected pressure
 *   listings    {"list":S,"all":B (also clean keys),"limit":N (default 1000, 0 all)} ->
 *     {"total":N,"listings":[{"list":S,"key":S,"scope":S,"listed":B,"codes":S,"txt":S,
 *      "first_seen":T,"last_seen":T,"checked":T,"customer":ID|null,"expires":T|null
 *      (the list's expiry rule applied to last_seen, when known)}]}
 *   alerts      {"limit":N (default 50, at most 1000),"customer":ID} ->
 *     {"flags":[F...],"audit":[A...],"deliveries":[D...]} newest first, where
 *     F = {"id":N,"ts":T,"customer":S,"name":S,"level":S,"previous":S,"score":F,
 *          "evidence":[S]}
 *     A = {"id":N,"ts":T,"actor":S,"action":S,"customer":S,"reason":S,"outcome":S}
 *     D = {"id":N,"kind":"mail"|"webhook"|"digest","customer":S,"level":S,"created":T,
 *          "next_try":T,"tries":N,"state":"queued"|"sent"|"failed","subject":S,
 *          "recipients":S,"last_error":S,"sent_ts":T} (the alert outbox)
 *
 * Acting commands (operators only, see control.h)
 *   suspend|resume {"customer":ID,"reason":S (required, one line, <= 200 bytes)} ->
 *     {"audit_id":N,"customer":S,"action":S,"outcome":S}
 *   ack         {"customer":ID,"reason":S} -> {"audit_id":N,"customer":S,"action":"ack",
 *                "outcome":S,"level":S}
 *     (an acknowledged flag stays until its level rises; it is shown as acknowledged)
 *
 * Events (after "subscribe")
 *   "tick"     {"now":T,"levels":{...}} after every evaluation (each minute, and when a
 *              listing or a reload changed something)
 *   "flag"     F, on every level change
 *   "listing"  {"list":S,"key":S,"event":"listed"|"delisted"|"changed","ts":T}
 *   "audit"    A
 */
#ifndef RW_VIEWS_H
#define RW_VIEWS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "model.h"

#define VIEWS_VERSION	"0.4"

struct control;
struct views;

/* Adds what the daemon owns (capture, lists' health, DNSBL counters) to a status object. */
typedef void (*views_status_fn)(void *arg, json_t *status);
/* Carries out an operator's suspend or resume of customer c (validated, and in the audit
 * log as audit_id with the outcome "requested"); writes what happened, one line, to
 * outcome, which becomes the entry's outcome. -1 refuses it (outcome says why; the entry
 * then says "refused: ..."). */
typedef int (*views_act_fn)(void *arg, const char *action, long c, const char *reason,
    const char *actor, int64_t audit_id, char *outcome, size_t len);

/* Registers the commands on ctl over model m (neither owned). NULL with err. */
struct views *views_new(struct control *ctl, struct model *m, views_status_fn status,
    views_act_fn act, void *arg, int64_t started, char *err, size_t errlen);
/* NULL-safe; the commands stay registered (free the control first). */
void views_free(struct views *v);
/* After a reload that replaced the model. */
void views_set_model(struct views *v, struct model *m);

/* The `status` object (above), as the socket answers it: the metrics endpoint reads the
 * same figures (metrics.h). NULL when out of memory; the caller owns it. */
json_t *views_status(struct views *v);
/* Objects a `customers`, `ranges` or `listings` reply builds in one loop turn at most (0:
 * the default, 256; a slice also ends past 256 KiB of JSON). A reply of more than 16 items
 * (or of more than a slice) is a stream (control_reply_stream): a slice per turn, as the
 * client reads; the line on the wire is the same. What the reply lists is chosen when the
 * request comes; an item gone before its turn (a reload, a listing forgotten) is left out,
 * the others show what they are at their turn. */
void views_set_slice(struct views *v, size_t n);
/* The most objects one loop turn built for a streamed reply so far. */
size_t views_most_per_turn(const struct views *v);

#endif
