/*
 * test_hook.c — the suspend hook through a real runner process and real hook scripts in a
 * temporary folder, driven by loop_once: argv and the whole environment exact (nothing of
 * ours leaks), the evidence byte-exact on stdin, the user switch to nobody (when run as
 * root), timeouts (SIGTERM to the group, SIGKILL after the grace, a background grandchild
 * killed too), output bounded and escaped, exit codes, no inherited descriptor, 12 jobs
 * with at most 8 at once, hostile text arriving as data, the runner refusing bad requests
 * sent to it raw, the runner's end (closed socket, SIGTERM) ending its hooks, and the
 * checks hook_runner_start makes on the hook's path and user.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>

#include <cmocka.h>
#include <jansson.h>

#include "hook.h"
#include "loop.h"
#include "text.h"
#include "testfiles.h"

static char dir[64];		/* the hooks: root's, 0755 */
static char out[96];		/* where hooks write: 0777 */
static char *realdir;
static struct loop *L;

struct got {
	uint64_t job;
	int exit_code, sig, timed_out;
	int64_t duration_ms;
	char *output;
	uint64_t dropped;
	char *error;
};

static struct got got[64];
static size_t ngot;

static void
on_done(void *arg, const struct hook_result *r)
{
	struct got *g;

	(void)arg;
	assert_true(ngot < sizeof got / sizeof got[0]);
	g = &got[ngot++];
	g->job = r->job;
	g->exit_code = r->exit_code;
	g->sig = r->signal;
	g->timed_out = r->timed_out;
	g->duration_ms = r->duration_ms;
	g->output = strdup(r->output);
	g->dropped = r->output_dropped;
	g->error = r->error ? strdup(r->error) : NULL;
	assert_non_null(g->output);
}

static void
got_clear(void)
{
	size_t i;

	for (i = 0; i < ngot; i++) {
		free(got[i].output);
		free(got[i].error);
	}
	memset(got, 0, sizeof got);
	ngot = 0;
}

static struct got *
got_job(uint64_t job)
{
	size_t i;

	for (i = 0; i < ngot; i++)
		if (got[i].job == job)
			return &got[i];
	return NULL;
}

/* Runs the loop until n results came, at most ms. */
static void
wait_results(size_t n, int ms)
{
	int64_t until = loop_now_ms() + ms;

	while (ngot < n && loop_now_ms() < until)
		assert_int_equal(loop_once(L, 100), 0);
	assert_int_equal(ngot, n);
}

/* Writes a hook script NAME with body into the hooks' folder; its path (static). */
static const char *
script(const char *name, const char *body)
{
	static char path[8][160];
	static int k;
	char *p = path[k++ % 8], text[4096];

	snprintf(p, sizeof path[0], "%s/%s", realdir, name);
	snprintf(text, sizeof text, "#!/bin/sh\n%s", body);
	write_file(p, text, 0);
	assert_int_equal(chmod(p, 0755), 0);
	return p;
}

static struct hook_runner *
start(const char *path, unsigned timeout)
{
	char err[256] = "";
	struct hook_runner *h = hook_runner_start(path, "nobody", timeout, err, sizeof err);

	if (h == NULL)
		fail_msg("hook_runner_start: %s", err);
	assert_int_equal(hook_runner_attach(h, L, on_done, NULL), 0);
	return h;
}

static void
request(struct hook_request *rq, const char *action, const char *cid)
{
	memset(rq, 0, sizeof *rq);
	rq->action = action;
	rq->customer_id = cid;
	rq->customer_name = "Acme";
	rq->ips = "192.0.2.1";
	rq->level = "act";
	rq->reason = "listed";
	rq->event_id = "ev-1";
	rq->evidence_json = "{}";
}

static uint64_t
submit(struct hook_runner *h, const struct hook_request *rq)
{
	char err[256] = "";
	uint64_t job = 0;

	if (hook_submit(h, rq, &job, err, sizeof err) == -1)
		fail_msg("hook_submit: %s", err);
	return job;
}

/* What the runner makes of raw output: trailing newlines off, escaped. */
static char *
escaped(const char *raw, size_t len)
{
	static char buf[65536];

	while (len > 0 && (raw[len - 1] == '\n' || raw[len - 1] == '\r'))
		len--;
	text_escape(buf, sizeof buf, raw, len);
	return buf;
}

/* A file's first line as a pid (0 when it is not there yet). */
static pid_t
read_pid(const char *name)
{
	char path[160], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", out, name);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fgets(buf, sizeof buf, f) == NULL)
		buf[0] = '\0';
	fclose(f);
	return (pid_t)strtol(buf, NULL, 10);
}

/* 1 when pid is gone (or a zombie nobody has reaped yet), waiting up to ms for it. */
static int
dead(pid_t pid, int ms)
{
	int64_t until = loop_now_ms() + ms;
	char path[64], buf[256];
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	FILE *f;
	char *p;

	for (;;) {
		snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
		if ((f = fopen(path, "r")) == NULL)
			return 1;
		p = fgets(buf, sizeof buf, f);
		fclose(f);
		if (p != NULL && (p = strrchr(buf, ')')) != NULL && p[1] == ' ' && p[2] == 'Z')
			return 1;
		if (loop_now_ms() >= until)
			return 0;
		nanosleep(&ts, NULL);
	}
}

static int
exists(const char *name)
{
	char path[160];

	snprintf(path, sizeof path, "%s/%s", out, name);
	return access(path, F_OK) == 0;
}

