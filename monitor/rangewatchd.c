/*
 * rangewatchd.c — the daemon: one event loop that owns the capture handle (or the replay
 * of capture files), the DNSBL probe (c-ares sockets, schedule), the model (risk engine,
 * flags), the store, the control socket and the timers. Start-up order matters: read and
 * check every file, open the capture and bind the control socket as root, drop to the
 * configured user before the first packet is read or any query is sent, then open the state
 * and start. Signal handlers only wake the loop (loop.c); SIGHUP reloads the config and the
 * files it names (a bad one is refused with file:line and the old one stays); SIGTERM/SIGINT
 * stop cleanly with the model's minute and the store flushed.
 *
 * Owns: the one daemon context (struct rwd) and everything in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "actions.h"
#include "alert.h"
#include "capthread.h"
#include "capture.h"
#include "cite.h"
#include "complaints.h"
#include "config.h"
#include "control.h"
#include "customers.h"
#include "dnsbl_lists.h"
#include "flows.h"
#include "hook.h"
#include "ingest.h"
#include "listings.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "model.h"
#include "outbound.h"
#include "prefixes.h"
#include "prober.h"
#include "replay.h"
#include "report.h"
#include "smtp.h"
#include "snds_fetch.h"
#include "store.h"
#include "text.h"
#include "traffic.h"
#include "views.h"

#define DEFAULT_CONFIG	"/etc/rangewatch/rangewatch.conf"
#define FLUSH_MS	5000	/* batched state reaches the disk at least this often */
#define ACTIVE_MS	30000	/* how often senders are handed to the DNSBL probe */
#define TICK_MS		1000	/* the live clock's tick (the model works once a minute) */
#define ALERT_MS	60000	/* digests and outbox upkeep */
/* Replaying as fast as can be: a loop turn feeds frames for about REPLAY_TURN_MS, looking
 * at the clock every REPLAY_CHUNK frames (a fixed 20,000 frames was 100 ms of a flood of
 * new sources, each one a table insert). */
#define REPLAY_TURN_MS	20
#define REPLAY_CHUNK	1000
#define DRAIN_SLICE	32768	/* capture events applied per loop turn (a few ms) */

/* The files a config names, loaded together so that a reload swaps all or nothing. */
struct files {
	struct rw_config *cfg;
	struct prefixes *space;
	struct customers *customers;
	struct dnsbl_lists *lists;
};

/* The daemon's context: main owns it, everything hangs off it. */
struct rwd {
	const char *cfgpath;
	struct files f;
	struct loop *loop;
	struct capture *cap;
	struct capthread *ct;		/* the live capture's thread, once it runs */
	uint64_t drain_timer;		/* a turn to drain more events is due */
	struct replay *replay;
	struct traffic *traffic;
	struct outbound *outbound;	/* the replay's, on the loop (the live one is ct's) */
	struct flows *flows;		/* sFlow/IPFIX/NetFlow sockets, NULL when none */
	struct store *store;
	struct listings *listings;
	struct prober *prober;
	struct control *control;
	struct model *model;
	struct views *views;
	struct alert *alert;
	struct hook_runner *hook;	/* the privileged runner (forked before the drop) */
	struct actions *actions;
	struct snds_fetch *snds;	/* [snds]: Microsoft SNDS data */
	struct complaints *complaints;	/* `rangewatch report`'s complaints */
	uid_t uid;			/* the user we run as after the drop */
	int64_t started;
	int64_t replay_end_wall;	/* wall time the replay ended (the clock runs on) */
	int64_t replay_end_clock;
	uint32_t active_since;	/* senders after this packet time are news for the probe */
	int64_t pruned_day;
	uint64_t last_packets;	/* for the packet rate */
	int64_t last_rate_ms;
	double pps;
	int stepping;		/* a model_step is due in the next loop turn */
	struct metrics *metrics;	/* GET /metrics ([rangewatch] metrics), or NULL */
	uint64_t flushes, flush_us, flush_errors;	/* the timer's store flushes */
	int64_t flush_last_us;
};

static void
usage(void)
{
	fprintf(stderr, "usage: rangewatchd [-f] [-n] [--repair] [-c FILE]\n"
	    "  -f        stay in the foreground and log to stderr\n"
	    "  -n        check the configuration and the files it names, then exit\n"
	    "  --repair  when the store is refused as corrupt: keep it as\n"
	    "            rangewatch.db.corrupt-TIME, recover what SQLite can read into a\n"
	    "            fresh store (as the daemon's user), say what it did, exit\n");
}

static void
files_free(struct files *f)
{
	dnsbl_lists_free(f->lists);
	customers_free(f->customers);
	prefixes_free(f->space);
	config_free(f->cfg);
	memset(f, 0, sizeof *f);
}

/* Says which policies can never see an impact or a confirmation because a list they name
 * is not in the lists file (the built-in UCEPROTECT policies, when the provider does not
 * watch UCEPROTECT): a warning, not an error, since that is a legitimate choice. */
static void
check_policies(const struct files *f)
{
	const struct risk_config *rc = &f->cfg->risk;
	size_t i, j;

	for (i = 0; i < rc->npolicies; i++) {
		const struct risk_policy *p = &rc->policy[i];
		for (j = 0; j < p->nfeeds; j++)
			if ((f->lists == NULL || dnsbl_lists_find(f->lists, p->feeds[j]) == NULL) &&
			    strcmp(p->feeds[j], RISK_SNDS_TRAPS) != 0 &&
			    strcmp(p->feeds[j], "snds") != 0)	/* [snds] fills these two */
				log_warnx("%s: policy \"%s\" feeds on list \"%s\", which the lists "
				    "file does not define: it will see no impact from it",
				    f->cfg->path, p->name, p->feeds[j]);
		if (p->escalating[0] && (f->lists == NULL ||
		    dnsbl_lists_find(f->lists, p->escalating) == NULL))
			log_warnx("%s: policy \"%s\" is confirmed by list \"%s\", which the lists "
			    "file does not define: it will never show as escalated", f->cfg->path,
			    p->name, p->escalating);
	}
}

/* Loads the config at path and every file it names into f; 0 when all are good. */
/* With a hook configured, customers whose id the hook cannot take (see hook_id_ok) can
 * never be suspended through it: said at load (-n, start, reload), not first at an act. */
static void
check_hook_ids(const struct files *f)
{
	const struct customer *cu;
	char esc[96];
	size_t i, n = 0;

	if (f->cfg->hook_path[0] == '\0')
		return;
	for (i = 0; i < customers_count(f->customers); i++) {
		cu = customers_get(f->customers, i);
		if (hook_id_ok(cu->id))
			continue;
		if (n++ < 5) {
			text_escape(esc, sizeof esc, cu->id, strlen(cu->id));
			log_warnx("%s:%u: customer id '%s' cannot be handed to the hook (1-%d of "
			    "A-Z a-z 0-9 . _ : @ + -, not starting with '-'): the hook will never "
			    "run for it", f->cfg->customers, cu->line, esc, HOOK_ID_MAX);
		}
	}
	if (n > 5)
		log_warnx("%s: %zu more customer ids the hook cannot take", f->cfg->customers,
		    n - 5);
}

