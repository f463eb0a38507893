/*
 * capture.c — libpcap handles. Owns the pcap_t and the compiled filter; hands each frame
 * to the outbound accounting it is given. Never decodes frames itself, never blocks in
 * live mode (the capture thread polls capture_fd()).
 *
 * A classic pcap file (the usual one: version 2.4, magic a1b2c3d4 or a1b23c4d, either
 * byte order) is read by this module itself: libpcap's file reader copies every record
 * twice (the kernel's copy into stdio's buffer, then fread into its own) and calls fread
 * twice per record, most of analyze's time. Here read(2) fills a 1 MiB buffer and each
 * frame is handed on where it lies; libpcap still opens the file (it validates the header
 * and maps the link type) and its BPF interpreter filters each frame (pcap_offline_filter),
 * so the frames and the filter are exactly libpcap's (tests/fuzz/fuzz_pcapfile.c compares
 * the two readers record by record). pcapng and anything else go through libpcap.
 */
#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_BUF (1 << 20)	/* read files in 1 MiB chunks, not libpcap's default 4 KiB */
#define FAST_BUF (1 << 20)	/* our own reader's buffer: larger than any record */
#define REC_MAX	262144		/* libpcap's largest record (MAXIMUM_SNAPLEN) */

/* Our own reading of a classic pcap file. */
struct fastfile {
	int fd;
	unsigned char *buf;	/* FAST_BUF bytes, page-aligned */
	size_t len, off;	/* bytes in buf; the next record's offset */
	int swap;		/* the file's byte order is not ours */
	int nsec;		/* the timestamps' fraction is nanoseconds */
	uint32_t snap;		/* libpcap's snapshot for the file */
	struct bpf_program prog;
	int have_prog;
};

struct capture {
	pcap_t *pcap;
	int dlt;
	int live;
	char *iobuf;		/* the file's stdio buffer, page-aligned; freed after pcap_close */
	struct fastfile *ff;	/* a classic pcap file read by us; NULL otherwise */
	char *filter;		/* the text of the filter set, NULL before the first */
	struct pcap_pkthdr fh;	/* the last frame read by us (capture_next) */
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
	if (capture_filter_text(p, c->dlt, text, tl) == -1) {
		snprintf(err, errlen, "the capture filter is too long");
		free(text);
		return -1;
	}
	/* the same filter: nothing to do. A live handle's filter is swapped through a
	 * drop-all one (libpcap drains the socket in between): frames arriving meanwhile
	 * are lost without being counted, so a reload that keeps the prefixes keeps it */
	if (c->filter != NULL && strcmp(c->filter, text) == 0) {
		free(text);
		return 0;
	}
	if (pcap_compile(c->pcap, &prog, text, 1, PCAP_NETMASK_UNKNOWN) == -1) {
		snprintf(err, errlen, "cannot compile the capture filter: %s", pcap_geterr(c->pcap));
		free(text);
		return -1;
	}
	if (c->ff != NULL) {
		/* our own reader filters with libpcap's interpreter, program and all */
		if (c->ff->have_prog)
			pcap_freecode(&c->ff->prog);
		c->ff->prog = prog;
		c->ff->have_prog = 1;
	} else if (pcap_setfilter(c->pcap, &prog) == -1) {
		snprintf(err, errlen, "cannot set the capture filter: %s", pcap_geterr(c->pcap));
		pcap_freecode(&prog);
		free(text);
		return -1;
	} else
		pcap_freecode(&prog);
	free(c->filter);
	c->filter = text;
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

static uint32_t
get32(const unsigned char *b, int swap)
{
	uint32_t v;

	memcpy(&v, b, 4);
	return swap ? __builtin_bswap32(v) : v;
}

/* Takes over the reading of path when it is a regular classic pcap file that libpcap
 * accepted (c->pcap); anything else stays libpcap's. Failing to (out of memory) is not an
 * error: libpcap reads it then. */
static void
fast_open(struct capture *c, const char *path)
{
	struct fastfile *ff;
	unsigned char hdr[24];
	struct stat sb;
	uint32_t magic;
	int fd;

	/* 2.4 only: libpcap reads older versions' lengths in the other order */
	if (pcap_major_version(c->pcap) != 2 || pcap_minor_version(c->pcap) != 4 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) || read(fd, hdr, 24) != 24) {
		close(fd);
		return;
	}
	memcpy(&magic, hdr, 4);
	if ((ff = calloc(1, sizeof *ff)) == NULL ||
	    (ff->buf = aligned_alloc(4096, FAST_BUF)) == NULL) {
		free(ff);
		close(fd);
		return;
	}
	switch (magic) {
	case 0xa1b2c3d4u: break;
	case 0xd4c3b2a1u: ff->swap = 1; break;
	case 0xa1b23c4du: ff->nsec = 1; break;
	case 0x4d3cb2a1u: ff->swap = ff->nsec = 1; break;
	default:		/* e.g. the modified format with longer record headers */
		free(ff->buf);
		free(ff);
		close(fd);
		return;
	}
	ff->fd = fd;
	ff->snap = (uint32_t)pcap_snapshot(c->pcap);
	c->ff = ff;
}

