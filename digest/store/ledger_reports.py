"""What the delivery ledger says, for reports and monitoring: what is unfinished or
missing, counts by state (of one edition or several at once, for the desk's list),
who left since, the deliveries to one address, and every row."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine, and_, exists, func, or_, select

from digest.models import Delivery, DeliveryState, SubscriberStatus
from digest.store.schema import deliveries, editions, subscribers

P, S = DeliveryState.PENDING.value, DeliveryState.SENDING.value


class LedgerReports:
    """The ledger's read-only queries (``Ledger`` adds the writes)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def unfinished(self, edition_id: int, max_attempts: int) -> int:
        """Rows that may still go out: pending or in flight, or failed below the cap."""
        query = select(func.count()).where(
            deliveries.c.edition_id == edition_id,
            or_(
                deliveries.c.state.in_([P, S]),
                and_(
                    deliveries.c.state == DeliveryState.FAILED.value,
                    deliveries.c.attempts < max_attempts,
                ),
            ),
        )
        with self.engine.connect() as conn:
            return int(conn.scalar(query) or 0)

    def missing(self, edition_id: int, timezone: str | None = None) -> int:
        """Active subscribers (of ``timezone``) with no row for this edition yet."""
        query = select(func.count()).where(
            subscribers.c.status == SubscriberStatus.ACTIVE.value,
            ~exists().where(
                and_(
                    deliveries.c.edition_id == edition_id,
                    deliveries.c.email == subscribers.c.email,
                )
            ),
        )
        if timezone is not None:
            query = query.where(subscribers.c.timezone == timezone)
        with self.engine.connect() as conn:
            return int(conn.scalar(query) or 0)

    def counts(self, edition_id: int) -> dict[str, int]:
        return self.counts_of([edition_id]).get(edition_id, {})

    def counts_of(self, edition_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        """Counts by state of several editions in one query (the desk's list)."""
        found: dict[int, dict[str, int]] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(deliveries.c.edition_id, deliveries.c.state, func.count())
                .where(deliveries.c.edition_id.in_(list(edition_ids)))
                .group_by(deliveries.c.edition_id, deliveries.c.state)
            )
            for edition_id, state, n in rows:
                found.setdefault(int(edition_id), {})[state] = int(n)
        return found

    def suppressed_since(self, edition_id: int) -> dict[str, int]:
        """Of the subscribers this edition reached, how many have since bounced,
        complained or unsubscribed (their status changed after their delivery)."""
        query = (
            select(subscribers.c.status, func.count())
            .join(deliveries, deliveries.c.email == subscribers.c.email)
            .where(
                deliveries.c.edition_id == edition_id,
                deliveries.c.state == DeliveryState.ACCEPTED.value,
                subscribers.c.status != "active",
                subscribers.c.updated_at >= deliveries.c.updated_at,
            )
            .group_by(subscribers.c.status)
        )
        with self.engine.connect() as conn:
            return {status: int(n) for status, n in conn.execute(query)}

    def rows(self, edition_id: int) -> list[Delivery]:
        with self.engine.connect() as conn:
            edition = conn.execute(
                select(editions.c.name, editions.c.period).where(editions.c.id == edition_id)
            ).first()
            key = f"{edition.name}/{edition.period}" if edition else str(edition_id)
            return [
                Delivery(
                    edition_key=key,
                    email=row.email,
                    state=DeliveryState(row.state),
                    attempts=row.attempts,
                    message_id=row.message_id,
                    error=row.error,
                )
                for row in conn.execute(
                    select(deliveries)
                    .where(deliveries.c.edition_id == edition_id)
                    .order_by(deliveries.c.id)
                )
            ]

    def deliveries_to(self, email: str, limit: int = 50) -> list[tuple[str, str]]:
        """(edition key, state) of the latest deliveries to ``email``, newest first
        (a bounce or complaint is matched back to one of them)."""
        query = (
            select(editions.c.name, editions.c.period, deliveries.c.state)
            .join(editions, editions.c.id == deliveries.c.edition_id)
            .where(deliveries.c.email == email.lower())
            .order_by(deliveries.c.edition_id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [(f"{r.name}/{r.period}", r.state) for r in conn.execute(query)]
