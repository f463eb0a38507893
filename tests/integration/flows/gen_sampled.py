#!/usr/bin/python3
"""gen_sampled.py OUT.pcap SESSIONS_PER_IP [SEED] — a capture for the sampled-export tests.

Clients 203.0.113.10, .11 and .12 (and 2001:db8::10) each open SESSIONS_PER_IP sessions to
port 25 of a few MX hosts, client weights 1 : 0.5 : 0.25 : 0.25; each session is a SYN, a
SYN-ACK from the server, then 1-5 more client packets (ACK, data, FIN) — so a periodic
1-in-N sampler (softflowd -s) meets SYNs at random, the sessions' packets are interleaved in
a random order across all open sessions. Packed with struct (scapy is too slow for a
million frames). Prints the truth as JSON: per client, sessions (SYNs to :25) and packets
to :25; the independent check of the estimates at 1:100 and 1:1000.
"""
import json
import random
import socket
import struct
import sys


def csum(b):
    if len(b) & 1:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def frame(src, dst, sport, dport, flags, seq, ack, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0) + payload
    if ":" in src:
        ip = struct.pack("!IHBB16s16s", 6 << 28, len(tcp), 6, 64,
                         socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst))
        et = 0x86dd
    else:
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0,
                        socket.inet_aton(src), socket.inet_aton(dst))
        ip = h[:10] + struct.pack("!H", csum(h)) + h[12:]
        et = 0x0800
    eth = b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02" + struct.pack("!H", et)
    f = eth + ip + tcp
    if len(f) < 60:
        f += b"\0" * (60 - len(f))
    return f


def main():
    out, per = sys.argv[1], int(sys.argv[2])
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 7)
    clients = [("203.0.113.10", 1.0), ("203.0.113.11", 0.5), ("203.0.113.12", 0.25),
               ("2001:db8::10", 0.25)]
    mx4 = ["198.18.0.25", "198.18.1.25", "198.19.7.10"]
    mx6 = ["2001:2::25", "3fff::25"]
    truth = {c: {"sessions": 0, "packets": 0} for c, _ in clients}
    pending = []	# per session: its list of frames, in order
    for c, w in clients:
        for i in range(int(per * w)):
            mx = rng.choice(mx6 if ":" in c else mx4)
            sp = 1024 + (i * 7 + len(pending)) % 60000
            seq = rng.getrandbits(32)
            fr = [frame(c, mx, sp, 25, 0x02, seq, 0), frame(mx, c, 25, sp, 0x12, 1, seq + 1)]
            n = rng.randint(1, 5)
            for k in range(n):
                fl = 0x11 if k == n - 1 else 0x18 if k else 0x10
                fr.append(frame(c, mx, sp, 25, fl, seq + 1 + 10 * k, 2, b"x" * (10 if k else 0)))
            truth[c]["sessions"] += 1
            truth[c]["packets"] += 1 + n
            pending.append(fr)
    rng.shuffle(pending)
    # interleave: up to 500 sessions open at once, the next frame of a random one each time
    open_, idx = [], 0
    ts = 1700000000.0
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        while open_ or idx < len(pending):
            while len(open_) < 500 and idx < len(pending):
                open_.append([pending[idx], 0])
                idx += 1
            j = rng.randrange(len(open_))
            s = open_[j]
            fr = s[0][s[1]]
            s[1] += 1
            if s[1] == len(s[0]):
                open_[j] = open_[-1]
                open_.pop()
            ts += 0.00002
            sec = int(ts)
            f.write(struct.pack("<IIII", sec, int((ts - sec) * 1e6), len(fr), len(fr)) + fr)
    print(json.dumps(truth, sort_keys=True))


if __name__ == "__main__":
    main()
