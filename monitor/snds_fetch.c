/*
 * snds_fetch.c — reading and fetching Microsoft SNDS data on the daemon's loop (see
 * snds_fetch.h). For: rangewatchd. Owns: its libcurl multi handle and transfers, the rows
 * held for a new engine, the set of IPs it listed on `snds`, a copy of [snds].
 * Never: blocks the loop (files are small and read at most once per interval, the network
 * goes through libcurl multi's sockets on the loop), logs the key (the URL with it is never
 * printed), lets one document's bad rows throw away what was known, or lists more than
 * BLOCKED_MAX addresses.
 */
#include "snds_fetch.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "curlloop.h"
#include "dnsbl_lists.h"
#include "listings.h"
#include "log.h"
#include "loop.h"
#include "model.h"
#include "snds.h"
#include "text.h"

#define BODY_MAX	(64u << 20)	/* bytes of one document */
#define HELD_MAX	4000000		/* rows held in all */
#define BLOCKED_MAX	65536		/* addresses listed on `snds` at most */
#define ERRS_LOGGED	10		/* bad rows logged per document (the rest counted) */

enum doc { DOC_DATA, DOC_STATUS };

struct held {
	struct rw_addr ip;
	struct risk_snds r;
	uint64_t seq;			/* arrival order: the newer of two same rows wins */
};

struct xfer {
	struct snds_fetch *s;
	enum doc doc;
	CURL *e;
	char *buf;
	size_t len, cap;
	int too_big;
	char errbuf[CURL_ERROR_SIZE];
};

struct snds_fetch {
	struct loop *loop;
	struct model *model;
	struct listings *listings;
	struct curlloop *curl;		/* the multi handle on the loop */
	uint64_t timer;
	struct xfer *x[2];		/* in flight, per document */
	/* [snds], copied */
	char *file[2], *url[2], *key;
	long interval, timeout;
	struct timespec seen[2];	/* mtime of the file last read */
	off_t seen_size[2];
	/* state */
	struct held *held, *fresh;
	size_t nheld, capheld, nfresh, capfresh;
	uint64_t seq;
	struct rw_addr *blocked;	/* sorted */
	size_t nblocked, capblocked;
	struct rw_addr *nb;		/* the document being read */
	size_t nnb, capnb;
	struct snds_fetch_stats st;
	size_t errs_logged;		/* of the document being read */
	const char *docname;
};

/* The list the IP-status's blocked ranges are listings of. */
static struct dnsbl_list snds_list = { .name = "snds", .zone = "", .scope = DNSBL_SCOPE_IP,
    .enabled = 1 };

static int
grow(void *pp, size_t *cap, size_t need, size_t el)
{
	size_t n = *cap ? *cap : 256;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if ((q = realloc(*(void **)pp, n * el)) == NULL)
		return -1;
	*(void **)pp = q;
	*cap = n;
	return 0;
}

static void __attribute__((format(printf, 2, 3)))
set_error(struct snds_fetch *s, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		msg[0] = '\0';
	text_escape(s->st.last_error, sizeof s->st.last_error, msg, strlen(msg));
	s->st.errors++;
	log_warnx("snds: %s", s->st.last_error);
}

/* ------------------------------------------------------------------ rows */

static void
on_bad_row(void *arg, size_t row, const char *msg)
{
	struct snds_fetch *s = arg;

	if (s->errs_logged++ < ERRS_LOGGED)
		log_warnx("snds: %s row %zu: %s", s->docname, row, msg);
}

static void
on_row(void *arg, const struct snds_row *r)
{
	struct snds_fetch *s = arg;
	struct held *h;

	if (s->nheld + s->nfresh >= HELD_MAX ||
	    grow(&s->fresh, &s->capfresh, s->nfresh + 1, sizeof *s->fresh) == -1)
		return;
	h = &s->fresh[s->nfresh++];
	memset(h, 0, sizeof *h);
	h->ip = r->ip;
	h->seq = ++s->seq;
	h->r.start = r->start;
	h->r.end = r->end;
	h->r.recipients = r->recipients;
	h->r.filter = (uint8_t)r->filter;
	h->r.complaint = (float)r->complaint;
	h->r.complaint_below = (uint8_t)r->complaint_below;
	h->r.trap_hits = r->trap_hits;
	h->r.trap_start = r->trap_start;
	h->r.trap_end = r->trap_end;
}

