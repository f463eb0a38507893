/*
 * control.h — the daemon's control socket: a UNIX stream socket on the event loop that
 * speaks newline-delimited JSON, version 1.
 *
 *   request  {"v":1,"id":7,"cmd":"status", ...arguments}        one line, at most
 *                                                               CONTROL_MAX_LINE bytes
 *   reply    {"v":1,"id":7,"ok":true,"result":...}              (id only when given)
 *            {"v":1,"id":7,"ok":false,"error":"what is wrong"}
 *   event    {"v":1,"event":"flag","data":...}                  to subscribed clients only
 *
 * Replies come in the order of the requests; events interleave between replies and are
 * told apart by their "event" member. Built-in commands: `ping` (result {"pong":true,
 * "v":1}) and `subscribe` (result {"subscribed":true}; events follow). Every other command
 * is a handler the daemon registers with control_handle(), as read or acting.
 *
 * Trust: nobody. Every line is length-checked and validated (control_parse); a malformed
 * one gets an error reply and the connection stays, a line over the limit gets an error
 * reply and the connection is closed. Peer credentials come from SO_PEERCRED (uid, gid,
 * pid) and SO_PEERGROUPS (supplementary groups). Read commands are allowed to whoever can
 * connect (the socket is 0660, so: the owner and the socket's group); acting commands only
 * to uid 0 and to the configured operators' uids and gids (primary or supplementary). Root
 * is always an operator: it can stop the daemon or edit its store anyway, so refusing it
 * would protect nothing. Credentials are those of the process that called connect().
 *
 * Bounds, and what happens at each (each counted in control_stats, and logged):
 *   clients         max_clients (default 64) for everyone, and reserved_clients (default
 *                   8) more for root and the operators only (a flood from the socket's
 *                   group cannot lock them out); max_per_uid (default 16) per uid (root
 *                   excepted): a connection beyond gets {"ok":false,"error":"too many
 *                   connections"} and is closed;
 *   request line    CONTROL_MAX_LINE bytes with its newline: error reply, then closed;
 *   half a line     must be completed within request_timeout_ms (default 10 s): closed;
 *                   a client that closes with half a line sent is logged (the half is
 *                   dropped);
 *   silence         a connection must send its first byte within request_timeout_ms:
 *                   closed (it would only hold one of max_clients);
 *   bad requests    each gets its error reply; a client's first one is logged, the rest
 *                   only counted (errors), so a client looping on garbage cannot flood
 *                   the log;
 *   output queue    max_queue (default 1 MiB) for events: one that would pass it drops
 *                   the client (a slow or dead subscriber); max_reply (default 16 MiB)
 *                   for a reply and what waits before it: a reply that would pass it is
 *                   replaced by an error reply saying so (ask with a smaller limit), so
 *                   a queue never holds more than max_reply; no further request is
 *                   read while the queue holds more than 64 KiB; a big reply is a stream
 *                   (control_reply_stream), built a piece per loop turn as the queue
 *                   drains;
 *   stalled output  what was queued for a client must be read within stall_timeout_ms
 *                   (default 30 s), or at least 64 KiB of it (a big reply to a slow but
 *                   steady reader): checked at each tick against a mark of all bytes
 *                   queued so far, so a reader taking a byte now and then is closed too;
 *   descriptors     accept() failing with EMFILE/ENFILE pauses accepting for a second.
 * Writes are non-blocking and POLLOUT is asked only while something is queued: no client
 * can block the daemon.
 */
#ifndef RW_CONTROL_H
#define RW_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

struct loop;
struct control;

#define CONTROL_VERSION		1
#define CONTROL_MAX_LINE	65536	/* bytes of one request, its newline included */
#define CONTROL_MAX_CMD		32	/* bytes of a command name: [a-z0-9_-] */

/* Who is on the other end, from SO_PEERCRED at accept time. */
struct control_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int operator;		/* 1: may run acting commands (as of the last auth change) */
};

/* "uid 1000 (alice)" (the login name when the uid has one): who asked, for the audit
 * log and the logs. */
void control_peer_name(const struct control_peer *peer, char *buf, size_t len);

enum control_access {
	CONTROL_READ,		/* anyone who can connect */
	CONTROL_ACT		/* uid 0, or a uid or gid of the operators' lists */
};

/* A command handler. request is the whole request object (borrowed); on success it
 * stores a new reference in *result (NULL is sent as null) and returns 0; on failure it
 * writes one line to err and returns -1. It may call control_publish(). */
typedef int (*control_fn)(void *arg, const json_t *request, const struct control_peer *peer,
    json_t **result, char *err, size_t errlen);

