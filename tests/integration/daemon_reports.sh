#!/bin/sh
# SNDS data and complaint reports through the real daemon (issue 18). Sample files are written
# by reports/gen_samples.py from the published formats: a week of SNDS rows in which one IP's
# trap hits rise (0,0,1,2,4,9,14) and its filter goes GREEN -> YELLOW -> RED, an innocent IP
# GREEN; ARF, X-ARF (mail and JSON) and JMRP reports; malformed variants. Checked:
# - [snds] file: 14 rows read; the spammer's customer at act with "SNDS: 14 trap hits on"
#   in its evidence (uceprotect-2 feeds on snds-traps: 0.5 x 30 hits over a /24's 4), the
#   innocent never flagged above watch;
# - a file whose column count changed: refused whole, counted in status (errors, bad_rows),
#   logged with the row number, the previous data kept (still act);
# - bad rows: logged with their row numbers, counted, the good rows taken;
# - fetched over HTTP from a python http.server on loopback with a key file: the key sent as
#   ?key=, the IP-status list's blocked IP listed on `snds`; a 404 counted, data kept;
# - `rangewatch report`: 6 reports about the spammer and 1 about the innocent stored (table
#   complaint), the evidence saying so, the innocent still not above watch (complaints are
#   weak); malformed reports refused with exit 1; and the complaints survive a restart.
. "$(dirname "$0")/dnsbl/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (the daemon drops to nobody)"
id nobody >/dev/null 2>&1 || skip "no user nobody"
mkdir -p "$tmp/etc" "$tmp/s" "$tmp/www" "$tmp/run"
now=$(date +%s)
$PY "$(dirname "$0")/reports/gen_samples.py" "$tmp/s" 203.0.113.7 203.0.113.20 "$now" >/dev/null ||
    { echo "FAIL gen_samples"; exit 1; }
printf '203.0.113.0/24 64500\n198.51.100.0/24 64500\n' >"$tmp/etc/prefixes.txt"
cat >"$tmp/etc/customers.csv" <<'CSV'
id,name,cidrs,contact,tags
1001,Acme VPS,203.0.113.7,abuse@acme.example,
1002,Innocent Bakery,203.0.113.20,bakery@example.org,
CSV
cp "$tmp/s/snds.csv" "$tmp/etc/snds.csv"
printf 'sekret-key/+&=\n' >"$tmp/etc/snds.key"
conf() {
	cat <<CONF
[rangewatch]
prefixes = prefixes.txt
customers = customers.csv
state_dir = $tmp/state
socket = $tmp/run/rw.sock
pidfile = $tmp/run/rangewatchd.pid
user = nobody
[policy "uceprotect-2"]
feeds = uceprotect-1 snds-traps
[snds]
interval = 1s
timeout = 5s
$1
CONF
}
conf "file = snds.csv" >"$tmp/etc/rangewatch.conf"
chmod -R a+rX "$tmp"
. "$(dirname "$0")/daemon/helpers.sh"
start() {
	"$RW_BIN/rangewatchd" -f -c "$tmp/etc/rangewatch.conf" >>"$tmp/daemon.log" 2>&1 &
	dpid=$!
	pids="$pids $dpid"
	poll 20 "$RW" ping -s "$tmp/run/rw.sock" >/dev/null 2>&1 ||
	    { echo "FAIL the daemon does not answer:"; cat "$tmp/daemon.log"; exit 1; }
}
st() { rwc status --json | js "d.get('snds', {}).get('$1')"; }
ev() { rwc customers "$1" --json | js "' | '.join(d['customer']['evidence'] if 'customer' in d else d.get('evidence', []))"; }
lev() { rwc customers --all --json | js "[c['level'] for c in d['customers'] if c['id'] == '$1'] or ['none']" | tr -d "[]'"; }

