/*
 * test_text.c — unit tests of text.c's shell words (ids from billing pasted into a shell
 * from a mail or a log line must stay one inert word, checked by /bin/sh itself) and of the
 * CLI's JSON printer (printable ASCII only, DEL included, and the same document).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <jansson.h>

#include "text.h"

static void
word_is(const char *in, size_t len, const char *want)
{
	char *w = text_shell_word(in, len);

	assert_non_null(w);
	assert_string_equal(w, want);
	free(w);
}

static void
test_plain_words(void **state)
{
	(void)state;
	word_is("1001", 4, "1001");
	word_is("cust-7.a_b:c@d+e%f=g,h/i", 24, "cust-7.a_b:c@d+e%f=g,h/i");
	word_is("", 0, "''");
}

static void
test_quoted_words(void **state)
{
	(void)state;
	word_is("a b", 3, "'a b'");
	word_is("$(touch x)", 10, "'$(touch x)'");
	word_is("`id`;x", 6, "'`id`;x'");
	word_is("it's", 4, "'it'\\''s'");
	word_is("'", 1, "''\\'''");
	word_is("M\xc3\xbcller", 7, "'M\xc3\xbcller'");
	/* not clean: escaped first, so the word is one printable line */
	word_is("a\nb\x1b[2J\xff", 8, "'a\\x0ab\\x1b[2J\\xff'");
	word_is("x\0y", 3, "'x\\x00y'");
}

/* /bin/sh reads each word back as exactly the (clean) text it came from, running nothing. */
static void
test_shell_reads_it_back(void **state)
{
	static const char *const in[] = {
		"$(touch /nonexistent/pwned)", "`touch /nonexistent/pwned`", "a;b|c&d>e<f",
		"it's \"quoted\" \\ back", "'''", "x'$(y)'z", "*?[a]~{b,c}!#",
	};
	char cmd[512], got[256];
	size_t i, n;
	FILE *p;
	char *w;

	(void)state;
	for (i = 0; i < sizeof in / sizeof in[0]; i++) {
		w = text_shell_word(in[i], strlen(in[i]));
		assert_non_null(w);
		snprintf(cmd, sizeof cmd, "printf '%%s' %s", w);
		p = popen(cmd, "r");
		assert_non_null(p);
		n = fread(got, 1, sizeof got - 1, p);
		got[n] = '\0';
		assert_int_equal(pclose(p), 0);
		assert_string_equal(got, in[i]);
		free(w);
	}
}

static void
test_json_printable(void **state)
{
	json_t *j = json_pack("{s:s, s:s}", "name", "a\x7f\x1b[2J\xc2\x9b\xe2\x80\xae\n",
	    "k\x7f", "\x7f\x7f"), *back;
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(j);
	assert_non_null(f);
	assert_int_equal(text_json_dumpf(j, f, JSON_COMPACT | JSON_SORT_KEYS), 0);
	fclose(f);
	for (i = 0; i < len; i++)
		assert_true(buf[i] >= 0x20 && buf[i] < 0x7f);
	assert_string_equal(buf, "{\"k\\u007f\":\"\\u007f\\u007f\",\"name\":"
	    "\"a\\u007f\\u001B[2J\\u009B\\u202E\\n\"}");
	back = json_loads(buf, 0, NULL);
	assert_non_null(back);
	assert_true(json_equal(back, j));
	json_decref(back);
	json_decref(j);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_words),
		cmocka_unit_test(test_quoted_words),
		cmocka_unit_test(test_shell_reads_it_back),
		cmocka_unit_test(test_json_printable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
