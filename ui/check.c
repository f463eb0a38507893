/*
 * check.c — the check subcommand: asks every enabled DNSBL of the config about the given
 * IPs and CIDRs now and prints the answers, as a table or as the JSON array of the
 * design's contract. Owns, for one run, the config, the lists, the provider space, the
 * engine and the table of answers (one slot per list and IP, range or ASN).
 *
 * Scope economy: an ip-scope list is asked once per IP, a range-scope list once per range
 * (prefixes_range(): the IP's alloc block, else its /24) with the first given IP inside it
 * as the representative, an asn-scope list once per ASN (an IP outside provider space has
 * none: `error`, "not in provider space", and is not asked). Addresses given twice are
 * asked once. Queries are fed to the engine a window at a time, so a /16 needs no more
 * memory than its answers.
 *
 * Must never: print `clean` for an answer it does not have, print a byte from outside
 * (TXT, reasons, list names, zones) that did not pass text_escape(), or ask a list beyond
 * its daily budget (what exceeds it is `error` without a query).
 */
#include "check.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "config.h"
#include "dnsbl.h"
#include "dnsbl_lists.h"
#include "dnsbl_txt.h"
#include "prefixes.h"
#include "text.h"

#define DEFAULT_CONFIG	"/etc/rangewatch/rangewatch.conf"
#define MAX_TARGETS	(1u << 20)	/* addresses in one run (a /12) */
#define MAX_LISTS	255		/* enabled lists in one run (packed in a callback arg) */
#define BIG_RUN		256		/* above this many IPs, the table shows only what is
					 * not clean */
#define FEED_MIN	1024		/* asks handed to the engine per list at a time, at
					 * least */
#define NO_KEY		UINT32_MAX
#define UNANSWERED	0xff
#define POLL_MAX	16

/* What one answer said, when it said more than "clean". */
struct detail {
	uint32_t codes[DNSBL_MAX_CODES];
	size_t ncodes;
	char *txt;		/* escaped by the engine */
	char *reason;		/* escaped by the engine */
};

/* The answer about one key (IP, range or ASN) of one list. */
struct slot {
	uint8_t status;		/* enum dnsbl_status, or UNANSWERED */
	uint32_t detail;	/* index + 1 into the details, 0: none */
};

/* A range or an ASN: asked once, on behalf of the IPs it holds. */
struct key {
	struct rw_cidr range;	/* range keys */
	uint32_t asn;		/* asn keys */
	size_t rep;		/* the representative: index of the first IP inside */
	size_t nips;
};

struct keyset {
	struct key *v;
	size_t n, cap;
	uint32_t *of_ip;	/* per IP: its key, NO_KEY when it has none */
	uint32_t *hash;		/* open addressing: key index + 1, 0 empty */
	size_t hcap;
};

/* One enabled list in this run. */
struct lrun {
	const struct dnsbl_list *l;
	enum dnsbl_health health;
	char hreason[160];
	const struct keyset *ks;	/* NULL: ip scope (one key per IP) */
	size_t nkeys;
	struct slot *res;	/* per key */
	size_t next;		/* the next key to ask */
	size_t budget;		/* keys that may be asked (daily budget) */
	size_t outstanding;
	size_t counts[4];	/* answers per status, in IPs */
	size_t not_ours;	/* asn scope: IPs outside provider space */
};

