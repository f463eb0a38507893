/*
 * testaddr.h — addresses written as text in the unit tests (A("192.0.2.1")), for the tests
 * of the modules that take a struct rw_addr. Header-only: each test binary includes it
 * once, after <cmocka.h>. A bad address in a test fails that test, never parses as zero.
 */
#ifndef RW_TEST_TESTADDR_H
#define RW_TEST_TESTADDR_H

#include "addr.h"

/* The address s (IPv4 or IPv6); fails the test when s is not one. */
static inline struct rw_addr
A(const char *s)
{
	struct rw_addr a;

	if (addr_parse(s, &a) == -1)
		fail_msg("bad test address %s", s);
	return a;
}

#endif
