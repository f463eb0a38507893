/*
 * alert.c — alert mails and webhook POSTs, through the store's outbox, sent by libcurl
 * multi on the daemon's loop.
 *
 * For: turning a flag (report.h's structure) into a correct RFC 5322 message and a
 * JSON body, queueing them durably, and delivering them at least once.
 * Owns: the libcurl multi handle and its easy handles, a copy of the [alert]/[webhook]
 * config, the cooldown table (customer -> when each level was last alerted, model clock).
 * Must never: send a row before it is committed, mark one sent before the server accepted
 * it, let untrusted text (customer names, TXT, SMTP replies, evidence) reach a header
 * unescaped or unencoded, block the loop, or log a password.
 *
 * The cooldown is kept in memory: after a restart the first change of a customer's level
 * alerts again (the daemon calls alert_flag() on level changes only, and a restart restores
 * the levels, so that is rare). Digest items are outbox rows (kind "digest") so a restart
 * loses none; their mail is made from them in the transaction that marks them.
 */
#include "alert.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "config.h"
#include "curlloop.h"
#include "log.h"
#include "loop.h"
#include "report.h"
#include "store.h"
#include "text.h"

#define MSG_MAX		(4 * 1024 * 1024)	/* a message or body at most */
#define STR_MAX		4096			/* an untrusted string read from the evidence */
#define LINE_MAX_HDR	78
#define EW_RAW		42	/* bytes per encoded-word: 12 + 56 base64 = 68 characters */
#define PLAIN_MAX	60	/* longer words are encoded (encoded-words split) */
#define QP_LINE		76
#define DUE_BATCH	32
#define DIGEST_MAX	500	/* items in one digest mail */
#define PUMP_MS		5000
#define COOLDOWN_MAX	100000	/* customers remembered */

/* ------------------------------------------------------------------ a growing buffer */

struct buf {
	char *p;
	size_t n, cap;
	int oom;		/* out of memory or past MSG_MAX: the result is NULL */
};