struct run {
	struct rw_config *cfg;
	struct dnsbl_lists *lists;
	struct prefixes *space;
	struct dnsbl *d;
	struct rw_addr *ips;
	size_t nips;
	struct keyset ranges, asns;
	struct lrun *lr;
	size_t nlr;
	struct detail *det;
	size_t ndet, adet;
	size_t total, done, dup, feed, oom;
	double elapsed;		/* seconds from the test points to the last answer */
	int json, summary, progress;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: rangewatch check [-c FILE] [--json | --summary] [--timeout MS] [--outstanding N]\n"
	    "                        [-s SOCKET] IP|CIDR...\n"
	    "Asks every enabled list of the config's `lists` file about the addresses now: each\n"
	    "list's test points first (127.0.0.2 must be listed, 127.0.0.1 must not), then one\n"
	    "query per IP (ip scope), per range (range scope: the alloc block, else the /24) or\n"
	    "per ASN (asn scope). Lists with source = file:PATH are read from that file.\n"
	    "  -c FILE          the config (default " DEFAULT_CONFIG ")\n"
	    "  --json           a JSON array of {ip, list, zone, scope, status, codes, txt},\n"
	    "                   with reason (error, blocked) and key (range and asn scope)\n"
	    "  --summary        only the lists' health and their counts\n"
	    "  --timeout MS     wait per DNS try (default 2000; 3 tries, doubling)\n"
	    "  --outstanding N  DNS queries in flight at most (default 100)\n"
	    "  -s SOCKET        accepted like the other commands; check does not use the daemon\n"
	    "Statuses: listed, clean, blocked (the list refuses to answer us), error (we do not\n"
	    "know: timeout, SERVFAIL, a bogus answer, a list failing its test points).\n"
	    "Exit: 0 every answer is listed or clean (a listing is not a failure); 1 some answer\n"
	    "is error or blocked, or the output failed; 2 usage or configuration error.\n");
}

static const char *
esc(const char *s, char *buf, size_t len)
{
	text_escape(buf, len, s, strlen(s));
	return buf;
}

/* --- the addresses ------------------------------------------------------------------ */

static int
addr_order(const void *a, const void *b)
{
	return addr_cmp(a, b);
}

static void
addr_next(struct rw_addr *a)
{
	int i;

	for (i = 15; i >= 0; i--)
		if (++a->a[i] != 0)
			break;
}

