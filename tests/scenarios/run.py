#!/usr/bin/python3
"""Runs the detection scenario suite (tests/scenarios/stories.py) through rangewatchd and
judges each story by the goals, from the daemon's own record in the model's clock.

Usage: /usr/bin/python3 tests/scenarios/run.py [--variant short|long] [--jobs N]
           [--bin DIR] [--only a,b] [--speed X] [--results FILE] [--keep] [--no-split]
           [--cache DIR]

Per story, in its own temp dir, with its own rbldnsd (port, zones) and daemon (socket,
state_dir): the story's files are generated (or hard-linked from the cache, tests/out/
scenarios/, keyed by a hash of stories.py and wire.py, the story day and --no-split); the
capture comes in stretches (story.json "segments"), each replayed by a daemon started on
the same state_dir and stopped after it:

  fast    replay_speed 0, the zones standing still: the quiet days before the incident
          and the quiet hours between its zone changes. The model's minute work runs on
          the packets' clock at any speed; only DNS and the hook run on wall time, and
          nothing changes in DNS here;
  follow  replay_speed SPEED (short 600: a model hour in 6 s; long 120) from 15 min before
          a zone change to an hour after it: the zones (UCEPROTECT L1/L2/L3 and ZEN
          emulations, rbldnsd with TTL 1 s, reloaded by SIGHUP on every change) are
          rewritten whenever the model's clock (`rangewatch status --json`, "now") passes a
          timeline time.

Before a stretch ends the daemon must have recorded every listing the zones hold (so the
next fast stretch starts from what a daemon running all along would know); a listing not
seen in 30 s is reported as a warning. The hook (auto_suspend = yes, dry_run = no, the
circuit breaker unbounded: its hours are wall hours, which a compressed replay would trip
unrealistically) appends each call to a log. Outcomes: flag_history (levels with
model-clock times, read with sqlite3 read-only), the hook log, listing_event (how late
the daemon saw each zone change: the DNS lag the compression adds, per list).

Goals, exactly (a story fails on any):
  lead   the first culprit (earliest spam) at act >= 2 h before the first range/ASN-scope
         listing covering it, whenever its spam starts >= 2 h before that listing;
  warn   every culprit whose spam is a burst at warn (or act) within 5 min of its start;
  acts   0 innocent customers ever at act;
  hooks  0 hook runs for innocents;
  (quiet_day) no customer ever above watch.
Prints what it checked per story, the detection table; exit 1 when a goal fails. With
--results FILE, appends the table with the machine, date and command to FILE.
"""
import argparse
import concurrent.futures as cf
import hashlib
import ipaddress
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import stories  # noqa: E402

LEVELS = ["none", "watch", "warn", "act"]
H = 3600
DAY = 86400
ROOT = os.geteuid() == 0
# the hook's user: not the daemon's (nobody), which rangewatchd refuses
HOOK_USER = "daemon" if ROOT else "nobody"

# The harness's lists: the shipped etc/dnsbl.conf's entries for these four (what a reply
# citing them looks like, the listing codes, scope, expiry), with the test zones and the
# check intervals of a compressed replay in place of the real zones and their pacing.
HARNESS_LISTS = {
    "uceprotect-1": {"zone": "dnsbl-1.uceprotect.test", "interval": "5s", "fast_interval": "1s",
                     "max_qps": "3000"},
    "uceprotect-2": {"zone": "dnsbl-2.uceprotect.test", "interval": "1s", "max_qps": "500"},
    "uceprotect-3": {"zone": "dnsbl-3.uceprotect.test", "interval": "1s", "max_qps": "100"},
    # Spamhaus answers for IPv6 (it lists /64s); the shipped entry leaves ipv6 at its default
    "zen": {"zone": "zen.spamhaus.test", "interval": "30s", "fast_interval": "1s", "max_qps": "3000",
            "ipv6": "yes"},
}
PACING = ("zone", "source", "interval", "fast_interval", "max_qps", "max_per_day", "ipv6")


