/*
 * modelfix.h — the model fixture the tests of the model and of what sits on it (views,
 * actions) share: a fresh folder with the space, the customers and the DNSBL lists read
 * from small files the test gives, a real store in that folder, its listings, a traffic
 * table the test fills by hand as the capture would, and a model over them. Each test
 * keeps its own files' text, risk settings and what it builds on top (a control socket, a
 * hook runner). Header-only, static inline so that a test using only some of the helpers
 * builds without warnings: each test binary includes it once, after <cmocka.h>, testaddr.h
 * and testfiles.h; its helpers are mf_*. Never removes anything outside the folder it made.
 */
#ifndef RW_TEST_MODELFIX_H
#define RW_TEST_MODELFIX_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "customers.h"
#include "dnsbl.h"
#include "dnsbl_lists.h"
#include "listings.h"
#include "model.h"
#include "prefixes.h"
#include "risk.h"
#include "store.h"
#include "traffic.h"

/* What the fixture owns; a test embeds it in its own fixture. */
struct modelfix {
	char dir[64];		/* /tmp/rw-test-NAME-XXXXXX: the files and the store */
	struct store *st;
	struct listings *li;
	struct traffic *tr;
	struct prefixes *p;
	struct customers *c;
	struct dnsbl_lists *ls;
	struct risk_config rc;	/* risk_config_init()'s until the test changes it */
	struct model *m;
	/* set before mf_open to hear of level changes (called with mf_open's arg) */
	void (*flag)(void *arg, long c, enum risk_level level, enum risk_level previous,
	    int64_t event);
};

/* Writes text to dir/customers.csv and loads it into *out. */
static inline void
mf_customers(struct modelfix *mf, const char *text, struct customers **out)
{
	char path[128], err[256] = "";

	snprintf(path, sizeof path, "%s/customers.csv", mf->dir);
	write_file(path, text, 0);
	if (customers_load(path, out, err, sizeof err) == -1)
		fail_msg("customers_load: %s", err);
}

/* A fresh folder for NAME with prefixes.txt, customers.csv and lists.conf of the texts
 * given, loaded into mf; the risk settings are the defaults. Nothing is open yet. */
static inline void
mf_files(struct modelfix *mf, const char *name, const char *prefixes,
    const char *customers, const char *lists)
{
	char path[128], err[256] = "";

	memset(mf, 0, sizeof *mf);
	if (testdir_make(mf->dir, sizeof mf->dir, name) == -1)
		fail_msg("cannot make the test folder for %s", name);
	snprintf(path, sizeof path, "%s/prefixes.txt", mf->dir);
	write_file(path, prefixes, 0);
	if (prefixes_load(path, &mf->p, err, sizeof err) == -1)
		fail_msg("prefixes_load: %s", err);
	mf_customers(mf, customers, &mf->c);
	snprintf(path, sizeof path, "%s/lists.conf", mf->dir);
	write_file(path, lists, 0);
	if (dnsbl_lists_load(path, &mf->ls, err, sizeof err) == -1)
		fail_msg("dnsbl_lists_load: %s", err);
	risk_config_init(&mf->rc);
}

/* Low absolute limits: 10 connections an hour make an IP suspect, the other rules never. */
static inline void
mf_low_limits(struct modelfix *mf)
{
	mf->rc.conn_per_hour = 10;
	mf->rc.rcpt_per_hour = 1000;
	mf->rc.mx_per_hour = 1000;
	mf->rc.rej_5xx = 1000;
	mf->rc.rej_cited = 1000;
	mf->rc.rate_min = 1000000;
}

/* The store, its listings and the model at now over the fixture's files; a new traffic
 * table unless one is kept (a restart test frees it itself). ctl (may be NULL) gets the
 * model's events, suspect (may be NULL) is called with arg when an IP turns suspect. */
