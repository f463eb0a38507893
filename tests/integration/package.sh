#!/bin/sh
# release-only: it builds its own binaries (the package's), so the ASan round adds nothing.
# The Debian package, for real: built with dpkg-buildpackage from a copy of the tree (the
# tracked and untracked files git knows, so the tree itself is never dirtied), judged by
# lintian (no error), installed with dpkg -i on this machine, then:
#  - the system user rangewatch (nologin), /var/lib/rangewatch its own and 0750, the files
#    of /etc/rangewatch registered as conffiles, the unit installed but neither enabled nor
#    started;
#  - `rangewatchd -n` succeeds on the installed config; the man pages are found by
#    `man -w` and render (mandoc -T lint: clean, now that they are installed);
#  - dpkg -r keeps the conffiles and the state, dpkg -P removes them: no file of the package
#    is left, nor /var/lib/rangewatch. The user stays (Debian packages leave their system
#    users; see debian/rangewatch.postrm), so the test removes it when it made it.
# `tests/integration/package.sh --build-only` (make deb) builds into build/deb/ and stops.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
build_only=0
[ "${1:-}" = --build-only ] && build_only=1
skip() { echo "skip: $*"; exit 77; }
command -v dpkg-buildpackage >/dev/null || skip "dpkg-dev not installed"
command -v dh >/dev/null || skip "debhelper not installed"
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

tmp=$(mktemp -d)
user_before=0
getent passwd rangewatch >/dev/null && user_before=1
installed=0
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
	if [ $installed = 1 ]; then dpkg -P rangewatch >/dev/null 2>&1; fi
	if [ $user_before = 0 ] && getent passwd rangewatch >/dev/null; then
		deluser --system --quiet rangewatch >/dev/null 2>&1
		getent group rangewatch >/dev/null && delgroup --system --quiet rangewatch >/dev/null 2>&1
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

mkdir -p "$tmp/src"
# the files git knows (tracked, and new ones not ignored); outside a git checkout, all but
# the build products
if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$TOP" && git ls-files -co --exclude-standard | tar -cf - -T -) | tar -xf - -C "$tmp/src"
else
	tar -C "$TOP" --exclude=./build --exclude=./bin --exclude=./tests/out -cf - . | tar -xf - -C "$tmp/src"
fi || { bad "cannot copy the tree"; exit 1; }
t0=$(date +%s)
# a make test's flags (its jobserver, VARIANT) are not the package build's
if (cd "$tmp/src" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
    DEB_BUILD_OPTIONS="nocheck parallel=2 noautodbgsym" dpkg-buildpackage -us -uc -b) \
    >"$tmp/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b: built in $(( $(date +%s) - t0 )) s"
else
	bad "dpkg-buildpackage:"; tail -n 30 "$tmp/build.log"; exit 1
fi
deb=$(ls "$tmp"/rangewatch_*.deb)
if [ $build_only = 1 ]; then
	mkdir -p "$TOP/build/deb"
	cp "$tmp"/rangewatch*.deb "$tmp"/rangewatch_*.changes "$TOP/build/deb/"
	echo "built: $(ls "$TOP/build/deb/")"
	exit 0
fi
[ "$(id -u)" = 0 ] || skip "installing the package needs root"
if dpkg-query -W -f='${Status}' rangewatch 2>/dev/null | grep -q "installed"; then
	skip "a rangewatch package is installed on this machine: not touching it"
fi
[ -e /etc/rangewatch ] && skip "/etc/rangewatch exists (an installation by hand?): not touching it"

if command -v lintian >/dev/null; then
	lintian --fail-on error "$tmp"/rangewatch_*.changes >"$tmp/lintian.out" 2>&1
	rc=$?
	grep -v "running with root privileges" "$tmp/lintian.out" >"$tmp/lintian.left"
	if [ $rc = 0 ]; then
		ok "lintian: no error ($(grep -c '^W:' "$tmp/lintian.left") warnings)"
		sed 's/^/     /' "$tmp/lintian.left"
	else
		bad "lintian:"; cat "$tmp/lintian.left"
	fi
fi

files=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print substr($6, 2)}')
# dpkg as anyone else on the machine uses it: wait for its lock (another apt-get) a while
dpkg_locked() {	# dpkg_locked ARGS...: dpkg, retried while its lock is held
	n=0
	while :; do
		dpkg "$@" >"$tmp/dpkg.log" 2>&1 && return 0
		grep -q "lock" "$tmp/dpkg.log" && [ $n -lt 60 ] || return 1
		n=$((n + 1)); sleep 1
	done
}
if dpkg_locked -i "$deb"; then
	installed=1
	ok "dpkg -i $(basename "$deb")"
else
	bad "dpkg -i: $(cat "$tmp/dpkg.log")"; exit 1
