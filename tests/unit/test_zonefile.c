/*
 * test_zonefile.c — unit tests of rbldnsd-format data files: every syntax element (comments,
 * specials, default values, per-entry values, abbreviated prefixes, CIDRs, ranges, IPv6
 * entries, exclusions), "$" substitution, precedence (nesting, exclusions, the same prefix
 * twice), every error with its exact FILE:LINE, refresh (unchanged, changed, broken new
 * file keeps the old data, missing file), and a generated file of 100,000 entries checked
 * IP by IP against a brute-force scan of the entries. The expected answers were checked
 * against rbldnsd 1.0~20210120 serving the same files.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testfiles.h"
#include "zonefile.h"

struct fixture {
	char dir[64];
	char path[128];		/* dir/zone */
	char tmp[128];		/* dir/zone.tmp, renamed over path */
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);

	if (fx == NULL || testdir_make(fx->dir, sizeof fx->dir, "zonefile") == -1)
		return -1;
	snprintf(fx->path, sizeof fx->path, "%s/zone", fx->dir);
	snprintf(fx->tmp, sizeof fx->tmp, "%s/zone.tmp", fx->dir);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	testdir_remove(fx->dir);	/* also path when a test made it a directory */
	free(fx);
	return 0;
}

/* Replaces the zone file the way rsync and the man page say: a new file renamed over it. */
static void
replace_file(struct fixture *fx, const char *text)
{
	write_file(fx->tmp, text, 0);
	assert_int_equal(rename(fx->tmp, fx->path), 0);
}

static struct zonefile *
load(struct fixture *fx, const char *text)
{
	struct zonefile *z = NULL;
	char err[512] = "";

	write_file(fx->path, text, 0);
	if (zonefile_load(fx->path, &z, err, sizeof err) != 0)
		fail_msg("zonefile_load: %s", err);
	assert_non_null(z);
	return z;
}

/* Loads text (len 0: strlen) and expects exactly "PATH" + want. */
static void
load_fails(struct fixture *fx, const char *text, size_t len, const char *want)
{
	struct zonefile *z = (struct zonefile *)1;
	char err[512] = "", full[512];

	write_file(fx->path, text, len);
	snprintf(full, sizeof full, "%s%s", fx->path, want);
	if (zonefile_load(fx->path, &z, err, sizeof err) == 0)
		fail_msg("loaded, expected: %s\n--- input:\n%s", want, text);
	assert_null(z);
	if (strcmp(err, full) != 0)
		fail_msg("error\n  got:  %s\n  want: %s\n--- input:\n%s", err, full, text);
}

/* Looks ip up: want_a NULL means not listed; want_txt NULL means "don't care". */
static void
check(const struct zonefile *z, const char *ip, const char *want_a, const char *want_txt)
{
	struct rw_addr a;
	uint32_t code = 0;
	char txt[512], got[20];
	int r;

	if (addr_parse(ip, &a) != 0)
		fail_msg("bad test address %s", ip);
	memset(txt, 'X', sizeof txt);
	r = zonefile_lookup(z, &a, &code, txt, sizeof txt);
	if (want_a == NULL) {
		if (r != 0)
			fail_msg("%s: listed, expected not listed", ip);
		assert_string_equal(txt, "");
		return;
	}
	if (r != 1)
		fail_msg("%s: not listed, expected %s", ip, want_a);
	snprintf(got, sizeof got, "%u.%u.%u.%u", code >> 24, (code >> 16) & 255,
	    (code >> 8) & 255, code & 255);
	if (strcmp(got, want_a) != 0)
		fail_msg("%s: A %s, expected %s", ip, got, want_a);
	if (want_txt != NULL && strcmp(txt, want_txt) != 0)
		fail_msg("%s: TXT '%s', expected '%s'", ip, txt, want_txt);
}

