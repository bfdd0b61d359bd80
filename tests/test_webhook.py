"""Event Webhook: signature and replay checks, and reading event batches."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from digest.delivery.events import (
    KEY_FIELD,
    SUPPRESSING,
    WebhookEvent,
    WebhookRejected,
    WebhookVerifier,
    parse_events,
)
from digest.errors import ConfigError, DigestError

NOW = 1_764_223_200  # 2025-11-27 06:00:00 UTC
BODY = b'[{"email":"a@example.com","event":"delivered","timestamp":1764223190}]\r\n'


@dataclass(frozen=True)
class Signer:
    """A key pair standing in for SendGrid's: signs like SendGrid, exports like SendGrid."""

    private_key: ec.EllipticCurvePrivateKey

    @property
    def public_key(self) -> str:
        """The public key as SendGrid shows it: base64 DER SubjectPublicKeyInfo, no armour."""
        der = self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode("ascii")

    def sign(self, body: bytes, timestamp: str) -> str:
        raw = self.private_key.sign(timestamp.encode("ascii") + body, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(raw).decode("ascii")


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer(ec.generate_private_key(ec.SECP256R1()))


@pytest.fixture(scope="module")
def other_signer() -> Signer:
    return Signer(ec.generate_private_key(ec.SECP256R1()))


@pytest.fixture
def verifier(signer: Signer) -> WebhookVerifier:
    return WebhookVerifier(signer.public_key, max_age_seconds=300)


def rejected(call: Callable[[], object]) -> str:
    """Run ``call``, expect WebhookRejected, return its reason."""
    with pytest.raises(WebhookRejected) as caught:
        call()
    return caught.value.reason


# --- signature ------------------------------------------------------------------------


def test_valid_signature_is_accepted(signer: Signer, verifier: WebhookVerifier) -> None:
    timestamp = str(NOW - 5)
    verifier.verify(
        BODY, signer.sign(BODY, timestamp), timestamp, now=NOW
    )  # raises WebhookRejected if refused


def test_sendgrids_published_example_verifies() -> None:
    # The key, signature and payload from the sendgrid package's own tests: proves the
    # message layout (timestamp, then body, trailing CRLF included) matches SendGrid's.
    public_key = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
    signature = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
    timestamp = "1600112502"
    body = (
        json.dumps(
            [
                {
                    "email": "hello@world.com",
                    "event": "dropped",
                    "reason": "Bounced Address",
                    "sg_event_id": "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
                    "sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
                    "smtp-id": "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
                    "timestamp": 1600112492,
                }
            ],
            sort_keys=True,
            separators=(",", ":"),
        )
        + "\r\n"
    ).encode()
    verifier = WebhookVerifier(public_key)

    verifier.verify(
        body, signature, timestamp, now=1600112502 + 30
    )  # raises WebhookRejected if refused
    assert rejected(lambda: verifier.verify(body.rstrip(), signature, timestamp, now=1600112532))
    assert parse_events(body) == [
        WebhookEvent(
            event_id="ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
            kind="dropped",
            email="hello@world.com",
            timestamp=1600112492,
            reason="Bounced Address",
            edition=None,
        )
    ]


def test_tampered_body_is_rejected(signer: Signer, verifier: WebhookVerifier) -> None:
    timestamp = str(NOW)
    signature = signer.sign(BODY, timestamp)
    tampered = BODY.replace(b"delivered", b"bounce")

    reason = rejected(lambda: verifier.verify(tampered, signature, timestamp, now=NOW))

    assert reason == "signature does not match"


def test_timestamp_is_part_of_what_is_signed(signer: Signer, verifier: WebhookVerifier) -> None:
    signature = signer.sign(BODY, str(NOW - 100))

    reason = rejected(lambda: verifier.verify(BODY, signature, str(NOW), now=NOW))

    assert reason == "signature does not match"


def test_signature_from_another_key_is_rejected(
    other_signer: Signer, verifier: WebhookVerifier
) -> None:
    timestamp = str(NOW)
    signature = other_signer.sign(BODY, timestamp)

    reason = rejected(lambda: verifier.verify(BODY, signature, timestamp, now=NOW))

    assert reason == "signature does not match"


def test_body_that_is_not_utf8_is_verified_as_bytes(
    signer: Signer, verifier: WebhookVerifier
) -> None:
    body = b"\xff\xfe not text"
    timestamp = str(NOW)

    verifier.verify(
        body, signer.sign(body, timestamp), timestamp, now=NOW
    )  # raises WebhookRejected if refused


@pytest.mark.parametrize(
    ("signature", "timestamp", "header"),
    [
        (None, str(NOW), "Signature"),
        ("", str(NOW), "Signature"),
        ("c2ln", None, "Timestamp"),
        ("c2ln", "", "Timestamp"),
    ],
)
def test_missing_header_is_rejected(
    verifier: WebhookVerifier, signature: str | None, timestamp: str | None, header: str
) -> None:
    reason = rejected(lambda: verifier.verify(BODY, signature, timestamp, now=NOW))

    assert reason == f"missing X-Twilio-Email-Event-Webhook-{header} header"


@pytest.mark.parametrize("signature", ["not base64!", "c2ln=extra", "%%%%"])
def test_garbage_signature_is_rejected(verifier: WebhookVerifier, signature: str) -> None:
    reason = rejected(lambda: verifier.verify(BODY, signature, str(NOW), now=NOW))

    assert reason == "signature is not base64"


def test_base64_that_is_not_a_der_signature_is_rejected(verifier: WebhookVerifier) -> None:
    signature = base64.b64encode(b"definitely not DER").decode()

    reason = rejected(lambda: verifier.verify(BODY, signature, str(NOW), now=NOW))

    assert reason == "signature does not match"


# --- replay protection ----------------------------------------------------------------


def test_old_timestamp_is_rejected_even_when_signed(
    signer: Signer, verifier: WebhookVerifier
) -> None:
    timestamp = str(NOW - 301)
    signature = signer.sign(BODY, timestamp)

    reason = rejected(lambda: verifier.verify(BODY, signature, timestamp, now=NOW))

    assert reason == "timestamp is 301 s old (limit 300 s)"


def test_timestamp_exactly_max_age_is_accepted(signer: Signer, verifier: WebhookVerifier) -> None:
    timestamp = str(NOW - 300)

    verifier.verify(
        BODY, signer.sign(BODY, timestamp), timestamp, now=NOW
    )  # raises WebhookRejected if refused


def test_max_age_is_configurable(signer: Signer) -> None:
    verifier = WebhookVerifier(signer.public_key, max_age_seconds=10)
    timestamp = str(NOW - 11)

    reason = rejected(
        lambda: verifier.verify(BODY, signer.sign(BODY, timestamp), timestamp, now=NOW)
    )

    assert reason == "timestamp is 11 s old (limit 10 s)"


def test_future_timestamp_is_rejected(signer: Signer, verifier: WebhookVerifier) -> None:
    timestamp = str(NOW + 61)
    signature = signer.sign(BODY, timestamp)

    reason = rejected(lambda: verifier.verify(BODY, signature, timestamp, now=NOW))

    assert reason == "timestamp is 61 s in the future"


def test_small_clock_skew_is_tolerated(signer: Signer, verifier: WebhookVerifier) -> None:
    timestamp = str(NOW + 60)

    verifier.verify(
        BODY, signer.sign(BODY, timestamp), timestamp, now=NOW
    )  # raises WebhookRejected if refused


@pytest.mark.parametrize("timestamp", ["soon", "1764223200.0", " 1764223200", "+1764223200"])
def test_timestamp_that_is_not_an_integer_is_rejected(
    signer: Signer, verifier: WebhookVerifier, timestamp: str
) -> None:
    signature = signer.sign(BODY, timestamp)

    reason = rejected(lambda: verifier.verify(BODY, signature, timestamp, now=NOW))

    assert reason == "timestamp is not an integer"


def test_rejection_is_a_domain_error() -> None:
    error = WebhookRejected("because")

    assert isinstance(error, DigestError)
    assert error.reason == "because"
    assert "because" in str(error)


# --- public key -----------------------------------------------------------------------


def test_key_wrapped_over_lines_is_accepted(signer: Signer) -> None:
    wrapped = "\n".join(signer.public_key[i : i + 40] for i in range(0, len(signer.public_key), 40))
    timestamp = str(NOW)

    verifier = WebhookVerifier(wrapped + "\n")

    verifier.verify(
        BODY, signer.sign(BODY, timestamp), timestamp, now=NOW
    )  # raises WebhookRejected if refused


def _p384_key() -> str:
    der = (
        ec.generate_private_key(ec.SECP384R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return base64.b64encode(der).decode()


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("not a key!", "not base64"),
        ("-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----", "not base64"),
        (base64.b64encode(b"random bytes, not DER").decode(), "not a DER public key"),
        (_p384_key(), "not a P-256"),
    ],
)
def test_bad_public_key_is_a_config_error(key: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        WebhookVerifier(key)

    assert caught.value.field == KEY_FIELD == "delivery.sendgrid.webhook_public_key"
    assert message in str(caught.value)


# --- parsing events -------------------------------------------------------------------


def test_parse_events_keeps_what_matters() -> None:
    batch = [
        {
            "email": "Reader@Example.COM",
            "event": "processed",
            "timestamp": 1764223000,
            "sg_event_id": "p1",
            "edition": "morning/2025-11-27",
        },
        {
            "email": "Reader@Example.COM",
            "event": "delivered",
            "timestamp": 1764223010,
            "sg_event_id": "d1",
            "response": "250 2.0.0 OK",
            "edition": "morning/2025-11-27",
        },
        {
            "email": "gone@example.org",
            "event": "bounce",
            "timestamp": 1764223020,
            "sg_event_id": "b1",
            "reason": "550 5.1.1 The email account does not exist",
            "type": "bounce",
            "status": "5.1.1",
            "edition": "morning/2025-11-27",
        },
        # SendGrid may post the same event twice, even in one batch.
        {
            "email": "gone@example.org",
            "event": "bounce",
            "timestamp": 1764223020,
            "sg_event_id": "b1",
            "reason": "550 5.1.1 The email account does not exist",
            "type": "bounce",
            "edition": "morning/2025-11-27",
        },
        {"email": "x@example.com", "event": "open", "timestamp": 1764223030, "sg_event_id": "o1"},
        {"email": "x@example.com", "event": "click", "timestamp": 1764223031, "url": "https://e"},
        {
            "email": "slow@example.net",
            "event": "deferred",
            "timestamp": 1764223040,
            "sg_event_id": "f1",
            "response": "451 4.7.1 Try again later",
            "attempt": "1",
        },
        {
            "email": "blocked@example.net",
            "event": "bounce",
            "timestamp": 1764223045,
            "sg_event_id": "b2",
            "type": "blocked",
        },
        {"event": "spamreport", "timestamp": 1764223050, "sg_event_id": "s0"},  # no email
        {"email": "angry@example.com", "timestamp": 1764223055, "sg_event_id": "s00"},  # no event
        {
            "email": "Angry@Example.com",
            "event": "spamreport",
            "timestamp": 1764223060,
            "sg_event_id": "s1",
        },
        {
            "email": "leaver@example.com",
            "event": "group_unsubscribe",
            "timestamp": 1764223070,
            "sg_event_id": "g1",
            "asm_group_id": 42,
            "edition": "evening/2025-11-26",
        },
        {"email": "quit@example.com", "event": "unsubscribe", "timestamp": 1764223080},
        {"email": "quit@example.com", "event": "unsubscribe", "timestamp": 1764223080},
        {
            "email": "full@example.com",
            "event": "dropped",
            "timestamp": 1764223090,
            "sg_event_id": "x1",
            "reason": "Bounced Address",
        },
        "not an event",
        {"email": "new@example.com", "event": "some_future_kind", "timestamp": 1764223099},
    ]

    events = parse_events(json.dumps(batch).encode())

    assert events == [
        WebhookEvent(
            "d1",
            "delivered",
            "reader@example.com",
            1764223010,
            "250 2.0.0 OK",
            "morning/2025-11-27",
        ),
        WebhookEvent(
            "b1",
            "bounce",
            "gone@example.org",
            1764223020,
            "550 5.1.1 The email account does not exist",
            "morning/2025-11-27",
        ),
        WebhookEvent(
            "f1", "deferred", "slow@example.net", 1764223040, "451 4.7.1 Try again later", None
        ),
        WebhookEvent("b2", "bounce", "blocked@example.net", 1764223045, "blocked", None),
        WebhookEvent("s1", "spamreport", "angry@example.com", 1764223060, "", None),
        WebhookEvent(
            "g1", "group_unsubscribe", "leaver@example.com", 1764223070, "", "evening/2025-11-26"
        ),
        WebhookEvent(None, "unsubscribe", "quit@example.com", 1764223080, "", None),
        WebhookEvent("x1", "dropped", "full@example.com", 1764223090, "Bounced Address", None),
    ]
    assert {e.email for e in events if e.kind in SUPPRESSING} == {
        "gone@example.org",
        "blocked@example.net",
        "angry@example.com",
        "leaver@example.com",
        "quit@example.com",
        "full@example.com",
    }


def test_event_with_unusable_fields_is_skipped() -> None:
    batch = [
        {"email": 7, "event": "bounce", "timestamp": 1},
        {"email": "  ", "event": "bounce", "timestamp": 1},
        {"email": "a@example.com", "event": ["bounce"], "timestamp": 1},
        {"email": "a@example.com", "event": "bounce"},
        {"email": "a@example.com", "event": "bounce", "timestamp": True},
        {"email": "a@example.com", "event": "bounce", "timestamp": "yesterday"},
        {"email": " b@example.com ", "event": "bounce", "timestamp": "1764223000"},
    ]

    events = parse_events(json.dumps(batch).encode())

    assert [(e.email, e.timestamp) for e in events] == [("b@example.com", 1764223000)]


def test_empty_batch_gives_no_events() -> None:
    assert parse_events(b"[]") == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "body is not valid JSON"),
        (b'[{"email": "a@example.com", "event": "bounce"', "body is not valid JSON"),
        (b"\xff\xfe\xfa", "body is not valid JSON"),
        (b'{"email": "a@example.com", "event": "bounce"}', "body is not a JSON array of events"),
        (b"null", "body is not a JSON array of events"),
    ],
)
def test_malformed_body_is_rejected(body: bytes, reason: str) -> None:
    assert rejected(lambda: parse_events(body)) == reason


def test_suppressing_kinds() -> None:
    assert frozenset({"bounce", "dropped", "spamreport", "unsubscribe", "group_unsubscribe"}) == (
        SUPPRESSING
    )
