"""Articles in the database: stored once by id, read for an edition's window and
with the stories earlier editions carried."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select

from digest.models import Article, SentStory, StoryRef
from digest.serialise import edition_from_dict
from digest.store.schema import articles, edition_articles, editions


class ArticleStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, items: Iterable[Article], now: datetime) -> int:
        """Store articles not seen before (by id); return how many were new."""
        new = 0
        with self.engine.begin() as conn:
            batch = list(items)
            if not batch:
                return 0
            known = set(
                conn.scalars(select(articles.c.id).where(articles.c.id.in_([a.id for a in batch])))
            )
            rows = []
            for article in batch:
                if article.id in known:
                    continue
                known.add(article.id)
                rows.append(
                    {
                        "id": article.id,
                        "source": article.source,
                        "url": article.url,
                        "title": article.title,
                        "text": article.text,
                        "author": article.author,
                        "credit": article.credit,
                        "topic_hint": article.topic_hint,
                        "published": article.published,
                        "collected_at": now,
                        "image": article.image,
                        "language": article.language,
                    }
                )
            if rows:
                conn.execute(insert(articles), rows)
                new = len(rows)
        return new

    def recent_urls(self, sources: Iterable[str], since: datetime) -> dict[str, set[str]]:
        """The links of articles collected since ``since``, by source: pages a
        full-text source need not fetch again."""
        names = list(sources)
        if not names:
            return {}
        query = select(articles.c.source, articles.c.url).where(
            articles.c.collected_at >= since,
            articles.c.source.in_(names),
            articles.c.url.is_not(None),
        )
        found: dict[str, set[str]] = {}
        with self.engine.connect() as conn:
            for source, url in conn.execute(query):
                found.setdefault(str(source), set()).add(str(url))
        return found

    def for_edition(self, name: str, since: datetime) -> list[Article]:
        """Articles collected since ``since`` that no sending or sent edition of
        ``name`` has carried yet."""
        carried = (
            select(edition_articles.c.article_id)
            .join(editions, editions.c.id == edition_articles.c.edition_id)
            .where(editions.c.name == name, editions.c.status != "draft")
        )
        query = (
            select(articles)
            .where(articles.c.collected_at >= since, articles.c.id.not_in(carried))
            .order_by(articles.c.collected_at, articles.c.id)
        )
        with self.engine.connect() as conn:
            return [_article(row) for row in conn.execute(query)]

    def sent_stories(self, name: str, since: datetime) -> list[SentStory]:
        """The stories that editions of ``name`` built since ``since`` and no longer
        drafts carried, with their articles: oldest edition first."""
        query = (
            select(editions.c.payload)
            .where(
                editions.c.name == name,
                editions.c.status != "draft",
                editions.c.built_at >= since,
            )
            .order_by(editions.c.built_at, editions.c.id)
        )
        carried: list[tuple[StoryRef, list[str]]] = []
        with self.engine.connect() as conn:
            for payload in conn.scalars(query):
                edition = edition_from_dict(json.loads(payload))
                carried.extend(
                    (StoryRef(edition.key, story.id), [link.article_id for link in story.articles])
                    for story in edition.stories
                )
            wanted = sorted({i for _, ids in carried for i in ids})
            found: dict[str, Article] = {}
            for start in range(0, len(wanted), 500):  # bound the IN list
                chunk = wanted[start : start + 500]
                for row in conn.execute(select(articles).where(articles.c.id.in_(chunk))):
                    found[row.id] = _article(row)
        return [
            SentStory(ref, tuple(found[i] for i in ids if i in found))
            for ref, ids in carried
            if any(i in found for i in ids)
        ]


def _article(row: Any) -> Article:
    return Article(
        id=row.id,
        source=row.source,
        title=row.title,
        text=row.text,
        url=row.url,
        author=row.author,
        published=row.published,
        credit=row.credit,
        topic_hint=row.topic_hint,
        image=row.image,
        language=row.language,
    )
