/*
 * test_dnsbl_lists.c — unit tests of dnsbl.conf loading and of dnsbl_classify: every
 * default (also the ones that depend on the scope, the interval and the zone), every key
 * read, accumulating keys, paths resolved against the file's folder, quoted values, every
 * classify case (listed, 127.0.0.1, outside 127/8, refusal codes first, a code outside a
 * configured listed set), code meanings, and every error with its exact FILE:LINE text.
 * The shipped etc/dnsbl.conf must load and say what the facts say.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dnsbl_lists.h"
#include "testfiles.h"

#define A(a, b, c, d)	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static int
setup(void **state)
{
	return testfile_setup(state, "lists", "dnsbl.conf");
}

static struct dnsbl_lists *
load(struct testfile *fx, const char *text)
{
	struct dnsbl_lists *l = NULL;
	char err[512] = "";

	write_file(fx->path, text, 0);
	if (dnsbl_lists_load(fx->path, &l, err, sizeof err) != 0)
		fail_msg("dnsbl_lists_load: %s", err);
	assert_non_null(l);
	return l;
}

/* Loads text (len 0: strlen) and expects exactly "PATH:" + want. */
static void
load_fails(struct testfile *fx, const char *text, size_t len, const char *want)
{
	struct dnsbl_lists *l = (struct dnsbl_lists *)1;
	char err[512] = "", full[512];

	write_file(fx->path, text, len);
	snprintf(full, sizeof full, "%s:%s", fx->path, want);
	if (dnsbl_lists_load(fx->path, &l, err, sizeof err) == 0)
		fail_msg("loaded, expected: %s\n--- input:\n%s", want, text);
	assert_null(l);
	if (strcmp(err, full) != 0)
		fail_msg("error\n  got:  %s\n  want: %s\n--- input:\n%s", err, full, text);
}

/* A list's cite patterns as one string, with their marks: "zen.spamhaus.org, ~spamhaus". */
static const char *
cites_str(const struct dnsbl_list *l)
{
	static char buf[1024];
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < l->ncites && off < sizeof buf; i++)
		off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%s%s", i ? ", " : "",
		    l->cites[i].kind == DNSBL_CITE_FALLBACK ? "~" :
		    l->cites[i].kind == DNSBL_CITE_EXCLUDE ? "!" : "", l->cites[i].text);
	return buf;
}

static void
test_defaults(void **state)
{
	struct testfile *fx = *state;
	struct dnsbl_lists *ls = load(fx,
	    "; comment\n"
	    "[list \"one\"]\n"
	    "zone = dnsbl-1.uceprotect.net\n"
	    "scope = ip\n"
	    "[list \"two\"]\n"
	    "zone = dnsbl-2.uceprotect.net.\n"
	    "scope = range\n"
	    "[list \"three\"]\n"
	    "zone = zen.spamhaus.org\n"
	    "scope = asn\n"
	    "interval = 10m\n");
	const struct dnsbl_list *l;

	assert_int_equal(dnsbl_lists_count(ls), 3);
	l = dnsbl_lists_get(ls, 0);
	assert_string_equal(l->name, "one");
	assert_string_equal(l->zone, "dnsbl-1.uceprotect.net");
	assert_int_equal(l->scope, DNSBL_SCOPE_IP);
	assert_int_equal(l->enabled, 1);
	assert_null(l->file);
	assert_int_equal(l->listed.n, 0);
	assert_int_equal(l->blocked.n, 1);
	assert_int_equal(l->blocked.range[0][0], A(127, 255, 255, 0));
	assert_int_equal(l->blocked.range[0][1], A(127, 255, 255, 255));
	assert_int_equal(l->ncodes, 0);
	assert_true(l->weight == 1.0);
	assert_int_equal(l->interval, 86400);
	assert_int_equal(l->fast_interval, 3600);
	assert_int_equal(l->max_qps, 20);
	assert_int_equal(l->max_per_day, 0);
	assert_int_equal(l->ipv6, 0);
	assert_int_equal(l->txt, 1);
	assert_int_equal(l->expiry, 7 * 86400);
	assert_string_equal(cites_str(l), "dnsbl-1.uceprotect.net, ~uceprotect");
	assert_int_equal(l->cites[0].line, 2);
	assert_int_equal(l->line, 2);

	l = dnsbl_lists_get(ls, 1);
	assert_string_equal(l->zone, "dnsbl-2.uceprotect.net");	/* trailing dot dropped */
	assert_int_equal(l->scope, DNSBL_SCOPE_RANGE);
	assert_int_equal(l->interval, 3600);
	assert_int_equal(l->fast_interval, 3600);
	assert_int_equal(l->line, 5);

	l = dnsbl_lists_get(ls, 2);
	assert_int_equal(l->scope, DNSBL_SCOPE_ASN);
	assert_int_equal(l->interval, 600);
	assert_int_equal(l->fast_interval, 600);	/* never slower than the interval */
	assert_string_equal(cites_str(l), "zen.spamhaus.org, ~spamhaus");

	assert_null(dnsbl_lists_get(ls, 3));
	dnsbl_lists_free(ls);
}

