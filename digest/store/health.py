"""Source health: every fetch of every source, and what to send for a conditional GET.

A fetch is ``ok`` (documents came), ``not_modified`` (HTTP 304: nothing new, nothing
parsed) or ``failed``. A source's failure streak is the number of failed fetches since
its last fetch that was not a failure: with one fetch per source per collection, the
runs in a row it has failed.

An ``ok`` fetch also keeps what became of the items the source listed
(:class:`digest.models.ItemCounts`: ``items = stored + known + skipped``, the skipped
ones by reason); ``seen_items`` and ``new_items`` are its ``items`` and ``stored``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    delete,
    func,
    insert,
    select,
    update,
)

from digest.models import ItemCounts
from digest.sources.source import Validators
from digest.store.schema import fetches, source_state

FetchStatus = Literal["ok", "not_modified", "failed"]

# A source failing this many runs in a row is flagged in the run summary.
FAILURE_STREAK_ALERT = 3
# Fetch records older than this are deleted as new ones come in.
FETCH_HISTORY = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class FetchRecord:
    source: str
    started_at: datetime
    duration_ms: int
    status: FetchStatus
    new_items: int = 0
    seen_items: int = 0
    error: str | None = None
    known_items: int = 0
    skipped_items: int = 0
    skip_reasons: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def read(
        cls, source: str, started_at: datetime, duration_ms: int, counts: ItemCounts
    ) -> FetchRecord:
        """An ``ok`` fetch and what became of its items."""
        return cls(
            source,
            started_at,
            duration_ms,
            "ok",
            new_items=counts.stored,
            seen_items=counts.items,
            known_items=counts.known,
            skipped_items=counts.skipped,
            skip_reasons=dict(counts.reasons),
        )

    @property
    def counts(self) -> ItemCounts:
        return ItemCounts(
            items=self.seen_items,
            stored=self.new_items,
            known=self.known_items,
            skipped=self.skipped_items,
            reasons=self.skip_reasons,
        )


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """One source's record, for ``digest sources status``."""

    source: str
    last_status: str | None = None
    last_fetch: datetime | None = None
    last_success: datetime | None = None
    last_failure: datetime | None = None
    failure_streak: int = 0
    last_error: str | None = None
    fetches: int = 0
    last_counts: ItemCounts | None = None  # of the last fetch that read the items (ok)

    @property
    def flagged(self) -> bool:
        return self.failure_streak >= FAILURE_STREAK_ALERT


def describe_counts(counts: ItemCounts) -> str:
    """The counts in a line, "69 items: 60 stored, 9 known, 0 skipped": known only
    when some are, and the skipped ones' reasons after them (the CLI's tables and the
    desk's sources page)."""
    parts = [f"{counts.stored} stored", *([f"{counts.known} known"] if counts.known else [])]
    parts.append(f"{counts.skipped} skipped")
    why = ", ".join(f"{reason}: {n}" for reason, n in sorted(counts.reasons.items()))
    noun = "item" if counts.items == 1 else "items"
    return f"{counts.items} {noun}: {', '.join(parts)}" + (f" ({why})" if why else "")


