/*
 * customers.c — the customer map read from customers.csv, and IP -> customer.
 *
 * For: telling every other module which customer holds an IP (most specific prefix wins)
 * and finding a customer by id (operator commands, the hook).
 * Owns: every customer and all their strings (one arena, freed at once), a longest-prefix
 * table whose values are customer indexes, and an open-addressing hash of ids.
 * Must never: trust the file (it is an export from another system: every field is capped,
 * NUL bytes and broken quoting are errors, text is kept as read for callers to escape), or
 * change after customers_load returns (readers share it without locks; a reload builds a
 * new map and swaps it).
 *
 * The CSV reader follows RFC 4180: fields separated by commas, records by LF or CRLF, a
 * field in double quotes may hold commas, newlines and doubled quotes. A quote inside an
 * unquoted field, or anything but a comma or the end of the record after a closing quote,
 * is an error. A UTF-8 BOM is skipped; empty lines are skipped; fields are trimmed of
 * surrounding blanks. Line numbers count physical lines, so a record after a quoted
 * newline still reports its own line. Duplicated prefixes are found when the table is built,
 * after the whole file was read, so they are reported after any other error.
 */
#include "customers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lpm.h"
#include "text.h"

#define CSV_COLUMNS	5
#define CSV_FIELD_MAX	4096		/* id, name, contact, tags */
#define CSV_CIDRS_MAX	(1 << 20)	/* a customer may hold thousands of single IPs */
#define CSV_BUF		65536
#define ARENA_CHUNK	65536
#define BLANKS		" \t\r\n"

static const char *const csv_header[CSV_COLUMNS] = {
	"id", "name", "cidrs", "contact", "tags"
};
enum { COL_ID, COL_NAME, COL_CIDRS, COL_CONTACT, COL_TAGS };

struct chunk {
	struct chunk *next;
	size_t used, size;
	max_align_t data[];
};

struct customers {
	struct customer *v;	/* file order */
	size_t n, cap;
	struct lpm *lpm;	/* prefix -> index into v */
	uint32_t *ht;		/* id hash: index + 1, 0 for an empty slot */
	size_t htcap;		/* a power of two, or 0 */
	struct chunk *arena;	/* every string and array the customers point to */
};

/* The CSV reader: a read buffer, the line counter, and the current record, whose fields
 * are NUL-terminated strings in rec at off[]. */
struct csv {
	FILE *f;
	const char *path;
	unsigned char buf[CSV_BUF];
	size_t pos, len;
	int eof;
	unsigned line;		/* line of the next byte */
	char *rec;
	size_t reclen, reccap;
	size_t off[CSV_COLUMNS];
	size_t nf;		/* fields in the record (only CSV_COLUMNS are kept) */
	unsigned recline;	/* where the record started */
	int quoted;		/* a field of the record was quoted */
	char msg[96];		/* a formatted error, before FILE:LINE goes in front */
};

/* --- arena --- */

/* n bytes aligned to align (a power of two, at most that of max_align_t). */
static void *
arena_alloc(struct customers *c, size_t n, size_t align)
{
	struct chunk *ch = c->arena;
	size_t size, at = 0;
	void *p;

	if (ch != NULL)
		at = (ch->used + align - 1) & ~(align - 1);
	if (ch == NULL || at > ch->size || ch->size - at < n) {
		size = n > ARENA_CHUNK / 4 ? n : ARENA_CHUNK;
		ch = malloc(sizeof *ch + size);
		if (ch == NULL)
			return NULL;
		ch->size = size;
		ch->used = 0;
		if (size == n && c->arena != NULL) {
			/* a big block: keep filling the current chunk afterwards */
			ch->next = c->arena->next;
			c->arena->next = ch;
		} else {
			ch->next = c->arena;
			c->arena = ch;
		}
		at = 0;
	}
	p = (char *)ch->data + at;
	ch->used = at + n;
	return p;
}

static char *
arena_strdup(struct customers *c, const char *s)
{
	size_t len = strlen(s);
	char *p = arena_alloc(c, len + 1, 1);

	if (p != NULL)
		memcpy(p, s, len + 1);
	return p;
}

