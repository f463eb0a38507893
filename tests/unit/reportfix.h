/*
 * reportfix.h — a flag (struct report, monitor/report.h) filled by hand, for the tests of
 * what reads one (alert, actions) without a model behind it. Everything is malloc'd as
 * report_new() would, so that report_free() frees it (and ASan sees a leak or a double
 * free). Header-only, static inline; include it after <cmocka.h>; helpers are rf_*.
 */
#ifndef RW_TEST_REPORTFIX_H
#define RW_TEST_REPORTFIX_H

#include <stdlib.h>
#include <string.h>

#include "report.h"

/* Grows array *v of *n items of size by one zeroed item; returns it. */
static inline void *
rf_push(void *v, size_t *n, size_t size)
{
	char *nv = realloc(*(void **)v, (*n + 1) * size);

	assert_non_null(nv);
	*(void **)v = nv;
	memset(nv + *n * size, 0, size);
	return nv + (*n)++ * size;
}

/* *field = a copy of s (NULL: NULL), the old value freed. */
static inline void
rf_set(char **field, const char *s)
{
	free(*field);
	*field = s != NULL ? strdup(s) : NULL;
	assert_true(s == NULL || *field != NULL);
}

/* Customer id "name" at level (was previous), score; its contact, no tags, no CIDRs, no
 * evidence; the addresses count as gathered (the detail shape) though there are none. */
static inline struct report *
rf_new(const char *id, const char *name, enum risk_level level, enum risk_level previous,
    double score)
{
	struct report *r = calloc(1, sizeof *r);

	assert_non_null(r);
	rf_set(&r->id, id);
	rf_set(&r->name, name);
	rf_set(&r->contact, "abuse@example.net");
	r->level = level;
	r->previous = previous;
	r->score = score;
	r->has_addresses = 1;
	return r;
}

/* One more evidence line; the first is also the reason, as the engine makes them. */
static inline void
rf_evidence(struct report *r, const char *line)
{
	char **e = rf_push(&r->evidence, &r->nevidence, sizeof *r->evidence);

	rf_set(e, line);
	if (r->reason == NULL)
		rf_set(&r->reason, line);
}

static inline void
rf_tag(struct report *r, const char *tag)
{
	rf_set(rf_push(&r->tags, &r->ntags, sizeof *r->tags), tag);
}

static inline void
rf_cidr(struct report *r, const char *cidr)
{
	struct rw_cidr *c = rf_push(&r->cidrs, &r->ncidrs, sizeof *r->cidrs);

	assert_int_equal(cidr_parse(cidr, c, 0), 0);
}

/* A neighbourhood with impacts of threshold (pressure and projected from them); no
 * forecast (eta_threshold -1, clear_at 0), list count unknown. */
static inline struct report_nb *
rf_nb(struct report *r, const char *policy, enum risk_scope scope, const char *key,
    uint32_t impacts, uint32_t threshold)
{
	struct report_nb *nb = rf_push(&r->nb, &r->nnb, sizeof *r->nb);

	rf_set(&nb->policy, policy);
	nb->scope = scope;
	snprintf(nb->key, sizeof nb->key, "%s", key);
	nb->impacts = impacts;
	nb->threshold = threshold;
	nb->pressure = nb->projected = threshold > 0 ? (double)impacts / threshold : 0;
	nb->eta_threshold = -1;
	nb->list_count = -1;
	return nb;
}

/* An address that sent (the counters zero until the test sets them). */
static inline struct report_addr *
rf_addr(struct report *r, const char *ip)
{
	struct report_addr *ad = rf_push(&r->addr, &r->naddr, sizeof *r->addr);

	snprintf(ad->ip, sizeof ad->ip, "%s", ip);
	ad->sent = 1;
	return ad;
}

static inline struct report_listing *
rf_listing(struct report_addr *ad, const char *list, int listed, const char *codes,
    const char *txt, int64_t first_seen, int64_t last_seen)
{
	struct report_listing *l = rf_push(&ad->listings, &ad->nlistings, sizeof *ad->listings);

	rf_set(&l->list, list);
	l->listed = listed;
	rf_set(&l->codes, codes);
	rf_set(&l->txt, txt);
	l->first_seen = first_seen;
	l->last_seen = last_seen;
	return l;
}

#endif
