#!/bin/sh
# The suspend hook through rangewatchd, by the contract of design.md: the replayed story
# raises customer 1001 to act; with auto_suspend the hook runs exactly once for it, as the
# configured user ($HOOK_USER: not nobody, the daemon's own), with argv "suspend 1001", the
# evidence as JSON on stdin; a customer tagged never_suspend at act is not suspended; the
# innocent neighbour never; a restart runs nothing again (the suspension is in the store); a
# reload turning dry_run off runs it once more, for real;
# an operator's resume runs "unsuspend" with RANGEWATCH_OPERATOR set; exit 75 is run again
# after retry_after; another failure is mailed to the abuse desk; every run is in the audit
# log with its exit code, duration and output; the runner keeps root, the daemon does not.
. "$(dirname "$0")/dnsbl/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (the hook runs as another user)"
id nobody >/dev/null 2>&1 || skip "no user nobody"
$PY -c 'import aiosmtpd' 2>/dev/null || skip "python3-aiosmtpd not installed"
. "$(dirname "$0")/daemon/lib.sh"

# 1004 holds a listed IP of the hot /24 and is tagged never_suspend
printf '1004,Careful Corp,203.0.113.50,care@example.com,never_suspend\n' >>"$tmp/etc/customers.csv"

# the hook: root's, in a root folder; it records each call where its user may write, and exits
# with the code a file names for that customer (0 when none)
mkdir -p "$tmp/hookbin" "$tmp/hook"
chown "$HOOK_USER" "$tmp/hook"
cat >"$tmp/hookbin/hook.sh" <<EOF
#!/bin/sh
{
	printf 'argv=%s %s|uid=%s|' "\$1" "\$2" "\$(id -u)"
	printf 'action=%s|id=%s|name=%s|level=%s|dry=%s|op=%s|ips=%s|event=%s|reason=%s|' \\
	    "\$RANGEWATCH_ACTION" "\$RANGEWATCH_CUSTOMER_ID" "\$RANGEWATCH_CUSTOMER_NAME" \\
	    "\$RANGEWATCH_LEVEL" "\$RANGEWATCH_DRY_RUN" "\${RANGEWATCH_OPERATOR:-}" \\
	    "\$RANGEWATCH_IPS" "\$RANGEWATCH_EVENT_ID" "\$RANGEWATCH_REASON"
	printf 'env=%s|' "\$(env | grep -vc '^RANGEWATCH_\|^PATH=\|^LANG=\|^PWD=\|^SHLVL=\|^_=')"
	cat >"$tmp/hook/stdin.\$\$.json"
	printf 'stdin=%s\n' "$tmp/hook/stdin.\$\$.json"
} >>"$tmp/hook/calls.log"
echo "hook saw \$1 \$2"
code=0
[ -f "$tmp/hook/exit_\$2" ] && code=\$(cat "$tmp/hook/exit_\$2") && rm -f "$tmp/hook/exit_\$2"
exit \$code
EOF
chmod 755 "$tmp/hookbin" "$tmp/hookbin/hook.sh"

smtp_port=$(free_port)
mkdir -p "$tmp/mail"
sink "$smtp_port" "$tmp/mail"

EXTRA_CONF="[alert]
smtp_url = smtp://127.0.0.1:$smtp_port
from = rangewatch@provider.example
to = abuse@provider.example
digest = 0
[hook]
path = $tmp/hookbin/hook.sh
user = $HOOK_USER
timeout = 10
auto_suspend = yes
dry_run = yes
retry_after = 1s"
conf "replay = $tmp/story.pcap
replay_speed = 0" >"$tmp/etc/rangewatch.conf"
calls() { n=$(grep -c "argv=$1" "$tmp/hook/calls.log" 2>/dev/null); echo "${n:-0}"; }
one_call() { [ "$(calls "suspend 1001")" -ge 1 ]; }

start
runner=$(pgrep -x -P "$dpid" rangewatch-hook | head -1)	# the daemon's own runner
[ -n "$runner" ] && expect "the hook runner keeps root (uid)" 0 "$(awk '/^Uid:/ {print $3}' "/proc/$runner/status")" ||
    bad "no runner process (rangewatch-hook)"
expect "the daemon itself runs as nobody" "$(id -u nobody)" "$(awk '/^Uid:/ {print $3}' "/proc/$dpid/status")"
poll 90 one_call && ok "the hook ran for 1001" || bad "no hook call: $(cat "$tmp/hook/calls.log" 2>/dev/null)"
sleep 3
expect "exactly one suspend for 1001" 1 "$(calls "suspend 1001")"
expect "none for the innocent 1002" 0 "$(calls "suspend 1002")"
expect "none for 1004, never_suspend" 0 "$(calls "suspend 1004")"
line=$(grep "argv=suspend 1001" "$tmp/hook/calls.log" | head -1)
echo "     $line"
for w in "uid=$(id -u "$HOOK_USER")|" "action=suspend|" "id=1001|" "name=Acme VPS|" "level=act|" \
    "dry=1|" "op=|" "ips=203.0.113.7|" "env=0|"; do
	case $line in *"$w"*) ok "hook environment: $w";; *) bad "hook environment lacks $w";; esac
done
ev=$(echo "$line" | sed 's/.*event=\([0-9]*\)|.*/\1/')
expect "RANGEWATCH_EVENT_ID is 1001's act level change" act \
    "$(sql "SELECT level FROM flag_history WHERE id = $ev AND customer = '1001'")"
