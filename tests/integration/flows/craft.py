#!/usr/bin/python3
"""craft.py OUT.bin — hand-made IPFIX and broken datagrams for the template and hostile-input
checks (each a 4-byte big-endian length, then the datagram; udp.py send plays them). Sent
alike to nfcapd, the reference, which must agree with the daemon on what is countable:

  1. template 300 (src, dst, ports, proto, flags, 8-byte packets, 8-byte octets) and data:
     198.51.100.201 (SYN, 5 packets), 198.51.100.202 (no SYN, 3 packets)
  2. template 300 withdrawn (a template record of no field), then data set 300: has no
     template any more, so nothing counts
  3. template 300 redefined in another order with 4-byte packets, data: 198.51.100.203
     (SYN, 7 packets)
  4. template 301 with a variable-length field (interfaceName) first: 198.51.100.204 (SYN,
     11 packets)
  5. damaged datagrams, none of which may count or crash anything: a cut header, a set
     longer than its datagram, a template of 5000 fields (well-formed,
     refused: more than the decoder keeps), an sFlow datagram claiming 10^9
     samples, a NetFlow v9 flowset of length 0, a version nobody speaks, a template set
     whose field runs past its end; then 198.51.100.205 (SYN, 2 packets) on template 301,
     to show the exporter still works after them
"""
import socket
import struct
import sys
import time

SEQ = [0]


def ipfix(*sets):
    body = b"".join(sets)
    SEQ[0] += 1
    return struct.pack("!HHIII", 10, 16 + len(body), int(time.time()), SEQ[0], 0) + body


def set_(sid, body):
    return struct.pack("!HH", sid, 4 + len(body)) + body


def tmpl(tid, fields):
    b = struct.pack("!HH", tid, len(fields))
    for ie, ln in fields:
        b += struct.pack("!HH", ie, ln)
    return b


def a4(s):
    return socket.inet_aton(s)


MX = a4("198.18.0.25")
T300 = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (6, 1), (2, 8), (1, 8)]
T300B = [(2, 4), (11, 2), (7, 2), (12, 4), (8, 4), (4, 1), (6, 1)]
T301 = [(82, 0xffff), (8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (6, 1), (2, 4)]


def r300(src, flags, pkts):
    return a4(src) + MX + struct.pack("!HHBBQQ", 40000, 25, 6, flags, pkts, pkts * 60)


def r300b(src, flags, pkts):
    return struct.pack("!IHH", pkts, 25, 40001) + MX + a4(src) + struct.pack("!BB", 6, flags)


def r301(src, flags, pkts, name=b"ge-0/0/1.100"):
    return bytes([len(name)]) + name + a4(src) + MX + struct.pack("!HHBBI", 40002, 25, 6, flags, pkts)


def main():
    d = []
    d.append(ipfix(set_(2, tmpl(300, T300)),
                   set_(300, r300("198.51.100.201", 0x02, 5) + r300("198.51.100.202", 0x18, 3))))
    d.append(ipfix(set_(2, struct.pack("!HH", 300, 0))))
    d.append(ipfix(set_(300, r300("198.51.100.209", 0x02, 99))))
    d.append(ipfix(set_(2, tmpl(300, T300B)), set_(300, r300b("198.51.100.203", 0x02, 7))))
    d.append(ipfix(set_(2, tmpl(301, T301)), set_(301, r301("198.51.100.204", 0x02, 11))))
    good = ipfix(set_(301, r301("198.51.100.205", 0x02, 2)))
    bad = [
        good[:10],
        struct.pack("!HHIII", 10, 40, 0, 0, 0) + struct.pack("!HH", 301, 200) + b"\0" * 20,
        ipfix(set_(2, struct.pack("!HH", 302, 5000) + b"\0\x08\0\x04" * 5000)),
        struct.pack("!IIIIIII", 5, 1, 0x7f000001, 0, 1, 0, 10 ** 9) + b"\0" * 16,
        struct.pack("!HHIIII", 9, 1, 0, 0, 0, 0) + struct.pack("!HH", 0, 0) + b"\0" * 8,
        struct.pack("!HH", 77, 16) + b"\0" * 12,
        ipfix(set_(2, struct.pack("!HH", 303, 3) + struct.pack("!HH", 8, 4))),
    ]
    d += bad
    d.append(good)
    with open(sys.argv[1], "wb") as f:
        for x in d:
            f.write(struct.pack("!I", len(x)) + x)


if __name__ == "__main__":
    main()
