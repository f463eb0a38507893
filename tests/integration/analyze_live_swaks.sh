#!/bin/sh
# Live: a real SMTP server (aiosmtpd on 127.0.0.2:25), tcpdump on lo, swaks sending a known
# set of sessions from 127.0.0.1; then `rangewatch analyze --json` must count exactly what swaks
# sent, and agree with tshark on the same capture (tests/compare.py). Needs root (port 25,
# capture on lo); exit 77 (skip) otherwise.
#
# Sessions (client 127.0.0.1 -> 127.0.0.2:25), each one TCP connection:
#   5 messages with 1, 2, 3, 4, 2 recipients          mail 5  rcpt 12  data 5
#   1 session quitting after RCPT, 3 recipients          mail 1  rcpt 3   data 0
#   1 message to a refused recipient and a good one:     mail 1  rcpt 2   data 1
#     the server answers "550 5.7.1 ... blocked using zen.spamhaus.org" to the first
#   1 message over STARTTLS, 2 recipients: STARTTLS accepted with 220; what follows is TLS,
#     so its MAIL/RCPT/DATA are not seen                 starttls 1
# Expected for 127.0.0.1: syn 8, sessions 8, dst_ips 1, mail_from 7, rcpt_to 17, data 6,
#   starttls 1, replies_4xx 0, replies_5xx 1, rejections_citing {zen: 1} (the list of etc/dnsbl.conf it names).
set -u
: "${RW_BIN:?RW_BIN must name the folder holding rangewatch}"
TESTS=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
skip() { echo "skip: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (listens on port 25, captures on lo)"
for t in tshark capinfos tcpdump swaks openssl ss; do
	command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
done
$PY -c 'import aiosmtpd' 2>/dev/null || skip "python3-aiosmtpd not installed"
[ -x "$RW_BIN/rangewatch" ] || { echo "FAIL: $RW_BIN/rangewatch missing"; exit 1; }
if ss -Hltn "sport = :25" 2>/dev/null | grep -qE '127\.0\.0\.2:25|0\.0\.0\.0:25|\*:25|\[::\]:25'; then
	skip "something already listens on port 25: $(ss -Hltn 'sport = :25' | head -n 1)"
fi

tmp=$(mktemp -d)
srv_pid=""
dump_pid=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
	[ -n "$dump_pid" ] && kill "$dump_pid" 2>/dev/null
	[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null
	[ -n "$dump_pid" ] && wait "$dump_pid" 2>/dev/null
	[ -n "$srv_pid" ] && wait "$srv_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The handler: refuses recipients starting with "blocked" naming Spamhaus, accepts the rest.
cat >"$tmp/rwtest_handler.py" <<'PYEOF'
class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("blocked"):
            return "550 5.7.1 Client host [127.0.0.1] blocked using zen.spamhaus.org"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        return "250 Message accepted for delivery"
PYEOF
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" \
	-days 2 -subj "/CN=mx.test" >/dev/null 2>&1 || { echo "FAIL: openssl could not make a certificate"; exit 1; }

PYTHONPATH="$tmp" $PY -m aiosmtpd -n -l 127.0.0.2:25 -c rwtest_handler.Handler \
	--tlscert "$tmp/cert.pem" --tlskey "$tmp/key.pem" --no-requiretls >"$tmp/aiosmtpd.log" 2>&1 &
srv_pid=$!
i=0
until ss -Hltn 'sport = :25' | grep -q '127.0.0.2:25'; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$srv_pid" 2>/dev/null; then
		echo "FAIL: aiosmtpd did not start listening on 127.0.0.2:25"; cat "$tmp/aiosmtpd.log"; exit 1
	fi
	sleep 0.1
done
echo "aiosmtpd listening on 127.0.0.2:25 (pid $srv_pid)"

# -Z root: tcpdump must write into the 0700 temp dir; -U --immediate-mode: write each packet
# at once (without them the last ring block may never reach the file when tcpdump stops).
tcpdump -i lo -n -U --immediate-mode -Z root -s 0 -w "$tmp/live.pcap" 'tcp port 25' 2>"$tmp/tcpdump.err" &
dump_pid=$!
i=0
until grep -q "listening on" "$tmp/tcpdump.err" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$dump_pid" 2>/dev/null; then
		echo "FAIL: tcpdump did not start"; cat "$tmp/tcpdump.err"; exit 1
	fi
	sleep 0.1
done
echo "tcpdump capturing on lo (pid $dump_pid)"

fail=0
sw() {
	swaks --server 127.0.0.2:25 --local-interface 127.0.0.1 --helo client.test \
		--from sender@example.com --silent 2 "$@" >"$tmp/swaks.out" 2>&1
	rc=$?
	echo "swaks $* -> exit $rc"
	return $rc
}
n=0
for to in "a1@example.net" "a1@example.net,a2@example.net" \
	"a1@example.net,a2@example.net,a3@example.net" \
	"a1@example.net,a2@example.net,a3@example.net,a4@example.net" \
	"b1@example.net,b2@example.net"; do
	n=$((n + 1))
	sw --to "$to" --header "Subject: rangewatch live test $n" || { echo "FAIL: swaks message $n"; cat "$tmp/swaks.out"; fail=1; }
done
sw --to "q1@example.net,q2@example.net,q3@example.net" --quit-after RCPT ||
	{ echo "FAIL: swaks --quit-after RCPT"; cat "$tmp/swaks.out"; fail=1; }
# One refused recipient: swaks goes on with the accepted one (exit 0 when at least one RCPT
# was accepted); a non-zero exit would only mean swaks saw the refusal, so just report it.
sw --to "blocked@example.net,ok@example.net" || echo "(swaks reports the refused recipient)"
sw --to "t1@example.net,t2@example.net" --tls || { echo "FAIL: swaks --tls"; cat "$tmp/swaks.out"; fail=1; }
[ $fail = 0 ] || exit 1

sleep 1                         # the last FIN/ACKs
kill -INT "$dump_pid"
wait "$dump_pid"
dump_pid=""
cat "$tmp/tcpdump.err"
echo "capture: $(capinfos -c -M "$tmp/live.pcap" | tail -n 1)"

$PY "$TESTS/compare.py" --rw "$RW_BIN/rangewatch" --label live.pcap --bpf \
	--expect-ip "127.0.0.1@syn=8,sessions=8,dst_ips=1,mail_from=7,rcpt_to=17,data=6,starttls=1,replies_4xx=0,replies_5xx=1" \
	--expect-rejections "127.0.0.1@zen=1" \
	"$tmp/live.pcap"
rc=$?
[ $rc = 0 ] && echo "PASS: analyze counted what swaks sent and agrees with tshark" && exit 0
echo "FAIL: see the MISMATCH lines above (compare.py exit $rc)"
exit 1
