#!/bin/sh
# Alert delivery against real servers on loopback: an aiosmtpd SMTP server and a Python
# http.server webhook, driven by the unit binary test_alert (built next to RW_BIN: bin ->
# build/release, bin/asan -> build/asan), whose live tests start the servers themselves:
# a message parsed by Python's email package (headers, RFC 2047 subject, quoted-printable
# body decoding back to the evidence), a server down then up (the alert arrives exactly
# once), a process SIGKILLed right after queueing (the next one delivers it exactly once),
# the watch digest as one mail, a test mail to every recipient, a webhook 500 retried and
# its 2xx marking the row sent. Fails when the live part was skipped.
set -u
: "${RW_BIN:?RW_BIN must name the folder holding rangewatch and rangewatchd}"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
case "$RW_BIN" in
*/asan) variant=asan ;;
*) variant=release ;;
esac
t="$TOP/build/$variant/tests/test_alert"
if [ ! -x "$t" ]; then
	echo "FAIL alert_smtp: $t is not built (make VARIANT=$variant unit-bins)"; exit 1
fi
if ! /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null; then
	echo "FAIL alert_smtp: /usr/bin/python3 with aiosmtpd is needed (apt-get install python3-aiosmtpd)"; exit 1
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$t" >"$out" 2>&1
rc=$?
fail=0
[ $rc -eq 0 ] || { echo "FAIL alert_smtp: test_alert exited $rc:"; cat "$out"; fail=1; }
for want in "smtp: delivered, parsed by Python's email package, body decodes back" \
    "smtp: server down then up: delivered exactly once" \
    "smtp: killed after queueing: the next process delivered it once" \
    "smtp: watch digest as one mail; test mail to every recipient" \
    "webhook: a 500 retried, the 200 marked it sent; text + evidence"; do
	if grep -qF "$want" "$out"; then echo "ok   $want"
	else echo "FAIL missing: $want"; fail=1; fi
done
if grep -q "SKIP" "$out"; then echo "FAIL alert_smtp: the live part was skipped"; fail=1; fi
[ $fail -eq 0 ] && echo "alert_smtp: all passed"
exit $fail
