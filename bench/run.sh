#!/usr/bin/env bash
# bench/run.sh — issue 2's benchmark, run by `make bench` from the repo root after the build.
#
# In one run, on the same page-cached files:
#  - packets/s of a bare libpcap loop that only counts (the limit; bench/bare_loop.c, run
#    with libpcap's defaults and again through a 1 MiB stdio buffer), of rangewatch analyze,
#    and of tshark doing the same SMTP counting (SYNs to :25, MAIL/RCPT/DATA, 4xx/5xx replies
#    per client) on a prefix, on a generated mixed capture (bench/gen_capture.c). Runs are
#    interleaved; each figure is the median of BENCH_RUNS, by wall time (process start to
#    exit) and by CPU time (user + system: steadier when other work shares the machine);
#  - the peak RSS per tracked source IP of analyze on a capture of 1M distinct sources,
#    less its peak on a 100-source capture, over the sources added.
# Before quoting a speed it checks the answer: analyze's counts against the generator's
# ground truth, exactly, per IP and per customer; tshark's and analyze's on the prefix too.
# Prints a table and appends a dated section to bench/RESULTS.md. Exits 1 when a count is
# wrong (the figures are then worthless) or a tool is missing; goals not met only print.
#
# Knobs (environment): BENCH_PACKETS (5000000), BENCH_SOURCES (1000000),
# BENCH_TSHARK_PACKETS (300000), BENCH_RUNS (5), BENCH_SEED (1), BENCH_TIMEOUT (300 s per
# analyze run), BENCH_JSON_1M (1; 0 skips --json on the 1M-sources capture), RW_BIN (bin).
# Generated files go to bench/out/ (ignored by git) and are reused while the generator's
# source and its arguments are unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

RW=${RW_BIN:-bin}/rangewatch
B=build/release/bench
OUT=bench/out
RESULTS=bench/RESULTS.md
PACKETS=${BENCH_PACKETS:-5000000}
SOURCES=${BENCH_SOURCES:-1000000}
PREFIX=${BENCH_TSHARK_PACKETS:-300000}
RUNS=${BENCH_RUNS:-5}
SEED=${BENCH_SEED:-1}
TIMEOUT=${BENCH_TIMEOUT:-300}	# per analyze run, seconds
PY=${PYTHON:-python3}
mkdir -p "$OUT"

fail=0
say() { printf '%s\n' "$*"; }
die() { say "bench: $*" >&2; exit 1; }
for t in "$B/gen_capture" "$B/bare_loop"; do [ -x "$t" ] || die "$t is missing (run make bench)"; done
for t in tshark editcap /usr/bin/time "$PY"; do
	command -v "$t" >/dev/null || die "$t is missing (make deps-test installs tshark)"
done
[ -x "$RW" ] || die "$RW is missing (run make)"
[ "$PREFIX" -le "$PACKETS" ] || die "BENCH_TSHARK_PACKETS > BENCH_PACKETS"

# Float arithmetic and formatting through awk.
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
fmt0() { awk -v x="$1" 'BEGIN { s = sprintf("%.0f", x); n = length(s); o = ""
	for (i = 1; i <= n; i++) { o = o substr(s, i, 1); if ((n - i) % 3 == 0 && i < n) o = o "," }
	print o }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
