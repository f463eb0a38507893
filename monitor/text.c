/*
 * text.c — escaping untrusted text, and reading the small values config files share.
 * Pure functions; see text.h for the rules.
 */
#include "text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one. Rejects overlong
 * forms, surrogates and code points past U+10FFFF. *cp receives the code point. */
static size_t
utf8_seq(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c;
	size_t n, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

static int
is_control(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
	    /* bidirectional overrides can reorder what an operator reads */
	    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

size_t
text_escape(char *dst, size_t dstlen, const char *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0, i = 0, n;
	uint32_t cp;

	if (dstlen == 0)
		return 0;
	while (i < len) {
		n = utf8_seq(s + i, len - i, &cp);
		if (n == 0 || is_control(cp)) {
			/* escape each byte of the sequence (or the single bad byte) */
			size_t k, cnt = n ? n : 1;
			if (o + 4 * cnt >= dstlen)
				break;
			for (k = 0; k < cnt; k++) {
				dst[o++] = '\\';
				dst[o++] = 'x';
				dst[o++] = hex[s[i + k] >> 4];
				dst[o++] = hex[s[i + k] & 15];
			}
			i += cnt;
		} else if (cp == '\\') {
			if (o + 2 >= dstlen)
				break;
			dst[o++] = '\\';
			dst[o++] = '\\';
			i++;
		} else {
			if (o + n >= dstlen)
				break;
			memcpy(dst + o, s + i, n);
			o += n;
			i += n;
		}
	}
	dst[o] = '\0';
	return o;
}

int
text_is_clean(const char *src, size_t len)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		n = utf8_seq(s + i, len - i, &cp);
		if (n == 0 || is_control(cp))
			return 0;
		i += n;
	}
	return 1;
}

const char *
text_casefind(const char *hay, size_t len, const char *needle)
{
	size_t nl = strlen(needle), i, j;

	if (nl == 0)
		return hay;
	for (i = 0; i + nl <= len; i++) {
		for (j = 0; j < nl; j++) {
			unsigned char a = (unsigned char)hay[i + j], b = (unsigned char)needle[j];
			if (a >= 'A' && a <= 'Z')
				a += 32;
			if (b >= 'A' && b <= 'Z')
				b += 32;
			if (a != b)
				break;
		}
		if (j == nl)
			return hay + i;
	}
	return NULL;
}

json_t *
text_json(const char *s)
{
	size_t len, cap;
	char *buf;
	json_t *j;

	if (s == NULL)
		return json_null();
	len = strlen(s);
	if ((j = json_stringn(s, len)) != NULL)
		return j;	/* valid UTF-8 */
	cap = len * 4 + 1;	/* every byte may become \xNN */
	if ((buf = malloc(cap)) == NULL)
		return NULL;
	text_escape(buf, cap, s, len);
	j = json_string(buf);
	free(buf);
	return j;
}

/* json_dump_callback's writer: DEL can only be inside a string (ASCII output), so \u007f
 * there means the same. */
static int
put_json(const char *buf, size_t size, void *data)
{
	FILE *f = data;
	size_t i, from = 0;

	for (i = 0; i < size; i++) {
		if (buf[i] != 0x7f)
			continue;
		if (fwrite(buf + from, 1, i - from, f) != i - from || fputs("\\u007f", f) == EOF)
			return -1;
		from = i + 1;
	}
	return fwrite(buf + from, 1, size - from, f) == size - from ? 0 : -1;
}

int
text_json_dumpf(const json_t *j, FILE *f, size_t flags)
{
	return json_dump_callback(j, put_json, f, flags | JSON_ENSURE_ASCII);
}

char *
text_shell_word(const char *s, size_t len)
{
	static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._:@%+=,/-";
	char *esc = NULL, *out, *o;
	size_t i, quotes = 0, n;

	if (!text_is_clean(s, len)) {
		if (len > (SIZE_MAX - 1) / 4 || (esc = malloc(4 * len + 1)) == NULL)
			return NULL;
		len = text_escape(esc, 4 * len + 1, s, len);
		s = esc;
	}
	for (i = 0; i < len && s[i] != '\0' && strchr(safe, s[i]) != NULL; i++)
		;
	if (len > 0 && i == len) {
		out = strndup(s, len);
		free(esc);
		return out;
	}
	for (i = 0; i < len; i++)
		quotes += s[i] == '\'';
	n = len + 3 * quotes + 3;
	if ((out = malloc(n)) != NULL) {
		o = out;
		*o++ = '\'';
		for (i = 0; i < len; i++) {
			if (s[i] == '\'') {
				memcpy(o, "'\\''", 4);	/* close, a quoted quote, open */
				o += 4;
			} else
				*o++ = s[i];
		}
		*o++ = '\'';
		*o = '\0';
	}
	free(esc);
	return out;
}

int
text_duration(const char *s, int64_t *out)
{
	uint64_t v = 0, mult = 1;
	int big = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - 9) / 10)
			big = 1;	/* keep reading: the rest must still be well formed */
		else
			v = v * 10 + (uint64_t)(*s - '0');
	}
	switch (*s) {
	case '\0':
	case 's':
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	case 'w':
		mult = 7 * 86400;
		break;
	default:
		return -1;
	}
	if (*s != '\0' && s[1] != '\0')
		return -1;
	*out = big || v > (uint64_t)INT64_MAX / mult ? INT64_MAX : (int64_t)(v * mult);
	return 0;
}

ssize_t
text_read_line(FILE *f, char *buf, size_t cap, int *more)
{
	size_t n = 0;
	int c = EOF;

	*more = 0;
	if (cap == 0)
		return -1;
	while (n < cap - 1 && (c = getc_unlocked(f)) != EOF && c != '\n')
		buf[n++] = (char)c;
	buf[n] = '\0';
	if (n == cap - 1 && c != '\n' && c != EOF) {
		/* full: is there more than the LF or the end? */
		if ((c = getc_unlocked(f)) != EOF && c != '\n') {
			ungetc(c, f);
			*more = 1;
		}
	}
	if (n == 0 && c == EOF)
		return -1;
	return (ssize_t)n;
}

int
text_skip_line(FILE *f)
{
	int c, nul = 0;

	while ((c = getc_unlocked(f)) != EOF && c != '\n')
		nul |= c == '\0';
	return nul;
}
