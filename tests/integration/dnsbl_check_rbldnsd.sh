#!/bin/sh
# `rangewatch check` against a real rbldnsd serving five emulated lists (zones in
# tests/integration/dnsbl/): an L1-like ip4set (TXT with "$", two codes), an L2-like
# range-scope ip4trie (a /24, a registered /26 inside a /24, a /16), an L3-like asn-scope
# zone, a list refusing our resolver (127.255.255.254 for everything) and a dead list
# (answers everything, 127.0.0.1 too). Checks statuses, codes, TXT, reasons, keys, the text
# table, the exit codes, and in rbldnsd's query log: one query per range and per ASN, TXT
# only for listings, nothing asked of an unhealthy list beyond its test points.
# shellcheck source=dnsbl/lib.sh disable=SC2015  # ok() never fails: A && ok || bad is safe
. "$(dirname "$0")/dnsbl/lib.sh"

for z in l1 l2 l3 blocked dead; do cp "$DNSBL_FIX/$z.zone" "$tmp/"; done
start_rbldnsd l1.test:ip4set:"$tmp/l1.zone" l2.test:ip4trie:"$tmp/l2.zone" \
	l3.test:ip4trie:"$tmp/l3.zone" zen.test:ip4trie:"$tmp/blocked.zone" \
	dead.test:ip4trie:"$tmp/dead.zone"
write_config "$tmp/c" "127.0.0.1:$RBL_PORT"
cat >"$tmp/c/lists.conf" <<'EOF'
[list "l1"]
zone = l1.test
scope = ip
max_qps = 1000
[list "l2"]
zone = l2.test
scope = range
[list "l3"]
zone = l3.test
scope = asn
txt = yes
[list "zen"]
zone = zen.test
scope = ip
code = 127.255.255.254 query via a public/open resolver refused
[list "dead"]
zone = dead.test
scope = ip
[list "off"]
zone = off.test
scope = ip
enabled = no
EOF

ips="192.0.2.9 192.0.2.10 192.0.2.11 198.51.100.7 198.51.100.8 203.0.113.5 203.0.113.70 203.0.113.71 100.64.0.1 2001:db8::1"
# shellcheck disable=SC2086
"$RW" check -c "$tmp/c/rangewatch.conf" --json $ips 192.0.2.10 >"$tmp/out.json" 2>"$tmp/err"
expect "exit code with a blocked and a dead list" 1 $?
J() { jget "$tmp/out.json" "$1"; }
expect "rows: 10 distinct IPs x 5 enabled lists" 50 "$(J 'len(rows)')"
expect "every row has the contract's fields" True \
	"$(J 'all(set(["ip","list","zone","scope","status","codes","txt"]) <= set(r) for r in rows)')"
expect "reason exactly on error and blocked rows" True \
	"$(J 'all(("reason" in r) == (r["status"] in ("error","blocked")) for r in rows)')"

echo "-- l1 (ip scope)"
expect "192.0.2.9 clean" "clean" "$(J 'row("192.0.2.9","l1")["status"]')"
expect "192.0.2.10 listed" "listed" "$(J 'row("192.0.2.10","l1")["status"]')"
expect "192.0.2.10 code" "127.0.0.2" "$(J 'row("192.0.2.10","l1")["codes"]')"
expect "192.0.2.10 TXT with \$ replaced" "Listed 192.0.2.10 on L1, see http://l1.test/?ip=192.0.2.10" \
	"$(J 'row("192.0.2.10","l1")["txt"]')"
expect "192.0.2.11 code 3" "127.0.0.3" "$(J 'row("192.0.2.11","l1")["codes"]')"
expect "192.0.2.11 TXT" "Other code for 192.0.2.11" "$(J 'row("192.0.2.11","l1")["txt"]')"
expect "zone and scope" "l1.test ip" "$(J 'row("192.0.2.11","l1")["zone"] + " " + row("192.0.2.11","l1")["scope"]')"
expect "IPv6 on a list without ipv6 = yes" "error: list does not support IPv6" \
	"$(J 'row("2001:db8::1","l1")["status"] + ": " + row("2001:db8::1","l1")["reason"]')"
expect "clean rows carry no codes and no TXT" True \
	"$(J 'all(r["codes"] == [] and r["txt"] == "" for r in rows if r["status"] == "clean")')"

echo "-- l2 (range scope: alloc block, else the /24)"
expect "198.51.100.7 listed via its /24" "listed 198.51.100.0/24" \
	"$(J 'row("198.51.100.7","l2")["status"] + " " + row("198.51.100.7","l2")["key"]')"
