/*
 * dnsbl_lists.c — the DNSBL definitions file (etc/dnsbl.conf) and the rule every answer
 * goes through.
 *
 * For: turning `[list "NAME"]` sections into struct dnsbl_list values, or saying exactly
 * which line is wrong; classifying an A answer for a list (dnsbl_classify).
 * Owns: every list it loads and all their strings, answer sets and codes.
 * Must never: open the data files a list names (`source = file:PATH`; the zone file module
 * reads them, and `rangewatchd -n` checks them separately), accept a key or a section it
 * does not know, hand out a half-read set of lists (an error frees everything; a reload
 * keeps the old set), or touch inih's global options (config.c reads another INI file with
 * the same library).
 *
 * Parsing is inih's, through inifile.c's line reader (shared with config.c: inih r55 does
 * not tell the handler the line number), which hands every `[section]` header to us: a
 * section is opened (and its name checked against the earlier ones) on its header line,
 * and closed (zone and scope required, defaults applied) when the next header or the end
 * of the file comes, with errors naming the header's line.
 *
 * Keys are a table (name, type, default, range). A scalar key given twice in one section is
 * an error naming both lines; `listed`, `blocked`, `code` and `cite` accumulate, git-config
 * style (the first line replaces the default, later lines append), since a line holds at
 * most 199 characters. A value may be wrapped in double quotes, which are dropped.
 *
 * `cite` holds comma-separated, case-insensitive substrings of an SMTP rejection that names
 * the list: plain, `~fallback` or `!exclusion` (struct dnsbl_cite). Only their syntax is
 * checked here; how a reply maps to lists is cite.c's business.
 */
#include "dnsbl_lists.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inifile.h"
#include "text.h"

#define LISTS_NAME_MAX	64	/* characters in a list's NAME */
#define ZONE_MAX	200	/* leaves room for 32 reversed IPv6 nibbles in a query name */
#define MEANING_MAX	160	/* characters in a code's meaning */
#define SET_MAX		4096	/* ranges in one answer set */
#define CODES_MAX	256	/* codes of one list */
#define LOOPBACK_NET	0x7f000000u
#define LOOPBACK_ONE	0x7f000001u

enum lkey_type {
	LK_ZONE,	/* a DNS name */
	LK_SCOPE,	/* ip | range | asn */
	LK_BOOL,	/* yes/no, true/false, on/off, 1/0 */
	LK_SOURCE,	/* dns | file:PATH */
	LK_ANSWERS,	/* a set of 127/8 addresses, CIDRs, ranges (accumulates) */
	LK_CODE,	/* "ADDRESS MEANING" (accumulates) */
	LK_DOUBLE,	/* within [min, max] */
	LK_DURATION,	/* seconds, or a number with s/m/h/d/w, within [min, max] */
	LK_UINT,	/* unsigned, within [min, max] */
	LK_ULONG,	/* unsigned long, within [min, max] */
	LK_CITE		/* comma-separated [~|!]patterns (accumulates) */
};

struct lkey {
	const char *name;
	enum lkey_type type;
	size_t off;		/* the field in struct dnsbl_list */
	const char *def;	/* parsed like a value from the file; NULL: see close_list() */
	double min, max;	/* DOUBLE, DURATION, UINT, ULONG */
};

#define F(field)	offsetof(struct dnsbl_list, field)
#define DAY		86400.0
#define YEAR		(366 * DAY)

static const struct lkey lkeys[] = {
	{ "zone", LK_ZONE, F(zone), NULL, 0, 0 },
	{ "scope", LK_SCOPE, F(scope), NULL, 0, 0 },
	{ "enabled", LK_BOOL, F(enabled), "yes", 0, 0 },
	{ "source", LK_SOURCE, F(file), "dns", 0, 0 },
	{ "listed", LK_ANSWERS, F(listed), "", 0, 0 },
	{ "blocked", LK_ANSWERS, F(blocked), "127.255.255.0/24", 0, 0 },
	{ "code", LK_CODE, F(codes), "", 0, 0 },
	{ "weight", LK_DOUBLE, F(weight), "1", 0, 1000 },
	/* interval: 1d for ip scope, 1h for range and asn scope (close_list); seconds are
	 * allowed for tests and labs: the budgets (max_qps, max_per_day) still hold */
	{ "interval", LK_DURATION, F(interval), NULL, 1, YEAR },
	/* fast_interval: 1h, or the interval when that is shorter (close_list) */
	{ "fast_interval", LK_DURATION, F(fast_interval), NULL, 1, YEAR },
	{ "max_qps", LK_UINT, F(max_qps), "20", 1, 100000 },
	{ "max_per_day", LK_ULONG, F(max_per_day), "0", 0, 1e12 },
	{ "ipv6", LK_BOOL, F(ipv6), "no", 0, 0 },
	{ "txt", LK_BOOL, F(txt), "yes", 0, 0 },
	{ "expiry", LK_DURATION, F(expiry), "7d", 0, YEAR },
	/* cite: the zone, and its registered-domain label as a fallback (close_list) */
	{ "cite", LK_CITE, F(cites), NULL, 0, 0 },
};

