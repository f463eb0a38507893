/*
 * test_capture.c — the BPF filter the capture compiles, run by libpcap's own filter engine
 * on hand-built frames: it must keep port-25 TCP untagged, under 802.1Q, under QinQ and
 * in IPv6 with extension headers, and drop what is not SMTP or not the provider's. And the
 * module's own reader of classic pcap files, against libpcap's on the same file: a
 * big-endian nanosecond file with a record longer than the snapshot and a cut at the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "capture.h"
#include "frames.h"
#include "prefixes.h"
#include "testfiles.h"

static int
matches(const char *filter, int dlt, const struct frame *f)
{
	pcap_t *p = pcap_open_dead(dlt, 65535);
	struct bpf_program prog;
	struct pcap_pkthdr h;
	int r;

	assert_non_null(p);
	assert_int_equal(pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN), 0);
	memset(&h, 0, sizeof h);
	h.caplen = h.len = (bpf_u_int32)f->len;
	r = pcap_offline_filter(&prog, &h, f->b);
	pcap_freecode(&prog);
	pcap_close(p);
	return r != 0;
}

static char filter[8192];

static void
test_tags_and_ext_headers(void **state)
{
	static const uint16_t q1[1] = { 0x8100 }, qinq[2] = { 0x88a8, 0x8100 };
	static const uint16_t qq[2] = { 0x8100, 0x8100 };
	struct frame f;

	(void)state;
	assert_int_equal(capture_filter_text(NULL, DLT_EN10MB, filter, sizeof filter), 0);

	f.len = 0;
	eth(&f, NULL, 0, 0x0800);
	ipv4_tcp(&f, 0, TCP_SYN, "", 0);
	assert_true(matches(filter, DLT_EN10MB, &f));
	/* a plain "tcp port 25" misses the tagged ones: ours must not */
	f.len = 0;
	eth(&f, q1, 1, 0x0800);
	ipv4_tcp(&f, 0, TCP_SYN, "", 0);
	assert_false(matches("tcp port 25", DLT_EN10MB, &f));
	assert_true(matches(filter, DLT_EN10MB, &f));
	f.len = 0;
	eth(&f, qinq, 2, 0x0800);
	ipv4_tcp(&f, 0, TCP_ACK, "MAIL FROM:<a@b>\r\n", 0);
	assert_true(matches(filter, DLT_EN10MB, &f));
	f.len = 0;
	eth(&f, qq, 2, 0x0800);
	ipv4_tcp(&f, 1, TCP_ACK, "x", 0);
	assert_true(matches(filter, DLT_EN10MB, &f));
	/* IPv6 behind hop-by-hop, destination options and fragment headers */
	f.len = 0;
	eth(&f, NULL, 0, 0x86dd);
	ipv6_frame(&f, 0);
	assert_true(matches(filter, DLT_EN10MB, &f));
	/* not port 25 */
	f.len = 0;
	eth(&f, q1, 1, 0x0800);
	ipv4_tcp(&f, 0, TCP_SYN, "", 0);
	f.b[18 + 20 + 3] = 80;
	assert_false(matches(filter, DLT_EN10MB, &f));
}

static void
test_provider_space(void **state)
{
	char dir[64], path[128], err[256];
	struct prefixes *p = NULL;
	struct frame f;

	(void)state;
	assert_int_equal(testdir_make(dir, sizeof dir, "capture"), 0);
	snprintf(path, sizeof path, "%s/prefixes.txt", dir);
	write_file(path, "192.0.2.0/24 64500\n2001:db8::/32 64500\n", 0);
	assert_int_equal(prefixes_load(path, &p, err, sizeof err), 0);
	assert_int_equal(capture_filter_text(p, DLT_EN10MB, filter, sizeof filter), 0);
	f.len = 0;
	eth(&f, (const uint16_t[]){ 0x8100 }, 1, 0x0800);
	ipv4_tcp(&f, 0, TCP_SYN, "", 0);	/* from 192.0.2.10 */
	assert_true(matches(filter, DLT_EN10MB, &f));
	f.b[18 + 12] = 203;			/* from 203.0.2.10: not ours */
	assert_false(matches(filter, DLT_EN10MB, &f));
	f.len = 0;
	eth(&f, NULL, 0, 0x86dd);
	ipv6_frame(&f, 0);			/* 2001:db8::1 -> 2001:db9::2 */
	assert_true(matches(filter, DLT_EN10MB, &f));
	/* cooked captures have no VLAN alternatives, and the filter still compiles */
	assert_int_equal(capture_filter_text(p, DLT_LINUX_SLL, filter, sizeof filter), 0);
	assert_null(strstr(filter, "vlan"));
	prefixes_free(p);
	testdir_remove(dir);
}

/* A reload's new space reaches the filter: a file of frames from 192.0.2.10 and
 * 198.51.100.10 in turn, read under the first space, then under the second (the same
 * pcap_setfilter a live capture gets after a SIGHUP). */
