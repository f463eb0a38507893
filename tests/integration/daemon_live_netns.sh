#!/bin/sh
# rangewatchd live, end to end, inside network namespaces of the test's own: customers in
# namespace "cust" send real SMTP with swaks over a veth pair to a real SMTP server (aiosmtpd,
# tests/integration/netns/mx_server.py) on ten MX addresses in namespace "mx"; the daemon runs
# in "mx" capturing on its veth end (`interface =`), as root dropping to nobody; rbldnsd in
# "mx" serves UCEPROTECT-like L1 (ip) and L2 (range) zones that the test changes over time.
# The model works once per wall-clock minute: the level changes take up to a minute or two.
#
#   cust (vcust)                                   mx (vmx)
#   203.0.113.7    1001 Acme VPS (the spammer)     198.18.0.25 .. 198.18.0.34  aiosmtpd :25
#   203.0.113.20   1002 Innocent Bakery            127.0.0.1:5300              rbldnsd
#   198.51.100.17  1003 Quiet Relay                rangewatchd -f (interface = vmx)
#   provider space 203.0.113.0/24 + 198.51.100.0/24, AS64500
#
# Story: 1002 and 1003 send 2 normal mails each; 1001 bursts 30 sessions to 8 MX with 3
# recipients each, every third session with a "trap" recipient the MX refuses citing
# dnsbl-1.uceprotect.net; then L1 lists 203.0.113.7 and the unassigned .50-.52 (the /24 at 4
# impacts = the uceprotect-2 threshold for a /24); later L2 lists the /24. Asserts, through
# the CLI and the control socket (from the root namespace) and the SQLite store:
#  - the daemon runs as nobody with no capabilities, captures on vmx without drops;
#  - 1001 reaches act, first in `customers --json`, evidence naming its IP, the list and the
#    range; its hour counts equal what swaks sent (sessions, RCPT, 5xx, cited, MX); 1002
#    never past watch (also in flag_history), 1003 none;
#  - ranges: 203.0.113.0/24 under uceprotect-2 at 4 of 4, then "escalated": true; listings:
#    203.0.113.7 on uceprotect-1 with its TXT;
#  - suspend goes into the audit log (alerts --json);
#  - the minute rows sum per IP to the sessions tshark counts on tcpdump's capture of vmx
#    (tests/tshark_ref.py), which equal what swaks made and what the server saw;
#  - SIGTERM exits 0; after a restart (and its first minute's evaluation) the levels, the
#    flag history, the listing events and the minute rows are the same, nothing repeated.
# Needs root; exit 77 (skip) without it or without ip, swaks, rbldnsd, aiosmtpd, tcpdump,
# tshark. Every process is killed and both namespaces deleted by the EXIT trap.
. "$(dirname "$0")/dnsbl/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, port 25, the privilege drop)"
id nobody >/dev/null 2>&1 || skip "no user nobody"
for t in ip swaks rbldnsd tcpdump tshark; do
	command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
done
$PY -c 'import aiosmtpd' 2>/dev/null || skip "python3-aiosmtpd not installed"
[ -x "$RW_BIN/rangewatchd" ] || { echo "FAIL: $RW_BIN/rangewatchd missing"; exit 1; }
TESTS=$(cd "$(dirname "$0")/.." && pwd)
NETNS_FIX=$(cd "$(dirname "$0")/netns" && pwd)
t_begin=$(date +%s)

cns=rwcust$$
mns=rwmx$$
# shellcheck disable=SC2317  # called by the EXIT trap (replaces lib.sh's)
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	ip netns del "$cns" 2>/dev/null
	ip netns del "$mns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# ------------------------------------------------------------------ the namespaces
ip netns add "$cns" || skip "cannot create a network namespace here"
ip netns add "$mns" || { echo "FAIL: ip netns add $mns"; exit 1; }
ip -n "$cns" link add vcust type veth peer name vmx netns "$mns" ||
    { echo "FAIL: cannot make the veth pair"; exit 1; }
for ns in "$cns" "$mns"; do
	# no IPv6 autoconfiguration chatter on the test link
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
	ip -n "$ns" link set lo up
