/*
 * frames.h — hand-built frames for the decoder and filter tests: Ethernet with any tag
 * stack, IPv4 (options, fragments) and IPv6 (extension headers) carrying a TCP segment.
 * Header-only, static: each test binary includes it once.
 */
#ifndef RW_TEST_FRAMES_H
#define RW_TEST_FRAMES_H

#include <stdint.h>
#include <string.h>

#include "decode.h"

#define MAXF 256

struct frame {
	uint8_t b[MAXF];
	size_t len;
};

static void
put(struct frame *f, const void *p, size_t n)
{
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

static void
put16(struct frame *f, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	put(f, b, 2);
}

static const uint8_t SRC4[4] = { 192, 0, 2, 10 }, DST4[4] = { 198, 18, 0, 25 };

/* IPv4 + TCP with payload; options adds 4 bytes of IP options. */
static void
ipv4_tcp(struct frame *f, int options, uint8_t flags, const char *payload, uint16_t frag)
{
	size_t plen = strlen(payload), ihl = options ? 24 : 20;
	uint8_t ip[24] = { 0 }, tcp[20] = { 0 };
	uint16_t tot = (uint16_t)(ihl + 20 + plen);

	ip[0] = (uint8_t)(0x40 | (ihl / 4));
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[6] = (uint8_t)(frag >> 8);
	ip[7] = (uint8_t)frag;
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, SRC4, 4);
	memcpy(ip + 16, DST4, 4);
	if (options)
		ip[20] = 1, ip[21] = 1, ip[22] = 1, ip[23] = 0;	/* NOPs and EOL */
	put(f, ip, ihl);
	tcp[0] = 0xc3, tcp[1] = 0x50;		/* sport 50000 */
	tcp[3] = 25;				/* dport 25 */
	tcp[4] = 0, tcp[5] = 0, tcp[6] = 0x10, tcp[7] = 0;	/* seq 4096 */
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	put(f, tcp, 20);
	put(f, payload, plen);
}

static void
eth(struct frame *f, const uint16_t *tags, int ntags, uint16_t type)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };
	int i;

	put(f, macs, 12);
	for (i = 0; i < ntags; i++) {
		put16(f, tags[i]);
		put16(f, (uint16_t)(100 + i));
	}
	put16(f, type);
}

/* IPv6 with hop-by-hop and destination options before TCP. */
static void
ipv6_frame(struct frame *f, int fragment_offset)
{
	uint8_t ip6[40] = { 0x60 }, hbh[8] = { 60, 0, 1, 4, 0, 0, 0, 0 };
	uint8_t dopt[8] = { 44, 0, 1, 4, 0, 0, 0, 0 }, frag[8] = { 6, 0, 0, 0, 0, 0, 0, 1 };
	uint8_t tcp[20] = { 0 };
	const char *pl = "EHLO x\r\n";
	uint16_t plen = (uint16_t)(8 + 8 + 8 + 20 + strlen(pl));

	ip6[4] = (uint8_t)(plen >> 8);
	ip6[5] = (uint8_t)plen;
	ip6[6] = 0;	/* hop-by-hop first */
	ip6[7] = 64;
	ip6[8] = 0x20, ip6[9] = 0x01, ip6[10] = 0x0d, ip6[11] = 0xb8, ip6[23] = 1;
	ip6[24] = 0x20, ip6[25] = 0x01, ip6[26] = 0x0d, ip6[27] = 0xb9, ip6[39] = 2;
	if (fragment_offset)
		frag[2] = 0, frag[3] = 8;	/* offset 1 (8 bytes) */
	put(f, ip6, 40);
	put(f, hbh, 8);
	put(f, dopt, 8);
	put(f, frag, 8);
	tcp[0] = 0xc3, tcp[1] = 0x51, tcp[3] = 25, tcp[12] = 5 << 4, tcp[13] = TCP_ACK;
	put(f, tcp, 20);
	put(f, pl, strlen(pl));
}

#endif
