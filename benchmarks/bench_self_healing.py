"""Self-healing delivery at scale (issue 13): 20,000 subscribers, `digest scheduler`
processes against the local SendGrid stand-in (1,000 recipients a request, each
answered after a delay, so the send takes a while), and what it costs to lose the
process mid-send:

- ``baseline``: one scheduler sends the edition it missed two minutes ago;
- ``deploy``: SIGTERM after 4,000 accepted, a new scheduler started at once;
- ``crash``: kill -9 after 4,000 accepted, a new scheduler started at once;
- ``failover``: two schedulers (PostgreSQL when `DIGEST_TEST_POSTGRES_URL` is set,
  else SQLite), kill -9 of the active one after 4,000 accepted; the standby goes on.

For each: how long the new (or standby) process took to finish the edition after it
started (goal <= 2 minutes) and how much the interruption added to the send's own
time, measured against the baseline in the same run (goal <= 1 minute); and that
every subscriber was sent the edition once (save the batch in flight at a kill,
reported ambiguous). Writes benchmarks/results/self_healing.json.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.results import write_results  # noqa: E402
from tests.scenarios import Scenario  # noqa: E402
from tests.sendgrid_server import SendGridServer  # noqa: E402

PEOPLE = 20_000
BATCH = 1_000
DELAY = 0.5  # seconds per request: 20 requests, about 10 s of sending
INTERRUPT_AFTER = 4  # requests (4,000 accepted)


def project(folder: Path) -> Path:
    shutil.copytree(ROOT / "config", folder / "config")
    shutil.copytree(ROOT / "samples", folder / "samples")
    (folder / "templates").mkdir()
    return folder / "config" / "digest.toml"


def database(folder: Path, shared: bool) -> str:
    url = os.environ.get("DIGEST_TEST_POSTGRES_URL", "")
    if shared and url:
        import uuid

        from sqlalchemy import create_engine, text

        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with create_engine(url).begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        return f"{url}?options=-csearch_path%3D{schema}"
    return f"sqlite:///{folder / 'var' / 'digest.db'}"


def scenario(name: str, interrupt: Callable[[Scenario], float | None]) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        server = SendGridServer(validate=False, keep_bodies=False).start()
        server.delay = DELAY
        url = database(Path(tmp), shared=name == "failover")
        s = Scenario(project(Path(tmp)), server, url, people=PEOPLE, batch_size=BATCH)
        try:
            started = time.monotonic()
            restarted = interrupt(s)
            done = s.wait_until(lambda: s.accepted() >= PEOPLE - BATCH, 600, 0.2)
            s.wait_until(lambda: s.accepted() >= PEOPLE, 10, 0.2)
            finished = time.monotonic()
            delivered = s.server.delivered()
            return {
                "finished": done,
                "delivered": len(delivered),
                "sent_twice": sum(1 for n in delivered.values() if n > 1),
                "not_sent": PEOPLE - len(delivered),
                "seconds": round(finished - started, 1),
                "finish_after_restart_s": round(finished - restarted, 1) if restarted else None,
                "database": url.split(":", 1)[0],
            }
        finally:
            s.stop_all()
            server.stop()


def baseline(s: Scenario) -> float | None:
    s.start("scheduler")
    return None


def deploy(s: Scenario) -> float | None:
    return _interrupted(s, signal.SIGTERM)


def crash(s: Scenario) -> float | None:
    return _interrupted(s, signal.SIGKILL)


def _interrupted(s: Scenario, sig: int) -> float:
    first = s.start("scheduler")
    s.wait_for_requests(INTERRUPT_AFTER, first, timeout=300)
    s.signal(first, sig)
    restarted = time.monotonic()
    s.start("scheduler")
    return restarted


def failover(s: Scenario) -> float:
    one, two = s.start("scheduler"), s.start("scheduler")
    s.wait_until(lambda: any("standing by" in s.output(p) for p in (one, two)), 120, 0.1)
    active = two if "standing by" in s.output(one) else one
    s.wait_for_requests(INTERRUPT_AFTER, active, timeout=300)
    s.signal(active, signal.SIGKILL)
    return time.monotonic()  # the standby was already up


def main() -> None:
    results: dict[str, object] = {"subscribers": PEOPLE, "batch": BATCH, "delay_s": DELAY}
    for name, interrupt in (
        ("baseline", baseline),
        ("deploy", deploy),
        ("crash", crash),
        ("failover", failover),
    ):
        results[name] = scenario(name, interrupt)
        print(name, results[name], flush=True)
    base = results["baseline"]["seconds"]  # type: ignore[index]
    for name in ("deploy", "crash", "failover"):
        run = results[name]
        run["added_to_send_s"] = round(run["seconds"] - base, 1)  # type: ignore[index,operator]
    write_results("self_healing", results)


if __name__ == "__main__":
    main()
