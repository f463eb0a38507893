/*
 * store.h — rangewatch's state on disk: one SQLite database in WAL mode under the state
 * directory. SQL never leaves store.c, so another backend can come behind the same
 * interface. Schema versioned, migrated on open. Events that must never be lost (listing
 * events, flag changes and acknowledgements, audit entries, the alert outbox) are
 * committed before the call returns, together with the open batch (inside a hold, at its
 * release: store_hold); bulk state (the current listing of every key, traffic aggregates,
 * per-IP model state, flag score updates) is written in a batch that store_flush()
 * commits, off the hot path, on the caller's timer.
 * Strings given to the store may hold any bytes but NUL: they are stored and read back as
 * they are.
 */
#ifndef RW_STORE_H
#define RW_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* The current state of one (list, key): what the probe last knew. */
struct store_listing {
	const char *list;	/* list name */
	const char *key;	/* "192.0.2.7", "192.0.2.0/24", "AS64500" */
	int scope;		/* enum dnsbl_scope */
	int listed;		/* 1 listed, 0 clean */
	const char *codes;	/* "127.0.0.2 127.0.0.4" */
	const char *txt;	/* escaped TXT */
	int64_t first_seen;	/* listed since (0 when clean) */
	int64_t last_seen;	/* last time seen listed (0 never) */
	int64_t checked;	/* last answer */
};

/* One change: "listed", "delisted", or "changed" (codes or TXT). */
struct store_listing_event {
	int64_t id;		/* filled by the store when read back; see store_last_event_id() */
	int64_t ts;
	const char *event;
	struct store_listing l;
};

/* Opens (creating dir/rangewatch.db when needed) and migrates. -1 with the reason in err. */
int store_open(const char *dir, struct store **out, char *err, size_t errlen);
/* `rangewatchd --repair`: when dir/rangewatch.db is refused (corrupt, or not a database),
 * renames it (with its -wal and -shm) to rangewatch.db.corrupt-YYYYmmddTHHMMSSZ, kept,
 * creates a fresh store and copies into it every row SQLite can still read, table by
 * table (a damaged page ends that table's copy). A healthy store is left alone. 0 with
 * one line of what it did in report, or -1 with the reason in err. */
int store_repair(const char *dir, char *report, size_t replen, char *err, size_t errlen);
/* Commits the open batch and closes. NULL-safe. */
void store_close(struct store *s);
/* Records an event durably (committed before return), and updates the state of its key in
 * the same transaction. -1 with err. */
int store_listing_event(struct store *s, const struct store_listing_event *e, char *err,
    size_t errlen);
/* Updates the state of a key in the open batch (no event: a re-check that changed nothing
 * but times). */
int store_listing_put(struct store *s, const struct store_listing *l, char *err, size_t errlen);
/* Commits the open batch (not inside a hold: its release commits). */
int store_flush(struct store *s, char *err, size_t errlen);
/* Starts a hold: until store_release(), durable writes return without committing and
 * commit together at the release, with the open batch (holds nest; the outermost release
 * commits). For a record and what it sets off, so that a kill between them keeps both or
 * neither. -1 with err. */
int store_hold(struct store *s, char *err, size_t errlen);
/* Ends a hold: keep 1 keeps what was written in it (the outermost release commits it),
 * keep 0 undoes it (what the batch held before stays, uncommitted). -1 with err when the
 * commit failed or an error rolled the held transaction back: then nothing written during
 * the hold is kept. */
int store_release(struct store *s, int keep, char *err, size_t errlen);
/* What must not happen before the writes made so far are durable (a hook request after its
 * audit row): fn(arg, tag, 1) at once when no hold is open (durable writes have committed
 * by then); inside a hold, at the outermost release, fn(arg, tag, 1) when it committed and
 * fn(arg, tag, 0) when it did not (undone, a failed commit, an error that rolled it back);
 * an inner hold undone calls its own with 0 at its release. fn may write to the store (no
 * hold is open then, or the outer one is). At most STORE_AFTER_MAX wait: -1 with err past
 * that (fn is not called; treat it as not committed). */
#define STORE_AFTER_MAX	256
typedef void (*store_after_cb)(void *arg, int64_t tag, int committed);
int store_after(struct store *s, store_after_cb fn, void *arg, int64_t tag, char *err,
    size_t errlen);
/* Bytes SQLite holds in this process now (its page cache - up to STORE_CACHE_KB per
 * connection - statements, schema): the status shows it, so RSS can be told from the
 * cache it is allowed. */
