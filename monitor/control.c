/*
 * control.c — the control socket server (protocol and bounds in control.h).
 *
 * Owns: the listening socket and its path (unlinked at free only while it is still the
 * inode this process bound), every accepted client descriptor, the clients' input buffers
 * and output queues, the handler table, and one housekeeping timer on the loop.
 *
 * Must never: block (every socket is non-blocking, writes use MSG_DONTWAIT|MSG_NOSIGNAL),
 * trust a byte from a client (each line is length-checked and validated by control_parse,
 * error texts that quote input pass through text_escape), put client text in a log line
 * (logs name clients by uid and pid only), remove a file that is not a socket, or free a
 * client while a caller up the stack still uses it (drops are deferred: a client is marked
 * dead, taken off the loop, and freed when the outermost entry point returns).
 */
#include "control.h"

#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "text.h"

#define TRIM_AFTER	(4 * 1024 * 1024)	/* a reply this big trims the heap after it */

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS	59
#endif

#define DEF_MAX_CLIENTS		64
#define DEF_MAX_PER_UID		16
#define DEF_RESERVED		8		/* slots past max_clients: operators only */
#define DEF_MAX_QUEUE		(1024 * 1024)
#define DEF_MAX_REPLY		(16 * 1024 * 1024)
#define DEF_REQUEST_TIMEOUT	10000
#define DEF_STALL_TIMEOUT	30000
#define READ_WATERMARK		(64 * 1024)	/* queued bytes above which requests wait */
#define STREAM_WATERMARK	(64 * 1024)	/* a stream adds a piece below this only */
#define STALL_MIN_READ		(64 * 1024)	/* or read this much per stall_timeout */
#define MAX_PEER_GROUPS		65536		/* NGROUPS_MAX on Linux */
#define TICK_MS			1000
#define ACCEPT_PAUSE_MS		1000
#define ACCEPT_BATCH		32
#define LOG_EVERY_MS		60000

struct client {
	struct control *ctl;
	struct client *next, *prev;
	int fd;
	struct control_peer peer;
	gid_t *groups;			/* supplementary groups from SO_PEERGROUPS */
	size_t ngroups;
	char *in;			/* CONTROL_MAX_LINE bytes, allocated on first read */
	size_t inlen;
	int64_t partial_since;		/* when the buffered half line began, 0: none */
	int64_t connected;		/* when it was accepted */
	int spoke;			/* it sent a byte: the first-request timeout is over */
	int logged_bad;			/* its first bad request was logged; the rest are not */
	char *out;			/* the output queue: bytes [outoff, outlen) pending */
	size_t outoff, outlen, outcap;
	uint64_t queued_total;		/* bytes ever queued */
	uint64_t sent_total;		/* bytes ever written */
	uint64_t mark;			/* queued_total at mark_at: must be written by ... */
	int64_t mark_at;		/* ... mark_at + stall_timeout */
	uint64_t sent_at_mark;		/* sent_total at mark_at */
	struct control_stream stream;	/* a reply being built piece by piece (fn != NULL) */
	char *held;			/* events that came during a stream, sent after it */
	size_t heldlen, heldcap;
	int subscribed;
	int eof;			/* the client shut its side: read nothing more */
	int closing;			/* close once the queue is written */
	int dead;			/* off the loop; freed at the end of the entry point */
	short events;			/* what the loop watches now */
};

struct handler {
	char name[CONTROL_MAX_CMD + 1];
	enum control_access access;
	control_fn fn;
	void *arg;
};

struct control {
	struct loop *loop;
	int fd;
	char *path;
	dev_t dev;
	ino_t ino;
	struct client *clients;
	size_t nclients;
	struct handler *h;
	size_t nh;
	uid_t *op_uids;
	size_t nop_uids;
	gid_t *op_gids;
	size_t nop_gids;
	size_t max_clients, max_per_uid, max_queue, max_reply, reserved;
	struct client *cur;		/* whose request a handler is running */
	int request_timeout, stall_timeout;
	uint64_t tick, resume;		/* timer ids */
	int depth;			/* entry points on the stack (deferred frees) */
	int paused;			/* accepting paused (EMFILE) */
	uint64_t refused_unlogged;
	int64_t refused_logged_at;
	struct control_stats st;
};

static void client_io(void *arg, int fd, short revents);
static void process_lines(struct client *c);

/* --- parsing (pure) ------------------------------------------------------------------- */

static int
cmd_name_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > CONTROL_MAX_CMD)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

void
control_request_clear(struct control_request *req)
{
	if (req == NULL)
		return;
	json_decref(req->msg);
	memset(req, 0, sizeof *req);
}

