#!/bin/sh
# rangewatchd's model end to end, on replayed traffic (`replay = FILE`, speed 0: the model's
# clock follows the packets, so six days of baseline and three hours of spam take seconds)
# and a real rbldnsd serving UCEPROTECT-like L1 (ip) and L2 (range) zones that the test
# changes over time. Asserts, through the control socket (the rangewatch CLI and a raw
# NDJSON client) and the SQLite store (read with Python's own sqlite3):
#  - the per-minute traffic rows sum to the sessions tshark counts in the capture, and the
#    hourly rows hold the whole week (the baselines' history);
#  - the spammer (1001) is at `act` with evidence naming its IP, the list and the range,
#    worst first; its innocent neighbour in the same /24 (1002) is never past `watch`;
#  - the /24 shows 4 of 4 impacts toward uceprotect-2, then "escalated" once the L2 zone
#    lists it;
#  - ack goes through the socket into the audit log; a malformed request gets an error reply;
#  - SIGHUP with a bad config is refused (file:line in the log) and the old one stays; a good
#    one adds a customer without losing counters;
#  - SIGTERM, restart (no replay): levels, flag history and sparkline come back, nothing is
#    repeated; kill -9, restart: the same, and PRAGMA integrity_check passes;
#  - the daemon runs as nobody with no capabilities after start.
. "$(dirname "$0")/dnsbl/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (the daemon's privilege drop is part of the test)"
id nobody >/dev/null 2>&1 || skip "no user nobody"
command -v tshark >/dev/null || skip "tshark not installed"
TESTS=$(cd "$(dirname "$0")/.." && pwd)

mkdir -p "$tmp/zones" "$tmp/etc"
cat >"$tmp/zones/l1.zone" <<'EOF'
$SOA 0 ns.test. hostmaster.test. 1 1h 1h 1d 1s
:127.0.0.2:Your IP $ is listed in UCEPROTECT-Level1
127.0.0.2
203.0.113.7
203.0.113.50
203.0.113.51
203.0.113.52
EOF
cat >"$tmp/zones/l2.zone" <<'EOF'
$SOA 0 ns.test. hostmaster.test. 1 1h 1h 1d 1s
:127.0.0.2:Net $ is UCEPROTECT-Level2 listed
127.0.0.2/32
EOF
chown -R nobody "$tmp/zones"
start_rbldnsd l1.test:ip4set:"$tmp/zones/l1.zone" l2.test:ip4trie:"$tmp/zones/l2.zone"

end=$(($(date +%s) - 120))
$PY "$TESTS/gen_story.py" "$tmp/story.pcap" "$end" >"$tmp/truth.json" || { echo "FAIL gen_story"; exit 1; }
frames=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["frames"])' "$tmp/truth.json")

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

[list "uceprotect-2"]
zone = l2.test
scope = range
expiry = 7d
interval = 2s
EOF
conf() {	# conf REPLAY-LINE -> the config
	cat <<EOF
[rangewatch]
prefixes = prefixes.txt
customers = customers.csv
lists = lists.conf
nameserver = 127.0.0.1:$RBL_PORT
state_dir = $tmp/state
socket = $tmp/run/rw.sock
pidfile = $tmp/run/rangewatchd.pid
user = nobody
$1
EOF
}
conf "replay = $tmp/story.pcap
replay_speed = 0" >"$tmp/etc/rangewatch.conf"
chmod -R a+rX "$tmp"

db=$tmp/state/rangewatch.db
sql() {
	$PY - "$db" "$1" <<'PYEOF'
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=5)
for row in c.execute(sys.argv[2]):
    print("|".join(str(x) for x in row))
