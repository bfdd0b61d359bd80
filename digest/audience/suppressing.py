"""Suppressing an address, the same from the desk and the CLI: it is blocklisted and
never gets anything again, whatever its editions (newsletters). Only a confirmed
sign-up, the person's own action, makes it active again."""

from __future__ import annotations

from datetime import datetime

from digest.models import SubscriberStatus
from digest.store.database import Store


def suppress(store: Store, email: str, reason: str, now: datetime) -> bool:
    """Blocklist ``email`` (``reason`` says who: "the desk", the CLI command); False
    when the address is unknown."""
    return store.subscribers.set_status(email, SubscriberStatus.BLOCKLISTED, reason, now)
