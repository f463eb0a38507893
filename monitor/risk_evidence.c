/*
 * risk_evidence.c — the words of a flag: one line per IP worth a word and per
 * neighbourhood, naming every piece of evidence, the lower bound beside the estimate, and
 * the forecasts. For: risk_eval.c. Owns: nothing (it writes into a caller's line buffer,
 * cut at LINE_MAX_LEN). Never: escapes (customer names and list texts stay data; output
 * escapes them), decides anything.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "risk_int.h"

#define EV_NAMES_MAX	10	/* contributors named per escalated neighbourhood */

void
risk_lb_add(struct risk_lb *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (b->n >= sizeof b->s - 1)
		return;
	va_start(ap, fmt);
	k = vsnprintf(b->s + b->n, sizeof b->s - b->n, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	b->n += (size_t)k;
	if (b->n > sizeof b->s - 1)
		b->n = sizeof b->s - 1;
}

void
risk_fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
}

void
risk_fmt_dur(int64_t s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(buf, len, "%lld d %lld h", (long long)(s / 86400),
		    (long long)(s % 86400 / 3600));
	else
		snprintf(buf, len, "%lld h %lld min", (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
}

const char *
risk_cust_id(const struct risk *r, long c)
{
	const struct customer *cu = r->cus ? customers_get(r->cus, (size_t)c) : NULL;

	return cu && cu->id ? cu->id : "?";
}

const char *
risk_cust_name(const struct risk *r, long c)
{
	const struct customer *cu = r->cus ? customers_get(r->cus, (size_t)c) : NULL;

	return cu && cu->name ? cu->name : "";
}

/* "listed on X since T", "reported as listed on X by N remote replies since T" ... */
static void
ip_lists(const struct risk *r, const struct iprec *ip, struct risk_lb *b)
{
	const struct lrec *l;
	char t1[40], t2[40];
	int any = 0;

	for (l = ip->lst; l != NULL; l = l->next) {
		if (l->first != 0) {
			risk_fmt_time(l->first, t1, sizeof t1);
			if (l->listed)
				risk_lb_add(b, "%s listed on %s since %s", any ? " and" : "",
				    r->lists[l->list], t1);
			else {
				risk_fmt_time(l->last, t2, sizeof t2);
				risk_lb_add(b, "%s was listed on %s from %s until %s",
				    any ? " and" : "", r->lists[l->list], t1, t2);
			}
			any = 1;
		}
		if (l->rep_last != 0 && risk_lrec_provisional(r, l, r->at)) {
			risk_fmt_time(l->rep_first, t1, sizeof t1);
			risk_lb_add(b, "%s reported as listed on %s by %u remote replies since %s%s",
			    any ? " and" : "", r->lists[l->list], l->rep_total, t1,
			    l->listed ? "" : ", not yet seen in DNS");
			any = 1;
		}
	}
}

void
risk_ip_evidence(const struct risk *r, const struct iprec *ip, int64_t now,
    struct risk_lb *b)
{
	char a[ADDR_STRLEN], t1[40];
	double lh[NC];

	addr_format(&ip->addr, a, sizeof a);
	if (!addr_is_v4(&ip->addr) && r->cfg.v6_plen < 128)
		risk_lb_add(b, "%s/%u", a, r->cfg.v6_plen);	/* every address in it */
	else
		risk_lb_add(b, "%s", a);
	ip_lists(r, ip, b);
	risk_x_evidence(r, ip, now, b);
	if (!ip->rules)
		return;
	risk_last_hour(ip, now, lh);
	risk_lb_add(b, "; %s evidence, likelihood %.2f: %.0f SMTP connections and %.0f RCPT "
	    "in the last hour", (ip->flags & F_STRONG) ? "strong" : "weak", ip->p, lh[C_CONN],
	    lh[C_RCPT]);
	if (ip->rules & RISK_R_FANOUT)
		risk_lb_add(b, " to %.0f new distinct destinations", lh[C_MX]);
	if (ip->hours >= r->cfg.baseline_hours && !((ip->flags & F_SILENT) &&
	    ip->customer >= 0 && (size_t)ip->customer < r->ncbase && r->cbase[ip->customer].has))
		risk_lb_add(b, " (own baseline %.0f/h, usual peak %.0f/h; %.0f/%.0f new "
		    "destinations)", ip->mean, ip->peak, ip->mxmean, ip->mxpeak);
	else if (ip->customer >= 0 && (size_t)ip->customer < r->ncbase &&
	    r->cbase[ip->customer].has)
		risk_lb_add(b, " (no history of its own, %u h: judged against its customer's other "
		    "IPs, usual peak %.0f/h)", ip->hours, r->cbase[ip->customer].peak);
	else
		risk_lb_add(b, " (no baseline yet: %u h of history)", ip->hours);
	if (ip->rules & (RISK_R_REJECT | RISK_R_RATIO | RISK_R_CITED))
		risk_lb_add(b, "; %.0f remote 5xx in the last hour (%.0f%% of recipients, usually "
		    "%.0f%%), %.0f replies naming a DNSBL", lh[C_5XX], lh[C_RCPT] > 0 ?
		    100 * lh[C_5XX] / lh[C_RCPT] : 0, 100 * ip->rjmean, lh[C_CITED]);
	if (ip->rules & RISK_R_UNASSIGNED)
		risk_lb_add(b, "; the IP is assigned to no customer");
	if (ip->rules & RISK_R_WOKE) {
		risk_fmt_time(ip->woke_at, t1, sizeof t1);
		risk_lb_add(b, "; started sending at %s after a long silence", t1);
	}
	if (ip->spam > 0)
		risk_lb_add(b, "; %.0f recipients accepted under strong evidence", ip->spam);
}

static void
nb_contributors(const struct risk *r, const struct imp *const *byview, size_t nbv,
    struct risk_lb *b)
{
	size_t i, named = 0;

	for (i = 0; i < nbv; i++) {
		int32_t c = r->ip[byview[i]->ip].customer;
		size_t j = i;
		while (j + 1 < nbv && r->ip[byview[j + 1]->ip].customer == c)
			j++;
		if (named < EV_NAMES_MAX)
			risk_lb_add(b, "%s customer %.64s %.64s (%zu IP%s)", named ? "," : "",
			    risk_cust_id(r, c), risk_cust_name(r, c), j - i + 1, j > i ? "s" : "");
		named++;
		i = j;
	}
	if (named > EV_NAMES_MAX)
		risk_lb_add(b, " and %zu more", named - EV_NAMES_MAX);
}

/* "2 of 4 impacts" and, when there is more to say, "(+1 reported listed, not yet in DNS;
 * +2 suspects, likelihood 0.40; about 5.2 estimated trap hits: projected 1.30)" */
static void
nb_counts(const struct risk_nb_view *v, const char *toward, struct risk_lb *b)
{
	risk_lb_add(b, "%u of %u impacts%s%s", v->impacts, v->threshold, toward ? " toward " :
	    "", toward ? toward : "");
	if (!v->provisional && !v->suspects && v->estimated <= v->impacts)
		return;
	risk_lb_add(b, " (");
	if (v->provisional)
		risk_lb_add(b, "+%u reported listed, not yet in DNS; ", v->provisional);
	if (v->suspects)
		risk_lb_add(b, "+%u suspect%s not yet listed, likelihood %.2f; ", v->suspects,
		    v->suspects == 1 ? "" : "s", v->likelihood);
	risk_lb_add(b, "about %.1f estimated trap hits: projected %.2f", v->estimated,
	    v->projected);
	if (v->calibration != 1)
		risk_lb_add(b, "; estimate calibrated x%.2f by the list's own counts",
		    v->calibration);
	risk_lb_add(b, ")");
}

void
risk_nb_evidence(const struct risk *r, const struct risk_nb_view *v, double mine,
    uint64_t blast, const struct imp *const *byview, size_t nbv, int64_t now,
    struct risk_lb *b)
{
	char t[40], d[40];

	risk_lb_add(b, "%s %s", v->scope == RISK_SCOPE_ASN ? "ASN" : "range",
	    v->scope == RISK_SCOPE_ASN ? v->key + 2 : v->key);
	if (v->escalated || v->reported) {
		risk_fmt_time(v->escalated ? v->escalated_since : v->reported_since, t, sizeof t);
		if (v->escalated)
			risk_lb_add(b, " is listed on %s since %s (escalated", v->policy, t);
		else
			risk_lb_add(b, " is reported listed on %s by remote servers since %s "
			    "(escalated, not yet seen in DNS", v->policy, t);
		if (v->list_count >= 0)
			risk_lb_add(b, "; the list counts %ld abusers", v->list_count);
		risk_lb_add(b, "); ");
		nb_counts(v, NULL, b);
		risk_lb_add(b, " in our view; contributors:");
		nb_contributors(r, byview, nbv, b);
		risk_lb_add(b, "; %llu other customers' IPs listed", (unsigned long long)blast);
		return;
	}
	risk_lb_add(b, " at ");
	nb_counts(v, v->policy, b);
	if (v->scope == RISK_SCOPE_ASN)
		risk_lb_add(b, ", spamscore %.1f", v->spamscore);
	risk_lb_add(b, "; this customer adds %.1f; %llu other customers' IPs would be listed",
	    mine, (unsigned long long)blast);
	if (v->eta_threshold > 0) {
		risk_fmt_dur(v->eta_threshold - now, d, sizeof d);
		risk_lb_add(b, "; threshold in about %s at the current pace (%.2f estimated "
		    "impacts/h)", d, v->pace);
	} else if (v->eta_threshold == 0 && v->impacts < v->threshold)
		risk_lb_add(b, "; past its threshold by the estimate: due at the list's next "
		    "rebuild");
	if (v->clear_at > 0) {
		risk_fmt_time(v->clear_at, t, sizeof t);
		risk_lb_add(b, "; below threshold again %s if no new impact comes", t);
	} else if (v->clear_all_at > 0) {
		risk_fmt_time(v->clear_all_at, t, sizeof t);
		risk_lb_add(b, "; its last impact leaves the window %s", t);
	}
}
