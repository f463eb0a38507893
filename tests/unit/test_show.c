/*
 * test_show.c — unit tests of the read and acting subcommands' text output (ui/show.c,
 * ui/act.c): hand-built results in the shapes of monitor/views.h go through the printers
 * into an open_memstream, and the text is checked: the columns, escaping of hostile text
 * (ESC sequences, CR/LF, C1 controls, invalid UTF-8) wherever the daemon's strings appear,
 * missing and null fields, the order of levels, relative times, 80 columns, and the checks
 * of the operators' arguments. ui/ is not in librw.a, so the files under test are
 * included here (client.c too: show_run calls it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../ui/client.c"
#include "../../ui/show.c"
#include "../../ui/act.c"

#define NOW	1700000000	/* 2023-11-14 22:13:20 UTC */

/* A JSON document written with ' for " (easier to read in C); the test fails if it does
 * not parse. */
static json_t *
J(const char *text)
{
	json_error_t e;
	char *s = strdup(text), *p;
	json_t *j;

	assert_non_null(s);
	for (p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	j = json_loads(s, 0, &e);
	if (j == NULL)
		fail_msg("fixture: %s at %d: %s", e.text, e.position, s);
	free(s);
	return j;
}

/* Every line of out is valid UTF-8 without a character a terminal would act on (C0 but
 * LF, DEL, C1, bidi overrides: text_is_clean), at most 80 code points wide, without
 * trailing blanks. */
static void
check_clean(const char *out)
{
	const char *p = out, *nl;
	size_t len, i, col;

	for (; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			fail_msg("output does not end with a newline:\n%s", out);
		len = (size_t)(nl - p);
		if (!text_is_clean(p, len))
			fail_msg("raw control or invalid UTF-8 in: %.*s", (int)len, p);
		for (i = 0, col = 0; i < len; i++)
			if (((unsigned char)p[i] & 0xc0) != 0x80)
				col++;
		if (col > 80)
			fail_msg("a line of %zu columns: %.*s", col, (int)len, p);
		if (len > 0 && p[len - 1] == ' ')
			fail_msg("a line with trailing blanks: '%.*s'", (int)len, p);
	}
}

/* Runs printer fn on result r (consumed) and returns its text (free it). */
static char *
render(show_fn fn, json_t *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fn(f, r, NOW), 0);
	assert_int_equal(fclose(f), 0);
	json_decref(r);
	if (getenv("SHOW_DUMP"))
		fputs(buf, stderr);
	check_clean(buf);
	return buf;
}

/* The line of out that starts with prefix, copied into line (fails when there is none). */
static const char *
line_of(const char *out, const char *prefix, char *line, size_t len)
{
	const char *p = out, *nl;

	for (;;) {
		if (strncmp(p, prefix, strlen(prefix)) == 0) {
			nl = strchr(p, '\n');
			snprintf(line, len, "%.*s", (int)(nl ? nl - p : (long)strlen(p)), p);
			return line;
		}
		if ((p = strchr(p, '\n')) == NULL)
			fail_msg("no line starting '%s' in:\n%s", prefix, out);
		p++;
	}
}

static void
assert_has(const char *out, const char *want)
{
	if (strstr(out, want) == NULL)
		fail_msg("'%s' not in:\n%s", want, out);
}

/* --- customers ------------------------------------------------------------------------- */

static const char CUSTOMERS[] =
    "{'total':5,'customers':["
    "{'id':'4711','name':'Acme VPS','level':'act','score':12.5,'since':1699990000,"
    " 'ack':null,'tags':[],'ips':['203.0.113.0/28'],'listed_ips':2,'suspect_ips':1,"
    " 'smtp_1h':{'sessions':1240,'rcpt':3000,'replies_5xx':37,'cited':35,'dst':380},"
    " 'spark':[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,3,1240],"
    " 'evidence':['203.0.113.7 listed on uceprotect-1 since 09:12',"
    "             'range 203.0.113.0/24 at 3 of 4 impacts toward uceprotect-2'],"
    " 'neighbourhoods':[{'policy':'uceprotect-3','scope':'asn','key':'AS64500','impacts':31,"
    "   'suspects':0,'threshold':50,'pressure':0.62,'projected':0.62},"
    "  {'policy':'uceprotect-2','scope':'range','key':'203.0.113.0/24','impacts':3,"
    "   'suspects':1,'threshold':4,'pressure':0.75,'projected':1.0}]},"
    "{'id':'66','name':'\\u001b[31mEvil\\r\\nCorp','level':'warn','score':3,'since':null,"
    " 'ack':{'by':'alice','reason':'known \\u001b]0;pwn\\u0007 test','ts':1699999000},"
    " 'tags':['never_suspend'],'ips':[],'listed_ips':0,'suspect_ips':1,"
    " 'smtp_1h':{'sessions':12,'rcpt':12,'replies_5xx':0,'cited':0,'dst':3},"
    " 'evidence':['customer 66 \\u001b[31mEvil\\r\\nCorp: 300 sessions\\u009b2J'],"
    " 'neighbourhoods':[]},"
    "{'id':'7','name':'Quiet','level':'watch','score':0.5,'listed_ips':1,'suspect_ips':0,"
    " 'smtp_1h':null,'evidence':null,'neighbourhoods':null,'ack':null}"
    "]}";