PYEOF
}
rwc() {	# rwc SUBCOMMAND ARGS... -> the CLI against the test's daemon
	"$RW" "$@" -c "$tmp/etc/rangewatch.conf"
}
# jq-like: js EXPR < JSON (EXPR is Python over d)
js() { $PY -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
# raw LINE -> the daemon's reply to one request line
raw() {
	$PY - "$tmp/run/rw.sock" "$1" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10)
s.sendall(sys.argv[2].encode() + b"\n")
buf = b""
while not buf.endswith(b"\n"):
    buf += s.recv(65536)
print(buf.decode().strip())
PYEOF
}
poll() {	# poll SECONDS COMMAND... -> until COMMAND succeeds
	t=$1; shift; n=0
	while [ $n -lt $((t * 2)) ]; do "$@" && return 0; sleep 0.5; n=$((n + 1)); done
	return 1
}
start() {
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
replay_done() { [ "$(rwc status --json | js 'd["capture"]["replay"]["done"]')" = True ]; }
level_of() { rwc customers --all --json | js "[c['level'] for c in d['customers'] if c['id']=='$1'][0]"; }
is_act() { [ "$(level_of 1001)" = act ]; }

start
uid=$(awk '/^Uid:/ {print $2 "," $3 "," $4 "," $5}' "/proc/$dpid/status")
nb=$(id -u nobody)
expect "uids after start (real, effective, saved, fs)" "$nb,$nb,$nb,$nb" "$uid"
expect "effective capabilities" 0000000000000000 "$(awk '/^CapEff:/ {print $2}' "/proc/$dpid/status")"
expect "socket mode and group" "660 $(id -gn nobody)" "$(stat -c '%a %G' "$tmp/run/rw.sock")"

poll 120 replay_done && ok "replay of $frames frames done" || bad "replay not done: $(rwc status --json)"
st=$(rwc status --json)
expect "status clock" replay "$(echo "$st" | js 'd["clock"]')"
expect "frames replayed" "$frames" "$(echo "$st" | js 'd["capture"]["replay"]["frames"]')"
expect "packets counted" "$frames" "$(echo "$st" | js 'd["capture"]["packets"]')"

# the minute rows against tshark's session count (the independent reference)
$PY "$TESTS/tshark_ref.py" "$tmp/story.pcap" >"$tmp/tshark.json" 2>"$tmp/tshark.err" ||
    { bad "tshark_ref failed: $(cat "$tmp/tshark.err")"; }
want=$($PY -c 'import json,sys; print(" ".join("%s=%d" % (i["ip"], i["sessions"]) for i in sorted(json.load(open(sys.argv[1]))["ips"], key=lambda i: i["ip"])))' "$tmp/tshark.json")
# the end of the replay writes the minute in progress: the hourly rows (kept 35 days) hold
# every session; the minute rows (kept 48 h of the model's clock) only the last two days
sums() { sql "SELECT ip, sum(sessions) FROM traffic_hour GROUP BY ip ORDER BY ip" | sed 's/|/=/' | tr '\n' ' ' | sed 's/ $//'; }
n=0; while [ "$(sums 2>/dev/null)" != "$want" ] && [ $n -lt 40 ]; do sleep 0.5; n=$((n + 1)); done
expect "sessions per IP in the hourly rows = tshark" "$want" "$(sums)"
old=$(sql "SELECT count(*) FROM traffic_minute WHERE ts < $end - 49 * 3600")
expect "minute rows older than 48 h pruned" 0 "$old"
mins=$(sql "SELECT count(*) FROM traffic_minute WHERE ts >= $end - 47 * 3600")
[ "$mins" -gt 100 ] && ok "minute rows of the last 48 h kept: $mins" || bad "minute rows of the last 48 h: $mins"
hours=$(sql "SELECT count(DISTINCT ts) FROM traffic_hour WHERE ip = '198.51.100.17'")
[ "$hours" -ge 140 ] && ok "hourly rows for 198.51.100.17: $hours hours (the week of baseline)" ||
    bad "hourly rows for 198.51.100.17: $hours"

poll 60 is_act && ok "1001 reaches act" || bad "1001 is $(level_of 1001)"
cj=$(rwc customers --json)
expect "worst first" 1001 "$(echo "$cj" | js 'd["customers"][0]["id"]')"
ev=$(echo "$cj" | js '" / ".join(d["customers"][0]["evidence"])')
for w in 203.0.113.7 uceprotect-1 203.0.113.0/24; do
	case $ev in *"$w"*) ok "evidence names $w";; *) bad "evidence lacks $w: $ev";; esac
done
nbj=$(echo "$cj" | js '[n for n in d["customers"][0]["neighbourhoods"] if n["key"]=="203.0.113.0/24"][0]')
expect "1001's /24 impacts/threshold" "4/4" "$(echo "$nbj" | tr "'" '"' | js '"%d/%d" % (d["impacts"], d["threshold"])')"
l2=$(level_of 1002)
case $l2 in none|watch) ok "the innocent neighbour 1002 stays at $l2";; *) bad "1002 at $l2";; esac
rg=$(rwc ranges --json | js '[(n["impacts"], n["threshold"], n["escalated"]) for n in d["neighbourhoods"] if n["key"]=="203.0.113.0/24" and n["policy"]=="uceprotect-2"]')
expect "range 203.0.113.0/24 under uceprotect-2" "[(4, 4, False)]" "$rg"

# the list escalates: L2 lists the /24
printf '203.0.113.0/24\n' >>"$tmp/zones/l2.zone"
escalated() { [ "$(rwc ranges --json | js '[n["escalated"] for n in d["neighbourhoods"] if n["key"]=="203.0.113.0/24" and n["policy"]=="uceprotect-2"]')" = "[True]" ]; }
poll 60 escalated && ok "the /24 shows escalated once L2 lists it" || bad "not escalated: $(rwc ranges --json)"

