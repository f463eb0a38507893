/*
 * test_listings.c — unit tests of the listing state: which answer is an event (listed,
 * delisted, changed) and which is not (the same codes in another order, a listed answer
 * without TXT, error and blocked answers, clean ip-scope keys never listed); that events
 * reach the store at once and survive a restart, after which a delisting is still an event;
 * that a store refusing an event leaves memory unchanged so the next answer raises it
 * again. Lists and answers are built by hand: no DNS, no list parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "dnsbl.h"
#include "listings.h"
#include "store.h"
#include "testfiles.h"

static char l1_name[] = "uceprotect-l1", l1_zone[] = "dnsbl-1.test";
static char l2_name[] = "uceprotect-l2", l2_zone[] = "dnsbl-2.test";
static struct dnsbl_list L1 = { .name = l1_name, .zone = l1_zone, .scope = DNSBL_SCOPE_IP,
    .enabled = 1, .txt = 1 };
static struct dnsbl_list L2 = { .name = l2_name, .zone = l2_zone,
    .scope = DNSBL_SCOPE_RANGE, .enabled = 1, .txt = 1 };

struct fixture {
	char dir[64];
	struct store *st;
	struct listings *l;
};

static void
reopen(struct fixture *fx)
{
	char err[512] = "";

	if (store_open(fx->dir, &fx->st, err, sizeof err) == -1)
		fail_msg("store_open: %s", err);
	if ((fx->l = listings_open(fx->st, err, sizeof err)) == NULL)
		fail_msg("listings_open: %s", err);
}

static void
shut(struct fixture *fx)
{
	listings_free(fx->l);
	store_close(fx->st);
	fx->l = NULL;
	fx->st = NULL;
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);

	if (fx == NULL || testdir_make(fx->dir, sizeof fx->dir, "listings") == -1)
		return -1;
	reopen(fx);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	shut(fx);
	testdir_remove(fx->dir);
	free(fx);
	return 0;
}

/* An answer of list about some IP: status, then codes as "127.0.0.2 127.0.0.4", TXT. */
static struct dnsbl_result
R(const struct dnsbl_list *list, enum dnsbl_status st, const char *codes, const char *txt)
{
	struct dnsbl_result r;
	const char *p = codes;
	char *end;

	memset(&r, 0, sizeof r);
	r.list = list;
	r.status = st;
	while (p != NULL && *p != '\0' && r.ncodes < DNSBL_MAX_CODES) {
		unsigned long a = strtoul(p, &end, 10), b = strtoul(end + 1, &end, 10),
		    c = strtoul(end + 1, &end, 10), d = strtoul(end + 1, &end, 10);

		r.codes[r.ncodes++] = (uint32_t)(a << 24 | b << 16 | c << 8 | d);
		p = *end == ' ' ? end + 1 : end;
	}
	snprintf(r.txt, sizeof r.txt, "%s", txt ? txt : "");
	if (st == DNSBL_ERROR || st == DNSBL_BLOCKED)
		snprintf(r.reason, sizeof r.reason, "test");
	r.ttl = 300;
	return r;
}

static int
apply(struct fixture *fx, const char *key, struct dnsbl_result r, int64_t now)
{
	char err[512] = "";
	int c = listings_apply(fx->l, key, &r, now, err, sizeof err);

	if (c == -1)
		fail_msg("listings_apply: %s", err);
	return c;
}

struct text {
	char s[4096];
	size_t len;
};

static void
add_event(void *arg, const struct store_listing_event *e)
{
	struct text *t = arg;
	int w = snprintf(t->s + t->len, sizeof t->s - t->len, "%lld %s %s %s [%s] [%s] %lld-%lld\n",
	    (long long)e->ts, e->event, e->l.list, e->l.key, e->l.codes, e->l.txt,
	    (long long)e->l.first_seen, (long long)e->l.last_seen);

	assert_true(w > 0 && (size_t)w < sizeof t->s - t->len);
	t->len += (size_t)w;
}

/* The store's events after id after, one line each. */
static const char *
events(struct fixture *fx, int64_t after)
{
	static struct text t;
	char err[512] = "";

	memset(&t, 0, sizeof t);
	if (store_listing_events(fx->st, after, 0, add_event, &t, err, sizeof err) == -1)
		fail_msg("store_listing_events: %s", err);
	return t.s;
}

