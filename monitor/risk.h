/*
 * risk.h — the risk engine: which customers push a range (/24 or registered allocation) or
 * the ASN toward range- or ASN-level listing. Pure: it is fed listing states, per-IP SMTP
 * counter snapshots, the customer map and the provider space, and risk_evaluate() turns
 * them into neighbourhood pressures, forecasts and ranked customer flags with evidence.
 * Owns: its per-IP history (bounded by max_ips), its neighbourhood table and the results of
 * the last evaluation. Never does I/O, never reads the clock (every call takes `now`),
 * never escapes text: names and list texts are kept as data, escaping is at output.
 *
 * The words (impact, provisional impact, estimated impacts, likelihood, pressure,
 * projected, suspect, watch/warn/act) are those of design.md; rangewatchd(8), DETECTION
 * MODEL, says how each default follows from what the lists publish. Baseline: per IP, an
 * EWMA of the hourly connection count and of the new destinations (about one week of memory), a
 * "usual peak" of each (the hourly maximum, decaying with a one-week half-life) and the
 * usual share of recipients rejected: a few bytes a counter instead of 168 hour-of-week
 * buckets (672 bytes a counter, 1.3 GB for a million IPs), and the peak keeps a nightly
 * batch or a daily newsletter from looking like a spike.
 *
 * The engine is one module in four files that share risk_int.h: risk.c (config, state,
 * observations, listings, persistence), risk_score.c (one IP's evidence and likelihood),
 * risk_eval.c (neighbourhoods, forecasts, levels) and risk_evidence.c (the words).
 */
#ifndef RW_RISK_H
#define RW_RISK_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "customers.h"
#include "prefixes.h"

#define RISK_NAME_MAX	64	/* policy and list names, NUL included */
#define RISK_MAX_FEEDS	8	/* feeding lists per policy */
#define RISK_MAX_POLICIES 8
#define RISK_V4_PLENS	33	/* range thresholds per IPv4 prefix length /0../32 */

enum risk_scope { RISK_SCOPE_RANGE, RISK_SCOPE_ASN };
enum risk_level { RISK_NONE, RISK_WATCH, RISK_WARN, RISK_ACT };

/*
 * An escalation policy: what the config layer fills from a `[policy "NAME"]` section
 * (start from risk_policy_init(), then override). IPv6 ranges use the threshold of the
 * IPv4 length 24 shorter (a /48 counts like a /24, a /56 and longer like a /32).
 */
struct risk_policy {
	char name[RISK_NAME_MAX];	/* e.g. "uceprotect-2" */
	enum risk_scope scope;
	char feeds[RISK_MAX_FEEDS][RISK_NAME_MAX];	/* ip-scope lists whose listings are impacts */
	size_t nfeeds;
	char escalating[RISK_NAME_MAX];	/* range/asn-scope list that confirms ("" none) */
	int64_t window;			/* seconds an impact counts after last seen (7 d) */
	uint32_t range_thr[RISK_V4_PLENS];	/* scope range: impacts that escalate, per /n */
	uint32_t asn_min_impacts;	/* scope asn: at least this many impacts ... */
	double asn_spamscore;		/* ... and impacts / IPs of the ASN x 100000 >= this */
	double spam_per_impact;		/* recipients of spam per estimated trap hit (1000) */
	double snds_weight;		/* with `snds-traps` in feeds: estimated impacts per
					 * trap hit Microsoft's SNDS reports (0.5) */
};

/*
 * A customer class: customers carrying the tag NAME (customers.csv) have their own
 * limits, e.g. `bulk` senders a higher fan-out and volume with no history, a `relay` a
 * higher share of bounces. 0 in a field: the [risk] value.
 */
#define RISK_MAX_CLASSES 8
struct risk_class {
	char name[RISK_NAME_MAX];	/* the tag */
	uint32_t conn_per_hour, rcpt_per_hour, mx_per_hour, rej_5xx;
	double rate_factor, peak_factor, reject_ratio_weak, reject_ratio;
};

