/*
 * fuzz_prefixes.c — libFuzzer target for the prefixes.txt loader (line reader, CIDR and ASN parsing, both prefix tables).
 * The loader reads a file, so each input is written to one temporary file (made on the first
 * run, rewritten on every run) and loaded; whatever loads is exercised a little and freed.
 * A load may fail (most inputs are not valid), but it must never crash, leak or overrun, and
 * a failure must leave a message.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "prefixes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

/* Writes data to the temporary file, made once. -1 on a write error. */
static int
put(const uint8_t *data, size_t size)
{
	size_t off = 0;
	ssize_t w;
	int fd;

	if (path[0] == '\0') {
		snprintf(path, sizeof path, "/tmp/fuzz_prefixes.XXXXXX");
		if ((fd = mkstemp(path)) == -1)
			abort();
		close(fd);
	}
	if ((fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)) == -1)
		return -1;
	while (off < size) {
		if ((w = write(fd, data + off, size - off)) <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	close(fd);
	return 0;
}

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
	char err[1024] = "";

	if (put(data, size) == -1)
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