static void
state_is(struct fixture *fx, const char *list, const char *key, int listed, const char *codes,
    const char *txt, int64_t first, int64_t last, int64_t checked)
{
	const struct store_listing *s = listings_get(fx->l, list, key);

	if (s == NULL)
		fail_msg("no state for %s %s", list, key);
	assert_string_equal(s->list, list);
	assert_string_equal(s->key, key);
	assert_int_equal(s->listed, listed);
	assert_string_equal(s->codes, codes);
	assert_string_equal(s->txt, txt);
	assert_int_equal(s->first_seen, first);
	assert_int_equal(s->last_seen, last);
	assert_int_equal(s->checked, checked);
}

static void
test_event_semantics(void **state)
{
	struct fixture *fx = *state;
	const char *k = "192.0.2.7";

	/* clean and never listed: nothing to record */
	assert_int_equal(apply(fx, k, R(&L1, DNSBL_CLEAN, "", ""), 100), LISTING_SAME);
	assert_null(listings_get(fx->l, l1_name, k));
	assert_int_equal(apply(fx, k, R(&L1, DNSBL_LISTED, "127.0.0.2", "spam trap"), 200),
	    LISTING_LISTED);
	state_is(fx, l1_name, k, 1, "127.0.0.2", "spam trap", 200, 200, 200);
	assert_int_equal(listings_count_listed(fx->l), 1);
	assert_int_equal(apply(fx, k, R(&L1, DNSBL_LISTED, "127.0.0.2", "spam trap"), 300),
	    LISTING_SAME);
	state_is(fx, l1_name, k, 1, "127.0.0.2", "spam trap", 200, 300, 300);
	/* a second code: changed */
	assert_int_equal(apply(fx, k, R(&L1, DNSBL_LISTED, "127.0.0.4 127.0.0.2", "spam trap"),
	    400), LISTING_CHANGED);
	state_is(fx, l1_name, k, 1, "127.0.0.2 127.0.0.4", "spam trap", 200, 400, 400);
	/* the same codes in another order, one twice: not a change */
	assert_int_equal(apply(fx, k, R(&L1, DNSBL_LISTED, "127.0.0.2 127.0.0.4 127.0.0.2",
	    "spam trap"), 500), LISTING_SAME);
	/* no TXT this time (its query failed): keep the known one, not a change */
	assert_int_equal(apply(fx, k, R(&L1, DNSBL_LISTED, "127.0.0.4 127.0.0.2", ""), 600),
	    LISTING_SAME);
	state_is(fx, l1_name, k, 1, "127.0.0.2 127.0.0.4", "spam trap", 200, 600, 600);
	/* another TXT: changed */
	assert_int_equal(apply(fx, k, R(&L1, DNSBL_LISTED, "127.0.0.2 127.0.0.4", "2 traps"),
	    700), LISTING_CHANGED);
	assert_int_equal(apply(fx, k, R(&L1, DNSBL_CLEAN, "", ""), 800), LISTING_DELISTED);
	state_is(fx, l1_name, k, 0, "", "", 0, 700, 800);
	assert_int_equal(listings_count_listed(fx->l), 0);
	/* clean again: same, but the record (it has a history) keeps its check time */
	assert_int_equal(apply(fx, k, R(&L1, DNSBL_CLEAN, "", ""), 900), LISTING_SAME);
	state_is(fx, l1_name, k, 0, "", "", 0, 700, 900);
	assert_int_equal(apply(fx, k, R(&L1, DNSBL_LISTED, "127.0.0.2", "back"), 1000),
	    LISTING_LISTED);
	state_is(fx, l1_name, k, 1, "127.0.0.2", "back", 1000, 1000, 1000);
	/* the same key on another list is another state */
	assert_null(listings_get(fx->l, l2_name, k));
	assert_string_equal(events(fx, 0),
	    "200 listed uceprotect-l1 192.0.2.7 [127.0.0.2] [spam trap] 200-200\n"
	    "400 changed uceprotect-l1 192.0.2.7 [127.0.0.2 127.0.0.4] [spam trap] 200-400\n"
	    "700 changed uceprotect-l1 192.0.2.7 [127.0.0.2 127.0.0.4] [2 traps] 200-700\n"
	    "800 delisted uceprotect-l1 192.0.2.7 [] [] 0-700\n"
	    "1000 listed uceprotect-l1 192.0.2.7 [127.0.0.2] [back] 1000-1000\n");
}

