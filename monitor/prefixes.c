/*
 * prefixes.c — the provider's own space, read from prefixes.txt.
 *
 * For: "is this IP ours, in which ASN, in which range (allocation block or /24, /48)".
 * Owns: the list of prefixes as read (file order) and two longest-prefix tables over it,
 * one for announced prefixes and one for `alloc` blocks; values are indexes into the list.
 * Must never: accept a line it does not fully understand (a typo in provider space shifts
 * every neighbourhood), or change after prefixes_load returns (readers share it unlocked).
 *
 * Format: `CIDR ASN [alloc]` per line, words separated by blanks, ASN as 64500 or AS64500,
 * `#` starts a comment anywhere, blank lines skipped, CRLF tolerated. The same prefix twice
 * in one kind (announced, alloc) is an error; a prefix may be both announced and alloc.
 */
#include "prefixes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lpm.h"
#include "text.h"

#define PFX_LINE_MAX	4096	/* longer lines are not a prefix list */
#define PFX_WORDS	4	/* one more than a valid line has, to notice extra words */

struct prefixes {
	struct prefix *v;	/* file order */
	size_t n, cap;
	struct lpm *announced;	/* value: index into v */
	struct lpm *alloc;
};

/* Reads one line into buf (without its newline). 1 read, 0 at end of file, -1 when the line
 * is longer than cap - 1 bytes (-2 when it holds a NUL byte, -3 on a read error). */
static int
read_line(FILE *f, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	int ch, nul = 0;

	while ((ch = getc_unlocked(f)) != EOF && ch != '\n') {
		if (ch == '\0')
			nul = 1;
		if (n + 1 >= cap)
			return -1;
		buf[n++] = (char)ch;
	}
	if (ch == EOF && ferror(f))
		return -3;
	buf[n] = '\0';
	*len = n;
	if (nul)
		return -2;
	return ch == EOF && n == 0 ? 0 : 1;
}

/* Parses "64500" or "AS64500" (1..4294967295). 0 on success. */
static int
parse_asn(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (strncasecmp(s, "as", 2) == 0)
		s += 2;
	if (s[0] == '\0')
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v == 0 || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Writes "bad CIDR 'x'" or "host bits set in 'x' (did you mean y?)" into msg. */
static int
parse_cidr(const char *word, struct rw_cidr *c, char *msg, size_t msglen)
{
	char esc[128], fixed[CIDR_STRLEN];

	if (cidr_parse(word, c, 1) == 0)
		return 0;
	text_escape(esc, sizeof esc, word, strlen(word));
	if (cidr_parse(word, c, 0) == 0)
		snprintf(msg, msglen, "host bits set in '%s' (did you mean %s?)", esc,
		    cidr_format(c, fixed, sizeof fixed));
	else
		snprintf(msg, msglen, "bad CIDR '%s'", esc);
	return -1;
}

static int
push(struct prefixes *p, const struct prefix *pf)
{
	struct prefix *v;
	size_t ncap;

	if (p->n == p->cap) {
		ncap = p->cap ? p->cap * 2 : 32;
		if (ncap > SIZE_MAX / sizeof *v || ncap > UINT32_MAX)
			return -1;
		v = realloc(p->v, ncap * sizeof *v);
		if (v == NULL)
			return -1;
		p->v = v;
		p->cap = ncap;
	}
	p->v[p->n++] = *pf;
	return 0;
}

/* Freezes one table; a duplicate becomes "FILE:LINE: duplicate WHAT X (first at line N)". */
static int
build(struct prefixes *p, struct lpm *t, const char *what, const char *path, char *err,
    size_t errlen)
{
	struct rw_cidr c;
	uint32_t first, second;
	char lerr[256], buf[CIDR_STRLEN];

	if (lpm_build(t, lerr, sizeof lerr) == 0)
		return 0;
	if (lpm_duplicate(t, &c, &first, &second) && first < p->n && second < p->n)
		snprintf(err, errlen, "%s:%u: duplicate %s %s (first at line %u)", path,
		    p->v[second].line, what, cidr_format(&c, buf, sizeof buf), p->v[first].line);
	else
		snprintf(err, errlen, "%s: %s", path, lerr);
	return -1;
}

/* A set with no provider space. */
struct prefixes *
prefixes_new_empty(void)
{
	struct prefixes *p;
	char err[64];

	p = calloc(1, sizeof *p);
	if (p == NULL)
		return NULL;
	p->announced = lpm_new();
	p->alloc = lpm_new();
	if (p->announced == NULL || p->alloc == NULL ||
	    lpm_build(p->announced, err, sizeof err) == -1 ||
	    lpm_build(p->alloc, err, sizeof err) == -1) {
		prefixes_free(p);
		return NULL;
	}
	return p;
}

/* Reads prefixes.txt. */
int
prefixes_load(const char *path, struct prefixes **out, char *err, size_t errlen)
{
	struct prefixes *p = NULL;
	struct prefix pf;
	FILE *f = NULL;
	char *line = NULL, *word[PFX_WORDS], *s, *hash, *save, esc[128], msg[256];
	size_t len, nw;
	unsigned lineno = 0;
	int r, ret = -1;

	*out = NULL;
	line = malloc(PFX_LINE_MAX + 1);
	p = calloc(1, sizeof *p);
	if (line == NULL || p == NULL || (p->announced = lpm_new()) == NULL ||
	    (p->alloc = lpm_new()) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	for (;;) {
		r = read_line(f, line, PFX_LINE_MAX + 1, &len);
		if (r == 0)
			break;
		lineno++;
		if (r == -1) {
			snprintf(err, errlen, "%s:%u: line longer than %d bytes", path, lineno,
			    PFX_LINE_MAX);
			goto out;
		}
		if (r == -2) {
			snprintf(err, errlen, "%s:%u: NUL byte", path, lineno);
			goto out;
		}
		if (r == -3) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, strerror(errno));
			goto out;
		}
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		nw = 0;
		for (s = strtok_r(line, " \t\r\v\f", &save); s != NULL && nw < PFX_WORDS;
		    s = strtok_r(NULL, " \t\r\v\f", &save))
			word[nw++] = s;
		if (nw == 0)
			continue;
		memset(&pf, 0, sizeof pf);
		pf.line = lineno;
		if (parse_cidr(word[0], &pf.cidr, msg, sizeof msg) == -1) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
			goto out;
		}
		if (nw < 2) {
			snprintf(err, errlen, "%s:%u: missing ASN after %s", path, lineno,
			    cidr_format(&pf.cidr, msg, sizeof msg));
			goto out;
		}
		if (parse_asn(word[1], &pf.asn) == -1) {
			text_escape(esc, sizeof esc, word[1], strlen(word[1]));
			snprintf(err, errlen, "%s:%u: bad ASN '%s' (expected 64500 or AS64500)",
			    path, lineno, esc);
			goto out;
		}
		if (nw >= 3 && strcasecmp(word[2], "alloc") == 0) {
			pf.alloc = 1;
			/* anything after alloc is reported below as word 3 */
		}
		if (nw > 2 + (size_t)pf.alloc) {
			s = word[2 + pf.alloc];
			text_escape(esc, sizeof esc, s, strlen(s));
			snprintf(err, errlen, "%s:%u: unknown word '%s' (expected 'alloc' or "
			    "nothing after the ASN)", path, lineno, esc);
			goto out;
		}
		if (push(p, &pf) == -1 ||
		    lpm_add(pf.alloc ? p->alloc : p->announced, &pf.cidr,
		    (uint32_t)(p->n - 1)) == -1) {
			snprintf(err, errlen, "%s:%u: out of memory", path, lineno);
			goto out;
		}
	}
	if (build(p, p->announced, "prefix", path, err, errlen) == -1 ||
	    build(p, p->alloc, "alloc block", path, err, errlen) == -1)
		goto out;
	*out = p;
	p = NULL;
	ret = 0;
