/*
 * widgets.h — the small pieces `rangewatch top` draws with (ncursesw on stdscr): a text
 * cut to a width, a bar toward a threshold, a 24-hour sparkline, and a scrolling list (a
 * table with a cursor, or a pane of lines) whose key handler says what to redraw.
 * Every string handed here must already be escaped (text_escape): these functions put it
 * on the screen as it is.
 */
#ifndef RW_WIDGETS_H
#define RW_WIDGETS_H

#include <stddef.h>

/* What a key handler asks for. */
enum widget_redraw {
	WR_NONE = 0,		/* the key changed nothing */
	WR_VIEW = 1,		/* redraw the current view */
	WR_KEY_UNUSED = 2	/* not a key of this widget: the caller's to handle */
};

/* Display width of s in the current locale (escaped text; a wide character counts 2, a
 * character the locale cannot show or that has no width counts 1: it is drawn as '?'). */
size_t widget_width(const char *s);
/* Puts s at y,x cut to at most w columns (never half a wide character); returns the
 * columns used. */
int widget_put(int y, int x, int w, const char *s, int attr);
/* A bar [####..] of w cells for value of max (cells beyond max stay full) at y,x;
 * UTF-8 blocks with eighths when utf8, else '#' and '.'. Returns the columns used. */
int widget_bar(int y, int x, int w, double value, double max, int utf8, int attr);
/* A sparkline of n values (scaled to their maximum) at y,x, one cell each. */
int widget_spark(int y, int x, const long long *v, size_t n, int utf8, int attr);

/* A scrolling list of n rows shown in h lines: the cursor row (cursor, or -1 in a pane
 * without one) and the first row shown. */
struct widget_list {
	int n, h;
	int cursor;		/* -1: a pane, the keys scroll */
	int top;
};
/* Arrows, PgUp/PgDn, Home/End on l: WR_VIEW when it moved, WR_NONE when it could not,
 * WR_KEY_UNUSED for other keys. */
int widget_list_key(struct widget_list *l, int key);
/* Keeps the cursor and the first row inside n rows and h lines (after new data). */
void widget_list_fit(struct widget_list *l, int n, int h);

#endif
