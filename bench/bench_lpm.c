/*
 * bench_lpm.c — how fast and how big the customer map is at the size we promise: 1M
 * prefixes held by 100k customers. Phases, each measured on its own:
 *   1. customers_load of a generated customers.csv of that size (in a child process, so
 *      its peak memory is its own): customers_*;
 *   2. lpm alone over 1M random prefixes: build time, memory, lookups a second over 10M
 *      lookups (half inside a random prefix, half anywhere in IPv4): lpm_*;
 *   3. the same over 1M prefixes packed into 64 /16s and one IPv6 /32, the shape of a real
 *      provider's space, looked up with addresses from that space: lpm_dense_*.
 * Fixed seed; writes its CSV under $TMPDIR (or /tmp) and removes it.
 *
 * usage: bench_lpm        prints "key: value" lines
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "customers.h"
#include "lpm.h"

#include "benchutil.h"

#define NPREFIX		1000000
#define NCUSTOMER	100000
#define NPROBE		1000000		/* probe addresses, each looked up LOOKUP_PASSES times */
#define LOOKUP_PASSES	10


static uint32_t dense16[64];	/* the /16s of the dense layout, top halves */

/* A prefix as a hosting provider's customers hold them: mostly single IPv4 addresses and
 * small IPv4 blocks, some IPv6 /64s, /128s and /48s. Dense: inside dense16 and
 * 2001:db8::/32 only. */
static void
random_prefix(struct rw_cidr *c, int dense)
{
	uint64_t r = rnd(), h = rnd();
	uint8_t v4[4];
	unsigned pick = (unsigned)(r % 100);
	int i;

	if (pick < 85) {
		if (dense)
			h = (h & 0xffff) | dense16[(h >> 16) % 64];
		for (i = 0; i < 4; i++)
			v4[i] = (uint8_t)(h >> (8 * (3 - i)));
		addr_from_v4(&c->net, v4);
		pick = (unsigned)((r >> 8) % 100);
		c->plen = 96 + (pick < 70 ? 32 : pick < 90 ? 29 + (unsigned)(r >> 16) % 3 :
		    24 + (unsigned)(r >> 16) % 5);
	} else {
		memset(&c->net, 0, sizeof c->net);
		c->net.a[0] = 0x20; c->net.a[1] = 0x01; c->net.a[2] = 0x0d; c->net.a[3] = 0xb8;
		for (i = 4; i < 16; i++)
			c->net.a[i] = (uint8_t)(i < 12 ? h >> (8 * (i - 4)) : rnd());
		if (dense)
			c->net.a[4] = c->net.a[5] = 0;	/* a /48 of it */
		pick = (unsigned)((r >> 8) % 100);
		c->plen = pick < 50 ? 64 : pick < 90 ? 128 : 48;
	}
	addr_mask(&c->net, c->plen);
}

static int
cidr_cmp(const void *va, const void *vb)
{
	const struct rw_cidr *a = va, *b = vb;
	int r = memcmp(a->net.a, b->net.a, 16);

	return r != 0 ? r : (a->plen > b->plen) - (a->plen < b->plen);
}

/* NPREFIX distinct random prefixes, shuffled. */
static struct rw_cidr *
make_prefixes(int dense)
{
	size_t want = NPREFIX + NPREFIX / 5, n = 0, i, j;
	struct rw_cidr *p = malloc(want * sizeof *p), t;

	if (p == NULL)
		return NULL;
	for (i = 0; i < want; i++)
		random_prefix(&p[i], dense);
	qsort(p, want, sizeof *p, cidr_cmp);
	for (i = 0; i < want; i++)
		if (n == 0 || cidr_cmp(&p[n - 1], &p[i]) != 0)
			p[n++] = p[i];
	if (n < NPREFIX) {
		free(p);
		return NULL;
	}
	for (i = n - 1; i > 0; i--) {
		j = (size_t)(rnd() % (i + 1));
		t = p[i];
		p[i] = p[j];
		p[j] = t;
	}
	return p;
}

/* Builds a table of p and looks up NPROBE addresses LOOKUP_PASSES times; half of them
 * inside a random prefix of p, half random IPv4 (dense: random in the dense /16s). */
