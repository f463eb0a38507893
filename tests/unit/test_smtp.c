/*
 * test_smtp.c — the SMTP conversation follower: commands and replies split anywhere,
 * pipelining, bodies that look like commands, dot-stuffing, BDAT, STARTTLS, multi-line
 * replies, citations of lists, over-long lines and capture gaps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "smtp.h"

struct seen {
	int mail, rcpt, data, bdat_last, other, starttls, r2xx, r3xx, r4xx, r5xx, long_lines;
	uint64_t cites;		/* OR of all citation masks */
	int cite_count[4];
	int last_code;
};

static void
on_cmd(void *v, enum smtp_cmd c)
{
	struct seen *s = v;

	switch (c) {
	case SMTP_CMD_MAIL: s->mail++; break;
	case SMTP_CMD_RCPT: s->rcpt++; break;
	case SMTP_CMD_DATA: s->data++; break;
	case SMTP_CMD_BDAT_LAST: s->bdat_last++; break;
	default: s->other++; break;
	}
}

static void
on_reply(void *v, int code, uint64_t cites)
{
	struct seen *s = v;
	int w;

	s->last_code = code;
	if (code >= 500) s->r5xx++;
	else if (code >= 400) s->r4xx++;
	else if (code >= 300) s->r3xx++;
	else s->r2xx++;
	s->cites |= cites;
	for (w = 0; w < 4; w++)
		if (cites & (1u << w))
			s->cite_count[w]++;
}

static void
on_tls(void *v)
{
	((struct seen *)v)->starttls++;
}

static void
on_long(void *v)
{
	((struct seen *)v)->long_lines++;
}

static const struct smtp_sink sink = { on_cmd, on_reply, on_tls, on_long };
static const char *const words[] = { "spamhaus", "uceprotect", "spamcop", "barracuda" };

static void
client(struct smtp_state *st, struct seen *s, const char *t)
{
	smtp_client_data(st, (const uint8_t *)t, strlen(t), &sink, s);
}

static void
server(struct smtp_state *st, struct seen *s, const char *t)
{
	smtp_server_data(st, (const uint8_t *)t, strlen(t), &sink, s);
}

/* Feeds text to one side in pieces of n bytes. */
static void
client_split(struct smtp_state *st, struct seen *s, const char *t, size_t n)
{
	size_t len = strlen(t), i;

	for (i = 0; i < len; i += n)
		smtp_client_data(st, (const uint8_t *)t + i, len - i < n ? len - i : n, &sink, s);
}

static int
setup(void **state)
{
	(void)state;
	smtp_set_cite_words(words, 4);
	return 0;
}

