/*
 * test_sweep.c — unit tests of the DNSBL schedule with a simulated clock (one sweep_due()
 * call per simulated second, every due query drained): a /16 on a 1-day interval goes out
 * evenly over the day, every IP exactly once per interval; range- and asn-scope lists get
 * one query per range or ASN per interval; max_qps holds in every second and max_per_day in
 * every 86400 seconds, also under urgent and active load; a TTL defers; active IPs get fast
 * re-checks for a day; urgent ones come first; sweep_next() tells the truth; a /8 costs
 * next to nothing. Lists are built by hand (no list parser), provider space from a file.
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

#include "addr.h"
#include "prefixes.h"
#include "sweep.h"
#include "testaddr.h"

#define T0	1700000000	/* the simulated clock starts here */
#define BATCH	512

static char name_ip[] = "ip-list", name_ip2[] = "ip6-list", name_range[] = "range-list",
    name_asn[] = "asn-list", zone[] = "dnsbl.test";

static struct dnsbl_list
mklist(char *name, enum dnsbl_scope scope, unsigned interval, unsigned fast, unsigned qps,
    unsigned long per_day)
{
	struct dnsbl_list l;

	memset(&l, 0, sizeof l);
	l.name = name;
	l.zone = zone;
	l.scope = scope;
	l.enabled = 1;
	l.interval = interval;
	l.fast_interval = fast;
	l.max_qps = qps;
	l.max_per_day = per_day;
	return l;
}

/* Provider space from text, through the real parser. */
static struct prefixes *
space(const char *text)
{
	char path[] = "/tmp/rw-test-sweep-XXXXXX", err[512] = "";
	struct prefixes *p = NULL;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	if (prefixes_load(path, &p, err, sizeof err) == -1)
		fail_msg("prefixes_load: %s", err);
	unlink(path);
	return p;
}

static uint32_t
v4(const struct rw_addr *a)
{
	return (uint32_t)a->a[12] << 24 | (uint32_t)a->a[13] << 16 | (uint32_t)a->a[14] << 8 |
	    a->a[15];
}

/* What a simulation saw. */
struct sim {
	const struct dnsbl_list *list;	/* count only this list's items (NULL: all) */
	uint32_t base;			/* ip scope: per-IP records for base .. base+nip-1 */
	uint32_t nip;
	uint32_t *count;		/* per IP: items */
	int64_t *last;			/* per IP: time of the last item */
	int64_t mingap;			/* smallest time between two items of one IP */
	uint32_t *per_sec;		/* items per second since T0 */
	int64_t seconds;
	uint64_t total;
	int64_t late_next;		/* items that came before sweep_next() said */
	void (*each)(struct sim *sim, const struct sweep_item *it, int64_t t);
	void *arg;
};

static void
sim_init(struct sim *sim, const struct dnsbl_list *list, const char *base, uint32_t nip,
    int64_t seconds)
{
	memset(sim, 0, sizeof *sim);
	sim->list = list;
	if (base != NULL) {
		struct rw_addr a = A(base);

		sim->base = v4(&a);
	}
	sim->nip = nip;
	sim->count = calloc(nip ? nip : 1, sizeof *sim->count);
	sim->last = calloc(nip ? nip : 1, sizeof *sim->last);
	sim->per_sec = calloc((size_t)seconds, sizeof *sim->per_sec);
	assert_non_null(sim->count);
	assert_non_null(sim->last);
	assert_non_null(sim->per_sec);
	sim->seconds = seconds;
	sim->mingap = INT64_MAX;
}

static void
sim_free(struct sim *sim)
{
	free(sim->count);
	free(sim->last);
	free(sim->per_sec);
}

static void
record(struct sim *sim, const struct sweep_item *it, int64_t t)
{
	uint32_t i;

	if (sim->list != NULL && it->list != sim->list)
		return;
	sim->total++;
	if (t - T0 < sim->seconds)
		sim->per_sec[t - T0]++;
	if (sim->nip > 0 && addr_is_v4(&it->ip) && v4(&it->ip) - sim->base < sim->nip) {
		i = v4(&it->ip) - sim->base;
		if (sim->count[i] > 0 && t - sim->last[i] < sim->mingap)
			sim->mingap = t - sim->last[i];
		sim->count[i]++;
		sim->last[i] = t;
	}
	if (sim->each != NULL)
		sim->each(sim, it, t);
}

/* Drains everything due at t. */
static void
drain(struct sweep *s, struct sim *sim, int64_t t)
{
	static struct sweep_item out[BATCH];
	size_t n, i;

	do {
		n = sweep_due(s, t, out, BATCH);
		for (i = 0; i < n; i++)
			record(sim, &out[i], t);
	} while (n == BATCH);
}

/* One call a second from..to (exclusive); checks sweep_next() against what comes. */
static void
run(struct sweep *s, struct sim *sim, int64_t from, int64_t to)
{
	int64_t t, next = from;
	uint64_t before;

	for (t = from; t < to; t++) {
		before = sim->total;
		drain(s, sim, t);
		if (sim->total != before && t < next)
			sim->late_next++;
		next = sweep_next(s, t);
		assert_true(next > t);
	}
}

