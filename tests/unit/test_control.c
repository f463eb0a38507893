/*
 * test_control.c — the control socket server in this process: a loop with a server on a
 * temporary socket path, client sockets made by the test, the loop pumped with loop_once
 * while the test waits for bytes. Checks: a request and its reply (ids, order, pipelining,
 * the longest line allowed), two clients at once, subscribers receiving published events
 * and others not, garbage and wrong types answered with errors and the connection kept, a
 * line over the limit answered and closed, half a line then close, half a line for too
 * long, nothing at all (closed after request_timeout; each of these counted), the
 * connection cap, a slow subscriber dropped while a reading one gets every event, a reader
 * that never reads or trickles a byte dropped after stall_timeout while another is answered
 * within 100 ms, a reply over max_queue refused, a streamed reply arriving whole to a slow
 * reader a piece per loop turn (held events and the next reply after it), a reserved slot
 * for root when group members hold every ordinary one, acting
 * commands refused to a non-operator (as another uid through a forked child when run as
 * root: root is always an operator), the socket's mode 0660
 * whatever the umask, a stale socket replaced, a live one and a regular file left alone.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "testfiles.h"

#include "control.h"
#include "log.h"
#include "loop.h"

#define NOBODY		65534
#define WAIT_MS		5000

static struct loop *L;
static struct control *C;
static char dir[128], sock[200];

/* A client of the test: its socket and what it read that is not yet a whole line. */
struct cli {
	int fd;
	char buf[256 * 1024];
	size_t len;
};

static int
setup(void **state)
{
	(void)state;
	assert_int_equal(testdir_make(dir, sizeof dir, "control"), 0);
	snprintf(sock, sizeof sock, "%s/rw.sock", dir);
	assert_non_null(L = loop_new());
	C = NULL;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	control_free(C);
	C = NULL;
	loop_free(L);
	testdir_remove(dir);
	return 0;
}

static void
server(const struct control_opts *o)
{
	struct control_opts def = { 0 };
	char err[256] = "";

	if (o == NULL) {
		def.path = sock;
		def.group = (gid_t)-1;
		o = &def;
	}
	C = control_new(L, o, err, sizeof err);
	if (C == NULL)
		fail_msg("control_new: %s", err);
}

static void
pump(int ms)
{
	int64_t end = loop_now_ms() + ms;

	do
		assert_int_equal(loop_once(L, 5), 0);
	while (loop_now_ms() < end);
}

static void
cli_open(struct cli *c)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	memset(c, 0, sizeof *c);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	memcpy(sun.sun_path, sock, strlen(sock));
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sun, sizeof sun), 0);
	pump(5);	/* accepted */
}

static void
cli_close(struct cli *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void
cli_send(struct cli *c, const char *s, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = send(c->fd, s + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0)
			off += (size_t)n;
		else if (n == -1 && errno == EAGAIN)
			pump(1);
		else
			fail_msg("send: %s", strerror(errno));
	}
}

static void
cli_puts(struct cli *c, const char *s)
{
	cli_send(c, s, strlen(s));
}

/* Reads what is there without waiting. 0: EOF, -1: nothing now, else bytes. */
static ssize_t
cli_fill(struct cli *c)
{
	ssize_t n;

	if (c->len == sizeof c->buf)
		return -1;
	n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, MSG_DONTWAIT);
	if (n == -1 && errno == ECONNRESET)
		return 0;
	if (n == -1) {
		assert_true(errno == EAGAIN);
		return -1;
	}
	c->len += (size_t)n;
	return n;
}

/* The next line as a JSON object (the caller decrefs); NULL at EOF. Fails the test after
 * WAIT_MS without one. */
static json_t *
cli_msg(struct cli *c)
{
	int64_t end = loop_now_ms() + WAIT_MS;
	json_error_t je;
	char *nl;
	json_t *j;
	size_t n;

	for (;;) {
		if ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			n = (size_t)(nl - c->buf);
			j = json_loadb(c->buf, n, 0, &je);
			if (j == NULL)
				fail_msg("reply not JSON: %s: %.*s", je.text, (int)n, c->buf);
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			return j;
		}
		if (cli_fill(c) == 0)
			return NULL;
		if (loop_now_ms() > end)
			fail_msg("no reply within %d ms", WAIT_MS);
		assert_int_equal(loop_once(L, 5), 0);
	}
}

/* Waits for EOF (the server closed), skipping what is still to read. */
static void
cli_wait_eof(struct cli *c)
{
	int64_t end = loop_now_ms() + WAIT_MS;

	for (;;) {
		c->len = 0;
		if (cli_fill(c) == 0)
			return;
		if (loop_now_ms() > end)
			fail_msg("the server did not close within %d ms", WAIT_MS);
		assert_int_equal(loop_once(L, 5), 0);
	}
}

/* Asserts the reply is an error whose text holds want; returns nothing. */
static void
expect_error(struct cli *c, const char *want)
{
	json_t *r = cli_msg(c);
	const char *e;

	assert_non_null(r);
	assert_int_equal(json_integer_value(json_object_get(r, "v")), 1);
	assert_true(json_is_false(json_object_get(r, "ok")));
	e = json_string_value(json_object_get(r, "error"));
	assert_non_null(e);
	if (strstr(e, want) == NULL)
		fail_msg("error '%s' does not say '%s'", e, want);
	json_decref(r);
}