class HealthLog:
    """The ``fetches`` and ``source_state`` tables. Each method is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- conditional GET -----------------------------------------------------------

    def validators(self) -> dict[str, Validators]:
        """The validators of every source's last full answer, by source name."""
        with self.engine.connect() as conn:
            return {
                row.source: Validators(row.url, row.etag, row.last_modified)
                for row in conn.execute(select(source_state))
            }

    def save_validators(self, source: str, validators: Validators | None, now: datetime) -> None:
        """Remember ``validators`` for ``source``; None forgets what was there (the
        server stopped sending them, or the answer could not be used)."""
        with self.engine.begin() as conn:
            if validators is None:
                conn.execute(delete(source_state).where(source_state.c.source == source))
                return
            values = {
                "url": validators.url,
                "etag": validators.etag,
                "last_modified": validators.last_modified,
                "updated_at": now,
            }
            changed = conn.execute(
                update(source_state).where(source_state.c.source == source).values(**values)
            )
            if not changed.rowcount:
                conn.execute(insert(source_state).values(source=source, **values))

    # -- fetches -----------------------------------------------------------------

    def record(self, fetch: FetchRecord) -> int:
        """Store one fetch; return the source's failure streak, this fetch included."""
        with self.engine.begin() as conn:
            conn.execute(
                insert(fetches).values(
                    source=fetch.source,
                    started_at=fetch.started_at,
                    duration_ms=fetch.duration_ms,
                    status=fetch.status,
                    new_items=fetch.new_items,
                    seen_items=fetch.seen_items,
                    known_items=fetch.known_items,
                    skipped_items=fetch.skipped_items,
                    skip_reasons=json.dumps(dict(fetch.skip_reasons), sort_keys=True)
                    if fetch.skip_reasons
                    else None,
                    error=fetch.error,
                )
            )
            conn.execute(
                delete(fetches).where(
                    fetches.c.source == fetch.source,
                    fetches.c.started_at < fetch.started_at - FETCH_HISTORY,
                )
            )
            return self._streaks(conn, [fetch.source]).get(fetch.source, 0)

    def status(self, sources: Iterable[str]) -> list[SourceHealth]:
        """The health of each named source, in the order given."""
        names = list(dict.fromkeys(sources))
        if not names:
            return []
        mine = fetches.c.source.in_(names)

        def latest_ids(*conditions: ColumnElement[bool]) -> Select[tuple[int]]:
            return (
                select(func.max(fetches.c.id)).where(mine, *conditions).group_by(fetches.c.source)
            )

        with self.engine.connect() as conn:
            last = {
                r.source: r
                for r in conn.execute(select(fetches).where(fetches.c.id.in_(latest_ids())))
            }
            good = {
                r.source: r
                for r in conn.execute(
                    select(fetches).where(
                        fetches.c.id.in_(latest_ids(fetches.c.status != "failed"))
                    )
                )
            }
            bad = {
                r.source: r
                for r in conn.execute(
                    select(fetches).where(
                        fetches.c.id.in_(latest_ids(fetches.c.status == "failed"))
                    )
                )
            }
            read = {
                r.source: _record(r)
                for r in conn.execute(
                    select(fetches).where(fetches.c.id.in_(latest_ids(fetches.c.status == "ok")))
                )
            }
            counts: dict[str, int] = {
                str(source): int(count)
                for source, count in conn.execute(
                    select(fetches.c.source, func.count()).where(mine).group_by(fetches.c.source)
                )
            }
            streaks = self._streaks(conn, names)
        return [
            SourceHealth(
                source=name,
                last_status=last[name].status if name in last else None,
                last_fetch=last[name].started_at if name in last else None,
                last_success=good[name].started_at if name in good else None,
                last_failure=bad[name].started_at if name in bad else None,
                failure_streak=streaks.get(name, 0),
                last_error=bad[name].error if name in bad else None,
                fetches=counts.get(name, 0),
                last_counts=read[name].counts if name in read else None,
            )
            for name in names
        ]

    def recent(self, source: str, limit: int = 20) -> list[FetchRecord]:
        """The source's latest fetches, newest first."""
        query = (
            select(fetches)
            .where(fetches.c.source == source)
            .order_by(fetches.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_record(row) for row in conn.execute(query)]

    @staticmethod
    def _streaks(conn: Connection, names: list[str]) -> dict[str, int]:
        # Failures after the source's last fetch that was not one; ids, not times, order
        # the fetches (two runs may share a clock reading).
        good = fetches.alias("good")
        since = (
            select(func.coalesce(func.max(good.c.id), 0))
            .where(good.c.source == fetches.c.source, good.c.status != "failed")
            .scalar_subquery()
        )
        query = (
            select(fetches.c.source, func.count())
            .where(fetches.c.source.in_(names), fetches.c.status == "failed", fetches.c.id > since)
            .group_by(fetches.c.source)
        )
        return {str(source): int(count) for source, count in conn.execute(query)}


def _record(row: Any) -> FetchRecord:
    return FetchRecord(
        source=row.source,
        started_at=row.started_at,
        duration_ms=row.duration_ms,
        status=row.status,
        new_items=row.new_items,
        seen_items=row.seen_items,
        error=row.error,
        known_items=row.known_items,
        skipped_items=row.skipped_items,
        skip_reasons=json.loads(row.skip_reasons) if row.skip_reasons else {},
    )
