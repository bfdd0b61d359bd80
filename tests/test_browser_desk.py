"""The editor's desk and the unsubscribe link in a real browser: headless Chromium
(Debian's package, Playwright with executable_path) against `digest serve`'s app run
by uvicorn on a local port, on a real SQLite file and the outbox transport.

An editor signs in, reorders and rewrites a story, approves; the scheduler's check
sends the edition and the delivered .eml shows the edit. A subscriber then follows
the unsubscribe link from their .eml and is not sent the next edition.
Screenshots are kept in tests/artifacts/.
"""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from email.utils import parseaddr
from pathlib import Path

import pytest

from digest import pipeline
from digest.components import Components, build_components
from digest.models import SubscriberStatus
from digest.scheduler.wiring import Runner
from digest.settings.config import load_settings
from tests.conftest import FIXED_NOW
from tests.served_app import free_port, serving
from tests.test_browser import ARTIFACTS, CHROMIUM, FLAGS
from tests.test_desk import EDITOR, PASSWORD, Clock, html_part

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def served(project: Path) -> Iterator[tuple[Components, Clock, str]]:
    """The shipped config (the morning edition needing approval, links pointing at
    the local server), its components, and the app served on a free port."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    text = project.read_text(encoding="utf-8")
    text = text.replace('base_url = "https://digest.news.example"', f'base_url = "{base}"')
    text = text.replace('name = "morning"\n', 'name = "morning"\nrequires_approval = true\n')
    project.write_text(text, encoding="utf-8")
    clock = Clock()
    c = build_components(load_settings(project, {"DIGEST_SECRET_KEY": "k" * 32}), clock=clock)
    c.store.editors.add(EDITOR, PASSWORD, FIXED_NOW)
    with serving(c, port):
        yield c, clock, base
    c.close()


@pytest.fixture
def page(project: Path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        yield context.new_page()
        browser.close()


def delivered(c: Components, period: str) -> dict[str, Message]:
    """The period's .eml files by recipient address."""
    out: dict[str, Message] = {}
    for path in sorted(c.settings.delivery.outbox_dir.glob(f"morning-{period}-*.eml")):
        message = email.message_from_bytes(path.read_bytes())
        address = parseaddr(str(message["To"]))[1]
        assert "@" in address, message["To"]
        out[address.lower()] = message
    return out


def test_editor_reorders_rewrites_approves_and_the_email_shows_it(
    served: tuple[Components, Clock, str], page
) -> None:  # type: ignore[no-untyped-def]
    c, _, base = served
    held = pipeline.run(c, "morning")
    assert held.held
    stored = c.store.editions.latest("morning")
    assert stored is not None and stored.status == "draft"
    section = next(s for s in stored.edition.sections if len(s.stories) >= 2)
    first, second = section.stories[0], section.stories[1]

    page.goto(f"{base}/desk")
    assert page.url.endswith("/desk/login")
    page.fill("#email", EDITOR)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/desk")
    page.click(f"a[href='/desk/editions/{stored.id}']")
    page.wait_for_url(re.compile(rf".*/desk/editions/{stored.id}$"))

    card = page.locator(f"#story-{second.id}")
    card.get_by_role("button", name="Move up").click()
    page.wait_for_load_state("load")
    card = page.locator(f"#story-{second.id}")
    card.locator("summary").click()
    card.locator("input[name=headline]").fill("Edited in the browser: " + second.headline)
    card.get_by_role("button", name="Save").click()
    page.wait_for_load_state("load")
    assert page.locator(f"#story-{second.id} h3").inner_text().startswith("Edited in the browser")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "desk-edition.png"))

    page.goto(f"{base}/desk/editions/{stored.id}/preview")
    page.frame_locator("iframe[title='Phone preview']").locator("body").wait_for()
    page.screenshot(path=str(ARTIFACTS / "desk-preview.png"))
    # The desk works on a phone too: no sideways scrolling.
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(f"{base}/desk/editions/{stored.id}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(ARTIFACTS / "desk-edition-phone.png"))
    page.get_by_role("button", name="Approve").click()
    page.wait_for_load_state("load")
    assert "Approved" in page.inner_text("main")

    Runner(c).release_approved()
    messages = delivered(c, stored.edition.period)
    assert messages
    showing = [html_part(m) for m in messages.values() if "Edited in the browser" in html_part(m)]
    assert showing, "no delivered email shows the edited headline"
    sent = c.store.editions.latest("morning")
    assert sent is not None and sent.status == "sent"
    order = [st.id for s in sent.edition.sections if s.name == section.name for st in s.stories]
    assert order.index(second.id) < order.index(first.id)  # the reorder went out


def test_subscriber_unsubscribes_from_the_eml_and_gets_no_more(
    served: tuple[Components, Clock, str], page
) -> None:  # type: ignore[no-untyped-def]
    c, clock, base = served
    pipeline.run(c, "morning")
    stored = c.store.editions.latest("morning")
    assert stored is not None
    assert c.store.editions.approve(stored.id, EDITOR, clock())
    Runner(c).release_approved()
    first = delivered(c, stored.edition.period)
    leaver, message = sorted(first.items())[0]
    link = re.search(rf'href="({re.escape(base)}/unsubscribe/[^"]+)"', html_part(message))
    assert link, "no unsubscribe link in the delivered email"
    header = message["List-Unsubscribe"]
    assert link.group(1) in header

    page.goto(link.group(1))
    assert "Unsubscribe" in page.inner_text("h1")
    assert c.store.subscribers.status(leaver) == SubscriberStatus.ACTIVE  # a GET alone does nothing
    page.get_by_role("button", name="Unsubscribe").click()
    page.wait_for_load_state("load")
    assert "Unsubscribed" in page.inner_text("h1")
    page.screenshot(path=str(ARTIFACTS / "unsubscribed.png"), full_page=True)
    assert c.store.subscribers.status(leaver) == SubscriberStatus.UNSUBSCRIBED

    # The next day brings a new article.
    saved = c.settings.config_path.parent.parent / "samples" / "saved"
    (saved / "ferry-timetable.txt").write_text(
        "Ferry timetable changes for the winter\n\n"
        "The harbour ferry company will run fewer crossings from next week, cutting the "
        "late evening sailings on weekdays, the operator said on Thursday. Passengers "
        "groups said the change would leave shift workers without a way home.\n\n"
        "The company said demand after nine in the evening had fallen by a third since "
        "the summer and that the savings would pay for a new ticket office.\n",
        encoding="utf-8",
    )
    clock.now = FIXED_NOW + timedelta(days=1)
    pipeline.run(c, "morning")
    tomorrow = c.store.editions.latest("morning")
    assert tomorrow is not None and tomorrow.edition.period != stored.edition.period
    assert c.store.editions.approve(tomorrow.id, EDITOR, clock())
    Runner(c).release_approved()
    second = delivered(c, tomorrow.edition.period)
    assert second, "the next edition went to nobody"
    assert leaver not in second
    assert set(second) == set(first) - {leaver}
