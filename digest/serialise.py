"""Editions to and from plain JSON data: what the database keeps, what `digest build
--out` writes (the format of ../shared/eval: sections -> stories -> article ids)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from digest.models import Edition, Ranking, Section, Story, StoryLink, StoryRef


def edition_to_dict(edition: Edition) -> dict[str, Any]:
    return {
        "name": edition.name,
        "title": edition.title,
        "subject": edition.subject,
        "period": edition.period,
        "timezone": edition.timezone,
        "language": edition.language,
        "built_at": edition.built_at.isoformat(),
        "sections": [
            {
                "name": section.name,
                "description": section.description,
                "stories": [story_to_dict(story) for story in section.stories],
            }
            for section in edition.sections
        ],
    }


def story_to_dict(story: Story) -> dict[str, Any]:
    """One story as in the edition JSON (editors' saved copies use it too)."""
    return {
        "id": story.id,
        "headline": story.headline,
        "summary": story.summary,
        "score": round(story.score, 4),
        "ranking": _ranking_to_dict(story.ranking) if story.ranking else None,
        "update_of": (
            {"edition": story.update_of.edition, "story": story.update_of.story}
            if story.update_of
            else None
        ),
        "published": story.published.isoformat() if story.published else None,
        "image": story.image,
        "articles": [link.article_id for link in story.articles],
        "sources": [
            {"id": link.article_id, "source": link.source, "title": link.title, "url": link.url}
            for link in story.articles
        ],
    }


def _ranking_to_dict(ranking: Ranking) -> dict[str, Any]:
    """Why the story ranks where it does: total = (outlets + freshness) * weight."""
    return {
        "outlets": ranking.outlets,
        "freshness": round(ranking.freshness, 4),
        "weight": ranking.weight,
        "total": round(ranking.total, 4),
    }


def edition_from_dict(data: dict[str, Any]) -> Edition:
    return Edition(
        name=data["name"],
        title=data["title"],
        subject=data["subject"],
        period=data["period"],
        timezone=data.get("timezone", "UTC"),
        language=data.get("language", "en"),  # editions stored before languages were told
        built_at=datetime.fromisoformat(data["built_at"]),
        sections=tuple(
            Section(
                name=s["name"],
                description=s.get("description", ""),
                stories=tuple(story_from_dict(st) for st in s["stories"]),
            )
            for s in data["sections"]
        ),
    )


def story_from_dict(data: dict[str, Any]) -> Story:
    return Story(
        id=data["id"],
        headline=data["headline"],
        summary=data["summary"],
        score=float(data.get("score", 0.0)),
        published=datetime.fromisoformat(data["published"]) if data.get("published") else None,
        image=data.get("image"),
        articles=tuple(
            StoryLink(article_id=s["id"], source=s["source"], title=s["title"], url=s.get("url"))
            for s in data["sources"]
        ),
        # Editions stored before rankings and updates were recorded have neither.
        ranking=(
            Ranking(
                outlets=int(ranking["outlets"]),
                freshness=float(ranking["freshness"]),
                weight=float(ranking.get("weight", 1.0)),
            )
            if (ranking := data.get("ranking"))
            else None
        ),
        update_of=(
            StoryRef(edition=str(ref["edition"]), story=str(ref["story"]))
            if (ref := data.get("update_of"))
            else None
        ),
    )
