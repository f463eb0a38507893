/*
 * inifile.c — the line reader and error reporting shared by the INI formats (rangewatch.conf
 * in config.c, dnsbl.conf in dnsbl_lists.c), and the value parsers they have in common.
 *
 * For: feeding a file to inih so that each error names FILE:LINE, and nothing inih would
 * silently get wrong gets through.
 * Owns: the open file, the line buffer and the line count of one read; the first error.
 * Must never: know a section or key name (the callers' tables do), touch inih's global
 * options (each caller's format relies on the same defaults), or keep any state between
 * two reads.
 *
 * Why our own reader: inih r55 does not tell the handler the line number, so the file goes
 * through ini_parse_stream() one line per call and the count is ours. The reader rejects
 * NUL bytes and over-long lines (inih would silently split them; a long comment is fine,
 * its tail dropped as it is read), never holding more than INI_RAW_MAX bytes of a line,
 * strips a UTF-8 BOM and leading blanks (so inih never joins indented lines into multi-line
 * values) and hands every `[section]` header to the caller itself, so a bad section is
 * reported on its own line even when it holds no key.
 */
#include "inifile.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "text.h"

/* Bytes of one line held at most (BOM, blanks, the line, CR): past it the line is refused,
 * or dropped unread when it is a comment, so a multi-GB line costs no more memory. */
#define INI_RAW_MAX	4096

struct inifile {
	const struct inifile_ops *ops;
	void *arg;
	const char *path;
	FILE *f;
	char line[INI_RAW_MAX];
	unsigned lineno;
	char *err;
	size_t errlen;
	int failed;
};

/* The first error wins. */
void
inifile_fail(struct inifile *ini, unsigned line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (ini->failed)
		return;
	ini->failed = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(ini->err, ini->errlen, "%s:%u: %s", ini->path, line, msg);
}

/* inih's reader: one line per call, so inih's line count is ours. */
static char *
read_line(char *str, int num, void *stream)
{
	struct inifile *ini = stream;
	char *s, *end;
	ssize_t n;
	size_t len;
	int more;

	if (ini->failed)
		return NULL;
	n = text_read_line(ini->f, ini->line, sizeof ini->line, &more);
	if (n == -1) {
		if (ferror(ini->f)) {
			ini->lineno++;
			inifile_fail(ini, ini->lineno, "%s", strerror(errno));
		} else if (ini->ops->end != NULL)
			ini->ops->end(ini, ini->arg);
		return NULL;
	}
	ini->lineno++;
	if (memchr(ini->line, '\0', (size_t)n) != NULL) {
		inifile_fail(ini, ini->lineno, "NUL byte");
		return NULL;
	}
	len = (size_t)n;
	if (more) {
		/* over INI_RAW_MAX: only a comment may go on, and its tail is not kept */
		s = ini->line;
		if (ini->lineno == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
			s += 3;
		s += strspn(s, " \t\v\f\r");
		if ((*s != ';' && *s != '#') || num < 2) {
			inifile_fail(ini, ini->lineno, "line longer than %d characters (%s)",
			    num - 1, ini->ops->long_hint);
			return NULL;
		}
		if (text_skip_line(ini->f)) {
			inifile_fail(ini, ini->lineno, "NUL byte");
			return NULL;
		}
	}
	while (len > 0 && (ini->line[len - 1] == '\n' || ini->line[len - 1] == '\r'))
		len--;
	ini->line[len] = '\0';
	s = ini->line;
	if (ini->lineno == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	s += strspn(s, " \t\v\f\r");
	len = strlen(s);
	if ((*s == ';' || *s == '#') && num >= 2 && len > (size_t)num - 1) {
		/* a long comment is still a comment: hand inih its start only */
		len = (size_t)num - 1;
		s[len] = '\0';
	}
	if (num < 2 || len > (size_t)num - 1) {
		inifile_fail(ini, ini->lineno, "line longer than %d characters (%s)", num - 1,
		    ini->ops->long_hint);
		return NULL;
	}
	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL) {
			if (ini->ops->unterminated) {
				inifile_fail(ini, ini->lineno, "unterminated [section] header");
				return NULL;
			}
		} else {
			if (ini->ops->section(ini, ini->arg, s + 1, (size_t)(end - s - 1),
			    ini->lineno) == -1)
				return NULL;
			end++;
			end += strspn(end, " \t");
			if (*end != '\0' && *end != ';' && *end != '#') {
				inifile_fail(ini, ini->lineno, "text after the [section] header");
				return NULL;
			}
		}
	}
	memcpy(str, s, len + 1);
	return str;
}

