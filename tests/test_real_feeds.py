"""The findings of issue 20, reproduced with made-up feeds (``tests/data/feeds``): a
headline-only RSS 1.0 feed, dates in Portuguese, Spanish, French and German, podcast
episodes and updates that share links. Every item a feed lists is stored, known or
counted as skipped under a reason."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digest import pipeline
from digest.cleaning.articles import article_id
from digest.components import Components, build_components
from digest.models import Article, ItemCounts, RunReport
from digest.settings.config import load_settings
from digest.stories.updates import FollowUp
from digest.summarise.story import story_summary
from tests.conftest import FIXED_NOW, LocalServer, count_rows, public_client, public_resolver
from tests.test_cli import digest
from tests.test_summarise_llm import ARTICLE, GOOD, FakeLLM, _summariser

FEEDS = Path(__file__).resolve().parent / "data" / "feeds"
SCIENCE_HOST = "https://www.science.example"
SENTENCE = "The team measured the effect in three field seasons and two laboratories. "


def components(tmp_path: Path, sources: str, **kwargs: object) -> Components:
    config = tmp_path / "digest.toml"
    config.write_text(
        'var_dir = "var"\n[storage]\nurl = "sqlite:///var/digest.db"\n[fetching]\nretries = 0\n'
        f"{sources}\n"
        '[[editions]]\nname = "morning"\ntitle = "Morning"\nlookback_hours = 24\n'
        "max_stories = 100\nmax_per_section = 100\n"
    )
    return build_components(load_settings(config, {}), clock=lambda: FIXED_NOW, **kwargs)  # type: ignore[arg-type]


def file_source(name: str, file: str, extra: str = "") -> str:
    return f'[[sources]]\nname = "{name}"\nkind = "feed"\npath = "{FEEDS / file}"\n{extra}\n'


def stored(c: Components) -> list[Article]:
    return c.store.articles.for_edition("morning", FIXED_NOW - timedelta(days=1))


@pytest.fixture
def science(tmp_path: Path) -> Iterator[Components]:
    c = components(tmp_path, file_source("Science", "science-rss1.rdf"))
    yield c
    c.close()


# -- Science: an RSS 1.0 feed of headlines ---------------------------------------------


def test_a_headline_only_feed_from_a_file_stores_every_item(science: Components) -> None:
    """Before: 69 items, 0 stored, each skipped as "no content", the source ok."""
    report = RunReport()
    assert pipeline.collect(science, report) == 69
    assert report.sources[0].counts == ItemCounts(69, 69, 0, 0, {})
    articles = stored(science)
    assert len(articles) == 69 and all(a.text == "" for a in articles)
    assert all(a.title and a.url and a.author and a.published for a in articles)
    assert any(
        "69 of 69 items have no text and are kept headline-only (full_text is off)" in note
        for note in report.notes
    )
    again = RunReport()
    assert pipeline.collect(science, again) == 0
    assert again.sources[0].counts == ItemCounts(69, 0, 69, 0, {})


def test_headline_only_stories_render_without_a_summary(science: Components) -> None:
    """Collect, build, render: 69 stories (headlines that share words are not merged),
    each a linked headline with no summary in the HTML or the text part."""
    pipeline.collect(science, RunReport())
    config = science.settings.edition(None)
    edition = pipeline.build_edition(stored(science), config, FIXED_NOW, capped=False)
    assert len(edition.stories) == 69
    assert all(story.summary == "" and len(story.articles) == 1 for story in edition.stories)
    rendered = science.renderer.render(edition, budget=None)
    headline = "Coral reefs reveal a hidden link to"
    assert rendered.html.count(headline) == 1
    assert f"* {headline}" in rendered.text
    # The headline is followed by its link, with no empty summary between them.
    assert re.search(r"\* Coral reefs reveal a hidden link to [^\n]+\n  https?://", rendered.text)
    assert "\n  \n" not in rendered.text


def science_pages(server: LocalServer) -> None:
    feed = (FEEDS / "science-rss1.rdf").read_text().replace(SCIENCE_HOST, server.public_url)
    server.serve("/science.rdf", feed, content_type="application/rdf+xml")
    for n in range(69):
        path = f"/doi/10.1126/science.adq{4100 + n}"
        page = (
            f"<html><head><title>Paper {n}</title></head><body><nav>Journals | Topics</nav>"
            f"<article><h1>Paper {n}</h1><p>Abstract {n}. {SENTENCE * 8}</p>"
            f"<p>{SENTENCE * 6}</p></article><footer>Science (made up)</footer></body></html>"
        )
        server.serve(f"{path}?af=R", page)


def test_a_headline_only_feed_over_http_gets_each_page_s_text(
    local_server: LocalServer, tmp_path: Path
) -> None:
    """full_text is on by default for a feed over http: each item's page is fetched
    through the Fetcher (public host, address checks) and its text kept."""
    science_pages(local_server)
    source = f'[[sources]]\nname = "Science"\nkind = "feed"\nurl = "{local_server.url}/science.rdf"\nlocal = true\n'
    c = components(tmp_path, source, client=public_client(), resolver=public_resolver)
    try:
        report = RunReport()
        assert pipeline.collect(c, report) == 69
        assert report.sources[0].counts == ItemCounts(69, 69, 0, 0, {})
        articles = stored(c)
        assert all(SENTENCE.strip() in a.text and len(a.text.split()) > 100 for a in articles)
        assert all("Journals" not in a.text for a in articles)
        assert len([p for p in local_server.requests if p.startswith("/doi/")]) == 69
        assert not any("headline-only" in note for note in report.notes)
    finally:
        c.close()


def test_with_full_text_off_the_items_stay_headline_only(
    local_server: LocalServer, tmp_path: Path
) -> None:
    science_pages(local_server)
    source = (
        f'[[sources]]\nname = "Science"\nkind = "feed"\nurl = "{local_server.url}/science.rdf"\n'
        "local = true\nfull_text = false\n"
    )
    c = components(tmp_path, source, client=public_client(), resolver=public_resolver)
    try:
        report = RunReport()
        assert pipeline.collect(c, report) == 69
        assert all(a.text == "" for a in stored(c))
        assert local_server.requests == ["/science.rdf"]
        assert any("kept headline-only (full_text is off)" in note for note in report.notes)
    finally:
        c.close()


# -- dates in Portuguese, Spanish, French, German ---------------------------------------


def test_portuguese_dates_are_read_and_every_item_stored(tmp_path: Path) -> None:
    """Before: 15 items, 11 stored, none with a date."""
    c = components(tmp_path, file_source("UOL", "uol-pt.xml"))
    try:
        report = RunReport()
        assert pipeline.collect(c, report) == 15
        assert report.sources[0].counts == ItemCounts(15, 15, 0, 0, {})
        articles = {a.url: a for a in stored(c)}
        first = articles["https://noticias.uol.example/2018/09/24/noticia-1.htm"]
        assert first.published == datetime(2018, 9, 24, 22, 42, 40, tzinfo=UTC)  # 19:42:40 -0300
        assert all(a.published and a.published.year == 2018 for a in articles.values())
        assert sum(1 for a in articles.values() if not a.text) == 4
        assert {a.language for a in articles.values()} == {"pt-br"}
    finally:
        c.close()


@pytest.mark.parametrize(
    ("language", "dates"),
    [
        ("es", ["2018-09-24 17:42:40", "2018-09-25 06:10:00", "2018-09-26 10:00:00",
                "2018-09-27 09:30:00", "2018-09-28 19:05:00"]),
        ("fr", ["2018-09-24 17:42:40", "2018-09-25 06:10:00", "2018-09-26 10:00:00",
                "2018-09-27 09:30:00", "2018-09-28 19:05:00"]),
        ("de", ["2018-09-24 17:42:40", "2018-09-25 06:10:00", "2018-09-26 10:00:00",
                "2018-09-27 09:30:00", "2018-09-28 19:05:00"]),
    ],
)  # fmt: skip
def test_spanish_french_and_german_dates_are_read(
    tmp_path: Path, language: str, dates: list[str]
) -> None:
    """Local day and month names, a two-digit year, no zone (UTC), CEST / MESZ."""
    c = components(tmp_path, file_source("News", f"dates-{language}.xml"))
    try:
        pipeline.collect(c, RunReport())
        by_link = sorted(stored(c), key=lambda a: a.url or "")
        assert [f"{a.published:%Y-%m-%d %H:%M:%S}" for a in by_link] == dates
    finally:
        c.close()


def test_an_unreadable_date_is_the_collection_time_and_a_future_one_is_clamped(
    tmp_path: Path,
) -> None:
    items = [
        ("Unreadable", "https://d.example/1", "sometime last week"),
        ("Future", "https://d.example/2", "Sat, 01 Jan 2099 10:00:00 +0000"),
        ("Fine", "https://d.example/3", "Thu, 26 Nov 2026 10:00:00 +0000"),
    ]
    feed = tmp_path / "dates.xml"
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>D</title>'
        + "".join(
            f"<item><title>{t}</title><link>{u}</link><pubDate>{d}</pubDate>"
            f"<description>{t} item text.</description></item>"
            for t, u, d in items
        )
        + "</channel></rss>"
    )
    c = components(tmp_path, f'[[sources]]\nname = "D"\nkind = "feed"\npath = "{feed}"\n')
    try:
        report = RunReport()
        pipeline.collect(c, report)
        dated = {a.title: a.published for a in stored(c)}
        assert dated == {
            "Unreadable": FIXED_NOW,
            "Future": FIXED_NOW,
            "Fine": datetime(2026, 11, 26, 10, tzinfo=UTC),
        }
        notes = "\n".join(report.notes)
        assert "1 item with a date that cannot be read (such as 'sometime last week')" in notes
        assert "1 item dated in the future (up to 2099-01-01 10:00 UTC)" in notes
    finally:
        c.close()


# -- identity: GUIDs within a source, links across sources ------------------------------


def test_podcast_episodes_sharing_links_are_each_stored(tmp_path: Path) -> None:
    """Before: 130 episodes (130 GUIDs) on 9 links, 8 stored."""
    c = components(tmp_path, file_source("Podcast", "podcast.xml"))
    try:
        report = RunReport()
        assert pipeline.collect(c, report) == 130
        assert report.sources[0].counts == ItemCounts(130, 130, 0, 0, {})
        articles = stored(c)
        assert len({a.url for a in articles}) == 9 and len({a.guid for a in articles}) == 130
        again = RunReport()
        assert pipeline.collect(c, again) == 0
        assert again.sources[0].counts == ItemCounts(130, 0, 130, 0, {})
    finally:
        c.close()


def test_updates_sharing_a_link_are_each_stored(tmp_path: Path) -> None:
    """Before: 40 items, 36 stored."""
    c = components(tmp_path, file_source("Ledger", "updates.xml"))
    try:
        assert pipeline.collect(c, RunReport()) == 40
        titles = {a.title for a in stored(c)}
        assert "Update: Council story number 3 of the month about the ferries" in titles
        assert "Council story number 3 of the month about the ferries" in titles
    finally:
        c.close()


def test_shared_links_get_no_full_text(local_server: LocalServer, tmp_path: Path) -> None:
    """A season's page is about none of its episodes: it is not fetched, and each
    episode keeps its own notes."""
    feed = (
        (FEEDS / "podcast.xml")
        .read_text()
        .replace("https://podcast.example", local_server.public_url)
    )
    local_server.serve("/podcast.xml", feed, content_type="application/rss+xml")
    source = f'[[sources]]\nname = "Podcast"\nkind = "feed"\nurl = "{local_server.url}/podcast.xml"\nlocal = true\n'
    c = components(tmp_path, source, client=public_client(), resolver=public_resolver)
    try:
        report = RunReport()
        assert pipeline.collect(c, report) == 130
        assert local_server.requests == ["/podcast.xml"]
        note = next(n for n in report.notes if "teaser kept" in n)
        assert "16 items share the link, a page about none of them (and 8 more)" in note
        assert len({a.text for a in stored(c)}) == 128  # 127 episodes' notes, 3 empty
    finally:
        c.close()


def write_feed(path: Path, items: list[tuple[str, str, str]]) -> Path:
    """An RSS 2.0 file of (guid, link, title) items with a sentence of text each."""
    path.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>'
        + "".join(
            f'<item><guid isPermaLink="false">{g}</guid><link>{link}</link><title>{t}</title>'
            f"<description>{t}: the council voted on the harbour plan on Tuesday.</description></item>"
            for g, link, t in items
        )
        + "</channel></rss>"
    )
    return path


def test_one_link_in_two_feeds_is_one_article_whatever_the_guids(tmp_path: Path) -> None:
    a = write_feed(tmp_path / "a.xml", [("a-1", "https://x.example/story?utm_source=a", "Story")])
    b = write_feed(tmp_path / "b.xml", [("b-77", "https://x.example/story", "Story, again")])
    sources = (
        f'[[sources]]\nname = "A"\nkind = "feed"\npath = "{a}"\n'
        f'[[sources]]\nname = "B"\nkind = "feed"\npath = "{b}"\n'
    )
    c = components(tmp_path, sources)
    try:
        report = RunReport()
        assert pipeline.collect(c, report) == 1
        counts = {s.name: s.counts for s in report.sources}
        assert counts == {"A": ItemCounts(1, 1, 0, 0, {}), "B": ItemCounts(1, 0, 1, 0, {})}
        [article] = stored(c)
        assert (article.source, article.guid) == ("A", "a-1")
    finally:
        c.close()


def test_a_link_another_source_stored_gets_no_full_text(
    local_server: LocalServer, tmp_path: Path
) -> None:
    """The item is that article already (known): its page is not fetched again."""
    link = f"{local_server.public_url}/story"
    first = write_feed(tmp_path / "a.xml", [("a-1", link, "Story")])
    local_server.serve(
        "/b.xml",
        write_feed(
            tmp_path / "b.xml", [("b-1", link, "Story"), ("b-2", link + "-2", "Other")]
        ).read_text(),
        content_type="application/rss+xml",
    )
    local_server.serve(
        "/story-2", f"<html><body><article><p>{SENTENCE * 20}</p></article></body></html>"
    )
    sources = (
        f'[[sources]]\nname = "A"\nkind = "feed"\npath = "{first}"\n'
        f'[[sources]]\nname = "B"\nkind = "feed"\nurl = "{local_server.url}/b.xml"\nlocal = true\n'
    )
    c = components(tmp_path, sources, client=public_client(), resolver=public_resolver)
    try:
        assert pipeline.collect(c, RunReport()) == 2  # A's story, B's other one
        local_server.requests.clear()
        report = RunReport()
        assert pipeline.collect(c, report) == 0
        assert local_server.requests == ["/b.xml"]  # A's link and B's stored one: no page
        assert {s.name: s.counts for s in report.sources}["B"] == ItemCounts(2, 0, 2, 0, {})
    finally:
        c.close()


def test_a_guid_listed_twice_is_one_article_and_a_guid_on_many_links_is_no_identity(
    tmp_path: Path,
) -> None:
    feed = write_feed(
        tmp_path / "f.xml",
        [
            ("g-1", "https://x.example/1", "One"),
            ("g-1", "https://x.example/1", "One"),  # the same item twice
            ("feed", "https://x.example/2", "Two"),  # a GUID every other item has too
            ("feed", "https://x.example/3", "Three"),
        ],
    )
    c = components(tmp_path, f'[[sources]]\nname = "F"\nkind = "feed"\npath = "{feed}"\n')
    try:
        report = RunReport()
        assert pipeline.collect(c, report) == 3
        assert report.sources[0].counts == ItemCounts(4, 3, 1, 0, {})
        assert {a.guid for a in stored(c)} == {"g-1", None}
        assert any("2 items share a GUID with items of other links" in n for n in report.notes)
    finally:
        c.close()


def test_articles_stored_before_guids_were_kept_are_known_by_link_and_title(
    tmp_path: Path,
) -> None:
    feed = write_feed(
        tmp_path / "f.xml",
        [("g-1", "https://x.example/1", "One"), ("g-2", "https://x.example/1", "Two")],
    )
    c = components(tmp_path, f'[[sources]]\nname = "F"\nkind = "feed"\npath = "{feed}"\n')
    try:
        url = "https://x.example/1"
        legacy = Article(article_id(url, "F", "One", "t"), "F", "One", "One: text", url=url)
        assert c.store.articles.add([legacy], FIXED_NOW) == 1
        report = RunReport()
        assert pipeline.collect(c, report) == 1  # "Two" is another episode on the link
        assert report.sources[0].counts == ItemCounts(2, 1, 1, 0, {})
        assert count_rows(c.store, "articles") == 2
    finally:
        c.close()


# -- the source's own skips ----------------------------------------------------------------


def test_items_over_the_limit_and_json_feed_non_items_are_counted(tmp_path: Path) -> None:
    feed = tmp_path / "feed.json"
    feed.write_text(
        json.dumps(
            {
                "version": "https://jsonfeed.org/version/1.1",
                "title": "J",
                "items": [
                    {
                        "id": 1,
                        "url": "https://j.example/1",
                        "title": "One",
                        "content_text": "Text one.",
                    },
                    "not an item",
                    {
                        "id": "2",
                        "url": "https://j.example/1",
                        "title": "Two",
                        "content_text": "Text two.",
                    },
                    {"id": "3", "title": "Three"},
                ],
            }
        )
    )
    sources = (
        file_source("Podcast", "podcast.xml", "limit = 10")
        + f'[[sources]]\nname = "J"\nkind = "feed"\npath = "{feed}"\n'
    )
    c = components(tmp_path, sources)
    try:
        report = RunReport()
        pipeline.collect(c, report)
        counts = {s.name: s.counts for s in report.sources}
        assert counts["Podcast"] == ItemCounts(130, 10, 0, 120, {"over the source's limit": 120})
        assert counts["J"] == ItemCounts(
            4, 2, 0, 2, {"not a JSON Feed item (no object)": 1, "no content": 1}
        )
        assert {a.guid for a in stored(c) if a.source == "J"} == {"1", "2"}
        assert "J: " in "\n".join(report.documents_skipped)
    finally:
        c.close()


# -- what users see ------------------------------------------------------------------------


@pytest.mark.slow
def test_status_and_the_run_summary_show_each_source_s_counts(tmp_path: Path) -> None:
    config = tmp_path / "digest.toml"
    config.write_text(
        'var_dir = "var"\n[storage]\nurl = "sqlite:///var/digest.db"\n'
        + file_source("Science", "science-rss1.rdf")
        + file_source("Podcast", "podcast.xml", "limit = 100")
        + '[[editions]]\nname = "morning"\ntitle = "Morning"\n'
    )
    collected = digest("collect", "--config", str(config))
    assert collected.returncode == 0, collected.stderr
    assert "69 items: 69 stored, 0 skipped" in collected.stdout
    assert "130 items: 100 stored, 30 skipped (over the source's limit: 30)" in collected.stdout

    again = digest("collect", "--config", str(config))
    assert "69 items: 0 stored, 69 known, 0 skipped" in again.stdout
    result = digest("sources", "status", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["source"]: row for row in json.loads(result.stdout)}
    science = {
        k: rows["Science"][k] for k in ("items", "stored", "known", "skipped", "skip_reasons")
    }
    assert science == {"items": 69, "stored": 0, "known": 69, "skipped": 0, "skip_reasons": {}}
    podcast = rows["Podcast"]
    assert podcast["items"] == podcast["stored"] + podcast["known"] + podcast["skipped"] == 130
    assert podcast["skip_reasons"] == {"over the source's limit": 30}

    table = digest("sources", "status", "--config", str(config))
    assert "69 items: 0 stored, 69 known, 0 skipped" in table.stdout


def test_full_text_is_on_by_default_for_feeds_over_http_only(tmp_path: Path) -> None:
    config = tmp_path / "digest.toml"
    config.write_text(
        '[[sources]]\nname = "Web"\nkind = "feed"\nurl = "https://w.example/feed"\n'
        '[[sources]]\nname = "File"\nkind = "feed"\npath = "feed.xml"\n'
        '[[sources]]\nname = "Off"\nkind = "feed"\nurl = "https://o.example/feed"\nfull_text = false\n'
        '[[sources]]\nname = "On"\nkind = "feed"\npath = "feed.xml"\nfull_text = true\n'
        '[[sources]]\nname = "Page"\nkind = "page"\nurl = "https://p.example/"\n'
        '[[editions]]\nname = "morning"\ntitle = "Morning"\n'
    )
    settings = load_settings(config, {})
    assert {s.name: s.full_text for s in settings.sources} == {
        "Web": True,
        "File": False,
        "Off": False,
        "On": True,
        "Page": False,
    }


def test_no_llm_summary_is_asked_for_headlines_alone() -> None:
    fake = FakeLLM()
    fake.server.start()
    llm = _summariser(fake.url)
    headline = Article(
        "h1", "Science", "Coral reefs reveal a hidden link", "", url="https://s.example/1"
    )
    try:
        assert story_summary(FollowUp([headline]), 60, llm=llm) == ""
        assert fake.requests == []
        assert story_summary(FollowUp([ARTICLE]), 60, llm=llm) == GOOD and len(fake.requests) == 1
    finally:
        fake.server.stop()
