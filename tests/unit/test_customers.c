/*
 * test_customers.c — unit tests of customers.csv loading: RFC 4180 quoting (commas, doubled
 * quotes, newlines inside quotes with line numbers right after them), CRLF, a BOM, blank
 * lines, the longest-prefix lookup across customers (a /32 inside a /29 inside an unassigned
 * /24, IPv4 and IPv6), find by id, tags, and every error with its exact FILE:LINE text.
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
#include "customers.h"
#include "testfiles.h"

#define HDR "id,name,cidrs,contact,tags\n"

static int
setup(void **state)
{
	return testfile_setup(state, "customers", "customers.csv");
}

static struct customers *
load(struct testfile *fx, const char *text)
{
	struct customers *c = NULL;
	char err[512] = "";

	write_file(fx->path, text, 0);
	if (customers_load(fx->path, &c, err, sizeof err) != 0)
		fail_msg("customers_load: %s", err);
	return c;
}

/* The id of the customer holding ip, or "-" when unassigned. */
static const char *
who(const struct customers *c, const char *ip)
{
	struct rw_addr a;
	long i;

	if (addr_parse(ip, &a) == -1)
		fail_msg("bad test address %s", ip);
	i = customers_lookup(c, &a);
	return i < 0 ? "-" : customers_get(c, (size_t)i)->id;
}

static void
test_basic(void **state)
{
	struct testfile *fx = *state;
	struct customers *c;
	const struct customer *cu;
	char buf[CIDR_STRLEN];

	c = load(fx, HDR
	    "4711,Acme VPS,203.0.113.7 203.0.113.9,abuse@acme.example,never_suspend vip\n"
	    "4712,\"Smith, Jones & Co\",198.51.100.16/28,ops@sj.example,\n"
	    "4713,\"The \"\"Best\"\" Host\",2001:db8:42::/48,noc@best.example,reseller\n"
	    "4714,  Spaces  ,  192.0.2.0/29\t192.0.2.64/26  , , \n");
	assert_int_equal(customers_count(c), 4);

	cu = customers_get(c, 0);
	assert_string_equal(cu->id, "4711");
	assert_string_equal(cu->name, "Acme VPS");
	assert_string_equal(cu->contact, "abuse@acme.example");
	assert_int_equal(cu->ncidrs, 2);
	assert_string_equal(cidr_format(&cu->cidrs[0], buf, sizeof buf), "203.0.113.7/32");
	assert_string_equal(cidr_format(&cu->cidrs[1], buf, sizeof buf), "203.0.113.9/32");
	assert_int_equal(cu->ntags, 2);
	assert_string_equal(cu->tags[0], "never_suspend");
	assert_string_equal(cu->tags[1], "vip");
	assert_int_equal(cu->line, 2);
	assert_true(customer_has_tag(cu, "never_suspend"));
	assert_true(customer_has_tag(cu, "NEVER_SUSPEND"));
	assert_false(customer_has_tag(cu, "never"));

	cu = customers_get(c, 1);
	assert_string_equal(cu->name, "Smith, Jones & Co");
	assert_int_equal(cu->ntags, 0);
	assert_false(customer_has_tag(cu, "never_suspend"));
	cu = customers_get(c, 2);
	assert_string_equal(cu->name, "The \"Best\" Host");
	cu = customers_get(c, 3);
	assert_string_equal(cu->name, "Spaces");
	assert_string_equal(cu->contact, "");
	assert_int_equal(cu->ncidrs, 2);
	assert_null(customers_get(c, 4));

	assert_int_equal(customers_find(c, "4713"), 2);
	assert_int_equal(customers_find(c, "4711"), 0);
	assert_int_equal(customers_find(c, "47"), -1);
	assert_int_equal(customers_find(c, ""), -1);
	assert_int_equal(customers_find(c, NULL), -1);

	assert_string_equal(who(c, "203.0.113.7"), "4711");
	assert_string_equal(who(c, "203.0.113.8"), "-");
	assert_string_equal(who(c, "198.51.100.15"), "-");
	assert_string_equal(who(c, "198.51.100.16"), "4712");
	assert_string_equal(who(c, "198.51.100.31"), "4712");
	assert_string_equal(who(c, "198.51.100.32"), "-");
	assert_string_equal(who(c, "2001:db8:42::1"), "4713");
	assert_string_equal(who(c, "2001:db8:42:ffff:ffff:ffff:ffff:ffff"), "4713");
	assert_string_equal(who(c, "2001:db8:43::"), "-");
	assert_string_equal(who(c, "192.0.2.127"), "4714");
	customers_free(c);
}

/* A /32 inside a /29 inside a /24, each another customer's, inside an unassigned /16; the
 * same in IPv6. */
