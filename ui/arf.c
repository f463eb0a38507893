/*
 * arf.c — reading ARF, X-ARF and JMRP complaint reports (see arf.h).
 * For: `rangewatch report` (ui/report.c) and its fuzz target. Owns: the GMime objects of one
 * parse, freed before return. Never: trusts a field (escaped, cut, addresses parsed),
 * follows anything a report names, or keeps a pointer into GMime's memory past a parse.
 */
#include "arf.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>
#include <jansson.h>

#include "text.h"

#define BODY_MAX	(1u << 20)	/* bytes of a report part we read */

const char *
arf_kind_name(enum arf_kind k)
{
	switch (k) {
	case ARF_ARF: return "arf";
	case ARF_XARF: return "xarf";
	case ARF_JMRP: return "jmrp";
	default: return "none";
	}
}

static void
esc(char *dst, size_t len, const char *s)
{
	text_escape(dst, len, s, strnlen(s, 4096));
}

/* ------------------------------------------------------------------ field lists */

/* Calls fn for each "Name: value" of text (RFC 5322-like header fields, folded lines
 * unfolded; also a flat YAML mapping, quotes around the value dropped). */
static void
fields(const char *s, size_t n, void (*fn)(void *, const char *, const char *), void *arg)
{
	char name[64], val[1024];
	size_t i = 0, nl, vn = 0;
	int have = 0;

	while (i < n) {
		const char *line = s + i, *e = memchr(line, '\n', n - i);
		size_t ll = e != NULL ? (size_t)(e - line) : n - i;

		i += ll + (e != NULL);
		while (ll > 0 && line[ll - 1] == '\r')
			ll--;
		if (ll > 0 && (line[0] == ' ' || line[0] == '\t')) {
			if (have && vn < sizeof val - 1) {	/* a folded line */
				size_t k = ll < sizeof val - 1 - vn ? ll : sizeof val - 1 - vn;
				memcpy(val + vn, line, k);
				vn += k;
				val[vn] = '\0';
			}
			continue;
		}
		if (have)
			fn(arg, name, val);
		have = 0;
		for (nl = 0; nl < ll && line[nl] != ':' && nl < sizeof name - 1; nl++)
			;
		if (nl == 0 || nl >= ll || line[nl] != ':')
			continue;
		memcpy(name, line, nl);
		name[nl] = '\0';
		nl++;
		while (nl < ll && (line[nl] == ' ' || line[nl] == '\t'))
			nl++;
		vn = ll - nl < sizeof val - 1 ? ll - nl : sizeof val - 1;
		memcpy(val, line + nl, vn);
		val[vn] = '\0';
		have = 1;
	}
	if (have)
		fn(arg, name, val);
}

/* Trims blanks and one pair of quotes (YAML), and "<...>" around an address. */
static const char *
trim(char *v)
{
	size_t n;

	while (*v == ' ' || *v == '\t')
		v++;
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		v[--n] = '\0';
	if (n >= 2 && ((v[0] == '"' && v[n - 1] == '"') || (v[0] == '\'' && v[n - 1] == '\'') ||
	    (v[0] == '<' && v[n - 1] == '>'))) {
		v[n - 1] = '\0';
		v++;
	}
	return v;
}

struct collect {
	struct arf_report *r;
	int has_ip, bad_ip;
	char ipbuf[80];
};

static int64_t
parse_date(const char *s)
{
	GDateTime *dt = g_mime_utils_header_decode_date(s);
	int64_t t = 0;

	if (dt == NULL)
		return 0;
	t = g_date_time_to_unix(dt);
	g_date_time_unref(dt);
	return t > 0 ? t : 0;
}

static void
take_ip(struct collect *c, const char *v)
{
	char *p;

	if (c->has_ip)
		return;
	snprintf(c->ipbuf, sizeof c->ipbuf, "%s", v);
	p = (char *)trim(c->ipbuf);
	if (addr_parse(p, &c->r->ip) == 0)
		c->has_ip = 1;
	else
		c->bad_ip = 1;
}

