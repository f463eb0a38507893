#!/bin/sh
# `rangewatch top` driven in tmux, the way an operator sees it: the daemon on the replayed
# story (as daemon_replay.sh starts it), the dashboard in a detached tmux session of 80x24
# on a private tmux socket; capture-pane is read and asserted:
#  - the hot range 203.0.113.0/24 under uceprotect-2 with its full bar and 4/4;
#  - customer 1001 Acme VPS first in the customer table, at act;
#  - Enter opens its detail: 203.0.113.7 and its uceprotect-1 listing, the evidence;
#  - Tab: the listings per list with expiry forecasts, then the alerts view;
#  - hostile text from outside (a TXT and a customer name carrying ESC sequences that would
#    retitle and clear the terminal) is shown escaped: the pane's title stays ours;
#  - filters (text, CIDR, id:, list:) and sorting by a column;
#  - suspend, resume and ack through the prompt and the confirmation: the hook ran with
#    the operator, the audit log names the operator;
#  - resize to 120x40 uses the width (more columns), back to 80x24;
#  - colour for the act level, none with NO_COLOR; UTF-8 bars in a UTF-8 locale;
#  - a stopped daemon shows "daemon unreachable", and a restarted one is found again;
#  - q and SIGTERM end the program and the terminal is restored (the pane's process exits,
#    no alternate screen is left).
command -v tmux >/dev/null 2>&1 || { echo "skip: tmux not installed"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "skip: needs root (the daemon's privilege drop)"; exit 77; }
. "$(dirname "$0")/dnsbl/lib.sh"
. "$(dirname "$0")/daemon/lib.sh"

# hostile text: a TXT (rbldnsd re-reads the zone within a second) and a customer's name
# that would set the terminal's title and clear the screen if they reached it raw
esc=$(printf '\033')
bel=$(printf '\007')
printf '203.0.113.50 :127.0.0.2:Listed %s]0;PWNED-TXT%s %s[31mRED%s[2J\n' "$esc" "$bel" "$esc" "$esc" \
    >>"$tmp/zones/l1.zone"
printf '1004,"Evil %s]0;PWNED-NAME%s Co %s[2J",203.0.113.99,evil@example.com,\n' "$esc" "$bel" "$esc" \
    >>"$tmp/etc/customers.csv"

# a manual hook (no auto_suspend): what top's s and r start, with the operator's name
mkdir -p "$tmp/hookbin" "$tmp/hook"
chown "$HOOK_USER" "$tmp/hook"
printf '#!/bin/sh\necho "$1 $2 op=${RANGEWATCH_OPERATOR:-} dry=$RANGEWATCH_DRY_RUN" >>"%s/hook/calls.log"\n' \
    "$tmp" >"$tmp/hookbin/hook.sh"
chmod 755 "$tmp/hookbin" "$tmp/hookbin/hook.sh"
EXTRA_CONF="[hook]
path = $tmp/hookbin/hook.sh
user = $HOOK_USER
auto_suspend = no
dry_run = yes"
conf "replay = $tmp/story.pcap
replay_speed = 0" >"$tmp/etc/rangewatch.conf"

TM="tmux -S $tmp/tmux.sock"
# the tmux server is ours: end it before lib.sh's cleanup removes $tmp
trap '$TM kill-server 2>/dev/null; cleanup' EXIT

start
poll 120 replay_done && ok "replay of $frames frames done" || bad "replay not done"
poll 60 is_act && ok "1001 reaches act" || bad "1001 is $(level_of 1001)"

screen() { $TM capture-pane -p -t '=top:'; }
# see TEXT -> waits up to 10 s for TEXT on the screen
see() {
	n=0
	while [ $n -lt 50 ]; do
		screen | grep -qF -- "$1" && return 0
		sleep 0.2; n=$((n + 1))
	done
	return 1
}
show_screen() { echo "--- screen ($1)"; screen | sed 's/^/     |/'; }

# ASCII bars (LC_ALL=C) so the assertions do not depend on the host's locale
$TM new-session -d -s top -x 80 -y 24 \
    "env LC_ALL=C TERM=xterm-256color '$RW' top -c '$tmp/etc/rangewatch.conf'; echo top-exited-\$?; sleep 30"
