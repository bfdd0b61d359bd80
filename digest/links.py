"""The signed links in emails and pages: unsubscribe and preferences, under
``[web] base_url``."""

from __future__ import annotations

from digest.tokens import sign


def unsubscribe_url(base_url: str, key: bytes, email: str) -> str:
    return f"{base_url}/unsubscribe/{sign(key, 'unsubscribe', email)}"


def preferences_url(base_url: str, key: bytes, email: str) -> str:
    return f"{base_url}/preferences/{sign(key, 'preferences', email)}"