best() { printf '%s\n' "$@" | sort -g | head -n 1; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
secs() { printf '%s ' "$@" | awk '{ for (i = 1; i <= NF; i++) printf "%s%.3f", (i > 1) ? " " : "", $i }'; }
# Runs a command (stdout to $1, stderr to $1.err) and sets WALL (seconds from process
# start to exit) and CPU (its user + system seconds); returns the command's status.
timed() {
	local out=$1 t0 t1 rc=0
	shift
	t0=$EPOCHREALTIME
	/usr/bin/time -f '%U %S' -o "$out.rusage" "$@" >"$out" 2>"$out.err" || rc=$?
	t1=$EPOCHREALTIME
	WALL=$(calc "$t1 - $t0")
	CPU=$(awk 'END { printf "%.2f", $1 + $2 }' "$out.rusage")
	return "$rc"
}
truth() { awk -F': ' -v k="$2" '$1 == k { print $2 }' "$OUT/$1.truth.txt"; }

# --- inputs --------------------------------------------------------------------------
# gen NAME ARGS...: bench/out/NAME.pcap and its truth NAME.truth.txt / NAME.truth.ips.tsv,
# remade only when the generator's source or the arguments changed.
gen() {
	local name=$1 stamp
	shift
	stamp="$(sha256sum bench/gen_capture.c | cut -c1-16) $*"
	if [ -s "$OUT/$name.pcap" ] && [ "$(cat "$OUT/$name.stamp" 2>/dev/null)" = "$stamp" ]; then
		say "reusing $OUT/$name.pcap"
		return
	fi
	rm -f "$OUT/$name.stamp" "$OUT/$name".truth.*
	say "generating $OUT/$name.pcap ($*)"
	"$B/gen_capture" "$@" --truth "$OUT/$name.truth" "$OUT/$name.pcap"
	printf '%s\n' "$stamp" >"$OUT/$name.stamp"
}
gen mixed --packets "$PACKETS" --seed "$SEED" --checkpoint "$PREFIX"
gen sources --sources "$SOURCES" --seed "$SEED"
gen tiny --sources 100 --seed "$SEED"
if [ ! -s "$OUT/prefix.pcap" ] || [ "$OUT/prefix.pcap" -ot "$OUT/mixed.stamp" ]; then
	editcap -r "$OUT/mixed.pcap" "$OUT/prefix.pcap" "1-$PREFIX"
fi

# A provider's config: the customer space and a customers.csv like a billing export, one
# customer per even /24, sixteen /28 customers in each odd /24, one per IPv6 /48 (38k
# customers for 1M sources), so analyze pays for its customer lookups as in production.
cat >"$OUT/bench.conf" <<'EOF'
# written by bench/run.sh
[rangewatch]
prefixes = prefixes.txt
customers = customers.csv
EOF
cat >"$OUT/prefixes.txt" <<'EOF'
# written by bench/run.sh: the generator's customer space
10.0.0.0/8 64500
10.0.0.0/16 64500 alloc
2001:db8::/32 64500
EOF
ranges=$(( (SOURCES > 50000 ? SOURCES : 50000) / 250 + 1 ))
awk -v n="$ranges" 'BEGIN {
	print "id,name,cidrs,contact,tags"
	for (r = 0; r < n; r++) {
		net = sprintf("10.%d.%d", int(r / 256), r % 256)
		if (r % 2 == 0)
			printf "c%d,Customer %d,%s.0/24,abuse@c%d.example,%s\n", r, r, net, r, (r % 10 == 0) ? "never_suspend" : ""
		else
			for (k = 0; k < 16; k++)
				printf "c%d-%d,\"VPS %d-%d, Ltd\",%s.%d/28,ops@c%d.example,vps\n", r, k, r, k, net, 16 * k, r
		printf "v%d,V6 customer %d,2001:db8:%x::/48,noc@v%d.example,\n", r, r, r, r
	}
}' >"$OUT/customers.csv"
CONF=(-c "$OUT/bench.conf")
ncust=$(( $(wc -l <"$OUT/customers.csv") - 1 ))

say "warming the page cache"
cat "$OUT/mixed.pcap" "$OUT/sources.pcap" "$OUT/prefix.pcap" "$OUT/tiny.pcap" >/dev/null

# --- correctness first -----------------------------------------------------------------
# check.py MODE ...: analyze JSON against the truth (per IP, exact), or tshark's fields.
cat >"$OUT/check.py" <<'PY'
import csv, collections, ipaddress, json, sys

def summary(prefix):
    d = {}
    for line in open(prefix + '.txt'):
        k, _, v = line.rstrip('\n').rpartition(': ')
        d[k] = int(v)
    return d