static void
test_all_keys(void **state)
{
	struct testfile *fx = *state;
	struct dnsbl_lists *ls = load(fx,
	    "\xef\xbb\xbf[list \"ivmSIP/24\"]   ; trailing comment\r\n"
	    "  zone = ivmsip24.example.net\r\n"
	    "scope = RANGE\n"
	    "enabled = no\n"
	    "source = file:zones/ivm.rbldnsd\n"
	    "listed = 127.0.0.2 127.0.0.8/29,127.0.1.0-127.0.1.9\n"
	    "listed = 127.0.0.3\n"
	    "blocked = 127.255.255.254\n"
	    "code = \"127.0.0.2 listed: spam source\"\n"
	    "code = 127.0.0.3 XBL: exploited host\n"
	    "weight = 2.5\n"
	    "interval = 2h\n"
	    "fast_interval = 900\n"
	    "max_qps = 5\n"
	    "max_per_day = 300000\n"
	    "ipv6 = yes\n"
	    "txt = off\n"
	    "expiry = 1w\n"
	    "cite = Invaluement\n"
	    "[list \"abs\"]\n"
	    "zone = x.example\n"
	    "scope = ip\n"
	    "source = file:/var/lib/x.zone\n"
	    "[list \"dns\"]\n"
	    "zone = y.example\n"
	    "scope = ip\n"
	    "source = dns\n");
	const struct dnsbl_list *l = dnsbl_lists_find(ls, "IVMSIP/24");
	char want[PATH_MAX];

	assert_non_null(l);
	assert_string_equal(l->name, "ivmSIP/24");
	assert_string_equal(l->zone, "ivmsip24.example.net");
	assert_int_equal(l->scope, DNSBL_SCOPE_RANGE);
	assert_int_equal(l->enabled, 0);
	snprintf(want, sizeof want, "%s/zones/ivm.rbldnsd", fx->real);
	assert_string_equal(l->file, want);
	/* sorted and merged: .2-.3, .8-.15, 127.0.1.0-.9 */
	assert_int_equal(l->listed.n, 3);
	assert_int_equal(l->listed.range[0][0], A(127, 0, 0, 2));
	assert_int_equal(l->listed.range[0][1], A(127, 0, 0, 3));
	assert_int_equal(l->listed.range[1][0], A(127, 0, 0, 8));
	assert_int_equal(l->listed.range[1][1], A(127, 0, 0, 15));
	assert_int_equal(l->listed.range[2][0], A(127, 0, 1, 0));
	assert_int_equal(l->listed.range[2][1], A(127, 0, 1, 9));
	assert_int_equal(l->blocked.n, 1);	/* the first line replaced the default */
	assert_int_equal(l->blocked.range[0][0], A(127, 255, 255, 254));
	assert_int_equal(l->blocked.range[0][1], A(127, 255, 255, 254));
	assert_int_equal(l->ncodes, 2);
	assert_string_equal(dnsbl_code_meaning(l, A(127, 0, 0, 2)), "listed: spam source");
	assert_string_equal(dnsbl_code_meaning(l, A(127, 0, 0, 3)), "XBL: exploited host");
	assert_null(dnsbl_code_meaning(l, A(127, 0, 0, 4)));
	assert_true(l->weight == 2.5);
	assert_int_equal(l->interval, 7200);
	assert_int_equal(l->fast_interval, 900);
	assert_int_equal(l->max_qps, 5);
	assert_int_equal(l->max_per_day, 300000);
	assert_int_equal(l->ipv6, 1);
	assert_int_equal(l->txt, 0);
	assert_int_equal(l->expiry, 7 * 86400);
	assert_string_equal(cites_str(l), "invaluement");
	assert_int_equal(l->line, 1);

	assert_string_equal(dnsbl_lists_find(ls, "abs")->file, "/var/lib/x.zone");
	assert_null(dnsbl_lists_find(ls, "dns")->file);
	assert_null(dnsbl_lists_find(ls, "nope"));
	dnsbl_lists_free(ls);
}

