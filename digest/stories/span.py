"""Stories that stay one event: a group whose reports were published further apart
than the edition's lookback is a long-running story told over several days, and is
cut into its days' events (each report joins the run it was published in). A group
that holds a story an earlier edition sent is left whole: it is an update, and
``digest.stories.updates`` decides what of it is new."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import timedelta

from digest.models import Article


def one_event_each(
    group: Sequence[Article], span: timedelta | None, sent: Collection[str] = frozenset()
) -> list[list[Article]]:
    """``group`` (lead first) cut where its reports are more than ``span`` apart; each
    part keeps the group's order, so a part's lead is its most central report.
    Undated reports stay with the lead's part."""
    dated = sorted((a.published, i) for i, a in enumerate(group) if a.published)
    if span is None or len(dated) < 2 or dated[-1][0] - dated[0][0] <= span:
        return [list(group)]
    if any(a.id in sent for a in group):
        return [list(group)]
    part_of: dict[int, int] = {}
    start, part = dated[0][0], 0
    for published, index in dated:
        if published - start > span:
            start, part = published, part + 1
        part_of[index] = part
    lead_part = part_of.get(0, 0)
    parts: dict[int, list[Article]] = {}
    for index, article in enumerate(group):
        parts.setdefault(part_of.get(index, lead_part), []).append(article)
    return [parts[p] for p in sorted(parts)]
