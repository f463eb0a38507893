/*
 * alert.h — telling the abuse desk: an email (RFC 5322, quoted-printable UTF-8, RFC 2047
 * headers) and a webhook POST (JSON with a Slack/Mattermost-compatible "text" and the whole
 * evidence) for every flag, with a cooldown per customer and level and the `watch` flags
 * gathered into one digest mail per interval.
 *
 * Nothing is lost: every message is a row of the store's outbox (committed before any send
 * is tried) and is marked sent only once the server accepted it (SMTP: the final reply to
 * DATA; HTTP: a 2xx). Sending runs on the daemon's loop through libcurl multi (its sockets
 * and its timer are the loop's), one transfer per row at a time, at most ALERT_XFERS at
 * once. A failed try is retried with exponential backoff (30 s doubling to 1 h, plus up to
 * a quarter of jitter): a mail for [alert] retry_for (7 days), a webhook [webhook] retries
 * times; then the row is marked failed and a warning logged. At start every queued row is
 * due at once. Delivery is at least once: a daemon killed after the server's final reply
 * and before the durable mark sends that one message again after its restart (the window
 * is one SQLite commit wide); a kill at any other moment sends each message exactly once.
 * The one exception: the outbox holds at most 10,000 queued rows (store.h), so that a
 * server down for days cannot fill the disk; an alert past that is refused, counted
 * (outbox_full) and logged once until the outbox has room again.
 *
 * Config ([alert], [webhook]; config.h): smtp_url "" = no mail, webhook url "" = no POST.
 * tls = auto means STARTTLS required unless the smtp:// host is localhost, 127.0.0.1 or
 * ::1 (opportunistic there): opportunistic STARTTLS can be stripped silently by anyone on
 * the path, who then reads the customer's evidence and the AUTH password; a local MTA has
 * no path to strip. smtps:// is TLS from the first byte whatever tls says.
 */
#ifndef RW_ALERT_H
#define RW_ALERT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

struct alert;
struct loop;
struct report;
struct rw_config;
struct store;

#define ALERT_XFERS	4	/* transfers at once */

struct alert_stats {
	uint64_t queued;	/* outbox rows written (mails, POSTs, digest items) */
	uint64_t held;		/* flags held back by the cooldown */
	uint64_t digests;	/* digest mails made */
	uint64_t sent;		/* rows the server accepted */
	uint64_t retried;	/* failed tries rescheduled */
	uint64_t failed;	/* rows given up */
	uint64_t refused;	/* rows the store refused (outbox full or write error) */
	uint64_t outbox_full;	/* of those, refused because the outbox was at its bound */
	size_t in_flight;	/* transfers running now */
};

/* Starts sending on loop l from store st (neither owned; both must outlive the alert) with
 * cfg's [alert] and [webhook] (copied). Every queued row is due at once. NULL with err. */
struct alert *alert_new(struct loop *l, struct store *st, const struct rw_config *cfg,
    char *err, size_t errlen);
/* A reload: copies cfg's keys; transfers running finish with the old ones. -1 with err
 * (out of memory: the old config stays). */
int alert_set_config(struct alert *a, const struct rw_config *cfg, char *err, size_t errlen);
/* Aborts running transfers (their rows stay queued: sent again at the next start). Call it
 * before loop_free(). NULL-safe. */
void alert_free(struct alert *a);
/* A customer's level changed: r is its flag (report.h: level, previous level, evidence,
 * neighbourhoods, addresses; read, not kept), action_line what was done or is recommended
 * ("hook: suspend dry-run ok", "recommended: suspend"; NULL none), now the model's clock
 * (cooldown). Queues a mail (or, for watch with a digest interval, a digest item) and a
 * webhook POST, as configured. Returns the rows queued: 0 when level none, held by the
 * cooldown (counted) or nothing configured; -1 with err when the store failed (log it
 * loudly: that alert is lost); -2 when the outbox is at its bound (the alert is lost too,
 * but counted in outbox_full and logged here, once until the outbox has room again: do not
 * log it per alert). */
int alert_flag(struct alert *a, const struct report *r, const char *action_line, int64_t now,
    char *err, size_t errlen);
/* Queues a test mail to every configured recipient and a test POST. Returns the rows
 * queued, -1 with err (also when the outbox is full: an operator asked). */
int alert_test(struct alert *a, char *err, size_t errlen);
/* A notice of the daemon's own to every recipient (a hook that failed, the circuit breaker
 * opening): the subject is the prefix and what (one line, escaped), the body as given
 * (escaped as any body). No cooldown. Returns rows queued, -1 with err, -2 as alert_flag. */
int alert_notice(struct alert *a, const char *customer, const char *what, const char *body,
    char *err, size_t errlen);
/* Once a minute or so: makes the digest mail when its interval has passed since its oldest
 * item (wall_now: UNIX seconds), and starts due sends. */
void alert_tick(struct alert *a, int64_t wall_now);
void alert_stats(const struct alert *a, struct alert_stats *out);

/* --- the parts, pure (exported for the unit tests) --- */

/* One header field, folded to lines of at most 78 characters, ending in CRLF: value is
 * untrusted (text_escape()d: no CR, LF or control character survives), words holding
 * non-ASCII (or "=?", or too long to fold) become RFC 2047 encoded-words (UTF-8, base64,
 * each at most 75 characters). malloc'd, NULL when out of memory. */
char *alert_header(const char *name, const char *value);
/* text (UTF-8, '\n' line ends) as quoted-printable with CRLF line ends, lines at most 76
 * characters, a leading '.' and "From " encoded. malloc'd, NULL when out of memory. */
char *alert_qp(const char *text);
/* "PREFIX LEVEL ID NAME: KEY at I/T impacts toward POLICY" of the worst neighbourhood, or
 * the flag's reason when it has none (raw UTF-8, untrusted text escaped). malloc'd. */
char *alert_subject(const char *prefix, const struct report *r);
/* The evidence in plain words ("was" r's previous level), '\n' line ends, untrusted text
 * escaped. malloc'd, NULL when out of memory. */
char *alert_body(const struct report *r, const char *action_line);
/* The whole message: from (one address), to (comma-separated addresses), subject and body
 * as above, dated date. CRLF line ends. malloc'd, NULL when out of memory. */
char *alert_message(const char *from, const char *to, const char *subject, const char *body,
    time_t date);
/* The webhook's JSON body (a new reference): a Slack/Mattermost "text", customer, name,
 * level, previous, action, and the customer object of report_json() as "evidence". */
json_t *alert_webhook_json(const struct report *r, const char *action_line,
    const char *subject);
/* Tests: the first retry after base seconds, doubling up to max. */
void alert_set_retry(struct alert *a, int64_t base, int64_t max);

#endif
