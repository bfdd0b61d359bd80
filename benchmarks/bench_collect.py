"""Collection at scale: 200 feeds on 20 loopback hosts (127.0.0.2-21), each answer
after 200 ms, collected by the real pipeline (default fetching settings: bounded
pool, per-host limit). Goal (issue 3): <= 3 s wall; one after another would take
40 s. A second collection sends each feed's ETag back and gets 304s: nothing is
downloaded or parsed. Writes benchmarks/results/collect.json."""

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

FEEDS, HOSTS, DELAY = 200, 20, 0.2


def feed(n: int) -> bytes:
    items = "".join(
        f"<item><title>Feed {n} item {i}</title><link>https://feed{n}.example/{i}</link>"
        f"<description><![CDATA[<p>Item {i} of feed {n} says something worth reading "
        f"about the harbour, the council and the weather on day {i}.</p>]]></description></item>"
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
        },
    )
    unchanged = sum(1 for s in again.sources if s.not_modified)
    return 0 if ok == FEEDS and unchanged == FEEDS else 1


if __name__ == "__main__":
    sys.exit(main())