#define NLKEYS		(sizeof lkeys / sizeof lkeys[0])

struct dnsbl_lists {
	struct dnsbl_list *v;
	size_t n, cap;
	char *path;		/* as given to dnsbl_lists_load */
};

/* The state of one load (inifile.c keeps the file, the line count and the error). */
struct lists_load {
	struct dnsbl_lists *lists;
	char *dir;		/* the file's folder, absolute */
	struct dnsbl_list *cur;	/* the open section, or NULL */
	unsigned seen[NLKEYS];	/* line where each key of the open section was set */
	unsigned *codeline;	/* line of each code of the open section */
	size_t codelinecap;
};

/* The line where key name was set in the open section, 0 when it was not. */
static unsigned
seen_line(const struct lists_load *ld, const char *name)
{
	size_t i;

	for (i = 0; i < NLKEYS; i++)
		if (strcmp(lkeys[i].name, name) == 0)
			return ld->seen[i];
	return 0;
}

/* --- small parsers --- */

/* An unsigned decimal of at most 15 digits (no sign, no blanks). 0 on success. */
static int
parse_udec(const char *s, const char **end, double *out)
{
	double v = 0;
	size_t n = 0;

	while (*s >= '0' && *s <= '9') {
		if (++n > 15)
			return -1;
		v = v * 10 + (*s - '0');
		s++;
	}
	if (n == 0)
		return -1;
	*out = v;
	*end = s;
	return 0;
}

/* A dotted quad (exactly four decimal octets) -> host order. 0 on success. */
static int
parse_v4(const char *s, size_t len, uint32_t *out)
{
	char buf[16];
	struct in_addr in;

	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &in) != 1)
		return -1;
	*out = ntohl(in.s_addr);
	return 0;
}

static void
format_v4(uint32_t a, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

/* One answer token: "127.0.0.2", "127.0.0.8/29" or "127.0.0.10-127.0.0.14" -> [lo, hi].
 * The reason goes to msg. */
static int
parse_answer(const char *tok, uint32_t *lo, uint32_t *hi, char *msg, size_t msglen)
{
	const char *dash = strchr(tok, '-'), *slash = strchr(tok, '/'), *end;
	char esc[80];
	double bits;
	uint32_t mask;

	text_escape(esc, sizeof esc, tok, strlen(tok));
	if (dash != NULL && slash == NULL) {
		if (parse_v4(tok, (size_t)(dash - tok), lo) == -1 ||
		    parse_v4(dash + 1, strlen(dash + 1), hi) == -1) {
			snprintf(msg, msglen, "'%s' is not a range a.b.c.d-e.f.g.h", esc);
			return -1;
		}
		if (*lo > *hi) {
			snprintf(msg, msglen, "'%s' ends before it starts", esc);
			return -1;
		}
	} else if (slash != NULL && dash == NULL) {
		if (parse_v4(tok, (size_t)(slash - tok), lo) == -1 ||
		    parse_udec(slash + 1, &end, &bits) == -1 || *end != '\0' || bits > 32) {
			snprintf(msg, msglen, "'%s' is not a CIDR a.b.c.d/n", esc);
			return -1;
		}
		mask = bits == 0 ? 0 : UINT32_MAX << (32 - (unsigned)bits);
		if ((*lo & ~mask) != 0) {
			snprintf(msg, msglen, "'%s' has host bits set", esc);
			return -1;
		}
		*hi = *lo | ~mask;
	} else if (dash == NULL && slash == NULL) {
		if (parse_v4(tok, strlen(tok), lo) == -1) {
			snprintf(msg, msglen, "'%s' is not an IPv4 address", esc);
			return -1;
		}
		*hi = *lo;
	} else {
		snprintf(msg, msglen, "'%s' is not an address, CIDR or range", esc);
		return -1;
	}
	if ((*lo >> 24) != 127 || (*hi >> 24) != 127) {
		snprintf(msg, msglen, "'%s' is outside 127.0.0.0/8 (DNSBL answers are loopback "
		    "addresses, RFC 5782)", esc);
		return -1;
	}
	return 0;
}

static int
range_cmp(const void *va, const void *vb)
{
	const uint32_t *a = va, *b = vb;

	if (a[0] != b[0])
		return a[0] < b[0] ? -1 : 1;
	return a[1] < b[1] ? -1 : a[1] > b[1];
}

/* Sorts a set and merges overlapping or adjacent ranges, so lookups can stop early. */
static void
answers_normalize(struct dnsbl_answers *s)
{
	size_t i, k;

	if (s->n < 2)
		return;
	qsort(s->range, s->n, sizeof s->range[0], range_cmp);
	for (i = 1, k = 0; i < s->n; i++) {
		if (s->range[i][0] <= s->range[k][1] ||
		    (s->range[k][1] != UINT32_MAX && s->range[i][0] == s->range[k][1] + 1)) {
			if (s->range[i][1] > s->range[k][1])
				s->range[k][1] = s->range[i][1];
		} else {
			k++;
			s->range[k][0] = s->range[i][0];
			s->range[k][1] = s->range[i][1];
		}
	}
	s->n = k + 1;
}

static int
answers_has(const struct dnsbl_answers *s, uint32_t a)
{
	size_t i;

	for (i = 0; i < s->n && s->range[i][0] <= a; i++)
		if (a <= s->range[i][1])
			return 1;
	return 0;
}

/* Lowercase letters, digits, '-' and '_', 1..63 per label, at most ZONE_MAX in all; one
 * trailing dot is dropped. */
static int
zone_ok(const char *z, char *msg, size_t msglen)
{
	size_t len = strlen(z), label = 0, i;

	if (len > 0 && z[len - 1] == '.')
		len--;
	if (len == 0 || len > ZONE_MAX) {
		snprintf(msg, msglen, "zone: a DNS name of 1 to %d characters is needed",
		    ZONE_MAX);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (z[i] == '.') {
			if (label == 0)
				goto bad;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)z[i]) && z[i] != '-' && z[i] != '_')
			goto bad;
		if (++label > 63)
			goto bad;
	}
	return 0;
