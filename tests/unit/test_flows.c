/*
 * test_flows.c — flow exports (probes/flowexp + monitor/flows) on hand-built datagrams:
 * the config words, scaling by the rate of an options record and by an override, the
 * variance and its 95% words, only the lower bound reaching the model's counters, replies
 * and strangers never counted, the pcap-wins dedup, NetFlow v9 and sFlow raw headers.
 * Every datagram is copied into a heap buffer of its exact size so ASan sees a read past it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "flows.h"
#include "traffic.h"

struct buf {
	uint8_t b[4096];
	size_t n;
};

static void
p8(struct buf *b, unsigned v) { b->b[b->n++] = (uint8_t)v; }
static void
p16(struct buf *b, unsigned v) { p8(b, v >> 8); p8(b, v & 0xff); }
static void
p32(struct buf *b, uint32_t v) { p16(b, v >> 16); p16(b, v & 0xffff); }

static uint32_t
ip4(unsigned a, unsigned b, unsigned c, unsigned d)
{
	return (uint32_t)a << 24 | b << 16 | c << 8 | d;
}

/* IPFIX header; the length is patched by done(). */
static void
ipfix_start(struct buf *b)
{
	b->n = 0;
	p16(b, 10); p16(b, 0); p32(b, 1700000000); p32(b, 1); p32(b, 0);
}

static void
done(struct buf *b)
{
	b->b[2] = (uint8_t)(b->n >> 8);
	b->b[3] = (uint8_t)b->n;
}

/* template 256: src, dst, sport, dport, proto, flags, packets (4) */
static void
tmpl256(struct buf *b)
{
	static const unsigned f[][2] = { {8,4}, {12,4}, {7,2}, {11,2}, {4,1}, {6,1}, {2,4} };
	size_t i;

	p16(b, 2); p16(b, 4 + 4 + 4 * 7); p16(b, 256); p16(b, 7);
	for (i = 0; i < 7; i++) { p16(b, f[i][0]); p16(b, f[i][1]); }
}

static void
rec(struct buf *b, uint32_t src, uint32_t dst, unsigned sport, unsigned dport, unsigned flags,
    uint32_t pkts)
{
	p32(b, src); p32(b, dst); p16(b, sport); p16(b, dport); p8(b, 6); p8(b, flags);
	p32(b, pkts);
}

/* An options template 257 (scope: meteringProcessId) and its record: samplingInterval. */
static void
sampling(struct buf *b, uint32_t rate)
{
	p16(b, 3); p16(b, 4 + 6 + 8); p16(b, 257); p16(b, 2); p16(b, 1);
	p16(b, 143); p16(b, 4); p16(b, 34); p16(b, 4);
	p16(b, 257); p16(b, 4 + 8); p32(b, 1); p32(b, rate);
}

struct fx {
	struct traffic *t;
	struct flows *f;
	struct rw_addr exporter;
};

static void
fx_init(struct fx *x, uint32_t override)
{
	struct flows_exporter ex;
	struct flows_opts o;
	const uint8_t a[4] = { 192, 0, 2, 250 };
	char err[128];

	memset(&ex, 0, sizeof ex);
	addr_from_v4(&ex.addr, a);
	ex.sampling = override;
	x->exporter = ex.addr;
	memset(&o, 0, sizeof o);
	o.exporters = &ex;
	o.nexporters = 1;
	o.max_templates = 8;
	o.pcap_window = 300;
	x->t = traffic_new(100, 0);
	x->f = flows_new(NULL, NULL, &o, err, sizeof err);
	assert_non_null(x->t);
	assert_non_null(x->f);
	assert_int_equal(flows_start(x->f, x->t, NULL), 0);
}

static void
fx_free(struct fx *x)
{
	flows_free(x->f);
	traffic_free(x->t);
}

static void
send_(struct fx *x, const struct rw_addr *from, const struct buf *b, uint32_t now)
{
	uint8_t *c = malloc(b->n);

	memcpy(c, b->b, b->n);
	flows_datagram(x->f, from, c, b->n, now);
	free(c);
}