$TM set-option -g allow-rename on >/dev/null 2>&1
$TM select-pane -t '=top:' -T ours
title() { $TM display -p -t '=top:' '#{pane_title}'; }
see "Acme VPS" && ok "the dashboard shows Acme VPS" || bad "no Acme VPS on screen"
sleep 1
# Acme VPS acts before the /24 is at its threshold; the sweep then finds its listed IPs
# (two /24s at the list's 20 queries a second: ~26 s, after the replay's senders' re-checks)
for i in 1 2 3 4 5 6; do see "[####] 4/4" && break; done
show_screen overview
line=$(screen | grep -F "203.0.113.0/24" | grep -F "uceprotect-2" | head -n 1)
case $line in *"[####] 4/4"*) ok "hot range bar: $line";; *) bad "hot range line: '$line'";; esac
first=$(screen | sed -n '/^ID /,$p' | sed -n 2p)
case $first in "1001"*"Acme VPS"*act*) ok "first customer row: $first";;
    *) bad "first customer row: '$first'";; esac
size=$($TM display -p -t '=top:' '#{pane_width}x#{pane_height}')
expect "pane size" 80x24 "$size"

$TM send-keys -t '=top:' Enter
see "203.0.113.7" && ok "detail shows 203.0.113.7" || bad "detail lacks 203.0.113.7"
see "uceprotect-1" && ok "detail shows uceprotect-1" || bad "detail lacks uceprotect-1"
see "203.0.113.0/24" && ok "detail's evidence names the range" || bad "detail lacks the range"
show_screen detail
$TM send-keys -t '=top:' Escape
see "Neighbourhoods" && ok "Esc goes back to the overview" || bad "Esc did not go back"
# colour: the act level is drawn in red (SGR 31 or its 256-colour form)
$TM capture-pane -e -p -t '=top:' | grep -F "Acme VPS" | grep -Eq "$esc\\[([0-9;]*;)?(31|38;5;1|91)(;[0-9;]*)?m" &&
    ok "act in red" || bad "act not coloured: $($TM capture-pane -e -p -t '=top:' | grep -F 'Acme VPS' | od -c | head -n 5)"

# Tab: the listings, per list, with expiry forecasts; the hostile TXT escaped
$TM send-keys -t '=top:' Tab
see "Listings of our addresses" && ok "Tab: the listings view" || bad "no listings view"
see "EXPIRES" >/dev/null
line=$(screen | grep -F "203.0.113.7 " | head -n 1)
case $line in *ip*1001*" in 6d"*) ok "listing row: $line";; *) bad "listing row of 203.0.113.7: '$line'";; esac
see ' \x1b]0;PWNED-TXT\x07' && ok "hostile TXT shown escaped (wrapped): $(screen | grep -F PWNED-TXT)" ||
    bad "hostile TXT not shown escaped"
expect "pane title after the hostile TXT" ours "$(title)"
screen | grep -q "PWNED-TXT.x07 .x1b.31mRED" || bad "the hostile TXT's row was cut or cleared"
show_screen listings
$TM send-keys -t '=top:' Tab
see "Level changes" && ok "Tab: the alerts view" || bad "no alerts view"
see "Audit log" >/dev/null
$TM send-keys -t '=top:' Tab
see "Neighbourhoods" && ok "Tab: back to the overview" || bad "Tab did not cycle back"

# filters: a CIDR, then sorted by name and reversed; a hostile name; id:; list:
filter() {	# filter TEXT: types it into the / prompt
	$TM send-keys -t '=top:' /
	see "filter (text" >/dev/null || bad "no filter prompt"
	n=0; while [ $n -lt 40 ]; do $TM send-keys -t '=top:' BSpace; n=$((n + 1)); done
	[ -n "$1" ] && $TM send-keys -t '=top:' -l "$1"
	$TM send-keys -t '=top:' Enter
}
rows() { screen | sed -n '/^ID /,$p' | sed '1d' | grep -E '^[0-9]' | cut -c1-27 | tr -s ' '; }
wait_rows() {	# wait_rows EXPECTED: the table's first columns, a comma after each row
	n=0
	while [ $n -lt 50 ]; do
		[ "$(rows | tr '\n' ',')" = "$1" ] && return 0
		sleep 0.2; n=$((n + 1))
	done
	return 1
}
filter 203.0.113.0/24
wait_rows "1001 Acme VPS ,1002 Innocent Bakery ,1004 Evil \x1b]0;PWNED-," &&
    ok "filter by CIDR: 1001, 1002, 1004 (every level)" || bad "CIDR filter rows: $(rows | tr '\n' ',')"
