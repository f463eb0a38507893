/*
 * text.h — making untrusted text (SMTP replies, DNS TXT, customer names from billing) safe
 * for a terminal, a log line, an email header or a JSON string. Nothing that came from
 * outside reaches an output without passing through text_escape(). Also the one reader of
 * the durations that both config files take (text_duration()), and the bounded line reader
 * of the files we load (text_read_line()).
 */
#ifndef RW_TEXT_H
#define RW_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* Copies src (len bytes, may hold NULs) into dst as one printable line: valid UTF-8 is kept,
 * except control characters (C0, DEL, C1), which become \xNN, as does every byte of an
 * invalid sequence; a backslash becomes \\. The result is always NUL-terminated and cut on
 * a character boundary when dst is too small. Returns strlen(dst). */
size_t text_escape(char *dst, size_t dstlen, const char *src, size_t len);

/* 1 when s (len bytes) is valid UTF-8 without control characters. */
int text_is_clean(const char *s, size_t len);

/* Case-insensitive search of needle (ASCII) in hay (len bytes, any content). */
const char *text_casefind(const char *hay, size_t len, const char *needle);

/* A JSON string of s (NULL: null): s itself when valid UTF-8 (control characters are
 * escaped by the JSON encoding), else its text_escape()d form, so that untrusted bytes can
 * never make a document unencodable. A new reference (NULL only when out of memory). */
json_t *text_json(const char *s);

/* json_dumpf(j, f, flags | JSON_ENSURE_ASCII), with DEL (0x7f) written \u007f too: JSON lets
 * it through raw, and what the CLI prints is then printable ASCII only. 0, or -1 on error. */
int text_json_dumpf(const json_t *j, FILE *f, size_t flags);

/* s (len bytes) as one POSIX shell word, for a command line a person may paste from a mail
 * or a log ("rangewatch customers ID"): as it is when it is made only of
 * [A-Za-z0-9._:@%+=,/-], else in single quotes (each ' as '\''), so that nothing in it is
 * run or expanded. Text that is not clean (text_is_clean) is text_escape()d first. malloc'd;
 * NULL when out of memory. */
char *text_shell_word(const char *s, size_t len);

/* A duration as config files write it -> seconds in *out: a whole number (digits only, no
 * sign, no blanks) with at most one unit after it, s, m, h, d or w ("90", "90s", "30m",
 * "48h", "7d", "1w"). 0 on success, -1 when s is not one. A number too big for an int64_t
 * gives INT64_MAX, so that the caller's range check refuses it. */
int text_duration(const char *s, int64_t *out);

/* Reads one line of f into buf without its LF: at most cap - 1 bytes, then a NUL, so memory
 * never grows with a line (a multi-GB file without a newline costs cap bytes). Returns the
 * bytes stored (which may hold NULs), or -1 at the end of the file (or an error: ferror)
 * before any byte. *more is 1 when the line goes on past what was stored: the rest is left
 * unread, for the caller to refuse the line or drop the rest with text_skip_line(). */
ssize_t text_read_line(FILE *f, char *buf, size_t cap, int *more);
/* Drops the rest of the current line, its LF included, without storing it. 1 when a NUL
 * byte was among what it dropped, else 0. */
int text_skip_line(FILE *f);

#endif