static int
setup(void **state)
{
	(void)state;
	if (testdir_make(dir, sizeof dir, "hook") == -1 || chmod(dir, 0755) == -1 ||
	    (realdir = realpath(dir, NULL)) == NULL)
		return -1;
	snprintf(out, sizeof out, "%s/out", realdir);
	if (mkdir(out, 0777) == -1 || chmod(out, 0777) == -1)
		return -1;
	setenv("FOO", "bar", 1);	/* must not reach a hook */
	L = loop_new();
	got_clear();
	return L != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	got_clear();
	loop_free(L);
	testdir_remove(dir);
	free(realdir);
	return 0;
}

/* ------------------------------------------------------------------ the contract */

static void
test_argv_env(void **state)
{
	const char *p = script("env.sh", "printf '%s|' \"$#\" \"$0\" \"$@\"\n"
	    "tr '\\0' '\\n' < /proc/$$/environ\n");
	struct hook_runner *h = start(p, 10);
	struct hook_request rq;
	char want[4096];
	uint64_t a, b;

	(void)state;
	request(&rq, "suspend", "C-42");
	rq.customer_name = "Acme\nCorp\x1b \xc3\xbc";
	rq.ips = " 192.0.2.1  2001:DB8:0::1 ";
	rq.reason = "spam run; listed on 2 lists";
	rq.event_id = "ev-7";
	rq.operator = "alice";
	rq.dry_run = 1;
	a = submit(h, &rq);
	request(&rq, "test", "7");
	rq.ips = "";
	rq.level = "";
	rq.event_id = NULL;
	b = submit(h, &rq);
	assert_int_equal(hook_pending(h), 2);
	wait_results(2, 5000);
	assert_int_equal(hook_pending(h), 0);

	snprintf(want, sizeof want, "2|%s|suspend|C-42|"
	    "PATH=/usr/sbin:/usr/bin:/sbin:/bin\nLANG=C.UTF-8\nRANGEWATCH_ACTION=suspend\n"
	    "RANGEWATCH_CUSTOMER_ID=C-42\nRANGEWATCH_CUSTOMER_NAME=Acme\\x0aCorp\\x1b \xc3\xbc\n"
	    "RANGEWATCH_IPS=192.0.2.1 2001:db8::1\nRANGEWATCH_CIDRS=\nRANGEWATCH_LEVEL=act\n"
	    "RANGEWATCH_REASON=spam run; listed on 2 lists\nRANGEWATCH_EVENT_ID=ev-7\n"
	    "RANGEWATCH_DRY_RUN=1\nRANGEWATCH_OPERATOR=alice\n", p);
	assert_string_equal(got_job(a)->output, escaped(want, strlen(want)));
	assert_int_equal(got_job(a)->exit_code, 0);
	assert_int_equal(got_job(a)->sig, 0);
	assert_false(got_job(a)->timed_out);
	assert_null(got_job(a)->error);

	/* automatic (no operator), no addresses, no event: the variables are there, empty */
	snprintf(want, sizeof want, "2|%s|test|7|"
	    "PATH=/usr/sbin:/usr/bin:/sbin:/bin\nLANG=C.UTF-8\nRANGEWATCH_ACTION=test\n"
	    "RANGEWATCH_CUSTOMER_ID=7\nRANGEWATCH_CUSTOMER_NAME=Acme\nRANGEWATCH_IPS=\nRANGEWATCH_CIDRS=\n"
	    "RANGEWATCH_LEVEL=\nRANGEWATCH_REASON=listed\nRANGEWATCH_EVENT_ID=\n"
	    "RANGEWATCH_DRY_RUN=0\n", p);
	assert_string_equal(got_job(b)->output, escaped(want, strlen(want)));
	assert_null(strstr(got_job(b)->output, "FOO"));
	hook_runner_free(h);
}

/* The request leaves from the loop, never from hook_submit: the caller's open transaction
 * (the run's audit row, held with the level change that set it off) commits first, so no
 * hook starts that the audit log could lose. */
static void
test_submit_sends_from_loop(void **state)
{
	char body[256], mark[160];
	const char *p;
	struct hook_runner *h;
	struct hook_request rq;
	struct timespec ts = { 0, 300 * 1000 * 1000 };

	(void)state;
	snprintf(mark, sizeof mark, "%s/ran", out);
	snprintf(body, sizeof body, "echo ran > %s\n", mark);
	p = script("mark.sh", body);
	h = start(p, 10);
	request(&rq, "test", "1");
	submit(h, &rq);
	nanosleep(&ts, NULL);		/* the runner would have started it by now */
	assert_int_equal(access(mark, F_OK), -1);
	wait_results(1, 5000);
	assert_int_equal(got[0].exit_code, 0);
	assert_int_equal(access(mark, F_OK), 0);
	hook_runner_free(h);
}

static void
test_user(void **state)
{
	const char *p = script("id.sh", "pwd; id -u; id -g; id -G\n");
	struct hook_runner *h = start(p, 10);
	struct hook_request rq;
	char want[128];
	const char *w;

	(void)state;
	request(&rq, "test", "1");
	submit(h, &rq);
	wait_results(1, 5000);
	if (geteuid() == 0) {	/* as root, the hook runs as nobody, no other group */
		w = escaped("/\n65534\n65534\n65534\n", 20);
		assert_string_equal(got[0].output, w);
	} else {		/* else as ourselves (supplementary groups vary) */
		snprintf(want, sizeof want, "/\n%ld\n%ld\n", (long)getuid(), (long)getgid());
		w = escaped(want, strlen(want));
		assert_memory_equal(got[0].output, w, strlen(w));
	}
	hook_runner_free(h);
}

