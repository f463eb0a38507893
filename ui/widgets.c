/*
 * widgets.c — the small widgets of `rangewatch top` (see widgets.h).
 *
 * Owns: nothing but what it draws on stdscr.
 * Must never: escape or trust text itself (callers pass escaped text), or draw past the
 * width it was given.
 */
#include "widgets.h"

#include <curses.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

/* The next character of s: its length in bytes (*len) and display width, -1 for one that
 * must not reach the terminal as it is (no width: a control, or a byte the locale cannot
 * decode), which is drawn as '?'. Text is escaped before it comes here, so that is rare:
 * an invalid sequence in a non-UTF-8 locale, a format character such as U+202E. */
static int
next_char(const char *s, size_t *len)
{
	mbstate_t st;
	wchar_t wc;
	size_t n;
	int w;

	memset(&st, 0, sizeof st);
	n = mbrtowc(&wc, s, MB_CUR_MAX, &st);
	if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
		*len = 1;
		while (((unsigned char)s[*len] & 0xc0) == 0x80 && (unsigned char)s[0] >= 0xc0)
			(*len)++;	/* the rest of a UTF-8 sequence: one '?' for all of it */
		return -1;
	}
	*len = n;
	w = wcwidth(wc);
	/* a zero-width format character (bidi overrides, joiners) could reorder or hide
	 * what follows on some terminals: it is shown, not obeyed */
	if (w == 0 && (iswcntrl((wint_t)wc) || (wc >= 0x200b && wc <= 0x206f) || wc == 0xfeff))
		return -1;
	return w;
}

size_t
widget_width(const char *s)
{
	size_t n = 0, len;
	int w;

	for (; *s; s += len)
		n += (w = next_char(s, &len)) < 0 ? 1 : (size_t)w;
	return n;
}

int
widget_put(int y, int x, int w, const char *s, int attr)
{
	size_t len;
	int cols = 0, cw;

	if (w <= 0)
		return 0;
	move(y, x);
	attron(attr);
	for (; *s; s += len) {
		cw = next_char(s, &len);
		if (cols + (cw < 0 ? 1 : cw) > w)
			break;
		if (cw < 0)
			addch('?');
		else
			addnstr(s, (int)len);
		cols += cw < 0 ? 1 : cw;
	}
	attroff(attr);
	return cols;
}

int
widget_bar(int y, int x, int w, double value, double max, int utf8, int attr)
{
	static const char *const eighth[8] = { "", "\u258f", "\u258e", "\u258d", "\u258c",
	    "\u258b", "\u258a", "\u2589" };
	double f = max > 0 ? value / max : 0;
	int eighths, i;

	if (w < 1)
		return 0;
	if (f < 0)
		f = 0;
	if (f > 1)
		f = 1;
	eighths = (int)(f * w * 8 + 0.5);
	mvaddch(y, x, '[');
	attron(attr);
	for (i = 0; i < w; i++) {
		int e = eighths - i * 8;

		if (e >= 8)
			addstr(utf8 ? "\u2588" : "#");
		else if (e > 0 && utf8)
			addstr(eighth[e]);
		else if (e >= 4)
			addstr("#");
		else
			addstr(utf8 ? " " : ".");
	}
	attroff(attr);
	addch(']');
	return w + 2;
}

int
widget_spark(int y, int x, const long long *v, size_t n, int utf8, int attr)
{
	static const char *const u[9] = { " ", "\u2581", "\u2582", "\u2583", "\u2584",
	    "\u2585", "\u2586", "\u2587", "\u2588" };
	static const char a[] = " .:-=+*%#";
	long long max = 0;
	size_t i;
	int k;

	for (i = 0; i < n; i++)
		if (v[i] > max)
			max = v[i];
	move(y, x);
	attron(attr);
	for (i = 0; i < n; i++) {
		k = max > 0 && v[i] > 0 ? 1 + (int)(v[i] * 7 / max) : 0;	/* 1..8: any traffic shows */
		if (k > 8)
			k = 8;
		if (utf8)
			addstr(u[k]);
		else
			addch((chtype)a[k]);
	}
	attroff(attr);
	return (int)n;
}

void
widget_list_fit(struct widget_list *l, int n, int h)
{
	l->n = n < 0 ? 0 : n;
	l->h = h < 1 ? 1 : h;
	if (l->cursor >= 0) {
		if (l->cursor >= l->n)
			l->cursor = l->n > 0 ? l->n - 1 : 0;
		if (l->cursor < l->top)
			l->top = l->cursor;
		if (l->cursor >= l->top + l->h)
			l->top = l->cursor - l->h + 1;
	}
	if (l->top > l->n - l->h)
		l->top = l->n - l->h;
	if (l->top < 0)
		l->top = 0;
}

int
widget_list_key(struct widget_list *l, int key)
{
	int *p = l->cursor >= 0 ? &l->cursor : &l->top, old = *p, last;

	last = l->cursor >= 0 ? l->n - 1 : l->n - l->h;
	if (last < 0)
		last = 0;
	switch (key) {
	case KEY_UP: case 'k': *p -= 1; break;
	case KEY_DOWN: case 'j': *p += 1; break;
	case KEY_PPAGE: *p -= l->h; break;
	case KEY_NPAGE: *p += l->h; break;
	case KEY_HOME: case 'g': *p = 0; break;
	case KEY_END: case 'G': *p = last; break;
	default: return WR_KEY_UNUSED;
	}
	if (*p > last)
		*p = last;
	if (*p < 0)
		*p = 0;
	widget_list_fit(l, l->n, l->h);
	return *p == old ? WR_NONE : WR_VIEW;
}
