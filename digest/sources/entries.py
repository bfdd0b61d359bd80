"""A feed's items between parsing and handing on: the source's limit, their GUIDs and
their dates settled, and every item left out counted under a reason.

- **Limit**: items past the source's ``limit`` are counted as skipped ("over the
  source's limit"), never dropped without a word.
- **GUIDs**: an item's GUID is its identity within its source
  (:func:`digest.cleaning.articles.article_id`). A GUID that several items with
  different links share identifies none of them (a feed that writes its own URL in
  every ``<guid>``): those items lose it and are known by their links, with a note.
- **Dates**: a date no reader understood (:mod:`digest.sources.dates`) becomes the
  collection time, and a date in the future is brought back to it; both with a note.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from digest.models import RawDocument

OVER_LIMIT = "over the source's limit"
# A date this far ahead is worth a note; less is a clock a little fast.
FUTURE_NOTE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Entry:
    """One item as parsed: its document, and the date it gave when none could be read."""

    document: RawDocument
    unread_date: str | None = None


@dataclass(frozen=True, slots=True)
class FeedItems:
    """A feed document's items: those handed on, those left out by reason, and notes."""

    documents: list[RawDocument]
    skipped: dict[str, int]
    notes: list[str]


def settle(
    entries: Sequence[Entry], now: datetime, limit: int | None, skipped: dict[str, int]
) -> FeedItems:
    """The first ``limit`` entries as documents, with GUIDs and dates settled;
    ``skipped`` (reason -> count, from parsing) gains those over the limit."""
    skipped = dict(skipped)
    if limit is not None and len(entries) > limit:
        skipped[OVER_LIMIT] = skipped.get(OVER_LIMIT, 0) + len(entries) - limit
        entries = entries[:limit]
    notes: list[str] = []
    documents = _unique_guids([e.document for e in entries], notes)
    unread = [
        (i, e.unread_date)
        for i, e in enumerate(entries)
        if e.unread_date and not e.document.published
    ]
    for i, _ in unread:
        documents[i] = replace(documents[i], published=now)
    if unread:
        notes.append(
            f"{_items(len(unread))} with a date that cannot be read "
            f"(such as {str(unread[0][1])[:60]!r}): dated at collection time"
        )
    ahead = [d.published for d in documents if d.published is not None and d.published > now]
    if ahead:
        documents = [
            replace(d, published=now) if d.published and d.published > now else d for d in documents
        ]
    if ahead and max(ahead) - now > FUTURE_NOTE:
        notes.append(
            f"{_items(len(ahead))} dated in the future (up to {max(ahead):%Y-%m-%d %H:%M} "
            "UTC): dated at collection time"
        )
    return FeedItems(documents, skipped, notes)


def _unique_guids(documents: list[RawDocument], notes: list[str]) -> list[RawDocument]:
    """The documents, those sharing a GUID with an item of another link without it."""
    links: dict[str, set[str | None]] = {}
    for d in documents:
        if d.guid is not None:
            links.setdefault(d.guid, set()).add(d.url)
    shared = {guid for guid, urls in links.items() if len(urls) > 1}
    if not shared:
        return list(documents)
    count = Counter(d.guid for d in documents if d.guid in shared)
    notes.append(
        f"{_items(sum(count.values()))} share a GUID with items of other links: "
        "known by their links instead"
    )
    return [replace(d, guid=None) if d.guid in shared else d for d in documents]


def _items(n: int) -> str:
    return f"{n} item" if n == 1 else f"{n} items"
