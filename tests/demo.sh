#!/bin/sh
# make demo: rangewatch on a small simulated provider, end to end, in about a minute.
#
#   1. the offline analysis of the bundled sample capture (tests/data/sample.pcap, example
#      config in etc/), in short;
#   2. the daemon on a story: AS64500 with 203.0.113.0/24 (Bluebird Hosting's /28
#      203.0.113.16/28 registered on its own inside it) and 198.51.100.0/24, the 50 customers
#      of tests/demo/customers.csv, three days of their outbound SMTP written by
#      tests/gen_demo_story.py (a quiet baseline; on day 3 the hacked 1001 Acme VPS and then
#      1025 Tailspin Games start spamming) and replayed by rangewatchd in about 40 seconds
#      (`replay =`, the model's clock follows the packets); an rbldnsd on 127.0.0.1 serves
#      emulations of UCEPROTECT L1/L2/L3, Spamhaus ZEN and SpamCop, and this script changes
#      their zones as the story goes on (Level 1 lists the spammers' IPs, then Level 2 the
#      /24 and the /28); an aiosmtpd on 127.0.0.1 is the abuse desk's mail server; the
#      dry-run hook etc/hooks/log-to-file.sh runs with auto_suspend = yes.
#      As root (with ip and tcpreplay) it captures live instead: in a network namespace of
#      its own (rbldnsd, the SMTP sink and rangewatchd inside it), the daemon replays hours
#      0-50 of the story as a warm start (baselines) and then captures on a veth, onto which
#      tcpreplay sends the spam of hours 50-72 squeezed into 45 seconds; the zones follow
#      that squeezed clock. RW_DEMO_LIVE=0 keeps the offline path.
#
# On a terminal it opens `rangewatch top`, the dashboard, while the story plays (the zones
# follow it in the background); q closes it and the final report follows. Without one (a
# pipe, CI) it prints a progress line every few seconds and the final report. Either way it
# stops everything it started and removes its folder on exit, Ctrl-C or error. Exit 0; 1
# when something could not start (the message says what).
# RW_BIN (default bin/) names the binaries; RW_DEMO_SPEED the replay speed (6000).
set -u
cd "$(dirname "$0")/.." || exit 1
TOP=$PWD
RW_BIN=${RW_BIN:-$TOP/bin}
RW=$RW_BIN/rangewatch
PY=/usr/bin/python3
SPEED=${RW_DEMO_SPEED:-6000}
tty=0
[ -t 1 ] && tty=1

die() { echo "demo: $*" >&2; exit 1; }
[ -x "$RW" ] && [ -x "$RW_BIN/rangewatchd" ] || die "$RW_BIN/rangewatch(d) missing: run make first"
command -v rbldnsd >/dev/null 2>&1 || die "rbldnsd is not installed (apt-get install rbldnsd, or make demo as root)"
$PY -c 'import aiosmtpd' 2>/dev/null || die "python3-aiosmtpd is not installed (apt-get install python3-aiosmtpd)"
$PY -c 'import scapy' 2>/dev/null || die "python3-scapy is not installed (apt-get install python3-scapy)"

# ---------------------------------------------------------------------------------------
echo "== 1. rangewatch analyze: a capture file, offline (the bundled sample, example config) =="
echo "\$ bin/rangewatch analyze -c etc/rangewatch.conf tests/data/sample.pcap | head"
"$RW" analyze -c etc/rangewatch.conf tests/data/sample.pcap | head -n 9 ||
    die "rangewatch analyze failed"
echo "   (the whole report: per IP, per customer, per range; --json for scripts)"
echo

