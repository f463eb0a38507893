#!/bin/sh
# The bundled sample capture that `make demo` analyzes: it is what tests/gen_demo.py writes
# (byte for byte), and analyze with the example config in etc/ agrees with tshark on it,
# attributes the spammers to customers 1001 and 1008 and reports 203.0.113.200 unassigned.
# Also runs the demo script itself without a terminal, as CI would, and checks how its story
# ends (below). release-only: under ASan the demo's daemon, replay and top are what
# daemon_replay.sh and top_tmux.sh run there already; it would add 50 s of the same.
set -u
: "${RW_BIN:?RW_BIN must name the folder holding rangewatch}"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
skip() { echo "skip: $*"; exit 77; }
command -v tshark >/dev/null || skip "tshark not installed"
$PY -c 'import scapy' 2>/dev/null || skip "python3-scapy not installed"
command -v rbldnsd >/dev/null || skip "rbldnsd not installed (the demo needs it)"
$PY -c 'import aiosmtpd' 2>/dev/null || skip "python3-aiosmtpd not installed (the demo needs it)"
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
    --expect-rejections "203.0.113.7@uceprotect-1=265,zen=265" \
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

# the demo without a terminal, as `make demo </dev/null | tail` and CI run it: section 1 (the
# analysis above, shortened), then rangewatchd on the replayed story of tests/gen_demo_story.py
# with rbldnsd, an aiosmtpd abuse desk and the dry-run hook; it must exit 0 within its minute
# or two and end as the story says: both spammers at act, every innocent customer at none or
# watch, the /24 (and the /28) escalated by UCEPROTECT L2, alert mail received, the hook run
# (dry run) for both spammers and nobody else.
t0=$(date +%s)
(cd "$TOP" && RW_BIN="$RW_BIN" sh tests/demo.sh </dev/null >"$tmp/demo.out" 2>&1); rc=$?
echo "demo: exit $rc after $(($(date +%s) - t0)) s; its last lines:"
tail -n 9 "$tmp/demo.out" | sed 's/^/     /'
[ $rc = 0 ] || { echo "MISMATCH: demo exited $rc"; fail=1; }
grep -q '203.0.113.7 (1001)' "$tmp/demo.out" && echo "demo output names the culprit: ok" || { echo "MISMATCH: demo output"; fail=1; }
demo_has() {	# demo_has LABEL EXTENDED-REGEX
	if grep -Eq "$2" "$tmp/demo.out"; then echo "demo: $1: ok"
	else echo "MISMATCH: demo: $1 (no line matching '$2')"; fail=1; fi
}
demo_has "progress lines while the story plays" '^\[.*story hour .*/72\] act [0-9]+ warn'
demo_has "the zones follow the story" '>> zones: UCEPROTECT L2 lists 203.0.113.0/24'
demo_has "rangewatch status printed" '^levels +act 2, warn 0'
demo_has "rangewatch ranges printed" '^203\.0\.113\.0/24 +uceprotect-2 +4/4 .*ESCALATED'
demo_has "rangewatch customers printed" '^act +1001 +Acme VPS'
demo_has "spammer 1001 at act" '^spammer 1001 Acme VPS: act$'
demo_has "spammer 1025 at act" '^spammer 1025 Tailspin Games: act$'
demo_has "innocents at none or watch" '^innocent customers: 48, the worst at (none|watch)$'
demo_has "the /24 escalated after the L2 listing" '^range 203\.0\.113\.0/24: 4/4 impacts, ESCALATED'
demo_has "the /28 escalated on one impact" '^range 203\.0\.113\.16/28: 1/1 impacts, ESCALATED'
demo_has "an alert mail received by the sink" 'Subject: \[rangewatch\] ACT 1001 Acme VPS'
demo_has "alert mails sent" '^alert mails sent: [1-9]'
demo_has "the dry-run hook ran for both spammers, nobody else" '^dry-run suspend hook ran for: 1001 1025$'
demo_has "the hook's dry-run line in the audit log" 'suspend 1001: suspend \(dry run\): exit 0'
if [ "$(id -u)" = 0 ] && command -v tcpreplay >/dev/null 2>&1; then
	# as root: the warm start replayed, then the spam captured live, every packet of it
	demo_has "says it captured live" '^live capture: namespace rwdemo[0-9]+, rangewatchd captures on rwd-tap'
	line=$(grep '^traffic: hours 0-50 replayed' "$tmp/demo.out")
	sent=$(echo "$line" | sed -n 's/.*tcpreplay sent \([0-9]*\) packets.*/\1/p')
	got=$(echo "$line" | sed -n 's/.*rangewatchd captured \([0-9]*\) packets live.*/\1/p')
	if [ -n "$sent" ] && [ "$sent" = "$got" ] && [ "$sent" -gt 100000 ]; then
		echo "demo: live capture: tcpreplay sent $sent packets, rangewatchd captured $got: ok"
	else
		echo "MISMATCH: demo live capture: '$line'"; fail=1
	fi
else
	demo_has "says which path it used" '^traffic: the capture file replayed by the daemon'
fi
dpid=$(sed -n 's/^rangewatchd: pid \([0-9]*\),.*/\1/p' "$tmp/demo.out")
dtmp=$(sed -n 's/^files: \(.*\) (removed at the end)$/\1/p' "$tmp/demo.out")
if [ -n "$dpid" ] && ! kill -0 "$dpid" 2>/dev/null && [ -n "$dtmp" ] && [ ! -e "$dtmp" ] &&
    ! pgrep -f "$dtmp/" >/dev/null 2>&1 && ! ip netns list 2>/dev/null | grep -q '^rwdemo'; then
	echo "demo: cleaned up (daemon $dpid gone, nothing running from $dtmp, folder removed): ok"
else
	echo "MISMATCH: demo cleanup: daemon '$dpid', folder '$dtmp'"; fail=1
fi
exit $fail
