/*
 * client.c — the control socket client (see client.h).
 *
 * Owns: one connected socket (O_CLOEXEC, non-blocking: every wait is a poll() with a
 * deadline) and its read buffer, capped at CLIENT_MAX_LINE.
 * Must never: wait without a bound unless asked to (timeout -1), or hand text from the
 * daemon to the caller unescaped in err (the daemon's error messages pass text_escape).
 */
#include "client.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "text.h"

struct client {
	int fd;
	char path[sizeof ((struct sockaddr_un *)0)->sun_path];
	char *buf;
	size_t len, cap;
	long long next_id;
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until deadline (-1: none) for poll(). */
static int
left(long long deadline)
{
	long long d;

	if (deadline < 0)
		return -1;
	d = deadline - now_ms();
	return d < 0 ? 0 : d > 86400000 ? 86400000 : (int)d;
}

int
client_socket_path(const char *sock, const char *config_path, char *out, size_t len,
    char *err, size_t errlen)
{
	struct rw_config *cfg = NULL;
	const char *p = CLIENT_DEFAULT_SOCKET;
	char cerr[512];
	int n;

	if (sock != NULL)
		p = sock;
	else if (config_path != NULL || access(CLIENT_DEFAULT_CONFIG, R_OK) == 0) {
		if (config_load(config_path ? config_path : CLIENT_DEFAULT_CONFIG, &cfg, cerr,
		    sizeof cerr) == -1) {
			snprintf(err, errlen, "%s", cerr);
			return -1;
		}
		if (cfg->socket != NULL && cfg->socket[0] != '\0')
			p = cfg->socket;
	}
	n = snprintf(out, len, "%s", p);
	config_free(cfg);
	if (n < 0 || (size_t)n >= len ||
	    (size_t)n >= sizeof ((struct sockaddr_un *)0)->sun_path) {
		snprintf(err, errlen, "socket path too long");
		return -1;
	}
	return 0;
}

/* The user-facing reason connect() failed with e. */
static void
connect_error(const char *path, int e, char *err, size_t errlen)
{
	struct stat sb;
	struct group *gr;

	switch (e) {
	case ENOENT:
		snprintf(err, errlen, "rangewatchd is not running (no socket at %s)", path);
		break;
	case ECONNREFUSED:
		snprintf(err, errlen, "rangewatchd is not running (%s is left from an earlier "
		    "run)", path);
		break;
	case EACCES:
	case EPERM:
		if (stat(path, &sb) == 0 && (gr = getgrgid(sb.st_gid)) != NULL)
			snprintf(err, errlen, "permission denied: you are not in the group that "
			    "may read %s (group %s)", path, gr->gr_name);
		else
			snprintf(err, errlen, "permission denied: you are not in the group that "
			    "may read %s", path);
		break;
	case EAGAIN:
		snprintf(err, errlen, "rangewatchd is busy (%s has a full queue): try again",
		    path);
		break;
	default:
		snprintf(err, errlen, "cannot connect to %s: %s", path, strerror(e));
	}
}

struct client *
client_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct client *c;
	int fd;

	if (strlen(path) >= sizeof sun.sun_path) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	/* a UNIX socket connects at once or fails at once (EAGAIN: a full backlog) */
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		connect_error(path, errno, err, errlen);
		close(fd);
		return NULL;
	}
	if ((c = calloc(1, sizeof *c)) == NULL) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		return NULL;
	}
	c->fd = fd;
	memcpy(c->path, path, strlen(path) + 1);
	c->next_id = 1;
	return c;
}

void
client_free(struct client *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c->buf);
	free(c);
}

int
client_fd(const struct client *c)
{
	return c->fd;
}

static int
send_all(struct client *c, const char *s, size_t len, long long deadline, char *err,
    size_t errlen)
{
	struct pollfd pfd = { c->fd, POLLOUT, 0 };
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = send(c->fd, s + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN) {
			snprintf(err, errlen, "rangewatchd closed the connection (%s)",
			    strerror(errno));
			return -1;
		}
		if (poll(&pfd, 1, left(deadline)) == 0) {
			snprintf(err, errlen, "rangewatchd did not read the request in time (%s)",
			    c->path);
			return -1;
		}
	}
	return 0;
}