static void
expect_pong(struct cli *c, json_int_t id)
{
	json_t *r = cli_msg(c);

	assert_non_null(r);
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_int_equal(json_integer_value(json_object_get(r, "id")), id);
	assert_true(json_is_true(json_object_get(json_object_get(r, "result"), "pong")));
	json_decref(r);
}

static size_t
nclients(void)
{
	struct control_stats st;

	control_stats(C, &st);
	return st.clients;
}

/* --- handlers ------------------------------------------------------------------------- */

/* echo: {"x": ...} back; fails when x is missing; publishes when "publish" is true. */
static int
h_echo(void *arg, const json_t *req, const struct control_peer *peer, json_t **result,
    char *err, size_t errlen)
{
	json_t *x = json_object_get(req, "x");

	(void)arg;
	(void)peer;
	if (x == NULL) {
		snprintf(err, errlen, "echo needs x");
		return -1;
	}
	if (json_is_true(json_object_get(req, "publish")))
		control_publish(C, "echoed", json_incref(x));
	*result = json_pack("{s:O}", "x", x);
	return 0;
}

static int acted;

static int
h_suspend(void *arg, const json_t *req, const struct control_peer *peer, json_t **result,
    char *err, size_t errlen)
{
	(void)arg;
	(void)req;
	(void)err;
	(void)errlen;
	acted++;
	*result = json_pack("{s:i}", "by", (json_int_t)peer->uid);
	return 0;
}

/* --- tests ---------------------------------------------------------------------------- */

static void
test_request_reply(void **state)
{
	static char big[CONTROL_MAX_LINE];
	struct cli a;
	json_t *r;
	size_t n;

	(void)state;
	server(NULL);
	assert_int_equal(control_handle(C, "echo", CONTROL_READ, h_echo, NULL), 0);
	assert_int_equal(control_handle(C, "ping", CONTROL_READ, h_echo, NULL), -1);
	assert_int_equal(control_handle(C, "Bad Name", CONTROL_READ, h_echo, NULL), -1);
	cli_open(&a);

	cli_puts(&a, "{\"v\":1,\"id\":7,\"cmd\":\"ping\"}\n");
	expect_pong(&a, 7);

	/* two requests in one write, CRLF on the second, an empty line between: in order */
	cli_puts(&a, "{\"v\":1,\"id\":1,\"cmd\":\"echo\",\"x\":[1,\"a\"]}\n\n"
	    "{\"v\":1,\"id\":2,\"cmd\":\"echo\"}\r\n");
	r = cli_msg(&a);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(r,
	    "result"), "x"), 1)), "a");
	json_decref(r);
	r = cli_msg(&a);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 2);
	assert_string_equal(json_string_value(json_object_get(r, "error")), "echo needs x");
	json_decref(r);

	/* no id: none in the reply */
	cli_puts(&a, "{\"v\":1,\"cmd\":\"ping\"}\n");
	r = cli_msg(&a);
	assert_null(json_object_get(r, "id"));
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);

	/* the longest line allowed: 65535 bytes and its newline */
	n = (size_t)snprintf(big, sizeof big, "{\"v\":1,\"id\":9,\"cmd\":\"ping\",\"pad\":\"");
	memset(big + n, 'p', CONTROL_MAX_LINE - 1 - n - 2);
	memcpy(big + CONTROL_MAX_LINE - 3, "\"}\n", 3);
	cli_send(&a, big, CONTROL_MAX_LINE);
	expect_pong(&a, 9);
	cli_close(&a);
}

static void
test_two_clients(void **state)
{
	struct cli a, b;

	(void)state;
	server(NULL);
	cli_open(&a);
	cli_open(&b);
	assert_int_equal(nclients(), 2);
	cli_puts(&b, "{\"v\":1,\"id\":2,\"cmd\":\"ping\"}\n");
	cli_puts(&a, "{\"v\":1,\"id\":1,\"cmd\":\"ping\"}\n");
	expect_pong(&a, 1);
	expect_pong(&b, 2);
	/* half a request from a does not hold b up */
	cli_puts(&a, "{\"v\":1,\"id\":3,");
	cli_puts(&b, "{\"v\":1,\"id\":4,\"cmd\":\"ping\"}\n");
	expect_pong(&b, 4);
	cli_puts(&a, "\"cmd\":\"ping\"}\n");
	expect_pong(&a, 3);
	cli_close(&a);
	cli_close(&b);
	pump(20);
	assert_int_equal(nclients(), 0);
}

