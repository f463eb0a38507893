#!/bin/sh
# Runs every executable tests/integration/*.sh against the binaries in $RW_BIN. Each test
# prints what it checked and exits non-zero on failure (77 = skipped, with the reason
# printed). Output of each goes to tests/out/NAME.log and is shown when it fails.
# RW_VARIANT (release or asan) tells a test which build it drives: a test whose first lines
# hold the marker "release-only" runs once, in the release round (see its header for why).
: "${RW_BIN:?RW_BIN must name the folder holding rangewatch and rangewatchd}"
cd "$(dirname "$0")/.." || exit 1
mkdir -p tests/out
pass=0; fail=0; skip=0
for t in tests/integration/*.sh; do
	[ -x "$t" ] || continue
	name=$(basename "$t" .sh)
	if [ "${RW_VARIANT:-release}" != release ] && head -n 12 "$t" | grep -q "release-only"; then
		skip=$((skip + 1)); echo "skip $name: release-only (runs in the release round)"; continue
	fi
	start=$(date +%s)
	RW_BIN="$RW_BIN" "$t" >"tests/out/$name.log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0) pass=$((pass + 1)); echo "ok   $name (${secs}s)";;
	77) skip=$((skip + 1)); echo "skip $name: $(tail -n 1 "tests/out/$name.log")";;
	*) fail=$((fail + 1)); echo "FAIL $name (exit $rc, ${secs}s)"; sed 's/^/    /' "tests/out/$name.log" | tail -n 40;;
	esac
done
echo "integration: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
