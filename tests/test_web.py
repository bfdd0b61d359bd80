"""The web app: SendGrid's Event Webhook, one-click unsubscribe, security headers, health.

In process through Starlette's TestClient, on the shipped config in a temp dir with a
real SQLite file; the webhook is signed with a P-256 key standing in for SendGrid's.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.testclient import TestClient

from digest import pipeline
from digest.components import Components, build_components
from digest.delivery.transport import MemoryTransport
from digest.models import Subscriber, SubscriberStatus
from digest.settings.config import Settings, load_settings
from digest.tokens import sign
from digest.web.app import create_app
from tests.conftest import FIXED_NOW

SECRET = "test-secret-" + "k" * 32
NOW_TS = int(FIXED_NOW.timestamp())
WEBHOOK = "/webhooks/sendgrid"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"

# config/subscribers.csv ships four; two more go into the temp copy so that each
# suppressing kind has its own subscriber and one subscriber only gets harmless events.
ANA = "ana.lopez@mail.example"
BEN = "ben.okafor@mail.example"
CHEN = "chen.wei@mail.example"
DORA = "dora@mail.example"
EVE = "eve@mail.example"
FINN = "finn@mail.example"
EVERYONE = (ANA, BEN, CHEN, DORA, EVE, FINN)
EXTRA_ROWS = f"{EVE},Eve,Europe/Paris,\n{FINN},Finn,Europe/Dublin,\n"

ALL_ACTIVE = dict.fromkeys(EVERYONE, SubscriberStatus.ACTIVE)


# --- helpers --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sendgrid_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_key_b64(key: ec.EllipticCurvePrivateKey) -> str:
    """The public key as SendGrid shows it: base64 DER SubjectPublicKeyInfo, no armour."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


def signed_headers(
    key: ec.EllipticCurvePrivateKey, body: bytes, timestamp: int = NOW_TS
) -> dict[str, str]:
    """Headers as SendGrid sends them: ECDSA over timestamp + raw body."""
    stamp = str(timestamp)
    raw = key.sign(stamp.encode("ascii") + body, ec.ECDSA(hashes.SHA256()))
    return {
        SIGNATURE_HEADER: base64.b64encode(raw).decode("ascii"),
        TIMESTAMP_HEADER: stamp,
        "Content-Type": "application/json",
    }


def event(kind: str, email: str, event_id: str | None, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"email": email, "event": kind, "timestamp": NOW_TS - 60, **extra}
    if event_id is not None:
        item["sg_event_id"] = event_id
    return item


def body_of(events: list[dict[str, Any]]) -> bytes:
    return (json.dumps(events) + "\r\n").encode()


BATCH = body_of(
    [
        event("bounce", ANA, "b1", reason="550 5.1.1 The email account does not exist"),
        event("spamreport", BEN, "s1"),
        # SendGrid's own unsubscribe events may come without an id: the app derives one.
        event("unsubscribe", CHEN, None),
        event("dropped", DORA, "x1", reason="Bounced Address"),
        event("group_unsubscribe", EVE, "g1", asm_group_id=42),
        event("delivered", FINN, "d1", response="250 2.0.0 OK"),
        event("open", FINN, "o1"),
    ]
)
AFTER_BATCH = {
    ANA: SubscriberStatus.BOUNCED,
    BEN: SubscriberStatus.COMPLAINED,
    CHEN: SubscriberStatus.UNSUBSCRIBED,
    DORA: SubscriberStatus.DROPPED,
    EVE: SubscriberStatus.UNSUBSCRIBED,
    FINN: SubscriberStatus.ACTIVE,
}
# parse_events keeps the five suppressing events and the delivery; the open is dropped.
KEPT_IN_BATCH = 6


def configure(project: Path, public_key: str | None) -> Settings:
    if public_key is not None:
        text = project.read_text(encoding="utf-8")
        header = "[delivery.sendgrid]\n"
        assert text.count(header) == 1
        project.write_text(
            text.replace(header, f'{header}webhook_public_key = "{public_key}"\n'),
            encoding="utf-8",
        )
    csv_path = project.parent / "subscribers.csv"
    with csv_path.open("a", encoding="utf-8") as handle:
        handle.write(EXTRA_ROWS)
    return load_settings(project, {"DIGEST_SECRET_KEY": SECRET})


def build(settings: Settings, **kwargs: Any) -> Components:
    c = build_components(settings, clock=lambda: FIXED_NOW, **kwargs)
    c.store.subscribers.upsert(c.subscribers(), FIXED_NOW)
    return c


def statuses(c: Components) -> dict[str, SubscriberStatus | None]:
    return {email: c.store.subscribers.status(email) for email in EVERYONE}