start
rows_is() { [ "$(st rows)" = "$1" ]; }
poll 20 rows_is 14 && ok "SNDS file: 14 rows read" || bad "rows: $(st rows); $(tail -5 "$tmp/daemon.log")"
is_act() { [ "$(lev 1001)" = act ]; }
poll 20 is_act && ok "1001 at act on SNDS trap hits" || bad "1001 at $(lev 1001)"
e=$(ev 1001)
case $e in *"SNDS: 14 trap hits on"*"filter RED"*) ok "evidence: SNDS: 14 trap hits ..., filter RED";; *) bad "evidence: $e";; esac
l2=$(lev 1002)
case $l2 in none|watch) ok "innocent 1002 at $l2";; *) bad "innocent 1002 at $l2";; esac
expect "bad rows so far" 0 "$(st bad_rows)"

# a changed column count: refused whole, the previous data kept
cp "$tmp/s/snds_changed.csv" "$tmp/etc/snds.csv.new" && mv "$tmp/etc/snds.csv.new" "$tmp/etc/snds.csv"
chmod a+r "$tmp/etc/snds.csv"
errs_ge1() { [ "$(st errors)" -ge 1 ]; }
poll 20 errs_ge1 && ok "changed column count: counted (errors $(st errors), bad rows $(st bad_rows))" || bad "errors: $(st errors)"
grep -q "snds: data row 1: 15 columns, expected 11 or 14" "$tmp/daemon.log" && ok "logged with the row number" ||
    bad "log: $(grep snds "$tmp/daemon.log" | tail -3)"
expect "rows held (previous data kept)" 14 "$(st held)"
expect "1001 still at act" act "$(lev 1001)"

# bad rows among good ones
cp "$tmp/s/snds_bad.csv" "$tmp/etc/snds.csv.new" && mv "$tmp/etc/snds.csv.new" "$tmp/etc/snds.csv"
chmod a+r "$tmp/etc/snds.csv"
bad3() { grep -q "snds: data row 4: bad activity start" "$tmp/daemon.log"; }
poll 20 bad3 && ok "bad rows logged with their row numbers (3 and 4)" || bad "log: $(grep snds "$tmp/daemon.log" | tail -3)"
grep -q "snds: data row 3: 3 columns" "$tmp/daemon.log" && ok "row 3: its column count" || bad "no row 3 line"

# fetched over HTTP with the key
cp "$tmp/s/snds.csv" "$tmp/www/data.aspx"
cp "$tmp/s/status.csv" "$tmp/www/ipStatus.aspx"
hport=$(free_port)
(cd "$tmp/www" && exec $PY -m http.server --bind 127.0.0.1 "$hport") >"$tmp/http.log" 2>&1 &
pids="$pids $!"
sleep 1
reads0=$(st reads)
conf "key_file = snds.key
data_url = http://127.0.0.1:$hport/data.aspx
status_url = http://127.0.0.1:$hport/ipStatus.aspx" >"$tmp/etc/rangewatch.conf"
chmod a+r "$tmp/etc/rangewatch.conf" "$tmp/etc/snds.key"
kill -HUP "$dpid"
blocked1() { [ "$(st blocked)" = 1 ]; }
poll 20 blocked1 && ok "IP status fetched over HTTP: 1 address blocked" || bad "blocked: $(st blocked); $(st last_error)"
grep -q 'GET /data.aspx?key=sekret-key%2F%2B%26%3D ' "$tmp/http.log" && ok "the key sent URL-escaped as ?key=" ||
    bad "http log: $(tail -3 "$tmp/http.log")"
listed=$(rwc listings --list snds --json | js "[l['key'] for l in d['listings']]")
expect "listed on snds" "['203.0.113.7']" "$listed"
[ "$(st reads)" -gt "$reads0" ] && ok "data fetched: reads $(st reads)" || bad "reads $(st reads)"
grep -q "sekret" "$tmp/daemon.log" && bad "the key is in the log" || ok "the key is never logged"
# an HTTP error: counted, data kept
e0=$(st errors)
rm "$tmp/www/data.aspx"
more_errs() { [ "$(st errors)" -gt "$e0" ]; }
poll 20 more_errs && ok "HTTP 404 counted: $(st last_error)" || bad "errors $(st errors)"
expect "rows still held" 14 "$(st held)"

