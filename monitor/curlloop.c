/*
 * curlloop.c — libcurl's multi_socket API on the daemon's loop. Owns the multi handle and
 * its one loop timer; the loop descriptors it adds are libcurl's sockets, removed when
 * libcurl says so (CURL_POLL_REMOVE). Never blocks, never makes a thread.
 */
#include "curlloop.h"

#include <stdlib.h>

struct curlloop {
	struct loop *loop;
	CURLM *multi;
	uint64_t timer;
	void (*done)(void *arg);
	void *arg;
};

static void
on_sock(void *arg, int fd, short revents)
{
	struct curlloop *c = arg;
	int running, flags = 0;

	if (revents & POLLIN)
		flags |= CURL_CSELECT_IN;
	if (revents & POLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (revents & (POLLERR | POLLHUP | POLLNVAL))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(c->multi, fd, flags, &running);
	c->done(c->arg);
}

static int
sock_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct curlloop *c = userp;
	short ev = 0;

	(void)e;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		loop_fd_del(c->loop, fd);
		return 0;
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev |= POLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev |= POLLOUT;
	return loop_fd(c->loop, fd, ev, on_sock, c) == -1 ? -1 : 0;
}

static void
on_timer(void *arg)
{
	struct curlloop *c = arg;

	c->timer = 0;
	curlloop_kick(c);
}

static int
timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct curlloop *c = userp;

	(void)m;
	if (c->timer != 0)
		loop_timer_del(c->loop, c->timer);
	c->timer = 0;
	if (timeout_ms >= 0 && (c->timer = loop_timer(c->loop, timeout_ms, on_timer, c)) == 0)
		return -1;
	return 0;
}

struct curlloop *
curlloop_new(struct loop *l, void (*done)(void *arg), void *arg)
{
	struct curlloop *c = calloc(1, sizeof *c);

	if (c == NULL)
		return NULL;
	if ((c->multi = curl_multi_init()) == NULL) {
		free(c);
		return NULL;
	}
	c->loop = l;
	c->done = done;
	c->arg = arg;
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	return c;
}

void
curlloop_free(struct curlloop *c)
{
	if (c == NULL)
		return;
	curl_multi_cleanup(c->multi);
	if (c->timer != 0)
		loop_timer_del(c->loop, c->timer);
	free(c);
}

CURLM *
curlloop_multi(const struct curlloop *c)
{
	return c->multi;
}

void
curlloop_kick(struct curlloop *c)
{
	int running;

	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	c->done(c->arg);
}
