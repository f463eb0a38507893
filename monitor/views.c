/*
 * views.c — the control socket's commands (shapes in views.h): JSON views of the model,
 * the listings and the history, and the operators' acts.
 *
 * For: answering `rangewatch status|customers|ranges|listings|alerts`, `top`, and recording
 * suspend/resume/ack requests.
 * Owns: nothing but its registration (the handlers read the model, the store and the
 * listings they are given; the daemon adds the status of what it owns through a callback).
 * Must never: trust a request's arguments (types and sizes are checked, text arguments are
 * refused when they hold control characters), put untrusted text into a reply except as a
 * JSON string (text_json), or let a request run unbounded work on the loop (limits).
 */
#include "views.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "report.h"
#include "text.h"

#define REASON_MAX	200
#define DETAIL_ROWS	20

struct views {
	struct control *ctl;
	struct model *model;
	views_status_fn status;
	views_act_fn act;
	void *arg;
	int64_t started;
	size_t slice;			/* customer objects built per loop turn at most */
	size_t most_per_turn;		/* the most built in one piece so far */
};

#define VIEWS_SLICE	256		/* ~130 KB of JSON, ~8 ms at 100k customers/3 s */
#define VIEWS_SLICE_BYTES (256 * 1024)	/* a slice ends early past this (long names, CIDRs) */
#define VIEWS_AT_ONCE	16		/* customers a reply builds at once (else a stream) */

/* ------------------------------------------------------------------ arguments */