int64_t store_memory(void);
/* The id the last successful store_listing_event() got (0 before any). */
int64_t store_last_event_id(const struct store *s);
/* Calls cb for every stored listing state (at start-up: the probe resumes from it). The
 * strings are valid during the call only; cb must not call the store. */
int store_listing_load(struct store *s, void (*cb)(void *arg, const struct store_listing *l),
    void *arg, char *err, size_t errlen);
/* Calls cb for the events with id > after_id, oldest first, at most limit (0: all). Same
 * rules for cb as store_listing_load(). */
int store_listing_events(struct store *s, int64_t after_id, size_t limit,
    void (*cb)(void *arg, const struct store_listing_event *e), void *arg, char *err,
    size_t errlen);

/* ------------------------------------------------------------------ traffic aggregates */

/* The outbound SMTP of one IP during one period (a minute, or an hour when read back from
 * the hourly table): the increase of its counters over the period, never cumulative. */
struct store_traffic {
	const char *ip;		/* "203.0.113.7" */
	const char *customer;	/* customer id, "" when unassigned */
	int64_t ts;		/* start of the period (a multiple of 60, or of 3600) */
	uint64_t bytes_out;
	uint32_t syn, sessions, mail_from, rcpt_to, data, starttls;
	uint32_t replies_4xx, replies_5xx, cited;
	uint32_t new_dst;	/* destinations not seen before from this IP */
};

/* Adds one minute row (ts is rounded down to the minute) in the open batch, and adds the
 * same counts into the hourly row of its hour (rows of the same (ip, period) add up; the
 * customer is the last one given). */
int store_traffic_put(struct store *s, const struct store_traffic *t, char *err, size_t errlen);
/* Deletes minute rows older than minute_before and hourly rows older than hour_before (in
 * the open batch). Returns rows deleted, -1 with err. */
long store_traffic_prune(struct store *s, int64_t minute_before, int64_t hour_before,
    char *err, size_t errlen);
/* Calls cb for the rows with from <= ts < to, by ts then ip: minute rows (hourly 0) or hourly
 * rows (hourly 1); only those of ip when ip is not NULL, only those of customer when
 * customer is not NULL. Same rules for cb as store_listing_load(). */
int store_traffic_each(struct store *s, int hourly, int64_t from, int64_t to, const char *ip,
    const char *customer, void (*cb)(void *arg, const struct store_traffic *t), void *arg,
    char *err, size_t errlen);

/* ------------------------------------------------------- per-IP model state (baselines) */

/* The risk engine's history of one IP, as opaque bytes (risk.h says what they hold):
 * written in the open batch (replacing the IP's previous state), read back at start. ts is
 * the model's clock (packet time during a replay); the row's "last written" time is the
 * largest ts it was given, so a replay of older captures never makes it look staler. */
int store_ipstate_put(struct store *s, const char *ip, const void *state, size_t len,
    int64_t ts, char *err, size_t errlen);
/* Calls cb for every stored state (len may be 0). Same rules for cb as
 * store_listing_load(). */
int store_ipstate_load(struct store *s, void (*cb)(void *arg, const char *ip,
    const void *state, size_t len), void *arg, char *err, size_t errlen);
/* Deletes the states not written since before (IPs silent for good), in the open batch.
 * Returns rows deleted, -1 with err. */
long store_ipstate_prune(struct store *s, int64_t before, char *err, size_t errlen);

/* ------------------------------------------------------------------ flags and history */

/* A customer's flag: the current one (one row per customer, level "none" included once it
 * had a flag) and, for each change, one history row. */
struct store_flag {
	int64_t id;		/* history id: filled by the store */
	int64_t ts;		/* when the level changed to this one */
	const char *customer;	/* customer id */
	const char *name;	/* customer name (untrusted, kept as is) */
	const char *level;	/* "none", "watch", "warn", "act" */
	const char *previous;	/* the level before */
	double score;
	const char *evidence;	/* a JSON document: evidence lines and neighbourhoods */
	const char *ack_by;	/* acknowledged by (NULL or "" when not) */
	const char *ack_reason;
	int64_t ack_ts;
};

/* Records a level change durably (committed before return): a history row and the current
 * row of the customer, whose acknowledgement is cleared. f->id is ignored; the new history
 * id goes to *id (may be NULL). */
int store_flag_change(struct store *s, const struct store_flag *f, int64_t *id, char *err,
    size_t errlen);
/* Updates score and evidence of the customer's current row without a history row (in the
 * open batch: the level did not change). 0, or 1 when the customer has no current row (then
 * nothing is written), -1 with err. */
int store_flag_update(struct store *s, const char *customer, double score,
    const char *evidence, char *err, size_t errlen);