def per_ip(prefix):
    with open(prefix + '.ips.tsv') as f:
        return {r['ip']: {k: int(v) for k, v in r.items() if k != 'ip'}
                for r in csv.DictReader(f, delimiter='\t')}

def customer_of(ip):		# as run.sh writes customers.csv
    a = ipaddress.ip_address(ip).packed
    if len(a) == 4:
        r = a[1] << 8 | a[2]
        return ('c%d' % r if r % 2 == 0 else 'c%d-%d' % (r, a[3] >> 4)) if a[0] == 10 else None
    return 'v%d' % (a[4] << 8 | a[5]) if a[:4] == b'\x20\x01\x0d\xb8' else None

FIELDS = [('syn', 'syn'), ('sessions', 'sessions'), ('bytes_out', 'bytes_payload'),
          ('mail_from', 'mail_from'), ('rcpt_to', 'rcpt_to'), ('data', 'data'),
          ('starttls', 'starttls'), ('replies_4xx', 'replies_4xx'), ('replies_5xx', 'replies_5xx')]
CITES = [('spamhaus', 'cite_spamhaus'), ('spamcop', 'cite_spamcop'), ('uceprotect', 'cite_uceprotect')]

def report(what, bad, line):
    for b in bad[:15]:
        print('    MISMATCH ' + b)
    if len(bad) > 15:
        print('    ... %d mismatches in all' % len(bad))
    print('  %s: %s %s' % (what, 'OK' if not bad else 'WRONG', line))
    return not bad

def analyze(jpath, prefix):
    s, t = summary(prefix), per_ip(prefix)
    d = json.load(open(jpath))
    bad, pk = [], d['packets']
    for k, tk in (('total', 'packets'), ('smtp', 'smtp_frames'), ('malformed', 'malformed'),
                  ('truncated', 'truncated')):
        if pk.get(k) != s[tk]:
            bad.append('packets.%s: analyze %s, truth %s' % (k, pk.get(k), s[tk]))
    got = {o['ip']: o for o in d['ips']}
    missing, extra = set(t) - set(got), set(got) - set(t)
    bad += ['%s: not in analyze' % ip for ip in sorted(missing)[:5]]
    bad += ['%s: in analyze, not in the truth' % ip for ip in sorted(extra)[:5]]
    if len(missing) + len(extra) > 10:
        bad.append('%d IPs missing, %d extra' % (len(missing), len(extra)))
    est, sums = 0, {}
    for ip, o in got.items():
        r = t.get(ip)
        if r is None:
            continue
        for ak, tk in FIELDS:
            if o.get(ak) != r[tk]:
                bad.append('%s %s: analyze %s, truth %s' % (ip, ak, o.get(ak), r[tk]))
        rc = o.get('rejections_citing') or {}
        for ak, tk in CITES:
            if rc.get(ak, 0) != r[tk]:
                bad.append('%s citing %s: analyze %s, truth %s' % (ip, ak, rc.get(ak, 0), r[tk]))
        if o.get('dst_ips_estimated'):	# a sketch past 128 MX: +-3.25% by design
            est += 1
            if abs(o['dst_ips'] - r['dst_ips']) > 0.15 * r['dst_ips'] + 2:
                bad.append('%s dst_ips (estimated): analyze %s, truth %s' % (ip, o['dst_ips'], r['dst_ips']))
        elif o.get('dst_ips') != r['dst_ips']:
            bad.append('%s dst_ips: analyze %s, truth %s' % (ip, o.get('dst_ips'), r['dst_ips']))
        c = customer_of(ip)
        if o.get('customer') != c:
            bad.append('%s customer: analyze %s, expected %s' % (ip, o.get('customer'), c))
        if c is not None:
            x = sums.setdefault(c, collections.Counter())
            x['ips'] += 1
            for ak, _ in FIELDS:
                x[ak] += o.get(ak, 0)
    cs = {c['id']: c for c in d.get('customers', [])}
    if set(cs) != set(sums):
        bad.append('customers: %d in analyze, %d expected' % (len(cs), len(sums)))
    for cid, x in sums.items():
        c = cs.get(cid)
        if c is not None:
            if len(c.get('ips', [])) != x['ips']:
                bad.append('customer %s: %d ips, expected %d' % (cid, len(c.get('ips', [])), x['ips']))
            for ak, _ in FIELDS:
                if c.get(ak) != x[ak]:
                    bad.append('customer %s %s: %s, its IPs sum to %s' % (cid, ak, c.get(ak), x[ak]))
    return report('analyze ' + jpath, bad, '(%d packets, %d SMTP frames, %d IPs, %d customers, '
                  '%d SYN, %d RCPT%s)' % (s['packets'], s['smtp_frames'], len(t), len(sums),
                  s['syn'], s['rcpt_to'], ', %d dst_ips estimated' % est if est else ''))