static void
test_stdin(void **state)
{
	char body[256], path[160], *ev, *back;
	const char *p;
	struct hook_runner *h;
	struct hook_request rq;
	size_t len = 0, cap = 400 * 1024, n;
	FILE *f;
	int i;

	(void)state;
	snprintf(body, sizeof body, "cat > %s/stdin.json; echo got\n", out);
	p = script("stdin.sh", body);
	h = start(p, 10);
	/* about 300 KiB (ten packets) with multibyte characters across the cuts */
	ev = malloc(cap);
	assert_non_null(ev);
	len += (size_t)snprintf(ev + len, cap - len, "{\"evidence\": [");
	for (i = 0; len < 300 * 1024; i++)
		len += (size_t)snprintf(ev + len, cap - len, "%s\"line %d: \\\"q\\\" \\\\ "
		    "\xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80 \\n tab\\t\"", i ? ", " : "", i);
	len += (size_t)snprintf(ev + len, cap - len, "],\n \"score\": 7.5}\n");
	request(&rq, "suspend", "C1");
	rq.evidence_json = ev;
	submit(h, &rq);
	wait_results(1, 5000);
	assert_string_equal(got[0].output, "got");
	snprintf(path, sizeof path, "%s/stdin.json", out);
	f = fopen(path, "rb");
	assert_non_null(f);
	back = malloc(cap);
	n = fread(back, 1, cap, f);
	fclose(f);
	assert_int_equal(n, len);
	assert_memory_equal(back, ev, len);

	/* no evidence given: "{}" */
	request(&rq, "test", "C1");
	rq.evidence_json = NULL;
	submit(h, &rq);
	wait_results(2, 5000);
	f = fopen(path, "rb");
	assert_non_null(f);
	n = fread(back, 1, cap, f);
	fclose(f);
	assert_int_equal(n, 2);
	assert_memory_equal(back, "{}", 2);
	free(back);
	free(ev);
	hook_runner_free(h);
}

static void
test_timeout(void **state)
{
	char body[256];
	const char *p;
	struct hook_runner *h;
	struct hook_request rq;
	pid_t gc;

	(void)state;
	snprintf(body, sizeof body, "sleep 30 & echo $! > %s/gc.pid\nsleep 30\necho never\n",
	    out);
	p = script("sleep.sh", body);
	h = start(p, 1);
	request(&rq, "suspend", "C1");
	submit(h, &rq);
	wait_results(1, 5000);
	assert_true(got[0].timed_out);
	assert_int_equal(got[0].sig, SIGTERM);
	assert_int_equal(got[0].exit_code, -1);
	assert_true(got[0].duration_ms >= 1000 && got[0].duration_ms < 2500);
	assert_string_equal(got[0].output, "");
	gc = read_pid("gc.pid");
	assert_true(gc > 0);
	assert_true(dead(gc, 3000));	/* the background sleep, same process group */
	hook_runner_free(h);
}

static void
test_timeout_kill(void **state)
{
	const char *p = script("stubborn.sh", "trap '' TERM\necho started\nsleep 30\n");
	struct hook_runner *h = start(p, 1);
	struct hook_request rq;

	(void)state;
	request(&rq, "suspend", "C1");
	submit(h, &rq);
	wait_results(1, 8000);
	assert_true(got[0].timed_out);
	assert_int_equal(got[0].sig, SIGKILL);	/* SIGTERM ignored: SIGKILL after the grace */
	assert_true(got[0].duration_ms >= 1000 + HOOK_KILL_GRACE_MS - 50);
	assert_true(got[0].duration_ms < 1000 + HOOK_KILL_GRACE_MS + 1500);
	assert_string_equal(got[0].output, "started");
	hook_runner_free(h);
}

static void
test_output_bound(void **state)
{
	const char *p = script("big.sh", "head -c 20000 /dev/zero | tr '\\0' a\n");
	struct hook_runner *h = start(p, 10);
	struct hook_request rq;
	char want[HOOK_OUTPUT_MAX + 64];

	(void)state;
	request(&rq, "suspend", "C1");
	submit(h, &rq);
	wait_results(1, 5000);
	memset(want, 'a', HOOK_OUTPUT_MAX);
	snprintf(want + HOOK_OUTPUT_MAX, 64, " [... %d more bytes dropped]",
	    20000 - HOOK_OUTPUT_MAX);
	assert_string_equal(got[0].output, want);
	assert_int_equal(got[0].dropped, 20000 - HOOK_OUTPUT_MAX);
	assert_int_equal(got[0].exit_code, 0);
	hook_runner_free(h);
}

static void
test_output_escaped(void **state)
{
	const char *p = script("esc.sh", "printf 'a\\033[31mb\\rc\\nd\\000e\\377f\\\\g\\n' >&2\n");
	struct hook_runner *h = start(p, 10);
	struct hook_request rq;

	(void)state;
	request(&rq, "suspend", "C1");
	submit(h, &rq);
	wait_results(1, 5000);
	assert_string_equal(got[0].output,
	    "a\\x1b[31mb\\x0dc\\x0ad\\x00e\\xfff\\\\g");
	assert_true(text_is_clean(got[0].output, strlen(got[0].output)));
	hook_runner_free(h);
}

