"""URL canonicalisation and the web-URL check for links in emails."""

from __future__ import annotations

import pytest

from digest.urls import canonical_url, is_web_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://news.example/story?utm_source=rss&utm_medium=feed&utm_campaign=daily",
            "https://news.example/story",
        ),
        ("https://news.example/story?fbclid=IwAR0abc", "https://news.example/story"),
        ("https://news.example/story?UTM_Source=x&id=7", "https://news.example/story?id=7"),
        (
            "https://news.example/s?gclid=1&mc_cid=2&pk_campaign=3&msclkid=4&id=7",
            "https://news.example/s?id=7",
        ),
    ],
    ids=["utm", "fbclid", "upper-case-utm", "other-trackers"],
)
def test_tracking_parameters_are_dropped(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_other_parameters_are_kept_in_order() -> None:
    url = "https://news.example/search?q=harbour+ferry&page=2&utm_source=x&sort=new&tag=a&tag=b"
    assert (
        canonical_url(url)
        == "https://news.example/search?q=harbour+ferry&page=2&sort=new&tag=a&tag=b"
    )


def test_encoded_values_survive() -> None:
    url = "https://news.example/p?next=%2Fhome%3Fa%3D1&q=caf%C3%A9"
    assert canonical_url(url) == url


def test_fragment_is_dropped() -> None:
    assert canonical_url("https://news.example/story#comments") == "https://news.example/story"


def test_scheme_and_host_are_lower_cased_but_path_is_not() -> None:
    assert canonical_url("HTTPS://News.Example.COM/Politics/Story-1") == (
        "https://news.example.com/Politics/Story-1"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://news.example:80/a", "http://news.example/a"),
        ("https://news.example:443/a", "https://news.example/a"),
        ("https://news.example:8443/a", "https://news.example:8443/a"),
        ("http://news.example:443/a", "http://news.example:443/a"),
    ],
)
def test_default_port_is_dropped(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_empty_path_becomes_slash_and_whitespace_is_trimmed() -> None:
    assert canonical_url("  https://news.example  ") == "https://news.example/"


def test_two_spellings_of_one_article_are_equal() -> None:
    a = "https://News.Example:443/world/ferry?utm_source=twitter#top"
    b = "https://news.example/world/ferry?fbclid=xyz"
    assert canonical_url(a) == canonical_url(b)


def test_canonical_url_is_idempotent() -> None:
    once = canonical_url("HTTP://News.Example:80/a?b=1&utm_x=2#f")
    assert canonical_url(once) == once


def test_ipv6_host_keeps_brackets() -> None:
    assert canonical_url("https://[::1]:8080/x") == "https://[::1]:8080/x"


@pytest.mark.parametrize(
    "url",
    [
        "https://news.example/story",
        "http://news.example",
        "HTTPS://NEWS.EXAMPLE/a",
        " https://news.example/a ",
        "https://news.example:8443/a?b=c",
    ],
)
def test_web_urls(url: str) -> None:
    assert is_web_url(url)


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "/relative/path",
        "relative/path.html",
        "//news.example/protocol-relative",
        "mailto:editor@news.example",
        "ftp://files.example/report.pdf",
        "http:///no-host",
        "file:///etc/passwd",
    ],
)
def test_not_web_urls(url: str | None) -> None:
    assert not is_web_url(url)


@pytest.mark.parametrize("url", ["https://news.example:port/a", "https://news.example:99999/a"])
def test_invalid_port_is_not_a_web_url(url: str) -> None:
    assert not is_web_url(url)
