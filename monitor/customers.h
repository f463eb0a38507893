/*
 * customers.h — the customer map: `customers.csv` (an export from billing/IPAM, header
 * `id,name,cidrs,contact,tags`, RFC 4180 quoting, cidrs and tags space-separated inside
 * their field) and the longest-prefix lookup IP -> customer. A /32 inside a customer's /29
 * inside another customer's /24 resolves to the most specific holder. Built for 100k
 * customers and 1M prefixes. Parse errors name file:line; text fields are kept as read
 * (untrusted: escape before output).
 */
#ifndef RW_CUSTOMERS_H
#define RW_CUSTOMERS_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct customers;

struct customer {
	char *id;
	char *name;
	char *contact;
	char **tags;
	size_t ntags;
	struct rw_cidr *cidrs;
	size_t ncidrs;
	unsigned line;		/* where it was read */
};

/* Reads path. Errors (-1) say "FILE:LINE: what is wrong": a bad header, a bad CIDR, an
 * empty or duplicate id, the same prefix given to two customers, a bad quote. */
int customers_load(const char *path, struct customers **out, char *err, size_t errlen);
/* A map with no customers (none configured); NULL when out of memory. */
struct customers *customers_new_empty(void);
/* NULL-safe. */
void customers_free(struct customers *c);
/* How many customers were read. */
size_t customers_count(const struct customers *c);
/* Customer i in file order, or NULL past the end. */
const struct customer *customers_get(const struct customers *c, size_t i);
/* Index of the customer holding a, or -1 when the IP is unassigned. */
long customers_lookup(const struct customers *c, const struct rw_addr *a);
/* Index of the customer with this id, or -1. */
long customers_find(const struct customers *c, const char *id);
/* 1 when the customer carries the tag. */
int customer_has_tag(const struct customer *cu, const char *tag);

#endif
