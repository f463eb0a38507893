/*
 * test_outbound.c — the reload of the outbound accounting (outbound_set_space): a tracked
 * IP's customer follows the new customer map (to another customer, to unassigned), its
 * counters stay, a connection in progress keeps counting, new connections are judged by the
 * new provider space, and nothing points into the old maps (they are freed before the
 * traffic goes on, so ASan sees any use). And the live capture's way out
 * (outbound_new_emit): a session leaves as events keyed by the client's address that,
 * applied with ingest_apply, give the very counters the direct accounting gives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pcap/dlt.h>

#include "customers.h"
#include "decode.h"
#include "ingest.h"
#include "outbound.h"
#include "prefixes.h"
#include "traffic.h"
#include "testaddr.h"
#include "testfiles.h"

static const uint8_t MX[4] = { 198, 18, 0, 1 };

/* Feeds one raw IPv4 TCP segment (DLT_RAW) of the connection cl:cport -> MX:25, in the
 * direction from_client says, at time now. */
static void
feed(struct outbound *o, uint32_t now, const uint8_t cl[4], int from_client, uint16_t cport,
    uint32_t seq, uint32_t ack, uint8_t flags, const char *payload)
{
	uint8_t b[256];
	size_t plen = strlen(payload);
	uint16_t tot = (uint16_t)(40 + plen);
	uint16_t sp = from_client ? cport : 25, dp = from_client ? 25 : cport;

	assert_true(40 + plen <= sizeof b);
	memset(b, 0, 40);
	b[0] = 0x45;
	b[2] = (uint8_t)(tot >> 8), b[3] = (uint8_t)tot;
	b[8] = 64;
	b[9] = 6;
	memcpy(b + 12, from_client ? cl : MX, 4);
	memcpy(b + 16, from_client ? MX : cl, 4);
	b[20] = (uint8_t)(sp >> 8), b[21] = (uint8_t)sp;
	b[22] = (uint8_t)(dp >> 8), b[23] = (uint8_t)dp;
	b[24] = (uint8_t)(seq >> 24), b[25] = (uint8_t)(seq >> 16);
	b[26] = (uint8_t)(seq >> 8), b[27] = (uint8_t)seq;
	b[28] = (uint8_t)(ack >> 24), b[29] = (uint8_t)(ack >> 16);
	b[30] = (uint8_t)(ack >> 8), b[31] = (uint8_t)ack;
	b[32] = 5 << 4;
	b[33] = flags;
	memcpy(b + 40, payload, plen);
	outbound_frame(o, DLT_RAW, now, b, (uint32_t)(40 + plen), (uint32_t)(40 + plen));
}

/* A handshake and the server's banner: one session, nothing sent yet. */
static void
open_session(struct outbound *o, uint32_t now, const uint8_t cl[4], uint16_t cport)
{
	feed(o, now, cl, 1, cport, 100, 0, TCP_SYN, "");
	feed(o, now, cl, 0, cport, 9000, 101, TCP_SYN | TCP_ACK, "");
	feed(o, now, cl, 1, cport, 101, 9001, TCP_ACK, "");
	feed(o, now, cl, 0, cport, 9001, 101, TCP_ACK | TCP_PSH, "220 mx\r\n");
}

static struct customers *
load_customers(const char *dir, const char *name, const char *rows)
{
	char path[256], text[512], err[256];
	struct customers *c = NULL;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(text, sizeof text, "id,name,cidrs,contact,tags\n%s", rows);
	write_file(path, text, 0);
	if (customers_load(path, &c, err, sizeof err) == -1)
		fail_msg("%s", err);
	return c;
}

static struct prefixes *
load_prefixes(const char *dir, const char *name, const char *lines)
{
	char path[256], err[256];
	struct prefixes *p = NULL;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	write_file(path, lines, 0);
	if (prefixes_load(path, &p, err, sizeof err) == -1)
		fail_msg("%s", err);
	return p;
}

static const char *
customer_id(const struct customers *c, int32_t i)
{
	const struct customer *cu;

	if (i < 0)
		return "(unassigned)";
	cu = customers_get(c, (size_t)i);
	return cu ? cu->id : "(bad index)";
}

