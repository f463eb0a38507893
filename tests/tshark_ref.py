#!/usr/bin/python3
"""The tshark reference for `rangewatch analyze --json`.

Usage: /usr/bin/python3 tests/tshark_ref.py [--prefixes FILE] [--lists FILE] CAPTURE...
Prints one JSON object shaped like analyze's: packets {total, smtp, malformed, truncated} and
ips [{ip, customer: null, syn, sessions, dst_ips, bytes_out, mail_from, rcpt_to, data, starttls,
replies_4xx, replies_5xx, rejections_citing}].  With --prefixes (the prefixes.txt format:
"CIDR ASN [alloc]" per line) only clients inside those prefixes are listed and packets.smtp
counts only frames with an endpoint inside them; customer mapping is compare.py's business.
--lists names the dnsbl.conf whose `cite` patterns say which list a rejection names
(default: the repository's etc/dnsbl.conf); rejections_citing is {list name: replies}.

Everything comes from tshark 4.0 (two passes, -2, with TCP desegmentation on):

pass A (-T json -e fields, every frame):
  * a frame is an SMTP frame when its outermost network layer (first ip/ipv6 in
    frame.protocols, IPv6 extension headers skipped) is directly followed by tcp and either port
    is 25.  TCP quoted inside ICMP errors or tunnelled inside another IP header does not count.
  * malformed = tshark reports a broken link/IP/TCP header: the expert messages "Bogus IPv4
    version", "Bogus IP header length", "Bogus IP length", "IPv4 total length exceeds packet
    length", "Bogus TCP header length", "IPv6 payload length exceeds framing length", "Bogus
    IPv6 version", "Short segment..." or a "[Malformed Packet: X]" where X is a link, IP or TCP
    layer (an exception inside DNS, SMTP, IMF... is not a broken header).  Such frames count
    nowhere else (tshark still shows the SYN flag of some of them).
  * non-first IPv4 fragments (ip.frag_offset > 0) are not SMTP frames; defragmentation is off
    (the product looks at frames one by one).
  * syn: tcp.flags SYN without ACK, dport 25, per ip.src/ipv6.src (retransmissions included).
  * sessions: per tcp.stream, tcp.completeness & 7 == 7 (SYN, SYN-ACK, ACK seen; with -2 every
    frame carries the stream's final value), attributed to the stream's client (the side that
    sent to port 25).
  * dst_ips: distinct ip.dst/ipv6.dst of the client's frames to port 25 (SYNs included).
  * bytes_out: sum of tcp.len of those frames (retransmissions included; tcp.len comes from the
    IP length, so a snaplen-cut frame counts its wire length).
  * mail_from / rcpt_to / data: smtp.req.command occurrences (pipelined commands are several
    occurrences in one frame) in frames to port 25, compared case-insensitively.
  * truncated: frame.cap_len < frame.len.

pass B (-Y smtp.rsp -T json -x, the raw bytes of each SMTP response PDU tshark dissected):
  * replies: tshark 4.0 groups the lines of a multi-line reply into one smtp.response only when
    the whole reply sits in one PDU; when a reply is split across segments it shows each part as
    a response of its own, and a part cut mid-line gets a truncated parameter.  So the reference
    concatenates the bytes of the SMTP response PDUs of each stream (server to client, in frame
    order: exactly the reassembled reply stream tshark dissected, which stops where TLS starts)
    and splits that into lines; a reply ends at a line "NNN" or "NNN <text>" (a final line); the
    4xx/5xx ones count, attributed to the client; rejections_citing counts a 4xx/5xx reply under
    each list it names (lists_named(): the dnsbl.conf `cite` rules, written here from the
    file's documentation, not from the C code).
  * starttls: a STARTTLS command (tshark 4.0 shows it as "STAR") whose next reply in that stream
    is 220 (that is also what makes tshark switch the stream to TLS).
"""
import ipaddress
import json
import os
import re
import subprocess
import sys
from collections import defaultdict

DEFAULT_LISTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "etc", "dnsbl.conf")
COUNTERS = ["syn", "sessions", "dst_ips", "bytes_out", "mail_from", "rcpt_to", "data",
            "starttls", "replies_4xx", "replies_5xx"]