done
ip -n "$cns" addr add 203.0.113.7/24 dev vcust &&
ip -n "$cns" addr add 203.0.113.20/24 dev vcust &&
ip -n "$cns" addr add 198.51.100.17/24 dev vcust &&
ip -n "$cns" link set vcust up &&
ip -n "$cns" route add 198.18.0.0/24 dev vcust src 203.0.113.7 || { echo "FAIL: cust side"; exit 1; }
MX=""
for i in 25 26 27 28 29 30 31 32 33 34; do
	ip -n "$mns" addr add "198.18.0.$i/24" dev vmx || { echo "FAIL: mx address"; exit 1; }
	MX="$MX 198.18.0.$i"
done
ip -n "$mns" link set vmx up &&
ip -n "$mns" route add 203.0.113.0/24 dev vmx src 198.18.0.25 &&
ip -n "$mns" route add 198.51.100.0/24 dev vmx src 198.18.0.25 || { echo "FAIL: mx side"; exit 1; }
echo "namespaces $cns (vcust) and $mns (vmx) up"

# ------------------------------------------------------------------ rbldnsd inside mx
mkdir -p "$tmp/zones" "$tmp/etc"
L1_HEAD='$SOA 0 ns.test. hostmaster.test. 1 1h 1h 1d 1s
:127.0.0.2:Your IP $ is listed in UCEPROTECT-Level1
127.0.0.2'
L2_HEAD='$SOA 0 ns.test. hostmaster.test. 1 1h 1h 1d 1s
:127.0.0.2:Net $ is UCEPROTECT-Level2 listed
127.0.0.2/32'
# zone FILE TEXT: replaces a zone atomically (rbldnsd may read a half-written file)
zone() {
	printf '%s\n' "$2" >"$1.new" && chown nobody "$1.new" && mv "$1.new" "$1"
}
zone "$tmp/zones/l1.zone" "$L1_HEAD"
zone "$tmp/zones/l2.zone" "$L2_HEAD"
chown -R nobody "$tmp/zones"
RBL_PORT=5300	# the namespace is ours: no other server there
ip netns exec "$mns" rbldnsd -n -u nobody -b "127.0.0.1/$RBL_PORT" -t 2 -c 1s \
    l1.test:ip4set:"$tmp/zones/l1.zone" l2.test:ip4trie:"$tmp/zones/l2.zone" \
    >"$tmp/rbldnsd.out" 2>&1 &
pids="$pids $!"

# ------------------------------------------------------------------ the MX inside mx
ip netns exec "$mns" "$PY" "$NETNS_FIX/mx_server.py" "$tmp/mx.log" 25 >"$tmp/mx.out" 2>"$tmp/mx.err" &
pids="$pids $!"
n=0
until grep -q started "$tmp/rbldnsd.out" 2>/dev/null && grep -q ready "$tmp/mx.out" 2>/dev/null; do
	n=$((n + 1))
	[ $n -gt 100 ] && { echo "FAIL: rbldnsd or the MX did not start"; cat "$tmp/rbldnsd.out" "$tmp/mx.err"; exit 1; }
	sleep 0.1
done
echo "rbldnsd on 127.0.0.1/$RBL_PORT and aiosmtpd on :25 in $mns"

# the reference capture: every frame of port 25 on the daemon's interface
ip netns exec "$mns" tcpdump -i vmx -n -U --immediate-mode -Z root -s 0 -w "$tmp/live.pcap" \
    'tcp port 25' 2>"$tmp/tcpdump.err" &
dump_pid=$!
pids="$pids $dump_pid"
n=0
until grep -q "listening on" "$tmp/tcpdump.err" 2>/dev/null; do
	n=$((n + 1))
	[ $n -gt 100 ] && { echo "FAIL: tcpdump did not start"; cat "$tmp/tcpdump.err"; exit 1; }
	sleep 0.1
done

