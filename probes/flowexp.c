/*
 * flowexp.c — sFlow v5, NetFlow v9 and IPFIX datagrams -> observations (see flowexp.h for
 * why not libfixbuf). Owns one exporter's templates: at most max_templates, each at most
 * FLOWEXP_MAX_FIELDS fields, keyed by (observation domain or source id, template id); a
 * template with an id already held replaces it (a redefinition), an IPFIX template record
 * of no field withdraws it (id 2 or 3 in the record: all of that kind in the domain). It
 * never trusts a length: every set, record and field is checked against what is left of
 * its container before it is read, and a lie ends the datagram (counted as malformed).
 */
#include "flowexp.h"

#include <pcap/dlt.h>
#include <stdlib.h>
#include <string.h>

#define VARLEN		0xffff	/* IPFIX: a variable-length field */
#define MAX_DOMAINS	16	/* observation domains whose sampling rate we keep */
#define NONE		0xffff

/* The information elements we read (IANA IPFIX ids, the same numbers in NetFlow v9). */
enum want {
	W_BYTES, W_PKTS, W_PROTO, W_FLAGS, W_SPORT, W_SRC4, W_DPORT, W_DST4, W_SRC6, W_DST6,
	W_SINTERVAL, W_SRANDOM, W_PINTERVAL, W_PSPACE, NW
};

static int
want_of(uint16_t ie)
{
	switch (ie) {
	case 1: case 85: return W_BYTES;	/* octetDeltaCount, octetTotalCount */
	case 2: case 86: return W_PKTS;		/* packetDeltaCount, packetTotalCount */
	case 4: return W_PROTO;
	case 6: return W_FLAGS;
	case 7: return W_SPORT;
	case 8: return W_SRC4;
	case 11: return W_DPORT;
	case 12: return W_DST4;
	case 27: return W_SRC6;
	case 28: return W_DST6;
	case 34: return W_SINTERVAL;		/* samplingInterval (v9 SAMPLING_INTERVAL) */
	case 50: return W_SRANDOM;		/* samplerRandomInterval */
	case 305: return W_PINTERVAL;		/* samplingPacketInterval */
	case 306: return W_PSPACE;		/* samplingPacketSpace */
	}
	return -1;
}

struct field {
	uint16_t ie;		/* 0 for enterprise-specific ones (never read) */
	uint16_t len;		/* VARLEN: variable */
};

struct tmpl {
	uint32_t domain;
	uint16_t id;
	uint16_t nfields;
	uint16_t minlen;	/* a record's length (fixed) or least length (variable) */
	uint8_t varlen;		/* has a variable-length field: offsets are found per record */
	uint16_t off[NW], len[NW];	/* fixed-length templates: where each wanted field is */
	struct field f[FLOWEXP_MAX_FIELDS];
};

struct flowexp {
	struct tmpl *t;
	size_t nt, cap, max;
	size_t last;		/* the template found last (data sets come in runs) */
	uint32_t rate;		/* the rate stated last, whatever its domain */
	struct {		/* per observation domain (line cards may differ) */
		uint32_t domain, rate;
	} drate[MAX_DOMAINS];
	size_t ndrate;
	struct flowexp_counts n;
};

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* An unsigned field of 1-8 bytes (reduced-size encoding is allowed for counters). */
static uint64_t
rdn(const uint8_t *p, unsigned len)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < len && i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

struct flowexp *
flowexp_new(size_t max_templates)
{
	struct flowexp *x = calloc(1, sizeof *x);

	if (x == NULL)
		return NULL;
	x->max = max_templates ? max_templates : 1;
	return x;
}

void
flowexp_free(struct flowexp *x)
{
	if (x == NULL)
		return;
	free(x->t);
	free(x);
}

uint32_t flowexp_rate(const struct flowexp *x) { return x->rate; }
void flowexp_get_counts(const struct flowexp *x, struct flowexp_counts *out) { *out = x->n; }
size_t flowexp_ntemplates(const struct flowexp *x) { return x->nt; }

