#!/bin/sh
# Live capture through the kernel: inside a network namespace of its own, the test replays
# generated captures (untagged, 802.1Q, QinQ, IPv6 with extension headers, pipelining...) with
# tcpreplay onto one end of a veth pair while `rangewatch analyze -i` captures on the other
# end with the kernel BPF filter. The SMTP results must equal those of reading the same file
# offline (tshark already vouches for the offline ones in analyze_generated), and the kernel
# must report no drops.
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
for cap in eth_basic vlan_8021q qinq_88a8 qinq_8100x2 ipv6_ext ipv4_options pipelining split \
    starttls multiline_5xx syn_retrans long_line; do
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
[ $fail = 0 ] && echo "PASS: live capture through veth equals offline reading for every capture"
exit $fail