# ------------------------------------------------------------------ the daemon's config
printf '203.0.113.0/24 64500\n198.51.100.0/24 64500\n' >"$tmp/etc/prefixes.txt"
cat >"$tmp/etc/customers.csv" <<'EOF'
id,name,cidrs,contact,tags
1001,Acme VPS,203.0.113.7,abuse@acme.example,
1002,Innocent Bakery,203.0.113.20,bakery@example.org,
1003,Quiet Relay,198.51.100.17,relay@example.net,never_suspend
EOF
cat >"$tmp/etc/lists.conf" <<'EOF'
[list "uceprotect-1"]
zone = l1.test
scope = ip
expiry = 7d
interval = 2s
fast_interval = 2s
max_qps = 200

[list "uceprotect-2"]
zone = l2.test
scope = range
expiry = 7d
interval = 2s
max_qps = 200
EOF
cat >"$tmp/etc/rangewatch.conf" <<EOF
[rangewatch]
prefixes = prefixes.txt
customers = customers.csv
lists = lists.conf
interface = vmx
nameserver = 127.0.0.1:$RBL_PORT
state_dir = $tmp/state
socket = $tmp/run/rw.sock
pidfile = $tmp/run/rangewatchd.pid
user = nobody

[risk]
; low enough that a minute's burst is suspect without any baseline
conn_per_hour = 20
rcpt_per_hour = 60
mx_per_hour = 5
rejections_cited_per_hour = 2
EOF
chmod -R a+rX "$tmp"

# sql, rwc (the CLI in the root namespace), raw, js, poll, level_of: not daemon/lib.sh, whose
# setup (zones, the story capture, the config) is not this test's
. "$(dirname "$0")/daemon/helpers.sh"
ready() { [ "$(rwc status --json 2>/dev/null | js 'd["pid"]' 2>/dev/null)" = "$dpid" ]; }
start() {
	ip netns exec "$mns" "$RW_BIN/rangewatchd" -f -c "$tmp/etc/rangewatch.conf" \
	    >>"$tmp/daemon.log" 2>&1 &
	dpid=$!	# ip netns exec execs the daemon: the same pid
	pids="$pids $dpid"
	t_start=$(date +%s)
	poll 20 ready || { echo "FAIL daemon not answering:"; cat "$tmp/daemon.log"; exit 1; }
}
stop() {
	kill -TERM "$dpid"; wait "$dpid"; rc=$?
	[ $rc = 0 ] && ok "SIGTERM: clean exit" || bad "SIGTERM: exit $rc"
}
levels() { rwc customers --all --json | js '" ".join("%s=%s" % (c["id"], c["level"]) for c in sorted(d["customers"], key=lambda c: c["id"]))'; }
# every level 1002 was seen at, for "never past watch"
seen1002() { level_of 1002 >>"$tmp/levels1002"; }
is_act() { seen1002; [ "$(level_of 1001)" = act ]; }
lists_ok() { [ "$(rwc status --json | js '" ".join(l["health"] for l in d["lists"])')" = "ok ok" ]; }

start
echo "rangewatchd pid $dpid in $mns"
uid=$(awk '/^Uid:/ {print $2 "," $3 "," $4 "," $5}' "/proc/$dpid/status")
nb=$(id -u nobody)
expect "uids after start (real, effective, saved, fs)" "$nb,$nb,$nb,$nb" "$uid"
expect "effective capabilities" 0000000000000000 "$(awk '/^CapEff:/ {print $2}' "/proc/$dpid/status")"
st=$(rwc status --json)
expect "status clock" live "$(echo "$st" | js 'd["clock"]')"
expect "capture source and interface" "interface vmx" "$(echo "$st" | js 'd["capture"]["source"] + " " + d["capture"]["interface"]')"
poll 20 lists_ok && ok "both lists healthy (test points answered through rbldnsd in $mns)" ||
    bad "lists not healthy: $(rwc status --json | js 'd["lists"]')"

