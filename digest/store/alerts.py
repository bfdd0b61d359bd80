"""Alerts in the database: one row per problem, so that every process (and every
restart) notifies once per problem, and says once when it is resolved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from digest.store.schema import alerts


@dataclass(frozen=True, slots=True)
class Alert:
    key: str
    kind: str
    message: str
    opened_at: datetime


class AlertLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open(self, key: str, kind: str, message: str, now: datetime) -> Alert | None:
        """Record the problem; the alert to notify when it is new (or back after it
        was resolved), None when it is already open."""
        with self.engine.begin() as conn:
            reopened = conn.execute(
                update(alerts)
                .where(alerts.c.key == key, alerts.c.resolved_at.is_not(None))
                .values(kind=kind, message=message, opened_at=now, resolved_at=None)
            )
            if reopened.rowcount:
                return Alert(key, kind, message, now)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(alerts).values(key=key, kind=kind, message=message, opened_at=now)
                )
        except IntegrityError:
            return None  # open already (maybe opened by another process just now)
        return Alert(key, kind, message, now)

    def notified(self, key: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(alerts).where(alerts.c.key == key).values(notified_at=now))

    def open_keys(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.scalars(select(alerts.c.key).where(alerts.c.resolved_at.is_(None))))

    def resolve(self, key: str, now: datetime) -> bool:
        """Close an open alert; False when it was not open."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(alerts)
                .where(alerts.c.key == key, alerts.c.resolved_at.is_(None))
                .values(resolved_at=now)
            )
        return bool(done.rowcount)
