"""Sources against real files and a real local HTTP server."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.errors import SourceError
from digest.sources.feed import FeedSource
from digest.sources.folder import FolderSource
from digest.sources.http import make_client
from digest.sources.page import PageSource
from tests.conftest import REPO, LocalServer

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>Test Feed</title><link>https://feed.example/</link><description>d</description>
<item><title>First item</title><link>https://feed.example/1?utm_source=rss</link>
<pubDate>Thu, 26 Nov 2026 09:00:00 +0100</pubDate>
<description>Teaser only.</description>
<content:encoded><![CDATA[<p>Full text of the first item.</p><p>Second paragraph.</p>]]></content:encoded>
</item>
<item><title>Second item</title><link>https://feed.example/2</link><description>Only a teaser.</description></item>
</channel></rss>"""


@pytest.fixture
def client():  # type: ignore[no-untyped-def]
    with make_client(timeout=5) as c:
        yield c


def test_feed_over_http(local_server: LocalServer, client) -> None:  # type: ignore[no-untyped-def]
    url = local_server.serve("/feed.xml", RSS, content_type="application/rss+xml")
    docs = FeedSource("Test", url=url, client=client, topic="World").fetch()
    assert [d.title for d in docs] == ["First item", "Second item"]
    assert docs[0].fragment and "Full text of the first item" in docs[0].fragment
    assert docs[1].fragment == "Only a teaser."
    assert (
        docs[0].published is not None
        and docs[0].published.isoformat() == "2026-11-26T08:00:00+00:00"
    )
    assert docs[0].topic_hint == "World"
    assert local_server.requests == ["/feed.xml"]


def test_feed_http_error_names_source_and_status(local_server: LocalServer, client) -> None:  # type: ignore[no-untyped-def]
    url = local_server.serve("/gone.xml", "gone", status=500)
    with pytest.raises(SourceError, match=r"source 'Broken': HTTP 500"):
        FeedSource("Broken", url=url, client=client).fetch()


def test_unreachable_feed_is_a_source_error(client) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SourceError, match="cannot fetch"):
        FeedSource("Down", url="http://127.0.0.1:9/feed.xml", client=client).fetch()


def test_malformed_feed_is_a_source_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text("<html><body><p>This is a web page, not a feed.</p></body></html>")
    with pytest.raises(SourceError, match="not a feed or has no entries"):
        FeedSource("Bad", path=bad).fetch()


def test_missing_feed_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot read"):
        FeedSource("Missing", path=tmp_path / "nope.xml").fetch()


def test_limit_caps_items(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_text(RSS)
    assert len(FeedSource("T", path=path, limit=1).fetch()) == 1


def test_shipped_sample_feeds_parse() -> None:
    for name in ("harbour-times.xml", "northern-ledger.atom", "civic-wire.xml"):
        docs = FeedSource(name, path=REPO / "samples" / "feeds" / name).fetch()
        assert len(docs) >= 8, name
        assert all(d.url and d.url.startswith("https://") for d in docs), name
        assert all(d.fragment for d in docs), name


def test_folder_reads_text_and_html(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Headline\n\nBody text.")
    (tmp_path / "b.html").write_text("<html><body><p>Body</p></body></html>")
    (tmp_path / "c.pdf").write_bytes(b"%PDF-1.4")
    docs = FolderSource("Saved", tmp_path).fetch()
    assert [(d.text is not None, d.html is not None) for d in docs] == [
        (True, False),
        (False, True),
    ]
    assert docs[0].origin.endswith("a.txt")


def test_empty_and_missing_folders_are_source_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="holds no"):
        FolderSource("Empty", tmp_path).fetch()
    with pytest.raises(SourceError, match="is not a folder"):
        FolderSource("Missing", tmp_path / "nope").fetch()


def test_page_over_http(local_server: LocalServer, client) -> None:  # type: ignore[no-untyped-def]
    url = local_server.serve(
        "/a.html",
        "<html><body><p>Café</p></body></html>".encode("latin-1"),
        content_type="text/html; charset=latin-1",
    )
    [doc] = PageSource("Page", url, client).fetch()
    assert doc.html is not None and "Café" in doc.html
    assert doc.url == url


def test_page_with_unknown_charset_falls_back_to_utf8(local_server: LocalServer, client) -> None:  # type: ignore[no-untyped-def]
    url = local_server.serve(
        "/b.html", "<p>Caf\u00e9</p>", content_type="text/html; charset=no-such"
    )
    [doc] = PageSource("Page", url, client).fetch()
    assert doc.html == "<p>Caf\u00e9</p>"


def test_page_that_is_not_html_is_refused(local_server: LocalServer, client) -> None:  # type: ignore[no-untyped-def]
    url = local_server.serve("/img.png", b"\x89PNG", content_type="image/png")
    with pytest.raises(SourceError, match="not a web page"):
        PageSource("Page", url, client).fetch()


def test_feed_images_from_media_and_enclosures(tmp_path: Path) -> None:
    feed = tmp_path / "media.xml"
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>'
        "<title>M</title><link>https://m.example/</link><description>d</description>"
        "<item><title>One</title><link>https://m.example/1</link><description>One.</description>"
        '<media:thumbnail url="https://m.example/1.jpg" width="640" height="320"/></item>'
        "<item><title>Two</title><link>https://m.example/2</link><description>Two.</description>"
        '<enclosure url="https://m.example/2.png" type="image/png" length="1"/></item>'
        "<item><title>Three</title><link>https://m.example/3</link><description>Three.</description>"
        '<enclosure url="https://m.example/3.mp3" type="audio/mpeg" length="1"/></item>'
        "</channel></rss>"
    )
    docs = FeedSource("M", path=feed).fetch()
    assert [d.image for d in docs] == ["https://m.example/1.jpg", "https://m.example/2.png", None]
