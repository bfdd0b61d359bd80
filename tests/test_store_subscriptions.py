"""Subscriptions written with the subscriber, on SQLite and PostgreSQL: a new
subscriber of an import with editions, or of a sign-up to some newsletters, is never
subscribed to every edition, not even for a moment, and a failure while writing the
editions leaves nobody subscribed to what they did not choose.

A trigger in the database notes every subscription row ever written, so the test
sees what a send running between two transactions would have seen."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from digest.audience.formats import FORMATS
from digest.audience.importing import write_import
from digest.audience.imports import ImportFile
from digest.errors import StoreError
from digest.models import ImportedSubscriber, Subscriber, SubscriberStatus
from digest.store.database import Store, open_store
from tests.conftest import FIXED_NOW

CONFIGURED = ["morning", "tech"]
KEY = b"k" * 32


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = open_store(database_url)
    yield opened
    opened.close()


def _note_every_row(store: Store) -> None:
    """A trigger copies each subscription row inserted or updated into ``seen``."""
    with store.engine.begin() as conn:
        conn.execute(text("CREATE TABLE seen (subscriber_id INTEGER, edition VARCHAR(100))"))
        if conn.dialect.name == "sqlite":
            for event in ("INSERT", "UPDATE"):
                conn.execute(
                    text(
                        f"CREATE TRIGGER note_{event.lower()} AFTER {event} ON subscriptions "
                        "BEGIN INSERT INTO seen VALUES (NEW.subscriber_id, NEW.edition); END"
                    )
                )
            return
        conn.execute(
            text(
                "CREATE FUNCTION note_row() RETURNS trigger AS $$ BEGIN "
                "INSERT INTO seen VALUES (NEW.subscriber_id, NEW.edition); RETURN NEW; "
                "END $$ LANGUAGE plpgsql"
            )
        )
        conn.execute(
            text(
                "CREATE TRIGGER note_row AFTER INSERT OR UPDATE ON subscriptions "
                "FOR EACH ROW EXECUTE FUNCTION note_row()"
            )
        )


def _fail_on_a_named_edition(store: Store) -> None:
    """A crash while the editions are written: inserting a named edition's row fails."""
    with store.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER crash BEFORE INSERT ON subscriptions "
                    "WHEN NEW.edition != '*' BEGIN SELECT RAISE(ABORT, 'injected crash'); END"
                )
            )
            return
        conn.execute(
            text(
                "CREATE FUNCTION crash() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'injected crash'; END $$ LANGUAGE plpgsql"
            )
        )
        conn.execute(
            text(
                "CREATE TRIGGER crash BEFORE INSERT ON subscriptions FOR EACH ROW "
                "WHEN (NEW.edition <> '*') EXECUTE FUNCTION crash()"
            )
        )


