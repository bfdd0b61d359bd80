"""Pending subscribers (imported without evidence of a confirmed sign-up) are never
mailed: not queued by the ledger, not sent by a real ``digest run``; a confirmed
sign-up makes them active, and the unsubscribe link in that mail stops them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from digest.components import Components, build_components
from digest.delivery.transport import MemoryTransport
from digest.models import Edition, ImportedSubscriber, SubscriberStatus
from digest.settings.config import load_settings
from digest.store.database import open_store
from digest.tokens import sign
from digest.web.app import create_app
from tests.conftest import FIXED_NOW, Clock
from tests.test_cli import digest

EXPORTS = Path(__file__).resolve().parent / "data" / "exports"
SECRET = "test-secret-" + "k" * 32
PENDING = "lea.lm@mail.example"  # "enabled" in the listmonk export
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_the_ledger_never_queues_a_pending_subscriber(database_url: str) -> None:
    store = open_store(database_url)
    try:
        store.subscribers.import_records(
            [
                ImportedSubscriber("on@mail.example", SubscriberStatus.ACTIVE),
                ImportedSubscriber("wait@mail.example", SubscriberStatus.PENDING),
            ],
            FIXED_NOW,
        )
        edition = Edition("morning", "Morning", "Morning", "2026-11-27", FIXED_NOW, ())
        edition_id = store.editions.save_draft(edition).id
        assert store.ledger.enqueue(edition_id, FIXED_NOW) == 1
        assert [d.email for d in store.ledger.rows(edition_id)] == ["on@mail.example"]
    finally:
        store.close()


@pytest.mark.slow
def test_a_real_run_after_an_import_mails_only_active_subscribers(project: Path) -> None:
    config = ("--config", str(project))
    for name in ("subscribers.csv", "buttondown-subscribers.csv", "members.2024-06-30.csv"):
        result = digest("subscribers", "import", str(EXPORTS / name), *config)
        assert result.returncode == 0, result.stdout + result.stderr
    # The configured list's Ana unsubscribed in the old tool: she stays unsubscribed,
    # though the list synced before the send names her.
    ghost = project.parent / "members.csv"
    ghost.write_text("email,subscribed_to_emails\nana.lopez@mail.example,false\n")
    assert digest("subscribers", "import", str(ghost), *config).returncode == 0

    run = digest("run", *config)
    assert run.returncode == 0, run.stdout + run.stderr
    listed = digest("deliveries", "morning", "--list", "--json", *config)
    sent = {row["email"] for row in json.loads(listed.stdout) if row["state"] == "accepted"}
    mailed = {
        "ben.okafor@mail.example",
        "chen.wei@mail.example",
        "dora@mail.example",
        "hana.gh@mail.example",
        "jo.gh@mail.example",
        *(f"{t}.bd@mail.example" for t in ("regular", "premium", "trialed", "gifted")),
        *(f"{t}.bd@mail.example" for t in ("churning", "past-due", "upcoming", "churned")),
        "unpaid.bd@mail.example",
    }
    assert sent == mailed
    outbox = project.parent.parent / "outbox"
    recipients = "".join(p.read_text(encoding="utf-8") for p in outbox.glob("*.eml"))
    assert PENDING not in recipients and "unactivated.bd@mail.example" not in recipients
    assert "To: Ana" not in recipients and "ana.lopez@mail.example" not in recipients


# -- the way out of pending: a confirmed sign-up (or the unsubscribe link) -----------------


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def transport() -> MemoryTransport:
    return MemoryTransport()


@pytest.fixture
def components(project: Path, clock: Clock, transport: MemoryTransport) -> Iterator[Components]:
    settings = load_settings(project, {"DIGEST_SECRET_KEY": SECRET})
    c = build_components(settings, clock=clock, transport=transport)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def client(components: Components) -> Iterator[TestClient]:
    with TestClient(create_app(components), follow_redirects=False) as client:
        yield client


def _post_form(client: TestClient, path: str, **fields: str) -> httpx.Response:
    found = CSRF.search(client.get(path).text)
    assert found, f"no form on {path}"
    return client.post(path, data={"csrf_token": found.group(1), **fields})


def _import_pending(c: Components) -> None:
    c.store.subscribers.import_records(
        [ImportedSubscriber(PENDING, SubscriberStatus.PENDING, reason="listmonk: status=enabled")],
        c.clock(),
    )


def test_a_confirmed_sign_up_makes_a_pending_address_active(
    client: TestClient, components: Components, transport: MemoryTransport, clock: Clock
) -> None:
    _post_form(client, "/signup", email=PENDING)
    [mail] = transport.sent
    found = re.search(r"https://digest\.news\.example(/signup/confirm/\S+)", mail.text)
    assert found
    clock.now = FIXED_NOW + timedelta(hours=1)
    _import_pending(components)  # imported after the link went out: still no stop
    clock.now = FIXED_NOW + timedelta(hours=2)
    assert _post_form(client, found.group(1)).status_code == 200
    assert components.store.subscribers.status(PENDING) == SubscriberStatus.ACTIVE


def test_the_unsubscribe_link_stops_a_pending_address(
    client: TestClient, components: Components
) -> None:
    _import_pending(components)
    token = sign(components.signing_key(), "unsubscribe", PENDING)
    assert client.post(f"/unsubscribe/{token}").status_code == 200
    assert components.store.subscribers.status(PENDING) == SubscriberStatus.UNSUBSCRIBED


def test_the_preferences_page_of_a_pending_address_asks_for_a_sign_up(
    client: TestClient, components: Components
) -> None:
    _import_pending(components)
    token = sign(components.signing_key(), "preferences", PENDING)
    page = client.get(f"/preferences/{token}").text
    assert "until its sign-up is confirmed" in page and 'href="/signup"' in page
    assert 'name="section"' not in page  # nothing to set: no preferences before a sign-up
