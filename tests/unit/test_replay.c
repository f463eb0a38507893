/*
 * test_replay.c — capture files played into the outbound accounting (probes/replay): pcap
 * files written here with known timestamps; speed 0 feeds everything in slices and the
 * traffic table then says what the frames say; speed 10 makes each frame due at the
 * wall time its timestamp gives (simulated clock, no sleeping); the model clock never goes
 * back across files; a missing or cut file is counted and skipped; bad arguments fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "decode.h"
#include "outbound.h"
#include "prefixes.h"
#include "replay.h"
#include "traffic.h"
#include "testaddr.h"
#include "testfiles.h"

/* A pcap file being written (Ethernet). */
struct pcapw {
	pcap_t *dead;
	pcap_dumper_t *d;
};

static void
w_open(struct pcapw *w, const char *path)
{
	assert_non_null(w->dead = pcap_open_dead(DLT_EN10MB, 65535));
	if ((w->d = pcap_dump_open(w->dead, path)) == NULL)
		fail_msg("%s: %s", path, pcap_geterr(w->dead));
}

static void
w_close(struct pcapw *w)
{
	pcap_dump_close(w->d);
	pcap_close(w->dead);
}

/* Writes at sec.usec one Ethernet/IPv4/TCP frame of the connection
 * 192.0.2.C:cport -> 198.18.0.1:dport, from the client or back. */
static void
w_seg(struct pcapw *w, int64_t sec, int usec, int from_client, uint8_t c, uint16_t cport,
    uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, const char *payload)
{
	static const uint8_t ethhdr[14] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00 };
	uint8_t b[256], *ip = b + 14, cl[4] = { 192, 0, 2, c }, sv[4] = { 198, 18, 0, 1 };
	size_t plen = strlen(payload), n = 14 + 40 + plen;
	uint16_t tot = (uint16_t)(40 + plen);
	uint16_t sp = from_client ? cport : dport, dp = from_client ? dport : cport;
	struct pcap_pkthdr h;

	assert_true(n <= sizeof b);
	memcpy(b, ethhdr, 14);
	memset(ip, 0, 40);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot;
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, from_client ? cl : sv, 4);
	memcpy(ip + 16, from_client ? sv : cl, 4);
	ip[20] = (uint8_t)(sp >> 8), ip[21] = (uint8_t)sp;
	ip[22] = (uint8_t)(dp >> 8), ip[23] = (uint8_t)dp;
	ip[24] = (uint8_t)(seq >> 24), ip[25] = (uint8_t)(seq >> 16);
	ip[26] = (uint8_t)(seq >> 8), ip[27] = (uint8_t)seq;
	ip[28] = (uint8_t)(ack >> 24), ip[29] = (uint8_t)(ack >> 16);
	ip[30] = (uint8_t)(ack >> 8), ip[31] = (uint8_t)ack;
	ip[32] = 5 << 4;
	ip[33] = flags;
	memcpy(ip + 40, payload, plen);
	memset(&h, 0, sizeof h);
	h.ts.tv_sec = (time_t)sec;
	h.ts.tv_usec = usec;
	h.caplen = h.len = (bpf_u_int32)n;
	pcap_dump((u_char *)w->d, &h, b);
}

/* A SYN to port 25 from 192.0.2.C at sec.usec: one frame, one syn. */
static void
w_syn(struct pcapw *w, int64_t sec, int usec, uint8_t c, uint16_t cport)
{
	w_seg(w, sec, usec, 1, c, cport, 25, 1, 0, TCP_SYN, "");
}

/* The fixture: a folder for the files, and the accounting they are replayed into. */
struct fx {
	char dir[64];
	char path[4][128];
	struct traffic *t;
	struct outbound *o;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	int i;

	if (f == NULL || testdir_make(f->dir, sizeof f->dir, "replay") == -1) {
		free(f);
		return -1;
	}
	for (i = 0; i < 4; i++)
		snprintf(f->path[i], sizeof f->path[i], "%s/%d.pcap", f->dir, i);
	f->t = traffic_new(100, 0);
	f->o = outbound_new(f->t, NULL, NULL, 100, 300);
	*state = f;
	return f->t && f->o ? 0 : -1;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	outbound_free(f->o);
	traffic_free(f->t);
	testdir_remove(f->dir);
	free(f);
	return 0;
}

static struct traffic_ip *
rec(struct fx *f, const char *ip)
{
	struct rw_addr a = A(ip);

	return traffic_get(f->t, &a);
}

