/*
 * hook.c — the suspend hook: the privileged runner process and the daemon's side of it
 * (contract, protocol and bounds in hook.h).
 *
 * Owns, in the daemon: the socket to the runner, the runner's pid (reaped here), the
 * packets not yet sent and the ids of the jobs not yet finished.
 * Owns, in the runner: its end of the socket, a signalfd, and each hook's pid, process
 * group, stdin pipe and output pipe; no other descriptor (all are closed at its start).
 *
 * Must never: run anything but the path fixed at start, or as anyone but the user fixed at
 * start; go through a shell; hand a hook a byte of a request unchecked (ids, levels and
 * addresses are validated, names and reasons escaped, in the runner again: it trusts the
 * daemon no more than the daemon trusts the network); let a hook inherit a descriptor, an
 * environment variable or a signal disposition; block the daemon's loop; signal a process
 * group after its leader was reaped (leftovers are killed while the leader is still a
 * zombie, found with waitid(WNOWAIT), so the group id cannot have been reused). The runner
 * never logs: what goes wrong there comes back in a result's "error" or as its exit.
 */
#include "hook.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <linux/capability.h>
#include <sys/syscall.h>

#include "config.h"
#include "log.h"
#include "loop.h"
#include "text.h"

#define HOOK_MSG_MAX	(128 * 1024)	/* bytes of one packet, either way */
#define START_WAIT_MS	5000		/* for the runner's "ready" */
#define FREE_WAIT_MS	5000		/* for the runner to end its hooks and exit */
#define IPS_LEN		(HOOK_IPS_MAX * INET6_ADDRSTRLEN + 1)
#define CIDRS_LEN	(HOOK_CIDRS_MAX * (INET6_ADDRSTRLEN + 4) + 1)
#define HOOK_ENV_PATH	"PATH=/usr/sbin:/usr/bin:/sbin:/bin"
#define HOOK_ENV_LANG	"LANG=C.UTF-8"

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl == -1 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* ------------------------------------------------------------------ validation (both sides) */

static int
valid_action(const char *s)
{
	return s != NULL && (strcmp(s, "suspend") == 0 || strcmp(s, "unsuspend") == 0 ||
	    strcmp(s, "test") == 0);
}

/* An id-like token: [A-Za-z0-9._:@+-], at most max bytes, never starting with '-' (it may
 * reach a tool's command line as an argument). */
static int
valid_token(const char *s, size_t max, int allow_empty)
{
	size_t i;

	if (s == NULL || (s[0] == '\0' && !allow_empty) || s[0] == '-')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];
		if (i >= max || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("._:@+-", c) != NULL))
			return 0;
	}
	return 1;
}

int
hook_id_ok(const char *id)
{
	return valid_token(id, HOOK_ID_MAX, 0);
}

/* Space-separated IPv4/IPv6 addresses to their canonical forms, one space between, in out
 * (IPS_LEN bytes). 0, or -1 with why. */
static int
canon_ips(const char *in, char *out, char *why, size_t whylen)
{
	char tok[INET6_ADDRSTRLEN], txt[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	size_t o = 0, n, count = 0;
	const char *p = in != NULL ? in : "";
	int af;

	out[0] = '\0';
	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return 0;
		n = strcspn(p, " ");
		if (n >= sizeof tok) {
			snprintf(why, whylen, "ips: an address is too long");
			return -1;
		}
		memcpy(tok, p, n);
		tok[n] = '\0';
		p += n;
		af = strchr(tok, ':') != NULL ? AF_INET6 : AF_INET;
		if (inet_pton(af, tok, bin) != 1 || inet_ntop(af, bin, txt, sizeof txt) == NULL) {
			char esc[4 * INET6_ADDRSTRLEN];
			text_escape(esc, sizeof esc, tok, n);
			snprintf(why, whylen, "ips: '%.60s' is not an IP address", esc);
			return -1;
		}
		if (++count > HOOK_IPS_MAX) {
			snprintf(why, whylen, "ips: more than %d addresses", HOOK_IPS_MAX);
			return -1;
		}
		o += (size_t)snprintf(out + o, IPS_LEN - o, "%s%s", o ? " " : "", txt);
	}
}

/* Space-separated prefixes ("192.0.2.0/24", "2001:db8::/32") to their canonical forms, one
 * space between, in out (CIDRS_LEN bytes), at most HOOK_CIDRS_MAX. 0, or -1 with why. */
static int
canon_cidrs(const char *in, char *out, char *why, size_t whylen)
{
	char tok[INET6_ADDRSTRLEN + 8], txt[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	size_t o = 0, n, count = 0;
	const char *p = in != NULL ? in : "", *slash;
	char *end;
	unsigned long plen;
	int af;

	out[0] = '\0';
	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return 0;
		n = strcspn(p, " ");
		if (n >= sizeof tok || ++count > HOOK_CIDRS_MAX) {
			snprintf(why, whylen, n >= sizeof tok ? "cidrs: a prefix is too long" :
			    "cidrs: more than %d prefixes", HOOK_CIDRS_MAX);
			return -1;
		}
		memcpy(tok, p, n);
		tok[n] = '\0';
		p += n;
		af = strchr(tok, ':') != NULL ? AF_INET6 : AF_INET;
		if ((slash = strchr(tok, '/')) == NULL || slash[1] < '0' || slash[1] > '9') {
			snprintf(why, whylen, "cidrs: a prefix is not ADDRESS/LENGTH");
			return -1;
		}
		tok[slash - tok] = '\0';
		errno = 0;
		plen = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || errno != 0 || plen > (af == AF_INET ? 32u : 128u) ||
		    inet_pton(af, tok, bin) != 1 || inet_ntop(af, bin, txt, sizeof txt) == NULL) {
			snprintf(why, whylen, "cidrs: a prefix is not ADDRESS/LENGTH");
			return -1;
		}
		o += (size_t)snprintf(out + o, CIDRS_LEN - o, "%s%s/%lu", o ? " " : "", txt, plen);
	}
}

/* The checks both sides make on a request's fields; 0, or -1 with why. */
static int
check_fields(const char *action, const char *cid, const char *level, const char *event_id,
    const char *op, char *why, size_t whylen)
{
	if (!valid_action(action))
		snprintf(why, whylen, "action must be suspend, unsuspend or test");
	else if (!valid_token(cid, HOOK_ID_MAX, 0))
		snprintf(why, whylen, "customer_id must be 1-%d of [A-Za-z0-9._:@+-], not "
		    "starting with '-'", HOOK_ID_MAX);
	else if (!valid_token(level, 32, 1))
		snprintf(why, whylen, "level must be at most 32 of [A-Za-z0-9._:@+-]");
	else if (!valid_token(event_id, HOOK_ID_MAX, 1))
		snprintf(why, whylen, "event_id must be at most %d of [A-Za-z0-9._:@+-]",
		    HOOK_ID_MAX);
	else if (op != NULL && !valid_token(op, HOOK_ID_MAX, 0))
		snprintf(why, whylen, "operator must be 1-%d of [A-Za-z0-9._:@+-]", HOOK_ID_MAX);
	else
		return 0;
	return -1;
}

