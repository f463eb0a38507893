/*
 * config.c — rangewatch.conf: the key table, its defaults, and reading a file over them.
 *
 * For: turning an INI file into a struct rw_config, or saying exactly which line is wrong.
 * Owns: the key table (section, name, type, field, default, range, reloadable) and every
 * string of the configs it builds.
 * Must never: open the files a config names (they may not exist yet; `rangewatchd -n`
 * checks them separately) but one: [alert] password_file is read at load (so the password
 * need not sit in a world-readable config, and a reload that cannot read it keeps the old
 * config, naming FILE:LINE of the key); accept a key or section it does not know, keep a half-read
 * config (an error frees it; a reload keeps the old one), or touch inih's global options
 * (other modules read other INI files with the same library).
 *
 * Parsing is inih's, through inifile.c's line reader (inih r55 does not tell the handler the
 * line number; the reader counts lines, rejects NUL bytes and over-long lines, strips a BOM
 * and leading blanks) which hands every `[section]` header to find_section() here, so an
 * unknown section is reported on its own line even when it holds no key. Values:
 * `key = value`, blanks around the value stripped, ` ;` starts an inline comment, `#` and
 * `;` start comment lines.
 *
 * A scalar key given twice is an error (naming both lines): a config that says two things
 * is a mistake, not an override. A list key given twice accumulates, git-config style: the
 * first line replaces the default, later lines append (the way to split a long list, since
 * a line holds at most 199 characters).
 *
 * [risk] starts from risk_config_init() (its keys have no default of their own in the table,
 * so the two can never disagree). `[policy "NAME"]` sections have their own small key table
 * (their fields are those of struct risk_policy): a section is opened on its header line
 * (editing the built-in policy of that NAME, or adding one) and closed on the next header or
 * at the end of the file, where what needs the whole section is checked (a new policy needs
 * scope and feeds; `enabled = no` removes it) and the range thresholds are applied, longest
 * prefix first, so an explicit shorter one is never recomputed away. At the end of the file
 * the keys that depend on each other are checked (warn_at <= act_at), then
 * risk_config_check() as the last word.
 */
#include "config.h"
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inifile.h"
#include "log.h"
#include "metrics.h"
#include "text.h"

#define HOUR	3600
#define DAY	86400

enum cfg_type {
	CFG_STR,	/* char *, kept as written */
	CFG_PATH,	/* char *, relative to the config file's folder; "" stays "" */
	CFG_NAME,	/* char *, "" or a user/group name: [A-Za-z0-9._-]+ */
	CFG_INT,	/* int, within [min, max] */
	CFG_UINT,	/* unsigned int (also uint32_t), within [min, max] */
	CFG_LONG,	/* long, within [min, max] */
	CFG_SIZE,	/* size_t, within [min, max] */
	CFG_DURATION,	/* long seconds: an integer with an optional s, m, h, d or w */
	CFG_DURATION64,	/* the same into an int64_t */
	CFG_MODE,	/* int: an octal file mode, 0600 or 0660 ("600", "660" too) */
	CFG_BOOL,	/* int 0/1: yes/no, true/false, 1/0 */
	CFG_DOUBLE,	/* double, finite, within [min, max] */
	CFG_LIST,	/* char ** + size_t count: blank-separated words */
	CFG_PATHLIST,	/* the same, each word a PATH */
	CFG_NAMELIST,	/* the same, each word a NAME or @NAME */
	CFG_LISTEN,	/* char *: "" or ADDR[:PORT] to listen on (min: the default port) */
	CFG_EXPORTERS,	/* char ** + count: one "ADDR [sampling N]" per occurrence */
};

_Static_assert(sizeof(uint32_t) == sizeof(unsigned), "CFG_UINT stores uint32_t fields");

/* A section; `named` ones are git-style, [name "SUBNAME"], one per SUBNAME. */
struct cfg_section {
	const char *name;
	int named;
};

struct cfg_key {
	const char *section;
	const char *name;
	enum cfg_type type;
	size_t off;		/* the field in struct rw_config */
	size_t count_off;	/* lists: the size_t count field */
	const char *def;	/* parsed like a value from the file; NULL: set elsewhere */
	double min, max;	/* INT, UINT, LONG, SIZE, DURATION, DOUBLE */
	int reload;		/* 1: a SIGHUP applies it; 0: needs a restart */
};

static const struct cfg_section cfg_sections[] = {
	{ "rangewatch", 0 },
	{ "capture", 0 },
	{ "store", 0 },
	{ "risk", 0 },
	{ "policy", 1 },
	{ "class", 1 },
	{ "alert", 0 },
	{ "webhook", 0 },
	{ "hook", 0 },
	{ "snds", 0 },
	{ "flows", 0 },
};

#define F(field)	offsetof(struct rw_config, field)
#define KEY(sec, name, type, field, def, min, max, reload) \
	{ sec, name, type, F(field), 0, def, min, max, reload }
#define LIST(sec, name, type, field, count, def, reload) \
	{ sec, name, type, F(field), F(count), def, 0, 0, reload }
/* [risk]: the default is risk_config_init()'s; all reloadable. */
#define RISK(name, type, field, min, max) \
	{ "risk", name, type, F(risk.field), 0, NULL, min, max, 1 }

