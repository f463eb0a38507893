#!/usr/bin/python3
"""Compares `rangewatch analyze --json` with the tshark reference (tests/tshark_ref.py).

Usage: /usr/bin/python3 tests/compare.py [options] CAPTURE...
  --rw PATH        the rangewatch binary (default: $RW_BIN/rangewatch)
  --truth FILE     truth.json from gen_captures.py: the reference is itself checked against the
                   generator's ground truth, and fields a capture lists under tshark_exceptions
                   are compared with the truth instead of tshark (the reason is printed)
  --config FILE    run analyze with -c FILE; the expectation keeps only clients inside the
                   configured prefixes, maps them to customers and sums customers[]; its
                   `lists` file (none: no list is ever named) gives the cite patterns
  --lists FILE     without --config: the dnsbl.conf analyze (through a config naming only
                   it) and the reference tie rejections to (default: etc/dnsbl.conf)
  --bpf            run analyze with --bpf as well and require identical SMTP results
  --expect-ip IP@FIELD=N[,FIELD=N...]   extra fixed expectations (e.g. from a live test),
                   checked against both analyze and the tshark reference
  --expect-rejections IP@LIST=N[,...]  the same for rejections_citing (list names)
  --absent IP      IP must not be listed (e.g. outside the configured prefixes)
  --self-check     only check the tshark reference against --truth (no analyze run)
Several CAPTUREs are given to one analyze run; the expectation is then the sum of the
references (dst_ips: the union).  Prints every check; exits 1 on any mismatch, 2 on errors.
"""
import configparser
import csv
import ipaddress
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tshark_ref  # noqa: E402

COUNTERS = tshark_ref.COUNTERS
PK_FIELDS = ["total", "smtp", "malformed", "truncated"]


class Checker:
    def __init__(self, label):
        self.label = label
        self.bad = 0
        self.n = 0

    def eq(self, what, got, exp, note=""):
        self.n += 1
        ok = got == exp
        if not ok:
            self.bad += 1
        print("%s %s: %s %s %s %s%s" % (self.label, what, fmt(got), "==" if ok else "!=", fmt(exp),
                                        "ok" if ok else "MISMATCH", ("  (" + note + ")") if note else ""))
        return ok

    def fail(self, what):
        self.n += 1
        self.bad += 1
        print("%s %s MISMATCH" % (self.label, what))


def fmt(v):
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True, separators=(",", ":"))
    return str(v)


def canon_ip(s):
    try:
        return ipaddress.ip_address(s).compressed
    except ValueError:
        return s


def run_analyze(rw, files, config=None, bpf=False):
    cmd = [rw, "analyze"]
    if config:
        cmd += ["-c", config]
    cmd += ["--json"]
    if bpf:
        cmd += ["--bpf"]
    cmd += files
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        print("ERROR: %s: %s" % (" ".join(cmd), e))
        return None
    if p.stderr:
        print("analyze stderr: %s" % p.stderr.decode(errors="replace").strip()[-2000:])
    if p.returncode != 0:
        print("ERROR: %s exited %d: %s" % (" ".join(cmd), p.returncode,
                                           p.stderr.decode(errors="replace")[-2000:]))
        return None
    try:
        return json.loads(p.stdout)
    except ValueError as e:
        print("ERROR: %s printed no valid JSON (%s): %r" % (" ".join(cmd), e, p.stdout[:500]))
        return None


def capinfos_count(path):
    p = subprocess.run(["capinfos", "-c", "-M", "-T", "-r", path], capture_output=True, text=True)
    if p.returncode != 0:
        return None
    return int(p.stdout.strip().split("\t")[-1])


def merge(into, c):
    for k in COUNTERS:
        if k != "dst_ips":
            into[k] = into.get(k, 0) + c[k]
    into["_dst"] = sorted(set(into.get("_dst", [])) | set(c["_dst"]))
    into["dst_ips"] = len(into["_dst"])
    rc = into.setdefault("rejections_citing", {})
    for k, v in c["rejections_citing"].items():
        rc[k] = rc.get(k, 0) + v