static unsigned
max_per_second(const struct sim *sim)
{
	unsigned m = 0;
	int64_t i;

	for (i = 0; i < sim->seconds; i++)
		if (sim->per_sec[i] > m)
			m = sim->per_sec[i];
	return m;
}

/* The largest number of items in any window of len seconds. */
static uint64_t
max_in_window(const struct sim *sim, int64_t len)
{
	uint64_t sum = 0, m = 0;
	int64_t i;

	for (i = 0; i < sim->seconds; i++) {
		sum += sim->per_sec[i];
		if (i >= len)
			sum -= sim->per_sec[i - len];
		if (sum > m)
			m = sum;
	}
	return m;
}

static void
test_ip_scope_day(void **state)
{
	struct prefixes *p = space("10.20.0.0/16 AS64500\n10.20.7.0/24 AS64501\n");
	struct dnsbl_list l = mklist(name_ip, DNSBL_SCOPE_IP, 86400, 3600, 20, 0);
	const struct dnsbl_list *v[] = { &l };
	struct sweep *s = sweep_new_lists(v, 1, p, T0);
	struct sim sim;
	uint64_t hour;
	uint32_t i;
	int h;

	(void)state;
	assert_non_null(s);
	sim_init(&sim, NULL, "10.20.0.0", 65536, 2 * 86400);
	run(s, &sim, T0, T0 + 86400);
	assert_int_equal(sim.total, 65536);	/* the nested /24 is not asked twice */
	for (i = 0; i < 65536; i++)
		if (sim.count[i] != 1)
			fail_msg("10.20.%u.%u asked %u times on day 1", i >> 8, i & 255,
			    sim.count[i]);
	/* spread: 65536 / 24 = 2730.7 an hour, never more than 2 in a second */
	for (h = 0; h < 24; h++) {
		hour = 0;
		for (i = 0; i < 3600; i++)
			hour += sim.per_sec[h * 3600 + i];
		if (hour < 2729 || hour > 2732)
			fail_msg("hour %d: %llu queries", h, (unsigned long long)hour);
	}
	assert_true(max_per_second(&sim) <= 2);
	assert_int_equal(sim.late_next, 0);
	run(s, &sim, T0 + 86400, T0 + 2 * 86400);
	assert_int_equal(sim.total, 2 * 65536);
	for (i = 0; i < 65536; i++)
		assert_int_equal(sim.count[i], 2);
	assert_int_equal(sim.mingap, 86400);	/* none twice within the interval */
	assert_int_equal(sim.late_next, 0);
	sim_free(&sim);
	sweep_free(s);
	prefixes_free(p);
}

/* A restart (a new schedule at a later time) goes on where the old one stood: no IP asked
 * twice within the interval across it, none left out. */
static void
test_restart_resumes(void **state)
{
	struct prefixes *p = space("10.21.0.0/18 AS64500\n");
	struct dnsbl_list l = mklist(name_ip, DNSBL_SCOPE_IP, 86400, 3600, 20, 0);
	const struct dnsbl_list *v[] = { &l };
	struct sweep *s = sweep_new_lists(v, 1, p, T0);
	struct sim sim;
	uint32_t i;

	(void)state;
	sim_init(&sim, NULL, "10.21.0.0", 16384, 2 * 86400);
	run(s, &sim, T0, T0 + 30000);
	sweep_free(s);
	s = sweep_new_lists(v, 1, p, T0 + 30000);
	run(s, &sim, T0 + 30000, T0 + 2 * 86400);
	for (i = 0; i < 16384; i++)
		assert_int_equal(sim.count[i], 2);
	assert_int_equal(sim.mingap, 86400);
	sim_free(&sim);
	sweep_free(s);
	prefixes_free(p);
}

/* Driven by sweep_next() alone, the loop wakes once per query and misses none. */
static void
test_event_driven(void **state)
{
	struct prefixes *p = space("10.20.0.0/20 AS64500\n");
	struct dnsbl_list l = mklist(name_ip, DNSBL_SCOPE_IP, 3600, 600, 20, 0);
	const struct dnsbl_list *v[] = { &l };
	struct sweep *s = sweep_new_lists(v, 1, p, T0);
	struct sim sim;
	int64_t t = T0;
	unsigned wakeups = 0;

	(void)state;
	sim_init(&sim, NULL, "10.20.0.0", 4096, 3600);
	while (t < T0 + 3600) {
		drain(s, &sim, t);
		wakeups++;
		t = sweep_next(s, t);
	}
	assert_int_equal(sim.total, 4096);
	assert_true(wakeups <= 4096 + 1);
	sim_free(&sim);
	sweep_free(s);
	prefixes_free(p);
}

struct keyseen {
	char key[8][CIDR_STRLEN];
	char ip[8][ADDR_STRLEN];
	unsigned n[8];
	int64_t last[8], mingap;
	size_t nkeys;
};

static void
key_seen(struct sim *sim, const struct sweep_item *it, int64_t t)
{
	struct keyseen *ks = sim->arg;
	size_t i;

	for (i = 0; i < ks->nkeys && strcmp(ks->key[i], it->key) != 0; i++)
		;
	if (i == ks->nkeys) {
		assert_true(i < 8);
		snprintf(ks->key[i], sizeof ks->key[i], "%s", it->key);
		addr_format(&it->ip, ks->ip[i], sizeof ks->ip[i]);
		ks->nkeys++;
	} else if (t - ks->last[i] < ks->mingap)
		ks->mingap = t - ks->last[i];
	ks->n[i]++;
	ks->last[i] = t;
}

