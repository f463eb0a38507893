/*
 * zonefile.c — a DNSBL's data from a local file in rbldnsd's format.
 *
 * For: answering "is this IP listed, with which A and TXT" from the copy a list publishes
 * by rsync (UCEPROTECT, PSBL, ivmSIP), the way rbldnsd would answer it over DNS.
 * Owns: the path, the data read from it (two longest-prefix tables, one for IPv4 and one
 * for IPv6 entries, whose values index an array of (A, TXT template) pairs; the templates
 * live in one text arena) and what it knows about the file on disk.
 * Must never: serve a half-read file (a load builds new data and swaps it in only when the
 * whole file was good; a file that changes while being read is refused), read a file that
 * is not a regular file, or allocate during a lookup.
 *
 * The syntax is the union of rbldnsd's ip4set, ip4trie and ip6trie datasets (rbldnsd(8)),
 * since a file does not say which type it was written for:
 *   - blank lines and lines starting with '#' or ';' are comments;
 *   - a line starting with '$' (or "#$", ";$", ":$") is a special: "$N text" (N a digit)
 *     defines a substitution variable and "$= text" the base template (the first
 *     definition wins, as in rbldnsd); $SOA, $NS, $TTL, $TIMESTAMP, $MAXRANGE4 and any
 *     other special are ignored;
 *   - ":A:TXT" alone sets the default value of the entries that follow: A as 127.0.0.x
 *     (":2"), a.b.c.d, or inet_aton's short forms; "TXT" the template;
 *   - an entry is an address, a prefix of 2 to 4 octets ("10.1" = 10.1.0.0/16), a CIDR
 *     ("10/8", "10.1.2.0/24"), a range ("a.b.c.d-e.f.g.h", "10.1.2.3-9": a one-octet end
 *     replaces the last octet given; a shorter end is completed with 255s), or an IPv6
 *     address or prefix ("2001:db8:1" = 2001:db8:1::/48, "2001:db8::/32", "::1"); '!'
 *     before it makes an exclusion;
 *   - after an entry: nothing or a comment (the default value), ":A:TXT", ":A:" (A
 *     without TXT), ":A" (A with the default TXT), or a bare TXT (the default A). IPv6
 *     entries need a blank before their value.
 * In a TXT template "$" is the queried address, "$$" a dollar sign, "$N" variable N (left
 * as written when undefined); with a base template, "$=" in it is the entry's text (the
 * address when there is none); an entry text starting with "=" bypasses the base template
 * (the "=" is dropped, with or without one). A template
 * is cut at 255 bytes, as rbldnsd does. The TXT returned is raw third-party text: callers
 * escape it like any DNS TXT.
 *
 * Precedence: the most specific prefix wins, so an exclusion beats a wider listing and a
 * listing inside an exclusion is listed again. Ranges are split into CIDRs. The same prefix
 * given twice is common in published files and never fails a load: an exclusion beats a
 * listing of the same prefix (ip4set's behaviour), otherwise the first one wins (ip4trie's;
 * ip4set would answer with both A records, we give the first).
 *
 * Where rbldnsd warns and skips a line it cannot read (a bad address, host bits set past a
 * CIDR's length, a bad value), the load fails with FILE:LINE: a data file that is wrong in
 * one place may be wrong in more, and a refresh then keeps the data it had. gzip-compressed
 * files are refused (rsync the plain file). Lines hold at most 4095 bytes.
 */
#include "zonefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "lpm.h"
#include "text.h"

#define ZF_LINE_MAX	4096
#define ZF_TXT_MAX	255		/* a TXT string, as rbldnsd cuts templates */
#define ZF_NOTXT	UINT32_MAX	/* a value without TXT */
#define ZF_EXCLUDED	0		/* the value index of exclusions */
#define ZF_DEFAULT	1		/* the value index of rbldnsd's default: 127.0.0.2, no TXT */
#define ZF_NSUBST	11		/* $0..$9, and $= at index 10 */
#define ZF_BASE		10
#define ZF_MAXVAL	(UINT32_MAX - 1)	/* lpm reserves UINT32_MAX */

/* An entry's answer: the A record and the offset of its TXT template in the text arena. */
struct zf_value {
	uint32_t a;
	uint32_t txt;
};

