/*
 * smtp.h — the plaintext SMTP of one TCP connection, both directions, as the capture sees
 * it: client commands (MAIL, RCPT, DATA, BDAT, STARTTLS...) and server replies (code,
 * multi-line, text naming a DNSBL). Follows the conversation the way the peers do: replies
 * answer commands in order (PIPELINING), DATA's body after a 354 is skipped up to the lone
 * dot, BDAT chunks are skipped by size, and after a 220 to STARTTLS nothing more is read.
 * Lines may be split across segments anywhere; a partial line is buffered (at most
 * SMTP_LINE_MAX bytes per direction, allocated only while one is pending). A longer line is
 * counted as over-long and not stored: its first SMTP_LINE_MAX bytes still say which
 * command or reply it is (a sender must not hide a RCPT by padding it), the rest is only
 * searched for the names of lists.
 *
 * It knows nothing of addresses or tables: it reports what it read through a struct
 * smtp_sink, and the caller decides whose counters those are.
 */
#ifndef RW_SMTP_H
#define RW_SMTP_H

#include <stddef.h>
#include <stdint.h>

#define SMTP_LINE_MAX	512	/* RFC 5321 4.5.3.1.4-5: a line with its CRLF */
#define SMTP_CITE_MAX	64	/* citation patterns matched at once (a bit each) */

enum smtp_cmd {
	SMTP_CMD_OTHER = 1,	/* HELO, EHLO, RSET, NOOP, AUTH, QUIT, AUTH data, ... */
	SMTP_CMD_MAIL,
	SMTP_CMD_RCPT,
	SMTP_CMD_DATA,
	SMTP_CMD_BDAT,		/* a chunk, not the last */
	SMTP_CMD_BDAT_LAST,	/* the last chunk: one message transferred */
	SMTP_CMD_STARTTLS,
	SMTP_CMD_EOD		/* the body's closing dot (not a command, but it gets a reply) */
};

/* What the parser tells its caller. ctx is the caller's. */
struct smtp_sink {
	void (*command)(void *ctx, enum smtp_cmd cmd);
	/* A complete reply (its last line), with a bit per cite word (index into the words
	 * of smtp_set_cite_words) contained in any of its lines; 0 for a reply below 400. */
	void (*reply)(void *ctx, int code, uint64_t cites);
	/* The server accepted STARTTLS: the rest of the connection is encrypted. */
	void (*tls)(void *ctx);
	/* A line longer than SMTP_LINE_MAX, skipped. */
	void (*long_line)(void *ctx);
};

struct smtp_lines;

/* Per-connection state, embedded in the caller's flow record; all zero is the start. */
struct smtp_state {
	uint8_t mode;		/* enum in smtp.c */
	uint8_t dot;		/* progress through CRLF "." CRLF in a body */
	uint8_t npend;		/* commands awaiting a reply */
	uint8_t skip;		/* per direction: discard up to the next LF */
	uint32_t bdat_left;	/* chunk bytes still to skip */
	uint64_t cites;		/* cite words seen so far in a multi-line reply */
	uint64_t pend;		/* FIFO of 4-bit enum smtp_cmd, oldest in the low bits */
	uint16_t rcode;		/* the code of an over-long reply line being skipped */
	uint8_t rlast;		/* ... and whether it is the reply's last line */
	struct smtp_lines *lines; /* partial lines; NULL when none is pending */
};

/* Sets the words a 4xx/5xx reply is searched for (case-insensitive substrings, at most
 * SMTP_CITE_MAX, copied: up to 63 characters each). Shared by all connections. Which lists
 * a set of words names is cite.c's business, not the parser's. */
void smtp_set_cite_words(const char *const *words, size_t n);
/* Feeds bytes the client sent (in order). */
void smtp_client_data(struct smtp_state *s, const uint8_t *p, size_t len,
    const struct smtp_sink *sink, void *ctx);
/* Feeds bytes the server sent (in order). */
void smtp_server_data(struct smtp_state *s, const uint8_t *p, size_t len,
    const struct smtp_sink *sink, void *ctx);
/* Bytes of one direction were lost (a hole in the capture, or a segment cut by the
 * snaplen): its partial line is dropped, and what comes next is read as the start of a
 * line, since SMTP peers write whole lines per segment. from_client says which side. */
void smtp_gap(struct smtp_state *s, int from_client);
/* 1 once the connection is encrypted (nothing more to parse). */
int smtp_is_tls(const struct smtp_state *s);
/* Frees the partial-line buffers; the state may then be reused from zero. */
void smtp_release(struct smtp_state *s);

/* Classifies one client command line (without CR LF); for BDAT, *bdat_size gets the chunk
 * size. Exposed for tests and fuzzing. */
enum smtp_cmd smtp_parse_command(const char *line, size_t len, uint64_t *bdat_size);
/* Parses one reply line (without CR LF): 0 with the code and whether it is the last line, -1 when the line is
 * not a reply line. */
int smtp_parse_reply(const char *line, size_t len, int *code, int *last);

#endif
