#!/bin/sh
# `rangewatchd -n -c FILE` and `rangewatch analyze -c FILE` on good and bad files: the
# example config in etc/ is good; every bad file gets a non-zero exit and a message that
# names FILE:LINE and what is wrong, never a crash.
set -u
: "${RW_BIN:?RW_BIN must name the folder holding rangewatch and rangewatchd}"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

expect_ok() {	# expect_ok LABEL CMD...
	label=$1; shift
	if "$@" >"$tmp/out" 2>&1; then echo "ok   $label: $(head -n 1 "$tmp/out")"
	else echo "FAIL $label: exit $?: $(cat "$tmp/out")"; fail=1; fi
}
expect_err() {	# expect_err LABEL PATTERN CMD...
	label=$1; pat=$2; shift 2
	"$@" >"$tmp/out" 2>&1
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -q -- "$pat" "$tmp/out"; then
		echo "ok   $label: exit $rc: $(head -n 1 "$tmp/out")"
	else
		echo "FAIL $label: exit $rc, wanted /$pat/: $(cat "$tmp/out")"; fail=1
	fi
}

expect_ok "etc/rangewatch.conf is good" "$RW_BIN/rangewatchd" -n -c "$TOP/etc/rangewatch.conf"
grep -q "10 customers" "$tmp/out" || { echo "FAIL: expected 10 customers in: $(cat "$tmp/out")"; fail=1; }

mk() {	# mk NAME: a config in $tmp/NAME/ pointing at prefixes.txt and customers.csv there
	mkdir -p "$tmp/$1"
	printf '[rangewatch]\nprefixes = prefixes.txt\ncustomers = customers.csv\n' >"$tmp/$1/rangewatch.conf"
	printf '192.0.2.0/24 64500\n' >"$tmp/$1/prefixes.txt"
	printf 'id,name,cidrs,contact,tags\n1,A,192.0.2.1,a@example.net,\n' >"$tmp/$1/customers.csv"
}

# a hook configured and a customer id it cannot take (it becomes an argument of the hook):
# said at load, with FILE:LINE, and still OK (the rest works)
mk hook_id
printf '[rangewatch]\nprefixes = prefixes.txt\ncustomers = customers.csv\n[hook]\npath = /bin/true\n' >"$tmp/hook_id/rangewatch.conf"
printf 'id,name,cidrs,contact,tags\n1,A,192.0.2.1,a@example.net,\nacct/42,B,192.0.2.2,b@example.net,\n' >"$tmp/hook_id/customers.csv"
expect_ok "a customer id the hook cannot take: still OK" "$RW_BIN/rangewatchd" -n -c "$tmp/hook_id/rangewatch.conf"
grep -q "customers.csv:3: customer id 'acct/42' cannot be handed to the hook" "$tmp/out" &&
    echo "ok   ... and said with FILE:LINE: $(grep -m1 'acct/42' "$tmp/out")" ||
    { echo "FAIL: no warning for the id the hook cannot take: $(cat "$tmp/out")"; fail=1; }
grep -q "'1' cannot" "$tmp/out" && { echo "FAIL: a good id warned about"; fail=1; }

mk unknown_key
printf '[rangewatch]\nprefixes = prefixes.txt\ncustomers = customers.csv\nfrobnicate = 1\n' >"$tmp/unknown_key/rangewatch.conf"
expect_err "unknown key" "rangewatch.conf:4:.*frobnicate" "$RW_BIN/rangewatchd" -n -c "$tmp/unknown_key/rangewatch.conf"

mk bad_int
printf '[capture]\nsnaplen = lots\n' >>"$tmp/bad_int/rangewatch.conf"
expect_err "bad number" "rangewatch.conf:5:.*snaplen" "$RW_BIN/rangewatchd" -n -c "$tmp/bad_int/rangewatch.conf"

mk bad_policy
printf '[risk]\nwarn_at = 0.4\n\n[policy "uceprotect-3"]\nthreshold_24 = 4\n' >>"$tmp/bad_policy/rangewatch.conf"
expect_err "range key in an asn [policy]" 'rangewatch.conf:8: \[policy "uceprotect-3"\] threshold_24 is a key of scope range' "$RW_BIN/rangewatchd" -n -c "$tmp/bad_policy/rangewatch.conf"

