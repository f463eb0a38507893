/*
 * fuzz_dnsbl_lists.c — libFuzzer target for the dnsbl.conf loader (inih with our line
 * reader, [list "NAME"] sections, the key table, answer sets, codes, durations) and for
 * dnsbl_classify over what loads.
 * Each input is written to one temporary file (made on the first run, rewritten on every
 * run) and loaded. What loads is checked against the rules the loader promises: a zone
 * and a scope on every list, names found again by name, sets inside 127/8, refusal codes
 * first, 127.0.0.1 never listed, fast_interval within interval.
 * A load may fail, but never crash, leak or overrun, and a failure names the file.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsbl_lists.h"
#include "fuzzfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_set(const struct dnsbl_answers *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (s->range[i][0] > s->range[i][1] || (s->range[i][0] >> 24) != 127 ||
		    (s->range[i][1] >> 24) != 127)
			abort();
		if (i > 0 && s->range[i][0] <= s->range[i - 1][1])
			abort();	/* sorted and merged */
	}
}

static void
exercise(const struct dnsbl_lists *ls)
{
	static const uint32_t probes[] = { 0, 0x7f000001, 0x7f000002, 0x7f000004, 0x7f00000a,
	    0x7f0000ff, 0x7fffff00, 0x7ffffffe, 0x7fffffff, 0x80000002, 0x0a000002, 0xffffffff };
	const struct dnsbl_list *l;
	enum dnsbl_verdict v;
	size_t i, k, n = 0;

	for (i = 0; i < dnsbl_lists_count(ls); i++) {
		l = dnsbl_lists_get(ls, i);
		if (l == NULL || l->name == NULL || l->zone == NULL || l->ncites > DNSBL_CITES_MAX ||
		    dnsbl_lists_find(ls, l->name) != l || l->fast_interval > l->interval ||
		    l->max_qps == 0 || l->line == 0)
			abort();
		n += strlen(l->name) + strlen(l->zone) + (l->file != NULL ? strlen(l->file) : 0);
		for (k = 0; k < l->ncites; k++) {
			size_t cl = strlen(l->cites[k].text);

			if (cl < 3 || cl > DNSBL_CITE_LEN || l->cites[k].line == 0)
				abort();
			n += cl;
		}
		n += strlen(dnsbl_scope_name(l->scope));
		check_set(&l->listed);
		check_set(&l->blocked);
		for (k = 0; k < l->ncodes; k++) {
			if (l->codes[k].meaning == NULL ||
			    dnsbl_code_meaning(l, l->codes[k].addr) == NULL)
				abort();
			n += strlen(l->codes[k].meaning);
		}
		for (k = 0; k < sizeof probes / sizeof probes[0]; k++) {
			v = dnsbl_classify(l, probes[k]);
			if (v == DNSBL_V_LISTED && ((probes[k] >> 24) != 127 ||
			    probes[k] == 0x7f000001))
				abort();
		}
	}
	if (dnsbl_lists_get(ls, dnsbl_lists_count(ls)) != NULL || n == SIZE_MAX)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnsbl_lists *ls = NULL;
	const char *path;
	char err[1024] = "";

	if ((path = fuzzfile_put("fuzz_dnsbl_lists", data, size)) == NULL)
		return 0;
	if (dnsbl_lists_load(path, &ls, err, sizeof err) == -1) {
		if (ls != NULL || strncmp(err, path, strlen(path)) != 0)
			abort();	/* a failure frees everything and names the file */
		return 0;
	}
	exercise(ls);
	dnsbl_lists_free(ls);
	return 0;
}
