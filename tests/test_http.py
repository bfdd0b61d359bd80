"""The Fetcher against a real local HTTP server: conditional GET, compression, endless
bodies, and connections pinned to the address that was checked."""

from __future__ import annotations

import gzip
import time
from http.server import BaseHTTPRequestHandler

import httpx
import pytest

from digest.errors import SourceError
from digest.sources.http import Fetcher, FetchPolicy, make_client
from tests.conftest import LocalServer

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'


def conditional(etag: str, modified: str, body: bytes):  # type: ignore[no-untyped-def]
    """A handler that answers 304 when the client shows the current validators."""

    def answer(request: BaseHTTPRequestHandler) -> None:
        fresh = request.headers.get("If-None-Match") == etag or (
            request.headers.get("If-None-Match") is None
            and request.headers.get("If-Modified-Since") == modified
        )
        request.send_response(304 if fresh else 200)
        request.send_header("ETag", etag)
        request.send_header("Last-Modified", modified)
        request.send_header("Content-Type", "application/rss+xml")
        if fresh:
            request.end_headers()
            return
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    return answer


def test_conditional_get_sends_validators_and_takes_a_304(local_server: LocalServer) -> None:
    modified = "Wed, 25 Nov 2026 08:00:00 GMT"
    local_server.handlers["/feed.xml"] = conditional('"v1"', modified, FEED)
    url = local_server.url + "/feed.xml"
    with make_client(5) as client:
        fetcher = Fetcher(client)
        first = fetcher.fetch("S", url, allow_private=True)
        assert (first.status, first.body, first.etag, first.last_modified) == (
            200,
            FEED,
            '"v1"',
            modified,
        )
        second = fetcher.fetch(
            "S", url, allow_private=True, etag=first.etag, last_modified=first.last_modified
        )
        assert second.not_modified and second.body == b""
        only_date = fetcher.fetch("S", url, allow_private=True, last_modified=modified)
        assert only_date.not_modified
    assert "if-none-match" not in local_server.headers[0]
    assert local_server.headers[1]["if-none-match"] == '"v1"'
    assert local_server.headers[1]["if-modified-since"] == modified


def test_gzip_is_decoded_and_a_gzip_bomb_is_cut(local_server: LocalServer) -> None:
    def gzipped(body: bytes):  # type: ignore[no-untyped-def]
        packed = gzip.compress(body)

        def answer(request: BaseHTTPRequestHandler) -> None:
            request.send_response(200)
            request.send_header("Content-Type", "application/rss+xml")
            request.send_header("Content-Encoding", "gzip")
            request.send_header("Content-Length", str(len(packed)))
            request.end_headers()
            request.wfile.write(packed)

        return answer

    local_server.handlers["/feed.xml"] = gzipped(FEED)
    local_server.handlers["/bomb.xml"] = gzipped(b"\0" * 20_000_000)  # 20 MB in ~20 KB
    with make_client(5) as client:
        fetcher = Fetcher(client, FetchPolicy(max_bytes=100_000))
        assert fetcher.fetch("S", local_server.url + "/feed.xml", allow_private=True).body == FEED
        started = time.monotonic()
        with pytest.raises(SourceError, match="larger than 100000 bytes"):
            fetcher.fetch("S", local_server.url + "/bomb.xml", allow_private=True)
    assert time.monotonic() - started < 5
    assert local_server.headers[0]["accept-encoding"].startswith("gzip")


def test_an_endless_body_is_cut_at_the_cap(local_server: LocalServer) -> None:
    def endless(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/html")
        request.end_headers()  # no Content-Length: the body ends when the server closes
        chunk = b"<p>" + b"x" * 8192 + b"</p>"
        try:
            for _ in range(50_000):  # bounded: 400 MB, far past any cap
                request.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up at its cap

    local_server.handlers["/endless"] = endless
    with make_client(5) as client:
        fetcher = Fetcher(client, FetchPolicy(max_bytes=1_000_000))
        started = time.monotonic()
        with pytest.raises(SourceError, match="larger than 1000000 bytes"):
            fetcher.fetch("S", local_server.url + "/endless", allow_private=True)
    assert time.monotonic() - started < 5


def test_the_connection_goes_to_the_checked_address(local_server: LocalServer) -> None:
    """The host is resolved once, by the Fetcher, and the connection made to that
    address: 'feeds.test' does not resolve anywhere else, yet the server is reached,
    with the host's name in the Host header."""
    local_server.serve("/feed.xml", FEED, content_type="application/rss+xml")
    port = local_server.url.rsplit(":", 1)[1]
    asked: list[str] = []

    def resolver(host: str) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    with make_client(5) as client:
        fetcher = Fetcher(client, resolver=resolver)
        body = fetcher.fetch("S", f"http://feeds.test:{port}/feed.xml", allow_private=True).body
    assert body == FEED and asked == ["feeds.test"]
    assert local_server.headers[0]["host"] == f"feeds.test:{port}"


def test_the_next_address_is_tried_when_one_refuses(local_server: LocalServer) -> None:
    local_server.serve("/feed.xml", FEED, content_type="application/rss+xml")
    port = local_server.url.rsplit(":", 1)[1]
    with make_client(5) as client:
        # Nothing listens on 127.0.0.2 (the server is bound to 127.0.0.1).
        fetcher = Fetcher(client, resolver=lambda host: ["127.0.0.2", "127.0.0.1"])
        body = fetcher.fetch("S", f"http://two.test:{port}/feed.xml", allow_private=True).body
    assert body == FEED


def test_dns_rebinding_cannot_swap_the_address() -> None:
    """A resolver that answers a public address first and a private one after: the
    request goes to the first, checked address; DNS is not asked again."""
    answers = [["93.184.216.34"], ["127.0.0.1"]]
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers["host"]))
        return httpx.Response(200, content=FEED, headers={"Content-Type": "application/rss+xml"})

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        fetcher = Fetcher(client, resolver=lambda host: answers.pop(0))
        fetcher.fetch("S", "http://rebind.example/feed.xml")
    assert seen == [("93.184.216.34", "rebind.example")]
    assert answers == [["127.0.0.1"]]  # asked once


def test_https_is_not_pinned_the_certificate_protects_it() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, content=FEED)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        fetcher = Fetcher(client, resolver=lambda host: ["93.184.216.34"])
        fetcher.fetch("S", "https://secure.example/feed.xml")
        with pytest.raises(SourceError, match="private or local"):
            Fetcher(client, resolver=lambda host: ["10.0.0.8"]).fetch(
                "S", "https://secure.example/feed.xml"
            )
    assert seen == ["https://secure.example/feed.xml"]


def test_a_redirect_without_location_is_an_error(local_server: LocalServer) -> None:
    local_server.serve("/odd", b"", status=302)
    with make_client(5) as client, pytest.raises(SourceError, match="without a Location"):
        Fetcher(client).fetch("S", local_server.url + "/odd", allow_private=True)
