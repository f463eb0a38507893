/*
 * test_decode.c — the frame decoder on hand-built frames: every link layer and tag stack
 * it claims, IPv6 extension headers, and every way a frame can be cut or lie. Each frame
 * is copied into a heap buffer of exactly caplen bytes so ASan sees any read past it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pcap/dlt.h>

#include "decode.h"

#include "frames.h"

static enum decode_result
decode(int dlt, const struct frame *f, size_t caplen, size_t wirelen, struct pkt *p)
{
	uint8_t *copy = malloc(caplen ? caplen : 1);
	enum decode_result r;

	memcpy(copy, f->b, caplen);
	r = decode_frame(dlt, copy, (uint32_t)caplen, (uint32_t)wirelen, 0, p);
	/* keep the payload readable for the caller's checks */
	if (r == DECODE_TCP && p->capped) {
		static uint8_t keep[MAXF];
		memcpy(keep, p->payload, p->capped);
		p->payload = keep;
	}
	free(copy);
	return r;
}

static void
assert_v4_segment(const struct pkt *p, const char *payload)
{
	assert_int_equal(p->sport, 50000);
	assert_int_equal(p->dport, 25);
	assert_int_equal(p->seq, 4096);
	assert_memory_equal(p->src.a + 12, SRC4, 4);
	assert_memory_equal(p->dst.a + 12, DST4, 4);
	assert_int_equal(p->paylen, strlen(payload));
	assert_int_equal(p->capped, strlen(payload));
	assert_memory_equal(p->payload, payload, strlen(payload));
}

static void
test_ethernet_and_tags(void **state)
{
	static const uint16_t tagsets[][3] = {
		{ 0 }, { 0x8100 }, { 0x88a8, 0x8100 }, { 0x8100, 0x8100 }, { 0x9100, 0x8100, 0x8100 }
	};
	static const int ntags[] = { 0, 1, 2, 2, 3 };
	struct pkt p;
	size_t i;

	(void)state;
	for (i = 0; i < 5; i++) {
		struct frame f = { .len = 0 };
		eth(&f, tagsets[i], ntags[i], 0x0800);
		ipv4_tcp(&f, 0, TCP_PSH | TCP_ACK, "MAIL FROM:<a@b>\r\n", 0);
		assert_int_equal(decode(DLT_EN10MB, &f, f.len, f.len, &p), DECODE_TCP);
		assert_v4_segment(&p, "MAIL FROM:<a@b>\r\n");
		assert_int_equal(p.flags, TCP_PSH | TCP_ACK);
	}
}

static void
test_ipv4_options_and_padding(void **state)
{
	struct frame f = { .len = 0 };
	struct pkt p;

	(void)state;
	eth(&f, NULL, 0, 0x0800);
	ipv4_tcp(&f, 1, TCP_SYN, "", 0);
	/* Ethernet pads short frames to 60 bytes: the padding is not payload */
	memset(f.b + f.len, 0, 60 - f.len);
	f.len = 60;
	assert_int_equal(decode(DLT_EN10MB, &f, f.len, f.len, &p), DECODE_TCP);
	assert_v4_segment(&p, "");
	assert_int_equal(p.flags, TCP_SYN);
}

