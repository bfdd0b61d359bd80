"""Self-healing delivery with real processes (issue 13): `digest scheduler`, `run` and
`send` as subprocesses against the SendGrid stand-in, on SQLite and PostgreSQL,
stopped (SIGTERM) or killed (SIGKILL) at random points, started together; afterwards,
with no manual command, every subscriber has exactly one accepted delivery (or, in
immediate mode, all but the batch in flight at a kill, reported ambiguous)."""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.scenarios import Scenario, utcnow
from tests.sendgrid_server import SendGridServer

pytestmark = pytest.mark.slow


@pytest.fixture
def server() -> Iterator[SendGridServer]:
    s = SendGridServer().start()
    s.delay = 0.02  # 20 requests of 10: a send takes about half a second and more
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def scenario(project: Path, server: SendGridServer, database_url: str) -> Iterator[Scenario]:
    made = Scenario(project, server, database_url)
    try:
        yield made
    finally:
        made.stop_all()


def _finishes(s: Scenario, timeout: float = 120) -> bool:
    return s.wait_until(lambda: s.accepted() >= s.people, timeout, 0.2)


# -- 1. a deploy during a send ------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_a_deploy_mid_send_is_finished_by_the_new_scheduler(scenario: Scenario, seed: int) -> None:
    s = scenario
    rng = random.Random(seed)
    first = s.start("scheduler")
    # It runs the edition it missed two minutes ago (catch-up of a missed firing).
    assert s.wait_for_requests(rng.randint(3, 10), first)
    s.signal(first, signal.SIGTERM)  # "stopping: finishing the current batch first"
    assert first.returncode == 0, s.output(first)
    delivered_before = s.accepted()
    assert 0 < delivered_before < s.people
    unhealthy = s.status()  # nobody holds the scheduler lease: unfinished and unhealthy
    assert unhealthy["healthy"] is False
    morning = unhealthy["editions"]["morning"]  # type: ignore[index]
    assert morning["pending"] > 0 and "no scheduler holds the lease" in " ".join(
        morning["problems"]
    )

    restarted_at = time.monotonic()
    second = s.start("scheduler")
    assert _finishes(s), s.output(second)
    assert time.monotonic() - restarted_at < 120
    s.signal(second, signal.SIGTERM)
    s.assert_exactly_once()
    healthy = s.status()
    assert healthy["healthy"] is True, healthy
    runs = s.run("runs", "--json").stdout
    assert '"status": "partial"' in runs and '"kind": "catch-up"' in runs


# -- 2. a crash (kill -9) during a send, and failover --------------------------------------


@pytest.mark.parametrize("seed", [3, 4])
def test_a_crashed_scheduler_is_replaced_and_the_edition_finished(
    scenario: Scenario, seed: int
) -> None:
    s = scenario
    rng = random.Random(seed)
    first = s.start("scheduler")
    assert s.wait_for_requests(rng.randint(3, 12), first)
    time.sleep(rng.uniform(0, 0.03))
    s.signal(first, signal.SIGKILL)
    second = s.start("scheduler")
    # Same host: the dead holder's leases are taken over at once; the batch that was in
    # flight is reported ambiguous (immediate mode), everyone else gets it once.
    assert s.wait_until(lambda: s.accepted() >= s.people - s.batch_size, 120, 0.2), s.output(second)
    assert s.wait_until(lambda: not _pending(s), 60, 0.2)
    s.signal(second, signal.SIGTERM)
    s.assert_exactly_once(ambiguous_allowed=s.batch_size)


def _pending(s: Scenario) -> bool:
    return any(r.state in ("pending", "sending", "failed") for r in s.rows())


def test_the_standby_takes_over_and_finishes_within_two_minutes(
    scenario: Scenario, database_url: str
) -> None:
    s = scenario
    s.server.delay = 0.3  # 20 requests: six seconds of sending, time to kill it mid-send
    one, two = s.start("scheduler"), s.start("scheduler")
    assert s.wait_until(lambda: any("standing by" in s.output(p) for p in (one, two)), 60, 0.1), (
        s.output(one) + s.output(two)
    )
    standby, active = (one, two) if "standing by" in s.output(one) else (two, one)
    assert s.wait_for_requests(3, active)
    s.signal(active, signal.SIGKILL)
    killed_at = time.monotonic()
    assert s.wait_until(lambda: s.accepted() >= s.people - s.batch_size, 120, 0.2), s.output(
        standby
    )
    assert s.wait_until(lambda: not _pending(s), 60, 0.2)
    assert time.monotonic() - killed_at < 120
    s.assert_exactly_once(ambiguous_allowed=s.batch_size)


# -- 3. `digest run` right after a crash resumes ------------------------------------------