static int
cmp_line(const void *x, const void *y)
{
	return strcmp((const char *)x, (const char *)y);
}

/* The keys seen, "KEY@IP xCOUNT" a line, sorted (the cycle starts where the clock is). */
static const char *
keys_text(const struct keyseen *ks)
{
	static char buf[1024];
	char line[8][128];
	size_t i, off = 0;

	for (i = 0; i < ks->nkeys; i++)
		snprintf(line[i], sizeof line[i], "%s@%s x%u\n", ks->key[i], ks->ip[i], ks->n[i]);
	qsort(line, ks->nkeys, sizeof line[0], cmp_line);
	buf[0] = '\0';
	for (i = 0; i < ks->nkeys; i++)
		off += (size_t)snprintf(buf + off, sizeof buf - off, "%s", line[i]);
	return buf;
}

static void
test_range_scope(void **state)
{
	struct prefixes *p = space("10.0.0.0/22 AS64500\n10.0.1.16/28 AS64500 alloc\n");
	struct dnsbl_list l = mklist(name_range, DNSBL_SCOPE_RANGE, 3600, 3600, 20, 0);
	const struct dnsbl_list *v[] = { &l };
	struct sweep *s = sweep_new_lists(v, 1, p, T0);
	struct keyseen ks = { .mingap = INT64_MAX };
	struct sim sim;
	char key[CIDR_STRLEN];
	struct rw_addr a;

	(void)state;
	sim_init(&sim, NULL, NULL, 0, 3 * 3600);
	sim.each = key_seen;
	sim.arg = &ks;
	run(s, &sim, T0, T0 + 3 * 3600);
	assert_string_equal(keys_text(&ks),
	    "10.0.0.0/24@10.0.0.1 x3\n"
	    "10.0.1.0/24@10.0.1.1 x3\n"
	    "10.0.1.16/28@10.0.1.17 x3\n"
	    "10.0.2.0/24@10.0.2.1 x3\n"
	    "10.0.3.0/24@10.0.3.1 x3\n");
	assert_true(ks.mingap >= 3600);
	/* sweep_key agrees with the items' keys */
	a = A("10.0.1.20");
	sweep_key(s, &l, &a, key, sizeof key);
	assert_string_equal(key, "10.0.1.16/28");
	a = A("10.0.1.200");
	sweep_key(s, &l, &a, key, sizeof key);
	assert_string_equal(key, "10.0.1.0/24");
	sim_free(&sim);
	sweep_free(s);
	prefixes_free(p);

	/* a range only partly ours is asked about through an address of ours; a /31 through
	 * its first address */
	p = space("192.0.2.64/26 AS64500\n198.51.100.8/31 AS64500 alloc\n"
	    "198.51.100.0/24 AS64500\n");
	s = sweep_new_lists(v, 1, p, T0);
	memset(&ks, 0, sizeof ks);
	ks.mingap = INT64_MAX;
	sim_init(&sim, NULL, NULL, 0, 3600);
	sim.each = key_seen;
	sim.arg = &ks;
	run(s, &sim, T0, T0 + 3600);
	assert_string_equal(keys_text(&ks),
	    "192.0.2.0/24@192.0.2.64 x1\n"
	    "198.51.100.0/24@198.51.100.1 x1\n"
	    "198.51.100.8/31@198.51.100.8 x1\n");
	sim_free(&sim);
	sweep_free(s);
	prefixes_free(p);
}

static void
test_asn_scope(void **state)
{
	struct prefixes *p = space("2001:db8:1::/48 AS64500\n10.0.0.0/22 AS64500\n"
	    "10.1.0.0/24 AS64501\n2001:db8::/32 AS64502\n10.2.0.0/24 AS64500\n"
	    "10.9.0.0/24 AS64503 alloc\n");
	struct dnsbl_list l4 = mklist(name_asn, DNSBL_SCOPE_ASN, 3600, 3600, 20, 0),
	    l6 = mklist(name_ip2, DNSBL_SCOPE_ASN, 3600, 3600, 20, 0);
	const struct dnsbl_list *v[] = { &l4, &l6 };
	struct sweep *s;
	struct keyseen k4 = { .mingap = INT64_MAX }, k6 = { .mingap = INT64_MAX };
	struct sim s4, s6;
	struct sweep_item out[BATCH];
	char key[CIDR_STRLEN];
	struct rw_addr a;
	int64_t t;
	size_t n, i;

	(void)state;
	l6.ipv6 = 1;
	s = sweep_new_lists(v, 2, p, T0);
	sim_init(&s4, &l4, NULL, 0, 2 * 3600);
	sim_init(&s6, &l6, NULL, 0, 2 * 3600);
	s4.each = s6.each = key_seen;
	s4.arg = &k4;
	s6.arg = &k6;
	for (t = T0; t < T0 + 2 * 3600; t++)
		do {
			n = sweep_due(s, t, out, BATCH);
			for (i = 0; i < n; i++) {
				record(&s4, &out[i], t);
				record(&s6, &out[i], t);
			}
		} while (n == BATCH);
	/* the IPv4 representative wins over an IPv6 prefix listed first */
	assert_string_equal(keys_text(&k4),
	    "AS64500@10.0.0.1 x2\n"
	    "AS64501@10.1.0.1 x2\n");
	assert_string_equal(keys_text(&k6),
	    "AS64500@10.0.0.1 x2\n"
	    "AS64501@10.1.0.1 x2\n"
	    "AS64502@2001:db8::1 x2\n");
	assert_true(k4.mingap >= 3600 && k6.mingap >= 3600);
	a = A("10.2.0.77");
	sweep_key(s, &l4, &a, key, sizeof key);
	assert_string_equal(key, "AS64500");
	sim_free(&s4);
	sim_free(&s6);
	sweep_free(s);
	prefixes_free(p);
}

