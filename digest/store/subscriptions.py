"""Subscriptions: which editions (newsletters) each subscriber gets.

One row per subscriber and edition with its own status (``active`` or
``unsubscribed``) and dates. The edition ``*`` is every edition, present and future;
a row for a named edition overrides it, so unsubscribing from one newsletter of a
subscriber of everything is one ``unsubscribed`` row beside their ``*``. A subscriber
gets an edition when their own status is active (bounces, complaints and erasures
stay global) and :func:`receives` holds.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from digest.models import SubscriberStatus
from digest.store.schema import subscribers, subscriptions

EVERY = "*"
ACTIVE, UNSUBSCRIBED = "active", "unsubscribed"


def receives(edition: str | ColumnElement[str]) -> ColumnElement[bool]:
    """SQL: the subscriber of the current ``subscribers`` row is subscribed to
    ``edition`` (an active row for it, or an active ``*`` and no row for it)."""
    own = subscriptions.c.subscriber_id == subscribers.c.id
    named = and_(own, subscriptions.c.edition == edition)
    return or_(
        exists().where(named, subscriptions.c.status == ACTIVE),
        and_(
            exists().where(own, subscriptions.c.edition == EVERY, subscriptions.c.status == ACTIVE),
            ~exists().where(named),
        ),
    )


def subscribe_everyone_new(conn: Connection, emails: Sequence[str], now: datetime) -> None:
    """Every edition (``*``) for those of ``emails`` who have no subscription yet: a new
    subscriber of an import or sign-up gets every edition unless told otherwise."""
    none_yet = ~exists().where(subscriptions.c.subscriber_id == subscribers.c.id)
    source = select(
        subscribers.c.id,
        literal(EVERY),
        literal(ACTIVE),
        literal(now, type_=subscriptions.c.created_at.type),
        literal(now, type_=subscriptions.c.updated_at.type),
    ).where(subscribers.c.email.in_(list(emails)), none_yet)
    columns = ["subscriber_id", "edition", "status", "created_at", "updated_at"]
    conn.execute(insert(subscriptions).from_select(columns, source))


def choose(
    conn: Connection, sid: int, chosen: Collection[str], configured: Sequence[str], now: datetime
) -> None:
    """A subscriber's own choice of editions (the preferences page, a sign-up), in
    the caller's transaction: every configured one is ``*``; otherwise a row per
    configured edition."""
    conn.execute(delete(subscriptions).where(subscriptions.c.subscriber_id == sid))
    if set(configured) <= set(chosen):
        _put(conn, sid, EVERY, ACTIVE, now)
    else:
        for edition in configured:
            _put(conn, sid, edition, ACTIVE if edition in chosen else UNSUBSCRIBED, now)


def add(conn: Connection, sid: int, editions: Collection[str], now: datetime) -> None:
    """A confirmed sign-up of a known subscriber to ``editions``, in the caller's
    transaction: those become active, the rest stay."""
    for edition in editions:
        _put(conn, sid, edition, ACTIVE, now)


def subscribe_imported(
    conn: Connection, wanted: dict[str, tuple[str, ...] | None], now: datetime
) -> int:
    """The editions an import gives (address -> edition names, ``("*",)`` every one,
    None unsaid), in the transaction that wrote the subscribers, so a send never sees
    a new subscriber with editions they did not choose. One without any subscription
    (new) gets exactly those, every edition when unsaid; a known one gains the named
    editions it has no row for (an unsubscribe stands; ``*`` covers all). The number
    of rows added."""
    found: dict[str, tuple[int, dict[str, str]]] = {}
    query = (
        select(subscribers.c.email, subscribers.c.id, subscriptions.c.edition)
        .add_columns(subscriptions.c.status)
        .outerjoin(subscriptions, subscriptions.c.subscriber_id == subscribers.c.id)
        .where(subscribers.c.email.in_(list(wanted)))
    )
    for row in conn.execute(query):
        rows = found.setdefault(row.email, (int(row.id), {}))[1]
        if row.edition is not None:
            rows[row.edition] = row.status
    every_new = [e for e, (_, rows) in found.items() if not rows and wanted[e] in (None, (EVERY,))]
    subscribe_everyone_new(conn, every_new, now)
    values: list[dict[str, Any]] = []
    for email, (sid, rows) in found.items():
        editions = wanted[email]
        if email in every_new or editions is None:
            continue
        if rows.get(EVERY) == ACTIVE and EVERY not in editions:
            continue  # every edition already
        values.extend(
            {"subscriber_id": sid, "edition": e, "status": ACTIVE}
            | {"created_at": now, "updated_at": now}
            for e in editions
            if e not in rows
        )
    if values:
        conn.execute(insert(subscriptions), values)
    return len(every_new) + len(values)


def subscribed_editions(rows: dict[str, str], configured: Iterable[str]) -> list[str]:
    """The configured editions that a subscriber's ``rows`` (edition -> status) give."""
    every = rows.get(EVERY) == ACTIVE
    return [e for e in configured if rows.get(e, ACTIVE if every else None) == ACTIVE]


class SubscriptionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def of(self, email: str) -> dict[str, str]:
        """The subscriber's rows: edition (or ``*``) -> status; empty when unknown."""
        query = (
            select(subscriptions.c.edition, subscriptions.c.status)
            .join(subscribers, subscribers.c.id == subscriptions.c.subscriber_id)
            .where(subscribers.c.email == email.lower())
        )
        with self.engine.connect() as conn:
            return {row.edition: row.status for row in conn.execute(query)}

    def of_many(self, emails: Collection[str]) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {}
        query = (
            select(subscribers.c.email, subscriptions.c.edition, subscriptions.c.status)
            .join(subscribers, subscribers.c.id == subscriptions.c.subscriber_id)
            .where(subscribers.c.email.in_(list(emails)))
        )
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                found.setdefault(row.email, {})[row.edition] = row.status
        return found

    def _id(self, conn: Connection, email: str) -> int | None:
        value = conn.scalar(select(subscribers.c.id).where(subscribers.c.email == email.lower()))
        return int(value) if value is not None else None

    def set(self, email: str, edition: str, status: str, now: datetime) -> bool:
        """One row of a known subscriber; False when the address is unknown."""
        with self.engine.begin() as conn:
            sid = self._id(conn, email)
            if sid is None:
                return False
            _put(conn, sid, edition, status, now)
        return True

    def choose(
        self, email: str, chosen: Collection[str], configured: Sequence[str], now: datetime
    ) -> bool:
        """The subscriber's own choice of editions (the preferences page): see
        :func:`choose`."""
        with self.engine.begin() as conn:
            sid = self._id(conn, email)
            if sid is None:
                return False
            choose(conn, sid, chosen, configured, now)
        return True

    def counts(self, configured: Sequence[str]) -> dict[str, int]:
        """Active subscribers of each configured edition."""
        found: dict[str, int] = {}
        with self.engine.connect() as conn:
            for edition in configured:
                query = (
                    select(func.count())
                    .select_from(subscribers)
                    .where(subscribers.c.status == SubscriberStatus.ACTIVE.value)
                    .where(receives(edition))
                )
                found[edition] = int(conn.scalar(query) or 0)
        return found


def _put(conn: Connection, sid: int, edition: str, status: str, now: datetime) -> None:
    where = and_(subscriptions.c.subscriber_id == sid, subscriptions.c.edition == edition)
    values: dict[str, Any] = {"status": status, "updated_at": now}
    if conn.execute(update(subscriptions).where(where).values(**values)).rowcount:
        return
    conn.execute(
        insert(subscriptions).values(subscriber_id=sid, edition=edition, created_at=now, **values)
    )
