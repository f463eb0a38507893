#!/usr/bin/python3
"""Writes the inputs of bench/bench_daemon.sh (the daemon at 1M tracked IPs) into OUTDIR.

Usage: /usr/bin/python3 bench/gen_daemon.py OUTDIR [--ips N] [--per-customer K]
                                             [--load-sessions S] [--seed SEED]

  prefixes.txt   the provider's space: 100.64.0.0/10 as four /12s announced by AS64500..64503,
                 and its /15s as allocation blocks (36 lines: the capture filter names them all)
  customers.csv  N / K customers (100,000 by default), each holding K (10) single addresses
                 drawn without repeat from the /10 with a seeded PRNG: N (1,000,000) /32
                 prefixes, scattered over the space as a VPS provider's are
  ingest.pcap    each of the N addresses opens one SMTP connection to one of 4096 MX hosts in
                 198.18.0.0/15: SYN, SYN-ACK, ACK (one session counted), then RST (the flow is
                 closed, so the flow table does not fill up): 4 N frames of 54 bytes
  load.pcap      S (12,000) whole SMTP sessions from addresses of the same customers, ~200
                 open at once and interleaved: banner, EHLO, MAIL, 1-4 RCPT (about 3% refused
                 with a 5xx citing a blocklist, 2% with a 4xx), DATA, a body of 1-3 segments,
                 QUIT, FIN both ways; ~20 frames a session
  truth.json     what the files hold by construction (frames, sessions, addresses)

Frames are packed with struct (scapy builds ~1k packets/s: too slow for millions); the pcap is
written big-endian (magic a1b2c3d4 in network order), which libpcap and tcpreplay read as any
other. IPv4 header checksums are right; TCP checksums are left zero (nothing here checks them:
the frames reach the capture on a veth, never a TCP stack). Everything comes from one seeded
random.Random, so two runs write byte-identical files. Owns only its output files.
"""
import argparse
import json
import os
import random
import struct
import sys

SPACE = 0x64400000          # 100.64.0.0/10
SPACE_BITS = 22
MX_BASE = 0xC6120000        # 198.18.0.0/15
N_MX = 4096
MAC_CLIENT = bytes.fromhex("020000000001")
MAC_ROUTER = bytes.fromhex("020000000002")

SYN, RST, PSH, ACK, FIN = 0x02, 0x04, 0x08, 0x10, 0x01

# one frame with its pcap record header, all big-endian: record (ts_sec, ts_usec, incl, orig),
# Ethernet (dst, src, type), IPv4 (ver/ihl, tos, len, id, frag, ttl, proto, csum, src, dst),
# TCP (sport, dport, seq, ack, doff, flags, win, csum, urg)
HDR = struct.Struct("!IIII6s6sHBBHHHBBHIIHHIIBBHHH")
# the constant 16-bit words of our IPv4 headers: 0x4500, DF, TTL 64 / TCP
IP_CONST = 0x4500 + 0x4000 + ((64 << 8) | 6)


def ip_str(a):
    return "%d.%d.%d.%d" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255)


