#!/bin/sh
# A provider's network in namespaces of the test's own, end to end: customers send real SMTP
# (swaks) from a "provider" namespace through a "border" router, where rangewatchd captures
# the provider-side link, to a real SMTP server (aiosmtpd) on many MX addresses in an
# "internet" namespace, which also holds rbldnsd (UCEPROTECT-like L1 and L2 zones the test
# changes as a list would) and the abuse desk's mail server. The spammer whose mail remote
# servers refuse naming a list must reach `act` on its traffic before its /24 reaches its
# Level 2 threshold; the ones with volume or fan-out alone only once a list has them (volume
# alone never suspends); the neighbour never.
# release-only: the model works on wall-clock minutes (two of them here, ~2 minutes of
# sleeping), and ASan would only slow the same path that the release round already covers.
#
#   provider (prov0)                 border (bprov | binet)          internet (inet0, lo)
#   203.0.113.7   2001 Acme VPS      rangewatchd -f, interface =     198.18.0.25-.44 MX :25
#   203.0.113.9   2002 Fanout Mktg     bprov, user nobody            198.18.1.25:587 abuse desk
#   203.0.113.11  2003 Phished Mbox  tcpdump on bprov (reference)    198.18.2.53:53 rbldnsd
#   203.0.113.20  2004 Innocent Bakery   forwarding, 192.0.2.1/24 -- 192.0.2.2/24
#   198.51.100.17 2005 Quiet Relay (never_suspend)
#   198.51.100.34 2006 Bluebird Relay (never_suspend), holder of the /28 sub-allocation
#                 198.51.100.32/28: one listed IP escalates it
#   provider space: 203.0.113.0/24, 198.51.100.0/24 and 198.51.100.32/28 alloc, AS64500;
#   203.0.113.50 (unassigned, a former customer's VPS) is on L1 from the start: 1 impact of 4
#
# The customer MTAs are swaks, one connection per run, not a postfix: postfix is not among
# the test packages, its Debian package starts a system MTA on port 25 of the host (other
# tests and worktrees share it), and its queue would retry on its own schedule, where every
# count here must be exact.
#
# Story (the model evaluates at each wall-clock minute; a listing re-evaluates at once):
#  1. 2004 sends one mail every few seconds for the whole test; 2005 and 2006 two each.
#     2001 sends 5 sessions of 40 recipients (suspect by RCPT), 2002 one mail to each of 12
#     MX (by fan-out), 2003 six sessions whose first recipient the MX refuses citing
#     UCEPROTECT (by cited rejections: a provisional Level 1 listing, strong evidence). At
#     the minute: the three are suspects; 2003 acts on its traffic alone while the /24's
#     impacts are 1 of 4 (+1 reported), by the forecast; 2001 and 2002 (weak evidence)
#     stay below act. The hook (auto_suspend, dry_run) runs for 2003, the abuse desk gets
#     its ACT mail with the evidence.
#  2. L1 lists the three: the /24 reaches its threshold (4 of 4; 2003's flag came first),
#     2001 and 2002 act now, their listed IPs impacts (the hook runs for them). It
#     also lists 198.51.100.40, in 2006's /28: the /28 is at 1 of 1 (its own range, not the
#     /24 around it, which stays clean); 2006 goes act, tagged never_suspend: not suspended.
#  3. L2 lists the /24: ESCALATED. An operator acknowledges 2001.
#  4. A reload turns dry_run off: the hook runs once more for each spammer, for real.
#  5. A restart (SIGTERM, start): flags, history, listing events, audit, outbox,
#     suspensions and minute rows the same at once and after the new daemon's first minute;
#     nothing run or mailed again. 2004 was never past watch and never suspended.
#  6. The minute rows per IP equal tshark on tcpdump's capture, swaks' runs and the MX log.
# Also (folded in from the former daemon_live_netns.sh): the privilege drop, capture drops,
# the counters of the customer view, suspect rules, listings with TXT, the raw socket.
# Needs root; exit 77 (skip) without it or without ip, swaks, rbldnsd, aiosmtpd, tcpdump,
# tshark, flock. Every process is killed and the three namespaces deleted by the EXIT trap.
. "$(dirname "$0")/dnsbl/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, port 25, the privilege drop)"
id nobody >/dev/null 2>&1 || skip "no user nobody"
HOOK_USER=daemon	# the hooks' user: not the daemon's (nobody), which rangewatchd refuses
id "$HOOK_USER" >/dev/null 2>&1 || skip "no user $HOOK_USER"
for t in ip swaks rbldnsd tcpdump tshark flock; do
	command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
done
$PY -c 'import aiosmtpd' 2>/dev/null || skip "python3-aiosmtpd not installed"
[ -x "$RW_BIN/rangewatchd" ] || { echo "FAIL: $RW_BIN/rangewatchd missing"; exit 1; }
TESTS=$(cd "$(dirname "$0")/.." && pwd)
NETNS_FIX=$(cd "$(dirname "$0")/netns" && pwd)
t_begin=$(date +%s)

