"""Source health and conditional GET: the fetch log in a real database, and the
pipeline recording every fetch of sources served by a real local HTTP server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from digest import pipeline
from digest.components import Components
from digest.models import RunReport
from digest.sources.source import Validators
from digest.store.database import open_store
from digest.store.health import FETCH_HISTORY, FetchRecord, HealthLog
from tests.conftest import FIXED_NOW, LocalServer, Route, count_rows, make_components

RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
    b"<item><title>Quay reopens</title><link>https://t.example/1</link>"
    b"<description>The quay reopened on Monday after a month of repairs.</description></item>"
    b"</channel></rss>"
)


@pytest.fixture
def health(database_url: str) -> HealthLog:
    return open_store(database_url).health


def _record(health: HealthLog, source: str, status: str, minutes: int = 0) -> int:
    return health.record(
        FetchRecord(
            source,
            FIXED_NOW + timedelta(minutes=minutes),
            120,
            status,  # type: ignore[arg-type]
            error="boom" if status == "failed" else None,
        )
    )


def test_failure_streaks_count_failed_runs_since_the_last_good_one(health: HealthLog) -> None:
    assert [_record(health, "A", s) for s in ("failed", "ok", "failed", "failed")] == [1, 0, 1, 2]
    assert _record(health, "A", "failed") == 3
    assert _record(health, "A", "not_modified") == 0  # a 304 is a success
    assert _record(health, "A", "failed") == 1
    _record(health, "B", "ok")
    [a, b, c] = health.status(["A", "B", "C"])
    assert (a.failure_streak, a.last_status, a.last_error, a.fetches) == (1, "failed", "boom", 7)
    assert a.last_success == a.last_failure == FIXED_NOW  # same clock reading
    assert (b.failure_streak, b.last_status, b.last_failure, b.fetches) == (0, "ok", None, 1)
    assert (c.last_status, c.last_fetch, c.fetches, c.flagged) == (None, None, 0, False)


def test_status_times_and_flag(health: HealthLog) -> None:
    for minute, status in enumerate(("ok", "failed", "failed", "failed")):
        _record(health, "A", status, minutes=minute * 60)
    [a] = health.status(["A"])
    assert a.flagged and a.failure_streak == 3
    assert a.last_success == FIXED_NOW and a.last_failure == FIXED_NOW + timedelta(hours=3)
    assert a.last_fetch == a.last_failure


def test_old_fetches_are_pruned(health: HealthLog) -> None:
    _record(health, "A", "ok")
    later = int((FETCH_HISTORY + timedelta(days=1)).total_seconds() // 60)
    _record(health, "A", "ok", minutes=later)
    assert len(health.recent("A")) == 1


def test_validators_are_saved_replaced_and_forgotten(health: HealthLog) -> None:
    assert health.validators() == {}
    health.save_validators("A", Validators("https://a.example/f", etag='"1"'), FIXED_NOW)
    health.save_validators("A", Validators("https://a.example/f", last_modified="Mon"), FIXED_NOW)
    health.save_validators("B", Validators("https://b.example/f", etag='"b"'), FIXED_NOW)
    assert health.validators() == {
        "A": Validators("https://a.example/f", None, "Mon"),
        "B": Validators("https://b.example/f", '"b"', None),
    }
    health.save_validators("A", None, FIXED_NOW)
    assert set(health.validators()) == {"B"}


# -- the pipeline ----------------------------------------------------------------------------


def _components(tmp_path: Path, server: LocalServer, paths: dict[str, str]) -> Components:
    sources = "".join(
        f'[[sources]]\nname = "{name}"\nkind = "feed"\nurl = "{server.url}{path}"\nlocal = true\n'
        for name, path in paths.items()
    )
    config = tmp_path / "digest.toml"
    config.write_text(
        f'var_dir = "var"\n[storage]\nurl = "sqlite:///var/digest.db"\n[fetching]\nretries = 0\n'
        f'{sources}[[editions]]\nname = "morning"\ntitle = "Morning"\n'
    )
    return make_components(config)


def test_a_304_costs_nothing_and_is_recorded(local_server: LocalServer, tmp_path: Path) -> None:
    headers = {"Content-Type": "application/rss+xml", "ETag": '"v1"'}
    local_server.scripts["/feed.xml"] = [
        Route(200, RSS, headers),
        Route(304, b"", {"ETag": '"v1"'}),
    ]
    c = _components(tmp_path, local_server, {"Tides": "/feed.xml"})
    try:
        assert pipeline.collect(c, RunReport()) == 1
        assert c.store.health.validators()["Tides"].etag == '"v1"'
        report = RunReport()
        assert pipeline.collect(c, report) == 0
        [source] = report.sources
        assert source.ok and source.not_modified and source.counts.items == 0
        assert local_server.headers[1]["if-none-match"] == '"v1"'
        statuses = [f.status for f in c.store.health.recent("Tides")]
        assert statuses == ["not_modified", "ok"]
        assert c.store.health.recent("Tides")[1].new_items == 1
        assert c.store.health.recent("Tides")[1].seen_items == 1
        assert count_rows(c.store, "articles") == 1
    finally:
        c.close()


def test_validators_are_dropped_when_the_server_stops_sending_them(
    local_server: LocalServer, tmp_path: Path
) -> None:
    local_server.scripts["/feed.xml"] = [
        Route(200, RSS, {"Content-Type": "application/rss+xml", "ETag": '"v1"'})
    ]
    local_server.serve("/feed.xml", RSS, content_type="application/rss+xml")
    c = _components(tmp_path, local_server, {"Tides": "/feed.xml"})
    try:
        pipeline.collect(c, RunReport())
        pipeline.collect(c, RunReport())
        assert c.store.health.validators() == {}
    finally:
        c.close()


def test_a_source_failing_three_runs_in_a_row_is_flagged(
    local_server: LocalServer, tmp_path: Path
) -> None:
    local_server.serve("/good.xml", RSS, content_type="application/rss+xml")
    local_server.serve("/bad.xml", "gone", status=404)
    c = _components(tmp_path, local_server, {"Good": "/good.xml", "Bad": "/bad.xml"})
    try:
        reports = [RunReport() for _ in range(3)]
        for report in reports:
            pipeline.collect(c, report)
        assert [r.sources[1].failure_streak for r in reports] == [1, 2, 3]
        assert not any("runs in a row" in n for r in reports[:2] for n in r.notes)
        assert reports[2].notes == [
            f"source 'Bad' has failed 3 runs in a row: HTTP 404 from {local_server.url}/bad.xml"
        ]
        good, bad = c.store.health.status(["Good", "Bad"])
        assert (good.failure_streak, bad.failure_streak, bad.flagged) == (0, 3, True)
        assert bad.last_error == f"HTTP 404 from {local_server.url}/bad.xml"

        local_server.serve("/bad.xml", RSS, content_type="application/rss+xml")
        recovered = RunReport()
        pipeline.collect(c, recovered)
        assert recovered.sources[1].ok and recovered.sources[1].failure_streak == 0
        assert c.store.health.status(["Bad"])[0].failure_streak == 0
    finally:
        c.close()
