/*
 * test_cite.c — a remote server's rejection mapped to the lists it names (probes/cite.c):
 * the shipped etc/dnsbl.conf patterns against real reply texts (dnsbl-facts.md: TXT answers
 * as servers quote them, rejection texts), run through the SMTP parser as the capture does;
 * fallback and exclusion rules on small configs; the bound on distinct patterns with its
 * FILE:LINE error; a failed install keeping the previous table.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cite.h"
#include "dnsbl_lists.h"
#include "smtp.h"
#include "testfiles.h"

/* The [capture] cite default of rangewatch.conf. */
static const char *const words[] = { "uceprotect", "spamhaus", "spamcop", "barracuda",
    "gbudb", "psbl", "mailspike", "sorbs", "invaluement", "abusix", "s5h" };
#define NWORDS	(sizeof words / sizeof words[0])

struct got {
	uint64_t hits;
	int replies;
};

static void
on_command(void *v, enum smtp_cmd c)
{
	(void)v;
	(void)c;
}

static void
on_reply(void *v, int code, uint64_t hits)
{
	struct got *g = v;

	(void)code;
	g->hits = hits;
	g->replies++;
}

static void
on_nothing(void *v)
{
	(void)v;
}

static const struct smtp_sink sink = { on_command, on_reply, on_nothing, on_nothing };

/* The lists a server's reply (whole lines with CRLF) names, by name in list order, "-"
 * for none; "+" appended when it is cited at all (a list or a capture word). */
static const char *
named(const char *reply)
{
	static char buf[256];
	struct smtp_state s;
	struct got g = { 0, 0 };
	size_t i, off = 0;

	memset(&s, 0, sizeof s);
	smtp_server_data(&s, (const uint8_t *)reply, strlen(reply), &sink, &g);
	smtp_release(&s);
	assert_int_equal(g.replies, 1);
	buf[0] = '\0';
	for (i = 0; i < cite_nlists(); i++)
		if (cite_names(g.hits, i))
			off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%s",
			    off ? " " : "", cite_list_name(i));
	if (off == 0)
		off = (size_t)snprintf(buf, sizeof buf, "-");
	if (cite_any(g.hits))
		snprintf(buf + off, sizeof buf - off, "+");
	return buf;
}

/* The shipped etc/dnsbl.conf, found from this file's path. */
static struct dnsbl_lists *
shipped(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], *slash, err[512];
	struct dnsbl_lists *ls = NULL;
	int i;

	snprintf(dir, sizeof dir, "%s", __FILE__);
	for (i = 0; i < 3; i++) {
		if ((slash = strrchr(dir, '/')) == NULL) {
			snprintf(dir, sizeof dir, ".");
			break;
		}
		*slash = '\0';
	}
	snprintf(path, sizeof path, "%s/etc/dnsbl.conf", dir);
	if (dnsbl_lists_load(path, &ls, err, sizeof err) != 0)
		fail_msg("%s", err);
	return ls;
}

