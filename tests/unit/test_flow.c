/*
 * test_flow.c — connection tracking through the per-packet path (probes/outbound): the
 * handshake makes a session, retransmissions are not counted twice, a port reused for a new
 * connection starts afresh, idle and closed connections are forgotten on time (memory does
 * not grow with old flows), the bounded tables count what they cannot track, and a
 * rejection naming lists counts once in `cited` and once under each list it names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <pcap/dlt.h>

#include "cite.h"
#include "decode.h"
#include "dnsbl_lists.h"
#include "outbound.h"
#include "smtp.h"
#include "testfiles.h"
#include "traffic.h"

/* A raw IPv4 TCP segment (DLT_RAW) from 192.0.2.C:cport to 198.18.0.S:25 or back. */
static size_t
seg(uint8_t *b, int from_client, uint8_t c, uint8_t s, uint16_t cport, uint32_t seq,
    uint32_t ack, uint8_t flags, const char *payload)
{
	size_t plen = strlen(payload);
	uint16_t tot = (uint16_t)(40 + plen);
	uint8_t cl[4] = { 192, 0, 2, c }, sv[4] = { 198, 18, 0, s };
	uint16_t sp = from_client ? cport : 25, dp = from_client ? 25 : cport;

	memset(b, 0, 40);
	b[0] = 0x45;
	b[2] = (uint8_t)(tot >> 8);
	b[3] = (uint8_t)tot;
	b[8] = 64;
	b[9] = 6;
	memcpy(b + 12, from_client ? cl : sv, 4);
	memcpy(b + 16, from_client ? sv : cl, 4);
	b[20] = (uint8_t)(sp >> 8), b[21] = (uint8_t)sp;
	b[22] = (uint8_t)(dp >> 8), b[23] = (uint8_t)dp;
	b[24] = (uint8_t)(seq >> 24), b[25] = (uint8_t)(seq >> 16);
	b[26] = (uint8_t)(seq >> 8), b[27] = (uint8_t)seq;
	b[28] = (uint8_t)(ack >> 24), b[29] = (uint8_t)(ack >> 16);
	b[30] = (uint8_t)(ack >> 8), b[31] = (uint8_t)ack;
	b[32] = 5 << 4;
	b[33] = flags;
	memcpy(b + 40, payload, plen);
	return 40 + plen;
}

struct env {
	struct traffic *t;
	struct outbound *o;
};

static void
feed(struct env *e, uint32_t now, int from_client, uint8_t c, uint8_t s, uint16_t cport,
    uint32_t seq, uint32_t ack, uint8_t flags, const char *payload)
{
	uint8_t b[1600];
	size_t n = seg(b, from_client, c, s, cport, seq, ack, flags, payload);

	outbound_frame(e->o, DLT_RAW, now, b, (uint32_t)n, (uint32_t)n);
}

static struct traffic_ip *
ip_of(struct env *e, uint8_t c)
{
	struct rw_addr a;
	uint8_t v4[4] = { 192, 0, 2, c };

	addr_from_v4(&a, v4);
	return traffic_get(e->t, &a);
}

static void
setup_env(struct env *e, size_t max_ips, size_t max_flows)
{
	e->t = traffic_new(max_ips, 0);
	e->o = outbound_new(e->t, NULL, NULL, max_flows, 300);
	assert_non_null(e->t);
	assert_non_null(e->o);
}

static void
teardown_env(struct env *e)
{
	outbound_free(e->o);
	traffic_free(e->t);
}