static int
cmp_held(const void *x, const void *y)
{
	const struct held *a = x, *b = y;
	int c = addr_cmp(&a->ip, &b->ip);

	if (c != 0)
		return c;
	if (a->r.start != b->r.start)
		return a->r.start < b->r.start ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The fresh rows join the held ones: one per (IP, start), the newest; per IP the newest
 * RISK_SNDS_ROWS days (what the engine keeps). */
static void
merge(struct snds_fetch *s)
{
	size_t i, j, k;

	if (s->nfresh == 0 ||
	    grow(&s->held, &s->capheld, s->nheld + s->nfresh, sizeof *s->held) == -1)
		return;
	memcpy(s->held + s->nheld, s->fresh, s->nfresh * sizeof *s->held);
	s->nheld += s->nfresh;
	qsort(s->held, s->nheld, sizeof *s->held, cmp_held);
	for (i = j = 0; i < s->nheld; i++) {
		if (i + 1 < s->nheld && addr_cmp(&s->held[i].ip, &s->held[i + 1].ip) == 0 &&
		    s->held[i].r.start == s->held[i + 1].r.start)
			continue;	/* a newer copy follows */
		s->held[j++] = s->held[i];
	}
	s->nheld = j;
	for (i = j = 0; i < s->nheld; i = k) {
		for (k = i; k < s->nheld && addr_cmp(&s->held[k].ip, &s->held[i].ip) == 0; k++)
			;
		if (k - i > RISK_SNDS_ROWS)
			i = k - RISK_SNDS_ROWS;
		for (; i < k; i++)
			s->held[j++] = s->held[i];
	}
	s->nheld = j;
	s->st.held = s->nheld;
}

static void
feed_fresh(void *arg, struct risk *r)
{
	struct snds_fetch *s = arg;
	size_t i;

	for (i = 0; i < s->nfresh; i++)
		(void)risk_snds(r, &s->fresh[i].ip, &s->fresh[i].r);	/* full: counted */
}

void
snds_fetch_refeed(struct snds_fetch *s, struct risk *r)
{
	size_t i;

	for (i = 0; s != NULL && i < s->nheld; i++)
		(void)risk_snds(r, &s->held[i].ip, &s->held[i].r);
}

static void
take_data(struct snds_fetch *s, const char *buf, size_t len, const char *src)
{
	struct snds_result res;

	s->nfresh = 0;
	s->errs_logged = 0;
	s->docname = "data";
	snds_parse_data(buf, len, on_row, on_bad_row, s, &res);
	s->st.bad_rows += res.bad;
	if (res.bad > ERRS_LOGGED)
		log_warnx("snds: data: %zu more bad rows", res.bad - ERRS_LOGGED);
	if (res.rows == 0 && res.bad > 0) {
		set_error(s, "data from %s: no row could be read (the previous data stays)", src);
		return;
	}
	s->st.reads++;
	s->st.rows += s->nfresh;
	s->st.last_ok = time(NULL);
	model_feed(s->model, feed_fresh, s);
	merge(s);
	log_info("snds: data from %s: %zu rows, %zu bad", src, res.rows, res.bad);
}

/* ------------------------------------------------------------------ the IP status */

static void
on_range(void *arg, const struct snds_range *r)
{
	struct snds_fetch *s = arg;
	struct rw_addr a = r->first;
	int k;

	if (!r->blocked)
		return;
	for (;;) {
		if (s->nnb >= BLOCKED_MAX) {
			if (s->errs_logged++ < ERRS_LOGGED)
				log_warnx("snds: status: more than %d blocked addresses: the rest "
				    "are not listed", BLOCKED_MAX);
			return;
		}
		if (grow(&s->nb, &s->capnb, s->nnb + 1, sizeof *s->nb) == -1)
			return;
		s->nb[s->nnb++] = a;
		if (addr_cmp(&a, &r->last) >= 0)
			return;
		for (k = 15; k >= 0 && ++a.a[k] == 0; k--)
			;
	}
}

static int
cmp_addr(const void *x, const void *y)
{
	return addr_cmp(x, y);
}

static int
in_set(const struct rw_addr *v, size_t n, const struct rw_addr *a)
{
	return n > 0 && bsearch(a, v, n, sizeof *v, cmp_addr) != NULL;
}

static void
apply(struct snds_fetch *s, const struct rw_addr *a, int listed, const char *txt)
{
	struct dnsbl_result r;
	char key[ADDR_STRLEN], err[200];

	memset(&r, 0, sizeof r);
	r.list = &snds_list;
	r.ip = *a;
	r.status = listed ? DNSBL_LISTED : DNSBL_CLEAN;
	snprintf(r.txt, sizeof r.txt, "%s", txt);
	if (listings_apply(s->listings, addr_format(a, key, sizeof key), &r,
	    model_now(s->model), err, sizeof err) < 0)
		log_warnx("snds: listing %s: %s", key, err);
}

static void
take_status(struct snds_fetch *s, const char *buf, size_t len, const char *src)
{
	struct snds_result res;
	size_t i;

	s->nnb = 0;
	s->errs_logged = 0;
	s->docname = "status";
	snds_parse_status(buf, len, on_range, on_bad_row, s, &res);
	s->st.status_bad += res.bad;
	if (res.rows == 0 && res.bad > 0) {
		set_error(s, "IP status from %s: no row could be read (the listings stay)", src);
		return;
	}
	s->st.reads++;
	s->st.status_rows += res.rows;
	s->st.last_ok = time(NULL);
	if (s->nnb > 0)
		qsort(s->nb, s->nnb, sizeof *s->nb, cmp_addr);
	for (i = 0; i < s->nnb; i++)
		apply(s, &s->nb[i], 1, "blocked by Microsoft (SNDS IP status)");
	for (i = 0; i < s->nblocked; i++)
		if (!in_set(s->nb, s->nnb, &s->blocked[i]))
			apply(s, &s->blocked[i], 0, "");
	/* the document's set becomes the held one (swap the buffers) */
	{
		struct rw_addr *t = s->blocked;
		size_t cap = s->capblocked;
		s->blocked = s->nb;
		s->nblocked = s->nnb;
		s->capblocked = s->capnb;
		s->nb = t;
		s->capnb = cap;
		s->nnb = 0;
	}
	s->st.blocked = s->nblocked;
	log_info("snds: IP status from %s: %zu rows, %zu bad, %zu addresses blocked", src,
	    res.rows, res.bad, s->nblocked);
}

static void
take(struct snds_fetch *s, enum doc d, const char *buf, size_t len, const char *src)
{
	if (d == DOC_DATA)
		take_data(s, buf, len, src);
	else
		take_status(s, buf, len, src);
}

/* ------------------------------------------------------------------ files */

static void
read_file(struct snds_fetch *s, enum doc d)
{
	const char *path = s->file[d];
	struct stat sb;
	char *buf = NULL;
	size_t got = 0;
	ssize_t k;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		set_error(s, "%s: %s", path, strerror(errno));
		return;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) || sb.st_size > (off_t)BODY_MAX) {
		set_error(s, "%s: %s", path, "not a regular file, or over 64 MiB");
		goto out;
	}
	if (sb.st_mtim.tv_sec == s->seen[d].tv_sec && sb.st_mtim.tv_nsec == s->seen[d].tv_nsec &&
	    sb.st_size == s->seen_size[d])
		goto out;	/* unchanged since the last read */
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		set_error(s, "%s: %s", path, "out of memory");
		goto out;
	}
	while (got < (size_t)sb.st_size && (k = read(fd, buf + got, (size_t)sb.st_size -
	    got)) > 0)
		got += (size_t)k;
	s->seen[d] = sb.st_mtim;
	s->seen_size[d] = sb.st_size;
	take(s, d, buf, got, path);