/* Suspect rules and levels; risk_config_init() sets the defaults shown. */
struct risk_config {
	size_t max_ips;			/* IPs with history at most (1000000); past it the
					 * idlest IP with nothing against it makes room */
	int64_t idle_forget;		/* an IP idle this long with nothing against it is
					 * forgotten (30 d) */
	int64_t snds_for;		/* an SNDS row is evidence this long after its activity
					 * period ends (3 d) */
	double snds_complaint_rate;	/* SNDS complaint rate that is (weak) evidence (0.003) */
	int64_t complaints_for;		/* complaint reports count this long (24 h) ... */
	uint32_t complaints_min;	/* ... at least this many make (weak) evidence (1) */
	double rate_factor;		/* rate over own mean: x (10) */
	double peak_factor;		/* ... and over own usual peak: x (2) */
	uint32_t rate_min;		/* ... and at least this many connections/h (50) */
	unsigned baseline_hours;	/* hours of history before the baseline is used (24) */
	uint32_t conn_per_hour;		/* absolute limit, SMTP connections/h (1000) */
	uint32_t rcpt_per_hour;		/* absolute limit, RCPT/h (5000) */
	uint32_t mx_per_hour;		/* fan-out: new distinct destinations/h (200) */
	uint32_t rej_5xx;		/* remote 5xx/h (20) */
	uint32_t rej_cited;		/* rejections naming a list/h (3): strong evidence, and
					 * for a feeding list a provisional impact */
	double reject_ratio;		/* share of RCPT rejected (5xx) that is strong evidence,
					 * with rej_5xx/h and twice the IP's usual share (0.5) */
	double reject_ratio_weak;	/* ... that is weak evidence (0.1) */
	double cited_share;		/* replies naming a list per RCPT that make them strong
					 * evidence, with rej_cited/h (0.01) */
	int64_t provisional_for;	/* a provisional listing lasts this long after the last
					 * report naming the list (2 h) */
	int64_t horizon;		/* act when the forecast crosses within this (6 h) */
	double main_share;		/* a main contributor adds this share (0.33) */
	unsigned v6_plen;		/* IPv6 senders are tracked per /v6_plen (64) */
	int64_t silent;			/* an IP silent this long that starts sending (30 d) */
	int64_t woke_for;		/* stays suspect this long after waking (24 h) */
	uint32_t woke_min;		/* connections/h that count as sending (5) */
	double warn_at, act_at;		/* projected pressure for warn (0.5) and act (0.8) */
	int64_t rate_window;		/* new impacts over this long give the rate (24 h) */
	struct risk_policy policy[RISK_MAX_POLICIES];
	size_t npolicies;
	struct risk_class cls[RISK_MAX_CLASSES];
	size_t nclasses;
};

/* One snapshot of an IP's cumulative counters (those of struct traffic_ip). cited counts
 * each reply naming any list once; per list counts go through risk_reported(). */
struct risk_counters {
	uint32_t connections;		/* sessions (handshakes completed) */
	uint32_t rcpt;
	uint32_t replies_5xx;
	uint32_t cited;			/* replies naming a list (sum of the cite words) */
	uint64_t distinct_dst;		/* distinct destination IPs so far */
};

/* Suspect rule bits, see risk_ip_view.rules. */
#define RISK_R_RATE	0x01
#define RISK_R_CONN	0x02
#define RISK_R_RCPT	0x04
#define RISK_R_FANOUT	0x08
#define RISK_R_REJECT	0x10
#define RISK_R_CITED	0x20
#define RISK_R_UNASSIGNED 0x40
#define RISK_R_WOKE	0x80
#define RISK_R_RATIO	0x100	/* a high share of recipients rejected (strong) */
#define RISK_R_FEED	0x200	/* reported listed on a feeding list (provisional) */
#define RISK_R_LISTED	0x400	/* listed (DNS) on an ip-scope list that feeds no policy */
#define RISK_R_TRAP	0x800	/* SNDS: Microsoft's spam traps took its mail (strong) */
#define RISK_R_RED	0x1000	/* SNDS: filter result RED, > 90% spam (strong) */
#define RISK_R_YELLOW	0x2000	/* SNDS: filter result YELLOW, 10-90% spam */
#define RISK_R_COMPLAINT 0x4000	/* SNDS complaint rate, or complaint reports */
/* The rules that are strong evidence: a list already acts on the IP. */
#define RISK_R_STRONG	(RISK_R_CITED | RISK_R_RATIO | RISK_R_FEED | RISK_R_TRAP | RISK_R_RED)
#define RISK_NRULES	15