static struct replay *
open_replay(struct fx *f, int nfiles, double speed)
{
	char err[256] = "";
	char *files[4];
	struct replay *r;
	int i;

	for (i = 0; i < nfiles; i++)
		files[i] = f->path[i];
	if ((r = replay_new(files, (size_t)nfiles, speed, NULL, f->o, err, sizeof err)) == NULL)
		fail_msg("replay_new: %s", err);
	return r;
}

static void
test_speed0_slices(void **state)
{
	struct fx *f = *state;
	struct pcapw w;
	struct replay *r;
	struct replay_stats st;
	struct outbound_counts oc;
	struct traffic_ip *ip;
	long n, total = 0, slices[8];
	int ncalls = 0;

	/* 192.0.2.10: a session with MAIL and RCPT (8 frames); 192.0.2.11: two SYNs; and
	 * two frames to port 80 that the capture filter keeps out */
	w_open(&w, f->path[0]);
	w_seg(&w, 100, 0, 1, 10, 40000, 25, 100, 0, TCP_SYN, "");
	w_seg(&w, 100, 1000, 0, 10, 40000, 25, 9000, 101, TCP_SYN | TCP_ACK, "");
	w_seg(&w, 100, 2000, 1, 10, 40000, 25, 101, 9001, TCP_ACK, "");
	w_seg(&w, 100, 3000, 1, 10, 40001, 80, 1, 0, TCP_SYN, "");
	w_seg(&w, 101, 0, 0, 10, 40000, 25, 9001, 101, TCP_ACK | TCP_PSH, "220 mx\r\n");
	w_seg(&w, 101, 5000, 1, 10, 40000, 25, 101, 9009, TCP_ACK | TCP_PSH,
	    "MAIL FROM:<a@b>\r\n");
	w_seg(&w, 101, 6000, 0, 10, 40000, 25, 9009, 118, TCP_ACK | TCP_PSH, "250 ok\r\n");
	w_syn(&w, 102, 0, 11, 50000);
	w_seg(&w, 102, 1, 1, 10, 40000, 25, 118, 9017, TCP_ACK | TCP_PSH,
	    "RCPT TO:<c@d>\r\n");
	w_seg(&w, 102, 2, 1, 11, 50001, 80, 1, 0, TCP_SYN, "");
	w_seg(&w, 102, 3, 0, 10, 40000, 25, 9017, 133, TCP_ACK | TCP_PSH, "550 no\r\n");
	w_syn(&w, 103, 0, 11, 50002);
	w_close(&w);

	r = open_replay(f, 1, 0);
	assert_int_equal(replay_wait_ms(r, 0), 0);
	while ((n = replay_run(r, 0, 4)) > 0 && ncalls < 8) {
		slices[ncalls++] = n;
		total += n;
		/* no pacing: never a wait while frames are left */
		assert_int_equal(replay_wait_ms(r, 0), replay_done(r) ? -1 : 0);
	}
	assert_int_equal(ncalls, 3);
	assert_int_equal(slices[0], 4);
	assert_int_equal(slices[1], 4);
	assert_int_equal(slices[2], 2);
	assert_int_equal(total, 10);
	assert_true(replay_done(r));
	assert_int_equal(replay_wait_ms(r, 0), -1);
	assert_int_equal(replay_run(r, 0, 4), 0);
	assert_int_equal(replay_clock(r), 103);

	replay_get_stats(r, &st);
	assert_int_equal(st.frames, 10);
	assert_int_equal(st.files_done, 1);
	assert_int_equal(st.files_failed, 0);
	outbound_get_counts(f->o, &oc);
	assert_int_equal(oc.total, 10);		/* the port-80 frames never reached it */
	assert_int_equal(oc.smtp, 10);
	assert_int_equal(traffic_count(f->t), 2);
	assert_non_null(ip = rec(f, "192.0.2.10"));
	assert_int_equal(ip->syn, 1);
	assert_int_equal(ip->sessions, 1);
	assert_int_equal(ip->mail_from, 1);
	assert_int_equal(ip->rcpt_to, 1);
	assert_int_equal(ip->replies_5xx, 1);
	assert_int_equal(ip->bytes_out, 17 + 15);
	assert_int_equal(ip->last_seen, 102);
	assert_non_null(ip = rec(f, "192.0.2.11"));
	assert_int_equal(ip->syn, 2);
	assert_int_equal(ip->sessions, 0);
	assert_int_equal(ip->last_seen, 103);
	replay_free(r);
}

/* replay_set_until: slices end before the first frame at or past the bound, and
 * replay_next_time says where the next slice starts (the daemon's minute boundaries). */
