/*
 * hook.h — the suspend-customer hook (design.md, "Suspend hook"), run by a small privileged
 * runner process so that the daemon can drop root for good and hooks still run as their
 * own configured user (privilege separation, like OpenSMTPD's and OpenSSH's helpers).
 *
 * The contract a hook sees: it is executed with execve, never through a shell, as
 *   HOOK ACTION CUSTOMER_ID          ACTION: suspend, unsuspend or test
 * with only this environment:
 *   PATH=/usr/sbin:/usr/bin:/sbin:/bin, LANG=C.UTF-8,
 *   RANGEWATCH_ACTION, RANGEWATCH_CUSTOMER_ID, RANGEWATCH_CUSTOMER_NAME (one escaped line),
 *   RANGEWATCH_IPS (canonical addresses, one space between, at most HOOK_IPS_MAX),
 *   RANGEWATCH_CIDRS (the customer's prefixes, at most HOOK_CIDRS_MAX),
 *   RANGEWATCH_IPS_TRUNCATED=1 / RANGEWATCH_CIDRS_TRUNCATED=1 (only when cut), RANGEWATCH_LEVEL,
 *   RANGEWATCH_REASON (one escaped line), RANGEWATCH_EVENT_ID, RANGEWATCH_DRY_RUN (0/1),
 *   RANGEWATCH_OPERATOR (only for an operator's action);
 * the evidence, one JSON document, on stdin; stdout and stderr into one pipe; no other
 * descriptor; cwd "/"; its own session and process group; default signal dispositions and
 * an empty signal mask; the configured user (setgroups/setresgid/setresuid) when the runner
 * is root, else the runner's own user. Exit 0: done; 75 (EX_TEMPFAIL): try again later;
 * anything else: failed. After `timeout` seconds its process group gets SIGTERM, and
 * SIGKILL HOOK_KILL_GRACE_MS later. When the hook exits, whatever it left running in its
 * process group is killed. Its output comes back escaped (text_escape) as one line,
 * at most HOOK_OUTPUT_MAX bytes of it, trailing newlines dropped, with the count of the
 * bytes past the bound.
 *
 * The runner (forked by hook_runner_start as root, before the daemon drops) keeps root only
 * to switch to the hook user and to signal its hooks. It runs nothing but the one program
 * fixed at start, as the one user fixed at start; the daemon can only ask for runs, and
 * every field of a request is validated again in the runner, which also holds its own
 * policy (struct hook_policy: dry_run, max_per_hour, from the config file it reads). It lives in its own session
 * (so a ^C, a terminal hangup or a signal to the daemon's process group is not for it),
 * ignores SIGHUP/SIGINT/SIGQUIT, and ends on EOF from the daemon (or on SIGTERM, which is
 * also its parent-death signal): its running hooks get SIGTERM, SIGKILL after the grace,
 * and it exits.
 *
 * Protocol between them: a SOCK_SEQPACKET socketpair, one JSON object per packet.
 *   runner -> daemon  {"type":"ready","v":1}   once, at start
 *   daemon -> runner  {"type":"run","job":N,"action":..,"customer_id":..,"customer_name":..,
 *                      "ips":..,"cidrs":..,"ips_truncated":B,"cidrs_truncated":B,"level":..,"reason":..,"event_id":..,["operator":..,]
 *                      "dry_run":B,"evidence_len":N}
 *                     then {"type":"evidence","job":N,"data":".."} packets (at most
 *                      HOOK_CHUNK bytes of evidence each) until evidence_len bytes came
 *   runner -> daemon  {"type":"result","job":N,"exit":N,"signal":N,"timed_out":B,
 *                      "duration_ms":N,"output":"..","dropped":N[,"error":".."]}
 * A request the runner refuses gets a result with "error" (and job 0 when it had no
 * valid job id). At most HOOK_JOBS_MAX hooks run at once; the rest wait in order, at most
 * HOOK_QUEUE_MAX jobs in all.
 */
#ifndef RW_HOOK_H
#define RW_HOOK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct loop;
struct hook_runner;

#define HOOK_PROTO_VERSION	1
#define HOOK_OUTPUT_MAX		8192		/* bytes of a hook's output kept */
#define HOOK_EVIDENCE_MAX	(1024 * 1024)	/* bytes of evidence JSON on its stdin */
#define HOOK_JOBS_MAX		8		/* hooks running at once */
#define HOOK_QUEUE_MAX		64		/* jobs submitted and not finished, in all */
#define HOOK_KILL_GRACE_MS	2000		/* SIGTERM to SIGKILL */
#define HOOK_TIMEOUT_MAX	86400		/* seconds */
#define HOOK_CHUNK		32768		/* evidence bytes per packet */
#define HOOK_ID_MAX		64		/* customer id, event id, operator, level */
#define HOOK_TEXT_MAX		1024		/* bytes of the escaped name and reason */
#define HOOK_IPS_MAX		256		/* addresses in RANGEWATCH_IPS */
#define HOOK_CIDRS_MAX		64		/* prefixes in RANGEWATCH_CIDRS */
#define HOOK_EX_TEMPFAIL	75

