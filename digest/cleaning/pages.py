"""Whole web pages (trafilatura finds the main text) and article HTML fragments as
feeds carry them."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime
from typing import Any

import lxml.html
import trafilatura
from lxml.etree import ParserError

from digest.cleaning.text import NOT_XML_TEXT, Extracted, is_boilerplate, norm, one_line
from digest.errors import ExtractionError
from digest.urls import is_web_url

_BLOCK_TAGS = (
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "blockquote",
    "pre",
    "td",
    "figcaption",
)
_DROP_TAGS = (
    "script",
    "style",
    "noscript",
    "iframe",
    "object",
    "embed",
    "form",
    "button",
    "svg",
    "template",
)

# trafilatura with favor_precision drops more boilerplate (related links, bylines,
# share lines) but now and then most of a short article; then the default run is
# tried too and kept when it finds much more. Chosen on the dev sets of ../shared/eval
# (precision-first: AEB F1 0.966, trafilatura-set F1 0.933; default alone: 0.958, 0.934;
# the second run happens on about 3% of pages).
PRECISION_MIN_WORDS = 100
PRECISION_MIN_SHARE = 0.6
TRAFILATURA_OPTIONS: dict[str, Any] = {
    "include_comments": False,
    "include_tables": True,
    "with_metadata": True,
    # The extensive search turns a footer's "Copyright 2026" into 1 January.
    "date_extraction_params": {"extensive_search": False, "original_date": True},
}


def extract_html(html: str, url: str | None = None) -> Extracted:
    """Main text and metadata of a whole web page (trafilatura, comments excluded)."""
    doc = _trafilatura(html, url, precision=True)
    title = one_line(doc.title or "") if doc is not None else ""
    lines = _body_lines(doc, title)
    if sum(len(line.split()) for line in lines) < PRECISION_MIN_WORDS:
        fuller = _trafilatura(html, url, precision=False)
        if fuller is not None:
            title = title or one_line(fuller.title or "")
            more = _body_lines(fuller, title)
            if sum(map(len, lines)) < PRECISION_MIN_SHARE * sum(map(len, more)):
                doc, lines = (doc or fuller), more
    if not lines:
        # trafilatura gives up on very short or unusual pages: fall back to all block text.
        return Extracted(title=title or _html_title(html), text=fragment_text(html))
    assert doc is not None
    return Extracted(
        title=title,
        text="\n\n".join(lines),
        author=doc.author or None,
        published=_parse_date(doc.date),
        url=doc.url if doc.url and is_web_url(doc.url) else None,
        image=doc.image or None,
        site=doc.sitename or None,
    )


def _trafilatura(html: str, url: str | None, *, precision: bool) -> Any:
    try:
        doc = trafilatura.bare_extraction(
            html, url=url, favor_precision=precision, **TRAFILATURA_OPTIONS
        )
    except (ValueError, TypeError, ParserError, AssertionError) as exc:
        # lxml (under trafilatura) asserts on some malformed documents.
        raise ExtractionError(f"{url or 'page'}: cannot parse HTML: {exc!r}") from None
    if doc is None or isinstance(doc, dict) or not (doc.text or "").strip():
        return None
    return doc


def _body_lines(doc: Any, title: str) -> list[str]:
    """Paragraph lines without the repeated title and without share/follow lines."""
    if doc is None:
        return []
    lines = [one_line(line) for line in (doc.text or "").split("\n")]
    lines = [line for line in lines if line]
    if lines and title and norm(lines[0]) == norm(title):
        lines = lines[1:]
    return [line for line in lines if not is_boilerplate(line)]


def fragment_text(fragment: str) -> str:
    """Paragraph text of an HTML fragment (a feed's article body)."""
    # lxml refuses control characters in the text it builds (ValueError mid-tree).
    fragment = NOT_XML_TEXT.sub("", fragment)
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (ParserError, ValueError, AssertionError):  # lxml asserts on <html> without a body
        return one_line(html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment)))
    for bad in list(root.iter(*_DROP_TAGS)):
        bad.drop_tree()
    for br in root.iter("br"):  # a line break separates words
        br.tail = "\n" + (br.tail or "")
    blocks = [
        one_line(el.text_content()) for el in root.iter(*_BLOCK_TAGS) if not _has_block_child(el)
    ]
    blocks = [b for b in blocks if b]
    if not blocks:
        blocks = [one_line(part) for part in root.text_content().split("\n\n")]
    return "\n\n".join(b for b in blocks if b)


def _has_block_child(element: lxml.html.HtmlElement) -> bool:
    return any(child.tag in _BLOCK_TAGS for child in element.iterdescendants())


def _html_title(html: str) -> str:
    match = re.search(r"<title[^>]*>(.*?)</title>", html, re.IGNORECASE | re.DOTALL)
    return one_line(html_lib.unescape(match.group(1))) if match else ""


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
