/*
 * fuzz_config.c — libFuzzer target for the rangewatch.conf loader (inih with our line reader, the key table, path resolution).
 * The loader reads a file, so each input is written to one temporary file (made on the first
 * run, rewritten on every run) and loaded; whatever loads is exercised a little and freed.
 * A load may fail (most inputs are not valid), but it must never crash, leak or overrun, and
 * a failure must leave a message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzzfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every string is a string, every list is as long as it says. */
static void
exercise(const struct rw_config *c)
{
	size_t i, n = 0;

	n += strlen(c->path) + strlen(c->dir) + strlen(c->prefixes) + strlen(c->customers) +
	    strlen(c->lists) + strlen(c->interface) + strlen(c->nameserver) +
	    strlen(c->state_dir) + strlen(c->socket) + strlen(c->user) + strlen(c->pidfile) +
	    strlen(c->alert_smtp_url) + strlen(c->alert_from) + strlen(c->alert_to) +
	    strlen(c->webhook_url) + strlen(c->hook_path) + strlen(c->hook_user);
	for (i = 0; i < c->nreplay; i++)
		n += strlen(c->replay[i]);
	for (i = 0; i < c->ncite; i++)
		n += strlen(c->cite[i]);
	if (c->snaplen < 96 || c->hook_timeout < 1 || !(c->replay_speed >= 0) || n == 0)
		abort();	/* out of the table's ranges, or no path/dir at all */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rw_config *c = NULL;
	const char *path;
	char err[1024] = "";

	if ((path = fuzzfile_put("fuzz_config", data, size)) == NULL)
		return 0;
	if (config_load(path, &c, err, sizeof err) == -1) {
		if (c != NULL || err[0] == '\0')
			abort();	/* a failure frees everything and says why */
		return 0;
	}
	exercise(c);
	config_free(c);
	return 0;
}
