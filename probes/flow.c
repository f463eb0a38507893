/*
 * flow.c — TCP connection tracking for port 25. Owns the flow records (chunked arrays, see
 * chunk.h, with a free list, so a record never moves while tracked), their SMTP state, the hash index
 * and two lists of records from the most to the least recently active, one of open and one
 * of closed connections: expiry walks each from its idle end and stops at the first that
 * is not due, so it costs what it forgets (a sweep of the whole table every few seconds of
 * packet time was seconds of work for a replay of a million flows); a full table makes room
 * by forgetting the connection idle the longest, in constant time.
 * It touches no per-IP record: what segments do to their client's counters leaves as one
 * struct flow_event per segment (when there is anything to say) through the table's emit
 * function, keyed by address. Never buffers out-of-order data: a hole is reported to the
 * SMTP parser as a gap.
 * Never believes a server's segment on its own: what the server side says counts only on a
 * connection whose handshake it saw from our side (our SYN, the SYN-ACK answering it), and
 * only when its sequence and acknowledgement numbers fit that connection. Anything else
 * from port 25 is unsolicited (forged, or a connection picked up mid-stream): counted,
 * never parsed.
 */
#include "flow.h"

#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "cite.h"
#include "distinct.h"
#include "hidx.h"
#include "log.h"
#include "smtp.h"

#define HASH_SEED	0xf10e5u	/* a per-table salt; the secret is addr_hash_key */
#define SWEEP_EVERY	5	/* seconds of packet time between expiry sweeps */
/* How far past what we saw a server's sequence number, or its acknowledgement of the
 * client's bytes, may be and still belong to the connection: bytes the capture lost. A
 * blind forger must land in this window twice (seq and ack) out of 2^32 each. */
#define SEQ_SLACK	(1u << 20)

enum { ST_FREE, ST_SYN, ST_SYNACK, ST_OPEN, ST_CLOSED };
enum { SEEN_C = 1, SEEN_S = 2 };	/* a direction's next sequence number is known */
enum { L_OPEN, L_CLOSED };		/* the activity lists */

struct flow {
	struct rw_addr server;
	struct rw_addr caddr;		/* the client's address, kept here so that a lookup
					 * touches one record, not two */
	uint32_t c_next, s_next;	/* next expected sequence number per direction */
	uint32_t c_isn;			/* the client's SYN sequence number */
	uint32_t s_isn;			/* the server's SYN-ACK sequence number */
	uint32_t last;			/* packet time of the last segment */
	uint32_t hash;
	uint32_t id;			/* this record's slot */
	uint32_t newer, older;		/* its activity list: neighbours' slots, or NO_FREE */
	uint16_t cport;
	uint8_t state;
	uint8_t seen;			/* SEEN_C | SEEN_S */
	uint8_t fin;			/* SEEN_C | SEEN_S: FIN sent by that side */
	uint8_t verified;		/* our SYN and the SYN-ACK answering it were seen */
	uint8_t list;			/* the activity list it is on: L_OPEN or L_CLOSED */
	uint8_t fresh;			/* created: its destination not told yet */
	struct smtp_state smtp;
};

struct flow_table {
	flow_emit_fn emit;
	void *emit_arg;
	struct flow_event ev;		/* what the segment being accounted did */
	struct flow *chunk[CHUNK_MAX];
	unsigned nchunk;
	size_t nslots;			/* slots handed out so far */
	uint32_t free_head;		/* list threaded through free records' hash field */
	uint32_t newest[2], oldest[2];	/* ends of the activity lists, by L_* */
	size_t max;
	unsigned timeout;
	uint32_t next_sweep;
	struct hidx idx;
	struct flow_stats st;
};

#define NO_FREE UINT32_MAX

static inline struct flow *
slot_at(const struct flow_table *ft, uint32_t i)
{
	unsigned c = chunk_of(i);

	return &ft->chunk[c][i - chunk_first(c)];
}

_Static_assert(sizeof(struct flow_event) == 64, "an event is one cache line");