TSHARK_OPTS = ["-2", "-o", "tcp.desegment_tcp_streams:TRUE", "-o", "ip.defragment:FALSE",
               "-o", "ipv6.defragment:FALSE", "-o", "tcp.analyze_sequence_numbers:TRUE"]

FIELDS = ["frame.number", "frame.len", "frame.cap_len", "frame.protocols",
          "ip.src", "ip.dst", "ip.frag_offset", "ipv6.src", "ipv6.dst",
          "tcp.srcport", "tcp.dstport", "tcp.stream", "tcp.flags", "tcp.len", "tcp.completeness",
          "smtp.req.command", "_ws.malformed", "_ws.expert.message"]

BROKEN_HEADER = re.compile(r"^(Bogus IPv4 version|Bogus IP header length|Bogus IP length|"
                           r"IPv4 total length exceeds packet length|Bogus TCP header length|"
                           r"IPv6 payload length exceeds framing length|Bogus IPv6 version|"
                           r"Short segment)")
HEADER_LAYERS = {"Ethernet", "IPv4", "IP", "IPv6", "TCP", "802.1Q Virtual LAN", "VLAN",
                 "Linux cooked-mode capture", "Linux cooked-mode capture v2", "Raw packet data",
                 "SLL", "SLL2", "Frame"}
IPV6_EXT = {"ipv6.hopopts", "ipv6.dstopts", "ipv6.routing", "ipv6.fraghdr", "ipv6.shim6"}


def run_tshark(args):
    p = subprocess.run(["tshark"] + args, capture_output=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr.decode(errors="replace"))
        raise SystemExit("tshark failed: %s" % " ".join(args))
    return json.loads(p.stdout or b"[]")


def first(layers, key, conv=str):
    v = layers.get(key)
    if not v:
        return None
    return conv(v[0])


def is_malformed(layers):
    for m in layers.get("_ws.expert.message", []):
        if BROKEN_HEADER.match(m):
            return True
    for m in layers.get("_ws.malformed", []):
        mm = re.match(r"^\[Malformed Packet: (.*)\]$", m)
        if mm and mm.group(1) in HEADER_LAYERS:
            return True
    return False


def outer_is_tcp(protocols):
    parts = protocols.split(":")
    for i, p in enumerate(parts):
        if p in ("ip", "ipv6"):
            j = i + 1
            while j < len(parts) and parts[j] in IPV6_EXT:
                j += 1
            return j < len(parts) and parts[j] == "tcp"
    return False


def load_prefixes(path):
    nets = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                nets.append(ipaddress.ip_network(line.split()[0], strict=False))
    return nets


def in_prefixes(ip, nets):
    a = ipaddress.ip_address(ip)
    return any(a.version == n.version and a in n for n in nets)


def domain_label(zone):
    """The registered-domain label of a zone: dnsbl-1.uceprotect.net -> uceprotect,
    dnsbl.example.co.uk -> example (a two-letter suffix after co/com/net/org/ac/gov/edu/or/
    ne/go counts as one), localzone -> localzone."""
    labels = zone.rstrip(".").lower().split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in (
            "co", "com", "net", "org", "ac", "gov", "edu", "or", "ne", "go"):
        return labels[-3]
    return labels[-2] if len(labels) >= 2 else labels[-1]


