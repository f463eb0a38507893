#!/bin/sh
# Crash safety of rangewatchd's store: the daemon is killed with SIGKILL at random moments
# (RW_CRASH_ROUNDS rounds, default 16, from the seed RW_CRASH_SEED, printed first so that a
# failure can be replayed) and restarted every time: during the story's replay as fast as it
# can and at 100000x, during DNSBL sweeps while the rbldnsd zones change under it, while
# alerts wait for a desk that is down or slow, the moment a level change or an operator's
# ack is committed, and during a hook run (a hook that sleeps 3 s; auto_suspend is on).
# After every kill the store is read with Python's own sqlite3: PRAGMA integrity_check;
# every listing event, level change, audit entry and outbox row committed before the kill
# still there, unchanged; none twice (sequences per key and customer, one audit entry per
# operator command and per ack, one alert per level change); counters never above one
# replay and complete for what was counted 5 s (the flush interval) before the kill; the
# hook runner and its hook gone with the daemon. At the end every queued alert reaches the
# desk once (twice only inside the documented window), and the daemon's log holds no
# sanitizer report. About 40 s, most of it waiting on real time. The rounds and the checks
# are in daemon/crash.py.
. "$(dirname "$0")/dnsbl/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (the daemon's privilege drop is part of the test)"
$PY -c 'import aiosmtpd' 2>/dev/null || skip "python3-aiosmtpd not installed"
. "$(dirname "$0")/daemon/lib.sh"

seed=${RW_CRASH_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
rounds=${RW_CRASH_ROUNDS:-16}

# the sweep must cover the 512 addresses every 2 s (the default budget, 20 qps, would take
# 25 s): a listing that changes shows within a round
cat >"$tmp/etc/lists.conf" <<'EOF2'
[list "uceprotect-1"]
zone = l1.test
scope = ip
expiry = 7d
interval = 2s
fast_interval = 2s
max_qps = 2000

[list "uceprotect-2"]
zone = l2.test
scope = range
expiry = 7d
interval = 2s
max_qps = 2000
EOF2

# the hook: root's, in a root folder; notes its pid where its user may write, sleeps
mkdir -p "$tmp/hookbin" "$tmp/hook"
chown "$HOOK_USER" "$tmp/hook"
cat >"$tmp/hookbin/hook.sh" <<EOF2
#!/bin/sh
echo \$\$ >>"$tmp/hook/pids"
cat >/dev/null
sleep 3
echo "slept"
EOF2
chmod 755 "$tmp/hookbin" "$tmp/hookbin/hook.sh"

smtp_port=$(free_port)
EXTRA_CONF="[alert]
smtp_url = smtp://127.0.0.1:$smtp_port
from = rangewatch@provider.example
to = abuse@provider.example
digest = 0
cooldown = 0
[hook]
path = $tmp/hookbin/hook.sh
user = $HOOK_USER
timeout = 10
auto_suspend = yes"
conf "" >"$tmp/etc/crash-live.conf"
conf "replay = $tmp/story.pcap
replay_speed = 0" >"$tmp/etc/crash-replay0.conf"
conf "replay = $tmp/story.pcap
replay_speed = 100000" >"$tmp/etc/crash-replayT.conf"
chmod a+r "$tmp/etc"/*.conf

RW_BIN=$RW_BIN $PY "$(dirname "$0")/daemon/crash.py" "$tmp" "$seed" "$rounds" "$smtp_port" || fail=1
# a sanitizer's report (the asan round) is a failure even when the store came out right
if grep -q "ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer" "$tmp/daemon.log"; then
	bad "a sanitizer reported in the daemon's log:"
	grep -A20 "ERROR: AddressSanitizer\|runtime error:\|ERROR: LeakSanitizer" "$tmp/daemon.log" | head -40
else
	ok "no sanitizer report in the daemon's log"
fi
if [ "$fail" != 0 ]; then
	echo "--- the daemon's log (last 60 lines); replay with RW_CRASH_SEED=$seed"
	tail -n 60 "$tmp/daemon.log"
fi
exit $fail
