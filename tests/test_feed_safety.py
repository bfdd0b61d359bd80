"""Feeds as the open web sends them, served by a real local HTTP server: entity tricks,
binary bodies, wrong charsets, compression, huge answers and 304s."""

from __future__ import annotations

import gzip
import resource
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from digest.errors import SourceError
from digest.sources.feed import FeedSource
from digest.sources.http import Fetcher, FetchPolicy, make_client
from digest.sources.source import Validators
from tests.conftest import LocalServer, Route


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with make_client(timeout=5) as client:
        yield Fetcher(client, FetchPolicy(retries=0, max_bytes=2_000_000))


def rss(title: str, description: str = "An item.", prolog: str = "") -> str:
    return (
        f'<?xml version="1.0"?>{prolog}<rss version="2.0"><channel><title>F</title>'
        f"<item><title>{title}</title><link>https://f.example/1</link>"
        f"<description>{description}</description></item></channel></rss>"
    )


def _fetch(server: LocalServer, fetcher: Fetcher, body: str | bytes, **kw: str) -> list:  # type: ignore[type-arg]
    url = server.serve("/feed.xml", body, content_type=kw.get("content_type", "application/xml"))
    return FeedSource("F", url=url, fetcher=fetcher, local=True).fetch()


def _laughs(levels: int = 10, sep: str = "\n") -> str:
    entities = [sep + '<!ENTITY lol0 "lol">']
    entities += [f'{sep}<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels)]
    return f"{sep}<!DOCTYPE rss [{''.join(entities)}{sep}]>"


@pytest.mark.parametrize("sep", ["\n", ""], ids=["one-per-line", "all-on-one-line"])
def test_billion_laughs_is_not_expanded(
    local_server: LocalServer, fetcher: Fetcher, sep: str
) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    body = rss("Laughs &lol9;", "Body &lol9; &lol5;", prolog=_laughs(sep=sep))
    try:
        documents = _fetch(local_server, fetcher, body)
    except SourceError:
        documents = []  # refusing the feed is harmless too
    # A hang guard, not a speed measure: an expansion of 10**9 entities takes hours.
    assert time.monotonic() - started < 60
    for doc in documents:
        for value in (doc.title or "", doc.fragment or ""):
            assert value.count("lol") < 20, value[:200]
    # 10**9 "lol"s would be 3 GB; allow for ordinary growth of the test process.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000


def test_external_entities_read_no_file_and_make_no_request(
    local_server: LocalServer, fetcher: Fetcher, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    local_server.serve("/xxe", "HTTP-ENTITY-MARKER")
    local_server.serve("/evil.dtd", "<!ENTITY % all \"<!ENTITY sneak 'DTD-MARKER'>\"> %all;")
    prolog = (
        "\n<!DOCTYPE rss [\n"
        f'<!ENTITY file SYSTEM "file://{secret}">\n'
        '<!ENTITY passwd SYSTEM "file:///etc/passwd">\n'
        f'<!ENTITY web SYSTEM "{local_server.url}/xxe">\n'
        f'<!ENTITY % remote SYSTEM "{local_server.url}/evil.dtd">\n'
        "%remote;\n]>"
    )
    body = rss("A &file; B &passwd;", "C &web; D &sneak;", prolog=prolog)
    try:
        documents = _fetch(local_server, fetcher, body)
    except SourceError:
        documents = []
    text = " ".join(f"{d.title} {d.fragment}" for d in documents)
    for marker in ("TOP-SECRET-MARKER", "root:", "HTTP-ENTITY-MARKER", "DTD-MARKER"):
        assert marker not in text
    assert local_server.requests == ["/feed.xml"]  # neither /xxe nor /evil.dtd


def test_external_dtd_is_not_fetched(local_server: LocalServer, fetcher: Fetcher) -> None:
    local_server.serve("/rss.dtd", '<!ENTITY nbsp "DTD-MARKER">')
    prolog = f'\n<!DOCTYPE rss SYSTEM "{local_server.url}/rss.dtd">'
    [doc] = _fetch(local_server, fetcher, rss("Plain", "Uses &nbsp; from the DTD", prolog))
    assert doc.title == "Plain" and "DTD-MARKER" not in (doc.fragment or "")
    assert local_server.requests == ["/feed.xml"]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "image/png"),
        (b"%PDF-1.4\n...", "application/rss+xml"),  # mislabelled: the bytes tell
        (b"\0\1\2\3" * 100, "application/octet-stream"),
    ],
)
def test_binary_content_is_skipped_with_the_reason(
    local_server: LocalServer, fetcher: Fetcher, body: bytes, content_type: str
) -> None:
    with pytest.raises(SourceError, match=r"is binary content \(.+\), skipped"):
        _fetch(local_server, fetcher, body, content_type=content_type)


def test_utf8_feed_declared_latin1_in_the_header(
    local_server: LocalServer, fetcher: Fetcher
) -> None:
    body = rss("Año nuevo en Zúrich: ¿qué pasó?").encode("utf-8")
    [doc] = _fetch(local_server, fetcher, body, content_type="application/rss+xml; charset=latin-1")
    assert doc.title == "Año nuevo en Zúrich: ¿qué pasó?"


def test_cp1252_feed_declared_utf8_in_the_xml_declaration(
    local_server: LocalServer, fetcher: Fetcher
) -> None:
    body = rss("Café “quoted” — naïve").replace('version="1.0"', 'version="1.0" encoding="utf-8"')
    [doc] = _fetch(local_server, fetcher, body.encode("cp1252"))
    assert doc.title == "Café “quoted” — naïve"


def test_gzip_feed(local_server: LocalServer, fetcher: Fetcher) -> None:
    packed = gzip.compress(rss("Squeezed").encode())
    local_server.routes["/feed.xml"] = Route(
        200, packed, {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}
    )
    docs = FeedSource("F", url=local_server.url + "/feed.xml", fetcher=fetcher, local=True).fetch()
    assert [d.title for d in docs] == ["Squeezed"]


def test_huge_feed_is_cut_at_the_cap(local_server: LocalServer, fetcher: Fetcher) -> None:
    items = "".join(f"<item><title>{n}</title></item>" for n in range(100_000))
    with pytest.raises(SourceError, match="larger than 2000000 bytes"):
        _fetch(local_server, fetcher, rss("x").replace("</channel>", items + "</channel>"))


def test_a_304_yields_nothing_and_keeps_the_validators(local_server: LocalServer) -> None:
    local_server.scripts["/feed.xml"] = [
        Route(200, rss("Once").encode(), {"Content-Type": "application/xml", "ETag": '"a"'}),
        Route(304, b"", {"ETag": '"a"'}),
    ]
    url = local_server.url + "/feed.xml"
    with make_client(5) as client:
        source = FeedSource("F", url=url, fetcher=Fetcher(client), local=True)
        first = source.fetch_changes(None)
        assert [d.title for d in first.documents] == ["Once"]
        assert first.validators == Validators(url=url, etag='"a"')
        second = source.fetch_changes(first.validators)
    assert second.not_modified and second.documents == []
    assert second.validators == first.validators
    assert local_server.headers[1]["if-none-match"] == '"a"'


def test_validators_of_another_url_are_not_sent(local_server: LocalServer) -> None:
    url = local_server.serve("/feed.xml", rss("Moved"), content_type="application/xml")
    with make_client(5) as client:
        source = FeedSource("F", url=url, fetcher=Fetcher(client), local=True)
        fetched = source.fetch_changes(Validators(url="http://old.example/feed", etag='"x"'))
    assert not fetched.not_modified and "if-none-match" not in local_server.headers[0]
