#!/usr/bin/python3
"""The detection scenario suite's stories: a world, days of traffic, an incident, the zone
timeline the lists would publish, and what must come out.

Usage (normally through tests/scenarios/run.py):
  /usr/bin/python3 tests/scenarios/stories.py list
  /usr/bin/python3 tests/scenarios/stories.py NAME short|long OUTDIR [D0|- [nosplit]]
      writes the files (D0: the incident day's midnight, UTC seconds; default three days ago)

Each story is built by a function below from a seeded RNG: the customers' quiet baseline
(realistic daily rhythm, a few percent of normal bounces), the incident traffic, and then --
from that traffic, by the rules below, never picked to suit a model -- when each list would
list what:

  spam sessions go to many distinct MX, 3-8 RCPT each (10% dead addresses in a harvested
  list), and remote MX fall in three classes fixed per MX: 25% reject clients listed on
  Spamhaus ZEN, 10% on UCEPROTECT (L1, and L2/L3 for collateral), 65% use no DNSBL (15% of
  spam is refused at DATA by content filters there). A rejecting MX refuses every RCPT of
  the session with the real text (dnsbl-facts.md): "554 5.7.1 Service unavailable; Client
  host [x] blocked using zen.spamhaus.org; ..." / "... dnsbl-1.uceprotect.net; IP x is
  UCEPROTECT-Level1 listed ..." / "... dnsbl-2.uceprotect.net; Net N/24 is UCEPROTECT-Level2
  listed because N abusers are hosted by ..." (innocents in a listed range get those too).
  TRAP MODEL (the only modelling choice, stated here): spam reaches spamtraps in proportion
  to the RCPTs it gets accepted. ZEN (CSS/XBL, fed by Spamhaus's own traps, fast) lists an
  IP 5 min after ZEN_RCPT accepted spam RCPTs (an IPv6 /64 after ZEN_RCPT from all its
  addresses together); UCEPROTECT Level 1 lists it 10 min after
  TRAP_RCPT (its first trap impact): a 1,500 sessions/h burst is listed 30-50 min in, a
  slow leak after a day or more. One listed IP counts as one impact (the lower bound
  design.md names; real lists may count more trap hits per IP, which would only make the
  escalations below come earlier). IPv6: UCEPROTECT lists IPv4 only; ZEN lists the /64.
  UCEPROTECT Level 2 lists an allocation (the smallest `alloc` block holding the IP, else
  its /24) at the next hourly rebuild (the next full hour) after the 7-day count of L1
  impacts in it reaches its threshold (1 for /27../32, 2 /26, 3 /25, 4 /24); Level 3 lists
  the ASN at the next hourly rebuild after it has >= 50 impacts and SPAMSCORE >= 50.
  Impacts listed before the capture starts ("stale": earlier incidents this week, still
  within L1's 7 days) are in the zones from the start.
  SNDS (stories with st.snds, written to snds.csv): Microsoft's mailboxes get MS_SHARE (20%)
  of every IP's recipients; its spam traps, the largest network of them, see one hit per
  MS_TRAP_RCPT (500) accepted spam RCPTs (5x UCEPROTECT's density: that is the modelling
  choice, and the lead SNDS gives scales with it); a Pacific day's row (only for IPs that
  sent Microsoft >= 100 recipients that day) has the day's RCPT, DATA and recipients at
  Microsoft, the filter result by the day's spam share there (> 90% RED, >= 10% YELLOW, else
  GREEN), "< 0.1%" complaints, the trap hits and the first and last trapped session's time.
  The daemon gets the whole file at once: the engine counts a row only from the end of its
  day (the earliest Microsoft can report it; the real SNDS publishes hours later, so the
  story's SNDS lead is that much of an upper bound).

OUTDIR gets prefixes.txt, customers.csv, segNN-fast.pcap / segNN-follow.pcap (the capture
in stretches: "follow" from PRE before each zone change to POST after it, replayed
compressed while the zones follow the model's clock; "fast" the rest, replayed at full
speed, the zones standing still; see Story.segments) and story.json (timeline, segments,
culprits, innocents, expectations). The packets are written by wire.py.
"""
import bisect
import ipaddress
import json
import os
import random
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wire  # noqa: E402

H = 3600
DAY = 86400
ZEN_RCPT = 1000
TRAP_RCPT = 2500
ZEN_DELAY = 300
L1_DELAY = 600
ASN = 64500
HOLDER = "Example Hosting"
L3_MIN, L3_SCORE = 50, 50.0
MS_SHARE = 0.20
MS_TRAP_RCPT = 500
PRE = 15 * 60       # a followed stretch starts this long before a zone change,
POST = H            # ends this long after it (the daemon sees a change 10-30 model min late at 600x)
MIN_FAST = 2 * H    # and quiet stretches shorter than this are followed too (a restart costs ~3 s)