static void
test_subscribe(void **state)
{
	struct cli s1, s2, other;
	json_t *r;
	int i;

	(void)state;
	server(NULL);
	assert_int_equal(control_handle(C, "echo", CONTROL_READ, h_echo, NULL), 0);
	cli_open(&s1);
	cli_open(&s2);
	cli_open(&other);
	assert_int_equal(control_publish(C, "flag", json_string("before")), 0);
	cli_puts(&s1, "{\"v\":1,\"id\":1,\"cmd\":\"subscribe\"}\n");
	cli_puts(&s2, "{\"v\":1,\"id\":1,\"cmd\":\"subscribe\"}\n");
	for (i = 0; i < 2; i++) {
		r = cli_msg(i ? &s2 : &s1);
		assert_true(json_is_true(json_object_get(json_object_get(r, "result"),
		    "subscribed")));
		json_decref(r);
	}
	assert_int_equal(control_publish(C, "flag", json_pack("{s:s,s:s}", "customer", "4711",
	    "level", "warn")), 2);
	assert_int_equal(control_publish(C, "tick", NULL), 2);
	for (i = 0; i < 2; i++) {
		struct cli *c = i ? &s2 : &s1;
		r = cli_msg(c);
		assert_string_equal(json_string_value(json_object_get(r, "event")), "flag");
		assert_int_equal(json_integer_value(json_object_get(r, "v")), 1);
		assert_string_equal(json_string_value(json_object_get(json_object_get(r, "data"),
		    "level")), "warn");
		assert_null(json_object_get(r, "ok"));
		json_decref(r);
		r = cli_msg(c);
		assert_string_equal(json_string_value(json_object_get(r, "event")), "tick");
		assert_true(json_is_null(json_object_get(r, "data")));
		json_decref(r);
	}
	/* an event published by a handler reaches its own client before the reply */
	cli_puts(&s1, "{\"v\":1,\"id\":5,\"cmd\":\"echo\",\"x\":3,\"publish\":true}\n");
	r = cli_msg(&s1);
	assert_string_equal(json_string_value(json_object_get(r, "event")), "echoed");
	json_decref(r);
	r = cli_msg(&s1);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 5);
	json_decref(r);
	r = cli_msg(&s2);
	assert_string_equal(json_string_value(json_object_get(r, "event")), "echoed");
	json_decref(r);
	/* the client that did not subscribe got nothing */
	pump(20);
	assert_int_equal(cli_fill(&other), -1);
	cli_close(&s1);
	cli_close(&s2);
	cli_close(&other);
}

static void
test_garbage(void **state)
{
	static const struct {
		const char *line;
		const char *error;
	} bad[] = {
		{ "hello\n", "not JSON" },
		{ "{\"v\":1,\"cmd\":\"ping\"} trailing\n", "not JSON" },
		{ "[1,2]\n", "a request is a JSON object" },
		{ "\"ping\"\n", "a request is a JSON object" },
		{ "{\"cmd\":\"ping\"}\n", "missing \"v\"" },
		{ "{\"v\":2,\"cmd\":\"ping\"}\n", "unsupported protocol version" },
		{ "{\"v\":\"1\",\"cmd\":\"ping\"}\n", "unsupported protocol version" },
		{ "{\"v\":1}\n", "missing \"cmd\"" },
		{ "{\"v\":1,\"cmd\":5}\n", "\"cmd\" must be" },
		{ "{\"v\":1,\"cmd\":\"\"}\n", "\"cmd\" must be" },
		{ "{\"v\":1,\"cmd\":\"PING\\n\"}\n", "\"cmd\" must be" },
		{ "{\"v\":1,\"cmd\":\"nope\"}\n", "unknown command 'nope'" },
		{ "{\"v\":1,\"cmd\":\"ping\",\"id\":\"x\"}\n", "\"id\" must be an integer" },
		{ "{\"v\":1,\"cmd\":\"ping\",\"cmd\":\"ping\"}\n", "not JSON" },
		{ "{\"v\":1,\"cmd\":\"ping\",\"x\":\"\\u0000\"}\n", "not JSON" },
		{ "\x1b[31m\xff\xfe\x01{\n", "not JSON" },
	};
	static const char nul[] = "{\"v\":1,\0\"cmd\":\"ping\"}\n";
	struct cli a;
	json_t *r;
	size_t i;

	(void)state;
	server(NULL);
	cli_open(&a);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cli_puts(&a, bad[i].line), expect_error(&a, bad[i].error);
	cli_send(&a, nul, sizeof nul - 1);
	expect_error(&a, "not JSON");
	/* the id is echoed even when the request is refused */
	cli_puts(&a, "{\"v\":9,\"id\":42,\"cmd\":\"ping\"}\n");
	r = cli_msg(&a);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 42);
	json_decref(r);
	/* after all that, the connection still works */
	cli_puts(&a, "{\"v\":1,\"id\":3,\"cmd\":\"ping\"}\n");
	expect_pong(&a, 3);
	cli_close(&a);
}

static void
test_long_line(void **state)
{
	static char big[CONTROL_MAX_LINE + 8192];
	struct control_stats st;
	struct cli a, b;

	(void)state;
	server(NULL);
	cli_open(&a);
	cli_open(&b);
	memset(big, 'x', sizeof big);
	big[sizeof big - 1] = '\n';
	cli_send(&a, big, sizeof big);
	expect_error(&a, "request longer than 65535 bytes");
	cli_wait_eof(&a);
	cli_close(&a);
	control_stats(C, &st);
	assert_int_equal(st.dropped_bad, 1);
	/* the other client did not notice */
	cli_puts(&b, "{\"v\":1,\"id\":1,\"cmd\":\"ping\"}\n");
	expect_pong(&b, 1);
	cli_close(&b);
}

