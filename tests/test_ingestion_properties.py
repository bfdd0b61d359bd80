"""Property-based: malformed feeds and HTML through parsing and cleaning never raise
anything but a recorded reason (SourceError for a source, ExtractionError for a
document), and whatever comes out is usable."""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.cleaning.articles import clean
from digest.errors import ExtractionError, SourceError
from digest.models import Article, RawDocument
from digest.sources.decoding import decode_text
from digest.sources.feed import FeedSource
from digest.sources.page import page_metadata

# Modest, so the suite stays fast; DIGEST_HYPOTHESIS_EXAMPLES=5000 explores more.
PROPERTY = settings(
    max_examples=int(os.environ.get("DIGEST_HYPOTHESIS_EXAMPLES", "120")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

FEED_TOKENS = [
    '<?xml version="1.0"?>',
    '<?xml version="1.0" encoding="utf-16"?>',
    '<?xml version="1.0" encoding="no-such"?>',
    '<!DOCTYPE rss [<!ENTITY a "&b;&b;"><!ENTITY b "bb">]>',
    '<!DOCTYPE rss SYSTEM "http://127.0.0.1:9/x.dtd">',
    '<rss version="2.0">',
    "</rss>",
    "<channel>",
    "</channel>",
    "<item>",
    "</item>",
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    "<entry>",
    "</entry>",
    "<title>",
    "</title>",
    "<link>https://x.example/a?utm_source=y</link>",
    '<link href="javascript:alert(1)"/>',
    "<link>/relative/path</link>",
    "<description>",
    "</description>",
    "<content:encoded><![CDATA[<p>Body text here.</p>",
    "]]></content:encoded>",
    "<pubDate>Thu, 26 Nov 2026 09:00:00 +0100</pubDate>",
    "<pubDate>Mon, 01 Jan 0001 00:00:00 +2400</pubDate>",
    "<updated>9999-12-31T23:59:59-23:00</updated>",
    '<media:thumbnail url="https://x.example/i.jpg"/>',
    '<enclosure url="x" type="image/png"/>',
    "&amp;",
    "&a;",
    "&#0;",
    "&#x110000;",
    "<p>",
    "</p>",
    "<script>alert(1)</script>",
    "\x00",
    "\ufeff",
    "]]>",
    "<",
    ">",
]
HTML_TOKENS = [
    "<!DOCTYPE html>",
    '<?xml version="1.0" encoding="utf-8"?>',
    '<html lang="en">',
    '<html lang="not a language">',
    "<head>",
    "</head>",
    '<meta charset="shift_jis">',
    '<meta name="author" content="Ann">',
    '<link rel="canonical" href="//evil.example/x">',
    '<link rel="canonical" href="/a/b">',
    '<meta property="og:url" content="javascript:x">',
    "<title>",
    "</title>",
    "<body>",
    "<article>",
    "</article>",
    "<nav>Home | News</nav>",
    "<p>",
    "</p>",
    "<table><tr><td>",
    "</td></tr></table>",
    "<script>",
    "</script>",
    "<style>",
    "<!--",
    "-->",
    "<![CDATA[",
    "&nbsp;",
    "&#xD800;",
    "Share on Facebook",
    "© 2026 All rights reserved",
    "The council voted on Tuesday to keep the ferry running through the winter months.",
    "\x00",
    "<",
]


def _markup(tokens: list[str]) -> st.SearchStrategy[str]:
    piece = st.one_of(st.sampled_from(tokens), st.text(max_size=40))
    return st.lists(piece, max_size=60).map("".join)


ENCODINGS = st.sampled_from(["utf-8", "utf-16", "latin-1", "cp1252", "shift_jis"])
CONTENT_TYPES = st.sampled_from(
    [
        "",
        "application/xml",
        "text/html; charset=latin-1",
        "application/rss+xml; charset=utf-8",
        "text/html; charset=no-such",
        "application/octet-stream",
        "application/feed+json",
    ]
)


def _bytes(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="replace")


def _assert_usable(article: Article) -> None:
    assert article.title
    # No text only for a headline-only item: a title and a link, never a page.
    assert article.text.strip() or (article.text == "" and article.url)
    assert article.url is None or article.url.startswith(("http://", "https://"))
    assert article.image is None or article.image.startswith(("http://", "https://"))


def _through_cleaning(documents: list[RawDocument]) -> None:
    for document in documents:
        try:
            _assert_usable(clean(document))
        except ExtractionError as exc:
            assert str(exc)


def _feed(body: bytes, content_type: str) -> None:
    source = FeedSource("Prop", path=None, url="https://feed.example/rss", fetcher=_NoFetch())  # type: ignore[arg-type]
    try:
        documents = source.parse(body, content_type, "https://feed.example/rss")
    except SourceError as exc:
        assert exc.reason and exc.source == "Prop"
        return
    assert documents
    _through_cleaning(documents)


class _NoFetch:
    """Parsing never fetches; a fetch here would be a bug."""

    def fetch(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("parsing must not fetch")


@PROPERTY
@given(_markup(FEED_TOKENS), ENCODINGS, CONTENT_TYPES)
def test_malformed_feeds_give_articles_or_a_reason(text: str, encoding: str, ctype: str) -> None:
    _feed(_bytes(text, encoding), ctype)


@PROPERTY
@given(st.binary(max_size=3000), CONTENT_TYPES)
def test_random_bytes_as_a_feed(body: bytes, ctype: str) -> None:
    _feed(body, ctype)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
ITEM_KEYS = [
    "id",
    "url",
    "external_url",
    "title",
    "content_html",
    "content_text",
    "summary",
    "date_published",
    "date_modified",
    "authors",
    "author",
    "image",
    "banner_image",
]


@PROPERTY
@given(
    st.lists(st.dictionaries(st.sampled_from(ITEM_KEYS), JSON_VALUES, max_size=8), max_size=5),
    JSON_VALUES,
)
def test_malformed_json_feeds(items: list[dict[str, object]], language: object) -> None:
    feed = {"version": "https://jsonfeed.org/version/1.1", "items": items, "language": language}
    _feed(json.dumps(feed).encode(), "application/feed+json")


@PROPERTY
@given(_markup(HTML_TOKENS), ENCODINGS, CONTENT_TYPES)
def test_malformed_pages_give_an_article_or_a_reason(text: str, encoding: str, ctype: str) -> None:
    html = decode_text(_bytes(text, encoding), ctype)
    meta = page_metadata(html, "https://news.example/a/1")
    assert meta.canonical is None or meta.canonical.startswith("https://")
    url = meta.canonical or "https://news.example/a/1"
    _through_cleaning(
        [
            RawDocument(
                source="Page", url=url, html=html, author=meta.author, language=meta.language
            ),
            RawDocument(source="Feed", url=url, fragment=html, title=text[:80]),
            RawDocument(source="Text", url=None, text=text),
        ]
    )
