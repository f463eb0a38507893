#!/bin/sh
# The man pages (ui/rangewatch.1, monitor/rangewatchd.8, monitor/rangewatch.conf.5,
# probes/rangewatch-dnsbl.conf.5) are the reference; this test keeps them whole:
#  - `mandoc -T lint` says nothing of any of them (a reference to one of the four is the
#    only message forgiven: they are not installed while the tree is tested);
#  - every config key the parsers accept is documented exactly once, and nothing else is:
#    the keys are read out of the parsers' tables (monitor/config.c: KEY, LIST, RISK, the
#    [policy] pkeys and [class] CK rows; probes/dnsbl_lists.c: lkeys), the documented ones
#    out of the pages (".It Ic KEY" under ".Ss Bq SECTION"), and every documented key is
#    also given to the real parser (`rangewatchd -n`), which must not call it unknown;
#  - every `rangewatch` subcommand (ui/rangewatch.c's table) is an ".It Cm NAME" of
#    rangewatch(1) COMMANDS once, and every control-socket command (views.c's table,
#    control.c's built-ins, rangewatchd.c's control_handle calls) one of rangewatchd(8)
#    CONTROL SOCKET once.
# Where a new key goes: [SECTION] KEY of config.c under ".Ss Bq SECTION" of
# monitor/rangewatch.conf.5 ([policy "NAME"] and [class "NAME"]: ".Ss Bq policy Qq Ar NAME");
# a [list "NAME"] key of dnsbl_lists.c under ".Ss Bq list Qq Ar NAME" of
# probes/rangewatch-dnsbl.conf.5; as ".It Ic KEY No = Ar value", then its text.
set -u
: "${RW_BIN:?RW_BIN must name the folder holding rangewatchd}"
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
command -v mandoc >/dev/null || { echo "skip: mandoc not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
PAGES="ui/rangewatch.1 monitor/rangewatchd.8 monitor/rangewatch.conf.5 probes/rangewatch-dnsbl.conf.5"

for p in $PAGES; do
	mandoc -T lint "$TOP/$p" >"$tmp/lint" 2>&1
	grep -v -E "referenced manual not found: Xr (rangewatch|rangewatchd|rangewatch.conf|rangewatch-dnsbl.conf) [158]" \
	    "$tmp/lint" >"$tmp/lint.left"
	if [ -s "$tmp/lint.left" ]; then
		echo "FAIL mandoc -T lint $p:"; sed 's/^/     /' "$tmp/lint.left"; fail=1
	else
		echo "ok   mandoc -T lint $p: clean ($(mandoc -T ascii "$TOP/$p" | wc -l) lines rendered)"
	fi
done

$PY - "$TOP" "$RW_BIN" "$tmp" <<'PYEOF' || fail=1
import collections, os, re, subprocess, sys
top, rw_bin, tmp = sys.argv[1:4]
src = lambda p: open(os.path.join(top, p)).read()
fail = 0
def say(good, msg):
    global fail
    print(("ok   " if good else "FAIL ") + msg)
    fail |= not good

# --- the keys the parsers accept, from their tables
cfg = src("monitor/config.c")
blk = cfg.split("static const struct cfg_key cfg_keys[] = {", 1)[1].split("\n};", 1)[0]
parsed = set(re.findall(r'\b(?:KEY|LIST)\("(\w+)", "(\w+)"', blk))
parsed |= {("risk", k) for k in re.findall(r'\bRISK\("(\w+)"', blk)}
# every row of the table holds one CFG_ type: a row written some other way than KEY, LIST
# or RISK would escape the regexes above, so the counts must agree
rows = len(re.findall(r"\bCFG_[A-Z0-9]+\b", blk))
say(rows == len(parsed), "cfg_keys: %d rows, %d read as (section, key)%s" % (rows, len(parsed),
    "" if rows == len(parsed) else ": teach this test the new row form"))
pk = cfg.split("static const struct pkey pkeys[] = {", 1)[1].split("};", 1)[0]
parsed |= {("policy", "threshold_N" if k == "threshold_" else k)
           for k in re.findall(r'\{ "(\w+)", PK_', pk)}
parsed |= {("class", k) for k in re.findall(r'\bCK\("(\w+)"', cfg)}
lk = src("probes/dnsbl_lists.c").split("static const struct lkey lkeys[] = {", 1)[1].split("};", 1)[0]
lparsed = {("list", k) for k in re.findall(r'\{ "(\w+)", LK_', lk)}
say(len(lparsed) == len(re.findall(r"\{ \"", lk)), "lkeys: every row read (%d)" % len(lparsed))
say(len(parsed) > 80 and len(lparsed) > 12,
    "keys read from the parsers' tables: %d of rangewatch.conf, %d of the lists file"
    % (len(parsed), len(lparsed)))

def documented(page):
    """(section, key) -> how many times, from .Ss Bq SECTION and .It Ic KEY"""
    sec, out = None, collections.Counter()
    for line in src(page).split("\n"):
        m = re.match(r"\.Ss Bq (\w+)", line)
        if m:
            sec = m.group(1)
        elif line.startswith(".Sh"):
            sec = None
        m = re.match(r"\.It Ic (\S+)", line)
        if m and sec:
            out[(sec, m.group(1))] += 1
    return out

for page, keys, where in (("monitor/rangewatch.conf.5", parsed, "monitor/config.c"),
                          ("probes/rangewatch-dnsbl.conf.5", lparsed, "probes/dnsbl_lists.c")):
    doc = documented(page)
    missing = sorted(keys - set(doc))
    stale = sorted(set(doc) - keys)
    twice = sorted(k for k, n in doc.items() if n > 1)
    say(not missing, "%s documents every key of %s%s" % (page, where, "" if not missing else
        ": missing " + ", ".join("[%s] %s (add '.It Ic %s' under '.Ss Bq %s')" % (s, k, k, s)
                                 for s, k in missing)))
    say(not stale, "%s documents no key the parser refuses%s" % (page, "" if not stale else
        ": " + ", ".join("[%s] %s" % sk for sk in stale)))
    say(not twice, "%s documents each key once%s" % (page, "" if not twice else
        ": twice " + ", ".join("[%s] %s" % sk for sk in twice)))

# --- the real parser, asked about every documented key: never "unknown key"
def run(conf, lists=None):
    with open(os.path.join(tmp, "rw.conf"), "w") as f:
        f.write(conf)
    if lists is not None:
        with open(os.path.join(tmp, "lists.conf"), "w") as f:
            f.write(lists)
    r = subprocess.run([os.path.join(rw_bin, "rangewatchd"), "-n", "-c",
                        os.path.join(tmp, "rw.conf")], capture_output=True, text=True)
    return r.stdout + r.stderr
unknown = []
header = {"policy": '[policy "uceprotect-2"]', "class": '[class "probe"]'}
for sec, key in sorted(documented("monitor/rangewatch.conf.5")):
    k = "threshold_24" if key == "threshold_N" else key
    out = run("%s\n%s = x\n" % (header.get(sec, "[%s]" % sec), k))
    if "unknown key" in out or "unknown section" in out:
        unknown.append("[%s] %s: %s" % (sec, key, out.strip()))
for sec, key in sorted(documented("probes/rangewatch-dnsbl.conf.5")):
    out = run("[rangewatch]\nlists = lists.conf\n", '[list "probe"]\n%s = x\n' % key)
    if "unknown key" in out:
        unknown.append("[list] %s: %s" % (key, out.strip()))
say(not unknown, "rangewatchd -n knows every documented key (%d asked)%s"
    % (sum(len(documented(p)) for p in ("monitor/rangewatch.conf.5", "probes/rangewatch-dnsbl.conf.5")),
       "" if not unknown else ": " + "; ".join(unknown)))

# --- commands
def items(page, section):
    text = src(page).split("\n.Sh %s\n" % section, 1)[1].split("\n.Sh ", 1)[0]
    return collections.Counter(re.findall(r"^\.It Cm ([a-z-]+)", text, re.M))
cli = set(re.findall(r'\{ "([a-z-]+)", \w+_main,', src("ui/rangewatch.c")))
sock = set(re.findall(r'\{ "([a-z-]+)", CONTROL_(?:READ|ACT),', src("monitor/views.c")))
sock |= set(re.findall(r'control_handle\([^,]+, "([a-z-]+)"', src("monitor/rangewatchd.c")))
sock |= set(re.findall(r'strcmp\(req\.cmd, "([a-z-]+)"\)', src("monitor/control.c")))
for page, section, names, where in (("ui/rangewatch.1", "COMMANDS", cli, "ui/rangewatch.c"),
                                    ("monitor/rangewatchd.8", "CONTROL SOCKET", sock,
                                     "the daemon's control socket")):
    doc = items(page, section)
    missing = sorted(names - set(doc))
    stale = sorted(set(doc) - names)
    twice = sorted(n for n, c in doc.items() if c > 1)
    say(len(names) >= 10 and not missing and not stale and not twice,
        "%s %s: the %d commands of %s, each once%s" % (page, section, len(names), where,
        "" if not (missing or stale or twice) else
        " (missing %s, unknown %s, twice %s)" % (missing, stale, twice)))
sys.exit(fail)
PYEOF
exit $fail