static void
test_half_and_nothing(void **state)
{
	struct control_opts o = { .path = sock, .group = (gid_t)-1, .request_timeout_ms = 300 };
	struct control_stats st;
	struct cli a, b;

	(void)state;
	server(&o);
	/* half a line, then close */
	cli_open(&a);
	cli_puts(&a, "{\"v\":1,\"cmd\":\"pi");
	pump(20);
	cli_close(&a);
	pump(20);
	assert_int_equal(nclients(), 0);
	/* nothing at all, then close */
	cli_open(&a);
	assert_int_equal(nclients(), 1);
	cli_close(&a);
	pump(20);
	assert_int_equal(nclients(), 0);
	/* a whole request, then shutdown(SHUT_WR): answered, then closed */
	cli_open(&a);
	cli_puts(&a, "{\"v\":1,\"id\":5,\"cmd\":\"ping\"}\n{\"v\":1,\"cmd\":\"pi");
	assert_int_equal(shutdown(a.fd, SHUT_WR), 0);
	expect_pong(&a, 5);
	assert_null(cli_msg(&a));
	cli_close(&a);
	/* a silent client holds nobody up, and is closed once request_timeout passes without
	 * its first byte; one that spoke may stay idle; half a line for too long is closed */
	cli_open(&a);
	cli_open(&b);
	cli_puts(&b, "{\"v\":1,\"id\":1,\"cmd\":\"ping\"}\n");
	expect_pong(&b, 1);
	cli_wait_eof(&a);
	cli_close(&a);
	pump(400);
	assert_int_equal(nclients(), 1);	/* b spoke: idle is fine */
	cli_puts(&b, "{\"v\":1,");
	cli_wait_eof(&b);
	cli_close(&b);
	pump(20);
	assert_int_equal(nclients(), 0);
	/* each counted: half a line at close (twice), silence, half a line too long */
	control_stats(C, &st);
	assert_int_equal(st.dropped_bad, 4);
}

static void
test_cap(void **state)
{
	struct control_opts o = { .path = sock, .group = (gid_t)-1, .max_clients = 2,
	    .reserved_clients = -1 };
	struct control_stats st;
	struct cli a, b, c;

	(void)state;
	server(&o);
	cli_open(&a);
	cli_open(&b);
	cli_open(&c);
	expect_error(&c, "too many connections");
	assert_null(cli_msg(&c));
	cli_close(&c);
	control_stats(C, &st);
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.clients, 2);
	cli_close(&a);
	pump(20);
	cli_open(&c);
	cli_puts(&c, "{\"v\":1,\"id\":1,\"cmd\":\"ping\"}\n");
	expect_pong(&c, 1);
	cli_close(&b);
	cli_close(&c);
}

static void
test_slow_subscriber(void **state)
{
	static char payload[4096];
	struct control_stats st;
	struct cli slow, good;
	json_t *r;
	int64_t start;
	int i, got = 0, n;

	(void)state;
	server(NULL);
	cli_open(&slow);
	cli_open(&good);
	cli_puts(&slow, "{\"v\":1,\"cmd\":\"subscribe\"}\n");
	cli_puts(&good, "{\"v\":1,\"cmd\":\"subscribe\"}\n");
	json_decref(cli_msg(&slow));
	json_decref(cli_msg(&good));
	memset(payload, 'e', sizeof payload - 1);
	start = loop_now_ms();
	/* 1000 x 4 KiB: the slow one's kernel buffer, then its 1 MiB queue, fill up */
	for (i = 0; i < 1000; i++) {
		n = control_publish(C, "big", json_pack("{s:i,s:s}", "n", i, "p", payload));
		assert_true(n == 1 || n == 2);
		assert_int_equal(loop_once(L, 0), 0);
		while (cli_fill(&good) > 0)
			;
		while ((r = memchr(good.buf, '\n', good.len) ? cli_msg(&good) : NULL) != NULL) {
			assert_int_equal(json_integer_value(json_object_get(json_object_get(r,
			    "data"), "n")), got);
			got++;
			json_decref(r);
		}
	}
	while (got < 1000) {
		r = cli_msg(&good);
		assert_non_null(r);
		json_decref(r);
		got++;
	}
	assert_true(loop_now_ms() - start < 5000);	/* nobody blocked */
	control_stats(C, &st);
	assert_int_equal(st.dropped_slow, 1);
	assert_int_equal(st.clients, 1);
	cli_wait_eof(&slow);	/* what the kernel held, then the end */
	cli_close(&slow);
	cli_close(&good);
}

/* blob: a string of "n" bytes. */
static int
h_blob(void *arg, const json_t *req, const struct control_peer *peer, json_t **result,
    char *err, size_t errlen)
{
	json_int_t n = json_integer_value(json_object_get(req, "n"));
	char *b;

	(void)arg;
	(void)peer;
	if (n <= 0 || n > 8 * 1024 * 1024 || (b = malloc((size_t)n)) == NULL) {
		snprintf(err, errlen, "blob: bad n");
		return -1;
	}
	memset(b, 'b', (size_t)n);
	*result = json_stringn(b, (size_t)n);
	free(b);
	return 0;
}

/* A queue that is not read within stall_timeout drops its client, also one that trickles
 * a byte now and then; meanwhile another client is answered within 100 ms each time; a
 * reply over max_queue is refused with an error, the client kept. */