def tshark(tsv, prefix):
    t = per_ip(prefix)
    agg = collections.defaultdict(collections.Counter)
    for line in open(tsv):
        f = line.rstrip('\n').split('\t')
        src, dst = f[0] or f[1], f[2] or f[3]
        if f[5] in ('1', 'True') and f[6] in ('0', 'False') and f[4] == '25':
            agg[src]['syn'] += 1
        for c in filter(None, f[7].split(',')):
            k = {'MAIL': 'mail_from', 'RCPT': 'rcpt_to', 'DATA': 'data'}.get(c.upper())
            if k:
                agg[src][k] += 1
        if f[4] != '25':
            for c in filter(None, f[8].split(',')):
                if c[0] in '45':
                    agg[dst]['replies_%sxx' % c[0]] += 1
    keys = ['syn', 'mail_from', 'rcpt_to', 'data', 'replies_4xx', 'replies_5xx']
    bad = ['%s %s: tshark %d, truth %d' % (ip, k, agg[ip][k], r[k])
           for ip, r in t.items() for k in keys if agg[ip][k] != r[k]]
    bad += ['%s: in tshark, not in the truth' % ip for ip in agg if ip not in t and sum(agg[ip].values())]
    tot = {k: sum(c[k] for c in agg.values()) for k in keys}
    return report('tshark ' + tsv, bad, '(%d IPs; %s)' % (len(t), ', '.join('%s %d' % kv for kv in tot.items())))

ok = {'analyze': analyze, 'tshark': tshark}[sys.argv[1]](sys.argv[2], sys.argv[3])
sys.exit(0 if ok else 1)
PY
check() { "$PY" "$OUT/check.py" "$@" || fail=1; }

say "checking the answers"
TSHARK_FIELDS=(-T fields -E separator=/t -e ip.src -e ipv6.src -e ip.dst -e ipv6.dst -e tcp.dstport
	-e tcp.flags.syn -e tcp.flags.ack -e smtp.req.command -e smtp.response.code)
TSHARK_Y='smtp.req.command || smtp.response.code || (tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.dstport==25)'
TSHARK_LEAN=(--disable-protocol ALL --enable-protocol eth,vlan,ieee8021ad,ip,ipv6,tcp,smtp)
run_tshark() {	# OUTFILE CAPTURE [tshark options]: sets WALL and CPU
	local o=$1 f=$2
	shift 2
	timed "$o" tshark "$@" -r "$f" -Y "$TSHARK_Y" "${TSHARK_FIELDS[@]}" ||
		die "tshark failed: $(tail -n 3 "$o.err")"
}
timeout "$TIMEOUT" "$RW" analyze "${CONF[@]}" --json "$OUT/prefix.pcap" >"$OUT/prefix.analyze.json" ||
	die "analyze failed on $OUT/prefix.pcap"
check analyze "$OUT/prefix.analyze.json" "$OUT/mixed.truth.at-$PREFIX"