def test_a_run_right_after_a_killed_run_resumes_instead_of_skipping(scenario: Scenario) -> None:
    s = scenario
    first = s.start("run")
    assert s.wait_for_requests(5, first)
    s.signal(first, signal.SIGKILL)
    again = s.run("run")
    assert "is being sent by" not in again.stdout + again.stderr  # not skipped
    # The batch in flight at the kill is ambiguous: exit 1 tells the operator.
    assert again.returncode in (0, 1), again.stdout + again.stderr
    s.assert_exactly_once(ambiguous_allowed=s.batch_size)


def test_a_run_beside_a_live_one_says_who_holds_the_edition_and_exits_3(
    scenario: Scenario,
) -> None:
    s = scenario
    s.server.delay = 1.0  # a slow send: the first holds the edition for twenty seconds
    first = s.start("run")
    assert s.wait_until(lambda: s.server.requests_count > 0, 60, 0.01)
    second = s.run("send", "morning")
    assert second.returncode == 3, second.stdout + second.stderr
    assert "is being sent by" in second.stderr and "its lease runs until" in second.stderr
    assert first.wait(timeout=120) == 0, s.output(first)
    s.assert_exactly_once()


# -- 4. overlapping senders -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("one", "two"),
    [("send", "send"), ("run", "send"), ("send", "run"), ("run", "run"), ("run", "scheduler")],
)
def test_overlapping_senders_send_nothing_twice(scenario: Scenario, one: str, two: str) -> None:
    s = scenario
    s.server.delay = 0.05
    if "send" in (one, two):
        for step in ("collect", "build"):
            done = s.run(step)
            assert done.returncode == 0, done.stdout + done.stderr
    rng = random.Random(hash((one, two)) & 0xFFFF)
    args = {"send": ("send", "morning"), "run": ("run",), "scheduler": ("scheduler",)}
    first = s.start(*args[one])
    time.sleep(rng.uniform(0, 5))
    second = s.start(*args[two])
    assert s.wait_until(lambda: s.accepted() >= s.people, 180, 0.2)
    if two == "scheduler":
        assert s.wait_ready(second), s.output(second)
        s.signal(second, signal.SIGTERM)
    for process in (first, second):
        assert process.wait(timeout=120) in (0, 3), s.output(process)
    s.assert_exactly_once()
    assert all(r.state == "accepted" for r in s.rows())  # nothing discarded, nothing ambiguous


# -- 5. persistent timeouts -----------------------------------------------------------------


def test_persistent_timeouts_end_in_bounded_time_immediate(scenario: Scenario) -> None:
    s = scenario
    s.server.delay = 2.5  # every answer after the client's 2 s timeout
    started = time.monotonic()
    result = s.run("run", timeout=240)
    assert time.monotonic() - started < 180
    assert result.returncode == 1, result.stdout + result.stderr
    states = {r.state for r in s.rows()}
    assert states <= {"ambiguous", "failed"} and "ambiguous" in states


def test_persistent_timeouts_end_in_bounded_time_scheduled(
    project: Path, server: SendGridServer, database_url: str
) -> None:
    """Scheduled batches (due 30 minutes ahead): each timeout is cancelled and tried
    again after a back-off, at most the attempt cap; every row ends failed, noted."""
    s = Scenario(project, server, database_url, people=60, batch_size=20)
    try:
        server.delay = 2.5
        for step in ("collect", "build"):
            done = s.run(step)
            assert done.returncode == 0, done.stdout + done.stderr
        at = (utcnow() + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S%z")
        started = time.monotonic()
        result = s.run("send", "morning", "--at", at, timeout=400)
        assert time.monotonic() - started < 300, result.stdout
        assert result.returncode == 1
        rows = s.rows()
        assert {r.state for r in rows} == {"failed"}
        assert all("gave up after 5 attempts" in (r.error or "") for r in rows)
        assert max(r.attempts for r in rows) == 5
        assert not server.delivered()  # every scheduled batch was cancelled
    finally:
        s.stop_all()


# -- 6. everything at once on a fresh database ---------------------------------------------


def test_two_schedulers_and_two_runs_at_once_on_a_fresh_database(scenario: Scenario) -> None:
    s = scenario
    processes = [s.start("scheduler"), s.start("scheduler"), s.start("run"), s.start("run")]
    assert s.wait_until(lambda: s.accepted() >= s.people, 180, 0.2)
    for process in processes[:2]:
        assert s.wait_ready(process), s.output(process)
        s.signal(process, signal.SIGTERM)
    for process in processes:
        code = process.wait(timeout=120)
        out = s.output(process)
        assert code in (0, 3), out
        assert "Traceback" not in out and "IntegrityError" not in out
    s.assert_exactly_once()