static struct traffic_ip *
ip_of(struct fx *x, uint32_t v4)
{
	uint8_t a[4] = { (uint8_t)(v4 >> 24), (uint8_t)(v4 >> 16), (uint8_t)(v4 >> 8),
	    (uint8_t)v4 };
	struct rw_addr r;

	addr_from_v4(&r, a);
	return traffic_get(x->t, &r);
}

static void
test_config_words(void **state)
{
	struct flows_exporter e;
	struct sockaddr_storage ss;
	socklen_t sl;
	char msg[200];

	(void)state;
	assert_int_equal(flows_parse_exporter("192.0.2.1", &e, msg, sizeof msg), 0);
	assert_int_equal(e.sampling, 0);
	assert_int_equal(flows_parse_exporter("2001:db8::1 sampling 1000", &e, msg, sizeof msg), 0);
	assert_int_equal(e.sampling, 1000);
	assert_int_equal(flows_parse_exporter("router1", &e, msg, sizeof msg), -1);
	assert_int_equal(flows_parse_exporter("192.0.2.1 sampling 0", &e, msg, sizeof msg), -1);
	assert_int_equal(flows_parse_exporter("192.0.2.1 sampling", &e, msg, sizeof msg), -1);
	assert_int_equal(flows_parse_exporter("192.0.2.1 rate 10", &e, msg, sizeof msg), -1);
	assert_int_equal(flows_parse_exporter("192.0.2.1 sampling 10 x", &e, msg, sizeof msg), -1);
	assert_int_equal(flows_parse_listen("0.0.0.0", 6343, &ss, &sl, msg, sizeof msg), 0);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 6343);
	assert_int_equal(flows_parse_listen("127.0.0.1:9999", 6343, &ss, &sl, msg, sizeof msg), 0);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 9999);
	assert_int_equal(flows_parse_listen("[::1]:2055", 1, &ss, &sl, msg, sizeof msg), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(flows_parse_listen("::", 4739, &ss, &sl, msg, sizeof msg), 0);
	assert_int_equal(flows_parse_listen("host:1", 1, &ss, &sl, msg, sizeof msg), -1);
	assert_int_equal(flows_parse_listen("1.2.3.4:0", 1, &ss, &sl, msg, sizeof msg), -1);
	assert_int_equal(flows_parse_listen("1.2.3.4:70000", 1, &ss, &sl, msg, sizeof msg), -1);
	assert_int_equal(flows_parse_listen("[::1", 1, &ss, &sl, msg, sizeof msg), -1);
}

/* 100 SYN flows at 1:1000 from the options record: 100000 sessions ±19.6% (x sqrt(.999)),
 * and only the lower bound in the IP's sessions. */
static void
test_scaled_estimate(void **state)
{
	struct fx x;
	struct buf b;
	struct traffic_ip *ip;
	struct flows_counts c;
	char text[96];
	double lb;
	int i;

	(void)state;
	fx_init(&x, 0);
	ipfix_start(&b);
	tmpl256(&b);
	sampling(&b, 1000);
	p16(&b, 256); p16(&b, 4 + 100 * 18);
	for (i = 0; i < 100; i++)
		rec(&b, ip4(203, 0, 113, 7), ip4(198, 18, 0, 25), 40000 + i, 25, 0x1b, 3);
	done(&b);
	send_(&x, &x.exporter, &b, 1000);
	assert_non_null(ip = ip_of(&x, ip4(203, 0, 113, 7)));
	assert_true(fabs(ip->fx->sessions - 100000) < 1e-6);
	assert_true(fabs(ip->fx->packets - 300000) < 1e-6);
	assert_int_equal(ip->fx->samples, 300);
	assert_int_equal(ip->fx->syn_samples, 100);
	assert_int_equal(ip->fx->rate, 1000);
	assert_true(fabs(flows_error_pct(ip->fx->sessions, ip->fx->sessions_var) -
	    196.0 / sqrt(100) * sqrt(0.999)) < 1e-9);
	lb = 100000 - 1.96 * sqrt(100 * 1000.0 * 999);
	assert_int_equal(ip->sessions, (uint32_t)lb);
	assert_int_equal(ip->syn, (uint32_t)lb);
	assert_int_equal(ip->mail_from + ip->rcpt_to + ip->replies_5xx, 0);
	flows_estimate_text(ip, text, sizeof text);
	assert_string_equal(text, "estimated from 1:1000 samples, \u00b120%");
	flows_get_counts(x.f, &c);
	assert_int_equal(c.samples, 100);
	fx_free(&x);
}

