/*
 * test_widgets.c — unit tests of ui/widgets.c, the pieces `rangewatch top` draws with: a
 * real curses screen (newterm on /dev/null, 80x24, UTF-8 locale) is drawn on and read
 * back cell by cell. Widths of wide and zero-width characters, cutting at a width (never
 * half a wide character), characters that must not be obeyed (bidi overrides) shown as
 * '?', bars in eighths and in ASCII, sparklines scaled to their maximum, and the scrolling
 * list's keys and bounds. ui/ is not in librw.a, so the file under test is included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../ui/widgets.c"

static SCREEN *scr;
static FILE *out, *in;

static int
setup(void **state)
{
	(void)state;
	if (setlocale(LC_ALL, "C.UTF-8") == NULL)
		return -1;
	setenv("TERM", "xterm-256color", 1);
	out = fopen("/dev/null", "w");
	in = fopen("/dev/null", "r");
	if (out == NULL || in == NULL)
		return -1;
	scr = newterm(NULL, out, in);
	if (scr == NULL)
		return -1;
	resizeterm(24, 80);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	endwin();
	delscreen(scr);
	fclose(out);
	fclose(in);
	return 0;
}

/* What line y shows from column x, n columns, as UTF-8 (trailing blanks kept). */
static const char *
cells(int y, int x, int n)
{
	static char buf[512];
	wchar_t w[128];
	size_t o = 0;
	int i, got;

	memset(w, 0, sizeof w);
	got = mvinnwstr(y, x, w, n);
	assert_true(got >= 0);
	for (i = 0; i < got && w[i] != 0; i++) {
		char mb[8];
		int k = wctomb(mb, w[i]);

		assert_true(k > 0 && o + (size_t)k < sizeof buf);
		memcpy(buf + o, mb, (size_t)k);
		o += (size_t)k;
	}
	buf[o] = '\0';
	return buf;
}

static void
test_width(void **state)
{
	(void)state;
	assert_int_equal(widget_width("abc"), 3);
	assert_int_equal(widget_width("caf\u00e9"), 4);
	assert_int_equal(widget_width("\u65e5\u672c"), 4);		/* two wide characters */
	assert_int_equal(widget_width("a\u202eb"), 3);		/* the override counts as its '?' */
	assert_int_equal(widget_width("\xff\xfe"), 2);		/* invalid bytes: a '?' each */
	assert_int_equal(widget_width(""), 0);
}

static void
test_put_cuts_at_the_width(void **state)
{
	(void)state;
	erase();
	assert_int_equal(widget_put(0, 0, 5, "abcdefgh", 0), 5);
	assert_string_equal(cells(0, 0, 8), "abcde   ");
	/* three wide characters in 5 columns: two fit, the third is not cut in half */
	erase();
	assert_int_equal(widget_put(1, 0, 5, "\u65e5\u672c\u8a9e", 0), 4);
	assert_string_equal(cells(1, 0, 3), "\u65e5\u672c ");
	assert_int_equal(widget_put(2, 0, 0, "x", 0), 0);
	assert_string_equal(cells(2, 0, 1), " ");
}

static void
test_put_shows_overrides_as_question_marks(void **state)
{
	(void)state;
	erase();
	/* U+202E RIGHT-TO-LEFT OVERRIDE would reverse what follows on a bidi terminal */
	assert_int_equal(widget_put(3, 0, 20, "ab\u202ecd\u200bef", 0), 8);
	assert_string_equal(cells(3, 0, 8), "ab?cd?ef");
	erase();
	assert_int_equal(widget_put(4, 0, 20, "x\xc3(y", 0), 4);		/* a broken sequence */
	assert_string_equal(cells(4, 0, 4), "x?(y");
}

