/*
 * fuzz_snds.c — libFuzzer target for the SNDS parsers (probes/snds.c): the data CSV and the
 * IP-status list, both on the same bytes, exactly as long as libFuzzer made them. What comes
 * out must keep snds.h's promises: activity end not before its start, a filter of the four,
 * a complaint rate of -1 or a fraction, text fields escaped (no control character), a range
 * whose first address is not past its last, and counts that add up.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snds.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t nrows, nranges, nerrs;

static void
on_row(void *arg, const struct snds_row *r)
{
	(void)arg;
	nrows++;
	if (r->end < r->start || r->filter > SNDS_F_RED || (r->complaint != -1 &&
	    (r->complaint < 0 || r->complaint > 1)) || (r->trap_hits > 0 && r->trap_start == 0))
		abort();
	if (!text_is_clean(r->helo, strlen(r->helo)) || !text_is_clean(r->mail_from,
	    strlen(r->mail_from)) || !text_is_clean(r->comment, strlen(r->comment)))
		abort();
}

static void
on_range(void *arg, const struct snds_range *r)
{
	(void)arg;
	nranges++;
	if (addr_cmp(&r->first, &r->last) > 0 || !text_is_clean(r->reason, strlen(r->reason)))
		abort();
}

static void
on_err(void *arg, size_t row, const char *msg)
{
	(void)arg;
	nerrs++;
	if (row == 0 || !text_is_clean(msg, strlen(msg)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct snds_result res;

	nrows = nranges = nerrs = 0;
	snds_parse_data((const char *)data, size, on_row, on_err, NULL, &res);
	if (res.rows != nrows || res.bad != nerrs)
		abort();
	nerrs = 0;
	snds_parse_status((const char *)data, size, on_range, on_err, NULL, &res);
	if (res.rows != nranges || res.bad != nerrs)
		abort();
	return 0;
}
