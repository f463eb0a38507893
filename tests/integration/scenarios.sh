#!/bin/sh
# The detection scenario suite, short variant (release-only: it judges the model, not the
# build; about 1.5 min on 2 cores, once per make test): eleven stories
# (tests/scenarios/stories.py, README.md there), each a generated capture, a zone timeline
# derived from its traffic and the expected outcome, replayed through rangewatchd against a
# real rbldnsd (tests/scenarios/run.py: quiet stretches at replay_speed 0, an hour around
# each zone change at 600x with the zones following the model's clock, three stories side
# by side; generated stories are kept in tests/out/scenarios/ for a rerun the same day).
# Fails when any story misses a goal: the first culprit at act >= 2 h before the
# range/ASN-scope listing (when its spam starts >= 2 h before it), warn within 5 min of a
# burst's start, no innocent at act, no hook run for an innocent, nothing above watch on
# the quiet day. Prints the table. Longer variant: bench/scenarios.sh (make bench).
: "${RW_BIN:?RW_BIN must name the folder holding rangewatch and rangewatchd}"
[ "$(id -u)" = 0 ] || { echo "skip: needs root (the daemon drops to nobody, the hook runs as nobody)"; exit 77; }
id nobody >/dev/null 2>&1 || { echo "skip: no user nobody"; exit 77; }
command -v rbldnsd >/dev/null 2>&1 || { echo "skip: rbldnsd not installed"; exit 77; }
exec /usr/bin/python3 "$(dirname "$0")/../scenarios/run.py" --variant short --jobs "${SCEN_JOBS:-3}" --bin "$RW_BIN"