/* A /16 every hour would need 18 q/s: max_qps 5 stretches the cycle, never a second above
 * 5, also with a burst of urgent IPs; no IP asked twice within the (stretched) cycle. */
static void
test_max_qps(void **state)
{
	struct prefixes *p = space("10.30.0.0/16 AS64500\n");
	struct dnsbl_list l = mklist(name_ip, DNSBL_SCOPE_IP, 3600, 600, 5, 0);
	const struct dnsbl_list *v[] = { &l };
	struct sweep *s = sweep_new_lists(v, 1, p, T0);
	struct sim sim;
	struct rw_addr a;
	uint32_t i;

	(void)state;
	sim_init(&sim, NULL, "10.30.0.0", 65536, 86400);
	run(s, &sim, T0, T0 + 1000);
	/* 300 urgent IPs: a burst at max_qps, then their fast re-checks (0.5 q/s) for a day,
	 * which come before the base sweep (here it keeps ~4.5 q/s: 5 cycles a day) */
	for (i = 0; i < 300; i++) {
		a = A("10.30.200.0");
		a.a[14] = (uint8_t)(200 + i / 256);
		a.a[15] = (uint8_t)i;
		sweep_urgent(s, &a, T0 + 1000);
	}
	run(s, &sim, T0 + 1000, T0 + 86400);
	assert_int_equal(max_per_second(&sim), 5);
	assert_true(sim.mingap >= 600);		/* urgent and fast re-checks: fast interval */
	for (i = 0; i < 65536; i++)
		if (sim.count[i] < 5)
			fail_msg("10.30.%u.%u asked only %u times", i >> 8, i & 255, sim.count[i]);
	assert_int_equal(sim.late_next, 0);
	sim_free(&sim);

	/* base keys only (nothing active): the gaps are the stretched cycle */
	sweep_free(s);
	s = sweep_new_lists(v, 1, p, T0);
	sim_init(&sim, NULL, "10.30.0.0", 65536, 2 * 86400);
	run(s, &sim, T0, T0 + 2 * 86400);
	assert_int_equal(max_per_second(&sim), 5);
	assert_true(sim.mingap >= 65536 * 10 / 45);
	sim_free(&sim);
	sweep_free(s);
	prefixes_free(p);
}

/* More active IPs than the budget can re-check at their fast interval: their re-checks
 * slow down, the base sweep keeps going (at most 1/8 of a cycle late). */
static void
test_active_overload(void **state)
{
	struct prefixes *p = space("10.31.0.0/16 AS64500\n");
	struct dnsbl_list l = mklist(name_ip, DNSBL_SCOPE_IP, 3600, 600, 5, 0);
	const struct dnsbl_list *v[] = { &l };
	struct sweep *s = sweep_new_lists(v, 1, p, T0);
	struct rw_addr a = A("10.31.0.0");
	struct sim sim;
	uint32_t i, hot_min = UINT32_MAX;
	int64_t cycle = (65536 * 10 + 44) / 45;

	(void)state;
	sim_init(&sim, NULL, "10.31.0.0", 65536, 86400);
	for (i = 0; i < 6000; i++) {	/* 10 q/s of fast re-checks wanted, 5 allowed */
		a.a[14] = (uint8_t)(i >> 8);
		a.a[15] = (uint8_t)i;
		sweep_active(s, &a, T0);
	}
	run(s, &sim, T0, T0 + 86400);
	assert_int_equal(max_per_second(&sim), 5);
	for (i = 6000; i < 65536; i++)
		if (sim.count[i] < (uint32_t)(86400 / (cycle + cycle / 8) - 1))
			fail_msg("10.31.%u.%u asked only %u times", i >> 8, i & 255, sim.count[i]);
	for (i = 0; i < 6000; i++)
		if (sim.count[i] < hot_min)
			hot_min = sim.count[i];
	assert_true(hot_min >= 5);	/* and the active ones still more often than that */
	assert_true(sim.mingap >= 600);
	sim_free(&sim);
	sweep_free(s);
	prefixes_free(p);
}

/* max_per_day holds in every window of 86400 seconds, with the base sweep, fast re-checks
 * of active IPs and a burst of urgent ones all wanting more. */
