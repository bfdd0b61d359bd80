"""The database: articles, editions and the delivery ledger, through SQLAlchemy.

``open_store(url)`` creates or upgrades the schema with Alembic, then hands back a
:class:`Store`. ``sqlite://`` (in memory) serves unit tests; a file URL serves users.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, func, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError
from sqlalchemy.pool import StaticPool

from digest.errors import StoreError
from digest.models import Article, Edition, SentStory, StoryRef
from digest.serialise import edition_from_dict, edition_to_dict
from digest.store.desk import EditionEdits, Editors
from digest.store.health import HealthLog
from digest.store.ledger import Ledger
from digest.store.runs import Leases, RunLog
from digest.store.schema import articles, edition_articles, editions
from digest.store.subscribers import SubscriberStore

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True, slots=True)
class StoredEdition:
    id: int
    status: str  # draft | approved | sending | sent
    edition: Edition
    approved_by: str | None = None
    approved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ArchivedEdition:
    """A sent edition, as the public archive lists it."""

    name: str
    period: str
    built_at: datetime


def open_store(url: str) -> Store:
    """Connect, create the SQLite file's folder if needed, and migrate to the latest schema."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"bad database URL {url!r}: {exc}") from None
    kwargs: dict[str, object] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        else:
            kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        migrate(engine)
    except OperationalError as exc:
        raise StoreError(
            f"cannot open database {parsed.render_as_string(hide_password=True)}: {exc.orig}"
        ) from None
    return Store(engine)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Store:
    """Queries of the pipeline. Each method is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.ledger = Ledger(engine)
        self.subscribers = SubscriberStore(engine)
        self.runs = RunLog(engine)
        self.leases = Leases(engine)
        self.editors = Editors(engine)
        self.edits = EditionEdits(engine)
        self.health = HealthLog(engine)

    def close(self) -> None:
        self.engine.dispose()

    # -- articles ---------------------------------------------------------------

    def add_articles(self, items: Iterable[Article], now: datetime) -> int:
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

    def count_articles(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(articles)) or 0)

    def articles_for_edition(self, name: str, since: datetime) -> list[Article]:
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

    # -- editions ---------------------------------------------------------------

    def get_edition(self, name: str, period: str) -> StoredEdition | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(editions).where(editions.c.name == name, editions.c.period == period)
            ).first()
        return _stored(row) if row else None

    def latest_edition(self, name: str) -> StoredEdition | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(editions)
                .where(editions.c.name == name)
                .order_by(editions.c.period.desc())
                .limit(1)
            ).first()
        return _stored(row) if row else None

    def save_draft(self, edition: Edition) -> StoredEdition:
        """Insert the edition, or replace the draft of the same name and period.

        An edition already sending or sent is never replaced: it is returned as is,
        so a re-run resumes its delivery instead of building a different one.
        """
        payload = _payload(edition)
        article_ids = list(
            dict.fromkeys(link.article_id for s in edition.stories for link in s.articles)
        )
        with self.engine.begin() as conn:
            row = conn.execute(
                select(editions).where(
                    editions.c.name == edition.name, editions.c.period == edition.period
                )
            ).first()
            if row is not None and row.status != "draft":
                return _stored(row)
            if row is None:
                try:
                    edition_id = conn.execute(
                        insert(editions).values(
                            name=edition.name,
                            period=edition.period,
                            status="draft",
                            built_at=edition.built_at,
                            payload=payload,
                        )
                    ).inserted_primary_key[0]  # type: ignore[index]
                except IntegrityError as exc:
                    raise StoreError(
                        f"edition {edition.key} was created concurrently: {exc.orig}"
                    ) from None
            else:
                edition_id = row.id
                conn.execute(
                    update(editions)
                    .where(editions.c.id == edition_id)
                    .values(built_at=edition.built_at, payload=payload)
                )
                conn.execute(
                    edition_articles.delete().where(edition_articles.c.edition_id == edition_id)
                )
            if article_ids:
                conn.execute(
                    insert(edition_articles),
                    [{"edition_id": edition_id, "article_id": a} for a in article_ids],
                )
        return StoredEdition(id=int(edition_id), status="draft", edition=edition)

    def edition_by_id(self, edition_id: int) -> StoredEdition | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(editions).where(editions.c.id == edition_id)).first()
        return _stored(row) if row else None

    def list_editions(self, limit: int = 50) -> list[StoredEdition]:
        """The newest editions of every name, newest period first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(editions)
                .order_by(editions.c.period.desc(), editions.c.name, editions.c.id.desc())
                .limit(limit)
            ).all()
        return [_stored(row) for row in rows]

    def approve(
        self, edition_id: int, editor: str, now: datetime, version: str | None = None
    ) -> bool:
        """Draft -> approved; False when the edition is not a draft any more or, with
        a ``version`` (:func:`edition_version` of what the editor saw), when it changed
        since."""
        with self.engine.begin() as conn:
            query = update(editions).where(
                editions.c.id == edition_id, editions.c.status == "draft"
            )
            if version is not None:
                payload = conn.scalar(select(editions.c.payload).where(editions.c.id == edition_id))
                if payload is None or _version(payload) != version:
                    return False
                query = query.where(editions.c.payload == payload)
            result = conn.execute(
                query.values(status="approved", approved_at=now, approved_by=editor)
            )
        return bool(result.rowcount)

    def start_sending(self, stored: StoredEdition) -> bool:
        """Draft or approved -> sending, only if the stored edition is still the one
        ``stored`` holds (the one just rendered): an editor's change made meanwhile
        is never lost behind a send of the older version."""
        payload = _payload(stored.edition)
        with self.engine.begin() as conn:
            result = conn.execute(
                update(editions)
                .where(
                    editions.c.id == stored.id,
                    editions.c.status == stored.status,
                    editions.c.payload == payload,
                )
                .values(status="sending")
            )
        return bool(result.rowcount)

    def reopen(self, edition_id: int) -> bool:
        """Approved -> draft (an editor changed it again); drafts stay drafts. False
        once sending or sent: those never change."""
        with self.engine.begin() as conn:
            conn.execute(
                update(editions)
                .where(editions.c.id == edition_id, editions.c.status == "approved")
                .values(status="draft", approved_at=None, approved_by=None)
            )
            status = conn.scalar(select(editions.c.status).where(editions.c.id == edition_id))
        return status == "draft"

    def edition_status(self, name: str, period: str) -> str | None:
        with self.engine.connect() as conn:
            value = conn.scalar(
                select(editions.c.status).where(
                    editions.c.name == name, editions.c.period == period
                )
            )
        return str(value) if value is not None else None

    def sent_editions(self, limit: int = 1000) -> list[ArchivedEdition]:
        """Sent editions, newest period first (the public archive)."""
        query = (
            select(editions.c.name, editions.c.period, editions.c.built_at)
            .where(editions.c.status == "sent")
            .order_by(editions.c.period.desc(), editions.c.name)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [ArchivedEdition(r.name, r.period, r.built_at) for r in conn.execute(query)]

    def set_edition_status(self, edition_id: int, status: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(editions).where(editions.c.id == edition_id).values(status=status))


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


def edition_version(stored: StoredEdition) -> str:
    """A short fingerprint of an edition's content, for "approve what I saw"."""
    return _version(_payload(stored.edition))


def _payload(edition: Edition) -> str:
    """The edition as the database keeps it. One serialisation: ``start_sending``
    compares it byte for byte with what ``save_draft`` stored."""
    return json.dumps(edition_to_dict(edition), ensure_ascii=False)


def _version(payload: str) -> str:
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def _stored(row: object) -> StoredEdition:
    data = json.loads(row.payload)  # type: ignore[attr-defined]
    return StoredEdition(
        id=int(row.id),  # type: ignore[attr-defined]
        status=str(row.status),  # type: ignore[attr-defined]
        edition=edition_from_dict(data),
        approved_by=row.approved_by,  # type: ignore[attr-defined]
        approved_at=row.approved_at,  # type: ignore[attr-defined]
    )
