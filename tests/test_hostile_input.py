"""Findings of the security review about bad records: one bad subscriber row, one
huge feed item, a file in the wrong encoding or a bad database setting never stops a
send, never sends a broken email and never ends in a traceback."""

from __future__ import annotations

import email
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from email import policy
from pathlib import Path

import httpx
import pytest

from digest.delivery.deliverer import Deliverer
from digest.delivery.requests import DeliveryPolicy
from digest.delivery.transport import Envelope, MemoryTransport
from digest.models import Edition, Subscriber
from digest.rendering.personal import RenderedEdition
from digest.store.database import Store, open_store
from tests.conftest import FIXED_NOW, Clock
from tests.test_cli import digest

CLIP = 104_448  # Gmail clips the HTML of an email beyond this


def _emails(outbox: Path) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
        for p in sorted(outbox.glob("*.eml"))
    ]


# -- names and addresses (finding 4) ------------------------------------------------------


HOSTILE_CSV = (
    "email,name,timezone,topics\n"
    "ana@mail.example,Ana,UTC,\n"
    '"eve@mail.example","Eve\r\nBcc: victim@x.example",UTC,\n'
    "bell@mail.example,Bell\x07 \x1b[31mRed,UTC,\n"
    '"mallory@mail.example\r\nBcc: victim@x.example",Mallory,UTC,\n'
    "zed@mail.example,Zed,UTC,World\x00;Sport\n"
)


@pytest.mark.slow
def test_control_characters_in_a_subscriber_row_never_stop_the_send(project: Path) -> None:
    csv_file = project.parent / "hostile.csv"
    csv_file.write_bytes(HOSTILE_CSV.encode("utf-8"))
    imported = digest("subscribers", "import", str(csv_file), "--config", str(project))
    # The address with CR/LF is no address: its line is rejected, the others imported.
    assert imported.returncode == 1
    assert "line 6:" in imported.stderr and "mallory" in imported.stderr
    assert "4 added" in imported.stdout and "Traceback" not in imported.stderr

    run = digest("run", "--config", str(project))
    assert run.returncode == 0, run.stdout + run.stderr
    messages = _emails(project.parent.parent / "outbox")
    names = {m["To"].addresses[0].addr_spec: m["To"].addresses[0].display_name for m in messages}
    assert names["eve@mail.example"] == "Eve Bcc victim x.example"  # the name, cleaned
    assert names["bell@mail.example"] == "Bell [31mRed"
    assert all(m["Bcc"] is None for m in messages)
    assert not any("victim" in m["To"].addresses[0].addr_spec for m in messages)
    assert len(messages) == 8  # the four configured subscribers and the four imported


def test_a_row_that_cannot_be_addressed_is_rejected_and_the_rest_delivered(
    database_url: str,
) -> None:
    """A name from before names were cleaned (written into the table directly): its
    message cannot be built; it is rejected with the reason, nobody else is held up,
    and no row is left claimed."""
    store = open_store(database_url)
    people = [Subscriber(f"s{i}@mail.example", f"S{i}") for i in range(5)]
    store.subscribers.upsert(people, FIXED_NOW)
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE subscribers SET name = 'Eve\r\nBcc: v@x.example' WHERE email = 's2@mail.example'"
        )
    edition = Edition("morning", "Morning", "Morning", "2026-11-27", FIXED_NOW, ())
    edition_id = store.editions.save_draft(edition).id
    transport = MemoryTransport(max_recipients=2)
    report = _deliver(store, transport, edition_id)
    assert sorted(m.to.email for m in transport.sent) == [
        f"s{i}@mail.example" for i in (0, 1, 3, 4)
    ]
    assert report.rejected == 1
    counts = store.ledger.counts(edition_id)
    assert counts == {"accepted": 4, "rejected": 1}
    [bad] = [r for r in store.ledger.rows(edition_id) if r.state == "rejected"]
    assert bad.email == "s2@mail.example" and "no To header can be built" in (bad.error or "")
    store.close()


