"""Rate limits for the login and sign-up forms: one small Protocol, and a sliding
window per key kept in this process (the app uses the database's, shared by every
web process: ``store.limits``)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol


class Limiter(Protocol):
    """A rate limit per key: in this process (:class:`RateLimiter`) or in the
    database (``store.limits.DatabaseLimiter``, shared by every web process)."""

    def allow(self, key: str) -> bool: ...

    def blocked(self, key: str) -> bool: ...

    def hit(self, key: str) -> None: ...

    def retry_after(self, key: str) -> int: ...


class RateLimiter:
    """At most ``limit`` hits per ``window`` seconds for each key.

    Memory is bounded: idle keys are swept at most once a second, and beyond
    ``max_keys`` the keys seen longest ago are forgotten first.
    """

    def __init__(
        self,
        limit: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_keys: int = 10_000,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._swept = float("-inf")

    def allow(self, key: str) -> bool:
        """Count a hit for ``key``; False when it is over the limit (not counted then)."""
        with self._lock:
            if self._over(key):
                return False
            self._add(key)
            return True

    def blocked(self, key: str) -> bool:
        """Whether ``key`` is over the limit, without counting a hit."""
        with self._lock:
            return self._over(key)

    def hit(self, key: str) -> None:
        """Count a hit whatever the limit (a failure, counted after the fact)."""
        with self._lock:
            self._add(key)

    def retry_after(self, key: str) -> int:
        """Seconds until ``key`` may try again."""
        with self._lock:
            hits = self._hits.get(key)
            if not hits:
                return 0
            return max(1, int(hits[0] + self.window - self.clock()) + 1)

    def _over(self, key: str) -> bool:
        hits = self._hits.get(key)
        if not hits:
            return False
        now = self.clock()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return len(hits) >= self.limit

    def _add(self, key: str) -> None:
        now = self.clock()
        hits = self._hits.pop(key, None) or deque()
        hits.append(now)
        self._hits[key] = hits  # re-inserted: the dict stays ordered by last hit
        if len(self._hits) > self.max_keys and now - self._swept >= 1.0:
            self._swept = now
            for stale in [k for k, v in self._hits.items() if v[-1] <= now - self.window]:
                del self._hits[stale]
        while len(self._hits) > self.max_keys:
            del self._hits[next(iter(self._hits))]
