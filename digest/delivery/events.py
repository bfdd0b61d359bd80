"""SendGrid's Event Webhook: check that a POST really comes from SendGrid, then read the
events in it that matter for suppression and delivery reports.

SendGrid signs ``timestamp header value + raw request body`` with ECDSA (P-256, SHA-256)
and sends the base64 DER signature and the timestamp in two headers. The public key it
shows under Mail Settings is base64 DER (SubjectPublicKeyInfo) without PEM armour.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from digest.errors import ConfigError, DigestError
from digest.models import SubscriberStatus
from digest.store.subscribers import SubscriberStore

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"

KEY_FIELD = "delivery.sendgrid.webhook_public_key"

# A sender's clock may run a little ahead of ours; more than this is not drift.
MAX_FUTURE_SKEW_SECONDS = 60

SUPPRESSING = frozenset({"bounce", "dropped", "spamreport", "unsubscribe", "group_unsubscribe"})
"""Event kinds after which the address must not be mailed again."""

KEPT_KINDS = SUPPRESSING | {"delivered", "deferred"}
"""Event kinds :func:`parse_events` keeps; opens, clicks and ``processed`` are dropped."""

# The timestamp header is signed as sent, so accept only what SendGrid sends: epoch
# seconds as ASCII digits. int() alone would also take " 12", "+12", "1_2" and non-ASCII
# digits, which no genuine request carries.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class WebhookRejected(DigestError):
    """A webhook request is not accepted: unsigned, forged, replayed or unreadable.

    ``reason`` is a short description for the log; the web layer answers with a 4xx.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"webhook request rejected: {reason}")
        self.reason = reason


class WebhookVerifier:
    """Checks the signature and freshness of Event Webhook requests.

    ``public_key`` is the verification key exactly as SendGrid shows it (base64 DER).
    Requests signed more than ``max_age_seconds`` ago are refused, so a captured request
    cannot be replayed later.
    """

    def __init__(self, public_key: str, max_age_seconds: int = 300) -> None:
        if max_age_seconds <= 0:
            raise ValueError(f"max_age_seconds must be positive, got {max_age_seconds}")
        self._key = _load_public_key(public_key)
        self.max_age_seconds = max_age_seconds

    def verify(self, body: bytes, signature: str | None, timestamp: str | None, now: float) -> None:
        """Return if the request is genuine and fresh, else raise :class:`WebhookRejected`.

        ``body`` must be the raw request body, byte for byte: re-serialised JSON does
        not verify. ``signature`` and ``timestamp`` are the values of
        :data:`SIGNATURE_HEADER` and :data:`TIMESTAMP_HEADER` (``None`` when absent);
        ``now`` is the current time in epoch seconds.
        """
        if not signature:
            raise WebhookRejected(f"missing {SIGNATURE_HEADER} header")
        if not timestamp:
            raise WebhookRejected(f"missing {TIMESTAMP_HEADER} header")
        if not _TIMESTAMP.fullmatch(timestamp):
            raise WebhookRejected("timestamp is not an integer")
        signed_at = int(timestamp)
        # Freshness first: it is cheap, and a replayed request is refused whatever
        # its signature.
        age = now - signed_at
        if age > self.max_age_seconds:
            raise WebhookRejected(f"timestamp is {int(age)} s old (limit {self.max_age_seconds} s)")
        ahead = signed_at - now
        if ahead > MAX_FUTURE_SKEW_SECONDS:
            raise WebhookRejected(f"timestamp is {int(ahead)} s in the future")
        try:
            der_signature = base64.b64decode(signature, validate=True)
        except binascii.Error:
            raise WebhookRejected("signature is not base64") from None
        # Verify over bytes: the sendgrid helper decodes and re-encodes the body as text,
        # which would turn a body that is not valid UTF-8 into an exception.
        try:
            self._key.verify(
                der_signature, timestamp.encode("ascii") + body, ec.ECDSA(hashes.SHA256())
            )
        except InvalidSignature:
            # cryptography also lands here for a signature that is not valid DER.
            raise WebhookRejected("signature does not match") from None


