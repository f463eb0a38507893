#!/usr/bin/python3
"""A raw client of rangewatchd's control socket (NDJSON, protocol 1: monitor/control.h) for
bench/bench_daemon.sh: polls `status`, and times `customers` requests.

Usage: /usr/bin/python3 bench/daemon_client.py SOCKET COMMAND [ARGS]

  status                      prints the status result (one JSON line)
  wait-ips N TIMEOUT          polls status every 0.5 s until "ips" >= N, or until "ips" has
                              not moved for TIMEOUT s; prints the last status; exit 1 if < N
  wait-eval AFTER TIMEOUT     polls until an evaluation at model time >= AFTER is done
                              ("evaluated" >= AFTER); prints that status; exit 1 on timeout
  latency N LIMIT ALL [EXPECT|- [BUDGET]]
                              sends N `customers` requests ({"limit":LIMIT,"all":ALL}) one
                              after the other on one connection (none new once BUDGET s have
                              passed, when BUDGET > 0) and times each: from its first byte
                              sent to the reply's last byte read, and to the reply's first
                              byte (the daemon's work before it writes). Replies are not
                              parsed while timed; the first one is, afterwards, to check it
                              (ok, and EXPECT entries when given). Prints one JSON line: n,
                              p50/p99/max/mean ms, p50 to the first byte, reply bytes,
                              "total", the entries in the reply, how many requests were in
                              flight at a wall-clock minute boundary (the daemon's minute
                              work: they may have waited for it); with ALL, the sum of the
                              customers' sparklines (their sessions over 24 h)

Owns only its own connection. Exit 2 on a protocol error (the reply says what).
"""
import json
import socket
import sys
import time


class Conn:
    def __init__(self, path, timeout=300):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""
        self.id = 0

    def request_raw(self, cmd, **args):
        """Sends one request and returns its reply line's bytes (events skipped); sets
        self.ttfb to the seconds from sending to the first byte that arrived after."""
        self.id += 1
        msg = dict(v=1, id=self.id, cmd=cmd)
        msg.update(args)
        t0 = time.perf_counter()
        self.s.sendall(json.dumps(msg).encode() + b"\n")
        self.ttfb = None
        while True:
            # chunks in a list, joined once: a 50 MB reply arrives in ~200 pieces
            nl = self.buf.find(b"\n")
            if nl < 0:
                chunks = [self.buf]
                while nl < 0:
                    chunk = self.s.recv(1 << 20)
                    if self.ttfb is None:
                        self.ttfb = time.perf_counter() - t0
                    if not chunk:
                        raise EOFError("the daemon closed the connection")
                    chunks.append(chunk)
                    nl = chunk.find(b"\n")
                nl += sum(len(c) for c in chunks[:-1])
                self.buf = b"".join(chunks)
            line, self.buf = self.buf[:nl], self.buf[nl + 1:]
            if b'"event":' not in line[:40]:
                return line

    def request(self, cmd, **args):
        r = json.loads(self.request_raw(cmd, **args))
        if not r.get("ok"):
            print("daemon_client: %s: %s" % (cmd, r.get("error")), file=sys.stderr)
            sys.exit(2)
        return r["result"]


def status(c):
    return c.request("status")


def wait_ips(c, n, timeout):
    last, moved = -1, time.monotonic()
    while True:
        st = status(c)
        if st["ips"] >= n:
            break
        if st["ips"] != last:
            last, moved = st["ips"], time.monotonic()
        elif time.monotonic() - moved > timeout:
            break
        time.sleep(0.5)
    print(json.dumps(st))
    return 0 if st["ips"] >= n else 1


def wait_eval(c, after, timeout):
    t0 = time.monotonic()
    while True:
        st = status(c)
        if (st.get("evaluated") or 0) >= after:
            print(json.dumps(st))
            return 0
        if time.monotonic() - t0 > timeout:
            print(json.dumps(st))
            return 1
        time.sleep(0.5)


def pct(sorted_ms, p):
    """The nearest-rank percentile."""
    k = max(0, min(len(sorted_ms) - 1, int(-(-p * len(sorted_ms) // 100)) - 1))
    return sorted_ms[k]


def latency(c, n, limit, all_, expect, budget):
    times, ttfbs, sizes, overlaps, first = [], [], [], 0, None
    start = time.monotonic()
    for i in range(n):
        if budget > 0 and i > 0 and time.monotonic() - start > budget:
            break
        w0 = time.time()
        t0 = time.perf_counter()
        line = c.request_raw("customers", limit=limit, all=all_)
        t1 = time.perf_counter()
        w1 = time.time()
        times.append((t1 - t0) * 1000.0)
        ttfbs.append(c.ttfb * 1000.0)
        sizes.append(len(line))
        if int(w1) // 60 != int(w0) // 60:
            overlaps += 1
        if first is None:
            first = line
    r = json.loads(first)
    if not r.get("ok"):
        print("daemon_client: customers: %s" % r.get("error"), file=sys.stderr)
        return 2
    entries = len(r["result"]["customers"])
    s, f = sorted(times), sorted(ttfbs)
    out = {"n": len(s), "asked": n, "limit": limit, "all": all_,
           "p50_ms": round(pct(s, 50), 2), "p99_ms": round(pct(s, 99), 2),
           "max_ms": round(s[-1], 2), "mean_ms": round(sum(s) / len(s), 2),
           "ttfb_p50_ms": round(pct(f, 50), 2), "reply_bytes": sizes[0],
           "total": r["result"]["total"], "entries": entries,
           "at_minute_boundary": overlaps}
    if all_:
        # the sparklines' 24 hourly counts are exact (smtp_1h prorates the last hour)
        out["sessions_24h_sum"] = sum(sum(x["spark"]) for x in r["result"]["customers"])
    print(json.dumps(out))
    if expect is not None and entries != expect:
        print("daemon_client: customers: %d entries, expected %d" % (entries, expect),
              file=sys.stderr)
        return 1
    return 0


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    path, cmd, a = sys.argv[1], sys.argv[2], sys.argv[3:]
    c = Conn(path)
    if cmd == "status":
        print(json.dumps(status(c)))
        return 0
    if cmd == "wait-ips":
        return wait_ips(c, int(a[0]), float(a[1]))
    if cmd == "wait-eval":
        return wait_eval(c, int(a[0]), float(a[1]))
    if cmd == "latency":
        return latency(c, int(a[0]), int(a[1]), a[2] in ("1", "true", "yes"),
                       int(a[3]) if len(a) > 3 and a[3] != "-" else None,
                       float(a[4]) if len(a) > 4 else 0)
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
