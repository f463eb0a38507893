/*
 * curlloop.h — a libcurl multi handle driven by the daemon's loop: the sockets libcurl
 * asks for become loop descriptors and its timeout a loop timer (libcurl's multi_socket
 * API), so transfers never block the loop and no thread is made. After libcurl has
 * acted on a socket or a timeout, done() is called: the owner reads the finished
 * transfers there (curl_multi_info_read). Used by the alert outbox (alert.c) and the SNDS
 * fetch (snds_fetch.c), each with a handle of its own.
 */
#ifndef RW_CURLLOOP_H
#define RW_CURLLOOP_H

#include <curl/curl.h>

#include "loop.h"

struct curlloop;

/* A multi handle on l; done(arg) after each action. NULL when out of memory or libcurl
 * refuses. */
struct curlloop *curlloop_new(struct loop *l, void (*done)(void *arg), void *arg);
/* Removes its timer and cleans the multi handle up (the owner has removed its easy
 * handles first). NULL-safe. */
void curlloop_free(struct curlloop *c);
/* The multi handle, for curl_multi_add_handle and the like. */
CURLM *curlloop_multi(const struct curlloop *c);
/* Lets libcurl act on what timed out now (a transfer just added starts at once). */
void curlloop_kick(struct curlloop *c);

#endif
