"""Transports: how rendered editions leave. One Protocol; outbox files, SendGrid,
SMTP, and an in-memory list for tests and dry runs.

A transport receives an :class:`Envelope`: one edition rendered once (placeholders
still in) and the recipients with their personal values, so a provider that
substitutes per recipient (SendGrid) gets the body once per request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from digest.models import RenderedMessage, Subscriber
from digest.rendering.personal import RenderedEdition, personalise


@dataclass(frozen=True, slots=True)
class Recipient:
    delivery_id: int
    subscriber: Subscriber
    unsubscribe_url: str
    preferences_url: str | None = None


@dataclass(frozen=True, slots=True)
class Envelope:
    rendered: RenderedEdition
    recipients: tuple[Recipient, ...]
    batch_id: str | None = None  # a provider batch (scheduled sends) this request belongs to
    send_at: datetime | None = None  # when the provider should send it; None = now

    def messages(self) -> list[RenderedMessage]:
        """One personalised message per recipient, for transports that send each alone."""
        return [
            personalise(self.rendered, r.subscriber, r.unsubscribe_url, r.preferences_url)
            for r in self.recipients
        ]


class Transport(Protocol):
    """Hands an envelope over; returns a message id or raises a DeliveryError.

    ``max_recipients`` caps an envelope. ``idempotent`` says whether sending the
    same envelope twice has the effect of sending it once (files in an outbox do;
    an email provider does not), which decides how a crashed batch is recovered.
    """

    max_recipients: int
    idempotent: bool

    def send(self, envelope: Envelope) -> str: ...


@runtime_checkable
class SchedulingTransport(Transport, Protocol):
    """A provider that can hold a batch until ``send_at`` and cancel it before then:
    with it an ambiguous request is cancelled and resubmitted, never duplicated."""

    def new_batch(self) -> str: ...

    def cancel_batch(self, batch_id: str) -> None: ...


class Outcomes(Protocol):
    """What a transport that sends one message at a time says about each recipient,
    the moment it knows (called from its worker threads)."""

    def handed(self, recipient: Recipient) -> None:
        """The message is about to be committed (SMTP: before the final dot): from here
        a crash leaves its fate unknown; before it, the row can simply be sent again."""

    def accepted(self, recipient: Recipient, message_id: str) -> None: ...

    def rejected(self, recipient: Recipient, why: str) -> None:
        """Refused for good (SMTP 5xx on RCPT or DATA)."""

    def deferred(self, recipient: Recipient, why: str) -> None:
        """Not sent, worth trying again after a back-off (SMTP 4xx, server unreachable)."""

    def ambiguous(self, recipient: Recipient, why: str) -> None:
        """Handed over, but the answer was lost: it may have been accepted."""


@runtime_checkable
class MessageTransport(Transport, Protocol):
    """A transport that sends each recipient's message alone (SMTP) and reports each
    outcome as it comes, so a crash leaves in doubt only the messages in flight."""

    def send_each(self, envelopes: Sequence[Envelope], outcomes: Outcomes) -> None:
        """Send every recipient of ``envelopes``; raises :class:`TransportAuthError`
        (after the messages in flight are answered) when the send must stop."""

    def close(self) -> None: ...


class MemoryTransport:
    """Keeps messages in a list. ``handler`` (as httpx's ``MockTransport``) is called
    with each envelope first and scripts the outcome: raise a ``DeliveryError`` and
    nothing is kept, return a message id (or None for a generated one), wait, count."""

    idempotent = False

    def __init__(
        self,
        handler: Callable[[Envelope], str | None] | None = None,
        *,
        max_recipients: int = 1000,
        sent: list[RenderedMessage] | None = None,
    ) -> None:
        self.handler = handler
        self.max_recipients = max_recipients
        self.sent: list[RenderedMessage] = sent if sent is not None else []

    def send(self, envelope: Envelope) -> str:
        message_id = self.handler(envelope) if self.handler is not None else None
        self.sent.extend(envelope.messages())
        return message_id or f"memory-{len(self.sent)}"
