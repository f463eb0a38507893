#!/usr/bin/env bash
# bench/bench_dnsbl.sh — issue 3's benchmark: the DNSBL engine against dnsperf, from the
# repo root (bench/run.sh may call it; it also runs alone after `make`).
#
# One local rbldnsd serves 8 ip4set zones, zone i listing every (97+i)th address of
# 10.20.0.0/16 (~650 each). In one run, interleaved BENCH_RUNS times:
#  - dnsperf sends the 524,288 A queries of the /16 x 8 zones (`-c 4 -q 500`, as in
#    ../shared/testing.md, and again with `-q 100`, rangewatch's own window);
#  - `rangewatch check --summary 10.20.0.0/16` asks the same 524,288 names of the same
#    server (txt = no, so both send the same queries; plus 16 test points);
#  - the same sweep from the same zone files as file sources (`source = file:PATH`).
# Each figure is the median of the runs; rangewatch's qps is 524,288 over the process's
# wall time, start to exit (config, expansion and output included). Before quoting a speed
# the answers are checked: every run's per-list counts must equal the brute-force ones,
# with no error; once, untimed, --json output must hold each (IP, list) exactly once and the
# listed set exactly, for DNS and for files (no lost or duplicated result). One more run
# with txt = yes shows what asking TXT for the ~5,200 listings costs.
# Prints "key: value" lines and appends a dated section to bench/RESULTS.md. Exits 1 when
# an answer is wrong or a tool is missing; a goal not met only prints.
#
# Knobs: BENCH_RUNS (3), RW_BIN (bin). Files go to bench/out/dnsbl/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."

RW=${RW_BIN:-bin}/rangewatch
OUT=bench/out/dnsbl
RESULTS=bench/RESULTS.md
RUNS=${BENCH_RUNS:-3}
PY=/usr/bin/python3
die() { printf 'bench_dnsbl: %s\n' "$*" >&2; exit 1; }
for t in rbldnsd dnsperf /usr/bin/time "$PY"; do
	command -v "$t" >/dev/null || die "$t is missing (make deps-test installs rbldnsd and dnsperf)"
done
[ -x "$RW" ] || die "$RW is missing (run make)"
rm -rf "$OUT"
mkdir -p "$OUT"
OUT_ABS=$(cd "$OUT" && pwd)
chmod 755 "$OUT_ABS"
# rbldnsd runs as nobody when we are root: it must reach the zones
d=$OUT_ABS; while [ "$d" != / ]; do [ -x "$d" ] || chmod o+x "$d"; d=$(dirname "$d"); done

rbl_pid=""
cleanup() { if [ -n "$rbl_pid" ]; then kill "$rbl_pid" 2>/dev/null || true; wait "$rbl_pid" 2>/dev/null || true; fi; }
trap cleanup EXIT

# zones, the query file, the lists (DNS, DNS with TXT, files), the expected counts
$PY - "$OUT_ABS" <<'PYEOF'
import os, sys
out = sys.argv[1]
expected = []
with open(os.path.join(out, "queries.txt"), "w") as q:
    for i in range(8):
        step = 97 + i
        with open(os.path.join(out, "z%d.zone" % i), "w") as f:
            f.write("$SOA 0 ns.test. hm.test. 1 1h 1h 1d 1m\n:127.0.0.2:z%d lists $\n127.0.0.2\n" % i)
            for n in range(0, 65536, step):
                f.write("10.20.%d.%d\n" % (n >> 8, n & 255))
        expected.append(len(range(0, 65536, step)))
        for n in range(65536):
            q.write("%d.%d.20.10.z%d.test A\n" % (n & 255, n >> 8, i))
for name, extra in (("lists-dns.conf", "txt = no\n"), ("lists-txt.conf", "txt = yes\n"),
                    ("lists-file.conf", None)):
    with open(os.path.join(out, name), "w") as f:
        for i in range(8):
            f.write('[list "z%d"]\nzone = z%d.test\nscope = ip\nmax_qps = 100000\n' % (i, i))
            f.write(extra if extra else "source = file:z%d.zone\n" % i)
with open(os.path.join(out, "expected"), "w") as f:
    f.write(" ".join(str(e) for e in expected) + "\n")