/* ------------------------------------------------------------------ packet queue (both sides) */

struct pkt {
	struct pkt *next;
	size_t len;
	char data[];
};

struct pktq {
	struct pkt *head, **tail;
	size_t n;
};

static void
pktq_init(struct pktq *q)
{
	q->head = NULL;
	q->tail = &q->head;
	q->n = 0;
}

static void
pktq_clear(struct pktq *q)
{
	struct pkt *p, *next;

	for (p = q->head; p != NULL; p = next) {
		next = p->next;
		free(p);
	}
	pktq_init(q);
}

/* Queues o as one packet and drops the reference. -1: out of memory or too big. */
static int
pktq_push(struct pktq *q, json_t *o)
{
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	size_t len = s != NULL ? strlen(s) : 0;
	struct pkt *p = NULL;

	json_decref(o);
	if (s != NULL && len < HOOK_MSG_MAX && (p = malloc(sizeof *p + len)) != NULL) {
		p->next = NULL;
		p->len = len;
		memcpy(p->data, s, len);
		*q->tail = p;
		q->tail = &p->next;
		q->n++;
	}
	free(s);
	return p != NULL ? 0 : -1;
}

/* Sends what the socket takes now. -1 when the peer is gone (the queue is then cleared). */
static int
pktq_flush(struct pktq *q, int fd)
{
	struct pkt *p;

	while ((p = q->head) != NULL) {
		if (send(fd, p->data, p->len, MSG_DONTWAIT | MSG_NOSIGNAL) == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
			    errno == ENOBUFS)
				return 0;
			pktq_clear(q);
			return -1;
		}
		if ((q->head = p->next) == NULL)
			q->tail = &q->head;
		q->n--;
		free(p);
	}
	return 0;
}

/* One packet into buf (HOOK_MSG_MAX bytes): its length, 0 at EOF, -1 with errno (EAGAIN:
 * nothing now; EMSGSIZE: a packet too big was dropped). */
static ssize_t
recv_packet(int fd, char *buf)
{
	struct iovec iov = { buf, HOOK_MSG_MAX };
	struct msghdr mh;
	ssize_t n;

	memset(&mh, 0, sizeof mh);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n > 0 && (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		errno = EMSGSIZE;
		return -1;
	}
	return n;
}

/* ================================================================== the runner (root) */

enum jstate { J_FREE, J_RECV, J_QUEUED, J_RUNNING };

struct rjob {
	enum jstate state;
	uint64_t id, seq;
	char action[16];
	char cid[HOOK_ID_MAX + 1];
	char *env[16];			/* "KEY=value", NULL-terminated */
	char *ev;			/* the evidence, evlen bytes; evgot arrived, evoff written */
	size_t evlen, evgot, evoff;
	pid_t pid;
	int in_fd, out_fd;
	int64_t start, deadline, kill_at;
	int timed_out, termed, killed;
	size_t outlen;
	uint64_t dropped;
	char out[HOOK_OUTPUT_MAX];
};

struct runner {
	int sock, sigfd, eof, quitting;
	int can_kill;			/* may signal any process (not root, or CAP_KILL) */
	pid_t self;
	const char *path;		/* fixed at start, absolute, checked */
	int as_root;
	uid_t uid;
	gid_t gid;
	int64_t timeout_ms;
	uint64_t seq;
	int recv;			/* the job whose evidence is arriving, or -1 */
	struct pktq outq;
	/* the policy (hook_policy), the runner's own: read from config, never from requests */
	const char *config;		/* NULL: the start's values stay */
	int dry_run, max_hour;
	struct rtrip {			/* the last hour's automatic real suspensions */
		int64_t ts;
		char cid[HOOK_ID_MAX + 1];
	} *trip;
	size_t ntrip;
	struct rjob job[HOOK_QUEUE_MAX];
	char buf[HOOK_MSG_MAX];
};

/* The runner's settings, chosen by hook_runner_start before the fork. */
struct runner_conf {
	const char *path;
	int as_root;
	uid_t uid;
	gid_t gid;
	unsigned timeout_s;
	pid_t parent;
	int dry_run, max_hour;
	char config[PATH_MAX];		/* "" none */
};

static struct runner *R;	/* in the runner process only */

static void runner_quit(void);

/* The daemon is gone: nothing more to read or tell; running hooks are ended. */
static void
runner_lost(void)
{
	R->eof = 1;
	pktq_clear(&R->outq);
	if (!R->quitting)
		runner_quit();
}

static void
runner_send(json_t *o)
{
	if (R->eof) {
		json_decref(o);
		return;
	}
	if (pktq_push(&R->outq, o) == -1)
		return;		/* out of memory: the daemon sees no result for this one */
	if (pktq_flush(&R->outq, R->sock) == -1)
		runner_lost();
}

/* A result that says why a job did not run. */
static void
runner_refuse(uint64_t id, const char *why)
{
	runner_send(json_pack("{s:s, s:I, s:i, s:i, s:b, s:I, s:s, s:I, s:s}", "type", "result",
	    "job", (json_int_t)id, "exit", -1, "signal", 0, "timed_out", 0, "duration_ms",
	    (json_int_t)0, "output", "", "dropped", (json_int_t)0, "error", why));
}

static void
job_release(struct rjob *j)
{
	size_t i;

	for (i = 0; j->env[i] != NULL; i++)
		free(j->env[i]);
	free(j->ev);
	if (j->in_fd != -1)
		close(j->in_fd);
	if (j->out_fd != -1)
		close(j->out_fd);
	memset(j, 0, offsetof(struct rjob, out));
	j->state = J_FREE;
	j->in_fd = j->out_fd = -1;
}

static int
env_add(struct rjob *j, size_t *n, const char *key, const char *val)
{
	size_t len = strlen(key) + strlen(val) + 2;

	if (*n + 1 >= sizeof j->env / sizeof j->env[0] || (j->env[*n] = malloc(len)) == NULL)
		return -1;
	snprintf(j->env[*n], len, "%s=%s", key, val);
	(*n)++;
	return 0;
}

/* The policy from the config file, read again (as root) before each request: only a
 * regular file of root's (ours when not root) that nobody else may write; a file that
 * fails keeps the last policy. */
