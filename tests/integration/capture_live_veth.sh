#!/bin/sh
# Live capture through the kernel: inside a network namespace of its own, the test replays
# generated captures (untagged, 802.1Q, QinQ, IPv6 with extension headers, pipelining...) with
# tcpreplay onto one end of a veth pair while `rangewatch analyze -i` captures on the other
# end with the kernel BPF filter. The SMTP results must equal those of reading the same file
# offline (tshark already vouches for the offline ones in analyze_generated), and the kernel
# must report no drops.
# Then the daemon's capture thread (probes/capthread.c) on the same veth: rangewatchd
# captures while tcpreplay sends a provider's worth of handshakes and SMTP sessions
# (bench/gen_daemon.py: 20k addresses of 2k customers, 3k sessions); the frames it read
# must equal the frames tcpreplay sent (its own count, itself checked against the files),
# with no kernel drop and no event lost in the hand-over ring, every address tracked, while
# SIGHUP reloads park the capture thread every half second;
# status shows the loop's turn histogram and the ring's backlog. Under ThreadSanitizer
# (RW_VARIANT=tsan) the replay is paced to straddle a minute boundary so that the minute's
# work (the model, the store) runs on the main loop while the thread captures; the other
# variants replay at top speed, wherever the minute falls.
set -u
: "${RW_BIN:?RW_BIN must name the folder holding rangewatch}"
TESTS=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
skip() { echo "skip: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
for t in ip tcpreplay; do command -v $t >/dev/null || skip "$t not installed"; done
$PY -c 'import scapy' 2>/dev/null || skip "python3-scapy not installed"

ns=rwlive$$
tmp=$(mktemp -d)
cleanup() {
	[ -n "${apid:-}" ] && kill "$apid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

$PY "$TESTS/gen_captures.py" "$tmp/caps" >/dev/null || { echo "FAIL: gen_captures.py"; exit 1; }
ip netns add "$ns" || skip "cannot create a network namespace here"
ip -n "$ns" link add rwa type veth peer name rwb || exit 1
ip -n "$ns" link set rwa up && ip -n "$ns" link set rwb up || exit 1
# no IPv6 autoconfiguration chatter on the test link
ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null

fail=0
# (captures with snaplen-cut frames are left out: a cut frame cannot be sent as it was)
caps="eth_basic vlan_8021q qinq_88a8 qinq_8100x2 ipv6_ext ipv4_options pipelining split
    starttls multiline_5xx syn_retrans long_line"
# analyze has one thread: under ThreadSanitizer only the daemon's part is worth the time
[ "${RW_VARIANT:-release}" = tsan ] && caps=
for cap in $caps; do
	f=$tmp/caps/$cap.pcap
	# a fresh file each round, or the wait below could see the previous round's line
	rm -f "$tmp/live.err" "$tmp/live.json"
	ip netns exec "$ns" "$RW_BIN/rangewatch" analyze --json -i rwb >"$tmp/live.json" \
	    2>"$tmp/live.err" &
	apid=$!
	i=0
	until grep -q 'capturing on rwb' "$tmp/live.err" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 50 ] && { echo "FAIL $cap: capture did not start"; cat "$tmp/live.err"; exit 1; }
		sleep 0.1
	done
	ip netns exec "$ns" tcpreplay -q --topspeed -i rwa "$f" >"$tmp/replay.log" 2>&1 ||
	    { echo "FAIL $cap: tcpreplay"; cat "$tmp/replay.log"; exit 1; }
	sleep 1
	kill -INT "$apid"
	wait "$apid"
	rc=$?
	apid=
	[ $rc = 0 ] || { echo "FAIL $cap: analyze -i exited $rc"; cat "$tmp/live.err"; fail=1; continue; }
	"$RW_BIN/rangewatch" analyze --json "$f" >"$tmp/file.json" || { echo "FAIL $cap: offline"; fail=1; continue; }
	if $PY - "$tmp/file.json" "$tmp/live.json" "$cap" "$tmp/live.err" <<'PYEOF'
import json, re, sys
off, live, cap, err = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3], open(sys.argv[4]).read()
def ips(d):
    return {i["ip"]: i for i in d["ips"]}
