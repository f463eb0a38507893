/*
 * actions.c — the suspend hook's policy (see actions.h): when to run it, the circuit
 * breaker, retries, the audit trail of every run, the suspensions remembered.
 *
 * Owns: the jobs it submitted (until their result), the suspension states (a copy of the
 * store's table), the times of the last hour's automatic suspensions.
 * Must never: suspend a never_suspend customer automatically, run past the circuit breaker,
 * run the same automatic suspension twice for one customer, or let a run go unaudited (the
 * audit row is committed before the hook is asked to run: store_after).
 */
#include "actions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "alert.h"
#include "log.h"
#include "model.h"
#include "report.h"
#include "store.h"
#include "text.h"

#define HOUR		3600
#define AUTO_ACTOR	"rangewatchd (automatic)"
#define IPS_MAX		(HOOK_IPS_MAX * ADDR_STRLEN + 1)	/* bytes of RANGEWATCH_IPS */
#define CIDRS_MAX	(HOOK_CIDRS_MAX * CIDR_STRLEN + 1)	/* bytes of RANGEWATCH_CIDRS */

struct susp {
	char *customer;
	int suspended, dry_run, automatic;
	int resume_failed;	/* an automatic resume failed: only by hand from then on */
	int64_t since;
};

struct job {
	uint64_t id;		/* the runner's job; 0 while waiting for a retry */
	char *customer, *name, *ips, *cidrs, *level, *reason, *event, *operator, *evidence;
	int ips_cut, cidrs_cut;	/* RANGEWATCH_IPS / CIDRS were cut to their bounds */
	char action[16];	/* "suspend", "unsuspend" */
	int64_t audit_id;
	int tries, dry_run;
	int64_t due;		/* when to run again (exit 75) */
	int uncommitted;	/* its audit row waits for the store's commit (store_after) */
	char range[64];		/* an automatic suspension's range, for the breaker */
};

struct trip {			/* an automatic suspension, for the circuit breaker */
	int64_t ts;
	char range[64];
};

struct actions {
	char **redo;		/* customers whose automatic suspension a stop cut off */
	size_t nredo;
	struct loop *loop;
	struct hook_runner *hook;
	struct store *st;
	struct alert *alert;
	struct model *model;
	int auto_suspend, dry_run, max_hour, max_range, retries;
	enum risk_level level;
	long unsuspend_after, retry_after;
	struct susp *susp;
	size_t nsusp;
	struct job *job;
	size_t njob;
	struct trip *trip;
	size_t ntrip;
	struct actions_stats stats;
	int logged_output;	/* a hook's output past HOOK_OUTPUT_MAX was logged (once) */
	char submit_err[256];	/* why the last submit after a commit failed ("" none) */
	int64_t breaker_said;	/* when the open circuit breaker was last mailed and logged */
	uint64_t breaker_unsaid;	/* stops since then, told in the next notice */
};

static char *
dupz(const char *s)
{
	return strdup(s != NULL ? s : "");
}

static void
job_clear(struct job *j)
{
	free(j->customer);
	free(j->name);
	free(j->ips);
	free(j->cidrs);
	free(j->level);
	free(j->reason);
	free(j->event);
	free(j->operator);
	free(j->evidence);
	memset(j, 0, sizeof *j);
}

static struct susp *
susp_find(const struct actions *a, const char *id)
{
	size_t i;

	for (i = 0; i < a->nsusp; i++)
		if (strcmp(a->susp[i].customer, id) == 0)
			return &a->susp[i];
	return NULL;
}

/* Records customer id's state in memory and durably in the store. */
static void
susp_set(struct actions *a, const char *id, int suspended, int dry_run, int automatic,
    const char *actor, int64_t audit_id)
{
	struct store_suspension x = { .customer = id, .state = suspended ? "suspended" :
	    "resumed", .since = (int64_t)time(NULL), .actor = actor, .dry_run = dry_run,
	    .audit_id = audit_id };
	struct susp *s = susp_find(a, id), *ns;
	char err[256];

	if (store_suspension_set(a->st, &x, err, sizeof err) == -1)
		log_warnx("actions: customer %s: %s", id, err);
	if (s == NULL) {
		if ((ns = realloc(a->susp, (a->nsusp + 1) * sizeof *ns)) == NULL)
			return;
		a->susp = ns;
		s = &a->susp[a->nsusp];
		if ((s->customer = strdup(id)) == NULL)
			return;
		a->nsusp++;
	}
	s->suspended = suspended;
	s->dry_run = dry_run;
	s->automatic = automatic;
	s->resume_failed = 0;
	s->since = x.since;
}

