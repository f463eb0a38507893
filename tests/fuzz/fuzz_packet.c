/*
 * fuzz_packet.c — libFuzzer target over the whole per-packet path: decoder, flow tracking
 * and SMTP parser (probes/outbound). Input: one byte choosing the link type, then frames,
 * each a 2-byte big-endian length, a flags byte (bit 0: cut the frame by 8 bytes to mimic
 * a snaplen, bit 1: advance the clock 400 s to expire flows, bit 2: the minute's eviction
 * of the per-IP table first, as under a flood of sources) and the frame's bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/dlt.h>

#include "outbound.h"
#include "smtp.h"
#include "traffic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int dlts[] = { DLT_EN10MB, DLT_LINUX_SLL, 276, DLT_RAW, DLT_NULL, DLT_LOOP, 101 };
static const char *const words[] = { "spamhaus", "uceprotect" };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct traffic *t;
	struct outbound *o;
	size_t off = 1, len;
	uint32_t now = 1000;
	uint8_t *frame;
	int dlt;

	if (size < 1)
		return 0;
	smtp_set_cite_words(words, 2);
	dlt = dlts[data[0] % (sizeof dlts / sizeof dlts[0])];
	t = traffic_new(64, 2);
	o = outbound_new(t, NULL, NULL, 16, 300);
	while (off + 3 <= size) {
		len = (size_t)data[off] << 8 | data[off + 1];
		uint8_t flags = data[off + 2];
		off += 3;
		if (len > size - off)
			len = size - off;
		/* an exact-size copy so that any read past the frame is caught */
		frame = malloc(len ? len : 1);
		memcpy(frame, data + off, len);
		if (flags & 2)
			now += 400;
		if (flags & 4)
			traffic_evict(t, now, NULL, NULL);
		if ((flags & 1) && len > 8)
			outbound_frame(o, dlt, now, frame, (uint32_t)len - 8, (uint32_t)len);
		else
			outbound_frame(o, dlt, now, frame, (uint32_t)len, (uint32_t)len);
		free(frame);
		off += len;
	}
	outbound_free(o);
	traffic_free(t);
	return 0;
}