struct flow_table *
flow_new(size_t max_flows, unsigned timeout, flow_emit_fn emit, void *arg)
{
	struct flow_table *ft = calloc(1, sizeof *ft);

	if (ft == NULL)
		return NULL;
	if (hidx_init(&ft->idx, 1024) == -1) {
		free(ft);
		return NULL;
	}
	ft->emit = emit;
	ft->emit_arg = arg;
	ft->max = max_flows < UINT32_MAX - 1 ? max_flows : UINT32_MAX - 1;
	ft->timeout = timeout;
	ft->free_head = NO_FREE;
	ft->newest[L_OPEN] = ft->oldest[L_OPEN] = NO_FREE;
	ft->newest[L_CLOSED] = ft->oldest[L_CLOSED] = NO_FREE;
	return ft;
}

void
flow_free(struct flow_table *ft)
{
	size_t i;

	if (ft == NULL)
		return;
	for (i = 0; i < ft->nslots; i++)
		if (slot_at(ft, (uint32_t)i)->state != ST_FREE)
			smtp_release(&slot_at(ft, (uint32_t)i)->smtp);
	for (i = 0; i < ft->nchunk; i++)
		free(ft->chunk[i]);
	hidx_release(&ft->idx);
	free(ft);
}

/* The connection key: client address, server address, client port. */
static inline void
key_of(const struct pkt *p, int from_client, const struct rw_addr **client,
    const struct rw_addr **server, uint16_t *cport)
{
	if (from_client) {
		*client = &p->src;
		*server = &p->dst;
		*cport = p->sport;
	} else {
		*client = &p->dst;
		*server = &p->src;
		*cport = p->dport;
	}
}

static inline uint32_t
key_hash(const struct rw_addr *client, const struct rw_addr *server, uint16_t cport)
{
	return addr_hash(client, addr_hash(server, HASH_SEED ^ cport));
}

struct flow *
flow_find(struct flow_table *ft, const struct pkt *p, int from_client, uint32_t *hash)
{
	const struct rw_addr *c, *s;
	uint16_t cport;
	uint32_t h, pos, id;
	struct flow *f;

	key_of(p, from_client, &c, &s, &cport);
	*hash = h = key_hash(c, s, cport);
	pos = h & ft->idx.mask;
	while ((id = hidx_next(&ft->idx, h, &pos)) != HIDX_NONE) {
		f = slot_at(ft, id);
		if (f->cport == cport && memcmp(f->server.a, s->a, 16) == 0 &&
		    memcmp(f->caddr.a, c->a, 16) == 0)
			return f;
	}
	return NULL;
}

static void
lru_unlink(struct flow_table *ft, struct flow *f)
{
	if (f->newer != NO_FREE)
		slot_at(ft, f->newer)->older = f->older;
	else
		ft->newest[f->list] = f->older;
	if (f->older != NO_FREE)
		slot_at(ft, f->older)->newer = f->newer;
	else
		ft->oldest[f->list] = f->newer;
}

static void
lru_push(struct flow_table *ft, struct flow *f)
{
	f->newer = NO_FREE;
	f->older = ft->newest[f->list];
	if (ft->newest[f->list] != NO_FREE)
		slot_at(ft, ft->newest[f->list])->newer = f->id;
	else
		ft->oldest[f->list] = f->id;
	ft->newest[f->list] = f->id;
}

/* A segment of f at time now: f becomes the most recently active of its list. */
static void
touch(struct flow_table *ft, struct flow *f, uint32_t now)
{
	f->last = now;
	if (ft->newest[f->list] != f->id) {
		lru_unlink(ft, f);
		lru_push(ft, f);
	}
}

/* Sets f's state; a connection that closes, or a closed one whose port is reused, moves
 * to the other list (as the most recent there). */
static void
set_state(struct flow_table *ft, struct flow *f, uint8_t state)
{
	uint8_t list = state == ST_CLOSED ? L_CLOSED : L_OPEN;

	f->state = state;
	if (list != f->list) {
		lru_unlink(ft, f);
		f->list = list;
		lru_push(ft, f);
	}
}

static void
forget(struct flow_table *ft, uint32_t id)
{
	struct flow *f = slot_at(ft, id);

	lru_unlink(ft, f);
	hidx_remove(&ft->idx, f->hash, id);
	smtp_release(&f->smtp);
	f->state = ST_FREE;
	f->hash = ft->free_head;
	ft->free_head = id;
	ft->st.active--;
}

