"""RSS 0.9x/1.0/2.0 and Atom through feedparser, and JSON Feed, from a URL or a file.

Over HTTP the last answer's validators are sent back (conditional GET): a 304 means
nothing new, and nothing is parsed. The body's charset is found by
:mod:`digest.sources.decoding` and feedparser gets UTF-8 (never a ``str``, which it
would take for a file name or URL to open). With ``full_text``, items that carry only
a teaser (or nothing but a title and a link) get the linked page's text
(:mod:`digest.sources.fulltext`).

Each item keeps its GUID (``<guid>``, Atom ``<id>``, RSS 1.0 ``rdf:about``), its
identity within the source. Dates feedparser cannot read (other languages, unknown
zone names) are read by :mod:`digest.sources.dates`; :mod:`digest.sources.entries`
settles the limit and the dates, and counts every item left out.
"""

from __future__ import annotations

import calendar
import io
import logging
import re
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser

from digest.errors import SourceError
from digest.models import RawDocument
from digest.sources.dates import names_unknown_zone, parse_date
from digest.sources.decoding import decode
from digest.sources.entries import Entry, FeedItems, settle
from digest.sources.fulltext import FullText
from digest.sources.http import Fetcher, fetch_changed
from digest.sources.jsonfeed import json_feed_entries
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
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
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
        self.clock = clock  # the collection time: for unreadable and future dates

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
        listed = self.read(body, content_type, origin)
        documents, notes = listed.documents, list(listed.notes)
        if self.full_text and documents:
            assert self.fetcher is not None
            documents, expanded = FullText(self.fetcher).expand(documents, known_urls)
            notes.extend(expanded)
        return Fetched(documents, validators=validators, notes=notes, skipped=listed.skipped)

    def parse(self, body: bytes, content_type: str, origin: str) -> list[RawDocument]:
        """The items of a feed document (at most ``limit``); :class:`SourceError` when
        it is binary, not a feed, or has no items."""
        return self.read(body, content_type, origin).documents

    def read(self, body: bytes, content_type: str, origin: str) -> FeedItems:
        """The items of a feed document, those left out counted by reason."""
        text = decode(body, content_type, source=self.name, origin=origin)
        if text.lstrip().startswith("{"):
            entries, skipped = json_feed_entries(self.name, text, origin, self.topic, self.language)
        else:
            entries, skipped = self._feedparser_entries(text, origin), {}
        return settle(entries, self.clock(), self.limit, skipped)

    def _feedparser_entries(self, text: str, origin: str) -> list[Entry]:
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
        return [self._entry(entry, origin, language) for entry in entries]

    def _entry(self, entry: Any, origin: str, language: str | None) -> Entry:
        contents = entry.get("content") or []
        html_parts = [c.get("value", "") for c in contents if "html" in c.get("type", "html")]
        fragment = max(html_parts, key=len) if html_parts else entry.get("summary", "")
        published, unread = _entry_time(entry)
        guid = _str(entry.get("id"))
        document = RawDocument(
            source=self.name,
            url=_str(entry.get("link")),
            fragment=_str(fragment) or None,
            title=_str(entry.get("title")),
            author=_str(entry.get("author")),
            published=published,
            topic_hint=self.topic,
            origin=origin,
            image=_entry_image(entry),
            language=language,
            guid=guid if guid and guid.strip() else None,
            outlet=self.name,
        )
        return Entry(document, unread)


_BAD_REFERENCE = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")


def _checked_reference(match: re.Match[str]) -> str:
    """A numeric character reference, or U+FFFD for one naming no character (feedparser
    raises on those)."""
    code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
    return match.group(0) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else "\ufffd"


def _str(value: Any) -> str | None:
    """A feed value as text; malformed feeds put odd things where text belongs."""
    return value if isinstance(value, str) else None


def _entry_time(entry: Any) -> tuple[datetime | None, str | None]:
    """When the entry was published (else updated, created), and the date it gave when
    none could be read. feedparser's reading comes first, unless it gave up or the date
    names a zone it takes for UTC (CEST, BRT): :func:`parse_date` reads those."""
    unread = None
    for key in ("published", "updated", "created"):
        if key not in entry:  # (asking feedparser for a missing "updated" warns)
            continue
        raw, value = _str(entry.get(key)), entry.get(f"{key}_parsed")
        if raw and (not value or names_unknown_zone(raw)):
            found = parse_date(raw)
            if found is not None:
                return found, None
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), tz=UTC), None
            except (ValueError, OverflowError, OSError):  # a date past year 9999 and such
                pass
        unread = unread or raw
    return None, unread


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
