"""Cleaning: raw documents to articles with a title once and a body of paragraphs.

Three inputs: whole web pages (trafilatura finds the main text), article HTML
fragments as feeds carry them, and scraped plain text, which is noisy: repeated
titles, "follow us" and share lines, PREV/NEXT teasers, cookie notices.

A feed item with a title and a link but no text (a headline-only feed, a page whose
full text could not be had) is an article all the same, with an empty text: it
becomes a story without a summary. Anything else without text is skipped, with its
reason (:data:`NO_CONTENT`, :data:`NO_TEXT`, :data:`UNREADABLE`).

An article keeps the language its source, feed or page gives; one without gets the
detector's answer (``digest.language.detect``), or none for text too short or unsure
to tell (then it is read in its edition's language).

**Identity** (:func:`article_id`; the store applies the rest,
:meth:`digest.store.articles.ArticleStore.add`):

- Within a source an item is the one its GUID names (``<guid>``, Atom ``<id>``,
  JSON Feed ``id``): the id hashes the source and the GUID, so podcast episodes or
  updates that share a link stay apart, and an item fetched again is known. An item
  without a GUID is its canonical URL, as before; without either, its content.
- Across sources the canonical URL decides: an item whose link another source
  stored already is that article (known, not stored again), whatever the GUIDs.
  So is an item whose link its own source stored without a GUID with the same
  title (stored before GUIDs were kept).
- Copies under other links still merge by content when stories are grouped
  (:mod:`digest.stories.grouping`).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from digest.cleaning.pages import extract_html, fragment_text
from digest.cleaning.scraped import clean_scraped_text
from digest.cleaning.text import (
    NOT_XML_TEXT,
    Extracted,
    cut_at_paragraph,
    cut_at_word,
    first_words,
    one_line,
)
from digest.errors import ExtractionError
from digest.language.detect import detect_language
from digest.models import Article, RawDocument
from digest.urls import canonical_url, is_web_url

# What one article may hold, whatever its source sends: a headline is a line, a long
# read is well under the text cap, and raw input beyond its cap is not worth parsing.
MAX_TITLE = 300
MAX_OUTLET = 100
MAX_TEXT = 100_000
MAX_AUTHOR = 200
MAX_URL = 2048
MAX_RAW = 2_000_000
MAX_GUID = 2048

# Why a document is not an article: the skip reasons a source's counts name.
NO_CONTENT = "no content"  # no text, and not both a title and a link
NO_TEXT = "no article text found"  # markup without text, and not both a title and a link
UNREADABLE = "cannot parse HTML"


class Skipped(ExtractionError):
    """A document that is no article, with the reason (one of the names above)."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.reason = reason


def clean(document: RawDocument) -> Article:
    """Turn one raw document into an article, or raise :class:`ExtractionError`."""
    where = document.origin or document.source
    if document.html:
        found = extract_html(document.html[:MAX_RAW], document.url)
    elif document.fragment:
        found = Extracted(
            title=one_line(document.title or ""), text=fragment_text(document.fragment[:MAX_RAW])
        )
    elif document.text:
        found = clean_scraped_text(document.text[:MAX_RAW], document.title, document.url)
    else:
        found = Extracted(title="", text="")

    title = one_line(document.title or "") or found.title
    text = NOT_XML_TEXT.sub("", found.text)
    url = document.url or found.url
    url = canonical_url(url) if url and is_web_url(url) and len(url) <= MAX_URL else None
    if not text.strip():
        # A feed item's headline and link are an article; a page without text is not.
        if document.html or not (title and url):
            has_markup = document.html or document.fragment or document.text
            raise Skipped(where, NO_TEXT if has_markup else NO_CONTENT)
        text = ""
    if not title:
        title = first_words(text)
    guid = document.guid[:MAX_GUID] if document.guid else None
    article = Article(
        id=article_id(url, document.source, title, text, guid),
        source=document.source,
        title=title,
        text=text,
        url=url,
        author=one_line(document.author or found.author or "") or None,
        published=document.published or found.published,
        credit=found.credit,
        topic_hint=document.topic_hint,
        image=next((i for i in (document.image, found.image) if i and is_web_url(i)), None),
        language=document.language or detect_language(f"{title}\n{text}"),
        guid=guid,
        outlet=_outlet(document, found, url),
    )
    return capped(article)


def _outlet(document: RawDocument, found: Extracted, url: str | None) -> str | None:
    """Who published it: what the source knows, the page's site name (``og:site_name``
    and publisher metadata), the domain; for a document of a source that is no outlet
    (a folder), also the text's own credit ("CALDMOOR (Civic Wire) -", a closing
    "Reuters"), else "" (not known) rather than the source's name."""
    named = one_line(document.outlet or found.site or "")
    if not named and url:
        named = urlsplit(url).hostname or ""
        named = named.removeprefix("www.")
    if not named and not document.source_is_outlet:
        named = one_line(found.credit or "")
    named = cut_at_word(named, MAX_OUTLET)
    return named or (None if document.source_is_outlet else "")


def capped(article: Article) -> Article:
    """The article within the caps: title, text, author, links (its id stays)."""
    title = cut_at_word(article.title, MAX_TITLE)
    text = cut_at_paragraph(article.text, MAX_TEXT)
    author = cut_at_word(article.author, MAX_AUTHOR) if article.author else None
    url = article.url if article.url is None or len(article.url) <= MAX_URL else None
    image = article.image if article.image is None or len(article.image) <= MAX_URL else None
    if (title, text, author, url, image) == (
        article.title,
        article.text,
        article.author,
        article.url,
        article.image,
    ):
        return article
    return replace(article, title=title, text=text, author=author, url=url, image=image)


@dataclass(slots=True)
class Cleaned:
    """One source's documents cleaned: the articles, and each document skipped (a line
    naming it, and its reason counted)."""

    articles: list[Article] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def headline_only(self) -> int:
        return sum(1 for a in self.articles if not a.text)


def clean_all(documents: Iterable[RawDocument], source: str) -> Cleaned:
    """The articles of one source's documents; each that cannot be cleaned is named and
    counted, and the others go on."""
    cleaned = Cleaned()
    for document in documents:
        try:
            cleaned.articles.append(clean(document))
        except ExtractionError as exc:
            cleaned.skipped.append(f"{source}: {exc}")
            cleaned.reasons[exc.reason if isinstance(exc, Skipped) else UNREADABLE] += 1
    return cleaned


def article_id(url: str | None, source: str, title: str, text: str, guid: str | None = None) -> str:
    """Stable id: the source and the item's GUID when it has one, else the canonical
    URL, else the content (see the module docstring)."""
    key = f"guid\n{source}\n{guid}" if guid else url or f"{source}\n{title}\n{text}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]