static void
load_susp(void *arg, const struct store_suspension *x)
{
	struct actions *a = arg;
	struct susp *ns;

	if ((ns = realloc(a->susp, (a->nsusp + 1) * sizeof *ns)) == NULL)
		return;
	a->susp = ns;
	if ((ns[a->nsusp].customer = strdup(x->customer)) == NULL)
		return;
	ns[a->nsusp].suspended = strcmp(x->state, "suspended") == 0;
	ns[a->nsusp].dry_run = x->dry_run;
	ns[a->nsusp].automatic = strcmp(x->actor, AUTO_ACTOR) == 0;
	ns[a->nsusp].resume_failed = 0;
	ns[a->nsusp].since = x->since;
	a->nsusp++;
}

int
actions_set_config(struct actions *a, const struct rw_config *cfg)
{
	enum risk_level level = strcmp(cfg->hook_level, "warn") == 0 ? RISK_WARN : RISK_ACT;
	int more = cfg->hook_auto_suspend && (!a->auto_suspend ||
	    (a->dry_run && !cfg->hook_dry_run) || level < a->level);

	a->auto_suspend = cfg->hook_auto_suspend;
	a->dry_run = cfg->hook_dry_run;
	a->level = level;
	a->max_hour = cfg->hook_max_per_hour;
	a->max_range = cfg->hook_max_per_range;
	a->unsuspend_after = cfg->hook_unsuspend_after;
	a->retry_after = cfg->hook_retry_after;
	a->retries = cfg->hook_retries;
	return more;
}

static void audit_outcome(struct actions *a, int64_t id, const char *outcome,
    const char *detail);

/* An audit entry of a hook run that never got its result: the daemon stopped (a kill, a
 * crash, a stop) while it ran or waited to run again. Its outcome is still what was written
 * when it started ("hook started", "suspend hook started ...", "requested") or after an
 * exit 75 ("... exit 75 in N ms, will run again later"); a finished run's outcome begins
 * "suspend: ..." or similar, and quotes the hook's output only after that part. */
static int
unfinished(const struct store_audit *e)
{
	const char *ms;

	if (strcmp(e->action, "suspend") != 0 && strcmp(e->action, "resume") != 0)
		return 0;
	if (strncmp(e->outcome, "hook started", 12) == 0 || strcmp(e->outcome, "requested") == 0 ||
	    strncmp(e->outcome, "suspend hook started", 20) == 0 ||
	    strncmp(e->outcome, "unsuspend hook started", 22) == 0)
		return 1;
	/* the first " ms, " is the run's own: output comes after it */
	return (ms = strstr(e->outcome, " ms, ")) != NULL &&
	    strncmp(ms + 5, "will run again later", 20) == 0;
}

struct cut {
	int64_t id;
	char *customer;
	int automatic;
};

struct cuts {
	struct cut *v;
	size_t n;
};

static void
find_cut(void *arg, const struct store_audit *e)
{
	struct cuts *c = arg;
	struct cut *nv;

	if (!unfinished(e) || (nv = realloc(c->v, (c->n + 1) * sizeof *nv)) == NULL)
		return;
	c->v = nv;
	nv[c->n].id = e->id;
	nv[c->n].automatic = strcmp(e->actor, AUTO_ACTOR) == 0 && strcmp(e->action, "suspend") == 0;
	if ((nv[c->n].customer = strdup(e->customer)) != NULL)
		c->n++;
}

/* At start: the runs the last stop cut off are closed in the audit log, and the automatic
 * suspensions among them wait in redo for actions_redo() (they would otherwise wait for the
 * customer's next rise to the level, which at act never comes). An operator's run is not
 * run again: the operator is told through its outcome. The newest 1000 entries are looked
 * at: more runs than that under way at once is past the runner's queue (HOOK_QUEUE_MAX). */
static int
close_cut_runs(struct actions *a, char *err, size_t errlen)
{
	struct cuts c = { NULL, 0 };
	char **nr;
	size_t i, k;
	int ret = -1;

	if (store_audit_each(a->st, NULL, 0, 1000, find_cut, &c, err, errlen) == -1)
		goto out;
	for (i = 0; i < c.n; i++) {
		audit_outcome(a, c.v[i].id, c.v[i].automatic ? "interrupted: rangewatchd stopped "
		    "before the hook's result; asked again at its next start if still due" :
		    "interrupted: rangewatchd stopped before the hook's result; not run again: "
		    "ask again by hand if it is still needed", NULL);
		log_warnx("audit #%lld: a hook run for customer %s was cut off by the last stop%s",
		    (long long)c.v[i].id, c.v[i].customer, c.v[i].automatic ?
		    ": the automatic suspension is asked again if still due" : "");
		for (k = 0; k < a->nredo && c.v[i].automatic; k++)
			if (strcmp(a->redo[k], c.v[i].customer) == 0)
				break;
		if (!c.v[i].automatic || k < a->nredo)
			continue;
		if ((nr = realloc(a->redo, (a->nredo + 1) * sizeof *nr)) == NULL) {
			snprintf(err, errlen, "actions: out of memory");
			goto out;
		}
		a->redo = nr;
		a->redo[a->nredo++] = c.v[i].customer;
		c.v[i].customer = NULL;
	}
	ret = 0;
out:
	for (i = 0; i < c.n; i++)
		free(c.v[i].customer);
	free(c.v);
	return ret;
}