static void
test_customers_columns(void **state)
{
	char line[256], *out;

	(void)state;
	out = render(show_customers, J(CUSTOMERS));
	/* the header, and the row under it column by column; the worst neighbourhood is the
	 * one with the highest projected pressure, with its suspects in parentheses */
	assert_string_equal(line_of(out, "LEVEL", line, sizeof line),
	    "LEVEL ID     NAME         SCORE   L/S  S/1H WORST NEIGHBOURHOOD");
	assert_string_equal(line_of(out, "act", line, sizeof line),
	    "act   4711   Acme VPS      12.5   2/1  1240 203.0.113.0/24 uceprotect-2 3/4 (+1)");
	/* the evidence of a flagged customer, indented under it */
	assert_has(out, "act   4711 ");
	assert_has(out, "\n      203.0.113.7 listed on uceprotect-1 since 09:12\n"
	    "      range 203.0.113.0/24 at 3 of 4 impacts toward uceprotect-2\n");
	/* not every customer was shown */
	assert_has(out, "3 of 5 customers shown (--limit 0 shows all)");
	free(out);
}

static void
test_customers_hostile_name(void **state)
{
	char line[256], *out;

	(void)state;
	out = render(show_customers, J(CUSTOMERS));
	/* the name cell is cut to its width, after escaping: the ESC is text, not a colour */
	assert_string_equal(line_of(out, "warn", line, sizeof line),
	    "warn  66     \\x1b[31mEvi~   3.0   0/1    12");
	/* in the evidence line, in full, CR and LF and the 8-bit CSI (U+009B) escaped */
	assert_has(out, "      customer 66 \\x1b[31mEvil\\x0d\\x0aCorp: 300 sessions"
	    "\\xc2\\x9b2J\n");
	/* the acknowledgement's reason holds an OSC title sequence */
	assert_has(out, "      acknowledged by alice at 2023-11-14 21:56: known "
	    "\\x1b]0;pwn\\x07 test\n");
	free(out);
}

static void
test_customers_order_and_nulls(void **state)
{
	const char *act, *warn, *watch;
	char line[256], *out;

	(void)state;
	out = render(show_customers, J(CUSTOMERS));
	act = strstr(out, "\nact ");
	warn = strstr(out, "\nwarn ");
	watch = strstr(out, "\nwatch ");
	assert_non_null(act);
	assert_non_null(warn);
	assert_non_null(watch);
	assert_true(act < warn && warn < watch);
	/* smtp_1h, evidence and neighbourhoods null: dashes and nothing under it */
	assert_string_equal(line_of(out, "watch", line, sizeof line),
	    "watch 7      Quiet          0.5   1/0     -");
	free(out);
	/* no customer at all, or no array: said so */
	out = render(show_customers, J("{'total':0,'customers':[]}"));
	assert_string_equal(out, "no flagged customer (--all shows every customer)\n");
	free(out);
	out = render(show_customers, J("{}"));
	assert_string_equal(out, "no flagged customer (--all shows every customer)\n");
	free(out);
}

static void
test_invalid_utf8_name(void **state)
{
	json_t *r = J(CUSTOMERS), *c = json_array_get(json_object_get(r, "customers"), 2);
	char *out;

	(void)state;
	/* jansson refuses invalid UTF-8 when it parses, but a result built in memory could
	 * hold it: each bad byte is shown as \xNN */
	json_object_set_new(c, "name", json_stringn_nocheck("Q\xff\xc3", 3));
	out = render(show_customers, r);
	assert_has(out, "watch 7      Q\\xff\\xc3 ");
	free(out);
}