T_ZEN = ("554 5.7.1 Service unavailable; Client host [{ip}] blocked using zen.spamhaus.org; "
         "https://www.spamhaus.org/query/ip/{ip}")
T_L1 = ("554 5.7.1 Service unavailable; Client host [{ip}] blocked using dnsbl-1.uceprotect.net; "
        "IP {ip} is UCEPROTECT-Level1 listed. See http://www.uceprotect.net/rblcheck.php?ipr={ip}")
T_L2 = ("554 5.7.1 Service unavailable; Client host [{ip}] blocked using dnsbl-2.uceprotect.net; "
        "Net {net} is UCEPROTECT-Level2 listed because {n} abusers are hosted by "
        + HOLDER + "/AS%d there. See: http://www.uceprotect.net/rblcheck.php?ipr={ip}" % ASN)
T_L3 = ("554 5.7.1 Service unavailable; Client host [{ip}] blocked using dnsbl-3.uceprotect.net; "
        "Your ISP " + HOLDER + "/AS%d is UCEPROTECT-Level3 listed because of a spamscore of "
        "{score:.1f}. See: http://www.uceprotect.net/rblcheck.php?ipr={ip}" % ASN)
T_UNKNOWN = "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table"
T_GREY = "450 4.2.0 <{rcpt}>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.net.html"
T_FULL = "552 5.2.2 <{rcpt}>: Mailbox full"
T_CONTENT = "550 5.7.1 Message rejected as spam by Content Filtering."
OK_RCPT = "250 2.1.5 Ok"


