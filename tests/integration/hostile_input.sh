#!/bin/sh
# Hostile input through every path dnsbl_hostile.sh does not cover (that one feeds hostile
# DNS answers to `rangewatch check`):
#  - captures cut at every byte offset (one analyze run over all the cut files) and with
#    every frame's length cut to every size, as snaplen cuts and as frames that lie about
#    their length: nothing crashes, every frame is counted, truncated or malformed exactly;
#  - customers.csv of 1M lines: `rangewatchd -n` loads it (time and peak RSS printed); one
#    bad line in it gives FILE:LINE and exit 1; NUL bytes, bad UTF-8 in an id, duplicate
#    prefixes (FILE:LINE errors), nested prefixes (the most specific holder wins, also in
#    the daemon and in analyze);
#  - customers whose names, ids and contacts hold quotes, $(...), backticks, `;`, quoted
#    CR/LF, ESC/OSC sequences, NUL-free C0/C1 controls, a bidi override, bytes that are not
#    UTF-8, a 3500-byte name and a 70,000-address line, loaded by the daemon on the replayed
#    story (daemon/lib.sh): `rangewatch customers` (text, --json, one customer), `alerts`,
#    analyze, the daemon's log, the abuse desk's mail (aiosmtpd) and the suspend hook's
#    argv and environment carry no raw control byte, no invalid UTF-8, no injected header
#    (the hook's stdin is one JSON document holding the name exactly); the mail's "look it
#    up" line quotes an odd id as one shell word; no shell ever runs the $(...) (the file
#    it would touch never appears); a hook writing 100 KB of escapes is kept to 8 KiB,
#    escaped, and the rest counted;
#  - SIGHUP with the 1M-line file holding a bad line: refused with FILE:LINE in the log, the
#    old customers stay;
#  - control-socket clients that send garbage, a line over the limit, nothing at all, or
#    half a line and then close: each gets one clear log line, the daemon stays up and
#    answers others meanwhile;
#  - forged list-citing 550s (no handshake; a forged SYN-ACK and a 550 on it) to four
#    addresses of a /24, replayed through the daemon: nobody's level changes, status --json
#    counts every forged frame in capture.unsolicited, analyze lists nobody;
#  - (a flood of a million spoofed sources through the daemon is daemon_flood.sh's);
#  - the bounds of rangewatchd(8) LIMITS: the hook's output and the socket's above, then a
#    restart with max_flows 1, max_ips 2 and [risk] max_ips 1: each counted in status
#    --json, logged once, named by `rangewatch status`.
# ok() never fails: A && ok || bad is safe (SC2015); the $(...) in single quotes is the
# hostile text itself (SC2016); poll's functions are called through it (SC2317); the ls
# calls count files this test named (SC2012)
# shellcheck source=dnsbl/lib.sh disable=SC2015,SC2016,SC2317,SC2012
. "$(dirname "$0")/dnsbl/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root (the daemon's privilege drop is part of the test)"
id nobody >/dev/null 2>&1 || skip "no user nobody"
$PY -c 'import aiosmtpd' 2>/dev/null || skip "python3-aiosmtpd not installed"
PCAPS=$(cd "$(dirname "$0")/../.." && pwd)/../shared/pcaps
[ -f "$PCAPS/zeek_smtp.pcap" ] || skip "$PCAPS is absent"
# shellcheck source=daemon/lib.sh
. "$(dirname "$0")/daemon/lib.sh"
RWD=$RW_BIN/rangewatchd
# js EXPR [ARG...] < JSON: as helpers.sh's, with the arguments in sys.argv[2:]
js() { $PY -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$@"; }
t_start=$(date +%s)
sec() { echo "== $* ($(( $(date +%s) - t_start )) s in)"; }

# clean LABEL FILE -> FILE is valid UTF-8 with no control character but LF, no DEL, no C1,
# no bidi override
clean() {
	if out=$($PY - "$2" <<'PYEOF'
import sys
b = open(sys.argv[1], "rb").read()
try:
    s = b.decode("utf-8")
except UnicodeDecodeError as e:
    sys.exit("invalid UTF-8 at byte %d: %r" % (e.start, b[max(0, e.start - 40):e.start + 8]))
for i, c in enumerate(s):
    o = ord(c)
    if (o < 32 and c != "\n") or 0x7f <= o < 0xa0 or c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
        sys.exit("raw U+%04X at %d: %r" % (o, i, s[max(0, i - 40):i + 8]))
print(len(b))
PYEOF
	); then ok "$1: clean ($out bytes)"; else bad "$1: $out"; fi
}

# ------------------------------------------------------------------------------------
sec "captures cut at every byte, frames cut to every length"
cap=$PCAPS/zeek_smtp-multi-addr.pcap
mkdir -p "$tmp/cuts"
# every cut past the file header: one file each, all read by one analyze run (a cut file
# is reported and the next one read); the expected total is what the whole records hold
exp=$($PY - "$cap" "$tmp/cuts" <<'PYEOF'
import struct, sys
b = open(sys.argv[1], "rb").read()
ends, off = [], 24
while off + 16 <= len(b):
    off += 16 + struct.unpack("<I", b[off + 8:off + 12])[0]
    ends.append(off)
total = cut = 0
for n in range(24, len(b)):
    open("%s/c%05d.pcap" % (sys.argv[2], n), "wb").write(b[:n])
    total += sum(1 for e in ends if e <= n)
    cut += n != 24 and n not in ends	# 24: the header alone, an empty capture
print(len(b) - 24, total, cut)
PYEOF
)
# shellcheck disable=SC2086  # three numbers, split on purpose
set -- $exp
ncut=$1 want_total=$2 want_errors=$3
start=$(date +%s)
# shellcheck disable=SC2046
"$RW" analyze --json $(ls "$tmp"/cuts/c*.pcap) >"$tmp/cuts.json" 2>"$tmp/cuts.err"
rc=$?
expect "$ncut cut files in one run: exit 1 (some are cut), no crash, $(( $(date +%s) - start ))s" 1 $rc
expect "every whole record counted" "$want_total" "$(js 'd["packets"]["total"]' <"$tmp/cuts.json")"
expect "each cut mid-record named once on stderr" "$want_errors" "$(grep -c 'cuts/c[0-9]*\.pcap: ' "$tmp/cuts.err")"
for n in 0 1 4 16 23; do
	head -c "$n" "$cap" >"$tmp/h.pcap"
	"$RW" analyze "$tmp/h.pcap" >/dev/null 2>"$tmp/h.err"
	rc=$?
	[ $rc = 1 ] && grep -q "h.pcap" "$tmp/h.err" && ok "cut at byte $n (in the file header): exit 1, $(cat "$tmp/h.err")" ||
	    bad "cut at byte $n: exit $rc: $(cat "$tmp/h.err")"
done

# every frame of two real captures (IPv4 and IPv6) at every length L < its own: once as a
# snaplen cut (caplen L, wire length kept: truncated, never malformed) and once as a frame
# that is L bytes on the wire (malformed exactly when L ends before its IP packet does)
exp=$($PY - "$PCAPS/zeek_smtp.pcap" "$PCAPS/zeek_communityid-ipv6.pcap" "$tmp" <<'PYEOF'
import struct, sys
recs = []
for f in sys.argv[1:3]:
    b = open(f, "rb").read()
    assert struct.unpack("<I", b[20:24])[0] == 1
    off = 24
    while off + 16 <= len(b):
        ts, us, incl, orig = struct.unpack("<IIII", b[off:off + 16])
        recs.append((ts, us, b[off + 16:off + 16 + incl]))
        off += 16 + incl
def ip_end(p):
    t, off = struct.unpack(">H", p[12:14])[0], 14
    while t in (0x8100, 0x88a8, 0x9100):
        t, off = struct.unpack(">H", p[off + 2:off + 4])[0], off + 4
    if t == 0x0800:
        return off + struct.unpack(">H", p[off + 2:off + 4])[0]
    if t == 0x86dd:
        return off + 40 + struct.unpack(">H", p[off + 4:off + 6])[0]
    return 14
hdr = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
n = malformed = 0
with open(sys.argv[3] + "/snap.pcap", "wb") as a, open(sys.argv[3] + "/wire.pcap", "wb") as w:
    a.write(hdr); w.write(hdr)
    for ts, us, p in recs:
        for L in range(len(p)):
            a.write(struct.pack("<IIII", ts, us, L, len(p)) + p[:L])
            w.write(struct.pack("<IIII", ts, us, L, L) + p[:L])
            n += 1
        malformed += min(len(p), ip_end(p))
print(len(recs), n, malformed)
PYEOF
)
# shellcheck disable=SC2086  # three numbers, split on purpose
set -- $exp
nrec=$1 nframes=$2 want_malformed=$3
"$RW" analyze --json "$tmp/snap.pcap" >"$tmp/snap.json" 2>"$tmp/snap.err"
expect "$nrec frames cut to every length ($nframes frames) as snaplen cuts: exit" 0 $?
expect "  counted: total truncated malformed" "$nframes $nframes 0" \
    "$(js '"%d %d %d" % (d["packets"]["total"], d["packets"]["truncated"], d["packets"]["malformed"])' <"$tmp/snap.json")"
"$RW" analyze --json "$tmp/wire.pcap" >"$tmp/wire.json" 2>"$tmp/wire.err"
expect "the same frames, each as long on the wire as captured: exit" 0 $?
expect "  counted: total truncated malformed" "$nframes 0 $want_malformed" \
    "$(js '"%d %d %d" % (d["packets"]["total"], d["packets"]["truncated"], d["packets"]["malformed"])' <"$tmp/wire.json")"
rm -rf "$tmp/cuts" "$tmp/snap.pcap" "$tmp/wire.pcap"

# ------------------------------------------------------------------------------------
sec "customers.csv: 1M lines, bad lines, duplicate and nested prefixes"
mk() {	# mk DIR: a config in DIR naming DIR/prefixes.txt and DIR/customers.csv
	mkdir -p "$1"
	printf '[rangewatch]\nprefixes = prefixes.txt\ncustomers = customers.csv\n' >"$1/rangewatch.conf"
	printf '203.0.113.0/24 64500\n10.0.0.0/8 64500\n' >"$1/prefixes.txt"
}
mk "$tmp/big"
$PY - "$tmp/big/customers.csv" "$tmp/big/bad.csv" <<'PYEOF'
import sys
rows = ["id,name,cidrs,contact,tags\n"]
rows += ["c%d,\"Customer %d, Ltd\",10.%d.%d.%d,noc%d@example.net,vps\n" % (i, i, i >> 16, (i >> 8) & 255, i & 255, i)
         for i in range(1, 1000000)]
open(sys.argv[1], "w").writelines(rows)
rows[765431] = "c765431,Bad Line,10.11.174.300,noc@example.net,\n"
open(sys.argv[2], "w").writelines(rows)
PYEOF
expect "generated" 1000000 "$(wc -l <"$tmp/big/customers.csv")"
# timed by Python (wall clock, the child's peak RSS): /usr/bin/time is not always installed
$PY - "$tmp/time" "$RWD" -n -c "$tmp/big/rangewatch.conf" >"$tmp/out" 2>&1 <<'PYEOF'
import resource, subprocess, sys, time
t = time.monotonic()
rc = subprocess.run(sys.argv[2:]).returncode
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write("%.2f s, peak RSS %d KiB" % (time.monotonic() - t, ru.ru_maxrss))
sys.exit(rc)
PYEOF
rc=$?
[ $rc = 0 ] && grep -q "999999 customers" "$tmp/out" && ok "1M lines load with rangewatchd -n in $(cat "$tmp/time"): $(tail -n 1 "$tmp/out")" ||
    bad "1M lines: exit $rc: $(cat "$tmp/out")"
cp "$tmp/big/bad.csv" "$tmp/big/customers.csv"
"$RWD" -n -c "$tmp/big/rangewatch.conf" >"$tmp/out" 2>&1
rc=$?
[ $rc = 1 ] && grep -q "customers.csv:765432: bad CIDR '10.11.174.300'" "$tmp/out" && ok "a bad line at 765432: exit 1, $(cat "$tmp/out")" ||
    bad "bad line: exit $rc: $(cat "$tmp/out")"

# expect_check LABEL PATTERN CSV-BYTES (printf format) [PREFIXES]: rangewatchd -n refuses it
expect_check() {
	mk "$tmp/chk"
	# shellcheck disable=SC2059  # the formats are the test's own
	printf "$3" >"$tmp/chk/customers.csv"
	# shellcheck disable=SC2059
	[ -n "${4:-}" ] && printf "$4" >"$tmp/chk/prefixes.txt"
	"$RWD" -n -c "$tmp/chk/rangewatch.conf" >"$tmp/out" 2>&1
	rc=$?
	if [ $rc = 1 ] && grep -q -- "$2" "$tmp/out"; then ok "$1: exit 1, $(cat "$tmp/out")"
	else bad "$1: exit $rc, wanted /$2/: $(cat "$tmp/out")"; fi
	clean "  its message" "$tmp/out"
}
H='id,name,cidrs,contact,tags\n'
expect_check "a NUL byte in a name" "customers.csv:3: NUL byte" "${H}1,A,10.0.0.1,,\n2,B\000x,10.0.0.2,,\n"
expect_check "bytes that are not UTF-8 in an id" "customers.csv:2: id 'a\\\\xff\\\\x1b\[2Jb' holds control characters or bad UTF-8" "${H}a\377\033[2Jb,A,10.0.0.1,,\n"
expect_check "an unterminated quote (reported where it opened)" "customers.csv:3: unterminated quote" "${H}1,A,10.0.0.1,,\n2,\"B\n\n,10.0.0.2,,\n"
expect_check "a name over 4096 bytes" "customers.csv:2: field 2 longer than 4096 bytes" "${H}1,$($PY -c 'print("N" * 5000)'),10.0.0.1,,\n"
expect_check "one prefix given to two customers" \
    "customers.csv:4: prefix 10.0.0.0/24 of customer '3' is already held by customer '1' (line 2)" \
    "${H}1,A,10.0.0.0/24,,\n2,B,10.0.1.0/24,,\n3,C,10.0.0.0/24,,\n"
expect_check "one prefix twice for one customer" "customers.csv:2: prefix 10.0.0.7/32 listed twice for customer '1'" \
    "${H}1,A,10.0.0.7 10.0.0.7/32,,\n"
expect_check "a prefix twice in prefixes.txt" "prefixes.txt:3: duplicate" "${H}1,A,10.0.0.1,,\n" \
    '10.0.0.0/8 64500\n203.0.113.0/24 64500\n10.0.0.0/8 64501\n'

# ------------------------------------------------------------------------------------
sec "hostile customers through the daemon"
pw=$tmp/pw	# where an injected command would leave its mark: writable by the hook's user too
mkdir -m 1777 "$pw"
$PY - "$tmp/etc/customers.csv" "$pw" <<'PYEOF'
import sys
path, pw = sys.argv[1], sys.argv[2]
shell = "$(touch %s/pwned) `touch %s/pwned`; touch %s/pwned; ' \" | & > %s/pwned" % (pw, pw, pw, pw)
def q(b):	# a quoted CSV field
    return b'"' + b.replace(b'"', b'""') + b'"'
acme = ("Acme \x1b[31mRED\x1b[0m \x1b]0;title\x07 " + shell + " line\r\nSubject: injected\r\n"
        "Bcc: evil@example.com\n\tnext \x7f \u009b[2J \u202edrow M\u00fcller").encode()
rows = [
    b"id,name,cidrs,contact,tags",
    b"1001," + q(acme) + b",203.0.113.7," + q(b"abuse@acme.example\r\nBcc: evil@example.com") + b",",
    b"1002," + q(b"Bakery \xff\xfe \xc3( \x1b[2J not UTF-8") + b",203.0.113.20,bakery@example.org,",
    b"1003,Quiet Relay,198.51.100.17,relay@example.net,never_suspend",
    q(shell.encode()) + b"," + q(b"Evil Id \x1b[5m" + shell.encode()) + b",203.0.113.50,care@example.com,",
    # nested holders: the /32s above win over these
    b"reseller-24,Big Reseller,203.0.113.0/24,,",
    b"reseller-25," + q(b"Long " + b"\x1b[1m\xe2\x82\xac" * 500) + b",203.0.113.0/25,,",
    # a 0.9 MB line: 70,000 addresses
    b"many,Many Addresses," + b" ".join(b"100.%d.%d.%d" % (64 + (i >> 16), (i >> 8) & 255, i & 255)
                                         for i in range(70000)) + b",,",
]
open(path, "wb").write(b"\r\n".join(rows) + b"\r\n")
PYEOF
cp "$tmp/etc/customers.csv" "$tmp/customers.good.csv.copy"
evil=$($PY -c 'import sys; p = sys.argv[1]; print("$(touch %s/pwned) `touch %s/pwned`; touch %s/pwned; '"'"' \" | & > %s/pwned" % (p, p, p, p))' "$pw")

# the hook: root's, in a root folder; it keeps argv, environment and stdin where its user
# may write, then answers with 100 KB of escapes, CR, NUL and bytes that are not UTF-8
mkdir -p "$tmp/hookbin" "$tmp/hook"
chown "$HOOK_USER" "$tmp/hook"
cat >"$tmp/hookbin/hook.sh" <<EOF
#!/bin/sh
f=$tmp/hook/call.\$\$
printf '%s\n' "\$@" >"\$f.argv"
printf '%s' "\$RANGEWATCH_CUSTOMER_NAME" >"\$f.name"
printf '%s' "\$RANGEWATCH_REASON" >"\$f.reason"
env >"\$f.env"
cat >"\$f.stdin"
printf 'out \033[2J\033]0;pwn\007 cr\r\nnul\000x \377\376 bell\007 '
head -c 100000 /dev/zero | tr '\000' A
exit 0
EOF
chmod 755 "$tmp/hookbin" "$tmp/hookbin/hook.sh"

smtp_port=$(free_port)
mkdir -p "$tmp/mail"
sink "$smtp_port" "$tmp/mail"

EXTRA_CONF="[alert]
smtp_url = smtp://127.0.0.1:$smtp_port
from = rangewatch@provider.example
to = abuse@provider.example
digest = 0
[hook]
path = $tmp/hookbin/hook.sh
user = $HOOK_USER
timeout = 10
auto_suspend = yes
dry_run = yes
max_per_range = 10"
conf "replay = $tmp/story.pcap
replay_speed = 0" >"$tmp/etc/rangewatch.conf"
start
# control-socket clients, started now so that the silent one's 10 s pass while the story
# replays; their results are checked below
$PY - "$tmp/run/rw.sock" >"$tmp/sock.out" 2>&1 <<'PYEOF' &
import socket, sys, time
path = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX); s.connect(path); s.settimeout(20); return s
def line(s):
    buf = b""
    while not buf.endswith(b"\n"):
        b = s.recv(65536)
        if not b:
            break
        buf += b
    return buf