static void
test_not_an_object(void **state)
{
	FILE *f = fopen("/dev/null", "w");
	json_t *a = json_array();

	(void)state;
	assert_non_null(f);
	assert_int_equal(show_status(f, a, NOW), -1);
	assert_int_equal(show_customers(f, a, NOW), -1);
	assert_int_equal(show_customer(f, json_null(), NOW), -1);
	assert_int_equal(show_ranges(f, a, NOW), -1);
	assert_int_equal(show_listings(f, a, NOW), -1);
	assert_int_equal(show_alerts(f, NULL, NOW), -1);
	assert_int_equal(act_print(f, a, NOW), -1);
	json_decref(a);
	fclose(f);
}

/* --- one customer ----------------------------------------------------------------------- */

static const char CUSTOMER[] =
    "{'id':'66','name':'\\u001b[31mEvil\\r\\nCorp','level':'act','score':9.25,"
    " 'since':1699996400,'ack':null,'tags':['vps','never_suspend'],"
    " 'ips':['198.51.100.0/29','2001:db8::/64'],'listed_ips':1,'suspect_ips':1,"
    " 'smtp_1h':{'sessions':300,'rcpt':900,'replies_5xx':12,'cited':4,'dst':120},"
    " 'evidence':['198.51.100.3 listed on spamcop'],"
    " 'neighbourhoods':[{'policy':'uceprotect-2','scope':'range','key':'198.51.100.0/24',"
    "   'impacts':2,'suspects':1,'threshold':4,'pressure':0.5,'projected':0.75}],"
    " 'contact':'abuse@evil.example',"
    " 'addresses':["
    "  {'ip':'198.51.100.3','first_seen':1699900000,'last_seen':1699999700,'sessions':300,"
    "   'mail_from':310,'rcpt_to':900,'data':280,'starttls':2,'replies_4xx':7,"
    "   'replies_5xx':12,'cited':4,'dst':120,'suspect':true,'rules':['rate','fanout'],"
    "   'listings':[{'list':'spamcop','listed':true,'codes':'127.0.0.2',"
    "     'txt':'Blocked - see https://www.spamcop.net/bl.shtml?198.51.100.3\\r\\n',"
    "     'first_seen':1699993000,'last_seen':1699999000},"
    "    {'list':'zen','listed':false,'codes':null,'txt':null,'first_seen':null,"
    "     'last_seen':null},"
    "    {'list':'psbl','listed':false,'codes':'','txt':'','first_seen':1699800000,"
    "     'last_seen':1699810000}]},"
    "  {'ip':'2001:db8:ffff:1234::25','first_seen':null,'last_seen':null,'sessions':null,"
    "   'suspect':false,'rules':null,'listings':null}],"
    " 'history':[{'id':9,'ts':1699996400,'customer':'66','name':'\\u001b[31mEvil\\r\\nCorp',"
    "   'level':'act','previous':'warn','score':9.25,'evidence':['worse']}],"
    " 'audit':[{'id':17,'ts':1699998000,'actor':'bob','action':'suspend','customer':'66',"
    "   'reason':'spam run\\u001b[2J','outcome':'hook exit 0: done\\nmore'}]}";

