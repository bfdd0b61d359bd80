"""Delivery: an edition to every subscriber, exactly once, through any outage.

The ledger (``store.ledger``) is the source of truth. Each round claims a batch of
pending rows in one transaction, sends them in as few requests as the transport
allows (one per combination of sections), and writes the outcome back:

- accepted: done; a rate limit waits for the provider's reset and tries again;
- a transient failure is retried with exponential backoff and jitter, then left
  failed for the next run; a rejected request is split in halves until the bad
  recipient is alone and rejected with the provider's message;
- an ambiguous outcome (the request may have been accepted) is never retried
  blindly. With a scheduling transport the batch was submitted with a ``send_at``
  far enough ahead to cancel it: it is cancelled and its rows go back to pending,
  to be resubmitted under a new batch id. Without one, the rows become ambiguous
  and wait for the operator (``digest send --retry-ambiguous``).

A run that finds rows left ``sending`` by a crash recovers them the same way:
idempotent transports send them again; scheduled batches still ahead of their
``send_at`` are cancelled and released; anything else is ambiguous.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from digest.delivery.mime import address_problem
from digest.delivery.transport import Envelope, Recipient, SchedulingTransport, Transport
from digest.errors import (
    AmbiguousDeliveryError,
    DeliveryError,
    RateLimited,
    RequestRejected,
    TransientDeliveryError,
    TransportAuthError,
)
from digest.models import DeliveryState, Subscriber
from digest.rendering.personal import RenderedEdition
from digest.store.ledger import Claimed, Ledger

log = logging.getLogger(__name__)

# Batches in a row that fail on an unexpected error before the send stops: a broken
# transport or template is not retried against every subscriber.
MAX_UNEXPECTED_IN_A_ROW = 3


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    batch_size: int = 1000
    max_attempts: int = 5
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    max_rate_limit_waits: int = 20
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
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class _CancelAndRetry(Exception):
    """Internal: a scheduled request's outcome is unknown; cancel its batch."""


