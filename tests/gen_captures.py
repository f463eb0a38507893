#!/usr/bin/python3
"""Writes the SMTP test captures for `rangewatch analyze` into OUTDIR, plus OUTDIR/truth.json.

Usage: /usr/bin/python3 tests/gen_captures.py OUTDIR

Each capture covers one thing (an encapsulation, a protocol feature, a kind of damage); `mixed`
combines most of them with a few hundred interleaved sessions. Everything is deterministic
(seeded), so two runs write byte-identical files.

IP and TCP headers are packed here with struct (scapy builds ~1k packets/s, too slow for the
mixed capture, and broken headers are easier to write by hand); the link-layer headers
(Ethernet, 802.1Q, 802.1ad, Linux cooked v1/v2) come from scapy. tshark decodes all of them
(tests/tshark_ref.py is the reference that compare.py checks against).

truth.json holds, per capture, the ground truth the generator knows by construction, with the
semantics of the analyze contract (design.md, "analyze --json"): per client IP the counters, and
packets {total, smtp, malformed, truncated}. compare.py checks tshark's reference against this
truth too (so a wrong reference cannot pass silently) and, where a capture lists a field under
"tshark_exceptions" (with the reason), compares that field with the truth instead of tshark.
"""
import ipaddress
import json
import os
import random
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tshark_ref  # noqa: E402

from scapy.layers.l2 import CookedLinux, CookedLinuxV2, Dot1AD, Dot1Q, Ether

# rejections_citing is per list of the shipped etc/dnsbl.conf, by the rule written in
# tshark_ref.py (Python, from the file's documentation, not from the C code)
CITE_RULES = tshark_ref.load_cite_rules(tshark_ref.DEFAULT_LISTS)
COUNTERS = ["syn", "sessions", "dst_ips", "bytes_out", "mail_from", "rcpt_to", "data",
            "starttls", "replies_4xx", "replies_5xx"]

LINKTYPE = {"eth": 1, "vlan": 1, "qinq88a8": 1, "qinq8100": 1, "sll": 113, "sll2": 276, "raw": 101}

# Documentation ranges for our clients; "MX" servers elsewhere (benchmark 198.18/15, shared
# 100.64/10, TEST-NET-free public-looking space, IPv6 benchmarking 2001:2::/48 and 3fff::/20).
CLIENTS_V4 = (["192.0.2.%d" % i for i in (10, 11, 25, 77, 130, 200)] +
              ["198.51.100.%d" % i for i in (5, 25, 99, 180)] +
              ["203.0.113.%d" % i for i in (7, 8, 42, 129, 250)])
CLIENTS_V6 = ["2001:db8::25", "2001:db8:0:1::a", "2001:db8:1::7", "2001:db8:ffff::1"]
SERVERS_V4 = ["198.18.0.25", "198.18.7.10", "198.19.1.1", "100.64.3.2", "100.66.0.25"]
SERVERS_V6 = ["2001:2::25", "2001:2:0:1::25", "3fff::25"]

# Set per capture by Gen.__init__; everything random comes from here.
RNG = random.Random(1)


def csum(data):
    if len(data) & 1:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def ipv4(src, dst, proto, payload, opts=b"", ttl=64, ident=0, df=True, frag_off=0, mf=False,
         total_len=None, ihl=None, version=4):
    assert len(opts) % 4 == 0
    hl = 20 + len(opts)
    if ihl is None:
        ihl = hl // 4
    if total_len is None:
        total_len = hl + len(payload)
    flags = (0x4000 if df else 0) | (0x2000 if mf else 0) | (frag_off // 8)
    h = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, total_len, ident, flags, ttl, proto,
                    0, ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed) + opts
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ipv6(src, dst, nh, payload, ext=(), plen=None, hlim=64):
    """ext: list of (header type, body) where body excludes the next-header byte; the body
    (len >= 7, padded by the caller) is written as-is after nh and hdr-ext-len."""
    chain = b""
    types = [t for t, _ in ext] + [nh]
    for i, (t, body) in enumerate(ext):
        blob = bytes([types[i + 1]]) + body
        assert len(blob) % 8 == 0
        blob = bytes([types[i + 1], len(blob) // 8 - 1]) + blob[2:]
        chain += blob
    first = types[0]
    if plen is None:
        plen = len(chain) + len(payload)
    h = struct.pack("!IHBB16s16s", 0x60000000, plen, first, hlim,
                    ipaddress.IPv6Address(src).packed, ipaddress.IPv6Address(dst).packed)
    return h + chain + payload


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b"", opts=b"", win=64240, doff=None):
    while len(opts) % 4:
        opts += b"\x01"
    if doff is None:
        doff = (20 + len(opts)) // 4
    h = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff, doff << 4,
                    flags, win, 0, 0) + opts
    a = ipaddress.ip_address(src)
    b = ipaddress.ip_address(dst)
    seg = h + payload
    if a.version == 4:
        pseudo = struct.pack("!4s4sBBH", a.packed, b.packed, 0, 6, len(seg))
    else:
        pseudo = struct.pack("!16s16sIxxxB", a.packed, b.packed, len(seg), 6)
    c = csum(pseudo + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


FIN, SYN, RST, PSH, ACK, ECE, CWR = 1, 2, 4, 8, 16, 64, 128


def mac_of(ip):
    h = ipaddress.ip_address(ip).packed
    return "02:%02x:%02x:%02x:%02x:%02x" % (len(h), h[-4], h[-3], h[-2], h[-1])


GW_MAC = "02:00:5e:00:53:01"
_link_cache = {}


def link_header(kind, src_ip, dst_ip, from_client, ethertype, vlan=(100, 200)):
    """Link-layer header bytes (built with scapy once per distinct argument tuple)."""
    key = (kind, src_ip, dst_ip, from_client, ethertype, vlan)
    if key in _link_cache:
        return _link_cache[key]
    smac = mac_of(src_ip) if from_client else GW_MAC
    dmac = GW_MAC if from_client else mac_of(dst_ip)
    if kind == "eth":
        h = bytes(Ether(src=smac, dst=dmac, type=ethertype))
    elif kind == "vlan":
        h = bytes(Ether(src=smac, dst=dmac) / Dot1Q(vlan=vlan[0], prio=0, type=ethertype))
    elif kind == "qinq88a8":
        h = bytes(Ether(src=smac, dst=dmac, type=0x88a8) / Dot1AD(vlan=vlan[0]) /
                  Dot1Q(vlan=vlan[1], type=ethertype))
    elif kind == "qinq8100":
        h = bytes(Ether(src=smac, dst=dmac) / Dot1Q(vlan=vlan[0]) / Dot1Q(vlan=vlan[1], type=ethertype))
    elif kind == "sll":
        # Outgoing (4) for the client's frames, to-us (0) for the replies, as on the sender's host.
        h = bytes(CookedLinux(pkttype=4 if from_client else 0, lladdrtype=1, lladdrlen=6,
                              src=bytes.fromhex(smac.replace(":", "")) + b"\0\0", proto=ethertype))
    elif kind == "sll2":
        h = bytes(CookedLinuxV2(proto=ethertype, ifindex=2, lladdrtype=1,
                                pkttype=4 if from_client else 0, lladdrlen=6,
                                src=bytes.fromhex(smac.replace(":", "")) + b"\0\0"))
    elif kind == "raw":
        h = b""
    else:
        raise ValueError(kind)
    _link_cache[key] = h
    return h


def new_counters():
    d = {k: 0 for k in COUNTERS}
    d["rejections_citing"] = {}
    d["_dst"] = set()
    return d


class Frame:
    __slots__ = ("data", "caplen", "kind")

    def __init__(self, data, caplen=None, kind="smtp"):
        self.data = data
        self.caplen = len(data) if caplen is None else caplen
        self.kind = kind      # smtp | malformed | fragment | other


class Gen:
    """One capture: frames (in order) plus the ground truth."""

    def __init__(self, name, linktype, desc, seed):
        global RNG
        RNG = random.Random(seed)
        self.name = name
        self.linktype = linktype
        self.desc = desc
        self.frames = []
        self.ips = {}
        self.exceptions = {}

    def ip(self, ip):
        ip = ipaddress.ip_address(ip).compressed
        if ip not in self.ips:
            self.ips[ip] = new_counters()
        return self.ips[ip]

    def add(self, frame):
        self.frames.append(frame)

    def except_field(self, ip, fields, reason):
        """tshark is not the reference for these fields of this client on this capture: compare
        them with the truth (compare.py prints the reason)."""
        for f in fields:
            self.exceptions["%s %s" % (ipaddress.ip_address(ip).compressed, f)] = reason

    def write(self, outdir):
        path = os.path.join(outdir, self.name + ".pcap")
        ts = 1700000000.0 + RNG.random()
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, self.linktype))
            for fr in self.frames:
                ts += 0.0003 + RNG.random() * 0.002
                sec = int(ts)
                usec = int((ts - sec) * 1e6)
                f.write(struct.pack("<IIII", sec, usec, fr.caplen, len(fr.data)))
                f.write(fr.data[:fr.caplen])
        return path

    def truth(self):
        ips = {}
        for ip, c in self.ips.items():
            d = {k: c[k] for k in COUNTERS}
            d["dst_ips"] = len(c["_dst"])
            d["rejections_citing"] = dict(sorted(c["rejections_citing"].items()))
            d["_dst"] = sorted(c["_dst"])
            ips[ip] = d
        pk = {"total": len(self.frames),
              "smtp": sum(1 for f in self.frames if f.kind == "smtp"),
              "malformed": sum(1 for f in self.frames if f.kind == "malformed"),
              "truncated": sum(1 for f in self.frames if f.caplen < len(f.data))}
        return {"file": self.name + ".pcap", "linktype": self.linktype, "desc": self.desc,
                "packets": pk, "ips": dict(sorted(ips.items())),
                "tshark_exceptions": self.exceptions}