/* A whole short session: handshake, banner, one MAIL, close. */
static void
session(struct env *e, uint32_t now, uint8_t c, uint16_t cport, uint32_t isn)
{
	feed(e, now, 1, c, 1, cport, isn, 0, TCP_SYN, "");
	feed(e, now, 0, c, 1, cport, 9000, isn + 1, TCP_SYN | TCP_ACK, "");
	feed(e, now, 1, c, 1, cport, isn + 1, 9001, TCP_ACK, "");
	feed(e, now, 0, c, 1, cport, 9001, isn + 1, TCP_ACK | TCP_PSH, "220 hi\r\n");
	feed(e, now, 1, c, 1, cport, isn + 1, 9009, TCP_ACK | TCP_PSH, "MAIL FROM:<a@b>\r\n");
	feed(e, now, 1, c, 1, cport, isn + 18, 9009, TCP_ACK | TCP_FIN, "");
	feed(e, now, 0, c, 1, cport, 9009, isn + 19, TCP_ACK | TCP_FIN, "");
}

static void
test_handshake_and_retransmissions(void **state)
{
	struct env e;
	struct traffic_ip *ip;

	(void)state;
	setup_env(&e, 100, 100);
	feed(&e, 1, 1, 10, 1, 40000, 100, 0, TCP_SYN, "");
	feed(&e, 2, 1, 10, 1, 40000, 100, 0, TCP_SYN, "");	/* retransmitted SYN */
	feed(&e, 2, 0, 10, 1, 40000, 9000, 101, TCP_SYN | TCP_ACK, "");
	feed(&e, 2, 1, 10, 1, 40000, 101, 9001, TCP_ACK, "");
	feed(&e, 3, 1, 10, 1, 40000, 101, 9001, TCP_ACK | TCP_PSH, "RCPT TO:<a@b>\r\n");
	feed(&e, 4, 1, 10, 1, 40000, 101, 9001, TCP_ACK | TCP_PSH, "RCPT TO:<a@b>\r\n");
	ip = ip_of(&e, 10);
	assert_non_null(ip);
	assert_int_equal(ip->syn, 2);		/* both SYN frames are SYNs, as tshark counts */
	assert_int_equal(ip->sessions, 1);
	assert_int_equal(ip->rcpt_to, 1);	/* the retransmission is not a second RCPT */
	assert_int_equal(ip->bytes_out, 30);	/* bytes on the wire, retransmission included */
	/* the port reused for a new connection (another ISN): a new session */
	feed(&e, 5, 1, 10, 1, 40000, 101, 9001, TCP_RST, "");
	feed(&e, 6, 1, 10, 1, 40000, 777, 0, TCP_SYN, "");
	feed(&e, 6, 0, 10, 1, 40000, 5000, 778, TCP_SYN | TCP_ACK, "");
	feed(&e, 6, 1, 10, 1, 40000, 778, 5001, TCP_ACK, "");
	feed(&e, 6, 1, 10, 1, 40000, 778, 5001, TCP_ACK | TCP_PSH, "RCPT TO:<c@d>\r\n");
	assert_int_equal(ip->sessions, 2);
	assert_int_equal(ip->rcpt_to, 2);
	teardown_env(&e);
}

/* Expiry costs what it forgets: a sweep with nothing due looks at the idle end of each
 * list only (a pass over 50,000 records every few seconds of packet time stalled replays
 * for seconds), and forgetting them all looks at each once. */
static void
test_expiry_costs_what_it_forgets(void **state)
{
	struct env e;
	struct flow_stats a, b;
	uint32_t t;
	uint16_t p;

	(void)state;
	setup_env(&e, 100, 100000);
	for (p = 0; p < 50000; p++)
		feed(&e, 10, 1, 70, 1, (uint16_t)(10000 + p), 1, 0, TCP_SYN, "");
	session(&e, 10, 71, 9999, 5000);	/* one closed */
	outbound_get_flow_stats(e.o, &a);
	for (t = 11; t < 300; t++)
		outbound_tick(e.o, t);
	outbound_get_flow_stats(e.o, &b);
	assert_int_equal(b.expired - a.expired, 1);	/* the closed one, after its linger */
	assert_true(b.scanned - a.scanned <= 2 * 289 + 1);
	assert_int_equal(b.active, 50000);
	outbound_tick(e.o, 310);
	outbound_get_flow_stats(e.o, &a);
	assert_int_equal(a.active, 0);
	assert_true(a.scanned - b.scanned <= 50000 + 2);
	teardown_env(&e);
}

