"""The pipeline on the shipped samples, a real SQLite file and the memory transport."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from digest import pipeline
from digest.components import Components, build_components
from digest.errors import ConfigError, RenderError
from digest.models import RunReport
from digest.settings import load_settings
from digest.transports import MemoryTransport
from tests.conftest import FIXED_NOW, make_article


def _components(config: Path, extra_toml: str = "") -> tuple[Components, MemoryTransport]:
    if extra_toml:
        config.write_text(config.read_text() + extra_toml)
    settings = load_settings(config, {})
    transport = MemoryTransport()
    return build_components(settings, clock=lambda: FIXED_NOW, transport=transport), transport


def test_one_broken_source_does_not_stop_the_others(project: Path) -> None:
    broken = '\n[[sources]]\nname = "Gone"\nkind = "feed"\npath = "../samples/feeds/missing.xml"\n'
    c, _ = _components(project, broken)
    report = RunReport()
    new = pipeline.collect(c, report)
    by_name = {s.name: s for s in report.sources}
    assert not by_name["Gone"].ok and "missing.xml" in (by_name["Gone"].error or "")
    assert all(s.ok for name, s in by_name.items() if name != "Gone")
    assert new == c.store.count_articles() > 30


def test_collecting_twice_stores_each_article_once(project: Path) -> None:
    c, _ = _components(project)
    first = pipeline.collect(c, RunReport())
    second = pipeline.collect(c, RunReport())
    assert first > 0 and second == 0


def test_run_delivers_once_per_subscriber_even_when_run_again(project: Path) -> None:
    c, transport = _components(project)
    report = pipeline.run(c, None)
    subscribers = c.subscribers()
    assert report.delivered == len(subscribers) == len(transport.sent)
    assert report.stories > 5 and report.sections >= 4
    again = pipeline.run(c, None)
    assert again.delivered == 0 and again.already_delivered == len(subscribers)
    assert len(transport.sent) == len(subscribers)
    assert any("already sent" in note for note in again.notes)


def test_subscriber_topics_choose_sections(project: Path) -> None:
    c, transport = _components(project)
    pipeline.run(c, None)
    by_email = {m.to.email: m for m in transport.sent}
    sport_culture = by_email["dora@mail.example"]
    assert "== SPORT ==" in sport_culture.text
    assert "== BUSINESS ==" not in sport_culture.text
    assert "== BUSINESS ==" in by_email["ana.lopez@mail.example"].text


def test_template_error_sends_nothing(project: Path) -> None:
    (project.parent.parent / "templates" / "edition.mjml.j2").write_text("{% if %}")
    c, transport = _components(project)
    with pytest.raises(RenderError):
        pipeline.run(c, None)
    assert transport.sent == []
    stored = c.store.latest_edition("morning")
    assert stored is not None and c.store.ledger.rows(stored.id) == []


def test_bad_subscriber_list_sends_nothing(project: Path) -> None:
    csv = project.parent / "subscribers.csv"
    csv.write_text(csv.read_text() + "not-an-address,Bad,UTC,\n")
    c, transport = _components(project)
    with pytest.raises(ConfigError, match="line 6"):
        pipeline.run(c, None)
    assert transport.sent == []


def test_hostile_sample_article_is_inert_in_every_message(project: Path) -> None:
    c, transport = _components(project)
    pipeline.run(c, None)
    for message in transport.sent:
        assert "<script" not in message.html.lower()
        assert "javascript:" not in message.html.lower()
        assert "<iframe" not in message.html.lower()


def test_build_edition_caps_and_all(project: Path) -> None:
    settings = load_settings(project, {})
    config = settings.edition(None)
    texts = [
        f"Unrelated topic number {n} with words {n * 7} {n * 13} quarry{n} marsh{n}."
        for n in range(30)
    ]
    articles = [
        make_article(f"a{n}", title=f"Story {n} zebra{n}", text=t) for n, t in enumerate(texts)
    ]
    capped = pipeline.build_edition(articles, config, FIXED_NOW)
    everything = pipeline.build_edition(articles, config, FIXED_NOW, capped=False)
    assert len(capped.stories) <= config.max_stories
    assert all(len(s.stories) <= config.max_per_section for s in capped.sections)
    ids = [link.article_id for story in everything.stories for link in story.articles]
    assert sorted(ids) == sorted(a.id for a in articles)  # each article in exactly one story
    assert capped.period == "2026-11-27"  # 06:00 UTC is 07:00 in Europe/Madrid


def test_preview_is_written(project: Path, tmp_path: Path) -> None:
    c, _ = _components(project)
    report = RunReport()
    pipeline.collect(c, report)
    stored = pipeline.build(c, None, report)
    html = pipeline.write_preview(c, stored.edition, tmp_path / "p.html")
    text = pipeline.write_preview(c, stored.edition, tmp_path / "p.txt", text=True)
    assert html.read_text().lower().startswith("<!doctype html>")
    assert stored.edition.stories[0].headline in text.read_text()
    assert os.path.getsize(html) < 102 * 1024