class Deliverer:
    def __init__(
        self,
        ledger: Ledger,
        transport: Transport,
        *,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None],
        policy: DeliveryPolicy = DeliveryPolicy(),
        rng: random.Random | None = None,
    ) -> None:
        self.ledger = ledger
        self.transport = transport
        self.clock = clock
        self.sleep = sleep
        self.policy = policy
        self.rng = rng or random.Random()
        self._next_request_at = 0.0

    def deliver(
        self,
        edition_id: int,
        render_for: Callable[[Subscriber], RenderedEdition],
        unsubscribe_for: Callable[[str], str],
        *,
        due: datetime | None = None,
        retry_ambiguous: bool = False,
        on_progress: Callable[[int], None] | None = None,
        timezone: str | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        preferences_for: Callable[[str], str] | None = None,
    ) -> DeliveryReport:
        """Send the edition to every subscriber the ledger says has not had it
        (only those of ``timezone`` are added, when given). ``should_stop`` is asked
        between batches: a shutdown leaves the rest pending, nothing half-done."""
        report = DeliveryReport()
        now = self.clock()
        self.ledger.enqueue(edition_id, now, timezone)
        self.ledger.suppress_inactive(edition_id, now)
        again = [DeliveryState.FAILED] + ([DeliveryState.AMBIGUOUS] if retry_ambiguous else [])
        self.ledger.requeue(edition_id, again, now)
        self._recover(edition_id, report)

        scheduling = isinstance(self.transport, SchedulingTransport)
        send_at = due if scheduling and due and due - now >= self.policy.schedule_ahead else None
        report.scheduled = send_at is not None
        size = min(self.policy.batch_size, self.transport.max_recipients)
        unexpected = 0
        while not should_stop():
            batch_id = self._batch_id(send_at)
            claimed = self.ledger.claim(edition_id, size, batch_id, self.clock(), send_at)
            if not claimed:
                break
            try:
                self._send_batch(
                    claimed, batch_id, send_at, render_for, unsubscribe_for, preferences_for, report
                )
                unexpected = 0
            except (TransportAuthError, KeyboardInterrupt):
                raise
            except Exception as exc:  # an isolation boundary: one bad batch, not the send
                unexpected += 1
                self._unexpected([c.delivery_id for c in claimed], exc, report)
                if unexpected >= MAX_UNEXPECTED_IN_A_ROW:
                    raise
            if on_progress:
                on_progress(len(claimed))
        report.stopped = should_stop()
        report.counts = self.ledger.counts(edition_id)
        return report

    # -- one batch -------------------------------------------------------------------

    def _batch_id(self, send_at: datetime | None) -> str:
        if send_at is not None:
            assert isinstance(self.transport, SchedulingTransport)
            return self.transport.new_batch()
        return f"local-{uuid.uuid4().hex}"

    def _send_batch(
        self,
        claimed: Sequence[Claimed],
        batch_id: str,
        send_at: datetime | None,
        render_for: Callable[[Subscriber], RenderedEdition],
        unsubscribe_for: Callable[[str], str],
        preferences_for: Callable[[str], str] | None,
        report: DeliveryReport,
    ) -> None:
        groups: dict[int, tuple[RenderedEdition, list[Recipient]]] = {}
        for row in claimed:
            problem = address_problem(row.subscriber.name, row.subscriber.email)
            if problem is not None:
                self._reject([row.delivery_id], row.subscriber.email, problem, report)
                continue
            rendered = render_for(row.subscriber)
            email = row.subscriber.email
            recipient = Recipient(
                row.delivery_id,
                row.subscriber,
                unsubscribe_for(email),
                preferences_for(email) if preferences_for else None,
            )
            groups.setdefault(id(rendered), (rendered, []))[1].append(recipient)
        try:
            for rendered, recipients in groups.values():
                envelope = Envelope(
                    rendered, tuple(recipients), batch_id if send_at else None, send_at
                )
                self._send(envelope, report)
        except _CancelAndRetry as why:
            self._cancel(batch_id, [c.delivery_id for c in claimed], str(why), report)
        except TransportAuthError:
            self.ledger.mark([c.delivery_id for c in claimed], DeliveryState.PENDING, self.clock())
            raise

    def _send(self, envelope: Envelope, report: DeliveryReport) -> None:
        ids = [r.delivery_id for r in envelope.recipients]
        attempts = waits = 0
        while True:
            self._pace(len(ids))
            report.requests += 1
            try:
                message_id = self.transport.send(envelope)
            except RateLimited as exc:
                waits += 1
                report.rate_limit_waits += 1
                if waits > self.policy.max_rate_limit_waits:
                    self._fail(ids, f"still rate limited after {waits - 1} waits", report)
                    return
                self.sleep(max(0.0, exc.retry_at - self.clock().timestamp()))
                continue
            except TransientDeliveryError as exc:
                if exc.maybe_sent and envelope.send_at is not None:
                    raise _CancelAndRetry(str(exc)) from None
                attempts += 1
                if attempts >= self.policy.max_attempts:
                    self._fail(ids, f"{exc} (after {attempts} attempts)", report)
                    return
                report.retries += 1
                self.sleep(self._backoff(attempts))
                continue
            except RequestRejected as exc:
                self._split(envelope, exc, report)
                return
            except AmbiguousDeliveryError as exc:
                if envelope.send_at is not None:
                    raise _CancelAndRetry(str(exc)) from None
                self.ledger.mark(ids, DeliveryState.AMBIGUOUS, self.clock(), error=str(exc))
                report.ambiguous += len(ids)
                report.notes.append(
                    f"{len(ids)} deliveries are ambiguous: {exc}; "
                    "check before 'digest send --retry-ambiguous'"
                )
                return
            except TransportAuthError:
                raise
            except DeliveryError as exc:
                self._fail(ids, str(exc), report)
                return
            self.ledger.mark(ids, DeliveryState.ACCEPTED, self.clock(), message_id=message_id)
            report.accepted += len(ids)
            return

    def _reject(self, ids: list[int], email: str, why: str, report: DeliveryReport) -> None:
        self.ledger.mark(ids, DeliveryState.REJECTED, self.clock(), error=why)
        report.rejected += len(ids)
        log.warning("%s rejected: %s", email, why)

    def _split(self, envelope: Envelope, exc: RequestRejected, report: DeliveryReport) -> None:
        recipients = envelope.recipients
        if len(recipients) == 1:
            self._reject(
                [recipients[0].delivery_id], recipients[0].subscriber.email, str(exc), report
            )
            return
        middle = len(recipients) // 2
        for part in (recipients[:middle], recipients[middle:]):
            self._send(
                Envelope(envelope.rendered, part, envelope.batch_id, envelope.send_at), report
            )

    def _unexpected(self, ids: list[int], exc: Exception, report: DeliveryReport) -> None:
        """A bug or an unforeseen error in one batch: its rows still ``sending`` are
        failed with the error (tried again by the next run), never left claimed."""
        log.exception("unexpected error sending a batch of %d: %r", len(ids), exc)
        error = f"unexpected error: {type(exc).__name__}: {exc}"
        self.ledger.mark(ids, DeliveryState.FAILED, self.clock(), error=error[:1000])
        report.notes.append(f"{len(ids)} deliveries failed on an unexpected error: {error[:200]}")

    def _fail(self, ids: list[int], error: str, report: DeliveryReport) -> None:
        self.ledger.mark(ids, DeliveryState.FAILED, self.clock(), error=error)
        report.failed += len(ids)

    def _cancel(self, batch_id: str, ids: list[int], why: str, report: DeliveryReport) -> None:
        """Cancel a scheduled batch whose fate is unknown and release its rows."""
        assert isinstance(self.transport, SchedulingTransport)
        try:
            self.transport.cancel_batch(batch_id)
        except DeliveryError as exc:
            self.ledger.mark_batch(batch_id, DeliveryState.AMBIGUOUS, self.clock(), error=str(exc))
            report.ambiguous += len(ids)
            report.notes.append(f"batch {batch_id} could not be cancelled: {exc}")
            return
        released = self.ledger.mark_batch(
            batch_id, DeliveryState.PENDING, self.clock(), error=f"resubmitted: {why}"
        )
        report.requeued += released
        # Rows counted accepted in this batch were cancelled with it.
        log.info("cancelled batch %s (%s); %d rows to resubmit", batch_id, why, released)

    # -- recovery, pacing ------------------------------------------------------------

    def _recover(self, edition_id: int, report: DeliveryReport) -> None:
        now = self.clock()
        for batch in self.ledger.in_flight(edition_id):
            if self.transport.idempotent:
                self.ledger.mark(list(batch.ids), DeliveryState.PENDING, now)
                continue
            if (
                batch.batch_id
                and batch.send_at is not None
                and batch.send_at - now > self.policy.cancel_margin
                and isinstance(self.transport, SchedulingTransport)
            ):
                self._cancel(batch.batch_id, list(batch.ids), "left in flight", report)
                continue
            error = "in flight when a previous run stopped: it may have been accepted"
            self.ledger.mark(list(batch.ids), DeliveryState.AMBIGUOUS, now, error=error)
            report.ambiguous += len(batch.ids)
            report.notes.append(
                f"{len(batch.ids)} deliveries were in flight at a crash and are ambiguous; "
                "check before 'digest send --retry-ambiguous'"
            )

    def _backoff(self, attempt: int) -> float:
        base = min(
            self.policy.max_backoff_seconds, self.policy.backoff_seconds * (1 << (attempt - 1))
        )
        return base * (0.5 + self.rng.random() / 2)  # jitter: spread retries of many senders

    def _pace(self, messages: int) -> None:
        rate = self.policy.max_per_second
        if not rate:
            return
        now = self.clock().timestamp()
        if self._next_request_at > now:
            self.sleep(self._next_request_at - now)
            now = self._next_request_at
        self._next_request_at = now + messages / rate
