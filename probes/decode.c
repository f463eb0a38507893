/*
 * decode.c — frame -> TCP segment. Every read is bounds-checked against caplen first; a
 * header that would end past it is DECODE_TRUNCATED when the frame was cut by the snaplen
 * (caplen < wirelen) and DECODE_MALFORMED when it was not (the frame lies about itself).
 */
#include "decode.h"

#include <pcap/dlt.h>
#include <string.h>

#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86dd
#define ETH_P_8021Q	0x8100
#define ETH_P_8021AD	0x88a8
#define ETH_P_QINQ1	0x9100	/* pre-standard QinQ outer tag */
#define MAX_VLAN_TAGS	8
#define MAX_V6_EXT	8

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2	276
#endif

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Short of bytes: cut by the snaplen, or a frame that lies. */
static inline enum decode_result
short_frame(uint32_t caplen, uint32_t wirelen)
{
	return caplen < wirelen ? DECODE_TRUNCATED : DECODE_MALFORMED;
}

int
decode_linktype_ok(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB: case DLT_LINUX_SLL: case DLT_LINUX_SLL2: case DLT_RAW:
	case DLT_IPV4: case DLT_IPV6: case DLT_NULL: case DLT_LOOP:
#if defined(DLT_RAW) && DLT_RAW != 12
	case 12:
#endif
	case 101:		/* LINKTYPE_RAW as some writers store it */
		return 1;
	}
	return 0;
}

/* TCP header at off..end (end = end of the IP payload per the IP header, <= caplen or not). */
static enum decode_result
decode_tcp(const uint8_t *f, uint32_t caplen, uint32_t wirelen, uint32_t off, uint32_t end,
    uint16_t port, struct pkt *out)
{
	uint32_t hl;

	if (end < off + 20)
		return DECODE_MALFORMED;
	if (caplen < off + 20)
		return short_frame(caplen, wirelen);
	hl = (uint32_t)(f[off + 12] >> 4) * 4;
	if (hl < 20 || off + hl > end)
		return DECODE_MALFORMED;
	out->sport = rd16(f + off);
	out->dport = rd16(f + off + 2);
	if (port && out->sport != port && out->dport != port)
		return DECODE_OTHER;
	out->seq = rd32(f + off + 4);
	out->ack = rd32(f + off + 8);
	out->flags = f[off + 13];
	out->paylen = end - off - hl;
	if (caplen < off + hl) {
		/* options cut by the snaplen: ports and flags are still known, the payload not */
		out->payload = f + caplen;
		out->capped = 0;
		return DECODE_TCP;
	}
	out->payload = f + off + hl;
	out->capped = caplen >= end ? out->paylen : caplen - off - hl;
	return DECODE_TCP;
}

static enum decode_result
decode_ipv4(const uint8_t *f, uint32_t caplen, uint32_t wirelen, uint32_t off, uint16_t port,
    struct pkt *out)
{
	uint32_t ihl, tot, end;
	uint16_t frag;
	enum decode_result r;

	if (caplen < off + 20)
		return short_frame(caplen, wirelen);
	if ((f[off] >> 4) != 4)
		return DECODE_MALFORMED;
	ihl = (uint32_t)(f[off] & 0x0f) * 4;
	tot = rd16(f + off + 2);
	if (ihl < 20 || tot < ihl)
		return DECODE_MALFORMED;
	end = off + tot;
	/* a frame shorter on the wire than its IP packet lies; one cut by the snaplen does not */
	if (end > wirelen)
		return DECODE_MALFORMED;
	if (caplen < off + ihl)
		return short_frame(caplen, wirelen);
	frag = rd16(f + off + 6);
	if (f[off + 9] != 6)
		return (frag & 0x1fff) ? DECODE_FRAGMENT : DECODE_OTHER;
	if (frag & 0x1fff)
		return DECODE_FRAGMENT;
	/* addresses only for the segments wanted: most traffic is not port 25 */
	r = decode_tcp(f, caplen, wirelen, off + ihl, end, port, out);
	if (r == DECODE_TCP) {
		addr_from_v4(&out->src, f + off + 12);
		addr_from_v4(&out->dst, f + off + 16);
	}
	return r;
}

static enum decode_result
decode_ipv6(const uint8_t *f, uint32_t caplen, uint32_t wirelen, uint32_t off, uint16_t port,
    struct pkt *out)
{
	uint32_t ip = off;
	enum decode_result r;
	uint32_t end, hl;
	uint8_t nh;
	int i;

