/*
 * decode.h — turns one captured frame into the TCP segment inside it, or says why not.
 * Knows the link layers a capture point delivers (Ethernet with any stack of 802.1Q/802.1ad
 * tags, Linux cooked SLL and SLL2, raw IPv4/IPv6, BSD loopback), IPv4 with options and
 * fragments, IPv6 with its extension headers, and TCP. It never reads past caplen and keeps
 * no state: pointers in struct pkt point into the caller's frame.
 */
#ifndef RW_DECODE_H
#define RW_DECODE_H

#include <stdint.h>

#include "addr.h"

enum decode_result {
	DECODE_TCP,		/* a TCP segment: struct pkt is filled */
	DECODE_OTHER,		/* well-formed, but not TCP over IP (ARP, UDP, ICMP...) */
	DECODE_FRAGMENT,	/* an IPv4/IPv6 fragment that is not the first */
	DECODE_TRUNCATED,	/* cut by the snaplen before the TCP header ended */
	DECODE_MALFORMED,	/* lengths or fields that cannot be */
	DECODE_UNSUPPORTED	/* a link type we do not decode */
};

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

struct pkt {
	struct rw_addr src, dst;
	uint16_t sport, dport;
	uint8_t flags;
	uint32_t seq, ack;
	const uint8_t *payload;	/* TCP payload as captured */
	uint32_t paylen;	/* payload length on the wire (from the IP header) */
	uint32_t capped;	/* bytes of it actually captured (<= paylen) */
};

/* 1 when libpcap's DLT is one decode_frame() understands. */
int decode_linktype_ok(int dlt);
/* Decodes a frame of link type dlt (a pcap DLT_ value). caplen bytes are readable; wirelen
 * is the frame's length on the wire. With port set, a TCP segment with neither port equal
 * to it is DECODE_OTHER, found before anything else is filled (the hot path's filter). */
enum decode_result decode_frame(int dlt, const uint8_t *frame, uint32_t caplen,
    uint32_t wirelen, uint16_t port, struct pkt *out);

#endif
