"""`digest sources import`, `export` and `status` as users call them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from digest.cli.main import app
from digest.cli.sources import Network
from digest.settings.config import load_settings
from tests.conftest import LocalServer, public_client, public_resolver
from tests.test_cli import digest

pytestmark = pytest.mark.slow

OPML = """<?xml version="1.0"?>
<opml version="2.0"><head><title>Export</title></head><body>
  <outline text="Sport">
    <outline text="Ball News" type="rss" xmlUrl="https://ball.example/rss" htmlUrl="https://ball.example/"/>
  </outline>
  <outline text="Tech Daily" type="rss" xmlUrl="https://tech.example/feed" category="/Technology"/>
  <outline text="Just a site" type="link" htmlUrl="https://site.example/"/>
</body></opml>
"""


def test_import_appends_checked_sources_and_skips_known_ones(project: Path) -> None:
    opml = project.parent / "feeds.opml"
    opml.write_text(OPML)
    before = project.read_text()
    result = digest("sources", "import", str(opml), "--config", str(project))
    assert result.returncode == 0, result.stderr
    found = "2 feeds found, 2 added, 0 skipped; 1 outline without xmlUrl"
    assert f"{found}: appended to {project}" in result.stdout
    assert "skipped 'Just a site' <https://site.example/>: no xmlUrl, not a feed" in result.stderr
    after = project.read_text()
    assert after.startswith(before) and "# Imported from feeds.opml on " in after
    assert (
        'name = "Ball News"\nkind = "feed"\nurl = "https://ball.example/rss"\ntopic = "Sport"'
        in after
    )

    check = digest("config", "check", "--config", str(project))
    assert check.returncode == 0 and "ok: 6 sources" in check.stdout, check.stderr

    again = digest("sources", "import", str(opml), "--config", str(project))
    assert again.returncode == 0, again.stderr
    assert "2 feeds found, 0 added, 2 skipped; 1 outline without xmlUrl; nothing to" in again.stderr
    assert (
        "'Ball News' <https://ball.example/rss>: already configured as 'Ball News'" in again.stderr
    )
    assert project.read_text() == after


def test_import_can_print_or_write_elsewhere(project: Path) -> None:
    opml = project.parent / "feeds.opml"
    opml.write_text(OPML)
    before = project.read_text()
    printed = digest("sources", "import", str(opml), "--config", str(project), "--out", "-")
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.count("[[sources]]") == 2 and "2 added, 0 skipped" in printed.stderr
    other = project.parent / "more-sources.toml"
    written = digest("sources", "import", str(opml), "--config", str(project), "--out", str(other))
    assert written.returncode == 0, written.stderr
    assert other.read_text() == printed.stdout.replace("\r\n", "\n")
    assert project.read_text() == before


def test_bad_opml_is_a_clear_error(project: Path) -> None:
    opml = project.parent / "feeds.opml"
    opml.write_text('<?xml version="1.0"?>\n<opml>\n<body>\n<outline text="x">\n</body></opml>\n')
    result = digest("sources", "import", str(opml), "--config", str(project))
    assert result.returncode == 2
    assert f"{opml}: line 5, column 3: mismatched tag" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_file_with_bare_ampersands_imports_every_feed(project: Path) -> None:
    opml = Path(__file__).parent / "opml" / "bare-ampersands.opml"
    listed = opml.read_text(encoding="utf-8").count("<outline type=")
    result = digest("sources", "import", str(opml), "--config", str(project))
    assert result.returncode == 0, result.stderr
    assert f"{listed} feeds found, {listed} added, 0 skipped: appended" in result.stdout
    assert result.stderr.count("repaired") == 1
    assert re.search(
        r"repaired line 9: bare '&' read as '&amp;' \(and [\d,]+ more\)", result.stderr
    )
    sources = load_settings(project, {}).sources
    assert len(sources) == 4 + listed
    assert all("&" in s.url for s in sources[4:] if s.url)


def test_a_url_on_a_private_address_is_one_line_and_exit_2(
    project: Path, local_server: LocalServer
) -> None:
    url = local_server.serve("/feeds.opml", OPML)
    before = project.read_text()
    result = digest("sources", "import", url, "--config", str(project))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {url}: refused to fetch {url}: 127.0.0.1 is 127.0.0.1, a private or local "
        "address; a feed list is fetched from public addresses only"
    ]
    assert local_server.requests == [] and project.read_text() == before


def test_a_url_import_adds_the_lists_feeds(project: Path, local_server: LocalServer) -> None:
    # In process, on a network where the server's host is a public one (the address
    # checks pass as for a host on the internet): fetched, repaired, appended.
    local_server.serve(
        "/lists/feeds.opml", OPML.replace("ball.example/rss", "ball.example/?a=1&b=2")
    )
    url = local_server.public_url + "/lists/feeds.opml"
    network = Network(client=public_client, resolver=public_resolver)
    result = CliRunner().invoke(
        app, ["sources", "import", url, "--config", str(project)], obj=network
    )
    assert result.exit_code == 0, result.output
    assert local_server.requests == ["/lists/feeds.opml"]
    assert "repaired line 4: bare '&' read as '&amp;'" in result.stderr
    assert "2 feeds found, 2 added, 0 skipped; 1 outline without xmlUrl: appended" in (
        result.stdout
    )
    added = load_settings(project, {}).sources[-2:]
    assert [(s.name, s.url, s.site) for s in added] == [
        ("Ball News", "https://ball.example/?a=1&b=2", "https://ball.example/"),
        ("Tech Daily", "https://tech.example/feed", None),
    ]
    assert f"# Imported from {url} on " in project.read_text()


def test_one_feed_is_one_feed(project: Path) -> None:
    opml = project.parent / "one.opml"
    opml.write_text(
        '<opml version="2.0"><body><outline text="Only" xmlUrl="https://only.example/rss"/>'
        "</body></opml>"
    )
    result = digest("sources", "import", str(opml), "--config", str(project))
    assert "1 feed found, 1 added, 0 skipped: appended" in result.stdout
    exported = digest("sources", "export", "-", "--config", str(project))
    assert "1 feed exported, 4 sources left out" in exported.stderr


def test_export_then_import_into_an_empty_config_gives_the_same_sources(project: Path) -> None:
    project.write_text(
        project.read_text()
        + """