static void
test_ip4_syntax(void **state)
{
	struct fixture *fx = *state;
	struct zonefile *z = load(fx,
	    "\xef\xbb\xbf# a comment\n"
	    "; another comment\n"
	    "\n"
	    "$SOA 0 ns.test. hostmaster.test. 0 1h 1h 1d 1m\n"
	    "$NS 1d ns.test.\n"
	    "$TTL 60\n"
	    "$TIMESTAMP 2024:01:01\n"
	    "$MAXRANGE4 /8\n"
	    "#$Id: dnsbl-1.zone,v 1.2 $\n"
	    "$DATASET ip4set other @\n"
	    "10.0.0.1\n"					/* before any default */
	    ":127.0.0.2:Listed $\n"
	    "10.0.0.2\n"
	    "10.0.1\n"						/* 10.0.1.0/24 */
	    "10.2\n"						/* 10.2.0.0/16 */
	    "12/8\n"
	    "10.3.0.0/16 :3:range $ here\n"
	    "10.4.0.0-10.4.1.255\n"
	    "10.5.0.1-9\n"					/* 10.5.0.1-10.5.0.9 */
	    "10.6-10.7\n"					/* 10.6.0.0-10.7.255.255 */
	    "10.8.0-10.8.3.255\n"				/* the man page's mixed form */
	    "10.9.0.0 :5\n"					/* A, default TXT */
	    "10.9.0.1 :6:\n"					/* A, no TXT */
	    "10.9.0.2 bare text $\n"				/* default A, TXT */
	    "10.9.0.3:7:nospace\n"
	    "10.9.0.4 # comment\n"
	    "10.9.0.5 ;comment\n"
	    "10.9.0.6 :127.0.0.9:full A\n"
	    "10.9.0.7 :1.2.3:short A\n"				/* inet_aton: 1.2.0.3 */
	    "   10.9.0.8   :8:  indented, spaced   \n"
	    "10.9.0.9\r\n"
	    "10.9.0.10 :127.0.0.10 :  blanks around\n"
	    "10.9.0.11 :11\n"
	    "10.9.1.0/24 :127.0.0.2:\n");

	check(z, "10.0.0.1", "127.0.0.2", "");
	check(z, "10.0.0.2", "127.0.0.2", "Listed 10.0.0.2");
	check(z, "10.0.0.3", NULL, NULL);
	check(z, "10.0.1.0", "127.0.0.2", "Listed 10.0.1.0");
	check(z, "10.0.1.255", "127.0.0.2", "Listed 10.0.1.255");
	check(z, "10.0.2.0", NULL, NULL);
	check(z, "10.2.200.7", "127.0.0.2", "Listed 10.2.200.7");
	check(z, "12.1.2.3", "127.0.0.2", NULL);
	check(z, "13.0.0.0", NULL, NULL);
	check(z, "10.3.4.5", "127.0.0.3", "range 10.3.4.5 here");
	check(z, "10.4.1.255", "127.0.0.2", NULL);
	check(z, "10.4.2.0", NULL, NULL);
	check(z, "10.5.0.0", NULL, NULL);
	check(z, "10.5.0.1", "127.0.0.2", NULL);
	check(z, "10.5.0.9", "127.0.0.2", NULL);
	check(z, "10.5.0.10", NULL, NULL);
	check(z, "10.6.0.0", "127.0.0.2", NULL);
	check(z, "10.7.255.255", "127.0.0.2", NULL);
	check(z, "10.8.3.255", "127.0.0.2", NULL);
	check(z, "10.8.4.0", NULL, NULL);
	check(z, "10.9.0.0", "127.0.0.5", "Listed 10.9.0.0");
	check(z, "10.9.0.1", "127.0.0.6", "");
	check(z, "10.9.0.2", "127.0.0.2", "bare text 10.9.0.2");
	check(z, "10.9.0.3", "127.0.0.7", "nospace");
	check(z, "10.9.0.4", "127.0.0.2", "Listed 10.9.0.4");
	check(z, "10.9.0.5", "127.0.0.2", "Listed 10.9.0.5");
	check(z, "10.9.0.6", "127.0.0.9", "full A");
	check(z, "10.9.0.7", "1.2.0.3", "short A");
	check(z, "10.9.0.8", "127.0.0.8", "indented, spaced");
	check(z, "10.9.0.9", "127.0.0.2", "Listed 10.9.0.9");
	check(z, "10.9.0.10", "127.0.0.10", "blanks around");
	check(z, "10.9.0.11", "127.0.0.11", "Listed 10.9.0.11");
	check(z, "10.9.1.77", "127.0.0.2", "");
	check(z, "2001:db8::1", NULL, NULL);
	/* 10.4.0.0/23, 10.5.0.1-9 = 4 CIDRs, 10.6.0.0/15, 10.8.0.0/22 */
	assert_int_equal(zonefile_count(z), 26);
	zonefile_free(z);
	zonefile_free(NULL);
}

static void
test_default_values(void **state)
{
	struct fixture *fx = *state;
	struct zonefile *z = load(fx,
	    "1.0.0.1\n"
	    "1.0.0.2 :5\n"
	    ":3:first $\n"
	    "1.0.0.3\n"
	    "1.0.0.4 :5\n"
	    "1.0.0.5 own\n"
	    ":4\n"				/* a default A alone: no TXT */
	    "1.0.0.6\n"
	    "1.0.0.7 :5\n"
	    "1.0.0.8 own\n"
	    ":127.0.0.20:\n"
	    "1.0.0.9\n");

	check(z, "1.0.0.1", "127.0.0.2", "");
	check(z, "1.0.0.2", "127.0.0.5", "");
	check(z, "1.0.0.3", "127.0.0.3", "first 1.0.0.3");
	check(z, "1.0.0.4", "127.0.0.5", "first 1.0.0.4");
	check(z, "1.0.0.5", "127.0.0.3", "own");
	check(z, "1.0.0.6", "127.0.0.4", "");
	check(z, "1.0.0.7", "127.0.0.5", "");
	check(z, "1.0.0.8", "127.0.0.4", "own");
	check(z, "1.0.0.9", "127.0.0.20", "");
	zonefile_free(z);
}

