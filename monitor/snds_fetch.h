/*
 * snds_fetch.h — Microsoft SNDS data into the daemon: read from files named in [snds]
 * (`file`, `status_file`, re-read when they change) or fetched with the provider's
 * automated-access key (`key_file`) from `data_url` and `status_url` by libcurl multi on
 * the daemon's loop (never blocking it), every `interval`. Rows go to the risk engine
 * (risk_snds) through the model; blocked ranges of the IP-status list become listings of
 * the ip-scope list `snds` (listings.h), delisted when they leave the list.
 *
 * What fails never loses what was known: a bad row is logged with its row number and
 * counted, the rest of the document is used; a document with no good row (a changed
 * column count, an HTML error page) or an HTTP error is logged and counted, and the rows
 * and listings from before stay. Rows are kept (RISK_SNDS_ROWS per IP, the newest) so that
 * a new risk engine (a reload) gets them again (snds_fetch_refeed); a restart reads or
 * fetches again.
 */
#ifndef RW_SNDS_FETCH_H
#define RW_SNDS_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "risk.h"

struct loop;
struct model;
struct listings;
struct snds_fetch;

struct snds_fetch_stats {
	uint64_t reads;			/* documents read or fetched and parsed */
	uint64_t errors;		/* reads or fetches that failed (HTTP, I/O, no good row) */
	uint64_t rows, bad_rows;	/* data rows taken, and refused (all documents) */
	uint64_t status_rows, status_bad;	/* IP-status rows taken, and refused */
	size_t held;			/* rows held now */
	size_t blocked;			/* IPs listed on `snds` now */
	int64_t last_ok;		/* wall time of the last good document (0 never) */
	char last_error[200];		/* "" none */
};

/* A reader over cfg's [snds] (nothing to do when it names no file and no key), feeding
 * model m and listings ls (not owned). The first read or fetch is at the next loop turn.
 * NULL with err (out of memory, libcurl failing to start). */
struct snds_fetch *snds_fetch_new(struct loop *l, struct model *m, struct listings *ls,
    const struct rw_config *cfg, char *err, size_t errlen);
/* NULL-safe; a fetch in flight is cut off. */
void snds_fetch_free(struct snds_fetch *s);
/* A reload: the new [snds] keys apply from the next read (copied). -1 on ENOMEM. */
int snds_fetch_set_config(struct snds_fetch *s, const struct rw_config *cfg);
/* Feeds every held row to r (model_env.refeed). */
void snds_fetch_refeed(struct snds_fetch *s, struct risk *r);
/* 1 when it reads or fetches anything. */
int snds_fetch_active(const struct snds_fetch *s);
void snds_fetch_stats(const struct snds_fetch *s, struct snds_fetch_stats *st);

#endif
