#!/bin/sh
# release-only: a million frames through ASan would only repeat the release round slowly
# (the eviction itself runs under ASan in tests/unit/test_traffic.c).
# A flood of new source addresses cannot blind the daemon: the replayed story (daemon/lib.sh:
# six quiet days, then customer 1001 spams) with, in the minute before the spam starts, a
# million spoofed SYNs to port 25 from a million addresses of the provider's IPv6 space
# (tests/gen_flood.py; IPv6 makes such a flood cheap; a blind spoofer never completes a
# handshake). The capture's table holds 400,000 sources ([capture] max_ips):
#  - the spammer arriving next is flagged as usual: 1001 reaches act at the same minute of
#    packet time as in a run without the flood, its innocent neighbours stay as they were;
#  - status shows the flood: sources turned away while the table was full, sources evicted
#    to make room, fewer tracked than the bound; the log says it once;
#  - the flood's sources never count as active senders: no DNSBL query for any of them
#    (a list with ipv6 = yes would re-check every active IPv6 sender);
#  - the loop kept answering: `status` through the socket, asked every 50 ms throughout the
#    replay, each answered within 100 ms.
# FLOOD_SOURCES (1000000) and FLOOD_MAX_IPS (400000) change the sizes (bench/flood.sh runs
# it bigger); the last line sums up the figures of both runs.
# shellcheck source=dnsbl/lib.sh disable=SC2015  # ok() never fails: A && ok || bad is safe
. "$(dirname "$0")/dnsbl/lib.sh"
# shellcheck source=daemon/lib.sh
. "$(dirname "$0")/daemon/lib.sh"

N=${FLOOD_SOURCES:-1000000}
MAX=${FLOOD_MAX_IPS:-400000}
spam_from=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["spam_from"])' "$tmp/truth.json")
counts=$($PY "$TESTS/gen_flood.py" "$tmp/story.pcap" "$spam_from" "$N" 2001:db8:ff::/48 \
	"$tmp/before.pcap" "$tmp/flood.pcap" "$tmp/after.pcap") || { echo "FAIL gen_flood"; exit 1; }
echo "frames before, flood, after: $counts"
printf '2001:db8:ff::/48 64500\n' >>"$tmp/etc/prefixes.txt"
cat >>"$tmp/etc/lists.conf" <<'EOF'

[list "v6-check"]
; rbldnsd logs every query it gets, answered or not: nibble names under l1.test
zone = l1.test
scope = ip
ipv6 = yes
fast_interval = 2s
EOF
chmod -R a+rX "$tmp"

# run NAME FILES -> replays FILES to the end; NAME.status (the last status), NAME.lat
# (status latencies in ms and the minute_ms each status gave, asked every 50 ms during the
# replay), NAME.act (packet time of 1001's first act)
run() {
	rm -rf "$tmp/state"
	conf "replay = $2
replay_speed = 0
[capture]
max_ips = $MAX" >"$tmp/etc/rangewatch.conf"
	: >"$tmp/daemon.log"
	start
	$PY - "$tmp/run/rw.sock" "$tmp/$1.lat" <<'PYEOF' &
import json, socket, sys, time
out = open(sys.argv[2], "w")
while True:
    t0 = time.monotonic()
    try:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(sys.argv[1])
        s.sendall(b'{"v":1,"id":1,"cmd":"status"}\n')
        buf = b""
        while not buf.endswith(b"\n"):
            b = s.recv(65536)
            if not b:
                break
            buf += b
        s.close()
        d = json.loads(buf)
    except (OSError, ValueError):
        break
    out.write("%.1f %s\n" % ((time.monotonic() - t0) * 1000, d.get("result", d).get("minute_ms")))
    out.flush()
    if d.get("result", d).get("capture", {}).get("replay", {}).get("done"):
        break
    time.sleep(0.05)
PYEOF
	lat_pid=$!
	t0=$(date +%s.%N)
	poll 600 replay_done || bad "$1: replay not done: $(rwc status --json)"
	awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }' >"$tmp/$1.secs"
	wait "$lat_pid"
	rwc status --json >"$tmp/$1.status"
	rwc status >"$tmp/$1.status.txt"
	# act comes within a few minutes of packet time after the replay: wait for the model
	poll 60 is_act || true
	sql "SELECT min(ts) FROM flag_history WHERE customer = '1001' AND level = 'act'" >"$tmp/$1.act"
	for c in 1002 1003; do level_of $c; done >"$tmp/$1.others"
	stop
}

