"""One envelope to the provider: pacing to the send-rate cap, waits on rate limits,
retries with back-off and jitter, and splitting a rejected request until the bad
address is alone. Outcomes are written to the ledger as they come."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from digest.delivery.transport import Envelope, Transport
from digest.errors import (
    AmbiguousDeliveryError,
    DeliveryError,
    RateLimited,
    RequestRejected,
    TransientDeliveryError,
    TransportAuthError,
)
from digest.models import DeliveryState
from digest.store.ledger import Ledger

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    batch_size: int = 1000
    max_attempts: int = 5  # per request, and claims per row
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    max_rate_limit_waits: int = 20
    max_retry_seconds: float = 300.0  # waits and retries of one request, at most
    max_per_second: float | None = None
    schedule_ahead: timedelta = timedelta(minutes=10)  # lead a scheduled batch needs
    cancel_margin: timedelta = timedelta(minutes=2)  # too close to send_at to cancel safely


@dataclass(slots=True)
class DeliveryReport:
    accepted: int = 0
    failed: int = 0
    rejected: int = 0
    ambiguous: int = 0
    requeued: int = 0  # released after cancelling a scheduled batch
    retries: int = 0
    rate_limit_waits: int = 0
    requests: int = 0
    scheduled: bool = False
    stopped: bool = False
    expired: bool = False  # stopped at the edition's deadline
    gave_up: int = 0  # rows that reached the attempt cap
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class CancelAndRetry(Exception):
    """A scheduled request's outcome is unknown: its batch is to be cancelled."""


class Requests:
    """Sends envelopes for the deliverer and records each outcome."""

    def __init__(
        self,
        ledger: Ledger,
        transport: Transport,
        *,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None],
        policy: DeliveryPolicy,
        rng: random.Random,
    ) -> None:
        self.ledger, self.transport, self.policy, self.rng = ledger, transport, policy, rng
        self.clock, self.sleep = clock, sleep
        self._next_request_at = 0.0

    def send(self, envelope: Envelope, report: DeliveryReport) -> None:
        """Hand ``envelope`` over until it is accepted, rejected, failed or ambiguous;
        a scheduled one whose fate is unknown raises :class:`CancelAndRetry`."""
        ids = [r.delivery_id for r in envelope.recipients]
        attempts = waits = 0
        started = time.monotonic()
        while True:
            self._pace(len(ids))
            report.requests += 1
            try:
                message_id = self.transport.send(envelope)
            except RateLimited as exc:
                waits += 1
                report.rate_limit_waits += 1
                if waits > self.policy.max_rate_limit_waits or self._too_long(started):
                    why = f"still rate limited after {waits - 1} waits"
                    self.fail(ids, why, report, envelope.batch_id)
                    return
                self.sleep(max(0.0, exc.retry_at - self.clock().timestamp()))
                continue
            except TransientDeliveryError as exc:
                if exc.maybe_sent and envelope.send_at is not None:
                    raise CancelAndRetry(str(exc)) from None
                attempts += 1
                if attempts >= self.policy.max_attempts or self._too_long(started):
                    self.fail(ids, f"{exc} (after {attempts} attempts)", report, envelope.batch_id)
                    return
                report.retries += 1
                self.sleep(self.backoff(attempts))
                continue
            except RequestRejected as exc:
                self._split(envelope, exc, report)
                return
            except AmbiguousDeliveryError as exc:
                self._ambiguous(envelope, ids, exc, report)
                return
            except TransportAuthError:
                raise
            except DeliveryError as exc:
                self.fail(ids, str(exc), report, envelope.batch_id)
                return
            self.ledger.mark(
                ids,
                DeliveryState.ACCEPTED,
                self.clock(),
                message_id=message_id,
                batch_id=envelope.batch_id,
            )
            report.accepted += len(ids)
            return

    def _ambiguous(
        self,
        envelope: Envelope,
        ids: list[int],
        exc: AmbiguousDeliveryError,
        report: DeliveryReport,
    ) -> None:
        if envelope.send_at is not None:
            raise CancelAndRetry(str(exc)) from None
        self.ledger.mark(
            ids, DeliveryState.AMBIGUOUS, self.clock(), error=str(exc), batch_id=envelope.batch_id
        )
        report.ambiguous += len(ids)
        report.notes.append(
            f"{len(ids)} deliveries are ambiguous: {exc}; "
            "check before 'digest send --retry-ambiguous'"
        )

    def reject(
        self,
        ids: list[int],
        email: str,
        why: str,
        report: DeliveryReport,
        batch_id: str | None = None,
    ) -> None:
        self.ledger.mark(ids, DeliveryState.REJECTED, self.clock(), error=why, batch_id=batch_id)
        report.rejected += len(ids)
        log.warning("%s rejected: %s", email, why)

    def _split(self, envelope: Envelope, exc: RequestRejected, report: DeliveryReport) -> None:
        recipients = envelope.recipients
        if len(recipients) == 1:
            self.reject(
                [recipients[0].delivery_id],
                recipients[0].subscriber.email,
                str(exc),
                report,
                envelope.batch_id,
            )
            return
        middle = len(recipients) // 2
        for part in (recipients[:middle], recipients[middle:]):
            self.send(
                Envelope(envelope.rendered, part, envelope.batch_id, envelope.send_at), report
            )

    def fail(
        self, ids: list[int], error: str, report: DeliveryReport, batch_id: str | None = None
    ) -> None:
        """Failed, for the next run (only rows still of ``batch_id``, when scheduled)."""
        self.ledger.mark(ids, DeliveryState.FAILED, self.clock(), error=error, batch_id=batch_id)
        report.failed += len(ids)

    def backoff(self, attempt: int) -> float:
        base = min(
            self.policy.max_backoff_seconds, self.policy.backoff_seconds * (1 << (attempt - 1))
        )
        return base * (0.5 + self.rng.random() / 2)  # jitter: spread retries of many senders

    def _too_long(self, started: float) -> bool:
        return time.monotonic() - started > self.policy.max_retry_seconds

    def _pace(self, messages: int) -> None:
        rate = self.policy.max_per_second
        if not rate:
            return
        now = self.clock().timestamp()
        if self._next_request_at > now:
            self.sleep(self._next_request_at - now)
            now = self._next_request_at
        self._next_request_at = now + messages / rate