a, b = ips(off), ips(live)
bad = []
if set(a) != set(b):
    bad.append("IPs differ: offline %s, live %s" % (sorted(a), sorted(b)))
for ip in sorted(set(a) & set(b)):
    for k, v in a[ip].items():
        if b[ip].get(k) != v:
            bad.append("%s %s: offline %s, live %s" % (ip, k, v, b[ip].get(k)))
if off["packets"]["smtp"] != live["packets"]["smtp"]:
    bad.append("packets.smtp: offline %d, live %d" % (off["packets"]["smtp"], live["packets"]["smtp"]))
m = re.search(r"(\d+) frames received, (\d+) dropped by the kernel", err)
if not m or m.group(2) != "0":
    bad.append("kernel drops: %s" % err.strip())
n = sum(i["rcpt_to"] for i in a.values())
print("%s: %d IPs, %d RCPT, %d SMTP frames: live == offline%s" % (cap, len(a), n, off["packets"]["smtp"], "" if not bad else " -- NO"))
for x in bad[:20]:
    print("  MISMATCH", x)
sys.exit(1 if bad else 0)
PYEOF
	then :; else fail=1; fi
done
[ $fail = 0 ] && [ -n "$caps" ] && echo "PASS: live capture through veth equals offline reading for every capture"

# --- the daemon's capture thread ------------------------------------------------------
id nobody >/dev/null 2>&1 || { echo "skip the daemon part: no user nobody"; exit $fail; }
d=$tmp/daemon
mkdir -p "$d/etc" "$d/run" "$d/state"
$PY "$TESTS/../bench/gen_daemon.py" "$d/gen" --ips 20000 --per-customer 10 \
    --load-sessions 3000 --seed 7 >/dev/null || { echo "FAIL: gen_daemon.py"; exit 1; }
cp "$d/gen/prefixes.txt" "$d/gen/customers.csv" "$d/etc/"
printf '[rangewatch]\ninterface = rwb\nprefixes = prefixes.txt\ncustomers = customers.csv\nstate_dir = %s\nsocket = %s\npidfile =\nuser = nobody\n' \
    "$d/state" "$d/run/rw.sock" >"$d/etc/rangewatch.conf"
chmod -R a+rX "$tmp"
chown nobody "$d/state"
ip netns exec "$ns" "$RW_BIN/rangewatchd" -f -c "$d/etc/rangewatch.conf" >"$d/daemon.log" 2>&1 &
dpid=$!
st() { "$RW_BIN/rangewatch" status --json -s "$d/run/rw.sock"; }
js() { $PY -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
i=0
until st >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 200 ] && { echo "FAIL: the daemon does not answer"; cat "$d/daemon.log"; exit 1; }
	sleep 0.1
done
ev0=$(st | js 'd.get("evaluated") or 0')
if [ "${RW_VARIANT:-release}" = tsan ]; then
	# start 4 s before a minute boundary: ~8 s of replay at 18 kpps straddles it
	now=$(date +%s); wait_s=$(( (56 - now % 60 + 60) % 60 ))
	echo "waiting ${wait_s} s for second :56, then replaying across the minute boundary"
	sleep "$wait_s"
	rate="--pps=18000"
else
	rate="--topspeed"
fi
t0=$(date +%s)
ip netns exec "$ns" tcpreplay $rate -i rwa "$d/gen/ingest.pcap" "$d/gen/load.pcap" \
    >"$d/replay.log" 2>&1 &
rpid=$!
# reloads while the frames come: each parks the capture thread (the kernel's ring keeps
# the frames meanwhile) to change its space and filter, and must lose nothing
hups=0
sleep 0.1
while kill -0 "$rpid" 2>/dev/null; do
	kill -HUP "$dpid"; hups=$((hups + 1))
	sleep 0.5
