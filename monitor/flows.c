/*
 * flows.c — flow exports in, estimates out (flows.h says the rules). Owns the UDP sockets
 * (bound at start, before the privilege drop; never written to: an exporter gets no
 * answer), one decoder per allowlisted exporter (probes/flowexp) and the per-IP
 * estimate records (struct flows_ip, which the traffic records' fx point at); borrows
 * the traffic table, the space and the customer map like outbound.c does. Never: counts a sample for an IP outside provider space, counts a
 * sampled reply, or touches the exact SMTP counters (commands, replies, citations).
 */
#include "flows.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "decode.h"
#include "flowexp.h"
#include "ingest.h"
#include "log.h"
#include "loop.h"

#define RECV_BATCH	256	/* datagrams read per wake-up: no loop turn is long */
#define FX_CHUNK	4096	/* per-IP estimate records allocated at a time */
#define DGRAM_MAX	65536
#define Z95		1.96

struct exporter {
	struct rw_addr addr;
	uint32_t sampling;	/* config override, 0: as the exporter says */
	struct flowexp *dec;
	uint64_t datagrams, bytes, samples;
	uint32_t last;		/* time of its last datagram */
};

struct flows {
	struct traffic *traffic;
	const struct prefixes *space;
	const struct customers *customers;
	struct exporter *exp;
	size_t nexp, last_exp, max_templates;
	uint32_t pcap_window;
	int fd[FLOWS_LISTEN_MAX];
	uint32_t ovfl[FLOWS_LISTEN_MAX];	/* the kernel's drop counter as last seen */
	size_t nfd;
	struct loop *loop;
	uint8_t *buf;
	struct rw_addr unknown_last;
	int unknown_logged;
	struct flows_counts n;
	struct flows_ip **fxc;		/* chunks of FX_CHUNK per-IP records */
	size_t nfxc, nfx;
	struct flows_ip **freefx;	/* records of IPs the traffic table forgot, for reuse */
	size_t nfreefx, capfreefx;
	/* the datagram being applied */
	struct exporter *cur;
	uint32_t now;
};

/* ------------------------------------------------------------------ config helpers */

int
flows_parse_listen(const char *s, uint16_t defport, struct sockaddr_storage *ss,
    socklen_t *sslen, char *msg, size_t msglen)
{
	char host[64];
	const char *port = NULL, *end;
	size_t hl;
	long p = defport;
	char *ep;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL)
			goto bad;
		hl = (size_t)(end - s - 1);
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			goto bad;
		s++;
	} else if ((end = strchr(s, ':')) != NULL && strchr(end + 1, ':') == NULL) {
		hl = (size_t)(end - s);
		port = end + 1;
	} else
		hl = strlen(s);
	if (hl == 0 || hl >= sizeof host)
		goto bad;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (port != NULL) {
		errno = 0;
		p = strtol(port, &ep, 10);
		if (errno || *port == '\0' || *ep != '\0' || p < 1 || p > 65535)
			goto bad;
	}
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		*sslen = sizeof *s4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		*sslen = sizeof *s6;
		return 0;
	}
bad:
	snprintf(msg, msglen, "not an address to listen on: ADDR, ADDR:PORT or [V6ADDR]:PORT "
	    "(an IP address, not a name)");
	return -1;
}

int
flows_parse_exporter(const char *s, struct flows_exporter *out, char *msg, size_t msglen)
{
	char buf[128], *w[4], *save, *ep;
	size_t n = 0;
	long v;

	memset(out, 0, sizeof *out);
	if (strlen(s) >= sizeof buf)
		goto bad;
	memcpy(buf, s, strlen(s) + 1);
	for (w[n] = strtok_r(buf, " \t", &save); w[n] != NULL && n < 3;
	    w[++n] = strtok_r(NULL, " \t", &save))
		;
	if (n == 3 && w[3] != NULL)
		goto bad;
	if ((n != 1 && n != 3) || addr_parse(w[0], &out->addr) == -1)
		goto bad;
	if (n == 3) {
		errno = 0;
		v = strtol(w[2], &ep, 10);
		if (strcmp(w[1], "sampling") != 0 || errno || *ep != '\0' || v < 1 ||
		    v > 10000000)
			goto bad;
		out->sampling = (uint32_t)v;
	}
	return 0;
bad:
	snprintf(msg, msglen, "expected ADDR or ADDR sampling N (an IP address; N from 1 to "
	    "10000000, the 1-in-N rate that overrides what the exporter says)");
	return -1;
}

