"""The subscriber list in the database: imported from CSV, suppressed by events.

Importing never re-activates a subscriber who unsubscribed, paused, bounced or
complained: only that subscriber's own action (a confirmed sign-up, the preferences
page) may. Nor does it overwrite the time zone and sections of a subscriber who set
their own on the preferences page.

An import with statuses (another tool's export) only ever lowers a known address's
status: :func:`digest.audience.statuses.imported_status`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from digest.errors import StoreError
from digest.models import ImportedSubscriber, Subscriber, SubscriberStatus
from digest.store.schema import subscribers, webhook_events
from digest.store.subscriber_rows import (
    _insert_new,
    _merged,
    _new_row,
    decode_topics,
    encode_topics,
    subscriber_from_row,
)
from digest.store.subscriptions import add, choose, subscribe_everyone_new, subscribe_imported

# Statuses whose subscriptions still stand: a sign-up adds to them.
RECEIVING = (SubscriberStatus.ACTIVE, SubscriberStatus.PAUSED, SubscriberStatus.PENDING)

__all__ = ["SubscriberStore", "decode_topics", "encode_topics", "subscriber_from_row"]


@dataclass(frozen=True, slots=True)
class SubscriberRecord:
    """One subscriber as the database keeps them, status included."""

    subscriber: Subscriber
    status: SubscriberStatus
    preferences_set_at: datetime | None = None
    updated_at: datetime | None = None  # the last change of status or choices


@dataclass(frozen=True, slots=True)
class ImportCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: ImportCounts) -> ImportCounts:
        return ImportCounts(
            self.added + other.added,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
        )


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A known subscriber whose status an import changes."""

    email: str
    before: SubscriberStatus
    after: SubscriberStatus
    reason: str


@dataclass(slots=True)
class ImportResult:
    """What an import did (or, dry, would do)."""

    counts: ImportCounts = field(default_factory=ImportCounts)
    statuses: Counter[str] = field(default_factory=Counter)  # resulting status -> rows
    kept: int = 0  # known addresses whose status here stands over the file's
    changes: list[StatusChange] = field(default_factory=list)
    subscriptions: int = 0  # subscription rows added (the editions of each row)


class SubscriberStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def upsert(self, people: Iterable[Subscriber], now: datetime) -> ImportCounts:
        """Add new subscribers and update names, time zones and topics of known ones
        (only the name of one who set their own preferences).

        Works in chunks (one look-up per chunk), so a list of 100,000 imports in
        seconds. Safe beside another process doing the same: a new row goes in with
        INSERT ... ON CONFLICT DO NOTHING, so two imports at once never collide.
        """
        counts = ImportCounts()
        batch: list[Subscriber] = []
        for person in people:
            batch.append(person)
            if len(batch) >= 500:
                counts = counts + self._upsert_chunk(batch, now)
                batch = []
        return counts + self._upsert_chunk(batch, now) if batch else counts

    def _upsert_chunk(self, batch: list[Subscriber], now: datetime) -> ImportCounts:
        by_email = {p.email.lower(): p for p in batch}
        added = updated = unchanged = 0
        with self.engine.begin() as conn:
            known = {
                row.email: row
                for row in conn.execute(
                    select(
                        subscribers.c.email,
                        subscribers.c.name,
                        subscribers.c.timezone,
                        subscribers.c.topics,
                        subscribers.c.preferences_set_at,
                    ).where(subscribers.c.email.in_(list(by_email)))
                )
            }
            new_rows = []
            for email, person in by_email.items():
                values = (person.name, person.timezone, encode_topics(person.topics))
                row = known.get(email)
                if row is None:
                    new_rows.append(_new_row(email, values, now))
                    continue
                if row.preferences_set_at is not None:  # their own choices stay
                    values = (person.name, row.timezone, row.topics)
                if (row.name, row.timezone, row.topics) == values:
                    unchanged += 1
                    continue
                conn.execute(
                    update(subscribers)
                    .where(subscribers.c.email == email)
                    .values(name=values[0], timezone=values[1], topics=values[2], updated_at=now)
                )
                updated += 1
            if new_rows:
                conn.execute(_insert_new(conn.dialect.name), new_rows)
                subscribe_everyone_new(conn, list(by_email), now)
                added = len(new_rows)
        return ImportCounts(added, updated, unchanged)

    def import_records(
        self, records: Iterable[ImportedSubscriber], now: datetime, *, dry_run: bool = False
    ) -> ImportResult:
        """Add new addresses with the status their file gives, and bring what the
        file says to known ones under :func:`imported_status` (a name, time zone or
        sections the file does not give stay as they are). With ``dry_run``, the same
        look-ups and counts, and nothing written. In chunks, like :meth:`upsert`."""
        result = ImportResult()
        batch: list[ImportedSubscriber] = []
        for record in records:
            batch.append(record)
            if len(batch) >= 500:
                self._import_chunk(batch, now, dry_run, result)
                batch = []
        if batch:
            self._import_chunk(batch, now, dry_run, result)
        return result

    def _import_chunk(
        self, batch: list[ImportedSubscriber], now: datetime, dry_run: bool, result: ImportResult
    ) -> None:
        by_email = {r.email.lower(): r for r in batch}
        new_rows: list[dict[str, object]] = []
        updated = unchanged = 0
        with self.engine.begin() as conn:
            columns = (subscribers.c.email, subscribers.c.name, subscribers.c.timezone)
            known = {
                row.email: row
                for row in conn.execute(
                    select(*columns, subscribers.c.topics, subscribers.c.status)
                    .add_columns(subscribers.c.preferences_set_at)
                    .where(subscribers.c.email.in_(list(by_email)))
                )
            }
            for email, record in by_email.items():
                row = known.get(email)
                if row is None:
                    topics = encode_topics(record.topics or ())
                    fresh = (record.name or "", record.timezone or "UTC", topics)
                    reason = record.reason or None
                    new_rows.append(_new_row(email, fresh, now, record.status, reason))
                    result.statuses[record.status.value] += 1
                    continue
                status, values = _merged(row, record)
                result.statuses[status.value] += 1
                result.kept += status != record.status
                if status.value != row.status:
                    change = StatusChange(
                        email, SubscriberStatus(row.status), status, record.reason
                    )
                    result.changes.append(change)
                if not values:
                    unchanged += 1
                    continue
                updated += 1
                if not dry_run:
                    query = update(subscribers).where(subscribers.c.email == email)
                    conn.execute(query.values(**values, updated_at=now))
            if not dry_run:
                if new_rows:
                    conn.execute(_insert_new(conn.dialect.name), new_rows)
                # In this transaction: a send never sees a new subscriber with
                # editions they did not choose, nor does a crash leave one.
                wanted = {email: record.editions for email, record in by_email.items()}
                result.subscriptions += subscribe_imported(conn, wanted, now)
        result.counts = result.counts + ImportCounts(len(new_rows), updated, unchanged)

    def set_status(
        self,
        email: str,
        status: SubscriberStatus,
        reason: str,
        now: datetime,
        *,
        only_from: Collection[SubscriberStatus] | None = None,
    ) -> bool:
        """Change a known subscriber's status (only from a status in ``only_from``,
        when given); False when the address is unknown or in another status."""
        query = update(subscribers).where(subscribers.c.email == email.lower())
        if only_from is not None:
            query = query.where(subscribers.c.status.in_([s.value for s in only_from]))
        with self.engine.begin() as conn:
            result = conn.execute(
                query.values(status=status.value, status_reason=reason, updated_at=now)
            )
        return bool(result.rowcount)

    def get(self, email: str) -> SubscriberRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(subscribers).where(subscribers.c.email == email.lower())
            ).first()
        if row is None:
            return None
        return SubscriberRecord(
            subscriber_from_row(row),
            SubscriberStatus(row.status),
            row.preferences_set_at,
            row.updated_at,
        )

    def set_preferences(
        self, email: str, topics: Iterable[str], timezone: str, paused: bool, now: datetime
    ) -> bool:
        """The subscriber's own choice of sections, time zone and pause, kept from
        now on over CSV imports. Only an active or paused subscriber can set them;
        False otherwise (unknown, unsubscribed, suppressed)."""
        status = SubscriberStatus.PAUSED if paused else SubscriberStatus.ACTIVE
        settable = [SubscriberStatus.ACTIVE.value, SubscriberStatus.PAUSED.value]
        with self.engine.begin() as conn:
            result = conn.execute(
                update(subscribers)
                .where(subscribers.c.email == email.lower(), subscribers.c.status.in_(settable))
                .values(
                    topics=encode_topics(topics),
                    timezone=timezone,
                    status=status.value,
                    status_reason="preferences page",
                    preferences_set_at=now,
                    updated_at=now,
                )
            )
        return bool(result.rowcount)

    def confirm_signup(
        self,
        person: Subscriber,
        now: datetime,
        chosen: Collection[str] = (),
        configured: Sequence[str] = (),
    ) -> bool:
        """A confirmed sign-up to the editions ``chosen`` of those ``configured``
        (every one when none are chosen): add the subscriber, or make a known one
        active again (whatever stopped them: confirming is their own action) with the
        sections they chose. The editions are written in the same transaction, so a
        send never sees the subscriber with editions they did not choose. True when
        the address was new."""
        email = person.email.lower()
        chosen = [e for e in chosen if e in configured] or list(configured)
        values: dict[str, object] = {
            "topics": encode_topics(person.topics),
            "status": SubscriberStatus.ACTIVE.value,
            "status_reason": "confirmed sign-up",
            "preferences_set_at": now,
            "updated_at": now,
        }
        changes = {**values, "name": person.name} if person.name else values
        new_row = {**values, "email": email, "name": person.name, "timezone": person.timezone}
        for _ in range(2):  # a concurrent import may add the address between the two
            with self.engine.begin() as conn:
                known = conn.execute(
                    select(subscribers.c.id, subscribers.c.status).where(
                        subscribers.c.email == email
                    )
                ).first()
                if known is not None:
                    conn.execute(update(subscribers).where(subscribers.c.id == known.id), changes)
                    _confirmed_editions(conn, known, chosen, configured, now)
                    return False
            try:
                with self.engine.begin() as conn:
                    adding = insert(subscribers).values(**new_row, created_at=now)
                    sid = conn.scalar(adding.returning(subscribers.c.id))
                    if configured:
                        choose(conn, int(sid), chosen, configured, now)
                    else:
                        subscribe_everyone_new(conn, [email], now)
            except IntegrityError:
                continue
            return True
        raise StoreError(f"cannot add or update subscriber {email}")

    def status(self, email: str) -> SubscriberStatus | None:
        with self.engine.connect() as conn:
            value = conn.scalar(
                select(subscribers.c.status).where(subscribers.c.email == email.lower())
            )
        return SubscriberStatus(value) if value else None

    def count(self, status: SubscriberStatus | None = SubscriberStatus.ACTIVE) -> int:
        query = select(func.count()).select_from(subscribers)
        if status is not None:
            query = query.where(subscribers.c.status == status.value)
        with self.engine.connect() as conn:
            return int(conn.scalar(query) or 0)

    def topic_choices(self) -> list[tuple[str, ...]]:
        """Every distinct choice of topics among active subscribers."""
        with self.engine.connect() as conn:
            rows = conn.scalars(
                select(subscribers.c.topics)
                .where(subscribers.c.status == SubscriberStatus.ACTIVE.value)
                .distinct()
            )
            return [decode_topics(value) for value in rows]

    def timezones(self) -> list[str]:
        """Every time zone among active subscribers, sorted."""
        with self.engine.connect() as conn:
            rows = conn.scalars(
                select(subscribers.c.timezone)
                .where(subscribers.c.status == SubscriberStatus.ACTIVE.value)
                .distinct()
            )
            return sorted(rows)

    def events_seen(self, event_ids: Collection[str]) -> set[str]:
        """Which of these event ids were recorded."""
        with self.engine.connect() as conn:
            found = conn.scalars(
                select(webhook_events.c.event_id).where(
                    webhook_events.c.event_id.in_(list(event_ids))
                )
            )
            return set(found)

    def record_event(self, event_id: str, kind: str, email: str, now: datetime) -> bool:
        """Remember a webhook event; False when it was seen before (SendGrid repeats)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(webhook_events).values(
                        event_id=event_id, kind=kind, email=email.lower(), received_at=now
                    )
                )
        except IntegrityError:
            return False
        return True


def _confirmed_editions(
    conn: Connection, known: Any, chosen: Sequence[str], configured: Sequence[str], now: datetime
) -> None:
    """The editions of a known subscriber who confirms a sign-up to ``chosen``: one
    still subscribed gains them; one who had stopped (unsubscribed, bounced ...) gets
    exactly them, as a new subscriber would, never what they had before."""
    if not configured:
        return
    stopped = known.status not in {s.value for s in RECEIVING}
    if stopped or set(chosen) == set(configured):
        choose(conn, known.id, chosen, configured, now)
    else:
        add(conn, known.id, chosen, now)