static int
bench_lpm(const struct rw_cidr *p, const char *name, int dense)
{
	struct rw_addr *probe;
	struct lpm *t;
	double t0, t1;
	uint64_t hits = 0;
	uint32_t v, sum = 0;
	size_t i, k, pass;
	char err[256];

	long rss0 = status_kb("VmRSS");

	t = lpm_new();
	if (t == NULL)
		return -1;
	t0 = now_s();
	for (i = 0; i < NPREFIX; i++)
		if (lpm_add(t, &p[i], (uint32_t)(i % NCUSTOMER)) == -1)
			return -1;
	if (lpm_build(t, err, sizeof err) == -1) {
		fprintf(stderr, "bench_lpm: %s\n", err);
		return -1;
	}
	t1 = now_s();
	printf("%s_prefixes: %d\n", name, NPREFIX);
	printf("%s_build_ms: %.0f\n", name, (t1 - t0) * 1e3);
	/* the peak also holds the bench's own prefix array (and the sort's scratch space that
	 * made it); the delta is the table alone */
	printf("%s_vmhwm_kb: %ld\n", name, status_kb("VmHWM"));
	printf("%s_rss_delta_kb: %ld\n", name, status_kb("VmRSS") - rss0);

	probe = malloc(NPROBE * sizeof *probe);
	if (probe == NULL)
		return -1;
	for (i = 0; i < NPROBE; i++) {
		if (i % 2 == 0) {
			/* inside a random prefix: random host bits */
			const struct rw_cidr *c = &p[rnd() % NPREFIX];

			probe[i] = c->net;
			for (k = c->plen / 8; k < 16; k++)
				probe[i].a[k] |= (uint8_t)rnd() &
				    (uint8_t)(k * 8 >= c->plen ? 0xff : 0xff >> (c->plen - k * 8));
		} else {
			uint8_t v4[4];
			uint64_t r = rnd();

			if (dense)
				r = (r & 0xffff) | dense16[(r >> 16) % 64];
			for (k = 0; k < 4; k++)
				v4[k] = (uint8_t)(r >> (8 * (3 - k)));
			addr_from_v4(&probe[i], v4);
		}
	}
	t0 = now_s();
	for (pass = 0; pass < LOOKUP_PASSES; pass++)
		for (i = 0; i < NPROBE; i++)
			if (lpm_lookup(t, &probe[i], &v)) {
				hits++;
				sum += v;
			}
	t1 = now_s();
	printf("%s_lookups: %d\n", name, NPROBE * LOOKUP_PASSES);
	printf("%s_lookups_per_s: %.0f\n", name, NPROBE * LOOKUP_PASSES / (t1 - t0));
	printf("%s_ns_per_lookup: %.1f\n", name, (t1 - t0) * 1e9 / (NPROBE * LOOKUP_PASSES));
	printf("%s_hit_ratio: %.3f\n", name, (double)hits / (NPROBE * LOOKUP_PASSES));
	if (sum == 1)	/* keeps the loop from being optimised away */
		printf("\n");
	free(probe);
	lpm_free(t);
	return 0;
}

/* Writes a customers.csv holding p, NPREFIX / NCUSTOMER prefixes a customer, and times
 * customers_load on it. */
static int
bench_customers(const struct rw_cidr *p, const char *path)
{
	struct customers *c = NULL;
	FILE *f;
	double t0, t1;
	long size, rss0;
	size_t i, k, per = NPREFIX / NCUSTOMER;
	char buf[CIDR_STRLEN], err[512];

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs("id,name,cidrs,contact,tags\n", f);
	for (i = 0; i < NCUSTOMER; i++) {
		fprintf(f, "%zu,\"Customer %zu, Ltd\",", 100000 + i, i);
		for (k = 0; k < per; k++)
			fprintf(f, "%s%s", k ? " " : "",
			    cidr_format(&p[i * per + k], buf, sizeof buf));
		fprintf(f, ",abuse@c%zu.example,%s\n", i, i % 50 == 0 ? "never_suspend" : "");
	}
	size = ftell(f);
	if (fclose(f) != 0)
		return -1;
	rss0 = status_kb("VmRSS");
	t0 = now_s();
	if (customers_load(path, &c, err, sizeof err) == -1) {
		fprintf(stderr, "bench_lpm: %s\n", err);
		return -1;
	}
	t1 = now_s();
	printf("customers: %zu\n", customers_count(c));
	printf("customers_prefixes: %d\n", NPREFIX);
	printf("customers_csv_bytes: %ld\n", size);
	printf("customers_load_ms: %.0f\n", (t1 - t0) * 1e3);
	printf("customers_vmhwm_kb: %ld\n", status_kb("VmHWM"));
	printf("customers_rss_delta_kb: %ld\n", status_kb("VmRSS") - rss0);
	customers_free(c);
	return 0;
}

/* Runs one phase in a child, so each phase's memory figures are its own. 0 when it
 * succeeded. */
static int
phase(int which, const char *csv)
{
	struct rw_cidr *p;
	pid_t pid;
	int status, ret;

	fflush(stdout);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		if ((p = make_prefixes(which == 2)) == NULL) {
			fprintf(stderr, "bench_lpm: cannot make the prefixes\n");
			_exit(1);
		}
		if (which == 0) {
			ret = bench_customers(p, csv);
			unlink(csv);
		} else
			ret = bench_lpm(p, which == 1 ? "lpm" : "lpm_dense", which == 2);
		free(p);
		fflush(stdout);
		_exit(ret == 0 ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return 0;
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	char csv[512];
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < 64; i++)
		dense16[i] = (uint32_t)(rnd() & 0xffff0000);	/* a repeat only makes it denser */
	snprintf(csv, sizeof csv, "%s/bench_lpm.%d.csv", tmp ? tmp : "/tmp", (int)getpid());
	for (i = 0; i < 3; i++) {
		if (phase(i, csv) == -1) {
			fprintf(stderr, "bench_lpm: phase %d failed\n", i + 1);
			return 1;
		}
	}
	return 0;
}
