/*
 * widgets.c — the small widgets of `rangewatch top` (see widgets.h).
 *
 * Owns: nothing but what it draws on stdscr.
 * Must never: escape or trust text itself (callers pass escaped text), or draw past the
 * width it was given.
 */
#include "widgets.h"

#include <curses.h>
#include <string.h>

size_t
widget_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

int
widget_put(int y, int x, int w, const char *s, int attr)
{
	size_t i = 0;
	int cols = 0;

	if (w <= 0)
		return 0;
	while (s[i] && cols < w) {
		i++;
		while (((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		cols++;
	}
	attron(attr);
	mvaddnstr(y, x, s, (int)i);
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
		k = max > 0 && v[i] > 0 ? 1 + (int)((v[i] * 7 + max - 1) / max) : 0;
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
