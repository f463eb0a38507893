#!/bin/sh
# README's "Run it on your network", followed as written: `make install` with DESTDIR and
# PREFIX (step 1) puts the binaries, the man pages and /etc/rangewatch where the README says;
# the prefixes.txt and customers.csv blocks of steps 2 and 3 are taken out of README.md
# itself, etc/rangewatch.conf and etc/dnsbl.conf copied next to them with
# `prefixes`/`customers` pointed at them (step 4), then each command of the steps run as the
# README spells it: `rangewatchd -n` says OK with the README's counts, `rangewatch analyze`
# reads a capture (step 5), and, as root, the daemon runs (step 7, dropping to nobody; the
# lists' resolver points at a closed port on loopback, so nothing leaves the machine and
# every list is unknown, never clean) and answers `status` and `customers 4711` (step 8).
# The reference table's files exist. A README edit that breaks a step breaks this test.
set -u
: "${RW_BIN:?RW_BIN must name the folder holding rangewatch and rangewatchd}"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
tmp=$(mktemp -d)
chmod 755 "$tmp"
dpid=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
	[ -n "$dpid" ] && kill -TERM "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

# the fenced blocks of the section, in order: 1 prefixes.txt, 2 customers.csv
block() {
	$PY - "$TOP/README.md" "$1" <<'PYEOF'
import re, sys
text = open(sys.argv[1]).read()
sec = text.split("## Run it on your network\n", 1)[1].split("\n## ", 1)[0]
blocks = re.findall(r"\n( *)```\n(.*?)\n\1```", sec, re.S)
print("\n".join(l[len(blocks[int(sys.argv[2])][0]):] for l in blocks[int(sys.argv[2])][1].split("\n")))
PYEOF
}
# step 1: make install, into a folder of ours
# (the build under test: VARIANT from RW_VARIANT; the calling make's flags left out)
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$TOP" VARIANT="${RW_VARIANT:-release}" \
    install DESTDIR="$tmp/dest" PREFIX=/usr/local >"$tmp/install.log" 2>&1 &&
    [ -x "$tmp/dest/usr/local/sbin/rangewatchd" ] && [ -x "$tmp/dest/usr/local/bin/rangewatch" ] &&
    [ -f "$tmp/dest/usr/local/share/man/man8/rangewatchd.8" ] &&
    [ -f "$tmp/dest/etc/rangewatch/rangewatch.conf" ]; then
	out=$("$tmp/dest/usr/local/sbin/rangewatchd" -n -c "$tmp/dest/etc/rangewatch/rangewatch.conf" 2>&1)
	case $out in
	*": OK ("*) ok "step 1: make install DESTDIR PREFIX=/usr/local; the installed rangewatchd -n: $out";;
	*) bad "step 1: the installed config: $out";;
	esac
else
	bad "step 1: make install: $(tail -n 5 "$tmp/install.log")"
fi
# the reference table names files that exist
nref=0
for f in $(sed -n '/^## Where the reference lives/,/^## /p' "$TOP/README.md" | grep -o '`[a-z/_.-]*\.[1-8h]`\|(\([A-Za-z/_.-]*\.md\))' | tr -d '`()'); do
	nref=$((nref + 1))
	[ -f "$TOP/$f" ] || bad "the README's reference table names $f, which is not in the tree"
done
[ $nref -ge 9 ] && ok "the $nref files of the README's reference table exist" || bad "the reference table names $nref files"

block 0 >"$tmp/prefixes.txt" || { bad "no prefixes block in README"; exit 1; }
block 1 >"$tmp/customers.csv" || { bad "no customers block in README"; exit 1; }
cp "$TOP/etc/rangewatch.conf" "$TOP/etc/dnsbl.conf" "$tmp/"
echo "README's prefixes.txt:"; sed 's/^/     /' "$tmp/prefixes.txt"
echo "README's customers.csv:"; sed 's/^/     /' "$tmp/customers.csv"

# step 4: the copied config, its keys pointed at our files and folders
$PY - "$tmp" <<'PYEOF' || { bad "could not edit the copied config"; exit 1; }
import re, sys
d = sys.argv[1]
p = d + "/rangewatch.conf"
s = open(p).read()
for k, v in (("prefixes", "prefixes.txt"), ("customers", "customers.csv"), ("lists", "dnsbl.conf"),
             ("state_dir", d + "/state"), ("socket", d + "/run/rw.sock"),
             ("pidfile", d + "/run/rangewatchd.pid"), ("user", "nobody"),
             ("nameserver", "127.0.0.1:9")):
    s, n = re.subn(r"(?m)^%s =.*$" % k, "%s = %s" % (k, v), s, count=1)
    if n != 1:
        sys.exit("no key %s in etc/rangewatch.conf" % k)
open(p, "w").write(s)
PYEOF
out=$("$RW_BIN/rangewatchd" -n -c "$tmp/rangewatch.conf" 2>&1)
case $out in
*": OK (3 prefixes, 2 customers,"*) ok "step 4: rangewatchd -n: $out";;
*) bad "step 4: rangewatchd -n: $out";;
esac

# step 5: a capture file
if "$RW_BIN/rangewatch" analyze -c "$tmp/rangewatch.conf" "$TOP/tests/data/sample.pcap" >"$tmp/an.out" 2>&1; then
	ok "step 5: rangewatch analyze: $(head -n 1 "$tmp/an.out")"
else
	bad "step 5: rangewatch analyze: $(tail -n 3 "$tmp/an.out")"
fi

# steps 7 and 8: the daemon (root only: it drops to nobody), nothing but loopback
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	"$RW_BIN/rangewatchd" -f -c "$tmp/rangewatch.conf" >"$tmp/daemon.log" 2>&1 &
	dpid=$!
	n=0
	until "$RW_BIN/rangewatch" status -c "$tmp/rangewatch.conf" >"$tmp/st.out" 2>&1; do
		n=$((n + 1)); [ $n -gt 40 ] && break; sleep 0.25
	done
	if [ $n -le 40 ]; then ok "step 8: rangewatch status: $(head -n 1 "$tmp/st.out")"
	else bad "step 8: status: $(cat "$tmp/st.out"; tail -n 5 "$tmp/daemon.log")"; fi
	"$RW_BIN/rangewatch" customers 4711 -c "$tmp/rangewatch.conf" >"$tmp/c.out" 2>&1 &&
	    grep -q "Acme VPS, Inc." "$tmp/c.out" && ok "step 8: customers 4711 names Acme VPS, Inc." ||
	    bad "step 8: customers 4711: $(cat "$tmp/c.out")"
	grep -q "uid=.*(nobody)\|running as nobody" "$tmp/daemon.log" && ok "step 7: the daemon runs as nobody" ||
	    bad "step 7: $(grep -m1 started "$tmp/daemon.log")"
	# no resolver answers: no list may be taken as working (ok) on the README's setup
	sleep 3
	health=$("$RW_BIN/rangewatch" status --json -c "$tmp/rangewatch.conf" | $PY -c 'import json,sys
print(" ".join(sorted({l["health"] for l in json.load(sys.stdin)["lists"] if l["enabled"]})))')
	case " $health " in
	*" ok "*|"  ") bad "lists' health with no resolver: '$health'";;
	*) ok "lists' health with no resolver: $health (never ok)";;
	esac
else
	echo "(steps 7-8 need root: skipped)"
fi
exit $fail
