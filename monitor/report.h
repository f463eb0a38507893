/*
 * report.h — one customer's flag as the daemon carries it from the model to the ways out:
 * the alert mail and webhook (alert.h), the suspend hook (actions.h) and the control
 * socket's customer objects (views.h). Inside the daemon a flag is this structure; JSON is
 * made from it only at those boundaries (report_json), never read back.
 *
 * The structure is a plain record, not opaque: alert.c, actions.c and views.c read its
 * fields, and tests fill one by hand. One made by report_new() owns every string and array
 * in it (copies: the model's results are valid only until its next evaluation or reload);
 * report_free() frees them all. Text is kept as data (untrusted names, TXT, SMTP words
 * inside): escaping is the output's job.
 */
#ifndef RW_REPORT_H
#define RW_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "addr.h"
#include "model.h"
#include "risk.h"

/* One list's record of an address. */
struct report_listing {
	char *list;
	int listed;
	char *codes;			/* "127.0.0.2 127.0.0.4"; NULL none */
	char *txt;			/* the list's TXT (escaped where it arrived); NULL none */
	int64_t first_seen, last_seen;	/* 0: never */
};

/* One of the customer's addresses at issue: one that sent (its counters), or one only
 * listed. */
struct report_addr {
	char ip[ADDR_STRLEN];
	int sent;			/* 1: it sent, the counters are its; 0: listed only */
	int64_t first_seen, last_seen;	/* packet clock; 0 unknown */
	uint32_t sessions, mail_from, rcpt_to, data, starttls, replies_4xx, replies_5xx, cited;
	uint64_t dst;			/* distinct destinations */
	int suspect;
	unsigned rules;			/* RISK_R_* bits */
	uint32_t complaints;		/* complaint reports within [risk] complaints_for */
	uint32_t snds_traps;		/* SNDS trap hits of rows within [risk] snds_for */
	struct report_listing *listings;	/* ip-scope lists with a record of it */
	size_t nlistings;
	char estimate[96];		/* "" or its flow-export estimate's words (flows.h):
					 * "estimated from 1:1000 samples, ±30%" */
};

/* One neighbourhood the customer contributes to (the fields of struct risk_nb_view that
 * the mail, the hook and the views use). */
struct report_nb {
	char *policy;
	enum risk_scope scope;
	char key[CIDR_STRLEN];		/* "203.0.113.0/24" or "AS64500" */
	uint32_t impacts, provisional, suspects, threshold;
	double likelihood, estimated, pace, pressure, projected;
	int escalated;			/* the escalating list lists it */
	int reported;			/* a remote reply named the escalating list */
	long list_count;		/* the list's own count, -1 unknown */
	int64_t eta_threshold;		/* when it reaches threshold; 0 already, -1 no pace */
	int64_t clear_at;		/* when it drops below threshold; 0 already below */
};

/* The last hour's SMTP of the customer's addresses, and sessions per hour. */
struct report_smtp {
	uint32_t sessions, rcpt, replies_5xx, cited, dst;
	uint32_t spark[MODEL_SPARK];	/* oldest first, the last is this hour */
};

struct report {
	/* the customer */
	char *id, *name, *contact;	/* contact: NULL none */
	char **tags;
	size_t ntags;
	struct rw_cidr *cidrs;
	size_t ncidrs;
	/* the flag: level none, score 0 and no evidence when it has none */
	enum risk_level level, previous;	/* previous: the level before this change */
	int64_t since;			/* at this level since (0 when none) */
	double score;
	char *ack_by, *ack_reason;	/* ack_by NULL: not acknowledged */
	int64_t ack_ts;
	char *reason;			/* why this level, one line (also evidence[0]); NULL */
	char **evidence;		/* plain-language lines */
	size_t nevidence;
	struct report_nb *nb;		/* worst first, as the engine ranks them */
	size_t nnb;
	uint32_t listed_ips, suspect_ips, strong_ips;
	struct report_addr *addr;	/* with REPORT_ADDRESSES only */
	size_t naddr;
	int has_addresses;		/* the addresses were gathered (the detail shape) */
	struct report_smtp smtp;
};

/* report_new's what: also gather the addresses at issue (the detail the mail, the hook and
 * the `customer` command show). That is one pass over every tracked IP and listing: for
 * one customer at a time, not for a list of them. */
#define REPORT_ADDRESSES	0x1

/* The flag of customer index c as of model m's last evaluation (previous: the level it
 * had before, for "was ..."; pass the level itself when nothing changed). NULL when out of
 * memory or c is not a customer. */
struct report *report_new(const struct model *m, long c, enum risk_level previous,
    unsigned what);
/* Frees a report of report_new (not one filled by hand with borrowed strings). NULL-safe. */
void report_free(struct report *r);
/* 1 when the customer has tag t. */
int report_has_tag(const struct report *r, const char *t);
/* The worst neighbourhood: the largest projected pressure, then pressure; NULL none. */
const struct report_nb *report_worst_nb(const struct report *r);
/* The first range-scope neighbourhood ("" none): the range the hook's breaker counts. */
const char *report_range(const struct report *r);

/* The control socket's customer object (views.h) of r, a new reference (NULL when out of
 * memory): the `customers` list's item, and with the addresses gathered also "contact"
 * and "addresses" (the `customer` command's object, the hook's stdin, the webhook's
 * evidence). */
json_t *report_json(const struct report *r);

#endif