static void
test_bar(void **state)
{
	(void)state;
	erase();
	assert_int_equal(widget_bar(5, 0, 4, 2, 4, 0, 0), 6);
	assert_string_equal(cells(5, 0, 6), "[##..]");
	assert_int_equal(widget_bar(6, 0, 4, 9, 4, 0, 0), 6);	/* beyond the threshold: full */
	assert_string_equal(cells(6, 0, 6), "[####]");
	assert_int_equal(widget_bar(7, 0, 4, 0, 0, 0, 0), 6);	/* no threshold: empty */
	assert_string_equal(cells(7, 0, 6), "[....]");
	/* 5 of 50 in 12 cells: 9.6 eighths, one full cell and an eighth-of-a-cell block */
	assert_int_equal(widget_bar(8, 0, 12, 5, 50, 1, 0), 14);
	assert_string_equal(cells(8, 0, 14), "[\u2588\u258e          ]");
	/* the ASCII bar rounds a half cell up */
	assert_int_equal(widget_bar(9, 0, 4, 1.5, 4, 0, 0), 6);
	assert_string_equal(cells(9, 0, 6), "[##..]");
}

static void
test_spark(void **state)
{
	static const long long v[6] = { 0, 1, 4, 8, 2, 0 };
	(void)state;
	erase();
	assert_int_equal(widget_spark(10, 0, v, 6, 1, 0), 6);
	/* scaled to the maximum: 0 blank, any traffic at least the lowest block, 8 the full one */
	assert_string_equal(cells(10, 0, 6), " \u2581\u2584\u2588\u2582 ");
	erase();
	assert_int_equal(widget_spark(11, 0, v, 6, 0, 0), 6);
	assert_string_equal(cells(11, 0, 6), " .=#: ");
}

static void
test_list_keys(void **state)
{
	struct widget_list l = { 0, 0, 0, 0 };
	(void)state;
	widget_list_fit(&l, 50, 10);
	assert_int_equal(widget_list_key(&l, KEY_UP), WR_NONE);	/* at the top already */
	assert_int_equal(widget_list_key(&l, KEY_DOWN), WR_VIEW);
	assert_int_equal(l.cursor, 1);
	assert_int_equal(widget_list_key(&l, KEY_NPAGE), WR_VIEW);
	assert_int_equal(l.cursor, 11);
	assert_int_equal(l.top, 2);					/* the cursor stays shown */
	assert_int_equal(widget_list_key(&l, KEY_END), WR_VIEW);
	assert_int_equal(l.cursor, 49);
	assert_int_equal(l.top, 40);
	assert_int_equal(widget_list_key(&l, KEY_DOWN), WR_NONE);
	assert_int_equal(widget_list_key(&l, 'q'), WR_KEY_UNUSED);
	/* fewer rows after a refresh: the cursor comes back inside them */
	widget_list_fit(&l, 5, 10);
	assert_int_equal(l.cursor, 4);
	assert_int_equal(l.top, 0);
	widget_list_fit(&l, 0, 10);
	assert_int_equal(l.cursor, 0);
	assert_int_equal(widget_list_key(&l, KEY_DOWN), WR_NONE);
}

static void
test_pane_scrolls(void **state)
{
	struct widget_list p = { 0, 0, -1, 0 };
	(void)state;
	widget_list_fit(&p, 30, 10);
	assert_int_equal(widget_list_key(&p, KEY_DOWN), WR_VIEW);
	assert_int_equal(p.top, 1);
	assert_int_equal(widget_list_key(&p, KEY_END), WR_VIEW);
	assert_int_equal(p.top, 20);					/* the last page, full */
	assert_int_equal(widget_list_key(&p, KEY_NPAGE), WR_NONE);
	assert_int_equal(widget_list_key(&p, KEY_HOME), WR_VIEW);
	assert_int_equal(p.top, 0);
	widget_list_fit(&p, 4, 10);					/* shorter than a page */
	assert_int_equal(widget_list_key(&p, KEY_END), WR_NONE);
	assert_int_equal(p.top, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_width),
		cmocka_unit_test(test_put_cuts_at_the_width),
		cmocka_unit_test(test_put_shows_overrides_as_question_marks),
		cmocka_unit_test(test_bar),
		cmocka_unit_test(test_spark),
		cmocka_unit_test(test_list_keys),
		cmocka_unit_test(test_pane_scrolls),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
