/*
 * capture.c — libpcap handles. Owns the pcap_t and the compiled filter; hands each frame
 * to the outbound accounting it is given. Never decodes frames itself, never blocks in
 * live mode (the daemon's loop polls capture_fd()).
 */
#include "capture.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILE_BUF (1 << 20)	/* read files in 1 MiB chunks, not libpcap's default 4 KiB */

struct capture {
	pcap_t *pcap;
	int dlt;
	int live;
	char *iobuf;		/* the file's stdio buffer, page-aligned; freed after pcap_close */
};

/* The filter text at most: the port-25 part with every prefix, three times (untagged,
 * one tag, two tags), and the glue around them. */
#define FILTER_BASE_MAX	(CAPTURE_FILTER_NETS * (CIDR_STRLEN + 8) + 160)
#define FILTER_MAX	(3 * FILTER_BASE_MAX + 64)

/* Appends to buf at *off; -1 when it does not fit. */
static int
put(char *buf, size_t len, size_t *off, const char *s)
{
	size_t n = strlen(s);

	if (*off + n + 1 > len)
		return -1;
	memcpy(buf + *off, s, n + 1);
	*off += n;
	return 0;
}

int
capture_filter_text(const struct prefixes *p, int dlt, char *buf, size_t len)
{
	char base[FILTER_BASE_MAX], cidr[CIDR_STRLEN];
	size_t off = 0, i, n = p ? prefixes_count(p) : 0;
	const struct prefix *pr;

	/* BPF cannot walk IPv6 extension headers to find TCP: IPv6 packets whose first next
	 * header is one of them pass to the decoder, which can (they are rare) */
	if (put(base, sizeof base, &off, "(tcp port 25 or (ip6 and (ip6[6] == 0 or "
	    "ip6[6] == 43 or ip6[6] == 44 or ip6[6] == 51 or ip6[6] == 60 or ip6[6] == 135)))")
	    == -1)
		return -1;
	if (n > 0 && n <= CAPTURE_FILTER_NETS) {
		put(base, sizeof base, &off, " and (");
		for (i = 0; i < n; i++) {
			pr = prefixes_get(p, i);
			if (i)
				put(base, sizeof base, &off, " or ");
			put(base, sizeof base, &off, "net ");
			if (put(base, sizeof base, &off, cidr_format(&pr->cidr, cidr, sizeof cidr)))
				return -1;
		}
		if (put(base, sizeof base, &off, ")") == -1)
			return -1;
	}
	/* Each `vlan` shifts the offsets of what follows it, so nesting matches untagged,
	 * single-tagged and double-tagged (QinQ) frames; a bare "tcp port 25" misses tags. */
	if (dlt == DLT_EN10MB) {
		if ((size_t)snprintf(buf, len, "(%s) or (vlan and ((%s) or (vlan and (%s))))",
		    base, base, base) >= len)
			return -1;
	} else if ((size_t)snprintf(buf, len, "%s", base) >= len)
		return -1;
	return 0;
}