[[sources]]
name = "Ball & Chain"
kind = "feed"
url = "https://ball.example/spip.php?page=backend&lang=en"
topic = "Sport"
language = "en"

[[sources]]
name = "Gadgets <daily>"
kind = "feed"
url = "https://gadgets.example/feed"
topic = "Technology"
site = "https://gadgets.example/?from=feed&lang=en"
enabled = false

[[sources]]
name = "No topic"
kind = "feed"
url = "https://plain.example/atom.xml"
"""
    )
    exported = project.parent / "ours.opml"
    result = digest("sources", "export", str(exported), "--config", str(project))
    assert result.returncode == 0, result.stderr
    assert f"3 feeds exported, 4 sources left out: written to {exported}" in result.stdout
    assert "left out 'Saved articles': a folder source, not a feed URL" in result.stderr
    printed = digest("sources", "export", "-", "--config", str(project))
    assert printed.returncode == 0, printed.stderr

    def undated(text: str) -> str:
        return re.sub(r"<dateCreated>.*</dateCreated>", "", text)

    assert undated(printed.stdout) == undated(exported.read_text(encoding="utf-8"))

    # The shipped config without its sources is the empty one.
    text = project.read_text()
    empty = project.parent / "empty.toml"
    empty.write_text(re.sub(r"\[\[sources\]\]\n(?:(?!\[).*\n|\n)*", "", text))
    assert load_settings(empty, {}).sources == ()
    imported = digest("sources", "import", str(exported), "--config", str(empty))
    assert imported.returncode == 0, imported.stderr
    assert "3 feeds found, 3 added, 0 skipped: appended" in imported.stdout
    assert "repaired" not in imported.stderr

    def feeds(path: Path) -> list[tuple[object, ...]]:
        sources = load_settings(path, {}).sources
        return [(s.name, s.url, s.topic, s.language, s.site, s.enabled) for s in sources if s.url]

    assert feeds(empty) == feeds(project) and len(feeds(empty)) == 3
    assert [f[4:] for f in feeds(empty)] == [
        (None, True),
        ("https://gadgets.example/?from=feed&lang=en", False),
        (None, True),
    ]
    assert "# site:" not in empty.read_text()


def test_status_lists_each_source_and_flags_a_failing_one(project: Path) -> None:
    project.write_text(
        project.read_text()
        + '\n[[sources]]\nname = "Gone"\nkind = "folder"\npath = "../samples/no-such-folder"\n'
    )
    for _ in range(3):
        collected = digest("collect", "--config", str(project))
        assert collected.returncode == 0, collected.stderr
    assert "failed (3 runs in a row)" in collected.stdout
    assert "failing 3+ runs in a row │ Gone" in collected.stdout
    assert "note: source 'Gone' has failed 3 runs in a row" in collected.stdout

    result = digest("sources", "status", "--config", str(project), "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["source"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {
        "The Harbour Times",
        "Northern Ledger",
        "Civic Wire",
        "Saved articles",
        "Gone",
    }
    assert rows["Gone"]["failure_streak"] == 3 and rows["Gone"]["flagged"] is True
    assert "no-such-folder is not a folder" in rows["Gone"]["last_error"]
    assert rows["Civic Wire"]["last_status"] == "ok" and rows["Civic Wire"]["fetches"] == 3
    assert rows["Civic Wire"]["last_failure"] is None

    table = digest("sources", "status", "--config", str(project))
    assert table.returncode == 0, table.stderr
    assert "Gone" in table.stdout and "failing 3+ runs in a row: Gone" in table.stdout