bad:
	snprintf(msg, msglen, "zone: not a DNS name (labels of letters, digits, '-' and '_', "
	    "separated by single dots)");
	return -1;
}

/* The label a rejection citing this list usually contains: the zone's registered domain
 * without its suffix ("uceprotect" for dnsbl-1.uceprotect.net). Two-level country suffixes
 * (co.uk, com.au, ...) are recognised by their shape; `cite` overrides. */
static char *
cite_of(const char *zone)
{
	static const char *const second[] = { "co", "com", "net", "org", "ac", "gov", "edu",
	    "or", "ne", "go" };
	const char *label[3] = { NULL, NULL, NULL };	/* last, second to last, third */
	size_t len[3] = { 0, 0, 0 }, zl = strlen(zone), i, k, n = 0;
	const char *p, *end = zone + zl;
	char *c;

	if (zl > 0 && zone[zl - 1] == '.')
		end--;
	for (p = end; n < 3 && p > zone; n++) {
		const char *start = p;

		while (start > zone && start[-1] != '.')
			start--;
		label[n] = start;
		len[n] = (size_t)(p - start);
		p = start > zone ? start - 1 : start;
	}
	k = n >= 2 ? 1 : 0;
	if (n == 3 && len[0] == 2) {
		for (i = 0; i < sizeof second / sizeof second[0]; i++)
			if (len[1] == strlen(second[i]) &&
			    strncasecmp(label[1], second[i], len[1]) == 0)
				k = 2;
	}
	if ((c = strndup(label[k], len[k])) == NULL)
		return NULL;
	for (i = 0; c[i] != '\0'; i++)
		c[i] = (char)tolower((unsigned char)c[i]);
	return c;
}

/* --- one list --- */

static void
list_clear(struct dnsbl_list *l)
{
	size_t i;

	free(l->name);
	free(l->zone);
	free(l->file);
	free(l->listed.range);
	free(l->blocked.range);
	for (i = 0; i < l->ncodes; i++)
		free(l->codes[i].meaning);
	free(l->codes);
	for (i = 0; i < l->ncites; i++)
		free(l->cites[i].text);
	free(l->cites);
	memset(l, 0, sizeof *l);
}