def lists_conf(shipped=os.path.join(TOP, "etc", "dnsbl.conf")):
    """lists.conf for the harness, from the shipped file (see HARNESS_LISTS)."""
    out, cur = [], None
    with open(shipped) as f:
        for ln in f:
            t = ln.strip()
            if t.startswith("[list "):
                cur = t[len("[list "):].strip(' "]')
                if cur in HARNESS_LISTS:
                    out.append("\n" + t)
                    out += ["%s = %s" % kv for kv in HARNESS_LISTS[cur].items()]
                continue
            if t.startswith("["):
                cur = None
            if cur in HARNESS_LISTS and t and t[0] not in ";#" and "=" in t:
                if t.split("=", 1)[0].strip() not in PACING:
                    out.append(t)
    missing = [n for n in HARNESS_LISTS if '[list "%s"]' % n not in "\n".join(out)]
    if missing:
        raise RuntimeError("etc/dnsbl.conf has no %s" % " ".join(missing))
    return "\n".join(out) + "\n"


HOOK = """#!/bin/sh
printf '%s\\t%s\\t%s\\t%s\\n' "$1" "$2" "$RANGEWATCH_LEVEL" "$RANGEWATCH_DRY_RUN" >>"{log}"
exit 0
"""


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def fmt_h(sec):
    if sec is None:
        return "-"
    sign = "-" if sec < 0 else ""
    sec = abs(int(sec))
    return "%s%dh%02d" % (sign, sec // H, sec % H // 60)


def generate(name, variant, d0, outdir, split):
    """Writes a story into outdir in a process of its own (stories generated side by side
    use both cores: threads would share one interpreter lock)."""
    r = subprocess.run([sys.executable, os.path.join(HERE, "stories.py"), name, variant, outdir,
                        str(d0)] + ([] if split else ["nosplit"]), capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("stories.py %s: %s" % (name, r.stderr[-2000:]))
    with open(os.path.join(outdir, "story.json")) as f:
        return json.load(f)


def story_files(name, variant, d0, split, etc, cache):
    """The story's files in etc: generated, or hard-linked from the cache (cache/NAME-VARIANT-
    KEY, KEY a hash of the generator's source, d0 and split; a story of another key is
    removed). Returns (story.json's content, whether it came from the cache)."""
    if not cache:
        return generate(name, variant, d0, etc, split), False
    h = hashlib.sha256()
    for fn in ("stories.py", "wire.py"):
        with open(os.path.join(HERE, fn), "rb") as f:
            h.update(f.read())
    h.update(("%d %d" % (d0, split)).encode())
    pre = "%s-%s-" % (name, variant)
    cdir = os.path.join(cache, pre + h.hexdigest()[:16])
    hit = os.path.exists(os.path.join(cdir, "story.json"))
    if not hit:
        os.makedirs(cache, exist_ok=True)
        for old in os.listdir(cache):
            if old.startswith(pre):
                shutil.rmtree(os.path.join(cache, old), ignore_errors=True)
        tmp = cdir + ".tmp%d" % os.getpid()
        os.makedirs(tmp)
        generate(name, variant, d0, tmp, split)
        os.rename(tmp, cdir)
    for fn in os.listdir(cdir):
        try:
            os.link(os.path.join(cdir, fn), os.path.join(etc, fn))
        except OSError:
            shutil.copy(os.path.join(cdir, fn), os.path.join(etc, fn))
    with open(os.path.join(cdir, "story.json")) as f:
        return json.load(f), hit


class Run:
    def __init__(self, name, variant, rwbin, speed, keep, split=True, cache="", snds=True):
        self.name, self.variant, self.bin, self.speed, self.keep = name, variant, rwbin, speed, keep
        self.split, self.cache, self.snds = split, cache, snds
        self.dir = tempfile.mkdtemp(prefix="rw-scen-%s-" % name)
        os.chmod(self.dir, 0o755)
        self.procs = []
        self.log = []

    def say(self, msg):
        self.log.append(msg)

    # -- zones --------------------------------------------------------------------------
    def zones_at(self, t):
        s = self.story
        soa = "$SOA 0 ns.test. hostmaster.test. 1 1s 1s 1d 1s"
        l1 = [soa, ":127.0.0.2:IP $ is UCEPROTECT-Level1 listed. See http://www.uceprotect.net/rblcheck.php?ipr=$", "127.0.0.2"]
        l1 += sorted(ip for ip, lt in s["l1"].items() if lt <= t)
        zen = [soa, ":127.0.0.3:Listed by CSS, see https://check.spamhaus.org/query/ip/$", "127.0.0.2"]
        zen += sorted(k for k, lt in s["zen"].items() if lt <= t and ":" not in k)
        zen6 = [soa, ":127.0.0.3:Listed by CSS, see https://check.spamhaus.org/query/ip/$"]
        zen6 += sorted(k for k, lt in s["zen"].items() if lt <= t and ":" in k)
        l2 = [soa, ":127.0.0.2:Net $ is UCEPROTECT-Level2 listed", "127.0.0.2/32"]
        for net, v in sorted(s["l2"].items()):
            if v["t"] <= t:
                l2.append("%s :2:Net %s is UCEPROTECT-Level2 listed because %d abusers are hosted by %s/AS%d there. See: http://www.uceprotect.net/rblcheck.php?ipr=$"
                          % (net, net, v["n"], s["holder"], s["asn"]))
        l3 = [soa, ":127.0.0.2:Your ISP is UCEPROTECT-Level3 listed", "127.0.0.2/32"]
        if s["l3"] and s["l3"]["t"] <= t:
            for p in s["prefixes"]:
                if ":" not in p:
                    l3.append("%s :2:Your ISP %s/AS%d is UCEPROTECT-Level3 listed because of a spamscore of %.1f. See: http://www.uceprotect.net/rblcheck.php?ipr=$"
                              % (p, s["holder"], s["asn"], s["l3"]["score"]))
        return {"l1": l1, "zen": zen, "zen6": zen6, "l2": l2, "l3": l3}

    def write_zones(self, t):
        """Rewrites the zones that differ at model time t and has rbldnsd reload them now
        (SIGHUP) rather than at its next once-a-second check."""
        z = self.zones_at(t)
        changed = []
        for k, lines in z.items():
            text = "\n".join(lines) + "\n"
            if self.zcache.get(k) == text:
                continue
            p = os.path.join(self.dir, "zones", k)
            with open(p + ".new", "w") as f:
                f.write(text)
            os.chmod(p + ".new", 0o644)
            os.rename(p + ".new", p)
            self.zcache[k] = text
            changed.append(k)
        if changed and getattr(self, "rbldnsd", None) is not None and self.rbldnsd.poll() is None:
            self.rbldnsd.send_signal(signal.SIGHUP)
        return changed

    # -- processes ----------------------------------------------------------------------
    def start_rbldnsd(self):
        os.makedirs(os.path.join(self.dir, "zones"), exist_ok=True)
        self.zcache = {}
        self.write_zones(self.story["start"])
        z = os.path.join(self.dir, "zones")
        for _ in range(3):
            self.port = free_port()
            cmd = ["rbldnsd", "-n"] + (["-u", "nobody"] if ROOT else []) + [
                "-b", "127.0.0.1/%d" % self.port, "-t", "1:1:1", "-c", "1s",
                "dnsbl-1.uceprotect.test:ip4set:%s/l1" % z,
                "dnsbl-2.uceprotect.test:ip4trie:%s/l2" % z,
                "dnsbl-3.uceprotect.test:ip4trie:%s/l3" % z,
                "zen.spamhaus.test:ip4set:%s/zen" % z,
                "zen.spamhaus.test:ip6trie:%s/zen6" % z]
            out = open(os.path.join(self.dir, "rbldnsd.out"), "w")
            p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
            for _ in range(50):
                time.sleep(0.1)
                if "started" in open(os.path.join(self.dir, "rbldnsd.out")).read() or p.poll() is not None:
                    break
            if p.poll() is None:
                self.procs.append(p)
                self.rbldnsd = p
                return
        raise RuntimeError("rbldnsd did not start: " + open(os.path.join(self.dir, "rbldnsd.out")).read())

    def conf(self, replay, speed):
        d = self.dir
        extra = ""
        if self.story.get("snds") and self.snds:
            # Microsoft's SNDS rows, and trap hits there as impacts of the /24 policy
            extra = """
[snds]
file = snds.csv
interval = 1s

[policy "uceprotect-2"]
feeds = uceprotect-1 snds-traps
"""
        return extra + """[rangewatch]
prefixes = prefixes.txt
customers = customers.csv
lists = lists.conf
nameserver = 127.0.0.1:%d
state_dir = %s/state
socket = %s/run/rw.sock
pidfile = %s/run/rangewatchd.pid
user = %s
replay = %s
replay_speed = %s

[hook]
path = %s/hookbin/hook.sh
user = %s
timeout = 10
auto_suspend = yes
dry_run = no
max_per_hour = 0
max_per_range = 0
""" % (self.port, d, d, d, "nobody" if ROOT else os.environ.get("USER", "root"), replay, speed, d,
       HOOK_USER)

    def rw(self, *args):
        r = subprocess.run([os.path.join(self.bin, "rangewatch")] + list(args) +
                           ["-c", os.path.join(self.dir, "etc", "rangewatch.conf"), "--json"],
                           capture_output=True, text=True, timeout=20)
        if r.returncode != 0:
            return None
        return json.loads(r.stdout)

    def daemon(self, replay, speed):
        with open(os.path.join(self.dir, "etc", "rangewatch.conf"), "w") as f:
            f.write(self.conf(replay, speed))
        os.chmod(os.path.join(self.dir, "etc", "rangewatch.conf"), 0o644)
        log = open(os.path.join(self.dir, "daemon.log"), "a")
        p = subprocess.Popen([os.path.join(self.bin, "rangewatchd"), "-f", "-c",
                              os.path.join(self.dir, "etc", "rangewatch.conf")],
                             stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(p)
        for _ in range(80):
            if self.rw("status") is not None:
                return p
            if p.poll() is not None:
                break
            time.sleep(0.25)
        raise RuntimeError("rangewatchd did not answer: " + open(os.path.join(self.dir, "daemon.log")).read()[-2000:])

    def stop(self, p):
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        self.procs.remove(p)

    def cleanup(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- the story ----------------------------------------------------------------------
    def run(self, d0):
        t0 = time.time()
        for sub in ("etc", "run", "state", "hookbin", "hook"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        self.story, self.cached = story_files(self.name, self.variant, d0, self.split,
                                              os.path.join(self.dir, "etc"), self.cache)
        with open(os.path.join(self.dir, "etc", "lists.conf"), "w") as f:
            f.write(lists_conf())
        hook_log = os.path.join(self.dir, "hook", "calls.log")
        with open(os.path.join(self.dir, "hookbin", "hook.sh"), "w") as f:
            f.write(HOOK.format(log=hook_log))
        os.chmod(os.path.join(self.dir, "hookbin", "hook.sh"), 0o755)
        if ROOT:
            for sub in ("state", "run"):
                shutil.chown(os.path.join(self.dir, sub), "nobody")
            shutil.chown(os.path.join(self.dir, "hook"), HOOK_USER)
        for root, dirs, files in os.walk(os.path.join(self.dir, "etc")):
            for fn in files:
                os.chmod(os.path.join(root, fn), 0o644)
        self.wall = {"gen": time.time() - t0, "fast": 0.0, "follow": 0.0}
        s = self.story
        self.start_rbldnsd()
        last = 0
        segs = s["segments"]
        for i, sg in enumerate(segs):
            t1 = time.time()
            follow = sg["mode"] == "follow"
            p = self.daemon(os.path.join(self.dir, "etc", sg["file"]), self.speed if follow else 0)
            done_at = None
            while True:
                st = self.rw("status")
                if st:
                    now = st.get("now") or 0
                    # the model's clock is wall time until the replay's first minute: not ours
                    if now and sg["from"] - H <= now <= sg["to"] + DAY:
                        last = now
                        if follow:
                            ch = self.write_zones(now)
                            if ch:
                                self.say("zones at %s: %s" % (fmt_h(now - s["d0"]), " ".join(ch)))
                    if st["capture"]["replay"] and st["capture"]["replay"]["done"] and done_at is None:
                        done_at = time.time()
                        break
                if p.poll() is not None:
                    raise RuntimeError("rangewatchd died in %s: %s" % (sg["file"], open(
                        os.path.join(self.dir, "daemon.log")).read()[-2000:]))
                time.sleep(0.1 if follow else 0.25)
            # before the next stretch (fast: the zones stand still in it) the daemon has seen
            # everything the zones hold now: the week's earlier listings after the warm-up, the
            # last changes after a followed stretch
            missing = self.wait_listings(min(last, sg["to"]), 30)
            if missing:
                self.say("warning: after %s the daemon had not seen %s" % (sg["file"], " ".join(missing)))
            # the last level changes and hook runs of the stretch (the hook runs on wall time)
            rest = (3 if i == len(segs) - 1 else 1.5) - (time.time() - done_at)
            if rest > 0:
                time.sleep(rest)
            self.stop(p)
            self.wall[sg["mode"]] += time.time() - t1
        self.wall["total"] = time.time() - t0
        return self.judge(hook_log, last)

    def listed_keys(self, t):
        """What the zones hold at model time t, as the daemon names it: (list, key)."""
        s = self.story
        want = {("uceprotect-1", ip) for ip, lt in s["l1"].items() if lt <= t}
        want |= {("zen", k) for k, lt in s["zen"].items() if lt <= t}
        want |= {("uceprotect-2", n) for n, v in s["l2"].items() if v["t"] <= t}
        if s["l3"] and s["l3"]["t"] <= t:
            want.add(("uceprotect-3", "AS%d" % s["asn"]))
        return want

    def wait_listings(self, t, timeout):
        want = self.listed_keys(t)
        end = time.time() + timeout
        while True:
            ls = self.rw("listings", "--all") or {"listings": []}
            have = {(x["list"], x["key"]) for x in ls["listings"] if x["listed"]}
            missing = []
            for lst, key in want:
                if (lst, key) in have:
                    continue
                if "/" in key and ":" in key:     # ZEN's IPv6 /64: the daemon asks addresses
                    net = ipaddress.ip_network(key)
                    if not any(l == lst and ":" in k and "/" not in k and ipaddress.ip_address(k) in net
                               for l, k in have):
                        missing.append("%s:%s" % (lst, key))
                else:
                    missing.append("%s:%s" % (lst, key))
            if not missing or time.time() > end:
                return sorted(missing)
            time.sleep(0.25)

    def judge(self, hook_log, last):
        s = self.story
        db = sqlite3.connect("file:%s/state/rangewatch.db?mode=ro" % self.dir, uri=True, timeout=10)
        hist = db.execute("SELECT ts, customer, level FROM flag_history ORDER BY id").fetchall()
        events = db.execute("SELECT ts, list, key FROM listing_event WHERE event = 'listed' ORDER BY id").fetchall()
        db.close()
        first_at = {}       # (customer, level) -> first ts at that level or above
        highest = {}
        for ts, c, lv in hist:
            li = LEVELS.index(lv)
            highest[c] = max(highest.get(c, 0), li)
            for k in range(1, li + 1):
                first_at.setdefault((c, LEVELS[k]), ts)
        hooks = {}
        if os.path.exists(hook_log):
            for line in open(hook_log):
                f = line.rstrip("\n").split("\t")
                if f[0] == "suspend":
                    hooks[f[1]] = hooks.get(f[1], 0) + 1
        res = {"story": self.name, "title": s["title"], "checks": [], "ok": True}

        def check(ok, what):
            res["checks"].append(("ok  " if ok else "FAIL") + " " + what)
            res["ok"] = res["ok"] and ok

        def when_at(c, lv, after):
            """first time at lv or above at or after `after` (a level reached before counts
            from `after` if still held: approximated by the first time overall)"""
            t = None
            for ts, cc, l in hist:
                if cc == c and LEVELS.index(l) >= LEVELS.index(lv):
                    if ts >= after:
                        return ts
                    t = ts
            # reached before `after`: held at `after` if not dropped since
            if t is not None:
                cur = None
                for ts, cc, l in hist:
                    if cc == c and ts <= after:
                        cur = l
                if cur and LEVELS.index(cur) >= LEVELS.index(lv):
                    return after
            return None
        d0 = s["d0"]
        # DNS lag: per list, how long after a zone change (the timeline's time) the daemon
        # first recorded the listing, in model minutes (the compression's cost: the sweep and
        # rbldnsd's reload run on wall time)
        seen = {}
        for ts, lst, key in events:
            seen.setdefault((lst, key), ts)
        lags = {}

        def lag(lst, key, t):
            if t < s["start"]:
                return          # listed before the capture: no change to see
            if (lst, key) in seen:
                ts = seen[(lst, key)]
            elif "/" in key and ":" in key:   # ZEN's /64: the first address of it listed
                net = ipaddress.ip_network(key)
                ts = min([v for (l, k), v in seen.items() if l == lst and ":" in k and "/" not in k
                          and ipaddress.ip_address(k) in net] or [None], key=lambda v: v or 0)
            else:
                ts = None
            lags.setdefault(lst, []).append(None if ts is None else ts - t)
        for ip, t in s["l1"].items():
            lag("uceprotect-1", ip, t)
        for k, t in s["zen"].items():
            lag("zen", k, t)
        for net, v in s["l2"].items():
            lag("uceprotect-2", net, v["t"])
        if s["l3"]:
            lag("uceprotect-3", "AS%d" % s["asn"], s["l3"]["t"])
        res["dns_lag"] = lags
        # the culprits
        culprits = s["culprits"]
        lead = None
        warn_delay = []
        if culprits:
            first = min(culprits, key=lambda c: culprits[c]["spam_start"])
            c = culprits[first]
            esc = c["escalations"]
            act = first_at.get((first, "act"))
            if esc:
                L = esc[0][0]
                lead = (L - act) if act else None
                applies = L - c["spam_start"] >= 2 * H
                res["lead_goal"] = applies
                txt = "first culprit %s: spam %s, act %s, %s %s listed %s: lead %s" % (
                    first, fmt_h(c["spam_start"] - d0), fmt_h(act - d0) if act else "never",
                    esc[0][1], esc[0][2], fmt_h(L - d0), fmt_h(lead) if act else "none")
                if applies:
                    check(act is not None and L - act >= 2 * H, "lead >= 2h: " + txt)
                else:
                    res["checks"].append("n/a  lead (spam starts %s before the listing): %s" % (fmt_h(L - c["spam_start"]), txt))
            else:
                res["checks"].append("n/a  lead (no range/ASN-scope listing): first culprit %s act %s" % (
                    first, fmt_h(act - d0) if act else "never"))
            for cid, c in sorted(culprits.items()):
                act = first_at.get((cid, "act"))
                extra = " act at %s (%s after spam start)" % (fmt_h(act - d0), fmt_h(act - c["spam_start"])) if act else " never at act"
                if c["burst"]:
                    w = when_at(cid, "warn", c["spam_start"])
                    dly = (w - c["spam_start"]) if w is not None else None
                    warn_delay.append(dly)
                    check(dly is not None and dly <= 300, "culprit %s: burst %s, warn %s;%s" % (
                        cid, fmt_h(c["spam_start"] - d0), ("after %ds" % dly) if dly is not None else "never", extra))
                else:
                    res["checks"].append("info culprit %s (slow, no burst): highest %s;%s" % (
                        cid, LEVELS[highest.get(cid, 0)], extra))
                res["checks"].append("info culprit %s hook runs: %d" % (cid, hooks.get(cid, 0)))
        res["lead"] = lead
        res["lead_applies"] = bool(culprits) and bool(culprits[min(culprits, key=lambda c: culprits[c]["spam_start"])]["escalations"])
        res["warn"] = warn_delay
        inn = s["innocents"]
        false_acts = [c for c in inn if highest.get(c, 0) == 3]
        false_hooks = [c for c in inn if hooks.get(c)]
        dist = {}
        for c in inn:
            dist[LEVELS[highest.get(c, 0)]] = dist.get(LEVELS[highest.get(c, 0)], 0) + 1
        res["checks"].append("info innocents' highest levels: %s" % ", ".join(
            "%s %d" % (k, dist[k]) for k in LEVELS if k in dist))
        for c in inn:
            if highest.get(c, 0) >= 2:
                res["checks"].append("info innocent %s (%s) highest %s" % (c, s["customers"][c]["name"], LEVELS[highest[c]]))
        check(not false_acts, "innocents at act: %d %s" % (len(false_acts), " ".join(false_acts)))
        check(not false_hooks, "hook runs for innocents: %d %s" % (len(false_hooks), " ".join(false_hooks)))
        if s["expect"].get("max_level_all"):
            top = max([highest.get(c, 0) for c in s["customers"]] + [0])
            check(top <= LEVELS.index(s["expect"]["max_level_all"]),
                  "nobody above %s: highest %s" % (s["expect"]["max_level_all"], LEVELS[top]))
        res["false_acts"] = len(false_acts)
        res["false_hooks"] = len(false_hooks)
        res["hooks"] = sorted(hooks)
        res["clock_end"] = last
        return res


def run_one(args):
    name, variant, rwbin, speed, keep, d0, split, cache, snds = args
    r = Run(name, variant, rwbin, speed, keep, split, cache, snds)
    try:
        res = r.run(d0)
        res["wall"] = r.wall
    except Exception as e:  # a harness failure is a failed story, with the reason
        res = {"story": name, "ok": False, "checks": ["FAIL harness: %s" % e], "lead": None,
               "warn": [], "false_acts": None, "false_hooks": None, "wall": {}, "dns_lag": None,
               "lead_applies": False}
    res["zones"] = r.log
    res["cached"] = getattr(r, "cached", False)
    res["dir"] = r.dir if keep else None
    r.cleanup()
    return res


def fmt_ms(sec):
    return "never" if sec is None else "%dm%02ds" % (sec // 60, sec % 60)


def fmt_warn(ws):
    """Each burst's start-to-warn delay; more than three: how many within the goal, the
    median and the worst."""
    if not ws:
        return "n/a"
    if len(ws) <= 3:
        return ", ".join(fmt_ms(w) for w in ws)
    ok = sum(1 for w in ws if w is not None and w <= 300)
    known = sorted(w for w in ws if w is not None)
    never = len(ws) - len(known)
    out = "%d bursts: %d within 5 min" % (len(ws), ok)
    if known:
        out += ", median %s, worst %s" % (fmt_ms(known[len(known) // 2]), fmt_ms(known[-1]))
    if never:
        out += ", %d never" % never
    return out


LIST_SHORT = [("zen", "zen"), ("uceprotect-1", "L1"), ("uceprotect-2", "L2"), ("uceprotect-3", "L3")]


def fmt_lag(lags):
    """Per list, the longest a zone change waited to be seen (model minutes: the daemon's
    sweep and rbldnsd's reload run on wall time); changes never seen are counted."""
    if not lags:
        return "-"
    out = []
    for lst, short in LIST_SHORT:
        if lst not in lags:
            continue
        known = [x for x in lags[lst] if x is not None]
        never = len(lags[lst]) - len(known)
        txt = "%s %dm" % (short, int(max(known) / 60)) if known else short
        if never:
            txt += " (%d unseen)" % never
        out.append(txt)
    return ", ".join(out)


LEGEND = """Lead: the first range/ASN-scope listing covering the first culprit (the story's own
timeline) minus that culprit's first act (goal >= 2h when its spam starts >= 2h before the
listing). Warn: each burst's start to its culprit's first warn or act. DNS lag: per list,
the longest a zone change waited before the daemon recorded it, in model minutes (the
compression's cost: the daemon's sweep and rbldnsd run on wall time)."""


def table(results, variant, speed):
    rows = ["| story | first culprit act vs listing (lead, goal >= 2h) | burst start -> warn (goal <= 5 min) | false acts | false hook runs | DNS lag (max, model min) | wall s | result |",
            "|---|---|---|---|---|---|---|---|"]
    for r in results:
        if r["lead"] is not None:
            lead = fmt_h(r["lead"])
        elif r.get("lead_applies"):
            lead = "never at act"
        else:
            lead = "n/a"
        if r.get("lead_applies") and not r.get("lead_goal"):
            lead += " (spam < 2h before: goal n/a)"
        rows.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["story"], lead, fmt_warn(r["warn"]), r["false_acts"] if r["false_acts"] is not None else "?",
            r["false_hooks"] if r["false_hooks"] is not None else "?",
            fmt_lag(r.get("dns_lag")), "%.0f" % r["wall"].get("total", 0), "pass" if r["ok"] else "FAIL"))
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", default="short", choices=["short", "long"])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--bin", default=os.environ.get("RW_BIN", os.path.join(TOP, "bin")))
    ap.add_argument("--only", default="")
    ap.add_argument("--speed", type=float, default=0)
    ap.add_argument("--results", default="")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--no-split", action="store_true",
                    help="follow the whole incident (an hour before the first zone change to the end) "
                    "instead of only the stretches around zone changes")
    ap.add_argument("--no-snds", action="store_true",
                    help="stories with SNDS data (snds_leak) without it: DNSBL evidence alone")
    ap.add_argument("--cache", default=os.path.join(TOP, "tests", "out", "scenarios"),
                    help="where generated stories are kept between runs ('' for none)")
    a = ap.parse_args()
    speed = a.speed or (600 if a.variant == "short" else 120)
    names = [n for n in stories.STORIES if not a.only or n in a.only.split(",")]
    # the incident day: midnight UTC three days ago, so every story ends before now
    d0 = (int(time.time()) // 86400 - 3) * 86400
    t0 = time.time()
    # the long stories first, so the pool ends together
    order = sorted(names, key=lambda n: n not in ("reference", "asn_l3", "slow_leak", "snds_leak"))
    with cf.ThreadPoolExecutor(a.jobs) as ex:
        futs = {ex.submit(run_one, (n, a.variant, a.bin, speed, a.keep, d0, not a.no_split, a.cache,
                                    not a.no_snds)): n
                for n in order}
        results = {}
        for f in cf.as_completed(futs):
            r = f.result()
            results[r["story"]] = r
            print("== %s: %s (%s) %s%s" % (r["story"], r.get("title", ""), "pass" if r["ok"] else "FAIL",
                                           " ".join("%s %.0fs" % kv for kv in r["wall"].items()),
                                           " (story from the cache)" if r.get("cached") else ""), flush=True)
            for z in r["zones"]:
                print("   " + z)
            for c in r["checks"]:
                print("   " + c)
            if r.get("dir"):
                print("   kept: " + r["dir"])
    res = [results[n] for n in names]
    wall = time.time() - t0
    tab = table(res, a.variant, speed)
    print()
    print(tab)
    nfail = sum(1 for r in res if not r["ok"])
    print("\n%d stories, %d failed, variant %s, replay_speed %g, %d jobs, %.0f s" % (
        len(res), nfail, a.variant, speed, a.jobs, wall))
    if a.results:
        cpu = "?"
        try:
            with open("/proc/cpuinfo") as f:
                cpu = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
        except (OSError, StopIteration):
            pass
        nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or str(os.cpu_count())
        git = subprocess.run(["git", "-C", TOP, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True).stdout.strip()
        with open(a.results, "a") as f:
            f.write("\n## %s — detection scenarios, %s variant\n\n" % (
                time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(t0)), a.variant))
            f.write("Machine: %s, nproc %s, %s; %s.  \n" % (platform.node(), nproc, cpu, platform.platform()))
            f.write("Command: `%s` (replay_speed %g in followed stretches, %d jobs); binaries %s, git %s.  \n" % (
                os.environ.get("SCEN_COMMAND") or " ".join(["tests/scenarios/run.py"] + sys.argv[1:]),
                speed, a.jobs, a.bin, git))
            f.write("%d stories, %d failed, %.0f s of wall time.\n\n" % (len(res), nfail, wall))
            f.write(tab + "\n\n" + LEGEND + "\n")
    sys.exit(1 if nfail else 0)


if __name__ == "__main__":
    main()