static void
test_until_minutes(void **state)
{
	struct fx *f = *state;
	struct pcapw w;
	struct replay *r;

	w_open(&w, f->path[0]);
	w_syn(&w, 119, 0, 10, 40000);
	w_syn(&w, 119, 999999, 10, 40001);
	w_syn(&w, 120, 0, 10, 40002);
	w_syn(&w, 179, 5, 10, 40003);
	w_syn(&w, 300, 0, 10, 40004);
	w_close(&w);

	r = open_replay(f, 1, 0);
	assert_int_equal(replay_next_time(r), 119);
	replay_set_until(r, 120);
	assert_int_equal(replay_run(r, 0, 100), 2);	/* 119.0, 119.999999; not 120 */
	assert_int_equal(replay_clock(r), 119);
	assert_int_equal(replay_next_time(r), 120);
	replay_set_until(r, 180);
	assert_int_equal(replay_run(r, 0, 100), 2);	/* 120, 179 */
	assert_int_equal(replay_next_time(r), 300);
	assert_int_equal(replay_run(r, 0, 100), 0);	/* 300 is past the bound */
	replay_set_until(r, 0);
	assert_int_equal(replay_run(r, 0, 100), 1);
	assert_true(replay_done(r));
	assert_int_equal(replay_next_time(r), -1);
	assert_int_equal(rec(f, "192.0.2.10")->syn, 5);
	replay_free(r);
}

static void
test_speed10_pacing(void **state)
{
	struct fx *f = *state;
	struct pcapw w;
	struct replay *r;

	/* at speed 10 a second of packet time takes 100 ms of wall time */
	w_open(&w, f->path[0]);
	w_syn(&w, 1000, 0, 10, 1);
	w_syn(&w, 1000, 500000, 10, 2);		/* +50 ms */
	w_syn(&w, 1001, 0, 10, 3);		/* +100 ms */
	w_syn(&w, 1001, 250, 10, 4);		/* +100.025 ms: the same millisecond */
	w_syn(&w, 1001, 19999, 10, 5);		/* +101.9999 ms: rounded down to 101 */
	w_syn(&w, 1003, 0, 10, 6);		/* +300 ms */
	w_close(&w);

	r = open_replay(f, 1, 10);
	assert_int_equal(replay_clock(r), 0);
	/* the first frame is due at once and sets the wall time of t0: 5000 */
	assert_int_equal(replay_wait_ms(r, 5000), 0);
	assert_int_equal(replay_run(r, 5000, 100), 1);
	assert_int_equal(replay_clock(r), 1000);
	assert_int_equal(replay_wait_ms(r, 5000), 50);
	assert_int_equal(replay_wait_ms(r, 5049), 1);
	assert_int_equal(replay_run(r, 5049, 100), 0);
	assert_int_equal(replay_run(r, 5050, 100), 1);
	assert_int_equal(replay_wait_ms(r, 5050), 50);
	assert_int_equal(replay_run(r, 5099, 100), 0);
	/* two frames due at 5100; max 1 takes them one a call */
	assert_int_equal(replay_run(r, 5100, 1), 1);
	assert_int_equal(replay_wait_ms(r, 5100), 0);
	assert_int_equal(replay_run(r, 5100, 1), 1);
	assert_int_equal(replay_clock(r), 1001);
	assert_int_equal(replay_wait_ms(r, 5100), 1);
	assert_int_equal(replay_run(r, 5100, 100), 0);
	assert_int_equal(replay_run(r, 5101, 100), 1);
	assert_int_equal(replay_wait_ms(r, 5101), 199);
	assert_int_equal(replay_run(r, 5299, 100), 0);
	assert_false(replay_done(r));
	/* a late caller gets what is overdue, no more */
	assert_int_equal(replay_run(r, 9000, 100), 1);
	assert_true(replay_done(r));
	assert_int_equal(replay_wait_ms(r, 9000), -1);
	assert_int_equal(replay_clock(r), 1003);
	assert_int_equal(rec(f, "192.0.2.10")->syn, 6);
	replay_free(r);
}

/* A speed near zero puts the next frame far away, not past what a wait can say. */
static void
test_tiny_speed(void **state)
{
	struct fx *f = *state;
	struct pcapw w;
	struct replay *r;

	w_open(&w, f->path[0]);
	w_syn(&w, 1000, 0, 10, 1);
	w_syn(&w, 1001, 0, 10, 2);
	w_close(&w);
	r = open_replay(f, 1, 1e-300);
	assert_int_equal(replay_run(r, 7, 10), 1);
	assert_true(replay_wait_ms(r, 7) == (int64_t)1e15);
	assert_int_equal(replay_run(r, 7 + (int64_t)1e15 - 1, 10), 0);
	assert_int_equal(replay_run(r, 7 + (int64_t)1e15, 10), 1);
	replay_free(r);
}

