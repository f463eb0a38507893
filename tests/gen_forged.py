#!/usr/bin/python3
"""Writes two captures into OUTDIR for tests/integration/analyze_forged.sh (tests/gen_captures.py's helpers):

  real.pcap    eight real sessions of 192.0.2.10/.11 (one rejected 550 citing spamhaus, one
               with STARTTLS), all with their handshake;
  forged.pcap  the same frames, with forged segments from port 25 among them:
    - one "550 ... blocked using zen.spamhaus.org" each to 192.0.2.20-.23, no handshake;
    - a forged SYN-ACK then a 550 to 192.0.2.24 (no SYN of ours: not a handshake);
    - into a live session of 192.0.2.10: a 550 citing spamcop with a sequence number far
      off, one with a right sequence number but an acknowledgement of bytes never sent, one
      without ACK, and a RST far outside the window (the session must go on counting);
    - a 550 citing uceprotect into another session, half the sequence space away.
OUTDIR/count.json says how many forged frames there are.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_captures as gc  # noqa: E402
from gen_captures import ACK, PSH, RST, SYN, Flow, Gen  # noqa: E402

BLOCK = b"550 5.7.1 Service unavailable; client host blocked using zen.spamhaus.org\r\n"


def forged(f, flags, payload=b"", seq=None, ack=None):
    """A frame from f's server side that the server never sent, marked as forged."""
    f.frame(False, flags, payload, seq=seq, ack=ack, count=False)
    f.g.frames[-1].kind = "forged"


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    g = Gen("forged", 1, "forged replies among real sessions", 4242)
    # real sessions (the 550 citing spamhaus in the second one is real: it counts)
    for i in range(3):
        gc.full_session(Flow(g, "192.0.2.10", gc.SERVERS_V4[i]))
    gc.full_session(Flow(g, "192.0.2.11", gc.SERVERS_V4[3]),
                    rcpt_codes=[b"250 2.1.5 Ok", b"550 5.7.1 blocked using zen.spamhaus.org"])
    gc.full_session(Flow(g, "192.0.2.11", gc.SERVERS_V4[4]), starttls=220)

    # forged replies to four addresses of the /24, no handshake at all
    for last in (20, 21, 22, 23):
        f = Flow(g, "192.0.2.%d" % last, gc.SERVERS_V4[0])
        forged(f, PSH | ACK, BLOCK)
    # a forged SYN-ACK (no SYN of ours) and a reply on it
    f = Flow(g, "192.0.2.24", gc.SERVERS_V4[1])
    forged(f, SYN | ACK, ack=f.cseq + 1)
    f.sseq += 1
    forged(f, PSH | ACK, BLOCK, ack=f.cseq + 1)

    # into a live session: the real one goes on after each forgery
    f = Flow(g, "192.0.2.10", gc.SERVERS_V4[2])
    f.open()
    f.reply(b"220 mx.example.org ESMTP")
    forged(f, PSH | ACK, b"550 5.7.1 listed by bl.spamcop.net\r\n", seq=f.sseq + (1 << 30))
    forged(f, PSH | ACK, b"550 5.7.1 listed by bl.spamcop.net\r\n", ack=f.cseq + (1 << 30))
    forged(f, PSH, b"550 5.7.1 listed by bl.spamcop.net\r\n")
    forged(f, RST | ACK, seq=f.sseq + (1 << 29))
    f.cmd(b"EHLO c.example.com")
    f.reply(b"250 mx.example.org")
    f.cmd(b"MAIL FROM:<a@example.com>")
    f.reply(b"250 2.1.0 Ok")
    f.cmd(b"RCPT TO:<b@example.net>")
    f.reply(b"450 4.7.1 greylisted, see spamhaus.org")     # real: counts
    f.cmd(b"QUIT")
    f.reply(b"221 2.0.0 Bye")
    f.close()

    # into another session: a sequence number half the sequence space away
    f = Flow(g, "192.0.2.11", gc.SERVERS_V4[0])
    f.open()
    f.reply(b"220 mx.example.org ESMTP")
    f.cmd(b"EHLO c.example.com")
    f.reply(b"250-mx.example.org", b"250 STARTTLS")
    forged(f, PSH | ACK, b"550 5.7.1 blocked, see uceprotect.net\r\n", seq=f.sseq - (1 << 31))
    f.cmd(b"QUIT")
    f.reply(b"221 2.0.0 Bye")
    f.close()

    every = g.frames
    is_forged = [fr.kind == "forged" for fr in every]
    for fr in every:
        fr.kind = "smtp"      # a TCP frame to port 25 of ours: packets.smtp counts it
    g.write(outdir)
    g.name = "real"
    g.frames = [fr for fr, bad in zip(every, is_forged) if not bad]
    g.write(outdir)
    with open(os.path.join(outdir, "count.json"), "w") as out:
        json.dump({"forged": sum(is_forged), "frames": len(every)}, out)

if __name__ == "__main__":
    main(sys.argv[1])
