#!/bin/sh
# Privilege separation of rangewatchd, proven on the running processes and with real users.
# The test makes throwaway accounts (removed on exit, also on failure; runs are serialised
# with a lock so two worktrees cannot delete each other's): rwtest-reader in group
# rwtest-sock, rwtest-op in rwtest-sock and rwtest-noc, rwtest-outsider in neither; the
# config says socket_group = rwtest-sock and operators = @rwtest-noc. Asserts:
#  - after start-up the daemon holds only its user's ids (real, effective, saved and fs uid
#    and gid, one group: the user's primary) and no capability (CapEff, CapPrm, CapInh,
#    CapAmb all 0); the hook runner keeps root (rangewatchd(8): only to switch to the hook's user
#    and to signal hooks), in its own session, SIGHUP/SIGINT ignored, holding neither the
#    control socket nor the store; a hook runs as [hook] user with no capability;
#  - the socket is 0660, group rwtest-sock; the outsider's connect() fails with EACCES;
#  - the reader runs status and customers; its suspend, resume and ack are refused with
#    "permission denied" and leave the audit table as it was;
#  - the operator's suspend runs (the hook sees RANGEWATCH_OPERATOR=rwtest-op) and its
#    audit row names uid and user rwtest-op;
#  - operators = rwtest-reader (a uid list) applied by SIGHUP: the reader may act now, the
#    operator, whose group is no longer listed, may not;
#  - started under the systemd unit's bounding set (setpriv), the daemon still ends with no
#    capability and the runner holds exactly that set, without CAP_KILL.
. "$(dirname "$0")/dnsbl/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (creates users, the daemon drops privileges)"
for t in useradd userdel groupadd groupdel setpriv flock; do
	command -v "$t" >/dev/null || skip "$t not installed"
done
. "$(dirname "$0")/daemon/lib.sh"

USERS="rwtest-reader rwtest-op rwtest-outsider"
GROUPS_="rwtest-sock rwtest-noc"
# shellcheck disable=SC2317  # called by the EXIT trap
drop_users() {
	for u in $USERS; do id "$u" >/dev/null 2>&1 && userdel "$u" >/dev/null 2>&1; done
	for g in $USERS $GROUPS_; do getent group "$g" >/dev/null && groupdel "$g" >/dev/null 2>&1; done
	return 0
}
# the daemon must be gone before its users are (cleanup kills $pids)
trap 'cleanup; drop_users' EXIT
exec 9>/run/rangewatch-test-users.lock
flock -w 120 9 || { echo "FAIL another run holds /run/rangewatch-test-users.lock"; exit 1; }
drop_users	# leftovers of a run killed outright
groupadd --system rwtest-sock && groupadd --system rwtest-noc &&
useradd --system --no-create-home --shell /usr/sbin/nologin --user-group -G rwtest-sock rwtest-reader &&
useradd --system --no-create-home --shell /usr/sbin/nologin --user-group -G rwtest-sock,rwtest-noc rwtest-op &&
useradd --system --no-create-home --shell /usr/sbin/nologin --user-group rwtest-outsider ||
    { echo "FAIL cannot create the test users"; exit 1; }
ok "users: $(id rwtest-reader); $(id rwtest-op); $(id rwtest-outsider)"
# as USER COMMAND... -> COMMAND with the user's uid, primary group and groups
as() { u=$1; shift; setpriv --reuid="$u" --regid="$u" --init-groups "$@"; }

# the hook: root's, records who it runs as (uid, groups, capabilities) where its user
# ($HOOK_USER: not the daemon's nobody) writes
mkdir -p "$tmp/hookbin" "$tmp/hook"
chown "$HOOK_USER" "$tmp/hook"
cat >"$tmp/hookbin/hook.sh" <<EOF
#!/bin/sh
cat >/dev/null
printf '%s %s|uid=%s|gid=%s|groups=%s|op=%s|%s\n' "\$1" "\$2" "\$(id -u)" "\$(id -g)" \\
    "\$(id -G)" "\${RANGEWATCH_OPERATOR:-}" \\
    "\$(awk '/^Cap(Eff|Prm)/ {printf "%s%s ", \$1, \$2}' /proc/self/status)" >>"$tmp/hook/calls.log"
echo "hook ran"
EOF
chmod 755 "$tmp/hookbin" "$tmp/hookbin/hook.sh"