int
control_parse(const char *line, size_t len, struct control_request *req, char *err,
    size_t errlen)
{
	char esc[96];
	json_error_t je;
	json_t *o, *v, *id, *cmd;

	memset(req, 0, sizeof *req);
	if (len >= CONTROL_MAX_LINE) {
		snprintf(err, errlen, "request longer than %d bytes", CONTROL_MAX_LINE - 1);
		return -1;
	}
	/* jansson's messages may quote the input: escaped before they go anywhere */
	if ((o = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je)) == NULL) {
		text_escape(esc, sizeof esc, je.text, strnlen(je.text, sizeof je.text));
		snprintf(err, errlen, "not JSON (column %d): %s", je.column, esc);
		return -1;
	}
	if (!json_is_object(o)) {
		snprintf(err, errlen, "a request is a JSON object");
		goto fail;
	}
	id = json_object_get(o, "id");
	if (id != NULL && !json_is_null(id)) {
		if (!json_is_integer(id)) {
			snprintf(err, errlen, "\"id\" must be an integer");
			goto fail;
		}
		req->has_id = 1;
		req->id = json_integer_value(id);
	}
	v = json_object_get(o, "v");
	if (v == NULL) {
		snprintf(err, errlen, "missing \"v\" (protocol version, this daemon speaks %d)",
		    CONTROL_VERSION);
		goto fail;
	}
	if (!json_is_integer(v) || json_integer_value(v) != CONTROL_VERSION) {
		snprintf(err, errlen, "unsupported protocol version (this daemon speaks %d)",
		    CONTROL_VERSION);
		goto fail;
	}
	cmd = json_object_get(o, "cmd");
	if (cmd == NULL) {
		snprintf(err, errlen, "missing \"cmd\"");
		goto fail;
	}
	if (!json_is_string(cmd) || !cmd_name_ok(json_string_value(cmd), json_string_length(cmd))) {
		snprintf(err, errlen, "\"cmd\" must be a command name (at most %d of a-z 0-9 _ -)",
		    CONTROL_MAX_CMD);
		goto fail;
	}
	req->msg = o;
	req->cmd = json_string_value(cmd);
	return 0;
fail:
	json_decref(o);
	return -1;
}

/* --- output --------------------------------------------------------------------------- */

static void
client_drop(struct client *c, const char *why)
{
	if (c->dead)
		return;
	if (why != NULL)
		log_info("control: closing client uid %lu pid %ld: %s",
		    (unsigned long)c->peer.uid, (long)c->peer.pid, why);
	c->dead = 1;
	loop_fd_del(c->ctl->loop, c->fd);
}

static void
client_free(struct client *c)
{
	struct control *ctl = c->ctl;

	if (c->prev)
		c->prev->next = c->next;
	else
		ctl->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ctl->nclients--;
	if (!c->dead)
		loop_fd_del(ctl->loop, c->fd);
	close(c->fd);
	if (c->stream.fn != NULL && c->stream.free != NULL)
		c->stream.free(c->stream.arg);
	free(c->held);
	free(c->groups);
	free(c->in);
	free(c->out);
	free(c);
}

/* Frees the dead clients when no caller up the stack can still hold one. */
static void
reap(struct control *ctl)
{
	struct client *c, *n;

	if (ctl->depth > 0)
		return;
	for (c = ctl->clients; c; c = n) {
		n = c->next;
		if (c->dead)
			client_free(c);
	}
	ctl->st.clients = ctl->nclients;
}

static size_t
pending(const struct client *c)
{
	return c->outlen - c->outoff;
}

/* Asks the loop for what the client needs now: POLLIN while requests may be read,
 * POLLOUT only while something is queued. */
static void
client_watch(struct client *c)
{
	short ev = 0;

	if (c->dead)
		return;
	if (c->closing && pending(c) == 0) {
		client_drop(c, NULL);
		return;
	}
	if (!c->eof && !c->closing && c->stream.fn == NULL && pending(c) <= READ_WATERMARK)
		ev |= POLLIN;
	if (pending(c) > 0 || c->stream.fn != NULL)
		ev |= POLLOUT;
	if (ev == c->events)
		return;
	if (loop_fd(c->ctl->loop, c->fd, ev, client_io, c) == -1) {
		client_drop(c, "out of memory");
		return;
	}
	c->events = ev;
}

