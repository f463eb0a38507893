/*
 * test_dnsbl_txt.c — unit tests of the UCEPROTECT TXT parser: the real Level 2 and Level 3
 * texts (dnsbl-facts.md), case and wording variants, a holder whose name holds "/AS",
 * every cut of the real texts, hostile input (control characters, NUL bytes, huge numbers,
 * a holder longer than the field, bad prefixes) and random byte soup. Every input lies in
 * a heap block of exactly its length, so a read past len is an AddressSanitizer error in
 * the sanitizer build.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dnsbl_txt.h"

static const char L2[] = "Net 117.219.64.0/18 is UCEPROTECT-Level2 listed because 231 abusers "
    "are hosted by BSNL-NIB National Internet Backbone/AS9829 there. See: "
    "http://www.uceprotect.net/rblcheck.php?ipr=117.219.113.30";
static const char L2_RIPESTAT[] = "Net 41.32.0.0/12 is UCEPROTECT-Level2 listed because 3277 "
    "abusers are hosted by Test Test/AS8452 there.";
static const char L3[] = "Your ISP BSNL-NIB National Internet Backbone/AS9829 is "
    "UCEPROTECT-Level3 listed for hosting a total of 55146 abusers. See: "
    "http://www.uceprotect.net/rblcheck.php?ipr=117.219.113.30";

/* Parses len bytes of s from a heap block of exactly that size. */
static int
parse(const char *s, size_t len, struct dnsbl_txt_info *out)
{
	char *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, s, len);
	r = dnsbl_txt_parse(copy, len, out);
	free(copy);
	return r;
}

static int
parse_str(const char *s, struct dnsbl_txt_info *out)
{
	return parse(s, strlen(s), out);
}

static void
check_net(const struct dnsbl_txt_info *t, const char *want)
{
	char buf[CIDR_STRLEN];

	assert_int_equal(t->has_net, 1);
	assert_string_equal(cidr_format(&t->net, buf, sizeof buf), want);
}

static void
check_empty(const struct dnsbl_txt_info *t)
{
	assert_int_equal(t->level, 0);
	assert_int_equal(t->has_net, 0);
	assert_int_equal(t->abusers, -1);
	assert_int_equal(t->asn, 0);
	assert_string_equal(t->holder, "");
}

static void
test_real_examples(void **state)
{
	struct dnsbl_txt_info t;

	(void)state;
	assert_int_equal(parse_str(L2, &t), 1);
	assert_int_equal(t.level, 2);
	check_net(&t, "117.219.64.0/18");
	assert_int_equal(t.abusers, 231);
	assert_int_equal(t.asn, 9829);
	assert_string_equal(t.holder, "BSNL-NIB National Internet Backbone");

	assert_int_equal(parse_str(L2_RIPESTAT, &t), 1);
	assert_int_equal(t.level, 2);
	check_net(&t, "41.32.0.0/12");
	assert_int_equal(t.abusers, 3277);
	assert_int_equal(t.asn, 8452);
	assert_string_equal(t.holder, "Test Test");

	assert_int_equal(parse_str(L3, &t), 1);
	assert_int_equal(t.level, 3);
	assert_int_equal(t.has_net, 0);
	assert_int_equal(t.abusers, 55146);
	assert_int_equal(t.asn, 9829);
	assert_string_equal(t.holder, "BSNL-NIB National Internet Backbone");
}

