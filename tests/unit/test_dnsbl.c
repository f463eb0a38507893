/*
 * test_dnsbl.c — unit tests of the DNSBL engine without a DNS server: query names (IPv4,
 * IPv6 nibbles, too long), what several A records mean together (dnsbl_judge), and the
 * engine's promises on a file-source list (answers only after dnsbl_ask returns, once, test
 * points, a changed file seen after a second, IPv6 refused by a list without ipv6, asks from
 * inside a callback) and on a DNS list pointed at a UDP socket of ours that never answers
 * (never more in flight than max_outstanding, max_qps paces what is sent, dnsbl_free
 * cancels queued and in-flight queries with one callback each) or answering from this
 * test (the TTL of a listing; an NXDOMAIN's TTL is its SOA minimum; both cut to their caps).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "dnsbl.h"
#include "dnsbl_lists.h"
#include "testaddr.h"
#include "testfiles.h"

static void
test_qname(void **state)
{
	char buf[300], zone[250];
	struct rw_addr a;

	(void)state;
	a = A("192.0.2.10");
	assert_int_equal(dnsbl_qname(&a, "dnsbl-1.uceprotect.net", buf, sizeof buf), 0);
	assert_string_equal(buf, "10.2.0.192.dnsbl-1.uceprotect.net");
	a = A("127.0.0.2");
	assert_int_equal(dnsbl_qname(&a, "zen.spamhaus.org", buf, sizeof buf), 0);
	assert_string_equal(buf, "2.0.0.127.zen.spamhaus.org");
	a = A("2001:db8::7");
	assert_int_equal(dnsbl_qname(&a, "v6.test", buf, sizeof buf), 0);
	assert_string_equal(buf, "7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.v6.test");
	a = A("2001:db8:abcd:12::ff");
	assert_int_equal(dnsbl_qname(&a, "x", buf, sizeof buf), 0);
	assert_string_equal(buf, "f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.1.0.0.d.c.b.a.8.b.d.0.1.0.0.2.x");
	/* too small a buffer, an empty zone, a name past 253 characters */
	a = A("192.0.2.10");
	assert_int_equal(dnsbl_qname(&a, "l1.test", buf, 10), -1);
	assert_int_equal(dnsbl_qname(&a, "", buf, sizeof buf), -1);
	memset(zone, 'a', sizeof zone - 1);
	zone[sizeof zone - 1] = '\0';
	assert_int_equal(dnsbl_qname(&a, zone, buf, sizeof buf), -1);
	zone[200] = '\0';
	assert_int_equal(dnsbl_qname(&a, zone, buf, sizeof buf), 0);
	a = A("2001:db8::7");
	assert_int_equal(dnsbl_qname(&a, zone, buf, sizeof buf), -1);
}

static void
test_status_names(void **state)
{
	(void)state;
	assert_string_equal(dnsbl_status_name(DNSBL_LISTED), "listed");
	assert_string_equal(dnsbl_status_name(DNSBL_CLEAN), "clean");
	assert_string_equal(dnsbl_status_name(DNSBL_BLOCKED), "blocked");
	assert_string_equal(dnsbl_status_name(DNSBL_ERROR), "error");
}

/* A list as dnsbl.conf's defaults make it: any 127/8 but 127.0.0.1 listed, refusals
 * 127.255.255.0/24, one code with a meaning. */
