/*
 * risk_int.h — the risk engine's insides, shared by its files (risk.c, risk_score.c,
 * risk_eval.c, risk_evidence.c, risk_reports.c) and by nothing else: the engine is one module (prefix
 * risk_) split by its phases so that each phase reads on its own; struct risk stays opaque
 * to every other module. Never include this outside monitor/risk*.c.
 */
#ifndef RW_RISK_INT_H
#define RW_RISK_INT_H

#include <stddef.h>
#include <stdint.h>

#include "hidx.h"
#include "risk.h"

#define MAX_LISTS	64
#define NONE		UINT32_MAX
#define HOUR		3600
#define NOCLASS		0xff
#define LINE_MAX_LEN	1024

enum { C_CONN, C_RCPT, C_5XX, C_CITED, C_MX, NC };

/* iprec.flags */
#define F_DIRTY		0x01	/* in r->dirty[]: changed since the last export */
#define F_RESTORED	0x02	/* imported, not observed since: the next snapshot counts
				 * from zero (the capture's counters restarted with us) */
#define F_STRONG	0x04	/* strong evidence at the last evaluate (risk_score.c) */
#define F_FREE		0x08	/* forgotten: the id waits in r->freeids for a new IP */
#define F_SILENT	0x10	/* its history is the silence before it was first seen, not
				 * yet a baseline's worth of its own (a customer's other IPs
				 * judge it meanwhile) */

struct lrec {			/* one list's word on one IP: DNS and remote reports */
	struct lrec *next;
	uint8_t list, listed;
	int64_t first, last;	/* DNS: first and last seen listed (0: never) */
	float rep;		/* reports naming the list, decayed (half-life 1 h) */
	uint32_t rep_total;	/* reports since rep_first */
	int64_t rep_first, rep_last, rep_at;	/* rep_at: when rep was last decayed */
};

#define XCMP_MAX	16	/* complaint arrivals kept per IP (older ones merge) */

struct xrow {			/* one SNDS row (struct risk_snds, packed) */
	int64_t start, end, trap_start, trap_end;
	uint32_t recipients, traps;
	float complaint;
	uint8_t filter, below;
};

struct xcmp {			/* complaints that arrived at one time */
	int64_t at;
	uint32_t n;
};

struct xrec {			/* what others report about an IP: SNDS rows, complaints */
	struct xrow row[RISK_SNDS_ROWS];
	uint8_t nrow;
	uint8_t ncmp;
	struct xcmp cmp[XCMP_MAX];	/* oldest first */
};

struct iprec {
	struct rw_addr addr;
	int32_t customer;
	uint32_t nb_range, nb_asn;
	uint32_t hour;		/* hour number of cur[] */
	uint32_t cur[NC], prev[NC];
	struct risk_counters last;
	float mean, peak;	/* connections/h baseline */
	float mxmean, mxpeak;	/* new destinations/h baseline */
	float rmean, rpeak;	/* recipients/h baseline */
	float rjmean;		/* usual share of recipients rejected */
	float spam;		/* recipients accepted while under strong evidence, above the
				 * IP's usual peak: the volume behind its estimated impacts */
	int64_t spam_last;	/* the last minute that added to spam */
	uint32_t ev_rcpt, ev_5xx;	/* counters as of the last evaluate */
	uint16_t hours;		/* finalized hours of baseline */
	uint16_t rules;		/* RISK_R_* as of the last evaluate */
	uint8_t seen;
	uint8_t flags;		/* F_* */
	uint8_t cls;		/* index in cfg.cls, or NOCLASS */
	int64_t last_active, woke_at;
	float p;		/* likelihood of an impact within the window */
	float pace;		/* accepted recipients an hour above the usual peak, while
				 * under strong evidence (the forecast's fuel) */
	struct lrec *lst;
	struct xrec *x;		/* NULL: nobody reported anything */
};

struct nb {
	uint8_t scope;
	struct rw_cidr cidr;	/* scope range */
	uint32_t asn;		/* scope asn */
	uint64_t ips, customer_ips;
};

struct esc {			/* an escalating listing of a neighbourhood */
	uint32_t nb;
	uint8_t pol, listed;
	int64_t since;
	long count;
	int64_t reported;	/* a reply named the escalating list (0: never) */
};

struct imp {			/* an IP that is an impact, provisional or suspect under a policy */
	uint32_t ip, nb, view;
	uint8_t pol, impact, provisional;
	int64_t first, leave;
	double w;		/* 1 for an impact or a provisional one, else the likelihood */
	double est;		/* estimated trap hits */
	double pace;		/* estimated trap hits an hour */
};

struct cbase {			/* the usual of a customer's IPs that have a history */
	float mean, peak, rmean, rpeak, mxmean, mxpeak;
	uint8_t has;
};

struct cand {			/* a customer's IP worth a word */
	int32_t cust;
	uint32_t ip;
};

