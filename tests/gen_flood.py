#!/usr/bin/python3
"""Cuts a story capture in two at a second and writes, for the gap, a flood of spoofed SYNs
to port 25 from N distinct addresses of a prefix: what an attacker (or a scanner with
forged sources) sends to fill the daemon's per-IP tables just before a real spammer starts.

Usage: /usr/bin/python3 tests/gen_flood.py STORY.pcap AT N PREFIX OUT_BEFORE OUT_FLOOD OUT_AFTER

  OUT_BEFORE  the story's frames before AT (epoch seconds)
  OUT_FLOOD   N SYNs, one per source (PREFIX's addresses in order from its second: an IPv4
              or an IPv6 prefix, e.g. 2001:db8:ff::/48) to port 25 of a remote MX, spread
              evenly over the 50 s before AT; never an answer, so no source completes a
              handshake (a blind spoofer cannot)
  OUT_AFTER   the story's frames from AT on

Classic pcap, Ethernet, microsecond timestamps; IPv4 header checksums right (TCP's are
left zero, as the daemon does not check them). Prints the
number of frames in each file.
"""
import ipaddress
import struct
import sys

PCAP_HDR = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)


def split(story, at, before, after):
    counts = [0, 0]
    with open(story, "rb") as f, open(before, "wb") as a, open(after, "wb") as c:
        hdr = f.read(24)
        a.write(hdr)
        c.write(hdr)
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                break
            sec, _usec, incl, _orig = struct.unpack("<IIII", rec)
            data = f.read(incl)
            out = a if sec < at else c
            out.write(rec)
            out.write(data)
            counts[0 if sec < at else 1] += 1
    return counts


def ip_csum(words_sum):
    s = (words_sum & 0xffff) + (words_sum >> 16)
    s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def syn(i):
    return struct.pack("!HHIIBBHHH", 1024 + i % 60000, 25, (i * 7919) & 0xffffffff, 0, 5 << 4, 2, 65535, 0, 0)


def v4_frames(base, n):
    dst = ipaddress.ip_address("198.18.0.1").packed
    eth = bytes.fromhex("02005e005301" "020400000001") + b"\x08\x00"
    # the IPv4 header's fixed 16-bit words (source address left out), summed once
    fixed = (0x4500 + 40 + 0x4000 + (64 << 8 | 6) +
             int.from_bytes(dst[:2], "big") + int.from_bytes(dst[2:], "big"))
    for i in range(n):
        src = base + i
        csum = ip_csum(fixed + (src >> 16) + (src & 0xffff))
        yield eth + struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0x4000, 64, 6, csum,
                                src.to_bytes(4, "big"), dst) + syn(i)


def v6_frames(base, n):
    dst = ipaddress.ip_address("2001:db8:ffff::25").packed
    eth = bytes.fromhex("02005e005301" "021000000001") + b"\x86\xdd"
    head = struct.pack("!IHBB", 6 << 28, 20, 6, 64)
    for i in range(n):
        yield eth + head + (base + i).to_bytes(16, "big") + dst + syn(i)


def flood(out, at, n, prefix):
    net = ipaddress.ip_network(prefix)
    if net.num_addresses < n + 1:
        sys.exit("gen_flood: %s has fewer than %d addresses" % (prefix, n + 1))
    base = int(net.network_address) + 1
    frames = v4_frames(base, n) if net.version == 4 else v6_frames(base, n)
    start = at - 50
    with open(out, "wb") as f:
        f.write(PCAP_HDR)
        for i, frame in enumerate(frames):
            t = start * 1000000 + i * 50000000 // n
            f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(frame), len(frame)))
            f.write(frame)
    return n


def main():
    if len(sys.argv) != 8:
        sys.exit(__doc__)
    story, at, n, prefix, before, out_flood, after = sys.argv[1:]
    at, n = int(at), int(n)
    b, c = split(story, at, before, after)
    flood(out_flood, at, n, prefix)
    print("%d %d %d" % (b, n, c))


if __name__ == "__main__":
    main()