pns=rwp-prov$$
bns=rwp-bord$$
ins=rwp-inet$$
# shellcheck disable=SC2317  # called by the EXIT trap (replaces lib.sh's)
cleanup() {
	: >"$tmp/stop"
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	for ns in "$pns" "$bns" "$ins"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

# ------------------------------------------------------------------ the three hosts
ip netns add "$pns" || skip "cannot create a network namespace here"
ip netns add "$bns" || { echo "FAIL: ip netns add $bns"; exit 1; }
ip netns add "$ins" || { echo "FAIL: ip netns add $ins"; exit 1; }
# veth names live inside the test's namespaces: no clash with other tests
ip -n "$pns" link add prov0 type veth peer name bprov netns "$bns" &&
ip -n "$bns" link add binet type veth peer name inet0 netns "$ins" ||
    { echo "FAIL: cannot make the veth pairs"; exit 1; }
for ns in "$pns" "$bns" "$ins"; do
	# no IPv6 autoconfiguration chatter on the links
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 2>/dev/null
	ip -n "$ns" link set lo up
done
CUST_IPS="203.0.113.7 203.0.113.9 203.0.113.11 203.0.113.20 198.51.100.17 198.51.100.34"
for a in $CUST_IPS; do
	ip -n "$pns" addr add "$a/24" dev prov0 || { echo "FAIL: provider address $a"; exit 1; }
done
ip -n "$pns" link set prov0 up &&
ip -n "$pns" route add default via 203.0.113.1 dev prov0 &&
ip -n "$bns" addr add 203.0.113.1/24 dev bprov &&
ip -n "$bns" addr add 198.51.100.1/24 dev bprov &&
ip -n "$bns" addr add 192.0.2.1/24 dev binet &&
ip -n "$bns" link set bprov up &&
ip -n "$bns" link set binet up &&
ip -n "$bns" route add 198.18.0.0/15 via 192.0.2.2 &&
ip netns exec "$bns" sysctl -qw net.ipv4.ip_forward=1 &&
ip -n "$ins" addr add 192.0.2.2/24 dev inet0 &&
ip -n "$ins" link set inet0 up &&
ip -n "$ins" route add 203.0.113.0/24 via 192.0.2.1 &&
ip -n "$ins" route add 198.51.100.0/24 via 192.0.2.1 || { echo "FAIL: links and routes"; exit 1; }
MX=""
for i in $(seq 25 44); do
	ip -n "$ins" addr add "198.18.0.$i/32" dev lo || { echo "FAIL: mx address"; exit 1; }
	MX="$MX 198.18.0.$i"
done
SINK=198.18.1.25 DNS=198.18.2.53
ip -n "$ins" addr add "$SINK/32" dev lo && ip -n "$ins" addr add "$DNS/32" dev lo ||
    { echo "FAIL: sink and DNS addresses"; exit 1; }
echo "namespaces $pns -> $bns -> $ins up"

# ------------------------------------------------------------------ the internet side
mkdir -p "$tmp/zones" "$tmp/etc" "$tmp/mail" "$tmp/hook" "$tmp/hookbin"
L1_HEAD='$SOA 0 ns.test. hostmaster.test. 1 1h 1h 1d 1s
:127.0.0.2:Your IP $ is listed in UCEPROTECT-Level1
127.0.0.2'
L2_HEAD='$SOA 0 ns.test. hostmaster.test. 1 1h 1h 1d 1s
:127.0.0.2:Net $ is UCEPROTECT-Level2 listed
127.0.0.2/32'
# zone FILE TEXT: replaces a zone atomically (rbldnsd may read a half-written file)
zone() {
	printf '%s\n' "$2" >"$1.new" && chown nobody "$1.new" && mv "$1.new" "$1"
}
zone "$tmp/zones/l1.zone" "$L1_HEAD
203.0.113.50"
zone "$tmp/zones/l2.zone" "$L2_HEAD"
chown -R nobody "$tmp/zones"
chown -R "$HOOK_USER" "$tmp/hook"
ip netns exec "$ins" rbldnsd -n -u nobody -b "$DNS/53" -t 2 -c 1s \
    dnsbl-1.uceprotect.test:ip4set:"$tmp/zones/l1.zone" \
    dnsbl-2.uceprotect.test:ip4trie:"$tmp/zones/l2.zone" >"$tmp/rbldnsd.out" 2>&1 &
pids="$pids $!"
ip netns exec "$ins" "$PY" "$NETNS_FIX/mx_server.py" "$tmp/mx.log" 25 >"$tmp/mx.out" 2>"$tmp/mx.err" &
pids="$pids $!"
ip netns exec "$ins" "$PY" "$NETNS_FIX/abuse_sink.py" "$SINK" 587 "$tmp/mail" >"$tmp/sink.out" 2>"$tmp/sink.err" &
pids="$pids $!"
n=0
until grep -q started "$tmp/rbldnsd.out" 2>/dev/null && grep -q ready "$tmp/mx.out" 2>/dev/null &&
    grep -q ready "$tmp/sink.out" 2>/dev/null; do
	n=$((n + 1))
	[ $n -gt 100 ] && { echo "FAIL: rbldnsd, the MX or the sink did not start"; cat "$tmp/rbldnsd.out" "$tmp/mx.err" "$tmp/sink.err"; exit 1; }
	sleep 0.1
done
echo "in $ins: rbldnsd on $DNS:53, aiosmtpd MX on :25 of 20 addresses, the abuse desk on $SINK:587"

# the reference capture: every frame of port 25 on the daemon's interface
# (not --immediate-mode, which costs drops under a burst (shared/testing.md): a run with it
# counted 187 of the 200 RCPT; a larger buffer, and its drops are checked at the end)
ip netns exec "$bns" tcpdump -i bprov -n -U -B 8192 -Z root -s 0 -w "$tmp/live.pcap" \
    'tcp port 25' 2>"$tmp/tcpdump.err" &
dump_pid=$!
pids="$pids $dump_pid"
n=0
until grep -q "listening on" "$tmp/tcpdump.err" 2>/dev/null; do
	n=$((n + 1))
	[ $n -gt 100 ] && { echo "FAIL: tcpdump did not start"; cat "$tmp/tcpdump.err"; exit 1; }
	sleep 0.1
done

# ------------------------------------------------------------------ the hook
# root's, in a root folder (rangewatchd checks); it records each call where its user may write
# (one write per call: hooks run concurrently and must not interleave their lines)
cat >"$tmp/hookbin/hook.sh" <<EOF
#!/bin/sh
cat >"$tmp/hook/stdin.\$\$.json"
line=\$(printf 'argv=%s %s|uid=%s|action=%s|id=%s|name=%s|level=%s|dry=%s|op=%s|ips=%s|event=%s|reason=%s|env=%s|stdin=%s' \\
    "\$1" "\$2" "\$(id -u)" "\$RANGEWATCH_ACTION" "\$RANGEWATCH_CUSTOMER_ID" \\
    "\$RANGEWATCH_CUSTOMER_NAME" "\$RANGEWATCH_LEVEL" "\$RANGEWATCH_DRY_RUN" \\
    "\${RANGEWATCH_OPERATOR:-}" "\$RANGEWATCH_IPS" "\$RANGEWATCH_EVENT_ID" "\$RANGEWATCH_REASON" \\
    "\$(env | grep -vc '^RANGEWATCH_\|^PATH=\|^LANG=\|^PWD=\|^SHLVL=\|^_=')" \\
    "$tmp/hook/stdin.\$\$.json")
printf '%s\n' "\$line" >>"$tmp/hook/calls.log"
echo "hook saw \$1 \$2 dry=\$RANGEWATCH_DRY_RUN"
EOF
chmod 755 "$tmp/hookbin" "$tmp/hookbin/hook.sh"

# ------------------------------------------------------------------ the daemon's config
cat >"$tmp/etc/prefixes.txt" <<'EOF'
203.0.113.0/24 64500
198.51.100.0/24 64500
198.51.100.32/28 64500 alloc
EOF
cat >"$tmp/etc/customers.csv" <<'EOF'
id,name,cidrs,contact,tags
2001,Acme VPS,203.0.113.7,abuse@acme.example,vps
2002,Fanout Marketing,203.0.113.9,noc@fanout.example,
2003,Phished Mailbox Ltd,203.0.113.11,it@phished.example,
2004,Innocent Bakery,203.0.113.20,bakery@example.org,
2005,Quiet Relay,198.51.100.17,relay@example.net,never_suspend
2006,Bluebird Relay,198.51.100.32/28,postmaster@bluebird.example,mail never_suspend
EOF
cat >"$tmp/etc/lists.conf" <<'EOF'
[list "uceprotect-1"]
zone = dnsbl-1.uceprotect.test
scope = ip
expiry = 7d
interval = 2s
fast_interval = 2s
max_qps = 300

[list "uceprotect-2"]
zone = dnsbl-2.uceprotect.test
scope = range
expiry = 7d
interval = 2s
max_qps = 300
EOF
conf() {	# conf DRY_RUN -> the config
	cat <<EOF
[rangewatch]
prefixes = prefixes.txt
customers = customers.csv
lists = lists.conf
interface = bprov
nameserver = $DNS
state_dir = $tmp/state
socket = $tmp/run/rw.sock
pidfile = $tmp/run/rangewatchd.pid
user = nobody

[risk]
; each spammer past one rule of its own within the minute, no baseline needed; the
; neighbour's steady mail (a few dozen sessions an hour, 2 MX) past none
conn_per_hour = 100
rcpt_per_hour = 100
mx_per_hour = 10
rejections_cited_per_hour = 3

[alert]
smtp_url = smtp://$SINK:587
; the test's sink speaks no TLS
tls = none
from = rangewatch@provider.example
to = abuse@provider.example
to_act = oncall@provider.example
digest = 0

[hook]
path = $tmp/hookbin/hook.sh
user = $HOOK_USER
timeout = 10
auto_suspend = yes
dry_run = $1
; three spammers in one /24, each suspended in dry run and then for real: 6 in the hour
max_per_range = 6
EOF
}
conf yes >"$tmp/etc/rangewatch.conf"
chmod -R a+rX "$tmp"

# sql, rwc (the CLI in the root namespace: the socket is a file), raw, js, poll, level_of
. "$(dirname "$0")/daemon/helpers.sh"
ready() { [ "$(rwc status --json 2>/dev/null | js 'd["pid"]' 2>/dev/null)" = "$dpid" ]; }
start() {
	# 9>&-: the send lock (below) is not the daemon's to keep
	ip netns exec "$bns" "$RW_BIN/rangewatchd" -f -c "$tmp/etc/rangewatch.conf" \
	    >>"$tmp/daemon.log" 2>&1 9>&- &
	dpid=$!	# ip netns exec execs the daemon: the same pid
	pids="$pids $dpid"
	t_start=$(date +%s)
	poll 20 ready || { echo "FAIL daemon not answering:"; cat "$tmp/daemon.log"; exit 1; }
}
stop() {
	kill -TERM "$dpid"; wait "$dpid"; rc=$?
	[ $rc = 0 ] && ok "SIGTERM: clean exit" || bad "SIGTERM: exit $rc"
}
levels() { rwc customers --all --json | js '" ".join("%s=%s" % (c["id"], c["level"]) for c in sorted(d["customers"], key=lambda c: c["id"]))'; }
# every level the neighbour 2004 was seen at, for "never past watch"
seen2004() { level_of 2004 >>"$tmp/levels2004"; }
SPAM="2001 2002 2003"
all_act() {
	seen2004
	for c in $SPAM; do [ "$(level_of "$c")" = act ] || return 1; done
}
act2003() { seen2004; [ "$(level_of 2003)" = act ]; }
lists_ok() { [ "$(rwc status --json | js '" ".join(l["health"] for l in d["lists"])')" = "ok ok" ]; }
nb24() {	# nb24 EXPR -> EXPR over the /24's uceprotect-2 row of `ranges --json` (as n)
	rwc ranges --json | js "[$1 for n in d['neighbourhoods'] if n['key']=='203.0.113.0/24' and n['policy']=='uceprotect-2']"
}
calls() { n=$(grep -c "argv=$1|.*|dry=$2|" "$tmp/hook/calls.log" 2>/dev/null); echo "${n:-0}"; }

start
echo "rangewatchd pid $dpid in $bns"
uid=$(awk '/^Uid:/ {print $2 "," $3 "," $4 "," $5}' "/proc/$dpid/status")
nb=$(id -u nobody)
expect "uids after start (real, effective, saved, fs)" "$nb,$nb,$nb,$nb" "$uid"
expect "effective capabilities" 0000000000000000 "$(awk '/^CapEff:/ {print $2}' "/proc/$dpid/status")"
st=$(rwc status --json)
expect "status clock" live "$(echo "$st" | js 'd["clock"]')"
expect "capture source and interface" "interface bprov" "$(echo "$st" | js 'd["capture"]["source"] + " " + d["capture"]["interface"]')"
poll 20 lists_ok && ok "both lists healthy (test points answered by rbldnsd across the border)" ||
    bad "lists not healthy: $(rwc status --json | js 'd["lists"]')"

# ------------------------------------------------------------------ the traffic
# sw CLIENT MX TO [SWAKS ARGS]: one SMTP session from CLIENT (one swaks run, one connection),
# under a shared lock that the restart takes exclusively: nothing is sent while no daemon
# captures, so every session must be in its counts.
sent_file=$tmp/sent
: >"$sent_file"
sw() {
	c=$1; m=$2; to=$3; shift 3
	flock -s "$tmp/send.lock" ip netns exec "$pns" swaks --server "$m" --local-interface "$c" \
	    --helo "client.test" --from "sender@$c.example" --to "$to" --silent 2 "$@" \
	    >>"$tmp/swaks.out" 2>&1
	rc=$?
	# 0: delivered (a refused recipient among accepted ones still delivers)
	echo "$c $m $rc" >>"$sent_file"
}
# the neighbour's mail, all through the test, until $tmp/stop
neighbour() {
	k=0
	while [ ! -e "$tmp/stop" ]; do
		sw 203.0.113.20 "198.18.0.$((25 + k % 2))" "orders@flour$((k % 2)).example" \
		    --header "Subject: bread order $k"
		k=$((k + 1))
		sleep 4
	done
}
# A minute boundary in the middle of the bursts would split them over two evaluations:
# start them with at least 20 s of the minute left.
while [ $(( $(date +%s) % 60 )) -gt 40 ]; do sleep 1; done
t_send=$(date +%s)
neighbour 9>&- &
nbr_pid=$!
pids="$pids $nbr_pid"
sw 198.51.100.17 198.18.0.27 "list@members.example" --header "Subject: relay 1"
sw 198.51.100.17 198.18.0.28 "list@members.example" --header "Subject: relay 2"
sw 198.51.100.34 198.18.0.29 "news@subscribers.example" --header "Subject: newsletter 1"
sw 198.51.100.34 198.18.0.30 "news@subscribers.example" --header "Subject: newsletter 2"
# shellcheck disable=SC2086  # the MX addresses, one word each
set -- $MX
# 2001: 5 sessions to 2 MX, 40 recipients each
i=0
while [ $i -lt 5 ]; do
	to=$(seq 1 40 | sed "s/.*/u&s$i@victims$((i % 2)).example/" | paste -sd, -)
	sw 203.0.113.7 "198.18.0.$((25 + i % 2))" "$to" --header "Subject: cheap pills $i"
	i=$((i + 1))
done
# 2002: one mail to each of 12 MX
for m in $1 $2 $3 $4 $5 $6 $7 $8 $9 ${10} ${11} ${12}; do
	sw 203.0.113.9 "$m" "info@$m.example" --header "Subject: special offer"
done
# 2003: 6 sessions to 3 MX, the first recipient a trap the MX refuses citing UCEPROTECT
i=0
while [ $i -lt 6 ]; do
	sw 203.0.113.11 "198.18.0.$((25 + i % 3))" "trap$i@victim.example,friend$i@victim.example" \
	    --header "Subject: invoice $i"
	i=$((i + 1))
done
t_sent=$(date +%s)
echo "the bursts: $(grep -vc '^203.0.113.20 ' "$sent_file") sessions in $((t_sent - t_send)) s (the neighbour sends on)"
grep -vq ' 0$' "$sent_file" && bad "some swaks runs failed: $(grep -v ' 0$' "$sent_file" | head -n 3 | tr '\n' ';') $(tail -n 5 "$tmp/swaks.out")"

# ------------------------------------------------------------------ 1. act on traffic alone
poll 100 act2003 && ok "2003 reaches act on its traffic ($(($(date +%s) - t_sent)) s after the bursts)" ||
    bad "levels $(levels) $(($(date +%s) - t_sent)) s after the bursts"
t_act=$(date +%s)
sleep 2		# the same evaluation's other levels
for c in 2001 2002; do
	case $(level_of $c) in watch|warn) ok "$c below act on volume or fan-out alone: $(level_of $c)";;
	*) bad "$c at $(level_of $c) before any list has it";; esac
