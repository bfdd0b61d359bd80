"""SMTP delivery at scale: 20,000 personalised messages to a local SMTP sink
(tests/smtp_sink.py: asyncio, reads each message with one buffer search; aiosmtpd
reads line by line and would cap the figure at ~130 messages/s) running as a
separate process.

Two arms, each in its own process, against the same sink:
- ``floor``: 4 threads hand the same pre-built message over 4 connections (what the
  sink and smtplib take, nothing of ours);
- ``send``: the real thing, `Deliverer.deliver` on an SQLite ledger with the SMTP
  transport's 4 connections: claim, personalise, encode, mark each message handed
  over, send, record each answer.
The goal (issue 17): ``send`` >= 300 messages/s with 4 connections, peak memory of the
sender <= 200 MB. Writes benchmarks/results/smtp.json; exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import json
import resource
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.results import write_results  # noqa: E402
from digest.delivery.deliverer import Deliverer  # noqa: E402
from digest.delivery.mime import MimeTemplate, Sender  # noqa: E402
from digest.delivery.requests import DeliveryPolicy  # noqa: E402
from digest.delivery.smtp import SmtpTransport  # noqa: E402
from digest.models import Edition, Subscriber  # noqa: E402
from digest.rendering.personal import RenderedEdition, placeholder  # noqa: E402
from digest.settings.delivery import SmtpSettings  # noqa: E402
from digest.store.database import open_store  # noqa: E402

NONCE = "0123456789abcdef"
CONNECTIONS = 4
SENDER = Sender("digest@news.example", "The Morning Digest")
GOAL_RATE, GOAL_MB = 300.0, 200.0


def rendered() -> RenderedEdition:
    """About the size of a real edition (the sample's email is 68 KB of HTML)."""
    story = (
        '<tr><td style="padding:12px 0;font-family:Georgia,serif"><a href="https://news.example/'
        'story?id=12345&amp;utm=digest" style="color:#1a4d8f">A headline of a story</a><p>'
        + "A realistic digest paragraph with a link, a figure of 4.5 % and some words. " * 6
        + "</p></td></tr>\n"
    )
    greeting, unsubscribe = placeholder(NONCE, "greeting"), placeholder(NONCE, "unsubscribe_url")
    html = f"<table><tr><td>{greeting}</td></tr>{story * 80}<a href='{unsubscribe}'>u</a></table>"
    text = f"{greeting}\n" + "A digest paragraph in plain text. " * 600 + f"\n{unsubscribe}\n"
    return RenderedEdition("morning/2026-11-28", "The Morning Digest", html, text, NONCE, title="M")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def arm_floor(port: int, n: int) -> dict[str, float]:
    template = MimeTemplate(rendered(), SENDER)
    data = template.build(Subscriber("p@mail.example"), "https://x/u", None, datetime.now(UTC))
    payload = data.data
    share = [n // CONNECTIONS + (1 if i < n % CONNECTIONS else 0) for i in range(CONNECTIONS)]

    def worker(count: int) -> None:
        with smtplib.SMTP("127.0.0.1", port) as session:
            for i in range(count):
                session.sendmail(SENDER.from_email, [f"f{i}@mail.example"], payload)

    threads = [threading.Thread(target=worker, args=(k,)) for k in share]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "per_second": n / seconds, "peak_mb": peak_mb()}


def arm_send(port: int, n: int, db: str) -> dict[str, float]:
    store = open_store(f"sqlite:///{db}")
    edition_id = store.editions.latest("morning").id  # type: ignore[union-attr]
    r = rendered()
    settings = SmtpSettings(host="127.0.0.1", port=port, security="none", connections=CONNECTIONS)
    clock = lambda: datetime.now(UTC)  # noqa: E731
    deliverer = Deliverer(
        store.ledger,
        SmtpTransport(settings, SENDER, clock=clock),
        clock=clock,
        sleep=time.sleep,
        policy=DeliveryPolicy(batch_size=1000),
    )
    started = time.perf_counter()
    report = deliverer.deliver(edition_id, lambda s: r, lambda e: f"https://x.example/u/{e}")
    seconds = time.perf_counter() - started
    assert report.counts == {"accepted": n}, report.counts
    return {"seconds": seconds, "per_second": n / seconds, "peak_mb": peak_mb()}


def prepare(db: str, n: int) -> None:
    store = open_store(f"sqlite:///{db}")
    store.subscribers.upsert(
        (Subscriber(f"p{i}@mail.example", f"Reader {i}") for i in range(n)), datetime.now(UTC)
    )
    store.editions.save_draft(Edition("morning", "M", "M", "2026-11-28", datetime.now(UTC), ()))
    store.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child(arm: str, port: int, n: int, db: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--arm", arm, "--port", str(port), "--n", str(n), "--db", db],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def sink(port: int) -> subprocess.Popen[str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.smtp_sink", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    server.stdout.readline()  # listening
    return server


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--arm", choices=["floor", "send"])
    parser.add_argument("--port", type=int)
    parser.add_argument("--db")
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args()
    if args.arm == "floor":
        print(json.dumps(arm_floor(args.port, args.n)))
        return 0
    if args.arm == "send":
        print(json.dumps(arm_send(args.port, args.n, args.db)))
        return 0

    port = free_port()
    server = sink(port)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = str(Path(tmp) / "digest.db")
            prepare(db, args.n)
            floor = child("floor", port, args.n, db)
            send = child("send", port, args.n, db)
    finally:
        server.terminate()
        received = json.loads((server.communicate(timeout=60)[0] or "{}").splitlines()[-1])
    results = {
        "messages": args.n,
        "connections": CONNECTIONS,
        "message_bytes": len(
            MimeTemplate(rendered(), SENDER)
            .build(Subscriber("p@mail.example"), "https://x/u", None, datetime.now(UTC))
            .data
        ),
        "floor_per_second": round(floor["per_second"], 1),
        "send_per_second": round(send["per_second"], 1),
        "send_seconds": round(send["seconds"], 2),
        "send_vs_floor": round(send["per_second"] / floor["per_second"], 2),
        "send_peak_rss_mb": round(send["peak_mb"], 1),
        "sink_received": received.get("received"),
        "goal": f"send >= {GOAL_RATE:g} messages/s, peak <= {GOAL_MB:g} MB",
    }
    write_results("smtp", results)
    met = send["per_second"] >= GOAL_RATE and send["peak_mb"] <= GOAL_MB
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