static void
test_precedence(void **state)
{
	struct fixture *fx = *state;
	struct zonefile *z = load(fx,
	    "10.0.0.0/8 :2:wide\n"
	    "10.1.0.0/16 :3:narrow\n"
	    "!10.1.2.0/24\n"
	    "10.1.2.3 :4:inside the exclusion\n"
	    "20.0.0.0/8 :2:first\n"
	    "20.0.0.0/8 :3:second\n"
	    "21.0.0.0/8 :2:listed then excluded\n"
	    "!21.0.0.0/8\n"
	    "! 22.0.0.0/8\n"
	    "22.0.0.0/8 :2:excluded then listed\n"
	    "23.0.0.1\n"
	    "23.0.0.1\n"
	    "24.0.0.0-24.0.0.9 :3:range\n"
	    "24.0.0.4 :4:single\n"
	    "!25.0.0.1\n"
	    "26.0.0.0/24 :2:a\n"
	    "26.0.0 :3:the same /24 written shorter\n"
	    "!27.0.0.0/8 :9:value of an exclusion is ignored\n");

	check(z, "10.2.3.4", "127.0.0.2", "wide");
	check(z, "10.1.1.1", "127.0.0.3", "narrow");
	check(z, "10.1.2.2", NULL, NULL);
	check(z, "10.1.2.3", "127.0.0.4", "inside the exclusion");
	check(z, "10.1.3.0", "127.0.0.3", "narrow");
	check(z, "20.5.5.5", "127.0.0.2", "first");
	check(z, "21.5.5.5", NULL, NULL);
	check(z, "22.5.5.5", NULL, NULL);
	check(z, "23.0.0.1", "127.0.0.2", "");
	check(z, "24.0.0.3", "127.0.0.3", "range");
	check(z, "24.0.0.4", "127.0.0.4", "single");
	check(z, "24.0.0.5", "127.0.0.3", "range");
	check(z, "24.0.0.10", NULL, NULL);
	check(z, "25.0.0.1", NULL, NULL);
	check(z, "26.0.0.9", "127.0.0.2", "a");
	check(z, "27.0.0.1", NULL, NULL);
	/* 10/8 10.1/16 10.1.2/24 10.1.2.3 20/8 21/8 22/8 23.0.0.1, 24.0.0.0-9 as /29 + /31,
	 * 24.0.0.4, 25.0.0.1, 26.0.0/24, 27/8 */
	assert_int_equal(zonefile_count(z), 14);
	zonefile_free(z);
}

static void
test_ranges(void **state)
{
	struct fixture *fx = *state;
	struct zonefile *z = load(fx,
	    "10.0.0.1-10.0.0.6\n"			/* .1/32 .2/31 .4/31 .6/32 */
	    "255.255.255.0-255.255.255.255\n"
	    "0.0.0.0-0.0.0.0\n"
	    "11.0.0.255-11.0.1.0\n"
	    "12.0.0.0-12.255.255.255\n"
	    "13.1.2.3-13.1.2.3\n");

	check(z, "10.0.0.0", NULL, NULL);
	check(z, "10.0.0.1", "127.0.0.2", NULL);
	check(z, "10.0.0.6", "127.0.0.2", NULL);
	check(z, "10.0.0.7", NULL, NULL);
	check(z, "255.255.255.255", "127.0.0.2", NULL);
	check(z, "255.255.254.255", NULL, NULL);
	check(z, "0.0.0.0", "127.0.0.2", NULL);
	check(z, "0.0.0.1", NULL, NULL);
	check(z, "11.0.0.254", NULL, NULL);
	check(z, "11.0.0.255", "127.0.0.2", NULL);
	check(z, "11.0.1.0", "127.0.0.2", NULL);
	check(z, "11.0.1.1", NULL, NULL);
	check(z, "12.128.0.1", "127.0.0.2", NULL);
	check(z, "13.1.2.3", "127.0.0.2", NULL);
	check(z, "13.1.2.4", NULL, NULL);
	assert_int_equal(zonefile_count(z), 4 + 1 + 1 + 2 + 1 + 1);
	zonefile_free(z);

	/* the whole space */
	z = load(fx, "0.0.0.0-255.255.255.255 :3:all\n!192.0.2.1\n");
	check(z, "1.2.3.4", "127.0.0.3", "all");
	check(z, "255.255.255.255", "127.0.0.3", "all");
	check(z, "192.0.2.1", NULL, NULL);
	check(z, "2001:db8::1", NULL, NULL);	/* IPv6 is another table */
	assert_int_equal(zonefile_count(z), 2);
	zonefile_free(z);
}

