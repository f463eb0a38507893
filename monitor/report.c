/*
 * report.c — one flag as a C structure (see report.h): made once from the model, read by
 * the alert, the hook's policy and the views, turned into JSON only at the boundaries.
 *
 * For: handing a flag to alert.c and actions.c without a JSON round trip inside the
 * process, and building the one customer object the socket, the hook and the webhook show.
 * Owns: the copies in each report it makes (every string and array, freed by report_free).
 * Must never: keep a pointer into the model (its results change at every evaluation and
 * reload), or escape text (the outputs do: the mail escapes, JSON carries data).
 */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "customers.h"
#include "dnsbl.h"
#include "flows.h"
#include "listings.h"
#include "text.h"
#include "traffic.h"

/* ------------------------------------------------------------------ copying */

/* *dst = a copy of s (NULL stays NULL); -1 when out of memory. */
static int
copy_str(char **dst, const char *s)
{
	*dst = NULL;
	if (s == NULL)
		return 0;
	return (*dst = strdup(s)) != NULL ? 0 : -1;
}

/* A copy of n strings; -1 when out of memory (what was copied is in *dst, *ndst). */
static int
copy_strs(char ***dst, size_t *ndst, const char *const *v, size_t n)
{
	size_t i;

	*ndst = 0;
	if (n == 0)
		return 0;
	if ((*dst = calloc(n, sizeof **dst)) == NULL)
		return -1;
	for (i = 0; i < n; i++, (*ndst)++)
		if (copy_str(&(*dst)[i], v[i]) == -1)
			return -1;
	return 0;
}

static int
copy_customer(struct report *r, const struct customer *cu)
{
	if (copy_str(&r->id, cu->id) == -1 || copy_str(&r->name, cu->name) == -1 ||
	    copy_str(&r->contact, cu->contact) == -1 ||
	    copy_strs(&r->tags, &r->ntags, (const char *const *)cu->tags, cu->ntags) == -1)
		return -1;
	if (cu->ncidrs == 0)
		return 0;
	if ((r->cidrs = calloc(cu->ncidrs, sizeof *r->cidrs)) == NULL)
		return -1;
	memcpy(r->cidrs, cu->cidrs, cu->ncidrs * sizeof *r->cidrs);
	r->ncidrs = cu->ncidrs;
	return 0;
}

static int
copy_nb(struct report_nb *o, const struct risk_nb_view *v)
{
	o->scope = v->scope;
	snprintf(o->key, sizeof o->key, "%s", v->key);
	o->impacts = v->impacts;
	o->provisional = v->provisional;
	o->suspects = v->suspects;
	o->threshold = v->threshold;
	o->likelihood = v->likelihood;
	o->estimated = v->estimated;
	o->pace = v->pace;
	o->pressure = v->pressure;
	o->projected = v->projected;
	o->escalated = v->escalated;
	o->reported = v->reported;
	o->list_count = v->list_count;
	o->eta_threshold = v->eta_threshold;
	o->clear_at = v->clear_at;
	return copy_str(&o->policy, v->policy);
}

/* The flag's level, score, counts, reason, evidence and neighbourhoods (none: level none). */
static int
copy_flag(struct report *r, const struct risk_flag *f)
{
	size_t i;

	if (f == NULL)
		return 0;
	r->level = f->level;
	r->score = f->score;
	r->listed_ips = f->listed_ips;
	r->suspect_ips = f->suspect_ips;
	r->strong_ips = f->strong_ips;
	if (copy_str(&r->reason, f->reason) == -1 ||
	    copy_strs(&r->evidence, &r->nevidence, f->evidence, f->nevidence) == -1)
		return -1;
	if (f->nnb == 0)
		return 0;
	if ((r->nb = calloc(f->nnb, sizeof *r->nb)) == NULL)
		return -1;
	for (i = 0; i < f->nnb; i++, r->nnb++)
		if (copy_nb(&r->nb[i], f->nb[i]) == -1)
			return -1;
	return 0;
}

/* An evidence line that starts with an address whose connections include flow-export
 * estimates (flows.h) says so: the model saw only the 95% lower bound of a sampled count,
 * and SMTP commands and replies come only from pcap sensors. -1 on ENOMEM. */
