"""The pieces of self-healing delivery, in one process with injected clocks: leases
that notice death, what catch-up resumes and when, what monitoring reports, alerts
once per problem, and rate limits shared through the database."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digest import pipeline
from digest.components import Components
from digest.delivery.transport import Envelope, MemoryTransport
from digest.editorial import actions
from digest.errors import EditionBusy, TransportAuthError
from digest.models import RunReport
from digest.scheduler.catchup import to_expire, to_resume
from digest.scheduler.health import health
from digest.scheduler.wiring import Runner
from digest.store.database import open_store
from digest.store.editions import edition_version
from digest.store.leases import Heartbeat, Leases
from digest.store.limits import RateHits
from tests.conftest import Clock, LocalServer, make_components


def utc(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


DUE = utc("2026-11-27T06:00:00")  # 07:00 in Madrid, the shipped edition's time


@pytest.fixture
def clock() -> Clock:
    return Clock(DUE + timedelta(minutes=1))


@pytest.fixture
def c(project: Path, clock: Clock) -> Iterator[Components]:
    made = make_components(project, clock=clock, transport=MemoryTransport())
    made.sleep = clock.sleep
    try:
        yield made
    finally:
        made.close()


# -- leases -------------------------------------------------------------------------------


def test_a_lease_of_a_dead_process_on_this_host_is_taken_at_once(database_url: str) -> None:
    store = open_store(database_url)
    now = datetime.now(UTC)
    gone: set[str] = set()
    leases = Leases(store.engine, gone=lambda holder: holder in gone)
    assert leases.acquire("edition:morning", "host:111:dead", timedelta(minutes=10), now)
    assert not leases.acquire("edition:morning", "host:222:live", timedelta(minutes=10), now)
    gone.add("host:111:dead")  # its process ended (kill -9)
    other = Leases(store.engine, gone=lambda holder: holder in gone)
    assert other.acquire("edition:morning", "host:333:new", timedelta(seconds=30), now)
    current = other.current("edition:morning", now)
    assert current is not None and current.holder == "host:333:new"
    store.close()


def test_a_live_holder_keeps_its_lease_and_a_lapsed_one_is_taken(database_url: str) -> None:
    store = open_store(database_url)
    leases = Leases(store.engine, gone=lambda holder: False)
    start = datetime.now(UTC)
    assert leases.acquire("scheduler", "a", timedelta(seconds=15), start)
    assert not leases.acquire(
        "scheduler", "b", timedelta(seconds=15), start + timedelta(seconds=10)
    )
    assert leases.acquire("scheduler", "b", timedelta(seconds=15), start + timedelta(seconds=16))
    store.close()


def test_a_heartbeat_renews_and_notices_when_the_lease_is_taken(database_url: str) -> None:
    store = open_store(database_url)
    leases = Leases(store.engine, gone=lambda holder: False)
    beat = Heartbeat(leases, "edition:x", "me", timedelta(seconds=0.6), lambda: datetime.now(UTC))
    assert beat.start()
    time.sleep(1.0)  # longer than the time to live: only renewals keep it
    assert leases.holder("edition:x", datetime.now(UTC)) == "me"
    # Someone takes it (as after a pause longer than the time to live).
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE leases SET holder = 'thief' WHERE name = 'edition:x'")
    assert beat.lost.wait(2.0)
    beat.stop()
    assert leases.holder("edition:x", datetime.now(UTC)) == "thief"  # not released by the loser
    store.close()


def test_a_second_sender_of_one_edition_is_told_who_holds_it(c: Components) -> None:
    pipeline.collect(c, RunReport())
    stored = pipeline.build(c, None, RunReport())
    with pipeline.edition_lease(c, "morning"):
        other = make_components(c.settings, clock=c.clock, transport=MemoryTransport())
        try:
            with pytest.raises(EditionBusy, match=r"is being sent by .*its lease runs until"):
                pipeline.send_stored(other, stored, RunReport())
            report = pipeline.run(other, None)
            assert report.skipped and "is being sent by" in report.notes[-1]
        finally:
            other.close()
    statuses = [r.status for r in c.store.runs.recent(edition="morning")]
    assert statuses[:2] == ["skipped", "skipped"]


# -- catch-up -----------------------------------------------------------------------------


def test_a_missed_firing_is_run_within_the_grace_and_not_after(c: Components, clock: Clock) -> None:
    clock.now = DUE + timedelta(minutes=20)
    [missed] = to_resume(c, clock())
    assert missed.missed and missed.due == DUE and missed.period == "2026-11-27"
    clock.now = DUE + timedelta(minutes=31)  # past the 30-minute misfire grace
    assert to_resume(c, clock()) == []


def test_an_interrupted_send_is_resumed_until_the_deadline(c: Components, clock: Clock) -> None:
    stop_after_one = MemoryTransport(lambda e: c.stop.set(), max_recipients=1)
    c.transport = stop_after_one
    report = pipeline.run(c, None, due=DUE)  # a SIGTERM after the first message
    assert "stopped on request" in " ".join(report.notes)
    c.stop.clear()
    clock.now = DUE + timedelta(hours=5)
    [resume] = to_resume(c, clock())
    assert not resume.missed and resume.deadline == utc("2026-11-27T23:00:00")  # midnight, Madrid
    c.transport = MemoryTransport()
    Runner(c).catch_up()
    assert {m.to.email for m in c.transport.sent} | {m.to.email for m in stop_after_one.sent} == {
        s.email for s in c.subscribers()
    }
    assert to_resume(c, clock()) == []  # finished
    statuses = [r.status for r in c.store.runs.recent(edition="morning")]
    assert statuses[:2] == ["ok", "partial"]


def test_past_the_deadline_the_rest_stays_undelivered_and_monitoring_says_so(
    project: Path, clock: Clock
) -> None:
    text = project.read_text().replace(
        'name = "morning"\n', 'name = "morning"\ndeliver_until = "2h"\n'
    )
    project.write_text(text)
    c = make_components(project, clock=clock, transport=MemoryTransport(lambda e: None))
    c.stop.set()  # stopped before the first batch
    pipeline.run(c, None, due=DUE)
    c.stop.clear()
    clock.now = DUE + timedelta(hours=3)
    assert to_resume(c, clock()) == []  # past deliver_until: not resumed
    status = health(c, clock())["editions"]["morning"]
    assert status["deadline_passed"] and status["pending"] == len(c.subscribers())
    assert "past its deadline" in " ".join(status["problems"])
    c.close()


def test_a_held_edition_is_never_resumed_before_approval(project: Path, clock: Clock) -> None:
    text = project.read_text().replace(
        'name = "morning"\n', 'name = "morning"\nrequires_approval = true\n'
    )
    project.write_text(text)
    c = make_components(project, clock=clock, transport=MemoryTransport())
    Runner(c).edition("morning", None)
    assert c.store.runs.recent(1)[0].status == "held"
    clock.now = DUE + timedelta(hours=2)
    assert to_resume(c, clock()) == []
    Runner(c).catch_up()
    assert c.transport.sent == []  # type: ignore[attr-defined]
    assert health(c, clock())["editions"]["morning"]["held_for_approval"] is True
    c.close()


# -- monitoring ---------------------------------------------------------------------------


def test_unfinished_with_nobody_to_finish_it_is_unhealthy_at_once(
    c: Components, clock: Clock
) -> None:
    c.transport = MemoryTransport(lambda e: c.stop.set(), max_recipients=1)
    pipeline.run(c, None, due=DUE)
    c.stop.clear()
    status = health(c, clock())  # a minute after the due time, no scheduler lease
    assert status["healthy"] is False
    assert "no scheduler holds the lease" in " ".join(status["editions"]["morning"]["problems"])
    c.store.leases.acquire("scheduler", "someone", timedelta(minutes=1), datetime.now(UTC))
    assert health(c, clock())["healthy"] is True  # a scheduler will finish it: not yet late
    clock.now = DUE + timedelta(minutes=16)  # the alert grace (15 min) passed
    status = health(c, clock())
    assert status["healthy"] is False
    assert "unfinished past its due time" in " ".join(status["editions"]["morning"]["problems"])
    edition = status["editions"]["morning"]
    assert edition["delivered"] == 1 and edition["pending"] == len(c.subscribers()) - 1


# -- alerts -------------------------------------------------------------------------------


def test_an_alert_is_sent_once_per_problem_and_its_end_is_logged(
    project: Path, clock: Clock, local_server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    received: list[dict[str, object]] = []

    def hook(handler) -> None:  # type: ignore[no-untyped-def]
        length = int(handler.headers["Content-Length"])
        received.append(json.loads(handler.rfile.read(length)))
        handler.send_response(204)
        handler.end_headers()

    local_server.handlers["/hook"] = hook
    project.write_text(
        project.read_text()
        + f'\n[alerts]\nemail = "ops@news.example"\nwebhook_url = "{local_server.url}/hook"\n'
    )
    mail = MemoryTransport()
    c = make_components(project, clock=clock, transport=mail)
    ambiguous = MemoryTransport(_ambiguous, max_recipients=1)
    c.transport = ambiguous
    pipeline.run(c, None, due=DUE)
    c.transport = mail
    clock.now = DUE + timedelta(minutes=20)
    runner = Runner(c)
    runner.catch_up()
    runner.catch_up()  # the same problem: no second alert
    alerts = [m for m in mail.sent if m.to.email == "ops@news.example"]
    assert len(alerts) == 1 and "ambiguous" in alerts[0].subject
    assert [r["kind"] for r in received] == ["ambiguous"]
    with c.store.engine.begin() as conn:  # the operator checked and settled them
        conn.exec_driver_sql("UPDATE deliveries SET state = 'accepted' WHERE state = 'ambiguous'")
    with caplog.at_level(logging.WARNING):
        runner.catch_up()
    assert any("resolved: ambiguous:morning/2026-11-27" in r.getMessage() for r in caplog.records)
    c.close()


def _ambiguous(envelope: Envelope) -> None:
    from digest.errors import AmbiguousDeliveryError

    raise AmbiguousDeliveryError("timed out after sending")


def test_a_refused_key_stops_the_send_and_alerts(project: Path, clock: Clock) -> None:
    project.write_text(project.read_text() + '\n[alerts]\nemail = "ops@news.example"\n')
    c = make_components(project, clock=clock, transport=MemoryTransport())

    def refused(envelope: Envelope) -> None:
        if envelope.recipients[0].subscriber.email != "ops@news.example":
            raise TransportAuthError("HTTP 401: bad key")

    c.transport = MemoryTransport(refused)
    Runner(c).edition("morning", None)
    alerts = [m for m in c.transport.sent if m.to.email == "ops@news.example"]  # type: ignore[attr-defined]
    assert len(alerts) == 1 and "HTTP 401" in alerts[0].text
    c.close()


# -- rate limits across processes ---------------------------------------------------------


def test_two_web_processes_share_one_allowance(database_url: str) -> None:
    one, two = open_store(database_url), open_store(database_url)
    now = [datetime.now(UTC)]
    first = RateHits(one.engine, lambda: now[0]).limiter("signup", 5, 600)
    second = RateHits(two.engine, lambda: now[0]).limiter("signup", 5, 600)
    allowed = [(first if i % 2 else second).allow("203.0.113.7") for i in range(8)]
    assert allowed == [True] * 5 + [False] * 3
    assert first.retry_after("203.0.113.7") > 0
    now[0] += timedelta(minutes=11)
    assert second.allow("203.0.113.7")
    one.close()
    two.close()


def test_threads_of_one_sender_and_the_heartbeat_do_not_block_each_other(c: Components) -> None:
    """A long render holds nothing: the heartbeat renews from its own thread."""
    done = threading.Event()
    with pipeline.edition_lease(c, "morning") as lease:
        time.sleep(0.1)
        done.set()
    assert done.is_set() and not lease.lost.is_set()
    assert c.store.leases.holder("edition:morning", datetime.now(UTC)) is None  # released


# -- a crash (kill -9) of a run, then catch-up: the truth afterwards ------------------------


class Files(MemoryTransport):
    """An idempotent transport (as the outbox): a batch in flight at a crash is sent
    again, so the edition ends delivered to everyone."""

    idempotent = True


DEAD = "deadhost:4242:cafebabe"  # a holder whose process is gone


def _killed_mid_send(project: Path, clock: Clock, due: datetime) -> None:
    """A run of another process that dies (kill -9) in its third batch: its run is
    left ``running``, its rows in flight ``sending``."""
    calls = []

    def dies(envelope: Envelope) -> None:
        calls.append(envelope)
        if len(calls) == 3:
            raise KeyboardInterrupt  # nothing after this runs in that process

    dead = make_components(project, clock=clock, transport=Files(dies, max_recipients=1))
    dead.holder = DEAD
    try:
        with pytest.raises(KeyboardInterrupt):
            pipeline.run(dead, None, due=due)
        # kill -9 leaves the lease too (the heartbeat was stopped above: renew no more).
        dead.store.leases.acquire("edition:morning", DEAD, timedelta(seconds=30), datetime.now(UTC))
    finally:
        dead.close()


def test_after_a_kill_and_a_catch_up_the_edition_is_not_called_overdue(
    project: Path, clock: Clock
) -> None:
    c = make_components(project, clock=clock, transport=Files())
    c.store.leases.gone = c.store.ledger.gone = lambda holder: holder == DEAD
    clock.now = DUE - timedelta(days=1) + timedelta(minutes=1)
    assert pipeline.run(c, None, due=DUE - timedelta(days=1)).failed_deliveries == 0  # day 1
    clock.now = DUE + timedelta(minutes=1)
    _killed_mid_send(project, clock, DUE)  # day 2
    assert c.store.runs.recent(1)[0].status == "running"
    clock.now = DUE + timedelta(minutes=2)
    Runner(c).catch_up()
    people = {s.email for s in c.subscribers()}
    assert {m.to.email for m in c.transport.sent} == people  # type: ignore[attr-defined]
    kinds = [(r.kind, r.status) for r in c.store.runs.recent(3, edition="morning")]
    assert kinds == [("catch-up", "ok"), ("run", "interrupted"), ("run", "ok")]
    interrupted = c.store.runs.recent(2, edition="morning")[1]
    assert interrupted.holder == DEAD and DEAD in (interrupted.error or "")
    for minutes in (20, 40, 6 * 60):  # past the misfire grace, to the end of the day
        clock.now = DUE + timedelta(minutes=minutes)
        status = health(c, clock())
        morning = status["editions"]["morning"]
        assert status["healthy"] is True, morning["problems"]
        assert morning["overdue"] is False and morning["delivered"] == len(people)
        assert morning["last_success"] == (DUE + timedelta(minutes=2)).isoformat()
    c.close()


def test_a_day_with_no_run_at_all_is_still_overdue(project: Path, clock: Clock) -> None:
    c = make_components(project, clock=clock, transport=MemoryTransport())
    clock.now = DUE - timedelta(days=1) + timedelta(minutes=1)
    pipeline.run(c, None, due=DUE - timedelta(days=1))
    clock.now = DUE + timedelta(minutes=40)  # nothing ran today
    morning = health(c, clock())["editions"]["morning"]
    assert morning["overdue"] is True and morning["healthy"] is False
    assert "overdue: no run since it was due" in morning["problems"]
    c.close()


def test_a_run_of_a_live_process_is_never_closed(project: Path, clock: Clock) -> None:
    c = make_components(project, clock=clock, transport=MemoryTransport())
    live = "otherhost:77:alive"
    c.store.leases.gone = lambda holder: False
    run_id = c.store.runs.start("run", "morning", None, clock(), holder=live)
    c.store.leases.acquire("edition:morning", live, timedelta(seconds=30), datetime.now(UTC))
    clock.now += timedelta(minutes=5)  # longer than the lease lives: judged by the lease
    Runner(c).catch_up()
    assert [r.status for r in c.store.runs.recent(edition="morning") if r.id == run_id] == [
        "running"
    ]
    c.store.leases.release("edition:morning", live)  # its lease lapsed: it is gone
    Runner(c).catch_up()
    assert [r.status for r in c.store.runs.recent(edition="morning") if r.id == run_id] == [
        "interrupted"
    ]
    c.close()


def test_a_run_that_ends_on_an_unexpected_error_is_recorded_failed(
    project: Path, clock: Clock
) -> None:
    """Not left "running" by a live process (which nobody would close)."""

    def broken(envelope: Envelope) -> None:
        raise RuntimeError("a bug in a transport")

    c = make_components(project, clock=clock, transport=MemoryTransport(broken, max_recipients=1))
    with pytest.raises(RuntimeError):
        pipeline.run(c, None, due=DUE)  # three batches in a row fail: the send stops
    run = c.store.runs.recent(1)[0]
    assert (run.status, run.error) == ("failed", "RuntimeError: a bug in a transport")
    c.close()


# -- the deadline ---------------------------------------------------------------------------


def test_a_send_that_crosses_its_deadline_is_recorded_expired(project: Path, clock: Clock) -> None:
    project.write_text(
        project.read_text().replace(
            'name = "morning"\n', 'name = "morning"\ndeliver_until = "1h"\n'
        )
    )
    c = make_components(project, clock=clock, transport=MemoryTransport())

    def slow(envelope: Envelope) -> None:
        clock.now += timedelta(minutes=40)  # each batch takes 40 minutes
        return None

    c.transport = MemoryTransport(slow, max_recipients=1)
    report = pipeline.run(c, None, due=DUE)
    assert report.expired and any("past the deadline" in n for n in report.notes)
    assert len(c.transport.sent) == 2  # type: ignore[attr-defined]  # at 06:41 and 07:21
    run = c.store.runs.recent(1)[0]
    assert (run.kind, run.status) == ("run", "expired")
    stored = c.store.editions.latest("morning")
    assert stored is not None
    assert c.store.ledger.counts(stored.id)["pending"] == len(c.subscribers()) - 2
    c.close()


# -- local-time editions --------------------------------------------------------------------


def test_a_local_time_group_is_resumed_with_its_own_due_time_and_deadline(
    project: Path,
) -> None:
    text = project.read_text().replace(
        'name = "morning"\n', 'name = "morning"\nlocal_time = true\n'
    )
    project.write_text(text)
    extra = "".join(f"sg{i}@mail.example,SG {i},Asia/Singapore,\n" for i in range(4))
    listed = project.parent / "subscribers.csv"
    listed.write_text(listed.read_text() + extra)
    singapore = {"chen.wei@mail.example", *(f"sg{i}@mail.example" for i in range(4))}
    due = utc("2026-11-27T23:00:00")  # 07:00 on the 28th in Singapore
    clock = Clock(due)
    c = make_components(project, clock=clock, transport=MemoryTransport())
    c.store.subscribers.upsert(c.subscribers(), clock())
    first = MemoryTransport(lambda e: c.stop.set(), max_recipients=1)  # SIGTERM after one
    c.transport = first
    Runner(c).edition("morning", "Asia/Singapore")  # fired at its time
    c.stop.clear()
    assert len(first.sent) == 1
    # Resumed before Singapore's midnight (16:00 UTC), which is its deadline: not the
    # edition's own time zone's (Madrid: 23:00 UTC).
    clock.now = utc("2026-11-28T15:59:00")
    [resume] = to_resume(c, clock())
    assert (resume.timezone, resume.due, resume.period) == ("Asia/Singapore", due, "2026-11-28")
    assert resume.deadline == utc("2026-11-28T16:00:00")
    calls: list[dict[str, object]] = []

    def recorded(c: Components, name: str | None, **kwargs: object) -> RunReport:
        calls.append(kwargs)
        return pipeline.run(c, name, **kwargs)  # type: ignore[arg-type]

    def slow(envelope: Envelope) -> None:
        clock.now += timedelta(seconds=45)  # the second message crosses the deadline
        return None

    c.transport = MemoryTransport(slow, max_recipients=1)
    Runner(c, run=recorded).catch_up()
    assert calls == [
        {"timezone": "Asia/Singapore", "due": due, "collect_first": False},
    ]
    resumed = c.transport.sent  # type: ignore[attr-defined]
    assert len(resumed) == 2  # at 15:59:45 and 16:00:30; then past the deadline
    assert {m.to.email for m in [*first.sent, *resumed]} <= singapore
    latest = c.store.runs.recent(1, edition="morning")[0]
    assert (latest.kind, latest.status, latest.timezone) == (
        "catch-up",
        "expired",
        "Asia/Singapore",
    )
    clock.now = utc("2026-11-28T16:05:00")
    assert to_resume(c, clock()) == []
    assert to_expire(c, clock()) == []  # recorded as expired by the run itself
    c.close()


# -- approvals --------------------------------------------------------------------------------


class Scheduling(MemoryTransport):
    """An in-memory provider that holds batches until their ``send_at``."""

    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[Envelope] = []

    def send(self, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return super().send(envelope)

    def new_batch(self) -> str:
        return f"batch-{len(self.envelopes)}"

    def cancel_batch(self, batch_id: str) -> None:
        raise AssertionError("nothing to cancel here")


def test_an_edition_approved_after_its_firing_goes_out_at_its_own_due_time(
    project: Path,
) -> None:
    text = project.read_text().replace(
        'name = "morning"\n', 'name = "morning"\nrequires_approval = true\n'
    )
    project.write_text(text + "\n[scheduler]\nlead_minutes = 30\n")
    clock = Clock(DUE - timedelta(minutes=30))  # it fires half an hour early
    provider = Scheduling()
    c = make_components(project, clock=clock, transport=provider)
    runner = Runner(c)
    runner.edition("morning", None)
    assert c.store.runs.recent(1)[0].status == "held"
    clock.now = DUE - timedelta(minutes=20)
    stored = c.store.editions.latest("morning")
    assert stored is not None and actions.approve(c, stored, "ed", edition_version(stored))
    clock.now = DUE - timedelta(minutes=18)  # the approvals check; still 18 min ahead
    runner.release_approved()
    assert {m.to.email for m in provider.sent} == {s.email for s in c.subscribers()}
    # Held by the provider until today's due time: not tomorrow's.
    assert {e.send_at for e in provider.envelopes} == {DUE}
    c.close()