struct risk {
	struct risk_config cfg;
	const struct prefixes *pfx;
	const struct customers *cus;
	char lists[MAX_LISTS][RISK_NAME_MAX];
	size_t nlists;
	uint64_t feedmask[RISK_MAX_POLICIES];
	int snds_list;		/* the list id of RISK_SNDS_TRAPS (feedmask bit) */
	double scale[RISK_MAX_POLICIES];	/* spam_per_impact calibration (1: none) */
	int64_t t0;		/* first time the engine saw traffic */
	int64_t at;		/* the last evaluate's now */
	uint64_t gen;		/* evaluations so far: results of one stay valid until the next */
	struct cbase *cbase;	/* per customer, rebuilt by each evaluate (risk_eval.c) */
	size_t ncbase;
	uint8_t *prevlev;	/* per customer, its level at the last evaluate (hysteresis);
				 * cleared by risk_set_space (indices change) */
	size_t nprevlev;

	struct iprec *ip;
	size_t nip, capip;
	uint64_t ip_refused;	/* IPs turned away: the table was at max_ips */
	uint64_t ip_evicted;	/* IPs forgotten to make room, or idle past idle_forget */
	uint32_t *freeids;	/* ids of F_FREE records; capacity follows capip */
	size_t nfree, capfree;
	uint32_t rng;		/* xorshift state for eviction samples */
	struct hidx ipidx;
	uint32_t *dirty;	/* ids with F_DIRTY, each once; capacity follows capip so
				 * that marking never fails */
	size_t ndirty, capdirty;

	struct nb *nb;
	size_t nnb, capnb;
	struct hidx nbidx;

	struct esc *esc;
	size_t nesc, capesc;

	/* results */
	struct imp *imp;
	size_t nimp, capimp;
	struct risk_nb_view *view;
	uint32_t *vnb;		/* view -> nb */
	uint8_t *vpol;
	size_t nview, capview;
	const struct risk_nb_view **vorder;
	struct risk_flag *flag;
	size_t nflag;
	int32_t *flag_of;	/* customer -> flag index or -1 */
	size_t nflag_of;
	const struct risk_nb_view **fnb;	/* per-flag views */
	char **lines;
	size_t nlines;
	const char **lineptr;
};

/* risk.c */
int risk_grow(void *pp, size_t *cap, size_t need, size_t el);
uint32_t risk_ip_find(const struct risk *r, const struct rw_addr *a);
/* The record of a, made when new (NONE when the table is full or out of memory). */
uint32_t risk_ip_get(struct risk *r, const struct rw_addr *a);
uint64_t risk_sat_add(uint64_t a, uint64_t b);
uint64_t risk_block_size(unsigned mplen);
void risk_free_results(struct risk *r);
/* Forgets record id (its listings, its index entry); counted as evicted. */
void risk_ip_forget(struct risk *r, uint32_t id);

/* risk_score.c: one IP at now */
void risk_last_hour(const struct iprec *ip, int64_t now, double out[NC]);
/* Sets ip->rules, ip->p, ip->pace and adds to ip->spam. */
void risk_score_ip(struct risk *r, struct iprec *ip, int64_t now);
/* 1 when ip counts as an impact of policy pol at now (first seen, leaves the window). */
int risk_impact_of(const struct risk *r, const struct iprec *ip, size_t pol, int64_t now,
    int64_t *first, int64_t *leave);
/* 1 when ip is reported listed on a list feeding pol, not seen listed in DNS. */
int risk_provisional_of(const struct risk *r, const struct iprec *ip, size_t pol,
    int64_t now);
/* The lrec of a list on ip reported within provisional_for, whose reports still count. */
int risk_lrec_provisional(const struct risk *r, const struct lrec *l, int64_t now);
/* The SNDS rule bits of ip at now (rows that ended within snds_for, complaints). */
unsigned risk_snds_rules(const struct risk *r, const struct iprec *ip, int64_t now);
/* SNDS trap hits of ip that count as impacts of pol at now (0: none, or pol does not feed
 * on them); first and leave as risk_impact_of. */
uint32_t risk_snds_impact(const struct risk *r, const struct iprec *ip, size_t pol,
    int64_t now, int64_t *first, int64_t *leave);
/* Complaints about ip within complaints_for before now. */
uint32_t risk_complaints(const struct risk *r, const struct iprec *ip, int64_t now);
/* Drops SNDS rows and complaints no window keeps any more; frees ip->x when empty. */
void risk_x_prune(struct risk *r, struct iprec *ip, int64_t now, int64_t maxwin);
/* Fills m's weight, estimated trap hits and pace under its policy. */
void risk_estimate(const struct risk *r, const struct iprec *ip, struct imp *m);

/* risk_evidence.c: the words (untrusted names inside, escaped at output) */
struct risk_lb {
	char s[LINE_MAX_LEN];
	size_t n;
};
void risk_lb_add(struct risk_lb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void risk_fmt_time(int64_t t, char *buf, size_t len);
void risk_fmt_dur(int64_t s, char *buf, size_t len);
void risk_ip_evidence(const struct risk *r, const struct iprec *ip, int64_t now,
    struct risk_lb *b);
/* risk_reports.c: "; SNDS: 14 trap hits on 2026-12-06, filter RED; 3 complaints ..." */
void risk_x_evidence(const struct risk *r, const struct iprec *ip, int64_t now,
    struct risk_lb *b);
void risk_nb_evidence(const struct risk *r, const struct risk_nb_view *v, double mine,
    uint64_t blast, const struct imp *const *byview, size_t nbv, int64_t now,
    struct risk_lb *b);
const char *risk_cust_id(const struct risk *r, long c);
const char *risk_cust_name(const struct risk *r, long c);

#endif