size_t
flowexp_memory(const struct flowexp *x)
{
	return sizeof *x + x->cap * sizeof *x->t;
}

/* ------------------------------------------------------------------ templates */

static struct tmpl *
tmpl_find(struct flowexp *x, uint32_t domain, uint16_t id)
{
	size_t i;

	if (x->last < x->nt && x->t[x->last].id == id && x->t[x->last].domain == domain)
		return &x->t[x->last];
	for (i = 0; i < x->nt; i++)
		if (x->t[i].id == id && x->t[i].domain == domain) {
			x->last = i;
			return &x->t[i];
		}
	return NULL;
}

/* Removes templates of domain: id, or every one when all is set; how many. */
static size_t
tmpl_withdraw(struct flowexp *x, uint32_t domain, uint16_t id, int all)
{
	size_t i = 0, n = 0;

	while (i < x->nt) {
		if (x->t[i].domain == domain && (all || x->t[i].id == id)) {
			x->t[i] = x->t[--x->nt];	/* order does not matter */
			n++;
			continue;
		}
		i++;
	}
	x->last = 0;
	return n;
}

/* A slot for (domain, id): the one held (a redefinition) or a new one; NULL when full. */
static struct tmpl *
tmpl_slot(struct flowexp *x, uint32_t domain, uint16_t id)
{
	struct tmpl *t = tmpl_find(x, domain, id), *nt;
	size_t ncap;

	if (t != NULL)
		return t;
	if (x->nt == x->max)
		return NULL;
	if (x->nt == x->cap) {
		ncap = x->cap ? x->cap * 2 : 4;
		if (ncap > x->max)
			ncap = x->max;
		if ((nt = realloc(x->t, ncap * sizeof *nt)) == NULL)
			return NULL;
		x->t = nt;
		x->cap = ncap;
	}
	t = &x->t[x->nt++];
	memset(t, 0, sizeof *t);
	t->domain = domain;
	t->id = id;
	return t;
}

/* Where each wanted field is in a fixed-length record; the record's (least) length. */
static int
tmpl_layout(struct tmpl *t)
{
	uint32_t off = 0;
	unsigned i;
	int w;

	for (i = 0; i < NW; i++)
		t->off[i] = t->len[i] = NONE;
	t->varlen = 0;
	for (i = 0; i < t->nfields; i++) {
		if (t->f[i].len == VARLEN) {
			t->varlen = 1;
			off += 1;	/* at least its length byte */
			continue;
		}
		if ((w = want_of(t->f[i].ie)) >= 0 && t->f[i].ie != 0 && t->off[w] == NONE) {
			t->off[w] = (uint16_t)off;
			t->len[w] = t->f[i].len;
		}
		off += t->f[i].len;
	}
	if (off == 0 || off > 65535)
		return -1;
	t->minlen = (uint16_t)off;
	return 0;
}

/* One template record at p (n bytes left); *used: its length. ipfix: enterprise bits.
 * scope: options template (IPFIX: a scope count follows the count; v9: the lengths). */
