#!/bin/sh
# make bench: the detection scenario suite's long variants (tests/scenarios/run.py
# --variant long: six days of warm-up, replay_speed 120 around zone changes so the DNS
# follows within minutes of model time, three hours past the last listing). Prints the
# detection table (per story: the lead of the first culprit's act over the range/ASN-scope
# listing, burst start to warn, false acts, false hook runs, DNS lag per list) and appends
# it, with machine (nproc, CPU model), date and command, to bench/RESULTS.md. Needs root
# and rbldnsd like the integration test; exit 1 when a goal fails (the table is written
# either way). Extra arguments go to run.py (e.g. --only reference,asn_l3).
cd "$(dirname "$0")/.." || exit 1
RW_BIN=${RW_BIN:-$PWD/bin}
[ "$(id -u)" = 0 ] || { echo "bench/scenarios.sh: skipped (needs root)"; exit 0; }
command -v rbldnsd >/dev/null 2>&1 || { echo "bench/scenarios.sh: skipped (rbldnsd missing)"; exit 0; }
SCEN_COMMAND="bench/scenarios.sh${*:+ $*}" \
/usr/bin/python3 tests/scenarios/run.py --variant long --jobs "${SCEN_JOBS:-2}" --bin "$RW_BIN" \
    --results bench/RESULTS.md "$@"
