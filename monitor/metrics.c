/*
 * metrics.c — the Prometheus endpoint (metrics.h): libmicrohttpd in external mode on the
 * daemon's loop, and the mapping of the `status` object to metric families.
 *
 * For: letting Prometheus scrape what `rangewatch status` shows.
 * Owns: the MHD daemon (its listening socket, its connections, its epoll descriptor) and
 * each response's text until MHD has sent it.
 * Must never: start a thread (MHD runs only when the loop calls it), read anything from a
 * request but its method and path (no body, no query, no header is used), put an IP, a
 * range, a customer or a TXT into a label, or answer without bounds (connections, their
 * memory and their idle time are capped: the endpoint faces whoever reaches the address).
 */
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <microhttpd.h>

#include "loop.h"

#define MAX_CONNS	16	/* scrapers at once (Prometheus uses one per target) */
#define MAX_PER_IP	4
#define CONN_TIMEOUT	10	/* seconds a silent connection is kept */
#define CONN_MEMORY	(32 * 1024)	/* a request's headers fit or it is refused */
#define CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

struct metrics {
	struct MHD_Daemon *mhd;
	struct loop *loop;
	int epfd;
	metrics_status_fn status;
	void *arg;
};

/* ------------------------------------------------------------------ the text */

/* The exposition as it grows: capped, and once out of memory it stays failed. */
struct buf {
	char *p;
	size_t len, cap;
	int failed;
};

