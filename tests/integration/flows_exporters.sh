#!/bin/sh
# Flow exports into rangewatchd ([flows]), against real exporters and a reference collector.
# Exporters: softflowd (reads a capture, exports IPFIX or NetFlow v9, -s N samples 1 in N)
# and pmacct's pmacctd (sfprobe: sFlow v5 with raw packet headers, sampling_rate N). The
# reference: nfdump's nfcapd / sfcapd receive the very same datagrams (nfcapd repeats
# softflowd's to the daemon with -R; pmacct's are recorded once and played to both), and
# `nfdump` prints per flow the source, packets and TCP flags, summed per client here.
# Asserts, through the daemon's `flows` command:
#  A. three exporters at once (IPFIX from 127.0.0.1, sFlow from 127.0.0.2, hand-made IPFIX
#     from 127.0.0.3) at 1:1: per client IP, sessions (flows or samples carrying a SYN
#     without ACK) and packets to :25 equal nfdump's exactly; a template withdrawn (its
#     later data counts for nobody) and redefined in another field order; a variable-
#     length field; damaged datagrams counted as malformed, nothing counted from them, the
#     exporter still working after them; an exporter not on the allowlist (127.0.0.9)
#     counted and dropped; replies (from :25) never counted; then a reload (SIGHUP) that
#     drops 127.0.0.3 and allows 127.0.0.9 with a sampling override of 10: the kept
#     exporters keep their counters, the new one's records count 10 times;
#  B. NetFlow v9 sampled 1:100 (softflowd -s 100, the rate from its options template):
#     the samples equal nfdump's records exactly, the estimates are within the error bound
#     the daemon states of the generator's truth;
#  C. sFlow at 1:1000 (pmacct): equal to sfcapd's scaled counts, within the stated bound of
#     the truth, and the words say "estimated from 1:1000 samples";
#  D. dedup: the same clients replayed from a capture (a pcap sensor) and exported as
#     sFlow: flow samples for them are dropped (counted), the IPs estimated from nothing;
#     meanwhile pmacct's other exporter (nfprobe: IPFIX with its own templates, no rate
#     stated) of another capture: equal to nfdump's, exactly.
. "$(dirname "$0")/dnsbl/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (the daemon drops to nobody)"
id nobody >/dev/null 2>&1 || skip "no user nobody"
for t in softflowd pmacctd nfcapd sfcapd nfdump; do
	command -v $t >/dev/null || skip "$t not installed (softflowd pmacct nfdump nfdump-sflow)"
done
FL=$(cd "$(dirname "$0")/flows" && pwd)
TESTS=$(cd "$(dirname "$0")/.." && pwd)
UDP="$PY $FL/udp.py"
. "$(dirname "$0")/daemon/helpers.sh"
mkdir -p "$tmp/etc" "$tmp/caps"

