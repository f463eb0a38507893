/*
 * ingest.c — flow events into traffic records. Borrows the table and the customer map;
 * owns nothing. Runs only on the thread that owns the traffic table (never the capture
 * thread). Keep it small: it is the seam between the capture and the per-IP records.
 */
#include "ingest.h"

#include "distinct.h"

struct traffic_ip *
ingest_record(struct traffic *t, const struct customers *c, const struct rw_addr *a)
{
	struct traffic_ip *ip;
	int created;

	if ((ip = traffic_add(t, a, &created)) != NULL && created && c != NULL)
		ip->customer = (int32_t)customers_lookup(c, a);
	return ip;
}

void
ingest_apply(struct traffic *t, const struct customers *c, const struct flow_event *ev)
{
	struct traffic_ip *ip;
	uint64_t lists;
	unsigned w;

	if ((ip = ingest_record(t, c, &ev->client)) == NULL)
		return;
	if (ev->flags & FE_SEEN)
		ip->last_seen = ev->sec;
	ip->bytes_out += ev->bytes;
	if (ev->flags & FE_SYN)
		ip->syn++;
	if (ev->flags & FE_SESSION)
		ip->sessions++;
	if (ev->flags & FE_NEWDST)
		distinct_add(&ip->dst, ev->dst);
	if (ev->flags & FE_TLS)
		ip->starttls++;
	ip->mail_from += ev->mail;
	ip->rcpt_to += ev->rcpt;
	ip->data += ev->data;
	ip->replies_4xx += ev->r4xx;
	ip->replies_5xx += ev->r5xx;
	ip->cited = ip->cited > UINT32_MAX - ev->cited ? UINT32_MAX : ip->cited + ev->cited;
	for (lists = ev->lists; lists != 0; lists &= lists - 1) {
		w = (unsigned)__builtin_ctzll(lists);
		traffic_cite(t, ip, w);
	}
	if (ev->list_hi != 0)
		traffic_cite(t, ip, (unsigned)ev->list_hi - 1);
}

void
ingest_set_customers(struct traffic *t, const struct customers *c)
{
	size_t i, n = traffic_count(t);
	struct traffic_ip *ip;

	for (i = 0; i < n; i++) {
		ip = traffic_at(t, i);
		if (traffic_is_free(ip))
			continue;	/* a forgotten record keeps its mark */
		ip->customer = c ? (int32_t)customers_lookup(c, &ip->addr) : -1;
	}
}