fi
shell=$(getent passwd rangewatch | cut -d: -f7)
[ "$shell" = /usr/sbin/nologin ] && ok "system user rangewatch, shell $shell" || bad "user rangewatch: '$(getent passwd rangewatch)'"
st=$(stat -c '%U:%G %a' /var/lib/rangewatch 2>&1)
[ "$st" = "rangewatch:rangewatch 750" ] && ok "/var/lib/rangewatch: $st" || bad "/var/lib/rangewatch: $st"
conffiles=$(dpkg-query -W -f='${Conffiles}\n' rangewatch | awk 'NF {print $1}' | sort | tr '\n' ' ')
want="/etc/rangewatch/customers.csv /etc/rangewatch/dnsbl.conf /etc/rangewatch/prefixes.txt /etc/rangewatch/rangewatch.conf "
[ "$conffiles" = "$want" ] && ok "conffiles: $conffiles" || bad "conffiles: '$conffiles'"
[ -f /lib/systemd/system/rangewatchd.service ] && ok "unit installed: /lib/systemd/system/rangewatchd.service" ||
    bad "no unit in /lib/systemd/system"
enabled=$(find /etc/systemd/system -name 'rangewatchd.service' 2>/dev/null | head -n 1)
[ -z "$enabled" ] && ok "unit not enabled (no link under /etc/systemd/system)" || bad "unit enabled: $enabled"
running=""
for p in $(pgrep -x rangewatchd 2>/dev/null); do
	[ "$(readlink "/proc/$p/exe" 2>/dev/null)" = /usr/sbin/rangewatchd ] && running="$running $p"
done
[ -z "$running" ] && ok "the installed daemon was not started" || bad "the installed daemon runs:$running"

out=$(/usr/sbin/rangewatchd -n 2>&1)
case $out in
"/etc/rangewatch/rangewatch.conf: OK ("*) ok "rangewatchd -n on the installed config: $out";;
*) bad "rangewatchd -n: $out";;
esac
/usr/bin/rangewatch help >/dev/null 2>&1 && ok "rangewatch help runs" || bad "rangewatch help"

# a minimized image (docker's) tells dpkg to leave man pages out: then there is none to open
if grep -qs '^path-exclude=*/usr/share/man' /etc/dpkg/dpkg.cfg.d/*; then
	echo "(dpkg excludes /usr/share/man on this machine: the man page checks are skipped)"
	pages=""
else
	pages="rangewatch.1 rangewatch.conf.5 rangewatch-dnsbl.conf.5 rangewatchd.8"
fi
for page in $pages; do
	name=${page%.*}; sec=${page##*.}
	path=$(man -w "$sec" "$name" 2>&1)
	# the cross-references among the four resolve through the system's mandoc.db, which
	# man-db's triggers do not refresh: those are forgiven, nothing else
	lint=$(mandoc -T lint "$path" 2>&1 | grep -v -e "referenced manual not found: Xr rangewatch" \
	    -e "outdated mandoc.db")
	if [ "$path" = "/usr/share/man/man$sec/$page.gz" ] && [ -z "$lint" ]; then
		ok "man -w $sec $name: $path, $(mandoc -T ascii "$path" | wc -l) lines, lint clean"
	else
		bad "man page $name($sec): '$path' $lint"
	fi
done

# remove: the config and the state stay; purge: nothing of the package is left
dpkg_locked -r rangewatch || bad "dpkg -r: $(cat "$tmp/dpkg.log")"
[ ! -e /usr/sbin/rangewatchd ] && [ -f /etc/rangewatch/rangewatch.conf ] && [ -d /var/lib/rangewatch ] &&
    ok "dpkg -r: binaries gone, /etc/rangewatch and /var/lib/rangewatch kept" ||
    bad "dpkg -r left: $(ls -d /usr/sbin/rangewatchd /etc/rangewatch /var/lib/rangewatch 2>&1 | tr '\n' ' ')"
dpkg_locked -P rangewatch || bad "dpkg -P: $(cat "$tmp/dpkg.log")"
installed=0
left=""
for f in $files; do [ -e "$f" ] && left="$left $f"; done
for d in /etc/rangewatch /var/lib/rangewatch /usr/share/rangewatch /usr/share/doc/rangewatch; do
	[ -e "$d" ] && left="$left $d"
done
dpkg-query -W rangewatch >/dev/null 2>&1 && dpkg-query -W -f='${Status}' rangewatch | grep -qv "not-installed" &&
    left="$left (dpkg still knows it: $(dpkg-query -W -f='${Status}' rangewatch))"
[ -z "$left" ] && ok "dpkg -P: none of the $(echo "$files" | wc -w) files left, nor /etc/rangewatch, /var/lib/rangewatch" ||
    bad "dpkg -P left:$left"
getent passwd rangewatch >/dev/null && ok "the system user stays after purge (as Debian packages do)"
exit $fail
