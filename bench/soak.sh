#!/usr/bin/env bash
# bench/soak.sh — `make soak` (not part of `make test`): rangewatchd for an hour of steady
# traffic with listings coming and going, watched for leaks. From the repo root, as root,
# after `make all` and build/release/bench/gen_capture (the Makefile's soak target builds
# both and runs this under nice: it shares the machine).
#
# The traffic: bench/gen_capture writes SOAK_MINUTES x 60 x SOAK_PPS frames of whole SMTP
# sessions (STARTTLS, pipelining, rejections citing lists, VLAN tags, IPv6...) from
# SOAK_SENDERS customer addresses, every fiftieth a heavy sender, 20 sessions open at once,
# spaced so that rangewatchd replays them (`replay =`, `replay_speed = SOAK_SPEED`) at
# SOAK_PPS frames a second of wall time, steadily, for SOAK_MINUTES. We replay rather than
# tcpreplay onto a veth because the replay's clock is the model's: at x384 an hour of wall
# time is 16 days of the model's, so the minute rows' retention (1 h here) is pruned every
# few seconds and the hourly rows' (8 d, the least allowed) halfway through, the impacts'
# windows (1 h) and the listings' forecasts turn over hundreds of times: a soak of the
# store and the model, not only of the capture loop, in an hour. The capture path below the
# frames (libpcap's ring, BPF) is bench_daemon.sh's and the live tests' business.
#
# Around it, on 127.0.0.1: rbldnsd with UCEPROTECT-like L1 (ip) and L2 (range) zones that
# change every SOAK_ZONE_EVERY s (a random third of the heavy senders and a few others on
# L1, some of their /24s on L2: listings come and go, and with a 1 h impact window the
# levels rise and fall), the abuse desk's SMTP sink (every level change is mailed:
# cooldown 0, digest 0), a dry-run suspend hook (auto_suspend).
#
# bench/soak_monitor.py samples every SOAK_SAMPLE s: the daemon's RSS, its open fds, the
# store's size (db + wal) and the traffic tables' share, row counts against retention,
# alerts queued and sent against the messages at the sink; and at the end judges them
# against the bounds written at its top (RSS flat after the warm-up, no fd growth, the store
# within its retention, no alert missed). Prints the figures and appends a dated section to
# bench/RESULTS.md (SOAK_RESULTS_FILE; /dev/null: print only). Exit 1 when a bound is broken,
# a tool is missing or the daemon dies; not root: says so, exits 1 (a soak not run is not a
# pass). Everything it starts is stopped by pid and its folder removed on exit.
#
# Knobs: SOAK_MINUTES (60; 3 at least), SOAK_PPS (2000), SOAK_SPEED (384), SOAK_SENDERS
# (2000), SOAK_SAMPLE (10), SOAK_ZONE_EVERY (30), SOAK_SEED (1), RW_BIN (bin), SOAK_GEN
# (build/release/bench/gen_capture).
set -euo pipefail
cd "$(dirname "$0")/.."

MINUTES=${SOAK_MINUTES:-60}
PPS=${SOAK_PPS:-2000}
SPEED=${SOAK_SPEED:-384}
SENDERS=${SOAK_SENDERS:-2000}
SAMPLE=${SOAK_SAMPLE:-10}
ZONE_EVERY=${SOAK_ZONE_EVERY:-30}
SEED=${SOAK_SEED:-1}
RESULTS=${SOAK_RESULTS_FILE:-bench/RESULTS.md}
RW_BIN=${RW_BIN:-bin}
GEN=${SOAK_GEN:-build/release/bench/gen_capture}
PY=/usr/bin/python3
MRET=3600 HRET=$((8 * 86400))	# the store's retentions below, in seconds
say() { printf 'soak: %s\n' "$*"; }
die() { say "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (the daemon's drop to nobody, the hook's user): not run"
for t in rbldnsd "$PY" "$GEN" "$RW_BIN/rangewatchd" "$RW_BIN/rangewatch"; do
	command -v "$t" >/dev/null || die "$t is missing (make soak builds the binaries; make deps-test installs rbldnsd)"
done
"$PY" -c 'import aiosmtpd' 2>/dev/null || die "python3-aiosmtpd is missing (make deps-test)"
id nobody >/dev/null 2>&1 || die "no user nobody"
for v in "$MINUTES" "$PPS" "$SPEED" "$SENDERS" "$SAMPLE" "$ZONE_EVERY" "$SEED"; do
	case $v in ''|*[!0-9]*|0) die "the SOAK_* knobs are positive integers";; esac
done
[ "$SENDERS" -ge 100 ] && [ "$SENDERS" -le 60000 ] || die "SOAK_SENDERS: 100..60000"

