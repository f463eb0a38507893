/*
 * test_actions.c — the suspend hook's policy (monitor/actions.c) over real parts: a store in
 * a fresh folder, listings and a model over small prefixes/customers/lists files, a loop, an
 * alert object whose SMTP server is a closed port (nothing is delivered: the outbox rows are
 * what is checked), and a real hook runner running a test hook script that records its argv,
 * environment and stdin into files and exits with the codes a test asks for. Checks, with
 * exact values: an automatic suspension at the [hook] level only, with auto_suspend on, never
 * for never_suspend; the audit row written before the hook runs and its outcome when it ends;
 * once per customer, also after a restart (the store's suspension rows); dry run; the circuit
 * breaker per hour and per range (the range of the flag's first range-scope neighbourhood)
 * with its notice; exit 75 run again after retry_after at most `retries` times, then a
 * failure; a failure mailed ("HOOK FAILED"); an operator's resume and suspend with
 * RANGEWATCH_OPERATOR; unsuspend_after for automatic suspensions at level none only; the
 * counters of the hook's bounds (output, evidence, failures). Three tests of the bugs these
 * tests found (fixed).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "actions.h"
#include "alert.h"
#include "config.h"
#include "customers.h"
#include "dnsbl.h"
#include "dnsbl_lists.h"
#include "hook.h"
#include "listings.h"
#include "loop.h"
#include "model.h"
#include "prefixes.h"
#include "risk.h"
#include "store.h"
#include "traffic.h"
#include "testaddr.h"
#include "testfiles.h"
#include "modelfix.h"
#include "reportfix.h"

#define T0		1717200000LL	/* the model's clock: 2024-06-01 00:00 UTC */
#define AUTO		"rangewatchd (automatic)"
#define RANGE1		"203.0.113.0/24"
#define RANGE2		"192.0.2.0/24"

static const char PREFIXES[] =
    "203.0.113.0/24 64500\n"
    "192.0.2.0/24 64500\n"
    "198.51.100.0/24 64501\n"
    "198.18.0.0/15 64502\n"
    "2001:db8::/32 64500\n";

static const char CUSTOMERS[] =
    "id,name,cidrs,contact,tags\n"
    "4711,Acme VPS,203.0.113.0/28,a@example.net,\n"
    "100,Innocent,203.0.113.64/26,b@example.net,\n"
    "300,Tiny,192.0.2.0/28,d@example.net,never_suspend\n"
    "500,Single,203.0.113.200/32 2001:db8::7/128 203.0.113.208/29,s@example.net,\n"
    "601,R1a,203.0.113.16/30,r@example.net,\n"
    "602,R1b,203.0.113.20/30,r@example.net,\n"
    "603,R1c,203.0.113.24/30,r@example.net,\n"
    "604,R2a,192.0.2.16/30,r@example.net,\n"
    "605,R2b,192.0.2.20/30,r@example.net,\n"
    "606,Norange,198.51.100.0/30,r@example.net,\n"
    "700,Big,198.18.0.0/20,big@example.net,\n";

static const char LISTS[] =
    "[list \"uceprotect-1\"]\n"
    "zone = dnsbl-1.uceprotect.test\n"
    "scope = ip\n";

/* The hook: one line per run into calls.log, argv and environment into run.ID.TRY, stdin
 * into stdin.ID.TRY; exits with line TRY of codes.ID (0 when none). OUT is replaced. */
static const char HOOK[] =
    "#!/bin/sh\n"
    "o=OUT\n"
    "echo \"$1 $2\" >> $o/calls.log\n"
    "k=$(cat $o/tries.$2 2>/dev/null || echo 0); k=$((k+1)); echo $k > $o/tries.$2\n"
    "{ printf '%s|' \"$#\" \"$@\"; echo; tr '\\0' '\\n' < /proc/$$/environ; } > $o/run.$2.$k\n"
    "cat > $o/stdin.$2.$k\n"
    "code=$(sed -n \"${k}p\" $o/codes.$2 2>/dev/null)\n"
    "echo \"ran $1 $2 try $k\"\n"
    "[ -f $o/big.$2 ] && head -c 20000 /dev/zero | tr '\\0' a\n"
    "exit ${code:-0}\n";

struct fx {
	struct modelfix mf;	/* its folder root's, 0755: the hook and the data files */
	char *real;
	char out[128];		/* where the hook (nobody) writes: 0777 */
	char hook[160];
	struct loop *l;
	struct rw_config *cfg;
	struct alert *al;
	struct hook_runner *h;
	struct actions *a;
	size_t ndone;		/* hook results handed on */
};

static void
on_done(void *arg, const struct hook_result *r)
{
	struct fx *f = arg;

	f->ndone++;
	actions_hook_done(f->a, r);
}

static void
set_str(char **field, const char *v)
{
	free(*field);
	assert_non_null(*field = strdup(v));
}

static struct actions *
new_actions(struct fx *f, struct hook_runner *h)
{
	char err[256] = "";
	struct actions *a = actions_new(f->l, h, f->mf.st, f->al, f->mf.m, f->cfg, err,
	    sizeof err);

	if (a == NULL)
		fail_msg("actions_new: %s", err);
	return a;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char err[512] = "", *text, *at;
	size_t n;

	if (f == NULL)
		return -1;
	mf_files(&f->mf, "actions", PREFIXES, CUSTOMERS, LISTS);
	if (chmod(f->mf.dir, 0755) == -1 || (f->real = realpath(f->mf.dir, NULL)) == NULL)
		return -1;
	snprintf(f->out, sizeof f->out, "%s/out", f->real);
	if (mkdir(f->out, 0777) == -1 || chmod(f->out, 0777) == -1)
		return -1;

	/* the hook script, root's, 0755, with OUT replaced */
	n = sizeof HOOK + strlen(f->out);
	assert_non_null(text = malloc(n));
	at = strstr(HOOK, "OUT");
	snprintf(text, n, "%.*s%s%s", (int)(at - HOOK), HOOK, f->out, at + 3);
	snprintf(f->hook, sizeof f->hook, "%s/hook.sh", f->real);
	write_file(f->hook, text, 0);
	free(text);
	assert_int_equal(chmod(f->hook, 0755), 0);

	mf_open(&f->mf, T0, NULL, NULL, NULL);
	assert_int_equal(model_tick(f->mf.m, T0 + 10), 1);
	assert_non_null(f->l = loop_new());

	f->cfg = config_default();
	set_str(&f->cfg->alert_smtp_url, "smtp://127.0.0.1:1");	/* closed: nothing sent */
	set_str(&f->cfg->alert_from, "rangewatch@example.net");
	set_str(&f->cfg->alert_to, "abuse@example.net");
	set_str(&f->cfg->hook_path, f->hook);
	f->cfg->hook_auto_suspend = 1;
	f->cfg->hook_dry_run = 0;
	set_str(&f->cfg->hook_level, "act");
	f->cfg->hook_max_per_hour = 10;
	f->cfg->hook_max_per_range = 3;
	f->cfg->hook_unsuspend_after = 0;
	f->cfg->hook_retry_after = 100;
	f->cfg->hook_retries = 2;
	if ((f->al = alert_new(f->l, f->mf.st, f->cfg, err, sizeof err)) == NULL)
		fail_msg("alert_new: %s", err);
	/* as root the hook runs as nobody; else as ourselves */
	if ((f->h = hook_runner_start(f->hook, "nobody", 10, err, sizeof err)) == NULL)
		fail_msg("hook_runner_start: %s", err);
	assert_int_equal(hook_runner_attach(f->h, f->l, on_done, f), 0);
	f->a = new_actions(f, f->h);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	actions_free(f->a);
	hook_runner_free(f->h);
	alert_free(f->al);
	loop_free(f->l);
	config_free(f->cfg);
	mf_teardown(&f->mf);
	free(f->real);
	free(f);
	return 0;
}

/* ------------------------------------------------------------------ helpers */

/* A flag of customer id at level: range is the key of its range-scope neighbourhood
 * (after an asn-scope one, and before a second range-scope one), NULL none; ips are its
 * addresses (space-separated, may be NULL). report_free() it. */
