"""Web pages: canonical URL, author and language from the page, over a real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from digest.cleaning.articles import clean
from digest.sources.http import Fetcher, make_client
from digest.sources.page import PageSource, language_tag, page_metadata
from tests.conftest import LocalServer, Route

BODY = "<p>" + "The harbour board met on Tuesday and agreed the new quay fees. " * 8 + "</p>"


def page(head: str, lang: str = "en") -> str:
    return f'<html lang="{lang}"><head><title>Quay fees</title>{head}</head><body><article>{BODY}</article></body></html>'


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with make_client(timeout=5) as client:
        yield Fetcher(client)


def test_canonical_link_author_and_language(local_server: LocalServer, fetcher: Fetcher) -> None:
    head = (
        '<link rel="alternate" href="/amp">'
        '<link rel="Canonical" href="/news/quay-fees">'
        '<meta name="author" content="Ann  Bee">'
    )
    url = local_server.serve("/news/quay-fees?utm_source=x&page=1", page(head, "en-GB"))
    [doc] = PageSource("Harbour", url, fetcher, local=True).fetch()
    assert doc.url == local_server.url + "/news/quay-fees"
    assert (doc.author, doc.language) == ("Ann Bee", "en-GB")
    article = clean(doc)
    assert article.url == local_server.url + "/news/quay-fees"
    assert article.author == "Ann Bee" and article.language == "en-GB"
    assert "quay fees" in article.text


def test_og_url_when_there_is_no_canonical_link() -> None:
    meta = page_metadata(
        page('<meta property="og:url" content="https://www.news.example/a/1">'),
        "https://news.example/a/1?ref=home",
    )
    assert meta.canonical == "https://www.news.example/a/1"


def test_a_canonical_link_to_another_site_is_ignored() -> None:
    meta = page_metadata(
        page('<link rel="canonical" href="https://other-outlet.example/their-story">'),
        "https://news.example/a/1",
    )
    assert meta.canonical is None


def test_the_configured_language_wins(local_server: LocalServer, fetcher: Fetcher) -> None:
    url = local_server.serve("/p", page("", "fr"))
    [doc] = PageSource("P", url, fetcher, local=True, language="de").fetch()
    assert doc.language == "de" and doc.url == url


@pytest.mark.parametrize(
    ("value", "tag"),
    [("en", "en"), ("pt_BR", "pt-BR"), (" de-CH ", "de-CH"), ("english please", None), ("", None)],
)
def test_language_tags(value: str, tag: str | None) -> None:
    assert language_tag(value) == tag


def test_metadata_of_odd_pages() -> None:
    assert page_metadata("", "https://x.example/").canonical is None
    xml_page = '<?xml version="1.0" encoding="utf-8"?>' + page('<meta name="author" content="X">')
    assert page_metadata(xml_page, "https://x.example/").author == "X"
    url_author = page('<meta property="article:author" content="https://x.example/ann">')
    assert page_metadata(url_author, "https://x.example/").author is None


def test_an_unchanged_page_costs_nothing(local_server: LocalServer, fetcher: Fetcher) -> None:
    local_server.scripts["/p"] = [
        Route(200, page("").encode(), {"Content-Type": "text/html", "Last-Modified": "Mon"}),
        Route(304, b""),
    ]
    source = PageSource("P", local_server.url + "/p", fetcher, local=True)
    first = source.fetch_changes(None)
    second = source.fetch_changes(first.validators)
    assert len(first.documents) == 1 and second.not_modified and second.documents == []
    assert local_server.headers[1]["if-modified-since"] == "Mon"
