"""Schedules as data: when each job fires, when each edition is due, and whether one
is overdue. Pure logic over the settings and the run history; `scheduler/wiring.py` wires it
into APScheduler, `digest schedule list` and `/healthz` read it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from digest.components import Components

SCHEDULER_LEASE = "scheduler"  # held by the active scheduler


class LeadTrigger(BaseTrigger):  # type: ignore[misc]
    """A cron schedule fired ``lead`` earlier than each of its times."""

    def __init__(self, cron: str, timezone: str, lead: timedelta) -> None:
        self.cron = cron
        self.timezone = timezone
        self.lead = lead
        self.trigger = CronTrigger.from_crontab(cron, timezone=ZoneInfo(timezone))

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        # Arithmetic in UTC: adding minutes to a local time is wall-clock arithmetic,
        # wrong across a DST change.
        previous = previous_fire_time.astimezone(UTC) + self.lead if previous_fire_time else None
        due = self.trigger.get_next_fire_time(previous, now.astimezone(UTC) + self.lead)
        if due is not None and previous is not None and due <= previous:
            # APScheduler 3 can hand back the repeated hour of a DST fall-back again
            # and again; look past it.
            due = self.trigger.get_next_fire_time(
                previous, previous + timedelta(hours=1, seconds=1)
            )
        return due.astimezone(UTC) - self.lead if due else None

    def due_after(self, fired: datetime) -> datetime | None:
        """The due time a firing at ``fired`` is for."""
        due: datetime | None = self.trigger.get_next_fire_time(
            None, fired.astimezone(UTC) + self.lead - timedelta(seconds=1)
        )
        return due.astimezone(UTC) if due else None

    def last_due(self, now: datetime) -> datetime | None:
        """The latest due time at or before ``now`` (looking back up to 8 days)."""
        last: datetime | None = None
        now = now.astimezone(UTC)
        for days in (2, 8):
            t = self.get_next_fire_time(None, now - timedelta(days=days) - self.lead)
            while t is not None and t + self.lead <= now:
                last = t + self.lead
                t = self.get_next_fire_time(t, t + timedelta(seconds=1))
            if last is not None:
                return last
        return None

    def __str__(self) -> str:
        return f"cron[{self.cron} {self.timezone}, lead {self.lead}]"


@dataclass(frozen=True, slots=True)
class PlannedJob:
    id: str
    kind: str  # edition | collect
    edition: str | None
    timezone: str | None  # a local-time delivery group
    trigger: LeadTrigger


def planned_jobs(c: Components) -> list[PlannedJob]:
    """The jobs the configuration asks for, with their stable ids."""
    settings = c.settings
    lead = timedelta(minutes=settings.lead_minutes)
    jobs: list[PlannedJob] = []
    if settings.scheduler.collect is not None:
        collect = settings.scheduler.collect
        jobs.append(
            PlannedJob(
                "collect",
                "collect",
                None,
                None,
                LeadTrigger(collect.cron, collect.timezone, timedelta(0)),
            )
        )
    zones: list[str] | None = None
    for edition in settings.editions:
        schedule = edition.schedule
        if not edition.local_time:
            trigger = LeadTrigger(schedule.cron, schedule.timezone, lead)
            jobs.append(
                PlannedJob(f"edition:{edition.name}", "edition", edition.name, None, trigger)
            )
            continue
        if zones is None:
            zones = c.store.subscribers.timezones()
        for zone in zones:
            trigger = LeadTrigger(schedule.cron, zone, lead)
            job_id = f"edition:{edition.name}@{zone}"
            jobs.append(PlannedJob(job_id, "edition", edition.name, zone, trigger))
    return jobs


def schedule_table(c: Components, now: datetime) -> list[dict[str, str]]:
    """Next fire and due times of every planned job, local and UTC (`digest schedule list`)."""
    rows = []
    for job in planned_jobs(c):
        fire = job.trigger.get_next_fire_time(None, now)
        due = job.trigger.due_after(fire) if fire else None
        zone = ZoneInfo(job.trigger.timezone)
        rows.append(
            {
                "job": job.id,
                "cron": job.trigger.cron,
                "timezone": job.trigger.timezone,
                "next_fire_utc": fire.astimezone(ZoneInfo("UTC")).isoformat() if fire else "",
                "next_due_local": due.astimezone(zone).isoformat() if due else "",
                "next_due_utc": due.astimezone(ZoneInfo("UTC")).isoformat() if due else "",
            }
        )
    return rows
