/*
 * config.c — rangewatch.conf: the key table, its defaults, and reading a file over them.
 *
 * For: turning an INI file into a struct rw_config, or saying exactly which line is wrong.
 * Owns: the key table (section, name, type, field, default, range, reloadable) and every
 * string of the configs it builds.
 * Must never: open the files a config names (they may not exist yet; `rangewatchd -n`
 * checks them separately), accept a key or section it does not know, keep a half-read
 * config (an error frees it; a reload keeps the old one), or touch inih's global options
 * (other modules read other INI files with the same library).
 *
 * Parsing is inih's, through inifile.c's line reader (inih r55 does not tell the handler the
 * line number; the reader counts lines, rejects NUL bytes and over-long lines, strips a BOM
 * and leading blanks) which hands every `[section]` header to find_section() here, so an
 * unknown section is reported on its own line even when it holds no key. Values:
 * `key = value`, blanks around the value stripped, ` ;` starts an inline comment, `#` and
 * `;` start comment lines.
 *
 * A scalar key given twice is an error (naming both lines): a config that says two things
 * is a mistake, not an override. A list key given twice accumulates, git-config style: the
 * first line replaces the default, later lines append (the way to split a long list, since
 * a line holds at most 199 characters).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inifile.h"
#include "log.h"
#include "text.h"

enum cfg_type {
	CFG_STR,	/* char *, kept as written */
	CFG_PATH,	/* char *, relative to the config file's folder; "" stays "" */
	CFG_INT,	/* int, within [min, max] */
	CFG_LONG,	/* long, within [min, max] */
	CFG_BOOL,	/* int 0/1: yes/no, true/false, 1/0 */
	CFG_DOUBLE,	/* double, finite, within [min, max] */
	CFG_LIST,	/* char ** + size_t count: blank-separated words */
	CFG_PATHLIST,	/* the same, each word a PATH */
};

/* A section; `named` ones are git-style, [name "SUBNAME"], one per SUBNAME. */
struct cfg_section {
	const char *name;
	int named;
};

struct cfg_key {
	const char *section;
	const char *name;
	enum cfg_type type;
	size_t off;		/* the field in struct rw_config */
	size_t count_off;	/* lists: the size_t count field */
	const char *def;	/* parsed like a value from the file */
	double min, max;	/* INT, LONG, DOUBLE */
	int reload;		/* 1: a SIGHUP applies it; 0: needs a restart */
};

static const struct cfg_section cfg_sections[] = {
	{ "rangewatch", 0 },
	{ "capture", 0 },
	{ "alert", 0 },
	{ "webhook", 0 },
	{ "hook", 0 },
};

#define F(field)	offsetof(struct rw_config, field)
#define KEY(sec, name, type, field, def, min, max, reload) \
	{ sec, name, type, F(field), 0, def, min, max, reload }
#define LIST(sec, name, type, field, count, def, reload) \
	{ sec, name, type, F(field), F(count), def, 0, 0, reload }

static const struct cfg_key cfg_keys[] = {
	KEY("rangewatch", "prefixes", CFG_PATH, prefixes, "", 0, 0, 1),
	KEY("rangewatch", "customers", CFG_PATH, customers, "", 0, 0, 1),
	KEY("rangewatch", "lists", CFG_PATH, lists, "", 0, 0, 1),
	KEY("rangewatch", "interface", CFG_STR, interface, "", 0, 0, 0),
	KEY("rangewatch", "nameserver", CFG_STR, nameserver, "", 0, 0, 1),
	KEY("rangewatch", "state_dir", CFG_PATH, state_dir, "/var/lib/rangewatch", 0, 0, 0),
	KEY("rangewatch", "socket", CFG_PATH, socket, "/run/rangewatch/rangewatch.sock",
	    0, 0, 0),
	KEY("rangewatch", "user", CFG_STR, user, "rangewatch", 0, 0, 0),
	KEY("rangewatch", "pidfile", CFG_PATH, pidfile, "/run/rangewatch/rangewatchd.pid",
	    0, 0, 0),
	LIST("rangewatch", "replay", CFG_PATHLIST, replay, nreplay, "", 0),
	KEY("rangewatch", "replay_speed", CFG_DOUBLE, replay_speed, "1", 0, 1e6, 0),

	KEY("capture", "snaplen", CFG_INT, snaplen, "65535", 96, 262144, 0),
	KEY("capture", "buffer_size", CFG_INT, buffer_size, "4194304", 65536, INT_MAX, 0),
	KEY("capture", "flow_timeout", CFG_INT, flow_timeout, "300", 5, 86400, 1),
	KEY("capture", "max_flows", CFG_LONG, max_flows, "1000000", 1, 1e9, 0),
	KEY("capture", "max_ips", CFG_LONG, max_ips, "4000000", 1, 1e9, 0),
	LIST("capture", "cite", CFG_LIST, cite, ncite, "uceprotect spamhaus spamcop "
	    "barracuda gbudb psbl mailspike sorbs invaluement abusix s5h", 1),

	KEY("alert", "smtp_url", CFG_STR, alert_smtp_url, "", 0, 0, 1),
	KEY("alert", "from", CFG_STR, alert_from, "", 0, 0, 1),
	KEY("alert", "to", CFG_STR, alert_to, "", 0, 0, 1),

	KEY("webhook", "url", CFG_STR, webhook_url, "", 0, 0, 1),

	KEY("hook", "path", CFG_PATH, hook_path, "", 0, 0, 1),
	KEY("hook", "timeout", CFG_INT, hook_timeout, "30", 1, 3600, 1),
	KEY("hook", "user", CFG_STR, hook_user, "nobody", 0, 0, 1),
	KEY("hook", "auto_suspend", CFG_BOOL, hook_auto_suspend, "no", 0, 0, 1),
	KEY("hook", "dry_run", CFG_BOOL, hook_dry_run, "yes", 0, 0, 1),
};