static const struct cfg_key cfg_keys[] = {
	KEY("rangewatch", "prefixes", CFG_PATH, prefixes, "", 0, 0, 1),
	KEY("rangewatch", "customers", CFG_PATH, customers, "", 0, 0, 1),
	KEY("rangewatch", "lists", CFG_PATH, lists, "", 0, 0, 1),
	KEY("rangewatch", "interface", CFG_STR, interface, "", 0, 0, 0),
	KEY("rangewatch", "nameserver", CFG_STR, nameserver, "", 0, 0, 1),
	/* DNS answers name their own TTL: a day and an hour at most, by default */
	KEY("rangewatch", "max_ttl", CFG_DURATION, dns_max_ttl, "1d", 1, 7 * DAY, 1),
	KEY("rangewatch", "max_negative_ttl", CFG_DURATION, dns_max_negative_ttl, "1h", 1, DAY,
	    1),
	KEY("rangewatch", "state_dir", CFG_PATH, state_dir, "/var/lib/rangewatch", 0, 0, 0),
	/* the socket is made as root at start: its path, mode and group need a restart */
	KEY("rangewatch", "socket", CFG_PATH, socket, "/run/rangewatch/rangewatch.sock",
	    0, 0, 0),
	KEY("rangewatch", "socket_mode", CFG_MODE, socket_mode, "0660", 0, 0, 0),
	KEY("rangewatch", "socket_group", CFG_NAME, socket_group, "", 0, 0, 0),
	/* checked on each acting command: a reload applies it */
	LIST("rangewatch", "operators", CFG_NAMELIST, operators, noperators, "", 1),
	KEY("rangewatch", "user", CFG_STR, user, "rangewatch", 0, 0, 0),
	KEY("rangewatch", "pidfile", CFG_PATH, pidfile, "/run/rangewatch/rangewatchd.pid",
	    0, 0, 0),
	LIST("rangewatch", "replay", CFG_PATHLIST, replay, nreplay, "", 0),
	KEY("rangewatch", "replay_speed", CFG_DOUBLE, replay_speed, "1", 0, 1e6, 0),
	/* bound once at start (checked at the end of the file: check_metrics) */
	KEY("rangewatch", "metrics", CFG_STR, metrics, "", 0, 0, 0),

	KEY("capture", "snaplen", CFG_INT, snaplen, "65535", 96, 262144, 0),
	KEY("capture", "buffer_size", CFG_INT, buffer_size, "33554432", 65536, INT_MAX, 0),
	KEY("capture", "ring_events", CFG_SIZE, ring_events, "131072", 1024, 67108864, 0),
	KEY("capture", "flow_timeout", CFG_INT, flow_timeout, "300", 5, 86400, 1),
	KEY("capture", "max_flows", CFG_LONG, max_flows, "1000000", 1, 1e9, 0),
	KEY("capture", "max_ips", CFG_LONG, max_ips, "4000000", 1, 1e9, 0),
	LIST("capture", "cite", CFG_LIST, cite, ncite, "uceprotect spamhaus spamcop "
	    "barracuda gbudb psbl mailspike sorbs invaluement abusix s5h", 1),

	/* the 7-day windows and baselines read a week of hourly rows, and a day more */
	KEY("store", "minute_retention", CFG_DURATION, minute_retention, "48h",
	    HOUR, 365 * DAY, 1),
	KEY("store", "hour_retention", CFG_DURATION, hour_retention, "35d",
	    8 * DAY, 3650 * DAY, 1),

	RISK("max_ips", CFG_SIZE, max_ips, 1, 1e9),
	RISK("rate_factor", CFG_DOUBLE, rate_factor, 1, 1000),
	RISK("peak_factor", CFG_DOUBLE, peak_factor, 1, 1000),
	RISK("rate_min", CFG_UINT, rate_min, 0, 1e9),
	RISK("baseline_hours", CFG_UINT, baseline_hours, 0, 8760),
	RISK("conn_per_hour", CFG_UINT, conn_per_hour, 1, 1e9),
	RISK("rcpt_per_hour", CFG_UINT, rcpt_per_hour, 1, 1e9),
	RISK("mx_per_hour", CFG_UINT, mx_per_hour, 1, 1e9),
	RISK("rejections_5xx_per_hour", CFG_UINT, rej_5xx, 1, 1e9),
	RISK("rejections_cited_per_hour", CFG_UINT, rej_cited, 1, 1e9),
	RISK("silent", CFG_DURATION64, silent, HOUR, 365 * DAY),
	RISK("woke_for", CFG_DURATION64, woke_for, 60, 30 * DAY),
	RISK("woke_min", CFG_UINT, woke_min, 1, 1e9),
	RISK("warn_at", CFG_DOUBLE, warn_at, 0, 10),	/* > 0 and <= act_at: at the end */
	RISK("act_at", CFG_DOUBLE, act_at, 0, 10),
	RISK("rate_window", CFG_DURATION64, rate_window, HOUR, 30 * DAY),
	RISK("reject_ratio", CFG_DOUBLE, reject_ratio, 0.01, 1),	/* >= weak: at the end */
	RISK("reject_ratio_weak", CFG_DOUBLE, reject_ratio_weak, 0.001, 1),
	RISK("cited_share", CFG_DOUBLE, cited_share, 0, 1),
	RISK("provisional_for", CFG_DURATION64, provisional_for, 60, 7 * DAY),
	RISK("horizon", CFG_DURATION64, horizon, 0, 7 * DAY),
	RISK("main_share", CFG_DOUBLE, main_share, 0.01, 1),
	RISK("ipv6_prefix", CFG_UINT, v6_plen, 32, 128),
	RISK("idle_forget", CFG_DURATION64, idle_forget, HOUR, 365 * DAY),
	RISK("snds_for", CFG_DURATION64, snds_for, HOUR, 30 * DAY),
	RISK("snds_complaint_rate", CFG_DOUBLE, snds_complaint_rate, 0.0001, 1),
	RISK("complaints_for", CFG_DURATION64, complaints_for, HOUR, 30 * DAY),
	RISK("complaints_min", CFG_UINT, complaints_min, 1, 1e9),

	/* file paths are read at each interval; the key and URLs at each fetch */
	KEY("snds", "file", CFG_PATH, snds_file, "", 0, 0, 1),
	KEY("snds", "status_file", CFG_PATH, snds_status_file, "", 0, 0, 1),
	KEY("snds", "key_file", CFG_PATH, snds_key_file, "", 0, 0, 1),
	KEY("snds", "data_url", CFG_STR, snds_data_url,
	    "https://sendersupport.olc.protection.outlook.com/snds/data.aspx", 0, 0, 1),
	KEY("snds", "status_url", CFG_STR, snds_status_url,
	    "https://sendersupport.olc.protection.outlook.com/snds/ipStatus.aspx", 0, 0, 1),
	KEY("snds", "interval", CFG_DURATION, snds_interval, "1h", 1, 7 * DAY, 1),
	KEY("snds", "timeout", CFG_DURATION, snds_timeout, "60s", 1, 3600, 1),

	/* checked together at the end of the file (check_alert) */
	KEY("alert", "smtp_url", CFG_STR, alert_smtp_url, "", 0, 0, 1),
	KEY("alert", "tls", CFG_STR, alert_tls, "auto", 0, 0, 1),
	KEY("alert", "username", CFG_STR, alert_username, "", 0, 0, 1),
	KEY("alert", "password_file", CFG_PATH, alert_password_file, "", 0, 0, 1),
	KEY("alert", "from", CFG_STR, alert_from, "", 0, 0, 1),
	KEY("alert", "to", CFG_STR, alert_to, "", 0, 0, 1),
	KEY("alert", "to_act", CFG_STR, alert_to_act, "", 0, 0, 1),
	KEY("alert", "to_warn", CFG_STR, alert_to_warn, "", 0, 0, 1),
	KEY("alert", "to_watch", CFG_STR, alert_to_watch, "", 0, 0, 1),
	KEY("alert", "subject_prefix", CFG_STR, alert_subject_prefix, "[rangewatch]", 0, 0, 1),
	KEY("alert", "cooldown", CFG_DURATION, alert_cooldown, "1h", 0, 7 * DAY, 1),
	KEY("alert", "digest", CFG_DURATION, alert_digest, "1h", 0, DAY, 1),
	KEY("alert", "timeout", CFG_DURATION, alert_timeout, "30s", 1, 600, 1),
	KEY("alert", "retry_for", CFG_DURATION, alert_retry_for, "7d", HOUR, 30 * DAY, 1),

	KEY("webhook", "url", CFG_STR, webhook_url, "", 0, 0, 1),
	KEY("webhook", "timeout", CFG_DURATION, webhook_timeout, "10s", 1, 300, 1),
	KEY("webhook", "retries", CFG_INT, webhook_retries, "10", 0, 100, 1),

	/* path, timeout and user are fixed in the privileged runner at start: restart only */
	KEY("hook", "path", CFG_PATH, hook_path, "", 0, 0, 0),
	KEY("hook", "timeout", CFG_INT, hook_timeout, "30", 1, 3600, 0),
	KEY("hook", "user", CFG_STR, hook_user, "nobody", 0, 0, 0),
	KEY("hook", "auto_suspend", CFG_BOOL, hook_auto_suspend, "no", 0, 0, 1),
	KEY("hook", "dry_run", CFG_BOOL, hook_dry_run, "yes", 0, 0, 1),
	KEY("hook", "level", CFG_STR, hook_level, "act", 0, 0, 1),
	KEY("hook", "max_per_hour", CFG_INT, hook_max_per_hour, "10", 0, 100000, 1),
	KEY("hook", "max_per_range", CFG_INT, hook_max_per_range, "3", 0, 100000, 1),
	KEY("hook", "unsuspend_after", CFG_DURATION, hook_unsuspend_after, "0", 0, 31536000, 1),
	KEY("hook", "retry_after", CFG_DURATION, hook_retry_after, "10m", 1, 86400, 1),
	KEY("hook", "retries", CFG_INT, hook_retries, "6", 0, 1000, 1),

	/* flow exports (monitor/flows.h): sockets are bound as root at start (restart
	 * only); the allowlist and the window follow a reload */
	KEY("flows", "sflow", CFG_LISTEN, flow_sflow, "", FLOWS_PORT_SFLOW, 0, 0),
	KEY("flows", "ipfix", CFG_LISTEN, flow_ipfix, "", FLOWS_PORT_IPFIX, 0, 0),
	KEY("flows", "netflow", CFG_LISTEN, flow_netflow, "", FLOWS_PORT_NETFLOW, 0, 0),
	LIST("flows", "exporter", CFG_EXPORTERS, flow_exporters, nflow_exporters, "", 1),
	KEY("flows", "pcap_window", CFG_DURATION, flow_pcap_window, "5m", 0, DAY, 1),
	KEY("flows", "max_templates", CFG_LONG, flow_max_templates, "64", 1, 65536, 0),
	KEY("flows", "receive_buffer", CFG_INT, flow_rcvbuf, "4194304", 65536, INT_MAX, 0),
};

#define NSECTIONS	(sizeof cfg_sections / sizeof cfg_sections[0])
#define NKEYS		(sizeof cfg_keys / sizeof cfg_keys[0])

/* The keys of a [policy "NAME"] section (fields of struct risk_policy). */
enum pkey_type {
	PK_BOOL,	/* enabled */
	PK_SCOPE,	/* range | asn */
	PK_FEEDS,	/* list names (accumulates) */
	PK_LISTNAME,	/* one list name, "" none */
	PK_DURATION,	/* int64_t seconds */
	PK_THRESHOLD,	/* threshold_N, N = 8..32: the name is a prefix */
	PK_UINT,	/* uint32_t */
	PK_DOUBLE,
};