/* A connection whose client the traffic table forgot (traffic_evict, the minute's room
 * making) never counts into the record's next owner: its events name the client's
 * address, not a record. */
static void
test_evicted_client(void **state)
{
	struct env e;
	uint8_t c;

	(void)state;
	setup_env(&e, 4, 1000);
	feed(&e, 10, 1, 30, 1, 40000, 1, 0, TCP_SYN, "");	/* never answered */
	for (c = 31; c < 34; c++)
		session(&e, 20, c, 41000, 5000);
	assert_int_equal(traffic_live(e.t), 4);
	/* full: down to 3, the source with no handshake goes */
	assert_int_equal(traffic_evict(e.t, 30, NULL, NULL), 1);
	assert_null(ip_of(&e, 30));
	feed(&e, 40, 1, 40, 1, 42000, 7, 0, TCP_SYN, "");	/* takes a forgotten record */
	assert_non_null(ip_of(&e, 40));
	/* .30's connection goes on: nothing of it lands on .40 */
	feed(&e, 41, 1, 30, 1, 40000, 2, 1, TCP_ACK | TCP_PSH, "MAIL FROM:<x@example.org>\r\n");
	assert_int_equal(ip_of(&e, 40)->syn, 1);
	assert_int_equal(ip_of(&e, 40)->bytes_out, 0);
	assert_int_equal(ip_of(&e, 40)->mail_from, 0);
	teardown_env(&e);
}

static void
test_flows_expire(void **state)
{
	struct env e;
	struct flow_stats fs;
	uint16_t p;

	(void)state;
	setup_env(&e, 100, 100000);
	/* 1000 connections that never close, and 1000 that do */
	for (p = 0; p < 1000; p++)
		feed(&e, 10, 1, 20, 1, (uint16_t)(20000 + p), 1, 0, TCP_SYN, "");
	for (p = 0; p < 1000; p++)
		session(&e, 10, 21, (uint16_t)(30000 + p), 5000);
	outbound_get_flow_stats(e.o, &fs);
	assert_int_equal(fs.active, 2000);
	/* closed ones go after FLOW_CLOSED_LINGER, idle ones after the flow timeout (300 s) */
	outbound_tick(e.o, 10 + FLOW_CLOSED_LINGER + 1);
	outbound_get_flow_stats(e.o, &fs);
	assert_int_equal(fs.active, 1000);
	outbound_tick(e.o, 10 + 300);
	outbound_get_flow_stats(e.o, &fs);
	assert_int_equal(fs.active, 0);
	assert_int_equal(fs.expired, 2000);
	/* the same number of new connections reuses the freed records: no growth */
	for (p = 0; p < 2000; p++)
		feed(&e, 400, 1, 22, 1, (uint16_t)(20000 + p), 1, 0, TCP_SYN, "");
	outbound_get_flow_stats(e.o, &fs);
	assert_int_equal(fs.active, 2000);
	assert_int_equal(ip_of(&e, 20)->syn, 1000);
	assert_int_equal(ip_of(&e, 21)->sessions, 1000);
	assert_int_equal(ip_of(&e, 21)->mail_from, 1000);
	teardown_env(&e);
}

