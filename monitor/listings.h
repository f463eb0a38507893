/*
 * listings.h — what the DNSBLs currently say about the provider, key by key (an IP, a
 * range, an ASN, per list), and the events when that changes: listed, delisted, changed.
 * An `error` or `blocked` answer never changes a key's state (we do not know is not clean);
 * it is the list's health that shows it. Persisted through the store, so a restart loses no
 * event and a delisting after a restart is still seen as one.
 */
#ifndef RW_LISTINGS_H
#define RW_LISTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "dnsbl.h"
#include "store.h"

enum listing_change { LISTING_SAME, LISTING_LISTED, LISTING_DELISTED, LISTING_CHANGED };

struct listings;

/* A view over store st (not owned; NULL: memory only). Loads the stored state. NULL with
 * err on failure. */
struct listings *listings_open(struct store *st, char *err, size_t errlen);
/* fn is called after every applied answer about a key that has a record (a change, or a
 * listed key seen listed again: its last_seen moved), with what changed and the new state
 * (valid during the call). The model follows the listings through it. NULL: none. */
typedef void (*listings_hook)(void *arg, enum listing_change change,
    const struct store_listing *s);
void listings_set_hook(struct listings *l, listings_hook fn, void *arg);
/* NULL-safe. */
void listings_free(struct listings *l);
/* Applies one answer about key (see sweep_item.key) at time now; records an event when the
 * state changed (committed before return), else updates the key's times in the store's
 * batch. Returns what changed, or -1 when the store failed (err says why; the state in
 * memory is then unchanged, so the next answer raises the event again). */
int listings_apply(struct listings *l, const char *key, const struct dnsbl_result *r,
    int64_t now, char *err, size_t errlen);
/* The state of (list name, key), or NULL when it has no record: never checked, or an
 * ip-scope key never seen listed (clean is the default; provider space may be a /8).
 * Valid until the next listings_apply() about that key. */
const struct store_listing *listings_get(const struct listings *l, const char *list,
    const char *key);
/* How many keys are listed now, all lists together. */
size_t listings_count_listed(const struct listings *l);
/* How many keys are listed now on list (its name). */
size_t listings_count_listed_on(const struct listings *l, const char *list);
/* Calls cb for every key's state. */
void listings_each(const struct listings *l, void (*cb)(void *arg,
    const struct store_listing *s), void *arg);

#endif