static int
mark_estimates(struct report *r, const struct model *m)
{
	struct traffic *t = model_traffic(m);
	const struct traffic_ip *ip;
	char a[ADDR_STRLEN], text[96], *line;
	struct rw_addr addr;
	size_t i, n, len;

	for (i = 0; t != NULL && i < r->nevidence; i++) {
		n = strcspn(r->evidence[i], " ;/");
		if (n == 0 || n >= sizeof a)
			continue;
		memcpy(a, r->evidence[i], n);
		a[n] = '\0';
		if (addr_parse(a, &addr) == -1 || (ip = traffic_get(t, &addr)) == NULL ||
		    ip->fx == NULL || ip->fx->fed == 0)
			continue;
		flows_estimate_text(ip, text, sizeof text);
		len = strlen(r->evidence[i]) + strlen(text) + 256;
		if ((line = malloc(len)) == NULL)
			return -1;
		snprintf(line, len, "%s (its SMTP connections include %.0f from flow exports, "
		    "%s: the model counts the 95%% lower bound, %u; SMTP commands and replies "
		    "are counted only by pcap sensors)", r->evidence[i], ip->fx->sessions, text,
		    ip->fx->fed);
		free(r->evidence[i]);
		r->evidence[i] = line;
	}
	return 0;
}

/* What the model knows beyond the flag: since when, the ack, the last hour's SMTP. */
static int
copy_model(struct report *r, const struct model_customer *mc, int flagged)
{
	r->since = flagged ? mc->since : 0;
	r->ack_ts = mc->ack_ts;
	r->smtp.sessions = mc->sessions_1h;
	r->smtp.rcpt = mc->rcpt_1h;
	r->smtp.replies_5xx = mc->rej_1h;
	r->smtp.cited = mc->cited_1h;
	r->smtp.dst = mc->dst_1h;
	memcpy(r->smtp.spark, mc->spark, sizeof r->smtp.spark);
	if (mc->ack_by == NULL)
		return 0;
	return copy_str(&r->ack_by, mc->ack_by) == -1 ||
	    copy_str(&r->ack_reason, mc->ack_reason) == -1 ? -1 : 0;
}

/* ------------------------------------------------------------------ the addresses */

struct gather {
	const struct model *m;
	struct report *r;
	long c;
	size_t cap;
	int oom;
};

/* A new zeroed address at the end of r's; NULL when out of memory. */
static struct report_addr *
addr_push(struct gather *g)
{
	struct report *r = g->r;
	struct report_addr *na;

	if (r->naddr == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 8;

		if ((na = realloc(r->addr, cap * sizeof *na)) == NULL) {
			g->oom = 1;
			return NULL;
		}
		r->addr = na;
		g->cap = cap;
	}
	na = &r->addr[r->naddr++];
	memset(na, 0, sizeof *na);
	return na;
}

static int
copy_listing(struct report_listing *o, const struct store_listing *s)
{
	o->listed = s->listed;
	o->first_seen = s->first_seen;
	o->last_seen = s->last_seen;
	return copy_str(&o->list, s->list) == -1 || copy_str(&o->codes, s->codes) == -1 ||
	    copy_str(&o->txt, s->txt) == -1 ? -1 : 0;
}