# ------------------------------------------------------------------ the traffic
# sw CLIENT MX TO [SWAKS ARGS]: one SMTP session from CLIENT (one swaks run, one connection)
sent_file=$tmp/sent
: >"$sent_file"
sw() {
	c=$1; m=$2; to=$3; shift 3
	ip netns exec "$cns" swaks --server "$m" --local-interface "$c" --helo "client.test" \
	    --from "sender@$c.example" --to "$to" --silent 2 "$@" >>"$tmp/swaks.out" 2>&1
	rc=$?
	# 0: delivered; 24: no recipient accepted (not used here); a refused recipient among
	# accepted ones still delivers. 2 or other: no session -- a broken test bed.
	echo "$c $m $rc" >>"$sent_file"
}
t_send=$(date +%s)
sw 203.0.113.20 198.18.0.33 "orders@flour.example" --header "Subject: order 1"
sw 203.0.113.20 198.18.0.34 "orders@flour.example" --header "Subject: order 2"
sw 198.51.100.17 198.18.0.33 "list@members.example" --header "Subject: relay 1"
sw 198.51.100.17 198.18.0.34 "list@members.example" --header "Subject: relay 2"
# 1001's burst: 30 sessions over 8 MX, 3 recipients each, every third one with a trap
# shellcheck disable=SC2086  # the ten MX addresses, one word each
set -- $MX
mxs="$1 $2 $3 $4 $5 $6 $7 $8"
i=0
while [ $i -lt 30 ]; do
	k=$((i % 8 + 1))
	m=$(echo "$mxs" | cut -d' ' -f$k)
	if [ $((i % 3)) = 0 ]; then first="trap$i@victim$k.example"; else first="u${i}a@victim$k.example"; fi
	sw 203.0.113.7 "$m" "$first,u${i}b@victim$k.example,u${i}c@victim$k.example" \
	    --header "Subject: cheap pills $i"
	i=$((i + 1))
done
t_sent=$(date +%s)
sleep 1	# the last FIN/ACKs
kill -INT "$dump_pid"; wait "$dump_pid" 2>/dev/null
echo "swaks: $(wc -l <"$sent_file") sessions in $((t_sent - t_send)) s; exit codes: $(awk '{print $3}' "$sent_file" | sort | uniq -c | tr -s ' \n' ' ')"
grep -vq ' 0$' "$sent_file" && bad "some swaks runs failed: $(grep -v ' 0$' "$sent_file" | head -n 3 | tr '\n' ';') $(tail -n 5 "$tmp/swaks.out")"
sent() { awk -v c="$1" '$1 == c' "$sent_file" | wc -l; }
S7=$(sent 203.0.113.7); S20=$(sent 203.0.113.20); S17=$(sent 198.51.100.17)
REJ=$(grep -c '^reject 203.0.113.7 ' "$tmp/mx.log")
expect "sessions the MX saw per client" "198.51.100.17=$S17 203.0.113.20=$S20 203.0.113.7=$S7" \
    "$(awk '$1 == "session" {n[$2]++} END {for (c in n) print c "=" n[c]}' "$tmp/mx.log" | sort | tr '\n' ' ' | sed 's/ $//')"
expect "trap recipients refused by the MX" 10 "$REJ"

# the independent reference: tshark on tcpdump's capture of vmx
$PY "$TESTS/tshark_ref.py" --prefixes "$tmp/etc/prefixes.txt" "$tmp/live.pcap" >"$tmp/tshark.json" 2>"$tmp/tshark.err" ||
    bad "tshark_ref failed: $(cat "$tmp/tshark.err")"
want=$($PY -c 'import json,sys; print(" ".join("%s=%d" % (i["ip"], i["sessions"]) for i in sorted(json.load(open(sys.argv[1]))["ips"], key=lambda i: i["ip"])))' "$tmp/tshark.json")
expect "tshark: completed handshakes per client = swaks runs" \
    "198.51.100.17=$S17 203.0.113.20=$S20 203.0.113.7=$S7" "$want"
tref() { $PY -c 'import json,sys; d=[i for i in json.load(open(sys.argv[1]))["ips"] if i["ip"]==sys.argv[2]]; print(eval(sys.argv[3]) if d else "none")' "$tmp/tshark.json" "$1" "$2"; }
T7=$(tref 203.0.113.7 '"rcpt=%d 5xx=%d cited=%d dst=%d" % (d[0]["rcpt_to"], d[0]["replies_5xx"], d[0]["rejections_citing"].get("uceprotect", 0), d[0]["dst_ips"])')
expect "tshark on 203.0.113.7" "rcpt=90 5xx=$REJ cited=$REJ dst=8" "$T7"

