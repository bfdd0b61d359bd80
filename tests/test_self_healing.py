"""Self-healing delivery with real processes (issue 13): `digest scheduler`, `run` and
`send` as subprocesses against the SendGrid stand-in, on SQLite and PostgreSQL,
stopped (SIGTERM) or killed (SIGKILL) at random points, started together; afterwards,
with no manual command, every subscriber has exactly one accepted delivery (or, in
immediate mode, all but the batch in flight at a kill, reported ambiguous)."""

from __future__ import annotations

import json
import random
import signal
import time
from collections.abc import Callable
from datetime import timedelta

import pytest

from tests.scenarios import Scenario, utcnow

pytestmark = pytest.mark.slow


@pytest.fixture
def scenario(make_scenario: Callable[..., Scenario]) -> Scenario:
    return make_scenario()


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
    assert s.wait_until(lambda: not _pending(s), 120, 0.2)
    # Monitoring while the new scheduler runs: delivered (the batch in flight at the kill
    # is ambiguous, not a problem before the alert grace), not overdue; the killed
    # scheduler's run is closed as interrupted, not left running.
    status = s.status()
    morning = status["editions"]["morning"]  # type: ignore[index]
    assert status["healthy"] is True, morning
    assert morning["overdue"] is False and morning["pending"] == 0
    assert morning["delivered"] + morning["ambiguous"] == s.people
    runs = {r["status"] for r in json.loads(s.run("runs", "--json").stdout)}
    assert "interrupted" in runs and "running" not in runs
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
    # Two processes starting on a loaded machine: generous, it is not what is measured.
    assert s.wait_until(lambda: any("standing by" in s.output(p) for p in (one, two)), 180, 0.1), (
        s.output(one) + s.output(two)
    )
    standby, active = (one, two) if "standing by" in s.output(one) else (two, one)
    assert s.wait_for_requests(3, active)
    s.signal(active, signal.SIGKILL)
    killed_at = time.monotonic()
    assert s.wait_until(lambda: s.accepted() >= s.people - s.batch_size, 120, 0.2), s.output(
        standby
    )
    assert s.wait_until(lambda: not _pending(s), 120, 0.2)
    assert time.monotonic() - killed_at < 120
    s.assert_exactly_once(ambiguous_allowed=s.batch_size)


# -- 3. `digest run` / `digest send` stopped (SIGTERM) or killed (kill -9) mid-send --------


def _built(s: Scenario) -> None:
    for step in ("collect", "build"):
        done = s.run(step)
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("command", ["run", "send"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "kill-9"])
def test_a_stopped_or_killed_sender_is_finished_by_the_next_one(
    scenario: Scenario, command: str, sig: signal.Signals
) -> None:
    """SIGTERM: the batch in flight is finished and recorded, the lease given back,
    exit 4 "stopped on request"; kill -9: the next one resumes at once (the dead
    holder is noticed), its batch in flight reported ambiguous. Either way the next
    run or send is not skipped and finishes the edition."""
    s = scenario
    s.server.delay = 0.2  # 20 requests: four seconds of sending
    if command == "send":
        _built(s)
    args = ("run",) if command == "run" else ("send", "morning")
    first = s.start(*args)
    assert s.wait_for_requests(random.Random(f"{command}/{sig.name}").randint(3, 10), first)
    s.signal(first, sig)
    out = s.output(first)
    if sig == signal.SIGTERM:
        assert first.returncode == 4, out
        assert "stopped on request" in out and "Traceback" not in out
        states = {r.state for r in s.rows()}
        assert "pending" in states and not states & {"sending", "ambiguous"}, states
    else:
        assert first.returncode == -signal.SIGKILL
    again = s.run(*args)
    assert "is being sent by" not in again.stdout + again.stderr  # not skipped
    if sig == signal.SIGTERM:
        assert again.returncode == 0, again.stdout + again.stderr
        s.assert_exactly_once()
        runs = json.loads(s.run("runs", "--json").stdout)
        assert [r["status"] for r in runs if r["kind"] == command][-1] == "partial"
    else:
        # The batch in flight at the kill is ambiguous: exit 1 tells the operator.
        assert again.returncode in (0, 1), again.stdout + again.stderr
        s.assert_exactly_once(ambiguous_allowed=s.batch_size)