#define PK_ANY		-1	/* a key of either scope */
#define THR_MIN_PLEN	8
#define THR_MAX_PLEN	32

struct pkey {
	const char *name;
	enum pkey_type type;
	double min, max;
	int scope;		/* PK_ANY, or the only enum risk_scope it belongs to */
};

static const struct pkey pkeys[] = {
	{ "enabled", PK_BOOL, 0, 0, PK_ANY },
	{ "scope", PK_SCOPE, 0, 0, PK_ANY },
	{ "feeds", PK_FEEDS, 0, 0, PK_ANY },
	{ "escalating", PK_LISTNAME, 0, 0, PK_ANY },
	{ "window", PK_DURATION, HOUR, 365 * DAY, PK_ANY },
	{ "threshold_", PK_THRESHOLD, 1, 1e6, RISK_SCOPE_RANGE },
	{ "min_impacts", PK_UINT, 1, 1e9, RISK_SCOPE_ASN },
	{ "spamscore", PK_DOUBLE, 0, 100000, RISK_SCOPE_ASN },
	{ "spam_per_impact", PK_DOUBLE, 1, 1e9, PK_ANY },
	{ "snds_weight", PK_DOUBLE, 0, 1000, PK_ANY },
};

#define NPKEYS		(sizeof pkeys / sizeof pkeys[0])

/* One [policy "NAME"] section seen in this file (each NAME once). */
struct cfg_polsec {
	char name[RISK_NAME_MAX];
	unsigned line;
};

/* The open [policy "NAME"] section. */
struct cfg_policy {
	int open;
	size_t idx;		/* in cfg->risk.policy */
	int builtin;		/* it edits a built-in policy (scope fixed, feeds given) */
	unsigned line;		/* of the header */
	int enabled;
	unsigned seen[NPKEYS];	/* line where each key was set, 0 when not yet */
	unsigned thr_line[RISK_V4_PLENS];	/* threshold_N: its line ... */
	uint32_t thr[RISK_V4_PLENS];		/* ... and its value, applied at the close */
};

/* The state of one load (inifile.c keeps the file, the line count and the error). */
struct cfg_load {
	struct rw_config *cfg;
	unsigned seen[NKEYS];	/* line where each key was set, 0 when not yet */
	unsigned risk_line;	/* of the first [risk] header, 0 none */
	unsigned policy_line;	/* of the first [policy] header, 0 none */
	struct cfg_policy pol;
	struct cfg_polsec *secs;
	size_t nsecs;
	int cls_open;		/* a [class "NAME"] is the section of the next keys */
	size_t cls_idx;		/* in cfg->risk.cls */
	unsigned cls_seen[8];	/* line of each class key in it, 0 none */
};

/* The keys of a [class "NAME"] section (fields of struct risk_class; 0 = [risk]'s). */
struct ckey {
	const char *name;
	int dbl;		/* double, else uint32_t */
	size_t off;
	double min, max;
};

#define CK(n, d, f, lo, hi)	{ n, d, offsetof(struct risk_class, f), lo, hi }
static const struct ckey ckeys[] = {
	CK("conn_per_hour", 0, conn_per_hour, 1, 1e9),
	CK("rcpt_per_hour", 0, rcpt_per_hour, 1, 1e9),
	CK("mx_per_hour", 0, mx_per_hour, 1, 1e9),
	CK("rejections_5xx_per_hour", 0, rej_5xx, 1, 1e9),
	CK("rate_factor", 1, rate_factor, 1, 1000),
	CK("peak_factor", 1, peak_factor, 1, 1000),
	CK("reject_ratio_weak", 1, reject_ratio_weak, 0.001, 1),
	CK("reject_ratio", 1, reject_ratio, 0.01, 1),
};
#undef CK
#define NCKEYS	(sizeof ckeys / sizeof ckeys[0])
_Static_assert(NCKEYS <= 8, "cls_seen is too small");

/* --- fields --- */

static void *
field(struct rw_config *c, size_t off)
{
	return (char *)c + off;
}

static char **
field_str(struct rw_config *c, const struct cfg_key *k)
{
	return (char **)field(c, k->off);
}

static char ***
field_list(struct rw_config *c, const struct cfg_key *k)
{
	return (char ***)field(c, k->off);
}

static size_t *
field_count(struct rw_config *c, const struct cfg_key *k)
{
	return (size_t *)field(c, k->count_off);
}

static void
free_list(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* --- values --- */

static int
parse_long(const char *s, long long *out)
{
	char *end;

	if (*s == '\0' || ((*s < '0' || *s > '9') && *s != '-'))
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

/* Seconds as the largest unit that divides them: "8d", "1h", "90s". */
static void
format_duration(double secs, char *buf, size_t len)
{
	long long s = (long long)secs;

	if (s != 0 && s % DAY == 0)
		snprintf(buf, len, "%lldd", s / DAY);
	else if (s != 0 && s % HOUR == 0)
		snprintf(buf, len, "%lldh", s / HOUR);
	else if (s != 0 && s % 60 == 0)
		snprintf(buf, len, "%lldm", s / 60);
	else
		snprintf(buf, len, "%llds", s);
}

/* 1 when s is a user or group name ([A-Za-z0-9._-]+), or "@" and one when at is set. */
static int
name_ok(const char *s, int at)
{
	if (at && *s == '@')
		s++;
	return *s != '\0' && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") == strlen(s);
}

/* 1 when s (len bytes) is a policy name: [a-z0-9_.-], 1..RISK_NAME_MAX-1 bytes. */
static int
policy_name_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len >= RISK_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyz0123456789_.-", s[i]) == NULL ||
		    s[i] == '\0')
			return 0;
	return 1;
}

/* 1 when s is a DNSBL list name as a policy may name it: [A-Za-z0-9_.-], shorter than
 * RISK_NAME_MAX. */
static int
list_name_ok(const char *s)
{
	return strlen(s) < RISK_NAME_MAX && name_ok(s, 0);
}

/* An integer of label (e.g. "[capture] snaplen") within [min, max]. */
static int
value_int(const char *label, const char *value, double min, double max, long long *out,
    char *msg, size_t msglen)
{
	char esc[96];

	text_escape(esc, sizeof esc, value, strlen(value));
	if (parse_long(value, out) == -1) {
		snprintf(msg, msglen, "%s: '%s' is not an integer", label, esc);
		return -1;
	}
	if ((double)*out < min || (double)*out > max) {
		snprintf(msg, msglen, "%s: %lld is out of range (%.0f..%.0f)", label, *out, min,
		    max);
		return -1;
	}
	return 0;
}

/* A duration of label within [min, max] seconds. */
static int
value_duration(const char *label, const char *value, double min, double max,
    long long *out, char *msg, size_t msglen)
{
	char esc[96], lo[32], hi[32];
	int64_t secs;

	text_escape(esc, sizeof esc, value, strlen(value));
	if (text_duration(value, &secs) == -1) {
		snprintf(msg, msglen, "%s: '%s' is not a duration (a number of seconds, or with "
		    "s, m, h, d or w: 90s, 30m, 48h, 7d, 1w)", label, esc);
		return -1;
	}
	*out = secs;
	if ((double)*out < min || (double)*out > max) {
		format_duration(min, lo, sizeof lo);
		format_duration(max, hi, sizeof hi);
		snprintf(msg, msglen, "%s: %s is out of range (%s..%s)", label, esc, lo, hi);
		return -1;
	}
	return 0;
}

/* A number of label within [min, max]. */
static int
value_double(const char *label, const char *value, double min, double max, double *out,
    char *msg, size_t msglen)
{
	char esc[96];

	text_escape(esc, sizeof esc, value, strlen(value));
	if (inifile_double(value, out) == -1) {
		snprintf(msg, msglen, "%s: '%s' is not a number", label, esc);
		return -1;
	}
	if (*out < min || *out > max) {
		snprintf(msg, msglen, "%s: %s is out of range (%g..%g)", label, esc, min, max);
		return -1;
	}
	return 0;
}

static int
value_bool(const char *label, const char *value, int *out, char *msg, size_t msglen)
{
	char esc[96];

	if (inifile_bool(value, 0, out) == -1) {
		text_escape(esc, sizeof esc, value, strlen(value));
		snprintf(msg, msglen, "%s: '%s' is not yes/no, true/false or 1/0", label, esc);
		return -1;
	}
	return 0;
}

/* Appends the blank-separated words of value to the list of key k (after emptying it
 * unless `append`). */
