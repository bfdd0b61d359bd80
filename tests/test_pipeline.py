"""The pipeline on the shipped samples, a real SQLite file and the memory transport."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from digest import pipeline
from digest.components import Components, build_components
from digest.delivery.transport import MemoryTransport
from digest.errors import ConfigError, RenderError
from digest.models import ItemCounts, RawDocument, RunReport, SentStory, Story, StoryRef
from digest.rendering.outputs import write_preview
from digest.serialise import edition_to_dict
from digest.settings.config import load_settings
from digest.sources.source import MemorySource
from tests.conftest import FIXED_NOW, count_rows, make_article


def _components(config: Path, extra_toml: str = "") -> tuple[Components, MemoryTransport]:
    if extra_toml:
        config.write_text(config.read_text() + extra_toml)
    settings = load_settings(config, {})
    transport = MemoryTransport()
    return build_components(settings, clock=lambda: FIXED_NOW, transport=transport), transport


def test_one_document_that_cannot_be_cleaned_does_not_stop_its_source(project: Path) -> None:
    c, _ = _components(project)
    body = (
        "The harbour board approved the new ferry timetable on Tuesday evening after a long debate.\n\n"
        "Boats will leave every twenty minutes from March, the board's chair told reporters outside."
    )
    good = RawDocument("Memo", "https://memo.example/a", fragment=f"<p>{body}</p>", title="Ferries")
    empty = RawDocument("Memo", "https://memo.example/b", origin="memo item b")
    c.sources = [MemorySource("Memo", [empty, good])]
    report = RunReport()
    assert pipeline.collect(c, report) == 1
    assert report.documents_skipped == ["Memo: memo item b: no content"]
    assert [(s.name, s.ok) for s in report.sources] == [("Memo", True)]
    assert report.sources[0].counts == ItemCounts(2, 1, 0, 1, {"no content": 1})
    c.close()


def test_one_broken_source_does_not_stop_the_others(project: Path) -> None:
    broken = '\n[[sources]]\nname = "Gone"\nkind = "feed"\npath = "../samples/feeds/missing.xml"\n'
    c, _ = _components(project, broken)
    report = RunReport()
    new = pipeline.collect(c, report)
    by_name = {s.name: s for s in report.sources}
    assert not by_name["Gone"].ok and "missing.xml" in (by_name["Gone"].error or "")
    assert all(s.ok for name, s in by_name.items() if name != "Gone")
    assert new == count_rows(c.store, "articles") > 30


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
    stored = c.store.editions.latest("morning")
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
    html = write_preview(c.renderer, c.settings, stored.edition, tmp_path / "p.html")
    text = write_preview(c.renderer, c.settings, stored.edition, tmp_path / "p.txt", text=True)
    assert html.read_text().lower().startswith("<!doctype html>")
    assert stored.edition.stories[0].headline in text.read_text()
    assert os.path.getsize(html) < 102 * 1024


# -- stories already sent; the ranking explained ---------------------------------------

# Late reports on sample story 8 (Storm Bertil), which the morning edition sends.
STORM_REWRITE = """Storm Bertil leaves 41,000 homes without electricity

Storm Bertil swept across the north coast overnight into Friday, with the National Weather Institute recording a gust of 142 km/h at the Gull Island lighthouse.

Around 41,000 homes were left without electricity at the storm's peak, according to grid operator Northgrid. At noon on Friday 17,500 households were still without power, most of them around Millbrook and Kestrel Bay.

In Millbrook a 67-year-old man was seriously injured when a tree fell onto his car. He is said to be in a stable condition.

Coastlink cancelled its ferries between Port Alder and Gull Island, and Northern Railways shut the line between Millbrook and Ashby Cross because of fallen trees.

The amber wind warning for the coast stays in force until 6 p.m. on Friday.
"""
STORM_FOLLOW_UP = """Power back for most homes as Storm Bertil clean-up begins

Northgrid said on Saturday that all but 2,300 of the 41,000 homes that lost power during Storm Bertil had been reconnected, and that the last households around Kestrel Bay should have electricity again by Sunday evening.

The grid operator brought in 120 engineers from Veldmark to help its own crews, who worked through the night to replace 38 broken poles along the Millbrook road.

Northern Railways reopened the line between Millbrook and Ashby Cross at 5.40 on Saturday morning after clearing fallen trees, but warned of delays until Monday while a damaged signal at Oakfield is repaired.

Coastlink said its Gull Island ferries would run again from Sunday, with an extra sailing at 14.15 for passengers stranded on the island.

Rangers on Gull Island counted 1,180 grey seal pups on the lower beaches and said losses to the storm had been lower than feared. Senior ranger Tom Eklund called it "a small miracle".

