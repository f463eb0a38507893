/*
 * listings.c — what the DNSBLs say about the provider, key by key, and the events when that
 * changes.
 *
 * For: turning each answer of the DNSBL probe into "nothing new" or an event (listed,
 * delisted, changed) against the state known so far, and keeping that state where the risk
 * engine, the control socket and a restart find it.
 * Owns: one record per (list, key) (records in chunks of doubling size, found through a hash
 * index), their TXT strings, an arena holding the keys and the interned list names and
 * code strings (records are never removed, so nothing in the arena is freed before the
 * end). Not the store.
 * Must never: let an `error` or `blocked` answer change a key (not knowing is not clean);
 * change a key in memory when the store refused the change (the next answer must raise the
 * event again); hold a record for every clean IP of provider space.
 *
 * Which keys have a record: every key that is or has been listed, and every range- and
 * asn-scope key answered. A clean ip-scope key that has never been listed has none: clean is
 * the default, and provider space can be a /8 times several lists (16M IPs each); writing
 * each of their re-checks to the store would be most of the database's traffic for no
 * information. Such a key's first listing is an event like any other.
 *
 * Codes are kept sorted and without duplicates, so a resolver that rotates A records does not
 * look like a change. A listed answer without TXT (the TXT query failed, or the list has no
 * TXT) keeps the TXT known so far, for the same reason.
 */
#include "listings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "chunk.h"
#include "hidx.h"

#define CODES_STRLEN	(DNSBL_MAX_CODES * 16)
#define ARENA_CHUNK	65536

struct lrec {
	struct store_listing s;	/* list, codes: interned; key: in the arena; txt: ours
				 * (malloc) or the shared empty string */
};

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	char data[];
};

/* The distinct code strings ("127.0.0.2", "127.0.0.2 127.0.0.4": a handful per list). */
struct pool {
	const char **v;
	size_t n, cap;
	struct hidx idx;
};

struct listings {
	struct store *st;		/* not owned; NULL: memory only */
	struct lrec *chunk[CHUNK_MAX];
	unsigned nchunk;
	size_t count;
	size_t nlisted;
	struct hidx idx;
	const char **names;		/* interned list names (in the arena) */
	size_t *listed_on;		/* per name: its keys listed now (capnames of them) */
	size_t nnames, capnames;
	struct pool codes;
	struct arena_chunk *arena;
	int oom;			/* set by a load callback that ran out of memory */
	listings_hook hook;
	void *hook_arg;
};

static const char empty[] = "";

static struct lrec *
rec_at(const struct listings *l, uint32_t id)
{
	unsigned c = chunk_of(id);

	return &l->chunk[c][id - chunk_first(c)];
}

/* A copy of str in the arena; NULL when out of memory. */
static const char *
arena_dup(struct listings *l, const char *str)
{
	struct arena_chunk *c = l->arena;
	size_t len = strlen(str) + 1, size;

	if (c == NULL || c->size - c->used < len) {
		size = len > ARENA_CHUNK ? len : ARENA_CHUNK;
		if ((c = malloc(sizeof *c + size)) == NULL)
			return NULL;
		c->next = l->arena;
		c->used = 0;
		c->size = size;
		l->arena = c;
	}
	memcpy(c->data + c->used, str, len);
	c->used += len;
	return c->data + c->used - len;
}

static uint32_t
str_hash(const char *str, uint64_t seed)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ seed ^ addr_hash_key;

	for (; *str != '\0'; str++)
		h = (h ^ (uint8_t)*str) * 0x100000001b3ULL;
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 29;
	return (uint32_t)(h >> 32);
}

/* The interned copy of a code string; NULL when out of memory. */
static const char *
pool_intern(struct listings *l, const char *str)
{
	struct pool *p = &l->codes;
	uint32_t h = str_hash(str, 0), pos = h & p->idx.mask, id;
	const char **v, *copy;
	size_t ncap;

	if (str[0] == '\0')
		return empty;
	while ((id = hidx_next(&p->idx, h, &pos)) != HIDX_NONE)
		if (strcmp(p->v[id], str) == 0)
			return p->v[id];
	if (p->n == p->cap) {
		ncap = p->cap ? p->cap * 2 : 16;
		if (ncap > UINT32_MAX - 1 || (v = realloc(p->v, ncap * sizeof *v)) == NULL)
			return NULL;
		p->v = v;
		p->cap = ncap;
	}
	if ((copy = arena_dup(l, str)) == NULL ||
	    hidx_insert(&p->idx, h, (uint32_t)p->n) == -1)
		return NULL;
	p->v[p->n++] = copy;
	return copy;
}

