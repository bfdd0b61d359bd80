"""The subscriber pages with two editions (newsletters): /signup/NAME, /signup's
choice, unknown names a 404, the unsubscribe page scoped to a message's edition with
"everything" beside it, and the preferences page's newsletter checkboxes, in
Starlette's client and in a real browser at 375 px."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from digest import pipeline
from digest.audience.signup import SignUp
from digest.components import Components, build_components
from digest.delivery.transport import MemoryTransport
from digest.links import unsubscribe_url
from digest.models import SubscriberStatus
from digest.settings.config import load_settings
from digest.tokens import sign, verify
from digest.web.app import create_app
from tests.conftest import FIXED_NOW, make_components
from tests.test_browser import CHROMIUM
from tests.test_browser_public import browser, server  # noqa: F401  (fixtures)
from tests.test_newsletters import TECH

ANA = "ana.lopez@mail.example"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def components(project: Path) -> Iterator[Components]:
    project.write_text(project.read_text() + TECH)
    settings = load_settings(project, {"DIGEST_SECRET_KEY": "newsletter-test-" + "k" * 32})
    transport = MemoryTransport()
    c = build_components(settings, clock=lambda: FIXED_NOW, transport=transport)
    c.store.subscribers.upsert(c.subscribers(), FIXED_NOW)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def client(components: Components) -> Iterator[TestClient]:
    with TestClient(create_app(components), follow_redirects=False) as client:
        yield client


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found
    return found.group(1)


def test_signup_per_edition_and_unknown_names(client: TestClient, components: Components) -> None:
    assert client.get("/signup/nowhere").status_code == 404
    assert client.post("/signup/nowhere", data={"email": "x@mail.example"}).status_code == 404
    assert client.get("/signup/confirm").status_code == 404
    chooser = client.get("/signup")
    assert 'name="edition" value="morning"' in chooser.text
    assert 'name="edition" value="tech"' in chooser.text
    page = client.get("/signup/tech")
    assert page.status_code == 200 and 'action="/signup/tech"' in page.text
    assert 'name="edition"' not in page.text
    sent = client.post(
        "/signup/tech", data={"email": "new@mail.example", "csrf_token": _csrf(page.text)}
    )
    assert sent.status_code == 200
    mail = components.transport.sent[-1]  # type: ignore[attr-defined]
    token = re.search(r"/signup/confirm/([A-Za-z0-9_.-]+)", mail.text)
    assert token is not None
    value = verify(components.signing_key(), "signup", token.group(1), now=FIXED_NOW)
    wanted = SignUp.loads(value or "")
    assert wanted is not None and wanted.editions == ("tech",)


def test_unsubscribe_link_leaves_its_edition_or_everything(
    client: TestClient, components: Components
) -> None:
    key = components.signing_key()
    url = unsubscribe_url("", key, ANA, "tech")
    asked = client.get(url)
    assert "Unsubscribe from everything" in asked.text
    one = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert one.status_code == 200
    assert components.store.subscriptions.of(ANA) == {"*": "active", "tech": "unsubscribed"}
    assert components.store.subscribers.status(ANA) == SubscriberStatus.ACTIVE
    every = client.post(url, data={"scope": "everything"})
    assert every.status_code == 200 and "no more digests" in every.text
    assert components.store.subscribers.status(ANA) == SubscriberStatus.UNSUBSCRIBED
    bad = client.post("/unsubscribe/" + url.rpartition("/")[2][:-2] + "xx")
    assert bad.status_code == 404


@pytest.mark.slow
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_preferences_with_two_newsletters_at_375_px(
    browser,  # noqa: F811
    server: str,  # noqa: F811
    components: Components,
) -> None:  # type: ignore[no-untyped-def]
    token = sign(components.signing_key(), "preferences", ANA)
    page = browser.new_page(viewport={"width": 375, "height": 900})
    page.goto(f"{server}/preferences/{token}")
    assert page.get_by_label("The Morning Digest").is_checked()
    assert page.get_by_label('Tech "Briefing" <weekly>').is_checked()
    page.get_by_label('Tech "Briefing" <weekly>').uncheck()
    page.get_by_role("button", name="Save preferences").click()
    page.get_by_text("Saved.").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert not page.get_by_label('Tech "Briefing" <weekly>').is_checked()
    assert components.store.subscriptions.of(ANA) == {
        "morning": "active",
        "tech": "unsubscribed",
    }
    page.close()


def test_the_sent_messages_own_unsubscribe_link_leaves_only_its_edition(
    project: Path,
) -> None:
    # Sent through the outbox: the link is taken from the .eml written for Ana's
    # copy of tech, and posted as a mail client's one-click button does.
    project.write_text(project.read_text() + TECH)
    c = make_components(project, environ={"DIGEST_SECRET_KEY": "newsletter-test-" + "k" * 32})
    try:
        assert pipeline.run(c, "tech").delivered > 0
        copies = [
            message
            for path in sorted(c.settings.delivery.outbox_dir.rglob("*.eml"))
            for message in [email.message_from_bytes(path.read_bytes())]
            if message["To"].endswith(f"<{ANA}>") or message["To"] == ANA
        ]
        assert len(copies) == 1 and copies[0]["List-Id"].endswith("<tech.news.example>")
        link = copies[0]["List-Unsubscribe"].strip("<>")
        assert link.startswith(c.settings.web.base_url + "/unsubscribe/")
        with TestClient(create_app(c), follow_redirects=False) as client:
            answer = client.post(
                link.removeprefix(c.settings.web.base_url),
                data={"List-Unsubscribe": "One-Click"},
            )
        assert answer.status_code == 200
        assert c.store.subscriptions.of(ANA) == {"*": "active", "tech": "unsubscribed"}
        assert c.store.subscribers.status(ANA) == SubscriberStatus.ACTIVE
    finally:
        c.close()