def test_a_run_beside_a_live_one_says_who_holds_the_edition_and_exits_3(
    scenario: Scenario,
) -> None:
    s = scenario
    s.server.delay = 1.0  # a slow send: the first holds the edition for twenty seconds
    first = s.start("run")
    assert s.wait_until(lambda: s.server.requests_count > 0, 180, 0.01)
    second = s.run("send", "morning")
    assert second.returncode == 3, second.stdout + second.stderr
    assert "is being sent by" in second.stderr and "its lease runs until" in second.stderr
    assert first.wait(timeout=120) == 0, s.output(first)
    s.assert_exactly_once()


# -- 4. overlapping senders -----------------------------------------------------------------

OVERLAPS = [
    ("send", "send"),
    ("run", "send"),
    ("send", "run"),
    ("run", "run"),
    ("run", "scheduler"),
    ("scheduler", "run"),
    ("scheduler", "send"),
    ("send", "scheduler"),
]
ARGS = {"send": ("send", "morning"), "run": ("run",), "scheduler": ("scheduler",)}


@pytest.mark.parametrize(("one", "two"), OVERLAPS)
def test_overlapping_senders_send_nothing_twice(
    make_scenario: Callable[..., Scenario], one: str, two: str
) -> None:
    """Two senders started 0-5 s apart (a seed of their own per pair, the same every
    run), the send outlasting the gap; `/healthz` of a real `digest serve` and `digest
    status` tell the truth while the send is frozen mid-way and after it."""
    s = make_scenario(timeout_seconds=60)  # the send is held mid-way below: no timeouts
    s.server.delay = 0.4  # 20 requests: eight seconds of sending, more than the gap
    if "send" in (one, two):
        _built(s)
    base = s.serve()
    gap = random.Random(f"overlap/{one}/{two}").uniform(0, 5)
    s.server.hold_at = 3  # after three accepted requests, hold the send
    first = s.start(*ARGS[one])
    time.sleep(gap)  # the scenario's own start gap, not a wait for an outcome
    second = s.start(*ARGS[two])
    assert s.wait_until(lambda: s.server.held > 0, 180, 0.05), s.output(first) + s.output(second)
    _check_health(s, base, done=False)
    s.server.release()
    assert s.wait_until(lambda: s.accepted() >= s.people, 180, 0.2)
    for name, process in ((one, first), (two, second)):
        if name == "scheduler":
            assert s.wait_ready(process), s.output(process)
            s.signal(process, signal.SIGTERM)
    for process in (first, second):
        assert process.wait(timeout=120) in (0, 3), s.output(process)
    s.assert_exactly_once()
    assert all(r.state == "accepted" for r in s.rows())  # nothing discarded, nothing ambiguous
    _check_health(s, base, done=True)


