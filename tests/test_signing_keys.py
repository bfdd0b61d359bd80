"""Signing keys: long enough, never empty, never printed, made once and atomically."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from digest.errors import ConfigError
from digest.settings.config import load_settings
from digest.tokens import MIN_KEY_BYTES, describe_key, sign, signing_key, verify
from tests.test_cli import digest


@pytest.mark.parametrize("value", ["a", "k" * 31, "é" * 15])
def test_a_short_key_in_the_environment_is_refused(project: Path, value: str) -> None:
    with pytest.raises(
        ConfigError, match=r"DIGEST_SECRET_KEY is \d+ bytes long; it must be at least 32"
    ) as caught:
        load_settings(project, {"DIGEST_SECRET_KEY": value})
    assert repr(value) not in str(caught.value) and (
        len(value) < 5 or value not in str(caught.value)
    )
    assert caught.value.exit_code == 2


def test_32_bytes_counted_as_given_are_enough(project: Path) -> None:
    assert load_settings(project, {"DIGEST_SECRET_KEY": "é" * 16}).web.secret_key is not None
    assert load_settings(project, {"DIGEST_SECRET_KEY": "0" * 64}).web.secret_key is not None


def test_the_generated_key_file_is_32_random_bytes_mode_0600(tmp_path: Path) -> None:
    key = signing_key(None, tmp_path)
    path = tmp_path / "secret_key"
    assert len(bytes.fromhex(key.decode())) == MIN_KEY_BYTES
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert signing_key(None, tmp_path) == key  # made once
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temp file left


@pytest.mark.parametrize("content", [b"", b"\n", b"short-key\n", b"x" * 31])
def test_an_empty_or_short_key_file_is_an_error_naming_the_file(
    tmp_path: Path, content: bytes
) -> None:
    (tmp_path / "secret_key").write_bytes(content)
    with pytest.raises(ConfigError, match="secret_key: the signing key file holds") as caught:
        signing_key(None, tmp_path)
    assert content.strip().decode() not in str(caught.value) or not content.strip()


def test_an_unreadable_key_file_is_an_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "secret_key").mkdir()  # unreadable as a file, even for root
    with pytest.raises(ConfigError, match="secret_key: cannot read the signing key"):
        signing_key(None, tmp_path)


def test_forged_links_fail_whatever_the_key_file_held(tmp_path: Path) -> None:
    """An empty key would let anyone sign: it is never used, so tokens signed with
    the empty key are not taken."""
    (tmp_path / "secret_key").write_bytes(b"")
    forged = sign(b"", "unsubscribe", "ana@mail.example")
    with pytest.raises(ConfigError):
        verify(signing_key(None, tmp_path), "unsubscribe", forged)


KEY_SCRIPT = """
import sys, pathlib
from digest.tokens import signing_key
print(signing_key(None, pathlib.Path(sys.argv[1])).decode())
"""


def test_processes_starting_together_share_one_key(tmp_path: Path) -> None:
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", KEY_SCRIPT, str(tmp_path)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(8)
    ]
    keys = {run.communicate(timeout=60)[0].strip() for run in runs}
    assert len(keys) == 1 and len(keys.pop()) == 2 * MIN_KEY_BYTES
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_config_check_reports_the_key_without_printing_it(project: Path) -> None:
    secret = "s3cr3t-" * 6
    result = digest("config", "check", "--config", str(project), env={"DIGEST_SECRET_KEY": secret})
    assert result.returncode == 0, result.stderr
    assert "signing key: $DIGEST_SECRET_KEY, 42 bytes" in result.stdout
    assert secret not in result.stdout
    short = digest("config", "check", "--config", str(project), env={"DIGEST_SECRET_KEY": "a"})
    assert short.returncode == 2 and "Traceback" not in short.stderr
    assert "DIGEST_SECRET_KEY is 1 bytes long" in short.stderr
    var = project.parent.parent / "var"
    assert describe_key(None, var).endswith("(made with 64 random hex digits on first use)")
    signing_key(None, var)
    assert describe_key(None, var) == f"{var / 'secret_key'}, 64 bytes"
    os.unlink(var / "secret_key")


@pytest.mark.slow
@pytest.mark.parametrize("command", [["run"], ["config", "check"], ["send", "morning"]])
def test_a_short_key_is_one_line_on_stderr_and_exit_2(project: Path, command: list[str]) -> None:
    result = digest(*command, "--config", str(project), env={"DIGEST_SECRET_KEY": "zq9xw"})
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # one line: no traceback, no second message
    assert "DIGEST_SECRET_KEY is 5 bytes long; it must be at least 32" in lines[0]
    assert "zq9xw" not in result.stderr + result.stdout  # the key is never printed
    assert not list((project.parent.parent / "outbox").glob("*.eml"))  # nothing sent
