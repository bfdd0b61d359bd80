"""Editions in the database: one per (name, period), a draft until approved or sent.
Each is kept as its JSON payload, with the ids of the articles it carries."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from digest.errors import StoreError
from digest.models import Edition
from digest.serialise import edition_from_dict, edition_to_dict
from digest.store.schema import edition_articles, editions


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


class EditionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, name: str, period: str) -> StoredEdition | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(editions).where(editions.c.name == name, editions.c.period == period)
            ).first()
        return _stored(row) if row else None

    def latest(self, name: str) -> StoredEdition | None:
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

    def by_id(self, edition_id: int) -> StoredEdition | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(editions).where(editions.c.id == edition_id)).first()
        return _stored(row) if row else None

    def recent(self, limit: int = 50) -> list[StoredEdition]:
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

    def status(self, name: str, period: str) -> str | None:
        with self.engine.connect() as conn:
            value = conn.scalar(
                select(editions.c.status).where(
                    editions.c.name == name, editions.c.period == period
                )
            )
        return str(value) if value is not None else None

    def sent(self, limit: int = 1000) -> list[ArchivedEdition]:
        """Sent editions, newest period first (the public archive)."""
        query = (
            select(editions.c.name, editions.c.period, editions.c.built_at)
            .where(editions.c.status == "sent")
            .order_by(editions.c.period.desc(), editions.c.name)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [ArchivedEdition(r.name, r.period, r.built_at) for r in conn.execute(query)]

    def sent_of(self, name: str, limit: int = 20) -> list[StoredEdition]:
        """One edition's newest sent periods, newest first (its feeds)."""
        query = (
            select(editions)
            .where(editions.c.name == name, editions.c.status == "sent")
            .order_by(editions.c.period.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [_stored(row) for row in conn.execute(query)]

    def set_status(self, edition_id: int, status: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(editions).where(editions.c.id == edition_id).values(status=status))


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
