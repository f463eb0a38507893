/*
 * config.h — rangewatch.conf (INI read with inih, git-config-style sections). The keys are
 * a table in config.c (name, type, default, range); an unknown section or key is an error,
 * and every error names FILE:LINE. Relative paths are resolved against the config file's
 * folder. The struct is a plain value with public fields: it is data handed around
 * read-only, and a reload builds a new one and swaps it only when it is entirely good.
 */
#ifndef RW_CONFIG_H
#define RW_CONFIG_H

#include <stddef.h>

#include "flows.h"
#include "risk.h"

struct rw_config {
	char *path;		/* the file read, or NULL for the built-in defaults */
	char *dir;		/* its folder, absolute (NULL for the built-in defaults) */

	/* [rangewatch] */
	char *prefixes;		/* path to prefixes.txt ("" = none: all space is ours) */
	char *customers;	/* path to customers.csv ("" = none) */
	char *lists;		/* path to dnsbl.conf ("" = none) */
	char *interface;	/* capture interface ("" = none) */
	char *nameserver;	/* "IP[:PORT][,...]", "" = the system's */
	long dns_max_ttl;	/* seconds an answer's TTL is cut to */
	long dns_max_negative_ttl; /* seconds an NXDOMAIN's TTL is cut to */
	char *state_dir;
	char *socket;
	int socket_mode;	/* octal in the file (0660); only 0600, 0660 allowed */
	char *socket_group;	/* group of the socket ("" = the daemon user's primary group) */
	char **operators;	/* users and @groups that may act (suspend/resume/ack) */
	size_t noperators;
	char *user;		/* drop to this user after opening the capture */
	char *pidfile;
	char **replay;		/* capture files the daemon replays instead of an interface */
	size_t nreplay;
	double replay_speed;	/* 0: as fast as it can */
	char *metrics;		/* "HOST:PORT" of GET /metrics ("" = off); metrics.h */

	/* [capture] */
	int snaplen;
	int buffer_size;	/* kernel ring, bytes */
	size_t ring_events;	/* the capture thread's hand-over ring, events */
	int flow_timeout;	/* seconds of silence before a flow is forgotten */
	long max_flows;		/* bound of the flow table */
	long max_ips;		/* bound of the per-IP table */
	char **cite;		/* words that make a 4xx/5xx reply cite a list */
	size_t ncite;

	/* [store] */
	long minute_retention;	/* seconds 1-minute traffic rows are kept (48h) */
	long hour_retention;	/* seconds hourly traffic rows are kept (35d) */

	/* [risk] (suspect rules, levels) and [policy "NAME"] sections (escalation policies):
	 * starts as risk_config_init(); a [policy "NAME"] section edits the built-in policy of
	 * that name or adds one from risk_policy_init(); `enabled = no` removes it. */
	struct risk_config risk;

	/* [alert] (alert.h says how they are used) */
	char *alert_smtp_url;	/* smtp:// or smtps://, "" = no mail */
	char *alert_tls;	/* "auto", "required", "opportunistic", "none" (smtp:// only) */
	char *alert_username;	/* "" = no AUTH */
	char *alert_password_file;	/* path, "" = none */
	char *alert_password;	/* its content, read at load (not a key; NULL when none) */
	char *alert_from;	/* one address */
	char *alert_to;		/* comma-separated: every level */
	char *alert_to_act;	/* comma-separated: extra recipients per level */
	char *alert_to_warn;
	char *alert_to_watch;
	char *alert_subject_prefix;
	long alert_cooldown;	/* seconds */
	long alert_digest;	/* seconds, 0 = watch mails go out one by one */
	long alert_timeout;	/* seconds */
	long alert_retry_for;	/* seconds a mail is retried before it is given up */

	/* [webhook] */
	char *webhook_url;	/* http:// or https://, "" = none */
	long webhook_timeout;	/* seconds */
	int webhook_retries;	/* tries after the first before it is given up */

	/* [snds] (monitor/snds_fetch.h): Microsoft SNDS data, from files or fetched */
	char *snds_file;	/* SNDS data CSV read from disk ("" none) */
	char *snds_status_file;	/* IP-status CSV read from disk ("" none) */
	char *snds_key_file;	/* the automated-access key: fetch from the URLs ("" none) */
	char *snds_key;		/* its content, read at load (not a key; NULL when none) */
	char *snds_data_url;	/* http(s) URL; ?key=KEY is appended */
	char *snds_status_url;
	long snds_interval;	/* seconds between two reads or fetches */
	long snds_timeout;	/* seconds a fetch may take */

	/* [hook] */
	char *hook_path;
	int hook_timeout;
	char *hook_user;
	int hook_auto_suspend;
	int hook_dry_run;
	char *hook_level;	/* the level that suspends automatically: "act" or "warn" */
	int hook_max_per_hour;	/* circuit breaker: automatic suspensions per hour, in all */
	int hook_max_per_range;	/* ... and per range (0: no bound) */
	long hook_unsuspend_after; /* resume automatically after this long at level none (0:
				 * only by hand) */
	long hook_retry_after;	/* a hook that exits 75 runs again after this long ... */
	int hook_retries;	/* ... at most this many times */

	/* [flows] (flows.h): sFlow / IPFIX / NetFlow v9 exports */
	char *flow_sflow;	/* "" or ADDR[:PORT] (6343) */
	char *flow_ipfix;	/* "" or ADDR[:PORT] (4739) */
	char *flow_netflow;	/* "" or ADDR[:PORT] (2055) */
	char **flow_exporters;	/* "ADDR [sampling N]" lines, checked (flows_parse_exporter) */
	size_t nflow_exporters;
	long flow_pcap_window;	/* seconds a pcap-counted IP ignores flow data */
	long flow_max_templates;	/* per exporter */
	int flow_rcvbuf;	/* bytes per socket */
};

/* The built-in defaults (no file). Never NULL (fatal on out of memory). */
struct rw_config *config_default(void);
/* Reads path over the defaults. -1 with "FILE:LINE: what is wrong" in err. Files the
 * config names are not opened (they need not exist yet). A scalar key given twice is an
 * error; a list key given twice appends (the first occurrence replaces the default). */
int config_load(const char *path, struct rw_config **out, char *err, size_t errlen);
/* NULL-safe. */
void config_free(struct rw_config *c);
/* For a reload: names in buf ("[capture] snaplen, [rangewatch] user") the keys whose value
 * differs between old and nw but which only take effect on a restart; returns how many. */
int config_restart_keys(const struct rw_config *old, const struct rw_config *nw, char *buf,
    size_t len);

#endif