def load_config(path):
    cp = configparser.ConfigParser(strict=False, interpolation=None, inline_comment_prefixes=(";", "#"))
    cp.read(path)
    base = os.path.dirname(os.path.abspath(path))
    pf = os.path.join(base, cp.get("rangewatch", "prefixes"))
    cf = os.path.join(base, cp.get("rangewatch", "customers"))
    prefixes = tshark_ref.load_prefixes(pf)
    customers = []
    with open(cf, newline="") as f:
        for row in csv.DictReader(f):
            nets = [ipaddress.ip_network(c, strict=False) for c in row["cidrs"].split()]
            customers.append((row["id"], row["name"], nets))
    lf = cp.get("rangewatch", "lists", fallback="").strip()
    rules = tshark_ref.load_cite_rules(os.path.join(base, lf)) if lf else []
    return prefixes, customers, rules


def customer_of(ip, customers):
    a = ipaddress.ip_address(ip)
    best = None
    for cid, name, nets in customers:
        for n in nets:
            if n.version == a.version and a in n and (best is None or n.prefixlen > best[0]):
                best = (n.prefixlen, cid, name)
    return (best[1], best[2]) if best else (None, None)


def expected_for(files, truth, prefixes, ck, rules=None):
    """The expectation: the sum of the per-file tshark references, with truth-based overrides."""
    pk = {k: 0 for k in PK_FIELDS}
    ips = {}
    for path in files:
        ref = tshark_ref.reference(path, prefixes, rules)
        # keep dst sets for unions across files
        t = truth.get(os.path.basename(path)) if truth else None
        exc = (t or {}).get("tshark_exceptions", {})
        if t is not None and prefixes is None and not t.get("partial"):
            self_check(os.path.basename(path), ref, t, ck)
        for k in PK_FIELDS:
            v = ref["packets"][k]
            if t is not None and prefixes is None and "packets." + k in exc:
                v = t["packets"][k]
            pk[k] += v
        for e in ref["ips"]:
            e = dict(e)
            e["_dst"] = e.pop("_dst")
            if t is not None and prefixes is None:
                for key, reason in exc.items():
                    ip, _, field = key.partition(" ")
                    if ip == e["ip"] and field:
                        tv = t["ips"].get(ip, {})
                        print("%s %s %s: expectation from the known ground truth (%s), not tshark (%s)"
                              % (os.path.basename(path), ip, field, fmt(tv.get(field)), fmt(e[field])))
                        print("    reason: %s" % reason)
                        e[field] = tv.get(field)
            merge(ips.setdefault(e["ip"], {}), e)
    return pk, ips


def self_check(name, ref, t, ck):
    """The reference must agree with the generator's truth wherever tshark is the reference;
    otherwise the test itself is wrong (a failure too)."""
    exc = t.get("tshark_exceptions", {})
    sub = Checker("[reference vs truth] " + name)
    for k in PK_FIELDS:
        if "packets." + k not in exc:
            sub.eq("packets." + k, ref["packets"][k], t["packets"][k])
    rips = {e["ip"]: e for e in ref["ips"]}
    if not sub.eq("ip set", sorted(rips), sorted(t["ips"])):
        pass
    for ip in sorted(set(rips) & set(t["ips"])):
        for f in COUNTERS + ["rejections_citing"]:
            if "%s %s" % (ip, f) in exc:
                continue
            sub.eq("%s %s" % (ip, f), rips[ip][f], t["ips"][ip][f])
    ck.n += sub.n
    ck.bad += sub.bad
    if sub.bad:
        print("%s: the tshark reference disagrees with the generator's ground truth in %d checks "
              "(a test bug or a tshark quirk to document)" % (name, sub.bad))


