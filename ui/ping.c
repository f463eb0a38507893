/*
 * ping.c — the ping subcommand: finds the socket like every daemon-facing subcommand
 * (-s, else the config's `socket`, else the default), sends {"cmd":"ping"} and prints
 * whether and how fast the daemon answered. Owns one client connection for the run; prints
 * nothing from the daemon that did not pass text_escape (client_call does that).
 */
#include "ping.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "control.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: rangewatch ping [-c FILE] [-s SOCKET] [--timeout MS]\n"
	    "Asks rangewatchd whether it answers on its control socket.\n"
	    "  -c FILE       the config whose `socket` key names the socket (default\n"
	    "                " CLIENT_DEFAULT_CONFIG " when it exists)\n"
	    "  -s SOCKET     the socket itself (default " CLIENT_DEFAULT_SOCKET ")\n"
	    "  --timeout MS  wait at most this long (default %d)\n"
	    "Exit: 0 it answered; 1 it did not (not running, permission, timeout); 2 usage or\n"
	    "configuration error.\n", CLIENT_TIMEOUT_MS);
}

int
ping_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cfgpath = NULL, *sock = NULL;
	char path[256], err[1024], *end;
	struct timespec t0, t1;
	struct client *c;
	json_t *result;
	long timeout = CLIENT_TIMEOUT_MS;
	int ch, r;

	while ((ch = getopt_long(argc, argv, "c:s:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfgpath = optarg; break;
		case 's': sock = optarg; break;
		case 't':
			timeout = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || timeout < 1 || timeout > 3600000) {
				fprintf(stderr, "rangewatch ping: --timeout wants 1..3600000 ms\n");
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (client_socket_path(sock, cfgpath, path, sizeof path, err, sizeof err) == -1) {
		fprintf(stderr, "rangewatch ping: %s\n", err);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((c = client_connect(path, err, sizeof err)) == NULL) {
		fprintf(stderr, "rangewatch ping: %s\n", err);
		return 1;
	}
	r = client_call(c, "ping", NULL, &result, (int)timeout, err, sizeof err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	client_free(c);
	if (r == -1) {
		fprintf(stderr, "rangewatch ping: %s\n", err);
		return 1;
	}
	json_decref(result);
	printf("rangewatchd answers on %s (protocol %d, %.1f ms)\n", path, CONTROL_VERSION,
	    (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	return 0;
}
