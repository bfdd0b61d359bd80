"""SMTP delivery with real processes: `digest send` against a real SMTP server
(aiosmtpd in this process, STARTTLS on a certificate made here, AUTH), killed with
SIGKILL at a random point and started again with no other command. Afterwards nobody
has the edition twice, and everybody has it once except the few messages that were
in flight at the kill (at most one per connection), reported ambiguous."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from digest.models import DeliveryState
from digest.store.database import open_store
from tests.smtp_server import PASSWORD, USER, Handler, SmtpServer, make_certificate

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Session.login_data")]

PEOPLE = 300
CONNECTIONS = 3
SECRET = "smtp-scenario-secret-" + "k" * 32


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[SmtpServer, Path]]:
    certificate = make_certificate(tmp_path)
    handler = Handler(delay=0.01)  # a send of a few seconds: room to kill it mid-way
    with SmtpServer(handler, certificate=certificate) as running:
        yield running, certificate[0]


def configure(project: Path, port: int, cert: Path) -> None:
    config = project.read_text().replace('transport = "outbox"', 'transport = "smtp"')
    config = config.replace(
        "[delivery.sendgrid]",
        f'batch_size = 50\n\n[delivery.smtp]\nhost = "127.0.0.1"\nport = {port}\n'
        f'username = "{USER}"\nca_file = "{cert}"\nconnections = {CONNECTIONS}\n'
        "timeout_seconds = 10\n\n[delivery.sendgrid]",
    )
    project.write_text(config)
    rows = "".join(f"p{i:04d}@mail.example,P{i},UTC,\n" for i in range(PEOPLE))
    (project.parent / "subscribers.csv").write_text("email,name,timezone,topics\n" + rows)


def digest(project: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "digest", *args, "--config", str(project)]


def environment() -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SMTP_PASSWORD": PASSWORD,
        "DIGEST_SECRET_KEY": SECRET,
        "COLUMNS": "200",
    }


def run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        digest(project, *args), env=environment(), capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_killed_send_is_resumed_and_nobody_gets_it_twice(
    project: Path, server: tuple[SmtpServer, Path], seed: int
) -> None:
    smtp, cert = server
    configure(project, smtp.port, cert)
    for step in ("collect", "build"):
        done = run(project, step)
        assert done.returncode == 0, done.stdout + done.stderr
    kill_after = random.Random(seed).randint(10, PEOPLE - 50)

    first = subprocess.Popen(
        digest(project, "send", "morning"),
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 120
    while sum(smtp.handler.counts.values()) < kill_after and first.poll() is None:
        assert time.monotonic() < deadline, "the send never got going"
        time.sleep(0.005)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    at_kill = sum(smtp.handler.counts.values())
    assert at_kill < PEOPLE, "the send finished before the kill: nothing was tested"

    again = run(project, "send", "morning")  # no other command: a resume
    assert again.returncode in (0, 1), again.stdout + again.stderr  # 1: some ambiguous

    got = smtp.handler.counts
    assert max(got.values()) == 1, "somebody got the edition twice"
    store = open_store(f"sqlite:///{project.parent.parent / 'var' / 'digest.db'}")
    try:
        edition = store.editions.latest("morning")
        assert edition is not None
        rows = {r.email: r.state for r in store.ledger.rows(edition.id)}
    finally:
        store.close()
    accepted = {e for e, s in rows.items() if s == DeliveryState.ACCEPTED}
    ambiguous = {e for e, s in rows.items() if s == DeliveryState.AMBIGUOUS}
    everyone = {f"p{i:04d}@mail.example" for i in range(PEOPLE)}
    assert accepted | ambiguous == everyone, "somebody was left out"
    assert len(ambiguous) <= CONNECTIONS, f"{len(ambiguous)} in doubt"
    assert accepted <= set(got), "a row says accepted that the server never got"
    assert set(got) <= accepted | ambiguous
    if ambiguous:
        assert "ambiguous" in again.stdout + again.stderr


# -- configuration, as operators meet it --------------------------------------------------


def test_config_check_probe_reports_what_the_server_offers(
    project: Path, server: tuple[SmtpServer, Path]
) -> None:
    smtp, cert = server
    configure(project, smtp.port, cert)
    done = run(project, "config", "check", "--probe")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"smtp 127.0.0.1:{smtp.port}:" in done.stdout and "logged in as digest" in done.stdout
    assert "TLSv1" in done.stdout and "AUTH" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr  # masked in the printed settings


def test_a_probe_with_a_wrong_password_is_one_line(
    project: Path, server: tuple[SmtpServer, Path]
) -> None:
    smtp, cert = server
    configure(project, smtp.port, cert)
    env = {**environment(), "SMTP_PASSWORD": "wrong"}
    done = subprocess.run(
        digest(project, "config", "check", "--probe"), env=env, capture_output=True, text=True
    )
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "refused the login of digest" in lines[0], done.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('username = "digest"', "needs both a username and $SMTP_PASSWORD"),
        ('host = "127.0.0.1"', "allowed only to a loopback address"),
    ],
)
def test_smtp_settings_that_cannot_work_are_one_line_and_exit_2(
    project: Path, server: tuple[SmtpServer, Path], change: str, message: str
) -> None:
    smtp, cert = server
    configure(project, smtp.port, cert)
    config = project.read_text()
    if change.startswith("username"):
        env = {k: v for k, v in environment().items() if k != "SMTP_PASSWORD"}
    else:
        config = config.replace(change, 'host = "smtp.example.org"\nsecurity = "none"')
        env = environment()
    project.write_text(config)
    done = subprocess.run(
        digest(project, "config", "check"), env=env, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_password_in_the_config_file_is_refused(
    project: Path, server: tuple[SmtpServer, Path]
) -> None:
    smtp, cert = server
    configure(project, smtp.port, cert)
    project.write_text(
        project.read_text().replace(f'username = "{USER}"', f'username = "{USER}"\npassword = "x"')
    )
    done = run(project, "config", "check")
    assert done.returncode == 2 and "set $SMTP_PASSWORD instead" in done.stderr


def test_tls_verify_off_is_warned_about(project: Path, server: tuple[SmtpServer, Path]) -> None:
    smtp, cert = server
    configure(project, smtp.port, cert)
    project.write_text(
        project.read_text().replace("connections =", "tls_verify = false\nconnections =")
    )
    done = run(project, "config", "check")
    assert done.returncode == 0, done.stderr
    assert "tls_verify = false" in done.stderr and "not checked" in done.stderr