/* Forgets the connections of list k idle for limit seconds or more, from its idle end. */
static void
expire_list(struct flow_table *ft, unsigned k, uint32_t limit, uint32_t now)
{
	struct flow *f;
	uint32_t idle;

	while (ft->oldest[k] != NO_FREE) {
		f = slot_at(ft, ft->oldest[k]);
		ft->st.scanned++;
		idle = now - f->last;
		if ((int32_t)idle < 0 || idle < limit)
			break;
		forget(ft, f->id);
		ft->st.expired++;
	}
}

void
flow_expire(struct flow_table *ft, uint32_t now)
{
	expire_list(ft, L_OPEN, ft->timeout, now);
	expire_list(ft, L_CLOSED, FLOW_CLOSED_LINGER, now);
	ft->next_sweep = now + SWEEP_EVERY;
}

/* The connection idle the longest: the idler of the two lists' ends. */
static uint32_t
idlest(const struct flow_table *ft, uint32_t now)
{
	uint32_t o = ft->oldest[L_OPEN], c = ft->oldest[L_CLOSED];

	if (o == NO_FREE || c == NO_FREE)
		return o == NO_FREE ? c : o;
	return (int32_t)(now - slot_at(ft, c)->last) > (int32_t)(now - slot_at(ft, o)->last) ?
	    c : o;
}

struct flow *
flow_create(struct flow_table *ft, const struct pkt *p, int from_client, uint32_t hash,
    uint32_t now)
{
	const struct rw_addr *c, *s;
	uint16_t cport;
	uint32_t id;
	struct flow *f;

	if (ft->st.active >= ft->max) {
		/* make room in constant time: the connection idle the longest goes, the
		 * idler of the two lists' ends (a scan of the whole table per new
		 * connection made a full table a slow one) */
		uint32_t idle, victim = idlest(ft, now);

		if (victim == NO_FREE)
			return NULL;	/* max_flows 0 */
		ft->st.scanned++;
		f = slot_at(ft, victim);
		idle = now - f->last;
		if ((int32_t)idle >= 0 && (idle >= ft->timeout ||
		    (f->state == ST_CLOSED && idle >= FLOW_CLOSED_LINGER)))
			ft->st.expired++;
		else if (ft->st.dropped++ == 0)
			log_warnx("flow table full at %zu connections: the one idle the longest "
			    "is forgotten for each new one", ft->max);
		forget(ft, victim);
	}
	if (ft->free_head != NO_FREE) {
		id = ft->free_head;
		ft->free_head = slot_at(ft, id)->hash;
	} else {
		if (ft->nslots == chunk_first(ft->nchunk)) {
			f = malloc(chunk_len(ft->nchunk) * sizeof *f);
			if (f == NULL)
				return NULL;
			ft->chunk[ft->nchunk++] = f;
		}
		id = (uint32_t)ft->nslots++;
	}
	key_of(p, from_client, &c, &s, &cport);
	f = slot_at(ft, id);
	memset(f, 0, sizeof *f);
	f->server = *s;
	f->caddr = *c;
	f->fresh = 1;
	f->cport = cport;
	f->hash = hash;
	f->id = id;
	f->last = now;
	f->state = ST_OPEN;	/* picked up mid-stream until a SYN says otherwise */
	if (hidx_insert(&ft->idx, f->hash, id) == -1) {
		f->state = ST_FREE;
		f->hash = ft->free_head;
		ft->free_head = id;
		return NULL;
	}
	lru_push(ft, f);
	ft->st.active++;
	ft->st.created++;
	return f;
}

/* ---- the segment's event: begun per segment, sent when it says anything */

static int
ev_empty(const struct flow_event *e)
{
	return e->flags == 0 && e->bytes == 0 && e->mail == 0 && e->rcpt == 0 &&
	    e->data == 0 && e->r4xx == 0 && e->r5xx == 0 && e->cited == 0 && e->lists == 0 &&
	    e->list_hi == 0;
}

static void
ev_begin(struct flow_table *ft, const struct flow *f, uint32_t now)
{
	memset(&ft->ev, 0, sizeof ft->ev);
	ft->ev.client = f->caddr;
	ft->ev.sec = now;
}

/* Sends what the event holds, if anything. */
static void
ev_emit(struct flow_table *ft)
{
	if (!ev_empty(&ft->ev))
		ft->emit(ft->emit_arg, &ft->ev);
}

