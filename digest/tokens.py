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
import hashlib
import hmac
import re
from datetime import datetime

_EXPIRY = re.compile(r"[0-9]{1,12}")


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
