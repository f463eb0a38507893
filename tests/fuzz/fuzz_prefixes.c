/*
 * fuzz_prefixes.c — libFuzzer target for the prefixes.txt loader (line reader, CIDR and ASN parsing, both prefix tables).
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
#include "fuzzfile.h"
#include "prefixes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Each prefix's first address resolves to a prefix of its kind at least as specific that
 * contains it, and its range contains it. */
static void
exercise(const struct prefixes *p)
{
	const struct prefix *pf, *got;
	struct rw_cidr r;
	size_t i;

	for (i = 0; i < prefixes_count(p); i++) {
		pf = prefixes_get(p, i);
		got = pf->alloc ? prefixes_alloc(p, &pf->cidr.net) :
		    prefixes_announced(p, &pf->cidr.net);
		if (got == NULL || got->alloc != pf->alloc || got->cidr.plen < pf->cidr.plen ||
		    !cidr_contains(&got->cidr, &pf->cidr.net))
			abort();
		if (!pf->alloc && prefixes_asn(p, &pf->cidr.net) != got->asn)
			abort();
		prefixes_range(p, &pf->cidr.net, &r);
		if (!cidr_contains(&r, &pf->cidr.net))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct prefixes *c = NULL;
	const char *path;
	char err[1024] = "";

	if ((path = fuzzfile_put("fuzz_prefixes", data, size)) == NULL)
		return 0;
	if (prefixes_load(path, &c, err, sizeof err) == -1) {
		if (c != NULL || err[0] == '\0')
			abort();	/* a failure frees everything and says why */
		return 0;
	}
	exercise(c);
	prefixes_free(c);
	return 0;
}
