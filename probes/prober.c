/*
 * prober.c — the DNSBL probe's run-time glue. Owns the engine, the schedule and one small
 * record per query in flight (freed in its callback); borrows the loop, the lists, the
 * space and the listing state. Never blocks: the engine is a loop source, the schedule
 * runs on a timer.
 */
#include "prober.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "sweep.h"

#define TICK_MS		250	/* how often the schedule is asked what is due */
#define BATCH		256	/* queries handed out per tick at most */

struct prober {
	struct loop *loop;
	struct dnsbl *dnsbl;
	struct sweep *sweep;
	const struct dnsbl_lists *lists;
	struct listings *listings;
	size_t max_outstanding;
	int64_t next_test;
	uint64_t timer;
	int attached;
	prober_clock stamp;		/* the clock listing times are read on; NULL: wall */
	void *stamp_arg;
	struct prober_stats st;
	struct list_count *per_list;	/* one per list, in the lists' order */
	struct sweep_item batch[BATCH];
};

/* What one list was asked and answered (prober_health shows it). */
struct list_count {
	uint64_t asked;
	uint64_t results[4];		/* by enum dnsbl_status */
};

/* One query in flight: what it asked, for whom. */
struct asked {
	struct prober *p;
	struct sweep_item it;
};

/* The counts of list l (a pointer into p->lists), or NULL. */
static struct list_count *
count_of(struct prober *p, const struct dnsbl_list *l)
{
	size_t i, n = dnsbl_lists_count(p->lists);

	for (i = 0; i < n; i++)
		if (dnsbl_lists_get(p->lists, i) == l)
			return &p->per_list[i];
	return NULL;
}

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

static int
src_fill(void *arg, struct pollfd *fds, int max)
{
	return dnsbl_pollfds(((struct prober *)arg)->dnsbl, fds, max);
}

static void
src_dispatch(void *arg, const struct pollfd *fds, int n)
{
	dnsbl_process(((struct prober *)arg)->dnsbl, fds, n);
}

static int
src_timeout(void *arg)
{
	return dnsbl_timeout_ms(((struct prober *)arg)->dnsbl);
}

static void
on_health(void *arg, const struct dnsbl_list *l, enum dnsbl_health h, const char *reason)
{
	struct prober *p = arg;

	/* an unhealthy list is asked nothing; its schedule resumes where it stood */
	sweep_hold(p->sweep, l, h != DNSBL_H_OK, now_s());
	if (h != DNSBL_H_OK)
		log_warnx("list %s (%s) is %s: %s; its answers are not used until it passes "
		    "its test points again", l->name, l->zone,
		    h == DNSBL_H_BLOCKED ? "blocked" : "broken", reason ? reason : "");
}

static void
on_answer(void *arg, const struct dnsbl_result *r)
{
	struct asked *a = arg;
	struct prober *p = a->p;
	char err[256];
	int ch;

	p->st.answered++;
	if ((unsigned)r->status < sizeof p->st.results / sizeof p->st.results[0]) {
		struct list_count *lc = count_of(p, r->list);

		p->st.results[r->status]++;
		if (lc != NULL)
			lc->results[r->status]++;
	}
	p->st.last_answer = now_s();
	if (r->status == DNSBL_LISTED || r->status == DNSBL_CLEAN)
		sweep_answered(p->sweep, &a->it, r->ttl, now_s());
	ch = listings_apply(p->listings, a->it.key, r,
	    p->stamp != NULL ? p->stamp(p->stamp_arg) : now_s(), err, sizeof err);
	if (ch == -1) {
		if (p->st.store_errors++ == 0)
			log_warnx("cannot record a listing: %s", err);
	} else if (ch == LISTING_LISTED) {
		p->st.listed_events++;
		log_info("%s listed on %s (%s)", a->it.key, r->list->name, r->txt);
	} else if (ch == LISTING_DELISTED) {
		p->st.delisted_events++;
		log_info("%s no longer listed on %s", a->it.key, r->list->name);
	}
	free(a);
}

