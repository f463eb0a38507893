/*
 * smtp.c — following one SMTP conversation from captured bytes. Owns the partial-line
 * buffers of each connection (struct smtp_lines, allocated while a line is incomplete).
 * Must never read past the bytes it was given, store more than SMTP_LINE_MAX per
 * direction, or guess: what it cannot follow (after a gap) it skips to the next line.
 */
#include "smtp.h"

#include <stdlib.h>
#include <string.h>

#include "text.h"

enum mode { M_CMD, M_DATA, M_BDAT, M_TLS };
enum { SKIP_CLIENT = 1, SKIP_SERVER = 2 };
#define PEND_MAX 16

struct smtp_lines {
	uint16_t len[2];	/* [0] client, [1] server */
	char buf[2][SMTP_LINE_MAX];
};

static const char *const *cite_words;
static size_t ncite_words;

void
smtp_set_cite_words(const char *const *words, size_t n)
{
	cite_words = words;
	ncite_words = n > SMTP_CITE_MAX ? SMTP_CITE_MAX : n;
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Case-insensitive prefix match of an ASCII keyword. */
static int
verb_is(const char *line, size_t len, const char *verb)
{
	size_t i, n = strlen(verb);

	if (len < n)
		return 0;
	for (i = 0; i < n; i++)
		if (lower((unsigned char)line[i]) != verb[i])
			return 0;
	/* the verb must end there */
	return len == n || line[n] == ' ' || line[n] == ':' || line[n] == '\t';
}

enum smtp_cmd
smtp_parse_command(const char *line, size_t len, uint64_t *bdat_size)
{
	size_t i;
	uint64_t n = 0;
	int digits = 0;

	if (len < 4)
		return SMTP_CMD_OTHER;
	switch (lower((unsigned char)line[0])) {
	case 'm':
		if (verb_is(line, len, "mail"))
			return SMTP_CMD_MAIL;
		break;
	case 'r':
		if (verb_is(line, len, "rcpt"))
			return SMTP_CMD_RCPT;
		break;
	case 'd':
		if (verb_is(line, len, "data"))
			return SMTP_CMD_DATA;
		break;
	case 's':
		if (verb_is(line, len, "starttls"))
			return SMTP_CMD_STARTTLS;
		break;
	case 'b':
		if (!verb_is(line, len, "bdat") || len < 6)
			break;
		for (i = 5; i < len && line[i] >= '0' && line[i] <= '9'; i++) {
			if (n > (UINT64_MAX - 9) / 10)
				return SMTP_CMD_OTHER;
			n = n * 10 + (uint64_t)(line[i] - '0');
			digits++;
		}
		if (!digits)
			return SMTP_CMD_OTHER;
		*bdat_size = n;
		while (i < len && line[i] == ' ')
			i++;
		if (len - i >= 4 && verb_is(line + i, len - i, "last"))
			return SMTP_CMD_BDAT_LAST;
		return SMTP_CMD_BDAT;
	}
	return SMTP_CMD_OTHER;
}

int
smtp_parse_reply(const char *line, size_t len, int *code, int *last)
{
	if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
	    line[2] < '0' || line[2] > '9')
		return -1;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return -1;
	*code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	*last = len == 3 || line[3] == ' ';
	return 0;
}

static uint32_t
cite_scan(const char *line, size_t len)
{
	uint32_t m = 0;
	size_t i;

	for (i = 0; i < ncite_words; i++)
		if (text_casefind(line, len, cite_words[i]) != NULL)
			m |= 1u << i;
	return m;
}

static void
pend_push(struct smtp_state *s, enum smtp_cmd c)
{
	if (s->npend == PEND_MAX) {	/* a client that never waits: forget the oldest */
		s->pend >>= 4;
		s->npend--;
	}
	s->pend |= (uint64_t)c << (4 * s->npend);
	s->npend++;
}

static enum smtp_cmd
pend_pop(struct smtp_state *s)
{
	enum smtp_cmd c;

	if (s->npend == 0)
		return 0;
	c = (enum smtp_cmd)(s->pend & 0xf);
	s->pend >>= 4;
	s->npend--;
	return c;
}

static void
client_line(struct smtp_state *s, const char *line, size_t len, const struct smtp_sink *k,
    void *ctx)
{
	uint64_t size = 0;
	enum smtp_cmd c;

	if (len && line[len - 1] == '\r')
		len--;
	c = smtp_parse_command(line, len, &size);
	pend_push(s, c);
	k->command(ctx, c);
	if (c == SMTP_CMD_BDAT || c == SMTP_CMD_BDAT_LAST) {
		/* the chunk follows the command at once, without waiting for a reply */
		if (size > 0) {
			s->mode = M_BDAT;
			s->bdat_left = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
		}
	}
}

static void
server_line(struct smtp_state *s, const char *line, size_t len, const struct smtp_sink *k,
    void *ctx)
{
	int code, last;
	enum smtp_cmd c;

	if (len && line[len - 1] == '\r')
		len--;
	if (smtp_parse_reply(line, len, &code, &last) == -1)
		return;
	if (code >= 400)
		s->cites |= cite_scan(line, len);
	if (!last)
		return;
	k->reply(ctx, code, code >= 400 ? s->cites : 0);
	s->cites = 0;
	if (s->mode == M_DATA || s->mode == M_BDAT) {
		/* the server answers a body only after its end: we missed that end */
		s->mode = M_CMD;
		s->dot = 0;
		return;
	}
	c = pend_pop(s);
	if (c == SMTP_CMD_DATA && code == 354) {
		s->mode = M_DATA;
		s->dot = 2;	/* the DATA line's CRLF counts toward CRLF "." CRLF */
	} else if (c == SMTP_CMD_STARTTLS && code == 220) {
		s->mode = M_TLS;
		k->tls(ctx);
		smtp_release(s);
		s->mode = M_TLS;
	}
}

