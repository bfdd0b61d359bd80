"""Leases: who may act (run the scheduler, send an edition) while others wait.

A lease is a row naming its holder and an expiry. Taking one is a single conditional
UPDATE or an INSERT that the primary key lets only one process win, so it works the
same on SQLite and PostgreSQL. A holder renews its lease while it works (a
:class:`Heartbeat` every third of the time to live), so the lease is short and a
holder that dies is noticed within that time; on the same host, a holder whose
process is gone is taken over at once (its pid is in its name).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from digest.store.schema import leases

log = logging.getLogger(__name__)


def edition_lease_name(name: str) -> str:
    """The name of the lease one sender of edition ``name`` holds."""
    return f"edition:{name}"


def new_holder() -> str:
    """This process's name in leases: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def process_gone(holder: str) -> bool:
    """Whether ``holder`` was a process of this host that no longer runs."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it runs, as another user
        return False
    return False


@dataclass(frozen=True, slots=True)
class Lease:
    name: str
    holder: str
    expires_at: datetime


class Leases:
    def __init__(self, engine: Engine, gone: Callable[[str], bool] = process_gone) -> None:
        self.engine = engine
        self.gone = gone

    def acquire(self, name: str, holder: str, ttl: timedelta, now: datetime) -> bool:
        """Take or renew ``name`` for ``holder`` until ``now + ttl``; False when another
        live holder's lease has not expired."""
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
            return self._take_from_the_dead(name, holder, expires, now)
        return True

    def _take_from_the_dead(self, name: str, holder: str, expires: datetime, now: datetime) -> bool:
        current = self.current(name, now)
        if current is None or current.holder == holder or not self.gone(current.holder):
            return False
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(leases)
                .where(leases.c.name == name, leases.c.holder == current.holder)
                .values(holder=holder, expires_at=expires)
            )
        if taken.rowcount:
            log.warning("took over %s from %s, whose process is gone", name, current.holder)
        return bool(taken.rowcount)

    def release(self, name: str, holder: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(leases).where(and_(leases.c.name == name, leases.c.holder == holder))
            )

    def current(self, name: str, now: datetime) -> Lease | None:
        """The unexpired lease on ``name``, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(leases).where(leases.c.name == name, leases.c.expires_at >= now)
            ).first()
        return Lease(row.name, row.holder, row.expires_at) if row else None

    def holder(self, name: str, now: datetime) -> str | None:
        current = self.current(name, now)
        return current.holder if current else None


class Heartbeat:
    """Holds a lease while a piece of work runs: renews it every third of its time to
    live from a thread of its own (a long collection or rendering renews it too), and
    sets ``lost`` when another process took it over, or when it could not be renewed
    (the database unreachable) before it expired, so the work stops between batches.
    :meth:`held` also says False once the time to live has passed since the last
    renewal, even before the thread notices (a process paused, then resumed)."""

    def __init__(
        self,
        leases_: Leases,
        name: str,
        holder: str,
        ttl: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self.leases, self.name, self.holder, self.ttl, self.clock = (
            leases_,
            name,
            holder,
            ttl,
            clock,
        )
        self.lost = threading.Event()
        self.expires_at = clock()  # of the last renewal: not held before start()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{name}", daemon=True)

    def start(self) -> bool:
        """Take the lease; False (and no thread) when another live holder has it."""
        now = self.clock()
        if not self.leases.acquire(self.name, self.holder, self.ttl, now):
            return False
        self.expires_at = now + self.ttl
        self._thread.start()
        return True

    def held(self) -> bool:
        """Whether the lease is still this holder's: not lost, not expired."""
        return not self.lost.is_set() and self.clock() < self.expires_at

    def stop(self) -> None:
        """Stop renewing and give the lease back."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.ttl.total_seconds())
        if self.lost.is_set():
            return
        try:
            self.leases.release(self.name, self.holder)
        except SQLAlchemyError as exc:  # it lapses by itself
            log.warning("could not release the lease %s: %s", self.name, exc)

    def _beat(self) -> None:
        interval = self.ttl.total_seconds() / 3
        retry = min(1.0, self.ttl.total_seconds() / 10)
        wait = interval
        while not self._stop.wait(wait):
            now = self.clock()
            try:
                renewed = self.leases.acquire(self.name, self.holder, self.ttl, now)
            except SQLAlchemyError as exc:
                if self.clock() >= self.expires_at:
                    log.error(
                        "could not renew the lease %s before it expired: %s; stopping",
                        self.name,
                        exc,
                    )
                    self.lost.set()
                    return
                log.warning("could not renew the lease %s: %s; trying again", self.name, exc)
                wait = retry
                continue
            if not renewed:
                log.error("lost the lease %s to another process; stopping", self.name)
                self.lost.set()
                return
            self.expires_at = now + self.ttl
            wait = interval
