/*
 * reports.c — `rangewatch report` (see reports.h). For: the abuse desk. Owns: one report's
 * bytes at a time (at most REPORT_MAX) and one connection. Never: sends the mail itself
 * (only the fields arf_parse() took, escaped), prints a report's text unescaped.
 */
#include "reports.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "arf.h"
#include "client.h"
#include "text.h"

#define REPORT_MAX	(4u << 20)	/* bytes of one report */
#define TIMEOUT_MS	10000

/* The whole of f, at most REPORT_MAX bytes; NULL when unreadable or too big. */
static char *
slurp(FILE *f, size_t *len)
{
	size_t cap = 65536, n = 0, k;
	char *b = malloc(cap), *q;

	while (b != NULL && (k = fread(b + n, 1, cap - n, f)) > 0) {
		n += k;
		if (n == cap) {
			if (cap >= REPORT_MAX + 1 || (q = realloc(b, cap * 2)) == NULL) {
				free(b);
				return NULL;
			}
			b = q;
			cap *= 2;
		}
	}
	if (b == NULL || ferror(f) || n > REPORT_MAX) {
		free(b);
		return NULL;
	}
	*len = n;
	return b;
}

static int
one(struct client *cl, const char *name, FILE *f, int json, int dry)
{
	struct arf_report r;
	char err[300], ip[ADDR_STRLEN], nesc[200], when[40];
	json_t *args, *res = NULL;
	size_t len;
	char *buf = slurp(f, &len);
	time_t t;
	struct tm tm;

	text_escape(nesc, sizeof nesc, name, strlen(name));
	if (buf == NULL) {
		fprintf(stderr, "rangewatch report: %s: unreadable, or over 4 MiB\n", nesc);
		return -1;
	}
	if (arf_parse(buf, len, &r, err, sizeof err) == -1) {
		free(buf);
		fprintf(stderr, "rangewatch report: %s: %s\n", nesc, err);
		return -1;
	}
	free(buf);
	addr_format(&r.ip, ip, sizeof ip);
	t = (time_t)r.at;
	if (r.at == 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(when, sizeof when, "an unknown time");
	args = json_pack("{s:s, s:s, s:o, s:s, s:s, s:s}", "ip", ip, "kind",
	    arf_kind_name(r.kind), "at", r.at ? json_integer(r.at) : json_null(),
	    "feedback_type", r.feedback_type, "reported_domain", r.reported_domain,
	    "mail_from", r.mail_from);
	if (args == NULL) {
		fprintf(stderr, "rangewatch report: out of memory\n");
		return -1;
	}
	if (dry) {
		if (json)
			text_json_dumpf(args, stdout, JSON_COMPACT);
		else
			printf("%s: %s %s from %s at %s (not sent: --dry-run)", nesc,
			    arf_kind_name(r.kind), r.feedback_type[0] ? r.feedback_type : "report",
			    ip, when);
		printf("\n");
		json_decref(args);
		return 0;
	}
	if (client_call(cl, "complaint", args, &res, TIMEOUT_MS, err, sizeof err) == -1) {
		json_decref(args);
		fprintf(stderr, "rangewatch report: %s: %s\n", nesc, err);
		return -1;
	}
	json_decref(args);
	if (json) {
		/* the daemon's name and id are a third party's text: ASCII, DEL escaped */
		text_json_dumpf(res, stdout, JSON_COMPACT);
		printf("\n");
	} else {
		const json_t *cu = json_object_get(res, "customer");
		const char *id = json_string_value(cu), *cn = json_string_value(
		    json_object_get(res, "name"));
		char cid[80], cname[160];

		id = id != NULL ? id : "";
		cn = cn != NULL ? cn : "";
		text_escape(cid, sizeof cid, id, strlen(id));
		text_escape(cname, sizeof cname, cn, strnlen(cn, 150));
		if (json_is_string(cu))
			printf("%s: %s %s from %s at %s: customer %s %s, %lld complaint(s) in the "
			    "last day (stored as %lld)\n", nesc, arf_kind_name(r.kind),
			    r.feedback_type[0] ? r.feedback_type : "report", ip, when, cid, cname,
			    (long long)json_integer_value(json_object_get(res, "complaints")),
			    (long long)json_integer_value(json_object_get(res, "id")));
		else
			printf("%s: %s %s from %s at %s: not a customer's address (stored as "
			    "%lld)\n", nesc, arf_kind_name(r.kind), r.feedback_type[0] ?
			    r.feedback_type : "report", ip, when,
			    (long long)json_integer_value(json_object_get(res, "id")));
	}
	json_decref(res);
	return 0;
}

int
reports_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *config = NULL, *sock = NULL;
	char path[512], err[300];
	struct client *cl = NULL;
	int ch, json = 0, dry = 0, rc = 0, i;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:s:jnh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 's': sock = optarg; break;
		case 'j': json = 1; break;
		case 'n': dry = 1; break;
		case 'h':
		default:
			fprintf(ch == 'h' ? stdout : stderr, "usage: rangewatch report [-c FILE] "
			    "[-s SOCKET] [--json] [--dry-run] [FILE...]\nGives complaint reports "
			    "(ARF, X-ARF, Hotmail JMRP; standard input without FILE) to the daemon "
			    "(operators only).\n");
			return ch == 'h' ? 0 : 2;
		}
	}
	if (!dry) {
		if (client_socket_path(sock, config, path, sizeof path, err, sizeof err) == -1 ||
		    (cl = client_connect(path, err, sizeof err)) == NULL) {
			fprintf(stderr, "rangewatch report: %s\n", err);
			return 1;
		}
	}
	if (optind == argc)
		rc = one(cl, "(standard input)", stdin, json, dry) == -1;
	for (i = optind; i < argc; i++) {
		FILE *f = fopen(argv[i], "re");
		if (f == NULL) {
			char e[200];
			text_escape(e, sizeof e, argv[i], strlen(argv[i]));
			fprintf(stderr, "rangewatch report: cannot open %s\n", e);
			rc = 1;
			continue;
		}
		if (one(cl, argv[i], f, json, dry) == -1)
			rc = 1;
		fclose(f);
	}
	client_free(cl);
	return rc;
}
