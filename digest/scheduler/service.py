"""The scheduler process: waits for the scheduler lease, keeps the job store in step
with the configuration, renews the lease, and acts on SIGTERM (stop between
batches) and SIGHUP (reload the configuration)."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import SQLAlchemyError

from digest.components import Components
from digest.errors import DigestError
from digest.pipeline import sync_listed
from digest.scheduler import wiring
from digest.scheduler.plans import SCHEDULER_LEASE
from digest.scheduler.wiring import (
    APPROVAL_CHECK_MINUTES,
    Runner,
    make_scheduler,
    sync_jobs,
    wait_for_lease,
)

log = logging.getLogger(__name__)


class Service:
    """One scheduler process on its components (swapped on reload)."""

    def __init__(self, c: Components, reload: Callable[[], Components] | None = None) -> None:
        self.c = c
        self.reload = reload
        self.runner = Runner(c)
        self.scheduler: BlockingScheduler | None = None
        self.reload_requested = threading.Event()
        self.ttl = timedelta(seconds=c.settings.scheduler.lease_seconds)
        self.lease_until = c.wall_clock()  # of the scheduler lease, once taken

    def run(self) -> None:
        """Until SIGTERM/SIGINT (or the lease is lost)."""
        c = self.c
        with _signals(c.stop.set, self.reload_requested.set):  # a standby stops cleanly too
            if not wait_for_lease(c):
                return
            self.lease_until = c.wall_clock() + self.ttl
            # Under the lease: a second scheduler started at the same time syncs nothing.
            sync_listed(c)
            wiring.set_runner(self.runner)
            self.scheduler = scheduler = make_scheduler(c)
            sync_jobs(scheduler, c)
            self._add_process_jobs(scheduler)
            threading.Thread(target=self._control, name="scheduler-control", daemon=True).start()
            for job in scheduler.get_jobs():
                log.info("scheduled %s", job.name)
            try:
                if not c.stop.is_set():
                    scheduler.start()
            finally:
                c.store.leases.release(SCHEDULER_LEASE, self.runner.components.holder)
                wiring.set_runner(None)

    def _add_process_jobs(self, scheduler: BlockingScheduler) -> None:
        """Jobs of this process only (never in the job store): lease renewal, catch-up
        of unfinished editions (at once, then every ``catch_up_seconds``), released
        approvals, the bounce mailbox, new subscriber time zones."""
        every = {"jobstore": "process", "coalesce": True, "max_instances": 1}
        scheduler.add_job(
            lambda: self.runner.catch_up(),
            IntervalTrigger(seconds=self.c.settings.scheduler.catch_up_seconds),
            id="catch-up",
            next_run_time=datetime.now(UTC),
            **every,
        )
        lease_every = max(1, self.ttl.total_seconds() / 3)
        scheduler.add_job(
            self._renew, IntervalTrigger(seconds=lease_every), id="lease", jobstore="process"
        )
        scheduler.add_job(
            lambda: self.runner.release_approved(),
            IntervalTrigger(minutes=APPROVAL_CHECK_MINUTES),
            id="approvals",
            **every,
        )
        if self.c.settings.bounces is not None:
            scheduler.add_job(
                lambda: self.runner.bounces(),
                IntervalTrigger(minutes=self.c.settings.bounces.every_minutes),
                id="bounces",
                **every,
            )
        scheduler.add_job(
            self._new_time_zones,
            IntervalTrigger(minutes=APPROVAL_CHECK_MINUTES * 5),
            id="time-zones",
            **every,
        )

    def _renew(self) -> None:
        """Renew the scheduler lease; stop when another process took it, or when the
        database could not be reached before it expired."""
        current = self.runner.components
        now = current.wall_clock()
        try:
            renewed = current.store.leases.acquire(SCHEDULER_LEASE, current.holder, self.ttl, now)
        except SQLAlchemyError as exc:
            if now >= self.lease_until:
                log.error("could not renew the scheduler lease before it expired: %s", exc)
                current.stop.set()
            else:
                log.warning("could not renew the scheduler lease: %s; trying again", exc)
            return
        if not renewed:
            log.error("lost the scheduler lease to another process; stopping")
            current.stop.set()
            return
        self.lease_until = now + self.ttl

    def _new_time_zones(self) -> None:
        """Local-time editions get a job for a time zone a subscriber chose since
        (preferences page, sign-up, import) without waiting for a reload."""
        assert self.scheduler is not None
        added = sync_jobs(self.scheduler, self.runner.components, only_new=True)
        if added:
            log.info("scheduled %s", ", ".join(added))

    def _reload_now(self) -> None:
        if self.reload is None or self.scheduler is None:
            return
        try:
            fresh = self.reload()
        except DigestError as exc:
            log.error("configuration not reloaded: %s", exc)
            return
        fresh.holder = self.runner.components.holder
        fresh.stop = self.runner.components.stop
        self.runner.components = fresh
        sync_jobs(self.scheduler, fresh)
        log.info("configuration reloaded")

    def _control(self) -> None:
        """Acts on what the signal handlers ask for. Handlers only set events: they
        interrupt the main thread anywhere, even inside a lock that starting a thread,
        logging or APScheduler need."""
        while not self.c.stop.wait(0.2):
            if self.reload_requested.is_set():
                self.reload_requested.clear()
                self._reload_now()
        log.info("stopping: finishing the current batch first")
        for _ in range(100):  # the stop may come just before start()
            if self.scheduler is not None and self.scheduler.running:
                self.scheduler.shutdown(wait=True)
                return
            time.sleep(0.05)


def run_scheduler(c: Components, reload: Callable[[], Components] | None = None) -> None:
    """Run until SIGTERM/SIGINT; SIGHUP reloads the configuration (``reload``)."""
    Service(c, reload).run()


@contextmanager
def _signals(stop: Callable[[], None], hang_up: Callable[[], None]) -> Iterator[None]:
    """SIGTERM and SIGINT stop, SIGHUP reloads, while inside; the previous handlers after."""

    def on_stop(signum: int, frame: FrameType | None) -> None:
        stop()

    def on_hang_up(signum: int, frame: FrameType | None) -> None:
        hang_up()

    previous: dict[signal.Signals, Any] = {}
    handlers = {signal.SIGTERM: on_stop, signal.SIGINT: on_stop, signal.SIGHUP: on_hang_up}
    for sig, handler in handlers.items():
        previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