static void
test_judge(void **state)
{
	uint32_t blocked[1][2] = { { 0x7fffff00u, 0x7fffffffu } };
	struct dnsbl_code code = { 0x7ffffffeu, "query via a public/open resolver refused" };
	struct dnsbl_list l;
	uint32_t a[3];
	char why[160];

	(void)state;
	memset(&l, 0, sizeof l);
	l.name = "zen";
	l.zone = "zen.test";
	l.blocked.range = blocked;
	l.blocked.n = 1;
	l.codes = &code;
	l.ncodes = 1;

	a[0] = 0x7f000002u;
	assert_int_equal(dnsbl_judge(&l, a, 1, why, sizeof why), DNSBL_LISTED);
	assert_string_equal(why, "");
	/* a refusal next to a listing: blocked */
	a[1] = 0x7ffffffeu;
	assert_int_equal(dnsbl_judge(&l, a, 2, why, sizeof why), DNSBL_BLOCKED);
	assert_string_equal(why, "127.255.255.254: query via a public/open resolver refused");
	a[0] = 0x7fffffffu;
	assert_int_equal(dnsbl_judge(&l, a, 1, why, sizeof why), DNSBL_BLOCKED);
	assert_string_equal(why, "127.255.255.255: refusal code: the list refuses to answer this resolver");
	/* a listing next to a bogus record: listed */
	a[0] = 0x7f000001u;
	a[1] = 0x7f00000au;
	assert_int_equal(dnsbl_judge(&l, a, 2, why, sizeof why), DNSBL_LISTED);
	/* nothing that can be a listing */
	assert_int_equal(dnsbl_judge(&l, a, 1, why, sizeof why), DNSBL_ERROR);
	assert_string_equal(why, "answer 127.0.0.1 is never a listing (RFC 5782)");
	a[0] = 0x0a000001u;
	assert_int_equal(dnsbl_judge(&l, a, 1, why, sizeof why), DNSBL_ERROR);
	assert_string_equal(why, "answer 10.0.0.1 is outside 127.0.0.0/8 (a resolver rewriting "
	    "NXDOMAIN, or a dead list?)");
	assert_int_equal(dnsbl_judge(&l, a, 0, why, sizeof why), DNSBL_ERROR);
	assert_string_equal(why, "no A record in the answer");
}

/* --- the engine --------------------------------------------------------------------- */

struct fixture {
	char dir[64];
	char lists[128];
	char zone[128];
	struct dnsbl_lists *ls;
	int udp;		/* a socket of ours that never answers */
	unsigned port;
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;

	if (fx == NULL || testdir_make(fx->dir, sizeof fx->dir, "dnsbl") == -1)
		return -1;
	snprintf(fx->lists, sizeof fx->lists, "%s/dnsbl.conf", fx->dir);
	snprintf(fx->zone, sizeof fx->zone, "%s/l1.zone", fx->dir);
	fx->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fx->udp == -1 || bind(fx->udp, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    getsockname(fx->udp, (struct sockaddr *)&sin, &sl) == -1)
		return -1;
	fx->port = ntohs(sin.sin_port);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	dnsbl_lists_free(fx->ls);
	close(fx->udp);
	testdir_remove(fx->dir);
	free(fx);
	return 0;
}

static const struct dnsbl_list *
load(struct fixture *fx, const char *text, const char *name)
{
	char err[256];

	write_file(fx->lists, text, 0);
	dnsbl_lists_free(fx->ls);
	fx->ls = NULL;
	if (dnsbl_lists_load(fx->lists, &fx->ls, err, sizeof err) == -1)
		fail_msg("%s", err);
	assert_non_null(dnsbl_lists_find(fx->ls, name));
	return dnsbl_lists_find(fx->ls, name);
}

struct seen {
	int n;
	int inside;		/* set while dnsbl_ask runs */
	int early;		/* a callback ran inside dnsbl_ask */
	struct dnsbl_result last;
	struct dnsbl *d;	/* ask again from the callback when set */
	const struct dnsbl_list *again;
};

static void
on_result(void *arg, const struct dnsbl_result *r)
{
	struct seen *s = arg;
	struct rw_addr a = A("192.0.2.11");

	if (s->inside)
		s->early = 1;
	s->n++;
	s->last = *r;
	if (s->d && s->again) {
		const struct dnsbl_list *l = s->again;
		s->again = NULL;
		s->inside = 1;
		assert_int_equal(dnsbl_ask(s->d, l, &a, on_result, s), 0);
		s->inside = 0;
	}
}

