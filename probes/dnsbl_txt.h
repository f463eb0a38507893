/*
 * dnsbl_txt.h — what a list's TXT record says in words a program can use. UCEPROTECT
 * states its own counts: "Net 117.219.64.0/18 is UCEPROTECT-Level2 listed because 231
 * abusers are hosted by NAME/AS9829 there." and "Your ISP NAME/AS9829 is
 * UCEPROTECT-Level3 listed for hosting a total of 55146 abusers." Tolerant: anything it
 * does not recognise leaves the fields empty.
 */
#ifndef RW_DNSBL_TXT_H
#define RW_DNSBL_TXT_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct dnsbl_txt_info {
	int level;		/* 2 or 3 when recognised, else 0 */
	int has_net;
	struct rw_cidr net;	/* level 2: the listed allocation */
	long abusers;		/* the list's own count, -1 when not stated */
	uint32_t asn;		/* 0 when not stated */
	char holder[128];	/* the network's name as the list gives it (untrusted, escaped) */
};

/* Parses txt (len bytes, untrusted). Returns 1 when something was recognised. */
int dnsbl_txt_parse(const char *txt, size_t len, struct dnsbl_txt_info *out);

#endif