done
rj=$(rwc ranges --json)
echo "$rj" >"$tmp/ranges.act.json"
expect "the /24 at act time: impacts/threshold, reported, suspects, escalated" "[(1, 4, 1, 2, False)]" \
    "$(echo "$rj" | js '[(n["impacts"], n["threshold"], n["provisional"], n["suspects"], n["escalated"]) for n in d["neighbourhoods"] if n["key"]=="203.0.113.0/24" and n["policy"]=="uceprotect-2"]')"
expect "its forecast: threshold reached in the future (eta_threshold > now), not cleared" "[(True, None)]" \
    "$(echo "$rj" | js '[(n["eta_threshold"] is not None and n["eta_threshold"] > '"$t_act"', n["clear_at"]) for n in d["neighbourhoods"] if n["key"]=="203.0.113.0/24" and n["policy"]=="uceprotect-2"]')"
expect "its contributors" "['2001', '2002', '2003']" \
    "$(echo "$rj" | js 'sorted(c["id"] for n in d["neighbourhoods"] if n["key"]=="203.0.113.0/24" and n["policy"]=="uceprotect-2" for c in n["contributors"])')"
cj=$(rwc customers --json)
echo "$cj" >"$tmp/customers.act.json"
expect "worst first: the one at act" "2003" "$(echo "$cj" | js 'd["customers"][0]["id"]')"
# each by the rule its traffic breaks, and only that one
for x in "2001 203.0.113.7 rcpt" "2002 203.0.113.9 fanout" "2003 203.0.113.11 cited,reported_listed"; do
	# shellcheck disable=SC2086  # three words
	set -- $x
	cd1=$(rwc customers "$1" --json)
	echo "$cd1" >"$tmp/c$1.json"
	expect "$2 suspect, by which rules" "True $3" \
	    "$(echo "$cd1" | js '"".join("%s %s" % (a["suspect"], ",".join(sorted(a["rules"]))) for a in d["addresses"] if a["ip"]=="'"$2"'")')"
	ev=$(echo "$cd1" | js '" / ".join(d["evidence"])')
	for w in "$2" 203.0.113.0/24; do
		case $ev in *"$w"*) ok "$1's evidence names $w";; *) bad "$1's evidence lacks $w: $ev";; esac
	done