# free UDP ports on 127.0.0.1: the daemon's three, two references', a recorder's
# shellcheck disable=SC2046
set -- $($PY -c '
import socket
ss = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(7)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
P_IPFIX=$1 P_SFLOW=$2 P_NF=$3 P_REF=$4 P_REC=$5 P_REF2=$6 P_REF3=$7

$PY "$TESTS/gen_captures.py" "$tmp/caps" >/dev/null 2>&1 || { echo "FAIL gen_captures"; exit 1; }
$PY "$FL/gen_sampled.py" "$tmp/small.pcap" 300 3 >"$tmp/small.truth" &&
    $PY "$FL/gen_sampled.py" "$tmp/big.pcap" 40000 7 >"$tmp/big.truth" ||
    { echo "FAIL gen_sampled"; exit 1; }
$PY "$FL/craft.py" "$tmp/craft.bin" || { echo "FAIL craft"; exit 1; }
printf '203.0.113.0/24 64500\n198.51.100.0/24 64500\n192.0.2.0/24 64500\n2001:db8::/32 64500\n' \
    >"$tmp/etc/prefixes.txt"
chmod -R a+rX "$tmp"

conf() {	# conf EXTRA-RANGEWATCH-LINES -> the config
	cat <<CONF
[rangewatch]
prefixes = prefixes.txt
state_dir = $tmp/state
socket = $tmp/run/rw.sock
pidfile = $tmp/run/rangewatchd.pid
user = nobody
$1

[flows]
ipfix = 127.0.0.1:$P_IPFIX
sflow = 127.0.0.1:$P_SFLOW
netflow = 127.0.0.1:$P_NF
exporter = 127.0.0.1
exporter = 127.0.0.2
exporter = 127.0.0.3
CONF
}
start() {	# start [EXTRA-LINES]: a fresh daemon (a fresh state)
	rm -rf "$tmp/state" "$tmp/run"
	conf "${1:-}" >"$tmp/etc/rangewatch.conf"
	"$RW_BIN/rangewatchd" -f -c "$tmp/etc/rangewatch.conf" >>"$tmp/daemon.log" 2>&1 &
	dpid=$!
	pids="$pids $dpid"
	poll 20 "$RW" ping -s "$tmp/run/rw.sock" >/dev/null 2>&1 ||
	    { echo "FAIL the daemon does not answer:"; cat "$tmp/daemon.log"; exit 1; }
}
stop() {
	kill -TERM "$dpid"; wait "$dpid"; rc=$?
	[ $rc = 0 ] && ok "SIGTERM: clean exit" || bad "SIGTERM: exit $rc"
}
flows() { raw '{"v":1,"cmd":"flows","limit":100000}' >"$tmp/flows.json"; }
# ours PREFIX -> "ip sessions packets" per client starting with PREFIX, sorted: the estimates
ours() {
	$PY - "$tmp/flows.json" "$1" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))["result"]
for i in sorted(d["ips"], key=lambda i: i["ip"]):
    if i["ip"].startswith(sys.argv[2]):
        print(i["ip"], int(round(i["sessions"])), int(round(i["packets"])))
