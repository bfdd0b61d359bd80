"""Self-healing delivery at scale (issue 13): 20,000 subscribers, `digest scheduler`
processes against the local SendGrid stand-in (1,000 recipients a request, each
answered after a delay, so the send takes a while), and what it costs to lose the
process mid-send:

- ``baseline``: one scheduler sends the edition it missed two minutes ago;
- ``deploy``: SIGTERM after 4,000 accepted, a new scheduler started at once;
- ``crash``: kill -9 after 4,000 accepted, a new scheduler started at once;
- ``failover``: two schedulers, kill -9 of the active one after 4,000 accepted; the
  standby goes on.

Each on SQLite and, when `DIGEST_TEST_POSTGRES_URL` is set, on PostgreSQL. For each:
how long the new (or standby) process took to finish the edition after it started
(goal <= 2 minutes), how much the interruption added to the send's own time, measured
against the baseline on the same database in the same run (goal <= 1 minute), and
that every subscriber was sent the edition once: nobody twice, nobody left out.
Writes benchmarks/results/self_healing.json; exits 1 when a goal is missed.
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


def database(folder: Path, kind: str) -> str:
    if kind == "postgresql":
        import uuid

        from sqlalchemy import create_engine, text

        url = os.environ["DIGEST_TEST_POSTGRES_URL"]
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with create_engine(url).begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        return f"{url}?options=-csearch_path%3D{schema}"
    return f"sqlite:///{folder / 'var' / 'digest.db'}"


def scenario(
    name: str, kind: str, interrupt: Callable[[Scenario], float | None]
) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        server = SendGridServer(validate=False, keep_bodies=False).start()
        server.delay = DELAY
        url = database(Path(tmp), kind)
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


GOALS = {"finish_after_restart_s": 120.0, "added_to_send_s": 60.0, "sent_twice": 0, "not_sent": 0}
INTERRUPTED = {"deploy": deploy, "crash": crash, "failover": failover}


def missed(result: dict[str, object]) -> list[str]:
    """The goals ``result`` misses, as "name = value > goal"."""
    return [
        f"{goal} = {result[goal]} > {limit}"
        for goal, limit in GOALS.items()
        if not isinstance(result[goal], int | float) or result[goal] > limit  # type: ignore[operator]
    ]


def main() -> int:
    kinds = ["sqlite"] + (["postgresql"] if os.environ.get("DIGEST_TEST_POSTGRES_URL") else [])
    results: dict[str, object] = {"subscribers": PEOPLE, "batch": BATCH, "delay_s": DELAY}
    failures = []
    for kind in kinds:
        base = scenario("baseline", kind, baseline)
        results[f"baseline/{kind}"] = base
        print(f"baseline/{kind}", base, flush=True)
        for name, interrupt in INTERRUPTED.items():
            run = scenario(name, kind, interrupt)
            run["added_to_send_s"] = round(run["seconds"] - base["seconds"], 1)  # type: ignore[operator]
            results[f"{name}/{kind}"] = run
            failures += [f"{name}/{kind}: {m}" for m in missed(run)]
            print(f"{name}/{kind}", run, flush=True)
    results["goals"] = GOALS
    results["missed"] = failures
    write_results("self_healing", results)
    for failure in failures:
        print(f"goal missed: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
