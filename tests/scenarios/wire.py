#!/usr/bin/python3
"""The scenario stories' packets: SMTP sessions written straight into a pcap (Ethernet,
IPv4 or IPv6, TCP with correct checksums), a few microseconds a frame.

tests/gen_captures.py builds every frame through its truth-counting Flow (right for the
analyze contract's small captures, ~30 us a frame); a story has millions of frames and
needs none of that truth, so this writes the same kind of conversation directly:

  SYN, SYN-ACK, ACK; 220 banner; EHLO and its multi-line 250 (PIPELINING advertised);
  MAIL FROM and every RCPT TO in one pipelined write, their replies in one write (split by
  the MSS, a bare ACK every second segment); DATA, 354, the body, 250 queued -- only when a
  recipient was accepted, as a client that waits for the RCPT replies does (RFC 2920: DATA
  after the group, not in it, so a session whose recipients were all refused sends no DATA
  and gets no extra "no valid recipients" 5xx); QUIT, 221; FIN, FIN, ACK.

Every count the daemon keeps (sessions, MAIL, RCPT, DATA, 4xx/5xx replies and the lists
they name, bytes, destinations) is what the lock-step session of gen_captures.full_session
gives; only the number of frames differs (16-20 a session instead of 17 + 2 per RCPT).
Frames of one session are 1 ms apart from its start second, sessions of the same second
interleaved, as gen_captures.write_timed does.
"""
import ipaddress
import random
import struct

SYN, ACK, PSH, FIN = 2, 16, 8, 1
MSS = 1400
GW_MAC = bytes.fromhex("02005e005301")
_PACKED = {}
_MAC = {}


def packed(ip):
    p = _PACKED.get(ip)
    if p is None:
        p = _PACKED[ip] = ipaddress.ip_address(ip).packed
    return p


def mac_of(ip):
    m = _MAC.get(ip)
    if m is None:
        h = packed(ip)
        m = _MAC[ip] = bytes([2, len(h)]) + h[-4:]
    return m


def csum(data):
    """The Internet checksum (ones' complement of the ones'-complement sum of 16-bit words):
    the data read as one big-endian integer is congruent to that sum modulo 0xffff."""
    if len(data) & 1:
        data += b"\0"
    n = int.from_bytes(data, "big")
    s = n % 0xffff
    if s == 0 and n:
        s = 0xffff
    return (~s) & 0xffff


EHLO_REPLY = (b"250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n"
              b"250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n")