done
echo "2001's evidence: $(js '" / ".join(d["evidence"])' <"$tmp/c2001.json")"
sent() { awk -v c="$1" '$1 == c' "$sent_file" | wc -l; }
S7=$(sent 203.0.113.7); S9=$(sent 203.0.113.9); S11=$(sent 203.0.113.11)
h_send=$((t_send / 3600)); h_now=$(($(date +%s) / 3600))
if [ "$h_send" = "$h_now" ]; then
	expect "2001 smtp_1h (sessions rcpt 5xx cited dst)" "$S7 200 0 0 2" \
	    "$(js '"%d %d %d %d %d" % tuple(d["smtp_1h"][k] for k in ("sessions","rcpt","replies_5xx","cited","dst"))' <"$tmp/c2001.json")"
	expect "2002 smtp_1h" "$S9 12 0 0 12" \
	    "$(js '"%d %d %d %d %d" % tuple(d["smtp_1h"][k] for k in ("sessions","rcpt","replies_5xx","cited","dst"))' <"$tmp/c2002.json")"
	expect "2003 smtp_1h" "$S11 12 6 6 3" \
	    "$(js '"%d %d %d %d %d" % tuple(d["smtp_1h"][k] for k in ("sessions","rcpt","replies_5xx","cited","dst"))' <"$tmp/c2003.json")"