/* A few samples say nothing to the model: 3 SYN samples at 1:100 have a lower bound of 0. */
static void
test_few_samples_add_nothing(void **state)
{
	struct fx x;
	struct buf b;
	struct traffic_ip *ip;

	(void)state;
	fx_init(&x, 100);	/* the override: the datagram says nothing of a rate */
	ipfix_start(&b);
	tmpl256(&b);
	p16(&b, 256); p16(&b, 4 + 3 * 18);
	rec(&b, ip4(203, 0, 113, 8), ip4(198, 18, 0, 25), 40001, 25, 0x02, 1);
	rec(&b, ip4(203, 0, 113, 8), ip4(198, 18, 0, 26), 40002, 25, 0x02, 1);
	rec(&b, ip4(203, 0, 113, 8), ip4(198, 18, 0, 27), 40003, 25, 0x02, 1);
	done(&b);
	send_(&x, &x.exporter, &b, 1000);
	assert_non_null(ip = ip_of(&x, ip4(203, 0, 113, 8)));
	assert_true(fabs(ip->fx->sessions - 300) < 1e-9);
	assert_int_equal(ip->sessions, 0);
	assert_int_equal(ip->fx->fed, 0);
	assert_int_equal(distinct_count(&ip->dst), 3);
	fx_free(&x);
}

/* The traffic table forgets IPs to make room (traffic_evict): an IP's estimate record
 * goes with it, is reused for the next IP the flows count, and nothing shows the
 * forgotten IP's estimate under another address. */
static void
test_forgotten_ip_estimate(void **state)
{
	struct fx x;
	struct buf b;
	struct traffic_ip *ip;
	json_t *o;
	int i;

	(void)state;
	fx_init(&x, 100);
	ipfix_start(&b);
	tmpl256(&b);
	p16(&b, 256); p16(&b, 4 + 100 * 18);
	for (i = 0; i < 100; i++)	/* 100 IPs, one SYN sample each: a full table */
		rec(&b, ip4(203, 0, 113, (uint8_t)i), ip4(198, 18, 0, 25), 40000, 25, 0x02, 1);
	done(&b);
	send_(&x, &x.exporter, &b, 1000);
	assert_int_equal(traffic_live(x.t), 100);
	assert_int_equal(traffic_evict(x.t, 5000, NULL, NULL), 25);
	assert_int_equal(traffic_live(x.t), 75);
	ipfix_start(&b);
	tmpl256(&b);
	p16(&b, 256); p16(&b, 4 + 18);
	rec(&b, ip4(192, 0, 2, 9), ip4(198, 18, 0, 25), 40000, 25, 0x02, 1);
	done(&b);
	send_(&x, &x.exporter, &b, 5001);
	assert_non_null(ip = ip_of(&x, ip4(192, 0, 2, 9)));
	assert_non_null(ip->fx);
	assert_true(ip->fx->ip == ip);
	assert_true(fabs(ip->fx->sessions - 100) < 1e-9);	/* its own, from zero */
	o = flows_json(x.f, 1000);
	assert_int_equal(json_array_size(json_object_get(o, "ips")), 76);
	json_decref(o);
	fx_free(&x);
}