static void
test_variants(void **state)
{
	struct dnsbl_txt_info t;

	(void)state;
	/* case, a blank instead of the dash, no "Your ISP", no "See:" */
	assert_int_equal(parse_str("net 198.51.100.0/24 is uceprotect-level2 LISTED BECAUSE 5 "
	    "abusers are HOSTED BY Example Hosting/as64500 THERE", &t), 1);
	assert_int_equal(t.level, 2);
	check_net(&t, "198.51.100.0/24");
	assert_int_equal(t.abusers, 5);
	assert_int_equal(t.asn, 64500);
	assert_string_equal(t.holder, "Example Hosting");

	assert_int_equal(parse_str("Example/AS64501 is UCEPROTECT Level3 listed for hosting a "
	    "total of 60 abusers.", &t), 1);
	assert_int_equal(t.level, 3);
	assert_int_equal(t.abusers, 60);
	assert_int_equal(t.asn, 64501);
	assert_string_equal(t.holder, "Example");

	/* a holder whose name holds "/AS": the last one is the ASN */
	assert_int_equal(parse_str("Your ISP Evil/AS1 Corp/AS2 is UCEPROTECT-Level3 listed for "
	    "hosting a total of 7 abusers.", &t), 1);
	assert_string_equal(t.holder, "Evil/AS1 Corp");
	assert_int_equal(t.asn, 2);

	/* no ASN at all: the whole name is the holder */
	assert_int_equal(parse_str("Net 203.0.113.64/26 is UCEPROTECT-Level2 listed because 2 "
	    "abusers are hosted by Somebody there.", &t), 1);
	assert_string_equal(t.holder, "Somebody");
	assert_int_equal(t.asn, 0);
	check_net(&t, "203.0.113.64/26");

	/* "Net" as a word, not inside "Internet" */
	assert_int_equal(parse_str("Internet: Net 192.0.2.0/24 is UCEPROTECT-Level2 listed", &t),
	    1);
	check_net(&t, "192.0.2.0/24");
	assert_int_equal(parse_str("Internet 192.0.2.0/24 is UCEPROTECT-Level2 listed", &t), 1);
	assert_int_equal(t.has_net, 0);

	/* an IPv6 allocation, host bits in the prefix */
	assert_int_equal(parse_str("Net 2001:db8::/32 is UCEPROTECT-Level2 listed because 9 "
	    "abusers are hosted by V6/AS64502 there.", &t), 1);
	check_net(&t, "2001:db8::/32");
	assert_int_equal(parse_str("Net 10.1.2.3/8 is UCEPROTECT-Level2 listed", &t), 1);
	check_net(&t, "10.0.0.0/8");

	/* not Level 2 or 3 */
	assert_int_equal(parse_str("IP 192.0.2.1 is UCEPROTECT-Level1 listed. See: ...", &t), 0);
	check_empty(&t);
	assert_int_equal(parse_str("Net 10.0.0.0/8 is UCEPROTECT-Level23 listed because 5", &t),
	    0);
	check_empty(&t);
	assert_int_equal(parse_str("Listed by Spamhaus SBL: https://check.spamhaus.org/", &t), 0);
	check_empty(&t);
	assert_int_equal(parse("", 0, &t), 0);
	check_empty(&t);
	assert_int_equal(dnsbl_txt_parse(NULL, 0, &t), 0);
	check_empty(&t);
}

/* Every cut of a real text: no crash, no read past the cut, and what is there is right. */
static void
cuts(const char *full, int level)
{
	struct dnsbl_txt_info t;
	size_t len, n = strlen(full);
	const char *m = strstr(full, "UCEPROTECT-Level");
	int r;

	for (len = 0; len <= n; len++) {
		r = parse(full, len, &t);
		if ((size_t)(m - full) + 17 > len) {
			assert_int_equal(r, 0);
			check_empty(&t);
			continue;
		}
		assert_int_equal(r, 1);
		assert_int_equal(t.level, level);
		/* a number is either whole or absent, never a cut one */
		assert_true(t.abusers == -1 || t.abusers == (level == 2 ? 231 : 55146));
		assert_true(t.asn == 0 || t.asn == 9829);
		if (level == 2)
			assert_true(t.has_net);
	}
}

static void
test_cuts(void **state)
{
	(void)state;
	cuts(L2, 2);
	cuts(L3, 3);
}