static void
client_flush(struct client *c)
{
	ssize_t n;

	while (!c->dead && pending(c) > 0) {
		n = send(c->fd, c->out + c->outoff, pending(c), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			c->outoff += (size_t)n;
			c->sent_total += (uint64_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		client_drop(c, n == -1 && errno != EPIPE && errno != ECONNRESET ?
		    "write error" : NULL);
		return;
	}
	if (c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
}

/* Appends len bytes of s to the queue, and a newline when nl. -1 on ENOMEM. */
static int
client_put(struct client *c, const char *s, size_t len, int nl)
{
	size_t need, cap;
	char *p;

	if (c->outoff > 0 && c->outoff >= c->outcap / 2) {
		memmove(c->out, c->out + c->outoff, pending(c));
		c->outlen -= c->outoff;
		c->outoff = 0;
	}
	need = c->outlen + len + 1;
	if (need > c->outcap) {
		cap = c->outcap ? c->outcap : 4096;
		while (cap < need)
			cap *= 2;
		if ((p = realloc(c->out, cap)) == NULL)
			return -1;
		c->out = p;
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, s, len);
	c->outlen += len;
	if (nl)
		c->out[c->outlen++] = '\n';
	c->queued_total += len + (nl ? 1 : 0);
	return 0;
}

/* Appends one line (s, len, without its newline) to the queue. -1 on ENOMEM. */
static int
client_queue(struct client *c, const char *s, size_t len)
{
	return client_put(c, s, len, 1);
}

/* Keeps an event that comes while a stream is half sent: it would cut the reply's line. */
static int
client_hold(struct client *c, const char *s, size_t len)
{
	size_t cap;
	char *p;

	if (c->heldlen + len + 1 > c->heldcap) {
		cap = c->heldcap ? c->heldcap : 4096;
		while (cap < c->heldlen + len + 1)
			cap *= 2;
		if ((p = realloc(c->held, cap)) == NULL)
			return -1;
		c->held = p;
		c->heldcap = cap;
	}
	memcpy(c->held + c->heldlen, s, len);
	c->heldlen += len;
	c->held[c->heldlen++] = '\n';
	return 0;
}

int
control_out_put(struct control_out *o, const char *s, size_t len)
{
	return client_put((struct client *)o, s, len, 0);
}

/* Ends a stream: its free, then the events held while it ran. */
static void
stream_end(struct client *c)
{
	if (c->stream.free != NULL)
		c->stream.free(c->stream.arg);
	memset(&c->stream, 0, sizeof c->stream);
	if (c->heldlen > 0 && client_put(c, c->held, c->heldlen, 0) == -1)
		client_drop(c, "out of memory");
	free(c->held);
	c->held = NULL;
	c->heldlen = c->heldcap = 0;
}

/* One piece of the client's stream, when its queue has room: called once per loop turn
 * at most, so that a big reply never holds the loop for more than one piece. */
static void
stream_step(struct client *c)
{
	char err[256];
	int r;

	if (c->dead || c->stream.fn == NULL || pending(c) >= STREAM_WATERMARK)
		return;
	err[0] = '\0';
	r = c->stream.fn(c->stream.arg, (struct control_out *)c, err, sizeof err);
	if (r == -1) {
		/* half a line is out: no error reply can follow it */
		c->ctl->st.errors++;
		log_warnx("control: a reply to uid %lu pid %ld failed half sent: %s",
		    (unsigned long)c->peer.uid, (long)c->peer.pid, err[0] ? err : "?");
		client_drop(c, NULL);
		return;
	}
	c->ctl->st.stream_steps++;
	if (r == 0) {
		if (client_put(c, "}\n", 2, 0) == -1) {
			client_drop(c, "out of memory");
			return;
		}
		stream_end(c);
	}
	client_flush(c);
}

int
control_reply_stream(struct control *ctl, const struct control_stream *s)
{
	if (ctl->cur == NULL || ctl->cur->stream.fn != NULL || s->fn == NULL)
		return -1;
	ctl->cur->stream = *s;
	return 0;
}

/* Encodes msg (reference taken) as one line and queues it; a reply never fails silently:
 * on trouble the client is dropped. */
static void
client_send(struct client *c, json_t *msg)
{
	char *s = NULL;
	int big;

	if (msg != NULL)
		s = json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(msg);
	if (s != NULL && pending(c) + strlen(s) + 1 > c->ctl->max_reply) {
		/* no reply may take a queue past its bound: the client learns why instead */
		char line[256];
		int n;

		c->ctl->st.errors++;
		c->ctl->st.too_big++;
		log_warnx("control: a reply of %zu bytes to uid %lu pid %ld is over the queue's "
		    "%zu: refused", strlen(s), (unsigned long)c->peer.uid, (long)c->peer.pid,
		    c->ctl->max_reply);
		n = snprintf(line, sizeof line, "{\"v\":%d,\"ok\":false,\"error\":\"reply of %zu "
		    "bytes is over the limit of %zu: ask for less (limit)\"}", CONTROL_VERSION,
		    strlen(s), c->ctl->max_reply);
		free(s);
		s = NULL;
		if (n > 0 && (size_t)n < sizeof line)
			s = strdup(line);
	}
	if (s == NULL || client_queue(c, s, strlen(s)) == -1) {
		free(s);
		client_drop(c, "out of memory");
		return;
	}
	/* a reply of megabytes (100k customers: 51 MB, and a tree of millions of small
	 * allocations before it) leaves glibc's heap holding the memory: give it back */
	big = strlen(s) > TRIM_AFTER;
	free(s);
	if (big)
		malloc_trim(0);
	client_flush(c);
}

/* A printable, valid UTF-8 copy of a message (a handler's or jansson's). */
static json_t *
err_string(const char *msg)
{
	char buf[512];
	size_t n = text_escape(buf, sizeof buf, msg, strlen(msg));

	return json_stringn(buf, n);
}

static void
reply_error(struct client *c, int has_id, json_int_t id, const char *msg)
{
	json_t *r = json_pack("{s:i, s:b, s:o*}", "v", CONTROL_VERSION, "ok", 0, "error",
	    err_string(msg[0] ? msg : "failed"));

	if (r != NULL && has_id)
		json_object_set_new(r, "id", json_integer(id));
	c->ctl->st.errors++;
	client_send(c, r);
}

static void
reply_ok(struct client *c, int has_id, json_int_t id, json_t *result)
{
	json_t *r = json_pack("{s:i, s:b, s:o}", "v", CONTROL_VERSION, "ok", 1, "result",
	    result ? result : json_null());

	if (r != NULL && has_id)
		json_object_set_new(r, "id", json_integer(id));
	client_send(c, r);
}

/* The start of a streamed reply; the stream writes the result, stream_step the end. */
static void
reply_stream_head(struct client *c, int has_id, json_int_t id)
{
	char head[96];
	int n;

	if (has_id)
		n = snprintf(head, sizeof head, "{\"v\":%d,\"id\":%lld,\"ok\":true,\"result\":",
		    CONTROL_VERSION, (long long)id);
	else
		n = snprintf(head, sizeof head, "{\"v\":%d,\"ok\":true,\"result\":",
		    CONTROL_VERSION);
	if (n <= 0 || (size_t)n >= sizeof head || client_put(c, head, (size_t)n, 0) == -1) {
		client_drop(c, "out of memory");
		return;
	}
	stream_step(c);
}

/* --- authorization -------------------------------------------------------------------- */

static int
is_operator(const struct control *ctl, const struct client *c)
{
	size_t i, j;

	if (c->peer.uid == 0)
		return 1;
	for (i = 0; i < ctl->nop_uids; i++)
		if (ctl->op_uids[i] == c->peer.uid)
			return 1;
	for (i = 0; i < ctl->nop_gids; i++) {
		if (ctl->op_gids[i] == c->peer.gid)
			return 1;
		for (j = 0; j < c->ngroups; j++)
			if (ctl->op_gids[i] == c->groups[j])
				return 1;
	}
	return 0;
}

int
control_set_operators(struct control *ctl, const uid_t *uids, size_t nuids,
    const gid_t *gids, size_t ngids)
{
	uid_t *u = NULL;
	gid_t *g = NULL;
	struct client *c;

	if ((nuids && (u = malloc(nuids * sizeof *u)) == NULL) ||
	    (ngids && (g = malloc(ngids * sizeof *g)) == NULL)) {
		free(u);
		return -1;
	}
	if (nuids)
		memcpy(u, uids, nuids * sizeof *u);
	if (ngids)
		memcpy(g, gids, ngids * sizeof *g);
	free(ctl->op_uids);
	free(ctl->op_gids);
	ctl->op_uids = u;
	ctl->nop_uids = nuids;
	ctl->op_gids = g;
	ctl->nop_gids = ngids;
	for (c = ctl->clients; c; c = c->next)
		c->peer.operator = is_operator(ctl, c);
	return 0;
}

/* --- requests ------------------------------------------------------------------------- */

static const struct handler *
find_handler(const struct control *ctl, const char *cmd)
{
	size_t i;

	for (i = 0; i < ctl->nh; i++)
		if (strcmp(ctl->h[i].name, cmd) == 0)
			return &ctl->h[i];
	return NULL;
}

/* The first bad request of a client, in one line; the next ones only get their error
 * reply (and are counted in errors), so that a client looping on garbage cannot flood the
 * log. What was wrong stays out of it: it quotes the client's text. */
static void
log_bad(struct client *c)
{
	if (c->logged_bad)
		return;
	c->logged_bad = 1;
	log_info("control: client uid %lu pid %ld sent a request that is not valid (the error "
	    "reply says why; its further bad requests are answered, not logged)",
	    (unsigned long)c->peer.uid, (long)c->peer.pid);
}

/* Runs a handler for c and sends what it says: its result, its error, or (when it called
 * control_reply_stream) the head of a streamed reply. */
static void
run_handler(struct client *c, const struct handler *h, const struct control_request *req,
    char *err, size_t errlen)
{
	json_t *result = NULL;
	int r;

	c->ctl->cur = c;
	r = h->fn(h->arg, req->msg, &c->peer, &result, err, errlen);
	c->ctl->cur = NULL;
	if (r == -1 && c->stream.fn != NULL) {
		if (c->stream.free != NULL)
			c->stream.free(c->stream.arg);
		memset(&c->stream, 0, sizeof c->stream);
	}
	if (r == -1) {
		json_decref(result);
		reply_error(c, req->has_id, req->id, err);
	} else if (c->dead) {
		json_decref(result);
	} else if (c->stream.fn != NULL) {
		json_decref(result);
		reply_stream_head(c, req->has_id, req->id);
	} else
		reply_ok(c, req->has_id, req->id, result);
}

static void
handle_line(struct client *c, const char *line, size_t len)
{
	struct control *ctl = c->ctl;
	struct control_request req;
	const struct handler *h;
	char err[512];

	ctl->st.requests++;
	err[0] = '\0';
	if (control_parse(line, len, &req, err, sizeof err) == -1) {
		log_bad(c);
		reply_error(c, req.has_id, req.id, err);
		return;
	}
	if (strcmp(req.cmd, "ping") == 0) {
		reply_ok(c, req.has_id, req.id, json_pack("{s:b, s:i}", "pong", 1, "v",
		    CONTROL_VERSION));
	} else if (strcmp(req.cmd, "subscribe") == 0) {
		c->subscribed = 1;
		reply_ok(c, req.has_id, req.id, json_pack("{s:b}", "subscribed", 1));
	} else if ((h = find_handler(ctl, req.cmd)) == NULL) {
		snprintf(err, sizeof err, "unknown command '%s'", req.cmd);
		log_bad(c);
		reply_error(c, req.has_id, req.id, err);
	} else if (h->access == CONTROL_ACT && !c->peer.operator) {
		ctl->st.denied++;
		log_warnx("control: uid %lu pid %ld refused '%s': not an operator",
		    (unsigned long)c->peer.uid, (long)c->peer.pid, req.cmd);
		snprintf(err, sizeof err, "permission denied: uid %lu may not run '%s' (not in "
		    "the operators' uid or group list)", (unsigned long)c->peer.uid, req.cmd);
		reply_error(c, req.has_id, req.id, err);
	} else
		run_handler(c, h, &req, err, sizeof err);
	control_request_clear(&req);
}

/* Handles every complete line buffered, as long as the client's queue has room. */
static void
process_lines(struct client *c)
{
	char *nl;
	size_t len, used = 0;

	while (!c->dead && !c->closing && c->stream.fn == NULL && pending(c) <= READ_WATERMARK &&
	    used < c->inlen) {
		if ((nl = memchr(c->in + used, '\n', c->inlen - used)) == NULL)
			break;
		len = (size_t)(nl - (c->in + used));
		if (len > 0 && c->in[used + len - 1] == '\r')
			len--;
		if (len > 0)	/* an empty line is nothing */
			handle_line(c, c->in + used, len);
		used = (size_t)(nl - c->in) + 1;
	}
	if (c->dead)
		return;
	if (used > 0) {
		memmove(c->in, c->in + used, c->inlen - used);
		c->inlen -= used;
	}
	if (c->eof && c->stream.fn == NULL && memchr(c->in, '\n', c->inlen) == NULL) {
		/* half-closed: every whole line answered; half a line is dropped */
		if (c->inlen > 0) {
			c->ctl->st.dropped_bad++;
			log_info("control: client uid %lu pid %ld closed with half a request (%zu "
			    "bytes, no newline) unanswered", (unsigned long)c->peer.uid,
			    (long)c->peer.pid, c->inlen);
		}
		c->inlen = 0;
		c->closing = 1;
	}
	if (c->inlen == 0)
		c->partial_since = 0;
	else if (memchr(c->in, '\n', c->inlen) == NULL) {
		if (c->partial_since == 0)
			c->partial_since = loop_now_ms();
		if (c->inlen == CONTROL_MAX_LINE) {
			c->ctl->st.dropped_bad++;
			reply_error(c, 0, 0, "request longer than 65535 bytes: closing");
			c->closing = 1;
			c->inlen = 0;
			log_info("control: client uid %lu pid %ld sent a line over %d bytes",
			    (unsigned long)c->peer.uid, (long)c->peer.pid, CONTROL_MAX_LINE);
		}
	}
}

static void
client_read(struct client *c)
{
	ssize_t n;

	if (c->eof || c->closing || c->stream.fn != NULL || pending(c) > READ_WATERMARK ||
	    c->inlen == CONTROL_MAX_LINE)
		return;
	if (c->in == NULL && (c->in = malloc(CONTROL_MAX_LINE)) == NULL) {
		client_drop(c, "out of memory");
		return;
	}
	n = recv(c->fd, c->in + c->inlen, CONTROL_MAX_LINE - c->inlen, MSG_DONTWAIT);
	if (n == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			client_drop(c, errno == ECONNRESET ? NULL : "read error");
		return;
	}
	if (n == 0) {
		c->eof = 1;
		process_lines(c);
		return;
	}
	c->inlen += (size_t)n;
	c->spoke = 1;
	process_lines(c);
}

static void
client_io(void *arg, int fd, short revents)
{
	struct client *c = arg;
	struct control *ctl = c->ctl;

	(void)fd;
	ctl->depth++;
	if (revents & (POLLERR | POLLNVAL))
		client_drop(c, NULL);
	if (!c->dead && (revents & POLLOUT)) {
		client_flush(c);
		stream_step(c);		/* at most one piece a turn */
		process_lines(c);	/* requests that waited for room */
	}
	if (!c->dead && (revents & POLLIN))
		client_read(c);
	else if (!c->dead && (revents & POLLHUP) && pending(c) == 0)
		client_drop(c, NULL);
	client_watch(c);
	ctl->depth--;
	reap(ctl);
}

/* --- accepting ------------------------------------------------------------------------ */

static void on_accept(void *arg, int fd, short revents);

static void
resume_accept(void *arg)
{
	struct control *ctl = arg;

	ctl->resume = 0;
	ctl->paused = 0;
	if (loop_fd(ctl->loop, ctl->fd, POLLIN, on_accept, ctl) == -1)
		log_warnx("control: cannot watch the socket again (out of memory)");
}

static void
refuse(struct control *ctl, int fd, uid_t uid, const char *why)
{
	char line[128];
	int n;
	int64_t now = loop_now_ms();

	n = snprintf(line, sizeof line, "{\"v\":%d,\"ok\":false,\"error\":\"%s\"}\n",
	    CONTROL_VERSION, why);
	if (n > 0 && (size_t)n < sizeof line)
		(void)!send(fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
	ctl->st.refused++;
	ctl->refused_unlogged++;
	if (ctl->refused_logged_at == 0 || now - ctl->refused_logged_at >= LOG_EVERY_MS) {
		log_warnx("control: refused %llu connection(s) (last: uid %lu, %s; %zu clients)",
		    (unsigned long long)ctl->refused_unlogged, (unsigned long)uid, why,
		    ctl->nclients);
		ctl->refused_unlogged = 0;
		ctl->refused_logged_at = now;
	}
}

/* Reads the supplementary groups of the peer; none when the kernel cannot say. */
static void
peer_groups(struct client *c)
{
	socklen_t len = 64 * sizeof(gid_t);
	gid_t *g;

	for (;;) {
		if ((g = malloc(len)) == NULL)
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == 0) {
			c->groups = g;
			c->ngroups = len / sizeof(gid_t);
			return;
		}
		free(g);
		if (errno != ERANGE || len > MAX_PEER_GROUPS * sizeof(gid_t))
			return;
	}
}

static size_t
clients_of(const struct control *ctl, uid_t uid)
{
	const struct client *c;
	size_t n = 0;

	for (c = ctl->clients; c; c = c->next)
		if (!c->dead && c->peer.uid == uid)
			n++;
	return n;
}

static void
accept_one(struct control *ctl, int fd)
{
	struct ucred cr;
	socklen_t len = sizeof cr;
	struct client *c;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1 || len != sizeof cr) {
		log_warn("control: SO_PEERCRED");
		close(fd);
		return;
	}
	if (ctl->nclients >= ctl->max_clients + ctl->reserved) {
		refuse(ctl, fd, cr.uid, "too many connections");
		return;
	}
	if (cr.uid != 0 && clients_of(ctl, cr.uid) >= ctl->max_per_uid) {
		refuse(ctl, fd, cr.uid, "too many connections from this user");
		return;
	}
	if ((c = calloc(1, sizeof *c)) == NULL) {
		close(fd);
		return;
	}
	c->ctl = ctl;
	c->fd = fd;
	c->peer.uid = cr.uid;
	c->peer.gid = cr.gid;
	c->peer.pid = cr.pid;
	c->connected = loop_now_ms();
	c->mark_at = c->connected;
	peer_groups(c);
	c->peer.operator = is_operator(ctl, c);
	/* the last slots are kept for root and the operators: the socket's group cannot
	 * lock them out */
	if (ctl->nclients >= ctl->max_clients && !c->peer.operator) {
		free(c->groups);
		free(c);
		refuse(ctl, fd, cr.uid, "too many connections");
		return;
	}
	c->next = ctl->clients;
	if (ctl->clients)
		ctl->clients->prev = c;
	ctl->clients = c;
	ctl->nclients++;
	ctl->st.accepted++;
	ctl->st.clients = ctl->nclients;
	client_watch(c);
	log_debug("control: client uid %lu pid %ld connected", (unsigned long)cr.uid,
	    (long)cr.pid);
}

static void
on_accept(void *arg, int lfd, short revents)
{
	struct control *ctl = arg;
	int fd, i;

	(void)revents;
	ctl->depth++;
	for (i = 0; i < ACCEPT_BATCH; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				log_warn("control: accept, pausing for %d ms", ACCEPT_PAUSE_MS);
				loop_fd_del(ctl->loop, lfd);
				ctl->paused = 1;
				ctl->resume = loop_timer(ctl->loop, ACCEPT_PAUSE_MS, resume_accept,
				    ctl);
			}
			break;
		}
		accept_one(ctl, fd);
	}
	ctl->depth--;
	reap(ctl);
}