static void
test_ipv6(void **state)
{
	struct fixture *fx = *state;
	struct zonefile *z = load(fx,
	    "# the example of rbldnsd(8), ip6trie\n"
	    ":127.0.1.2: Listed, see http://example.com/lookup?$\n"
	    "2001:21ab:c000/36\n"
	    "2001:21ab:def7:4242 :127.0.1.3: This one smells funny\n"
	    "2605:6001:42::/52\n"
	    "::1\t\t       # localhost\n"
	    "!2605:6001:42::bead   # exclusion\n"
	    "2001:db8:9\n"
	    "2001:DB8:1:2:3:4:5:6 :4:full\n"
	    "::/0 :9:all of IPv6\n"
	    "::ffff:192.0.2.1 :5:IPv4 written as IPv6\n"
	    "198.51.100.7 :6:IPv4 beside IPv6\n"
	    "3ffe/16 :7:one group with a length\n");

	check(z, "2001:21ab:c000::5", "127.0.1.2",
	    "Listed, see http://example.com/lookup?2001:21ab:c000::5");
	check(z, "2001:21ab:cfff:ffff::1", "127.0.1.2", NULL);
	check(z, "2001:21ab:def7:4242::1", "127.0.1.3", "This one smells funny");
	check(z, "2605:6001:42::bead", NULL, NULL);	/* the /128 exclusion beats ::/0 too */
	check(z, "2605:6001:42::beae", "127.0.1.2",
	    "Listed, see http://example.com/lookup?2605:6001:42::beae");
	check(z, "::1", "127.0.1.2", "Listed, see http://example.com/lookup?::1");
	check(z, "2001:db8:9::1", "127.0.1.2", NULL);
	check(z, "2001:db8:1:2:3:4:5:6", "127.0.0.4", "full");
	check(z, "2001:db8:1:2:3:4:5:7", "127.0.0.9", NULL);
	check(z, "192.0.2.1", "127.0.0.5", "IPv4 written as IPv6");
	check(z, "198.51.100.7", "127.0.0.6", "IPv4 beside IPv6");
	check(z, "8.8.8.8", NULL, NULL);	/* ::/0 is IPv6 only */
	check(z, "3ffe:1::1", "127.0.0.7", "one group with a length");
	assert_int_equal(zonefile_count(z), 11);
	zonefile_free(z);

	/* an IPv6 line needs a blank before its value; an exclusion with text */
	z = load(fx, "2605:6001:42::/52\t:3:x\n!2605:6001:42::bead :4:ignored\n");
	check(z, "2605:6001:42::bead", NULL, NULL);
	check(z, "2605:6001:42::beaf", "127.0.0.3", "x");
	zonefile_free(z);
}