static struct report *
detail_of(const char *id, const char *name, enum risk_level level, const char *range,
    const char *ips)
{
	struct report *r = rf_new(id, name, level, RISK_NONE, 2.5);
	char buf[256], *tok, *save = NULL;

	rf_evidence(r, "listed on bl");
	r->strong_ips = level >= RISK_WARN;	/* a listing is strong evidence */
	rf_nb(r, "asn-rep", RISK_SCOPE_ASN, "AS64500", 1, 10);
	if (range != NULL) {
		rf_nb(r, "range-rep", RISK_SCOPE_RANGE, range, 2, 4);
		rf_nb(r, "other", RISK_SCOPE_RANGE, "10.99.0.0/16", 0, 0);
	}
	if (ips == NULL)
		return r;
	snprintf(buf, sizeof buf, "%s", ips);
	for (tok = strtok_r(buf, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save))
		rf_addr(r, tok)->sent = 0;
	return r;
}

/* The hook's stdin for flag r: its customer object, compact. malloc'd. */
static char *
evidence_json(const struct report *r)
{
	json_t *o = report_json(r);
	char *s = json_dumps(o, JSON_COMPACT);

	assert_non_null(s);
	json_decref(o);
	return s;
}

/* actions_flag with a detail of customer id; line into line (static when NULL). */
static const char *
flag(struct fx *f, const char *id, enum risk_level level, int64_t event, const char *range,
    const char *ips)
{
	static char line[1024];
	const struct customer *cu = customers_get(model_customers(f->mf.m),
	    (size_t)mf_cidx(&f->mf, id));
	struct report *d = detail_of(id, cu->name, level, range, ips);

	memset(line, 'x', sizeof line);
	actions_flag(f->a, mf_cidx(&f->mf, id), level, event, d, line, sizeof line);
	report_free(d);
	return line;
}

/* Runs the loop until n results in all were handed on, at most ms. */
static void
wait_done(struct fx *f, size_t n, int ms)
{
	int64_t until = loop_now_ms() + ms;

	while (f->ndone < n && loop_now_ms() < until)
		assert_int_equal(loop_once(f->l, 100), 0);
	assert_int_equal(f->ndone, n);
	assert_int_equal(hook_pending(f->h), 0);
}

/* Runs the loop ms long (to see that nothing more comes). */
static void
settle(struct fx *f, int ms)
{
	int64_t until = loop_now_ms() + ms;

	while (loop_now_ms() < until)
		assert_int_equal(loop_once(f->l, 50), 0);
}

/* A file of the hook's folder, whole (static buffer; "" when missing). */
static const char *
slurp(struct fx *f, const char *name)
{
	static char buf[16384];
	char path[256];
	size_t n = 0;
	FILE *fp;

	buf[0] = '\0';
	snprintf(path, sizeof path, "%s/%s", f->out, name);
	if ((fp = fopen(path, "rb")) == NULL)
		return buf;
	n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return buf;
}

static void
codes(struct fx *f, const char *id, const char *lines)
{
	char path[256];

	snprintf(path, sizeof path, "%s/codes.%s", f->out, id);
	write_file(path, lines, 0);
	assert_int_equal(chmod(path, 0644), 0);
}

/* The hook's runs so far, one "ACTION ID" line each. */
static const char *
calls(struct fx *f)
{
	return slurp(f, "calls.log");
}

/* What run.ID.TRY must hold: argv and the whole environment. */
static const char *
want_run(const char *action, const char *id, const char *name, const char *ips,
    const char *level, const char *reason, const char *event, int dry_run,
    const char *operator)
{
	static char buf[2048];
	char op[128] = "";

	char cidrs[256] = "", key[32];
	const char *at, *end;

	/* RANGEWATCH_CIDRS: the cidrs field of the customer's line in CUSTOMERS */
	snprintf(key, sizeof key, "\n%s,", id);
	if ((at = strstr(CUSTOMERS, key)) != NULL && (at = strchr(at + 1, ',')) != NULL &&
	    (at = strchr(at + 1, ',')) != NULL && (end = strchr(at + 1, ',')) != NULL)
		snprintf(cidrs, sizeof cidrs, "%.*s", (int)(end - at - 1), at + 1);
	if (operator != NULL)
		snprintf(op, sizeof op, "RANGEWATCH_OPERATOR=%s\n", operator);
	snprintf(buf, sizeof buf, "2|%s|%s|\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\nLANG=C.UTF-8\n"
	    "RANGEWATCH_ACTION=%s\nRANGEWATCH_CUSTOMER_ID=%s\nRANGEWATCH_CUSTOMER_NAME=%s\n"
	    "RANGEWATCH_IPS=%s\nRANGEWATCH_CIDRS=%s\nRANGEWATCH_LEVEL=%s\nRANGEWATCH_REASON=%s\n"
	    "RANGEWATCH_EVENT_ID=%s\nRANGEWATCH_DRY_RUN=%d\n%s", action, id, action, id, name,
	    ips, cidrs, level, reason, event, dry_run, op);
	return buf;
}

/* ---- audit rows */

struct arow {
	int64_t id, ts;
	char actor[64], action[16], customer[16], reason[256], outcome[512], detail[1024];
};

struct arows {
	struct arow r[32];
	size_t n;
};

static void
audit_cb(void *arg, const struct store_audit *a)
{
	struct arows *x = arg;
	struct arow *r;

	assert_true(x->n < 32);
	r = &x->r[x->n++];
	r->id = a->id;
	r->ts = a->ts;
	snprintf(r->actor, sizeof r->actor, "%s", a->actor);
	snprintf(r->action, sizeof r->action, "%s", a->action);
	snprintf(r->customer, sizeof r->customer, "%s", a->customer);
	snprintf(r->reason, sizeof r->reason, "%s", a->reason);
	snprintf(r->outcome, sizeof r->outcome, "%s", a->outcome);
	snprintf(r->detail, sizeof r->detail, "%s", a->detail);
}

/* The audit rows (of customer id, or all when NULL), newest first. */
static struct arows *
audits(struct fx *f, const char *id)
{
	static struct arows x;
	char err[256] = "";

	memset(&x, 0, sizeof x);
	if (store_audit_each(f->mf.st, id, 0, 0, audit_cb, &x, err, sizeof err) == -1)
		fail_msg("store_audit_each: %s", err);
	return &x;
}

/* s is "PREFIX<digits>SUFFIX" (a duration in ms in the middle). */
static void
assert_ms(const char *s, const char *prefix, const char *suffix)
{
	size_t lp = strlen(prefix), ls = strlen(suffix), n = strlen(s), i;

	if (n < lp + ls + 1 || strncmp(s, prefix, lp) != 0 || strcmp(s + n - ls, suffix) != 0)
		fail_msg("\"%s\" is not \"%s<ms>%s\"", s, prefix, suffix);
	for (i = lp; i < n - ls; i++)
		if (s[i] < '0' || s[i] > '9')
			fail_msg("\"%s\" is not \"%s<ms>%s\"", s, prefix, suffix);
}

/* The audit detail JSON of a hook result: its fields but the duration, exact. */
static void
assert_detail(const char *detail, const char *action, int exit_code, const char *output,
    const char *event, int dry_run, int try)
{
	json_error_t je;
	json_t *d = json_loads(detail, 0, &je);

	if (d == NULL)
		fail_msg("audit detail is not JSON: %s (%s)", detail, je.text);
	assert_int_equal(json_object_size(d), 10);
	assert_string_equal(json_string_value(json_object_get(d, "action")), action);
	assert_int_equal(json_integer_value(json_object_get(d, "exit_code")), exit_code);
	assert_int_equal(json_integer_value(json_object_get(d, "signal")), 0);
	assert_true(json_is_false(json_object_get(d, "timed_out")));
	assert_true(json_is_integer(json_object_get(d, "duration_ms")));
	assert_string_equal(json_string_value(json_object_get(d, "output")), output);
	assert_int_equal(json_integer_value(json_object_get(d, "output_dropped")), 0);
	assert_string_equal(json_string_value(json_object_get(d, "event_id")), event);
	assert_true(json_is_boolean(json_object_get(d, "dry_run")));
	assert_int_equal(json_is_true(json_object_get(d, "dry_run")), dry_run);
	assert_int_equal(json_integer_value(json_object_get(d, "try")), try);
	json_decref(d);
}

/* ---- suspension rows */

struct srow {
	char customer[16], state[16], actor[64];
	int64_t since, audit_id;
	int dry_run;
};

struct srows {
	struct srow r[16];
	size_t n;
};

static void
susp_cb(void *arg, const struct store_suspension *s)
{
	struct srows *x = arg;
	struct srow *r;

	assert_true(x->n < 16);
	r = &x->r[x->n++];
	snprintf(r->customer, sizeof r->customer, "%s", s->customer);
	snprintf(r->state, sizeof r->state, "%s", s->state);
	snprintf(r->actor, sizeof r->actor, "%s", s->actor);
	r->since = s->since;
	r->audit_id = s->audit_id;
	r->dry_run = s->dry_run;
}

