#!/usr/bin/env bash
# bench/bench_flows.sh — issue 17's figures, appended to bench/RESULTS.md as one section:
#  - bench_flows: samples per second one core decodes and applies (IPFIX, NetFlow v9,
#    sFlow raw headers), against the goal of 1M/s; memory per exporter and per template;
#  - UDP receive under load: the real rangewatchd ([flows] ipfix on loopback, its default
#    4 MiB receive buffer) and, as the reference in the same run, nfdump's nfcapd (-B 4 MiB,
#    writing its files) each get the same IPFIX stream from `bench_flows blast` (40 records
#    per datagram) at rising rates for BENCH_FLOW_SECS (3) seconds; for the daemon the
#    datagrams it read and the kernel's drop count (SO_RXQ_OVFL, as the daemon reports it),
#    for nfcapd the records it stored (its own count at exit). Lost = sent - received.
# Needs root for the daemon's privilege drop only when run as root (it then runs as nobody).
set -euo pipefail
cd "$(dirname "$0")/.."
B=build/release/bench
RW=${RW_BIN:-bin}
SECS=${BENCH_FLOW_SECS:-3}
RATES=${BENCH_FLOW_RATES:-"10000 25000 50000 100000"}
RESULTS=bench/RESULTS.md
PY=${PYTHON:-/usr/bin/python3}
[ -x "$B/bench_flows" ] || { echo "bench_flows: $B/bench_flows missing (make bench)"; exit 1; }
command -v nfcapd >/dev/null || { echo "bench_flows: nfcapd missing (apt-get install nfdump)"; exit 1; }

out=$("$B/bench_flows")
echo "$out"
tmp=$(mktemp -d)
chmod 755 "$tmp"
dpid=""; cpid=""
cleanup() {
	[ -n "$dpid" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	[ -n "$cpid" ] && kill "$cpid" 2>/dev/null && wait "$cpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
read -r P1 P2 < <($PY -c '
import socket
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(("127.0.0.1", 0))
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])')
cat >"$tmp/rw.conf" <<EOF
[rangewatch]
state_dir = $tmp/state
socket = $tmp/run/rw.sock
pidfile = $tmp/run/rw.pid
user = nobody
[flows]
ipfix = 127.0.0.1:$P1
exporter = 127.0.0.1
EOF
"$RW/rangewatchd" -f -c "$tmp/rw.conf" >"$tmp/d.log" 2>&1 &
dpid=$!
for _ in $(seq 40); do [ -S "$tmp/run/rw.sock" ] && break; sleep 0.25; done
counts() {
	$PY - "$tmp/run/rw.sock" <<'PYEOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b'{"v":1,"cmd":"flows","limit":0}\n'); b = b""
while not b.endswith(b"\n"): b += s.recv(65536)
c = json.loads(b)["result"]["counts"]
print(c["datagrams"], c["rxq_drops"])
PYEOF
}
table="| datagrams/s sent | samples/s | rangewatchd: received | kernel drops (SO_RXQ_OVFL) | lost | nfcapd: received | lost |"$'\n'"|---|---|---|---|---|---|---|"
for r in $RATES; do
	read -r d0 x0 < <(counts)
	sent=$("$B/bench_flows" blast "127.0.0.1:$P1" ipfix "$SECS" "$r" | awk '/^sent/ { print $2 }')
	sleep 1
	read -r d1 x1 < <(counts)
	got=$((d1 - d0)); drops=$((x1 - x0))
	# the reference: a fresh nfcapd for each rate
	rm -rf "$tmp/nf"; mkdir -p "$tmp/nf"
	nfcapd -p "$P2" -b 127.0.0.1 -B 4194304 -w "$tmp/nf" -t 3600 >"$tmp/nf.log" 2>&1 &
	cpid=$!
	sleep 1
	nsent=$("$B/bench_flows" blast "127.0.0.1:$P2" ipfix "$SECS" "$r" | awk '/^sent/ { print $2 }')
	sleep 1
	kill "$cpid"; wait "$cpid" 2>/dev/null || true; cpid=""
	nrec=$(sed -n 's/.*Flows: \([0-9]*\),.*/\1/p' "$tmp/nf.log" | tail -n 1)
	ngot=$(( ${nrec:-0} / 40 ))
	achieved=$(awk -v s="$sent" -v t="$SECS" 'BEGIN { printf "%.0f", s / t }')
	row="| $achieved (asked $r) | $((achieved * 40)) | $got of $sent | $drops | $(awk -v a="$sent" -v b="$got" 'BEGIN { printf "%.2f%%", (a - b) * 100 / a }') | $ngot of $nsent | $(awk -v a="$nsent" -v b="$ngot" 'BEGIN { printf "%.2f%%", (a - b) * 100 / a }') |"
	echo "$row"
	table+=$'\n'"$row"
done
{
	printf '\n## %s — flow exports (issue 17: bench/bench_flows.sh)\n\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
	printf 'Machine: %s x %s; commit %s; load average at the start %s. Command: `make bench`\n' \
	    "$(nproc)" "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
	    "$(git rev-parse --short HEAD 2>/dev/null)" "$(cut -d' ' -f1-3 /proc/loadavg)"
	printf '(bench/bench_flows.sh; BENCH_FLOW_SECS=%s). One core, decode and apply (flows_datagram,\n' "$SECS"
	printf 'best of 5 runs of 1M samples; every record to port 25 and applied; the goal is 1M/s):\n\n'
	printf '```\n%s\n```\n\n' "$out"
	printf 'UDP receive under load, IPFIX of 40 records a datagram on loopback, %s s per rate; the\n' "$SECS"
	printf 'reference is nfcapd (nfdump 1.7.1) fed the same stream in the same run, one rate after\n'
	printf 'the other (the sender is a busy loop on the other core of the two):\n\n%s\n' "$table"
} >>"$RESULTS"
echo "appended to $RESULTS"
