/*
 * replay.h — the daemon's traffic from capture files instead of an interface
 * (`replay = FILE...`, `replay_speed = N`): the files are read in order, filtered like a
 * live capture, and their frames fed to an outbound accounting paced by their timestamps:
 * at speed N a gap of t seconds between two frames takes t/N seconds of wall time; speed 0
 * feeds as fast as it can, in slices, so the event loop stays responsive. The model's clock
 * is the timestamp of the last frame fed (monotonic: a file that starts earlier than the
 * previous one ended does not move it back). Never sleeps: the caller's loop asks when the
 * next frame is due.
 *
 * Pacing: the first frame fed defines (t0, its packet time; w0, the wall time it was fed
 * at); a frame of packet time t is due at w0 + (t - t0) / speed, in milliseconds rounded
 * down. A frame earlier than the clock (a file that starts earlier, frames out of order)
 * is due at once and accounted at the clock's time.
 */
#ifndef RW_REPLAY_H
#define RW_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "outbound.h"
#include "prefixes.h"

struct replay;

struct replay_stats {
	uint64_t frames;	/* fed to the accounting */
	uint64_t files_done;	/* files read to their end */
	uint64_t files_failed;	/* files that could not be opened or read (logged) */
};

/* Replays files[0..nfiles-1] (copied) at speed into o (not owned); p (not owned) sets the
 * filter. Files are opened one after the other as the replay reaches them; one that cannot
 * be opened is logged, counted and skipped. NULL with err when nfiles is 0, speed < 0 or
 * the first file cannot be opened. */
struct replay *replay_new(char *const *files, size_t nfiles, double speed,
    const struct prefixes *p, struct outbound *o, char *err, size_t errlen);
/* NULL-safe. */
void replay_free(struct replay *r);
/* A reload: files opened from now on are filtered for p (not owned; the old one may be
 * freed after return). The file being read keeps the filter it was opened with. */
void replay_set_space(struct replay *r, const struct prefixes *p);
/* Feeds the frames due at wall time now_ms (CLOCK_MONOTONIC milliseconds), at most max of
 * them (speed 0 feeds max frames a call; max < 0: no limit). Returns frames fed (0: none
 * due yet). Expired flows are swept as the clock moves by a second (outbound_tick). */
long replay_run(struct replay *r, int64_t now_ms, long max);
/* Milliseconds from now_ms until the next frame is due: 0 when one is due now, -1 when
 * the replay is done. */
int64_t replay_wait_ms(const struct replay *r, int64_t now_ms);
/* replay_run stops before the first frame stamped until_s or later (0: no bound), so the
 * caller can let the model see each minute of packet time: the daemon bounds every slice
 * at the next minute boundary. */
void replay_set_until(struct replay *r, int64_t until_s);
/* The time (seconds, never before the clock) of the next frame to feed, -1 when done. */
int64_t replay_next_time(const struct replay *r);
/* The model clock: the timestamp (seconds) of the last frame fed; 0 before the first. */
int64_t replay_clock(const struct replay *r);
/* 1 once every file has been read. */
int replay_done(const struct replay *r);
void replay_get_stats(const struct replay *r, struct replay_stats *out);

#endif
