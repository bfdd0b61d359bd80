"""Erasing and suppressing, the actions the desk and the CLI share: an erasure takes
the address out of the rate-limit records too, and says which files it does not
touch (the subscriber list, the outbox); suppressing blocklists the address."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from digest.audience.erasing import erase
from digest.audience.suppressing import suppress
from digest.components import Components
from digest.models import Subscriber, SubscriberStatus
from digest.store.limits import SIGNUP_MAIL, RateHits
from digest.store.schema import rate_hits
from tests.conftest import FIXED_NOW, make_components

LISTED = "ana.lopez@mail.example"  # in the shipped config's subscribers.csv


@pytest.fixture
def c(project: Path) -> Iterator[Components]:
    components = make_components(project, environ={"DIGEST_SECRET_KEY": "k" * 40})
    components.store.subscribers.upsert(components.subscribers(), FIXED_NOW)
    yield components
    components.close()


def _keys(c: Components) -> list[str]:
    with c.store.engine.connect() as conn:
        return sorted(conn.scalars(select(rate_hits.c.key)))


def test_an_erasure_deletes_the_addresss_rate_limit_records(c: Components) -> None:
    mails = RateHits(c.store.engine, c.clock).limiter(SIGNUP_MAIL, 3, 3600)
    for address in (LISTED, LISTED, "x" + LISTED):
        assert mails.allow(address)
    erased = erase(c, LISTED.upper())
    assert erased.erased.rate_hits == 2
    assert _keys(c) == [f"{SIGNUP_MAIL}:x{LISTED}"]  # another address's stay
    assert "2 rate-limit record(s)" in erased.describe()


def test_an_erasure_names_the_files_it_does_not_touch(c: Components) -> None:
    outbox = c.settings.delivery.outbox_dir
    outbox.mkdir(parents=True)
    said = erase(c, LISTED).describe()
    listing = c.settings.subscribers.file
    assert said.startswith(f"erased {LISTED}: address, name, time zone and sections")
    assert (
        f"Not touched by erase: the subscriber list {listing} (it still lists the address: "
        f"remove its line); the messages in the outbox {outbox}"
    ) in said
    # An address the list does not name: the files are still named, without the hint.
    c.store.subscribers.upsert([Subscriber("zed@mail.example", "Zed")], FIXED_NOW)
    other = erase(c, "zed@mail.example").describe()
    assert f"Not touched by erase: the subscriber list {listing}; the messages" in other
    assert "still lists" not in other


def test_without_a_list_file_or_an_outbox_nothing_more_is_said(c: Components) -> None:
    c.settings.subscribers.file.unlink()
    said = erase(c, LISTED).describe()
    assert "Not touched" not in said and said.endswith("kept its keyed hash")


def test_suppress_blocklists_a_known_address_only(c: Components) -> None:
    assert suppress(c.store, LISTED, "the desk", FIXED_NOW)
    assert c.store.subscribers.status(LISTED) == SubscriberStatus.BLOCKLISTED
    assert not suppress(c.store, "nobody@mail.example", "the desk", FIXED_NOW)
