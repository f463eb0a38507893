#!/bin/sh
# The daemon-facing subcommands of `rangewatch` without a daemon: against a socket path
# where nothing listens (no file; a stale socket file) each exits 1 naming the path with
# the hint "is rangewatchd running?"; usage errors exit 2 (unknown options, options of
# another subcommand, a bad --limit, suspend without --reason or with a reason holding a
# control character or over 200 bytes). Then against a fake rangewatchd (Python, a UNIX
# socket answering each request line with a canned reply in the shapes of
# monitor/views.h, and recording the requests): `customers --json` prints the result
# object as sent; `customers` prints a hostile name escaped, no raw ESC or CR; options
# become request arguments; an ok:false reply exits 1 with the error escaped; and
# `suspend 1001 --reason x` sends {"v":1,"cmd":"suspend","customer":"1001","reason":"x"}.
set -u
: "${RW_BIN:?RW_BIN must name the folder holding rangewatch}"
PY=/usr/bin/python3
RW="$RW_BIN/rangewatch"
[ -x "$PY" ] || { echo "skip: no $PY"; exit 77; }
tmp=$(mktemp -d)
server=""
cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

# expect RC LABEL CMD...: the exit code is RC; output in $tmp/out, $tmp/err
expect() {
	want=$1 label=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$label: exit $rc: $(head -n 1 "$tmp/err")"
	else bad "$label: exit $rc, wanted $want: $(cat "$tmp/out" "$tmp/err")"; fi
}

# --- nothing listens -------------------------------------------------------------------
$PY -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' \
    "$tmp/stale.sock"
for sock in "$tmp/none.sock" "$tmp/stale.sock"; do
	for cmd in status customers ranges listings alerts "customers 1001" \
	    "suspend 1001 --reason x" "resume 1001 --reason x" "ack 1001 --reason x"; do
		# shellcheck disable=SC2086
		expect 1 "$cmd, $(basename "$sock")" "$RW" $cmd -s "$sock"
		grep -q "$sock" "$tmp/err" && grep -q "is rangewatchd running?" "$tmp/err" ||
		    bad "$cmd: the message names neither $sock nor the hint: $(cat "$tmp/err")"
	done
done
# the socket named by a config's `socket` key
printf '[rangewatch]\nsocket = %s\n' "$tmp/none.sock" >"$tmp/rw.conf"
expect 1 "status -c FILE" "$RW" status -c "$tmp/rw.conf"
grep -q "$tmp/none.sock" "$tmp/err" || bad "status -c: the config's socket is not named"

# --- usage errors ----------------------------------------------------------------------
S="-s $tmp/none.sock"
# shellcheck disable=SC2086
{
expect 2 "unknown option" "$RW" status --bogus $S
grep -q "usage: rangewatch status" "$tmp/err" || bad "unknown option: no usage on stderr"
expect 2 "an option of another subcommand" "$RW" ranges --filter x $S
expect 2 "an argument status does not take" "$RW" status extra $S
expect 2 "two customer ids" "$RW" customers 1 2 $S
expect 2 "an id with a filter" "$RW" customers 1001 --all $S
expect 2 "--limit not a number" "$RW" customers --limit many $S
expect 2 "--limit negative" "$RW" listings --limit -1 $S
expect 2 "--range not a CIDR" "$RW" customers --range 300.1.2.3/24 $S
expect 2 "--filter with ESC" "$RW" customers --filter "$(printf 'a\033[31m')" $S
expect 2 "suspend without a customer" "$RW" suspend --reason x $S
expect 2 "suspend without --reason" "$RW" suspend 1001 $S
grep -q "reason" "$tmp/err" || bad "suspend without --reason: the message does not say so"
expect 2 "ack without --reason" "$RW" ack 1001 $S
expect 2 "empty --reason" "$RW" resume 1001 --reason "" $S
expect 2 "--reason over two lines" "$RW" suspend 1001 --reason "$(printf 'a\nb')" $S
grep -q 'a\\x0ab' "$tmp/err" || bad "the refused reason is not shown escaped: $(cat "$tmp/err")"
expect 2 "--reason with ESC" "$RW" suspend 1001 --reason "$(printf '\033[2J')" $S
long=$($PY -c 'print("r" * 201)')
expect 2 "--reason of 201 bytes" "$RW" suspend 1001 --reason "$long" $S
}
expect 0 "--help" "$RW" customers --help
grep -q -- "--filter TEXT" "$tmp/out" || bad "customers --help does not list --filter"

