"""The delivery ledger and the subscriber table on a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from digest.models import DeliveryState, Edition, Subscriber, SubscriberStatus
from digest.store.database import Store, open_store
from tests.conftest import FIXED_NOW


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """The store on SQLite, and on PostgreSQL when available: the same code for both."""
    opened = open_store(database_url)
    yield opened
    opened.close()


def _edition_id(store: Store, period: str = "2026-11-27") -> int:
    edition = Edition("morning", "Morning", "Morning", period, FIXED_NOW, ())
    return store.editions.save_draft(edition).id


def _people(n: int) -> list[Subscriber]:
    return [
        Subscriber(f"p{i}@mail.example", f"P {i}", "UTC", ("Sport",) if i % 2 else ())
        for i in range(n)
    ]


def test_import_is_idempotent_and_updates_changes(store: Store) -> None:
    first = store.subscribers.upsert(_people(3), FIXED_NOW)
    assert (first.added, first.updated, first.unchanged) == (3, 0, 0)
    changed = [*_people(2), Subscriber("p2@mail.example", "Renamed", "Europe/Madrid")]
    second = store.subscribers.upsert(changed, FIXED_NOW)
    assert (second.added, second.updated, second.unchanged) == (0, 1, 2)
    assert store.subscribers.count() == 3


def test_import_never_reactivates_a_suppressed_subscriber(store: Store) -> None:
    store.subscribers.upsert(_people(1), FIXED_NOW)
    assert store.subscribers.set_status(
        "P0@mail.example", SubscriberStatus.UNSUBSCRIBED, "link", FIXED_NOW
    )
    store.subscribers.upsert(_people(1), FIXED_NOW)
    assert store.subscribers.status("p0@mail.example") == SubscriberStatus.UNSUBSCRIBED
    assert (
        store.subscribers.set_status(
            "nobody@mail.example", SubscriberStatus.BOUNCED, "x", FIXED_NOW
        )
        is False
    )


def test_enqueue_adds_each_active_subscriber_once(store: Store) -> None:
    store.subscribers.upsert(_people(5), FIXED_NOW)
    store.subscribers.set_status("p4@mail.example", SubscriberStatus.BOUNCED, "hard", FIXED_NOW)
    edition_id = _edition_id(store)
    assert store.ledger.enqueue(edition_id, FIXED_NOW) == 4
    assert store.ledger.enqueue(edition_id, FIXED_NOW) == 0
    store.subscribers.upsert(_people(6), FIXED_NOW)
    assert store.ledger.enqueue(edition_id, FIXED_NOW) == 1
    assert store.ledger.counts(edition_id) == {"pending": 5}


def test_claims_never_overlap(store: Store) -> None:
    store.subscribers.upsert(_people(5), FIXED_NOW)
    edition_id = _edition_id(store)
    store.ledger.enqueue(edition_id, FIXED_NOW)
    first = store.ledger.claim(edition_id, 3, "b1", FIXED_NOW)
    second = store.ledger.claim(edition_id, 3, "b2", FIXED_NOW)
    third = store.ledger.claim(edition_id, 3, "b3", FIXED_NOW)
    ids = [c.delivery_id for c in first + second]
    assert len(first) == 3 and len(second) == 2 and third == []
    assert len(set(ids)) == 5
    assert first[1].subscriber.topics == ("Sport",) and first[0].subscriber.name == "P 0"


def test_mark_only_changes_rows_still_sending(store: Store) -> None:
    store.subscribers.upsert(_people(2), FIXED_NOW)
    edition_id = _edition_id(store)
    store.ledger.enqueue(edition_id, FIXED_NOW)
    claimed = store.ledger.claim(edition_id, 2, "b1", FIXED_NOW)
    ids = [c.delivery_id for c in claimed]
    store.ledger.mark(ids, DeliveryState.ACCEPTED, FIXED_NOW, message_id="m1")
    store.ledger.mark(ids, DeliveryState.FAILED, FIXED_NOW, error="late")  # too late: no change
    rows = store.ledger.rows(edition_id)
    assert [(r.state, r.message_id, r.attempts) for r in rows] == [
        (DeliveryState.ACCEPTED, "m1", 1)
    ] * 2


def test_requeue_failed_and_ambiguous(store: Store) -> None:
    store.subscribers.upsert(_people(2), FIXED_NOW)
    edition_id = _edition_id(store)
    store.ledger.enqueue(edition_id, FIXED_NOW)
    a, b = store.ledger.claim(edition_id, 2, "b1", FIXED_NOW)
    store.ledger.mark([a.delivery_id], DeliveryState.FAILED, FIXED_NOW, error="503")
    store.ledger.mark([b.delivery_id], DeliveryState.AMBIGUOUS, FIXED_NOW, error="timeout")
    assert store.ledger.requeue(edition_id, [DeliveryState.FAILED], FIXED_NOW) == 1
    assert store.ledger.counts(edition_id) == {"pending": 1, "ambiguous": 1}
    assert store.ledger.requeue(edition_id, [DeliveryState.AMBIGUOUS], FIXED_NOW) == 1
    again = store.ledger.claim(edition_id, 5, "b2", FIXED_NOW)
    assert len(again) == 2
    assert {r.attempts for r in store.ledger.rows(edition_id)} == {2}


def test_in_flight_groups_by_batch_and_mark_batch_releases(store: Store) -> None:
    store.subscribers.upsert(_people(4), FIXED_NOW)
    edition_id = _edition_id(store)
    store.ledger.enqueue(edition_id, FIXED_NOW)
    send_at = FIXED_NOW + timedelta(minutes=15)
    first = store.ledger.claim(edition_id, 2, "sg-1", FIXED_NOW, send_at)
    store.ledger.claim(edition_id, 2, "local-2", FIXED_NOW)
    store.ledger.mark([first[0].delivery_id], DeliveryState.ACCEPTED, FIXED_NOW, message_id="m")
    flights = {f.batch_id: f for f in store.ledger.in_flight(edition_id)}
    assert set(flights) == {"sg-1", "local-2"}
    assert flights["sg-1"].send_at == send_at and len(flights["sg-1"].ids) == 1
    # Cancelling sg-1 releases both its rows, the accepted one included.
    assert store.ledger.mark_batch("sg-1", DeliveryState.PENDING, FIXED_NOW) == 2
    assert store.ledger.counts(edition_id) == {"pending": 2, "sending": 2}


def test_suppress_inactive_pending_rows(store: Store) -> None:
    store.subscribers.upsert(_people(2), FIXED_NOW)
    edition_id = _edition_id(store)
    store.ledger.enqueue(edition_id, FIXED_NOW)
    store.subscribers.set_status("p1@mail.example", SubscriberStatus.COMPLAINED, "spam", FIXED_NOW)
    assert store.ledger.suppress_inactive(edition_id, FIXED_NOW) == 1
    assert store.ledger.counts(edition_id) == {"pending": 1, "suppressed": 1}


def test_webhook_events_are_recorded_once(store: Store) -> None:
    assert store.subscribers.record_event("e1", "bounce", "A@mail.example", FIXED_NOW) is True
    assert store.subscribers.record_event("e1", "bounce", "a@mail.example", FIXED_NOW) is False


def test_topic_choices(store: Store) -> None:
    store.subscribers.upsert(_people(4), FIXED_NOW)
    assert sorted(store.subscribers.topic_choices()) == [(), ("Sport",)]
