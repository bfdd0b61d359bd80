"""Scheduler wiring: one job per edition, stable ids, the edition's cron in its time zone."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler

from digest.components import build_components
from digest.models import RunReport
from digest.scheduler import add_edition_jobs
from digest.settings import load_settings
from digest.transports import MemoryTransport


def test_each_edition_fires_at_its_local_time(project: Path) -> None:
    settings = load_settings(project, {})
    components = build_components(settings, transport=MemoryTransport())
    runs: list[str] = []

    def run(_c: object, name: str) -> RunReport:
        runs.append(name)
        return RunReport()

    scheduler = BackgroundScheduler(timezone="UTC")
    ids = add_edition_jobs(scheduler, components, run)
    # Adding again replaces: restarts never duplicate jobs.
    assert add_edition_jobs(scheduler, components, run) == ids == ["edition:morning"]
    scheduler.start(paused=True)
    try:
        [job] = scheduler.get_jobs()
        local = job.next_run_time.astimezone(ZoneInfo("Europe/Madrid"))
        assert (local.hour, local.minute) == (7, 0)
        assert job.coalesce is True and job.misfire_grace_time > 0
        job.func(*job.args)
        assert runs == ["morning"]
    finally:
        scheduler.shutdown(wait=False)
        components.close()