PYEOF
}
# ref DIR PREFIX [RATE] -> the same from nfdump over a reference collector's files, for
# clients in the provider's space (the exports hold others too): a session is a flow whose
# flags hold a SYN (IPFIX, v9: the flags of all its packets), or a sample of a SYN without
# ACK (sFlow: sfcapd makes one flow of each sample, its packets scaled by the rate, which
# RATE applies to the sessions too)
ref() {
	nfdump -R "$1" -q -o "fmt:%sa %dp %pkt %flg" 'proto tcp and dst port 25' 2>/dev/null |
	    grep -E '^ *(203\.0\.113\.|198\.51\.100\.|192\.0\.2\.|2001:db8:)' |
	    awk -v f="$2" -v r="${3:-1}" -v sf="$(case $1 in *sf*) echo 1;; *) echo 0;; esac)" '
		index($1, f) == 1 { p[$1] += $3; if ($4 ~ /S/ && (!sf || $4 !~ /A/)) s[$1] += r }
		END { for (i in p) print i, s[i] + 0, p[i] }' | LC_ALL=C sort
}
counter() {
	$PY -c 'import json,sys; d=json.load(open(sys.argv[1]))["result"]; print(eval(sys.argv[2]))' \
	    "$tmp/flows.json" "$1"
}
exp_counter() { counter "[e[\"$2\"] for e in d[\"exporters\"] if e[\"addr\"]==\"$1\"][0]"; }
collector() {	# collector nfcapd|sfcapd DIR PORT [-R ...]
	c=$1 dir=$2 port=$3; shift 3
	rm -rf "$dir"; mkdir -p "$dir"; : >"$dir.log"
	$c -p "$port" -b 127.0.0.1 -B 8388608 -w "$dir" -t 3600 "$@" >"$dir.log" 2>&1 &
	cpid=$!
	pids="$pids $cpid"
	poll 10 grep -q "Bound to" "$dir.log" || bad "$c does not start: $(cat "$dir.log")"
	sleep 0.3
}
collector_stop() { kill "$cpid"; wait "$cpid" 2>/dev/null; }
# sfprobe CAPTURE RATE OUT: pmacct's sFlow of CAPTURE at 1:RATE from 127.0.0.2, recorded;
# with PLUGIN=nfprobe its IPFIX (unsampled) from 127.0.0.1 instead
sfprobe() {
	if [ "${PLUGIN:-sfprobe}" = nfprobe ]; then
		cat >"$tmp/pm.conf" <<PM
daemonize: false
pcap_savefile: $1
plugins: nfprobe
nfprobe_receiver: 127.0.0.1:$P_REC
nfprobe_version: 10
nfprobe_source_ip: 127.0.0.1
plugin_buffer_size: 102400
plugin_pipe_size: 102400000
PM
	else
		cat >"$tmp/pm.conf" <<PM
daemonize: false
pcap_savefile: $1
plugins: sfprobe
sfprobe_receiver: 127.0.0.1:$P_REC
sfprobe_agentip: 127.0.0.2
sfprobe_source_ip: 127.0.0.2
sampling_rate: $2
plugin_buffer_size: 102400
plugin_pipe_size: 102400000
PM
	fi
	# recorded until pmacctd has exited (it has sent everything then)
	: >"$tmp/rec.log"
	$UDP record "$P_REC" "$3" 0 >"$tmp/rec.log" &
	rp=$!
	poll 10 grep -q ready "$tmp/rec.log"
	timeout 60 pmacctd -f "$tmp/pm.conf" >"$tmp/pmacct.log" 2>&1
	sleep 0.3
	kill "$rp"
	wait "$rp"
	[ -s "$3" ] || bad "pmacctd exported nothing: $(tail -3 "$tmp/pmacct.log")"
}
# within TRUTH-JSON LABEL: each client's estimates (sessions, packets) against the
# generator's truth and the 95% bound the daemon states; one line per figure, and a line
# "LABEL FIGURES MISSES FAR" into $tmp/cover.txt (MISSES: outside the stated bound; FAR:
# outside 1.5 times it, z = 2.94). A 95% bound is missed by 1 figure in 20 by design, so
# the end of the test judges the misses over all figures, not each figure alone.
within() {
	$PY - "$tmp/flows.json" "$1" "$2" <<'PYEOF' >>"$tmp/cover.log"
import json, sys
d = {i["ip"]: i for i in json.load(open(sys.argv[1]))["result"]["ips"]}
truth = json.load(open(sys.argv[2]))
n = miss = far = 0
for ip, t in sorted(truth.items()):
    e = d.get(ip)
    if e is None:
        print("     %s %s: no estimate" % (sys.argv[3], ip))
        n += 2; miss += 2; far += 2
        continue
    for k in ("sessions", "packets"):
        off = abs(e[k] - t[k]) * 100.0 / t[k]
        b = e[k + "_error_pct"]
        n += 1
        miss += off > b
        far += off > 1.5 * b
        print("     %s %s %s: estimate %.0f, truth %d, off by %.1f%%, stated \u00b1%.1f%%%s (%s)" % (
            sys.argv[3], ip, k, e[k], t[k], off, b, "" if off <= b else " MISSED", e["text"]))
with open(sys.argv[2] + ".cover", "a") as f:
    f.write("%s %d %d %d\n" % (sys.argv[3], n, miss, far))
PYEOF
	tail -n 8 "$tmp/cover.log"
}

# ---------------------------------------------------------------- A: three exporters, 1:1
start
collector nfcapd "$tmp/nfA" "$P_REF" -R "127.0.0.1/$P_IPFIX"
timeout 60 softflowd -d -r "$tmp/caps/mixed.pcap" -n "127.0.0.1:$P_REF" -v 10 -6 -m 65536 \
    >"$tmp/softflowd.log" 2>&1 || bad "softflowd failed: $(tail -3 "$tmp/softflowd.log")"