# ------------------------------------------------------------------ L1 lists the spammer
zone "$tmp/zones/l1.zone" "$L1_HEAD
203.0.113.7
203.0.113.50
203.0.113.51
203.0.113.52"
t_l1=$(date +%s)
echo "L1 zone lists 203.0.113.7 and .50-.52 ($((t_l1 - t_begin)) s into the test)"
poll 130 is_act && ok "1001 reaches act ($(($(date +%s) - t_l1)) s after the L1 listing)" ||
    bad "1001 is $(level_of 1001) $(($(date +%s) - t_l1)) s after the L1 listing"
cj=$(rwc customers --json)
echo "$cj" >"$tmp/customers.json"
expect "worst first" 1001 "$(echo "$cj" | js 'd["customers"][0]["id"]')"
ev=$(echo "$cj" | js '" / ".join(d["customers"][0]["evidence"])')
echo "evidence: $ev"
for w in 203.0.113.7 uceprotect-1 203.0.113.0/24; do
	case $ev in *"$w"*) ok "evidence names $w";; *) bad "evidence lacks $w";; esac
done
expect "1001's /24 neighbourhood (impacts/threshold)" "4/4" \
    "$(echo "$cj" | js '"/".join("%d/%d" % (n["impacts"], n["threshold"]) for n in d["customers"][0]["neighbourhoods"] if n["key"]=="203.0.113.0/24" and n["policy"]=="uceprotect-2")')"
# a listing re-evaluates at once; the traffic reaches the model at the minute's work
# (the next minute boundary of the clock): wait for it before judging the counts
minute_done() { [ "$(sql "SELECT count(*) FROM traffic_minute WHERE ip = '203.0.113.7'" 2>/dev/null)" -gt 0 ]; }
t_w=$(date +%s)
poll 75 minute_done && ok "the minute's work wrote the burst ($(($(date +%s) - t_w)) s later)" ||
    bad "no minute rows for 203.0.113.7 after 75 s"
sleep 1	# the rows are written before the evaluation that follows them in the same turn
c1=$(rwc customers 1001 --json)
echo "$c1" >"$tmp/c1001.json"
h_send=$((t_send / 3600)); h_now=$(($(date +%s) / 3600))
got=$(echo "$c1" | js '"sessions=%d rcpt=%d 5xx=%d cited=%d dst=%d" % tuple(d["smtp_1h"][k] for k in ("sessions","rcpt","replies_5xx","cited","dst"))')
if [ "$h_send" = "$h_now" ]; then
	expect "1001 smtp_1h" "sessions=$S7 rcpt=90 5xx=$REJ cited=$REJ dst=8" "$got"
else
	echo "note: an hour boundary passed since the burst: smtp_1h is the sliding approximation ($got)"
fi
expect "1001 sparkline: sessions in 24 h" "$S7" "$(echo "$c1" | js 'sum(d["spark"])')"
expect "1001 address 203.0.113.7 counters" \
    "sessions=$S7 mail_from=$S7 rcpt_to=90 data=$S7 5xx=$REJ cited=$REJ dst=8" \
    "$(echo "$c1" | js '"".join("sessions=%d mail_from=%d rcpt_to=%d data=%d 5xx=%d cited=%d dst=%d" % (a["sessions"], a["mail_from"], a["rcpt_to"], a["data"], a["replies_5xx"], a["cited"], a["dst"]) for a in d["addresses"] if a["ip"]=="203.0.113.7")')"
# 30 connections, 90 RCPT, 8 new MX, 10 cited rejections in the hour: past conn_per_hour,
# rcpt_per_hour, mx_per_hour and rejections_cited_per_hour (not rejections_5xx_per_hour: 20)
expect "203.0.113.7 suspect, and by which rules" "True cited,connections,fanout,rcpt" \
    "$(echo "$c1" | js '"".join("%s %s" % (a["suspect"], ",".join(sorted(a["rules"]))) for a in d["addresses"] if a["ip"]=="203.0.113.7")')"