static void
test_customer_detail(void **state)
{
	char line[256], *out;

	(void)state;
	out = render(show_customer, J(CUSTOMER));
	assert_string_equal(line_of(out, "customer", line, sizeof line),
	    "customer  66  \\x1b[31mEvil\\x0d\\x0aCorp");
	assert_string_equal(line_of(out, "level", line, sizeof line),
	    "level     act, score 9.2, since 2023-11-14 21:13");
	assert_string_equal(line_of(out, "tags", line, sizeof line), "tags      vps never_suspend");
	assert_string_equal(line_of(out, "cidrs", line, sizeof line),
	    "cidrs     198.51.100.0/29 2001:db8::/64");
	assert_string_equal(line_of(out, "smtp 1h", line, sizeof line),
	    "smtp 1h   300 sessions, 900 RCPT, 12 5xx (4 citing a list), 120 destinations");
	/* the counters of an address, under their headers */
	assert_string_equal(line_of(out, "IP ", line, sizeof line),
	    "IP                SESS  FROM   RCPT  DATA  TLS  4XX  5XX CITED   DST  LAST SEEN");
	assert_string_equal(line_of(out, "198.51.100.3", line, sizeof line),
	    "198.51.100.3       300   310    900   280    2    7   12     4   120     5m ago");
	assert_has(out, "\n    suspect: rate, fanout\n");
	/* its listings: the TXT with its CR/LF escaped; a clean one without times */
	assert_has(out, "\n    spamcop listed since 2023-11-14 20:16, seen 16m ago: 127.0.0.2 "
	    "Blocked - see\n");
	assert_has(out, "https://www.spamcop.net/bl.shtml?198.51.100.3\\x0d\\x0a\n");
	assert_has(out, "\n    zen clean\n");
	assert_has(out, "\n    psbl clean now, listed from 2023-11-12 14:40 to 2023-11-12 17:26\n");
	/* an IPv6 address wider than its column pushes the next cell, the row realigns at
	 * once; nulls as dashes */
	assert_string_equal(line_of(out, "2001:db8:ffff:1234::25", line, sizeof line),
	    "2001:db8:ffff:1234::25 -   -      -     -    -    -    -     -     -          -");
	/* history and audit, escaped */
	assert_has(out, "warn -> act");
	assert_has(out, "  #17 bob        suspend   66       spam run\\x1b[2J\n");
	assert_has(out, "\n    outcome: hook exit 0: done\\x0amore\n");
	free(out);
}

static void
test_customer_minimal(void **state)
{
	char *out;

	(void)state;
	/* only an id: every section is there, empty, and nothing crashes */
	out = render(show_customer, J("{'id':'1','name':null,'addresses':null,'history':null}"));
	assert_has(out, "customer  1  -\n");
	assert_has(out, "level     -, score 0.0, since -\n");
	assert_has(out, "contact   -\ntags      -\ncidrs     -\n");
	assert_has(out, "evidence:\n  (none)\n\nneighbourhoods:\n  (none)\n");
	assert_has(out, "addresses (counters since first seen):\n  (none)\n");
	assert_has(out, "level changes, newest first:\n  (none)\n");
	free(out);
}

/* --- ranges ------------------------------------------------------------------------------ */

static void
test_ranges(void **state)
{
	char line[256], *out;

	(void)state;
	out = render(show_ranges, J("{'total':3,'neighbourhoods':["
	    "{'policy':'uceprotect-2','scope':'range','key':'203.0.113.0/24','impacts':4,"
	    " 'suspects':0,'threshold':4,'pressure':1.0,'projected':1.0,'spamscore':null,"
	    " 'ips':256,'customer_ips':180,'escalated':true,'escalated_since':1699990000,"
	    " 'list_count':231,'eta_threshold':0,'clear_at':1700604800,'clear_all_at':null,"
	    " 'contributors':[{'id':'4711','name':'Acme \\u001b[1mVPS','impacts':3,'suspects':0},"
	    "                 {'id':'9','name':'B','impacts':1,'suspects':2}]},"
	    "{'policy':'uceprotect-2','scope':'range','key':'198.51.100.0/24','impacts':3,"
	    " 'suspects':1,'threshold':4,'pressure':0.75,'projected':1.0,'escalated':false,"
	    " 'eta_threshold':1700187200,'clear_at':1699990000,'list_count':null,"
	    " 'contributors':[]},"
	    "{'policy':'uceprotect-3','scope':'asn','key':'AS64500','impacts':31,'suspects':0,"
	    " 'threshold':50,'pressure':0.62,'projected':0.62,'spamscore':46.5,'ips':65536,"
	    " 'customer_ips':60000,'escalated':false,'eta_threshold':null,'clear_at':null}]}"));
	assert_string_equal(line_of(out, "KEY", line, sizeof line),
	    "KEY                POLICY       IMPACTS +SUS PRESS  PROJ       ETA      CLEAR");
	assert_string_equal(line_of(out, "203.0.113.0/24", line, sizeof line),
	    "203.0.113.0/24     uceprotect-2     4/4       100%  100% ESCALATED      in 7d");
	/* its detail: what the list's TXT counts, the blast radius, the contributors */
	assert_has(out, "\n  escalated since 2023-11-14 19:26; the list's TXT counts 231; 256 "
	    "IPs, 180 of\n    customers; contributors: 4711 Acme \\x1b[1mVPS (3+0), 9 B (1+2)\n");
	/* a forecast in the future reads as a duration, one in the past as done */
	assert_string_equal(line_of(out, "198.51.100.0/24", line, sizeof line),
	    "198.51.100.0/24    uceprotect-2     3/4   +1   75%  100%   in 2d4h    cleared");
	assert_string_equal(line_of(out, "AS64500", line, sizeof line),
	    "AS64500            uceprotect-3   31/50        62%   62%         -          -");
	assert_has(out, "\n  65536 IPs, 60000 of customers; SPAMSCORE 46.5\n");
	free(out);
	out = render(show_ranges, J("{'total':0,'neighbourhoods':null}"));
	assert_string_equal(out, "no neighbourhood under pressure\n");
	free(out);
}

