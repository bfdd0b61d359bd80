"""The ledger's side of a transport that sends one message at a time (SMTP): each
outcome written as the transport learns it, from its worker threads.

A message must be marked handed over before its final dot (so a crash after the dot
leaves it in doubt, never sent twice); its acceptance is written in the same
transaction as the next hand-over on that connection, or by :meth:`flush` at the end
of the batch: one commit a message instead of two (on SQLite a commit is an fsync,
~2 ms here). A crash in between leaves that one accepted message in doubt, the one
per connection the guarantee allows.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from digest.delivery.requests import DeliveryReport
from digest.delivery.transport import Recipient
from digest.models import DeliveryState
from digest.store.ledger import Ledger

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Write:
    accepted: list[tuple[int, str]]
    handed: list[int]
    done: bool = False
    error: Exception | None = None


class _GroupCommit:
    """The writes of several worker threads in one transaction: whoever has the turn
    writes everything queued by then, so connections waiting on the database share
    a commit instead of queueing for one each."""

    def __init__(self, ledger: Ledger, clock: Callable[[], datetime]) -> None:
        self.ledger, self.clock = ledger, clock
        self._queue: list[_Write] = []
        self._queued = threading.Lock()
        self._turn = threading.Lock()

    def write(self, accepted: list[tuple[int, str]], handed: list[int]) -> None:
        """Returns once these rows are written (committed), by this thread or another."""
        mine = _Write(accepted, handed)
        with self._queued:
            self._queue.append(mine)
        with self._turn:
            if not mine.done:
                with self._queued:
                    batch, self._queue = self._queue, []
                error: Exception | None = None
                try:
                    self.ledger.settle(
                        [a for w in batch for a in w.accepted],
                        [h for w in batch for h in w.handed],
                        self.clock(),
                    )
                except Exception as exc:  # each waiting thread raises it
                    error = exc
                for write in batch:
                    write.done, write.error = True, error
        if mine.error is not None:
            raise mine.error


class LedgerOutcomes:
    """Implements ``transport.Outcomes`` over the ledger, counting into ``report``.

    A deferred message goes back to pending with a back-off (``backoff(n)`` seconds
    for its n-th deferral in this run); the attempt cap of the claims bounds it.
    """

    def __init__(
        self,
        ledger: Ledger,
        report: DeliveryReport,
        *,
        clock: Callable[[], datetime],
        backoff: Callable[[int], float],
    ) -> None:
        self.ledger, self.report, self.clock, self.backoff = ledger, report, clock, backoff
        self._deferrals: dict[int, int] = {}
        self._waiting: dict[int, tuple[int, str]] = {}  # by thread: an acceptance to write
        self._lock = threading.Lock()
        self._commit = _GroupCommit(ledger, clock)

    def _take(self) -> list[tuple[int, str]]:
        with self._lock:
            found = self._waiting.pop(threading.get_ident(), None)
        return [found] if found else []

    def handed(self, recipient: Recipient) -> None:
        self._commit.write(self._take(), [recipient.delivery_id])

    def accepted(self, recipient: Recipient, message_id: str) -> None:
        with self._lock:
            earlier = self._waiting.pop(threading.get_ident(), None)
            self._waiting[threading.get_ident()] = (recipient.delivery_id, message_id)
            self.report.accepted += 1
        if earlier:  # two acceptances without a hand-over between: not expected
            self._commit.write([earlier], [])

    def flush(self) -> None:
        """Write every acceptance still waiting (the end of a batch, or a stop)."""
        with self._lock:
            waiting, self._waiting = list(self._waiting.values()), {}
        if waiting:
            self._commit.write(waiting, [])

    def rejected(self, recipient: Recipient, why: str) -> None:
        self._commit.write(self._take(), [])
        self.ledger.mark([recipient.delivery_id], DeliveryState.REJECTED, self.clock(), error=why)
        with self._lock:
            self.report.rejected += 1
        log.warning("%s rejected: %s", recipient.subscriber.email, why)

    def deferred(self, recipient: Recipient, why: str) -> None:
        with self._lock:
            n = self._deferrals[recipient.delivery_id] = (
                self._deferrals.get(recipient.delivery_id, 0) + 1
            )
            self.report.retries += 1
        self._commit.write(self._take(), [])
        now = self.clock()
        retry_at = now + timedelta(seconds=self.backoff(n))
        self.ledger.release([recipient.delivery_id], now, retry_at, why[:1000])

    def ambiguous(self, recipient: Recipient, why: str) -> None:
        self._commit.write(self._take(), [])
        self.ledger.mark(
            [recipient.delivery_id], DeliveryState.AMBIGUOUS, self.clock(), error=why[:1000]
        )
        with self._lock:
            self.report.ambiguous += 1
        log.warning("%s ambiguous: %s", recipient.subscriber.email, why)
