"""The delivery ledger: one row per (edition, subscriber), claimed in batches.

A batch is claimed in one transaction: pending rows become ``sending`` under a
batch id nobody else holds, so two processes never send the same row. Whatever
happens after that is written back per batch: accepted, failed (tried again next
run), rejected (the provider refused the address), ambiguous (may have been
accepted; never retried without the operator) or back to pending (when a
scheduled batch was cancelled, or nothing left this machine), then with a
``next_attempt_at`` after a back-off: rows waiting for it are not claimed, so they
never hold up the others. Every claim counts as an attempt; a row at the attempt cap
is not claimed again and ends ``failed`` with a note; while the provider takes this
edition from us, rows tried before are claimed in ever smaller batches, so one
recipient the provider keeps failing on ends alone, and the rest get through. An
accepted answer is always recorded, whatever became of the row meanwhile, except
that of a scheduled batch whose rows were released after cancelling it (the
provider holds no message for them then). Each claim names its claimer, so crash
recovery takes only rows whose claimer is gone (:meth:`Ledger.abandoned`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Engine,
    Select,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from digest.models import DeliveryState, Subscriber, SubscriberStatus
from digest.store.in_flight import InFlight, abandoned, in_flight
from digest.store.leases import process_gone
from digest.store.ledger_reports import LedgerReports
from digest.store.schema import deliveries, editions, subscribers
from digest.store.subscribers import subscriber_from_row
from digest.store.subscriptions import receives

P, S, A = DeliveryState.PENDING.value, DeliveryState.SENDING.value, DeliveryState.ACCEPTED.value
# An acceptance is recorded over any of these: the provider has the message.
_ACCEPTABLE = (S, P, DeliveryState.FAILED.value, DeliveryState.AMBIGUOUS.value)


@dataclass(frozen=True, slots=True)
class Claimed:
    """One claimed row with what rendering needs to know about its subscriber."""

    delivery_id: int
    subscriber: Subscriber


_SETTLE_ACCEPTED = (
    update(deliveries)
    .where(
        deliveries.c.id == bindparam("row"),
        # not IN (...): an expanding list cannot go with executemany
        or_(*(deliveries.c.state == state for state in _ACCEPTABLE)),
    )
    .values(state=A, message_id=bindparam("queued"), error=None, updated_at=bindparam("now"))
)
_SETTLE_HANDED = (
    update(deliveries)
    .where(deliveries.c.id.in_(bindparam("rows", expanding=True)), deliveries.c.state == S)
    .values(handed_at=bindparam("now"))
)


class Ledger(LedgerReports):
    """The ledger's writes: enqueue, claim, record outcomes, recover."""

    def __init__(self, engine: Engine, gone: Callable[[str], bool] = process_gone) -> None:
        super().__init__(engine)
        self.gone = gone  # whether a claimer's process is gone (on this host)
        self._live: set[str] = set()  # batch ids this process is sending now, any thread
        self._lock = threading.Lock()

    @contextmanager
    def sending(self, batch_id: str) -> Iterator[None]:
        """While inside, the claim ``batch_id`` is live in this process: recovery (by
        another thread) leaves its rows alone; rows this process left ``sending``
        outside such a claim (an error that escaped) are recovered like a dead one's."""
        with self._lock:
            self._live.add(batch_id)
        try:
            yield
        finally:
            with self._lock:
                self._live.discard(batch_id)

    def enqueue(self, edition_id: int, now: datetime, timezone: str | None = None) -> int:
        """Add a pending row for every active subscriber of this edition (of
        ``timezone``, when given) not yet in the ledger for it (one INSERT ... SELECT:
        the list never passes through Python)."""
        name = select(editions.c.name).where(editions.c.id == edition_id).scalar_subquery()
        missing = ~exists().where(
            and_(deliveries.c.edition_id == edition_id, deliveries.c.email == subscribers.c.email)
        )
        source = select(
            literal(edition_id),
            subscribers.c.email,
            literal(P),
            literal(0),
            literal(now, type_=deliveries.c.updated_at.type),
        ).where(subscribers.c.status == SubscriberStatus.ACTIVE.value, missing, receives(name))
        if timezone is not None:
            source = source.where(subscribers.c.timezone == timezone)
        count = select(func.count()).where(deliveries.c.edition_id == edition_id)
        with self.engine.begin() as conn:
            # rowcount of INSERT ... SELECT is not reported by every driver (psycopg: -1)
            before = int(conn.scalar(count) or 0)
            conn.execute(
                insert(deliveries).from_select(
                    ["edition_id", "email", "state", "attempts", "updated_at"], source
                )
            )
            return int(conn.scalar(count) or 0) - before

    def suppress_inactive(self, edition_id: int, now: datetime) -> int:
        """Pending rows of subscribers who unsubscribed (from everything or from this
        edition), bounced or complained since."""
        name = select(editions.c.name).where(editions.c.id == edition_id).scalar_subquery()
        inactive = select(subscribers.c.email).where(
            or_(subscribers.c.status != SubscriberStatus.ACTIVE.value, ~receives(name))
        )
        return self._update(
            and_(
                deliveries.c.edition_id == edition_id,
                deliveries.c.state.in_([P, DeliveryState.FAILED.value]),
                deliveries.c.email.in_(inactive),
            ),
            state=DeliveryState.SUPPRESSED.value,
            updated_at=now,
        )

    def requeue(
        self,
        edition_id: int,
        states: Sequence[DeliveryState],
        now: datetime,
        max_attempts: int | None = None,
    ) -> int:
        """Put rows in ``states`` back to pending (failed ones below the attempt cap at
        the start of a run; ambiguous ones when the operator says so)."""
        where = and_(
            deliveries.c.edition_id == edition_id,
            deliveries.c.state.in_([s.value for s in states]),
        )
        if max_attempts is not None:
            where = and_(where, deliveries.c.attempts < max_attempts)
        return self._update(where, state=P, batch_id=None, send_at=None, updated_at=now)

    def release(
        self,
        ids: Sequence[int],
        now: datetime,
        retry_at: datetime,
        why: str,
        batch_id: str | None = None,
    ) -> int:
        """Rows of a claim (``batch_id``) that did not go out back to pending, waiting
        until ``retry_at`` (a back-off) before anyone claims them again."""
        released = 0
        where: Any = deliveries.c.state.in_([S, A])
        if batch_id is not None:
            where = and_(where, deliveries.c.batch_id == batch_id)
        for chunk in _chunks(ids, 500):
            released += self._update(
                and_(deliveries.c.id.in_(chunk), where),
                state=P,
                batch_id=None,
                send_at=None,
                message_id=None,
                next_attempt_at=retry_at,
                error=why,
                updated_at=now,
            )
        return released

    def give_up(self, edition_id: int, max_attempts: int, now: datetime) -> int:
        """Pending rows that reached the attempt cap: failed, with a note."""
        return self._update(
            and_(
                deliveries.c.edition_id == edition_id,
                deliveries.c.state == P,
                deliveries.c.attempts >= max_attempts,
            ),
            state=DeliveryState.FAILED.value,
            # The last attempt's error stays after the note: it says why.
            error=literal(f"gave up after {max_attempts} attempts")
            + func.coalesce(literal(": ") + deliveries.c.error, literal("")),
            updated_at=now,
        )

    def next_attempt(self, edition_id: int, max_attempts: int) -> datetime | None:
        """When the earliest row waiting in back-off may be claimed; None when none waits."""
        query = select(func.min(deliveries.c.next_attempt_at)).where(
            deliveries.c.edition_id == edition_id,
            deliveries.c.state == P,
            deliveries.c.attempts < max_attempts,
            deliveries.c.next_attempt_at.is_not(None),
        )
        with self.engine.connect() as conn:
            value = conn.scalar(query)
        return value if isinstance(value, datetime) else None

    def claim(
        self,
        edition_id: int,
        limit: int,
        batch_id: str,
        now: datetime,
        send_at: datetime | None = None,
        *,
        holder: str | None = None,
        max_attempts: int = 1_000_000,
    ) -> list[Claimed]:
        """Take up to ``limit`` pending rows under ``batch_id`` (unique per claim):
        rows not waiting in back-off and below the attempt cap, the least tried first
        (so rows that keep failing never starve the others). Rows tried ``n`` times
        before are claimed ``limit >> n`` at a time while the provider has accepted
        some of this edition: a batch that keeps failing while others go through
        likely holds a recipient the provider fails on, and halving it each time
        leaves that one alone and lets the others through."""
        with self.engine.begin() as conn:
            candidates = conn.execute(_claimable(edition_id, limit, now, max_attempts)).all()
            if not candidates:
                return []
            tried = candidates[0].attempts
            if tried and _provider_takes(conn, edition_id):
                candidates = candidates[: max(1, limit >> tried)]
            ids = [row.id for row in candidates]
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(ids), deliveries.c.state == P)
                .values(
                    state=S,
                    batch_id=batch_id,
                    send_at=send_at,
                    attempts=deliveries.c.attempts + 1,
                    claimed_by=holder,
                    next_attempt_at=None,
                    handed_at=None,
                    updated_at=now,
                )
            )
            # Only the rows this claim won: another process may have taken some.
            rows = conn.execute(
                select(deliveries.c.id, subscribers.c.email, subscribers.c.name)
                .add_columns(subscribers.c.timezone, subscribers.c.topics)
                .join(subscribers, subscribers.c.email == deliveries.c.email)
                .where(deliveries.c.id.in_(ids), deliveries.c.batch_id == batch_id)
                .order_by(deliveries.c.id)
            )
            return [Claimed(row.id, subscriber_from_row(row)) for row in rows]

    def mark(
        self,
        ids: Sequence[int],
        state: DeliveryState,
        now: datetime,
        *,
        message_id: str | None = None,
        error: str | None = None,
        batch_id: str | None = None,
    ) -> None:
        """Record the outcome of sending ``ids``: only rows still ``sending`` change,
        except for an acceptance, which is recorded whatever the row became meanwhile
        (the provider has the message: that fact is never thrown away). Given the
        claim's ``batch_id``, only rows still of that batch change: rows released after
        a scheduled batch was cancelled (by a process that took the edition over) may
        be claimed again already, and the provider sends nothing for them."""
        values: dict[str, object] = {"state": state.value, "error": error, "updated_at": now}
        if message_id is not None:
            values["message_id"] = message_id
        if state == DeliveryState.PENDING:
            values.update(batch_id=None, send_at=None)
        current: Any = deliveries.c.state == S
        if state == DeliveryState.ACCEPTED:
            current = deliveries.c.state.in_(_ACCEPTABLE)
        if batch_id is not None:
            current = and_(current, deliveries.c.batch_id == batch_id)
        for chunk in _chunks(ids, 500):
            self._update(and_(deliveries.c.id.in_(chunk), current), **values)

    def settle(
        self, accepted: Sequence[tuple[int, str]], handed: Sequence[int], now: datetime
    ) -> None:
        """In one transaction: rows accepted (with their message ids), and rows whose
        message is about to be committed to the server (SMTP: before the final dot),
        which a crash from here leaves in doubt. The hot path of an SMTP send: the
        statements are built once."""
        with self.engine.begin() as conn:
            if accepted:
                conn.execute(
                    _SETTLE_ACCEPTED, [{"row": r, "queued": q, "now": now} for r, q in accepted]
                )
            if handed:
                conn.execute(_SETTLE_HANDED, {"rows": list(handed), "now": now})

    def release_unhanded(self, ids: Sequence[int], now: datetime) -> int:
        """Rows of a dead claim that were never handed over: back to pending, to be
        sent normally (nothing of them reached the server)."""
        released = 0
        for chunk in _chunks(ids, 500):
            released += self._update(
                and_(
                    deliveries.c.id.in_(chunk),
                    deliveries.c.state == S,
                    deliveries.c.handed_at.is_(None),
                ),
                state=P,
                batch_id=None,
                send_at=None,
                error="claimed, never handed over before a stop; sent again",
                updated_at=now,
            )
        return released

    def mark_batch(
        self, batch_id: str, state: DeliveryState, now: datetime, *, error: str | None = None
    ) -> int:
        """Set every row of a batch, sent or not, to ``state`` (after cancelling it,
        the rows counted accepted were cancelled too)."""
        values: dict[str, object] = {"state": state.value, "error": error, "updated_at": now}
        if state == DeliveryState.PENDING:
            values.update(batch_id=None, send_at=None, message_id=None)
        return self._update(
            and_(deliveries.c.batch_id == batch_id, deliveries.c.state.in_([S, A])), **values
        )

    def in_flight(self, edition_id: int) -> list[InFlight]:
        """Every row left ``sending``, by batch."""
        return in_flight(self.engine, edition_id)

    def abandoned(self, edition_id: int, holder: str | None, now: datetime) -> list[InFlight]:
        """Rows left ``sending`` by a claimer that is gone (``store.in_flight``), by
        batch; ``holder`` is this process, ``now`` the time of the leases."""
        with self._lock:
            live = frozenset(self._live)
        return abandoned(self.engine, edition_id, holder, now, self.gone, live)

    def _update(self, where: object, **values: object) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(update(deliveries).where(where).values(**values))  # type: ignore[arg-type]
        return int(result.rowcount or 0)


def _provider_takes(conn: Any, edition_id: int) -> bool:
    """Whether the provider has accepted any delivery of this edition."""
    query = select(deliveries.c.id).where(
        deliveries.c.edition_id == edition_id, deliveries.c.state == A
    )
    return conn.execute(query.limit(1)).first() is not None


def _claimable(edition_id: int, limit: int, now: datetime, max_attempts: int) -> Select[Any]:
    """Pending rows of the edition not waiting in back-off and below the attempt cap,
    the least tried first, locked for the claim (skipping rows another claim holds)."""
    ready = or_(deliveries.c.next_attempt_at.is_(None), deliveries.c.next_attempt_at <= now)
    return (
        select(deliveries.c.id, deliveries.c.attempts)
        .where(
            deliveries.c.edition_id == edition_id,
            deliveries.c.state == P,
            deliveries.c.attempts < max_attempts,
            ready,
        )
        .order_by(deliveries.c.attempts, deliveries.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def _chunks(items: Sequence[int], size: int) -> list[Sequence[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