static void
buf_add(struct buf *b, const char *s, size_t len)
{
	size_t cap;
	char *np;

	if (b->oom)
		return;
	if (b->n + len + 1 > MSG_MAX) {
		b->oom = 1;
		return;
	}
	if (b->n + len + 1 > b->cap) {
		cap = b->cap ? b->cap : 256;
		while (cap < b->n + len + 1)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, len);
	b->n += len;
	b->p[b->n] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		b->oom = 1;
	else
		buf_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* The result (the caller frees it), or NULL after a failure. */
static char *
buf_take(struct buf *b)
{
	if (b->oom || b->p == NULL) {
		if (!b->oom && b->p == NULL)
			return strdup("");
		free(b->p);
		return NULL;
	}
	return b->p;
}

/* ------------------------------------------------------------------ the words of a flag */

/* Untrusted s escaped into out (one line, no control characters); "" for NULL. */
static const char *
esc(const char *s, char *out, size_t len)
{
	if (s == NULL) {
		out[0] = '\0';
		return out;
	}
	text_escape(out, len, s, strlen(s));
	return out;
}

/* "2026-11-24 09:12 UTC", or "-" for 0. */
static const char *
when(int64_t t, char *out, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		return "-";
	strftime(out, len, "%Y-%m-%d %H:%M UTC", &tm);
	return out;
}

static const char *
upper_level(enum risk_level l)
{
	static const char *const name[] = { "NONE", "WATCH", "WARN", "ACT" };

	return l >= RISK_NONE && l <= RISK_ACT ? name[l] : "NONE";
}

/* Cuts s (valid UTF-8) to at most max bytes on a character boundary. */
static void
cut_utf8(char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	s[max] = '\0';
}

char *
alert_subject(const char *prefix, const struct report *r)
{
	char id[128], name[512], key[256], pol[256], first[512];
	const struct report_nb *nb = report_worst_nb(r);
	struct buf b = { 0 };

	buf_printf(&b, "%s%s%s %s %s", prefix != NULL ? prefix : "",
	    prefix != NULL && prefix[0] != '\0' ? " " : "", upper_level(r->level),
	    esc(r->id, id, sizeof id), esc(r->name, name, sizeof name));
	if (nb != NULL) {
		buf_printf(&b, ": %s at %" PRIu32 "/%" PRIu32 " impacts toward %s",
		    esc(nb->key, key, sizeof key), nb->impacts, nb->threshold,
		    esc(nb->policy, pol, sizeof pol));
		if (nb->provisional > 0)
			buf_printf(&b, " (+%" PRIu32 " reported)", nb->provisional);
		if (nb->estimated > (double)nb->impacts + 0.05)
			buf_printf(&b, " ~%.1f estimated", nb->estimated);
	} else if (r->reason != NULL) {
		esc(r->reason, first, sizeof first);
		cut_utf8(first, 120);
		buf_printf(&b, ": %s", first);
	}
	return buf_take(&b);
}

/* "Customer ... is now at level ..., score ...", the action, the evidence lines. */
static void
body_head(struct buf *b, const struct report *r, const char *action_line)
{
	char id[128], name[512], s[STR_MAX];
	size_t i;

	buf_printf(b, "Customer %s %s is now at level %s (was %s), score %.2f.\n",
	    esc(r->id, id, sizeof id), esc(r->name, name, sizeof name), upper_level(r->level),
	    risk_level_name(r->previous), r->score);
	if (action_line != NULL && action_line[0] != '\0')
		buf_printf(b, "Action: %s\n", esc(action_line, s, sizeof s));
	else
		buf_str(b, "Action: none taken\n");
	buf_str(b, "\nEvidence\n");
	for (i = 0; i < r->nevidence; i++)
		buf_printf(b, "  - %s\n", esc(r->evidence[i], s, sizeof s));
}

static void
body_neighbourhoods(struct buf *b, const struct report *r)
{
	char key[256], pol[256];
	size_t i;

	if (r->nnb > 0)
		buf_str(b, "\nNeighbourhoods (listed impacts, reported listings, suspects, and the "
		    "estimated trap hits, of the threshold)\n");
	for (i = 0; i < r->nnb; i++) {
		const struct report_nb *nb = &r->nb[i];

		buf_printf(b, "  - %s %s toward %s: %" PRIu32 " impacts + %" PRIu32 " reported + %"
		    PRIu32 " suspects of %" PRIu32 ", about %.1f estimated: pressure %.2f, "
		    "projected %.2f\n", nb->scope == RISK_SCOPE_ASN ? "asn" : "range",
		    esc(nb->key, key, sizeof key), esc(nb->policy, pol, sizeof pol), nb->impacts,
		    nb->provisional, nb->suspects, nb->threshold, nb->estimated, nb->pressure,
		    nb->projected);
	}
}

/* When each neighbourhood reaches its threshold or clears, where the model knows. */
static void
body_forecast(struct buf *b, const struct report *r)
{
	char key[256], t1[40];
	size_t i;
	int said = 0;

	for (i = 0; i < r->nnb; i++) {
		const struct report_nb *nb = &r->nb[i];

		if (nb->eta_threshold <= 0 && nb->clear_at <= 0)
			continue;
		if (!said++)
			buf_str(b, "\nForecast\n");
		esc(nb->key, key, sizeof key);
		if (nb->eta_threshold > 0)
			buf_printf(b, "  - %s reaches its threshold around %s at the current pace\n",
			    key, when(nb->eta_threshold, t1, sizeof t1));
		if (nb->clear_at > 0)
			buf_printf(b, "  - %s clears around %s if no new impact comes\n", key,
			    when(nb->clear_at, t1, sizeof t1));
	}
}

/* One address's listed records: list, since, codes and TXT. */
static void
body_listings(struct buf *b, const struct report_addr *ad)
{
	char s[STR_MAX], list[256], codes[256], t1[40];
	size_t j;

	for (j = 0; j < ad->nlistings; j++) {
		const struct report_listing *l = &ad->listings[j];

		if (!l->listed)
			continue;
		buf_printf(b, "      listed on %s since %s (%s)", esc(l->list, list, sizeof list),
		    when(l->first_seen, t1, sizeof t1), esc(l->codes, codes, sizeof codes));
		if (esc(l->txt, s, sizeof s)[0] != '\0') {
			buf_str(b, ": \"");
			buf_str(b, s);
			buf_str(b, "\"");
		}
		buf_str(b, "\n");
	}
}

/* The per-address part of the body. */
static void
body_addresses(struct buf *b, const struct report *r)
{
	char t1[40], t2[40];
	size_t i, j;

	if (r->naddr == 0)
		return;
	buf_str(b, "\nAddresses (counters from first seen to last seen)\n");
	for (i = 0; i < r->naddr; i++) {
		const struct report_addr *ad = &r->addr[i];

		buf_printf(b, "  - %s%s: first seen %s, last seen %s\n", ad->ip,
		    ad->suspect ? " (suspect)" : "", when(ad->first_seen, t1, sizeof t1),
		    when(ad->last_seen, t2, sizeof t2));
		buf_printf(b, "      %" PRIu32 " SMTP sessions, %" PRIu32 " RCPT, %" PRIu32
		    " remote 5xx, %" PRIu32 " rejections citing a list, %" PRIu64 " distinct MX\n",
		    ad->sessions, ad->rcpt_to, ad->replies_5xx, ad->cited, ad->dst);
		if (ad->complaints > 0 || ad->snds_traps > 0)
			buf_printf(b, "      %" PRIu32 " complaint report(s) in the last day, %"
			    PRIu32 " SNDS trap hit(s) (Microsoft)\n", ad->complaints,
			    ad->snds_traps);
		if (ad->rules != 0) {
			buf_str(b, "      suspect by:");
			for (j = 0; j < RISK_NRULES; j++)
				if (ad->rules & (1u << j))
					buf_printf(b, " %s", risk_rule_name((unsigned)j));
			buf_str(b, "\n");
		}
		body_listings(b, ad);
	}
}

char *
alert_body(const struct report *r, const char *action_line)
{
	char *word;
	struct buf b = { 0 };

	body_head(&b, r, action_line);
	body_neighbourhoods(&b, r);
	body_forecast(&b, r);
	body_addresses(&b, r);
	/* a person pastes this line into a shell: the id (from billing) goes in as one word */
	if ((word = text_shell_word(r->id != NULL ? r->id : "", r->id != NULL ? strlen(r->id) :
	    0)) == NULL)
		b.oom = 1;
	buf_str(&b, "\nLook it up:\n  rangewatch customers ");
	buf_str(&b, word != NULL ? word : "");	/* whole: buf_printf would cut a long one */
	buf_str(&b, "\n  rangewatch alerts\n  rangewatch top\n");
	free(word);
	return buf_take(&b);
}

/* ------------------------------------------------------------------ RFC 5322 / 2047 / QP */

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
base64(struct buf *b, const unsigned char *s, size_t n)
{
	char q[4];
	size_t i;

	for (i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) |
		    (i + 2 < n ? s[i + 2] : 0);

		q[0] = b64[v >> 18 & 63];
		q[1] = b64[v >> 12 & 63];
		q[2] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		q[3] = i + 2 < n ? b64[v & 63] : '=';
		buf_add(b, q, 4);
	}
}

/* Folding state of one header. */
struct fold {
	struct buf *b;
	size_t col;
};

/* Emits one token (never split), after a space, folding first when it would pass 78. */
static void
fold_token(struct fold *f, const char *t, size_t n)
{
	if (f->col + 1 + n > LINE_MAX_HDR) {
		buf_str(f->b, "\r\n");
		f->col = 0;
	}
	buf_add(f->b, " ", 1);
	buf_add(f->b, t, n);
	f->col += 1 + n;
}

