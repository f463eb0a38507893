/*
 * bare_loop.c — the benchmark's upper limit: libpcap reading a capture file with
 * pcap_dispatch(-1) and a callback that only counts packets and bytes. Whatever rangewatch
 * analyze does per packet comes on top of this. Reads only the file it is given.
 *
 * usage: bare_loop [-b BYTES] [-s PREFIXES] CAPTURE
 *   prints "packets: N", "bytes: N", "seconds: S", "pps: P", "libpcap: VERSION"
 *   -b BYTES: read through a page-aligned stdio buffer of that size (setvbuf, then
 *             pcap_fopen_offline) instead of libpcap's default (pcap_open_offline: glibc
 *             mallocs an st_blksize buffer, 4 KiB on ext4, so one read(2) per 4 KiB).
 *   -s PREFIXES: set the BPF filter `rangewatch analyze --bpf` sets for that prefixes file
 *             (the same text, from capture_filter_text), so the loop pays for the same
 *             filtering and counts only the frames that pass it.
 * Page-aligned because where the buffer sits matters on this AMD EPYC: the kernel's copy
 * into a buffer at page offset 8 or 16 took 2.5x the time of one at offset 0, 32 or 48
 * (a malloc'd 1 MiB buffer is mmapped and starts at offset 16).
 */
#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "prefixes.h"

/* The filter analyze --bpf sets for the space in path, on p. 0, or -1 with a message. */
static int
set_filter(pcap_t *p, const char *path)
{
	struct prefixes *space = NULL;
	struct bpf_program prog;
	char err[512], *text = malloc(1 << 20);
	int rc = -1;

	if (text == NULL)
		return -1;
	if (prefixes_load(path, &space, err, sizeof err) == -1)
		fprintf(stderr, "bare_loop: %s\n", err);
	else if (capture_filter_text(space, pcap_datalink(p), text, 1 << 20) == -1)
		fprintf(stderr, "bare_loop: filter too long\n");
	else if (pcap_compile(p, &prog, text, 1, PCAP_NETMASK_UNKNOWN) == -1 ||
	    pcap_setfilter(p, &prog) == -1)
		fprintf(stderr, "bare_loop: %s\n", pcap_geterr(p));
	else {
		pcap_freecode(&prog);
		rc = 0;
	}
	prefixes_free(space);
	free(text);
	return rc;
}

struct counts {
	uint64_t packets, bytes;
};

static void count(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct counts *c = (struct counts *)user;
	(void)bytes;
	c->packets++;
	c->bytes += h->caplen;
}

int main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE], *vbuf = NULL, *end;
	const char *space = NULL;
	struct counts c = { 0, 0 };
	struct timespec t0, t1;
	unsigned long bufsize = 0;
	const char *path;
	pcap_t *p;
	FILE *f;
	int n, opt;

	while ((opt = getopt(argc, argv, "b:s:")) != -1) {
		if (opt == 's') {
			space = optarg;
			continue;
		}
		if (opt != 'b' || (bufsize = strtoul(optarg, &end, 10)) == 0 || *end) {
			fprintf(stderr, "usage: bare_loop [-b BYTES] [-s PREFIXES] CAPTURE\n");
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: bare_loop [-b BYTES] [-s PREFIXES] CAPTURE\n");
		return 2;
	}
	path = argv[optind];
	clock_gettime(CLOCK_MONOTONIC, &t0);	/* opening (and its read-ahead) counts too */
	if (bufsize == 0) {
		p = pcap_open_offline(path, err);
	} else {
		if (!(f = fopen(path, "rb")) || posix_memalign((void **)&vbuf, 4096, bufsize) != 0 ||
		    setvbuf(f, vbuf, _IOFBF, bufsize) != 0) {
			fprintf(stderr, "bare_loop: %s: %s\n", path, strerror(errno));
			return 1;
		}
		p = pcap_fopen_offline(f, err);	/* closes f with the handle */
	}
	if (!p) {
		fprintf(stderr, "bare_loop: %s\n", err);
		return 1;
	}
	if (space != NULL && set_filter(p, space) == -1) {
		pcap_close(p);
		return 1;
	}
	while ((n = pcap_dispatch(p, -1, count, (u_char *)&c)) > 0)
		;
	if (n < 0) {
		fprintf(stderr, "bare_loop: %s\n", pcap_geterr(p));
		pcap_close(p);
		return 1;
	}
	pcap_close(p);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	free(vbuf);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("packets: %" PRIu64 "\nbytes: %" PRIu64 "\nseconds: %.6f\npps: %.0f\nlibpcap: %s\n",
	       c.packets, c.bytes, s, s > 0 ? (double)c.packets / s : 0.0, pcap_lib_version());
	return 0;
}
