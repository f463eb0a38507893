/*
 * bench_risk.c — the risk engine at the size we promise: 1M tracked IPs and 100k
 * customers. The space is 10.0.0.0/10 (64 /16s) announced by 4 ASNs; customer i holds the
 * /28 at 10.0.0.0 + 16 i; the first 1M addresses send. Phases, each timed:
 *   1. risk_set_space over the loaded customer map (neighbourhood sizes): set_space_*;
 *   2. risk_observe of 1M IPs, twice an hour apart (the second snapshot has 1% of the IPs
 *      at 50x their rate), then 5000 ip-scope listings: observe_*;
 *   3. risk_evaluate, best of 3: evaluate_*; what it found: flags_*, neighbourhoods.
 * Memory: risk_bytes() and the process's peak RSS (after phase 3).
 *   4. the restart path: risk_export_dirty of the 1M changed IPs into memory (what the
 *      daemon hands to the store), then risk_import of all of them into a new engine over
 *      the same space: state_*, export_*, import_*. The new engine, given the same
 *      listings, must evaluate to the same flags and neighbourhoods (import_check), and
 *      a second export of the first must find nothing.
 * Fixed seed; files under $TMPDIR (or /tmp), removed at the end.
 *
 * usage: bench_risk        prints "key: value" lines
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "customers.h"
#include "prefixes.h"
#include "risk.h"

#include "benchutil.h"

#define NIP		1000000
#define NCUSTOMER	100000
#define NLISTED		5000
#define T0		1717200000LL

/* The exported states, packed: ip[i] and its len bytes at st + i x len. */
struct dump {
	struct rw_addr *ip;
	uint8_t *st;
	size_t n, len;
	int bad;		/* a state of another length, or too many */
};

static void
dump_cb(void *arg, const struct rw_addr *ip, const void *state, size_t len)
{
	struct dump *d = arg;

	if (d->n == 0 && d->len == 0)
		d->len = len;
	if (len != d->len || d->n == NIP) {
		d->bad = 1;
		return;
	}
	d->ip[d->n] = *ip;
	memcpy(d->st + d->n * d->len, state, len);
	d->n++;
}

