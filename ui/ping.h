/*
 * ping.h — `rangewatch ping [-c FILE] [-s SOCKET] [--timeout MS]`: asks the daemon's
 * control socket for a pong and says how long it took; the smallest check that the daemon
 * runs and that this user may talk to it.
 */
#ifndef RW_PING_H
#define RW_PING_H

/* Runs the subcommand; argv[0] is "ping". Returns the process exit code. */
int ping_main(int argc, char **argv);

#endif