/* Expands the arguments into sorted, distinct addresses. -1 with err on bad input. */
static int
read_targets(struct run *r, char **args, int n, char *err, size_t errlen)
{
	struct rw_cidr *c;
	uint64_t total = 0, cnt;
	size_t i, k, o;
	char e[96];
	int rc = -1;

	if ((c = calloc((size_t)n, sizeof *c)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < (size_t)n; i++) {
		unsigned host;
		if (cidr_parse(args[i], &c[i], 0) == -1) {
			snprintf(err, errlen, "'%s' is not an IP address or CIDR",
			    esc(args[i], e, sizeof e));
			goto out;
		}
		host = (addr_is_v4(&c[i].net) ? 32 : 128) - cidr_user_plen(&c[i]);
		if (host > 20 || (total += (uint64_t)1 << host) > MAX_TARGETS) {
			snprintf(err, errlen, "too many addresses: at most %u in one run (a /12)",
			    MAX_TARGETS);
			goto out;
		}
	}
	if ((r->ips = malloc((size_t)(total ? total : 1) * sizeof *r->ips)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0, o = 0; i < (size_t)n; i++) {
		struct rw_addr a = c[i].net;
		cnt = (uint64_t)1 << ((addr_is_v4(&a) ? 32 : 128) - cidr_user_plen(&c[i]));
		for (k = 0; k < cnt; k++, addr_next(&a))
			r->ips[o++] = a;
	}
	qsort(r->ips, o, sizeof *r->ips, addr_order);
	for (i = 0, k = 0; i < o; i++)
		if (k == 0 || addr_cmp(&r->ips[k - 1], &r->ips[i]) != 0)
			r->ips[k++] = r->ips[i];
	r->nips = k;
	rc = 0;
out:
	free(c);
	return rc;
}

/* --- ranges and ASNs ---------------------------------------------------------------- */

static uint32_t
key_hash(const struct key *k, int asn)
{
	if (asn)
		return (k->asn * 2654435761u) ^ (k->asn >> 16);
	return addr_hash(&k->range.net, k->range.plen);
}

static int
key_eq(const struct key *x, const struct key *y, int asn)
{
	if (asn)
		return x->asn == y->asn;
	return x->range.plen == y->range.plen && addr_cmp(&x->range.net, &y->range.net) == 0;
}

static int
hash_grow(struct keyset *ks, int asn)
{
	size_t cap = ks->hcap ? ks->hcap * 2 : 256, i, h;
	uint32_t *t = calloc(cap, sizeof *t);

	if (t == NULL)
		return -1;
	for (i = 0; i < ks->n; i++) {
		h = key_hash(&ks->v[i], asn) & (cap - 1);
		while (t[h])
			h = (h + 1) & (cap - 1);
		t[h] = (uint32_t)i + 1;
	}
	free(ks->hash);
	ks->hash = t;
	ks->hcap = cap;
	return 0;
}

/* The index of key k in ks, added (with ip as representative) when new. NO_KEY on OOM. */
static uint32_t
key_intern(struct keyset *ks, const struct key *k, size_t ip, int asn)
{
	size_t h;
	struct key *v;

	if ((ks->n + 1) * 2 > ks->hcap && hash_grow(ks, asn) == -1)
		return NO_KEY;
	h = key_hash(k, asn) & (ks->hcap - 1);
	while (ks->hash[h]) {
		if (key_eq(&ks->v[ks->hash[h] - 1], k, asn))
			return ks->hash[h] - 1;
		h = (h + 1) & (ks->hcap - 1);
	}
	if (ks->n == ks->cap) {
		size_t nc = ks->cap ? ks->cap * 2 : 64;
		if ((v = realloc(ks->v, nc * sizeof *v)) == NULL)
			return NO_KEY;
		ks->v = v;
		ks->cap = nc;
	}
	ks->v[ks->n] = *k;
	ks->v[ks->n].rep = ip;
	ks->v[ks->n].nips = 0;
	ks->hash[h] = (uint32_t)ks->n + 1;
	return (uint32_t)ks->n++;
}

/* Groups the IPs by range (asn = 0) or by ASN (asn = 1). -1 when out of memory. */
static int
build_keys(struct run *r, struct keyset *ks, int asn)
{
	struct key k;
	uint32_t last = NO_KEY, idx;
	size_t i;

	if ((ks->of_ip = malloc((r->nips ? r->nips : 1) * sizeof *ks->of_ip)) == NULL)
		return -1;
	memset(&k, 0, sizeof k);
	for (i = 0; i < r->nips; i++) {
		if (asn) {
			k.asn = prefixes_asn(r->space, &r->ips[i]);
			if (k.asn == 0) {
				ks->of_ip[i] = NO_KEY;
				continue;
			}
		} else
			prefixes_range(r->space, &r->ips[i], &k.range);
		/* sorted IPs: most often the same key as the one before */
		if (last != NO_KEY && key_eq(&ks->v[last], &k, asn))
			idx = last;
		else if ((idx = key_intern(ks, &k, i, asn)) == NO_KEY)
			return -1;
		ks->v[idx].nips++;
		ks->of_ip[i] = last = idx;
	}
	return 0;
}

static void
keyset_clear(struct keyset *ks)
{
	free(ks->v);
	free(ks->of_ip);
	free(ks->hash);
}

static void
key_text(const struct lrun *lr, const struct key *k, char *buf, size_t len)
{
	if (lr->l->scope == DNSBL_SCOPE_ASN)
		snprintf(buf, len, "AS%u", k->asn);
	else
		cidr_format(&k->range, buf, len);
}

/* --- asking ------------------------------------------------------------------------- */

static void
on_health(void *arg, const struct dnsbl_list *l, enum dnsbl_health h, const char *reason)
{
	struct lrun *lr = arg;

	(void)l;
	lr->health = h;
	snprintf(lr->hreason, sizeof lr->hreason, "%s", reason ? reason : "");
}

static struct run *the_run;	/* the callbacks' run (one per process) */

static void
on_answer(void *arg, const struct dnsbl_result *res)
{
	struct run *r = the_run;
	uintptr_t v = (uintptr_t)arg;
	struct lrun *lr = &r->lr[v >> 24];
	size_t k = v & 0xffffff, ips;
	struct slot *s = &lr->res[k];
	struct detail *d;

	lr->outstanding--;
	if (s->status != UNANSWERED) {
		r->dup++;		/* never: the engine answers each ask once */
		return;
	}
	r->done++;
	s->status = (uint8_t)res->status;
	ips = lr->ks ? lr->ks->v[k].nips : 1;
	lr->counts[res->status] += ips;
	if (res->status == DNSBL_CLEAN)
		return;
	if (r->ndet == r->adet) {
		size_t na = r->adet ? r->adet * 2 : 256;
		struct detail *nd = realloc(r->det, na * sizeof *nd);
		if (nd == NULL) {
			r->oom = 1;
			return;
		}
		r->det = nd;
		r->adet = na;
	}
	d = &r->det[r->ndet];
	memset(d, 0, sizeof *d);
	d->ncodes = res->ncodes;
	memcpy(d->codes, res->codes, res->ncodes * sizeof res->codes[0]);
	if (res->txt[0] && (d->txt = strdup(res->txt)) == NULL)
		r->oom = 1;
	if (res->reason[0] && (d->reason = strdup(res->reason)) == NULL)
		r->oom = 1;
	s->detail = (uint32_t)++r->ndet;
}

/* Hands each list's next asks to the engine, up to its window. -1 when out of memory. */
static int
feed(struct run *r)
{
	size_t i, k, rep;

	for (i = 0; i < r->nlr; i++) {
		struct lrun *lr = &r->lr[i];
		while (lr->next < lr->nkeys && lr->outstanding < r->feed) {
			k = lr->next++;
			if (k >= lr->budget) {
				/* over the daily budget: reported as error, not asked */
				lr->counts[DNSBL_ERROR] += lr->ks ? lr->ks->v[k].nips : 1;
				continue;
			}
			rep = lr->ks ? lr->ks->v[k].rep : k;
			if (dnsbl_ask(r->d, lr->l, &r->ips[rep], on_answer,
			    (void *)(((uintptr_t)i << 24) | k)) == -1)
				return -1;
			lr->outstanding++;
		}
	}
	return 0;
}

static int
all_fed(const struct run *r)
{
	size_t i;

	for (i = 0; i < r->nlr; i++)
		if (r->lr[i].next < r->lr[i].nkeys)
			return 0;
	return 1;
}

static void
show_progress(struct run *r, int final)
{
	static struct timespec last;
	struct timespec now;

	if (!r->progress)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!final && (now.tv_sec - last.tv_sec) * 1000 + (now.tv_nsec - last.tv_nsec) / 1000000
	    < 100)
		return;
	last = now;
	if (final)
		fprintf(stderr, "\r%40s\r", "");
	else
		fprintf(stderr, "\r%zu/%zu", r->done, r->total);
}

/* One event loop until every ask is answered. */
static int
ask_all(struct run *r)
{
	struct pollfd fds[POLL_MAX];
	int n, t;

	for (;;) {
		if (feed(r) == -1)
			return -1;
		if (dnsbl_pending(r->d) == 0 && all_fed(r))
			break;
		n = dnsbl_pollfds(r->d, fds, POLL_MAX);
		t = dnsbl_timeout_ms(r->d);
		if (t < 0 || t > 1000)
			t = 1000;
		if (poll(fds, (nfds_t)n, t) == -1 && errno != EINTR)
			return -1;
		dnsbl_process(r->d, fds, n);
		show_progress(r, 0);
	}
	show_progress(r, 1);
	return 0;
}

/* --- printing ----------------------------------------------------------------------- */

static const char *
health_name(enum dnsbl_health h)
{
	switch (h) {
	case DNSBL_H_OK: return "ok";
	case DNSBL_H_BLOCKED: return "blocked";
	case DNSBL_H_BROKEN: return "error";
	case DNSBL_H_UNTESTED: return "untested";
	}
	return "?";
}

/* What the run knows of IP i on list lr: status (or -1: asn scope, not ours), detail. */
static int
lookup(const struct run *r, const struct lrun *lr, size_t i, const struct detail **d,
    uint32_t *key)
{
	size_t k = i;
	const struct slot *s;

	*d = NULL;
	*key = NO_KEY;
	if (lr->ks) {
		if ((k = lr->ks->of_ip[i]) == NO_KEY)
			return -1;
		*key = (uint32_t)k;
	}
	s = &lr->res[k];
	if (s->detail)
		*d = &r->det[s->detail - 1];
	return s->status;
}

static const char *
status_text(int st)
{
	return st == UNANSWERED ? "error" : dnsbl_status_name((enum dnsbl_status)st);
}

/* Why a non-clean answer is what it is, for the humans and for JSON. */
static const char *
reason_of(const struct lrun *lr, int st, const struct detail *d, char *buf, size_t len)
{
	if (st == -1)
		return "not in provider space";
	if (st == UNANSWERED) {
		snprintf(buf, len, "over the list's daily query budget (max_per_day = %lu)",
		    lr->l->max_per_day);
		return buf;
	}
	if (st == DNSBL_ERROR || st == DNSBL_BLOCKED)
		return d && d->reason ? d->reason : "";
	return "";
}

static void
codes_text(const struct detail *d, char *buf, size_t len)
{
	size_t i, o = 0;
	uint32_t a;

	buf[0] = '\0';
	for (i = 0; d && i < d->ncodes && o < len; i++) {
		a = d->codes[i];
		o += (size_t)snprintf(buf + o, len - o, "%s%u.%u.%u.%u", i ? "," : "", a >> 24,
		    (a >> 16) & 255, (a >> 8) & 255, a & 255);
	}
}

/* A JSON string of s (already escaped text: no control characters). */
static void
json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	for (; *p; p++) {
		if (*p == '"' || *p == '\\') {
			fputc('\\', f);
			fputc(*p, f);
		} else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* What a listing's TXT says in fields (UCEPROTECT states its own counts and the ASN). */
static void
print_txt_info(const char *txt)
{
	struct dnsbl_txt_info ti;
	char net[CIDR_STRLEN];

	if (!dnsbl_txt_parse(txt, strlen(txt), &ti))
		return;
	printf(",\"txt_info\":{\"level\":%d", ti.level);
	if (ti.has_net)
		printf(",\"net\":\"%s\"", cidr_format(&ti.net, net, sizeof net));
	if (ti.abusers >= 0)
		printf(",\"abusers\":%ld", ti.abusers);
	if (ti.asn)
		printf(",\"asn\":%u", ti.asn);
	if (ti.holder[0]) {
		fputs(",\"holder\":", stdout);
		json_str(stdout, ti.holder);
	}
	fputc('}', stdout);
}

static void
print_json(const struct run *r)
{
	char a[ADDR_STRLEN], kt[CIDR_STRLEN], name[128], zone[512], why[160];
	const struct detail *d;
	size_t i, j, c;
	uint32_t key;
	int st, first = 1;

	fputs("[\n", stdout);
	for (i = 0; i < r->nips; i++) {
		addr_format(&r->ips[i], a, sizeof a);
		for (j = 0; j < r->nlr; j++) {
			const struct lrun *lr = &r->lr[j];
			st = lookup(r, lr, i, &d, &key);
			printf("%s{\"ip\":\"%s\",\"list\":", first ? "" : ",\n", a);
			first = 0;
			json_str(stdout, esc(lr->l->name, name, sizeof name));
			fputs(",\"zone\":", stdout);
			json_str(stdout, esc(lr->l->zone, zone, sizeof zone));
			printf(",\"scope\":\"%s\",\"status\":\"%s\",\"codes\":[",
			    dnsbl_scope_name(lr->l->scope), st == -1 ? "error" : status_text(st));
			for (c = 0; d && st != -1 && c < d->ncodes; c++)
				printf("%s\"%u.%u.%u.%u\"", c ? "," : "", d->codes[c] >> 24,
				    (d->codes[c] >> 16) & 255, (d->codes[c] >> 8) & 255,
				    d->codes[c] & 255);
			fputs("],\"txt\":", stdout);
			json_str(stdout, d && d->txt && st == DNSBL_LISTED ? d->txt : "");
			if (d && d->txt && st == DNSBL_LISTED)
				print_txt_info(d->txt);
			if (st == -1 || st == UNANSWERED || st == DNSBL_ERROR ||
			    st == DNSBL_BLOCKED) {
				fputs(",\"reason\":", stdout);
				json_str(stdout, reason_of(lr, st, d, why, sizeof why));
			}
			if (key != NO_KEY) {
				key_text(lr, &lr->ks->v[key], kt, sizeof kt);
				printf(",\"key\":\"%s\"", kt);
			}
			fputc('}', stdout);
		}
	}
	fputs(first ? "]\n" : "\n]\n", stdout);
}

static void
print_row(const char *who, const char *list, int st, const char *codes, const char *prefix,
    const char *text)
{
	char line[1024];
	size_t n;

	n = (size_t)snprintf(line, sizeof line, "%-39s %-16s %-8s %-16s %s%s", who, list,
	    st == -1 ? "error" : status_text(st), codes, prefix, text);
	if (n >= sizeof line)
		n = sizeof line - 1;
	while (n > 0 && line[n - 1] == ' ')
		n--;
	line[n] = '\0';
	puts(line);
}

static void
print_text(const struct run *r)
{
	char a[ADDR_STRLEN], kt[CIDR_STRLEN + 8], name[128], why[160], codes[160];
	char prefix[CIDR_STRLEN + 16];
	const struct detail *d;
	struct dnsbl_stats st;
	size_t i, j, k;
	uint32_t key;
	int stat;

	if (r->summary)
		goto summary;
	printf("%-39s %-16s %-8s %-16s %s\n", r->nips > BIG_RUN ? "IP / RANGE / ASN" : "IP",
	    "LIST", "STATUS", "CODES", "TXT / REASON");
	if (r->nips <= BIG_RUN) {
		/* every IP, every list */
		for (i = 0; i < r->nips; i++) {
			addr_format(&r->ips[i], a, sizeof a);
			for (j = 0; j < r->nlr; j++) {
				const struct lrun *lr = &r->lr[j];
				stat = lookup(r, lr, i, &d, &key);
				codes_text(stat == -1 ? NULL : d, codes, sizeof codes);
				prefix[0] = '\0';
				if (key != NO_KEY) {
					key_text(lr, &lr->ks->v[key], kt, sizeof kt);
					snprintf(prefix, sizeof prefix, "[%s] ", kt);
				}
				print_row(a, esc(lr->l->name, name, sizeof name), stat, codes, prefix,
				    stat == DNSBL_LISTED ? (d && d->txt ? d->txt : "") :
				    reason_of(lr, stat, d, why, sizeof why));
			}
		}
	} else {
		/* what is not clean, list by list; range and ASN lists once per key */
		for (j = 0; j < r->nlr; j++) {
			const struct lrun *lr = &r->lr[j];
			esc(lr->l->name, name, sizeof name);
			for (k = 0; k < lr->nkeys; k++) {
				const struct slot *s = &lr->res[k];
				if (s->status == DNSBL_CLEAN)
					continue;
				d = s->detail ? &r->det[s->detail - 1] : NULL;
				codes_text(d, codes, sizeof codes);
				if (lr->ks) {
					key_text(lr, &lr->ks->v[k], kt, sizeof kt);
					snprintf(prefix, sizeof prefix, "(%zu IPs) ", lr->ks->v[k].nips);
				} else {
					addr_format(&r->ips[k], kt, sizeof kt);
					prefix[0] = '\0';
				}
				print_row(kt, name, s->status, codes, prefix,
				    s->status == DNSBL_LISTED ? (d && d->txt ? d->txt : "") :
				    reason_of(lr, s->status, d, why, sizeof why));
			}
			if (lr->not_ours) {
				snprintf(kt, sizeof kt, "(%zu IPs)", lr->not_ours);
				print_row(kt, name, -1, "", "", "not in provider space");
			}
		}
	}
	printf("\n");
summary:
	printf("summary:\n");
	for (j = 0; j < r->nlr; j++) {
		const struct lrun *lr = &r->lr[j];
		char per[64] = "";
		if (lr->ks)
			snprintf(per, sizeof per, " in %zu %s", lr->nkeys,
			    lr->l->scope == DNSBL_SCOPE_ASN ? "ASNs" : "ranges");
		printf("  %-16s %zu IPs%s: %zu listed, %zu clean, %zu error, %zu blocked",
		    esc(lr->l->name, name, sizeof name), r->nips, per, lr->counts[DNSBL_LISTED],
		    lr->counts[DNSBL_CLEAN], lr->counts[DNSBL_ERROR] + lr->not_ours,
		    lr->counts[DNSBL_BLOCKED]);
		if (lr->not_ours)
			printf(" (%zu not in provider space)", lr->not_ours);
		printf("\n");
	}
	dnsbl_get_stats(r->d, &st);
	printf("%zu answers in %.2f s; DNS: %llu queries sent, %llu answered, %llu timeouts, "
	    "%llu retried; %llu answers from files\n", r->done, r->elapsed,
	    (unsigned long long)st.sent, (unsigned long long)st.answered,
	    (unsigned long long)st.timeouts, (unsigned long long)st.retried,
	    (unsigned long long)st.from_file);
}

static void
print_health(const struct run *r, FILE *f)
{
	char name[128], zone[512];
	size_t j;

	fprintf(f, "lists (test points: 127.0.0.2 listed, 127.0.0.1 not):\n");
	for (j = 0; j < r->nlr; j++) {
		const struct lrun *lr = &r->lr[j];
		fprintf(f, "  %-16s %-32s %-5s %s%s%s%s\n", esc(lr->l->name, name, sizeof name),
		    esc(lr->l->zone, zone, sizeof zone), dnsbl_scope_name(lr->l->scope),
		    lr->l->file ? "file, " : "", health_name(lr->health),
		    lr->hreason[0] ? ": " : "", lr->hreason);
	}
	fprintf(f, "\n");
}

/* --- the command -------------------------------------------------------------------- */

static void
run_free(struct run *r)
{
	size_t i;

	dnsbl_free(r->d);
	for (i = 0; i < r->ndet; i++) {
		free(r->det[i].txt);
		free(r->det[i].reason);
	}
	free(r->det);
	for (i = 0; i < r->nlr; i++)
		free(r->lr[i].res);
	free(r->lr);
	keyset_clear(&r->ranges);
	keyset_clear(&r->asns);
	free(r->ips);
	prefixes_free(r->space);
	dnsbl_lists_free(r->lists);
	config_free(r->cfg);
}

/* Parses a positive whole number option. */
static int
opt_uint(const char *name, const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v > max || s[0] == '-') {
		fprintf(stderr, "rangewatch: %s wants a whole number from 1 to %u, not '%s'\n",
		    name, max, s);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* Loads config, lists and space; prepares one lrun per enabled list. 2 on failure. */
static int
setup(struct run *r, const char *cfgpath, char *err, size_t errlen)
{
	size_t i, n, k;
	int need_ranges = 0, need_asns = 0;

	if (access(cfgpath, F_OK) == -1) {
		snprintf(err, errlen, "%s: %s%s", cfgpath, strerror(errno),
		    strcmp(cfgpath, DEFAULT_CONFIG) == 0 ? " (give a config with -c FILE)" : "");
		return -1;
	}
	if (config_load(cfgpath, &r->cfg, err, errlen) == -1)
		return -1;
	if (r->cfg->lists[0] == '\0') {
		snprintf(err, errlen, "%s: no lists file ([rangewatch] lists = FILE)", cfgpath);
		return -1;
	}
	if (dnsbl_lists_load(r->cfg->lists, &r->lists, err, errlen) == -1)
		return -1;
	if (r->cfg->prefixes[0]) {
		if (prefixes_load(r->cfg->prefixes, &r->space, err, errlen) == -1)
			return -1;
	} else if ((r->space = prefixes_new_empty()) == NULL)
		goto oom;
	n = dnsbl_lists_count(r->lists);
	if ((r->lr = calloc(n ? n : 1, sizeof *r->lr)) == NULL)
		goto oom;
	for (i = 0; i < n; i++) {
		const struct dnsbl_list *l = dnsbl_lists_get(r->lists, i);
		if (!l->enabled)
			continue;
		if (r->nlr == MAX_LISTS) {
			snprintf(err, errlen, "more than %d enabled lists", MAX_LISTS);
			return -1;
		}
		r->lr[r->nlr].l = l;
		r->lr[r->nlr].health = DNSBL_H_UNTESTED;
		need_ranges |= l->scope == DNSBL_SCOPE_RANGE;
		need_asns |= l->scope == DNSBL_SCOPE_ASN;
		r->nlr++;
	}
	if (r->nlr == 0) {
		snprintf(err, errlen, "%s: no enabled list", r->cfg->lists);
		return -1;
	}
	if ((need_ranges && build_keys(r, &r->ranges, 0) == -1) ||
	    (need_asns && build_keys(r, &r->asns, 1) == -1))
		goto oom;
	for (i = 0; i < r->nlr; i++) {
		struct lrun *lr = &r->lr[i];
		if (lr->l->scope == DNSBL_SCOPE_RANGE)
			lr->ks = &r->ranges;
		else if (lr->l->scope == DNSBL_SCOPE_ASN)
			lr->ks = &r->asns;
		lr->nkeys = lr->ks ? lr->ks->n : r->nips;
		if ((lr->res = malloc((lr->nkeys ? lr->nkeys : 1) * sizeof *lr->res)) == NULL)
			goto oom;
		for (k = 0; k < lr->nkeys; k++) {
			lr->res[k].status = UNANSWERED;
			lr->res[k].detail = 0;
		}
		/* the test points count too; a file costs the list nothing */
		lr->budget = lr->nkeys;
		if (lr->l->max_per_day && lr->l->file == NULL)
			lr->budget = lr->l->max_per_day > 2 ? lr->l->max_per_day - 2 : 0;
		if (lr->budget > lr->nkeys)
			lr->budget = lr->nkeys;
		if (lr->l->scope == DNSBL_SCOPE_ASN)
			for (k = 0; k < r->nips; k++)
				lr->not_ours += r->asns.of_ip[k] == NO_KEY;
		r->total += lr->nkeys;
	}
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

int
check_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "summary", no_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 't' },
		{ "outstanding", required_argument, NULL, 'o' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct run r;
	struct dnsbl_opts o;
	const char *cfgpath = DEFAULT_CONFIG;
	struct timespec t0, t1;
	char err[512];
	int ch, rc = 2;
	size_t i, j, unknown = 0;

	memset(&r, 0, sizeof r);
	memset(&o, 0, sizeof o);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:s:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfgpath = optarg; break;
		case 'j': r.json = 1; break;
		case 'S': r.summary = 1; break;
		case 't':
			if (opt_uint("--timeout", optarg, 600000, &o.timeout_ms) == -1)
				return 2;
			break;
		case 'o':
			if (opt_uint("--outstanding", optarg, 65535, &o.max_outstanding) == -1)
				return 2;
			break;
		case 's': break;	/* the daemon's socket: check does not need it */
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc || (r.json && r.summary)) {
		usage(stderr);
		return 2;
	}
	if (read_targets(&r, argv + optind, argc - optind, err, sizeof err) == -1 ||
	    setup(&r, cfgpath, err, sizeof err) == -1) {
		fprintf(stderr, "rangewatch: %s\n", err);
		goto out;
	}
	o.nameservers = r.cfg->nameserver;
	o.max_ttl = (uint32_t)r.cfg->dns_max_ttl;
	o.max_neg_ttl = (uint32_t)r.cfg->dns_max_negative_ttl;
	if ((r.d = dnsbl_new(&o, err, sizeof err)) == NULL) {
		fprintf(stderr, "rangewatch: %s\n", err);
		goto out;
	}
	rc = 1;
	the_run = &r;
	r.feed = o.max_outstanding ? o.max_outstanding * 2 : FEED_MIN;
	if (r.feed < FEED_MIN)
		r.feed = FEED_MIN;
	r.progress = isatty(STDERR_FILENO);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < r.nlr; i++)
		if (dnsbl_test(r.d, r.lr[i].l, on_health, &r.lr[i]) == -1) {
			fprintf(stderr, "rangewatch: out of memory\n");
			goto out;
		}
	dnsbl_run(r.d);
	if (r.json) {
		for (i = 0; i < r.nlr; i++)
			if (r.lr[i].health != DNSBL_H_OK) {
				char name[128];
				fprintf(stderr, "rangewatch: list %s: %s: %s\n",
				    esc(r.lr[i].l->name, name, sizeof name),
				    health_name(r.lr[i].health), r.lr[i].hreason);
			}
	} else
		print_health(&r, stdout);

	if (ask_all(&r) == -1 || r.oom) {
		fprintf(stderr, "rangewatch: out of memory\n");
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r.elapsed = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	for (i = 0; i < r.nlr; i++)
		for (j = 0; j < r.lr[i].budget; j++)
			unknown += r.lr[i].res[j].status == UNANSWERED;
	if (unknown || r.dup) {
		/* the engine's contract broken: say so rather than print a wrong table */
		fprintf(stderr, "rangewatch: %zu answers lost, %zu duplicated\n", unknown, r.dup);
		goto out;
	}
	if (r.json)
		print_json(&r);
	else
		print_text(&r);
	rc = 0;
	for (i = 0; i < r.nlr; i++)
		if (r.lr[i].counts[DNSBL_ERROR] || r.lr[i].counts[DNSBL_BLOCKED] ||
		    r.lr[i].budget < r.lr[i].nkeys)
			rc = 1;
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "rangewatch: writing the output: %s\n", strerror(errno));
		rc = 1;
	}
out:
	run_free(&r);
	the_run = NULL;
	return rc;
}
