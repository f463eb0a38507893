/*
 * outbound.c — frame in, counters out. Owns the flow table; borrows the traffic table,
 * the provider space and the customer map. This is the per-packet hot path: one decode,
 * one flow lookup for a known connection, and space/customer lookups only for a new one.
 */
#include "outbound.h"

#include <stdlib.h>

#include "decode.h"

struct outbound {
	struct traffic *traffic;
	const struct prefixes *space;
	const struct customers *customers;
	int all_space;			/* no prefixes configured: every client is ours */
	struct flow_table *flows;
	struct outbound_counts n;
};

struct outbound *
outbound_new(struct traffic *t, const struct prefixes *p, const struct customers *c,
    size_t max_flows, unsigned flow_timeout)
{
	struct outbound *o = calloc(1, sizeof *o);

	if (o == NULL)
		return NULL;
	if ((o->flows = flow_new(t, max_flows, flow_timeout)) == NULL) {
		free(o);
		return NULL;
	}
	o->traffic = t;
	o->space = p;
	o->customers = c;
	o->all_space = p == NULL || prefixes_count(p) == 0;
	return o;
}

void
outbound_set_space(struct outbound *o, const struct prefixes *p, const struct customers *c)
{
	size_t i, n = traffic_count(o->traffic);
	struct traffic_ip *ip;

	o->space = p;
	o->customers = c;
	o->all_space = p == NULL || prefixes_count(p) == 0;
	/* flows point at traffic records, never into the maps: they carry on as they are */
	for (i = 0; i < n; i++) {
		ip = traffic_at(o->traffic, i);
		if (traffic_is_free(ip))
			continue;
		ip->customer = c ? (int32_t)customers_lookup(c, &ip->addr) : -1;
	}
}

void
outbound_free(struct outbound *o)
{
	if (o == NULL)
		return;
	flow_free(o->flows);
	free(o);
}

static int
ours(const struct outbound *o, const struct rw_addr *a)
{
	/* an allocation block is ours too, announced or not (a file may list only those) */
	return o->all_space || prefixes_announced(o->space, a) != NULL ||
	    prefixes_alloc(o->space, a) != NULL;
}

void
outbound_frame(struct outbound *o, int dlt, uint32_t sec, const uint8_t *frame,
    uint32_t caplen, uint32_t wirelen)
{
	struct pkt p;
	struct flow *f;
	struct traffic_ip *ip;
	const struct rw_addr *client, *server;
	int from_client, created;

	o->n.total++;
	if (caplen < wirelen)
		o->n.truncated++;
	switch (decode_frame(dlt, frame, caplen, wirelen, 25, &p)) {
	case DECODE_TCP:
		break;
	case DECODE_MALFORMED:
		o->n.malformed++;
		return;
	case DECODE_FRAGMENT:
		o->n.fragments++;
		return;
	case DECODE_UNSUPPORTED:
		o->n.unsupported++;
		return;
	default:		/* not TCP, or cut before the TCP header: counted above */
		return;
	}
	if (p.dport == 25)
		from_client = 1;
	else if (p.sport == 25)
		from_client = 0;
	else
		return;
	if ((f = flow_find(o->flows, &p, from_client)) != NULL) {
		o->n.smtp++;
		if (flow_segment(o->flows, f, &p, from_client, sec) == -1)
			o->n.unsolicited++;
		return;
	}
	client = from_client ? &p.src : &p.dst;
	server = from_client ? &p.dst : &p.src;
	if (!ours(o, client)) {
		/* mail into the provider's space: SMTP of ours, but not outbound */
		if (ours(o, server))
			o->n.smtp++;
		return;
	}
	o->n.smtp++;
	if (!from_client) {
		/* port 25 speaking to one of ours on no connection we follow: anyone can send
		 * that, so it opens nothing and counts for nobody */
		o->n.unsolicited++;
		return;
	}
	if ((ip = traffic_add(o->traffic, client, &created)) == NULL)
		return;
	if (created && o->customers)
		ip->customer = (int32_t)customers_lookup(o->customers, client);
	if ((f = flow_create(o->flows, &p, from_client, ip, sec)) != NULL) {
		flow_segment(o->flows, f, &p, from_client, sec);
		return;
	}
	/* the flow table is full: still count what one segment says on its own */
	ip->last_seen = sec;
	ip->bytes_out += p.paylen;
	if ((p.flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
		ip->syn++;
}

void
outbound_tick(struct outbound *o, uint32_t sec)
{
	flow_expire(o->flows, sec);
}

void
outbound_get_counts(const struct outbound *o, struct outbound_counts *out)
{
	*out = o->n;
}

void
outbound_get_flow_stats(const struct outbound *o, struct flow_stats *out)
{
	flow_get_stats(o->flows, out);
}