static void
test_set_space(void **state)
{
	char dir[64], path[128], pa[128], pb[128], err[256];
	struct prefixes *a = NULL, *b = NULL;
	struct capture_frame cf;
	struct capture *c;
	struct pcap_pkthdr h;
	pcap_dumper_t *dump;
	struct frame f;
	pcap_t *dead;
	int i;

	(void)state;
	assert_int_equal(testdir_make(dir, sizeof dir, "capture"), 0);
	snprintf(pa, sizeof pa, "%s/a.txt", dir);
	snprintf(pb, sizeof pb, "%s/b.txt", dir);
	write_file(pa, "192.0.2.0/24 64500\n", 0);
	write_file(pb, "198.51.100.0/24 64500\n", 0);
	assert_int_equal(prefixes_load(pa, &a, err, sizeof err), 0);
	assert_int_equal(prefixes_load(pb, &b, err, sizeof err), 0);
	snprintf(path, sizeof path, "%s/two.pcap", dir);
	assert_non_null(dead = pcap_open_dead(DLT_EN10MB, 65535));
	assert_non_null(dump = pcap_dump_open(dead, path));
	for (i = 0; i < 4; i++) {	/* A1 B1 A2 B2; the second byte of the time says which */
		f.len = 0;
		eth(&f, NULL, 0, 0x0800);
		ipv4_tcp(&f, 0, TCP_SYN, "", 0);
		if (i % 2) {
			f.b[14 + 12] = 198;
			f.b[14 + 13] = 51;
			f.b[14 + 14] = 100;
		}
		memset(&h, 0, sizeof h);
		h.ts.tv_sec = 1000 + i;
		h.caplen = h.len = (bpf_u_int32)f.len;
		pcap_dump((u_char *)dump, &h, f.b);
	}
	pcap_dump_close(dump);
	pcap_close(dead);

	assert_non_null(c = capture_open_file(path, 1, a, err, sizeof err));
	assert_int_equal(capture_next(c, &cf, err, sizeof err), 1);
	assert_int_equal(cf.sec, 1000);				/* A1 */
	assert_int_equal(capture_set_space(c, b, err, sizeof err), 0);
	assert_int_equal(capture_next(c, &cf, err, sizeof err), 1);
	assert_int_equal(cf.sec, 1001);				/* B1 */
	assert_int_equal(capture_next(c, &cf, err, sizeof err), 1);
	assert_int_equal(cf.sec, 1003);				/* B2: A2 filtered out */
	assert_int_equal(capture_next(c, &cf, err, sizeof err), 0);
	capture_close(c);
	/* under the first space alone, only the A frames */
	assert_non_null(c = capture_open_file(path, 1, a, err, sizeof err));
	assert_int_equal(capture_next(c, &cf, err, sizeof err), 1);
	assert_int_equal(capture_next(c, &cf, err, sizeof err), 1);
	assert_int_equal(cf.sec, 1002);
	assert_int_equal(capture_next(c, &cf, err, sizeof err), 0);
	capture_close(c);
	prefixes_free(a);
	prefixes_free(b);
	testdir_remove(dir);
}

static void
put32be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Frame for frame what libpcap reads, and the same error at the same place. */
static void
test_own_reader(void **state)
{
	static const uint32_t hdr[6] = { 0xa1b23c4du, 0x00020004u, 0, 0, 100, 1 };
	uint8_t file[24 + 16 + 60 + 16 + 120 + 10], *r;
	char dir[128], path[256], err[256], ebuf[PCAP_ERRBUF_SIZE];
	struct capture_frame f;
	struct pcap_pkthdr *h;
	const u_char *bytes;
	struct capture *c;
	pcap_t *p;
	size_t i;

	(void)state;
	assert_int_equal(testdir_make(dir, sizeof dir, "reader"), 0);
	memset(file, 0xab, sizeof file);
	for (i = 0; i < 6; i++)
		put32be(file + 4 * i, hdr[i]);
	file[4] = 0, file[5] = 2, file[6] = 0, file[7] = 4;	/* 16-bit version fields */
	r = file + 24;
	put32be(r, 5), put32be(r + 4, 123456789), put32be(r + 8, 60), put32be(r + 12, 60);
	r += 16 + 60;
	put32be(r, 6), put32be(r + 4, 999), put32be(r + 8, 120), put32be(r + 12, 150);
	snprintf(path, sizeof path, "%s/be_ns.pcap", dir);
	write_file(path, file, sizeof file);
	c = capture_open_file(path, 0, NULL, err, sizeof err);
	p = pcap_open_offline(path, ebuf);
	assert_non_null(c);
	assert_non_null(p);
	assert_int_equal(capture_next(c, &f, err, sizeof err), 1);
	assert_int_equal(pcap_next_ex(p, &h, &bytes), 1);
	assert_int_equal(f.sec, 5);
	assert_int_equal(f.usec, 123456);	/* nanoseconds rounded down */
	assert_int_equal(f.caplen, 60);
	assert_int_equal(f.sec, h->ts.tv_sec);
	assert_int_equal(f.usec, h->ts.tv_usec);
	assert_int_equal(capture_next(c, &f, err, sizeof err), 1);
	assert_int_equal(pcap_next_ex(p, &h, &bytes), 1);
	assert_int_equal(f.caplen, 100);	/* cut to the snapshot, as libpcap does */
	assert_int_equal(f.wirelen, 150);
	assert_int_equal(f.caplen, h->caplen);
	assert_int_equal(f.wirelen, h->len);
	assert_memory_equal(f.data, bytes, 100);
	assert_int_equal(capture_next(c, &f, err, sizeof err), -1);
	assert_int_equal(pcap_next_ex(p, &h, &bytes), PCAP_ERROR);
	assert_string_equal(err, pcap_geterr(p));
	print_message("a cut file: \"%s\" (libpcap: \"%s\")\n", err, pcap_geterr(p));
	capture_close(c);
	pcap_close(p);
	testdir_remove(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tags_and_ext_headers),
		cmocka_unit_test(test_provider_space),
		cmocka_unit_test(test_set_space),
		cmocka_unit_test(test_own_reader),
	};
	return cmocka_run_group_tests_name("capture", tests, NULL, NULL);
}