static void
test_nested(void **state)
{
	struct testfile *fx = *state;
	struct customers *c;

	c = load(fx, HDR
	    "big,Big Reseller,10.20.30.0/24 2001:db8:100::/48,a@x,\n"
	    "mid,Mid VPS,10.20.30.8/29 2001:db8:100:7::/64,b@x,\n"
	    "one,One IP,10.20.30.13 2001:db8:100:7::d,c@x,\n");
	assert_string_equal(who(c, "10.20.29.255"), "-");
	assert_string_equal(who(c, "10.20.30.0"), "big");
	assert_string_equal(who(c, "10.20.30.7"), "big");
	assert_string_equal(who(c, "10.20.30.8"), "mid");
	assert_string_equal(who(c, "10.20.30.12"), "mid");
	assert_string_equal(who(c, "10.20.30.13"), "one");
	assert_string_equal(who(c, "10.20.30.14"), "mid");
	assert_string_equal(who(c, "10.20.30.15"), "mid");
	assert_string_equal(who(c, "10.20.30.16"), "big");
	assert_string_equal(who(c, "10.20.30.255"), "big");
	assert_string_equal(who(c, "10.20.31.0"), "-");
	assert_string_equal(who(c, "2001:db8:100::"), "big");
	assert_string_equal(who(c, "2001:db8:100:6:ffff:ffff:ffff:ffff"), "big");
	assert_string_equal(who(c, "2001:db8:100:7::"), "mid");
	assert_string_equal(who(c, "2001:db8:100:7::c"), "mid");
	assert_string_equal(who(c, "2001:db8:100:7::d"), "one");
	assert_string_equal(who(c, "2001:db8:100:7::e"), "mid");
	assert_string_equal(who(c, "2001:db8:100:8::"), "big");
	assert_string_equal(who(c, "2001:db8:101::"), "-");
	customers_free(c);
}

/* A BOM, CRLF endings, a header in other case, blank lines, and a quoted field holding
 * newlines: the line numbers recorded after it are still physical lines. */
static void
test_format(void **state)
{
	struct testfile *fx = *state;
	struct customers *c;
	char err[512], want[512];

	c = load(fx, "\xef\xbb\xbfID,Name,CIDRs,Contact,TAGS\r\n"
	    "\r\n"
	    "1,\"Line one\r\nline two\nline three\",192.0.2.1,\"x@y\",\r\n"
	    "\n"
	    "2,Second,192.0.2.2,,\"a b\r\n c\"\r\n"
	    "3,Third,192.0.2.3,,");
	assert_int_equal(customers_count(c), 3);
	assert_string_equal(customers_get(c, 0)->name, "Line one\r\nline two\nline three");
	assert_int_equal(customers_get(c, 0)->line, 3);
	assert_int_equal(customers_get(c, 1)->line, 7);
	assert_int_equal(customers_get(c, 1)->ntags, 3);
	assert_string_equal(customers_get(c, 1)->tags[2], "c");
	assert_int_equal(customers_get(c, 2)->line, 9);
	assert_string_equal(customers_get(c, 2)->contact, "");
	assert_string_equal(who(c, "192.0.2.3"), "3");
	customers_free(c);

	/* an error after the quoted newlines names the right line */
	write_file(fx->path, HDR "1,\"a\nb\nc\",192.0.2.1,,\n2,x,192.0.2.300,,\n", 0);
	snprintf(want, sizeof want, "%s:5: bad CIDR '192.0.2.300'", fx->path);
	assert_int_equal(customers_load(fx->path, &c, err, sizeof err), -1);
	assert_string_equal(err, want);

	/* quoted empty fields and a customer without prefixes are fine */
	c = load(fx, HDR "\"7\",\"\",\"\",\"\",\"\"\n");
	assert_int_equal(customers_count(c), 1);
	assert_int_equal(customers_get(c, 0)->ncidrs, 0);
	assert_string_equal(who(c, "192.0.2.1"), "-");
	customers_free(c);

	/* only a header: no customers */
	c = load(fx, "id,name,cidrs,contact,tags");
	assert_int_equal(customers_count(c), 0);
	assert_int_equal(customers_find(c, "1"), -1);
	customers_free(c);

	c = customers_new_empty();
	assert_non_null(c);
	assert_int_equal(customers_count(c), 0);
	assert_string_equal(who(c, "192.0.2.1"), "-");
	assert_int_equal(customers_find(c, "x"), -1);
	customers_free(c);
	customers_free(NULL);
}

