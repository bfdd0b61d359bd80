"""The delivery engine against a scripted in-memory provider and a real SQLite ledger.

Every test counts what the provider would really deliver (accepted requests whose
batch was not cancelled) and checks each subscriber got exactly one message.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest

from digest.delivery.deliverer import Deliverer
from digest.delivery.requests import DeliveryPolicy
from digest.delivery.transport import Envelope
from digest.errors import (
    AmbiguousDeliveryError,
    DeliveryError,
    RateLimited,
    RequestRejected,
    TransientDeliveryError,
    TransportAuthError,
)
from digest.models import DeliveryState, Edition, Subscriber, SubscriberStatus
from digest.rendering.personal import RenderedEdition
from digest.store.database import Store, open_store
from tests.conftest import FIXED_NOW, Clock

RENDERED = RenderedEdition("morning/2026-11-27", "Subject", "<p>x</p>", "x", "nonce")
Outcome = Exception | None | Callable[[Envelope], Exception | None]


class ScriptedProvider:
    """Accepts envelopes unless the script says otherwise; supports scheduled batches."""

    max_recipients = 1000
    idempotent = False

    def __init__(self, script: list[Outcome] | None = None, bad: set[str] | None = None) -> None:
        self.script = list(script or [])
        self.bad = bad or set()
        self.accepted: list[tuple[str | None, tuple[str, ...]]] = []
        self.cancelled: set[str] = set()
        self.uncancellable: set[str] = set()
        self.calls = 0
        self._ids = itertools.count(1)

    def send(self, envelope: Envelope) -> str:
        self.calls += 1
        emails = tuple(r.subscriber.email for r in envelope.recipients)
        outcome = self.script.pop(0) if self.script else None
        if callable(outcome) and not isinstance(outcome, Exception):
            outcome = outcome(envelope)
        if isinstance(outcome, AmbiguousDeliveryError) or (
            isinstance(outcome, TransientDeliveryError) and outcome.maybe_sent
        ):
            self.accepted.append((envelope.batch_id, emails))  # it did go through
            raise outcome
        if outcome is not None:
            raise outcome
        if self.bad & set(emails):
            raise RequestRejected("invalid email", 400)
        self.accepted.append((envelope.batch_id, emails))
        return f"msg-{self.calls}"

    def new_batch(self) -> str:
        return f"batch-{next(self._ids)}"

    def cancel_batch(self, batch_id: str) -> None:
        if batch_id in self.uncancellable:
            raise DeliveryError("batch already sent")
        self.cancelled.add(batch_id)

    def delivered(self) -> Counter[str]:
        return Counter(
            e for batch, emails in self.accepted if batch not in self.cancelled for e in emails
        )


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """The store on SQLite, and on PostgreSQL when available: the same code for both."""
    opened = open_store(database_url)
    yield opened
    opened.close()


def _setup(store: Store, n: int) -> tuple[int, list[str]]:
    people = [Subscriber(f"s{i}@mail.example", f"S{i}") for i in range(n)]
    store.subscribers.upsert(people, FIXED_NOW)
    edition = Edition("morning", "Morning", "Morning", "2026-11-27", FIXED_NOW, ())
    return store.editions.save_draft(edition).id, [p.email for p in people]


def _deliver(
    store: Store,
    provider: ScriptedProvider,
    edition_id: int,
    clock: Clock,
    *,
    policy: DeliveryPolicy | None = None,
    due: datetime | None = None,
    retry_ambiguous: bool = False,
):  # type: ignore[no-untyped-def]
    deliverer = Deliverer(
        store.ledger,
        provider,
        clock=clock,
        sleep=clock.sleep,
        policy=policy or DeliveryPolicy(batch_size=100, backoff_seconds=0.5),
        rng=random.Random(1),
    )
    return deliverer.deliver(
        edition_id,
        lambda s: RENDERED,
        lambda e: f"https://x.example/u/{e}",
        due=due,
        retry_ambiguous=retry_ambiguous,
    )


def _exactly_once(provider: ScriptedProvider, emails: list[str]) -> None:
    delivered = provider.delivered()
    assert sorted(delivered) == sorted(emails)
    assert set(delivered.values()) == {1}


def test_batches_of_the_configured_size(store: Store) -> None:
    edition_id, emails = _setup(store, 250)
    provider = ScriptedProvider()
    report = _deliver(store, provider, edition_id, Clock())
    assert provider.calls == 3 and [len(e) for _, e in provider.accepted] == [100, 100, 50]
    assert report.counts == {"accepted": 250}
    _exactly_once(provider, emails)
    again = _deliver(store, provider, edition_id, Clock())
    assert provider.calls == 3 and again.accepted == 0


def test_rate_limit_waits_until_reset(store: Store) -> None:
    edition_id, emails = _setup(store, 10)
    clock = Clock()
    reset = FIXED_NOW.timestamp() + 7
    provider = ScriptedProvider([RateLimited("429", reset), RateLimited("429", reset)])
    report = _deliver(store, provider, edition_id, clock)
    assert report.rate_limit_waits == 2
    assert clock.slept[0] == pytest.approx(7.0) and clock.slept[1] == pytest.approx(0.0)
    _exactly_once(provider, emails)


def test_connection_refused_is_retried_with_backoff(store: Store) -> None:
    edition_id, emails = _setup(store, 10)
    clock = Clock()
    refused = TransientDeliveryError("refused", maybe_sent=False)
    provider = ScriptedProvider([refused, refused, refused])
    report = _deliver(store, provider, edition_id, clock)
    assert report.retries == 3
    # Exponential, with jitter between half and the full step.
    assert (
        0.25 <= clock.slept[0] <= 0.5
        and 0.5 <= clock.slept[1] <= 1.0
        and 1.0 <= clock.slept[2] <= 2.0
    )
    _exactly_once(provider, emails)


def test_persistent_failure_is_left_for_the_next_run(store: Store) -> None:
    edition_id, emails = _setup(store, 10)
    refused = TransientDeliveryError("refused", maybe_sent=False)
    provider = ScriptedProvider([refused] * 5)
    report = _deliver(store, provider, edition_id, Clock())
    assert report.counts == {"failed": 10} and provider.delivered() == Counter()
    _deliver(store, provider, edition_id, Clock())
    _exactly_once(provider, emails)


def test_bad_recipients_are_isolated_by_splitting(store: Store) -> None:
    edition_id, emails = _setup(store, 64)
    bad = {"s5@mail.example", "s40@mail.example"}
    provider = ScriptedProvider(bad=bad)
    report = _deliver(store, provider, edition_id, Clock())
    assert report.rejected == 2
    assert report.counts == {"accepted": 62, "rejected": 2}
    _exactly_once(provider, [e for e in emails if e not in bad])
    assert provider.calls <= 2 * 2 * 7 + 1  # a binary search per bad address, not one per recipient


def test_too_large_request_is_split(store: Store) -> None:
    edition_id, emails = _setup(store, 100)
    provider = ScriptedProvider([RequestRejected("413", 413)])
    _deliver(store, provider, edition_id, Clock())
    assert [len(e) for _, e in provider.accepted] == [50, 50]
    _exactly_once(provider, emails)


def test_bad_credentials_stop_everything_and_lose_nothing(store: Store) -> None:
    edition_id, emails = _setup(store, 250)
    provider = ScriptedProvider([None, TransportAuthError("401")])
    with pytest.raises(TransportAuthError):
        _deliver(store, provider, edition_id, Clock())
    assert store.ledger.counts(edition_id) == {"accepted": 100, "pending": 150}
    _deliver(store, provider, edition_id, Clock())
    _exactly_once(provider, emails)


def test_ambiguous_immediate_send_waits_for_the_operator(store: Store) -> None:
    edition_id, _emails = _setup(store, 150)
    provider = ScriptedProvider([None, AmbiguousDeliveryError("timeout")])
    report = _deliver(store, provider, edition_id, Clock())
    assert report.counts == {"accepted": 100, "ambiguous": 50}
    assert any("retry-ambiguous" in n for n in report.notes)
    _deliver(store, provider, edition_id, Clock())  # a plain re-run does not touch them
    assert provider.delivered()["s120@mail.example"] == 1
    _deliver(store, provider, edition_id, Clock(), retry_ambiguous=True)
    assert provider.delivered()["s120@mail.example"] == 2  # the operator chose to resend


@pytest.mark.parametrize(
    "fault",
    [
        AmbiguousDeliveryError("timeout after accept"),
        TransientDeliveryError("503", maybe_sent=True),
    ],
    ids=["ambiguous", "5xx"],
)
def test_scheduled_batch_is_cancelled_and_resubmitted(store: Store, fault: Exception) -> None:
    edition_id, emails = _setup(store, 250)
    provider = ScriptedProvider([None, fault])
    due = FIXED_NOW + timedelta(minutes=15)
    report = _deliver(store, provider, edition_id, Clock(), due=due)
    assert report.scheduled and report.requeued == 100
    assert provider.cancelled == {"batch-2"}
    assert report.counts == {"accepted": 250}
    _exactly_once(provider, emails)


def test_too_close_to_send_at_is_not_scheduled(store: Store) -> None:
    edition_id, _ = _setup(store, 5)
    provider = ScriptedProvider()
    report = _deliver(store, provider, edition_id, Clock(), due=FIXED_NOW + timedelta(minutes=5))
    assert not report.scheduled and provider.accepted[0][0] is None


def test_crash_recovery(store: Store) -> None:
    edition_id, _emails = _setup(store, 30)
    provider = ScriptedProvider()
    ledger = store.ledger
    ledger.enqueue(edition_id, FIXED_NOW)
    # A previous process claimed three batches and died: one scheduled well ahead,
    # one scheduled too close to cancel, one immediate.
    ahead = ledger.claim(
        edition_id, 10, "batch-ahead", FIXED_NOW, FIXED_NOW + timedelta(minutes=20)
    )
    close = ledger.claim(edition_id, 10, "batch-close", FIXED_NOW, FIXED_NOW + timedelta(minutes=1))
    ledger.claim(edition_id, 10, "local-x", FIXED_NOW)
    provider.accepted.append(("batch-ahead", tuple(c.subscriber.email for c in ahead)))
    provider.accepted.append(("batch-close", tuple(c.subscriber.email for c in close)))
    report = _deliver(store, provider, edition_id, Clock())
    assert provider.cancelled == {"batch-ahead"}
    assert report.counts == {"accepted": 10, "ambiguous": 20}
    # Everyone who was surely not sent twice got exactly one; the ambiguous ones got at most one.
    assert set(provider.delivered().values()) == {1}
    assert len(provider.delivered()) == 20


def test_uncancellable_batch_becomes_ambiguous(store: Store) -> None:
    edition_id, _ = _setup(store, 10)
    provider = ScriptedProvider([AmbiguousDeliveryError("reset")])
    provider.uncancellable.add("batch-1")
    report = _deliver(store, provider, edition_id, Clock(), due=FIXED_NOW + timedelta(minutes=30))
    assert report.counts == {"ambiguous": 10}
    assert set(provider.delivered().values()) == {1}


def test_suppressed_subscribers_are_never_sent(store: Store) -> None:
    edition_id, _emails = _setup(store, 5)
    store.ledger.enqueue(edition_id, FIXED_NOW)
    store.subscribers.set_status(
        "s2@mail.example", SubscriberStatus.UNSUBSCRIBED, "link", FIXED_NOW
    )
    provider = ScriptedProvider()
    report = _deliver(store, provider, edition_id, Clock())
    assert report.counts == {"accepted": 4, "suppressed": 1}
    assert "s2@mail.example" not in provider.delivered()


def test_send_rate_cap(store: Store) -> None:
    edition_id, _ = _setup(store, 300)
    clock = Clock()
    provider = ScriptedProvider()
    _deliver(
        store, provider, edition_id, clock, policy=DeliveryPolicy(batch_size=100, max_per_second=50)
    )
    assert sum(clock.slept) == pytest.approx(4.0)  # 300 messages at 50/s: 2 s between requests
    assert store.ledger.counts(edition_id)[DeliveryState.ACCEPTED.value] == 300


def test_a_send_that_crosses_its_deadline_stops_and_says_so(store: Store) -> None:
    edition_id, _ = _setup(store, 50)
    clock = Clock()

    def twenty_seconds(envelope: Envelope) -> None:
        clock.now += timedelta(seconds=20)
        return None

    provider = ScriptedProvider([twenty_seconds] * 10)
    deliverer = Deliverer(
        store.ledger, provider, clock=clock, sleep=clock.sleep, policy=DeliveryPolicy(batch_size=10)
    )
    deadline = FIXED_NOW + timedelta(seconds=30)
    report = deliverer.deliver(
        edition_id, lambda s: RENDERED, lambda e: f"https://x.example/u/{e}", deadline=deadline
    )
    assert report.expired and provider.calls == 2  # at +20 s and +40 s; then past it
    assert report.counts == {"accepted": 20, "pending": 30}
    assert any("past the deadline" in n for n in report.notes)
    # A later try past the deadline claims nothing.
    assert not deliverer.deliver(
        edition_id, lambda s: RENDERED, lambda e: "u", deadline=deadline
    ).accepted