# --- speed: the bare loops and analyze, interleaved, same page-cached file --------------
# Wall time from process start to exit for all three; the median of RUNS is the figure.
# The bare loop runs twice: with libpcap's defaults (pcap_open_offline reads through a
# 4 KiB stdio buffer, one read(2) each) and through a 1 MiB buffer (pcap_fopen_offline).
read -r load_before _ </proc/loadavg
say "timing: $RUNS interleaved runs each of the bare loops and analyze on $OUT/mixed.pcap (load average $load_before)"
bare=() bare_c=() big=() big_c=() ana=() ana_c=()
for i in $(seq "$RUNS"); do
	timed "$OUT/mixed.bare.txt" "$B/bare_loop" "$OUT/mixed.pcap"
	bare+=("$WALL") bare_c+=("$CPU")
	timed "$OUT/mixed.bare1m.txt" "$B/bare_loop" -b 1048576 "$OUT/mixed.pcap"
	big+=("$WALL") big_c+=("$CPU")
	timed "$OUT/mixed.analyze.json" timeout "$TIMEOUT" "$RW" analyze "${CONF[@]}" --json "$OUT/mixed.pcap" ||
		die "analyze failed: $(tail -n 3 "$OUT/mixed.analyze.json.err")"
	ana+=("$WALL") ana_c+=("$CPU")
done
read -r load_after _ </proc/loadavg
# start-up alone (config, prefixes, customers): analyze on a 100-source capture
starts=()
for i in $(seq "$RUNS"); do
	timed "$OUT/tiny.analyze.json" "$RW" analyze "${CONF[@]}" --json "$OUT/tiny.pcap"
	starts+=("$WALL")
done
for f in "$OUT/mixed.bare.txt" "$OUT/mixed.bare1m.txt"; do
	[ "$(awk '/^packets:/ { print $2 }' "$f")" = "$PACKETS" ] || { say "bare loop read the wrong count: $f"; fail=1; }
done
check analyze "$OUT/mixed.analyze.json" "$OUT/mixed.truth"
# one text-report run, to see it costs the same
timed "$OUT/mixed.analyze.txt" timeout "$TIMEOUT" "$RW" analyze "${CONF[@]}" "$OUT/mixed.pcap" ||
	die "analyze (text) failed: $(tail -n 3 "$OUT/mixed.analyze.txt.err")"
text_s=$WALL CPU_TEXT=$CPU

# --- tshark on the prefix (it would take minutes on the whole file) ----------------------
say "timing: tshark on the first $PREFIX packets (default dissectors, then only eth/vlan/ip/tcp/smtp)"
run_tshark "$OUT/tiny.tshark.tsv" "$OUT/tiny.pcap"
ts_start=$WALL ts_start_c=$CPU
run_tshark "$OUT/prefix.tshark.tsv" "$OUT/prefix.pcap"
ts_full=$WALL ts_full_c=$CPU
check tshark "$OUT/prefix.tshark.tsv" "$OUT/mixed.truth.at-$PREFIX"
run_tshark "$OUT/prefix.tshark-lean.tsv" "$OUT/prefix.pcap" "${TSHARK_LEAN[@]}"
ts_lean=$WALL ts_lean_c=$CPU
check tshark "$OUT/prefix.tshark-lean.tsv" "$OUT/mixed.truth.at-$PREFIX"

# --- memory per tracked source IP ------------------------------------------------------
say "memory: analyze on $SOURCES distinct sources, and on a tiny capture for the baseline"
rss() {	# OUTFILE ARGS...: sets KB (peak RSS) and SECS
	local o=$1
	shift
	KB=0 SECS=$TIMEOUT
	if ! /usr/bin/time -f '%M %e' -o "$o.time" timeout "$TIMEOUT" "$RW" analyze "${CONF[@]}" "$@" >"$o" 2>"$o.err"; then
		say "analyze $* failed or timed out after ${TIMEOUT}s: $(tail -n 2 "$o.err")" >&2
		fail=1
		return
	fi
	read -r KB SECS < <(tail -n 1 "$o.time")
}
rss "$OUT/tiny.analyze.txt" "$OUT/tiny.pcap"; base_kb=$KB
rss "$OUT/sources.analyze.txt" "$OUT/sources.pcap"; big_kb=$KB big_s=$SECS
# The text report's summary lines against the truth (the per-IP check is the mixed run's).
num() { grep -o -m 1 "[0-9]* $1" "$2" | head -n 1 | cut -d ' ' -f 1; }
f="$OUT/sources.analyze.txt"
got="$(num read, "$f") $(num SMTP "$f") $(num malformed "$f") $(num truncated "$f") $(num followed "$f") $(num 'sending IPs' "$f")"
want="$(truth sources packets) $(truth sources smtp_frames) 0 0 $(truth sources smtp_sessions_started) $(truth sources sources)"
if [ "$got" = "$want" ]; then
	say "  analyze $f: OK (packets, SMTP frames, malformed, truncated, connections, sending IPs: $got)"