static void
test_dollar(void **state)
{
	struct fixture *fx = *state;
	struct zonefile *z = load(fx,
	    "$1 See http://www.example.com/bl\n"
	    "$1 a second definition is ignored\n"
	    "$2 for details\n"
	    ":2:$1/$ $2\n"
	    "127.0.0.2\n"
	    "127.0.0.3  =$1/relay/$ $2\n"
	    "127.0.0.4  This spammer wants some $$$$.  $1/$ $a $9 $x\n"
	    "127.0.0.5  ends with $\n"
	    "2001:db8::/32 :3:v6 $ listed\n");
	struct rw_addr a;
	uint32_t code;
	char small[8], big[300], line[400];

	check(z, "127.0.0.2", "127.0.0.2",
	    "See http://www.example.com/bl/127.0.0.2 for details");
	check(z, "127.0.0.3", "127.0.0.2",
	    "See http://www.example.com/bl/relay/127.0.0.3 for details");
	check(z, "127.0.0.4", "127.0.0.2", "This spammer wants some $$.  "
	    "See http://www.example.com/bl/127.0.0.4 127.0.0.4a $9 127.0.0.4x");
	check(z, "127.0.0.5", "127.0.0.2", "ends with 127.0.0.5");
	check(z, "2001:db8:ab::cd", "127.0.0.3", "v6 2001:db8:ab::cd listed");

	/* cut to the caller's buffer; no buffer at all */
	assert_int_equal(addr_parse("127.0.0.2", &a), 0);
	memset(small, 'X', sizeof small);
	assert_int_equal(zonefile_lookup(z, &a, &code, small, sizeof small), 1);
	assert_string_equal(small, "See htt");
	code = 0;
	assert_int_equal(zonefile_lookup(z, &a, &code, NULL, 0), 1);
	assert_int_equal(code, 0x7f000002);
	zonefile_free(z);

	/* the base template */
	z = load(fx,
	    "$= base [$=] ($)\n"
	    "$1 one\n"
	    "1.2.3.4 text $1\n"
	    "1.2.3.5\n"
	    "1.2.3.6 :6:\n"
	    "1.2.3.7 =own $ $1\n");
	check(z, "1.2.3.4", "127.0.0.2", "base [text $1] (1.2.3.4)");
	check(z, "1.2.3.5", "127.0.0.2", "base [1.2.3.5] (1.2.3.5)");
	check(z, "1.2.3.6", "127.0.0.6", "base [1.2.3.6] (1.2.3.6)");
	check(z, "1.2.3.7", "127.0.0.2", "own 1.2.3.7 one");
	zonefile_free(z);

	/* a template is cut at 255 bytes, as rbldnsd does */
	memset(big, 'a', sizeof big);
	big[sizeof big - 1] = '\0';
	snprintf(line, sizeof line, "1.1.1.1 :2:%s\n", big);
	z = load(fx, line);
	assert_int_equal(addr_parse("1.1.1.1", &a), 0);
	assert_int_equal(zonefile_lookup(z, &a, &code, line, sizeof line), 1);
	assert_int_equal(strlen(line), 255);
	zonefile_free(z);
}

struct big_load {
	const char *path, *want;
};

/* 0 when loading the file fails with the expected error. */
static int
load_big(void *v)
{
	const struct big_load *b = v;
	struct zonefile *z = NULL;
	char err[512] = "", full[512];

	snprintf(full, sizeof full, "%s%s", b->path, b->want);
	if (zonefile_load(b->path, &z, err, sizeof err) == 0) {
		zonefile_free(z);
		return 1;
	}
	return strcmp(err, full) != 0;
}

/* A line of 4 GiB without a newline: refused at once, from its first 4 KiB, never read
 * into memory whole (the child may not hold 1 GiB). */
static void
test_huge_line(void **state)
{
	struct fixture *fx = *state;
	struct big_load b = { fx->path, ":2: line longer than 4095 bytes" };
	char head[5000];

	memset(head, 'a', sizeof head);
	memcpy(head, "1.1.1.1\n2.2.2.2 ", 16);
	head[sizeof head - 1] = '\0';
	write_sparse(fx->path, head, (off_t)4 << 30);
	assert_int_equal(bounded_child(load_big, &b), 0);
	/* its bytes past the head are NULs: a line that is short but holds them says so */
	b.want = ":1: NUL byte";
	write_sparse(fx->path, "1.1.1.1", (off_t)4 << 30);
	assert_int_equal(bounded_child(load_big, &b), 0);
	unlink(fx->path);
}