sleep 1
collector_stop
collector nfcapd "$tmp/nfA3" "$P_REF3"
$UDP send 127.0.0.3 "127.0.0.1:$P_REF3" "$tmp/craft.bin" 500 >/dev/null
$UDP send 127.0.0.3 "127.0.0.1:$P_IPFIX" "$tmp/craft.bin" 500 >/dev/null
sleep 0.5
collector_stop
sfprobe "$tmp/small.pcap" 1 "$tmp/sflow1.bin"
collector sfcapd "$tmp/sfA" "$P_REF2"
$UDP send 127.0.0.2 "127.0.0.1:$P_REF2" "$tmp/sflow1.bin" 2000 >/dev/null
$UDP send 127.0.0.2 "127.0.0.1:$P_SFLOW" "$tmp/sflow1.bin" 2000 >/dev/null
$UDP send 127.0.0.9 "127.0.0.1:$P_IPFIX" "$tmp/craft.bin" 500 >/dev/null
sleep 1
collector_stop
flows
n=$(ref "$tmp/nfA" "" | wc -l)
[ "$n" -gt 15 ] && ok "nfdump's IPFIX reference (softflowd of mixed.pcap) holds $n clients" ||
    bad "IPFIX reference: $n clients"
# softflowd's clients, pmacct's (203.0.113.10-12, 2001:db8::10) and the hand-made ones
# (198.51.100.20x) are disjoint sets: each client has one reference
{ ref "$tmp/nfA" ""; ref "$tmp/nfA3" ""; ref "$tmp/sfA" ""; } | LC_ALL=C sort >"$tmp/want.txt"
ours "" | LC_ALL=C sort >"$tmp/got.txt"
if cmp -s "$tmp/want.txt" "$tmp/got.txt"; then
	ok "sessions and packets of all $(wc -l <"$tmp/got.txt") clients of 3 exporters = nfdump's, exactly"
else
	bad "per client sessions/packets differ from nfdump (< want, > got):"
	diff "$tmp/want.txt" "$tmp/got.txt" | head -20
fi
expect "sFlow clients (pmacct, 1:1) = sfcapd's" "$(ref "$tmp/sfA" "203.0.113.1" | tr '\n' ' ')" \
    "$(ours 203.0.113.1 | grep '^203.0.113.1[0-2] ' | tr '\n' ' ')"
expect "withdrawn template's data counted for nobody" "" "$(ours 198.51.100.209)"
expect "redefined template (other order, 4-byte packets)" "198.51.100.203 1 7" "$(ours 198.51.100.203)"
expect "variable-length field" "198.51.100.204 1 11" "$(ours 198.51.100.204)"
expect "the exporter works after 7 damaged datagrams" "198.51.100.205 1 2" "$(ours 198.51.100.205)"
expect "damaged datagrams counted as malformed (127.0.0.3)" 6 "$(exp_counter 127.0.0.3 malformed)"
expect "template 300 withdrawn once" 1 "$(exp_counter 127.0.0.3 withdrawn)"
expect "data without a template counted" 1 "$(exp_counter 127.0.0.3 no_template)"
expect "the 5000-field template refused" 1 "$(exp_counter 127.0.0.3 refused)"
expect "datagrams from 127.0.0.9 (not allowlisted) counted and dropped" 13 \
    "$(counter 'd["counts"]["unknown_exporter"]')"
grep -q "127.0.0.9, not an exporter" "$tmp/daemon.log" && ok "the stranger is logged" ||
    bad "no log line for 127.0.0.9"
r=$(counter 'd["counts"]["replies_ignored"]')
[ "$r" -gt 0 ] && ok "replies from :25 seen and never counted: $r" || bad "no replies seen"
expect "unsampled words" "from unsampled flow exports (exact as exported)" \
    "$(counter '[i["text"] for i in d["ips"] if i["ip"]=="203.0.113.10"][0]')"
