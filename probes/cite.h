/*
 * cite.h — which configured DNSBLs a remote server's 4xx/5xx reply names. A reply naming a
 * list is an early sign of a listing, and UCEPROTECT's three levels must be told apart, so
 * each list's `cite` patterns (dnsbl.conf: plain, ~fallback, !exclusion; see struct
 * dnsbl_cite) and the [capture] cite words of rangewatch.conf are compiled into one table
 * of distinct lower-case substrings. The SMTP parser only searches a reply for them (a bit
 * per pattern, smtp_set_cite_words); this module turns those bits into lists:
 *
 *   - a list is named when one of its plain patterns matched, or one of its ~fallback
 *     patterns matched and no plain pattern of any list that contains the fallback's text
 *     matched too ("blocked by UCEPROTECT" names level 1, "UCEPROTECT-Level2 listed" only
 *     level 2);
 *   - never when one of its !exclusion patterns matched (zen: "!dbl.spamhaus");
 *   - a reply is cited when it names a list or contains a capture word.
 *
 * The installed table is process-wide, like the parser's words (one capture per process);
 * lists are known by their index in the lists file.
 */
#ifndef RW_CITE_H
#define RW_CITE_H

#include <stddef.h>
#include <stdint.h>

#include "dnsbl_lists.h"

#define CITE_PATTERNS_MAX	64	/* distinct patterns, lists' and capture words together */

/* Compiles the patterns of lists (NULL: none) and the capture words (nwords of them) into
 * a new table, installs it and hands its patterns to the SMTP parser. -1 with the reason in
 * err ("FILE:LINE: ..." for a list's pattern past CITE_PATTERNS_MAX); the table installed
 * before stays. */
int cite_install(const struct dnsbl_lists *lists, const char *const *words, size_t nwords,
    char *err, size_t errlen);
/* Frees the installed table; the parser then searches for nothing. */
void cite_clear(void);
/* The number of lists of the installed table (their indexes run from 0). */
size_t cite_nlists(void);
/* The name of list i, or NULL. */
const char *cite_list_name(size_t i);
/* 1 when a reply whose pattern bits are hits names a list or contains a capture word. */
int cite_any(uint64_t hits);
/* 1 when a reply whose pattern bits are hits names list i. */
int cite_names(uint64_t hits, size_t i);
/* The number of distinct patterns and pattern i (lower case, without its mark). */
size_t cite_npatterns(void);
const char *cite_pattern(size_t i);

#endif