out:
	if (f != NULL)
		fclose(f);
	free(line);
	prefixes_free(p);
	return ret;
}

/* Frees the set. */
void
prefixes_free(struct prefixes *p)
{
	if (p == NULL)
		return;
	lpm_free(p->announced);
	lpm_free(p->alloc);
	free(p->v);
	free(p);
}

/* How many prefixes were read. */
size_t
prefixes_count(const struct prefixes *p)
{
	return p->n;
}

int
prefixes_ours(const struct prefixes *p, const struct rw_addr *a)
{
	return p == NULL || p->n == 0 || prefixes_announced(p, a) != NULL ||
	    prefixes_alloc(p, a) != NULL;
}

/* Prefix i in file order. */
const struct prefix *
prefixes_get(const struct prefixes *p, size_t i)
{
	return i < p->n ? &p->v[i] : NULL;
}

/* The most specific announced prefix holding a. */
const struct prefix *
prefixes_announced(const struct prefixes *p, const struct rw_addr *a)
{
	uint32_t i;

	return lpm_lookup(p->announced, a, &i) && i < p->n ? &p->v[i] : NULL;
}

/* The most specific alloc block holding a. */
const struct prefix *
prefixes_alloc(const struct prefixes *p, const struct rw_addr *a)
{
	uint32_t i;

	return lpm_lookup(p->alloc, a, &i) && i < p->n ? &p->v[i] : NULL;
}

/* The neighbourhood of a. */
void
prefixes_range(const struct prefixes *p, const struct rw_addr *a, struct rw_cidr *out)
{
	const struct prefix *al = prefixes_alloc(p, a);

	if (al != NULL) {
		*out = al->cidr;
		return;
	}
	out->net = *a;
	out->plen = addr_is_v4(a) ? 96 + 24 : 48;
	addr_mask(&out->net, out->plen);
}

/* The origin ASN of a, 0 when not ours. */
uint32_t
prefixes_asn(const struct prefixes *p, const struct rw_addr *a)
{
	const struct prefix *an = prefixes_announced(p, a);

	return an != NULL ? an->asn : 0;
}
