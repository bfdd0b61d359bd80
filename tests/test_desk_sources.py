"""The desk's sources page: each source's health as ``digest sources status`` shows it,
behind the editor's sign-in. Sources are fetched by the real pipeline from a real
local HTTP server (one good, one gone, one disabled), into SQLite and PostgreSQL;
the page is read through Starlette's TestClient and parsed as HTML."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from digest import pipeline
from digest.components import Components, build_components
from digest.models import RunReport
from digest.settings.config import load_settings
from digest.store.health import FetchRecord
from tests.conftest import FIXED_NOW, LocalServer
from tests.test_desk import EDITOR, PASSWORD, client_for, sign_in
from tests.test_source_health import RSS

GOOD = "Good <Times>"
BAD = "Bad & <b>Co</b>"
OFF = "Switched off"
HOSTILE_ERROR = '<script>alert("x")</script> parse error near ]]> ' + "x" * 2000


def health_config(tmp_path: Path, server: LocalServer) -> Path:
    """Three feed sources on the local server: good, gone (404) and disabled."""
    server.serve("/good.xml", RSS, content_type="application/rss+xml")
    server.serve("/bad.xml", "gone", status=404)
    sources = [(GOOD, "/good.xml", "true"), (BAD, "/bad.xml", "true"), (OFF, "/off.xml", "false")]
    tables = "".join(
        f'[[sources]]\nname = "{name}"\nkind = "feed"\nurl = "{server.url}{path}"\n'
        f"local = true\nenabled = {enabled}\n"
        for name, path, enabled in sources
    )
    config = tmp_path / "digest.toml"
    config.write_text(
        f'var_dir = "var"\n[storage]\nurl = "sqlite:///var/digest.db"\n[fetching]\nretries = 0\n'
        f'{tables}[[editions]]\nname = "morning"\ntitle = "Morning"\n',
        encoding="utf-8",
    )
    return config


@pytest.fixture
def c(tmp_path: Path, local_server: LocalServer, database_url: str) -> Iterator[Components]:
    environ = {"DIGEST_SECRET_KEY": "k" * 32, "DIGEST_DATABASE_URL": database_url}
    settings = load_settings(health_config(tmp_path, local_server), environ)
    components = build_components(settings, clock=lambda: FIXED_NOW)
    components.store.editors.add(EDITOR, PASSWORD, FIXED_NOW)
    try:
        yield components
    finally:
        components.close()


def collect_three_times(c: Components) -> None:
    for _ in range(3):
        pipeline.collect(c, RunReport())


def cards(html: str) -> dict[str, Any]:
    """The page's source cards by the source's name (the heading's first text)."""
    tree = lxml.html.fromstring(html)
    found = {}
    for card in tree.xpath("//section[contains(@class, 'source')]"):
        name = card.xpath("./h2")[0].text.strip()
        found[name] = card
    return found


def field(card: Any, label: str) -> str:
    values = card.xpath(f"./dl/dt[text()='{label}']/following-sibling::dd[1]")
    assert values, f"no {label!r} on the card"
    return " ".join(values[0].text_content().split())


def test_the_sources_page_needs_a_session(c: Components) -> None:
    with client_for(c) as client:
        response = client.get("/desk/sources")

    assert response.status_code == 303
    assert response.headers["location"] == "/desk/login"


def test_each_source_shows_its_health(c: Components, local_server: LocalServer) -> None:
    collect_three_times(c)
    with client_for(c) as client:
        sign_in(client)
        desk = client.get("/desk").text
        response = client.get("/desk/sources")

    assert 'href="/desk/sources"' in desk  # the desk's nav links it
    assert response.status_code == 200
    shown = cards(response.text)
    assert list(shown) == [GOOD, BAD, OFF]  # the config's order, names as text

    good = shown[GOOD]
    assert good.xpath(".//h2/span[contains(@class, 'status')]")[0].text == "ok"
    assert field(good, "Last fetch") == "2026-11-27 06:00 UTC"
    assert field(good, "Last items") == "1 item: 0 stored, 1 known, 0 skipped"  # the 3rd fetch
    assert field(good, "Failures in a row") == "0"
    assert field(good, "Last failure") == "-"
    assert "flagged" not in good.get("class")

    bad = shown[BAD]
    assert bad.xpath(".//h2/span[contains(@class, 'status')]")[0].text == "failed"
    assert field(bad, "Failures in a row") == "3"
    assert field(bad, "Last error") == f"HTTP 404 from {local_server.url}/bad.xml"
    assert field(bad, "Last success") == "-"
    assert field(bad, "Fetches kept") == "3"
    assert "flagged" in bad.get("class")
    banner = lxml.html.fromstring(response.text).xpath("//p[contains(@class, 'flash')]")
    assert [" ".join(p.text_content().split()) for p in banner] == [
        f"Failing 3 or more runs in a row: {BAD}."
    ]

    off = shown[OFF]
    assert off.xpath(".//h2/span/text()") == ["never fetched", "disabled"]
    assert field(off, "Last fetch") == "-"
    assert field(off, "Last items") == "-"


def test_the_counts_are_those_digest_sources_status_reports(c: Components) -> None:
    collect_three_times(c)
    [good, bad, _] = c.store.health.status([s.name for s in c.settings.sources])

    with client_for(c) as client:
        sign_in(client)
        shown = cards(client.get("/desk/sources").text)

    assert field(shown[GOOD], "Fetches kept") == str(good.fetches)
    assert field(shown[BAD], "Failures in a row") == str(bad.failure_streak)


def test_untrusted_text_is_escaped_and_capped(c: Components) -> None:
    c.store.health.record(
        FetchRecord(OFF, FIXED_NOW + timedelta(minutes=1), 10, "failed", error=HOSTILE_ERROR)
    )
    with client_for(c) as client:
        sign_in(client)
        response = client.get("/desk/sources")

    page = response.text
    assert "<script>" not in page and "<b>Co</b>" not in page and "<Times>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "Bad &amp; &lt;b&gt;Co&lt;/b&gt;" in page
    error = field(cards(page)[OFF], "Last error")
    assert error.startswith('<script>alert("x")</script> parse error near ]]>')
    assert error.endswith("…") and len(error) <= 500


def test_no_source_configured(tmp_path: Path) -> None:
    config = tmp_path / "digest.toml"
    config.write_text(
        'var_dir = "var"\n[storage]\nurl = "sqlite:///var/digest.db"\n'
        '[[editions]]\nname = "morning"\ntitle = "Morning"\n',
        encoding="utf-8",
    )
    c = build_components(load_settings(config, {"DIGEST_SECRET_KEY": "k" * 32}))
    c.store.editors.add(EDITOR, PASSWORD, FIXED_NOW)
    try:
        with client_for(c) as client:
            sign_in(client)
            response = client.get("/desk/sources")
    finally:
        c.close()

    assert response.status_code == 200
    assert "No source is configured." in response.text
    assert cards(response.text) == {}
