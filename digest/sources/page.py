"""A single web page fetched over HTTP; its main text is extracted by the cleaning stage.

The page's own metadata is read here: its canonical URL (``<link rel=canonical>``,
else ``og:url``) becomes the article's link when it is on the same site, its author
(``<meta name=author>`` and kin) and its language (``<html lang>``).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml.etree import ParserError

from digest.errors import SourceError
from digest.models import RawDocument
from digest.sources.decoding import decode, media_type
from digest.sources.http import Download, Fetcher, fetch_changed
from digest.sources.source import Fetched, Validators
from digest.urls import is_web_url


class PageSource:
    full_text = False

    def __init__(
        self,
        name: str,
        url: str,
        fetcher: Fetcher,
        *,
        topic: str | None = None,
        local: bool = False,
        language: str | None = None,
    ) -> None:
        self.name = name
        self.url = url
        self.fetcher = fetcher
        self.topic = topic
        self.local = local
        self.language = language

    def fetch(self) -> list[RawDocument]:
        return self.fetch_changes(None).documents

    def fetch_changes(
        self, previous: Validators | None, known_urls: Collection[str] = frozenset()
    ) -> Fetched:
        download, validators = fetch_changed(
            self.fetcher, self.name, self.url, previous, allow_private=self.local
        )
        if download.not_modified:
            return Fetched([], validators=validators, not_modified=True)
        html = page_html(self.name, download)
        meta = page_metadata(html, download.url)
        document = RawDocument(
            source=self.name,
            url=meta.canonical or download.url,
            html=html,
            author=meta.author,
            topic_hint=self.topic,
            origin=self.url,
            language=self.language or meta.language,
        )
        return Fetched([document], validators=validators)


def page_html(source: str, download: Download) -> str:
    """The text of a downloaded web page; :class:`SourceError` for anything else."""
    html = decode(download.body, download.content_type, source=source, origin=download.url)
    declared = media_type(download.content_type)
    if declared and "html" not in declared and "xml" not in declared:
        raise SourceError(source, f"{download.url} is {declared}, not a web page")
    return html


@dataclass(frozen=True, slots=True)
class PageMeta:
    canonical: str | None = None
    author: str | None = None
    language: str | None = None


HEAD_CHARS = 200_000
_AUTHOR_META = ("author", "article:author", "dc.creator", "dcterms.creator", "parsely-author")
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")


def page_metadata(html: str, url: str) -> PageMeta:
    """Canonical URL (same site only), author and language from a page's head."""
    end = html.lower().find("</head>", 0, HEAD_CHARS)
    head = _XML_DECLARATION.sub("", html[: end if end >= 0 else HEAD_CHARS])
    if not head.strip():
        return PageMeta()
    try:
        root = lxml.html.document_fromstring(head)
    except (ParserError, ValueError):
        return PageMeta()
    canonical = None
    for href in [
        *(el.get("href") for el in root.iter("link") if "canonical" in _tokens(el.get("rel"))),
        *(el.get("content") for el in root.iter("meta") if el.get("property") == "og:url"),
    ]:
        candidate = urljoin(url, (href or "").strip())
        # A canonical link on another site would let a page claim another outlet's
        # article (and its place in the dedupe); it is ignored.
        if href and is_web_url(candidate) and _same_site(candidate, url):
            canonical = candidate
            break
    author = None
    for el in root.iter("meta"):
        key = (el.get("name") or el.get("property") or "").strip().lower()
        value = " ".join((el.get("content") or "").split())
        if key in _AUTHOR_META and value and not is_web_url(value):
            author = value[:200]
            break
    html_el = root if root.tag == "html" else next(root.iter("html"), None)
    lang = html_el.get("lang") if html_el is not None else None
    return PageMeta(canonical=canonical, author=author, language=language_tag(lang))


def language_tag(value: str | None) -> str | None:
    """A BCP 47-looking tag (``en``, ``pt-BR``), or None; ``en_GB`` becomes ``en-GB``."""
    if not value:
        return None
    tag = value.strip().replace("_", "-")
    return tag if _LANGUAGE_TAG.match(tag) and len(tag) <= 35 else None


def _tokens(value: str | None) -> set[str]:
    return {token.lower() for token in (value or "").split()}


def _same_site(a: str, b: str) -> bool:
    ha, hb = _site_host(a), _site_host(b)
    return bool(ha and hb) and (ha == hb or ha.endswith("." + hb) or hb.endswith("." + ha))


def _site_host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    for prefix in ("www.", "m.", "amp."):
        host = host.removeprefix(prefix)
    return host