static void
test_error_blocked_change_nothing(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(apply(fx, "192.0.2.1", R(&L1, DNSBL_LISTED, "127.0.0.2", "x"), 10),
	    LISTING_LISTED);
	assert_int_equal(apply(fx, "192.0.2.1", R(&L1, DNSBL_ERROR, "", ""), 20), LISTING_SAME);
	assert_int_equal(apply(fx, "192.0.2.1", R(&L1, DNSBL_BLOCKED, "127.255.255.254", ""),
	    30), LISTING_SAME);
	state_is(fx, l1_name, "192.0.2.1", 1, "127.0.0.2", "x", 10, 10, 10);
	/* not even the check time: we learned nothing */
	assert_int_equal(apply(fx, "192.0.2.2", R(&L1, DNSBL_BLOCKED, "127.255.255.254", ""), 40),
	    LISTING_SAME);
	assert_null(listings_get(fx->l, l1_name, "192.0.2.2"));
	assert_int_equal(apply(fx, "192.0.2.0/24", R(&L2, DNSBL_ERROR, "", ""), 50),
	    LISTING_SAME);
	assert_null(listings_get(fx->l, l2_name, "192.0.2.0/24"));
	/* a delisted key stays delisted through errors */
	assert_int_equal(apply(fx, "192.0.2.1", R(&L1, DNSBL_CLEAN, "", ""), 60),
	    LISTING_DELISTED);
	assert_int_equal(apply(fx, "192.0.2.1", R(&L1, DNSBL_ERROR, "", ""), 70), LISTING_SAME);
	state_is(fx, l1_name, "192.0.2.1", 0, "", "", 0, 10, 60);
	assert_int_equal(listings_count_listed(fx->l), 0);
	assert_string_equal(events(fx, 0),
	    "10 listed uceprotect-l1 192.0.2.1 [127.0.0.2] [x] 10-10\n"
	    "60 delisted uceprotect-l1 192.0.2.1 [] [] 0-10\n");
}

static void
test_range_keys_kept(void **state)
{
	struct fixture *fx = *state;
	char err[512] = "";

	/* range- and asn-scope keys are few: a clean one is recorded with its check time */
	assert_int_equal(apply(fx, "198.51.100.0/24", R(&L2, DNSBL_CLEAN, "", ""), 10),
	    LISTING_SAME);
	state_is(fx, l2_name, "198.51.100.0/24", 0, "", "", 0, 0, 10);
	assert_int_equal(apply(fx, "198.51.100.0/24", R(&L2, DNSBL_CLEAN, "", ""), 20),
	    LISTING_SAME);
	state_is(fx, l2_name, "198.51.100.0/24", 0, "", "", 0, 0, 20);
	assert_string_equal(events(fx, 0), "");
	assert_int_equal(store_flush(fx->st, err, sizeof err), 0);
	shut(fx);
	reopen(fx);
	state_is(fx, l2_name, "198.51.100.0/24", 0, "", "", 0, 0, 20);
}

/* Events are in the store at once; after a restart the state is back, a repeat of the same
 * listing is no event and a delisting is one. */
static void
test_restart(void **state)
{
	struct fixture *fx = *state;
	const char *txt = "Net 198.51.100.0/24 is UCEPROTECT-Level2 listed because 5 abusers "
	    "are hosted by Example/AS64500 there";

	assert_int_equal(apply(fx, "192.0.2.7", R(&L1, DNSBL_LISTED, "127.0.0.2", "trap"), 100),
	    LISTING_LISTED);
	assert_int_equal(apply(fx, "198.51.100.0/24", R(&L2, DNSBL_LISTED, "127.0.0.2", txt),
	    110), LISTING_LISTED);
	assert_int_equal(apply(fx, "192.0.2.7", R(&L1, DNSBL_LISTED, "127.0.0.2", "trap"), 120),
	    LISTING_SAME);		/* last_seen 120 goes to the batch, never flushed */
	shut(fx);
	reopen(fx);
	assert_int_equal(listings_count_listed(fx->l), 2);
	/* per list too, as loaded from the store (the metrics' rangewatch_listings) */
	assert_int_equal(listings_count_listed_on(fx->l, l1_name), 1);
	assert_int_equal(listings_count_listed_on(fx->l, l2_name), 1);
	assert_int_equal(listings_count_listed_on(fx->l, "no-such-list"), 0);
	state_is(fx, l2_name, "198.51.100.0/24", 1, "127.0.0.2", txt, 110, 110, 110);
	assert_int_equal(listings_get(fx->l, l1_name, "192.0.2.7")->first_seen, 100);
	assert_int_equal(apply(fx, "192.0.2.7", R(&L1, DNSBL_LISTED, "127.0.0.2", "trap"), 200),
	    LISTING_SAME);
	assert_int_equal(apply(fx, "192.0.2.7", R(&L1, DNSBL_CLEAN, "", ""), 300),
	    LISTING_DELISTED);
	shut(fx);
	reopen(fx);
	state_is(fx, l1_name, "192.0.2.7", 0, "", "", 0, 200, 300);
	assert_int_equal(listings_count_listed(fx->l), 1);
	assert_int_equal(listings_count_listed_on(fx->l, l1_name), 0);
	assert_int_equal(listings_count_listed_on(fx->l, l2_name), 1);
	assert_string_equal(events(fx, 2),
	    "300 delisted uceprotect-l1 192.0.2.7 [] [] 0-200\n");
}

