"""Full text for teaser items: linked pages fetched from a real local server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from digest import pipeline
from digest.cleaning.articles import clean
from digest.components import build_components
from digest.errors import ConfigError
from digest.models import RawDocument, RunReport
from digest.settings.config import load_settings
from digest.sources.feed import FeedSource
from digest.sources.fulltext import FullText, is_teaser
from digest.sources.http import Fetcher, FetchPolicy, make_client
from digest.urls import canonical_url
from tests.conftest import (
    FIXED_NOW,
    PUBLIC_HOST,
    LocalServer,
    public_client,
    public_resolver,
)

SENTENCE = "The harbour board agreed on Tuesday to rebuild the north quay before winter. "
LONG = SENTENCE * 30  # 360 words


def article_page(body: str, title: str = "Quay to be rebuilt") -> str:
    return (
        f'<html lang="en"><head><title>{title}</title><meta name="author" content="Ann Bee">'
        f"</head><body><nav>Home | News | Sport</nav><article><h1>{title}</h1>"
        f"<p>{body}</p><p>{body}</p></article><footer>© Harbour Times</footer></body></html>"
    )


def feed(server: LocalServer) -> str:
    items = [
        ("Full item", "/articles/full", f"<![CDATA[<p>{LONG}</p>]]>"),
        ("Teaser", "/articles/2", "The board met on Tuesday. Read more"),
        ("Missing page", "/missing", "A teaser whose page is gone…"),
        ("A picture", "/picture.png", "A teaser that links to an image."),
        ("Thin page", "/thin", "A teaser with more words than its page has, really quite a few."),
    ]
    body = "".join(
        f"<item><title>{t}</title><link>{server.public_url}{path}</link>"
        f"<description>{d}</description></item>"
        for t, path, d in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>H</title>{body}</channel></rss>'
    )


@pytest.fixture
def served(local_server: LocalServer) -> LocalServer:
    local_server.serve("/feed.xml", feed(local_server), content_type="application/rss+xml")
    local_server.serve("/articles/2", article_page(LONG))
    local_server.serve("/picture.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, content_type="image/png")
    local_server.serve("/thin", article_page("Short."))
    return local_server


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    """Item links name a public host (``news.example``), served by the local server."""
    with public_client() as client:
        yield Fetcher(client, FetchPolicy(retries=0), resolver=public_resolver)


def test_teasers_get_the_page_text_and_failures_keep_the_teaser(
    served: LocalServer, fetcher: Fetcher
) -> None:
    source = FeedSource(
        "Harbour", url=served.url + "/feed.xml", fetcher=fetcher, local=True, full_text=True
    )
    fetched = source.fetch_changes(None)
    by_title = {d.title: d for d in fetched.documents}
    assert len(fetched.documents) == 5

    expanded = clean(by_title["Teaser"])
    assert len(expanded.text.split()) > 300 and "north quay" in expanded.text
    assert "Home | News" not in expanded.text and expanded.author == "Ann Bee"
    assert expanded.language == "en" and expanded.url == served.public_url + "/articles/2"

    assert by_title["Missing page"].fragment == "A teaser whose page is gone…"
    assert by_title["A picture"].fragment == "A teaser that links to an image."
    reasons = "\n".join(fetched.notes)
    assert "/missing: HTTP 404" in reasons
    assert "/picture.png: " in reasons and "binary content (image/png)" in reasons
    assert "/thin: the page has no more text than the feed" in reasons
    assert len(fetched.notes) == 3

    # The item with its full text in the feed was never fetched.
    assert "/articles/full" not in served.requests


def test_known_links_are_not_fetched_again(served: LocalServer, fetcher: Fetcher) -> None:
    source = FeedSource(
        "Harbour", url=served.url + "/feed.xml", fetcher=fetcher, local=True, full_text=True
    )
    known = {canonical_url(served.public_url + p) for p in ("/articles/2", "/missing", "/thin")}
    fetched = source.fetch_changes(None, known)
    assert [p for p in served.requests if p != "/feed.xml"] == ["/picture.png"]
    assert len(fetched.notes) == 1


def test_a_feed_source_fetches_no_page_unless_asked(served: LocalServer, fetcher: Fetcher) -> None:
    FeedSource("Harbour", url=served.url + "/feed.xml", fetcher=fetcher, local=True).fetch()
    assert served.requests == ["/feed.xml"]


def test_linked_pages_get_the_same_address_checks(local_server: LocalServer) -> None:
    """Items linking to a private address, from a source that is local: the links
    are refused like any other fetch (local covers the feed's own URL only), and the
    teasers stay."""
    local_server.serve("/feed.xml", feed(local_server).replace(PUBLIC_HOST, "127.0.0.1"))
    with make_client(5) as client:
        fetcher = Fetcher(client, FetchPolicy(retries=0))
        raw = FeedSource(
            "H", url=local_server.url + "/feed.xml", fetcher=fetcher, local=True
        ).fetch()
        documents, notes = FullText(fetcher).expand(raw)
    assert len(notes) == 4 and all("private or local address" in note for note in notes)
    assert documents == raw
    assert local_server.requests == ["/feed.xml"]


@pytest.mark.parametrize(
    ("fragment", "teaser"),
    [
        ("<p>One line.</p>", True),
        (f"<p>{LONG}</p>", False),
        (f"<p>{SENTENCE * 12} Continue reading →</p>", True),
        (f"<p>{SENTENCE * 12} […]</p>", True),
        (f"<p>{SENTENCE * 12}</p>", False),
    ],
)
def test_what_counts_as_a_teaser(fragment: str, teaser: bool) -> None:
    assert is_teaser(RawDocument(source="S", url=None, fragment=fragment)) is teaser


def test_collect_fetches_each_page_once(served: LocalServer, tmp_path: Path) -> None:
    config = tmp_path / "digest.toml"
    config.write_text(
        'var_dir = "var"\n[storage]\nurl = "sqlite:///var/digest.db"\n'
        f'[[sources]]\nname = "Harbour"\nkind = "feed"\nurl = "{served.url}/feed.xml"\n'
        'local = true\nfull_text = true\nlanguage = "en-GB"\n'
        '[[editions]]\nname = "morning"\ntitle = "Morning"\n'
    )
    c = build_components(
        load_settings(config, {}),
        clock=lambda: FIXED_NOW,
        client=public_client(),
        resolver=public_resolver,
    )
    try:
        first = RunReport()
        assert pipeline.collect(c, first) == 5
        assert any("teaser kept for" in note and "(and 2 more)" in note for note in first.notes)
        pages = [p for p in served.requests if p != "/feed.xml"]
        assert sorted(pages) == ["/articles/2", "/missing", "/picture.png", "/thin"]
        stored = c.store.articles.for_edition("morning", FIXED_NOW.replace(year=2020))
        assert {a.language for a in stored} == {"en-GB"}

        served.requests.clear()
        pipeline.collect(c, RunReport())
        assert served.requests == ["/feed.xml"]  # every link is stored: no page again
    finally:
        c.close()


def test_full_text_and_language_are_checked_in_the_config(project: Path) -> None:
    base = project.read_text()
    project.write_text(
        base + '\n[[sources]]\nname = "P"\nkind = "page"\nurl = "https://p.example/"\n'
        "full_text = true\n"
    )
    with pytest.raises(ConfigError, match="full_text applies to feed sources only"):
        load_settings(project, {})
    project.write_text(
        base + '\n[[sources]]\nname = "F"\nkind = "feed"\nurl = "https://f.example/"\n'
        'language = "english"\n'
    )
    with pytest.raises(ConfigError, match=r"sources\[4\]\.language: 'english' is not a language"):
        load_settings(project, {})