/* Adds [lo, hi] to a set. -1 when out of memory, -2 when full. */
static int
answers_add(struct dnsbl_answers *s, uint32_t lo, uint32_t hi)
{
	uint32_t (*r)[2];

	if (s->n >= SET_MAX)
		return -2;
	if ((r = realloc(s->range, (s->n + 1) * sizeof *r)) == NULL)
		return -1;
	s->range = r;
	s->range[s->n][0] = lo;
	s->range[s->n][1] = hi;
	s->n++;
	return 0;
}

/* Adds one cite pattern (text, len bytes, kind) given on line `line` to l. The reason goes
 * to msg. */
static int
cite_add(struct dnsbl_list *l, const char *text, size_t len, enum dnsbl_cite_kind kind,
    unsigned line, char *msg, size_t msglen)
{
	struct dnsbl_cite *c;
	char esc[96], *t;
	size_t i;

	text_escape(esc, sizeof esc, text, len);
	if (len < 3 || len > DNSBL_CITE_LEN) {
		/* shorter than 3 characters would match almost any reply */
		snprintf(msg, msglen, "cite: '%s' is not a pattern of 3 to %d characters", esc,
		    DNSBL_CITE_LEN);
		return -1;
	}
	for (i = 0; i < len; i++) {
		/* ASCII only: replies are matched case-insensitively byte by byte */
		if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] > 0x7e) {
			snprintf(msg, msglen, "cite: '%s' has a character outside printable ASCII",
			    esc);
			return -1;
		}
	}
	for (i = 0; i < l->ncites; i++) {
		if (strlen(l->cites[i].text) == len &&
		    strncasecmp(l->cites[i].text, text, len) == 0) {
			snprintf(msg, msglen, "cite: '%s' is already given at line %u", esc,
			    l->cites[i].line);
			return -1;
		}
	}
	if (l->ncites >= DNSBL_CITES_MAX) {
		snprintf(msg, msglen, "cite: more than %d patterns", DNSBL_CITES_MAX);
		return -1;
	}
	if ((c = realloc(l->cites, (l->ncites + 1) * sizeof *c)) == NULL)
		goto oom;
	l->cites = c;
	if ((t = strndup(text, len)) == NULL)
		goto oom;
	for (i = 0; i < len; i++)
		t[i] = (char)tolower((unsigned char)t[i]);
	c[l->ncites].text = t;
	c[l->ncites].kind = kind;
	c[l->ncites].line = line;
	l->ncites++;
	return 0;
oom:
	snprintf(msg, msglen, "out of memory");
	return -1;
}

/* A `cite` value: patterns separated by commas, blanks around them dropped, each one plain,
 * or marked ~ (fallback) or ! (exclusion). */
static int
cite_parse(struct dnsbl_list *l, const char *value, unsigned line, char *msg, size_t msglen)
{
	const char *p = value, *end;
	enum dnsbl_cite_kind kind;
	size_t len;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strcspn(p, ",");
		len = (size_t)(end - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		kind = DNSBL_CITE_PLAIN;
		if (len > 0 && (*p == '~' || *p == '!')) {
			kind = *p == '~' ? DNSBL_CITE_FALLBACK : DNSBL_CITE_EXCLUDE;
			p++;
			len--;
		}
		if (len == 0) {
			snprintf(msg, msglen, "cite: an empty pattern (patterns are separated by "
			    "commas)");
			return -1;
		}
		if (*p == '~' || *p == '!') {
			snprintf(msg, msglen, "cite: a pattern takes one mark, ~ or !");
			return -1;
		}
		if (cite_add(l, p, len, kind, line, msg, msglen) == -1)
			return -1;
		if (*end == '\0')
			return 0;
		p = end + 1;
	}
}

/* Sets key k of the open list from value (text_is_clean, quotes dropped) on line `line`;
 * `append` adds to an accumulating key instead of replacing it. The reason, without
 * FILE:LINE, goes to msg. */
