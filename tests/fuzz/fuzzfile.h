/*
 * fuzzfile.h — the temporary file a libFuzzer target writes each input to, for the targets
 * whose code under test reads a file (config, customers, prefixes, DNSBL lists, zone files).
 * Header-only, static: each target includes it once. The file is made once per process and
 * rewritten on every run; it is never removed (libFuzzer ends the process), so a crash
 * leaves the last input there too.
 */
#ifndef RW_FUZZ_FUZZFILE_H
#define RW_FUZZ_FUZZFILE_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Writes size bytes of data to /tmp/NAME.XXXXXX (made on the first call; NAME is used only
 * then) and returns its path, or NULL on a write error. */
static const char *
fuzzfile_put(const char *name, const uint8_t *data, size_t size)
{
	static char path[64];
	size_t off = 0;
	ssize_t w;
	int fd;

	if (path[0] == '\0') {
		snprintf(path, sizeof path, "/tmp/%s.XXXXXX", name);
		if ((fd = mkstemp(path)) == -1)
			abort();
		close(fd);
	}
	if ((fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)) == -1)
		return NULL;
	while (off < size) {
		if ((w = write(fd, data + off, size - off)) <= 0) {
			close(fd);
			return NULL;
		}
		off += (size_t)w;
	}
	close(fd);
	return path;
}

#endif
