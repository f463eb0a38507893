#!/usr/bin/python3
"""The remote MX of tests/integration/provider_network.sh: a real SMTP server (aiosmtpd) on
port 25 of every address of its network namespace.

Usage: /usr/bin/python3 mx_server.py LOGFILE [PORT]

RCPT TO addresses starting with "trap" are refused the way a receiver that checks
UCEPROTECT refuses them:
    550 5.7.1 Service unavailable; client [IP] blocked using dnsbl-1.uceprotect.net
every other recipient is accepted, and so is DATA. LOGFILE gets one line per event, flushed
at once: "session CLIENT SERVER" when a connection is made, "reject CLIENT ADDRESS" for each
refused recipient, "data CLIENT N" for each accepted message (N recipients). Prints "ready"
on stdout once it listens.
"""
import asyncio
import sys

from aiosmtpd.smtp import SMTP

LOG = open(sys.argv[1], "a", buffering=1)
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 25


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("trap"):
            LOG.write("reject %s %s\n" % (session.peer[0], address))
            return ("550 5.7.1 Service unavailable; client [%s] blocked using "
                    "dnsbl-1.uceprotect.net" % session.peer[0])
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        LOG.write("data %s %d\n" % (session.peer[0], len(envelope.rcpt_tos)))
        return "250 2.0.0 Ok: queued"


class LoggingSMTP(SMTP):
    def connection_made(self, transport):
        peer = transport.get_extra_info("peername")
        sock = transport.get_extra_info("sockname")
        LOG.write("session %s %s\n" % (peer[0], sock[0]))
        super().connection_made(transport)


async def main():
    loop = asyncio.get_running_loop()
    handler = Handler()
    server = await loop.create_server(
        lambda: LoggingSMTP(handler, hostname="mx.test", loop=loop), host="0.0.0.0", port=PORT)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
