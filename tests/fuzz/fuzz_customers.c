/*
 * fuzz_customers.c — libFuzzer target for the customers.csv loader (RFC 4180 reader, id hash, CIDR parsing, the prefix table).
 * The loader reads a file, so each input is written to one temporary file (made on the first
 * run, rewritten on every run) and loaded; whatever loads is exercised a little and freed.
 * A load may fail (most inputs are not valid), but it must never crash, leak or overrun, and
 * a failure must leave a message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "customers.h"
#include "fuzzfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Each customer is found by its id, and each of its prefixes' first address resolves to a
 * customer holding a prefix at least as specific that contains it. */
static void
exercise(const struct customers *c)
{
	const struct customer *cu, *got;
	size_t i, j, k;
	long at;
	int ok;

	for (i = 0; i < customers_count(c); i++) {
		cu = customers_get(c, i);
		if (customers_find(c, cu->id) != (long)i)
			abort();
		for (j = 0; j < cu->ntags; j++)
			if (!customer_has_tag(cu, cu->tags[j]))
				abort();
		for (j = 0; j < cu->ncidrs; j++) {
			at = customers_lookup(c, &cu->cidrs[j].net);
			if (at < 0 || (got = customers_get(c, (size_t)at)) == NULL)
				abort();
			for (ok = 0, k = 0; k < got->ncidrs && !ok; k++)
				ok = cidr_contains(&got->cidrs[k], &cu->cidrs[j].net) &&
				    got->cidrs[k].plen >= cu->cidrs[j].plen;
			if (!ok)
				abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct customers *c = NULL;
	const char *path;
	char err[1024] = "";

	if ((path = fuzzfile_put("fuzz_customers", data, size)) == NULL)
		return 0;
	if (customers_load(path, &c, err, sizeof err) == -1) {
		if (c != NULL || err[0] == '\0')
			abort();	/* a failure frees everything and says why */
		return 0;
	}
	exercise(c);
	customers_free(c);
	return 0;
}
