"""Delivery: an edition to every subscriber, exactly once, through any outage.

The ledger (``store.ledger``) is the source of truth. Each round claims a batch of
pending rows in one transaction, sends them in as few requests as the transport
allows (one per combination of sections; ``delivery.requests``), and writes the
outcome back:

- accepted: done; a rate limit waits for the provider's reset and tries again;
- a transient failure is retried with exponential backoff and jitter, then left
  failed for the next run; a rejected request is split in halves until the bad
  recipient is alone and rejected with the provider's message;
- an ambiguous outcome (the request may have been accepted) is never retried
  blindly. With a scheduling transport the batch was submitted with a ``send_at``
  far enough ahead to cancel it: it is cancelled and its rows go back to pending
  after a back-off, to be resubmitted under a new batch id. Without one, the rows
  become ambiguous and wait for the operator (``digest send --retry-ambiguous``).

Every claim of a row is an attempt; at ``max_attempts`` a row is not claimed again
and ends failed with a note, and rows waiting in back-off are not claimed before
their time, so rows that keep failing never starve the others. When only rows in
back-off are left, the deliverer waits for the earliest, until the deadline.

A run that finds rows left ``sending`` recovers them the same way: idempotent
transports send them again; scheduled batches still ahead of their ``send_at`` are
cancelled and released; anything else is ambiguous. Recovery runs under the
edition's lease (``pipeline``) and takes only rows whose claimer is provably gone
(``Ledger.abandoned``: its pid gone on this host, or its lease on the edition no
longer held, or this process, whose batches being sent now are known), never the
live batch of another process or of another thread of this one.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from digest.delivery.mime import address_problem
from digest.delivery.outcomes import LedgerOutcomes
from digest.delivery.requests import CancelAndRetry, DeliveryPolicy, DeliveryReport, Requests
from digest.delivery.transport import (
    Envelope,
    MessageTransport,
    Recipient,
    SchedulingTransport,
    Transport,
)
from digest.errors import DeliveryError, TransportAuthError
from digest.models import DeliveryState, Subscriber
from digest.rendering.personal import RenderedEdition
from digest.store.ledger import Claimed, Ledger

log = logging.getLogger(__name__)

# Batches in a row that fail on an unexpected error before the send stops: a broken
# transport or template is not retried against every subscriber.
MAX_UNEXPECTED_IN_A_ROW = 3
WAIT_SLICE = 1.0  # seconds: a wait for rows in back-off checks for a stop this often


@dataclass(frozen=True, slots=True)
class Links:
    """Each recipient's rendering and signed links."""

    render_for: Callable[[Subscriber], RenderedEdition]
    unsubscribe_for: Callable[[str], str]
    preferences_for: Callable[[str], str] | None = None