static void
test_errors(void **state)
{
	struct fixture *fx = *state;
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "1.2.3.400\n", ":1: invalid IPv4 address: '1.2.3.400'" },
		{ "# c\n; c\n\n$SOA x\n1.2.3.4\n1.2.3.4.5\n",
		  ":6: unexpected text after the address: '1.2.3.4.5'" },
		{ "10\n", ":1: a bare number is not an entry (write 10/8 or 10.0.0.0/8): '10'" },
		{ "10 :2:x\n", ":1: a bare number is not an entry (write 10/8 or 10.0.0.0/8): '10'" },
		{ "10.0.0.1/24\n", ":1: host bits set past the prefix length: '10.0.0.1/24'" },
		{ "10.0.0.0/33\n", ":1: invalid prefix length: '10.0.0.0/33'" },
		{ "10.0.0.0/\n", ":1: invalid prefix length: '10.0.0.0/'" },
		{ "10.0.0.9-10.0.0.1\n", ":1: range ends before it starts: '10.0.0.9-10.0.0.1'" },
		{ "10.0.0.9-1\n", ":1: range ends before it starts: '10.0.0.9-1'" },
		{ "10.0.0.1-x\n", ":1: invalid end of range: '10.0.0.1-x'" },
		{ "10.0.0.1x\n", ":1: unexpected text after the address: '10.0.0.1x'" },
		{ "10.0.0.0/8/9\n", ":1: unexpected text after the address: '10.0.0.0/8/9'" },
		{ "1.2.3.4 :0:zero\n", ":1: invalid A value (expected :127.0.0.x: or :x:)" },
		{ "1.2.3.4 :300:x\n", ":1: invalid A value (expected :127.0.0.x: or :x:)" },
		{ "1.2.3.4 :2 junk\n",
		  ":1: unrecognized value (expected :A:TXT, :A:, :A or a TXT)" },
		{ ":x:bad default\n", ":1: invalid A value (expected :127.0.0.x: or :x:)" },
		{ "hello\n", ":1: not an address: 'hello'" },
		{ "!\n", ":1: not an address: ''" },
		{ "dead\n", ":1: not an address: 'dead'" },
		{ "1000\n", ":1: not an address: '1000'" },
		{ "dead/1x\n", ":1: invalid prefix length: 'dead/1x'" },
		{ "dead/4\n", ":1: host bits set past the prefix length: 'dead/4'" },
		{ "a:b:text\n", ":1: invalid IPv6 address: 'a:b:text'" },
		{ "2001:db8::1/129\n", ":1: invalid prefix length: '2001:db8::1/129'" },
		{ "2001:db8::1/64\n",
		  ":1: host bits set past the prefix length: '2001:db8::1/64'" },
		{ "2001:db8:1/16\n",
		  ":1: host bits set past the prefix length: '2001:db8:1/16'" },
		{ "2001:db8:::1\n", ":1: invalid IPv6 address: '2001:db8:::1'" },
		{ "1:2:3:4:5:6:7:8:9\n", ":1: invalid IPv6 address: '1:2:3:4:5:6:7:8:9'" },
		{ "2001:db8:12345::\n", ":1: invalid IPv6 address: '2001:db8:12345::'" },
		{ "2001:db8:1:2:3:4:5:6:text\n",
		  ":1: invalid IPv6 address: '2001:db8:1:2:3:4:5:6:text'" },
	};
	char *text;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		load_fails(fx, cases[i].text, 0, cases[i].want);

	load_fails(fx, "1.2.3.4\n1.2.3.5 a\0b\n", 20, ":2: NUL byte");
	text = malloc(5000);
	assert_non_null(text);
	memset(text, 'a', 5000);
	memcpy(text, "1.1.1.1\n2.2.2.2\n3.3.3.3 ", 24);
	text[4998] = '\n';
	text[4999] = '\0';
	load_fails(fx, text, 0, ":3: line longer than 4095 bytes");
	free(text);
	load_fails(fx, "\x1f\x8b\x08\x00rest", 8,
	    ": gzip-compressed (decompress it, or rsync the plain file)");
	unlink(fx->path);
	{
		struct zonefile *z = (struct zonefile *)1;
		char err[512], want[512];

		assert_int_equal(zonefile_load(fx->path, &z, err, sizeof err), -1);
		assert_null(z);
		snprintf(want, sizeof want, "%s: No such file or directory", fx->path);
		assert_string_equal(err, want);
		assert_int_equal(mkdir(fx->path, 0700), 0);
		assert_int_equal(zonefile_load(fx->path, &z, err, sizeof err), -1);
		snprintf(want, sizeof want, "%s: not a regular file", fx->path);
		assert_string_equal(err, want);
		assert_int_equal(rmdir(fx->path), 0);
	}
}

static void
test_empty(void **state)
{
	struct fixture *fx = *state;
	struct zonefile *z = load(fx, "");

	assert_int_equal(zonefile_count(z), 0);
	check(z, "1.2.3.4", NULL, NULL);
	check(z, "2001:db8::1", NULL, NULL);
	zonefile_free(z);
	z = load(fx, "# only comments\n$SOA 0 a. b. 0 1 1 1 1\n:3:default\n");
	assert_int_equal(zonefile_count(z), 0);
	zonefile_free(z);
	/* no newline at the end */
	z = load(fx, "1.2.3.4 :3:last");
	check(z, "1.2.3.4", "127.0.0.3", "last");
	zonefile_free(z);
}

