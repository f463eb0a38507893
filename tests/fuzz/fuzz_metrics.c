/*
 * fuzz_metrics.c — libFuzzer target for the metrics endpoint's own code (metrics.c): the
 * routing of a request by method and path (what libmicrohttpd hands over, attacker
 * controlled), the address parser of [rangewatch] metrics, and the renderer over any JSON
 * object in place of `status` (names and figures it does not expect). An input starting
 * with '{' is JSON for the renderer; otherwise it is "METHOD PATH" for the router and the
 * whole input for the address parser. The exposition must stay line-shaped: every line a
 * comment or NAME[{labels}] VALUE, no raw control byte anywhere.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_text(const char *t, size_t len)
{
	size_t i;

	if (strlen(t) != len || (len > 0 && t[len - 1] != '\n'))
		abort();
	for (i = 0; i < len; i++)
		if (((unsigned char)t[i] < 0x20 && t[i] != '\n') || t[i] == 0x7f)
			abort();
	for (i = 0; i < len; i = (size_t)(strchr(t + i, '\n') - t) + 1)
		if (t[i] != '#' && strncmp(t + i, "rangewatch_", 11) != 0)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *sp, *text, err[160];
	struct sockaddr_storage ss;
	socklen_t sslen;
	json_t *o;
	size_t len;
	enum metrics_route r;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (size > 0 && s[0] == '{') {
		if ((o = json_loadb((const char *)data, size, 0, NULL)) != NULL) {
			if ((text = metrics_render(o, &len)) != NULL) {
				check_text(text, len);
				free(text);
			}
			json_decref(o);
		}
		free(s);
		return 0;
	}
	if (metrics_parse_addr(s, &ss, &sslen, err, sizeof err) == 0 &&
	    ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
		abort();
	if ((sp = strchr(s, ' ')) != NULL) {
		*sp = '\0';
		r = metrics_route(s, sp + 1);
		if (r == METRICS_R_METRICS && (strcmp(sp + 1, "/metrics") != 0 ||
		    (strcmp(s, "GET") != 0 && strcmp(s, "HEAD") != 0)))
			abort();
	}
	free(s);
	return 0;
}
