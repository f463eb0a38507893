/*
 * fuzz_smtp.c — libFuzzer target for the SMTP conversation follower alone. Input: chunks,
 * each a header byte (bit 7: server side, bit 6: a gap before it, bits 0-5: length) and
 * that many bytes, so the fuzzer controls both directions and every split.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_cmd(void *v, enum smtp_cmd c) { (void)v; (void)c; }
static void on_reply(void *v, int code, uint64_t cites) { (void)v; (void)code; (void)cites; }
static void on_tls(void *v) { (void)v; }
static void on_long(void *v) { (void)v; }
static const struct smtp_sink sink = { on_cmd, on_reply, on_tls, on_long };
static const char *const words[] = { "spamhaus", "uceprotect", "spamcop" };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_state st;
	size_t off = 0, len;
	uint8_t *chunk;

	memset(&st, 0, sizeof st);
	smtp_set_cite_words(words, 3);
	while (off < size) {
		uint8_t h = data[off++];
		len = h & 0x3f;
		if (len > size - off)
			len = size - off;
		chunk = malloc(len ? len : 1);
		memcpy(chunk, data + off, len);
		if (h & 0x40)
			smtp_gap(&st, !(h & 0x80));
		if (h & 0x80)
			smtp_server_data(&st, chunk, len, &sink, NULL);
		else
			smtp_client_data(&st, chunk, len, &sink, NULL);
		free(chunk);
		off += len;
	}
	smtp_release(&st);
	return 0;
}