class Deliverer:
    def __init__(
        self,
        ledger: Ledger,
        transport: Transport,
        *,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None],
        policy: DeliveryPolicy | None = None,
        rng: random.Random | None = None,
        holder: str | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.ledger = ledger
        self.transport = transport
        self.clock = clock
        self.sleep = sleep
        self.policy = policy = policy or DeliveryPolicy()
        self.holder = holder
        self.wall_clock = wall_clock  # the time of leases, whatever ``clock`` says
        self._cancels = 0  # batches cancelled so far: each waits longer before a retry
        self.requests = Requests(
            ledger, transport, clock=clock, sleep=sleep, policy=policy, rng=rng or random.Random()
        )

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
        deadline: datetime | None = None,
    ) -> DeliveryReport:
        """Send the edition to every subscriber the ledger says has not had it
        (only those of ``timezone`` are added, when given). ``should_stop`` is asked
        between batches: a shutdown leaves the rest pending, nothing half-done. Past
        ``deadline`` nothing more is claimed."""
        report = DeliveryReport()
        self._outcomes = LedgerOutcomes(
            self.ledger, report, clock=self.clock, backoff=self.requests.backoff
        )
        self._prepare(edition_id, timezone, retry_ambiguous, report)
        links = Links(render_for, unsubscribe_for, preferences_for)
        size = min(self.policy.batch_size, self.transport.max_recipients)
        unexpected = 0
        while not should_stop():
            if deadline is not None and self.clock() >= deadline:
                report.expired = True
                report.notes.append(f"past the deadline {deadline:%Y-%m-%d %H:%M} UTC; stopped")
                break
            send_at = self._send_at(due)
            batch_id = self._batch_id(send_at)
            with self.ledger.sending(batch_id):  # live: no recovery of this process takes it
                claimed = self.ledger.claim(
                    edition_id,
                    size,
                    batch_id,
                    self.clock(),
                    send_at,
                    holder=self.holder,
                    max_attempts=self.policy.max_attempts,
                )
                if claimed:
                    report.scheduled = report.scheduled or send_at is not None
                    unexpected = self._guarded(
                        claimed, batch_id, send_at, links, report, unexpected
                    )
            if not claimed:
                if self._wait_for_backoff(edition_id, deadline, should_stop):
                    continue
                break
            if on_progress:
                on_progress(len(claimed))
        self._finish(edition_id, report, should_stop())
        return report

    def _prepare(
        self, edition_id: int, timezone: str | None, retry_ambiguous: bool, report: DeliveryReport
    ) -> None:
        now = self.clock()
        self.ledger.enqueue(edition_id, now, timezone)
        self.ledger.suppress_inactive(edition_id, now)
        self.ledger.requeue(edition_id, [DeliveryState.FAILED], now, self.policy.max_attempts)
        if retry_ambiguous:
            self.ledger.requeue(edition_id, [DeliveryState.AMBIGUOUS], now)
        self._recover(edition_id, report)

    def _finish(self, edition_id: int, report: DeliveryReport, stopped: bool) -> None:
        report.stopped = stopped
        if isinstance(self.transport, MessageTransport):
            self.transport.close()
            if report.ambiguous:
                report.notes.append(
                    f"{report.ambiguous} deliveries are ambiguous: the connection was lost "
                    "after the message was sent, before the server answered; check before "
                    "'digest send --retry-ambiguous'"
                )
        gave_up = self.ledger.give_up(edition_id, self.policy.max_attempts, self.clock())
        if gave_up:
            report.gave_up = gave_up
            report.notes.append(
                f"{gave_up} deliveries gave up after {self.policy.max_attempts} attempts"
            )
        report.counts = self.ledger.counts(edition_id)

    def _send_at(self, due: datetime | None) -> datetime | None:
        """Batches are scheduled (and so cancellable) while the due time is far enough
        ahead; later batches of a long send go out at once."""
        if not isinstance(self.transport, SchedulingTransport) or due is None:
            return None
        return due if due - self.clock() >= self.policy.schedule_ahead else None

    def _wait_for_backoff(
        self, edition_id: int, deadline: datetime | None, should_stop: Callable[[], bool]
    ) -> bool:
        """Wait (a slice at a time) for the earliest row in back-off; False when none
        waits or it would be after the deadline."""
        ready = self.ledger.next_attempt(edition_id, self.policy.max_attempts)
        if ready is None or (deadline is not None and ready >= deadline):
            return False
        while not should_stop() and self.clock() < ready:
            self.sleep(min(WAIT_SLICE, (ready - self.clock()).total_seconds()))
        return True

    # -- one batch -------------------------------------------------------------------

    def _batch_id(self, send_at: datetime | None) -> str:
        if send_at is not None:
            assert isinstance(self.transport, SchedulingTransport)
            return self.transport.new_batch()
        return f"local-{uuid.uuid4().hex}"

    def _guarded(
        self,
        claimed: Sequence[Claimed],
        batch_id: str,
        send_at: datetime | None,
        links: Links,
        report: DeliveryReport,
        unexpected: int,
    ) -> int:
        """Send one batch; an unexpected error fails that batch only (an isolation
        boundary), up to ``MAX_UNEXPECTED_IN_A_ROW`` in a row. Returns the count."""
        try:
            self._send_batch(claimed, batch_id, send_at, links, report)
            return 0
        except (TransportAuthError, KeyboardInterrupt):
            raise
        except Exception as exc:
            self._unexpected([c.delivery_id for c in claimed], exc, report)
            if unexpected + 1 >= MAX_UNEXPECTED_IN_A_ROW:
                raise
            return unexpected + 1

    def _send_batch(
        self,
        claimed: Sequence[Claimed],
        batch_id: str,
        send_at: datetime | None,
        links: Links,
        report: DeliveryReport,
    ) -> None:
        groups: dict[int, tuple[RenderedEdition, list[Recipient]]] = {}
        for row in claimed:
            email = row.subscriber.email
            problem = address_problem(row.subscriber.name, email)
            if problem is not None:
                self.requests.reject([row.delivery_id], email, problem, report)
                continue
            rendered = links.render_for(row.subscriber)
            recipient = Recipient(
                row.delivery_id,
                row.subscriber,
                links.unsubscribe_for(email),
                links.preferences_for(email) if links.preferences_for else None,
            )
            groups.setdefault(id(rendered), (rendered, []))[1].append(recipient)
        if isinstance(self.transport, MessageTransport):
            envelopes = [Envelope(rendered, tuple(rs)) for rendered, rs in groups.values()]
            try:
                self.transport.send_each(envelopes, self._outcomes)
            except TransportAuthError:
                self._outcomes.flush()
                ids = [c.delivery_id for c in claimed]
                self.ledger.mark(ids, DeliveryState.PENDING, self.clock(), batch_id=batch_id)
                raise
            finally:
                self._outcomes.flush()
            return
        try:
            for rendered, recipients in groups.values():
                envelope = Envelope(
                    rendered, tuple(recipients), batch_id if send_at else None, send_at
                )
                self.requests.send(envelope, report)
        except CancelAndRetry as why:
            self._cancel(batch_id, [c.delivery_id for c in claimed], str(why), report)
        except TransportAuthError:
            ids = [c.delivery_id for c in claimed]
            self.ledger.mark(ids, DeliveryState.PENDING, self.clock(), batch_id=batch_id)
            raise

    def _unexpected(self, ids: list[int], exc: Exception, report: DeliveryReport) -> None:
        """A bug or an unforeseen error in one batch: its rows still ``sending`` are
        failed with the error (tried again by the next run), never left claimed."""
        log.exception("unexpected error sending a batch of %d: %r", len(ids), exc)
        error = f"unexpected error: {type(exc).__name__}: {exc}"
        self.ledger.mark(ids, DeliveryState.FAILED, self.clock(), error=error[:1000])
        report.notes.append(f"{len(ids)} deliveries failed on an unexpected error: {error[:200]}")

    def _cancel(self, batch_id: str, ids: list[int], why: str, report: DeliveryReport) -> None:
        """Cancel a scheduled batch whose fate is unknown and release its rows, to be
        tried again after a back-off."""
        assert isinstance(self.transport, SchedulingTransport)
        try:
            self.transport.cancel_batch(batch_id)
        except DeliveryError as exc:
            self.ledger.mark_batch(batch_id, DeliveryState.AMBIGUOUS, self.clock(), error=str(exc))
            report.ambiguous += len(ids)
            report.notes.append(f"batch {batch_id} could not be cancelled: {exc}")
            return
        # Rows counted accepted in this batch were cancelled with it.
        self._cancels += 1
        retry_at = self.clock() + timedelta(seconds=self.requests.backoff(self._cancels))
        released = self.ledger.release(ids, self.clock(), retry_at, f"resubmitted: {why}", batch_id)
        report.requeued += released
        log.info("cancelled batch %s (%s); %d rows to resubmit", batch_id, why, released)

    # -- recovery ----------------------------------------------------------------------

    def _recover(self, edition_id: int, report: DeliveryReport) -> None:
        now = self.clock()
        for batch in self.ledger.abandoned(edition_id, self.holder, self.wall_clock()):
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
            in_doubt = len(batch.ids)
            if isinstance(self.transport, MessageTransport):
                # One message at a time: only those handed over may have gone.
                in_doubt -= self.ledger.release_unhanded(batch.ids, now)
                if not in_doubt:
                    continue
            error = "in flight when a previous run stopped: it may have been accepted"
            self.ledger.mark(list(batch.ids), DeliveryState.AMBIGUOUS, now, error=error)
            report.ambiguous += in_doubt
            report.notes.append(
                f"{in_doubt} deliveries were in flight at a crash and are ambiguous; "
                "check before 'digest send --retry-ambiguous'"
            )
