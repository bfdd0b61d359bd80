"""RSS, Atom and JSON-less feeds through feedparser, from a URL or a local file."""

from __future__ import annotations

import calendar
import json
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
        if body.lstrip()[:1] == b"{":
            documents = _json_feed(self.name, body, origin, self.topic)
            return documents[: self.limit] if self.limit else documents
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


def _json_feed(source: str, body: bytes, origin: str, topic: str | None) -> list[RawDocument]:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org), which feedparser does not read."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(source, f"{origin} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        raise SourceError(source, f"{origin} is JSON but not a JSON Feed (no jsonfeed.org version)")
    items = data.get("items")
    if not isinstance(items, list) or not items:
        raise SourceError(source, f"{origin} is a JSON Feed with no items")
    documents = []
    for item in items:
        if not isinstance(item, dict):
            continue
        authors = item.get("authors") or ([item["author"]] if item.get("author") else [])
        html = item.get("content_html") or ""
        text = item.get("content_text") or item.get("summary") or ""
        documents.append(
            RawDocument(
                source=source,
                url=item.get("url") or item.get("external_url"),
                fragment=str(html) or None,
                text=None if html else (str(text) or None),
                title=item.get("title"),
                author=next((a.get("name") for a in authors if isinstance(a, dict)), None),
                published=_iso_time(item.get("date_published") or item.get("date_modified")),
                topic_hint=topic,
                origin=origin,
                image=item.get("image") or item.get("banner_image"),
            )
        )
    return documents


def _iso_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