expect "1001 listed on uceprotect-1 (customer detail)" True \
    "$(echo "$c1" | js 'any(l["list"]=="uceprotect-1" and l["listed"] for a in d["addresses"] for l in a["listings"])')"
l2=$(level_of 1002)
case $l2 in none|watch) ok "the innocent neighbour 1002 at $l2";; *) bad "1002 at $l2";; esac
expect "1003 (another range)" none "$(level_of 1003)"
rj=$(rwc ranges --json)
expect "range 203.0.113.0/24 under uceprotect-2 (impacts, threshold, escalated)" "[(4, 4, False)]" \
    "$(echo "$rj" | js '[(n["impacts"], n["threshold"], n["escalated"]) for n in d["neighbourhoods"] if n["key"]=="203.0.113.0/24" and n["policy"]=="uceprotect-2"]')"
expect "its contributors" "['1001']" \
    "$(echo "$rj" | js '[c["id"] for n in d["neighbourhoods"] if n["key"]=="203.0.113.0/24" and n["policy"]=="uceprotect-2" for c in n["contributors"]]')"
lj=$(rwc listings --json)
expect "listings: 203.0.113.7 on uceprotect-1 (listed, customer, TXT)" \
    "True 1001 Your IP 203.0.113.7 is listed in UCEPROTECT-Level1" \
    "$(echo "$lj" | js '" ".join("%s %s %s" % (l["listed"], l["customer"], l["txt"]) for l in d["listings"] if l["list"]=="uceprotect-1" and l["key"]=="203.0.113.7")')"
expect "listings: the unassigned .50-.52 too" "203.0.113.50 203.0.113.51 203.0.113.52" \
    "$(echo "$lj" | js '" ".join(sorted(l["key"] for l in d["listings"] if l["list"]=="uceprotect-1" and l["listed"] and l["key"].startswith("203.0.113.5")))')"
r=$(raw '{"v":1,"id":7,"cmd":"listings","list":"uceprotect-1"}')
expect "raw request on the socket: ok, id, uceprotect-1 keys" "True 7 4" \
    "$(echo "$r" | js '"%s %s %d" % (d["ok"], d["id"], sum(1 for l in d["result"]["listings"] if l["listed"] and l["key"].startswith("203.0.113.")))')"

# ------------------------------------------------------------------ L2 lists the /24
zone "$tmp/zones/l2.zone" "$L2_HEAD
203.0.113.0/24"
t_l2=$(date +%s)
escalated() { seen1002; [ "$(rwc ranges --json | js '[n["escalated"] for n in d["neighbourhoods"] if n["key"]=="203.0.113.0/24" and n["policy"]=="uceprotect-2"]')" = "[True]" ]; }
poll 130 escalated && ok "the /24 shows escalated once L2 lists it ($(($(date +%s) - t_l2)) s)" ||
    bad "not escalated: $(rwc ranges --json)"
expect "1001 still act" act "$(level_of 1001)"
l2=$(level_of 1002)
case $l2 in none|watch) ok "1002 in the escalated /24, not a contributor: $l2";; *) bad "1002 at $l2";; esac

# ------------------------------------------------------------------ operator action
rwc suspend 1001 --reason "netns test: spam burst, ticket 4711" >"$tmp/suspend.out" 2>&1 &&
    ok "suspend accepted: $(head -n 1 "$tmp/suspend.out")" || bad "suspend refused: $(cat "$tmp/suspend.out")"
expect "audit row (alerts --json)" "suspend 1001 netns test: spam burst, ticket 4711" \
    "$(rwc alerts --json | js '" ".join([d["audit"][0]["action"], d["audit"][0]["customer"], d["audit"][0]["reason"]])')"
seen1002
expect "1002's levels seen while polling, other than none and watch" "" \
    "$(sort -u "$tmp/levels1002" | grep -vE '^(none|watch)$' | tr '\n' ' ')"
