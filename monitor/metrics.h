/*
 * metrics.h — GET /metrics in the Prometheus text format (0.0.4), on an address from the
 * config ([rangewatch] metrics = 127.0.0.1:9466; off by default). The HTTP side is
 * libmicrohttpd in its external mode (no thread of its own): its epoll descriptor is one
 * source of the daemon's loop, so a scrape is one more event of the loop, never a thread
 * that reads the model while the loop writes it.
 *
 * The figures are the `status` object's (views.h): one function builds them for the
 * control socket and for this endpoint, so the two never disagree. metrics_render() maps
 * that object to metric families through a table in metrics.c: a figure added to status
 * (the capture's ring fill, say) becomes a metric by one row there.
 *
 * Naming: rangewatch_ prefix, base units (seconds, bytes, ratios), counters end in _total,
 * one HELP and TYPE per name. Labels take only bounded sets (list, scope, policy, level,
 * health, result, band, version): never an IP, a range, a customer or a TXT.
 */
#ifndef RW_METRICS_H
#define RW_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>

struct loop;
struct metrics;

/* The status object of the daemon (the caller of the callback owns it); NULL: out of
 * memory (the scrape gets a 500). */
typedef json_t *(*metrics_status_fn)(void *arg);

/* "IPv4:PORT" or "[IPv6]:PORT", numeric only (the endpoint never resolves a name), port
 * 1-65535. -1 with the reason in err. */
int metrics_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len,
    char *err, size_t errlen);

/* Listens on addr and serves on loop l (not owned) until metrics_free. NULL with err. */
struct metrics *metrics_new(struct loop *l, const char *addr, metrics_status_fn fn,
    void *arg, char *err, size_t errlen);
/* Stops listening, closes the connections. NULL-safe. */
void metrics_free(struct metrics *m);

/* What a request gets, from its method and path alone. */
enum metrics_route {
	METRICS_R_METRICS,	/* GET or HEAD /metrics: the exposition */
	METRICS_R_INDEX,	/* GET or HEAD /: a line that points to /metrics */
	METRICS_R_NOT_FOUND,	/* any other path */
	METRICS_R_BAD_METHOD	/* a known path with another method (405) */
};
enum metrics_route metrics_route(const char *method, const char *url);

/* The exposition of status (a `status` object), NUL-terminated, its length in *len; the
 * caller frees it. NULL when out of memory or past METRICS_MAX_TEXT. */
#define METRICS_MAX_TEXT	(4u << 20)
char *metrics_render(const json_t *status, size_t *len);

/* Bytes of the SQLite store under state_dir (the database and its WAL), 0 when absent. */
int64_t metrics_store_bytes(const char *state_dir);
/* Microseconds of CLOCK_MONOTONIC (for timing a flush). */
int64_t metrics_now_us(void);

#endif
