/*
 * outbound.c — frame in, events out. Owns the flow table; borrows the provider space (and,
 * made with outbound_new, the traffic table and the customer map it applies events to).
 * This is the per-packet hot path: one decode, one flow lookup for a known connection, and
 * a space lookup only for a new one. It runs on the capture thread in the daemon: nothing
 * here may touch a traffic record except through the emit function.
 */
#include "outbound.h"

#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "ingest.h"

struct outbound {
	struct traffic *traffic;		/* outbound_new: events applied here */
	const struct customers *customers;
	const struct prefixes *space;
	struct flow_table *flows;
	flow_emit_fn emit;
	void *emit_arg;
	struct outbound_counts n;
};

/* outbound_new's emit: straight into the table. */
static void
apply(void *arg, const struct flow_event *ev)
{
	struct outbound *o = arg;

	ingest_apply(o->traffic, o->customers, ev);
}

static struct outbound *
make(const struct prefixes *p, size_t max_flows, unsigned flow_timeout, flow_emit_fn emit,
    void *arg)
{
	struct outbound *o = calloc(1, sizeof *o);

	if (o == NULL)
		return NULL;
	o->emit = emit != NULL ? emit : apply;
	o->emit_arg = emit != NULL ? arg : o;
	if ((o->flows = flow_new(max_flows, flow_timeout, o->emit, o->emit_arg)) == NULL) {
		free(o);
		return NULL;
	}
	o->space = p;
	return o;
}

struct outbound *
outbound_new(struct traffic *t, const struct prefixes *p, const struct customers *c,
    size_t max_flows, unsigned flow_timeout)
{
	struct outbound *o = make(p, max_flows, flow_timeout, NULL, NULL);

	if (o != NULL) {
		o->traffic = t;
		o->customers = c;
	}
	return o;
}

struct outbound *
outbound_new_emit(const struct prefixes *p, size_t max_flows, unsigned flow_timeout,
    flow_emit_fn emit, void *arg)
{
	return make(p, max_flows, flow_timeout, emit, arg);
}

void
outbound_set_space(struct outbound *o, const struct prefixes *p, const struct customers *c)
{
	o->space = p;
	/* flows hold addresses, never records or map entries: they carry on as they are */
	if (o->traffic != NULL) {
		o->customers = c;
		ingest_set_customers(o->traffic, c);
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
	return prefixes_ours(o->space, a);
}

void
outbound_frame(struct outbound *o, int dlt, uint32_t sec, const uint8_t *frame,
    uint32_t caplen, uint32_t wirelen)
{
	struct pkt p;
	struct flow *f;
	struct flow_event ev;
	const struct rw_addr *client, *server;
	uint32_t hash;
	int from_client;

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
	if ((f = flow_find(o->flows, &p, from_client, &hash)) != NULL) {
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
	if ((f = flow_create(o->flows, &p, from_client, hash, sec)) != NULL) {
		flow_segment(o->flows, f, &p, from_client, sec);
		return;
	}
	/* no room for the connection (out of memory, max_flows 0): still count what one
	 * segment says on its own */
	memset(&ev, 0, sizeof ev);
	ev.client = *client;
	ev.sec = sec;
	ev.bytes = p.paylen;
	ev.flags = FE_SEEN | ((p.flags & (TCP_SYN | TCP_ACK)) == TCP_SYN ? FE_SYN : 0);
	o->emit(o->emit_arg, &ev);
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