sock=$tmp/run/rw.sock
# the socket's folder as systemd's RuntimeDirectoryMode=0755 makes it: passable, so that
# only the socket's own mode decides who connects
mkdir -m 755 "$tmp/run"
write_conf() {	# write_conf OPERATORS
	EXTRA_CONF="socket_mode = 0660
socket_group = rwtest-sock
operators = $1
[hook]
path = $tmp/hookbin/hook.sh
user = $HOOK_USER
timeout = 10"
	conf "" >"$tmp/etc/rangewatch.conf.new" && mv "$tmp/etc/rangewatch.conf.new" "$tmp/etc/rangewatch.conf"
}
write_conf @rwtest-noc
nb_uid=$(id -u nobody); nb_gid=$(id -g nobody)
hk_uid=$(id -u "$HOOK_USER"); hk_gid=$(id -g "$HOOK_USER")
field() { awk -v k="$2:" '$1 == k {$1 = ""; sub(/^ /, ""); print}' "/proc/$1/status"; }	# fields joined by one space
runner_of() { pgrep -x -P "$1" rangewatch-hook | head -1; }
audit_rows() { sql "SELECT count(*) FROM audit"; }

# --- 1. started as root with every capability, as the other daemon tests do
start
expect "daemon uids (real effective saved fs)" "$nb_uid $nb_uid $nb_uid $nb_uid" "$(field "$dpid" Uid)"
expect "daemon gids (real effective saved fs)" "$nb_gid $nb_gid $nb_gid $nb_gid" "$(field "$dpid" Gid)"
expect "daemon supplementary groups: the user's primary only" "$nb_gid" "$(field "$dpid" Groups)"
for c in CapEff CapPrm CapInh CapAmb; do
	expect "daemon $c" 0000000000000000 "$(field "$dpid" "$c")"
done
runner=$(runner_of "$dpid")
if [ -z "$runner" ]; then
	bad "no hook runner (rangewatch-hook) under the daemon"
else
	expect "runner uids: root (it switches to the hook's user)" "0 0 0 0" "$(field "$runner" Uid)"
	sid=$(awk '{print $6}' "/proc/$runner/stat")
	expect "runner leads its own session" "$runner" "$sid"
	ign=$(field "$runner" SigIgn)
	[ $(( 0x$ign & 3 )) = 3 ] && ok "runner ignores SIGHUP and SIGINT (SigIgn $ign)" ||
	    bad "runner SigIgn $ign"
	echo "     runner CapEff $(field "$runner" CapEff) (root's: whatever the start had)"
	# the listening control socket's inode, from the kernel's table
	lino=$(awk -v p="$sock" '$NF == p {print $7}' /proc/net/unix | head -1)
	fds=$(ls -l "/proc/$runner/fd" | awk 'NR > 1 {print $NF}' | tr '\n' ' ')
	echo "     runner descriptors: $fds"
	case " $fds " in
	*"socket:[$lino]"*|*rangewatch.db*) bad "runner holds the control socket or the store: $fds";;
	*) ok "runner holds neither the control socket (inode $lino) nor the store";;
	esac
	nsock=$(echo "$fds" | tr ' ' '\n' | grep -c '^socket:')
	expect "runner sockets: only the one to the daemon" 1 "$nsock"
fi

expect "socket mode, owner, group" "660 root rwtest-sock" "$(stat -c '%a %U %G' "$sock")"
as rwtest-outsider test -e "$sock" && ok "the outsider can reach the socket's path (the folder is 0755)" ||
    bad "the outsider cannot even see $sock"
r=$(as rwtest-outsider $PY -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1]); print("connected")
except OSError as e:
    print(e.errno)' "$sock")
expect "outsider connect() errno (13 = EACCES)" 13 "$r"
out=$(as rwtest-outsider "$RW" status -s "$sock" 2>&1); rc=$?
expect "outsider's rangewatch status exits" 1 "$rc"
echo "     outsider sees: $out"

# the reader: reads yes, acts no
for v in status customers; do
	out=$(as rwtest-reader "$RW" "$v" -s "$sock" 2>&1); rc=$?
	[ $rc = 0 ] && ok "reader: rangewatch $v: exit 0" || bad "reader: rangewatch $v: exit $rc: $out"
done
cust=$(as rwtest-reader "$RW" customers --all --json -s "$sock" | js 'len(d["customers"])')
expect "reader sees the customers" 3 "$cust"
before=$(audit_rows)
for a in suspend resume ack; do
	out=$(as rwtest-reader "$RW" "$a" 1002 --reason "reader tries $a" -s "$sock" 2>&1); rc=$?
	expect "reader: $a exits" 1 "$rc"
	case $out in *"permission denied"*"may not run '$a'"*) ok "reader: $a refused: $out";;
	*) bad "reader: $a: no clear refusal: $out";; esac
done
expect "audit rows after the reader's attempts" "$before" "$(audit_rows)"
expect "audit rows naming the reader" 0 "$(sql "SELECT count(*) FROM audit WHERE actor LIKE '%rwtest-reader%'")"
grep -q "refused 'suspend': not an operator" "$tmp/daemon.log" && ok "the daemon logs the refusal" ||
    bad "no refusal in the log"

# the operator (through the group @rwtest-noc)
op_uid=$(id -u rwtest-op)
out=$(as rwtest-op "$RW" suspend 1002 --reason "op suspends" -s "$sock" 2>&1) &&
    ok "operator: suspend: $out" || bad "operator: suspend refused: $out"
