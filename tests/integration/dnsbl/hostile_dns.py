#!/usr/bin/python3
"""hostile_dns.py -- a tiny UDP DNS responder (socket + struct, nothing else) for
dnsbl_hostile.sh: answers the zone hostile.test the way a broken or malicious DNSBL could.
Binds 127.0.0.1 port 0, prints the port, then serves until killed. `silent` as the first
argument: binds and prints the port but never answers (a nameserver that times out). Any zone is
served the same way (so that one test can use several lists): the first four labels are
the reversed IPv4 address, the rest is the zone.

Queried IP                      A answer                       TXT answer
127.0.0.2 (test point)          127.0.0.2                      "test point"
127.0.0.1 (test point)          NXDOMAIN                       NXDOMAIN
192.0.2.1                       127.0.0.2                      CR/LF, ANSI escapes, bidi
                                                               override, a 255-byte string
192.0.2.2                       25 records 127.0.0.2..26       -
192.0.2.3                       a TXT record (wrong type)      -
192.0.2.4                       10.0.0.1 (outside 127/8)       -
192.0.2.5                       127.0.0.2                      invalid UTF-8, a NUL, quotes
                                                               and backslashes, 3 records
192.0.2.6                       a 5-byte datagram (garbage)    -
192.0.2.7                       127.0.0.2                      rdlength past the packet end
192.0.2.8                       SERVFAIL                       -
192.0.2.9                       REFUSED                        -
192.0.2.10                      127.0.0.2 and 127.255.255.254  -
anything else                   NXDOMAIN with an SOA           -
"""
import socket
import struct
import sys

def name(labels):
    out = b""
    for l in labels:
        out += bytes([len(l)]) + l
    return out + b"\0"


def rr(rtype, rdata, ttl=60):
    # owner: a pointer to the question's name at offset 12
    return struct.pack(">HHHIH", 0xC00C, rtype, 1, ttl, len(rdata)) + rdata


def txt_rdata(*strings):
    return b"".join(bytes([len(s)]) + s for s in strings)


def a_rdata(dotted):
    return bytes(int(x) for x in dotted.split("."))


def soa():
    rdata = name([b"ns", b"hostile", b"test"]) + name([b"hm", b"hostile", b"test"]) + \
        struct.pack(">IIIII", 1, 3600, 600, 86400, 120)
    return struct.pack(">HHHIH", 0xC00C, 6, 1, 60, len(rdata)) + rdata


def reply(q, rcode, answers=(), authority=()):
    qid, flags = struct.unpack(">HH", q[:4])
    # the question as asked: up to its end
    i = 12
    while q[i] != 0:
        i += q[i] + 1
    question = q[12:i + 5]
    flags = 0x8400 | (flags & 0x0100) | rcode
    head = struct.pack(">HHHHHH", qid, flags, 1, len(answers), len(authority), 0)
    return head + question + b"".join(answers) + b"".join(authority)


def answer(q):
    i, labels = 12, []
    while q[i] != 0:
        labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace").lower())
        i += q[i] + 1
    qtype = struct.unpack(">H", q[i + 1:i + 3])[0]
    if len(labels) < 5:
        return reply(q, 5)
    ip = ".".join(reversed(labels[:4]))
    A, TXT = 1, 16
    if ip == "127.0.0.2":
        return reply(q, 0, [rr(A, a_rdata("127.0.0.2"))] if qtype == A else
                     [rr(TXT, txt_rdata(b"test point"))])
    if ip == "192.0.2.1":
        if qtype == A:
            return reply(q, 0, [rr(A, a_rdata("127.0.0.2"))])
        return reply(q, 0, [rr(TXT, txt_rdata(
            b"line one\r\nline two \x1b[31mRED\x1b[0m \x1b]0;title\x07 \xe2\x80\xae drow",
            b"A" * 255))])
    if ip == "192.0.2.2" and qtype == A:
        return reply(q, 0, [rr(A, a_rdata("127.0.0.%d" % n)) for n in range(2, 27)])
    if ip == "192.0.2.3" and qtype == A:
        return reply(q, 0, [rr(TXT, txt_rdata(b"I am not an A record"))])
    if ip == "192.0.2.4" and qtype == A:
        return reply(q, 0, [rr(A, a_rdata("10.0.0.1"))])
    if ip == "192.0.2.5":
        if qtype == A:
            return reply(q, 0, [rr(A, a_rdata("127.0.0.2"))])
        return reply(q, 0, [rr(TXT, txt_rdata(b"bad \xff\xfe utf8", b" nul\x00here")),
                            rr(TXT, txt_rdata(b'quote " and back\\slash')),
                            rr(TXT, txt_rdata(b"\x7f\x9b[2J"))])
    if ip == "192.0.2.6" and qtype == A:
        return b"\x12\x34\x81"
    if ip == "192.0.2.7":
        if qtype == A:
            return reply(q, 0, [rr(A, a_rdata("127.0.0.2"))])
        broken = struct.pack(">HHHIH", 0xC00C, TXT, 1, 60, 200) + b"\x05short"
        return reply(q, 0, [broken])
    if ip == "192.0.2.8":
        return reply(q, 2)
    if ip == "192.0.2.9":
        return reply(q, 5)
    if ip == "192.0.2.10" and qtype == A:
        return reply(q, 0, [rr(A, a_rdata("127.0.0.2")), rr(A, a_rdata("127.255.255.254"))])
    return reply(q, 3, authority=[soa()])


def main():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1], flush=True)
    silent = len(sys.argv) > 1 and sys.argv[1] == "silent"
    while True:
        q, peer = s.recvfrom(4096)
        if silent or len(q) < 17:
            continue
        try:
            s.sendto(answer(q), peer)
        except (IndexError, struct.error, UnicodeError):
            pass


if __name__ == "__main__":
    main()
