/*
 * top.h — `rangewatch top [-c FILE] [-s SOCKET]`: the live NOC dashboard (ncursesw), a
 * subscribed client of the daemon's control socket (shapes in monitor/views.h). It never
 * opens the database.
 */
#ifndef RW_TOP_H
#define RW_TOP_H

/* Runs the dashboard until `q` or SIGTERM/SIGINT. Returns the exit code: 0; 2 usage, a
 * bad config or no terminal. */
int top_main(int argc, char **argv);

#endif
