"""The subscriber list in the database: imported from CSV, suppressed by events.

Importing never re-activates a subscriber who unsubscribed, bounced or complained:
only that subscriber's own action (a new sign-up, issue 9) may.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from digest.models import Subscriber, SubscriberStatus
from digest.store.schema import subscribers, webhook_events


@dataclass(frozen=True, slots=True)
class ImportCounts:
    added: int = 0
    updated: int = 0
    unchanged: int = 0


class SubscriberStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def upsert(self, people: Iterable[Subscriber], now: datetime) -> ImportCounts:
        """Add new subscribers and update names, time zones and topics of known ones.

        Works in chunks (one look-up per chunk), so a list of 100,000 imports in seconds.
        """
        added = updated = unchanged = 0
        batch: list[Subscriber] = []

        def flush() -> None:
            nonlocal added, updated, unchanged
            by_email = {p.email.lower(): p for p in batch}
            with self.engine.begin() as conn:
                known = {
                    row.email: (row.name, row.timezone, row.topics)
                    for row in conn.execute(
                        select(
                            subscribers.c.email,
                            subscribers.c.name,
                            subscribers.c.timezone,
                            subscribers.c.topics,
                        ).where(subscribers.c.email.in_(list(by_email)))
                    )
                }
                new_rows = []
                for email, person in by_email.items():
                    values = (person.name, person.timezone, ";".join(person.topics))
                    if email not in known:
                        new_rows.append(
                            {
                                "email": email,
                                "name": values[0],
                                "timezone": values[1],
                                "topics": values[2],
                                "status": SubscriberStatus.ACTIVE.value,
                                "created_at": now,
                                "updated_at": now,
                            }
                        )
                    elif known[email] != values:
                        conn.execute(
                            update(subscribers)
                            .where(subscribers.c.email == email)
                            .values(
                                name=values[0], timezone=values[1], topics=values[2], updated_at=now
                            )
                        )
                        updated += 1
                    else:
                        unchanged += 1
                if new_rows:
                    conn.execute(insert(subscribers), new_rows)
                    added += len(new_rows)
            batch.clear()

        for person in people:
            batch.append(person)
            if len(batch) >= 500:
                flush()
        if batch:
            flush()
        return ImportCounts(added, updated, unchanged)

    def set_status(self, email: str, status: SubscriberStatus, reason: str, now: datetime) -> bool:
        """Change a known subscriber's status; False when the address is unknown."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(subscribers)
                .where(subscribers.c.email == email.lower())
                .values(status=status.value, status_reason=reason, updated_at=now)
            )
        return bool(result.rowcount)

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
            return [tuple(t for t in value.split(";") if t) for value in rows]

    def timezones(self) -> list[str]:
        """Every time zone among active subscribers, sorted."""
        with self.engine.connect() as conn:
            rows = conn.scalars(
                select(subscribers.c.timezone)
                .where(subscribers.c.status == SubscriberStatus.ACTIVE.value)
                .distinct()
            )
            return sorted(rows)

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