/* The hash of (list number, key). */
static uint32_t
key_hash(size_t list, const char *key)
{
	return str_hash(key, (uint64_t)list * 0x9e3779b97f4a7c15ULL);
}

/* The number of list name; SIZE_MAX when unknown (and not created, or out of memory). */
static size_t
intern(struct listings *l, const char *name, int create)
{
	const char **v, *copy;
	size_t i, ncap, *c;

	for (i = 0; i < l->nnames; i++)
		if (strcmp(l->names[i], name) == 0)
			return i;
	if (!create)
		return SIZE_MAX;
	if (l->nnames == l->capnames) {
		ncap = l->capnames ? l->capnames * 2 : 16;
		/* the counts first: a bigger array of them than of names is harmless */
		if ((c = realloc(l->listed_on, ncap * sizeof *c)) == NULL)
			return SIZE_MAX;
		l->listed_on = c;
		if ((v = realloc(l->names, ncap * sizeof *v)) == NULL)
			return SIZE_MAX;
		l->names = v;
		l->capnames = ncap;
	}
	if ((copy = arena_dup(l, name)) == NULL)
		return SIZE_MAX;
	l->names[l->nnames] = copy;
	l->listed_on[l->nnames] = 0;
	return l->nnames++;
}

/* The count of keys listed now on the list whose interned name is name. */
static size_t *
listed_on(struct listings *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->nnames; i++)
		if (l->names[i] == name)
			return &l->listed_on[i];
	return NULL;	/* not reached: every record's list is interned */
}

static struct lrec *
find(const struct listings *l, size_t list, const char *key, uint32_t h)
{
	uint32_t pos = h & l->idx.mask, id;
	struct lrec *r;

	while ((id = hidx_next(&l->idx, h, &pos)) != HIDX_NONE) {
		r = rec_at(l, id);
		if (r->s.list == l->names[list] && strcmp(r->s.key, key) == 0)
			return r;
	}
	return NULL;
}

/* A copy of a TXT string that a record can own: the empty string is shared. */
static char *
dup(const char *s)
{
	return s == NULL || s[0] == '\0' ? (char *)empty : strdup(s);
}

/* Frees a TXT string a record owns (every non-empty one; the cast drops the const that
 * struct store_listing puts on it for readers). */
static void
undup(const char *s)
{
	if (s != NULL && s != empty)
		free((char *)s);
}

/* Adds a record for (list, key) with state s (strings copied). NULL when out of memory. */
static struct lrec *
add(struct listings *l, size_t list, const struct store_listing *s, uint32_t h)
{
	struct lrec *r;
	const char *key, *codes;
	char *txt;

	if (l->count >= UINT32_MAX - 1)
		return NULL;
	if (l->count == chunk_first(l->nchunk)) {
		if ((l->chunk[l->nchunk] = malloc(chunk_len(l->nchunk) * sizeof *r)) == NULL)
			return NULL;
		l->nchunk++;
	}
	if ((key = arena_dup(l, s->key)) == NULL ||
	    (codes = pool_intern(l, s->codes ? s->codes : "")) == NULL)
		return NULL;
	if ((txt = dup(s->txt)) == NULL)
		return NULL;
	if (hidx_insert(&l->idx, h, (uint32_t)l->count) == -1) {
		undup(txt);
		return NULL;
	}
	r = rec_at(l, (uint32_t)l->count++);
	r->s = *s;
	r->s.list = l->names[list];
	r->s.key = key;
	r->s.codes = codes;
	r->s.txt = txt;
	if (r->s.listed) {
		l->nlisted++;
		l->listed_on[list]++;
	}
	return r;
}