static void
on_health(void *arg, const struct dnsbl_list *l, enum dnsbl_health h, const char *reason)
{
	int *out = arg;

	(void)l;
	(void)reason;
	*out = (int)h;
}

static void
ask(struct dnsbl *d, const struct dnsbl_list *l, const char *ip, struct seen *s)
{
	struct rw_addr a = A(ip);

	s->inside = 1;
	assert_int_equal(dnsbl_ask(d, l, &a, on_result, s), 0);
	s->inside = 0;
}

static void
test_file_source(void **state)
{
	struct fixture *fx = *state;
	const struct dnsbl_list *l;
	struct dnsbl_opts o = { NULL, 0, 0, 0, 0, 0 };
	struct dnsbl_stats st;
	struct seen s;
	struct dnsbl *d;
	char text[512], err[256];
	int h = -1;
	const char *why;

	write_file(fx->zone, ":127.0.0.2:Listed $\n127.0.0.2\n192.0.2.10\n192.0.2.11 :3:\x1b[31mred\n", 0);
	snprintf(text, sizeof text, "[list \"l1\"]\nzone = l1.test\nscope = ip\nsource = file:%s\n",
	    fx->zone);
	l = load(fx, text, "l1");
	d = dnsbl_new(&o, err, sizeof err);
	assert_non_null(d);

	assert_int_equal(dnsbl_test(d, l, on_health, &h), 0);
	assert_int_equal(h, -1);	/* not before dnsbl_run */
	dnsbl_run(d);
	assert_int_equal(h, DNSBL_H_OK);
	assert_int_equal(dnsbl_health(d, l, &why), DNSBL_H_OK);

	memset(&s, 0, sizeof s);
	ask(d, l, "192.0.2.10", &s);
	assert_int_equal(s.n, 0);
	assert_int_equal(dnsbl_pending(d), 1);
	assert_int_equal(dnsbl_timeout_ms(d), 0);
	dnsbl_run(d);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.early, 0);
	assert_int_equal(s.last.status, DNSBL_LISTED);
	assert_int_equal(s.last.from_file, 1);
	assert_int_equal(s.last.ncodes, 1);
	assert_int_equal(s.last.codes[0], 0x7f000002u);
	assert_string_equal(s.last.txt, "Listed 192.0.2.10");
	assert_int_equal(dnsbl_pending(d), 0);

	/* TXT is escaped; a callback may ask again (answered in a later round, once) */
	memset(&s, 0, sizeof s);
	s.d = d;
	s.again = l;
	ask(d, l, "192.0.2.9", &s);
	dnsbl_run(d);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.early, 0);
	assert_int_equal(s.last.status, DNSBL_LISTED);
	assert_string_equal(s.last.txt, "\\x1b[31mred");

	/* a list without ipv6 = yes */
	memset(&s, 0, sizeof s);
	ask(d, l, "2001:db8::1", &s);
	dnsbl_run(d);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.last.status, DNSBL_ERROR);
	assert_string_equal(s.last.reason, "list does not support IPv6");

	/* the file changes: seen at the next lookup a second later */
	sleep(1);
	write_file(fx->zone, ":127.0.0.2:Listed $\n127.0.0.2\n192.0.2.9 :4:now\n", 0);
	usleep(1100 * 1000);
	memset(&s, 0, sizeof s);
	ask(d, l, "192.0.2.10", &s);
	dnsbl_run(d);
	assert_int_equal(s.last.status, DNSBL_CLEAN);
	ask(d, l, "192.0.2.9", &s);
	dnsbl_run(d);
	assert_int_equal(s.last.status, DNSBL_LISTED);
	assert_int_equal(s.last.codes[0], 0x7f000004u);
	dnsbl_get_stats(d, &st);
	assert_int_equal(st.sent, 0);
	assert_true(st.from_file >= 7);

	/* pending at free: cancelled, one callback each */
	memset(&s, 0, sizeof s);
	ask(d, l, "192.0.2.9", &s);
	ask(d, l, "192.0.2.10", &s);
	dnsbl_free(d);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.last.status, DNSBL_ERROR);
	assert_string_equal(s.last.reason, "cancelled");
}

