"""A real SMTP server for tests and benchmarks (aiosmtpd), with STARTTLS or TLS on a
certificate made here, AUTH, and failures to rehearse per recipient.

``faults`` maps a recipient address to the answers its next attempts get, consumed
one per attempt ("ok" passes):

- ``"rcpt:451"`` / ``"rcpt:550"`` / ``"rcpt:421"``: that answer to RCPT TO (421 also
  closes the connection, as a server going down does);
- ``"data:452"`` / ``"data:554"`` / ``"data:421"``: that answer after the final dot,
  nothing kept;
- ``"drop-before-dot"``: the connection is cut at RCPT TO;
- ``"drop-after-dot"``: the message is kept, then the connection is cut before the
  answer (the sender cannot know it went).

Every accepted message is kept in ``received`` (recipient, Message-ID, envelope
sender), and with ``--log FILE`` (standalone) one JSON line per message is appended.

Run standalone (benchmarks, a sink another process sends to)::

    python -m tests.smtp_server --port 8026 [--log FILE] [--count-only]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import email.parser
import email.policy
import json
import signal
import ssl
import threading
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER, PASSWORD = "digest", "s3cret-pass"
_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.default)


@dataclass(frozen=True, slots=True)
class Received:
    recipient: str
    message_id: str
    mail_from: str
    size: int


@dataclass
class Handler:
    """aiosmtpd's handler: answers as ``faults`` say, keeps what it accepts."""

    faults: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))
    received: list[Received] = field(default_factory=list)
    log: Path | None = None
    count_only: bool = False
    delay: float = 0.0
    counts: Counter[str] = field(default_factory=Counter)
    per_connection: Counter[object] = field(default_factory=Counter)  # by client port
    lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, address: str, *answers: str) -> None:
        self.faults[address.lower()].extend(answers)

    def _next(self, address: str) -> str:
        with self.lock:
            pending = self.faults.get(address.lower())
            return pending.popleft() if pending else "ok"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        fault = self._next(address)
        envelope.rcpt_tos.append(address)
        if fault == "drop-before-dot":
            server.transport.close()  # type: ignore[union-attr]
            return "250 OK"
        if fault.startswith("rcpt:"):
            code = fault.split(":")[1]
            if code == "421":
                asyncio.get_running_loop().call_soon(server.transport.close)  # type: ignore[union-attr]
            return f"{code} {'4.0.0 try again later' if code.startswith('4') else '5.1.1 no such user'}"
        if fault != "ok":
            self.faults[address.lower()].appendleft(fault)  # for the DATA stage
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        recipient = envelope.rcpt_tos[0]
        fault = self._next(recipient)
        if fault.startswith("data:"):
            code = fault.split(":")[1]
            if code == "421":
                asyncio.get_running_loop().call_soon(server.transport.close)  # type: ignore[union-attr]
            return f"{code} {'4.3.0 queue full' if code.startswith('4') else '5.7.1 refused'}"
        queued = self._keep(envelope, recipient)
        with self.lock:
            self.per_connection[session.peer] += 1
        if fault == "drop-after-dot":
            server.transport.abort()  # type: ignore[union-attr]
        return f"250 2.0.0 Ok: queued as {queued}"

    def _keep(self, envelope: Envelope, recipient: str) -> str:
        data: bytes = envelope.original_content or b""
        ident = "" if self.count_only else str(_HEADERS.parsebytes(data).get("Message-ID", ""))
        entry = Received(recipient.lower(), ident, envelope.mail_from or "", len(data))
        with self.lock:
            self.counts[entry.recipient] += 1
            queued = f"Q{sum(self.counts.values()):06d}"
            if not self.count_only:
                self.received.append(entry)
            if self.log is not None:
                with self.log.open("a") as out:
                    out.write(json.dumps({"to": entry.recipient, "id": ident, "q": queued}) + "\n")
        return queued


class _Authenticator:
    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 535 itself


def make_certificate(directory: Path, host: str = "localhost") -> tuple[Path, Path]:
    """A self-signed certificate for ``host`` (and 127.0.0.1 when it is localhost)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    names: list[x509.GeneralName] = [x509.DNSName(host)]
    if host == "localhost":
        import ipaddress

        names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{host}.crt", directory / f"{host}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


class SmtpServer:
    """An aiosmtpd server on a free loopback port, in a thread of this process.

    ``mode``: ``starttls`` (offered, and required before AUTH), ``tls`` (TLS from
    the first byte) or ``plain`` (no TLS at all). ``auth``: AUTH required.
    """

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        mode: str = "starttls",
        certificate: tuple[Path, Path] | None = None,
        auth: bool = True,
        port: int = 0,
    ) -> None:
        self.handler = handler or Handler()
        context = server_context(*certificate) if certificate else None
        kwargs: dict[str, Any] = {
            "authenticator": _Authenticator(),
            "auth_required": auth,
            "auth_require_tls": mode != "plain",
        }
        if mode == "starttls":
            kwargs["tls_context"] = context
            kwargs["require_starttls"] = True
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=port or _free_port(),
            ssl_context=context if mode == "tls" else None,
            server_hostname="localhost",
            **kwargs,
        )
        self.mode = mode

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.controller.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path)
    parser.add_argument("--count-only", action="store_true")
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    handler = Handler(log=args.log, count_only=args.count_only, delay=args.delay)
    server = SmtpServer(handler, mode="plain", auth=False, port=args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with server:
        print(f"listening on 127.0.0.1:{server.port}", flush=True)
        stop.wait()
    print(json.dumps({"received": sum(handler.counts.values())}), flush=True)


if __name__ == "__main__":
    main()