static void
on_field(void *arg, const char *name, const char *value)
{
	struct collect *c = arg;
	char v[1024];
	const char *t;

	snprintf(v, sizeof v, "%s", value);
	t = trim(v);
	if (strcasecmp(name, "Source-IP") == 0 || strcasecmp(name, "Source") == 0)
		take_ip(c, t);
	else if (strcasecmp(name, "Arrival-Date") == 0 || strcasecmp(name, "Received-Date") == 0 ||
	    (strcasecmp(name, "Date") == 0 && c->r->at == 0))
		c->r->at = parse_date(t);
	else if (strcasecmp(name, "Feedback-Type") == 0 || strcasecmp(name, "Report-Type") == 0 ||
	    (strcasecmp(name, "Category") == 0 && c->r->feedback_type[0] == '\0'))
		esc(c->r->feedback_type, sizeof c->r->feedback_type, t);
	else if (strcasecmp(name, "Original-Mail-From") == 0)
		esc(c->r->mail_from, sizeof c->r->mail_from, t);
	else if (strcasecmp(name, "Reported-Domain") == 0 && c->r->reported_domain[0] == '\0')
		esc(c->r->reported_domain, sizeof c->r->reported_domain, t);
}

/* X-ARF's JSON (the mail form's report part, or the whole document in the JSON form):
 * Source / SourceIp / Source-IP, Date, Report-Type / ReportType / Category, anywhere in the
 * top object or its "Report" object. */
static int
json_report(const char *s, size_t n, struct collect *c)
{
	static const char *const ipk[] = { "Source", "SourceIp", "Source-IP", "source_ip" };
	static const char *const dk[] = { "Date", "date", "Arrival-Date" };
	static const char *const tk[] = { "Report-Type", "ReportType", "Category" };
	json_error_t je;
	json_t *root = json_loadb(s, n, JSON_REJECT_DUPLICATES, &je), *o;
	size_t i, k;

	if (!json_is_object(root)) {
		json_decref(root);
		return -1;
	}
	for (k = 0; k < 2; k++) {
		o = k == 0 ? root : json_object_get(root, "Report");
		if (!json_is_object(o))
			continue;
		for (i = 0; i < sizeof ipk / sizeof ipk[0]; i++)
			if (json_is_string(json_object_get(o, ipk[i])))
				take_ip(c, json_string_value(json_object_get(o, ipk[i])));
		for (i = 0; i < sizeof dk / sizeof dk[0] && c->r->at == 0; i++)
			if (json_is_string(json_object_get(o, dk[i]))) {
				const char *d = json_string_value(json_object_get(o, dk[i]));
				GDateTime *dt = g_date_time_new_from_iso8601(d, NULL);
				if (dt != NULL) {
					c->r->at = g_date_time_to_unix(dt);
					g_date_time_unref(dt);
				} else
					c->r->at = parse_date(d);
			}
		for (i = 0; i < sizeof tk / sizeof tk[0]; i++)
			if (c->r->feedback_type[0] == '\0' &&
			    json_is_string(json_object_get(o, tk[i])))
				esc(c->r->feedback_type, sizeof c->r->feedback_type,
				    json_string_value(json_object_get(o, tk[i])));
	}
	json_decref(root);
	return 0;
}

/* ------------------------------------------------------------------ MIME */

/* The decoded content of a leaf part into a new byte array (NULL when none or too big). */
static GByteArray *
content_of(GMimeObject *o)
{
	GMimeDataWrapper *dw;
	GMimeStream *out;
	GByteArray *ba = NULL;

	if (!GMIME_IS_PART(o) || (dw = g_mime_part_get_content(GMIME_PART(o))) == NULL)
		return NULL;
	out = g_mime_stream_mem_new();
	if (g_mime_data_wrapper_write_to_stream(dw, out) >= 0) {
		GByteArray *b = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));
		if (b != NULL && b->len <= BODY_MAX) {
			ba = g_byte_array_sized_new(b->len);
			g_byte_array_append(ba, b->data, b->len);
		}
	}
	g_object_unref(out);
	return ba;
}

/* What a walk found. */
struct found {
	GMimeObject *feedback;		/* message/feedback-report */
	GMimeObject *xarf;		/* X-ARF's report part (YAML or JSON) */
	GMimeMessage *attached;		/* the first message/rfc822 */
	int depth;
};

