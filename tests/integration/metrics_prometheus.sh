#!/bin/sh
# GET /metrics scraped by a real Prometheus (Debian's prometheus, on loopback, a private
# storage folder, a 1 s scrape interval), the series read back through its HTTP API
# (/api/v1/query) and compared with what the daemon's `status` says at the same time:
# customers per level, packets, listings and health per list, neighbourhoods per policy and
# band, the worst projected pressure; counters that keep moving (DNSBL queries, loop turns)
# are bounded by the status taken after. The daemon replays the story capture (the
# spammer 1001 reaches act, its /24 fills) against a real rbldnsd, as daemon_replay.sh.
# Also: `promtool check metrics` on the scraped text (names, HELP/TYPE, _total), no IP in
# any label, 404 / 405 / HEAD answered as HTTP says, a bad metrics address refused with
# FILE:LINE, and `promtool check rules` on etc/prometheus/rangewatch.rules.yml.
. "$(dirname "$0")/dnsbl/lib.sh"
command -v prometheus >/dev/null || skip "prometheus not installed"
command -v promtool >/dev/null || skip "promtool not installed"
command -v curl >/dev/null || skip "curl not installed"
. "$(dirname "$0")/daemon/lib.sh"
TOP=$(cd "$(dirname "$0")/../.." && pwd)

tcp_port() {
	$PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
mport=$(tcp_port)
# the abuse desk (aiosmtpd) and a dry-run hook, so that the alert and hook families exist
smtp_port=$(free_port)
mkdir -p "$tmp/mail" "$tmp/hookbin"
sink "$smtp_port" "$tmp/mail"
printf '#!/bin/sh\nexit 0\n' >"$tmp/hookbin/hook.sh"
chmod 755 "$tmp/hookbin" "$tmp/hookbin/hook.sh"
EXTRA_CONF="[alert]
smtp_url = smtp://127.0.0.1:$smtp_port
from = rangewatch@provider.example
to = abuse@provider.example
digest = 0
[hook]
path = $tmp/hookbin/hook.sh
user = $HOOK_USER
auto_suspend = yes
dry_run = yes"
conf "replay = $tmp/story.pcap
replay_speed = 0
metrics = 127.0.0.1:$mport" >"$tmp/etc/rangewatch.conf"

# a bad address is the config's error, with its line, before anything starts
conf "metrics = localhost:9466" >"$tmp/etc/bad.conf"
out=$("$RW_BIN/rangewatchd" -n -c "$tmp/etc/bad.conf" 2>&1)
line=$(grep -n '^metrics = ' "$tmp/etc/bad.conf" | cut -d: -f1)
case $out in
*"bad.conf:$line: [rangewatch] metrics: not an address"*) ok "metrics = localhost:9466 refused: $out";;
*) bad "a name as metrics address (line $line): $out";;
esac

start
poll 60 replay_done || bad "replay not done: $(rwc status --json)"
poll 30 is_act && ok "customer 1001 at act" || bad "1001 is $(level_of 1001)"

url=http://127.0.0.1:$mport
curl -sS -o "$tmp/scrape.txt" -D "$tmp/headers.txt" "$url/metrics" || bad "GET /metrics failed"
ctype=$(tr -d '\r' <"$tmp/headers.txt" | sed -n 's/^Content-Type: //ip')
expect "Content-Type" "text/plain; version=0.0.4; charset=utf-8" "$ctype"
if promtool check metrics <"$tmp/scrape.txt" >"$tmp/promtool.out" 2>&1; then
	ok "promtool check metrics: $(grep -c '^# TYPE' "$tmp/scrape.txt") families, no complaint"
else
	bad "promtool check metrics: $(cat "$tmp/promtool.out")"
fi
# labels are bounded sets: no address, range or customer id ever appears in one
if grep -v '^#' "$tmp/scrape.txt" | grep -Eq '\{[^}]*(203\.0\.113|198\.51\.100|1001|Acme)'; then
	bad "an address or a customer in a label: $(grep -E '203\.0\.113|1001' "$tmp/scrape.txt" | head -3)"
else
	ok "no IP, range or customer in any label"
fi
expect "GET /nope" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$url/nope")"
expect "POST /metrics" 405 "$(curl -s -o /dev/null -w '%{http_code}' -d x=1 "$url/metrics")"
expect "HEAD /metrics" 200 "$(curl -s -o /dev/null -I -w '%{http_code}' "$url/metrics")"
# whoever reaches the address: garbage, a header past the request memory, a slow loris,
# more connections than allowed; then the endpoint still answers and the daemon lives
$PY - 127.0.0.1 "$mport" <<'PYEOF' || fail=1
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
def send(data, read=True):
    s = socket.create_connection((host, port), timeout=1)
    try:
        s.sendall(data)
        return s.recv(200).split(b"\r\n", 1)[0] if read else s
    except OSError as e:
        return ("closed: %s" % e).encode()