/* Unsampled: exact as exported, the whole count in sessions; replies and strangers none. */
static void
test_unsampled_replies_strangers(void **state)
{
	struct fx x;
	struct buf b;
	struct traffic_ip *ip;
	struct flows_counts c;
	struct rw_addr stranger;
	const uint8_t s[4] = { 192, 0, 2, 99 };
	char text[96];

	(void)state;
	fx_init(&x, 0);
	ipfix_start(&b);
	tmpl256(&b);
	sampling(&b, 1);
	p16(&b, 256); p16(&b, 4 + 3 * 18);
	rec(&b, ip4(203, 0, 113, 9), ip4(198, 18, 0, 25), 40001, 25, 0x1b, 7);
	rec(&b, ip4(198, 18, 0, 25), ip4(203, 0, 113, 9), 25, 40001, 0x1b, 5);	/* reply */
	rec(&b, ip4(203, 0, 113, 9), ip4(198, 18, 0, 25), 40001, 587, 0x02, 5);	/* not :25 */
	done(&b);
	send_(&x, &x.exporter, &b, 1000);
	addr_from_v4(&stranger, s);
	send_(&x, &stranger, &b, 1000);
	assert_non_null(ip = ip_of(&x, ip4(203, 0, 113, 9)));
	assert_int_equal(ip->sessions, 1);
	assert_true(fabs(ip->fx->packets - 7) < 1e-9);
	assert_true(ip->fx->sessions_var == 0);
	flows_estimate_text(ip, text, sizeof text);
	assert_string_equal(text, "from unsampled flow exports (exact as exported)");
	assert_null(ip_of(&x, ip4(198, 18, 0, 25)));
	flows_get_counts(x.f, &c);
	assert_int_equal(c.samples, 1);
	assert_int_equal(c.replies, 1);
	assert_int_equal(c.unknown, 1);
	assert_int_equal(c.datagrams, 2);
	fx_free(&x);
}

/* An IP a pcap sensor counts (last_seen moved by someone else) ignores flow data for
 * pcap_window; after it, flows count again. */
static void
test_pcap_wins(void **state)
{
	struct fx x;
	struct buf b;
	struct traffic_ip *ip;
	struct flows_counts c;
	uint32_t s0;

	(void)state;
	fx_init(&x, 0);
	ipfix_start(&b);
	tmpl256(&b);
	p16(&b, 256); p16(&b, 4 + 18);
	rec(&b, ip4(203, 0, 113, 10), ip4(198, 18, 0, 25), 40001, 25, 0x02, 2);
	done(&b);
	send_(&x, &x.exporter, &b, 10000);
	assert_non_null(ip = ip_of(&x, ip4(203, 0, 113, 10)));
	assert_int_equal(ip->fx->samples, 2);
	/* the capture counts it (outbound.c moves last_seen to the packet time) */
	ip->sessions++;
	ip->last_seen = 10010;
	s0 = ip->sessions;
	send_(&x, &x.exporter, &b, 10020);
	send_(&x, &x.exporter, &b, 10300);
	assert_int_equal(ip->fx->samples, 2);
	assert_int_equal(ip->sessions, s0);
	flows_get_counts(x.f, &c);
	assert_int_equal(c.dedup, 2);
	send_(&x, &x.exporter, &b, 10311);	/* past 300 s after the pcap's last count */
	assert_int_equal(ip->fx->samples, 4);
	fx_free(&x);
}

/* A template withdrawn: its data counts for nobody until it is defined again. */
static void
test_withdraw_redefine(void **state)
{
	struct fx x;
	struct buf b;
	struct traffic_ip *ip;

	(void)state;
	fx_init(&x, 0);
	ipfix_start(&b);
	tmpl256(&b);
	p16(&b, 2); p16(&b, 8); p16(&b, 256); p16(&b, 0);	/* withdrawn */
	p16(&b, 256); p16(&b, 4 + 18);
	rec(&b, ip4(203, 0, 113, 11), ip4(198, 18, 0, 25), 40001, 25, 0x02, 2);
	done(&b);
	send_(&x, &x.exporter, &b, 1000);
	assert_null(ip_of(&x, ip4(203, 0, 113, 11)));
	ipfix_start(&b);
	tmpl256(&b);
	p16(&b, 256); p16(&b, 4 + 18);
	rec(&b, ip4(203, 0, 113, 11), ip4(198, 18, 0, 25), 40001, 25, 0x02, 2);
	done(&b);
	send_(&x, &x.exporter, &b, 1000);
	assert_non_null(ip = ip_of(&x, ip4(203, 0, 113, 11)));
	assert_int_equal(ip->fx->samples, 2);
	fx_free(&x);
}

