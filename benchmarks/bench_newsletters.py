"""Editions as newsletters at scale: 100,000 subscribers sent one edition (today's
single-edition send: everyone subscribed to every edition) against the same 100,000
split across two editions (half subscribed to each, explicit subscription rows), in
the same run, each on its own SQLite ledger.

The transport builds each request's SendGrid payload (personalisations, headers,
List-Id) and posts nothing: the figure is our work (enqueue through the subscription
join, claims, rendering the envelopes, recording outcomes), not the network's. Each
arm runs ``--rounds`` times, alternating; the best of each counts. The goal (issue
16): two editions within 10 % of one. Writes benchmarks/results/newsletters.json.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import update  # noqa: E402

from benchmarks.bench_delivery import rendered  # noqa: E402
from benchmarks.results import write_results  # noqa: E402
from digest.delivery.deliverer import Deliverer  # noqa: E402
from digest.delivery.requests import DeliveryPolicy  # noqa: E402
from digest.delivery.sendgrid import SendGridTransport, sendgrid_client  # noqa: E402
from digest.delivery.transport import Envelope  # noqa: E402
from digest.models import Edition, Subscriber  # noqa: E402
from digest.rendering.personal import RenderedEdition  # noqa: E402
from digest.store.database import Store, open_store  # noqa: E402
from digest.store.schema import subscriptions  # noqa: E402


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


def prepare(db: str, n: int, names: list[str]) -> Store:
    store = open_store(f"sqlite:///{db}")
    now = datetime.now(UTC)
    store.subscribers.upsert((Subscriber(f"p{i}@mail.example", f"P{i}") for i in range(n)), now)
    if len(names) > 1:
        half = n // 2
        with store.engine.begin() as conn:  # explicit rows: half each
            conn.execute(
                update(subscriptions)
                .where(subscriptions.c.subscriber_id <= half)
                .values(edition=names[0])
            )
            conn.execute(
                update(subscriptions)
                .where(subscriptions.c.subscriber_id > half)
                .values(edition=names[1])
            )
    return store


def send(store: Store, names: list[str], period: str) -> tuple[float, int]:
    started = time.perf_counter()
    delivered = 0
    for name in names:
        stored = store.editions.save_draft(Edition(name, name, name, period, datetime.now(UTC), ()))
        r = rendered()
        r = RenderedEdition(f"{name}/{period}", r.subject, r.html, r.text, r.nonce, 0, name.title())
        deliverer = Deliverer(
            store.ledger,
            PayloadOnly(),
            clock=lambda: datetime.now(UTC),
            sleep=time.sleep,
            policy=DeliveryPolicy(batch_size=1000),
        )
        report = deliverer.deliver(
            stored.id, lambda s, r=r: r, lambda e: f"https://x.example/u/{e}"
        )
        delivered += report.counts.get("accepted", 0)
    return time.perf_counter() - started, delivered


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    single: list[float] = []
    double: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        one = prepare(str(Path(tmp) / "one.db"), args.n, ["morning"])
        two = prepare(str(Path(tmp) / "two.db"), args.n, ["morning", "tech"])
        for round_ in range(args.rounds):
            period = f"2026-12-{round_ + 1:02}"
            seconds, sent = send(one, ["morning"], period)
            assert sent == args.n, sent
            single.append(seconds)
            seconds, sent = send(two, ["morning", "tech"], period)
            assert sent == args.n, sent
            double.append(seconds)
        one.close()
        two.close()
    results = {
        "subscribers": args.n,
        "rounds": args.rounds,
        "single_edition_seconds": [round(s, 2) for s in single],
        "two_editions_seconds": [round(s, 2) for s in double],
        "best_single_seconds": round(min(single), 2),
        "best_two_seconds": round(min(double), 2),
        "two_vs_single_ratio": round(min(double) / min(single), 3),
        "goal": "ratio <= 1.10",
    }
    write_results("newsletters", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