static void
test_exit_codes(void **state)
{
	const char *p = script("exit.sh", "echo \"$1\"\ncase \"$1\" in suspend) exit 75;; "
	    "unsuspend) exit 3;; esac\nkill -USR1 $$\n");
	struct hook_runner *h = start(p, 10);
	struct hook_request rq;
	uint64_t a, b, c;

	(void)state;
	request(&rq, "suspend", "C1");
	a = submit(h, &rq);
	request(&rq, "unsuspend", "C1");
	b = submit(h, &rq);
	request(&rq, "test", "C1");
	c = submit(h, &rq);
	wait_results(3, 5000);
	assert_int_equal(got_job(a)->exit_code, HOOK_EX_TEMPFAIL);
	assert_string_equal(got_job(a)->output, "suspend");
	assert_int_equal(got_job(b)->exit_code, 3);
	assert_int_equal(got_job(b)->sig, 0);
	assert_int_equal(got_job(c)->exit_code, -1);	/* ended by a signal of its own */
	assert_int_equal(got_job(c)->sig, SIGUSR1);
	assert_false(got_job(c)->timed_out);
	hook_runner_free(h);
}

static void
test_no_fds(void **state)
{
	const char *p = script("fds.sh", "echo $(ls /proc/self/fd)\nls -l /proc/self/fd/ | "
	    "grep -c leak-marker\n");
	char path[160];
	struct hook_runner *h;
	struct hook_request rq;
	int fd;

	(void)state;
	snprintf(path, sizeof path, "%s/leak-marker", out);
	fd = open(path, O_RDWR | O_CREAT, 0644);	/* no O_CLOEXEC, before the fork */
	assert_true(fd >= 3);
	h = start(p, 10);
	request(&rq, "test", "C1");
	submit(h, &rq);
	wait_results(1, 5000);
	/* 0-2 and the folder ls itself opened */
	assert_string_equal(got[0].output, "0 1 2 3\\x0a0");
	close(fd);
	hook_runner_free(h);
}

static void
test_concurrent(void **state)
{
	const char *p = script("slow.sh", "sleep 0.5\necho \"$2\"\n");
	struct hook_runner *h = start(p, 10);
	struct hook_request rq;
	char ids[12][8];
	uint64_t job[12];
	int64_t t0 = loop_now_ms(), took;
	int i;

	(void)state;
	/* signals meant for the daemon (a ^C, a hangup) are not for the runner */
	assert_int_equal(kill(hook_runner_pid(h), SIGHUP), 0);
	assert_int_equal(kill(hook_runner_pid(h), SIGINT), 0);
	for (i = 0; i < 12; i++) {
		snprintf(ids[i], sizeof ids[i], "c%d", i);
		request(&rq, "suspend", ids[i]);
		job[i] = submit(h, &rq);
	}
	wait_results(12, 5000);
	took = loop_now_ms() - t0;
	for (i = 0; i < 12; i++) {
		assert_non_null(got_job(job[i]));
		assert_string_equal(got_job(job[i])->output, ids[i]);
		assert_int_equal(got_job(job[i])->exit_code, 0);
	}
	/* two waves: at most HOOK_JOBS_MAX at once, and they do run together */
	assert_true(took >= 950);
	assert_true(took < 2500);
	assert_true(hook_runner_pid(h) > 0);
	hook_runner_free(h);
}

static void
test_hostile_text(void **state)
{
	char reason[1024], name[256], canary[160];
	const char *p = script("echo.sh", "printf '%s\\n' \"$RANGEWATCH_REASON\" "
	    "\"$RANGEWATCH_CUSTOMER_NAME\" \"$2\"\n");
	struct hook_runner *h = start(p, 10);
	struct hook_request rq;
	char want[2048], err[256];
	uint64_t job;

	(void)state;
	/* Every way a shell would run text: if any ran, a marker appears or the canary goes.
	 * (An "rm -rf" that can only reach the canary, not "/": a broken build must not be
	 * able to do damage.) */
	snprintf(canary, sizeof canary, "%s/canary", out);
	write_file(canary, "x", 0);
	snprintf(reason, sizeof reason, "$(touch %s/m1); touch %s/m2; `touch %s/m3` | "
	    "touch %s/m4 && $(rm -rf %s) ${IFS}\"'", out, out, out, out, canary);
	snprintf(name, sizeof name, "x'; touch %s/m5; echo '", out);
	request(&rq, "suspend", "C1");
	rq.reason = reason;
	rq.customer_name = name;
	submit(h, &rq);
	wait_results(1, 5000);
	snprintf(want, sizeof want, "%s\n%s\nC1\n", reason, name);
	assert_string_equal(got[0].output, escaped(want, strlen(want)));
	assert_false(exists("m1") || exists("m2") || exists("m3") || exists("m4") ||
	    exists("m5"));
	assert_true(exists("canary"));

	/* what cannot be data is refused before it gets near the runner */
	request(&rq, "suspend", "-rf");
	assert_int_equal(hook_submit(h, &rq, &job, err, sizeof err), -1);
	assert_non_null(strstr(err, "customer_id"));
	request(&rq, "suspend", "a b");
	assert_int_equal(hook_submit(h, &rq, &job, err, sizeof err), -1);
	request(&rq, "suspend", "");
	assert_int_equal(hook_submit(h, &rq, &job, err, sizeof err), -1);
	request(&rq, "suspend", "$(id)");
	assert_int_equal(hook_submit(h, &rq, &job, err, sizeof err), -1);
	request(&rq, "reboot", "C1");
	assert_int_equal(hook_submit(h, &rq, &job, err, sizeof err), -1);
	assert_non_null(strstr(err, "action"));
	request(&rq, "suspend", "C1");
	rq.ips = "192.0.2.1;reboot";
	assert_int_equal(hook_submit(h, &rq, &job, err, sizeof err), -1);
	assert_non_null(strstr(err, "ips"));
	rq.ips = "999.0.2.1";
	assert_int_equal(hook_submit(h, &rq, &job, err, sizeof err), -1);
	rq.ips = "192.0.2.1/24";
	assert_int_equal(hook_submit(h, &rq, &job, err, sizeof err), -1);
	request(&rq, "suspend", "C1");
	rq.level = "act now";
	assert_int_equal(hook_submit(h, &rq, &job, err, sizeof err), -1);
	request(&rq, "suspend", "C1");
	rq.operator = "";
	assert_int_equal(hook_submit(h, &rq, &job, err, sizeof err), -1);
	request(&rq, "suspend", "C1");
	rq.evidence_json = "{\"a\": ";
	assert_int_equal(hook_submit(h, &rq, &job, err, sizeof err), -1);
	assert_non_null(strstr(err, "JSON"));
	rq.evidence_json = "{} {}";
	assert_int_equal(hook_submit(h, &rq, &job, err, sizeof err), -1);
	assert_int_equal(hook_pending(h), 0);
	hook_runner_free(h);
}

