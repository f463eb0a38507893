#!/usr/bin/python3
"""Writes the sample capture that `make demo` analyzes: an hour of a small provider's
outbound SMTP, in the documentation ranges of etc/prefixes.txt and the customers of
etc/customers.csv. Most customers send a little ordinary mail (some over STARTTLS); two
hacked ones spam: 203.0.113.7 (1001 Acme VPS) to many MX with rejections naming Spamhaus and
UCEPROTECT, 203.0.113.100 (1008 Tailspin Games) with rejections naming SpamCop; one
unassigned IP, 203.0.113.200, starts sending too.

Usage: /usr/bin/python3 tests/gen_demo.py OUT.pcap   (deterministic: same bytes every run)
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_captures as gc  # noqa: E402

MX = ["198.18.%d.%d" % (i // 50, 10 + i % 50) for i in range(120)]
MX6 = ["2001:2::%x" % (0x25 + i) for i in range(20)]


def quiet(g, client, sessions, tls=False):
    for i in range(sessions):
        f = gc.Flow(g, client, (MX6 if ":" in client else MX)[(i * 7) % 20])
        gc.full_session(f, rcpts=1 + i % 2, starttls=220 if tls and i % 2 == 0 else None)


def spammer(g, client, sessions, citing):
    for i in range(sessions):
        f = gc.Flow(g, client, MX[(i * 13) % len(MX)])
        codes = []
        for r in range(5 + i % 12):
            if r % 3 == 0:
                codes.append(b"550 5.7.1 Service unavailable; client host blocked using " + citing)
            elif r % 5 == 4:
                codes.append(b"451 4.7.1 Greylisted, please try again later")
            else:
                codes.append(b"250 2.1.5 Ok")
        gc.full_session(f, rcpt_codes=codes, body_size=1800)


def main():
    out = sys.argv[1]
    g = gc.Gen("sample", 1, "rangewatch demo: two spamming customers among quiet ones", 4711)
    quiet(g, "198.51.100.17", 6)            # 1002 Smith, Jones & Partners
    quiet(g, "192.0.2.10", 4)               # 1005 Contoso Web
    quiet(g, "192.0.2.11", 3)
    quiet(g, "203.0.113.18", 10, tls=True)  # 1003 Bluebird Mail Relay
    quiet(g, "2001:db8:10::25", 3)          # 1006 Fabrikam Labs (IPv6)
    quiet(g, "198.51.100.130", 5)           # 1009 Wide World Importers
    spammer(g, "203.0.113.7", 70, b"zen.spamhaus.org; see dnsbl-1.uceprotect.net")
    spammer(g, "203.0.113.100", 35, b"bl.spamcop.net")
    spammer(g, "203.0.113.200", 12, b"zen.spamhaus.org")   # unassigned
    quiet(g, "192.0.2.201", 2)              # 1010 Adventure Works
    d = os.path.dirname(os.path.abspath(out))
    path = g.write(d)
    os.replace(path, out)


if __name__ == "__main__":
    main()