def test_an_unexpected_error_for_one_batch_fails_it_and_the_send_goes_on(
    database_url: str,
) -> None:
    store = open_store(database_url)
    store.subscribers.upsert([Subscriber(f"s{i}@mail.example") for i in range(4)], FIXED_NOW)
    edition = Edition("morning", "Morning", "Morning", "2026-11-27", FIXED_NOW, ())
    edition_id = store.editions.save_draft(edition).id

    def broken_for_one(envelope: Envelope) -> None:
        if envelope.recipients[0].subscriber.email == "s1@mail.example":
            raise RuntimeError("a bug in a transport")

    transport = MemoryTransport(broken_for_one, max_recipients=1)
    report = _deliver(store, transport, edition_id)
    assert sorted(m.to.email for m in transport.sent) == [f"s{i}@mail.example" for i in (0, 2, 3)]
    assert store.ledger.counts(edition_id) == {"accepted": 3, "failed": 1}
    [failed] = [r for r in store.ledger.rows(edition_id) if r.state == "failed"]
    assert "unexpected error: RuntimeError: a bug in a transport" in (failed.error or "")
    assert any("failed on an unexpected error" in note for note in report.notes)
    store.close()


def test_a_transport_that_always_breaks_stops_after_three_batches(database_url: str) -> None:
    store = open_store(database_url)
    store.subscribers.upsert([Subscriber(f"s{i}@mail.example") for i in range(6)], FIXED_NOW)
    edition = Edition("morning", "Morning", "Morning", "2026-11-27", FIXED_NOW, ())
    edition_id = store.editions.save_draft(edition).id

    def broken(envelope: Envelope) -> None:
        raise RuntimeError("broken")

    with pytest.raises(RuntimeError):
        _deliver(store, MemoryTransport(broken, max_recipients=1), edition_id)
    assert store.ledger.counts(edition_id) == {"failed": 3, "pending": 3}  # none left sending
    store.close()


def _deliver(store: Store, transport: MemoryTransport, edition_id: int):  # type: ignore[no-untyped-def]
    clock = Clock()
    deliverer = Deliverer(
        store.ledger,
        transport,
        clock=clock,
        sleep=clock.sleep,
        policy=DeliveryPolicy(batch_size=100),
        rng=random.Random(1),
    )
    rendered = RenderedEdition("morning/2026-11-27", "Subject", "<p>x</p>", "x", "nonce")
    return deliverer.deliver(edition_id, lambda s: rendered, lambda e: f"https://x.example/u/{e}")


# -- oversized items (finding 5) ------------------------------------------------------------

SENTENCE = "The council met on Monday to discuss the budget for the coming year in detail. "


def _huge_feed(path: Path) -> None:
    title = ("Enormous headline " * 60_000)[:1_000_000]
    items = [f"<item><title>{title}</title><link>https://huge.example/1</link>"]
    items[0] += (
        f"<description>{SENTENCE * 4}</description><pubDate>Fri, 27 Nov 2026 05:00:00 GMT</pubDate></item>"
    )
    path.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Huge</title>'
        + "".join(items)
        + "</channel></rss>",
        encoding="utf-8",
    )


@pytest.mark.slow
def test_a_1mb_title_and_a_5mb_article_keep_every_email_under_the_clip(project: Path) -> None:
    feeds = project.parent.parent / "samples" / "feeds"
    _huge_feed(feeds / "huge.xml")
    saved = project.parent.parent / "samples" / "saved"
    paragraphs = "\n\n".join(f"{SENTENCE * 5} Paragraph {i}." for i in range(12_000))
    (saved / "endless-report.txt").write_text("An endless report\n\n" + paragraphs[:5_000_000])
    project.write_text(
        project.read_text()
        + '\n[[sources]]\nname = "Huge"\nkind = "feed"\npath = "../samples/feeds/huge.xml"\nweight = 10\n'
    )
    started = time.monotonic()
    run = digest("run", "--config", str(project))
    assert run.returncode == 0, run.stdout + run.stderr
    assert time.monotonic() - started < 240
    messages = _emails(project.parent.parent / "outbox")
    assert len(messages) == 4
    for message in messages:
        html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
        assert len(html.encode("utf-8")) <= CLIP
        assert "Enormous headline " * 30 not in html  # the title was capped at ingestion
    everything = next(m for m in messages if "ana.lopez" in str(m["To"]))
    text = everything.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert text.count("\n* ") >= 10


@pytest.mark.slow
def test_caps_apply_to_the_offline_build_input(tmp_path: Path) -> None:
    import json

    record = {"id": "a", "title": "Word " * 100_000, "text": SENTENCE * 50_000}
    other = {"id": "b", "title": "Short", "text": SENTENCE * 3}
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(record) + "\n" + json.dumps(other) + "\n")
    out = tmp_path / "edition.json"
    result = digest(
        "build", "--articles", str(source), "--out", str(out), "--html", str(tmp_path / "e.html")
    )
    assert result.returncode == 0, result.stderr
    stories = [st for s in json.loads(out.read_text())["sections"] for st in s["stories"]]
    assert all(len(st["headline"]) <= 300 for st in stories)
    assert len((tmp_path / "e.html").read_bytes()) <= CLIP