/* A run of text (UTF-8) as encoded-words, split on character boundaries. */
static void
fold_encoded(struct fold *f, const char *s, size_t n)
{
	struct buf w = { 0 };
	size_t k;

	while (n > 0) {
		k = n < EW_RAW ? n : EW_RAW;
		while (k < n && k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
			k--;
		if (k == 0)
			k = n < EW_RAW ? n : EW_RAW;
		w.n = 0;
		buf_str(&w, "=?UTF-8?B?");
		base64(&w, (const unsigned char *)s, k);
		buf_str(&w, "?=");
		if (w.oom)
			break;
		fold_token(f, w.p, w.n);
		s += k;
		n -= k;
	}
	if (w.oom)
		f->b->oom = 1;
	free(w.p);
}

/* 1 when the word can stay as it is in a header. */
static int
word_plain(const char *s, size_t n)
{
	size_t i;

	if (n > PLAIN_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e ||
		    (s[i] == '=' && i + 1 < n && s[i + 1] == '?'))
			return 0;
	return 1;
}

char *
alert_header(const char *name, const char *value)
{
	struct buf b = { 0 };
	struct fold f = { &b, 0 };
	const char *p, *w, *run = NULL, *run_end = NULL;
	size_t vlen = strlen(value), cap = vlen * 4 + 1, n;
	char *clean;

	if ((clean = malloc(cap)) == NULL)
		return NULL;
	/* text already made clean (an escaped subject) is kept as it is: no double escape */
	if (text_is_clean(value, vlen))
		memcpy(clean, value, vlen + 1);
	else
		text_escape(clean, cap, value, vlen);
	buf_str(&b, name);
	buf_str(&b, ":");
	f.col = strlen(name) + 1;
	for (p = clean; *p != '\0';) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		for (w = p; *p != '\0' && *p != ' '; p++)
			;
		n = (size_t)(p - w);
		if (!word_plain(w, n)) {
			/* a run of words to encode: the spaces inside are encoded with them */
			if (run == NULL)
				run = w;
			run_end = p;
			continue;
		}
		if (run != NULL) {
			fold_encoded(&f, run, (size_t)(run_end - run));
			run = NULL;
		}
		fold_token(&f, w, n);
	}
	if (run != NULL)
		fold_encoded(&f, run, (size_t)(run_end - run));
	buf_str(&b, "\r\n");
	free(clean);
	return buf_take(&b);
}

char *
alert_qp(const char *text)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b = { 0 };
	const unsigned char *p = (const unsigned char *)text, *eol;
	size_t col;
	char tok[4];
	size_t tn;

	while (*p != '\0') {
		eol = (const unsigned char *)strchr((const char *)p, '\n');
		if (eol == NULL)
			eol = p + strlen((const char *)p);
		col = 0;
		for (; p < eol; p++) {
			int lit = (*p >= 33 && *p <= 126 && *p != '=') ||
			    ((*p == ' ' || *p == '\t') && p + 1 < eol);

			if (col == 0 && (*p == '.' || (*p == 'F' && strncmp((const char *)p,
			    "From ", 5) == 0)))
				lit = 0;
			if (lit) {
				tok[0] = (char)*p;
				tn = 1;
			} else {
				tok[0] = '=';
				tok[1] = hex[*p >> 4];
				tok[2] = hex[*p & 15];
				tn = 3;
			}
			/* a soft break leaves room for its '=' */
			if (col + tn > QP_LINE - 1) {
				buf_str(&b, "=\r\n");
				col = 0;
				if (*p == '.' && lit) {
					tok[0] = '=';
					tok[1] = '2';
					tok[2] = 'E';
					tn = 3;
				}
			}
			buf_add(&b, tok, tn);
			col += tn;
		}
		buf_str(&b, "\r\n");
		if (*p == '\n')
			p++;
	}
	return buf_take(&b);
}

/* The domain of an address, for the Message-ID. */
static const char *
domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL && at[1] != '\0' ? at + 1 : "localhost";
}

/* Appends a header built by alert_header(). */
static void
add_header(struct buf *b, const char *name, const char *value)
{
	char *h = alert_header(name, value);

	if (h == NULL) {
		b->oom = 1;
		return;
	}
	buf_str(b, h);
	free(h);
}

char *
alert_message(const char *from, const char *to, const char *subject, const char *body,
    time_t date)
{
	struct buf b = { 0 };
	unsigned char rnd[16];
	char date_s[64], mid[300], *qp, *list, *w, *save;
	struct tm tm;
	size_t i, col;

	if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		return NULL;
	gmtime_r(&date, &tm);
	strftime(date_s, sizeof date_s, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	buf_printf(&b, "Date: %s\r\n", date_s);
	add_header(&b, "From", from);
	/* To: the addresses (plain, checked by config), folded after the commas */
	if ((list = strdup(to)) == NULL)
		return NULL;
	buf_str(&b, "To:");
	col = 3;
	i = 0;
	for (w = strtok_r(list, ", \t", &save); w != NULL; w = strtok_r(NULL, ", \t", &save)) {
		if (i++ > 0) {
			buf_str(&b, ",");
			col++;
		}
		if (col > 3 && col + 1 + strlen(w) > LINE_MAX_HDR) {
			buf_str(&b, "\r\n");
			col = 0;
		}
		buf_printf(&b, " %s", w);
		col += 1 + strlen(w);
	}
	buf_str(&b, "\r\n");
	free(list);
	for (i = 0; i < sizeof rnd; i++)
		snprintf(mid + 2 * i, 3, "%02x", rnd[i]);
	buf_printf(&b, "Message-ID: <%s.rangewatch@%s>\r\n", mid, domain_of(from));
	add_header(&b, "Subject", subject);
	buf_str(&b, "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "Auto-Submitted: auto-generated\r\n"
	    "\r\n");
	if ((qp = alert_qp(body)) == NULL) {
		free(b.p);
		return NULL;
	}
	buf_str(&b, qp);
	free(qp);
	return buf_take(&b);
}

/* s for the Slack/Mattermost "text": &, < and > escaped as those APIs ask, so a customer
 * name cannot become a mention or a link. */
static void
slack_add(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '&')
			buf_str(b, "&amp;");
		else if (*s == '<')
			buf_str(b, "&lt;");
		else if (*s == '>')
			buf_str(b, "&gt;");
		else
			buf_add(b, s, 1);
	}
}

