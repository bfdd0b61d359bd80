"""SMTP delivery: one message per subscriber through a relay (any provider, a
company's own server, a local mail catcher), over a small pool of connections.

Each connection has a worker thread. A message goes MAIL FROM, RCPT TO, DATA; just
before its final dot the deliverer is told it is *handed* over, and the reply after
the dot decides it:

- 250: accepted (the server's queue id kept when its reply gives one);
- 4xx at any step: deferred, tried again after a back-off up to the attempt cap;
- 5xx on RCPT or DATA: that subscriber is rejected with the server's text;
- 421, or a connection lost before the final dot: sent again on a fresh connection;
- a connection lost after the final dot, before the reply: ambiguous (SMTP has no
  idempotency key), reported like SendGrid's ambiguous rows;
- refused credentials, no STARTTLS offered, a certificate that does not match, no
  SMTP server on the port, or a sender the server refuses: the send stops.

So a crash leaves in doubt at most one message per connection; the rest of a claimed
batch was never handed over and goes out normally on resume.
"""

from __future__ import annotations

import logging
import queue
import re
import smtplib
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from digest.delivery.mime import MimeTemplate, Sender
from digest.delivery.smtp_session import (
    Ambiguous,
    Deferred,
    Reconnect,
    Rejected,
    Unreachable,
    deliver_one,
    open_session,
)
from digest.delivery.transport import Envelope, Outcomes, Recipient
from digest.errors import (
    AmbiguousDeliveryError,
    RequestRejected,
    TransientDeliveryError,
)
from digest.settings.delivery import SmtpSettings

log = logging.getLogger(__name__)

MAX_RECONNECTS = 2  # fresh connections one message may take after a 421 or a drop
_QUEUE_IDS = (
    re.compile(r"queued as\s+<?([\w.@+/-]{1,200})", re.IGNORECASE),  # Postfix, Exim
    re.compile(r"\bid=<?([\w.@+/-]{1,200})", re.IGNORECASE),  # Exim's "id=1abc-..."
    re.compile(r"^(?:[245]\.\d+\.\d+\s+)?ok\s+<?([\w.@+/-]{8,200})", re.IGNORECASE),  # SES
)


def queue_id(reply: str, fallback: str) -> str:
    """The server's queue id from a 250 reply ("Ok: queued as 4AB12", "Ok 01000…"),
    else ``fallback`` (the Message-ID)."""
    for pattern in _QUEUE_IDS:
        found = pattern.search(reply)
        if found:
            return found.group(1)
    return fallback


@dataclass(frozen=True, slots=True)
class _Item:
    template: MimeTemplate
    recipient: Recipient


@dataclass(slots=True)
class _Batch:
    """The state the workers of one ``send_each`` share."""

    items: queue.SimpleQueue[_Item]
    outcomes: Outcomes
    stop: BaseException | None = None  # the error that stops the send
    unreachable: str | None = None  # the server cannot be reached: defer the rest
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Pacer:
    """At most ``rate`` messages a second across all connections."""

    def __init__(self, rate: float | None, sleep: Callable[[float], None]) -> None:
        self.rate, self.sleep = rate, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.rate:
            return
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next)
            self._next = at + 1.0 / self.rate
        if at > now:
            self.sleep(at - now)


