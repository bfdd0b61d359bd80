"""APScheduler wiring only: each edition's cron schedule, in its time zone, calls
the pipeline."""

from __future__ import annotations

import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from digest.components import Components
from digest.errors import DigestError
from digest.models import RunReport

log = logging.getLogger(__name__)

MISFIRE_GRACE_SECONDS = 30 * 60


def add_edition_jobs(
    scheduler: BaseScheduler, components: Components, run: Callable[[Components, str], RunReport]
) -> list[str]:
    """One job per edition with a stable id, so re-adding replaces instead of duplicating."""
    ids = []
    for edition in components.settings.editions:
        job_id = f"edition:{edition.name}"
        scheduler.add_job(
            _job,
            CronTrigger.from_crontab(
                edition.schedule.cron, timezone=ZoneInfo(edition.schedule.timezone)
            ),
            args=(components, edition.name, run),
            id=job_id,
            name=f"{edition.title} ({edition.schedule.cron} {edition.schedule.timezone})",
            replace_existing=True,
            coalesce=True,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
            max_instances=1,
        )
        ids.append(job_id)
    return ids


def _job(components: Components, edition: str, run: Callable[[Components, str], RunReport]) -> None:
    try:
        report = run(components, edition)
    except DigestError as exc:
        log.error("edition %s failed: %s", edition, exc)
        return
    log.info(
        "edition %s: %d stories, %d delivered, %d failed",
        report.edition,
        report.stories,
        report.delivered,
        report.failed_deliveries,
    )


def run_scheduler(components: Components, run: Callable[[Components, str], RunReport]) -> None:
    """Block, running editions on their schedules until interrupted."""
    scheduler = BlockingScheduler(timezone="UTC")
    for job_id in add_edition_jobs(scheduler, components, run):
        job = scheduler.get_job(job_id)
        log.info("scheduled %s", job.name if job else job_id)
    scheduler.start()