$TM send-keys -t '=top:' o o
see "sort:name" && wait_rows "1001 Acme VPS ,1004 Evil \x1b]0;PWNED-,1002 Innocent Bakery ," &&
    ok "o o: sorted by name" || bad "sort by name: $(rows | tr '\n' ',')"
$TM send-keys -t '=top:' O
wait_rows "1002 Innocent Bakery ,1004 Evil \x1b]0;PWNED-,1001 Acme VPS ," &&
    ok "O: reversed" || bad "reversed: $(rows | tr '\n' ',')"
$TM send-keys -t '=top:' O o o o o o o o
see "customers sorted by risk" >/dev/null || bad "sort did not cycle back to risk"
expect "pane title after the hostile name" ours "$(title)"
filter Evil
wait_rows "1004 Evil \x1b]0;PWNED-," && ok "text filter: the hostile name, escaped" ||
    bad "text filter: $(rows | tr '\n' ',')"
show_screen "hostile name"
filter id:1003
wait_rows "1003 Quiet Relay ," && ok "filter id:1003" || bad "id filter: $(rows | tr '\n' ',')"
filter list:uceprotect-1
wait_rows "1001 Acme VPS ," && ok "filter list:uceprotect-1" || bad "list filter: $(rows | tr '\n' ',')"
filter ""
wait_rows "1001 Acme VPS ," && ok "empty filter: the flagged customers again" ||
    bad "after the filter: $(rows | tr '\n' ',')"

# suspend from the overview: a reason in the prompt line, a confirmation, the audit log
$TM send-keys -t '=top:' s
see "reason to suspend 1001" && ok "s asks for a reason" || bad "no reason prompt"
$TM send-keys -t '=top:' -l "ticket 4712 top"
$TM send-keys -t '=top:' Enter
see "suspend 1001 (" && ok "Enter asks for a confirmation" || bad "no confirmation"
$TM send-keys -t '=top:' y
see "audit #" && ok "suspend went through: $(screen | grep -F 'audit #')" ||
    { see "rangewatchd:" && ok "suspend answered: $(screen | grep -F 'rangewatchd:')" ||
      bad "no answer to the suspend"; }
audit=$(sql "SELECT actor, action, customer, reason FROM audit WHERE action = 'suspend' ORDER BY id DESC LIMIT 1")
expect "audit log row (actor, action, customer, reason)" "uid 0 (root)|suspend|1001|ticket 4712 top" "$audit"
poll 20 grep -q "suspend 1001" "$tmp/hook/calls.log"
expect "the hook ran for the suspend, with the operator" "suspend 1001 op=root dry=1" \
    "$(grep "suspend 1001" "$tmp/hook/calls.log" 2>/dev/null)"
show_screen "after suspend"
act() {	# act KEY VERB REASON: through the prompt and the confirmation
	$TM send-keys -t '=top:' "$1"
	see "reason to $2 1001" || bad "no $2 prompt"
	$TM send-keys -t '=top:' -l "$3"
	$TM send-keys -t '=top:' Enter
	see "$2 1001 (" || bad "no $2 confirmation"
	$TM send-keys -t '=top:' y
	see "$2 1001:" >/dev/null
}
act r resume "ticket 4712 cleaned"
poll 20 grep -q "unsuspend 1001" "$tmp/hook/calls.log"
expect "the hook ran for the resume" "unsuspend 1001 op=root dry=1" "$(grep "unsuspend 1001" "$tmp/hook/calls.log" 2>/dev/null)"
act a ack "known, customer informed"
audit=$(sql "SELECT actor || ' ' || action || ' ' || reason FROM audit WHERE action IN ('resume', 'ack') ORDER BY id")
expect "audit rows of resume and ack" "uid 0 (root) resume ticket 4712 cleaned
uid 0 (root) ack known, customer informed" "$audit"
$TM send-keys -t '=top:' Enter
see "acknowledged by uid 0 (root): known, customer informed" && ok "detail: acknowledged by the operator" ||
    bad "detail lacks the ack"
