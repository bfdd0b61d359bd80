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
    text = _NOT_XML_TEXT.sub("", found.text)
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
        author=_one_line(document.author or found.author or "") or None,
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
    teasers after the article fall away even when no pattern names them. A prose
    line is a sentence of six words or more, or a line of twenty words or more
    that is not in Title Case; it counts fully between prose lines, three
    quarters beside one and half when neither neighbour is prose, as a teaser's
    summary between its headline and byline is.
    """
    lines = [_one_line(line) for line in text.replace("\r\n", "\n").split("\n")]
    non_empty = [line for line in lines if line]
    if not non_empty:
        return Extracted(title=title or "", text="")
    title = _one_line(title or "") or non_empty[0]
    title_key = _norm(title)

    # Share lines and section headers stay in the run as costs and barriers (a
    # "Related articles" header marks where teasers begin); they leave the body after.
    candidates = [line for line in non_empty if _norm(line) != title_key]
    boilerplate = [_is_boilerplate(line) for line in candidates]
    start, end = _densest_run(candidates, boilerplate, _slug_words(url))
    body = [
        line
        for line, junk in zip(candidates[start:end], boilerplate[start:end], strict=True)
        if not junk
    ]
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


def _densest_run(
    lines: list[str], boilerplate: list[bool], hints: frozenset[str]
) -> tuple[int, int]:
    """Start and end of the maximum-sum run of line scores."""
    counts = Counter(_norm(line) for line in lines)
    scores = [
        -SHORT_COST - _size(line)
        if junk and not _BARRIER.match(line)
        else _line_score(line, counts, hints)
        for line, junk in zip(lines, boilerplate, strict=True)
    ]
    smoothed = [
        # A prose line counts fully among prose lines; an isolated one (a teaser's
        # summary between its headline and its byline) counts half.
        score * (ISOLATED_SHARE + (1 - ISOLATED_SHARE) * _prose_neighbours(scores, i))
        if score > 0
        else score
        for i, score in enumerate(scores)
    ]
    best, best_span = 0.0, (0, 0)
    running, start = 0.0, 0
    for i, score in enumerate(smoothed):
        if running <= 0:
            running, start = 0.0, i
        running += score
        if running > best:
            best, best_span = running, (start, i + 1)
    return best_span


def _line_score(line: str, counts: Counter[str], hints: frozenset[str]) -> float:
    if _BARRIER.match(line):
        # A section header such as "Related" or "Comments" ends the article.
        return -BARRIER_COST
    if counts[_norm(line)] > 1 and _size(line) < 20:
        # A line the page repeats is template (share bars, bylines of teasers).
        return -REPEAT_COST
    score = _prose_score(line)
    return score * 1.5 if score > 0 and _mentions(line, hints) else score


def _prose_neighbours(scores: list[float], i: int) -> float:
    """Share of the lines either side of line ``i`` that are prose."""
    near = scores[max(0, i - 1) : i] + scores[i + 1 : i + 2]
    return sum(score > 0 for score in near) / len(near) if near else 1.0


SHORT_COST = 4.0
REPEAT_COST = 12.0
BARRIER_COST = 40.0
# A line that does not end like a sentence is prose only from this many words on
# and when it is not in Title Case: shorter ones are teasers' headlines, menus and
# captions. What an isolated prose line counts for, against one among prose lines.
# Both measured on the extract-noisy dev set of ../shared/eval (F1 0.915 as set;
# 12 words 0.910, 16 0.912, 25 0.912, 30 0.910; isolated lines counted fully 0.894,
# a quarter 0.905, three quarters 0.902; without the Title Case test 0.912).
PROSE_MIN_WORDS = 20
ISOLATED_SHARE = 0.5
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
    if _SENTENCE_END.search(line) or _CREDIT.search(line):  # "... their lifting. EFE"
        prose = size >= 6
    else:
        prose = size >= PROSE_MIN_WORDS and not _title_case(line)
    return size if prose else -SHORT_COST - size


_CAPITALISED = re.compile(r"\b[^\W\d_]")


def _title_case(line: str) -> bool:
    """Most words capitalised: a run of headlines or a menu, not a sentence."""
    initials = [m.group() for m in _CAPITALISED.finditer(_CJK.sub(" ", line))]
    return len(initials) >= 3 and sum(ch.isupper() for ch in initials) > len(initials) / 2


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
    """One line of text without the characters XML forbids (control characters in a
    title would make the email's MJML compile fail)."""
    return " ".join(_NOT_XML_TEXT.sub("", value).split())


def _norm(value: str) -> str:
    return " ".join(re.findall(r"\w+", value.lower()))


def _first_words(text: str, n: int = 12) -> str:
    words = text.split()
    return " ".join(words[:n]) + ("…" if len(words) > n else "")