static void
test_max_per_day(void **state)
{
	struct prefixes *p = space("10.40.0.0/16 AS64500\n");
	struct dnsbl_list l = mklist(name_ip, DNSBL_SCOPE_IP, 3600, 600, 50, 20000);
	const struct dnsbl_list *v[] = { &l };
	struct sweep *s = sweep_new_lists(v, 1, p, T0);
	struct sim sim;
	struct rw_addr a = A("10.40.0.0");
	uint32_t i;

	(void)state;
	sim_init(&sim, NULL, "10.40.0.0", 65536, 3 * 86400);
	for (i = 0; i < 500; i++) {
		a.a[14] = (uint8_t)(100 + i / 256);
		a.a[15] = (uint8_t)i;
		sweep_active(s, &a, T0);
	}
	run(s, &sim, T0, T0 + 40000);
	for (i = 0; i < 5000; i++) {
		a.a[14] = (uint8_t)(150 + i / 256);
		a.a[15] = (uint8_t)i;
		sweep_urgent(s, &a, T0 + 40000);
	}
	run(s, &sim, T0 + 40000, T0 + 3 * 86400);
	if (max_in_window(&sim, 86400) > 20000)
		fail_msg("%llu queries in one day", (unsigned long long)max_in_window(&sim, 86400));
	assert_true(max_per_second(&sim) <= 50);
	/* and the budget is used, not wasted: ~20000 a day */
	assert_true(sim.total > 3 * 19000);
	assert_int_equal(sim.late_next, 0);
	sim_free(&sim);
	sweep_free(s);
	prefixes_free(p);
}

/* Items of one address, in order. */
struct trace {
	struct rw_addr ip;
	const struct dnsbl_list *list;
	int64_t t[512];
	size_t n;
	struct sweep *s;
	uint32_t ttl;		/* answer each of its items at once with this TTL (0: not) */
};

static void
trace_one(struct sim *sim, const struct sweep_item *it, int64_t t)
{
	struct trace *tr = sim->arg;

	if (memcmp(&it->ip, &tr->ip, sizeof tr->ip) != 0 ||
	    (tr->list != NULL && it->list != tr->list))
		return;
	assert_true(tr->n < 512);
	tr->t[tr->n++] = t;
	if (tr->ttl != 0)
		sweep_answered(tr->s, it, tr->ttl, t);
}

static void
test_active_fast(void **state)
{
	struct prefixes *p = space("10.50.0.0/24 AS64500\n2001:db8::/32 AS64500\n");
	struct dnsbl_list l = mklist(name_ip, DNSBL_SCOPE_IP, 86400, 600, 20, 0),
	    l6 = mklist(name_ip2, DNSBL_SCOPE_IP, 86400, 600, 20, 0);
	const struct dnsbl_list *v[] = { &l, &l6 };
	struct sweep *s;
	struct trace tr, tr6;
	struct sim sim;
	struct rw_addr x = A("10.50.0.200"), y = A("2001:db8::25"), far = A("203.0.113.1"),
	    far6 = A("2001:db9::1");
	size_t i;

	(void)state;
	l6.ipv6 = 1;
	s = sweep_new_lists(v, 2, p, T0);
	memset(&tr, 0, sizeof tr);
	tr.ip = x;
	tr.list = &l;
	sim_init(&sim, &l, "10.50.0.0", 256, 4 * 86400);
	sim.each = trace_one;
	sim.arg = &tr;
	/* activity at T0 + 50 and again at T0 + 20000: fast until T0 + 20000 + 1 day */
	run(s, &sim, T0, T0 + 50);
	sweep_active(s, &x, T0 + 50);
	sweep_active(s, &far, T0 + 50);		/* not ours: ignored */
	run(s, &sim, T0 + 50, T0 + 20000);
	sweep_active(s, &x, T0 + 20000);
	run(s, &sim, T0 + 20000, T0 + 4 * 86400);
	/* asked at once, then every 600 s up to the end of its window ... */
	assert_true(tr.n > 2);
	assert_int_equal(tr.t[0], T0 + 50);
	for (i = 1; i < tr.n && tr.t[i] <= T0 + 20000 + 86400; i++)
		assert_int_equal(tr.t[i] - tr.t[i - 1], 600);
	assert_int_equal(i, (20000 + 86400 - 50) / 600 + 1);
	/* ... then by the base sweep only: not within a day of its last fast check */
	assert_true(i < tr.n);
	assert_true(tr.t[i] - tr.t[i - 1] >= 86400);
	for (i++; i < tr.n; i++)
		assert_true(tr.t[i] - tr.t[i - 1] >= 86400);
	/* the other 255 IPs: once a day, by the base */
	assert_int_equal(sim.count[1], 4);
	sim_free(&sim);
	sweep_free(s);

	/* IPv6: only while active, only on the list that takes IPv6 */
	s = sweep_new_lists(v, 2, p, T0);
	memset(&tr6, 0, sizeof tr6);
	tr6.ip = y;
	sim_init(&sim, NULL, NULL, 0, 2 * 86400);
	sim.each = trace_one;
	sim.arg = &tr6;
	sweep_active(s, &y, T0);
	sweep_active(s, &far6, T0);
	run(s, &sim, T0, T0 + 2 * 86400);
	assert_int_equal(tr6.n, 86400 / 600);	/* T0, T0 + 600, ... while active (1 day) */
	sim_free(&sim);
	sweep_free(s);
	prefixes_free(p);
}