static void
fast_close(struct fastfile *ff)
{
	if (ff == NULL)
		return;
	if (ff->have_prog)
		pcap_freecode(&ff->prog);
	close(ff->fd);
	free(ff->buf);
	free(ff);
}

/* Makes need bytes from off readable in the buffer (moving what is left to its start and
 * reading more). 1 when they are, 0 at the end of the file with nothing left over, -1 at
 * the end with a part of them only (the file is cut: *got says how much) or on an error. */
static int
fast_fill(struct fastfile *ff, size_t need, size_t *got)
{
	ssize_t n;

	if (ff->len - ff->off >= need)
		return 1;
	if (ff->off > 0) {
		memmove(ff->buf, ff->buf + ff->off, ff->len - ff->off);
		ff->len -= ff->off;
		ff->off = 0;
	}
	while (ff->len < need) {
		n = read(ff->fd, ff->buf + ff->len, FAST_BUF - ff->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			*got = ff->len;
			if (n == 0 && ff->len == 0)
				return 0;
			return -1;
		}
		ff->len += (size_t)n;
	}
	return 1;
}

/* The next record past the filter: 1 with h and *data set, 0 at the end, -1 with err. */
static int
fast_next(struct capture *c, struct pcap_pkthdr *h, const unsigned char **data, char *err,
    size_t errlen)
{
	struct fastfile *ff = c->ff;
	const unsigned char *r;
	uint32_t caplen, keep;
	size_t got = 0;
	int rc;

	for (;;) {
		if ((rc = fast_fill(ff, 16, &got)) != 1) {
			if (rc == -1)
				snprintf(err, errlen, "truncated dump file; tried to read 16 header "
				    "bytes, only got %zu", got);
			return rc;
		}
		r = ff->buf + ff->off;
		caplen = get32(r + 8, ff->swap);
		if (caplen > REC_MAX) {
			snprintf(err, errlen, "invalid packet capture length %u, bigger than "
			    "maximum of %u", caplen, REC_MAX);
			return -1;
		}
		if (fast_fill(ff, 16 + (size_t)caplen, &got) != 1) {
			snprintf(err, errlen, "truncated dump file; tried to read %u captured "
			    "bytes, only got %zu", caplen, got > 16 ? got - 16 : 0);
			return -1;
		}
		r = ff->buf + ff->off;
		ff->off += 16 + (size_t)caplen;
		/* as libpcap: a record longer than the file's snapshot is cut to it */
		keep = ff->snap > 0 && caplen > ff->snap ? ff->snap : caplen;
		/* as libpcap 1.10 gives them: signed in the file's own byte order, unsigned
		 * when it swapped them (it swaps after widening) */
		h->ts.tv_sec = ff->swap ? (time_t)get32(r, 1) : (time_t)(int32_t)get32(r, 0);
		h->ts.tv_usec = ff->swap ? (suseconds_t)get32(r + 4, 1) :
		    (suseconds_t)(int32_t)get32(r + 4, 0);
		if (ff->nsec)
			h->ts.tv_usec /= 1000;
		h->caplen = keep;
		h->len = get32(r + 12, ff->swap);
		*data = r + 16;
		if (!ff->have_prog || pcap_offline_filter(&ff->prog, h, *data) != 0)
			return 1;
	}
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
	fast_open(c, path);
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
	fast_close(c->ff);
	free(c->filter);
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
	struct pcap_pkthdr h;
	const unsigned char *data;
	int n, rc;

	if (c->ff != NULL) {
		for (n = 0; max < 0 || n < max; n++) {
			if ((rc = fast_next(c, &h, &data, err, errlen)) == 0)
				break;
			if (rc == -1)
				return -1;
			outbound_frame(o, c->dlt, (uint32_t)h.ts.tv_sec, data, h.caplen, h.len);
		}
		return n;
	}
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

	if (c->ff != NULL) {
		int rc = fast_next(c, &c->fh, &bytes, err, errlen);

		if (rc != 1)
			return rc;
		h = &c->fh;
		goto got;
	}
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
got:
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
