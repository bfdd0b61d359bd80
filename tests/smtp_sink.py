"""A fast SMTP sink for the delivery benchmark: accepts every message and counts it.

aiosmtpd (tests/smtp_server.py) reads a message line by line in Python and takes
about 130 messages of 75 KB a second on this machine: it, not the sender, would be
measured. This sink speaks the same protocol (EHLO, MAIL, RCPT, DATA with the
dot-terminated body read in one buffer search, RSET, NOOP, QUIT) and nothing more:
no TLS, no AUTH, nothing kept but counts.

    python -m tests.smtp_sink --port 8026     # prints {"received": N} on SIGTERM
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal

END_OF_DATA = b"\r\n.\r\n"


class Sink:
    def __init__(self) -> None:
        self.received = 0
        self.recipients = 0

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 sink ESMTP\r\n")
        try:
            while line := await reader.readline():
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    writer.write(b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                elif verb == b"DATA":
                    writer.write(b"354 go ahead\r\n")
                    await writer.drain()
                    await reader.readuntil(END_OF_DATA)
                    self.received += 1
                    writer.write(f"250 2.0.0 Ok: queued as S{self.received:07d}\r\n".encode())
                elif verb == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    break
                elif verb == b"RCPT":
                    self.recipients += 1
                    writer.write(b"250 OK\r\n")
                else:  # MAIL, RSET, NOOP
                    writer.write(b"250 OK\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def serve(port: int) -> int:
    sink = Sink()
    server = await asyncio.start_server(sink.session, "127.0.0.1", port, limit=1 << 24)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"listening on 127.0.0.1:{port}", flush=True)
    async with server:
        await stop.wait()
    return sink.received


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    received = asyncio.run(serve(args.port))
    print(json.dumps({"received": received}), flush=True)


if __name__ == "__main__":
    main()
