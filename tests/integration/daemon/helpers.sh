# helpers.sh — the daemon tests' small helpers, nothing else (sourced after dnsbl/lib.sh, never
# run; it starts nothing and writes nothing): read the store (sql), ask the daemon through
# the CLI (rwc, level_of) or the socket (raw), read JSON (js), wait (poll). Sourced by
# daemon/lib.sh (the tests on the replayed story) and by provider_network.sh, which does
# its own setup. Names what those tests' config gives: the store under $tmp/state, the
# config $tmp/etc/rangewatch.conf, the socket $tmp/run/rw.sock.
# shellcheck shell=sh

db=$tmp/state/rangewatch.db
# sql QUERY -> rows, one per line, fields joined by |
sql() {
	$PY - "$db" "$1" <<'PYEOF'
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=5)
for row in c.execute(sys.argv[2]):
    print("|".join(str(x) for x in row))
PYEOF
}
rwc() {	# rwc SUBCOMMAND ARGS... -> the CLI against the test's daemon
	"$RW" "$@" -c "$tmp/etc/rangewatch.conf"
}
# jq-like: js EXPR < JSON (EXPR is Python over d)
js() { $PY -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
# raw LINE -> the daemon's reply to one request line (what came when it closes early)
raw() {
	$PY - "$tmp/run/rw.sock" "$1" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10)
s.sendall(sys.argv[2].encode() + b"\n")
buf = b""
while not buf.endswith(b"\n"):
    b = s.recv(65536)
    if not b:
        break
    buf += b
print(buf.decode().strip())
PYEOF
}
poll() {	# poll SECONDS COMMAND... -> until COMMAND succeeds
	t=$1; shift; n=0
	while [ $n -lt $((t * 2)) ]; do "$@" && return 0; sleep 0.5; n=$((n + 1)); done
	return 1
}
# level_of ID -> the level of customer ID
level_of() { rwc customers --all --json | js "[c['level'] for c in d['customers'] if c['id']=='$1'][0]"; }
# sink PORT FOLDER: the abuse desk's SMTP server (netns/abuse_sink.py, aiosmtpd) on
# 127.0.0.1:PORT, every message kept as FOLDER/<uuid>.<rcpts>.eml; its pid in sink_pid
sink() {
	$PY "$(dirname "$0")/netns/abuse_sink.py" 127.0.0.1 "$1" "$2" >"$tmp/smtp.log" 2>&1 &
	sink_pid=$!
	pids="$pids $sink_pid"
	poll 20 grep -q ready "$tmp/smtp.log" || { echo "FAIL aiosmtpd did not start"; cat "$tmp/smtp.log"; exit 1; }
}