# complaint reports
out=$(rwc report "$tmp/s/arf0.eml" "$tmp/s/arf1.eml" "$tmp/s/arf2.eml" "$tmp/s/xarf.eml" "$tmp/s/xarf.json" \
    "$tmp/s/jmrp.eml" "$tmp/s/arf_other.eml" 2>&1); rc=$?
expect "report of 7 good files: exit" 0 "$rc"
echo "$out" | grep -q "jmrp.eml: jmrp abuse from 203.0.113.7 .*customer 1001 Acme VPS, 6 complaint" &&
    ok "JMRP resolved to 1001 (its 6th complaint)" || bad "report said: $out"
expect "complaints stored for 1001" 6 "$(sql "SELECT count(*) FROM complaint WHERE customer = '1001'")"
expect "kinds" "arf:3 jmrp:1 xarf:2" "$(sql "SELECT kind || ':' || count(*) FROM complaint WHERE customer = '1001' GROUP BY kind ORDER BY kind" | tr '\n' ' ' | sed 's/ $//')"
has_c() { case $(ev 1001) in *"6 complaints (feedback or abuse reports) in the last 24 h"*) return 0;; esac; return 1; }
poll 10 has_c && ok "evidence counts 6 complaints" || bad "evidence: $(ev 1001)"
addr=$(rwc customers 1001 --json | js "[(a['ip'], a['complaints'], a['snds_trap_hits'] >= 14) for a in d.get('customer', d)['addresses']]")
expect "customers 1001 --json: the address's complaints and SNDS trap hits (>= 14)" "[('203.0.113.7', 6, True)]" "$addr"
expect "customers 1001 --json: the customer's complaints" 6 "$(rwc customers 1001 --json | js "d.get('customer', d)['complaints']")"
sleep 2
l2=$(lev 1002)
case $l2 in none|watch) ok "innocent with one complaint at $l2 (weak evidence)";; *) bad "innocent at $l2";; esac
rwc report "$tmp/s/bad_noip.eml" "$tmp/s/bad_plain.eml" "$tmp/s/bad_json.json" "$tmp/s/bad_jmrp.eml" 2>"$tmp/bad.txt"; rc=$?
expect "malformed reports: exit" 1 "$rc"
expect "malformed reports: one refusal each" 4 "$(grep -c 'rangewatch report: ' "$tmp/bad.txt")"
expect "nothing stored from them" 7 "$(sql "SELECT count(*) FROM complaint")"
# not an operator (nobody can reach the socket through its group, and may read, not act)
if command -v runuser >/dev/null 2>&1; then
	runuser -u nobody -- "$RW" report -s "$tmp/run/rw.sock" "$tmp/s/arf0.eml" 2>"$tmp/deny.txt"; rc=$?
	if grep -q "permission denied" "$tmp/deny.txt"; then
		ok "a non-operator's report is refused (exit $rc): $(head -c 90 "$tmp/deny.txt")"
	elif grep -q "Permission denied\|cannot connect\|connect" "$tmp/deny.txt"; then
		ok "a non-operator cannot reach the socket at all (exit $rc)"
	else
		bad "nobody's report: exit $rc, $(cat "$tmp/deny.txt")"
	fi
	expect "nothing stored from it" 7 "$(sql "SELECT count(*) FROM complaint")"
fi
r=$(raw '{"v":1,"cmd":"complaint","ip":"203.0.113.7","kind":"bogus"}')
case $r in *'"ok":false'*kind*) ok "a bad kind refused by the daemon";; *) bad "reply: $r";; esac

# a restart: the complaints come back from the store
kill -TERM "$dpid"; wait "$dpid"
start
poll 20 has_c && ok "after a restart the 6 complaints are evidence again" || bad "evidence: $(ev 1001)"
kill -TERM "$dpid"; wait "$dpid" && ok "SIGTERM: clean exit" || bad "exit"
exit $fail