# the readable views an operator reads (shown in the log, and checked for what matters)
for v in status customers ranges listings; do
	rwc "$v" >"$tmp/$v.txt" 2>&1; rc=$?
	echo "--- rangewatch $v"; sed 's/^/     /' "$tmp/$v.txt"
	[ $rc = 0 ] && ok "rangewatch $v: exit 0" || bad "rangewatch $v: exit $rc"
done
grep -q "Acme VPS" "$tmp/customers.txt" && ok "customers names Acme VPS" || bad "customers lacks Acme VPS"
grep -q "ESCALATED" "$tmp/ranges.txt" && ok "ranges shows ESCALATED" || bad "ranges lacks ESCALATED"

# the socket: an acting request through the CLI, a malformed one raw
rwc ack 1001 --reason "ticket 4711: customer contacted" >/dev/null && ok "ack accepted" || bad "ack refused"
expect "audit log row" "ack|1001|ticket 4711: customer contacted" "$(sql "SELECT action, customer, reason FROM audit ORDER BY id DESC LIMIT 1")"
r=$(raw '{"v":1,"id":3,"cmd":"customers","limit":"x"}')
expect "bad argument: error reply" "False 3" "$(echo "$r" | js 'str(d["ok"]) + " " + str(d["id"])')"
r=$(raw 'not json at all')
expect "malformed line: error reply" False "$(echo "$r" | js 'd["ok"]')"

# SIGHUP: a bad config is refused with its line, the old one stays
flags_before=$(sql "SELECT count(*) FROM flag_history")
cp "$tmp/etc/rangewatch.conf" "$tmp/etc/good.conf"
printf 'no_such_key = 1\n' >>"$tmp/etc/rangewatch.conf"
badline=$(wc -l <"$tmp/etc/rangewatch.conf")
kill -HUP "$dpid"
poll 10 grep -q "reload refused" "$tmp/daemon.log" && ok "bad reload refused" || bad "no refusal in the log"
grep -q "rangewatch.conf:$badline" "$tmp/daemon.log" && ok "the refusal names rangewatch.conf:$badline" ||
    bad "no file:line in: $(grep refused "$tmp/daemon.log")"
expect "still serving the old map" 3 "$("$RW" status -s "$tmp/run/rw.sock" --json | js 'd["customers"]')"
cp "$tmp/etc/good.conf" "$tmp/etc/rangewatch.conf"
printf '1004,New Tenant,203.0.113.50,new@example.com,\n' >>"$tmp/etc/customers.csv"
sess_before=$(rwc customers 1001 --json | js 'sum(a["sessions"] for a in d["addresses"])')
kill -HUP "$dpid"
poll 10 sh -c "[ \"\$('$RW' status -c '$tmp/etc/rangewatch.conf' --json | $PY -c 'import json,sys; print(json.load(sys.stdin)[\"customers\"])')\" = 4 ]" &&
    ok "reload: 4 customers" || bad "reload did not add the customer"
expect "counters kept across the reload" "$sess_before" "$(rwc customers 1001 --json | js 'sum(a["sessions"] for a in d["addresses"])')"

# the new customer holds a listed IP of the hot /24: it is flagged at once
is_act1004() { [ "$(level_of 1004)" = act ]; }
poll 30 is_act1004 && ok "the new customer 1004 (listed 203.0.113.50 in the hot /24) is at act" ||
    bad "1004 is $(level_of 1004)"

# restart without the replay: the state comes back, nothing repeated
flags_before=$(sql "SELECT count(*) FROM flag_history")
stop
conf "" >"$tmp/etc/rangewatch.conf"
start
expect "after restart: 1001" act "$(level_of 1001)"
expect "after restart: flag history rows" "$flags_before" "$(sql "SELECT count(*) FROM flag_history")"
sql "SELECT id, ts, customer, previous, level FROM flag_history" | sed 's/^/     history: /'
spark=$(rwc customers 1001 --json | js 'sum(d["spark"])')
[ "$spark" -gt 0 ] && ok "sparkline restored from the hourly rows ($spark sessions in 24 h)" || bad "sparkline empty"
expect "the ack survived" "ticket 4711: customer contacted" "$(rwc customers 1001 --json | js 'd["ack"]["reason"]')"

kill -9 "$dpid"; wait "$dpid" 2>/dev/null
start
expect "after kill -9: 1001" act "$(level_of 1001)"
expect "after kill -9: flag history rows" "$flags_before" "$(sql "SELECT count(*) FROM flag_history")"
expect "integrity_check" ok "$(sql "PRAGMA integrity_check")"
stop
exit $fail
