#!/bin/sh
# provisioning-api.sh — a rangewatch suspend hook that asks your provisioning system to
# suspend or unsuspend the customer, over HTTPS with curl:
#     suspend     POST API_URL/customers/ID/suspend     with the JSON body below
#     unsuspend   POST API_URL/customers/ID/unsuspend   with the JSON body below
#     test        GET  API_URL/customers/ID             (changes nothing: checks the URL,
#                                                        the credentials and the id)
# The body: {"source": "rangewatch", "action", "customer_id", "customer_name", "ips" (list),
# "level", "reason", "event_id", "operator" (null when automatic), "dry_run" (bool),
# "evidence" (the document rangewatch gave on stdin)}. It is built by python3's json module
# from the environment, never by pasting text into shell code or into JSON by hand.
#
# Called by rangewatchd (never through a shell) as
#     provisioning-api.sh suspend|unsuspend|test CUSTOMER_ID
# with RANGEWATCH_* variables in its environment and the evidence (JSON) on stdin.
#
# Dry run (RANGEWATCH_DRY_RUN=1, the default of [hook] dry_run): prints the request it would
# send and sends nothing.
#
# Install (as root):
#     install -o root -g root -m 0755 provisioning-api.sh /usr/local/libexec/rangewatch/
#     # the credentials as one header line, readable by the hook's user only:
#     printf 'Authorization: Bearer %s\n' "$TOKEN" > /etc/rangewatch/provisioning.header
#     chown root:nogroup /etc/rangewatch/provisioning.header
#     chmod 0640 /etc/rangewatch/provisioning.header
#   Edit API_URL below. rangewatch.conf:
#     [hook]  path = /usr/local/libexec/rangewatch/provisioning-api.sh
#             user = nobody        ; a user of its own is better: it can read the header
#             timeout = 60         ; more than MAX_TIME
#
# Exit codes: 0 done (HTTP 2xx); 75 try again later (HTTP 5xx, 408, 429, a timeout, no
# connection, DNS failure); 1 refused (another HTTP 4xx: the body says why); 2 called
# wrongly or not configured.
#
# Settings: edit them here. (RW_API_URL, RW_API_HEADER and RW_API_MAX_TIME override them when
# you run the hook by hand: the daemon passes no variable but RANGEWATCH_* and PATH/LANG.)

API_URL=${RW_API_URL:-https://provisioning.example.net/api/v1}
HEADER_FILE=${RW_API_HEADER:-/etc/rangewatch/provisioning.header}
MAX_TIME=${RW_API_MAX_TIME:-20}

set -u
umask 077

action=${1-}
customer=${2-}
case $action in
suspend|unsuspend|test) ;;
*) echo "usage: $0 suspend|unsuspend|test CUSTOMER_ID" >&2; exit 2 ;;
esac
# rangewatch only passes ids of these characters; check again, the id goes into a URL
case $customer in
'' | -* | *[!A-Za-z0-9._:@+-]*) echo "bad customer id" >&2; exit 2 ;;
esac

body=$(mktemp) || exit 75
resp=$(mktemp) || { rm -f "$body"; exit 75; }
trap 'rm -f "$body" "$resp"' EXIT

# The body and the URL-encoded id, from the environment and stdin, by python3's json.
enc=$(/usr/bin/python3 -c '
import json, os, sys, urllib.parse
e = os.environ
try:
    evidence = json.load(sys.stdin)
except ValueError:
    evidence = None
body = {
    "source": "rangewatch",
    "action": sys.argv[1],
    "customer_id": sys.argv[2],
    "customer_name": e.get("RANGEWATCH_CUSTOMER_NAME", ""),
    "ips": e.get("RANGEWATCH_IPS", "").split(),
    "ips_truncated": e.get("RANGEWATCH_IPS_TRUNCATED") == "1",
    "cidrs": e.get("RANGEWATCH_CIDRS", "").split(),
    "level": e.get("RANGEWATCH_LEVEL", ""),
    "reason": e.get("RANGEWATCH_REASON", ""),
    "event_id": e.get("RANGEWATCH_EVENT_ID", ""),
    "operator": e.get("RANGEWATCH_OPERATOR"),
    "dry_run": e.get("RANGEWATCH_DRY_RUN", "0") == "1",
    "evidence": evidence,
}
with open(sys.argv[3], "w") as f:
    json.dump(body, f)
print(urllib.parse.quote(sys.argv[2], safe=""))
' "$action" "$customer" "$body") || { echo "cannot build the request body" >&2; exit 2; }

if [ "$action" = test ]; then
	method=GET
	url="$API_URL/customers/$enc"
else
	method=POST
	url="$API_URL/customers/$enc/$action"
fi

if [ "${RANGEWATCH_DRY_RUN-0}" = 1 ]; then
	printf 'dry run, not sent: %s %s\n' "$method" "$url"
	[ "$method" = POST ] && { cat "$body"; echo; }
	exit 0
fi
if [ ! -r "$HEADER_FILE" ]; then
	echo "cannot read $HEADER_FILE (the Authorization header)" >&2
	exit 2
fi

if [ "$method" = POST ]; then
	code=$(curl --silent --show-error --fail --max-time "$MAX_TIME" --connect-timeout 10 \
	    --header "@$HEADER_FILE" --header 'Content-Type: application/json' \
	    --data-binary "@$body" --output "$resp" --write-out '%{http_code}' "$url")
else
	code=$(curl --silent --show-error --fail --max-time "$MAX_TIME" --connect-timeout 10 \
	    --header "@$HEADER_FILE" --output "$resp" --write-out '%{http_code}' "$url")
fi
rc=$?
# what the API said, for rangewatch's audit log (rangewatch escapes and cuts it)
printf '%s %s: curl exit %s, HTTP %s: ' "$method" "$url" "$rc" "${code:-none}"
head -c 2000 "$resp"
echo

case $rc in
0) exit 0 ;;
22)	# --fail: HTTP 400 or more
	case $code in
	5?? | 408 | 429) exit 75 ;;
	*) exit 1 ;;
	esac ;;
5 | 6 | 7 | 28 | 35 | 52 | 55 | 56) exit 75 ;;	# proxy/DNS/connect, timeout, TLS, reset
*) exit 1 ;;
esac
