/*
 * replay.c — capture files played back into an outbound accounting at the pace of their
 * timestamps. Owns the file names (copies), the one capture file open at a time and the
 * frame read ahead of time (the next one to feed, whose timestamp says when it is due);
 * borrows the outbound accounting and the provider space. Never sleeps and never reads
 * more than one frame ahead: the event loop asks replay_wait_ms() and calls back.
 */
#include "replay.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "log.h"

#define US_PER_S	1000000LL
#define MAX_WAIT_MS	1e15	/* ~30,000 years */

struct replay {
	char **files;
	size_t nfiles;
	size_t next;			/* the next file to open */
	double speed;			/* 0: no pacing */
	const struct prefixes *space;	/* the filter of files opened from now on */
	struct outbound *o;
	struct capture *cap;		/* the file being read, NULL between files */
	const char *cap_path;
	struct capture_frame ahead;	/* read, not fed yet; its bytes belong to cap */
	int ahead_dlt;
	int have_ahead;			/* 0 once every file has been read */
	int started;			/* a frame has been fed: t0, w0 and clock are set */
	int64_t t0_us;			/* packet time of the first frame fed */
	int64_t w0_ms;			/* wall time it was fed at */
	int64_t clock_us;		/* the model clock: latest packet time fed */
	int64_t tick_s;			/* the clock's second at the last outbound_tick */
	int64_t until_s;		/* replay_run stops before frames this late (0: none) */
	struct replay_stats st;
};

static void
close_current(struct replay *r)
{
	capture_close(r->cap);
	r->cap = NULL;
	r->cap_path = NULL;
}

/* Reads the next frame ahead, opening the following files as the current one ends; files
 * that cannot be opened or read are logged, counted and skipped. have_ahead stays 0 only
 * when no file is left. */
static void
read_ahead(struct replay *r)
{
	char err[256];
	int n;

	while (!r->have_ahead) {
		if (r->cap == NULL) {
			if (r->next >= r->nfiles)
				return;
			r->cap_path = r->files[r->next++];
			if ((r->cap = capture_open_file(r->cap_path, 1, r->space, err,
			    sizeof err)) == NULL) {
				log_warnx("replay: %s: %s; skipped", r->cap_path, err);
				r->st.files_failed++;
				r->cap_path = NULL;
				continue;
			}
		}
		n = capture_next(r->cap, &r->ahead, err, sizeof err);
		if (n == 1) {
			r->ahead_dlt = capture_linktype(r->cap);
			r->have_ahead = 1;
		} else if (n == 0) {
			r->st.files_done++;
			close_current(r);
		} else {
			log_warnx("replay: %s: %s; the rest of the file is skipped", r->cap_path,
			    err);
			r->st.files_failed++;
			close_current(r);
		}
	}
}

struct replay *
replay_new(char *const *files, size_t nfiles, double speed, const struct prefixes *p,
    struct outbound *o, char *err, size_t errlen)
{
	struct replay *r;
	char why[256];
	size_t i;

	if (nfiles == 0) {
		snprintf(err, errlen, "no capture file to replay");
		return NULL;
	}
	if (!isfinite(speed) || speed < 0) {
		snprintf(err, errlen, "replay speed %g: must be 0 (as fast as it can) or more",
		    speed);
		return NULL;
	}
	if ((r = calloc(1, sizeof *r)) == NULL ||
	    (r->files = calloc(nfiles, sizeof *r->files)) == NULL)
		goto nomem;
	r->nfiles = nfiles;
	for (i = 0; i < nfiles; i++)
		if ((r->files[i] = strdup(files[i])) == NULL)
			goto nomem;
	r->speed = speed;
	r->space = p;
	r->o = o;
	/* the first file is opened now so that a wrong path is a start-up error */
	if ((r->cap = capture_open_file(r->files[0], 1, p, why, sizeof why)) == NULL) {
		snprintf(err, errlen, "%s: %s", r->files[0], why);
		replay_free(r);
		return NULL;
	}
	r->cap_path = r->files[0];
	r->next = 1;
	read_ahead(r);
	return r;
nomem:
	snprintf(err, errlen, "out of memory");
	replay_free(r);
	return NULL;
}