static void
test_real_texts(void **state)
{
	struct dnsbl_lists *ls = shipped();
	char err[512];

	(void)state;
	if (cite_install(ls, words, NWORDS, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(cite_nlists(), dnsbl_lists_count(ls));

	/* UCEPROTECT's TXT answers, quoted in rejections: each level its own */
	assert_string_equal(named("550 5.7.1 Service unavailable; Client host [45.95.168.196] "
	    "blocked using dnsbl-1.uceprotect.net; IP 45.95.168.196 is UCEPROTECT-Level 1 "
	    "listed. See http://www.uceprotect.net/rblcheck.php?ipr=45.95.168.196\r\n"),
	    "uceprotect-1+");
	assert_string_equal(named("554 5.7.1 Net 117.219.64.0/18 is UCEPROTECT-Level2 listed "
	    "because 231 abusers are hosted by BSNL-NIB National Internet Backbone/AS9829 there. "
	    "See: http://www.uceprotect.net/rblcheck.php?ipr=117.219.113.30\r\n"),
	    "uceprotect-2+");
	assert_string_equal(named("554 5.7.1 Your ISP BSNL-NIB National Internet Backbone/AS9829 "
	    "is UCEPROTECT-Level3 listed for hosting a total of 55146 abusers. See: "
	    "http://www.uceprotect.net/rblcheck.php?ipr=117.219.113.30\r\n"), "uceprotect-3+");
	assert_string_equal(named("550 5.7.1 Your ISP SENDGRID, US/AS11377 is UCEPROTECT-Level3 "
	    "listed because of a spamscore of 55.7. See: "
	    "http://www.uceprotect.net/rblcheck.php?ipr=168.245.40.212\r\n"), "uceprotect-3+");
	/* the rejection texts of dnsbl-facts.md */
	assert_string_equal(named("550 5.7.1 Client host is UCEPROTECT-Level1 listed\r\n"),
	    "uceprotect-1+");
	assert_string_equal(named("550 5.7.1 rejected: listed on dnsbl-2.uceprotect.net\r\n"),
	    "uceprotect-2+");
	assert_string_equal(named("554 5.7.1 Service unavailable; Client host [192.0.2.11] "
	    "blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.11\r\n"),
	    "zen+");
	assert_string_equal(named("550 5.7.1 Your IP 192.0.2.9 is in a black list at "
	    "truncate.gbudb.net\r\n"), "gbudb+");
	assert_string_equal(named("554 5.7.1 Service unavailable; Client host [192.0.2.9] "
	    "blocked using bl.spamcop.net\r\n"), "spamcop+");
	/* no level: level 1 alone; level 2 in another line of the same reply wins */
	assert_string_equal(named("550 5.7.1 blocked by UCEPROTECT\r\n"), "uceprotect-1+");
	assert_string_equal(named("550-5.7.1 blocked by UCEPROTECT\r\n"
	    "550 5.7.1 see dnsbl-2.uceprotect.net\r\n"), "uceprotect-2+");
	/* multi-line, the list named twice and in capitals: one reply, one list */
	assert_string_equal(named("550-5.7.1 rejected: listed at dnsbl-1.uceprotect.net\r\n"
	    "550-5.7.1 see http://www.UCEPROTECT.net/rblcheck.php?ipr=192.0.2.11\r\n"
	    "550 5.7.1 Your IP is listed\r\n"), "uceprotect-1+");
	/* two lists in one reply */
	assert_string_equal(named("554-5.7.1 blocked using zen.spamhaus.org\r\n"
	    "554 5.7.1 and is UCEPROTECT-Level2 listed\r\n"), "uceprotect-2 zen+");
	/* Spamhaus alone: ZEN; DBL names a domain of the message, not our IP: no list, but
	 * still a rejection citing a capture word */
	assert_string_equal(named("550 5.7.1 rejected, see https://www.spamhaus.org/\r\n"),
	    "zen+");
	assert_string_equal(named("554 5.7.1 <a@spammy.example>: Sender address rejected: "
	    "spammy.example is listed in dbl.spamhaus.org; "
	    "https://www.spamhaus.org/query/dbl?domain=spammy.example\r\n"), "-+");
	/* other lists of the file, and a capture word no list has */
	assert_string_equal(named("554 5.7.1 by Barracuda reputation\r\n"), "barracuda+");
	assert_string_equal(named("550 5.7.1 blocked using bl.mailspike.net\r\n"), "mailspike+");
	assert_string_equal(named("550 5.7.1 blocked using psbl.surriel.com\r\n"), "psbl+");
	assert_string_equal(named("550 5.7.1 listed on ivmSIP/24\r\n"), "ivmsip24+");
	assert_string_equal(named("550 5.7.1 listed on ivmSIP\r\n"), "ivmsip+");
	assert_string_equal(named("550 5.7.1 Sender IP listed on dnsbl.sorbs.net\r\n"), "-+");
	/* not a rejection, or naming nothing */
	assert_string_equal(named("250 2.1.5 Ok, not listed at zen.spamhaus.org\r\n"), "-");
	assert_string_equal(named("450 4.7.1 greylisted, try later\r\n"), "-");
	cite_clear();
	assert_int_equal(cite_nlists(), 0);
	dnsbl_lists_free(ls);
}

static struct dnsbl_lists *
load(struct testfile *fx, const char *text)
{
	struct dnsbl_lists *l = NULL;
	char err[512] = "";

	write_file(fx->path, text, 0);
	if (dnsbl_lists_load(fx->path, &l, err, sizeof err) != 0)
		fail_msg("dnsbl_lists_load: %s", err);
	return l;
}

static int
setup(void **state)
{
	return testfile_setup(state, "cite", "dnsbl.conf");
}

static void
test_rules(void **state)
{
	struct testfile *fx = *state;
	struct dnsbl_lists *ls;
	char err[512];

	/* a fallback steps aside only for a plain pattern that contains its text, of any
	 * list; a pattern plain in one list shadows the same text as another's fallback */
	ls = load(fx,
	    "[list \"a\"]\nzone = a.example\nscope = ip\ncite = alpha-1, ~alpha\n"
	    "[list \"b\"]\nzone = b.example\nscope = ip\ncite = alpha-2, beta\n"
	    "[list \"c\"]\nzone = c.example\nscope = ip\ncite = ~beta, gamma, !gamma-domain\n"
	    "[list \"d\"]\nzone = d.example\nscope = ip\n");
	if (cite_install(ls, NULL, 0, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_string_equal(named("550 ALPHA\r\n"), "a+");
	assert_string_equal(named("550 alpha-1\r\n"), "a+");
	assert_string_equal(named("550 alpha-2\r\n"), "b+");
	assert_string_equal(named("550 alpha-1 and alpha-2\r\n"), "a b+");
	assert_string_equal(named("550 beta\r\n"), "b+");	/* plain in b: c's ~beta yields */
	assert_string_equal(named("550 gamma\r\n"), "c+");
	assert_string_equal(named("550 gamma-domain\r\n"), "-");	/* excluded, no word */
	assert_string_equal(named("550 gamma-domain and beta\r\n"), "b+");
	/* the default: the zone, and its label as a fallback */
	assert_string_equal(named("550 listed at d.example\r\n"), "d+");
	/* d.example's label "d" is too short to be a pattern */
	assert_string_equal(named("550 example\r\n"), "-");
	dnsbl_lists_free(ls);
	cite_clear();
}

static void
test_bounds(void **state)
{
	struct testfile *fx = *state;
	struct dnsbl_lists *ls;
	char text[8192], err[512], want[600], w[64][8];
	const char *many[64];
	size_t off = 0, i, k;

	/* 5 lists of 13 patterns: the 65th distinct one is list e's last, on line 24 */
	for (i = 0; i < 5; i++) {
		off += (size_t)snprintf(text + off, sizeof text - off,
		    "[list \"%c\"]\nzone = %c.example\nscope = ip\ncite = ", (char)('a' + i),
		    (char)('a' + i));
		for (k = 0; k < 13; k++)
			off += (size_t)snprintf(text + off, sizeof text - off, "%sp%c%02zu",
			    k ? ", " : "", (char)('a' + i), k);
		off += (size_t)snprintf(text + off, sizeof text - off, "\nweight = 1\n");
	}
	ls = load(fx, text);
	/* a table that fits first: a failing install must keep it */
	if (cite_install(NULL, words, NWORDS, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(cite_install(ls, NULL, 0, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:24: [list \"e\"] cite: 'pe12' is one distinct pattern "
	    "too many (at most 64 in all, [capture] cite words included)", fx->path);
	assert_string_equal(err, want);
	assert_int_equal(cite_npatterns(), NWORDS);
	assert_string_equal(cite_pattern(0), "uceprotect");
	assert_string_equal(named("550 blocked by spamcop\r\n"), "-+");
	dnsbl_lists_free(ls);

	/* capture words past the bound */
	for (i = 0; i < 64; i++) {
		snprintf(w[i], sizeof w[i], "w%02zu", i);
		many[i] = w[i];
	}
	if (cite_install(NULL, many, 64, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(cite_npatterns(), 64);
	/* the 64th bit works like the first */
	assert_string_equal(named("550 w63\r\n"), "-+");
	assert_string_equal(named("550 w00\r\n"), "-+");
	ls = load(fx, "[list \"a\"]\nzone = a.example\nscope = ip\ncite = uceprotect\n");
	assert_int_equal(cite_install(ls, many, 64, err, sizeof err), -1);
	assert_string_equal(err, "[capture] cite: 'w63' is one distinct pattern too many (at "
	    "most 64 with the lists' cite patterns)");
	dnsbl_lists_free(ls);
	cite_clear();
	assert_int_equal(cite_npatterns(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_texts),
		cmocka_unit_test_setup_teardown(test_rules, setup, testfile_teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup, testfile_teardown),
	};

	return cmocka_run_group_tests_name("cite", tests, NULL, NULL);
}