/* --- listings ----------------------------------------------------------------------------- */

static void
test_listings(void **state)
{
	char line[256], *out;

	(void)state;
	out = render(show_listings, J("{'total':2,'listings':["
	    "{'list':'uceprotect-1','key':'203.0.113.7','scope':'ip','listed':true,"
	    " 'codes':'127.0.0.2','txt':'IP 203.0.113.7 is \\u001b[5mUCEPROTECT\\r\\nlisted',"
	    " 'first_seen':1699960000,'last_seen':1699999100,'checked':1699999900,"
	    " 'customer':'4711','expires':1700603900},"
	    "{'list':'zen','key':'203.0.113.9','scope':'ip','listed':false,'codes':null,"
	    " 'txt':null,'first_seen':null,'last_seen':1699000000,'checked':null,"
	    " 'customer':null,'expires':null}]}"));
	assert_string_equal(line_of(out, "LIST", line, sizeof line),
	    "LIST         KEY                SINCE                SEEN   EXPIRES CUSTOMER");
	assert_string_equal(line_of(out, "uceprotect-1", line, sizeof line),
	    "uceprotect-1 203.0.113.7        2023-11-14 11:06  15m ago  in 6d23h 4711");
	assert_has(out, "\n    127.0.0.2 IP 203.0.113.7 is \\x1b[5mUCEPROTECT\\x0d\\x0alisted\n");
	/* with --all, a clean key: no since, no expiry, no customer */
	assert_string_equal(line_of(out, "zen", line, sizeof line),
	    "zen          203.0.113.9        clean            11d13h ago         -");
	free(out);
}

/* --- alerts ------------------------------------------------------------------------------- */

static void
test_alerts(void **state)
{
	char line[256], *out;

	(void)state;
	out = render(show_alerts, J("{'flags':["
	    "{'id':3,'ts':1699999800,'customer':'4711','name':'Acme VPS','level':'act',"
	    " 'previous':'warn','score':12.5,'evidence':['range at 4 of 4']},"
	    "{'id':2,'ts':1699990000,'customer':'66','name':'\\u001b[31mEvil','level':'warn',"
	    " 'previous':'none','score':null,'evidence':null}],"
	    "'audit':[{'id':17,'ts':1699999900,'actor':'root','action':'ack','customer':'4711',"
	    " 'reason':'ticket 123; a long reason that has to wrap at the end of the line so',"
	    " 'outcome':null}]}"));
	assert_string_equal(line_of(out, "TIME             CUSTOMER", line, sizeof line),
	    "TIME             CUSTOMER NAME             CHANGE          SCORE");
	assert_string_equal(line_of(out, "2023-11-14 22:10", line, sizeof line),
	    "2023-11-14 22:10 4711     Acme VPS         warn -> act      12.5");
	assert_has(out, "\n    range at 4 of 4\n");
	assert_string_equal(line_of(out, "2023-11-14 19:26", line, sizeof line),
	    "2023-11-14 19:26 66       \\x1b[31mEvil     none -> warn        -");
	/* the audit row: its reason wraps under its own column */
	assert_has(out, "2023-11-14 22:11    #17 root       ack       4711     ticket 123; a "
	    "long reason\n                                                      that has to "
	    "wrap at the\n                                                      end of the "
	    "line so\n");
	assert_int_equal(strncmp(out, "level changes, newest first:\n", 29), 0);
	free(out);
	out = render(show_alerts, J("{}"));
	assert_string_equal(out, "level changes, newest first:\n  (none)\n\n"
	    "audit log, newest first:\n  (none)\n");
	free(out);
}

