#!/bin/sh
# The pidfile is written as root before the privilege drop, so what sits at its path must not
# turn that write elsewhere. Starts rangewatchd (user nobody, no capture) four times:
#  - the pidfile path is a symbolic link to a file of root's: not followed (the file keeps
#    its bytes), the log says why, the link is left as it was;
#  - it is a second hard link of such a file: left alone, the log says why;
#  - its folder is nobody's (writable by the daemon's user): a warning that names the user,
#    the pidfile still written;
#  - its folder is root's 0755: no pidfile message, the pidfile holds the daemon's pid.
set -u
: "${RW_BIN:?RW_BIN must name the folder holding rangewatchd}"
skip() { echo "skip: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (the pidfile is written before the privilege drop)"
id nobody >/dev/null 2>&1 || skip "no user nobody"
[ -x "$RW_BIN/rangewatchd" ] || { echo "FAIL: $RW_BIN/rangewatchd missing"; exit 1; }

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
chmod -R a+rX "$tmp/etc"

# run DIR: starts the daemon with its pidfile in DIR, waits until it answers, stops it
run() {
	cat >"$tmp/etc/rangewatch.conf" <<EOF
[rangewatch]
prefixes = prefixes.txt
customers = customers.csv
state_dir = $tmp/state
socket = $tmp/sock/rw.sock
pidfile = $1/rangewatchd.pid
user = nobody
EOF
	: >"$tmp/log"
	"$RW_BIN/rangewatchd" -f -c "$tmp/etc/rangewatch.conf" >"$tmp/log" 2>&1 &
	dpid=$!
	n=0
	until grep -q "started:" "$tmp/log" || [ $n -ge 40 ]; do sleep 0.25; n=$((n + 1)); done
	grep -q "started:" "$tmp/log" || { bad "the daemon did not start: $(cat "$tmp/log")"; }
	running_pid=$dpid
	[ $# -gt 1 ] && "$2"
	kill -TERM "$dpid"; wait "$dpid"; dpid=
}

echo "=== a symbolic link at the pidfile's path"
mkdir -m 755 "$tmp/run1"
printf 'root secret\n' >"$tmp/target"
ln -s "$tmp/target" "$tmp/run1/rangewatchd.pid"
run "$tmp/run1"
[ "$(cat "$tmp/target")" = "root secret" ] && ok "the link's target is untouched" || bad "the target now holds: $(cat "$tmp/target")"
[ -L "$tmp/run1/rangewatchd.pid" ] && ok "the link is still there" || bad "the link is gone"
grep -q "pidfile $tmp/run1/rangewatchd.pid is a symbolic link: not followed" "$tmp/log" &&
    ok "the daemon says why: $(grep 'symbolic link' "$tmp/log")" || bad "no reason in the log: $(cat "$tmp/log")"

echo "=== a second hard link of root's file at the pidfile's path"
mkdir -m 755 "$tmp/run2"
ln "$tmp/target" "$tmp/run2/rangewatchd.pid"
run "$tmp/run2"
[ "$(cat "$tmp/target")" = "root secret" ] && ok "the linked file is untouched" || bad "the linked file now holds: $(cat "$tmp/target")"
grep -q "pidfile $tmp/run2/rangewatchd.pid is not a regular file of one link" "$tmp/log" &&
    ok "the daemon says why: $(grep 'one link' "$tmp/log")" || bad "no reason in the log: $(cat "$tmp/log")"

echo "=== the pidfile's folder writable by the daemon's user"
mkdir -m 750 "$tmp/run3"
chown nobody "$tmp/run3"
check_pid() { [ "$(cat "$pf" 2>/dev/null)" = "$running_pid" ] && ok "the pidfile holds the daemon's pid" || bad "pidfile: '$(cat "$pf" 2>/dev/null)', pid $running_pid"; }
pf=$tmp/run3/rangewatchd.pid
run "$tmp/run3" check_pid
grep -q "pidfile $pf: its folder is writable by user nobody" "$tmp/log" &&
    ok "warned: $(grep 'writable by user' "$tmp/log")" || bad "no warning: $(cat "$tmp/log")"

echo "=== the pidfile's folder root's"
mkdir -m 755 "$tmp/run4"
pf=$tmp/run4/rangewatchd.pid
run "$tmp/run4" check_pid
grep -q "pidfile" "$tmp/log" && bad "a pidfile message: $(grep pidfile "$tmp/log")" || ok "no pidfile message"

[ $fail = 0 ] && echo "PASS: the pidfile follows no link and says why" && exit 0
exit 1
