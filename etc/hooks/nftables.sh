#!/bin/sh
# nftables.sh — a rangewatch suspend hook that stops the customer's outbound SMTP on this
# host: it adds the customer's addresses (RANGEWATCH_IPS) to the sets of table
# `inet rangewatch`, whose rules drop TCP to port 25 from them (routed traffic in chain
# forward, local senders in chain output). unsuspend removes them again. Other traffic,
# and other customers, are untouched.
#
#     table inet rangewatch {
#         set smtp4 { type ipv4_addr; }            set smtp6 { type ipv6_addr; }
#         chain forward { type filter hook forward priority -10; policy accept;
#             ip saddr @smtp4 tcp dport 25 counter drop
#             ip6 saddr @smtp6 tcp dport 25 counter drop }
#         chain output  { ... the same two rules ... }
#     }
# The table is made on first use. List what is blocked: nft list table inet rangewatch
# (each element's comment names the customer).
#
# Called by rangewatchd (never through a shell) as
#     nftables.sh suspend|unsuspend|test CUSTOMER_ID
# with RANGEWATCH_IPS (canonical addresses, space-separated) and RANGEWATCH_DRY_RUN in its
# environment. Every address is checked against a strict pattern before it gets near nft;
# anything else is refused (exit 2) and nothing is changed. RANGEWATCH_IPS holds at most 256
# addresses, the worst first; with RANGEWATCH_IPS_TRUNCATED=1 a big sender had more, and
# this hook blocks only those: block the customer's prefixes (RANGEWATCH_CIDRS) in a set
# with `flags interval` if you need all of them.
#
# Dry run (RANGEWATCH_DRY_RUN=1, the default of [hook] dry_run): prints the nft commands it
# would run and runs nothing. test: checks that nft works here and the table is in place
# (made if missing), blocks nothing.
#
# Privileges: nft needs CAP_NET_ADMIN and rangewatch runs hooks as an unprivileged user, so
# the hook calls itself again through sudo, handing over only what it needs as arguments
# (sudo clears the environment), and checks all of it again as root:
#     install -o root -g root -m 0755 nftables.sh /usr/local/libexec/rangewatch/
#     /etc/sudoers.d/rangewatch-nft (visudo -f):
#         rwhook ALL=(root) NOPASSWD: /usr/local/libexec/rangewatch/nftables.sh
#     useradd --system --shell /usr/sbin/nologin rwhook
#   rangewatch.conf:  [hook]  path = /usr/local/libexec/rangewatch/nftables.sh
#                             user = rwhook
#   The shipped systemd unit forbids exactly this (NoNewPrivileges=yes, and no CAP_NET_ADMIN
#   in its bounding set, which binds the hooks too). To allow it:
#     systemctl edit rangewatchd  ->  [Service]
#                                     NoNewPrivileges=no
#                                     CapabilityBoundingSet=CAP_NET_ADMIN CAP_AUDIT_WRITE
#   (added to the unit's set). Weigh that: the daemon itself drops to its user and keeps no
#   capability either way; only root processes in the unit (the hook runner, sudo) can use
#   the wider set. If that is too much, run this hook on the router instead (for example
#   through ssh with a forced command) and give rangewatch a hook that calls it.
#
# Exit codes: 0 done (also: already blocked / not blocked); 1 nft failed; 2 called
# wrongly (a bad action, id or address); 75 sudo or nft not available right now.
#
# Settings: NFT below; TABLE is fixed (the rules are this hook's own).

NFT=/usr/sbin/nft
TABLE=rangewatch

set -u
set -f		# no globbing anywhere: addresses are split on spaces, never expanded
umask 077
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH

usage() {
	echo "usage: $0 suspend|unsuspend|test CUSTOMER_ID" >&2
	exit 2
}