$TM send-keys -t '=top:' Escape
expect "hook runs (one suspend, one resume)" 2 "$(wc -l <"$tmp/hook/calls.log")"

# resize: a wider terminal gets more columns, the 80x24 one comes back as it was
$TM resize-window -t '=top:' -x 120 -y 40
see "WORST RANGE" && ok "120x40: the wide table" || bad "no wide table at 120x40"
line=$(screen | grep -F "Acme VPS" | head -n 1)
case $line in *"203.0.113.0/24 4/4"*) ok "wide row: $line";; *) bad "wide row: '$line'";; esac
show_screen 120x40
$TM resize-window -t '=top:' -x 80 -y 24
n=0; while [ $n -lt 50 ] && screen | grep -qF "WORST RANGE"; do sleep 0.2; n=$((n + 1)); done
screen | grep -qF "WORST RANGE" && bad "still wide after 80x24" || ok "back to 80x24"
expect "pane size" 80x24 "$($TM display -p -t '=top:' '#{pane_width}x#{pane_height}')"

# the daemon goes away and comes back
stop
see "daemon unreachable" && ok "daemon stopped: 'daemon unreachable' shown" || bad "no unreachable notice"
show_screen unreachable
conf "" >"$tmp/etc/rangewatch.conf"
start
see "daemon up" && see "Acme VPS" && ok "daemon restarted: reconnected" || bad "did not reconnect"

# SIGTERM: the terminal is restored too (a second pane of the same size)
# (a UTF-8 locale and NO_COLOR: block bars, no colour)
$TM new-session -d -s term -x 80 -y 24 \
    "env LC_ALL=C.UTF-8 NO_COLOR=1 TERM=xterm-256color '$RW' top -c '$tmp/etc/rangewatch.conf'; echo term-exited-\$?; sleep 30"
n=0; while [ $n -lt 50 ] && ! $TM capture-pane -p -t '=term:' | grep -qF "Acme VPS"; do sleep 0.2; n=$((n + 1)); done
line=$($TM capture-pane -p -t '=term:' | grep -F "203.0.113.0/24" | grep -F uceprotect-2 | head -n 1)
case $line in *"[████] 4/4"*) ok "UTF-8 bar: $line";; *) bad "UTF-8 bar: '$line'";; esac
$TM capture-pane -e -p -t '=term:' | grep -Eq "$esc\\[([0-9;]*;)?(3[0-7]|38;5;[0-9]+|9[0-7])(;[0-9;]*)?m" &&
    bad "NO_COLOR: colour codes on the screen" || ok "NO_COLOR: no colour"
# the pane's shell runs `env ... rangewatch top` (env execs): its child is ours
tpid=$(pgrep -P "$($TM display -p -t '=term:' '#{pane_pid}')" | head -n 1)
expect "the pane's child is rangewatch" rangewatch "$(cat /proc/"$tpid"/comm 2>/dev/null)"
if [ -n "$tpid" ] && kill -TERM "$tpid"; then
	n=0; while [ $n -lt 50 ] && ! $TM capture-pane -p -t '=term:' | grep -qF "term-exited-0"; do sleep 0.2; n=$((n + 1)); done
	$TM capture-pane -p -t '=term:' | grep -qF "term-exited-0" && ok "SIGTERM: rangewatch top exited 0" ||
	    bad "SIGTERM: $($TM capture-pane -p -t '=term:' | grep -v '^$')"
	expect "alternate screen after SIGTERM" 0 "$($TM display -p -t '=term:' '#{alternate_on}')"
else
	bad "no rangewatch top process to signal"
fi

$TM send-keys -t '=top:' q
see "top-exited-0" && ok "q: rangewatch top exited 0" || bad "q: no exit"
show_screen "after q"
# the alternate screen is left (endwin ran): the shell's echo is on the normal screen
expect "alternate screen after q" 0 "$($TM display -p -t '=top:' '#{alternate_on}')"
stop
exit $fail
