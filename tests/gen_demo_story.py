#!/usr/bin/python3
"""Writes the capture `make demo` replays: three days of a small provider's outbound SMTP
(the customers of tests/demo/customers.csv, AS64500: 203.0.113.0/24 with Bluebird Hosting's
/28 203.0.113.16/28 registered on its own, and 198.51.100.0/24).

Usage: /usr/bin/python3 tests/gen_demo_story.py OUT.pcap [END_EPOCH] [--live SECONDS LIVE.pcap]

The story (hours from the start; 72 in all):
  0-72   about twenty innocent customers send normal mail (office hours busier, two mail
         relays all day); most customers send no mail at all (web servers)
  50-72  customer 1001 Acme VPS (203.0.113.7, .8, .9, hacked) spams from all three IPs:
         ~50 sessions/h each, 6 recipients per session, to 150 distinct MX, 1 recipient
         in 3 rejected citing UCEPROTECT or SpamCop
  56-72  customer 1025 Tailspin Games (203.0.113.21, in the /28) spams the same way,
         rejections citing Spamhaus
Before that, 1001 and 1025 send a little normal mail like everyone else. The capture ends
at END_EPOCH (default 1700600000: then runs are byte-identical). Prints a JSON summary:
frames, start, end, spam_a_from, spam_b_from and per IP the sessions.

With --live SECONDS LIVE.pcap the story is cut in two for `make demo` as root, which
replays the first part into the daemon as a warm start and then sends the second onto an
interface it captures live: OUT.pcap gets hours 0-50 (it ends at END_EPOCH - 22 h), and
LIVE.pcap the spam of hours 50-72 squeezed into SECONDS (a hacked VPS blasting), with the
innocent customers' mail of those first SECONDS at its real pace. The summary gains
"live": {"frames", "seconds", "spam_b_at" (seconds into it)}; "ips" counts what was made,
also the innocent sessions the squeeze left out.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_captures as gc  # noqa: E402

MX = ["198.18.%d.%d" % (i // 50, 10 + i % 50) for i in range(150)]
HOUR = 3600
HOURS = 72
SPAM_A = 50
SPAM_B = 56
SPAMMER_A = ["203.0.113.7", "203.0.113.8", "203.0.113.9"]
SPAMMER_B = "203.0.113.21"
# innocent senders: IP -> (sessions/h in office hours lo, hi; at night lo, hi)
INNOCENT = {
    "203.0.113.10": (1, 4, 0, 1), "203.0.113.11": (1, 3, 0, 1), "203.0.113.12": (0, 3, 0, 1),
    "203.0.113.40": (1, 3, 0, 2), "203.0.113.90": (5, 12, 3, 8), "203.0.113.100": (0, 3, 0, 1),
    "203.0.113.129": (1, 4, 0, 1), "203.0.113.17": (1, 3, 0, 1), "203.0.113.18": (0, 3, 0, 1),
    "203.0.113.20": (1, 4, 0, 2), "203.0.113.22": (0, 2, 0, 1), "198.51.100.5": (1, 3, 0, 1),
    "198.51.100.10": (1, 4, 0, 1), "198.51.100.17": (2, 6, 1, 3), "198.51.100.20": (4, 10, 2, 6),
    "198.51.100.33": (0, 3, 0, 1), "198.51.100.44": (1, 4, 0, 1), "198.51.100.60": (1, 3, 0, 2),
    "198.51.100.70": (2, 6, 1, 4), "198.51.100.130": (1, 3, 0, 1), "198.51.100.200": (0, 3, 0, 1),
}
CITES = {
    "203.0.113.7": b"550 5.7.1 Service unavailable; client listed by dnsbl-1.uceprotect.net",
    "203.0.113.8": b"554 5.7.1 Rejected: listed at bl.spamcop.net",
    "203.0.113.9": b"550 5.7.1 Service unavailable; client listed by dnsbl-1.uceprotect.net",
    SPAMMER_B: b"554 5.7.1 Service unavailable; Client host blocked using zen.spamhaus.org",
}


def main():
    args = sys.argv[1:]
    live = None
    if "--live" in args:
        i = args.index("--live")
        live = (int(args[i + 1]), args[i + 2])
        del args[i:i + 3]
    out = args[0]
    end = int(args[1]) if len(args) > 1 else 1700600000
    start = end - HOURS * HOUR
    g = gc.Gen("demo-story", 1, "rangewatch demo: a provider's three days, two spammers", 2025)
    sessions = []          # (start time, frame range)
    rng = gc.RNG

    def session(t, ip, mx, **kw):
        first = len(g.frames)
        f = gc.Flow(g, ip, mx)
        gc.full_session(f, **kw)
        sessions.append((t, first, len(g.frames)))

    def quiet(t0, ip, lo, hi):
        for _ in range(rng.randrange(lo, hi + 1)):
            session(t0 + rng.randrange(HOUR - 60), ip, MX[rng.randrange(10)],
                    rcpts=1 + rng.randrange(2))

    def spam(t0, ip):
        for i in range(50):
            codes = [CITES[ip] if r % 3 == 0 else b"250 2.1.5 Ok" for r in range(6)]
            session(t0 + i * 71 + rng.randrange(30), ip, MX[rng.randrange(len(MX))],
                    rcpt_codes=codes, body_size=1200)

    for h in range(HOURS):
        t0 = start + h * HOUR
        office = 8 <= h % 24 < 18
        for ip, (olo, ohi, nlo, nhi) in INNOCENT.items():
            quiet(t0, ip, olo, ohi) if office else quiet(t0, ip, nlo, nhi)
        for ip in SPAMMER_A:
            spam(t0, ip) if h >= SPAM_A else quiet(t0, ip, 0, 2)
        spam(t0, SPAMMER_B) if h >= SPAM_B else quiet(t0, SPAMMER_B, 0, 2)

    summary = {"start": start, "end": end, "spam_a_from": start + SPAM_A * HOUR,
               "spam_b_from": start + SPAM_B * HOUR}
    if live is None:
        summary["frames"] = gc.write_timed(g, sessions, out)
    else:
        secs, live_out = live
        cut = start + SPAM_A * HOUR
        span = (HOURS - SPAM_A) * HOUR
        spammers = set(SPAMMER_A) | {SPAMMER_B}
        before, after = [], []
        for t, a, b in sessions:
            if t < cut:
                before.append((t, a, b))
            elif session_ip(g, a) in spammers:
                after.append((cut + (t - cut) * secs // span, a, b))
            elif t - cut < secs:
                after.append((t, a, b))
        summary["frames"] = gc.write_timed(g, before, out)
        summary["end"] = cut
        summary["live"] = {"frames": gc.write_timed(g, after, live_out), "seconds": secs,
                           "spam_b_at": (SPAM_B - SPAM_A) * HOUR * secs // span}
    summary["ips"] = {ip: {"sessions": c["sessions"], "rcpt_to": c["rcpt_to"],
                           "replies_5xx": c["replies_5xx"]} for ip, c in sorted(g.ips.items())}
    print(json.dumps(summary))


def session_ip(g, first):
    """The client address of the session whose first frame (its SYN) is g.frames[first]."""
    data = g.frames[first].data
    off = 14
    if data[12:14] == b"\x81\x00":
        off = 18
    return ".".join(str(x) for x in data[off + 12:off + 16])


if __name__ == "__main__":
    main()
