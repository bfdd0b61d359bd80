"""Catch-up: the active scheduler finishes, by itself, every edition of the current
period whose send was started and not finished (a deploy, a crash, a node lost mid-
send), until the edition's deadline (``deliver_until``).

An edition job counts as started when a run of it (or of its local-time group) began
at or after its firing time. One that never fired (no scheduler was up at its time, or
a restart replaced its next run) is run whole while its due time is less than the
misfire grace ago: down at 07:00 and back at 07:20 still sends, down all day sends no
stale edition. A started job is unfinished while its edition is missing or still a
draft (the run died before sending), or while its ledger has rows that may still go
out, or subscribers of its group not yet in the ledger. Held editions are never
resumed before an editor approves them (``Runner.release_approved`` sends those). The
due time is the job's own, so batches scheduled with SendGrid for it still arrive on
time. Past the deadline an unfinished send is given up, recorded once as an
``expired`` run; runs left ``running`` by a process that died are closed as
``interrupted``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from digest.components import Components
from digest.models import local_period
from digest.scheduler.plans import PlannedJob, planned_jobs
from digest.settings.editions import EditionSettings
from digest.store.leases import edition_lease_name
from digest.store.runs import RunRecord

# A run recorded this long before the firing time still belongs to it (clock skew).
STARTED_SLACK = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Resume:
    edition: str
    timezone: str | None  # a local-time delivery group
    due: datetime
    period: str
    deadline: datetime
    missed: bool = False  # it never fired: run it whole (collect first)


def current_due(job: PlannedJob, now: datetime) -> datetime | None:
    """The due time of the job's latest firing at or before ``now``."""
    return job.trigger.last_due(now + job.trigger.lead)


def _current(c: Components, now: datetime) -> Iterator[tuple[PlannedJob, Resume]]:
    """Each edition job with its latest due time at or before ``now``."""
    for job in planned_jobs(c):
        if job.kind != "edition" or job.edition is None:
            continue
        due = current_due(job, now)
        if due is None:
            continue
        config = c.settings.edition(job.edition)
        period = local_period(due, job.timezone or config.schedule.timezone)
        deadline = config.deadline(period, job.timezone, due)
        yield job, Resume(job.edition, job.timezone, due, period, deadline)


def to_resume(c: Components, now: datetime) -> list[Resume]:
    """Every edition job of the current period to resume now, oldest due first."""
    found = []
    for job, resume in _current(c, now):
        if now >= resume.deadline:
            continue
        config = c.settings.edition(resume.edition)
        fired = resume.due - job.trigger.lead - STARTED_SLACK
        if not c.store.runs.started_since(config.name, job.timezone, fired):
            grace = timedelta(minutes=c.settings.scheduler.misfire_grace_minutes)
            if now <= resume.due + grace:
                found.append(replace(resume, missed=True))
        elif _unfinished(c, config, job, resume.period):
            found.append(resume)
    return sorted(found, key=lambda r: (r.due, r.edition, r.timezone or ""))


def to_expire(c: Components, now: datetime) -> list[Resume]:
    """Edition jobs whose send started, is unfinished and is past its deadline, with
    no ``expired`` run recorded for them yet: catch-up gives them up, once."""
    found = []
    for job, resume in _current(c, now):
        if now < resume.deadline:
            continue
        config = c.settings.edition(resume.edition)
        fired = resume.due - job.trigger.lead - STARTED_SLACK
        if (
            c.store.runs.started_since(config.name, job.timezone, fired)
            and _unfinished(c, config, job, resume.period)
            and not c.store.runs.recorded(config.name, resume.period, job.timezone, "expired")
        ):
            found.append(resume)
    return found


def due_in_period(c: Components, edition: str, period: str, now: datetime) -> datetime | None:
    """The due time of ``edition``'s own job (not a local-time group's) for
    ``period``, when it has come by ``now``."""
    for job, resume in _current(c, now):
        if job.edition == edition and job.timezone is None and resume.period == period:
            return resume.due
    return None


def close_interrupted(c: Components) -> list[RunRecord]:
    """Close as ``interrupted`` the runs left ``running`` by a process that is gone:
    its pid gone on this host, or (an edition's run, started longer ago than the
    edition's lease lives) no longer holding the edition's lease, which a live
    sender renews while it works. Runs of this process are left alone."""
    ttl = timedelta(seconds=c.settings.scheduler.edition_lease_seconds)
    now = c.wall_clock()

    def dead(run: RunRecord) -> bool:
        if run.holder is None or run.holder == c.holder:
            return False
        if c.store.leases.gone(run.holder):
            return True
        if run.edition is None or run.started_at > c.clock() - ttl:
            return False
        return c.store.leases.holder(edition_lease_name(run.edition), now) != run.holder

    return c.store.runs.interrupt(dead, c.clock())


def _unfinished(c: Components, config: EditionSettings, job: PlannedJob, period: str) -> bool:
    stored = c.store.editions.get(config.name, period)
    if stored is None:
        return True
    if stored.status == "draft":
        return not config.requires_approval  # a held draft waits for its editor
    if stored.status == "approved":
        return False  # released by the approvals check
    if c.store.ledger.unfinished(stored.id, c.settings.delivery.max_attempts) > 0:
        return True
    if stored.status == "sending" or job.timezone is not None:
        return c.store.ledger.missing(stored.id, job.timezone) > 0
    return False