static void
test_evidence_bound(void **state)
{
	const char *p = script("true.sh", "cat >/dev/null\n");
	struct hook_runner *h = start(p, 10);
	struct hook_request rq;
	char err[256], *ev = malloc(HOOK_EVIDENCE_MAX + 8);
	uint64_t job;

	(void)state;
	assert_non_null(ev);
	memset(ev, ' ', HOOK_EVIDENCE_MAX + 1);
	memcpy(ev, "{}", 2);
	ev[HOOK_EVIDENCE_MAX + 1] = '\0';
	request(&rq, "suspend", "C1");
	rq.evidence_json = ev;
	assert_int_equal(hook_submit(h, &rq, &job, err, sizeof err), -1);
	assert_non_null(strstr(err, "more than"));
	ev[HOOK_EVIDENCE_MAX] = '\0';	/* exactly the bound: taken */
	submit(h, &rq);
	wait_results(1, 5000);
	assert_int_equal(got[0].exit_code, 0);
	free(ev);
	hook_runner_free(h);
}

/* ------------------------------------------------------------------ the runner itself */

/* The newest runner's socket in this process (the last SOCK_SEQPACKET one). */
static int
runner_fd(void)
{
	int fd, type;
	socklen_t len;

	for (fd = 1023; fd >= 3; fd--) {
		len = sizeof type;
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
		    type == SOCK_SEQPACKET)
			return fd;
	}
	return -1;
}

static void
raw_send(int fd, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	assert_non_null(s);
	assert_int_equal(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
	free(s);
	json_decref(o);
}

/* The next result from the runner: its job, and its error (static) or NULL. */
static const char *
raw_result(int fd, json_int_t *job, int *exit_code)
{
	static char buf[HOOK_OUTPUT_MAX * 8], error[256];
	struct pollfd p = { fd, POLLIN, 0 };
	const char *type, *e = NULL;
	ssize_t n;
	json_t *o;

	assert_int_equal(poll(&p, 1, 5000), 1);
	n = recv(fd, buf, sizeof buf, 0);
	assert_true(n > 0);
	o = json_loadb(buf, (size_t)n, 0, NULL);
	assert_non_null(o);
	assert_int_equal(json_unpack(o, "{s:s, s:I, s:i, s?s}", "type", &type, "job", job,
	    "exit", exit_code, "error", &e), 0);
	assert_string_equal(type, "result");
	snprintf(error, sizeof error, "%s", e ? e : "");
	json_decref(o);
	return e ? error : NULL;
}

static json_t *
good_run(json_int_t job)
{
	return json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:I}", "type",
	    "run", "job", job, "action", "suspend", "customer_id", "C1", "customer_name", "n",
	    "ips", "192.0.2.1", "level", "act", "reason", "r", "event_id", "", "dry_run", 0,
	    "evidence_len", (json_int_t)0);
}

