"""No private address is fetched on behalf of a feed's content: a source's
``local = true`` covers the URL the operator configured (and redirects on its
origin), never its items' links, their redirects or a redirect elsewhere. Every
case runs against a canary server on the loopback that must see no request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from digest.errors import SourceError
from digest.sources.feed import FeedSource
from digest.sources.http import Fetcher, FetchPolicy
from digest.sources.page import PageSource
from tests.conftest import LocalServer, public_client, public_resolver

TEASER = "A short teaser. Read more"


@pytest.fixture
def canary() -> Iterator[LocalServer]:
    server = LocalServer()
    server.serve("/secret", "<html><body><p>" + "internal secret text " * 60 + "</p></body></html>")
    server.server.start()
    try:
        yield server
    finally:
        server.server.stop()


def private_links(canary: LocalServer) -> list[str]:
    port = canary.url.rsplit(":", 1)[1]
    return [
        f"http://127.0.0.1:{port}/secret",
        f"http://[::ffff:127.0.0.1]:{port}/secret",  # IPv4-mapped IPv6
        f"http://2130706433:{port}/secret",  # decimal
        f"http://0x7f000001:{port}/secret",  # hex
        f"http://0177.0.0.1:{port}/secret",  # octal
        f"http://127.1:{port}/secret",  # short
        f"http://0.0.0.0:{port}/secret",
        f"http://localhost:{port}/secret",
        f"http://[::1]:{port}/secret",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://[fd00::1]/secret",  # unique local
        "http://[fe80::1]/secret",  # link local
        "http://10.1.2.3/secret",
    ]


def feed_of(links: list[str]) -> str:
    items = "".join(
        f"<item><title>Item {i}</title><link>{link.replace('&', '&amp;')}</link>"
        f"<description>{TEASER}</description></item>"
        for i, link in enumerate(links)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>{items}</channel></rss>'
    )


def test_a_local_feed_never_fetches_its_items_private_links(
    local_server: LocalServer, canary: LocalServer
) -> None:
    links = private_links(canary)
    local_server.serve("/feed.xml", feed_of(links), content_type="application/rss+xml")
    # A public page that redirects to the canary.
    local_server.serve("/hop", b"", status=302)
    local_server.routes["/hop"].headers["Location"] = f"{canary.url}/secret"
    links.append(local_server.public_url + "/hop")
    local_server.serve("/feed.xml", feed_of(links), content_type="application/rss+xml")
    with public_client() as client:
        fetcher = Fetcher(client, FetchPolicy(retries=0), resolver=public_resolver)
        source = FeedSource(
            "Intranet",
            url=local_server.url + "/feed.xml",
            fetcher=fetcher,
            local=True,
            full_text=True,
        )
        fetched = source.fetch_changes(None)
    assert canary.requests == []
    assert len(fetched.documents) == len(links)
    assert all(doc.fragment == TEASER for doc in fetched.documents)  # the feed text stays
    assert len(fetched.notes) == len(links)
    refused = [n for n in fetched.notes if "private or local address" in n]
    unresolvable = [n for n in fetched.notes if "cannot resolve" in n]
    assert len(refused) + len(unresolvable) == len(links) and len(refused) >= len(links) - 1
    assert "/hop" in local_server.requests  # the public hop was asked; its target was not


def test_a_local_sources_own_url_may_redirect_on_its_origin_only(
    local_server: LocalServer, canary: LocalServer
) -> None:
    local_server.serve("/feed.xml", feed_of(["https://news.example/a"]), content_type="text/xml")
    local_server.serve("/old", b"", status=301)
    local_server.routes["/old"].headers["Location"] = "/feed.xml"
    local_server.serve("/away", b"", status=302)
    local_server.routes["/away"].headers["Location"] = f"{canary.url}/secret"
    with public_client() as client:
        fetcher = Fetcher(client, FetchPolicy(retries=0))
        moved = FeedSource("A", url=local_server.url + "/old", fetcher=fetcher, local=True)
        assert [doc.url for doc in moved.fetch()] == ["https://news.example/a"]
        with pytest.raises(SourceError, match="private or local address"):
            PageSource("B", local_server.url + "/away", fetcher, local=True).fetch()
    assert canary.requests == []


def test_a_public_source_is_refused_at_a_private_address(canary: LocalServer) -> None:
    with public_client() as client:
        fetcher = Fetcher(client, FetchPolicy(retries=0))
        for link in private_links(canary)[:9]:
            with pytest.raises(SourceError, match=r"private or local address|cannot resolve"):
                fetcher.fetch("S", link)
    assert canary.requests == []