/* A TTL longer than the fast interval defers the fast re-check, and an urgent one; a TTL
 * longer than a range list's interval defers its next cycle's query. */
static void
test_ttl_defers(void **state)
{
	struct prefixes *p = space("10.60.0.0/24 AS64500\n10.61.0.0/24 AS64500\n");
	struct dnsbl_list l = mklist(name_ip, DNSBL_SCOPE_IP, 86400, 600, 20, 0),
	    r = mklist(name_range, DNSBL_SCOPE_RANGE, 3600, 3600, 20, 0);
	const struct dnsbl_list *v[] = { &l, &r };
	struct sweep *s = sweep_new_lists(v, 2, p, T0);
	struct sweep_item out[BATCH];
	struct trace tr;
	struct sim sim;
	struct rw_addr x = A("10.60.0.9");
	size_t n, i;

	(void)state;
	memset(&tr, 0, sizeof tr);
	tr.ip = x;
	tr.list = &l;
	tr.s = s;
	tr.ttl = 3600;
	sim_init(&sim, NULL, NULL, 0, 86400);
	sim.each = trace_one;
	sim.arg = &tr;
	run(s, &sim, T0, T0 + 10);
	sweep_active(s, &x, T0 + 10);
	run(s, &sim, T0 + 10, T0 + 20000);
	assert_int_equal(tr.t[0], T0 + 10);
	for (i = 1; i < tr.n; i++)
		assert_int_equal(tr.t[i] - tr.t[i - 1], 3600);
	/* urgent right after an answer: waits for the TTL, then goes first */
	tr.ttl = 0;
	sweep_urgent(s, &x, T0 + 20000);
	n = sweep_due(s, T0 + 20000, out, BATCH);
	for (i = 0; i < n; i++)
		assert_true(memcmp(&out[i].ip, &x, sizeof x) != 0 || out[i].list != &l);
	assert_true(sweep_next(s, T0 + 20000) <= tr.t[tr.n - 1] + 3600);
	sim_free(&sim);
	sweep_free(s);

	/* range list: the answer for 10.61.0.0/24 says 10000 s */
	s = sweep_new_lists(v, 2, p, T0);
	memset(&tr, 0, sizeof tr);
	tr.ip = A("10.61.0.1");
	tr.list = &r;
	tr.s = s;
	tr.ttl = 10000;
	sim_init(&sim, NULL, NULL, 0, 86400);
	sim.each = trace_one;
	sim.arg = &tr;
	run(s, &sim, T0, T0 + 86400);
	assert_true(tr.n >= 2);
	for (i = 1; i < tr.n; i++) {
		assert_true(tr.t[i] - tr.t[i - 1] >= 10000);
		assert_true(tr.t[i] - tr.t[i - 1] <= 10000 + 3600);
	}
	sim_free(&sim);
	sweep_free(s);
	prefixes_free(p);
}

/* With a backlog on two lists, an urgent IP is the first item, on each ip-scope list. */
static void
test_urgent_first(void **state)
{
	struct prefixes *p = space("10.70.0.0/16 AS64500\n");
	struct dnsbl_list a = mklist(name_ip, DNSBL_SCOPE_IP, 3600, 600, 2, 0),
	    b = mklist(name_ip2, DNSBL_SCOPE_IP, 3600, 600, 2, 0),
	    r = mklist(name_range, DNSBL_SCOPE_RANGE, 3600, 3600, 2, 0);
	const struct dnsbl_list *v[] = { &r, &a, &b };
	struct sweep *s = sweep_new_lists(v, 3, p, T0);
	struct sweep_item out[8];
	struct rw_addr x = A("10.70.99.99");
	size_t n;

	(void)state;
	/* build a backlog: nobody called for 100 s */
	sweep_urgent(s, &x, T0 + 100);
	n = sweep_due(s, T0 + 100, out, 1);
	assert_int_equal(n, 1);
	assert_memory_equal(&out[0].ip, &x, sizeof x);
	assert_string_equal(out[0].key, "10.70.99.99");
	n = sweep_due(s, T0 + 100, out, 8);
	assert_true(n >= 1);
	assert_memory_equal(&out[0].ip, &x, sizeof x);
	assert_ptr_not_equal(out[0].list, v[0]);
	/* budgets: 2 per list per second, the urgent ones included */
	assert_int_equal(n, 2 + 2 + 2 - 1);
	assert_int_equal(sweep_due(s, T0 + 100, out, 8), 0);
	assert_int_equal(sweep_next(s, T0 + 100), T0 + 101);
	sweep_free(s);
	prefixes_free(p);
}

/* Items of list l about ip among out[0..n). */
static size_t
count_of(const struct sweep_item *out, size_t n, const struct dnsbl_list *l,
    const struct rw_addr *ip)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (out[i].list == l && memcmp(&out[i].ip, ip, sizeof *ip) == 0)
			k++;
	return k;
}

/* A rejection naming a list: asked again at once past a cached negative answer, first,
 * on that list only; not twice in 10 minutes however many replies come; within budgets. */