static void
test_bounds_are_counted(void **state)
{
	struct env e;
	struct flow_stats fs;
	uint16_t p;
	uint8_t c;

	(void)state;
	setup_env(&e, 5, 10);
	/* 20 connections of one IP: 10 tracked, the rest counted as untracked; their SYNs still
	 * count for the IP */
	for (p = 0; p < 20; p++)
		feed(&e, 1, 1, 30, 1, (uint16_t)(1000 + p), 1, 0, TCP_SYN, "");
	outbound_get_flow_stats(e.o, &fs);
	assert_int_equal(fs.active, 10);
	assert_int_equal(fs.dropped, 10);
	assert_int_equal(ip_of(&e, 30)->syn, 20);
	/* 10 source IPs into a table of 5 */
	for (c = 40; c < 50; c++)
		feed(&e, 400, 1, c, 1, 2000, 1, 0, TCP_SYN, "");
	assert_int_equal(traffic_count(e.t), 5);
	assert_int_equal(traffic_dropped(e.t), 6);	/* 30 took one place already */
	teardown_env(&e);
}

/* Replies as a server writes them, to one session of client 192.0.2.C (port cport). */
static void
replies(struct env *e, uint8_t c, uint16_t cport, const char *const *r, size_t n)
{
	uint32_t sseq = 9001, cseq = 101;
	size_t i;

	feed(e, 1, 1, c, 1, cport, 100, 0, TCP_SYN, "");
	feed(e, 1, 0, c, 1, cport, 9000, 101, TCP_SYN | TCP_ACK, "");
	feed(e, 1, 1, c, 1, cport, 101, 9001, TCP_ACK, "");
	for (i = 0; i < n; i++) {
		/* one RCPT per reply, so that every reply answers a command */
		feed(e, 1, 1, c, 1, cport, cseq, sseq, TCP_ACK | TCP_PSH, "RCPT TO:<a@b>\r\n");
		cseq += 15;
		feed(e, 1, 0, c, 1, cport, sseq, cseq, TCP_ACK | TCP_PSH, r[i]);
		sseq += (uint32_t)strlen(r[i]);
	}
}

static void
test_cites_per_list(void **state)
{
	static const char *const words[] = { "uceprotect", "spamhaus", "sorbs" };
	static const char *const r[] = {
		"550 5.7.1 IP 192.0.2.7 is UCEPROTECT-Level 1 listed\r\n",
		"550 5.7.1 blocked by UCEPROTECT\r\n",
		"554-5.7.1 Net 192.0.2.0/24 is UCEPROTECT-Level2 listed because 5 abusers\r\n"
		    "554 5.7.1 are hosted by Example/AS64500 there. See: www.uceprotect.net\r\n",
		"554 5.7.1 blocked using zen.spamhaus.org; also dnsbl-2.uceprotect.net\r\n",
		"554 5.7.1 domain listed in dbl.spamhaus.org, see www.spamhaus.org\r\n",
		"550 5.7.1 Sender IP listed on dnsbl.sorbs.net\r\n",
		"550 5.1.1 User unknown\r\n",
		"250 2.1.5 Ok, not listed at zen.spamhaus.org\r\n",
	};
	struct testfile *fx = *state;
	struct dnsbl_lists *ls = NULL;
	struct traffic_ip *ip;
	struct env e;
	char err[512];

	write_file(fx->path,
	    "[list \"uceprotect-1\"]\nzone = dnsbl-1.uceprotect.net\nscope = ip\n"
	    "cite = dnsbl-1.uceprotect, uceprotect-level1, uceprotect-level 1, ~uceprotect\n"
	    "[list \"uceprotect-2\"]\nzone = dnsbl-2.uceprotect.net\nscope = range\n"
	    "cite = dnsbl-2.uceprotect, uceprotect-level2, uceprotect-level 2\n"
	    "[list \"zen\"]\nzone = zen.spamhaus.org\nscope = ip\n"
	    "cite = zen.spamhaus, ~spamhaus, !dbl.spamhaus\n", 0);
	if (dnsbl_lists_load(fx->path, &ls, err, sizeof err) != 0 ||
	    cite_install(ls, words, 3, err, sizeof err) != 0)
		fail_msg("%s", err);
	setup_env(&e, 100, 100);
	assert_int_equal(traffic_set_ncite(e.t, cite_nlists()), 0);
	assert_int_equal(traffic_ncite(e.t), 3);
	replies(&e, 7, 40000, r, sizeof r / sizeof r[0]);
	ip = ip_of(&e, 7);
	assert_non_null(ip);
	assert_int_equal(ip->rcpt_to, 8);
	assert_int_equal(ip->replies_5xx, 7);
	/* every 5xx naming a list or a word, once each: not the user-unknown one */
	assert_int_equal(ip->cited, 6);
	assert_non_null(ip->cites);
	assert_int_equal(ip->cites[0], 2);	/* level 1, and UCEPROTECT without a level */
	assert_int_equal(ip->cites[1], 2);	/* level 2 over two lines; with ZEN */
	assert_int_equal(ip->cites[2], 1);	/* ZEN; not DBL */

	/* a reload with one list more keeps the counts, one less cuts them */
	assert_int_equal(traffic_set_ncite(e.t, 4), 0);
	assert_int_equal(ip->cites[2], 1);
	assert_int_equal(ip->cites[3], 0);
	assert_int_equal(traffic_set_ncite(e.t, 1), 0);
	assert_int_equal(traffic_ncite(e.t), 1);
	assert_int_equal(ip->cites[0], 2);
	assert_int_equal(ip->cited, 6);

	/* an IP with no citation has no array */
	replies(&e, 8, 40001, r + 6, 2);
	assert_null(ip_of(&e, 8)->cites);
	assert_int_equal(ip_of(&e, 8)->cited, 0);
	teardown_env(&e);
	cite_clear();
	dnsbl_lists_free(ls);
}

