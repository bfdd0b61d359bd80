"""Migration 0013 on a database of the 0012 schema holding subscribers and a sent
edition: everything delivered stays delivered, every subscriber is subscribed to
every edition (the ``*`` row), on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from digest.store.database import MIGRATIONS, open_store
from digest.store.ledger import Ledger
from tests.conftest import FIXED_NOW

PEOPLE = ("ana@mail.example", "ben@mail.example", "cy@mail.example")


def _at_0012(url: str) -> None:
    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0012")
        now = FIXED_NOW.isoformat() if connection.dialect.name == "postgresql" else FIXED_NOW
        for email in PEOPLE:
            connection.execute(
                text(
                    "INSERT INTO subscribers (email, name, timezone, topics, status, "
                    "created_at, updated_at) VALUES (:e, '', 'UTC', '', 'active', :t, :t)"
                ),
                {"e": email, "t": now},
            )
        connection.execute(
            text(
                "INSERT INTO editions (name, period, status, built_at, payload) "
                "VALUES ('morning', '2026-11-27', 'sent', :t, '{}')"
            ),
            {"t": now},
        )
        for email in PEOPLE:
            connection.execute(
                text(
                    "INSERT INTO deliveries (edition_id, email, state, attempts, updated_at) "
                    "SELECT id, :e, 'accepted', 1, :t FROM editions"
                ),
                {"e": email, "t": now},
            )
    engine.dispose()


def test_existing_subscribers_get_every_edition_and_keep_their_deliveries(
    database_url: str,
) -> None:
    _at_0012(database_url)
    store = open_store(database_url)
    try:
        for email in PEOPLE:
            assert store.subscriptions.of(email) == {"*": "active"}
        assert store.subscriptions.counts(["morning", "tech"]) == {"morning": 3, "tech": 3}
        with store.engine.connect() as conn:
            edition_id = conn.scalar(text("SELECT id FROM editions"))
        ledger = Ledger(store.engine)
        # Nothing delivered is delivered again: the sent edition adds no row.
        assert ledger.enqueue(edition_id, FIXED_NOW) == 0
        assert ledger.counts(edition_id) == {"accepted": 3}
    finally:
        store.close()