/* The housekeeping period: a second, shorter when a timeout is (tests use short ones). */
static int
tick_ms(const struct control *ctl)
{
	int t = ctl->request_timeout < ctl->stall_timeout ? ctl->request_timeout :
	    ctl->stall_timeout;

	t /= 4;
	return t >= TICK_MS ? TICK_MS : t < 10 ? 10 : t;
}

/* Once a second: half lines that take too long, queues that do not move. */
static void
on_tick(void *arg)
{
	struct control *ctl = arg;
	struct client *c;
	int64_t now = loop_now_ms();
	char why[64];

	ctl->tick = loop_timer(ctl->loop, tick_ms(ctl), on_tick, ctl);
	ctl->depth++;
	for (c = ctl->clients; c; c = c->next) {
		if (c->dead)
			continue;
		if (c->partial_since && now - c->partial_since >= ctl->request_timeout) {
			ctl->st.dropped_bad++;
			client_drop(c, "half a request for too long");
		} else if (!c->spoke && now - c->connected >= ctl->request_timeout) {
			/* a connection that never speaks only holds a slot of max_clients */
			ctl->st.dropped_bad++;
			snprintf(why, sizeof why, "connected and sent nothing for %d ms",
			    ctl->request_timeout);
			client_drop(c, why);
		} else if (c->sent_total >= c->mark ||
		    c->sent_total - c->sent_at_mark >= STALL_MIN_READ) {
			/* everything queued at the mark is read, or a good part of a big
			 * reply: a new mark */
			c->mark = c->queued_total;
			c->mark_at = now;
			c->sent_at_mark = c->sent_total;
		} else if (now - c->mark_at >= ctl->stall_timeout) {
			/* what was queued a stall_timeout ago is still not read: a dead or
			 * trickling reader (a byte now and then is not enough) */
			ctl->st.dropped_slow++;
			snprintf(why, sizeof why, "did not read its queue within %d ms",
			    ctl->stall_timeout);
			client_drop(c, why);
		}
	}
	ctl->depth--;
	reap(ctl);
}