/* --- id hash --- */

static uint64_t
hash_id(const char *s)
{
	/* FNV-1a from the process's secret, then a final mix */
	uint64_t h = 0xcbf29ce484222325ULL ^ addr_hash_key;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

/* The slot holding id, or the empty slot where it would go. */
static size_t
ht_slot(const struct customers *c, const char *id)
{
	size_t mask = c->htcap - 1, i = (size_t)hash_id(id) & mask;

	while (c->ht[i] != 0 && strcmp(c->v[c->ht[i] - 1].id, id) != 0)
		i = (i + 1) & mask;
	return i;
}

/* Makes room for one more id (load factor at most 1/2). -1 when out of memory. */
static int
ht_reserve(struct customers *c)
{
	uint32_t *old = c->ht;
	size_t oldcap = c->htcap, i, ncap;

	if ((c->n + 1) * 2 <= c->htcap)
		return 0;
	ncap = c->htcap ? c->htcap * 2 : 1024;
	if (ncap > SIZE_MAX / sizeof *c->ht)
		return -1;
	c->ht = calloc(ncap, sizeof *c->ht);
	if (c->ht == NULL) {
		c->ht = old;
		return -1;
	}
	c->htcap = ncap;
	for (i = 0; i < oldcap; i++)
		if (old[i] != 0)
			c->ht[ht_slot(c, c->v[old[i] - 1].id)] = old[i];
	free(old);
	return 0;
}

/* --- CSV reader --- */

/* The next byte, or EOF. -2 on a read error (errno set). */
static int
csv_getc(struct csv *r)
{
	if (r->pos == r->len) {
		if (r->eof)
			return EOF;
		r->len = fread(r->buf, 1, sizeof r->buf, r->f);
		r->pos = 0;
		if (r->len == 0) {
			r->eof = 1;
			return ferror(r->f) ? -2 : EOF;
		}
	}
	return r->buf[r->pos++];
}

static int
csv_peek(struct csv *r)
{
	int ch = csv_getc(r);

	if (ch >= 0)
		r->pos--;	/* csv_getc just filled or advanced within buf */
	return ch;
}

static int
csv_append(struct csv *r, int ch)
{
	char *p;
	size_t ncap;

	if (r->reclen == r->reccap) {
		ncap = r->reccap ? r->reccap * 2 : 4096;
		p = realloc(r->rec, ncap);
		if (p == NULL)
			return -1;
		r->rec = p;
		r->reccap = ncap;
	}
	r->rec[r->reclen++] = (char)ch;
	return 0;
}

/* Takes one byte ch of field number r->nf (flen bytes so far, at most cap). NULL, or what
 * is wrong. */
static const char *
csv_take(struct csv *r, int ch, size_t cap, size_t *flen, int keep)
{
	if (ch == '\0')
		return "NUL byte";
	if (ch < 0)
		return strerror(errno);
	if (++*flen > cap) {
		snprintf(r->msg, sizeof r->msg, "field %zu longer than %zu bytes", r->nf + 1, cap);
		return r->msg;
	}
	if (keep && csv_append(r, ch) == -1)
		return "out of memory";
	return NULL;
}

/* Reads one record. 1 read, 0 at end of file, -1 with "FILE:LINE: ..." in err. */
static int
csv_record(struct csv *r, char *err, size_t errlen)
{
	const char *what = NULL;
	size_t flen, cap;
	unsigned at;
	int ch, keep, endrec = 0;

	r->nf = 0;
	r->reclen = 0;
	r->quoted = 0;
	r->recline = r->line;
	if (csv_peek(r) == EOF)
		return 0;
	while (!endrec) {
		/* one field */
		keep = r->nf < CSV_COLUMNS;
		cap = r->nf == COL_CIDRS ? CSV_CIDRS_MAX : CSV_FIELD_MAX;
		if (keep)
			r->off[r->nf] = r->reclen;
		flen = 0;
		ch = csv_getc(r);
		if (ch == '"') {
			r->quoted = 1;
			at = r->line;	/* an unterminated quote is reported where it opened */
			for (;;) {
				ch = csv_getc(r);
				if (ch == EOF) {
					r->line = at;
					what = "unterminated quote";
					goto fail;
				}
				if (ch == '"') {
					if (csv_peek(r) != '"')
						break;
					csv_getc(r);
				} else if (ch == '\n')
					r->line++;
				if ((what = csv_take(r, ch, cap, &flen, keep)) != NULL)
					goto fail;
			}
			ch = csv_getc(r);
			if (ch == '\r') {
				/* CRLF, or a CR ending the file */
				if (csv_peek(r) == '\n' || csv_peek(r) == EOF)
					ch = csv_getc(r);
			}
			if (ch < EOF) {
				what = strerror(errno);
				goto fail;
			}
			if (ch != ',' && ch != '\n' && ch != EOF) {
				what = "text after a closing quote (a quote inside a quoted field "
				    "is written \"\")";
				goto fail;
			}
		} else {
			for (; ch != ',' && ch != '\n' && ch != EOF; ch = csv_getc(r)) {
				if (ch == '"') {
					what = "quote inside an unquoted field (quote the whole "
					    "field)";
					goto fail;
				}
				if ((what = csv_take(r, ch, cap, &flen, keep)) != NULL)
					goto fail;
			}
			/* CRLF: the CR belongs to the line ending, not the field */
			if (ch != ',' && keep && flen > 0 && r->rec[r->reclen - 1] == '\r')
				r->reclen--;
		}
		if (keep && csv_append(r, '\0') == -1) {
			what = "out of memory";
			goto fail;
		}
		r->nf++;
		if (ch == '\n') {
			r->line++;
			endrec = 1;
		} else if (ch == EOF)
			endrec = 1;
	}
	return 1;
fail:
	snprintf(err, errlen, "%s:%u: %s", r->path, r->line, what);
	return -1;
}

/* Field i of the record, trimmed of surrounding blanks (in place). */
static char *
csv_field(struct csv *r, size_t i)
{
	char *s = r->rec + r->off[i], *e;

	s += strspn(s, BLANKS);
	e = s + strlen(s);
	while (e > s && strchr(BLANKS, e[-1]) != NULL)
		*--e = '\0';
	return s;
}

/* --- loading --- */

static size_t
count_words(const char *s)
{
	size_t n = 0;

	for (;;) {
		s += strspn(s, BLANKS);
		if (*s == '\0')
			return n;
		n++;
		s += strcspn(s, BLANKS);
	}
}

/* Turns one record into a customer. -1 with "FILE:LINE: ..." in err. */
static int
add_customer(struct customers *c, struct csv *r, char *err, size_t errlen)
{
	struct customer *cu, *v;
	char *id, *cidrs, *tags, *w, *save, esc[128], fixed[CIDR_STRLEN];
	size_t ncap, slot, k;

	if (c->n >= UINT32_MAX - 1) {
		snprintf(err, errlen, "%s:%u: too many customers", r->path, r->recline);
		return -1;
	}
	id = csv_field(r, COL_ID);
	if (*id == '\0') {
		snprintf(err, errlen, "%s:%u: empty id", r->path, r->recline);
		return -1;
	}
	if (!text_is_clean(id, strlen(id))) {
		text_escape(esc, sizeof esc, id, strlen(id));
		snprintf(err, errlen, "%s:%u: id '%s' holds control characters or bad UTF-8",
		    r->path, r->recline, esc);
		return -1;
	}
	/* an id names files, arguments and log lines downstream (hooks, scripts, `rangewatch
	 * suspend ID`): "." and ".." would be paths, a leading '-' an option */
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0 || id[0] == '-') {
		text_escape(esc, sizeof esc, id, strlen(id));
		snprintf(err, errlen, "%s:%u: id '%s' is refused: '.', '..' and ids starting with "
		    "'-' read as paths or options", r->path, r->recline, esc);
		return -1;
	}
	if (ht_reserve(c) == -1)
		goto oom;
	slot = ht_slot(c, id);
	if (c->ht[slot] != 0) {
		text_escape(esc, sizeof esc, id, strlen(id));
		snprintf(err, errlen, "%s:%u: duplicate id '%s' (first at line %u)", r->path,
		    r->recline, esc, c->v[c->ht[slot] - 1].line);
		return -1;
	}
	if (c->n == c->cap) {
		ncap = c->cap ? c->cap * 2 : 256;
		if (ncap > SIZE_MAX / sizeof *v)
			goto oom;
		v = realloc(c->v, ncap * sizeof *v);
		if (v == NULL)
			goto oom;
		c->v = v;
		c->cap = ncap;
	}
	cu = &c->v[c->n];
	memset(cu, 0, sizeof *cu);
	cu->line = r->recline;
	cu->id = arena_strdup(c, id);
	cu->name = arena_strdup(c, csv_field(r, COL_NAME));
	cu->contact = arena_strdup(c, csv_field(r, COL_CONTACT));
	if (cu->id == NULL || cu->name == NULL || cu->contact == NULL)
		goto oom;

	cidrs = csv_field(r, COL_CIDRS);
	cu->ncidrs = count_words(cidrs);
	if (cu->ncidrs > 0 &&
	    (cu->cidrs = arena_alloc(c, cu->ncidrs * sizeof *cu->cidrs,
	    _Alignof(struct rw_cidr))) == NULL)
		goto oom;
	k = 0;
	for (w = strtok_r(cidrs, BLANKS, &save); w != NULL; w = strtok_r(NULL, BLANKS, &save)) {
		if (cidr_parse(w, &cu->cidrs[k], 1) == -1) {
			text_escape(esc, sizeof esc, w, strlen(w));
			if (cidr_parse(w, &cu->cidrs[k], 0) == 0)
				snprintf(err, errlen, "%s:%u: host bits set in '%s' (did you "
				    "mean %s?)", r->path, r->recline, esc,
				    cidr_format(&cu->cidrs[k], fixed, sizeof fixed));
			else
				snprintf(err, errlen, "%s:%u: bad CIDR '%s'", r->path,
				    r->recline, esc);
			return -1;
		}
		if (lpm_add(c->lpm, &cu->cidrs[k], (uint32_t)c->n) == -1)
			goto oom;
		k++;
	}

	tags = csv_field(r, COL_TAGS);
	cu->ntags = count_words(tags);
	if (cu->ntags > 0 && (cu->tags = arena_alloc(c, cu->ntags * sizeof *cu->tags,
	    _Alignof(char *))) == NULL)
		goto oom;
	k = 0;
	for (w = strtok_r(tags, BLANKS, &save); w != NULL; w = strtok_r(NULL, BLANKS, &save))
		if ((cu->tags[k++] = arena_strdup(c, w)) == NULL)
			goto oom;

	c->ht[slot] = (uint32_t)(c->n + 1);
	c->n++;
	return 0;
oom:
	snprintf(err, errlen, "%s:%u: out of memory", r->path, r->recline);
	return -1;
}

