#!/bin/sh
# bench/flood.sh — a flood of new source addresses through the daemon, bigger than make
# test's (tests/integration/daemon_flood.sh does the work): the replayed story with
# FLOOD_SOURCES (4,000,000) spoofed SYNs from as many IPv6 addresses in the minute before
# the spam, against a capture table of FLOOD_MAX_IPS (1,000,000) sources; the reference is
# the same story without the flood, in the same run. Figures: the replay's wall time,
# status latency (median and worst, asked every 50 ms), the slowest minute's work the
# daemon reported, sources evicted and turned away, and whether the spammer reached act at
# the same packet time. Appends a dated section to bench/RESULTS.md; exits 1 when the test
# failed (the figures are then printed but not kept).
cd "$(dirname "$0")/.." || exit 1
: "${RW_BIN:=$PWD/bin}"
N=${FLOOD_SOURCES:-4000000}
MAX=${FLOOD_MAX_IPS:-1000000}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "bench/flood.sh: $N spoofed sources against max_ips $MAX (a few minutes)"
FLOOD_SOURCES=$N FLOOD_MAX_IPS=$MAX RW_BIN=$RW_BIN tests/integration/daemon_flood.sh >"$out" 2>&1
rc=$?
grep -E '^(ok|FAIL)|^figures:' "$out"
[ $rc = 0 ] || { echo "bench/flood.sh: the flood test failed (exit $rc): figures not kept"; exit 1; }
line=$(grep '^figures:' "$out")
# figures: sources N, max_ips M, replay_s P F, status_p50_ms P F, status_max_ms P F,
# minute_max_ms X, evicted E, untracked U, act_same yes
set -- $(echo "$line" | tr -d ',')
shift
{
	printf '\n## Flood of new sources through the daemon (%s)\n\n' "$(date -u +%Y-%m-%d)"
	printf 'Machine: %s, %s cores. Command: `bench/flood.sh` (`make bench`), which runs\n' \
	    "$(uname -srm)" "$(nproc)"
	printf '`tests/integration/daemon_flood.sh` with FLOOD_SOURCES=%s FLOOD_MAX_IPS=%s. Reference:\n' "$N" "$MAX"
	printf 'the same story replayed without the flood, in the same run.\n\n'
	printf '| figure | without the flood | with %s spoofed sources |\n|---|---|---|\n' "$2"
	printf '| replay wall time (s, polled every 0.5 s) | %s | %s |\n' "$6" "$7"
	printf '| status latency, median (ms) | %s | %s |\n' "$9" "${10}"
	printf '| status latency, worst (ms) | %s | %s |\n' "${12}" "${13}"
	printf '| slowest minute of work, summed over its slices (ms) | | %.1f |\n' "${15}"
	printf '| sources evicted / frames of sources turned away | | %s / %s |\n' "${17}" "${19}"
	printf '| spammer at act at the same packet time | | %s |\n' "${21}"
} >>bench/RESULTS.md
echo "appended to bench/RESULTS.md"