	if (caplen < off + 40)
		return short_frame(caplen, wirelen);
	if ((f[off] >> 4) != 6)
		return DECODE_MALFORMED;
	end = off + 40 + rd16(f + off + 4);
	if (end > wirelen || end == off + 40)	/* 0 is a jumbogram or nothing: neither is SMTP */
		return end > wirelen ? DECODE_MALFORMED : DECODE_OTHER;
	nh = f[off + 6];
	off += 40;
	for (i = 0; i <= MAX_V6_EXT; i++) {
		switch (nh) {
		case 6:
			r = decode_tcp(f, caplen, wirelen, off, end, port, out);
			if (r == DECODE_TCP) {
				addr_from_v6(&out->src, f + ip + 8);
				addr_from_v6(&out->dst, f + ip + 24);
			}
			return r;
		case 0: case 43: case 60: case 135: case 139: case 140:
			if (off + 8 > end)
				return DECODE_MALFORMED;
			if (caplen < off + 2)
				return short_frame(caplen, wirelen);
			hl = ((uint32_t)f[off + 1] + 1) * 8;
			break;
		case 51:	/* AH counts its length in 4-byte units, less 2 */
			if (off + 8 > end)
				return DECODE_MALFORMED;
			if (caplen < off + 2)
				return short_frame(caplen, wirelen);
			hl = ((uint32_t)f[off + 1] + 2) * 4;
			break;
		case 44:
			if (off + 8 > end)
				return DECODE_MALFORMED;
			if (caplen < off + 4)
				return short_frame(caplen, wirelen);
			if (rd16(f + off + 2) & 0xfff8)
				return DECODE_FRAGMENT;
			hl = 8;
			break;
		default:
			return DECODE_OTHER;
		}
		if (off + hl > end)
			return DECODE_MALFORMED;
		if (caplen < off + hl)
			return short_frame(caplen, wirelen);
		nh = f[off];
		off += hl;
	}
	return DECODE_MALFORMED;	/* a chain longer than any real packet carries */
}

static enum decode_result
decode_ethertype(uint16_t type, const uint8_t *f, uint32_t caplen, uint32_t wirelen,
    uint32_t off, uint16_t port, struct pkt *out)
{
	int tags = 0;

	while (type == ETH_P_8021Q || type == ETH_P_8021AD || type == ETH_P_QINQ1) {
		if (++tags > MAX_VLAN_TAGS)
			return DECODE_MALFORMED;
		if (caplen < off + 4)
			return short_frame(caplen, wirelen);
		type = rd16(f + off + 2);
		off += 4;
	}
	if (type == ETH_P_IP)
		return decode_ipv4(f, caplen, wirelen, off, port, out);
	if (type == ETH_P_IPV6)
		return decode_ipv6(f, caplen, wirelen, off, port, out);
	return DECODE_OTHER;
}

/* Raw IP: the version nibble says which. */
static enum decode_result
decode_raw(const uint8_t *f, uint32_t caplen, uint32_t wirelen, uint32_t off, uint16_t port,
    struct pkt *out)
{
	if (caplen < off + 1)
		return short_frame(caplen, wirelen);
	switch (f[off] >> 4) {
	case 4:
		return decode_ipv4(f, caplen, wirelen, off, port, out);
	case 6:
		return decode_ipv6(f, caplen, wirelen, off, port, out);
	}
	return DECODE_MALFORMED;
}

enum decode_result
decode_frame(int dlt, const uint8_t *f, uint32_t caplen, uint32_t wirelen, uint16_t port,
    struct pkt *out)
{
	uint32_t fam;

	if (caplen > wirelen)	/* a writer that says it kept more than there was */
		return DECODE_MALFORMED;
	switch (dlt) {
	case DLT_EN10MB:
		if (caplen < 14)
			return short_frame(caplen, wirelen);
		return decode_ethertype(rd16(f + 12), f, caplen, wirelen, 14, port, out);
	case DLT_LINUX_SLL:
		if (caplen < 16)
			return short_frame(caplen, wirelen);
		return decode_ethertype(rd16(f + 14), f, caplen, wirelen, 16, port, out);
	case DLT_LINUX_SLL2:
		if (caplen < 20)
			return short_frame(caplen, wirelen);
		return decode_ethertype(rd16(f), f, caplen, wirelen, 20, port, out);
	case DLT_NULL:
	case DLT_LOOP:
		if (caplen < 4)
			return short_frame(caplen, wirelen);
		/* the family is in the writer's byte order (NULL) or network order (LOOP) */
		memcpy(&fam, f, 4);
		if (dlt == DLT_LOOP || (fam & 0xffff) == 0)
			fam = rd32(f);
		if (fam == 2)
			return decode_ipv4(f, caplen, wirelen, 4, port, out);
		if (fam == 24 || fam == 28 || fam == 30)	/* AF_INET6 on the BSDs */
			return decode_ipv6(f, caplen, wirelen, 4, port, out);
		return DECODE_OTHER;
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case 101:
#if defined(DLT_RAW) && DLT_RAW != 12
	case 12:
#endif
		return decode_raw(f, caplen, wirelen, 0, port, out);
	}
	return DECODE_UNSUPPORTED;
}