static int
check_header(struct csv *r, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < CSV_COLUMNS && r->nf == CSV_COLUMNS; i++)
		if (strcasecmp(csv_field(r, i), csv_header[i]) != 0)
			break;
	if (i == CSV_COLUMNS && r->nf == CSV_COLUMNS)
		return 0;
	snprintf(err, errlen, "%s:%u: bad header (expected id,name,cidrs,contact,tags)",
	    r->path, r->recline);
	return -1;
}

static int
build(struct customers *c, const char *path, char *err, size_t errlen)
{
	struct rw_cidr dup;
	uint32_t a, b;
	char lerr[256], buf[CIDR_STRLEN], ea[128], eb[128];

	if (lpm_build(c->lpm, lerr, sizeof lerr) == 0)
		return 0;
	if (!lpm_duplicate(c->lpm, &dup, &a, &b) || a >= c->n || b >= c->n) {
		snprintf(err, errlen, "%s: %s", path, lerr);
		return -1;
	}
	cidr_format(&dup, buf, sizeof buf);
	text_escape(ea, sizeof ea, c->v[a].id, strlen(c->v[a].id));
	text_escape(eb, sizeof eb, c->v[b].id, strlen(c->v[b].id));
	if (a == b)
		snprintf(err, errlen, "%s:%u: prefix %s listed twice for customer '%s'", path,
		    c->v[b].line, buf, eb);
	else
		snprintf(err, errlen, "%s:%u: prefix %s of customer '%s' is already held by "
		    "customer '%s' (line %u)", path, c->v[b].line, buf, eb, ea, c->v[a].line);
	return -1;
}

