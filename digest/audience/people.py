"""What a subscriber's name and chosen sections may hold, cleaned the same way at
every entrance (CSV import, sign-up, preferences): printable, one line, capped, and
without the characters that make up addresses or encoded words (a comma stays:
"López, Ana" is a name, and headers are built from address objects, which quote
it), so a name can never turn into a header or a second recipient."""

from __future__ import annotations

from collections.abc import Iterable

MAX_NAME = 100
MAX_TOPIC = 100
MAX_TOPICS = 50
_ADDRESS_CHARACTERS = '<>@;:"\\'


def clean_name(raw: str) -> str:
    """A name for the greeting and the To header."""
    printable = "".join(
        ch if ch.isprintable() and ch not in _ADDRESS_CHARACTERS else " " for ch in raw
    )
    return " ".join(printable.replace("=?", " ").split())[:MAX_NAME].rstrip()


def clean_topics(raw: Iterable[str]) -> tuple[str, ...]:
    """Section names as a subscriber chose them: printable, one line each, capped."""
    topics = (" ".join("".join(ch for ch in t if ch.isprintable()).split()) for t in raw)
    return tuple(dict.fromkeys(t[:MAX_TOPIC] for t in topics if t))[:MAX_TOPICS]