/* One neighbourhood under one policy, as of the last risk_evaluate(). */
struct risk_nb_view {
	const char *policy;
	enum risk_scope scope;
	char key[CIDR_STRLEN];		/* "203.0.113.0/24" or "AS64500" */
	uint32_t impacts;		/* listed feeding IPs in the window (lower bound) */
	uint32_t provisional;		/* IPs reported listed by remote servers, not in DNS */
	uint32_t suspects;		/* other suspect IPs, not (yet) listed */
	double likelihood;		/* the suspects' summed likelihoods */
	double estimated;		/* trap hits behind it all (>= impacts) */
	double pace;			/* estimated impacts an hour at the current sending */
	double calibration;		/* the policy's spam_per_impact scale from list counts */
	uint32_t threshold;		/* impacts that escalate */
	double pressure;		/* impacts / threshold */
	double projected;		/* estimated / threshold: what the levels use */
	double spamscore;		/* scope asn: impacts / IPs x 100000 */
	uint64_t ips;			/* addresses in the range / announced by the ASN */
	uint64_t customer_ips;		/* of those, held by customers */
	int escalated;			/* the escalating list lists it */
	int64_t escalated_since;
	int reported;			/* a remote reply named the escalating list for one of
					 * its IPs: escalation happened, not yet seen in DNS */
	int64_t reported_since;
	long list_count;		/* the list's own count from its TXT, -1 unknown */
	int64_t eta_threshold;		/* when it would reach threshold at the current pace of
					 * its suspicious sending (or of new listings); 0
					 * already there, -1 no pace */
	int64_t clear_at;		/* when it drops below threshold with no new impact (0:
					 * already below) */
	int64_t clear_all_at;		/* when its last impact leaves the window (0: none) */
};

/* A flagged customer (level watch or worse), as of the last risk_evaluate(). */
struct risk_flag {
	long customer;			/* index in the customer map */
	enum risk_level level;
	double score;			/* sum over its neighbourhoods of contribution x blast */
	uint32_t listed_ips, suspect_ips;
	uint32_t strong_ips;		/* IPs with strong evidence (listed, reported, cited,
					 * rejected): only these can make it act */
	const char *reason;		/* why this level, one line (also evidence[0]) */
	size_t nnb;
	const struct risk_nb_view *const *nb;	/* neighbourhoods it contributes to */
	size_t nevidence;
	const char *const *evidence;	/* plain-language lines (untrusted names inside) */
};

struct risk;

/* The defaults above, and the built-in UCEPROTECT L2 and L3 policies. */
void risk_config_init(struct risk_config *c);
/* A blank policy of that scope with the default window and thresholds (UCEPROTECT's). */
void risk_policy_init(struct risk_policy *p, const char *name, enum risk_scope scope);
/* Sets the range threshold of IPv4 /plen; 0 means "recompute from the recurrence":
 * lengths without an override shorter than /24 follow thr(/n) = thr(/n+1) + thr(/n+3). */
int risk_policy_set_threshold(struct risk_policy *p, unsigned plen, uint32_t thr);
/* Fills out (at most max) with the built-in policies; returns how many (2). */
size_t risk_default_policies(struct risk_policy *out, size_t max);
/* The threshold of a range of user prefix length plen (v6: 1) under p. */
uint32_t risk_range_threshold(const struct risk_policy *p, unsigned plen, int v6);
/* The threshold of an ASN announcing ips addresses under p. */
uint32_t risk_asn_threshold(const struct risk_policy *p, uint64_t ips);
/* Checks c; -1 with the reason in err. */
int risk_config_check(const struct risk_config *c, char *err, size_t errlen);

