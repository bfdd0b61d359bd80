"""Delivery at scale: 100,000 subscribers through the local SendGrid stand-in that
answers every request after 50 ms.

Two arms, each in its own process, against the same server process:
- ``post``: POST the same number of pre-built 1,000-recipient payloads (the floor:
  HTTP plus the server's delay, nothing of ours);
- ``send``: the real thing, `Deliverer.deliver` on an SQLite ledger: claim each batch
  in a transaction, render the envelope, POST, record the outcome.
The goal (issue 7): ``send`` <= 2x ``post``, peak memory of ``send`` <= 200 MB.
Writes benchmarks/results/delivery.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.results import write_results  # noqa: E402
from digest.delivery.deliverer import Deliverer  # noqa: E402
from digest.delivery.requests import DeliveryPolicy  # noqa: E402
from digest.delivery.sendgrid import SendGridTransport, sendgrid_client  # noqa: E402
from digest.delivery.transport import Envelope, Recipient  # noqa: E402
from digest.models import Edition, Subscriber  # noqa: E402
from digest.rendering.personal import RenderedEdition, placeholder  # noqa: E402
from digest.store.database import open_store  # noqa: E402

NONCE = "0123456789abcdef"


def rendered() -> RenderedEdition:
    body = "<p>" + "A realistic digest paragraph with a link and some words. " * 300 + "</p>"
    greeting, unsubscribe = placeholder(NONCE, "greeting"), placeholder(NONCE, "unsubscribe_url")
    return RenderedEdition(
        "morning/2026-11-28",
        "The Morning Digest",
        f"<p>{greeting}</p>{body}<a href='{unsubscribe}'>u</a>",
        f"{placeholder(NONCE, 'greeting')}\n{body}\n{placeholder(NONCE, 'unsubscribe_url')}\n",
        NONCE,
    )


def transport(url: str) -> SendGridTransport:
    return SendGridTransport(
        sendgrid_client("SG.test-key", url), from_email="digest@news.example", from_name="Digest"
    )


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def arm_post(url: str, n: int) -> dict[str, float]:
    t = transport(url)
    r = rendered()
    payloads = []
    for start in range(0, n, 1000):
        people = tuple(
            Recipient(i, Subscriber(f"p{i}@mail.example", f"P{i}"), f"https://x.example/u/{i}")
            for i in range(start, min(n, start + 1000))
        )
        payloads.append(t.payload(Envelope(r, people)))
    started = time.perf_counter()
    for payload in payloads:
        t.client.mail.send.post(request_body=payload)
    return {
        "seconds": time.perf_counter() - started,
        "requests": len(payloads),
        "peak_mb": peak_mb(),
    }


def arm_send(url: str, n: int, db: str) -> dict[str, float]:
    store = open_store(f"sqlite:///{db}")
    edition_id = store.editions.latest("morning").id  # type: ignore[union-attr]
    r = rendered()
    deliverer = Deliverer(
        store.ledger,
        transport(url),
        clock=lambda: datetime.now(UTC),
        sleep=time.sleep,
        policy=DeliveryPolicy(batch_size=1000),
    )
    started = time.perf_counter()
    report = deliverer.deliver(edition_id, lambda s: r, lambda e: f"https://x.example/u/{e}")
    seconds = time.perf_counter() - started
    assert report.counts == {"accepted": n}, report.counts
    return {"seconds": seconds, "requests": report.requests, "peak_mb": peak_mb()}


def prepare(db: str, n: int) -> float:
    store = open_store(f"sqlite:///{db}")
    started = time.perf_counter()
    store.subscribers.upsert(
        (Subscriber(f"p{i}@mail.example", f"P{i}") for i in range(n)), datetime.now(UTC)
    )
    seconds = time.perf_counter() - started
    store.editions.save_draft(Edition("morning", "M", "M", "2026-11-28", datetime.now(UTC), ()))
    return seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child(arm: str, url: str, n: int, db: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--arm", arm, "--url", url, "--n", str(n), "--db", db],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--arm", choices=["post", "send"])
    parser.add_argument("--url")
    parser.add_argument("--db")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--delay", type=float, default=0.05)
    args = parser.parse_args()
    if args.arm == "post":
        print(json.dumps(arm_post(args.url, args.n)))
        return 0
    if args.arm == "send":
        print(json.dumps(arm_send(args.url, args.n, args.db)))
        return 0

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.sendgrid_server",
            "--port",
            str(port),
            "--delay",
            str(args.delay),
            "--no-validate",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        server.stdout.readline()  # started
        url = f"http://127.0.0.1:{port}"
        with tempfile.TemporaryDirectory() as tmp:
            db = str(Path(tmp) / "digest.db")
            import_seconds = prepare(db, args.n)
            post = child("post", url, args.n, db)
            send = child("send", url, args.n, db)
    finally:
        server.terminate()
        server.wait(timeout=30)
    results = {
        "subscribers": args.n,
        "server_delay_seconds": args.delay,
        "import_seconds": round(import_seconds, 2),
        "post_prebuilt_seconds": round(post["seconds"], 2),
        "send_end_to_end_seconds": round(send["seconds"], 2),
        "send_vs_post_ratio": round(send["seconds"] / post["seconds"], 2),
        "send_peak_rss_mb": round(send["peak_mb"], 1),
        "post_peak_rss_mb": round(post["peak_mb"], 1),
        "requests": send["requests"],
        "goal": "ratio <= 2.0, send peak <= 200 MB",
    }
    write_results("delivery", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
