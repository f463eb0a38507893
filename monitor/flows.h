/*
 * flows.h — flow exports as a second source of outbound SMTP evidence: UDP sockets for
 * sFlow v5, NetFlow v9 and IPFIX (any of the three formats on any of the sockets: the
 * version field tells), an allowlist of exporters by source address, one decoder
 * (probes/flowexp) per exporter, and the step that turns observations into estimates in
 * the traffic table (struct flows_ip, which struct traffic_ip's fx points at).
 *
 * The rules it applies (user documentation in the report and SECURITY.md):
 *  - a datagram from an address not on the allowlist is counted and dropped; nothing is
 *    ever sent back (no amplification);
 *  - a sample or record counts for the client of a TCP connection to port 25 in provider
 *    space (like the capture); samples of the replies (source port 25) never count: a
 *    sample cannot show the handshake that protects against forged replies (flow.c);
 *  - counts are scaled by the sampling rate: the exporter's override in the config, else
 *    the rate in the datagram (sFlow) or the exporter's options records (IPFIX, v9), else
 *    1; each estimate keeps its variance (binomial: samples x rate x (rate - 1)), so its
 *    95% error is 196 sqrt(var) / estimate %, about 196/sqrt(c) % for c samples;
 *  - the model sees only the 95% lower bound of the session estimate (added to the IP's
 *    syn and sessions): a handful of samples adds nothing, and sampled data can only ever
 *    feed the weak, volume-based evidence (sessions); SMTP commands, replies and
 *    rejections, on which strong evidence rests, come only from pcap sensors;
 *  - dedup: an IP a pcap sensor counted within the last pcap_window seconds ignores flow
 *    data (its exact counts win); the samples dropped so are counted.
 */
#ifndef RW_FLOWS_H
#define RW_FLOWS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>

#include "addr.h"
#include "customers.h"
#include "prefixes.h"
#include "traffic.h"

struct loop;

#define FLOWS_PORT_SFLOW	6343
#define FLOWS_PORT_IPFIX	4739
#define FLOWS_PORT_NETFLOW	2055
#define FLOWS_LISTEN_MAX	3

/* One IP's estimates from sampled flow data, never exact counts: each is the samples
 * times the sampling rate, with the variance of that estimate. Made at the IP's first
 * flow observation and owned by flows.c; struct traffic_ip's fx points at it. */
struct flows_ip {
	struct traffic_ip *ip;		/* the record it belongs to */
	double sessions, sessions_var;	/* sessions (SYNs to :25) estimated */
	double packets, packets_var;	/* packets to :25 estimated */
	double rcpt;			/* sampled headers starting "RCPT " x rate: shown only */
	uint32_t samples;		/* samples behind packets */
	uint32_t syn_samples;		/* samples behind sessions */
	uint32_t rate;			/* the largest sampling rate behind them (1: none) */
	uint32_t fed;			/* of the sessions' lower bound, what is in sessions */
	uint32_t stamp;			/* last_seen as flows.c left it (a pcap sensor moved it
					 * when it differs) */
	uint32_t pcap;			/* when a pcap sensor was last seen counting the IP */
};

struct flows_exporter {
	struct rw_addr addr;
	uint32_t sampling;	/* 0: as the exporter says */
};

struct flows_opts {
	const char *listen[FLOWS_LISTEN_MAX];	/* "ADDR[:PORT]" or "" / NULL: none */
	uint16_t port[FLOWS_LISTEN_MAX];	/* the default port of each */
	const struct flows_exporter *exporters;	/* the allowlist (copied) */
	size_t nexporters;
	size_t max_templates;		/* per exporter */
	uint32_t pcap_window;		/* seconds */
	int rcvbuf;			/* bytes asked of the kernel per socket */
};

/* Global counters (per exporter: flows_json). */
struct flows_counts {
	uint64_t datagrams;	/* received on the sockets */
	uint64_t unknown;	/* from an address not on the allowlist: dropped */
	uint64_t rxq_drops;	/* dropped by the kernel, full socket buffers (SO_RXQ_OVFL) */
	uint64_t samples;	/* observations counted for one of our clients */
	uint64_t replies;	/* samples of replies (from port 25): never counted */
	uint64_t dedup;		/* samples dropped: a pcap sensor counts that IP */
	uint64_t unknown_rate;	/* samples whose exporter never said its rate (taken as 1) */
};

struct flows;

/* Parses "ADDR", "ADDR:PORT", "[V6]:PORT" into *ss with defport when none is given. -1 with
 * the reason in msg. */
int flows_parse_listen(const char *s, uint16_t defport, struct sockaddr_storage *ss,
    socklen_t *sslen, char *msg, size_t msglen);
/* Parses an exporter line, "ADDR" or "ADDR sampling N" (1 <= N <= 10^7). -1 with the
 * reason in msg. */
int flows_parse_exporter(const char *s, struct flows_exporter *out, char *msg, size_t msglen);
/* Flow accounting for the space p and customers c (borrowed, as outbound.h). Binds the
 * sockets opts names (do it before dropping privileges: a receive buffer past rmem_max
 * needs root). NULL with err on failure. Nothing is counted before flows_start(). */
struct flows *flows_new(const struct prefixes *p, const struct customers *c,
    const struct flows_opts *opts, char *err, size_t errlen);
/* NULL-safe; closes the sockets. */
void flows_free(struct flows *f);
/* Counts into t (borrowed) from now on, and watches the sockets on l (NULL: none, for
 * tests). -1 on ENOMEM. */
int flows_start(struct flows *f, struct traffic *t, struct loop *l);
/* A reload: new space and customers (not owned). */
void flows_set_space(struct flows *f, const struct prefixes *p, const struct customers *c);
/* A reload: the allowlist becomes ex (copied; an exporter kept keeps its templates and
 * counters, sampling overrides follow the new list) and the pcap window pcap_window.
 * -1 on ENOMEM, the old list unchanged. */
int flows_set_exporters(struct flows *f, const struct flows_exporter *ex, size_t n,
    uint32_t pcap_window);
/* The number of sockets bound. */
size_t flows_nsockets(const struct flows *f);
/* Accounts one datagram from address `from` at time now (s): what the sockets do for each;
 * exposed for tests, the fuzzer and the benchmark. */
void flows_datagram(struct flows *f, const struct rw_addr *from, const uint8_t *buf,
    size_t len, uint32_t now);
void flows_get_counts(const struct flows *f, struct flows_counts *out);
/* Memory the exporters' decoders use, in bytes. */
size_t flows_memory(const struct flows *f);
/* The words of an IP's estimate: "estimated from 1:1000 samples, ±30%". */
void flows_estimate_text(const struct traffic_ip *ip, char *buf, size_t len);
/* The 95% error of an IP's session estimate, in percent (0 unsampled or no samples). */
double flows_error_pct(double est, double var);
/* {"counts":..., "exporters":[...], "ips":[...]} (at most limit IPs, largest first). */
json_t *flows_json(const struct flows *f, size_t limit);
/* The per-IP estimate object of ip, or NULL when flows never counted it. */
json_t *flows_ip_json(const struct traffic_ip *ip);

#endif