/* Sends what the event holds and starts an empty one for the same client and time. */
static void
ev_flush(struct flow_table *ft)
{
	struct rw_addr c = ft->ev.client;
	uint32_t sec = ft->ev.sec;

	ev_emit(ft);
	memset(&ft->ev, 0, sizeof ft->ev);
	ft->ev.client = c;
	ft->ev.sec = sec;
}

/* One more of a counter of the event (a full counter sends the event first). */
static void
bump(struct flow_table *ft, uint16_t *n)
{
	if (*n == FE_COUNT_MAX)
		ev_flush(ft);	/* *n is zero again: it points into ft->ev */
	(*n)++;
}

/* What the SMTP parser reports lands in the event of the segment being accounted. */
static void
on_command(void *v, enum smtp_cmd cmd)
{
	struct flow_table *ft = v;

	switch (cmd) {
	case SMTP_CMD_MAIL:
		bump(ft, &ft->ev.mail);
		break;
	case SMTP_CMD_RCPT:
		bump(ft, &ft->ev.rcpt);
		break;
	case SMTP_CMD_DATA:
	case SMTP_CMD_BDAT_LAST:
		bump(ft, &ft->ev.data);
		break;
	default:
		break;
	}
}

/* A reply's pattern bits (cite.c's words) become the lists it names: counted once per
 * reply in `cited`, and once per list named (a list already named in this event by an
 * earlier reply of the same segment sends the event first, so each reply counts). */
static void
on_reply(void *v, int code, uint64_t hits)
{
	struct flow_table *ft = v;
	size_t w, n;

	if (code >= 500)
		bump(ft, &ft->ev.r5xx);
	else if (code >= 400)
		bump(ft, &ft->ev.r4xx);
	if (hits == 0 || !cite_any(hits))
		return;
	bump(ft, &ft->ev.cited);
	n = cite_nlists();
	for (w = 0; w < n; w++) {
		if (!cite_names(hits, w))
			continue;
		if (w < 64) {
			if (ft->ev.lists & (UINT64_C(1) << w))
				ev_flush(ft);
			ft->ev.lists |= UINT64_C(1) << w;
		} else {
			if (ft->ev.list_hi != 0)
				ev_flush(ft);
			ft->ev.list_hi = (uint16_t)(w + 1);
		}
	}
}

static void
on_tls(void *v)
{
	struct flow_table *ft = v;

	if (ft->ev.flags & FE_TLS)
		ev_flush(ft);
	ft->ev.flags |= FE_TLS;
}

static void
on_long_line(void *v)
{
	((struct flow_table *)v)->st.long_lines++;
}

static const struct smtp_sink sink = { on_command, on_reply, on_tls, on_long_line };

/* Delivers a segment's payload to the parser in sequence order. next is the direction's
 * expected sequence number. */
static void
deliver(struct flow_table *ft, struct flow *f, const struct pkt *p, int from_client,
    uint32_t *next, uint8_t seenbit)
{
	const uint8_t *data = p->payload;
	uint32_t len = p->paylen, skip;
	int32_t diff;
	void (*feed)(struct smtp_state *, const uint8_t *, size_t, const struct smtp_sink *,
	    void *) = from_client ? smtp_client_data : smtp_server_data;

	if (!(f->seen & seenbit)) {
		f->seen |= seenbit;
		*next = p->seq;
	}
	diff = (int32_t)(p->seq - *next);
	if (diff > 0) {
		/* bytes before this segment never reached us */
		ft->st.gaps++;
		smtp_gap(&f->smtp, from_client);
		*next = p->seq;
	} else if (diff < 0) {
		skip = *next - p->seq;
		if (skip >= len)
			return;		/* all of it was delivered already */
		data += skip;
		len -= skip;
	}
	*next += len;
	if (p->capped < p->paylen) {
		/* cut by the snaplen: read the whole lines captured, then it is a gap */
		uint32_t got = p->capped > (uint32_t)(data - p->payload) ?
		    p->capped - (uint32_t)(data - p->payload) : 0;
		feed(&f->smtp, data, got, &sink, ft);
		ft->st.gaps++;
		smtp_gap(&f->smtp, from_client);
		return;
	}
	feed(&f->smtp, data, len, &sink, ft);
}

/* 1 when a server segment fits a connection whose handshake we saw: its sequence number
 * within what the server has sent (plus the slack for lost bytes), its acknowledgement
 * within what the client has sent. */