# ---------------------------------------------------------------------------------------
echo "== 2. rangewatchd on a provider's three days: two customers start spamming =="
tmp=$(mktemp -d) || die "mktemp failed"
chmod 755 "$tmp"	# rbldnsd and the daemon run as nobody when we are root
pids=""
dpid=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
	trap - EXIT INT TERM
	if [ -n "$dpid" ]; then kill -TERM "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null; fi
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	[ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted, cleaning up"; exit 130' INT TERM
fail() { echo "demo: $*" >&2; for f in "$tmp"/*.log "$tmp"/*.out; do [ -s "$f" ] && { echo "--- $f:"; tail -n 20 "$f"; }; done >&2; exit 1; }
free_port() {	# tcp|udp -> a free port on 127.0.0.1 (the kernel's pick; in the namespace when live)
	# shellcheck disable=SC2086
	$IN $PY -c 'import socket,sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' "$1"
}
poll() {	# poll SECONDS COMMAND... -> until COMMAND succeeds
	t=$1; shift; n=0
	while [ $n -lt $((t * 2)) ]; do "$@" && return 0; sleep 0.5; n=$((n + 1)); done
	return 1
}
root=0
[ "$(id -u)" = 0 ] && root=1
echo "files: $tmp (removed at the end)"
# live: as root, capture on a veth in a namespace of our own (nothing leaves it)
live=0 NS="" LIVE_S=45
if [ $root = 1 ] && [ "${RW_DEMO_LIVE:-1}" = 1 ] && command -v ip >/dev/null 2>&1 &&
    command -v tcpreplay >/dev/null 2>&1; then
	NS=rwdemo$$
	ip netns add "$NS" && ip -n "$NS" link set lo up &&
	    ip -n "$NS" link add rwd-wire type veth peer name rwd-tap &&
	    ip -n "$NS" link set rwd-wire up && ip -n "$NS" link set rwd-tap up ||
	    fail "could not make the network namespace $NS"
	live=1
	echo "live capture: namespace $NS, rangewatchd captures on rwd-tap, tcpreplay sends on rwd-wire"
elif [ $root = 1 ]; then
	echo "offline path: RW_DEMO_LIVE=0 or ip/tcpreplay missing (the daemon replays the file itself)"
else
	echo "offline path: not root (a live capture needs root; the daemon replays the file itself)"
fi
# IN: the prefix that runs a command in the demo's namespace when capturing live (ip netns
# exec execs, so a background command's $! is the command itself); split on purpose
IN=""
[ $live = 1 ] && IN="ip netns exec $NS"

# the provider: prefixes, customers and lists from tests/demo/, the config written here
mkdir -p "$tmp/etc" "$tmp/zones" "$tmp/mail" "$tmp/hookbin"
cp tests/demo/prefixes.txt tests/demo/customers.csv tests/demo/dnsbl.conf "$tmp/etc/"

# the story, ending now; its summary says when the spam starts
t_gen=$(date +%s)
if [ $live = 1 ]; then
	# hours 0-50 end now (the warm start), the spam of hours 50-72 goes live
	$PY tests/gen_demo_story.py "$tmp/story.pcap" $((t_gen + 22 * 3600)) --live "$LIVE_S" \
	    "$tmp/live.pcap" >"$tmp/truth.json" || fail "tests/gen_demo_story.py failed"
else
	$PY tests/gen_demo_story.py "$tmp/story.pcap" "$t_gen" >"$tmp/truth.json" ||
	    fail "tests/gen_demo_story.py failed"
fi
truth() { $PY -c 'import json,sys; print(eval("d" + sys.argv[2], {"d": json.load(open(sys.argv[1]))}))' "$tmp/truth.json" "$1"; }
frames=$(truth '["frames"]'); start=$(truth '["start"]'); spam_a=$(truth '["spam_a_from"]'); spam_b=$(truth '["spam_b_from"]')
if [ $live = 1 ]; then
	live_frames=$(truth '["live"]["frames"]')
	echo "story: 3 days of 50 customers' SMTP (tests/gen_demo_story.py): hours 0-50 ($frames frames) replayed as a warm start, the spam of hours 50-72 ($live_frames frames) sent live in $LIVE_S s"
else
	echo "story: $frames frames, 3 days of 50 customers' SMTP (tests/gen_demo_story.py); replayed at ${SPEED}x"
fi

# the DNSBLs: rbldnsd zones, replaced whole (write, then mv) as the story goes on;
# rbldnsd rereads a zone file it sees changed (-c 1s)
zone() {	# zone NAME -> stdin becomes zones/NAME, atomically
	cat >"$tmp/zones/.$1.new" && mv "$tmp/zones/.$1.new" "$tmp/zones/$1"
}
l1_base='$SOA 0 ns.uceprotect.test. hostmaster.test. 1 1h 1h 1d 1s
:127.0.0.2:Your IP $ is UCEPROTECT-Level1 listed. See http://www.uceprotect.test/rblcheck.php?ipr=$
127.0.0.2
# a VM terminated last week: its IP is unassigned now and still listed
203.0.113.200'
printf '%s\n' "$l1_base" | zone l1
printf '%s\n' '$SOA 0 ns.uceprotect.test. hostmaster.test. 1 1h 1h 1d 1s' \
    ':127.0.0.2:Net $ is UCEPROTECT-Level2 listed' '127.0.0.2/32' | zone l2
printf '%s\n' '$SOA 0 ns.uceprotect.test. hostmaster.test. 1 1h 1h 1d 1s' \
    ':127.0.0.2:Your ISP is UCEPROTECT-Level3 listed' '127.0.0.2/32' | zone l3
zen_base='$SOA 0 ns.spamhaus.test. hostmaster.test. 1 1h 1h 1d 1s
:127.0.0.2:Listed by SBL, see https://check.spamhaus.test/query/ip/$
127.0.0.2'
printf '%s\n' "$zen_base" | zone zen
spamcop_base='$SOA 0 ns.spamcop.test. hostmaster.test. 1 1h 1h 1d 1s
:127.0.0.2:Blocked - see https://www.spamcop.test/bl.shtml?$
127.0.0.2'
printf '%s\n' "$spamcop_base" | zone spamcop

rbl_user=""
[ $root = 1 ] && { rbl_user="-u nobody"; chown -R nobody "$tmp/zones"; }
started=0
for _ in 1 2 3; do
	rbl_port=$(free_port udp)
	# shellcheck disable=SC2086  # $IN is empty or four words, $rbl_user empty or two
	$IN rbldnsd -n $rbl_user -b "127.0.0.1/$rbl_port" -t 1:1:1 -c 1s \
	    dnsbl-1.uceprotect.test:ip4set:"$tmp/zones/l1" \
	    dnsbl-2.uceprotect.test:ip4trie:"$tmp/zones/l2" \
	    dnsbl-3.uceprotect.test:ip4trie:"$tmp/zones/l3" \
	    zen.spamhaus.test:ip4set:"$tmp/zones/zen" \
	    bl.spamcop.test:ip4set:"$tmp/zones/spamcop" >"$tmp/rbldnsd.out" 2>&1 &
	rbl_pid=$!
	rbl_up() { grep -q started "$tmp/rbldnsd.out" || ! kill -0 "$rbl_pid" 2>/dev/null; }
	poll 5 rbl_up
	if grep -q started "$tmp/rbldnsd.out"; then started=1; pids="$pids $rbl_pid"; break; fi
	kill "$rbl_pid" 2>/dev/null; wait "$rbl_pid" 2>/dev/null
done
[ $started = 1 ] || fail "rbldnsd did not start"
echo "rbldnsd: 127.0.0.1 port $rbl_port, emulating UCEPROTECT L1/L2/L3, Spamhaus ZEN, SpamCop"

# the abuse desk's mail server: every message saved as one file
smtp_port=$(free_port tcp)
# shellcheck disable=SC2086
$IN $PY - "$smtp_port" "$tmp/mail" >"$tmp/smtp.out" 2>&1 <<'PYEOF' &
import os, sys, time
from aiosmtpd.controller import Controller
n = [0]
class H:
    async def handle_DATA(self, server, session, env):
        n[0] += 1
        with open(os.path.join(sys.argv[2], "%04d.eml" % n[0]), "wb") as f:
            f.write(env.original_content)
        return "250 OK"
Controller(H(), hostname="127.0.0.1", port=int(sys.argv[1])).start()
print("listening", flush=True)
while True:
    time.sleep(3600)
PYEOF
pids="$pids $!"
poll 20 grep -q listening "$tmp/smtp.out" || fail "the SMTP sink (aiosmtpd) did not start"
echo "abuse desk: aiosmtpd on 127.0.0.1 port $smtp_port"

# the hook: the dry-run log-to-file.sh, root's and in root's folders (the daemon checks)
cp etc/hooks/log-to-file.sh "$tmp/hookbin/log-to-file.sh"
chmod 755 "$tmp/hookbin" "$tmp/hookbin/log-to-file.sh"

user=$(id -un)
[ $root = 1 ] && user=nobody
# the hook's user: never the daemon's (rangewatchd refuses it)
hook_user=nobody
[ $root = 1 ] && hook_user=daemon
cat >"$tmp/etc/rangewatch.conf" <<EOF
; written by tests/demo.sh
[rangewatch]
prefixes = prefixes.txt
customers = customers.csv
lists = dnsbl.conf
nameserver = 127.0.0.1:$rbl_port
state_dir = $tmp/state
socket = $tmp/run/rangewatch.sock
pidfile = $tmp/run/rangewatchd.pid
user = $user
replay = $tmp/story.pcap
replay_speed = $([ $live = 1 ] && echo 0 || echo "$SPEED")
$([ $live = 1 ] && echo "interface = rwd-tap")

[alert]
smtp_url = smtp://127.0.0.1:$smtp_port
from = rangewatch@provider.example
to = abuse@provider.example
digest = 0

[hook]
path = $tmp/hookbin/log-to-file.sh
user = $hook_user
timeout = 10
auto_suspend = yes
dry_run = yes
EOF
chmod -R a+rX "$tmp/etc" "$tmp/story.pcap"
rwc() { "$RW" "$@" -c "$tmp/etc/rangewatch.conf"; }

"$RW_BIN/rangewatchd" -n -c "$tmp/etc/rangewatch.conf" >"$tmp/check.out" 2>&1 ||
    fail "the demo config does not check: $(cat "$tmp/check.out")"
# shellcheck disable=SC2086
$IN "$RW_BIN/rangewatchd" -f -c "$tmp/etc/rangewatch.conf" >"$tmp/daemon.log" 2>&1 &
dpid=$!
poll 20 "$RW" ping -s "$tmp/run/rangewatch.sock" >/dev/null 2>&1 || fail "rangewatchd does not answer"
how="it replays the capture file itself (replay = story.pcap), the offline path"
[ $live = 1 ] && how="it replays hours 0-50 (replay = story.pcap), then captures live on rwd-tap"
[ $root = 1 ] && how="$how; as root it drops to nobody"
echo "rangewatchd: pid $dpid, $how"
echo

# the story's DNSBL side, by the model's clock (hours after the spam starts)
step=0
zones_follow() {	# zones_follow CLOCK -> the zones as they are at that time
	if [ $step = 0 ] && [ "$1" -ge $((spam_a + 2 * 3600)) ]; then
		step=1
		printf '%s\n203.0.113.7\n203.0.113.8\n203.0.113.9\n' "$l1_base" | zone l1
		printf '%s\n203.0.113.8\n' "$spamcop_base" | zone spamcop
		echo "   >> zones: UCEPROTECT L1 lists 203.0.113.7, .8, .9 (1001 Acme VPS); SpamCop lists 203.0.113.8"
	fi
	if [ $step = 1 ] && [ "$1" -ge $((spam_b + 2 * 3600)) ]; then
		step=2
		printf '%s\n203.0.113.7\n203.0.113.8\n203.0.113.9\n203.0.113.21\n' "$l1_base" | zone l1
		printf '%s\n203.0.113.21 :4:Listed by XBL, see https://check.spamhaus.test/query/ip/$\n' \
		    "$zen_base" | zone zen
		echo "   >> zones: UCEPROTECT L1 lists 203.0.113.21 (1025 Tailspin Games); Spamhaus ZEN (XBL) too"
	fi
	if [ $step = 2 ] && [ "$1" -ge $((spam_b + 4 * 3600)) ]; then
		step=3
		printf '%s\n' '$SOA 0 ns.uceprotect.test. hostmaster.test. 1 1h 1h 1d 1s' \
		    ':127.0.0.2:Net $ is UCEPROTECT-Level2 listed' '127.0.0.2/32' \
		    '203.0.113.0/24 :2:Net 203.0.113.0/24 is UCEPROTECT-Level2 listed because 4 abusers are hosted by Demo Hosting/AS64500 there. See: http://www.uceprotect.test/rblcheck.php?ipr=$' \
		    '203.0.113.16/28 :2:Net 203.0.113.16/28 is UCEPROTECT-Level2 listed because 1 abusers are hosted by Bluebird Hosting/AS64500 there. See: http://www.uceprotect.test/rblcheck.php?ipr=$' |
		    zone l2
		echo "   >> zones: UCEPROTECT L2 lists 203.0.113.0/24 and 203.0.113.16/28"
	fi
}

# one look at the daemon: "CLOCK DONE" then a progress line; live, CLOCK is the story's
# (the squeezed hours 50-72 mapped onto the seconds since tcpreplay started) and DONE says
# the replay of the warm start is over
look() {
	rwc status --json >"$tmp/st.json" 2>/dev/null || return 1
	rwc ranges --json >"$tmp/rg.json" 2>/dev/null || return 1
	$PY - "$tmp/st.json" "$tmp/rg.json" "$start" "${1:-}" <<'PYEOF'
import json, sys, time
st = json.load(open(sys.argv[1])); rg = json.load(open(sys.argv[2])); start = int(sys.argv[3])
now = int(sys.argv[4]) if sys.argv[4] else st["now"] or start
rep = st["capture"]["replay"] or {}
print(now, 1 if rep.get("done") else 0)
lv = st["levels"]
h = max(0, (now - start) / 3600)
nb = {n["key"]: n for n in rg["neighbourhoods"] if n["policy"] == "uceprotect-2"}
def show(k):
    n = nb.get(k)
    if not n:
        return "%s 0" % k
    s = "%s %d/%d" % (k, n["impacts"], n["threshold"])
    if n["suspects"]:
        s += " +%d suspect" % n["suspects"]
    return s + (" ESCALATED" if n["escalated"] else "")
print("[%s, story hour %2d/72] act %d warn %d watch %d | L2: %s | %s" % (
    time.strftime("%a %H:%M", time.gmtime(now)), min(72, int(h)), lv.get("act", 0),
    lv.get("warn", 0), lv.get("watch", 0), show("203.0.113.0/24"), show("203.0.113.16/28")))
PYEOF
}

# play: the zones follow the story; a progress line every 3 s
story_clock() {	# the story's time live: hours 50-72 squeezed into LIVE_S seconds
	[ $live = 1 ] && [ -n "$live_t0" ] || return 0
	el=$(($(date +%s) - live_t0))
	[ $el -gt "$LIVE_S" ] && el=$LIVE_S
	echo $((spam_a + el * 22 * 3600 / LIVE_S))
}
live_t0="" trpid=""
play() {
	t0=$(date +%s)
	n=0
	done=0
	while :; do
		out=$(look "$(story_clock)") || { kill -0 "$dpid" 2>/dev/null || fail "rangewatchd stopped"; sleep 1; continue; }
		clock=${out%% *}; first=$(echo "$out" | head -n 1); done=${first#* }
		if [ $live = 1 ]; then
			# the warm start is in: the spam goes onto the wire, in real time
			if [ "$done" = 1 ] && [ -z "$live_t0" ]; then
				echo "warm start replayed ($frames frames); tcpreplay sends the spam onto rwd-wire for $LIVE_S s"
				# shellcheck disable=SC2086
				$IN tcpreplay -q -i rwd-wire "$tmp/live.pcap" >"$tmp/tcpreplay.out" 2>&1 &
				trpid=$!
				live_t0=$(date +%s)
			fi
			done=0
			[ -n "$trpid" ] && ! kill -0 "$trpid" 2>/dev/null && done=1
		fi
		zones_follow "$clock"
		if [ $((n % 3)) = 0 ] || [ "$done" = 1 ]; then
			echo "$out" | tail -n 1
		fi
		[ "$done" = 1 ] && [ $step = 3 ] && break
		[ $(($(date +%s) - t0)) -gt 240 ] && { echo "demo: the replay did not finish in 4 minutes"; break; }
		n=$((n + 1))
		sleep 1
	done
	[ -n "$trpid" ] && wait "$trpid"
	echo "replay done after $(($(date +%s) - t0)) s; waiting for the daemon to see the last listings"
}
if [ $tty = 1 ] && [ -t 0 ]; then
	# the dashboard in front, the story behind it
	play >"$tmp/play.log" 2>&1 &
	play_pid=$!
	pids="$pids $play_pid"
	echo "Opening the dashboard: rangewatch top -c $tmp/etc/rangewatch.conf"
	echo "  watch 203.0.113.0/24 fill up toward UCEPROTECT Level 2 and the culprits rise;"
	echo "  Tab: listings and alerts, Enter: a customer's evidence, ?: help, q: the summary"
	sleep 4
	rwc top
	if kill -0 "$play_pid" 2>/dev/null; then
		echo "the story is still playing; the summary waits for its end (Ctrl-C stops the demo)"
	fi
	wait "$play_pid" 2>/dev/null
	tail -n 1 "$tmp/play.log"
else
	play
fi

# the end of the story: both spammers at act, the /24 escalated, the hook run and the desk mailed
level_of() { rwc customers "$1" --json 2>/dev/null | $PY -c 'import json,sys; print(json.load(sys.stdin)["level"])' 2>/dev/null; }
escalated() { rwc ranges --json 2>/dev/null | $PY -c 'import json,sys
d = json.load(sys.stdin)
sys.exit(0 if any(n["key"] == sys.argv[1] and n["escalated"] for n in d["neighbourhoods"]) else 1)' "$1"; }
hooked() { rwc alerts --json --limit 200 2>/dev/null | $PY -c 'import json,sys
d = json.load(sys.stdin)
ids = {a["customer"] for a in d["audit"] if a["action"] == "suspend"}
sys.exit(0 if {"1001", "1025"} <= ids else 1)'; }
finished() {
	[ "$(level_of 1001)" = act ] && [ "$(level_of 1025)" = act ] && escalated 203.0.113.0/24 &&
	    hooked && [ -n "$(ls "$tmp/mail")" ]
}
# live, the last minute's traffic counts at the next minute's work (wall clock)
wait_s=30
[ $live = 1 ] && wait_s=90
poll $wait_s finished || echo "demo: not everything the story should end with came within $wait_s s (see below)"
echo

echo "== the daemon's view at the end of the story =="
echo "\$ rangewatch status"
rwc status
echo
echo "\$ rangewatch ranges"
rwc ranges --limit 5
echo
echo "\$ rangewatch customers"
rwc customers
echo
echo "== the abuse desk's mailbox (aiosmtpd on 127.0.0.1:$smtp_port) =="
$PY - "$tmp/mail" <<'PYEOF'
import email, email.policy, os, sys
d = sys.argv[1]
names = sorted(os.listdir(d))
print("%d messages:" % len(names))
for n in names:
    m = email.message_from_bytes(open(os.path.join(d, n), "rb").read(), policy=email.policy.default)
    print("  To: %s  Subject: %s" % (m["To"], m["Subject"]))
PYEOF
echo
echo "== the suspend hook (log-to-file.sh, dry run) in the audit log =="
echo "(from rangewatch alerts --json: the audit entries of the automatic suspensions)"
rwc alerts --limit 200 --json | $PY -c 'import json, sys, time
for a in reversed(json.load(sys.stdin)["audit"]):
    if a["action"] in ("suspend", "unsuspend"):
        print("%s %s %s %s: %s" % (time.strftime("%H:%M", time.gmtime(a["ts"])), a["actor"],
              a["action"], a["customer"], a["outcome"].replace("\\x09", " | ")))'
echo

# the verdict, last, for `make demo </dev/null | tail`
echo "== what the story ended with =="
$PY - <<PYEOF
import json, subprocess
def rw(*a):
    return json.loads(subprocess.run(["$RW", *a, "-c", "$tmp/etc/rangewatch.conf", "--json"],
                                     capture_output=True, text=True).stdout)
cs = {c["id"]: c for c in rw("customers", "--all", "--limit", "0")["customers"]}
for i in ("1001", "1025"):
    print("spammer %s %s: %s" % (i, cs[i]["name"], cs[i]["level"]))
inn = [c for i, c in cs.items() if i not in ("1001", "1025")]
worst = max((c["level"] for c in inn), key=["none", "watch", "warn", "act"].index)
print("innocent customers: %d, the worst at %s" % (len(inn), worst))
for n in rw("ranges")["neighbourhoods"]:
    if n["policy"] == "uceprotect-2":
        print("range %s: %d/%d impacts%s" % (n["key"], n["impacts"], n["threshold"],
              ", ESCALATED (listed on uceprotect-2)" if n["escalated"] else ""))
a = rw("alerts", "--limit", "200")
runs = sorted({x["customer"] for x in a["audit"] if x["action"] == "suspend"})
print("dry-run suspend hook ran for: %s" % (" ".join(runs) or "nobody"))
print("alert mails sent: %d" % sum(1 for x in a["deliveries"] if x["state"] == "sent"))
PYEOF
if [ $live = 1 ]; then
	seen=$(rwc status --json | $PY -c 'import json,sys; c = json.load(sys.stdin)["capture"]; print("captured %d packets live on %s (%d dropped by the kernel)" % (c["packets"] - int(sys.argv[1]), c["interface"], c["drops"]))' "$frames")
	sent=$(grep -o 'Actual: [0-9]* packets' "$tmp/tcpreplay.out" | grep -o '[0-9]*' | head -n 1)
	echo "traffic: hours 0-50 replayed from a file as a warm start, then live: tcpreplay sent ${sent:-?} packets onto rwd-wire, rangewatchd $seen"
else
	echo "traffic: the capture file replayed by the daemon (replay = story.pcap, ${SPEED}x), not a live interface"
fi
echo "demo done in $(($(date +%s) - t_gen)) s"
exit 0