def closed(s):
    try:
        return s.recv(65536) == b""
    except OSError:
        return True
hold = conn()
hold_at = time.time()
g = conn(); g.sendall(b"\x00\xff\x1b[2J{garbage\r\n")
print("garbage_reply", line(g).decode().strip())
g.sendall(b'{"v":1,"id":2,"cmd":"ping"}\n')
print("garbage_then_ping", line(g).decode().strip())
h = conn()
try:
    h.sendall(b"x" * 70000)
except OSError:
    pass
print("huge_reply", line(h).decode().strip())
print("huge_closed", closed(h))
p = conn(); p.sendall(b'{"v":1,"cmd":"pi'); p.close()
o = conn(); o.sendall(b'{"v":1,"id":9,"cmd":"ping"}\n')
print("other_answered", line(o).decode().strip())
print("hold_closed", closed(hold), "after %.0f s" % (time.time() - hold_at))
PYEOF
sockpy=$!
sleep 1
rwc status >/dev/null 2>&1 && ok "the daemon answers while a silent client holds its connection" || bad "status refused"
hooked() { ls "$tmp"/hook/*.argv >/dev/null 2>&1 && grep -qx 1001 "$tmp"/hook/*.argv; }
poll 90 hooked && ok "the hook ran for 1001" || bad "no hook call for 1001"
evil_act() { [ "$(rwc customers --json | js '[c["level"] for c in d["customers"] if c["id"] == sys.argv[2]]' "$evil")" = "['act']" ]; }
poll 30 evil_act && ok "the customer whose id is a shell command reached act" || bad "evil id not at act"
mails() { [ "$(ls "$tmp/mail" | wc -l)" -ge 3 ]; }
poll 30 mails && ok "$(ls "$tmp/mail" | wc -l) mails arrived" || bad "mails: $(ls "$tmp/mail")"
sleep 2

echo "-- what the operator sees"
rwc customers --all >"$tmp/c.txt" 2>&1; expect "customers --all: exit" 0 $?
clean "customers --all" "$tmp/c.txt"
grep -qF 'Acme \x1b[31mRED\x1b[0m \x1b]0;title\x07' "$tmp/c.txt" && ok "  the escapes shown as \\x1b" || bad "  no escaped name: $(head -c 2000 "$tmp/c.txt")"
rwc customers --all --json >"$tmp/c.json" 2>&1; expect "customers --all --json: exit" 0 $?
clean "customers --json" "$tmp/c.json"
$PY - "$tmp/c.json" "$tmp/customers.good.csv.copy" "$evil" >"$tmp/names" <<'PYEOF'
import csv, io, json, sys
csv.field_size_limit(1 << 24)
d = json.load(open(sys.argv[1]))
rows = {}
raw = open(sys.argv[2], "rb").read()
for r in csv.reader(io.StringIO(raw.decode("utf-8", "surrogateescape"), newline="")):
    rows[r[0]] = r[1].strip(" \t\r\n")
got = {c["id"]: c.get("name") for c in d["customers"]}
print("ids", sorted(got) == sorted(k for k in rows if k != "id"))
print("acme_exact", got["1001"] == rows["1001"])
print("bakery", got["1002"])
print("evil", got.get(sys.argv[3]) is not None)
PYEOF
expect "  every customer is there, the odd id too" "ids True" "$(grep '^ids' "$tmp/names")"
expect "  a UTF-8 name comes back exactly (JSON escapes its controls)" "acme_exact True" "$(grep '^acme_exact' "$tmp/names")"
expect "  a name that is not UTF-8 comes back escaped" 'bakery Bakery \xff\xfe \xc3( \x1b[2J not UTF-8' "$(grep '^bakery' "$tmp/names")"
for id in 1001 1002 "$evil" reseller-25; do
	rwc customers "$id" >"$tmp/one.txt" 2>&1; rc=$?
	[ $rc = 0 ] && clean "customers '$(echo "$id" | cut -c 1-20)...' (text)" "$tmp/one.txt" || bad "customers $id: exit $rc: $(cat "$tmp/one.txt")"
	rwc customers "$id" --json >"$tmp/one.json" 2>&1; rc=$?
	[ $rc = 0 ] && clean "customers '$(echo "$id" | cut -c 1-20)...' --json" "$tmp/one.json" || bad "customers $id --json: exit $rc"
done
rwc customers --filter '`touch' --json >"$tmp/f.json" 2>&1
expect "--filter with a backtick: the odd id and the odd name" True \
    "$(js 'sorted(c["id"] for c in d["customers"]) == sorted(["1001", sys.argv[2]])' "$evil" <"$tmp/f.json")"
expect "nested holders: the /25 holds the listed .51 and .52, not the /32s inside it" \
    "['203.0.113.51', '203.0.113.52']" "$(rwc customers reseller-25 --json | js 'sorted(a["ip"] for a in d["addresses"])')"
"$RW" analyze -c "$tmp/etc/rangewatch.conf" --json "$tmp/story.pcap" >"$tmp/a.json" 2>&1
expect "analyze: each story IP to its most specific holder" "[('198.51.100.17', '1003'), ('203.0.113.20', '1002'), ('203.0.113.7', '1001')]" \
    "$(js 'sorted((i["ip"], i["customer"]) for i in d["ips"])' <"$tmp/a.json")"
expect "analyze --json: a name that is not UTF-8 is escaped, not dropped" 'Bakery \xff\xfe \xc3( \x1b[2J not UTF-8' \
    "$(js '[c.get("name") for c in d["customers"] if c["id"] == "1002"][0]' <"$tmp/a.json")"
clean "analyze --json" "$tmp/a.json"
"$RW" analyze -c "$tmp/etc/rangewatch.conf" "$tmp/story.pcap" >"$tmp/a.txt" 2>&1
clean "analyze (text)" "$tmp/a.txt"

echo "-- the abuse desk's mail"
$PY - "$tmp/mail" "$evil" >"$tmp/mail.txt" <<'PYEOF'
import email, email.policy, os, shlex, sys, unicodedata
bad = []
subjects = []
lookup = []
for n in sorted(os.listdir(sys.argv[1])):
    raw = open(os.path.join(sys.argv[1], n), "rb").read()
    if b"\n" in raw.replace(b"\r\n", b"") or b"\r" in raw.replace(b"\r\n", b""):
        bad.append("%s: a bare CR or LF" % n)
    if any(c < 32 and c not in (9, 10, 13) or c >= 127 for c in raw):
        bad.append("%s: a raw control or 8-bit byte" % n)
    m = email.message_from_bytes(raw, policy=email.policy.default)
    if n.split(".", 1)[1] != "abuse@provider.example.eml":
        bad.append("%s: envelope recipients" % n)
    for h in ("Bcc", "Cc"):
        if m[h] is not None:
            bad.append("%s: an injected %s header" % (n, h))
    if len(m.get_all("Subject")) != 1 or len(m.get_all("To")) != 1:
        bad.append("%s: Subject or To twice" % n)
    s = str(m["Subject"])
    subjects.append(s)
    body = m.get_content().replace("\r\n", "\n")
    lookup += [l.strip() for l in body.split("\n") if l.startswith("  rangewatch customers ")]
    for what, text in (("subject", s), ("body", body)):
        for c in text:
            if c not in "\n" and unicodedata.category(c) in ("Cc", "Cf"):
                bad.append("%s: %s holds U+%04X" % (n, what, ord(c)))
                break
for s in subjects:
    print("subject", s[:150])
print("acme", any(" ACT 1001 Acme \\x1b[31mRED" in s for s in subjects))
print("evil", any(("ACT " + sys.argv[2][:60]) in s for s in subjects))
# the line to paste is one shell word holding the whole id
print("lookup", any(shlex.split(l) == ["rangewatch", "customers", sys.argv[2]] for l in lookup))
print("bad", bad[:5])
PYEOF
sed -n 's/^subject /     subject: /p' "$tmp/mail.txt"
expect "mail: CRLF only, 7-bit, one Subject and To, no Bcc/Cc, no control in the decoded subject or body" "bad []" "$(grep '^bad' "$tmp/mail.txt")"
expect "  1001's act mail names it, escaped" "acme True" "$(grep '^acme' "$tmp/mail.txt")"
expect "  the odd id's act mail names it (its subject cuts it at 127 bytes)" "evil True" "$(grep '^evil' "$tmp/mail.txt")"
expect "  its 'rangewatch customers ID' line quotes the whole id as one shell word" "lookup True" "$(grep '^lookup' "$tmp/mail.txt")"

echo "-- the suspend hook"
f=$(grep -lx 1001 "$tmp"/hook/*.argv | head -1); f=${f%.argv}
expect "argv: suspend 1001" "suspend 1001" "$(tr '\n' ' ' <"$f.argv" | sed 's/ $//')"
clean "RANGEWATCH_CUSTOMER_NAME" "$f.name"
grep -qF 'Acme \x1b[31mRED\x1b[0m \x1b]0;title\x07 $(touch' "$f.name" && ok "  escaped, the \$(...) as plain text" || bad "  name: $(cat "$f.name")"
clean "the hook's whole environment" "$f.env"
expect "  one line per variable (no newline came in)" "$(grep -c '=' "$f.env")" "$(wc -l <"$f.env" | tr -d ' ')"
# stdin is a document for a program, not a terminal: UTF-8 JSON, its controls JSON-escaped
expect "the evidence on its stdin: one JSON document for 1001, with the name exactly" "1001 True" \
    "$($PY - "$f.stdin" "$tmp/customers.good.csv.copy" <<'PYEOF'
import csv, io, json, sys
csv.field_size_limit(1 << 24)
d = json.load(open(sys.argv[1]))
rows = csv.reader(io.StringIO(open(sys.argv[2], "rb").read().decode("utf-8", "surrogateescape"), newline=""))
print(d["id"], d["name"] == [r for r in rows if r[0] == "1001"][0][1])
PYEOF
)"
expect "the hook ran for 1001 and the reseller only (the odd id is refused before any run)" 2 "$(ls "$tmp"/hook/*.argv | wc -l)"
au=$(sql "SELECT outcome FROM audit WHERE action = 'suspend' AND customer = '1001'")
case $au in *'done: out \x1b[2J\x1b]0;pwn\x07 cr\x0d\x0anul\x00x \xff\xfe bell\x07 AAAA'*)
	ok "audit: the hook's output escaped";; *) bad "audit outcome: $(echo "$au" | cut -c 1-300)";; esac
out=$(sql "SELECT json_extract(detail, '\$.output_dropped') || ' ' || (json_extract(detail, '\$.output') LIKE '%AAAA [... ' || json_extract(detail, '\$.output_dropped') || ' more bytes dropped]') FROM audit WHERE action = 'suspend' AND customer = '1001'")
head_len=$(printf 'out \033[2J\033]0;pwn\007 cr\r\nnul\000x \377\376 bell\007 ' | wc -c)
expect "  its first 8 KiB kept, the rest counted and noted" "$((head_len + 100000 - 8192)) 1" "$out"
au=$(sql "SELECT outcome FROM audit WHERE customer = '$(printf '%s' "$evil" | sed "s/'/''/g")'")
case $au in *"NOT suspended: the hook could not start (hook: customer_id must be 1-64 of [A-Za-z0-9._:@+-]"*)
	ok "the odd id: $(echo "$au" | cut -c 1-110)...";; *) bad "the odd id's audit: $au";; esac
rwc alerts --limit 100 >"$tmp/alerts.txt" 2>&1; expect "alerts: exit" 0 $?
clean "rangewatch alerts" "$tmp/alerts.txt"
rwc alerts --limit 100 --json >"$tmp/alerts.json" 2>&1
clean "rangewatch alerts --json" "$tmp/alerts.json"
[ ! -e "$pw/pwned" ] && ok "no shell ran anything: $pw/pwned does not exist" || bad "$pw/pwned exists: something ran a shell"

# ------------------------------------------------------------------------------------
sec "control-socket clients: garbage, a line over the limit, nothing, half a line"
wait "$sockpy"
sed 's/^/     /' "$tmp/sock.out"
case $(grep '^garbage_reply' "$tmp/sock.out") in 'garbage_reply {"v":1,"ok":false,"error":"not JSON'*) ok "garbage: an error reply";;
	*) bad "garbage: $(grep '^garbage_reply' "$tmp/sock.out")";; esac
expect "  and the connection still serves" 'garbage_then_ping {"v":1,"ok":true,"result":{"pong":true,"v":1},"id":2}' "$(grep '^garbage_then_ping' "$tmp/sock.out")"
expect "a line over the limit: an error reply" 'huge_reply {"v":1,"ok":false,"error":"request longer than 65535 bytes: closing"}' "$(grep '^huge_reply' "$tmp/sock.out")"
expect "  then closed" "huge_closed True" "$(grep '^huge_closed' "$tmp/sock.out")"
expect "another client answered meanwhile" 'other_answered {"v":1,"ok":true,"result":{"pong":true,"v":1},"id":9}' "$(grep '^other_answered' "$tmp/sock.out")"
case $(grep '^hold_closed' "$tmp/sock.out") in "hold_closed True after 1"[0-2]" s") ok "a client that sends nothing is closed after 10 s";;
	*) bad "silent client: $(grep '^hold_closed' "$tmp/sock.out")";; esac
kill -0 "$dpid" && ok "the daemon is still up" || bad "the daemon died"
for w in "sent a request that is not valid" "sent a line over 65536 bytes" "sent nothing for" "closed with half a request"; do
	n=$(grep -c "control: .*$w" "$tmp/daemon.log")
	expect "one log line: '$w'" 1 "$n"
done
grep "control: " "$tmp/daemon.log" | sed 's/^/     /'
expect "status --json counts them: error replies, bad clients dropped" "2 3" \
    "$(rwc status --json | js '"%d %d" % (d["control"]["errors"], d["control"]["dropped_bad"])')"

# ------------------------------------------------------------------------------------
sec "SIGHUP with the 1M-line file holding a bad line: refused, the old customers stay"
before=$(rwc status --json | js 'd["customers"]')
cp "$tmp/big/bad.csv" "$tmp/etc/customers.new" && mv "$tmp/etc/customers.new" "$tmp/etc/customers.csv"
kill -HUP "$dpid"
poll 30 grep -q "customers.csv:765432: bad CIDR" "$tmp/daemon.log" && ok "the log names the line: $(grep 'customers.csv:765432' "$tmp/daemon.log" | head -1)" ||
    bad "no FILE:LINE in the log"
expect "the old customers stay" "$before" "$(rwc status --json | js 'd["customers"]')"
expect "  and answer" act "$(level_of 1001)"
st=$(rwc status --json)
expect "status --json: the hook outputs cut and the bytes dropped" \
    "2 $((2 * (head_len + 100000 - 8192)))" "$(echo "$st" | js '"%d %d" % (d["hooks"]["output_cut"], d["hooks"]["output_dropped"])')"
expect "  the odd id's run refused" 1 "$(echo "$st" | js 'd["hooks"]["refused"]')"
expect "  logged once, not per run" 1 "$(grep -c "wrote more than 8192 bytes" "$tmp/daemon.log")"
rwc status >"$tmp/status.txt" 2>&1
clean "rangewatch status" "$tmp/status.txt"
grep "^limits" -A1 "$tmp/status.txt" | sed 's/^/     /'
clean "the daemon's whole log" "$tmp/daemon.log"
stop

# ------------------------------------------------------------------------------------
sec "forged list-citing 550s to four addresses of a /24, replayed through the daemon"
cp "$tmp/customers.good.csv.copy" "$tmp/etc/customers.csv"
levels() { rwc customers --all --json | js '" ".join("%s=%s" % (c["id"], c["level"]) for c in sorted(d["customers"], key=lambda c: c["id"]))'; }
# 30 forged 550s naming spamhaus and uceprotect to each of 203.0.113.20-23 (customer 1002 and
# the reseller's /25), no handshake, plus a forged SYN-ACK and a 550 on it for each: in the
# last minutes, so that they fall in the risk engine's last hour
nforged=$(TESTS=$TESTS $PY - "$tmp/forged.pcap" "$(( $(date +%s) - 90 ))" <<'PYEOF'
import sys
sys.path.insert(0, __import__("os").environ["TESTS"])
import gen_captures as gc
g = gc.Gen("forged", 1, "forged 550s", 99)
for last in (20, 21, 22, 23):
    for i in range(30):
        f = gc.Flow(g, "203.0.113.%d" % last, gc.SERVERS_V4[i % 5])
        f.frame(False, gc.PSH | gc.ACK, b"550 5.7.1 Service unavailable; client host blocked "
                b"using zen.spamhaus.org; see uceprotect.net\r\n", count=False)
    f = gc.Flow(g, "203.0.113.%d" % last, gc.SERVERS_V4[0])
    f.frame(False, gc.SYN | gc.ACK, ack=f.cseq + 1)
    f.frame(False, gc.PSH | gc.ACK, b"554 blocked using zen.spamhaus.org\r\n", seq=f.sseq + 1,
            ack=f.cseq + 1)
print(gc.write_timed(g, [(int(sys.argv[2]), 0, len(g.frames))], sys.argv[1]))
PYEOF
)
chmod a+r "$tmp/forged.pcap"
EXTRA_CONF=
conf "replay = $tmp/forged.pcap
replay_speed = 0" >"$tmp/etc/rangewatch.conf"
: >"$tmp/daemon.log"
start
before=$(levels)
poll 60 replay_done && ok "$nforged forged frames replayed" || bad "the forged replay did not end"
sleep 3		# a few turns of the risk engine
expect "status --json counts every forged frame as unsolicited" "$nforged" "$(rwc status --json | js 'd["capture"]["unsolicited"]')"
expect "nobody's level changed" "$before" "$(levels)"
rwc analyze --json "$tmp/forged.pcap" >"$tmp/forged.json" 2>&1
expect "analyze: nobody counted, all unsolicited" "[] $nforged" "$(js '"%s %d" % (d["ips"], d["packets"]["unsolicited"])' <"$tmp/forged.json")"
stop

sec "the capture's and the risk engine's bounds: a restart with max_flows 1, max_ips 2, [risk] max_ips 1"
cp "$tmp/customers.good.csv.copy" "$tmp/etc/customers.csv"
EXTRA_CONF="[capture]
max_flows = 1
max_ips = 2
[risk]
max_ips = 1"
conf "replay = $tmp/story.pcap
replay_speed = 0" >"$tmp/etc/rangewatch.conf"
: >"$tmp/daemon.log"
start
poll 60 replay_done && ok "the story replayed" || bad "the replay did not end"
st=$(rwc status --json)
echo "$st" | js '"     capture %s, tracked_ips %d, tracked_ips_refused %d" % ({k: v for k, v in d["capture"].items() if "connections" in k or "sources" in k}, d["tracked_ips"], d["tracked_ips_refused"])'
expect "every bound counted: connections and sources untracked, IPs refused by the risk engine" "True True True" \
    "$(echo "$st" | js 'd["capture"]["connections_untracked"] > 0, d["capture"]["sources_untracked"] > 0, d["tracked_ips_refused"] > 0' | tr -d '(),')"
for w in "flow table full at 1 connections" "per-IP table full at 2 sources" "the risk engine's IP table is full at 1 IPs"; do
	expect "logged once: '$w'" 1 "$(grep -c "$w" "$tmp/daemon.log")"
done
rwc status >"$tmp/status.txt" 2>&1
grep -q "^limits    .*connections not followed (max_flows)" "$tmp/status.txt" && ok "rangewatch status says so: $(grep -A1 '^limits' "$tmp/status.txt" | tr -s ' ' | tr '\n' ' ')" ||
    bad "status: $(cat "$tmp/status.txt")"
stop
[ ! -e "$pw/pwned" ] && ok "still no $pw/pwned" || bad "$pw/pwned exists"
echo "hostile_input: $(( $(date +%s) - t_start ))s"
exit $fail
