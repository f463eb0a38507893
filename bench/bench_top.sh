#!/usr/bin/env bash
# bench/bench_top.sh SOCKET — how fast `rangewatch top` redraws against the daemon behind
# SOCKET (bench/bench_daemon.sh calls it with 1M IPs and 100k customers in the daemon; it
# also runs alone against any daemon). Prints "top_*: ..." lines.
#
# `rangewatch top --timing FILE` runs in a tmux pane of 160x50 (on a private tmux server)
# and writes one line per redraw (view, table rows, milliseconds from erase() to the end of
# refresh(), i.e. the whole composition and the write to the terminal) and one per reply
# (request to reply parsed). The script drives it like an operator for BENCH_TOP_SECONDS
# (default 20) per phase:
#  1. the flagged customers (the default table, worst first): cursor moves, pages, a sort
#     by each column, the listings and alerts views and back, a customer's detail;
#  2. the same with a filter matching most customers ("1": a substring of most ids; the
#     daemon scans every customer and sends the first 500 of every level);
#  3. an 80x24 pane, the default table.
# The reference, measured in the same run: `rangewatch customers --limit 500` (a process
# that connects, asks, prints the table and exits), 20 times: its wall time p50.
# Goal (issue 6): a redraw < 50 ms.
set -euo pipefail
cd "$(dirname "$0")/.."
SOCK=${1:?usage: bench/bench_top.sh SOCKET}
RW=${RW_BIN:-bin}/rangewatch
SECS=${BENCH_TOP_SECONDS:-20}
PY=/usr/bin/python3
command -v tmux >/dev/null || { echo "top_skipped: tmux is missing"; exit 0; }
[ -x "$RW" ] || { echo "bench_top: $RW is missing (run make)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/rw-bench-top.XXXXXX)
TM="tmux -S $tmp/none.sock"	# a server of its own for each phase: see start_top
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() { for s in "$tmp"/*.sock; do tmux -S "$s" kill-server 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

keys() { $TM send-keys -t '=top:' "$@"; sleep 0.15; }
see() {	# see TEXT: waits up to 30 s for TEXT on the screen
	local n=0
	while [ $n -lt 150 ]; do
		$TM capture-pane -p -t '=top:' | grep -qF -- "$1" && return 0
		sleep 0.2; n=$((n + 1))
	done
	echo "bench_top: '$1' never showed" >&2
	$TM capture-pane -p -t '=top:' >&2
	return 1
}
operate() {	# operate SECONDS: keys an operator presses, round after round
	local end=$((SECONDS + $1)) i
	while [ $SECONDS -lt $end ]; do
		for i in 1 2 3 4 5 6 7 8; do keys j; done
		keys NPage; keys NPage; keys Home
		for i in 1 2 3 4 5 6 7 8 9; do keys o; done
		keys Tab; keys Tab; keys Tab
		keys Enter; sleep 0.5; keys Escape
		sleep 1	# a refresh or an event redraws too
	done
}
start_top() {	# start_top COLSxLINES PHASE
	$TM kill-server 2>/dev/null || true
	TM="tmux -S $tmp/$2.sock"	# a new server: the last one may still be going away
	$TM new-session -d -s top -x "${1%x*}" -y "${1#*x}" \
	    "env LC_ALL=C.UTF-8 TERM=xterm-256color '$RW' top -s '$SOCK' --timing '$tmp/$2.timing'; sleep 60"
	see "Neighbourhoods"
	see "SCORE"
	sleep 3	# the first replies
}

start_top 160x50 flagged
operate "$SECS"
start_top 160x50 filtered
keys /; $TM send-keys -t '=top:' -l 1; keys Enter
see " /1"
sleep 3
operate "$SECS"
start_top 80x24 small
operate "$SECS"
$TM kill-server 2>/dev/null || true

for _ in $(seq 20); do
	t0=$EPOCHREALTIME
	"$RW" customers -s "$SOCK" --limit 500 >"$tmp/cli.out"
	awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }' >>"$tmp/cli.ms"
done
cli_rows=$(wc -l <"$tmp/cli.out")

"$PY" - "$tmp" "$cli_rows" <<'PYEOF'
import statistics, sys
tmp, cli_rows = sys.argv[1], int(sys.argv[2])
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]
cli = [float(x) for x in open(tmp + "/cli.ms")]
cli50 = statistics.median(cli)
for phase, what in (("flagged", "160x50, the flagged customers"),
                    ("filtered", "160x50, filter '1' (every level)"),
                    ("small", "80x24, the flagged customers")):
    draws, rows, replies = [], [], []
    for line in open("%s/%s.timing" % (tmp, phase)):
        f = line.split()
        if f[0] == "draw":
            draws.append(float(f[3])); rows.append(int(f[2]))
        elif f[0] == "reply" and f[1] == "customers":
            replies.append(float(f[2]))
    if not draws:
        print("top_%s: no redraw recorded" % phase); sys.exit(1)
    print("top_redraw_%s: p50 %.2f ms, p99 %.2f ms, max %.2f ms over %d redraws (%s; %d table rows); "
          "customers reply p50 %.1f ms, max %.1f ms (%d); redraw p50 / CLI p50 = %.3f" % (
              phase, statistics.median(draws), pct(draws, 99), max(draws), len(draws), what,
              max(rows), statistics.median(replies) if replies else 0,
              max(replies) if replies else 0, len(replies), statistics.median(draws) / cli50))
print("top_reference: rangewatch customers --limit 500: p50 %.1f ms, max %.1f ms over %d runs "
      "(%d lines printed)" % (cli50, max(cli), len(cli), cli_rows))
PYEOF
