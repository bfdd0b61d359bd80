"""Schedules: an injected clock drives the runner (no sleeps) through DST changes,
double firings, restarts and two schedulers at once; a real APScheduler with the
SQLAlchemy job store shows misfires inside and outside the grace; a real
`digest scheduler` process stands by, reloads on SIGHUP and stops on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobEvent
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import text

from digest import pipeline
from digest.components import Components
from digest.delivery.transport import Envelope, MemoryTransport
from digest.models import RenderedMessage, Subscriber
from digest.scheduler.health import health
from digest.scheduler.plans import LeadTrigger, planned_jobs, schedule_table
from digest.scheduler.wiring import JOB_TABLE, Runner, sync_jobs, wait_for_lease
from tests.conftest import Clock, make_components


def utc(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _configure(project: Path, cron: str, timezone: str, extra: str = "") -> None:
    text_ = project.read_text().replace(
        'schedule = { cron = "0 7 * * *", timezone = "Europe/Madrid" }',
        f'schedule = {{ cron = "{cron}", timezone = "{timezone}" }}{extra}',
    )
    project.write_text(text_)


def _components(
    project: Path, clock: Clock, database_url: str | None = None, transport: object | None = None
) -> tuple[Components, MemoryTransport]:
    environ = {"DIGEST_DATABASE_URL": database_url} if database_url else {}
    memory = transport or MemoryTransport()
    c = make_components(project, clock=clock, transport=memory, environ=environ)  # type: ignore[arg-type]
    return c, memory  # type: ignore[return-value]


def _subscribers(c: Components) -> int:
    return len(c.subscribers())


# -- triggers -------------------------------------------------------------------------


def test_lead_trigger_fires_early_and_knows_its_due_time() -> None:
    trigger = LeadTrigger("0 7 * * *", "Europe/Madrid", timedelta(minutes=15))
    fire = trigger.get_next_fire_time(None, utc("2026-11-27T00:00:00"))
    assert fire == utc("2026-11-27T05:45:00")  # 06:45 in Madrid
    assert trigger.due_after(fire) == utc("2026-11-27T06:00:00")
    assert trigger.last_due(utc("2026-11-27T12:00:00")) == utc("2026-11-27T06:00:00")


def _fires(trigger: LeadTrigger, start: datetime, count: int) -> list[datetime]:
    out: list[datetime] = []
    previous, now = None, start
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, now)
        assert fire is not None
        # Compare in UTC: Python never finds a time in a DST fold equal to another zone's.
        out.append(fire.astimezone(UTC))
        previous, now = fire, fire.astimezone(UTC) + timedelta(seconds=1)
    return out


@pytest.mark.parametrize(
    ("timezone", "cron", "start", "expected"),
    [
        # Fall-back: 01:30 happens twice in New York on 1 November; APScheduler 3 fires both.
        (
            "America/New_York",
            "30 1 * * *",
            "2026-10-31T12:00:00",
            ["2026-11-01T05:30:00", "2026-11-01T06:30:00", "2026-11-02T06:30:00"],
        ),
        # Spring-forward: 02:30 does not exist on 8 March; it fires once, an hour on.
        (
            "America/New_York",
            "30 2 * * *",
            "2026-03-07T12:00:00",
            ["2026-03-08T07:30:00", "2026-03-09T06:30:00"],
        ),
        (
            "Europe/Madrid",
            "30 2 * * *",
            "2026-10-24T12:00:00",
            ["2026-10-25T00:30:00", "2026-10-25T01:30:00", "2026-10-26T01:30:00"],
        ),
        (
            "Europe/Madrid",
            "30 2 * * *",
            "2026-03-28T12:00:00",
            ["2026-03-29T01:30:00", "2026-03-30T00:30:00"],
        ),
        # 07:00 stays 07:00 local across the change.
        (
            "Europe/Madrid",
            "0 7 * * *",
            "2026-10-24T12:00:00",
            ["2026-10-25T06:00:00", "2026-10-26T06:00:00"],
        ),
    ],
    ids=[
        "ny-fall-back",
        "ny-spring-forward",
        "madrid-fall-back",
        "madrid-spring-forward",
        "madrid-0700",
    ],
)
def test_dst_fire_times(timezone: str, cron: str, start: str, expected: list[str]) -> None:
    trigger = LeadTrigger(cron, timezone, timedelta(0))
    assert _fires(trigger, utc(start), len(expected)) == [utc(e) for e in expected]


# -- once per period ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timezone", "first", "second", "period"),
    [
        ("America/New_York", "2026-11-01T05:30:00", "2026-11-01T06:30:00", "2026-11-01"),
        ("Europe/Madrid", "2026-10-25T00:30:00", "2026-10-25T01:30:00", "2026-10-25"),
    ],
    ids=["new-york", "madrid"],
)
def test_double_firing_at_fall_back_sends_once(
    project: Path, database_url: str, timezone: str, first: str, second: str, period: str
) -> None:
    cron = "30 1 * * *" if timezone == "America/New_York" else "30 2 * * *"
    _configure(project, cron, timezone)
    clock = Clock(utc(first))
    c, sent = _components(project, clock, database_url)
    runner = Runner(c)
    runner.edition("morning", None)
    clock.now = utc(second)
    runner.edition("morning", None)
    people = _subscribers(c)
    assert len(sent.sent) == people
    stored = c.store.editions.get("morning", period)
    assert stored is not None and stored.status == "sent"
    assert c.store.ledger.counts(stored.id) == {"accepted": people}
    assert [r.status for r in c.store.runs.recent(edition="morning")] == ["ok", "ok"]
    c.close()


def test_spring_forward_day_sends_once(project: Path) -> None:
    _configure(project, "30 2 * * *", "America/New_York")
    trigger = LeadTrigger("30 2 * * *", "America/New_York", timedelta(0))
    [fire] = _fires(trigger, utc("2026-03-08T00:00:00"), 1)
    c, sent = _components(project, Clock(fire))
    Runner(c).edition("morning", None)
    assert len(sent.sent) == _subscribers(c)
    assert c.store.editions.get("morning", "2026-03-08") is not None


def stop_after_first(stop: threading.Event) -> MemoryTransport:
    """Asks the process to stop after the first envelope (as SIGTERM would)."""

    def handler(envelope: Envelope) -> None:
        stop.set()

    return MemoryTransport(handler, max_recipients=1)


def test_restart_mid_run_resumes_without_repeats(project: Path) -> None:
    clock = Clock(utc("2026-11-27T06:00:00"))
    stop = threading.Event()
    first = stop_after_first(stop)
    c, _ = _components(project, clock, transport=first)
    c.stop = stop
    report = pipeline.run(c, None)
    assert len(first.sent) == 1 and "stopped on request" in " ".join(report.notes)
    c.close()
    again, memory = _components(project, clock)  # the restarted process
    pipeline.run(again, None)
    delivered = [m.to.email for m in first.sent + memory.sent]
    assert sorted(delivered) == sorted(s.email for s in again.subscribers())


def slow_memory(log: list[RenderedMessage]) -> MemoryTransport:
    """Both processes write to one list: what subscribers receive."""
    return MemoryTransport(lambda envelope: time.sleep(0.05), max_recipients=1, sent=log)


def test_two_schedulers_at_once_send_one_edition_once(project: Path, database_url: str) -> None:
    clock = Clock(utc("2026-11-27T06:00:00"))
    received: list[RenderedMessage] = []
    one, _ = _components(project, clock, database_url, slow_memory(received))
    two, _ = _components(project, clock, database_url, slow_memory(received))
    threads = [
        threading.Thread(target=Runner(c).edition, args=("morning", None)) for c in (one, two)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    people = _subscribers(one)
    assert sorted(m.to.email for m in received) == sorted(s.email for s in one.subscribers())
    stored = one.store.editions.get("morning", "2026-11-27")
    assert stored is not None and one.store.ledger.counts(stored.id) == {"accepted": people}
    statuses = sorted(r.status for r in one.store.runs.recent(edition="morning"))
    assert statuses in (["ok", "skipped"], ["ok", "ok"])  # the later one found nothing to do
    for c in (one, two):
        c.close()


def test_only_one_process_holds_the_scheduler_lease(project: Path, database_url: str) -> None:
    project.write_text(project.read_text() + "\n[scheduler]\nlease_seconds = 6\n")
    clock = Clock(datetime.now(UTC))
    one, _ = _components(project, clock, database_url)
    two, _ = _components(project, clock, database_url)
    assert wait_for_lease(one)
    got = threading.Event()
    waiter = threading.Thread(target=lambda: wait_for_lease(two) and got.set())
    waiter.start()
    assert not got.wait(1.0)  # the second stands by
    one.store.leases.release("scheduler", one.holder)
    assert got.wait(10.0)
    two.stop.set()
    waiter.join(timeout=5)


def test_local_time_delivery_by_time_zone_group(project: Path) -> None:
    _configure(project, "0 7 * * *", "Europe/Madrid", "\nlocal_time = true")
    clock = Clock(utc("2026-11-27T23:00:00"))  # 07:00 on the 28th in Singapore
    c, sent = _components(project, clock)
    c.store.subscribers.upsert(c.subscribers(), clock())
    ids = [j.id for j in planned_jobs(c) if j.kind == "edition"]
    assert ids == [
        "edition:morning@America/New_York",
        "edition:morning@Asia/Singapore",
        "edition:morning@Europe/London",
        "edition:morning@Europe/Madrid",
    ]
    runner = Runner(c)
    runner.edition("morning", "Asia/Singapore")
    assert [m.to.email for m in sent.sent] == ["chen.wei@mail.example"]
    clock.now = utc("2026-11-28T07:00:00")  # 07:00 in London
    runner.edition("morning", "Europe/London")
    assert [m.to.email for m in sent.sent] == ["chen.wei@mail.example", "ben.okafor@mail.example"]
    stored = c.store.editions.get("morning", "2026-11-28")
    assert stored is not None  # one edition for the date, built by the first group


# -- APScheduler itself: job store, misfires ----------------------------------------------

fired_jobs: list[str] = []


def record_fire(name: str) -> None:
    fired_jobs.append(name)


@pytest.fixture
def background(tmp_path: Path) -> Iterator[BackgroundScheduler]:
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{tmp_path / 'jobs.db'}")},
        timezone="UTC",
    )
    yield scheduler
    if scheduler.running:
        scheduler.shutdown(wait=False)


@pytest.mark.parametrize(
    ("late_minutes", "runs"), [(20, True), (120, False)], ids=["inside-grace", "outside-grace"]
)
def test_misfire_grace(background: BackgroundScheduler, late_minutes: int, runs: bool) -> None:
    fired_jobs.clear()
    done = threading.Event()
    outcome: list[int] = []

    def listen(event: JobEvent) -> None:
        outcome.append(event.code)
        done.set()

    background.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED)
    background.start(paused=True)
    # A daily time half a day away from now: no regular firing falls inside the late
    # window, whatever the hour the test runs at (at 07:00-09:00 Madrid time a fixed
    # "0 7" would fire once more inside the window and be coalesced into a run).
    hour = (datetime.now(ZoneInfo("Europe/Madrid")) + timedelta(hours=12)).hour
    background.add_job(
        record_fire,
        LeadTrigger(f"0 {hour} * * *", "Europe/Madrid", timedelta(0)),
        args=("morning",),
        id="edition:morning",
        coalesce=True,
        misfire_grace_time=30 * 60,
    )
    # The scheduler was down when the edition was due, `late_minutes` ago.
    background.modify_job(
        "edition:morning", next_run_time=datetime.now(UTC) - timedelta(minutes=late_minutes)
    )
    background.resume()
    assert done.wait(10)
    assert outcome == [EVENT_JOB_EXECUTED if runs else EVENT_JOB_MISSED]
    assert fired_jobs == (["morning"] if runs else [])
    job = background.get_job("edition:morning")
    assert job is not None and job.next_run_time > datetime.now(UTC)  # on to the next day


def test_jobs_are_stable_across_restarts(project: Path, tmp_path: Path) -> None:
    c, _ = _components(project, Clock(datetime.now(UTC)))
    url = f"sqlite:///{tmp_path / 'jobs.db'}"

    def scheduler() -> BackgroundScheduler:
        s = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=url)}, timezone="UTC")
        s.start(paused=True)
        return s

    first = scheduler()
    assert sync_jobs(first, c) == ["collect", "edition:morning"]
    sync_jobs(first, c)
    first.shutdown(wait=False)
    second = scheduler()  # a restart on the same job store
    assert sorted(j.id for j in second.get_jobs()) == ["collect", "edition:morning"]
    project.write_text(
        project.read_text().replace("[scheduler]", "[scheduler_]")
        + '\n[scheduler]\ncollect = { cron = "15 * * * *", timezone = "UTC" }\n'
    )
    c2, _ = _components(project, Clock(datetime.now(UTC)))
    sync_jobs(second, c2)
    assert sorted(j.id for j in second.get_jobs()) == ["collect", "edition:morning"]
    assert "15 * * * *" in str(second.get_job("collect").trigger)  # type: ignore[union-attr]
    second.shutdown(wait=False)


# -- operations ---------------------------------------------------------------------------


def test_health_turns_unhealthy_when_an_edition_is_overdue(project: Path) -> None:
    clock = Clock(utc("2026-11-27T05:00:00"))  # 06:00 in Madrid
    c, _ = _components(project, clock)
    assert health(c, clock())["healthy"] is True  # a new installation: nothing overdue
    Runner(c).collect()  # the scheduler is up and collecting
    assert health(c, clock())["healthy"] is True
    clock.now = utc("2026-11-27T06:40:00")  # 07:40 in Madrid: due at 07:00, grace 30 min
    status = health(c, clock())
    assert status["healthy"] is False and status["editions"]["morning"]["overdue"] is True
    pipeline.run(c, None)
    status = health(c, clock())
    assert status["healthy"] is True and status["editions"]["morning"]["last_success"]


def test_an_edition_held_for_approval_is_reported_not_overdue(project: Path) -> None:
    text = project.read_text(encoding="utf-8")
    project.write_text(
        text.replace('name = "morning"\n', 'name = "morning"\nrequires_approval = true\n')
    )
    clock = Clock(utc("2026-11-27T05:00:00"))
    c, _ = _components(project, clock)
    Runner(c).collect()
    clock.now = utc("2026-11-27T06:00:00")  # due
    Runner(c).edition("morning", None)
    clock.now = utc("2026-11-27T06:40:00")
    status = health(c, clock())
    morning = status["editions"]["morning"]
    assert morning["held_for_approval"] is True and morning["overdue"] is False
    assert status["healthy"] is True
    stored = c.store.editions.latest("morning")
    assert stored is not None and stored.status == "draft"
    assert c.store.ledger.counts(stored.id) == {}


def test_schedule_table_local_and_utc(project: Path) -> None:
    c, _ = _components(project, Clock(utc("2026-11-27T12:00:30")))
    rows = {r["job"]: r for r in schedule_table(c, c.clock())}
    assert rows["edition:morning"]["next_due_local"] == "2026-11-28T07:00:00+01:00"
    assert rows["edition:morning"]["next_due_utc"] == "2026-11-28T06:00:00+00:00"
    assert rows["collect"]["next_due_utc"] == "2026-11-27T13:00:00+00:00"


# -- the real process -----------------------------------------------------------------------


def _cli(*args: str, project: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "digest", *args, "--config", str(project)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.mark.slow
def test_run_now_replays_a_missed_day_and_runs_lists_it(project: Path) -> None:
    result = _cli("run", "--now", "2026-11-20T06:30:00+00:00", project=project)
    assert result.returncode == 0, result.stderr
    assert "morning/2026-11-20" in result.stdout
    runs = json.loads(_cli("runs", "--json", project=project).stdout)
    assert (
        runs[0]["edition"] == "morning"
        and runs[0]["period"] == "2026-11-20"
        and runs[0]["status"] == "ok"
    )
    listed = json.loads(_cli("schedule", "list", "--json", project=project).stdout)
    assert {row["job"] for row in listed} == {"collect", "edition:morning"}


def _start(project: Path) -> subprocess.Popen[str]:
    env = {"PATH": os.environ.get("PATH", ""), "COLUMNS": "200"}
    return subprocess.Popen(
        [sys.executable, "-m", "digest", "scheduler", "--config", str(project)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for(
    proc: subprocess.Popen[str], needle: str, lines: list[dict[str, str]], timeout: float = 90
) -> None:
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            time.sleep(0.05)
            continue
        record = json.loads(line)  # structured logs: one JSON object a line
        lines.append(record)
        if needle in record["message"]:
            return
    raise AssertionError(f"{needle!r} not logged; got {[r['message'] for r in lines]}")


@pytest.mark.slow
def test_scheduler_process_stands_by_reloads_and_stops(project: Path) -> None:
    project.write_text(
        project.read_text() + '\n[scheduler]\nlease_seconds = 6\n\n[logging]\nformat = "json"\n'
    )
    first_lines: list[dict[str, str]] = []
    second_lines: list[dict[str, str]] = []
    first = _start(project)
    try:
        _wait_for(first, "scheduled edition:morning", first_lines)
        second = _start(project)
        _wait_for(second, "standing by", second_lines)
        # SIGHUP: a new edition appears in the job store.
        project.write_text(
            project.read_text()
            + '\n[[editions]]\nname = "evening"\ntitle = "Evening"\nschedule = { cron = "0 19 * * *", timezone = "UTC" }\n'
        )
        first.send_signal(signal.SIGHUP)
        _wait_for(first, "configuration reloaded", first_lines)
        db = project.parent.parent / "var" / "digest.db"
        from sqlalchemy import create_engine

        engine = create_engine(f"sqlite:///{db}")
        with engine.connect() as conn:
            ids = set(conn.scalars(text(f"select id from {JOB_TABLE}")))
        assert ids == {"collect", "edition:morning", "edition:evening"}
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=60) == 0
        # The lease is released: the stand-by takes over.
        _wait_for(second, "scheduled edition:morning", second_lines)
        second.send_signal(signal.SIGTERM)
        try:
            code = second.wait(timeout=60)
        except subprocess.TimeoutExpired:
            second.kill()
            rest = second.stderr.read() if second.stderr else ""
            raise AssertionError(
                f"the stand-by did not stop; it logged: {second_lines[-5:]} {rest[-2000:]}"
            ) from None
        assert code == 0
    finally:
        for proc in (first, locals().get("second")):
            if proc is not None and proc.poll() is None:
                proc.kill()


def test_a_time_zone_chosen_later_gets_its_job_without_touching_the_others(
    project: Path, tmp_path: Path
) -> None:
    _configure(project, "0 7 * * *", "Europe/Madrid", "\nlocal_time = true")
    c, _ = _components(project, Clock(datetime.now(UTC)))
    c.store.subscribers.upsert(c.subscribers(), c.clock())
    s = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=f"sqlite:///{tmp_path / 'jobs.db'}")},
        timezone="UTC",
    )
    s.start(paused=True)
    sync_jobs(s, c)
    before = {j.id: j.next_run_time for j in s.get_jobs()}
    assert "edition:morning@Asia/Tokyo" not in before
    c.store.subscribers.upsert([Subscriber("new@mail.example", timezone="Asia/Tokyo")], c.clock())
    assert sync_jobs(s, c, only_new=True) == ["edition:morning@Asia/Tokyo"]
    after = {j.id: j.next_run_time for j in s.get_jobs()}
    assert {k: v for k, v in after.items() if k in before} == before
    assert sync_jobs(s, c, only_new=True) == []
    s.shutdown(wait=False)


def test_a_local_time_group_gets_its_own_date_in_the_subject(project: Path) -> None:
    """Built at 23:00 UTC for Singapore (07:00 on the 28th there) while the edition's
    own time zone (New York) is still on the 27th: period and subject say the 28th."""
    _configure(project, "0 7 * * *", "America/New_York", "\nlocal_time = true")
    clock = Clock(utc("2026-11-27T23:00:00"))
    c, sent = _components(project, clock)
    c.store.subscribers.upsert(c.subscribers(), clock())
    Runner(c).edition("morning", "Asia/Singapore")
    stored = c.store.editions.get("morning", "2026-11-28")
    assert stored is not None
    assert stored.edition.subject.endswith("2026-11-28")
    assert [m.subject for m in sent.sent] == [stored.edition.subject]
