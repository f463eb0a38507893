/*
 * act.h — the acting subcommands, `rangewatch suspend|resume|ack CUSTOMER --reason TEXT
 * [-c FILE] [-s SOCKET] [--json]`: one operator action on the control socket (shapes in
 * monitor/views.h), which the daemon checks, records in its audit log and publishes.
 */
#ifndef RW_ACT_H
#define RW_ACT_H

#include <stdio.h>
#include <time.h>

#include <jansson.h>

/* Prints the outcome of an action (the result of suspend, resume or ack) and its audit id
 * to f. 0, or -1 when the result is not an object. */
int act_print(FILE *f, const json_t *result, time_t now);

/* Runs suspend, resume or ack (argv[0]). Returns the exit code. */
int act_main(int argc, char **argv);

/* Runs test-alert. Returns the exit code. */
int test_alert_main(int argc, char **argv);

#endif