static struct srows *
suspensions(struct fx *f)
{
	static struct srows x;
	char err[256] = "";

	memset(&x, 0, sizeof x);
	if (store_suspension_load(f->mf.st, susp_cb, &x, err, sizeof err) == -1)
		fail_msg("store_suspension_load: %s", err);
	return &x;
}

/* ---- outbox rows */

struct orow {
	char kind[16], customer[16], level[16], state[16], subject[256], recipients[128];
	char *payload;
};

struct orows {
	struct orow r[16];
	size_t n;
};

static void
outbox_cb(void *arg, const struct store_outbox *o)
{
	struct orows *x = arg;
	struct orow *r;

	assert_true(x->n < 16);
	r = &x->r[x->n++];
	snprintf(r->kind, sizeof r->kind, "%s", o->kind);
	snprintf(r->customer, sizeof r->customer, "%s", o->customer);
	snprintf(r->level, sizeof r->level, "%s", o->level);
	snprintf(r->state, sizeof r->state, "%s", o->state);
	snprintf(r->subject, sizeof r->subject, "%s", o->subject);
	snprintf(r->recipients, sizeof r->recipients, "%s", o->recipients);
	assert_non_null(r->payload = strndup(o->payload, o->payload_len));
}

static void
orows_clear(struct orows *x)
{
	size_t i;

	for (i = 0; i < x->n; i++)
		free(x->r[i].payload);
	memset(x, 0, sizeof *x);
}

/* The outbox rows, newest first (the payloads of the last call are freed). */
static struct orows *
outbox(struct fx *f)
{
	static struct orows x;
	char err[256] = "";

	orows_clear(&x);
	if (store_outbox_each(f->mf.st, NULL, 0, 0, outbox_cb, &x, err, sizeof err) == -1)
		fail_msg("store_outbox_each: %s", err);
	return &x;
}

/* A notice mail row for customer id with the subject "[rangewatch] what". */
static void
assert_notice(const struct orow *r, const char *id, const char *what)
{
	char want[256];

	snprintf(want, sizeof want, "[rangewatch] %s", what);
	assert_string_equal(r->kind, "mail");
	assert_string_equal(r->customer, id);
	assert_string_equal(r->level, "notice");
	assert_string_equal(r->subject, want);
	assert_string_equal(r->recipients, "abuse@example.net");
}

/* uceprotect-1 lists key at now (or clears it). */
static void
list_key(struct fx *f, const char *key, int listed, int64_t now)
{
	mf_list(&f->mf, "uceprotect-1", key, listed, NULL, now);
}

/* ------------------------------------------------------------------ tests */

/* Automatic at act: the audit row before the run, argv/env/stdin exact, the outcome
 * afterwards, the suspension kept (in memory, in the store, across a restart), never twice. */
static void
test_auto_suspend(void **state)
{
	struct fx *f = *state;
	struct arows *au;
	struct srows *sr;
	struct report *d;
	char want[512], *ev;
	int64_t since = 0, id, t0 = (int64_t)time(NULL);
	int dry = -1;

	/* below the level: nothing at all */
	assert_string_equal(flag(f, "4711", RISK_WATCH, 40, RANGE1, "203.0.113.5"), "");
	assert_string_equal(flag(f, "4711", RISK_WARN, 41, RANGE1, "203.0.113.5"), "");
	assert_int_equal(audits(f, NULL)->n, 0);

	d = detail_of("4711", "Acme VPS", RISK_ACT, RANGE1, "203.0.113.5 203.0.113.6 203.0.113.5");
	actions_flag(f->a, mf_cidx(&f->mf, "4711"), RISK_ACT, 42, d, want, sizeof want);
	/* the audit row is there before the hook ran */
	au = audits(f, NULL);
	assert_int_equal(au->n, 1);
	id = au->r[0].id;
	assert_true(id > 0);
	assert_true(au->r[0].ts >= t0 && au->r[0].ts <= t0 + 2);
	assert_string_equal(au->r[0].actor, AUTO);
	assert_string_equal(au->r[0].action, "suspend");
	assert_string_equal(au->r[0].customer, "4711");
	assert_string_equal(au->r[0].reason, "level act in " RANGE1);
	assert_string_equal(au->r[0].outcome, "hook started");
	assert_string_equal(au->r[0].detail, "");
	{
		char line[512];

		snprintf(line, sizeof line, "suspend hook started (audit #%lld; its result "
		    "follows in the audit log: rangewatch alerts --customer 4711)", (long long)id);
		assert_string_equal(want, line);
	}
	assert_int_equal(actions_suspended(f->a, "4711", NULL, NULL), 0);	/* not yet */
	assert_int_equal(hook_pending(f->h), 1);
	assert_string_equal(calls(f), "");

	wait_done(f, 1, 5000);
	assert_string_equal(calls(f), "suspend 4711\n");
	assert_string_equal(slurp(f, "run.4711.1"), want_run("suspend", "4711", "Acme VPS",
	    "203.0.113.5 203.0.113.6", "act", "level act in " RANGE1, "42", 0, NULL));
	ev = evidence_json(d);
	assert_string_equal(slurp(f, "stdin.4711.1"), ev);
	free(ev);
	report_free(d);

	au = audits(f, NULL);
	assert_int_equal(au->n, 1);
	assert_int_equal(au->r[0].id, id);
	assert_ms(au->r[0].outcome, "suspend: exit 0 in ", " ms, done: ran suspend 4711 try 1");
	assert_detail(au->r[0].detail, "suspend", 0, "ran suspend 4711 try 1", "42", 0, 1);

	assert_int_equal(actions_suspended(f->a, "4711", &since, &dry), 1);
	assert_true(since >= t0 && since <= (int64_t)time(NULL));
	assert_int_equal(dry, 0);
	assert_int_equal(actions_suspended(f->a, "100", NULL, NULL), 0);
	sr = suspensions(f);
	assert_int_equal(sr->n, 1);
	assert_string_equal(sr->r[0].customer, "4711");
	assert_string_equal(sr->r[0].state, "suspended");
	assert_string_equal(sr->r[0].actor, AUTO);
	assert_int_equal(sr->r[0].since, since);
	assert_int_equal(sr->r[0].dry_run, 0);
	assert_int_equal(sr->r[0].audit_id, id);

	/* once per customer: a later flag at act (or warn again) does nothing */
	snprintf(want, sizeof want, "already suspended since %lld", (long long)since);
	assert_string_equal(flag(f, "4711", RISK_ACT, 43, RANGE1, "203.0.113.5"), want);
	settle(f, 300);
	assert_string_equal(calls(f), "suspend 4711\n");
	assert_int_equal(audits(f, NULL)->n, 1);

	/* a restart: the store remembers */
	actions_free(f->a);
	f->a = new_actions(f, f->h);
	assert_int_equal(actions_suspended(f->a, "4711", &since, &dry), 1);
	assert_int_equal(since, sr->r[0].since);
	assert_string_equal(flag(f, "4711", RISK_ACT, 44, RANGE1, "203.0.113.5"), want);
	settle(f, 300);
	assert_string_equal(calls(f), "suspend 4711\n");
	assert_int_equal(audits(f, NULL)->n, 1);
	assert_int_equal(outbox(f)->n, 0);		/* nothing failed: nothing mailed */
	orows_clear(outbox(f));
}

/* RANGEWATCH_IPS: the customer's /32 and /128 blocks first, then the flag's addresses
 * not already there; no range neighbourhood: "level act" alone. */
static void
test_ips_and_no_range(void **state)
{
	struct fx *f = *state;

	flag(f, "500", RISK_ACT, 7, NULL, "203.0.113.210 203.0.113.200 203.0.113.211");
	wait_done(f, 1, 5000);
	assert_string_equal(slurp(f, "run.500.1"), want_run("suspend", "500", "Single",
	    "203.0.113.200 2001:db8::7 203.0.113.210 203.0.113.211", "act", "level act", "7",
	    0, NULL));
	assert_string_equal(audits(f, "500")->r[0].reason, "level act");
	orows_clear(outbox(f));
}

/* What keeps the hook from running: auto_suspend off, no hook, never_suspend; level warn
 * suspends at warn, but not a warn on weak evidence alone. */
