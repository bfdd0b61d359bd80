"""APScheduler wiring: which jobs exist, when they fire, what they call.

- One job per edition (or per edition and subscriber time zone, for local-time
  delivery) and one collection job, with stable ids in a persistent SQLAlchemy job
  store: restarts replace jobs, never duplicate them.
- Editions fire ``lead`` minutes before they are due and pass the due time on, so
  SendGrid can hold each batch until then (cancellable: exactly once).
- Coalescing and a misfire grace: a scheduler down at 07:00 and back at 07:20 still
  sends; one down all day does not send a stale edition.
- APScheduler 3 does not support two processes on one job store, so a process runs
  the scheduler only while it holds the "scheduler" lease in the database; a second
  one started by mistake stands by. Each run also holds its edition's lease, and the
  database keeps one edition per (name, period) and one delivery per subscriber, so a
  double firing (the repeated hour at a DST fall-back) sends nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from digest import pipeline
from digest.components import Components
from digest.errors import DigestError, TransportAuthError
from digest.models import RunReport, local_period
from digest.scheduler.alerts import Problem, check, notifier, problems
from digest.scheduler.catchup import (
    Resume,
    close_interrupted,
    due_in_period,
    to_expire,
    to_resume,
)
from digest.scheduler.health import health
from digest.scheduler.plans import SCHEDULER_LEASE, planned_jobs

log = logging.getLogger(__name__)

JOB_TABLE = "apscheduler_jobs"
APPROVAL_CHECK_MINUTES = 2  # how soon a held edition goes out once approved


class Runner:
    """What the scheduled jobs do, on the process's components (swapped on reload)."""

    def __init__(
        self,
        components: Components,
        run: Callable[..., RunReport] = pipeline.run,
    ) -> None:
        self.components = components
        self.run_edition = run

    def edition(
        self,
        name: str,
        timezone: str | None,
        fired: datetime | None = None,
        *,
        due: datetime | None = None,
        collect_first: bool = True,
    ) -> None:
        c = self.components
        if due is None:
            fired = fired or c.clock()
            job = next(
                (j for j in planned_jobs(c) if j.edition == name and j.timezone == timezone), None
            )
            due = job.trigger.due_after(fired) if job else None
        try:
            report = self.run_edition(
                c, name, timezone=timezone, due=due, collect_first=collect_first
            )
        except TransportAuthError as exc:
            log.error("edition %s stopped: %s", name, exc)
            problem = Problem(f"auth:{name}", "auth", f"edition {name}: the send stopped: {exc}")
            check(c, [problem], set(), notifier(c))
            return
        except DigestError as exc:
            log.error("edition %s failed: %s", name, exc)
            return
        if not report.skipped and c.store.alerts.resolve(f"auth:{name}", c.clock()):
            log.warning("resolved: the provider takes the key again (%s)", name)
        log.info(
            "edition %s%s%s: %d stories, %d delivered, %d already, %d not delivered%s",
            "catch-up of " if not collect_first else "",
            report.edition or name,
            f" ({timezone})" if timezone else "",
            report.stories,
            report.delivered,
            report.already_delivered,
            report.failed_deliveries,
            " (skipped: another process runs it)"
            if report.skipped
            else " (held: waits for an editor's approval)"
            if report.held
            else "",
        )

    def release_approved(self) -> None:
        """Send editions that were held for approval at their time and have been
        approved since, while their period lasts (a later one is sent from the desk)."""
        c = self.components
        for config in c.settings.editions:
            if not config.requires_approval:
                continue
            stored = c.store.editions.latest(config.name)
            if stored is None or stored.status != "approved":
                continue
            period = stored.edition.period
            if period != local_period(c.clock(), config.schedule.timezone):
                continue
            if c.store.runs.was_held(config.name, period):
                log.info(
                    "edition %s approved by %s; sending", stored.edition.key, stored.approved_by
                )
                # The period's own due time (never the next one): SendGrid holds the
                # batches until then when it is still far enough ahead.
                due = due_in_period(c, config.name, period, c.clock()) or c.clock()
                self.edition(config.name, None, due=due)

    def catch_up(self) -> None:
        """Resume every unfinished edition of the current period (``scheduler.catchup``)."""
        c = self.components
        for run in close_interrupted(c):
            log.warning(
                "run %d (%s of %s) was left running by %s, which is gone: interrupted",
                run.id,
                run.kind,
                run.edition or "every source",
                run.holder,
            )
        for job in to_resume(c, c.clock()):
            log.warning(
                "edition %s/%s%s %s (deadline %s)",
                job.edition,
                job.period,
                f" ({job.timezone})" if job.timezone else "",
                "missed its firing: running it" if job.missed else "is unfinished: resuming it",
                job.deadline.isoformat(),
            )
            self.edition(job.edition, job.timezone, due=job.due, collect_first=job.missed)
            if c.stop.is_set():
                return
        for job in to_expire(c, c.clock()):
            self._expire(job)
        status = health(c, c.clock())
        check(c, problems(c, status), {"deadline", "ambiguous", "source"}, notifier(c))

    def _expire(self, job: Resume) -> None:
        """Give up an unfinished send past its deadline: recorded as an ``expired`` run
        (once), with what was not done; monitoring and the deadline alert say so."""
        c = self.components
        now = c.clock()
        stored = c.store.editions.get(job.edition, job.period)
        counts = c.store.ledger.counts(stored.id) if stored else {}
        undone = sum(counts.get(state, 0) for state in ("pending", "sending", "failed"))
        run_id = c.store.runs.start(
            "catch-up", job.edition, job.period, now, job.timezone, holder=c.holder
        )
        error = f"past its deadline {job.deadline.isoformat()}: " + (
            f"{undone} deliveries not done; given up" if stored else "never built; given up"
        )
        c.store.runs.finish(run_id, "expired", now, summary=counts, error=error)
        log.error(
            "edition %s/%s%s %s",
            job.edition,
            job.period,
            f" ({job.timezone})" if job.timezone else "",
            error,
        )

    def collect(self) -> None:
        c = self.components
        run_id = c.store.runs.start("collect", None, None, c.clock())
        report = RunReport()
        try:
            new = pipeline.collect(c, report)
        except DigestError as exc:
            c.store.runs.finish(run_id, "failed", c.clock(), error=str(exc))
            log.error("collection failed: %s", exc)
            return
        failed = [s.name for s in report.sources if not s.ok]
        c.store.runs.finish(
            run_id, "ok", c.clock(), summary={"new_articles": new, "failed_sources": failed}
        )
        log.info("collected %d new articles; failed sources: %s", new, ", ".join(failed) or "none")
        for note in report.notes:  # sources failing runs in a row, teasers kept, ...
            log.warning("%s", note)

    def bounces(self) -> None:
        """Read the bounce mailbox ([bounces]) and apply what it reports."""
        from digest.delivery.bounces import import_configured

        try:
            summary = import_configured(self.components)
        except DigestError as exc:
            log.error("bounce mailbox: %s", exc)
            return
        log.info("bounce mailbox: %s", summary.line())
        for left in summary.left:
            log.warning("bounce mailbox: left unread: %s", left)