@pytest.fixture
def settings(project: Path, sendgrid_key: ec.EllipticCurvePrivateKey) -> Settings:
    return configure(project, public_key_b64(sendgrid_key))


@pytest.fixture
def components(settings: Settings) -> Iterator[Components]:
    c = build(settings)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def client(components: Components) -> Iterator[TestClient]:
    with TestClient(create_app(components), follow_redirects=False) as client:
        yield client


def unsubscribe_path(key: bytes, email: str, purpose: str = "unsubscribe") -> str:
    return f"/unsubscribe/{sign(key, purpose, email)}"


# --- webhook --------------------------------------------------------------------------


def test_setup_every_subscriber_starts_active(components: Components) -> None:
    assert statuses(components) == ALL_ACTIVE


def test_signed_batch_suppresses_each_subscriber_by_event_kind(
    client: TestClient, components: Components, sendgrid_key: ec.EllipticCurvePrivateKey
) -> None:
    response = client.post(WEBHOOK, content=BATCH, headers=signed_headers(sendgrid_key, BATCH))

    assert response.status_code == 200
    assert response.json() == {"new": KEPT_IN_BATCH, "repeated": 0, "suppressed": 5}
    assert statuses(components) == AFTER_BATCH


def test_delivered_and_open_events_change_nothing(
    client: TestClient, components: Components, sendgrid_key: ec.EllipticCurvePrivateKey
) -> None:
    body = body_of(
        [
            event("processed", ANA, "p1"),
            event("delivered", ANA, "d1", response="250 OK"),
            event("deferred", BEN, "f1", response="451 4.7.1 Try again later"),
            event("open", CHEN, "o1"),
            event("click", DORA, "c1", url="https://example.com/"),
        ]
    )

    response = client.post(WEBHOOK, content=body, headers=signed_headers(sendgrid_key, body))

    assert response.status_code == 200
    assert response.json() == {"new": 2, "repeated": 0, "suppressed": 0}
    assert statuses(components) == ALL_ACTIVE


def test_same_batch_posted_again_is_all_repeated_and_changes_nothing(
    client: TestClient, components: Components, sendgrid_key: ec.EllipticCurvePrivateKey
) -> None:
    headers = signed_headers(sendgrid_key, BATCH)
    assert client.post(WEBHOOK, content=BATCH, headers=headers).status_code == 200
    # Ana signs up again after her bounce: SendGrid re-posting the old bounce must not
    # suppress her a second time.
    components.store.subscribers.set_status(ANA, SubscriberStatus.ACTIVE, "signed up", FIXED_NOW)
    before = statuses(components)

    again = client.post(WEBHOOK, content=BATCH, headers=headers)

    assert again.status_code == 200
    assert again.json() == {"new": 0, "repeated": KEPT_IN_BATCH, "suppressed": 0}
    assert statuses(components) == before == {**AFTER_BATCH, ANA: SubscriberStatus.ACTIVE}


def test_tampered_body_is_refused_and_changes_nothing(
    client: TestClient, components: Components, sendgrid_key: ec.EllipticCurvePrivateKey
) -> None:
    signed = body_of([event("delivered", ANA, "d1")])
    tampered = body_of([event("bounce", ANA, "d1")])

    response = client.post(WEBHOOK, content=tampered, headers=signed_headers(sendgrid_key, signed))

    assert response.status_code == 403
    assert response.json() == {"error": "signature does not match"}
    assert statuses(components) == ALL_ACTIVE


def test_batch_signed_by_another_key_is_refused(client: TestClient, components: Components) -> None:
    forger = ec.generate_private_key(ec.SECP256R1())

    response = client.post(WEBHOOK, content=BATCH, headers=signed_headers(forger, BATCH))

    assert response.status_code == 403
    assert statuses(components) == ALL_ACTIVE


@pytest.mark.parametrize(
    "missing",
    [(SIGNATURE_HEADER,), (TIMESTAMP_HEADER,), (SIGNATURE_HEADER, TIMESTAMP_HEADER)],
    ids=["signature", "timestamp", "both"],
)
def test_missing_headers_are_refused(
    client: TestClient,
    components: Components,
    sendgrid_key: ec.EllipticCurvePrivateKey,
    missing: tuple[str, ...],
) -> None:
    headers = {
        k: v for k, v in signed_headers(sendgrid_key, BATCH).items() if k not in set(missing)
    }

    response = client.post(WEBHOOK, content=BATCH, headers=headers)

    assert response.status_code == 403
    assert response.json()["error"].startswith("missing ")
    assert statuses(components) == ALL_ACTIVE


