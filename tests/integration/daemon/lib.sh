# lib.sh — shared by the daemon tests on the replayed story (sourced after dnsbl/lib.sh, never
# run): rbldnsd with UCEPROTECT-like L1 (ip) and L2 (range) zones, the story capture
# (tests/gen_story.py: six quiet days, then customer 1001 spams for three hours, ending two
# minutes ago), prefixes, customers, lists, and a config writer (conf; EXTRA_CONF adds
# sections); daemon/helpers.sh's helpers (sql, rwc, raw, js, poll, level_of); run the daemon
# (start, stop).
# shellcheck shell=sh
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
; the shipped patterns (etc/dnsbl.conf): the story's replies name the real zone
cite = dnsbl-1.uceprotect, uceprotect-level1, uceprotect-level 1, uceprotect level 1
cite = ~uceprotect
scope = ip
expiry = 7d
interval = 2s
fast_interval = 2s

[list "uceprotect-2"]
zone = l2.test
cite = dnsbl-2.uceprotect, uceprotect-level2, uceprotect-level 2, uceprotect level 2
scope = range
expiry = 7d
interval = 2s
EOF
# the hooks' user: not the daemon's (nobody), which rangewatchd refuses
HOOK_USER=daemon
id "$HOOK_USER" >/dev/null 2>&1 || skip "no user $HOOK_USER (the hooks' user)"

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
${EXTRA_CONF:-}
EOF
}
chmod -R a+rX "$tmp"

. "$(dirname "$0")/daemon/helpers.sh"
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
is_act() { [ "$(level_of 1001)" = act ]; }

