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
. "$(dirname "$0")/daemon/lib.sh"
conf "replay = $tmp/story.pcap
replay_speed = 0" >"$tmp/etc/rangewatch.conf"

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
# 1001 acts as soon as its own IP is listed (or reported) and the /24's threshold is near at
# its pace; the sweep finds the other three listed IPs of the /24 a little later
four() { [ "$(rwc ranges --json | js 'sum(n["impacts"] for n in d["neighbourhoods"] if n["key"]=="203.0.113.0/24" and n["policy"]=="uceprotect-2")')" = 4 ]; }
poll 60 four || bad "the /24 never reached 4 impacts"
cj=$(rwc customers --json)
expect "1001's /24 impacts/threshold" "4/4" "$(echo "$cj" | js '"%d/%d" % [(n["impacts"], n["threshold"]) for n in d["customers"][0]["neighbourhoods"] if n["key"] == "203.0.113.0/24"][0]')"
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
