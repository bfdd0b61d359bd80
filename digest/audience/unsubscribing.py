"""Unsubscribing, the same from an email's link, the page and the CLI: from one
edition (newsletter), or from everything. Bounces, complaints and erasures are
global suppressions and stay so: an unsubscribe never changes them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from digest.models import SubscriberStatus
from digest.store.database import Store
from digest.store.subscriptions import UNSUBSCRIBED, subscribed_editions

STOPPABLE = (SubscriberStatus.ACTIVE, SubscriberStatus.PAUSED, SubscriberStatus.PENDING)


def unsubscribe(
    store: Store,
    email: str,
    edition: str | None,
    now: datetime,
    reason: str,
    configured: Sequence[str] = (),
) -> bool:
    """From ``edition`` only, or (None) from everything. False when the address is
    unknown (or, for everything, already stopped). Left with none of the
    ``configured`` editions, the subscriber is unsubscribed, as with one edition."""
    if edition is not None:
        if not store.subscriptions.set(email, edition, UNSUBSCRIBED, now):
            return False
        if subscribed_editions(store.subscriptions.of(email), configured):
            return True
    # Only an active, paused or pending subscriber becomes "unsubscribed": a bounced
    # or complained address must stay suppressed (re-activation needs a sign-up).
    # Pending: the link in a sign-up confirmation mail.
    stopped = store.subscribers.set_status(
        email, SubscriberStatus.UNSUBSCRIBED, reason, now, only_from=STOPPABLE
    )
    return stopped or edition is not None
