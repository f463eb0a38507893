#!/usr/bin/env bash
# bench/bench_analyze.sh — `rangewatch analyze --bpf` against a bare libpcap loop reading the
# same file with the same BPF filter (bench/bare_loop.c -s: the filter text analyze sets,
# from the same prefixes file), issue 15's goal: analyze >= 0.8x the bare loop. From the
# repo root after `make bench` (bench/run.sh calls it).
#
# On a generated mixed capture (bench/gen_capture.c, BENCH_ANALYZE_PACKETS = 2M frames, ~10%
# SMTP, VLAN tags, IPv6), page-cached: first the answer (analyze's frame count past the
# filter must equal the bare loop's: libpcap's reader and filter against ours), then
# BENCH_RUNS (5) interleaved runs of: the bare loop with libpcap's default stdio buffer,
# the bare loop through a 1 MiB page-aligned buffer, analyze --bpf --json. Each figure is
# the median wall time (process start to exit) and CPU time (user + system, steadier on a
# shared machine); the ratio is the bare loop's time over analyze's (1.0: as fast).
# Prints a table and appends a dated section to bench/RESULTS.md (BENCH_RESULTS_FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
RW=${RW_BIN:-bin}/rangewatch
B=build/release/bench
OUT=bench/out
RESULTS=${BENCH_RESULTS_FILE:-bench/RESULTS.md}
PACKETS=${BENCH_ANALYZE_PACKETS:-2000000}
RUNS=${BENCH_RUNS:-5}
SEED=${BENCH_SEED:-1}
say() { printf '%s\n' "$*"; }
die() { say "bench_analyze: $*" >&2; exit 1; }
for t in "$B/gen_capture" "$B/bare_loop" "$RW" /usr/bin/time; do [ -x "$t" ] || die "$t is missing (run make bench)"; done
mkdir -p "$OUT"

cap=$OUT/mixed_bpf.pcap
stamp="$(sha256sum bench/gen_capture.c | cut -c1-16) $PACKETS $SEED"
if [ ! -s "$cap" ] || [ "$(cat "$cap.stamp" 2>/dev/null)" != "$stamp" ]; then
	say "bench_analyze: generating $cap ($PACKETS frames)"
	"$B/gen_capture" --packets "$PACKETS" --seed "$SEED" --truth "$OUT/mixed_bpf.truth" "$cap" >/dev/null
	printf '%s\n' "$stamp" >"$cap.stamp"
fi
# the provider of bench/run.sh: the generator's customer space, a customer per /24 and /48
cat >"$OUT/bpf.conf" <<'CONF'
# written by bench/bench_analyze.sh
[rangewatch]
prefixes = bpf_prefixes.txt
customers = bpf_customers.csv
CONF
printf '10.0.0.0/8 64500\n10.0.0.0/16 64500 alloc\n2001:db8::/32 64500\n' >"$OUT/bpf_prefixes.txt"
awk 'BEGIN { print "id,name,cidrs,contact,tags"; for (r = 0; r < 4001; r++) {
	printf "c%d,Customer %d,10.%d.%d.0/24,abuse@c%d.example,\n", r, r, int(r / 256), r % 256, r
	printf "v%d,V6 %d,2001:db8:%x::/48,noc@v%d.example,\n", r, r, r, r } }' >"$OUT/bpf_customers.csv"
cat "$cap" >/dev/null	# the page cache

# --- the answer first -------------------------------------------------------------------
bare=$("$B/bare_loop" -s "$OUT/bpf_prefixes.txt" "$cap") || die "bare_loop failed"
"$RW" analyze --bpf --json -c "$OUT/bpf.conf" "$cap" >"$OUT/bpf.json" || die "analyze failed"
nb=$(awk '/^packets:/ { print $2 }' <<<"$bare")
na=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["packets"]["total"])' "$OUT/bpf.json")
[ "$nb" = "$na" ] || die "WRONG: the bare loop passed $nb frames through the filter, analyze read $na"
total=$(awk -F': ' '$1 == "packets" { print $2 }' "$OUT/mixed_bpf.truth.txt")

# --- the runs ------------------------------------------------------------------------------
declare -a w0 c0 w1 c1 w2 c2
run() {	# run NAME CMD...: appends the wall and CPU seconds to NAME's arrays
	local t0 t1
	t0=$EPOCHREALTIME
	/usr/bin/time -f '%U %S' -o "$OUT/bpf.rusage" "${@:2}" >/dev/null
	t1=$EPOCHREALTIME
	eval "w$1+=($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }'))"
	eval "c$1+=($(awk '{ printf "%.2f", $1 + $2 }' "$OUT/bpf.rusage"))"
}
for _ in $(seq "$RUNS"); do
	run 0 "$B/bare_loop" -s "$OUT/bpf_prefixes.txt" "$cap"
	run 1 "$B/bare_loop" -b 1048576 -s "$OUT/bpf_prefixes.txt" "$cap"
	run 2 "$RW" analyze --bpf --json -c "$OUT/bpf.conf" "$cap"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
W0=$(median "${w0[@]}") C0=$(median "${c0[@]}") W1=$(median "${w1[@]}") C1=$(median "${c1[@]}")
W2=$(median "${w2[@]}") C2=$(median "${c2[@]}")
r() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
pps() { awk -v n="$total" -v t="$1" 'BEGIN { printf "%.0f", n / t }'; }
goal() { awk -v x="$1" 'BEGIN { print (x >= 0.8) ? "met" : "NOT met" }'; }
report=$(cat <<REP
bench_analyze: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(nproc) x $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(pcap-config --version 2>/dev/null || awk '/^libpcap:/ { print "libpcap " $2 }' <<<"$bare")
capture: $cap, $total frames ($(du -m "$cap" | cut -f1) MiB, page-cached), $nb pass the filter (bare loop and analyze agree)
filter: the one analyze --bpf sets for bench/out/bpf_prefixes.txt (capture_filter_text), on both
runs: $RUNS, interleaved; median wall s / CPU s (user+system); all walls: bare ${w0[*]} | bare 1 MiB ${w1[*]} | analyze ${w2[*]}
  bare loop -s, libpcap's defaults       $W0 s  $C0 s   $(pps "$W0") pps
  bare loop -s, 1 MiB stdio buffer       $W1 s  $C1 s   $(pps "$W1") pps
  rangewatch analyze --bpf --json        $W2 s  $C2 s   $(pps "$W2") pps
analyze / bare loop (defaults): $(r "$W0" "$W2")x wall, $(r "$C0" "$C2")x CPU   goal >= 0.8: $(goal "$(r "$W0" "$W2")") (wall), $(goal "$(r "$C0" "$C2")") (CPU)
analyze / bare loop (1 MiB):    $(r "$W1" "$W2")x wall, $(r "$C1" "$C2")x CPU   goal >= 0.8: $(goal "$(r "$W1" "$W2")") (wall), $(goal "$(r "$C1" "$C2")") (CPU)
REP
)
printf '%s\n' "$report"
printf '\n## %s — analyze vs a bare libpcap loop, same BPF filter (bench/bench_analyze.sh)\n\n```\n%s\n```\n' \
    "$(date -u '+%Y-%m-%d %H:%M UTC')" "$report" >>"$RESULTS"
