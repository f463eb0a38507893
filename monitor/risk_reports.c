/*
 * risk_reports.c — what others report about an IP, as evidence: Microsoft SNDS rows (trap
 * hits, filter result, complaint rate) and complaint reports (ARF, X-ARF, JMRP feedback
 * loops and abuse desks). Part of the risk engine (risk_int.h); README "The model" and
 * SECURITY.md say why each weighs what it does.
 * For: risk.c's callers (risk_snds, risk_complaint) and the evaluation (risk_score.c's
 * rules, risk_eval.c's impacts, risk_evidence.c's words). Owns: each IP's struct xrec
 * (allocated on the first report, freed when no window keeps anything in it).
 * Never: lets a complaint be strong evidence (its content is whatever a third party wrote
 * to the abuse desk: it can warn, never make `act`), counts an SNDS row before its activity
 * period has ended (Microsoft reports a day once it is over), or does I/O.
 *
 * Weights (likelihood of an ip-scope listing within the window, risk_score.c's table):
 *  - trap hits (0.8, strong): Microsoft's spam traps took the IP's mail. Traps are what every
 *    list lists on, and a sender whose recipient list holds Microsoft's traps holds other
 *    networks' too; not 1, since they are not the policy's list's own traps. A policy that
 *    names `snds-traps` in its feeds counts each IP with hits as an impact and estimates
 *    snds_weight (0.5) of the list's own hits per SNDS hit: Microsoft's trap network is one
 *    large network among several, so half of its hits is what we expect another to see.
 *  - RED (0.5, strong): Microsoft's filter judged more than 90% of the day's mail spam; a
 *    receiver acting on it, like half of the recipients rejected.
 *  - YELLOW (0.2, weak): 10% to 90% spam: a mixed sender (a shared relay, a dirty list).
 *  - complaints (0.2, weak): an SNDS complaint rate at snds_complaint_rate (0.3%, the rate
 *    Microsoft's SNDS FAQ and the large mailbox providers call high; legitimate mail stays
 *    under 0.1%), or complaints_min reports within complaints_for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "risk_int.h"

static struct xrec *
x_get(struct risk *r, const struct rw_addr *a)
{
	uint32_t id = risk_ip_get(r, a);
	struct iprec *ip;

	if (id == NONE)
		return NULL;
	ip = &r->ip[id];
	if (ip->x == NULL && (ip->x = calloc(1, sizeof *ip->x)) == NULL)
		return NULL;
	return ip->x;
}

int
risk_snds(struct risk *r, const struct rw_addr *a, const struct risk_snds *s)
{
	struct xrec *x;
	struct xrow *w = NULL;
	size_t i;

	if ((x = x_get(r, a)) == NULL)
		return -1;
	for (i = 0; i < x->nrow; i++)
		if (x->row[i].start == s->start) {
			w = &x->row[i];
			break;
		}
	if (w == NULL && x->nrow < RISK_SNDS_ROWS)
		w = &x->row[x->nrow++];
	if (w == NULL) {		/* full: the oldest goes, unless this one is older */
		size_t old = 0;
		for (i = 1; i < x->nrow; i++)
			if (x->row[i].start < x->row[old].start)
				old = i;
		if (x->row[old].start > s->start)
			return 0;
		w = &x->row[old];
	}
	w->start = s->start;
	w->end = s->end;
	w->recipients = s->recipients;
	w->traps = s->trap_hits;
	w->trap_start = s->trap_hits ? s->trap_start : 0;
	w->trap_end = s->trap_hits ? (s->trap_end >= s->trap_start ? s->trap_end :
	    s->trap_start) : 0;
	w->filter = s->filter <= 3 ? s->filter : 0;
	w->complaint = s->complaint;
	w->below = s->complaint_below;
	return 0;
}