static void
test_recheck(void **state)
{
	struct prefixes *p = space("10.80.0.0/24 AS64500\n");
	struct dnsbl_list a = mklist(name_ip, DNSBL_SCOPE_IP, 86400, 3600, 2, 0),
	    b = mklist(name_ip2, DNSBL_SCOPE_IP, 86400, 3600, 2, 0),
	    r = mklist(name_range, DNSBL_SCOPE_RANGE, 3600, 3600, 2, 0);
	const struct dnsbl_list *v[] = { &r, &a, &b };
	struct sweep *s = sweep_new_lists(v, 3, p, T0);
	struct sweep_item out[BATCH], it;
	struct rw_addr x = A("10.80.0.9"), y = A("10.80.0.10"), z = A("10.80.0.11"),
	    outside = A("192.0.2.1");
	size_t n, i, k;
	int64_t t;

	(void)state;
	/* x is asked (urgent) and the list answers NXDOMAIN with a negative TTL of 1 h */
	sweep_urgent(s, &x, T0);
	n = sweep_due(s, T0, out, BATCH);
	assert_int_equal(count_of(out, n, &a, &x), 1);
	for (i = 0; i < n; i++)
		if (out[i].list == &a && memcmp(&out[i].ip, &x, sizeof x) == 0)
			it = out[i];
	sweep_answered(s, &it, 3600, T0);
	/* a minute later the TTL defers it: urgent again gets nothing for x on a */
	sweep_urgent(s, &x, T0 + 60);
	n = sweep_due(s, T0 + 60, out, BATCH);
	assert_int_equal(count_of(out, n, &a, &x), 0);

	/* a rejection naming list a: due at once, first, on a alone */
	assert_int_equal(sweep_recheck(s, &a, &x, T0 + 60), 1);
	assert_int_equal(sweep_next(s, T0 + 60), T0 + 60);
	n = sweep_due(s, T0 + 60, out, 1);
	assert_int_equal(n, 1);
	assert_ptr_equal(out[0].list, &a);
	assert_memory_equal(&out[0].ip, &x, sizeof x);
	assert_string_equal(out[0].key, "10.80.0.9");
	sweep_answered(s, &out[0], 3600, T0 + 60);

	/* a flood of forged replies: nothing more for 10 minutes, one recheck after */
	for (t = T0 + 61, k = 0; t < T0 + 60 + SWEEP_RECHECK_EVERY; t++) {
		assert_int_equal(sweep_recheck(s, &a, &x, t), 0);
		n = sweep_due(s, t, out, BATCH);
		k += count_of(out, n, &a, &x);
	}
	assert_int_equal(k, 0);
	assert_int_equal(sweep_recheck(s, &a, &x, T0 + 60 + SWEEP_RECHECK_EVERY), 1);
	assert_int_equal(sweep_recheck(s, &a, &x, T0 + 60 + SWEEP_RECHECK_EVERY), 0);
	n = sweep_due(s, T0 + 60 + SWEEP_RECHECK_EVERY, out, BATCH);
	assert_int_equal(count_of(out, n, &a, &x), 1);

	/* not an ip-scope list of the schedule, not ours: nothing */
	assert_int_equal(sweep_recheck(s, &r, &x, T0 + 1000), 0);
	assert_int_equal(sweep_recheck(s, &a, &outside, T0 + 1000), 0);

	/* max_qps holds: three rechecks in one second of a 2-a-second list go out 2 + 1 */
	t = T0 + 2000;
	assert_int_equal(sweep_recheck(s, &b, &x, t), 1);
	assert_int_equal(sweep_recheck(s, &b, &y, t), 1);
	assert_int_equal(sweep_recheck(s, &b, &z, t), 1);
	n = sweep_due(s, t, out, BATCH);
	assert_int_equal(count_of(out, n, &b, &x) + count_of(out, n, &b, &y) +
	    count_of(out, n, &b, &z), 2);
	assert_int_equal(sweep_next(s, t), t + 1);
	n = sweep_due(s, t + 1, out, BATCH);
	assert_int_equal(count_of(out, n, &b, &z), 1);
	sweep_free(s);

	/* max_per_day holds: a list with 2 queries a day spent asks nothing more that day */
	a = mklist(name_ip, DNSBL_SCOPE_IP, 86400, 3600, 20, 2);
	v[0] = &a;
	s = sweep_new_lists(v, 1, p, T0);
	assert_int_equal(sweep_recheck(s, &a, &x, T0), 1);
	assert_int_equal(sweep_recheck(s, &a, &y, T0), 1);
	assert_int_equal(sweep_recheck(s, &a, &z, T0), 1);
	n = sweep_due(s, T0, out, BATCH);
	assert_int_equal(n, 2);
	assert_true(sweep_next(s, T0) >= T0 + 86400 - 60);
	assert_int_equal(sweep_due(s, T0 + 3600, out, BATCH), 0);
	sweep_free(s);
	prefixes_free(p);
}

