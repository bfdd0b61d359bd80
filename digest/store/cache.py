"""LLM summaries kept in the database by content hash (see digest.summarise.llm)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from digest.store.schema import summary_cache


class DatabaseSummaryCache:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def get(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            value = conn.scalar(select(summary_cache.c.summary).where(summary_cache.c.key == key))
        return str(value) if value is not None else None

    def put(self, key: str, summary: str) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(summary_cache).values(key=key, summary=summary, created_at=self.clock())
                )
        except IntegrityError:
            pass  # another run cached the same answer first: same content, same key
