"""The CLI as users call it: a subprocess, exit codes, messages without tracebacks."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def digest(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digest", *args],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", **(env or {})},
        cwd=cwd,
        timeout=300,
    )


def test_config_check_prints_masked_settings(project: Path) -> None:
    result = digest(
        "config", "check", "--config", str(project), env={"SENDGRID_API_KEY": "SG.secret-value"}
    )
    assert result.returncode == 0, result.stderr
    assert "SG.secret-value" not in result.stdout
    assert "ok: 4 sources, 1 editions, 4 subscribers" in result.stdout


def test_config_from_environment_variable(project: Path) -> None:
    result = digest("config", "check", env={"DIGEST_CONFIG": str(project)})
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        ('cron = "0 7 * * *"', 'cron = "0 25 * * *"', "editions[0].schedule"),
        ('timezone = "Europe/Madrid"', 'timezone = "Mars/Olympus"', "IANA time zone"),
        (
            'from_email = "digest@news.example"',
            'from_email = "not an address"',
            "delivery.from_email",
        ),
        ('name = "digest"', 'name = "digest"\ncolour = "blue"', "colour: unknown key"),
    ],
)
def test_bad_config_exits_2_naming_the_field(
    project: Path, replace: str, by: str, message: str
) -> None:
    project.write_text(project.read_text().replace(replace, by, 1))
    result = digest("config", "check", "--config", str(project))
    assert result.returncode == 2
    assert message in result.stderr
    assert str(project) in result.stderr.replace("\n", "")
    assert "Traceback" not in result.stderr


def test_bad_config_stops_run_before_anything_is_sent(project: Path) -> None:
    project.write_text(
        project.read_text().replace('timezone = "Europe/Madrid"', 'timezone = "Nowhere"')
    )
    result = digest("run", "--config", str(project))
    assert result.returncode == 2
    assert not (project.parent.parent / "outbox").exists()


def test_preview_of_unknown_edition_is_a_clear_error(project: Path, tmp_path: Path) -> None:
    result = digest(
        "preview", "evening", "--out", str(tmp_path / "p.html"), "--config", str(project)
    )
    assert result.returncode == 1
    assert "no edition 'evening'" in result.stderr
    assert "Traceback" not in result.stderr


def test_offline_extract_and_build_formats(tmp_path: Path) -> None:
    docs = tmp_path / "docs.jsonl.gz"
    with gzip.open(docs, "wt", encoding="utf-8") as handle:
        handle.write(
            json.dumps(
                {
                    "id": "h1",
                    "url": "https://x.example/a",
                    "html": "<html><body><article>"
                    "<h1>Dam opens</h1><p>The new dam opened on Monday after six years of work "
                    "on the river, officials said.</p></article></body></html>",
                }
            )
            + "\n"
        )
        handle.write(
            json.dumps(
                {
                    "id": "t1",
                    "text": "Dam opens\nDam opens\n\nThe new dam opened on Monday "
                    "after six years of work, officials said on the day.\n\nFollow us on X",
                }
            )
            + "\n"
        )
        handle.write(json.dumps({"id": "e1"}) + "\n")
    out = tmp_path / "out.jsonl"
    result = digest("extract", "--jsonl", str(docs), "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert set(rows) == {"h1", "t1", "e1"}
    assert "six years" in rows["h1"]["text"]
    assert rows["t1"]["title"] == "Dam opens" and "Follow us" not in rows["t1"]["text"]
    assert rows["e1"]["text"] == ""

    articles = tmp_path / "articles.jsonl"
    articles.write_text(
        "\n".join(
            json.dumps(
                {"id": f"a{n}", "title": f"Dam number {n} opens", "text": f"Dam {n} opened today."}
            )
            for n in range(3)
        )
    )
    edition = tmp_path / "edition.json"
    html = tmp_path / "e.html"
    result = digest(
        "build", "--articles", str(articles), "--out", str(edition), "--all", "--html", str(html)
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(edition.read_text())
    ids = [i for s in data["sections"] for story in s["stories"] for i in story["articles"]]
    assert sorted(ids) == ["a0", "a1", "a2"]
    assert all(
        {"headline", "summary", "articles"} <= set(story)
        for s in data["sections"]
        for story in s["stories"]
    )
    assert html.read_text().lower().startswith("<!doctype html>")


def test_bad_jsonl_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a"}\n{not json}\n')
    result = digest("extract", "--jsonl", str(bad), "--out", str(tmp_path / "o.jsonl"))
    assert result.returncode == 2
    assert "line 2" in result.stderr and "Traceback" not in result.stderr


def test_subscribers_import_reports_bad_lines_and_is_idempotent(
    project: Path, tmp_path: Path
) -> None:
    csv = tmp_path / "people.csv"
    csv.write_text(
        "email,name,timezone,topics\n"
        "new.one@mail.example,New One,Europe/Madrid,Sport\n"
        "not-an-address,Bad,UTC,\n"
        "ANA.LOPEZ@mail.example,Ana López,Europe/Madrid,\n"
        "tz@mail.example,Tz,Mars/Olympus,\n"
    )
    first = digest("subscribers", "import", str(csv), "--config", str(project))
    assert first.returncode == 1  # some lines were rejected
    assert "line 3" in first.stderr and "line 5" in first.stderr
    assert "2 added, 0 updated, 0 unchanged, 2 rejected" in first.stdout
    again = digest("subscribers", "import", str(csv), "--config", str(project))
    assert "0 added, 0 updated, 2 unchanged, 2 rejected" in again.stdout


def test_deliveries_counts_by_state(project: Path) -> None:
    assert digest("run", "--config", str(project)).returncode == 0
    result = digest("deliveries", "morning", "--json", "--config", str(project))
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout)
    assert counts["accepted"] == 4 and counts["status"] == "sent"


def test_deliveries_list_and_source_history(project: Path) -> None:
    assert digest("run", "--config", str(project)).returncode == 0
    listed = digest("deliveries", "morning", "--list", "--json", "--config", str(project))
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert len(rows) == 4 and {r["state"] for r in rows} == {"accepted"}
    none = digest(
        "deliveries", "morning", "--list", "--state", "failed", "--json", "-c", str(project)
    )
    assert json.loads(none.stdout) == []
    history = digest("sources", "history", "Civic Wire", "--json", "--config", str(project))
    assert history.returncode == 0, history.stderr
    [fetch] = json.loads(history.stdout)
    assert fetch["status"] == "ok" and fetch["seen"] > 0
    unknown = digest("sources", "history", "Nope", "--config", str(project))
    assert unknown.returncode == 2 and "no source named 'Nope'" in unknown.stderr


def test_approve_and_test_send_from_the_command_line(project: Path) -> None:
    text = project.read_text()
    project.write_text(
        text.replace('name = "morning"\n', 'name = "morning"\nrequires_approval = true\n')
    )
    held = digest("run", "--config", str(project))
    assert held.returncode == 0, held.stderr
    assert "waits for an editor's approval" in held.stdout
    outbox = project.parent.parent / "outbox"
    assert not list(outbox.glob("*.eml"))
    test = digest("test-send", "morning", "--to", "proof@news.example", "-c", str(project))
    assert test.returncode == 0, test.stderr
    [proof] = list(outbox.glob("*.eml"))
    assert "[Test]" in proof.read_text() and "proof@news.example" in proof.read_text()
    approved = digest("approve", "morning", "--config", str(project))
    assert approved.returncode == 0 and "approved" in approved.stdout
    again = digest("approve", "morning", "--config", str(project))
    assert again.returncode == 1 and "is approved: not approved" in again.stderr
    sent = digest("send", "morning", "--config", str(project))
    assert sent.returncode == 0, sent.stdout
    assert len(list(outbox.glob("*.eml"))) == 5