static int
load_files(const char *path, struct files *f, char *err, size_t errlen)
{
	memset(f, 0, sizeof *f);
	if (config_load(path, &f->cfg, err, errlen) == -1)
		goto fail;
	if (f->cfg->prefixes[0]) {
		if (prefixes_load(f->cfg->prefixes, &f->space, err, errlen) == -1)
			goto fail;
	} else if ((f->space = prefixes_new_empty()) == NULL)
		goto nomem;
	if (f->cfg->customers[0]) {
		if (customers_load(f->cfg->customers, &f->customers, err, errlen) == -1)
			goto fail;
	} else if ((f->customers = customers_new_empty()) == NULL)
		goto nomem;
	if (f->cfg->lists[0] && dnsbl_lists_load(f->cfg->lists, &f->lists, err, errlen) == -1)
		goto fail;
	check_policies(f);
	check_hook_ids(f);
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	files_free(f);
	return -1;
}

/* Makes a folder the daemon's user writes into (owned by it when we are root). */
static int
make_dir(const char *dir, const struct passwd *pw, char *err, size_t errlen)
{
	if (mkdir(dir, 0750) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (pw && chown(dir, pw->pw_uid, pw->pw_gid) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* The folder of path, made when missing (the socket's and the pidfile's: /run/rangewatch). */
static int
make_parent(const char *path, const struct passwd *pw, char *err, size_t errlen)
{
	char *copy = strdup(path), *dir;
	struct stat sb;
	int rc = 0;

	if (copy == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	dir = dirname(copy);
	if (stat(dir, &sb) == -1)
		rc = make_dir(dir, pw, err, errlen);
	free(copy);
	return rc;
}

/* Drops root for good, like tcpdump -Z: groups, gid, uid, and checks it cannot come back. */
static int
drop_privileges(const struct passwd *pw, char *err, size_t errlen)
{
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		snprintf(err, errlen, "cannot drop to user %s: %s", pw->pw_name, strerror(errno));
		return -1;
	}
	if (setuid(0) != -1) {
		snprintf(err, errlen, "dropped to %s but could become root again", pw->pw_name);
		return -1;
	}
	return 0;
}

/* The operators' uids and gids from the config's names ("alice", "@noc"). */
static int
resolve_operators(const struct rw_config *cfg, uid_t **uids, size_t *nuids, gid_t **gids,
    size_t *ngids, char *err, size_t errlen)
{
	size_t i;

	*uids = calloc(cfg->noperators + 1, sizeof **uids);
	*gids = calloc(cfg->noperators + 1, sizeof **gids);
	*nuids = *ngids = 0;
	if (*uids == NULL || *gids == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (i = 0; i < cfg->noperators; i++) {
		const char *n = cfg->operators[i];
		if (n[0] == '@') {
			struct group *g = getgrnam(n + 1);
			if (g == NULL) {
				snprintf(err, errlen, "%s: operators: no group '%s'", cfg->path, n + 1);
				goto fail;
			}
			(*gids)[(*ngids)++] = g->gr_gid;
		} else {
			struct passwd *p = getpwnam(n);
			if (p == NULL) {
				snprintf(err, errlen, "%s: operators: no user '%s'", cfg->path, n);
				goto fail;
			}
			(*uids)[(*nuids)++] = p->pw_uid;
		}
	}
	return 0;
fail:
	free(*uids);
	free(*gids);
	*uids = NULL;
	*gids = NULL;
	return -1;
}

/* Binds the control socket (as root: its group, its folder). */
static int
open_control(struct rwd *d, const struct passwd *pw, char *err, size_t errlen)
{
	const struct rw_config *cfg = d->f.cfg;
	struct control_opts o;
	uid_t *uids = NULL;
	gid_t *gids = NULL;
	size_t nuids, ngids;
	int rc = -1;

	memset(&o, 0, sizeof o);
	o.path = cfg->socket;
	o.mode = (unsigned)cfg->socket_mode;
	o.group = (gid_t)-1;
	if (cfg->socket_group[0]) {
		struct group *g = getgrnam(cfg->socket_group);
		if (g == NULL) {
			snprintf(err, errlen, "%s: socket_group: no group '%s'", cfg->path,
			    cfg->socket_group);
			return -1;
		}
		o.group = g->gr_gid;
	} else if (pw != NULL)
		o.group = pw->pw_gid;
	if (resolve_operators(cfg, &uids, &nuids, &gids, &ngids, err, errlen) == -1)
		return -1;
	o.op_uids = uids;
	o.nop_uids = nuids;
	o.op_gids = gids;
	o.nop_gids = ngids;
	if (make_parent(cfg->socket, pw, err, errlen) == 0 &&
	    (d->control = control_new(d->loop, &o, err, errlen)) != NULL)
		rc = 0;
	free(uids);
	free(gids);
	return rc;
}

/* ------------------------------------------------------------------ the clock */

static int64_t
wall_now(void)
{
	return (int64_t)time(NULL);
}

/* Whether packets come from the interface now: a live capture with no replay, or one whose
 * replay (a warm start from past captures) is over. */
static int
capturing_live(const struct rwd *d)
{
	return d->cap != NULL && (d->replay == NULL || d->replay_end_wall != 0);
}

/* The model's clock: wall time live; the packets' time when replaying, running on in wall
 * time once the replay is over (wall time itself when the capture takes over: its packets
 * carry wall time). */
static int64_t
model_clock(const struct rwd *d)
{
	if (d->replay == NULL || capturing_live(d))
		return wall_now();
	if (d->replay_end_wall != 0)
		return d->replay_end_clock + (wall_now() - d->replay_end_wall);
	return replay_clock(d->replay);
}

static int64_t
stamp_clock(void *arg)
{
	int64_t t = model_clock(arg);

	return t > 0 ? t : wall_now();	/* a replay that has not started: wall time */
}

/* ------------------------------------------------------------------ loop callbacks */

/* ---- the live capture: its thread reads and follows the frames; the loop applies the
 * events it hands over (capthread.h), DRAIN_SLICE a turn so no turn is long. */

static void
apply_event(void *arg, const struct flow_event *ev)
{
	struct rwd *d = arg;

	ingest_apply(d->traffic, d->f.customers, ev);
}

static void drain_more(void *arg);

static void
drain(struct rwd *d)
{
	int more = 0;

	capthread_drain(d->ct, DRAIN_SLICE, apply_event, d, &more);
	/* the rest on the next turn, after whatever else is waiting */
	if (more && d->drain_timer == 0)
		d->drain_timer = loop_timer(d->loop, 0, drain_more, d);
}

static void
drain_more(void *arg)
{
	struct rwd *d = arg;

	d->drain_timer = 0;
	drain(d);
}

static void
on_capture(void *arg, int fd, short revents)
{
	(void)fd;
	(void)revents;
	drain(arg);
}

/* Starts the capture thread on the handle opened at start (as root). */
static int
start_live(struct rwd *d, char *err, size_t errlen)
{
	if ((d->ct = capthread_start(d->cap, d->f.space, (size_t)d->f.cfg->max_flows,
	    (unsigned)d->f.cfg->flow_timeout, d->f.cfg->ring_events, err, errlen)) == NULL)
		return -1;
	if (loop_fd(d->loop, capthread_fd(d->ct), POLLIN, on_capture, d) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* A reload's part for the capture: the new space and filter, and the citation words the
 * SMTP parser searches, changed while the thread is parked (its parser reads them), which
 * is also the grace period after which the old space may be freed. */
static void
reload_capture(struct rwd *d, const struct files *nf)
{
	char err[256];

	if (d->ct != NULL) {
		capthread_pause(d->ct);
		capthread_set_space(d->ct, nf->space);
	}
	/* the kernel's filter names the prefixes (up to CAPTURE_FILTER_NETS): new ones would
	 * never reach us without a new filter */
	if (d->cap != NULL && capture_set_space(d->cap, nf->space, err, sizeof err) == -1)
		log_warnx("reload: the capture keeps its old filter (new prefixes are not seen "
		    "until a restart): %s", err);
	/* rejections naming a list count for it by its index: the table and the per-IP
	 * counts follow the new lists, or no lists at all rather than the old ones */
	if (cite_install(nf->lists, (const char *const *)nf->cfg->cite, nf->cfg->ncite,
	    err, sizeof err) == -1) {
		log_warnx("reload: rejections are not tied to lists: %s", err);
		if (cite_install(NULL, (const char *const *)nf->cfg->cite,
		    nf->cfg->ncite > CITE_PATTERNS_MAX ? CITE_PATTERNS_MAX : nf->cfg->ncite,
		    err, sizeof err) == -1)
			log_warnx("reload: the cite words stay as they were: %s", err);
	}
	if (d->ct != NULL)
		capthread_resume(d->ct);
	/* after the pause, which it would make long (the thread has no part in it): the
	 * loop's accounting (the replay's) re-resolves every tracked IP's customer, the live
	 * capture's included, as they share the traffic table */
	outbound_set_space(d->outbound, nf->space, nf->customers);
	if (d->replay != NULL)
		replay_set_space(d->replay, nf->space);
}

/* The capture's figures for status and the packet rate: the replay's and the thread's. */
static void
capture_counts(struct rwd *d, struct outbound_counts *n, struct flow_stats *fs,
    struct capthread_stats *cs)
{
	outbound_get_counts(d->outbound, n);
	outbound_get_flow_stats(d->outbound, fs);
	memset(cs, 0, sizeof *cs);
	if (d->ct == NULL)
		return;
	capthread_get_stats(d->ct, cs);
	n->total += cs->n.total;
	n->smtp += cs->n.smtp;
	n->malformed += cs->n.malformed;
	n->truncated += cs->n.truncated;
	n->fragments += cs->n.fragments;
	n->unsupported += cs->n.unsupported;
	n->unsolicited += cs->n.unsolicited;
	*fs = cs->flows;
}

/* Status: the capture thread's ring and the kernel's (in cap), the loop's turns (in o). */
static void
status_capture(struct rwd *d, json_t *o, json_t *cap, const struct capthread_stats *cs)
{
	const struct hist *bh = d->ct != NULL ? capthread_backlog_hist(d->ct) : NULL;
	static const struct hist empty;
	struct loop_stats ls;

	if (bh == NULL)
		bh = &empty;
	json_object_set_new(cap, "kernel", json_pack("{s:I, s:I, s:I, s:I, s:I}",
	    "ring_bytes", (json_int_t)d->f.cfg->buffer_size,
	    "received", (json_int_t)cs->kernel.recv, "drops", (json_int_t)cs->kernel.drop,
	    "ifdrops", (json_int_t)cs->kernel.ifdrop,
	    "backlog_frames", (json_int_t)cs->kernel_backlog));
	json_object_set_new(cap, "ring", json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:I}", "thread", d->ct != NULL && cs->running,
	    "capacity", (json_int_t)cs->capacity, "backlog", (json_int_t)cs->backlog,
	    "events", (json_int_t)cs->events, "merged", (json_int_t)cs->merged,
	    "lost", (json_int_t)cs->lost,
	    "applied", (json_int_t)cs->applied, "backlog_p50",
	    (json_int_t)hist_quantile(bh, 0.5), "backlog_p99", (json_int_t)hist_quantile(bh, 0.99),
	    "backlog_max", (json_int_t)bh->max, "pauses", (json_int_t)cs->pauses));
	loop_get_stats(d->loop, &ls);
	json_object_set_new(o, "loop", json_pack("{s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:f, "
	    "s:f}", "turns", (json_int_t)ls.turns_us.count,
	    "p50_us", (json_int_t)hist_quantile(&ls.turns_us, 0.5),
	    "p99_us", (json_int_t)hist_quantile(&ls.turns_us, 0.99),
	    "max_us", (json_int_t)ls.turns_us.max, "over_100ms", (json_int_t)ls.slow_turns,
	    "slowest", ls.slowest_fn, "slowest_us", (json_int_t)ls.slowest_fn_us,
	    /* the metrics' loop figures, in seconds */
	    "busy_seconds", (double)ls.turns_us.sum / 1e6,
	    "max_turn_seconds", (double)ls.turns_us.max / 1e6));
}

static void on_step(void *arg);

/* The rest of the minute's work, a slice per loop turn, so that the socket, the capture
 * and DNS are served between slices. */
static void
step_soon(struct rwd *d)
{
	if (!d->stepping && model_busy(d->model)) {
		d->stepping = 1;
		loop_timer(d->loop, 0, on_step, d);
	}
}

static void
on_step(void *arg)
{
	struct rwd *d = arg;

	d->stepping = 0;
	(void)model_step(d->model);
	step_soon(d);
}

static void
tick(struct rwd *d)
{
	int64_t now = model_clock(d);

	if (now > 0)
		model_tick(d->model, now);
	step_soon(d);
}

static void hand_active(struct rwd *d);

/* Feeds the frames that are due, a minute of packet time at a time: the model's minute
 * work runs at each boundary, so even a replay at full speed gives it per-minute counts. */
static void
on_replay(void *arg)
{
	struct rwd *d = arg;
	int64_t wait, next, t0 = loop_now_ms();
	char err[256];

	while (loop_now_ms() - t0 < REPLAY_TURN_MS && (next = replay_next_time(d->replay)) >= 0) {
		/* the minute before next is complete: its work, and no more in this loop turn
		 * (a slice can span hours of packet time, each minute of a big table costs
		 * milliseconds, and the socket waits meanwhile); no frame of the next minute
		 * until that work is done, or its counts would land in the minute before */
		if (replay_clock(d->replay) > 0 && (model_tick(d->model, next) == 1 ||
		    model_busy(d->model))) {	/* a busy model's tick does nothing */
			step_soon(d);
			loop_timer(d->loop, model_busy(d->model) ? 1 : 0, on_replay, d);
			return;
		}
		replay_set_until(d->replay, (next / 60 + 1) * 60);
		if (replay_run(d->replay, loop_now_ms(), REPLAY_CHUNK) == 0)
			break;	/* not due yet */
	}
	if (replay_done(d->replay)) {
		struct replay_stats st;

		tick(d);
		model_flush(d->model);
		hand_active(d);		/* the replay's senders: re-checked now, not in 30 s */
		replay_get_stats(d->replay, &st);
		d->replay_end_wall = wall_now();
		d->replay_end_clock = replay_clock(d->replay);
		log_info("replay done: %llu frames from %llu files (%llu failed)%s",
		    (unsigned long long)st.frames, (unsigned long long)st.files_done,
		    (unsigned long long)st.files_failed, d->cap ? "; capturing live now" : "");
		if (d->replay_end_clock > d->replay_end_wall + 60)
			log_warnx("the replay ended %lld s in the future: the model waits for "
			    "its clock to come back", (long long)(d->replay_end_clock -
			    d->replay_end_wall));
		/* the live capture was opened at start (as root) and waited: it takes over */
		if (d->cap && start_live(d, err, sizeof err) == -1)
			log_warnx("no live capture: %s", err);
		return;
	}
	wait = replay_wait_ms(d->replay, loop_now_ms());
	loop_timer(d->loop, wait < 0 ? TICK_MS : wait > TICK_MS ? TICK_MS : wait, on_replay, d);
}

/* Once a second: the clock for the model when it is not driven by a replay slice, idle
 * flows expire on a quiet interface, and the packet rate. */
static void
on_tick(void *arg)
{
	struct rwd *d = arg;
	struct outbound_counts n;
	struct flow_stats fs;
	struct capthread_stats cs;
	int64_t ms = loop_now_ms();

	/* idle flows of the live capture expire on its own thread; here the minute's counts
	 * are made complete, whatever the wake-ups did */
	if (d->ct != NULL && d->drain_timer == 0)
		drain(d);
	if (d->replay == NULL || d->replay_end_wall != 0)
		tick(d);
	actions_tick(d->actions, wall_now());	/* hooks due again, quiet customers resumed */
	capture_counts(d, &n, &fs, &cs);
	if (d->last_rate_ms != 0 && ms > d->last_rate_ms)
		d->pps = (double)(n.total - d->last_packets) * 1000.0 / (double)(ms - d->last_rate_ms);
	d->last_packets = n.total;
	d->last_rate_ms = ms;
	loop_timer(d->loop, TICK_MS, on_tick, d);
}

/* Hands the IPs that sent SMTP since the last round to the DNSBL probe (fast re-checks). */
static void
hand_active(struct rwd *d)
{
	size_t i, n = traffic_count(d->traffic);
	uint32_t newest = d->active_since;
	struct traffic_ip *ip;

	for (i = 0; d->prober != NULL && i < n; i++) {
		ip = traffic_at(d->traffic, i);
		/* only a sender that completed a handshake: forged SYNs from any number of
		 * our addresses must not spend the lists' query budgets */
		if (ip->last_seen > d->active_since && ip->sessions > 0 && !traffic_is_free(ip)) {
			prober_active(d->prober, &ip->addr);
			if (ip->last_seen > newest)
				newest = ip->last_seen;
		}
	}
	d->active_since = newest;
}

static void
on_active(void *arg)
{
	struct rwd *d = arg;

	hand_active(d);
	loop_timer(d->loop, ACTIVE_MS, on_active, d);
}

static void
on_suspect(void *arg, const struct rw_addr *ip)
{
	struct rwd *d = arg;

	if (d->prober != NULL)
		prober_urgent(d->prober, ip);
}

/* Remote replies named ip-scope list li for ip: ask that list about it now, past a cached
 * negative answer (the prober bounds it: once per IP and list every 10 minutes). */
static void
on_recheck(void *arg, size_t li, const struct rw_addr *ip)
{
	struct rwd *d = arg;

	if (d->prober != NULL && prober_recheck(d->prober, li, ip) == -1)
		log_warnx("out of memory: no recheck");
}

/* A customer's level changed (recorded already): the suspend hook when the policy says so,
 * and the abuse desk hears of it with what was done. */
static void
on_flag(void *arg, long c, enum risk_level level, enum risk_level previous, int64_t event)
{
	struct rwd *d = arg;
	const struct customer *cu = customers_get(d->f.customers, (size_t)c);
	char err[256], line[512];
	struct report *r;

	if (d->alert == NULL || d->actions == NULL)
		return;
	if ((r = report_new(d->model, c, previous, REPORT_ADDRESSES)) == NULL) {
		log_warnx("ALERT LOST: customer %s: out of memory", cu->id);
		return;
	}
	actions_flag(d->actions, c, level, event, r, line, sizeof line);
	if (alert_flag(d->alert, r, line[0] ? line : NULL, model_now(d->model), err,
	    sizeof err) == -1)
		log_warnx("ALERT LOST: customer %s: %s", cu->id, err);
	report_free(r);
}

static void
last_event(void *arg, const struct store_flag *f)
{
	*(int64_t *)arg = f->id;
}

/* A reload let the hook do more (actions_set_config): the customers already at a level get
 * now what a rise to it would have given them, not at their next rise, which may never come
 * (act is the top: a customer suspended in dry run stayed so after dry_run was turned
 * off). actions_flag skips those suspended for real, tagged never_suspend or under way.
 * With redo_only, at start: only the customers whose automatic suspension the last stop cut
 * off (actions_redo). */
static void
reflag(struct rwd *d, int redo_only)
{
	size_t i, n = customers_count(d->f.customers);
	const char *when = redo_only ? "start" : "reload";
	const struct customer *cu;
	struct model_customer mc;
	char err[256], line[512];
	struct report *r;
	int64_t event;

	for (i = 0; i < n; i++) {
		cu = customers_get(d->f.customers, i);
		/* the hook's level is warn or act: nobody below warn is due anything */
		if ((redo_only && !actions_redo(d->actions, cu->id)) ||
		    model_customer(d->model, (long)i, &mc) == -1 || mc.level < RISK_WARN)
			continue;
		event = 0;
		if (store_flag_history(d->store, cu->id, 0, 1, last_event, &event, err,
		    sizeof err) == -1)
			log_warnx("%s: customer %s: its last level change: %s", when, cu->id, err);
		if ((r = report_new(d->model, (long)i, mc.level, REPORT_ADDRESSES)) == NULL) {
			log_warnx("%s: customer %s: out of memory", when, cu->id);
			continue;
		}
		actions_flag(d->actions, (long)i, mc.level, event, r, line, sizeof line);
		if (line[0] != '\0')
			log_info("%s: customer %s at %s: %s", when, cu->id, risk_level_name(mc.level),
			    line);
		report_free(r);
	}
}

static void
on_hook_done(void *arg, const struct hook_result *r)
{
	struct rwd *d = arg;

	actions_hook_done(d->actions, r);
}

static void
on_alert_tick(void *arg)
{
	struct rwd *d = arg;
	char err[256];
	int64_t now = wall_now();

	alert_tick(d->alert, now);
	if (now / 86400 != d->pruned_day) {
		d->pruned_day = now / 86400;
		if (store_outbox_prune(d->store, now - 35 * 86400, err, sizeof err) == -1)
			log_warnx("store: %s", err);
	}
	loop_timer(d->loop, ALERT_MS, on_alert_tick, d);
}

/* test-alert: a test message to every recipient (operators only). */
static int
cmd_test_alert(void *arg, const json_t *req, const struct control_peer *peer,
    json_t **result, char *err, size_t errlen)
{
	struct rwd *d = arg;
	int n;

	(void)req;
	(void)peer;
	if ((n = alert_test(d->alert, err, errlen)) == -1)
		return -1;
	*result = json_pack("{s:i}", "queued", n);
	return 0;
}

static void
on_flush(void *arg)
{
	struct rwd *d = arg;
	char err[256];
	int64_t t0 = metrics_now_us();

	if (store_flush(d->store, err, sizeof err) == -1) {
		log_warnx("store: %s", err);
		d->flush_errors++;
	}
	d->flush_last_us = metrics_now_us() - t0;
	d->flush_us += (uint64_t)d->flush_last_us;
	d->flushes++;
	loop_timer(d->loop, FLUSH_MS, on_flush, d);
}

static void
on_stop(void *arg)
{
	struct rwd *d = arg;

	log_info("stopping");
	loop_stop(d->loop);
}

/* ------------------------------------------------------------------ the socket's views */

static const char *
health_name(enum dnsbl_health h)
{
	switch (h) {
	case DNSBL_H_OK: return "ok";
	case DNSBL_H_BLOCKED: return "blocked";
	case DNSBL_H_BROKEN: return "broken";
	default: return "unknown";
	}
}

/* What an operator graphs beside the rest (metrics.h): listings per list, answers by
 * result, the loop's turns, the store's size and flushes. */
static void
status_ops(struct rwd *d, json_t *o)
{
	json_t *lists = json_object_get(o, "lists");
	struct prober_stats ps;
	json_t *e;
	size_t i;

	json_array_foreach(lists, i, e)
		json_object_set_new(e, "listed", json_integer((json_int_t)listings_count_listed_on(
		    d->listings, json_string_value(json_object_get(e, "name")))));
	memset(&ps, 0, sizeof ps);
	if (d->prober != NULL)
		prober_get_stats(d->prober, &ps);
	json_object_set_new(json_object_get(o, "dnsbl"), "results", json_pack("{s:I, s:I, "
	    "s:I, s:I}", "listed", (json_int_t)ps.results[DNSBL_LISTED], "clean",
	    (json_int_t)ps.results[DNSBL_CLEAN], "blocked", (json_int_t)ps.results[DNSBL_BLOCKED],
	    "error", (json_int_t)ps.results[DNSBL_ERROR]));
	json_object_set_new(json_object_get(o, "dnsbl"), "skipped_unhealthy",
	    json_integer((json_int_t)ps.skipped_unhealthy));
	json_object_set_new(o, "store", json_pack("{s:I, s:I, s:I, s:f, s:f}", "bytes",
	    (json_int_t)metrics_store_bytes(d->f.cfg->state_dir), "flushes",
	    (json_int_t)d->flushes, "flush_errors", (json_int_t)d->flush_errors,
	    "flush_seconds", d->flush_us / 1e6, "last_flush_seconds", d->flush_last_us / 1e6));
}

static void
status_of(void *arg, json_t *o)
{
	struct rwd *d = arg;
	struct outbound_counts n;
	struct flow_stats fs;
	struct capthread_stats ts;
	struct prober_stats ps;
	json_t *lists = json_array(), *rep = json_null(), *cap;
	size_t i, nl = d->f.lists != NULL ? dnsbl_lists_count(d->f.lists) : 0;

	capture_counts(d, &n, &fs, &ts);
	if (d->replay != NULL) {
		struct replay_stats rs;

		replay_get_stats(d->replay, &rs);
		json_decref(rep);
		rep = json_pack("{s:I, s:b, s:f, s:I}", "files", (json_int_t)d->f.cfg->nreplay,
		    "done", replay_done(d->replay), "speed", d->f.cfg->replay_speed, "frames",
		    (json_int_t)rs.frames);
	}
	json_object_set_new(o, "clock", json_string(d->replay != NULL && !capturing_live(d) ?
	    "replay" : "live"));
	json_object_set_new(o, "capture", json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:f, s:I, "
	    "s:I, s:o}", "source", capturing_live(d) ? "interface" : d->replay != NULL ?
	    "replay" : "none", "interface", d->f.cfg->interface, "packets", (json_int_t)n.total, "smtp",
	    (json_int_t)n.smtp, "malformed", (json_int_t)n.malformed, "truncated",
	    (json_int_t)n.truncated, "pps", d->pps, "drops", (json_int_t)ts.kernel.drop, "ifdrops",
	    (json_int_t)ts.kernel.ifdrop, "replay", rep));
	/* the capture's bounds ([capture] max_flows, max_ips): what went past them */
	cap = json_object_get(o, "capture");
	json_object_set_new(cap, "unsolicited", json_integer((json_int_t)n.unsolicited));
	json_object_set_new(cap, "connections_active", json_integer((json_int_t)fs.active));
	json_object_set_new(cap, "connections_untracked", json_integer((json_int_t)fs.dropped));
	json_object_set_new(cap, "sources_untracked", json_integer((json_int_t)traffic_dropped(
	    d->traffic)));
	json_object_set_new(cap, "sources_tracked", json_integer((json_int_t)traffic_live(
	    d->traffic)));
	json_object_set_new(cap, "sources_evicted", json_integer((json_int_t)traffic_evicted(
	    d->traffic)));
	status_capture(d, o, cap, &ts);
	for (i = 0; lists != NULL && i < nl; i++) {
		const struct dnsbl_list *l = dnsbl_lists_get(d->f.lists, i);
		struct prober_health h = { .list = l, .health = DNSBL_H_UNTESTED, .reason = "" };

		if (d->prober != NULL && l->enabled)
			prober_health(d->prober, i, &h);
		json_array_append_new(lists, json_pack("{s:s, s:s, s:s, s:b, s:s, s:o, s:I, s:I, "
		    "s:I, s:{s:I, s:I, s:I, s:I}}", "name", l->name, "zone", l->zone, "scope",
		    dnsbl_scope_name(l->scope), "enabled", l->enabled, "health", l->enabled ?
		    health_name(h.health) : "unknown", "reason", text_json(h.reason), "day_used",
		    (json_int_t)h.day_used, "max_per_day", (json_int_t)l->max_per_day, "asked",
		    (json_int_t)h.asked, "answers", "listed", (json_int_t)h.results[DNSBL_LISTED],
		    "clean", (json_int_t)h.results[DNSBL_CLEAN], "blocked",
		    (json_int_t)h.results[DNSBL_BLOCKED], "error",
		    (json_int_t)h.results[DNSBL_ERROR]));
	}
	json_object_set_new(o, "lists", lists);
	if (d->flows != NULL)
		json_object_set_new(o, "flows", flows_json(d->flows, 0));
	if (d->alert != NULL) {
		struct alert_stats as;
		char err[160];
		long q = store_outbox_queued(d->store, err, sizeof err);

		alert_stats(d->alert, &as);
		json_object_set_new(o, "alerts", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		    "s:I, s:I}", "queued_total", (json_int_t)as.queued, "held",
		    (json_int_t)as.held, "digests", (json_int_t)as.digests, "sent",
		    (json_int_t)as.sent, "retried", (json_int_t)as.retried, "failed",
		    (json_int_t)as.failed, "refused", (json_int_t)as.refused, "in_flight",
		    (json_int_t)as.in_flight, "outbox", (json_int_t)(q < 0 ? 0 : q)));
		/* refused already holds the outbox's refusals: adding the store's count, as
		 * before, counted each of them twice */
		json_object_set_new(json_object_get(o, "alerts"), "outbox_full",
		    json_integer((json_int_t)as.outbox_full));
	}
	if (d->actions != NULL && d->hook != NULL) {
		struct actions_stats hs;

		actions_get_stats(d->actions, &hs);
		json_object_set_new(o, "hooks", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		    "pending", (json_int_t)hook_pending(d->hook), "runs", (json_int_t)hs.runs,
		    "failed", (json_int_t)hs.failed, "refused", (json_int_t)hs.refused,
		    "output_cut", (json_int_t)hs.output_cut, "output_dropped",
		    (json_int_t)hs.output_dropped, "breaker", (json_int_t)hs.breaker));
	}
	memset(&ps, 0, sizeof ps);
	if (d->prober != NULL)
		prober_get_stats(d->prober, &ps);
	json_object_set_new(o, "dnsbl", json_pack("{s:I, s:I, s:I, s:I, s:I, s:o}", "asked",
	    (json_int_t)ps.asked, "answered", (json_int_t)ps.answered, "listed",
	    (json_int_t)listings_count_listed(d->listings), "listed_events",
	    (json_int_t)ps.listed_events, "delisted_events", (json_int_t)ps.delisted_events,
	    "last_answer", ps.last_answer > 0 ? json_integer(ps.last_answer) : json_null()));
	json_object_set_new(o, "store_memory", json_integer((json_int_t)store_memory()));
	if (snds_fetch_active(d->snds)) {
		struct snds_fetch_stats ss;

		snds_fetch_stats(d->snds, &ss);
		json_object_set_new(o, "snds", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		    "s:I, s:o, s:o}", "reads", (json_int_t)ss.reads, "errors",
		    (json_int_t)ss.errors, "rows", (json_int_t)ss.rows, "bad_rows",
		    (json_int_t)ss.bad_rows, "status_rows", (json_int_t)ss.status_rows,
		    "status_bad", (json_int_t)ss.status_bad, "held", (json_int_t)ss.held,
		    "blocked", (json_int_t)ss.blocked, "last_ok", ss.last_ok ?
		    json_integer(ss.last_ok) : json_null(), "last_error",
		    text_json(ss.last_error)));
	}
	status_ops(d, o);
}

