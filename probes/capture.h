/*
 * capture.h — the libpcap handle: a live interface (snaplen and kernel buffer from config,
 * non-blocking, for the daemon's event loop) or a capture file (pcap or pcapng), and the
 * BPF filter that keeps only TCP port 25 of the provider's space, also inside 802.1Q and
 * QinQ tags. Frames go to an outbound accounting (outbound.h). Opening needs the
 * privileges; reading does not: open, then drop root, then read.
 */
#ifndef RW_CAPTURE_H
#define RW_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "outbound.h"
#include "prefixes.h"

struct capture;

struct capture_stats {
	unsigned long recv;	/* live: frames the kernel passed us */
	unsigned long drop;	/* live: dropped for lack of buffer space */
	unsigned long ifdrop;	/* live: dropped by the interface */
};

/* Writes the filter for link type dlt and provider space p (NULL or empty: port 25 only;
 * more than CAPTURE_FILTER_NETS prefixes: port 25 only, the space is then checked per
 * packet). -1 when buf is too small. */
#define CAPTURE_FILTER_NETS 64
int capture_filter_text(const struct prefixes *p, int dlt, char *buf, size_t len);

/* Opens interface ifname. snaplen and buffer_size in bytes. The filter is compiled and set
 * before return. NULL with the reason in err. */
struct capture *capture_open_live(const char *ifname, int snaplen, int buffer_size,
    const struct prefixes *p, char *err, size_t errlen);
/* Opens a pcap/pcapng file. With use_filter the BPF filter is applied as on a live
 * interface; without it every frame reaches the decoder (faster, and counted in total). */
struct capture *capture_open_file(const char *path, int use_filter, const struct prefixes *p,
    char *err, size_t errlen);
/* Compiles and sets the filter for a new provider space p (a reload's): for a live
 * capture, and a file opened with use_filter. Needs no privilege (the filter is attached to
 * the handle's own socket), so the daemon calls it after the drop. A filter of the same
 * text is left as it is: libpcap swaps a live filter through a drop-all one, and frames
 * arriving in between are lost uncounted. -1 with err: the old filter stays. */
int capture_set_space(struct capture *c, const struct prefixes *p, char *err, size_t errlen);
/* NULL-safe. */
void capture_close(struct capture *c);
/* The descriptor to poll for a live capture, or -1. */
int capture_fd(const struct capture *c);
int capture_linktype(const struct capture *c);
/* Reads up to max frames (-1: all there are now, or the whole file) into o. Returns frames
 * read, 0 at end of file (or nothing ready), -1 on error (reason in err). */
int capture_dispatch(struct capture *c, int max, struct outbound *o, char *err, size_t errlen);
/* One frame read by capture_next(): its capture time and its bytes, which belong to the
 * handle and stay valid only until the next read from it. */
struct capture_frame {
	int64_t sec;		/* capture time: seconds */
	int32_t usec;		/* and microseconds (a nanosecond pcapng is rounded down) */
	const uint8_t *data;
	uint32_t caplen;	/* bytes in data */
	uint32_t wirelen;	/* bytes on the wire */
};

/* Reads the next frame (past the filter) without handing it on, for a caller that needs
 * its time first (replay pacing). 1 with *f set, 0 at end of file (or nothing ready), -1
 * on error (reason in err: a file cut mid-record, a read error). */
int capture_next(struct capture *c, struct capture_frame *f, char *err, size_t errlen);
/* Kernel counters of a live capture; zeros for a file. */
void capture_get_stats(struct capture *c, struct capture_stats *out);

#endif