static int
tmpl_record(struct flowexp *x, uint32_t domain, const uint8_t *p, size_t n, int ipfix,
    int opt, size_t *used)
{
	struct tmpl tmp, *t;
	size_t off, nf, i;
	uint16_t id, ie, len;

	if (n < 4)
		return -1;
	id = rd16(p);
	if (ipfix || !opt) {
		nf = rd16(p + 2);
		off = 4;
		if (ipfix && opt && nf > 0) {
			if (n < 6)
				return -1;
			if (rd16(p + 4) == 0 || rd16(p + 4) > nf)	/* scope count */
				return -1;
			off = 6;
		}
	} else {	/* NetFlow v9 options: scope length and option length, in bytes */
		if (n < 6)
			return -1;
		if ((rd16(p + 2) | rd16(p + 4)) & 3)
			return -1;
		nf = ((size_t)rd16(p + 2) + rd16(p + 4)) / 4;
		off = 6;
	}
	if (ipfix && nf == 0) {	/* a withdrawal (2 and 3: every template of that kind) */
		*used = 4;
		x->n.withdrawn += tmpl_withdraw(x, domain, id, id == 2 || id == 3);
		return 0;
	}
	if (id < 256 || nf == 0)
		return -1;
	memset(&tmp, 0, sizeof tmp);
	tmp.domain = domain;
	tmp.id = id;
	for (i = 0; i < nf; i++) {
		if (off + 4 > n)
			return -1;
		ie = rd16(p + off);
		len = rd16(p + off + 2);
		off += 4;
		if (ipfix && (ie & 0x8000)) {	/* enterprise-specific: skip its number */
			if (off + 4 > n)
				return -1;
			off += 4;
			ie = 0;
		}
		/* v9 scope field types are their own numbering (1 system, 2 interface...) */
		if (!ipfix && opt && i < rd16(p + 2) / 4u)
			ie = 0;
		if (len == 0 || (len == VARLEN && !ipfix))
			return -1;
		if (i < FLOWEXP_MAX_FIELDS) {
			tmp.f[i].ie = ie;
			tmp.f[i].len = len;
		}
	}
	*used = off;
	tmp.nfields = (uint16_t)(nf < FLOWEXP_MAX_FIELDS ? nf : FLOWEXP_MAX_FIELDS);
	if (nf > FLOWEXP_MAX_FIELDS || tmpl_layout(&tmp) == -1) {
		/* well-formed, but more than we keep: its data is skipped, and an older
		 * template of that id is gone (its data would be misread) */
		(void)tmpl_withdraw(x, domain, id, 0);
		x->n.refused++;
		return 0;
	}
	if ((t = tmpl_slot(x, domain, id)) == NULL) {
		x->n.refused++;
		return 0;
	}
	*t = tmp;
	x->n.templates++;
	return 0;
}

/* A template set (v9 0/1, IPFIX 2/3) of n bytes; padding at its end is allowed. */
static int
tmpl_set(struct flowexp *x, uint32_t domain, const uint8_t *p, size_t n, int ipfix, int opt)
{
	size_t used;

	/* the least record is 4 bytes (a withdrawal); less is padding */
	while (n >= (ipfix ? 4u : 8u)) {
		if (!ipfix && !opt && rd16(p) == 0 && rd16(p + 2) == 0)
			break;	/* v9 padding of zeros */
		if (tmpl_record(x, domain, p, n, ipfix, opt, &used) == -1)
			return -1;
		p += used;
		n -= used;
	}
	return 0;
}

/* ------------------------------------------------------------------ data records */

/* The wanted fields of one record of t at p (n bytes left): offsets into off/len; the
 * record's length in *rlen. -1 when it does not fit. */
static int
record_layout(const struct tmpl *t, const uint8_t *p, size_t n, uint16_t *off,
    uint16_t *len, size_t *rlen)
{
	size_t o = 0, l;
	unsigned i;
	int w;

	if (!t->varlen) {
		if (n < t->minlen)
			return -1;
		memcpy(off, t->off, sizeof t->off);
		memcpy(len, t->len, sizeof t->len);
		*rlen = t->minlen;
		return 0;
	}
	for (i = 0; i < NW; i++)
		off[i] = len[i] = NONE;
	for (i = 0; i < t->nfields; i++) {
		l = t->f[i].len;
		if (l == VARLEN) {
			if (o + 1 > n)
				return -1;
			l = p[o++];
			if (l == 255) {
				if (o + 2 > n)
					return -1;
				l = rd16(p + o);
				o += 2;
			}
		} else if ((w = want_of(t->f[i].ie)) >= 0 && t->f[i].ie != 0 &&
		    off[w] == NONE && o <= 65535) {
			off[w] = (uint16_t)o;
			len[w] = (uint16_t)l;
		}
		if (o + l > n)
			return -1;
		o += l;
	}
	if (o == 0)
		return -1;
	*rlen = o;
	return 0;
}

