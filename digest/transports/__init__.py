"""Transports: how a rendered message leaves. One Protocol; outbox files, SendGrid,
and an in-memory list for tests and dry runs."""

from __future__ import annotations

from typing import Protocol

from digest.models import RenderedMessage


class Transport(Protocol):
    """Hands one message over; returns its message id or raises DeliveryError."""

    def send(self, message: RenderedMessage) -> str: ...


class MemoryTransport:
    """Keeps messages in a list."""

    def __init__(self) -> None:
        self.sent: list[RenderedMessage] = []

    def send(self, message: RenderedMessage) -> str:
        self.sent.append(message)
        return f"memory-{len(self.sent)}"
