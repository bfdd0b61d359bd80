"""The desk's sources page in a real browser: headless Chromium (Debian's package,
Playwright with executable_path) against the app run by uvicorn on a local port, the
sources fetched by the real pipeline from a real local HTTP server. An editor signs
in, follows the bar's Sources link, and reads each source's health on a desktop and
on a 375 px phone without sideways scrolling. Screenshots go to tests/artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from digest import pipeline
from digest.components import Components, build_components
from digest.models import RunReport
from digest.settings.config import load_settings
from tests.conftest import FIXED_NOW, LocalServer
from tests.served_app import free_port, serving
from tests.test_browser import ARTIFACTS, CHROMIUM, FLAGS
from tests.test_desk import EDITOR, PASSWORD
from tests.test_desk_sources import BAD, GOOD, OFF, health_config

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


@pytest.fixture
def served(tmp_path: Path, local_server: LocalServer) -> Iterator[tuple[Components, str]]:
    settings = load_settings(health_config(tmp_path, local_server), {"DIGEST_SECRET_KEY": "k" * 32})
    c = build_components(settings, clock=lambda: FIXED_NOW)
    c.store.editors.add(EDITOR, PASSWORD, FIXED_NOW)
    for _ in range(3):
        pipeline.collect(c, RunReport())
    port = free_port()
    try:
        with serving(c, port):
            yield c, f"http://127.0.0.1:{port}"
    finally:
        c.close()


def test_an_editor_reads_the_sources_health_on_a_phone(
    served: tuple[Components, str],
) -> None:
    from playwright.sync_api import sync_playwright

    _, base = served
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
        page.goto(f"{base}/desk/sources")
        assert page.url.endswith("/desk/login")  # signed-in editors only
        page.fill("#email", EDITOR)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/desk")
        page.get_by_role("link", name="Sources").click()
        page.wait_for_url(f"{base}/desk/sources")

        headings = page.locator("section.source h2").all_inner_texts()
        assert len(headings) == 3
        assert all(h.startswith(n) for h, n in zip(headings, (GOOD, BAD, OFF), strict=True))
        bad = page.get_by_role("region", name=BAD, exact=False)
        assert "failed" in bad.locator("h2").inner_text()
        assert "HTTP 404 from" in bad.inner_text()
        assert page.locator("p.flash").inner_text() == f"Failing 3 or more runs in a row: {BAD}."
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "desk-sources.png"), full_page=True)

        page.set_viewport_size({"width": 375, "height": 800})
        page.reload()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        for card in page.locator("section.source").all():
            box = card.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
        assert page.get_by_role("link", name="Sources").is_visible()
        page.screenshot(path=str(ARTIFACTS / "desk-sources-phone.png"), full_page=True)
        browser.close()