def mx_addr(i, v6=False):
    return "2001:2:0:%x::25" % i if v6 else "198.18.%d.%d" % (i // 200, 10 + i % 200)


def mx_class(i):
    h = (i * 2654435761) % 100
    return "zen" if h < 25 else "ucep" if h < 35 else "plain"


def thr_range(plen):
    t = {32: 1, 31: 1, 30: 1, 29: 1, 28: 1, 27: 1, 26: 2, 25: 3, 24: 4}
    if plen in t:
        return t[plen]
    return thr_range(plen + 1) + thr_range(plen + 3)


class Story:
    def __init__(self, name, title, variant, d0, seed):
        self.name, self.title, self.variant = name, title, variant
        self.long = variant == "long"
        self.d0 = d0                      # midnight UTC of the incident day
        self.rng = random.Random(seed)
        self.prefixes = []                # (cidr, alloc)
        self.customers = []               # (id, name, cidrs, tags)
        self.sessions = []                # dicts
        self.stale = []                   # IPs listed on L1 before the capture starts
        self.culprits = {}                # id -> {"spam_start", "burst"}
        self.expect = {}
        self.start = None
        self.end = None
        self.notes = []
        self.snds = False                 # write snds.csv (Microsoft's view, see above)
        self._alloc = {}
        self._cust = {}

    # -- the world --------------------------------------------------------------------
    def prefix(self, cidr, alloc=False):
        self.prefixes.append((cidr, alloc))

    def customer(self, cid, name, cidrs, tags=""):
        self.customers.append((str(cid), name, cidrs, tags))

    # -- traffic ----------------------------------------------------------------------
    def add(self, t, ip, kind, nrcpt, mx, spam=False):
        r = self.rng
        self.sessions.append({
            "t": int(t), "ip": ip, "mx": mx, "spam": spam, "n": nrcpt,
            "dead": [r.random() < (0.10 if spam else kind.get("dead", 0.02)) for _ in range(nrcpt)],
            "grey": [r.random() < kind.get("grey", 0.005) for _ in range(nrcpt)],
            "full": [r.random() < kind.get("full", 0.002) for _ in range(nrcpt)],
            "content": spam and r.random() < 0.15,
            "body": kind.get("body", 900)})

    def office(self, ip, days, per_hour=3.0, mx_pool=30, rcpt=(1, 2), dead=0.02, start=None):
        """A small business or web shop: mail in office hours, a trickle at night."""
        start = self.start if start is None else start
        for h in range(int((self.end - start) // H)):
            t0 = start + h * H
            hod = (t0 // H) % 24
            wd = (t0 // DAY + 3) % 7 < 5       # 1970-01-01 was a Thursday
            lam = per_hour * (1.0 if 8 <= hod < 18 else 0.15) * (1.0 if wd else 0.3)
            for _ in range(self.poisson(lam)):
                self.add(t0 + self.rng.randrange(H - 30), ip, {"dead": dead},
                         self.rng.randint(*rcpt), self.rng.randrange(mx_pool))

    def newsletter(self, ips, from_t, peak_hour=10, total=4000, mx_pool=400, trickle=4.0):
        """Bulk: a daily one-hour campaign of `total` sessions spread over its IPs to a few
        hundred MX (3% dead addresses, greylisting), and transactional mail around it."""
        for h in range(int((self.end - from_t) // H)):
            t0 = from_t + h * H
            hod = (t0 // H) % 24
            if hod == peak_hour:
                for k in range(total):
                    self.add(t0 + self.rng.randrange(H - 30), ips[k % len(ips)],
                             {"dead": 0.03, "grey": 0.01}, self.rng.randint(1, 3),
                             self.rng.randrange(mx_pool))
            for ip in ips:
                for _ in range(self.poisson(trickle if 7 <= hod < 22 else trickle / 4)):
                    self.add(t0 + self.rng.randrange(H - 30), ip, {"dead": 0.03, "grey": 0.01},
                             1, self.rng.randrange(mx_pool))

    def steady(self, ips, per_hour, mx_pool, rcpt=(2, 5), dead=0.03, night=0.5, from_t=None):
        """An ESP/relay: high fan-out around the clock, a few percent bounces."""
        from_t = self.start if from_t is None else from_t
        for h in range(int((self.end - from_t) // H)):
            t0 = from_t + h * H
            hod = (t0 // H) % 24
            lam = per_hour * (1.0 if 7 <= hod < 23 else night)
            for ip in ips:
                for _ in range(self.poisson(lam)):
                    self.add(t0 + self.rng.randrange(H - 30), ip, {"dead": dead, "grey": 0.01},
                             self.rng.randint(*rcpt), self.rng.randrange(mx_pool))

    def spam(self, cid, ips, t0, hours, per_hour, rcpt=(3, 8), burst=True, mx_pool=3000,
             ramp=0.0):
        """Spam from ips (a list: a session's IP rotates through it) from t0 for hours."""
        if cid not in self.culprits:
            self.culprits[cid] = {"spam_start": int(t0), "burst": burst}
        n = int(per_hour * hours)
        for k in range(n):
            t = t0 + (k + self.rng.random()) * hours * H / n
            self.add(t, ips[k % len(ips)], {}, self.rng.randint(*rcpt),
                     self.rng.randrange(mx_pool), spam=True)

    def poisson(self, lam):
        # Knuth; lam is small for the quiet customers, normal approximation above 30
        if lam > 30:
            return max(0, int(self.rng.gauss(lam, lam ** 0.5) + 0.5))
        import math
        L, k, p = math.exp(-lam), 0, 1.0
        while True:
            p *= self.rng.random()
            if p <= L:
                return k
            k += 1

    # -- the lists, by the rules in the module's docstring -------------------------------
    def alloc_of(self, ip):
        if ip in self._alloc:
            return self._alloc[ip]
        self._alloc[ip] = r = self._alloc_of(ip)
        return r

    def _alloc_of(self, ip):
        a = ipaddress.ip_address(ip)
        best = None
        for cidr, alloc in self.prefixes:
            n = ipaddress.ip_network(cidr)
            if alloc and a in n and (best is None or n.prefixlen > best.prefixlen):
                best = n
        if best is None:
            best = ipaddress.ip_network("%s/%d" % (ip, 24 if a.version == 4 else 48), strict=False)
        return str(best)

    def asn_size(self):
        nets = [ipaddress.ip_network(c) for c, alloc in self.prefixes if not alloc]
        return sum(n.num_addresses for n in ipaddress.collapse_addresses(
            [n for n in nets if n.version == 4]))

    def timeline(self):
        self.sessions.sort(key=lambda s: (s["t"], s["ip"]))
        zen, l1 = {}, {}
        acc = {}
        for s in self.sessions:
            if not s["spam"]:
                continue
            ip = s["ip"]
            key = zkey(ip)
            cls = mx_class(s["mx"])
            if (cls == "zen" and zen.get(key, 1 << 62) <= s["t"]) or \
               (cls == "ucep" and l1.get(ip, 1 << 62) <= s["t"]) or s["content"]:
                continue
            # counted per ZEN key: the IPv4 address, or the IPv6 /64 (a sender rotating
            # addresses inside its /64 hits the traps as one; L1 is IPv4 only)
            acc[key] = acc.get(key, 0) + sum(1 for d in s["dead"] if not d)
            if key not in zen and acc[key] >= ZEN_RCPT:
                zen[key] = s["t"] + ZEN_DELAY
            if ":" not in ip and ip not in l1 and acc[key] >= TRAP_RCPT:
                l1[ip] = s["t"] + L1_DELAY
        for ip in self.stale:
            l1[ip] = self.start - DAY
        self.zen, self.l1 = zen, l1
        # Level 2: per allocation, the next full hour after the threshold is reached
        by_alloc = {}
        for ip, t in l1.items():
            by_alloc.setdefault(self.alloc_of(ip), []).append(t)
        self.l2 = {}
        for net, ts in by_alloc.items():
            ts.sort()
            thr = thr_range(ipaddress.ip_network(net).prefixlen)
            if len(ts) >= thr:
                t = (ts[thr - 1] // H + 1) * H
                if t < self.start:
                    t = self.start - 1       # already listed when the capture starts
                self.l2[net] = {"t": t, "n": bisect.bisect_right(ts, t), "thr": thr}
        ts = sorted(l1.values())
        self.l3 = None
        size = self.asn_size()
        if len(ts) >= L3_MIN:
            for k in range(L3_MIN - 1, len(ts)):
                if (k + 1) * 100000.0 / size >= L3_SCORE:
                    t = (ts[k] // H + 1) * H
                    n = bisect.bisect_right(ts, t)
                    self.l3 = {"t": t, "n": n, "score": round(n * 100000.0 / size, 1)}
                    break

    def replies(self, s):
        ip, t, cls = s["ip"], s["t"], mx_class(s["mx"])
        rc = ["user%d@example.net" % i for i in range(s["n"])]

        def every(text):
            return [text] * s["n"]
        if cls == "zen" and self.zen.get(zkey(ip), 1 << 62) <= t:
            return every(T_ZEN.format(ip=ip)), False
        if cls == "ucep":
            if self.l1.get(ip, 1 << 62) <= t:
                return every(T_L1.format(ip=ip)), False
            net = self.alloc_of(ip)
            if net in self.l2 and self.l2[net]["t"] <= t:
                return every(T_L2.format(ip=ip, net=net, n=self.l2[net]["n"])), False
            if self.l3 and self.l3["t"] <= t and ":" not in ip:
                return every(T_L3.format(ip=ip, score=self.l3["score"])), False
        out = []
        for i in range(s["n"]):
            out.append(T_UNKNOWN.format(rcpt=rc[i]) if s["dead"][i] else
                       T_GREY.format(rcpt=rc[i]) if s["grey"][i] else
                       T_FULL.format(rcpt=rc[i]) if s["full"][i] else OK_RCPT)
        return out, s["content"]

    def changes(self):
        """Every time a zone changes inside the capture (listings), sorted."""
        ts = [t for ip, t in self.l1.items() if ip not in self.stale]
        ts += list(self.zen.values())
        ts += [v["t"] for v in self.l2.values() if v["t"] >= self.start]
        if self.l3:
            ts.append(self.l3["t"])
        # the first SNDS day with trap hits ends: followed like a zone change, so the daemon
        # has seen the week's earlier listings (the stale impacts) before it (a fast stretch
        # from the capture's start would judge that day without them)
        if self.snds and self.snds_first is not None and self.start < self.snds_first < max(ts or [0]):
            ts.append(self.snds_first)
        return sorted(ts)

    def snds_rows(self):
        """SNDS data CSV rows by the rule in the module's docstring (14 columns, Pacific)."""
        from zoneinfo import ZoneInfo
        import datetime
        tz = ZoneInfo("America/Los_Angeles")

        def pday(t):            # the Pacific day's start and end (UTC seconds) holding t
            lt = datetime.datetime.fromtimestamp(t, tz)
            a = datetime.datetime(lt.year, lt.month, lt.day, tzinfo=tz)
            b = a + datetime.timedelta(days=1)
            return int(a.timestamp()), int(datetime.datetime(b.year, b.month, b.day, tzinfo=tz).timestamp())

        def ptxt(t):
            lt = datetime.datetime.fromtimestamp(t, tz)
            return "%d/%d/%d %d:%02d %s" % (lt.month, lt.day, lt.year, (lt.hour + 11) % 12 + 1,
                                             lt.minute, "AM" if lt.hour < 12 else "PM")
        days = {}
        acc = {}                # accepted spam RCPTs so far, per IP, and trap hits given
        for s in self.sessions:
            d = days.setdefault((pday(s["t"]), s["ip"]), {"n": 0, "rcpt": 0, "spam": 0, "traps": 0,
                                                          "t1": None, "t2": None})
            d["n"] += 1
            d["rcpt"] += s["n"]
            if not s["spam"]:
                continue
            d["spam"] += s["n"]
            ip = s["ip"]
            cls = mx_class(s["mx"])
            if (cls == "zen" and self.zen.get(zkey(ip), 1 << 62) <= s["t"]) or \
               (cls == "ucep" and self.l1.get(ip, 1 << 62) <= s["t"]) or s["content"]:
                continue
            a, g = acc.get(ip, (0, 0))
            a += sum(1 for x in s["dead"] if not x)
            hits = a // MS_TRAP_RCPT - g
            acc[ip] = (a, g + hits)
            if hits > 0:
                d["traps"] += hits
                d["t1"] = d["t1"] or s["t"]
                d["t2"] = s["t"]
        rows = []
        self.snds_first = None      # the end of the first day with trap hits
        for ((a, b), ip), d in sorted(days.items()):
            ms = int(d["rcpt"] * MS_SHARE)
            if ms < 100 or ":" in ip:
                continue
            share = d["spam"] / float(d["rcpt"])
            filt = "RED" if share > 0.9 else "YELLOW" if share >= 0.1 else "GREEN"
            tr = (ptxt(d["t1"]), ptxt(d["t2"])) if d["traps"] else ("", "")
            if d["traps"] and (self.snds_first is None or b < self.snds_first):
                self.snds_first = b
            rows.append("%s,%s,%s,%d,%d,%d,%s,< 0.1%%,%s,%s,%d,mail.c.example,sender@c.example," % (
                ip, ptxt(a), ptxt(b), ms, int(d["n"] * MS_SHARE), ms, filt, tr[0], tr[1], d["traps"]))
        return rows

    # -- output -----------------------------------------------------------------------
    def segments(self, ch, end, split=True):
        """The capture cut in stretches replayed "fast" (replay_speed 0: the zones do not
        change in it, the daemon has seen them all before it starts) or "follow" (compressed,
        the zones following the model's clock): a follow stretch from PRE before each zone
        change to POST after it, joined when less than MIN_FAST apart. split=False: one
        follow stretch from an hour before the first change to the end (the old way)."""
        wins = []
        for c in ch:
            a, b = (c - (PRE if split else H)) // 60 * 60, min(c + POST, end)
            if wins and (a - wins[-1][1] < MIN_FAST or not split):
                wins[-1][1] = max(wins[-1][1], b)
            else:
                wins.append([a, b])
        if wins and (end - wins[-1][1] < MIN_FAST or not split):
            wins[-1][1] = end
        segs, t = [], self.start
        for a, b in wins:
            if a > t:
                segs.append([t, a, "fast"])
            segs.append([max(a, t), b, "follow"])
            t = b
        if t < end:
            segs.append([t, end, "fast"])
        return segs

    def write(self, outdir, split=True):
        self.timeline()
        snds = self.snds_rows() if self.snds else None
        ch = self.changes()
        end = ch[-1] + (3 * H if self.long else H) if ch else self.end
        self.end = end
        self.sessions = [s for s in self.sessions if s["t"] < end]
        with open(os.path.join(outdir, "prefixes.txt"), "w") as f:
            f.write("# story %s\n" % self.name)
            for cidr, alloc in self.prefixes:
                f.write("%s %d%s\n" % (cidr, ASN, " alloc" if alloc else ""))
        if self.snds:
            with open(os.path.join(outdir, "snds.csv"), "w") as f:
                f.write("".join(r + "\r\n" for r in snds))
        with open(os.path.join(outdir, "customers.csv"), "w") as f:
            f.write("id,name,cidrs,contact,tags\n")
            for cid, name, cidrs, tags in self.customers:
                f.write('%s,"%s",%s,abuse@c%s.example,%s\n' % (cid, name, cidrs, cid, tags))
        segs = []
        k = 0
        for i, (a, b, mode) in enumerate(self.segments(ch, end, split)):
            # a session belongs to the stretch of its start second (its frames end within it)
            part = []
            while k < len(self.sessions) and self.sessions[k]["t"] < b:
                part.append(self.sessions[k])
                k += 1
            fn = "seg%02d-%s.pcap" % (i, mode)
            segs.append({"file": fn, "from": a, "to": b, "mode": mode, "sessions": len(part),
                         "frames": self.render(part, os.path.join(outdir, fn))})
        ids = [c[0] for c in self.customers]
        info = {
            "name": self.name, "title": self.title, "variant": self.variant,
            "start": self.start, "end": end, "d0": self.d0, "segments": segs,
            "frames": sum(x["frames"] for x in segs),
            "sessions": len(self.sessions),
            "spam_sessions": sum(1 for s in self.sessions if s["spam"]),
            "customers": {c[0]: {"name": c[1], "cidrs": c[2].split(), "tags": c[3]} for c in self.customers},
            "culprits": self.culprits,
            "innocents": [i for i in ids if i not in self.culprits],
            "l1": self.l1, "zen": self.zen, "l2": self.l2, "l3": self.l3,
            "stale": self.stale, "asn": ASN, "asn_ips": self.asn_size(), "holder": HOLDER,
            "allocs": {ip: self.alloc_of(ip) for ip in self.l1},
            "prefixes": [c for c, a in self.prefixes if not a],
            "expect": self.expect, "notes": self.notes, "snds": self.snds,
        }
        # each culprit's IPs and the escalation listings that cover them
        spam_ips = {}
        for s in self.sessions:
            if s["spam"]:
                spam_ips.setdefault(cust_of(self, s["ip"]), set()).add(s["ip"])
        for cid, c in self.culprits.items():
            ips = sorted(spam_ips.get(cid, ()))
            c["ips"] = ips
            cover = []
            for ip in ips:
                net = self.alloc_of(ip)
                if net in self.l2:
                    cover.append({"list": "uceprotect-2", "key": net, "t": self.l2[net]["t"]})
                if self.l3 and ":" not in ip:
                    cover.append({"list": "uceprotect-3", "key": "AS%d" % ASN, "t": self.l3["t"]})
            c["escalations"] = sorted({(x["t"], x["list"], x["key"]) for x in cover})
        with open(os.path.join(outdir, "story.json"), "w") as f:
            json.dump(info, f, indent=1, sort_keys=True)
        return info

    def render(self, sessions, path):
        w = wire.Writer(path, zlib.crc32(("%s %s %s" % (self.name, self.variant, os.path.basename(path))).encode()))
        for s in sessions:
            codes, content = self.replies(s)
            w.session(s["t"], s["ip"], mx_addr(s["mx"], ":" in s["ip"]), [c.encode() for c in codes],
                      data_reply=T_CONTENT.encode() if content else None, body_size=s["body"])
        return w.close()


def zkey(ip):
    """ZEN's key: the IP, or its /64 for IPv6 (Spamhaus lists IPv6 by /64)."""
    if ":" in ip:
        return str(ipaddress.ip_network(ip + "/64", strict=False))
    return ip


def cust_of(st, ip):
    if ip not in st._cust:
        st._cust[ip] = _cust_of(st, ip)
    return st._cust[ip]


def _cust_of(st, ip):
    a = ipaddress.ip_address(ip)
    best, bl = None, -1
    for cid, _, cidrs, _ in st.customers:
        for c in cidrs.split():
            n = ipaddress.ip_network(c, strict=False)
            if a in n and n.prefixlen > bl:
                best, bl = cid, n.prefixlen
    return best


# ---------------------------------------------------------------------------------------
# The stories. d0 is midnight UTC of the incident day; the capture starts `warm` days before.
# ---------------------------------------------------------------------------------------

def base_world(st, net="203.0.113", n=14, first=10, cid0=2001, stale=0):
    """A /24 of small customers (one IP each, office rhythm); `stale` unassigned IPs of it
    were listed on L1 earlier this week (terminated VMs: earlier incidents)."""
    if (net + ".0/24", False) not in st.prefixes:
        st.prefix(net + ".0/24")
    kinds = ["Bakery", "Law Office", "Web Shop", "Dentist", "Architects", "Garage", "School",
             "Florist", "Agency", "Clinic", "Brewery", "Studio", "Consulting", "Hotel", "Printer",
             "Museum", "Library", "Gym", "Pharmacy", "Travel"]
    for i in range(n):
        ip = "%s.%d" % (net, first + i)
        st.customer(cid0 + i, "%s %s" % (net.split(".")[-1], kinds[i % len(kinds)]), ip)
        st.office(ip, None, per_hour=st.rng.choice([1.0, 2.0, 3.0, 5.0, 8.0]))
    for k in range(stale):
        st.stale.append("%s.%d" % (net, 240 + k))


def story_window(st, warm_days, tail_h):
    st.start = st.d0 - warm_days * DAY
    st.end = st.d0 + tail_h * H


def s_vps_burst(v, d0):
    st = Story("vps_burst", "a hacked idle VPS bursting", v, d0, 101)
    story_window(st, 6 if v == "long" else 3, 20)
    st.customer(1001, "Idle VPS", "203.0.113.7", "vps")
    st.office("203.0.113.7", None, per_hour=0.05)
    base_world(st, stale=3)
    st.spam("1001", ["203.0.113.7"], d0 + 11 * H + 7 * 60, 5, 1500)
    return st


def s_slow_leak(v, d0):
    st = Story("slow_leak", "a compromised mailbox leaking slowly over days", v, d0, 102)
    story_window(st, 6 if v == "long" else 3, 14)
    st.prefix("203.0.113.32/27", alloc=True)   # a small business's own registered /27
    st.customer(1001, "Smallco Mail", "203.0.113.34", "mail")
    st.customer(1002, "Smallco Web", "203.0.113.35")
    st.office("203.0.113.34", None, per_hour=6.0)
    st.office("203.0.113.35", None, per_hour=1.0)
    base_world(st, n=12)
    # the stolen password: 40 sessions/h around the clock from the customer's own server,
    # starting two days before the incident day
    st.spam("1001", ["203.0.113.34"], d0 - 2 * DAY + 15 * H, 2 * 24 + 10, 40, rcpt=(2, 4), burst=False)
    return st


def s_two_spammers(v, d0):
    st = Story("two_spammers", "two spammers in one /24 hours apart", v, d0, 103)
    story_window(st, 6 if v == "long" else 3, 22)
    st.customer(1001, "Spammer A VPS", "203.0.113.7", "vps")
    st.customer(1002, "Spammer B VPS", "203.0.113.99", "vps")
    st.office("203.0.113.7", None, per_hour=0.3)
    st.office("203.0.113.99", None, per_hour=0.5)
    base_world(st, stale=2)
    st.spam("1001", ["203.0.113.7"], d0 + 6 * H + 12 * 60, 10, 900)
    st.spam("1002", ["203.0.113.99"], d0 + 11 * H + 40 * 60, 6, 1200)
    return st


def s_alloc28(v, d0):
    st = Story("alloc28", "a /28 allocation listed on one impact", v, d0, 104)
    story_window(st, 6 if v == "long" else 3, 18)
    st.prefix("203.0.113.16/28", alloc=True)
    st.customer(1001, "Reseller Tenant 1", "203.0.113.18", "vps")
    st.customer(1002, "Reseller Tenant 2", "203.0.113.19")
    st.customer(1003, "Reseller Tenant 3", "203.0.113.20")
    st.office("203.0.113.18", None, per_hour=0.5)
    st.office("203.0.113.19", None, per_hour=3.0)
    st.office("203.0.113.20", None, per_hour=2.0)
    base_world(st, first=40)
    st.spam("1001", ["203.0.113.18"], d0 + 9 * H + 25 * 60, 4, 1000)
    return st


def s_asn_l3(v, d0):
    st = Story("asn_l3", "an ASN-wide build-up over many /24s toward Level 3", v, d0, 105)
    story_window(st, 5 if v == "long" else 2, 24)
    nets = ["100.%d.%d" % (70 + i // 200, i % 200) for i in range(16)]  # 16 /24s, 4096 IPs
    cid = 3001
    for ni, net in enumerate(nets):
        st.prefix(net + ".0/24")
        for k in range(4):
            ip = "%s.%d" % (net, 10 + k)
            st.customer(cid, "Tenant %s" % ip, ip)
            st.office(ip, None, per_hour=st.rng.choice([0.5, 1.0, 2.0]))
            cid += 1
    # a CMS exploit: 56 hacked sites across the 16 /24s start sending in waves from 06:00
    k = 0
    for wave in range(7):
        for j in range(8):
            net = nets[(wave * 8 + j) % 16]
            ip = "%s.%d" % (net, 100 + wave * 8 + j)
            st.customer(4001 + k, "Hacked Site %d" % k, ip, "vps")
            st.office(ip, None, per_hour=0.3)
            st.spam(str(4001 + k), [ip], d0 + 6 * H + wave * 45 * 60 + j * 240, 6, 240, rcpt=(8, 14))
            k += 1
    return st


def s_newsletter(v, d0):
    st = Story("newsletter", "a legitimate newsletter with a daily peak, and one on its first day", v, d0, 106)
    story_window(st, 6 if v == "long" else 3, 13)
    base_world(st, n=10)
    st.customer(1001, "Weekly News Ltd", "203.0.113.64/29", "bulk")
    ips = ["203.0.113.%d" % (64 + i) for i in range(8)]
    st.newsletter(ips, st.start, peak_hour=9, total=4000)
    # a second sender deployed this morning: no history at all, its first campaign at 11:00
    st.customer(1002, "Fresh Campaigns", "203.0.113.80/30", "bulk")
    ips2 = ["203.0.113.%d" % (80 + i) for i in range(4)]
    st.newsletter(ips2, d0 + 8 * H, peak_hour=11, total=2000, trickle=2.0)
    st.expect["no_incident"] = True
    return st


def s_esp(v, d0):
    st = Story("esp_relay", "an ESP customer with steady high fan-out and a few % bounces", v, d0, 107)
    story_window(st, 6 if v == "long" else 3, 14)
    base_world(st, n=10)
    st.customer(1001, "Relay ESP", "203.0.113.128/29", "bulk relay")
    st.steady(["203.0.113.%d" % (128 + i) for i in range(4)], 220, 2500, dead=0.04)
    st.expect["no_incident"] = True
    return st


def s_mailing_list(v, d0):
    st = Story("mailing_list", "a mailing-list server with many 5xx for dead addresses", v, d0, 108)
    story_window(st, 6 if v == "long" else 3, 14)
    base_world(st, n=10)
    st.customer(1001, "Lists Server", "203.0.113.150", "relay")
    # a daily digest at 06:00 to 1,500 subscribers, 12% of them dead, plus the lists' traffic
    st.newsletter(["203.0.113.150"], st.start, peak_hour=6, total=1500, mx_pool=600, trickle=15)
    for s in st.sessions:
        if s["ip"] == "203.0.113.150":
            s["dead"] = [st.rng.random() < 0.12 for _ in range(s["n"])]
            s["full"] = [st.rng.random() < 0.01 for _ in range(s["n"])]
    st.expect["no_incident"] = True
    return st


def s_ipv6(v, d0):
    st = Story("ipv6_rotate", "an IPv6 sender rotating addresses inside its /64", v, d0, 109)
    story_window(st, 6 if v == "long" else 3, 14)
    base_world(st, n=8)
    st.prefix("2001:db8::/32")
    st.customer(1001, "V6 VPS", "2001:db8:10:1::/64", "vps")
    st.customer(1002, "V6 Neighbour", "2001:db8:10:2::/64")
    st.customer(1003, "V6 Shop", "2001:db8:10:3::/64")
    st.office("2001:db8:10:1::25", None, per_hour=0.2)
    st.office("2001:db8:10:2::25", None, per_hour=3.0)
    st.office("2001:db8:10:3::a", None, per_hour=2.0)
    rot = ["2001:db8:10:1:%x:%x:%x:%x" % tuple(st.rng.randrange(1, 65535) for _ in range(4)) for _ in range(400)]
    st.spam("1001", rot, d0 + 10 * H + 10 * 60, 4, 1200)
    st.notes.append("UCEPROTECT lists IPv4 only: no range/ASN-scope listing; ZEN lists the /64")
    return st


def s_quiet(v, d0):
    st = Story("quiet_day", "a quiet day (nothing above watch)", v, d0, 110)
    story_window(st, 6 if v == "long" else 3, 24)
    base_world(st, n=16)
    st.prefix("198.51.100.0/24")
    st.customer(1001, "Weekly News Ltd", "198.51.100.64/29", "bulk")
    st.newsletter(["198.51.100.%d" % (64 + i) for i in range(4)], st.start, peak_hour=9, total=800)
    st.customer(1002, "Relay ESP", "198.51.100.128/30", "bulk relay")
    st.steady(["198.51.100.%d" % (128 + i) for i in range(2)], 60, 800)
    st.customer(1003, "Backup MX", "198.51.100.7", "mail")
    st.office("198.51.100.7", None, per_hour=12.0, mx_pool=200)
    st.expect["max_level_all"] = "watch"
    st.expect["no_incident"] = True
    return st


def s_reference(v, d0):
    st = Story("reference", "the reference incident: a replayed week of a small provider", v, d0, 111)
    story_window(st, 6 if v == "long" else 3, 24)
    base_world(st, n=12, stale=1)
    st.customer(1001, "Quiet VPS", "203.0.113.7", "vps")
    st.office("203.0.113.7", None, per_hour=0.1)
    st.customer(1002, "Second Spammer", "203.0.113.120 203.0.113.121", "vps")
    st.office("203.0.113.120", None, per_hour=0.5)
    st.customer(1003, "Newsletter Sender", "203.0.113.64/29", "bulk")
    st.newsletter(["203.0.113.%d" % (64 + i) for i in range(8)], st.start, peak_hour=9,
                  total=4000, mx_pool=300)
    st.spam("1001", ["203.0.113.7"], d0 + 5 * H + 20 * 60, 14, 1500)
    st.spam("1002", ["203.0.113.120", "203.0.113.121"], d0 + 10 * H + 25 * 60, 9, 1400)
    return st


def s_snds_leak(v, d0):
    st = Story("snds_leak", "a slow leak Microsoft's SNDS sees days before the range listing", v, d0, 112)
    story_window(st, 8 if v == "long" else 6, 14)
    st.customer(1001, "Leaky Webmail", "203.0.113.7", "mail")
    st.office("203.0.113.7", None, per_hour=4.0)
    base_world(st, stale=3)
    # a stolen webmail password: 15 sessions/h around the clock from 00:30 Pacific four
    # days before the incident day; the /24 already holds 3 L1 impacts of the week
    st.spam("1001", ["203.0.113.7"], d0 - 4 * DAY + 8 * H + 30 * 60, 4 * 24 + 6, 15, rcpt=(2, 4),
            burst=False)
    st.snds = True
    st.notes.append("SNDS rows in snds.csv (the daemon reads it with [snds] file); run.py --no-snds "
                    "runs it on DNSBL evidence alone")
    return st


STORIES = {n: f for n, f in [
    ("vps_burst", s_vps_burst), ("slow_leak", s_slow_leak), ("two_spammers", s_two_spammers),
    ("alloc28", s_alloc28), ("asn_l3", s_asn_l3), ("newsletter", s_newsletter),
    ("esp_relay", s_esp), ("mailing_list", s_mailing_list), ("ipv6_rotate", s_ipv6),
    ("quiet_day", s_quiet), ("reference", s_reference), ("snds_leak", s_snds_leak)]}


def build(name, variant, d0, outdir, split=True):
    st = STORIES[name](variant, d0)
    return st.write(outdir, split)


def main():
    if sys.argv[1] == "list":
        print(" ".join(STORIES))
        return
    name, variant, outdir = sys.argv[1], sys.argv[2], sys.argv[3]
    d0 = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] != "-" else None
    split = not (len(sys.argv) > 5 and sys.argv[5] == "nosplit")
    if d0 is None:
        import time
        d0 = (int(time.time()) // DAY - 3) * DAY
    os.makedirs(outdir, exist_ok=True)
    info = build(name, variant, d0, outdir, split)
    print(json.dumps({k: info[k] for k in ("name", "sessions", "spam_sessions", "frames", "l2", "l3")}))


if __name__ == "__main__":
    main()