static void
test_stalled_reader(void **state)
{
	struct control_opts o = { .path = sock, .group = (gid_t)-1, .stall_timeout_ms = 600,
	    .max_reply = 1024 * 1024 };
	struct control_stats st;
	struct cli never, trickle, other;
	int64_t start, t, last_byte;
	json_int_t id = 1;
	char line[128], byte;

	(void)state;
	server(&o);
	assert_int_equal(control_handle(C, "blob", CONTROL_READ, h_blob, NULL), 0);
	cli_open(&never);
	cli_open(&trickle);
	cli_open(&other);
	/* a reply bigger than the queue's bound: an error, not 2 MB queued */
	cli_puts(&other, "{\"v\":1,\"cmd\":\"blob\",\"n\":2000000}\n");
	expect_error(&other, "over the limit");
	/* 3 x 400 KB asked, none read: the kernel's buffer, then the queue fill up */
	cli_puts(&never, "{\"v\":1,\"cmd\":\"blob\",\"n\":400000}\n{\"v\":1,\"cmd\":\"blob\","
	    "\"n\":400000}\n{\"v\":1,\"cmd\":\"blob\",\"n\":400000}\n");
	cli_puts(&trickle, "{\"v\":1,\"cmd\":\"blob\",\"n\":400000}\n{\"v\":1,\"cmd\":\"blob\","
	    "\"n\":400000}\n{\"v\":1,\"cmd\":\"blob\",\"n\":400000}\n");
	start = last_byte = loop_now_ms();
	while (nclients() > 1) {
		if (loop_now_ms() - start > 4000)
			fail_msg("the stalled readers were not dropped (%zu clients)", nclients());
		/* a byte every 100 ms: progress, but not reading what is queued */
		if (loop_now_ms() - last_byte >= 100 && trickle.fd >= 0) {
			if (recv(trickle.fd, &byte, 1, MSG_DONTWAIT) == 0)
				cli_close(&trickle);
			last_byte = loop_now_ms();
		}
		snprintf(line, sizeof line, "{\"v\":1,\"id\":%lld,\"cmd\":\"ping\"}\n",
		    (long long)id);
		t = loop_now_ms();
		cli_puts(&other, line);
		expect_pong(&other, id++);
		assert_true(loop_now_ms() - t < 100);
		pump(20);
	}
	/* dropped after the bound (600 ms), not before */
	assert_true(loop_now_ms() - start >= 600);
	control_stats(C, &st);
	assert_int_equal(st.dropped_slow, 2);
	assert_int_equal(st.too_big, 1);
	cli_wait_eof(&never);
	cli_close(&never);
	cli_close(&trickle);
	cli_close(&other);
}

/* A big reply read steadily (64 KiB every 50 ms: 2 MB take 1.6 s, the stall bound is
 * 600 ms) is not a stalled reader: at least 64 KiB a bound's time keeps it, and the reply
 * arrives whole. */
static void
test_steady_reader(void **state)
{
	struct control_opts o = { .path = sock, .group = (gid_t)-1, .stall_timeout_ms = 600 };
	static char buf[65536];
	struct control_stats st;
	struct cli c;
	int64_t last = 0, end;
	size_t total = 0, want;
	ssize_t n;
	int done = 0;

	(void)state;
	server(&o);
	assert_int_equal(control_handle(C, "blob", CONTROL_READ, h_blob, NULL), 0);
	cli_open(&c);
	cli_puts(&c, "{\"v\":1,\"cmd\":\"blob\",\"n\":2000000}\n");
	want = strlen("{\"v\":1,\"ok\":true,\"result\":\"\"}\n") + 2000000;
	end = loop_now_ms() + 10000;
	while (!done) {
		assert_true(loop_now_ms() < end);
		assert_int_equal(loop_once(L, 5), 0);
		if (loop_now_ms() - last < 50)
			continue;
		last = loop_now_ms();
		n = recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n == 0)
			fail_msg("dropped after %zu of %zu bytes", total, want);
		if (n > 0) {
			total += (size_t)n;
			done = buf[n - 1] == '\n';
		}
	}
	assert_int_equal(total, want);
	control_stats(C, &st);
	assert_int_equal(st.dropped_slow, 0);
	cli_close(&c);
}

/* count: {"items":[0,...,n-1]} as a stream of at most SLICE items a piece. */
#define SLICE	100
struct counting {
	long n, next;
};
static long produced, calls_this_turn, max_calls_per_turn, max_per_call;

static int
count_fn(void *arg, struct control_out *out, char *err, size_t errlen)
{
	struct counting *k = arg;
	char num[32];
	long i;
	int len;

	(void)err;
	(void)errlen;
	if (k->next == 0 && control_out_put(out, "{\"items\":[", 10) == -1)
		return -1;
	for (i = 0; i < SLICE && k->next < k->n; i++, k->next++) {
		len = snprintf(num, sizeof num, "%s%ld", k->next ? "," : "", k->next);
		if (control_out_put(out, num, (size_t)len) == -1)
			return -1;
	}
	produced += i;
	if (i > max_per_call)
		max_per_call = i;
	calls_this_turn++;
	if (k->next < k->n)
		return 1;
	return control_out_put(out, "]}", 2) == -1 ? -1 : 0;
}

