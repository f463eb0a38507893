/*
 * test_arf.c — the complaint report reader (ui/arf.c, GMime): an RFC 5965 ARF report (its
 * Feedback-Type, Source-IP, Arrival-Date, Original-Mail-From, Reported-Domain), an X-ARF
 * mail with its YAML report part and the X-ARF JSON form, a JMRP-like mail whose source is
 * the lowest Received header written by Microsoft's servers (not the forged one below it
 * nor the internal hop above it), a base64 feedback part, control characters escaped, and
 * malformed variants refused with a reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "arf.h"

static const char ARF[] =
    "From: fbl@receiver.example\r\n"
    "To: abuse@provider.example\r\n"
    "Subject: FW: complaint\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/report; report-type=feedback-report; boundary=\"b1\"\r\n"
    "\r\n"
    "--b1\r\nContent-Type: text/plain\r\n\r\nAn abuse report.\r\n"
    "--b1\r\nContent-Type: message/feedback-report\r\n\r\n"
    "Feedback-Type: abuse\r\nUser-Agent: Gen/1.0\r\nVersion: 1\r\n"
    "Original-Mail-From: <offers@spam.example>\r\n"
    "Arrival-Date: Sun, 06 Dec 2026 10:00:00 +0000\r\n"
    "Source-IP: 203.0.113.7\r\n"
    "Reported-Domain: spam\x01.example\r\n"
    "--b1\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@y\r\nSubject: s\r\n\r\nbody\r\n"
    "--b1--\r\n";

static const char XARF[] =
    "From: reports@desk.example\r\nX-ARF: YES\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b2\"\r\n\r\n"
    "--b2\r\nContent-Type: text/plain\r\n\r\nSpam from 2001:db8::25.\r\n"
    "--b2\r\nContent-Type: text/plain; name=\"report.txt\"\r\n\r\n"
    "Reported-From: reports@desk.example\r\nCategory: abuse\r\nReport-Type: spam\r\n"
    "Date: Sun, 06 Dec 2026 11:30:00 +0100\r\nSource-Type: ipv6\r\n"
    "Source: '2001:db8::25'\r\n"
    "--b2\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@y\r\n\r\nb\r\n--b2--\r\n";

static const char XJSON[] =
    "  {\"Version\":\"4\",\"Report\":{\"ReportClass\":\"Content\",\"ReportType\":\"spam\","
    "\"Date\":\"2026-12-06T10:00:00Z\",\"SourceIp\":\"198.51.100.9\"}}";

static const char JMRP[] =
    "From: staff@hotmail.com\r\nSubject: complaint\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b3\"\r\n\r\n"
    "--b3\r\nContent-Type: text/plain\r\n\r\nA complaint.\r\n"
    "--b3\r\nContent-Type: message/rfc822\r\n\r\n"
    "Received: from BN8PR.namprd.prod.outlook.com (2603:10b6::1) by CH2PR.outlook.com with "
    "HTTPS; Sun, 6 Dec 2026 09:10:00 +0000\r\n"
    "Received: from mail.example.net ([192.0.2.77]) by BN8NAM.mail.protection.outlook.com\r\n"
    " (10.1.2.3) with Microsoft SMTP Server; Sun, 6 Dec 2026 09:00:00 +0000\r\n"
    "Received: from forged ([10.9.9.9]) by mx.hotmail.com; Sun, 6 Dec 2026 08:00:00 +0000\r\n"
    "From: offers@spam.example\r\nSubject: offer\r\n\r\nbody\r\n--b3--\r\n";

static void
test_arf(void **state)
{
	struct arf_report r;
	char err[300], a[ADDR_STRLEN];

	(void)state;
	assert_int_equal(arf_parse(ARF, sizeof ARF - 1, &r, err, sizeof err), 0);
	assert_int_equal(r.kind, ARF_ARF);
	assert_string_equal(addr_format(&r.ip, a, sizeof a), "203.0.113.7");
	assert_int_equal(r.at, 1796551200);	/* 2026-12-06 10:00 UTC */
	assert_string_equal(r.feedback_type, "abuse");
	assert_string_equal(r.mail_from, "offers@spam.example");
	assert_string_equal(r.reported_domain, "spam\\x01.example");
}

static void
test_xarf(void **state)
{
	struct arf_report r;
	char err[300], a[ADDR_STRLEN];

	(void)state;
	assert_int_equal(arf_parse(XARF, sizeof XARF - 1, &r, err, sizeof err), 0);
	assert_int_equal(r.kind, ARF_XARF);
	assert_string_equal(addr_format(&r.ip, a, sizeof a), "2001:db8::25");
	assert_int_equal(r.at, 1796551200 + 1800);	/* 11:30 +0100 */
	assert_string_equal(r.feedback_type, "spam");
	assert_int_equal(arf_parse(XJSON, sizeof XJSON - 1, &r, err, sizeof err), 0);
	assert_int_equal(r.kind, ARF_XARF);
	assert_string_equal(addr_format(&r.ip, a, sizeof a), "198.51.100.9");
	assert_int_equal(r.at, 1796551200);
	assert_string_equal(r.feedback_type, "spam");
}

static void
test_jmrp(void **state)
{
	struct arf_report r;
	char err[300], a[ADDR_STRLEN];

	(void)state;
	assert_int_equal(arf_parse(JMRP, sizeof JMRP - 1, &r, err, sizeof err), 0);
	assert_int_equal(r.kind, ARF_JMRP);
	/* not the internal hop above (2603:10b6::1) nor the forged "by mx.hotmail.com" below */
	assert_string_equal(addr_format(&r.ip, a, sizeof a), "192.0.2.77");
	assert_int_equal(r.at, 1796547600);	/* 2026-12-06 09:00 UTC */
	assert_string_equal(r.feedback_type, "abuse");
}

static void
test_bad(void **state)
{
	static const char plain[] = "From: a@b\r\nSubject: hi\r\n\r\nnothing\r\n";
	static const char noip[] =
	    "Content-Type: multipart/report; report-type=feedback-report; boundary=x\r\n\r\n"
	    "--x\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n"
	    "Source-IP: 300.1.2.3\r\n--x--\r\n";
	struct arf_report r;
	char err[300];

	(void)state;
	assert_int_equal(arf_parse(plain, sizeof plain - 1, &r, err, sizeof err), -1);
	assert_non_null(strstr(err, "neither ARF"));
	assert_int_equal(arf_parse(noip, sizeof noip - 1, &r, err, sizeof err), -1);
	assert_string_equal(err, "arf report without a readable source IP");
	assert_int_equal(arf_parse("{\"a\":", 5, &r, err, sizeof err), -1);
	assert_string_equal(err, "X-ARF JSON: not a JSON object");
	assert_int_equal(arf_parse("", 0, &r, err, sizeof err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arf),
		cmocka_unit_test(test_xarf),
		cmocka_unit_test(test_jmrp),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests_name("arf", tests, NULL, NULL);
}
