"""Articles in the database: stored once, read for an edition's window and with the
stories earlier editions carried.

An article is stored unless it is known: one with its id is stored (the same item
again), or one with its canonical URL from another source (a copy in another feed),
or one with its URL from its own source where either has no GUID (the feed dropped
them; or the stored one came before GUIDs were kept, then with the same title). Two
items of one source with one link and different GUIDs are two articles (see
:mod:`digest.cleaning.articles`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
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
        """Store the articles that are not known (see the module docstring); return how
        many were new."""
        new = 0
        with self.engine.begin() as conn:
            batch = list(items)
            if not batch:
                return 0
            known: set[str] = set()
            by_url: dict[str, list[_Stored]] = {}
            for chunk in _chunks([a.id for a in batch]):
                known.update(conn.scalars(select(articles.c.id).where(articles.c.id.in_(chunk))))
            for chunk in _chunks(list({a.url for a in batch if a.url})):
                query = select(
                    articles.c.url, articles.c.source, articles.c.guid, articles.c.title
                ).where(articles.c.url.in_(chunk))
                for row in conn.execute(query):
                    by_url.setdefault(row.url, []).append(_Stored(row.source, row.guid, row.title))
            rows = []
            for article in batch:
                if article.id in known or _copy(article, by_url.get(article.url or "", ())):
                    continue
                known.add(article.id)
                if article.url:
                    by_url.setdefault(article.url, []).append(
                        _Stored(article.source, article.guid, article.title)
                    )
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
                        "outlet": article.outlet,
                        "guid": article.guid,
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


@dataclass(frozen=True, slots=True)
class _Stored:
    """What decides whether an article with the same link is the same article."""

    source: str
    guid: str | None
    title: str


def _copy(article: Article, stored: Iterable[_Stored]) -> bool:
    """Whether an article stored with ``article``'s link is ``article`` itself."""
    return any(
        s.source != article.source
        or article.guid is None
        or (s.guid is None and s.title == article.title)
        for s in stored
    )


def _chunks(values: list[str], size: int = 500) -> Iterator[list[str]]:
    """``values`` in slices that bound an IN list."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


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
        guid=row.guid,
        outlet=row.outlet,
    )
