#!/bin/sh
# Hostile and broken DNSBL answers (tests/integration/dnsbl/hostile_dns.py, a minimal UDP
# responder, since rbldnsd only serves well-formed data): TXT with CR/LF, ANSI and OSC
# escapes, a bidi override, invalid UTF-8, a NUL, a 255-byte string; 25 A records; a TXT
# record answering an A query; an answer outside 127/8; a garbage datagram; a TXT whose
# length runs past the packet; SERVFAIL; REFUSED; a listing next to a refusal code; and a
# nameserver that never answers. Nothing crashes, every status is the right one, and no
# raw control byte reaches the output, as JSON or as text.
# shellcheck source=dnsbl/lib.sh disable=SC2015  # ok() never fails: A && ok || bad is safe
. "$(dirname "$0")/dnsbl/lib.sh"

start_py "$DNSBL_FIX/hostile_dns.py"
echo "hostile responder on 127.0.0.1/$PY_PORT"
write_config "$tmp/c" "127.0.0.1:$PY_PORT"
printf '[list "h"]\nzone = hostile.test\nscope = ip\n' >"$tmp/c/lists.conf"

# no raw control byte but the newlines ending lines; JSON must parse
no_raw() {	# no_raw LABEL FILE
	if $PY -c 'import sys; b = open(sys.argv[1], "rb").read(); sys.exit(any(c < 32 and c != 10 or c == 127 or c >= 0x80 for c in b))' "$2"; then
		ok "$1: no raw control byte in the output"
	else
		bad "$1: raw control bytes: $(od -c "$2" | head -n 20)"
	fi
}

"$RW" check -c "$tmp/c/rangewatch.conf" --json --timeout 300 192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4 \
	192.0.2.5 192.0.2.6 192.0.2.7 192.0.2.8 192.0.2.9 192.0.2.11 >"$tmp/out.json" 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] && ok "exit 1 (some answers are errors)" || bad "exit $rc: $(cat "$tmp/err")"
J() { jget "$tmp/out.json" "$1"; }
expect "JSON parses, one row per IP" 10 "$(J 'len(rows)')"
no_raw "JSON" "$tmp/out.json"
expect "the list passed its test points" "" "$(cat "$tmp/err")"

expect "CR/LF, ANSI, OSC, bidi override and a 255-byte string, escaped" \
	"listed line one\\x0d\\x0aline two \\x1b[31mRED\\x1b[0m \\x1b]0;title\\x07 \\xe2\\x80\\xae drow$(printf 'A%.0s' $(seq 255))" \
	"$(J 'row("192.0.2.1","h")["status"] + " " + row("192.0.2.1","h")["txt"]')"
expect "25 A records: listed, the first 8 kept" "listed 127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9" \
	"$(J 'row("192.0.2.2","h")["status"] + " " + ",".join(row("192.0.2.2","h")["codes"])')"
expect "a TXT record answering an A query" "error: no A record in the answer (wrong type or malformed)" \
	"$(J 'row("192.0.2.3","h")["status"] + ": " + row("192.0.2.3","h")["reason"]')"
expect "an answer outside 127/8" "error: answer 10.0.0.1 is outside 127.0.0.0/8 (a resolver rewriting NXDOMAIN, or a dead list?)" \
	"$(J 'row("192.0.2.4","h")["status"] + ": " + row("192.0.2.4","h")["reason"]')"
expect "invalid UTF-8, NUL, quotes, backslashes, DEL and C1 over 3 records" \
	'listed bad \xff\xfe utf8 nul\x00here | quote " and back\\slash | \x7f\x9b[2J' \
	"$(J 'row("192.0.2.5","h")["status"] + " " + row("192.0.2.5","h")["txt"]')"
expect "a garbage datagram: no answer" "error: timeout: no answer from the nameserver" \
	"$(J 'row("192.0.2.6","h")["status"] + ": " + row("192.0.2.6","h")["reason"]')"
expect "a TXT running past the packet: still listed, no text" "listed 127.0.0.2 ''" \
	"$(J 'row("192.0.2.7","h")["status"] + " " + ",".join(row("192.0.2.7","h")["codes"]) + " " + repr(row("192.0.2.7","h")["txt"])')"