/* Integer argument name, default def, within [0, max]. -1 with err when it is not. */
static int
arg_int(const json_t *req, const char *name, json_int_t def, json_int_t max, json_int_t *out,
    char *err, size_t errlen)
{
	const json_t *v = json_object_get(req, name);

	*out = def;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
		snprintf(err, errlen, "\"%s\" must be an integer from 0 to %lld", name,
		    (long long)max);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

static int
arg_bool(const json_t *req, const char *name, int *out, char *err, size_t errlen)
{
	const json_t *v = json_object_get(req, name);

	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		snprintf(err, errlen, "\"%s\" must be true or false", name);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

/* String argument: NULL when absent; -1 when not a clean one-line string of at most max. */
static int
arg_str(const json_t *req, const char *name, size_t max, const char **out, char *err,
    size_t errlen)
{
	const json_t *v = json_object_get(req, name);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) > max ||
	    !text_is_clean(json_string_value(v), json_string_length(v))) {
		snprintf(err, errlen, "\"%s\" must be a string of at most %zu bytes without "
		    "control characters", name, max);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* The customer named by argument name (required). */
static long
arg_customer(const struct views *v, const json_t *req, const char *name, char *err,
    size_t errlen)
{
	const char *id;
	long c;

	if (arg_str(req, name, 256, &id, err, errlen) == -1)
		return -1;
	if (id == NULL) {
		snprintf(err, errlen, "\"%s\" (a customer id) is required", name);
		return -1;
	}
	if ((c = customers_find(model_customers(v->model), id)) < 0) {
		snprintf(err, errlen, "no customer with id \"%s\"", id);
		return -1;
	}
	return c;
}

/* ------------------------------------------------------------------ pieces */

static json_t *
time_json(int64_t t)
{
	return t > 0 ? json_integer(t) : json_null();
}

/* Adds a neighbourhood's forecasts to its object o (taken and returned), as a customer's
 * neighbourhoods carry them (report.c): `ranges` shows the same fields. */
static json_t *
nb_forecast(json_t *o, const struct risk_nb_view *nv)
{
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "eta_threshold", nv->eta_threshold >= 0 ?
	    json_integer(nv->eta_threshold) : json_null());
	json_object_set_new(o, "clear_at", time_json(nv->clear_at));
	return o;
}

/* One customer's object (report.h builds it): as the `customers` list shows it, or with
 * what = REPORT_ADDRESSES as the `customer` command does. NULL when out of memory. */
static json_t *
customer_json(const struct views *v, long c, unsigned what)
{
	struct report *r = report_new(v->model, c, RISK_NONE, what);
	json_t *o = r != NULL ? report_json(r) : NULL;

	report_free(r);
	return o;
}

static int
ci_contains(const char *hay, const char *needle)
{
	return text_casefind(hay, strlen(hay), needle) != NULL;
}

/* 1 when one of the customer's blocks overlaps r. */
static int
customer_in_range(const struct customer *cu, const struct rw_cidr *r)
{
	size_t i;

	for (i = 0; i < cu->ncidrs; i++)
		if (cidr_contains(r, &cu->cidrs[i].net) || cidr_contains(&cu->cidrs[i], &r->net))
			return 1;
	return 0;
}

struct listed_by {
	const char *list;
	const struct customers *cs;
	uint8_t *mark;
};

static void
mark_listed(void *arg, const struct store_listing *s)
{
	struct listed_by *lb = arg;
	struct rw_addr a;
	long c;

	if (!s->listed || s->scope != DNSBL_SCOPE_IP || strcmp(s->list, lb->list) != 0 ||
	    addr_parse(s->key, &a) == -1)
		return;
	if ((c = customers_lookup(lb->cs, &a)) >= 0)
		lb->mark[c] = 1;
}

/* ------------------------------------------------------------------ read commands */

/* The pressure band of a neighbourhood's projected pressure p (the levels' edges). */
static const char *
nb_band(const struct risk_config *rc, double p)
{
	if (p >= 1)
		return "over";
	if (p >= rc->act_at)
		return "act";
	if (p >= rc->warn_at)
		return "warn";
	return "below";
}

/* Per policy: its neighbourhoods by band, the worst pressure and projection, the shortest
 * time to threshold (what a NOC graphs and alerts on without asking for every range). */
static json_t *
policies_json(const struct views *v)
{
	const struct risk *r = model_risk(v->model);
	const struct risk_config *rc = risk_get_config(r);
	size_t i, j, n = risk_nb_count(r);
	int64_t now = model_now(v->model);
	json_t *arr = json_array(), *o;

	for (i = 0; arr != NULL && i < rc->npolicies; i++) {
		const struct risk_policy *pol = &rc->policy[i];
		size_t count = 0, band[4] = { 0, 0, 0, 0 };
		double pmax = 0, projmax = 0;
		int64_t eta = -1, left;
		const char *b;

		for (j = 0; j < n; j++) {
			const struct risk_nb_view *nv = risk_nb_at(r, j);

			if (strcmp(nv->policy, pol->name) != 0)
				continue;
			count++;
			b = nb_band(rc, nv->projected);
			band[b[0] == 'o' ? 3 : b[0] == 'a' ? 2 : b[0] == 'w' ? 1 : 0]++;
			if (nv->pressure > pmax)
				pmax = nv->pressure;
			if (nv->projected > projmax)
				projmax = nv->projected;
			if (nv->eta_threshold < 0)
				continue;
			left = nv->eta_threshold == 0 || nv->eta_threshold <= now ? 0 :
			    nv->eta_threshold - now;
			if (eta < 0 || left < eta)
				eta = left;
		}
		o = json_pack("{s:s, s:s, s:I, s:{s:I, s:I, s:I, s:I}, s:f, s:f, s:o}", "name",
		    pol->name, "scope", pol->scope == RISK_SCOPE_ASN ? "asn" : "range",
		    "neighbourhoods", (json_int_t)count, "bands", "below", (json_int_t)band[0],
		    "warn", (json_int_t)band[1], "act", (json_int_t)band[2], "over",
		    (json_int_t)band[3], "pressure_max", pmax, "projected_max", projmax,
		    "eta_seconds", eta >= 0 ? json_integer(eta) : json_null());
		if (o == NULL || json_array_append_new(arr, o) == -1) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

json_t *
views_status(struct views *v)
{
	struct control_stats cst;
	double eval_ms, minute_ms;
	size_t lv[4];
	json_t *o;

	model_levels(v->model, lv);
	control_stats(v->ctl, &cst);
	o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I}, s:o, s:I}",
	    "version", VIEWS_VERSION, "pid", (json_int_t)getpid(), "started",
	    (json_int_t)v->started, "now", (json_int_t)model_now(v->model),
	    "ips", (json_int_t)traffic_live(model_traffic(v->model)),
	    "customers", (json_int_t)customers_count(model_customers(v->model)),
	    "levels", "watch", (json_int_t)lv[RISK_WATCH], "warn", (json_int_t)lv[RISK_WARN],
	    "act", (json_int_t)lv[RISK_ACT], "evaluated", time_json(model_evaluated(v->model)),
	    "clients", (json_int_t)cst.clients);
	if (o == NULL)
		return NULL;
	model_timings(v->model, &eval_ms, &minute_ms);
	json_object_set_new(o, "uptime", json_integer((json_int_t)(time(NULL) - v->started)));
	json_object_set_new(o, "evaluation_ms", json_real(eval_ms));
	json_object_set_new(o, "minute_ms", json_real(minute_ms));
	json_object_set_new(o, "tracked_ips", json_integer((json_int_t)risk_ip_count(
	    model_risk(v->model))));
	json_object_set_new(o, "tracked_ips_refused", json_integer((json_int_t)risk_ip_refused(
	    model_risk(v->model))));
	json_object_set_new(o, "tracked_ips_evicted", json_integer((json_int_t)risk_ip_evicted(
	    model_risk(v->model))));
	json_object_set_new(o, "policies", policies_json(v));
	/* what the socket's bounds did (control.h), so that a refusal is never silent */
	json_object_set_new(o, "control", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I}", "clients", (json_int_t)cst.clients, "accepted", (json_int_t)cst.accepted,
	    "refused", (json_int_t)cst.refused, "requests", (json_int_t)cst.requests, "errors",
	    (json_int_t)cst.errors, "denied", (json_int_t)cst.denied, "dropped_slow",
	    (json_int_t)cst.dropped_slow, "dropped_bad", (json_int_t)cst.dropped_bad, "events",
	    (json_int_t)cst.events));
	json_object_set_new(json_object_get(o, "control"), "too_big",
	    json_integer((json_int_t)cst.too_big));
	json_object_set_new(json_object_get(o, "control"), "stream_steps",
	    json_integer((json_int_t)cst.stream_steps));
	if (v->status != NULL)
		v->status(v->arg, o);
	return o;
}