static uint64_t
num(const uint8_t *p, const uint16_t *off, const uint16_t *len, int w)
{
	if (off[w] == NONE || len[w] == 0 || len[w] > 8)
		return 0;
	return rdn(p + off[w], len[w]);
}

/* The rate domain's options records stated, else the last one any domain stated. */
static uint32_t
rate_of(const struct flowexp *x, uint32_t domain)
{
	size_t i;

	for (i = 0; i < x->ndrate; i++)
		if (x->drate[i].domain == domain)
			return x->drate[i].rate;
	return x->rate;
}

/* An options record of domain: the sampling rate it states, if any. */
static void
options_record(struct flowexp *x, uint32_t domain, const uint8_t *p, const uint16_t *off,
    const uint16_t *len)
{
	size_t i;

	uint64_t iv = num(p, off, len, W_SINTERVAL), rnd = num(p, off, len, W_SRANDOM);
	uint64_t pi = num(p, off, len, W_PINTERVAL), ps = num(p, off, len, W_PSPACE);
	uint64_t r = iv ? iv : rnd ? rnd : pi ? (pi + ps) / pi : 0;

	if (r == 0)
		return;
	x->rate = r > UINT32_MAX ? UINT32_MAX : (uint32_t)r;
	for (i = 0; i < x->ndrate && x->drate[i].domain != domain; i++)
		;
	if (i == MAX_DOMAINS)
		return;		/* more domains than we keep: they share the last rate */
	if (i == x->ndrate)
		x->ndrate++;
	x->drate[i].domain = domain;
	x->drate[i].rate = x->rate;
}

static void
flow_record(struct flowexp *x, uint32_t domain, const uint8_t *p, const uint16_t *off,
    const uint16_t *len, flowexp_cb cb, void *arg)
{
	struct flowexp_obs o;
	uint64_t r = num(p, off, len, W_SINTERVAL);

	memset(&o, 0, sizeof o);
	o.kind = FLOWEXP_RECORD;
	if (off[W_SRC4] != NONE && len[W_SRC4] == 4 && off[W_DST4] != NONE &&
	    len[W_DST4] == 4) {
		addr_from_v4(&o.src, p + off[W_SRC4]);
		addr_from_v4(&o.dst, p + off[W_DST4]);
	} else if (off[W_SRC6] != NONE && len[W_SRC6] == 16 && off[W_DST6] != NONE &&
	    len[W_DST6] == 16) {
		addr_from_v6(&o.src, p + off[W_SRC6]);
		addr_from_v6(&o.dst, p + off[W_DST6]);
	} else {
		x->n.other++;	/* no addresses: nothing to count it for */
		return;
	}
	o.sport = (uint16_t)num(p, off, len, W_SPORT);
	o.dport = (uint16_t)num(p, off, len, W_DPORT);
	o.proto = (uint8_t)num(p, off, len, W_PROTO);
	o.tcp_flags = (uint8_t)num(p, off, len, W_FLAGS);
	o.packets = num(p, off, len, W_PKTS);
	o.bytes = num(p, off, len, W_BYTES);
	o.rate = r ? (r > UINT32_MAX ? UINT32_MAX : (uint32_t)r) : rate_of(x, domain);
	x->n.records++;
	cb(arg, &o);
}

/* The records of a data set; what a template cannot read (none, a record cut short) ends
 * the set, never the datagram. */