/* GET /metrics: the status object, as `rangewatch status` gets it. */
static json_t *
metrics_status(void *arg)
{
	struct rwd *d = arg;

	return views_status(d->views);
}

/* A new risk engine: what others reported goes to it again. */
static void
on_refeed(void *arg, struct risk *r)
{
	struct rwd *d = arg;

	snds_fetch_refeed(d->snds, r);
	complaints_refeed(d->complaints, r);
}

/* An operator's suspend/resume: the hook, through the actions module. */
static int
act_of(void *arg, const char *action, long c, const char *reason, const char *actor,
    int64_t audit_id, char *outcome, size_t len)
{
	struct rwd *d = arg;
	struct report *r = report_new(d->model, c, RISK_NONE, REPORT_ADDRESSES);
	int rc;

	/* out of memory: the hook runs without its evidence ("{}") rather than not at all */
	rc = actions_manual(d->actions, action, c, reason, actor, audit_id, r, outcome, len);
	report_free(r);
	return rc;
}

/* ------------------------------------------------------------------ flow exports */

/* The config's exporter lines as a list (they were checked when it was read); what the
 * config says of them is said in the log. NULL with *n 0 when none; -1 on ENOMEM. */
static int
flow_exporters(const struct rw_config *c, struct flows_exporter **ex, size_t *n)
{
	char err[160];
	size_t i;

	*ex = NULL;
	*n = 0;
	if (c->nflow_exporters == 0)
		log_warnx("%s: [flows] listens but names no exporter: every datagram is "
		    "dropped", c->path);
	if (c->nflow_exporters == 0)
		return 0;
	if ((*ex = calloc(c->nflow_exporters, sizeof **ex)) == NULL)
		return -1;
	for (i = 0; i < c->nflow_exporters; i++)
		(void)flows_parse_exporter(c->flow_exporters[i], &(*ex)[i], err, sizeof err);
	*n = c->nflow_exporters;
	return 0;
}