static void
v4(struct rw_addr *a, uint32_t x)
{
	uint8_t b[4] = { (uint8_t)(x >> 24), (uint8_t)(x >> 16), (uint8_t)(x >> 8), (uint8_t)x };

	addr_from_v4(a, b);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char ppath[256], cpath[256], err[256];
	struct prefixes *p = NULL;
	struct customers *c = NULL;
	struct risk_config cfg;
	struct risk *r, *r2;
	struct risk_counters *cnt;
	struct dump d = { .n = 0 };
	uint32_t listed[NLISTED];
	size_t nexp, nflags, nnb;
	enum risk_level top;
	struct rw_addr a;
	FILE *f;
	double t, best = 1e9;
	uint32_t base = 10u << 24;
	size_t i;
	int k;

	snprintf(ppath, sizeof ppath, "%s/bench_risk_prefixes.%d", tmp, (int)getpid());
	snprintf(cpath, sizeof cpath, "%s/bench_risk_customers.%d", tmp, (int)getpid());
	if ((f = fopen(ppath, "we")) == NULL)
		return 1;
	for (i = 0; i < 64; i++)
		fprintf(f, "10.%zu.0.0/16 %zu\n", i, 64500 + i / 16);
	fclose(f);
	if ((f = fopen(cpath, "we")) == NULL)
		return 1;
	fprintf(f, "id,name,cidrs,contact,tags\n");
	for (i = 0; i < NCUSTOMER; i++) {
		uint32_t x = base + (uint32_t)i * 16;
		fprintf(f, "c%zu,Customer %zu,%u.%u.%u.%u/28,abuse@example.net,\n", i, i,
		    x >> 24, x >> 16 & 255, x >> 8 & 255, x & 255);
	}
	fclose(f);
	if (prefixes_load(ppath, &p, err, sizeof err) == -1 ||
	    customers_load(cpath, &c, err, sizeof err) == -1) {
		fprintf(stderr, "bench_risk: %s\n", err);
		return 1;
	}
	unlink(ppath);
	unlink(cpath);

	risk_config_init(&cfg);
	if ((r = risk_new(&cfg, err, sizeof err)) == NULL) {
		fprintf(stderr, "bench_risk: %s\n", err);
		return 1;
	}
	t = now_s();
	if (risk_set_space(r, p, c, err, sizeof err) == -1)
		return 1;
	printf("set_space_ms: %.1f\n", (now_s() - t) * 1e3);

	if ((cnt = calloc(NIP, sizeof *cnt)) == NULL)
		return 1;
	t = now_s();
	for (k = 0; k < 2; k++)
		for (i = 0; i < NIP; i++) {
			uint32_t n = 5 + (uint32_t)(rnd() % 20);
			if (k == 1 && rnd() % 100 == 0)
				n *= 50;
			cnt[i].connections += n;
			cnt[i].rcpt += n * 2;
			cnt[i].distinct_dst += n / 5 + 1;
			v4(&a, base + (uint32_t)i);
			if (risk_observe(r, &a, &cnt[i], T0 + 1800 + k * 3600) == -1)
				return 1;
		}
	t = now_s() - t;
	printf("observe_ips: %d\n", NIP);
	printf("observe_per_s: %.0f\n", 2.0 * NIP / t);
	for (i = 0; i < NLISTED; i++) {
		listed[i] = base + (uint32_t)(rnd() % NIP);
		v4(&a, listed[i]);
		risk_listing(r, "uceprotect-1", &a, 1, T0, T0 + 3600);
	}
	for (k = 0; k < 3; k++) {
		t = now_s();
		if (risk_evaluate(r, T0 + 2 * 3600) == -1)
			return 1;
		t = now_s() - t;
		if (t < best)
			best = t;
	}
	printf("evaluate_ms: %.1f\n", best * 1e3);
	printf("flags: %zu\n", risk_flag_count(r));
	if (risk_flag_count(r) > 0)
		printf("flags_top_level: %s\n", risk_level_name(risk_flag_at(r, 0)->level));
	printf("neighbourhoods: %zu\n", risk_nb_count(r));
	printf("risk_bytes_mb: %.1f\n", risk_bytes(r) / 1048576.0);
	printf("risk_bytes_per_ip: %.0f\n", (double)risk_bytes(r) / NIP);
	printf("peak_rss_mb: %.1f\n", status_kb("VmHWM") / 1024.0);
	free(cnt);

	/* 4. export the 1M changed states, import them into a fresh engine */
	nflags = risk_flag_count(r);
	nnb = risk_nb_count(r);
	top = nflags > 0 ? risk_flag_at(r, 0)->level : RISK_NONE;
	if ((d.ip = calloc(NIP, sizeof *d.ip)) == NULL ||
	    (d.st = malloc((size_t)NIP * RISK_STATE_MAX)) == NULL)
		return 1;
	t = now_s();
	nexp = risk_export_dirty(r, dump_cb, &d);
	t = now_s() - t;
	if (d.bad || nexp != NIP || d.n != NIP || d.len == 0 || d.len > RISK_STATE_MAX) {
		fprintf(stderr, "bench_risk: exported %zu states (%zu kept, %zu bytes each), "
		    "want %d\n", nexp, d.n, d.len, NIP);
		return 1;
	}
	printf("state_bytes: %zu\n", d.len);
	printf("export_states: %zu\n", nexp);
	printf("export_ms: %.1f\n", t * 1e3);
	printf("export_per_s: %.0f\n", nexp / t);
	if (risk_export_dirty(r, dump_cb, &d) != 0) {
		fprintf(stderr, "bench_risk: a second export found states again\n");
		return 1;
	}
	if ((r2 = risk_new(&cfg, err, sizeof err)) == NULL ||
	    risk_set_space(r2, p, c, err, sizeof err) == -1) {
		fprintf(stderr, "bench_risk: %s\n", err);
		return 1;
	}
	t = now_s();
	for (i = 0; i < d.n; i++)
		if (risk_import(r2, &d.ip[i], d.st + i * d.len, d.len, err, sizeof err) == -1) {
			fprintf(stderr, "bench_risk: import %zu: %s\n", i, err);
			return 1;
		}
	t = now_s() - t;
	printf("import_ms: %.1f\n", t * 1e3);
	printf("import_per_s: %.0f\n", d.n / t);
	for (i = 0; i < NLISTED; i++) {
		v4(&a, listed[i]);
		risk_listing(r2, "uceprotect-1", &a, 1, T0, T0 + 3600);
	}
	if (risk_evaluate(r2, T0 + 2 * 3600) == -1)
		return 1;
	if (risk_ip_count(r2) != risk_ip_count(r) || risk_flag_count(r2) != nflags ||
	    risk_nb_count(r2) != nnb ||
	    (nflags > 0 && risk_flag_at(r2, 0)->level != top)) {
		fprintf(stderr, "bench_risk: the imported engine differs: %zu IPs, %zu flags, "
		    "%zu neighbourhoods (want %zu, %zu, %zu)\n", risk_ip_count(r2),
		    risk_flag_count(r2), risk_nb_count(r2), risk_ip_count(r), nflags, nnb);
		return 1;
	}
	printf("import_check: same flags and neighbourhoods\n");
	free(d.ip);
	free(d.st);
	risk_free(r2);
	risk_free(r);
	customers_free(c);
	prefixes_free(p);
	return 0;
}