def ip_csum(src, dst, totlen):
    s = IP_CONST + totlen + (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff)
    s = (s & 0xffff) + (s >> 16)
    s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def write_space(out):
    with open(os.path.join(out, "prefixes.txt"), "w") as f:
        f.write("# written by bench/gen_daemon.py: 100.64.0.0/10, four ASNs, /15 allocations\n")
        for i in range(4):
            f.write("%s/12 %d\n" % (ip_str(SPACE + (i << 20)), 64500 + i))
        for i in range(32):
            f.write("%s/15 %d alloc\n" % (ip_str(SPACE + (i << 17)), 64500 + i // 8))


def write_customers(out, addrs, per):
    ncust = len(addrs) // per
    with open(os.path.join(out, "customers.csv"), "w") as f:
        f.write("id,name,cidrs,contact,tags\n")
        for c in range(ncust):
            mine = " ".join(ip_str(a) for a in addrs[c * per:(c + 1) * per])
            f.write('c%06d,"Customer %d, Ltd",%s,abuse@c%d.example,%s\n'
                    % (c, c, mine, c, "never_suspend" if c % 50 == 0 else "vps"))
    return ncust


class Pcap:
    """A big-endian classic pcap, Ethernet, microsecond timestamps; frames buffered."""

    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("!IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        self.buf = []
        self.frames = 0
        self.t = 1717200000 * 1000000

    def frame(self, src, dst, sport, dport, seq, ack, flags, payload=b"", from_client=True):
        totlen = 40 + len(payload)
        self.t += 3
        macs = (MAC_ROUTER, MAC_CLIENT) if from_client else (MAC_CLIENT, MAC_ROUTER)
        self.buf.append(HDR.pack(self.t // 1000000, self.t % 1000000, 14 + totlen, 14 + totlen,
                                 macs[0], macs[1], 0x0800, 0x45, 0, totlen, 0, 0x4000, 64, 6,
                                 ip_csum(src, dst, totlen), src, dst, sport, dport,
                                 seq & 0xffffffff, ack & 0xffffffff, 0x50, flags, 64240, 0, 0))
        if payload:
            self.buf.append(payload)
        self.frames += 1
        if len(self.buf) >= 65536:
            self.flush()

    def flush(self):
        self.f.write(b"".join(self.buf))
        self.buf = []

    def close(self):
        self.flush()
        self.f.close()


def write_ingest(out, addrs):
    """One handshake and a RST per address, packed in bulk (the hot loop of the generator)."""
    n = len(addrs)
    t = 1717200000 * 1000000
    with open(os.path.join(out, "ingest.pcap"), "wb") as f:
        f.write(struct.pack("!IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        pack = HDR.pack
        buf = []
        for i, c in enumerate(addrs):
            mx = MX_BASE + 1 + (i * 7919) % N_MX
            port = 20000 + i % 40000
            cs = (i * 2654435761) & 0xffffffff
            ss = cs ^ 0x5a5a5a5a
            k = ip_csum(c, mx, 40)
            s = t // 1000000
            u = t % 1000000
            t += 4
            buf.append(pack(s, u, 54, 54, MAC_ROUTER, MAC_CLIENT, 0x0800, 0x45, 0, 40, 0, 0x4000,
                            64, 6, k, c, mx, port, 25, cs, 0, 0x50, SYN, 64240, 0, 0))
            buf.append(pack(s, u + 1, 54, 54, MAC_CLIENT, MAC_ROUTER, 0x0800, 0x45, 0, 40, 0,
                            0x4000, 64, 6, k, mx, c, 25, port, ss, (cs + 1) & 0xffffffff, 0x50,
                            SYN | ACK, 64240, 0, 0))
            buf.append(pack(s, u + 2, 54, 54, MAC_ROUTER, MAC_CLIENT, 0x0800, 0x45, 0, 40, 0,
                            0x4000, 64, 6, k, c, mx, port, 25, (cs + 1) & 0xffffffff,
                            (ss + 1) & 0xffffffff, 0x50, ACK, 64240, 0, 0))
            buf.append(pack(s, u + 3, 54, 54, MAC_ROUTER, MAC_CLIENT, 0x0800, 0x45, 0, 40, 0,
                            0x4000, 64, 6, k, c, mx, port, 25, (cs + 1) & 0xffffffff,
                            (ss + 1) & 0xffffffff, 0x50, RST | ACK, 64240, 0, 0))
            if len(buf) >= 262144:
                f.write(b"".join(buf))
                buf = []
        f.write(b"".join(buf))
    return 4 * n


def session(rng, c, mx, port):
    """One whole SMTP session as a list of (from_client, flags, payload) with its counts."""
    cite = rng.random()
    nrcpt = rng.randint(1, 4)
    steps = [(True, SYN, b""), (False, SYN | ACK, b""), (True, ACK, b""),
             (False, PSH | ACK, b"220 mx%d.example ESMTP ready\r\n" % (mx & 0xfff)),
             (True, PSH | ACK, b"EHLO vps%d.example.net\r\n" % (c & 0xffff)),
             (False, PSH | ACK, b"250-mx.example\r\n250-PIPELINING\r\n250 SIZE 52428800\r\n"),
             (True, PSH | ACK, b"MAIL FROM:<news@vps%d.example.net>\r\n" % (c & 0xffff)),
             (False, PSH | ACK, b"250 2.1.0 Ok\r\n")]
    refused = 0
    for r in range(nrcpt):
        steps.append((True, PSH | ACK, b"RCPT TO:<user%d@dest%d.example>\r\n"
                      % (rng.randrange(100000), rng.randrange(5000))))
        if cite < 0.03 and r == 0:
            steps.append((False, PSH | ACK, b"554 5.7.1 Service unavailable; Client host "
                          b"blocked using zen.spamhaus.org\r\n"))
            refused += 1
        elif cite < 0.05 and r == 0:
            steps.append((False, PSH | ACK, b"451 4.7.1 Greylisted, try again later\r\n"))
            refused += 1
        else:
            steps.append((False, PSH | ACK, b"250 2.1.5 Ok\r\n"))
    if refused < nrcpt:
        steps.append((True, PSH | ACK, b"DATA\r\n"))
        steps.append((False, PSH | ACK, b"354 End data with <CR><LF>.<CR><LF>\r\n"))
        for _ in range(rng.randint(1, 3)):
            steps.append((True, PSH | ACK, b"X" * rng.randint(300, 1398) + b"\r\n"))
        steps.append((True, PSH | ACK, b".\r\n"))
        steps.append((False, PSH | ACK, b"250 2.0.0 Ok: queued as %X\r\n" % rng.getrandbits(40)))
    steps += [(True, PSH | ACK, b"QUIT\r\n"), (False, PSH | ACK, b"221 2.0.0 Bye\r\n"),
              (True, FIN | ACK, b""), (False, FIN | ACK, b""), (True, ACK, b"")]
    return steps


def write_load(out, rng, addrs, nsessions, window=200):
    """nsessions whole sessions, `window` open at once, their frames interleaved."""
    p = Pcap(os.path.join(out, "load.pcap"))
    open_, started, sessions, clients = [], 0, 0, set()
    while open_ or started < nsessions:
        while len(open_) < window and started < nsessions:
            c = addrs[rng.randrange(len(addrs))]
            mx = MX_BASE + 1 + rng.randrange(N_MX)
            port = 1024 + rng.randrange(60000)
            st = {"c": c, "mx": mx, "port": port, "steps": session(rng, c, mx, port), "i": 0,
                  "cseq": rng.getrandbits(32), "sseq": rng.getrandbits(32)}
            open_.append(st)
            started += 1
            clients.add(c)
        k = rng.randrange(len(open_))
        st = open_[k]
        fc, flags, payload = st["steps"][st["i"]]
        c, mx, port = st["c"], st["mx"], st["port"]
        if fc:
            p.frame(c, mx, port, 25, st["cseq"], st["sseq"] if flags != SYN else 0, flags,
                    payload, True)
            st["cseq"] += len(payload) + (1 if flags & (SYN | FIN) else 0)
        else:
            p.frame(mx, c, 25, port, st["sseq"], st["cseq"], flags, payload, False)
            st["sseq"] += len(payload) + (1 if flags & (SYN | FIN) else 0)
        st["i"] += 1
        if st["i"] == len(st["steps"]):
            open_[k] = open_[-1]
            open_.pop()
            sessions += 1
    p.close()
    return p.frames, sessions, len(clients)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--ips", type=int, default=1000000)
    ap.add_argument("--per-customer", type=int, default=10)
    ap.add_argument("--load-sessions", type=int, default=12000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.ips < a.per_customer or a.ips > (1 << SPACE_BITS):
        sys.exit("gen_daemon: --ips must be between --per-customer and %d" % (1 << SPACE_BITS))
    os.makedirs(a.outdir, exist_ok=True)
    rng = random.Random(a.seed)
    n = a.ips - a.ips % a.per_customer
    addrs = [SPACE + x for x in rng.sample(range(1 << SPACE_BITS), n)]
    write_space(a.outdir)
    ncust = write_customers(a.outdir, addrs, a.per_customer)
    ingest_frames = write_ingest(a.outdir, addrs)
    lframes, lsessions, lclients = write_load(a.outdir, rng, addrs, a.load_sessions)
    truth = {"ips": n, "customers": ncust, "prefixes": n, "ingest_frames": ingest_frames,
             "ingest_sessions": n, "load_frames": lframes, "load_sessions": lsessions,
             "load_clients": lclients, "seed": a.seed}
    with open(os.path.join(a.outdir, "truth.json"), "w") as f:
        json.dump(truth, f)
    print(json.dumps(truth))


if __name__ == "__main__":
    main()
