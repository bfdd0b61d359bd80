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
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

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
_SENTENCE_END = re.compile(r"[.!?…。！？][\"'”’)\]」』]*$")
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
        language=document.language,
    )


def article_id(url: str | None, source: str, title: str, text: str) -> str:
    """Stable id: the canonical URL when there is one, else the content."""
    key = url if url else f"{source}\n{title}\n{text}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


# trafilatura with favor_precision drops more boilerplate (related links, bylines,
# share lines) but now and then most of a short article; then the default run is
# tried too and kept when it finds much more. Chosen on the dev sets of ../shared/eval
# (precision-first: AEB F1 0.966, trafilatura-set F1 0.933; default alone: 0.958, 0.934;
# the second run happens on about 3% of pages).
PRECISION_MIN_WORDS = 100
PRECISION_MIN_SHARE = 0.6


def extract_html(html: str, url: str | None = None) -> Extracted:
    """Main text and metadata of a whole web page (trafilatura, comments excluded)."""
    doc = _trafilatura(html, url, precision=True)
    title = _one_line(doc.title or "") if doc is not None else ""
    lines = _body_lines(doc, title)
    if sum(len(line.split()) for line in lines) < PRECISION_MIN_WORDS:
        fuller = _trafilatura(html, url, precision=False)
        if fuller is not None:
            title = title or _one_line(fuller.title or "")
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
    )


def _trafilatura(html: str, url: str | None, *, precision: bool) -> Any:
    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url,
            include_comments=False,
            include_tables=True,
            with_metadata=True,
            favor_precision=precision,
            # The extensive search turns a footer's "Copyright 2026" into 1 January.
            date_extraction_params={"extensive_search": False, "original_date": True},
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
    lines = [_one_line(line) for line in (doc.text or "").split("\n")]
    lines = [line for line in lines if line]
    if lines and title and _norm(lines[0]) == _norm(title):
        lines = lines[1:]
    return [line for line in lines if not _is_boilerplate(line)]


def fragment_text(fragment: str) -> str:
    """Paragraph text of an HTML fragment (a feed's article body)."""
    # lxml refuses control characters in the text it builds (ValueError mid-tree).
    fragment = _NOT_XML_TEXT.sub("", fragment)
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (ParserError, ValueError, AssertionError):  # lxml asserts on <html> without a body
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


_NOT_XML_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _has_block_child(element: lxml.html.HtmlElement) -> bool:
    return any(child.tag in _BLOCK_TAGS for child in element.iterdescendants())


def clean_scraped_text(text: str, title: str | None = None, url: str | None = None) -> Extracted:
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
        line for line in non_empty if _norm(line) != title_key and not _is_boilerplate(line)
    ]
    body = _densest_run(paragraphs, _slug_words(url))
    credit = None
    if body:
        match = _CREDIT.search(body[-1])
        if match and len(match.group(1)) <= 24:
            credit = match.group(1).strip("()")
            body[-1] = body[-1][: match.start()].rstrip()
    return Extracted(title=title, text="\n\n".join(body), credit=credit)


def _is_boilerplate(line: str) -> bool:
    # Share bars, cookie notices and their kind are short; prose is not tested.
    return len(line) <= 400 and bool(_BOILERPLATE.match(line))


def _densest_run(lines: list[str], hints: frozenset[str] = frozenset()) -> list[str]:
    counts = Counter(_norm(line) for line in lines)
    scores = [
        # A line the page repeats is template (share bars, bylines of teasers); a
        # section header such as "Related" or "Comments" ends the article.
        -REPEAT_COST
        if counts[_norm(line)] > 1 and _size(line) < 20
        else -BARRIER_COST
        if _BARRIER.match(line)
        else _prose_score(line) * (1.5 if _mentions(line, hints) else 1.0)
        for line in lines
    ]
    best, best_span = 0.0, (0, 0)
    running, start = 0.0, 0
    for i, score in enumerate(scores):
        if running <= 0:
            running, start = 0.0, i
        running += score
        if running > best:
            best, best_span = running, (start, i + 1)
    return lines[best_span[0] : best_span[1]]


REPEAT_COST = 12.0
BARRIER_COST = 40.0
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_BARRIER = re.compile(
    r"^\W*(related( (articles|stories|posts|news))?|more (stories|news|from)"
    r"|you (may|might) (also )?like|recommended( for you)?|most (read|popular|viewed)"
    r"|comments?|leave a (reply|comment)"
    r"|read (more|next|also)|see also|trending|popular|latest( news)?|tags?|share this"
    r"|lea también|más noticias|leia também|você pode gostar|articles? liés|à lire aussi"
    r"|weitere artikel|mehr zum thema|関連記事|相关文章|推荐阅读)\W*$",
    re.IGNORECASE,
)


def _slug_words(url: str | None) -> frozenset[str]:
    """Words of the URL's last path segment: most article URLs carry the headline."""
    if not url:
        return frozenset()
    slug = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    words = {w for w in re.split(r"[-_+]", slug.lower()) if len(w) > 3 and not w.isdigit()}
    return frozenset(words) if len(words) >= 2 else frozenset()


def _mentions(line: str, hints: frozenset[str]) -> bool:
    return bool(hints) and len(hints & set(_norm(line).split())) >= 2


def _size(line: str) -> float:
    """Words, counting two CJK characters as one (those scripts put no spaces)."""
    cjk = len(_CJK.findall(line))
    return len(_CJK.sub(" ", line).split()) + cjk / 2


def _prose_score(line: str) -> float:
    size = _size(line)
    if size >= 12 or (size >= 6 and _SENTENCE_END.search(line)):
        return size
    return -4.0 - size


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