def _seen(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return sorted(conn.scalars(text("SELECT edition FROM seen")))


def _file(*records: ImportedSubscriber) -> ImportFile:
    own = FORMATS[0]
    return ImportFile(own, own.label, len(records), tuple(records), (), ())


def test_an_import_with_edition_never_subscribes_a_new_address_to_everything(
    store: Store,
) -> None:
    _note_every_row(store)
    read = _file(ImportedSubscriber("ana@mail.example"), ImportedSubscriber("ben@mail.example"))
    written = write_import(store, KEY, read, FIXED_NOW, edition="tech")
    assert written.result.counts.added == 2 and written.subscriptions == 2
    assert _seen(store) == ["tech", "tech"]  # no '*', ever
    assert store.subscriptions.of("ana@mail.example") == {"tech": "active"}


def test_an_editions_column_never_subscribes_a_new_address_to_everything(
    store: Store,
) -> None:
    _note_every_row(store)
    read = _file(
        ImportedSubscriber("ana@mail.example", editions=("morning",)),
        ImportedSubscriber("ben@mail.example", editions=("morning", "tech")),
        ImportedSubscriber("cy@mail.example"),  # unsaid: every edition
    )
    write_import(store, KEY, read, FIXED_NOW)
    assert _seen(store) == ["*", "morning", "morning", "tech"]
    assert store.subscriptions.of("ana@mail.example") == {"morning": "active"}
    assert store.subscriptions.of("ben@mail.example") == {"morning": "active", "tech": "active"}
    assert store.subscriptions.of("cy@mail.example") == {"*": "active"}


def test_a_known_subscriber_gains_the_editions_an_import_names(store: Store) -> None:
    write_import(store, KEY, _file(ImportedSubscriber("ana@mail.example")), FIXED_NOW)
    store.subscriptions.set("ana@mail.example", "tech", "unsubscribed", FIXED_NOW)
    write_import(store, KEY, _file(ImportedSubscriber("ben@mail.example")), FIXED_NOW)
    again = _file(
        ImportedSubscriber("ana@mail.example", editions=("tech",)),  # their unsubscribe stands
        ImportedSubscriber("ben@mail.example", editions=("morning",)),  # '*' has it
    )
    assert write_import(store, KEY, again, FIXED_NOW).subscriptions == 0
    assert store.subscriptions.of("ana@mail.example") == {"*": "active", "tech": "unsubscribed"}
    assert store.subscriptions.of("ben@mail.example") == {"*": "active"}


def test_a_crash_while_writing_an_imports_editions_leaves_no_subscriber(store: Store) -> None:
    _fail_on_a_named_edition(store)
    read = _file(ImportedSubscriber("ana@mail.example"))
    with pytest.raises(DBAPIError, match="injected crash"):
        write_import(store, KEY, read, FIXED_NOW, edition="tech")
    assert store.subscribers.get("ana@mail.example") is None
    assert store.subscriptions.of("ana@mail.example") == {}


def test_a_sign_up_to_one_newsletter_never_subscribes_to_everything(store: Store) -> None:
    _note_every_row(store)
    person = Subscriber("ana@mail.example", "Ana")
    assert store.subscribers.confirm_signup(person, FIXED_NOW, ["tech"], CONFIGURED)
    assert "*" not in _seen(store)
    assert store.subscriptions.of("ana@mail.example") == {
        "morning": "unsubscribed",
        "tech": "active",
    }


def test_a_crash_while_writing_a_sign_ups_editions_leaves_no_subscriber(store: Store) -> None:
    _fail_on_a_named_edition(store)
    person = Subscriber("ana@mail.example", "Ana")
    with pytest.raises((DBAPIError, StoreError)):
        store.subscribers.confirm_signup(person, FIXED_NOW, ["tech"], CONFIGURED)
    assert store.subscribers.get("ana@mail.example") is None


def test_one_who_had_stopped_gets_exactly_the_newsletters_they_sign_up_to(
    store: Store,
) -> None:
    # Unsubscribed from everything, their '*' row still there: a sign-up to tech
    # must not bring morning back with it.
    person = Subscriber("ana@mail.example", "Ana")
    store.subscribers.confirm_signup(person, FIXED_NOW, CONFIGURED, CONFIGURED)
    store.subscribers.set_status(person.email, SubscriberStatus.UNSUBSCRIBED, "link", FIXED_NOW)
    assert not store.subscribers.confirm_signup(person, FIXED_NOW, ["tech"], CONFIGURED)
    assert store.subscriptions.of(person.email) == {"morning": "unsubscribed", "tech": "active"}
    # One still subscribed to morning adds tech to it.
    ben = Subscriber("ben@mail.example", "Ben")
    store.subscribers.confirm_signup(ben, FIXED_NOW, ["morning"], CONFIGURED)
    store.subscribers.confirm_signup(ben, FIXED_NOW, ["tech"], CONFIGURED)
    assert store.subscriptions.of(ben.email) == {"morning": "active", "tech": "active"}