print("     garbage line ->", send(b"\x00\xff GARBAGE\r\n\r\n"))
print("     64 KiB header ->", send(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 65536 + b"\r\n\r\n"))
print("     bad version ->", send(b"GET /metrics HTTP/9.9\r\n\r\n"))
held = [send(b"GET /metrics HTTP/1.1\r\n", read=False) for _ in range(20)]
time.sleep(0.2)
for h in held:
    h.close()
# the held connections' closes reach the endpoint at its next turn: a few tries
body = b""
for attempt in range(20):
    try:
        s = socket.create_connection((host, port), timeout=5)
        s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        body = b""
        while True:
            b = s.recv(65536)
            if not b: break
            body += b
        if body: break
    except OSError:
        pass
    time.sleep(0.2)
good = body.startswith(b"HTTP/1.0 200") or body.startswith(b"HTTP/1.1 200")
print("%s after the hostile clients: GET /metrics -> %s (%d bytes, try %d)" % ("ok  " if good else "FAIL", body.split(b"\r\n", 1)[0].decode(errors="replace"), len(body), attempt + 1))
sys.exit(0 if good else 1)
PYEOF

# the real scraper
pport=$(tcp_port)
cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: rangewatch
    static_configs:
      - targets: ["127.0.0.1:$mport"]
EOF
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/prom" \
    --web.listen-address="127.0.0.1:$pport" --log.level=warn >"$tmp/prometheus.log" 2>&1 &
ppid=$!
pids="$pids $ppid"
poll 20 curl -sf "http://127.0.0.1:$pport/-/ready" >/dev/null ||
    { bad "prometheus not ready: $(tail -5 "$tmp/prometheus.log")"; exit 1; }
ok "prometheus $(prometheus --version 2>&1 | head -n 1 | awk '{print $3}') scrapes 127.0.0.1:$mport every second"

# Each check: a PromQL query, and the figure status has for it; the values must agree
# (polled a few seconds: the newest scrape is at most a second old). "<=" checks a counter
# that moves: the scraped value is between 1 and the status taken after it.
$PY - "http://127.0.0.1:$pport" "$tmp/run/rw.sock" "$tmp/state/rangewatch.db" <<'PYEOF' || fail=1
import json, socket, sqlite3, sys, time, urllib.parse, urllib.request
prom, sock, db = sys.argv[1], sys.argv[2], sys.argv[3]

def stored_listed(lst):
    """keys listed on lst in the daemon's store, read with Python's own sqlite3"""
    c = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=5)
    n = c.execute("SELECT count(*) FROM listing WHERE listed = 1 AND list = ?", (lst,)).fetchone()[0]
    c.close()
    return n

def status():
    s = socket.socket(socket.AF_UNIX); s.connect(sock); s.settimeout(10)
    s.sendall(b'{"v":1,"cmd":"status"}\n')
    buf = b""
    while not buf.endswith(b"\n"):
        b = s.recv(65536)
        if not b: break
        buf += b
    r = json.loads(buf)
    return r.get("result", r)

def query(q):
    u = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
    d = json.load(urllib.request.urlopen(u, timeout=5))
    res = d["data"]["result"]
    return float(res[0]["value"][1]) if res else None

def listed(st, name):
    return [l for l in st["lists"] if l["name"] == name][0]

def pol(st, name):
    return [p for p in st["policies"] if p["name"] == name][0]