# --- a fake rangewatchd ----------------------------------------------------------------
cat >"$tmp/fake.py" <<'EOF'
# A fake rangewatchd: answers each request line on a UNIX socket with the canned result
# of its cmd (shapes of monitor/views.h), records every request, one JSON per line.
# `fake.py --print CMD` prints the canned result of CMD.
import json, socket, sys

NOW = 1700000000
NB = {"policy": "uceprotect-2", "scope": "range", "key": "203.0.113.0/24", "impacts": 3,
      "suspects": 1, "threshold": 4, "pressure": 0.75, "projected": 1.0}
CUST = {"id": "1001", "name": "\x1b[31mX", "level": "act", "score": 7.5, "since": NOW - 600,
        "ack": None, "tags": [], "ips": ["203.0.113.0/28"], "listed_ips": 1, "suspect_ips": 1,
        "smtp_1h": {"sessions": 99, "rcpt": 300, "replies_5xx": 4, "cited": 2, "dst": 40},
        "spark": [0] * 23 + [99],
        "evidence": ["customer 1001 \x1b[31mX\r\nfake: 203.0.113.7 listed"],
        "neighbourhoods": [NB]}
R = {
    "status": {"version": "0.4", "pid": 4242, "started": NOW - 3600, "now": NOW,
               "clock": "live", "capture": {"source": "none", "interface": None,
               "packets": 0, "smtp": 0, "malformed": 0, "truncated": 0, "pps": 0.0,
               "drops": 0, "ifdrops": 0, "replay": None}, "ips": 0, "customers": 1,
               "levels": {"watch": 0, "warn": 0, "act": 1}, "lists": [],
               "dnsbl": {"asked": 0, "answered": 0, "listed": 0, "last_answer": None},
               "evaluated": NOW - 5, "clients": 1},
    "customers": {"total": 1, "customers": [CUST]},
    "customer": dict(CUST, contact="abuse@x.example", addresses=[], history=[], audit=[]),
    "ranges": {"total": 1, "neighbourhoods": [dict(NB, escalated=False,
               eta_threshold=NOW + 3600, clear_at=None, contributors=[])]},
    "listings": {"total": 0, "listings": []},
    "alerts": {"flags": [], "audit": []},
    "suspend": {"audit_id": 5, "customer": "1001", "action": "suspend", "outcome": "done"},
}

if sys.argv[1] == "--print":
    print(json.dumps(R[sys.argv[2]]))
    sys.exit(0)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sys.argv[1])
srv.listen(8)
while True:
    conn, _ = srv.accept()
    f = conn.makefile("rwb")
    for line in f:
        req = json.loads(line)
        with open(sys.argv[2], "a") as log:
            log.write(json.dumps(req, sort_keys=True) + "\n")
        cmd = req.get("cmd")
        if cmd in R and req.get("list") != "nosuch":
            rep = {"v": 1, "id": req.get("id"), "ok": True, "result": R[cmd]}
        else:
            rep = {"v": 1, "id": req.get("id"), "ok": False,
                   "error": "no list \x1b[31mnosuch\r\n"}
        f.write((json.dumps(rep) + "\n").encode())
        f.flush()
    f.close()
    conn.close()
EOF
$PY "$tmp/fake.py" "$tmp/rw.sock" "$tmp/requests.log" 2>"$tmp/fake.err" &
server=$!
i=0
while [ ! -S "$tmp/rw.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$tmp/rw.sock" ] || { bad "the fake server did not start: $(cat "$tmp/fake.err")"; exit 1; }
S="-s $tmp/rw.sock"

# no raw ESC, CR or other control byte but LF in $tmp/out
clean() {
	if LC_ALL=C grep -q "$(printf '[\001-\011\013-\037\177]')" "$tmp/out"; then
		bad "$1: raw control bytes reach the terminal"
	fi
}