void
replay_free(struct replay *r)
{
	size_t i;

	if (r == NULL)
		return;
	capture_close(r->cap);
	if (r->files != NULL)
		for (i = 0; i < r->nfiles; i++)
			free(r->files[i]);
	free(r->files);
	free(r);
}

void
replay_set_space(struct replay *r, const struct prefixes *p)
{
	r->space = p;
}

static int64_t
ahead_us(const struct replay *r)
{
	return r->ahead.sec * US_PER_S + r->ahead.usec;
}

/* Wall time (ms) the frame ahead is due at; only when started and paced. A frame earlier
 * than the clock is due with the clock's frame, which was due already. */
static int64_t
due_ms(const struct replay *r)
{
	int64_t t = ahead_us(r);
	double ms;

	if (t < r->clock_us)
		t = r->clock_us;
	ms = (double)(t - r->t0_us) / (r->speed * 1000.0);
	if (ms > MAX_WAIT_MS)	/* a tiny speed: far enough, and no overflowing cast */
		ms = MAX_WAIT_MS;
	return r->w0_ms + (int64_t)ms;
}

/* Feeds the frame ahead at wall time now_ms and moves the clock (never back). */
static void
feed_ahead(struct replay *r, int64_t now_ms)
{
	int64_t t = ahead_us(r), sec;

	if (!r->started) {
		r->started = 1;
		r->t0_us = r->clock_us = t;
		r->w0_ms = now_ms;
		r->tick_s = t / US_PER_S;
	} else if (t > r->clock_us)
		r->clock_us = t;
	sec = r->clock_us / US_PER_S;
	/* one comparison a frame; the sweep itself once per second of packet time */
	if (sec > r->tick_s) {
		outbound_tick(r->o, (uint32_t)sec);
		r->tick_s = sec;
	}
	/* an out-of-order frame is accounted at the clock, so no record or flow sees time
	 * go back */
	outbound_frame(r->o, r->ahead_dlt, (uint32_t)sec, r->ahead.data, r->ahead.caplen,
	    r->ahead.wirelen);
	r->st.frames++;
	r->have_ahead = 0;
}

long
replay_run(struct replay *r, int64_t now_ms, long max)
{
	long fed = 0;

	while (r->have_ahead && (max < 0 || fed < max)) {
		if (r->speed > 0 && r->started && due_ms(r) > now_ms)
			break;
		if (r->until_s > 0 && r->started && ahead_us(r) >= r->until_s * US_PER_S)
			break;
		feed_ahead(r, now_ms);
		fed++;
		read_ahead(r);
	}
	return fed;
}

int64_t
replay_wait_ms(const struct replay *r, int64_t now_ms)
{
	int64_t d;

	if (!r->have_ahead)
		return -1;
	if (r->speed == 0 || !r->started)
		return 0;
	d = due_ms(r) - now_ms;
	return d > 0 ? d : 0;
}

void
replay_set_until(struct replay *r, int64_t until_s)
{
	r->until_s = until_s;
}

int64_t
replay_next_time(const struct replay *r)
{
	int64_t t;

	if (!r->have_ahead)
		return -1;
	t = ahead_us(r) / US_PER_S;
	return r->started && t < r->clock_us / US_PER_S ? r->clock_us / US_PER_S : t;
}

int64_t
replay_clock(const struct replay *r)
{
	return r->started ? r->clock_us / US_PER_S : 0;
}

int
replay_done(const struct replay *r)
{
	return !r->have_ahead;
}

void
replay_get_stats(const struct replay *r, struct replay_stats *out)
{
	*out = r->st;
}
