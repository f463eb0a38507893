/*
 * arf.h — complaint reports read into one structure: ARF (RFC 5965: multipart/report;
 * report-type=feedback-report with a message/feedback-report part), X-ARF (the mail form:
 * "X-ARF: yes" and a YAML or JSON report part; and the pure JSON form), and Hotmail/Outlook
 * JMRP (a message with the complained-about mail attached as message/rfc822, not ARF).
 * MIME is GMime's (libgmime-3.0); the fields are read here. Untrusted input from end to end:
 * every text field is escaped (text_escape) and cut, nothing is trusted to be well formed.
 *
 * JMRP has no Source-IP: the source is the address that Microsoft's receiving server saw,
 * written in the Received header that server added. Received headers are prepended, each
 * hop's on top; the ones below the way into Microsoft were written by the sender and can
 * say anything (also "by mx.hotmail.com"). So, top down through the attached mail's
 * Received headers: while the "by" host is Microsoft's (hotmail.com, outlook.com, live.com,
 * msn.com, microsoft.com or a subdomain), skip hops whose "from" address is Microsoft's own
 * (private IPv4, 2603:10b6::/32, 2a01:111::/32, ULA/link-local); the first hop from any
 * other address is the way in: its address literal is the source, its date the arrival
 * date. A header with another "by" before that ends the search: no source.
 */
#ifndef RW_ARF_H
#define RW_ARF_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define ARF_TEXT_MAX	256

enum arf_kind { ARF_NONE, ARF_ARF, ARF_XARF, ARF_JMRP };

struct arf_report {
	enum arf_kind kind;
	struct rw_addr ip;		/* the source IP */
	int64_t at;			/* arrival date (UTC), 0 when not given */
	char feedback_type[64];		/* ARF Feedback-Type, X-ARF Report-Type/Category, "abuse"
					 * for JMRP; escaped */
	char reported_domain[ARF_TEXT_MAX];	/* escaped, "" none */
	char mail_from[ARF_TEXT_MAX];	/* Original-Mail-From, escaped, "" none */
};

/* Parses len bytes (a whole mail, or an X-ARF JSON document). 0 and *out, or -1 with one
 * printable line in err. Calls g_mime_init() on first use. */
int arf_parse(const char *buf, size_t len, struct arf_report *out, char *err, size_t errlen);
/* "arf", "xarf", "jmrp" */
const char *arf_kind_name(enum arf_kind k);

#endif
