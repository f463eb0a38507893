#!/bin/sh
# log-to-file.sh — a rangewatch suspend hook that only keeps a record: one line per call,
# appended to a log file. It suspends nobody; use it to watch what rangewatch would do
# before you trust it with a real hook, or next to one.
#
# Called by rangewatchd (never through a shell) as
#     log-to-file.sh suspend|unsuspend|test CUSTOMER_ID
# with RANGEWATCH_* variables in its environment and the evidence (JSON) on stdin.
#
# The line: tab-separated, fields in this order (values never hold a tab or a newline:
# rangewatch escapes control characters, and the evidence line is cleaned here):
#     time (UTC, ISO 8601)  action  customer_id  level  dry_run  operator (- when automatic)
#     event_id  ips  customer_name  reason  first evidence line
#
# Dry run (RANGEWATCH_DRY_RUN=1, the default of [hook] dry_run): the line is printed (so it
# reaches rangewatch's audit log) and not appended.
#
# Install (as root):
#     install -o root -g root -m 0755 log-to-file.sh /usr/local/libexec/rangewatch/
#     install -d -o nobody -g nogroup -m 0750 /var/log/rangewatch-hook
#   rangewatch.conf:  [hook]  path = /usr/local/libexec/rangewatch/log-to-file.sh
#                             user = nobody
#   With the shipped systemd unit (ProtectSystem=strict), let the hook write its folder:
#     systemctl edit rangewatchd   ->   [Service]  ReadWritePaths=/var/log/rangewatch-hook
#   Then suspend a customer (rangewatch suspend ID --reason TEXT; a dry run while
#   [hook] dry_run = yes) and look at the audit log, or at the file once dry_run = no.
#
# Exit codes: 0 recorded (or printed, dry run); 75 the file could not be written (rangewatch
# tries again later); 2 called wrongly.
#
# Settings: edit LOG below. (RW_HOOK_LOG overrides it when you run the hook by hand: the
# daemon passes no variable but the ones above.)

LOG=${RW_HOOK_LOG:-/var/log/rangewatch-hook/hook.log}

set -u
umask 027

action=${1-}
customer=${2-}
case $action in
suspend|unsuspend|test) ;;
*) echo "usage: $0 suspend|unsuspend|test CUSTOMER_ID" >&2; exit 2 ;;
esac
if [ -z "$customer" ]; then
	echo "usage: $0 suspend|unsuspend|test CUSTOMER_ID" >&2
	exit 2
fi

# The evidence's first plain-language line ("evidence": [ "...", ... ]), read as JSON by
# python3, never by the shell; control characters become '?', at most 300 characters.
first=$(/usr/bin/python3 -c '
import json, sys
try:
    doc = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
ev = doc.get("evidence") if isinstance(doc, dict) else None
line = ev[0] if isinstance(ev, list) and ev and isinstance(ev[0], str) else ""
print("".join(c if c.isprintable() else "?" for c in line)[:300])
' 2>/dev/null) || first=""

now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
line=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$now" "$action" "$customer" \
    "${RANGEWATCH_LEVEL-}" "${RANGEWATCH_DRY_RUN-0}" "${RANGEWATCH_OPERATOR:--}" \
    "${RANGEWATCH_EVENT_ID-}" "${RANGEWATCH_IPS-}" "${RANGEWATCH_CUSTOMER_NAME-}" \
    "${RANGEWATCH_REASON-}" "$first")

if [ "${RANGEWATCH_DRY_RUN-0}" = 1 ]; then
	printf 'dry run, not appended to %s: %s\n' "$LOG" "$line"
	exit 0
fi
# one write of one line: lines of concurrent hooks do not mix (O_APPEND)
if ! printf '%s\n' "$line" >>"$LOG"; then
	echo "cannot append to $LOG" >&2
	exit 75
fi
echo "recorded in $LOG"
exit 0