#define NSECTIONS	(sizeof cfg_sections / sizeof cfg_sections[0])
#define NKEYS		(sizeof cfg_keys / sizeof cfg_keys[0])

/* The state of one load (inifile.c keeps the file, the line count and the error). */
struct cfg_load {
	struct rw_config *cfg;
	unsigned seen[NKEYS];	/* line where each key was set, 0 when not yet */
};

/* --- fields --- */

static char **
field_str(struct rw_config *c, const struct cfg_key *k)
{
	return (char **)(void *)((char *)c + k->off);
}

static char ***
field_list(struct rw_config *c, const struct cfg_key *k)
{
	return (char ***)(void *)((char *)c + k->off);
}

static size_t *
field_count(struct rw_config *c, const struct cfg_key *k)
{
	return (size_t *)(void *)((char *)c + k->count_off);
}

static void
free_list(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
parse_long(const char *s, long long *out)
{
	char *end;

	if (*s == '\0' || ((*s < '0' || *s > '9') && *s != '-'))
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

/* Sets key k of c from value; the message (without FILE:LINE) goes to msg. `append` adds
 * to a list instead of replacing it. */
static int
set_value(struct rw_config *c, const struct cfg_key *k, const char *value, int append,
    char *msg, size_t msglen)
{
	char esc[96], *p, **v, ***lv, *copy = NULL, *w, *save;
	size_t *count, n;
	long long ll;
	double d;
	int b;

	text_escape(esc, sizeof esc, value, strlen(value));
	switch (k->type) {
	case CFG_STR:
	case CFG_PATH:
		p = k->type == CFG_PATH ? inifile_path(c->dir, value) : strdup(value);
		if (p == NULL)
			goto oom;
		free(*field_str(c, k));
		*field_str(c, k) = p;
		return 0;
	case CFG_INT:
	case CFG_LONG:
		if (parse_long(value, &ll) == -1) {
			snprintf(msg, msglen, "[%s] %s: '%s' is not an integer", k->section,
			    k->name, esc);
			return -1;
		}
		if ((double)ll < k->min || (double)ll > k->max) {
			snprintf(msg, msglen, "[%s] %s: %lld is out of range (%.0f..%.0f)",
			    k->section, k->name, ll, k->min, k->max);
			return -1;
		}
		if (k->type == CFG_INT)
			*(int *)(void *)((char *)c + k->off) = (int)ll;
		else
			*(long *)(void *)((char *)c + k->off) = (long)ll;
		return 0;
	case CFG_BOOL:
		if (inifile_bool(value, 0, &b) == -1) {
			snprintf(msg, msglen, "[%s] %s: '%s' is not yes/no, true/false or 1/0",
			    k->section, k->name, esc);
			return -1;
		}
		*(int *)(void *)((char *)c + k->off) = b;
		return 0;
	case CFG_DOUBLE:
		if (inifile_double(value, &d) == -1) {
			snprintf(msg, msglen, "[%s] %s: '%s' is not a number", k->section,
			    k->name, esc);
			return -1;
		}
		if (d < k->min || d > k->max) {
			snprintf(msg, msglen, "[%s] %s: %s is out of range (%g..%g)", k->section,
			    k->name, esc, k->min, k->max);
			return -1;
		}
		*(double *)(void *)((char *)c + k->off) = d;
		return 0;
	case CFG_LIST:
	case CFG_PATHLIST:
		lv = field_list(c, k);
		count = field_count(c, k);
		if (!append) {
			free_list(*lv, *count);
			*lv = NULL;
			*count = 0;
		}
		if ((copy = strdup(value)) == NULL)
			goto oom;
		for (w = strtok_r(copy, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
			n = *count;
			v = realloc(*lv, (n + 1) * sizeof *v);
			if (v == NULL)
				goto oom;
			*lv = v;
			v[n] = k->type == CFG_PATHLIST ? inifile_path(c->dir, w) : strdup(w);
			if (v[n] == NULL)
				goto oom;
			*count = n + 1;
		}
		free(copy);
		return 0;
	}
	snprintf(msg, msglen, "[%s] %s: bad key type", k->section, k->name);
	return -1;
oom:
	free(copy);
	snprintf(msg, msglen, "out of memory");
	return -1;
}

/* The built-in defaults with path (may be NULL) and its folder dir. NULL when out of
 * memory. */
static struct rw_config *
defaults(const char *path, const char *dir)
{
	struct rw_config *c;
	char msg[256];
	size_t i;

	if ((c = calloc(1, sizeof *c)) == NULL)
		return NULL;
	if ((path != NULL && (c->path = strdup(path)) == NULL) ||
	    (dir != NULL && (c->dir = strdup(dir)) == NULL))
		goto fail;
	for (i = 0; i < NKEYS; i++)
		if (set_value(c, &cfg_keys[i], cfg_keys[i].def, 0, msg, sizeof msg) == -1)
			goto fail;
	return c;
fail:
	config_free(c);
	return NULL;
}

/* --- sections --- */

/* Parses the inside of a [section] header: `name` or `name "SUBNAME"`. Returns the row,
 * or NULL with the reason in msg. */
static const struct cfg_section *
find_section(const char *s, size_t len, char *msg, size_t msglen)
{
	struct inifile_header h;
	char esc[96];
	size_t i;

	inifile_header(s, len, &h);
	text_escape(esc, sizeof esc, h.text, h.len);
	for (i = 0; i < NSECTIONS; i++) {
		if (strlen(cfg_sections[i].name) != h.namelen ||
		    strncasecmp(cfg_sections[i].name, h.name, h.namelen) != 0)
			continue;
		if (h.restlen == 0 && cfg_sections[i].named) {
			snprintf(msg, msglen, "section [%s] needs a name: [%s \"NAME\"]",
			    cfg_sections[i].name, cfg_sections[i].name);
			return NULL;
		}
		if (h.restlen != 0 && !cfg_sections[i].named) {
			snprintf(msg, msglen, "section [%s] takes no name (found [%s])",
			    cfg_sections[i].name, esc);
			return NULL;
		}
		if (h.restlen != 0 && !h.quoted) {
			snprintf(msg, msglen, "bad section name [%s] (expected [%s \"NAME\"])",
			    esc, cfg_sections[i].name);
			return NULL;
		}
		return &cfg_sections[i];
	}
	snprintf(msg, msglen, "unknown section [%s]", esc);
	return NULL;
}

/* --- reading --- */

/* inifile's section check: a header on its own line. */
static int
cfg_section(struct inifile *ini, void *arg, const char *s, size_t len, unsigned line)
{
	char msg[256];

	(void)arg;
	if (find_section(s, len, msg, sizeof msg) == NULL) {
		inifile_fail(ini, line, "%s", msg);
		return -1;
	}
	return 0;
}

/* inifile's key handler, called for every key = value. */
static int
cfg_key(struct inifile *ini, void *arg, const char *section, const char *name,
    const char *value, unsigned line)
{
	struct cfg_load *l = arg;
	const struct cfg_section *sec;
	const struct cfg_key *k = NULL;
	char msg[512], esc[96], sesc[96];
	size_t i;

	text_escape(esc, sizeof esc, name, strlen(name));
	if (section[0] == '\0') {
		inifile_fail(ini, line, "key '%s' outside any section", esc);
		return -1;
	}
	if ((sec = find_section(section, strlen(section), msg, sizeof msg)) == NULL) {
		inifile_fail(ini, line, "%s", msg);
		return -1;
	}
	text_escape(sesc, sizeof sesc, section, strlen(section));
	for (i = 0; i < NKEYS; i++) {
		if (strcmp(cfg_keys[i].section, sec->name) == 0 &&
		    strcasecmp(cfg_keys[i].name, name) == 0) {
			k = &cfg_keys[i];
			break;
		}
	}
	if (k == NULL) {
		inifile_fail(ini, line, "unknown key '%s' in [%s]", esc, sesc);
		return -1;
	}
	if (l->seen[i] != 0 && k->type != CFG_LIST && k->type != CFG_PATHLIST) {
		inifile_fail(ini, line, "[%s] %s is already set at line %u", k->section, k->name,
		    l->seen[i]);
		return -1;
	}
	if (!text_is_clean(value, strlen(value))) {
		inifile_fail(ini, line, "[%s] %s: control character or bad UTF-8 in the value",
		    k->section, k->name);
		return -1;
	}
	if (set_value(l->cfg, k, value, l->seen[i] != 0, msg, sizeof msg) == -1) {
		inifile_fail(ini, line, "%s", msg);
		return -1;
	}
	if (l->seen[i] == 0)
		l->seen[i] = line;
	return 0;
}

static const struct inifile_ops cfg_ops = {
	.section = cfg_section,
	.key = cfg_key,
	.header = "[section]",
	.long_hint = "split a list over several lines with the same key",
};

/* The built-in defaults; fatal when out of memory. */
struct rw_config *
config_default(void)
{
	struct rw_config *c = defaults(NULL, NULL);

	if (c == NULL)
		fatal("config_default");
	return c;
}

/* Reads path over the defaults. */
int
config_load(const char *path, struct rw_config **out, char *err, size_t errlen)
{
	struct cfg_load l;
	char *dir = NULL;
	int ret = -1;

	*out = NULL;
	memset(&l, 0, sizeof l);
	if ((dir = inifile_dir(path)) == NULL || (l.cfg = defaults(path, dir)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (inifile_parse(path, &cfg_ops, &l, err, errlen) == -1)
		goto out;
	*out = l.cfg;
	l.cfg = NULL;
	ret = 0;
out:
	free(dir);
	config_free(l.cfg);
	return ret;
}

/* Read-only access to a key's field. */
static const void *
cfield(const struct rw_config *c, size_t off)
{
	return (const char *)c + off;
}

/* 1 when key k has the same value in a and b. */
static int
same_value(const struct rw_config *a, const struct rw_config *b, const struct cfg_key *k)
{
	const char *const *la, *const *lb;
	size_t i, n;

	switch (k->type) {
	case CFG_STR:
	case CFG_PATH:
		return strcmp(*(const char *const *)cfield(a, k->off),
		    *(const char *const *)cfield(b, k->off)) == 0;
	case CFG_INT:
	case CFG_BOOL:
		return *(const int *)cfield(a, k->off) == *(const int *)cfield(b, k->off);
	case CFG_LONG:
		return *(const long *)cfield(a, k->off) == *(const long *)cfield(b, k->off);
	case CFG_DOUBLE:
		return *(const double *)cfield(a, k->off) == *(const double *)cfield(b, k->off);
	case CFG_LIST:
	case CFG_PATHLIST:
		n = *(const size_t *)cfield(a, k->count_off);
		if (n != *(const size_t *)cfield(b, k->count_off))
			return 0;
		la = *(const char *const *const *)cfield(a, k->off);
		lb = *(const char *const *const *)cfield(b, k->off);
		for (i = 0; i < n; i++)
			if (strcmp(la[i], lb[i]) != 0)
				return 0;
		return 1;
	}
	return 0;
}

/* The restart-only keys that differ between two configs. */
int
config_restart_keys(const struct rw_config *old, const struct rw_config *nw, char *buf,
    size_t len)
{
	const struct cfg_key *k;
	size_t i, used = 0;
	int w, count = 0;

	if (len > 0)
		buf[0] = '\0';
	for (i = 0; i < NKEYS; i++) {
		k = &cfg_keys[i];
		if (k->reload || same_value(old, nw, k))
			continue;
		count++;
		if (used < len) {
			w = snprintf(buf + used, len - used, "%s[%s] %s", used ? ", " : "",
			    k->section, k->name);
			used += w > 0 ? (size_t)w : 0;
		}
	}
	return count;
}

/* Frees the config and all its strings. */
void
config_free(struct rw_config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < NKEYS; i++) {
		switch (cfg_keys[i].type) {
		case CFG_STR:
		case CFG_PATH:
			free(*field_str(c, &cfg_keys[i]));
			break;
		case CFG_LIST:
		case CFG_PATHLIST:
			free_list(*field_list(c, &cfg_keys[i]), *field_count(c, &cfg_keys[i]));
			break;
		default:
			break;
		}
	}
	free(c->path);
	free(c->dir);
	free(c);
}