out:
	free(buf);
	close(fd);
}

/* ------------------------------------------------------------------ libcurl on the loop */

static void check_done(struct snds_fetch *s);

static void
curl_done(void *arg)
{
	check_done(arg);
}

static size_t
write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;

	if (x->len + len > BODY_MAX) {
		x->too_big = 1;
		return 0;	/* aborts the transfer */
	}
	if (grow(&x->buf, &x->cap, x->len + len + 1, 1) == -1)
		return 0;
	memcpy(x->buf + x->len, p, len);
	x->len += len;
	return len;
}

static void
xfer_free(struct xfer *x)
{
	if (x == NULL)
		return;
	if (x->e != NULL) {
		curl_multi_remove_handle(curlloop_multi(x->s->curl), x->e);
		curl_easy_cleanup(x->e);
	}
	free(x->buf);
	free(x);
}

static const char *const docname[] = { "data", "IP status" };

static void
xfer_done(struct snds_fetch *s, struct xfer *x, CURLcode res)
{
	long code = 0;
	char what[64];

	snprintf(what, sizeof what, "%s URL", docname[x->doc]);
	curl_easy_getinfo(x->e, CURLINFO_RESPONSE_CODE, &code);
	if (x->too_big)
		set_error(s, "%s: %s", what, "over 64 MiB (the previous data stays)");
	else if (res != CURLE_OK)
		set_error(s, "%s: %s (the previous data stays)", what, x->errbuf[0] ?
		    x->errbuf : curl_easy_strerror(res));
	else if (code != 200)
		set_error(s, "%s: HTTP %ld (the previous data stays)", what, code);
	else
		take(s, x->doc, x->buf != NULL ? x->buf : "", x->len, what);
}

