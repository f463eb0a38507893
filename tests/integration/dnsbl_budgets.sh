#!/bin/sh
# Query budgets against rbldnsd: a list with max_qps = 20 is never sent more than 20
# queries in any second of rbldnsd's log (a tenth of a second's burst allowed) and 60
# clean IPs take about 3 s; a list with max_per_day = 12 gets exactly 12 queries (2 test
# points, 10 IPs) and the IPs beyond its budget are `error`, not asked; IPv6 addresses go
# to a list that says ipv6 = yes as nibble names (its test points stay IPv4's: the zone
# serves both families, like the lists that answer for IPv6).
# shellcheck source=dnsbl/lib.sh disable=SC2015  # ok() never fails: A && ok || bad is safe
. "$(dirname "$0")/dnsbl/lib.sh"

cp "$DNSBL_FIX/l1.zone" "$tmp/"
# shellcheck disable=SC2016  # rbldnsd's own "$" syntax
printf '$SOA 0 ns.test. hostmaster.test. 1 1h 1h 1d 1m\n:127.0.0.2:v6 listed $\n2001:db8::/64\n' >"$tmp/v6.zone"
start_rbldnsd l1.test:ip4set:"$tmp/l1.zone" slow.test:ip4set:"$tmp/l1.zone" \
	day.test:ip4set:"$tmp/l1.zone" v6.test:ip4set:"$tmp/l1.zone" v6.test:ip6trie:"$tmp/v6.zone"
write_config "$tmp/c" "127.0.0.1:$RBL_PORT"
printf '[list "slow"]\nzone = slow.test\nscope = ip\nmax_qps = 20\ntxt = no\n' >"$tmp/c/lists.conf"

# 60 clean IPs: 192.0.2.100..159
ips=$(seq 100 159 | sed 's/^/192.0.2./' | tr '\n' ' ')
start=$($PY -c 'import time; print(time.time())')
# shellcheck disable=SC2086
"$RW" check -c "$tmp/c/rangewatch.conf" --summary $ips >"$tmp/out.txt" 2>"$tmp/err"
expect "exit" 0 $?
secs=$($PY -c "import time; print('%.1f' % (time.time() - $start))")
expect "62 queries (60 IPs, 2 test points)" 62 "$(queries '\.slow\.test A ')"
$PY -c "import sys; sys.exit(not 2.5 <= $secs <= 6)" && ok "62 queries at 20/s took ${secs} s" \
	|| bad "62 queries at 20/s took ${secs} s"
worst=$(grep -E '\.slow\.test A ' "$RBL_LOG" | awk '{print $1}' | uniq -c | sort -n | tail -n 1 | awk '{print $1}')
[ "$worst" -le 22 ] && ok "busiest second of the log: $worst queries (limit 20, burst 2)" \
	|| bad "busiest second: $worst queries"

echo "-- max_per_day"
printf '[list "day"]\nzone = day.test\nscope = ip\nmax_per_day = 12\ntxt = no\n' >"$tmp/c/lists.conf"
# shellcheck disable=SC2086
"$RW" check -c "$tmp/c/rangewatch.conf" --json 192.0.2.10 $ips >"$tmp/out.json" 2>"$tmp/err"
expect "exit (some answers unknown)" 1 $?
expect "exactly 12 queries" 12 "$(queries '\.day\.test ')"
expect "10 answered: 192.0.2.10 and 9 clean" "1 listed, 9 clean, 51 error" \
	"$(jget "$tmp/out.json" '"%d listed, %d clean, %d error" % tuple(len([r for r in rows if r["status"] == s]) for s in ("listed", "clean", "error"))')"
expect "the reason" "over the list's daily query budget (max_per_day = 12)" \
	"$(jget "$tmp/out.json" 'row("192.0.2.159","day")["reason"]')"

echo "-- IPv6 (nibble names)"
printf '[list "v6"]\nzone = v6.test\nscope = ip\nipv6 = yes\n' >"$tmp/c/lists.conf"
"$RW" check -c "$tmp/c/rangewatch.conf" --json 2001:db8::7 2001:db8:1::7 >"$tmp/out.json" 2>"$tmp/err"
rc=$?
expect "2001:db8::7 listed with its TXT" "listed v6 listed 2001:db8::7" \
	"$(jget "$tmp/out.json" 'row("2001:db8::7","v6")["status"] + " " + row("2001:db8::7","v6")["txt"]')"
expect "2001:db8:1::7 clean" "clean" "$(jget "$tmp/out.json" 'row("2001:db8:1::7","v6")["status"]')"
expect "the nibble name rbldnsd saw" 1 \
	"$(queries ' 7\.0\.0\.0\.0\.0\.0\.0\.0\.0\.0\.0\.0\.0\.0\.0\.0\.0\.0\.0\.0\.0\.0\.0\.8\.b\.d\.0\.1\.0\.0\.2\.v6\.test A ')"
echo "     (exit $rc: $(cat "$tmp/err"))"
finish
