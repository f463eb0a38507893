/*
 * client.h — the CLI's side of the control socket (protocol in monitor/control.h): finds
 * the socket (-s, else the config's `socket` key, else the default), connects, sends
 * requests and reads replies and events, each wait bounded by a timeout. Errors say what
 * the user can do about them: "rangewatchd is not running (no socket at PATH)",
 * "permission denied: you are not in the group that may read PATH".
 */
#ifndef RW_CLIENT_H
#define RW_CLIENT_H

#include <stddef.h>

#include <jansson.h>

#define CLIENT_DEFAULT_CONFIG	"/etc/rangewatch/rangewatch.conf"
#define CLIENT_DEFAULT_SOCKET	"/run/rangewatch/rangewatch.sock"
#define CLIENT_TIMEOUT_MS	10000
#define CLIENT_MAX_LINE		(256u * 1024 * 1024)	/* a reply or event, bytes */

struct client;

/* Writes the socket path to out: sock when not NULL (-s), else the `socket` key of the
 * config at config_path, or of the default config when config_path is NULL and that file
 * is readable, else CLIENT_DEFAULT_SOCKET. -1 with the reason in err (a config that does
 * not load, a path too long). */
int client_socket_path(const char *sock, const char *config_path, char *out, size_t len,
    char *err, size_t errlen);
/* Connects to the daemon at path. NULL with a user-facing reason in err. */
struct client *client_connect(const char *path, char *err, size_t errlen);
/* NULL-safe; closes the connection. */
void client_free(struct client *c);
/* The socket, for poll() (readable: call client_recv). */
int client_fd(const struct client *c);
/* Sends {"v":1,"id":N,"cmd":cmd, ...args}; args (an object or NULL) is borrowed. Returns
 * the id, -1 with the reason in err. */
long long client_send(struct client *c, const char *cmd, const json_t *args, int timeout_ms,
    char *err, size_t errlen);
/* Reads the next message (a reply or an event) into *msg (the caller decrefs), waiting at
 * most timeout_ms (-1: no limit). -1 with the reason in err (timeout, the daemon closed the
 * connection, a line that is not a JSON object or too long). */
int client_recv(struct client *c, json_t **msg, int timeout_ms, char *err, size_t errlen);
/* Like client_recv without waiting, for callers on their own poll(): 1 and *msg (the caller
 * decrefs) when a whole message had arrived, 0 when none has yet, -1 with the reason in err
 * (the daemon closed the connection, a bad or too long line). */
int client_try_recv(struct client *c, json_t **msg, char *err, size_t errlen);
/* One request and its reply (events before it are skipped): 0 and a new reference to the
 * result in *result, or -1 with the reason in err (the daemon's error is prefixed
 * "rangewatchd: "). The timeout covers the whole exchange. */
int client_call(struct client *c, const char *cmd, const json_t *args, json_t **result,
    int timeout_ms, char *err, size_t errlen);

#endif
