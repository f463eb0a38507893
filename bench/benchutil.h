/*
 * benchutil.h — what every bench program needs: a seeded PRNG (xorshift64*, the same
 * sequence on every run), a monotonic clock in seconds, and /proc/self/status fields
 * (VmRSS, VmHWM) for memory figures. Header-only, static: one include per program.
 */
#ifndef RW_BENCHUTIL_H
#define RW_BENCHUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t bench_rng = 0x243f6a8885a308d3ULL;

/* The next pseudo-random number. */
static inline uint64_t
rnd(void)
{
	bench_rng ^= bench_rng >> 12;
	bench_rng ^= bench_rng << 25;
	bench_rng ^= bench_rng >> 27;
	return bench_rng * 2685821657736338717ULL;
}

/* Seconds on the monotonic clock. */
static inline double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A /proc/self/status field in kB (VmHWM: peak resident set), -1 when absent. */
static inline long
status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	size_t kl = strlen(key);
	long v = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

#endif