else
	echo "note: an hour boundary passed since the bursts: smtp_1h is the sliding approximation"
fi
expect "2001 sparkline: sessions in 24 h" "$S7" "$(js 'sum(d["spark"])' <"$tmp/c2001.json")"
expect "2003 address 203.0.113.11 counters" \
    "sessions=$S11 mail_from=$S11 rcpt_to=12 data=$S11 5xx=6 cited=6 dst=3" \
    "$(js '"".join("sessions=%d mail_from=%d rcpt_to=%d data=%d 5xx=%d cited=%d dst=%d" % (a["sessions"], a["mail_from"], a["rcpt_to"], a["data"], a["replies_5xx"], a["cited"], a["dst"]) for a in d["addresses"] if a["ip"]=="203.0.113.11")' <"$tmp/c2003.json")"
expect "2005 (another /24) and 2006 (the /28)" "none none" "$(level_of 2005) $(level_of 2006)"

# the dry-run hook for 2003, and its ACT mail
hooked() { [ "$(calls "suspend 2003" 1)" -ge 1 ]; }
poll 20 hooked && ok "the dry-run hook ran for 2003" || bad "hook calls: $(cat "$tmp/hook/calls.log" 2>/dev/null)"
mails() { find "$tmp/mail" -name "[!.]*.eml" | wc -l; }
act_mail() { grep -l "ACT 2003" "$tmp/mail"/*.eml >/dev/null 2>&1; }
poll 30 act_mail && ok "2003's ACT mail reached the abuse desk" || bad "mails at the desk: $(mails)"
expect "the hook for nobody else" 1 "$(grep -c . "$tmp/hook/calls.log")"

# ------------------------------------------------------------------ 2. L1 lists the spammers
zone "$tmp/zones/l1.zone" "$L1_HEAD
203.0.113.50
203.0.113.7
203.0.113.9
203.0.113.11
198.51.100.40"
t_l1=$(date +%s)
echo "L1 lists 203.0.113.7, .9, .11 and 198.51.100.40 ($((t_l1 - t_begin)) s into the test)"
at_threshold() { seen2004; [ "$(nb24 '(n["impacts"], n["threshold"])')" = "[(4, 4)]" ]; }
poll 30 at_threshold && ok "the /24 reaches its threshold, 4 of 4 ($(($(date +%s) - t_l1)) s after the zone change)" ||
    bad "the /24: $(nb24 'n')"
expect "its forecast now: threshold already there (eta 0), clears in the future" "[(0, True)]" \
    "$(nb24 '(n["eta_threshold"], n["clear_at"] is not None and n["clear_at"] > '"$t_l1"')')"
all_act && ok "2001 and 2002 at act now that a list has them" || bad "levels $(levels)"
hooked3() { for c in $SPAM; do [ "$(calls "suspend $c" 1)" -ge 1 ] || return 1; done; }
poll 20 hooked3 && ok "the dry-run hook ran for 2001 and 2002 too" || bad "hook calls: $(cat "$tmp/hook/calls.log")"
# the order that matters: the strong-evidence spammer's act flag before the listing that made
# the 4th impact (volume-only 2001 and 2002 act once listed)
expect "2003's act flag before the listing events that brought the /24 to 4" "2003" \
    "$(sql "SELECT f.customer FROM flag_history f WHERE f.level = 'act' AND f.customer IN ('2001', '2002', '2003') AND f.ts < (SELECT max(ts) FROM listing_event WHERE list = 'uceprotect-1' AND event = 'listed' AND key IN ('203.0.113.7', '203.0.113.9', '203.0.113.11')) ORDER BY f.customer" | tr '\n' ' ' | sed 's/ $//')"
lj=$(rwc listings --json)
expect "listings: 203.0.113.7 on uceprotect-1 (listed, customer, TXT)" \
    "True 2001 Your IP 203.0.113.7 is listed in UCEPROTECT-Level1" \
    "$(echo "$lj" | js '" ".join("%s %s %s" % (l["listed"], l["customer"], l["txt"]) for l in d["listings"] if l["list"]=="uceprotect-1" and l["key"]=="203.0.113.7")')"
expect "listings: the unassigned 203.0.113.50, no customer" "True None" \
    "$(echo "$lj" | js '" ".join("%s %s" % (l["listed"], l["customer"]) for l in d["listings"] if l["list"]=="uceprotect-1" and l["key"]=="203.0.113.50")')"
r=$(raw '{"v":1,"id":7,"cmd":"listings","list":"uceprotect-1"}')
expect "raw request on the socket: ok, id, uceprotect-1 keys in the /24" "True 7 4" \
    "$(echo "$r" | js '"%s %s %d" % (d["ok"], d["id"], sum(1 for l in d["result"]["listings"] if l["listed"] and l["key"].startswith("203.0.113.")))')"
expect "2003 listed on uceprotect-1 (customer detail)" True \
    "$(rwc customers 2003 --json | js 'any(l["list"]=="uceprotect-1" and l["listed"] for a in d["addresses"] for l in a["listings"])')"
# the /28: one impact is its threshold; the /24 around it is another range and stays clean
b2006() { [ "$(level_of 2006)" = act ]; }
poll 20 b2006 && ok "2006 at act: its /28 listed once" || bad "2006 at $(level_of 2006)"
rj=$(rwc ranges --json)
expect "ranges: 198.51.100.32/28 at 1 of 1, contributor 2006; 198.51.100.0/24 without impact" \
    "[(1, 1, ['2006'])] []" \
    "$(echo "$rj" | js '[(n["impacts"], n["threshold"], [c["id"] for c in n["contributors"]]) for n in d["neighbourhoods"] if n["key"]=="198.51.100.32/28" and n["policy"]=="uceprotect-2"]') $(echo "$rj" | js '[n["impacts"] for n in d["neighbourhoods"] if n["key"]=="198.51.100.0/24" and n["impacts"] > 0]')"
expect "2005 beside the /28, in 198.51.100.0/24" none "$(level_of 2005)"

# ------------------------------------------------------------------ 3. L2 lists the /24
zone "$tmp/zones/l2.zone" "$L2_HEAD
203.0.113.0/24"
t_l2=$(date +%s)
escalated() { seen2004; [ "$(nb24 'n["escalated"]')" = "[True]" ]; }
poll 30 escalated && ok "ranges --json: the /24 escalated once L2 lists it ($(($(date +%s) - t_l2)) s)" ||
    bad "not escalated: $(nb24 'n')"
rwc ranges >"$tmp/ranges.txt" 2>&1
grep -q '^203\.0\.113\.0/24 .*ESCALATED' "$tmp/ranges.txt" && ok "rangewatch ranges shows it ESCALATED" ||
    bad "ranges text: $(cat "$tmp/ranges.txt")"
expect "escalated_since set, contributors the three" "True ['2001', '2002', '2003']" \
    "$(nb24 'n["escalated_since"] > 0' | tr -d '[]') $(rwc ranges --json | js 'sorted(c["id"] for n in d["neighbourhoods"] if n["key"]=="203.0.113.0/24" and n["policy"]=="uceprotect-2" for c in n["contributors"])')"
expect "the spammers still act" "act act act" "$(level_of 2001) $(level_of 2002) $(level_of 2003)"
rwc ack 2001 --reason "provider test: ticket 4711 opened" >"$tmp/ack.out" 2>&1 &&
    ok "operator ack: $(head -n 1 "$tmp/ack.out")" || bad "ack refused: $(cat "$tmp/ack.out")"
expect "audit row (alerts --json)" "ack 2001 provider test: ticket 4711 opened" \
    "$(rwc alerts --json | js '" ".join([d["audit"][0]["action"], d["audit"][0]["customer"], d["audit"][0]["reason"]])')"

# ------------------------------------------------------------------ 4. real mode by reload
conf no >"$tmp/etc/rangewatch.conf.new" && chmod a+r "$tmp/etc/rangewatch.conf.new" &&
    mv "$tmp/etc/rangewatch.conf.new" "$tmp/etc/rangewatch.conf"
kill -HUP "$dpid"
real() { for c in $SPAM; do [ "$(calls "suspend $c" 0)" -ge 1 ] || return 1; done; }
poll 20 real && ok "after the reload (dry_run = no) the hook ran for real for 2001, 2002, 2003" ||
    bad "real runs: $(grep -c 'dry=0' "$tmp/hook/calls.log" 2>/dev/null)"
sleep 2	# a second run would show by now
for c in $SPAM; do
	expect "$c: hook runs, dry run then real" "1 1" "$(calls "suspend $c" 1) $(calls "suspend $c" 0)"
done
line=$(grep "argv=suspend 2002|.*|dry=0|" "$tmp/hook/calls.log" | head -n 1)
echo "     $line"
for w in "uid=$(id -u "$HOOK_USER")|" "action=suspend|" "id=2002|" "name=Fanout Marketing|" "level=act|" "op=|" \
    "ips=203.0.113.9|" "env=0|"; do
	case $line in *"$w"*) ok "real run's environment: $w";; *) bad "real run's environment lacks $w";; esac
done
expect "the evidence on its stdin" "2002 act" \
    "$($PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["id"], d["level"])' "${line##*stdin=}")"
expect "suspensions in the store (customer, state, dry_run)" "2001|suspended|0 2002|suspended|0 2003|suspended|0" \
    "$(sql "SELECT customer, state, dry_run FROM suspension ORDER BY customer" | tr '\n' ' ' | sed 's/ $//')"

# ------------------------------------------------------------------ 5. restart
snap() {	# snap LEVELS [MINUTE]: the state that must survive; minute rows before MINUTE
	{
		echo "levels: $1"
		echo "flags:"; sql "SELECT customer, level, since, history_id, ack_by, ack_reason FROM flag ORDER BY customer"
		echo "history:"; sql "SELECT id, ts, customer, level, previous FROM flag_history ORDER BY id"
		echo "events:"; sql "SELECT id, ts, event, list, key FROM listing_event ORDER BY id"
		echo "audit:"; sql "SELECT id, ts, actor, action, customer, reason, outcome FROM audit ORDER BY id"
		echo "outbox:"; sql "SELECT id, kind, customer, level, created, state, subject, recipients FROM outbox ORDER BY id"
		echo "suspensions:"; sql "SELECT customer, state, since, dry_run, audit_id FROM suspension ORDER BY customer"
		echo "minutes:"; sql "SELECT ip, ts, sessions, rcpt_to, replies_5xx, cited FROM traffic_minute WHERE ts < ${2:-9999999999} ORDER BY ip, ts"
	}
}
lv=$(levels)
echo "levels before the restart: $lv"
exec 9>"$tmp/send.lock"
flock 9	# no mail while no daemon captures
stop
snap "$lv" >"$tmp/before"
t_restart=$(date +%s)
start
after_restart() {	# after_restart WHEN [MINUTE]: the snapshot against the one before the stop
	snap "$(levels)" "${2:-}" >"$tmp/after"
	ref=$tmp/before
	if [ -n "${2:-}" ]; then
		# the minute rows before MINUTE only: the stop's snapshot cut the same way
		ref=$tmp/before.cut
		awk -v m="$2" '/^minutes:$/ {r = 1; print; next} !r {print; next} {split($0, f, "|"); if (f[2] < m) print}' \
		    "$tmp/before" >"$ref"
	fi
	if cmp -s "$ref" "$tmp/after"; then
		ok "after restart ($1): levels, flags, history, listing events, audit, outbox, suspensions, minute rows the same"
	else bad "after restart ($1): the state differs:"; diff "$ref" "$tmp/after" | head -n 20; fi
}
after_restart "at once"
flock -u 9
exec 9>&-
expect "uids after restart" "$nb,$nb,$nb,$nb" "$(awk '/^Uid:/ {print $2 "," $3 "," $4 "," $5}' "/proc/$dpid/status")"
# the first minute's work of the new daemon: its evaluation and the probe's re-checks
b=$(( (t_start / 60 + 1) * 60 ))
evaluated() { seen2004; [ "$(rwc status --json | js 'd["evaluated"]')" -ge "$b" ]; }
poll 75 evaluated && sleep 3 || bad "no evaluation after the restart"
# the neighbour sent on meanwhile: the minute rows from the restart's minute on grow
after_restart "after its first minute" $((t_restart / 60 * 60))
c1=$(rwc customers 2001 --json)
expect "2001 sparkline after restart: sessions in 24 h" "$S7" "$(echo "$c1" | js 'sum(d["spark"])')"
if [ "$h_send" = "$(($(date +%s) / 3600))" ]; then
	expect "2001 smtp_1h.sessions after restart" "$S7" "$(echo "$c1" | js 'd["smtp_1h"]["sessions"]')"
else
	echo "note: an hour boundary passed since the bursts: smtp_1h is the sliding approximation"
fi
expect "hook runs after the restart: still one dry, one real per spammer" "1 1 1 1 1 1" \
    "$(for c in $SPAM; do printf '%s %s ' "$(calls "suspend $c" 1)" "$(calls "suspend $c" 0)"; done | sed 's/ $//')"
expect "no repeated listing event (same event twice in a row for a key)" "" \
    "$(sql "SELECT a.list, a.key, a.event FROM listing_event a JOIN listing_event b ON a.list = b.list AND a.key = b.key AND b.id = (SELECT min(id) FROM listing_event WHERE list = a.list AND key = a.key AND id > a.id) WHERE a.event = b.event")"
expect "no repeated flag (same level twice in a row for a customer)" "" \
    "$(sql "SELECT a.customer, a.level FROM flag_history a JOIN flag_history b ON a.customer = b.customer AND b.id = (SELECT min(id) FROM flag_history WHERE customer = a.customer AND id > a.id) WHERE a.level = b.level")"

# ------------------------------------------------------------------ the neighbour
: >"$tmp/stop"
wait "$nbr_pid"
seen2004
expect "2004's levels seen while polling, other than none and watch" "" \
    "$(sort -u "$tmp/levels2004" | grep -vE '^(none|watch)$' | tr '\n' ' ')"
expect "flag_history: 2004 never past watch, 2005 never flagged" "" \
    "$(sql "SELECT customer, level FROM flag_history WHERE (customer = '2004' AND level IN ('warn', 'act')) OR (customer = '2005' AND level != 'none')")"
expect "2004 never suspended: no hook call, no audit row, no suspension" "0 0 0" \
    "$(grep -c 'id=2004|' "$tmp/hook/calls.log") $(sql "SELECT count(*) FROM audit WHERE customer = '2004'") $(sql "SELECT count(*) FROM suspension WHERE customer = '2004'")"
expect "2006 (never_suspend) at act, never suspended: hook calls, suspensions" "0 0" \
    "$(grep -c 'id=2006|' "$tmp/hook/calls.log") $(sql "SELECT count(*) FROM suspension WHERE customer = '2006'")"
expect "the hook's calls in all: 3 dry runs, 3 real" 6 "$(grep -c . "$tmp/hook/calls.log")"
S20=$(sent 203.0.113.20)
echo "the neighbour sent $S20 mails over $(($(date +%s) - t_send)) s"

# ------------------------------------------------------------------ the abuse desk's mail
# ACT for the three and 2006; WATCH (or WARN) for 2001 and 2002 before their listing
expect "outbox: 6 mails, all sent" "6 6" \
    "$(sql "SELECT count(*), sum(state = 'sent') FROM outbox WHERE kind = 'mail'" | tr '|' ' ')"
$PY - "$tmp/mail" >"$tmp/parsed.txt" <<'PYEOF'
import email, email.policy, os, sys, collections
d = sys.argv[1]
msgs = []
for n in sorted(os.listdir(d)):
    if n.endswith(".eml") and not n.startswith("."):
        raw = open(os.path.join(d, n), "rb").read()
        msgs.append((n, raw, email.message_from_bytes(raw, policy=email.policy.default)))
print("count", len(msgs))
print("dup_message_ids", sum(1 for v in collections.Counter(m["Message-ID"] for _, _, m in msgs).values() if v > 1))
for n, raw, m in sorted(msgs, key=lambda x: str(x[2]["Subject"])):
    s = str(m["Subject"])
    cid = s.split()[2] if len(s.split()) > 2 else "?"
    print("subject", cid, s)
    print("headers", cid, all(m[h] for h in ("Date", "Message-ID", "From", "To", "Subject", "MIME-Version")))
    print("rcpt", cid, n.split(".", 1)[1][:-4])
    body = m.get_content()
    if cid == "2006":
        words = ("198.51.100.40: first seen", "listed on uceprotect-1 since",
                 "Your IP 198.51.100.40 is listed in UCEPROTECT-Level1",
                 "198.51.100.32/28 clears around", "not suspended automatically: tagged never_suspend",
                 "rangewatch customers 2006")
    else:
        ip = {"2001": "203.0.113.7", "2002": "203.0.113.9", "2003": "203.0.113.11"}.get(cid, "?")
        rule = {"2001": "rcpt", "2002": "fanout", "2003": "cited"}.get(cid, "?")
        if " ACT " not in s:
            continue        # 2001's and 2002's first, lower level
        words = (ip + " (suspect)", "suspect by: " + rule, "Forecast",
                 "203.0.113.0/24 reaches its threshold around" if cid == "2003" else
                 "203.0.113.0/24 clears around",
                 "suspend hook started in dry-run mode", "rangewatch customers " + cid)
    for w in words:
        print("body_has", cid, w.replace(" ", "_"), w in body)
PYEOF
sed 's/^/     /' "$tmp/parsed.txt"
expect "mails at the desk, no Message-ID twice" "count 6 dup_message_ids 0" \
    "$(grep -E '^(count|dup_message_ids)' "$tmp/parsed.txt" | tr '\n' ' ' | sed 's/ $//')"
subj=$(sed -n 's/^subject //p' "$tmp/parsed.txt" | grep ' ACT ')
echo "$subj" | sed 's/^/     /'
expect "one ACT mail per spammer and for 2006" "2001 2002 2003 2006" "$(echo "$subj" | awk '{print $1}' | tr '\n' ' ' | sed 's/ $//')"
echo "$subj" | grep -Eq '^2003 \[rangewatch\] ACT 2003 Phished Mailbox Ltd: 203\.0\.113\.0/24 at 1/4 impacts toward uceprotect-2 \(\+1 reported\)( ~[0-9.]+ estimated)?$' &&
    ok "2003's ACT subject: the /24 at 1 of 4, its own IP reported listed" || bad "2003's subject: $subj"
n=$(echo "$subj" | grep -Ec '^200[12] \[rangewatch\] ACT 200[12] (Acme VPS|Fanout Marketing): 203\.0\.113\.0/24 at 4/4 impacts toward uceprotect-2( ~[0-9.]+ estimated)?$')
expect "2001's and 2002's ACT subjects: the /24 at 4 of 4" 2 "$n"
expect "2006's ACT subject" "2006 [rangewatch] ACT 2006 Bluebird Relay: 198.51.100.32/28 at 1/1 impacts toward uceprotect-2" \
    "$(echo "$subj" | grep '^2006 ')"
expect "RFC 5322 headers (every mail), ACT to the desk and the on-call" \
    "6 4" "$(grep -c '^headers .* True' "$tmp/parsed.txt") $(grep -c '^rcpt .* abuse@provider.example+oncall@provider.example$' "$tmp/parsed.txt")"
expect "the evidence in every body (address, rule or listing, forecast, action, how to look)" "24 0" \
    "$(grep -c '^body_has .* True$' "$tmp/parsed.txt") $(grep -c '^body_has .* False$' "$tmp/parsed.txt")"
grep '^body_has .* False$' "$tmp/parsed.txt" | sed 's/^/     missing: /'

# ------------------------------------------------------------------ counts vs the references
sleep 1	# the last FIN/ACKs
kill -INT "$dump_pid"; wait "$dump_pid" 2>/dev/null
expect "the reference capture: frames dropped by the kernel" 0 \
    "$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel$/\1/p' "$tmp/tcpdump.err")"
st=$(rwc status --json)
expect "capture drops (kernel, interface)" "0 0" "$(echo "$st" | js '"%d %d" % (d["capture"]["drops"], d["capture"]["ifdrops"])')"
stop	# writes the minute in progress
grep -vq ' 0$' "$sent_file" && bad "some swaks runs failed: $(grep -v ' 0$' "$sent_file" | head -n 3 | tr '\n' ';')"
S17=$(sent 198.51.100.17); S34=$(sent 198.51.100.34)
swaks_n="198.51.100.17=$S17 198.51.100.34=$S34 203.0.113.11=$S11 203.0.113.20=$S20 203.0.113.7=$S7 203.0.113.9=$S9"
expect "sessions the MX saw per client = swaks runs" "$swaks_n" \
    "$(awk '$1 == "session" {n[$2]++} END {for (c in n) print c "=" n[c]}' "$tmp/mx.log" | sort | tr '\n' ' ' | sed 's/ $//')"
expect "trap recipients refused by the MX (all 2003's)" "6 6" \
    "$(grep -c '^reject ' "$tmp/mx.log") $(grep -c '^reject 203.0.113.11 ' "$tmp/mx.log")"
expect "RCPT per spammer in the MX log (accepted in its messages + refused)" \
    "203.0.113.11=12 203.0.113.7=200 203.0.113.9=12" \
    "$(awk '$1 == "data" {n[$2] += $3} $1 == "reject" {n[$2]++} END {for (c in n) if (c ~ /^203\.0\.113\.(7|9|11)$/) print c "=" n[c]}' "$tmp/mx.log" | sort | tr '\n' ' ' | sed 's/ $//')"
$PY "$TESTS/tshark_ref.py" --prefixes "$tmp/etc/prefixes.txt" "$tmp/live.pcap" >"$tmp/tshark.json" 2>"$tmp/tshark.err" ||
    bad "tshark_ref failed: $(cat "$tmp/tshark.err")"
want=$($PY -c 'import json,sys; print(" ".join("%s=%d" % (i["ip"], i["sessions"]) for i in sorted(json.load(open(sys.argv[1]))["ips"], key=lambda i: i["ip"])))' "$tmp/tshark.json")
expect "tshark: completed handshakes per client = swaks runs" "$swaks_n" "$want"
tref() { $PY -c 'import json,sys; d=[i for i in json.load(open(sys.argv[1]))["ips"] if i["ip"]==sys.argv[2]]; print("rcpt=%d 5xx=%d cited=%d dst=%d" % (d[0]["rcpt_to"], d[0]["replies_5xx"], d[0]["rejections_citing"].get("uceprotect-1", 0), d[0]["dst_ips"]) if d else "none")' "$tmp/tshark.json" "$1"; }
expect "tshark on 203.0.113.7" "rcpt=200 5xx=0 cited=0 dst=2" "$(tref 203.0.113.7)"
expect "tshark on 203.0.113.9" "rcpt=12 5xx=0 cited=0 dst=12" "$(tref 203.0.113.9)"
expect "tshark on 203.0.113.11" "rcpt=12 5xx=6 cited=6 dst=3" "$(tref 203.0.113.11)"
sums() { sql "SELECT ip, sum(sessions) FROM traffic_minute GROUP BY ip ORDER BY ip" | sed 's/|/=/' | tr '\n' ' ' | sed 's/ $//'; }
expect "sessions per IP in the minute rows, across the restart = tshark" "$want" "$(sums)"
msum() { sql "SELECT sum(rcpt_to) || ' ' || sum(replies_5xx) || ' ' || sum(cited) FROM traffic_minute WHERE ip = '$1'"; }
expect "minute rows rcpt 5xx cited: .7 .9 .11 .20" "200 0 0|12 0 0|12 6 6|$S20 0 0" \
    "$(msum 203.0.113.7)|$(msum 203.0.113.9)|$(msum 203.0.113.11)|$(msum 203.0.113.20)"

echo "took $(($(date +%s) - t_begin)) s"
if [ "$fail" -ne 0 ]; then
	echo "--- rangewatchd said:"; tail -n 40 "$tmp/daemon.log"
	echo "--- rbldnsd said:"; cat "$tmp/rbldnsd.out"
	echo "--- the hook calls:"; cat "$tmp/hook/calls.log" 2>/dev/null
fi
exit "$fail"