stdin=$(echo "$line" | sed 's/.*stdin=//')
expect "the evidence on stdin: the customer's JSON" "1001 act" \
    "$($PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["id"], d["level"])' "$stdin")"
au=$(sql "SELECT actor, action, outcome FROM audit WHERE customer = '1001' AND action = 'suspend'")
case $au in "rangewatchd (automatic)|suspend|suspend (dry run): exit 0 in "*"ms, done: hook saw suspend 1001")
	ok "audit: $au";; *) bad "audit: $au";; esac
sleep 1
# 1004's listed IP is an impact of the /24 once the sweep has seen all four
act1004() { [ "$(rwc customers 1004 --json | js 'd["level"]')" = act ]; }
poll 60 act1004 && ok "1004 is at act too" || bad "1004 is at $(rwc customers 1004 --json | js 'd["level"]')"

# the act alert says what was done
alert_says() { grep -l "suspend hook started in dry-run mode" "$tmp/mail"/*.eml >/dev/null 2>&1; }
poll 30 alert_says && ok "the act alert says the hook was started" || bad "no alert naming the hook"

# a restart: nothing runs again
stop
conf "" >"$tmp/etc/rangewatch.conf"
start
sleep 4
expect "after a restart, still one suspend for 1001" 1 "$(calls "suspend 1001")"

# a reload turning dry_run off: the suspension done in dry run is still to do for real,
# now (1001 stays at act: no rise would ever come to run it), once; never_suspend holds
EXTRA_CONF=$(printf '%s\n' "$EXTRA_CONF" | sed 's/^dry_run = yes$/dry_run = no/')
conf "" >"$tmp/etc/rangewatch.conf.new" && mv "$tmp/etc/rangewatch.conf.new" "$tmp/etc/rangewatch.conf"
real_calls() { n=$(grep -c "argv=$1|.*|dry=0|" "$tmp/hook/calls.log" 2>/dev/null); echo "${n:-0}"; }
real_one() { [ "$(real_calls "suspend 1001")" -ge 1 ]; }
kill -HUP "$dpid"
poll 20 real_one && ok "reload with dry_run = no: 1001 suspended for real" ||
    bad "no real run after the reload: $(tail -n 3 "$tmp/daemon.log")"
kill -HUP "$dpid"	# a second reload with nothing new: nothing runs
sleep 3
expect "real suspends after two reloads: 1001, 1004 (never_suspend), 1002" "1 0 0" \
    "$(real_calls "suspend 1001") $(real_calls "suspend 1004") $(real_calls "suspend 1002")"
expect "1001's suspension now real" "suspended|0" \
    "$(sql "SELECT state, dry_run FROM suspension WHERE customer = '1001'")"

# an operator's resume: "unsuspend", the operator named; exit 75 first, then run again
echo 75 >"$tmp/hook/exit_1001"
chmod 644 "$tmp/hook/exit_1001"; chown "$HOOK_USER" "$tmp/hook/exit_1001"
out=$(rwc resume 1001 --reason "customer cleaned the VPS" 2>&1) && ok "resume: $out" || bad "resume: $out"
twice() { [ "$(calls "unsuspend 1001")" -ge 2 ]; }
poll 20 twice && ok "exit 75: the unsuspend ran again" || bad "unsuspend calls: $(calls "unsuspend 1001")"
line=$(grep "argv=unsuspend 1001" "$tmp/hook/calls.log" | tail -1)
case $line in *"op=root|"*) ok "RANGEWATCH_OPERATOR: root";; *) bad "operator: $line";; esac
case $line in *"reason=customer cleaned the VPS|"*) ok "RANGEWATCH_REASON";; *) bad "reason: $line";; esac
resumed() { [ "$(sql "SELECT state FROM suspension WHERE customer = '1001'")" = resumed ]; }
poll 10 resumed && ok "1001 recorded as resumed" || bad "suspension: $(sql "SELECT * FROM suspension")"

# a failure is mailed to the abuse desk
before=$(ls "$tmp/mail" | wc -l)
echo 3 >"$tmp/hook/exit_1002"; chmod 644 "$tmp/hook/exit_1002"; chown "$HOOK_USER" "$tmp/hook/exit_1002"
rwc suspend 1002 --reason "test a failing hook" >/dev/null 2>&1 || bad "suspend 1002 refused"
failed_mail() { grep -l "HOOK FAILED" "$tmp/mail"/*.eml >/dev/null 2>&1; }
poll 30 failed_mail && ok "exit 3: the abuse desk is told (HOOK FAILED)" || bad "no failure mail"
au=$(sql "SELECT outcome FROM audit WHERE customer = '1002' ORDER BY id DESC LIMIT 1")
case $au in *"exit 3"*FAILED*) ok "audit: $au";; *) bad "audit of the failure: $au";; esac
rwc alerts --customer 1002 >"$tmp/alerts.txt" 2>&1
grep -q "test a failing hook" "$tmp/alerts.txt" && ok "rangewatch alerts shows the run" ||
    bad "alerts: $(cat "$tmp/alerts.txt")"
runner=$(pgrep -x -P "$dpid" rangewatch-hook | head -1)
stop
gone() { ! kill -0 "$runner" 2>/dev/null; }
if [ -z "$runner" ]; then bad "no runner process after the restart"
elif poll 5 gone; then ok "the runner ended with the daemon"
else bad "the runner $runner outlived the daemon"; fi
exit $fail
