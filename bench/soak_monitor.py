#!/usr/bin/python3
"""The soak's eyes (bench/soak.sh): samples rangewatchd while it runs, then judges the
samples against the bounds the soak states.

Usage:
  /usr/bin/python3 bench/soak_monitor.py sample PID SOCKET DB SINKDIR OUT.jsonl EVERY STOPFILE
      every EVERY seconds until STOPFILE exists or the daemon is gone, appends one JSON
      line to OUT.jsonl: wall time; the daemon's VmRSS and VmHWM (KiB) and open fds
      (/proc/PID/fd); the store's file sizes (db, -wal, -shm) and the bytes of the traffic
      tables (SQLite's dbstat: traffic_minute, traffic_hour, ipstate with their indexes)
      and of the rest; row counts (traffic rows, the oldest of each, listing events, flag
      changes, audit, outbox by state); the messages at the abuse desk's sink; from
      `status` (a new connection each time: the control socket's accept and close are
      part of what must not leak): the model clock, packets, drops, the replay's state,
      the bytes SQLite holds (store_memory).
      Prints a progress line every sixth sample.
  /usr/bin/python3 bench/soak_monitor.py mails SINKDIR
      prints the messages at the sink and their distinct Message-IDs: "N M".
  /usr/bin/python3 bench/soak_monitor.py report OUT.jsonl FINAL.json
      FINAL.json is written by soak.sh after the stop (see there). Applies the bounds,
      prints the figures as "key: value" lines and the verdict; exit 1 when a bound is
      broken.

The bounds (the soak's contract; the warm-up is max(2 min, 20% of the run)):
  rss     VmRSS less what SQLite holds (store_memory: its page cache is allowed to grow
          with the store, up to 128 MiB) at every sample after the warm-up <= its value at
          the end of the warm-up + 10% + 8 MiB (what settles: the per-IP tables once every
          sender was seen, the allocator's arenas; a leak of ~1 KiB per packet or per alert
          passes it within minutes); and SQLite's share <= 128 MiB + 8 MiB.
  fds     the fewest open fds in the last quarter <= the fewest between the warm-up and the
          half + 2 (transient sockets - DNS, SMTP, a control client - come and go; a leak
          only grows the floor).
  store   no traffic_minute row older than minute_retention + 1 h (pruning runs once a
          model hour) + 6 s of wall time at the replay's pace (the store commits its batch
          every 5 s), none of traffic_hour older than hour_retention + 2 h + as much, no more rows
          than the senders seen times the retention allows; once the model clock is past a
          retention (+ 2 h), the bytes of its tables (traffic_minute; traffic_hour and
          ipstate) may grow at most 15% + 1 MiB over their value then (the rest of the
          store - listing events, flag history, audit, the outbox - is history kept by
          design, reported, not bounded).
  alerts  at the end: nothing queued, nothing failed; every outbox mail received by the
          sink exactly once (count and unique Message-IDs); every level change to watch,
          warn or act has its mail (cooldown = 0, digest = 0); no "ALERT LOST" logged.
"""
import email
import email.policy
import json
import os
import socket
import sqlite3
import sys
import time

# the traffic tables by retention: the minute rows', the hourly rows' and per-IP state's
GROUP = {"traffic_minute": "minute_bytes", "traffic_hour": "hour_bytes", "ipstate": "hour_bytes"}


