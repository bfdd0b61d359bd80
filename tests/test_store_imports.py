"""Writing an import with statuses, on SQLite and PostgreSQL: consent carries over
and never upgrades; a subscriber's own choice stands; a dry run writes nothing; our
own format writes exactly what ``upsert`` writes."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from digest.audience.imports import read_import
from digest.audience.statuses import FACTS, STOPPED, imported_status
from digest.models import ImportedSubscriber, Subscriber
from digest.models import SubscriberStatus as S
from digest.store.database import Store, open_store
from digest.store.schema import subscribers
from tests.conftest import FIXED_NOW

ANA = Subscriber("ana@mail.example", "Ana", "Europe/Madrid", ("Sport",))

EARLIER, LATER = FIXED_NOW - timedelta(days=30), FIXED_NOW + timedelta(hours=1)
CASES = {  # the file's status, its unsubscribe date -> the status after the import
    "paused": (S.PAUSED, None, S.ACTIVE),
    "pending": (S.PENDING, None, S.ACTIVE),
    "older": (S.UNSUBSCRIBED, EARLIER, S.ACTIVE),
    "undated": (S.UNSUBSCRIBED, None, S.UNSUBSCRIBED),
    "newer": (S.UNSUBSCRIBED, LATER, S.UNSUBSCRIBED),
    "same": (S.UNSUBSCRIBED, FIXED_NOW, S.UNSUBSCRIBED),
    "bounced": (S.BOUNCED, EARLIER, S.BOUNCED),
    "complained": (S.COMPLAINED, None, S.COMPLAINED),
    "blocklisted": (S.BLOCKLISTED, EARLIER, S.BLOCKLISTED),
}


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = open_store(database_url)
    yield opened
    opened.close()


def _table(store: Store) -> list[tuple[object, ...]]:
    columns = [subscribers.c[n] for n in ("email", "name", "timezone", "topics", "status")]
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(*columns, subscribers.c.status_reason, subscribers.c.preferences_set_at)
            .add_columns(subscribers.c.updated_at)
            .order_by(subscribers.c.email)
        )
        return [tuple(row) for row in rows]


def _known(store: Store, status: S, n: int) -> list[str]:
    """``n`` known addresses (from the configured list), then given ``status``."""
    emails = [f"k{i}@mail.example" for i in range(n)]
    store.subscribers.upsert(
        [Subscriber(e, "K", "Europe/Madrid", ("Sport",)) for e in emails], FIXED_NOW
    )
    for email in emails:
        store.subscribers.set_status(email, status, "here", FIXED_NOW)
    return emails


def test_new_addresses_get_the_status_their_file_gives(store: Store) -> None:
    records = [ImportedSubscriber(f"{s.value}@mail.example", s, reason=f"file: {s}") for s in S]
    result = store.subscribers.import_records(records, FIXED_NOW)
    assert result.counts.added == len(S)
    assert {s.value: store.subscribers.status(f"{s.value}@mail.example") for s in S} == {
        s.value: s for s in S
    }
    assert result.statuses == {s.value: 1 for s in S}
    reasons = {row[0]: row[5] for row in _table(store)}
    assert reasons["pending@mail.example"] == "file: pending"


@pytest.mark.parametrize("here", sorted(STOPPED))
def test_an_address_stopped_here_stays_stopped_whatever_the_file_says(
    store: Store, here: S
) -> None:
    emails = _known(store, here, len(S))
    records = [ImportedSubscriber(e, s) for e, s in zip(emails, S, strict=True)]
    result = store.subscribers.import_records(records, FIXED_NOW)
    assert {store.subscribers.status(e) for e in emails} == {here}
    assert result.changes == [] and result.statuses == {here.value: len(S)}
    assert result.kept == len(S) - 1  # every row but the one that says the same


def test_a_file_lowers_a_known_active_address_and_never_raises_one(store: Store) -> None:
    emails = _known(store, S.ACTIVE, 7)
    pending = "p0@mail.example"  # imported pending before
    store.subscribers.import_records([ImportedSubscriber(pending, S.PENDING)], FIXED_NOW)
    wanted = [S.UNSUBSCRIBED, S.BOUNCED, S.COMPLAINED, S.BLOCKLISTED, S.PAUSED, S.PENDING, S.ACTIVE]
    records = [ImportedSubscriber(e, s, reason="file") for e, s in zip(emails, wanted, strict=True)]
    records.append(ImportedSubscriber(pending, S.ACTIVE))
    result = store.subscribers.import_records(records, FIXED_NOW)
    after = [store.subscribers.status(e) for e in emails]
    # Suppressions and a pause apply; "pending" (no evidence) does not take an
    # active subscriber away; "active" does not make a pending one active.
    assert after == [*wanted[:5], S.ACTIVE, S.ACTIVE]
    assert store.subscribers.status(pending) == S.PENDING
    assert [(c.email, c.before, c.after) for c in result.changes] == [
        (e, S.ACTIVE, s) for e, s in zip(emails[:5], wanted[:5], strict=True)
    ]
    assert result.kept == 2  # the active one the file calls pending, the pending it calls active


def test_a_subscribers_own_choice_here_stands(store: Store) -> None:
    # Ana and the others chose here at FIXED_NOW (the preferences page). A file's
    # pause and active change nothing, nor does an unsubscribe it dates before that
    # choice; an undated or later unsubscribe applies, and so do a bounce, a
    # complaint and a blocklisting (facts about the address).
    people = {name: Subscriber(f"{name}@mail.example", name.title()) for name in CASES}
    store.subscribers.upsert([ANA, *people.values()], FIXED_NOW)
    for person in [ANA, *people.values()]:
        assert store.subscribers.set_preferences(
            person.email, ("Culture",), "Asia/Tokyo", False, FIXED_NOW
        )
    record = ImportedSubscriber(
        ANA.email, S.UNSUBSCRIBED, "Ana L.", "UTC", ("World",), unsubscribed_at=EARLIER
    )
    records = [record] + [
        ImportedSubscriber(people[name].email, status, unsubscribed_at=left)
        for name, (status, left, _) in CASES.items()
    ]
    result = store.subscribers.import_records(records, FIXED_NOW + timedelta(days=1))
    known = store.subscribers.get(ANA.email)
    assert known is not None and known.status == S.ACTIVE
    assert known.subscriber == Subscriber(ANA.email, "Ana L.", "Asia/Tokyo", ("Culture",))
    assert {name: store.subscribers.status(p.email) for name, p in people.items()} == {
        name: after for name, (_, _, after) in CASES.items()
    }
    assert result.kept == 1 + sum(after == S.ACTIVE for _, _, after in CASES.values())
    assert {c.email for c in result.changes} == {
        people[name].email for name, (_, _, after) in CASES.items() if after != S.ACTIVE
    }


def test_what_the_file_does_not_say_stays(store: Store) -> None:
    store.subscribers.upsert([ANA], FIXED_NOW)
    silent = store.subscribers.import_records([ImportedSubscriber(ANA.email)], FIXED_NOW)
    assert silent.counts.unchanged == 1
    assert store.subscribers.get(ANA.email).subscriber == ANA  # type: ignore[union-attr]
    named = ImportedSubscriber(ANA.email, S.ACTIVE, "Ana López", "Europe/Lisbon")
    assert store.subscribers.import_records([named], FIXED_NOW).counts.updated == 1
    assert store.subscribers.get(ANA.email).subscriber == Subscriber(  # type: ignore[union-attr]
        ANA.email, "Ana López", "Europe/Lisbon", ("Sport",)
    )


def test_a_dry_run_writes_nothing_and_counts_what_a_run_would(store: Store) -> None:
    emails = _known(store, S.ACTIVE, 3)
    records = [
        ImportedSubscriber(emails[0], S.UNSUBSCRIBED),
        ImportedSubscriber(emails[1], S.ACTIVE, "Renamed"),
        ImportedSubscriber(emails[2]),
        *(ImportedSubscriber(f"new{i}@mail.example", S.PENDING) for i in range(1200)),
    ]
    before = _table(store)
    dry = store.subscribers.import_records(records, FIXED_NOW, dry_run=True)
    assert _table(store) == before
    real = store.subscribers.import_records(records, FIXED_NOW)
    assert (dry.counts, dry.statuses, dry.kept, dry.changes) == (
        real.counts,
        real.statuses,
        real.kept,
        real.changes,
    )
    assert (real.counts.added, real.counts.updated, real.counts.unchanged) == (1200, 2, 1)
    assert _table(store) != before


def test_our_own_format_writes_what_upsert_writes(store: Store, tmp_path: Path) -> None:
    other = open_store(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        start = [ANA, Subscriber("ben@mail.example", "Ben"), Subscriber("cy@mail.example")]
        for s in (store, other):
            s.subscribers.upsert(start, FIXED_NOW)
            s.subscribers.set_preferences(
                "ben@mail.example", ("World",), "Asia/Tokyo", True, FIXED_NOW
            )
            s.subscribers.set_status("cy@mail.example", S.BOUNCED, "bounce", FIXED_NOW)
        csv = tmp_path / "people.csv"
        csv.write_text(
            "email,name,timezone,topics\n"
            "ana@mail.example,,UTC,Culture\n"
            "ben@mail.example,Ben O.,Europe/London,Sport\n"
            "cy@mail.example,Cy,,\n"
            "dee@mail.example,Dee,America/Lima,World;Sport\n",
            encoding="utf-8",
        )
        read = read_import(csv, ["World", "Sport", "Culture"])
        counts = store.subscribers.upsert([_subscriber(r) for r in read.records], FIXED_NOW)
        result = other.subscribers.import_records(read.records, FIXED_NOW)
        assert result.counts == counts
        assert _table(store) == _table(other)
    finally:
        other.close()


def _subscriber(record: ImportedSubscriber) -> Subscriber:
    assert record.name is not None and record.timezone is not None and record.topics is not None
    return Subscriber(record.email, record.name, record.timezone, record.topics)


@pytest.mark.parametrize("own_choice", [None, FIXED_NOW])
@pytest.mark.parametrize("left", [None, EARLIER, LATER])
def test_the_rule_never_mails_more_than_before(
    own_choice: datetime | None, left: datetime | None
) -> None:
    for here, wanted in itertools.product(S, S):
        after = imported_status(here, wanted, own_choice=own_choice, unsubscribed_at=left)
        assert after in (here, wanted)
        if after == S.ACTIVE:
            assert here == S.ACTIVE, (here, wanted)
        if here in STOPPED:
            assert after == here, (here, wanted)
        elif own_choice is not None:
            applies = wanted in FACTS or (wanted == S.UNSUBSCRIBED and left != EARLIER)
            assert after == (wanted if applies else here), (here, wanted)
        elif here == S.ACTIVE and wanted in {*STOPPED, S.PAUSED}:
            assert after == wanted, (here, wanted)
