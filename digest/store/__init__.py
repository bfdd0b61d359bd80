"""The database: articles, editions and the delivery ledger, through SQLAlchemy.

``open_store(url)`` creates or upgrades the schema with Alembic, then hands back a
:class:`Store`. ``sqlite://`` (in memory) serves unit tests; a file URL serves users.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, func, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError
from sqlalchemy.pool import StaticPool

from digest.errors import StoreError
from digest.models import Article, Edition
from digest.serialise import edition_from_dict, edition_to_dict
from digest.store.ledger import Ledger
from digest.store.runs import Leases, RunLog
from digest.store.schema import articles, edition_articles, editions
from digest.store.subscribers import SubscriberStore

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True, slots=True)
class StoredEdition:
    id: int
    status: str  # draft | sending | sent
    edition: Edition


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
                    }
                )
            if rows:
                conn.execute(insert(articles), rows)
                new = len(rows)
        return new

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
            return [
                Article(
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
                )
                for row in conn.execute(query)
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
        payload = json.dumps(edition_to_dict(edition), ensure_ascii=False)
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

    def set_edition_status(self, edition_id: int, status: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(editions).where(editions.c.id == edition_id).values(status=status))


def _stored(row: object) -> StoredEdition:
    data = json.loads(row.payload)  # type: ignore[attr-defined]
    return StoredEdition(id=int(row.id), status=str(row.status), edition=edition_from_dict(data))  # type: ignore[attr-defined]