/* An engine with config c (copied). NULL with err. */
struct risk *risk_new(const struct risk_config *c, char *err, size_t errlen);
/* NULL-safe. */
void risk_free(struct risk *r);
/* The provider space and customer map (not owned; keep them until the next call or
 * risk_free). Call at start and on every reload: history is kept, IPs are re-resolved.
 * -1 with err when out of memory. */
int risk_set_space(struct risk *r, const struct prefixes *p, const struct customers *c,
    char *err, size_t errlen);
/* One snapshot of ip's cumulative counters at now (every minute or so). A counter that
 * went down is taken as reset. -1 when the IP table is full (not tracked). Every call
 * that takes an IP tracks an IPv6 address under its /v6_plen. */
int risk_observe(struct risk *r, const struct rw_addr *ip, const struct risk_counters *cnt,
    int64_t now);
/* The same with counter increases d instead of a cumulative snapshot: for keys that several
 * sources add to (IPv6 addresses inside one /v6_plen). */
int risk_observe_add(struct risk *r, const struct rw_addr *ip, const struct risk_counters *d,
    int64_t now);
/* The state of an ip-scope listing (list name, IP): listed now or not, first seen listed,
 * last seen listed (0: never). Any ip-scope list may be given; the policies' feeds are
 * impacts, the others are evidence. -1 when out of memory or the IP table is full. */
int risk_listing(struct risk *r, const char *list, const struct rw_addr *ip, int listed,
    int64_t first_seen, int64_t last_seen);
/* Remote replies naming list (any scope) for ip: n more since the last call, at now.
 * ip-scope: provisional listing; range/asn scope: the escalation happened. -1 when out of
 * memory or the IP table is full. */
int risk_reported(struct risk *r, const char *list, const struct rw_addr *ip, uint32_t n,
    int64_t now);
/* The name under which a policy's `feeds` takes SNDS trap hits as impacts. */
#define RISK_SNDS_TRAPS	"snds-traps"
/* One SNDS row about an IP (probes/snds.h's, in the engine's terms). */
struct risk_snds {
	int64_t start, end;		/* activity period; the row counts from its end on (the
					 * day is over when Microsoft reports it) */
	uint32_t recipients;
	uint8_t filter;			/* 0 none, 1 GREEN, 2 YELLOW, 3 RED */
	uint8_t complaint_below;	/* the rate was a "< x%" bucket */
	float complaint;		/* complaint rate (fraction), < 0 unknown */
	uint32_t trap_hits;
	int64_t trap_start, trap_end;
};
/* An SNDS row for ip: replaces the row of the same activity start, else adds it (the
 * oldest of RISK_SNDS_ROWS goes). Trusted input (fetched from Microsoft with the
 * provider's key). -1 when out of memory or the IP table is full. */
#define RISK_SNDS_ROWS	8
int risk_snds(struct risk *r, const struct rw_addr *ip, const struct risk_snds *row);
/* n complaint reports (ARF, X-ARF, JMRP) naming ip, received at `at`. Their content is
 * third-party text: complaints are weak evidence only. -1 as risk_snds. */
int risk_complaint(struct risk *r, const struct rw_addr *ip, int64_t at, uint32_t n);
/* Complaints about ip within complaints_for before now, and SNDS trap hits of its rows
 * that ended within snds_for (for the views). */
void risk_ip_reports(const struct risk *r, const struct rw_addr *ip, int64_t now,
    uint32_t *complaints, uint32_t *trap_hits);
/* 1 when ip is provisionally listed on list (reported, not yet seen in DNS). */
int risk_ip_provisional(const struct risk *r, const char *list, const struct rw_addr *ip);
/* ip's likelihood of becoming an impact, and its estimated trap hits, as of the last
 * evaluate (0 when unknown). */
void risk_ip_score(const struct risk *r, const struct rw_addr *ip, double *likelihood,
    double *estimated);
/* The state of a range- or asn-scope listing (key "CIDR" or "AS<n>"); txt (may be NULL,
 * untrusted) is parsed for the list's own count. -1 with err on a bad key. */
