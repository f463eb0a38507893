#!/usr/bin/python3
"""Runs the detection scenario suite (tests/scenarios/stories.py) through rangewatchd and
judges each story by the goals, from the daemon's own record in the model's clock.

Usage: /usr/bin/python3 tests/scenarios/run.py [--variant short|long] [--jobs N]
           [--bin DIR] [--only a,b] [--results FILE] [--keep]

Per story, in its own temp dir, with its own rbldnsd (port, zones) and daemon (socket,
state_dir): the story's files are generated; rangewatchd replays warm.pcap (the quiet days,
before the first zone change less an hour) at replay_speed 0 and is stopped; it is started
again on the same state_dir with incident.pcap at SPEED (short 600: a model hour in 6 s;
long 120), and the zones (UCEPROTECT L1/L2/L3 and ZEN emulations, rbldnsd -c 1s, TTL 1 s)
are rewritten whenever the model's clock (`rangewatch status --json`, "now") passes a
timeline time. The hook (auto_suspend = yes, dry_run = no, the circuit breaker unbounded:
its hours are wall hours, which a compressed replay would trip unrealistically) appends each
call to a log. Outcomes: flag_history (levels with model-clock times, read with sqlite3
read-only), the hook log, listing_event (how late the daemon saw each zone change: the DNS
lag the compression adds).

Goals, exactly (a story fails on any):
  lead   the first culprit (earliest spam) at act >= 2 h before the first range/ASN-scope
         listing covering it, whenever its spam starts >= 2 h before that listing;
  warn   every culprit whose spam is a burst at warn (or act) within 5 min of its start;
  acts   0 innocent customers ever at act;
  hooks  0 hook runs for innocents;
  (quiet_day) no customer ever above watch.
Prints what it checked per story, the detection table; exit 1 when a goal fails.
"""
import argparse
import concurrent.futures as cf
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
ROOT = os.geteuid() == 0

LISTS_CONF = """
[list "uceprotect-1"]
zone = dnsbl-1.uceprotect.test
@CITES uceprotect-1@
scope = ip
expiry = 7d
interval = 5s
fast_interval = 1s
max_qps = 3000

[list "uceprotect-2"]
zone = dnsbl-2.uceprotect.test
@CITES uceprotect-2@
scope = range
expiry = 7d
interval = 1s
max_qps = 500

[list "uceprotect-3"]
zone = dnsbl-3.uceprotect.test
@CITES uceprotect-3@
scope = asn
expiry = 7d
interval = 1s
max_qps = 100

[list "zen"]
zone = zen.spamhaus.test
scope = ip
listed = 127.0.0.2-127.0.0.7 127.0.0.9-127.0.0.11
blocked = 127.255.255.252 127.255.255.254 127.255.255.255
interval = 30s
fast_interval = 1s
max_qps = 3000
@CITES zen@
"""



def shipped_cites(conf):
    """The suite judges the shipped patterns: each list's `cite` lines as etc/dnsbl.conf
    has them (a reply naming UCEPROTECT Level 2 must not count as a Level 1 listing)."""
    text = open(os.path.join(HERE, "..", "..", "etc", "dnsbl.conf")).read()

    def lines(name):
        sec = text.split('[list "%s"]' % name, 1)[1].split("\n[", 1)[0]
        return "\n".join(l for l in sec.splitlines() if l.startswith("cite"))
    for name in ("uceprotect-1", "uceprotect-2", "uceprotect-3", "zen"):
        conf = conf.replace("@CITES %s@" % name, lines(name))
    return conf


LISTS_CONF = shipped_cites(LISTS_CONF)

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