static void
check_done(struct snds_fetch *s)
{
	CURLMsg *m;
	int left, d;

	while ((m = curl_multi_info_read(curlloop_multi(s->curl), &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		for (d = 0; d < 2; d++)
			if (s->x[d] != NULL && s->x[d]->e == m->easy_handle)
				break;
		if (d == 2)
			continue;
		xfer_done(s, s->x[d], m->data.result);
		xfer_free(s->x[d]);
		s->x[d] = NULL;
	}
}

static void
start_fetch(struct snds_fetch *s, enum doc d)
{
	struct xfer *x;
	char *esc, *url;
	size_t n;

	if (s->x[d] != NULL)
		return;		/* the last one is still running: its timeout ends it */
	if ((x = calloc(1, sizeof *x)) == NULL || (x->e = curl_easy_init()) == NULL) {
		free(x);
		set_error(s, "%s: %s", docname[d], "out of memory");
		return;
	}
	x->s = s;
	x->doc = d;
	esc = curl_easy_escape(x->e, s->key, 0);
	n = strlen(s->url[d]) + (esc ? strlen(esc) : 0) + 8;
	if (esc == NULL || (url = malloc(n)) == NULL) {
		curl_free(esc);
		xfer_free(x);
		set_error(s, "%s: %s", docname[d], "out of memory");
		return;
	}
	snprintf(url, n, "%s%ckey=%s", s->url[d], strchr(s->url[d], '?') ? '&' : '?', esc);
	curl_free(esc);
	curl_easy_setopt(x->e, CURLOPT_URL, url);
	curl_easy_setopt(x->e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(x->e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->e, CURLOPT_TIMEOUT, s->timeout);
	curl_easy_setopt(x->e, CURLOPT_CONNECTTIMEOUT, s->timeout);
	curl_easy_setopt(x->e, CURLOPT_USERAGENT, "rangewatch");
	curl_easy_setopt(x->e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)BODY_MAX);
	if (curl_multi_add_handle(curlloop_multi(s->curl), x->e) != CURLM_OK) {
		set_error(s, "%s: %s", docname[d], "libcurl refused the transfer");
		xfer_free(x);
	} else
		s->x[d] = x;
	explicit_bzero(url, strlen(url));	/* it holds the key */
	free(url);
}

/* ------------------------------------------------------------------ schedule */

static void
on_timer(void *arg)
{
	struct snds_fetch *s = arg;
	int d;

	s->timer = 0;
	for (d = 0; d < 2; d++) {
		if (s->file[d][0] != '\0')
			read_file(s, (enum doc)d);
		else if (s->key != NULL && s->key[0] != '\0')
			start_fetch(s, (enum doc)d);
	}
	s->timer = loop_timer(s->loop, (int64_t)s->interval * 1000, on_timer, s);
}

static void
opts_free(struct snds_fetch *s)
{
	int d;

	for (d = 0; d < 2; d++) {
		free(s->file[d]);
		free(s->url[d]);
		s->file[d] = s->url[d] = NULL;
	}
	if (s->key != NULL)
		explicit_bzero(s->key, strlen(s->key));
	free(s->key);
	s->key = NULL;
}

int
snds_fetch_set_config(struct snds_fetch *s, const struct rw_config *c)
{
	char *f0 = strdup(c->snds_file), *f1 = strdup(c->snds_status_file);
	char *u0 = strdup(c->snds_data_url), *u1 = strdup(c->snds_status_url);
	char *k = c->snds_key != NULL ? strdup(c->snds_key) : NULL;

	if (f0 == NULL || f1 == NULL || u0 == NULL || u1 == NULL ||
	    (c->snds_key != NULL && k == NULL)) {
		free(f0);
		free(f1);
		free(u0);
		free(u1);
		free(k);
		return -1;
	}
	opts_free(s);
	s->file[0] = f0;
	s->file[1] = f1;
	s->url[0] = u0;
	s->url[1] = u1;
	s->key = k;
	s->interval = c->snds_interval;
	s->timeout = c->snds_timeout;
	/* a file named again is read again (it may be another one) */
	memset(s->seen, 0, sizeof s->seen);
	memset(s->seen_size, 0, sizeof s->seen_size);
	if (s->timer == 0 && snds_fetch_active(s))
		s->timer = loop_timer(s->loop, 0, on_timer, s);
	return 0;
}

struct snds_fetch *
snds_fetch_new(struct loop *l, struct model *m, struct listings *ls,
    const struct rw_config *cfg, char *err, size_t errlen)
{
	struct snds_fetch *s = calloc(1, sizeof *s);

	if (s == NULL)
		goto oom;
	s->loop = l;
	s->model = m;
	s->listings = ls;
	if ((s->curl = curlloop_new(l, curl_done, s)) == NULL) {
		free(s);
		snprintf(err, errlen, "snds: libcurl multi failed to start");
		return NULL;
	}
	if (snds_fetch_set_config(s, cfg) == -1) {
		snds_fetch_free(s);
		goto oom;
	}
	return s;
oom:
	snprintf(err, errlen, "snds: out of memory");
	return NULL;
}

void
snds_fetch_free(struct snds_fetch *s)
{
	int d;

	if (s == NULL)
		return;
	for (d = 0; d < 2; d++)
		xfer_free(s->x[d]);
	if (s->timer != 0)
		loop_timer_del(s->loop, s->timer);
	curlloop_free(s->curl);
	opts_free(s);
	free(s->held);
	free(s->fresh);
	free(s->blocked);
	free(s->nb);
	free(s);
}

int
snds_fetch_active(const struct snds_fetch *s)
{
	return s != NULL && (s->file[0][0] != '\0' || s->file[1][0] != '\0' ||
	    (s->key != NULL && s->key[0] != '\0'));
}

void
snds_fetch_stats(const struct snds_fetch *s, struct snds_fetch_stats *st)
{
	*st = s->st;
}