st=$(rwc status --json)
expect "status shows the flows' datagrams" "$(counter 'd["counts"]["datagrams"]')" \
    "$(echo "$st" | js 'd["flows"]["counts"]["datagrams"]')"
kill -0 "$dpid" && ok "the daemon is alive" || bad "the daemon died"
# reload: 127.0.0.3 out, 127.0.0.9 in at 1:10 (the override: the datagrams state no rate)
d1=$(exp_counter 127.0.0.1 datagrams)
sed -i 's/^exporter = 127.0.0.3$/exporter = 127.0.0.9 sampling 10/' "$tmp/etc/rangewatch.conf"
kill -HUP "$dpid"
poll 10 grep -q "reloaded" "$tmp/daemon.log" || bad "no reload in the log"
$UDP send 127.0.0.9 "127.0.0.1:$P_IPFIX" "$tmp/craft.bin" 500 >/dev/null
$UDP send 127.0.0.3 "127.0.0.1:$P_IPFIX" "$tmp/craft.bin" 500 >/dev/null
sleep 0.5
flows
expect "after the reload: the exporters" "127.0.0.1 127.0.0.2 127.0.0.9" \
    "$(counter '" ".join(e["addr"] for e in d["exporters"])')"
expect "127.0.0.1 kept its counters" "$d1" "$(exp_counter 127.0.0.1 datagrams)"
expect "127.0.0.9 at its override" "10" "$(exp_counter 127.0.0.9 sampling_override)"
expect "its records count 10 times (1 + 10 sessions, 2 + 20 packets)" "198.51.100.205 11 22" \
    "$(ours 198.51.100.205)"
expect "127.0.0.3, dropped from the list, is a stranger now" 26 "$(counter 'd["counts"]["unknown_exporter"]')"
stop

# ---------------------------------------------------------------- B: NetFlow v9 at 1:100
start
collector nfcapd "$tmp/nfB" "$P_REF" -R "127.0.0.1/$P_NF"
timeout 60 softflowd -d -r "$tmp/big.pcap" -n "127.0.0.1:$P_REF" -v 9 -6 -s 100 -m 65536 \
    >"$tmp/softflowd.log" 2>&1 || bad "softflowd failed"
sleep 1
collector_stop
flows
# nfdump prints what was exported (the sampled flows); ours are those times 100
expect "estimates = nfdump's sampled records x 100 (v9, 1:100)" \
    "$(ref "$tmp/nfB" "" | awk '{ print $1, $2 * 100, $3 * 100 }' | tr '\n' ' ')" \
    "$(ours "" | tr '\n' ' ')"
expect "the rate came from softflowd's options template" 100 "$(exp_counter 127.0.0.1 rate)"
# softflowd samples periodically (1 packet in N, the same ones every run) over a capture
# whose sessions are shuffled with a fixed seed: the figures are the same every run
within "$tmp/big.truth" "v9-1:100"
stop

# ---------------------------------------------------------------- B2: IPFIX at 1:1000
start
collector nfcapd "$tmp/nfB2" "$P_REF" -R "127.0.0.1/$P_IPFIX"
timeout 60 softflowd -d -r "$tmp/big.pcap" -n "127.0.0.1:$P_REF" -v 10 -6 -s 1000 -m 65536 \
    >"$tmp/softflowd.log" 2>&1 || bad "softflowd failed"
sleep 1
collector_stop
flows
expect "estimates = nfdump's sampled records x 1000 (IPFIX, 1:1000)" \
    "$(ref "$tmp/nfB2" "" | awk '{ print $1, $2 * 1000, $3 * 1000 }' | tr '\n' ' ')" \
    "$(ours "" | tr '\n' ' ')"
within "$tmp/big.truth" "ipfix-1:1000"
stop