static void
runner_policy(void)
{
	struct rw_config *c = NULL;
	struct stat sb;
	char err[256];

	if (R->config == NULL || stat(R->config, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_uid != geteuid() || (sb.st_mode & (S_IWGRP | S_IWOTH)) ||
	    config_load(R->config, &c, err, sizeof err) == -1)
		return;
	R->dry_run = c->hook_dry_run;
	R->max_hour = c->hook_max_per_hour;
	config_free(c);
}

/* The runner's own circuit breaker: 0 when customer cid may be suspended automatically for
 * real now (and then counted), -1 with why when max_per_hour customers were this hour. */
static int
runner_breaker(const char *cid, char *why, size_t whylen)
{
	int64_t now = now_ms();
	size_t i, k;
	struct rtrip *nt;

	for (i = k = 0; i < R->ntrip; i++)
		if (now - R->trip[i].ts < 3600 * 1000)
			R->trip[k++] = R->trip[i];
	R->ntrip = k;
	if (R->max_hour <= 0)
		return 0;
	for (i = 0; i < R->ntrip; i++)
		if (strcmp(R->trip[i].cid, cid) == 0)
			return 0;	/* a retry of one already counted */
	if (R->ntrip >= (size_t)R->max_hour) {
		snprintf(why, whylen, "refused by the hook runner: circuit breaker open (%zu "
		    "automatic suspensions in the last hour, [hook] max_per_hour = %d)", R->ntrip,
		    R->max_hour);
		return -1;
	}
	if ((nt = realloc(R->trip, (R->ntrip + 1) * sizeof *nt)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	R->trip = nt;
	nt[R->ntrip].ts = now;
	snprintf(nt[R->ntrip].cid, sizeof nt[R->ntrip].cid, "%s", cid);
	R->ntrip++;
	return 0;
}

/* A "run" packet: every field checked, the environment built. Refused with a reason. */
static void
runner_run(json_t *o)
{
	const char *type, *action, *cid, *name, *ips, *level, *reason, *event, *op = NULL;
	const char *cidrs = "";
	json_int_t id = 0, evlen;
	int dry, i, slot = -1, ips_cut = 0, cidrs_cut = 0;
	size_t n = 0, namelen, reasonlen;
	char why[160], canon[IPS_LEN], nameesc[HOOK_TEXT_MAX + 1], resc[HOOK_TEXT_MAX + 1];
	char canon_c[CIDRS_LEN];
	struct rjob *j;
	json_error_t je;

	json_unpack(o, "{s:I}", "job", &id);
	if (json_unpack_ex(o, &je, JSON_STRICT, "{s:s, s:I, s:s, s:s, s:s%, s:s, s?s, s?b, "
	    "s?b, s:s, s:s%, s:s, s?s, s:b, s:I}", "type", &type, "job", &id, "action", &action,
	    "customer_id", &cid, "customer_name", &name, &namelen, "ips", &ips, "cidrs", &cidrs,
	    "ips_truncated", &ips_cut, "cidrs_truncated", &cidrs_cut, "level", &level, "reason",
	    &reason, &reasonlen, "event_id", &event, "operator", &op, "dry_run", &dry,
	    "evidence_len", &evlen) == -1) {
		snprintf(why, sizeof why, "bad run request: %.100s", je.text);
		runner_refuse(id > 0 ? (uint64_t)id : 0, why);
		return;
	}
	if (id <= 0) {
		runner_refuse(0, "bad run request: job must be > 0");
		return;
	}
	for (i = 0; i < HOOK_QUEUE_MAX; i++) {
		if (R->job[i].state != J_FREE && R->job[i].id == (uint64_t)id) {
			runner_refuse(0, "bad run request: a job with this id is not finished");
			return;
		}
		if (R->job[i].state == J_FREE && slot == -1)
			slot = i;
	}
	if (check_fields(action, cid, level, event, op, why, sizeof why) == -1 ||
	    canon_ips(ips, canon, why, sizeof why) == -1 ||
	    canon_cidrs(cidrs, canon_c, why, sizeof why) == -1) {
		runner_refuse((uint64_t)id, why);
		return;
	}
	if (strcmp(canon, ips) != 0 || strcmp(canon_c, cidrs) != 0) {
		runner_refuse((uint64_t)id, "ips or cidrs: not in canonical form");
		return;
	}
	if (evlen < 0 || evlen > HOOK_EVIDENCE_MAX) {
		runner_refuse((uint64_t)id, "evidence_len out of range");
		return;
	}
	if (slot == -1) {
		runner_refuse((uint64_t)id, "the hook runner's queue is full");
		return;
	}
	/* the policy is the runner's, not the request's: a daemon taken over cannot lift it */
	runner_policy();
	if (R->dry_run && !dry) {
		runner_refuse((uint64_t)id, "refused by the hook runner: [hook] dry_run is on, "
		    "the request asked for a real run");
		return;
	}
	if (!dry && op == NULL && strcmp(action, "suspend") == 0 &&
	    runner_breaker(cid, why, sizeof why) == -1) {
		runner_refuse((uint64_t)id, why);
		return;
	}
	text_escape(nameesc, sizeof nameesc, name, namelen);
	text_escape(resc, sizeof resc, reason, reasonlen);
	j = &R->job[slot];
	j->id = (uint64_t)id;
	j->seq = ++R->seq;
	snprintf(j->action, sizeof j->action, "%s", action);
	snprintf(j->cid, sizeof j->cid, "%s", cid);
	j->evlen = (size_t)evlen;
	if ((j->ev = malloc(j->evlen ? j->evlen : 1)) == NULL ||
	    (j->env[n++] = strdup(HOOK_ENV_PATH)) == NULL ||
	    (j->env[n++] = strdup(HOOK_ENV_LANG)) == NULL ||
	    env_add(j, &n, "RANGEWATCH_ACTION", action) == -1 ||
	    env_add(j, &n, "RANGEWATCH_CUSTOMER_ID", cid) == -1 ||
	    env_add(j, &n, "RANGEWATCH_CUSTOMER_NAME", nameesc) == -1 ||
	    env_add(j, &n, "RANGEWATCH_IPS", canon) == -1 ||
	    env_add(j, &n, "RANGEWATCH_CIDRS", canon_c) == -1 ||
	    (ips_cut && env_add(j, &n, "RANGEWATCH_IPS_TRUNCATED", "1") == -1) ||
	    (cidrs_cut && env_add(j, &n, "RANGEWATCH_CIDRS_TRUNCATED", "1") == -1) ||
	    env_add(j, &n, "RANGEWATCH_LEVEL", level) == -1 ||
	    env_add(j, &n, "RANGEWATCH_REASON", resc) == -1 ||
	    env_add(j, &n, "RANGEWATCH_EVENT_ID", event) == -1 ||
	    env_add(j, &n, "RANGEWATCH_DRY_RUN", dry ? "1" : "0") == -1 ||
	    (op != NULL && env_add(j, &n, "RANGEWATCH_OPERATOR", op) == -1)) {
		job_release(j);
		runner_refuse((uint64_t)id, "out of memory");
		return;
	}
	if (j->evlen > 0) {
		j->state = J_RECV;
		R->recv = slot;
	} else
		j->state = J_QUEUED;
}

/* An "evidence" packet: the next bytes of the job whose evidence is arriving. */
static void
runner_evidence(json_t *o)
{
	const char *type, *data;
	json_int_t id = 0;
	size_t len;
	struct rjob *j = R->recv >= 0 ? &R->job[R->recv] : NULL;

	if (j == NULL) {
		json_unpack(o, "{s:I}", "job", &id);
		runner_refuse(id > 0 ? (uint64_t)id : 0, "unexpected evidence packet");
		return;
	}
	if (json_unpack_ex(o, NULL, JSON_STRICT, "{s:s, s:I, s:s%}", "type", &type, "job", &id,
	    "data", &data, &len) == -1 || j->id != (uint64_t)id || len > j->evlen - j->evgot) {
		R->recv = -1;
		runner_refuse(j->id, "bad evidence packet");
		job_release(j);
		return;
	}
	memcpy(j->ev + j->evgot, data, len);
	j->evgot += len;
	if (j->evgot == j->evlen) {
		j->state = J_QUEUED;
		R->recv = -1;
	}
}

static void
runner_packet(const char *buf, size_t len)
{
	json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	const char *type = NULL;
	json_int_t id = 0;

	json_unpack(o, "{s:s, s?I}", "type", &type, "job", &id);
	if (type != NULL && strcmp(type, "evidence") == 0)
		runner_evidence(o);
	else {
		if (R->recv >= 0) {	/* a packet between a run and the end of its evidence */
			runner_refuse(R->job[R->recv].id, "evidence incomplete");
			job_release(&R->job[R->recv]);
			R->recv = -1;
		}
		if (type != NULL && strcmp(type, "run") == 0)
			runner_run(o);
		else
			runner_refuse(id > 0 ? (uint64_t)id : 0, "unknown request");
	}
	json_decref(o);
}

/* Closes every descriptor from 3 up but keep (-1: none): close_range, or one by one up
 * to the limit where it is missing (ENOSYS: kernels before 5.9, seccomp filters). */
static void
close_all_but(int keep)
{
	long fd, max;
	int ok;

	if (keep < 0)
		ok = close_range(3, ~0U, 0) == 0;
	else
		ok = (keep <= 3 || close_range(3, (unsigned)keep - 1, 0) == 0) &&
		    close_range((unsigned)keep + 1, ~0U, 0) == 0;
	if (ok)
		return;
	max = sysconf(_SC_OPEN_MAX);
	for (fd = 3; fd < (max > 0 && max < 1048576 ? max : 65536); fd++)
		if (fd != keep)
			close((int)fd);
}

static void
close_from_3(void)
{
	close_all_but(-1);
}

/* In the forked child: becomes the hook. Never returns. */
static void __attribute__((noreturn))
child_exec(const struct rjob *j, int in_r, int out_w)
{
	char *argv[4];
	const char *what = "execve";
	sigset_t none;
	int sig;

	(void)setsid();
	for (sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(in_r, 0) == -1 || dup2(out_w, 1) == -1 || dup2(out_w, 2) == -1)
		_exit(127);
	close_from_3();
	if (chdir("/") == -1)
		what = "chdir /";
	else if (R->as_root && (setgroups(1, &R->gid) == -1 ||
	    setresgid(R->gid, R->gid, R->gid) == -1 || setresuid(R->uid, R->uid, R->uid) == -1))
		what = "cannot switch to the hook's user";
	else if (R->as_root && (setuid(0) != -1 || geteuid() == 0 || getegid() == 0)) {
		errno = EPERM;
		what = "could become root again";
	} else if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1 || getppid() != R->self) {
		/* set after the switch of user, which clears it: a runner killed outright
		 * takes its hooks with it (their leftovers are on their own then) */
		errno = ESRCH;
		what = "the runner is gone";
	} else {
		argv[0] = (char *)R->path;
		argv[1] = (char *)j->action;
		argv[2] = (char *)j->cid;
		argv[3] = NULL;
		execve(R->path, argv, j->env);
	}
	dprintf(1, "rangewatch hook runner: %s: %s: %s\n", R->path, what, strerror(errno));
	_exit(127);
}

static void
job_start(struct rjob *j)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	char why[160];
	pid_t pid = -1;

	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1 ||
	    set_nonblock(in[1]) == -1 || set_nonblock(out[0]) == -1 ||
	    (pid = fork()) == -1) {
		snprintf(why, sizeof why, "cannot start the hook: %s", strerror(errno));
		runner_refuse(j->id, why);
		job_release(j);
		goto out;
	}
	if (pid == 0)
		child_exec(j, in[0], out[1]);
	j->pid = pid;
	j->start = now_ms();
	j->deadline = j->start + R->timeout_ms;
	j->state = J_RUNNING;
	j->in_fd = in[1];
	j->out_fd = out[0];
	in[1] = out[0] = -1;
	if (j->evlen == 0) {
		close(j->in_fd);
		j->in_fd = -1;
	}
out:
	if (in[0] != -1)
		close(in[0]);
	if (in[1] != -1)
		close(in[1]);
	if (out[0] != -1)
		close(out[0]);
	if (out[1] != -1)
		close(out[1]);
}