int
actions_redo(struct actions *a, const char *customer)
{
	size_t i;

	for (i = 0; i < a->nredo; i++)
		if (strcmp(a->redo[i], customer) == 0) {
			free(a->redo[i]);
			a->redo[i] = a->redo[--a->nredo];
			return 1;
		}
	return 0;
}

struct actions *
actions_new(struct loop *l, struct hook_runner *hook, struct store *st, struct alert *al,
    struct model *m, const struct rw_config *cfg, char *err, size_t errlen)
{
	struct actions *a = calloc(1, sizeof *a);

	if (a == NULL) {
		snprintf(err, errlen, "actions: out of memory");
		return NULL;
	}
	a->loop = l;
	a->hook = hook;
	a->st = st;
	a->alert = al;
	a->model = m;
	(void)actions_set_config(a, cfg);
	if (store_suspension_load(st, load_susp, a, err, errlen) == -1 ||
	    close_cut_runs(a, err, errlen) == -1) {
		actions_free(a);
		return NULL;
	}
	return a;
}

void
actions_free(struct actions *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->nredo; i++)
		free(a->redo[i]);
	free(a->redo);
	for (i = 0; i < a->nsusp; i++)
		free(a->susp[i].customer);
	for (i = 0; i < a->njob; i++)
		job_clear(&a->job[i]);
	free(a->susp);
	free(a->job);
	free(a->trip);
	free(a);
}

/* ------------------------------------------------------------------ pieces */

