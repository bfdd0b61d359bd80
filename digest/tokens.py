"""Signed tokens for links in emails (unsubscribe, preferences): HMAC-SHA256 over a
purpose and a value, so a token for one purpose or address cannot be reused for another."""

from __future__ import annotations

import base64
import hashlib
import hmac


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, purpose: str, value: str) -> str:
    mac = hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()
    return f"{_b64(value.encode('utf-8'))}.{_b64(mac[:18])}"


def verify(key: bytes, purpose: str, token: str) -> str | None:
    """The value the token carries, or None when it was not signed with ``key`` for ``purpose``."""
    try:
        encoded = token.partition(".")[0]
        value = _unb64(encoded).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    expected = sign(key, purpose, value).encode("utf-8")
    return value if hmac.compare_digest(expected, token.encode("utf-8")) else None