/* 1 when CAP_KILL is in our effective set. */
static int
have_cap_kill(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof data);
	if (syscall(SYS_capget, &hdr, data) == -1)
		return 0;
	return (data[CAP_KILL >> 5].effective >> (CAP_KILL & 31)) & 1;
}

/* The hook's process group, and the hook itself in case it has not reached setsid. Root
 * without CAP_KILL (a systemd unit's bounding set) may signal only processes of uid 0: the
 * hook's own are signalled as the hook's user (seteuid, and back), then any it made root
 * (through sudo) as root. The two sets do not overlap, so none gets a signal twice. */
static void
job_signal(const struct rjob *j, int sig)
{
	if (!R->can_kill && seteuid(R->uid) == 0) {
		(void)kill(-j->pid, sig);
		(void)kill(j->pid, sig);
		if (seteuid(0) == -1)
			_exit(1);
	}
	(void)kill(-j->pid, sig);
	(void)kill(j->pid, sig);
}

static void
job_term(struct rjob *j, int64_t now)
{
	job_signal(j, SIGTERM);
	job_signal(j, SIGCONT);
	j->termed = 1;
	j->kill_at = now + HOOK_KILL_GRACE_MS;
}

/* Reads what the hook wrote (at most max reads); keeps the first HOOK_OUTPUT_MAX bytes. */
static void
job_read(struct rjob *j, int max)
{
	char tmp[4096];
	ssize_t n;
	size_t keep;

	while (j->out_fd != -1 && max-- > 0) {
		n = read(j->out_fd, tmp, sizeof tmp);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			close(j->out_fd);
			j->out_fd = -1;
			return;
		}
		keep = HOOK_OUTPUT_MAX - j->outlen;
		if (keep > (size_t)n)
			keep = (size_t)n;
		memcpy(j->out + j->outlen, tmp, keep);
		j->outlen += keep;
		j->dropped += (uint64_t)n - keep;
	}
}

/* Feeds the evidence to the hook's stdin; closes it when all is written or refused. */
static void
job_write(struct rjob *j)
{
	ssize_t n;

	while (j->in_fd != -1 && j->evoff < j->evlen) {
		n = write(j->in_fd, j->ev + j->evoff, j->evlen - j->evoff);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0)
			break;	/* EPIPE: the hook does not read its stdin */
		j->evoff += (size_t)n;
	}
	if (j->in_fd != -1) {
		close(j->in_fd);
		j->in_fd = -1;
	}
}