static void
test_durations(void **state)
{
	struct testfile *fx = *state;
	static const struct {
		const char *v;
		unsigned secs;
	} ok[] = {
		{ "90", 90 }, { "90s", 90 }, { "15m", 900 }, { "2h", 7200 }, { "1d", 86400 },
		{ "1w", 604800 }, { "366d", 366 * 86400 },
	};
	char text[256];
	struct dnsbl_lists *ls;
	size_t i;

	for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		snprintf(text, sizeof text, "[list \"a\"]\nzone = a.example\nscope = ip\n"
		    "interval = %s\nexpiry = %s\n", ok[i].v, ok[i].v);
		ls = load(fx, text);
		assert_int_equal(dnsbl_lists_get(ls, 0)->interval, ok[i].secs);
		assert_int_equal(dnsbl_lists_get(ls, 0)->expiry, ok[i].secs);
		dnsbl_lists_free(ls);
	}
	ls = load(fx, "[list \"a\"]\nzone = a.example\nscope = ip\nexpiry = 0\n");
	assert_int_equal(dnsbl_lists_get(ls, 0)->expiry, 0);
	dnsbl_lists_free(ls);
}

static void
test_cite(void **state)
{
	struct testfile *fx = *state;
	struct dnsbl_lists *ls = load(fx,
	    "[list \"a\"]\nzone = dnsbl-3.uceprotect.net\nscope = asn\n"
	    "[list \"b\"]\nzone = bl.spamcop.net\nscope = ip\n"
	    "[list \"c\"]\nzone = dnsbl.example.co.uk\nscope = ip\n"
	    "[list \"d\"]\nzone = rbl.Example.DE\nscope = ip\n"
	    "[list \"e\"]\nzone = localzone\nscope = ip\n"
	    "[list \"f\"]\nzone = spamhaus.org\nscope = ip\n"
	    "[list \"g\"]\nzone = b.barracudacentral.org\nscope = ip\ncite = barracuda\n");

	assert_string_equal(cites_str(dnsbl_lists_find(ls, "a")),
	    "dnsbl-3.uceprotect.net, ~uceprotect");
	assert_string_equal(cites_str(dnsbl_lists_find(ls, "b")), "bl.spamcop.net, ~spamcop");
	assert_string_equal(cites_str(dnsbl_lists_find(ls, "c")),
	    "dnsbl.example.co.uk, ~example");
	assert_string_equal(cites_str(dnsbl_lists_find(ls, "d")), "rbl.example.de, ~example");
	assert_string_equal(cites_str(dnsbl_lists_find(ls, "e")), "localzone");
	assert_string_equal(cites_str(dnsbl_lists_find(ls, "f")), "spamhaus.org, ~spamhaus");
	assert_string_equal(cites_str(dnsbl_lists_find(ls, "g")), "barracuda");
	dnsbl_lists_free(ls);

	/* patterns accumulate over lines, keep their marks, blanks around them go, case too */
	ls = load(fx, "[list \"zen\"]\nzone = zen.spamhaus.org\nscope = ip\n"
	    "cite = zen.spamhaus, SBL.spamhaus ,xbl.spamhaus\n"
	    "cite = \"~Spamhaus, !dbl.spamhaus\"\n"
	    "cite = uceprotect level 1\n"
	    "[list \"tiny\"]\nzone = ab\nscope = ip\n");
	assert_string_equal(cites_str(dnsbl_lists_get(ls, 0)), "zen.spamhaus, sbl.spamhaus, "
	    "xbl.spamhaus, ~spamhaus, !dbl.spamhaus, uceprotect level 1");
	assert_int_equal(dnsbl_lists_get(ls, 0)->cites[0].line, 4);
	assert_int_equal(dnsbl_lists_get(ls, 0)->cites[4].line, 5);
	assert_int_equal(dnsbl_lists_get(ls, 0)->cites[5].line, 6);
	assert_int_equal(dnsbl_lists_get(ls, 0)->cites[4].kind, DNSBL_CITE_EXCLUDE);
	/* a zone too short to be a pattern has none */
	assert_int_equal(dnsbl_lists_get(ls, 1)->ncites, 0);
	dnsbl_lists_free(ls);
}