/* Acknowledges the customer's current flag durably. 0, or 1 when the customer has no
 * current row, -1 with err. */
int store_flag_ack(struct store *s, const char *customer, const char *by, const char *reason,
    int64_t ts, char *err, size_t errlen);
/* Calls cb for every current row (the start-up state), by customer; f->id is the history
 * id of the change that set the level, f->ts when. Same rules for cb as
 * store_listing_load(). */
int store_flag_load(struct store *s, void (*cb)(void *arg, const struct store_flag *f),
    void *arg, char *err, size_t errlen);
/* Calls cb for history rows, newest first, at most limit (0: all), only those of customer
 * when not NULL, only those with id < before_id when before_id > 0 (paging). The ack_
 * fields are "" and 0 (acknowledgements live on the current row only). Same rules for cb
 * as store_listing_load(). */
int store_flag_history(struct store *s, const char *customer, int64_t before_id, size_t limit,
    void (*cb)(void *arg, const struct store_flag *f), void *arg, char *err, size_t errlen);

/* ------------------------------------------------------------------ the audit log */

/* One thing done or asked: an operator's suspend/resume/ack, a hook run, an alert. */
struct store_audit {
	int64_t id;		/* filled by the store */
	int64_t ts;
	const char *actor;	/* "uid 1000 (alice)", "rangewatchd" */
	const char *action;	/* "suspend", "resume", "ack", "hook", ... */
	const char *customer;	/* customer id, "" when none */
	const char *reason;	/* one sanitized line */
	const char *outcome;	/* what happened, one line */
	const char *detail;	/* a JSON document or "" */
};

/* Appends durably (committed before return); the new id goes to *id (may be NULL). */
int store_audit_add(struct store *s, const struct store_audit *a, int64_t *id, char *err,
    size_t errlen);
/* Sets the outcome of entry id durably (a hook that finished), and its detail unless detail
 * is NULL. 0, or 1 when there is no entry id, -1 with err. */
int store_audit_outcome(struct store *s, int64_t id, const char *outcome, const char *detail,
    char *err, size_t errlen);
/* Calls cb for entries newest first, at most limit (0: all), only those of customer when not
 * NULL, only those with id < before_id when before_id > 0. Same rules for cb as
 * store_listing_load(). */
int store_audit_each(struct store *s, const char *customer, int64_t before_id, size_t limit,
    void (*cb)(void *arg, const struct store_audit *a), void *arg, char *err, size_t errlen);

/* ------------------------------------------------------------------ the alert outbox */

/* One alert to deliver: a mail (the whole RFC 5322 message), a webhook POST (the JSON body),
 * or a digest item (a watch-level section of text waiting to be folded into the next digest
 * mail, never sent by itself). Rows are written before any send is tried and marked sent
 * only after the server accepted them, so nothing queued is lost across a crash; a row whose
 * send was cut short stays queued and is sent again. Times are wall-clock UNIX seconds. */
struct store_outbox {
	int64_t id;		/* filled by the store */
	const char *kind;	/* "mail", "webhook", "digest" */
	const char *customer;	/* customer id, "" for a test or a digest */
	const char *level;	/* "watch", "warn", "act", "test", "digest" */
	int64_t created;
	int64_t next_try;	/* due from then on */
	int tries;		/* attempts finished so far */
	const char *state;	/* "queued", "sent", "failed" (read back only) */
	const char *subject;	/* one line, as in the message */
	const char *recipients;	/* envelope recipients, comma-separated ("" for a webhook) */
	const char *payload;	/* the message, the JSON body, or the digest item's text */
	size_t payload_len;	/* read back only */
	const char *last_error;	/* why the last try failed ("" none) */
	int64_t sent_ts;	/* when the server accepted it (0 not yet) */
};

/* Queues o (kind, customer, level, created, next_try, subject, recipients, payload; the rest
 * ignored) durably: committed before return, so the alert exists before any send. Refused
 * with -1 and a loud err when the outbox already holds its bound of queued rows (10000; a
 * mail server down for days must not fill the disk); store_outbox_refused() counts those.
 * The new id goes to *id (may be NULL). */
int store_outbox_add(struct store *s, const struct store_outbox *o, int64_t *id, char *err,
    size_t errlen);
/* Calls cb for the queued mail and webhook rows with next_try <= now, by next_try then id,
 * at most limit (0: all). Same rules for cb as store_listing_load(). */
int store_outbox_due(struct store *s, int64_t now, size_t limit, void (*cb)(void *arg,
    const struct store_outbox *o), void *arg, char *err, size_t errlen);
