"""Erasure of a subscriber (a GDPR request): the address, name and preferences go
everywhere, the delivery ledger included; only a keyed hash of the address stays
(HMAC-SHA256 under the signing key, so the table alone names nobody).

The hash refuses a later import of the address. A confirmed sign-up lifts it, and
brings the ledger rows of the erased address back to it, so an edition delivered
before the erasure is not delivered a second time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, select, update

from digest.store.limits import ADDRESS_KEYED, limit_key
from digest.store.schema import (
    deliveries,
    erasures,
    rate_hits,
    subscribers,
    subscriptions,
    webhook_events,
)

UNSENT = ("pending", "failed")
ERASED_PREFIX = "erased:"  # a ledger row's address once erased: ERASED_PREFIX + hash


def erasure_hash(key: bytes, email: str) -> str:
    return hmac.new(key, f"erasure\x00{email.lower()}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Erased:
    """What an erasure removed."""

    subscriber: bool  # the subscriber row (address, name, time zone, sections)
    subscriptions: int
    deliveries: int  # ledger rows whose address became the hash
    webhook_events: int
    already: bool  # the address was erased before
    rate_hits: int = 0  # sign-up mails counted against the address (rate limits)

    def describe(self, email: str) -> str:
        if not (self.subscriber or self.deliveries or self.webhook_events or self.rate_hits):
            again = " (erased before)" if self.already else ""
            return f"nothing held for {email}{again}; its keyed hash is kept"
        parts = [
            "address, name, time zone and sections" if self.subscriber else "",
            f"{self.subscriptions} subscription(s)",
            f"the address of {self.deliveries} delivery record(s)",
            f"{self.webhook_events} webhook event(s)",
            f"{self.rate_hits} rate-limit record(s)" if self.rate_hits else "",
        ]
        return f"erased {email}: " + ", ".join(p for p in parts if p) + "; kept its keyed hash"


class ErasureStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def erase(self, email: str, key: bytes, now: datetime) -> Erased:
        """Erase ``email`` everywhere; erasing twice is harmless."""
        email = email.lower()
        hashed = erasure_hash(key, email)
        with self.engine.begin() as conn:
            sid = conn.scalar(select(subscribers.c.id).where(subscribers.c.email == email))
            subs = 0
            if sid is not None:
                gone = delete(subscriptions).where(subscriptions.c.subscriber_id == sid)
                subs = conn.execute(gone).rowcount
                conn.execute(delete(subscribers).where(subscribers.c.id == sid))
            # Rows not yet sent are never sent now (a claim could not find the address).
            conn.execute(
                update(deliveries)
                .where(deliveries.c.email == email, deliveries.c.state.in_(UNSENT))
                .values(state="suppressed", updated_at=now)
            )
            ledger = conn.execute(
                update(deliveries)
                .where(deliveries.c.email == email)
                .values(email=ERASED_PREFIX + hashed)
            ).rowcount
            events = conn.execute(
                delete(webhook_events).where(webhook_events.c.email == email)
            ).rowcount
            keys = [limit_key(name, email) for name in ADDRESS_KEYED]
            hits = conn.execute(delete(rate_hits).where(rate_hits.c.key.in_(keys))).rowcount
            already = conn.scalar(select(erasures.c.key_hash).where(erasures.c.key_hash == hashed))
            if already is None:
                conn.execute(erasures.insert().values(key_hash=hashed, erased_at=now))
        return Erased(sid is not None, subs, ledger, events, already is not None, hits)

    def erased(self, emails: Collection[str], key: bytes) -> set[str]:
        """Those of ``emails`` (lower-case) that were erased."""
        by_hash = {erasure_hash(key, e): e.lower() for e in emails}
        if not by_hash:
            return set()
        with self.engine.connect() as conn:
            rows = conn.scalars(
                select(erasures.c.key_hash).where(erasures.c.key_hash.in_(list(by_hash)))
            )
            return {by_hash[h] for h in rows}

    def lift(self, email: str, key: bytes) -> bool:
        """A confirmed sign-up of an erased address: the hash goes and the ledger rows
        come back to the address (what was delivered stays delivered). False when the
        address was not erased."""
        email = email.lower()
        hashed = erasure_hash(key, email)
        with self.engine.begin() as conn:
            if not conn.execute(delete(erasures).where(erasures.c.key_hash == hashed)).rowcount:
                return False
            conn.execute(
                update(deliveries)
                .where(deliveries.c.email == ERASED_PREFIX + hashed)
                .values(email=email)
            )
        return True