/* A reply built piece by piece (views' `customers` with all: tens of megabytes), so that
 * no loop turn builds more than one piece and the queue stays bounded. A handler calls
 * control_reply_stream() and returns 0; the daemon then sends {"v":1,"id":..,"ok":true,
 * "result": followed by what fn writes, then }, on one line. fn is called once per loop
 * turn at most, and only while fewer than 64 KiB wait in the client's queue; it writes
 * the next piece of the result's JSON text with control_out_put and returns 1 (more to
 * come), 0 (the result is complete) or -1 (failed: the client is closed, the line being
 * half sent). free (may be NULL) is called once, when the stream ends or the client
 * goes. Requests of that client wait, and events to it are held, until the stream ends. */
struct control_out;
struct control_stream {
	int (*fn)(void *arg, struct control_out *out, char *err, size_t errlen);
	void (*free)(void *arg);
	void *arg;
};

struct control_opts {
	const char *path;		/* the socket */
	gid_t group;			/* group of the socket; (gid_t)-1: leave it */
	unsigned mode;			/* 0600 or 0660 (anything else: 0660) */
	const uid_t *op_uids;		/* operators, may be NULL */
	size_t nop_uids;
	const gid_t *op_gids;
	size_t nop_gids;
	size_t max_clients;		/* 0: 64 */
	size_t max_per_uid;		/* 0: 16 */
	int reserved_clients;		/* slots past max_clients for root and the operators;
					 * 0: 8, -1: none */
	size_t max_queue;		/* bytes; 0: 1 MiB */
	size_t max_reply;		/* bytes of a reply with what is queued before it;
					 * 0: 16 MiB (at least max_queue) */
	int request_timeout_ms;		/* 0: 10000 */
	int stall_timeout_ms;		/* 0: 30000 */
};

/* Counters since control_new. */
struct control_stats {
	size_t clients;			/* connected now */
	uint64_t accepted;
	uint64_t refused;		/* over max_clients or max_per_uid */
	uint64_t requests;
	uint64_t errors;		/* error replies (bad requests, failed handlers) */
	uint64_t denied;		/* acting commands refused */
	uint64_t dropped_slow;		/* output queue full, or stalled */
	uint64_t dropped_bad;		/* line too long, half a line too long or left at
					 * close, or nothing sent in time */
	uint64_t events;		/* events queued to subscribers */
	uint64_t too_big;		/* replies over max_queue, refused with an error */
	uint64_t stream_steps;		/* pieces of streamed replies built */
};

/* A request line after validation: an object with "v" equal to CONTROL_VERSION, "cmd" a
 * command name, "id" absent, null or an integer. */
struct control_request {
	json_t *msg;			/* owned: the whole object */
	const char *cmd;		/* inside msg */
	int has_id;
	json_int_t id;
};

/* Binds the socket at opts->path (mode 0660 through the umask, which is process-wide: call
 * it before any other thread exists; group opts->group, so root must do it), listens
 * and watches it on l. An existing socket file is replaced when nothing answers on it; a
 * daemon answering on it, or a file that is not a socket, is an error (nothing removed).
 * NULL with the reason in err. */
struct control *control_new(struct loop *l, const struct control_opts *opts, char *err,
    size_t errlen);
/* Closes every client and the socket, and unlinks the socket if it is still the one bound.
 * NULL-safe. */
void control_free(struct control *ctl);
/* Registers (or replaces) the handler of cmd. -1 on a bad name, a built-in name or ENOMEM. */
int control_handle(struct control *ctl, const char *cmd, enum control_access access,
    control_fn fn, void *arg);
/* Replaces the operators' lists (a reload); connected peers are judged again. -1 on ENOMEM
 * (the old lists stay). */
int control_set_operators(struct control *ctl, const uid_t *uids, size_t nuids,
    const gid_t *gids, size_t ngids);
/* Sends {"v":1,"event":event,"data":data} to every subscriber; takes the reference to
 * data (NULL: null). Subscribers whose queue would pass max_queue are dropped. Returns how
 * many subscribers got it, -1 when the event cannot be encoded. */
int control_publish(struct control *ctl, const char *event, json_t *data);
/* From inside a handler only: the reply is the stream s (copied) instead of a result.
 * -1 when called outside a handler or twice. */
int control_reply_stream(struct control *ctl, const struct control_stream *s);
/* Appends len bytes of a stream's piece to its client's queue. -1 on ENOMEM. */
int control_out_put(struct control_out *out, const char *s, size_t len);
/* Copies the counters. */
void control_stats(const struct control *ctl, struct control_stats *st);

/* Parses and validates one request line (len bytes, without its newline; may hold any
 * bytes). 0 and *req filled (free with control_request_clear), or -1 with a one-line
 * printable reason in err; req->has_id and req->id are set when an id could be read even
 * if the request is refused, so the error reply can carry it. Pure: no socket, no state. */
int control_parse(const char *line, size_t len, struct control_request *req, char *err,
    size_t errlen);
/* Frees what control_parse filled. NULL-safe, idempotent. */
void control_request_clear(struct control_request *req);

#endif