/* The records of ad's IP on every ip-scope list that has one, in the lists' order. */
static int
addr_listings(const struct model *m, struct report_addr *ad)
{
	const struct dnsbl_lists *ls = model_lists(m);
	size_t i, n = ls != NULL ? dnsbl_lists_count(ls) : 0;
	const struct store_listing *s;

	if (n == 0)
		return 0;
	if ((ad->listings = calloc(n, sizeof *ad->listings)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		const struct dnsbl_list *l = dnsbl_lists_get(ls, i);

		if (l->scope != DNSBL_SCOPE_IP ||
		    (s = listings_get(model_listings(m), l->name, ad->ip)) == NULL)
			continue;
		if (copy_listing(&ad->listings[ad->nlistings++], s) == -1)
			return -1;
	}
	return 0;
}

/* Traffic record i (the customer's) with its counters. */
static void
addr_sent(struct gather *g, size_t i, const struct traffic_ip *t)
{
	struct report_addr *ad;

	if ((ad = addr_push(g)) == NULL)
		return;
	addr_format(&t->addr, ad->ip, sizeof ad->ip);
	ad->sent = 1;
	ad->first_seen = model_first_seen(g->m, i);
	ad->last_seen = t->last_seen;
	ad->sessions = t->sessions;
	if (t->fx != NULL && t->fx->samples > 0)
		flows_estimate_text(t, ad->estimate, sizeof ad->estimate);
	ad->mail_from = t->mail_from;
	ad->rcpt_to = t->rcpt_to;
	ad->data = t->data;
	ad->starttls = t->starttls;
	ad->replies_4xx = t->replies_4xx;
	ad->replies_5xx = t->replies_5xx;
	ad->cited = t->cited;
	ad->dst = distinct_count(&t->dst);
	ad->suspect = risk_ip_suspect(model_risk(g->m), &t->addr, &ad->rules);
	risk_ip_reports(model_risk(g->m), &t->addr, model_now(g->m), &ad->complaints,
	    &ad->snds_traps);
	if (addr_listings(g->m, ad) == -1)
		g->oom = 1;
}

/* A listed address of the customer that has no traffic record (shown with its traffic
 * otherwise), once however many lists list it. */
static void
addr_listed(void *arg, const struct store_listing *s)
{
	struct gather *g = arg;
	struct report_addr *ad;
	struct rw_addr a;
	size_t i;

	if (g->oom || !s->listed || s->scope != DNSBL_SCOPE_IP || addr_parse(s->key, &a) == -1 ||
	    customers_lookup(model_customers(g->m), &a) != g->c ||
	    traffic_get(model_traffic(g->m), &a) != NULL)
		return;
	for (i = 0; i < g->r->naddr; i++)
		if (strcmp(g->r->addr[i].ip, s->key) == 0)
			return;
	if ((ad = addr_push(g)) == NULL)
		return;
	snprintf(ad->ip, sizeof ad->ip, "%s", s->key);
	risk_ip_reports(model_risk(g->m), &a, model_now(g->m), &ad->complaints,
	    &ad->snds_traps);
	if (addr_listings(g->m, ad) == -1)
		g->oom = 1;
}

/* The customer's addresses that sent (traffic order), then those only listed. */
static int
gather_addresses(struct report *r, const struct model *m, long c)
{
	struct traffic *t = model_traffic(m);
	struct gather g = { .m = m, .r = r, .c = c };
	size_t i, n = traffic_count(t);

	r->has_addresses = 1;
	for (i = 0; i < n && !g.oom; i++)
		if (traffic_at(t, i)->customer == c)
			addr_sent(&g, i, traffic_at(t, i));
	if (!g.oom)
		listings_each(model_listings(m), addr_listed, &g);
	return g.oom ? -1 : 0;
}

/* ------------------------------------------------------------------ the report */

struct report *
report_new(const struct model *m, long c, enum risk_level previous, unsigned what)
{
	const struct customers *cs = model_customers(m);
	const struct risk_flag *f;
	struct model_customer mc;
	struct report *r;

	if (c < 0 || (size_t)c >= customers_count(cs) || (r = calloc(1, sizeof *r)) == NULL)
		return NULL;
	f = risk_flag_of(model_risk(m), c);
	memset(&mc, 0, sizeof mc);
	(void)model_customer(m, c, &mc);
	r->previous = previous;
	if (copy_customer(r, customers_get(cs, (size_t)c)) == -1 || copy_flag(r, f) == -1 ||
	    mark_estimates(r, m) == -1 || copy_model(r, &mc, f != NULL) == -1 ||
	    ((what & REPORT_ADDRESSES) && gather_addresses(r, m, c) == -1)) {
		report_free(r);
		return NULL;
	}
	return r;
}

static void
strs_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

static void
addr_free(struct report_addr *ad)
{
	size_t i;

	for (i = 0; i < ad->nlistings; i++) {
		free(ad->listings[i].list);
		free(ad->listings[i].codes);
		free(ad->listings[i].txt);
	}
	free(ad->listings);
}

void
report_free(struct report *r)
{
	size_t i;

	if (r == NULL)
		return;
	free(r->id);
	free(r->name);
	free(r->contact);
	strs_free(r->tags, r->ntags);
	free(r->cidrs);
	free(r->ack_by);
	free(r->ack_reason);
	free(r->reason);
	strs_free(r->evidence, r->nevidence);
	for (i = 0; i < r->nnb; i++)
		free(r->nb[i].policy);
	free(r->nb);
	for (i = 0; i < r->naddr; i++)
		addr_free(&r->addr[i]);
	free(r->addr);
	free(r);
}

int
report_has_tag(const struct report *r, const char *t)
{
	size_t i;

	for (i = 0; i < r->ntags; i++)
		if (strcmp(r->tags[i], t) == 0)
			return 1;
	return 0;
}

const struct report_nb *
report_worst_nb(const struct report *r)
{
	const struct report_nb *best = NULL, *nb;
	size_t i;

	for (i = 0; i < r->nnb; i++) {
		nb = &r->nb[i];
		if (best == NULL || nb->projected > best->projected ||
		    (nb->projected == best->projected && nb->pressure > best->pressure))
			best = nb;
	}
	return best;
}

const char *
report_range(const struct report *r)
{
	size_t i;

	for (i = 0; i < r->nnb; i++)
		if (r->nb[i].scope == RISK_SCOPE_RANGE)
			return r->nb[i].key;
	return "";
}

/* ------------------------------------------------------------------ JSON */

static json_t *
time_json(int64_t t)
{
	return t > 0 ? json_integer(t) : json_null();
}

static json_t *
strs_json(char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, text_json(v[i]));
	return a;
}