/* A store that cannot take the event (another process holds the write lock past the busy
 * timeout): -1, memory unchanged, and the next answer raises the event again. */
static void
test_store_refuses(void **state)
{
	struct fixture *fx = *state;
	struct dnsbl_result r = R(&L1, DNSBL_LISTED, "127.0.0.2", "trap");
	char path[128], err[512] = "";
	sqlite3 *other = NULL;

	snprintf(path, sizeof path, "%s/rangewatch.db", fx->dir);
	assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(listings_apply(fx->l, "192.0.2.9", &r, 10, err, sizeof err), -1);
	assert_non_null(strstr(err, "locked"));
	assert_null(listings_get(fx->l, l1_name, "192.0.2.9"));
	assert_int_equal(listings_count_listed(fx->l), 0);
	assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	assert_int_equal(apply(fx, "192.0.2.9", r, 20), LISTING_LISTED);
	assert_string_equal(events(fx, 0),
	    "20 listed uceprotect-l1 192.0.2.9 [127.0.0.2] [trap] 20-20\n");
}

struct count {
	size_t n, listed;
};

static void
count_one(void *arg, const struct store_listing *s)
{
	struct count *c = arg;

	c->n++;
	c->listed += s->listed != 0;
}

/* Without a store, and many keys: the hash holds, the counts agree. */
static void
test_memory_only_many(void **state)
{
	struct listings *l;
	struct dnsbl_result listed = R(&L1, DNSBL_LISTED, "127.0.0.2", ""),
	    clean = R(&L1, DNSBL_CLEAN, "", "");
	struct count c = { 0, 0 };
	char key[32], err[512] = "";
	uint32_t i;

	(void)state;
	assert_non_null(l = listings_open(NULL, err, sizeof err));
	for (i = 0; i < 200000; i++) {
		snprintf(key, sizeof key, "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
		assert_int_equal(listings_apply(l, key, &listed, 1, err, sizeof err),
		    LISTING_LISTED);
	}
	for (i = 0; i < 200000; i += 2) {
		snprintf(key, sizeof key, "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
		assert_int_equal(listings_apply(l, key, &clean, 2, err, sizeof err),
		    LISTING_DELISTED);
	}
	assert_int_equal(listings_count_listed(l), 100000);
	assert_int_equal(listings_count_listed_on(l, l1_name), 100000);
	listings_each(l, count_one, &c);
	assert_int_equal(c.n, 200000);
	assert_int_equal(c.listed, 100000);
	assert_int_equal(listings_get(l, l1_name, "10.1.0.1")->listed, 1);
	assert_int_equal(listings_get(l, l1_name, "10.1.0.2")->listed, 0);
	assert_null(listings_get(l, l1_name, "10.9.0.1"));
	assert_null(listings_get(l, "no-such-list", "10.1.0.1"));
	/* an answer without a list is refused */
	listed.list = NULL;
	assert_int_equal(listings_apply(l, "10.0.0.1", &listed, 3, err, sizeof err), -1);
	listings_free(l);
	listings_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_event_semantics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_blocked_change_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_range_keys_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_refuses, setup, teardown),
		cmocka_unit_test(test_memory_only_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