for f in os.listdir(out):
    os.chmod(os.path.join(out, f), 0o644)
PYEOF
read -r -a EXPECTED <"$OUT/expected"
QUERIES=$(wc -l <"$OUT/queries.txt")

PORT=$($PY -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
user=()
[ "$(id -u)" = 0 ] && user=(-u nobody)
specs=()
for i in 0 1 2 3 4 5 6 7; do specs+=("z$i.test:ip4set:$OUT_ABS/z$i.zone"); done
rbldnsd -n "${user[@]}" -b "127.0.0.1/$PORT" -t 60 -c 60s "${specs[@]}" >"$OUT/rbldnsd.out" 2>&1 &
rbl_pid=$!
for _ in $(seq 50); do grep -q started "$OUT/rbldnsd.out" && break; sleep 0.1; done
grep -q started "$OUT/rbldnsd.out" || die "rbldnsd did not start: $(cat "$OUT/rbldnsd.out")"
for c in dns txt file; do
	printf '[rangewatch]\nlists = lists-%s.conf\nnameserver = 127.0.0.1:%s\n' "$c" "$PORT" >"$OUT/$c.conf"
done

# run LABEL OUTFILE CMD... : sets WALL and CPU (user + system) of the command
run() {
	local out=$2; shift 2
	/usr/bin/time -f '%e %U %S' -o "$out.time" "$@" >"$out" 2>"$out.err" || true
	read -r WALL u s <"$out.time"
	CPU=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
}
# checks a --summary output: every list's counts exact, no error, nothing blocked
check_counts() {
	local f=$1 i
	for i in 0 1 2 3 4 5 6 7; do
		grep -Eq "^  z$i +65536 IPs: ${EXPECTED[$i]} listed, $((65536 - EXPECTED[i])) clean, 0 error, 0 blocked$" "$f" \
			|| die "wrong answers in $f (z$i, expected ${EXPECTED[$i]} listed): $(grep -A9 summary "$f")"
	done
}
dnsperf_field() { awk -v k="$2" -F: '$1 ~ k { gsub(/^[ \t]+|[ \t]+$/, "", $2); split($2, a, " "); printf "%.0f\n", a[1]; exit }' "$1"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

load_before=$(cut -d' ' -f1 /proc/loadavg)
dp500=(); dp500lost=(); dp100=(); dp100lost=(); rwq=(); rwwall=(); rwcpu=(); rwret=(); fwall=(); fcpu=()
for r in $(seq "$RUNS"); do
	run dnsperf "$OUT/dnsperf500.$r" dnsperf -s 127.0.0.1 -p "$PORT" -d "$OUT/queries.txt" -c 4 -q 500
	dp500+=("$(dnsperf_field "$OUT/dnsperf500.$r" 'Queries per second')")
	dp500lost+=("$(dnsperf_field "$OUT/dnsperf500.$r" 'Queries lost')")
	run rangewatch "$OUT/rw.$r" "$RW" check -c "$OUT/dns.conf" --summary 10.20.0.0/16
	check_counts "$OUT/rw.$r"
	rwwall+=("$WALL"); rwcpu+=("$CPU")
	rwq+=("$(awk -v n="$QUERIES" -v w="$WALL" 'BEGIN { printf "%.0f", n / w }')")
	rwret+=("$(sed -n 's/.* \([0-9]*\) retried.*/\1/p' "$OUT/rw.$r")")
	run dnsperf "$OUT/dnsperf100.$r" dnsperf -s 127.0.0.1 -p "$PORT" -d "$OUT/queries.txt" -c 4 -q 100
	dp100+=("$(dnsperf_field "$OUT/dnsperf100.$r" 'Queries per second')")
	dp100lost+=("$(dnsperf_field "$OUT/dnsperf100.$r" 'Queries lost')")
	run files "$OUT/file.$r" "$RW" check -c "$OUT/file.conf" --summary 10.20.0.0/16
	check_counts "$OUT/file.$r"
	fwall+=("$WALL"); fcpu+=("$CPU")
done
run rangewatch "$OUT/txt" "$RW" check -c "$OUT/txt.conf" --summary 10.20.0.0/16
check_counts "$OUT/txt"
txt_wall=$WALL
txt_sent=$(sed -n 's/.*DNS: \([0-9]*\) queries sent.*/\1/p' "$OUT/txt")
load_after=$(cut -d' ' -f1 /proc/loadavg)

# untimed: every (IP, list) exactly once, the listed sets exact, DNS and files alike
for c in dns file; do
	"$RW" check -c "$OUT/$c.conf" --json 10.20.0.0/16 >"$OUT/$c.json" 2>"$OUT/$c.json.err" \
		|| die "check --json ($c) failed: $(cat "$OUT/$c.json.err")"
	$PY - "$OUT/$c.json" <<'PYEOF' || die "--json ($c): answers lost, duplicated or wrong"
import ipaddress, json, sys
rows = json.load(open(sys.argv[1]))
base = int(ipaddress.IPv4Address("10.20.0.0"))
seen = {(r["ip"], r["list"]) for r in rows}
assert len(rows) == 524288 and len(seen) == 524288, (len(rows), len(seen))
for i in range(8):
    want = {str(ipaddress.IPv4Address(base + n)) for n in range(0, 65536, 97 + i)}
    got = {r["ip"] for r in rows if r["list"] == "z%d" % i and r["status"] == "listed"}
    assert got == want, i
    assert all(r["status"] in ("listed", "clean") for r in rows)
PYEOF
done

DP500=$(median "${dp500[@]}"); DP100=$(median "${dp100[@]}"); RWQ=$(median "${rwq[@]}")
RWWALL=$(median "${rwwall[@]}"); RWCPU=$(median "${rwcpu[@]}")
FWALL=$(median "${fwall[@]}"); FCPU=$(median "${fcpu[@]}")
R500=$(awk -v a="$RWQ" -v b="$DP500" 'BEGIN { printf "%.2f", a / b }')
R100=$(awk -v a="$RWQ" -v b="$DP100" 'BEGIN { printf "%.2f", a / b }')
goal_q=$(awk -v r="$R500" 'BEGIN { print (r >= 0.8) ? "met" : "NOT met" }')
goal_f=$(awk -v w="$FWALL" 'BEGIN { print (w < 1.0) ? "met" : "NOT met" }')
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit (with uncommitted changes)"

report=$(cat <<EOF
dnsbl_bench: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, $(nproc) CPUs, $(rbldnsd -h 2>&1 | head -n 1 | sed 's/^rbldnsd: //'), dnsperf $(dnsperf -h 2>&1 | sed -n 's/^Version //p' | head -n 1)
dnsbl_queries: $QUERIES (10.20.0.0/16 x 8 zones, one rbldnsd on 127.0.0.1, $RUNS interleaved runs, medians)
dnsbl_dnsperf_q500_qps: $DP500 (runs: ${dp500[*]}; lost: ${dp500lost[*]})
dnsbl_dnsperf_q100_qps: $DP100 (runs: ${dp100[*]}; lost: ${dp100lost[*]})
dnsbl_rangewatch_qps: $RWQ (runs: ${rwq[*]}; 100 in flight; retried: ${rwret[*]})
dnsbl_rangewatch_wall_s: $RWWALL (cpu $RWCPU s, user + system)
dnsbl_ratio_vs_dnsperf_q500: $R500 (goal >= 0.8: $goal_q)
dnsbl_ratio_vs_dnsperf_q100: $R100
dnsbl_rangewatch_txt_wall_s: $txt_wall (txt = yes: $txt_sent queries with the TXT of the listings)
dnsbl_file_wall_s: $FWALL (cpu $FCPU s; the same /16 x 8 lists from the zone files; goal < 1 s: $goal_f)
dnsbl_answers: exact (per-list counts every run; --json once for DNS and for files: 524288 rows, each (IP, list) once, listed sets equal the brute force)
dnsbl_load_average: $load_before before, $load_after after
EOF
)
printf '%s\n' "$report"
{
	printf '\n## %s — DNSBL engine (bench/bench_dnsbl.sh)\n\n```\n%s\n```\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" "$report"
} >>"$RESULTS"
