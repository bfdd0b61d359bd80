"""Cleaning: raw documents to articles with a title once and a body of paragraphs.

Three inputs: whole web pages (trafilatura finds the main text), article HTML
fragments as feeds carry them, and scraped plain text, which is noisy: repeated
titles, "follow us" and share lines, PREV/NEXT teasers, cookie notices.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import lxml.html
import trafilatura
from lxml.etree import ParserError

from digest.errors import ExtractionError
from digest.models import Article, RawDocument
from digest.urls import canonical_url, is_web_url

log = logging.getLogger(__name__)

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

_BOILERPLATE = re.compile(
    r"""^(
        (prev|next|previous)\b.*
      | .*\bfollow\s+us\b.*
      | (share|tweet|email|print)(\s+(this|on\s+\w+|article|story))?\W*
      | share\s+on\s+\w+.*
      | .*\b(accept|allow|reject)\s+(all\s+)?cookies\b.*
      | .*\bcookie\s+(policy|settings|preferences)\b.*
      | .*\bsubscribe\s+(to|for)\s+(our|the)\b.*
      | .*\bsign\s+up\s+for\b.*
      | (read\s+more|related|recommended|advertisement|sponsored|most\s+read)\b.{0,80}
      | .*\ball\s+rights\s+reserved\b.*
      | (©|\(c\)|copyright\b).*
      | [\W_]*
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
# A trailing agency credit after the last sentence: "... their lifting. EFE", "(Reuters)".
_CREDIT = re.compile(r"(?<=[.!?\"”’])\s+(\(?[A-Z][A-Za-z&]*(?:[ /-][A-Z][A-Za-z&]*){0,2}\)?)\s*$")


@dataclass(frozen=True, slots=True)
class Extracted:
    """What extraction found in one document."""

    title: str
    text: str
    author: str | None = None
    published: datetime | None = None
    url: str | None = None
    credit: str | None = None
    image: str | None = None


def clean(document: RawDocument) -> Article:
    """Turn one raw document into an article, or raise :class:`ExtractionError`."""
    if document.html:
        found = extract_html(document.html, document.url)
    elif document.fragment:
        found = Extracted(
            title=_one_line(document.title or ""), text=fragment_text(document.fragment)
        )
    elif document.text:
        found = clean_scraped_text(document.text, document.title)
    else:
        raise ExtractionError(f"{document.origin or document.source}: no content")

    title = _one_line(document.title or "") or found.title
    text = found.text
    if not text.strip():
        raise ExtractionError(f"{document.origin or document.source}: no article text found")
    if not title:
        title = _first_words(text)
    url = document.url or found.url
    url = canonical_url(url) if url and is_web_url(url) else None
    return Article(
        id=article_id(url, document.source, title, text),
        source=document.source,
        title=title,
        text=text,
        url=url,
        author=document.author or found.author,
        published=document.published or found.published,
        credit=found.credit,
        topic_hint=document.topic_hint,
        image=next((i for i in (document.image, found.image) if i and is_web_url(i)), None),
    )


def article_id(url: str | None, source: str, title: str, text: str) -> str:
    """Stable id: the canonical URL when there is one, else the content."""
    key = url if url else f"{source}\n{title}\n{text}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def extract_html(html: str, url: str | None = None) -> Extracted:
    """Main text and metadata of a whole web page (trafilatura, comments excluded)."""
    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url,
            include_comments=False,
            include_tables=True,
            with_metadata=True,
            # The extensive search turns a footer's "Copyright 2026" into 1 January.
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except (ValueError, TypeError, ParserError) as exc:
        raise ExtractionError(f"{url or 'page'}: cannot parse HTML: {exc}") from None
    if doc is None or isinstance(doc, dict) or not (doc.text or "").strip():
        # trafilatura gives up on very short or unusual pages: fall back to all block text.
        return Extracted(title=_html_title(html), text=fragment_text(html))
    title = _one_line(doc.title or "")
    lines = [_one_line(line) for line in (doc.text or "").split("\n")]
    lines = [line for line in lines if line]
    if lines and title and _norm(lines[0]) == _norm(title):
        lines = lines[1:]
    return Extracted(
        title=title,
        text="\n\n".join(lines),
        author=doc.author or None,
        published=_parse_date(doc.date),
        url=doc.url if doc.url and is_web_url(doc.url) else None,
        image=doc.image or None,
    )


def fragment_text(fragment: str) -> str:
    """Paragraph text of an HTML fragment (a feed's article body)."""
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (ParserError, ValueError):
        return _one_line(html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment)))
    for bad in list(root.iter(*_DROP_TAGS)):
        bad.drop_tree()
    for br in root.iter("br"):  # a line break separates words
        br.tail = "\n" + (br.tail or "")
    blocks = [
        _one_line(el.text_content()) for el in root.iter(*_BLOCK_TAGS) if not _has_block_child(el)
    ]
    blocks = [b for b in blocks if b]
    if not blocks:
        blocks = [_one_line(part) for part in root.text_content().split("\n\n")]
    return "\n\n".join(b for b in blocks if b)


def _has_block_child(element: lxml.html.HtmlElement) -> bool:
    return any(child.tag in _BLOCK_TAGS for child in element.iterdescendants())


def clean_scraped_text(text: str, title: str | None = None) -> Extracted:
    """Title once, body paragraphs without navigation, share lines or teasers.

    The body is the densest run of prose lines (a maximum-sum run where prose
    lines score by their length and short lines cost), so menus before and
    teasers after the article fall away even when no pattern names them.
    """
    lines = [_one_line(line) for line in text.replace("\r\n", "\n").split("\n")]
    non_empty = [line for line in lines if line]
    if not non_empty:
        return Extracted(title=title or "", text="")
    title = _one_line(title or "") or non_empty[0]
    title_key = _norm(title)

    paragraphs = [
        line for line in non_empty if _norm(line) != title_key and not _BOILERPLATE.match(line)
    ]
    body = _densest_run(paragraphs)
    credit = None
    if body:
        match = _CREDIT.search(body[-1])
        if match and len(match.group(1)) <= 24:
            credit = match.group(1).strip("()")
            body[-1] = body[-1][: match.start()].rstrip()
    return Extracted(title=title, text="\n\n".join(body), credit=credit)


def _densest_run(lines: list[str]) -> list[str]:
    scores = [_prose_score(line) for line in lines]
    best, best_span = 0.0, (0, 0)
    running, start = 0.0, 0
    for i, score in enumerate(scores):
        if running <= 0:
            running, start = 0.0, i
        running += score
        if running > best:
            best, best_span = running, (start, i + 1)
    return lines[best_span[0] : best_span[1]]


def _prose_score(line: str) -> float:
    words = len(line.split())
    if words >= 12 or (words >= 6 and _SENTENCE_END.search(line)):
        return float(words)
    return -4.0 - words


def _html_title(html: str) -> str:
    match = re.search(r"<title[^>]*>(.*?)</title>", html, re.IGNORECASE | re.DOTALL)
    return _one_line(html_lib.unescape(match.group(1))) if match else ""


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _norm(value: str) -> str:
    return " ".join(re.findall(r"\w+", value.lower()))


def _first_words(text: str, n: int = 12) -> str:
    words = text.split()
    return " ".join(words[:n]) + ("…" if len(words) > n else "")