else
	say "  analyze $f: WRONG (packets, SMTP frames, malformed, truncated, connections, sending IPs: $got; truth: $want)"
	fail=1
fi
tracked=$(( $(truth sources sources) - $(truth tiny sources) ))
per_ip=$(calc "($big_kb - $base_kb) * 1024 / $tracked")
# --json streams its document (one IP object at a time); BENCH_JSON_1M=0 skips it.
json_line="  --json:      not run on this capture (BENCH_JSON_1M=0)"
if [ "${BENCH_JSON_1M:-1}" = 1 ]; then
	rss "$OUT/tiny.analyze.json" --json "$OUT/tiny.pcap"; jbase_kb=$KB
	rss "$OUT/sources.analyze.json" --json "$OUT/sources.pcap"; jbig_kb=$KB jbig_s=$SECS
	if [ "$jbig_kb" != 0 ]; then check analyze "$OUT/sources.analyze.json" "$OUT/sources.truth"; fi
	json_line="  --json:      peak RSS $(mib "$jbig_kb"), baseline $(mib "$jbase_kb") -> $(printf '%.0f' "$(calc "($jbig_kb - $jbase_kb) * 1024 / $tracked")") bytes per source IP, $(secs "$jbig_s") s"
fi
src_packets=$(truth sources packets)

# --- other benches -----------------------------------------------------------------------
lpm=""
if [ -x "$B/bench_lpm" ]; then
	say "running $B/bench_lpm"
	lpm=$(timeout 300 "$B/bench_lpm" 2>&1) || { say "bench_lpm failed"; fail=1; }
fi

# --- figures -----------------------------------------------------------------------------
pps() { calc "$1 / $2"; }
ratio() { calc "$2 / $1"; }	# speed of B relative to A, from seconds A and B
bare_med=$(median "${bare[@]}") big_med=$(median "${big[@]}") ana_med=$(median "${ana[@]}")
bare_cmed=$(median "${bare_c[@]}") big_cmed=$(median "${big_c[@]}") ana_cmed=$(median "${ana_c[@]}")
ana_start=$(best "${starts[@]}")
ts_s=$(calc "$ts_full - $ts_start") ts_lean_s=$(calc "$ts_lean - $ts_start")
ts_cs=$(calc "$ts_full_c - $ts_start_c") ts_lean_cs=$(calc "$ts_lean_c - $ts_start_c")
# analyze's speed relative to the others, per wall time and per CPU time (tshark's is per
# packet: it read a prefix)
r_bare=$(ratio "$ana_med" "$bare_med") r_bare_c=$(ratio "$ana_cmed" "$bare_cmed")
r_big=$(ratio "$ana_med" "$big_med") r_big_c=$(ratio "$ana_cmed" "$big_cmed")
r_ts=$(calc "($ts_s / $PREFIX) / ($ana_med / $PACKETS)") r_ts_c=$(calc "($ts_cs / $PREFIX) / ($ana_cmed / $PACKETS)")
r_lean=$(calc "($ts_lean_s / $PREFIX) / ($ana_med / $PACKETS)") r_lean_c=$(calc "($ts_lean_cs / $PREFIX) / ($ana_cmed / $PACKETS)")
r_ts_min=$(printf '%s\n' "$r_ts" "$r_lean" | sort -g | head -n 1)
src_pps=$(pps "$src_packets" "$big_s")
goal() { awk -v x="$1" -v g="$2" 'BEGIN { print (x >= g) ? "met" : "NOT met" }'; }
goal_le() { awk -v x="$1" -v g="$2" 'BEGIN { print (x <= g) ? "met" : "NOT met" }'; }
g_bare=$(goal "$r_bare" 0.8) g_bare_c=$(goal "$r_bare_c" 0.8) g_ts=$(goal "$r_ts_min" 20)
g_rss=$(goal_le "$per_ip" 256)
row() {	# LABEL PACKETS WALL CPU DETAIL
	printf '  %-34s %11s %11s   %s' "$1" "$(fmt0 "$(pps "$2" "$3")")" "$(fmt0 "$(pps "$2" "$4")")" "$5"
}

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
ram=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
mbytes=$(stat -c %s "$OUT/mixed.pcap")
avg=$(calc "($mbytes - 24) / $PACKETS - 16")
m_smtp=$(truth mixed smtp_frames) m_src=$(truth mixed sources)
m_tag=$(truth mixed frames_tagged) m_qinq=$(truth mixed frames_qinq)
m_v6=$(truth mixed frames_v6) m_sess=$(truth mixed smtp_sessions_started)
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f%%", 100 * a / b }'; }
date=$(date -u '+%Y-%m-%d %H:%M UTC')
commit=$(git rev-parse --short HEAD 2>/dev/null || echo none)
dirty=$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (with uncommitted changes)" || true)
verdict=$([ "$fail" = 0 ] && echo "all counts exact" || echo "COUNTS WRONG: the figures below are not valid")

