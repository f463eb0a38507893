/*
 * rangewatchd.c — the daemon: one event loop that owns the capture handle, the DNSBL probe
 * (c-ares sockets, schedule), the store and the timers. Start-up order matters: read and
 * check every file, open the capture as root, drop to the configured user before the first
 * packet is read or any query is sent, then open the state and start. Signal handlers only
 * wake the loop (loop.c); SIGTERM/SIGINT stop cleanly with the store flushed.
 *
 * Owns: the one daemon context (struct rwd) and everything in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "config.h"
#include "customers.h"
#include "dnsbl_lists.h"
#include "listings.h"
#include "log.h"
#include "loop.h"
#include "outbound.h"
#include "prefixes.h"
#include "prober.h"
#include "smtp.h"
#include "store.h"
#include "traffic.h"

#define DEFAULT_CONFIG	"/etc/rangewatch/rangewatch.conf"
#define FLUSH_MS	5000	/* batched state reaches the disk at least this often */
#define ACTIVE_MS	30000	/* how often senders are handed to the DNSBL probe */

/* The daemon's context: main owns it, everything hangs off it. */
struct rwd {
	const char *cfgpath;
	struct rw_config *cfg;
	struct prefixes *space;
	struct customers *customers;
	struct dnsbl_lists *lists;
	struct loop *loop;
	struct capture *cap;
	struct traffic *traffic;
	struct outbound *outbound;
	struct store *store;
	struct listings *listings;
	struct prober *prober;
	uint32_t active_since;	/* senders after this packet time are news for the probe */
};

static void
usage(void)
{
	fprintf(stderr, "usage: rangewatchd [-f] [-n] [-c FILE]\n"
	    "  -f  stay in the foreground and log to stderr\n"
	    "  -n  check the configuration and the files it names, then exit\n");
}