/* The second file starts before the first ended: its early frames are due at once and
 * accounted at the clock, which never goes back; pacing resumes past it. */
static void
test_clock_monotonic_across_files(void **state)
{
	struct fx *f = *state;
	struct pcapw w;
	struct replay *r;
	struct replay_stats st;

	w_open(&w, f->path[0]);
	w_syn(&w, 100, 0, 10, 1);
	w_syn(&w, 101, 0, 10, 2);
	w_syn(&w, 102, 0, 10, 3);
	w_close(&w);
	w_open(&w, f->path[1]);
	w_syn(&w, 50, 0, 12, 1);
	w_syn(&w, 60, 0, 12, 2);
	w_syn(&w, 103, 0, 13, 1);
	w_close(&w);

	r = open_replay(f, 2, 10);
	assert_int_equal(replay_run(r, 0, 100), 1);
	assert_int_equal(replay_wait_ms(r, 0), 100);
	assert_int_equal(replay_run(r, 100, 100), 1);
	assert_int_equal(replay_run(r, 199, 100), 0);
	/* 102 is due at 200; so are 50 and 60 of the next file, being earlier */
	assert_int_equal(replay_run(r, 200, 100), 3);
	assert_int_equal(replay_clock(r), 102);
	assert_int_equal(rec(f, "192.0.2.12")->syn, 2);
	assert_int_equal(rec(f, "192.0.2.12")->last_seen, 102);
	assert_int_equal(replay_wait_ms(r, 200), 100);
	assert_int_equal(replay_run(r, 299, 100), 0);
	assert_int_equal(replay_run(r, 300, 100), 1);
	assert_int_equal(replay_clock(r), 103);
	assert_int_equal(rec(f, "192.0.2.13")->last_seen, 103);
	assert_true(replay_done(r));
	replay_get_stats(r, &st);
	assert_int_equal(st.frames, 6);
	assert_int_equal(st.files_done, 2);
	assert_int_equal(st.files_failed, 0);
	replay_free(r);
}

/* A missing file and one cut inside a record are logged, counted and skipped; the frames
 * around them still count. */
static void
test_bad_files_skipped(void **state)
{
	struct fx *f = *state;
	struct pcapw w;
	struct replay *r;
	struct replay_stats st;
	FILE *fp;
	long size;

	w_open(&w, f->path[0]);
	w_syn(&w, 10, 0, 10, 1);
	w_syn(&w, 11, 0, 10, 2);
	w_close(&w);
	/* path[1] is never written */
	w_open(&w, f->path[2]);
	w_syn(&w, 12, 0, 11, 1);
	w_syn(&w, 13, 0, 11, 2);
	w_close(&w);
	assert_non_null(fp = fopen(f->path[2], "rb"));
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	size = ftell(fp);
	fclose(fp);
	assert_int_equal(truncate(f->path[2], size - 10), 0);	/* the last frame cut */
	w_open(&w, f->path[3]);
	w_syn(&w, 14, 0, 12, 1);
	w_close(&w);

	r = open_replay(f, 4, 0);
	assert_int_equal(replay_run(r, 0, -1), 4);
	assert_true(replay_done(r));
	replay_get_stats(r, &st);
	assert_int_equal(st.frames, 4);
	assert_int_equal(st.files_done, 2);
	assert_int_equal(st.files_failed, 2);
	assert_int_equal(rec(f, "192.0.2.10")->syn, 2);
	assert_int_equal(rec(f, "192.0.2.11")->syn, 1);
	assert_int_equal(rec(f, "192.0.2.12")->syn, 1);
	assert_int_equal(replay_clock(r), 14);
	replay_free(r);
}

/* The flow table is swept as the replay's clock moves, also when no frame of a tracked
 * connection comes to do it. */
