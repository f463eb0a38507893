/*
 * fuzz_control.c — libFuzzer target for the control socket's request parser
 * (control_parse): the input is what a client could send, cut into lines at '\n' as the
 * server cuts it (a trailing '\r' dropped), each line parsed on its own. A line may be
 * refused (most are), but parsing must never crash, leak or overrun; a refusal must leave
 * a printable message, and an accepted request must hold a valid command name.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
one(const char *line, size_t len)
{
	struct control_request req;
	char err[256];
	size_t i, n;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	err[0] = '\0';
	if (control_parse(line, len, &req, err, sizeof err) == -1) {
		if (err[0] == '\0' || !text_is_clean(err, strlen(err)) || req.msg != NULL)
			abort();
		return;
	}
	n = strlen(req.cmd);
	if (n == 0 || n > CONTROL_MAX_CMD || !json_is_object(req.msg))
		abort();
	for (i = 0; i < n; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyz0123456789_-", req.cmd[i]) == NULL)
			abort();
	control_request_clear(&req);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nl;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		one(p, (size_t)((nl ? nl : end) - p));
		p = nl ? nl + 1 : end;
	}
	return 0;
}