def write_timed(gen, sessions, path):
    """Writes gen's frames to a pcap at their sessions' times: sessions is a list of
    (start second, first frame, end frame); frames of one session 1 ms apart from its
    start, sessions interleaved by time. Returns how many frames were written."""
    timed = []
    for t, a, b in sessions:
        for k in range(a, b):
            timed.append((t * 1000000 + (k - a) * 1000, k))
    timed.sort()
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, gen.linktype))
        for us, k in timed:
            fr = gen.frames[k]
            f.write(struct.pack("<IIII", us // 1000000, us % 1000000, fr.caplen, len(fr.data)))
            f.write(fr.data[:fr.caplen])
    return len(timed)


SYN_OPTS_V = b"\x02\x04\x05\xb4\x04\x02\x08\x0a%s\x00\x00\x00\x00\x01\x03\x03\x07"


class Flow:
    """One TCP connection client:cport -> server:25, with the truth counted as frames are made."""

    def __init__(self, gen, client, server, link="eth", v4opts=b"", v6ext=(), sink=None,
                 cport=None, sport=25, vlan=(100, 200), mss=1400):
        self.g = gen
        self.client = ipaddress.ip_address(client).compressed
        self.server = ipaddress.ip_address(server).compressed
        self.v6 = ":" in self.client
        self.link = link
        self.v4opts = v4opts
        self.v6ext = v6ext
        self.vlan = vlan
        self.cport = cport or RNG.randrange(32768, 61000)
        self.sport = sport
        self.cseq = RNG.randrange(1 << 32)
        self.sseq = RNG.randrange(1 << 32)
        self.ts = RNG.randrange(1 << 30)
        self.sink = sink if sink is not None else gen.frames
        self.t = gen.ip(self.client)
        self.mss = mss
        self.tls = False
        self.in_data = False   # after DATA + 354 until the end of the message

    # -- frames ------------------------------------------------------------------------
    def frame(self, from_client, flags, payload=b"", seq=None, ack=None, opts=None, keep=None,
              pad=True, count=True):
        """Emits one frame; keep = payload bytes captured (a truncated frame) or None."""
        if from_client:
            src, dst, sp, dp = self.client, self.server, self.cport, self.sport
            s = self.cseq if seq is None else seq
            a = self.sseq if ack is None else ack
        else:
            src, dst, sp, dp = self.server, self.client, self.sport, self.cport
            s = self.sseq if seq is None else seq
            a = self.cseq if ack is None else ack
        if not flags & ACK:
            a = 0
        self.ts += 1
        if opts is None:
            opts = b"\x01\x01\x08\x0a" + struct.pack("!II", self.ts, self.ts - 7)
        seg = tcp(src, dst, sp, dp, s, a, flags, payload, opts)
        if self.v6:
            l3 = ipv6(src, dst, 6, seg, ext=self.v6ext)
            et = 0x86dd
        else:
            l3 = ipv4(src, dst, 6, seg, opts=self.v4opts, ident=RNG.randrange(65536))
            et = 0x0800
        data = link_header(self.link, src, dst, from_client, et, self.vlan) + l3
        if pad and self.link in ("eth", "vlan", "qinq88a8", "qinq8100") and len(data) < 60:
            data += b"\0" * (60 - len(data))   # Ethernet padding: not TCP payload
        caplen = None
        if keep is not None:       # cut inside the payload: all headers captured
            caplen = len(data) - len(payload) + keep
            assert len(data) - len(payload) >= 54 and caplen < len(data)
        self.sink.append(Frame(data, caplen))
        if count and from_client:
            self.t["bytes_out"] += len(payload)
            self.t["_dst"].add(self.server)
        return data

    def syn(self, ece=False):
        self.frame(True, SYN | (ECE | CWR if ece else 0),
                   opts=SYN_OPTS_V % struct.pack("!I", self.ts), seq=self.cseq)
        self.t["syn"] += 1

    def open(self, syn_retrans=0):
        for _ in range(1 + syn_retrans):
            self.syn()
        self.frame(False, SYN | ACK, opts=SYN_OPTS_V % struct.pack("!I", self.ts),
                   ack=self.cseq + 1)
        self.cseq += 1
        self.sseq += 1
        self.frame(True, ACK)
        self.t["sessions"] += 1

    def refused(self):
        self.syn()
        self.frame(False, RST | ACK, seq=0, ack=self.cseq + 1, opts=b"")

    def send(self, from_client, data, split=None, keep=None, retransmit=()):
        """Sends data as segments: split = offsets where segments end (default: by MSS).
        keep: {segment index: captured payload bytes} for truncated frames.
        retransmit: segment indexes sent twice (same seq)."""
        if split is None:
            split = list(range(self.mss, len(data), self.mss))
        bounds = [0] + [x for x in split if 0 < x < len(data)] + [len(data)]
        keep = keep or {}
        for i in range(len(bounds) - 1):
            part = data[bounds[i]:bounds[i + 1]]
            seq = self.cseq if from_client else self.sseq
            for _ in range(2 if i in retransmit else 1):
                self.frame(from_client, PSH | ACK, part, seq=seq, keep=keep.get(i))
            if from_client:
                self.cseq += len(part)
            else:
                self.sseq += len(part)
            if len(bounds) > 2 and i % 2 == 1:
                self.frame(not from_client, ACK)   # a bare ACK now and then

    # -- SMTP with truth ----------------------------------------------------------------
    def count_cmd(self, line):
        verb = line.split(b" ")[0].split(b":")[0].strip().upper()
        if self.tls or self.in_data:
            return
        if verb == b"MAIL":
            self.t["mail_from"] += 1
        elif verb == b"RCPT":
            self.t["rcpt_to"] += 1
        elif verb == b"DATA":
            self.t["data"] += 1

    def count_reply(self, lines):
        code = int(lines[-1][:3])
        if code >= 400 and code < 600:
            self.t["replies_4xx" if code < 500 else "replies_5xx"] += 1
            rc = self.t["rejections_citing"]
            for k in tshark_ref.lists_named(b"\n".join(lines).decode("latin-1"), CITE_RULES):
                rc[k] = rc.get(k, 0) + 1
        return code

    def cmds(self, lines, uncounted=False, **kw):
        """Client commands (pipelined when several) in one write. uncounted: the analyze
        contract does not count them (their segment is cut by the snaplen)."""
        for ln in lines:
            if not uncounted:
                self.count_cmd(ln)
        self.send(True, b"".join(ln + b"\r\n" for ln in lines), **kw)

    def cmd(self, line, **kw):
        self.cmds([line], **kw)

    def replies(self, replies, **kw):
        """Server replies, each a list of lines (a multi-line reply has several); the last line
        of each carries "code SP". Returns the codes."""
        codes = []
        blob = b""
        for lines in replies:
            if isinstance(lines, bytes):
                lines = [lines]
            fixed = [ln[:3] + b"-" + ln[4:] for ln in lines[:-1]] + [lines[-1]]
            codes.append(self.count_reply(fixed))
            blob += b"".join(ln + b"\r\n" for ln in fixed)
        self.send(False, blob, **kw)
        return codes

    def reply(self, *lines, **kw):
        return self.replies([list(lines)], **kw)[0]

    def body(self, msg, **kw):
        """Message body after DATA + 354, ending with CRLF.CRLF (included in msg by caller?)
        -- here msg is the text without the final dot; the end marker is appended."""
        self.in_data = True
        self.send(True, msg + b"\r\n.\r\n", **kw)
        self.in_data = False

    def starttls(self, code=220, nbytes=(517, 1400, 900)):
        self.cmd(b"STARTTLS")
        c = self.reply(b"%d 2.0.0 Ready to start TLS" % code if code == 220
                       else b"%d 4.7.0 TLS not available due to local problem" % code)
        if c == 220:
            self.t["starttls"] += 1
            self.tls = True
            # TLS records: random bytes, with command-looking text hidden inside that must not count.
            hello = b"\x16\x03\x01" + struct.pack("!H", nbytes[0] - 5) + rand_bytes(nbytes[0] - 5)
            self.send(True, hello)
            self.send(False, b"\x16\x03\x03" + struct.pack("!H", nbytes[1] - 5) + rand_bytes(nbytes[1] - 5))
            hidden = b"\r\nMAIL FROM:<x@y>\r\nRCPT TO:<a@b>\r\nDATA\r\n"
            app = rand_bytes(200) + hidden + rand_bytes(nbytes[2] - 245 - len(hidden))
            self.send(True, b"\x17\x03\x03" + struct.pack("!H", len(app)) + app)
            self.send(False, b"\x17\x03\x03\x00\x40" + rand_bytes(64) +
                      b"\r\n550 5.7.1 blocked using zen.spamhaus.org\r\n")
        return c

    def close(self, server_first=True):
        a, b = (False, True) if server_first else (True, False)
        self.frame(a, FIN | ACK)
        if a:
            self.cseq += 1
        else:
            self.sseq += 1
        self.frame(b, FIN | ACK)
        if b:
            self.cseq += 1
        else:
            self.sseq += 1
        self.frame(a, ACK)


def rand_bytes(n):
    return bytes(RNG.getrandbits(8) for _ in range(max(0, n)))


def addr(local, domain="example.net"):
    return b"<%s@%s>" % (local.encode(), domain.encode())


def full_session(f, rcpts=2, rcpt_codes=None, ehlo=True, body_size=600, starttls=None,
                 pipelining=False, syn_retrans=0, banner=None, data_reply=None, quit=True,
                 lower=False, split_cmds=False, body_keep=None):
    """A realistic session. rcpt_codes: list of reply lines per RCPT (default 250)."""
    f.open(syn_retrans)
    if banner:
        code = f.reply(*banner)
        if code >= 400:
            f.cmd(b"QUIT")
            f.reply(b"221 2.0.0 Bye")
            f.close()
            return
    else:
        f.reply(b"220 mx%d.example.org ESMTP Postfix" % RNG.randrange(10))
    if ehlo:
        f.cmd(b"EHLO client%d.example.com" % RNG.randrange(100))
        f.reply(b"250-mx.example.org", b"250-PIPELINING", b"250-SIZE 10240000", b"250-STARTTLS",
                b"250-ENHANCEDSTATUSCODES", b"250 8BITMIME")
    else:
        f.cmd(b"HELO client.example.com")
        f.reply(b"250 mx.example.org")
    if starttls is not None:
        if f.starttls(starttls) == 220:
            f.close()
            return
        f.cmd(b"EHLO again.example.com")
        f.reply(b"250-mx.example.org", b"250 PIPELINING")
    rcpt_codes = rcpt_codes or [b"250 2.1.5 Ok"] * rcpts
    mail = (b"mail from:" if lower else b"MAIL FROM:") + addr("sender%d" % RNG.randrange(1000), "example.com")
    rc = [(b"rcpt to:" if lower else b"RCPT TO:") + addr("user%d" % i) for i in range(len(rcpt_codes))]
    if pipelining:
        f.cmds([mail] + rc + [b"DATA"])
        reps = [[b"250 2.1.0 Ok"]] + [[c] if isinstance(c, bytes) else c for c in rcpt_codes]
        ok = any((c if isinstance(c, bytes) else c[-1]).startswith(b"2") for c in rcpt_codes)
        dr = [b"354 End data with <CR><LF>.<CR><LF>"] if ok else [b"554 5.5.1 Error: no valid recipients"]
        codes = f.replies(reps + [dr])
        go = codes[-1] == 354
    else:
        if split_cmds:
            f.cmd(mail, split=[3, 11])
        else:
            f.cmd(mail)
        f.reply(b"250 2.1.0 Ok")
        ok = False
        for i, r in enumerate(rc):
            f.cmd(r, split=[2] if split_cmds and i == 0 else None)
            c = f.reply(*([rcpt_codes[i]] if isinstance(rcpt_codes[i], bytes) else rcpt_codes[i]))
            ok = ok or c < 300
        go = False
        if ok:
            f.cmd(b"DATA")
            go = f.reply(*(data_reply or [b"354 End data with <CR><LF>.<CR><LF>"])) == 354
    if go:
        # body_keep: the first body segment is cut to that many bytes (when there are several)
        msg = message(body_size)
        f.body(msg, keep={0: body_keep} if body_keep is not None and len(msg) > f.mss + 10 else None)
        f.reply(b"250 2.0.0 Ok: queued as %X" % RNG.randrange(1 << 40))
    elif pipelining:
        f.cmd(b"RSET")
        f.reply(b"250 2.0.0 Ok")
    if quit:
        f.cmd(b"QUIT")
        f.reply(b"221 2.0.0 Bye")
    f.close()


def message(size):
    hdr = (b"From: Sender <sender@example.com>\r\nTo: <user0@example.net>\r\n"
           b"Subject: test %d\r\nMessage-ID: <%d@example.com>\r\n\r\n" % (size, RNG.randrange(1 << 30)))
    # Body lines that look like commands or replies (must not count) and a dot-stuffed line.
    lines = [b"Hello,", b"MAIL FROM:<not-a-command@example.com>", b"RCPT TO:<nor-this@example.net>",
             b"DATA", b"550 5.7.1 blocked using zen.spamhaus.org (not a reply)", b"..a dot-stuffed line",
             b"STARTTLS"]
    body = hdr + b"\r\n".join(lines) + b"\r\n"
    while len(body) < size:
        body += b"Lorem ipsum dolor sit amet %d\r\n" % RNG.randrange(1 << 20)
    return body[:-2]


# ---------------------------------------------------------------------------------------
# The captures
# ---------------------------------------------------------------------------------------

def basic_sessions(g, link, clients, n=10, **kw):
    for i in range(n):
        c = clients[i % len(clients)]
        s = (SERVERS_V6 if ":" in c else SERVERS_V4)[i % 3]
        f = Flow(g, c, s, link=link, **kw)
        full_session(f, rcpts=1 + i % 4, body_size=300 + 97 * i)


def cap_link(name, link, desc, seed, clients=None):
    g = Gen(name, LINKTYPE[link], desc, seed)
    clients = clients or (CLIENTS_V4[0:2] + CLIENTS_V4[6:7] + CLIENTS_V4[10:11] + CLIENTS_V6[0:2])
    basic_sessions(g, link, clients, n=12)
    return g


def cap_ipv6_ext():
    g = Gen("ipv6_ext", 1, "IPv6 with hop-by-hop and destination options headers before TCP", 11)
    hbh = (0, b"\0\x01\x04\0\0\0\0")            # PadN(4) -> 8 bytes with nh/len
    dst = (60, b"\0\x01\x0c" + b"\0" * 12)          # PadN(12) -> 16 bytes
    for i, c in enumerate(CLIENTS_V6):
        full_session(Flow(g, c, SERVERS_V6[i % 3], v6ext=[hbh, dst]), rcpts=i + 1)
    # one flow with only a destination options header
    full_session(Flow(g, CLIENTS_V6[0], SERVERS_V6[2], v6ext=[dst]), rcpts=2)
    return g


def cap_ipv4_opts():
    g = Gen("ipv4_options", 1, "IPv4 headers with options (IHL 6 and 8)", 12)
    ra = b"\x94\x04\x00\x00"                      # router alert
    ts = b"\x44\x0c\x05\x00" + b"\0" * 8           # timestamp option, 12 bytes
    for i, c in enumerate(CLIENTS_V4[:5]):
        full_session(Flow(g, c, SERVERS_V4[i % 4], v4opts=ra if i % 2 else ts + b"\x01" * 4),
                     rcpts=1 + i)
    return g


def cap_starttls():
    g = Gen("starttls", 1, "STARTTLS accepted (220) then TLS records; STARTTLS refused (454) then plaintext", 13)
    for i, c in enumerate(CLIENTS_V4[2:6] + CLIENTS_V6[1:2]):
        full_session(Flow(g, c, SERVERS_V6[0] if ":" in c else SERVERS_V4[i % 3]), starttls=220)
    # refused: the session goes on in plaintext and its commands count
    full_session(Flow(g, CLIENTS_V4[2], SERVERS_V4[3]), starttls=454, rcpts=3)
    full_session(Flow(g, CLIENTS_V4[3], SERVERS_V4[4]), rcpts=2)
    return g


def cap_pipelining():
    g = Gen("pipelining", 1, "PIPELINING: MAIL+RCPT+RCPT+DATA in one segment, replies batched", 14)
    c = CLIENTS_V4
    full_session(Flow(g, c[0], SERVERS_V4[0]), rcpts=2, pipelining=True)
    full_session(Flow(g, c[0], SERVERS_V4[1]), pipelining=True,
                 rcpt_codes=[b"250 2.1.5 Ok", [b"550 5.1.1 <user1@example.net>: Recipient address rejected"],
                             b"250 2.1.5 Ok", b"450 4.2.0 <user3@example.net>: greylisted"])
    # every RCPT rejected: DATA gets 554, then RSET and QUIT are commands again
    full_session(Flow(g, c[7], SERVERS_V4[2]), pipelining=True,
                 rcpt_codes=[b"554 5.7.1 Service unavailable; Client host [198.51.100.25] blocked using zen.spamhaus.org",
                             b"554 5.7.1 Service unavailable; Client host [198.51.100.25] blocked using zen.spamhaus.org"])
    full_session(Flow(g, CLIENTS_V6[2], SERVERS_V6[1]), rcpts=4, pipelining=True)
    # DATA refused (554, no 354): what follows are commands again, the next transaction counts
    f = Flow(g, c[14], SERVERS_V4[4])
    f.open()
    f.reply(b"220 mx.example.org ESMTP")
    f.cmd(b"EHLO x.example.com")
    f.reply(b"250-mx.example.org", b"250 PIPELINING")
    f.cmds([b"MAIL FROM:<a@example.com>", b"RCPT TO:<b@example.net>", b"DATA"])
    f.replies([[b"250 2.1.0 Ok"], [b"450 4.7.1 <b@example.net>: greylisted, see http://psbl.example/"],
               [b"554 5.5.1 Error: no valid recipients"]])
    f.cmds([b"RSET"])
    f.reply(b"250 2.0.0 Ok")
    f.cmds([b"MAIL FROM:<a@example.com>", b"RCPT TO:<c@example.net>", b"RCPT TO:<d@example.net>", b"DATA"])
    f.replies([[b"250 2.1.0 Ok"], [b"250 2.1.5 Ok"], [b"250 2.1.5 Ok"], [b"354 go ahead"]])
    f.body(message(700))
    f.reply(b"250 2.0.0 Ok: queued")
    f.cmd(b"QUIT")
    f.reply(b"221 2.0.0 Bye")
    f.close()
    g.except_field(c[14], ["mail_from", "rcpt_to", "data"],
                   "tshark 4.0 enters its message-body state on the DATA command itself, not on "
                   "the 354 reply, so after a refused DATA it reads RSET/MAIL/RCPT/DATA as body "
                   "until a CRLF.CRLF; the contract says the body starts only after DATA + 354")
    # pipelined, and the batch itself split mid-command across two segments
    f = Flow(g, c[11], SERVERS_V4[3])
    f.open()
    f.reply(b"220 mx.example.org ESMTP")
    f.cmd(b"EHLO x.example.com")
    f.reply(b"250-mx.example.org", b"250 PIPELINING")
    f.cmds([b"MAIL FROM:<a@example.com>", b"RCPT TO:<b@example.net>", b"RCPT TO:<c@example.net>",
            b"DATA"], split=[40])
    f.replies([[b"250 2.1.0 Ok"], [b"250 2.1.5 Ok"], [b"250 2.1.5 Ok"], [b"354 go ahead"]], split=[20])
    f.body(message(900))
    f.reply(b"250 ok")
    f.cmds([b"MAIL FROM:<a@example.com>", b"RCPT TO:<d@example.net>", b"DATA"])
    f.replies([[b"250 2.1.0 Ok"], [b"250 2.1.5 Ok"], [b"354 go ahead"]])
    f.body(message(300))
    f.cmds([b"QUIT"])
    f.replies([[b"250 ok"], [b"221 bye"]])     # the 250 for the message and the 221 in one segment
    f.close()
    return g


def cap_split():
    g = Gen("split", 1, "commands and replies split across segments mid-line and mid-word; "
            "EOM split; lowercase commands; a retransmitted command segment", 15)
    f = Flow(g, CLIENTS_V4[0], SERVERS_V4[0])
    f.open()
    f.reply(b"220 mx.example.org ESMTP", split=[5])
    f.cmd(b"EHLO client.example.com", split=[2, 3, 10])
    f.reply(b"250-mx.example.org", b"250-PIPELINING", b"250 8BITMIME", split=[4, 22, 30])
    f.cmd(b"MAIL FROM:<s@example.com>", split=[1])
    f.reply(b"250 2.1.0 Ok", split=[1, 2])
    f.cmd(b"RCPT TO:<a@example.net>", split=[2])            # "RC" | "PT TO:<..>\r\n"
    f.reply(b"250 2.1.5 Ok")
    f.cmd(b"RCPT TO:<b@example.net>", split=[len(b"RCPT TO:<b@example.net>") + 1])  # CR | LF
    f.reply(b"550-5.1.1 <b@example.net>: Recipient address rejected:",
            b"550-5.1.1 User unknown in virtual mailbox table",
            b"550 5.1.1 see https://example.org/help", split=[2, 60, 61])
    f.cmd(b"rcpt to:<c@example.net>", retransmit=(0,))   # lowercase; segment retransmitted
    f.reply(b"250 2.1.5 Ok")
    f.cmd(b"DATA", split=[2])
    f.reply(b"354 End data with <CR><LF>.<CR><LF>", split=[2])
    msg = message(700)
    # a body segment ending in "\r\nRCPT" (the body's fake command continues in the next one)
    cut = msg.index(b"RCPT TO:<nor") + 4
    f.body(msg, split=[cut])
    f.reply(b"250 2.0.0 Ok: queued")
    f.cmd(b"mail FROM:<s@example.com>", split=[4])
    f.reply(b"250 2.1.0 Ok")
    f.cmd(b"Rcpt To:<d@example.net>", split=[3, 6])
    f.reply(b"250 2.1.5 Ok", split=[2])                  # "25" | "0 2.1.5 Ok\r\n"
    f.cmd(b"data")
    f.reply(b"354 go")
    f.body(b"short", split=[5])              # "short" | "\r\n.\r\n"
    f.reply(b"250 queued")
    f.cmd(b"QUIT", split=[3])
    f.reply(b"221 Bye")
    f.close()
    # The end-of-data marker split as "CRLF." | "CRLF", as "CRLF.CR" | "LF" and as "CR" | "LF.CRLF",
    # each followed by another transaction.
    f = Flow(g, CLIENTS_V4[6], SERVERS_V4[2])
    f.open()
    f.reply(b"220 mx.example.org ESMTP")
    f.cmd(b"EHLO client.example.com")
    f.reply(b"250 mx.example.org")
    for n, at in enumerate((3, 4, 1)):
        f.cmd(b"MAIL FROM:<s@example.com>")
        f.reply(b"250 2.1.0 Ok")
        f.cmd(b"RCPT TO:<a%d@example.net>" % n)
        f.reply(b"250 2.1.5 Ok")
        f.cmd(b"DATA")
        f.reply(b"354 go")
        msg = message(500)
        f.body(msg, split=[len(msg) + at])
        f.reply(b"250 queued")
    f.cmd(b"QUIT")
    f.reply(b"221 Bye")
    f.close()
    g.except_field(CLIENTS_V4[6], ["mail_from", "rcpt_to", "data"],
                   "tshark 4.0 does not reassemble the message body: an end-of-data marker split "
                   "across segments (CRLF. | CRLF) is not seen, so it reads the next transaction's "
                   "MAIL/RCPT/DATA as message body; the contract counts them (body ends at CRLF.CRLF)")
    full_session(Flow(g, CLIENTS_V6[0], SERVERS_V6[0]), rcpts=3, split_cmds=True)
    full_session(Flow(g, CLIENTS_V4[8], SERVERS_V4[1]), rcpts=2, lower=True, split_cmds=True)
    return g


def cap_multiline():
    g = Gen("multiline_5xx", 1, "multi-line 4xx/5xx replies and rejections naming DNSBLs", 16)
    c = CLIENTS_V4
    # banner rejection naming Spamhaus
    full_session(Flow(g, c[1], SERVERS_V4[0]), banner=[
        b"554 5.7.1 Service unavailable; Client host [192.0.2.11] blocked using zen.spamhaus.org; "
        b"https://www.spamhaus.org/query/ip/192.0.2.11"])
    # 421 banner (4xx, no list)
    full_session(Flow(g, c[1], SERVERS_V4[1]), banner=[b"421 4.7.0 mx.example.org Error: too many connections"])
    # multi-line 550 naming UCEPROTECT (keyword twice in one reply: counts once)
    full_session(Flow(g, c[1], SERVERS_V4[2]), rcpt_codes=[
        [b"550-5.7.1 rejected: listed at dnsbl-1.uceprotect.net",
         b"550-5.7.1 see http://www.UCEPROTECT.net/rblcheck.php?ipr=192.0.2.11",
         b"550 5.7.1 Your IP is listed"], b"250 2.1.5 Ok"])
    # 450 with SpamCop (mixed case), on RCPT
    full_session(Flow(g, c[5], SERVERS_V4[3]), rcpt_codes=[
        b"450 4.7.1 Client host rejected: listed by bl.SpamCop.net, try later",
        b"450 4.7.1 Client host rejected: listed by bl.spamcop.net, try later"])
    # assorted lists, one per reply
    names = [b"b.barracudacentral.org", b"truncate.gbudb.net", b"psbl.surriel.com",
             b"bl.mailspike.net", b"dnsbl.sorbs.net", b"sip.invaluement.com",
             b"Abusix Mail Intelligence", b"all.s5h.net"]
    rc = [[b"550-5.7.1 Message rejected.", b"550 5.7.1 Client host blocked using " + n] for n in names]
    full_session(Flow(g, c[10], SERVERS_V4[4]), rcpt_codes=rc)
    # 5xx and 4xx without any list; 2xx text naming a list (must not count)
    full_session(Flow(g, c[10], SERVERS_V4[0]), rcpt_codes=[
        b"550 5.1.1 User unknown", [b"452-4.2.2 Mailbox full", b"452 4.2.2 try later"],
        b"250 2.1.5 Ok, not listed at zen.spamhaus.org"])
    # DATA refused with a multi-line 554 mentioning Barracuda; later end-of-data 5xx naming SORBS
    full_session(Flow(g, CLIENTS_V6[3], SERVERS_V6[2]), rcpts=1, data_reply=[
        b"554-5.7.1 The message was rejected", b"554 5.7.1 by Barracuda reputation"])
    f = Flow(g, c[12], SERVERS_V4[1])
    full = [b"550-5.7.1 Message rejected as spam.", b"550-5.7.1 Sender IP listed on dnsbl.sorbs.net",
            b"550 5.7.1 Please contact your provider"]
    f.open()
    f.reply(b"220 mx ESMTP")
    f.cmd(b"EHLO x")
    f.reply(b"250 mx")
    f.cmd(b"MAIL FROM:<a@example.com>")
    f.reply(b"250 ok")
    f.cmd(b"RCPT TO:<b@example.net>")
    f.reply(b"250 ok")
    f.cmd(b"DATA")
    f.reply(b"354 go")
    f.body(message(400))
    f.reply(*full, split=[30, 80])
    f.cmd(b"QUIT")
    f.reply(b"221 bye")
    f.close()
    return g


def cap_long_lines():
    g = Gen("long_line", 1, "lines longer than 512 bytes: RCPT, EHLO, a 550 reply; a 2000-byte line over segments", 17)
    f = Flow(g, CLIENTS_V4[4], SERVERS_V4[0])
    f.open()
    f.reply(b"220 mx ESMTP")
    f.cmd(b"EHLO " + b"h" * 700 + b".example.com")
    f.reply(b"250 mx")
    f.cmd(b"MAIL FROM:<" + b"s" * 600 + b"@example.com> SIZE=1000")
    f.reply(b"250 ok")
    f.cmd(b"RCPT TO:<" + b"a" * 560 + b"@example.net>")
    f.reply(b"550 5.1.1 <" + b"a" * 560 + b"@example.net>: recipient unknown; host listed at bl.spamcop.net")
    f.cmd(b"RCPT TO:<" + b"b" * 1990 + b"@example.net>")        # 2000+ bytes, over 2 segments
    f.reply(b"501 5.5.4 " + b"x" * 600)
    f.cmd(b"RCPT TO:<short@example.net>")
    f.reply(b"250 ok")
    f.cmd(b"DATA")
    f.reply(b"354 go")
    f.body(b"Subject: long\r\n\r\n" + b"z" * 3000)
    f.reply(b"250 ok")
    f.cmd(b"QUIT")
    f.reply(b"221 bye")
    f.close()
    full_session(Flow(g, CLIENTS_V6[1], SERVERS_V6[1]), rcpt_codes=[
        [b"550-5.7.1 " + b"y" * 520, b"550 5.7.1 listed on b.barracudacentral.org"]])
    return g


def cap_syn():
    g = Gen("syn_retrans", 1, "SYN retransmissions, refused connections (SYN, RST-ACK), SYNs never "
            "answered, an ECN SYN, a handshake without SMTP, port reuse", 18)
    c = CLIENTS_V4
    full_session(Flow(g, c[0], SERVERS_V4[0]), syn_retrans=2, rcpts=1)
    for s in SERVERS_V4[:4]:
        Flow(g, c[0], s).refused()
    for s in SERVERS_V4[1:3]:             # unanswered: 3 SYNs each
        f = Flow(g, c[8], s)
        for _ in range(3):
            f.syn()
    f = Flow(g, c[8], SERVERS_V4[0])
    f.syn(ece=True)
    f.frame(False, SYN | ACK | ECE, opts=SYN_OPTS_V % struct.pack("!I", 5), ack=f.cseq + 1)
    f.cseq += 1
    f.sseq += 1
    f.frame(True, ACK)
    f.t["sessions"] += 1
    f.close(server_first=False)
    # handshake then the client resets without any SMTP
    f = Flow(g, CLIENTS_V6[3], SERVERS_V6[0])
    f.open()
    f.frame(True, RST | ACK)
    Flow(g, CLIENTS_V6[3], SERVERS_V6[1]).refused()
    # the same 4-tuple twice in a row (port reuse after a closed session)
    f1 = Flow(g, c[13], SERVERS_V4[2], cport=40000)
    full_session(f1, rcpts=1)
    f2 = Flow(g, c[13], SERVERS_V4[2], cport=40000)
    f2.cseq = (f1.cseq + 100000) & 0xffffffff
    full_session(f2, rcpts=2)
    return g


def cap_truncated():
    g = Gen("truncated", 1, "snaplen-cut frames: SYN options cut (flags still visible), "
            "body segments cut, a command segment cut", 19)
    # SYN with options cut after 8 of 20 option bytes (base header complete)
    f = Flow(g, CLIENTS_V4[0], SERVERS_V4[0])
    f.frame(True, SYN, opts=SYN_OPTS_V % struct.pack("!I", 1), seq=f.cseq)
    f.t["syn"] += 1
    g.frames[-1].caplen = 14 + 20 + 28
    f.frame(False, SYN | ACK, opts=SYN_OPTS_V % struct.pack("!I", 1), ack=f.cseq + 1)
    g.frames[-1].caplen = 14 + 20 + 20
    f.cseq += 1
    f.sseq += 1
    f.frame(True, ACK)
    f.t["sessions"] += 1
    f.reply(b"220 mx ESMTP")
    f.cmd(b"EHLO x.example.com")
    f.reply(b"250 mx")
    f.cmd(b"MAIL FROM:<a@example.com>")
    f.reply(b"250 ok")
    f.cmd(b"RCPT TO:<b@example.net>")
    f.reply(b"250 ok")
    # a command whose segment is cut after 6 payload bytes: its payload is not parsed; the next
    # segment starts a fresh line and counts
    f.cmd(b"RCPT TO:<cut@example.net>", keep={0: 6}, uncounted=True)
    f.reply(b"250 ok")
    g.except_field(f.client, ["rcpt_to"],
                   "tshark parses the captured part of a snaplen-cut segment (\"RCPT T\" of a "
                   "27-byte command) as a RCPT command; the contract does not parse the payload of "
                   "truncated frames")
    f.cmd(b"RCPT TO:<c@example.net>")
    f.reply(b"250 ok")
    f.cmd(b"DATA")
    f.reply(b"354 go")
    body = message(4000)
    f.body(body, split=[1400, 2800], keep={0: 30, 1: 0})    # 2 body segments cut
    f.reply(b"250 ok")
    f.cmd(b"QUIT")
    f.reply(b"221 bye")
    f.close()
    # SYNs cut right after the 20-byte base header (tcpdump -s 54 style) on IPv4 and IPv6
    for c, s in ((CLIENTS_V4[1], SERVERS_V4[1]), (CLIENTS_V6[0], SERVERS_V6[0])):
        f = Flow(g, c, s)
        f.syn()
        g.frames[-1].caplen = len(g.frames[-1].data) - 20
        f.syn()
        g.frames[-1].caplen = len(g.frames[-1].data) - 20
    # a session whose big reply segment from the server is cut (no command in it)
    full_session(Flow(g, CLIENTS_V6[0], SERVERS_V6[1]), rcpts=2)
    return g


def cap_garbage():
    g = Gen("garbage", 1, "malformed frames among valid sessions", 20)
    first = []
    full_session(Flow(g, CLIENTS_V4[0], SERVERS_V4[0], sink=first), rcpts=2)
    eth4 = link_header("eth", CLIENTS_V4[0], SERVERS_V4[0], True, 0x0800)
    eth6 = link_header("eth", CLIENTS_V6[0], SERVERS_V6[0], True, 0x86dd)
    src, dst = CLIENTS_V4[0], SERVERS_V4[1]
    syn = lambda s, d, **kw: tcp(s, d, 40001, 25, 1000, 0, SYN, b"", **kw)
    bad = []
    # IP version 1 after an IPv4 ethertype
    p = bytearray(ipv4(src, dst, 6, syn(src, dst)))
    p[0] = 0x15
    bad.append(eth4 + bytes(p))
    # IHL 3
    bad.append(eth4 + ipv4(src, dst, 6, syn(src, dst), ihl=3))
    # total length smaller than the header
    bad.append(eth4 + ipv4(src, dst, 6, syn(src, dst), total_len=10))
    # total length past the end of the frame (caplen == len)
    bad.append(eth4 + ipv4(src, dst, 6, syn(src, dst), total_len=400))
    # IHL 15 with a 20-byte frame body
    bad.append(eth4 + ipv4(src, dst, 6, b"", ihl=15, total_len=20))
    # TCP data offset 3 (< 5)
    bad.append(eth4 + ipv4(src, dst, 6, tcp(src, dst, 40002, 25, 1, 0, SYN, doff=3)))
    # TCP data offset 15 but only a 20-byte segment
    bad.append(eth4 + ipv4(src, dst, 6, tcp(src, dst, 40003, 25, 1, 0, SYN, doff=15)))
    # IP says TCP of 10 bytes: shorter than a TCP header
    bad.append(eth4 + ipv4(src, dst, 6, syn(src, dst)[:10]))
    # IPv6 payload length past the frame
    s6, d6 = CLIENTS_V6[0], SERVERS_V6[1]
    bad.append(eth6 + ipv6(s6, d6, 6, syn(s6, d6), plen=1000))
    # IPv6 with version 7
    p = bytearray(ipv6(s6, d6, 6, syn(s6, d6)))
    p[0] = 0x70
    bad.append(eth6 + bytes(p))
    # frame shorter than an Ethernet header
    bad.append(bytes.fromhex("0200c0000201"))
    # garbage behind an 802.1Q tag: "IPv4" whose first byte says version 0
    vl = link_header("vlan", src, dst, True, 0x0800)
    bad.append(vl + b"\x00" + rand_bytes(45))
    # random bytes behind the IPv4 ethertype, first nibble forced to 9
    bad.append(eth4 + bytes([0x9f]) + rand_bytes(70))
    # the malformed frames go into the middle of the first session
    g.frames = first[:12] + [Frame(b, kind="malformed") for b in bad] + first[12:]
    # an ARP frame and a UDP DNS frame: neither SMTP nor malformed
    g.add(Frame(bytes.fromhex("ffffffffffff02000000000108060001080006040001020000000001c0000201000000000000c0000202")
                + b"\0" * 18, kind="other"))
    udp = struct.pack("!HHHH", 53000, 53, 8 + 12, 0) + rand_bytes(12)
    g.add(Frame(eth4 + ipv4(src, "192.0.2.53", 17, udp), kind="other"))
    # ICMP / ICMPv6 errors quoting a SYN to port 25 (tshark shows the quoted tcp.dstport 25 and
    # SYN flag; the frame is ICMP, not an SMTP frame, and its SYN is not the client's)
    q4 = ipv4(src, dst, 6, syn(src, dst, opts=SYN_OPTS_V % b"\0\0\0\1"))[:20 + 28]
    icmp = b"\x03\x03\0\0\0\0\0\0" + q4
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    g.add(Frame(link_header("eth", dst, src, False, 0x0800) + ipv4(dst, src, 1, icmp), kind="other"))
    q6 = ipv6(s6, d6, 6, syn(s6, d6))
    icmp6 = b"\x01\x04\0\0\0\0\0\0" + q6
    g.add(Frame(link_header("eth", d6, s6, False, 0x86dd) + ipv6(d6, s6, 58, icmp6), kind="other"))
    full_session(Flow(g, CLIENTS_V6[0], SERVERS_V6[0]), rcpts=1)
    return g


def cap_fragments():
    g = Gen("fragments", 1, "IPv4 non-first fragments whose bytes look like a TCP SYN to :25 "
            "(must not count); valid sessions around them", 21)
    full_session(Flow(g, CLIENTS_V4[2], SERVERS_V4[0]), rcpts=1)
    eth = link_header("eth", CLIENTS_V4[2], SERVERS_V4[0], True, 0x0800)
    for i, off in enumerate((8, 24, 1480)):
        fake = tcp(CLIENTS_V4[2], SERVERS_V4[1], 40010 + i, 25, 7, 0, SYN,
                   opts=SYN_OPTS_V % b"\0\0\0\1")
        g.add(Frame(eth + ipv4(CLIENTS_V4[2], SERVERS_V4[1], 6, fake, frag_off=off, mf=(i != 2),
                               df=False, ident=4242 + i), kind="fragment"))
    full_session(Flow(g, CLIENTS_V4[2], SERVERS_V4[2]), rcpts=2)
    return g


def cap_mixed():
    g = Gen("mixed", 1, "seeded mix: ~250 interleaved sessions over Ethernet/802.1Q/QinQ, IPv4 "
            "(some with options) and IPv6 (some with extension headers), pipelining, splits, "
            "STARTTLS, rejections, retransmitted/refused/unanswered SYNs, malformed, truncated "
            "and fragment frames", 22)
    flows = []
    hbh = (0, b"\0\x01\x04\0\0\0\0")
    clients = CLIENTS_V4 + CLIENTS_V6
    rej = [b"554 5.7.1 Service unavailable; Client host [%s] blocked using zen.spamhaus.org",
           b"550 5.7.1 rejected: listed at dnsbl-1.uceprotect.net",
           b"450 4.7.1 Client host rejected: listed by bl.spamcop.net",
           b"550 5.7.1 blocked by b.barracudacentral.org",
           b"550 5.1.1 User unknown", b"452 4.2.2 Mailbox full"]
    for i in range(250):
        c = clients[RNG.randrange(len(clients)) if i % 5 else i % len(clients)]
        v6 = ":" in c
        s = RNG.choice(SERVERS_V6 if v6 else SERVERS_V4)
        link = RNG.choice(["eth", "eth", "vlan", "qinq88a8", "qinq8100"])
        kw = {}
        if v6 and RNG.random() < 0.3:
            kw["v6ext"] = [hbh]
        if not v6 and RNG.random() < 0.2:
            kw["v4opts"] = b"\x94\x04\x00\x00"
        sink = []
        f = Flow(g, c, s, link=link, sink=sink, vlan=(RNG.randrange(1, 4095), RNG.randrange(1, 4095)), **kw)
        r = RNG.random()
        if r < 0.06:
            f.refused()
        elif r < 0.10:
            for _ in range(RNG.randrange(1, 4)):
                f.syn()
        else:
            n = RNG.randrange(1, 6)
            codes = []
            for _ in range(n):
                x = RNG.random()
                if x < 0.75:
                    codes.append(b"250 2.1.5 Ok")
                else:
                    codes.append(RNG.choice(rej).replace(b"%s", c.encode()))
            full_session(f, rcpt_codes=codes, pipelining=RNG.random() < 0.3,
                         starttls=220 if RNG.random() < 0.1 else None,
                         syn_retrans=1 if RNG.random() < 0.08 else 0,
                         body_size=RNG.randrange(200, 3000), lower=RNG.random() < 0.1,
                         split_cmds=RNG.random() < 0.2,
                         body_keep=RNG.choice([None, None, None, 0, 100]))
        flows.append(sink)
    # inbound: an outside client sending to a server inside the provider space (192.0.2.53);
    # without a config that client is listed like any other, with -c it is not ours (absent)
    # while its frames still count in packets.smtp (an endpoint is inside the prefixes)
    for i in range(4):
        sink = []
        full_session(Flow(g, "100.64.9.9", "192.0.2.53", link="vlan", sink=sink), rcpts=1 + i % 2)
        flows.insert(RNG.randrange(len(flows)), sink)
    # interleave, keeping each flow's order
    active = [fl for fl in flows if fl]
    pos = [0] * len(active)
    window = 12
    out = []
    live = list(range(min(window, len(active))))
    nxt = len(live)
    while live:
        k = RNG.randrange(len(live))
        j = live[k]
        out.append(active[j][pos[j]])
        pos[j] += 1
        if pos[j] == len(active[j]):
            if nxt < len(active):
                live[k] = nxt
                nxt += 1
            else:
                live.pop(k)
    # damage: truncate some body frames (payload only) and insert malformed/fragment frames
    src, dst = CLIENTS_V4[0], SERVERS_V4[0]
    eth4 = link_header("eth", src, dst, True, 0x0800)
    extra = [Frame(eth4 + ipv4(src, dst, 6, tcp(src, dst, 40002, 25, 1, 0, SYN, doff=4)), kind="malformed"),
             Frame(eth4 + ipv4(src, dst, 6, b"\0" * 20, ihl=4), kind="malformed"),
             Frame(eth4 + ipv4(src, dst, 6, tcp(src, dst, 40003, 25, 1, 0, SYN), frag_off=64, df=False),
                   kind="fragment")]
    for e in extra:
        out.insert(RNG.randrange(len(out)), e)
    g.frames = out
    return g


def build_all(outdir):
    os.makedirs(outdir, exist_ok=True)

    gens = [
        cap_link("eth_basic", "eth", "plain Ethernet, IPv4 and IPv6, full sessions", 1),
        cap_link("vlan_8021q", "vlan", "802.1Q-tagged Ethernet", 2),
        cap_link("qinq_88a8", "qinq88a8", "QinQ: 802.1ad outer tag (0x88a8) + 802.1Q inner", 3),
        cap_link("qinq_8100x2", "qinq8100", "QinQ with two 0x8100 tags", 4),
        cap_link("sll", "sll", "Linux cooked capture v1 (linktype 113)", 5),
        cap_link("sll2", "sll2", "Linux cooked capture v2 (linktype 276)", 6),
        cap_link("raw_ip", "raw", "raw IP (linktype 101), IPv4 and IPv6", 7),
        cap_ipv6_ext(), cap_ipv4_opts(), cap_starttls(), cap_pipelining(), cap_split(),
        cap_multiline(), cap_long_lines(), cap_syn(), cap_truncated(), cap_garbage(),
        cap_fragments(), cap_mixed(),
    ]
    truth = {}
    for g in gens:
        g.write(outdir)
        truth[g.name + ".pcap"] = g.truth()
    # pcapng / nanosecond variants, converted with Wireshark's own tools (same frames, same truth)
    conv = [("mixed.pcapng", ["editcap", "-F", "pcapng"], ["mixed.pcap"]),
            ("eth_basic_nsec.pcap", ["editcap", "-F", "nsecpcap"], ["eth_basic.pcap"])]
    for out, cmd, srcs in conv:
        subprocess.run(cmd + [os.path.join(outdir, s) for s in srcs] + [os.path.join(outdir, out)],
                       check=True)
        t = json.loads(json.dumps(truth[srcs[0]]))
        t["file"] = out
        t["desc"] = "%s converted with %s" % (srcs[0], " ".join(cmd))
        truth[out] = t
    # pcapng with three interfaces of different link types (Ethernet, SLL2, raw IP) in one file:
    # mergecap -a concatenates; the truth is the sum of the three.
    parts = ["vlan_8021q.pcap", "sll2.pcap", "raw_ip.pcap"]
    subprocess.run(["mergecap", "-a", "-F", "pcapng", "-w", os.path.join(outdir, "multi_if.pcapng")] +
                   [os.path.join(outdir, p) for p in parts], check=True)
    truth["multi_if.pcapng"] = merge_truth([truth[p] for p in parts], "multi_if.pcapng",
                                           "pcapng with 3 interfaces (802.1Q Ethernet, SLL2, raw IP)")
    with open(os.path.join(outdir, "truth.json"), "w") as f:
        json.dump(truth, f, indent=1, sort_keys=True)
    return truth


def merge_truth(ts, name, desc):
    ips = {}
    for t in ts:
        for ip, c in t["ips"].items():
            if ip not in ips:
                ips[ip] = json.loads(json.dumps(c))
                continue
            d = ips[ip]
            for k in COUNTERS:
                if k != "dst_ips":
                    d[k] += c[k]
            for k, v in c["rejections_citing"].items():
                d["rejections_citing"][k] = d["rejections_citing"].get(k, 0) + v
            d["_dst"] = sorted(set(d["_dst"]) | set(c["_dst"]))
            d["dst_ips"] = len(d["_dst"])
    pk = {k: sum(t["packets"][k] for t in ts) for k in ("total", "smtp", "malformed", "truncated")}
    exc = {}
    for t in ts:
        exc.update(t["tshark_exceptions"])
    return {"file": name, "linktype": None, "desc": desc, "packets": pk, "ips": dict(sorted(ips.items())),
            "tshark_exceptions": exc}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: gen_captures.py OUTDIR")
    t = build_all(sys.argv[1])
    for name, c in t.items():
        print("%-24s %5d frames  %s" % (name, c["packets"]["total"], c["desc"]))
