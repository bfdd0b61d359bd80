"""`digest sources import` and `digest sources status` as users call them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
    assert f"2 added, 1 skipped: appended to {project}" in result.stdout
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
    assert "0 added, 3 skipped; nothing to write" in again.stderr
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
    assert printed.stdout.count("[[sources]]") == 2 and "2 added, 1 skipped" in printed.stderr
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