static int
h_count(void *arg, const json_t *req, const struct control_peer *peer, json_t **result,
    char *err, size_t errlen)
{
	struct control_stream s = { .fn = count_fn, .free = free };
	struct counting *k = calloc(1, sizeof *k);

	(void)arg;
	(void)peer;
	(void)result;
	if (k == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	k->n = (long)json_integer_value(json_object_get(req, "n"));
	s.arg = k;
	if (control_reply_stream(C, &s) == -1) {
		free(k);
		snprintf(err, errlen, "no stream");
		return -1;
	}
	return 0;
}

/* A big reply to a client that reads 2 KiB a turn arrives whole and in order, built a
 * piece per loop turn at most (counted, not timed), with the queue never near its bound;
 * an event published meanwhile and the next request's reply come after it; another
 * client is answered meanwhile. */
static void
test_stream(void **state)
{
	struct cli slow, other;
	json_t *r, *items;
	size_t i, turns = 0;
	const long n = 30000;
	int asked_other = 0;
	char line[128];

	(void)state;
	server(NULL);
	assert_int_equal(control_handle(C, "count", CONTROL_READ, h_count, NULL), 0);
	cli_open(&slow);
	cli_open(&other);
	cli_puts(&slow, "{\"v\":1,\"cmd\":\"subscribe\"}\n");
	json_decref(cli_msg(&slow));
	produced = max_calls_per_turn = max_per_call = 0;
	snprintf(line, sizeof line, "{\"v\":1,\"id\":5,\"cmd\":\"count\",\"n\":%ld}\n"
	    "{\"v\":1,\"id\":6,\"cmd\":\"ping\"}\n", n);
	cli_puts(&slow, line);
	while (memchr(slow.buf, '\n', slow.len) == NULL) {
		ssize_t got;

		calls_this_turn = 0;
		assert_int_equal(loop_once(L, 1), 0);
		turns++;
		if (calls_this_turn > max_calls_per_turn)
			max_calls_per_turn = calls_this_turn;
		if (produced > n / 2 && !asked_other) {
			/* half way: an event for the streaming client, a ping from another */
			assert_int_equal(control_publish(C, "mid", json_integer(1)), 1);
			cli_puts(&other, "{\"v\":1,\"id\":9,\"cmd\":\"ping\"}\n");
			expect_pong(&other, 9);
			asked_other = 1;
		}
		if (slow.len + 2048 > sizeof slow.buf)
			fail_msg("reply longer than the test's buffer");
		got = recv(slow.fd, slow.buf + slow.len, 2048, MSG_DONTWAIT);
		if (got > 0)
			slow.len += (size_t)got;
		if (turns > 200000)
			fail_msg("the stream did not end");
	}
	assert_true(asked_other);
	assert_int_equal(max_calls_per_turn, 1);
	assert_true(max_per_call <= SLICE);
	if (turns < (size_t)(n / SLICE) - 10)	/* it did take many turns */
		fail_msg("%zu turns, %ld calls at most in one", turns, max_calls_per_turn);
	r = cli_msg(&slow);
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 5);
	items = json_object_get(json_object_get(r, "result"), "items");
	assert_int_equal(json_array_size(items), (size_t)n);
	for (i = 0; i < (size_t)n; i++)
		assert_int_equal(json_integer_value(json_array_get(items, i)), (json_int_t)i);
	json_decref(r);
	/* then the event held during the stream, then the next request's reply */
	r = cli_msg(&slow);
	assert_string_equal(json_string_value(json_object_get(r, "event")), "mid");
	json_decref(r);
	expect_pong(&slow, 6);
	cli_close(&slow);
	cli_close(&other);
}

/* Runs as NOBODY: opens three connections (max_clients 2: the third refused), tells the
 * parent through wfd, holds them until rfd closes. */
static int
child_fill(int wfd, int rfd)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[256];
	int fd[3], i;
	ssize_t n;
	gid_t g = NOBODY;

	if (setgroups(1, &g) == -1 || setresgid(NOBODY, NOBODY, NOBODY) == -1 ||
	    setresuid(NOBODY, NOBODY, NOBODY) == -1)
		return 10;
	memcpy(sun.sun_path, sock, strlen(sock));
	for (i = 0; i < 3; i++) {
		if ((fd[i] = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
		    connect(fd[i], (struct sockaddr *)&sun, sizeof sun) == -1)
			return 11;
		/* one at a time: the parent accepts each before the next */
		if (i < 2 && (write(fd[i], "{\"v\":1,\"cmd\":\"ping\"}\n", 21) != 21 ||
		    read(fd[i], buf, sizeof buf) <= 0))
			return 12;
	}
	n = read(fd[2], buf, sizeof buf - 1);
	if (n <= 0)
		return 13;
	buf[n] = '\0';
	if (strstr(buf, "too many connections") == NULL)
		return 14;
	if (write(wfd, "x", 1) != 1)
		return 15;
	(void)!read(rfd, buf, 1);	/* until the parent is done */
	return 0;
}

/* With every ordinary slot taken by a group member, root still connects (a reserved
 * slot), and the reserve has its own end. */