/* ------------------------------------------------------------------ the estimates */

double
flows_error_pct(double est, double var)
{
	return est > 0 && var > 0 ? 100.0 * Z95 * sqrt(var) / est : 0;
}

void
flows_estimate_text(const struct traffic_ip *ip, char *buf, size_t len)
{
	const struct flows_ip *x = ip->fx;

	if (x == NULL || x->samples == 0)
		snprintf(buf, len, "no flow samples");
	else if (x->rate <= 1)
		snprintf(buf, len, "from unsampled flow exports (exact as exported)");
	else if (x->syn_samples == 0)
		snprintf(buf, len, "estimated from 1:%u samples, no session sampled", x->rate);
	else
		snprintf(buf, len, "estimated from 1:%u samples, \u00b1%.0f%%", x->rate,
		    flows_error_pct(x->sessions, x->sessions_var));
}

/* The part of the session estimate's 95% lower bound not yet in the IP's counters. */
static void
feed_lower_bound(struct traffic_ip *ip, struct flows_ip *x)
{
	double lb = x->sessions - Z95 * sqrt(x->sessions_var);
	uint32_t l;

	if (!(lb > 0))
		return;
	l = lb >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)lb;
	if (l <= x->fed)
		return;
	ip->sessions += l - x->fed;
	ip->syn += l - x->fed;
	x->fed = l;
}

/* The traffic table forgets ip (to make room): its estimate record waits for another IP.
 * Without room to note it, the record stays out of use (ip NULL) until flows_free. */
static void
fx_forget(void *arg, struct traffic_ip *ip)
{
	struct flows *f = arg;
	struct flows_ip *x = ip->fx, **nf;

	if (x == NULL)
		return;
	memset(x, 0, sizeof *x);	/* ip NULL: no one's, skipped by every pass */
	ip->fx = NULL;
	if (f->nfreefx == f->capfreefx) {
		size_t cap = f->capfreefx ? f->capfreefx * 2 : 64;

		if ((nf = realloc(f->freefx, cap * sizeof *nf)) == NULL)
			return;
		f->freefx = nf;
		f->capfreefx = cap;
	}
	f->freefx[f->nfreefx++] = x;
}

/* The IP's estimate record, made (zero) at its first flow observation; NULL on ENOMEM. */
static struct flows_ip *
fx_of(struct flows *f, struct traffic_ip *ip)
{
	struct flows_ip **nc, *x;

	if (ip->fx != NULL)
		return ip->fx;
	if (f->nfreefx > 0) {
		x = f->freefx[--f->nfreefx];
		memset(x, 0, sizeof *x);
		x->ip = ip;
		ip->fx = x;
		return x;
	}
	if (f->nfx == f->nfxc * FX_CHUNK) {
		if ((nc = realloc(f->fxc, (f->nfxc + 1) * sizeof *nc)) == NULL)
			return NULL;
		f->fxc = nc;
		if ((f->fxc[f->nfxc] = calloc(FX_CHUNK, sizeof **f->fxc)) == NULL)
			return NULL;
		f->nfxc++;
	}
	x = &f->fxc[f->nfx / FX_CHUNK][f->nfx % FX_CHUNK];
	f->nfx++;
	x->ip = ip;
	ip->fx = x;
	return x;
}

static int
ours(const struct flows *f, const struct rw_addr *a)
{
	return prefixes_ours(f->space, a);
}

/* One outbound sample for client: `packets` sampled packets, of which one opened a
 * session when syn is set; at 1 in rate. The IP's record, NULL when not counted. */