static int
setup_file(void **state)
{
	return testfile_setup(state, "flow", "dnsbl.conf");
}

/* A full table makes room for each new connection in constant work: the connection idle
 * the longest goes, counted; the ones still active stay. */
static void
test_full_table_constant_work(void **state)
{
	struct env e;
	struct flow_stats before, after;
	uint32_t p;

	(void)state;
	setup_env(&e, 100, 1000);
	for (p = 0; p < 1000; p++)
		feed(&e, 10, 1, 60, 1, (uint16_t)(10000 + p), 1, 0, TCP_SYN, "");
	/* one connection stays active: it must survive the churn */
	session(&e, 10, 61, 9999, 5000);
	outbound_get_flow_stats(e.o, &before);
	assert_int_equal(before.active, 1000);
	for (p = 0; p < 20000; p++) {
		feed(&e, 11, 1, 62, 1, (uint16_t)(20000 + p % 30000), 1, 0, TCP_SYN, "");
		if (p % 100 == 0)
			feed(&e, 11, 1, 61, 1, 9999, 5019, 9010, TCP_ACK, "");
	}
	outbound_get_flow_stats(e.o, &after);
	assert_int_equal(after.active, 1000);
	assert_int_equal(after.created - before.created, 20000);
	assert_int_equal(after.dropped - before.dropped, 20000);
	/* bounded work per new connection, not a pass over the table */
	assert_true(after.scanned - before.scanned <= 2 * 20000);
	feed(&e, 11, 1, 61, 1, 9999, 5019, 9010, TCP_ACK | TCP_PSH, "MAIL FROM:<a@b>\r\n");
	assert_int_equal(ip_of(&e, 61)->mail_from, 2);	/* its flow was never forgotten */
	teardown_env(&e);
}

/* Server segments count only on a connection whose handshake we saw, and only when their
 * numbers fit it; the rest is unsolicited and changes nothing. */