class SmtpTransport:
    """The ``MessageTransport`` over SMTP. Connections are opened when first needed,
    kept between batches (``messages_per_connection`` each at most) and closed by
    :meth:`close`."""

    idempotent = False
    max_recipients = 200  # a claim: rows not handed over when a crash hits go out again

    def __init__(
        self,
        settings: SmtpSettings,
        sender: Sender,
        *,
        clock: Callable[[], datetime],
        max_per_second: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings, self.sender, self.clock = settings, sender, clock
        self.context = ssl_context or tls_context(settings)
        self.pacer = _Pacer(max_per_second, sleep)
        self._idle: queue.LifoQueue[smtplib.SMTP] = queue.LifoQueue()
        self._sent: dict[int, int] = {}  # messages so far, by connection
        self._workers: ThreadPoolExecutor | None = None

    # -- the deliverer's side ----------------------------------------------------------

    def send_each(self, envelopes: Sequence[Envelope], outcomes: Outcomes) -> None:
        items: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        count = 0
        for envelope in envelopes:
            template = MimeTemplate(envelope.rendered, self.sender, transparent=True)
            for recipient in envelope.recipients:
                items.put(_Item(template, recipient))
                count += 1
        if not count:
            return
        batch = _Batch(items, outcomes)
        if self._workers is None:
            self._workers = ThreadPoolExecutor(self.settings.connections, "smtp")
        jobs = [
            self._workers.submit(self._work, batch)
            for _ in range(min(self.settings.connections, count))
        ]
        for job in jobs:
            job.result()
        if batch.stop is not None:
            raise batch.stop

    def send(self, envelope: Envelope) -> str:
        """Outside the ledger (a test send, an alert): every recipient now, or an error."""
        collected = _Collect()
        self.send_each([envelope], collected)
        return collected.result()

    def close(self) -> None:
        while True:
            try:
                session = self._idle.get_nowait()
            except queue.Empty:
                break
            _quit(session)
        if self._workers is not None:
            self._workers.shutdown(wait=True)
            self._workers = None

    # -- one connection's worker ---------------------------------------------------------

    def _work(self, batch: _Batch) -> None:
        session: smtplib.SMTP | None = None
        try:
            while batch.stop is None:
                try:
                    item = batch.items.get_nowait()
                except queue.Empty:
                    break
                session = self._one(batch, item, session)
        except Exception as exc:
            # Refused credentials, or a bug: every worker stops after the message it
            # has in hand, and send_each raises this once they all have.
            with batch.lock:
                batch.stop = batch.stop or exc
            _quit(session)
            session = None
        finally:
            if session is not None:
                self._idle.put(session)

    def _one(self, batch: _Batch, item: _Item, session: smtplib.SMTP | None) -> smtplib.SMTP | None:
        """Send one message (reconnecting after a 421 or a drop); its outcome goes to
        the batch's ``outcomes``. Returns the connection, if it is still good."""
        recipient, outcomes = item.recipient, batch.outcomes
        if batch.unreachable is not None:
            outcomes.deferred(recipient, batch.unreachable)
            return session
        wire = item.template.build(
            recipient.subscriber,
            recipient.unsubscribe_url,
            recipient.preferences_url,
            self.clock(),
        )
        for attempt in range(MAX_RECONNECTS + 1):
            try:
                session = session or self._session()
                self.pacer.wait()
                reply = deliver_one(
                    session,
                    self._envelope_sender(recipient),
                    recipient.subscriber.email,
                    wire.data,
                    handed=lambda: outcomes.handed(recipient),
                )
            except Reconnect as why:
                _quit(session)
                session = None
                if attempt == MAX_RECONNECTS:
                    outcomes.deferred(recipient, f"{why} ({attempt + 1} connections)")
                continue
            except Unreachable as why:
                batch.unreachable = str(why)
                outcomes.deferred(recipient, str(why))
                return None
            except (Deferred, Rejected) as why:
                report = outcomes.deferred if isinstance(why, Deferred) else outcomes.rejected
                report(recipient, str(why))
                return _reset(session)
            except Ambiguous as why:
                _quit(session)
                outcomes.ambiguous(recipient, str(why))
                return None
            outcomes.accepted(recipient, queue_id(reply, wire.message_id))
            return self._counted(session)
        return session

    def _session(self) -> smtplib.SMTP:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            session = open_session(self.settings, self.context)
            self._sent[id(session)] = 0
            return session

    def _counted(self, session: smtplib.SMTP) -> smtplib.SMTP | None:
        """Count a message on the connection; past ``messages_per_connection`` it is
        closed (a fresh one is opened for the next message)."""
        sent = self._sent.get(id(session), 0) + 1
        if sent >= self.settings.messages_per_connection:
            self._sent.pop(id(session), None)
            _quit(session)
            return None
        self._sent[id(session)] = sent
        return session

    def _envelope_sender(self, recipient: Recipient) -> str:
        """MAIL FROM: the return path, with the recipient in it when ``verp`` is on
        (bounces+alice=example.org@news.example) so a bounce names whom it is about."""
        path = self.settings.return_path or self.sender.from_email
        if not self.settings.verp:
            return path
        local, _, domain = path.rpartition("@")
        return f"{local}+{recipient.subscriber.email.replace('@', '=')}@{domain}"


def tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    """Certificates verified (against the system's CAs, or ``ca_file``) unless
    ``tls_verify = false``, which ``config check`` warns about."""
    context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    if not settings.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _reset(session: smtplib.SMTP | None) -> smtplib.SMTP | None:
    """RSET after a refused step, so the next message starts clean; a connection that
    cannot even do that is dropped."""
    if session is None:
        return None
    try:
        code, _ = session.rset()
    except (smtplib.SMTPException, OSError):
        code = 0
    if code != 250:
        _quit(session)
        return None
    return session


def _quit(session: smtplib.SMTP | None) -> None:
    if session is None:
        return
    try:
        session.quit()
    except (smtplib.SMTPException, OSError):
        session.close()


class _Collect:
    """Outcomes of a send outside the ledger, turned into one result or error."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.problems: list[Exception] = []
        self._lock = threading.Lock()

    def handed(self, recipient: Recipient) -> None:
        pass

    def accepted(self, recipient: Recipient, message_id: str) -> None:
        with self._lock:
            self.ids.append(message_id)

    def rejected(self, recipient: Recipient, why: str) -> None:
        with self._lock:
            self.problems.append(RequestRejected(f"{recipient.subscriber.email}: {why}", 550))

    def deferred(self, recipient: Recipient, why: str) -> None:
        with self._lock:
            self.problems.append(TransientDeliveryError(why, maybe_sent=False))

    def ambiguous(self, recipient: Recipient, why: str) -> None:
        with self._lock:
            self.problems.append(AmbiguousDeliveryError(why))

    def result(self) -> str:
        if self.problems:
            raise self.problems[0]
        return self.ids[0] if len(self.ids) == 1 else f"{self.ids[0]}+{len(self.ids) - 1}"
