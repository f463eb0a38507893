/*
 * flowexp.h — decodes one UDP datagram of a flow exporter (sFlow v5, NetFlow v9, IPFIX)
 * into observations: a sampled frame (sFlow raw packet header: the caller runs it through
 * decode.c like a captured one) or a flow record (addresses, ports, protocol, TCP flags,
 * packets, bytes), each with the sampling rate behind it. One struct flowexp per exporter:
 * it holds that exporter's NetFlow v9 / IPFIX templates (bounded) and its sampling rate
 * (from options records). Pure: no sockets, no clock, no other module's state; every read
 * is bounds-checked against the datagram, which is untrusted.
 *
 * Why not libfixbuf (libfixbuf-dev 2.4): its sFlow translator drops the first datagram of
 * every exporter (it sets the translation up), turns raw packet headers into IPFIX fields
 * so the bytes never reach our frame decoder (no SMTP command or TCP segment check), and
 * its UDP listener owns the sockets, demultiplexes peers into GLib sessions with a 30-minute
 * template life of its own and blocks in fbListenerWait(); bounding memory per exporter and
 * per template is not in its API. The subset we need (templates, options records carrying
 * the sampling rate, fixed and variable length fields, withdrawals; sFlow flow samples) is
 * a few hundred lines here, fuzzed (tests/fuzz/fuzz_flowexp.c) and benchmarked.
 */
#ifndef RW_FLOWEXP_H
#define RW_FLOWEXP_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define FLOWEXP_MAX_FIELDS	64	/* fields of a template we keep; more: refused */

enum flowexp_kind {
	FLOWEXP_FRAME,		/* one sampled frame (sFlow raw packet header) */
	FLOWEXP_RECORD		/* one flow record, or an sFlow sample without a header */
};

struct flowexp_obs {
	enum flowexp_kind kind;
	uint32_t rate;		/* 1 in rate packets sampled; 0: the exporter did not say */
	/* FLOWEXP_FRAME: the header as sampled (dlt a pcap DLT_ value) */
	int dlt;
	const uint8_t *frame;
	uint32_t caplen, wirelen;
	/* FLOWEXP_RECORD */
	struct rw_addr src, dst;
	uint16_t sport, dport;
	uint8_t proto, tcp_flags;
	uint64_t packets, bytes;
};

struct flowexp_counts {
	uint64_t datagrams;	/* given to flowexp_datagram */
	uint64_t malformed;	/* datagrams (or the rest of one) that cannot be */
	uint64_t records;	/* flow records and sFlow flow samples decoded */
	uint64_t frames;	/* of them: sampled frames */
	uint64_t no_template;	/* data sets whose template we do not hold (yet) */
	uint64_t templates;	/* templates (re)defined */
	uint64_t withdrawn;	/* templates withdrawn */
	uint64_t refused;	/* templates refused: too many, too many fields, bad */
	uint64_t other;		/* samples or records of kinds we skip (counters...) */
};

typedef void (*flowexp_cb)(void *arg, const struct flowexp_obs *o);

struct flowexp;

/* A decoder for one exporter, keeping at most max_templates templates. NULL on ENOMEM. */
struct flowexp *flowexp_new(size_t max_templates);
/* NULL-safe. */
void flowexp_free(struct flowexp *x);
/* Decodes one datagram, calling cb for each observation (pointers in it are valid during
 * the call only). The version decides the format: sFlow 5, NetFlow 9, IPFIX 10. Returns
 * 0, or -1 when (part of) it was malformed: what came before the damage was delivered. */
int flowexp_datagram(struct flowexp *x, const uint8_t *buf, size_t len, flowexp_cb cb,
    void *arg);
/* The sampling rate the exporter's options records announced last (0: none). A record
 * takes its own rate if it carries one, else its observation domain's, else this. */
uint32_t flowexp_rate(const struct flowexp *x);
void flowexp_get_counts(const struct flowexp *x, struct flowexp_counts *out);
/* Templates held, and bytes they use. */
size_t flowexp_ntemplates(const struct flowexp *x);
size_t flowexp_memory(const struct flowexp *x);

#endif