def main(argv):
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--rw", default=os.path.join(os.environ.get("RW_BIN", "bin"), "rangewatch"))
    ap.add_argument("--truth")
    ap.add_argument("--config")
    ap.add_argument("--lists", default=tshark_ref.DEFAULT_LISTS)
    ap.add_argument("--bpf", action="store_true")
    ap.add_argument("--expect-ip", action="append", default=[])
    ap.add_argument("--expect-rejections", action="append", default=[])
    ap.add_argument("--absent", action="append", default=[])
    ap.add_argument("--label")
    ap.add_argument("--self-check", action="store_true")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args(argv[1:])
    label = a.label or "+".join(os.path.basename(f) for f in a.files)
    if a.config:
        label += " -c"
    ck = Checker(label)
    truth = None
    if a.truth:
        with open(a.truth) as f:
            truth = json.load(f)
    prefixes = customers = None
    config = a.config
    if a.config:
        prefixes, customers, rules = load_config(a.config)
    else:
        rules = tshark_ref.load_cite_rules(a.lists)

    if a.self_check:
        expected_for(a.files, truth, prefixes, ck, rules)
        print("%s: %d checks, %d mismatches" % (label, ck.n, ck.bad))
        return 1 if ck.bad else 0
    tmp = None
    if config is None:
        # a config naming only the lists: everything else stays analyze's default
        tmp = tempfile.NamedTemporaryFile("w", suffix=".conf", prefix="rw-compare-")
        tmp.write("[rangewatch]\nlists = %s\n" % os.path.abspath(a.lists))
        tmp.flush()
        config = tmp.name
    got = run_analyze(a.rw, a.files, config)
    if got is None:
        return 2
    pk, exp_ips = expected_for(a.files, truth, prefixes, ck, rules)

    # packets
    gp = got.get("packets", {})
    cap_total = sum(capinfos_count(f) or 0 for f in a.files)
    ck.eq("packets.total (capinfos -c)", gp.get("total"), cap_total)
    ck.eq("packets.total (tshark frames)", gp.get("total"), pk["total"])
    ck.eq("packets.truncated (frame.cap_len < frame.len)", gp.get("truncated"), pk["truncated"])
    ck.eq("packets.malformed", gp.get("malformed"), pk["malformed"])
    ck.eq("packets.smtp", gp.get("smtp"), pk["smtp"])

    # ips
    gips = {}
    for e in got.get("ips", []):
        ip = canon_ip(str(e.get("ip")))
        if ip in gips:
            ck.fail("ip %s listed twice" % ip)
        gips[ip] = e
    ck.eq("ip set", sorted(gips), sorted(exp_ips))
    for ip in sorted(set(gips) | set(exp_ips)):
        g = gips.get(ip)
        e = exp_ips.get(ip)
        if g is None or e is None:
            ck.fail("%s %s" % (ip, "missing from analyze" if g is None else "reported but not expected"))
            continue
        for f in COUNTERS:
            ck.eq("%s %s" % (ip, f), g.get(f), e[f])
        grc = {str(k).lower(): v for k, v in (g.get("rejections_citing") or {}).items() if v}
        ck.eq("%s rejections_citing" % ip, grc, {k: v for k, v in e["rejections_citing"].items() if v})
        exp_cust = customer_of(ip, customers)[0] if customers else None
        gc = g.get("customer", "absent")
        ck.eq("%s customer" % ip, None if gc is None else str(gc), exp_cust)

    # fixed expectations (live tests): analyze and the tshark reference must both match them
    for spec in a.expect_ip:
        ip, _, rest = spec.partition("@")
        for kv in rest.split(","):
            k, _, v = kv.partition("=")
            ck.eq("%s %s (analyze vs known count)" % (ip, k), gips.get(canon_ip(ip), {}).get(k), int(v))
            ck.eq("%s %s (tshark vs known count)" % (ip, k), exp_ips.get(canon_ip(ip), {}).get(k), int(v))
    for spec in a.expect_rejections:
        ip, _, rest = spec.partition("@")
        want = {}
        for kv in rest.split(","):
            k, _, v = kv.partition("=")
            want[k] = int(v)
        g = {str(k).lower(): v for k, v in (gips.get(canon_ip(ip), {}).get("rejections_citing") or {}).items() if v}
        ck.eq("%s rejections_citing (analyze vs known count)" % ip, g, want)
        ck.eq("%s rejections_citing (tshark vs known count)" % ip,
              exp_ips.get(canon_ip(ip), {}).get("rejections_citing"), want)
    for ip in a.absent:
        ck.eq("%s absent (outside the provider prefixes)" % ip, canon_ip(ip) in gips, False)

    # customers
    if customers is not None:
        check_customers(ck, got, gips, customers, exp_ips)
    else:
        # no config: no customers (an empty array; an absent key is tolerated)
        ck.eq("customers without a config", got.get("customers", []), [])

    # --bpf gives the identical JSON
    if a.bpf:
        gb = run_analyze(a.rw, a.files, config, bpf=True)
        if gb is None:
            return 2
        # The filter drops frames before the decoder sees them, as the kernel does on a live
        # interface: packets.total/malformed/truncated and the capture diagnostics then count
        # only frames that passed it. Everything about SMTP must be identical: packets.smtp,
        # every IP and every customer (arrays compared up to order).
        def smtp_part(doc):
            d = normalize(doc)
            d["packets"] = {"smtp": d.get("packets", {}).get("smtp")}
            d.pop("capture", None)
            return d
        diff = json_diff(smtp_part(got), smtp_part(gb))
        if diff:
            ck.fail("--bpf output differs from the output without it (%d differences): %s%s"
                    % (len(diff), "; ".join(diff[:25]), "; ..." if len(diff) > 25 else ""))
        else:
            ck.eq("--bpf SMTP results identical", True, True)

    print("%s: %d checks, %d mismatches" % (label, ck.n, ck.bad))
    return 1 if ck.bad else 0