# -- files in the wrong encoding (finding 6) ------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "command", [["subscribers", "import", "{csv}"], ["config", "check"], ["run"]]
)
def test_a_latin1_subscriber_file_is_one_clear_line(project: Path, command: list[str]) -> None:
    csv_file = project.parent / "subscribers.csv"
    csv_file.write_bytes(
        "email,name\nana@mail.example,Ana\nbea@mail.example,Beatriz Mu\xf1oz\n".encode("latin-1")
    )
    args = [a.replace("{csv}", str(csv_file)) for a in command]
    result = digest(*args, "--config", str(project))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "subscribers.csv" in result.stderr and "line 3: not UTF-8 (byte 0xf1)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not list((project.parent.parent / "outbox").glob("*.eml"))


def test_a_byte_order_mark_is_fine(project: Path) -> None:
    csv_file = project.parent / "subscribers.csv"
    csv_file.write_bytes(b"\xef\xbb\xbf" + csv_file.read_bytes())
    result = digest("config", "check", "--config", str(project))
    assert result.returncode == 0, result.stderr


# -- database settings (finding 7) --------------------------------------------------------


def _bad_databases(tmp_path: Path) -> dict[str, tuple[str, str]]:
    text_file = tmp_path / "notes.txt"
    text_file.write_text("not a database\n" * 100)
    good = tmp_path / "good.db"
    open_store(f"sqlite:///{good}").close()
    truncated = tmp_path / "truncated.db"
    truncated.write_bytes(good.read_bytes()[:3000])
    newer = tmp_path / "newer.db"
    shutil.copy(good, newer)
    db = sqlite3.connect(newer)
    db.execute("UPDATE alembic_version SET version_num = '0999_from_the_future'")
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # all in the file, before it is watched
    db.close()
    return {
        "unknown scheme": ("notadb://x", "notadb:// is not a database digest can use"),
        "no driver": ("mysql://u@localhost/d", "the driver for mysql:// is not installed"),
        "a text file": (f"sqlite:///{text_file}", "file is not a database"),
        "a damaged file": (f"sqlite:///{truncated}", "cannot open database"),
        "a newer schema": (f"sqlite:///{newer}", "is newer than this version of digest"),
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    "case", ["unknown scheme", "no driver", "a text file", "a damaged file", "a newer schema"]
)
def test_a_bad_database_setting_is_one_line_and_writes_nothing(
    project: Path, tmp_path: Path, case: str
) -> None:
    url, message = _bad_databases(tmp_path)[case]
    before = _tree(tmp_path)
    result = digest("run", "--config", str(project), env={"DIGEST_DATABASE_URL": url})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    # Nothing written, nothing left beside the files (a lock file, a journal), nothing
    # sent: every file of the folder as it was.
    assert _tree(tmp_path) == before


def _tree(folder: Path) -> dict[str, bytes | None]:
    """Every file and folder under ``folder``, with the bytes of each file."""
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
        for p in sorted(folder.rglob("*"))
    }


# -- proxy headers (finding 8) --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(project: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "digest",
            "serve",
            "--config",
            str(project),
            "--port",
            str(port),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={"PATH": "/usr/bin:/bin", "DIGEST_SECRET_KEY": "k" * 40},
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(base + "/healthz", timeout=1)
            return process, base
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError("digest serve did not start")


def _rotating_signups(base: str) -> list[int]:
    statuses = []
    with httpx.Client(base_url=base, timeout=10) as client:
        for i in range(7):
            form = client.get("/signup")
            token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            answer = client.post(
                "/signup",
                data={"csrf_token": token, "email": f"p{i}@mail.example"},
                headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
            )
            statuses.append(answer.status_code)
    return statuses


@pytest.mark.slow
def test_forwarded_headers_are_ignored_unless_the_proxy_is_trusted(project: Path) -> None:
    process, base = _serve(project)
    try:
        statuses = _rotating_signups(base)
    finally:
        process.terminate()
        process.wait(timeout=30)
    # Counted per peer (127.0.0.1) whatever the header says: the sixth is refused.
    assert statuses[:5] == [200] * 5 and statuses[5] == 429

    process, base = _serve(project, "--forwarded-allow-ips", "127.0.0.1")
    try:
        trusted = _rotating_signups(base)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert trusted == [200] * 7  # each forwarded client has its own count