/* --- status ------------------------------------------------------------------------------- */

static void
test_status(void **state)
{
	char line[256], *out;

	(void)state;
	out = render(show_status, J("{'version':'0.4','pid':4242,'started':1699726400,'uptime':273600,"
	    "'now':1700000000,'clock':'replay',"
	    "'capture':{'source':'replay','interface':null,'packets':12345678,'smtp':45678,"
	    " 'malformed':3,'truncated':0,'pps':1234.5,'drops':0,'ifdrops':0,"
	    " 'replay':{'files':3,'done':false,'speed':0,'frames':12345678}},"
	    "'ips':1234,'customers':567,'levels':{'watch':5,'warn':2,'act':1},"
	    "'lists':[{'name':'uceprotect-1','zone':'dnsbl-1.uceprotect.net','scope':'ip',"
	    "  'enabled':true,'health':'ok','reason':null},"
	    " {'name':'zen','zone':'zen.spamhaus.org','scope':'ip','enabled':true,"
	    "  'health':'blocked','reason':'127.255.255.254: \\u001b[31mopen resolver'},"
	    " {'name':'psbl','zone':'psbl.surriel.com','scope':'ip','enabled':false,"
	    "  'health':'unknown','reason':null}],"
	    "'dnsbl':{'asked':1000,'answered':998,'listed':7,'last_answer':1699999880},"
	    "'evaluated':1699999940,'clients':3,'tracked_ips_refused':0,"
	    "'control':{'refused':2,'dropped_bad':1234},'hooks':{'output_cut':1}}"));
	assert_string_equal(line_of(out, "rangewatchd", line, sizeof line),
	    "rangewatchd 0.4, pid 4242, up since 2023-11-11 18:13 (3d4h)");
	assert_string_equal(line_of(out, "clock", line, sizeof line),
	    "clock     replay, 2023-11-14 22:13");
	assert_string_equal(line_of(out, "capture", line, sizeof line),
	    "capture   replay, 1234.5 pps");
	assert_has(out, "\n          12,345,678 packets, 45,678 SMTP, 3 malformed, 0 truncated\n"
	    "          0 dropped, 0 by the interface\n"
	    "          replay: 3 files as fast as it goes, 12,345,678 frames, running\n");
	assert_string_equal(line_of(out, "levels", line, sizeof line),
	    "levels    act 1, warn 2, watch 5");
	assert_string_equal(line_of(out, "dnsbl", line, sizeof line),
	    "dnsbl     1,000 asked, 998 answered, 7 listed now, last answer 2m ago");
	assert_string_equal(line_of(out, "evaluated", line, sizeof line),
	    "evaluated 2023-11-14 22:12 (1m ago)");
	assert_has(out, "\nlimits    2 connections refused, 1,234 bad clients dropped,\n"
	    "          1 hook outputs cut at 8 KiB\n");
	assert_string_equal(line_of(out, "LIST", line, sizeof line),
	    "LIST             ZONE                       SCOPE HEALTH   REASON");
	assert_string_equal(line_of(out, "uceprotect-1", line, sizeof line),
	    "uceprotect-1     dnsbl-1.uceprotect.net     ip    ok");
	assert_string_equal(line_of(out, "zen", line, sizeof line),
	    "zen              zen.spamhaus.org           ip    blocked  127.255.255.254:");
	assert_has(out, "blocked  127.255.255.254:\n                                        "
	    "                   \\x1b[31mopen resolver\n");
	assert_string_equal(line_of(out, "psbl", line, sizeof line),
	    "psbl             psbl.surriel.com           ip    off");
	free(out);
	/* a daemon that says almost nothing: dashes and zeros, no crash */
	out = render(show_status, J("{'capture':null,'lists':null,'levels':null}"));
	assert_has(out, "rangewatchd -, pid -, up since - (-)\n");
	assert_has(out, "capture   -, 0.0 pps\n");
	assert_has(out, "limits    none reached\n");
	free(out);
}

/* --- acting ------------------------------------------------------------------------------ */