static void
load_one(void *arg, const struct store_listing *s)
{
	struct listings *l = arg;
	size_t list;
	uint32_t h;

	if (l->oom)
		return;
	if ((list = intern(l, s->list, 1)) == SIZE_MAX) {
		l->oom = 1;
		return;
	}
	h = key_hash(list, s->key);
	if (find(l, list, s->key, h) != NULL)
		return;		/* the store's primary key makes this impossible */
	if (add(l, list, s, h) == NULL)
		l->oom = 1;
}

/* A view over st, loaded from it. */
struct listings *
listings_open(struct store *st, char *err, size_t errlen)
{
	struct listings *l = calloc(1, sizeof *l);

	if (l == NULL || hidx_init(&l->idx, 1024) == -1 || hidx_init(&l->codes.idx, 16) == -1) {
		snprintf(err, errlen, "listings: out of memory");
		if (l != NULL)
			hidx_release(&l->idx);
		free(l);
		return NULL;
	}
	l->st = st;
	if (st != NULL && store_listing_load(st, load_one, l, err, errlen) == -1)
		goto fail;
	if (l->oom) {
		snprintf(err, errlen, "listings: out of memory loading %zu keys", l->count);
		goto fail;
	}
	return l;
fail:
	listings_free(l);
	return NULL;
}

/* Frees every record, string and name. */
void
listings_free(struct listings *l)
{
	struct arena_chunk *c, *next;
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->count; i++)
		undup(rec_at(l, (uint32_t)i)->s.txt);
	for (i = 0; i < l->nchunk; i++)
		free(l->chunk[i]);
	for (c = l->arena; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(l->names);
	free(l->listed_on);
	free(l->codes.v);
	hidx_release(&l->codes.idx);
	hidx_release(&l->idx);
	free(l);
}

/* "127.0.0.2 127.0.0.4": the codes of r, sorted, each once. */
static void
format_codes(const struct dnsbl_result *r, char *buf, size_t len)
{
	uint32_t v[DNSBL_MAX_CODES], x;
	size_t n = r->ncodes < DNSBL_MAX_CODES ? r->ncodes : DNSBL_MAX_CODES, i, j, off = 0;
	int w;

	memcpy(v, r->codes, n * sizeof v[0]);
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			x = v[j];
			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0 && v[i] == v[i - 1])
			continue;
		w = snprintf(buf + off, len - off, "%s%u.%u.%u.%u", off ? " " : "", v[i] >> 24,
		    (v[i] >> 16) & 0xff, (v[i] >> 8) & 0xff, v[i] & 0xff);
		if (w < 0 || (size_t)w >= len - off)
			break;
		off += (size_t)w;
	}
}

/* Sends the new state to the store: as an event, or into the batch. */
static int
persist(struct listings *l, const char *event, const struct store_listing *s, int64_t now,
    char *err, size_t errlen)
{
	struct store_listing_event e;

	if (l->st == NULL)
		return 0;
	if (event == NULL)
		return store_listing_put(l->st, s, err, errlen);
	memset(&e, 0, sizeof e);
	e.ts = now;
	e.event = event;
	e.l = *s;
	return store_listing_event(l->st, &e, err, errlen);
}