static int
set_list(struct rw_config *c, const struct cfg_key *k, const char *label, const char *value,
    int append, char *msg, size_t msglen)
{
	char esc[96], **v, ***lv, *copy, *w, *save;
	size_t *count, n;

	lv = field_list(c, k);
	count = field_count(c, k);
	if (!append) {
		free_list(*lv, *count);
		*lv = NULL;
		*count = 0;
	}
	if ((copy = strdup(value)) == NULL)
		goto oom;
	for (w = strtok_r(copy, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
		if (k->type == CFG_NAMELIST && !name_ok(w, 1)) {
			text_escape(esc, sizeof esc, w, strlen(w));
			snprintf(msg, msglen, "%s: '%s' is not a user name or @group (letters, "
			    "digits, '.', '_', '-')", label, esc);
			free(copy);
			return -1;
		}
		n = *count;
		v = realloc(*lv, (n + 1) * sizeof *v);
		if (v == NULL)
			goto oom;
		*lv = v;
		v[n] = k->type == CFG_PATHLIST ? inifile_path(c->dir, w) : strdup(w);
		if (v[n] == NULL)
			goto oom;
		*count = n + 1;
	}
	free(copy);
	return 0;
oom:
	free(copy);
	snprintf(msg, msglen, "out of memory");
	return -1;
}

/* An exporter line: checked now (flows_parse_exporter), kept whole; each occurrence of
 * the key adds one (the default is none). */
static int
set_lines(struct rw_config *c, const struct cfg_key *k, const char *label, const char *value,
    int append, char *msg, size_t msglen)
{
	struct flows_exporter e;
	char why[160], **v, ***lv = field_list(c, k);
	size_t *count = field_count(c, k);

	if (!append) {
		free_list(*lv, *count);
		*lv = NULL;
		*count = 0;
	}
	if (value[0] == '\0')
		return 0;
	if (flows_parse_exporter(value, &e, why, sizeof why) == -1) {
		snprintf(msg, msglen, "%s: %s", label, why);
		return -1;
	}
	if ((v = realloc(*lv, (*count + 1) * sizeof *v)) == NULL)
		goto oom;
	*lv = v;
	if ((v[*count] = strdup(value)) == NULL)
		goto oom;
	(*count)++;
	return 0;
oom:
	snprintf(msg, msglen, "out of memory");
	return -1;
}

/* Sets key k of c from value; the message (without FILE:LINE) goes to msg. `append` adds
 * to a list instead of replacing it. */
static int
set_value(struct rw_config *c, const struct cfg_key *k, const char *value, int append,
    char *msg, size_t msglen)
{
	char esc[96], label[96], *p;
	long long ll;
	double d;
	int b;

	snprintf(label, sizeof label, "[%s] %s", k->section, k->name);
	switch (k->type) {
	case CFG_LISTEN:
		if (value[0] != '\0') {
			struct sockaddr_storage ss;
			socklen_t sl;
			char why[160];

			if (flows_parse_listen(value, (uint16_t)k->min, &ss, &sl, why,
			    sizeof why) == -1) {
				text_escape(esc, sizeof esc, value, strlen(value));
				snprintf(msg, msglen, "%s: '%s': %s", label, esc, why);
				return -1;
			}
		}
		/* FALLTHROUGH */
	case CFG_STR:
	case CFG_PATH:
	case CFG_NAME:
		if (k->type == CFG_NAME && value[0] != '\0' && !name_ok(value, 0)) {
			text_escape(esc, sizeof esc, value, strlen(value));
			snprintf(msg, msglen, "%s: '%s' is not a name (letters, digits, '.', '_', "
			    "'-')", label, esc);
			return -1;
		}
		p = k->type == CFG_PATH ? inifile_path(c->dir, value) : strdup(value);
		if (p == NULL)
			goto oom;
		free(*field_str(c, k));
		*field_str(c, k) = p;
		return 0;
	case CFG_INT:
	case CFG_UINT:
	case CFG_LONG:
	case CFG_SIZE:
		if (value_int(label, value, k->min, k->max, &ll, msg, msglen) == -1)
			return -1;
		if (k->type == CFG_INT)
			*(int *)field(c, k->off) = (int)ll;
		else if (k->type == CFG_UINT)
			*(unsigned *)field(c, k->off) = (unsigned)ll;
		else if (k->type == CFG_LONG)
			*(long *)field(c, k->off) = (long)ll;
		else
			*(size_t *)field(c, k->off) = (size_t)ll;
		return 0;
	case CFG_DURATION:
	case CFG_DURATION64:
		if (value_duration(label, value, k->min, k->max, &ll, msg, msglen) == -1)
			return -1;
		if (k->type == CFG_DURATION)
			*(long *)field(c, k->off) = (long)ll;
		else
			*(int64_t *)field(c, k->off) = (int64_t)ll;
		return 0;
	case CFG_MODE:
		/* octal digits only: "0660" or "660" */
		if (strcmp(value, "0600") == 0 || strcmp(value, "600") == 0)
			*(int *)field(c, k->off) = 0600;
		else if (strcmp(value, "0660") == 0 || strcmp(value, "660") == 0)
			*(int *)field(c, k->off) = 0660;
		else {
			text_escape(esc, sizeof esc, value, strlen(value));
			snprintf(msg, msglen, "%s: '%s' must be 0600 (the daemon's user only) or "
			    "0660 (and its group)", label, esc);
			return -1;
		}
		return 0;
	case CFG_BOOL:
		if (value_bool(label, value, &b, msg, msglen) == -1)
			return -1;
		*(int *)field(c, k->off) = b;
		return 0;
	case CFG_DOUBLE:
		if (value_double(label, value, k->min, k->max, &d, msg, msglen) == -1)
			return -1;
		*(double *)field(c, k->off) = d;
		return 0;
	case CFG_LIST:
	case CFG_PATHLIST:
	case CFG_NAMELIST:
		return set_list(c, k, label, value, append, msg, msglen);
	case CFG_EXPORTERS:
		return set_lines(c, k, label, value, append, msg, msglen);
	}
	snprintf(msg, msglen, "%s: bad key type", label);
	return -1;
oom:
	snprintf(msg, msglen, "out of memory");
	return -1;
}

/* The built-in defaults with path (may be NULL) and its folder dir. NULL when out of
 * memory. */
static struct rw_config *
defaults(const char *path, const char *dir)
{
	struct rw_config *c;
	char msg[256];
	size_t i;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	if ((path != NULL && (c->path = strdup(path)) == NULL) ||
	    (dir != NULL && (c->dir = strdup(dir)) == NULL))
		goto fail;
	risk_config_init(&c->risk);
	for (i = 0; i < NKEYS; i++)
		if (cfg_keys[i].def != NULL &&
		    set_value(c, &cfg_keys[i], cfg_keys[i].def, 0, msg, sizeof msg) == -1)
			goto fail;
	return c;
fail:
	config_free(c);
	return NULL;
}

/* --- sections --- */

/* Parses the inside of a [section] header: `name` or `name "SUBNAME"`. Returns the row,
 * or NULL with the reason in msg. */
static const struct cfg_section *
find_section(const char *s, size_t len, char *msg, size_t msglen)
{
	struct inifile_header h;
	char esc[96];
	size_t i;

	inifile_header(s, len, &h);
	text_escape(esc, sizeof esc, h.text, h.len);
	for (i = 0; i < NSECTIONS; i++) {
		if (strlen(cfg_sections[i].name) != h.namelen ||
		    strncasecmp(cfg_sections[i].name, h.name, h.namelen) != 0)
			continue;
		if (h.restlen == 0 && cfg_sections[i].named) {
			snprintf(msg, msglen, "section [%s] needs a name: [%s \"NAME\"]",
			    cfg_sections[i].name, cfg_sections[i].name);
			return NULL;
		}
		if (h.restlen != 0 && !cfg_sections[i].named) {
			snprintf(msg, msglen, "section [%s] takes no name (found [%s])",
			    cfg_sections[i].name, esc);
			return NULL;
		}
		if (h.restlen != 0 && !h.quoted) {
			snprintf(msg, msglen, "bad section name [%s] (expected [%s \"NAME\"])",
			    esc, cfg_sections[i].name);
			return NULL;
		}
		return &cfg_sections[i];
	}
	snprintf(msg, msglen, "unknown section [%s]", esc);
	return NULL;
}

/* The line where key section/name was set, 0 when it was not. */
static unsigned
seen_line(const struct cfg_load *l, const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(cfg_keys[i].section, section) == 0 &&
		    strcmp(cfg_keys[i].name, name) == 0)
			return l->seen[i];
	return 0;
}