static void
test_act_print(void **state)
{
	char *out;

	(void)state;
	out = render(act_print, J("{'audit_id':17,'customer':'1001','action':'suspend',"
	    "'outcome':'hook exited 0\\r\\n\\u001b[31mdone'}"));
	assert_string_equal(out, "suspend customer 1001: hook exited 0\\x0d\\x0a\\x1b[31mdone "
	    "(audit #17)\n");
	free(out);
	out = render(act_print, J("{'audit_id':18,'customer':'1001','level':'act'}"));
	assert_string_equal(out, "customer 1001 acknowledged at level act (audit #18)\n");
	free(out);
	out = render(act_print, J("{'customer':null,'action':null,'outcome':null}"));
	assert_string_equal(out, "- customer -: - (audit -)\n");
	free(out);
}

static void
test_check_arg(void **state)
{
	char s[202];

	(void)state;
	memset(s, 'a', sizeof s - 1);
	s[201] = '\0';
	s[200] = '\0';
	assert_int_equal(show_check_arg("t", "--reason", s, 200), 0);
	s[200] = 'a';
	assert_int_equal(show_check_arg("t", "--reason", s, 200), -1);
	assert_int_equal(show_check_arg("t", "--reason", "", 200), -1);
	assert_int_equal(show_check_arg("t", "--reason", "two\nlines", 200), -1);
	assert_int_equal(show_check_arg("t", "--reason", "cr\r", 200), -1);
	assert_int_equal(show_check_arg("t", "--reason", "\x1b[31mred", 200), -1);
	assert_int_equal(show_check_arg("t", "--reason", "tab\there", 200), -1);
	assert_int_equal(show_check_arg("t", "--reason", "bad \xff utf-8", 200), -1);
	assert_int_equal(show_check_arg("t", "--reason", "M\xc3\xbcller asked, ticket #12", 200),
	    0);
}

static void
test_durations(void **state)
{
	char b[32];
	json_t *o;

	(void)state;
	assert_string_equal(dur(b, sizeof b, 0), "0s");
	assert_string_equal(dur(b, sizeof b, 45), "45s");
	assert_string_equal(dur(b, sizeof b, 60), "1m");
	assert_string_equal(dur(b, sizeof b, 3600), "1h");
	assert_string_equal(dur(b, sizeof b, 5 * 3600 + 12 * 60 + 9), "5h12m");
	assert_string_equal(dur(b, sizeof b, 2 * 86400 + 4 * 3600 + 59), "2d4h");
	assert_string_equal(dur(b, sizeof b, 3 * 86400), "3d");
	o = J("{'a':1700000000,'b':1700000090,'c':1699996400,'z':0,'n':null}");
	assert_string_equal(rel(b, sizeof b, o, "a", NOW), "now");
	assert_string_equal(rel(b, sizeof b, o, "b", NOW), "in 1m");
	assert_string_equal(rel(b, sizeof b, o, "c", NOW), "1h ago");
	assert_string_equal(rel(b, sizeof b, o, "z", NOW), "-");
	assert_string_equal(rel(b, sizeof b, o, "n", NOW), "-");
	assert_string_equal(rel(b, sizeof b, o, "missing", NOW), "-");
	assert_string_equal(when(b, sizeof b, o, "c"), "2023-11-14 21:13");
	assert_string_equal(when(b, sizeof b, o, "n"), "-");
	json_decref(o);
}

static void
test_table_fits(void **state)
{
	static const struct col cols[] = { { "A", 3, 0 }, { "B", 4, COL_CUT | COL_RIGHT },
	    { "C", 5, COL_RIGHT }, { "D", 10, COL_WRAP } };
	const char *cells[4];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	/* a wide cell pushes the rest, which realigns as soon as it can; a cut one is marked */
	cells[0] = "abcdef"; cells[1] = "xy"; cells[2] = "1"; cells[3] = "end";
	table_row(f, 0, cols, 4, cells);
	cells[0] = "a"; cells[1] = "M\xc3\xbcller"; cells[2] = NULL; cells[3] = "";
	table_row(f, 2, cols, 4, cells);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(buf,
	    "abcdef xy    1 end\n"
	    "  a   M\xc3\xbcl~\n");
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_customers_columns),
		cmocka_unit_test(test_customers_hostile_name),
		cmocka_unit_test(test_customers_order_and_nulls),
		cmocka_unit_test(test_invalid_utf8_name),
		cmocka_unit_test(test_not_an_object),
		cmocka_unit_test(test_customer_detail),
		cmocka_unit_test(test_customer_minimal),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_listings),
		cmocka_unit_test(test_alerts),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_act_print),
		cmocka_unit_test(test_check_arg),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_table_fits),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
