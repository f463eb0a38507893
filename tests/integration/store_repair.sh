#!/bin/sh
# A corrupt store must not leave the daemon in a crash loop without a way out. Starts
# rangewatchd once (no capture) to make its store, stops it, overwrites the store's last
# two pages, then checks:
#  - the next start fails, and its log names the file, says it is corrupt and gives the
#    exact repair command (rangewatchd --repair -c CONFIG);
#  - `rangewatchd --repair -c CONFIG` exits 0, says what it did, and keeps the damaged file
#    as rangewatch.db.corrupt-TIME (as root: the fresh store is the daemon user's);
#  - the daemon then starts and answers; a second --repair finds the store healthy.
set -u
: "${RW_BIN:?RW_BIN must name the folder holding rangewatchd}"
skip() { echo "skip: $*"; exit 77; }
[ -x "$RW_BIN/rangewatchd" ] || { echo "FAIL: $RW_BIN/rangewatchd missing"; exit 1; }
user=$(id -un)
if [ "$(id -u)" = 0 ]; then
	id nobody >/dev/null 2>&1 || skip "no user nobody"
	user=nobody
fi

tmp=$(mktemp -d)
dpid=
trap '[ -n "$dpid" ] && kill "$dpid" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

chmod 755 "$tmp"
mkdir -p "$tmp/etc"
printf '203.0.113.0/24 64500\n' >"$tmp/etc/prefixes.txt"
printf 'id,name,cidrs,contact,tags\n1,A,203.0.113.7,,\n' >"$tmp/etc/customers.csv"
conf=$tmp/etc/rangewatch.conf
cat >"$conf" <<EOF
[rangewatch]
prefixes = prefixes.txt
customers = customers.csv
state_dir = $tmp/state
socket = $tmp/sock/rw.sock
user = $user
EOF
chmod -R a+rX "$tmp/etc"
db=$tmp/state/rangewatch.db

# start: runs the daemon in the foreground; 0 once it says "started:", 1 when it exits
start() {
	: >"$tmp/log"
	"$RW_BIN/rangewatchd" -f -c "$conf" >"$tmp/log" 2>&1 &
	dpid=$!
	n=0
	while [ $n -lt 60 ]; do
		grep -q "started:" "$tmp/log" && return 0
		kill -0 "$dpid" 2>/dev/null || { wait "$dpid"; dpid=; return 1; }
		sleep 0.25; n=$((n + 1))
	done
	return 1
}
stop() { [ -n "$dpid" ] && kill -TERM "$dpid" && wait "$dpid"; dpid=; }

echo "=== a healthy store first"
start && ok "the daemon starts and makes its store" || bad "no start: $(cat "$tmp/log")"
stop
[ -f "$db" ] || { bad "no store at $db"; exit 1; }

echo "=== its last two pages overwritten"
size=$(stat -c %s "$db")
[ "$size" -ge 16384 ] || bad "the store is only $size bytes"
head -c 8192 /dev/zero | tr '\0' 'Z' | dd of="$db" bs=4096 seek=$((size / 4096 - 2)) conv=notrunc 2>/dev/null
if start; then
	bad "the daemon started on a corrupt store"
	stop
else
	ok "the daemon refuses to start"
fi
grep -q "$db: database is corrupt" "$tmp/log" && ok "the log names the file: $(grep -m1 corrupt "$tmp/log" | cut -c1-160)..." ||
    bad "no corrupt message naming $db: $(cat "$tmp/log")"
grep -q "rangewatchd --repair -c $conf" "$tmp/log" && ok "and gives the command: $(grep -m1 'to repair it' "$tmp/log")" ||
    bad "no repair command in the log: $(cat "$tmp/log")"
grep -q "\.recover" "$tmp/log" && ok "and the sqlite3 .recover way" || bad "no .recover in the log"

echo "=== rangewatchd --repair"
"$RW_BIN/rangewatchd" --repair -c "$conf" >"$tmp/repair" 2>&1
rc=$?
[ $rc = 0 ] && ok "exit 0: $(grep '^repair:' "$tmp/repair")" || bad "exit $rc: $(cat "$tmp/repair")"
kept=$(ls "$tmp/state"/rangewatch.db.corrupt-* 2>/dev/null | grep -v -- '-wal$\|-shm$' | head -n 1)
[ -n "$kept" ] && [ "$(stat -c %s "$kept")" = "$size" ] && ok "the damaged file is kept: $(basename "$kept")" ||
    bad "no kept copy of $size bytes: $(ls -l "$tmp/state")"
grep -q "moved to $kept" "$tmp/repair" && ok "the report names the kept copy" || bad "the report does not name $kept"
[ "$(stat -c %U "$db")" = "$user" ] && ok "the fresh store is $user's" || bad "the fresh store is $(stat -c %U "$db")'s"

echo "=== the daemon starts again"
if start; then
	ok "started after the repair"
	if [ -x "$RW_BIN/rangewatch" ]; then
		"$RW_BIN/rangewatch" status -s "$tmp/sock/rw.sock" >/dev/null 2>&1 && ok "and answers" ||
		    bad "no answer: $("$RW_BIN/rangewatch" status -s "$tmp/sock/rw.sock" 2>&1)"
	fi
	stop
else
	bad "no start after the repair: $(cat "$tmp/log")"
fi
"$RW_BIN/rangewatchd" --repair -c "$conf" >"$tmp/repair" 2>&1 && grep -q healthy "$tmp/repair" &&
    ok "a second repair: $(grep '^repair:' "$tmp/repair")" || bad "second repair: $(cat "$tmp/repair")"

[ $fail = 0 ] && echo "PASS: a corrupt store is refused with the way out, --repair keeps it and lets the daemon start" && exit 0
exit 1
