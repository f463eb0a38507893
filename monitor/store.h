/*
 * store.h — rangewatch's state on disk: one SQLite database in WAL mode under the state
 * directory. SQL never leaves store.c, so another backend can come behind the same
 * interface. Schema versioned, migrated on open. Events that must never be lost (listing
 * events; later flags, queued alerts, audit entries) are committed before the call returns;
 * bulk state (the current listing of every key, later traffic aggregates) is written in a
 * batch that store_flush() commits, off the hot path, on the caller's timer.
 */
#ifndef RW_STORE_H
#define RW_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;

/* The current state of one (list, key): what the probe last knew. */
struct store_listing {
	const char *list;	/* list name */
	const char *key;	/* "192.0.2.7", "192.0.2.0/24", "AS64500" */
	int scope;		/* enum dnsbl_scope */
	int listed;		/* 1 listed, 0 clean */
	const char *codes;	/* "127.0.0.2 127.0.0.4" */
	const char *txt;	/* escaped TXT */
	int64_t first_seen;	/* listed since (0 when clean) */
	int64_t last_seen;	/* last time seen listed (0 never) */
	int64_t checked;	/* last answer */
};

/* One change: "listed", "delisted", or "changed" (codes or TXT). */
struct store_listing_event {
	int64_t id;		/* filled by the store when read back; see store_last_event_id() */
	int64_t ts;
	const char *event;
	struct store_listing l;
};

/* Opens (creating dir/rangewatch.db when needed) and migrates. -1 with the reason in err. */
int store_open(const char *dir, struct store **out, char *err, size_t errlen);
/* Commits the open batch and closes. NULL-safe. */
void store_close(struct store *s);
/* Records an event durably (committed before return), and updates the state of its key in
 * the same transaction. -1 with err. */
int store_listing_event(struct store *s, const struct store_listing_event *e, char *err,
    size_t errlen);
/* Updates the state of a key in the open batch (no event: a re-check that changed nothing
 * but times). */
int store_listing_put(struct store *s, const struct store_listing *l, char *err, size_t errlen);
/* Commits the open batch. */
int store_flush(struct store *s, char *err, size_t errlen);
/* The id the last successful store_listing_event() got (0 before any). */
int64_t store_last_event_id(const struct store *s);
/* Calls cb for every stored listing state (at start-up: the probe resumes from it). The
 * strings are valid during the call only; cb must not call the store. */
int store_listing_load(struct store *s, void (*cb)(void *arg, const struct store_listing *l),
    void *arg, char *err, size_t errlen);
/* Calls cb for the events with id > after_id, oldest first, at most limit (0: all). Same
 * rules for cb as store_listing_load(). */
int store_listing_events(struct store *s, int64_t after_id, size_t limit,
    void (*cb)(void *arg, const struct store_listing_event *e), void *arg, char *err,
    size_t errlen);

#endif
