"""Run history: every collection, edition run and send, with its outcome, and the
process that ran it (its lease holder), so a run whose process died mid-way can be
closed as ``interrupted``."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from digest.models import RunReport
from digest.store.health import FAILURE_STREAK_ALERT
from digest.store.schema import runs


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
    timezone: str | None = None
    holder: str | None = None


# The kinds of run that deliver an edition (a scheduled or manual run, a catch-up, a send).
EDITION_KINDS = ("run", "catch-up", "send")


class RunLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(
        self,
        kind: str,
        edition: str | None,
        period: str | None,
        now: datetime,
        timezone: str | None = None,
        *,
        holder: str | None = None,
    ) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(runs).values(
                    kind=kind,
                    edition=edition,
                    period=period,
                    timezone=timezone,
                    started_at=now,
                    status="running",
                    holder=holder,
                )
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def started_since(
        self, edition: str, timezone: str | None, since: datetime, *, any_group: bool = False
    ) -> bool:
        """Whether a run of the edition (of that delivery group, or of any with
        ``any_group``) started at or after ``since``: its job fired, whatever became
        of the run."""
        query = select(runs.c.id).where(
            runs.c.edition == edition,
            runs.c.kind.in_(EDITION_KINDS),
            runs.c.started_at >= since,
        )
        if not any_group:
            group = runs.c.timezone.is_(None) if timezone is None else runs.c.timezone == timezone
            query = query.where(group)
        with self.engine.connect() as conn:
            return conn.execute(query.limit(1)).first() is not None

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

    def recorded(self, edition: str, period: str, timezone: str | None, status: str) -> bool:
        """Whether a run of this edition, period and delivery group ended ``status``."""
        group = runs.c.timezone.is_(None) if timezone is None else runs.c.timezone == timezone
        query = select(runs.c.id).where(
            runs.c.edition == edition, runs.c.period == period, group, runs.c.status == status
        )
        with self.engine.connect() as conn:
            return conn.execute(query.limit(1)).first() is not None

    def running(self) -> list[RunRecord]:
        """Runs not finished: going on, or left so by a process that died."""
        query = select(runs).where(runs.c.status == "running").order_by(runs.c.id)
        with self.engine.connect() as conn:
            return [_record(row) for row in conn.execute(query)]

    def interrupt(self, dead: Callable[[RunRecord], bool], now: datetime) -> list[RunRecord]:
        """Close as ``interrupted`` the running runs whose process ``dead`` says is gone
        (a kill -9, a lost node): they will never finish by themselves."""
        closed = []
        for record in self.running():
            if not dead(record):
                continue
            with self.engine.begin() as conn:
                done = conn.execute(
                    update(runs)
                    .where(runs.c.id == record.id, runs.c.status == "running")
                    .values(
                        status="interrupted",
                        finished_at=now,
                        error=f"its process ({record.holder}) stopped before it finished",
                    )
                )
            if done.rowcount:
                closed.append(record)
        return closed

    def last_success(self, edition: str) -> RunRecord | None:
        """The latest run of the edition that delivered (whole or in part): a run, a
        catch-up or a send."""
        query = (
            select(runs)
            .where(
                runs.c.edition == edition,
                runs.c.status.in_(["ok", "partial"]),
                runs.c.kind.in_(EDITION_KINDS),
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
        timezone=row.timezone,
        holder=row.holder,
    )


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