static void
put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t need, ncap;
	char *np;
	int n;

	if (b->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	need = b->len + (size_t)n + 1;
	if (need > b->cap) {
		if (need > METRICS_MAX_TEXT) {
			b->failed = 1;
			return;
		}
		for (ncap = b->cap ? b->cap : 8192; ncap < need; ncap *= 2)
			;
		if ((np = realloc(b->p, ncap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

/* A label value as the format wants it: \\, \" and \n escaped; other control bytes (the
 * names are checked at load; this is the last line of defence) become '?'. */
static void
put_label_value(struct buf *b, const char *v)
{
	for (; *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;

		if (c == '\\')
			put(b, "\\\\");
		else if (c == '"')
			put(b, "\\\"");
		else if (c == '\n')
			put(b, "\\n");
		else if (c < 0x20 || c == 0x7f)
			put(b, "?");
		else
			put(b, "%c", c);
	}
}

static void
put_value(struct buf *b, double v)
{
	if (isnan(v))
		put(b, "NaN\n");
	else if (isinf(v))
		put(b, v > 0 ? "+Inf\n" : "-Inf\n");
	else if (v == floor(v) && fabs(v) < 9007199254740992.0)
		put(b, "%.0f\n", v);
	else
		put(b, "%.17g\n", v);
}

static void
family(struct buf *b, const char *name, const char *type, const char *help)
{
	put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample; labels are NULL-terminated name, value pairs (NULL: none). */
static void
sample(struct buf *b, const char *name, const char *const *labels, double v)
{
	size_t i;

	put(b, "%s", name);
	if (labels != NULL && labels[0] != NULL) {
		put(b, "{");
		for (i = 0; labels[i] != NULL && labels[i + 1] != NULL; i += 2) {
			put(b, "%s%s=\"", i ? "," : "", labels[i]);
			put_label_value(b, labels[i + 1]);
			put(b, "\"");
		}
		put(b, "}");
	}
	put(b, " ");
	put_value(b, v);
}

/* The value at a dotted path of o ("capture.packets"); NULL when absent or not a
 * number. */
static const json_t *
at(const json_t *o, const char *path)
{
	char key[64];
	const char *dot;
	size_t n;

	while (o != NULL && (dot = strchr(path, '.')) != NULL) {
		n = (size_t)(dot - path);
		if (n >= sizeof key)
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		o = json_object_get(o, key);
		path = dot + 1;
	}
	o = json_object_get(o, path);
	return json_is_number(o) ? o : NULL;
}

/* A figure of the status object that is one sample without labels. Adding a figure to
 * `status` and a row here is all it takes to export it. */
struct scalar {
	const char *path;	/* in the status object */
	const char *name;
	const char *type;	/* "counter" (name ends in _total) or "gauge" */
	double scale;		/* to base units: ms -> s is 1e-3 */
	const char *help;
};

static const struct scalar scalars[] = {
	{ "started", "rangewatch_start_time_seconds", "gauge", 1,
	    "When the daemon started (UNIX time)." },
	{ "customers", "rangewatch_customers", "gauge", 1,
	    "Customers in the customer map." },
	{ "ips", "rangewatch_sender_ips", "gauge", 1,
	    "Sender IPs the capture tracks." },
	{ "tracked_ips", "rangewatch_risk_ips", "gauge", 1,
	    "IPs with history in the risk engine." },
	{ "tracked_ips_refused", "rangewatch_risk_ips_refused_total", "counter", 1,
	    "Observations and listings of IPs the risk engine turned away ([risk] max_ips)." },
	{ "tracked_ips_evicted", "rangewatch_risk_ips_evicted_total", "counter", 1,
	    "IPs the risk engine forgot to make room." },
	{ "evaluated", "rangewatch_last_evaluation_timestamp_seconds", "gauge", 1,
	    "When the risk engine last evaluated (model clock, UNIX time)." },
	{ "evaluation_ms", "rangewatch_evaluation_seconds", "gauge", 1e-3,
	    "Wall time of the last risk evaluation." },
	{ "minute_ms", "rangewatch_minute_work_seconds", "gauge", 1e-3,
	    "Wall time of the last minute's whole work (counters, model, store)." },
	{ "capture.packets", "rangewatch_capture_packets_total", "counter", 1,
	    "Packets the capture read." },
	{ "capture.smtp", "rangewatch_capture_smtp_frames_total", "counter", 1,
	    "Frames of SMTP connections the capture decoded." },
	{ "capture.malformed", "rangewatch_capture_malformed_total", "counter", 1,
	    "Frames the decoder refused as malformed." },
	{ "capture.truncated", "rangewatch_capture_truncated_total", "counter", 1,
	    "Frames cut by the snap length." },
	{ "capture.drops", "rangewatch_capture_kernel_drops_total", "counter", 1,
	    "Packets the kernel dropped before the capture read them (its ring was full)." },
	{ "capture.ifdrops", "rangewatch_capture_interface_drops_total", "counter", 1,
	    "Packets the interface dropped." },
	{ "capture.ring_fill", "rangewatch_capture_ring_fill_ratio", "gauge", 1,
	    "How full the capture's ring is (0 to 1)." },
	{ "capture.connections_active", "rangewatch_capture_connections", "gauge", 1,
	    "SMTP connections followed now." },
	{ "capture.connections_untracked", "rangewatch_capture_connections_untracked_total",
	    "counter", 1, "New connections not followed ([capture] max_flows reached)." },
	{ "capture.sources_untracked", "rangewatch_capture_sources_untracked_total",
	    "counter", 1, "SMTP frames of sources past [capture] max_ips." },
	{ "dnsbl.skipped_unhealthy", "rangewatch_dnsbl_skipped_unhealthy_total", "counter", 1,
	    "DNSBL queries not asked because their list was blocked or broken." },
	{ "dnsbl.listed", "rangewatch_dnsbl_listed_keys", "gauge", 1,
	    "Keys (IPs, ranges, ASNs) listed now, all lists together." },
	{ "dnsbl.listed_events", "rangewatch_dnsbl_listed_events_total", "counter", 1,
	    "Keys that became listed." },
	{ "dnsbl.delisted_events", "rangewatch_dnsbl_delisted_events_total", "counter", 1,
	    "Keys that stopped being listed." },
	{ "dnsbl.last_answer", "rangewatch_dnsbl_last_answer_timestamp_seconds", "gauge", 1,
	    "When the last DNSBL answer came (UNIX time)." },
	{ "alerts.queued_total", "rangewatch_alerts_queued_total", "counter", 1,
	    "Alert messages queued (mail, webhook, digests)." },
	{ "alerts.sent", "rangewatch_alerts_sent_total", "counter", 1,
	    "Alert messages delivered." },
	{ "alerts.failed", "rangewatch_alerts_failed_total", "counter", 1,
	    "Alert messages given up on after their retries." },
	{ "alerts.retried", "rangewatch_alerts_retried_total", "counter", 1,
	    "Alert delivery attempts that failed and were retried." },
	{ "alerts.refused", "rangewatch_alerts_refused_total", "counter", 1,
	    "Alerts the store refused to queue (the outbox full, among others)." },
	{ "alerts.outbox", "rangewatch_alerts_outbox", "gauge", 1,
	    "Alert messages waiting in the outbox." },
	{ "hooks.runs", "rangewatch_hook_runs_total", "counter", 1,
	    "Runs of the suspend/resume hook." },
	{ "hooks.failed", "rangewatch_hook_failures_total", "counter", 1,
	    "Hook runs that failed (exit status, signal or timeout)." },
	{ "hooks.refused", "rangewatch_hook_refused_total", "counter", 1,
	    "Hook runs the runner would not take (rate limits, dry run rules)." },
	{ "hooks.breaker", "rangewatch_hook_breaker_stops_total", "counter", 1,
	    "Automatic suspensions the circuit breaker stopped." },
	{ "hooks.pending", "rangewatch_hook_pending", "gauge", 1,
	    "Hook runs waiting or under way." },
	{ "store_memory", "rangewatch_store_memory_bytes", "gauge", 1,
	    "Memory SQLite holds (page cache and the rest)." },
	{ "store.bytes", "rangewatch_store_size_bytes", "gauge", 1,
	    "Size of the store on disk (database and write-ahead log)." },
	{ "store.flushes", "rangewatch_store_flushes_total", "counter", 1,
	    "Batched writes of the state to the store." },
	{ "store.flush_errors", "rangewatch_store_flush_errors_total", "counter", 1,
	    "Batched writes that failed." },
	{ "store.flush_seconds", "rangewatch_store_flush_seconds_total", "counter", 1,
	    "Wall time spent in batched writes." },
	{ "store.last_flush_seconds", "rangewatch_store_last_flush_seconds", "gauge", 1,
	    "Wall time of the last batched write." },
	{ "loop.turns", "rangewatch_loop_turns_total", "counter", 1,
	    "Turns of the event loop." },
	{ "loop.busy_seconds", "rangewatch_loop_busy_seconds_total", "counter", 1,
	    "Wall time the event loop spent working (not waiting)." },
	{ "loop.max_turn_seconds", "rangewatch_loop_turn_max_seconds", "gauge", 1,
	    "The longest turn of the event loop since the start." },
	{ "loop.p99_us", "rangewatch_loop_turn_p99_seconds", "gauge", 1e-6,
	    "The 99th percentile of the event loop's turns since the start." },
	{ "loop.over_100ms", "rangewatch_loop_slow_turns_total", "counter", 1,
	    "Turns of the event loop that worked over 100 ms." },
	{ "capture.ring.lost", "rangewatch_capture_handover_lost_total", "counter", 1,
	    "Capture events the hand-over ring to the main loop refused (it was full)." },
	{ "capture.ring.backlog", "rangewatch_capture_handover_backlog", "gauge", 1,
	    "Capture events waiting in the hand-over ring." },
	{ "capture.ring.capacity", "rangewatch_capture_handover_capacity", "gauge", 1,
	    "Capture events the hand-over ring holds." },
	{ "capture.sources_evicted", "rangewatch_capture_sources_evicted_total", "counter", 1,
	    "Idle sources the capture's table forgot to make room ([capture] max_ips)." },
	{ "control.clients", "rangewatch_control_clients", "gauge", 1,
	    "Clients on the control socket." },
	{ "control.requests", "rangewatch_control_requests_total", "counter", 1,
	    "Requests on the control socket." },
	{ "control.refused", "rangewatch_control_refused_total", "counter", 1,
	    "Control connections refused (over max_clients or the per-user cap)." },
};

static void
render_scalars(struct buf *b, const json_t *st)
{
	const json_t *v;
	size_t i;

	for (i = 0; i < sizeof scalars / sizeof scalars[0]; i++) {
		if ((v = at(st, scalars[i].path)) == NULL)
			continue;
		family(b, scalars[i].name, scalars[i].type, scalars[i].help);
		sample(b, scalars[i].name, NULL, json_number_value(v) * scalars[i].scale);
	}
}

static double
num(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static void
render_levels(struct buf *b, const json_t *st)
{
	static const char *const lv[] = { "watch", "warn", "act" };
	const json_t *levels = json_object_get(st, "levels");
	double total = num(st, "customers"), flagged = 0;
	size_t i;

	if (!json_is_object(levels))
		return;
	family(b, "rangewatch_customers_at_level", "gauge",
	    "Customers at each level (none, watch, warn, act).");
	for (i = 0; i < 3; i++) {
		const char *l[] = { "level", lv[i], NULL };

		sample(b, "rangewatch_customers_at_level", l, num(levels, lv[i]));
		flagged += num(levels, lv[i]);
	}
	sample(b, "rangewatch_customers_at_level", (const char *const[]){ "level", "none",
	    NULL }, total > flagged ? total - flagged : 0);
}

static void
render_policies(struct buf *b, const json_t *st)
{
	static const char *const bands[] = { "below", "warn", "act", "over" };
	const json_t *arr = json_object_get(st, "policies"), *p;
	size_t i, j;

	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return;
	family(b, "rangewatch_neighbourhoods", "gauge", "Neighbourhoods (ranges, ASNs) with an "
	    "impact or a suspect, per policy and band of projected pressure (below warn_at, "
	    "from warn_at, from act_at, from 1).");
	json_array_foreach(arr, i, p)
		for (j = 0; j < 4; j++) {
			const char *l[] = { "policy", str(p, "name"), "scope", str(p, "scope"),
			    "band", bands[j], NULL };

			sample(b, "rangewatch_neighbourhoods", l,
			    num(json_object_get(p, "bands"), bands[j]));
		}
	family(b, "rangewatch_neighbourhood_pressure_max_ratio", "gauge", "The worst "
	    "pressure (impacts over threshold) of a neighbourhood, per policy.");
	json_array_foreach(arr, i, p) {
		const char *l[] = { "policy", str(p, "name"), "scope", str(p, "scope"), NULL };

		sample(b, "rangewatch_neighbourhood_pressure_max_ratio", l, num(p,
		    "pressure_max"));
	}
	family(b, "rangewatch_neighbourhood_projected_pressure_max_ratio", "gauge", "The worst "
	    "projected pressure (estimated impacts over threshold, what the levels use) of a "
	    "neighbourhood, per policy.");
	json_array_foreach(arr, i, p) {
		const char *l[] = { "policy", str(p, "name"), "scope", str(p, "scope"), NULL };

		sample(b, "rangewatch_neighbourhood_projected_pressure_max_ratio", l, num(p,
		    "projected_max"));
	}
	family(b, "rangewatch_neighbourhood_time_to_threshold_seconds", "gauge", "The "
	    "shortest time until a neighbourhood reaches its threshold at the current pace, "
	    "per policy (0: one is there; +Inf: none is on its way).");
	json_array_foreach(arr, i, p) {
		const char *l[] = { "policy", str(p, "name"), "scope", str(p, "scope"), NULL };
		const json_t *eta = json_object_get(p, "eta_seconds");

		sample(b, "rangewatch_neighbourhood_time_to_threshold_seconds", l,
		    json_is_number(eta) ? json_number_value(eta) : INFINITY);
	}
}

static void
render_lists(struct buf *b, const json_t *st)
{
	static const char *const health[] = { "ok", "blocked", "broken", "unknown" };
	const json_t *arr = json_object_get(st, "lists"), *l;
	size_t i, j;

	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return;
	family(b, "rangewatch_listings", "gauge", "Keys listed now on each list.");
	json_array_foreach(arr, i, l) {
		const char *lb[] = { "list", str(l, "name"), "scope", str(l, "scope"), NULL };

		sample(b, "rangewatch_listings", lb, num(l, "listed"));
	}
	family(b, "rangewatch_list_health", "gauge", "1 for the list's health now (ok, blocked: "
	    "the list refuses our resolver, broken: its test points fail, unknown: not tested "
	    "or disabled), 0 for the others.");
	json_array_foreach(arr, i, l)
		for (j = 0; j < 4; j++) {
			const char *lb[] = { "list", str(l, "name"), "health", health[j], NULL };

			sample(b, "rangewatch_list_health", lb,
			    strcmp(str(l, "health"), health[j]) == 0);
		}
	family(b, "rangewatch_list_enabled", "gauge", "1 when the list is enabled.");
	json_array_foreach(arr, i, l) {
		const char *lb[] = { "list", str(l, "name"), NULL };

		sample(b, "rangewatch_list_enabled", lb,
		    json_is_true(json_object_get(l, "enabled")));
	}
	family(b, "rangewatch_dnsbl_day_queries", "gauge", "Queries sent to the list in its "
	    "current day (what max_per_day counts).");
	json_array_foreach(arr, i, l) {
		const char *lb[] = { "list", str(l, "name"), NULL };

		sample(b, "rangewatch_dnsbl_day_queries", lb, num(l, "day_used"));
	}
	family(b, "rangewatch_dnsbl_day_budget", "gauge", "The list's max_per_day (lists "
	    "with a budget only).");
	json_array_foreach(arr, i, l) {
		const char *lb[] = { "list", str(l, "name"), NULL };

		if (num(l, "max_per_day") > 0)
			sample(b, "rangewatch_dnsbl_day_budget", lb, num(l, "max_per_day"));
	}
}

/* Queries and answers per list, answers by result: sum() over list gives the totals. */
static void
render_answers(struct buf *b, const json_t *st)
{
	static const char *const res[] = { "listed", "clean", "blocked", "error" };
	const json_t *arr = json_object_get(st, "lists"), *l;
	size_t i, j;

	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return;
	family(b, "rangewatch_dnsbl_queries_total", "counter", "DNSBL queries asked of the "
	    "list (its test points not counted).");
	json_array_foreach(arr, i, l) {
		const char *lb[] = { "list", str(l, "name"), NULL };

		sample(b, "rangewatch_dnsbl_queries_total", lb, num(l, "asked"));
	}
	family(b, "rangewatch_dnsbl_answers_total", "counter", "DNSBL answers of the list by "
	    "result (error: timeout, SERVFAIL, REFUSED, a bogus answer or an unhealthy list).");
	json_array_foreach(arr, i, l)
		for (j = 0; j < 4; j++) {
			const char *lb[] = { "list", str(l, "name"), "result", res[j], NULL };

			sample(b, "rangewatch_dnsbl_answers_total", lb,
			    num(json_object_get(l, "answers"), res[j]));
		}
}

char *
metrics_render(const json_t *st, size_t *len)
{
	struct buf b = { NULL, 0, 0, 0 };
	const char *version[] = { "version", str(st, "version"), NULL };

	family(&b, "rangewatch_build_info", "gauge", "Always 1; the version of the status "
	    "protocol in a label.");
	sample(&b, "rangewatch_build_info", version, 1);
	render_scalars(&b, st);
	render_levels(&b, st);
	render_policies(&b, st);
	render_lists(&b, st);
	render_answers(&b, st);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* ------------------------------------------------------------------ HTTP */

enum metrics_route
metrics_route(const char *method, const char *url)
{
	int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

	if (strcmp(url, "/metrics") == 0)
		return get ? METRICS_R_METRICS : METRICS_R_BAD_METHOD;
	if (strcmp(url, "/") == 0)
		return get ? METRICS_R_INDEX : METRICS_R_BAD_METHOD;
	return METRICS_R_NOT_FOUND;
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned status, const char *type, char *text, size_t len,
    int owned)
{
	struct MHD_Response *r;
	enum MHD_Result rc;

	r = MHD_create_response_from_buffer(len, text, owned ? MHD_RESPMEM_MUST_FREE :
	    MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		if (owned)
			free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

#define PLAIN	"text/plain; charset=utf-8"

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	static char index[] = "rangewatch: the metrics are at /metrics\n";
	static char notfound[] = "not found: the metrics are at /metrics\n";
	static char badmethod[] = "method not allowed: GET or HEAD\n";
	static char oom[] = "out of memory\n";
	struct metrics *m = cls;
	json_t *st;
	char *text;
	size_t len;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)con_cls;
	switch (metrics_route(method, url)) {
	case METRICS_R_INDEX:
		return reply(c, MHD_HTTP_OK, PLAIN, index, sizeof index - 1, 0);
	case METRICS_R_NOT_FOUND:
		return reply(c, MHD_HTTP_NOT_FOUND, PLAIN, notfound, sizeof notfound - 1, 0);
	case METRICS_R_BAD_METHOD:
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, PLAIN, badmethod,
		    sizeof badmethod - 1, 0);
	case METRICS_R_METRICS:
		break;
	}
	st = m->status(m->arg);
	text = st != NULL ? metrics_render(st, &len) : NULL;
	json_decref(st);
	if (text == NULL)
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, PLAIN, oom, sizeof oom - 1, 0);
	return reply(c, MHD_HTTP_OK, CONTENT_TYPE, text, len, 1);
}

/* The loop's source: MHD's one epoll descriptor, and its own timeouts. */
static int
src_fill(void *arg, struct pollfd *fds, int max)
{
	struct metrics *m = arg;

	if (max < 1)
		return 0;
	fds[0] = (struct pollfd){ m->epfd, POLLIN, 0 };
	return 1;
}

static void
src_dispatch(void *arg, const struct pollfd *fds, int n)
{
	struct metrics *m = arg;
	MHD_UNSIGNED_LONG_LONG ms;

	/* run on readiness, and when MHD has a timeout due (idle connections to close) */
	if ((n > 0 && fds[0].revents != 0) ||
	    (MHD_get_timeout(m->mhd, &ms) == MHD_YES && ms == 0))
		MHD_run(m->mhd);
}

static int
src_timeout(void *arg)
{
	struct metrics *m = arg;
	MHD_UNSIGNED_LONG_LONG ms;

	if (MHD_get_timeout(m->mhd, &ms) != MHD_YES)
		return -1;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

int
metrics_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len, char *err,
    size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *h = s;
	size_t hlen;
	char *end;
	long port;

	memset(ss, 0, sizeof *ss);
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			goto bad;
		h = s + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL || strchr(s, ':') != colon)
			goto bad;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof host)
		goto bad;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 || port < 1 ||
	    port > 65535) {
		snprintf(err, errlen, "the port must be a number from 1 to 65535");
		return -1;
	}
	if (s[0] != '[') {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			goto bad;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*len = sizeof *sin;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			goto bad;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*len = sizeof *sin6;
	}
	return 0;
bad:
	snprintf(err, errlen, "not an address: IPv4:PORT or [IPv6]:PORT, numeric (e.g. "
	    "127.0.0.1:9466)");
	return -1;
}

struct metrics *
metrics_new(struct loop *l, const char *addr, metrics_status_fn fn, void *arg, char *err,
    size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct metrics *m;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_EPOLL;
	struct loop_source src;

	if (metrics_parse_addr(addr, &ss, &sslen, err, errlen) == -1)
		return NULL;
	if ((m = calloc(1, sizeof *m)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->loop = l;
	m->status = fn;
	m->arg = arg;
	m->epfd = -1;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* port 0 would be MHD's "no listening socket": the address check refuses it */
	errno = 0;
	m->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, m,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNS,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)MAX_PER_IP,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
	    MHD_OPTION_END);
	if (m->mhd == NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", addr,
		    errno != 0 ? strerror(errno) : "libmicrohttpd refused to start");
		goto fail;
	}
	if ((info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD)) == NULL ||
	    info->epoll_fd < 0) {
		snprintf(err, errlen, "libmicrohttpd has no epoll descriptor");
		goto fail;
	}
	m->epfd = info->epoll_fd;
	src = (struct loop_source){ src_fill, src_dispatch, src_timeout, m };
	if (loop_source(l, &src) == -1) {
		snprintf(err, errlen, "the loop has no room for another source");
		goto fail;
	}
	return m;
fail:
	if (m->mhd != NULL)
		MHD_stop_daemon(m->mhd);
	free(m);
	return NULL;
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	loop_source_del(m->loop, m);
	MHD_stop_daemon(m->mhd);
	free(m);
}

int64_t
metrics_store_bytes(const char *state_dir)
{
	static const char *const files[] = { "rangewatch.db", "rangewatch.db-wal" };
	char path[PATH_MAX];
	struct stat sb;
	int64_t total = 0;
	size_t i;

	for (i = 0; i < sizeof files / sizeof files[0]; i++) {
		if (snprintf(path, sizeof path, "%s/%s", state_dir, files[i]) >= (int)sizeof path)
			continue;
		if (stat(path, &sb) == 0)
			total += (int64_t)sb.st_size;
	}
	return total;
}

int64_t
metrics_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
