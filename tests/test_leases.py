"""The heartbeat that holds a lease while work goes on, against a database that goes
away: a failed renewal is tried again; a lease not renewed before it expires is lost,
and the sender stops between batches."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.exc import OperationalError

from digest import pipeline
from digest.delivery.transport import Envelope, MemoryTransport
from digest.models import RunReport
from digest.store.leases import Heartbeat
from tests.conftest import Clock, make_components


def _unreachable() -> OperationalError:
    return OperationalError("UPDATE leases ...", {}, Exception("could not connect to server"))


class FlakyLeases:
    """Leases whose database fails the renewals ``failing`` says (by call number, the
    first one taking the lease being call 1); records every call."""

    def __init__(self, failing: object) -> None:
        self.failing = failing
        self.calls = 0
        self.renewed: list[datetime] = []
        self.released = 0
        self.lock = threading.Lock()

    def acquire(self, name: str, holder: str, ttl: timedelta, now: datetime) -> bool:
        with self.lock:
            self.calls += 1
            call = self.calls
        if self.failing(call):  # type: ignore[operator]
            raise _unreachable()
        self.renewed.append(now)
        return True

    def release(self, name: str, holder: str) -> None:
        self.released += 1


def _now() -> datetime:
    return datetime.now(UTC)


def test_one_failed_renewal_is_tried_again_and_the_lease_kept() -> None:
    leases = FlakyLeases(lambda call: call == 2)  # the first renewal fails, then fine
    ttl = timedelta(seconds=0.9)
    beat = Heartbeat(leases, "edition:x", "me", ttl, _now)  # type: ignore[arg-type]
    assert beat.start()
    # Long enough for several renewals, longer than the time to live.
    deadline = time.monotonic() + 3 * ttl.total_seconds()
    while time.monotonic() < deadline:
        assert beat.held(), "the lease was given up after one failed renewal"
        time.sleep(0.02)
    assert not beat.lost.is_set()
    assert leases.calls >= 4 and len(leases.renewed) >= 3  # renewed after the failure
    beat.stop()
    assert leases.released == 1


def test_a_lease_not_renewed_before_it_expires_is_lost() -> None:
    leases = FlakyLeases(lambda call: call > 1)  # the database is gone after the start
    ttl = timedelta(seconds=0.6)
    beat = Heartbeat(leases, "edition:x", "me", ttl, _now)  # type: ignore[arg-type]
    started = time.monotonic()
    assert beat.start()
    assert beat.lost.wait(5.0), "the renewal thread died without saying the lease is lost"
    assert time.monotonic() - started >= ttl.total_seconds()  # kept while it was valid
    assert not beat.held()
    assert leases.calls > 3  # it kept trying until the lease expired
    beat.stop()
    assert leases.released == 0  # lost: nothing to give back


def test_held_is_false_once_the_time_to_live_passed_since_the_last_renewal() -> None:
    """A process paused (SIGSTOP) longer than the lease: when it resumes, it knows it no
    longer holds the lease before its renewal thread has run."""
    clock = Clock(datetime(2026, 11, 27, 6, 0, tzinfo=UTC))
    leases = FlakyLeases(lambda call: False)
    beat = Heartbeat(leases, "edition:x", "me", timedelta(seconds=30), clock)  # type: ignore[arg-type]
    assert beat.start()
    clock.now += timedelta(seconds=29)
    assert beat.held()
    clock.now += timedelta(seconds=2)
    assert not beat.held() and not beat.lost.is_set()
    beat.stop()


def test_the_sender_stops_between_batches_when_its_lease_lapses(project: Path) -> None:
    """The edition's lease cannot be renewed (the database is unreachable for longer
    than its time to live) during the first batch: nothing more is claimed, the rest
    stays pending for whoever takes the edition over."""
    wall = Clock(datetime.now(UTC))
    c = make_components(project, clock=Clock(), transport=MemoryTransport())
    c.wall_clock = wall
    failing = threading.Event()
    flaky = FlakyLeases(lambda call: failing.is_set())
    c.store.leases = flaky  # type: ignore[assignment]

    def first_batch_outlasts_the_lease(envelope: Envelope) -> None:
        failing.set()
        wall.now += timedelta(seconds=c.settings.scheduler.edition_lease_seconds + 1)
        return None

    c.transport = MemoryTransport(first_batch_outlasts_the_lease, max_recipients=1)
    pipeline.collect(c, RunReport())
    stored = pipeline.build(c, None, RunReport())
    report = RunReport()
    pipeline.send_stored(c, stored, report)
    counts = c.store.ledger.counts(stored.id)
    assert counts == {"accepted": 1, "pending": len(c.subscribers()) - 1}
    assert any("no longer holds the edition's lease" in n for n in report.notes), report.notes
    c.close()