int risk_nb_listing(struct risk *r, const char *list, const char *key, int listed,
    int64_t since, const char *txt, char *err, size_t errlen);
/* Recomputes everything at now. -1 when out of memory (the previous results stay). */
int risk_evaluate(struct risk *r, int64_t now);

/* Flagged customers, worst first (level, then score). Valid until the next evaluate. */
size_t risk_flag_count(const struct risk *r);
const struct risk_flag *risk_flag_at(const struct risk *r, size_t i);
/* The flag of customer index c, or NULL when it is level none. */
const struct risk_flag *risk_flag_of(const struct risk *r, long c);
/* Neighbourhoods with an impact, a suspect or an escalation, by projected pressure. */
size_t risk_nb_count(const struct risk *r);
const struct risk_nb_view *risk_nb_at(const struct risk *r, size_t i);
/* The view of (policy, key), or NULL. */
const struct risk_nb_view *risk_nb_find(const struct risk *r, const char *policy,
    const char *key);
/* Counts evaluations: the views, flags and their pointers of one evaluation stay valid
 * while this does not change. */
uint64_t risk_generation(const struct risk *r);
/* 1 when ip was suspect at the last evaluate; rules gets the RISK_R_* bits. */
int risk_ip_suspect(const struct risk *r, const struct rw_addr *ip, unsigned *rules);
/* The name of rule bit i (0 <= i < RISK_NRULES). */
const char *risk_rule_name(unsigned i);
/* The config the engine runs with (its policies, warn_at, act_at). */
const struct risk_config *risk_get_config(const struct risk *r);
/* IPs with history, and bytes held by the engine. */
size_t risk_ip_count(const struct risk *r);
/* Observations and listings turned away because the IP table was at max_ips and no IP
 * could be forgotten (a new IP each; an IP past the bound is counted every time it comes
 * back). */
uint64_t risk_ip_refused(const struct risk *r);
/* IPs forgotten: idle past idle_forget, or the idlest of a sample to make room at
 * max_ips (never one with a listing, a report or a suspect rule). */
uint64_t risk_ip_evicted(const struct risk *r);
size_t risk_bytes(const struct risk *r);
const char *risk_level_name(enum risk_level l);

/*
 * Persistence of the per-IP history (baseline, the current and previous hour's counts,
 * last activity, the last counter snapshot, the engine's start), so that a restart keeps
 * the baselines and the hour in progress. The state is opaque bytes of a fixed length (at
 * most RISK_STATE_MAX), little-endian, starting with a format version; listings are not in
 * it (they come back through risk_listing), nor the IP's customer and neighbourhoods (they
 * are resolved from the space of risk_set_space). Restoring assumes the capture restarted
 * too: the first snapshot of an imported IP is taken as counted from zero, whether its
 * counters are below the stored snapshot or have already passed it.
 */
#define RISK_STATE_MAX	160

/* Calls cb for each IP whose history changed (a risk_observe that moved its counters or
 * its hour, or its first snapshot) since the previous call or risk_new, and forgets the
 * marks: O(changed IPs). cb must not call back into the engine. Returns how many. */
size_t risk_export_dirty(struct risk *r, void (*cb)(void *arg, const struct rw_addr *ip,
    const void *state, size_t len), void *arg);
/* The same for at most max of them (the others stay marked): the minute's writes spread
 * over loop turns. */
size_t risk_export_dirty_max(struct risk *r, size_t max, void (*cb)(void *arg,
    const struct rw_addr *ip, const void *state, size_t len), void *arg);
/* IPs marked as changed since they were last exported. */
size_t risk_dirty_count(const struct risk *r);
/* Restores one IP's history written by risk_export_dirty (at start, before the first
 * risk_observe of that IP; it is not marked changed); the engine's start becomes the
 * earliest of the states'. -1 with err when the bytes are not a state this version reads
 * (wrong version or length, values out of range: the caller skips it), when the IP was
 * already observed since start (what the engine saw is newer), or when the IP table is
 * full. */
int risk_import(struct risk *r, const struct rw_addr *ip, const void *state, size_t len,
    char *err, size_t errlen);

#endif