tmp=$(mktemp -d /tmp/rw-soak.XXXXXX)
chmod 755 "$tmp"	# rbldnsd, the daemon and the hook run as nobody
pids="" dpid=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
	set +e
	: >"$tmp/stop"
	if [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null; then
		kill -TERM "$dpid"; wait "$dpid" 2>/dev/null
	fi
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
free_port() {	# tcp|udp -> a free port on 127.0.0.1 (the kernel's pick)
	"$PY" -c 'import socket,sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' "$1"
}
sql() { "$PY" -c 'import sqlite3,sys; c=sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10); print("|".join(str(x) for x in c.execute(sys.argv[2]).fetchone()))' "$tmp/state/rangewatch.db" "$1"; }
rw() { "$RW_BIN/rangewatch" "$@" -s "$tmp/run/rw.sock"; }
js() { "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

# --- the traffic -------------------------------------------------------------------------
FRAMES=$((PPS * MINUTES * 60))
USEC=$((SPEED * 1000000 / PPS))	# the capture's mean gap between frames, microseconds
say "generating $FRAMES frames from $SENDERS senders, $USEC us apart ($(awk -v f="$FRAMES" -v u="$USEC" 'BEGIN { printf "%.1f", f * u / 86400e6 }') model days) in $tmp"
"$GEN" --packets "$FRAMES" --smtp-permille 1000 --pool "$SENDERS" --concurrent 20 \
	--usec-per-packet "$USEC" --seed "$SEED" "$tmp/soak.pcap" >"$tmp/gen.out" 2>&1 ||
	die "gen_capture failed: $(cat "$tmp/gen.out")"
say "$(cat "$tmp/gen.out")"

# --- the provider: gen_capture's sources (bench/gen_capture.c src_addr), one customer each
mkdir -p "$tmp/etc" "$tmp/zones" "$tmp/mail" "$tmp/hook" "$tmp/hookbin" "$tmp/state" "$tmp/run"
awk -v n="$SENDERS" 'BEGIN {
	for (r = 0; r <= int((n - 1) / 250); r++) printf "10.0.%d.0/24 64500\n", r
	print "2001:db8::/32 64500"
}' >"$tmp/etc/prefixes.txt"
# addr I -> gen_capture's source I: every tenth IPv6, the others 10.0.R.H
awk -v n="$SENDERS" 'BEGIN {
	print "id,name,cidrs,contact,tags"
	for (i = 0; i < n; i++) {
		r = int(i / 250); h = i % 250 + 2
		a = (i % 10 == 9) ? sprintf("2001:db8:%x::%x", r, h) : sprintf("10.0.%d.%d", r, h)
		printf "c%d,%s %d,%s,abuse@c%d.example,%s\n", i, (i % 50 == 0) ? "Heavy Sender" : "Customer", i, a, i, (i % 50 == 0) ? "vps" : ""
	}
}' >"$tmp/etc/customers.csv"
cat >"$tmp/etc/lists.conf" <<'EOF'
[list "uceprotect-1"]
zone = l1.soak
scope = ip
interval = 10s
fast_interval = 5s
max_qps = 500

[list "uceprotect-2"]
zone = l2.soak
scope = range
interval = 10s
max_qps = 500
EOF

# --- rbldnsd and its zones, changed by zones() ---------------------------------------------
# zone_state K: the zones of change K (seeded): each heavy IPv4 sender on L1 with odds 1/3,
# two other customers too, and each /24 holding two or more of them on L2 with odds 1/2
zone_state() {
	awk -v n="$SENDERS" -v seed="$((SEED * 100000 + $1))" -v l1="$tmp/zones/l1.new" -v l2="$tmp/zones/l2.new" 'BEGIN {
		srand(seed)
		print "$SOA 0 ns.soak. hostmaster.soak. 1 1h 1h 1d 1s" >l1
		print ":127.0.0.2:Your IP $ is listed in UCEPROTECT-Level1" >l1
		print "127.0.0.2" >l1
		print "$SOA 0 ns.soak. hostmaster.soak. 1 1h 1h 1d 1s" >l2
		print ":127.0.0.2:Net $ is UCEPROTECT-Level2 listed" >l2
		print "127.0.0.2/32" >l2
		for (i = 0; i < n; i += 50)
			if (rand() < 1 / 3) { printf "10.0.%d.%d\n", int(i / 250), i % 250 + 2 >l1; c[int(i / 250)]++ }
		for (k = 0; k < 2; k++) {
			i = int(rand() * n); if (i % 10 == 9) i--
			printf "10.0.%d.%d\n", int(i / 250), i % 250 + 2 >l1
		}
		for (r in c) if (c[r] >= 2 && rand() < 0.5) printf "10.0.%d.0/24\n", r >l2
	}'
	chown nobody "$tmp/zones/l1.new" "$tmp/zones/l2.new"
	mv "$tmp/zones/l1.new" "$tmp/zones/l1.zone"	# whole files: rbldnsd may read any time
	mv "$tmp/zones/l2.new" "$tmp/zones/l2.zone"
}
zone_state 0
chown -R nobody "$tmp/zones"
chown -R daemon "$tmp/hook"
RBL_PORT=$(free_port udp)
rbldnsd -n -u nobody -b "127.0.0.1/$RBL_PORT" -t 5 -c 1s l1.soak:ip4set:"$tmp/zones/l1.zone" \
	l2.soak:ip4trie:"$tmp/zones/l2.zone" >"$tmp/rbldnsd.out" 2>&1 &