/* --- [policy "NAME"] --- */

static const char *
scope_name(int scope)
{
	return scope == RISK_SCOPE_ASN ? "asn" : "range";
}

/* The NAME of a [KIND "NAME"] header (inside s, len bytes) into out (RISK_NAME_MAX bytes);
 * -1 with the error on `line` when it is not [a-z0-9_.-]{1,63} (hint says what it names). */
static int
section_name(struct inifile *ini, const char *s, size_t len, unsigned line, const char *kind,
    const char *hint, char *out)
{
	struct inifile_header h;
	char esc[96];
	size_t nl;

	inifile_header(s, len, &h);
	nl = h.restlen - 2;
	if (!policy_name_ok(h.rest + 1, nl)) {
		text_escape(esc, sizeof esc, h.text, h.len);
		inifile_fail(ini, line, "bad %s name in [%s] (%s1..%d characters of a-z, 0-9, "
		    "'_', '.', '-')", kind, esc, hint, RISK_NAME_MAX - 1);
		return -1;
	}
	memcpy(out, h.rest + 1, nl);
	out[nl] = '\0';
	return 0;
}

/* Opens [policy "NAME"] (the header's inside s, len bytes) on line `line`: the built-in
 * policy of that NAME, or a new one. */
static int
policy_open(struct inifile *ini, struct cfg_load *l, const char *s, size_t len,
    unsigned line)
{
	struct risk_config *rc = &l->cfg->risk;
	struct cfg_polsec *v;
	char name[RISK_NAME_MAX];
	size_t i, nl;

	if (section_name(ini, s, len, line, "policy", "", name) == -1)
		return -1;
	nl = strlen(name);
	for (i = 0; i < l->nsecs; i++) {
		if (strcmp(l->secs[i].name, name) == 0) {
			inifile_fail(ini, line, "[policy \"%s\"] is already defined at line %u",
			    name, l->secs[i].line);
			return -1;
		}
	}
	memset(&l->pol, 0, sizeof l->pol);
	for (i = 0; i < rc->npolicies; i++)
		if (strcmp(rc->policy[i].name, name) == 0)
			break;
	if (i == rc->npolicies) {
		if (rc->npolicies == RISK_MAX_POLICIES) {
			inifile_fail(ini, line, "[policy \"%s\"]: too many policies (at most %d, "
			    "the built-in ones included; remove one with enabled = no)", name,
			    RISK_MAX_POLICIES);
			return -1;
		}
		risk_policy_init(&rc->policy[i], name, RISK_SCOPE_RANGE);
		rc->npolicies++;
	} else
		l->pol.builtin = 1;
	if ((v = realloc(l->secs, (l->nsecs + 1) * sizeof *v)) == NULL) {
		inifile_fail(ini, line, "out of memory");
		return -1;
	}
	l->secs = v;
	memcpy(v[l->nsecs].name, name, nl + 1);
	v[l->nsecs].line = line;
	l->nsecs++;
	l->pol.open = 1;
	l->pol.idx = i;
	l->pol.line = line;
	l->pol.enabled = 1;
	if (l->policy_line == 0)
		l->policy_line = line;
	return 0;
}

/* The line of policy key `name` in the open section, 0 when not set. */
static unsigned
pol_seen(const struct cfg_policy *op, const char *name)
{
	size_t i;

	for (i = 0; i < NPKEYS; i++)
		if (strcmp(pkeys[i].name, name) == 0)
			return op->seen[i];
	return 0;
}

/* Closes the open policy section, if any: what needs the whole section. */
static int
policy_close(struct inifile *ini, struct cfg_load *l)
{
	struct cfg_policy *op = &l->pol;
	struct risk_config *rc = &l->cfg->risk;
	struct risk_policy *p;
	unsigned n, fl;

	if (!op->open)
		return 0;
	op->open = 0;
	p = &rc->policy[op->idx];
	if (!op->enabled) {
		/* gone: a later section of the same NAME is still a duplicate (l->secs) */
		memmove(&rc->policy[op->idx], &rc->policy[op->idx + 1],
		    (rc->npolicies - op->idx - 1) * sizeof rc->policy[0]);
		rc->npolicies--;
		memset(&rc->policy[rc->npolicies], 0, sizeof rc->policy[0]);
		return 0;
	}
	if (!op->builtin && pol_seen(op, "scope") == 0) {
		inifile_fail(ini, op->line, "[policy \"%s\"] is a new policy: it needs scope = "
		    "range or asn", p->name);
		return -1;
	}
	if (p->nfeeds == 0) {
		fl = pol_seen(op, "feeds");
		inifile_fail(ini, fl ? fl : op->line, "[policy \"%s\"] needs feeds = LIST... "
		    "(the ip-scope lists whose listings count as impacts)", p->name);
		return -1;
	}
	/* longest prefix first: risk_policy_set_threshold() recomputes the shorter ones */
	for (n = THR_MAX_PLEN + 1; n-- > THR_MIN_PLEN;)
		if (op->thr_line[n] != 0 && risk_policy_set_threshold(p, n, op->thr[n]) == -1) {
			inifile_fail(ini, op->thr_line[n], "[policy \"%s\"] threshold_%u: cannot "
			    "be set", p->name, n);
			return -1;
		}
	return 0;
}

/* Finds the policy key `name`; for threshold_N, *plen gets N (0 when N is not 8..32). */
static const struct pkey *
pkey_find(const char *name, unsigned *plen)
{
	size_t i, pl;
	long long n;

	*plen = 0;
	for (i = 0; i < NPKEYS; i++) {
		if (pkeys[i].type != PK_THRESHOLD) {
			if (strcasecmp(pkeys[i].name, name) == 0)
				return &pkeys[i];
			continue;
		}
		pl = strlen(pkeys[i].name);
		if (strncasecmp(pkeys[i].name, name, pl) != 0 || name[pl] < '0' ||
		    name[pl] > '9' || (name[pl] == '0' && name[pl + 1] != '\0') ||
		    strlen(name + pl) > 3 || parse_long(name + pl, &n) == -1)
			continue;
		if (n >= THR_MIN_PLEN && n <= THR_MAX_PLEN)
			*plen = (unsigned)n;
		return &pkeys[i];
	}
	return NULL;
}