static void
test_policy(void **state)
{
	struct fx *f = *state;
	struct actions *nohook;
	char line[512];

	f->cfg->hook_auto_suspend = 0;
	actions_set_config(f->a, f->cfg);
	assert_string_equal(flag(f, "4711", RISK_ACT, 1, RANGE1, NULL), "recommended: suspend "
	    "(rangewatch suspend 4711 --reason TEXT); auto_suspend is off");

	nohook = new_actions(f, NULL);
	{
		struct report *d = detail_of("4711", "Acme VPS", RISK_ACT, RANGE1, NULL);

		actions_flag(nohook, mf_cidx(&f->mf, "4711"), RISK_ACT, 1, d, line, sizeof line);
		report_free(d);
	}
	assert_string_equal(line, "recommended: suspend (rangewatch suspend 4711 --reason "
	    "TEXT); no [hook] path configured");
	actions_free(nohook);

	f->cfg->hook_auto_suspend = 1;
	actions_set_config(f->a, f->cfg);
	assert_string_equal(flag(f, "300", RISK_ACT, 2, RANGE2, "192.0.2.3"), "not suspended "
	    "automatically: tagged never_suspend; recommended: look at it by hand");
	settle(f, 300);
	assert_string_equal(calls(f), "");
	assert_int_equal(audits(f, NULL)->n, 0);
	assert_int_equal(suspensions(f)->n, 0);

	/* [hook] level = warn: warn suspends, on strong evidence only */
	set_str(&f->cfg->hook_level, "warn");
	actions_set_config(f->a, f->cfg);
	assert_string_equal(flag(f, "100", RISK_WATCH, 3, RANGE1, NULL), "");
	{
		struct report *d = detail_of("100", "Innocent", RISK_WARN, RANGE1, NULL);

		d->strong_ips = 0;	/* volume or fan-out, flow estimates, complaints */
		actions_flag(f->a, mf_cidx(&f->mf, "100"), RISK_WARN, 4, d, line, sizeof line);
		report_free(d);
		assert_string_equal(line, "not suspended automatically: weak evidence only; "
		    "recommended: look at it by hand");
		assert_int_equal(audits(f, NULL)->n, 0);
	}
	assert_int_equal(strncmp(flag(f, "100", RISK_WARN, 4, RANGE1, "203.0.113.70"),
	    "suspend hook started (audit #", 29), 0);
	wait_done(f, 1, 5000);
	assert_string_equal(slurp(f, "run.100.1"), want_run("suspend", "100", "Innocent",
	    "203.0.113.70", "warn", "level warn in " RANGE1, "4", 0, NULL));
	assert_int_equal(actions_suspended(f->a, "100", NULL, NULL), 1);
	/* never_suspend also at warn */
	assert_string_equal(flag(f, "300", RISK_WARN, 5, RANGE2, NULL), "not suspended "
	    "automatically: tagged never_suspend; recommended: look at it by hand");
	settle(f, 300);
	assert_string_equal(calls(f), "suspend 100\n");
	assert_int_equal(audits(f, NULL)->n, 1);
	orows_clear(outbox(f));
}

/* dry_run: RANGEWATCH_DRY_RUN=1, said in the line, the audit and the suspension row; a dry
 * run counts as suspended. */
static void
test_dry_run(void **state)
{
	struct fx *f = *state;
	struct arows *au;
	struct srows *sr;
	char want[512];
	int64_t since;
	int dry = -1;

	f->cfg->hook_dry_run = 1;
	actions_set_config(f->a, f->cfg);
	snprintf(want, sizeof want, "%s", flag(f, "4711", RISK_ACT, 9, RANGE1, "203.0.113.5"));
	au = audits(f, NULL);
	assert_int_equal(au->n, 1);
	assert_string_equal(au->r[0].outcome, "hook started (dry run)");
	{
		char line[512];

		snprintf(line, sizeof line, "suspend hook started in dry-run mode (audit #%lld; "
		    "its result follows in the audit log: rangewatch alerts --customer 4711)",
		    (long long)au->r[0].id);
		assert_string_equal(want, line);
	}
	wait_done(f, 1, 5000);
	assert_string_equal(slurp(f, "run.4711.1"), want_run("suspend", "4711", "Acme VPS",
	    "203.0.113.5", "act", "level act in " RANGE1, "9", 1, NULL));
	au = audits(f, NULL);
	assert_ms(au->r[0].outcome, "suspend (dry run): exit 0 in ",
	    " ms, done: ran suspend 4711 try 1");
	assert_detail(au->r[0].detail, "suspend", 0, "ran suspend 4711 try 1", "9", 1, 1);
	assert_int_equal(actions_suspended(f->a, "4711", &since, &dry), 1);
	assert_int_equal(dry, 1);
	sr = suspensions(f);
	assert_int_equal(sr->n, 1);
	assert_int_equal(sr->r[0].dry_run, 1);
	assert_string_equal(sr->r[0].state, "suspended");
	snprintf(want, sizeof want, "already suspended (dry run) since %lld", (long long)since);
	assert_string_equal(flag(f, "4711", RISK_ACT, 10, RANGE1, NULL), want);
	settle(f, 200);
	assert_string_equal(calls(f), "suspend 4711\n");
	orows_clear(outbox(f));

	/* a reload that lets the hook do more says so (the daemon then flags its customers at
	 * the level again); one that changes nothing or lets it do less does not */
	assert_int_equal(actions_set_config(f->a, f->cfg), 0);
	f->cfg->hook_dry_run = 0;
	assert_int_equal(actions_set_config(f->a, f->cfg), 1);
	/* the real run is still to do: the same flag runs it, once */
	assert_int_equal(strncmp(flag(f, "4711", RISK_ACT, 10, RANGE1, "203.0.113.5"),
	    "suspend hook started (audit #", 29), 0);
	wait_done(f, 2, 5000);
	assert_string_equal(slurp(f, "run.4711.2"), want_run("suspend", "4711", "Acme VPS",
	    "203.0.113.5", "act", "level act in " RANGE1, "10", 0, NULL));
	assert_int_equal(actions_suspended(f->a, "4711", NULL, &dry), 1);
	assert_int_equal(dry, 0);
	assert_int_equal(strncmp(flag(f, "4711", RISK_ACT, 10, RANGE1, NULL),
	    "already suspended since ", 24), 0);
	f->cfg->hook_dry_run = 1;
	assert_int_equal(actions_set_config(f->a, f->cfg), 0);
	f->cfg->hook_auto_suspend = 0;
	assert_int_equal(actions_set_config(f->a, f->cfg), 0);
	f->cfg->hook_auto_suspend = 1;
	assert_int_equal(actions_set_config(f->a, f->cfg), 1);
	set_str(&f->cfg->hook_level, "warn");
	assert_int_equal(actions_set_config(f->a, f->cfg), 1);
	set_str(&f->cfg->hook_level, "act");
	assert_int_equal(actions_set_config(f->a, f->cfg), 0);
	settle(f, 200);
	assert_string_equal(calls(f), "suspend 4711\nsuspend 4711\n");
	orows_clear(outbox(f));
}

/* The circuit breaker: max_per_hour in all, max_per_range per range key (the flag's first
 * range-scope neighbourhood); past it nothing runs, a notice is queued. */
