"""Run history and leases.

A lease is a row naming its holder and an expiry: whoever holds an unexpired lease
may act (run the scheduler, send an edition); others wait. Taking one is a single
conditional UPDATE or an INSERT that the primary key lets only one process win, so
it works the same on SQLite and PostgreSQL. A holder that dies stops renewing and
its lease lapses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from digest.models import RunReport
from digest.store.health import FAILURE_STREAK_ALERT
from digest.store.schema import leases, runs


@dataclass(frozen=True, slots=True)
class RunRecord:
    id: int
    kind: str
    edition: str | None
    period: str | None
    started_at: datetime
    finished_at: datetime | None
    status: str
    summary: dict[str, Any]
    error: str | None


class RunLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(self, kind: str, edition: str | None, period: str | None, now: datetime) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(runs).values(
                    kind=kind, edition=edition, period=period, started_at=now, status="running"
                )
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def finish(
        self,
        run_id: int,
        status: str,
        now: datetime,
        *,
        summary: dict[str, Any] | None = None,
        error: str | None = None,
        period: str | None = None,
    ) -> None:
        values: dict[str, Any] = {
            "status": status,
            "finished_at": now,
            "summary": json.dumps(summary or {}),
            "error": error,
        }
        if period is not None:
            values["period"] = period
        with self.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.id == run_id).values(**values))

    def recent(self, limit: int = 20, edition: str | None = None) -> list[RunRecord]:
        query = select(runs).order_by(runs.c.started_at.desc(), runs.c.id.desc()).limit(limit)
        if edition is not None:
            query = query.where(runs.c.edition == edition)
        with self.engine.connect() as conn:
            return [_record(row) for row in conn.execute(query)]

    def first_start(self) -> datetime | None:
        """When this installation first ran anything."""
        with self.engine.connect() as conn:
            value = conn.scalar(select(runs.c.started_at).order_by(runs.c.started_at).limit(1))
        return value if isinstance(value, datetime) else None

    def was_held(self, edition: str, period: str) -> bool:
        """Whether a run of this edition and period was held for approval."""
        query = select(runs.c.id).where(
            runs.c.edition == edition, runs.c.period == period, runs.c.status == "held"
        )
        with self.engine.connect() as conn:
            return conn.execute(query.limit(1)).first() is not None

    def last_success(self, edition: str) -> RunRecord | None:
        query = (
            select(runs)
            .where(
                runs.c.edition == edition,
                runs.c.status.in_(["ok", "partial"]),
                runs.c.kind == "run",
            )
            .order_by(runs.c.started_at.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return _record(row) if row else None


def _record(row: Any) -> RunRecord:
    return RunRecord(
        id=row.id,
        kind=row.kind,
        edition=row.edition,
        period=row.period,
        started_at=row.started_at,
        finished_at=row.finished_at,
        status=row.status,
        summary=json.loads(row.summary) if row.summary else {},
        error=row.error,
    )


class Leases:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def acquire(self, name: str, holder: str, ttl: timedelta, now: datetime) -> bool:
        """Take or renew ``name`` for ``holder`` until ``now + ttl``; False when another
        holder's lease has not expired."""
        expires = now + ttl
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(leases)
                .where(
                    leases.c.name == name,
                    or_(leases.c.holder == holder, leases.c.expires_at < now),
                )
                .values(holder=holder, expires_at=expires)
            )
            if taken.rowcount:
                return True
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(leases).values(name=name, holder=holder, expires_at=expires))
        except IntegrityError:
            return False  # someone else holds it (or just took it)
        return True

    def release(self, name: str, holder: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(leases).where(and_(leases.c.name == name, leases.c.holder == holder))
            )

    def holder(self, name: str, now: datetime) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(leases.c.holder).where(leases.c.name == name, leases.c.expires_at >= now)
            ).first()
        return str(row.holder) if row else None


def run_summary(report: RunReport) -> dict[str, object]:
    """What the run history keeps of a run's report."""
    return {
        "sources_ok": sum(1 for s in report.sources if s.ok),
        "sources_failed": sum(1 for s in report.sources if not s.ok),
        "sources_failing_in_a_row": sum(
            1 for s in report.sources if s.failure_streak >= FAILURE_STREAK_ALERT
        ),
        "articles": report.articles,
        "stories": report.stories,
        "delivered": report.delivered,
        "already_delivered": report.already_delivered,
        "not_delivered": report.failed_deliveries,
        "ambiguous": report.ambiguous_deliveries,
    }