/* A held list asks nothing, and does not burst when let go. */
static void
test_hold(void **state)
{
	struct prefixes *p = space("10.80.0.0/16 AS64500\n");
	struct dnsbl_list l = mklist(name_ip, DNSBL_SCOPE_IP, 86400, 600, 20, 0);
	const struct dnsbl_list *v[] = { &l };
	struct sweep *s = sweep_new_lists(v, 1, p, T0);
	struct sim sim;
	uint64_t done0, done, total;
	int64_t t;

	(void)state;
	sweep_progress(s, &l, &done0, &total);
	assert_int_equal(total, 65536);
	sim_init(&sim, NULL, "10.80.0.0", 65536, 86400);
	run(s, &sim, T0, T0 + 1000);
	sweep_hold(s, &l, 1, T0 + 1000);
	run(s, &sim, T0 + 1000, T0 + 5000);
	for (t = 1000; t < 5000; t++)
		assert_int_equal(sim.per_sec[t], 0);
	assert_true(sweep_next(s, T0 + 1000) == INT64_MAX);
	sweep_hold(s, &l, 0, T0 + 5000);
	run(s, &sim, T0 + 5000, T0 + 86400);
	assert_true(max_per_second(&sim) <= 2);
	sweep_progress(s, &l, &done, &total);
	assert_int_equal(done, (done0 + sim.total) % 65536);
	assert_true(sim.total >= 65536ULL * (86400 - 4000 - 2) / 86400);
	sim_free(&sim);
	sweep_free(s);
	prefixes_free(p);
}

/* A /8 of provider space on four lists: the schedule's size does not grow with the space;
 * active IPs cost a few dozen bytes each, and are freed when quiet. */
static void
test_memory(void **state)
{
	struct prefixes *p = space("10.0.0.0/8 AS64500\n");
	struct dnsbl_list a = mklist(name_ip, DNSBL_SCOPE_IP, 86400, 3600, 20, 0),
	    b = mklist(name_ip2, DNSBL_SCOPE_IP, 86400, 3600, 20, 0),
	    r = mklist(name_range, DNSBL_SCOPE_RANGE, 3600, 3600, 20, 0),
	    n = mklist(name_asn, DNSBL_SCOPE_ASN, 3600, 3600, 20, 0);
	const struct dnsbl_list *v[] = { &a, &b, &r, &n };
	struct sweep *s = sweep_new_lists(v, 4, p, T0);
	struct sweep_item out[BATCH];
	struct rw_addr x = A("10.0.0.0");
	size_t base, hot, again;
	uint32_t i;
	int64_t t;

	(void)state;
	base = sweep_bytes(s);
	for (i = 0; i < 100000; i++) {
		x.a[13] = (uint8_t)(i >> 16);
		x.a[14] = (uint8_t)(i >> 8);
		x.a[15] = (uint8_t)i;
		sweep_active(s, &x, T0);
	}
	hot = sweep_bytes(s);
	print_message("sweep over a /8 on 2 ip + 1 range + 1 asn lists: %zu bytes; "
	    "+100,000 active IPs: %zu bytes (%.1f per active IP, %.1f per IP and list)\n",
	    base, hot, (double)(hot - base) / 1e5, (double)(hot - base) / 2e5);
	assert_true(base < 2 * 1024 * 1024);	/* 65,536 ranges of 12 + 8 bytes dominate */
	assert_true(hot - base < 100000 * 120);
	/* three quiet days later they are gone, and new ones reuse their room */
	for (t = T0; t < T0 + 3 * 86400; t += 3600)
		while (sweep_due(s, t, out, BATCH) == BATCH)
			;
	for (i = 0; i < 100000; i++) {
		x.a[13] = (uint8_t)(100 + (i >> 16));
		x.a[14] = (uint8_t)(i >> 8);
		x.a[15] = (uint8_t)i;
		sweep_active(s, &x, T0 + 3 * 86400);
	}
	again = sweep_bytes(s);
	assert_true(again <= hot + hot / 4);
	sweep_free(s);
	prefixes_free(p);
}

static void
test_empty(void **state)
{
	struct prefixes *p = prefixes_new_empty();
	struct dnsbl_list l = mklist(name_ip, DNSBL_SCOPE_IP, 86400, 600, 20, 0),
	    off = mklist(name_range, DNSBL_SCOPE_RANGE, 3600, 600, 20, 0);
	const struct dnsbl_list *v[] = { &l, &off };
	struct sweep *s;
	struct sweep_item out[4];
	struct rw_addr x = A("192.0.2.1");

	(void)state;
	off.enabled = 0;
	s = sweep_new_lists(v, 2, p, T0);
	assert_non_null(s);
	sweep_active(s, &x, T0);
	assert_int_equal(sweep_due(s, T0 + 10, out, 4), 0);
	assert_true(sweep_next(s, T0) == INT64_MAX);
	sweep_free(s);
	sweep_free(NULL);
	prefixes_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip_scope_day),
		cmocka_unit_test(test_restart_resumes),
		cmocka_unit_test(test_event_driven),
		cmocka_unit_test(test_range_scope),
		cmocka_unit_test(test_asn_scope),
		cmocka_unit_test(test_max_qps),
		cmocka_unit_test(test_recheck),
		cmocka_unit_test(test_active_overload),
		cmocka_unit_test(test_max_per_day),
		cmocka_unit_test(test_active_fast),
		cmocka_unit_test(test_ttl_defers),
		cmocka_unit_test(test_urgent_first),
		cmocka_unit_test(test_hold),
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