def normalize(doc):
    d = json.loads(json.dumps(doc))
    if isinstance(d.get("ips"), list):
        d["ips"] = {str(e.get("ip")): e for e in d["ips"]}
    if isinstance(d.get("customers"), list):
        cs = {}
        for c in d["customers"]:
            if isinstance(c.get("ips"), list):
                c["ips"] = sorted(map(str, c["ips"]))
            cs[str(c.get("id"))] = c
        d["customers"] = cs
    return d


def json_diff(a, b, path=""):
    out = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            out += json_diff(a.get(k, "<absent>"), b.get(k, "<absent>"), path + "." + str(k))
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            out += json_diff(x, y, "%s[%d]" % (path, i))
    elif a != b:
        out.append("%s: %s vs --bpf %s" % (path or "/", fmt(a)[:200], fmt(b)[:200]))
    return out


def check_customers(ck, got, gips, customers, exp_ips):
    by_cust = {}
    for ip, g in gips.items():
        cid = customer_of(ip, customers)[0]
        if cid is not None:
            by_cust.setdefault(cid, []).append(ip)
    names = {cid: name for cid, name, _ in customers}
    gcs = {}
    for c in got.get("customers", []) or []:
        gcs[str(c.get("id"))] = c
    for cid in sorted(set(gcs) | set(by_cust)):
        g = gcs.get(cid)
        ips = sorted(by_cust.get(cid, []))
        if g is None:
            ck.fail("customer %s (IPs %s) missing from customers[]" % (cid, " ".join(ips)))
            continue
        lab = "customer %s" % cid
        ck.eq(lab + " name", g.get("name"), names.get(cid))
        gi = g.get("ips")
        if isinstance(gi, list):
            ck.eq(lab + " ips", sorted(canon_ip(str(x)) for x in gi), ips)
        else:
            ck.eq(lab + " ips (count)", gi, len(ips))
        for f in COUNTERS:
            total = sum(gips[i].get(f) or 0 for i in ips)
            if f == "dst_ips":
                # design.md says "the same counters summed"; for a distinct count the distinct
                # union over the customer's IPs is as defensible: accept exactly one of the two.
                union = len(set().union(*[set(exp_ips.get(i, {}).get("_dst", [])) for i in ips]))
                if g.get(f) == union and union != total:
                    ck.eq("%s %s (distinct union over its ips; their sum is %d)" % (lab, f, total), g.get(f), union)
                else:
                    ck.eq("%s %s (sum over its ips; distinct union would be %d)" % (lab, f, union), g.get(f), total)
                continue
            ck.eq("%s %s (sum over its ips)" % (lab, f), g.get(f), total)
        s = {}
        for i in ips:
            for k, v in (gips[i].get("rejections_citing") or {}).items():
                if v:
                    s[str(k).lower()] = s.get(str(k).lower(), 0) + v
        grc = {str(k).lower(): v for k, v in (g.get("rejections_citing") or {}).items() if v}
        ck.eq(lab + " rejections_citing (sum over its ips)", grc, s)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