/* One run. Strings are copied by hook_submit; NULL reads as "" except where said. */
struct hook_request {
	const char *action;		/* "suspend", "unsuspend" or "test" */
	const char *customer_id;	/* 1..HOOK_ID_MAX of [A-Za-z0-9._:@+-], no leading '-' */
	const char *customer_name;	/* any bytes: escaped to one line, cut to HOOK_TEXT_MAX */
	const char *ips;		/* IPv4/IPv6 addresses, space-separated (may be empty),
					 * at most HOOK_IPS_MAX */
	int ips_truncated;		/* RANGEWATCH_IPS_TRUNCATED=1: the caller cut ips */
	const char *cidrs;		/* the customer's prefixes ("192.0.2.0/24"), space-
					 * separated (may be empty), at most HOOK_CIDRS_MAX */
	int cidrs_truncated;		/* RANGEWATCH_CIDRS_TRUNCATED=1: the caller cut cidrs */
	const char *level;		/* 0..32 of [a-z0-9_-] ("act", "warn", ...) */
	const char *reason;		/* any bytes: escaped to one line, cut to HOOK_TEXT_MAX */
	const char *event_id;		/* 0..HOOK_ID_MAX of [A-Za-z0-9._:@+-] */
	const char *operator;		/* NULL: automatic; else the operator's name (as ids) */
	int dry_run;			/* RANGEWATCH_DRY_RUN=1: the hook must not act */
	const char *evidence_json;	/* one JSON document, NUL-terminated; NULL: "{}" */
};

/* How a run ended; the strings are valid only during the done callback. */
struct hook_result {
	uint64_t job;
	int exit_code;		/* 0..255 when it exited, else -1 */
	int signal;		/* the signal that ended it, else 0 */
	int timed_out;		/* it outlived the timeout and was signalled */
	int64_t duration_ms;
	const char *output;	/* escaped, one line, maybe with a "[... N bytes dropped]" note */
	uint64_t output_dropped;	/* bytes of output past HOOK_OUTPUT_MAX */
	const char *error;	/* NULL when the hook ran; else why it could not (exit_code -1) */
};

typedef void (*hook_done_cb)(void *arg, const struct hook_result *r);

/* Forks the runner. Call as root before dropping privileges (then hooks run as user, which
 * must not be root, default "nobody"); not as root, hooks run as the caller's own user and
 * user is ignored. path must be an absolute path to an executable regular file; as root it
 * (and its folder) must be owned by root and not writable by group or others. Must be
 * called in the process that will own the runner (after any daemon()). timeout_s: 1..
 * HOOK_TIMEOUT_MAX. NULL and a message in err when refused or the runner did not start. */
struct hook_runner *hook_runner_start(const char *path, const char *user, unsigned timeout_s,
    char *err, size_t errlen);

/* The policy the runner enforces itself, whatever the daemon asks: a daemon taken over
 * after its drop of root cannot lift it. dry_run: a request for a real run (dry_run 0) is
 * refused. max_per_hour > 0: an automatic (no operator), real suspension of one more
 * customer is refused when that many customers were so suspended in the last hour (a
 * retry of the same customer does not count again). config: the config file (NULL none);
 * the runner reads it again, as root, before each request, so that a reload of the daemon
 * changes the policy too; only a regular file owned by root (by the runner's user when
 * not root) and not writable by group or others is read, and one it cannot read or parse
 * keeps the last policy. daemon_user: the daemon's user (NULL: not checked): a hook user
 * with its uid is refused (the daemon could then signal, trace or be its hooks). */
struct hook_policy {
	const char *config;
	int dry_run;
	int max_per_hour;
	const char *daemon_user;
};

/* hook_runner_start with pol enforced in the runner (NULL: nothing beyond the request). */
struct hook_runner *hook_runner_start_policy(const char *path, const char *user,
    unsigned timeout_s, const struct hook_policy *pol, char *err, size_t errlen);

/* Puts the runner's socket on the loop; done is called once per submitted job (from the
 * loop, never from hook_submit). done may submit, and may free the runner. -1: ENOMEM. */
int hook_runner_attach(struct hook_runner *h, struct loop *l, hook_done_cb done, void *arg);

/* Queues a run (never blocks) and gives its job id; the request leaves on the loop's next
 * turn, after whatever transaction the caller has open commits. -1 and a message in err
 * when a field is invalid, the evidence is not one JSON document or too big,
 * HOOK_QUEUE_MAX jobs are pending, or the runner is gone. */
/* 1 when id can be a customer id handed to a hook (1..HOOK_ID_MAX of [A-Za-z0-9._:@+-],
 * no leading '-': it becomes an argument of the hook's command line). */
int hook_id_ok(const char *id);
int hook_submit(struct hook_runner *h, const struct hook_request *rq, uint64_t *job,
    char *err, size_t errlen);

/* Jobs submitted and not yet finished. */
size_t hook_pending(const struct hook_runner *h);

/* The runner's pid, or -1 once it is gone. */
pid_t hook_runner_pid(const struct hook_runner *h);

/* Closes the socket (the runner ends its running hooks and exits), reaps the runner, frees.
 * Blocks up to a few seconds; pending jobs get no callback. NULL-safe. */
void hook_runner_free(struct hook_runner *h);

#endif
