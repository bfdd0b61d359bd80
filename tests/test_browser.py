"""The sample edition in a real browser: headless Chromium (Debian's package, driven by
Playwright with executable_path) at phone and desktop widths, light and dark.
Screenshots are kept in tests/artifacts/ for people to look at."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from digest import pipeline
from digest.components import build_components
from digest.delivery.transport import MemoryTransport
from digest.settings.config import load_settings
from tests.conftest import FIXED_NOW, REPO

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO / "tests" / "artifacts"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def sample_email(project: Path) -> Path:
    """The sample edition as Ana (all sections) receives it, saved as a page."""
    c = build_components(
        load_settings(project, {}), clock=lambda: FIXED_NOW, transport=MemoryTransport()
    )
    pipeline.run(c, None)
    transport = c.transport
    assert isinstance(transport, MemoryTransport)
    message = next(m for m in transport.sent if m.to.email == "ana.lopez@mail.example")
    path = project.parent.parent / "email.html"
    path.write_text(message.html, encoding="utf-8")
    return path


@pytest.mark.parametrize("width", [320, 375, 600])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_sample_edition_reads_well_at_every_width(
    browser, sample_email: Path, width: int, scheme: str
) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(sample_email.as_uri())
    page.wait_for_load_state("load")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"horizontal scroll at {width}px: {scroll_width}"
    images_without_alt = page.evaluate(
        "[...document.images].filter(i => !i.hasAttribute('alt')).length"
    )
    assert images_without_alt == 0
    hrefs = page.evaluate(
        "[...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))"
    )
    assert hrefs, "no links at all"
    relative = [h for h in hrefs if not h.startswith(("https://", "http://", "mailto:"))]
    assert not relative, relative
    assert page.evaluate("document.scripts.length") == 0  # the hostile article is inert
    assert dialogs == []
    body_color = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert (body_color == "rgb(11, 17, 24)") == (scheme == "dark")  # dark mode applies
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"edition-{width}-{scheme}.png"), full_page=True)
    page.close()
