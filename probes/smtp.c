/*
 * smtp.c — following one SMTP conversation from captured bytes. Owns the partial-line
 * buffers of each connection (struct smtp_lines, allocated while a line is incomplete).
 * Must never read past the bytes it was given, store more than SMTP_LINE_MAX per
 * direction, or read past what it was given. After a gap it drops the partial line.
 */
#include "smtp.h"

#include <stdlib.h>
#include <string.h>


enum mode { M_CMD, M_DATA, M_BDAT, M_TLS };
enum { SKIP_CLIENT = 1, SKIP_SERVER = 2 };
#define PEND_MAX 16

struct smtp_lines {
	uint16_t len[2];	/* [0] client, [1] server */
	char buf[2][SMTP_LINE_MAX];
};

#define CITE_WORD_MAX 64

/* The cite words, lower-cased once: a reply is lower-cased once and searched with memmem. */
static char cite_words[SMTP_CITE_MAX][CITE_WORD_MAX];
static size_t cite_len[SMTP_CITE_MAX];
static size_t ncite_words;

void
smtp_set_cite_words(const char *const *words, size_t n)
{
	size_t i, j;

	ncite_words = n > SMTP_CITE_MAX ? SMTP_CITE_MAX : n;
	for (i = 0; i < ncite_words; i++) {
		for (j = 0; words[i][j] && j < CITE_WORD_MAX - 1; j++)
			cite_words[i][j] = (char)(words[i][j] >= 'A' && words[i][j] <= 'Z' ?
			    words[i][j] + 32 : words[i][j]);
		cite_words[i][j] = '\0';
		cite_len[i] = j;
	}
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

static uint64_t
cite_scan(const char *line, size_t len)
{
	char low[1024];
	uint64_t m = 0;
	size_t i, n, off;

	/* in pieces that overlap by a word's length, so no word is cut at a seam */
	for (off = 0; off < len; off += sizeof low - CITE_WORD_MAX) {
		n = len - off < sizeof low ? len - off : sizeof low;
		for (i = 0; i < n; i++) {
			char c = line[off + i];
			low[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
		}
		for (i = 0; i < ncite_words; i++)
			if (cite_len[i] && memmem(low, n, cite_words[i], cite_len[i]) != NULL)
				m |= (uint64_t)1 << i;
		if (off + n >= len)
			break;
	}
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

/* The last line of a reply ended: count it, and follow what it answers. */
static void
reply_done(struct smtp_state *s, int code, const struct smtp_sink *k, void *ctx)
{
	enum smtp_cmd c;

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
		k->tls(ctx);
		smtp_release(s);
		s->mode = M_TLS;
	}
}

static void
server_line(struct smtp_state *s, const char *line, size_t len, const struct smtp_sink *k,
    void *ctx)
{
	int code, last;

	if (len && line[len - 1] == '\r')
		len--;
	if (smtp_parse_reply(line, len, &code, &last) == -1)
		return;
	if (code >= 400)
		s->cites |= cite_scan(line, len);
	if (last)
		reply_done(s, code, k, ctx);
}

/* The head of an over-long line (its first SMTP_LINE_MAX bytes at most) decides what it
 * is; a reply is completed when the line's LF arrives (long_line_end). */
static void
long_line_start(struct smtp_state *s, int dir, const char *head, size_t len,
    const struct smtp_sink *k, void *ctx)
{
	int code, last;

	k->long_line(ctx);
	if (dir == 0) {
		client_line(s, head, len, k, ctx);
		return;
	}
	s->rcode = 0;
	if (smtp_parse_reply(head, len < 4 ? len : 4, &code, &last) == -1)
		return;
	s->rcode = (uint16_t)code;
	s->rlast = (uint8_t)last;
	if (code >= 400)
		s->cites |= cite_scan(head, len);
}

static void
long_line_end(struct smtp_state *s, int dir, const struct smtp_sink *k, void *ctx)
{
	if (dir == 1 && s->rcode) {
		if (s->rlast)
			reply_done(s, s->rcode, k, ctx);
		s->rcode = 0;
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
 * go to fn; a partial one is buffered; an over-long one goes by its head. */
static size_t
take_line(struct smtp_state *s, int dir, const uint8_t *p, size_t len, line_fn fn,
    const struct smtp_sink *k, void *ctx)
{
	const uint8_t *nl = memchr(p, '\n', len);
	size_t n = nl ? (size_t)(nl - p) : len;	/* bytes before the LF */
	size_t used = nl ? n + 1 : len, add;
	uint8_t skipbit = dir == 0 ? SKIP_CLIENT : SKIP_SERVER;
	struct smtp_lines *l = s->lines;
	size_t have = l ? l->len[dir] : 0;

	if (s->skip & skipbit) {
		/* the tail of an over-long line: only a list's name matters in it */
		if (dir == 1 && s->rcode >= 400)
			s->cites |= cite_scan((const char *)p, n);
		if (nl) {
			s->skip &= (uint8_t)~skipbit;
			long_line_end(s, dir, k, ctx);
		}
		return used;
	}
	if (have + used > SMTP_LINE_MAX) {
		if (have) {
			add = SMTP_LINE_MAX - have < n ? SMTP_LINE_MAX - have : n;
			memcpy(l->buf[dir] + have, p, add);
			long_line_start(s, dir, l->buf[dir], have + add, k, ctx);
			l->len[dir] = 0;
			lines_maybe_free(s);
		} else
			long_line_start(s, dir, (const char *)p, n < SMTP_LINE_MAX ? n :
			    SMTP_LINE_MAX, k, ctx);
		if (dir == 1 && s->rcode >= 400)
			s->cites |= cite_scan((const char *)p, n);
		if (nl)
			long_line_end(s, dir, k, ctx);
		else
			s->skip |= skipbit;
		return used;
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
	return used;
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
	s->skip &= (uint8_t)~(from_client ? SKIP_CLIENT : SKIP_SERVER);
	if (!from_client) {
		s->rcode = 0;
		s->cites = 0;
	} else if (s->mode == M_DATA) {
		s->dot = 0;
	} else if (s->mode == M_BDAT) {
		/* how much of the chunk went by is unknown: wait for the server's reply */
		s->mode = M_DATA;
		s->dot = 0;
	}
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
