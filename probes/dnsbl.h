/*
 * dnsbl.h — asking the DNSBLs about the provider's IPs, ranges and ASNs: asynchronously with
 * c-ares (never a blocking resolver call, never a hand-written DNS packet), or from the
 * list's local rbldnsd-format file when its definition says `source = file:PATH`. Every A
 * answer goes through dnsbl_classify(); TXT is asked only for listed answers and kept
 * escaped. A list is trusted only after its test points pass (127.0.0.2 listed, 127.0.0.1
 * not); a list that fails them, times out, SERVFAILs, REFUSEs or answers with a refusal
 * code is unhealthy, and its answers are `error` or `blocked`, never `listed` or `clean`.
 * Never more than max_outstanding queries in flight, never above a list's max_qps or its
 * daily budget (what exceeds them waits in a queue, in order).
 *
 * Loop-agnostic: the daemon polls dnsbl_pollfds() and calls dnsbl_process(); the CLI calls
 * dnsbl_run().
 */
#ifndef RW_DNSBL_H
#define RW_DNSBL_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "dnsbl_lists.h"

enum dnsbl_status {
	DNSBL_LISTED,
	DNSBL_CLEAN,
	DNSBL_BLOCKED,		/* the list refused to answer us */
	DNSBL_ERROR		/* we do not know: timeout, SERVFAIL, REFUSED, a bogus answer,
				 * or the list failed its test points */
};

#define DNSBL_MAX_CODES 8

struct dnsbl_result {
	const struct dnsbl_list *list;
	struct rw_addr ip;		/* the IP asked */
	enum dnsbl_status status;
	uint32_t codes[DNSBL_MAX_CODES];	/* A records, host order */
	size_t ncodes;
	char txt[512];			/* TXT strings joined, escaped (text_escape); "" if none */
	char reason[160];		/* why error or blocked; "" otherwise */
	uint32_t ttl;			/* seconds the answer may be cached (negative: SOA minimum),
					 * at most max_ttl (negative: max_neg_ttl) */
	int from_file;			/* answered from the list's local file */
};

enum dnsbl_health {
	DNSBL_H_UNTESTED,
	DNSBL_H_OK,
	DNSBL_H_BLOCKED,	/* refusal code on a test point, e.g. resolver blocked by Spamhaus */
	DNSBL_H_BROKEN		/* 127.0.0.2 not listed, 127.0.0.1 listed, timeouts, SERVFAIL */
};

typedef void (*dnsbl_cb)(void *arg, const struct dnsbl_result *r);
typedef void (*dnsbl_health_cb)(void *arg, const struct dnsbl_list *l, enum dnsbl_health h,
    const char *reason);

struct dnsbl_opts {
	const char *nameservers;	/* "IP[:PORT][,...]"; NULL or "": the system's */
	unsigned timeout_ms;		/* per try (default 2000) */
	unsigned tries;			/* default 3 */
	unsigned max_outstanding;	/* queries in flight at most (default 100: more
					 * overflows rbldnsd's 128 KiB receive buffer) */
	uint32_t max_ttl;		/* an answer's TTL is cut to this (default 1 day) */
	uint32_t max_neg_ttl;		/* an NXDOMAIN's, to this (default 1 hour) */
};

#define DNSBL_MAX_TTL		86400
#define DNSBL_MAX_NEG_TTL	3600

struct dnsbl;

/* NULL with the reason in err (bad nameserver syntax, c-ares failure). */
struct dnsbl *dnsbl_new(const struct dnsbl_opts *o, char *err, size_t errlen);
/* Cancels what is pending (their callbacks run with DNSBL_ERROR "cancelled"). NULL-safe. */
void dnsbl_free(struct dnsbl *d);
/* Asks list l about ip. cb runs exactly once, later (never before return). The list must
 * outlive the query. -1 when out of memory. */
int dnsbl_ask(struct dnsbl *d, const struct dnsbl_list *l, const struct rw_addr *ip,
    dnsbl_cb cb, void *arg);
/* Checks l's test points; cb runs once with the verdict, which dnsbl_health() then returns
 * and which decides how later answers of l are reported. */
int dnsbl_test(struct dnsbl *d, const struct dnsbl_list *l, dnsbl_health_cb cb, void *arg);
enum dnsbl_health dnsbl_health(const struct dnsbl *d, const struct dnsbl_list *l,
    const char **reason);
/* cb runs on every change of a list's health (a test's verdict, a refusal code in an
 * answer, FAIL_STREAK failures in a row), from dnsbl_process(); NULL: none. The engine
 * logs nothing of it itself. */
void dnsbl_on_health(struct dnsbl *d, dnsbl_health_cb cb, void *arg);
/* The descriptors to poll (at most max); returns how many. */
int dnsbl_pollfds(struct dnsbl *d, struct pollfd *fds, int max);
/* Handles what poll() reported on those descriptors, and timeouts. */
void dnsbl_process(struct dnsbl *d, const struct pollfd *fds, int n);
/* Milliseconds until dnsbl_process() must run again, -1 when nothing is pending. */
int dnsbl_timeout_ms(struct dnsbl *d);
/* Queries sent to list l in its current day (what its max_per_day budget counts). */
unsigned long dnsbl_day_used(const struct dnsbl *d, const struct dnsbl_list *l);
/* Queries asked and not yet answered (queued or in flight). */
size_t dnsbl_pending(const struct dnsbl *d);
/* Runs until nothing is pending (for the CLI). */
void dnsbl_run(struct dnsbl *d);

struct dnsbl_stats {
	uint64_t sent, answered, timeouts, retried, from_file;
};
void dnsbl_get_stats(const struct dnsbl *d, struct dnsbl_stats *out);
const char *dnsbl_status_name(enum dnsbl_status s);

/* The query name of ip in zone: reversed octets (IPv4) or nibbles (IPv6). -1 if too long. */
int dnsbl_qname(const struct rw_addr *ip, const char *zone, char *buf, size_t len);
/* What the n A records (host order) of one answer mean together, each classified by
 * dnsbl_classify(): BLOCKED when any is a refusal code, else LISTED when any is listed,
 * else ERROR (also when n is 0); reason (len bytes) says why for BLOCKED and ERROR. */
enum dnsbl_status dnsbl_judge(const struct dnsbl_list *l, const uint32_t *a, size_t n,
    char *reason, size_t len);

#endif