static inline void
mf_open(struct modelfix *mf, int64_t now, struct control *ctl,
    void (*suspect)(void *, const struct rw_addr *), void *arg)
{
	struct model_env env;
	char err[512] = "";

	if (store_open(mf->dir, &mf->st, err, sizeof err) == -1)
		fail_msg("store_open: %s", err);
	if ((mf->li = listings_open(mf->st, err, sizeof err)) == NULL)
		fail_msg("listings_open: %s", err);
	if (mf->tr == NULL)
		assert_non_null(mf->tr = traffic_new(1000, 2));
	memset(&env, 0, sizeof env);
	env.store = mf->st;
	env.traffic = mf->tr;
	env.listings = mf->li;
	env.control = ctl;
	env.suspect = suspect;
	env.flag = mf->flag;
	env.arg = arg;
	if ((mf->m = model_new(&env, &mf->rc, mf->p, mf->c, mf->ls, now, err,
	    sizeof err)) == NULL)
		fail_msg("model_new: %s", err);
}

/* Frees what mf_open made (without saving: the caller saves first when it means a
 * stopping daemon); the files stay loaded. */
static inline void
mf_close(struct modelfix *mf)
{
	model_free(mf->m);
	listings_free(mf->li);
	store_close(mf->st);
	traffic_free(mf->tr);
	mf->m = NULL;
	mf->li = NULL;
	mf->st = NULL;
	mf->tr = NULL;
}

/* For a teardown: mf_close, then the files and the folder. */
static inline void
mf_teardown(struct modelfix *mf)
{
	mf_close(mf);
	dnsbl_lists_free(mf->ls);
	customers_free(mf->c);
	prefixes_free(mf->p);
	testdir_remove(mf->dir);
}

/* The traffic record of ip (created, with its customer resolved as the capture does). */
static inline struct traffic_ip *
mf_rec(struct modelfix *mf, const char *ip)
{
	struct rw_addr a = A(ip);
	struct traffic_ip *t;
	int created = 0;

	assert_non_null(t = traffic_add(mf->tr, &a, &created));
	if (created)
		t->customer = (int32_t)customers_lookup(mf->c, &a);
	return t;
}

/* ip completes n sessions, each with one MAIL, rcpt/n... RCPT in all, one DATA; returns
 * its record. */
static inline struct traffic_ip *
mf_send(struct modelfix *mf, const char *ip, uint32_t sessions, uint32_t rcpt)
{
	struct traffic_ip *t = mf_rec(mf, ip);

	t->syn += sessions;
	t->sessions += sessions;
	t->mail_from += sessions;
	t->data += sessions;
	t->rcpt_to += rcpt;
	t->bytes_out += 1000ULL * sessions;
	return t;
}

/* list says key is listed (code 127.0.0.2, TXT txt; NULL: none) or clean at now; returns
 * the listing change. */
static inline int
mf_list(struct modelfix *mf, const char *list, const char *key, int listed,
    const char *txt, int64_t now)
{
	struct dnsbl_result r;
	char err[256] = "";
	int ch;

	memset(&r, 0, sizeof r);
	assert_non_null(r.list = dnsbl_lists_find(mf->ls, list));
	r.status = listed ? DNSBL_LISTED : DNSBL_CLEAN;
	if (listed) {
		r.codes[0] = 0x7f000002;
		r.ncodes = 1;
		if (txt != NULL)
			snprintf(r.txt, sizeof r.txt, "%s", txt);
	}
	r.ttl = 300;
	if ((ch = listings_apply(mf->li, key, &r, now, err, sizeof err)) == -1)
		fail_msg("listings_apply: %s", err);
	return ch;
}

/* The model's index of customer id (which must be there). */
static inline long
mf_cidx(struct modelfix *mf, const char *id)
{
	long c = customers_find(model_customers(mf->m), id);

	assert_true(c >= 0);
	return c;
}

/* The model's view of customer id. */
static inline struct model_customer
mf_customer(struct modelfix *mf, const char *id)
{
	struct model_customer mc;

	assert_int_equal(model_customer(mf->m, mf_cidx(mf, id), &mc), 0);
	return mc;
}

/* The level of customer id. */
static inline enum risk_level
mf_level(struct modelfix *mf, const char *id)
{
	return mf_customer(mf, id).level;
}

#endif
