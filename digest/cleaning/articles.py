"""Cleaning: raw documents to articles with a title once and a body of paragraphs.

Three inputs: whole web pages (trafilatura finds the main text), article HTML
fragments as feeds carry them, and scraped plain text, which is noisy: repeated
titles, "follow us" and share lines, PREV/NEXT teasers, cookie notices.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace

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
from digest.models import Article, RawDocument
from digest.urls import canonical_url, is_web_url

# What one article may hold, whatever its source sends: a headline is a line, a long
# read is well under the text cap, and raw input beyond its cap is not worth parsing.
MAX_TITLE = 300
MAX_TEXT = 100_000
MAX_AUTHOR = 200
MAX_URL = 2048
MAX_RAW = 2_000_000


def clean(document: RawDocument) -> Article:
    """Turn one raw document into an article, or raise :class:`ExtractionError`."""
    if document.html:
        found = extract_html(document.html[:MAX_RAW], document.url)
    elif document.fragment:
        found = Extracted(
            title=one_line(document.title or ""), text=fragment_text(document.fragment[:MAX_RAW])
        )
    elif document.text:
        found = clean_scraped_text(document.text[:MAX_RAW], document.title, document.url)
    else:
        raise ExtractionError(f"{document.origin or document.source}: no content")

    title = one_line(document.title or "") or found.title
    text = NOT_XML_TEXT.sub("", found.text)
    if not text.strip():
        raise ExtractionError(f"{document.origin or document.source}: no article text found")
    if not title:
        title = first_words(text)
    url = document.url or found.url
    url = canonical_url(url) if url and is_web_url(url) and len(url) <= MAX_URL else None
    article = Article(
        id=article_id(url, document.source, title, text),
        source=document.source,
        title=title,
        text=text,
        url=url,
        author=one_line(document.author or found.author or "") or None,
        published=document.published or found.published,
        credit=found.credit,
        topic_hint=document.topic_hint,
        image=next((i for i in (document.image, found.image) if i and is_web_url(i)), None),
        language=document.language,
    )
    return capped(article)


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


def clean_all(documents: Iterable[RawDocument], source: str, skipped: list[str]) -> list[Article]:
    """The articles of one source's documents; each that cannot be cleaned is named in
    ``skipped`` and the others go on."""
    articles: list[Article] = []
    for document in documents:
        try:
            articles.append(clean(document))
        except ExtractionError as exc:
            skipped.append(f"{source}: {exc}")
    return articles


def article_id(url: str | None, source: str, title: str, text: str) -> str:
    """Stable id: the canonical URL when there is one, else the content."""
    key = url if url else f"{source}\n{title}\n{text}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]