/* One key = value of the open [policy "NAME"] section. */
static int
policy_key(struct inifile *ini, struct cfg_load *l, const char *name, const char *value,
    unsigned line)
{
	struct cfg_policy *op = &l->pol;
	struct risk_policy *p;
	const struct pkey *k;
	char label[160], esc[96], msg[512], *copy = NULL, *w, *save;
	unsigned plen, *seen, other;
	long long ll;
	double d;
	size_t i, f;
	int b, scope;

	text_escape(esc, sizeof esc, name, strlen(name));
	p = &l->cfg->risk.policy[op->idx];
	if ((k = pkey_find(name, &plen)) == NULL) {
		inifile_fail(ini, line, "unknown key '%s' in [policy \"%s\"]", esc, p->name);
		return -1;
	}
	if (k->type == PK_THRESHOLD) {
		snprintf(label, sizeof label, "[policy \"%s\"] %s", p->name, esc);
		if (plen == 0) {
			inifile_fail(ini, line, "%s: the prefix length must be %d..%d "
			    "(threshold_24 = 4)", label, THR_MIN_PLEN, THR_MAX_PLEN);
			return -1;
		}
		seen = &op->thr_line[plen];
	} else {
		snprintf(label, sizeof label, "[policy \"%s\"] %s", p->name, k->name);
		seen = &op->seen[k - pkeys];
	}
	if (*seen != 0 && k->type != PK_FEEDS) {
		inifile_fail(ini, line, "%s is already set at line %u", label, *seen);
		return -1;
	}
	if (!text_is_clean(value, strlen(value))) {
		inifile_fail(ini, line, "%s: control character or bad UTF-8 in the value", label);
		return -1;
	}
	/* a key of one scope in a policy of the other (or scope given after it) */
	if (k->scope != PK_ANY && (op->builtin || pol_seen(op, "scope") != 0) &&
	    (int)p->scope != k->scope) {
		inifile_fail(ini, line, "%s is a key of scope %s policies, and this one is scope "
		    "%s", label, scope_name(k->scope), scope_name((int)p->scope));
		return -1;
	}
	text_escape(esc, sizeof esc, value, strlen(value));
	switch (k->type) {
	case PK_BOOL:
		if (value_bool(label, value, &b, msg, sizeof msg) == -1)
			goto fail;
		op->enabled = b;
		break;
	case PK_SCOPE:
		if (op->builtin) {
			snprintf(msg, sizeof msg, "%s: the built-in policy %s is scope %s, which "
			    "cannot change (add a [policy] of another name instead)", label,
			    p->name, scope_name((int)p->scope));
			goto fail;
		}
		if (strcasecmp(value, "range") == 0)
			scope = RISK_SCOPE_RANGE;
		else if (strcasecmp(value, "asn") == 0)
			scope = RISK_SCOPE_ASN;
		else {
			snprintf(msg, sizeof msg, "%s: '%s' is not range or asn", label, esc);
			goto fail;
		}
		/* the keys of the other scope given before it */
		other = 0;
		for (i = 0; i < NPKEYS; i++)
			if (pkeys[i].scope != PK_ANY && pkeys[i].scope != scope &&
			    op->seen[i] != 0 && (other == 0 || op->seen[i] < other))
				other = op->seen[i];
		for (i = THR_MIN_PLEN; scope != RISK_SCOPE_RANGE && i <= THR_MAX_PLEN; i++)
			if (op->thr_line[i] != 0 && (other == 0 || op->thr_line[i] < other))
				other = op->thr_line[i];
		if (other != 0) {
			snprintf(msg, sizeof msg, "%s: line %u sets a key of scope %s policies",
			    label, other, scope_name(scope == RISK_SCOPE_ASN ? RISK_SCOPE_RANGE :
			    RISK_SCOPE_ASN));
			goto fail;
		}
		p->scope = (enum risk_scope)scope;
		break;
	case PK_FEEDS:
		if (*seen == 0)
			p->nfeeds = 0;	/* the first line replaces the built-in's */
		if ((copy = strdup(value)) == NULL)
			goto oom;
		for (w = strtok_r(copy, " \t", &save); w != NULL;
		    w = strtok_r(NULL, " \t", &save)) {
			text_escape(esc, sizeof esc, w, strlen(w));
			if (!list_name_ok(w)) {
				snprintf(msg, sizeof msg, "%s: '%s' is not a list name "
				    "(1..%d letters, digits, '.', '_', '-')", label, esc,
				    RISK_NAME_MAX - 1);
				goto fail;
			}
			for (f = 0; f < p->nfeeds; f++)
				if (strcmp(p->feeds[f], w) == 0)
					break;
			if (f < p->nfeeds) {
				snprintf(msg, sizeof msg, "%s: '%s' is given twice", label, esc);
				goto fail;
			}
			if (p->nfeeds == RISK_MAX_FEEDS) {
				snprintf(msg, sizeof msg, "%s: too many lists (at most %d)", label,
				    RISK_MAX_FEEDS);
				goto fail;
			}
			snprintf(p->feeds[p->nfeeds++], RISK_NAME_MAX, "%s", w);
		}
		free(copy);
		copy = NULL;
		break;
	case PK_LISTNAME:
		if (value[0] != '\0' && !list_name_ok(value)) {
			snprintf(msg, sizeof msg, "%s: '%s' is not a list name (1..%d letters, "
			    "digits, '.', '_', '-'), or empty for none", label, esc,
			    RISK_NAME_MAX - 1);
			goto fail;
		}
		snprintf(p->escalating, sizeof p->escalating, "%s", value);
		break;
	case PK_DURATION:
		if (value_duration(label, value, k->min, k->max, &ll, msg, sizeof msg) == -1)
			goto fail;
		p->window = (int64_t)ll;
		break;
	case PK_THRESHOLD:
		if (value_int(label, value, k->min, k->max, &ll, msg, sizeof msg) == -1)
			goto fail;
		op->thr[plen] = (uint32_t)ll;
		break;
	case PK_UINT:
		if (value_int(label, value, k->min, k->max, &ll, msg, sizeof msg) == -1)
			goto fail;
		p->asn_min_impacts = (uint32_t)ll;
		break;
	case PK_DOUBLE:
		if (value_double(label, value, k->min, k->max, &d, msg, sizeof msg) == -1)
			goto fail;
		if (strcmp(k->name, "spamscore") == 0)
			p->asn_spamscore = d;
		else if (strcmp(k->name, "snds_weight") == 0)
			p->snds_weight = d;
		else
			p->spam_per_impact = d;
		break;
	}
	if (*seen == 0)
		*seen = line;
	return 0;
oom:
	snprintf(msg, sizeof msg, "out of memory");
fail:
	free(copy);
	inifile_fail(ini, line, "%s", msg);
	return -1;
}

/* --- [alert] and [webhook] --- */

#define PASSWORD_MAX	1024

/* 1 when s (len bytes) is a plain addr-spec: printable ASCII, one '@' between a non-empty
 * local part and domain, none of the characters that would make it a display name, a
 * route, a group or a second address. */
static int
address_ok(const char *s, size_t len)
{
	size_t i, at = 0, nat = 0;

	if (len == 0 || len > 254)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] <= ' ' || s[i] >= 0x7f || strchr("<>()[],;:\\\"", s[i]) != NULL)
			return 0;
		if (s[i] == '@') {
			at = i;
			nat++;
		}
	}
	return nat == 1 && at > 0 && at < len - 1;
}

/* Checks a comma-separated address list of [alert] name; counts the addresses. */
static int
check_addresses(struct inifile *ini, struct cfg_load *l, const char *name, const char *v,
    size_t *count)
{
	const char *p = v, *e, *b;
	char esc[96];

	while (*p != '\0') {
		e = strchr(p, ',');
		if (e == NULL)
			e = p + strlen(p);
		for (b = p; b < e && (*b == ' ' || *b == '\t'); b++)
			;
		for (p = e; p > b && (p[-1] == ' ' || p[-1] == '\t'); p--)
			;
		if (p > b) {
			if (!address_ok(b, (size_t)(p - b))) {
				text_escape(esc, sizeof esc, b, (size_t)(p - b));
				inifile_fail(ini, seen_line(l, "alert", name), "[alert] %s: '%s' is "
				    "not a plain address (user@example.net; comma-separated)", name,
				    esc);
				return -1;
			}
			(*count)++;
		}
		p = *e == ',' ? e + 1 : e;
	}
	return 0;
}

/* Reads [alert] password_file into c->alert_password: at most PASSWORD_MAX bytes, one line
 * (a trailing newline is stripped), no control characters. */
static int read_secret(struct inifile *ini, unsigned line, const char *label,
    const char *what, const char *path, char **out);

static int
read_password(struct inifile *ini, struct cfg_load *l)
{
	return read_secret(ini, seen_line(l, "alert", "password_file"), "[alert] password_file",
	    "password", l->cfg->alert_password_file, &l->cfg->alert_password);
}

/* Reads a secret's file (path, the key `label` on line) into *out: at most PASSWORD_MAX
 * bytes, one line (a trailing newline is stripped), no control characters. */