static void
data_set(struct flowexp *x, uint32_t domain, uint16_t id, const uint8_t *p, size_t n,
    flowexp_cb cb, void *arg)
{
	const struct tmpl *t = tmpl_find(x, domain, id);
	uint16_t off[NW], len[NW];
	size_t rlen;
	int opt;

	if (t == NULL) {
		x->n.no_template++;
		return;
	}
	opt = t->off[W_SINTERVAL] != NONE || t->off[W_SRANDOM] != NONE ||
	    t->off[W_PINTERVAL] != NONE;
	/* what is shorter than a record at the end is padding */
	while (n >= t->minlen) {
		if (record_layout(t, p, n, off, len, &rlen) == -1)
			break;	/* a variable record cut short: padding or a lie, either way done */
		if (opt && off[W_SRC4] == NONE && off[W_SRC6] == NONE)
			options_record(x, domain, p, off, len);
		else
			flow_record(x, domain, p, off, len, cb, arg);
		p += rlen;
		n -= rlen;
	}
}

/* NetFlow v9 (ipfix 0) or IPFIX (1): the sets after the header. */
static int
sets(struct flowexp *x, uint32_t domain, const uint8_t *p, size_t n, int ipfix,
    flowexp_cb cb, void *arg)
{
	uint16_t id, len;

	while (n >= 4) {
		id = rd16(p);
		len = rd16(p + 2);
		if (len < 4 || len > n)
			return -1;
		if (id >= 256) {
			data_set(x, domain, id, p + 4, len - 4u, cb, arg);
		} else if ((ipfix && (id == 2 || id == 3)) || (!ipfix && id <= 1)) {
			if (tmpl_set(x, domain, p + 4, len - 4u, ipfix, ipfix ? id == 3 : id == 1)
			    == -1)
				return -1;
		} else
			x->n.other++;
		p += len;
		n -= len;
	}
	return n == 0 || !ipfix ? 0 : -1;	/* v9 exporters may pad the datagram */
}

/* ------------------------------------------------------------------ sFlow v5 */

struct xdr {
	const uint8_t *p;
	size_t n;
};

static int
xget(struct xdr *d, uint32_t *v)
{
	if (d->n < 4)
		return -1;
	*v = rd32(d->p);
	d->p += 4;
	d->n -= 4;
	return 0;
}

static int
xskip(struct xdr *d, size_t len)
{
	if (len > d->n)
		return -1;
	d->p += len;
	d->n -= len;
	return 0;
}

/* A raw packet header record (0:1): the frame as sampled. */
static int
sflow_header(const uint8_t *p, size_t n, struct flowexp_obs *o)
{
	struct xdr d = { p, n };
	uint32_t proto, flen, stripped, hlen;

	if (xget(&d, &proto) == -1 || xget(&d, &flen) == -1 || xget(&d, &stripped) == -1 ||
	    xget(&d, &hlen) == -1 || hlen > d.n)
		return -1;
	switch (proto) {
	case 1: o->dlt = DLT_EN10MB; break;
	case 11: case 12: o->dlt = DLT_RAW; break;
	default: return 0;	/* a link type we do not decode */
	}
	o->kind = FLOWEXP_FRAME;
	o->frame = d.p;
	o->caplen = hlen;
	o->wirelen = flen > stripped ? flen - stripped : 0;
	if (o->wirelen < o->caplen)	/* an exporter that counts oddly: trust the bytes */
		o->caplen = o->wirelen;
	return 1;
}

/* An IPv4 (0:3) or IPv6 (0:4) data record: ports and flags without the frame. */
static int
sflow_ipdata(const uint8_t *p, size_t n, int v6, struct flowexp_obs *o)
{
	size_t alen = v6 ? 16 : 4;
	uint32_t len, proto, sport, dport, flags;

	if (n < 8 + 2 * alen + 16)
		return -1;
	len = rd32(p);
	proto = rd32(p + 4);
	if (v6) {
		addr_from_v6(&o->src, p + 8);
		addr_from_v6(&o->dst, p + 24);
	} else {
		addr_from_v4(&o->src, p + 8);
		addr_from_v4(&o->dst, p + 12);
	}
	sport = rd32(p + 8 + 2 * alen);
	dport = rd32(p + 12 + 2 * alen);
	flags = rd32(p + 16 + 2 * alen);
	o->kind = FLOWEXP_RECORD;
	o->proto = (uint8_t)proto;
	o->sport = (uint16_t)sport;
	o->dport = (uint16_t)dport;
	o->tcp_flags = (uint8_t)flags;
	o->packets = 1;
	o->bytes = len;
	return 1;
}