int
risk_complaint(struct risk *r, const struct rw_addr *a, int64_t at, uint32_t n)
{
	struct xrec *x;
	size_t i;

	if (n == 0)
		return 0;
	if ((x = x_get(r, a)) == NULL)
		return -1;
	for (i = 0; i < x->ncmp; i++)
		if (x->cmp[i].at == at) {
			x->cmp[i].n = x->cmp[i].n + n < n ? UINT32_MAX : x->cmp[i].n + n;
			return 0;
		}
	if (x->ncmp == XCMP_MAX) {
		/* the two oldest merge (at the newer time): the count stays, the oldest
		 * times blur, and a flood of reports cannot grow the record */
		x->cmp[1].n = x->cmp[1].n + x->cmp[0].n < x->cmp[1].n ? UINT32_MAX :
		    x->cmp[1].n + x->cmp[0].n;
		memmove(&x->cmp[0], &x->cmp[1], (XCMP_MAX - 1) * sizeof x->cmp[0]);
		x->ncmp--;
	}
	/* kept in order of arrival time (reports may come late or out of order) */
	for (i = x->ncmp; i > 0 && x->cmp[i - 1].at > at; i--)
		x->cmp[i] = x->cmp[i - 1];
	x->cmp[i].at = at;
	x->cmp[i].n = n;
	x->ncmp++;
	return 0;
}

uint32_t
risk_complaints(const struct risk *r, const struct iprec *ip, int64_t now)
{
	uint64_t n = 0;
	size_t i;

	if (ip->x == NULL)
		return 0;
	for (i = 0; i < ip->x->ncmp; i++)
		if (ip->x->cmp[i].at <= now && now - ip->x->cmp[i].at < r->cfg.complaints_for)
			n += ip->x->cmp[i].n;
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* 1 when row w is known at now and still evidence. */
static int
row_live(const struct risk *r, const struct xrow *w, int64_t now)
{
	return w->end <= now && now - w->end < r->cfg.snds_for;
}

unsigned
risk_snds_rules(const struct risk *r, const struct iprec *ip, int64_t now)
{
	unsigned rules = 0;
	size_t i;

	if (ip->x == NULL)
		return 0;
	for (i = 0; i < ip->x->nrow; i++) {
		const struct xrow *w = &ip->x->row[i];
		if (!row_live(r, w, now))
			continue;
		if (w->traps > 0)
			rules |= RISK_R_TRAP;
		if (w->filter == 3)
			rules |= RISK_R_RED;
		else if (w->filter == 2)
			rules |= RISK_R_YELLOW;
		if (!w->below && w->complaint >= 0 && w->complaint >= r->cfg.snds_complaint_rate)
			rules |= RISK_R_COMPLAINT;
	}
	if (risk_complaints(r, ip, now) >= r->cfg.complaints_min)
		rules |= RISK_R_COMPLAINT;
	return rules;
}

uint32_t
risk_snds_impact(const struct risk *r, const struct iprec *ip, size_t pol, int64_t now,
    int64_t *first, int64_t *leave)
{
	uint64_t hits = 0;
	size_t i;

	if (ip->x == NULL || r->snds_list < 0 || !(r->feedmask[pol] >> r->snds_list & 1))
		return 0;
	for (i = 0; i < ip->x->nrow; i++) {
		const struct xrow *w = &ip->x->row[i];
		int64_t lv = w->trap_end + r->cfg.policy[pol].window;
		if (w->traps == 0 || w->end > now || now >= lv)
			continue;
		hits += w->traps;
		if (w->trap_start < *first)
			*first = w->trap_start;
		if (lv > *leave)
			*leave = lv;
	}
	return hits > UINT32_MAX ? UINT32_MAX : (uint32_t)hits;
}

void
risk_x_prune(struct risk *r, struct iprec *ip, int64_t now, int64_t maxwin)
{
	struct xrec *x = ip->x;
	size_t i, j;

	if (x == NULL)
		return;
	for (i = j = 0; i < x->nrow; i++) {
		const struct xrow *w = &x->row[i];
		int64_t keep = w->end + r->cfg.snds_for;
		if (w->traps > 0 && w->trap_end + maxwin > keep)
			keep = w->trap_end + maxwin;
		if (now < keep)
			x->row[j++] = *w;
	}
	x->nrow = (uint8_t)j;
	for (i = j = 0; i < x->ncmp; i++)
		if (now - x->cmp[i].at < r->cfg.complaints_for)
			x->cmp[j++] = x->cmp[i];
	x->ncmp = (uint8_t)j;
	if (x->nrow == 0 && x->ncmp == 0) {
		free(x);
		ip->x = NULL;
	}
}

void
risk_ip_reports(const struct risk *r, const struct rw_addr *a, int64_t now,
    uint32_t *complaints, uint32_t *trap_hits)
{
	uint32_t id = risk_ip_find(r, a);
	const struct iprec *ip;
	size_t i;

	*complaints = *trap_hits = 0;
	if (id == NONE || (ip = &r->ip[id])->x == NULL)
		return;
	*complaints = risk_complaints(r, ip, now);
	for (i = 0; i < ip->x->nrow; i++)
		if (row_live(r, &ip->x->row[i], now))
			*trap_hits += ip->x->row[i].traps;
}

/* The UTC date of the middle of a row's period: an SNDS day runs midnight to midnight
 * Pacific (08:00 or 07:00 UTC), so its middle falls on the same date in UTC. */
static void
row_day(const struct xrow *w, char *buf, size_t len)
{
	time_t t = (time_t)(w->start + (w->end - w->start) / 2);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, len, "?");
}