static struct traffic_ip *
count(struct flows *f, const struct rw_addr *client, const struct rw_addr *server,
    uint64_t packets, int syn, uint32_t rate)
{
	struct traffic_ip *ip;
	struct flows_ip *x;
	double r = rate, v = r * (r - 1);

	if ((ip = ingest_record(f->traffic, f->customers, client)) == NULL)
		return NULL;
	if ((x = fx_of(f, ip)) == NULL)
		return NULL;
	/* whoever else moved last_seen is a pcap sensor: its exact counts win (dedup). The
	 * time is its packet time when that reads as today's wall clock (a live capture),
	 * else now: a replay's packets carry their own clock, and it counted the IP lately */
	if (ip->last_seen != x->stamp)
		x->pcap = ip->last_seen <= f->now + 60 && ip->last_seen + 86400 > f->now ?
		    ip->last_seen : f->now;
	if (x->pcap != 0 && f->now < x->pcap + f->pcap_window) {
		x->stamp = ip->last_seen;
		f->n.dedup++;
		return NULL;
	}
	f->n.samples++;
	f->cur->samples++;
	x->packets += (double)packets * r;
	x->packets_var += (double)packets * v;
	x->samples += packets > UINT32_MAX - x->samples ? 0 : (uint32_t)packets;
	if (syn) {
		x->sessions += r;
		x->sessions_var += v;
		x->syn_samples++;
		feed_lower_bound(ip, x);
	}
	if (rate > x->rate)
		x->rate = rate;
	/* not bytes_out: it counts TCP payload exactly (pcap), and a flow's octets, headers
	 * included and scaled, are not that */
	distinct_add(&ip->dst, distinct_key(server));
	if (f->now > ip->last_seen)
		ip->last_seen = f->now;
	x->stamp = ip->last_seen;
	return ip;
}

/* Port 25 either way, one of ours as the client: counted; the other way: a reply. */
static struct traffic_ip *
tcp25(struct flows *f, const struct rw_addr *src, const struct rw_addr *dst, uint16_t sport,
    uint16_t dport, uint64_t packets, int syn, uint32_t rate)
{
	if (dport == 25 && ours(f, src))
		return count(f, src, dst, packets, syn, rate);
	if (sport == 25 && ours(f, dst))
		f->n.replies++;	/* a sample cannot prove the handshake: never evidence */
	return NULL;
}

static void
on_obs(void *arg, const struct flowexp_obs *o)
{
	struct flows *f = arg;
	uint32_t rate = f->cur->sampling ? f->cur->sampling : o->rate;
	struct traffic_ip *ip;
	struct pkt p;

	if (rate == 0) {
		f->n.unknown_rate++;
		rate = 1;
	}
	if (o->kind == FLOWEXP_FRAME) {
		/* the same decoder as captured frames: TCP flags and ports from the header */
		if (decode_frame(o->dlt, o->frame, o->caplen, o->wirelen, 25, &p) != DECODE_TCP)
			return;
		ip = tcp25(f, &p.src, &p.dst, p.sport, p.dport, 1,
		    (p.flags & (TCP_SYN | TCP_ACK)) == TCP_SYN, rate);
		/* the header may hold the segment's first bytes: a sampled RCPT is an estimate
		 * for the eye, never the model's (its rcpt counts feed strong evidence) */
		if (ip != NULL && p.capped >= 5 && strncasecmp((const char *)p.payload,
		    "RCPT ", 5) == 0)
			ip->fx->rcpt += rate;
		return;
	}
	if (o->proto != 6)
		return;
	/* a flow record: one session when it carries the SYN (a sampled flow: when the SYN
	 * was among its sampled packets) */
	(void)tcp25(f, &o->src, &o->dst, o->sport, o->dport, o->packets,
	    (o->tcp_flags & TCP_SYN) != 0, rate);
}

static struct exporter *
exporter_of(struct flows *f, const struct rw_addr *a)
{
	size_t i;

	if (f->last_exp < f->nexp && memcmp(f->exp[f->last_exp].addr.a, a->a, 16) == 0)
		return &f->exp[f->last_exp];
	for (i = 0; i < f->nexp; i++)
		if (memcmp(f->exp[i].addr.a, a->a, 16) == 0) {
			f->last_exp = i;
			return &f->exp[i];
		}
	return NULL;
}

