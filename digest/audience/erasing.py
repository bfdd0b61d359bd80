"""Erasing a subscriber (a GDPR request), the same from the desk and the CLI: the
database forgets the address (``store/erasures.py``), and the operator is told which
files erasing does not touch, since they may still hold it: the configured subscriber
list and the messages in the outbox."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from digest.components import Components
from digest.store.erasures import Erased


@dataclass(frozen=True, slots=True)
class Erasure:
    """What an erasure did, and the files it left as they were."""

    email: str
    erased: Erased
    subscriber_file: Path | None  # the configured subscriber list, when there is one
    listed: bool  # ... and it names the address
    outbox: Path | None  # the outbox folder, when there is one

    def describe(self) -> str:
        untouched = []
        if self.subscriber_file is not None:
            still = " (it still lists the address: remove its line)" if self.listed else ""
            untouched.append(f"the subscriber list {self.subscriber_file}{still}")
        if self.outbox is not None:
            untouched.append(f"the messages in the outbox {self.outbox}")
        said = self.erased.describe(self.email)
        if untouched:
            said += ". Not touched by erase: " + "; ".join(untouched)
        return said


def erase(c: Components, email: str) -> Erasure:
    """Erase ``email`` everywhere in the database (twice is harmless)."""
    email = email.strip().lower()
    erased = c.store.erasures.erase(email, c.signing_key(), c.clock())
    listing = c.settings.subscribers.file
    outbox = c.settings.delivery.outbox_dir
    return Erasure(
        email,
        erased,
        listing if listing.is_file() else None,
        _lists(listing, email),
        outbox if outbox.is_dir() else None,
    )


def _lists(path: Path, email: str) -> bool:
    """Whether the subscriber list file names the address (read as text, so a file
    with a broken line still counts)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").lower()
    except OSError:
        return False
    return re.search(rf"(?<![\w.+-]){re.escape(email)}(?![\w.-])", text) is not None