/* Loads the config and every file it names into d; 0 when all are good. */
static int
load_files(struct rwd *d, char *err, size_t errlen)
{
	if (config_load(d->cfgpath, &d->cfg, err, errlen) == -1)
		return -1;
	if (d->cfg->prefixes[0]) {
		if (prefixes_load(d->cfg->prefixes, &d->space, err, errlen) == -1)
			return -1;
	} else if ((d->space = prefixes_new_empty()) == NULL)
		goto nomem;
	if (d->cfg->customers[0]) {
		if (customers_load(d->cfg->customers, &d->customers, err, errlen) == -1)
			return -1;
	} else if ((d->customers = customers_new_empty()) == NULL)
		goto nomem;
	if (d->cfg->lists[0] && dnsbl_lists_load(d->cfg->lists, &d->lists, err, errlen) == -1)
		return -1;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* Makes the state directory (owned by the daemon's user when we are root). */
static int
make_state_dir(const struct rwd *d, const struct passwd *pw, char *err, size_t errlen)
{
	if (mkdir(d->cfg->state_dir, 0750) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", d->cfg->state_dir, strerror(errno));
		return -1;
	}
	if (pw && chown(d->cfg->state_dir, pw->pw_uid, pw->pw_gid) == -1) {
		snprintf(err, errlen, "%s: %s", d->cfg->state_dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* Drops root for good, like tcpdump -Z: groups, gid, uid, and checks it cannot come back. */
static int
drop_privileges(const struct passwd *pw, char *err, size_t errlen)
{
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		snprintf(err, errlen, "cannot drop to user %s: %s", pw->pw_name, strerror(errno));
		return -1;
	}
	if (setuid(0) != -1) {
		snprintf(err, errlen, "dropped to %s but could become root again", pw->pw_name);
		return -1;
	}
	return 0;
}

static void
on_capture(void *arg, int fd, short revents)
{
	struct rwd *d = arg;
	char err[256];

	(void)fd;
	(void)revents;
	if (capture_dispatch(d->cap, -1, d->outbound, err, sizeof err) == -1)
		log_warnx("capture: %s", err);
}

/* Hands the IPs that sent SMTP since the last round to the DNSBL probe (fast re-checks). */
static void
on_active(void *arg)
{
	struct rwd *d = arg;
	size_t i, n = traffic_count(d->traffic);
	uint32_t newest = d->active_since;
	struct traffic_ip *ip;

	for (i = 0; i < n; i++) {
		ip = traffic_at(d->traffic, i);
		if (ip->last_seen > d->active_since) {
			prober_active(d->prober, &ip->addr);
			if (ip->last_seen > newest)
				newest = ip->last_seen;
		}
	}
	d->active_since = newest;
	loop_timer(d->loop, ACTIVE_MS, on_active, d);
}

static void
on_flush(void *arg)
{
	struct rwd *d = arg;
	char err[256];

	if (store_flush(d->store, err, sizeof err) == -1)
		log_warnx("store: %s", err);
	loop_timer(d->loop, FLUSH_MS, on_flush, d);
}

static void
on_stop(void *arg)
{
	struct rwd *d = arg;

	log_info("stopping");
	loop_stop(d->loop);
}

static void
on_hup(void *arg)
{
	(void)arg;
	log_warnx("SIGHUP: reloading is not built yet; restart to apply a new configuration");
}

static void
write_pidfile(const struct rwd *d)
{
	FILE *f;

	if (d->cfg->pidfile[0] == '\0')
		return;
	if ((f = fopen(d->cfg->pidfile, "we")) == NULL) {
		log_warn("pidfile %s", d->cfg->pidfile);
		return;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
}

static void
rwd_free(struct rwd *d)
{
	prober_free(d->prober);
	listings_free(d->listings);
	store_close(d->store);
	outbound_free(d->outbound);
	traffic_free(d->traffic);
	capture_close(d->cap);
	loop_free(d->loop);
	dnsbl_lists_free(d->lists);
	customers_free(d->customers);
	prefixes_free(d->space);
	config_free(d->cfg);
}

int
main(int argc, char **argv)
{
	struct rwd d;
	struct passwd *pw = NULL;
	struct dnsbl_opts dopts;
	char err[512];
	int ch, foreground = 0, check = 0, rc = 1;

	memset(&d, 0, sizeof d);
	d.cfgpath = DEFAULT_CONFIG;
	while ((ch = getopt(argc, argv, "c:fnh")) != -1) {
		switch (ch) {
		case 'c': d.cfgpath = optarg; break;
		case 'f': foreground = 1; break;
		case 'n': check = 1; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	log_init("rangewatchd", 1, 0);
	if (load_files(&d, err, sizeof err) == -1) {
		log_warnx("%s", err);
		goto out;
	}
	if (check) {
		printf("%s: OK (%zu prefixes, %zu customers, %zu lists)\n", d.cfgpath,
		    prefixes_count(d.space), customers_count(d.customers),
		    d.lists ? dnsbl_lists_count(d.lists) : 0);
		rc = 0;
		goto out;
	}

	/* as root: the capture, and the user and state directory we drop to */
	if (geteuid() == 0) {
		if ((pw = getpwnam(d.cfg->user)) == NULL) {
			log_warnx("%s: unknown user '%s' (config key user)", d.cfgpath, d.cfg->user);
			goto out;
		}
		if (pw->pw_uid == 0) {
			log_warnx("user '%s' is root: the daemon does not run as root", d.cfg->user);
			goto out;
		}
	}
	if (d.cfg->interface[0] &&
	    (d.cap = capture_open_live(d.cfg->interface, d.cfg->snaplen, d.cfg->buffer_size,
	    d.space, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		goto out;
	}
	if (make_state_dir(&d, pw, err, sizeof err) == -1) {
		log_warnx("%s", err);
		goto out;
	}
	if (pw && drop_privileges(pw, err, sizeof err) == -1) {
		log_warnx("%s", err);
		goto out;
	}
	if (!foreground) {
		if (daemon(0, 0) == -1) {
			log_warn("daemon");
			goto out;
		}
		log_init("rangewatchd", 0, 0);
	}
	write_pidfile(&d);

	/* unprivileged from here on */
	if ((d.loop = loop_new()) == NULL ||
	    (d.traffic = traffic_new((size_t)d.cfg->max_ips, d.cfg->ncite)) == NULL ||
	    (d.outbound = outbound_new(d.traffic, d.space, d.customers, (size_t)d.cfg->max_flows,
	    (unsigned)d.cfg->flow_timeout)) == NULL) {
		log_warnx("out of memory");
		goto out;
	}
	smtp_set_cite_words((const char *const *)d.cfg->cite,
	    d.cfg->ncite > SMTP_CITE_MAX ? SMTP_CITE_MAX : d.cfg->ncite);
	if (store_open(d.cfg->state_dir, &d.store, err, sizeof err) == -1 ||
	    (d.listings = listings_open(d.store, err, sizeof err)) == NULL) {
		log_warnx("%s", err);
		goto out;
	}
	if (d.lists) {
		memset(&dopts, 0, sizeof dopts);
		dopts.nameservers = d.cfg->nameserver;
		if ((d.prober = prober_new(d.loop, &dopts, d.lists, d.space, d.listings, err,
		    sizeof err)) == NULL) {
			log_warnx("%s", err);
			goto out;
		}
		loop_timer(d.loop, ACTIVE_MS, on_active, &d);
	}
	if (d.cap && loop_fd(d.loop, capture_fd(d.cap), POLLIN, on_capture, &d) == -1) {
		log_warnx("out of memory");
		goto out;
	}
	loop_signal(d.loop, SIGTERM, on_stop, &d);
	loop_signal(d.loop, SIGINT, on_stop, &d);
	loop_signal(d.loop, SIGHUP, on_hup, NULL);
	signal(SIGPIPE, SIG_IGN);
	loop_timer(d.loop, FLUSH_MS, on_flush, &d);
	log_info("started: %zu prefixes, %zu customers, %zu lists, capture %s, running as %s",
	    prefixes_count(d.space), customers_count(d.customers),
	    d.lists ? dnsbl_lists_count(d.lists) : 0,
	    d.cfg->interface[0] ? d.cfg->interface : "off", pw ? pw->pw_name : "(not root)");
	loop_run(d.loop);
	rc = 0;
out:
	rwd_free(&d);
	return rc;
}