static void
test_runner_refuses(void **state)
{
	char body[256];
	const char *p, *e;
	struct hook_runner *h;
	json_int_t job;
	json_t *o;
	int fd, code, i;
	static const struct { const char *key; const char *val; } bad[] = {
		{ "action", "reboot" }, { "customer_id", "-x" }, { "customer_id", "a;b" },
		{ "ips", "192.0.2.1 ;" }, { "ips", "2001:DB8::1" }, { "level", "$(id)" },
		{ "event_id", "a b" }, { "operator", "" }, { "path", "/bin/sh" },
		{ "user", "root" },
	};

	(void)state;
	snprintf(body, sizeof body, "touch %s/ran\n", out);
	p = script("marker.sh", body);
	{
		char err[256];
		h = hook_runner_start(p, "nobody", 10, err, sizeof err);	/* not attached */
		assert_non_null(h);
	}
	fd = runner_fd();
	assert_true(fd >= 0);

	/* a field with a value it must not have, or a field it does not know: refused */
	for (i = 0; i < (int)(sizeof bad / sizeof bad[0]); i++) {
		o = good_run(100 + i);
		json_object_set_new(o, bad[i].key, json_string(bad[i].val));
		raw_send(fd, o);
		e = raw_result(fd, &job, &code);
		assert_non_null(e);
		assert_int_equal(job, 100 + i);
		assert_int_equal(code, -1);
	}
	/* wrong types, missing fields, bad ids, bounds */
	o = good_run(200);
	json_object_set_new(o, "dry_run", json_string("yes"));
	raw_send(fd, o);
	assert_non_null(raw_result(fd, &job, &code));
	o = good_run(201);
	json_object_del(o, "evidence_len");
	raw_send(fd, o);
	assert_non_null(raw_result(fd, &job, &code));
	assert_int_equal(job, 201);
	raw_send(fd, good_run(0));
	assert_non_null(raw_result(fd, &job, &code));
	assert_int_equal(job, 0);
	o = good_run(202);
	json_object_set_new(o, "evidence_len", json_integer(HOOK_EVIDENCE_MAX + 1));
	raw_send(fd, o);
	assert_non_null(raw_result(fd, &job, &code));
	raw_send(fd, json_pack("{s:s, s:I}", "type", "exec", "job", (json_int_t)203));
	e = raw_result(fd, &job, &code);
	assert_non_null(e);
	assert_string_equal(e, "unknown request");
	assert_int_equal(send(fd, "not json", 8, MSG_NOSIGNAL), 8);
	assert_non_null(raw_result(fd, &job, &code));
	raw_send(fd, json_pack("{s:s, s:I, s:s}", "type", "evidence", "job", (json_int_t)204,
	    "data", "{}"));
	assert_non_null(raw_result(fd, &job, &code));
	/* a run whose evidence never comes, then another run: both refused */
	o = good_run(205);
	json_object_set_new(o, "evidence_len", json_integer(10));
	raw_send(fd, o);
	raw_send(fd, json_pack("{s:s}", "type", "run"));
	assert_string_equal(raw_result(fd, &job, &code), "evidence incomplete");
	assert_int_equal(job, 205);
	assert_non_null(raw_result(fd, &job, &code));
	/* evidence longer than announced */
	o = good_run(206);
	json_object_set_new(o, "evidence_len", json_integer(2));
	raw_send(fd, o);
	raw_send(fd, json_pack("{s:s, s:I, s:s}", "type", "evidence", "job", (json_int_t)206,
	    "data", "{}{}"));
	assert_string_equal(raw_result(fd, &job, &code), "bad evidence packet");
	assert_int_equal(job, 206);
	assert_false(exists("ran"));	/* none of it ran the hook */

	/* and a good one runs */
	raw_send(fd, good_run(300));
	assert_null(raw_result(fd, &job, &code));
	assert_int_equal(job, 300);
	assert_int_equal(code, 0);
	assert_true(exists("ran"));
	hook_runner_free(h);
}

static void
test_close_kills(void **state)
{
	char body[256];
	const char *p;
	struct hook_runner *h;
	struct hook_request rq;
	pid_t hook, gc;
	int64_t until;

	(void)state;
	snprintf(body, sizeof body, "sleep 30 & echo $! > %s/gc2.pid\necho $$ > %s/hook.pid\n"
	    "wait\n", out, out);
	p = script("hang.sh", body);
	h = start(p, 60);
	request(&rq, "suspend", "C1");
	submit(h, &rq);
	until = loop_now_ms() + 5000;
	while ((read_pid("hook.pid") == 0 || read_pid("gc2.pid") == 0) && loop_now_ms() < until)
		loop_once(L, 20);
	hook = read_pid("hook.pid");
	gc = read_pid("gc2.pid");
	assert_true(hook > 0 && gc > 0);
	assert_false(dead(hook, 0));	/* running */
	hook_runner_free(h);	/* the daemon goes: the runner ends its hooks and exits */
	assert_true(dead(hook, 0));
	assert_true(dead(gc, 2000));
	assert_int_equal(ngot, 0);	/* no callback from free */
}

static void
test_runner_term(void **state)
{
	char body[256], err[256];
	const char *p;
	struct hook_runner *h;
	struct hook_request rq;
	pid_t hook, runner;
	uint64_t job;
	int64_t until;

	(void)state;
	snprintf(body, sizeof body, "echo $$ > %s/hook2.pid\nsleep 30\n", out);
	p = script("hang2.sh", body);
	h = start(p, 60);
	request(&rq, "suspend", "C1");
	submit(h, &rq);
	until = loop_now_ms() + 5000;
	while (read_pid("hook2.pid") == 0 && loop_now_ms() < until)
		loop_once(L, 20);
	hook = read_pid("hook2.pid");
	assert_true(hook > 0);
	runner = hook_runner_pid(h);
	assert_int_equal(kill(runner, SIGTERM), 0);	/* e.g. systemd stopping everything */
	wait_results(1, 5000);
	assert_int_equal(got[0].exit_code, -1);	/* ended: SIGTERM to its group */
	assert_int_equal(got[0].sig, SIGTERM);
	assert_false(got[0].timed_out);
	assert_true(dead(hook, 0));
	until = loop_now_ms() + 5000;	/* then the runner exits: EOF */
	while (hook_runner_pid(h) != -1 && loop_now_ms() < until)
		assert_int_equal(loop_once(L, 100), 0);
	assert_int_equal(hook_runner_pid(h), -1);
	assert_int_equal(hook_submit(h, &rq, &job, err, sizeof err), -1);
	assert_non_null(strstr(err, "not running"));
	hook_runner_free(h);
}