# shellcheck disable=SC2086
expect 0 "customers --json" "$RW" customers --json $S
$PY - "$tmp/out" "$($PY "$tmp/fake.py" --print customers)" <<'EOF' && ok "customers --json prints the result object as sent" || bad "customers --json: $(cat "$tmp/out")"
import json, sys
text = open(sys.argv[1]).read()
assert text.endswith("\n") and text.count("\n") == 1, "not one newline-terminated line"
got = json.loads(text)
assert got == json.loads(sys.argv[2]), "not the result"
assert isinstance(got["customers"], list) and got["total"] == 1
EOF
clean "customers --json"

# shellcheck disable=SC2086
expect 0 "customers" "$RW" customers $S
grep -q '^act   1001   \\x1b\[31mX ' "$tmp/out" && ok "the hostile name is shown escaped" ||
    bad "no escaped name in the customers table: $(cat "$tmp/out")"
grep -q '\\x1b\[31mX\\x0d\\x0afake: 203.0.113.7 listed' "$tmp/out" &&
    ok "the evidence's CR/LF and ESC are shown escaped" || bad "evidence: $(cat "$tmp/out")"
grep -q '203.0.113.0/24 uceprotect-2 3/4 (+1)' "$tmp/out" && ok "the worst neighbourhood" ||
    bad "no worst neighbourhood: $(cat "$tmp/out")"
clean "customers"

# shellcheck disable=SC2086
{
expect 0 "customers ID" "$RW" customers 1001 $S
grep -q '^customer  1001  \\x1b\[31mX$' "$tmp/out" || bad "customers ID: $(cat "$tmp/out")"
clean "customers ID"
expect 0 "status" "$RW" status $S
grep -q "^levels    act 1, warn 0, watch 0$" "$tmp/out" || bad "status: $(cat "$tmp/out")"
expect 0 "ranges" "$RW" ranges --limit 3 --policy uceprotect-2 $S
grep -q "in 1h" "$tmp/out" || bad "ranges: no ETA relative to the daemon's clock: $(cat "$tmp/out")"
expect 0 "alerts" "$RW" alerts --customer 1001 --limit 7 $S
expect 0 "listings" "$RW" listings --all --limit 0 $S
expect 1 "an ok:false reply" "$RW" listings --list nosuch $S
grep -q 'rangewatchd: no list \\x1b\[31mnosuch\\x0d\\x0a' "$tmp/err" &&
    ok "the daemon's error is shown escaped" || bad "ok:false: $(cat "$tmp/err")"
expect 0 "customers with filters" "$RW" customers --limit 5 --filter acme --range 203.0.113.0/24 --list uceprotect-1 --all $S
expect 0 "suspend" "$RW" suspend 1001 --reason "x" $S
grep -q "^suspend customer 1001: done (audit #5)$" "$tmp/out" || bad "suspend: $(cat "$tmp/out")"
}

# what the fake server was sent
$PY - "$tmp/requests.log" <<'EOF' && ok "the requests carry the arguments (suspend: exactly customer and reason)" || bad "requests: $(cat "$tmp/requests.log")"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
for r in reqs:
    assert r["v"] == 1 and isinstance(r["id"], int), r
def last(cmd):
    return [r for r in reqs if r["cmd"] == cmd][-1]
s = dict(last("suspend"))
del s["id"]
assert s == {"v": 1, "cmd": "suspend", "customer": "1001", "reason": "x"}, s
c = dict(last("customers")); del c["id"]
assert c == {"v": 1, "cmd": "customers", "limit": 5, "filter": "acme",
             "range": "203.0.113.0/24", "list": "uceprotect-1", "all": True}, c
# views.h's {"id":ID} would clash with the request id (an integer): "customer" carries it
one = dict(last("customer")); del one["id"]
assert one == {"v": 1, "cmd": "customer", "customer": "1001"}, one
r = dict(last("ranges")); del r["id"]
assert r == {"v": 1, "cmd": "ranges", "limit": 3, "policy": "uceprotect-2"}, r
a = dict(last("alerts")); del a["id"]
assert a == {"v": 1, "cmd": "alerts", "customer": "1001", "limit": 7}, a
l = [x for x in reqs if x["cmd"] == "listings" and "all" in x][-1]
assert l["limit"] == 0 and l["all"] is True, l
EOF
exit $fail