static void
test_refresh(void **state)
{
	struct fixture *fx = *state;
	struct zonefile *z = load(fx, "10.0.0.1 :2:one\n");
	struct timespec ts[2];
	char err[512], want[512];

	assert_null(zonefile_broken(z));
	assert_int_equal(zonefile_refresh(z, err, sizeof err), 0);
	check(z, "10.0.0.1", "127.0.0.2", "one");

	/* a new file */
	replace_file(fx, "10.0.0.2 :3:two\n");
	assert_int_equal(zonefile_refresh(z, err, sizeof err), 1);
	check(z, "10.0.0.1", NULL, NULL);
	check(z, "10.0.0.2", "127.0.0.3", "two");
	assert_int_equal(zonefile_count(z), 1);
	assert_int_equal(zonefile_refresh(z, err, sizeof err), 0);

	/* a broken new file: reported once, the old data stays */
	replace_file(fx, "10.0.0.3\nbad entry\n");
	err[0] = '\0';
	assert_int_equal(zonefile_refresh(z, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s:2: not an address: 'bad'", fx->path);
	assert_string_equal(err, want);
	assert_non_null(zonefile_broken(z));
	assert_string_equal(zonefile_broken(z), want);
	check(z, "10.0.0.2", "127.0.0.3", "two");
	check(z, "10.0.0.3", NULL, NULL);
	assert_int_equal(zonefile_refresh(z, err, sizeof err), 0);
	assert_string_equal(zonefile_broken(z), want);

	/* the file goes away: reported once, the old data stays */
	assert_int_equal(unlink(fx->path), 0);
	assert_int_equal(zonefile_refresh(z, err, sizeof err), -1);
	snprintf(want, sizeof want, "%s: No such file or directory", fx->path);
	assert_string_equal(err, want);
	assert_string_equal(zonefile_broken(z), want);
	assert_int_equal(zonefile_refresh(z, err, sizeof err), 0);
	check(z, "10.0.0.2", "127.0.0.3", "two");

	/* a good file again */
	replace_file(fx, "10.0.0.4 :4:four\n");
	assert_int_equal(zonefile_refresh(z, err, sizeof err), 1);
	assert_null(zonefile_broken(z));
	check(z, "10.0.0.2", NULL, NULL);
	check(z, "10.0.0.4", "127.0.0.4", "four");

	/* rewritten in place, same size: the mtime tells */
	write_file(fx->path, "10.0.0.5 :5:five\n", 0);
	ts[0].tv_sec = ts[1].tv_sec = 1000000000;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, fx->path, ts, 0), 0);
	assert_int_equal(zonefile_refresh(z, err, sizeof err), 1);
	check(z, "10.0.0.5", "127.0.0.5", "five");
	ts[0].tv_sec = ts[1].tv_sec = 1000000001;
	write_file(fx->path, "10.0.0.6 :6:six!\n", 0);
	assert_int_equal(utimensat(AT_FDCWD, fx->path, ts, 0), 0);
	assert_int_equal(zonefile_refresh(z, err, sizeof err), 1);
	check(z, "10.0.0.6", "127.0.0.6", "six!");
	zonefile_free(z);
}

/* --- a generated file against a brute-force scan --- */

#define GEN_N		100000
#define GEN_QUERIES	3000

struct gen_entry {
	uint32_t net;
	unsigned plen;
	int excl;
	uint32_t a;	/* 127.0.0.x */
};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static uint32_t
mask(unsigned plen)
{
	return plen == 0 ? 0 : UINT32_MAX << (32 - plen);
}

/* The answer the scan finds: the longest prefix holding ip; on that length an exclusion
 * wins, else the first entry. -1 when none holds it. */
static long
brute(const struct gen_entry *e, size_t n, uint32_t ip)
{
	long best = -1;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((ip & mask(e[i].plen)) != e[i].net)
			continue;
		if (best == -1 || e[i].plen > e[best].plen ||
		    (e[i].plen == e[best].plen && e[i].excl && !e[best].excl))
			best = (long)i;
	}
	return best;
}

static int
gen_cmp(const void *va, const void *vb)
{
	const struct gen_entry *a = va, *b = vb;

	if (a->net != b->net)
		return a->net < b->net ? -1 : 1;
	return a->plen < b->plen ? -1 : a->plen > b->plen;
}