long long
client_send(struct client *c, const char *cmd, const json_t *args, int timeout_ms,
    char *err, size_t errlen)
{
	long long id = c->next_id++;
	json_t *req;
	char *s = NULL, *line;
	size_t len;
	int r = -1;

	if ((req = args ? json_deep_copy(args) : json_object()) == NULL || !json_is_object(req) ||
	    json_object_set_new(req, "v", json_integer(CONTROL_VERSION)) == -1 ||
	    json_object_set_new(req, "id", json_integer(id)) == -1 ||
	    json_object_set_new(req, "cmd", json_string(cmd)) == -1 ||
	    (s = json_dumps(req, JSON_COMPACT | JSON_ENSURE_ASCII)) == NULL) {
		snprintf(err, errlen, "cannot encode the request");
		goto out;
	}
	if (strlen(s) >= CONTROL_MAX_LINE) {
		snprintf(err, errlen, "request longer than %d bytes", CONTROL_MAX_LINE - 1);
		goto out;
	}
	len = strlen(s);
	if ((line = realloc(s, len + 2)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	s = line;
	s[len++] = '\n';
	if (send_all(c, s, len, timeout_ms < 0 ? -1 : now_ms() + timeout_ms, err, errlen) == -1)
		goto out;
	r = 0;
out:
	free(s);
	json_decref(req);
	return r == 0 ? id : -1;
}

/* One whole line out of the buffer, parsed. 1: *msg set; 0: no whole line yet; -1: bad. */
static int
take_line(struct client *c, json_t **msg, char *err, size_t errlen)
{
	json_error_t je;
	char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
	size_t n;

	if (nl == NULL)
		return 0;
	n = (size_t)(nl - c->buf);
	*msg = json_loadb(c->buf, n, 0, &je);
	memmove(c->buf, nl + 1, c->len - n - 1);
	c->len -= n + 1;
	if (*msg == NULL || !json_is_object(*msg)) {
		json_decref(*msg);
		*msg = NULL;
		snprintf(err, errlen, "rangewatchd sent something that is not a JSON object");
		return -1;
	}
	return 1;
}

/* One read of what the daemon sent into the buffer (grown up to CLIENT_MAX_LINE).
 * 1: bytes came; 0: nothing to read now; -1: closed or failed (err says which). */
static int
fill(struct client *c, char *err, size_t errlen)
{
	size_t cap;
	ssize_t n;
	char *p;

	if (c->len == c->cap) {
		if (c->cap >= CLIENT_MAX_LINE) {
			snprintf(err, errlen, "rangewatchd sent a line over %u bytes", CLIENT_MAX_LINE);
			return -1;
		}
		cap = c->cap ? c->cap * 2 : 65536;
		if ((p = realloc(c->buf, cap)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		c->buf = p;
		c->cap = cap;
	}
	do
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	if (n > 0) {
		c->len += (size_t)n;
		return 1;
	}
	if (n == 0) {
		snprintf(err, errlen, "rangewatchd closed the connection");
		return -1;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	snprintf(err, errlen, "reading from rangewatchd: %s", strerror(errno));
	return -1;
}

int
client_recv(struct client *c, json_t **msg, int timeout_ms, char *err, size_t errlen)
{
	long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	struct pollfd pfd = { c->fd, POLLIN, 0 };
	int r;

	*msg = NULL;
	for (;;) {
		if ((r = take_line(c, msg, err, errlen)) != 0)
			return r == 1 ? 0 : -1;
		if ((r = fill(c, err, errlen)) == -1)
			return -1;
		if (r == 0 && poll(&pfd, 1, left(deadline)) == 0) {
			snprintf(err, errlen, "rangewatchd did not answer within %d ms (%s)",
			    timeout_ms, c->path);
			return -1;
		}
	}
}

int
client_try_recv(struct client *c, json_t **msg, char *err, size_t errlen)
{
	int r;

	*msg = NULL;
	for (;;) {
		if ((r = take_line(c, msg, err, errlen)) != 0)
			return r;
		if ((r = fill(c, err, errlen)) <= 0)
			return r;
	}
}

int
client_call(struct client *c, const char *cmd, const json_t *args, json_t **result,
    int timeout_ms, char *err, size_t errlen)
{
	long long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms, id;
	json_t *m, *jid, *e, *v;
	char esc[1024];
	const char *s;

	*result = NULL;
	if ((id = client_send(c, cmd, args, timeout_ms, err, errlen)) == -1)
		return -1;
	for (;;) {
		if (client_recv(c, &m, deadline < 0 ? -1 : left(deadline), err, errlen) == -1) {
			if (deadline >= 0 && now_ms() >= deadline)
				snprintf(err, errlen, "rangewatchd did not answer within %d ms (%s)",
				    timeout_ms, c->path);
			return -1;
		}
		if (json_object_get(m, "event") != NULL) {
			json_decref(m);
			continue;
		}
		/* a reply without an id answers what the daemon could not read: ours too */
		jid = json_object_get(m, "id");
		if (jid != NULL && (!json_is_integer(jid) || json_integer_value(jid) != id)) {
			json_decref(m);
			continue;
		}
		break;
	}
	v = json_object_get(m, "v");
	if (!json_is_integer(v) || json_integer_value(v) != CONTROL_VERSION) {
		snprintf(err, errlen, "rangewatchd speaks another protocol version (this "
		    "rangewatch speaks %d): use the rangewatch of the same release", CONTROL_VERSION);
		json_decref(m);
		return -1;
	}
	if (!json_is_true(json_object_get(m, "ok"))) {
		e = json_object_get(m, "error");
		s = json_is_string(e) ? json_string_value(e) : "failed, without saying why";
		text_escape(esc, sizeof esc, s, json_is_string(e) ? json_string_length(e) :
		    strlen(s));
		snprintf(err, errlen, "rangewatchd: %s", esc);
		json_decref(m);
		return -1;
	}
	*result = json_incref(json_object_get(m, "result"));
	if (*result == NULL)
		*result = json_null();
	json_decref(m);
	return 0;
}