/* A neighbourhood: model_nb_json()'s fields (the store's evidence document has the same),
 * then the forecasts the mail's "Forecast" part and `top` read. */
static json_t *
nb_json(const struct report_nb *nb)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:f, s:f, s:I, s:f, s:f, s:f, "
	    "s:b}", "policy", nb->policy != NULL ? nb->policy : "",
	    "scope", nb->scope == RISK_SCOPE_ASN ? "asn" : "range", "key", nb->key,
	    "impacts", (json_int_t)nb->impacts, "suspects", (json_int_t)nb->suspects,
	    "threshold", (json_int_t)nb->threshold, "pressure", nb->pressure,
	    "projected", nb->projected, "provisional", (json_int_t)nb->provisional,
	    "likelihood", nb->likelihood, "estimated", nb->estimated, "pace", nb->pace,
	    "reported_escalated", nb->reported);

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "eta_threshold", nb->eta_threshold >= 0 ?
	    json_integer(nb->eta_threshold) : json_null());
	json_object_set_new(o, "clear_at", time_json(nb->clear_at));
	return o;
}

static json_t *
rules_json(unsigned rules)
{
	json_t *a = json_array();
	unsigned i;

	for (i = 0; a != NULL && i < RISK_NRULES; i++)
		if (rules & (1u << i))
			json_array_append_new(a, json_string(risk_rule_name(i)));
	return a;
}

static json_t *
listings_json(const struct report_addr *ad)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < ad->nlistings; i++) {
		const struct report_listing *l = &ad->listings[i];

		json_array_append_new(a, json_pack("{s:s, s:b, s:o, s:o, s:o, s:o}", "list",
		    l->list, "listed", l->listed, "codes", text_json(l->codes), "txt",
		    text_json(l->txt), "first_seen", time_json(l->first_seen), "last_seen",
		    time_json(l->last_seen)));
	}
	return a;
}