/* A flow sample (expanded or not): its records; one observation per sample, the frame
 * when there is one (a sample is one packet, whatever describes it). */
static int
sflow_flow_sample(struct flowexp *x, const uint8_t *p, size_t n, int expanded,
    flowexp_cb cb, void *arg)
{
	struct xdr d = { p, n };
	struct flowexp_obs o, ip;
	uint32_t v, rate, nrec, fmt, len, i;
	int have = 0, haveip = 0;

	if (xget(&d, &v) == -1 || xskip(&d, expanded ? 8 : 4) == -1 || xget(&d, &rate) == -1 ||
	    xskip(&d, expanded ? 24 : 16) == -1 || xget(&d, &nrec) == -1)
		return -1;
	memset(&o, 0, sizeof o);
	memset(&ip, 0, sizeof ip);
	for (i = 0; i < nrec; i++) {
		if (xget(&d, &fmt) == -1 || xget(&d, &len) == -1 || len > d.n)
			return -1;
		if (fmt == 1 && !have) {
			if ((have = sflow_header(d.p, len, &o)) == -1)
				return -1;
		} else if ((fmt == 3 || fmt == 4) && !haveip) {
			if ((haveip = sflow_ipdata(d.p, len, fmt == 4, &ip)) == -1)
				return -1;
		}
		if (xskip(&d, (len + 3u) & ~3u) == -1 && xskip(&d, len) == -1)
			return -1;
	}
	if (!have && !haveip) {
		x->n.other++;
		return 0;
	}
	if (!have)
		o = ip;
	o.rate = rate;
	x->n.records++;
	if (o.kind == FLOWEXP_FRAME)
		x->n.frames++;
	cb(arg, &o);
	return 0;
}

static int
sflow(struct flowexp *x, const uint8_t *p, size_t n, flowexp_cb cb, void *arg)
{
	struct xdr d = { p, n };
	uint32_t v, atype, ns, fmt, len, i;

	if (xget(&d, &v) == -1 || xget(&d, &atype) == -1)
		return -1;
	if (atype != 1 && atype != 2)
		return -1;
	/* agent address, sub-agent, sequence, uptime */
	if (xskip(&d, atype == 1 ? 4 : 16) == -1 || xskip(&d, 12) == -1 ||
	    xget(&d, &ns) == -1)
		return -1;
	for (i = 0; i < ns; i++) {
		if (xget(&d, &fmt) == -1 || xget(&d, &len) == -1 || len > d.n)
			return -1;
		if (fmt == 1 || fmt == 3) {
			if (sflow_flow_sample(x, d.p, len, fmt == 3, cb, arg) == -1)
				return -1;
		} else
			x->n.other++;	/* counter samples, enterprise formats */
		if (xskip(&d, len) == -1)
			return -1;
	}
	return 0;
}

int
flowexp_datagram(struct flowexp *x, const uint8_t *buf, size_t len, flowexp_cb cb, void *arg)
{
	int rc = -1;

	x->n.datagrams++;
	if (len >= 4 && rd32(buf) == 5)
		rc = sflow(x, buf, len, cb, arg);
	else if (len >= 20 && rd16(buf) == 9)
		rc = sets(x, rd32(buf + 16), buf + 20, len - 20, 0, cb, arg);
	else if (len >= 16 && rd16(buf) == 10 && rd16(buf + 2) >= 16 && rd16(buf + 2) <= len)
		rc = sets(x, rd32(buf + 12), buf + 16, rd16(buf + 2) - 16u, 1, cb, arg);
	if (rc == -1)
		x->n.malformed++;
	return rc;
}