json_t *
alert_webhook_json(const struct report *r, const char *action_line, const char *subject)
{
	struct buf b = { 0 };
	char s[STR_MAX], *text;
	json_t *o;
	size_t i;

	slack_add(&b, subject);
	if (action_line != NULL && action_line[0] != '\0') {
		buf_str(&b, "\nAction: ");
		slack_add(&b, esc(action_line, s, sizeof s));
	}
	for (i = 0; i < r->nevidence; i++) {
		buf_str(&b, "\n- ");
		slack_add(&b, esc(r->evidence[i], s, sizeof s));
	}
	if ((text = buf_take(&b)) == NULL)
		return NULL;
	o = json_pack("{s:o, s:o, s:o, s:s, s:s, s:o, s:o}",
	    "text", text_json(text),
	    "customer", text_json(r->id),
	    "name", text_json(r->name),
	    "level", risk_level_name(r->level),
	    "previous", risk_level_name(r->previous),
	    "action", text_json(action_line),
	    "evidence", report_json(r));
	free(text);
	return o;
}

/* ------------------------------------------------------------------ the module */

struct xfer {
	struct alert *a;
	struct xfer *next;
	int64_t id;
	int mail;		/* else webhook */
	int tries;
	int64_t created;
	CURL *e;
	struct curl_slist *list;	/* recipients or headers */
	char *data;
	size_t len, off;
	char errbuf[CURL_ERROR_SIZE];
};

struct cool {
	char *customer;
	int64_t last[3];	/* watch, warn, act: model time of the last alert, 0 none */
};

/* The copied config. */
struct acfg {
	char *smtp_url, *username, *password, *from, *to[4], *prefix, *webhook;
	long tls;		/* CURLUSESSL_* */
	long cooldown, digest, timeout, retry_for, webhook_timeout;
	int retries;
};

struct alert {
	struct loop *loop;
	struct store *st;
	struct acfg c;
	struct curlloop *curl;		/* the multi handle on the loop */
	uint64_t pump_timer;
	struct xfer *xfers;
	size_t nxfers;
	int start;		/* the first pump: every queued row is due */
	struct cool *cool;
	size_t ncool;
	int64_t retry_base, retry_max;
	struct alert_stats stats;
	char host[256];
	int warned_nomail, warned_nohook;
	int full;		/* the outbox is at its bound: said once, until it has room */
	uint64_t full_before;	/* stats.outbox_full when that began */
};

static const char *const levels[3] = { "watch", "warn", "act" };

static void
acfg_free(struct acfg *c)
{
	int i;

	free(c->smtp_url);
	free(c->username);
	if (c->password != NULL) {
		explicit_bzero(c->password, strlen(c->password));
		free(c->password);
	}
	free(c->from);
	for (i = 0; i < 4; i++)
		free(c->to[i]);
	free(c->prefix);
	free(c->webhook);
	memset(c, 0, sizeof *c);
}

/* 1 when the URL's host is the loopback. */
static int
url_local(const char *url)
{
	static const char *const local[] = { "localhost", "127.0.0.1", "[::1]", "::1" };
	const char *h = strstr(url, "://"), *e;
	size_t i, n;

	if (h == NULL)
		return 0;
	h += 3;
	if ((e = strchr(h, '@')) != NULL && e < h + strcspn(h, "/"))
		h = e + 1;
	n = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":/");
	for (i = 0; i < sizeof local / sizeof local[0]; i++)
		if (strlen(local[i]) == n && strncasecmp(h, local[i], n) == 0)
			return 1;
	return 0;
}

static int
acfg_copy(struct acfg *c, const struct rw_config *cfg)
{
	const char *t = cfg->alert_tls;

	memset(c, 0, sizeof *c);
	c->smtp_url = strdup(cfg->alert_smtp_url);
	c->username = strdup(cfg->alert_username);
	c->password = cfg->alert_password != NULL ? strdup(cfg->alert_password) : NULL;
	c->from = strdup(cfg->alert_from);
	c->to[0] = strdup(cfg->alert_to);
	c->to[1] = strdup(cfg->alert_to_watch);
	c->to[2] = strdup(cfg->alert_to_warn);
	c->to[3] = strdup(cfg->alert_to_act);
	c->prefix = strdup(cfg->alert_subject_prefix);
	c->webhook = strdup(cfg->webhook_url);
	if (strcmp(t, "required") == 0)
		c->tls = CURLUSESSL_ALL;
	else if (strcmp(t, "opportunistic") == 0)
		c->tls = CURLUSESSL_TRY;
	else if (strcmp(t, "none") == 0)
		c->tls = CURLUSESSL_NONE;
	else
		c->tls = url_local(cfg->alert_smtp_url) ? CURLUSESSL_TRY : CURLUSESSL_ALL;
	if (strncasecmp(cfg->alert_smtp_url, "smtps://", 8) == 0)
		c->tls = CURLUSESSL_ALL;
	c->cooldown = cfg->alert_cooldown;
	c->digest = cfg->alert_digest;
	c->timeout = cfg->alert_timeout;
	c->retry_for = cfg->alert_retry_for;
	c->webhook_timeout = cfg->webhook_timeout;
	c->retries = cfg->webhook_retries;
	if (c->smtp_url == NULL || c->username == NULL || c->from == NULL || c->to[0] == NULL ||
	    c->to[1] == NULL || c->to[2] == NULL || c->to[3] == NULL || c->prefix == NULL ||
	    c->webhook == NULL || (cfg->alert_password != NULL && c->password == NULL)) {
		acfg_free(c);
		return -1;
	}
	return 0;
}

/* The recipients of level li (-1: every address configured), deduplicated, comma-joined. */
static char *
recipients(const struct acfg *c, int li)
{
	struct buf b = { 0 };
	char *copy, *w, *save, *hit;
	size_t n;
	int i;

	for (i = 0; i < 4; i++) {
		if (li >= 0 && i != 0 && i != li + 1)
			continue;
		if ((copy = strdup(c->to[i])) == NULL)
			return NULL;
		for (w = strtok_r(copy, ", \t", &save); w != NULL;
		    w = strtok_r(NULL, ", \t", &save)) {
			n = strlen(w);
			/* already there (case-insensitive, whole address)? */
			for (hit = b.p; hit != NULL && (hit = strcasestr(hit, w)) != NULL;
			    hit += n)
				if ((hit == b.p || hit[-1] == ',') &&
				    (hit[n] == ',' || hit[n] == '\0'))
					break;
			if (hit != NULL)
				continue;
			if (b.n > 0)
				buf_str(&b, ",");
			buf_str(&b, w);
		}
		free(copy);
	}
	return buf_take(&b);
}