/* --- publishing ----------------------------------------------------------------------- */

int
control_publish(struct control *ctl, const char *event, json_t *data)
{
	struct client *c;
	json_t *msg;
	char *s;
	size_t len;
	int n = 0;

	msg = json_pack("{s:i, s:s, s:o}", "v", CONTROL_VERSION, "event", event, "data",
	    data ? data : json_null());
	if (msg == NULL)
		return -1;
	s = json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(msg);
	if (s == NULL)
		return -1;
	len = strlen(s);
	ctl->depth++;
	for (c = ctl->clients; c; c = c->next) {
		if (c->dead || !c->subscribed || c->closing)
			continue;
		if (pending(c) + c->heldlen + len + 1 > ctl->max_queue) {
			ctl->st.dropped_slow++;
			log_warnx("control: dropping subscriber uid %lu pid %ld: %zu bytes queued "
			    "and unread (limit %zu)", (unsigned long)c->peer.uid, (long)c->peer.pid,
			    pending(c), ctl->max_queue);
			client_drop(c, NULL);
			continue;
		}
		if ((c->stream.fn != NULL ? client_hold(c, s, len) : client_queue(c, s, len)) == -1) {
			client_drop(c, "out of memory");
			continue;
		}
		client_flush(c);
		client_watch(c);
		if (!c->dead) {
			ctl->st.events++;
			n++;
		}
	}
	free(s);
	ctl->depth--;
	reap(ctl);
	return n;
}