static void
job_finish(struct rjob *j, int status)
{
	static char esc[4 * HOOK_OUTPUT_MAX + 64];
	size_t len = j->outlen, o;

	while (len > 0 && (j->out[len - 1] == '\n' || j->out[len - 1] == '\r'))
		len--;
	o = text_escape(esc, sizeof esc, j->out, len);
	if (j->dropped > 0)
		snprintf(esc + o, sizeof esc - o, " [... %llu more bytes dropped]",
		    (unsigned long long)j->dropped);
	runner_send(json_pack("{s:s, s:I, s:i, s:i, s:b, s:I, s:s, s:I}", "type", "result",
	    "job", (json_int_t)j->id, "exit", WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	    "signal", WIFSIGNALED(status) ? WTERMSIG(status) : 0, "timed_out", j->timed_out,
	    "duration_ms", (json_int_t)(now_ms() - j->start), "output", esc, "dropped",
	    (json_int_t)j->dropped));
	job_release(j);
}

/* Reaps every child that has ended. A hook's leftovers in its process group are killed
 * first, while the hook is still a zombie (so its group id is still its own); children
 * that are not hooks are orphans handed to us as the subreaper. */
static void
runner_reap(void)
{
	siginfo_t si;
	struct rjob *j;
	int i, status;

	for (;;) {
		memset(&si, 0, sizeof si);
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1 || si.si_pid == 0)
			return;
		for (i = 0, j = NULL; i < HOOK_QUEUE_MAX && j == NULL; i++)
			if (R->job[i].state == J_RUNNING && R->job[i].pid == si.si_pid)
				j = &R->job[i];
		if (j != NULL) {
			job_signal(j, SIGKILL);
			job_read(j, 256);	/* all the hook wrote is in the pipe by now */
		}
		while (waitpid(si.si_pid, &status, 0) == -1 && errno == EINTR)
			;
		if (j != NULL)
			job_finish(j, status);
	}
}

/* EOF from the daemon or SIGTERM: no new runs; running hooks are ended. */
static void
runner_quit(void)
{
	int64_t now = now_ms();
	int i;

	R->quitting = 1;
	for (i = 0; i < HOOK_QUEUE_MAX; i++) {
		struct rjob *j = &R->job[i];
		if (j->state == J_RUNNING && !j->termed)
			job_term(j, now);
		else if (j->state == J_QUEUED || j->state == J_RECV) {
			runner_refuse(j->id, "the hook runner is stopping");
			job_release(j);
		}
	}
	R->recv = -1;
}

/* One turn: start what may start, wait, then act on signals, the socket, the pipes and the
 * clock. Exits when quitting and nothing runs any more. */
static void
runner_turn(void)
{
	struct pollfd pfd[2 + 2 * HOOK_JOBS_MAX];
	int who[2 + 2 * HOOK_JOBS_MAX];
	int i, k, nrun = 0, np = 0, best, reading;
	int64_t now = now_ms(), wait = -1, t;
	struct signalfd_siginfo ssi;
	ssize_t n;

	for (i = 0; i < HOOK_QUEUE_MAX; i++)
		nrun += R->job[i].state == J_RUNNING;
	while (!R->quitting && nrun < HOOK_JOBS_MAX) {
		for (i = 0, best = -1; i < HOOK_QUEUE_MAX; i++)
			if (R->job[i].state == J_QUEUED &&
			    (best == -1 || R->job[i].seq < R->job[best].seq))
				best = i;
		if (best == -1)
			break;
		job_start(&R->job[best]);
		nrun += R->job[best].state == J_RUNNING;
	}
	if (R->quitting && nrun == 0) {
		if (!R->eof)
			(void)pktq_flush(&R->outq, R->sock);
		_exit(0);
	}

	pfd[np] = (struct pollfd){ R->sigfd, POLLIN, 0 };
	who[np++] = -1;
	/* requests are read only while few results wait: a daemon that asks and never reads
	 * cannot make the runner hold more and more of them */
	reading = !R->quitting && R->outq.n < HOOK_QUEUE_MAX;
	if (!R->eof) {
		pfd[np] = (struct pollfd){ R->sock, (short)((reading ? POLLIN : 0) |
		    (R->outq.head != NULL ? POLLOUT : 0)), 0 };
		who[np++] = -2;
	}
	for (i = 0; i < HOOK_QUEUE_MAX; i++) {
		struct rjob *j = &R->job[i];
		if (j->state != J_RUNNING)
			continue;
		if (j->out_fd != -1) {
			pfd[np] = (struct pollfd){ j->out_fd, POLLIN, 0 };
			who[np++] = i;
		}
		if (j->in_fd != -1) {
			pfd[np] = (struct pollfd){ j->in_fd, POLLOUT, 0 };
			who[np++] = i;
		}
		t = !j->termed ? j->deadline : !j->killed ? j->kill_at : -1;
		if (t >= 0 && (wait == -1 || t - now < wait))
			wait = t - now < 0 ? 0 : t - now;
	}
	if (poll(pfd, (nfds_t)np, (int)wait) == -1 && errno != EINTR)
		_exit(1);

	for (k = 0; k < np; k++) {
		if (pfd[k].revents == 0)
			continue;
		if (who[k] == -1) {
			while (read(R->sigfd, &ssi, sizeof ssi) == (ssize_t)sizeof ssi)
				if (ssi.ssi_signo == SIGTERM && !R->quitting)
					runner_quit();
		} else if (who[k] == -2) {
			if ((pfd[k].revents & POLLOUT) && pktq_flush(&R->outq, R->sock) == -1)
				runner_lost();
			else if (!reading && (pfd[k].revents & (POLLHUP | POLLERR)))
				runner_lost();	/* not reading: a hangup is the end */
			for (i = 0; i < 16 && reading && !R->eof && !R->quitting; i++) {
				n = recv_packet(R->sock, R->buf);
				if (n > 0)
					runner_packet(R->buf, (size_t)n);
				else if (n == -1 && errno == EMSGSIZE)
					runner_refuse(0, "request too big");
				else if (n == -1 && (errno == EAGAIN || errno == EINTR))
					break;
				else
					runner_lost();	/* EOF: the daemon is gone */
			}
		} else if (pfd[k].fd == R->job[who[k]].out_fd)
			job_read(&R->job[who[k]], 16);
		else if (pfd[k].fd == R->job[who[k]].in_fd)
			job_write(&R->job[who[k]]);
	}
	runner_reap();
	now = now_ms();
	for (i = 0; i < HOOK_QUEUE_MAX; i++) {
		struct rjob *j = &R->job[i];
		if (j->state != J_RUNNING)
			continue;
		if (!j->termed && now >= j->deadline) {
			j->timed_out = 1;
			job_term(j, now);
		} else if (j->termed && !j->killed && now >= j->kill_at) {
			job_signal(j, SIGKILL);
			j->killed = 1;
		}
	}
}