static void
test_circuit_breaker(void **state)
{
	struct fx *f = *state;
	struct orows *ob;
	const char *open = "NOT suspended: circuit breaker open (";
	char want[512];
	size_t i;

	f->cfg->hook_max_per_hour = 3;
	f->cfg->hook_max_per_range = 2;
	actions_set_config(f->a, f->cfg);
	assert_int_equal(strncmp(flag(f, "601", RISK_ACT, 1, RANGE1, NULL),
	    "suspend hook started", 20), 0);
	assert_int_equal(strncmp(flag(f, "602", RISK_ACT, 2, RANGE1, NULL),
	    "suspend hook started", 20), 0);
	/* the third in RANGE1: open by range */
	snprintf(want, sizeof want, "%s2 automatic suspensions in the last hour, 2 in " RANGE1
	    "; bounds 3 and 2)", open);
	assert_string_equal(flag(f, "603", RISK_ACT, 3, RANGE1, NULL), want);
	/* another range still goes */
	assert_int_equal(strncmp(flag(f, "604", RISK_ACT, 4, RANGE2, NULL),
	    "suspend hook started", 20), 0);
	/* the fourth in all: open by the hour, in any range and without one */
	snprintf(want, sizeof want, "%s3 automatic suspensions in the last hour, 1 in " RANGE2
	    "; bounds 3 and 2)", open);
	assert_string_equal(flag(f, "605", RISK_ACT, 5, RANGE2, NULL), want);
	snprintf(want, sizeof want, "%s3 automatic suspensions in the last hour, 0 in its "
	    "range; bounds 3 and 2)", open);
	assert_string_equal(flag(f, "606", RISK_ACT, 6, NULL, NULL), want);
	/* never_suspend is said as such, breaker or not */
	assert_string_equal(flag(f, "300", RISK_ACT, 7, RANGE2, NULL), "not suspended "
	    "automatically: tagged never_suspend; recommended: look at it by hand");

	wait_done(f, 3, 8000);
	settle(f, 200);
	assert_int_equal(strlen(calls(f)), strlen("suspend 60x\n") * 3);
	assert_non_null(strstr(calls(f), "suspend 601\n"));
	assert_non_null(strstr(calls(f), "suspend 602\n"));
	assert_non_null(strstr(calls(f), "suspend 604\n"));
	assert_int_equal(audits(f, NULL)->n, 3);
	assert_int_equal(audits(f, "603")->n, 0);
	assert_int_equal(audits(f, "605")->n, 0);
	assert_int_equal(audits(f, "606")->n, 0);
	assert_int_equal(suspensions(f)->n, 3);

	/* one notice an hour, not one per customer stopped (605 and 606 are counted in it) */
	ob = outbox(f);
	assert_int_equal(ob->n, 1);
	assert_notice(&ob->r[0], "603", "CIRCUIT BREAKER OPEN: automatic suspensions stopped");
	for (i = 0; i < ob->n; i++)
		assert_string_equal(ob->r[i].state, "queued");
	assert_non_null(strstr(ob->r[0].payload, "rangewatch did not suspend customer 603"));
	{
		struct actions_stats st;

		actions_get_stats(f->a, &st);
		assert_int_equal(st.breaker, 3);
	}

	/* a reload raising the bounds (per range 0: none) lets them through */
	f->cfg->hook_max_per_hour = 5;
	f->cfg->hook_max_per_range = 0;
	actions_set_config(f->a, f->cfg);
	assert_int_equal(strncmp(flag(f, "603", RISK_ACT, 8, RANGE1, NULL),
	    "suspend hook started", 20), 0);
	assert_int_equal(strncmp(flag(f, "605", RISK_ACT, 9, RANGE2, NULL),
	    "suspend hook started", 20), 0);
	snprintf(want, sizeof want, "%s5 automatic suspensions in the last hour, 0 in its "
	    "range; bounds 5 and 0)", open);
	assert_string_equal(flag(f, "606", RISK_ACT, 10, NULL, NULL), want);
	wait_done(f, 5, 8000);
	assert_int_equal(audits(f, NULL)->n, 5);
	assert_int_equal(outbox(f)->n, 1);		/* still within the hour of the notice */
	orows_clear(outbox(f));
}

/* Exit 75: run again after retry_after (not before), at most `retries` times, then a failure
 * mailed; a later 0 is done. One audit row per suspension, its outcome the last run's. */
static void
test_retry(void **state)
{
	struct fx *f = *state;
	struct arows *au;
	struct orows *ob;
	int64_t id, now;

	codes(f, "4711", "75\n75\n75\n75\n");
	flag(f, "4711", RISK_ACT, 42, RANGE1, "203.0.113.5");
	id = audits(f, NULL)->r[0].id;
	wait_done(f, 1, 5000);
	au = audits(f, NULL);
	assert_int_equal(au->n, 1);
	assert_ms(au->r[0].outcome, "suspend: exit 75 in ",
	    " ms, will run again later: ran suspend 4711 try 1");
	assert_detail(au->r[0].detail, "suspend", 75, "ran suspend 4711 try 1", "42", 0, 1);
	assert_int_equal(actions_suspended(f->a, "4711", NULL, NULL), 0);
	assert_int_equal(outbox(f)->n, 0);

	/* not before retry_after (100 s) */
	actions_tick(f->a, (int64_t)time(NULL));
	assert_int_equal(hook_pending(f->h), 0);
	settle(f, 200);
	assert_string_equal(calls(f), "suspend 4711\n");

	now = (int64_t)time(NULL) + 101;
	actions_tick(f->a, now);
	assert_int_equal(hook_pending(f->h), 1);
	wait_done(f, 2, 5000);
	assert_string_equal(calls(f), "suspend 4711\nsuspend 4711\n");
	assert_string_equal(slurp(f, "run.4711.2"), want_run("suspend", "4711", "Acme VPS",
	    "203.0.113.5", "act", "level act in " RANGE1, "42", 0, NULL));
	au = audits(f, NULL);
	assert_int_equal(au->n, 1);
	assert_ms(au->r[0].outcome, "suspend: exit 75 in ",
	    " ms, will run again later: ran suspend 4711 try 2");
	actions_tick(f->a, (int64_t)time(NULL) + 50);	/* due retry_after after this result */
	assert_int_equal(hook_pending(f->h), 0);

	actions_tick(f->a, (int64_t)time(NULL) + 101);
	wait_done(f, 3, 5000);
	au = audits(f, NULL);
	assert_int_equal(au->n, 1);
	assert_int_equal(au->r[0].id, id);
	assert_ms(au->r[0].outcome, "suspend: exit 75 in ", " ms, FAILED: ran suspend 4711 try 3");
	assert_detail(au->r[0].detail, "suspend", 75, "ran suspend 4711 try 3", "42", 0, 3);
	assert_int_equal(actions_suspended(f->a, "4711", NULL, NULL), 0);
	assert_int_equal(suspensions(f)->n, 0);
	ob = outbox(f);
	assert_int_equal(ob->n, 1);
	assert_notice(&ob->r[0], "4711", "HOOK FAILED: suspend of customer 4711");
	assert_string_equal(ob->r[0].state, "queued");
	assert_non_null(strstr(ob->r[0].payload, "customer: 4711 Acme VPS"));

	/* given up: no more runs */
	actions_tick(f->a, (int64_t)time(NULL) + 1000);
	settle(f, 300);
	assert_string_equal(calls(f), "suspend 4711\nsuspend 4711\nsuspend 4711\n");

	/* 75 then 0: done at the second run */
	codes(f, "100", "75\n0\n");
	flag(f, "100", RISK_ACT, 50, RANGE1, NULL);
	wait_done(f, 4, 5000);
	actions_tick(f->a, (int64_t)time(NULL) + 101);
	wait_done(f, 5, 5000);
	au = audits(f, "100");
	assert_int_equal(au->n, 1);
	assert_ms(au->r[0].outcome, "suspend: exit 0 in ", " ms, done: ran suspend 100 try 2");
	assert_detail(au->r[0].detail, "suspend", 0, "ran suspend 100 try 2", "50", 0, 2);
	assert_int_equal(actions_suspended(f->a, "100", NULL, NULL), 1);
	assert_int_equal(outbox(f)->n, 1);	/* still only 4711's */
	orows_clear(outbox(f));
}

/* retries 0: the first 75 is a failure. Another exit code fails at once, mailed. */
static void
test_failure_mailed(void **state)
{
	struct fx *f = *state;
	struct arows *au;
	struct orows *ob;

	f->cfg->hook_retries = 0;
	actions_set_config(f->a, f->cfg);
	codes(f, "4711", "75\n");
	codes(f, "100", "3\n");
	flag(f, "4711", RISK_ACT, 1, RANGE1, NULL);
	flag(f, "100", RISK_ACT, 2, RANGE1, NULL);
	wait_done(f, 2, 5000);
	au = audits(f, "4711");
	assert_ms(au->r[0].outcome, "suspend: exit 75 in ", " ms, FAILED: ran suspend 4711 try 1");
	au = audits(f, "100");
	assert_ms(au->r[0].outcome, "suspend: exit 3 in ", " ms, FAILED: ran suspend 100 try 1");
	assert_detail(au->r[0].detail, "suspend", 3, "ran suspend 100 try 1", "2", 0, 1);
	assert_int_equal(suspensions(f)->n, 0);
	ob = outbox(f);
	assert_int_equal(ob->n, 2);
	if (strcmp(ob->r[0].customer, "100") == 0) {
		assert_notice(&ob->r[0], "100", "HOOK FAILED: suspend of customer 100");
		assert_notice(&ob->r[1], "4711", "HOOK FAILED: suspend of customer 4711");
	} else {
		assert_notice(&ob->r[0], "4711", "HOOK FAILED: suspend of customer 4711");
		assert_notice(&ob->r[1], "100", "HOOK FAILED: suspend of customer 100");
	}
	actions_tick(f->a, (int64_t)time(NULL) + 1000);
	settle(f, 200);
	assert_int_equal(strlen(calls(f)), strlen("suspend 4711\nsuspend 100\n"));
	orows_clear(outbox(f));
}

