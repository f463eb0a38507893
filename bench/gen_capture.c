/*
 * gen_capture.c — writes the benchmark's synthetic capture: a classic pcap (Ethernet,
 * microsecond timestamps) that looks like a hosting provider's uplink seen on a mirror port.
 *
 * Mixed mode (default, --packets N): ~90% other traffic (HTTPS/HTTP/SSH/DB TCP flows with
 * handshakes and FINs, QUIC, DNS queries and answers, NTP, ICMP, ARP), ~10% outbound SMTP:
 * whole sessions from a pool of customer IPs (10.0.0.0/8, /24 ranges; every tenth source is
 * IPv6 in 2001:db8::/32) to a pool of MX hosts, many sessions open at once and interleaved
 * (--concurrent, 2000; the soak keeps it small, so a session spans little of its slow clock):
 * handshake, banner, EHLO/HELO, MAIL, RCPT x k (some rejected with 4xx/5xx, some citing
 * DNSBLs), DATA, 354, body segments, ".", 250, QUIT, 221, FIN; some pipelined, some
 * STARTTLS, some refused (RST), some SYN retransmitted without answer, some 421 banners.
 * About 5% of frames carry an 802.1Q tag (a few QinQ), about 10% are IPv6; frames shorter
 * than 60 bytes are padded as on the wire. TCP sequence numbers are consistent per flow so
 * tshark dissects the SMTP sessions; checksums other than IPv4's are left zero.
 *
 * Sources mode (--sources N): N distinct source IPs, each one SMTP session that probes a
 * recipient (handshake, banner, EHLO, MAIL, RCPT, QUIT, 221, FIN), ~1000 open at once,
 * for the memory-per-tracked-IP figure.
 *
 * Ground truth (--truth PREFIX): PREFIX.txt (key: value totals) and PREFIX.ips.tsv (one
 * line per source IP that sent to port 25), counted at emission; with --checkpoint P also
 * PREFIX.at-P.txt / .ips.tsv for the first P packets (what tshark sees on a prefix).
 *
 * Owns only its output files; it never sends a packet and reads no input.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------- random numbers: xoshiro256** seeded through splitmix64 ---------- */