static int
set_filter(struct capture *c, const struct prefixes *p, char *err, size_t errlen)
{
	struct bpf_program prog;
	char *text;
	size_t tl = FILTER_MAX;

	if ((text = malloc(tl)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (capture_filter_text(p, c->dlt, text, tl) == -1 ||
	    pcap_compile(c->pcap, &prog, text, 1, PCAP_NETMASK_UNKNOWN) == -1) {
		snprintf(err, errlen, "cannot compile the capture filter: %s", pcap_geterr(c->pcap));
		free(text);
		return -1;
	}
	free(text);
	if (pcap_setfilter(c->pcap, &prog) == -1) {
		snprintf(err, errlen, "cannot set the capture filter: %s", pcap_geterr(c->pcap));
		pcap_freecode(&prog);
		return -1;
	}
	pcap_freecode(&prog);
	return 0;
}

struct capture *
capture_open_live(const char *ifname, int snaplen, int buffer_size, const struct prefixes *p,
    char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct capture *c = calloc(1, sizeof *c);

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->live = 1;
	if ((c->pcap = pcap_create(ifname, ebuf)) == NULL) {
		snprintf(err, errlen, "%s: %s", ifname, ebuf);
		goto fail;
	}
	/* a mirror port delivers other hosts' frames: promiscuous mode is the point */
	if (pcap_set_snaplen(c->pcap, snaplen) != 0 || pcap_set_promisc(c->pcap, 1) != 0 ||
	    pcap_set_buffer_size(c->pcap, buffer_size) != 0 ||
	    pcap_set_timeout(c->pcap, 100) != 0) {
		snprintf(err, errlen, "%s: cannot set capture options", ifname);
		goto fail;
	}
	if (pcap_activate(c->pcap) < 0) {
		snprintf(err, errlen, "%s: %s", ifname, pcap_geterr(c->pcap));
		goto fail;
	}
	c->dlt = pcap_datalink(c->pcap);
	if (set_filter(c, p, err, errlen) == -1)
		goto fail;
	if (pcap_setnonblock(c->pcap, 1, ebuf) == -1) {
		snprintf(err, errlen, "%s: %s", ifname, ebuf);
		goto fail;
	}
	return c;
fail:
	capture_close(c);
	return NULL;
}

struct capture *
capture_open_file(const char *path, int use_filter, const struct prefixes *p, char *err,
    size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct capture *c = calloc(1, sizeof *c);
	FILE *f;

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* Reading a file is most of analyze's time: a large, page-aligned buffer halves the
	 * cost of the read(2) calls (and an unaligned one makes the kernel's copy slower). */
	if ((f = fopen(path, "rbe")) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		goto fail;
	}
	if ((c->iobuf = aligned_alloc(4096, FILE_BUF)) != NULL)
		setvbuf(f, c->iobuf, _IOFBF, FILE_BUF);
	if ((c->pcap = pcap_fopen_offline(f, ebuf)) == NULL) {
		snprintf(err, errlen, "%s", ebuf);
		fclose(f);
		goto fail;
	}
	c->dlt = pcap_datalink(c->pcap);
	if (use_filter && set_filter(c, p, err, errlen) == -1)
		goto fail;
	return c;
fail:
	capture_close(c);
	return NULL;
}

int
capture_set_space(struct capture *c, const struct prefixes *p, char *err, size_t errlen)
{
	return set_filter(c, p, err, errlen);
}

void
capture_close(struct capture *c)
{
	if (c == NULL)
		return;
	if (c->pcap)
		pcap_close(c->pcap);	/* closes the FILE of a capture file too */
	free(c->iobuf);
	free(c);
}

int
capture_fd(const struct capture *c)
{
	return c->live ? pcap_get_selectable_fd(c->pcap) : -1;
}

int
capture_linktype(const struct capture *c)
{
	return c->dlt;
}

struct dispatch_ctx {
	struct outbound *o;
	int dlt;
};

static void
on_frame(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct dispatch_ctx *d = (struct dispatch_ctx *)user;

	outbound_frame(d->o, d->dlt, (uint32_t)h->ts.tv_sec, bytes, h->caplen, h->len);
}

int
capture_dispatch(struct capture *c, int max, struct outbound *o, char *err, size_t errlen)
{
	struct dispatch_ctx d = { o, c->dlt };
	int n;

	n = pcap_dispatch(c->pcap, max, on_frame, (u_char *)&d);
	if (n == PCAP_ERROR) {
		snprintf(err, errlen, "%s", pcap_geterr(c->pcap));
		return -1;
	}
	return n < 0 ? 0 : n;
}

int
capture_next(struct capture *c, struct capture_frame *f, char *err, size_t errlen)
{
	struct pcap_pkthdr *h;
	const u_char *bytes;

	switch (pcap_next_ex(c->pcap, &h, &bytes)) {
	case 1:
		break;
	case 0:			/* live: the timeout passed with nothing ready */
	case PCAP_ERROR_BREAK:	/* file: no more records */
		return 0;
	default:
		snprintf(err, errlen, "%s", pcap_geterr(c->pcap));
		return -1;
	}
	f->sec = (int64_t)h->ts.tv_sec;
	f->usec = (int32_t)h->ts.tv_usec;
	f->data = bytes;
	f->caplen = h->caplen;
	f->wirelen = h->len;
	return 1;
}

void
capture_get_stats(struct capture *c, struct capture_stats *out)
{
	struct pcap_stat ps;

	memset(out, 0, sizeof *out);
	if (c->live && pcap_stats(c->pcap, &ps) == 0) {
		out->recv = ps.ps_recv;
		out->drop = ps.ps_drop;
		out->ifdrop = ps.ps_ifdrop;
	}
}
