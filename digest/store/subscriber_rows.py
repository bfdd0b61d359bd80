"""Rows of the subscribers table: how a subscriber is written and read, and how an
import merges with a known row (``store.subscribers`` uses them)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from digest.audience.statuses import imported_status
from digest.models import ImportedSubscriber, Subscriber, SubscriberStatus
from digest.store.schema import subscribers


def _merged(row: Any, record: ImportedSubscriber) -> tuple[SubscriberStatus, dict[str, object]]:
    """The status a known subscriber ends with (:func:`imported_status`), and the
    columns that change. What the file does not say stays; so do the sections and
    time zone they chose."""
    here = SubscriberStatus(row.status)
    own = row.preferences_set_at is not None
    status = imported_status(
        here,
        record.status,
        own_choice=row.preferences_set_at,
        unsubscribed_at=record.unsubscribed_at,
    )
    name = row.name if record.name is None else record.name
    timezone = row.timezone if own or record.timezone is None else record.timezone
    topics = row.topics if own or record.topics is None else encode_topics(record.topics)
    values: dict[str, object] = {}
    if (name, timezone, topics) != (row.name, row.timezone, row.topics):
        values.update(name=name, timezone=timezone, topics=topics)
    if status != here:
        values.update(status=status.value, status_reason=record.reason or "import")
    return status, values


def encode_topics(topics: Iterable[str]) -> str:
    """Section names as the topics column keeps them: ';'-separated."""
    return ";".join(topics)


def decode_topics(value: str) -> tuple[str, ...]:
    return tuple(t for t in value.split(";") if t)


def subscriber_from_row(row: Any) -> Subscriber:
    """A subscriber from a row of the subscribers table (or a join holding its columns)."""
    return Subscriber(
        email=row.email, name=row.name, timezone=row.timezone, topics=decode_topics(row.topics)
    )


def _new_row(
    email: str,
    values: tuple[str, str, str],
    now: datetime,
    status: SubscriberStatus = SubscriberStatus.ACTIVE,
    reason: str | None = None,
) -> dict[str, object]:
    name, timezone, topics = values
    return {
        "email": email,
        "name": name,
        "timezone": timezone,
        "topics": topics,
        "status": status.value,
        "status_reason": reason,
        "created_at": now,
        "updated_at": now,
    }


def _insert_new(dialect: str) -> Any:
    """INSERT that leaves a row another process added meanwhile as it is."""
    if dialect == "postgresql":
        return postgresql_insert(subscribers).on_conflict_do_nothing(index_elements=["email"])
    if dialect == "sqlite":
        return sqlite_insert(subscribers).on_conflict_do_nothing(index_elements=["email"])
    return insert(subscribers)