def load_cite_rules(path):
    """[(list name, [(mark, pattern)])] from a dnsbl.conf, in file order. mark is "" (plain),
    "~" (fallback) or "!" (exclusion); patterns are lower case. `cite` lines accumulate and
    hold comma-separated patterns; without any, the zone and ~its domain label (a pattern
    has 3 to 63 characters: shorter or longer defaults are left out, and a zone that cannot
    be one leaves its label plain)."""
    rules = []
    cur = None
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line or line[0] in ";#":
                continue
            m = re.match(r'^\[\s*list\s+"(.*)"\s*\]$', line)
            if m:
                cur = {"name": m.group(1), "zone": None, "cite": []}
                rules.append(cur)
                continue
            key, _, val = line.partition("=")
            key, val = key.strip().lower(), val.strip()
            if len(val) >= 2 and val[0] == '"' and val[-1] == '"':
                val = val[1:-1]
            if key == "zone":
                cur["zone"] = val.rstrip(".").lower()
            elif key == "cite":
                for p in val.split(","):
                    p = p.strip()
                    mark = p[0] if p[:1] in ("~", "!") else ""
                    cur["cite"].append((mark, p[len(mark):].lower()))
    out = []
    for r in rules:
        pats = r["cite"]
        if not pats:
            z, lab = r["zone"], domain_label(r["zone"])
            if 3 <= len(z) <= 63:
                pats = [("", z)] + ([("~", lab)] if lab != z and len(lab) >= 3 else [])
            elif 3 <= len(lab) <= 63:
                pats = [("", lab)]
        out.append((r["name"], pats))
    return out


def lists_named(text, rules):
    """The lists a reply (its text, any case) names: a list whose !pattern the text
    contains is never named; else one whose plain pattern it contains is; else one whose
    ~pattern it contains, unless the text also contains a plain pattern of any list that
    itself contains that ~pattern."""
    text = text.lower()
    plain_hits = [p for _, pats in rules for m, p in pats if m == "" and p in text]
    named = []
    for name, pats in rules:
        if any(m == "!" and p in text for m, p in pats):
            continue
        if any(m == "" and p in text for m, p in pats):
            named.append(name)
        elif any(m == "~" and p in text and not any(p in q for q in plain_hits)
                 for m, p in pats):
            named.append(name)
    return named


def split_replies(data):
    """Splits a server byte stream into replies: [(code, [lines], end offset)]."""
    out = []
    cur = []
    pos = 0
    for raw in data.split(b"\n"):
        end = pos + len(raw) + 1
        line = raw.rstrip(b"\r")
        pos = end
        if end > len(data):          # no LF: an unfinished line is not a reply
            break
        m = re.match(rb"^(\d{3})([ -]|$)", line)
        cur.append(line)
        if m and m.group(2) != b"-":
            out.append((int(m.group(1)), cur, end))
            cur = []
    return out