/* done may free the runner (a daemon stopping from inside a callback). */
static struct hook_runner *freeing;

static void
on_done_free(void *arg, const struct hook_result *r)
{
	on_done(arg, r);
	hook_runner_free(freeing);
	freeing = NULL;
}

static void
test_free_in_callback(void **state)
{
	const char *p = script("quick.sh", "echo hi\n");
	char err[256];
	struct hook_request rq;
	int64_t until;

	(void)state;
	freeing = hook_runner_start(p, "nobody", 10, err, sizeof err);
	assert_non_null(freeing);
	request(&rq, "test", "C1");
	submit(freeing, &rq);
	submit(freeing, &rq);
	assert_int_equal(hook_runner_attach(freeing, L, on_done_free, NULL), 0);
	until = loop_now_ms() + 5000;
	while (freeing != NULL && loop_now_ms() < until)
		assert_int_equal(loop_once(L, 100), 0);
	assert_null(freeing);
	assert_int_equal(ngot, 1);
	loop_once(L, 0);
}

/* Root without CAP_KILL (the systemd unit's bounding set leaves it out) may not signal a
 * process of nobody's: the runner signals its hooks as their user then. In a child that
 * drops CAP_KILL for good: a timeout still ends the hook and its grandchild. */
static int
timeout_without_cap_kill(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	const char *p;
	char body[256], err[256];
	struct hook_runner *h;
	struct hook_request rq;
	uint64_t job;
	int64_t until;
	pid_t gc;

	memset(data, 0, sizeof data);
	if (syscall(SYS_capget, &hdr, data) == -1)
		return 10;
	data[CAP_KILL >> 5].effective &= ~(1u << (CAP_KILL & 31));
	data[CAP_KILL >> 5].permitted &= ~(1u << (CAP_KILL & 31));
	if (syscall(SYS_capset, &hdr, data) == -1)
		return 11;
	snprintf(body, sizeof body, "sleep 30 & echo $! > %s/gc3.pid\nsleep 30\n", out);
	p = script("sleep3.sh", body);
	if ((h = hook_runner_start(p, "nobody", 1, err, sizeof err)) == NULL ||
	    hook_runner_attach(h, L, on_done, NULL) == -1)
		return 12;
	request(&rq, "suspend", "C1");
	if (hook_submit(h, &rq, &job, err, sizeof err) == -1)
		return 13;
	until = loop_now_ms() + 6000;
	while (ngot < 1 && loop_now_ms() < until)
		loop_once(L, 100);
	if (ngot != 1)
		return 14;
	if (!got[0].timed_out || got[0].sig != SIGTERM || got[0].duration_ms > 2500)
		return 15;
	if ((gc = read_pid("gc3.pid")) <= 0 || !dead(gc, 3000))
		return 16;
	hook_runner_free(h);
	return 0;
}