static int
ct_is(GMimeObject *o, const char *type, const char *sub)
{
	GMimeContentType *ct = g_mime_object_get_content_type(o);

	return ct != NULL && g_mime_content_type_is_type(ct, type, sub);
}

static void
walk(GMimeObject *o, struct found *f, int xarf, int index)
{
	if (o == NULL || f->depth > 16)
		return;
	if (GMIME_IS_MULTIPART(o)) {
		int i, n = g_mime_multipart_get_count(GMIME_MULTIPART(o));
		f->depth++;
		for (i = 0; i < n && i < 64; i++)
			walk(g_mime_multipart_get_part(GMIME_MULTIPART(o), i), f, xarf, i);
		f->depth--;
		return;
	}
	if (GMIME_IS_MESSAGE_PART(o)) {
		if (f->attached == NULL)
			f->attached = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		return;
	}
	if (ct_is(o, "message", "feedback-report") && f->feedback == NULL)
		f->feedback = o;
	/* X-ARF: the second part is the report (text/plain YAML, or JSON) */
	else if (xarf && index == 1 && f->xarf == NULL)
		f->xarf = o;
}

/* ------------------------------------------------------------------ JMRP's Received */

static int
microsoft_host(const char *h, size_t n)
{
	static const char *const dom[] = { "hotmail.com", "outlook.com", "live.com", "msn.com",
	    "microsoft.com" };
	size_t i, k;

	for (i = 0; i < sizeof dom / sizeof dom[0]; i++) {
		k = strlen(dom[i]);
		if (n == k && strncasecmp(h, dom[i], k) == 0)
			return 1;
		if (n > k && h[n - k - 1] == '.' && strncasecmp(h + n - k, dom[i], k) == 0)
			return 1;
	}
	return 0;
}

/* The "by" host of a Received value: 1 when Microsoft's. */
static int
received_by_microsoft(const char *v)
{
	const char *p = v, *h;
	size_t n;

	while ((p = strcasestr(p, "by ")) != NULL) {
		if (p == v || p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n' || p[-1] == ')') {
			h = p + 3;
			while (*h == ' ')
				h++;
			n = strcspn(h, " \t\r\n;()");
			return microsoft_host(h, n);
		}
		p += 3;
	}
	return 0;
}

/* The address literal of a Received value's "from" part: "[192.0.2.7]", "[IPv6:...]" or a
 * bare "(192.0.2.7)". */
static int
received_from_ip(const char *v, struct rw_addr *out)
{
	const char *by = strcasestr(v, " by "), *p;
	char buf[64];
	size_t n, lim = by != NULL ? (size_t)(by - v) : strlen(v);

	for (p = v; (size_t)(p - v) < lim; p++) {
		const char *s;
		if (*p != '[' && *p != '(')
			continue;
		s = p + 1;
		if (strncasecmp(s, "IPv6:", 5) == 0)
			s += 5;
		n = strspn(s, "0123456789abcdefABCDEF.:");
		if (n == 0 || n >= sizeof buf || (s[n] != ']' && s[n] != ')'))
			continue;
		memcpy(buf, s, n);
		buf[n] = '\0';
		if (addr_parse(buf, out) == 0)
			return 0;
	}
	return -1;
}

/* 1 when a is an address a hop inside Microsoft comes from: private or loopback IPv4,
 * Microsoft's IPv6 (2603:10b6::/32, 2a01:111::/32), unique local or link-local IPv6. */
static int
internal(const struct rw_addr *a)
{
	const uint8_t *b = a->a;

	if (addr_is_v4(a)) {
		b += 12;
		return b[0] == 10 || b[0] == 127 || (b[0] == 172 && (b[1] & 0xf0) == 16) ||
		    (b[0] == 192 && b[1] == 168) || (b[0] == 100 && (b[1] & 0xc0) == 64);
	}
	return (b[0] == 0x26 && b[1] == 0x03 && b[2] == 0x10 && b[3] == 0xb6) ||
	    (b[0] == 0x2a && b[1] == 0x01 && b[2] == 0x01 && b[3] == 0x11) ||
	    (b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80);
}

