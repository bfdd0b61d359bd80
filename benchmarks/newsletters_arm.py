"""One arm of ``bench_newsletters.py``, run as its own process against whichever
``digest`` its PYTHONPATH names: today's checkout, or the code before editions
became newsletters (commit 0d4b575). So it uses only what both have: the store, the
ledger's deliverer, and the SendGrid transport's payload builder.

    newsletters_arm.py prepare DB N NAMES    # N subscribers; NAMES: "morning" or "morning,tech"
    newsletters_arm.py send DB N NAMES PERIOD

``send`` prints one JSON line: the seconds the send took (enqueue through the
subscription join where there is one, claims, envelopes, payloads, outcomes), the
deliveries accepted, and which ``digest`` ran. With two names, half the subscribers
get each edition (explicit subscription rows; only the newer code has them).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from datetime import UTC, datetime

import digest
from digest.delivery.deliverer import Deliverer
from digest.delivery.requests import DeliveryPolicy
from digest.delivery.sendgrid import SendGridTransport, sendgrid_client
from digest.delivery.transport import Envelope
from digest.models import Edition, Subscriber
from digest.rendering.personal import RenderedEdition, placeholder
from digest.store.database import Store, open_store

NONCE = "feedfacefeedface"


class PayloadOnly:
    """Builds each request's payload as the SendGrid transport would; sends nothing."""

    idempotent = False
    max_recipients = 1000

    def __init__(self) -> None:
        self.inner = SendGridTransport(
            sendgrid_client("SG.bench", "http://127.0.0.1:9"),
            from_email="digest@news.example",
            from_name="Digest",
        )
        self.requests = 0

    def send(self, envelope: Envelope) -> str:
        self.inner.payload(envelope)
        self.requests += 1
        return f"bench-{self.requests}"


def rendered(name: str, period: str) -> RenderedEdition:
    """The edition as ``bench_delivery`` renders it (a ~20 KB body), keyed by name."""
    body = "<p>" + "A realistic digest paragraph with a link and some words. " * 300 + "</p>"
    greeting, unsubscribe = placeholder(NONCE, "greeting"), placeholder(NONCE, "unsubscribe_url")
    edition = RenderedEdition(
        f"{name}/{period}",
        "The Morning Digest",
        f"<p>{greeting}</p>{body}<a href='{unsubscribe}'>u</a>",
        f"{greeting}\n{body}\n{unsubscribe}\n",
        NONCE,
    )
    if "title" in {f.name for f in dataclasses.fields(RenderedEdition)}:  # List-Id's title
        edition = dataclasses.replace(edition, title=name.title())  # type: ignore[call-arg]
    return edition


def prepare(db: str, n: int, names: list[str]) -> None:
    store = open_store(f"sqlite:///{db}")
    now = datetime.now(UTC)
    store.subscribers.upsert((Subscriber(f"p{i}@mail.example", f"P{i}") for i in range(n)), now)
    if len(names) > 1:
        from sqlalchemy import update

        from digest.store.schema import subscriptions  # type: ignore[attr-defined]

        half = n // 2
        with store.engine.begin() as conn:  # explicit rows: half each
            for edition, where in (
                (names[0], subscriptions.c.subscriber_id <= half),
                (names[1], subscriptions.c.subscriber_id > half),
            ):
                conn.execute(update(subscriptions).where(where).values(edition=edition))
    store.close()


def send(store: Store, names: list[str], period: str) -> tuple[float, int]:
    started = time.perf_counter()
    delivered = 0
    for name in names:
        stored = store.editions.save_draft(Edition(name, name, name, period, datetime.now(UTC), ()))
        edition = rendered(name, period)
        deliverer = Deliverer(
            store.ledger,
            PayloadOnly(),
            clock=lambda: datetime.now(UTC),
            sleep=time.sleep,
            policy=DeliveryPolicy(batch_size=1000),
        )
        report = deliverer.deliver(
            stored.id, lambda s, r=edition: r, lambda e: f"https://x.example/u/{e}"
        )
        delivered += report.counts.get("accepted", 0)
    return time.perf_counter() - started, delivered


def main(argv: list[str]) -> int:
    action, db, n, names = argv[0], argv[1], int(argv[2]), argv[3].split(",")
    if action == "prepare":
        prepare(db, n, names)
        return 0
    store = open_store(f"sqlite:///{db}")
    try:
        seconds, delivered = send(store, names, argv[4])
    finally:
        store.close()
    print(json.dumps({"seconds": seconds, "delivered": delivered, "digest": digest.__file__}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