/* Applies one answer about key at now. */
int
listings_apply(struct listings *l, const char *key, const struct dnsbl_result *r,
    int64_t now, char *err, size_t errlen)
{
	static const char *const event_name[] = {
		[LISTING_LISTED] = "listed", [LISTING_DELISTED] = "delisted",
		[LISTING_CHANGED] = "changed",
	};
	struct store_listing ns;
	struct lrec *rec;
	char codes[CODES_STRLEN], *ntxt = NULL;
	const char *ncodes;
	const char *txt;
	size_t list;
	uint32_t h;
	int listed, change = LISTING_SAME;

	if (r == NULL || r->list == NULL || r->list->name == NULL || key == NULL ||
	    key[0] == '\0') {
		snprintf(err, errlen, "listings: an answer without a list or a key");
		return -1;
	}
	if (r->status != DNSBL_LISTED && r->status != DNSBL_CLEAN)
		return LISTING_SAME;	/* error, blocked: we do not know */
	listed = r->status == DNSBL_LISTED;
	if ((list = intern(l, r->list->name, 1)) == SIZE_MAX) {
		snprintf(err, errlen, "listings: out of memory");
		return -1;
	}
	h = key_hash(list, key);
	rec = find(l, list, key, h);
	if (rec == NULL && !listed && r->list->scope == DNSBL_SCOPE_IP)
		return LISTING_SAME;	/* clean and never listed: no record (see above) */

	memset(&ns, 0, sizeof ns);
	ns.list = l->names[list];
	ns.key = key;
	ns.scope = (int)r->list->scope;
	ns.listed = listed;
	ns.checked = now;
	ns.codes = empty;
	ns.txt = empty;
	if (listed) {
		format_codes(r, codes, sizeof codes);
		txt = r->txt;
		if (memchr(txt, '\0', sizeof r->txt) == NULL)
			txt = empty;	/* not a string: never trust the other side */
		ns.codes = codes;
		ns.txt = txt[0] != '\0' ? txt : rec != NULL && rec->s.listed ? rec->s.txt : empty;
		ns.last_seen = now;
		if (rec == NULL || !rec->s.listed) {
			change = LISTING_LISTED;
			ns.first_seen = now;
		} else {
			ns.first_seen = rec->s.first_seen;
			if (strcmp(ns.codes, rec->s.codes) != 0 || strcmp(ns.txt, rec->s.txt) != 0)
				change = LISTING_CHANGED;
		}
	} else if (rec != NULL) {
		ns.last_seen = rec->s.last_seen;
		if (rec->s.listed)
			change = LISTING_DELISTED;
	}

	if (rec == NULL) {
		if (persist(l, change == LISTING_SAME ? NULL : event_name[change], &ns, now, err,
		    errlen) == -1)
			return -1;
		if ((rec = add(l, list, &ns, h)) == NULL) {
			snprintf(err, errlen, "listings: out of memory");
			return -1;
		}
		if (l->hook != NULL)
			l->hook(l->hook_arg, (enum listing_change)change, &rec->s);
		return change;
	}
	/* copies first, so that nothing can fail after the store has taken the change */
	if ((ncodes = pool_intern(l, ns.codes)) == NULL)
		goto oom;
	if (strcmp(ns.txt, rec->s.txt) != 0 && (ntxt = dup(ns.txt)) == NULL)
		goto oom;
	if (persist(l, change == LISTING_SAME ? NULL : event_name[change], &ns, now, err,
	    errlen) == -1) {
		undup(ntxt);
		return -1;
	}
	ns.codes = ncodes;
	if (ntxt != NULL) {
		undup(rec->s.txt);
		ns.txt = ntxt;
	} else
		ns.txt = rec->s.txt;
	ns.key = rec->s.key;
	if (rec->s.listed != ns.listed) {
		size_t *on = listed_on(l, rec->s.list);

		if (ns.listed) {
			l->nlisted++;
			if (on != NULL)
				(*on)++;
		} else {
			l->nlisted--;
			if (on != NULL)
				(*on)--;
		}
	}
	rec->s = ns;
	if (l->hook != NULL)
		l->hook(l->hook_arg, (enum listing_change)change, &rec->s);
	return change;
oom:
	undup(ntxt);
	snprintf(err, errlen, "listings: out of memory");
	return -1;
}

void
listings_set_hook(struct listings *l, listings_hook fn, void *arg)
{
	l->hook = fn;
	l->hook_arg = arg;
}

/* The state of (list, key), or NULL. */
const struct store_listing *
listings_get(const struct listings *l, const char *list, const char *key)
{
	struct lrec *r;
	size_t i;

	for (i = 0; i < l->nnames; i++)
		if (strcmp(l->names[i], list) == 0)
			break;
	if (i == l->nnames)
		return NULL;
	r = find(l, i, key, key_hash(i, key));
	return r != NULL ? &r->s : NULL;
}

/* Keys listed now. */
size_t
listings_count_listed(const struct listings *l)
{
	return l->nlisted;
}

size_t
listings_count_listed_on(const struct listings *l, const char *list)
{
	size_t i;

	for (i = 0; i < l->nnames; i++)
		if (strcmp(l->names[i], list) == 0)
			return l->listed_on[i];
	return 0;
}

/* Calls cb for every record, oldest first. */
void
listings_each(const struct listings *l, void (*cb)(void *arg, const struct store_listing *s),
    void *arg)
{
	size_t i;

	for (i = 0; i < l->count; i++)
		cb(arg, &rec_at(l, (uint32_t)i)->s);
}
