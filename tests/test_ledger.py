"""The delivery ledger and the subscriber table on a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

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


def test_claim_takes_the_least_tried_first_and_skips_rows_in_back_off(store: Store) -> None:
    store.subscribers.upsert(_people(6), FIXED_NOW)
    edition_id = _edition_id(store)
    store.ledger.enqueue(edition_id, FIXED_NOW)
    first = store.ledger.claim(edition_id, 3, "b1", FIXED_NOW)  # p0, p1, p2: tried once
    ids = [c.delivery_id for c in first]
    later = FIXED_NOW + timedelta(minutes=1)
    # p0 back at once; p1 waits a minute (a back-off); p2 stays in flight.
    store.ledger.release(ids[:1], FIXED_NOW, FIXED_NOW, "resubmitted", "b1")
    store.ledger.release(ids[1:2], FIXED_NOW, later, "resubmitted", "b1")
    # The never-tried ones first, by id; p0 (tried once) after them; p1 not yet.
    second = store.ledger.claim(edition_id, 3, "b2", FIXED_NOW)
    assert [c.subscriber.email for c in second] == [
        "p3@mail.example",
        "p4@mail.example",
        "p5@mail.example",
    ]
    rest = store.ledger.claim(edition_id, 10, "b2b", FIXED_NOW)
    assert [c.subscriber.email for c in rest] == ["p0@mail.example"]
    assert store.ledger.next_attempt(edition_id, 5) == later
    assert store.ledger.claim(edition_id, 10, "b3", FIXED_NOW + timedelta(seconds=59)) == []
    third = store.ledger.claim(edition_id, 10, "b4", later)
    assert [c.subscriber.email for c in third] == ["p1@mail.example"]


def test_a_row_at_the_attempt_cap_is_not_claimed_and_gives_up(store: Store) -> None:
    store.subscribers.upsert(_people(2), FIXED_NOW)
    edition_id = _edition_id(store)
    store.ledger.enqueue(edition_id, FIXED_NOW)
    for attempt in range(3):
        [one, _] = store.ledger.claim(edition_id, 2, f"b{attempt}", FIXED_NOW, max_attempts=3)
        store.ledger.release(
            [one.delivery_id, _.delivery_id], FIXED_NOW, FIXED_NOW, "again", f"b{attempt}"
        )
    assert store.ledger.claim(edition_id, 2, "b9", FIXED_NOW, max_attempts=3) == []
    assert store.ledger.give_up(edition_id, 3, FIXED_NOW) == 2
    rows = store.ledger.rows(edition_id)
    assert {(r.state, r.attempts, r.error) for r in rows} == {
        (DeliveryState.FAILED, 3, "gave up after 3 attempts: again")  # the last error kept
    }


def test_rows_tried_before_are_claimed_in_halves_while_the_provider_takes_the_edition(
    store: Store,
) -> None:
    """A batch failing again and again while others go through holds a recipient the
    provider fails on: its rows come back in ever smaller claims, so that one ends
    alone and the others get through."""
    store.subscribers.upsert(_people(8), FIXED_NOW)
    edition_id = _edition_id(store)
    store.ledger.enqueue(edition_id, FIXED_NOW)
    failing = store.ledger.claim(edition_id, 4, "b1", FIXED_NOW)  # p0-p3
    store.ledger.release([c.delivery_id for c in failing], FIXED_NOW, FIXED_NOW, "timeout", "b1")
    # Nothing accepted yet: an outage, not one recipient; the batch stays whole.
    assert len(store.ledger.claim(edition_id, 4, "b2", FIXED_NOW)) == 4  # p4-p7, fresh
    again = store.ledger.claim(edition_id, 4, "b3", FIXED_NOW)
    assert len(again) == 4
    store.ledger.release([c.delivery_id for c in again], FIXED_NOW, FIXED_NOW, "timeout", "b3")
    fresh = next(r for r in store.ledger.in_flight(edition_id) if r.batch_id == "b2")
    store.ledger.mark(list(fresh.ids), DeliveryState.ACCEPTED, FIXED_NOW, message_id="m")
    # The provider takes this edition: rows tried twice come back four times smaller.
    halves = store.ledger.claim(edition_id, 4, "b4", FIXED_NOW)
    assert [c.subscriber.email for c in halves] == ["p0@mail.example"]


def test_a_late_acceptance_of_a_cancelled_batch_leaves_its_released_rows(store: Store) -> None:
    """Process A's scheduled batch was cancelled and its rows released by the process
    that took the edition over; A's answer comes late: the provider holds nothing for
    those rows any more, so they stay as they are (pending, or claimed again)."""
    store.subscribers.upsert(_people(4), FIXED_NOW)
    edition_id = _edition_id(store)
    store.ledger.enqueue(edition_id, FIXED_NOW)
    send_at = FIXED_NOW + timedelta(minutes=20)
    claimed = store.ledger.claim(edition_id, 4, "sg-a", FIXED_NOW, send_at, holder="a")
    ids = [c.delivery_id for c in claimed]
    store.ledger.release(ids, FIXED_NOW, FIXED_NOW, "left in flight", "sg-a")
    retaken = store.ledger.claim(edition_id, 2, "sg-b", FIXED_NOW, send_at, holder="b")
    # A's late answer, and A releasing after its own timeout: neither touches B's rows.
    store.ledger.mark(ids, DeliveryState.ACCEPTED, FIXED_NOW, message_id="late", batch_id="sg-a")
    store.ledger.release(ids, FIXED_NOW, FIXED_NOW, "timeout", "sg-a")
    store.ledger.mark(ids, DeliveryState.FAILED, FIXED_NOW, error="late", batch_id="sg-a")
    assert store.ledger.counts(edition_id) == {"sending": 2, "pending": 2}
    b_ids = [c.delivery_id for c in retaken]
    store.ledger.mark(b_ids, DeliveryState.ACCEPTED, FIXED_NOW, message_id="b", batch_id="sg-b")
    assert store.ledger.counts(edition_id) == {"accepted": 2, "pending": 2}
    # An immediate batch's acceptance is recorded whatever its rows became meanwhile.
    local = store.ledger.claim(edition_id, 4, "local-c", FIXED_NOW)  # tried once: halved
    local_ids = [c.delivery_id for c in local]
    store.ledger.mark(local_ids, DeliveryState.AMBIGUOUS, FIXED_NOW, error="in flight at a crash")
    store.ledger.mark(local_ids, DeliveryState.ACCEPTED, FIXED_NOW, message_id="c")
    assert store.ledger.counts(edition_id) == {"accepted": 4}


def test_recovery_finds_only_rows_whose_claimer_is_gone(store: Store) -> None:
    store.subscribers.upsert(_people(6), FIXED_NOW)
    edition_id = _edition_id(store)
    store.ledger.enqueue(edition_id, FIXED_NOW)
    now = datetime.now(UTC)
    gone = {"host:111:dead"}
    store.ledger.gone = lambda holder: holder in gone
    for batch, holder in [
        ("b-legacy", None),  # claimed before claims named their claimer
        ("b-live", "host:2:live"),  # holds the edition's lease
        ("b-lapsed", "host:3:lapsed"),  # alive, but its lease was taken over
        ("b-dead", "host:111:dead"),  # its pid is gone on this host
        ("b-mine-left", "host:1:me"),  # this process, a send that ended on an error
    ]:
        store.ledger.claim(edition_id, 1, batch, FIXED_NOW, holder=holder)
    store.leases.acquire("edition:morning", "host:2:live", timedelta(seconds=30), now)

    def abandoned(at: datetime = now) -> set[str | None]:
        return {b.batch_id for b in store.ledger.abandoned(edition_id, "host:1:me", at)}

    with store.ledger.sending("b-mine"):  # another thread of this process sends it now
        store.ledger.claim(edition_id, 1, "b-mine", FIXED_NOW, holder="host:1:me")
        assert abandoned() == {"b-legacy", "b-lapsed", "b-dead", "b-mine-left"}
    assert "b-mine" in abandoned()  # that send is over and left it: recovered
    # The live holder's lease lapses (a pause longer than its time to live).
    assert "b-live" in abandoned(now + timedelta(seconds=31))
    # A holder whose process is gone is dead even with its lease still running.
    gone.add("host:2:live")
    assert "b-live" in abandoned()
    assert {b.batch_id for b in store.ledger.in_flight(edition_id)} == abandoned()