# a dotted quad, each part 0-255 without a leading zero
valid_ipv4() {
	case $1 in
	'' | *[!0-9.]* | .* | *. | *..*) return 1 ;;
	esac
	old_ifs=$IFS
	IFS=.
	# shellcheck disable=SC2086 # split on dots, on purpose (globbing is off)
	set -- $1
	IFS=$old_ifs
	[ $# -eq 4 ] || return 1
	for part in "$@"; do
		case $part in
		0?*) return 1 ;;
		esac
		[ ${#part} -le 3 ] && [ "$part" -le 255 ] || return 1
	done
	return 0
}

# IPv6 as rangewatch writes it (inet_ntop: lowercase hex, colons, maybe a dotted tail);
# nft parses it for real, but only these characters ever reach it
valid_ipv6() {
	case $1 in
	'' | *[!0-9a-f:.]* | *:::*) return 1 ;;
	*:*) ;;
	*) return 1 ;;
	esac
	[ ${#1} -le 45 ]
}

action=${1-}
customer=${2-}
case $action in
suspend | unsuspend | test) ;;
*) usage ;;
esac
case $customer in
'' | -* | *[!A-Za-z0-9._:@+-]*) usage ;;
esac
if [ "$(id -u)" = 0 ]; then
	# as root (directly, or through sudo from ourselves: then the values are arguments)
	ips=${3-${RANGEWATCH_IPS-}}
	dry=${4-${RANGEWATCH_DRY_RUN-0}}
else
	ips=${RANGEWATCH_IPS-}
	dry=${RANGEWATCH_DRY_RUN-0}
fi
case $dry in
0 | 1) ;;
*) usage ;;
esac

# the commands, from checked values only
v4=""
v6=""
for ip in $ips; do
	if valid_ipv4 "$ip"; then
		v4="$v4${v4:+, }$ip comment \"customer $customer\""
	elif valid_ipv6 "$ip"; then
		v6="$v6${v6:+, }$ip comment \"customer $customer\""
	else
		echo "refused: '$ip' is not an IP address" >&2
		exit 2
	fi
done

table_script() {
	cat <<EOF
add table inet $TABLE
add set inet $TABLE smtp4 { type ipv4_addr; }
add set inet $TABLE smtp6 { type ipv6_addr; }
add chain inet $TABLE forward { type filter hook forward priority -10; policy accept; }
add chain inet $TABLE output { type filter hook output priority -10; policy accept; }
add rule inet $TABLE forward ip saddr @smtp4 tcp dport 25 counter drop
add rule inet $TABLE forward ip6 saddr @smtp6 tcp dport 25 counter drop
add rule inet $TABLE output ip saddr @smtp4 tcp dport 25 counter drop
add rule inet $TABLE output ip6 saddr @smtp6 tcp dport 25 counter drop
EOF
}

change_script() {
	verb=$1
	[ -n "$v4" ] && echo "$verb element inet $TABLE smtp4 { $v4 }"
	[ -n "$v6" ] && echo "$verb element inet $TABLE smtp6 { $v6 }"
	return 0
}

if [ "$dry" = 1 ]; then
	echo "dry run, nothing changed; would run (nft -f -):"
	echo "# when table inet $TABLE is missing:"
	table_script
	case $action in
	suspend) change_script add ;;
	unsuspend) change_script delete ;;
	esac
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	# sudo -n: never ask; only what was checked goes over, as arguments
	command -v sudo >/dev/null 2>&1 || { echo "sudo is not installed" >&2; exit 75; }
	exec sudo -n -- "$0" "$action" "$customer" "$ips" "$dry"
fi

[ -x "$NFT" ] || { echo "$NFT is not installed" >&2; exit 75; }
if ! "$NFT" list table inet "$TABLE" >/dev/null 2>&1; then
	table_script | "$NFT" -f - || { echo "cannot make table inet $TABLE" >&2; exit 1; }
	echo "made table inet $TABLE"
fi

case $action in
test)
	"$NFT" list table inet "$TABLE" >/dev/null || exit 1
	echo "nft works, table inet $TABLE is in place"
	exit 0 ;;
suspend)
	# add is idempotent: an address already there stays
	if [ -n "$v4$v6" ]; then
		change_script add | "$NFT" -f - || exit 1
	fi
	echo "outbound SMTP blocked for customer $customer: ${ips:-(no addresses)}" ;;
unsuspend)
	# one address at a time: one that is not there is not an error
	for ip in $ips; do
		set="smtp4"
		valid_ipv4 "$ip" || set="smtp6"
		if "$NFT" get element inet "$TABLE" "$set" "{ $ip }" >/dev/null 2>&1; then
			"$NFT" delete element inet "$TABLE" "$set" "{ $ip }" || exit 1
		fi
	done
	echo "outbound SMTP unblocked for customer $customer: ${ips:-(no addresses)}" ;;
esac
exit 0
