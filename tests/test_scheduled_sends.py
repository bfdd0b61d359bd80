"""Self-healing delivery in scheduled mode (issue 13), with real processes against the
SendGrid stand-in, on SQLite and PostgreSQL: the edition is due ahead, so every batch
goes out with a ``send_at`` SendGrid holds until then and can be cancelled. Whatever
stops the sender (SIGTERM, kill -9, a pause longer than its lease), every subscriber
gets exactly one delivery, none is ambiguous, and every accepted request is held until
the original due time."""

from __future__ import annotations

import random
import signal
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from tests.scenarios import Scenario, utcnow

pytestmark = pytest.mark.slow

LEAD = 25  # minutes: the scheduler fires this early, so the due time is still ahead


def _due_ahead() -> datetime:
    """A due time 19-20 minutes from now, on a whole minute (a cron time): far enough
    ahead that SendGrid holds every batch (min_lead_minutes: 10), and its firing
    (LEAD minutes before) already passed, so a scheduler runs it at start-up."""
    return (utcnow() + timedelta(minutes=20)).replace(second=0, microsecond=0)


def _scheduled(make_scenario: Callable[..., Scenario], **settings: object) -> Scenario:
    s = make_scenario(due=_due_ahead(), lead_minutes=LEAD, **settings)
    s.server.delay = 0.2  # 20 requests: four seconds of sending
    return s


def _held_until_due(s: Scenario) -> None:
    """Nobody twice, nobody left out, nothing ambiguous, and every request the
    stand-in accepted (and was not cancelled) is held until the original due time."""
    s.assert_exactly_once()
    assert {r.state for r in s.rows()} == {"accepted"}
    assert s.send_ats() == {int(s.due.astimezone(UTC).timestamp())}


def _finished(s: Scenario, process: object, timeout: float = 180) -> None:
    done = s.wait_until(lambda: s.accepted() >= s.people and not _unfinished(s), timeout, 0.2)
    assert done, s.output(process)  # type: ignore[arg-type]


def _unfinished(s: Scenario) -> bool:
    return any(r.state != "accepted" for r in s.rows())


# -- the scheduler stopped or killed mid-send; a new one finishes it --------------------------


@pytest.mark.parametrize("seed", [5, 6])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "kill-9"])
def test_a_scheduler_stopped_mid_send_is_finished_on_time_by_the_next(
    make_scenario: Callable[..., Scenario], sig: signal.Signals, seed: int
) -> None:
    s = _scheduled(make_scenario)
    rng = random.Random(seed)
    first = s.start("scheduler")
    assert s.wait_for_requests(rng.randint(3, 12), first)
    s.signal(first, sig)
    assert 0 < s.accepted() < s.people
    second = s.start("scheduler")  # resumes with the original due time
    _finished(s, second)
    s.signal(second, signal.SIGTERM)
    _held_until_due(s)
    if sig == signal.SIGKILL:  # the batch in flight was cancelled, then sent again
        assert s.server.cancelled


# -- `digest send --at` stopped or killed mid-send; the scheduler finishes it ----------------


@pytest.mark.parametrize("seed", [7, 8])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "kill-9"])
def test_a_send_due_ahead_stopped_mid_send_is_finished_on_time(
    make_scenario: Callable[..., Scenario], sig: signal.Signals, seed: int
) -> None:
    """`digest send morning --at DUE`, stopped: the scheduler started afterwards finds
    the send of the current period unfinished and resumes it (no manual command), with
    the same due time."""
    s = _scheduled(make_scenario)
    for step in ("collect", "build"):
        done = s.run(step)
        assert done.returncode == 0, done.stdout + done.stderr
    at = s.due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S%z")
    rng = random.Random(seed)
    first = s.start("send", "morning", "--at", at)
    assert s.wait_for_requests(rng.randint(3, 12), first)
    s.signal(first, sig)
    if sig == signal.SIGTERM:
        assert first.returncode == 4 and "stopped on request" in s.output(first)
    assert 0 < s.accepted() < s.people
    scheduler = s.start("scheduler")
    _finished(s, scheduler)
    s.signal(scheduler, signal.SIGTERM)
    _held_until_due(s)