/* The hook's bounds, counted: output past HOOK_OUTPUT_MAX, evidence past HOOK_EVIDENCE_MAX
 * (refused before any run), a failed run. */
static void
test_stats(void **state)
{
	struct fx *f = *state;
	struct actions_stats st;
	char path[256], line[512], *big;
	struct report *d;

	snprintf(path, sizeof path, "%s/big.4711", f->out);
	write_file(path, "", 0);
	codes(f, "100", "3\n");
	flag(f, "4711", RISK_ACT, 1, RANGE1, NULL);
	flag(f, "100", RISK_ACT, 2, RANGE1, NULL);
	wait_done(f, 2, 5000);
	assert_non_null(big = malloc(HOOK_EVIDENCE_MAX + 1));
	memset(big, 'e', HOOK_EVIDENCE_MAX);
	big[HOOK_EVIDENCE_MAX] = '\0';
	d = detail_of("500", "Single", RISK_ACT, RANGE1, NULL);
	rf_evidence(d, big);
	actions_flag(f->a, mf_cidx(&f->mf, "500"), RISK_ACT, 3, d, line, sizeof line);
	report_free(d);
	free(big);
	/* evidence past HOOK_EVIDENCE_MAX is cut to fit, not refused: the hook runs */
	assert_non_null(strstr(line, "suspend hook started"));
	wait_done(f, 3, 5000);
	assert_non_null(strstr(slurp(f, "stdin.500.1"), "\"truncated\":true"));
	actions_get_stats(f->a, &st);
	assert_int_equal(st.runs, 3);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.refused, 0);
	assert_int_equal(st.output_cut, 1);
	assert_int_equal(st.output_dropped, strlen("ran suspend 4711 try 1\n") + 20000 -
	    HOOK_OUTPUT_MAX);
	orows_clear(outbox(f));
}

/* An operator's resume and suspend: audited first by the caller, the outcome updated;
 * RANGEWATCH_OPERATOR from the actor; the level is the model's. */
static void
test_manual(void **state)
{
	struct fx *f = *state;
	struct store_audit au;
	struct arows *rows;
	struct srows *sr;
	struct actions *nohook;
	struct report *d;
	char err[256] = "", out[512], ev[32];
	int64_t id1 = 0, id2 = 0;
	size_t i;

	/* 4711 at warn in the model: two of its addresses listed */
	list_key(f, "203.0.113.5", 1, T0 + 70);
	list_key(f, "203.0.113.6", 1, T0 + 70);
	assert_int_equal(model_tick(f->mf.m, T0 + 70), 1);
	assert_int_equal(mf_level(&f->mf, "4711"), RISK_WARN);

	/* automatically suspended first */
	flag(f, "4711", RISK_ACT, 5, RANGE1, NULL);
	wait_done(f, 1, 5000);
	assert_int_equal(actions_suspended(f->a, "4711", NULL, NULL), 1);

	memset(&au, 0, sizeof au);
	au.ts = (int64_t)time(NULL);
	au.actor = "uid 0 (root)";
	au.action = "resume";
	au.customer = "4711";
	au.reason = "customer cleaned up";
	au.outcome = "requested";
	au.detail = "";
	assert_int_equal(store_audit_add(f->mf.st, &au, &id1, err, sizeof err), 0);
	d = detail_of("4711", "Acme VPS", RISK_WARN, RANGE1, "203.0.113.5 203.0.113.6");
	assert_int_equal(actions_manual(f->a, "resume", mf_cidx(&f->mf, "4711"),
	    "customer cleaned up", "uid 0 (root)", id1, d, out, sizeof out), 0);
	report_free(d);
	assert_string_equal(out, "unsuspend hook started; its result follows in the audit log");
	wait_done(f, 2, 5000);
	snprintf(ev, sizeof ev, "%lld", (long long)id1);
	assert_string_equal(slurp(f, "run.4711.2"), want_run("unsuspend", "4711", "Acme VPS",
	    "203.0.113.5 203.0.113.6", "warn", "customer cleaned up", ev, 0, "root"));
	rows = audits(f, "4711");
	assert_int_equal(rows->n, 2);		/* the automatic one and the operator's */
	assert_int_equal(rows->r[0].id, id1);
	assert_string_equal(rows->r[0].actor, "uid 0 (root)");
	assert_string_equal(rows->r[0].action, "resume");
	assert_ms(rows->r[0].outcome, "unsuspend: exit 0 in ",
	    " ms, done: ran unsuspend 4711 try 2");
	assert_detail(rows->r[0].detail, "unsuspend", 0, "ran unsuspend 4711 try 2", ev, 0, 1);
	assert_int_equal(actions_suspended(f->a, "4711", NULL, NULL), 0);
	sr = suspensions(f);
	assert_int_equal(sr->n, 1);
	assert_string_equal(sr->r[0].state, "resumed");
	assert_string_equal(sr->r[0].actor, "root");
	assert_int_equal(sr->r[0].audit_id, id1);

	/* an operator's suspend: also of a never_suspend customer; no login name: uid:N */
	memset(&au, 0, sizeof au);
	au.ts = (int64_t)time(NULL);
	au.actor = "uid 1000";
	au.action = "suspend";
	au.customer = "300";
	au.reason = "abuse desk: confirmed";
	au.outcome = "requested";
	au.detail = "";
	assert_int_equal(store_audit_add(f->mf.st, &au, &id2, err, sizeof err), 0);
	assert_int_equal(actions_manual(f->a, "suspend", mf_cidx(&f->mf, "300"),
	    "abuse desk: confirmed", "uid 1000", id2, NULL, out, sizeof out), 0);
	assert_string_equal(out, "suspend hook started; its result follows in the audit log");
	wait_done(f, 3, 5000);
	snprintf(ev, sizeof ev, "%lld", (long long)id2);
	assert_string_equal(slurp(f, "run.300.1"), want_run("suspend", "300", "Tiny", "",
	    "none", "abuse desk: confirmed", ev, 0, "uid:1000"));
	assert_string_equal(slurp(f, "stdin.300.1"), "{}");
	assert_int_equal(actions_suspended(f->a, "300", NULL, NULL), 1);
	sr = suspensions(f);
	assert_int_equal(sr->n, 2);
	for (i = 0; i < sr->n; i++)
		if (strcmp(sr->r[i].customer, "300") == 0) {
			assert_string_equal(sr->r[i].state, "suspended");
			assert_int_equal(sr->r[i].audit_id, id2);
		}
	/* a failed manual run is mailed with who asked */
	codes(f, "100", "4\n");
	assert_int_equal(actions_manual(f->a, "suspend", mf_cidx(&f->mf, "100"), "x",
	    "uid 0 (root)", id2, NULL, out, sizeof out), 0);
	wait_done(f, 4, 5000);
	assert_int_equal(outbox(f)->n, 1);
	assert_notice(&outbox(f)->r[0], "100", "HOOK FAILED: suspend of customer 100");
	assert_non_null(strstr(outbox(f)->r[0].payload, "asked by: root"));

	/* no hook: recorded, nothing runs */
	nohook = new_actions(f, NULL);
	assert_int_equal(actions_manual(nohook, "resume", mf_cidx(&f->mf, "300"), "r",
	    "uid 0 (root)", id2, NULL, out, sizeof out), 0);
	assert_string_equal(out, "resume recorded; no hook configured ([hook] path is empty)");
	actions_free(nohook);
	settle(f, 200);
	assert_int_equal(strlen(calls(f)), strlen("suspend 4711\nunsuspend 4711\nsuspend 300\n"
	    "suspend 100\n"));
	orows_clear(outbox(f));
}

/* unsuspend_after: an automatic suspension is lifted once the customer's model level is
 * none and it has been suspended that long; not while its level is above none (4711 at
 * warn), never a manual one (100), not twice. */