/* inih's handler, called for every key = value. Returns 1 to go on, 0 on error. */
static int
on_key(void *user, const char *section, const char *name, const char *value)
{
	struct inifile *ini = user;

	if (ini->failed)
		return 0;
	return ini->ops->key(ini, ini->arg, section, name, value, ini->lineno) == 0;
}

/* Reads path through inih and ops. */
int
inifile_parse(const char *path, const struct inifile_ops *ops, void *arg, char *err,
    size_t errlen)
{
	struct inifile ini;
	int r, ret = -1;

	memset(&ini, 0, sizeof ini);
	ini.ops = ops;
	ini.arg = arg;
	ini.path = path;
	ini.err = err;
	ini.errlen = errlen;
	if ((ini.f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	r = ini_parse_stream(read_line, &ini, on_key, &ini);
	if (ini.failed) {
		/* a syntax error inih saw on an earlier line comes first */
		if (r > 0 && (unsigned)r < ini.lineno)
			snprintf(err, errlen, "%s:%d: syntax error (expected %s or key = value)",
			    path, r, ops->header);
		goto out;
	}
	if (r > 0) {
		snprintf(err, errlen, "%s:%d: syntax error (expected %s or key = value)", path, r,
		    ops->header);
		goto out;
	}
	if (r != 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	ret = 0;
out:
	if (ini.f != NULL)
		fclose(ini.f);
	return ret;
}

/* Trims, then splits at the first blank or quote. */
void
inifile_header(const char *s, size_t len, struct inifile_header *h)
{
	const char *end;

	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	end = s + len;
	h->text = s;
	h->len = len;
	h->name = s;
	h->namelen = strcspn(s, " \t\"");
	if (h->namelen > len)
		h->namelen = len;
	for (h->rest = s + h->namelen; h->rest < end && (*h->rest == ' ' || *h->rest == '\t');
	    h->rest++)
		;
	h->restlen = (size_t)(end - h->rest);
	h->quoted = h->restlen >= 3 && h->rest[0] == '"' && end[-1] == '"' &&
	    memchr(h->rest + 1, '"', h->restlen - 2) == NULL;
}

/* The words are tried in pairs; on/off come last, so leaving them out is a shorter loop. */
int
inifile_bool(const char *s, int onoff, int *out)
{
	static const char *const yes[] = { "yes", "true", "1", "on" };
	static const char *const no[] = { "no", "false", "0", "off" };
	size_t i, n = sizeof yes / sizeof yes[0] - (onoff ? 0 : 1);

	for (i = 0; i < n; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* strtod() over all of s, finite. */
int
inifile_double(const char *s, double *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || !isfinite(d))
		return -1;
	*out = d;
	return 0;
}

/* Joins dir and a relative value. */
char *
inifile_path(const char *dir, const char *value)
{
	size_t dl, vl;
	char *p;

	if (value[0] == '/' || value[0] == '\0' || dir == NULL)
		return strdup(value);
	dl = strlen(dir);
	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	vl = strlen(value);
	if ((p = malloc(dl + 1 + vl + 1)) == NULL)
		return NULL;
	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, value, vl + 1);
	return p;
}

/* The folder of path, through realpath() when it can. */
char *
inifile_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir, *abs;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return NULL;
	if ((abs = realpath(dir, NULL)) != NULL) {
		free(dir);
		return abs;
	}
	return dir;	/* the file opened, so this is rare; keep what was written */
}