class Run:
    def __init__(self, name, variant, rwbin, speed, keep):
        self.name, self.variant, self.bin, self.speed, self.keep = name, variant, rwbin, speed, keep
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
                return
        raise RuntimeError("rbldnsd did not start: " + open(os.path.join(self.dir, "rbldnsd.out")).read())

    def conf(self, replay, speed):
        d = self.dir
        return """[rangewatch]
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
user = nobody
timeout = 10
auto_suspend = yes
dry_run = no
max_per_hour = 0
max_per_range = 0
""" % (self.port, d, d, d, "nobody" if ROOT else os.environ.get("USER", "root"), replay, speed, d)

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
        self.story = stories.build(self.name, self.variant, d0, os.path.join(self.dir, "etc"))
        with open(os.path.join(self.dir, "etc", "lists.conf"), "w") as f:
            f.write(LISTS_CONF)
        hook_log = os.path.join(self.dir, "hook", "calls.log")
        with open(os.path.join(self.dir, "hookbin", "hook.sh"), "w") as f:
            f.write(HOOK.format(log=hook_log))
        os.chmod(os.path.join(self.dir, "hookbin", "hook.sh"), 0o755)
        if ROOT:
            for sub in ("hook", "state", "run"):
                shutil.chown(os.path.join(self.dir, sub), "nobody")
        for root, dirs, files in os.walk(os.path.join(self.dir, "etc")):
            for fn in files:
                os.chmod(os.path.join(root, fn), 0o644)
        t_gen = time.time() - t0
        s = self.story
        self.start_rbldnsd()
        # 1. the quiet days, as fast as it goes
        p = self.daemon(os.path.join(self.dir, "etc", "warm.pcap"), 0)
        while True:
            st = self.rw("status")
            if st and st["capture"]["replay"] and st["capture"]["replay"]["done"]:
                break
            if p.poll() is not None:
                raise RuntimeError("rangewatchd died in the warm-up")
            time.sleep(0.3)
        # the week's earlier listings (stale impacts) were in DNS all along: a daemon running
        # for days would have them; wait until this one has seen them before going on
        want = set(s["stale"])
        for _ in range(120):
            ls = self.rw("listings", "--all") or {"listings": []}
            have = {x["key"] for x in ls["listings"] if x["list"] == "uceprotect-1" and x["listed"]}
            if want <= have:
                break
            time.sleep(0.25)
        else:
            self.say("warning: stale listings not seen after the warm-up: %s" % " ".join(sorted(want - have)))
        self.stop(p)
        t_warm = time.time() - t0 - t_gen
        # 2. the incident, compressed, the zones following the model's clock
        p = self.daemon(os.path.join(self.dir, "etc", "incident.pcap"), self.speed)
        last = 0
        done_at = None
        while True:
            st = self.rw("status")
            if st:
                now = st.get("now") or 0
                if now:
                    last = now
                    ch = self.write_zones(now)
                    if ch:
                        self.say("zones at %s: %s" % (fmt_h(now - s["d0"]), " ".join(ch)))
                if st["capture"]["replay"] and st["capture"]["replay"]["done"] and done_at is None:
                    done_at = time.time()
            if p.poll() is not None:
                raise RuntimeError("rangewatchd died: " + open(os.path.join(self.dir, "daemon.log")).read()[-2000:])
            # after the last frame: a few wall seconds for the last listings and the hooks
            if done_at and time.time() - done_at > 4:
                break
            time.sleep(0.2)
        self.stop(p)
        t_inc = time.time() - t0 - t_gen - t_warm
        self.wall = {"gen": t_gen, "warm": t_warm, "incident": t_inc, "total": time.time() - t0}
        return self.judge(hook_log, last)

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
        # DNS lag: the daemon's first listing of each zone change against its timeline time
        lags = []
        seen = {}
        for ts, lst, key in events:
            seen.setdefault((lst, key), ts)
        for ip, t in s["l1"].items():
            if t >= s["incident_from"] and ("uceprotect-1", ip) in seen:
                lags.append(seen[("uceprotect-1", ip)] - t)
        for net, v in s["l2"].items():
            if v["t"] >= s["incident_from"] and ("uceprotect-2", net) in seen:
                lags.append(seen[("uceprotect-2", net)] - v["t"])
        res["dns_lag"] = max(lags) if lags else None
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
    name, variant, rwbin, speed, keep, d0 = args
    r = Run(name, variant, rwbin, speed, keep)
    try:
        res = r.run(d0)
        res["wall"] = r.wall
    except Exception as e:  # a harness failure is a failed story, with the reason
        res = {"story": name, "ok": False, "checks": ["FAIL harness: %s" % e], "lead": None,
               "warn": [], "false_acts": None, "false_hooks": None, "wall": {}, "dns_lag": None,
               "lead_applies": False}
    res["zones"] = r.log
    res["dir"] = r.dir if keep else None
    r.cleanup()
    return res


def table(results, variant, speed):
    rows = ["| story | first culprit act vs listing (lead, goal >= 2h) | burst start -> warn (goal <= 5 min) | false acts | false hook runs | DNS lag | wall s | result |",
            "|---|---|---|---|---|---|---|---|"]
    for r in results:
        if r["lead"] is not None:
            lead = fmt_h(r["lead"])
        elif r.get("lead_applies"):
            lead = "never at act"
        else:
            lead = "n/a"
        warn = ", ".join(("%dm%02ds" % (w // 60, w % 60)) if w is not None else "never" for w in r["warn"]) or "n/a"
        rows.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["story"], lead, warn, r["false_acts"] if r["false_acts"] is not None else "?",
            r["false_hooks"] if r["false_hooks"] is not None else "?",
            ("%dm" % (r["dns_lag"] // 60)) if r.get("dns_lag") is not None else "-",
            "%.0f" % r["wall"].get("total", 0), "pass" if r["ok"] else "FAIL"))
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
    a = ap.parse_args()
    speed = a.speed or (600 if a.variant == "short" else 120)
    names = [n for n in stories.STORIES if not a.only or n in a.only.split(",")]
    # the incident day: midnight UTC three days ago, so every story ends before now
    d0 = (int(time.time()) // 86400 - 3) * 86400
    t0 = time.time()
    # the long stories first, so the pool ends together
    order = sorted(names, key=lambda n: n not in ("reference", "asn_l3", "slow_leak"))
    with cf.ThreadPoolExecutor(a.jobs) as ex:
        futs = {ex.submit(run_one, (n, a.variant, a.bin, speed, a.keep, d0)): n for n in order}
        results = {}
        for f in cf.as_completed(futs):
            r = f.result()
            results[r["story"]] = r
            print("== %s: %s (%s) %s" % (r["story"], r.get("title", ""), "pass" if r["ok"] else "FAIL",
                                         " ".join("%s %.0fs" % kv for kv in r["wall"].items())), flush=True)
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
        with open(a.results, "a") as f:
            f.write("\n## Detection scenarios (%s variant), %s\n\n" % (a.variant, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())))
            f.write("Machine: %s, %d cores, %s. Command: `bench/scenarios.sh` (tests/scenarios/run.py --variant %s --jobs %d; replay_speed %g). Binaries: %s (git %s). %d stories, %d failed, %.0f s.\n\n" % (
                platform.node(), os.cpu_count(), platform.platform(), a.variant, a.jobs, speed, a.bin,
                subprocess.run(["git", "-C", TOP, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
                len(res), nfail, wall))
            f.write(tab + "\n\nLead: the first listing of the first culprit's range/ASN (the story's own timeline) minus its first act; DNS lag: how late the daemon saw the timeline's listings at this compression.\n")
    sys.exit(1 if nfail else 0)


if __name__ == "__main__":
    main()