static void
test_unsuspend_after(void **state)
{
	struct fx *f = *state;
	struct arows *au;
	struct srows *sr;
	struct store_audit a;
	char err[256] = "", out[256], ev[32];
	int64_t id = 0;
	size_t i;

	f->cfg->hook_unsuspend_after = 100;
	actions_set_config(f->a, f->cfg);
	flag(f, "4711", RISK_ACT, 5, RANGE1, "203.0.113.5");
	wait_done(f, 1, 5000);
	flag(f, "500", RISK_ACT, 6, NULL, NULL);
	wait_done(f, 2, 5000);
	assert_int_equal(actions_suspended(f->a, "4711", NULL, NULL), 1);
	assert_int_equal(actions_suspended(f->a, "500", NULL, NULL), 1);
	/* an operator suspends 100: never lifted automatically */
	memset(&a, 0, sizeof a);
	a.ts = (int64_t)time(NULL);
	a.actor = "uid 0 (root)";
	a.action = "suspend";
	a.customer = "100";
	a.reason = "by hand";
	a.outcome = "";
	a.detail = "";
	assert_int_equal(store_audit_add(f->mf.st, &a, &id, err, sizeof err), 0);
	assert_int_equal(actions_manual(f->a, "suspend", mf_cidx(&f->mf, "100"), "by hand",
	    "uid 0 (root)", id, NULL, out, sizeof out), 0);
	wait_done(f, 3, 5000);
	assert_int_equal(actions_suspended(f->a, "100", NULL, NULL), 1);

	/* 4711 at warn in the model; 500 and 100 at none */
	list_key(f, "203.0.113.5", 1, T0 + 70);
	list_key(f, "203.0.113.6", 1, T0 + 70);
	assert_int_equal(model_tick(f->mf.m, T0 + 70), 1);
	assert_int_equal(mf_level(&f->mf, "4711"), RISK_WARN);
	assert_int_equal(mf_level(&f->mf, "500"), RISK_NONE);
	assert_int_equal(mf_level(&f->mf, "100"), RISK_NONE);

	/* not before unsuspend_after */
	actions_tick(f->a, (int64_t)time(NULL) + 50);
	settle(f, 200);
	assert_int_equal(hook_pending(f->h), 0);
	assert_int_equal(audits(f, NULL)->n, 3);

	actions_tick(f->a, (int64_t)time(NULL) + 101);
	au = audits(f, NULL);
	assert_int_equal(au->n, 4);		/* written before the run */
	assert_string_equal(au->r[0].actor, AUTO);
	assert_string_equal(au->r[0].action, "resume");
	assert_string_equal(au->r[0].customer, "500");
	assert_string_equal(au->r[0].reason, "quiet since its suspension ([hook] "
	    "unsuspend_after)");
	assert_string_equal(au->r[0].outcome, "unsuspend hook started");
	id = au->r[0].id;
	assert_int_equal(hook_pending(f->h), 1);
	wait_done(f, 4, 5000);
	snprintf(ev, sizeof ev, "%lld", (long long)id);
	/* no detail: the addresses are its /32 and /128 blocks */
	assert_string_equal(slurp(f, "run.500.2"), want_run("unsuspend", "500", "Single",
	    "203.0.113.200 2001:db8::7", "none",
	    "quiet since its suspension ([hook] unsuspend_after)", ev, 0, NULL));
	assert_string_equal(slurp(f, "stdin.500.2"), "{}");
	au = audits(f, "500");
	assert_int_equal(au->n, 2);
	assert_ms(au->r[0].outcome, "unsuspend: exit 0 in ",
	    " ms, done: ran unsuspend 500 try 2");
	assert_detail(au->r[0].detail, "unsuspend", 0, "ran unsuspend 500 try 2", ev, 0, 1);
	assert_int_equal(actions_suspended(f->a, "500", NULL, NULL), 0);
	assert_int_equal(actions_suspended(f->a, "4711", NULL, NULL), 1);
	assert_int_equal(actions_suspended(f->a, "100", NULL, NULL), 1);
	sr = suspensions(f);
	assert_int_equal(sr->n, 3);
	for (i = 0; i < sr->n; i++) {
		if (strcmp(sr->r[i].customer, "500") == 0) {
			assert_string_equal(sr->r[i].state, "resumed");
			assert_string_equal(sr->r[i].actor, AUTO);
			assert_int_equal(sr->r[i].audit_id, id);
		} else {
			assert_string_equal(sr->r[i].state, "suspended");
		}
	}
	/* done: no second run, however long; 4711 (warn) and 100 (by hand) stay */
	actions_tick(f->a, (int64_t)time(NULL) + 100000);
	settle(f, 300);
	assert_int_equal(hook_pending(f->h), 0);
	assert_string_equal(calls(f), "suspend 4711\nsuspend 500\nsuspend 100\nunsuspend 500\n");
	assert_int_equal(audits(f, NULL)->n, 4);
	assert_int_equal(outbox(f)->n, 0);
	orows_clear(outbox(f));
}

/*
 * Bugs found in monitor/actions.c by these tests, and fixed: a second automatic suspension
 * while one was under way; an automatic resume that failed, tried again every tick.
 */
/* BUG: actions_flag() looks only at the suspensions done (a->susp), not at the automatic
 * suspension still under way for that customer (its job waiting for retry_after after exit
 * 75, or its hook still running), so a level rising again (warn -> act with [hook] level =
 * warn) starts a second automatic suspension of the same customer: a second audit row, a
 * second hook run, a second trip of the circuit breaker. */
static void
test_no_second_run_while_retrying(void **state)
{
	struct fx *f = *state;

	set_str(&f->cfg->hook_level, "warn");
	actions_set_config(f->a, f->cfg);
	codes(f, "4711", "75\n0\n0\n");
	flag(f, "4711", RISK_WARN, 1, RANGE1, NULL);
	wait_done(f, 1, 5000);			/* exit 75: waiting for retry_after */
	flag(f, "4711", RISK_ACT, 2, RANGE1, NULL);
	settle(f, 500);
	/* fails: "suspend 4711\nsuspend 4711\n" */
	assert_string_equal(calls(f), "suspend 4711\n");
	assert_int_equal(audits(f, "4711")->n, 1);
	orows_clear(outbox(f));
}

static void
test_no_second_run_while_running(void **state)
{
	struct fx *f = *state;

	set_str(&f->cfg->hook_level, "warn");
	actions_set_config(f->a, f->cfg);
	flag(f, "4711", RISK_WARN, 1, RANGE1, NULL);
	flag(f, "4711", RISK_ACT, 2, RANGE1, NULL);	/* before the first result */
	settle(f, 1000);
	/* fails: "suspend 4711\nsuspend 4711\n", two audit rows */
	assert_string_equal(calls(f), "suspend 4711\n");
	assert_int_equal(audits(f, "4711")->n, 1);
	orows_clear(outbox(f));
}

/* A stop (kill -9, crash) while hooks ran: at the next start the runs without a result are
 * closed in the audit log; the automatic suspensions among them are asked again
 * (actions_redo, once), an operator's is not; a finished run whose output merely quotes
 * the words of an unfinished one is left alone. */
static void
test_cut_off_runs(void **state)
{
	static const struct {
		const char *actor, *action, *customer, *outcome;
		int cut, redo;
	} rows[] = {
		{ "rangewatchd (automatic)", "suspend", "4711", "hook started (dry run)", 1, 1 },
		{ "rangewatchd (automatic)", "suspend", "4712",
		    "suspend: exit 75 in 12 ms, will run again later: busy", 1, 1 },
		{ "uid 0 (root)", "suspend", "4713",
		    "suspend hook started; its result follows in the audit log", 1, 0 },
		{ "uid 0 (root)", "resume", "4713", "requested", 1, 0 },
		{ "rangewatchd (automatic)", "suspend", "4714",
		    "suspend: exit 3 in 5 ms, FAILED: hook started 9 ms, will run again later", 0, 0 },
		{ "rangewatchd (automatic)", "suspend", "4715",
		    "suspend (dry run): exit 0 in 7 ms, done: ok", 0, 0 },
	};
	struct fx *f = *state;
	struct store_audit au;
	struct arows *x;
	struct actions *b;
	char err[256] = "";
	size_t i, k;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		memset(&au, 0, sizeof au);
		au.ts = 1700000000;
		au.actor = rows[i].actor;
		au.action = rows[i].action;
		au.customer = rows[i].customer;
		au.reason = "level act";
		au.outcome = rows[i].outcome;
		au.detail = "";
		if (store_audit_add(f->mf.st, &au, NULL, err, sizeof err) == -1)
			fail_msg("store_audit_add: %s", err);
	}
	b = new_actions(f, f->h);			/* the next start */
	x = audits(f, NULL);
	assert_int_equal(x->n, 6);
	for (i = 0; i < 6; i++) {
		k = 5 - i;				/* newest first */
		if (!rows[k].cut)
			assert_string_equal(x->r[i].outcome, rows[k].outcome);
		else if (rows[k].redo)
			assert_string_equal(x->r[i].outcome, "interrupted: rangewatchd stopped "
			    "before the hook's result; asked again at its next start if still due");
		else
			assert_string_equal(x->r[i].outcome, "interrupted: rangewatchd stopped "
			    "before the hook's result; not run again: ask again by hand if it is "
			    "still needed");
	}
	assert_int_equal(actions_redo(b, "4711"), 1);
	assert_int_equal(actions_redo(b, "4711"), 0);	/* once */
	assert_int_equal(actions_redo(b, "4712"), 1);
	assert_int_equal(actions_redo(b, "4713"), 0);
	assert_int_equal(actions_redo(b, "4714"), 0);
	assert_int_equal(actions_redo(b, "4715"), 0);
	actions_free(b);
	/* closed once: a third start finds nothing left to close */
	b = new_actions(f, f->h);
	assert_int_equal(actions_redo(b, "4711"), 0);
	actions_free(b);
}

