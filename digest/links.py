"""The signed links in emails and pages: unsubscribe and preferences, under
``[web] base_url``."""

from __future__ import annotations

from digest.tokens import sign, verify


def unsubscribe_url(base_url: str, key: bytes, email: str, edition: str | None = None) -> str:
    """Without ``edition``, a link that unsubscribes from everything; with it, from
    that edition (newsletter) only, the page offering everything too."""
    if edition is None:
        return f"{base_url}/unsubscribe/{sign(key, 'unsubscribe', email)}"
    return f"{base_url}/unsubscribe/{sign(key, 'unsubscribe-edition', f'{edition}:{email}')}"


def unsubscribe_scope(key: bytes, token: str) -> tuple[str, str | None] | None:
    """The address and edition (None: every edition) an unsubscribe token names."""
    email = verify(key, "unsubscribe", token)
    if email is not None:
        return email, None
    value = verify(key, "unsubscribe-edition", token)
    if value is None or ":" not in value:
        return None
    edition, _, email = value.partition(":")
    return email, edition


def preferences_url(base_url: str, key: bytes, email: str) -> str:
    return f"{base_url}/preferences/{sign(key, 'preferences', email)}"