/* Calls cb for the queued rows of kind ("digest": the items of the next digest), oldest
 * first, at most limit (0: all). Same rules for cb as store_listing_load(). */
int store_outbox_pending(struct store *s, const char *kind, size_t limit, void (*cb)(void *arg,
    const struct store_outbox *o), void *arg, char *err, size_t errlen);
/* Marks queued row id sent at sent_ts (tries + 1, last_error cleared), durably. 0, or 1 when
 * no queued row id (already sent or failed), -1 with err. */
int store_outbox_done(struct store *s, int64_t id, int64_t sent_ts, char *err, size_t errlen);
/* After a failed try: sets tries, next_try and last_error of queued row id, durably. 0, 1
 * when no queued row id, -1 with err. */
int store_outbox_retry(struct store *s, int64_t id, int64_t next_try, int tries,
    const char *error, char *err, size_t errlen);
/* Gives queued row id up (state failed, last_error error), durably. 0, 1 when no queued row
 * id, -1 with err. */
int store_outbox_fail(struct store *s, int64_t id, const char *error, char *err,
    size_t errlen);
/* Queues the digest mail (a store_outbox of kind "mail") and marks the queued digest items
 * items[0..nitems) sent at ts ("in digest ID"), all in one durable transaction (an item is
 * never both pending and in a mail, nor in neither). -1 with err, nothing written, when an
 * item is not a queued digest item. The mail's id goes to *id (may be NULL). No bound check:
 * it takes items out of the queue as it puts one mail in. */
int store_outbox_digest(struct store *s, const struct store_outbox *mail, const int64_t *items,
    size_t nitems, int64_t ts, int64_t *id, char *err, size_t errlen);
/* Calls cb for rows newest first, at most limit (0: all), only those of customer when not
 * NULL, only those with id < before_id when before_id > 0 (`rangewatch alerts`'s delivery
 * rows). Same rules for cb as store_listing_load(). */
int store_outbox_each(struct store *s, const char *customer, int64_t before_id, size_t limit,
    void (*cb)(void *arg, const struct store_outbox *o), void *arg, char *err, size_t errlen);
/* Deletes sent and failed rows created before before (in the open batch; queued rows are
 * never pruned). Returns rows deleted, -1 with err. */
long store_outbox_prune(struct store *s, int64_t before, char *err, size_t errlen);
/* The number of queued rows, -1 with err. */
long store_outbox_queued(struct store *s, char *err, size_t errlen);
/* Adds refused by store_outbox_add() because the outbox was full, since open. */
uint64_t store_outbox_refused(const struct store *s);
/* Sets the bound of queued rows (0: the default, 10000). For tests and a later config key. */
void store_outbox_set_max(struct store *s, size_t max);

/* ------------------------------------------------------------------ suspensions */

/* A customer's suspension state, as the hook last left it. */
struct store_suspension {
	const char *customer;
	const char *state;	/* "suspended", "resumed" */
	int64_t since;
	const char *actor;	/* "rangewatchd (automatic)", "uid 1000 (alice)" */
	int dry_run;		/* the hook ran in dry-run mode: nothing was really done */
	int64_t audit_id;	/* the audit entry of the hook run */
};

/* Records the state durably (one row per customer). -1 with err. */
int store_suspension_set(struct store *s, const struct store_suspension *x, char *err,
    size_t errlen);
/* Calls cb for every row, by customer. Same rules for cb as store_listing_load(). */
int store_suspension_load(struct store *s, void (*cb)(void *arg,
    const struct store_suspension *x), void *arg, char *err, size_t errlen);

/* One complaint report (ARF, X-ARF, JMRP) as an operator gave it. Text: third-party words,
 * escaped by whoever built it. */
struct store_complaint {
	int64_t id;			/* filled when read back */
	int64_t received;		/* when the operator gave it (the daemon's clock) */
	int64_t at;			/* the report's arrival date (when the mail was received) */
	const char *ip;
	const char *customer;		/* "" none */
	const char *kind;		/* "arf", "xarf", "jmrp" */
	const char *feedback_type;	/* "abuse", "spam", ... */
	const char *reported_domain;
	const char *mail_from;
	const char *operator_name;	/* who gave it (from the socket's peer) */
};
/* Records a complaint durably; *id (may be NULL) its id. -1 with err. */
int store_complaint_add(struct store *s, const struct store_complaint *c, int64_t *id,
    char *err, size_t errlen);
/* Calls cb for every complaint whose arrival date is since or later, oldest first. */
int store_complaint_each(struct store *s, int64_t since, void (*cb)(void *arg,
    const struct store_complaint *c), void *arg, char *err, size_t errlen);

#endif