/* Skips body bytes up to and including CRLF "." CRLF; returns bytes consumed. */
static size_t
body_scan(struct smtp_state *s, const uint8_t *p, size_t len)
{
	static const char term[] = "\r\n.\r\n";
	const uint8_t *q;
	size_t i = 0;
	uint8_t c;

	while (i < len) {
		if (s->dot == 0) {
			/* most of a body is text between CRs: let memchr skip it */
			if ((q = memchr(p + i, '\r', len - i)) == NULL)
				return len;
			i = (size_t)(q - p) + 1;
			s->dot = 1;
			continue;
		}
		c = p[i++];
		if (c == (uint8_t)term[s->dot]) {
			if (++s->dot == 5) {
				s->dot = 0;
				s->mode = M_CMD;
				return i;
			}
		} else
			s->dot = c == '\r' ? 1 : 0;
	}
	return i;
}

static struct smtp_lines *
lines_get(struct smtp_state *s)
{
	if (s->lines == NULL)
		s->lines = calloc(1, sizeof *s->lines);
	return s->lines;
}

static void
lines_maybe_free(struct smtp_state *s)
{
	if (s->lines && s->lines->len[0] == 0 && s->lines->len[1] == 0) {
		free(s->lines);
		s->lines = NULL;
	}
}

typedef void (*line_fn)(struct smtp_state *, const char *, size_t, const struct smtp_sink *,
    void *);

/* Takes one line (or what there is of one) from p; returns bytes consumed. Complete lines
 * go to fn; a partial one is buffered; an overlong one is reported and skipped. */
static size_t
take_line(struct smtp_state *s, int dir, const uint8_t *p, size_t len, line_fn fn,
    const struct smtp_sink *k, void *ctx)
{
	const uint8_t *nl = memchr(p, '\n', len);
	size_t n = nl ? (size_t)(nl - p) : len;	/* bytes before the LF */
	uint8_t skipbit = dir == 0 ? SKIP_CLIENT : SKIP_SERVER;
	struct smtp_lines *l = s->lines;
	size_t have = l ? l->len[dir] : 0;

	if (s->skip & skipbit) {
		if (nl)
			s->skip &= (uint8_t)~skipbit;
		return nl ? n + 1 : len;
	}
	if (have + n + (nl ? 1 : 0) > SMTP_LINE_MAX) {
		/* too long for any SMTP line: count it once, drop it, resume after its LF */
		k->long_line(ctx);
		if (l) {
			l->len[dir] = 0;
			lines_maybe_free(s);
		}
		if (!nl)
			s->skip |= skipbit;
		return nl ? n + 1 : len;
	}
	if (nl == NULL) {
		if ((l = lines_get(s)) == NULL)
			return len;	/* out of memory: the line is lost, like a gap */
		memcpy(l->buf[dir] + l->len[dir], p, n);
		l->len[dir] = (uint16_t)(l->len[dir] + n);
		return len;
	}
	if (have) {
		memcpy(l->buf[dir] + have, p, n);
		l->len[dir] = 0;
		fn(s, l->buf[dir], have + n, k, ctx);
		lines_maybe_free(s);
	} else
		fn(s, (const char *)p, n, k, ctx);
	return n + 1;
}

void
smtp_client_data(struct smtp_state *s, const uint8_t *p, size_t len,
    const struct smtp_sink *k, void *ctx)
{
	size_t used, n;

	while (len > 0) {
		switch (s->mode) {
		case M_TLS:
			return;
		case M_DATA:
			used = body_scan(s, p, len);
			if (s->mode == M_CMD)
				pend_push(s, SMTP_CMD_EOD);
			break;
		case M_BDAT:
			n = len < s->bdat_left ? len : s->bdat_left;
			s->bdat_left -= (uint32_t)n;
			if (s->bdat_left == 0)
				s->mode = M_CMD;
			used = n;
			break;
		default:
			used = take_line(s, 0, p, len, client_line, k, ctx);
			break;
		}
		p += used;
		len -= used;
	}
}

void
smtp_server_data(struct smtp_state *s, const uint8_t *p, size_t len,
    const struct smtp_sink *k, void *ctx)
{
	size_t used;

	while (len > 0 && s->mode != M_TLS) {
		used = take_line(s, 1, p, len, server_line, k, ctx);
		p += used;
		len -= used;
	}
}

void
smtp_gap(struct smtp_state *s, int from_client)
{
	int dir = from_client ? 0 : 1;

	if (s->mode == M_TLS)
		return;
	if (s->lines) {
		s->lines->len[dir] = 0;
		lines_maybe_free(s);
	}
	if (from_client && s->mode == M_DATA) {
		s->dot = 0;
		return;
	}
	if (from_client && s->mode == M_BDAT) {
		/* we do not know how much of the chunk went by: wait for the server's reply */
		s->mode = M_DATA;
		s->dot = 0;
		return;
	}
	s->skip |= from_client ? SKIP_CLIENT : SKIP_SERVER;
}

int
smtp_is_tls(const struct smtp_state *s)
{
	return s->mode == M_TLS;
}

void
smtp_release(struct smtp_state *s)
{
	free(s->lines);
	s->lines = NULL;
}
