"""Alerts (`scheduler/alerts.py`): an edition past its deadline, a source failing run
after run, each told once by email and webhook and logged when resolved; the webhook
is tried again when it answers 5xx."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from digest import pipeline
from digest.components import Components
from digest.delivery.transport import MemoryTransport
from digest.scheduler.alerts import notifier
from digest.scheduler.wiring import Runner
from digest.store.alerts import Alert
from tests.conftest import Clock, LocalServer, make_components

DUE = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)  # 07:00 in Madrid


class Hook:
    """The operator's webhook on the local server: answers ``statuses`` in turn (then
    204) and keeps every body it was sent."""

    def __init__(self, server: LocalServer, statuses: list[int] | None = None) -> None:
        self.bodies: list[dict[str, object]] = []
        self.statuses = list(statuses or [])
        server.handlers["/hook"] = self.answer
        self.url = f"{server.url}/hook"

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers["Content-Length"])
        self.bodies.append(json.loads(handler.rfile.read(length)))
        handler.send_response(self.statuses.pop(0) if self.statuses else 204)
        handler.send_header("Content-Length", "0")
        handler.end_headers()


@pytest.fixture
def clock() -> Clock:
    return Clock(DUE + timedelta(minutes=1))


@pytest.fixture
def hook(local_server: LocalServer) -> Hook:
    return Hook(local_server)


def _components(project: Path, clock: Clock, hook: Hook, extra: str = "") -> Components:
    project.write_text(
        project.read_text()
        + f'\n[alerts]\nemail = "ops@news.example"\nwebhook_url = "{hook.url}"\n{extra}'
    )
    c = make_components(project, clock=clock, transport=MemoryTransport())
    c.sleep = clock.sleep
    return c


def _alert_mail(c: Components) -> list[str]:
    sent = c.transport.sent  # type: ignore[attr-defined]
    return [m.subject for m in sent if m.to.email == "ops@news.example"]


@pytest.fixture
def deadline_project(project: Path) -> Iterator[Path]:
    project.write_text(
        project.read_text().replace(
            'name = "morning"\n', 'name = "morning"\ndeliver_until = "2h"\n'
        )
    )
    yield project


def test_a_missed_deadline_is_recorded_once_and_alerted_once(
    deadline_project: Path, clock: Clock, hook: Hook
) -> None:
    c = _components(deadline_project, clock, hook)
    c.stop.set()  # a SIGTERM before the first batch: everything stays pending
    pipeline.run(c, None, due=DUE)
    c.stop.clear()
    clock.now = DUE + timedelta(hours=2, minutes=1)  # past deliver_until, no scheduler since
    runner = Runner(c)
    runner.catch_up()
    runner.catch_up()  # the same problem: no second record, no second alert
    expired = [r for r in c.store.runs.recent(edition="morning") if r.status == "expired"]
    assert len(expired) == 1 and expired[0].kind == "catch-up"
    assert expired[0].period == "2026-11-27"
    people = len(c.subscribers())
    assert expired[0].error is not None and f"{people} deliveries not done" in expired[0].error
    subjects = _alert_mail(c)
    assert len(subjects) == 1 and "deadline" in subjects[0]
    assert [b["kind"] for b in hook.bodies] == ["deadline"]
    assert "missed its deadline" in str(hook.bodies[0]["message"])
    assert c.store.ledger.counts(c.store.editions.latest("morning").id) == {"pending": people}  # type: ignore[union-attr]
    c.close()


def test_a_source_failing_runs_in_a_row_is_alerted_once_and_its_recovery_logged(
    project: Path, clock: Clock, hook: Hook, caplog: pytest.LogCaptureFixture
) -> None:
    feed = project.parent.parent / "samples" / "feeds" / "civic-wire.xml"
    saved = feed.read_bytes()
    c = _components(project, clock, hook, "source_failures = 2\n")
    clock.now = DUE + timedelta(hours=3)  # no edition to catch up: collections only
    runner = Runner(c)
    feed.unlink()  # the source fails from now on
    runner.collect()
    runner.catch_up()
    assert hook.bodies == []  # one failure is not a streak
    runner.collect()
    runner.catch_up()
    runner.collect()
    runner.catch_up()  # three in a row now: still the same problem
    assert [b["kind"] for b in hook.bodies] == ["source"]
    assert "'Civic Wire' has failed 2 runs in a row" in str(hook.bodies[0]["message"])
    assert len(_alert_mail(c)) == 1
    feed.write_bytes(saved)
    runner.collect()
    with caplog.at_level(logging.WARNING):
        runner.catch_up()
    assert any("resolved: source:Civic Wire" in r.getMessage() for r in caplog.records)
    assert len(hook.bodies) == 1
    c.close()


def test_the_webhook_is_tried_again_when_it_answers_5xx(
    project: Path, clock: Clock, local_server: LocalServer
) -> None:
    hook = Hook(local_server, [500, 500])  # then 204
    c = _components(project, clock, hook)
    alert = Alert("deadline:morning/2026-11-27", "deadline", "missed", DUE)
    notifier(c)(alert)
    assert len(hook.bodies) == 3
    assert all(b["key"] == "deadline:morning/2026-11-27" for b in hook.bodies)
    assert clock.slept == [2.0, 4.0]  # waits between the tries
    c.close()


def test_a_webhook_that_never_answers_well_is_given_up_after_three_tries(
    project: Path, clock: Clock, local_server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    hook = Hook(local_server, [503, 503, 503, 503])
    c = _components(project, clock, hook)
    alert = Alert("auth:morning", "auth", "refused key", DUE)
    with caplog.at_level(logging.ERROR):
        notifier(c)(alert)
    assert len(hook.bodies) == 3
    assert any("not reached after 3 tries" in r.getMessage() for r in caplog.records)
    c.close()
