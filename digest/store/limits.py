"""Rate limits counted in the database (sliding windows of hits per key), so every
web process behind a load balancer, and a restarted one, shares one allowance. The
same methods as the in-process ``web.ratelimit.RateLimiter``."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, insert, select

from digest.store.schema import rate_hits

PRUNE_EVERY = 200  # hits between deletions of the expired ones

# Limiters whose keys are a subscriber's address (``signup-mail:ana@mail.example``):
# an erasure deletes their hits with the address.
SIGNUP_MAIL = "signup-mail"
ADDRESS_KEYED = (SIGNUP_MAIL,)


def limit_key(name: str, key: str) -> str:
    """The key a limiter named ``name`` stores its hits of ``key`` under."""
    return f"{name}:{key}"[:400]


class RateHits:
    """The hits table; hands out one limiter per rule."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock
        self._since_prune = 0
        self._longest = timedelta(0)

    def limiter(self, name: str, limit: int, window: float) -> DatabaseLimiter:
        self._longest = max(self._longest, timedelta(seconds=window))
        return DatabaseLimiter(self, name, limit, timedelta(seconds=window))

    def count(self, key: str, since: datetime) -> tuple[int, datetime | None]:
        """Hits of ``key`` after ``since``, and the oldest of them."""
        query = select(func.count(), func.min(rate_hits.c.at)).where(
            rate_hits.c.key == key, rate_hits.c.at > since
        )
        with self.engine.connect() as conn:
            n, oldest = conn.execute(query).one()
        return int(n or 0), oldest if isinstance(oldest, datetime) else None

    def add(self, key: str, now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(rate_hits).values(key=key, at=now))
            self._since_prune += 1
            if self._since_prune >= PRUNE_EVERY:
                self._since_prune = 0
                conn.execute(delete(rate_hits).where(rate_hits.c.at < now - self._longest))


class DatabaseLimiter:
    """At most ``limit`` hits per ``window`` for each key, across processes."""

    def __init__(self, hits: RateHits, name: str, limit: int, window: timedelta) -> None:
        self.hits, self.name, self.limit, self.window = hits, name, limit, window

    def allow(self, key: str) -> bool:
        """Count a hit for ``key``; False when it is over the limit (not counted then)."""
        if self.blocked(key):
            return False
        self.hit(key)
        return True

    def blocked(self, key: str) -> bool:
        now = self.hits.clock()
        return self.hits.count(self._key(key), now - self.window)[0] >= self.limit

    def hit(self, key: str) -> None:
        self.hits.add(self._key(key), self.hits.clock())

    def retry_after(self, key: str) -> int:
        now = self.hits.clock()
        _, oldest = self.hits.count(self._key(key), now - self.window)
        if oldest is None:
            return 0
        return max(1, math.ceil((oldest + self.window - now).total_seconds()))

    def _key(self, key: str) -> str:
        return limit_key(self.name, key)
