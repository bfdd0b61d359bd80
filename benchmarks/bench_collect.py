"""Collection at scale: 200 feeds on 20 loopback hosts (127.0.0.2-21), each answer
after 200 ms, collected by the real pipeline (default settings: bounded pool,
per-host limit, full text on for feeds over http). Goal (issue 3): <= 3 s wall; one
after another would take 40 s. A second collection sends each feed's ETag back and
gets 304s: nothing is downloaded or parsed.

Each item carries its whole text (about 130 words) and an English RFC 822 date, as
full-content feeds do, so full text fetches no page (a teaser's page is a fetch of
its own, not measured here) and the dates take the English path. Also the rate of
the date parser (``digest.sources.dates``) on the dates feedparser cannot read
(22 strings: pt, es, fr, de, it; missing zones, two-digit years, ``7. Okt.``) and
on English ones. Writes benchmarks/results/collect.json."""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.results import write_results  # noqa: E402
from digest import pipeline  # noqa: E402
from digest.components import build_components  # noqa: E402
from digest.models import RunReport  # noqa: E402
from digest.settings.config import load_settings  # noqa: E402
from digest.sources.dates import parse_date  # noqa: E402

FEEDS, HOSTS, DELAY = 200, 20, 0.2


PARAGRAPH = (
    "The harbour board met on Tuesday evening and agreed, after a long debate about the cost "
    "of the work and the council's share of it, to rebuild the north quay before the winter "
    "storms arrive. Fishermen said the old quay had been unsafe for years. "
)
# Dates feedparser cannot read, and English ones it reads itself.
FOREIGN_DATES = [
    "Seg, 24 Set 2018 19:42:40 -0300",
    "Lun, 24 Sep 2018 19:42:40 +0200",
    "lun., 24 sept. 2018 19:42:40 +0200",
    "Mo, 24 Sep 2018 19:42:40 +0200",
    "Montag, 24. September 2018",
    "lun, 24 set 2018",
    "Seg, 24 Set 2018 19:42:40",
    "Lun, 24 Sep 18 19:42:40 +0200",
    "Qua, 02 Dez 2026 08:00:00 -0300",
    "Sáb, 05 Fev 22 10:00:00 GMT",
    "Mié, 02 Dic 2026 08:00:00 +0100",
    "mer., 2 déc. 2026 08:00:00 +0100",
    "jeu., 3 févr. 2022",
    "mar., 1 juil. 2025 12:00:00 +0200",
    "dim., 1 juin 2025 12:00:00 +0200",
    "Mi, 02 Dez 2026 08:00:00 +0100",
    "Do, 13 Mär 2025 07:30:00 +0100",
    "Di., 7. Okt. 2025 09:15",
    "mer, 02 dic 2026 08:00:00 +0100",
    "gio, 15 mag 25 18:00:00 +0200",
    "Sex, 10 Out 2025 11:00:00 -0300",
    "Wed, 02 Dec 2026 08:00:00 +0000",
]
ENGLISH_DATES = [f"Thu, {d:02d} Nov 2026 0{d % 10}:15:00 +0000" for d in range(1, 23)]


def feed(n: int) -> bytes:
    items = "".join(
        f"<item><title>Feed {n} item {i}</title><link>https://feed{n}.example/{i}</link>"
        f"<pubDate>{ENGLISH_DATES[(n + i) % len(ENGLISH_DATES)]}</pubDate>"
        f"<description><![CDATA[<p>Item {i} of feed {n}. {PARAGRAPH * 3}</p>]]>"
        "</description></item>"
        for i in range(5)
    )
    channel = f"<channel><title>F{n}</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(DELAY)
        n = int(self.path.strip("/").split(".")[0].removeprefix("feed"))
        etag = f'"feed-{n}-v1"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        body = feed(n)
        self.send_response(200)
        self.send_header("ETag", etag)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def date_rates(repeat: int = 2000) -> dict[str, object]:
    """Dates per second through ``parse_date``, foreign and English, one core."""
    foreign = [parse_date(d) for d in FOREIGN_DATES]
    rates: dict[str, object] = {"foreign_dates_read": f"{sum(d is not None for d in foreign)}/22"}
    for label, dates in (("foreign", FOREIGN_DATES), ("english", ENGLISH_DATES)):
        started = time.perf_counter()
        for _ in range(repeat // len(dates) + 1):
            for date in dates:
                parse_date(date)
        seconds = time.perf_counter() - started
        rates[f"{label}_dates_per_second"] = round(
            (repeat // len(dates) + 1) * len(dates) / seconds
        )
    return rates


def main() -> int:
    servers = []
    for h in range(HOSTS):
        server = ThreadingHTTPServer((f"127.0.0.{h + 2}", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "digest.toml"
        hosts = [f"{s.server_address[0]}:{s.server_address[1]}" for s in servers]
        sources = "".join(
            f'[[sources]]\nname = "feed {n}"\nkind = "feed"\nlocal = true\n'
            f'url = "http://{hosts[n % HOSTS]}/feed{n}.xml"\n\n'
            for n in range(FEEDS)
        )
        config.write_text(
            f'var_dir = "var"\n[storage]\nurl = "sqlite:///var/digest.db"\n\n{sources}'
            '[[editions]]\nname = "morning"\ntitle = "Morning"\n'
        )
        c = build_components(load_settings(config, {}))
        report = RunReport()
        started = time.perf_counter()
        new = pipeline.collect(c, report)
        seconds = time.perf_counter() - started
        again = RunReport()
        started = time.perf_counter()
        pipeline.collect(c, again)
        second_seconds = time.perf_counter() - started
        c.close()
    for server in servers:
        server.shutdown()
    ok = sum(1 for s in report.sources if s.ok)
    write_results(
        "collect",
        {
            "feeds": FEEDS,
            "hosts": HOSTS,
            "answer_delay_seconds": DELAY,
            "sources_ok": ok,
            "new_articles": new,
            "seconds": round(seconds, 2),
            "sequential_seconds": FEEDS * DELAY,
            "goal": "seconds <= 3",
            "second_run_not_modified": sum(1 for s in again.sources if s.not_modified),
            "second_run_seconds": round(second_seconds, 2),
            **date_rates(),
        },
    )
    unchanged = sum(1 for s in again.sources if s.not_modified)
    return 0 if ok == FEEDS and unchanged == FEEDS else 1


if __name__ == "__main__":
    sys.exit(main())