def reference(path, prefixes=None, rules=None):
    if rules is None:
        rules = load_cite_rules(DEFAULT_LISTS)
    frames = run_tshark(["-r", path] + TSHARK_OPTS + ["-T", "json"] +
                        sum((["-e", f] for f in FIELDS), []))
    ips = defaultdict(lambda: {"syn": 0, "bytes_out": 0, "mail_from": 0, "rcpt_to": 0,
                               "data": 0, "starttls": 0, "replies_4xx": 0, "replies_5xx": 0,
                               "rejections_citing": defaultdict(int), "_dst": set(),
                               "_streams": set()})
    pk = {"total": 0, "smtp": 0, "malformed": 0, "truncated": 0}
    stream_client = {}
    stream_complete = {}
    star_frames = defaultdict(list)     # stream -> frame numbers of STARTTLS commands
    server_frames = {}                  # frame number -> (stream, client)
    for fr in frames:
        l = fr["_source"]["layers"]
        pk["total"] += 1
        if first(l, "frame.cap_len", int) < first(l, "frame.len", int):
            pk["truncated"] += 1
        if is_malformed(l):
            pk["malformed"] += 1
            continue
        if not outer_is_tcp(first(l, "frame.protocols") or ""):
            continue
        if (first(l, "ip.frag_offset", int) or 0) > 0:
            continue
        sport = first(l, "tcp.srcport", int)
        dport = first(l, "tcp.dstport", int)
        if sport != 25 and dport != 25:
            continue
        src = first(l, "ip.src") or first(l, "ipv6.src")
        dst = first(l, "ip.dst") or first(l, "ipv6.dst")
        src = ipaddress.ip_address(src).compressed
        dst = ipaddress.ip_address(dst).compressed
        if prefixes is not None and not (in_prefixes(src, prefixes) or in_prefixes(dst, prefixes)):
            continue
        pk["smtp"] += 1
        stream = first(l, "tcp.stream", int)
        comp = first(l, "tcp.completeness", int) or 0
        stream_complete[stream] = max(stream_complete.get(stream, 0), comp)
        num = first(l, "frame.number", int)
        if dport != 25:
            server_frames[num] = (stream, dst)
            continue
        if prefixes is not None and not in_prefixes(src, prefixes):
            continue
        c = ips[src]
        stream_client[stream] = src
        flags = int(first(l, "tcp.flags"), 16)
        if flags & 0x12 == 0x02:
            c["syn"] += 1
        c["bytes_out"] += first(l, "tcp.len", int) or 0
        c["_dst"].add(dst)
        c["_streams"].add(stream)
        for cmd in l.get("smtp.req.command", []):
            cu = cmd.upper()
            if cu == "MAIL":
                c["mail_from"] += 1
            elif cu == "RCPT":
                c["rcpt_to"] += 1
            elif cu == "DATA":
                c["data"] += 1
            elif cu in ("STAR", "STARTTLS"):
                star_frames[stream].append(num)

    # pass B: reply bytes
    rsp = run_tshark(["-r", path] + TSHARK_OPTS + ["-Y", "smtp.rsp", "-T", "json", "-x",
                                                   "--no-duplicate-keys", "-J", "frame smtp"])
    streams = {}     # stream -> {"data": reply bytes, "marks": [(end offset, frame)], "client"}
    for fr in rsp:
        l = fr["_source"]["layers"]
        num = int(l["frame"]["frame.number"])
        if num not in server_frames:
            continue
        stream, client = server_frames[num]
        raws = l.get("smtp_raw")
        if raws is None:
            continue
        if raws and not isinstance(raws[0], list):
            raws = [raws]
        st = streams.setdefault(stream, {"data": b"", "marks": [], "client": client})
        for r in raws:
            st["data"] += bytes.fromhex(r[0])
            st["marks"].append((len(st["data"]), num))
    for stream, st in streams.items():
        data, marks, client = st["data"], st["marks"], st["client"]
        if prefixes is not None and not in_prefixes(client, prefixes):
            continue
        c = ips[client]
        stars = list(star_frames.get(stream, []))
        for code, lines, end in split_replies(data):
            fnum = next(n for e, n in marks if e >= end)
            while stars and stars[0] < fnum:
                stars.pop(0)
                if code == 220:
                    c["starttls"] += 1
            if 400 <= code < 600:
                c["replies_4xx" if code < 500 else "replies_5xx"] += 1
                for k in lists_named(b"\n".join(lines).decode("latin-1"), rules):
                    c["rejections_citing"][k] += 1

    out = []
    for ip in sorted(ips, key=lambda x: (ipaddress.ip_address(x).version, ipaddress.ip_address(x))):
        c = ips[ip]
        sessions = sum(1 for s in c["_streams"] if stream_complete.get(s, 0) & 7 == 7)
        out.append({"ip": ip, "customer": None, "syn": c["syn"], "sessions": sessions,
                    "dst_ips": len(c["_dst"]), "bytes_out": c["bytes_out"],
                    "mail_from": c["mail_from"], "rcpt_to": c["rcpt_to"], "data": c["data"],
                    "starttls": c["starttls"], "replies_4xx": c["replies_4xx"],
                    "replies_5xx": c["replies_5xx"],
                    "rejections_citing": dict(sorted(c["rejections_citing"].items())),
                    "_dst": sorted(c["_dst"])})
    return {"packets": pk, "ips": out}


def main(argv):
    prefixes = None
    rules = None
    args = argv[1:]
    while len(args) >= 2 and args[0] in ("--prefixes", "--lists"):
        if args[0] == "--prefixes":
            prefixes = load_prefixes(args[1])
        else:
            rules = load_cite_rules(args[1])
        args = args[2:]
    if not args:
        sys.exit("usage: tshark_ref.py [--prefixes FILE] [--lists FILE] CAPTURE...")
    res = [reference(a, prefixes, rules) for a in args]
    for r in res:
        for e in r["ips"]:
            del e["_dst"]
    print(json.dumps(res[0] if len(res) == 1 else res, indent=1))


if __name__ == "__main__":
    main(sys.argv)