/* --- libcurl on the loop (curlloop.c) --- */

static void check_done(struct alert *a);
static void pump(struct alert *a);

static void
curl_done(void *arg)
{
	check_done(arg);
}

static size_t
read_cb(char *dst, size_t size, size_t nitems, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nitems, left = x->len - x->off;

	if (n > left)
		n = left;
	memcpy(dst, x->data + x->off, n);
	x->off += n;
	return n;
}

static size_t
discard_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	(void)p;
	(void)arg;
	return size * nmemb;
}

static void
xfer_free(struct xfer *x)
{
	if (x == NULL)
		return;
	if (x->e != NULL) {
		curl_multi_remove_handle(curlloop_multi(x->a->curl), x->e);
		curl_easy_cleanup(x->e);
	}
	curl_slist_free_all(x->list);
	free(x->data);
	free(x);
}

/* Starts the transfer of row o (copied). -1 when it cannot start now (logged). */
static int
xfer_start(struct alert *a, const struct store_outbox *o)
{
	struct curl_slist *l;
	struct xfer *x;
	char *rc, *w, *save, addr[300];
	CURL *e;

	if ((x = calloc(1, sizeof *x)) == NULL)
		return -1;
	x->a = a;
	x->id = o->id;
	x->mail = strcmp(o->kind, "mail") == 0;
	x->tries = o->tries;
	x->created = o->created;
	x->len = o->payload_len;
	if ((x->data = malloc(x->len + 1)) == NULL || (x->e = e = curl_easy_init()) == NULL)
		goto fail;
	memcpy(x->data, o->payload, x->len);
	x->data[x->len] = '\0';
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 1L);
	if (x->mail) {
		curl_easy_setopt(e, CURLOPT_URL, a->c.smtp_url);
		curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
		snprintf(addr, sizeof addr, "<%s>", a->c.from);
		curl_easy_setopt(e, CURLOPT_MAIL_FROM, addr);
		if ((rc = strdup(o->recipients)) == NULL)
			goto fail;
		for (w = strtok_r(rc, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save)) {
			snprintf(addr, sizeof addr, "<%s>", w);
			if ((l = curl_slist_append(x->list, addr)) == NULL) {
				free(rc);
				goto fail;
			}
			x->list = l;
		}
		free(rc);
		curl_easy_setopt(e, CURLOPT_MAIL_RCPT, x->list);
		/* one refused recipient must not keep the others from their mail */
		curl_easy_setopt(e, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L);
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->len);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(e, CURLOPT_READDATA, x);
		curl_easy_setopt(e, CURLOPT_USE_SSL, a->c.tls);
		if (a->c.username[0] != '\0') {
			curl_easy_setopt(e, CURLOPT_USERNAME, a->c.username);
			curl_easy_setopt(e, CURLOPT_PASSWORD, a->c.password ? a->c.password : "");
		}
		curl_easy_setopt(e, CURLOPT_TIMEOUT, a->c.timeout);
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, a->c.timeout);
	} else {
		curl_easy_setopt(e, CURLOPT_URL, a->c.webhook);
		curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
		if ((x->list = curl_slist_append(NULL, "Content-Type: application/json")) ==
		    NULL)
			goto fail;
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->list);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->data);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->len);
		curl_easy_setopt(e, CURLOPT_USERAGENT, "rangewatch");
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_cb);
		curl_easy_setopt(e, CURLOPT_TIMEOUT, a->c.webhook_timeout);
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, a->c.webhook_timeout);
	}
	if (curl_multi_add_handle(curlloop_multi(a->curl), e) != CURLM_OK)
		goto fail;
	x->next = a->xfers;
	a->xfers = x;
	a->nxfers++;
	return 0;
fail:
	if (x->e != NULL) {
		curl_easy_cleanup(x->e);
		x->e = NULL;
	}
	xfer_free(x);
	log_warnx("alert: cannot start sending outbox row %" PRId64 " (out of memory)", o->id);
	return -1;
}

/* The delay before try tries + 1: base doubling to max, plus up to a quarter of jitter. */
static int64_t
backoff(const struct alert *a, int tries)
{
	int64_t d = a->retry_base;
	uint32_t r = 0;
	int i;

	for (i = 1; i < tries && d < a->retry_max; i++)
		d *= 2;
	if (d > a->retry_max)
		d = a->retry_max;
	(void)!getrandom(&r, sizeof r, GRND_NONBLOCK);
	return d + (d / 4 > 0 ? (int64_t)(r % (uint32_t)(d / 4 + 1)) : 0);
}

/* A transfer ended: the durable mark, then the next rows. */
static void
xfer_done(struct alert *a, struct xfer *x, CURLcode res)
{
	char error[600], esc[600], err[512];
	int64_t now = (int64_t)time(NULL);
	long code = 0;
	int ok, r;

	curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &code);
	ok = res == CURLE_OK && (x->mail || (code >= 200 && code <= 299));
	if (ok) {
		r = store_outbox_done(a->st, x->id, now, err, sizeof err);
		if (r == -1)
			log_warnx("alert: row %" PRId64 " was delivered but not marked: %s (it will "
			    "be sent again)", x->id, err);
		a->stats.sent++;
		log_info("alert: %s %" PRId64 " delivered", x->mail ? "mail" : "webhook", x->id);
		return;
	}
	if (res != CURLE_OK)
		snprintf(error, sizeof error, "%s (%ld)", x->errbuf[0] ? x->errbuf :
		    curl_easy_strerror(res), code);
	else
		snprintf(error, sizeof error, "HTTP %ld", code);
	text_escape(esc, sizeof esc, error, strlen(error));	/* server text is untrusted */
	x->tries++;
	if ((x->mail && now - x->created >= a->c.retry_for) ||
	    (!x->mail && x->tries > a->c.retries)) {
		a->stats.failed++;
		log_warnx("alert: GIVING UP %s %" PRId64 " after %d tries: %s", x->mail ? "mail" :
		    "webhook", x->id, x->tries, esc);
		r = store_outbox_fail(a->st, x->id, esc, err, sizeof err);
	} else {
		a->stats.retried++;
		log_warnx("alert: %s %" PRId64 " try %d failed: %s (retried later)", x->mail ?
		    "mail" : "webhook", x->id, x->tries, esc);
		r = store_outbox_retry(a->st, x->id, now + backoff(a, x->tries), x->tries, esc,
		    err, sizeof err);
	}
	if (r == -1)
		log_warnx("alert: %s", err);
}

