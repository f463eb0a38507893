/*
 * cite.c — the table that maps a rejection's pattern bits to the lists it names.
 *
 * For: compiling the lists' cite patterns and the capture words into distinct patterns
 * (the parser's words) and per-list masks; answering, per reply, whether it names a list.
 * Owns: the installed table, with copies of every string it needs (the lists it was built
 * from may be freed and reloaded after cite_install returns).
 * Must never: touch a reply's text (the parser does), or install half a table (an error
 * keeps the previous one).
 */
#include "cite.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp.h"
#include "text.h"

struct cite_list {
	char *name;
	uint64_t plain, fallback, exclude;	/* its patterns, by kind */
};

struct cite_table {
	char *pat[CITE_PATTERNS_MAX];	/* distinct, lower case */
	size_t npat;
	uint64_t plain;			/* patterns plain in some list */
	uint64_t words;			/* patterns that are capture words */
	uint64_t shadow[CITE_PATTERNS_MAX]; /* per pattern: the plain ones containing it */
	struct cite_list *lists;
	size_t nlists;
};

static struct cite_table *active;

static void
table_free(struct cite_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->npat; i++)
		free(t->pat[i]);
	for (i = 0; i < t->nlists; i++)
		free(t->lists[i].name);
	free(t->lists);
	free(t);
}

/* The index of pattern text (len bytes), added when new. -1 when out of memory, -2 when
 * the table is full. */
static int
pattern_index(struct cite_table *t, const char *text, size_t len)
{
	size_t i;
	char *p;

	for (i = 0; i < t->npat; i++)
		if (strlen(t->pat[i]) == len && strncasecmp(t->pat[i], text, len) == 0)
			return (int)i;
	if (t->npat >= CITE_PATTERNS_MAX)
		return -2;
	if ((p = strndup(text, len)) == NULL)
		return -1;
	for (i = 0; i < len; i++)
		p[i] = (char)tolower((unsigned char)p[i]);
	t->pat[t->npat] = p;
	return (int)t->npat++;
}

/* The lists' patterns, in file order. */
static int
add_lists(struct cite_table *t, const struct dnsbl_lists *lists, char *err, size_t errlen)
{
	const struct dnsbl_list *l;
	const struct dnsbl_cite *c;
	char esc[96], nesc[96];
	size_t i, k;
	int p;

	t->nlists = dnsbl_lists_count(lists);
	if (t->nlists > 0 && (t->lists = calloc(t->nlists, sizeof *t->lists)) == NULL)
		goto oom;
	for (i = 0; i < t->nlists; i++) {
		l = dnsbl_lists_get(lists, i);
		if ((t->lists[i].name = strdup(l->name)) == NULL)
			goto oom;
		for (k = 0; k < l->ncites; k++) {
			c = &l->cites[k];
			if ((p = pattern_index(t, c->text, strlen(c->text))) == -1)
				goto oom;
			if (p == -2) {
				text_escape(esc, sizeof esc, c->text, strlen(c->text));
				text_escape(nesc, sizeof nesc, l->name, strlen(l->name));
				snprintf(err, errlen, "%s:%u: [list \"%s\"] cite: '%s' is one distinct "
				    "pattern too many (at most %d in all, [capture] cite words "
				    "included)", dnsbl_lists_path(lists), c->line, nesc, esc,
				    CITE_PATTERNS_MAX);
				return -1;
			}
			switch (c->kind) {
			case DNSBL_CITE_PLAIN:
				t->lists[i].plain |= (uint64_t)1 << p;
				t->plain |= (uint64_t)1 << p;
				break;
			case DNSBL_CITE_FALLBACK:
				t->lists[i].fallback |= (uint64_t)1 << p;
				break;
			case DNSBL_CITE_EXCLUDE:
				t->lists[i].exclude |= (uint64_t)1 << p;
				break;
			}
		}
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* The capture words; a word already among the lists' patterns shares its bit. */
static int
add_words(struct cite_table *t, const char *const *words, size_t nwords, char *err,
    size_t errlen)
{
	char esc[96];
	size_t i, len;
	int p;

	for (i = 0; i < nwords; i++) {
		if ((len = strlen(words[i])) == 0)
			continue;
		text_escape(esc, sizeof esc, words[i], len);
		if (len > DNSBL_CITE_LEN) {
			snprintf(err, errlen, "[capture] cite: '%s' is longer than %d characters",
			    esc, DNSBL_CITE_LEN);
			return -1;
		}
		if ((p = pattern_index(t, words[i], len)) == -1) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (p == -2) {
			snprintf(err, errlen, "[capture] cite: '%s' is one distinct pattern too many "
			    "(at most %d with the lists' cite patterns)", esc, CITE_PATTERNS_MAX);
			return -1;
		}
		t->words |= (uint64_t)1 << p;
	}
	return 0;
}

/* Compiles and installs a new table. */
int
cite_install(const struct dnsbl_lists *lists, const char *const *words, size_t nwords,
    char *err, size_t errlen)
{
	struct cite_table *t;
	size_t f, p;

	if ((t = calloc(1, sizeof *t)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (add_lists(t, lists, err, errlen) == -1 ||
	    add_words(t, words, nwords, err, errlen) == -1) {
		table_free(t);
		return -1;
	}
	/* a fallback steps aside for any plain pattern that is more precise than it */
	for (f = 0; f < t->npat; f++)
		for (p = 0; p < t->npat; p++)
			if ((t->plain >> p & 1) && strstr(t->pat[p], t->pat[f]) != NULL)
				t->shadow[f] |= (uint64_t)1 << p;
	smtp_set_cite_words((const char *const *)t->pat, t->npat);
	table_free(active);
	active = t;
	return 0;
}

/* Frees the table and leaves the parser without words. */
void
cite_clear(void)
{
	smtp_set_cite_words(NULL, 0);
	table_free(active);
	active = NULL;
}

/* How many lists the table knows. */
size_t
cite_nlists(void)
{
	return active == NULL ? 0 : active->nlists;
}

/* List i's name, or NULL. */
const char *
cite_list_name(size_t i)
{
	return active == NULL || i >= active->nlists ? NULL : active->lists[i].name;
}

/* Exclusions first, then plain patterns, then fallbacks that no plain match shadows. */
int
cite_names(uint64_t hits, size_t i)
{
	const struct cite_list *l;
	uint64_t m;
	unsigned f;

	if (active == NULL || i >= active->nlists || hits == 0)
		return 0;
	l = &active->lists[i];
	if (hits & l->exclude)
		return 0;
	if (hits & l->plain)
		return 1;
	for (m = hits & l->fallback; m != 0; m &= m - 1) {
		f = (unsigned)__builtin_ctzll(m);
		if ((hits & active->shadow[f]) == 0)
			return 1;
	}
	return 0;
}

/* A capture word, or any list named. */
int
cite_any(uint64_t hits)
{
	size_t i;

	if (active == NULL || hits == 0)
		return 0;
	if (hits & active->words)
		return 1;
	for (i = 0; i < active->nlists; i++)
		if (cite_names(hits, i))
			return 1;
	return 0;
}

/* How many distinct patterns the parser searches for. */
size_t
cite_npatterns(void)
{
	return active == NULL ? 0 : active->npat;
}

/* Pattern i (lower case, without its mark), or NULL. */
const char *
cite_pattern(size_t i)
{
	return active == NULL || i >= active->npat ? NULL : active->pat[i];
}