pids="$pids $!"
SINK_PORT=$(free_port tcp)
"$PY" tests/integration/netns/abuse_sink.py 127.0.0.1 "$SINK_PORT" "$tmp/mail" >"$tmp/sink.out" 2>&1 &
pids="$pids $!"
for _ in $(seq 100); do
	grep -q started "$tmp/rbldnsd.out" && grep -q ready "$tmp/sink.out" && break
	sleep 0.1
done
grep -q started "$tmp/rbldnsd.out" && grep -q ready "$tmp/sink.out" ||
	die "rbldnsd or the sink did not start: $(cat "$tmp/rbldnsd.out" "$tmp/sink.out")"

# the hook: root's, in a root folder; one line per run where nobody may write
cat >"$tmp/hookbin/hook.sh" <<EOF
#!/bin/sh
cat >/dev/null
printf '%s %s %s\n' "\$1" "\$2" "\$RANGEWATCH_DRY_RUN" >>"$tmp/hook/calls.log"
EOF
chmod 755 "$tmp/hookbin" "$tmp/hookbin/hook.sh"

cat >"$tmp/etc/rangewatch.conf" <<EOF
# written by bench/soak.sh
[rangewatch]
prefixes = prefixes.txt
customers = customers.csv
lists = lists.conf
nameserver = 127.0.0.1:$RBL_PORT
state_dir = $tmp/state
socket = $tmp/run/rw.sock
pidfile = $tmp/run/rangewatchd.pid
user = nobody
replay = $tmp/soak.pcap
replay_speed = $SPEED

[store]
minute_retention = 1h
hour_retention = 8d

