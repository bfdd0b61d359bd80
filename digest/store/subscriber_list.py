"""Listing subscribers (the CLI's ``list`` and ``export``, the desk's pages): filters
by edition, status and text, and keyset paging by id, so the page after the
thousandth is as fast as the first at 100,000 subscribers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, func, or_, select

from digest.store.schema import subscribers, subscriptions
from digest.store.subscriptions import ACTIVE, EVERY, receives, subscribed_editions

PAGE = 50


@dataclass(frozen=True, slots=True)
class Listed:
    id: int
    email: str
    name: str
    timezone: str
    topics: str
    status: str
    created_at: datetime
    updated_at: datetime
    rows: dict[str, str]  # subscriptions: edition (or "*") -> status


@dataclass(frozen=True, slots=True)
class Filters:
    edition: str | None = None
    status: str | None = None
    search: str | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.edition:
            query = query.where(receives(self.edition))
        if self.status:
            query = query.where(subscribers.c.status == self.status)
        if self.search:
            text = self.search.strip().lower()[:320]
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            pattern = f"%{escaped}%"
            query = query.where(
                or_(
                    subscribers.c.email.like(pattern, escape="\\"),
                    func.lower(subscribers.c.name).like(pattern, escape="\\"),
                )
            )
        return query


class SubscriberList:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def page(self, filters: Filters, after_id: int = 0, limit: int = PAGE) -> list[Listed]:
        """Up to ``limit`` subscribers after id ``after_id``, by id."""
        query = filters.apply(select(subscribers)).where(subscribers.c.id > after_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(subscribers.c.id).limit(limit)).all()
            ids = [row.id for row in rows]
            subs: dict[int, dict[str, str]] = {}
            if ids:
                found = conn.execute(
                    select(subscriptions).where(subscriptions.c.subscriber_id.in_(ids))
                )
                for sub in found:
                    subs.setdefault(sub.subscriber_id, {})[sub.edition] = sub.status
        return [
            Listed(
                r.id,
                r.email,
                r.name,
                r.timezone,
                r.topics,
                r.status,
                r.created_at,
                r.updated_at,
                subs.get(r.id, {}),
            )
            for r in rows
        ]

    def every(self, filters: Filters, chunk: int = 1000) -> Iterator[Listed]:
        """Every matching subscriber, a page at a time."""
        after = 0
        while True:
            page = self.page(filters, after, chunk)
            yield from page
            if len(page) < chunk:
                return
            after = page[-1].id

    def count(self, filters: Filters) -> int:
        query = filters.apply(select(func.count()).select_from(subscribers))
        with self.engine.connect() as conn:
            return int(conn.scalar(query) or 0)

    def by_status(self) -> dict[str, int]:
        query = select(subscribers.c.status, func.count()).group_by(subscribers.c.status)
        with self.engine.connect() as conn:
            return {row[0]: int(row[1]) for row in conn.execute(query)}


def editions_cell(rows: dict[str, str], configured: Sequence[str]) -> str:
    """The ``editions`` column of an export: ``*`` for every edition (it round-trips
    as such), else the editions the subscriber gets, ``;``-separated."""
    if rows == {EVERY: ACTIVE}:
        return EVERY
    return ";".join(subscribed_editions(rows, configured))


@dataclass(frozen=True, slots=True)
class Detail:
    """One subscriber as the desk's page shows them."""

    listed: Listed
    deliveries: list[tuple[str, str, str, datetime]]  # edition key, state, error, when
    events: list[tuple[str, datetime]]  # webhook event kind, when


def detail(engine: Engine, subscriber_id: int, recent: int = 10) -> Detail | None:
    from digest.store.schema import deliveries, editions, webhook_events

    with engine.connect() as conn:
        row = conn.execute(select(subscribers).where(subscribers.c.id == subscriber_id)).first()
        if row is None:
            return None
        subs = {
            s.edition: s.status
            for s in conn.execute(
                select(subscriptions).where(subscriptions.c.subscriber_id == subscriber_id)
            )
        }
        sent = conn.execute(
            select(editions.c.name, editions.c.period, deliveries.c.state, deliveries.c.error)
            .add_columns(deliveries.c.updated_at)
            .join(editions, editions.c.id == deliveries.c.edition_id)
            .where(deliveries.c.email == row.email)
            .order_by(deliveries.c.updated_at.desc())
            .limit(recent)
        ).all()
        events = conn.execute(
            select(webhook_events.c.kind, webhook_events.c.received_at)
            .where(webhook_events.c.email == row.email)
            .order_by(webhook_events.c.received_at.desc())
            .limit(recent)
        ).all()
    listed = Listed(
        row.id,
        row.email,
        row.name,
        row.timezone,
        row.topics,
        row.status,
        row.created_at,
        row.updated_at,
        subs,
    )
    return Detail(
        listed,
        [(f"{s.name}/{s.period}", s.state, s.error or "", s.updated_at) for s in sent],
        [(e.kind, e.received_at) for e in events],
    )
