"""Sources against real files and a real local HTTP server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from digest.errors import SourceError
from digest.sources.feed import FeedSource
from digest.sources.folder import FolderSource
from digest.sources.http import Fetcher, FetchPolicy, make_client
from digest.sources.page import PageSource
from tests.conftest import REPO, LocalServer, Route

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
    """A Fetcher on a real client; the local server is on 127.0.0.1, so sources here
    are configured as local."""
    with make_client(timeout=5) as c:
        yield Fetcher(c, FetchPolicy(retries=1, backoff=0.01))


def test_feed_over_http(local_server: LocalServer, client) -> None:  # type: ignore[no-untyped-def]
    url = local_server.serve("/feed.xml", RSS, content_type="application/rss+xml")
    docs = FeedSource("Test", url=url, fetcher=client, topic="World", local=True).fetch()
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
    with pytest.raises(SourceError, match=r"source 'Broken': cannot fetch .*HTTP 500"):
        FeedSource("Broken", url=url, fetcher=client, local=True).fetch()


def test_unreachable_feed_is_a_source_error(client) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SourceError, match="cannot fetch"):
        FeedSource("Down", url="http://127.0.0.1:9/feed.xml", fetcher=client, local=True).fetch()


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
    [doc] = PageSource("Page", url, client, local=True).fetch()
    assert doc.html is not None and "Café" in doc.html
    assert doc.url == url


def test_page_with_unknown_charset_falls_back_to_utf8(local_server: LocalServer, client) -> None:  # type: ignore[no-untyped-def]
    url = local_server.serve(
        "/b.html", "<p>Caf\u00e9</p>", content_type="text/html; charset=no-such"
    )
    [doc] = PageSource("Page", url, client, local=True).fetch()
    assert doc.html == "<p>Caf\u00e9</p>"


def test_page_that_is_not_html_is_refused(local_server: LocalServer, client) -> None:  # type: ignore[no-untyped-def]
    url = local_server.serve("/img.png", b"\x89PNG", content_type="image/png")
    with pytest.raises(SourceError, match=r"binary content \(image/png\), skipped"):
        PageSource("Page", url, client, local=True).fetch()
    url = local_server.serve("/data.json", b'{"a": 1}', content_type="application/json")
    with pytest.raises(SourceError, match="is application/json, not a web page"):
        PageSource("Page", url, client, local=True).fetch()


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


# -- fetching on the open web ---------------------------------------------------------------


def _fetcher(client: httpx.Client, **policy: Any) -> tuple[Fetcher, list[float]]:
    slept: list[float] = []
    return Fetcher(client, FetchPolicy(**policy), sleep=slept.append), slept


def test_private_addresses_are_refused_unless_local(local_server: LocalServer) -> None:
    url = local_server.serve("/feed.xml", RSS, content_type="application/rss+xml")
    with make_client(5) as c:
        fetcher, _ = _fetcher(c)
        with pytest.raises(SourceError, match="private or local address"):
            FeedSource("Intranet", url=url, fetcher=fetcher).fetch()
        assert local_server.requests == []  # refused before any request
        assert FeedSource("Intranet", url=url, fetcher=fetcher, local=True).fetch()


def test_redirect_to_a_metadata_address_is_refused() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.url} Host: {request.headers['host']}")
        return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})

    with httpx.Client(transport=httpx.MockTransport(handler)) as c:
        fetcher = Fetcher(c, resolver=lambda host: ["93.184.216.34"])
        with pytest.raises(SourceError, match=r"169\.254\.169\.254.*private or local"):
            fetcher.fetch("News", "http://news.example/feed.xml")
    # The checked address was asked (pinned: DNS is not asked again); the metadata one never.
    assert seen == ["http://93.184.216.34/feed.xml Host: news.example"]


def test_redirects_are_followed_up_to_a_limit(local_server: LocalServer) -> None:
    local_server.routes["/old"] = Route(301, b"", {"Location": "/new"})
    local_server.serve("/new", RSS, content_type="application/rss+xml")
    local_server.routes["/loop"] = Route(302, b"", {"Location": "/loop"})
    with make_client(5) as c:
        fetcher, _ = _fetcher(c)
        body = fetcher.fetch("S", local_server.url + "/old", allow_private=True).body
        assert b"First item" in body
        with pytest.raises(SourceError, match="more than 5 redirects"):
            fetcher.fetch("S", local_server.url + "/loop", allow_private=True)


def test_retries_on_5xx_and_429_honouring_retry_after(local_server: LocalServer) -> None:
    local_server.scripts["/flaky"] = [
        Route(503, b"busy"),
        Route(429, b"slow down", {"Retry-After": "7"}),
    ]
    local_server.serve("/flaky", RSS, content_type="application/rss+xml")
    with make_client(5) as c:
        fetcher, slept = _fetcher(c, retries=2, backoff=0.25)
        body = fetcher.fetch("S", local_server.url + "/flaky", allow_private=True).body
    assert b"First item" in body
    assert slept == [0.25, 7.0]  # backoff, then the server's Retry-After
    assert local_server.requests == ["/flaky"] * 3


def test_gives_up_after_the_retries(local_server: LocalServer) -> None:
    local_server.serve("/down", "down", status=502)
    with make_client(5) as c:
        fetcher, slept = _fetcher(c, retries=2, backoff=0.1)
        with pytest.raises(SourceError, match="HTTP 502"):
            fetcher.fetch("S", local_server.url + "/down", allow_private=True)
    assert slept == [0.1, 0.2] and len(local_server.requests) == 3


def test_oversized_response_is_cut(local_server: LocalServer) -> None:
    local_server.serve("/big", b"x" * 50_000, content_type="text/html")
    with make_client(5) as c:
        fetcher, _ = _fetcher(c, max_bytes=10_000)
        with pytest.raises(SourceError, match="larger than 10000 bytes"):
            fetcher.fetch("S", local_server.url + "/big", allow_private=True)


def test_per_host_limit_holds_under_concurrency(local_server: LocalServer) -> None:
    local_server.delay = 0.1
    for n in range(8):
        local_server.serve(f"/f{n}.xml", RSS, content_type="application/rss+xml")
    with make_client(5) as c:
        fetcher = Fetcher(c, FetchPolicy(per_host=2))
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(
                pool.map(
                    lambda n: fetcher.fetch(
                        "S", f"{local_server.url}/f{n}.xml", allow_private=True
                    ),
                    range(8),
                )
            )
    assert local_server.max_in_flight == 2


def test_json_feed(local_server: LocalServer, client) -> None:  # type: ignore[no-untyped-def]
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "J",
        "items": [
            {
                "id": "1",
                "url": "https://j.example/1",
                "title": "Quay reopens",
                "content_html": "<p>The quay reopened on Monday after repairs.</p>",
                "date_published": "2026-11-26T09:00:00Z",
                "authors": [{"name": "Ann Bee"}],
                "image": "https://j.example/1.jpg",
            },
            {
                "id": "2",
                "url": "https://j.example/2",
                "title": "Plain",
                "content_text": "Just text.",
            },
        ],
    }
    import json

    url = local_server.serve("/feed.json", json.dumps(feed), content_type="application/feed+json")
    first, second = FeedSource("J", url=url, fetcher=client, local=True).fetch()
    assert (first.title, first.url, first.author, first.image) == (
        "Quay reopens",
        "https://j.example/1",
        "Ann Bee",
        "https://j.example/1.jpg",
    )
    assert first.fragment and "quay reopened" in first.fragment
    assert (
        first.published is not None and first.published.isoformat() == "2026-11-26T09:00:00+00:00"
    )
    assert second.text == "Just text." and second.fragment is None


def test_json_that_is_not_a_json_feed(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"hello": "world"}')
    with pytest.raises(SourceError, match="not a JSON Feed"):
        FeedSource("X", path=path).fetch()


def test_folder_reads_saved_newsletters(tmp_path: Path) -> None:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "Harbour Weekly <news@harbour.example>"
    message["Subject"] = "Harbour Weekly: the new ferry timetable"
    message["Date"] = "Thu, 26 Nov 2026 08:00:00 +0000"
    message.set_content("Plain version.")
    message.add_alternative(
        "<html><body><article><p>The new ferry timetable starts on Monday.</p></article></body></html>",
        subtype="html",
    )
    (tmp_path / "weekly.eml").write_bytes(message.as_bytes())
    [doc] = FolderSource("Inbox", tmp_path).fetch()
    assert doc.title == "Harbour Weekly: the new ferry timetable"
    assert doc.html is not None and "ferry timetable starts" in doc.html and doc.text is None
    assert doc.published is not None and doc.published.isoformat() == "2026-11-26T08:00:00+00:00"
