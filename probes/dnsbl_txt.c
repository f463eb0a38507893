/*
 * dnsbl_txt.c — reading what a list's TXT record says about itself.
 *
 * For: the counts UCEPROTECT states in its Level 2 and Level 3 TXT records (the listed
 * allocation, the number of abusers it counts, the holder's name and ASN), so the operator
 * sees the list's own figures beside ours.
 * Owns: nothing; a pure function over the caller's bytes.
 * Must never: read past len (the text is untrusted and need not be NUL-terminated), copy
 * the holder's name anywhere without text_escape(), or fail on text it does not know (it
 * leaves the fields empty).
 *
 * The formats (dnsbl-facts.md, section 1; 2012-era, so matched loosely, case-insensitive):
 *   Level 2: "Net 117.219.64.0/18 is UCEPROTECT-Level2 listed because 231 abusers are
 *            hosted by BSNL-NIB National Internet Backbone/AS9829 there. See: http://..."
 *   Level 3: "Your ISP BSNL-NIB National Internet Backbone/AS9829 is UCEPROTECT-Level3
 *            listed for hosting a total of 55146 abusers. See: http://..."
 * The level comes from "UCEPROTECT-Level2|3" (a blank instead of the dash is accepted);
 * each other field is looked for on its own, so a cut or reworded text still yields what
 * it has; a number that runs into the end of the text may have been cut, and is not taken.
 * A holder's name may itself hold "/AS": the last "/AS<digits>" is the ASN.
 */
#include "dnsbl_txt.h"

#include <string.h>

#include "text.h"

#define TXT_NUM_MAX	18	/* digits of a count that still fit a long */

/* A bounded view of the text. */
struct span {
	const char *p;
	size_t n;
};

static struct span
span_from(const char *start, const char *end)
{
	struct span s = { start, (size_t)(end - start) };

	return s;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The end of s's first occurrence of needle (case-insensitive), or NULL. */
static const char *
after(struct span s, const char *needle)
{
	const char *f = text_casefind(s.p, s.n, needle);

	return f != NULL ? f + strlen(needle) : NULL;
}

/* The decimal number at p (at most TXT_NUM_MAX digits); -1 when there is none, it is too
 * long, or it runs into end, the end of the text (a cut text may have cut it short). */
static long
number_at(const char *p, const char *end)
{
	long v = 0;
	size_t digits = 0;

	while (p < end && is_digit(*p)) {
		if (++digits > TXT_NUM_MAX)
			return -1;
		v = v * 10 + (*p - '0');
		p++;
	}
	return digits > 0 && p < end ? v : -1;
}

/* Splits "NAME/AS9829" (region s of a text ending at end) at its last "/AS<digit>" into
 * the escaped holder and the ASN (0 when it is not a whole 32-bit number above 0); without
 * one, all of s is the holder. */
static void
holder_asn(struct span s, const char *end, struct dnsbl_txt_info *out)
{
	const char *p, *q, *cut = s.p + s.n;
	long asn;

	for (q = s.n >= 4 ? s.p + s.n - 4 : NULL; q != NULL; q = q > s.p ? q - 1 : NULL) {
		if (q[0] == '/' && (q[1] == 'A' || q[1] == 'a') && (q[2] == 'S' || q[2] == 's') &&
		    is_digit(q[3])) {
			asn = number_at(q + 3, end);
			if (asn > 0 && asn <= 4294967295L)
				out->asn = (uint32_t)asn;
			cut = q;
			break;
		}
	}
	while (cut > s.p && (cut[-1] == ' ' || cut[-1] == '\t'))
		cut--;
	p = s.p;
	while (p < cut && (*p == ' ' || *p == '\t'))
		p++;
	text_escape(out->holder, sizeof out->holder, p, (size_t)(cut - p));
}

/* "Net CIDR is ..." before the level marker. */
static void
level2_net(struct span before, struct dnsbl_txt_info *out)
{
	char buf[CIDR_STRLEN];
	const char *p = NULL, *end = before.p + before.n, *q;
	struct span s = before;

	/* the word "Net", not the end of "Internet" */
	while ((q = text_casefind(s.p, s.n, "net ")) != NULL) {
		if (q == before.p || !is_letter(q[-1])) {
			p = q + 4;
			break;
		}
		s = span_from(q + 4, end);
	}
	if (p == NULL)
		return;
	while (p < end && *p == ' ')
		p++;
	for (q = p; q < end && *q != ' ' && *q != '\t'; q++)
		;
	if (q == p || (size_t)(q - p) >= sizeof buf)
		return;
	memcpy(buf, p, (size_t)(q - p));
	buf[q - p] = '\0';
	if (cidr_parse(buf, &out->net, 0) == 0)
		out->has_net = 1;
}

static void
level2(struct span before, struct span rest, struct dnsbl_txt_info *out)
{
	const char *end = rest.p + rest.n, *p, *stop;

	level2_net(before, out);
	if ((p = after(rest, "because ")) != NULL) {
		while (p < end && *p == ' ')
			p++;
		out->abusers = number_at(p, end);
	}
	if ((p = after(rest, "hosted by ")) != NULL) {
		stop = text_casefind(p, (size_t)(end - p), " there");
		holder_asn(span_from(p, stop != NULL ? stop : end), end, out);
	}
}

static void
level3(struct span before, struct span rest, struct dnsbl_txt_info *out)
{
	const char *end = rest.p + rest.n, *p, *hend = before.p + before.n;

	if ((p = after(rest, "total of ")) != NULL) {
		while (p < end && *p == ' ')
			p++;
		out->abusers = number_at(p, end);
	}
	/* "Your ISP NAME/AS9829 is " before the marker */
	while (hend > before.p && hend[-1] == ' ')
		hend--;
	if (hend - before.p >= 3 && (hend[-1] == 's' || hend[-1] == 'S') &&
	    (hend[-2] == 'i' || hend[-2] == 'I') && hend[-3] == ' ')
		hend -= 3;
	p = after(before, "your isp ");
	if (p == NULL || p > hend)
		p = before.p;
	if (hend > p)
		holder_asn(span_from(p, hend), end, out);
}

/* Parses one TXT (len bytes, any content). */
int
dnsbl_txt_parse(const char *txt, size_t len, struct dnsbl_txt_info *out)
{
	static const char *const markers[] = { "uceprotect-level", "uceprotect level" };
	struct span all = { txt, len };
	const char *m = NULL, *p, *end = txt + len;
	size_t i;

	memset(out, 0, sizeof *out);
	out->abusers = -1;
	if (txt == NULL)
		return 0;
	for (i = 0; i < sizeof markers / sizeof markers[0] && m == NULL; i++)
		m = text_casefind(txt, len, markers[i]);
	if (m == NULL)
		return 0;
	p = m + strlen(markers[0]);	/* both markers are as long */
	if (p >= end || (*p != '2' && *p != '3') || (p + 1 < end && is_digit(p[1])))
		return 0;
	out->level = *p - '0';
	if (out->level == 2)
		level2(span_from(all.p, m), span_from(p + 1, end), out);
	else
		level3(span_from(all.p, m), span_from(p + 1, end), out);
	return 1;
}
