/*
 * bench_flows.c — the flow exports path (probes/flowexp + monitor/flows) on one core, and a
 * UDP sender for the daemon's drop figure (bench/bench_flows.sh drives both).
 *
 * `bench_flows` prints "key: value" lines:
 *   - samples per second decoded and applied to the traffic table (flows_datagram, the
 *     whole per-datagram path of the daemon after recvmsg), for IPFIX (40 records of 30
 *     bytes per datagram), NetFlow v9 (the same records) and sFlow (8 samples per
 *     datagram, each a 78-byte raw header through decode.c); clients from a pool of 100k
 *     IPs, every record to port 25 (the worst case: each one is applied); best of 5 runs
 *     of 1M samples, and its ratio to the goal (1M/s);
 *   - memory per exporter (a decoder with no template) and per template, from the heap's
 *     own count (mallinfo2) over 1000 exporters each given 64 templates.
 * `bench_flows blast ADDR:PORT KIND SECONDS PPS` sends KIND (ipfix or sflow) datagrams at
 * PPS datagrams/s for SECONDS (the template again every 100 datagrams, as exporters
 * repeat it) and prints "sent: N" and "samples: M".
 * Fixed seed: the same datagrams every run.
 */
#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "flows.h"
#include "traffic.h"

#include "benchutil.h"

#define NREC		40	/* records per IPFIX / v9 datagram */
#define NSAMP		8	/* samples per sFlow datagram */
#define NDGRAM		256	/* distinct datagrams cycled through */
#define NCLIENT		100000
#define SAMPLES		1000000

struct dgram {
	uint8_t b[1500];
	size_t len;
};

static uint8_t *
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *
put32(uint8_t *p, uint32_t v)
{
	p = put16(p, (uint16_t)(v >> 16));
	return put16(p, (uint16_t)v);
}

static uint8_t *
put64(uint8_t *p, uint64_t v)
{
	p = put32(p, (uint32_t)(v >> 32));
	return put32(p, (uint32_t)v);
}

static uint32_t
client(void)
{
	return 0x0a000000u + (uint32_t)(rnd() % NCLIENT);
}

static const uint16_t tfields[][2] = {
	{ 8, 4 }, { 12, 4 }, { 7, 2 }, { 11, 2 }, { 4, 1 }, { 6, 1 }, { 2, 8 }, { 1, 8 }
};
#define NTF	(sizeof tfields / sizeof tfields[0])

/* A template set (IPFIX 2, v9 0) of template id tid. */
static uint8_t *
tmpl_set(uint8_t *p, int v9, uint16_t tid)
{
	size_t i;

	p = put16(p, v9 ? 0 : 2);
	p = put16(p, (uint16_t)(4 + 4 + 4 * NTF));
	p = put16(p, tid);
	p = put16(p, NTF);
	for (i = 0; i < NTF; i++) {
		p = put16(p, tfields[i][0]);
		p = put16(p, tfields[i][1]);
	}
	return p;
}

/* An IPFIX (v9 0) or NetFlow v9 datagram of NREC records, with the template when asked. */
static void
flow_dgram(struct dgram *d, int v9, int with_template)
{
	uint8_t *p = d->b, *len_at, *set;
	int i;

	p = put16(p, v9 ? 9 : 10);
	len_at = p;
	p = put16(p, 0);
	if (v9)
		p = put32(p, 1000);	/* uptime */
	p = put32(p, 1700000000);
	p = put32(p, 1);
	p = put32(p, 0);		/* domain / source id */
	if (with_template)
		p = tmpl_set(p, v9, 256);
	set = p;
	p = put16(p, 256);
	p = put16(p, 4 + NREC * 30);
	for (i = 0; i < NREC; i++) {
		p = put32(p, client());
		p = put32(p, 0xc6120000u + (uint32_t)(rnd() % 64));	/* 198.18.0.x */
		p = put16(p, (uint16_t)(1024 + rnd() % 60000));
		p = put16(p, 25);
		*p++ = 6;
		*p++ = (rnd() & 1) ? 0x1b : 0x18;
		p = put64(p, 1 + rnd() % 20);
		p = put64(p, 60 + rnd() % 20000);
	}
	(void)set;
	d->len = (size_t)(p - d->b);
	/* v9's count is of records (and templates); IPFIX's field is the length */
	put16(len_at, v9 ? (uint16_t)(NREC + (with_template ? 1 : 0)) : (uint16_t)d->len);
}