static void
test_no_cap_kill(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	if (geteuid() != 0)
		skip();
	if ((pid = fork()) == 0)
		_exit(timeout_without_cap_kill());
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ------------------------------------------------------------------ start-up checks */

static void
test_start_checks(void **state)
{
	const char *p = script("ok.sh", "exit 0\n");
	char err[256], path[160];
	struct hook_runner *h;

	(void)state;
	assert_null(hook_runner_start("ok.sh", "nobody", 10, err, sizeof err));
	assert_non_null(strstr(err, "absolute"));
	assert_null(hook_runner_start(realdir, "nobody", 10, err, sizeof err));
	assert_non_null(strstr(err, "not an executable regular file"));
	snprintf(path, sizeof path, "%s/missing.sh", realdir);
	assert_null(hook_runner_start(path, "nobody", 10, err, sizeof err));
	assert_null(hook_runner_start(p, "nobody", 0, err, sizeof err));
	assert_null(hook_runner_start(p, "nobody", HOOK_TIMEOUT_MAX + 1, err, sizeof err));
	p = script("noexec.sh", "exit 0\n");
	assert_int_equal(chmod(p, 0644), 0);
	assert_null(hook_runner_start(p, "nobody", 10, err, sizeof err));
	if (geteuid() == 0) {
		p = script("gw.sh", "exit 0\n");
		assert_int_equal(chmod(p, 0775), 0);
		assert_null(hook_runner_start(p, "nobody", 10, err, sizeof err));
		assert_non_null(strstr(err, "not writable by group or others"));
		p = script("ok2.sh", "exit 0\n");
		assert_int_equal(chown(p, 65534, 65534), 0);
		assert_null(hook_runner_start(p, "nobody", 10, err, sizeof err));
		assert_non_null(strstr(err, "owned by root"));
		snprintf(path, sizeof path, "%s/in-out.sh", out);	/* a folder others write */
		write_file(path, "#!/bin/sh\nexit 0\n", 0);
		assert_int_equal(chmod(path, 0755), 0);
		assert_null(hook_runner_start(path, "nobody", 10, err, sizeof err));
		assert_non_null(strstr(err, "folder"));
		snprintf(path, sizeof path, "%s/sub", out);	/* root's, below that folder */
		assert_int_equal(mkdir(path, 0755), 0);
		snprintf(path, sizeof path, "%s/sub/deep.sh", out);
		write_file(path, "#!/bin/sh\nexit 0\n", 0);
		assert_int_equal(chmod(path, 0755), 0);
		assert_null(hook_runner_start(path, "nobody", 10, err, sizeof err));
		assert_non_null(strstr(err, "/out must be owned by root"));
		p = script("ok3.sh", "exit 0\n");
		assert_null(hook_runner_start(p, "root", 10, err, sizeof err));
		assert_non_null(strstr(err, "root"));
		assert_null(hook_runner_start(p, "no-such-user-rw", 10, err, sizeof err));
		assert_non_null(strstr(err, "no such user"));
		h = hook_runner_start(p, NULL, 10, err, sizeof err);	/* default: nobody */
		assert_non_null(h);
		hook_runner_free(h);
	}
	hook_runner_free(NULL);
}

/* The runner's own policy (hook_policy): whatever the daemon asks, a real run is refused
 * while dry_run is on, in the start's values or in the config file the runner reads again
 * before each request; past max_per_hour customers suspended automatically for real in the
 * hour, the runner refuses (a retry of one of them, an operator's and a dry run still go);
 * a hook user that is the daemon's own user is refused at start. */
static void
test_runner_policy(void **state)
{
	const char *p = script("pol.sh", "echo \"dry=$RANGEWATCH_DRY_RUN\"\n");
	struct hook_policy pol = { NULL, 1, 0, NULL };
	struct hook_runner *h;
	struct hook_request rq;
	char err[256] = "", conf[200];
	uint64_t a, b, c, d, e, f;

	(void)state;
	/* dry_run from the start: a request claiming dry_run 0 is refused, 1 runs */
	assert_non_null(h = hook_runner_start_policy(p, "nobody", 10, &pol, err, sizeof err));
	assert_int_equal(hook_runner_attach(h, L, on_done, NULL), 0);
	request(&rq, "suspend", "1");
	rq.dry_run = 0;
	a = submit(h, &rq);
	rq.dry_run = 1;
	b = submit(h, &rq);
	wait_results(2, 5000);
	assert_non_null(got_job(a)->error);
	assert_string_equal(got_job(a)->error, "refused by the hook runner: [hook] dry_run is "
	    "on, the request asked for a real run");
	assert_null(got_job(b)->error);
	assert_string_equal(got_job(b)->output, "dry=1");
	hook_runner_free(h);
	got_clear();

	/* dry_run off at start but on in the config file: the file wins (a reload) */
	snprintf(conf, sizeof conf, "%s/pol.conf", realdir);
	write_file(conf, "[hook]\ndry_run = yes\nmax_per_hour = 2\n", 0);
	assert_int_equal(chmod(conf, 0644), 0);
	pol.config = conf;
	pol.dry_run = 0;
	pol.max_per_hour = 0;
	assert_non_null(h = hook_runner_start_policy(p, "nobody", 10, &pol, err, sizeof err));
	assert_int_equal(hook_runner_attach(h, L, on_done, NULL), 0);
	request(&rq, "suspend", "1");
	a = submit(h, &rq);
	wait_results(1, 5000);
	assert_non_null(strstr(got_job(a)->error, "dry_run is on"));
	got_clear();

	/* dry_run off in the file: max_per_hour = 2 automatic real suspensions an hour */
	write_file(conf, "[hook]\ndry_run = no\nmax_per_hour = 2\n", 0);
	request(&rq, "suspend", "1");
	a = submit(h, &rq);
	rq.customer_id = "2";
	b = submit(h, &rq);
	rq.customer_id = "3";
	c = submit(h, &rq);		/* the third customer: refused */
	rq.customer_id = "1";
	d = submit(h, &rq);		/* a retry of the first: runs */
	rq.customer_id = "4";
	rq.dry_run = 1;
	e = submit(h, &rq);		/* a dry run: runs */
	rq.dry_run = 0;
	rq.operator = "alice";
	f = submit(h, &rq);		/* an operator's: runs */
	wait_results(6, 5000);
	assert_null(got_job(a)->error);
	assert_string_equal(got_job(a)->output, "dry=0");
	assert_null(got_job(b)->error);
	assert_non_null(got_job(c)->error);
	assert_string_equal(got_job(c)->error, "refused by the hook runner: circuit breaker "
	    "open (2 automatic suspensions in the last hour, [hook] max_per_hour = 2)");
	assert_null(got_job(d)->error);
	assert_null(got_job(e)->error);
	assert_null(got_job(f)->error);
	hook_runner_free(h);
	got_clear();

	/* a config file others may write is not believed: the start's values stay */
	write_file(conf, "[hook]\ndry_run = no\n", 0);
	assert_int_equal(chmod(conf, 0666), 0);
	pol.dry_run = 1;
	assert_non_null(h = hook_runner_start_policy(p, "nobody", 10, &pol, err, sizeof err));
	assert_int_equal(hook_runner_attach(h, L, on_done, NULL), 0);
	request(&rq, "suspend", "1");
	a = submit(h, &rq);
	wait_results(1, 5000);
	assert_non_null(strstr(got_job(a)->error, "dry_run is on"));
	hook_runner_free(h);
	got_clear();

	/* the hook's user must not be the daemon's (as root only: else hooks run as us) */
	if (geteuid() == 0) {
		pol.daemon_user = "nobody";
		assert_null(hook_runner_start_policy(p, "nobody", 10, &pol, err, sizeof err));
		assert_non_null(strstr(err, "is the daemon's own user"));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_argv_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit_sends_from_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stdin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_codes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_evidence_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runner_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_kills, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runner_term, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_in_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_cap_kill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runner_policy, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
