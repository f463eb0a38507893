#!/bin/sh
# `rangewatch top` driven in tmux, the way an operator sees it: the daemon on the replayed
# story (as daemon_replay.sh starts it), the dashboard in a detached tmux session of 80x24
# on a private tmux socket; capture-pane is read and asserted:
#  - the hot range 203.0.113.0/24 under uceprotect-2 with its full bar and 4/4;
#  - customer 1001 Acme VPS first in the customer table, at act;
#  - Enter opens its detail: 203.0.113.7 and its uceprotect-1 listing;
#  - a stopped daemon shows "daemon unreachable", and a restarted one is found again;
#  - q ends the program and the terminal is restored (the pane's process exits, no
#    alternate screen is left).
command -v tmux >/dev/null 2>&1 || { echo "skip: tmux not installed"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "skip: needs root (the daemon's privilege drop)"; exit 77; }
. "$(dirname "$0")/dnsbl/lib.sh"
. "$(dirname "$0")/daemon/lib.sh"
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
see "Acme VPS" && ok "the dashboard shows Acme VPS" || bad "no Acme VPS on screen"
sleep 1
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
show_screen detail
$TM send-keys -t '=top:' Escape
see "Neighbourhoods" && ok "Esc goes back to the overview" || bad "Esc did not go back"

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
audit=$(sql "SELECT actor IS NOT NULL AND actor != '', action, customer, reason FROM audit ORDER BY id DESC LIMIT 1")
expect "audit log row (has actor, action, customer, reason)" "1|suspend|1001|ticket 4712 top" "$audit"
show_screen "after suspend"

# the daemon goes away and comes back
stop
see "daemon unreachable" && ok "daemon stopped: 'daemon unreachable' shown" || bad "no unreachable notice"
show_screen unreachable
conf "" >"$tmp/etc/rangewatch.conf"
start
see "daemon up" && see "Acme VPS" && ok "daemon restarted: reconnected" || bad "did not reconnect"

# SIGTERM: the terminal is restored too (a second pane of the same size)
$TM new-session -d -s term -x 80 -y 24 \
    "env LC_ALL=C TERM=xterm-256color '$RW' top -c '$tmp/etc/rangewatch.conf'; echo term-exited-\$?; sleep 30"
n=0; while [ $n -lt 50 ] && ! $TM capture-pane -p -t '=term:' | grep -qF "Acme VPS"; do sleep 0.2; n=$((n + 1)); done
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
