"""Binary content and charsets: what a fetched body is."""

from __future__ import annotations

import gzip

import pytest

from digest.errors import SourceError
from digest.sources.decoding import binary_kind, decode, decode_text

FRENCH = "L'été à Paris: déjà vu, naïve façade, cœur — « voilà »."


@pytest.mark.parametrize(
    ("body", "content_type", "kind"),
    [
        (b"\x89PNG\r\n\x1a\n....", "text/html", "a PNG image"),  # the bytes win over the label
        (b"%PDF-1.7 ...", "", "a PDF document"),
        (b"PK\x03\x04....", "application/octet-stream", "a ZIP archive"),
        (gzip.compress(b"<rss/>", mtime=0), "application/xml", "gzip-compressed data"),
        (b"\x00\x00\x00\x18ftypmp42", "", "an MP4/ISO media file"),
        (b"GIF89a....", "image/gif", "image/gif"),
        (b"<html>", "image/jpeg", "image/jpeg"),  # a declared binary type is believed
        (b"abc\x00\x01\x02def", "", "binary data (no content type)"),
    ],
)
def test_binary_content_is_recognised(body: bytes, content_type: str, kind: str) -> None:
    assert binary_kind(body, content_type) == kind


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<rss></rss>", "application/rss+xml"),
        (b"<feed/>", "application/atom+xml"),
        (b'{"version": 1}', "application/feed+json"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
        (b"<?xml version='1.0'?><rss/>", "application/octet-stream"),  # sniffed as text
        ("<p>ok</p>".encode("utf-16"), "text/html"),  # NUL bytes, but a BOM
        ("<p>ok</p>".encode("utf-16-le"), "text/html; charset=utf-16le"),
    ],
)
def test_text_is_not_binary(body: bytes, content_type: str) -> None:
    assert binary_kind(body, content_type) is None


def test_binary_is_a_source_error_with_the_reason() -> None:
    with pytest.raises(
        SourceError, match=r"https://x\.example/a is binary content \(application/pdf\), skipped"
    ):
        decode(b"%PDF-1.4", "application/pdf", source="S", origin="https://x.example/a")


def test_utf8_declared_as_latin1_is_read_as_utf8() -> None:
    # The most common mistake: a server's default charset on a UTF-8 page.
    assert decode_text(FRENCH.encode("utf-8"), "text/html; charset=ISO-8859-1") == FRENCH


def test_latin1_declared_as_utf8_is_read_as_what_it_is() -> None:
    body = f"<html><head><meta charset='windows-1252'></head><p>{FRENCH}</p>".encode("cp1252")
    assert FRENCH in decode_text(body, "text/html; charset=utf-8")


def test_declared_charset_is_used_when_the_bytes_fit() -> None:
    assert decode_text("Grüße".encode("latin-1"), "text/plain; charset=latin-1") == "Grüße"
    koi8 = "Привет, мир: новости дня и погода на завтра".encode("koi8-r")
    assert decode_text(koi8, "text/html; charset=koi8-r").startswith("Привет")


def test_xml_declaration_and_meta_charset_when_the_header_says_nothing() -> None:
    euro = "Le café coûte 3 € à Besançon, déjà."
    xml = f'<?xml version="1.0" encoding="ISO-8859-15"?><rss><title>{euro}</title></rss>'
    assert euro in decode_text(xml.encode("iso-8859-15"), "application/xml")
    html = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251"><p>Дом</p>'
    assert "Дом" in decode_text(html.encode("cp1251"), "text/html")


def test_no_declaration_at_all_is_guessed() -> None:
    text = "日本語のニュース記事です。今日の天気は晴れのち曇り、最高気温は二十度の予報です。" * 3
    assert decode_text(text.encode("shift_jis"), "") == text


def test_boms_and_unknown_labels() -> None:
    assert decode_text("\ufeffhello é".encode()) == "hello é"
    assert decode_text("hé".encode("utf-16")) == "hé"
    assert decode_text("Café".encode(), "text/html; charset=no-such-charset") == "Café"
    assert decode_text(b"", "text/html") == ""