def _check_health(s: Scenario, base: str, *, done: bool) -> None:
    """`/healthz` and `digest status --json` agree with the ledger: mid-send, what is
    delivered and pending, unhealthy exactly when no scheduler holds the lease to
    finish it; after, everything delivered and healthy (with or without a scheduler)."""
    code, served = s.healthz(base)
    status = s.status()
    for report in (served, status):
        morning = report["editions"]["morning"]  # type: ignore[index]
        counts = [morning[k] for k in ("delivered", "pending", "failed", "ambiguous", "rejected")]
        assert sum(counts) == s.people, morning
        assert morning["overdue"] is False and morning["ambiguous"] == 0
        if done:
            assert report["healthy"] is True and morning["delivered"] == s.people, morning
            continue
        assert 0 < morning["delivered"] < s.people and morning["pending"] > 0, morning
        nobody = report["scheduler"]["holder"] is None  # type: ignore[index]
        assert report["healthy"] is (not nobody), morning
        if nobody:
            assert "no scheduler holds the lease" in " ".join(morning["problems"])
    assert code == (200 if served["healthy"] else 503)


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
    make_scenario: Callable[..., Scenario],
) -> None:
    """Scheduled batches (due 30 minutes ahead): each timeout is cancelled and tried
    again after a back-off, at most the attempt cap; every row ends failed, noted."""
    s = make_scenario(people=60, batch_size=20)
    s.server.delay = 2.5
    _built(s)
    at = (utcnow() + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S%z")
    started = time.monotonic()
    result = s.run("send", "morning", "--at", at, timeout=400)
    assert time.monotonic() - started < 300, result.stdout
    assert result.returncode == 1
    rows = s.rows()
    assert {r.state for r in rows} == {"failed"}
    assert all("gave up after 5 attempts" in (r.error or "") for r in rows)
    assert max(r.attempts for r in rows) == 5
    assert not s.server.delivered()  # every scheduled batch was cancelled


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


# -- 7. a recipient the provider always fails on starves nobody ------------------------------


def test_a_recipient_the_provider_always_fails_on_starves_nobody(
    make_scenario: Callable[..., Scenario],
) -> None:
    """Immediate mode: every request naming one recipient gets a 500. The scheduler's
    catch-up tries its batch again run after run in halves (the provider takes the
    others), so its companions get through and it alone ends failed at the cap."""
    s = make_scenario(people=40, batch_size=4, max_attempts=3)
    stuck = "p00013@mail.example"
    s.server.stuck[stuck] = "500"
    scheduler = s.start("scheduler")  # runs the edition it missed, then catches up

    def settled() -> bool:
        rows = {r.email: r for r in s.rows()}
        return (
            len(rows) == s.people
            and rows[stuck].state == "failed"
            and rows[stuck].attempts == 3
            and all(r.state == "accepted" for e, r in rows.items() if e != stuck)
        )

    assert s.wait_until(settled, 240, 0.5), s.output(scheduler)
    s.signal(scheduler, signal.SIGTERM)
    delivered = s.server.delivered()
    assert set(delivered) == s.emails - {stuck} and set(delivered.values()) == {1}
    assert s.server.stuck_hits >= 3 * 3  # three runs, each tried three times
    [row] = [r for r in s.rows() if r.email == stuck]
    assert row.error and "500" in row.error


# -- 8. after a crash and its catch-up, monitoring tells the truth all day -----------------


def test_after_a_killed_run_and_its_catch_up_the_edition_is_not_called_overdue(
    make_scenario: Callable[..., Scenario],
) -> None:
    """Due 40 minutes ago (past the misfire grace), an installation that ran yesterday:
    `digest run` killed mid-send, the scheduler's catch-up finishes the edition. Then
    `/healthz` and `digest status` say healthy and not overdue (the killed run stays
    `running` in no record: it is closed as interrupted)."""
    due = utcnow() - timedelta(minutes=40)
    s = make_scenario(due=due, extra="\n[alerts]\ngrace_minutes = 180\n")
    s.server.delay = 0.1
    store = s.store()
    try:  # yesterday's run, so the installation was running before today's due time
        yesterday = due - timedelta(days=1)
        run_id = store.runs.start("run", "morning", None, yesterday, holder="elsewhere:1:x")
        store.runs.finish(run_id, "ok", yesterday + timedelta(minutes=1), period="yesterday")
    finally:
        store.close()
    base = s.serve()
    first = s.start("run")
    assert s.wait_for_requests(5, first)
    s.signal(first, signal.SIGKILL)
    scheduler = s.start("scheduler")
    assert s.wait_until(lambda: s.rows() and not _pending(s), 180, 0.5), s.output(scheduler)
    code, served = s.healthz(base)
    morning = served["editions"]["morning"]  # type: ignore[index]
    assert (code, served["healthy"]) == (200, True), morning
    assert morning["overdue"] is False and morning["pending"] == 0
    assert morning["delivered"] + morning["ambiguous"] == s.people
    assert s.status()["healthy"] is True
    runs = json.loads(s.run("runs", "--json").stdout)
    assert next(r["status"] for r in runs if r["kind"] == "run") == "interrupted"
    s.signal(scheduler, signal.SIGTERM)
    # Nobody holds the scheduler lease now: healthy exactly when nothing is left to do
    # (ambiguous rows wait for the operator); never "overdue".
    code, served = s.healthz(base)
    morning = served["editions"]["morning"]  # type: ignore[index]
    assert "overdue" not in " ".join(morning["problems"])
    assert served["healthy"] is (morning["ambiguous"] == 0), morning
    assert code == (200 if served["healthy"] else 503)
    s.assert_exactly_once(ambiguous_allowed=s.batch_size)
