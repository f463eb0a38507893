#!/bin/sh
# Forged server replies count for nothing (tests/gen_forged.py writes the captures):
#  - real.pcap (real sessions only) agrees with tshark field by field (tests/compare.py);
#  - forged.pcap is the same frames with forged segments from port 25 among them: a list-citing
#    550 to four addresses with no handshake, a forged SYN-ACK and a 550 on it, and forgeries
#    into live sessions (sequence or acknowledgement number off, no ACK, a RST outside the
#    window). analyze must give every IP exactly the counters of real.pcap (the forged
#    addresses are not listed at all), count each forged frame in packets.unsolicited and
#    none in real.pcap, and still count them in packets.smtp;
#  - tshark, which believes any segment, does count the forged replies: the forgeries would
#    have worked without the handshake check.
set -u
: "${RW_BIN:?RW_BIN must name the folder holding rangewatch}"
TESTS=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
skip() { echo "skip: $*"; exit 77; }
command -v tshark >/dev/null 2>&1 || skip "tshark not installed"
$PY -c 'import scapy' 2>/dev/null || skip "python3-scapy not installed"
[ -x "$RW_BIN/rangewatch" ] || { echo "FAIL: $RW_BIN/rangewatch missing"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

$PY "$TESTS/gen_forged.py" "$tmp" || { echo "FAIL: gen_forged.py"; exit 1; }

echo "=== real.pcap against tshark"
$PY "$TESTS/compare.py" --rw "$RW_BIN/rangewatch" "$tmp/real.pcap" >"$tmp/cmp" 2>&1
rc=$?
grep -E 'MISMATCH|ERROR|checks' "$tmp/cmp"
[ $rc = 0 ] && ok "real sessions: analyze agrees with tshark" || bad "real.pcap: compare.py exit $rc"

"$RW_BIN/rangewatch" analyze --json "$tmp/real.pcap" >"$tmp/real.json" || bad "analyze real.pcap"
"$RW_BIN/rangewatch" analyze --json "$tmp/forged.pcap" >"$tmp/forged.json" || bad "analyze forged.pcap"

echo "=== forged.pcap"
$PY - "$tmp" <<'PYEOF' || fail=1
import json, sys
d = sys.argv[1]
real = json.load(open(d + "/real.json"))
forged = json.load(open(d + "/forged.json"))
bad = 0
def check(what, got, exp):
    global bad
    good = got == exp
    bad += not good
    print("%s %s: %s %s %s" % ("ok  " if good else "FAIL", what, got, "==" if good else "!=", exp))
n = json.load(open(d + "/count.json"))
rips = {e["ip"]: e for e in real["ips"]}
fips = {e["ip"]: e for e in forged["ips"]}
check("IPs listed (the forged addresses are not)", sorted(fips), sorted(rips))
for ip in sorted(rips):
    check("%s counters as without the forgeries" % ip, fips.get(ip), rips[ip])
check("packets.unsolicited counts each forged frame", forged["packets"].get("unsolicited"), n["forged"])
check("packets.unsolicited of real.pcap", real["packets"].get("unsolicited"), 0)
check("packets.smtp counts them too", forged["packets"]["smtp"], real["packets"]["smtp"] + n["forged"])
check("packets.total", forged["packets"]["total"], n["frames"])
sys.exit(1 if bad else 0)
PYEOF

echo "=== what tshark makes of forged.pcap (it believes every segment)"
TESTS=$TESTS $PY - "$tmp/forged.pcap" <<'PYEOF' || fail=1
import os, sys
sys.path.insert(0, os.environ["TESTS"])
import tshark_ref  # rejections_citing by list name (the shipped dnsbl.conf)
ref = {e["ip"]: e for e in tshark_ref.reference(sys.argv[1], None)["ips"]}
bad = 0
for last in (20, 21, 22, 23, 24):
    e = ref.get("192.0.2.%d" % last, {})
    got = (e.get("replies_5xx"), e.get("rejections_citing"))
    print("%s 192.0.2.%d per tshark: replies_5xx %s, rejections_citing %s" % (
        "ok  " if got == (1, {"zen": 1}) else "FAIL", last, got[0], got[1]))
    bad += got != (1, {"zen": 1})
sys.exit(1 if bad else 0)
PYEOF

[ $fail = 0 ] && echo "PASS: forged replies count for nothing; real sessions as tshark says" && exit 0
echo "FAIL: forged replies"
exit 1