expect "flag_history: 1002 never past watch, 1003 never flagged" "" \
    "$(sql "SELECT customer, level FROM flag_history WHERE (customer = '1002' AND level IN ('warn', 'act')) OR (customer = '1003' AND level != 'none')")"

# ------------------------------------------------------------------ the store vs tshark
sums() { sql "SELECT ip, sum(sessions) FROM traffic_minute GROUP BY ip ORDER BY ip" | sed 's/|/=/' | tr '\n' ' ' | sed 's/ $//'; }
n=0; while [ "$(sums 2>/dev/null)" != "$want" ] && [ $n -lt 20 ]; do sleep 0.5; n=$((n + 1)); done
expect "sessions per IP in the minute rows = tshark" "$want" "$(sums)"
expect "203.0.113.7's minute rows: rcpt, 5xx, cited" "90|$REJ|$REJ" \
    "$(sql "SELECT sum(rcpt_to), sum(replies_5xx), sum(cited) FROM traffic_minute WHERE ip = '203.0.113.7'")"
st=$(rwc status --json)
expect "capture drops (kernel, interface)" "0 0" "$(echo "$st" | js '"%d %d" % (d["capture"]["drops"], d["capture"]["ifdrops"])')"

# ------------------------------------------------------------------ restart
snap() {	# snap LEVELS: the state that must survive (the levels are read while it runs)
	{
		echo "levels: $1"
		echo "flags:"; sql "SELECT id, ts, customer, level, previous FROM flag_history ORDER BY id"
		echo "events:"; sql "SELECT id, ts, event, list, key FROM listing_event ORDER BY id"
		echo "minutes: $(sums)"
		echo "audit:"; sql "SELECT id, action, customer, reason FROM audit ORDER BY id"
	}
}
lv=$(levels)
echo "levels before the restart: $lv; 1001's flag history: $(sql "SELECT previous || '->' || level FROM flag_history WHERE customer = '1001' ORDER BY id" | tr '\n' ' ')"
stop
snap "$lv" >"$tmp/before"
start
after_restart() {
	snap "$(levels)" >"$tmp/after"
	if cmp -s "$tmp/before" "$tmp/after"; then ok "after restart ($1): levels, flag history, listing events, minute rows, audit all the same"
	else bad "after restart ($1): the state differs:"; diff "$tmp/before" "$tmp/after" | head -n 20; fi
}
after_restart "at once"
expect "uids after restart" "$nb,$nb,$nb,$nb" "$(awk '/^Uid:/ {print $2 "," $3 "," $4 "," $5}' "/proc/$dpid/status")"
# the first minute's work of the new daemon: its evaluation and the probe's re-checks
b=$(( (t_start / 60 + 1) * 60 ))
evaluated() { [ "$(rwc status --json | js 'd["evaluated"]')" -ge "$b" ]; }
poll 75 evaluated && sleep 3 || bad "no evaluation after the restart"
after_restart "after its first minute"
expect "1001 smtp_1h.sessions and sparkline after restart" "$S7 $S7" \
    "$(rwc customers 1001 --json | js '"%d %d" % (d["smtp_1h"]["sessions"], sum(d["spark"]))')"
expect "no repeated listing event (same event twice in a row for a key)" "" \
    "$(sql "SELECT a.list, a.key, a.event FROM listing_event a JOIN listing_event b ON a.list = b.list AND a.key = b.key AND b.id = (SELECT min(id) FROM listing_event WHERE list = a.list AND key = a.key AND id > a.id) WHERE a.event = b.event")"
expect "no repeated flag (same level twice in a row for a customer)" "" \
    "$(sql "SELECT a.customer, a.level FROM flag_history a JOIN flag_history b ON a.customer = b.customer AND b.id = (SELECT min(id) FROM flag_history WHERE customer = a.customer AND id > a.id) WHERE a.level = b.level")"
stop

echo "took $(($(date +%s) - t_begin)) s"
if [ "$fail" -ne 0 ]; then
	echo "--- rangewatchd said:"; tail -n 40 "$tmp/daemon.log"
	echo "--- rbldnsd said:"; cat "$tmp/rbldnsd.out"
fi
exit "$fail"
