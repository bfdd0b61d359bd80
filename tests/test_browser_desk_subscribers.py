"""The desk's subscribers pages in Chromium: an editor signs in, follows the bar's
link, searches, opens a subscriber, erases them through the confirmation step; the
database holds only the keyed hash afterwards. Plus paging and 404s over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from digest.components import Components, build_components
from digest.models import Subscriber
from digest.settings.config import load_settings
from tests.conftest import FIXED_NOW
from tests.served_app import free_port, serving
from tests.test_browser import CHROMIUM, FLAGS
from tests.test_desk import EDITOR, PASSWORD
from tests.test_newsletters import TECH

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def served(project: Path) -> Iterator[tuple[Components, str]]:
    project.write_text(project.read_text() + TECH)
    settings = load_settings(project, {"DIGEST_SECRET_KEY": "k" * 32})
    c = build_components(settings, clock=lambda: FIXED_NOW)
    c.store.editors.add(EDITOR, PASSWORD, FIXED_NOW)
    people = [Subscriber(f"reader{i:03}@mail.example", f"Reader {i}") for i in range(120)]
    c.store.subscribers.upsert(people, FIXED_NOW)
    port = free_port()
    try:
        with serving(c, port):
            yield c, f"http://127.0.0.1:{port}"
    finally:
        c.close()


def test_an_editor_searches_and_erases_a_subscriber_after_confirming(
    served: tuple[Components, str],
) -> None:
    from playwright.sync_api import sync_playwright

    c, base = served
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_context(viewport={"width": 375, "height": 800}).new_page()
        page.goto(f"{base}/desk/login")
        page.fill("#email", EDITOR)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/desk")
        page.get_by_role("link", name="Subscribers").click()
        page.wait_for_url(f"{base}/desk/subscribers")
        assert "morning 120 · tech 120" in page.inner_text("main")
        assert page.locator("table.subs tbody tr").count() == 50
        page.get_by_role("link", name="Next page").click()
        assert page.locator("table.subs tbody tr").first.inner_text().startswith("reader050")
        page.fill("input[name=q]", "reader042")
        page.get_by_role("button", name="Find").click()
        assert page.locator("table.subs tbody tr").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.get_by_role("link", name="reader042@mail.example").click()
        page.get_by_role("button", name="Erase", exact=False).click()
        page.get_by_text("Are you sure?").wait_for()
        assert c.store.subscribers.get("reader042@mail.example") is not None  # not yet
        page.get_by_role("button", name="Yes, erase").click()
        page.get_by_text("erased reader042@mail.example").wait_for()
        assert c.store.subscribers.get("reader042@mail.example") is None
        assert c.store.erasures.erased(["reader042@mail.example"], c.signing_key())
        browser.close()


def test_desk_subscriber_pages_refuse_strangers(
    served: tuple[Components, str],
) -> None:
    _, base = served
    with httpx.Client(base_url=base, follow_redirects=False) as client:
        assert client.get("/desk/subscribers").status_code == 303  # to sign-in
        assert client.post("/desk/subscribers/1/erase").status_code == 403
        assert client.get("/desk/subscribers/1").status_code == 303
