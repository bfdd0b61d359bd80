"""Operations scenarios with real processes: a project configured for the local
SendGrid stand-in, `digest scheduler` / `run` / `send` started as subprocesses,
stopped with SIGTERM or killed with SIGKILL at chosen moments, and what the stand-in
accepted counted afterwards."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from digest.models import Delivery
from digest.store.database import Store, open_store
from tests.sendgrid_server import SendGridServer

SECRET = "scenario-secret-" + "k" * 32


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Scenario:
    """One installation on disk (the shipped config and samples, switched to SendGrid
    at ``server``), ``people`` subscribers, the morning edition due at ``due``."""

    project: Path  # the config file
    server: SendGridServer
    database_url: str
    people: int = 200
    batch_size: int = 10
    due: datetime = field(default_factory=lambda: utcnow() - timedelta(minutes=2))
    lead_minutes: int = 0
    lease_seconds: int = 15
    edition_lease_seconds: int = 30
    timeout_seconds: float = 2.0
    max_attempts: int = 5
    extra: str = ""
    processes: list[subprocess.Popen[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.configure()

    def configure(self) -> None:
        config = self.project.read_text()
        config = config.replace('transport = "outbox"', 'transport = "sendgrid"')
        config = config.replace(
            'api_url = "https://api.sendgrid.com"', f'api_url = "{self.server.url}"'
        )
        config = config.replace("timeout_seconds = 30", f"timeout_seconds = {self.timeout_seconds}")
        config = config.replace(
            'outbox_dir = "../outbox"',
            f'outbox_dir = "../outbox"\nbatch_size = {self.batch_size}\n'
            f"max_attempts = {self.max_attempts}",
        )
        config = config.replace(
            'schedule = { cron = "0 7 * * *", timezone = "Europe/Madrid" }', self._schedule()
        )
        config += (
            f"\n[scheduler]\nlease_seconds = {self.lease_seconds}\nlead_minutes = {self.lead_minutes}\n"
            f"edition_lease_seconds = {self.edition_lease_seconds}\n"
            'collect = { cron = "0 0 1 1 *", timezone = "UTC" }\ncatch_up_seconds = 5\n'
            + self.extra
        )
        self.project.write_text(config)
        rows = "".join(f"p{i:05d}@mail.example,P{i},UTC,\n" for i in range(self.people))
        (self.project.parent / "subscribers.csv").write_text("email,name,timezone,topics\n" + rows)

    def _schedule(self) -> str:
        """Due at ``self.due``, in the zone where that is about noon: a test's minutes
        never cross the edition's local midnight (a new period, and the default
        deadline), whatever the hour the tests run at."""
        due = self.due.astimezone(UTC)
        offset = 12 - due.hour  # whole hours east of UTC, -11 to +12
        zone = "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
        local = due + timedelta(hours=offset)
        return f'schedule = {{ cron = "{local.minute} {local.hour} * * *", timezone = "{zone}" }}'

    @property
    def emails(self) -> set[str]:
        return {f"p{i:05d}@mail.example" for i in range(self.people)}

    def start(self, *args: str) -> subprocess.Popen[str]:
        """``digest ARGS --config ...`` in the background, its output kept."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "SENDGRID_API_KEY": "SG.test-key",
            "DIGEST_SECRET_KEY": SECRET,
            "DIGEST_DATABASE_URL": self.database_url,
            "COLUMNS": "200",
        }
        log = open(self.project.parent / f"proc-{len(self.processes)}.log", "w")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "digest", *args, "--config", str(self.project)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.processes.append(process)
        return process

    def output(self, process: subprocess.Popen[str]) -> str:
        index = self.processes.index(process)
        return (self.project.parent / f"proc-{index}.log").read_text()

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "SENDGRID_API_KEY": "SG.test-key",
            "DIGEST_SECRET_KEY": SECRET,
            "DIGEST_DATABASE_URL": self.database_url,
            "COLUMNS": "200",
        }
        return subprocess.run(
            [sys.executable, "-m", "digest", *args, "--config", str(self.project)],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def status(self) -> dict[str, object]:
        result = self.run("status", "--json")
        assert result.returncode in (0, 1), result.stdout + result.stderr
        data: dict[str, object] = json.loads(result.stdout)
        return data

    def accepted(self) -> int:
        return sum(self.server.delivered().values())

    def send_ats(self) -> set[int | None]:
        """The ``send_at`` of every request the stand-in accepted and did not cancel."""
        with self.server.lock:
            return {
                r.send_at
                for r in self.server.log
                if r.batch_id is None or r.batch_id not in self.server.cancelled
            }

    def serve(self, timeout: float = 180) -> str:
        """``digest serve`` on a free port (stopped with the others); its base URL."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        process = self.start("serve", "--port", str(port))
        base = f"http://127.0.0.1:{port}"
        up = self.wait_until(
            lambda: self._answers(base) or process.poll() is not None, timeout, 0.1
        )
        assert up and process.poll() is None, self.output(process)
        return base

    @staticmethod
    def _answers(base: str) -> bool:
        try:
            httpx.get(base + "/healthz", timeout=5)
        except httpx.TransportError:
            return False
        return True

    def healthz(self, base: str) -> tuple[int, dict[str, object]]:
        """``/healthz`` of a running ``digest serve``: status code and body."""
        answer = httpx.get(base + "/healthz", timeout=60)
        data: dict[str, object] = answer.json()
        return answer.status_code, data

    def wait_until(self, condition: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(step)
        return condition()

    def wait_for_requests(
        self, n: int, process: subprocess.Popen[str], timeout: float = 180
    ) -> bool:
        """Until the stand-in has seen ``n`` mail sends (or the process ended)."""
        return self.wait_until(
            lambda: self.server.requests_count >= n or process.poll() is not None, timeout, 0.002
        )

    def wait_ready(self, process: subprocess.Popen[str], timeout: float = 180) -> bool:
        """Until a scheduler is up: active, or standing by."""
        ready = ("Scheduler started", "standing by")
        return self.wait_until(lambda: any(r in self.output(process) for r in ready), timeout, 0.05)

    def signal(self, process: subprocess.Popen[str], sig: int) -> None:
        if process.poll() is None:
            process.send_signal(sig)
        process.wait(timeout=120)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=30)

    def store(self) -> Store:
        return open_store(self.database_url)

    def rows(self) -> list[Delivery]:
        store = self.store()
        try:
            edition = store.editions.latest("morning")
            return store.ledger.rows(edition.id) if edition else []
        finally:
            store.close()

    def assert_exactly_once(self, *, ambiguous_allowed: int = 0) -> None:
        """Nobody twice; everybody once, except rows reported ambiguous (at most
        ``ambiguous_allowed``), which may or may not have gone out."""
        delivered = self.server.delivered()
        assert not delivered or max(delivered.values()) == 1, "somebody was sent twice"
        rows = {r.email: r for r in self.rows()}
        accepted = {e for e, r in rows.items() if r.state == "accepted"}
        ambiguous = {e for e, r in rows.items() if r.state == "ambiguous"}
        assert len(ambiguous) <= ambiguous_allowed, f"{len(ambiguous)} ambiguous"
        assert accepted | ambiguous == self.emails, "somebody was left out"
        assert accepted <= set(delivered), "a row says accepted that the provider never got"
        assert set(delivered) <= accepted | ambiguous
