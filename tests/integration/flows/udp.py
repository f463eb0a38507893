#!/usr/bin/python3
"""udp.py — the flow tests' UDP helper (never a reference: it only moves datagrams).

  udp.py record PORT FILE [IDLE_S]      keeps every datagram to 127.0.0.1:PORT in FILE (each
                                        a 4-byte big-endian length, then the bytes) until
                                        IDLE_S (default 3) seconds pass without one after
                                        the first (which it awaits 20 s at most); IDLE_S 0:
                                        until SIGTERM
  udp.py send SRC DST:PORT FILE [PPS]   sends FILE's datagrams from address SRC (bound, so
                                        that the daemon sees SRC as the exporter)
  udp.py relay SRC LPORT DST:PORT...    forwards every datagram to 127.0.0.1:LPORT to each
                                        DST:PORT from address SRC (a second exporter address
                                        for an exporter that cannot choose its own)
"""
import signal
import socket
import struct
import sys
import time


def frames(path):
    b = open(path, "rb").read()
    o = 0
    while o + 4 <= len(b):
        n, = struct.unpack_from("!I", b, o)
        yield b[o + 4:o + 4 + n]
        o += 4 + n


def hostport(s):
    h, p = s.rsplit(":", 1)
    return h, int(p)


def main():
    cmd = sys.argv[1]
    if cmd == "record":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", int(sys.argv[2])))
        idle = float(sys.argv[4]) if len(sys.argv) > 4 else 3
        s.settimeout(20 if idle else None)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        n = 0
        with open(sys.argv[3], "wb") as out:
            print("ready", flush=True)
            try:
                while True:
                    d = s.recv(65535)
                    out.write(struct.pack("!I", len(d)) + d)
                    n += 1
                    if idle:
                        s.settimeout(idle)
            except (socket.timeout, SystemExit):
                pass
        print(n, "datagrams", flush=True)
    elif cmd == "send":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((sys.argv[2], 0))
        dst = hostport(sys.argv[3])
        pps = float(sys.argv[5]) if len(sys.argv) > 5 else 2000
        n = 0
        for d in frames(sys.argv[4]):
            s.sendto(d, dst)
            n += 1
            time.sleep(1.0 / pps)
        print(n, "datagrams sent")
    elif cmd == "relay":
        r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        r.bind(("127.0.0.1", int(sys.argv[3])))
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((sys.argv[2], 0))
        dsts = [hostport(a) for a in sys.argv[4:]]
        print("ready", flush=True)
        while True:
            d = r.recv(65535)
            for a in dsts:
                s.sendto(d, a)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