static void
test_reload_follows_customer_and_space(void **state)
{
	static const uint8_t ip10[4] = { 192, 0, 2, 10 }, ip20[4] = { 192, 0, 2, 20 };
	static const uint8_t ip7[4] = { 198, 51, 100, 7 };
	struct testfile *tf = *state;
	struct traffic *t = traffic_new(100, 0);
	struct prefixes *p1, *p2;
	struct customers *ca, *cb, *cc;
	struct outbound *o;
	struct traffic_ip *rec;
	struct rw_addr a10 = A("192.0.2.10"), a20 = A("192.0.2.20"), a7 = A("198.51.100.7");

	assert_non_null(t);
	p1 = load_prefixes(tf->dir, "p1.txt", "192.0.2.0/24 64500\n");
	ca = load_customers(tf->dir, "a.csv", "A,Alpha,192.0.2.0/25,,\n");
	assert_non_null(o = outbound_new(t, p1, ca, 100, 300));

	open_session(o, 10, ip10, 40000);
	assert_non_null(rec = traffic_get(t, &a10));
	assert_string_equal(customer_id(ca, rec->customer), "A");
	assert_int_equal(rec->sessions, 1);
	assert_int_equal(rec->syn, 1);

	/* the reload: 192.0.2.10 now belongs to B (a later row, another index), the space
	 * moves to 198.51.100.0/24; the old maps are gone before the next frame */
	p2 = load_prefixes(tf->dir, "p2.txt", "198.51.100.0/24 64501\n");
	cb = load_customers(tf->dir, "b.csv",
	    "A,Alpha,192.0.2.128/25,,\nB,Beta,192.0.2.0/28 198.51.100.0/29,,\n");
	outbound_set_space(o, p2, cb);
	prefixes_free(p1);
	customers_free(ca);
	assert_int_equal(rec->customer, 1);
	assert_string_equal(customer_id(cb, rec->customer), "B");
	assert_int_equal(rec->sessions, 1);	/* counters kept */
	assert_int_equal(rec->syn, 1);

	/* the connection in progress keeps counting, though its IP left the space */
	feed(o, 11, ip10, 1, 40000, 101, 9009, TCP_ACK | TCP_PSH, "MAIL FROM:<a@b>\r\n");
	assert_int_equal(rec->mail_from, 1);
	assert_int_equal(rec->bytes_out, 17);
	assert_int_equal(rec->last_seen, 11);
	/* a new connection: the new space decides */
	open_session(o, 12, ip20, 40001);
	assert_null(traffic_get(t, &a20));
	open_session(o, 12, ip7, 40002);
	assert_non_null(rec = traffic_get(t, &a7));
	assert_string_equal(customer_id(cb, rec->customer), "B");

	/* another reload where 192.0.2.10 is nobody's */
	cc = load_customers(tf->dir, "c.csv", "A,Alpha,192.0.2.128/25,,\n");
	outbound_set_space(o, p2, cc);
	customers_free(cb);
	rec = traffic_get(t, &a10);
	assert_int_equal(rec->customer, -1);
	assert_int_equal(rec->mail_from, 1);
	assert_int_equal(rec->sessions, 1);
	feed(o, 13, ip10, 1, 40000, 118, 9009, TCP_ACK | TCP_PSH, "RCPT TO:<c@d>\r\n");
	assert_int_equal(rec->rcpt_to, 1);
	assert_int_equal(rec->bytes_out, 17 + 15);
	assert_int_equal(traffic_get(t, &a7)->customer, -1);

	/* no customers at all: every record unassigned; no space: every client is ours */
	outbound_set_space(o, NULL, NULL);
	prefixes_free(p2);
	customers_free(cc);
	assert_int_equal(traffic_get(t, &a7)->customer, -1);
	open_session(o, 14, ip20, 40003);
	assert_non_null(rec = traffic_get(t, &a20));
	assert_int_equal(rec->customer, -1);
	assert_int_equal(rec->sessions, 1);
	assert_int_equal(traffic_count(t), 3);

	outbound_free(o);
	traffic_free(t);
}

/* Records made while no customer map was set are resolved by the first one given. */
static void
test_reload_resolves_records_made_without_customers(void **state)
{
	static const uint8_t ip10[4] = { 192, 0, 2, 10 }, ip200[4] = { 192, 0, 2, 200 };
	struct testfile *tf = *state;
	struct traffic *t = traffic_new(100, 0);
	struct customers *c;
	struct outbound *o;
	struct rw_addr a10 = A("192.0.2.10"), a200 = A("192.0.2.200");

	assert_non_null(t);
	assert_non_null(o = outbound_new(t, NULL, NULL, 100, 300));
	open_session(o, 1, ip10, 40000);
	open_session(o, 1, ip200, 40001);
	assert_int_equal(traffic_get(t, &a10)->customer, -1);
	c = load_customers(tf->dir, "c.csv", "A,Alpha,192.0.2.128/25,,\nB,Beta,192.0.2.0/25,,\n");
	outbound_set_space(o, NULL, c);
	assert_string_equal(customer_id(c, traffic_get(t, &a10)->customer), "B");
	assert_string_equal(customer_id(c, traffic_get(t, &a200)->customer), "A");
	outbound_free(o);
	customers_free(c);
	traffic_free(t);
}