# The process's runner. APScheduler keeps jobs in the database as a function name and
# plain arguments, so the functions below find the live components through it.
_runner: Runner | None = None


def set_runner(runner: Runner | None) -> None:
    """The runner the stored jobs reach (None once the process stops)."""
    global _runner
    _runner = runner


def run_edition_job(name: str, timezone: str | None) -> None:
    if _runner is not None:
        _runner.edition(name, timezone)


def run_collect_job() -> None:
    if _runner is not None:
        _runner.collect()


def sync_jobs(scheduler: BaseScheduler, c: Components, *, only_new: bool = False) -> list[str]:
    """Make the job store hold exactly the planned jobs (replace, add, remove).

    ``only_new`` adds the jobs that are missing and touches no other: the periodic
    check for time zones that subscribers chose since (a replaced job would get a
    fresh next run time, and one due that very second would be skipped)."""
    grace = c.settings.scheduler.misfire_grace_minutes * 60
    wanted = planned_jobs(c)
    if only_new:
        present = {job.id for job in scheduler.get_jobs(jobstore="default")}
        wanted = [job for job in wanted if job.id not in present]
    for job in wanted:
        func = run_collect_job if job.kind == "collect" else run_edition_job
        args = () if job.kind == "collect" else (job.edition, job.timezone)
        scheduler.add_job(
            func,
            job.trigger,
            args=args,
            id=job.id,
            name=f"{job.id} {job.trigger}",
            replace_existing=True,
            coalesce=True,
            misfire_grace_time=grace,
            max_instances=1,
            jobstore="default",
        )
    if only_new:
        return [job.id for job in wanted]
    ids = {job.id for job in wanted}
    for existing in scheduler.get_jobs(jobstore="default"):
        if existing.id not in ids:
            scheduler.remove_job(existing.id, jobstore="default")
    return [job.id for job in wanted]


def make_scheduler(c: Components) -> BlockingScheduler:
    scheduler = BlockingScheduler(
        jobstores={
            "default": SQLAlchemyJobStore(engine=c.store.engine, tablename=JOB_TABLE),
            "process": MemoryJobStore(),
        },
        timezone="UTC",
    )

    def missed(event: JobExecutionEvent) -> None:
        log.warning(
            "job %s missed its time %s by more than the grace; skipped",
            event.job_id,
            event.scheduled_run_time,
        )

    scheduler.add_listener(missed, EVENT_JOB_MISSED)
    return scheduler


def wait_for_lease(c: Components) -> bool:
    """Block until this process holds the scheduler lease; False when asked to stop."""
    ttl = timedelta(seconds=c.settings.scheduler.lease_seconds)
    announced = False
    while not c.stop.is_set():
        if c.store.leases.acquire(SCHEDULER_LEASE, c.holder, ttl, c.wall_clock()):
            return True
        if not announced:
            holder = c.store.leases.holder(SCHEDULER_LEASE, c.wall_clock())
            log.warning("another scheduler (%s) is running; standing by", holder)
            announced = True
        c.stop.wait(ttl.total_seconds() / 3)
    return False