/* 1 when the space-separated words of list hold w. */
static int
has_word(const char *list, const char *w)
{
	size_t n = strlen(w);
	const char *p;

	for (p = list; (p = strstr(p, w)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
	return 0;
}

/* Appends w to the space-separated list out (off bytes used); -1 when it does not fit. */
static int
add_word(char *out, size_t len, size_t *off, const char *w)
{
	int n = snprintf(out + *off, len - *off, "%s%s", *off ? " " : "", w);

	if (n < 0 || (size_t)n >= len - *off) {
		out[*off] = '\0';
		return -1;
	}
	*off += (size_t)n;
	return 0;
}

/* How bad an address at issue is, for the order of RANGEWATCH_IPS: listed, then suspect,
 * then refusals and citations, then recipients. */
static uint64_t
addr_badness(const struct report_addr *ad)
{
	size_t i;
	int listed = 0;

	for (i = 0; i < ad->nlistings; i++)
		listed |= ad->listings[i].listed;
	return ((uint64_t)listed << 62) | ((uint64_t)(ad->suspect != 0) << 61) |
	    ((uint64_t)ad->replies_5xx + ad->cited) << 30 | (ad->rcpt_to & 0x3fffffffu);
}

static const struct report *sort_r;	/* qsort's context (one sort at a time) */

static int
cmp_worst(const void *x, const void *y)
{
	uint64_t a = addr_badness(&sort_r->addr[*(const size_t *)x]);
	uint64_t b = addr_badness(&sort_r->addr[*(const size_t *)y]);

	if (a != b)
		return a > b ? -1 : 1;
	return *(const size_t *)x < *(const size_t *)y ? -1 : 1;
}

/* RANGEWATCH_IPS: the customer's /32 (/128) blocks, then the addresses the report shows
 * sending or listed, worst first (addresses, never prefixes: those are RANGEWATCH_CIDRS);
 * at most HOOK_IPS_MAX. 1 when some were left out. r may be NULL. */
static int
ips_of(const struct customer *cu, const struct report *r, char *out, size_t len)
{
	char buf[CIDR_STRLEN];
	size_t i, off = 0, n = 0, *order = NULL;
	int cut = 0;

	out[0] = '\0';
	for (i = 0; i < cu->ncidrs; i++) {
		if (cidr_user_plen(&cu->cidrs[i]) != (addr_is_v4(&cu->cidrs[i].net) ? 32u : 128u))
			continue;
		addr_format(&cu->cidrs[i].net, buf, sizeof buf);
		if (n >= HOOK_IPS_MAX || add_word(out, len, &off, buf) == -1)
			return 1;
		n++;
	}
	if (r == NULL || r->naddr == 0)
		return 0;
	if ((order = malloc(r->naddr * sizeof *order)) == NULL)
		return 1;
	for (i = 0; i < r->naddr; i++)
		order[i] = i;
	sort_r = r;
	qsort(order, r->naddr, sizeof *order, cmp_worst);
	for (i = 0; i < r->naddr; i++) {
		const char *ip = r->addr[order[i]].ip;

		if (has_word(out, ip))
			continue;
		if (n >= HOOK_IPS_MAX || add_word(out, len, &off, ip) == -1) {
			cut = 1;
			break;
		}
		n++;
	}
	free(order);
	return cut;
}

/* RANGEWATCH_CIDRS: the customer's prefixes as customers.csv gives them, at most
 * HOOK_CIDRS_MAX. 1 when some were left out. */
static int
cidrs_of(const struct customer *cu, char *out, size_t len)
{
	char buf[CIDR_STRLEN];
	size_t i, off = 0;

	out[0] = '\0';
	for (i = 0; i < cu->ncidrs; i++) {
		cidr_format(&cu->cidrs[i], buf, sizeof buf);
		if (i >= HOOK_CIDRS_MAX || add_word(out, len, &off, buf) == -1)
			return 1;
	}
	return 0;
}

/* The automatic suspensions of the last hour, in all and in range. */
static void
trips(struct actions *a, const char *range, size_t *all, size_t *in_range)
{
	int64_t now = (int64_t)time(NULL);
	size_t i, j;

	for (i = j = 0; i < a->ntrip; i++)
		if (now - a->trip[i].ts < HOUR)
			a->trip[j++] = a->trip[i];
	a->ntrip = j;
	*all = a->ntrip;
	*in_range = 0;
	for (i = 0; i < a->ntrip; i++)
		if (range[0] != '\0' && strcmp(a->trip[i].range, range) == 0)
			(*in_range)++;
}

static void
trip_add(struct actions *a, const char *range)
{
	struct trip *nt = realloc(a->trip, (a->ntrip + 1) * sizeof *nt);

	if (nt == NULL)
		return;
	a->trip = nt;
	nt[a->ntrip].ts = (int64_t)time(NULL);
	snprintf(nt[a->ntrip].range, sizeof nt[a->ntrip].range, "%s", range);
	a->ntrip++;
}

/* Asks the runner to run job j; 0, or -1 with the reason in err. */
static int
submit(struct actions *a, struct job *j, char *err, size_t errlen)
{
	struct hook_request rq = { .action = j->action, .customer_id = j->customer,
	    .customer_name = j->name, .ips = j->ips, .ips_truncated = j->ips_cut,
	    .cidrs = j->cidrs, .cidrs_truncated = j->cidrs_cut, .level = j->level,
	    .reason = j->reason,
	    .event_id = j->event, .operator = j->operator[0] ? j->operator : NULL,
	    .dry_run = j->dry_run, .evidence_json = j->evidence };

	if (hook_submit(a->hook, &rq, &j->id, err, errlen) == -1) {
		a->stats.refused++;
		return -1;
	}
	j->due = 0;
	j->tries++;
	return 0;
}

/* The hook's stdin: the customer object of the flag (report_json), compact, at most
 * HOOK_EVIDENCE_MAX bytes by construction: past it the per-address detail ("addresses")
 * and then the prefixes ("ips") go, and "truncated": true says so (the addresses worst first
 * stay in RANGEWATCH_IPS). NULL when out of memory. */
static char *
evidence_of(const struct report *r)
{
	static const char *const drop[] = { "addresses", "ips", "neighbourhoods", "evidence" };
	json_t *o = report_json(r);
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	size_t i;

	for (i = 0; s != NULL && strlen(s) > HOOK_EVIDENCE_MAX; i++) {
		free(s);
		s = NULL;
		if (i < sizeof drop / sizeof drop[0]) {
			json_object_del(o, drop[i]);
			json_object_set_new(o, "truncated", json_true());
			s = json_dumps(o, JSON_COMPACT);
		} else
			s = strdup("{\"truncated\":true}");
	}
	json_decref(o);
	return s;
}

/* A new job, filled (r: the evidence, NULL none); NULL when out of memory. */
static struct job *
job_new(struct actions *a, const char *action, const struct customer *cu,
    const char *level, const char *reason, const char *event, const char *operator,
    const struct report *r, int64_t audit_id)
{
	struct job *nj = realloc(a->job, (a->njob + 1) * sizeof *nj), *j;
	char ips[IPS_MAX], cidrs[CIDRS_MAX];

	if (nj == NULL)
		return NULL;
	a->job = nj;
	j = &nj[a->njob];
	memset(j, 0, sizeof *j);
	snprintf(j->action, sizeof j->action, "%s", action);
	j->customer = dupz(cu->id);
	j->name = dupz(cu->name);
	j->ips_cut = ips_of(cu, r, ips, sizeof ips);
	j->cidrs_cut = cidrs_of(cu, cidrs, sizeof cidrs);
	j->ips = dupz(ips);
	j->cidrs = dupz(cidrs);
	j->level = dupz(level);
	j->reason = dupz(reason);
	j->event = dupz(event);
	j->operator = dupz(operator);
	j->evidence = r != NULL ? evidence_of(r) : dupz("{}");
	j->audit_id = audit_id;
	j->dry_run = a->dry_run;
	if (j->customer == NULL || j->name == NULL || j->ips == NULL || j->level == NULL ||
	    j->reason == NULL || j->event == NULL || j->operator == NULL || j->evidence == NULL ||
	    j->cidrs == NULL) {
		job_clear(j);
		return NULL;
	}
	a->njob++;
	return j;
}

static void
job_remove(struct actions *a, struct job *j)
{
	size_t i = (size_t)(j - a->job);

	job_clear(j);
	a->job[i] = a->job[--a->njob];
}

static void
audit_outcome(struct actions *a, int64_t id, const char *outcome, const char *detail)
{
	char err[256];

	if (store_audit_outcome(a->st, id, outcome, detail, err, sizeof err) == -1)
		log_warnx("actions: audit #%lld: %s", (long long)id, err);
}

/* The job under way for customer id (running, or waiting to run again), NULL when none. */
static struct job *
job_of(const struct actions *a, const char *id)
{
	size_t i;

	for (i = 0; i < a->njob; i++)
		if (strcmp(a->job[i].customer, id) == 0)
			return &a->job[i];
	return NULL;
}

/* The customer id as one shell word in w, for the command lines these messages suggest
 * (people paste them); "ID" when it does not fit, so that a cut never leaves a quote open. */
static const char *
shell_id(const char *id, char *w, size_t len)
{
	char *s = text_shell_word(id, strlen(id));

	if (s == NULL || strlen(s) >= len)
		snprintf(w, len, "ID");
	else
		snprintf(w, len, "%s", s);
	free(s);
	return w;
}

/* ------------------------------------------------------------------ automatic */

/* 1 with why in line (empty below the level) when customer cu at level is due no automatic
 * suspension: below the hook's level, suspended already, one under way, the hook off or
 * absent, tagged never_suspend, or at warn on weak evidence alone. 0 when it is. */
static int
auto_refused(struct actions *a, const struct customer *cu, enum risk_level level,
    const struct report *r, char *line, size_t len)
{
	const struct susp *s = susp_find(a, cu->id);
	const struct job *j;
	char w[256];

	if (level < a->level)
		return 1;
	/* once per customer: a suspension done (a dry run counts, until dry_run is turned
	 * off: then the real one is still to do), or one under way */
	if (s != NULL && s->suspended && (!s->dry_run || a->dry_run))
		snprintf(line, len, "already suspended%s since %lld", s->dry_run ? " (dry run)" :
		    "", (long long)s->since);
	else if ((j = job_of(a, cu->id)) != NULL)
		snprintf(line, len, "%s hook already under way (audit #%lld)", j->action,
		    (long long)j->audit_id);
	else if (a->hook == NULL || !a->auto_suspend)
		snprintf(line, len, "recommended: suspend (rangewatch suspend %s --reason TEXT)%s",
		    shell_id(cu->id, w, sizeof w), a->hook == NULL ?
		    "; no [hook] path configured" : "; auto_suspend is off");
	else if (customer_has_tag(cu, "never_suspend"))
		snprintf(line, len, "not suspended automatically: tagged never_suspend; "
		    "recommended: look at it by hand");
	else if (level < RISK_ACT && (r == NULL || r->strong_ips == 0))
		/* [hook] level = warn: a warn on weak evidence alone (volume, fan-out, flow
		 * estimates, complaint reports) is what an outsider can bring about, and the
		 * flag itself says "no suspension"; act always has strong evidence */
		snprintf(line, len, "not suspended automatically: weak evidence only; "
		    "recommended: look at it by hand");
	else
		return 0;
	return 1;
}

/* The circuit breaker: 1 with line saying so when the automatic suspensions of the last
 * hour, in all or in range, are at their bounds; the desk hears of it at most hourly. */
static int
breaker_open(struct actions *a, const char *id, const char *range, char *line, size_t len)
{
	char err[256], body[1024];
	size_t all, in_range;

	trips(a, range, &all, &in_range);
	if ((a->max_hour <= 0 || all < (size_t)a->max_hour) &&
	    (a->max_range <= 0 || in_range < (size_t)a->max_range))
		return 0;
	snprintf(line, len, "NOT suspended: circuit breaker open (%zu automatic suspensions in "
	    "the last hour, %zu in %s; bounds %d and %d)", all, in_range,
	    range[0] ? range : "its range", a->max_hour, a->max_range);
	a->stats.breaker++;
	/* the desk hears of an open breaker once an hour, not once per customer it stopped
	 * (a spam wave would send a mail for each) */
	if (a->breaker_said != 0 && time(NULL) - a->breaker_said < HOUR) {
		a->breaker_unsaid++;
		return 1;
	}
	snprintf(body, sizeof body, "rangewatch did not suspend customer %s: %s.\n"
	    "Automatic suspensions stop at the bounds of [hook] max_per_hour and "
	    "max_per_range until the hour has passed. %llu more were stopped since the "
	    "last notice; the next notice comes in an hour at the earliest (the audit log "
	    "and status count every one). Look at the flagged customers: "
	    "rangewatch customers\n", id, line, (unsigned long long)a->breaker_unsaid);
	if (alert_notice(a->alert, id, "CIRCUIT BREAKER OPEN: automatic suspensions "
	    "stopped", body, err, sizeof err) == -1)
		log_warnx("actions: circuit breaker notice: %s", err);
	log_warnx("customer %s: %s (%llu more stopped since the last notice; said at most "
	    "once an hour)", id, line, (unsigned long long)a->breaker_unsaid);
	a->breaker_said = (int64_t)time(NULL);
	a->breaker_unsaid = 0;
	return 1;
}

static struct job *
job_of_audit(const struct actions *a, int64_t audit_id)
{
	size_t i;

	for (i = 0; i < a->njob; i++)
		if (a->job[i].audit_id == audit_id)
			return &a->job[i];
	return NULL;
}

/* store_after: the audit row of an automatic suspension is durable (committed 1) or gone
 * (0: the level change it rode on was rolled back and is retried at the next minute, when
 * the suspension is asked again). Only a committed row's hook is asked of the runner: else
 * the hook would run unaudited, and its result land on the next row given the same id. */
static void
after_audit(void *arg, int64_t audit_id, int committed)
{
	struct actions *a = arg;
	struct job *j = job_of_audit(a, audit_id);
	char err[256], line[512];

	if (j == NULL || !j->uncommitted)
		return;
	j->uncommitted = 0;
	if (!committed) {
		log_warnx("customer %s: the audit entry of its automatic suspension was not "
		    "committed: the hook was not asked to run (asked again with the level "
		    "change)", j->customer);
		job_remove(a, j);
		return;
	}
	if (submit(a, j, err, sizeof err) == -1) {
		snprintf(a->submit_err, sizeof a->submit_err, "%s", err);
		snprintf(line, sizeof line, "NOT suspended: the hook could not start (%s)", err);
		audit_outcome(a, audit_id, line, NULL);
		log_warnx("customer %s: %s", j->customer, line);
		job_remove(a, j);
		return;
	}
	trip_add(a, j->range);
}

/* The automatic suspension of cu: audited first, asked of the runner once the audit row
 * is committed (at once outside a hold; else at the release of the level change's hold). */
static void
auto_suspend(struct actions *a, const struct customer *cu, enum risk_level level,
    int64_t event, const struct report *r, const char *range, char *line, size_t len)
{
	char reason[256], ev[32], err[256], w[256];
	struct store_audit au;
	struct job *j;
	int64_t id = 0;

	snprintf(reason, sizeof reason, "level %s%s%s", risk_level_name(level),
	    range[0] ? " in " : "", range);
	snprintf(ev, sizeof ev, "%lld", (long long)event);
	memset(&au, 0, sizeof au);
	au.ts = (int64_t)time(NULL);
	au.actor = AUTO_ACTOR;
	au.action = "suspend";
	au.customer = cu->id;
	au.reason = reason;
	au.outcome = a->dry_run ? "hook started (dry run)" : "hook started";
	au.detail = "";
	if (store_audit_add(a->st, &au, &id, err, sizeof err) == -1) {
		snprintf(line, len, "NOT suspended: the audit log refused the entry (%s)", err);
		log_warnx("customer %s: %s", cu->id, line);
		return;
	}
	if ((j = job_new(a, "suspend", cu, risk_level_name(level), reason, ev, NULL, r,
	    id)) == NULL) {
		snprintf(line, len, "NOT suspended: the hook could not start (out of memory)");
		audit_outcome(a, id, line, NULL);
		log_warnx("customer %s: %s", cu->id, line);
		return;
	}
	j->uncommitted = 1;
	snprintf(j->range, sizeof j->range, "%s", range);
	a->submit_err[0] = '\0';
	if (store_after(a->st, after_audit, a, id, err, sizeof err) == -1) {
		snprintf(line, len, "NOT suspended: the hook could not start (%s)", err);
		audit_outcome(a, id, line, NULL);
		log_warnx("customer %s: %s", cu->id, line);
		job_remove(a, j);
		return;
	}
	if (a->submit_err[0] != '\0') {	/* no hold: submitted (and refused) at once */
		snprintf(line, len, "NOT suspended: the hook could not start (%s)",
		    a->submit_err);
		return;
	}
	snprintf(line, len, "suspend hook started%s (audit #%lld; its result follows in the "
	    "audit log: rangewatch alerts --customer %s)", a->dry_run ? " in dry-run mode" : "",
	    (long long)id, shell_id(cu->id, w, sizeof w));
}

void
actions_flag(struct actions *a, long c, enum risk_level level, int64_t event,
    const struct report *r, char *line, size_t len)
{
	const struct customer *cu = customers_get(model_customers(a->model), (size_t)c);
	const char *range = r != NULL ? report_range(r) : "";

	line[0] = '\0';
	if (auto_refused(a, cu, level, r, line, len) ||
	    breaker_open(a, cu->id, range, line, len))
		return;
	auto_suspend(a, cu, level, event, r, range, line, len);
}

/* ------------------------------------------------------------------ by hand */

/* RANGEWATCH_OPERATOR from the audit's actor ("uid 1000 (alice)"): the login name, or
 * "uid:1000" when there is none. */
static void
operator_of(const char *actor, char *out, size_t len)
{
	const char *open = strchr(actor, '('), *close = strrchr(actor, ')');
	unsigned long uid;

	if (open != NULL && close != NULL && close > open + 1) {
		snprintf(out, len, "%.*s", (int)(close - open - 1), open + 1);
		return;
	}
	uid = strtoul(actor + (strncmp(actor, "uid ", 4) == 0 ? 4 : 0), NULL, 10);
	snprintf(out, len, "uid:%lu", uid);
}

int
actions_manual(struct actions *a, const char *action, long c, const char *reason,
    const char *actor, int64_t audit_id, const struct report *r, char *outcome, size_t len)
{
	const struct customer *cu = customers_get(model_customers(a->model), (size_t)c);
	const char *hook_action = strcmp(action, "resume") == 0 ? "unsuspend" : "suspend";
	const struct risk_flag *f = risk_flag_of(model_risk(a->model), c);
	char ev[32], err[256], op[80];
	struct job *j;

	if (a->hook == NULL) {
		snprintf(outcome, len, "%s recorded; no hook configured ([hook] path is empty)",
		    action);
		return 0;
	}
	snprintf(ev, sizeof ev, "%lld", (long long)audit_id);
	operator_of(actor, op, sizeof op);
	if ((j = job_new(a, hook_action, cu, risk_level_name(f != NULL ? f->level :
	    RISK_NONE), reason, ev, op, r, audit_id)) == NULL) {
		snprintf(outcome, len, "out of memory");
		return -1;
	}
	if (submit(a, j, err, sizeof err) == -1) {
		snprintf(outcome, len, "the hook could not start: %s", err);
		job_remove(a, j);
		return -1;
	}
	snprintf(outcome, len, "%s hook started%s; its result follows in the audit log",
	    hook_action, a->dry_run ? " in dry-run mode" : "");
	return 0;
}

/* ------------------------------------------------------------------ results */

void
actions_hook_done(struct actions *a, const struct hook_result *r)
{
	struct job *j = NULL;
	char outcome[1024], body[2048], what[256], err[256], w[256], *detail;
	json_t *d;
	size_t i;
	int ok, retry;

	for (i = 0; i < a->njob; i++)
		if (a->job[i].id == r->job && a->job[i].due == 0)
			j = &a->job[i];
	if (j == NULL)
		return;
	ok = r->error == NULL && !r->timed_out && r->exit_code == 0;
	retry = r->error == NULL && !r->timed_out && r->exit_code == 75 &&
	    j->tries <= a->retries;
	if (r->error != NULL)
		snprintf(outcome, sizeof outcome, "%s: could not run: %s", j->action, r->error);
	else if (r->timed_out)
		snprintf(outcome, sizeof outcome, "%s: killed after its timeout (%lld ms)",
		    j->action, (long long)r->duration_ms);
	else if (r->signal != 0)
		snprintf(outcome, sizeof outcome, "%s: killed by signal %d after %lld ms",
		    j->action, r->signal, (long long)r->duration_ms);
	else
		snprintf(outcome, sizeof outcome, "%s%s: exit %d in %lld ms%s%s%s", j->action,
		    j->dry_run ? " (dry run)" : "", r->exit_code, (long long)r->duration_ms,
		    ok ? ", done" : retry ? ", will run again later" : ", FAILED",
		    r->output != NULL && r->output[0] ? ": " : "",
		    r->output != NULL ? r->output : "");
	d = json_pack("{s:s, s:i, s:i, s:b, s:I, s:o, s:I, s:s, s:b, s:i}", "action", j->action,
	    "exit_code", r->exit_code, "signal", r->signal, "timed_out", r->timed_out,
	    "duration_ms", (json_int_t)r->duration_ms, "output", text_json(r->output),
	    "output_dropped", (json_int_t)r->output_dropped, "event_id", j->event, "dry_run",
	    j->dry_run, "try", j->tries);
	detail = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	audit_outcome(a, j->audit_id, outcome, detail);
	free(detail);
	log_info("hook for customer %s: %s", j->customer, outcome);
	a->stats.runs++;
	if (!ok && !retry)
		a->stats.failed++;
	if (r->output_dropped > 0) {
		a->stats.output_cut++;
		a->stats.output_dropped += r->output_dropped;
		if (!a->logged_output) {
			a->logged_output = 1;
			log_warnx("hook for customer %s wrote more than %d bytes: only those are "
			    "kept (in the audit log), the other %llu were dropped; said once, "
			    "counted in status (hooks.output_cut, output_dropped)", j->customer,
			    HOOK_OUTPUT_MAX, (unsigned long long)r->output_dropped);
		}
	}
	if (ok)
		susp_set(a, j->customer, strcmp(j->action, "suspend") == 0, j->dry_run,
		    j->operator[0] == '\0', j->operator[0] ? j->operator : AUTO_ACTOR,
		    j->audit_id);
	if (retry) {
		j->id = 0;
		j->due = (int64_t)time(NULL) + a->retry_after;
		return;
	}
	if (!ok) {
		struct susp *su = susp_find(a, j->customer);

		/* an automatic resume that failed is not tried again every tick: by hand */
		if (su != NULL && strcmp(j->action, "unsuspend") == 0 && j->operator[0] == '\0')
			su->resume_failed = 1;
		snprintf(what, sizeof what, "HOOK FAILED: %s of customer %s", j->action,
		    j->customer);
		snprintf(body, sizeof body, "The suspend hook did not do what it was asked.\n\n"
		    "customer: %s %s\naction: %s%s\nasked by: %s\nresult: %s\n\nThe audit log has "
		    "the whole run: rangewatch alerts --customer %s\n", j->customer, j->name,
		    j->action, j->dry_run ? " (dry run)" : "", j->operator[0] ? j->operator :
		    AUTO_ACTOR, outcome, shell_id(j->customer, w, sizeof w));
		if (alert_notice(a->alert, j->customer, what, body, err, sizeof err) == -1)
			log_warnx("actions: hook failure notice: %s", err);
	}
	job_remove(a, j);
}

void
actions_tick(struct actions *a, int64_t now)
{
	char err[256], ev[32];
	size_t i;

	for (i = 0; a->hook != NULL && i < a->njob; i++) {
		struct job *j = &a->job[i];

		if (j->due == 0 || j->due > now)
			continue;
		if (submit(a, j, err, sizeof err) == -1) {
			log_warnx("actions: customer %s: the hook could not start again: %s",
			    j->customer, err);
			j->due = now + a->retry_after;
		}
	}
	if (a->hook == NULL || a->unsuspend_after <= 0)
		return;
	/* automatic suspensions of customers quiet long enough are lifted */
	for (i = 0; i < a->nsusp; i++) {
		struct susp *s = &a->susp[i];
		long c = customers_find(model_customers(a->model), s->customer);
		struct model_customer mc;
		struct store_audit au;
		struct job *j;
		int64_t id = 0;
		size_t k;
		int busy = 0;

		if (!s->suspended || !s->automatic || s->resume_failed || c < 0 ||
		    model_customer(a->model, c, &mc) == -1 || mc.level != RISK_NONE ||
		    now - (mc.since > s->since ? mc.since : s->since) < a->unsuspend_after)
			continue;
		for (k = 0; k < a->njob; k++)
			busy |= strcmp(a->job[k].customer, s->customer) == 0;
		if (busy)
			continue;
		memset(&au, 0, sizeof au);
		au.ts = now;
		au.actor = AUTO_ACTOR;
		au.action = "resume";
		au.customer = s->customer;
		au.reason = "quiet since its suspension ([hook] unsuspend_after)";
		au.outcome = "unsuspend hook started";
		au.detail = "";
		if (store_audit_add(a->st, &au, &id, err, sizeof err) == -1) {
			log_warnx("actions: %s", err);
			continue;
		}
		snprintf(ev, sizeof ev, "%lld", (long long)id);
		j = job_new(a, "unsuspend", customers_get(model_customers(a->model), (size_t)c),
		    "none", au.reason, ev, NULL, NULL, id);
		if (j == NULL || submit(a, j, err, sizeof err) == -1) {
			audit_outcome(a, id, "unsuspend: the hook could not start", NULL);
			if (j != NULL)
				job_remove(a, j);
		}
	}
}

void
actions_get_stats(const struct actions *a, struct actions_stats *out)
{
	*out = a->stats;
}

int
actions_suspended(const struct actions *a, const char *id, int64_t *since, int *dry_run)
{
	const struct susp *s = susp_find(a, id);

	if (s == NULL || !s->suspended)
		return 0;
	if (since != NULL)
		*since = s->since;
	if (dry_run != NULL)
		*dry_run = s->dry_run;
	return 1;
}