static int
server_fits(const struct flow *f, const struct pkt *p)
{
	uint32_t off, sent;

	if (!f->verified || !(p->flags & TCP_ACK))
		return 0;
	off = p->seq - f->s_isn;
	sent = f->s_next - f->s_isn;
	if (off > sent + SEQ_SLACK)
		return 0;
	off = p->ack - f->c_isn;
	sent = f->c_next - f->c_isn;
	return off >= 1 && off <= sent + SEQ_SLACK;
}

/* Moves a direction's expected sequence number past bytes not delivered (TLS, FIN). */
static void
advance(uint32_t *next, uint32_t end)
{
	if ((int32_t)(end - *next) > 0)
		*next = end;
}

static int
segment(struct flow_table *ft, struct flow *f, const struct pkt *p, int from_client,
    uint32_t now)
{
	struct flow_event *ev = &ft->ev;

	if (from_client) {
		touch(ft, f, now);
		ev->flags |= FE_SEEN;
		ev->bytes = p->paylen;
		if ((p->flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
			ev->flags |= FE_SYN;
			if ((f->state == ST_SYN || f->state == ST_SYNACK) &&
			    p->seq + 1 == f->c_next)
				return 0;	/* a retransmitted SYN */
			if (f->seen) {
				/* the port is reused for a new connection: start afresh */
				smtp_release(&f->smtp);
				memset(&f->smtp, 0, sizeof f->smtp);
				f->seen = f->fin = 0;
			}
			set_state(ft, f, ST_SYN);
			f->verified = 0;
			f->seen = SEEN_C;
			f->c_isn = p->seq;
			f->c_next = p->seq + 1;
			return 0;
		}
		if (f->state == ST_SYNACK && (p->flags & TCP_ACK) &&
		    (int32_t)(p->ack - (f->s_isn + 1)) >= 0) {
			f->state = ST_OPEN;
			ev->flags |= FE_SESSION;
		}
	} else if ((p->flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK)) {
		if (f->state == ST_SYN && p->ack == f->c_next) {
			f->state = ST_SYNACK;
			f->verified = 1;
			f->s_isn = p->seq;
			f->seen |= SEEN_S;
			f->s_next = p->seq + 1;
			touch(ft, f, now);
			return 0;
		}
		if (f->verified && p->seq == f->s_isn && p->ack == f->c_isn + 1) {
			touch(ft, f, now);
			return 0;	/* a retransmitted SYN-ACK */
		}
		return -1;
	} else if (f->state == ST_SYN && (p->flags & (TCP_RST | TCP_ACK)) ==
	    (TCP_RST | TCP_ACK) && p->ack == f->c_next) {
		/* the port is closed: the RST acknowledges our SYN */
		touch(ft, f, now);
		set_state(ft, f, ST_CLOSED);
		return 0;
	} else if (!server_fits(f, p)) {
		return -1;
	} else
		touch(ft, f, now);
	if (p->flags & TCP_RST) {
		set_state(ft, f, ST_CLOSED);
		return 0;
	}
	if (p->paylen && !smtp_is_tls(&f->smtp))
		deliver(ft, f, p, from_client, from_client ? &f->c_next : &f->s_next,
		    from_client ? SEEN_C : SEEN_S);
	else if (f->seen & (from_client ? SEEN_C : SEEN_S))
		advance(from_client ? &f->c_next : &f->s_next, p->seq + p->paylen);
	if (p->flags & TCP_FIN) {
		f->fin |= from_client ? SEEN_C : SEEN_S;
		if (f->fin == (SEEN_C | SEEN_S))
			set_state(ft, f, ST_CLOSED);
	}
	return 0;
}

int
flow_segment(struct flow_table *ft, struct flow *f, const struct pkt *p, int from_client,
    uint32_t now)
{
	int rc;

	ev_begin(ft, f, now);
	if (f->fresh) {
		f->fresh = 0;
		ft->ev.flags |= FE_NEWDST;
		ft->ev.dst = distinct_key(&f->server);
	}
	rc = segment(ft, f, p, from_client, now);
	ev_emit(ft);	/* the next segment's ev_begin clears it */
	/* after the event: expiry may forget f */
	if ((int32_t)(now - ft->next_sweep) >= 0)
		flow_expire(ft, now);
	return rc;
}

void
flow_get_stats(const struct flow_table *ft, struct flow_stats *out)
{
	*out = ft->st;
}
