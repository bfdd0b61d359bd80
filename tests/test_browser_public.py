"""A subscriber's preferences page in a real browser: headless Chromium (Debian's
package, through Playwright with executable_path) against the app served by uvicorn
on a free local port, as ``digest serve`` serves it. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from digest.components import Components, build_components
from digest.delivery.transport import MemoryTransport
from digest.models import SubscriberStatus
from digest.settings.config import load_settings
from digest.tokens import sign
from digest.web.app import create_app
from tests.conftest import FIXED_NOW
from tests.test_browser import ARTIFACTS, CHROMIUM, FLAGS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]
BEN = "ben.okafor@mail.example"  # Business;Technology, Europe/London in the sample CSV


@pytest.fixture
def components(project: Path) -> Iterator[Components]:
    settings = load_settings(project, {"DIGEST_SECRET_KEY": "browser-test-secret-" + "k" * 32})
    c = build_components(settings, clock=lambda: FIXED_NOW, transport=MemoryTransport())
    c.store.subscribers.upsert(c.subscribers(), FIXED_NOW)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def server(components: Components) -> Iterator[str]:
    """The app on 127.0.0.1 and a port the OS picked; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(components), log_level="warning", lifespan="off")
    web = uvicorn.Server(config)
    thread = threading.Thread(target=web.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not web.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        web.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.mark.parametrize("width", [375, 1024])
def test_subscriber_changes_sections_and_time_zone(
    browser, server: str, components: Components, width: int
) -> None:  # type: ignore[no-untyped-def]
    token = sign(components.signing_key(), "preferences", BEN)
    page = browser.new_page(viewport={"width": width, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(f"{server}/preferences/{token}")
    assert page.get_by_label("Business").is_checked()
    assert page.get_by_label("Technology").is_checked()
    assert not page.get_by_label("Sport").is_checked()
    assert page.input_value("#timezone") == "Europe/London"
    page.get_by_label("Business").uncheck()
    page.get_by_label("Sport").check()
    page.get_by_label("Science & Health").check()
    page.select_option("#timezone", "Asia/Tokyo")
    page.get_by_role("button", name="Save preferences").click()
    page.get_by_text("Saved.").wait_for()

    assert page.evaluate("document.documentElement.scrollWidth") <= width
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"preferences-{width}.png"), full_page=True)
    # What the page shows after saving is what the database holds.
    assert page.get_by_label("Sport").is_checked()
    assert not page.get_by_label("Business").is_checked()
    assert page.input_value("#timezone") == "Asia/Tokyo"
    record = components.store.subscribers.get(BEN)
    assert record is not None
    assert record.subscriber.topics == ("Technology", "Science & Health", "Sport")
    assert record.subscriber.timezone == "Asia/Tokyo"
    assert record.status == SubscriberStatus.ACTIVE
    assert record.preferences_set_at == FIXED_NOW

    # Pause, then the CSV sync before a send changes none of it.
    page.get_by_label("Pause deliveries").check()
    page.get_by_role("button", name="Save preferences").click()
    page.get_by_text("Deliveries are paused", exact=False).first.wait_for()
    components.store.subscribers.upsert(components.subscribers(), FIXED_NOW)
    record = components.store.subscribers.get(BEN)
    assert record is not None
    assert record.status == SubscriberStatus.PAUSED
    assert record.subscriber.timezone == "Asia/Tokyo"
    assert problems == []  # no CSP violation, no script error
    page.close()
