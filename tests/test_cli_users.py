"""`digest users`: editor accounts for the desk, as an operator runs the commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from digest.components import build_components
from digest.settings.config import load_settings
from tests.conftest import FIXED_NOW


def users(project: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "digest", "users", *args, "--config", str(project)],
        input=stdin,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"},
        timeout=120,
    )


def test_add_list_password_remove(project: Path) -> None:
    added = users(project, "add", "Ed@News.Example", "--password-stdin", stdin="a long password\n")
    assert added.returncode == 0, added.stderr
    assert "editor Ed@news.example added" in added.stdout
    assert users(project, "list").stdout.split() == ["ed@news.example"]

    c = build_components(load_settings(project, {}))
    try:
        assert c.store.editors.authenticate("ed@news.example", "a long password", FIXED_NOW)
        changed = users(
            project, "password", "ed@news.example", "--password-stdin", stdin="another secret!\n"
        )
        assert changed.returncode == 0, changed.stderr
        assert not c.store.editors.authenticate("ed@news.example", "a long password", FIXED_NOW)
        assert c.store.editors.authenticate("ed@news.example", "another secret!", FIXED_NOW)
    finally:
        c.close()

    assert users(project, "remove", "ed@news.example").returncode == 0
    assert users(project, "list").stdout.strip() == ""
    missing = users(project, "remove", "ed@news.example")
    assert missing.returncode == 1 and "no editor" in missing.stderr


def test_bad_input_is_one_clear_line(project: Path) -> None:
    bad_address = users(
        project, "add", "not-an-address", "--password-stdin", stdin="long enough pw\n"
    )
    assert bad_address.returncode == 2 and "not an email address" in bad_address.stderr
    short = users(project, "add", "ed@news.example", "--password-stdin", stdin="short\n")
    assert short.returncode != 0 and "password too short" in short.stderr + short.stdout
    assert "Traceback" not in short.stderr
    users(project, "add", "ed@news.example", "--password-stdin", stdin="long enough pw\n")
    twice = users(project, "add", "ed@news.example", "--password-stdin", stdin="long enough pw\n")
    assert twice.returncode != 0 and "already exists" in twice.stderr + twice.stdout
