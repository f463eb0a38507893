#!/bin/sh
# File sources and delistings. The zone files rbldnsd serves (tests/integration/dnsbl/) are
# also given to rangewatch as `source = file:PATH`: `check --json` must print the same rows
# both ways, test points, refusals and dead lists included, while rbldnsd sees no query for
# the file-source run. Then a delisting and a relisting: the zone file is replaced
# atomically (mv); rbldnsd reloads it (-c 1s) and the DNS answer changes; the file-source
# answer changes with the next run.
# shellcheck source=dnsbl/lib.sh disable=SC2015  # ok() never fails: A && ok || bad is safe
. "$(dirname "$0")/dnsbl/lib.sh"

for z in l1 l2 l3 blocked dead; do cp "$DNSBL_FIX/$z.zone" "$tmp/"; done
start_rbldnsd l1.test:ip4set:"$tmp/l1.zone" l2.test:ip4trie:"$tmp/l2.zone" \
	l3.test:ip4trie:"$tmp/l3.zone" zen.test:ip4trie:"$tmp/blocked.zone" \
	dead.test:ip4trie:"$tmp/dead.zone"
write_config "$tmp/dns" "127.0.0.1:$RBL_PORT"
# the file run names a nameserver where nothing listens: a stray query would be an error
write_config "$tmp/file" "127.0.0.1:$(free_port)"
lists() {	# lists SOURCE_OF_zone_file
	for l in "l1 l1 ip" "l2 l2 range" "l3 l3 asn" "zen blocked ip" "dead dead ip"; do
		# shellcheck disable=SC2086
		set -- $l
		printf '[list "%s"]\nzone = %s.test\nscope = %s\n' "$1" "$1" "$3"
		[ "$1" = zen ] && printf 'code = 127.255.255.254 query via a public/open resolver refused\n'
		[ "$SRC" = file ] && printf 'source = file:%s/%s.zone\n' "$tmp" "$2"
	done
}
SRC="dns" lists >"$tmp/dns/lists.conf"
SRC="file" lists >"$tmp/file/lists.conf"

ips="192.0.2.9 192.0.2.10 192.0.2.11 198.51.100.7 198.51.100.8 203.0.113.5 203.0.113.70 203.0.113.71 100.64.0.1 10.20.3.4 10.20.200.1"
# shellcheck disable=SC2086
"$RW" check -c "$tmp/dns/rangewatch.conf" --json $ips >"$tmp/dns.json" 2>"$tmp/dns.err"
rc_dns=$?
before=$(wc -l <"$RBL_LOG")
# shellcheck disable=SC2086
"$RW" check -c "$tmp/file/rangewatch.conf" --json $ips >"$tmp/file.json" 2>"$tmp/file.err"
rc_file=$?
expect "same exit code (a blocked and a dead list)" "1 1" "$rc_dns $rc_file"
expect "rbldnsd saw no query of the file run" "$before" "$(wc -l <"$RBL_LOG")"
expect "55 rows each" "55 55" "$(jget "$tmp/dns.json" 'len(rows)') $(jget "$tmp/file.json" 'len(rows)')"
if cmp -s "$tmp/dns.json" "$tmp/file.json"; then
	ok "file sources give the same rows as DNS, byte for byte"
else
	bad "file and DNS differ:"; diff "$tmp/dns.json" "$tmp/file.json" | head -n 20
fi
expect "a sample: L2 by file, the /16 listing seen from a /24 range" \
	"listed 10.20.200.0/24 Net 10.20.0.0/16 is UCEPROTECT-Level2 listed because 88 abusers are hosted by Big Net/AS64502 there." \
	"$(jget "$tmp/file.json" 'row("10.20.200.1","l2")["status"] + " " + row("10.20.200.1","l2")["key"] + " " + row("10.20.200.1","l2")["txt"]')"
expect "same health messages" "$(cat "$tmp/dns.err")" "$(cat "$tmp/file.err")"

echo "-- delisting 192.0.2.10 and listing 192.0.2.9 (atomic replace of l1.zone)"
reloads() { grep -c "zones reloaded" "$tmp/rbldnsd.out"; }
r0=$(reloads)
# rbldnsd compares mtimes in whole seconds: let one pass
sleep 1.1
sed -e 's/^192\.0\.2\.10$/192.0.2.9 :4:Now listed $/' "$tmp/l1.zone" >"$tmp/l1.zone.new"
mv "$tmp/l1.zone.new" "$tmp/l1.zone"
i=0
while [ "$(reloads)" -le "$r0" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(reloads)" -gt "$r0" ] && ok "rbldnsd reloaded the zone" || bad "rbldnsd did not reload"
for src in dns file; do
	"$RW" check -c "$tmp/$src/rangewatch.conf" --json 192.0.2.9 192.0.2.10 >"$tmp/after.json" 2>/dev/null
	expect "$src: 192.0.2.10 delisted" "clean" "$(jget "$tmp/after.json" 'row("192.0.2.10","l1")["status"]')"
	expect "$src: 192.0.2.9 listed with code 4 and its TXT" "listed 127.0.0.4 Now listed 192.0.2.9" \
		"$(jget "$tmp/after.json" 'row("192.0.2.9","l1")["status"] + " " + ",".join(row("192.0.2.9","l1")["codes"]) + " " + row("192.0.2.9","l1")["txt"]')"
done

echo "-- a broken file: the list is an error, never clean"
printf '[list "bad"]\nzone = bad.test\nscope = ip\nsource = file:%s/missing.zone\n' "$tmp" >"$tmp/file/lists.conf"
"$RW" check -c "$tmp/file/rangewatch.conf" --json 192.0.2.9 >"$tmp/bad.json" 2>"$tmp/bad.err"
expect "exit" 1 $?
expect "status" "error" "$(jget "$tmp/bad.json" 'row("192.0.2.9","bad")["status"]')"
jget "$tmp/bad.json" 'row("192.0.2.9","bad")["reason"]' | grep -q "missing.zone" \
	&& ok "the reason names the file: $(jget "$tmp/bad.json" 'row("192.0.2.9","bad")["reason"]')" \
	|| bad "reason: $(jget "$tmp/bad.json" 'row("192.0.2.9","bad")["reason"]')"
finish