# -- a sender paused longer than its lease: the standby takes over; it wakes up --------------


@pytest.mark.parametrize("mode", ["scheduled", "immediate"])
def test_a_paused_scheduler_loses_the_edition_and_its_late_answer_changes_nothing(
    make_scenario: Callable[..., Scenario], mode: str
) -> None:
    """SIGSTOP of the active scheduler while a batch is in flight, until its leases
    lapse; the standby takes the edition over, recovers the paused one's batch
    (cancelled and resubmitted when scheduled, else ambiguous) and sends the rest;
    SIGCONT: the paused one reads its late answer, which changes no row the standby
    released (scheduled) and settles the ambiguous ones (immediate), and stops. No
    duplicate, no loss. With one host the dead-pid check cannot help: this is the
    lease-expiry failover."""
    settings: dict[str, object] = {"lease_seconds": 5, "edition_lease_seconds": 6}
    s = _scheduled(make_scenario, **settings) if mode == "scheduled" else make_scenario(**settings)
    s.server.delay = 0.5  # each request half a second in flight
    one, two = s.start("scheduler"), s.start("scheduler")
    assert s.wait_until(lambda: any("standing by" in s.output(p) for p in (one, two)), 180, 0.1)
    standby, active = (one, two) if "standing by" in s.output(one) else (two, one)
    assert s.wait_for_requests(3, active)
    active.send_signal(signal.SIGSTOP)  # its fourth request has just reached the stand-in
    try:
        paused_at = s.server.requests_count
        took_over = s.wait_until(
            lambda: (
                s.server.requests_count >= paused_at + 2
                and (mode == "immediate" or bool(s.server.cancelled))
            ),
            120,
            0.1,
        )
        assert took_over, s.output(standby)
        if mode == "immediate":  # the paused one's batch: ambiguous while it sleeps
            assert s.wait_until(lambda: any(r.state == "ambiguous" for r in s.rows()), 60, 0.1)
    finally:
        active.send_signal(signal.SIGCONT)
    assert active.wait(timeout=120) == 0, s.output(active)  # lost its leases: stopped
    assert "lost the scheduler lease" in s.output(active)
    _finished(s, standby)
    s.signal(standby, signal.SIGTERM)
    s.assert_exactly_once()
    assert {r.state for r in s.rows()} == {"accepted"}  # the late answer was recorded
    if mode == "scheduled":
        _held_until_due(s)


# -- a recipient the provider always times out on starves nobody ------------------------------


def test_a_recipient_that_always_times_out_starves_nobody(
    make_scenario: Callable[..., Scenario],
) -> None:
    """Every request naming one recipient times out (the client gives up after 2 s):
    its batch is cancelled and resubmitted in halves after a back-off, so its
    companions get through on time, and it alone ends failed at the attempt cap."""
    s = _scheduled(make_scenario)
    s.server.delay = 0.05
    stuck = "p00042@mail.example"
    s.server.stuck[stuck] = "timeout:3"
    for step in ("collect", "build"):
        done = s.run(step)
        assert done.returncode == 0, done.stdout + done.stderr
    at = s.due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S%z")
    result = s.run("send", "morning", "--at", at, timeout=400)
    assert result.returncode == 1, result.stdout + result.stderr  # one not delivered
    rows = {r.email: r for r in s.rows()}
    assert rows[stuck].state == "failed" and rows[stuck].attempts == 5
    assert "gave up after 5 attempts" in (rows[stuck].error or "")
    assert all(r.state == "accepted" for e, r in rows.items() if e != stuck)
    delivered = s.server.delivered()
    assert set(delivered) == s.emails - {stuck} and set(delivered.values()) == {1}
    assert s.server.stuck_hits == 5
    assert s.send_ats() == {int(s.due.astimezone(UTC).timestamp())}