/* The runner process: set up, say ready, serve until the daemon goes. Never returns. */
static void __attribute__((noreturn))
runner_main(int sock, const struct runner_conf *rc)
{
	static const int ignored[] = { SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2,
	    SIGTSTP, SIGTTIN, SIGTTOU };
	const char *what = NULL;
	sigset_t mask;
	size_t i;
	int fd, sig, devnull;

	/* Its own session: the terminal's ^C and hangup, and signals to the daemon's process
	 * group, are for the daemon; the runner follows the daemon through the socket. */
	(void)setsid();
	(void)prctl(PR_SET_NAME, "rangewatch-hook", 0, 0, 0);
	for (sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	for (i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
		(void)signal(ignored[i], SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	/* a backstop for EOF: the daemon's death reads as SIGTERM; and orphaned grandchildren
	 * of hooks come to us to be reaped */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) == -1 || getppid() != rc->parent)
		_exit(1);
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

	/* no descriptor but the socket and stdio (stdin, stdout: /dev/null) */
	if ((fd = fcntl(sock, F_DUPFD_CLOEXEC, 3)) == -1)
		_exit(1);
	if (sock != fd)
		close(sock);
	sock = fd;
	close_all_but(sock);
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		_exit(1);
	(void)dup2(devnull, 0);
	(void)dup2(devnull, 1);
	if (fcntl(2, F_GETFD) == -1)
		(void)dup2(devnull, 2);
	if (devnull > 2)
		close(devnull);

	if ((R = calloc(1, sizeof *R)) == NULL)
		_exit(1);
	R->sock = sock;
	R->self = getpid();
	R->can_kill = !rc->as_root || have_cap_kill();
	R->path = rc->path;
	R->as_root = rc->as_root;
	R->uid = rc->uid;
	R->gid = rc->gid;
	R->timeout_ms = (int64_t)rc->timeout_s * 1000;
	R->config = rc->config[0] ? rc->config : NULL;
	R->dry_run = rc->dry_run;
	R->max_hour = rc->max_hour;
	R->recv = -1;
	pktq_init(&R->outq);
	for (i = 0; i < HOOK_QUEUE_MAX; i++)
		R->job[i].in_fd = R->job[i].out_fd = -1;
	if ((R->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		what = "signalfd";
	else if (set_nonblock(sock) == -1)
		what = "socket";
	if (what != NULL) {
		char msg[128];
		snprintf(msg, sizeof msg, "hook runner: %s: %s", what, strerror(errno));
		runner_send(json_pack("{s:s, s:s}", "type", "error", "error", msg));
		_exit(1);
	}
	runner_send(json_pack("{s:s, s:i}", "type", "ready", "v", HOOK_PROTO_VERSION));
	for (;;)
		runner_turn();
}

/* ================================================================== the daemon's side */

struct hook_runner {
	pid_t pid;
	int fd;
	struct loop *loop;
	hook_done_cb done;
	void *arg;
	uint64_t next_job;
	uint64_t pending[HOOK_QUEUE_MAX];
	size_t npending;
	struct pktq outq;
	int dispatching;	/* inside on_sock: a free is deferred to its end */
	int free_pending;
	char *buf;		/* HOOK_MSG_MAX bytes for one packet */
	char path[PATH_MAX];
};

/* As root, the hook and every folder above it must be root's and writable by nobody else
 * (a sticky folder like /tmp is fine: others cannot rename or remove root's entries in it),
 * so that the daemon's user, or anyone, cannot change what runs. */
static int
check_path(const char *path, int as_root, char *real, char *err, size_t errlen)
{
	struct stat sb;
	char dir[PATH_MAX], *slash;

	if (path == NULL || path[0] != '/') {
		snprintf(err, errlen, "hook %s: must be an absolute path", path ? path : "(none)");
		return -1;
	}
	if (realpath(path, real) == NULL || stat(real, &sb) == -1) {
		snprintf(err, errlen, "hook %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode) || (sb.st_mode & 0111) == 0 || access(real, X_OK) == -1) {
		snprintf(err, errlen, "hook %s: not an executable regular file", real);
		return -1;
	}
	if (!as_root)
		return 0;
	if (sb.st_uid != 0 || (sb.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(err, errlen, "hook %s: must be owned by root and not writable by group "
		    "or others (it is %s, mode %04o)", real, sb.st_uid ? "not root's" : "root's",
		    (unsigned)(sb.st_mode & 07777));
		return -1;
	}
	snprintf(dir, sizeof dir, "%s", real);
	while ((slash = strrchr(dir, '/')) != NULL) {
		slash[slash == dir] = '\0';	/* "/a/b" -> "/a", "/a" -> "/" */
		if (stat(dir, &sb) == -1 || sb.st_uid != 0 ||
		    ((sb.st_mode & (S_IWGRP | S_IWOTH)) && !(sb.st_mode & S_ISVTX))) {
			snprintf(err, errlen, "hook %s: its folder %s must be owned by root and "
			    "not writable by group or others", real, dir);
			return -1;
		}
		if (strcmp(dir, "/") == 0)
			break;
	}
	return 0;
}

/* Waits (blocking, bounded) for the runner's first packet. */
static int
wait_ready(struct hook_runner *h, char *err, size_t errlen)
{
	struct pollfd p = { h->fd, POLLIN, 0 };
	int64_t until = now_ms() + START_WAIT_MS, left;
	const char *type = NULL, *msg = NULL;
	json_t *o;
	ssize_t n;
	int v = 0, rc = -1;

	for (;;) {
		if ((left = until - now_ms()) <= 0) {
			snprintf(err, errlen, "hook runner: no answer at start");
			return -1;
		}
		if (poll(&p, 1, (int)left) == 1)
			break;
	}
	if ((n = recv_packet(h->fd, h->buf)) <= 0) {
		snprintf(err, errlen, "hook runner: exited at start");
		return -1;
	}
	o = json_loadb(h->buf, (size_t)n, 0, NULL);
	json_unpack(o, "{s:s, s?i, s?s}", "type", &type, "v", &v, "error", &msg);
	if (type != NULL && strcmp(type, "ready") == 0 && v == HOOK_PROTO_VERSION)
		rc = 0;
	else
		snprintf(err, errlen, "%s", msg != NULL ? msg : "hook runner: bad answer at start");
	json_decref(o);
	return rc;
}

/* Reaps the runner: waits up to ms, then kills it. */
static void
reap_runner(struct hook_runner *h, int ms)
{
	int64_t until = now_ms() + ms;
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int status;
	pid_t r;

	if (h->pid <= 0)
		return;
	for (;;) {
		r = waitpid(h->pid, &status, WNOHANG);
		if (r == h->pid || (r == -1 && errno != EINTR))
			break;
		if (now_ms() >= until) {
			log_warnx("hook runner (pid %ld) did not exit: killed", (long)h->pid);
			kill(h->pid, SIGKILL);
			while (waitpid(h->pid, &status, 0) == -1 && errno == EINTR)
				;
			break;
		}
		nanosleep(&ts, NULL);
	}
	h->pid = -1;
}

struct hook_runner *
hook_runner_start(const char *path, const char *user, unsigned timeout_s, char *err,
    size_t errlen)
{
	return hook_runner_start_policy(path, user, timeout_s, NULL, err, errlen);
}

struct hook_runner *
hook_runner_start_policy(const char *path, const char *user, unsigned timeout_s,
    const struct hook_policy *pol, char *err, size_t errlen)
{
	struct passwd *dpw;
	uid_t duid = 0;
	int have_duid = 0;
	struct hook_runner *h = NULL;
	struct runner_conf rc;
	struct passwd *pw;
	int sv[2] = { -1, -1 };
	pid_t pid;

	memset(&rc, 0, sizeof rc);
	rc.as_root = geteuid() == 0;
	if (timeout_s < 1 || timeout_s > HOOK_TIMEOUT_MAX) {
		snprintf(err, errlen, "hook timeout must be 1-%d seconds", HOOK_TIMEOUT_MAX);
		return NULL;
	}
	if ((h = calloc(1, sizeof *h)) == NULL || (h->buf = malloc(HOOK_MSG_MAX)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	h->pid = -1;
	h->fd = -1;
	h->next_job = 1;
	pktq_init(&h->outq);
	if (check_path(path, rc.as_root, h->path, err, errlen) == -1)
		goto fail;
	if (pol != NULL && pol->daemon_user != NULL && pol->daemon_user[0] != '\0' &&
	    (dpw = getpwnam(pol->daemon_user)) != NULL) {
		duid = dpw->pw_uid;	/* copied: getpwnam's buffer is used again below */
		have_duid = 1;
	}
	if (rc.as_root) {
		if (user == NULL || user[0] == '\0')
			user = "nobody";
		if ((pw = getpwnam(user)) == NULL) {
			snprintf(err, errlen, "hook user '%s': no such user", user);
			goto fail;
		}
		if (pw->pw_uid == 0 || pw->pw_gid == 0) {
			snprintf(err, errlen, "hook user '%s' is root (or in group 0): hooks run "
			    "as an unprivileged user", user);
			goto fail;
		}
		rc.uid = pw->pw_uid;
		rc.gid = pw->pw_gid;
		if (have_duid && duid == rc.uid) {
			snprintf(err, errlen, "hook user '%s' is the daemon's own user (uid %lu): "
			    "hooks run as a user of their own", user, (unsigned long)duid);
			goto fail;
		}
	}
	if (pol != NULL) {
		rc.dry_run = pol->dry_run != 0;
		rc.max_hour = pol->max_per_hour;
		if (pol->config != NULL && (pol->config[0] != '/' ||
		    snprintf(rc.config, sizeof rc.config, "%s", pol->config) >=
		    (int)sizeof rc.config)) {
			snprintf(err, errlen, "hook runner: the config path must be absolute");
			goto fail;
		}
	}
	rc.path = h->path;
	rc.timeout_s = timeout_s;
	rc.parent = getpid();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		snprintf(err, errlen, "hook runner: socketpair: %s", strerror(errno));
		goto fail;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "hook runner: fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		close(sv[0]);
		runner_main(sv[1], &rc);
	}
	close(sv[1]);
	sv[1] = -1;
	h->pid = pid;
	h->fd = sv[0];
	sv[0] = -1;
	if (wait_ready(h, err, errlen) == -1)
		goto fail;
	if (set_nonblock(h->fd) == -1) {
		snprintf(err, errlen, "hook runner: %s", strerror(errno));
		goto fail;
	}
	return h;
fail:
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	if (h != NULL) {
		if (h->fd != -1)
			close(h->fd);
		if (h->pid > 0) {
			kill(h->pid, SIGKILL);
			reap_runner(h, 0);
		}
		free(h->buf);
		free(h);
	}
	return NULL;
}

static void on_sock(void *arg, int fd, short revents);

/* Watches the socket for results, and for room while packets wait. */
static void
update_watch(struct hook_runner *h)
{
	if (h->loop != NULL && h->fd != -1 &&
	    loop_fd(h->loop, h->fd, (short)(POLLIN | (h->outq.head != NULL ? POLLOUT : 0)),
	    on_sock, h) == -1)
		log_warnx("hook runner: out of memory");
}

static void
really_free(struct hook_runner *h)
{
	if (h->fd != -1) {
		if (h->loop != NULL)
			loop_fd_del(h->loop, h->fd);
		close(h->fd);	/* the runner reads EOF, ends its hooks and exits */
	}
	reap_runner(h, FREE_WAIT_MS);
	pktq_clear(&h->outq);
	free(h->buf);
	free(h);
}

/* Calls done for one result; 0 when the caller may go on dispatching. */
static int
deliver(struct hook_runner *h, const struct hook_result *r)
{
	size_t i;

	for (i = 0; i < h->npending; i++)
		if (h->pending[i] == r->job)
			break;
	if (i == h->npending) {
		log_warnx("hook runner: result for no pending job %llu%s%s",
		    (unsigned long long)r->job, r->error ? ": " : "", r->error ? r->error : "");
		return 0;
	}
	h->pending[i] = h->pending[--h->npending];
	if (h->done != NULL)
		h->done(h->arg, r);
	return h->free_pending ? -1 : 0;
}

/* The runner is gone: every pending job ends with an error. */
static void
runner_gone(struct hook_runner *h, const char *why)
{
	struct hook_result r;

	log_warnx("hook runner: %s", why);
	if (h->loop != NULL)
		loop_fd_del(h->loop, h->fd);
	close(h->fd);
	h->fd = -1;
	pktq_clear(&h->outq);
	reap_runner(h, 1000);
	while (h->npending > 0 && !h->free_pending) {
		memset(&r, 0, sizeof r);
		r.job = h->pending[h->npending - 1];
		r.exit_code = -1;
		r.output = "";
		r.error = why;
		(void)deliver(h, &r);
	}
}

/* One result packet from the runner. */
static int
on_packet(struct hook_runner *h, const char *buf, size_t len)
{
	char out[4 * HOOK_OUTPUT_MAX + 128], errtext[512];
	const char *type, *output, *error = NULL;
	json_int_t job, dur, dropped;
	struct hook_result r;
	size_t outlen;
	json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	int rc = 0;

	memset(&r, 0, sizeof r);
	if (json_unpack_ex(o, NULL, JSON_STRICT, "{s:s, s:I, s:i, s:i, s:b, s:I, s:s%, s:I, "
	    "s?s}", "type", &type, "job", &job, "exit", &r.exit_code, "signal", &r.signal,
	    "timed_out", &r.timed_out, "duration_ms", &dur, "output", &output, &outlen,
	    "dropped", &dropped, "error", &error) == -1 || strcmp(type, "result") != 0 ||
	    job < 0 || dropped < 0) {
		log_warnx("hook runner: a malformed packet was dropped");
		json_decref(o);
		return 0;
	}
	r.job = (uint64_t)job;
	r.duration_ms = dur;
	r.output_dropped = (uint64_t)dropped;
	/* the runner escapes; this only makes sure */
	if (text_is_clean(output, outlen))
		r.output = output;
	else {
		text_escape(out, sizeof out, output, outlen);
		r.output = out;
	}
	if (error != NULL) {
		text_escape(errtext, sizeof errtext, error, strlen(error));
		r.error = errtext;
	}
	rc = deliver(h, &r);
	json_decref(o);
	return rc;
}

static void
on_sock(void *arg, int fd, short revents)
{
	struct hook_runner *h = arg;
	ssize_t n;
	int i;

	(void)fd;
	h->dispatching++;
	if ((revents & POLLOUT) && pktq_flush(&h->outq, h->fd) == -1)
		runner_gone(h, "the hook runner exited");
	for (i = 0; i < 32 && h->fd != -1 && !h->free_pending &&
	    (revents & (POLLIN | POLLHUP | POLLERR)); i++) {
		n = recv_packet(h->fd, h->buf);
		if (n > 0) {
			if (on_packet(h, h->buf, (size_t)n) == -1)
				break;
		} else if (n == -1 && errno == EMSGSIZE)
			log_warnx("hook runner: a packet too big was dropped");
		else if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			break;
		else
			runner_gone(h, n == 0 ? "the hook runner exited" : strerror(errno));
	}
	h->dispatching--;
	if (h->free_pending && h->dispatching == 0) {
		really_free(h);
		return;
	}
	update_watch(h);
}

int
hook_runner_attach(struct hook_runner *h, struct loop *l, hook_done_cb done, void *arg)
{
	h->loop = l;
	h->done = done;
	h->arg = arg;
	if (h->fd == -1)
		return 0;
	return loop_fd(l, h->fd, (short)(POLLIN | (h->outq.head != NULL ? POLLOUT : 0)),
	    on_sock, h);
}

/* A JSON string of at most HOOK_TEXT_MAX bytes of s, cut on a character boundary. */
static json_t *
text_cut(const char *s)
{
	char buf[HOOK_TEXT_MAX + 1];
	size_t n = s != NULL ? strlen(s) : 0;

	if (n > HOOK_TEXT_MAX) {
		n = HOOK_TEXT_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	if (n > 0)
		memcpy(buf, s, n);
	buf[n] = '\0';
	return text_json(buf);
}

int
hook_submit(struct hook_runner *h, const struct hook_request *rq, uint64_t *job, char *err,
    size_t errlen)
{
	const char *ev = rq->evidence_json != NULL ? rq->evidence_json : "{}";
	size_t evlen = strlen(ev), off, n, before = h->outq.n;
	char why[160], canon[IPS_LEN], canon_c[CIDRS_LEN];
	json_error_t je;
	json_t *doc, *o;
	uint64_t id;

	if (h->fd == -1) {
		snprintf(err, errlen, "the hook runner is not running");
		return -1;
	}
	if (h->npending >= HOOK_QUEUE_MAX) {
		snprintf(err, errlen, "%d hook runs are already waiting", HOOK_QUEUE_MAX);
		return -1;
	}
	if (check_fields(rq->action, rq->customer_id, rq->level ? rq->level : "",
	    rq->event_id ? rq->event_id : "", rq->operator, why, sizeof why) == -1 ||
	    canon_ips(rq->ips, canon, why, sizeof why) == -1 ||
	    canon_cidrs(rq->cidrs, canon_c, why, sizeof why) == -1) {
		snprintf(err, errlen, "hook: %s", why);
		return -1;
	}
	if (evlen > HOOK_EVIDENCE_MAX) {
		snprintf(err, errlen, "hook: the evidence is %zu bytes, more than %d", evlen,
		    HOOK_EVIDENCE_MAX);
		return -1;
	}
	if ((doc = json_loadb(ev, evlen, JSON_DECODE_ANY, &je)) == NULL) {
		snprintf(err, errlen, "hook: the evidence is not one JSON document: %s", je.text);
		return -1;
	}
	json_decref(doc);
	id = h->next_job++;
	o = json_pack("{s:s, s:I, s:s, s:s, s:o, s:s, s:s, s:o, s:s, s:b, s:I}", "type", "run",
	    "job", (json_int_t)id, "action", rq->action, "customer_id", rq->customer_id,
	    "customer_name", text_cut(rq->customer_name), "ips", canon, "level",
	    rq->level ? rq->level : "", "reason", text_cut(rq->reason), "event_id",
	    rq->event_id ? rq->event_id : "", "dry_run", rq->dry_run != 0, "evidence_len",
	    (json_int_t)evlen);
	if (o != NULL && (json_object_set_new(o, "cidrs", json_string(canon_c)) == -1 ||
	    json_object_set_new(o, "ips_truncated", json_boolean(rq->ips_truncated)) == -1 ||
	    json_object_set_new(o, "cidrs_truncated", json_boolean(rq->cidrs_truncated)) == -1)) {
		json_decref(o);
		o = NULL;
	}
	if (o != NULL && rq->operator != NULL &&
	    json_object_set_new(o, "operator", json_string(rq->operator)) == -1) {
		json_decref(o);
		o = NULL;
	}
	if (pktq_push(&h->outq, o) == -1)
		goto nomem;
	/* the evidence is valid JSON, so valid UTF-8: cut it on character boundaries */
	for (off = 0; off < evlen; off += n) {
		n = evlen - off < HOOK_CHUNK ? evlen - off : HOOK_CHUNK;
		while (off + n < evlen && n > 1 && ((unsigned char)ev[off + n] & 0xc0) == 0x80)
			n--;
		if (pktq_push(&h->outq, json_pack("{s:s, s:I, s:s%}", "type", "evidence", "job",
		    (json_int_t)id, "data", ev + off, n)) == -1)
			goto nomem;
	}
	h->pending[h->npending++] = id;
	*job = id;
	/* sent from the loop (POLLOUT), never from here: the caller's transaction that
	 * audits the run (a store hold) commits before the runner hears of it. When the
	 * runner is gone the socket reads EOF: the job ends with an error from the loop,
	 * like every other pending one */
	update_watch(h);
	return 0;
nomem:
	/* take back this job's packets: the queue held `before` packets */
	while (h->outq.n > before) {
		struct pkt **pp = &h->outq.head, *p;
		while ((*pp)->next != NULL)
			pp = &(*pp)->next;
		p = *pp;
		*pp = NULL;
		h->outq.tail = pp;
		h->outq.n--;
		free(p);
	}
	snprintf(err, errlen, "hook: out of memory");
	return -1;
}

size_t
hook_pending(const struct hook_runner *h)
{
	return h != NULL ? h->npending : 0;
}

pid_t
hook_runner_pid(const struct hook_runner *h)
{
	return h != NULL ? h->pid : -1;
}

void
hook_runner_free(struct hook_runner *h)
{
	if (h == NULL)
		return;
	if (h->dispatching > 0) {	/* from a done callback: on_sock frees on its way out */
		h->free_pending = 1;
		return;
	}
	really_free(h);
}