/* BUG: an automatic unsuspend whose hook fails (any exit but 0 and 75, or 75 past
 * `retries`) leaves the suspension as it was and no job, so the very next actions_tick()
 * starts it again: the daemon ticks once a second, and each run is a new audit row and a
 * new "HOOK FAILED: unsuspend" mail to the abuse desk, without end. */
static void
test_unsuspend_failure_not_every_tick(void **state)
{
	struct fx *f = *state;
	int64_t now;

	f->cfg->hook_unsuspend_after = 100;
	actions_set_config(f->a, f->cfg);
	codes(f, "4711", "0\n3\n3\n3\n");
	flag(f, "4711", RISK_ACT, 5, RANGE1, NULL);
	wait_done(f, 1, 5000);
	now = (int64_t)time(NULL) + 101;
	actions_tick(f->a, now);
	wait_done(f, 2, 5000);
	assert_int_equal(outbox(f)->n, 1);	/* HOOK FAILED: unsuspend */
	assert_notice(&outbox(f)->r[0], "4711", "HOOK FAILED: unsuspend of customer 4711");
	actions_tick(f->a, now + 1);		/* the next second */
	settle(f, 500);
	/* was: "suspend 4711\nunsuspend 4711\nunsuspend 4711\n", a second mail */
	assert_string_equal(calls(f), "suspend 4711\nunsuspend 4711\n");
	assert_int_equal(outbox(f)->n, 1);
	orows_clear(outbox(f));
}

/* ---- a commit that fails: a hook's request goes only with its committed audit row */

/* While set, every COMMIT of every store connection fails and rolls back (a commit hook
 * that vetoes it, put on each connection by an auto extension registered in main): the
 * disk full or locked at the worst moment. */
static int fail_commits;

static int
commit_veto(void *arg)
{
	(void)arg;
	return fail_commits;
}

static int
veto_entry(sqlite3 *db, char **msg, const struct sqlite3_api_routines *api)
{
	(void)msg;
	(void)api;
	sqlite3_commit_hook(db, commit_veto, NULL);
	return SQLITE_OK;
}

/* The level change's hold (model.c's flags_diff) whose commit fails: its audit row is rolled
 * back, so the hook must not be asked (it would run unaudited, and its result land on the
 * next audit row, which gets the same id). The suspension is asked again with the change. */
static void
test_no_hook_without_audit_row(void **state)
{
	struct fx *f = *state;
	struct arows *au;
	char err[256] = "", line[512];

	assert_int_equal(store_hold(f->mf.st, err, sizeof err), 0);
	assert_string_not_equal(flag(f, "4711", RISK_ACT, 42, RANGE1, "203.0.113.5"), "");
	assert_int_equal(hook_pending(f->h), 0);	/* nothing asked inside the hold */
	fail_commits = 1;
	assert_int_equal(store_release(f->mf.st, 1, err, sizeof err), -1);
	fail_commits = 0;
	assert_int_equal(audits(f, NULL)->n, 0);	/* rolled back */
	settle(f, 1500);
	assert_int_equal(f->ndone, 0);
	assert_int_equal(hook_pending(f->h), 0);
	assert_string_equal(calls(f), "");		/* the hook never ran */

	/* the next audit row takes the same id: its result is its own */
	assert_string_not_equal(flag(f, "100", RISK_ACT, 43, NULL, "203.0.113.70"), "");
	wait_done(f, 1, 5000);
	assert_string_equal(calls(f), "suspend 100\n");
	au = audits(f, NULL);
	assert_int_equal(au->n, 1);
	assert_string_equal(au->r[0].customer, "100");
	assert_ms(au->r[0].outcome, "suspend: exit 0 in ", " ms, done: ran suspend 100 try 1");

	/* 4711's suspension, asked again (the level change retried), is not "under way" */
	assert_int_equal(store_hold(f->mf.st, err, sizeof err), 0);
	snprintf(line, sizeof line, "%s", flag(f, "4711", RISK_ACT, 44, RANGE1, "203.0.113.5"));
	assert_non_null(strstr(line, "suspend hook started"));
	assert_int_equal(store_release(f->mf.st, 1, err, sizeof err), 0);
	wait_done(f, 2, 5000);
	assert_string_equal(calls(f), "suspend 100\nsuspend 4711\n");
	au = audits(f, "4711");
	assert_int_equal(au->n, 1);
	assert_ms(au->r[0].outcome, "suspend: exit 0 in ", " ms, done: ran suspend 4711 try 1");
}

/* A big sender: a /20 and 1,000 addresses sending (more than RANGEWATCH_IPS takes, and
 * evidence past 1 MiB with their listings) is suspended all the same: the hook gets its
 * prefix, the worst HOOK_IPS_MAX addresses with RANGEWATCH_IPS_TRUNCATED=1, and stdin cut
 * to fit with "truncated": true. Before, the runner refused the request. */
static void
test_big_sender(void **state)
{
	struct fx *f = *state;
	struct report *d = rf_new("700", "Big", RISK_ACT, RISK_NONE, 9.5);
	struct report_addr *ad;
	char ip[32], line[1024], *env, *p, txt[2048];
	size_t i, n;
	struct arows *au;

	rf_evidence(d, "1000 addresses sending");
	rf_nb(d, "range-rep", RISK_SCOPE_RANGE, "198.18.0.0/24", 2, 4);
	memset(txt, 'x', sizeof txt - 1);
	txt[sizeof txt - 1] = '\0';
	for (i = 0; i < 1000; i++) {
		snprintf(ip, sizeof ip, "198.18.%zu.%zu", i / 250, 1 + i % 250);
		ad = rf_addr(d, ip);
		ad->rcpt_to = (uint32_t)i;	/* the last ones are the worst */
		rf_listing(ad, "uceprotect-1", 1, "127.0.0.2", txt, T0, T0);
	}
	actions_flag(f->a, mf_cidx(&f->mf, "700"), RISK_ACT, 50, d, line, sizeof line);
	report_free(d);
	assert_non_null(strstr(line, "suspend hook started"));
	wait_done(f, 1, 10000);
	assert_string_equal(calls(f), "suspend 700\n");
	au = audits(f, "700");
	assert_int_equal(au->n, 1);
	assert_ms(au->r[0].outcome, "suspend: exit 0 in ", " ms, done: ran suspend 700 try 1");

	env = strdup(slurp(f, "run.700.1"));
	assert_non_null(env);
	assert_non_null(strstr(env, "\nRANGEWATCH_CIDRS=198.18.0.0/20\n"));
	assert_non_null(strstr(env, "\nRANGEWATCH_IPS_TRUNCATED=1\n"));
	assert_null(strstr(env, "RANGEWATCH_CIDRS_TRUNCATED"));
	/* the worst first: 198.18.3.250 (rcpt_to 999) down to HOOK_IPS_MAX of them */
	assert_non_null(p = strstr(env, "\nRANGEWATCH_IPS=198.18.3.250 198.18.3.249 "));
	p += strlen("\nRANGEWATCH_IPS=");
	for (n = 1; *p != '\n' && *p != '\0'; p++)
		n += *p == ' ';
	assert_int_equal(n, HOOK_IPS_MAX);
	free(env);
	/* stdin: one JSON document within the bound, saying it was cut */
	{
		const char *in = slurp(f, "stdin.700.1");
		json_t *o = json_loads(in, 0, NULL);

		assert_non_null(o);
		assert_true(json_is_true(json_object_get(o, "truncated")));
		assert_string_equal(json_string_value(json_object_get(o, "id")), "700");
		json_decref(o);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_auto_suspend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ips_and_no_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_circuit_breaker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_mailed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_manual, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsuspend_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_second_run_while_retrying, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_second_run_while_running, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unsuspend_failure_not_every_tick, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cut_off_runs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_hook_without_audit_row, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_big_sender, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	if (sqlite3_auto_extension((void (*)(void))veto_entry) != SQLITE_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
