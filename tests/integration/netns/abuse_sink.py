#!/usr/bin/python3
"""The abuse desk's mail server for the live tests (tests/integration/provider_network.sh,
bench/soak.sh): a real SMTP server (aiosmtpd) that keeps every message it accepts.

Usage: /usr/bin/python3 abuse_sink.py HOST PORT FOLDER

Each message is saved whole (the bytes the client sent after DATA) as
FOLDER/<uuid>.<rcpt>+<rcpt>....eml, written to a temporary name first and renamed, so a
reader never sees half a message. Prints "ready" on stdout once it listens.
"""
import os
import sys
import time
import uuid

from aiosmtpd.controller import Controller

HOST, PORT, FOLDER = sys.argv[1], int(sys.argv[2]), sys.argv[3]


class Handler:
    async def handle_DATA(self, server, session, envelope):
        name = "%s.%s.eml" % (uuid.uuid4().hex, "+".join(envelope.rcpt_tos))
        tmp = os.path.join(FOLDER, "." + name)
        with open(tmp, "wb") as f:
            f.write(envelope.original_content)
        os.rename(tmp, os.path.join(FOLDER, name))
        return "250 2.0.0 Ok: kept"


controller = Controller(Handler(), hostname=HOST, port=PORT)
controller.start()
print("ready", flush=True)
while True:
    time.sleep(3600)