expect "SERVFAIL" "error: SERVFAIL from the nameserver" \
	"$(J 'row("192.0.2.8","h")["status"] + ": " + row("192.0.2.8","h")["reason"]')"
expect "REFUSED" "error: REFUSED by the nameserver" \
	"$(J 'row("192.0.2.9","h")["status"] + ": " + row("192.0.2.9","h")["reason"]')"
expect "NXDOMAIN" "clean" "$(J 'row("192.0.2.11","h")["status"]')"

echo "-- the same as a text table"
"$RW" check -c "$tmp/c/rangewatch.conf" --timeout 300 192.0.2.1 192.0.2.5 192.0.2.3 >"$tmp/out.txt" 2>"$tmp/err"
expect "text exit" 1 $?
no_raw "text" "$tmp/out.txt"
grep -Fq 'line one\x0d\x0aline two \x1b[31mRED' "$tmp/out.txt" && ok "escaped TXT in the table" \
	|| bad "table: $(cat "$tmp/out.txt")"

echo "-- a listing next to a refusal code: blocked, and the list with it"
printf '[list "m"]\nzone = mixed.test\nscope = ip\n' >"$tmp/c/lists.conf"
"$RW" check -c "$tmp/c/rangewatch.conf" --json 192.0.2.10 >"$tmp/out.json" 2>"$tmp/err"
expect "exit" 1 $?
expect "blocked, with the codes that came back" "blocked ['127.0.0.2', '127.255.255.254'] 127.255.255.254: refusal code: the list refuses to answer this resolver" \
	"$(J 'row("192.0.2.10","m")["status"] + " " + str(row("192.0.2.10","m")["codes"]) + " " + row("192.0.2.10","m")["reason"]')"

echo "-- a nameserver that never answers"
start_py "$DNSBL_FIX/hostile_dns.py" silent
write_config "$tmp/s" "127.0.0.1:$PY_PORT"
printf '[list "h"]\nzone = hostile.test\nscope = ip\n[list "r"]\nzone = r.test\nscope = range\n' >"$tmp/s/lists.conf"
start=$(date +%s)
"$RW" check -c "$tmp/s/rangewatch.conf" --json --timeout 200 192.0.2.1 198.51.100.1 >"$tmp/out.json" 2>"$tmp/err"
rc=$?
secs=$(( $(date +%s) - start ))
expect "exit" 1 $rc
expect "all error, never clean" "error" "$(J '",".join(sorted(set(r["status"] for r in rows)))')"
expect "reason" "test point 127.0.0.2: timeout: no answer from the nameserver" "$(J 'row("198.51.100.1","r")["reason"]')"
[ "$secs" -le 5 ] && ok "gave up in ${secs}s (200 ms, 3 tries, doubling)" || bad "took ${secs}s"
grep -q "list h: error: test point 127.0.0.2: timeout" "$tmp/err" && ok "stderr says why" || bad "stderr: $(cat "$tmp/err")"

echo "-- a nameserver port where nothing listens"
port=$(free_port)
write_config "$tmp/n" "127.0.0.1:$port"
cp "$tmp/s/lists.conf" "$tmp/n/lists.conf"
"$RW" check -c "$tmp/n/rangewatch.conf" --json --timeout 200 192.0.2.1 >"$tmp/out.json" 2>"$tmp/err"
expect "exit" 1 $?
expect "all error" "error" "$(J '",".join(sorted(set(r["status"] for r in rows)))')"

echo "-- bad nameserver syntax"
write_config "$tmp/b" "127.0.0.1:53:53,zz"
cp "$tmp/s/lists.conf" "$tmp/b/lists.conf"
"$RW" check -c "$tmp/b/rangewatch.conf" 192.0.2.1 >/dev/null 2>"$tmp/err"
expect "exit" 2 $?
grep -q "nameserver '127.0.0.1:53:53,zz'" "$tmp/err" && ok "names the bad value" || bad "stderr: $(cat "$tmp/err")"
finish
