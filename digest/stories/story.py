"""One story from its tellings: a stable id, the headline, the ranking score."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from digest.models import Article, Ranking, Story, StoryLink
from digest.stories.headlines import headed
from digest.stories.updates import FollowUp


def story_id(group: Sequence[Article]) -> str:
    """Stable across rebuilds as long as the lead stays the same."""
    return hashlib.sha1(group[0].id.encode("utf-8")).hexdigest()[:12]


def story_ranking(
    group: Sequence[Article], now_ts: float, weights: Mapping[str, float] | None = None
) -> Ranking:
    """Rank within a section: outlets count most, then freshness (a day halves it),
    all multiplied by the highest weight among the story's sources (1 by default)."""
    sources = {a.source for a in group}
    outlets = {a.outlet_name for a in group}
    times = [a.published.timestamp() for a in group if a.published]
    freshness = 0.5 ** (max(0.0, now_ts - max(times)) / 86400.0) if times else 0.5
    weight = max((weights or {}).get(source, 1.0) for source in sources) if sources else 1.0
    return Ranking(outlets=len(outlets), freshness=freshness, weight=weight)


def make_story(
    outcome: FollowUp, summary: str, now_ts: float, weights: Mapping[str, float] | None
) -> Story:
    """The story a group's follow-up tells: headed, summarised and ranked; its links
    start with the report its headline comes from."""
    tellings = outcome.articles
    ranking = story_ranking(tellings, now_ts, weights)
    # The headline's report is the link it points to and the outlet credited first;
    # the id stays the group's lead's, stable across rebuilds.
    first, headline = headed(tellings, outcome.language, summary)
    linked = [*tellings[first : first + 1], *tellings[:first], *tellings[first + 1 :]]
    return Story(
        id=story_id(tellings),
        headline=headline,
        summary=summary,
        articles=tuple(StoryLink(a.id, a.outlet_name, a.title, a.url) for a in linked),
        score=ranking.total,
        published=max((a.published for a in tellings if a.published), default=None),
        image=next((a.image for a in linked if a.image), None),
        ranking=ranking,
        update_of=outcome.update_of,
    )
