/*
 * dnsbl_lists.h — the DNSBL definitions (`etc/dnsbl.conf`, INI read with inih, one
 * `[list "NAME"]` section per list): zone, scope, source (DNS or a local rbldnsd-format
 * file), which answers mean listed and what each code means, which are refusals, weight,
 * intervals, query budgets, IPv6 support, expiry. And the one rule every answer goes
 * through: dnsbl_classify(). Errors name FILE:LINE.
 */
#ifndef RW_DNSBL_LISTS_H
#define RW_DNSBL_LISTS_H

#include <stddef.h>
#include <stdint.h>

enum dnsbl_scope {
	DNSBL_SCOPE_IP,		/* lists single IPs (UCEPROTECT L1, Spamhaus ZEN, SpamCop...) */
	DNSBL_SCOPE_RANGE,	/* lists a whole allocation or /24 (UCEPROTECT L2, ivmSIP/24) */
	DNSBL_SCOPE_ASN		/* lists every IP of an ASN (UCEPROTECT L3) */
};

/* A set of IPv4 answers, as ranges [lo, hi] of host-order addresses. */
struct dnsbl_answers {
	uint32_t (*range)[2];
	size_t n;
};

/* How a `cite` pattern counts (see struct dnsbl_cite). */
enum dnsbl_cite_kind {
	DNSBL_CITE_PLAIN,	/* "zen.spamhaus": a reply containing it names the list */
	DNSBL_CITE_FALLBACK,	/* "~spamhaus": names the list only when no plain pattern (of
				 * any list) that contains this text matched too */
	DNSBL_CITE_EXCLUDE	/* "!dbl.spamhaus": a reply containing it never names the list */
};

#define DNSBL_CITE_LEN	63	/* characters in one pattern (without its ~ or !) */
#define DNSBL_CITES_MAX	16	/* patterns of one list */

/* One case-insensitive substring an SMTP rejection naming the list contains. */
struct dnsbl_cite {
	char *text;		/* lower case, without the ~ or ! */
	enum dnsbl_cite_kind kind;
	unsigned line;		/* where it was given; the section's line for the defaults */
};

/* What a return code means ("127.0.0.4" -> "XBL: exploited host"). */
struct dnsbl_code {
	uint32_t addr;		/* host order */
	char *meaning;
};

struct dnsbl_list {
	char *name;		/* the section's NAME */
	char *zone;		/* e.g. dnsbl-1.uceprotect.net */
	enum dnsbl_scope scope;
	int enabled;
	char *file;		/* source = file:PATH (resolved against the file's folder), or NULL */
	struct dnsbl_answers listed;	/* answers meaning listed; empty: any 127/8 but the rest */
	struct dnsbl_answers blocked;	/* refusals (default 127.255.255.0/24) */
	struct dnsbl_code *codes;
	size_t ncodes;
	double weight;
	unsigned interval;	/* seconds between two checks of the same IP/range/ASN */
	unsigned fast_interval;	/* ip scope: re-check of IPs that sent SMTP recently */
	unsigned max_qps;	/* queries per second at most */
	unsigned long max_per_day;	/* queries per day at most (0: no limit) */
	int ipv6;		/* answers for IPv6 (nibble format) */
	int txt;		/* ask TXT for listed answers */
	unsigned expiry;	/* a listing clears this long after the last impact (forecast) */
	struct dnsbl_cite *cites;	/* `cite` patterns in file order (none only for a zone
				 * shorter than 3 characters) */
	size_t ncites;
	unsigned line;		/* where its section starts */
};

/* What one A answer means for a list. */
enum dnsbl_verdict {
	DNSBL_V_LISTED,
	DNSBL_V_BLOCKED,	/* the list refuses to answer us (a refusal code) */
	DNSBL_V_ERROR		/* an answer that cannot be a listing: outside 127/8, 127.0.0.1,
				 * or a code the definition does not know */
};

struct dnsbl_lists;

/* Reads path. -1 with "FILE:LINE: what is wrong" in err: unknown key or section, missing
 * zone, bad scope, bad answer/code syntax, a name given twice. */
int dnsbl_lists_load(const char *path, struct dnsbl_lists **out, char *err, size_t errlen);
/* NULL-safe. */
void dnsbl_lists_free(struct dnsbl_lists *l);
size_t dnsbl_lists_count(const struct dnsbl_lists *l);
const struct dnsbl_list *dnsbl_lists_get(const struct dnsbl_lists *l, size_t i);
/* The path the lists were read from. */
const char *dnsbl_lists_path(const struct dnsbl_lists *l);
/* The list called name, or NULL. */
const struct dnsbl_list *dnsbl_lists_find(const struct dnsbl_lists *l, const char *name);
/* Classifies one A record (host order). RFC 5782: only 127/8 can mean listed, never
 * 127.0.0.1; refusal codes are checked first. */
enum dnsbl_verdict dnsbl_classify(const struct dnsbl_list *list, uint32_t a);
/* The meaning of a code, or NULL. */
const char *dnsbl_code_meaning(const struct dnsbl_list *list, uint32_t a);
const char *dnsbl_scope_name(enum dnsbl_scope s);

#endif