static void
test_hostile(void **state)
{
	struct dnsbl_txt_info t;
	char big[2000], *p;
	size_t i;

	(void)state;
	/* control characters and an escape sequence in the holder come out escaped */
	assert_int_equal(parse_str("Net 10.0.0.0/8 is UCEPROTECT-Level2 listed because 1 abusers"
	    " are hosted by \x1b[31mRed\x07\\Corp/AS5 there.", &t), 1);
	assert_string_equal(t.holder, "\\x1b[31mRed\\x07\\\\Corp");
	assert_int_equal(t.asn, 5);

	/* NUL bytes inside: the text goes on past them */
	{
		static const char nul[] = "Net 10.0.0.0/8 is UCEPROTECT-Level2 listed because 42 "
		    "abusers are hosted by A\0B/AS7 there.";

		assert_int_equal(parse(nul, sizeof nul - 1, &t), 1);
		assert_int_equal(t.abusers, 42);
		assert_int_equal(t.asn, 7);
		assert_string_equal(t.holder, "A\\x00B");
	}

	/* numbers too big for their fields */
	assert_int_equal(parse_str("Net 10.0.0.0/8 is UCEPROTECT-Level2 listed because "
	    "99999999999999999999999 abusers are hosted by X/AS4294967296 there.", &t), 1);
	assert_int_equal(t.abusers, -1);
	assert_int_equal(t.asn, 0);
	assert_string_equal(t.holder, "X");
	assert_int_equal(parse_str("Your ISP X/AS4294967295 is UCEPROTECT-Level3 listed for "
	    "hosting a total of 999999999999999999 abusers.", &t), 1);
	assert_int_equal(t.asn, 4294967295u);
	assert_int_equal(t.abusers, 999999999999999999L);
	assert_int_equal(parse_str("Your ISP X/AS0 is UCEPROTECT-Level3 listed", &t), 1);
	assert_int_equal(t.asn, 0);

	/* bad prefixes */
	assert_int_equal(parse_str("Net 999.1.1.0/24 is UCEPROTECT-Level2 listed", &t), 1);
	assert_int_equal(t.has_net, 0);
	assert_int_equal(parse_str("Net 10.0.0.0/99 is UCEPROTECT-Level2 listed", &t), 1);
	assert_int_equal(t.has_net, 0);
	assert_int_equal(parse_str("Net  is UCEPROTECT-Level2 listed", &t), 1);
	assert_int_equal(t.has_net, 0);
	memset(big, '1', sizeof big);
	memcpy(big, "Net ", 4);
	memcpy(big + sizeof big - 30, " is UCEPROTECT-Level2 listed", 28);
	assert_int_equal(parse(big, sizeof big - 2, &t), 1);
	assert_int_equal(t.has_net, 0);

	/* a holder longer than its field is cut and stays a string */
	{
		static const char head[] = "Your ISP ", tail[] = "/AS64500 is UCEPROTECT-Level3 "
		    "listed for hosting a total of 3 abusers.";

		p = big;
		memcpy(p, head, sizeof head - 1);
		p += sizeof head - 1;
		for (i = 0; i < 300; i++)
			*p++ = (char)('a' + i % 26);
		memcpy(p, tail, sizeof tail - 1);
		p += sizeof tail - 1;
	}
	assert_int_equal(parse(big, (size_t)(p - big), &t), 1);
	assert_int_equal(strlen(t.holder), sizeof t.holder - 1);
	assert_int_equal(t.asn, 64500);
	assert_int_equal(t.abusers, 3);

	/* markers with nothing around them */
	assert_int_equal(parse_str("UCEPROTECT-Level2", &t), 1);
	assert_int_equal(t.level, 2);
	assert_int_equal(t.has_net, 0);
	assert_int_equal(t.abusers, -1);
	assert_int_equal(parse_str("UCEPROTECT-Level3 because hosted by total of /AS", &t), 1);
	assert_int_equal(t.level, 3);
	assert_int_equal(parse_str("/AS", &t), 0);
	assert_int_equal(parse_str("hosted by /AS1 there UCEPROTECT-Level2 hosted by", &t), 1);
}

/* Random soup of the words the parser looks for, and random bytes. */
static void
test_soup(void **state)
{
	static const char *const words[] = { "Net ", "10.0.0.0/8", " is ", "UCEPROTECT-Level2",
	    "UCEPROTECT-Level3", "UCEPROTECT Level", " listed because ", "231", " abusers",
	    " are hosted by ", "/AS", "9829", " there", "Your ISP ", "total of ", " ", "/",
	    "2001:db8::/32", "\x1b", "\xff", "\0" };
	struct dnsbl_txt_info t;
	uint64_t x = 88172645463325252ULL;
	char buf[400];
	size_t len, n, i, k;

	(void)state;
	for (i = 0; i < 100000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		n = (size_t)(x % 16);
		for (len = 0, k = 0; k < n; k++) {
			const char *w = words[(x >> (4 * k % 60)) % (sizeof words / sizeof words[0])];
			size_t wl = w[0] == '\0' ? 1 : strlen(w);

			if ((x >> (3 * k % 61)) % 5 == 0 && len < sizeof buf) {
				buf[len++] = (char)(x >> (7 * k % 57));
				continue;
			}
			if (len + wl > sizeof buf)
				break;
			memcpy(buf + len, w, wl);
			len += wl;
		}
		if (parse(buf, len, &t) == 1)
			assert_true(t.level == 2 || t.level == 3);
		else
			assert_int_equal(t.level, 0);
		assert_true(strlen(t.holder) < sizeof t.holder);
		assert_true(t.abusers >= -1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_examples),
		cmocka_unit_test(test_variants),
		cmocka_unit_test(test_cuts),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_soup),
	};

	return cmocka_run_group_tests_name("dnsbl_txt", tests, NULL, NULL);
}