@pytest.mark.parametrize(
    "timestamp",
    [NOW_TS - 301, NOW_TS - 24 * 3600, NOW_TS + 61],
    ids=["just-over-5-minutes-old", "a-day-old", "in-the-future"],
)
def test_replayed_or_future_batch_is_refused_even_when_signed(
    client: TestClient,
    components: Components,
    sendgrid_key: ec.EllipticCurvePrivateKey,
    timestamp: int,
) -> None:
    response = client.post(
        WEBHOOK, content=BATCH, headers=signed_headers(sendgrid_key, BATCH, timestamp)
    )

    assert response.status_code == 403
    assert "timestamp" in response.json()["error"]
    assert statuses(components) == ALL_ACTIVE


def test_batch_signed_exactly_5_minutes_ago_is_still_accepted(
    client: TestClient, components: Components, sendgrid_key: ec.EllipticCurvePrivateKey
) -> None:
    response = client.post(
        WEBHOOK, content=BATCH, headers=signed_headers(sendgrid_key, BATCH, NOW_TS - 300)
    )

    assert response.status_code == 200
    assert statuses(components) == AFTER_BATCH


def test_signed_body_that_is_not_an_event_array_is_refused(
    client: TestClient, components: Components, sendgrid_key: ec.EllipticCurvePrivateKey
) -> None:
    body = json.dumps(event("bounce", ANA, "b1")).encode()  # an object, not an array

    response = client.post(WEBHOOK, content=body, headers=signed_headers(sendgrid_key, body))

    assert response.status_code == 403
    assert response.json() == {"error": "body is not a JSON array of events"}
    assert statuses(components) == ALL_ACTIVE


def test_webhook_only_takes_post(client: TestClient) -> None:
    assert client.get(WEBHOOK).status_code == 405


def test_webhook_without_a_configured_key_is_not_found(
    project: Path, sendgrid_key: ec.EllipticCurvePrivateKey
) -> None:
    c = build(configure(project, None))
    try:
        assert c.settings.delivery.sendgrid.webhook_public_key is None
        with TestClient(create_app(c)) as client:
            response = client.post(
                WEBHOOK, content=BATCH, headers=signed_headers(sendgrid_key, BATCH)
            )
        assert response.status_code == 404
        assert response.json() == {"error": "webhook not configured"}
        assert statuses(c) == ALL_ACTIVE
    finally:
        c.close()


def test_bounced_subscriber_is_not_sent_the_next_edition(
    client: TestClient,
    components: Components,
    settings: Settings,
    sendgrid_key: ec.EllipticCurvePrivateKey,
) -> None:
    body = body_of([event("bounce", BEN, "b1", reason="550 5.1.1 No such user")])
    response = client.post(WEBHOOK, content=body, headers=signed_headers(sendgrid_key, body))
    assert response.status_code == 200
    assert response.json()["suppressed"] == 1

    transport = MemoryTransport()
    c2 = build_components(settings, clock=lambda: FIXED_NOW, transport=transport)
    try:
        report = pipeline.run(c2, None)
    finally:
        c2.close()

    recipients = [m.to.email for m in transport.sent]
    assert BEN not in recipients
    assert sorted(recipients) == sorted(e for e in EVERYONE if e != BEN)
    assert report.delivered == len(EVERYONE) - 1
    # Syncing the subscriber list before sending did not bring him back.
    assert components.store.subscribers.status(BEN) == SubscriberStatus.BOUNCED


# --- unsubscribe ----------------------------------------------------------------------


