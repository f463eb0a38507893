#!/bin/sh
# make demo: runs rangewatch on the embedded default. Until the daemon joins capture, DNSBL
# state and the risk engine behind its dashboard, the demo is the offline analysis of the
# bundled sample capture
# (tests/data/sample.pcap, written by tests/gen_demo.py) with the example configuration in
# etc/: a small provider, AS64500, where two hacked customers and one unassigned IP spam.
set -eu
cd "$(dirname "$0")/.."
echo "rangewatch demo: the risk engine is not wired into the daemon and 'rangewatch top' is not"
echo "built yet, so this runs the offline analysis on the bundled sample capture, with the"
echo "example config in etc/:"
echo
echo "  \$ bin/rangewatch analyze -c etc/rangewatch.conf tests/data/sample.pcap"
echo
bin/rangewatch analyze -c etc/rangewatch.conf tests/data/sample.pcap
echo
echo "Read it as a NOC would: 203.0.113.7 (customer 1001) and 203.0.113.100 (customer 1008)"
echo "send to dozens of MX with remote rejections naming Spamhaus, UCEPROTECT and SpamCop;"
echo "203.0.113.200 is unassigned and sends anyway. All three sit in 203.0.113.0/24, the range"
echo "a UCEPROTECT Level 2 listing would take down with every innocent neighbour in it."
echo "The same report as JSON: bin/rangewatch analyze -c etc/rangewatch.conf --json tests/data/sample.pcap"