static int
set_value(struct lists_load *ld, const struct lkey *k, const char *value, int append,
    unsigned line, char *msg, size_t msglen)
{
	struct dnsbl_list *l = ld->cur;
	struct dnsbl_answers *set;
	struct dnsbl_code *codes;
	char esc[96], why[256], *copy = NULL, *w, *save, *p;
	const char *sp;
	unsigned *cl;
	uint32_t lo, hi, a;
	double d;
	int64_t secs;
	size_t i, n;
	int b, r;

	text_escape(esc, sizeof esc, value, strlen(value));
	switch (k->type) {
	case LK_ZONE:
		if (zone_ok(value, msg, msglen) == -1)
			return -1;
		if ((p = strdup(value)) == NULL)
			goto oom;
		n = strlen(p);
		if (p[n - 1] == '.')
			p[n - 1] = '\0';
		free(l->zone);
		l->zone = p;
		return 0;
	case LK_SCOPE:
		if (strcasecmp(value, "ip") == 0)
			l->scope = DNSBL_SCOPE_IP;
		else if (strcasecmp(value, "range") == 0)
			l->scope = DNSBL_SCOPE_RANGE;
		else if (strcasecmp(value, "asn") == 0)
			l->scope = DNSBL_SCOPE_ASN;
		else {
			snprintf(msg, msglen, "scope: '%s' is not ip, range or asn", esc);
			return -1;
		}
		return 0;
	case LK_BOOL:
		if (inifile_bool(value, 1, &b) == -1) {
			snprintf(msg, msglen, "%s: '%s' is not yes/no, true/false, on/off or 1/0",
			    k->name, esc);
			return -1;
		}
		*(int *)(void *)((char *)l + k->off) = b;
		return 0;
	case LK_SOURCE:
		if (strcasecmp(value, "dns") == 0) {
			free(l->file);
			l->file = NULL;
			return 0;
		}
		if (strncasecmp(value, "file:", 5) != 0 || value[5] == '\0') {
			snprintf(msg, msglen, "source: '%s' is neither dns nor file:PATH", esc);
			return -1;
		}
		if ((p = inifile_path(ld->dir, value + 5)) == NULL)
			goto oom;
		free(l->file);
		l->file = p;
		return 0;
	case LK_ANSWERS:
		set = (struct dnsbl_answers *)(void *)((char *)l + k->off);
		if (!append)
			set->n = 0;
		if ((copy = strdup(value)) == NULL)
			goto oom;
		for (w = strtok_r(copy, " \t,", &save); w != NULL;
		    w = strtok_r(NULL, " \t,", &save)) {
			if (parse_answer(w, &lo, &hi, why, sizeof why) == -1) {
				snprintf(msg, msglen, "%s: %s", k->name, why);
				free(copy);
				return -1;
			}
			if (k->off == F(listed) && lo == LOOPBACK_ONE && hi == LOOPBACK_ONE) {
				snprintf(msg, msglen, "listed: 127.0.0.1 never means listed "
				    "(RFC 5782)");
				free(copy);
				return -1;
			}
			if ((r = answers_add(set, lo, hi)) == -1)
				goto oom;
			if (r == -2) {
				snprintf(msg, msglen, "%s: more than %d entries", k->name, SET_MAX);
				free(copy);
				return -1;
			}
		}
		free(copy);
		return 0;
	case LK_CODE:
		if (value[0] == '\0') {
			if (append) {
				snprintf(msg, msglen, "code: 'ADDRESS MEANING' expected");
				return -1;
			}
			return 0;	/* the default: no codes */
		}
		n = strcspn(value, " \t");
		for (sp = value + n; *sp == ' ' || *sp == '\t'; sp++)
			;
		if (parse_v4(value, n, &a) == -1 || (a >> 24) != 127) {
			snprintf(msg, msglen, "code: '%s' does not start with an address in "
			    "127.0.0.0/8", esc);
			return -1;
		}
		if (*sp == '\0' || strlen(sp) > MEANING_MAX) {
			snprintf(msg, msglen, "code: '%s' needs a meaning of 1 to %d characters "
			    "after the address", esc, MEANING_MAX);
			return -1;
		}
		for (i = 0; i < l->ncodes; i++) {
			if (l->codes[i].addr == a) {
				format_v4(a, esc, sizeof esc);
				snprintf(msg, msglen, "code: %s is already defined at line %u",
				    esc, ld->codeline[i]);
				return -1;
			}
		}
		if (l->ncodes >= CODES_MAX) {
			snprintf(msg, msglen, "code: more than %d codes", CODES_MAX);
			return -1;
		}
		if (l->ncodes >= ld->codelinecap) {
			n = ld->codelinecap ? ld->codelinecap * 2 : 16;
			if ((cl = realloc(ld->codeline, n * sizeof *cl)) == NULL)
				goto oom;
			ld->codeline = cl;
			ld->codelinecap = n;
		}
		if ((codes = realloc(l->codes, (l->ncodes + 1) * sizeof *codes)) == NULL)
			goto oom;
		l->codes = codes;
		if ((codes[l->ncodes].meaning = strdup(sp)) == NULL)
			goto oom;
		codes[l->ncodes].addr = a;
		ld->codeline[l->ncodes] = line;
		l->ncodes++;
		return 0;
	case LK_DOUBLE:
		if (inifile_double(value, &d) == -1) {
			snprintf(msg, msglen, "%s: '%s' is not a number", k->name, esc);
			return -1;
		}
		if (d < k->min || d > k->max) {
			snprintf(msg, msglen, "%s: %s is out of range (%g..%g)", k->name, esc,
			    k->min, k->max);
			return -1;
		}
		*(double *)(void *)((char *)l + k->off) = d;
		return 0;
	case LK_DURATION:
		if (text_duration(value, &secs) == -1) {
			snprintf(msg, msglen, "%s: '%s' is not a duration (seconds, or a number "
			    "with s, m, h, d or w)", k->name, esc);
			return -1;
		}
		d = (double)secs;
		if (d < k->min || d > k->max) {
			snprintf(msg, msglen, "%s: %s is out of range (%.0fs..%.0fd)", k->name,
			    esc, k->min, k->max / DAY);
			return -1;
		}
		*(unsigned *)(void *)((char *)l + k->off) = (unsigned)d;
		return 0;
	case LK_UINT:
	case LK_ULONG:
		if (parse_udec(value, &sp, &d) == -1 || *sp != '\0') {
			snprintf(msg, msglen, "%s: '%s' is not a whole number", k->name, esc);
			return -1;
		}
		if (d < k->min || d > k->max) {
			snprintf(msg, msglen, "%s: %s is out of range (%.0f..%.0f)", k->name, esc,
			    k->min, k->max);
			return -1;
		}
		if (k->type == LK_UINT)
			*(unsigned *)(void *)((char *)l + k->off) = (unsigned)d;
		else
			*(unsigned long *)(void *)((char *)l + k->off) = (unsigned long)d;
		return 0;
	case LK_CITE:
		return cite_parse(l, value, line, msg, msglen);
	}
	snprintf(msg, msglen, "%s: bad key type", k->name);
	return -1;
oom:
	free(copy);
	snprintf(msg, msglen, "out of memory");
	return -1;
}