expect "audit row of the operator" "uid $op_uid (rwtest-op)|suspend|1002|op suspends" \
    "$(sql "SELECT actor, action, customer, reason FROM audit ORDER BY id DESC LIMIT 1")"
hook_done() { grep -q "^suspend 1002|" "$tmp/hook/calls.log" 2>/dev/null; }
poll 20 hook_done && ok "the hook ran for the operator's suspend" || bad "no hook call"
line=$(grep "^suspend 1002|" "$tmp/hook/calls.log" | head -1)
echo "     hook: $line"
for w in "uid=$hk_uid|" "gid=$hk_gid|" "groups=$hk_gid|" "op=rwtest-op|" \
    "CapPrm:0000000000000000 " "CapEff:0000000000000000 "; do
	case $line in *"$w"*) ok "hook process: $w";; *) bad "hook process lacks $w";; esac
done
outcome_done() { case $(sql "SELECT outcome FROM audit ORDER BY id DESC LIMIT 1") in *"exit 0"*) return 0;; esac; return 1; }
poll 10 outcome_done && ok "audit outcome: $(sql "SELECT outcome FROM audit ORDER BY id DESC LIMIT 1")" ||
    bad "audit outcome: $(sql "SELECT outcome FROM audit ORDER BY id DESC LIMIT 1")"

# --- 2. operators as a uid list, applied by a reload
reloads=$(grep -c "reloaded:" "$tmp/daemon.log")
write_conf rwtest-reader
kill -HUP "$dpid"
reloaded() { [ "$(grep -c "reloaded:" "$tmp/daemon.log")" -gt "$reloads" ]; }
poll 10 reloaded && ok "reload: operators = rwtest-reader" || bad "no reload: $(tail -3 "$tmp/daemon.log")"
out=$(as rwtest-reader "$RW" suspend 1003 --reason "reader is an operator now" -s "$sock" 2>&1) &&
    ok "reader (uid list): suspend: $out" || bad "reader (uid list): suspend refused: $out"
expect "audit row of the reader" "uid $(id -u rwtest-reader) (rwtest-reader)|suspend|1003" \
    "$(sql "SELECT actor, action, customer FROM audit ORDER BY id DESC LIMIT 1")"
before=$(audit_rows)
out=$(as rwtest-op "$RW" resume 1002 --reason "op, no longer listed" -s "$sock" 2>&1); rc=$?
case "$rc $out" in "1 "*"permission denied"*) ok "operator no longer listed: resume refused: $out";;
*) bad "operator no longer listed: exit $rc: $out";; esac
expect "audit rows after the refused resume" "$before" "$(audit_rows)"
stop

# --- 3. under the systemd unit's bounding set (etc/rangewatchd.service)
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$TESTS/../etc/rangewatchd.service")
bset=$(echo "$caps" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
write_conf @rwtest-noc
setpriv --bounding-set="-all,$bset" --inh-caps=-all \
    "$RW_BIN/rangewatchd" -f -c "$tmp/etc/rangewatch.conf" >>"$tmp/daemon.log" 2>&1 &
dpid=$!
pids="$pids $dpid"
poll 20 "$RW" ping -s "$sock" >/dev/null 2>&1 || { bad "the daemon does not start under the unit's bounding set: $(tail -5 "$tmp/daemon.log")"; exit 1; }
# CAP_CHOWN 0, CAP_SETGID 6, CAP_SETUID 7, CAP_NET_RAW 13
want=$(printf '%016x' $(( (1 << 0) | (1 << 6) | (1 << 7) | (1 << 13) )))
expect "bounding set ($caps)" "$want" "$(field "$dpid" CapBnd)"
expect "daemon uid under the unit's set" "$nb_uid $nb_uid $nb_uid $nb_uid" "$(field "$dpid" Uid)"
for c in CapEff CapPrm; do
	expect "daemon $c under the unit's set" 0000000000000000 "$(field "$dpid" "$c")"
done
runner=$(runner_of "$dpid")
if [ -n "$runner" ]; then
	expect "runner CapEff: the unit's set, no CAP_KILL" "$want" "$(field "$runner" CapEff)"
else
	bad "no hook runner under the unit's set"
fi
: >"$tmp/hook/calls.log"
out=$(as rwtest-op "$RW" suspend 1001 --reason "under the unit" -s "$sock" 2>&1) ||
    bad "operator: suspend under the unit's set: $out"
hook_1001() { grep -q "^suspend 1001|uid=$hk_uid|" "$tmp/hook/calls.log" 2>/dev/null; }
poll 20 hook_1001 && ok "the hook runs as $HOOK_USER under the unit's set" ||
    bad "hook under the unit's set: $(cat "$tmp/hook/calls.log")"
stop
[ $fail = 0 ] || { echo "--- daemon log:"; tail -n 30 "$tmp/daemon.log"; }
exit $fail