/* An address that sent: its counters, rules and listings; one only listed: its listings. */
static json_t *
addr_json(const struct report_addr *ad)
{
	if (!ad->sent)
		return json_pack("{s:s, s:n, s:n, s:b, s:o, s:I, s:I}", "ip", ad->ip, "first_seen",
		    "last_seen", "suspect", 0, "listings", listings_json(ad), "complaints",
		    (json_int_t)ad->complaints, "snds_trap_hits", (json_int_t)ad->snds_traps);
	return json_pack("{s:s, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, "
	    "s:o, s:o, s:I, s:I, s:o}", "ip", ad->ip, "first_seen", time_json(ad->first_seen),
	    "last_seen", time_json(ad->last_seen), "sessions", (json_int_t)ad->sessions,
	    "mail_from", (json_int_t)ad->mail_from, "rcpt_to", (json_int_t)ad->rcpt_to,
	    "data", (json_int_t)ad->data, "starttls", (json_int_t)ad->starttls,
	    "replies_4xx", (json_int_t)ad->replies_4xx,
	    "replies_5xx", (json_int_t)ad->replies_5xx, "cited", (json_int_t)ad->cited,
	    "dst", (json_int_t)ad->dst, "suspect", ad->suspect,
	    "rules", rules_json(ad->rules), "listings", listings_json(ad),
	    "complaints", (json_int_t)ad->complaints, "snds_trap_hits", (json_int_t)ad->snds_traps,
	    /* sessions include flow-export estimates (their lower bound): say how good */
	    "estimate", ad->estimate[0] ? json_string(ad->estimate) : json_null());
}

static json_t *
nbs_json(const struct report *r)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < r->nnb; i++)
		json_array_append_new(a, nb_json(&r->nb[i]));
	return a;
}

static json_t *
addrs_json(const struct report *r)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < r->naddr; i++)
		json_array_append_new(a, addr_json(&r->addr[i]));
	return a;
}

static json_t *
cidrs_json(const struct report *r)
{
	json_t *a = json_array();
	char buf[CIDR_STRLEN];
	size_t i;

	for (i = 0; a != NULL && i < r->ncidrs; i++)
		json_array_append_new(a, json_string(cidr_format(&r->cidrs[i], buf, sizeof buf)));
	return a;
}

static json_t *
spark_json(const struct report_smtp *s)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < MODEL_SPARK; i++)
		json_array_append_new(a, json_integer(s->spark[i]));
	return a;
}

static json_t *
ack_json(const struct report *r)
{
	if (r->ack_by == NULL)
		return json_null();
	return json_pack("{s:o, s:o, s:I}", "by", text_json(r->ack_by), "reason",
	    text_json(r->ack_reason), "ts", (json_int_t)r->ack_ts);
}

json_t *
report_json(const struct report *r)
{
	json_t *o = json_pack("{s:o, s:o, s:s, s:f, s:o, s:o, s:o, s:o, s:I, s:I, "
	    "s:{s:I, s:I, s:I, s:I, s:I}, s:o, s:o, s:o}",
	    "id", text_json(r->id), "name", text_json(r->name),
	    "level", risk_level_name(r->level), "score", r->score,
	    "since", time_json(r->since), "ack", ack_json(r),
	    "tags", strs_json(r->tags, r->ntags), "ips", cidrs_json(r),
	    "listed_ips", (json_int_t)r->listed_ips, "suspect_ips", (json_int_t)r->suspect_ips,
	    "smtp_1h", "sessions", (json_int_t)r->smtp.sessions, "rcpt", (json_int_t)r->smtp.rcpt,
	    "replies_5xx", (json_int_t)r->smtp.replies_5xx, "cited", (json_int_t)r->smtp.cited,
	    "dst", (json_int_t)r->smtp.dst,
	    "spark", spark_json(&r->smtp), "evidence", strs_json(r->evidence, r->nevidence),
	    "neighbourhoods", nbs_json(r));

	if (o == NULL || !r->has_addresses)
		return o;
	json_object_set_new(o, "contact", text_json(r->contact));
	json_object_set_new(o, "addresses", addrs_json(r));
	{
		/* what others reported about the customer: its addresses' sums */
		uint64_t comp = 0, traps = 0;
		size_t i;

		for (i = 0; i < r->naddr; i++) {
			comp += r->addr[i].complaints;
			traps += r->addr[i].snds_traps;
		}
		json_object_set_new(o, "complaints", json_integer((json_int_t)comp));
		json_object_set_new(o, "snds_trap_hits", json_integer((json_int_t)traps));
	}
	return o;
}
