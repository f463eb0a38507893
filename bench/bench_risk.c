/*
 * bench_risk.c — the risk engine at the size we promise: 1M tracked IPs and 100k
 * customers. The space is 10.0.0.0/10 (64 /16s) announced by 4 ASNs; customer i holds the
 * /28 at 10.0.0.0 + 16 i; the first 1M addresses send. Phases, each timed:
 *   1. risk_set_space over the loaded customer map (neighbourhood sizes): set_space_*;
 *   2. risk_observe of 1M IPs, twice an hour apart (the second snapshot has 1% of the IPs
 *      at 50x their rate), then 5000 ip-scope listings: observe_*;
 *   3. risk_evaluate, best of 3: evaluate_*; what it found: flags_*, neighbourhoods.
 * Memory: risk_bytes() and the process's peak RSS. Fixed seed; files under $TMPDIR (or
 * /tmp), removed at the end.
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
	struct risk *r;
	struct risk_counters *cnt;
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
		v4(&a, base + (uint32_t)(rnd() % NIP));
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
	risk_free(r);
	customers_free(c);
	prefixes_free(p);
	return 0;
}