void
flows_datagram(struct flows *f, const struct rw_addr *from, const uint8_t *buf, size_t len,
    uint32_t now)
{
	struct exporter *e;
	char a[ADDR_STRLEN];

	f->n.datagrams++;
	if (f->traffic == NULL)
		return;
	if ((e = exporter_of(f, from)) == NULL) {
		/* UDP sources can be forged: the allowlist keeps strangers' data out, not a
		 * spoofer who knows an exporter's address (SECURITY.md) */
		f->n.unknown++;
		if (!f->unknown_logged || memcmp(f->unknown_last.a, from->a, 16) != 0) {
			if (f->unknown_logged++ < 10)
				log_warnx("flows: datagram from %s, not an exporter in the "
				    "config: dropped (further ones only counted)",
				    addr_format(from, a, sizeof a));
			f->unknown_last = *from;
		}
		return;
	}
	e->datagrams++;
	e->bytes += len;
	e->last = now;
	f->cur = e;
	f->now = now;
	(void)flowexp_datagram(e->dec, buf, len, on_obs, f);
}

/* ------------------------------------------------------------------ sockets */

static int
open_socket(const char *listen, uint16_t defport, int rcvbuf, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char msg[160];
	int fd, one = 1, got = 0;
	socklen_t gl = sizeof got;

	if (flows_parse_listen(listen, defport, &ss, &sl, msg, sizeof msg) == -1) {
		snprintf(err, errlen, "flows: %s: %s", listen, msg);
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "flows: socket: %s", strerror(errno));
		return -1;
	}
	/* as root the buffer may pass rmem_max; otherwise the kernel caps it quietly */
	if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) == -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	/* the kernel reports twice what it grants; short of the ask, bursts drop sooner */
	if (rcvbuf > 0 && getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl) == 0 &&
	    got / 2 < rcvbuf)
		log_warnx("flows: %s: receive buffer %d bytes of %d asked (without "
		    "CAP_NET_ADMIN the kernel caps it at net.core.rmem_max: raise that)", listen,
		    got / 2, rcvbuf);
	(void)setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, sl) == -1) {
		snprintf(err, errlen, "flows: bind %s: %s", listen, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct flows *
flows_new(const struct prefixes *p, const struct customers *c, const struct flows_opts *o,
    char *err, size_t errlen)
{
	struct flows *f = calloc(1, sizeof *f);
	size_t i;
	int fd;

	if (f == NULL)
		goto nomem;
	flows_set_space(f, p, c);
	f->pcap_window = o->pcap_window;
	f->max_templates = o->max_templates;
	for (i = 0; i < FLOWS_LISTEN_MAX; i++)
		f->fd[i] = -1;
	if ((f->buf = malloc(DGRAM_MAX)) == NULL)
		goto nomem;
	if (o->nexporters > 0 && (f->exp = calloc(o->nexporters, sizeof *f->exp)) == NULL)
		goto nomem;
	for (i = 0; i < o->nexporters; i++) {
		f->exp[i].addr = o->exporters[i].addr;
		f->exp[i].sampling = o->exporters[i].sampling;
		if ((f->exp[i].dec = flowexp_new(o->max_templates)) == NULL)
			goto nomem;
		f->nexp++;
	}
	for (i = 0; i < FLOWS_LISTEN_MAX; i++) {
		if (o->listen[i] == NULL || o->listen[i][0] == '\0')
			continue;
		if ((fd = open_socket(o->listen[i], o->port[i], o->rcvbuf, err, errlen)) == -1)
			goto fail;
		f->fd[f->nfd++] = fd;
	}
	return f;
nomem:
	snprintf(err, errlen, "flows: out of memory");
fail:
	flows_free(f);
	return NULL;
}

void
flows_free(struct flows *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nfd; i++) {
		if (f->loop != NULL)
			loop_fd_del(f->loop, f->fd[i]);
		close(f->fd[i]);
	}
	for (i = 0; i < f->nexp; i++)
		flowexp_free(f->exp[i].dec);
	free(f->exp);
	/* the traffic table may outlive us: no pointer into our records stays behind */
	for (i = 0; i < f->nfx; i++)
		if (f->fxc[i / FX_CHUNK][i % FX_CHUNK].ip != NULL)
			f->fxc[i / FX_CHUNK][i % FX_CHUNK].ip->fx = NULL;
	if (f->traffic != NULL)
		traffic_on_forget(f->traffic, NULL, NULL);
	free(f->freefx);
	for (i = 0; i < f->nfxc; i++)
		free(f->fxc[i]);
	free(f->fxc);
	free(f->buf);
	free(f);
}

void
flows_set_space(struct flows *f, const struct prefixes *p, const struct customers *c)
{
	f->space = p;
	f->customers = c;
}

int
flows_set_exporters(struct flows *f, const struct flows_exporter *ex, size_t n,
    uint32_t pcap_window)
{
	struct exporter *ne = NULL, *old;
	size_t i, j;

	if (n > 0 && (ne = calloc(n, sizeof *ne)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		ne[i].addr = ex[i].addr;
		for (j = 0; j < f->nexp; j++)
			if (f->exp[j].dec != NULL &&
			    memcmp(f->exp[j].addr.a, ex[i].addr.a, 16) == 0)
				break;
		if (j < f->nexp) {
			/* kept: its templates and counters go on */
			ne[i] = f->exp[j];
			f->exp[j].dec = NULL;
		} else if ((ne[i].dec = flowexp_new(f->max_templates)) == NULL)
			goto nomem;
		ne[i].sampling = ex[i].sampling;
	}
	for (j = 0; j < f->nexp; j++)
		flowexp_free(f->exp[j].dec);
	free(f->exp);
	f->exp = ne;
	f->nexp = n;
	f->last_exp = 0;
	f->pcap_window = pcap_window;
	return 0;
nomem:
	/* put back what was taken: the old list stays as it was */
	for (i = 0; i < n; i++) {
		for (j = 0; j < f->nexp; j++)
			if (f->exp[j].dec == NULL && ne[i].dec != NULL &&
			    memcmp(f->exp[j].addr.a, ne[i].addr.a, 16) == 0) {
				old = &f->exp[j];
				old->dec = ne[i].dec;
				ne[i].dec = NULL;
				break;
			}
		flowexp_free(ne[i].dec);
	}
	free(ne);
	return -1;
}

size_t flows_nsockets(const struct flows *f) { return f->nfd; }
void flows_get_counts(const struct flows *f, struct flows_counts *out) { *out = f->n; }

size_t
flows_memory(const struct flows *f)
{
	size_t i, m = sizeof *f + f->nexp * sizeof *f->exp +
	    f->nfxc * (FX_CHUNK * sizeof **f->fxc + sizeof *f->fxc);

	for (i = 0; i < f->nexp; i++)
		m += flowexp_memory(f->exp[i].dec);
	return m;
}

static void
on_readable(void *arg, int fd, short revents)
{
	struct flows *f = arg;
	struct sockaddr_storage ss;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *cm;
	union { char b[CMSG_SPACE(sizeof(uint32_t))]; struct cmsghdr a; } ctl;
	struct rw_addr from;
	uint32_t now = (uint32_t)time(NULL), drops;
	size_t slot;
	ssize_t n;
	int i;

	(void)revents;
	for (slot = 0; slot < f->nfd && f->fd[slot] != fd; slot++)
		;
	for (i = 0; i < RECV_BATCH; i++) {
		memset(&mh, 0, sizeof mh);
		iov.iov_base = f->buf;
		iov.iov_len = DGRAM_MAX;
		mh.msg_name = &ss;
		mh.msg_namelen = sizeof ss;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.b;
		mh.msg_controllen = sizeof ctl.b;
		if ((n = recvmsg(fd, &mh, MSG_DONTWAIT)) == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("flows: recvmsg");
			return;
		}
		for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL &&
			    slot < f->nfd) {
				memcpy(&drops, CMSG_DATA(cm), sizeof drops);
				f->n.rxq_drops += drops - f->ovfl[slot];	/* wraps right */
				f->ovfl[slot] = drops;
			}
		if (ss.ss_family == AF_INET)
			addr_from_v4(&from, (const uint8_t *)
			    &((struct sockaddr_in *)&ss)->sin_addr);
		else if (ss.ss_family == AF_INET6)
			addr_from_v6(&from, ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr);
		else
			continue;
		flows_datagram(f, &from, f->buf, (size_t)n, now);
	}
}

int
flows_start(struct flows *f, struct traffic *t, struct loop *l)
{
	size_t i;

	f->traffic = t;
	f->loop = l;
	traffic_on_forget(t, fx_forget, f);
	for (i = 0; l != NULL && i < f->nfd; i++)
		if (loop_fd(l, f->fd[i], POLLIN, on_readable, f) == -1)
			return -1;
	return 0;
}

/* ------------------------------------------------------------------ views */

json_t *
flows_ip_json(const struct traffic_ip *ip)
{
	const struct flows_ip *x = ip->fx;
	char a[ADDR_STRLEN], text[96];

	if (x == NULL || x->samples == 0)
		return NULL;
	flows_estimate_text(ip, text, sizeof text);
	return json_pack("{s:s, s:f, s:f, s:f, s:f, s:I, s:I, s:I, s:I, s:s, s:f}",
	    "ip", addr_format(&ip->addr, a, sizeof a),
	    "sessions", x->sessions,
	    "sessions_error_pct", flows_error_pct(x->sessions, x->sessions_var),
	    "packets", x->packets,
	    "packets_error_pct", flows_error_pct(x->packets, x->packets_var),
	    "samples", (json_int_t)x->samples,
	    "session_samples", (json_int_t)x->syn_samples,
	    "rate", (json_int_t)x->rate,
	    "sessions_counted", (json_int_t)x->fed,
	    "text", text,
	    /* sFlow headers that began a RCPT command, times the rate: for the eye only */
	    "rcpt_sampled", x->rcpt);
}

static json_t *
exporter_json(const struct exporter *e)
{
	struct flowexp_counts c;
	char a[ADDR_STRLEN];

	flowexp_get_counts(e->dec, &c);
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I}",
	    "addr", addr_format(&e->addr, a, sizeof a),
	    "datagrams", (json_int_t)e->datagrams, "bytes", (json_int_t)e->bytes,
	    "samples", (json_int_t)e->samples, "records", (json_int_t)c.records,
	    "frames", (json_int_t)c.frames, "malformed", (json_int_t)c.malformed,
	    "no_template", (json_int_t)c.no_template, "templates", (json_int_t)c.templates,
	    "withdrawn", (json_int_t)c.withdrawn, "refused", (json_int_t)c.refused,
	    "templates_held", (json_int_t)flowexp_ntemplates(e->dec),
	    "rate", (json_int_t)flowexp_rate(e->dec),
	    "sampling_override", (json_int_t)e->sampling,
	    "memory", (json_int_t)flowexp_memory(e->dec));
}

