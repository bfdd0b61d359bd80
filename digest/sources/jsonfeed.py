"""JSON Feed 1.0/1.1 (https://jsonfeed.org), which feedparser does not read."""

from __future__ import annotations

import json
from typing import Any

from digest.errors import SourceError
from digest.models import RawDocument
from digest.sources.dates import parse_date
from digest.sources.entries import Entry
from digest.sources.page import language_tag

NOT_AN_ITEM = "not a JSON Feed item (no object)"


def json_feed_entries(
    source: str, body: str, origin: str, topic: str | None, language: str | None
) -> tuple[list[Entry], dict[str, int]]:
    """The items of a JSON Feed, and the ones that are no item (counted)."""
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
    entries = [
        _entry(source, item, origin, topic, language) for item in items if isinstance(item, dict)
    ]
    skipped = {NOT_AN_ITEM: len(items) - len(entries)} if len(entries) < len(items) else {}
    return entries, skipped


def _entry(
    source: str, item: dict[str, Any], origin: str, topic: str | None, language: str | None
) -> Entry:
    authors = item.get("authors")
    if not isinstance(authors, list):
        authors = [item["author"]] if isinstance(item.get("author"), dict) else []
    html = _str(item.get("content_html")) or ""
    text = _str(item.get("content_text")) or _str(item.get("summary")) or ""
    raw_date = _str(item.get("date_published")) or _str(item.get("date_modified"))
    published = parse_date(raw_date) if raw_date else None
    guid = item.get("id")
    if isinstance(guid, int) and not isinstance(guid, bool):
        guid = str(guid)  # the spec says a string; some feeds write a number
    document = RawDocument(
        source=source,
        url=_str(item.get("url")) or _str(item.get("external_url")),
        fragment=html or None,
        text=None if html else (text or None),
        title=_str(item.get("title")),
        author=next((_str(a.get("name")) for a in authors if isinstance(a, dict)), None),
        published=published,
        topic_hint=topic,
        origin=origin,
        image=_str(item.get("image")) or _str(item.get("banner_image")),
        language=language,
        guid=guid if isinstance(guid, str) and guid.strip() else None,
        outlet=source,
    )
    return Entry(document, None if published else raw_date)


def _str(value: Any) -> str | None:
    """A feed value as text; malformed feeds put odd things where text belongs."""
    return value if isinstance(value, str) else None