static int
cmd_status(void *arg, const json_t *req, const struct control_peer *peer, json_t **result,
    char *err, size_t errlen)
{
	(void)req;
	(void)peer;
	if ((*result = views_status(arg)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ item streams */

/*
 * A reply that lists items (customers, neighbourhoods, listings): what names each item is
 * copied when the request comes, as a few strings (a reload or an evaluation may replace
 * what they name between two loop turns; an item gone by then is left out), and its object
 * is built when it is sent. A reply of more than VIEWS_AT_ONCE items is a stream
 * (control.h), a slice per turn as the client reads; a smaller one is built at once. The
 * line on the wire is the same.
 */
struct items;
/* The object of item i, named by strings k (each with its NUL, the last one empty); NULL
 * with *gone set when it is gone, NULL alone when out of memory. */
typedef json_t *(*item_fn)(struct items *it, size_t i, const char *k, int *gone);

struct items {
	struct views *v;
	item_fn fn;
	const char *name;		/* the array's name in the reply */
	size_t total;			/* matching, before the limit */
	char *keys;			/* every item's strings */
	size_t len, cap;
	size_t *off;			/* where each item's strings start */
	size_t n, capn;
	size_t next, sent;		/* the stream's progress */
	uint64_t gen;			/* ranges: the risk engine's evaluation at the request */
	size_t *view;			/* ranges: each item's place in it */
};

static void
items_free(void *arg)
{
	struct items *it = arg;

	if (it == NULL)
		return;
	free(it->keys);
	free(it->off);
	free(it->view);
	free(it);
}

static struct items *
items_new(struct views *v, item_fn fn, const char *name)
{
	struct items *it = calloc(1, sizeof *it);

	if (it != NULL) {
		it->v = v;
		it->fn = fn;
		it->name = name;
	}
	return it;
}

/* Appends a string to the item being named. -1 when out of memory. */
static int
items_str(struct items *it, const char *s)
{
	size_t l = strlen(s) + 1;
	char *k;

	if (it->len + l > it->cap) {
		size_t cap = it->cap ? it->cap : 4096;

		while (cap < it->len + l)
			cap *= 2;
		if ((k = realloc(it->keys, cap)) == NULL)
			return -1;
		it->keys = k;
		it->cap = cap;
	}
	memcpy(it->keys + it->len, s, l);
	it->len += l;
	return 0;
}

/* Starts an item (its strings follow). -1 when out of memory. */
static int
items_begin(struct items *it)
{
	if (it->n > 0 && items_str(it, "") == -1)
		return -1;	/* the end of the one before */
	if (it->n == it->capn) {
		size_t cap = it->capn ? it->capn * 2 : 64, *o;

		if ((o = realloc(it->off, cap * sizeof *o)) == NULL)
			return -1;
		it->off = o;
		it->capn = cap;
	}
	it->off[it->n++] = it->len;
	return 0;
}

/* The next built object of the reply from item it->next on; NULL with *done at the end,
 * NULL alone when out of memory. */
static json_t *
items_next(struct items *it, int *done)
{
	json_t *o;
	int gone;

	*done = 0;
	for (; it->next < it->n; it->next++) {
		gone = 0;
		if ((o = it->fn(it, it->next, it->keys + it->off[it->next], &gone)) != NULL) {
			it->next++;
			return o;
		}
		if (!gone)
			return NULL;
	}
	*done = 1;
	return NULL;
}

static int
items_stream_fn(void *arg, struct control_out *out, char *err, size_t errlen)
{
	struct items *it = arg;
	char head[96];
	size_t built = 0, bytes = 0;
	json_t *o;
	char *s;
	int n, r, done = 0;

	if (it->next == 0 && it->sent == 0) {
		n = snprintf(head, sizeof head, "{\"total\":%zu,\"%s\":[", it->total, it->name);
		if (control_out_put(out, head, (size_t)n) == -1)
			goto nomem;
	}
	while (built < it->v->slice && bytes < VIEWS_SLICE_BYTES) {
		if ((o = items_next(it, &done)) == NULL) {
			if (done)
				break;
			goto nomem;
		}
		built++;
		s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
		json_decref(o);
		if (s == NULL)
			goto nomem;
		bytes += strlen(s) + 1;
		r = (it->sent > 0 && control_out_put(out, ",", 1) == -1) ||
		    control_out_put(out, s, strlen(s)) == -1;
		free(s);
		if (r)
			goto nomem;
		it->sent++;
	}
	if (built > it->v->most_per_turn)
		it->v->most_per_turn = built;
	if (!done && it->next < it->n)
		return 1;
	return control_out_put(out, "]}", 2) == -1 ? -1 : 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* Answers with the items: built now when they are few, else as a stream. Takes it. */
static int
items_reply(struct items *it, json_t **result, char *err, size_t errlen)
{
	struct control_stream s = { .fn = items_stream_fn, .free = items_free, .arg = it };
	json_t *arr, *o;
	int done = 0;

	if (it->n > 0 && items_str(it, "") == -1)
		goto nomem;	/* the end of the last item */
	if (it->n > VIEWS_AT_ONCE || it->n > it->v->slice) {
		/* 100k customers are ~51 MB and 3 s of work, and one customer object can be a
		 * megabyte (its CIDRs): a slice per loop turn instead */
		if (control_reply_stream(it->v->ctl, &s) == -1) {
			items_free(it);
			snprintf(err, errlen, "cannot stream the reply");
			return -1;
		}
		return 0;
	}
	if ((arr = json_array()) == NULL)
		goto nomem;
	while ((o = items_next(it, &done)) != NULL)
		json_array_append_new(arr, o);
	if (!done || (*result = json_pack("{s:I, s:o}", "total", (json_int_t)it->total,
	    it->name, arr)) == NULL) {
		json_decref(arr);
		goto nomem;
	}
	items_free(it);
	return 0;
nomem:
	items_free(it);
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* A customer, named by its id. */
static json_t *
customer_item(struct items *it, size_t i, const char *k, int *gone)
{
	long c = customers_find(model_customers(it->v->model), k);

	(void)i;
	if (c < 0) {
		*gone = 1;	/* with a reload */
		return NULL;
	}
	return customer_json(it->v, c, 0);
}

static int
cmd_customers(void *arg, const json_t *req, const struct control_peer *peer,
    json_t **result, char *err, size_t errlen)
{
	struct views *v = arg;
	const struct customers *cs = model_customers(v->model);
	const struct risk *r = model_risk(v->model);
	size_t n = customers_count(cs), nf = risk_flag_count(r), i, total = 0;
	json_int_t limit;
	const char *one, *filter, *range, *list;
	struct rw_cidr rc;
	struct listed_by lb = { 0 };
	int all;
	struct items *it;
	long *sel = NULL;
	size_t nsel = 0;

	(void)peer;
	if (arg_int(req, "limit", 100, 10000000, &limit, err, errlen) == -1 ||
	    arg_bool(req, "all", &all, err, errlen) == -1 ||
	    arg_str(req, "customer", 256, &one, err, errlen) == -1 ||
	    arg_str(req, "filter", 256, &filter, err, errlen) == -1 ||
	    arg_str(req, "range", CIDR_STRLEN, &range, err, errlen) == -1 ||
	    arg_str(req, "list", 64, &list, err, errlen) == -1)
		return -1;
	if (range != NULL && cidr_parse(range, &rc, 0) == -1) {
		snprintf(err, errlen, "\"range\" is not a CIDR: %s", range);
		return -1;
	}
	if (list != NULL) {
		lb.list = list;
		lb.cs = cs;
		if ((lb.mark = calloc(n ? n : 1, 1)) == NULL)
			goto nomem;
		listings_each(model_listings(v->model), mark_listed, &lb);
	}
	if ((sel = malloc((nf + n + 1) * sizeof *sel)) == NULL)
		goto nomem;
	/* flagged customers worst first, then (all) the others in file order */
	for (i = 0; i < nf + (all || one ? n : 0); i++) {
		long c;
		const struct customer *cu;

		if (i < nf)
			c = risk_flag_at(r, i)->customer;
		else if (risk_flag_of(r, (long)(i - nf)) != NULL)
			continue;	/* listed above */
		else
			c = (long)(i - nf);
		cu = customers_get(cs, (size_t)c);
		if (one != NULL && strcmp(cu->id, one) != 0)
			continue;
		if (filter != NULL && !ci_contains(cu->id, filter) && !ci_contains(cu->name, filter))
			continue;
		if (range != NULL && !customer_in_range(cu, &rc))
			continue;
		if (list != NULL && !lb.mark[c])
			continue;
		total++;
		if (limit != 0 && (json_int_t)nsel >= limit)
			continue;
		sel[nsel++] = c;
	}
	free(lb.mark);
	lb.mark = NULL;
	if ((it = items_new(v, customer_item, "customers")) == NULL)
		goto nomem;
	it->total = total;
	for (i = 0; i < nsel; i++)
		if (items_begin(it) == -1 ||
		    items_str(it, customers_get(cs, (size_t)sel[i])->id) == -1) {
			items_free(it);
			goto nomem;
		}
	free(sel);
	return items_reply(it, result, err, errlen);
nomem:
	free(lb.mark);
	free(sel);
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* The "evidence" array of a stored evidence document (an empty one when unreadable). */
static json_t *
stored_evidence(const char *doc)
{
	json_t *d = doc != NULL ? json_loads(doc, 0, NULL) : NULL;
	json_t *e = json_object_get(d, "evidence");

	e = json_is_array(e) ? json_incref(e) : json_array();
	json_decref(d);
	return e;
}

static void
flag_row(void *arg, const struct store_flag *f)
{
	json_array_append_new(arg, json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:f, s:o}", "id",
	    (json_int_t)f->id, "ts", (json_int_t)f->ts, "customer", text_json(f->customer),
	    "name", text_json(f->name), "level", text_json(f->level), "previous",
	    text_json(f->previous), "score", f->score, "evidence", stored_evidence(f->evidence)));
}

static json_t *
audit_json(const struct store_audit *a)
{
	return json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "id", (json_int_t)a->id, "ts",
	    (json_int_t)a->ts, "actor", text_json(a->actor), "action", text_json(a->action),
	    "customer", text_json(a->customer), "reason", text_json(a->reason), "outcome",
	    text_json(a->outcome));
}

static void
audit_row(void *arg, const struct store_audit *a)
{
	json_array_append_new(arg, audit_json(a));
}

static int
cmd_customer(void *arg, const json_t *req, const struct control_peer *peer, json_t **result,
    char *err, size_t errlen)
{
	struct views *v = arg;
	json_t *o, *hist = json_array(), *audit = json_array();
	const char *id;
	long c;

	(void)peer;
	if ((c = arg_customer(v, req, "customer", err, errlen)) < 0)
		goto fail;
	id = customers_get(model_customers(v->model), (size_t)c)->id;
	if (hist == NULL || audit == NULL ||
	    store_flag_history(model_store(v->model), id, 0, DETAIL_ROWS, flag_row, hist, err,
	    errlen) == -1 ||
	    store_audit_each(model_store(v->model), id, 0, DETAIL_ROWS, audit_row, audit, err,
	    errlen) == -1)
		goto fail;
	if ((o = customer_json(v, c, REPORT_ADDRESSES)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	json_object_set_new(o, "history", hist);
	json_object_set_new(o, "audit", audit);
	*result = o;
	return 0;
fail:
	json_decref(hist);
	json_decref(audit);
	return -1;
}

/* A neighbourhood's object as `ranges` shows it: its figures and its contributors (the
 * customers named by ids, as they stand now). */
static json_t *
range_json(const struct views *v, const struct risk_nb_view *nv, const char *ids)
{
	const struct risk *r = model_risk(v->model);
	const struct customers *cs = model_customers(v->model);
	json_t *o = model_nb_json(nv), *con = json_array();

	if (o == NULL || con == NULL) {
		json_decref(o);
		json_decref(con);
		return NULL;
	}
	for (; *ids != '\0'; ids += strlen(ids) + 1) {
		long c = customers_find(cs, ids);
		const struct risk_flag *f = risk_flag_of(r, c);
		const struct customer *cu;

		if (c < 0 || f == NULL)
			continue;	/* gone with a reload, or no longer flagged */
		cu = customers_get(cs, (size_t)c);
		json_array_append_new(con, json_pack("{s:o, s:o, s:s, s:I, s:I}", "id",
		    text_json(cu->id), "name", text_json(cu->name), "level",
		    risk_level_name(f->level), "impacts", (json_int_t)f->listed_ips,
		    "suspects", (json_int_t)f->suspect_ips));
	}
	json_object_set_new(o, "spamscore", json_real(nv->spamscore));
	json_object_set_new(o, "ips", json_integer((json_int_t)nv->ips));
	json_object_set_new(o, "customer_ips", json_integer((json_int_t)nv->customer_ips));
	json_object_set_new(o, "escalated", json_boolean(nv->escalated));
	json_object_set_new(o, "escalated_since", time_json(nv->escalated_since));
	json_object_set_new(o, "reported_since", time_json(nv->reported_since));
	json_object_set_new(o, "list_count", nv->list_count >= 0 ?
	    json_integer(nv->list_count) : json_null());
	nb_forecast(o, nv);
	json_object_set_new(o, "clear_all_at", time_json(nv->clear_all_at));
	json_object_set_new(o, "contributors", con);
	return o;
}

/* A neighbourhood, named by policy, key and its contributors' ids: the view of the
 * evaluation at the request while it lasts, else found again by name. */
static json_t *
range_item(struct items *it, size_t i, const char *k, int *gone)
{
	const struct risk *r = model_risk(it->v->model);
	const char *key = k + strlen(k) + 1, *ids = key + strlen(key) + 1;
	const struct risk_nb_view *nv = risk_generation(r) == it->gen ?
	    risk_nb_at(r, it->view[i]) : risk_nb_find(r, k, key);

	if (nv == NULL) {
		*gone = 1;
		return NULL;
	}
	return range_json(it->v, nv, ids);
}

struct contrib {			/* a flag's customer contributing to a view */
	const struct risk_nb_view *nv;
	size_t flag;
};

static int
contrib_cmp(const void *a, const void *b)
{
	const struct contrib *x = a, *y = b;

	if (x->nv != y->nv)
		return (uintptr_t)x->nv < (uintptr_t)y->nv ? -1 : 1;
	return x->flag < y->flag ? -1 : x->flag > y->flag;
}

/* Every (view, flag) pair of the last evaluation, by view then flag order: a view's
 * contributors in one binary search instead of a pass over every flag. */
static struct contrib *
contributors(const struct risk *r, size_t *np)
{
	size_t nf = risk_flag_count(r), j, k, n = 0;
	struct contrib *cb;

	for (j = 0; j < nf; j++)
		n += risk_flag_at(r, j)->nnb;
	if ((cb = malloc((n ? n : 1) * sizeof *cb)) == NULL)
		return NULL;
	for (j = 0, n = 0; j < nf; j++)
		for (k = 0; k < risk_flag_at(r, j)->nnb; k++) {
			cb[n].nv = risk_flag_at(r, j)->nb[k];
			cb[n++].flag = j;
		}
	qsort(cb, n, sizeof *cb, contrib_cmp);
	*np = n;
	return cb;
}

/* Names the view nv (the i-th of the evaluation) and its contributors in it. */
static int
range_name(struct items *it, const struct risk_nb_view *nv, size_t i,
    const struct contrib *cb, size_t ncb)
{
	const struct risk *r = model_risk(it->v->model);
	const struct customers *cs = model_customers(it->v->model);
	struct contrib want = { .nv = nv, .flag = 0 };
	size_t lo = 0, hi = ncb, mid;

	while (lo < hi) {		/* the first pair of nv */
		mid = lo + (hi - lo) / 2;
		if (contrib_cmp(&cb[mid], &want) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	it->view[it->n] = i;
	if (items_begin(it) == -1 || items_str(it, nv->policy) == -1 ||
	    items_str(it, nv->key) == -1)
		return -1;
	for (; lo < ncb && cb[lo].nv == nv; lo++)
		if (items_str(it, customers_get(cs, (size_t)risk_flag_at(r,
		    cb[lo].flag)->customer)->id) == -1)
			return -1;
	return 0;
}

static int
cmd_ranges(void *arg, const json_t *req, const struct control_peer *peer, json_t **result,
    char *err, size_t errlen)
{
	struct views *v = arg;
	const struct risk *r = model_risk(v->model);
	size_t i, n = risk_nb_count(r), ncb = 0;
	json_int_t limit;
	const char *policy;
	struct contrib *cb = NULL;
	struct items *it;

	(void)peer;
	if (arg_int(req, "limit", 100, 10000000, &limit, err, errlen) == -1 ||
	    arg_str(req, "policy", 64, &policy, err, errlen) == -1)
		return -1;
	if ((it = items_new(v, range_item, "neighbourhoods")) == NULL ||
	    (it->view = malloc((n ? n : 1) * sizeof *it->view)) == NULL ||
	    (cb = contributors(r, &ncb)) == NULL)
		goto nomem;
	it->gen = risk_generation(r);
	for (i = 0; i < n; i++) {
		const struct risk_nb_view *nv = risk_nb_at(r, i);

		if (policy != NULL && strcmp(nv->policy, policy) != 0)
			continue;
		it->total++;
		if ((limit == 0 || (json_int_t)it->n < limit) &&
		    range_name(it, nv, i, cb, ncb) == -1)
			goto nomem;
	}
	free(cb);
	return items_reply(it, result, err, errlen);
nomem:
	free(cb);
	items_free(it);
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* A listing's object as `listings` shows it. */
static json_t *
listing_json(const struct views *v, const struct store_listing *s)
{
	const struct dnsbl_lists *lists = model_lists(v->model);
	const struct dnsbl_list *l = lists != NULL ? dnsbl_lists_find(lists, s->list) : NULL;
	struct rw_addr a;
	long c = -1;
	json_t *cust;

	if (s->scope == DNSBL_SCOPE_IP && addr_parse(s->key, &a) == 0)
		c = customers_lookup(model_customers(v->model), &a);
	cust = c >= 0 ? text_json(customers_get(model_customers(v->model), (size_t)c)->id) :
	    json_null();
	return json_pack("{s:s, s:s, s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "list",
	    s->list, "key", s->key, "scope", dnsbl_scope_name((enum dnsbl_scope)s->scope),
	    "listed", s->listed, "codes", text_json(s->codes), "txt", text_json(s->txt),
	    "first_seen", time_json(s->first_seen), "last_seen", time_json(s->last_seen),
	    "checked", time_json(s->checked), "customer", cust, "expires", s->listed &&
	    l != NULL && l->expiry > 0 && s->last_seen > 0 ? json_integer(s->last_seen +
	    l->expiry) : json_null());
}

/* A listing, named by list and key. */
static json_t *
listing_item(struct items *it, size_t i, const char *k, int *gone)
{
	const struct store_listing *s = listings_get(model_listings(it->v->model), k,
	    k + strlen(k) + 1);

	(void)i;
	if (s == NULL) {
		*gone = 1;
		return NULL;
	}
	return listing_json(it->v, s);
}

struct lsel {
	struct items *it;
	const char *list;
	int all;
	json_int_t limit;
	int oom;
};

static void
listing_pick(void *arg, const struct store_listing *s)
{
	struct lsel *ls = arg;

	if ((ls->list != NULL && strcmp(s->list, ls->list) != 0) || (!ls->all && !s->listed))
		return;
	ls->it->total++;
	if ((ls->limit != 0 && (json_int_t)ls->it->n >= ls->limit) || ls->oom)
		return;
	if (items_begin(ls->it) == -1 || items_str(ls->it, s->list) == -1 ||
	    items_str(ls->it, s->key) == -1)
		ls->oom = 1;
}

static int
cmd_listings(void *arg, const json_t *req, const struct control_peer *peer, json_t **result,
    char *err, size_t errlen)
{
	struct lsel ls = { 0 };

	(void)peer;
	if (arg_str(req, "list", 64, &ls.list, err, errlen) == -1 ||
	    arg_bool(req, "all", &ls.all, err, errlen) == -1 ||
	    arg_int(req, "limit", 1000, 10000000, &ls.limit, err, errlen) == -1)
		return -1;
	if ((ls.it = items_new(arg, listing_item, "listings")) == NULL)
		goto nomem;
	listings_each(model_listings(ls.it->v->model), listing_pick, &ls);
	if (ls.oom)
		goto nomem;
	return items_reply(ls.it, result, err, errlen);
nomem:
	items_free(ls.it);
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* One outbox row, its payload left out (the message itself stays in the store). */
static void
delivery_row(void *arg, const struct store_outbox *o)
{
	json_array_append_new(arg, json_pack("{s:I, s:o, s:o, s:o, s:I, s:o, s:i, s:o, s:o, "
	    "s:o, s:o, s:o}", "id", (json_int_t)o->id, "kind", text_json(o->kind), "customer",
	    text_json(o->customer), "level", text_json(o->level), "created",
	    (json_int_t)o->created, "next_try", time_json(o->next_try), "tries", o->tries,
	    "state", text_json(o->state), "subject", text_json(o->subject), "recipients",
	    text_json(o->recipients), "last_error", text_json(o->last_error), "sent_ts",
	    time_json(o->sent_ts)));
}

static int
cmd_alerts(void *arg, const json_t *req, const struct control_peer *peer, json_t **result,
    char *err, size_t errlen)
{
	struct views *v = arg;
	json_int_t limit;
	const char *cust;
	json_t *flags = NULL, *audit = NULL, *dl = NULL;

	(void)peer;
	/* at most 1000 rows of each (a flag row parses its evidence document, and the reply is
	 * built in one loop turn: 100,000 would hold the loop for seconds) */
	if (arg_int(req, "limit", 50, 1000, &limit, err, errlen) == -1 ||
	    arg_str(req, "customer", 256, &cust, err, errlen) == -1)
		return -1;
	if ((flags = json_array()) == NULL || (audit = json_array()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (store_flag_history(model_store(v->model), cust, 0, (size_t)limit, flag_row, flags,
	    err, errlen) == -1 ||
	    store_audit_each(model_store(v->model), cust, 0, (size_t)limit, audit_row, audit, err,
	    errlen) == -1)
		goto fail;
	if ((dl = json_array()) == NULL || store_outbox_each(model_store(v->model), cust, 0,
	    (size_t)limit, delivery_row, dl, err, errlen) == -1)
		goto fail;
	*result = json_pack("{s:o, s:o, s:o}", "flags", flags, "audit", audit, "deliveries",
	    dl);
	return 0;
fail:
	json_decref(flags);
	json_decref(audit);
	json_decref(dl);
	return -1;
}

/* ------------------------------------------------------------------ acting commands */

static int
act(struct views *v, const char *action, const json_t *req, const struct control_peer *peer,
    json_t **result, char *err, size_t errlen)
{
	const char *reason;
	char actor[160], outcome[256];
	struct store_audit a;
	int64_t id = 0, now = model_now(v->model);
	long c;
	const struct customer *cu;

	if ((c = arg_customer(v, req, "customer", err, errlen)) < 0 ||
	    arg_str(req, "reason", REASON_MAX, &reason, err, errlen) == -1)
		return -1;
	if (reason == NULL || reason[0] == '\0') {
		snprintf(err, errlen, "\"reason\" is required: say why, it goes to the audit log");
		return -1;
	}
	cu = customers_get(model_customers(v->model), (size_t)c);
	control_peer_name(peer, actor, sizeof actor);
	memset(&a, 0, sizeof a);
	a.ts = (int64_t)time(NULL);	/* the audit log is of the real world: wall time */
	a.actor = actor;
	a.action = action;
	a.customer = cu->id;
	a.reason = reason;
	a.detail = "";
	if (strcmp(action, "ack") == 0) {
		const struct risk_flag *f = risk_flag_of(model_risk(v->model), c);
		struct store *st = model_store(v->model);
		char why[256];

		/* the ack and its audit entry commit together: apart, a kill between them
		 * left an acknowledged flag that the audit log does not know of. The entry
		 * goes first, as the ack changes the model in memory and cannot be undone. */
		snprintf(outcome, sizeof outcome, "acknowledged at level %s",
		    risk_level_name(f != NULL ? f->level : RISK_NONE));
		a.outcome = outcome;
		if (store_hold(st, err, errlen) == -1)
			return -1;
		if (store_audit_add(st, &a, &id, err, errlen) == -1 ||
		    model_ack(v->model, c, actor, reason, now, err, errlen) == -1) {
			(void)store_release(st, 0, why, sizeof why);
			return -1;
		}
		if (store_release(st, 1, err, errlen) == -1)
			return -1;
	} else {
		/* the request is in the audit log before anything runs; then its outcome */
		a.outcome = "requested";
		if (store_audit_add(model_store(v->model), &a, &id, err, errlen) == -1)
			return -1;
		if (v->act == NULL)
			snprintf(outcome, sizeof outcome, "recorded");
		else if (v->act(v->arg, action, c, reason, actor, id, outcome,
		    sizeof outcome) == -1) {
			char refused[300];

			snprintf(refused, sizeof refused, "refused: %s", outcome);
			(void)store_audit_outcome(model_store(v->model), id, refused, NULL, err,
			    errlen);
			snprintf(err, errlen, "%s", outcome);
			return -1;
		}
		if (store_audit_outcome(model_store(v->model), id, outcome, NULL, err, errlen) ==
		    -1)
			return -1;
		a.outcome = outcome;
	}
	a.id = id;
	log_info("%s %s by %s: %s", action, cu->id, actor, outcome);
	model_publish(v->model, "audit", audit_json(&a));
	*result = json_pack("{s:I, s:o, s:s, s:s}", "audit_id", (json_int_t)id, "customer",
	    text_json(cu->id), "action", action, "outcome", outcome);
	if (*result != NULL && strcmp(action, "ack") == 0) {
		const struct risk_flag *f = risk_flag_of(model_risk(v->model), c);

		json_object_set_new(*result, "level", json_string(risk_level_name(f != NULL ?
		    f->level : RISK_NONE)));
	}
	return 0;
}

static int
cmd_suspend(void *arg, const json_t *req, const struct control_peer *peer, json_t **result,
    char *err, size_t errlen)
{
	return act(arg, "suspend", req, peer, result, err, errlen);
}

static int
cmd_resume(void *arg, const json_t *req, const struct control_peer *peer, json_t **result,
    char *err, size_t errlen)
{
	return act(arg, "resume", req, peer, result, err, errlen);
}

static int
cmd_ack(void *arg, const json_t *req, const struct control_peer *peer, json_t **result,
    char *err, size_t errlen)
{
	return act(arg, "ack", req, peer, result, err, errlen);
}

/* ------------------------------------------------------------------ registration */

struct views *
views_new(struct control *ctl, struct model *m, views_status_fn status, views_act_fn actfn,
    void *arg, int64_t started, char *err, size_t errlen)
{
	static const struct {
		const char *cmd;
		enum control_access access;
		control_fn fn;
	} cmds[] = {
		{ "status", CONTROL_READ, cmd_status },
		{ "customers", CONTROL_READ, cmd_customers },
		{ "customer", CONTROL_READ, cmd_customer },
		{ "ranges", CONTROL_READ, cmd_ranges },
		{ "listings", CONTROL_READ, cmd_listings },
		{ "alerts", CONTROL_READ, cmd_alerts },
		{ "suspend", CONTROL_ACT, cmd_suspend },
		{ "resume", CONTROL_ACT, cmd_resume },
		{ "ack", CONTROL_ACT, cmd_ack },
	};
	struct views *v = calloc(1, sizeof *v);
	size_t i;

	if (v == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	v->ctl = ctl;
	v->model = m;
	v->status = status;
	v->act = actfn;
	v->arg = arg;
	v->started = started;
	v->slice = VIEWS_SLICE;
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (control_handle(ctl, cmds[i].cmd, cmds[i].access, cmds[i].fn, v) == -1) {
			snprintf(err, errlen, "cannot register command %s", cmds[i].cmd);
			free(v);
			return NULL;
		}
	return v;
}

void
views_free(struct views *v)
{
	free(v);
}

void
views_set_model(struct views *v, struct model *m)
{
	v->model = m;
}

void
views_set_slice(struct views *v, size_t n)
{
	v->slice = n > 0 ? n : VIEWS_SLICE;
}

size_t
views_most_per_turn(const struct views *v)
{
	return v->most_per_turn;
}