static int
by_estimate(const void *x, const void *y)
{
	const struct traffic_ip *a = *(const struct traffic_ip *const *)x;
	const struct traffic_ip *b = *(const struct traffic_ip *const *)y;

	return (a->fx->packets < b->fx->packets) - (a->fx->packets > b->fx->packets);
}

json_t *
flows_json(const struct flows *f, size_t limit)
{
	json_t *o, *ex, *ips;
	const struct traffic_ip **v = NULL;
	size_t i, n = f->nfx, k = 0;

	o = json_pack("{s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:I, s:I}",
	    "counts", "datagrams", (json_int_t)f->n.datagrams,
	    "unknown_exporter", (json_int_t)f->n.unknown,
	    "rxq_drops", (json_int_t)f->n.rxq_drops, "samples", (json_int_t)f->n.samples,
	    "replies_ignored", (json_int_t)f->n.replies, "dedup", (json_int_t)f->n.dedup,
	    "unknown_rate", (json_int_t)f->n.unknown_rate,
	    "sockets", (json_int_t)f->nfd, "pcap_window", (json_int_t)f->pcap_window);
	if (o == NULL || json_object_set_new(o, "exporters", ex = json_array()) == -1 ||
	    json_object_set_new(o, "ips", ips = json_array()) == -1)
		goto fail;
	for (i = 0; i < f->nexp; i++)
		json_array_append_new(ex, exporter_json(&f->exp[i]));
	if (limit == 0)		/* status: the counters only, no pass over every IP */
		return o;
	if (n > 0 && (v = malloc(n * sizeof *v)) == NULL)
		goto fail;
	for (i = 0; i < n; i++)
		if (f->fxc[i / FX_CHUNK][i % FX_CHUNK].samples > 0 &&
		    f->fxc[i / FX_CHUNK][i % FX_CHUNK].ip != NULL)
			v[k++] = f->fxc[i / FX_CHUNK][i % FX_CHUNK].ip;
	if (k > 1)
		qsort(v, k, sizeof *v, by_estimate);
	for (i = 0; i < k && i < limit; i++)
		json_array_append_new(ips, flows_ip_json(v[i]));
	free(v);
	return o;
fail:
	free(v);
	json_decref(o);
	return NULL;
}