class Writer:
    """A pcap of SMTP sessions; add() them in order of their start second."""

    def __init__(self, path, seed):
        self.f = open(path, "wb", buffering=1 << 20)
        self.f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
        self.rng = random.Random(seed)
        self.frames = 0
        self.sec = None
        self.pending = []      # (usec, order, frame) of the current second
        self.bodies = [self._message(884 + 2 * k) for k in range(16)]

    def _message(self, size):
        r = self.rng
        hdr = (b"From: Sender <sender@example.com>\r\nTo: <user0@example.net>\r\n"
               b"Subject: offer %d\r\nMessage-ID: <%d@example.com>\r\n\r\n" % (size, r.randrange(1 << 30)))
        body = hdr + b"Hello,\r\n"
        while len(body) < size:
            body += b"Lorem ipsum dolor sit amet %d\r\n" % r.randrange(1 << 20)
        return body[:size - 2] + b"\r\n"

    def _flush(self):
        if not self.pending:
            return
        self.pending.sort()
        w = self.f.write
        for us, _, fr in self.pending:
            w(struct.pack("<IIII", us // 1000000, us % 1000000, len(fr), len(fr)))
            w(fr)
        self.frames += len(self.pending)
        self.pending = []

    def close(self):
        self._flush()
        self.f.close()
        return self.frames

    def session(self, t, client, server, rcpt_replies, data_reply=None, body_size=900):
        """One session at second t: rcpt_replies = the reply line (bytes, no CRLF) to each
        RCPT; data_reply = the reply to DATA when it is not 354 (a content filter)."""
        if t != self.sec:
            self._flush()
            self.sec = t
        r = self.rng
        v6 = ":" in client
        c, s = packed(client), packed(server)
        cport = r.randrange(32768, 61000)
        cseq = r.randrange(1 << 32)
        sseq = r.randrange(1 << 32)
        ts = r.randrange(1 << 30)
        et = b"\x86\xdd" if v6 else b"\x08\x00"
        eth_c = GW_MAC + mac_of(client) + et      # client -> gateway: dst, src, type
        eth_s = mac_of(client) + GW_MAC + et
        if v6:
            pseudo_c = c + s + b"\0\0"
            pseudo_s = s + c + b"\0\0"
        else:
            pseudo_c = c + s + b"\0\x06"
            pseudo_s = s + c + b"\0\x06"
        out = self.pending
        base = t * 1000000
        k = [0]
        seq = [cseq, sseq]

        def frame(from_client, flags, payload=b"", opts=None):
            nonlocal ts
            ts += 1
            if opts is None:
                opts = b"\x01\x01\x08\x0a" + struct.pack("!II", ts, ts - 7)
            if from_client:
                sp, dp, sq, ak, ps = cport, 25, seq[0], seq[1], pseudo_c
            else:
                sp, dp, sq, ak, ps = 25, cport, seq[1], seq[0], pseudo_s
            if not flags & ACK:
                ak = 0
            hl = 20 + len(opts)
            hdr = struct.pack("!HHIIBBHHH", sp, dp, sq & 0xffffffff, ak & 0xffffffff,
                              (hl // 4) << 4, flags, 64240, 0, 0) + opts
            seg = hdr + payload
            if v6:
                ck = csum(ps[:32] + struct.pack("!IxxxB", len(seg), 6) + seg)
            else:
                ck = csum(ps + struct.pack("!H", len(seg)) + seg)
            seg = seg[:16] + struct.pack("!H", ck) + seg[18:]
            if v6:
                l3 = struct.pack("!IHBB", 0x60000000, len(seg), 6, 64) + (c + s if from_client else s + c) + seg
            else:
                ih = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(seg), r.getrandbits(16), 0x4000,
                                 64, 6, 0) + (c + s if from_client else s + c)
                ih = ih[:10] + struct.pack("!H", csum(ih)) + ih[12:]
                l3 = ih + seg
            fr = (eth_c if from_client else eth_s) + l3
            if len(fr) < 60:
                fr += b"\0" * (60 - len(fr))
            out.append((base + k[0] * 1000, len(out), fr))
            k[0] += 1

        def send(from_client, data):
            i = 0 if from_client else 1
            parts = [data[o:o + MSS] for o in range(0, len(data), MSS)]
            for n, part in enumerate(parts):
                frame(from_client, PSH | ACK, part)
                seq[i] += len(part)
                if len(parts) > 1 and n % 2 == 1:
                    frame(not from_client, ACK)

        synopt = b"\x02\x04\x05\xb4\x04\x02\x08\x0a" + struct.pack("!I", ts) + b"\0\0\0\0\x01\x03\x03\x07"
        frame(True, SYN, opts=synopt)
        seq[0] += 1
        frame(False, SYN | ACK, opts=synopt)
        seq[1] += 1
        frame(True, ACK)
        send(False, b"220 mx%d.example.org ESMTP Postfix\r\n" % r.randrange(10))
        send(True, b"EHLO client%d.example.com\r\n" % r.randrange(100))
        send(False, EHLO_REPLY)
        n = len(rcpt_replies)
        send(True, b"MAIL FROM:<sender%d@example.com>\r\n" % r.randrange(1000) +
             b"".join(b"RCPT TO:<user%d@example.net>\r\n" % i for i in range(n)))
        send(False, b"250 2.1.0 Ok\r\n" + b"".join(x + b"\r\n" for x in rcpt_replies))
        if any(x[:1] == b"2" for x in rcpt_replies):
            send(True, b"DATA\r\n")
            if data_reply is None:
                send(False, b"354 End data with <CR><LF>.<CR><LF>\r\n")
                body = self.bodies[r.randrange(len(self.bodies))]
                if body_size != 900:
                    body = (body * (body_size // len(body) + 1))[:body_size - 2] + b"\r\n"
                send(True, body + b".\r\n")
                send(False, b"250 2.0.0 Ok: queued as %X\r\n" % r.randrange(1 << 40))
            else:
                send(False, data_reply + b"\r\n")
        send(True, b"QUIT\r\n")
        send(False, b"221 2.0.0 Bye\r\n")
        frame(False, FIN | ACK)
        seq[1] += 1
        frame(True, FIN | ACK)
        seq[0] += 1
        frame(False, ACK)