/* NetFlow v9 with an options template stating SAMPLING_INTERVAL (softflowd's shape). */
static void
test_netflow_v9(void **state)
{
	static const unsigned f[][2] = { {8,4}, {12,4}, {7,2}, {11,2}, {4,1}, {6,1}, {2,4} };
	struct fx x;
	struct buf b;
	struct traffic_ip *ip;
	size_t i;

	(void)state;
	fx_init(&x, 0);
	b.n = 0;
	p16(&b, 9); p16(&b, 4); p32(&b, 1000); p32(&b, 1700000000); p32(&b, 1); p32(&b, 7);
	p16(&b, 0); p16(&b, 4 + 4 + 28); p16(&b, 300); p16(&b, 7);
	for (i = 0; i < 7; i++) { p16(&b, f[i][0]); p16(&b, f[i][1]); }
	/* options: scope interface (2, 4 bytes: not packets), SAMPLING_INTERVAL */
	p16(&b, 1); p16(&b, 4 + 6 + 8 + 2); p16(&b, 301); p16(&b, 4); p16(&b, 4);
	p16(&b, 2); p16(&b, 4); p16(&b, 34); p16(&b, 4); p16(&b, 0);
	p16(&b, 301); p16(&b, 4 + 8); p32(&b, 3); p32(&b, 10);
	p16(&b, 300); p16(&b, 4 + 18 + 2);
	rec(&b, ip4(203, 0, 113, 12), ip4(198, 18, 0, 25), 40001, 25, 0x02, 4);
	p8(&b, 0); p8(&b, 0);	/* padding */
	send_(&x, &x.exporter, &b, 1000);
	assert_non_null(ip = ip_of(&x, ip4(203, 0, 113, 12)));
	assert_true(fabs(ip->fx->packets - 40) < 1e-9);
	assert_int_equal(ip->fx->rate, 10);
	fx_free(&x);
}

/* sFlow: a raw Ethernet header through decode.c; a SYN counts a session, a SYN-ACK back
 * is a reply (never counted), a header holding "RCPT TO:" is a sampled RCPT (shown only). */
static void
test_sflow_raw_header(void **state)
{
	struct fx x;
	struct buf b;
	struct traffic_ip *ip;
	struct flows_counts c;
	uint8_t fr[68];
	int k;

	(void)state;
	fx_init(&x, 0);
	b.n = 0;
	p32(&b, 5); p32(&b, 1); p32(&b, ip4(192, 0, 2, 250)); p32(&b, 0); p32(&b, 1);
	p32(&b, 0); p32(&b, 3);
	for (k = 0; k < 3; k++) {
		memset(fr, 0, sizeof fr);
		fr[12] = 0x08;
		fr[14] = 0x45; fr[17] = 40; fr[22] = 64; fr[23] = 6;
		if (k != 1) {
			fr[26] = 203; fr[27] = 0; fr[28] = 113; fr[29] = 13;
			fr[30] = 198; fr[31] = 18; fr[32] = 0; fr[33] = 25;
			fr[34] = 0x9c; fr[35] = 0x41; fr[36] = 0; fr[37] = 25;
			fr[47] = k == 0 ? 0x02 : 0x18;
		} else {
			fr[26] = 198; fr[27] = 18; fr[28] = 0; fr[29] = 25;
			fr[30] = 203; fr[31] = 0; fr[32] = 113; fr[33] = 13;
			fr[34] = 0; fr[35] = 25; fr[36] = 0x9c; fr[37] = 0x41;
			fr[47] = 0x12;
		}
		fr[46] = 0x50;
		if (k == 2) {
			fr[17] = 54;	/* IP total length: 40 + 14 bytes of SMTP */
			memcpy(fr + 54, "RCPT TO:<a@b>", 14);
		}
		p32(&b, 1); p32(&b, 32 + 8 + 16 + 68);
		p32(&b, (uint32_t)k); p32(&b, 1); p32(&b, 512); p32(&b, 0); p32(&b, 0);
		p32(&b, 1); p32(&b, 2); p32(&b, 1);
		p32(&b, 1); p32(&b, 16 + 68);
		p32(&b, 1); p32(&b, k == 2 ? 72 : 64); p32(&b, 4); p32(&b, k == 2 ? 68 : 60);
		memcpy(b.b + b.n, fr, 68);
		b.n += 68;
	}
	send_(&x, &x.exporter, &b, 1000);
	assert_non_null(ip = ip_of(&x, ip4(203, 0, 113, 13)));
	assert_true(fabs(ip->fx->sessions - 512) < 1e-9);
	assert_true(fabs(ip->fx->packets - 1024) < 1e-9);
	assert_true(fabs(ip->fx->rcpt - 512) < 1e-9);
	assert_int_equal(ip->rcpt_to, 0);	/* exact counts: pcap sensors only */
	assert_int_equal(ip->fx->rate, 512);
	flows_get_counts(x.f, &c);
	assert_int_equal(c.samples, 2);
	assert_int_equal(c.replies, 1);
	fx_free(&x);
}