table=$(cat <<EOF
rangewatch bench, $date, commit $commit$dirty
machine: $(nproc) x $cpu, $ram RAM, Linux $(uname -r), $(tshark -v 2>/dev/null | sed -n '1s/^TShark (Wireshark) \([^ ]*\).*/tshark \1/p'), $(sed -n 's/^libpcap: //p' "$OUT/mixed.bare.txt")
capture: $OUT/mixed.pcap, $(fmt0 "$PACKETS") packets, $(fmt0 "$mbytes") bytes (avg frame $(printf '%.0f' "$avg") B),
  $(fmt0 "$m_smtp") SMTP frames ($(pct "$m_smtp" "$PACKETS")) in $(fmt0 "$m_sess") sessions from $(fmt0 "$m_src") source IPs,
  $(pct "$m_tag" "$PACKETS") 802.1Q-tagged ($(fmt0 "$m_qinq") QinQ), $(pct "$m_v6" "$PACKETS") IPv6; seed $SEED
answers: $verdict (analyze vs generator truth per IP; tshark and analyze on the prefix too)

                                     packets/s   packets/s   each run's wall seconds (process start
                                      wall time    CPU time   to exit; the figures are medians)
$(row "bare loop, libpcap defaults" "$PACKETS" "$bare_med" "$bare_cmed" "$(secs "${bare[@]}")")
$(row "bare loop, 1 MiB stdio buffer" "$PACKETS" "$big_med" "$big_cmed" "$(secs "${big[@]}")")
$(row "rangewatch analyze --json" "$PACKETS" "$ana_med" "$ana_cmed" "$(secs "${ana[@]}")")
$(row "  less its start-up" "$PACKETS" "$(calc "$ana_med - $ana_start")" "$(calc "$ana_cmed - $ana_start")" "start-up $(secs "$ana_start") s: config + $(fmt0 "$ncust") customers, best of $RUNS")
$(row "rangewatch analyze, text report" "$PACKETS" "$text_s" "$CPU_TEXT" "one run: $(secs "$text_s")")
$(row "tshark, default dissectors" "$PREFIX" "$ts_s" "$ts_cs" "$(secs "$ts_full") on the first $(fmt0 "$PREFIX") packets, less $(secs "$ts_start") start-up")
$(row "tshark, eth/vlan/ip/ipv6/tcp/smtp" "$PREFIX" "$ts_lean_s" "$ts_lean_cs" "$(secs "$ts_lean") on the same prefix, less start-up")

  analyze / bare loop, libpcap defaults: $(printf '%.2f' "$r_bare") wall, $(printf '%.2f' "$r_bare_c") CPU   goal >= 0.8: $g_bare (wall), $g_bare_c (CPU)
  analyze / bare loop, 1 MiB buffer:     $(printf '%.2f' "$r_big") wall, $(printf '%.2f' "$r_big_c") CPU   (the limit if analyze read through a big buffer too)
  analyze / tshark: $(printf '%.0f' "$r_ts")x default, $(printf '%.0f' "$r_lean")x lean (wall); $(printf '%.0f' "$r_ts_c")x, $(printf '%.0f' "$r_lean_c")x (CPU)   goal >= 20x: $g_ts
  load average (other work on the machine): $load_before before the timed runs, $load_after after