checks = [
    ("rangewatch_customers", lambda st: st["customers"], "=="),
    ('rangewatch_customers_at_level{level="act"}', lambda st: st["levels"]["act"], "=="),
    ('rangewatch_customers_at_level{level="warn"}', lambda st: st["levels"]["warn"], "=="),
    ('sum(rangewatch_customers_at_level)', lambda st: st["customers"], "=="),
    ("rangewatch_capture_packets_total", lambda st: st["capture"]["packets"], "=="),
    ("rangewatch_capture_smtp_frames_total", lambda st: st["capture"]["smtp"], "=="),
    ('rangewatch_listings{list="uceprotect-1"}', lambda st: listed(st, "uceprotect-1")["listed"], "=="),
    ('rangewatch_listings{list="uceprotect-1"}', lambda st: stored_listed("uceprotect-1"), "== store"),
    ('rangewatch_listings{list="uceprotect-2"}', lambda st: stored_listed("uceprotect-2"), "== store"),
    ('rangewatch_list_health{list="uceprotect-1",health="ok"}', lambda st: 1 if listed(st, "uceprotect-1")["health"] == "ok" else 0, "=="),
    ('sum(rangewatch_neighbourhoods{policy="uceprotect-2"})', lambda st: pol(st, "uceprotect-2")["neighbourhoods"], "=="),
    ('rangewatch_neighbourhoods{policy="uceprotect-2",band="over"}', lambda st: pol(st, "uceprotect-2")["bands"]["over"], "=="),
    ('rangewatch_neighbourhood_projected_pressure_max_ratio{policy="uceprotect-2"}', lambda st: pol(st, "uceprotect-2")["projected_max"], "=="),
    ("sum(rangewatch_dnsbl_queries_total)", lambda st: st["dnsbl"]["asked"], "<="),
    ("sum(rangewatch_dnsbl_answers_total)", lambda st: st["dnsbl"]["answered"], "<="),
    ('rangewatch_dnsbl_queries_total{list="uceprotect-1"}', lambda st: listed(st, "uceprotect-1")["asked"], "<="),
    ('rangewatch_dnsbl_answers_total{list="uceprotect-1",result="listed"}', lambda st: listed(st, "uceprotect-1")["answers"]["listed"], "<="),
    ('sum(rangewatch_dnsbl_answers_total{result="error"})', lambda st: st["dnsbl"]["results"]["error"], "=="),
    ("rangewatch_loop_turns_total", lambda st: st["loop"]["turns"], "<="),
    ("rangewatch_store_flushes_total", lambda st: st["store"]["flushes"], "<="),
    ("rangewatch_alerts_queued_total", lambda st: st["alerts"]["queued_total"], "=="),
    ("rangewatch_alerts_sent_total", lambda st: st["alerts"]["sent"], "=="),
    ("rangewatch_alerts_failed_total", lambda st: st["alerts"]["failed"], "=="),
    ("rangewatch_hook_runs_total", lambda st: st["hooks"]["runs"], "=="),
    ("rangewatch_hook_failures_total", lambda st: st["hooks"]["failed"], "=="),
]
fail = 0
for q, fig, op in checks:
    deadline = time.time() + 8
    while True:
        got = query(q)
        want = float(fig(status()))
        if op.startswith("=="):
            good = got is not None and abs(got - want) <= 1e-9 * max(1.0, abs(want))
        else:
            good = got is not None and 0 < got <= want
        if good or time.time() > deadline:
            break
        time.sleep(0.5)
    ref = "the store (sqlite3)" if op.endswith("store") else "status"
    print("%s %s: prometheus %s, %s %s %s" % ("ok  " if good else "FAIL", q, got, op[:2], ref, want))
    fail |= not good
# what the story must show for the figures to mean something
st = status()
for what, good in (("1001 at act", st["levels"]["act"] >= 1),
                   ("uceprotect-1 lists 1001's IP", listed(st, "uceprotect-1")["listed"] >= 1),
                   ("a neighbourhood of uceprotect-2", pol(st, "uceprotect-2")["neighbourhoods"] >= 1),
                   ("an alert mailed", st["alerts"]["sent"] >= 1),
                   ("the hook ran (dry run)", st["hooks"]["runs"] >= 1)):
    print("%s the story: %s" % ("ok  " if good else "FAIL", what))
    fail |= not good
sys.exit(fail)
PYEOF

# the Grafana dashboard: every query is PromQL this Prometheus accepts ($instance as .*)
# and names only metrics the daemon defines
$PY - "http://127.0.0.1:$pport" "$TOP/etc/grafana/rangewatch.json" "$TOP/monitor/metrics.c" <<'PYEOF' || fail=1
import json, re, sys, urllib.parse, urllib.request
prom, dash, src = sys.argv[1], json.load(open(sys.argv[2])), open(sys.argv[3]).read()
exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
bad = []
for e in exprs:
    q = e.replace("$instance", ".*")
    u = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
    try:
        if json.load(urllib.request.urlopen(u, timeout=5))["status"] != "success":
            bad.append(e)
    except Exception as x:
        bad.append("%s (%s)" % (e, x))
    for m in re.findall(r"rangewatch_[a-z_]+", e):
        if '"%s"' % m not in src:
            bad.append("%s: %s is not a metric of metrics.c" % (e, m))
print("%s grafana dashboard: %d queries, %s" % ("FAIL" if bad else "ok  ", len(exprs), bad or "all accepted"))
sys.exit(1 if bad else 0)
PYEOF

if out=$(promtool check rules "$TOP/etc/prometheus/rangewatch.rules.yml" 2>&1); then
	ok "promtool check rules: $(echo "$out" | grep -o 'SUCCESS.*' | head -n 1)"
else
	bad "promtool check rules: $out"
fi
# the rules name metrics the daemon exports (a typo would alert on nothing, forever): in
# this scrape, or for [alert] and [hook], which this config leaves off, in metrics.c's table
nm=0
for m in $(grep -o 'rangewatch_[a-z_]*' "$TOP/etc/prometheus/rangewatch.rules.yml" | sort -u); do
	nm=$((nm + 1))
	grep -q "^# TYPE $m " "$tmp/scrape.txt" || grep -q "\"$m\"" "$TOP/monitor/metrics.c" ||
	    { bad "the rules use $m, which the daemon does not export"; nm=-999; }
done
[ $nm -gt 0 ] && ok "the $nm metrics the rules use are exported"
stop
exit $fail