static void
test_reserved(void **state)
{
	struct control_opts o = { .path = sock, .group = NOBODY, .max_clients = 2,
	    .reserved_clients = 1 };
	struct cli a, b;
	int up[2], down[2], st;
	int64_t end;
	pid_t pid;
	char x;

	(void)state;
	if (getuid() != 0)
		skip();		/* needs a second uid */
	assert_int_equal(chmod(dir, 0711), 0);
	server(&o);
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(up[0]);
		close(down[1]);
		_exit(child_fill(up[1], down[0]));
	}
	close(up[1]);
	close(down[0]);
	end = loop_now_ms() + WAIT_MS;
	fcntl(up[0], F_SETFL, O_NONBLOCK);
	while (read(up[0], &x, 1) != 1) {
		if (loop_now_ms() > end || waitpid(pid, &st, WNOHANG) == pid)
			fail_msg("the child did not fill the slots");
		assert_int_equal(loop_once(L, 5), 0);
	}
	assert_int_equal(nclients(), 2);
	cli_open(&a);		/* root: the reserved slot */
	cli_puts(&a, "{\"v\":1,\"id\":1,\"cmd\":\"ping\"}\n");
	expect_pong(&a, 1);
	cli_open(&b);		/* past the reserve too: refused */
	expect_error(&b, "too many connections");
	cli_close(&b);
	close(down[1]);
	close(up[0]);
	while (waitpid(pid, &st, WNOHANG) == 0)
		assert_int_equal(loop_once(L, 5), 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	cli_close(&a);
}

/* Runs as uid and gid NOBODY: connects, asks "status" (read) and "suspend" (acting).
 * Exit code: 0 as expected, 10+ which step failed. want_act: 1 suspend must succeed. */
static int
child_ops(int want_act)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[4096];
	size_t len = 0;
	ssize_t n;
	int fd, lines = 0;
	const char req[] = "{\"v\":1,\"id\":1,\"cmd\":\"status\"}\n"
	    "{\"v\":1,\"id\":2,\"cmd\":\"suspend\",\"customer\":\"4711\"}\n";
	gid_t g = NOBODY;

	if (setgroups(1, &g) == -1 || setresgid(NOBODY, NOBODY, NOBODY) == -1 ||
	    setresuid(NOBODY, NOBODY, NOBODY) == -1)
		return 10;
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return 11;
	memcpy(sun.sun_path, sock, strlen(sock));
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1)
		return 12;
	if (write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1))
		return 13;
	while (lines < 2 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0) {
		len += (size_t)n;
		buf[len] = '\0';
		lines = (strchr(buf, '\n') != NULL) + (strchr(buf, '\n') &&
		    strchr(strchr(buf, '\n') + 1, '\n') != NULL);
	}
	if (lines < 2)
		return 14;
	if (strstr(buf, "\"result\":\"fine\"") == NULL)
		return 15;
	if (want_act && strstr(buf, "\"by\":65534") == NULL)
		return 16;
	if (!want_act && strstr(buf, "permission denied: uid 65534 may not run 'suspend'") ==
	    NULL)
		return 17;
	return 0;
}

/* Forks child_ops and pumps the loop until it exits; returns its exit code. */
static int
run_child(int want_act)
{
	int64_t end = loop_now_ms() + WAIT_MS;
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_ops(want_act));
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (loop_now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			fail_msg("the child did not finish");
		}
		assert_int_equal(loop_once(L, 5), 0);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

static int
h_status(void *arg, const json_t *req, const struct control_peer *peer, json_t **result,
    char *err, size_t errlen)
{
	(void)arg;
	(void)req;
	(void)peer;
	(void)err;
	(void)errlen;
	*result = json_string("fine");
	return 0;
}

static void
test_authorization(void **state)
{
	struct control_opts o = { .path = sock, .group = (gid_t)-1 };
	struct control_stats st;
	uid_t me = getuid();
	gid_t mygid = getgid();
	struct cli a;
	json_t *r;

	(void)state;
	if (me == 0) {
		/* the group of the socket is the one that may connect: nobody's here */
		o.group = NOBODY;
		assert_int_equal(chmod(dir, 0711), 0);
	}
	server(&o);
	assert_int_equal(control_handle(C, "status", CONTROL_READ, h_status, NULL), 0);
	assert_int_equal(control_handle(C, "suspend", CONTROL_ACT, h_suspend, NULL), 0);
	acted = 0;

	cli_open(&a);
	cli_puts(&a, "{\"v\":1,\"id\":1,\"cmd\":\"suspend\"}\n");
	r = cli_msg(&a);
	if (me == 0) {
		/* root is always an operator, with empty lists too */
		assert_true(json_is_true(json_object_get(r, "ok")));
		assert_int_equal(acted, 1);
		json_decref(r);

		/* another uid: reads, may not act; then the uid list, then the gid list */
		assert_int_equal(run_child(0), 0);
		assert_int_equal(acted, 1);
		uid_t u = NOBODY;
		gid_t g = NOBODY;
		assert_int_equal(control_set_operators(C, &u, 1, NULL, 0), 0);
		assert_int_equal(run_child(1), 0);
		assert_int_equal(control_set_operators(C, NULL, 0, &g, 1), 0);
		assert_int_equal(run_child(1), 0);
		assert_int_equal(acted, 3);
	} else {
		assert_true(json_is_false(json_object_get(r, "ok")));
		assert_non_null(strstr(json_string_value(json_object_get(r, "error")),
		    "permission denied"));
		assert_int_equal(acted, 0);
		json_decref(r);
		cli_puts(&a, "{\"v\":1,\"id\":2,\"cmd\":\"status\"}\n");
		r = cli_msg(&a);
		assert_true(json_is_true(json_object_get(r, "ok")));
		json_decref(r);
		/* a connected peer is judged again when the lists change */
		assert_int_equal(control_set_operators(C, &me, 1, NULL, 0), 0);
		cli_puts(&a, "{\"v\":1,\"id\":3,\"cmd\":\"suspend\"}\n");
		r = cli_msg(&a);
		assert_true(json_is_true(json_object_get(r, "ok")));
		json_decref(r);
		assert_int_equal(control_set_operators(C, NULL, 0, &mygid, 1), 0);
		cli_puts(&a, "{\"v\":1,\"id\":4,\"cmd\":\"suspend\"}\n");
		r = cli_msg(&a);
		assert_true(json_is_true(json_object_get(r, "ok")));
		json_decref(r);
		assert_int_equal(acted, 2);
	}
	control_stats(C, &st);
	assert_int_equal(st.denied, 1);
	cli_close(&a);
}

