/*
 * log.h — the three kinds of failure (OpenBSD style): fatal()/fatalx() at start-up or on
 * a broken invariant, log_warn()/log_warnx() at run time, log_info()/log_debug() for news.
 * The *x variants do not append strerror(errno).
 *
 * Messages go to stderr (foreground, CLI) or syslog (daemon). Callers pass only escaped
 * text: untrusted strings go through log_escape() (or text_escape) first.
 */
#ifndef RW_LOG_H
#define RW_LOG_H

#include <stdarg.h>
#include <stddef.h>

/* Sends messages to stderr when foreground, else to syslog under IDENT. */
void log_init(const char *ident, int foreground, int verbose);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
