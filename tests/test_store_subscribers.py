"""The subscriber store's part in the subscriber pages, on SQLite and PostgreSQL: a
subscriber's own preferences, pause, confirmed sign-ups, and what a CSV import keeps."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from digest.models import Edition, Subscriber, SubscriberStatus
from digest.store.database import Store, open_store
from tests.conftest import FIXED_NOW

ANA = Subscriber("ana@mail.example", "Ana", "Europe/Madrid", ())
BEN = Subscriber("ben@mail.example", "Ben", "Europe/London", ("Business",))
LATER = FIXED_NOW + timedelta(hours=1)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = open_store(database_url)
    opened.subscribers.upsert([ANA, BEN], FIXED_NOW)
    yield opened
    opened.close()


def test_get_returns_status_and_choice(store: Store) -> None:
    record = store.subscribers.get("BEN@mail.example")

    assert record is not None
    assert record.subscriber == BEN
    assert record.status == SubscriberStatus.ACTIVE
    assert record.preferences_set_at is None
    assert store.subscribers.get("nobody@mail.example") is None


def test_set_preferences_and_the_import_keeps_them(store: Store) -> None:
    assert store.subscribers.set_preferences(BEN.email, ("Sport",), "Asia/Tokyo", False, LATER)

    counts = store.subscribers.upsert([BEN, ANA], LATER)

    record = store.subscribers.get(BEN.email)
    assert record is not None
    assert record.subscriber.topics == ("Sport",)
    assert record.subscriber.timezone == "Asia/Tokyo"
    assert record.preferences_set_at == LATER
    assert (counts.updated, counts.unchanged) == (0, 2)


def test_import_still_updates_the_name_of_one_who_chose(store: Store) -> None:
    store.subscribers.set_preferences(BEN.email, ("Sport",), "Asia/Tokyo", False, LATER)

    counts = store.subscribers.upsert([Subscriber(BEN.email, "Benjamin", "UTC", ())], LATER)

    record = store.subscribers.get(BEN.email)
    assert counts.updated == 1
    assert record is not None
    assert record.subscriber == Subscriber(BEN.email, "Benjamin", "Asia/Tokyo", ("Sport",))


def test_paused_is_not_active_and_the_import_does_not_resume(store: Store) -> None:
    store.subscribers.set_preferences(ANA.email, (), "Europe/Madrid", True, LATER)
    store.subscribers.upsert([ANA, BEN], LATER)

    assert store.subscribers.status(ANA.email) == SubscriberStatus.PAUSED
    assert store.subscribers.count() == 1
    assert store.subscribers.timezones() == ["Europe/London"]
    edition_id = store.editions.save_draft(
        Edition("morning", "M", "M", "2026-11-27", FIXED_NOW, ())
    ).id
    assert store.ledger.enqueue(edition_id, LATER) == 1

    store.subscribers.set_preferences(ANA.email, (), "Europe/Madrid", False, LATER)
    assert store.subscribers.status(ANA.email) == SubscriberStatus.ACTIVE
    assert store.ledger.enqueue(edition_id, LATER) == 1


@pytest.mark.parametrize(
    "status", [s for s in SubscriberStatus if s.value not in ("active", "paused")]
)
def test_preferences_never_reactivate_a_stopped_subscriber(
    store: Store, status: SubscriberStatus
) -> None:
    store.subscribers.set_status(ANA.email, status, "event", FIXED_NOW)

    assert not store.subscribers.set_preferences(ANA.email, ("Sport",), "UTC", False, LATER)
    assert not store.subscribers.set_preferences("nobody@mail.example", (), "UTC", False, LATER)

    record = store.subscribers.get(ANA.email)
    assert record is not None and record.status == status
    assert record.subscriber == ANA and record.preferences_set_at is None


def test_set_status_only_from(store: Store) -> None:
    store.subscribers.set_status(ANA.email, SubscriberStatus.BOUNCED, "bounce", FIXED_NOW)
    only = {SubscriberStatus.UNSUBSCRIBED}

    assert not store.subscribers.set_status(
        ANA.email, SubscriberStatus.ACTIVE, "back", LATER, only_from=only
    )
    assert store.subscribers.status(ANA.email) == SubscriberStatus.BOUNCED
    store.subscribers.set_status(BEN.email, SubscriberStatus.UNSUBSCRIBED, "link", FIXED_NOW)
    assert store.subscribers.set_status(
        BEN.email, SubscriberStatus.ACTIVE, "back", LATER, only_from=only
    )
    assert store.subscribers.status(BEN.email) == SubscriberStatus.ACTIVE


def test_confirmed_signup_adds_a_new_subscriber(store: Store) -> None:
    new = Subscriber("New@mail.example", "New", "UTC", ("Culture",))

    assert store.subscribers.confirm_signup(new, LATER) is True

    record = store.subscribers.get("new@mail.example")
    assert record is not None
    assert record.subscriber == Subscriber("new@mail.example", "New", "UTC", ("Culture",))
    assert record.status == SubscriberStatus.ACTIVE
    assert record.preferences_set_at == LATER


@pytest.mark.parametrize("status", [s for s in SubscriberStatus if s.value != "active"])
def test_confirmed_signup_brings_back_a_known_subscriber(
    store: Store, status: SubscriberStatus
) -> None:
    store.subscribers.set_status(BEN.email, status, "whatever", FIXED_NOW)

    again = Subscriber(BEN.email, "", "UTC", ("Sport",))
    assert store.subscribers.confirm_signup(again, LATER) is False

    record = store.subscribers.get(BEN.email)
    assert record is not None
    assert record.status == SubscriberStatus.ACTIVE
    # Name and time zone kept (none given, and a sign-up has no time zone); sections chosen.
    assert record.subscriber == Subscriber(BEN.email, "Ben", "Europe/London", ("Sport",))
    assert record.preferences_set_at == LATER
