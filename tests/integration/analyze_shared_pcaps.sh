#!/bin/sh
# Real third-party SMTP captures (shared/pcaps, beside the clone): checks their SHA256SUMS,
# then compares `rangewatch analyze --json` with tshark on each (tests/compare.py), also with
# --bpf (identical SMTP results required), and all six in one run (sums).
# Skips (77) only when the shared/pcaps folder is absent.
set -u
: "${RW_BIN:?RW_BIN must name the folder holding rangewatch}"
TESTS=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
root=$(git -C "$TESTS" rev-parse --show-toplevel 2>/dev/null || (cd "$TESTS/.." && pwd))
pcaps="$root/../shared/pcaps"
[ -d "$pcaps" ] || { echo "skip: $pcaps is absent"; exit 77; }
for t in tshark capinfos sha256sum; do
	command -v "$t" >/dev/null 2>&1 || { echo "skip: $t not installed"; exit 77; }
done
[ -x "$RW_BIN/rangewatch" ] || { echo "FAIL: $RW_BIN/rangewatch missing"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

echo "=== sha256sum -c SHA256SUMS in $pcaps"
(cd "$pcaps" && sha256sum -c SHA256SUMS) || { echo "FAIL: the shared captures do not match SHA256SUMS"; exit 1; }

# Where tshark is not the reference (documented, checked by reading the frames):
# suricata-verify_smtp-data-rejected.pcap: the client pipelines MAIL+RCPT+DATA (frame 8), the
# server answers 553/503/503, the client sends RSET (frame 11) and pipelines MAIL+RCPT+DATA
# again (frame 14), which gets 250/250/354 and the message follows. tshark 4.0 enters its
# message-body state on the DATA command itself (not on the 354), so it shows frames 11 and 14
# as message body and counts 1 MAIL, 1 RCPT, 1 DATA; the contract (the body starts after
# DATA + 354) counts 2 of each.
cat >"$tmp/known.json" <<'JSON'
{
 "suricata-verify_smtp-data-rejected.pcap": {
  "partial": true,
  "ips": {"10.7.29.101": {"mail_from": 2, "rcpt_to": 2, "data": 2}},
  "tshark_exceptions": {
   "10.7.29.101 mail_from": "tshark 4.0 takes frame 14 (MAIL+RCPT+DATA pipelined after a refused DATA and RSET) for message body: its body state starts on DATA, not on 354",
   "10.7.29.101 rcpt_to": "same: frame 14 holds the second RCPT, read as body by tshark 4.0",
   "10.7.29.101 data": "same: frame 14 holds the second DATA (answered 354), read as body by tshark 4.0"
  }
 }
}
JSON

failed=""
n=0
for f in "$pcaps"/*.pcap "$pcaps"/*.pcapng; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	echo "=== $(basename "$f")"
	$PY "$TESTS/compare.py" --rw "$RW_BIN/rangewatch" --truth "$tmp/known.json" --bpf "$f" >"$tmp/out" 2>&1 ||
		failed="$failed $(basename "$f")"
	cat "$tmp/out"
	grep -E 'MISMATCH|ERROR' "$tmp/out" >>"$tmp/mismatches"
done
[ $n -gt 0 ] || { echo "FAIL: no captures in $pcaps"; exit 1; }
echo "=== all $n in one run"
# shellcheck disable=SC2046
$PY "$TESTS/compare.py" --rw "$RW_BIN/rangewatch" --truth "$tmp/known.json" --label "all shared captures" \
	$(ls "$pcaps"/*.pcap "$pcaps"/*.pcapng 2>/dev/null) >"$tmp/out" 2>&1 || failed="$failed all-in-one-run"
cat "$tmp/out"
grep -E 'MISMATCH|ERROR' "$tmp/out" >>"$tmp/mismatches"

echo
if [ -n "$failed" ]; then
	echo "--- mismatches (first 30):"
	head -n 30 "$tmp/mismatches" | cut -c1-400
	echo "FAIL:$failed"
	exit 1
fi
echo "PASS: $n shared captures agree with tshark"