/* An IPv4 entry while loading, as two sort keys: (network, length, listing after
 * exclusion) and (line, value). */
struct zf_e4 {
	uint64_t k1;
	uint64_t k2;
};

struct zf_e6 {
	uint64_t hi, lo;
	uint32_t line, value;
	uint8_t plen, listing;	/* 0 for an exclusion, so exclusions sort first */
};

/* What one load produced; immutable once built. */
struct zf_data {
	struct lpm *v4, *v6;	/* value: index into val */
	struct zf_value *val;
	size_t nval, valcap;
	char *text;		/* NUL-terminated templates */
	size_t textlen, textcap;
	uint32_t subst[ZF_NSUBST];
	size_t count;
};

/* The identity of the file on disk, to notice a change. */
struct zf_sig {
	int err;		/* errno of a failed stat, 0 when it worked */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

struct zonefile {
	char *path;
	struct zf_data *d;
	struct zf_sig seen;	/* the file as last looked at */
	char broken[256];	/* why the file on disk is not what is served; "" when it is */
};

/* The state of one load. */
struct zf_load {
	struct zf_data *d;
	const char *path;
	unsigned lineno;
	uint32_t def;		/* the value index of the current default */
	struct zf_e4 *e4;
	size_t n4, cap4;
	struct zf_e6 *e6;
	size_t n6, cap6;
	char *err;
	size_t errlen;
};

/* --- data --- */

static void
data_free(struct zf_data *d)
{
	if (d == NULL)
		return;
	lpm_free(d->v4);
	lpm_free(d->v6);
	free(d->val);
	free(d->text);
	free(d);
}

static void
fail(struct zf_load *ld, const char *what)
{
	snprintf(ld->err, ld->errlen, "%s:%u: %s", ld->path, ld->lineno, what);
}

/* Stores len bytes of s (cut at ZF_TXT_MAX) as a template; its offset in *off (ZF_NOTXT
 * when len is 0). -1 when out of memory or the arena is full. */
static int
text_add(struct zf_data *d, const char *s, size_t len, uint32_t *off)
{
	size_t ncap;
	char *t;

	if (len == 0) {
		*off = ZF_NOTXT;
		return 0;
	}
	if (len > ZF_TXT_MAX)
		len = ZF_TXT_MAX;
	if (d->textlen + len + 1 > d->textcap) {
		ncap = d->textcap ? d->textcap : 4096;
		while (ncap < d->textlen + len + 1)
			ncap *= 2;
		if (ncap >= ZF_NOTXT || (t = realloc(d->text, ncap)) == NULL)
			return -1;
		d->text = t;
		d->textcap = ncap;
	}
	memcpy(d->text + d->textlen, s, len);
	d->text[d->textlen + len] = '\0';
	*off = (uint32_t)d->textlen;
	d->textlen += len + 1;
	return 0;
}

/* Appends a value; its index in *idx. -1 when out of memory or full. */
static int
value_add(struct zf_data *d, uint32_t a, uint32_t txt, uint32_t *idx)
{
	struct zf_value *v;
	size_t ncap;

	if (d->nval >= ZF_MAXVAL)
		return -1;
	if (d->nval == d->valcap) {
		ncap = d->valcap ? d->valcap * 2 : 1024;
		if ((v = realloc(d->val, ncap * sizeof *v)) == NULL)
			return -1;
		d->val = v;
		d->valcap = ncap;
	}
	d->val[d->nval].a = a;
	d->val[d->nval].txt = txt;
	*idx = (uint32_t)d->nval++;
	return 0;
}

/* --- parsing --- */

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static const char *
skip_blanks(const char *s)
{
	while (is_blank(*s))
		s++;
	return s;
}

/* 1 to 4 dotted decimal octets at *sp: the address with the missing octets 0, and how
 * many octets there were. -1 when there is no octet or one is over 255. */
static int
v4_octets(const char **sp, uint32_t *a, unsigned *n)
{
	const char *s = *sp;
	unsigned o, digits;

	*a = 0;
	*n = 0;
	for (;;) {
		for (o = 0, digits = 0; *s >= '0' && *s <= '9'; s++) {
			if (++digits > 3)
				return -1;
			o = o * 10 + (unsigned)(*s - '0');
		}
		if (digits == 0 || o > 255)
			return -1;
		*a |= o << (24 - 8 * *n);
		(*n)++;
		if (*n == 4 || *s != '.' || s[1] < '0' || s[1] > '9')
			break;
		s++;
	}
	*sp = s;
	return 0;
}

static uint32_t
v4_mask(unsigned bits)
{
	return bits == 0 ? 0 : UINT32_MAX << (32 - bits);
}

/* An IPv4 entry at *sp -> [lo, hi]. The reason goes to why. */
static int
v4_entry(const char **sp, uint32_t *lo, uint32_t *hi, const char **why)
{
	const char *s = *sp;
	uint32_t a, b, m;
	unsigned n, nb, bits, digits;

	if (v4_octets(&s, &a, &n) == -1) {
		*why = "invalid IPv4 address";
		return -1;
	}
	if (*s == '-') {
		s++;
		if (v4_octets(&s, &b, &nb) == -1) {
			*why = "invalid end of range";
			return -1;
		}
		if (nb == 1 && n > 1) {
			/* "10.1.2.3-9": the end replaces the last octet given */
			m = 0xffu << (32 - 8 * n);
			b = (a & ~m) | ((b >> 24) << (32 - 8 * n));
			nb = n;
		}
		b |= ~v4_mask(8 * nb);
		if (a > b) {
			*why = "range ends before it starts";
			return -1;
		}
		*lo = a;
		*hi = b;
	} else if (*s == '/') {
		s++;
		for (bits = 0, digits = 0; *s >= '0' && *s <= '9'; s++) {
			if (++digits > 2)
				break;
			bits = bits * 10 + (unsigned)(*s - '0');
		}
		if (digits == 0 || digits > 2 || bits > 32) {
			*why = "invalid prefix length";
			return -1;
		}
		if ((a & ~v4_mask(bits)) != 0) {
			*why = "host bits set past the prefix length";
			return -1;
		}
		*lo = a;
		*hi = a | ~v4_mask(bits);
	} else {
		if (n == 1) {
			*why = "a bare number is not an entry (write 10/8 or 10.0.0.0/8)";
			return -1;
		}
		*lo = a;
		*hi = a | ~v4_mask(8 * n);
	}
	*sp = s;
	return 0;
}

/* An IPv6 entry at *sp (up to a blank, a comment or the end) -> network and length. */
static int
v6_entry(const char **sp, uint8_t net[16], unsigned *plen, const char **why)
{
	char buf[64];
	const char *s = *sp, *end = s, *slash, *p;
	size_t len, alen;
	unsigned bits, groups = 1, digits = 0, i;
	int compressed;

	while (*end != '\0' && !is_blank(*end) && *end != '#' && *end != ';')
		end++;
	len = (size_t)(end - s);
	if (len == 0 || len + 3 > sizeof buf) {
		*why = "invalid IPv6 address";
		return -1;
	}
	slash = memchr(s, '/', len);
	alen = slash != NULL ? (size_t)(slash - s) : len;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	compressed = strstr(buf, "::") != NULL;
	if (!compressed) {
		/* "2001:db8:1" is a prefix of 16 bits a group */
		for (p = buf; *p != '\0'; p++) {
			if (*p == ':') {
				if (digits == 0)
					break;
				groups++;
				digits = 0;
			} else if (((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
			    (*p >= 'A' && *p <= 'F')) && digits < 4)
				digits++;
			else
				break;
		}
		if (*p != '\0' || digits == 0 || groups > 8) {
			*why = "invalid IPv6 address";
			return -1;
		}
		if (groups < 8)
			memcpy(buf + alen, "::", 3);
	}
	if (inet_pton(AF_INET6, buf, net) != 1) {
		*why = "invalid IPv6 address";
		return -1;
	}
	bits = compressed || groups == 8 ? 128 : 16 * groups;
	if (slash != NULL) {
		for (p = slash + 1, bits = 0, digits = 0; p < end; p++) {
			if (*p < '0' || *p > '9' || ++digits > 3)
				break;
			bits = bits * 10 + (unsigned)(*p - '0');
		}
		if (p != end || digits == 0 || bits > 128) {
			*why = "invalid prefix length";
			return -1;
		}
	}
	for (i = 0; i < 16; i++) {
		unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * i : 0;

		if ((net[i] & (uint8_t)(0xff >> keep)) != 0 && keep < 8) {
			*why = "host bits set past the prefix length";
			return -1;
		}
	}
	*plen = bits;
	*sp = end;
	return 0;
}

/* ":A:TXT", ":A:", ":A" or "TXT" at s (blanks stripped at both ends) over the default
 * (def_a, def_txt) -> a new value. The reason goes to why. */
static int
parse_value(struct zf_load *ld, const char *s, uint32_t def_a, uint32_t def_txt,
    uint32_t *idx, const char **why)
{
	uint32_t a = def_a, txt = def_txt;
	unsigned n;

	if (*s == ':') {
		s++;
		if (v4_octets(&s, &a, &n) == -1 || a == 0) {
			*why = "invalid A value (expected :127.0.0.x: or :x:)";
			return -1;
		}
		/* rbldnsd reads A like inet_aton: 2 = 127.0.0.2, a.b = a.0.0.b, a.b.c = a.b.0.c */
		if (n == 1)
			a = 0x7f000000u | (a >> 24);
		else if (n == 2)
			a = (a & 0xff000000u) | ((a >> 16) & 0xff);
		else if (n == 3)
			a = (a & 0xffff0000u) | ((a >> 8) & 0xff);
		s = skip_blanks(s);
		if (*s == ':') {
			s = skip_blanks(s + 1);
			if (text_add(ld->d, s, strlen(s), &txt) == -1)
				goto oom;
		} else if (*s != '\0') {
			*why = "unrecognized value (expected :A:TXT, :A:, :A or a TXT)";
			return -1;
		}
	} else if (text_add(ld->d, s, strlen(s), &txt) == -1)
		goto oom;
	if (value_add(ld->d, a, txt, idx) == -1)
		goto oom;
	return 0;
oom:
	*why = "out of memory (or more text than a zone file may hold)";
	return -1;
}

/* Records one CIDR of an IPv4 entry. */
static int
add4(struct zf_load *ld, uint32_t net, unsigned bits, int excl, uint32_t value)
{
	struct zf_e4 *e;
	size_t ncap;

	if (ld->n4 == ld->cap4) {
		ncap = ld->cap4 ? ld->cap4 * 2 : 4096;
		if ((e = realloc(ld->e4, ncap * sizeof *e)) == NULL)
			return -1;
		ld->e4 = e;
		ld->cap4 = ncap;
	}
	e = &ld->e4[ld->n4++];
	e->k1 = (uint64_t)net << 32 | (uint64_t)bits << 1 | (excl ? 0 : 1);
	e->k2 = (uint64_t)ld->lineno << 32 | value;
	return 0;
}

static int
add6(struct zf_load *ld, const uint8_t net[16], unsigned bits, int excl, uint32_t value)
{
	struct zf_e6 *e;
	size_t ncap;
	unsigned i;

	if (ld->n6 == ld->cap6) {
		ncap = ld->cap6 ? ld->cap6 * 2 : 256;
		if ((e = realloc(ld->e6, ncap * sizeof *e)) == NULL)
			return -1;
		ld->e6 = e;
		ld->cap6 = ncap;
	}
	e = &ld->e6[ld->n6++];
	memset(e, 0, sizeof *e);
	for (i = 0; i < 8; i++) {
		e->hi = e->hi << 8 | net[i];
		e->lo = e->lo << 8 | net[8 + i];
	}
	e->plen = (uint8_t)bits;
	e->listing = excl ? 0 : 1;
	e->line = ld->lineno;
	e->value = value;
	return 0;
}

/* Splits [lo, hi] into the fewest CIDRs and records them. */
static int
add_range(struct zf_load *ld, uint32_t lo, uint32_t hi, int excl, uint32_t value)
{
	uint64_t cur = lo, size;
	unsigned k;

	while (cur <= hi) {
		k = cur == 0 ? 32 : (unsigned)__builtin_ctz((uint32_t)cur);
		while (k > 0 && cur + ((uint64_t)1 << k) - 1 > hi)
			k--;
		size = (uint64_t)1 << k;
		if (add4(ld, (uint32_t)cur, 32 - k, excl, value) == -1)
			return -1;
		cur += size;
	}
	return 0;
}

/* A special line ("$..." after its lead): substitution variables and the base template
 * are kept, everything else is ignored. */
static int
special(struct zf_load *ld, const char *s)
{
	unsigned idx;
	uint32_t off;

	if (*s >= '0' && *s <= '9')
		idx = (unsigned)(*s - '0');
	else if (*s == '=')
		idx = ZF_BASE;
	else
		return 0;	/* $SOA, $NS, $TTL, $TIMESTAMP, $MAXRANGE4, ... */
	if (!is_blank(s[1]) || ld->d->subst[idx] != ZF_NOTXT)
		return 0;	/* not a definition, or a second one: rbldnsd ignores it */
	s = skip_blanks(s + 1);
	if (text_add(ld->d, s, strlen(s), &off) == -1) {
		fail(ld, "out of memory");
		return -1;
	}
	ld->d->subst[idx] = off;
	return 0;
}

/* One line, without its newline, blanks stripped at both ends. */
static int
parse_line(struct zf_load *ld, const char *s)
{
	const struct zf_value *dv;
	const char *why = NULL;
	char msg[160], esc[64];
	uint8_t net[16];
	uint32_t lo = 0, hi = 0, value = ZF_EXCLUDED;
	unsigned bits = 0;
	int excl = 0, v4;
	const char *p, *start;

	if (*s == '\0')
		return 0;
	if (*s == '$')
		return special(ld, s + 1);
	if ((*s == '#' || *s == ';' || *s == ':') && s[1] == '$')
		return special(ld, s + 2);
	if (*s == '#' || *s == ';')
		return 0;
	if (*s == ':' && s[1] != ':') {
		/* the default value of the entries that follow */
		if (parse_value(ld, s, 0x7f000002u, ZF_NOTXT, &ld->def, &why) == -1)
			goto bad;
		return 0;
	}
	if (*s == '!') {
		excl = 1;
		s = skip_blanks(s + 1);
	}
	/* IPv4 when it starts with one to three digits and a '.', '/', '-' or nothing more
	 * ("20/16" is IPv4 here, though an ip6trie file would mean 20::/16); else IPv6 when
	 * the word holds a ':' or a '/' */
	start = s;
	for (p = s; *p >= '0' && *p <= '9'; p++)
		;
	v4 = p > s && p - s <= 3 && (*p == '.' || *p == '/' || *p == '-' || *p == '\0' ||
	    is_blank(*p) || *p == '#' || *p == ';');
	for (p = s; *p != '\0' && !is_blank(*p) && *p != '#' && *p != ';' && *p != ':' &&
	    *p != '/'; p++)
		;
	if (v4) {
		if (v4_entry(&s, &lo, &hi, &why) == -1)
			goto bad_addr;
	} else if (*p == ':' || *p == '/') {
		if (v6_entry(&s, net, &bits, &why) == -1)
			goto bad_addr;
	} else {
		why = "not an address";
		goto bad_addr;
	}
	if (*s != '\0' && !is_blank(*s) && *s != '#' && *s != ';' && !(v4 && *s == ':')) {
		why = "unexpected text after the address";
		goto bad_addr;
	}
	if (!excl) {
		s = skip_blanks(s);
		if (*s == '\0' || *s == '#' || *s == ';')
			value = ld->def;
		else {
			dv = &ld->d->val[ld->def];
			if (parse_value(ld, s, dv->a, dv->txt, &value, &why) == -1)
				goto bad;
		}
	}
	if (v4) {
		if (add_range(ld, lo, hi, excl, value) == -1)
			goto oom;
	} else if (memcmp(net, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0 && bits >= 96) {
		/* ::ffff:a.b.c.d: an IPv4 entry written the IPv6 way */
		lo = (uint32_t)net[12] << 24 | (uint32_t)net[13] << 16 | (uint32_t)net[14] << 8 |
		    net[15];
		if (add4(ld, lo, bits - 96, excl, value) == -1)
			goto oom;
	} else if (add6(ld, net, bits, excl, value) == -1)
		goto oom;
	return 0;
bad_addr:
	for (p = start; *p != '\0' && !is_blank(*p); p++)
		;
	text_escape(esc, sizeof esc, start, (size_t)(p - start));
	snprintf(msg, sizeof msg, "%s: '%s'", why, esc);
	fail(ld, msg);
	return -1;
bad:
	fail(ld, why);
	return -1;
oom:
	fail(ld, "out of memory");
	return -1;
}

static int
e4_cmp(const void *va, const void *vb)
{
	const struct zf_e4 *a = va, *b = vb;

	if (a->k1 != b->k1)
		return a->k1 < b->k1 ? -1 : 1;
	return a->k2 < b->k2 ? -1 : a->k2 > b->k2;
}

static int
e6_cmp(const void *va, const void *vb)
{
	const struct zf_e6 *a = va, *b = vb;

	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	if (a->plen != b->plen)
		return a->plen < b->plen ? -1 : 1;
	if (a->listing != b->listing)
		return a->listing < b->listing ? -1 : 1;
	return a->line < b->line ? -1 : a->line > b->line;
}

/* Sorts the entries, keeps one per prefix (an exclusion, else the first), and builds the
 * two tables. */
static int
build(struct zf_load *ld)
{
	struct zf_data *d = ld->d;
	struct rw_cidr c;
	uint8_t v4[4];
	size_t i, j;
	unsigned k;
	char msg[160];

	if ((d->v4 = lpm_new()) == NULL || (d->v6 = lpm_new()) == NULL)
		goto oom;
	if (ld->n4 > 1)
		qsort(ld->e4, ld->n4, sizeof *ld->e4, e4_cmp);
	for (i = 0; i < ld->n4; i++) {
		if (i > 0 && ld->e4[i].k1 >> 1 == ld->e4[i - 1].k1 >> 1)
			continue;	/* the same prefix again: the first in sort order wins */
		v4[0] = (uint8_t)(ld->e4[i].k1 >> 56);
		v4[1] = (uint8_t)(ld->e4[i].k1 >> 48);
		v4[2] = (uint8_t)(ld->e4[i].k1 >> 40);
		v4[3] = (uint8_t)(ld->e4[i].k1 >> 32);
		addr_from_v4(&c.net, v4);
		c.plen = 96 + (unsigned)((ld->e4[i].k1 >> 1) & 63);
		if (lpm_add(d->v4, &c, (uint32_t)ld->e4[i].k2) == -1)
			goto oom;
		d->count++;
	}
	free(ld->e4);
	ld->e4 = NULL;
	if (ld->n6 > 1)
		qsort(ld->e6, ld->n6, sizeof *ld->e6, e6_cmp);
	for (i = 0; i < ld->n6; i++) {
		if (i > 0 && ld->e6[i].hi == ld->e6[i - 1].hi && ld->e6[i].lo == ld->e6[i - 1].lo &&
		    ld->e6[i].plen == ld->e6[i - 1].plen)
			continue;
		for (j = 0, k = 56; j < 8; j++, k -= 8) {
			c.net.a[j] = (uint8_t)(ld->e6[i].hi >> k);
			c.net.a[8 + j] = (uint8_t)(ld->e6[i].lo >> k);
		}
		c.plen = ld->e6[i].plen;
		if (lpm_add(d->v6, &c, ld->e6[i].value) == -1)
			goto oom;
		d->count++;
	}
	free(ld->e6);
	ld->e6 = NULL;
	if (lpm_build(d->v4, msg, sizeof msg) == -1 || lpm_build(d->v6, msg, sizeof msg) == -1) {
		snprintf(ld->err, ld->errlen, "%s: %s", ld->path, msg);
		return -1;
	}
	return 0;
oom:
	snprintf(ld->err, ld->errlen, "%s: out of memory", ld->path);
	return -1;
}

static void
sig_of(const struct stat *st, struct zf_sig *sig)
{
	memset(sig, 0, sizeof *sig);
	sig->dev = st->st_dev;
	sig->ino = st->st_ino;
	sig->size = st->st_size;
	sig->mtime = st->st_mtim;
	sig->ctime = st->st_ctim;
}

static int
sig_same(const struct zf_sig *a, const struct zf_sig *b)
{
	return a->err == b->err && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	    a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* Reads path into new data; the identity of the file read in *sig. */
static int
read_data(const char *path, struct zf_data **out, struct zf_sig *sig, char *err,
    size_t errlen)
{
	struct zf_load ld;
	struct stat st0, st1;
	unsigned char magic[2];
	FILE *f = NULL;
	char *line = NULL, *s;
	size_t len, i;
	ssize_t n;
	int fd = -1, ret = -1, more;

	*out = NULL;
	memset(&ld, 0, sizeof ld);
	ld.path = path;
	ld.err = err;
	ld.errlen = errlen;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 || fstat(fd, &st0) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st0.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if (pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
		snprintf(err, errlen, "%s: gzip-compressed (decompress it, or rsync the plain "
		    "file)", path);
		goto out;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if ((ld.d = calloc(1, sizeof *ld.d)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	for (i = 0; i < ZF_NSUBST; i++)
		ld.d->subst[i] = ZF_NOTXT;
	if (value_add(ld.d, 0, ZF_NOTXT, &ld.def) == -1 ||		/* ZF_EXCLUDED */
	    value_add(ld.d, 0x7f000002u, ZF_NOTXT, &ld.def) == -1) {	/* ZF_DEFAULT */
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if ((line = malloc(ZF_LINE_MAX)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	/* read at most ZF_LINE_MAX bytes of a line, never the whole: a file of gigabytes
	 * without a newline must not become one allocation first */
	while ((n = text_read_line(f, line, ZF_LINE_MAX, &more)) != -1) {
		ld.lineno++;
		len = (size_t)n;
		if (memchr(line, '\0', len) != NULL) {
			fail(&ld, "NUL byte");
			goto out;
		}
		if (more) {
			fail(&ld, "line longer than 4095 bytes");
			goto out;
		}
		while (len > 0 && (is_blank(line[len - 1]) || line[len - 1] == '\r'))
			len--;
		line[len] = '\0';
		s = line;
		if (ld.lineno == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
			s += 3;
		if (parse_line(&ld, skip_blanks(s)) == -1)
			goto out;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fileno(f), &st1) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (st1.st_size != st0.st_size || st1.st_mtim.tv_sec != st0.st_mtim.tv_sec ||
	    st1.st_mtim.tv_nsec != st0.st_mtim.tv_nsec) {
		snprintf(err, errlen, "%s: changed while being read (write a temporary file and "
		    "rename it over this one)", path);
		goto out;
	}
	if (build(&ld) == -1)
		goto out;
	sig_of(&st1, sig);
	*out = ld.d;
	ld.d = NULL;
	ret = 0;
out:
	if (f != NULL)
		fclose(f);
	if (fd != -1)
		close(fd);
	free(line);
	free(ld.e4);
	free(ld.e6);
	data_free(ld.d);
	return ret;
}

/* --- the public side --- */

/* Reads path. */
int
zonefile_load(const char *path, struct zonefile **out, char *err, size_t errlen)
{
	struct zonefile *z;

	*out = NULL;
	if ((z = calloc(1, sizeof *z)) == NULL || (z->path = strdup(path)) == NULL) {
		free(z);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (read_data(path, &z->d, &z->seen, err, errlen) == -1) {
		zonefile_free(z);
		return -1;
	}
	*out = z;
	return 0;
}

/* Frees the data and the handle. */
void
zonefile_free(struct zonefile *z)
{
	if (z == NULL)
		return;
	data_free(z->d);
	free(z->path);
	free(z);
}

/* Reloads when the file on disk is not the one last looked at. A broken file is reported
 * once (-1), then 0 until it changes again; zonefile_broken() keeps saying why. */
int
zonefile_refresh(struct zonefile *z, char *err, size_t errlen)
{
	struct zf_data *nd;
	struct zf_sig now, loaded;
	struct stat st;

	if (stat(z->path, &st) == -1) {
		memset(&now, 0, sizeof now);
		now.err = errno;
	} else
		sig_of(&st, &now);
	if (sig_same(&now, &z->seen))
		return 0;
	z->seen = now;
	if (now.err != 0) {
		snprintf(err, errlen, "%s: %s", z->path, strerror(now.err));
		snprintf(z->broken, sizeof z->broken, "%s", err);
		return -1;
	}
	if (read_data(z->path, &nd, &loaded, err, errlen) == -1) {
		snprintf(z->broken, sizeof z->broken, "%s", err);
		return -1;
	}
	data_free(z->d);
	z->d = nd;
	z->seen = loaded;
	z->broken[0] = '\0';
	return 1;
}

/* Why the file on disk is not the data served (the old data stays), or NULL. */
const char *
zonefile_broken(const struct zonefile *z)
{
	return z->broken[0] != '\0' ? z->broken : NULL;
}

/* Appends s (len bytes) to out at *pos, keeping room for the NUL. */
static void
put(char *out, size_t outlen, size_t *pos, const char *s, size_t len)
{
	if (*pos + 1 >= outlen)
		return;
	if (len > outlen - 1 - *pos)
		len = outlen - 1 - *pos;
	memcpy(out + *pos, s, len);
	*pos += len;
}

/* Expands template tpl for address ip into out; raw is what "$=" stands for (inside the
 * base template), else NULL. */
static void
expand(const struct zf_data *d, const char *tpl, const char *raw, const char *ip, char *out,
    size_t outlen, size_t *pos)
{
	const char *p, *v;
	unsigned idx;

	for (p = tpl; *p != '\0' && *pos + 1 < outlen; p++) {
		if (*p != '$') {
			put(out, outlen, pos, p, 1);
			continue;
		}
		if (p[1] == '$') {
			put(out, outlen, pos, "$", 1);
			p++;
		} else if (p[1] >= '0' && p[1] <= '9') {
			idx = (unsigned)(p[1] - '0');
			if (d->subst[idx] != ZF_NOTXT) {
				v = d->text + d->subst[idx];
				put(out, outlen, pos, v, strlen(v));
			} else
				put(out, outlen, pos, p, 2);	/* undefined: as written */
			p++;
		} else if (p[1] == '=' && raw != NULL) {
			put(out, outlen, pos, raw, strlen(raw));
			p++;
		} else
			put(out, outlen, pos, ip, strlen(ip));
	}
}

/* Looks ip up in the table of its family. */
int
zonefile_lookup(const struct zonefile *z, const struct rw_addr *ip, uint32_t *a, char *txt,
    size_t txtlen)
{
	const struct zf_data *d = z->d;
	const struct zf_value *v;
	const char *tpl;
	char ipbuf[ADDR_STRLEN];
	uint32_t idx;
	size_t pos = 0;
	int found;

	if (txt != NULL && txtlen > 0)
		txt[0] = '\0';
	if (d == NULL)
		return 0;
	found = addr_is_v4(ip) ? lpm_lookup(d->v4, ip, &idx) : lpm_lookup(d->v6, ip, &idx);
	if (!found || idx == ZF_EXCLUDED)
		return 0;
	v = &d->val[idx];
	*a = v->a;
	if (txt == NULL || txtlen == 0)
		return 1;
	tpl = v->txt != ZF_NOTXT ? d->text + v->txt : NULL;
	if (d->subst[ZF_BASE] == ZF_NOTXT && tpl == NULL)
		return 1;
	addr_format(ip, ipbuf, sizeof ipbuf);
	if (tpl != NULL && tpl[0] == '=')
		expand(d, tpl + 1, NULL, ipbuf, txt, txtlen, &pos);
	else if (d->subst[ZF_BASE] == ZF_NOTXT)
		expand(d, tpl, NULL, ipbuf, txt, txtlen, &pos);
	else
		expand(d, d->text + d->subst[ZF_BASE], tpl != NULL ? tpl : ipbuf, ipbuf, txt,
		    txtlen, &pos);
	txt[pos] = '\0';
	return 1;
}

/* Prefixes held: listings and exclusions, ranges counted as their CIDRs, a prefix given
 * twice counted once. */
size_t
zonefile_count(const struct zonefile *z)
{
	return z->d != NULL ? z->d->count : 0;
}