static void
test_file_source_dead_list(void **state)
{
	struct fixture *fx = *state;
	const struct dnsbl_list *l;
	struct dnsbl_opts o = { NULL, 0, 0, 0, 0, 0 };
	struct seen s;
	struct dnsbl *d;
	char text[512], err[256];
	int h = -1;

	write_file(fx->zone, "0.0.0.0/0 :2:everything\n", 0);
	snprintf(text, sizeof text, "[list \"dead\"]\nzone = dead.test\nscope = ip\n"
	    "source = file:%s\n", fx->zone);
	l = load(fx, text, "dead");
	assert_non_null(d = dnsbl_new(&o, err, sizeof err));
	assert_int_equal(dnsbl_test(d, l, on_health, &h), 0);
	dnsbl_run(d);
	assert_int_equal(h, DNSBL_H_BROKEN);
	memset(&s, 0, sizeof s);
	ask(d, l, "192.0.2.10", &s);
	dnsbl_run(d);
	assert_int_equal(s.last.status, DNSBL_ERROR);
	assert_string_equal(s.last.reason,
	    "test point 127.0.0.1 is listed (127.0.0.2): the list answers everything?");
	assert_int_equal(s.last.ncodes, 0);
	dnsbl_free(d);
}

/* Datagrams waiting on our silent socket. */
static int
drain(int fd)
{
	char buf[600];
	int n = 0;

	while (recv(fd, buf, sizeof buf, 0) > 0)
		n++;
	return n;
}

/* Runs the engine's loop for ms milliseconds. */
static void
spin(struct dnsbl *d, int ms)
{
	struct timespec t0, t;
	struct pollfd fds[16];
	int n, to;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >= ms)
			break;
		n = dnsbl_pollfds(d, fds, 16);
		to = dnsbl_timeout_ms(d);
		poll(fds, (nfds_t)n, to < 0 || to > 10 ? 10 : to);
		dnsbl_process(d, fds, n);
	}
}

static void
test_dns_limits(void **state)
{
	struct fixture *fx = *state;
	const struct dnsbl_list *l, *slow;
	struct dnsbl_opts o = { NULL, 60000, 1, 3, 0, 0 };
	struct seen s;
	struct dnsbl *d;
	char ns[64], err[256], ip[32];
	int i;

	l = load(fx, "[list \"fast\"]\nzone = fast.test\nscope = ip\nmax_qps = 100000\n"
	    "[list \"slow\"]\nzone = slow.test\nscope = ip\nmax_qps = 5\n", "fast");
	slow = dnsbl_lists_find(fx->ls, "slow");
	snprintf(ns, sizeof ns, "127.0.0.1:%u", fx->port);
	o.nameservers = ns;
	assert_non_null(d = dnsbl_new(&o, err, sizeof err));
	memset(&s, 0, sizeof s);
	for (i = 0; i < 10; i++) {
		snprintf(ip, sizeof ip, "192.0.2.%d", i + 1);
		ask(d, l, ip, &s);
	}
	assert_int_equal(dnsbl_pending(d), 10);
	spin(d, 100);
	/* three in flight, never more, and nothing answered */
	assert_int_equal(drain(fx->udp), 3);
	assert_int_equal(s.n, 0);
	assert_int_equal(dnsbl_pending(d), 10);
	assert_true(dnsbl_timeout_ms(d) > 0);

	/* 5 qps: a bucket of one, then one every 200 ms */
	ask(d, slow, "192.0.2.100", &s);
	ask(d, slow, "192.0.2.101", &s);
	dnsbl_free(d);
	/* everything cancelled, once */
	assert_int_equal(s.n, 12);
	assert_string_equal(s.last.reason, "cancelled");

	o.max_outstanding = 100;
	assert_non_null(d = dnsbl_new(&o, err, sizeof err));
	memset(&s, 0, sizeof s);
	for (i = 0; i < 4; i++) {
		snprintf(ip, sizeof ip, "192.0.2.%d", i + 1);
		ask(d, slow, ip, &s);
	}
	spin(d, 100);
	assert_int_equal(drain(fx->udp), 1);
	spin(d, 250);
	assert_int_equal(drain(fx->udp), 1);
	spin(d, 200);
	assert_int_equal(drain(fx->udp), 1);
	dnsbl_free(d);
	assert_int_equal(s.n, 4);
}