/* The patterns of a list without `cite`: a rejection naming the zone names the list; the
 * bare domain label ("spamhaus") only when no more precise pattern matched ("blocked by
 * UCEPROTECT"). A zone too long or too short to be a pattern leaves the label alone, plain. */
static int
cite_default(struct dnsbl_list *l, char *msg, size_t msglen)
{
	char *label = cite_of(l->zone);
	size_t zl = strlen(l->zone), ll;
	int ret = -1;

	if (label == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	ll = strlen(label);
	if (zl >= 3 && zl <= DNSBL_CITE_LEN) {
		if (cite_add(l, l->zone, zl, DNSBL_CITE_PLAIN, l->line, msg, msglen) == -1)
			goto out;
		if (ll >= 3 && strcmp(label, l->zone) != 0 &&
		    cite_add(l, label, ll, DNSBL_CITE_FALLBACK, l->line, msg, msglen) == -1)
			goto out;
	} else if (ll >= 3 && ll <= DNSBL_CITE_LEN &&
	    cite_add(l, label, ll, DNSBL_CITE_PLAIN, l->line, msg, msglen) == -1)
		goto out;
	ret = 0;
out:
	free(label);
	return ret;
}

/* --- reading --- */

/* Ends the open section: zone and scope are required, the defaults that depend on other
 * keys are applied, the answer sets are normalised. -1 (after inifile_fail) when it is
 * incomplete. */
static int
close_list(struct inifile *ini, struct lists_load *ld)
{
	struct dnsbl_list *l = ld->cur;
	char esc[96], why[256];

	if (l == NULL)
		return 0;
	ld->cur = NULL;
	text_escape(esc, sizeof esc, l->name, strlen(l->name));
	if (l->zone == NULL) {
		inifile_fail(ini, l->line, "[list \"%s\"] has no zone (zone = DNSNAME is "
		    "required)", esc);
		return -1;
	}
	if (seen_line(ld, "scope") == 0) {
		inifile_fail(ini, l->line, "[list \"%s\"] has no scope (scope = ip, range or asn "
		    "is required)", esc);
		return -1;
	}
	if (seen_line(ld, "interval") == 0)
		l->interval = l->scope == DNSBL_SCOPE_IP ? 86400 : 3600;
	if (seen_line(ld, "fast_interval") == 0)
		l->fast_interval = l->interval < 3600 ? l->interval : 3600;
	else if (l->fast_interval > l->interval) {
		inifile_fail(ini, seen_line(ld, "fast_interval"), "[list \"%s\"] fast_interval "
		    "(%us) is longer than interval (%us)", esc, l->fast_interval, l->interval);
		return -1;
	}
	if (seen_line(ld, "cite") == 0 && cite_default(l, why, sizeof why) == -1) {
		inifile_fail(ini, l->line, "[list \"%s\"] %s", esc, why);
		return -1;
	}
	answers_normalize(&l->listed);
	answers_normalize(&l->blocked);
	return 0;
}

/* Opens the section `list "NAME"` (s, len bytes, without the brackets) on line `line`:
 * checks the header and the name, and makes the list with its defaults. */
static int
open_list(struct inifile *ini, struct lists_load *ld, const char *s, size_t len,
    unsigned line)
{
	struct dnsbl_lists *ls = ld->lists;
	struct dnsbl_list *l, *v;
	struct inifile_header h;
	char msg[256], esc[96];
	const char *name;
	size_t nl, i, ncap;

	inifile_header(s, len, &h);
	text_escape(esc, sizeof esc, h.text, h.len);
	if (h.namelen != 4 || strncasecmp(h.name, "list", 4) != 0) {
		inifile_fail(ini, line, "unknown section [%s] (expected [list \"NAME\"])", esc);
		return -1;
	}
	if (h.restlen == 0) {
		inifile_fail(ini, line, "section [list] needs a name: [list \"NAME\"]");
		return -1;
	}
	if (!h.quoted) {
		inifile_fail(ini, line, "bad section name [%s] (expected [list \"NAME\"])", esc);
		return -1;
	}
	name = h.rest + 1;
	nl = h.restlen - 2;
	if (nl > LISTS_NAME_MAX || !text_is_clean(name, nl)) {
		inifile_fail(ini, line, "bad list name in [%s] (at most %d printable "
		    "characters)", esc, LISTS_NAME_MAX);
		return -1;
	}
	for (i = 0; i < ls->n; i++) {
		if (strlen(ls->v[i].name) == nl && strncasecmp(ls->v[i].name, name, nl) == 0) {
			inifile_fail(ini, line, "[%s] is already defined at line %u", esc,
			    ls->v[i].line);
			return -1;
		}
	}
	if (ls->n == ls->cap) {
		ncap = ls->cap ? ls->cap * 2 : 16;
		if ((v = realloc(ls->v, ncap * sizeof *v)) == NULL)
			goto oom;
		ls->v = v;
		ls->cap = ncap;
	}
	l = &ls->v[ls->n];
	memset(l, 0, sizeof *l);
	if ((l->name = strndup(name, nl)) == NULL)
		goto oom;
	l->line = line;
	ls->n++;
	ld->cur = l;
	memset(ld->seen, 0, sizeof ld->seen);
	for (i = 0; i < NLKEYS; i++) {
		if (lkeys[i].def != NULL &&
		    set_value(ld, &lkeys[i], lkeys[i].def, 0, line, msg, sizeof msg) == -1) {
			inifile_fail(ini, line, "%s", msg);
			return -1;
		}
	}
	return 0;
oom:
	inifile_fail(ini, line, "out of memory");
	return -1;
}

/* inifile's section check: a header closes the open list and opens the next. */
static int
lists_section(struct inifile *ini, void *arg, const char *s, size_t len, unsigned line)
{
	struct lists_load *ld = arg;

	if (close_list(ini, ld) == -1 || open_list(ini, ld, s, len, line) == -1)
		return -1;
	return 0;
}

/* inifile's end of file: closes the last list. */
static void
lists_end(struct inifile *ini, void *arg)
{
	close_list(ini, arg);
}

/* inifile's key handler, called for every key = value. */
static int
lists_key(struct inifile *ini, void *arg, const char *section, const char *name,
    const char *value, unsigned line)
{
	struct lists_load *ld = arg;
	const struct lkey *k = NULL;
	char why[384], esc[96], nesc[96], *v = NULL;
	size_t i, vl;
	int append;

	(void)section;	/* the section callbacks track the open list themselves */
	text_escape(esc, sizeof esc, name, strlen(name));
	if (ld->cur == NULL) {
		inifile_fail(ini, line, "key '%s' outside any [list \"NAME\"] section", esc);
		return -1;
	}
	text_escape(nesc, sizeof nesc, ld->cur->name, strlen(ld->cur->name));
	for (i = 0; i < NLKEYS; i++) {
		if (strcasecmp(lkeys[i].name, name) == 0) {
			k = &lkeys[i];
			break;
		}
	}
	if (k == NULL) {
		inifile_fail(ini, line, "unknown key '%s' in [list \"%s\"]", esc, nesc);
		return -1;
	}
	append = ld->seen[i] != 0;
	if (append && k->type != LK_ANSWERS && k->type != LK_CODE && k->type != LK_CITE) {
		inifile_fail(ini, line, "[list \"%s\"] %s is already set at line %u", nesc,
		    k->name, ld->seen[i]);
		return -1;
	}
	if (!text_is_clean(value, strlen(value))) {
		inifile_fail(ini, line, "[list \"%s\"] %s: control character or bad UTF-8 in "
		    "the value", nesc, k->name);
		return -1;
	}
	vl = strlen(value);
	if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"')
		v = strndup(value + 1, vl - 2);
	else
		v = strdup(value);
	if (v == NULL) {
		inifile_fail(ini, line, "out of memory");
		return -1;
	}
	if (set_value(ld, k, v, append, line, why, sizeof why) == -1) {
		inifile_fail(ini, line, "[list \"%s\"] %s", nesc, why);
		free(v);
		return -1;
	}
	free(v);
	if (ld->seen[i] == 0)
		ld->seen[i] = line;
	return 0;
}

static const struct inifile_ops lists_ops = {
	.section = lists_section,
	.key = lists_key,
	.end = lists_end,
	.header = "[list \"NAME\"]",
	.long_hint = "split a listed, blocked or code value over several lines with the "
	    "same key",
	.unterminated = 1,
};

/* Reads path into a new set of lists. */
int
dnsbl_lists_load(const char *path, struct dnsbl_lists **out, char *err, size_t errlen)
{
	struct lists_load ld;
	int ret = -1;

	*out = NULL;
	memset(&ld, 0, sizeof ld);
	if ((ld.dir = inifile_dir(path)) == NULL ||
	    (ld.lists = calloc(1, sizeof *ld.lists)) == NULL ||
	    (ld.lists->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (inifile_parse(path, &lists_ops, &ld, err, errlen) == -1)
		goto out;
	*out = ld.lists;
	ld.lists = NULL;
	ret = 0;
out:
	free(ld.dir);
	free(ld.codeline);
	dnsbl_lists_free(ld.lists);
	return ret;
}

/* Frees every list and the set. */
void
dnsbl_lists_free(struct dnsbl_lists *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		list_clear(&l->v[i]);
	free(l->v);
	free(l->path);
	free(l);
}

/* How many lists were defined (enabled or not). */
size_t
dnsbl_lists_count(const struct dnsbl_lists *l)
{
	return l == NULL ? 0 : l->n;
}

/* The i-th list in file order, or NULL past the end. */
const struct dnsbl_list *
dnsbl_lists_get(const struct dnsbl_lists *l, size_t i)
{
	return l == NULL || i >= l->n ? NULL : &l->v[i];
}

/* The path given to dnsbl_lists_load ("" for NULL). */
const char *
dnsbl_lists_path(const struct dnsbl_lists *l)
{
	return l == NULL || l->path == NULL ? "" : l->path;
}

/* The list called name (case-insensitive, as duplicates are), or NULL. */
const struct dnsbl_list *
dnsbl_lists_find(const struct dnsbl_lists *l, const char *name)
{
	size_t i;

	for (i = 0; l != NULL && i < l->n; i++)
		if (strcasecmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

/* RFC 5782 and the list's own sets: refusal codes first, then loopback, then listed. */
enum dnsbl_verdict
dnsbl_classify(const struct dnsbl_list *list, uint32_t a)
{
	if (answers_has(&list->blocked, a))
		return DNSBL_V_BLOCKED;
	if ((a & 0xff000000u) != LOOPBACK_NET || a == LOOPBACK_ONE)
		return DNSBL_V_ERROR;
	if (list->listed.n == 0 || answers_has(&list->listed, a))
		return DNSBL_V_LISTED;
	return DNSBL_V_ERROR;
}

/* The meaning the definition gives code a, or NULL. */
const char *
dnsbl_code_meaning(const struct dnsbl_list *list, uint32_t a)
{
	size_t i;

	for (i = 0; i < list->ncodes; i++)
		if (list->codes[i].addr == a)
			return list->codes[i].meaning;
	return NULL;
}

/* "ip", "range" or "asn". */
const char *
dnsbl_scope_name(enum dnsbl_scope s)
{
	switch (s) {
	case DNSBL_SCOPE_IP:
		return "ip";
	case DNSBL_SCOPE_RANGE:
		return "range";
	case DNSBL_SCOPE_ASN:
		return "asn";
	}
	return "?";
}