expect "198.51.100.8 shares the answer" "Net 198.51.100.0/24 is UCEPROTECT-Level2 listed because 5 abusers are hosted by Example Net/AS64500 there." \
	"$(J 'row("198.51.100.8","l2")["txt"]')"
expect "203.0.113.70 in the registered /26" "listed 203.0.113.64/26" \
	"$(J 'row("203.0.113.70","l2")["status"] + " " + row("203.0.113.70","l2")["key"]')"
expect "203.0.113.5 outside the /26: its /24 is clean" "clean 203.0.113.0/24" \
	"$(J 'row("203.0.113.5","l2")["status"] + " " + row("203.0.113.5","l2")["key"]')"
expect "192.0.2.9 range clean" "clean 192.0.2.0/24" \
	"$(J 'row("192.0.2.9","l2")["status"] + " " + row("192.0.2.9","l2")["key"]')"

expect "L2 TXT in fields: level, net, the list's own count, ASN, holder" \
	"2 198.51.100.0/24 5 64500 Example Net" \
	"$(J 'str(row("198.51.100.8","l2")["txt_info"]["level"]) + " " + row("198.51.100.8","l2")["txt_info"]["net"] + " " + str(row("198.51.100.8","l2")["txt_info"]["abusers"]) + " " + str(row("198.51.100.8","l2")["txt_info"]["asn"]) + " " + row("198.51.100.8","l2")["txt_info"]["holder"]')"
echo "-- l3 (asn scope)"
expect "203.0.113.5 listed by its ASN" "listed AS64501" \
	"$(J 'row("203.0.113.5","l3")["status"] + " " + row("203.0.113.5","l3")["key"]')"
expect "L3 TXT (\$ is the representative)" "Your ISP Other Net/AS64501 is UCEPROTECT-Level3 listed for hosting a total of 55 abusers. See: http://l3.test/?ipr=203.0.113.5" \
	"$(J 'row("203.0.113.71","l3")["txt"]')"
expect "L3 TXT in fields" "3 55 64501 Other Net" \
	"$(J 'str(row("203.0.113.71","l3")["txt_info"]["level"]) + " " + str(row("203.0.113.71","l3")["txt_info"]["abusers"]) + " " + str(row("203.0.113.71","l3")["txt_info"]["asn"]) + " " + row("203.0.113.71","l3")["txt_info"]["holder"]')"
expect "192.0.2.10 (AS64500) clean" "clean AS64500" \
	"$(J 'row("192.0.2.10","l3")["status"] + " " + row("192.0.2.10","l3")["key"]')"
expect "100.64.0.1 is not ours" "error: not in provider space" \
	"$(J 'row("100.64.0.1","l3")["status"] + ": " + row("100.64.0.1","l3")["reason"]')"

echo "-- zen (refuses our resolver) and dead (answers everything)"
expect "zen blocked everywhere" "blocked" "$(J '",".join(sorted(set(r["status"] for r in rows if r["list"] == "zen")))')"
expect "zen reason names the code" "127.255.255.254: query via a public/open resolver refused" \
	"$(J 'row("192.0.2.10","zen")["reason"]')"
expect "dead: error everywhere, never listed" "error" "$(J '",".join(sorted(set(r["status"] for r in rows if r["list"] == "dead")))')"
expect "dead reason" "test point 127.0.0.1 is listed (127.0.0.2): the list answers everything?" \
	"$(J 'row("198.51.100.7","dead")["reason"]')"
grep -q "list zen: blocked" "$tmp/err" && ok "stderr names the blocked list" || bad "stderr: $(cat "$tmp/err")"
expect "disabled list not asked" 0 "$(J 'len([r for r in rows if r["list"] == "off"])')"

echo "-- queries seen by rbldnsd"
expect "l1: 2 test points + 9 IPv4 IPs (192.0.2.10 given twice) + 3 TXT" 14 "$(queries '\.l1\.test (A|TXT) ')"
expect "l2: one A per range (5) + 2 test points" 7 "$(queries '\.l2\.test A ')"
expect "l2: the representatives (first given IP of each range)" \
	"1.0.64.100 5.113.0.203 7.100.51.198 70.113.0.203 9.2.0.192" \
	"$(grep -E ' [0-9.]+\.l2\.test A ' "$RBL_LOG" | grep -v '\.0\.0\.127\.l2' | awk '{print $3}' | sed 's/\.l2\.test$//' | sort | tr '\n' ' ' | sed 's/ $//')"