# ---------------------------------------------------------------- C: sFlow at 1:1000
sfprobe "$tmp/big.pcap" 1000 "$tmp/sflow1000.bin"
start
collector sfcapd "$tmp/sfC" "$P_REF2"
$UDP send 127.0.0.2 "127.0.0.1:$P_REF2" "$tmp/sflow1000.bin" 2000 >/dev/null
$UDP send 127.0.0.2 "127.0.0.1:$P_SFLOW" "$tmp/sflow1000.bin" 2000 >/dev/null
sleep 0.5
collector_stop
flows
expect "sFlow 1:1000 per client = sfcapd's" "$(ref "$tmp/sfC" "" 1000 | tr '\n' ' ')" "$(ours "" | tr '\n' ' ')"
within "$tmp/big.truth" "sflow-1:1000"
w=$(counter '[i["text"] for i in d["ips"] if i["ip"]=="203.0.113.10"][0]')
case $w in "estimated from 1:1000 samples, ±"*%) ok "the words: $w";; *) bad "the words: $w";; esac
stop

# ---------------------------------------------------------------- D: pcap and flows at once
PLUGIN=nfprobe sfprobe "$tmp/caps/mixed.pcap" 1 "$tmp/nfprobe.bin"
start "replay = $tmp/small.pcap
replay_speed = 0"
replayed() { [ "$(rwc status --json | js 'd["capture"]["replay"]["done"]')" = True ]; }
poll 30 replayed || bad "the replay did not end"
$UDP send 127.0.0.2 "127.0.0.1:$P_SFLOW" "$tmp/sflow1.bin" 2000 >/dev/null
sleep 0.5
flows
expect "clients counted by the pcap sensor get no flow estimate" "" "$(ours 203.0.113.1 | grep '^203.0.113.1[0-2] ')"
want=$(ref "$tmp/sfA" "" | awk '{ n += $3 } END { print n }')
expect "their flow samples dropped as counted by pcap (dedup) = sFlow's packets to :25" \
    "$want" "$(counter 'd["counts"]["dedup"]')"
collector nfcapd "$tmp/nfD" "$P_REF3"
$UDP send 127.0.0.1 "127.0.0.1:$P_REF3" "$tmp/nfprobe.bin" 2000 >/dev/null
$UDP send 127.0.0.1 "127.0.0.1:$P_IPFIX" "$tmp/nfprobe.bin" 2000 >/dev/null
sleep 0.5
collector_stop
flows
n=$(ref "$tmp/nfD" "" | wc -l)
[ "$n" -gt 15 ] && ok "pmacct nfprobe's IPFIX reference holds $n clients" || bad "nfprobe reference: $n clients"
ref "$tmp/nfD" "" >"$tmp/want.txt"
ours "" | LC_ALL=C sort >"$tmp/got.txt"
if cmp -s "$tmp/want.txt" "$tmp/got.txt"; then
	ok "pmacct nfprobe (IPFIX, 1:1): sessions and packets of all $n clients = nfdump's, exactly"
else
	bad "pmacct nfprobe: per client sessions/packets differ from nfdump (< want, > got):"
	diff "$tmp/want.txt" "$tmp/got.txt" | head -20
fi
u=$(counter 'd["counts"]["unknown_rate"]')
[ "$u" -gt 0 ] && ok "records of an exporter that states no rate, taken as 1:1 and counted: $u" ||
    bad "no record without a rate counted"
stop

# the stated 95% bounds over all 24 sampled figures: at most 3 misses (1.2 expected; 4 or
# more has a chance of 3% with honest bounds) and none past 1.5 times its bound
awk '{ n += $2; m += $3; f += $4 } END { print n, m, f }' "$tmp/big.truth.cover" >"$tmp/cover.sum"
read -r nfig nmiss nfar <"$tmp/cover.sum"
[ "$nfig" = 24 ] && [ "$nmiss" -le 3 ] && [ "$nfar" = 0 ] &&
    ok "stated 95% bounds hold for $((nfig - nmiss)) of $nfig sampled figures, none is off by 1.5x its bound" ||
    bad "stated 95% bounds: $nmiss of $nfig figures missed them, $nfar by more than 1.5x"

[ $fail = 0 ] && echo "flows_exporters: all passed"
exit $fail
