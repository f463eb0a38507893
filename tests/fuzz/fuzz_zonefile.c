/*
 * fuzz_zonefile.c — libFuzzer target for the rbldnsd-format zone file reader (lines,
 * specials, values, IPv4 prefixes and ranges, IPv6 prefixes, exclusions, the two prefix
 * tables, "$" expansion) and its refresh.
 * Each input is written to one temporary file (made on the first run) and loaded. What
 * loads is looked up: every line's first word that is an address, and a few fixed ones,
 * into a large and a tiny TXT buffer. Then the file is replaced by the input's first half
 * and refreshed: a refresh that fails must leave every answer as it was.
 * A load may fail, but never crash, leak or overrun, and a failure leaves a message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "fuzzfile.h"
#include "zonefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PROBES	48

/* The addresses to ask: fixed ones, then each line's first word (after a '!') that parses. */
static size_t
probes(const uint8_t *data, size_t size, struct rw_addr *out, size_t max)
{
	static const char *const fixed[] = { "0.0.0.0", "10.0.0.1", "127.0.0.2", "1.2.3.4",
	    "255.255.255.255", "::", "::1", "2001:db8::1", "ffff::ffff" };
	char word[64];
	size_t n = 0, i = 0, k;

	for (k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
		if (addr_parse(fixed[k], &out[n]) == 0)
			n++;
	while (i < size && n < max) {
		while (i < size && (data[i] == ' ' || data[i] == '\t' || data[i] == '!'))
			i++;
		for (k = 0; i < size && k + 1 < sizeof word && data[i] != ' ' && data[i] != '\t' &&
		    data[i] != '\n' && data[i] != '/' && data[i] != '-';
		    i++, k++)
			word[k] = (char)data[i];
		word[k] = '\0';
		if (k > 0 && addr_parse(word, &out[n]) == 0)
			n++;
		while (i < size && data[i] != '\n')
			i++;
		i++;
	}
	return n;
}

/* Asks every probe; the answers go to codes (0: not listed). */
static void
ask(const struct zonefile *z, const struct rw_addr *p, size_t n, uint32_t *codes)
{
	char big[512], tiny[5];
	uint32_t a, b;
	size_t i;
	int r, r2;

	for (i = 0; i < n; i++) {
		memset(big, 'X', sizeof big);
		r = zonefile_lookup(z, &p[i], &a, big, sizeof big);
		if ((r != 0 && r != 1) || memchr(big, '\0', sizeof big) == NULL ||
		    (r == 0 && big[0] != '\0') || (r == 1 && a == 0))
			abort();
		r2 = zonefile_lookup(z, &p[i], &b, tiny, sizeof tiny);
		if (r2 != r || (r && b != a) || strlen(tiny) >= sizeof tiny ||
		    strncmp(tiny, big, strlen(tiny)) != 0)
			abort();
		codes[i] = r ? a : 0;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct zonefile *z = NULL;
	struct rw_addr p[PROBES];
	uint32_t before[PROBES], after[PROBES];
	const char *path;
	char err[1024] = "";
	size_t n;
	int r;

	if ((path = fuzzfile_put("fuzz_zonefile", data, size)) == NULL)
		return 0;
	if (zonefile_load(path, &z, err, sizeof err) == -1) {
		if (z != NULL || err[0] == '\0' || strncmp(err, path, strlen(path)) != 0)
			abort();	/* a failure frees everything and says where */
		return 0;
	}
	n = probes(data, size, p, PROBES);
	ask(z, p, n, before);
	if (zonefile_count(z) > size * 64 + 1)
		abort();	/* a line makes at most 62 CIDRs */

	if (fuzzfile_put("fuzz_zonefile", data, size / 2) != NULL) {
		r = zonefile_refresh(z, err, sizeof err);
		if (r < -1 || r > 1)
			abort();
		if (r == -1) {
			ask(z, p, n, after);
			if (memcmp(before, after, n * sizeof before[0]) != 0 ||
			    zonefile_broken(z) == NULL)
				abort();	/* a broken new file keeps the old data */
		} else if (zonefile_broken(z) != NULL)
			abort();
	}
	zonefile_free(z);
	return 0;
}