static uint64_t rs[4];

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rseed(uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		rs[i] = splitmix(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t rnd64(void)
{
	uint64_t r = rotl(rs[1] * 5, 7) * 9, t = rs[1] << 17;
	rs[2] ^= rs[0];
	rs[3] ^= rs[1];
	rs[1] ^= rs[2];
	rs[0] ^= rs[3];
	rs[2] ^= t;
	rs[3] = rotl(rs[3], 45);
	return r;
}

/* Uniform in [0, n). */
static inline uint32_t rb(uint32_t n)
{
	return (uint32_t)(((rnd64() >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in [lo, hi]. */
static inline uint32_t rr(uint32_t lo, uint32_t hi)
{
	return lo + rb(hi - lo + 1);
}

/* True with probability pm/1000. */
static inline int pm(unsigned permille)
{
	return rb(1000) < permille;
}

static uint64_t hash64(uint64_t x)
{
	return splitmix(&x);
}

/* ---------- output: frames are built in place in a large buffer, written with write(2) ---------- */

#define OBUF_SIZE (16u << 20)
#define FRAME_MAX 2048u

static uint8_t *obuf;
static size_t oused;
static int ofd = -1;
static const char *opath;
static uint64_t npkts, nbytes_file;
static uint32_t ts_sec = 1700000000, ts_usec;
static uint64_t want_packets;	/* mixed mode: stop after this many */
static uint64_t checkpoint;	/* dump truth after this many packets (0: never) */
static const char *truth_prefix;
static uint32_t usec_per_packet = 1;	/* mean gap between frames */

static void die(const char *what)
{
	fprintf(stderr, "gen_capture: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void oflush(void)
{
	size_t off = 0;
	while (off < oused) {
		ssize_t w = write(ofd, obuf + off, oused - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			die(opath);
		}
		off += (size_t)w;
	}
	nbytes_file += oused;
	oused = 0;
}

/* Where the next frame's bytes go; stays the same until frame_commit. */
static inline uint8_t *frame_buf(void)
{
	if (oused + 16 + FRAME_MAX > OBUF_SIZE)
		oflush();
	return obuf + oused + 16;
}

static inline void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void truth_dump(const char *suffix);

/* Writes the record header of the frame built at frame_buf() (len bytes) and moves on. */
static inline void frame_commit(size_t len)
{
	uint8_t *h = obuf + oused;
	uint32_t hv[4] = { ts_sec, ts_usec, (uint32_t)len, (uint32_t)len };
	memcpy(h, hv, 16);	/* native byte order, as the magic number says */
	oused += 16 + len;
	npkts++;
	ts_usec += rb(2 * usec_per_packet + 1);
	while (ts_usec >= 1000000) {	/* a gap of a second or more: the soak's slow clock */
		ts_usec -= 1000000;
		ts_sec++;
	}
	if (checkpoint && npkts == checkpoint && truth_prefix) {
		char sfx[64];
		snprintf(sfx, sizeof sfx, ".at-%" PRIu64, checkpoint);
		truth_dump(sfx);
	}
}

/* ---------- frames: Ethernet (+802.1Q/QinQ), IPv4/IPv6, TCP/UDP/ICMP ---------- */

struct path {
	uint8_t v6, ntags;
	uint16_t vid[2];		/* outer, inner */
	uint8_t c[16], s[16];		/* client, server (IPv4 in the first 4 bytes) */
	uint16_t cport, sport;
};

static const uint8_t mac_host[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t mac_gw[6] = { 0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x01 };
static uint16_t ipid;
static uint64_t vlan_frames, qinq_frames, v6_frames;

static inline size_t l3off(const struct path *pa)
{
	return 14 + 4u * pa->ntags;
}

static inline size_t l4off(const struct path *pa)
{
	return l3off(pa) + (pa->v6 ? 40 : 20);
}

static void vlan_pick(struct path *pa, unsigned permille_tagged)
{
	pa->ntags = 0;
	if (pm(permille_tagged)) {
		pa->ntags = pm(60) ? 2 : 1;	/* ~6% of tagged flows are QinQ */
		pa->vid[0] = (uint16_t)rr(100, 4000);
		pa->vid[1] = (uint16_t)rr(2, 4000);
	}
}

/* Writes the Ethernet and IP headers in front of an L4 part of l4len bytes already in
 * place; dir 0 is client to server. Pads to the Ethernet minimum; returns frame length. */
static size_t put_l2l3(uint8_t *f, const struct path *pa, int dir, uint8_t proto, size_t l4len,
		       size_t *iplen)
{
	uint8_t *p = f;
	const uint8_t *src = dir ? pa->s : pa->c, *dst = dir ? pa->c : pa->s;

	memcpy(p, dir ? mac_host : mac_gw, 6);
	memcpy(p + 6, dir ? mac_gw : mac_host, 6);
	p += 12;
	if (pa->ntags == 2) {
		put16(p, 0x88a8);
		put16(p + 2, pa->vid[0]);
		p += 4;
		qinq_frames++;
	}
	if (pa->ntags) {
		put16(p, 0x8100);
		put16(p + 2, pa->vid[pa->ntags - 1]);
		p += 4;
		vlan_frames++;
	}
	if (pa->v6) {
		put16(p, 0x86dd);
		p += 2;
		put32(p, 0x60000000u | (uint32_t)(hash64(pa->cport ^ ((uint64_t)pa->sport << 16)) & 0xfffff));
		put16(p + 4, (uint32_t)l4len);
		p[6] = proto;
		p[7] = dir ? 57 : 64;
		memcpy(p + 8, src, 16);
		memcpy(p + 24, dst, 16);
		p += 40;
		*iplen = 40 + l4len;
		v6_frames++;
	} else {
		put16(p, 0x0800);
		p += 2;
		p[0] = 0x45;
		p[1] = 0;
		put16(p + 2, (uint32_t)(20 + l4len));
		put16(p + 4, ipid++);
		put16(p + 6, 0x4000);
		p[8] = dir ? 57 : 64;
		p[9] = proto;
		p[10] = p[11] = 0;
		memcpy(p + 12, src, 4);
		memcpy(p + 16, dst, 4);
		uint32_t sum = 0;
		for (int i = 0; i < 20; i += 2)
			sum += (uint32_t)(p[i] << 8 | p[i + 1]);
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		put16(p + 10, ~sum & 0xffff);
		p += 20;
		*iplen = 20 + l4len;
	}
	size_t len = (size_t)(p - f) + l4len;
	if (len < 60) {
		memset(f + len, 0, 60 - len);
		len = 60;
	}
	return len;
}

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

struct tcpflow {
	struct path pa;
	uint32_t isn_c, cseq, sseq, tsc, tss;
	uint8_t use_ts;
};

static inline size_t tcp_hlen(const struct tcpflow *fl, int syn)
{
	if (syn)
		return fl->use_ts ? 40 : 32;
	return fl->use_ts ? 32 : 20;
}

/* Where a segment's payload goes (before tcp_build). */
static inline uint8_t *tcp_payload(const struct tcpflow *fl, int syn)
{
	return frame_buf() + l4off(&fl->pa) + tcp_hlen(fl, syn);
}

struct built {
	size_t flen, iplen;
};

/* Builds the headers of a segment whose plen payload bytes are in place and advances the
 * flow's sequence numbers; the caller commits it. */
static struct built tcp_build(struct tcpflow *fl, int dir, uint8_t flags, size_t plen)
{
	int syn = !!(flags & TH_SYN);
	size_t hl = tcp_hlen(fl, syn);
	uint8_t *f = frame_buf(), *t = f + l4off(&fl->pa);
	uint32_t *seqp = dir ? &fl->sseq : &fl->cseq;
	uint32_t ack = (flags & TH_ACK) ? (dir ? fl->cseq : fl->sseq) : 0;
	struct built b;

	put16(t, dir ? fl->pa.sport : fl->pa.cport);
	put16(t + 2, dir ? fl->pa.cport : fl->pa.sport);
	put32(t + 4, *seqp);
	put32(t + 8, ack);
	t[12] = (uint8_t)((hl / 4) << 4);
	t[13] = flags;
	put16(t + 14, syn ? 64240 : 502);
	put32(t + 16, 0);	/* checksum, urgent pointer */
	uint8_t *o = t + 20;
	uint32_t tsv = dir ? fl->tss : fl->tsc, tse = dir ? fl->tsc : fl->tss;
	if (syn) {
		o[0] = 2; o[1] = 4; put16(o + 2, fl->pa.v6 ? 1440 : 1460);
		o += 4;
		if (fl->use_ts) {
			o[0] = 4; o[1] = 2;		/* SACK permitted */
			o[2] = 8; o[3] = 10;
			put32(o + 4, tsv);
			put32(o + 8, (flags & TH_ACK) ? tse : 0);
			o[12] = 1;
			o[13] = 3; o[14] = 3; o[15] = 7;	/* window scale */
		} else {
			o[0] = 1; o[1] = 3; o[2] = 3; o[3] = 7;
			o[4] = 1; o[5] = 1; o[6] = 4; o[7] = 2;
		}
	} else if (fl->use_ts) {
		o[0] = 1; o[1] = 1; o[2] = 8; o[3] = 10;
		put32(o + 4, tsv);
		put32(o + 8, tse);
	}
	if (dir)
		fl->tss += 1;
	else
		fl->tsc += 1;
	*seqp += (uint32_t)plen + (uint32_t)syn + (uint32_t)!!(flags & TH_FIN);
	b.flen = put_l2l3(f, &fl->pa, dir, 6, hl + plen, &b.iplen);
	return b;
}

static inline size_t tcp_mss(const struct tcpflow *fl)
{
	return (fl->pa.v6 ? 1440u : 1460u) - (fl->use_ts ? 12u : 0u);
}

/* ---------- pools: customer sources, MX hosts, other hosts ---------- */

static uint32_t nsources = 50000;	/* mixed mode pool; sources mode: N */
static uint32_t nmx = 20000;

/* Source i: every tenth is IPv6. IPv4 sources fill /24s of 10.0.0.0/8, 250 hosts each. */
static int src_is_v6(uint32_t i)
{
	return i % 10 == 9;
}

static void src_addr(uint32_t i, uint8_t a[16])
{
	uint32_t r = i / 250, h = i % 250 + 2;
	memset(a, 0, 16);
	if (src_is_v6(i)) {
		a[0] = 0x20; a[1] = 0x01; a[2] = 0x0d; a[3] = 0xb8;
		a[4] = (uint8_t)(r >> 8); a[5] = (uint8_t)r;
		a[14] = (uint8_t)(h >> 8); a[15] = (uint8_t)h;
	} else {
		a[0] = 10; a[1] = (uint8_t)(r >> 8); a[2] = (uint8_t)r; a[3] = (uint8_t)h;
	}
}

static void mx_addr(uint32_t i, int v6, uint8_t a[16])
{
	memset(a, 0, 16);
	if (v6) {
		a[0] = 0x2a; a[1] = 0x00; a[2] = 0x14; a[3] = 0x50;
		a[4] = (uint8_t)(i >> 16); a[5] = (uint8_t)(i >> 8); a[6] = (uint8_t)i;
		a[15] = 0x1b;
	} else {
		/* 100.64.0.0/10 and up: injective for i < 4M */
		a[0] = (uint8_t)(100 + (i >> 22)); a[1] = (uint8_t)(64 | ((i >> 16) & 63));
		a[2] = (uint8_t)(i >> 8); a[3] = (uint8_t)i;
	}
}

/* Any public-looking address for the other traffic (never a source or MX address). */
static void ext_addr(int v6, uint8_t a[16])
{
	uint64_t r = rnd64();
	memset(a, 0, 16);
	if (v6) {
		a[0] = 0x26; a[1] = 0x07;
		memcpy(a + 2, &r, 8);
		a[15] = (uint8_t)(r >> 40);
	} else {
		uint8_t o = (uint8_t)rr(11, 223);
		if (o == 100 || o == 127 || o == 10)
			o = 185;
		a[0] = o; a[1] = (uint8_t)(r >> 8); a[2] = (uint8_t)(r >> 16); a[3] = (uint8_t)(r >> 24);
	}
}

/* Local hosts of the other traffic: customer space too (10.x, 2001:db8::/32). */
static void local_addr(int v6, uint8_t a[16])
{
	src_addr(rb(2000000) / 10 * 10 + (v6 ? 9 : rb(9)), a);
}

/* ---------- ground truth ---------- */

struct srcstat {
	uint32_t syn, sessions, dst_ips, mail, rcpt, data, starttls, r4xx, r5xx;
	uint32_t cite[3];
	uint32_t nsess;		/* sessions started (ports) */
	uint64_t b_pl, b_ip, b_fr;
};

static const char *const cite_zone[3] = { "zen.spamhaus.org", "bl.spamcop.net", "dnsbl-1.uceprotect.net" };
static struct srcstat *st;
static uint64_t smtp_frames, smtp_frames_out, smtp_sessions_started, smtp_v6_frames,
	smtp_vlan_frames;
static uint64_t mixed_counts[8];
static const char *const mixed_names[8] = { "tcp_other", "quic", "dns", "ntp", "icmp", "arp",
					     "tcp_other_v6", "" };

/* Set of (source, MX) pairs seen, for dst_ips. Open addressing over 64-bit keys. */
static uint64_t *pairs;
static size_t pairs_cap, pairs_n;

static int pair_add(uint64_t key)
{
	key += 1;	/* 0 marks an empty slot */
	if ((pairs_n + 1) * 2 > pairs_cap) {
		size_t ocap = pairs_cap;
		uint64_t *old = pairs;
		pairs_cap = ocap ? ocap * 2 : (1u << 16);
		pairs = calloc(pairs_cap, sizeof *pairs);
		if (!pairs)
			die("calloc");
		for (size_t i = 0; i < ocap; i++) {
			if (!old[i])
				continue;
			size_t j = hash64(old[i]) & (pairs_cap - 1);
			while (pairs[j])
				j = (j + 1) & (pairs_cap - 1);
			pairs[j] = old[i];
		}
		free(old);
	}
	size_t j = hash64(key) & (pairs_cap - 1);
	while (pairs[j]) {
		if (pairs[j] == key)
			return 0;
		j = (j + 1) & (pairs_cap - 1);
	}
	pairs[j] = key;
	pairs_n++;
	return 1;
}

static void fmt_addr(uint32_t i, char *buf, size_t len)
{
	uint8_t a[16];
	src_addr(i, a);
	inet_ntop(src_is_v6(i) ? AF_INET6 : AF_INET, a, buf, (socklen_t)len);
}

static void truth_dump(const char *suffix)
{
	char path[4096], ip[64];
	struct srcstat sum;
	uint64_t nsrc = 0, b_pl = 0, b_ip = 0, b_fr = 0;
	FILE *f;

	memset(&sum, 0, sizeof sum);
	snprintf(path, sizeof path, "%s%s.ips.tsv", truth_prefix, suffix);
	if (!(f = fopen(path, "w")))
		die(path);
	fprintf(f, "ip\tsyn\tsessions\tdst_ips\tbytes_payload\tbytes_ip\tbytes_frame\tmail_from"
		"\trcpt_to\tdata\tstarttls\treplies_4xx\treplies_5xx\tcite_spamhaus\tcite_spamcop"
		"\tcite_uceprotect\n");
	for (uint32_t i = 0; i < nsources; i++) {
		const struct srcstat *s = &st[i];
		if (!s->syn)	/* every session starts with a SYN: none yet, not seen yet */
			continue;
		nsrc++;
		fmt_addr(i, ip, sizeof ip);
		fprintf(f, "%s\t%u\t%u\t%u\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%u\t%u\t%u\t%u\t%u\t%u\t%u\t%u\t%u\n",
			ip, s->syn, s->sessions, s->dst_ips, s->b_pl, s->b_ip, s->b_fr, s->mail, s->rcpt,
			s->data, s->starttls, s->r4xx, s->r5xx, s->cite[0], s->cite[1], s->cite[2]);
		sum.syn += s->syn; sum.sessions += s->sessions; sum.dst_ips += s->dst_ips;
		sum.mail += s->mail; sum.rcpt += s->rcpt; sum.data += s->data;
		sum.starttls += s->starttls; sum.r4xx += s->r4xx; sum.r5xx += s->r5xx;
		for (int k = 0; k < 3; k++)
			sum.cite[k] += s->cite[k];
		b_pl += s->b_pl; b_ip += s->b_ip; b_fr += s->b_fr;
	}
	if (fclose(f))
		die(path);
	snprintf(path, sizeof path, "%s%s.txt", truth_prefix, suffix);
	if (!(f = fopen(path, "w")))
		die(path);
	fprintf(f, "packets: %" PRIu64 "\n", npkts);
	fprintf(f, "smtp_frames: %" PRIu64 "\n", smtp_frames);
	fprintf(f, "smtp_frames_to_25: %" PRIu64 "\n", smtp_frames_out);
	fprintf(f, "smtp_frames_v6: %" PRIu64 "\n", smtp_v6_frames);
	fprintf(f, "smtp_frames_tagged: %" PRIu64 "\n", smtp_vlan_frames);
	fprintf(f, "smtp_sessions_started: %" PRIu64 "\n", smtp_sessions_started);
	fprintf(f, "sources: %" PRIu64 "\n", nsrc);
	fprintf(f, "syn: %u\nsessions: %u\ndst_ips: %u\n", sum.syn, sum.sessions, sum.dst_ips);
	fprintf(f, "mail_from: %u\nrcpt_to: %u\ndata: %u\nstarttls: %u\n", sum.mail, sum.rcpt,
		sum.data, sum.starttls);
	fprintf(f, "replies_4xx: %u\nreplies_5xx: %u\n", sum.r4xx, sum.r5xx);
	for (int k = 0; k < 3; k++)
		fprintf(f, "cite %s: %u\n", cite_zone[k], sum.cite[k]);
	fprintf(f, "bytes_out_payload: %" PRIu64 "\nbytes_out_ip: %" PRIu64 "\nbytes_out_frame: %" PRIu64 "\n",
		b_pl, b_ip, b_fr);
	fprintf(f, "frames_tagged: %" PRIu64 "\nframes_qinq: %" PRIu64 "\nframes_v6: %" PRIu64 "\n",
		vlan_frames, qinq_frames, v6_frames);
	for (int k = 0; mixed_names[k][0]; k++)
		if (mixed_counts[k])
			fprintf(f, "frames_%s: %" PRIu64 "\n", mixed_names[k], mixed_counts[k]);
	fprintf(f, "malformed: 0\ntruncated: 0\n");
	if (fclose(f))
		die(path);
}

/* ---------- SMTP sessions ---------- */

enum kind {
	K_SYN, K_SYNACK, K_HSACK, K_ACK, K_RSTACK, K_FIN, K_BANNER, K_BANNER421, K_EHLO, K_HELO,
	K_EHLO_R, K_HELO_R, K_MAIL, K_MAIL_R, K_RCPT, K_RCPT_R, K_DATA, K_354, K_PIPE, K_PIPE_R,
	K_BODY, K_DOT, K_QUEUED, K_QUIT, K_221, K_STARTTLS, K_220TLS, K_TLS,
};

enum rcode { RC_OK, RC_GREY, RC_FULL, RC_UNKNOWN, RC_ZEN, RC_SPAMCOP, RC_UCE };

struct step {
	uint8_t dir, flags, kind, last;	/* last: body segment that carries the final "." */
	uint16_t a, b;
};

#define MAXSTEPS 640
#define MAXRCPT 128
#define MAXMSG 4

struct sess {
	struct tcpflow fl;
	uint32_t src, mx, id;
	uint16_t nsteps, step, nrc;
	uint16_t hlen, msg;
	uint32_t boff;			/* bytes of the current message sent */
	uint32_t cstart[MAXMSG], mlen[MAXMSG];
	uint8_t rc[MAXRCPT];
	char hdr[384];
	struct step steps[MAXSTEPS];
};

static char *corpus;
static uint32_t corpus_len, *corpus_lines, corpus_nlines;

static void corpus_init(void)
{
	static const char *const words[] = {
		"the", "offer", "account", "invoice", "please", "find", "attached", "meeting",
		"tomorrow", "regards", "update", "your", "password", "security", "team", "order",
		"shipping", "confirmed", "limited", "time", "discount", "unsubscribe", "newsletter",
		"weekly", "report", "server", "backup", "completed", "successfully", "hello", "dear",
		"customer", "thank", "you", "for", "choosing", "our", "service", "click", "here",
		"to", "verify", "and", "of", "in", "is", "on", "with", "as", "by", "at", "from",
		"this", "that", "we", "will", "be", "are", "have", "has", "an", "or", "not", "it",
	};
	const size_t nw = sizeof words / sizeof words[0];
	corpus_len = 1u << 18;
	corpus = malloc(corpus_len + 128);
	corpus_lines = malloc(sizeof *corpus_lines * (corpus_len / 8));
	if (!corpus || !corpus_lines)
		die("malloc");
	uint32_t off = 0;
	corpus_nlines = 0;
	while (off + 100 < corpus_len) {
		uint32_t target = rr(20, 76), start = off;
		corpus_lines[corpus_nlines++] = off;
		while (off - start < target) {
			const char *w = words[rb((uint32_t)nw)];
			size_t l = strlen(w);
			if (off != start)
				corpus[off++] = ' ';
			memcpy(corpus + off, w, l);
			off += (uint32_t)l;
		}
		corpus[off++] = '\r';
		corpus[off++] = '\n';
	}
	corpus_len = off;
}

static inline char *ap_s(char *p, const char *s)
{
	size_t l = strlen(s);
	memcpy(p, s, l);
	return p + l;
}

static inline char *ap_u(char *p, uint32_t v)
{
	char t[12];
	int n = 0;
	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = t[--n];
	return p;
}

static inline char *ap_x(char *p, uint32_t v)
{
	static const char hx[] = "0123456789ABCDEF";
	for (int i = 28; i >= 0; i -= 4)
		*p++ = hx[(v >> i) & 15];
	return p;
}

static char *ap_ip(char *p, const uint8_t *a, int v6)
{
	char buf[INET6_ADDRSTRLEN];
	inet_ntop(v6 ? AF_INET6 : AF_INET, a, buf, sizeof buf);
	return ap_s(p, buf);
}

static const char *const senders[] = { "info", "news", "noreply", "billing", "support", "office",
				       "sales", "admin", "mailer", "alerts" };

static char *ap_rcpt(char *p, const struct sess *s, uint32_t k)
{
	uint64_t h = hash64((uint64_t)s->id << 8 | k);
	p = ap_s(p, "<user");
	p = ap_u(p, (uint32_t)(h % 100000));
	p = ap_s(p, "@dom");
	p = ap_u(p, (uint32_t)((h >> 20) % 5000));
	return ap_s(p, ".example>");
}

static char *ap_mail(char *p, const struct sess *s)
{
	p = ap_s(p, "MAIL FROM:<");
	p = ap_s(p, senders[s->id % 10]);
	p = ap_s(p, "@client");
	p = ap_u(p, s->src);
	p = ap_s(p, ".example> SIZE=");
	p = ap_u(p, s->mlen[s->msg < MAXMSG ? s->msg : 0]);
	return ap_s(p, "\r\n");
}

static char *ap_rcpt_reply(char *p, const struct sess *s, uint32_t k)
{
	switch ((enum rcode)s->rc[k]) {
	case RC_OK:
		return ap_s(p, "250 2.1.5 Ok\r\n");
	case RC_GREY:
		p = ap_s(p, "450 4.2.0 ");
		p = ap_rcpt(p, s, k);
		return ap_s(p, ": Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.html\r\n");
	case RC_FULL:
		return ap_s(p, "452 4.2.2 Mailbox full\r\n");
	case RC_UNKNOWN:
		p = ap_s(p, "550 5.1.1 ");
		p = ap_rcpt(p, s, k);
		return ap_s(p, ": Recipient address rejected: User unknown in virtual mailbox table\r\n");
	case RC_ZEN:
		p = ap_s(p, "554 5.7.1 Service unavailable; Client host [");
		p = ap_ip(p, s->fl.pa.c, s->fl.pa.v6);
		p = ap_s(p, "] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/");
		p = ap_ip(p, s->fl.pa.c, s->fl.pa.v6);
		return ap_s(p, "\r\n");
	case RC_SPAMCOP:
		p = ap_s(p, "550 5.7.1 Rejected: ");
		p = ap_ip(p, s->fl.pa.c, s->fl.pa.v6);
		return ap_s(p, " listed at bl.spamcop.net\r\n");
	case RC_UCE:
		p = ap_s(p, "550 5.7.1 Client host [");
		p = ap_ip(p, s->fl.pa.c, s->fl.pa.v6);
		return ap_s(p, "] blocked using dnsbl-1.uceprotect.net; IP listed, see http://www.uceprotect.net/rblcheck.php\r\n");
	}
	return p;
}

static void count_reply(struct srcstat *ss, uint8_t rc)
{
	switch ((enum rcode)rc) {
	case RC_OK: break;
	case RC_GREY: case RC_FULL: ss->r4xx++; break;
	case RC_UNKNOWN: ss->r5xx++; break;
	case RC_ZEN: ss->r5xx++; ss->cite[0]++; break;
	case RC_SPAMCOP: ss->r5xx++; ss->cite[1]++; break;
	case RC_UCE: ss->r5xx++; ss->cite[2]++; break;
	}
}

static void add(struct sess *s, uint8_t dir, uint8_t flags, uint8_t kind, uint16_t a, uint16_t b)
{
	if (s->nsteps >= MAXSTEPS) {
		fprintf(stderr, "gen_capture: session script too long\n");
		exit(1);
	}
	struct step *x = &s->steps[s->nsteps++];
	x->dir = dir; x->flags = flags; x->kind = kind; x->a = a; x->b = b; x->last = 0;
}

#define C2S 0
#define S2C 1
#define PA (TH_PSH | TH_ACK)

static void script_close(struct sess *s)
{
	uint32_t r = rb(100);
	if (r < 85) {
		add(s, S2C, TH_FIN | TH_ACK, K_FIN, 0, 0);
		add(s, C2S, TH_FIN | TH_ACK, K_FIN, 0, 0);
		add(s, S2C, TH_ACK, K_ACK, 0, 0);
	} else if (r < 95) {
		add(s, C2S, TH_FIN | TH_ACK, K_FIN, 0, 0);
		add(s, S2C, TH_FIN | TH_ACK, K_FIN, 0, 0);
		add(s, C2S, TH_ACK, K_ACK, 0, 0);
	} else {
		add(s, C2S, TH_RST | TH_ACK, K_RSTACK, 0, 0);
	}
}

static uint32_t mkrcode(int spammer)
{
	uint32_t r = rb(1000);
	if (!spammer) {
		if (r < 10) return RC_GREY;
		if (r < 13) return RC_FULL;
		if (r < 35) return RC_UNKNOWN;
		if (r < 38) return RC_ZEN;
		return RC_OK;
	}
	if (r < 50) return RC_GREY;
	if (r < 150) return RC_UNKNOWN;
	if (r < 300) return RC_ZEN;
	if (r < 350) return RC_SPAMCOP;
	if (r < 400) return RC_UCE;
	return RC_OK;
}

/* Chooses a message's length and where in the corpus its body comes from. */
static void pick_message(struct sess *s, int m, int spammer)
{
	uint32_t target = spammer ? rr(600, 5000) : (pm(850) ? rr(800, 8000) : rr(8000, 36000));
	uint32_t li = rb(corpus_nlines - 800), off = corpus_lines[li], end = off;
	while (end - off < target && li < corpus_nlines - 1)
		end = corpus_lines[++li];
	s->cstart[m] = off;
	s->mlen[m] = s->hlen + (end - off);
}

static void build_header(struct sess *s)
{
	char *p = s->hdr;
	p = ap_s(p, "Received: from localhost (localhost [127.0.0.1])\r\n\tby host-");
	p = ap_u(p, s->src);
	p = ap_s(p, ".client.example (Postfix) with ESMTP id ");
	p = ap_x(p, (uint32_t)hash64(s->id));
	p = ap_s(p, "\r\nFrom: \"Shop ");
	p = ap_u(p, s->src % 977);
	p = ap_s(p, "\" <");
	p = ap_s(p, senders[s->id % 10]);
	p = ap_s(p, "@client");
	p = ap_u(p, s->src);
	p = ap_s(p, ".example>\r\nTo: ");
	p = ap_rcpt(p, s, 0);
	p = ap_s(p, "\r\nSubject: Your order ");
	p = ap_u(p, s->id);
	p = ap_s(p, " has shipped\r\nDate: Thu, 23 Nov 2023 22:33:");
	p = ap_u(p, 10 + s->id % 50);
	p = ap_s(p, " +0000\r\nMessage-ID: <");
	p = ap_x(p, (uint32_t)hash64(s->id + 1));
	p = ap_s(p, "@client.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
	s->hlen = (uint16_t)(p - s->hdr);
}

static void script_body(struct sess *s, int m)
{
	uint32_t mss = (uint32_t)tcp_mss(&s->fl), len = s->mlen[m], nseg = (len + mss - 1) / mss;
	uint32_t tail = len - (nseg - 1) * mss;
	int dot_alone = pm(300) || tail + 3 > mss;
	/* Segments cut the body anywhere, but not between the CR and LF that precede the final
	 * dot: tshark 4.0 then misses the end of the body and reads the next commands as data. */
	int shift = nseg > 1 && tail == 1;
	for (uint32_t i = 0; i < nseg; i++) {
		uint32_t sl = i + 1 < nseg ? mss : tail;
		if (shift && i + 2 == nseg)
			sl--;
		else if (shift && i + 1 == nseg)
			sl++;
		add(s, C2S, PA, K_BODY, (uint16_t)sl, (uint16_t)m);
		if (i + 1 == nseg && !dot_alone)
			s->steps[s->nsteps - 1].last = 1;
		if (i % 2 == 1)
			add(s, S2C, TH_ACK, K_ACK, 0, 0);
	}
	if (dot_alone)
		add(s, C2S, PA, K_DOT, 0, 0);
	add(s, S2C, PA, K_QUEUED, 0, 0);
}

enum stype { ST_FULL, ST_PROBE };

static void sess_init(struct sess *s, uint32_t src, uint32_t mx, enum stype type)
{
	static uint32_t next_id;
	struct srcstat *ss = &st[src];
	int spammer = src % 50 == 0;

	s->src = src;
	s->mx = mx;
	s->id = ++next_id;
	s->nsteps = s->step = s->nrc = 0;
	s->msg = 0;
	s->boff = 0;
	s->hlen = 0;
	memset(s->mlen, 0, sizeof s->mlen);
	memset(&s->fl, 0, sizeof s->fl);
	s->fl.pa.v6 = (uint8_t)src_is_v6(src);
	src_addr(src, s->fl.pa.c);
	mx_addr(mx, s->fl.pa.v6, s->fl.pa.s);
	s->fl.pa.cport = (uint16_t)(32768 + (ss->nsess * 1237u + src * 31u) % 28231u);
	s->fl.pa.sport = 25;
	ss->nsess++;
	vlan_pick(&s->fl.pa, type == ST_PROBE ? 50 : 52);
	s->fl.use_ts = (uint8_t)pm(700);
	s->fl.isn_c = s->fl.cseq = (uint32_t)rnd64();
	s->fl.sseq = (uint32_t)rnd64();
	s->fl.tsc = (uint32_t)rnd64() >> 4;
	s->fl.tss = (uint32_t)rnd64() >> 4;

	add(s, C2S, TH_SYN, K_SYN, 0, 0);
	uint32_t r = type == ST_PROBE ? 999 : rb(1000);
	if (r < 50) {		/* refused */
		add(s, S2C, TH_RST | TH_ACK, K_RSTACK, 0, 0);
		return;
	}
	if (r < 80) {		/* no answer: the SYN is retransmitted, then the client gives up */
		add(s, C2S, TH_SYN, K_SYN, 1, 0);
		if (pm(500))
			add(s, C2S, TH_SYN, K_SYN, 1, 0);
		return;
	}
	add(s, S2C, TH_SYN | TH_ACK, K_SYNACK, 0, 0);
	add(s, C2S, TH_ACK, K_HSACK, 0, 0);
	if (r < 100) {		/* 421 busy banner, the server hangs up */
		add(s, S2C, PA, K_BANNER421, 0, 0);
		script_close(s);
		return;
	}
	add(s, S2C, PA, K_BANNER, 0, 0);
	if (type == ST_PROBE) {
		add(s, C2S, PA, K_EHLO, 0, 0);
		add(s, S2C, PA, K_EHLO_R, 0, 0);
		add(s, C2S, PA, K_MAIL, 0, 0);
		add(s, S2C, PA, K_MAIL_R, 0, 0);
		s->rc[s->nrc++] = pm(900) ? RC_OK : RC_UNKNOWN;
		add(s, C2S, PA, K_RCPT, 0, 0);
		add(s, S2C, PA, K_RCPT_R, 0, 0);
		add(s, C2S, PA, K_QUIT, 0, 0);
		add(s, S2C, PA, K_221, 0, 0);
		script_close(s);
		return;
	}
	int ehlo = pm(900);
	add(s, C2S, PA, ehlo ? K_EHLO : K_HELO, 0, 0);
	add(s, S2C, PA, ehlo ? K_EHLO_R : K_HELO_R, 0, 0);
	if (ehlo && !spammer && pm(170)) {	/* STARTTLS: what follows is opaque */
		add(s, C2S, PA, K_STARTTLS, 0, 0);
		add(s, S2C, PA, K_220TLS, 0, 0);
		uint32_t mss = (uint32_t)tcp_mss(&s->fl);
		add(s, C2S, PA, K_TLS, (uint16_t)rr(250, 520), 0);
		add(s, S2C, PA, K_TLS, (uint16_t)mss, 0);
		add(s, S2C, PA, K_TLS, (uint16_t)rr(600, mss), 0);
		add(s, C2S, PA, K_TLS, (uint16_t)rr(60, 130), 0);
		uint32_t n = rr(1, 12);
		for (uint32_t i = 0; i < n; i++) {
			add(s, C2S, PA, K_TLS, (uint16_t)(i + 1 < n ? mss : rr(100, mss)), 0);
			if (i % 2 == 1)
				add(s, S2C, TH_ACK, K_ACK, 0, 0);
		}
		add(s, S2C, PA, K_TLS, (uint16_t)rr(40, 120), 0);
		script_close(s);
		return;
	}
	build_header(s);
	int pipelined = ehlo && pm(350);
	uint32_t nmsg = spammer ? rr(1, MAXMSG) : (pm(850) ? 1 : rr(2, 3));
	for (uint32_t m = 0; m < nmsg; m++) {
		uint32_t k;
		if (pipelined)
			k = spammer ? rr(1, 8) : (pm(700) ? 1 : rr(2, 5));
		else
			k = spammer ? rr(1, 30) : (pm(650) ? 1 : (pm(800) ? rr(2, 5) : rr(6, 25)));
		pick_message(s, (int)m, spammer);
		uint16_t first = s->nrc;
		int any_ok = 0;
		for (uint32_t i = 0; i < k; i++) {
			uint8_t c = (uint8_t)mkrcode(spammer);
			any_ok |= c == RC_OK;
			s->rc[s->nrc++] = c;
		}
		if (pipelined) {
			if (!any_ok)	/* a pipelined DATA always gets its 354 here */
				s->rc[s->nrc - 1] = RC_OK;
			add(s, C2S, PA, K_PIPE, first, (uint16_t)k);
			add(s, S2C, PA, K_PIPE_R, first, (uint16_t)k);
			script_body(s, (int)m);
			continue;
		}
		add(s, C2S, PA, K_MAIL, (uint16_t)m, 0);
		add(s, S2C, PA, K_MAIL_R, 0, 0);
		for (uint32_t i = 0; i < k; i++) {
			add(s, C2S, PA, K_RCPT, (uint16_t)(first + i), 0);
			add(s, S2C, PA, K_RCPT_R, (uint16_t)(first + i), 0);
		}
		if (!any_ok)
			continue;	/* nobody to send to: next message or QUIT */
		add(s, C2S, PA, K_DATA, 0, 0);
		add(s, S2C, PA, K_354, 0, 0);
		script_body(s, (int)m);
	}
	add(s, C2S, PA, K_QUIT, 0, 0);
	add(s, S2C, PA, K_221, 0, 0);
	script_close(s);
}

static char *ap_body(char *p, struct sess *s, uint32_t n)
{
	uint32_t m = s->msg, hl = s->hlen;
	while (n) {
		uint32_t take;
		if (s->boff < hl) {
			take = hl - s->boff < n ? hl - s->boff : n;
			memcpy(p, s->hdr + s->boff, take);
		} else {
			take = n;
			memcpy(p, corpus + s->cstart[m] + (s->boff - hl), take);
		}
		p += take;
		s->boff += take;
		n -= take;
	}
	return p;
}

/* Emits the session's next frame with its ground truth; returns 0 when the script is done. */
static int sess_next(struct sess *s)
{
	if (s->step >= s->nsteps)
		return 0;
	const struct step *x = &s->steps[s->step++];
	struct srcstat *ss = &st[s->src];
	int syn = !!(x->flags & TH_SYN);
	char *p0 = (char *)tcp_payload(&s->fl, syn), *p = p0;

	switch ((enum kind)x->kind) {
	case K_SYN:
		if (x->a) {	/* retransmission: same sequence number */
			s->fl.cseq = s->fl.isn_c;
			s->fl.tsc += 1000;
		}
		ss->syn++;
		if (!x->a) {
			smtp_sessions_started++;
			if (pair_add((uint64_t)s->src << 32 | s->mx))
				ss->dst_ips++;
		}
		break;
	case K_HSACK:
		ss->sessions++;
		break;
	case K_SYNACK: case K_ACK: case K_RSTACK: case K_FIN:
		break;
	case K_BANNER:
		p = ap_s(p, "220 mx");
		p = ap_u(p, s->mx);
		p = ap_s(p, ".mail.example ESMTP Postfix (Debian/GNU)\r\n");
		break;
	case K_BANNER421:
		p = ap_s(p, "421 4.7.0 mx");
		p = ap_u(p, s->mx);
		p = ap_s(p, ".mail.example Error: too many connections from ");
		p = ap_ip(p, s->fl.pa.c, s->fl.pa.v6);
		p = ap_s(p, "\r\n");
		ss->r4xx++;
		break;
	case K_EHLO: case K_HELO:
		p = ap_s(p, x->kind == K_EHLO ? "EHLO host-" : "HELO host-");
		p = ap_u(p, s->src);
		p = ap_s(p, ".client.example\r\n");
		break;
	case K_EHLO_R:
		p = ap_s(p, "250-mx");
		p = ap_u(p, s->mx);
		p = ap_s(p, ".mail.example\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-VRFY\r\n250-ETRN\r\n"
			 "250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n");
		break;
	case K_HELO_R:
		p = ap_s(p, "250 mx");
		p = ap_u(p, s->mx);
		p = ap_s(p, ".mail.example\r\n");
		break;
	case K_MAIL:
		s->msg = x->a;
		p = ap_mail(p, s);
		ss->mail++;
		break;
	case K_MAIL_R:
		p = ap_s(p, "250 2.1.0 Ok\r\n");
		break;
	case K_RCPT:
		p = ap_s(p, "RCPT TO:");
		p = ap_rcpt(p, s, x->a);
		p = ap_s(p, "\r\n");
		ss->rcpt++;
		break;
	case K_RCPT_R:
		p = ap_rcpt_reply(p, s, x->a);
		count_reply(ss, s->rc[x->a]);
		break;
	case K_DATA:
		p = ap_s(p, "DATA\r\n");
		ss->data++;
		break;
	case K_354:
		p = ap_s(p, "354 End data with <CR><LF>.<CR><LF>\r\n");
		break;
	case K_PIPE:
		p = ap_mail(p, s);
		for (uint32_t i = 0; i < x->b; i++) {
			p = ap_s(p, "RCPT TO:");
			p = ap_rcpt(p, s, x->a + i);
			p = ap_s(p, "\r\n");
		}
		p = ap_s(p, "DATA\r\n");
		ss->mail++;
		ss->rcpt += x->b;
		ss->data++;
		break;
	case K_PIPE_R:
		p = ap_s(p, "250 2.1.0 Ok\r\n");
		for (uint32_t i = 0; i < x->b; i++) {
			p = ap_rcpt_reply(p, s, x->a + i);
			count_reply(ss, s->rc[x->a + i]);
		}
		p = ap_s(p, "354 End data with <CR><LF>.<CR><LF>\r\n");
		break;
	case K_BODY:
		s->msg = x->b;
		p = ap_body(p, s, x->a);
		if (x->last)
			p = ap_s(p, ".\r\n");
		break;
	case K_DOT:
		p = ap_s(p, ".\r\n");
		break;
	case K_QUEUED:
		p = ap_s(p, "250 2.0.0 Ok: queued as ");
		p = ap_x(p, (uint32_t)hash64((uint64_t)s->id * 8 + s->msg));
		p = ap_s(p, "\r\n");
		s->msg++;
		s->boff = 0;
		break;
	case K_QUIT:
		p = ap_s(p, "QUIT\r\n");
		break;
	case K_221:
		p = ap_s(p, "221 2.0.0 Bye\r\n");
		break;
	case K_STARTTLS:
		p = ap_s(p, "STARTTLS\r\n");
		break;
	case K_220TLS:
		p = ap_s(p, "220 2.0.0 Ready to start TLS\r\n");
		ss->starttls++;
		break;
	case K_TLS: {
		uint32_t n = x->a;
		uint8_t *q = (uint8_t *)p;
		q[0] = 0x17; q[1] = 3; q[2] = 3;
		put16(q + 3, n - 5);
		for (uint32_t i = 5; i < n; i++)
			q[i] = (uint8_t)(i * 131 + s->id);
		p += n;
		break;
	}
	}
	size_t plen = (size_t)(p - p0);
	struct built b = tcp_build(&s->fl, x->dir, x->flags, plen);
	smtp_frames++;
	if (s->fl.pa.v6)
		smtp_v6_frames++;
	if (s->fl.pa.ntags)
		smtp_vlan_frames++;
	if (x->dir == C2S) {
		smtp_frames_out++;
		ss->b_pl += plen;
		ss->b_ip += b.iplen;
		ss->b_fr += b.flen;
	}
	frame_commit(b.flen);
	return 1;
}

/* ---------- the other traffic ---------- */

#define NFLOWS 8192
#define RANDBUF (1u << 20)

struct oflow {
	struct tcpflow fl;
	uint32_t left;		/* data segments before the FIN */
	uint8_t state;		/* 0 SYN, 1 SYN-ACK, 2 ACK, 3 data, 4.. closing */
	uint8_t down;		/* permille of data segments sent server to client */
};

static struct oflow *oflows;
static uint8_t *randbuf;

static void oflow_init(struct oflow *o)
{
	static const uint16_t ports[] = { 443, 443, 443, 443, 443, 443, 443, 443, 443, 443, 443, 443,
					  443, 443, 443, 80, 80, 22, 3306, 5432, 8080, 8443, 993, 6379 };
	struct tcpflow *fl = &o->fl;
	memset(o, 0, sizeof *o);
	fl->pa.v6 = (uint8_t)pm(100);
	if (pm(500)) {		/* a customer's server answering the world */
		ext_addr(fl->pa.v6, fl->pa.c);
		local_addr(fl->pa.v6, fl->pa.s);
	} else {
		local_addr(fl->pa.v6, fl->pa.c);
		ext_addr(fl->pa.v6, fl->pa.s);
	}
	fl->pa.cport = (uint16_t)rr(32768, 60999);
	fl->pa.sport = ports[rb(sizeof ports / sizeof ports[0])];
	vlan_pick(&fl->pa, 52);
	fl->use_ts = (uint8_t)pm(700);
	fl->isn_c = fl->cseq = (uint32_t)rnd64();
	fl->sseq = (uint32_t)rnd64();
	fl->tsc = (uint32_t)rnd64() >> 4;
	fl->tss = (uint32_t)rnd64() >> 4;
	o->left = pm(700) ? rr(4, 60) : rr(60, 3000);
	o->down = (uint8_t)rr(40, 250) ;	/* x4 below: 16%..100% downstream */
	o->state = pm(200) ? 0 : 3;	/* most flows were already open when the capture began */
}

static void fill_payload(uint8_t *p, const struct path *pa, int dir, size_t n)
{
	size_t off = rb(RANDBUF - FRAME_MAX);
	memcpy(p, randbuf + off, n);
	if (pa->sport == 443 || pa->sport == 8443 || pa->sport == 993) {
		if (n >= 5) {
			p[0] = 0x17; p[1] = 3; p[2] = 3;
			put16(p + 3, (uint32_t)(n - 5));
		}
	} else if (pa->sport == 80 && !dir) {	/* requests: header lines, no body */
		static const char req[] = "GET /static/app.js HTTP/1.1\r\nHost: www.example.com\r\n";
		static const char hdr[] = "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
		size_t o = 0, l = sizeof req - 1;
		if (n >= l + 2) {
			memcpy(p, req, l);
			o = l;
			while (o + sizeof hdr - 1 + 2 <= n) {
				memcpy(p + o, hdr, sizeof hdr - 1);
				o += sizeof hdr - 1;
			}
			memset(p + o, ' ', n - o);
			p[n - 2] = '\r';
			p[n - 1] = '\n';
		}
	}
}

static void other_tcp(void)
{
	struct oflow *o = &oflows[rb(NFLOWS)];
	struct tcpflow *fl = &o->fl;
	int dir = 0;
	uint8_t flags = TH_ACK;
	size_t plen = 0;

	switch (o->state) {
	case 0: flags = TH_SYN; dir = 0; o->state++; break;
	case 1: flags = TH_SYN | TH_ACK; dir = 1; o->state++; break;
	case 2: flags = TH_ACK; dir = 0; o->state++; break;
	case 3: {
		dir = rb(1000) < o->down * 4u;
		uint32_t r = rb(100);
		size_t mss = tcp_mss(fl);
		if (r < 40) {
			dir = !dir;	/* the ACK goes against the data */
		} else {
			flags = PA;
			plen = r < 85 ? mss : rr(1, (uint32_t)mss);
		}
		if (--o->left == 0)
			o->state = 4;
		break;
	}
	case 4: flags = TH_FIN | TH_ACK; dir = 1; o->state++; break;
	case 5: flags = TH_FIN | TH_ACK; dir = 0; o->state++; break;
	default: flags = TH_ACK; dir = 1; o->state = 0; break;
	}
	uint8_t *p = tcp_payload(fl, !!(flags & TH_SYN));
	if (plen)
		fill_payload(p, &fl->pa, dir, plen);
	struct built b = tcp_build(fl, dir, flags, plen);
	mixed_counts[fl->pa.v6 ? 6 : 0]++;
	frame_commit(b.flen);
	if (o->state == 0 && flags == TH_ACK) {	/* closed: a new flow takes the slot */
		oflow_init(o);
		o->state = 0;
	}
}

static void udp_frame(const struct path *pa, int dir, size_t plen)
{
	uint8_t *f = frame_buf(), *u = f + l4off(pa);
	size_t iplen;
	put16(u, dir ? pa->sport : pa->cport);
	put16(u + 2, dir ? pa->cport : pa->sport);
	put16(u + 4, (uint32_t)(8 + plen));
	put16(u + 6, 0);
	if (pa->v6) {		/* mandatory over IPv6 (optional, and left out, over IPv4) */
		uint32_t sum = 17 + (uint32_t)(8 + plen);
		for (int i = 0; i < 16; i += 2)
			sum += (uint32_t)(pa->c[i] << 8 | pa->c[i + 1]) + (uint32_t)(pa->s[i] << 8 | pa->s[i + 1]);
		for (size_t i = 0; i < 8 + plen; i += 2)
			sum += (uint32_t)(u[i] << 8) | (i + 1 < 8 + plen ? u[i + 1] : 0);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		put16(u + 6, (~sum & 0xffff) ? (~sum & 0xffff) : 0xffff);
	}
	frame_commit(put_l2l3(f, pa, dir, 17, 8 + plen, &iplen));
}

static size_t dns_name(uint8_t *p, uint32_t n)
{
	char lab[16];
	size_t o = 0;
	p[o++] = 3; memcpy(p + o, "www", 3); o += 3;
	int l = snprintf(lab, sizeof lab, "site%u", n);
	p[o++] = (uint8_t)l; memcpy(p + o, lab, (size_t)l); o += (size_t)l;
	p[o++] = 3; memcpy(p + o, "com", 3); o += 3;
	p[o++] = 0;
	return o;
}

static void other_udp(uint32_t what)
{
	struct path pa;
	memset(&pa, 0, sizeof pa);
	pa.v6 = (uint8_t)pm(100);
	vlan_pick(&pa, 52);
	local_addr(pa.v6, pa.c);
	ext_addr(pa.v6, pa.s);
	pa.cport = (uint16_t)rr(32768, 60999);
	int dir = (int)rb(2);
	uint8_t *p = frame_buf() + l4off(&pa) + 8;
	size_t n;
	if (what == 1) {	/* QUIC */
		pa.sport = 443;
		n = pm(600) ? rr(1200, 1350) : rr(30, 120);
		memcpy(p, randbuf + rb(RANDBUF - FRAME_MAX), n);
		p[0] = (uint8_t)(0x40 | (p[0] & 0x3f));
	} else if (what == 2) {	/* DNS */
		pa.sport = 53;
		uint32_t q = rb(100000), aaaa = pm(300);
		put16(p, rb(65536));
		put16(p + 2, dir ? 0x8180 : 0x0100);
		put16(p + 4, 1);
		put16(p + 6, dir ? 1 : 0);
		put32(p + 8, 0);
		n = 12 + dns_name(p + 12, q);
		put16(p + n, aaaa ? 28 : 1);
		put16(p + n + 2, 1);
		n += 4;
		if (dir) {
			put16(p + n, 0xc00c);
			put16(p + n + 2, aaaa ? 28 : 1);
			put16(p + n + 4, 1);
			put32(p + n + 6, 300);
			put16(p + n + 10, aaaa ? 16 : 4);
			memcpy(p + n + 12, randbuf + q, aaaa ? 16 : 4);
			n += 12 + (aaaa ? 16 : 4);
		}
	} else {		/* NTP */
		pa.sport = 123;
		n = 48;
		memcpy(p, randbuf + rb(RANDBUF - FRAME_MAX), n);
		p[0] = dir ? 0x24 : 0x23;
	}
	mixed_counts[what]++;
	udp_frame(&pa, dir, n);
}

static void other_icmp(void)
{
	struct path pa;
	size_t iplen;
	memset(&pa, 0, sizeof pa);
	pa.v6 = (uint8_t)pm(150);
	vlan_pick(&pa, 52);
	local_addr(pa.v6, pa.c);
	ext_addr(pa.v6, pa.s);
	int dir = (int)rb(2);
	uint8_t *f = frame_buf(), *i = f + l4off(&pa);
	i[0] = pa.v6 ? (dir ? 129 : 128) : (dir ? 0 : 8);
	i[1] = 0;
	put16(i + 2, 0);
	put32(i + 4, rnd64() & 0xffffffff);
	memcpy(i + 8, randbuf, 56);
	mixed_counts[4]++;
	frame_commit(put_l2l3(f, &pa, dir, pa.v6 ? 58 : 1, 64, &iplen));
}

static void other_arp(void)
{
	uint8_t *f = frame_buf(), a[16], b[16];
	local_addr(0, a);
	local_addr(0, b);
	memset(f, 0xff, 6);
	memcpy(f + 6, mac_gw, 6);
	put16(f + 12, 0x0806);
	uint8_t *p = f + 14;
	put16(p, 1); put16(p + 2, 0x0800); p[4] = 6; p[5] = 4; put16(p + 6, 1);
	memcpy(p + 8, mac_gw, 6); memcpy(p + 14, a, 4);
	memset(p + 18, 0, 6); memcpy(p + 24, b, 4);
	memset(f + 42, 0, 18);
	mixed_counts[5]++;
	frame_commit(60);
}

/* ---------- modes ---------- */

static struct sess *sessions;
static uint32_t nconc;
static uint32_t mixed_conc = 2000;	/* mixed mode: SMTP sessions open at once (--concurrent) */

static uint32_t pick_source(void)
{
	if (pm(200))		/* a heavy sender: every fiftieth source is a spammer */
		return rb(nsources / 50) * 50;
	return rb(nsources);
}

static uint32_t pick_mx(uint32_t src)
{
	if (src % 50 == 0)
		return rb(nmx);	/* spammers fan out */
	return (uint32_t)(hash64(src) % nmx + (pm(800) ? 0 : rb(200))) % nmx;	/* a few favourite MX */
}

static void run_mixed(uint32_t smtp_permille)
{
	nconc = mixed_conc;
	sessions = calloc(nconc, sizeof *sessions);
	oflows = calloc(NFLOWS, sizeof *oflows);
	if (!sessions || !oflows)
		die("calloc");
	for (uint32_t i = 0; i < NFLOWS; i++)
		oflow_init(&oflows[i]);
	for (uint32_t i = 0; i < nconc; i++) {
		uint32_t src = pick_source();
		sess_init(&sessions[i], src, pick_mx(src), ST_FULL);
	}
	while (npkts < want_packets) {
		uint32_t r = rb(1000);
		if (r < smtp_permille) {
			struct sess *s = &sessions[rb(nconc)];
			while (!sess_next(s)) {
				uint32_t src = pick_source();
				sess_init(s, src, pick_mx(src), ST_FULL);
			}
			continue;
		}
		r = rb(1000);
		if (r < 560)
			other_tcp();
		else if (r < 750)
			other_udp(1);
		else if (r < 920)
			other_udp(2);
		else if (r < 960)
			other_udp(3);
		else if (r < 990)
			other_icmp();
		else
			other_arp();
	}
}

static uint32_t gcd32(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static void run_sources(void)
{
	static const uint32_t mults[] = { 999983, 1000003, 15485863, 104729 };
	uint32_t mult = 1, next = 0, live = 0;
	for (size_t i = 0; i < sizeof mults / sizeof mults[0]; i++)
		if (gcd32(mults[i] % nsources, nsources) == 1) {
			mult = mults[i];
			break;
		}
	nconc = 1000;
	sessions = calloc(nconc, sizeof *sessions);
	if (!sessions)
		die("calloc");
	for (uint32_t i = 0; i < nconc && next < nsources; i++, next++, live++) {
		uint32_t src = (uint32_t)(((uint64_t)next * mult + 12345) % nsources);
		sess_init(&sessions[i], src, rb(nmx), ST_PROBE);
	}
	while (live) {
		struct sess *s = &sessions[rb(nconc)];
		if (s->nsteps == 0)
			continue;
		if (sess_next(s))
			continue;
		if (next < nsources) {
			uint32_t src = (uint32_t)(((uint64_t)next++ * mult + 12345) % nsources);
			sess_init(s, src, rb(nmx), ST_PROBE);
			sess_next(s);
		} else {
			s->nsteps = 0;
			live--;
		}
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: gen_capture [--packets N | --sources N] [--seed S] [--smtp-permille P]\n"
		"                   [--pool N] [--usec-per-packet U] [--concurrent N]\n"
		"                   [--truth PREFIX [--checkpoint P]]\n"
		"                   OUT.pcap\n");
	exit(2);
}

static uint64_t num(const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "packets", required_argument, NULL, 'n' },
		{ "sources", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'S' },
		{ "smtp-permille", required_argument, NULL, 'p' },
		{ "pool", required_argument, NULL, 'P' },
		{ "truth", required_argument, NULL, 't' },
		{ "checkpoint", required_argument, NULL, 'c' },
		{ "usec-per-packet", required_argument, NULL, 'u' },
		{ "concurrent", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t seed = 1, sources_mode = 0;
	uint32_t smtp_permille = 100;
	int c, usec_set = 0;

	want_packets = 5000000;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': want_packets = num(optarg); break;
		case 's': sources_mode = num(optarg); break;
		case 'S': seed = num(optarg); break;
		case 'p': smtp_permille = (uint32_t)num(optarg); break;
		case 'P': nsources = (uint32_t)num(optarg); break;
		case 't': truth_prefix = optarg; break;
		case 'c': checkpoint = num(optarg); break;
		case 'u': usec_per_packet = (uint32_t)num(optarg); usec_set = 1; break;
		case 'C': mixed_conc = (uint32_t)num(optarg); break;
		default: usage();
		}
	}
	if (optind + 1 != argc || smtp_permille > 1000 || mixed_conc == 0 || mixed_conc > 100000 ||
	    usec_per_packet > 100000000)
		usage();
	if (sources_mode) {
		if (sources_mode > 16000000)
			usage();
		nsources = (uint32_t)sources_mode;
		if (!usec_set)	/* ~1000 sessions a second, each about a second long */
			usec_per_packet = 70;
	}
	if (nsources < 100)
		usage();
	opath = argv[optind];
	rseed(seed);
	st = calloc(nsources, sizeof *st);
	obuf = malloc(OBUF_SIZE);
	randbuf = malloc(RANDBUF);
	if (!st || !obuf || !randbuf)
		die("malloc");
	for (uint32_t i = 0; i < RANDBUF; i += 8) {
		uint64_t r = rnd64();
		memcpy(randbuf + i, &r, 8);
	}
	corpus_init();
	ofd = open(opath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (ofd < 0)
		die(opath);
	/* classic pcap header, native byte order, microseconds, Ethernet */
	uint32_t gh[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1 };
	memcpy(obuf, gh, 24);
	oused = 24;

	if (sources_mode)
		run_sources();
	else
		run_mixed(smtp_permille);
	oflush();
	if (close(ofd))
		die(opath);
	if (truth_prefix)
		truth_dump("");
	uint64_t nsrc = 0;
	for (uint32_t i = 0; i < nsources; i++)
		nsrc += st[i].syn != 0;
	fprintf(stderr, "gen_capture: %s: %" PRIu64 " packets, %" PRIu64 " bytes, %" PRIu64
		" SMTP frames, %" PRIu64 " SMTP sessions from %" PRIu64 " sources, %" PRIu64
		" tagged, %" PRIu64 " IPv6\n", opath, npkts, nbytes_file, smtp_frames,
		smtp_sessions_started, nsrc, vlan_frames, v6_frames);
	return 0;
}
