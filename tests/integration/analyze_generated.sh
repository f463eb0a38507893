#!/bin/sh
# Generated captures (tests/gen_captures.py: one thing each -- encapsulations, IPv6 extension
# headers, IPv4 options, STARTTLS, pipelining, split lines, multi-line 5xx, DNSBL rejections,
# SYN retransmissions/refusals, long lines, snaplen-cut, malformed and fragment frames, pcapng,
# and a seeded mix of ~250 sessions) compared with tshark by tests/compare.py, field by field
# per client IP; the tshark reference is itself checked against the generator's ground truth.
# Each capture is also read with --bpf: the SMTP results (packets.smtp, ips, customers) must
# be identical; frames the filter drops are not read, so total/malformed count fewer.
# Then: three files in one analyze run (sums), and a run with -c CONFIG (prefixes + customers
# + lists) checking customer attribution, customers[] sums, and that clients outside the
# prefixes are absent. rejections_citing is per list of etc/dnsbl.conf everywhere (compare.py
# names it to analyze through a config when there is no -c), checked against the reference's
# own reading of the cite patterns.
set -u
: "${RW_BIN:?RW_BIN must name the folder holding rangewatch}"
TESTS=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
skip() { echo "skip: $*"; exit 77; }
for t in tshark capinfos editcap mergecap; do
	command -v "$t" >/dev/null 2>&1 || skip "$t not installed (Debian: tshark)"
done
$PY -c 'import scapy' 2>/dev/null || skip "python3-scapy not installed"
[ -x "$RW_BIN/rangewatch" ] || { echo "FAIL: $RW_BIN/rangewatch missing"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

$PY "$TESTS/gen_captures.py" "$tmp/caps" || { echo "FAIL: gen_captures.py"; exit 1; }
truth="$tmp/caps/truth.json"

failed=""
run() {         # run NAME compare.py-args...
	name=$1
	shift
	echo "=== $name"
	$PY "$TESTS/compare.py" --rw "$RW_BIN/rangewatch" "$@" >"$tmp/out" 2>&1
	rc=$?
	cat "$tmp/out"
	grep -E 'MISMATCH|ERROR' "$tmp/out" >>"$tmp/mismatches"
	[ $rc = 0 ] || failed="$failed $name"
}

for f in "$tmp"/caps/*.pcap "$tmp"/caps/*.pcapng; do
	case $f in */multi_if.pcapng) continue;; esac
	run "$(basename "$f")" --truth "$truth" --bpf "$f"
done

# A pcapng whose interfaces have different link types is beyond libpcap 1.10: analyze must
# say so and fail, not print an empty report with exit 0.
echo "=== multi_if.pcapng (interfaces of different link types)"
if "$RW_BIN/rangewatch" analyze --json "$tmp/caps/multi_if.pcapng" >"$tmp/out" 2>"$tmp/err"; then
	echo "MISMATCH multi_if.pcapng: analyze exited 0"; failed="$failed multi_if.pcapng"
elif ! grep -q 'multi_if.pcapng: .*different' "$tmp/err"; then
	echo "MISMATCH multi_if.pcapng: no clear error: $(cat "$tmp/err")"; failed="$failed multi_if.pcapng"
else
	echo "multi_if.pcapng: exit non-zero with: $(cat "$tmp/err") ok"
fi

# Several files in one run: the counters add up (the references summed, dst_ips as a union).
c="$tmp/caps"
run "3 files in one run" --truth "$truth" "$c/eth_basic.pcap" "$c/sll.pcap" "$c/raw_ip.pcap"

# With a config (paths relative to the config's folder; analyze runs from another cwd).
# Provider space: 192.0.2.0/24 (with a registered sub-allocation 192.0.2.128/25),
# 203.0.113.0/25, 2001:db8::/48.  Outside: 198.51.100.0/24, 203.0.113.128/25,
# 2001:db8:1::/48, 2001:db8:ffff::/48.
mkdir -p "$tmp/etc/lists"
cat >"$tmp/etc/lists/prefixes.txt" <<'CONF'
# CIDR ASN [alloc]
192.0.2.0/24 64500
192.0.2.128/25 64500 alloc
203.0.113.0/25 64500
2001:db8::/48 64501
CONF
cat >"$tmp/etc/lists/customers.csv" <<'CONF'
id,name,cidrs,contact,tags
4711,Acme VPS,192.0.2.10 192.0.2.11 2001:db8::25,abuse@acme.example,never_suspend
4712,"Beta, Hosting",192.0.2.128/25,noc@beta.example,
4713,Gamma,203.0.113.0/28,gamma@example.org,vip reseller
4714,Unused,192.0.2.240/29,x@example.org,
CONF
cp "$TESTS/../etc/dnsbl.conf" "$tmp/etc/lists/dnsbl.conf"
cat >"$tmp/etc/rangewatch.conf" <<'CONF'
[rangewatch]
prefixes = lists/prefixes.txt
customers = lists/customers.csv
lists = lists/dnsbl.conf
CONF
# 192.0.2.25, 192.0.2.77, 203.0.113.42 and 2001:db8:0:1::a are ours but no customer's (customer
# null). 100.64.9.9 sends to 192.0.2.53 (inbound): absent, but its frames count in packets.smtp.
absent="--absent 198.51.100.5 --absent 198.51.100.25 --absent 198.51.100.99 --absent 198.51.100.180
	--absent 203.0.113.129 --absent 203.0.113.250 --absent 2001:db8:1::7 --absent 2001:db8:ffff::1
	--absent 100.64.9.9"
cd / || exit 1
# shellcheck disable=SC2086
run "mixed.pcap -c" --config "$tmp/etc/rangewatch.conf" --bpf $absent "$c/mixed.pcap"
# shellcheck disable=SC2086
run "multiline_5xx.pcap -c" --config "$tmp/etc/rangewatch.conf" $absent "$c/multiline_5xx.pcap"

echo
if [ -n "$failed" ]; then
	echo "--- mismatches (first 30):"
	head -n 30 "$tmp/mismatches" | cut -c1-400
	echo "FAIL:$failed"
	exit 1
fi
echo "PASS: every generated capture agrees with tshark (and the generator's truth)"