static void
test_classify(void **state)
{
	struct testfile *fx = *state;
	struct dnsbl_lists *ls = load(fx,
	    "[list \"zen\"]\n"
	    "zone = zen.spamhaus.org\n"
	    "scope = ip\n"
	    "listed = 127.0.0.2-127.0.0.7 127.0.0.9-127.0.0.11\n"
	    "blocked = 127.255.255.252 127.255.255.254 127.255.255.255\n"
	    "code = 127.0.0.4 XBL: exploited host\n"
	    "code = 127.255.255.254 refused: public resolver\n"
	    "[list \"open\"]\n"
	    "zone = dnsbl-1.uceprotect.net\n"
	    "scope = ip\n"
	    "[list \"noblock\"]\n"
	    "zone = x.example\n"
	    "scope = ip\n"
	    "blocked =\n"
	    "[list \"wide\"]\n"
	    "zone = w.example\n"
	    "scope = ip\n"
	    "listed = 127.0.0.0/8\n");
	const struct dnsbl_list *zen = dnsbl_lists_find(ls, "zen");
	const struct dnsbl_list *open = dnsbl_lists_find(ls, "open");
	const struct dnsbl_list *noblock = dnsbl_lists_find(ls, "noblock");
	const struct dnsbl_list *wide = dnsbl_lists_find(ls, "wide");

	/* a configured listed set */
	assert_int_equal(dnsbl_classify(zen, A(127, 0, 0, 2)), DNSBL_V_LISTED);
	assert_int_equal(dnsbl_classify(zen, A(127, 0, 0, 4)), DNSBL_V_LISTED);
	assert_int_equal(dnsbl_classify(zen, A(127, 0, 0, 11)), DNSBL_V_LISTED);
	assert_int_equal(dnsbl_classify(zen, A(127, 0, 0, 8)), DNSBL_V_ERROR);	/* unknown code */
	assert_int_equal(dnsbl_classify(zen, A(127, 0, 0, 12)), DNSBL_V_ERROR);
	assert_int_equal(dnsbl_classify(zen, A(127, 0, 0, 1)), DNSBL_V_ERROR);
	assert_int_equal(dnsbl_classify(zen, A(10, 0, 0, 2)), DNSBL_V_ERROR);
	assert_int_equal(dnsbl_classify(zen, A(127, 255, 255, 252)), DNSBL_V_BLOCKED);
	assert_int_equal(dnsbl_classify(zen, A(127, 255, 255, 254)), DNSBL_V_BLOCKED);
	assert_int_equal(dnsbl_classify(zen, A(127, 255, 255, 255)), DNSBL_V_BLOCKED);
	assert_int_equal(dnsbl_classify(zen, A(127, 255, 255, 253)), DNSBL_V_ERROR);
	assert_string_equal(dnsbl_code_meaning(zen, A(127, 0, 0, 4)), "XBL: exploited host");
	assert_string_equal(dnsbl_code_meaning(zen, A(127, 255, 255, 254)),
	    "refused: public resolver");
	assert_null(dnsbl_code_meaning(zen, A(127, 0, 0, 2)));

	/* an empty listed set: any 127/8 but 127.0.0.1 and the refusal codes */
	assert_int_equal(dnsbl_classify(open, A(127, 0, 0, 2)), DNSBL_V_LISTED);
	assert_int_equal(dnsbl_classify(open, A(127, 0, 0, 200)), DNSBL_V_LISTED);
	assert_int_equal(dnsbl_classify(open, A(127, 1, 2, 3)), DNSBL_V_LISTED);
	assert_int_equal(dnsbl_classify(open, A(127, 0, 0, 1)), DNSBL_V_ERROR);
	assert_int_equal(dnsbl_classify(open, A(127, 255, 255, 254)), DNSBL_V_BLOCKED);
	assert_int_equal(dnsbl_classify(open, A(127, 255, 255, 0)), DNSBL_V_BLOCKED);
	assert_int_equal(dnsbl_classify(open, A(127, 255, 254, 255)), DNSBL_V_LISTED);
	assert_int_equal(dnsbl_classify(open, A(8, 8, 8, 8)), DNSBL_V_ERROR);
	assert_int_equal(dnsbl_classify(open, A(128, 0, 0, 2)), DNSBL_V_ERROR);
	assert_int_equal(dnsbl_classify(open, A(126, 255, 255, 255)), DNSBL_V_ERROR);
	assert_int_equal(dnsbl_classify(open, 0), DNSBL_V_ERROR);

	/* no refusal codes: the default /24 is gone */
	assert_int_equal(noblock->blocked.n, 0);
	assert_int_equal(dnsbl_classify(noblock, A(127, 255, 255, 254)), DNSBL_V_LISTED);
	assert_int_equal(dnsbl_classify(noblock, A(127, 0, 0, 1)), DNSBL_V_ERROR);

	/* refusal codes come first, 127.0.0.1 never lists even inside the listed set */
	assert_int_equal(dnsbl_classify(wide, A(127, 255, 255, 254)), DNSBL_V_BLOCKED);
	assert_int_equal(dnsbl_classify(wide, A(127, 0, 0, 1)), DNSBL_V_ERROR);
	assert_int_equal(dnsbl_classify(wide, A(127, 9, 9, 9)), DNSBL_V_LISTED);

	assert_string_equal(dnsbl_scope_name(DNSBL_SCOPE_IP), "ip");
	assert_string_equal(dnsbl_scope_name(DNSBL_SCOPE_RANGE), "range");
	assert_string_equal(dnsbl_scope_name(DNSBL_SCOPE_ASN), "asn");
	dnsbl_lists_free(ls);
}