/* --- the socket ----------------------------------------------------------------------- */

/* Makes way for the socket: nothing there, or a dead socket (removed). -1 otherwise. */
static int
clear_path(const struct sockaddr_un *sun, char *err, size_t errlen)
{
	struct stat sb;
	int fd, r, e;

	if (lstat(sun->sun_path, &sb) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", sun->sun_path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(sb.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket: not removing it",
		    sun->sun_path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	r = connect(fd, (const struct sockaddr *)sun, sizeof *sun);
	e = errno;
	close(fd);
	if (r == 0 || e == EAGAIN || e == EINPROGRESS) {
		snprintf(err, errlen, "another rangewatchd answers on %s", sun->sun_path);
		return -1;
	}
	if (e != ECONNREFUSED) {
		snprintf(err, errlen, "%s: %s", sun->sun_path, strerror(e));
		return -1;
	}
	if (unlink(sun->sun_path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "%s: cannot remove the stale socket: %s", sun->sun_path,
		    strerror(errno));
		return -1;
	}
	log_info("control: removed a stale socket at %s", sun->sun_path);
	return 0;
}

struct control *
control_new(struct loop *l, const struct control_opts *o, char *err, size_t errlen)
{
	struct control *ctl;
	struct sockaddr_un sun;
	struct stat sb;
	mode_t old;

	if (o->path == NULL || strlen(o->path) >= sizeof sun.sun_path) {
		snprintf(err, errlen, "socket path %s", o->path ? "too long" : "missing");
		return NULL;
	}
	if ((ctl = calloc(1, sizeof *ctl)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ctl->loop = l;
	ctl->fd = -1;
	ctl->max_clients = o->max_clients ? o->max_clients : DEF_MAX_CLIENTS;
	ctl->max_per_uid = o->max_per_uid ? o->max_per_uid : DEF_MAX_PER_UID;
	ctl->max_queue = o->max_queue ? o->max_queue : DEF_MAX_QUEUE;
	ctl->max_reply = o->max_reply ? o->max_reply : DEF_MAX_REPLY;
	if (ctl->max_reply < ctl->max_queue)
		ctl->max_reply = ctl->max_queue;
	ctl->reserved = o->reserved_clients > 0 ? (size_t)o->reserved_clients :
	    o->reserved_clients < 0 ? 0 : DEF_RESERVED;
	ctl->request_timeout = o->request_timeout_ms > 0 ? o->request_timeout_ms :
	    DEF_REQUEST_TIMEOUT;
	ctl->stall_timeout = o->stall_timeout_ms > 0 ? o->stall_timeout_ms : DEF_STALL_TIMEOUT;
	if ((ctl->path = strdup(o->path)) == NULL ||
	    control_set_operators(ctl, o->op_uids, o->nop_uids, o->op_gids, o->nop_gids) == -1) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, o->path, strlen(o->path));
	if (clear_path(&sun, err, errlen) == -1)
		goto fail;
	if ((ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	/* the mode from the start: no moment where others could connect */
	old = umask(o->mode == 0600 ? 0177 : 0117);
	if (bind(ctl->fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		snprintf(err, errlen, "bind %s: %s", o->path, strerror(errno));
		umask(old);
		goto fail;
	}
	umask(old);
	if (lstat(o->path, &sb) == -1) {
		snprintf(err, errlen, "%s: %s", o->path, strerror(errno));
		goto fail;
	}
	ctl->dev = sb.st_dev;
	ctl->ino = sb.st_ino;
	if (o->group != (gid_t)-1 && lchown(o->path, (uid_t)-1, o->group) == -1) {
		snprintf(err, errlen, "chown %s to group %lu: %s", o->path,
		    (unsigned long)o->group, strerror(errno));
		goto fail;
	}
	if (listen(ctl->fd, 64) == -1) {
		snprintf(err, errlen, "listen %s: %s", o->path, strerror(errno));
		goto fail;
	}
	if (loop_fd(l, ctl->fd, POLLIN, on_accept, ctl) == -1 ||
	    (ctl->tick = loop_timer(l, tick_ms(ctl), on_tick, ctl)) == 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return ctl;
fail:
	control_free(ctl);
	return NULL;
}

void
control_free(struct control *ctl)
{
	struct stat sb;

	if (ctl == NULL)
		return;
	while (ctl->clients)
		client_free(ctl->clients);
	if (ctl->tick)
		loop_timer_del(ctl->loop, ctl->tick);
	if (ctl->resume)
		loop_timer_del(ctl->loop, ctl->resume);
	if (ctl->fd != -1) {
		loop_fd_del(ctl->loop, ctl->fd);
		close(ctl->fd);
	}
	/* only the socket this process bound: a successor's stays */
	if (ctl->ino != 0 && ctl->path && lstat(ctl->path, &sb) == 0 && S_ISSOCK(sb.st_mode) &&
	    sb.st_dev == ctl->dev && sb.st_ino == ctl->ino)
		unlink(ctl->path);
	free(ctl->path);
	free(ctl->h);
	free(ctl->op_uids);
	free(ctl->op_gids);
	free(ctl);
}

int
control_handle(struct control *ctl, const char *cmd, enum control_access access,
    control_fn fn, void *arg)
{
	struct handler *h;
	size_t i;

	if (cmd == NULL || fn == NULL || !cmd_name_ok(cmd, strlen(cmd)) ||
	    strcmp(cmd, "ping") == 0 || strcmp(cmd, "subscribe") == 0)
		return -1;
	for (i = 0; i < ctl->nh; i++)
		if (strcmp(ctl->h[i].name, cmd) == 0)
			break;
	if (i == ctl->nh) {
		if ((h = realloc(ctl->h, (ctl->nh + 1) * sizeof *h)) == NULL)
			return -1;
		ctl->h = h;
		ctl->nh++;
	}
	memset(&ctl->h[i], 0, sizeof ctl->h[i]);
	memcpy(ctl->h[i].name, cmd, strlen(cmd));
	ctl->h[i].access = access;
	ctl->h[i].fn = fn;
	ctl->h[i].arg = arg;
	return 0;
}

void
control_stats(const struct control *ctl, struct control_stats *st)
{
	*st = ctl->st;
	st->clients = ctl->nclients;
}

void
control_peer_name(const struct control_peer *peer, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char pwbuf[1024];

	if (getpwuid_r(peer->uid, &pw, pwbuf, sizeof pwbuf, &res) == 0 && res != NULL)
		snprintf(buf, len, "uid %lu (%s)", (unsigned long)peer->uid, res->pw_name);
	else
		snprintf(buf, len, "uid %lu", (unsigned long)peer->uid);
}