/* Many customers: the id hash grows, every id and prefix is found again. */
static void
test_many(void **state)
{
	struct testfile *fx = *state;
	struct customers *c = NULL;
	char id[32], ip[32], err[256];
	FILE *f;
	int i;

	f = fopen(fx->path, "w");
	assert_non_null(f);
	fputs(HDR, f);
	for (i = 0; i < 20000; i++)
		fprintf(f, "c%d,Customer %d,10.%d.%d.0/24 10.200.%d.%d,n@x,t%d\n", i, i,
		    i / 256, i % 256, i / 256, i % 256, i % 7);
	assert_int_equal(fclose(f), 0);
	if (customers_load(fx->path, &c, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(customers_count(c), 20000);
	for (i = 0; i < 20000; i += 7) {
		snprintf(id, sizeof id, "c%d", i);
		assert_int_equal(customers_find(c, id), i);
		snprintf(ip, sizeof ip, "10.%d.%d.99", i / 256, i % 256);
		assert_string_equal(who(c, ip), id);
		snprintf(ip, sizeof ip, "10.200.%d.%d", i / 256, i % 256);
		assert_string_equal(who(c, ip), id);
	}
	assert_int_equal(customers_find(c, "c20000"), -1);
	customers_free(c);
}

static void
expect_error(struct testfile *fx, const char *text, size_t len, const char *want)
{
	struct customers *c = (struct customers *)1;
	char err[512] = "", full[512];

	write_file(fx->path, text, len);
	snprintf(full, sizeof full, "%s%s", fx->path, want);
	assert_int_equal(customers_load(fx->path, &c, err, sizeof err), -1);
	assert_null(c);
	assert_string_equal(err, full);
}

#define REFUSED " is refused: '.', '..' and ids starting with '-' read as paths or options"

static void
test_errors(void **state)
{
	struct testfile *fx = *state;
	static const char nul[] = HDR "1,a\0b,192.0.2.1,,\n";
	static const char nulq[] = HDR "1,\"a\n\0b\",192.0.2.1,,\n";
	static char big[8192], bigcidrs[(1 << 20) + 200];
	struct customers *c;
	char err[512], missing[256], want[512];
	size_t n;

	expect_error(fx, "", 0, ":1: missing header (expected id,name,cidrs,contact,tags)");
	expect_error(fx, "\n\n", 0, ":1: missing header (expected id,name,cidrs,contact,tags)");
	expect_error(fx, "id,name,cidr,contact,tags\n", 0,
	    ":1: bad header (expected id,name,cidrs,contact,tags)");
	expect_error(fx, "\n# comment\nid,name,cidrs,contact,tags\n", 0,
	    ":2: bad header (expected id,name,cidrs,contact,tags)");
	expect_error(fx, "id,name,cidrs,contact\n", 0,
	    ":1: bad header (expected id,name,cidrs,contact,tags)");
	expect_error(fx, "id,name,cidrs,contact,tags,extra\n", 0,
	    ":1: bad header (expected id,name,cidrs,contact,tags)");
	expect_error(fx, HDR "1,a,192.0.2.1,x\n", 0,
	    ":2: expected 5 fields (id,name,cidrs,contact,tags), found 4");
	expect_error(fx, HDR "1,a,192.0.2.1,x,y\n\n2,Smith, Jones,192.0.2.2,x,y\n", 0,
	    ":4: expected 5 fields (id,name,cidrs,contact,tags), found 6");
	expect_error(fx, HDR "1,a,192.0.2.1,,\n  ,b,192.0.2.2,,\n", 0, ":3: empty id");
	expect_error(fx, HDR "\"\",b,192.0.2.2,,\n", 0, ":2: empty id");
	/* ids that read as paths or options, refused with file:line */
	expect_error(fx, HDR "1,a,192.0.2.1,,\n.,b,192.0.2.2,,\n", 0, ":3: id '.'" REFUSED);
	expect_error(fx, HDR "..,b,192.0.2.2,,\n", 0, ":2: id '..'" REFUSED);
	expect_error(fx, HDR "\"-rf\",b,192.0.2.2,,\n", 0, ":2: id '-rf'" REFUSED);
	expect_error(fx, HDR "1,a,192.0.2.1,,\n2,b,192.0.2.3,,\n--help,c,192.0.2.2,,\n", 0,
	    ":4: id '--help'" REFUSED);
	expect_error(fx, HDR "\"a\tb\",b,192.0.2.2,,\n", 0,
	    ":2: id 'a\\x09b' holds control characters or bad UTF-8");
	expect_error(fx, HDR "x1,a,192.0.2.1,,\nx2,b,,,\nx3,\"c\nz\",,,\nx1,d,192.0.2.9,,\n", 0,
	    ":6: duplicate id 'x1' (first at line 2)");
	expect_error(fx, HDR "1,a,192.0.2.1 192.0.2/24,,\n", 0, ":2: bad CIDR '192.0.2/24'");
	expect_error(fx, HDR "1,a,192.0.2.1;192.0.2.2,,\n", 0,
	    ":2: bad CIDR '192.0.2.1;192.0.2.2'");
	expect_error(fx, HDR "1,a,,,\n2,b,192.0.2.1/24,,\n", 0,
	    ":3: host bits set in '192.0.2.1/24' (did you mean 192.0.2.0/24?)");
	expect_error(fx, HDR "1,a,2001:db8::1/64,,\n", 0,
	    ":2: host bits set in '2001:db8::1/64' (did you mean 2001:db8::/64?)");
	/* the same prefix held by two customers: the later one is named, with the first */
	expect_error(fx, HDR
	    "a,A,192.0.2.0/29 2001:db8::/48,,\n"
	    "b,B,192.0.2.8/29,,\n"
	    "\"c\",\"C\nC\",198.51.100.7,,\n"
	    "d,D,192.0.2.8/29,,\n"
	    "e,E,2001:db8:0::/48,,\n", 0,
	    ":6: prefix 192.0.2.8/29 of customer 'd' is already held by customer 'b' (line 3)");
	expect_error(fx, HDR "a,A,192.0.2.0/29,,\nb,B,198.51.100.1 198.51.100.1/32,,\n", 0,
	    ":3: prefix 198.51.100.1/32 listed twice for customer 'b'");
	/* quoting */
	expect_error(fx, HDR "1,a,192.0.2.1,,\n2,\"open\n\nstill open,,,\n", 0,
	    ":3: unterminated quote");
	expect_error(fx, HDR "1,\"quoted\"junk,192.0.2.1,,\n", 0,
	    ":2: text after a closing quote (a quote inside a quoted field is written \"\")");
	expect_error(fx, HDR "1,\"a\nb\" ,192.0.2.1,,\n", 0,
	    ":3: text after a closing quote (a quote inside a quoted field is written \"\")");
	expect_error(fx, HDR "1,5\" Display,192.0.2.1,,\n", 0,
	    ":2: quote inside an unquoted field (quote the whole field)");
	expect_error(fx, nul, sizeof nul - 1, ":2: NUL byte");
	expect_error(fx, nulq, sizeof nulq - 1, ":3: NUL byte");
	/* caps: 4096 bytes a field, 1 MiB for cidrs */
	n = (size_t)snprintf(big, sizeof big, HDR "1,");
	memset(big + n, 'x', 4097);
	memcpy(big + n + 4097, ",192.0.2.1,,\n", 14);
	expect_error(fx, big, 0, ":2: field 2 longer than 4096 bytes");
	/* exactly 4096 bytes, quoted, with newlines inside: accepted, lines still right */
	n = (size_t)snprintf(big, sizeof big, HDR "1,\"");
	memset(big + n, 'x', 4096);
	big[n + 10] = '\n';
	big[n + 20] = '\n';
	memcpy(big + n + 4096, "\",192.0.2.1,,\n2,b,192.0.2.2,,\n", 30);
	write_file(fx->path, big, 0);
	c = NULL;
	if (customers_load(fx->path, &c, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(strlen(customers_get(c, 0)->name), 4096);
	assert_int_equal(customers_get(c, 1)->line, 5);
	customers_free(c);
	n = (size_t)snprintf(bigcidrs, sizeof bigcidrs, HDR "1,a,");
	memset(bigcidrs + n, ' ', (1 << 20) + 1);
	memcpy(bigcidrs + n + (1 << 20) + 1, ",,\n", 4);
	expect_error(fx, bigcidrs, 0, ":2: field 3 longer than 1048576 bytes");
	memcpy(bigcidrs + n + (1 << 20) - 10, "192.0.2.1,,\n", 13);
	c = NULL;
	write_file(fx->path, bigcidrs, 0);
	if (customers_load(fx->path, &c, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(customers_get(c, 0)->ncidrs, 1);
	customers_free(c);

	snprintf(want, sizeof want, "%s/nonexistent: No such file or directory", fx->dir);
	snprintf(missing, sizeof missing, "%s/nonexistent", fx->dir);
	assert_int_equal(customers_load(missing, &c, err, sizeof err), -1);
	assert_string_equal(err, want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_basic, setup, testfile_teardown),
		cmocka_unit_test_setup_teardown(test_nested, setup, testfile_teardown),
		cmocka_unit_test_setup_teardown(test_format, setup, testfile_teardown),
		cmocka_unit_test_setup_teardown(test_many, setup, testfile_teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, testfile_teardown),
	};

	return cmocka_run_group_tests_name("customers", tests, NULL, NULL);
}