/* Answers one waiting query on our socket: NXDOMAIN with an SOA (minimum minttl) in the
 * authority section, or an A record 127.0.0.2 with TTL a_ttl. 0 when nothing waited. */
static int
respond(int fd, int nx, uint32_t minttl, uint32_t a_ttl)
{
	static const unsigned char soa_names[] = {
		2, 'n', 's', 4, 't', 'e', 's', 't', 0, 2, 'h', 'm', 4, 't', 'e', 's', 't', 0 };
	unsigned char q[512], r[600];
	struct sockaddr_in from;
	socklen_t fl = sizeof from;
	ssize_t n = recvfrom(fd, q, sizeof q, 0, (struct sockaddr *)&from, &fl);
	size_t o, rd;
	uint32_t v[5] = { 1, 3600, 600, 86400, minttl };
	int i;

	if (n < 17)
		return 0;
	memcpy(r, q, (size_t)n);	/* header and question */
	o = (size_t)n;
	r[2] = 0x84 | (q[2] & 1);
	r[3] = nx ? 3 : 0;
	r[6] = 0;
	r[7] = nx ? 0 : 1;
	r[8] = 0;
	r[9] = nx ? 1 : 0;
	r[10] = r[11] = 0;
	r[o++] = 0xc0;	/* the owner: the question's name */
	r[o++] = 12;
	r[o++] = 0;
	r[o++] = nx ? 6 : 1;
	r[o++] = 0;
	r[o++] = 1;
	for (i = 3; i >= 0; i--)
		r[o++] = (unsigned char)((nx ? 300 : a_ttl) >> (8 * i));
	if (!nx) {
		r[o++] = 0;
		r[o++] = 4;
		r[o++] = 127;
		r[o++] = 0;
		r[o++] = 0;
		r[o++] = 2;
	} else {
		rd = sizeof soa_names + 20;
		r[o++] = (unsigned char)(rd >> 8);
		r[o++] = (unsigned char)rd;
		memcpy(r + o, soa_names, sizeof soa_names);
		o += sizeof soa_names;
		for (i = 0; i < 5; i++) {
			r[o++] = (unsigned char)(v[i] >> 24);
			r[o++] = (unsigned char)(v[i] >> 16);
			r[o++] = (unsigned char)(v[i] >> 8);
			r[o++] = (unsigned char)v[i];
		}
	}
	return sendto(fd, r, o, 0, (struct sockaddr *)&from, fl) == (ssize_t)o;
}

static void
test_ttls(void **state)
{
	struct fixture *fx = *state;
	const struct dnsbl_list *l;
	struct dnsbl_opts o = { NULL, 60000, 1, 10, 0, 0 };
	struct seen s;
	struct dnsbl *d;
	char ns[64], err[256];
	int i;

	l = load(fx, "[list \"l\"]\nzone = l.test\nscope = ip\ntxt = no\nmax_qps = 1000\n", "l");
	snprintf(ns, sizeof ns, "127.0.0.1:%u", fx->port);
	o.nameservers = ns;
	assert_non_null(d = dnsbl_new(&o, err, sizeof err));
	memset(&s, 0, sizeof s);
	ask(d, l, "192.0.2.1", &s);
	for (i = 0; i < 100 && s.n == 0; i++) {
		spin(d, 10);
		respond(fx->udp, 1, 123, 0);
	}
	assert_int_equal(s.n, 1);
	assert_int_equal(s.last.status, DNSBL_CLEAN);
	assert_int_equal(s.last.ttl, 123);	/* the SOA minimum, not the record's 300 */
	ask(d, l, "192.0.2.2", &s);
	for (i = 0; i < 100 && s.n == 1; i++) {
		spin(d, 10);
		respond(fx->udp, 0, 0, 77);
	}
	assert_int_equal(s.n, 2);
	assert_int_equal(s.last.status, DNSBL_LISTED);
	assert_int_equal(s.last.ttl, 77);
	dnsbl_free(d);
}