/* Binds the [flows] sockets (as root: before the drop), when the config names any. */
static int
open_flows(struct rwd *d, char *err, size_t errlen)
{
	const struct rw_config *c = d->f.cfg;
	struct flows_exporter *ex = NULL;
	struct flows_opts o;
	size_t nex;
	int rc = -1;

	if (!c->flow_sflow[0] && !c->flow_ipfix[0] && !c->flow_netflow[0])
		return 0;
	if (flow_exporters(c, &ex, &nex) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memset(&o, 0, sizeof o);
	o.listen[0] = c->flow_sflow;
	o.port[0] = FLOWS_PORT_SFLOW;
	o.listen[1] = c->flow_ipfix;
	o.port[1] = FLOWS_PORT_IPFIX;
	o.listen[2] = c->flow_netflow;
	o.port[2] = FLOWS_PORT_NETFLOW;
	o.exporters = ex;
	o.nexporters = nex;
	o.max_templates = (size_t)c->flow_max_templates;
	o.pcap_window = (uint32_t)c->flow_pcap_window;
	o.rcvbuf = c->flow_rcvbuf;
	if ((d->flows = flows_new(d->f.space, d->f.customers, &o, err, errlen)) != NULL)
		rc = 0;
	free(ex);
	return rc;
}

/* `flows`: the exporters, the counters and the estimated IPs (largest first, "limit"). */
static int
cmd_flows(void *arg, const json_t *req, const struct control_peer *peer, json_t **result,
    char *err, size_t errlen)
{
	struct rwd *d = arg;
	json_t *l = json_object_get(req, "limit");
	json_int_t limit = json_is_integer(l) ? json_integer_value(l) : 1000;

	(void)peer;
	if (d->flows == NULL) {
		snprintf(err, errlen, "no flow exports configured ([flows])");
		return -1;
	}
	if ((*result = flows_json(d->flows, limit < 0 ? 0 : (size_t)limit)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ reload */

static int
start_prober(struct rwd *d, char *err, size_t errlen)
{
	struct dnsbl_opts dopts;

	if (d->f.lists == NULL)
		return 0;
	memset(&dopts, 0, sizeof dopts);
	dopts.nameservers = d->f.cfg->nameserver;
	dopts.max_ttl = (uint32_t)d->f.cfg->dns_max_ttl;
	dopts.max_neg_ttl = (uint32_t)d->f.cfg->dns_max_negative_ttl;
	d->prober = prober_new(d->loop, &dopts, d->f.lists, d->f.space, d->listings, err,
	    errlen);
	if (d->prober == NULL)
		return -1;
	prober_set_clock(d->prober, stamp_clock, d);
	return 0;
}

/* SIGHUP: the new config and files, all or nothing; the state stays. */
static void
on_hup(void *arg)
{
	struct rwd *d = arg;
	struct files nf, old;
	char err[512], keys[512];
	uid_t *uids = NULL;
	gid_t *gids = NULL;
	size_t nuids, ngids;
	int more;

	if (load_files(d->cfgpath, &nf, err, sizeof err) == -1) {
		log_warnx("reload refused, the running configuration stays: %s", err);
		return;
	}
	if (resolve_operators(nf.cfg, &uids, &nuids, &gids, &ngids, err, sizeof err) == -1) {
		log_warnx("reload refused, the running configuration stays: %s", err);
		files_free(&nf);
		return;
	}
	if (config_restart_keys(d->f.cfg, nf.cfg, keys, sizeof keys) > 0)
		log_warnx("reload: %s changed but take effect only on a restart", keys);
	if (model_set_space(d->model, nf.space, nf.customers, nf.lists, err, sizeof err) == -1) {
		log_warnx("reload refused, the running configuration stays: %s", err);
		free(uids);
		free(gids);
		files_free(&nf);
		return;
	}
	if (memcmp(&d->f.cfg->risk, &nf.cfg->risk, sizeof nf.cfg->risk) != 0 &&
	    model_set_risk(d->model, &nf.cfg->risk, err, sizeof err) == -1)
		log_warnx("reload: the new risk settings could not be applied: %s", err);
	model_set_retention(d->model, nf.cfg->minute_retention, nf.cfg->hour_retention);
	if (snds_fetch_set_config(d->snds, nf.cfg) == -1)
		log_warnx("reload: out of memory: the [snds] settings stay as they were");
	if (alert_set_config(d->alert, nf.cfg, err, sizeof err) == -1)
		log_warnx("reload: the alert settings stay as they were: %s", err);
	more = actions_set_config(d->actions, nf.cfg);
	reload_capture(d, &nf);
	if (d->flows != NULL) {
		struct flows_exporter *ex;
		size_t nex;

		flows_set_space(d->flows, nf.space, nf.customers);
		if (flow_exporters(nf.cfg, &ex, &nex) == -1 ||
		    flows_set_exporters(d->flows, ex, nex, (uint32_t)nf.cfg->flow_pcap_window) == -1)
			log_warnx("reload: out of memory: the flow exporters stay as they were");
		free(ex);
	}
	control_set_operators(d->control, uids, nuids, gids, ngids);
	free(uids);
	free(gids);
	/* the probe holds the lists and the space: a new one over the new ones */
	prober_free(d->prober);
	d->prober = NULL;
	old = d->f;
	d->f = nf;
	if (start_prober(d, err, sizeof err) == -1)
		log_warnx("reload: the DNSBL probe could not restart: %s", err);
	if (traffic_set_ncite(d->traffic, cite_nlists()) == -1)
		log_warnx("reload: out of memory for the per-list rejection counts");
	files_free(&old);
	log_info("reloaded: %zu prefixes, %zu customers, %zu lists, %zu policies",
	    prefixes_count(d->f.space), customers_count(d->f.customers),
	    d->f.lists ? dnsbl_lists_count(d->f.lists) : 0, d->f.cfg->risk.npolicies);
	if (more)
		reflag(d, 0);
}

/* ------------------------------------------------------------------ start and stop */

/* 1 when user pw may write into dir (owner, group or other write bit that applies). */
static int
writable_by(const struct stat *dir, const struct passwd *pw)
{
	if (dir->st_uid == pw->pw_uid)
		return (dir->st_mode & S_IWUSR) != 0;
	if (dir->st_gid == pw->pw_gid)
		return (dir->st_mode & S_IWGRP) != 0;
	return (dir->st_mode & S_IWOTH) != 0;
}

/* Written as root, before the drop: never through a symbolic link (O_NOFOLLOW), only into
 * a regular file of one link, so that whoever could put something at that path cannot make
 * root write elsewhere. A folder the daemon's user pw may write into is warned about: that
 * user could replace the file and name another process in it. */
static int
write_pidfile(const struct rwd *d, const struct passwd *pw)
{
	const char *path = d->f.cfg->pidfile;
	char *copy = NULL, line[32];
	struct stat sb;
	int fd = -1, rc = -1, n;

	if (path[0] == '\0')
		return 0;
	if (pw != NULL && (copy = strdup(path)) != NULL && stat(dirname(copy), &sb) == 0 &&
	    writable_by(&sb, pw))
		log_warnx("pidfile %s: its folder is writable by user %s, who could replace the "
		    "file and name another process in it (make the folder root's, as systemd's "
		    "RuntimeDirectory does)", path, pw->pw_name);
	free(copy);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
	    0644)) == -1) {
		if (errno == ELOOP)
			log_warnx("pidfile %s is a symbolic link: not followed, no pidfile written",
			    path);
		else
			log_warn("pidfile %s", path);
		return -1;
	}
	if (fstat(fd, &sb) == -1) {
		log_warn("pidfile %s", path);
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_nlink != 1) {
		log_warnx("pidfile %s is not a regular file of one link: left alone, no pidfile "
		    "written", path);
		goto out;
	}
	n = snprintf(line, sizeof line, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || write(fd, line, (size_t)n) != n) {
		log_warn("pidfile %s", path);
		goto out;
	}
	rc = 0;
out:
	if (close(fd) == -1 && rc == 0) {
		log_warn("pidfile %s", path);
		rc = -1;
	}
	return rc;
}

static void
rwd_free(struct rwd *d)
{
	capthread_stop(d->ct);		/* before the handle it reads is closed */
	hook_runner_free(d->hook);	/* ends running hooks (at most ~2 s) */
	metrics_free(d->metrics);
	control_free(d->control);
	views_free(d->views);
	snds_fetch_free(d->snds);
	complaints_free(d->complaints);
	actions_free(d->actions);
	alert_free(d->alert);
	model_free(d->model);
	prober_free(d->prober);
	listings_free(d->listings);
	store_close(d->store);
	replay_free(d->replay);
	outbound_free(d->outbound);
	flows_free(d->flows);
	traffic_free(d->traffic);
	capture_close(d->cap);
	loop_free(d->loop);
	files_free(&d->f);
}

int
main(int argc, char **argv)
{
	struct rwd d;
	struct passwd *pw = NULL;
	struct model_env env;
	char err[512];
	int ch, foreground = 0, check = 0, repair = 0, rc = 1, pidfile = 0;
	static const struct option longopts[] = {
		{ "repair", no_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 }
	};

	memset(&d, 0, sizeof d);
	d.cfgpath = DEFAULT_CONFIG;
	while ((ch = getopt_long(argc, argv, "c:fnh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'R': repair = 1; break;
		case 'c': d.cfgpath = optarg; break;
		case 'f': foreground = 1; break;
		case 'n': check = 1; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	log_init("rangewatchd", 1, 0);
	/* before the first table: every hash table keys on it */
	if (addr_hash_init(err, sizeof err) == -1)
		fatalx("%s", err);
	if (load_files(d.cfgpath, &d.f, err, sizeof err) == -1) {
		log_warnx("%s", err);
		goto out;
	}
	if (check) {
		printf("%s: OK (%zu prefixes, %zu customers, %zu lists, %zu policies)\n",
		    d.cfgpath, prefixes_count(d.f.space), customers_count(d.f.customers),
		    d.f.lists ? dnsbl_lists_count(d.f.lists) : 0, d.f.cfg->risk.npolicies);
		rc = 0;
		goto out;
	}

	/* as root: the capture, the control socket, and the user and folders we drop to */
	if (geteuid() == 0) {
		if ((pw = getpwnam(d.f.cfg->user)) == NULL) {
			log_warnx("%s: unknown user '%s' (config key user)", d.cfgpath, d.f.cfg->user);
			goto out;
		}
		if (pw->pw_uid == 0) {
			log_warnx("user '%s' is root: the daemon does not run as root", d.f.cfg->user);
			goto out;
		}
	}
	if (repair) {
		char report[1024];

		/* as the daemon's user: the fresh store must be its own */
		if (pw && drop_privileges(pw, err, sizeof err) == -1) {
			log_warnx("%s", err);
			goto out;
		}
		if (store_repair(d.f.cfg->state_dir, report, sizeof report, err,
		    sizeof err) == -1) {
			log_warnx("repair failed: %s", err);
			goto out;
		}
		printf("repair: %s\n", report);
		rc = 0;
		goto out;
	}
	if ((d.loop = loop_new()) == NULL) {
		log_warnx("out of memory");
		goto out;
	}
	if (d.f.cfg->interface[0] &&
	    (d.cap = capture_open_live(d.f.cfg->interface, d.f.cfg->snaplen,
	    d.f.cfg->buffer_size, d.f.space, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		goto out;
	}
	if (open_flows(&d, err, sizeof err) == -1) {
		log_warnx("%s", err);
		goto out;
	}
	if (make_dir(d.f.cfg->state_dir, pw, err, sizeof err) == -1 ||
	    (d.f.cfg->pidfile[0] && make_parent(d.f.cfg->pidfile, pw, err, sizeof err) == -1) ||
	    open_control(&d, pw, err, sizeof err) == -1) {
		log_warnx("%s", err);
		goto out;
	}
	if (!foreground) {
		if (daemon(0, 0) == -1) {
			log_warn("daemon");
			goto out;
		}
		log_init("rangewatchd", 0, 0);
	}
	/* still as root: the pidfile's folder may be root's (systemd's RuntimeDirectory) */
	pidfile = write_pidfile(&d, pw) == 0 && d.f.cfg->pidfile[0];
	/* the hook runner keeps root only to run the one hook as [hook] user: forked now,
	 * after daemon() (it must be our child) and before the drop */
	if (d.f.cfg->hook_path[0]) {
		/* the runner enforces dry_run, max_per_hour and its user itself, reading the
		 * config again as root: the daemon, once unprivileged, cannot lift them */
		const char *base = strrchr(d.cfgpath, '/');
		char cfgabs[PATH_MAX], *cfgreal;
		struct hook_policy pol;

		/* daemon() went to "/": a relative -c is found through the config's folder */
		snprintf(cfgabs, sizeof cfgabs, "%s/%s", d.f.cfg->dir != NULL ? d.f.cfg->dir : "",
		    base != NULL ? base + 1 : d.cfgpath);
		cfgreal = realpath(cfgabs, NULL);
		pol = (struct hook_policy){ .config = cfgreal, .dry_run = d.f.cfg->hook_dry_run,
		    .max_per_hour = d.f.cfg->hook_max_per_hour, .daemon_user = pw != NULL ?
		    d.f.cfg->user : NULL };

		d.hook = hook_runner_start_policy(d.f.cfg->hook_path, d.f.cfg->hook_user,
		    (unsigned)d.f.cfg->hook_timeout, &pol, err, sizeof err);
		free(cfgreal);
		if (d.hook == NULL) {
			log_warnx("%s: [hook] %s", d.cfgpath, err);
			goto out;
		}
	}
	/* the runner looked up the hook's user: getpwnam's static buffer that pw points into
	 * now holds that user, not ours */
	if (d.hook != NULL && pw != NULL && (pw = getpwnam(d.f.cfg->user)) == NULL) {
		log_warnx("%s: unknown user '%s' (config key user)", d.cfgpath, d.f.cfg->user);
		goto out;
	}
	if (pw && drop_privileges(pw, err, sizeof err) == -1) {
		log_warnx("%s", err);
		goto out;
	}

	/* unprivileged from here on */
	d.started = wall_now();
	if ((d.traffic = traffic_new((size_t)d.f.cfg->max_ips, d.f.cfg->ncite)) == NULL ||
	    (d.outbound = outbound_new(d.traffic, d.f.space, d.f.customers,
	    (size_t)d.f.cfg->max_flows, (unsigned)d.f.cfg->flow_timeout)) == NULL) {
		log_warnx("out of memory");
		goto out;
	}
	if (cite_install(d.f.lists, (const char *const *)d.f.cfg->cite, d.f.cfg->ncite, err,
	    sizeof err) == -1) {
		log_warnx("%s", err);
		goto out;
	}
	if (traffic_set_ncite(d.traffic, cite_nlists()) == -1) {
		log_warnx("out of memory");
		goto out;
	}
	if (store_open(d.f.cfg->state_dir, &d.store, err, sizeof err) == -1 ||
	    (d.listings = listings_open(d.store, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		/* a refused store fails every start (a crash loop under systemd): say how out */
		if (strstr(err, "--repair") != NULL)
			log_warnx("to repair it: rangewatchd --repair -c %s (then start again)",
			    d.cfgpath);
		goto out;
	}
	memset(&env, 0, sizeof env);
	env.store = d.store;
	env.traffic = d.traffic;
	env.listings = d.listings;
	env.control = d.control;
	env.suspect = on_suspect;
	env.recheck = on_recheck;
	env.flag = on_flag;
	env.refeed = on_refeed;
	env.arg = &d;
	if ((d.alert = alert_new(d.loop, d.store, d.f.cfg, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		goto out;
	}
	if ((d.model = model_new(&env, &d.f.cfg->risk, d.f.space, d.f.customers, d.f.lists,
	    wall_now(), err, sizeof err)) == NULL ||
	    (d.views = views_new(d.control, d.model, status_of, act_of, &d, d.started, err,
	    sizeof err)) == NULL ||
	    (d.actions = actions_new(d.loop, d.hook, d.store, d.alert, d.model, d.f.cfg, err,
	    sizeof err)) == NULL) {
		log_warnx("%s", err);
		goto out;
	}
	model_set_retention(d.model, d.f.cfg->minute_retention, d.f.cfg->hour_retention);
	if (d.f.cfg->metrics[0] != '\0' && (d.metrics = metrics_new(d.loop, d.f.cfg->metrics,
	    metrics_status, &d, err, sizeof err)) == NULL) {
		log_warnx("%s: metrics: %s", d.cfgpath, err);
		goto out;
	}
	if ((d.snds = snds_fetch_new(d.loop, d.model, d.listings, d.f.cfg, err,
	    sizeof err)) == NULL ||
	    (d.complaints = complaints_new(d.control, d.model, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		goto out;
	}
	if (d.hook != NULL && hook_runner_attach(d.hook, d.loop, on_hook_done, &d) == -1) {
		log_warnx("out of memory");
		goto out;
	}
	/* automatic suspensions the last stop cut off: asked again now, at today's levels */
	reflag(&d, 1);
	if ((d.flows != NULL && (flows_start(d.flows, d.traffic, d.loop) == -1 ||
	    control_handle(d.control, "flows", CONTROL_READ, cmd_flows, &d) == -1)) ||
	    control_handle(d.control, "test-alert", CONTROL_ACT, cmd_test_alert, &d) == -1) {
		log_warnx("out of memory");
		goto out;
	}
	if (start_prober(&d, err, sizeof err) == -1) {
		log_warnx("%s", err);
		goto out;
	}
	if (d.f.cfg->nreplay > 0) {
		if ((d.replay = replay_new(d.f.cfg->replay, d.f.cfg->nreplay,
		    d.f.cfg->replay_speed, d.f.space, d.outbound, err, sizeof err)) == NULL) {
			log_warnx("%s", err);
			goto out;
		}
		loop_timer(d.loop, 0, on_replay, &d);
	}
	/* with a replay too, the capture waits for its end (on_replay) */
	if (d.cap && d.replay == NULL && start_live(&d, err, sizeof err) == -1) {
		log_warnx("%s", err);
		goto out;
	}
	loop_signal(d.loop, SIGTERM, on_stop, &d);
	loop_signal(d.loop, SIGINT, on_stop, &d);
	loop_signal(d.loop, SIGHUP, on_hup, &d);
	signal(SIGPIPE, SIG_IGN);
	loop_timer(d.loop, FLUSH_MS, on_flush, &d);
	loop_timer(d.loop, TICK_MS, on_tick, &d);
	loop_timer(d.loop, ACTIVE_MS, on_active, &d);
	loop_timer(d.loop, ALERT_MS, on_alert_tick, &d);
	log_info("started: %zu prefixes, %zu customers, %zu lists, %zu policies, capture %s, "
	    "socket %s, running as %s", prefixes_count(d.f.space),
	    customers_count(d.f.customers), d.f.lists ? dnsbl_lists_count(d.f.lists) : 0,
	    d.f.cfg->risk.npolicies, d.f.cfg->interface[0] ? d.f.cfg->interface :
	    d.f.cfg->nreplay ? "replay" : "off", d.f.cfg->socket,
	    pw ? pw->pw_name : "(not root)");
	loop_run(d.loop);
	if (d.ct != NULL) {
		int more = 0;

		/* what the thread handed over before the stop counts */
		capthread_drain(d.ct, SIZE_MAX, apply_event, &d, &more);
	}
	model_save(d.model);
	if (store_flush(d.store, err, sizeof err) == -1)
		log_warnx("store: %s", err);
	rc = 0;
out:
	/* a root-owned folder keeps it: systemd removes its RuntimeDirectory at stop */
	if (pidfile && unlink(d.f.cfg->pidfile) == -1 && errno != EACCES)
		log_warn("pidfile %s", d.f.cfg->pidfile);
	rwd_free(&d);
	return rc;
}
