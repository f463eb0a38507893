/*
 * inifile.h — reading an INI file with inih so that every error names FILE:LINE, for the
 * modules that own an INI format (config.c: rangewatch.conf, dnsbl_lists.c: dnsbl.conf).
 * The caller gives a section check and a key handler (both told the line) and keeps its
 * own tables; this module reads the lines, rejects what inih would get wrong, and writes
 * the first error to the caller's buffer. Also the value parsers both formats share.
 */
#ifndef RW_INIFILE_H
#define RW_INIFILE_H

#include <stddef.h>

/* One read in progress, handed to the callbacks so they can report an error. */
struct inifile;

struct inifile_ops {
	/* The inside of a `[...]` header on line `line` (len bytes, without the brackets).
	 * 0 to go on; -1 after inifile_fail(). */
	int (*section)(struct inifile *ini, void *arg, const char *s, size_t len,
	    unsigned line);
	/* One `name = value` on line `line`, under inih's section name (inih has dropped the
	 * blanks around the value and an inline comment). 0 to go on; -1 after inifile_fail(). */
	int (*key)(struct inifile *ini, void *arg, const char *section, const char *name,
	    const char *value, unsigned line);
	/* The end of the file, reached without an error; NULL when nothing is to be done.
	 * May call inifile_fail(). */
	void (*end)(struct inifile *ini, void *arg);
	/* Named in a syntax error: "syntax error (expected HEADER or key = value)". */
	const char *header;
	/* Said after "line longer than N characters" (in parentheses). */
	const char *long_hint;
	/* 1: a line starting with '[' but without ']' is an error of its own ("unterminated
	 * [section] header"); 0: inih reports it as a syntax error. */
	int unterminated;
};

/* Reads path line by line through inih and ops. 0 when the whole file was read and no
 * callback failed; -1 with "FILE:LINE: what is wrong" (or "FILE: why" when it cannot be
 * opened) in err. An error inih saw on an earlier line than the callback's comes first. */
int inifile_parse(const char *path, const struct inifile_ops *ops, void *arg, char *err,
    size_t errlen);
/* Records "FILE:LINE: message" as the read's error unless one is recorded already; the
 * read then stops. */
void inifile_fail(struct inifile *ini, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The inside of a section header, split: `name` or `name "SUB"`. */
struct inifile_header {
	const char *text;	/* the whole header, blanks around it trimmed */
	size_t len;
	const char *name;	/* up to the first blank or double quote */
	size_t namelen;
	const char *rest;	/* what follows the name, blanks skipped; restlen 0 when none */
	size_t restlen;
	int quoted;		/* rest is one "SUB" (1 or more characters, no other quote) */
};

/* Splits s (len bytes, without the brackets) into h. */
void inifile_header(const char *s, size_t len, struct inifile_header *h);

/* yes/no, true/false, 1/0 (and on/off when onoff is set), any case. 0 with *out 1 or 0,
 * -1 for anything else. */
int inifile_bool(const char *s, int onoff, int *out);
/* A finite decimal or strtod() number taking up all of s. 0 on success. */
int inifile_double(const char *s, double *out);
/* dir/value, or a copy of value when it is absolute or empty or dir is NULL. NULL when out
 * of memory. */
char *inifile_path(const char *dir, const char *value);
/* The absolute folder of path (as written when it cannot be resolved). NULL when out of
 * memory. */
char *inifile_dir(const char *path);

#endif