mk new_policy_no_scope
printf '[policy "zen-range"]\nfeeds = zen\n[store]\nhour_retention = 35d\n' >>"$tmp/new_policy_no_scope/rangewatch.conf"
expect_err "new [policy] without scope" 'rangewatch.conf:4: \[policy "zen-range"\] is a new policy: it needs scope' "$RW_BIN/rangewatchd" -n -c "$tmp/new_policy_no_scope/rangewatch.conf"

mk short_retention
printf '[store]\nhour_retention = 7d\n' >>"$tmp/short_retention/rangewatch.conf"
expect_err "hour_retention under 8d" "rangewatch.conf:5: \\[store\\] hour_retention: 7d is out of range" "$RW_BIN/rangewatchd" -n -c "$tmp/short_retention/rangewatch.conf"

mk good_policy
printf '[rangewatch]\nsocket_mode = 0600\noperators = root @adm\n[risk]\nwarn_at = 0.6\nact_at = 0.9\n[policy "uceprotect-2"]\nthreshold_24 = 3\nwindow = 10d\n[policy "uceprotect-3"]\nenabled = no\n[policy "zen-range"]\nscope = range\nfeeds = zen\n' >>"$tmp/good_policy/rangewatch.conf"
expect_ok "[risk], [policy] and socket keys" "$RW_BIN/rangewatchd" -n -c "$tmp/good_policy/rangewatch.conf"

mk bad_prefix
printf '192.0.2.0/24 64500\n198.51.100.7/24 64500\n' >"$tmp/bad_prefix/prefixes.txt"
expect_err "prefix with host bits" "prefixes.txt:2:" "$RW_BIN/rangewatchd" -n -c "$tmp/bad_prefix/rangewatch.conf"

mk bad_csv
printf 'id,name,cidrs,contact,tags\n1,A,192.0.2.1,a@example.net,\n2,"B, Inc",192.0.2.300,b@example.net,\n' >"$tmp/bad_csv/customers.csv"
expect_err "customer with a bad CIDR" "customers.csv:3:" "$RW_BIN/rangewatchd" -n -c "$tmp/bad_csv/rangewatch.conf"
expect_err "analyze refuses it too" "customers.csv:3:" "$RW_BIN/rangewatch" analyze -c "$tmp/bad_csv/rangewatch.conf" "$TOP/tests/data/sample.pcap"

mk dup_id
printf 'id,name,cidrs,contact,tags\n7,A,192.0.2.1,a@example.net,\n8,"B\nover two lines",192.0.2.2,,\n7,C,192.0.2.3,c@example.net,\n' >"$tmp/dup_id/customers.csv"
expect_err "duplicate id after a quoted newline" "customers.csv:5:" "$RW_BIN/rangewatchd" -n -c "$tmp/dup_id/rangewatch.conf"

mk missing
rm "$tmp/missing/customers.csv"
expect_err "missing customers file" "customers.csv" "$RW_BIN/rangewatchd" -n -c "$tmp/missing/rangewatch.conf"
expect_err "missing config" "nowhere.conf" "$RW_BIN/rangewatchd" -n -c "$tmp/nowhere.conf"

expect_err "a script given as capture" "gen_demo.py" "$RW_BIN/rangewatch" analyze "$TOP/tests/gen_demo.py"
printf 'not a capture' >"$tmp/sample.pcap"
expect_err "not a capture" "sample.pcap" "$RW_BIN/rangewatch" analyze "$tmp/sample.pcap"
# a capture cut in the middle of a record: what came before still counts, the exit is non-zero
head -c 100000 "$TOP/tests/data/sample.pcap" >"$tmp/cut.pcap"
expect_err "capture cut mid-record" "cut.pcap" "$RW_BIN/rangewatch" analyze "$tmp/cut.pcap"
grep -q "packets: [1-9]" "$tmp/out" || { echo "FAIL: the frames before the cut were not reported"; fail=1; }
expect_err "usage" "usage" "$RW_BIN/rangewatch" analyze
exit $fail
