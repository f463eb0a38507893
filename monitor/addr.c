/*
 * addr.c — parsing, formatting and masking of addresses and prefixes. Pure functions; the one
 * state is the hash key (addr_hash_key), written once at start. Everything that reads an
 * address from a file, a packet or a socket goes through here.
 */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

uint64_t addr_hash_key;

int
addr_hash_init(char *err, size_t errlen)
{
	uint64_t k;
	ssize_t n;

	do
		n = getrandom(&k, sizeof k, 0);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof k) {
		snprintf(err, errlen, "getrandom: %s", n == -1 ? strerror(errno) : "short read");
		return -1;
	}
	addr_hash_key = k;
	return 0;
}

void
addr_hash_set_key(uint64_t key)
{
	addr_hash_key = key;
}

static const uint8_t v4mapped[12] = {0,0,0,0,0,0,0,0,0,0,0xff,0xff};

void
addr_from_v4(struct rw_addr *out, const uint8_t v4[4])
{
	memcpy(out->a, v4mapped, 12);
	memcpy(out->a + 12, v4, 4);
}

void
addr_from_v6(struct rw_addr *out, const uint8_t v6[16])
{
	memcpy(out->a, v6, 16);
}

int
addr_is_v4(const struct rw_addr *a)
{
	return memcmp(a->a, v4mapped, 12) == 0;
}

int
addr_parse(const char *s, struct rw_addr *out)
{
	uint8_t buf[16];

	if (strchr(s, ':') == NULL) {
		if (inet_pton(AF_INET, s, buf) != 1)
			return -1;
		addr_from_v4(out, buf);
		return 0;
	}
	if (inet_pton(AF_INET6, s, buf) != 1)
		return -1;
	addr_from_v6(out, buf);
	return 0;
}

const char *
addr_format(const struct rw_addr *a, char *buf, size_t len)
{
	if (addr_is_v4(a)) {
		if (inet_ntop(AF_INET, a->a + 12, buf, len) == NULL)
			snprintf(buf, len, "?");
	} else if (inet_ntop(AF_INET6, a->a, buf, len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

int
addr_cmp(const struct rw_addr *x, const struct rw_addr *y)
{
	return memcmp(x->a, y->a, 16);
}

void
addr_mask(struct rw_addr *a, unsigned plen)
{
	unsigned i;

	if (plen >= 128)
		return;
	i = plen / 8;
	if (plen % 8)
		a->a[i++] &= (uint8_t)(0xff << (8 - plen % 8));
	for (; i < 16; i++)
		a->a[i] = 0;
}

int
cidr_parse(const char *s, struct rw_cidr *out, int strict)
{
	char host[64], *end;
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long n;
	unsigned max;
	struct rw_addr masked;

	if (hl == 0 || hl >= sizeof host)
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (addr_parse(host, &out->net) == -1)
		return -1;
	max = addr_is_v4(&out->net) ? 32 : 128;
	if (slash == NULL) {
		n = max;
	} else {
		if (slash[1] < '0' || slash[1] > '9')
			return -1;
		errno = 0;
		n = strtoul(slash + 1, &end, 10);
		if (errno || *end != '\0' || n > max)
			return -1;
	}
	out->plen = (unsigned)n + (max == 32 ? 96 : 0);
	masked = out->net;
	addr_mask(&masked, out->plen);
	if (strict && addr_cmp(&masked, &out->net) != 0)
		return -1;
	out->net = masked;
	return 0;
}

unsigned
cidr_user_plen(const struct rw_cidr *c)
{
	return addr_is_v4(&c->net) ? c->plen - 96 : c->plen;
}

const char *
cidr_format(const struct rw_cidr *c, char *buf, size_t len)
{
	char a[ADDR_STRLEN];

	snprintf(buf, len, "%s/%u", addr_format(&c->net, a, sizeof a), cidr_user_plen(c));
	return buf;
}

int
cidr_contains(const struct rw_cidr *c, const struct rw_addr *a)
{
	struct rw_addr m = *a;

	addr_mask(&m, c->plen);
	return addr_cmp(&m, &c->net) == 0;
}
