# lib.sh — shared by tests/integration/dnsbl_*.sh (sourced, never run): a private folder,
# a real rbldnsd on a free 127.0.0.1 port with the test zones, a config pointing at it, and
# small assertions that print what they checked. Every process started here is killed by
# the EXIT trap, by its own pid.
# shellcheck shell=sh

set -u
: "${RW_BIN:?RW_BIN must name the folder holding rangewatch}"
PY=/usr/bin/python3
DNSBL_FIX=$(cd "$(dirname "$0")/dnsbl" && pwd)
RW=$RW_BIN/rangewatch
fail=0
pids=""

skip() { echo "skip: $*"; exit 77; }

[ -x "$RW" ] || { echo "FAIL: $RW missing"; exit 1; }
[ -x "$PY" ] || skip "python3 not installed"

# mktemp -d is 0700: rbldnsd runs as nobody when we are root and must read the zones
tmp=$(mktemp -d)
chmod 755 "$tmp"

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { printf 'ok   %s\n' "$*"; }
bad() { printf 'FAIL %s\n' "$*"; fail=1; }

# expect LABEL WANTED GOT
expect() {
	if [ "$2" = "$3" ]; then ok "$1: $3"; else bad "$1: wanted '$2', got '$3'"; fi
}

# A free UDP port on 127.0.0.1 (the kernel's pick; a small race until the server binds it).
free_port() {
	$PY -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_rbldnsd ZONESPEC... — rbldnsd on a free port; sets RBL_PORT and RBL_LOG (the query
# log, one line per query, flushed per line).
start_rbldnsd() {
	command -v rbldnsd >/dev/null 2>&1 || skip "rbldnsd not installed"
	RBL_LOG=$tmp/rbldnsd-queries.log
	: >"$RBL_LOG"
	user=""
	if [ "$(id -u)" = 0 ]; then
		# as root rbldnsd refuses to run without -u; nobody must be able to write its log
		user="-u nobody"
		chown nobody "$RBL_LOG"
	fi
	for attempt in 1 2 3; do
		RBL_PORT=$(free_port)
		# shellcheck disable=SC2086  # $user is empty or two words
		rbldnsd -n $user -b "127.0.0.1/$RBL_PORT" -t 60 -c 1s -l "+$RBL_LOG" "$@" \
			>"$tmp/rbldnsd.out" 2>&1 &
		rbl_pid=$!
		i=0
		while [ $i -lt 50 ]; do
			grep -q "started" "$tmp/rbldnsd.out" && break
			kill -0 "$rbl_pid" 2>/dev/null || break
			sleep 0.1
			i=$((i + 1))
		done
		if grep -q "started" "$tmp/rbldnsd.out"; then
			pids="$pids $rbl_pid"
			echo "rbldnsd listening on 127.0.0.1/$RBL_PORT (attempt $attempt)"
			return 0
		fi
		kill "$rbl_pid" 2>/dev/null
		wait "$rbl_pid" 2>/dev/null
	done
	echo "FAIL: rbldnsd did not start:"; cat "$tmp/rbldnsd.out"
	exit 1
}

# start_py SCRIPT ARGS... — a python helper that binds port 0 and prints it first; sets
# PY_PORT.
start_py() {
	py_n=$(( ${py_n:-0} + 1 ))
	$PY "$@" >"$tmp/py.$py_n.port" 2>"$tmp/py.$py_n.err" &
	pids="$pids $!"
	i=0
	while [ $i -lt 50 ] && [ ! -s "$tmp/py.$py_n.port" ]; do sleep 0.1; i=$((i + 1)); done
	PY_PORT=$(head -n 1 "$tmp/py.$py_n.port")
	[ -n "$PY_PORT" ] || { echo "FAIL: $1 did not start: $(cat "$tmp/py.$py_n.err")"; exit 1; }
}

# write_config DIR NAMESERVER — DIR/rangewatch.conf naming DIR/lists.conf and the test
# provider space (DNSBL_FIX/prefixes.txt).
write_config() {
	mkdir -p "$1"
	cp "$DNSBL_FIX/prefixes.txt" "$1/prefixes.txt"
	printf '[rangewatch]\nprefixes = prefixes.txt\nlists = lists.conf\nnameserver = %s\n' "$2" \
		>"$1/rangewatch.conf"
}

# queries PATTERN — how many queries in the rbldnsd log match the extended regex.
queries() {
	grep -cE "$1" "$RBL_LOG"
}

# jget FILE EXPR — evaluates a python expression over the JSON array in FILE as `rows`,
# with helper `row(ip, list)` (the one row, or {}).
jget() {
	$PY - "$1" "$2" <<'PYEOF'
import json, sys
rows = json.load(open(sys.argv[1]))
def row(ip, lst):
    m = [r for r in rows if r["ip"] == ip and r["list"] == lst]
    return m[0] if len(m) == 1 else {"status": "missing or %d rows" % len(m)}
v = eval(sys.argv[2])
print(",".join(v) if isinstance(v, list) else v)
PYEOF
}

finish() {
	if [ "$fail" -ne 0 ]; then
		echo "--- rbldnsd said:"; cat "$tmp/rbldnsd.out" 2>/dev/null
	fi
	exit "$fail"
}