run plain "$tmp/before.pcap $tmp/after.pcap"
run flood "$tmp/before.pcap $tmp/flood.pcap $tmp/after.pcap"

st() { js "$1" <"$tmp/flood.status"; }
plain_act=$(cat "$tmp/plain.act")
[ -n "$plain_act" ] && [ "$plain_act" != None ] && ok "without the flood, 1001 reaches act at $plain_act" \
	|| bad "without the flood, 1001 never reached act"
expect "with the flood, 1001 reaches act at the same time" "$plain_act" "$(cat "$tmp/flood.act")"
expect "the innocents' levels are as without the flood" "$(cat "$tmp/plain.others")" "$(cat "$tmp/flood.others")"
expect "frames replayed" "$(($(echo "$counts" | tr ' ' '+')))" "$(st 'd["capture"]["replay"]["frames"]')"
untracked=$(st 'd["capture"]["sources_untracked"]')
evicted=$(st 'd["capture"]["sources_evicted"]')
tracked=$(st 'd["capture"]["sources_tracked"]')
[ "$untracked" -gt 0 ] && ok "status: $untracked frames of sources turned away while the table was full" \
	|| bad "status: sources_untracked $untracked"
[ "$evicted" -ge $((MAX / 4)) ] && ok "status: $evicted sources evicted to make room" \
	|| bad "status: sources_evicted $evicted"
[ "$tracked" -le "$MAX" ] && ok "status: $tracked sources tracked (bound $MAX)" \
	|| bad "status: sources_tracked $tracked over the bound"
grep -q "idle sources forgotten to make room" "$tmp/flood.status.txt" && ok "rangewatch status names the evictions" \
	|| bad "rangewatch status does not name the evictions: $(cat "$tmp/flood.status.txt")"
n=$(grep -c "per-IP table full" "$tmp/daemon.log")
expect "the full table logged once" 1 "$n"
v6q=$(grep -cE '([0-9a-f]\.){32}l1\.test' "$RBL_LOG")
expect "DNSBL queries for the flood's IPv6 sources" 0 "$v6q"
worst=$(sort -n "$tmp/flood.lat" | tail -n 1 | cut -d' ' -f1)
echo "the slowest minute's work the daemon reported: $(sort -g -k2 "$tmp/flood.lat" | tail -n 1 | cut -d' ' -f2) ms"
asked=$(wc -l <"$tmp/flood.lat")
[ "$asked" -ge 5 ] && $PY -c "import sys; sys.exit(not $worst <= 100)" \
	&& ok "status answered $asked times during the flood's replay, slowest in $worst ms" \
	|| bad "status during the flood's replay: $asked answers, slowest $worst ms (bound 100)"
# lat NAME Q -> the Q-quantile (0..1) of NAME's status latencies, ms
lat() { sort -g "$tmp/$1.lat" | cut -d' ' -f1 | awk -v q="$2" '{ v[NR] = $1 } END {
	i = int(q * NR + 0.999); if (i < 1) i = 1; if (i > NR) i = NR; print v[i] }'; }
echo "figures: sources $N, max_ips $MAX, replay_s $(cat "$tmp/plain.secs") $(cat "$tmp/flood.secs"), status_p50_ms $(lat plain 0.5) $(lat flood 0.5), status_max_ms $(lat plain 1) $(lat flood 1), minute_max_ms $(sort -g -k2 "$tmp/flood.lat" | tail -n 1 | cut -d' ' -f2), evicted $evicted, untracked $untracked, act_same $([ "$plain_act" = "$(cat "$tmp/flood.act")" ] && echo yes || echo no)"
finish