static void
test_cooked_and_raw(void **state)
{
	struct frame f;
	struct pkt p;
	uint8_t sll[16] = { 0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00 };
	uint8_t sll2[20] = { 0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0 };

	(void)state;
	f.len = 0;
	put(&f, sll, sizeof sll);
	ipv4_tcp(&f, 0, TCP_ACK, "RCPT TO:<x@y>\r\n", 0);
	assert_int_equal(decode(DLT_LINUX_SLL, &f, f.len, f.len, &p), DECODE_TCP);
	assert_v4_segment(&p, "RCPT TO:<x@y>\r\n");

	f.len = 0;
	put(&f, sll2, sizeof sll2);
	ipv4_tcp(&f, 0, TCP_ACK, "RCPT TO:<x@y>\r\n", 0);
	assert_int_equal(decode(DLT_LINUX_SLL2, &f, f.len, f.len, &p), DECODE_TCP);
	assert_v4_segment(&p, "RCPT TO:<x@y>\r\n");

	f.len = 0;
	ipv4_tcp(&f, 0, TCP_ACK, "DATA\r\n", 0);
	assert_int_equal(decode(DLT_RAW, &f, f.len, f.len, &p), DECODE_TCP);
	assert_v4_segment(&p, "DATA\r\n");
	assert_int_equal(decode(101, &f, f.len, f.len, &p), DECODE_TCP);
	assert_int_equal(decode(DLT_IPV4, &f, f.len, f.len, &p), DECODE_TCP);
	assert_int_equal(decode(147, &f, f.len, f.len, &p), DECODE_UNSUPPORTED);
}

static void
test_ipv6_extension_headers(void **state)
{
	struct frame f = { .len = 0 };
	struct pkt p;

	(void)state;
	eth(&f, NULL, 0, 0x86dd);
	ipv6_frame(&f, 0);
	assert_int_equal(decode(DLT_EN10MB, &f, f.len, f.len, &p), DECODE_TCP);
	assert_int_equal(p.sport, 50001);
	assert_int_equal(p.dport, 25);
	assert_int_equal(p.paylen, 8);
	assert_memory_equal(p.payload, "EHLO x\r\n", 8);
	assert_int_equal(p.src.a[0], 0x20);
	assert_int_equal(p.src.a[15], 1);

	f.len = 0;
	eth(&f, NULL, 0, 0x86dd);
	ipv6_frame(&f, 1);
	assert_int_equal(decode(DLT_EN10MB, &f, f.len, f.len, &p), DECODE_FRAGMENT);
}

static void
test_fragments_v4(void **state)
{
	struct frame f = { .len = 0 };
	struct pkt p;

	(void)state;
	eth(&f, NULL, 0, 0x0800);
	ipv4_tcp(&f, 0, TCP_ACK, "xx", 185);	/* offset 185*8 */
	assert_int_equal(decode(DLT_EN10MB, &f, f.len, f.len, &p), DECODE_FRAGMENT);
	f.len = 0;
	eth(&f, NULL, 0, 0x0800);
	ipv4_tcp(&f, 0, TCP_ACK, "xx", 0x2000);	/* first fragment: MF set, offset 0 */
	assert_int_equal(decode(DLT_EN10MB, &f, f.len, f.len, &p), DECODE_TCP);
}

/* Every cut of every frame kind: never a crash, never a read past caplen, and the result
 * says truncated (cut before the TCP header) or TCP with less captured than sent. */
static void
test_every_truncation(void **state)
{
	static const uint16_t qinq[2] = { 0x88a8, 0x8100 };
	struct frame fs[3];
	int dlts[3] = { DLT_EN10MB, DLT_EN10MB, DLT_EN10MB };
	struct pkt p;
	size_t i, cut;
	enum decode_result r;

	(void)state;
	memset(fs, 0, sizeof fs);
	eth(&fs[0], NULL, 0, 0x0800);
	ipv4_tcp(&fs[0], 1, TCP_ACK, "RCPT TO:<x@y>\r\n", 0);
	eth(&fs[1], qinq, 2, 0x0800);
	ipv4_tcp(&fs[1], 0, TCP_ACK, "RCPT TO:<x@y>\r\n", 0);
	eth(&fs[2], NULL, 0, 0x86dd);
	ipv6_frame(&fs[2], 0);
	for (i = 0; i < 3; i++) {
		for (cut = 0; cut < fs[i].len; cut++) {
			r = decode(dlts[i], &fs[i], cut, fs[i].len, &p);
			if (r == DECODE_TCP) {
				assert_true(p.capped < p.paylen);
				assert_true(p.payload + 0 != NULL);
			} else
				assert_int_equal(r, DECODE_TRUNCATED);
		}
	}
}

