"""Full text for feed items that carry only a teaser (a source's ``full_text = true``).

The linked page is fetched through the Fetcher (so the same limits, size cap and
address checks apply) and its main text extracted as for any page; the item then
carries that text. Whatever goes wrong (HTTP error, binary content, a page with no
more text than the feed) leaves the teaser in place, with the reason; an item with no
text at all then stays headline-only (:func:`digest.cleaning.articles.clean`).

Pages are not fetched for links already stored (by any source: the item is then the
same article again, or a copy) or for a link several items of the feed share (a
podcast's episodes pointing at the show's page): that page is about none of them, and
its text would make the items one copy.
"""

from __future__ import annotations

import html as html_lib
import logging
import re
from collections import Counter
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from digest.cleaning.pages import extract_html, fragment_text
from digest.errors import ExtractionError, SourceError
from digest.models import RawDocument
from digest.sources.http import Fetcher
from digest.sources.page import page_html, page_metadata
from digest.urls import canonical_url, is_web_url

log = logging.getLogger(__name__)

# An item with fewer words than this is a teaser; so is one up to LONG_TEASER_WORDS
# that ends the way teasers do ("…", "[...]", "Read more").
TEASER_WORDS = 120
LONG_TEASER_WORDS = 400
_TEASER_ENDING = re.compile(
    r"(…|\.\.\.|\[…\]|\[\.\.\.\]|\b(read|see) more|\bcontinue reading|\bweiterlesen"
    r"|\bleer más|\blire la suite|\bleia mais|\bcontinua a leggere)\W*$",
    re.IGNORECASE,
)
# Pages fetched at once for one source; the Fetcher's per-host limit still applies.
WORKERS = 4
TEASER_KEPT = "teaser kept for"  # how each note of a teaser that stayed begins


# Markup whose content is no text; without any, tags only separate words.
_HIDDEN = re.compile(
    r"<(script|style|noscript|iframe|object|embed|form|button|svg|template)\b", re.IGNORECASE
)
_TAG = re.compile(r"<[^>]*>")


def feed_text(document: RawDocument) -> str:
    """The text a feed item carries, as plain text (words, for counting them)."""
    if document.fragment:
        if _HIDDEN.search(document.fragment) is None:  # the common case, without a parser
            return " ".join(html_lib.unescape(_TAG.sub(" ", document.fragment)).split())
        return fragment_text(document.fragment)
    return document.text or ""


def is_teaser(document: RawDocument) -> bool:
    text = feed_text(document)
    words = len(text.split())
    if words < TEASER_WORDS:
        return True
    # The ending is a few characters: searching the tail spares a scan of the whole text.
    return words < LONG_TEASER_WORDS and bool(_TEASER_ENDING.search(text[-60:]))


class FullText:
    """Replaces teasers by the main text of the pages they link to. The links come
    from the feed's publisher, not the operator: they never reach a private address,
    even when the feed itself is a local source."""

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher

    def expand(
        self, documents: list[RawDocument], known_urls: Collection[str] = frozenset()
    ) -> tuple[list[RawDocument], list[str]]:
        """``documents`` with each teaser whose link is neither in ``known_urls``
        (canonical links already stored, by any source) nor shared by several items
        expanded; one note per teaser that had to stay (per link, for shared ones)."""
        links = [
            canonical_url(doc.url) if doc.url and is_web_url(doc.url) else None for doc in documents
        ]
        shared = Counter(link for link in links if link is not None)
        teasers = {
            i: link
            for i, (doc, link) in enumerate(zip(documents, links, strict=True))
            if link is not None and link not in known_urls and is_teaser(doc)
        }
        todo = [i for i, link in teasers.items() if shared[link] == 1]
        notes = [
            f"{TEASER_KEPT} {link}: {shared[link]} items share the link, a page about none of them"
            for link in dict.fromkeys(link for link in teasers.values() if shared[link] > 1)
        ]
        if not todo:
            return documents, notes
        expanded = list(documents)
        with ThreadPoolExecutor(min(WORKERS, len(todo)), thread_name_prefix="fulltext") as pool:
            for i, (document, reason) in zip(
                todo, pool.map(self.expand_one, [documents[i] for i in todo]), strict=True
            ):
                expanded[i] = document
                if reason is not None:
                    log.info("teaser kept for %s: %s", documents[i].url, reason)
                    notes.append(f"{TEASER_KEPT} {documents[i].url}: {reason}")
        return expanded, notes

    def expand_one(self, document: RawDocument) -> tuple[RawDocument, str | None]:
        """The document with the page's text, or unchanged with the reason why not."""
        assert document.url is not None
        try:
            download = self.fetcher.fetch(document.source, document.url)
            page = page_html(document.source, download)
            found = extract_html(page, download.url)
        except SourceError as exc:
            return document, exc.reason
        except ExtractionError as exc:
            return document, str(exc)
        if len(found.text.split()) <= len(feed_text(document).split()):
            return document, "the page has no more text than the feed"
        meta = page_metadata(page, download.url)
        paragraphs = (p for p in found.text.split("\n\n") if p.strip())
        return (
            replace(
                document,
                fragment="".join(f"<p>{html_lib.escape(p)}</p>" for p in paragraphs),
                text=None,
                html=None,
                title=document.title or found.title or None,
                author=document.author or meta.author or found.author,
                published=document.published or found.published,
                image=document.image or found.image,
                language=document.language or meta.language,
            ),
            None,
        )
