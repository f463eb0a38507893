#!/bin/sh
# The bundled sample capture that `make demo` analyzes: it is what tests/gen_demo.py writes
# (byte for byte), and analyze with the example config in etc/ agrees with tshark on it,
# attributes the spammers to customers 1001 and 1008 and reports 203.0.113.200 unassigned.
# Also runs the demo script itself without a terminal, as CI would.
set -u
: "${RW_BIN:?RW_BIN must name the folder holding rangewatch}"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
skip() { echo "skip: $*"; exit 77; }
command -v tshark >/dev/null || skip "tshark not installed"
$PY -c 'import scapy' 2>/dev/null || skip "python3-scapy not installed"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

$PY "$TOP/tests/gen_demo.py" "$tmp/sample.pcap" || exit 1
if cmp -s "$tmp/sample.pcap" "$TOP/tests/data/sample.pcap"; then
	echo "tests/data/sample.pcap is what tests/gen_demo.py writes: ok"
else
	echo "MISMATCH: tests/data/sample.pcap differs from what tests/gen_demo.py writes"; fail=1
fi

$PY "$TOP/tests/compare.py" --rw "$RW_BIN/rangewatch" --config "$TOP/etc/rangewatch.conf" \
    --expect-ip "203.0.113.7@rcpt_to=725,replies_5xx=265,dst_ips=70" \
    --expect-rejections "203.0.113.7@spamhaus=265,uceprotect=265" \
    --expect-ip "203.0.113.100@rcpt_to=362" --expect-rejections "203.0.113.100@spamcop=132" \
    "$TOP/tests/data/sample.pcap" >"$tmp/out" 2>&1 || fail=1
grep -E 'MISMATCH|ERROR|checks' "$tmp/out"

"$RW_BIN/rangewatch" analyze -c "$TOP/etc/rangewatch.conf" --json "$TOP/tests/data/sample.pcap" \
    >"$tmp/a.json" || fail=1
$PY - "$tmp/a.json" <<'PYEOF' || fail=1
import json, sys
d = json.load(open(sys.argv[1]))
ips = {i["ip"]: i for i in d["ips"]}
cust = {c["id"]: c for c in d["customers"]}
bad = []
if ips["203.0.113.7"]["customer"] != "1001": bad.append("203.0.113.7 not customer 1001")
if ips["203.0.113.100"]["customer"] != "1008": bad.append("203.0.113.100 not customer 1008")
if ips["203.0.113.200"]["customer"] is not None: bad.append("203.0.113.200 should be unassigned")
if set(cust["1005"]["ips"]) != {"192.0.2.10", "192.0.2.11"}: bad.append("1005 ips %s" % cust["1005"]["ips"])
if cust["1005"]["rcpt_to"] != ips["192.0.2.10"]["rcpt_to"] + ips["192.0.2.11"]["rcpt_to"]: bad.append("1005 rcpt sum")
order = [c["id"] for c in d["customers"]][:2]
if order != ["1001", "1008"]: bad.append("worst customers first: got %s" % order)
for b in bad: print("MISMATCH", b)
print("customer attribution: %s" % ("ok" if not bad else "FAILED"))
sys.exit(1 if bad else 0)
PYEOF

# the demo without a terminal: prints the report and exits 0
(cd "$TOP" && RW_BIN="$RW_BIN" tests/demo.sh </dev/null >"$tmp/demo.out" 2>&1) || { echo "MISMATCH: demo exited non-zero"; fail=1; }
grep -q '203.0.113.7 (1001)' "$tmp/demo.out" && echo "demo output names the culprit: ok" || { echo "MISMATCH: demo output"; fail=1; }
exit $fail