memory: analyze on $(fmt0 "$SOURCES") distinct sources ($(fmt0 "$src_packets") packets, $(secs "$big_s") s, $(fmt0 "$src_pps") pps)
  text report: peak RSS $(mib "$big_kb"), baseline (100 sources) $(mib "$base_kb") -> $(printf '%.0f' "$per_ip") bytes per tracked source IP    goal <= 256: $g_rss
$json_line
EOF
)
if [ -n "$lpm" ]; then
	table+=$'\n\n'"bench_lpm:"$'\n'"$(printf '%s\n' "$lpm" | sed 's/^/  /')"
fi
if [ -x "$B/bench_risk" ]; then
	say "running $B/bench_risk"
	risk=$(timeout 300 "$B/bench_risk" 2>&1) || { say "bench_risk failed"; fail=1; }
	table+=$'\n\n'"bench_risk (issue 4 groundwork):"$'\n'"$(printf '%s\n' "$risk" | sed 's/^/  /')"
fi
say ""
say "$table"

[ -f "$RESULTS" ] || printf '# rangewatch benchmark results\n\nAppended by `make bench` (bench/run.sh); newest last. See bench/run.sh for what each figure means.\n' >"$RESULTS"
{
	printf '\n## %s\n\n' "$date"
	printf 'Command: `make bench` (BENCH_PACKETS=%s BENCH_SOURCES=%s BENCH_TSHARK_PACKETS=%s BENCH_RUNS=%s BENCH_SEED=%s)\n\n' \
		"$PACKETS" "$SOURCES" "$PREFIX" "$RUNS" "$SEED"
	printf '```\n%s\n```\n' "$table"
} >>"$RESULTS"
say ""
say "appended to $RESULTS"

# issue 3: the DNSBL engine against dnsperf (appends its own section)
if [ -x bench/bench_dnsbl.sh ]; then
	say ""
	say "running bench/bench_dnsbl.sh"
	BENCH_RUNS=3 bench/bench_dnsbl.sh || fail=1
fi
# issue 15: analyze against a bare libpcap loop with the same BPF filter (appends its own section)
[ -x bench/bench_analyze.sh ] && { say ""; say "running bench/bench_analyze.sh"; bench/bench_analyze.sh || fail=1; }
[ -x bench/bench_daemon.sh ] && { say ""; say "running bench/bench_daemon.sh"; bench/bench_daemon.sh || fail=1; }	# the daemon at 1M IPs, 100k customers (appends its own section)
# issue 17: flow exports, decode rate and UDP drops against nfcapd (appends its own section)
[ -x bench/bench_flows.sh ] && { say ""; say "running bench/bench_flows.sh"; RW_BIN="$PWD/bin" bench/bench_flows.sh || fail=1; }
# issue 14: a flood of 4M spoofed sources through the daemon (appends its own section)
[ -x bench/flood.sh ] && { say ""; say "running bench/flood.sh"; RW_BIN="$PWD/bin" bench/flood.sh || fail=1; }
# the detection scenario suite, long variants (appends its own section)
[ -x bench/scenarios.sh ] && { say ""; say "running bench/scenarios.sh"; RW_BIN="$PWD/bin" bench/scenarios.sh || fail=1; }
exit "$fail"
