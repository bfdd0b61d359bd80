"""``digest subscribers`` with two editions, as users call it: the CSV ``editions``
column (good, empty, unknown, repeated), ``--edition``, list, export -> import (a
no-op), unsubscribe from one edition, suppress, erase (twice) and a refused
re-import."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.test_cli import digest
from tests.test_newsletters import TECH

pytestmark = pytest.mark.slow


def _project(project: Path) -> tuple[str, ...]:
    project.write_text(project.read_text() + TECH)
    (project.parent / "subscribers.csv").write_text("email,name,timezone,topics\n")
    return (
        "--config",
        str(project),
    )


def test_editions_column_list_export_round_trip_unsubscribe_and_erase(project: Path) -> None:
    config = _project(project)
    people = project.parent / "people.csv"
    people.write_text(
        "email,name,editions\n"
        "ana@mail.example,Ana,morning\n"
        "ben@mail.example,Ben,tech;tech\n"
        "cy@mail.example,Cy,\n"
        "dee@mail.example,Dee,morning;nowhere\n"
        "eve@mail.example,Eve,*\n"
    )
    first = digest("subscribers", "import", str(people), *config)
    assert first.returncode == 1  # one line rejected, the others imported
    assert "line 5: unknown edition(s) 'nowhere' (configured: morning, tech)" in first.stderr
    assert "4 added, 0 updated, 0 unchanged, 1 rejected" in first.stdout

    listed = digest("subscribers", "list", "--json", *config)
    rows = {r["email"]: r for r in json.loads(listed.stdout)}
    assert {e: r["editions"] for e, r in rows.items()} == {
        "ana@mail.example": "morning",
        "ben@mail.example": "tech",
        "cy@mail.example": "*",
        "eve@mail.example": "*",
    }
    tech = digest("subscribers", "list", "--edition", "tech", "--json", *config)
    assert {r["email"] for r in json.loads(tech.stdout)} == {
        "ben@mail.example",
        "cy@mail.example",
        "eve@mail.example",
    }
    found = digest("subscribers", "list", "--search", "BE", *config)
    assert "ben@mail.example" in found.stdout and "1 subscriber(s)" in found.stdout

    exported = project.parent / "export.csv"
    assert digest("subscribers", "export", str(exported), *config).returncode == 0
    with exported.open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert {r["email"]: r["editions"] for r in table}["cy@mail.example"] == "*"
    assert all(r["status"] == "active" and r["created_at"] for r in table)
    again = digest("subscribers", "import", str(exported), *config)
    assert again.returncode == 0, again.stderr
    assert "0 added, 0 updated, 4 unchanged, 0 rejected" in again.stdout

    off = digest("subscribers", "unsubscribe", "cy@mail.example", "--edition", "tech", *config)
    assert off.returncode == 0 and "unsubscribed from tech" in off.stdout
    after = json.loads(digest("subscribers", "list", "--json", *config).stdout)
    cy = next(r for r in after if r["email"] == "cy@mail.example")
    assert cy["editions"] == "morning" and cy["status"] == "active"

    assert digest("subscribers", "suppress", "ana@mail.example", *config).returncode == 0
    blocked = digest("subscribers", "list", "--status", "blocklisted", *config)
    assert "ana@mail.example" in blocked.stdout

    erased = digest("subscribers", "erase", "ben@mail.example", *config)
    assert erased.returncode == 0
    assert "erased ben@mail.example: address, name, time zone and sections" in erased.stdout
    assert "Not touched by erase: the subscriber list" in erased.stdout
    twice = digest("subscribers", "erase", "ben@mail.example", *config)
    assert twice.returncode == 0 and "erased before" in twice.stdout
    back = digest("subscribers", "import", str(people), "--edition", "tech", *config)
    assert "refused 1 erased address(es)" in back.stdout
    gone = digest("subscribers", "list", "--json", *config)
    assert "ben@mail.example" not in gone.stdout
    # --edition: Fay is new and gets tech only; Cy's unsubscribe from tech stands;
    # Eve has every edition already.
    more = project.parent / "more.csv"
    more.write_text("email,name\nfay@mail.example,Fay\ncy@mail.example,Cy\neve@mail.example,\n")
    added = digest("subscribers", "import", str(more), "--edition", "tech", *config)
    assert added.returncode == 0 and "1 added" in added.stdout
    listed = json.loads(digest("subscribers", "list", "--json", *config).stdout)
    editions = {r["email"]: r["editions"] for r in listed}
    assert editions["fay@mail.example"] == "tech"
    assert editions["cy@mail.example"] == "morning" and editions["eve@mail.example"] == "*"


def test_bad_edition_or_status_is_one_line_and_exit_2(project: Path) -> None:
    config = _project(project)
    people = project.parent / "people.csv"
    people.write_text("email\nana@mail.example\n")
    bad = digest("subscribers", "import", str(people), "--edition", "nowhere", *config)
    assert bad.returncode == 2 and "no edition named 'nowhere'" in bad.stderr
    assert "Traceback" not in bad.stderr
    status = digest("subscribers", "list", "--status", "happy", *config)
    assert status.returncode == 2 and "unknown status 'happy'" in status.stderr
    missing = digest("subscribers", "unsubscribe", "nobody@mail.example", *config)
    assert missing.returncode == 1 and "no subscriber nobody@mail.example" in missing.stderr