static void
test_socket_mode(void **state)
{
	struct stat sb;
	mode_t old;

	(void)state;
	old = umask(0);		/* the server does not rely on the caller's umask */
	server(NULL);
	umask(old);
	assert_int_equal(lstat(sock, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0660);
	if (getuid() == 0) {
		control_free(C);
		struct control_opts o = { .path = sock, .group = NOBODY };
		server(&o);
		assert_int_equal(lstat(sock, &sb), 0);
		assert_int_equal(sb.st_gid, NOBODY);
		assert_int_equal(sb.st_mode & 07777, 0660);
	}
	/* freed: the socket goes away */
	control_free(C);
	C = NULL;
	assert_int_equal(lstat(sock, &sb), -1);
}

static void
test_stale_and_others(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct control_opts o = { .path = sock, .group = (gid_t)-1 };
	struct control *second;
	char err[256], content[16] = "";
	struct stat sb;
	struct cli a;
	FILE *f;
	int fd;

	(void)state;
	/* a stale socket: bound, never listened on, its process gone */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memcpy(sun.sun_path, sock, strlen(sock));
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	close(fd);
	assert_int_equal(lstat(sock, &sb), 0);
	server(NULL);
	cli_open(&a);
	cli_puts(&a, "{\"v\":1,\"id\":1,\"cmd\":\"ping\"}\n");
	expect_pong(&a, 1);
	cli_close(&a);

	/* a live one is not replaced */
	err[0] = '\0';
	second = control_new(L, &o, err, sizeof err);
	assert_null(second);
	assert_non_null(strstr(err, "another rangewatchd answers on"));
	cli_open(&a);
	cli_puts(&a, "{\"v\":1,\"id\":2,\"cmd\":\"ping\"}\n");
	expect_pong(&a, 2);
	cli_close(&a);
	control_free(C);
	C = NULL;

	/* a regular file is not removed */
	assert_non_null(f = fopen(sock, "w"));
	fputs("precious", f);
	fclose(f);
	second = control_new(L, &o, err, sizeof err);
	assert_null(second);
	assert_non_null(strstr(err, "is not a socket"));
	assert_non_null(f = fopen(sock, "r"));
	assert_non_null(fgets(content, sizeof content, f));
	fclose(f);
	assert_string_equal(content, "precious");
	unlink(sock);

	/* a socket replaced under a running server is not unlinked by it at free */
	server(NULL);
	assert_int_equal(unlink(sock), 0);
	assert_non_null(f = fopen(sock, "w"));
	fclose(f);
	control_free(C);
	C = NULL;
	assert_int_equal(lstat(sock, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
}

static void
test_parse(void **state)
{
	static const char ok1[] = "{\"v\":1,\"id\":-3,\"cmd\":\"ack\",\"customer\":\"x\"}";
	static const char ok2[] = "{\"v\":1,\"id\":null,\"cmd\":\"ping\"}";
	struct control_request req;
	char err[256];

	(void)state;
	assert_int_equal(control_parse(ok1, strlen(ok1),
	    &req, err, sizeof err), 0);
	assert_string_equal(req.cmd, "ack");
	assert_true(req.has_id);
	assert_int_equal(req.id, -3);
	control_request_clear(&req);
	control_request_clear(&req);
	assert_int_equal(control_parse(ok2, strlen(ok2), &req, err,
	    sizeof err), 0);
	assert_false(req.has_id);
	control_request_clear(&req);
	/* jansson's message quotes the input: escaped */
	assert_int_equal(control_parse("\x1b]0;x\x07", 6, &req, err, sizeof err), -1);
	assert_null(strchr(err, '\x1b'));
	assert_null(req.msg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test_setup_teardown(test_request_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscribe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_half_and_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_subscriber, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stalled_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_steady_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_authorization, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_and_others, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	log_init("test_control", 1, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