/* A map with no customers. */
struct customers *
customers_new_empty(void)
{
	struct customers *c = calloc(1, sizeof *c);
	char err[64];

	if (c == NULL)
		return NULL;
	if ((c->lpm = lpm_new()) == NULL || lpm_build(c->lpm, err, sizeof err) == -1) {
		customers_free(c);
		return NULL;
	}
	return c;
}

/* Reads customers.csv. */
int
customers_load(const char *path, struct customers **out, char *err, size_t errlen)
{
	struct customers *c = NULL;
	struct csv *r = NULL;
	int got, header = 0, ret = -1;

	*out = NULL;
	c = calloc(1, sizeof *c);
	r = calloc(1, sizeof *r);
	if (c == NULL || r == NULL || (c->lpm = lpm_new()) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	r->path = path;
	r->line = 1;
	if ((r->f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	/* a UTF-8 byte order mark, as spreadsheet exports write */
	if (csv_getc(r) == 0xef && csv_getc(r) == 0xbb && csv_getc(r) == 0xbf)
		;
	else
		r->pos = 0;
	while ((got = csv_record(r, err, errlen)) == 1) {
		/* an empty (or blank) line */
		if (r->nf == 1 && !r->quoted && *csv_field(r, 0) == '\0')
			continue;
		if (!header) {
			if (check_header(r, err, errlen) == -1)
				goto out;
			header = 1;
			continue;
		}
		if (r->nf != CSV_COLUMNS) {
			snprintf(err, errlen, "%s:%u: expected 5 fields (id,name,cidrs,contact,"
			    "tags), found %zu", path, r->recline, r->nf);
			goto out;
		}
		if (add_customer(c, r, err, errlen) == -1)
			goto out;
	}
	if (got == -1)
		goto out;
	if (!header) {
		snprintf(err, errlen, "%s:1: missing header (expected id,name,cidrs,contact,"
		    "tags)", path);
		goto out;
	}
	if (build(c, path, err, errlen) == -1)
		goto out;
	*out = c;
	c = NULL;
	ret = 0;
out:
	if (r != NULL) {
		if (r->f != NULL)
			fclose(r->f);
		free(r->rec);
		free(r);
	}
	customers_free(c);
	return ret;
}

/* Frees the map, its arena, its tables. */
void
customers_free(struct customers *c)
{
	struct chunk *ch, *next;

	if (c == NULL)
		return;
	for (ch = c->arena; ch != NULL; ch = next) {
		next = ch->next;
		free(ch);
	}
	lpm_free(c->lpm);
	free(c->ht);
	free(c->v);
	free(c);
}

/* How many customers were read. */
size_t
customers_count(const struct customers *c)
{
	return c->n;
}

/* Customer i in file order. */
const struct customer *
customers_get(const struct customers *c, size_t i)
{
	return i < c->n ? &c->v[i] : NULL;
}

/* The most specific holder of a. */
long
customers_lookup(const struct customers *c, const struct rw_addr *a)
{
	uint32_t i;

	return lpm_lookup(c->lpm, a, &i) && i < c->n ? (long)i : -1;
}

/* The customer with this id, by the hash. */
long
customers_find(const struct customers *c, const char *id)
{
	size_t slot;

	if (id == NULL || c->htcap == 0)
		return -1;
	slot = ht_slot(c, id);
	return c->ht[slot] != 0 ? (long)c->ht[slot] - 1 : -1;
}

/* Whether the customer carries tag (ASCII case ignored). */
int
customer_has_tag(const struct customer *cu, const char *tag)
{
	size_t i;

	/* case-insensitive: an export that writes NEVER_SUSPEND still protects */
	for (i = 0; i < cu->ntags; i++)
		if (strcasecmp(cu->tags[i], tag) == 0)
			return 1;
	return 0;
}