static void
test_forged_replies_ignored(void **state)
{
	static const char *const words[] = { "spamhaus" };
	const char *block = "550 5.7.1 blocked using zen.spamhaus.org\r\n";
	struct outbound_counts n;
	struct env e;
	struct traffic_ip *ip;
	uint8_t c;

	char err[256];

	(void)state;
	if (cite_install(NULL, words, 1, err, sizeof err) != 0)
		fail_msg("%s", err);
	setup_env(&e, 100, 100);
	/* four addresses, no handshake: no record, no counter */
	for (c = 20; c < 24; c++)
		feed(&e, 1, 0, c, 1, 40000, 5000, 7000, TCP_ACK | TCP_PSH, block);
	for (c = 20; c < 24; c++)
		assert_null(ip_of(&e, c));
	/* a SYN-ACK nobody asked for, then a reply on it */
	feed(&e, 1, 0, 24, 1, 40001, 5000, 7001, TCP_SYN | TCP_ACK, "");
	feed(&e, 1, 0, 24, 1, 40001, 5001, 7001, TCP_ACK | TCP_PSH, block);
	assert_null(ip_of(&e, 24));
	/* picked up mid-stream from our side: commands count, replies do not */
	feed(&e, 1, 1, 25, 1, 40002, 100, 9000, TCP_ACK | TCP_PSH, "MAIL FROM:<a@b>\r\n");
	feed(&e, 1, 0, 25, 1, 40002, 9000, 117, TCP_ACK | TCP_PSH, block);
	ip = ip_of(&e, 25);
	assert_non_null(ip);
	assert_int_equal(ip->mail_from, 1);
	assert_int_equal(ip->replies_5xx, 0);
	/* a real connection: forgeries with numbers that do not fit, then the real reply */
	feed(&e, 2, 1, 10, 1, 40003, 100, 0, TCP_SYN, "");
	feed(&e, 2, 0, 10, 1, 40003, 100, 99, TCP_SYN | TCP_ACK, "");	/* acks no SYN */
	feed(&e, 2, 0, 10, 1, 40003, 9000, 101, TCP_SYN | TCP_ACK, "");
	feed(&e, 2, 1, 10, 1, 40003, 101, 9001, TCP_ACK, "");
	feed(&e, 2, 1, 10, 1, 40003, 101, 9001, TCP_ACK | TCP_PSH, "MAIL FROM:<a@b>\r\n");
	feed(&e, 2, 0, 10, 1, 40003, 9001 + (1u << 30), 118, TCP_ACK | TCP_PSH, block);
	feed(&e, 2, 0, 10, 1, 40003, 9001, 118 + (1u << 30), TCP_ACK | TCP_PSH, block);
	feed(&e, 2, 0, 10, 1, 40003, 9001, 0, TCP_PSH, block);		/* no ACK */
	feed(&e, 2, 0, 10, 1, 40003, 9001 - (1u << 31), 118, TCP_RST | TCP_ACK, "");
	ip = ip_of(&e, 10);
	assert_int_equal(ip->sessions, 1);
	assert_int_equal(ip->replies_5xx, 0);
	feed(&e, 3, 0, 10, 1, 40003, 9001, 118, TCP_ACK | TCP_PSH, "250 ok\r\n");
	feed(&e, 3, 1, 10, 1, 40003, 118, 9009, TCP_ACK | TCP_PSH, "RCPT TO:<c@d>\r\n");
	feed(&e, 3, 0, 10, 1, 40003, 9009, 134, TCP_ACK | TCP_PSH, block);
	assert_int_equal(ip->replies_5xx, 1);
	outbound_get_counts(e.o, &n);
	assert_int_equal(n.unsolicited, 4 + 2 + 1 + 5);
	teardown_env(&e);
	cite_clear();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_and_retransmissions),
		cmocka_unit_test(test_flows_expire),
		cmocka_unit_test(test_evicted_client),
		cmocka_unit_test(test_expiry_costs_what_it_forgets),
		cmocka_unit_test(test_bounds_are_counted),
		cmocka_unit_test_setup_teardown(test_cites_per_list, setup_file,
		    testfile_teardown),
		cmocka_unit_test(test_forged_replies_ignored),
		cmocka_unit_test(test_full_table_constant_work),
	};
	return cmocka_run_group_tests_name("flow", tests, NULL, NULL);
}
