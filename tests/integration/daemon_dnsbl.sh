#!/bin/sh
# rangewatchd's DNSBL probe against a real rbldnsd, end to end: the daemon drops to nobody
# right after start (no capabilities left), checks its lists' test points, sweeps the
# provider space, and records listing events in its SQLite store (read here with Python's
# own sqlite3, an independent reader), asking each list only what its scope needs (counted
# in rbldnsd's query log); a delisting in the zone becomes a "delisted" event;
# after kill -9 and a restart no event is lost or repeated and the database passes
# PRAGMA integrity_check; a list whose resolver answers 127.255.255.254 is never used and
# never produces a listing; SIGTERM stops the daemon cleanly.
set -u
: "${RW_BIN:?RW_BIN must name the folder holding rangewatchd}"
PY=/usr/bin/python3
skip() { echo "skip: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (the daemon's privilege drop is part of the test)"
command -v rbldnsd >/dev/null || skip "rbldnsd not installed"
id nobody >/dev/null 2>&1 || skip "no user nobody"

tmp=$(mktemp -d)
chmod 755 "$tmp"
pids=""
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

mkdir -p "$tmp/zones" "$tmp/etc"
cat >"$tmp/zones/l1.zone" <<'EOF'
$SOA 0 ns.test. hostmaster.test. 1 1h 1h 1d 1s
:127.0.0.2:Listed $ on L1
127.0.0.2
192.0.2.10
192.0.2.11 :3:Other code for $
EOF
cat >"$tmp/zones/l2.zone" <<'EOF'
$SOA 0 ns.test. hostmaster.test. 1 1h 1h 1d 1s
:127.0.0.2:Net listed $
127.0.0.2/32
192.0.2.0/24 :2:Net 192.0.2.0/24 is UCEPROTECT-Level2 listed because 5 abusers are hosted by Example Net/AS64500 there.
EOF
cat >"$tmp/zones/blocked.zone" <<'EOF'
$SOA 0 ns.test. hostmaster.test. 1 1h 1h 1d 1s
:127.255.255.254:Query refused: public resolver
127.0.0.0/8
192.0.2.0/24
EOF
chown -R nobody "$tmp/zones"

port=$($PY -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# TTL 1 s so that re-checks are not deferred by the answers' TTL
: >"$tmp/queries.log"
chown nobody "$tmp/queries.log"
rbldnsd -n -u nobody -b "127.0.0.1/$port" -t 1:1:1 -c 1s -l "+$tmp/queries.log" \
    l1.test:ip4set:"$tmp/zones/l1.zone" \
    l2.test:ip4trie:"$tmp/zones/l2.zone" blocked.test:ip4set:"$tmp/zones/blocked.zone" \
    >"$tmp/rbldnsd.out" 2>&1 &
pids="$pids $!"
i=0
until grep -q started "$tmp/rbldnsd.out"; do
	i=$((i + 1)); [ $i -gt 50 ] && { echo "FAIL rbldnsd did not start"; cat "$tmp/rbldnsd.out"; exit 1; }
	sleep 0.1
done

printf '192.0.2.0/28 64500\n' >"$tmp/etc/prefixes.txt"
cat >"$tmp/etc/lists.conf" <<'EOF'
[list "l1"]
zone = l1.test
scope = ip
interval = 3s
fast_interval = 3s

[list "l2"]
zone = l2.test
scope = range
interval = 3s

[list "blocked"]
zone = blocked.test
scope = ip
interval = 3s
fast_interval = 3s
EOF
cat >"$tmp/etc/rangewatch.conf" <<EOF
[rangewatch]
prefixes = prefixes.txt
lists = lists.conf
nameserver = 127.0.0.1:$port
state_dir = $tmp/state
user = nobody
pidfile =
EOF

db=$tmp/state/rangewatch.db
sql() {	# sql QUERY -> rows, one per line, fields joined by |
	$PY - "$db" "$1" <<'PYEOF'
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=5)
for row in c.execute(sys.argv[2]):
    print("|".join(str(x) for x in row))
PYEOF
}
wait_for() {	# wait_for SECONDS QUERY WANTED
	n=0
	while [ $n -lt $(($1 * 5)) ]; do
		[ -f "$db" ] && [ "$(sql "$2" 2>/dev/null)" = "$3" ] && return 0
		sleep 0.2; n=$((n + 1))
	done
	return 1
}
start() {
	"$RW_BIN/rangewatchd" -f -c "$tmp/etc/rangewatch.conf" >>"$tmp/daemon.log" 2>&1 &
	dpid=$!
	pids="$pids $dpid"
}

t0=$(date +%s)
start
sleep 1
kill -0 "$dpid" 2>/dev/null || { echo "FAIL the daemon did not start:"; cat "$tmp/daemon.log"; exit 1; }
uid=$(awk '/^Uid:/ {print $2 "," $3 "," $4 "," $5}' "/proc/$dpid/status")
nobody=$(id -u nobody)
[ "$uid" = "$nobody,$nobody,$nobody,$nobody" ] && ok "runs as nobody (real, effective, saved, fs uid $nobody)" || bad "uids $uid"
capeff=$(awk '/^CapEff:/ {print $2}' "/proc/$dpid/status")
[ "$capeff" = 0000000000000000 ] && ok "no capabilities left (CapEff $capeff)" || bad "CapEff $capeff"

ev="SELECT event, list, key, codes FROM listing_event ORDER BY id"
if wait_for 20 "SELECT count(*) FROM listing_event WHERE event = 'listed'" 3; then
	ok "three listings recorded"
else
	bad "listings: $(sql "$ev" | tr '\n' ';')"
fi
got=$(sql "SELECT list, key, codes, txt FROM listing WHERE listed = 1 ORDER BY list, key" | tr '\n' ';')
want="l1|192.0.2.10|127.0.0.2|Listed 192.0.2.10 on L1;l1|192.0.2.11|127.0.0.3|Other code for 192.0.2.11;l2|192.0.2.0/24|127.0.0.2|Net 192.0.2.0/24 is UCEPROTECT-Level2 listed because 5 abusers are hosted by Example Net/AS64500 there.;"
[ "$got" = "$want" ] && ok "listed keys, codes and TXT: $got" || bad "listed keys: got '$got', want '$want'"
blocked=$(sql "SELECT count(*) FROM listing WHERE list = 'blocked'")
[ "$blocked" = 0 ] && ok "the blocked list produced no listing" || bad "blocked list rows: $blocked"
grep -q "list blocked (blocked.test) is blocked" "$tmp/daemon.log" && ok "the daemon says the list is blocked" ||
    bad "no word of the blocked list in: $(cat "$tmp/daemon.log")"

# query economy, read from rbldnsd's own log: the range-scope list is asked about one name
# (the range's representative) however many IPs the range holds, the ip-scope list about
# each of the 16 IPs, and the blocked list about its test points only
names() {	# names ZONE -> distinct query names in ZONE, test points left out
	grep -E " [0-9.]+\.$1 A " "$tmp/queries.log" | awk '{print $3}' | grep -v '\.0\.0\.127\.' | sort -u
}
[ "$(names l2.test | tr '\n' ' ')" = "1.2.0.192.l2.test " ] && ok "l2 (range scope): one name, 192.0.2.1, for the whole range" ||
    bad "l2 names: $(names l2.test | tr '\n' ' ')"
# the first cycle may have started mid-way (cycles follow the clock): give it one more
n=0
while [ "$(names l1.test | wc -l)" -lt 16 ] && [ $n -lt 50 ]; do sleep 0.2; n=$((n + 1)); done
n1=$(names l1.test | wc -l)
[ "$n1" = 16 ] && ok "l1 (ip scope): each of the 16 IPs asked" || bad "l1 asked about $n1 names"
nb=$(names blocked.test | wc -l)
[ "$nb" = 0 ] && ok "blocked list: nothing asked but its test points" || bad "blocked list asked about $nb names"
# at most one query per 3-second cycle for the range, 16 for the IPs (+1 cycle begun)
cycles=$(( ($(date +%s) - t0) / 3 + 2 ))
asked() {	# asked ZONE -> A queries about provider IPs (test points left out)
	grep -E " [0-9.]+\.$1 A " "$tmp/queries.log" | grep -cv '\.0\.0\.127\.'
}
c1=$(asked l1.test); c2=$(asked l2.test)
[ "$c2" -le "$cycles" ] && [ "$c1" -le $((16 * cycles)) ] &&
    ok "in at most $cycles cycles: l2 asked $c2 times (one per cycle), l1 $c1 (16 per cycle)" ||
    bad "l2 asked $c2 times, l1 $c1, in at most $cycles cycles"

# 192.0.2.10 leaves the list (an atomic replace, as rbldnsd wants)
grep -v '^192.0.2.10$' "$tmp/zones/l1.zone" >"$tmp/zones/l1.new" && chown nobody "$tmp/zones/l1.new" &&
    mv "$tmp/zones/l1.new" "$tmp/zones/l1.zone"
if wait_for 20 "SELECT count(*) FROM listing_event WHERE event = 'delisted' AND key = '192.0.2.10'" 1; then
	ok "delisting recorded as an event"
else
	bad "no delisting: $(sql "$ev" | tr '\n' ';')"
fi

# kill -9, restart: nothing lost, nothing repeated
before=$(sql "$ev" | tr '\n' ';')
kill -9 "$dpid"; wait "$dpid" 2>/dev/null
start
sleep 8	# a few sweep cycles after the restart
after=$(sql "$ev" | tr '\n' ';')
[ "$before" = "$after" ] && ok "after kill -9 and restart, the same $(echo "$after" | tr ';' '\n' | grep -c .) events and no new ones" ||
    bad "events changed across the restart: before '$before', after '$after'"
ic=$(sql "PRAGMA integrity_check")
[ "$ic" = ok ] && ok "integrity_check: ok" || bad "integrity_check: $ic"
# and it is still watching: 192.0.2.10 comes back
printf '192.0.2.10\n' >>"$tmp/zones/l1.zone"
if wait_for 20 "SELECT count(*) FROM listing_event WHERE event = 'listed' AND key = '192.0.2.10'" 2; then
	ok "listed again after the restart"
else
	bad "no new listing after the restart: $(sql "$ev" | tr '\n' ';')"
fi

kill -TERM "$dpid"
n=0
while kill -0 "$dpid" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
if kill -0 "$dpid" 2>/dev/null; then bad "SIGTERM did not stop the daemon"
else wait "$dpid"; rc=$?; [ $rc = 0 ] && ok "SIGTERM: clean exit" || bad "SIGTERM: exit $rc"; fi
[ $fail = 0 ] || { echo "--- daemon log:"; cat "$tmp/daemon.log"; }
exit $fail