static int
read_secret(struct inifile *ini, unsigned line, const char *label, const char *what,
    const char *path, char **out)
{
	char buf[PASSWORD_MAX + 2], esc[256];
	size_t n;
	FILE *f;

	text_escape(esc, sizeof esc, path, strlen(path));
	if ((f = fopen(path, "re")) == NULL) {
		inifile_fail(ini, line, "%s: cannot read %s: %s", label, esc, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, sizeof buf - 1, f);
	if (ferror(f)) {
		inifile_fail(ini, line, "%s: cannot read %s: %s", label, esc, strerror(errno));
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	if (n == 0 || n > PASSWORD_MAX || strlen(buf) != n || !text_is_clean(buf, n)) {
		explicit_bzero(buf, sizeof buf);
		inifile_fail(ini, line, "%s: %s must hold the %s on one line (1..%d bytes, no "
		    "control characters)", label, esc, what, PASSWORD_MAX);
		return -1;
	}
	*out = strdup(buf);
	explicit_bzero(buf, sizeof buf);
	if (*out == NULL) {
		inifile_fail(ini, line, "out of memory");
		return -1;
	}
	return 0;
}

/* The [alert] and [webhook] keys that depend on each other, each error on its key's line. */
static int
check_alert(struct inifile *ini, struct cfg_load *l)
{
	struct rw_config *c = l->cfg;
	const char *u = c->alert_smtp_url, *t = c->alert_tls;
	size_t nto = 0, nlevel = 0;

	if (u[0] != '\0' && strncasecmp(u, "smtp://", 7) != 0 &&
	    strncasecmp(u, "smtps://", 8) != 0) {
		inifile_fail(ini, seen_line(l, "alert", "smtp_url"), "[alert] smtp_url: must "
		    "start with smtp:// or smtps:// (or be empty: no mail)");
		return -1;
	}
	if (strcmp(t, "auto") != 0 && strcmp(t, "required") != 0 &&
	    strcmp(t, "opportunistic") != 0 && strcmp(t, "none") != 0) {
		inifile_fail(ini, seen_line(l, "alert", "tls"), "[alert] tls: must be auto, "
		    "required, opportunistic or none");
		return -1;
	}
	if (c->alert_from[0] != '\0' && !address_ok(c->alert_from, strlen(c->alert_from))) {
		inifile_fail(ini, seen_line(l, "alert", "from"), "[alert] from: not a plain "
		    "address (rangewatch@example.net)");
		return -1;
	}
	if (check_addresses(ini, l, "to", c->alert_to, &nto) == -1 ||
	    check_addresses(ini, l, "to_act", c->alert_to_act, &nlevel) == -1 ||
	    check_addresses(ini, l, "to_warn", c->alert_to_warn, &nlevel) == -1 ||
	    check_addresses(ini, l, "to_watch", c->alert_to_watch, &nlevel) == -1)
		return -1;
	if (u[0] != '\0' && c->alert_from[0] == '\0') {
		inifile_fail(ini, seen_line(l, "alert", "smtp_url"), "[alert] smtp_url is set: "
		    "from must be set too");
		return -1;
	}
	if (u[0] != '\0' && nto + nlevel == 0) {
		inifile_fail(ini, seen_line(l, "alert", "smtp_url"), "[alert] smtp_url is set: "
		    "to (or to_act, to_warn, to_watch) must name a recipient");
		return -1;
	}
	if (c->webhook_url[0] != '\0' && strncasecmp(c->webhook_url, "http://", 7) != 0 &&
	    strncasecmp(c->webhook_url, "https://", 8) != 0) {
		inifile_fail(ini, seen_line(l, "webhook", "url"), "[webhook] url: must start "
		    "with http:// or https:// (or be empty: none)");
		return -1;
	}
	if (strcmp(c->hook_level, "act") != 0 && strcmp(c->hook_level, "warn") != 0) {
		inifile_fail(ini, seen_line(l, "hook", "level"), "[hook] level: act or warn (the "
		    "level at which auto_suspend suspends)");
		return -1;
	}
	if (c->hook_path[0] != '\0' && strcmp(c->hook_user, c->user) == 0) {
		/* the runner would hand the daemon's own uid every hook: a compromised daemon
		 * could then ptrace or signal the hooks, or be the hook */
		inifile_fail(ini, seen_line(l, "hook", "user") ? seen_line(l, "hook", "user") :
		    seen_line(l, "rangewatch", "user"), "[hook] user: must not be the daemon's "
		    "own user ([rangewatch] user = %s): hooks run as a user of their own",
		    c->user);
		return -1;
	}
	if (c->alert_password_file[0] != '\0' && read_password(ini, l) == -1)
		return -1;
	if (c->snds_key_file[0] != '\0' && read_secret(ini, seen_line(l, "snds", "key_file"),
	    "[snds] key_file", "key", c->snds_key_file, &c->snds_key) == -1)
		return -1;
	if (strncasecmp(c->snds_data_url, "http://", 7) != 0 &&
	    strncasecmp(c->snds_data_url, "https://", 8) != 0) {
		inifile_fail(ini, seen_line(l, "snds", "data_url"), "[snds] data_url: must start "
		    "with http:// or https://");
		return -1;
	}
	if (strncasecmp(c->snds_status_url, "http://", 7) != 0 &&
	    strncasecmp(c->snds_status_url, "https://", 8) != 0) {
		inifile_fail(ini, seen_line(l, "snds", "status_url"), "[snds] status_url: must "
		    "start with http:// or https://");
		return -1;
	}
	return 0;
}

/* [rangewatch] metrics: a numeric HOST:PORT the metrics endpoint can bind, or "". */
static int
check_metrics(struct inifile *ini, struct cfg_load *l)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	char msg[160];

	if (l->cfg->metrics[0] == '\0')
		return 0;
	if (metrics_parse_addr(l->cfg->metrics, &ss, &sslen, msg, sizeof msg) == -1) {
		inifile_fail(ini, seen_line(l, "rangewatch", "metrics"), "[rangewatch] metrics: "
		    "%s", msg);
		return -1;
	}
	return 0;
}

/* --- reading --- */

/* Opens [class "NAME"] on line `line`: the limits of customers tagged NAME. */
static int
class_open(struct inifile *ini, struct cfg_load *l, const char *s, size_t len,
    unsigned line)
{
	struct risk_config *rc = &l->cfg->risk;
	char name[RISK_NAME_MAX];
	size_t i;

	if (section_name(ini, s, len, line, "class", "a customer tag: ", name) == -1)
		return -1;
	for (i = 0; i < rc->nclasses; i++)
		if (strcmp(rc->cls[i].name, name) == 0) {
			inifile_fail(ini, line, "[class \"%s\"] is defined twice", name);
			return -1;
		}
	if (rc->nclasses == RISK_MAX_CLASSES) {
		inifile_fail(ini, line, "too many classes (at most %d)", RISK_MAX_CLASSES);
		return -1;
	}
	memset(&rc->cls[rc->nclasses], 0, sizeof rc->cls[0]);
	memcpy(rc->cls[rc->nclasses].name, name, strlen(name) + 1);
	l->cls_idx = rc->nclasses++;
	l->cls_open = 1;
	memset(l->cls_seen, 0, sizeof l->cls_seen);
	return 0;
}

static int
class_key(struct inifile *ini, struct cfg_load *l, const char *name, const char *value,
    unsigned line)
{
	struct risk_class *c = &l->cfg->risk.cls[l->cls_idx];
	char label[160], msg[256], esc[96];
	long long ll;
	double d;
	size_t i;

	for (i = 0; i < NCKEYS; i++)
		if (strcasecmp(ckeys[i].name, name) == 0)
			break;
	text_escape(esc, sizeof esc, name, strlen(name));
	if (i == NCKEYS) {
		inifile_fail(ini, line, "unknown key '%s' in [class \"%s\"]", esc, c->name);
		return -1;
	}
	if (l->cls_seen[i] != 0) {
		inifile_fail(ini, line, "[class \"%s\"] %s is already set at line %u", c->name,
		    ckeys[i].name, l->cls_seen[i]);
		return -1;
	}
	snprintf(label, sizeof label, "[class \"%s\"] %s", c->name, ckeys[i].name);
	if (ckeys[i].dbl) {
		if (value_double(label, value, ckeys[i].min, ckeys[i].max, &d, msg,
		    sizeof msg) == -1)
			goto fail;
		*(double *)(void *)((char *)c + ckeys[i].off) = d;
	} else {
		if (value_int(label, value, ckeys[i].min, ckeys[i].max, &ll, msg,
		    sizeof msg) == -1)
			goto fail;
		*(uint32_t *)(void *)((char *)c + ckeys[i].off) = (uint32_t)ll;
	}
	l->cls_seen[i] = line;
	return 0;
fail:
	inifile_fail(ini, line, "%s", msg);
	return -1;
}

/* inifile's section check: a header on its own line; it closes an open [policy]. */
static int
cfg_section(struct inifile *ini, void *arg, const char *s, size_t len, unsigned line)
{
	struct cfg_load *l = arg;
	const struct cfg_section *sec;
	char msg[256];

	if (policy_close(ini, l) == -1)
		return -1;
	l->cls_open = 0;
	if ((sec = find_section(s, len, msg, sizeof msg)) == NULL) {
		inifile_fail(ini, line, "%s", msg);
		return -1;
	}
	if (strcmp(sec->name, "risk") == 0 && l->risk_line == 0)
		l->risk_line = line;
	if (strcmp(sec->name, "policy") == 0)
		return policy_open(ini, l, s, len, line);
	if (strcmp(sec->name, "class") == 0)
		return class_open(ini, l, s, len, line);
	return 0;
}

/* inifile's key handler, called for every key = value. */
static int
cfg_key(struct inifile *ini, void *arg, const char *section, const char *name,
    const char *value, unsigned line)
{
	struct cfg_load *l = arg;
	const struct cfg_section *sec;
	const struct cfg_key *k = NULL;
	char msg[512], esc[96], sesc[96];
	size_t i;

	/* the open [policy] is the section of this key (every header opens or closes one);
	 * inih's copy of its header may be cut at 50 characters, a long NAME's is */
	if (l->pol.open)
		return policy_key(ini, l, name, value, line);
	if (l->cls_open)
		return class_key(ini, l, name, value, line);
	text_escape(esc, sizeof esc, name, strlen(name));
	if (section[0] == '\0') {
		inifile_fail(ini, line, "key '%s' outside any section", esc);
		return -1;
	}
	if ((sec = find_section(section, strlen(section), msg, sizeof msg)) == NULL) {
		inifile_fail(ini, line, "%s", msg);
		return -1;
	}
	if (strcmp(sec->name, "policy") == 0 || strcmp(sec->name, "class") == 0) {
		inifile_fail(ini, line, "key '%s' outside an open [%s] section", esc, sec->name);
		return -1;
	}
	text_escape(sesc, sizeof sesc, section, strlen(section));
	for (i = 0; i < NKEYS; i++) {
		if (strcmp(cfg_keys[i].section, sec->name) == 0 &&
		    strcasecmp(cfg_keys[i].name, name) == 0) {
			k = &cfg_keys[i];
			break;
		}
	}
	if (k == NULL) {
		inifile_fail(ini, line, "unknown key '%s' in [%s]", esc, sesc);
		return -1;
	}
	if (l->seen[i] != 0 && k->type != CFG_LIST && k->type != CFG_PATHLIST &&
	    k->type != CFG_NAMELIST && k->type != CFG_EXPORTERS) {
		inifile_fail(ini, line, "[%s] %s is already set at line %u", k->section, k->name,
		    l->seen[i]);
		return -1;
	}
	if (!text_is_clean(value, strlen(value))) {
		inifile_fail(ini, line, "[%s] %s: control character or bad UTF-8 in the value",
		    k->section, k->name);
		return -1;
	}
	if (set_value(l->cfg, k, value, l->seen[i] != 0, msg, sizeof msg) == -1) {
		inifile_fail(ini, line, "%s", msg);
		return -1;
	}
	if (l->seen[i] == 0)
		l->seen[i] = line;
	return 0;
}

/* inifile's end of file: closes the last [policy], then checks what depends on more than
 * one key. */
static void
cfg_end(struct inifile *ini, void *arg)
{
	struct cfg_load *l = arg;
	const struct risk_config *rc = &l->cfg->risk;
	unsigned wl, al, line;
	char msg[256];

	if (policy_close(ini, l) == -1)
		return;
	if (check_alert(ini, l) == -1)
		return;
	if (check_metrics(ini, l) == -1)
		return;
	wl = seen_line(l, "risk", "warn_at");
	al = seen_line(l, "risk", "act_at");
	if (!(rc->warn_at > 0)) {
		inifile_fail(ini, wl, "[risk] warn_at: must be above 0");
		return;
	}
	if (!(rc->act_at > 0)) {
		inifile_fail(ini, al, "[risk] act_at: must be above 0");
		return;
	}
	if (rc->warn_at > rc->act_at) {
		inifile_fail(ini, wl > al ? wl : al, "[risk] warn_at (%g) is above act_at (%g): "
		    "a customer must be warned before anyone acts", rc->warn_at, rc->act_at);
		return;
	}
	/* the last word is the risk engine's (what it refuses, risk_new would refuse) */
	if (risk_config_check(rc, msg, sizeof msg) == -1) {
		line = l->risk_line ? l->risk_line : l->policy_line ? l->policy_line : 1;
		inifile_fail(ini, line, "[risk]: %s", msg);
	}
}

static const struct inifile_ops cfg_ops = {
	.section = cfg_section,
	.key = cfg_key,
	.end = cfg_end,
	.header = "[section]",
	.long_hint = "split a list over several lines with the same key",
};

/* The built-in defaults; fatal when out of memory. */
struct rw_config *
config_default(void)
{
	struct rw_config *c = defaults(NULL, NULL);

	if (c == NULL)
		fatal("config_default");
	return c;
}

/* Reads path over the defaults. */
int
config_load(const char *path, struct rw_config **out, char *err, size_t errlen)
{
	struct cfg_load l;
	char *dir = NULL;
	int ret = -1;

	*out = NULL;
	memset(&l, 0, sizeof l);
	if ((dir = inifile_dir(path)) == NULL || (l.cfg = defaults(path, dir)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (inifile_parse(path, &cfg_ops, &l, err, errlen) == -1)
		goto out;
	*out = l.cfg;
	l.cfg = NULL;
	ret = 0;
out:
	free(dir);
	free(l.secs);
	config_free(l.cfg);
	return ret;
}

/* Read-only access to a key's field. */
static const void *
cfield(const struct rw_config *c, size_t off)
{
	return (const char *)c + off;
}

/* 1 when key k has the same value in a and b. */
static int
same_value(const struct rw_config *a, const struct rw_config *b, const struct cfg_key *k)
{
	const char *const *la, *const *lb;
	size_t i, n;

	switch (k->type) {
	case CFG_STR:
	case CFG_PATH:
	case CFG_NAME:
	case CFG_LISTEN:
		return strcmp(*(const char *const *)cfield(a, k->off),
		    *(const char *const *)cfield(b, k->off)) == 0;
	case CFG_INT:
	case CFG_BOOL:
	case CFG_MODE:
		return *(const int *)cfield(a, k->off) == *(const int *)cfield(b, k->off);
	case CFG_UINT:
		return *(const unsigned *)cfield(a, k->off) ==
		    *(const unsigned *)cfield(b, k->off);
	case CFG_LONG:
	case CFG_DURATION:
		return *(const long *)cfield(a, k->off) == *(const long *)cfield(b, k->off);
	case CFG_SIZE:
		return *(const size_t *)cfield(a, k->off) == *(const size_t *)cfield(b, k->off);
	case CFG_DURATION64:
		return *(const int64_t *)cfield(a, k->off) ==
		    *(const int64_t *)cfield(b, k->off);
	case CFG_DOUBLE:
		return *(const double *)cfield(a, k->off) == *(const double *)cfield(b, k->off);
	case CFG_LIST:
	case CFG_PATHLIST:
	case CFG_NAMELIST:
	case CFG_EXPORTERS:
		n = *(const size_t *)cfield(a, k->count_off);
		if (n != *(const size_t *)cfield(b, k->count_off))
			return 0;
		la = *(const char *const *const *)cfield(a, k->off);
		lb = *(const char *const *const *)cfield(b, k->off);
		for (i = 0; i < n; i++)
			if (strcmp(la[i], lb[i]) != 0)
				return 0;
		return 1;
	}
	return 0;
}

/* The restart-only keys that differ between two configs. [risk], [policy] and [store]
 * are all reloadable, so the policies need no comparison here. */
int
config_restart_keys(const struct rw_config *old, const struct rw_config *nw, char *buf,
    size_t len)
{
	const struct cfg_key *k;
	size_t i, used = 0;
	int w, count = 0;

	if (len > 0)
		buf[0] = '\0';
	for (i = 0; i < NKEYS; i++) {
		k = &cfg_keys[i];
		if (k->reload || same_value(old, nw, k))
			continue;
		count++;
		if (used < len) {
			w = snprintf(buf + used, len - used, "%s[%s] %s", used ? ", " : "",
			    k->section, k->name);
			used += w > 0 ? (size_t)w : 0;
		}
	}
	return count;
}

/* Frees the config and all its strings. */
void
config_free(struct rw_config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < NKEYS; i++) {
		switch (cfg_keys[i].type) {
		case CFG_STR:
		case CFG_PATH:
		case CFG_NAME:
		case CFG_LISTEN:
			free(*field_str(c, &cfg_keys[i]));
			break;
		case CFG_LIST:
		case CFG_PATHLIST:
		case CFG_NAMELIST:
		case CFG_EXPORTERS:
			free_list(*field_list(c, &cfg_keys[i]), *field_count(c, &cfg_keys[i]));
			break;
		default:
			break;
		}
	}
	if (c->snds_key != NULL) {
		explicit_bzero(c->snds_key, strlen(c->snds_key));
		free(c->snds_key);
	}
	if (c->alert_password != NULL) {
		explicit_bzero(c->alert_password, strlen(c->alert_password));
		free(c->alert_password);
	}
	free(c->path);
	free(c->dir);
	free(c);
}
