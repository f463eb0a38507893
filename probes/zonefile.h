/*
 * zonefile.h — a DNSBL's data read from a local file in rbldnsd's format (what UCEPROTECT,
 * PSBL and ivmSIP publish by rsync), so a whole /16 costs memory lookups instead of queries.
 * Understands the ip4set/ip4trie/ip6trie syntax: single IPs, CIDRs, abbreviated prefixes
 * ("10.1" = 10.1.0.0/16), ranges "a.b.c.d-e.f.g.h", exclusions "!", per-entry values
 * ":A:TXT" and the default value line ":A:TXT", "$" in TXT for the queried IP, comments and
 * the $SOA/$NS/$TTL/$TIMESTAMP/$MAXRANGE4 specials (ignored). The most specific entry wins
 * (an exclusion beats a wider listing). Reloaded when the file changes; a broken new file
 * keeps the old data.
 */
#ifndef RW_ZONEFILE_H
#define RW_ZONEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct zonefile;

/* Reads path. -1 with "FILE:LINE: what is wrong" in err. */
int zonefile_load(const char *path, struct zonefile **out, char *err, size_t errlen);
/* NULL-safe. */
void zonefile_free(struct zonefile *z);
/* Reloads when the file's mtime or size changed: 1 reloaded, 0 unchanged, -1 the new file
 * is broken (err says why; the old data stays). A broken or missing file is reported once,
 * then 0 until it changes again; zonefile_broken() keeps saying why meanwhile. */
int zonefile_refresh(struct zonefile *z, char *err, size_t errlen);
/* Why the file on disk is not the data being served (the last refresh found it broken or
 * missing, and the old data stayed), or NULL when it is. */
const char *zonefile_broken(const struct zonefile *z);
/* Looks ip up: 1 listed (A record in *a, host order; TXT with "$" replaced, cut to txtlen,
 * "" when none), 0 not listed. The TXT is the file's text, raw: escape it before use. */
int zonefile_lookup(const struct zonefile *z, const struct rw_addr *ip, uint32_t *a,
    char *txt, size_t txtlen);
/* Entries loaded (listings and exclusions; a range counts as the CIDRs it splits into, a
 * prefix given twice once). */
size_t zonefile_count(const struct zonefile *z);

#endif