static void
test_empty(void **state)
{
	struct testfile *fx = *state;
	struct dnsbl_lists *ls = load(fx, "# nothing yet\n\n");

	assert_int_equal(dnsbl_lists_count(ls), 0);
	assert_null(dnsbl_lists_get(ls, 0));
	assert_null(dnsbl_lists_find(ls, "x"));
	dnsbl_lists_free(ls);
	dnsbl_lists_free(NULL);
	assert_int_equal(dnsbl_lists_count(NULL), 0);
}

#define HEAD "[list \"a\"]\nzone = a.example\nscope = ip\n"

static void
test_errors(void **state)
{
	struct testfile *fx = *state;
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ HEAD "foo = 1\n", "4: unknown key 'foo' in [list \"a\"]" },
		{ "zone = a.example\n", "1: key 'zone' outside any [list \"NAME\"] section" },
		{ HEAD "[lists \"b\"]\n",
		  "4: unknown section [lists \"b\"] (expected [list \"NAME\"])" },
		{ "[global]\n", "1: unknown section [global] (expected [list \"NAME\"])" },
		{ HEAD "[list]\n", "4: section [list] needs a name: [list \"NAME\"]" },
		{ "[list b]\n", "1: bad section name [list b] (expected [list \"NAME\"])" },
		{ "[list \"b\"c\"]\n", "1: bad section name [list \"b\"c\"] (expected [list \"NAME\"])" },
		{ "[list \"\"]\n", "1: bad section name [list \"\"] (expected [list \"NAME\"])" },
		{ "[list \"b\"] x\n", "1: text after the [section] header" },
		{ "[list \"b\"\n", "1: unterminated [section] header" },
		{ "[list \"b\"]\nscope = ip\n[list \"c\"]\nzone = c.example\nscope = ip\n",
		  "1: [list \"b\"] has no zone (zone = DNSNAME is required)" },
		{ HEAD "\n[list \"c\"]\nzone = c.example\n",
		  "5: [list \"c\"] has no scope (scope = ip, range or asn is required)" },
		{ HEAD "[list \"b\"]\nzone = b.example\nscope = ip\n[list \"a\"]\n",
		  "7: [list \"a\"] is already defined at line 1" },
		{ HEAD "[list \"A\"]\n", "4: [list \"A\"] is already defined at line 1" },
		{ HEAD "zone = b.example\n", "4: [list \"a\"] zone is already set at line 2" },
		{ HEAD "scope = range\n", "4: [list \"a\"] scope is already set at line 3" },
		{ "[list \"a\"]\nzone = a.example\nscope = subnet\n",
		  "3: [list \"a\"] scope: 'subnet' is not ip, range or asn" },
		{ "[list \"a\"]\nzone = a..example\n",
		  "2: [list \"a\"] zone: not a DNS name (labels of letters, digits, '-' and '_', "
		  "separated by single dots)" },
		{ "[list \"a\"]\nzone = a.exa mple\n",
		  "2: [list \"a\"] zone: not a DNS name (labels of letters, digits, '-' and '_', "
		  "separated by single dots)" },
		{ HEAD "enabled = maybe\n",
		  "4: [list \"a\"] enabled: 'maybe' is not yes/no, true/false, on/off or 1/0" },
		{ HEAD "source = ftp://x\n",
		  "4: [list \"a\"] source: 'ftp://x' is neither dns nor file:PATH" },
		{ HEAD "source = file:\n",
		  "4: [list \"a\"] source: 'file:' is neither dns nor file:PATH" },
		{ HEAD "listed = 10.0.0.2\n",
		  "4: [list \"a\"] listed: '10.0.0.2' is outside 127.0.0.0/8 (DNSBL answers are "
		  "loopback addresses, RFC 5782)" },
		{ HEAD "listed = 127.0.0.2 127.0.0.300\n",
		  "4: [list \"a\"] listed: '127.0.0.300' is not an IPv4 address" },
		{ HEAD "listed = 127.0.0.9-127.0.0.2\n",
		  "4: [list \"a\"] listed: '127.0.0.9-127.0.0.2' ends before it starts" },
		{ HEAD "listed = 127.0.0.2-x\n",
		  "4: [list \"a\"] listed: '127.0.0.2-x' is not a range a.b.c.d-e.f.g.h" },
		{ HEAD "listed = 127.0.0.3/30\n",
		  "4: [list \"a\"] listed: '127.0.0.3/30' has host bits set" },
		{ HEAD "listed = 127.0.0.0/33\n",
		  "4: [list \"a\"] listed: '127.0.0.0/33' is not a CIDR a.b.c.d/n" },
		{ HEAD "listed = 127.0.0.0/1-2\n",
		  "4: [list \"a\"] listed: '127.0.0.0/1-2' is not an address, CIDR or range" },
		{ HEAD "listed = 127.0.0.1\n",
		  "4: [list \"a\"] listed: 127.0.0.1 never means listed (RFC 5782)" },
		{ HEAD "blocked = 255.255.255.255\n",
		  "4: [list \"a\"] blocked: '255.255.255.255' is outside 127.0.0.0/8 (DNSBL "
		  "answers are loopback addresses, RFC 5782)" },
		{ HEAD "code = 10.0.0.2 x\n",
		  "4: [list \"a\"] code: '10.0.0.2 x' does not start with an address in "
		  "127.0.0.0/8" },
		{ HEAD "code = 127.0.0.2\n",
		  "4: [list \"a\"] code: '127.0.0.2' needs a meaning of 1 to 160 characters after "
		  "the address" },
		{ HEAD "code = 127.0.0.2 one\ncode = 127.0.0.3 two\ncode = 127.0.0.2 three\n",
		  "6: [list \"a\"] code: 127.0.0.2 is already defined at line 4" },
		{ HEAD "weight = heavy\n", "4: [list \"a\"] weight: 'heavy' is not a number" },
		{ HEAD "weight = -1\n", "4: [list \"a\"] weight: -1 is out of range (0..1000)" },
		{ HEAD "weight = nan\n", "4: [list \"a\"] weight: 'nan' is not a number" },
		{ HEAD "interval = 0\n",
		  "4: [list \"a\"] interval: 0 is out of range (1s..366d)" },
		{ HEAD "interval = 1x\n",
		  "4: [list \"a\"] interval: '1x' is not a duration (seconds, or a number with s, "
		  "m, h, d or w)" },
		{ HEAD "interval = 1.5h\n",
		  "4: [list \"a\"] interval: '1.5h' is not a duration (seconds, or a number with "
		  "s, m, h, d or w)" },
		{ HEAD "expiry = -1\n",
		  "4: [list \"a\"] expiry: '-1' is not a duration (seconds, or a number with s, "
		  "m, h, d or w)" },
		{ HEAD "expiry = 99999999999999999999w\n",
		  "4: [list \"a\"] expiry: 99999999999999999999w is out of range (0s..366d)" },
		{ HEAD "interval = 1h\nfast_interval = 2h\n",
		  "5: [list \"a\"] fast_interval (7200s) is longer than interval (3600s)" },
		{ HEAD "max_qps = 0\n", "4: [list \"a\"] max_qps: 0 is out of range (1..100000)" },
		{ HEAD "max_qps = 1e3\n", "4: [list \"a\"] max_qps: '1e3' is not a whole number" },
		{ HEAD "max_per_day = -5\n",
		  "4: [list \"a\"] max_per_day: '-5' is not a whole number" },
		{ HEAD "cite = ab\n",
		  "4: [list \"a\"] cite: 'ab' is not a pattern of 3 to 63 characters" },
		{ HEAD "cite = ~ab\n",
		  "4: [list \"a\"] cite: 'ab' is not a pattern of 3 to 63 characters" },
		{ HEAD "cite = " "0123456789012345678901234567890123456789012345678901234567890123\n",
		  "4: [list \"a\"] cite: '0123456789012345678901234567890123456789012345678901"
		  "234567890123' is not a pattern of 3 to 63 characters" },
		{ HEAD "cite = spamhaus,\n",
		  "4: [list \"a\"] cite: an empty pattern (patterns are separated by commas)" },
		{ HEAD "cite = spamhaus, , spamcop\n",
		  "4: [list \"a\"] cite: an empty pattern (patterns are separated by commas)" },
		{ HEAD "cite = ~\n",
		  "4: [list \"a\"] cite: an empty pattern (patterns are separated by commas)" },
		{ HEAD "cite = ~!dbl.spamhaus\n",
		  "4: [list \"a\"] cite: a pattern takes one mark, ~ or !" },
		{ HEAD "cite = spamhaus\ncite = x.spamhaus, ~SPAMHAUS\n",
		  "5: [list \"a\"] cite: 'SPAMHAUS' is already given at line 4" },
		{ HEAD "cite = caf\xc3\xa9 list\n",
		  "4: [list \"a\"] cite: 'caf\xc3\xa9 list' has a character outside printable ASCII" },
		{ HEAD "cite = p01, p02, p03, p04, p05, p06, p07, p08\n"
		  "cite = p09, p10, p11, p12, p13, p14, p15, p16, p17\n",
		  "5: [list \"a\"] cite: more than 16 patterns" },
		{ HEAD "just words\n",
		  "4: syntax error (expected [list \"NAME\"] or key = value)" },
		{ HEAD "zone\n[list \"b\"]\n",
		  "4: syntax error (expected [list \"NAME\"] or key = value)" },
	};
	char longline[400];
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		load_fails(fx, cases[i].text, 0, cases[i].want);

	/* a value with a control character, a NUL byte, a line inih would cut */
	load_fails(fx, HEAD "cite = aaa\x01" "b\n", 0,
	    "4: [list \"a\"] cite: control character or bad UTF-8 in the value");
	load_fails(fx, HEAD "cite = a\0b\n", sizeof HEAD + 10, "4: NUL byte");
	memset(longline, 'x', sizeof longline);
	memcpy(longline, "listed = ", 9);
	longline[sizeof longline - 1] = '\0';
	{
		char text[600];

		snprintf(text, sizeof text, HEAD "%s\n", longline);
		load_fails(fx, text, 0, "4: line longer than 199 characters (split a listed, "
		    "blocked or code value over several lines with the same key)");
		/* a long comment is fine */
		snprintf(text, sizeof text, HEAD "# %s\n", longline);
		dnsbl_lists_free(load(fx, text));
	}
}

