"""Signed tokens for links in emails (unsubscribe, preferences, sign-up confirmation):
HMAC-SHA256 over a purpose and a value, so a token for one purpose or address cannot be
reused for another.

A token is ``VALUE.MAC``; an expiring one is ``VALUE.EXPIRY.MAC`` with the expiry (Unix
seconds) under the MAC too. A purpose's tokens either all expire or never do: the
caller says which by passing ``now`` to :func:`verify`, so a token signed without an
expiry is never taken where one is required, nor the other way round.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import re
import secrets
import tempfile
from datetime import datetime
from pathlib import Path

from digest.errors import ConfigError

_EXPIRY = re.compile(r"[0-9]{1,12}")
MIN_KEY_BYTES = 32  # below this a key can be found from the tokens it signs
KEY_FILE = "secret_key"


def signing_key(configured: str | None, var_dir: Path) -> bytes:
    """``configured`` (``$DIGEST_SECRET_KEY``, checked by the settings), else the key
    kept in ``var_dir/secret_key``, made on first use. A key file that is empty, too
    short or unreadable is an error naming the file: it is never used as a key."""
    if configured is not None:
        return configured.encode()
    path = var_dir / KEY_FILE
    if not path.exists():
        _create_key_file(path)
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the signing key: {exc.strerror}", path=str(path)) from None
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(
            f"the signing key file holds {len(key)} bytes, fewer than {MIN_KEY_BYTES}: remove it "
            "to have a new one made (links in emails sent so far stop working) or set "
            "$DIGEST_SECRET_KEY",
            path=str(path),
        )
    return key


def existing_signing_key(configured: str | None, var_dir: Path) -> bytes | None:
    """:func:`signing_key` when there is one already; None (and no file made) when
    there is none yet: a dry run must write nothing."""
    if configured is None and not (var_dir / KEY_FILE).exists():
        return None
    return signing_key(configured, var_dir)


def describe_key(configured: str | None, var_dir: Path) -> str:
    """Where the signing key comes from and how long it is, never the key."""
    if configured is not None:
        return f"$DIGEST_SECRET_KEY, {len(configured.encode())} bytes"
    path = var_dir / KEY_FILE
    if not path.exists():
        return f"{path} (made with {2 * MIN_KEY_BYTES} random hex digits on first use)"
    return f"{path}, {len(signing_key(None, var_dir))} bytes"


def _create_key_file(path: Path) -> None:
    """32 random bytes (as 64 hex digits), mode 0600, all at once: written to a temp
    file, then linked into place, which fails if another process got there first (its
    key is the one every process then reads). A crash leaves no empty key file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")
    try:
        with os.fdopen(fd, "w") as handle:  # mkstemp makes it 0600
            handle.write(secrets.token_hex(MIN_KEY_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process's key stands
            os.link(temp, path)
    finally:
        os.unlink(temp)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, purpose: str, value: str, *, expires: datetime | None = None) -> str:
    """A URL-safe token carrying ``value`` for ``purpose``; with ``expires`` (aware),
    :func:`verify` refuses it from that moment on."""
    if expires is None:
        return f"{_b64(value.encode('utf-8'))}.{_mac(key, purpose, value)}"
    if expires.tzinfo is None:
        raise ValueError("expires must be timezone-aware")
    stamp = str(int(expires.timestamp()))
    # "@" never occurs in a purpose: an expiring token's MAC input cannot equal a
    # non-expiring one's.
    return f"{_b64(value.encode('utf-8'))}.{stamp}.{_mac(key, f'{purpose}@{stamp}', value)}"


def verify(key: bytes, purpose: str, token: str, *, now: datetime | None = None) -> str | None:
    """The value the token carries, or None when it was not signed with ``key`` for
    ``purpose``. With ``now``, only an expiring token whose expiry is after ``now``
    verifies; without it, only a token signed without an expiry."""
    encoded, _, rest = token.partition(".")
    stamp: str | None = None
    if now is not None:
        stamp = rest.partition(".")[0]
        if not _EXPIRY.fullmatch(stamp) or now.timestamp() >= int(stamp):
            return None
    try:
        value = _unb64(encoded).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    signed_for = purpose if stamp is None else f"{purpose}@{stamp}"
    # Rebuilt from the decoded value: only the canonical encoding verifies.
    canonical = _b64(value.encode("utf-8"))
    expected = f"{canonical}.{'' if stamp is None else stamp + '.'}{_mac(key, signed_for, value)}"
    return value if hmac.compare_digest(expected.encode(), token.encode("utf-8")) else None


def _mac(key: bytes, purpose: str, value: str) -> str:
    return _b64(hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()[:18])