/* One answer to a fresh ask of ip: NXDOMAIN with SOA minimum minttl, or listed with TTL
 * a_ttl. The TTL the engine reports. */
static uint32_t
ttl_of(struct fixture *fx, struct dnsbl *d, const struct dnsbl_list *l, const char *ip,
    int nx, uint32_t minttl, uint32_t a_ttl)
{
	struct seen s;
	int i;

	memset(&s, 0, sizeof s);
	ask(d, l, ip, &s);
	for (i = 0; i < 100 && s.n == 0; i++) {
		spin(d, 10);
		respond(fx->udp, nx, minttl, a_ttl);
	}
	assert_int_equal(s.n, 1);
	assert_int_equal(s.last.status, nx ? DNSBL_CLEAN : DNSBL_LISTED);
	return s.last.ttl;
}

/* A TTL of 68 years (listing or NXDOMAIN's SOA minimum) is cut: 1 day and 1 hour by
 * default, max_ttl and max_neg_ttl when set; a short one is kept as it came. */
static void
test_ttls_capped(void **state)
{
	struct fixture *fx = *state;
	const struct dnsbl_list *l;
	struct dnsbl_opts o = { NULL, 60000, 1, 10, 0, 0 };
	struct dnsbl *d;
	char ns[64], err[256];

	l = load(fx, "[list \"l\"]\nzone = l.test\nscope = ip\ntxt = no\nmax_qps = 1000\n", "l");
	snprintf(ns, sizeof ns, "127.0.0.1:%u", fx->port);
	o.nameservers = ns;
	assert_non_null(d = dnsbl_new(&o, err, sizeof err));
	assert_int_equal(ttl_of(fx, d, l, "192.0.2.1", 0, 0, 0x7fffffffu), 86400);
	assert_int_equal(ttl_of(fx, d, l, "192.0.2.2", 1, 0xffffffffu, 0), 3600);
	assert_int_equal(ttl_of(fx, d, l, "192.0.2.3", 0, 0, 77), 77);
	assert_int_equal(ttl_of(fx, d, l, "192.0.2.4", 1, 123, 0), 123);
	dnsbl_free(d);
	o.max_ttl = 600;
	o.max_neg_ttl = 60;
	assert_non_null(d = dnsbl_new(&o, err, sizeof err));
	assert_int_equal(ttl_of(fx, d, l, "192.0.2.5", 0, 0, 0x7fffffffu), 600);
	assert_int_equal(ttl_of(fx, d, l, "192.0.2.6", 1, 0x7fffffffu, 0), 60);
	assert_int_equal(ttl_of(fx, d, l, "192.0.2.7", 1, 59, 0), 59);
	dnsbl_free(d);
}

static void
test_bad_nameserver(void **state)
{
	struct dnsbl_opts o = { "127.0.0.1:53:53", 0, 0, 0, 0, 0 };
	char err[256];

	(void)state;
	assert_null(dnsbl_new(&o, err, sizeof err));
	assert_non_null(strstr(err, "nameserver '127.0.0.1:53:53'"));
	o.nameservers = "127.0.0.1:5353, 127.0.0.2";
	dnsbl_free(dnsbl_new(&o, err, sizeof err));
	dnsbl_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qname),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_judge),
		cmocka_unit_test(test_bad_nameserver),
		cmocka_unit_test_setup_teardown(test_file_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_source_dead_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dns_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttls_capped, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
