"""``digest subscribers import`` with other tools' exports, as users call it: what it
detected, counts per status, status changes listed, --dry-run, and one-line
refusals without a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.test_cli import digest

pytestmark = pytest.mark.slow

EXPORTS = Path(__file__).resolve().parent / "data" / "exports"


def test_an_export_is_detected_counted_by_status_and_idempotent(project: Path) -> None:
    config = ("--config", str(project))
    own = digest("subscribers", "import", str(project.parent / "subscribers.csv"), *config)
    assert own.returncode == 0, own.stderr
    assert "digest subscriber list: 4 rows" in own.stdout and "note:" not in own.stdout
    ghost = project.parent / "members.csv"
    ghost.write_text(
        (EXPORTS / "members.2024-06-30.csv").read_text(encoding="utf-8")
        + "65f0c1a2b3c4d5e6f7a8b9c9,ana.lopez@mail.example,Ana López,,false,,,,,,\n",
        encoding="utf-8",
    )
    first = digest("subscribers", "import", str(ghost), *config)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert "Ghost members export: 5 rows" in out
    assert (
        "note: columns not used by digest, ignored: id, note, complimentary_plan, "
        "stripe_customer_id, created_at, tiers" in out
    )
    assert "by status: 2 active, 3 unsubscribed" in out
    assert (
        "ana.lopez@mail.example: active -> unsubscribed (Ghost: subscribed_to_emails=false)" in out
    )
    assert "4 added, 1 updated, 0 unchanged, 0 rejected" in out
    again = digest("subscribers", "import", str(ghost), *config)
    assert "0 added, 0 updated, 5 unchanged, 0 rejected" in again.stdout
    assert "->" not in again.stdout  # no status changes the second time


def test_dry_run_prints_what_would_change_and_writes_nothing(project: Path) -> None:
    config = ("--config", str(project))
    export = str(EXPORTS / "subscribers.csv")
    dry = digest("subscribers", "import", export, "--dry-run", *config)
    assert dry.returncode == 0, dry.stderr
    assert "by status, if written: 1 pending, 1 unsubscribed, 1 blocklisted" in dry.stdout
    assert "dry run, nothing written: 3 added, 0 updated, 0 unchanged, 0 rejected" in dry.stdout
    assert "--format listmonk-subscribed" in dry.stdout  # what to do about "enabled"
    # A fresh install: the dry run made no database, migrated nothing, made no key.
    var = project.parent.parent / "var"
    assert not var.exists() or list(var.iterdir()) == []
    again = digest("subscribers", "import", export, "--dry-run", *config)
    assert "3 added" in again.stdout  # the first dry run wrote nothing
    real = digest("subscribers", "import", export, *config)
    assert "by status: 1 pending" in real.stdout and "3 added" in real.stdout
    assert "dry run" not in real.stdout
    assert (var / "digest.db").is_file() and (var / "secret_key").is_file()
    # With the database there: read as it is, and still nothing written.
    before = {p.name: p.read_bytes() for p in var.iterdir() if p.suffix != ".db-wal"}
    third = digest("subscribers", "import", export, "--dry-run", *config)
    assert "0 added, 0 updated, 3 unchanged" in third.stdout
    after = {p.name: p.read_bytes() for p in var.iterdir() if p.suffix != ".db-wal"}
    assert after.keys() == before.keys() and after["digest.db"] == before["digest.db"]


def test_an_unknown_shape_is_one_line_naming_its_columns(project: Path) -> None:
    odd = project.parent / "contacts.csv"
    odd.write_text("Contact,Mail\nAna,ana@mail.example\n", encoding="utf-8")
    result = digest("subscribers", "import", str(odd), "--config", str(project))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "columns: contact, mail" in result.stderr and "contacts.csv" in result.stderr


def test_a_mailchimp_file_of_unknown_members_is_refused_until_the_operator_says(
    project: Path,
) -> None:
    renamed = project.parent / "audience.csv"
    shutil.copy(EXPORTS / "subscribed_members_export_5f1e2d.csv", renamed)
    refused = digest("subscribers", "import", str(renamed), "--config", str(project))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "--format mailchimp-subscribed" in refused.stderr
    forced = digest(
        "subscribers", "import", str(renamed), "--format", "mailchimp-subscribed",
        "--config", str(project),
    )  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    assert "Mailchimp subscribed members export: 3 rows" in forced.stdout
    assert "by status: 3 active" in forced.stdout


def test_text_from_the_file_is_printed_as_text_not_markup(project: Path) -> None:
    export = project.parent / "members.csv"
    export.write_text(
        "email,subscribed_to_emails,[bold]x[/bold]\n"
        "ok@mail.example,true,\n"
        "[/x]@mail.example,true,\n"
        "odd@mail.example,[/y],\n",
        encoding="utf-8",
    )
    result = digest("subscribers", "import", str(export), "--config", str(project))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "ignored: [bold]x[/bold]" in result.stdout
    assert "line 3: '[/x]@mail.example' is not a valid email address" in result.stderr
    assert "line 4: subscribed_to_emails '[/y]' is not one of true, false" in result.stderr
    assert "1 added, 0 updated, 0 unchanged, 2 rejected" in result.stdout
    odd = project.parent / "odd.csv"
    odd.write_text("[/z],Mail\n1,2\n", encoding="utf-8")
    refused = digest("subscribers", "import", str(odd), "--config", str(project))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "columns: [/z], mail" in refused.stderr
