"""RSS 0.9x/1.0/2.0 and Atom through feedparser, and JSON Feed, from a URL or a file.

Over HTTP the last answer's validators are sent back (conditional GET): a 304 means
nothing new, and nothing is parsed. The body's charset is found by
:mod:`digest.sources.decoding` and feedparser gets UTF-8 (never a ``str``, which it
would take for a file name or URL to open). With ``full_text``, items that carry only
a teaser get the linked page's text (:mod:`digest.sources.fulltext`).
"""

from __future__ import annotations

import calendar
import io
import json
import logging
import re
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser

from digest.errors import SourceError
from digest.models import RawDocument
from digest.sources.decoding import decode
from digest.sources.fulltext import FullText
from digest.sources.http import Fetcher, fetch_changed
from digest.sources.page import language_tag
from digest.sources.source import Fetched, Validators

log = logging.getLogger(__name__)


class FeedSource:
    """A feed read from ``url`` (through the shared client) or from ``path``."""

    def __init__(
        self,
        name: str,
        *,
        url: str | None = None,
        path: Path | None = None,
        fetcher: Fetcher | None = None,
        topic: str | None = None,
        limit: int | None = None,
        local: bool = False,
        full_text: bool = False,
        language: str | None = None,
    ) -> None:
        if (url is None) == (path is None):
            raise ValueError("FeedSource needs exactly one of url or path")
        if (url is not None or full_text) and fetcher is None:
            raise ValueError("FeedSource with a url or full_text needs a Fetcher")
        self.name = name
        self.url = url
        self.path = path
        self.fetcher = fetcher
        self.topic = topic
        self.limit = limit
        self.local = local
        self.full_text = full_text
        self.language = language

    def fetch(self) -> list[RawDocument]:
        return self.fetch_changes(None).documents

    def fetch_changes(
        self, previous: Validators | None, known_urls: Collection[str] = frozenset()
    ) -> Fetched:
        validators = None
        if self.path is not None:
            try:
                body, content_type, origin = self.path.read_bytes(), "", str(self.path)
            except OSError as exc:
                raise SourceError(self.name, f"cannot read {self.path}: {exc.strerror}") from None
        else:
            assert self.url is not None and self.fetcher is not None
            download, validators = fetch_changed(
                self.fetcher, self.name, self.url, previous, allow_private=self.local
            )
            if download.not_modified:
                return Fetched([], validators=validators, not_modified=True)
            body, content_type, origin = download.body, download.content_type, download.url
        documents = self.parse(body, content_type, origin)
        notes: list[str] = []
        if self.full_text and documents:
            assert self.fetcher is not None
            expander = FullText(self.fetcher)
            documents, notes = expander.expand(documents, known_urls)
        return Fetched(documents, validators=validators, notes=notes)

    def parse(self, body: bytes, content_type: str, origin: str) -> list[RawDocument]:
        """The items of a feed document (at most ``limit``); :class:`SourceError` when
        it is binary, not a feed, or has no items."""
        text = decode(body, content_type, source=self.name, origin=origin)
        if text.lstrip().startswith("{"):
            documents = _json_feed(self.name, text, origin, self.topic, self.language)
            return documents[: self.limit] if self.limit else documents
        headers = {"content-type": "application/xml; charset=utf-8"}
        if origin.startswith(("http://", "https://")):
            headers["content-location"] = origin  # the base of relative links
        data = _BAD_REFERENCE.sub(_checked_reference, text).encode("utf-8", errors="replace")
        try:
            parsed = feedparser.parse(io.BytesIO(data), response_headers=headers)
        except ValueError as exc:  # feedparser's loose parser, on input it cannot take
            raise SourceError(self.name, f"{origin} cannot be parsed as a feed: {exc}") from None
        entries = list(parsed.entries)
        if not entries:
            reason = parsed.get("bozo_exception")
            detail = f": {reason}" if reason else ""
            raise SourceError(self.name, f"{origin} is not a feed or has no entries{detail}")
        if parsed.get("bozo"):
            log.info(
                "feed %s parsed with recoverable errors: %s", origin, parsed.get("bozo_exception")
            )
        language = self.language or language_tag(_str(parsed.feed.get("language")))
        documents = [self._document(entry, origin, language) for entry in entries]
        return documents[: self.limit] if self.limit else documents

    def _document(self, entry: Any, origin: str, language: str | None) -> RawDocument:
        contents = entry.get("content") or []
        html_parts = [c.get("value", "") for c in contents if "html" in c.get("type", "html")]
        fragment = max(html_parts, key=len) if html_parts else entry.get("summary", "")
        return RawDocument(
            source=self.name,
            url=_str(entry.get("link")),
            fragment=_str(fragment) or None,
            title=_str(entry.get("title")),
            author=_str(entry.get("author")),
            published=_entry_time(entry),
            topic_hint=self.topic,
            origin=origin,
            image=_entry_image(entry),
            language=language,
        )


_BAD_REFERENCE = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")


def _checked_reference(match: re.Match[str]) -> str:
    """A numeric character reference, or U+FFFD for one naming no character (feedparser
    raises on those)."""
    code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
    return match.group(0) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else "\ufffd"


def _str(value: Any) -> str | None:
    """A feed value as text; malformed feeds put odd things where text belongs."""
    return value if isinstance(value, str) else None


def _json_feed(
    source: str, body: str, origin: str, topic: str | None, language: str | None
) -> list[RawDocument]:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org), which feedparser does not read."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise SourceError(source, f"{origin} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        raise SourceError(source, f"{origin} is JSON but not a JSON Feed (no jsonfeed.org version)")
    items = data.get("items")
    if not isinstance(items, list) or not items:
        raise SourceError(source, f"{origin} is a JSON Feed with no items")
    language = language or language_tag(_str(data.get("language")))
    documents = []
    for item in items:
        if not isinstance(item, dict):
            continue
        authors = item.get("authors")
        if not isinstance(authors, list):
            authors = [item["author"]] if isinstance(item.get("author"), dict) else []
        html = _str(item.get("content_html")) or ""
        text = _str(item.get("content_text")) or _str(item.get("summary")) or ""
        documents.append(
            RawDocument(
                source=source,
                url=_str(item.get("url")) or _str(item.get("external_url")),
                fragment=html or None,
                text=None if html else (text or None),
                title=_str(item.get("title")),
                author=next((_str(a.get("name")) for a in authors if isinstance(a, dict)), None),
                published=_iso_time(item.get("date_published") or item.get("date_modified")),
                topic_hint=topic,
                origin=origin,
                image=_str(item.get("image")) or _str(item.get("banner_image")),
                language=language,
            )
        )
    return documents


def _iso_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):  # not ISO 8601, or out of datetime's range
        return None


def _entry_time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
            except (ValueError, OverflowError, OSError):  # a date past year 9999 and such
                continue
    return None


def _entry_image(entry: Any) -> str | None:
    """The entry's image: media:thumbnail, media:content or an image enclosure."""
    for key in ("media_thumbnail", "media_content"):
        for item in entry.get(key) or []:
            url = item.get("url")
            if url and item.get("medium", "image") == "image":
                return str(url)
    for link in entry.get("links") or []:
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/"):
            return str(link.get("href"))
    return None