/* One sampled frame: Ethernet, IPv4, TCP to :25 with 20 bytes of SMTP. */
static size_t
frame(uint8_t *f)
{
	static const char cmd[] = "RCPT TO:<a@b.example>";
	uint8_t *p = f;

	memset(f, 0, 78);
	p += 12;
	p = put16(p, 0x0800);
	*p++ = 0x45;
	*p++ = 0;
	p = put16(p, 20 + 20 + 20);
	p += 4;
	*p++ = 64;
	*p++ = 6;
	p += 2;
	p = put32(p, client());
	p = put32(p, 0xc6120000u + (uint32_t)(rnd() % 64));
	p = put16(p, (uint16_t)(1024 + rnd() % 60000));
	p = put16(p, 25);
	p = put32(p, (uint32_t)rnd());
	p = put32(p, (uint32_t)rnd());
	*p++ = 5 << 4;
	*p++ = (rnd() & 1) ? 0x02 : 0x18;
	p = put16(p, 64240);
	p += 4;
	memcpy(p, cmd, 20);
	return 74;
}

static void
sflow_dgram(struct dgram *d, uint32_t rate)
{
	uint8_t *p = d->b, f[80];
	size_t fl;
	int i;

	p = put32(p, 5);
	p = put32(p, 1);
	p = put32(p, 0x7f000001);
	p = put32(p, 0);
	p = put32(p, 1);
	p = put32(p, 1000);
	p = put32(p, NSAMP);
	for (i = 0; i < NSAMP; i++) {
		fl = frame(f);
		p = put32(p, 1);			/* flow sample */
		p = put32(p, 32 + 8 + 16 + 76);
		p = put32(p, (uint32_t)i);		/* sequence */
		p = put32(p, 1);			/* source id */
		p = put32(p, rate);
		p = put32(p, rate * (uint32_t)i);	/* pool */
		p = put32(p, 0);			/* drops */
		p = put32(p, 1);			/* input */
		p = put32(p, 2);			/* output */
		p = put32(p, 1);			/* records */
		p = put32(p, 1);			/* raw packet header */
		p = put32(p, 16 + 76);
		p = put32(p, 1);			/* Ethernet */
		p = put32(p, (uint32_t)fl + 4);		/* frame length with the FCS */
		p = put32(p, 4);			/* stripped: the FCS */
		p = put32(p, (uint32_t)fl);
		memcpy(p, f, fl);
		memset(p + fl, 0, 76 - fl);
		p += 76;
	}
	d->len = (size_t)(p - d->b);
}

static struct flows *
make_flows(size_t nexp, struct traffic *t)
{
	struct flows_exporter *ex = calloc(nexp, sizeof *ex);
	struct flows_opts o;
	struct flows *f;
	char err[128];
	uint8_t a[4] = { 127, 0, 0, 1 };
	size_t i;

	for (i = 0; i < nexp; i++) {
		a[2] = (uint8_t)(i >> 8);
		a[3] = (uint8_t)i;
		addr_from_v4(&ex[i].addr, a);
	}
	memset(&o, 0, sizeof o);
	o.exporters = ex;
	o.nexporters = nexp;
	o.max_templates = 64;
	o.pcap_window = 300;
	if ((f = flows_new(NULL, NULL, &o, err, sizeof err)) == NULL ||
	    flows_start(f, t, NULL) == -1) {
		fprintf(stderr, "bench_flows: %s\n", err);
		exit(1);
	}
	free(ex);
	return f;
}

/* Best of 5: samples per second through flows_datagram. */
static double
rate_of(const char *kind, struct dgram *d, size_t per)
{
	struct traffic *t = traffic_new(2 * NCLIENT, 0);
	struct rw_addr from;
	struct flows *f;
	struct flows_counts c;
	const uint8_t lo[4] = { 127, 0, 0, 0 };	/* make_flows' exporter 0 */
	double best = 0, t0, dt;
	size_t i, n = SAMPLES / per;
	int run;

	addr_from_v4(&from, lo);
	f = make_flows(1, t);
	flows_datagram(f, &from, d[0].b, d[0].len, 1000);	/* the template */
	for (run = 0; run < 5; run++) {
		t0 = now_s();
		for (i = 0; i < n; i++)
			flows_datagram(f, &from, d[i % NDGRAM].b, d[i % NDGRAM].len, 1000);
		dt = now_s() - t0;
		if (n * per / dt > best)
			best = (double)(n * per) / dt;
	}
	flows_get_counts(f, &c);
	if (c.samples != 5 * n * per + per) {	/* and the template datagram's */
		fprintf(stderr, "bench_flows: %s: %llu samples applied, %zu sent\n", kind,
		    (unsigned long long)c.samples, 5 * n * per);
		exit(1);
	}
	printf("%s_samples_per_s: %.0f\n", kind, best);
	printf("%s_goal_ratio: %.2f\n", kind, best / 1e6);
	flows_free(f);
	traffic_free(t);
	return best;
}

