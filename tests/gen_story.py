#!/usr/bin/python3
"""Writes a capture that tells a story over days, for the daemon's replay mode (the model's
clock follows the packets): a quiet baseline for every customer, then a hacked customer
starts spamming; its innocent neighbour in the same /24 goes on sending normal mail.

Usage: /usr/bin/python3 tests/gen_story.py OUT.pcap [END_EPOCH]

The world (tests and the demo write matching prefixes/customers files):
  203.0.113.0/24 and 198.51.100.0/24, AS64500
  1001 Acme VPS            203.0.113.7    quiet 6 days, then 3 hours of spam (~150 sessions/h,
                                          8 recipients each, 120 distinct MX, 1 in 3
                                          recipients rejected citing UCEPROTECT)
  1002 Innocent Bakery     203.0.113.20   quiet throughout (1-4 sessions/h in office hours)
  1003 Quiet Relay         198.51.100.17  quiet throughout (2-6 sessions/h)
The capture ends at END_EPOCH (default 1700600000, so runs are byte-identical). Prints a
JSON summary of the truth (sessions per IP, and the spam's first and last second).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_captures as gc  # noqa: E402

MX = ["198.18.%d.%d" % (i // 50, 10 + i % 50) for i in range(120)]
HOUR = 3600
DAYS = 6


def main():
    out = sys.argv[1]
    end = int(sys.argv[2]) if len(sys.argv) > 2 else 1700600000
    start = end - (DAYS * 24 + 3) * HOUR
    g = gc.Gen("story", 1, "rangewatch story: a baseline, then one customer spams", 2024)
    sessions = []          # (start time, ip, frame range)
    rng = gc.RNG

    def session(t, ip, mx, **kw):
        first = len(g.frames)
        f = gc.Flow(g, ip, mx)
        gc.full_session(f, **kw)
        sessions.append((t, first, len(g.frames)))

    for h in range(DAYS * 24 + 3):
        t0 = start + h * HOUR
        hod = (h % 24)
        office = 8 <= hod < 18
        for _ in range(rng.randrange(1, 5) if office else rng.randrange(0, 2)):
            session(t0 + rng.randrange(HOUR - 60), "203.0.113.20", MX[rng.randrange(10)], rcpts=1)
        for _ in range(rng.randrange(2, 7)):
            session(t0 + rng.randrange(HOUR - 60), "198.51.100.17", MX[rng.randrange(20)],
                    rcpts=1 + rng.randrange(2))
        if h < DAYS * 24:
            for _ in range(rng.randrange(0, 3)):
                session(t0 + rng.randrange(HOUR - 60), "203.0.113.7", MX[rng.randrange(5)], rcpts=1)
        else:
            for i in range(150):
                codes = [b"550 5.7.1 Service unavailable; client listed by "
                         b"dnsbl-1.uceprotect.net" if r % 3 == 0 else b"250 2.1.5 Ok"
                         for r in range(8)]
                session(t0 + i * 23, "203.0.113.7", MX[rng.randrange(len(MX))],
                        rcpt_codes=codes, body_size=1500)

    nframes = gc.write_timed(g, sessions, out)
    truth = {ip: {"sessions": c["sessions"], "rcpt_to": c["rcpt_to"],
                  "replies_5xx": c["replies_5xx"]} for ip, c in sorted(g.ips.items())}
    print(json.dumps({"frames": nframes, "start": start, "end": end,
                      "spam_from": start + DAYS * 24 * HOUR, "ips": truth}))


if __name__ == "__main__":
    main()