/* How many different prefixes e holds. */
static size_t
distinct_prefixes(const struct gen_entry *e, size_t n)
{
	struct gen_entry *c = malloc(n * sizeof *c);
	size_t i, d = 0;

	assert_non_null(c);
	memcpy(c, e, n * sizeof *c);
	qsort(c, n, sizeof *c, gen_cmp);
	for (i = 0; i < n; i++)
		if (i == 0 || c[i].net != c[i - 1].net || c[i].plen != c[i - 1].plen)
			d++;
	free(c);
	return d;
}

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
test_generated(void **state)
{
	struct fixture *fx = *state;
	static const unsigned lens[] = { 32, 32, 32, 32, 32, 32, 31, 30, 29, 28, 24, 24, 24, 22,
	    20, 16 };
	struct gen_entry *e = calloc(GEN_N, sizeof *e);
	struct zonefile *z = NULL;
	struct rw_addr a;
	uint8_t v4[4];
	uint32_t ip, code, net;
	char err[512], txt[128], want[128];
	size_t i, hits = 0, distinct = 0;
	double t0, t1;
	long b;
	FILE *f;
	int r, form;

	assert_non_null(e);
	f = fopen(fx->path, "w");
	assert_non_null(f);
	fprintf(f, "$SOA 0 ns.test. hostmaster.test. 0 1h 1h 1d 1m\n:127.0.0.2:entry $\n");
	for (i = 0; i < GEN_N; i++) {
		/* dense: 100,000 entries in 10.0.0.0/14, so nesting and duplicates are many */
		e[i].plen = lens[rnd() % (sizeof lens / sizeof lens[0])];
		e[i].net = (0x0a000000u | (rnd() & 0x3ffffu)) & mask(e[i].plen);
		e[i].excl = rnd() % 10 == 0;
		e[i].a = 0x7f000000u | (2 + rnd() % 200);
		net = e[i].net;
		form = (int)(rnd() % 4);
		if (e[i].excl)
			fprintf(f, "!");
		if (form == 1 && e[i].plen % 8 == 0 && e[i].plen > 8)	/* abbreviated */
			fprintf(f, e[i].plen == 16 ? "%u.%u" : e[i].plen == 24 ? "%u.%u.%u" :
			    "%u.%u.%u.%u", net >> 24, (net >> 16) & 255, (net >> 8) & 255,
			    net & 255);
		else if (form == 2)	/* a range that is this one CIDR */
			fprintf(f, "%u.%u.%u.%u-%u.%u.%u.%u", net >> 24, (net >> 16) & 255,
			    (net >> 8) & 255, net & 255, (net | ~mask(e[i].plen)) >> 24,
			    ((net | ~mask(e[i].plen)) >> 16) & 255,
			    ((net | ~mask(e[i].plen)) >> 8) & 255, (net | ~mask(e[i].plen)) & 255);
		else
			fprintf(f, "%u.%u.%u.%u/%u", net >> 24, (net >> 16) & 255,
			    (net >> 8) & 255, net & 255, e[i].plen);
		fprintf(f, " :%u:e%zu $\n", e[i].a & 255, i);
	}
	assert_int_equal(fclose(f), 0);

	t0 = now();
	if (zonefile_load(fx->path, &z, err, sizeof err) != 0)
		fail_msg("%s", err);
	t1 = now();
	print_message("    100,000 entries loaded in %.0f ms\n", (t1 - t0) * 1e3);
	distinct = distinct_prefixes(e, GEN_N);
	assert_int_equal(zonefile_count(z), distinct);
	assert_true(distinct < GEN_N);	/* the file did repeat prefixes */

	for (i = 0; i < GEN_QUERIES; i++) {
		/* half inside a random entry, half anywhere in the dense block and around it */
		if (i % 2 == 0) {
			const struct gen_entry *g = &e[rnd() % GEN_N];

			ip = g->net | (rnd() & ~mask(g->plen));
		} else
			ip = 0x09f00000u + (rnd() % 0x01400000u);
		v4[0] = (uint8_t)(ip >> 24);
		v4[1] = (uint8_t)(ip >> 16);
		v4[2] = (uint8_t)(ip >> 8);
		v4[3] = (uint8_t)ip;
		addr_from_v4(&a, v4);
		r = zonefile_lookup(z, &a, &code, txt, sizeof txt);
		b = brute(e, GEN_N, ip);
		if (b == -1 || e[b].excl) {
			if (r != 0)
				fail_msg("%u.%u.%u.%u: listed (%s), the scan says not", v4[0], v4[1],
				    v4[2], v4[3], txt);
			continue;
		}
		hits++;
		snprintf(want, sizeof want, "e%ld %u.%u.%u.%u", b, v4[0], v4[1], v4[2], v4[3]);
		if (r != 1 || code != e[b].a || strcmp(txt, want) != 0)
			fail_msg("%u.%u.%u.%u: got %d %08x '%s', the scan says %08x '%s'", v4[0],
			    v4[1], v4[2], v4[3], r, code, txt, e[b].a, want);
	}
	assert_true(hits > GEN_QUERIES / 4);

	/* a /16 of lookups */
	t0 = now();
	for (i = 0, hits = 0; i < 65536; i++) {
		v4[0] = 10;
		v4[1] = 1;
		v4[2] = (uint8_t)(i >> 8);
		v4[3] = (uint8_t)i;
		addr_from_v4(&a, v4);
		hits += (size_t)zonefile_lookup(z, &a, &code, txt, sizeof txt);
	}
	t1 = now();
	print_message("    a /16 (65,536 lookups, %zu listed) in %.1f ms\n", hits,
	    (t1 - t0) * 1e3);
	assert_true(t1 - t0 < 1.0);	/* generous: sanitizer builds run this too */
	zonefile_free(z);
	free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ip4_syntax, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dollar, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_generated, setup, teardown),
	};

	return cmocka_run_group_tests_name("zonefile", tests, NULL, NULL);
}