static void
memory(void)
{
	struct traffic *t = traffic_new(16, 0);
	struct dgram d;
	struct flows *f;
	struct rw_addr from;
	uint8_t a[4] = { 127, 0, 0, 1 }, *p;
	size_t i, k, nexp = 1000, base, withexp, withtmpl;
	struct mallinfo2 m;

	m = mallinfo2();
	base = m.uordblks;
	f = make_flows(nexp, t);
	m = mallinfo2();
	withexp = m.uordblks;
	for (i = 0; i < nexp; i++) {
		/* 64 templates in 4 datagrams of 16 */
		for (k = 0; k < 4; k++) {
			size_t j;

			p = d.b;
			p = put16(p, 10);
			p = put16(p, 0);
			p = put32(p, 1700000000);
			p = put32(p, 1);
			p = put32(p, 0);
			for (j = 0; j < 16; j++)
				p = tmpl_set(p, 0, (uint16_t)(256 + k * 16 + j));
			d.len = (size_t)(p - d.b);
			put16(d.b + 2, (uint16_t)d.len);
			a[2] = (uint8_t)(i >> 8);
			a[3] = (uint8_t)i;
			addr_from_v4(&from, a);
			flows_datagram(f, &from, d.b, d.len, 1000);
		}
	}
	m = mallinfo2();
	withtmpl = m.uordblks;
	printf("memory_per_exporter_bytes: %.0f\n", (double)(withexp - base) / (double)nexp);
	printf("memory_per_template_bytes: %.0f\n",
	    (double)(withtmpl - withexp) / (double)(nexp * 64));
	printf("flows_memory_1000x64_bytes: %zu\n", flows_memory(f));
	flows_free(f);
	traffic_free(t);
}

static int
blast(const char *dst, const char *kind, double secs, double pps)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char msg[160];
	struct dgram *d = calloc(NDGRAM + 1, sizeof *d);
	int fd, sflow = strcmp(kind, "sflow") == 0;
	uint64_t sent = 0, i;
	double t0 = now_s(), next = t0;
	size_t per = sflow ? NSAMP : NREC;

	if (flows_parse_listen(dst, 4739, &ss, &sl, msg, sizeof msg) == -1) {
		fprintf(stderr, "bench_flows: %s: %s\n", dst, msg);
		return 1;
	}
	for (i = 0; i < NDGRAM; i++) {
		if (sflow)
			sflow_dgram(&d[i], 1000);
		else
			flow_dgram(&d[i], 0, 0);
	}
	flow_dgram(&d[NDGRAM], 0, 1);	/* the template, with records */
	if ((fd = socket(ss.ss_family, SOCK_DGRAM, 0)) == -1) {
		perror("socket");
		return 1;
	}
	while (now_s() - t0 < secs) {
		const struct dgram *x = !sflow && sent % 100 == 0 ? &d[NDGRAM] : &d[sent % NDGRAM];

		if (sendto(fd, x->b, x->len, 0, (struct sockaddr *)&ss, sl) == -1)
			continue;
		sent++;
		next += 1.0 / pps;
		while (now_s() < next)
			;
	}
	printf("sent: %llu\nsamples: %llu\n", (unsigned long long)sent,
	    (unsigned long long)(sent * per));
	close(fd);
	free(d);
	return 0;
}

int
main(int argc, char **argv)
{
	struct dgram *d;
	size_t i;

	addr_hash_set_key(0x1234567);
	if (argc == 6 && strcmp(argv[1], "blast") == 0)
		return blast(argv[2], argv[3], atof(argv[4]), atof(argv[5]));
	if (argc != 1) {
		fprintf(stderr, "usage: bench_flows | bench_flows blast ADDR:PORT ipfix|sflow "
		    "SECONDS PPS\n");
		return 2;
	}
	d = calloc(NDGRAM, sizeof *d);
	for (i = 0; i < NDGRAM; i++)
		flow_dgram(&d[i], 0, i == 0);
	rate_of("ipfix", d, NREC);
	for (i = 0; i < NDGRAM; i++)
		flow_dgram(&d[i], 1, i == 0);
	rate_of("netflow_v9", d, NREC);
	for (i = 0; i < NDGRAM; i++)
		sflow_dgram(&d[i], 1000);
	rate_of("sflow_raw_header", d, NSAMP);
	free(d);
	memory();
	return 0;
}