static void
check_done(struct alert *a)
{
	struct xfer **pp, *x;
	CURLMsg *m;
	int left, any = 0;

	while ((m = curl_multi_info_read(curlloop_multi(a->curl), &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		x = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		if (x == NULL)
			continue;
		xfer_done(a, x, m->data.result);
		for (pp = &a->xfers; *pp != NULL; pp = &(*pp)->next)
			if (*pp == x) {
				*pp = x->next;
				break;
			}
		a->nxfers--;
		xfer_free(x);
		any = 1;
	}
	if (any)
		pump(a);
}

/* --- the outbox --- */

struct due {
	struct store_outbox *rows;
	size_t n;
	int oom;
};

static void
due_cb(void *arg, const struct store_outbox *o)
{
	struct due *d = arg;
	struct store_outbox *r;

	if (d->oom || (r = realloc(d->rows, (d->n + 1) * sizeof *r)) == NULL) {
		d->oom = 1;
		return;
	}
	d->rows = r;
	r[d->n] = *o;
	r[d->n].kind = strdup(o->kind);
	r[d->n].recipients = strdup(o->recipients);
	r[d->n].payload = malloc(o->payload_len + 1);
	if (r[d->n].kind == NULL || r[d->n].recipients == NULL || r[d->n].payload == NULL)
		d->oom = 1;
	else
		memcpy((char *)r[d->n].payload, o->payload, o->payload_len + 1);
	r[d->n].customer = r[d->n].level = r[d->n].state = r[d->n].subject =
	    r[d->n].last_error = NULL;
	d->n++;
}

static void
due_free(struct due *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free((char *)d->rows[i].kind);
		free((char *)d->rows[i].recipients);
		free((char *)d->rows[i].payload);
	}
	free(d->rows);
}

static int
in_flight(const struct alert *a, int64_t id)
{
	const struct xfer *x;

	for (x = a->xfers; x != NULL; x = x->next)
		if (x->id == id)
			return 1;
	return 0;
}

/* Starts the due rows, up to ALERT_XFERS transfers. */
static void
pump(struct alert *a)
{
	struct due d = { 0 };
	char err[512];
	int64_t now = a->start ? INT64_MAX : (int64_t)time(NULL);
	size_t i;

	if (a->nxfers >= ALERT_XFERS)
		return;
	if (store_outbox_due(a->st, now, DUE_BATCH, due_cb, &d, err, sizeof err) == -1) {
		log_warnx("alert: %s", err);
		due_free(&d);
		return;
	}
	a->start = 0;
	for (i = 0; i < d.n && !d.oom && a->nxfers < ALERT_XFERS; i++) {
		if (in_flight(a, d.rows[i].id))
			continue;
		if (strcmp(d.rows[i].kind, "mail") == 0 && a->c.smtp_url[0] == '\0') {
			if (!a->warned_nomail++)
				log_warnx("alert: mails are queued but [alert] smtp_url is empty: "
				    "they wait");
			continue;
		}
		if (strcmp(d.rows[i].kind, "webhook") == 0 && a->c.webhook[0] == '\0') {
			if (!a->warned_nohook++)
				log_warnx("alert: webhook POSTs are queued but [webhook] url is "
				    "empty: they wait");
			continue;
		}
		xfer_start(a, &d.rows[i]);
	}
	due_free(&d);
	if (a->nxfers > 0)
		curlloop_kick(a->curl);
}

static void
on_pump(void *arg)
{
	struct alert *a = arg;
	int64_t ms = a->retry_base * 1000 / 2;

	a->pump_timer = 0;
	pump(a);
	check_done(a);
	a->pump_timer = loop_timer(a->loop, ms < PUMP_MS ? ms : PUMP_MS, on_pump, a);
}

/* Writes one row; counts it. 0, -1 when the store failed (err: the caller logs it), -2 when
 * the outbox is at its bound (logged here, once while it lasts: a mail server down for
 * days must not turn every later flag into a log line of its own). */
static int
queue_row(struct alert *a, const char *kind, const char *customer, const char *level,
    const char *subject, const char *rcpt, const char *payload, char *err, size_t errlen)
{
	int64_t now = (int64_t)time(NULL);
	struct store_outbox o = { .kind = kind, .customer = customer, .level = level,
	    .created = now, .next_try = now, .subject = subject, .recipients = rcpt,
	    .payload = payload };
	uint64_t full = store_outbox_refused(a->st);

	if (store_outbox_add(a->st, &o, NULL, err, errlen) == -1) {
		a->stats.refused++;
		if (store_outbox_refused(a->st) == full)
			return -1;
		a->stats.outbox_full++;
		if (!a->full) {
			a->full = 1;
			a->full_before = a->stats.outbox_full - 1;
			log_warnx("alert: %s; further alerts are LOST, without a line each, until "
			    "it has room (counted: status alerts.outbox_full)", err);
		}
		return -2;
	}
	if (a->full) {
		a->full = 0;
		log_warnx("alert: the outbox has room again; %llu alert row(s) were lost while it "
		    "was full", (unsigned long long)(a->stats.outbox_full - a->full_before));
	}
	a->stats.queued++;
	return 0;
}

/* The cooldown entry of customer (made when missing; NULL when out of memory). */
static struct cool *
cool_of(struct alert *a, const char *customer, int64_t now)
{
	struct cool *v;
	size_t i, j;

	for (i = 0; i < a->ncool; i++)
		if (strcmp(a->cool[i].customer, customer) == 0)
			return &a->cool[i];
	if (a->ncool >= COOLDOWN_MAX) {
		/* forget the entries past their cooldown */
		for (i = j = 0; i < a->ncool; i++) {
			int64_t m = a->cool[i].last[0];

			if (a->cool[i].last[1] > m)
				m = a->cool[i].last[1];
			if (a->cool[i].last[2] > m)
				m = a->cool[i].last[2];
			if (now - m < a->c.cooldown)
				a->cool[j++] = a->cool[i];
			else
				free(a->cool[i].customer);
		}
		a->ncool = j;
		if (a->ncool >= COOLDOWN_MAX)
			return NULL;
	}
	if ((v = realloc(a->cool, (a->ncool + 1) * sizeof *v)) == NULL)
		return NULL;
	a->cool = v;
	memset(&v[a->ncool], 0, sizeof v[0]);
	if ((v[a->ncool].customer = strdup(customer)) == NULL)
		return NULL;
	return &v[a->ncool++];
}

/* -1 with err: out of memory while composing customer id's alert. */
static int
composing_oom(const char *id, char *err, size_t errlen)
{
	snprintf(err, errlen, "alert: out of memory composing the alert of customer %s", id);
	return -1;
}

/* The flag's mail to level li's recipients, or for watch with a digest interval its digest
 * item. 1 queued, 0 nobody to send it to, else as queue_row (or -1 out of memory). */
static int
queue_mail(struct alert *a, const char *id, int li, const char *subject, const char *body,
    char *err, size_t errlen)
{
	int digest = li == 0 && a->c.digest > 0, q;
	char *rcpt, *payload = NULL;

	if ((rcpt = recipients(&a->c, li)) == NULL)
		return composing_oom(id, err, errlen);
	if (rcpt[0] == '\0') {
		free(rcpt);
		return 0;
	}
	if (digest ? asprintf(&payload, "%s\n\n%s", subject, body) == -1 :
	    (payload = alert_message(a->c.from, rcpt, subject, body, time(NULL))) == NULL) {
		free(rcpt);
		return composing_oom(id, err, errlen);
	}
	q = queue_row(a, digest ? "digest" : "mail", id, levels[li], subject, rcpt, payload, err,
	    errlen);
	free(rcpt);
	free(payload);
	return q == 0 ? 1 : q;
}

/* The flag's webhook POST. 1 queued, else as queue_row (or -1 out of memory). */
static int
queue_webhook(struct alert *a, const struct report *r, const char *id, int li,
    const char *action_line, const char *subject, char *err, size_t errlen)
{
	json_t *wh = alert_webhook_json(r, action_line, subject);
	char *doc = wh != NULL ? json_dumps(wh, JSON_COMPACT) : NULL;
	int q;

	json_decref(wh);
	if (doc == NULL)
		return composing_oom(id, err, errlen);
	q = queue_row(a, "webhook", id, levels[li], subject, "", doc, err, errlen);
	free(doc);
	return q == 0 ? 1 : q;
}

/* 1 when customer c's alerts at level li are held back by the cooldown at now (counted). */
static int
cooling(struct alert *a, const struct cool *c, const char *id, int li, int64_t now)
{
	if (c == NULL || c->last[li] == 0 || a->c.cooldown <= 0 ||
	    now - c->last[li] >= a->c.cooldown)
		return 0;
	a->stats.held++;
	log_info("alert: customer %s %s held back by the cooldown", id, levels[li]);
	return 1;
}

int
alert_flag(struct alert *a, const struct report *r, const char *action_line, int64_t now,
    char *err, size_t errlen)
{
	char id[128], *subject = NULL, *body = NULL;
	struct cool *c;
	int li, n = 0, q = 0;

	if (r == NULL || r->id == NULL || r->id[0] == '\0') {
		snprintf(err, errlen, "alert: a flag needs a customer with an id");
		return -1;
	}
	esc(r->id, id, sizeof id);
	if (r->level < RISK_WATCH || r->level > RISK_ACT ||
	    (a->c.smtp_url[0] == '\0' && a->c.webhook[0] == '\0'))
		return 0;
	li = (int)r->level - RISK_WATCH;
	c = cool_of(a, id, now);
	if (cooling(a, c, id, li, now))
		return 0;
	if ((subject = alert_subject(a->c.prefix, r)) == NULL ||
	    (body = alert_body(r, action_line)) == NULL)
		q = composing_oom(id, err, errlen);
	if (q >= 0 && a->c.smtp_url[0] != '\0')
		n += (q = queue_mail(a, id, li, subject, body, err, errlen)) > 0 ? q : 0;
	if (q >= 0 && a->c.webhook[0] != '\0')
		n += (q = queue_webhook(a, r, id, li, action_line, subject, err, errlen)) > 0 ?
		    q : 0;
	free(subject);
	free(body);
	if (q < 0)
		return q;
	if (c != NULL)
		c->last[li] = now;
	pump(a);
	return n;
}

/* A message of the daemon's own to every recipient, by mail and webhook. */
static int
notice(struct alert *a, const char *customer, const char *tag, const char *what,
    const char *body, char *err, size_t errlen)
{
	char *rcpt = NULL, *msg = NULL, *subject = NULL, *doc = NULL, *safe = NULL;
	size_t cap = strlen(what) * 4 + 1;
	int n = 0, q, ret = -1;

	if ((safe = malloc(cap)) == NULL)
		goto oom;
	text_escape(safe, cap, what, strlen(what));	/* one line, whatever came in */
	if (asprintf(&subject, "%s%s%s", a->c.prefix, a->c.prefix[0] ? " " : "", safe) == -1) {
		subject = NULL;
		goto oom;
	}
	if (a->c.smtp_url[0] != '\0') {
		if ((rcpt = recipients(&a->c, -1)) == NULL)
			goto oom;
		if (rcpt[0] != '\0') {
			if ((msg = alert_message(a->c.from, rcpt, subject, body, time(NULL))) ==
			    NULL)
				goto oom;
			if ((q = queue_row(a, "mail", customer, tag, subject, rcpt, msg, err,
			    errlen)) != 0)
				goto refused;
			n++;
		}
	}
	if (a->c.webhook[0] != '\0') {
		json_t *o = json_pack("{s:o, s:o, s:s}", "text", text_json(subject), "body",
		    text_json(body), "kind", tag);

		doc = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
		json_decref(o);
		if (doc == NULL)
			goto oom;
		if ((q = queue_row(a, "webhook", customer, tag, subject, "", doc, err,
		    errlen)) != 0)
			goto refused;
		n++;
	}
	if (n == 0) {
		snprintf(err, errlen, "alert: neither [alert] smtp_url nor [webhook] url is set");
		goto out;
	}
	pump(a);
	ret = n;
	goto out;
refused:
	ret = q;
	goto out;
oom:
	snprintf(err, errlen, "alert: out of memory");
out:
	free(rcpt);
	free(msg);
	free(subject);
	free(doc);
	free(safe);
	return ret;
}

int
alert_test(struct alert *a, char *err, size_t errlen)
{
	char what[300], body[1024];
	int n;

	snprintf(what, sizeof what, "TEST from rangewatch on %s", a->host);
	snprintf(body, sizeof body, "This is a test of rangewatch's alerts, asked for with "
	    "`rangewatch test-alert`.\nEvery address configured in [alert] gets it once.\n"
	    "If you read this, mail from %s reaches you.\n", a->c.from);
	/* an operator asked: a full outbox is an error for them (err says it), not a count */
	n = notice(a, "", "test", what, body, err, errlen);
	return n < 0 ? -1 : n;
}

int
alert_notice(struct alert *a, const char *customer, const char *what, const char *body,
    char *err, size_t errlen)
{
	return notice(a, customer != NULL ? customer : "", "notice", what, body, err, errlen);
}

void
alert_tick(struct alert *a, int64_t wall_now)
{
	struct due d = { 0 };
	struct buf b = { 0 };
	char err[512], when_s[40], *subject = NULL, *rcpt = NULL, *body = NULL, *msg = NULL;
	int64_t *ids = NULL;
	size_t i;

	if (a->c.smtp_url[0] == '\0' || a->c.digest <= 0)
		goto send;
	if (store_outbox_pending(a->st, "digest", DIGEST_MAX, due_cb, &d, err, sizeof err) ==
	    -1) {
		log_warnx("alert: %s", err);
		goto send;
	}
	if (d.n == 0 || d.oom || wall_now - d.rows[0].created < a->c.digest)
		goto send;
	if ((ids = calloc(d.n, sizeof *ids)) == NULL)
		goto send;
	buf_printf(&b, "%zu customer%s flagged at level WATCH since %s (one mail per %ld "
	    "minutes; warn and act are mailed at once).\n", d.n, d.n == 1 ? " was" : "s were",
	    when(d.rows[0].created, when_s, sizeof when_s), a->c.digest / 60);
	for (i = 0; i < d.n; i++) {
		ids[i] = d.rows[i].id;
		buf_str(&b, "\n------------------------------------------------------------\n");
		buf_str(&b, d.rows[i].payload);
	}
	if (asprintf(&subject, "%s%sWATCH digest: %zu customer%s", a->c.prefix,
	    a->c.prefix[0] ? " " : "", d.n, d.n == 1 ? "" : "s") == -1)
		subject = NULL;
	rcpt = recipients(&a->c, 0);
	body = buf_take(&b);
	if (subject == NULL || rcpt == NULL || body == NULL ||
	    (msg = alert_message(a->c.from, rcpt, subject, body, (time_t)wall_now)) == NULL) {
		log_warnx("alert: out of memory making the digest");
		goto send;
	}
	{
		/* due now on the real clock, whatever clock the caller ticks with */
		int64_t t = (int64_t)time(NULL);
		struct store_outbox m = { .kind = "mail", .customer = "", .level = "digest",
		    .created = t, .next_try = t, .subject = subject,
		    .recipients = rcpt, .payload = msg };

		if (store_outbox_digest(a->st, &m, ids, d.n, wall_now, NULL, err,
		    sizeof err) == -1)
			log_warnx("alert: the digest stays pending: %s", err);
		else {
			a->stats.digests++;
			a->stats.queued++;
		}
	}
send:
	due_free(&d);
	free(ids);
	free(subject);
	free(rcpt);
	free(body);
	free(msg);
	pump(a);
}

void
alert_stats(const struct alert *a, struct alert_stats *out)
{
	*out = a->stats;
	out->in_flight = a->nxfers;
}

void
alert_set_retry(struct alert *a, int64_t base, int64_t max)
{
	a->retry_base = base > 0 ? base : 30;
	a->retry_max = max >= a->retry_base ? max : a->retry_base;
	if (a->pump_timer != 0)
		loop_timer_del(a->loop, a->pump_timer);
	a->pump_timer = loop_timer(a->loop, 0, on_pump, a);
}

struct alert *
alert_new(struct loop *l, struct store *st, const struct rw_config *cfg, char *err,
    size_t errlen)
{
	struct alert *a;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "alert: libcurl cannot start");
		return NULL;
	}
	if ((a = calloc(1, sizeof *a)) == NULL)
		goto oom;
	a->loop = l;
	a->st = st;
	a->start = 1;
	a->retry_base = 30;
	a->retry_max = 3600;
	if (gethostname(a->host, sizeof a->host - 1) == -1)
		snprintf(a->host, sizeof a->host, "localhost");
	if (acfg_copy(&a->c, cfg) == -1 || (a->curl = curlloop_new(l, curl_done, a)) == NULL)
		goto oom;
	if ((a->pump_timer = loop_timer(l, 0, on_pump, a)) == 0)
		goto oom;
	return a;
oom:
	snprintf(err, errlen, "alert: out of memory");
	alert_free(a);
	return NULL;
}

int
alert_set_config(struct alert *a, const struct rw_config *cfg, char *err, size_t errlen)
{
	struct acfg c;

	if (acfg_copy(&c, cfg) == -1) {
		snprintf(err, errlen, "alert: out of memory (the old [alert] config stays)");
		return -1;
	}
	acfg_free(&a->c);
	a->c = c;
	a->warned_nomail = a->warned_nohook = 0;
	return 0;
}

void
alert_free(struct alert *a)
{
	struct xfer *x;
	size_t i;

	if (a == NULL)
		return;
	while ((x = a->xfers) != NULL) {
		a->xfers = x->next;
		xfer_free(x);
	}
	curlloop_free(a->curl);
	if (a->pump_timer != 0)
		loop_timer_del(a->loop, a->pump_timer);
	for (i = 0; i < a->ncool; i++)
		free(a->cool[i].customer);
	free(a->cool);
	acfg_free(&a->c);
	free(a);
}