done
wait "$rpid" || { echo "FAIL: tcpreplay"; cat "$d/replay.log"; exit 1; }
t1=$(date +%s)
sent=$(awk '/Successful packets:/ {s += $3} END {print s + 0}' "$d/replay.log")
# the thread hands over per retired block (at most 100 ms) and status is at most 100 ms old
i=0
while [ "$(st | js 'd["capture"]["packets"]')" != "$sent" ] && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
sleep 0.5
"$RW_BIN/rangewatch" status -s "$d/run/rw.sock" >"$d/status.txt" 2>&1
st >"$d/status.json"
kill -TERM "$dpid"; wait "$dpid"; drc=$?
echo "--- rangewatch status"; sed 's/^/     /' "$d/status.txt"
if $PY - "$d/status.json" "$sent" "$d/gen/truth.json" "$t0" "$t1" "$ev0" "${RW_VARIANT:-release}" \
    "$drc" "$d/status.txt" "$hups" <<'PYEOF'
import json, sys
s = json.load(open(sys.argv[1])); sent = int(sys.argv[2]); truth = json.load(open(sys.argv[3]))
t0, t1, ev0, variant, rc = int(sys.argv[4]), int(sys.argv[5]), int(float(sys.argv[6])), sys.argv[7], int(sys.argv[8])
text = open(sys.argv[9]).read(); hups = int(sys.argv[10])
c = s["capture"]; k = c["kernel"]; r = c["ring"]; lp = s["loop"]
bad = []
def check(what, want, got):
    print("%-58s %s" % (what, "ok: %s" % (got,) if want == got else "WRONG: want %s, got %s" % (want, got)))
    if want != got:
        bad.append(what)
check("frames tcpreplay sent == frames in the files (truth)", truth["ingest_frames"] + truth["load_frames"], sent)
check("frames captured == frames tcpreplay sent", sent, c["packets"])
check("SMTP frames == frames sent (all are port 25 of ours)", sent, c["smtp"])
check("kernel drops", 0, k["drops"] + k["ifdrops"])
check("events lost in the hand-over ring", 0, r["lost"])
check("events applied == events handed over", r["events"], r["applied"])
check("the capture runs on its thread", True, r["thread"])
check("addresses tracked", truth["ips"], s["ips"])
check("the kernel ring's size (buffer_size default)", 33554432, k["ring_bytes"])
check("status has the loop turns' p50 <= p99 <= max", True,
      0 < lp["turns"] and lp["p50_us"] <= lp["p99_us"] <= lp["max_us"])
check("status has the ring backlog's p50 <= p99 <= max", True,
      r["backlog_p50"] <= r["backlog_p99"] <= r["backlog_max"] <= r["capacity"])
check("rangewatch status prints the loop and the ring", True,
      "loop turns" in text and "hand-over" in text)
check("SIGTERM: clean exit", 0, rc)
check("reloads during the replay parked the thread (%d SIGHUP sent)" % hups, True,
      1 <= r["pauses"] <= hups)
if variant == "tsan":
    ev = int(s.get("evaluated") or 0)
    check("the minute's work ran during the replay", True, ev > ev0 and t0 <= ev <= t1 + 1)
print("loop: %d turns, p50 %d us, p99 %d us, max %d us (%s); ring backlog p99 %d, max %d of %d" % (
    lp["turns"], lp["p50_us"], lp["p99_us"], lp["max_us"], lp["slowest"], r["backlog_p99"],
    r["backlog_max"], r["capacity"]))
sys.exit(1 if bad else 0)
PYEOF
then :; else fail=1; fi
if grep -q "ThreadSanitizer" "$d/daemon.log"; then
	echo "FAIL: ThreadSanitizer reports:"; grep -A30 "WARNING: ThreadSanitizer" "$d/daemon.log" | head -60
	fail=1
fi
if [ $fail = 0 ]; then echo "PASS: the daemon's capture thread read every frame sent ($sent)"
else fail=1; echo "daemon log:"; tail -n 20 "$d/daemon.log"; fi
exit $fail
