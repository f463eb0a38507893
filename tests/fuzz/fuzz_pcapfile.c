/*
 * fuzz_pcapfile.c — libFuzzer target over capture.c's own reader of classic pcap files,
 * differentially: the input is written as a file and read twice, by capture_next() (our
 * reader whenever libpcap accepts the file as classic pcap) and by libpcap's own
 * pcap_next_ex(); both must give the same frames (time, lengths, bytes) and stop at the
 * same record, with an error exactly when libpcap gives one. The first input byte picks a
 * header: 0 keeps the input as it is, 1-4 prefix a valid header (each byte order, us and
 * ns) so that the fuzzer spends its time on records.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "capture.h"
#include "fuzzfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
header(uint8_t *h, int kind)
{
	uint32_t magic = kind == 1 || kind == 2 ? 0xa1b2c3d4u : 0xa1b23c4du;
	uint32_t v[6] = { magic, 2 | (4u << 16), 0, 0, 65535, 1 };	/* Ethernet */

	memcpy(h, v, 24);
	if (kind == 2 || kind == 4) {	/* the other byte order */
		for (int i = 0; i < 6; i++) {
			uint32_t x = __builtin_bswap32(v[i]);
			memcpy(h + 4 * i, &x, 4);
		}
		/* version: major and minor are 16-bit fields */
		h[4] = 0; h[5] = 2; h[6] = 0; h[7] = 4;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char ebuf[PCAP_ERRBUF_SIZE], err[256];
	struct capture_frame f;
	struct pcap_pkthdr *h;
	const u_char *bytes;
	struct capture *c;
	const char *path;
	uint8_t *buf;
	size_t n;
	pcap_t *p;
	int kind, a, b;

	if (size < 1)
		return 0;
	kind = data[0] % 5;
	n = size - 1 + (kind ? 24 : 0);
	if ((buf = malloc(n ? n : 1)) == NULL)
		return 0;
	if (kind)
		header(buf, kind);
	memcpy(buf + (kind ? 24 : 0), data + 1, size - 1);
	path = fuzzfile_put("fuzz_pcapfile", buf, n);
	free(buf);
	if (path == NULL)
		return 0;
	p = pcap_open_offline(path, ebuf);
	c = capture_open_file(path, 0, NULL, err, sizeof err);
	if ((p == NULL) != (c == NULL))
		abort();	/* opened by one and not the other */
	if (p == NULL)
		return 0;
	for (;;) {
		a = pcap_next_ex(p, &h, &bytes);
		b = capture_next(c, &f, err, sizeof err);
		if (a == PCAP_ERROR_BREAK)
			a = 0;
		else if (a != 1)
			a = -1;
		if (a != b) {
			/* one read a frame, ended or failed where the other did not */
			fprintf(stderr, "libpcap %d (%s), capture_next %d (%s)\n", a,
			    a == -1 ? pcap_geterr(p) : "", b, b == -1 ? err : "");
			if (a == 1)
				fprintf(stderr, "libpcap's frame: caplen %u len %u\n", h->caplen, h->len);
			abort();
		}
		if (a != 1)
			break;
		if (f.sec != (int64_t)h->ts.tv_sec || f.usec != (int32_t)h->ts.tv_usec ||
		    f.caplen != h->caplen || f.wirelen != h->len ||
		    memcmp(f.data, bytes, h->caplen) != 0) {
			fprintf(stderr, "libpcap: %lld.%06ld caplen %u len %u; ours: %lld.%06d caplen %u "
			    "len %u\n", (long long)h->ts.tv_sec, (long)h->ts.tv_usec, h->caplen, h->len,
			    (long long)f.sec, f.usec, f.caplen, f.wirelen);
			abort();	/* a different frame */
		}
	}
	capture_close(c);
	pcap_close(p);
	return 0;
}
