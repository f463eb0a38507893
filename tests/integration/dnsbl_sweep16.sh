#!/bin/sh
# A whole /16 (10.20.0.0/16, AS64502 in the test space) against rbldnsd: an ip4set listing
# every 97th address (676 of 65,536), the same file as a file source, and the L2-like
# range-scope zone listing the /16. The listed set must equal the brute-force expectation
# exactly, by DNS and by file; rbldnsd must see each of the 65,536 names (no query lost;
# a resend after a drop is the only repeat), TXT only for the 676, and one query per /24
# for the range list (256). The text table shows only what is not clean, plus the summary.
# shellcheck source=dnsbl/lib.sh disable=SC2015  # ok() never fails: A && ok || bad is safe
. "$(dirname "$0")/dnsbl/lib.sh"

$PY - "$tmp/p97.zone" <<'PYEOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("$SOA 0 ns.test. hostmaster.test. 1 1h 1h 1d 1m\n:127.0.0.2:p97 lists $\n127.0.0.2\n")
    for n in range(0, 65536, 97):
        f.write("10.20.%d.%d\n" % (n >> 8, n & 255))
PYEOF
cp "$DNSBL_FIX/l2.zone" "$tmp/"
start_rbldnsd p97.test:ip4set:"$tmp/p97.zone" l2.test:ip4trie:"$tmp/l2.zone"
write_config "$tmp/c" "127.0.0.1:$RBL_PORT"
cat >"$tmp/c/lists.conf" <<EOF
[list "p97"]
zone = p97.test
scope = ip
max_qps = 100000
[list "l2"]
zone = l2.test
scope = range
max_qps = 100000
[list "p97f"]
zone = p97.test
scope = ip
source = file:$tmp/p97.zone
EOF

start=$($PY -c 'import time; print(time.time())')
"$RW" check -c "$tmp/c/rangewatch.conf" --json 10.20.0.0/16 >"$tmp/out.json" 2>"$tmp/err"
rc=$?
secs=$($PY -c "import time; print('%.2f' % (time.time() - $start))")
expect "exit" 0 $rc
echo "     (the /16 against 3 lists took ${secs} s)"
$PY - "$tmp/out.json" >"$tmp/verdict" <<'PYEOF'
import ipaddress, json, sys
rows = json.load(open(sys.argv[1]))
want = {str(ipaddress.IPv4Address(int(ipaddress.IPv4Address("10.20.0.0")) + n)) for n in range(0, 65536, 97)}
def listed(l): return {r["ip"] for r in rows if r["list"] == l and r["status"] == "listed"}
print("rows", len(rows))
print("p97 exact", listed("p97") == want, len(listed("p97")))
print("p97f exact", listed("p97f") == want, len(listed("p97f")))
print("p97 others clean", all(r["status"] == "clean" for r in rows if r["list"] == "p97" and r["ip"] not in want))
print("p97 txt", all(r["txt"] == "p97 lists " + r["ip"] for r in rows if r["list"] in ("p97", "p97f") and r["ip"] in want))
print("l2 all listed", len(listed("l2")))
print("l2 keys", len({r["key"] for r in rows if r["list"] == "l2"}))
print("ips once per list", all(len({r["ip"] for r in rows if r["list"] == l}) == 65536 for l in ("p97", "p97f", "l2")))
PYEOF
expect "rows: 65,536 x 3 lists" "rows 196608" "$(sed -n 1p "$tmp/verdict")"
expect "DNS: exactly the 676 expected addresses listed" "p97 exact True 676" "$(sed -n 2p "$tmp/verdict")"
expect "file: exactly the same 676" "p97f exact True 676" "$(sed -n 3p "$tmp/verdict")"
expect "every other address clean" "p97 others clean True" "$(sed -n 4p "$tmp/verdict")"
expect "TXT of every listing" "p97 txt True" "$(sed -n 5p "$tmp/verdict")"
expect "range list: all 65,536 listed" "l2 all listed 65536" "$(sed -n 6p "$tmp/verdict")"
expect "range list: 256 keys" "l2 keys 256" "$(sed -n 7p "$tmp/verdict")"
expect "each IP once per list" "ips once per list True" "$(sed -n 8p "$tmp/verdict")"

echo "-- rbldnsd's query log"
expect "p97: every name asked (65,536 + 2 test points)" 65538 \
	"$(grep -E ' [0-9.]+\.p97\.test A ' "$RBL_LOG" | awk '{print $3}' | sort -u | wc -l)"
# a name twice in the log can only be c-ares resending a query rbldnsd dropped (the output
# above already showed one answer per IP): allowed, but not many
total=$(queries '\.p97\.test A ')
[ "$total" -ge 65538 ] && [ "$total" -le 66193 ] && ok "p97: $((total - 65538)) names sent twice (resent after a drop; at most 1% allowed)" \
	|| bad "p97: $total A queries for 65,538 names"
expect "p97: TXT only for the 676" 676 "$(queries '\.p97\.test TXT ')"
expect "l2: one query per /24 (256) + 2 test points" 258 "$(queries '\.l2\.test A ')"

echo "-- the text table of a /16"
: >"$RBL_LOG.mark"
"$RW" check -c "$tmp/c/rangewatch.conf" 10.20.0.0/16 >"$tmp/out.txt" 2>"$tmp/err"
expect "exit" 0 $?
expect "rows: 676 + 676 listings, 256 listed ranges" 1608 \
	"$(grep -cE '^10\.20\.[0-9.]+(/24)? +(p97|p97f|l2) +listed ' "$tmp/out.txt")"
expect "no clean row" 0 "$(grep -cE ' clean ' "$tmp/out.txt")"
grep -Eq '^  p97 +65536 IPs: 676 listed, 64860 clean, 0 error, 0 blocked$' "$tmp/out.txt" \
	&& ok "summary of p97" || bad "summary: $(tail -n 4 "$tmp/out.txt")"
grep -Eq '^  l2 +65536 IPs in 256 ranges: 65536 listed, 0 clean, 0 error, 0 blocked$' "$tmp/out.txt" \
	&& ok "summary of l2" || bad "summary: $(tail -n 4 "$tmp/out.txt")"
grep -Eq '^10\.20\.7\.0/24 +l2 +listed +127\.0\.0\.2 +\(256 IPs\) Net 10\.20\.0\.0/16 is UCEPROTECT-Level2' "$tmp/out.txt" \
	&& ok "a range row" || bad "no range row for 10.20.7.0/24"
expect "no progress on a non-terminal" "" "$(cat "$tmp/err")"
finish
