#!/bin/sh
# hook_runner.sh — the example hooks in etc/hooks/ run exactly as the hook runner runs them
# (env -i with the contract's variables only, argv ACTION CUSTOMER_ID, the evidence on
# stdin), against real peers: log-to-file.sh appends one clean line (and only prints it in
# a dry run); provisioning-api.sh against a local HTTP API (python3) sends the JSON body
# with hostile text intact, maps 2xx/5xx/429/4xx/timeouts to 0/75/75/1/75 and sends nothing
# in a dry run; nftables.sh (in a private network namespace, when unshare and nft are here)
# adds and removes set elements, refuses bad addresses and prints only in a dry run.
# The runner itself (user switch, fds, timeouts, output bounds) is tested by test_hook.
# shellcheck disable=SC2015,SC2016 # a && ok || bad on purpose; hostile text in single quotes
set -u
cd "$(dirname "$0")/../.." || exit 1
HOOKS=$PWD/etc/hooks
T=$(mktemp -d /tmp/rw-hook-it.XXXXXX) || exit 1
SERVER=""
cleanup() {
	[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
check() {	# check WHAT EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: expected [$2], got [$3]"; fi
}

EVIDENCE='{"evidence":["customer 4711 Acme: 3 listed IPs\tin 192.0.2.0/24","second"],"score":7.5}'
NAME='Acme "Corp" $(touch '"$T"'/pwned) `id`'
REASON='listed; $(rm -rf '"$T"'/canary) && echo x'
touch "$T/canary"

# run HOOK ACTION ID DRY [VAR=VALUE...]: as the runner does (extra VARs: test settings)
run() {
	hook=$1 action=$2 id=$3 dry=$4
	shift 4
	printf '%s' "$EVIDENCE" | env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
	    RANGEWATCH_ACTION="$action" RANGEWATCH_CUSTOMER_ID="$id" \
	    RANGEWATCH_CUSTOMER_NAME="$NAME" RANGEWATCH_IPS="192.0.2.1 2001:db8::1" \
	    RANGEWATCH_LEVEL=act RANGEWATCH_REASON="$REASON" RANGEWATCH_EVENT_ID=ev-9 \
	    RANGEWATCH_DRY_RUN="$dry" "$@" "$HOOKS/$hook" "$action" "$id"
}

for h in log-to-file.sh provisioning-api.sh nftables.sh; do
	[ -x "$HOOKS/$h" ] && ok "$h is executable" || bad "$h is not executable"
	head -n 1 "$HOOKS/$h" | grep -q '^#!/bin/sh$' && ok "$h is a POSIX sh script" ||
	    bad "$h: not #!/bin/sh"
done
if command -v shellcheck >/dev/null 2>&1; then
	shellcheck -s sh "$HOOKS"/*.sh && ok "shellcheck: no findings" || bad "shellcheck"
fi

# ---- log-to-file.sh
out=$(run log-to-file.sh suspend 4711 0 RW_HOOK_LOG="$T/hook.log")
check "log: exit 0" 0 $?
check "log: one line" 1 "$(wc -l < "$T/hook.log")"
check "log: 11 tab-separated fields" 11 "$(awk -F'\t' '{ print NF }' "$T/hook.log")"
check "log: the name verbatim" "$NAME" "$(cut -f 9 "$T/hook.log")"
check "log: the reason verbatim" "$REASON" "$(cut -f 10 "$T/hook.log")"
check "log: first evidence line, its tab cleaned" "customer 4711 Acme: 3 listed IPs?in 192.0.2.0/24" \
    "$(cut -f 11 "$T/hook.log")"
check "log: automatic (operator -)" "-" "$(cut -f 6 "$T/hook.log")"
out=$(run log-to-file.sh unsuspend 4711 1 RW_HOOK_LOG="$T/hook.log" RANGEWATCH_OPERATOR=alice)
check "log: dry run exit 0" 0 $?
check "log: dry run appends nothing" 1 "$(wc -l < "$T/hook.log")"
case $out in *"dry run, not appended"*alice*) ok "log: dry run prints the line";;
*) bad "log: dry run printed [$out]";; esac
run log-to-file.sh suspend 4711 0 RW_HOOK_LOG="$T/missing/hook.log" >/dev/null 2>&1
check "log: unwritable file -> 75" 75 $?
run log-to-file.sh reboot 4711 0 RW_HOOK_LOG="$T/hook.log" >/dev/null 2>&1
check "log: bad action -> 2" 2 $?

# ---- provisioning-api.sh against a local API
if command -v python3 >/dev/null 2>&1 && command -v curl >/dev/null 2>&1; then
	cat > "$T/api.py" <<'EOF'
import http.server, json, sys, time
T = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def reply(self, code, text):
        body = json.dumps({"message": text}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def handle_one(self):
        if self.headers.get("Authorization") != "Bearer t0k3n":
            return self.reply(401, "no token")
        parts = self.path.split("/")   # /api/v1/customers/ID[/ACTION]
        cid = parts[4] if len(parts) > 4 else ""
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n) if n else b""
        with open(T + "/req-" + cid, "wb") as f:
            f.write((self.command + " " + self.path + "\n").encode() + data)
        if cid == "slow":
            time.sleep(4)
        code = {"busy": 503, "limit": 429, "gone": 404}.get(cid, 200)
        try:
            self.reply(code, "done" if code == 200 else "no")
        except BrokenPipeError:
            pass        # the client gave up (the timeout case)
    do_GET = do_POST = handle_one
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
s.daemon_threads = True
open(T + "/port", "w").write(str(s.server_address[1]))
s.serve_forever()
EOF
	python3 "$T/api.py" "$T" &
	SERVER=$!
	i=0
	while [ ! -s "$T/port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	URL="http://127.0.0.1:$(cat "$T/port")/api/v1"
	printf 'Authorization: Bearer t0k3n\n' > "$T/header"
	api() { run provisioning-api.sh "$1" "$2" "$3" RW_API_URL="$URL" RW_API_HEADER="$T/header" \
	    RW_API_MAX_TIME=2; }

	out=$(api suspend 4711 0)
	check "api: 200 -> 0" 0 $?
	check "api: POST to the customer's suspend URL" "POST /api/v1/customers/4711/suspend" \
	    "$(head -n 1 "$T/req-4711")"
	tail -n +2 "$T/req-4711" > "$T/body.json"
	got=$(python3 -c '
import json, sys
b = json.load(open(sys.argv[1]))
print(b["customer_name"] == sys.argv[2], b["reason"] == sys.argv[3], b["ips"],
      b["evidence"]["evidence"][0].startswith("customer 4711"), b["operator"], b["dry_run"],
      b["action"], b["level"], b["event_id"])' "$T/body.json" "$NAME" "$REASON")
	check "api: the JSON body, hostile text intact" \
	    "True True ['192.0.2.1', '2001:db8::1'] True None False suspend act ev-9" "$got"
	case $out in *"HTTP 200"*done*) ok "api: the answer reaches the output";;
	*) bad "api: output [$out]";; esac
	api unsuspend busy 0 >/dev/null
	check "api: 503 -> 75" 75 $?
	api suspend limit 0 >/dev/null
	check "api: 429 -> 75" 75 $?
	api suspend gone 0 >/dev/null
	check "api: 404 -> 1" 1 $?
	api suspend slow 0 >/dev/null
	check "api: timeout -> 75" 75 $?
	run provisioning-api.sh suspend 4711 0 RW_API_URL="http://127.0.0.1:1/api" \
	    RW_API_HEADER="$T/header" >/dev/null 2>&1
	check "api: connection refused -> 75" 75 $?
	printf 'Authorization: Bearer wrong\n' > "$T/header2"
	run provisioning-api.sh suspend 4711 0 RW_API_URL="$URL" RW_API_HEADER="$T/header2" \
	    >/dev/null 2>&1
	check "api: 401 -> 1" 1 $?
	out=$(api test 4711 0)
	check "api: test -> 0" 0 $?
	check "api: test is a GET" "GET /api/v1/customers/4711" "$(head -n 1 "$T/req-4711")"
	rm -f "$T/req-dry"
	out=$(api suspend dry 1)
	check "api: dry run exit 0" 0 $?
	[ ! -e "$T/req-dry" ] && ok "api: dry run sends nothing" || bad "api: dry run sent"
	case $out in *"dry run, not sent: POST"*'"customer_id": "dry"'*) ok "api: dry run prints it";;
	*) bad "api: dry run printed [$out]";; esac
	api suspend '../x' 0 >/dev/null 2>&1
	check "api: a bad id -> 2" 2 $?
else
	echo "skip provisioning-api.sh: no python3 or curl"
fi

# ---- nftables.sh in a private network namespace (never the host's rules)
if [ "$(id -u)" = 0 ] && [ -x /usr/sbin/nft ] && unshare -n true 2>/dev/null; then
	cat > "$T/nft.sh" <<EOF
run() { env -i RANGEWATCH_IPS="\$3" RANGEWATCH_DRY_RUN="\$4" "$HOOKS/nftables.sh" "\$1" "\$2"; }
run test C1 "" 0 >/dev/null; echo "test=\$?"
run suspend C1 "192.0.2.1 2001:db8::1 198.51.100.7" 0 >/dev/null; echo "suspend=\$?"
run suspend C1 "192.0.2.1" 0 >/dev/null; echo "again=\$?"
nft list set inet rangewatch smtp4 | grep -c 'customer C1'
run unsuspend C1 "192.0.2.1 2001:db8::1 203.0.113.9" 0 >/dev/null; echo "unsuspend=\$?"
nft list set inet rangewatch smtp4 | grep -o '[0-9.]*7 comment'
nft list set inet rangewatch smtp6 | grep -c 'elements' 
run suspend C1 "192.0.2.1;reboot" 0 >/dev/null 2>&1; echo "bad1=\$?"
run suspend C1 "01.2.3.4" 0 >/dev/null 2>&1; echo "bad2=\$?"
run suspend C1 '\$(id)' 0 >/dev/null 2>&1; echo "bad3=\$?"
run suspend C1 "203.0.113.50" 1 | grep -c 'add element inet rangewatch smtp4 { 203.0.113.50'
nft list set inet rangewatch smtp4 | grep -c 203.0.113.50
EOF
	got=$(unshare -n sh "$T/nft.sh" 2>&1 | tr '\n' ' ')
	check "nft: test, suspend, again, unsuspend, refusals, dry run" \
	    "test=0 suspend=0 again=0 1 unsuspend=0 198.51.100.7 comment 0 bad1=2 bad2=2 bad3=2 1 0 " \
	    "$got"
else
	echo "skip nftables.sh: needs root, /usr/sbin/nft and unshare -n"
fi

[ ! -e "$T/pwned" ] && ok "no text was run as code (no marker)" || bad "a marker was created"
[ -e "$T/canary" ] && ok "no text was run as code (the canary lives)" || bad "canary removed"
echo "hook_runner: $fails failed"
[ "$fails" -eq 0 ]
