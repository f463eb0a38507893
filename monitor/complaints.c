/*
 * complaints.c — the `complaint` command, the complaint table and the risk engine's
 * complaints (see complaints.h). For: rangewatchd. Owns: nothing but its registration.
 * Never: trusts a request's fields (each checked, text escaped and cut), lets a complaint
 * be more than weak evidence (risk_reports.c), or parses mail (the client does).
 */
#include "complaints.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "control.h"
#include "customers.h"
#include "log.h"
#include "model.h"
#include "store.h"
#include "text.h"

#define REFEED_FOR	(30 * 86400)	/* complaints fed again from the store: this recent */
#define AHEAD_MAX	86400		/* an arrival date at most this far ahead (clock skew) */

struct complaints {
	struct control *ctl;
	struct model *model;
};

/* The optional text field name of req, escaped and cut into out; -1 when not a string. */
static int
text_arg(const json_t *req, const char *name, char *out, size_t len, char *err,
    size_t errlen)
{
	const json_t *v = json_object_get(req, name);

	out[0] = '\0';
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "\"%s\" must be a string", name);
		return -1;
	}
	text_escape(out, len, json_string_value(v), json_string_length(v));
	return 0;
}

struct feed {
	struct risk *r;
	size_t bad;
};

static void
feed_one(void *arg, const struct store_complaint *c)
{
	struct feed *f = arg;
	struct rw_addr a;

	if (addr_parse(c->ip, &a) == -1 || risk_complaint(f->r, &a, c->at, 1) == -1)
		f->bad++;
}

void
complaints_refeed(struct complaints *c, struct risk *r)
{
	struct feed f = { r, 0 };
	char err[200];

	if (c == NULL)
		return;
	if (store_complaint_each(model_store(c->model), model_now(c->model) - REFEED_FOR,
	    feed_one, &f, err, sizeof err) == -1)
		log_warnx("complaints: %s", err);
	if (f.bad > 0)
		log_warnx("complaints: %zu stored complaints not fed (bad address, or the risk "
		    "engine's table full)", f.bad);
}

static void
refeed_fn(void *arg, struct risk *r)
{
	complaints_refeed(arg, r);
}

struct one {
	struct rw_addr ip;
	int64_t at;
};

static void
feed_new(void *arg, struct risk *r)
{
	const struct one *o = arg;

	(void)risk_complaint(r, &o->ip, o->at, 1);	/* a full table: counted by risk */
}

static int
cmd_complaint(void *arg, const json_t *req, const struct control_peer *peer,
    json_t **result, char *err, size_t errlen)
{
	struct complaints *cs = arg;
	const json_t *jip = json_object_get(req, "ip"), *jat = json_object_get(req, "at");
	const char *kind = json_string_value(json_object_get(req, "kind"));
	char ip[ADDR_STRLEN], ftype[64], dom[COMPLAINT_TEXT_MAX], from[COMPLAINT_TEXT_MAX];
	char actor[160];
	const struct customers *cus = model_customers(cs->model);
	const struct customer *cu = NULL;
	struct store_complaint sc;
	struct one o;
	int64_t id = 0, now = model_now(cs->model);
	uint32_t n, traps;
	long c;

	if (!json_is_string(jip) || json_string_length(jip) >= ADDR_STRLEN ||
	    addr_parse(json_string_value(jip), &o.ip) == -1) {
		snprintf(err, errlen, "\"ip\" must be an IPv4 or IPv6 address");
		return -1;
	}
	if (kind == NULL || (strcmp(kind, "arf") != 0 && strcmp(kind, "xarf") != 0 &&
	    strcmp(kind, "jmrp") != 0)) {
		snprintf(err, errlen, "\"kind\" must be arf, xarf or jmrp");
		return -1;
	}
	if (jat != NULL && !json_is_null(jat) && !json_is_integer(jat)) {
		snprintf(err, errlen, "\"at\" must be a time (seconds since 1970) or null");
		return -1;
	}
	o.at = json_is_integer(jat) ? (int64_t)json_integer_value(jat) : 0;
	if (o.at < 0 || o.at > now + AHEAD_MAX) {
		snprintf(err, errlen, "\"at\" is out of range (before 1970, or more than a day "
		    "ahead)");
		return -1;
	}
	if (o.at == 0 || o.at > now)
		o.at = now;	/* unknown, or a sender's clock ahead: when we got it */
	if (text_arg(req, "feedback_type", ftype, sizeof ftype, err, errlen) == -1 ||
	    text_arg(req, "reported_domain", dom, sizeof dom, err, errlen) == -1 ||
	    text_arg(req, "mail_from", from, sizeof from, err, errlen) == -1)
		return -1;
	if ((c = customers_lookup(cus, &o.ip)) >= 0)
		cu = customers_get(cus, (size_t)c);
	control_peer_name(peer, actor, sizeof actor);
	memset(&sc, 0, sizeof sc);
	sc.received = now;
	sc.at = o.at;
	sc.ip = addr_format(&o.ip, ip, sizeof ip);
	sc.customer = cu != NULL ? cu->id : "";
	sc.kind = kind;
	sc.feedback_type = ftype;
	sc.reported_domain = dom;
	sc.mail_from = from;
	sc.operator_name = actor;
	if (store_complaint_add(model_store(cs->model), &sc, &id, err, errlen) == -1)
		return -1;
	model_feed(cs->model, feed_new, &o);
	risk_ip_reports(model_risk(cs->model), &o.ip, now, &n, &traps);
	log_info("complaint %lld (%s) about %s%s%s by %s", (long long)id, kind, ip,
	    cu != NULL ? ", customer " : " (no customer's)", cu != NULL ? cu->id : "", actor);
	*result = json_pack("{s:I, s:s, s:I, s:o, s:o, s:I}", "id", (json_int_t)id, "ip", ip,
	    "at", (json_int_t)o.at, "customer", cu != NULL ? text_json(cu->id) : json_null(),
	    "name", cu != NULL ? text_json(cu->name) : json_null(), "complaints",
	    (json_int_t)n);
	return 0;
}

struct complaints *
complaints_new(struct control *ctl, struct model *m, char *err, size_t errlen)
{
	struct complaints *c = calloc(1, sizeof *c);

	if (c == NULL || control_handle(ctl, "complaint", CONTROL_ACT, cmd_complaint, c) == -1) {
		free(c);
		snprintf(err, errlen, "complaints: out of memory");
		return NULL;
	}
	c->ctl = ctl;
	c->model = m;
	model_feed(m, refeed_fn, c);
	return c;
}

void
complaints_free(struct complaints *c)
{
	free(c);
}