void
risk_x_evidence(const struct risk *r, const struct iprec *ip, int64_t now, struct risk_lb *b)
{
	static const char *const fname[] = { "", "GREEN", "YELLOW", "RED" };
	const struct xrow *byend[RISK_SNDS_ROWS], *t;
	char day[16], t1[40];
	size_t i, j, n = 0, said = 0;
	uint32_t c;

	if (ip->x == NULL)
		return;
	for (i = 0; i < ip->x->nrow; i++)
		if (row_live(r, &ip->x->row[i], now))
			byend[n++] = &ip->x->row[i];
	for (i = 1; i < n; i++)		/* newest first */
		for (j = i; j > 0 && byend[j]->end > byend[j - 1]->end; j--) {
			t = byend[j];
			byend[j] = byend[j - 1];
			byend[j - 1] = t;
		}
	if (n > 0) {
		risk_lb_add(b, "; SNDS:");
		for (i = 0; i < n && said < 3; i++) {
			if (byend[i]->traps == 0)
				continue;
			row_day(byend[i], day, sizeof day);
			risk_lb_add(b, "%s %u trap hit%s on %s", said ? "," : "", byend[i]->traps,
			    byend[i]->traps == 1 ? "" : "s", day);
			said++;
		}
		if (said == 0) {
			row_day(byend[0], day, sizeof day);
			risk_lb_add(b, " no trap hits on %s", day);
		}
		if (byend[0]->filter != 0)
			risk_lb_add(b, ", filter %s", fname[byend[0]->filter]);
		if (byend[0]->complaint >= 0)
			risk_lb_add(b, ", complaint rate %s%.1f%%", byend[0]->below ? "< " : "",
			    byend[0]->complaint * 100);
		if (byend[0]->recipients > 0)
			risk_lb_add(b, ", %u recipients", byend[0]->recipients);
	}
	if ((c = risk_complaints(r, ip, now)) > 0) {
		risk_fmt_time(ip->x->cmp[ip->x->ncmp - 1].at, t1, sizeof t1);
		risk_lb_add(b, "; %u complaint%s (feedback or abuse reports) in the last %lld h, "
		    "the last received %s", c, c == 1 ? "" : "s",
		    (long long)(r->cfg.complaints_for / HOUR), t1);
	}
}