expect "l2: TXT only for the 2 listed ranges" 2 "$(queries '\.l2\.test TXT ')"
expect "l3: one A per ASN (2) + 2 test points" 4 "$(queries '\.l3\.test A ')"
expect "zen: only its 2 test points" 2 "$(queries '\.zen\.test ')"
expect "dead: only its 2 test points" 2 "$(queries '\.dead\.test ')"
expect "off: nothing" 0 "$(queries '\.off\.test ')"

echo "-- the text table"
"$RW" check -c "$tmp/c/rangewatch.conf" 192.0.2.10 203.0.113.70 >"$tmp/out.txt" 2>"$tmp/err"
expect "text exit code" 1 $?
grep -Eq '^  zen +zen\.test +ip +blocked: 127\.255\.255\.254: query via a public/open resolver refused$' "$tmp/out.txt" \
	&& ok "health line of zen" || bad "no health line for zen in: $(cat "$tmp/out.txt")"
grep -Eq '^  l1 +l1\.test +ip +ok$' "$tmp/out.txt" && ok "health line of l1" || bad "no ok line for l1"
grep -Eq '^192\.0\.2\.10 +l1 +listed +127\.0\.0\.2 +Listed 192\.0\.2\.10 on L1' "$tmp/out.txt" \
	&& ok "row 192.0.2.10 l1" || bad "row 192.0.2.10 l1 missing: $(cat "$tmp/out.txt")"
grep -Eq '^203\.0\.113\.70 +l2 +listed +127\.0\.0\.2 +\[203\.0\.113\.64/26\] Net 203\.0\.113\.64/26' "$tmp/out.txt" \
	&& ok "row 203.0.113.70 l2 with its range" || bad "row 203.0.113.70 l2 missing"
grep -Eq '^  l2 +2 IPs in 2 ranges: 1 listed, 1 clean, 0 error, 0 blocked$' "$tmp/out.txt" \
	&& ok "summary of l2" || bad "summary of l2 missing: $(grep -A9 summary "$tmp/out.txt")"

echo "-- exit 0 when every answer is listed or clean"
cat >"$tmp/c/lists.conf" <<'EOF'
[list "l1"]
zone = l1.test
scope = ip
EOF
"$RW" check -c "$tmp/c/rangewatch.conf" --json 192.0.2.10 192.0.2.9 >"$tmp/out.json" 2>"$tmp/err"
expect "exit with a listing and a clean answer" 0 $?
expect "statuses" "listed,clean" "$(J '[row("192.0.2.10","l1")["status"], row("192.0.2.9","l1")["status"]]')"

echo "-- usage and configuration errors exit 2"
"$RW" check -c "$tmp/c/rangewatch.conf" >/dev/null 2>"$tmp/err"
expect "no address" 2 $?
"$RW" check -c "$tmp/c/rangewatch.conf" 192.0.2.300 >/dev/null 2>"$tmp/err"
expect "bad address" "2 rangewatch: '192.0.2.300' is not an IP address or CIDR" "$? $(cat "$tmp/err")"
"$RW" check -c "$tmp/c/rangewatch.conf" 10.0.0.0/8 >/dev/null 2>"$tmp/err"
expect "a /8 is too big" 2 $?
"$RW" check -c "$tmp/nowhere.conf" 192.0.2.1 >/dev/null 2>"$tmp/err"
expect "missing config" 2 $?
grep -q "nowhere.conf" "$tmp/err" && ok "the message names it" || bad "message: $(cat "$tmp/err")"
if [ ! -e /etc/rangewatch/rangewatch.conf ]; then
	"$RW" check 192.0.2.1 >/dev/null 2>"$tmp/err"
	expect "default config absent" 2 $?
	grep -q "/etc/rangewatch/rangewatch.conf.*-c FILE" "$tmp/err" && ok "says so and how to give one" \
		|| bad "message: $(cat "$tmp/err")"
fi
printf '[list "x"]\nzone = x.test\nscope = galaxy\n' >"$tmp/c/lists.conf"
"$RW" check -c "$tmp/c/rangewatch.conf" 192.0.2.1 >/dev/null 2>"$tmp/err"
expect "bad lists file" 2 $?
grep -q "lists.conf:3" "$tmp/err" && ok "names FILE:LINE" || bad "message: $(cat "$tmp/err")"
finish