static void
tick(void *arg)
{
	struct prober *p = arg;
	int64_t now = now_s();
	size_t i, n, room;
	struct asked *a;
	struct list_count *lc;
	const char *why;

	if (now >= p->next_test) {
		for (i = 0; i < dnsbl_lists_count(p->lists); i++)
			if (dnsbl_lists_get(p->lists, i)->enabled)
				dnsbl_test(p->dnsbl, dnsbl_lists_get(p->lists, i), on_health, p);
		p->next_test = now + PROBER_TEST_EVERY;
	}
	room = dnsbl_pending(p->dnsbl) < p->max_outstanding ?
	    p->max_outstanding - dnsbl_pending(p->dnsbl) : 0;
	n = sweep_due(p->sweep, now, p->batch, room < BATCH ? room : BATCH);
	for (i = 0; i < n; i++) {
		if (dnsbl_health(p->dnsbl, p->batch[i].list, &why) != DNSBL_H_OK) {
			p->st.skipped_unhealthy++;
			continue;
		}
		if ((a = malloc(sizeof *a)) == NULL)
			break;
		a->p = p;
		a->it = p->batch[i];
		if (dnsbl_ask(p->dnsbl, a->it.list, &a->it.ip, on_answer, a) == -1) {
			free(a);
			break;
		}
		p->st.asked++;
		if ((lc = count_of(p, a->it.list)) != NULL)
			lc->asked++;
	}
	p->timer = loop_timer(p->loop, TICK_MS, tick, p);
}

struct prober *
prober_new(struct loop *l, const struct dnsbl_opts *opts, const struct dnsbl_lists *lists,
    const struct prefixes *space, struct listings *listings, char *err, size_t errlen)
{
	struct prober *p = calloc(1, sizeof *p);
	struct loop_source src = { src_fill, src_dispatch, src_timeout, NULL };
	size_t i;

	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->loop = l;
	p->lists = lists;
	p->listings = listings;
	if ((p->per_list = calloc(dnsbl_lists_count(lists) + 1, sizeof *p->per_list)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(p);
		return NULL;
	}
	p->max_outstanding = opts->max_outstanding ? opts->max_outstanding : 500;
	if ((p->dnsbl = dnsbl_new(opts, err, errlen)) == NULL)
		goto fail;
	if ((p->sweep = sweep_new(lists, space, now_s())) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* nothing is asked of a list before its test points have passed */
	for (i = 0; i < dnsbl_lists_count(lists); i++)
		sweep_hold(p->sweep, dnsbl_lists_get(lists, i), 1, now_s());
	src.arg = p;
	if (loop_source(l, &src) == -1) {
		snprintf(err, errlen, "cannot attach the DNSBL probe to the loop");
		goto fail;
	}
	p->attached = 1;
	if ((p->timer = loop_timer(l, 0, tick, p)) == 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return p;
fail:
	prober_free(p);
	return NULL;
}

void
prober_free(struct prober *p)
{
	if (p == NULL)
		return;
	if (p->timer)
		loop_timer_del(p->loop, p->timer);
	if (p->attached)
		loop_source_del(p->loop, p);
	dnsbl_free(p->dnsbl);	/* runs the pending callbacks, which free their records */
	sweep_free(p->sweep);
	free(p->per_list);
	free(p);
}

void
prober_active(struct prober *p, const struct rw_addr *ip)
{
	sweep_active(p->sweep, ip, now_s());
}

void
prober_urgent(struct prober *p, const struct rw_addr *ip)
{
	sweep_urgent(p->sweep, ip, now_s());
}

/* A rejection named list i for ip: the sweep decides whether it may go out again now. */
int
prober_recheck(struct prober *p, size_t list_index, const struct rw_addr *ip)
{
	const struct dnsbl_list *l = dnsbl_lists_get(p->lists, list_index);

	if (l == NULL)
		return 0;
	return sweep_recheck(p->sweep, l, ip, now_s());
}

void
prober_set_clock(struct prober *p, prober_clock fn, void *arg)
{
	p->stamp = fn;
	p->stamp_arg = arg;
}

void
prober_health(const struct prober *p, size_t i, struct prober_health *out)
{
	out->list = dnsbl_lists_get(p->lists, i);
	out->health = dnsbl_health(p->dnsbl, out->list, &out->reason);
	out->day_used = dnsbl_day_used(p->dnsbl, out->list);
	out->asked = p->per_list[i].asked;
	memcpy(out->results, p->per_list[i].results, sizeof out->results);
}

void
prober_get_stats(const struct prober *p, struct prober_stats *out)
{
	*out = p->st;
}