static void
test_malformed(void **state)
{
	struct frame f;
	struct pkt p;
	size_t ipoff = 14;

	(void)state;
	/* IHL of 3 words */
	f.len = 0;
	eth(&f, NULL, 0, 0x0800);
	ipv4_tcp(&f, 0, TCP_ACK, "x", 0);
	f.b[ipoff] = 0x43;
	assert_int_equal(decode(DLT_EN10MB, &f, f.len, f.len, &p), DECODE_MALFORMED);
	/* total length smaller than the header */
	f.len = 0;
	eth(&f, NULL, 0, 0x0800);
	ipv4_tcp(&f, 0, TCP_ACK, "x", 0);
	f.b[ipoff + 2] = 0, f.b[ipoff + 3] = 12;
	assert_int_equal(decode(DLT_EN10MB, &f, f.len, f.len, &p), DECODE_MALFORMED);
	/* total length past the frame, which was not cut */
	f.b[ipoff + 2] = 0x05, f.b[ipoff + 3] = 0xdc;
	assert_int_equal(decode(DLT_EN10MB, &f, f.len, f.len, &p), DECODE_MALFORMED);
	/* TCP data offset below 5 */
	f.len = 0;
	eth(&f, NULL, 0, 0x0800);
	ipv4_tcp(&f, 0, TCP_ACK, "x", 0);
	f.b[ipoff + 20 + 12] = 3 << 4;
	assert_int_equal(decode(DLT_EN10MB, &f, f.len, f.len, &p), DECODE_MALFORMED);
	/* TCP data offset past the IP packet */
	f.b[ipoff + 20 + 12] = 15 << 4;
	assert_int_equal(decode(DLT_EN10MB, &f, f.len, f.len, &p), DECODE_MALFORMED);
	/* IP version 5 */
	f.len = 0;
	eth(&f, NULL, 0, 0x0800);
	ipv4_tcp(&f, 0, TCP_ACK, "x", 0);
	f.b[ipoff] = 0x55;
	assert_int_equal(decode(DLT_EN10MB, &f, f.len, f.len, &p), DECODE_MALFORMED);
	/* IPv6 payload length past the frame */
	f.len = 0;
	eth(&f, NULL, 0, 0x86dd);
	ipv6_frame(&f, 0);
	f.b[ipoff + 4] = 0x10;
	assert_int_equal(decode(DLT_EN10MB, &f, f.len, f.len, &p), DECODE_MALFORMED);
	/* caplen above the wire length */
	assert_int_equal(decode(DLT_EN10MB, &f, f.len, f.len - 1, &p), DECODE_MALFORMED);
	/* too many VLAN tags */
	{
		uint16_t tags[9] = { 0x8100, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100, 0x8100,
		    0x8100, 0x8100 };
		f.len = 0;
		eth(&f, tags, 9, 0x0800);
		ipv4_tcp(&f, 0, TCP_ACK, "x", 0);
		assert_int_equal(decode(DLT_EN10MB, &f, f.len, f.len, &p), DECODE_MALFORMED);
	}
}

static void
test_not_tcp(void **state)
{
	struct frame f = { .len = 0 };
	struct pkt p;

	(void)state;
	eth(&f, NULL, 0, 0x0806);	/* ARP */
	memset(f.b + f.len, 0, 28);
	f.len += 28;
	assert_int_equal(decode(DLT_EN10MB, &f, f.len, f.len, &p), DECODE_OTHER);
	f.len = 0;
	eth(&f, NULL, 0, 0x0800);
	ipv4_tcp(&f, 0, TCP_ACK, "x", 0);
	f.b[14 + 9] = 17;	/* UDP */
	assert_int_equal(decode(DLT_EN10MB, &f, f.len, f.len, &p), DECODE_OTHER);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ethernet_and_tags),
		cmocka_unit_test(test_ipv4_options_and_padding),
		cmocka_unit_test(test_cooked_and_raw),
		cmocka_unit_test(test_ipv6_extension_headers),
		cmocka_unit_test(test_fragments_v4),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_not_tcp),
	};
	return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