static void
session(struct smtp_state *st, struct seen *s, size_t split)
{
	server(st, s, "220 mx.example ESMTP\r\n");
	client_split(st, s, "EHLO me\r\n", split);
	server(st, s, "250-mx.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
	client_split(st, s, "MAIL FROM:<a@b>\r\n", split);
	server(st, s, "250 ok\r\n");
	client_split(st, s, "RCPT TO:<x@y>\r\n", split);
	server(st, s, "250 ok\r\n");
	client_split(st, s, "RCPT TO:<z@y>\r\n", split);
	server(st, s, "550 5.1.1 no such user\r\n");
	client_split(st, s, "DATA\r\n", split);
	server(st, s, "354 go ahead\r\n");
	/* a body full of things that look like commands, and a dot-stuffed line */
	client_split(st, s, "Subject: hi\r\n\r\nMAIL FROM:<evil>\r\nRCPT TO:<no>\r\n..not end\r\n"
	    "DATA\r\n.\r\n", split);
	server(st, s, "250 queued\r\n");
	client_split(st, s, "QUIT\r\n", split);
	server(st, s, "221 bye\r\n");
}

static void
test_whole_session_any_split(void **state)
{
	size_t split;

	(void)state;
	for (split = 1; split <= 40; split++) {
		struct smtp_state st = { 0 };
		struct seen s = { 0 };
		session(&st, &s, split);
		assert_int_equal(s.mail, 1);
		assert_int_equal(s.rcpt, 2);
		assert_int_equal(s.data, 1);
		assert_int_equal(s.other, 2);	/* EHLO, QUIT */
		assert_int_equal(s.r5xx, 1);
		assert_int_equal(s.r3xx, 1);
		assert_int_equal(s.r2xx, 6);	/* 220, 250 (multi-line once), 250, 250, 250, 221 */
		assert_int_equal(s.long_lines, 0);
		smtp_release(&st);
	}
}

static void
test_pipelining(void **state)
{
	struct smtp_state st = { 0 };
	struct seen s = { 0 };

	(void)state;
	server(&st, &s, "220 hi\r\n");
	client(&st, &s, "EHLO me\r\n");
	server(&st, &s, "250 PIPELINING\r\n");
	client(&st, &s, "MAIL FROM:<a@b>\r\nRCPT TO:<1@y>\r\nRCPT TO:<2@y>\r\nDATA\r\n");
	/* replies batched: the fourth answers DATA */
	server(&st, &s, "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
	client(&st, &s, "RCPT TO:<in-body>\r\n.\r\nMAIL FROM:<c@d>\r\nRCPT TO:<3@y>\r\nDATA\r\n");
	server(&st, &s, "250 queued\r\n250 ok\r\n554 5.7.1 rejected\r\n");
	assert_int_equal(s.mail, 2);
	assert_int_equal(s.rcpt, 3);
	assert_int_equal(s.data, 2);
	assert_int_equal(s.r5xx, 1);
	/* DATA was refused: what follows is a command again */
	client(&st, &s, "RSET\r\nMAIL FROM:<e@f>\r\n");
	assert_int_equal(s.mail, 3);
	smtp_release(&st);
}

static void
test_starttls_stops_parsing(void **state)
{
	struct smtp_state st = { 0 };
	struct seen s = { 0 };

	(void)state;
	server(&st, &s, "220 hi\r\n");
	client(&st, &s, "EHLO me\r\n");
	server(&st, &s, "250-hi\r\n250 STARTTLS\r\n");
	client(&st, &s, "STARTTLS\r\n");
	server(&st, &s, "220 2.0.0 Ready to start TLS\r\n");
	assert_int_equal(s.starttls, 1);
	assert_true(smtp_is_tls(&st));
	client(&st, &s, "MAIL FROM:<would be encrypted>\r\n");
	server(&st, &s, "550 nope\r\n");
	assert_int_equal(s.mail, 0);
	assert_int_equal(s.r5xx, 0);
	smtp_release(&st);

	/* a refused STARTTLS leaves the session in plaintext */
	memset(&st, 0, sizeof st);
	memset(&s, 0, sizeof s);
	server(&st, &s, "220 hi\r\n");
	client(&st, &s, "STARTTLS\r\n");
	server(&st, &s, "454 TLS not available\r\n");
	client(&st, &s, "MAIL FROM:<a@b>\r\n");
	assert_int_equal(s.starttls, 0);
	assert_int_equal(s.mail, 1);
	smtp_release(&st);
}

static void
test_citations(void **state)
{
	struct smtp_state st = { 0 };
	struct seen s = { 0 };

	(void)state;
	server(&st, &s, "220 hi\r\n");
	client(&st, &s, "MAIL FROM:<a@b>\r\n");
	server(&st, &s, "554-5.7.1 Service unavailable; Client host [192.0.2.10] blocked\r\n"
	    "554-using zen.SPAMHAUS.org and\r\n554 5.7.1 dnsbl-1.uceprotect.net\r\n");
	assert_int_equal(s.r5xx, 1);
	assert_int_equal(s.cite_count[0], 1);
	assert_int_equal(s.cite_count[1], 1);
	assert_int_equal(s.cite_count[2], 0);
	client(&st, &s, "MAIL FROM:<a@b>\r\n");
	server(&st, &s, "451 4.7.1 listed at bl.spamcop.net, try later\r\n");
	assert_int_equal(s.r4xx, 1);
	assert_int_equal(s.cite_count[2], 1);
	/* a 2xx naming a list is no rejection */
	client(&st, &s, "NOOP\r\n");
	server(&st, &s, "250 spamhaus says hello\r\n");
	assert_int_equal(s.cite_count[0], 1);
	smtp_release(&st);
}

static void
test_long_line_and_gap(void **state)
{
	struct smtp_state st = { 0 };
	struct seen s = { 0 };
	char big[700], reply[900];

	(void)state;
	memset(big, 'A', sizeof big);
	memcpy(big, "RCPT TO:<", 9);
	big[sizeof big - 1] = '\0';
	server(&st, &s, "220 hi\r\n");
	/* an over-long command still counts by its verb: padding must not hide a RCPT */
	client(&st, &s, big);
	client(&st, &s, ">\r\nMAIL FROM:<a@b>\r\n");
	assert_int_equal(s.long_lines, 1);
	assert_int_equal(s.rcpt, 1);
	assert_int_equal(s.mail, 1);
	/* an over-long rejection, the list named past the first 512 bytes and split */
	memset(reply, 'x', sizeof reply);
	memcpy(reply, "550 5.7.1 ", 10);
	reply[sizeof reply - 1] = '\0';
	server(&st, &s, reply);
	server(&st, &s, " listed on bl.spamcop.net\r\n250 ok\r\n");
	assert_int_equal(s.long_lines, 2);
	assert_int_equal(s.r5xx, 1);
	assert_int_equal(s.cite_count[2], 1);
	assert_int_equal(s.r2xx, 2);
	/* a gap in the middle of a line: that line is lost, the next segment starts afresh */
	client(&st, &s, "RCPT T");
	smtp_gap(&st, 1);
	client(&st, &s, "RCPT TO:<z@y>\r\n");
	assert_int_equal(s.rcpt, 2);
	smtp_release(&st);
}

static void
test_bdat(void **state)
{
	struct smtp_state st = { 0 };
	struct seen s = { 0 };

	(void)state;
	server(&st, &s, "220 hi\r\n");
	client(&st, &s, "MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nBDAT 20\r\nRCPT TO:<not-cmd>\r\n1");
	client(&st, &s, "BDAT 7 LAST\r\nMAIL \r\nRCPT TO:<q@y>\r\n");
	assert_int_equal(s.rcpt, 2);
	assert_int_equal(s.bdat_last, 1);
	assert_int_equal(s.mail, 1);
	smtp_release(&st);
}

static void
test_missed_body_end(void **state)
{
	struct smtp_state st = { 0 };
	struct seen s = { 0 };

	(void)state;
	server(&st, &s, "220 hi\r\n");
	client(&st, &s, "DATA\r\n");
	server(&st, &s, "354 go\r\n");
	client(&st, &s, "body\r\n");
	smtp_gap(&st, 1);	/* the ".\r\n" was lost */
	server(&st, &s, "250 queued\r\n");
	client(&st, &s, "MAIL FROM:<a@b>\r\n");
	assert_int_equal(s.mail, 1);
	smtp_release(&st);
}

static void
test_parsers(void **state)
{
	uint64_t n = 0;
	int code, last;

	(void)state;
	assert_int_equal(smtp_parse_command("mail from:<a>", 13, &n), SMTP_CMD_MAIL);
	assert_int_equal(smtp_parse_command("MAILX", 5, &n), SMTP_CMD_OTHER);
	assert_int_equal(smtp_parse_command("RCPT", 4, &n), SMTP_CMD_RCPT);
	assert_int_equal(smtp_parse_command("data", 4, &n), SMTP_CMD_DATA);
	assert_int_equal(smtp_parse_command("BDAT 1000 LAST", 14, &n), SMTP_CMD_BDAT_LAST);
	assert_int_equal(n, 1000);
	assert_int_equal(smtp_parse_command("BDAT 99999999999999999999999", 28, &n),
	    SMTP_CMD_OTHER);
	assert_int_equal(smtp_parse_command("BDAT x", 6, &n), SMTP_CMD_OTHER);
	assert_int_equal(smtp_parse_reply("250", 3, &code, &last), 0);
	assert_int_equal(code, 250);
	assert_true(last);
	assert_int_equal(smtp_parse_reply("550-x", 5, &code, &last), 0);
	assert_false(last);
	assert_int_equal(smtp_parse_reply("650 x", 5, &code, &last), -1);
	assert_int_equal(smtp_parse_reply("25", 2, &code, &last), -1);
	assert_int_equal(smtp_parse_reply("250x", 4, &code, &last), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole_session_any_split),
		cmocka_unit_test(test_pipelining),
		cmocka_unit_test(test_starttls_stops_parsing),
		cmocka_unit_test(test_citations),
		cmocka_unit_test(test_long_line_and_gap),
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_missed_body_end),
		cmocka_unit_test(test_parsers),
	};
	return cmocka_run_group_tests_name("smtp", tests, setup, NULL);
}
