/*
 * test_prefixes.c — unit tests of prefixes.txt loading: the accepted syntax (comments, AS
 * prefixes, CRLF, alloc), announced vs alloc lookups with nesting in both families, the
 * range of an IP, and every error with its exact FILE:LINE text. Input files are written
 * into a fresh mkdtemp() folder per test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "addr.h"
#include "prefixes.h"
#include "testaddr.h"
#include "testfiles.h"

static int
setup(void **state)
{
	return testfile_setup(state, "prefixes", "prefixes.txt");
}

static const char *
fmt(const struct rw_cidr *c)
{
	static char buf[4][CIDR_STRLEN];
	static int n;

	n = (n + 1) % 4;
	return cidr_format(c, buf[n], sizeof buf[n]);
}

static const char *
announced(const struct prefixes *p, const char *ip)
{
	struct rw_addr a = A(ip);
	const struct prefix *pf = prefixes_announced(p, &a);

	return pf ? fmt(&pf->cidr) : "none";
}

static const char *
alloc_of(const struct prefixes *p, const char *ip)
{
	struct rw_addr a = A(ip);
	const struct prefix *pf = prefixes_alloc(p, &a);

	return pf ? fmt(&pf->cidr) : "none";
}

static const char *
range(const struct prefixes *p, const char *ip)
{
	struct rw_addr a = A(ip);
	struct rw_cidr c;

	prefixes_range(p, &a, &c);
	return fmt(&c);
}

static uint32_t
asn(const struct prefixes *p, const char *ip)
{
	struct rw_addr a = A(ip);

	return prefixes_asn(p, &a);
}

static void
test_load_and_lookup(void **state)
{
	struct testfile *fx = *state;
	struct prefixes *p = NULL;
	const struct prefix *pf;
	char err[512] = "";

	write_file(fx->path,
	    "# provider space\n"
	    "\n"
	    "10.0.0.0/16 AS64500\n"
	    "10.0.7.0/24\tas64501   # a customer's own ASN\n"
	    "10.0.7.128/25 64502\r\n"
	    "10.0.7.200/32 64503\n"
	    "   \t  \n"
	    "10.0.7.0/28 AS64500 alloc\n"
	    "10.0.8.0/22 64500 ALLOC\n"
	    "10.0.7.0/24 64500 alloc   # both announced and an allocation\n"
	    "2001:db8::/32 AS64500\n"
	    "2001:db8:1::/48 AS4200000000\n"
	    "2001:db8:1:2::/64 64500 alloc\n"
	    "2001:db8:1:2::9 64510", 0);
	if (prefixes_load(fx->path, &p, err, sizeof err) != 0)
		fail_msg("prefixes_load: %s", err);
	assert_int_equal(prefixes_count(p), 11);

	pf = prefixes_get(p, 1);
	assert_non_null(pf);
	assert_string_equal(fmt(&pf->cidr), "10.0.7.0/24");
	assert_int_equal(pf->asn, 64501);
	assert_int_equal(pf->alloc, 0);
	assert_int_equal(pf->line, 4);
	pf = prefixes_get(p, 4);
	assert_string_equal(fmt(&pf->cidr), "10.0.7.0/28");
	assert_int_equal(pf->alloc, 1);
	assert_int_equal(pf->line, 8);
	assert_null(prefixes_get(p, 11));

	/* announced: most specific, v4 */
	assert_string_equal(announced(p, "9.255.255.255"), "none");
	assert_string_equal(announced(p, "10.0.0.0"), "10.0.0.0/16");
	assert_string_equal(announced(p, "10.0.6.255"), "10.0.0.0/16");
	assert_string_equal(announced(p, "10.0.7.0"), "10.0.7.0/24");
	assert_string_equal(announced(p, "10.0.7.127"), "10.0.7.0/24");
	assert_string_equal(announced(p, "10.0.7.128"), "10.0.7.128/25");
	assert_string_equal(announced(p, "10.0.7.199"), "10.0.7.128/25");
	assert_string_equal(announced(p, "10.0.7.200"), "10.0.7.200/32");
	assert_string_equal(announced(p, "10.0.7.201"), "10.0.7.128/25");
	assert_string_equal(announced(p, "10.0.7.255"), "10.0.7.128/25");
	assert_string_equal(announced(p, "10.0.8.0"), "10.0.0.0/16");
	assert_string_equal(announced(p, "10.0.255.255"), "10.0.0.0/16");
	assert_string_equal(announced(p, "10.1.0.0"), "none");
	/* v6 */
	assert_string_equal(announced(p, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"), "none");
	assert_string_equal(announced(p, "2001:db8::1"), "2001:db8::/32");
	assert_string_equal(announced(p, "2001:db8:1:2::8"), "2001:db8:1::/48");
	assert_string_equal(announced(p, "2001:db8:1:2::9"), "2001:db8:1:2::9/128");
	assert_string_equal(announced(p, "2001:db8:1:ffff:ffff:ffff:ffff:ffff"),
	    "2001:db8:1::/48");
	assert_string_equal(announced(p, "2001:db8:2::"), "2001:db8::/32");
	assert_string_equal(announced(p, "2001:db9::"), "none");

	/* ASN of the most specific announced prefix, 0 outside */
	assert_int_equal(asn(p, "10.0.0.1"), 64500);
	assert_int_equal(asn(p, "10.0.7.1"), 64501);
	assert_int_equal(asn(p, "10.0.7.129"), 64502);
	assert_int_equal(asn(p, "10.0.7.200"), 64503);
	assert_int_equal(asn(p, "2001:db8:1::1"), 4200000000u);
	assert_int_equal(asn(p, "2001:db8:1:2::9"), 64510);
	assert_int_equal(asn(p, "192.0.2.1"), 0);

	/* alloc blocks: most specific alloc, independent of announcements */
	assert_string_equal(alloc_of(p, "10.0.7.15"), "10.0.7.0/28");
	assert_string_equal(alloc_of(p, "10.0.7.16"), "10.0.7.0/24");
	assert_string_equal(alloc_of(p, "10.0.6.255"), "none");
	assert_string_equal(alloc_of(p, "10.0.8.0"), "10.0.8.0/22");
	assert_string_equal(alloc_of(p, "10.0.11.255"), "10.0.8.0/22");
	assert_string_equal(alloc_of(p, "10.0.12.0"), "none");

	/* range: alloc block when there is one, else /24 or /48 */
	assert_string_equal(range(p, "10.0.7.3"), "10.0.7.0/28");
	assert_string_equal(range(p, "10.0.7.200"), "10.0.7.0/24");
	assert_string_equal(range(p, "10.0.9.77"), "10.0.8.0/22");
	assert_string_equal(range(p, "10.0.12.77"), "10.0.12.0/24");
	assert_string_equal(range(p, "192.0.2.99"), "192.0.2.0/24");	/* not ours */
	assert_string_equal(range(p, "2001:db8:1:2::77"), "2001:db8:1:2::/64");
	assert_string_equal(range(p, "2001:db8:1:3::77"), "2001:db8:1::/48");
	assert_string_equal(range(p, "2001:db8:5:6::77"), "2001:db8:5::/48");
	prefixes_free(p);
}

static void
test_empty(void **state)
{
	struct testfile *fx = *state;
	struct prefixes *p;
	char err[256];

	p = prefixes_new_empty();
	assert_non_null(p);
	assert_int_equal(prefixes_count(p), 0);
	assert_string_equal(announced(p, "192.0.2.1"), "none");
	assert_string_equal(range(p, "192.0.2.1"), "192.0.2.0/24");
	assert_int_equal(asn(p, "192.0.2.1"), 0);
	prefixes_free(p);
	prefixes_free(NULL);

	/* a file of comments only is an empty set, not an error */
	write_file(fx->path, "# nothing yet\n\n", 0);
	assert_int_equal(prefixes_load(fx->path, &p, err, sizeof err), 0);
	assert_int_equal(prefixes_count(p), 0);
	prefixes_free(p);
	write_file(fx->path, "", 0);		/* a zero-length file */
	assert_int_equal(prefixes_load(fx->path, &p, err, sizeof err), 0);
	assert_int_equal(prefixes_count(p), 0);
	prefixes_free(p);
}

/* Loads text and expects an error whose text is want with FILE replaced by the path. */
static void
expect_error(struct testfile *fx, const char *text, size_t len, const char *want)
{
	struct prefixes *p = (struct prefixes *)1;
	char err[512] = "", full[512];

	write_file(fx->path, text, len);
	snprintf(full, sizeof full, "%s%s", fx->path, want);
	assert_int_equal(prefixes_load(fx->path, &p, err, sizeof err), -1);
	assert_null(p);
	assert_string_equal(err, full);
}

static void
test_errors(void **state)
{
	struct testfile *fx = *state;
	static char longline[5000];
	struct prefixes *p;
	char err[512], want[512], missing[256];

	expect_error(fx, "10.0.0.0/8 64500\n10.0.0.0/33 64500\n", 0,
	    ":2: bad CIDR '10.0.0.0/33'");
	expect_error(fx, "# x\n\n10.0.0.1/8 64500\n", 0,
	    ":3: host bits set in '10.0.0.1/8' (did you mean 10.0.0.0/8?)");
	expect_error(fx, "2001:db8::1/32 64500\n", 0,
	    ":1: host bits set in '2001:db8::1/32' (did you mean 2001:db8::/32?)");
	expect_error(fx, "banana 64500\n", 0, ":1: bad CIDR 'banana'");
	expect_error(fx, "10.0.0.0/8\n", 0, ":1: missing ASN after 10.0.0.0/8");
	expect_error(fx, "10.0.0.0/8 # 64500\n", 0, ":1: missing ASN after 10.0.0.0/8");
	expect_error(fx, "10.0.0.0/8 ASX\n", 0,
	    ":1: bad ASN 'ASX' (expected 64500 or AS64500)");
	expect_error(fx, "10.0.0.0/8 AS\n", 0, ":1: bad ASN 'AS' (expected 64500 or AS64500)");
	expect_error(fx, "10.0.0.0/8 0\n", 0, ":1: bad ASN '0' (expected 64500 or AS64500)");
	expect_error(fx, "10.0.0.0/8 4294967296\n", 0,
	    ":1: bad ASN '4294967296' (expected 64500 or AS64500)");
	expect_error(fx, "10.0.0.0/8 -5\n", 0, ":1: bad ASN '-5' (expected 64500 or AS64500)");
	expect_error(fx, "10.0.0.0/8 64500 alocated\n", 0,
	    ":1: unknown word 'alocated' (expected 'alloc' or nothing after the ASN)");
	expect_error(fx, "10.0.0.0/8 64500 alloc extra\n", 0,
	    ":1: unknown word 'extra' (expected 'alloc' or nothing after the ASN)");
	expect_error(fx, "10.0.0.0/8 64500 \x1b[31m\n", 0,
	    ":1: unknown word '\\x1b[31m' (expected 'alloc' or nothing after the ASN)");
	/* duplicates: the later line is named, with the first */
	expect_error(fx,
	    "10.0.0.0/8 64500\n"
	    "192.0.2.0/24 64500\n"
	    "# comment\n"
	    "10.0.0.0/8 64501\n"
	    "192.0.2.0/24 64500\n", 0,
	    ":4: duplicate prefix 10.0.0.0/8 (first at line 1)");
	expect_error(fx,
	    "2001:db8::/32 64500\n"
	    "2001:db8::/32 64500 alloc\n"	/* fine: another kind */
	    "2001:DB8:0::/32 64500\n", 0,
	    ":3: duplicate prefix 2001:db8::/32 (first at line 1)");
	expect_error(fx,
	    "10.0.0.0/8 64500\n"
	    "10.0.0.0/28 64500 alloc\n"
	    "10.0.0.0/28 64500 alloc\n", 0,
	    ":3: duplicate alloc block 10.0.0.0/28 (first at line 2)");
	{
		static const char nul[] = "10.0.0.0/8 64500\n10.1.0.0/16 64500\0\n";

		expect_error(fx, nul, sizeof nul - 1, ":2: NUL byte");
	}
	memset(longline, ' ', sizeof longline - 1);
	expect_error(fx, longline, 0, ":1: line longer than 4096 bytes");

	snprintf(want, sizeof want, "%s/nonexistent: No such file or directory", fx->dir);
	snprintf(missing, sizeof missing, "%s/nonexistent", fx->dir);
	assert_int_equal(prefixes_load(missing, &p, err, sizeof err), -1);
	assert_string_equal(err, want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_load_and_lookup, setup, testfile_teardown),
		cmocka_unit_test_setup_teardown(test_empty, setup, testfile_teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, testfile_teardown),
	};

	return cmocka_run_group_tests_name("prefixes", tests, NULL, NULL);
}