[policy "uceprotect-2"]
; impacts leave an hour (of the model's clock) after their last listing: levels fall again
window = 1h

[policy "uceprotect-3"]
enabled = no

[alert]
smtp_url = smtp://127.0.0.1:$SINK_PORT
from = rangewatch@soak.example
to = abuse@soak.example
to_act = oncall@soak.example
; every level change is a mail: each one must arrive
cooldown = 0
digest = 0

[hook]
path = $tmp/hookbin/hook.sh
; the hook's user: never the daemon's (rangewatchd refuses it)
user = daemon
auto_suspend = yes
dry_run = yes
EOF
chown nobody "$tmp/state" "$tmp/run"
chmod -R a+rX "$tmp/etc"
"$RW_BIN/rangewatchd" -n -c "$tmp/etc/rangewatch.conf" >"$tmp/check.out" 2>&1 ||
	die "config refused: $(cat "$tmp/check.out")"

# --- run ---------------------------------------------------------------------------------------
# the tree as it is now: work may go on in it while the soak runs
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit (with uncommitted changes)"
cmdline="make soak SOAK_MINUTES=$MINUTES (SOAK_PPS=$PPS SOAK_SPEED=$SPEED SOAK_SENDERS=$SENDERS SOAK_ZONE_EVERY=$ZONE_EVERY SOAK_SEED=$SEED)"
cat "$tmp/soak.pcap" >/dev/null	# page-cached: the disk is not what is measured
say "starting rangewatchd: replay at x$SPEED for $MINUTES min; zones change every $ZONE_EVERY s"
t_start=$(date +%s)
"$RW_BIN/rangewatchd" -f -c "$tmp/etc/rangewatch.conf" >"$tmp/daemon.log" 2>&1 &
dpid=$!
for _ in $(seq 100); do rw ping >/dev/null 2>&1 && break; sleep 0.2; done
rw ping >/dev/null 2>&1 || die "the daemon does not answer: $(tail -n 5 "$tmp/daemon.log")"

zones() {
	k=1
	while [ ! -e "$tmp/stop_zones" ]; do
		sleep "$ZONE_EVERY"
		[ -e "$tmp/stop_zones" ] && break
		zone_state "$k"
		echo "$k" >"$tmp/zone_changes"
		k=$((k + 1))
	done
}
echo 0 >"$tmp/zone_changes"
zones &
pids="$pids $!"
"$PY" bench/soak_monitor.py sample "$dpid" "$tmp/run/rw.sock" "$tmp/state/rangewatch.db" \
	"$tmp/mail" "$tmp/samples.jsonl" "$SAMPLE" "$tmp/stop" &
mon=$!
pids="$pids $mon"

# until the replay is done (about SOAK_MINUTES), at most 10 minutes more
deadline=$((t_start + MINUTES * 60 + 600))
done_=False
while [ "$(date +%s)" -lt "$deadline" ]; do
	kill -0 "$dpid" 2>/dev/null || die "rangewatchd died: $(tail -n 5 "$tmp/daemon.log")"
	done_=$(rw status --json 2>/dev/null | js 'd["capture"]["replay"]["done"]' 2>/dev/null || echo False)
	[ "$done_" = True ] && break
	sleep 5
done
t_replayed=$(date +%s)
say "replay done: $done_ after $((t_replayed - t_start)) s; zones stop changing, the outbox drains"
: >"$tmp/stop_zones"
sleep 20	# the probe's last checks of the last zones, and what they raise
drained() { [ "$(sql "SELECT count(*) FROM outbox WHERE state = 'queued'")" = 0 ]; }
for _ in $(seq 60); do drained && break; sleep 2; done
sleep "$((SAMPLE + 1))"	# one more sample of the settled state
: >"$tmp/stop"
wait "$mon" || true
kill -TERM "$dpid"
rc=0
wait "$dpid" || rc=$?
dpid=""

# --- judge ---------------------------------------------------------------------------------
read -r received ids <<<"$("$PY" bench/soak_monitor.py mails "$tmp/mail")"
cnt() { sql "$1"; }
cat >"$tmp/final.json" <<EOF
{"minute_retention": $MRET, "hour_retention": $HRET, "exit": $rc,
 "replay_done": $([ "$done_" = True ] && echo true || echo false),
 "frames_generated": $FRAMES, "zone_changes": $(cat "$tmp/zone_changes"),
 "listing_events": $(cnt "SELECT count(*) FROM listing_event"),
 "flags": $(cnt "SELECT count(*) FROM flag_history"),
 "flag_rises": $(cnt "SELECT count(*) FROM flag_history WHERE level != 'none'"),
 "audit": $(cnt "SELECT count(*) FROM audit"),
 "outbox": $(cnt "SELECT count(*) FROM outbox"),
 "sent": $(cnt "SELECT count(*) FROM outbox WHERE state = 'sent'"),
 "queued": $(cnt "SELECT count(*) FROM outbox WHERE state = 'queued'"),
 "failed": $(cnt "SELECT count(*) FROM outbox WHERE state = 'failed'"),
 "level_mails": $(cnt "SELECT count(*) FROM outbox WHERE kind = 'mail' AND level IN ('watch', 'warn', 'act')"),
 "notices": $(cnt "SELECT count(*) FROM outbox WHERE level = 'notice'"),
 "received": $received, "message_ids": $ids,
 "hook_runs": $(cat "$tmp/hook/calls.log" 2>/dev/null | wc -l),
 "alert_lost": $(grep -c "ALERT LOST" "$tmp/daemon.log" || true)}
EOF
verdict=0
"$PY" bench/soak_monitor.py report "$tmp/samples.jsonl" "$tmp/final.json" >"$tmp/report.txt" || verdict=1
[ -s "$tmp/report.txt" ] || die "no report: $(tail -n 5 "$tmp/daemon.log")"

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(free -m | awk '/^Mem:/ { printf "%d MiB total, %d MiB available", $2, $7 }')
report=$(cat <<EOF
soak_run: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, $((t_replayed - t_start)) s of replay
soak_machine: $(nproc) x $cpu; $mem; Linux $(uname -r); load average $(cut -d' ' -f1-3 /proc/loadavg) at the end (the machine is shared)
soak_command: $cmdline
soak_traffic: $FRAMES frames of SMTP sessions from $SENDERS senders (gen_capture --smtp-permille 1000 --concurrent 20 --usec-per-packet $USEC --seed $SEED), replayed at $PPS frames/s of wall time, x$SPEED the model's clock
$(cat "$tmp/report.txt")
EOF
)
printf '%s\n' "$report"
{
	printf '\n## %s — soak, %s min (bench/soak.sh)\n\n```\n%s\n```\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" "$MINUTES" "$report"
} >>"$RESULTS"
say "appended to $RESULTS"
exit "$verdict"
