"""RSS, Atom and JSON-less feeds through feedparser, from a URL or a local file."""

from __future__ import annotations

import calendar
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser

from digest.errors import SourceError
from digest.models import RawDocument
from digest.sources.http import Fetcher

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
    ) -> None:
        if (url is None) == (path is None):
            raise ValueError("FeedSource needs exactly one of url or path")
        if url is not None and fetcher is None:
            raise ValueError("FeedSource with a url needs a Fetcher")
        self.name = name
        self.url = url
        self.path = path
        self.fetcher = fetcher
        self.topic = topic
        self.limit = limit
        self.local = local

    def _read(self) -> tuple[bytes, str]:
        if self.path is not None:
            try:
                return self.path.read_bytes(), str(self.path)
            except OSError as exc:
                raise SourceError(self.name, f"cannot read {self.path}: {exc.strerror}") from None
        assert self.url is not None and self.fetcher is not None
        body, _ = self.fetcher.get(self.name, self.url, allow_private=self.local)
        return body, self.url

    def fetch(self) -> list[RawDocument]:
        body, origin = self._read()
        parsed = feedparser.parse(body)
        entries = list(parsed.entries)
        if not entries:
            reason = parsed.get("bozo_exception")
            detail = f": {reason}" if reason else ""
            raise SourceError(self.name, f"{origin} is not a feed or has no entries{detail}")
        if parsed.get("bozo"):
            log.info(
                "feed %s parsed with recoverable errors: %s", origin, parsed.get("bozo_exception")
            )
        documents = [self._document(entry, origin) for entry in entries]
        return documents[: self.limit] if self.limit else documents

    def _document(self, entry: Any, origin: str) -> RawDocument:
        contents = entry.get("content") or []
        html_parts = [c.get("value", "") for c in contents if "html" in c.get("type", "html")]
        fragment = max(html_parts, key=len) if html_parts else entry.get("summary", "")
        return RawDocument(
            source=self.name,
            url=entry.get("link"),
            fragment=fragment or None,
            title=entry.get("title"),
            author=entry.get("author"),
            published=_entry_time(entry),
            topic_hint=self.topic,
            origin=origin,
            image=_entry_image(entry),
        )


def _entry_time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
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