static int
setup(void **state)
{
	return testfile_setup(state, "outbound", "unused");
}

/* What an emit accounting handed over, copied. */
static struct flow_event evs[64];
static size_t nev;

static void
collect(void *arg, const struct flow_event *ev)
{
	(void)arg;
	assert_true(nev < sizeof evs / sizeof evs[0]);
	evs[nev++] = *ev;
}

/* One session with a pipelined MAIL and two RCPTs, a 550 naming nothing and STARTTLS: the
 * events (client address, time, flags, counts) and, applied, the same counters as the
 * accounting that applies at once. */
static void
test_emit_events(void **state)
{
	static const uint8_t cl[4] = { 192, 0, 2, 9 };
	struct outbound *o = outbound_new_emit(NULL, 16, 300, collect, NULL);
	struct traffic *t = traffic_new(16, 0), *t2 = traffic_new(16, 0);
	struct outbound *d = outbound_new(t2, NULL, NULL, 16, 300);
	const struct traffic_ip *a, *b;
	struct rw_addr addr;
	size_t i;
	int k;

	(void)state;
	assert_non_null(o);
	nev = 0;
	for (k = 0; k < 2; k++) {
		struct outbound *x = k ? d : o;

		open_session(x, 1000, cl, 40000);
		feed(x, 1001, cl, 1, 40000, 101, 9009, TCP_ACK | TCP_PSH,
		    "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f>\r\n");
		feed(x, 1001, cl, 0, 40000, 9009, 148, TCP_ACK | TCP_PSH,
		    "250 ok\r\n250 ok\r\n550 no\r\n");
		feed(x, 1002, cl, 1, 40000, 148, 9033, TCP_ACK | TCP_PSH, "STARTTLS\r\n");
		feed(x, 1002, cl, 0, 40000, 9033, 158, TCP_ACK | TCP_PSH, "220 go\r\n");
	}
	addr_from_v4(&addr, cl);
	/* SYN; handshake ACK; the commands; the replies; STARTTLS; its 220 (the server's
	 * SYN-ACK and banner change no counter: no event) */
	assert_int_equal(nev, 6);
	for (i = 0; i < nev; i++)
		assert_memory_equal(&evs[i].client, &addr, sizeof addr);
	assert_int_equal(evs[0].flags, FE_SEEN | FE_SYN | FE_NEWDST);
	assert_int_equal(evs[0].sec, 1000);
	assert_int_equal(evs[1].flags, FE_SEEN | FE_SESSION);
	assert_int_equal(evs[2].mail, 1);
	assert_int_equal(evs[2].rcpt, 2);
	assert_int_equal(evs[2].bytes, 47);
	assert_int_equal(evs[3].flags, 0);	/* a server's segment: not a sign of life */
	assert_int_equal(evs[3].r5xx, 1);
	assert_int_equal(evs[5].flags, FE_TLS);
	for (i = 0; i < nev; i++)
		ingest_apply(t, NULL, &evs[i]);
	a = traffic_get(t, &addr);
	b = traffic_get(t2, &addr);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(a->syn, b->syn);
	assert_int_equal(a->sessions, 1);
	assert_int_equal(a->sessions, b->sessions);
	assert_int_equal(a->mail_from, b->mail_from);
	assert_int_equal(a->rcpt_to, 2);
	assert_int_equal(a->rcpt_to, b->rcpt_to);
	assert_int_equal(a->replies_5xx, b->replies_5xx);
	assert_int_equal(a->starttls, 1);
	assert_int_equal(a->starttls, b->starttls);
	assert_int_equal(a->bytes_out, b->bytes_out);
	assert_int_equal(a->last_seen, b->last_seen);
	assert_int_equal(distinct_count(&a->dst), 1);
	outbound_free(o);
	outbound_free(d);
	traffic_free(t);
	traffic_free(t2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_emit_events),
		cmocka_unit_test_setup_teardown(test_reload_follows_customer_and_space, setup,
		    testfile_teardown),
		cmocka_unit_test_setup_teardown(test_reload_resolves_records_made_without_customers,
		    setup, testfile_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