/* Top down through the run of Received headers Microsoft's servers wrote: the first whose
 * "from" address is not one of Microsoft's own hops is the way in. The run ends at the
 * first header with another "by": from there down the sender wrote them, and a forged
 * "by mx.hotmail.com" below the way in is never reached. */
static int
jmrp_source(GMimeMessage *m, struct arf_report *r)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(m));
	int i, n = hl != NULL ? g_mime_header_list_get_count(hl) : 0;

	for (i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *name = g_mime_header_get_name(h), *v = g_mime_header_get_value(h);
		struct rw_addr a;
		const char *semi;

		if (name == NULL || v == NULL || strcasecmp(name, "Received") != 0)
			continue;
		if (!received_by_microsoft(v))
			return -1;
		if (received_from_ip(v, &a) == 0 && !internal(&a)) {
			r->ip = a;
			r->at = (semi = strrchr(v, ';')) != NULL ? parse_date(semi + 1) : 0;
			return 0;
		}
	}
	return -1;
}

/* ------------------------------------------------------------------ the report */

static int
from_part(GMimeObject *o, struct collect *c, int json_ok)
{
	GByteArray *ba = content_of(o);
	size_t i = 0;

	if (ba == NULL)
		return -1;
	while (i < ba->len && (ba->data[i] == ' ' || ba->data[i] == '\n' || ba->data[i] == '\r' ||
	    ba->data[i] == '\t'))
		i++;
	if (json_ok && i < ba->len && ba->data[i] == '{')
		json_report((const char *)ba->data + i, ba->len - i, c);
	else
		fields((const char *)ba->data, ba->len, on_field, c);
	g_byte_array_unref(ba);
	return 0;
}

static int
parse_mime(const char *buf, size_t len, struct collect *c, char *err, size_t errlen)
{
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(buf, len);
	GMimeParser *p = g_mime_parser_new_with_stream(st);
	GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
	struct found f;
	const char *xarf;
	int rc = -1;

	g_object_unref(p);
	g_object_unref(st);
	if (m == NULL) {
		snprintf(err, errlen, "not a mail message");
		return -1;
	}
	memset(&f, 0, sizeof f);
	xarf = g_mime_object_get_header(GMIME_OBJECT(m), "X-ARF");
	walk(g_mime_message_get_mime_part(m), &f, xarf != NULL &&
	    strncasecmp(xarf, "yes", 3) == 0, 0);
	if (f.feedback != NULL) {
		c->r->kind = ARF_ARF;
		from_part(f.feedback, c, 0);
	} else if (f.xarf != NULL) {
		c->r->kind = ARF_XARF;
		from_part(f.xarf, c, 1);
	} else if (f.attached != NULL) {
		c->r->kind = ARF_JMRP;
		snprintf(c->r->feedback_type, sizeof c->r->feedback_type, "abuse");
		if (jmrp_source(f.attached, c->r) == 0)
			c->has_ip = 1;
		else {
			snprintf(err, errlen, "JMRP: no Received header added by Microsoft's "
			    "receiving servers in the attached mail");
			goto out;
		}
	} else {
		snprintf(err, errlen, "neither ARF (no message/feedback-report part), X-ARF (no "
		    "X-ARF: yes and report part) nor JMRP (no attached message/rfc822)");
		goto out;
	}
	rc = 0;
out:
	g_object_unref(m);
	return rc;
}

int
arf_parse(const char *buf, size_t len, struct arf_report *out, char *err, size_t errlen)
{
	static int inited;
	struct collect c;
	size_t i = 0;

	memset(out, 0, sizeof *out);
	memset(&c, 0, sizeof c);
	c.r = out;
	if (!inited) {
		g_mime_init();
		inited = 1;
	}
	while (i < len && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t'))
		i++;
	if (i < len && buf[i] == '{') {
		out->kind = ARF_XARF;	/* the JSON form */
		if (json_report(buf + i, len - i, &c) == -1) {
			snprintf(err, errlen, "X-ARF JSON: not a JSON object");
			return -1;
		}
	} else if (parse_mime(buf, len, &c, err, errlen) == -1)
		return -1;
	if (!c.has_ip) {
		snprintf(err, errlen, "%s report without a %s source IP", arf_kind_name(out->kind),
		    c.bad_ip ? "readable" : "");
		return -1;
	}
	return 0;
}