The 67-year-old driver injured in Millbrook has been moved out of intensive care, Millbrook General Hospital said.
"""


def _on_clock(config: Path, clock: list[datetime]) -> tuple[Components, MemoryTransport]:
    """Components whose clock the test moves (a collection, then a build, later)."""
    transport = MemoryTransport()
    settings = load_settings(config, {})
    return build_components(settings, clock=lambda: clock[0], transport=transport), transport


def _late_desk(config: Path, text: str) -> None:
    """A folder source whose one article arrives after the first collection."""
    folder = config.parent.parent / "late"
    folder.mkdir(exist_ok=True)
    (folder / "storm.txt").write_text(text, encoding="utf-8")
    desk = '\n[[sources]]\nname = "Late Desk"\nkind = "folder"\npath = "../late"\n'
    config.write_text(config.read_text() + desk)


def _storm(stories: list[Story]) -> Story:
    (story,) = [s for s in stories if "Storm Bertil" in s.headline]
    return story


@pytest.mark.parametrize("late", ["rewrite", "follow-up"])
def test_a_sent_story_is_repeated_only_as_an_update_with_new_reporting(
    project: Path, late: str
) -> None:
    clock = [FIXED_NOW]
    morning, _ = _on_clock(project, clock)
    pipeline.run(morning, None)  # collect, build and send the edition of 2026-11-27
    sent = morning.store.editions.get("morning", "2026-11-27")
    assert sent is not None and sent.status == "sent"
    storm = _storm(sent.edition.stories)
    sent_ids = {link.article_id for s in sent.edition.stories for link in s.articles}

    # The same day, a second collection brings a late report on the storm ...
    _late_desk(project, STORM_REWRITE if late == "rewrite" else STORM_FOLLOW_UP)
    clock[0] = FIXED_NOW + timedelta(hours=4)
    later, transport = _on_clock(project, clock)
    assert pipeline.collect(later, RunReport()) == 1
    # ... and the next morning's edition is built and sent.
    clock[0] = FIXED_NOW + timedelta(days=1)
    pipeline.run(later, None)
    stored = later.store.editions.get("morning", "2026-11-28")
    assert stored is not None
    edition = stored.edition
    assert edition.stories  # the sample stories the caps left out yesterday
    assert not sent_ids & {link.article_id for s in edition.stories for link in s.articles}
    updates = [s for s in edition.stories if s.update_of is not None]
    if late == "rewrite":
        assert updates == []
        assert all("Storm Bertil" not in s.headline for s in edition.stories)
        assert all("Update:" not in m.text for m in transport.sent)
        return
    (update,) = updates
    assert update.update_of == StoryRef("morning/2026-11-27", storm.id)
    assert update.id != storm.id
    # The folder's text names no publisher: its outlet is not known, never "Late Desk".
    assert [link.source for link in update.articles] == [""]
    assert update.headline == "Power back for most homes as Storm Bertil clean-up begins"
    assert "2,300" in update.summary and "142 km/h" not in update.summary
    data = edition_to_dict(edition)
    (story,) = [s for x in data["sections"] for s in x["stories"] if s["id"] == update.id]
    assert story["update_of"] == {"edition": "morning/2026-11-27", "story": storm.id}
    readers = [m for m in transport.sent if update.headline in m.text]
    assert readers
    for message in readers:
        assert f"* Update: {update.headline}" in message.text
        assert ">Update:</span>" in message.html


def test_a_late_article_joins_its_story_in_a_draft_rebuild(project: Path) -> None:
    clock = [FIXED_NOW]
    first, _ = _on_clock(project, clock)
    report = RunReport()
    pipeline.collect(first, report)
    draft = pipeline.build(first, None, report)
    storm = _storm(draft.edition.stories)

    _late_desk(project, STORM_REWRITE)
    clock[0] = FIXED_NOW + timedelta(hours=1)  # 08:00 in Madrid: the same edition
    later, _ = _on_clock(project, clock)
    assert pipeline.collect(later, RunReport()) == 1
    rebuilt = pipeline.build(later, None, RunReport())
    assert (rebuilt.id, rebuilt.status) == (draft.id, "draft")
    joined = _storm(rebuilt.edition.stories)
    assert joined.update_of is None
    assert joined.id == storm.id  # the lead is the same
    before = {link.source for link in storm.articles}
    assert len(joined.articles) == len(storm.articles) + 1
    assert {link.source for link in joined.articles} == before | {""}  # not "Late Desk"


def test_build_edition_never_repeats_what_was_sent(project: Path) -> None:
    config = load_settings(project, {}).edition(None)
    sent = [
        make_article(
            f"s{n}",
            source=f"Outlet {n}",
            title="Storm Bertil",
            text=STORM_REWRITE.split("\n\n", 1)[1],
        )
        for n in range(2)
    ]
    earlier = SentStory(StoryRef("morning/2026-11-27", "storm"), tuple(sent))
    fresh = make_article(
        "new",
        title="Library opens late",
        text="The city library will stay open until ten at night from next month, the council said on Monday.",
    )
    edition = pipeline.build_edition(
        [fresh, *sent], config, FIXED_NOW, capped=False, sent=[earlier]
    )
    assert [link.article_id for s in edition.stories for link in s.articles] == ["new"]


def test_source_weights_reach_the_ranking_in_the_edition_json(project: Path) -> None:
    civic = 'name = "Civic Wire"\nkind = "feed"\n'
    project.write_text(project.read_text().replace(civic, civic + "weight = 3.0\n"))
    c, _ = _components(project)
    report = RunReport()
    pipeline.collect(c, report)
    edition = pipeline.build(c, None, report).edition
    stories = edition_to_dict(edition)["sections"]
    scored = [s for section in stories for s in section["stories"]]
    assert scored and all(s["ranking"]["total"] == s["score"] for s in scored)
    for story in scored:
        ranking = story["ranking"]
        # From the Civic Wire feed (a saved copy may credit Civic Wire but is no feed item).
        wire = any("civicwire.example" in (x["url"] or "") for x in story["sources"])
        assert ranking["weight"] == (3.0 if wire else 1.0)
        assert ranking["outlets"] == len({x["source"] for x in story["sources"]})
        assert ranking["total"] == pytest.approx(
            (ranking["outlets"] + ranking["freshness"]) * ranking["weight"], abs=1e-3
        )
    top = max(edition.stories, key=lambda s: s.score)
    assert top.ranking is not None and top.ranking.weight == 3.0
