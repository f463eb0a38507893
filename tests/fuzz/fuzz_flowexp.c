/*
 * fuzz_flowexp.c — libFuzzer target over the flow exports path: probes/flowexp (sFlow v5,
 * NetFlow v9, IPFIX with their templates) and monitor/flows' apply step (the frame
 * decoder on sampled headers, the estimates in the traffic table). Input: datagrams, each
 * a 2-byte big-endian length and its bytes, from one allowlisted exporter whose templates
 * live across the datagrams (so a template in one and data in the next are reached); the
 * first byte of the input picks a sampling override (0: as the datagrams say).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flows.h"
#include "traffic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t lo[4] = { 127, 0, 0, 1 };
	struct flows_exporter ex;
	struct flows_opts o;
	struct traffic *t;
	struct flows *f;
	char err[128];
	size_t off = 1, len;
	uint8_t *d;
	json_t *j;

	if (size < 1)
		return 0;
	memset(&ex, 0, sizeof ex);
	addr_from_v4(&ex.addr, lo);
	ex.sampling = data[0] < 128 ? 0 : data[0];
	memset(&o, 0, sizeof o);
	o.exporters = &ex;
	o.nexporters = 1;
	o.max_templates = 8;
	o.pcap_window = 300;
	t = traffic_new(64, 0);
	f = flows_new(NULL, NULL, &o, err, sizeof err);
	if (t == NULL || f == NULL || flows_start(f, t, NULL) == -1)
		abort();
	while (off + 2 <= size) {
		len = (size_t)data[off] << 8 | data[off + 1];
		off += 2;
		if (len > size - off)
			len = size - off;
		/* an exact-size copy so that any read past the datagram is caught */
		d = malloc(len ? len : 1);
		memcpy(d, data + off, len);
		flows_datagram(f, &ex.addr, d, len, 1000);
		free(d);
		off += len;
	}
	j = flows_json(f, 16);
	json_decref(j);
	flows_free(f);
	traffic_free(t);
	return 0;
}