static void
test_missing_file(void **state)
{
	struct testfile *fx = *state;
	struct dnsbl_lists *l = NULL;
	char err[512], want[512];

	unlink(fx->path);
	assert_int_equal(dnsbl_lists_load(fx->path, &l, err, sizeof err), -1);
	assert_null(l);
	snprintf(want, sizeof want, "%s: No such file or directory", fx->path);
	assert_string_equal(err, want);
}

/* The shipped example: loads, and carries what dnsbl-facts.md says. */
static void
test_example_conf(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], *slash, err[512];
	struct dnsbl_lists *ls = NULL;
	const struct dnsbl_list *l;
	size_t i, enabled = 0;

	(void)state;
	snprintf(dir, sizeof dir, "%s", __FILE__);	/* tests/unit/test_dnsbl_lists.c */
	for (i = 0; i < 3; i++) {
		if ((slash = strrchr(dir, '/')) == NULL) {
			snprintf(dir, sizeof dir, ".");
			break;
		}
		*slash = '\0';
	}
	snprintf(path, sizeof path, "%s/etc/dnsbl.conf", dir);
	if (access(path, R_OK) != 0) {
		print_message("cannot find %s (run from the source tree)\n", path);
		skip();
	}
	if (dnsbl_lists_load(path, &ls, err, sizeof err) != 0)
		fail_msg("%s", err);
	for (i = 0; i < dnsbl_lists_count(ls); i++)
		enabled += dnsbl_lists_get(ls, i)->enabled;
	assert_true(enabled >= 5);

	l = dnsbl_lists_find(ls, "uceprotect-1");
	assert_non_null(l);
	assert_int_equal(l->scope, DNSBL_SCOPE_IP);
	assert_string_equal(l->zone, "dnsbl-1.uceprotect.net");
	assert_int_equal(dnsbl_lists_find(ls, "uceprotect-2")->scope, DNSBL_SCOPE_RANGE);
	assert_int_equal(dnsbl_lists_find(ls, "uceprotect-3")->scope, DNSBL_SCOPE_ASN);
	assert_string_equal(cites_str(dnsbl_lists_find(ls, "uceprotect-3")), "dnsbl-3.uceprotect, "
	    "uceprotect-level3, uceprotect-level 3, uceprotect level 3");

	l = dnsbl_lists_find(ls, "zen");
	assert_non_null(l);
	assert_string_equal(l->zone, "zen.spamhaus.org");
	assert_int_equal(l->max_per_day, 300000);
	assert_int_equal(dnsbl_classify(l, A(127, 0, 0, 2)), DNSBL_V_LISTED);
	assert_int_equal(dnsbl_classify(l, A(127, 0, 0, 3)), DNSBL_V_LISTED);
	assert_int_equal(dnsbl_classify(l, A(127, 0, 0, 4)), DNSBL_V_LISTED);
	assert_int_equal(dnsbl_classify(l, A(127, 0, 0, 9)), DNSBL_V_LISTED);
	assert_int_equal(dnsbl_classify(l, A(127, 0, 0, 10)), DNSBL_V_LISTED);
	assert_int_equal(dnsbl_classify(l, A(127, 0, 0, 11)), DNSBL_V_LISTED);
	assert_int_equal(dnsbl_classify(l, A(127, 0, 0, 8)), DNSBL_V_ERROR);
	assert_int_equal(dnsbl_classify(l, A(127, 255, 255, 252)), DNSBL_V_BLOCKED);
	assert_int_equal(dnsbl_classify(l, A(127, 255, 255, 254)), DNSBL_V_BLOCKED);
	assert_int_equal(dnsbl_classify(l, A(127, 255, 255, 255)), DNSBL_V_BLOCKED);
	assert_non_null(dnsbl_code_meaning(l, A(127, 0, 0, 2)));
	assert_non_null(dnsbl_code_meaning(l, A(127, 0, 0, 11)));

	assert_int_equal(dnsbl_lists_find(ls, "barracuda")->enabled, 0);
	assert_int_equal(dnsbl_lists_find(ls, "ivmsip")->enabled, 0);
	assert_int_equal(dnsbl_lists_find(ls, "ivmsip24")->scope, DNSBL_SCOPE_RANGE);
	assert_int_equal(dnsbl_classify(dnsbl_lists_find(ls, "mailspike"), A(127, 0, 0, 11)),
	    DNSBL_V_LISTED);
	assert_int_equal(dnsbl_classify(dnsbl_lists_find(ls, "mailspike"), A(127, 0, 0, 15)),
	    DNSBL_V_ERROR);
	assert_non_null(dnsbl_lists_find(ls, "spamcop"));
	assert_non_null(dnsbl_lists_find(ls, "gbudb"));
	assert_string_equal(cites_str(dnsbl_lists_find(ls, "zen")), "zen.spamhaus, sbl.spamhaus, "
	    "xbl.spamhaus, pbl.spamhaus, sbl-xbl.spamhaus, ~spamhaus, !dbl.spamhaus, "
	    "!zrd.spamhaus");
	assert_string_equal(cites_str(dnsbl_lists_find(ls, "psbl")), "psbl.surriel, ~psbl");
	dnsbl_lists_free(ls);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, testfile_teardown),
		cmocka_unit_test_setup_teardown(test_all_keys, setup, testfile_teardown),
		cmocka_unit_test_setup_teardown(test_durations, setup, testfile_teardown),
		cmocka_unit_test_setup_teardown(test_cite, setup, testfile_teardown),
		cmocka_unit_test_setup_teardown(test_classify, setup, testfile_teardown),
		cmocka_unit_test_setup_teardown(test_empty, setup, testfile_teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, testfile_teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, testfile_teardown),
		cmocka_unit_test(test_example_conf),
	};

	return cmocka_run_group_tests_name("dnsbl_lists", tests, NULL, NULL);
}