/* Two observation domains (line cards) state different rates: each record takes its own
 * domain's; a domain that stated none takes the last rate stated. */
static void
test_domain_rates(void **state)
{
	struct fx x;
	struct buf b;
	struct traffic_ip *ip;
	uint32_t dom;

	(void)state;
	fx_init(&x, 0);
	for (dom = 1; dom <= 2; dom++) {
		ipfix_start(&b);
		b.b[15] = (uint8_t)dom;
		tmpl256(&b);
		sampling(&b, dom == 1 ? 10 : 100);
		p16(&b, 256); p16(&b, 4 + 18);
		rec(&b, ip4(203, 0, 113, 20 + dom), ip4(198, 18, 0, 25), 40001, 25, 0x02, 1);
		done(&b);
		send_(&x, &x.exporter, &b, 1000);
	}
	ipfix_start(&b);
	b.b[15] = 1;		/* domain 1 again, after domain 2 stated its rate */
	p16(&b, 256); p16(&b, 4 + 18);
	rec(&b, ip4(203, 0, 113, 21), ip4(198, 18, 0, 25), 40002, 25, 0x02, 1);
	done(&b);
	send_(&x, &x.exporter, &b, 1000);
	ipfix_start(&b);
	b.b[15] = 3;		/* a domain with a template but no rate of its own */
	tmpl256(&b);
	p16(&b, 256); p16(&b, 4 + 18);
	rec(&b, ip4(203, 0, 113, 23), ip4(198, 18, 0, 25), 40003, 25, 0x02, 1);
	done(&b);
	send_(&x, &x.exporter, &b, 1000);
	assert_non_null(ip = ip_of(&x, ip4(203, 0, 113, 21)));
	assert_true(fabs(ip->fx->sessions - 20) < 1e-9);
	assert_non_null(ip = ip_of(&x, ip4(203, 0, 113, 22)));
	assert_true(fabs(ip->fx->sessions - 100) < 1e-9);
	assert_non_null(ip = ip_of(&x, ip4(203, 0, 113, 23)));
	assert_true(fabs(ip->fx->sessions - 100) < 1e-9);
	fx_free(&x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_words),
		cmocka_unit_test(test_scaled_estimate),
		cmocka_unit_test(test_few_samples_add_nothing),
		cmocka_unit_test(test_forgotten_ip_estimate),
		cmocka_unit_test(test_unsampled_replies_strangers),
		cmocka_unit_test(test_pcap_wins),
		cmocka_unit_test(test_withdraw_redefine),
		cmocka_unit_test(test_netflow_v9),
		cmocka_unit_test(test_sflow_raw_header),
		cmocka_unit_test(test_domain_rates),
	};

	addr_hash_set_key(0x5eed);
	return cmocka_run_group_tests_name("flows", tests, NULL, NULL);
}