def test_get_shows_a_form_and_never_unsubscribes(
    client: TestClient, components: Components
) -> None:
    path = unsubscribe_path(components.signing_key(), ANA)

    response = client.get(path)
    client.head(path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<form method="post">' in response.text
    assert 'name="List-Unsubscribe" value="One-Click"' in response.text
    assert ANA in response.text
    assert statuses(components) == ALL_ACTIVE


def test_one_click_post_unsubscribes_without_redirect(
    client: TestClient, components: Components
) -> None:
    response = client.post(
        unsubscribe_path(components.signing_key(), ANA),
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 200
    assert "location" not in response.headers
    assert "no more digests" in response.text
    assert statuses(components) == {**ALL_ACTIVE, ANA: SubscriberStatus.UNSUBSCRIBED}


def test_link_in_a_sent_edition_unsubscribes(
    client: TestClient, components: Components, settings: Settings
) -> None:
    transport = MemoryTransport()
    c2 = build_components(settings, clock=lambda: FIXED_NOW, transport=transport)
    try:
        pipeline.run(c2, None)
    finally:
        c2.close()
    url = next(m.unsubscribe_url for m in transport.sent if m.to.email == DORA)
    base = settings.web.base_url
    assert url.startswith(f"{base}/unsubscribe/")

    response = client.post(
        url.removeprefix(base),
        data={"List-Unsubscribe": "One-Click"},
    )

    assert response.status_code == 200
    assert statuses(components) == {**ALL_ACTIVE, DORA: SubscriberStatus.UNSUBSCRIBED}


def _bad_tokens(key: bytes) -> dict[str, str]:
    good = sign(key, "unsubscribe", ANA)
    return {
        "other-key": sign(b"some other key", "unsubscribe", ANA),
        "other-purpose": sign(key, "preferences", ANA),
        # Ana's value with Ben's MAC: the MAC covers the address.
        "swapped-value": f"{good.partition('.')[0]}.{sign(key, 'unsubscribe', BEN).partition('.')[2]}",
        "truncated-mac": good[:-2],
        "no-mac": good.partition(".")[0],
        "garbage": "%%%not-a-token",
    }


@pytest.mark.parametrize(
    "which",
    ["other-key", "other-purpose", "swapped-value", "truncated-mac", "no-mac", "garbage"],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_bad_token_is_not_found_and_changes_nothing(
    client: TestClient, components: Components, which: str, method: str
) -> None:
    token = _bad_tokens(components.signing_key())[which]

    response = client.request(
        method,
        f"/unsubscribe/{token}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 404
    assert "not valid" in response.text
    assert ANA not in response.text
    assert statuses(components) == ALL_ACTIVE


def test_page_escapes_the_address(client: TestClient, components: Components) -> None:
    email = "o'brien&co@mail.example"
    components.store.subscribers.upsert([Subscriber(email)], FIXED_NOW)
    path = unsubscribe_path(components.signing_key(), email)

    shown = client.get(path)
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})

    for response in (shown, done):
        assert response.status_code == 200
        assert "o&#39;brien&amp;co@mail.example" in response.text  # escaped by the template
        assert email not in response.text
    assert components.store.subscribers.status(email) == SubscriberStatus.UNSUBSCRIBED


def test_page_never_echoes_markup_from_a_token(client: TestClient, components: Components) -> None:
    # Only our key can sign a token, but the page must not trust what one carries.
    value = "<script>alert(1)</script>@mail.example"
    path = unsubscribe_path(components.signing_key(), value)

    for response in (client.get(path), client.post(path, data={"List-Unsubscribe": "One-Click"})):
        assert response.status_code == 200
        assert "<script" not in response.text.lower()
        assert "&lt;script&gt;alert(1)&lt;/script&gt;@mail.example" in response.text
    assert statuses(components) == ALL_ACTIVE


# --- every response -------------------------------------------------------------------


def _responses(client: TestClient, c: Components, key: ec.EllipticCurvePrivateKey) -> list[Any]:
    good = unsubscribe_path(c.signing_key(), ANA)
    return [
        client.get("/healthz"),
        client.get(good),
        client.get("/unsubscribe/nope"),
        client.post(good, data={"List-Unsubscribe": "One-Click"}),
        client.post(WEBHOOK, content=BATCH, headers=signed_headers(key, BATCH)),
        client.post(WEBHOOK, content=BATCH),
        client.get(WEBHOOK),
        client.get("/no/such/page"),
    ]


def test_security_headers_on_every_response(
    client: TestClient, components: Components, sendgrid_key: ec.EllipticCurvePrivateKey
) -> None:
    responses = _responses(client, components, sendgrid_key)

    assert [r.status_code for r in responses] == [200, 200, 404, 200, 200, 403, 405, 404]
    for response in responses:
        csp = response.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp, response.request.url
        assert "default-src 'none'" in csp, response.request.url
        assert response.headers.get("referrer-policy") == "no-referrer", response.request.url
        assert response.headers.get("x-content-type-options") == "nosniff", response.request.url


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["healthy"] is True and set(body["editions"]) == {"morning"}
    assert response.headers["content-type"].startswith("application/json")


def test_security_headers_even_on_a_server_error(
    components: Components, monkeypatch: pytest.MonkeyPatch
) -> None:
    def database_down(*args: object, **kwargs: object) -> bool:
        raise RuntimeError("database is down")

    monkeypatch.setattr(components.store.subscribers, "set_status", database_down)
    with TestClient(create_app(components), raise_server_exceptions=False) as client:
        response = client.post(unsubscribe_path(components.signing_key(), ANA))

    assert response.status_code == 500
    assert "frame-ancestors 'none'" in response.headers.get("content-security-policy", "")
    assert response.headers.get("x-content-type-options") == "nosniff"
    assert response.headers.get("referrer-policy") == "no-referrer"
