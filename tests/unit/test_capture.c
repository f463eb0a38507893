/*
 * test_capture.c — the BPF filter the capture compiles, run by libpcap's own filter engine
 * on hand-built frames: it must keep port-25 TCP untagged, under 802.1Q, under QinQ and
 * in IPv6 with extension headers, and drop what is not SMTP or not the provider's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tags_and_ext_headers),
		cmocka_unit_test(test_provider_space),
		cmocka_unit_test(test_set_space),
	};
	return cmocka_run_group_tests_name("capture", tests, NULL, NULL);
}
