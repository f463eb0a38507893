#!/bin/sh
# etc/rangewatchd.service is a unit systemd accepts: systemd-analyze verify reads it (with
# the binary's path pointed at this build), and its bounding set is what the daemon's start
# needs and nothing more (the daemon test proves it ends with no capability at all).
set -u
: "${RW_BIN:?RW_BIN must name the folder holding rangewatchd}"
command -v systemd-analyze >/dev/null || { echo "skip: systemd-analyze not installed"; exit 77; }
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
sed "s|/usr/sbin/rangewatchd|$RW_BIN/rangewatchd|g" "$top/etc/rangewatchd.service" >"$tmp/rangewatchd.service"
# the unit's Documentation= names the man pages: verify runs man on them, found in the tree
mkdir -p "$tmp/man/man1" "$tmp/man/man5" "$tmp/man/man8"
cp "$top/ui/rangewatch.1" "$tmp/man/man1/"
cp "$top/monitor/rangewatch.conf.5" "$top/probes/rangewatch-dnsbl.conf.5" "$tmp/man/man5/"
cp "$top/monitor/rangewatchd.8" "$tmp/man/man8/"
export MANPATH="$tmp/man"
if out=$(systemd-analyze verify "$tmp/rangewatchd.service" 2>&1) && [ -z "$out" ]; then
	echo "ok   systemd-analyze verify: no complaint"
else
	echo "FAIL systemd-analyze verify: $out"; fail=1
fi
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$top/etc/rangewatchd.service")
if [ "$caps" = "CAP_NET_RAW CAP_SETUID CAP_SETGID CAP_CHOWN" ]; then
	echo "ok   bounding set: $caps"
else
	echo "FAIL bounding set: $caps"; fail=1
fi
for k in "ExecReload=/bin/kill -HUP \$MAINPID" "NoNewPrivileges=yes" "ProtectSystem=strict"; do
	grep -qxF "$k" "$top/etc/rangewatchd.service" && echo "ok   $k" || { echo "FAIL missing $k"; fail=1; }
done
exit $fail