def status(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    try:
        s.connect(path)
        s.sendall(b'{"v":1,"id":1,"cmd":"status"}\n')
        buf = b""
        while not buf.endswith(b"\n"):
            b = s.recv(65536)
            if not b:
                break
            buf += b
        r = json.loads(buf)
        return r["result"] if r.get("ok") else None
    finally:
        s.close()


def proc(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k.lower()] = int(v.split()[0])
    out["fds"] = len(os.listdir("/proc/%d/fd" % pid))
    return out


def size(p):
    try:
        return os.path.getsize(p)
    except OSError:
        return 0


def store(db):
    c = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
    try:
        def q(sql, args=()):
            return c.execute(sql, args).fetchone()
        out = {}
        for t in ("traffic_minute", "traffic_hour"):
            n, lo, ips = q("SELECT count(*), min(ts), count(DISTINCT ip) FROM %s" % t)
            out[t] = n
            out[t + "_oldest"] = lo or 0
            out[t + "_ips"] = ips
        for t in ("ipstate", "listing_event", "flag_history", "audit"):
            out[t] = q("SELECT count(*) FROM %s" % t)[0]
        for st in ("queued", "sent", "failed"):
            out["outbox_" + st] = q("SELECT count(*) FROM outbox WHERE state = ?", (st,))[0]
        # bytes per table, its indexes counted with it
        names = dict(c.execute("SELECT name, coalesce(tbl_name, name) FROM sqlite_schema"))
        out.update(minute_bytes=0, hour_bytes=0, other_bytes=0)
        for name, b in c.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            out[GROUP.get(names.get(name, name), "other_bytes")] += b
        out["traffic_bytes"] = out["minute_bytes"] + out["hour_bytes"]
        return out
    finally:
        c.close()


def sink_count(d):
    return sum(1 for n in os.listdir(d) if n.endswith(".eml") and not n.startswith("."))


def sample(pid, sock, db, sink, out, every, stop):
    pid, every = int(pid), float(every)
    n = 0
    t0 = time.time()
    with open(out, "a", buffering=1) as f:
        while not os.path.exists(stop):
            t = time.time()
            try:
                s = {"t": round(t, 1)}
                s.update(proc(pid))
                st = status(sock)
                s.update({k: size(db + sfx) for k, sfx in (("db", ""), ("wal", "-wal"),
                                                           ("shm", "-shm"))})
                s.update(store(db))
                s["sink"] = sink_count(sink)
                if st is not None:
                    cap = st["capture"]
                    rp = cap.get("replay") or {}
                    s["sqlite"] = st.get("store_memory", 0) // 1024
                    s.update(now=st["now"], evaluated=st["evaluated"], packets=cap["packets"],
                             drops=cap["drops"], ips=st["ips"], levels=st["levels"],
                             replay_done=rp.get("done"), frames=rp.get("frames"),
                             minute_ms=st.get("minute_ms"))
            except (OSError, ValueError, sqlite3.Error) as e:
                if not os.path.exists("/proc/%d" % pid):
                    print("soak: the daemon is gone", flush=True)
                    return 1
                s["error"] = str(e)
            f.write(json.dumps(s) + "\n")
            if n % 6 == 0:
                print("soak: %4.0f s  rss %6.1f MiB (sqlite %5.1f)  fds %3d  store %6.1f MiB "
                      "(traffic %5.1f)  rows %7d/%6d  levels %s  mail %d/%d  frames %s" % (
                          t - t0, s.get("vmrss", 0) / 1024, s.get("sqlite", 0) / 1024,
                          s.get("fds", 0),
                          (s.get("db", 0) + s.get("wal", 0)) / 1048576,
                          s.get("traffic_bytes", 0) / 1048576, s.get("traffic_minute", 0),
                          s.get("traffic_hour", 0), s.get("levels"), s.get("sink", 0),
                          s.get("outbox_sent", 0) + s.get("outbox_queued", 0),
                          s.get("frames")), flush=True)
            n += 1
            time.sleep(max(0.0, every - (time.time() - t)))
    return 0


def report(samples_path, final_path):
    S = [json.loads(l) for l in open(samples_path) if l.strip()]
    S = [s for s in S if "error" not in s and "now" in s]
    F = json.load(open(final_path))
    bad = []
    out = []

    def say(k, v):
        out.append("%s: %s" % (k, v))

    if len(S) < 8:
        print("soak: only %d good samples: nothing to judge" % len(S))
        return 1
    t0, t1 = S[0]["t"], S[-1]["t"]
    dur = t1 - t0
    warm = t0 + max(120.0, 0.2 * dur)
    after = [s for s in S if s["t"] >= warm]
    if len(after) < 3:
        print("soak: the run is not much longer than its warm-up (%.0f s): nothing to judge "
              "(SOAK_MINUTES >= 3)" % (warm - t0))
        return 1
    w = after[0]
    mib = lambda k: k / 1024.0

    # --- rss: the daemon's own (VmRSS less SQLite's), and SQLite's
    own = lambda s: s["vmrss"] - s.get("sqlite", 0)
    bound = own(w) * 1.10 + 8 * 1024
    peak = max(own(s) for s in after)
    speak = max(s.get("sqlite", 0) for s in S)
    half = [s for s in S if s["t"] >= t0 + dur / 2]

    def slope(f):	# KiB per minute, least squares over the second half
        xs = [s["t"] for s in half]
        ys = [f(s) for s in half]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        den = sum((x - mx) ** 2 for x in xs)
        return 60 * sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0
    say("soak_rss", "VmRSS start %.1f MiB, end %.1f MiB, VmHWM %.1f MiB; less SQLite's: after the "
        "warm-up (%.0f s) %.1f MiB, end %.1f MiB, peak after the warm-up %.1f MiB "
        "(bound %.1f MiB), "
        "second half slope %+.1f KiB/min; SQLite's: end %.1f MiB, peak %.1f MiB (bound 136), "
        "slope %+.1f KiB/min" % (
            mib(S[0]["vmrss"]), mib(S[-1]["vmrss"]), mib(S[-1]["vmhwm"]), warm - t0, mib(own(w)),
            mib(own(S[-1])), mib(peak), mib(bound), slope(own) if len(half) > 2 else 0.0,
            mib(S[-1].get("sqlite", 0)), mib(speak),
            slope(lambda s: s.get("sqlite", 0)) if len(half) > 2 else 0.0))
    if peak > bound:
        bad.append("RSS less SQLite's %.1f MiB after the warm-up, bound %.1f MiB" % (
            mib(peak), mib(bound)))
    if speak > (128 + 8) * 1024:
        bad.append("SQLite holds %.1f MiB, its cache is 128 MiB at most" % mib(speak))

    # --- fds
    mid = [s["fds"] for s in S if warm <= s["t"] < t0 + dur / 2] or [w["fds"]]
    last = [s["fds"] for s in S if s["t"] >= t0 + 0.75 * dur]
    say("soak_fds", "floor %d after the warm-up, %d in the last quarter (bound %d); "
        "range %d..%d" % (
        min(mid), min(last), min(mid) + 2, min(s["fds"] for s in S), max(s["fds"] for s in S)))
    if min(last) > min(mid) + 2:
        bad.append("open fds: floor %d in the last quarter, %d before" % (min(last), min(mid)))

    # --- store
    mret, hret = F["minute_retention"], F["hour_retention"]
    ips = max(s["ips"] for s in S)
    start_model = S[0]["now"]
    # the replay's pace: up to the first sample that saw it done (then the clock runs on
    # in real time)
    end = next((s for s in S if s.get("replay_done")), S[-1])
    model_span, wall = end["now"] - start_model, end["t"] - t0
    pace = model_span / wall if wall > 0 else 1.0
    # pruning runs at a model hour's first minute and commits with the store's batch (every
    # 5 s of wall time, pace x 5 s of the model's): a row may outlive its retention by that
    late = 3600 + 60 + 6 * pace
    for s in S:
        if s["traffic_minute"] and s["traffic_minute_oldest"] < s["now"] - mret - late:
            bad.append("a minute row of %d at model time %d: older than minute_retention + "
                       "%.0f s" % (s["traffic_minute_oldest"], s["now"], late))
            break
    for s in S:
        if s["traffic_hour"] and s["traffic_hour_oldest"] < s["now"] - hret - 3600 - late:
            bad.append("an hour row of %d at model time %d: older than hour_retention + %.0f s"
                       % (s["traffic_hour_oldest"], s["now"], 3600 + late))
            break
    mmax = max(s["traffic_minute"] for s in S)
    hmax = max(s["traffic_hour"] for s in S)
    mbound = ips * (mret + 3600) // 60
    hbound = ips * ((hret + 2 * 3600) // 3600)
    if mmax > mbound:
        bad.append("%d minute rows, bound %d" % (mmax, mbound))
    if hmax > hbound:
        bad.append("%d hour rows, bound %d" % (hmax, hbound))
    say("soak_model", "%.2f model days in %.1f wall minutes of replay (x%.0f); %d senders" % (
        model_span / 86400.0, wall / 60, pace, ips))
    say("soak_rows", "traffic_minute max %d (bound %d; %d at the end, oldest %.1f h back), "
        "traffic_hour max %d (bound %d; %d at the end, oldest %.1f d back), ipstate %d" % (
            mmax, mbound, S[-1]["traffic_minute"],
            (S[-1]["now"] - S[-1]["traffic_minute_oldest"]) / 3600.0, hmax, hbound,
            S[-1]["traffic_hour"], (S[-1]["now"] - S[-1]["traffic_hour_oldest"]) / 86400.0,
            S[-1]["ipstate"]))
    checked = []
    # each retention's tables: a plateau once the model clock is past it (+ 1 h of pruning
    # granularity + 1 h)
    for what, ret, key in (("minute_retention", mret, "minute_bytes"),
                           ("hour_retention", hret, "hour_bytes")):
        past = [s for s in S if s["now"] >= start_model + ret + 2 * 3600]
        if len(past) < 3:
            checked.append("%s not reached in this run: its tables' plateau not checked" % what)
            continue
        base = past[0][key]
        top = max(s[key] for s in past)
        tb = base * 1.15 + 1048576
        checked.append("%s's tables %.1f MiB once past it (%.0f%% into the run), at most %.1f "
                       "MiB after (bound %.1f)" % (what, base / 1048576,
                                                  100 * (past[0]["t"] - t0) / dur, top / 1048576,
                                                  tb / 1048576))
        if top > tb:
            bad.append("%s's tables grew to %.1f MiB past it, bound %.1f MiB"
                       % (what, top / 1048576, tb / 1048576))
    say("soak_store", "db+wal %.1f MiB at the end (max %.1f; wal max %.1f): minute rows %.1f MiB, "
        "hourly rows and per-IP state %.1f MiB, the rest %.1f MiB (listing events %d, flag "
        "changes %d, audit %d, outbox %d); %s" % (
            (S[-1]["db"] + S[-1]["wal"]) / 1048576, max(s["db"] + s["wal"] for s in S) / 1048576,
            max(s["wal"] for s in S) / 1048576, S[-1]["minute_bytes"] / 1048576,
            S[-1]["hour_bytes"] / 1048576, S[-1]["other_bytes"] / 1048576, F["listing_events"],
            F["flags"], F["audit"], F["outbox"], "; ".join(checked)))

    # --- alerts
    say("soak_alerts", "%d mails in the outbox (%d sent, %d queued, %d failed), %d received at "
        "the sink (%d distinct Message-IDs); %d level changes to watch/warn/act, %d level mails; "
        "%d hook runs; %d notices" % (
            F["outbox"], F["sent"], F["queued"], F["failed"], F["received"], F["message_ids"],
            F["flag_rises"], F["level_mails"], F["hook_runs"], F["notices"]))
    if F["queued"] or F["failed"]:
        bad.append("%d alerts still queued, %d failed" % (F["queued"], F["failed"]))
    if F["received"] != F["sent"] or F["message_ids"] != F["received"]:
        bad.append("%d mails sent, %d received, %d distinct" % (F["sent"], F["received"],
                                                                 F["message_ids"]))
    if F["flag_rises"] != F["level_mails"]:
        bad.append("%d level changes, %d level mails" % (F["flag_rises"], F["level_mails"]))
    if F["alert_lost"]:
        bad.append("%d ALERT LOST in the log" % F["alert_lost"])
    say("soak_capture", "%d frames replayed of %d, %d packets read, %d dropped; last minute's "
        "work %.1f ms; %d zone changes; exit %s" % (
            S[-1]["frames"] or 0, F["frames_generated"], S[-1]["packets"], S[-1]["drops"],
            S[-1]["minute_ms"] or 0, F["zone_changes"], F["exit"]))
    if F["exit"] != 0:
        bad.append("rangewatchd exited %s" % F["exit"])
    if not F["replay_done"]:
        bad.append("the replay did not finish in time")
    say("soak_verdict", "PASS" if not bad else "FAIL: " + "; ".join(bad))
    print("\n".join(out))
    return 0 if not bad else 1


def mails(sink):
    """Counts the sink's messages and their distinct Message-IDs (for soak.sh)."""
    ids = set()
    n = 0
    for name in os.listdir(sink):
        if name.endswith(".eml") and not name.startswith("."):
            n += 1
            with open(os.path.join(sink, name), "rb") as f:
                m = email.message_from_binary_file(f, policy=email.policy.default)
            ids.add(str(m["Message-ID"]))
    print(n, len(ids))
    return 0


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "sample" and len(sys.argv) == 9:
        sys.exit(sample(*sys.argv[2:]))
    if cmd == "report" and len(sys.argv) == 4:
        sys.exit(report(sys.argv[2], sys.argv[3]))
    if cmd == "mails" and len(sys.argv) == 3:
        sys.exit(mails(sys.argv[2]))
    sys.exit(__doc__)