def _load_public_key(public_key: str) -> ec.EllipticCurvePublicKey:
    # Whitespace is dropped because the key is often pasted wrapped over several lines.
    text = "".join(public_key.split())
    if not text:
        raise ConfigError("the webhook public key is empty", field=KEY_FIELD)
    try:
        key = load_der_public_key(base64.b64decode(text, validate=True))
    except binascii.Error:
        raise ConfigError("the webhook public key is not base64", field=KEY_FIELD) from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(
            "the webhook public key is not a DER public key (paste it without PEM armour)",
            field=KEY_FIELD,
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ConfigError("the webhook public key is not a P-256 (ECDSA) key", field=KEY_FIELD)
    return key


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One Event Webhook event, reduced to what suppression and reports need.

    ``event_id`` is SendGrid's ``sg_event_id``: SendGrid may post an event again in a
    later batch, so whoever stores events should ignore an id it has already seen.
    ``edition`` is the ``edition`` custom arg set when the message was sent.
    """

    event_id: str | None
    kind: str
    email: str
    timestamp: int
    reason: str
    edition: str | None


def parse_events(body: bytes) -> list[WebhookEvent]:
    """Read a webhook body (a JSON array of event objects) into the events we keep.

    Only kinds in :data:`KEPT_KINDS` are returned, in the order posted, with repeats
    within the batch removed. An event without ``email``, ``event`` or an integer
    ``timestamp`` is skipped, as is anything in the array that is not an object.
    Malformed JSON or a top level that is not an array raises :class:`WebhookRejected`.
    """
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        # ValueError covers both bad JSON and bytes that are not UTF-8; RecursionError
        # absurdly deep nesting.
        raise WebhookRejected("body is not valid JSON") from None
    if not isinstance(payload, list):
        raise WebhookRejected("body is not a JSON array of events")

    events: list[WebhookEvent] = []
    seen: set[object] = set()
    for position, item in enumerate(payload):
        event = _event(item)
        if event is None:
            logger.debug("skipping webhook event %d: not a usable event", position)
            continue
        # Without an id, an identical event is the same event as far as suppression and
        # reports can tell.
        key = event.event_id if event.event_id is not None else event
        if key in seen:
            continue
        seen.add(key)
        events.append(event)
    return events


def _event(item: object) -> WebhookEvent | None:
    if not isinstance(item, dict):
        return None
    kind = item.get("event")
    email = item.get("email")
    if not isinstance(kind, str) or kind not in KEPT_KINDS:
        return None
    if not isinstance(email, str) or not email.strip():
        return None
    timestamp = _epoch_seconds(item.get("timestamp"))
    if timestamp is None:
        logger.warning("skipping %s event without a usable timestamp", kind)
        return None
    return WebhookEvent(
        event_id=_text(item.get("sg_event_id")),
        kind=kind,
        email=email.strip().lower(),
        timestamp=timestamp,
        # Bounces and drops carry "reason", deliveries and deferrals the SMTP
        # "response", some bounces only their "type" (bounce or blocked).
        reason=next(
            (text for name in ("reason", "response", "type") if (text := _text(item.get(name)))),
            "",
        ),
        edition=_text(item.get("edition")),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _epoch_seconds(value: Any) -> int | None:
    # bool is an int subclass; true is not a time.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str) and _TIMESTAMP.fullmatch(value):
        return int(value)
    return None


_STATUS_FOR_KIND = {
    "bounce": SubscriberStatus.BOUNCED,
    "dropped": SubscriberStatus.DROPPED,
    "spamreport": SubscriberStatus.COMPLAINED,
    "unsubscribe": SubscriberStatus.UNSUBSCRIBED,
    "group_unsubscribe": SubscriberStatus.UNSUBSCRIBED,
}


def apply_events(
    store: SubscriberStore, events: list[WebhookEvent], now: datetime
) -> dict[str, int]:
    """Suppress subscribers per the events; an event seen before changes nothing."""
    counts = {"new": 0, "repeated": 0, "suppressed": 0}
    for event in events:
        event_id = (
            event.event_id
            or hashlib.sha256(f"{event.kind}|{event.email}|{event.timestamp}".encode()).hexdigest()[
                :40
            ]
        )
        if not store.record_event(event_id, event.kind, event.email, now):
            counts["repeated"] += 1
            continue
        counts["new"] += 1
        status = _STATUS_FOR_KIND.get(event.kind)
        if status and store.set_status(event.email, status, f"{event.kind}: {event.reason}", now):
            counts["suppressed"] += 1
    return counts