static void
test_clock_sweeps_flows(void **state)
{
	struct fx *f = *state;
	struct pcapw w;
	struct replay *r;
	struct prefixes *p;
	struct outbound *o;
	struct flow_stats fs;
	char err[256] = "";
	char *files[1] = { f->path[0] };

	/* 192.0.2.0/28 sends; 198.18.0.0/24 receives mail (it is the provider's MX) */
	write_file(f->path[1], "192.0.2.0/28 64500\n198.18.0.0/24 64501\n", 0);
	if (prefixes_load(f->path[1], &p, err, sizeof err) == -1)
		fail_msg("%s", err);
	assert_non_null(o = outbound_new(f->t, p, NULL, 100, 5));
	/* a connection from 192.0.2.10, then mail into the space from outside: SMTP of
	 * ours, but no outbound connection whose segment would sweep the table */
	w_open(&w, f->path[0]);
	w_syn(&w, 1000, 0, 10, 1);
	w_syn(&w, 1010, 0, 99, 40000);
	w_close(&w);

	assert_non_null(r = replay_new(files, 1, 0, p, o, err, sizeof err));
	assert_int_equal(replay_run(r, 0, 1), 1);
	outbound_get_flow_stats(o, &fs);
	assert_int_equal(fs.active, 1);
	assert_int_equal(replay_run(r, 0, 1), 1);
	outbound_get_flow_stats(o, &fs);
	assert_int_equal(fs.active, 0);
	assert_int_equal(fs.expired, 1);
	assert_null(rec(f, "192.0.2.99"));
	replay_free(r);
	outbound_free(o);
	prefixes_free(p);
}

/* A reload changes the filter of the files opened after it, not of the one being read;
 * the old space is freed at once (ASan sees any use). */
static void
test_set_space(void **state)
{
	struct fx *f = *state;
	struct pcapw w;
	struct replay *r;
	struct prefixes *p1, *p2;
	char err[256] = "";
	char *files[2] = { f->path[0], f->path[1] };
	int i;

	write_file(f->path[2], "192.0.2.0/28 64500\n", 0);
	write_file(f->path[3], "192.0.2.16/28 64500\n", 0);
	if (prefixes_load(f->path[2], &p1, err, sizeof err) == -1 ||
	    prefixes_load(f->path[3], &p2, err, sizeof err) == -1)
		fail_msg("%s", err);
	for (i = 0; i < 2; i++) {
		w_open(&w, f->path[i]);
		w_syn(&w, 10 + i, 0, 10, 1);
		w_syn(&w, 10 + i, 1, 20, 1);
		w_close(&w);
	}
	/* the accounting itself takes every client: only the filter decides */
	assert_non_null(r = replay_new(files, 2, 0, p1, f->o, err, sizeof err));
	replay_set_space(r, p2);
	prefixes_free(p1);
	assert_int_equal(replay_run(r, 0, -1), 2);
	assert_int_equal(rec(f, "192.0.2.10")->syn, 1);
	assert_int_equal(rec(f, "192.0.2.10")->last_seen, 10);
	assert_int_equal(rec(f, "192.0.2.20")->syn, 1);
	assert_int_equal(rec(f, "192.0.2.20")->last_seen, 11);
	replay_free(r);
	prefixes_free(p2);
}

static void
test_new_errors(void **state)
{
	struct fx *f = *state;
	struct pcapw w;
	char err[256], copy[128];
	char *files[2] = { f->path[0], f->path[1] }, *two[2] = { f->path[1], copy };
	struct replay_stats st;
	struct replay *r;

	w_open(&w, f->path[1]);
	w_syn(&w, 1, 0, 10, 1);
	w_close(&w);

	err[0] = '\0';
	assert_null(replay_new(files, 0, 0, NULL, f->o, err, sizeof err));
	assert_string_not_equal(err, "");
	err[0] = '\0';
	assert_null(replay_new(files + 1, 1, -1, NULL, f->o, err, sizeof err));
	assert_non_null(strstr(err, "speed"));
	err[0] = '\0';
	assert_null(replay_new(files + 1, 1, NAN, NULL, f->o, err, sizeof err));
	assert_non_null(strstr(err, "speed"));
	/* the first file missing, then not a capture */
	err[0] = '\0';
	assert_null(replay_new(files, 2, 0, NULL, f->o, err, sizeof err));
	assert_non_null(strstr(err, f->path[0]));
	write_file(f->path[0], "this is not a capture file\n", 0);
	err[0] = '\0';
	assert_null(replay_new(files, 2, 0, NULL, f->o, err, sizeof err));
	assert_non_null(strstr(err, f->path[0]));
	/* the names are copied: the caller's may change before the second file is opened */
	snprintf(copy, sizeof copy, "%s", f->path[1]);
	assert_non_null(r = replay_new(two, 2, 0, NULL, f->o, err, sizeof err));
	memset(copy, 'x', sizeof copy - 1);
	assert_int_equal(replay_run(r, 0, 10), 2);
	replay_get_stats(r, &st);
	assert_int_equal(st.files_done, 2);
	assert_true(replay_done(r));
	replay_free(r);
	replay_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_speed0_slices, setup, teardown),
		cmocka_unit_test_setup_teardown(test_until_minutes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_speed10_pacing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tiny_speed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_monotonic_across_files, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_files_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_sweeps_flows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
