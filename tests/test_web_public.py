"""The subscriber pages: preferences, sign-up with double opt-in, the public archive.

In process through Starlette's TestClient, on the shipped config in a temp dir with a
real SQLite file; mail goes to an in-memory transport (one test uses the outbox).
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from digest import pipeline
from digest.audience.signup import SIGNUP_TTL
from digest.components import Components, build_components
from digest.delivery.outbox import OutboxTransport
from digest.delivery.transport import Envelope, MemoryTransport
from digest.errors import TransientDeliveryError
from digest.models import Subscriber, SubscriberStatus
from digest.rendering.outputs import write_web_version
from digest.settings.config import Settings, load_settings
from digest.tokens import sign
from digest.web.app import create_app
from digest.web.archive import WEB_VERSION_CSP
from tests.conftest import FIXED_NOW, Clock

SECRET = "test-secret-" + "k" * 32
ANA = "ana.lopez@mail.example"  # every section, Europe/Madrid
BEN = "ben.okafor@mail.example"  # Business;Technology, Europe/London
CHEN = "chen.wei@mail.example"
DORA = "dora@mail.example"
NEWCOMER = "new.reader@mail.example"
SECTIONS = ["World", "Politics", "Business", "Technology", "Science & Health", "Sport", "Culture"]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(project: Path) -> Settings:
    return load_settings(project, {"DIGEST_SECRET_KEY": SECRET})


@pytest.fixture
def transport() -> MemoryTransport:
    return MemoryTransport()


@pytest.fixture
def components(
    settings: Settings, clock: Clock, transport: MemoryTransport
) -> Iterator[Components]:
    c = build_components(settings, clock=clock, transport=transport)
    c.store.subscribers.upsert(c.subscribers(), FIXED_NOW)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def client(components: Components) -> Iterator[TestClient]:
    with TestClient(create_app(components), follow_redirects=False) as client:
        yield client


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def preferences_path(c: Components, address: str, purpose: str = "preferences") -> str:
    return f"/preferences/{sign(c.signing_key(), purpose, address)}"


def status_of(c: Components, address: str) -> SubscriberStatus | None:
    return c.store.subscribers.status(address)


def send_edition(c: Components, settings: Settings, when: datetime) -> list[str]:
    """Run a whole cycle at ``when`` (collect, build, send) on a fresh memory transport;
    the addresses it was sent to."""
    sent = MemoryTransport()
    other = build_components(settings, clock=lambda: when, transport=sent)
    try:
        pipeline.run(other, None)
    finally:
        other.close()
    return sorted(m.to.email for m in sent.sent)


# --- preferences ----------------------------------------------------------------------


def test_preferences_page_shows_the_current_choice(
    client: TestClient, components: Components
) -> None:
    response = client.get(preferences_path(components, BEN))

    assert response.status_code == 200
    page = response.text
    assert BEN in page
    for name in SECTIONS:
        escaped = name.replace("&", "&amp;")
        box = re.search(
            rf'<input type="checkbox" name="section" value="{escaped}"( checked)?>', page
        )
        assert box, name
        assert bool(box.group(1)) == (name in ("Business", "Technology")), name
    assert '<option value="Europe/London" selected>' in page
    assert page.count(" selected>") == 1
    assert 'name="paused" value="yes">' in page  # not ticked
    assert csrf_of(page)
    assert "digest_csrf" in response.cookies


def test_saving_preferences_updates_the_subscriber(
    client: TestClient, components: Components
) -> None:
    path = preferences_path(components, BEN)
    token = csrf_of(client.get(path).text)

    response = client.post(
        path,
        data={
            "csrf_token": token,
            "action": "save",
            "section": ["Sport", "Science & Health", "No such section"],
            "timezone": "Asia/Tokyo",
        },
    )

    assert response.status_code == 200
    assert "Saved." in response.text
    record = components.store.subscribers.get(BEN)
    assert record is not None
    assert record.subscriber.topics == ("Science & Health", "Sport")  # configured order
    assert record.subscriber.timezone == "Asia/Tokyo"
    assert record.status == SubscriberStatus.ACTIVE
    assert record.preferences_set_at == FIXED_NOW
    assert '<option value="Asia/Tokyo" selected>' in response.text


def test_no_section_or_every_section_means_all(client: TestClient, components: Components) -> None:
    path = preferences_path(components, BEN)
    token = csrf_of(client.get(path).text)

    for chosen in ([], SECTIONS):
        client.post(
            path, data={"csrf_token": token, "section": chosen, "timezone": "Europe/London"}
        )
        record = components.store.subscribers.get(BEN)
        assert record is not None and record.subscriber.topics == ()


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "../../etc/passwd", "Europe/"])
def test_bad_time_zone_is_refused_and_nothing_changes(
    client: TestClient, components: Components, zone: str
) -> None:
    path = preferences_path(components, BEN)
    token = csrf_of(client.get(path).text)

    response = client.post(path, data={"csrf_token": token, "section": "Sport", "timezone": zone})

    assert response.status_code == 400
    assert "Choose a time zone" in response.text
    record = components.store.subscribers.get(BEN)
    assert record is not None
    assert record.subscriber.topics == ("Business", "Technology")
    assert record.preferences_set_at is None


@pytest.mark.parametrize("csrf", [None, "", "forged-token"], ids=["missing", "empty", "wrong"])
def test_saving_without_the_csrf_token_is_refused(
    client: TestClient, components: Components, csrf: str | None
) -> None:
    path = preferences_path(components, BEN)
    client.get(path)  # the cookie is set: only the form field is missing or wrong
    data = {"section": "Sport", "timezone": "Asia/Tokyo", "paused": "yes"}
    if csrf is not None:
        data["csrf_token"] = csrf

    response = client.post(path, data=data)

    assert response.status_code == 403
    assert "expired" in response.text
    record = components.store.subscribers.get(BEN)
    assert record is not None
    assert record.subscriber.timezone == "Europe/London"
    assert record.status == SubscriberStatus.ACTIVE


def test_csrf_token_without_its_cookie_is_refused(
    components: Components, client: TestClient
) -> None:
    path = preferences_path(components, BEN)
    token = csrf_of(client.get(path).text)
    client.cookies.clear()  # another browser replaying the field

    response = client.post(path, data={"csrf_token": token, "timezone": "Asia/Tokyo"})

    assert response.status_code == 403
    assert components.store.subscribers.get(BEN).subscriber.timezone == "Europe/London"  # type: ignore[union-attr]


def _bad_preference_tokens(c: Components) -> dict[str, str]:
    key = c.signing_key()
    good = sign(key, "preferences", ANA)
    return {
        "unsubscribe-token": sign(key, "unsubscribe", ANA),
        "other-key": sign(b"another key", "preferences", ANA),
        "tampered": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "swapped-value": f"{sign(key, 'preferences', BEN).partition('.')[0]}.{good.partition('.')[2]}",
        "garbage": "%%%not-a-token",
        "unknown-address": sign(key, "preferences", "nobody@mail.example"),
    }


@pytest.mark.parametrize(
    "which",
    ["unsubscribe-token", "other-key", "tampered", "swapped-value", "garbage", "unknown-address"],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_bad_preferences_token_is_not_found(
    client: TestClient, components: Components, which: str, method: str
) -> None:
    token = _bad_preference_tokens(components)[which]
    csrf = csrf_of(client.get("/signup").text)

    response = client.request(
        method,
        f"/preferences/{token}",
        data={"csrf_token": csrf, "timezone": "Asia/Tokyo", "paused": "yes"},
    )

    assert response.status_code == 404
    assert "not valid" in response.text
    assert ANA not in response.text and BEN not in response.text
    assert status_of(components, ANA) == SubscriberStatus.ACTIVE
    assert components.store.subscribers.get(ANA).preferences_set_at is None  # type: ignore[union-attr]


def test_preferences_without_a_token_explain_where_the_link_is(client: TestClient) -> None:
    for path in ("/preferences", "/unsubscribe"):
        response = client.get(path)
        assert response.status_code == 200
        assert "link at the bottom" in response.text


# --- pause, resume, and what delivery and the CSV import make of them -------------------


def pause(client: TestClient, c: Components, address: str, paused: bool = True) -> None:
    path = preferences_path(c, address)
    page = client.get(path).text
    current = c.store.subscribers.get(address)
    assert current is not None
    data: dict[str, object] = {
        "csrf_token": csrf_of(page),
        "section": list(current.subscriber.topics),
        "timezone": current.subscriber.timezone,
    }
    if paused:
        data["paused"] = "yes"
    response = client.post(path, data=data)
    assert response.status_code == 200, response.text


def test_paused_subscriber_is_not_sent_until_they_resume(
    client: TestClient, components: Components, settings: Settings
) -> None:
    pause(client, components, CHEN)
    assert status_of(components, CHEN) == SubscriberStatus.PAUSED
    page = client.get(preferences_path(components, CHEN)).text
    assert 'name="paused" value="yes" checked>' in page
    assert "Deliveries are paused" in page

    first = send_edition(components, settings, FIXED_NOW)

    assert CHEN not in first
    assert first == sorted([ANA, BEN, DORA])
    # pipeline.send synced the CSV (which lists Chen) first: still paused.
    assert status_of(components, CHEN) == SubscriberStatus.PAUSED

    pause(client, components, CHEN, paused=False)
    assert status_of(components, CHEN) == SubscriberStatus.ACTIVE
    assert CHEN in send_edition(components, settings, FIXED_NOW + timedelta(days=1))


def test_csv_import_keeps_what_the_subscriber_chose(
    client: TestClient, components: Components, settings: Settings
) -> None:
    path = preferences_path(components, BEN)
    token = csrf_of(client.get(path).text)
    client.post(path, data={"csrf_token": token, "section": "Sport", "timezone": "Asia/Tokyo"})
    csv = settings.subscribers.file
    csv.write_text(
        csv.read_text(encoding="utf-8").replace("Ben Okafor,", "Benjamin Okafor,"),
        encoding="utf-8",
    )

    counts = components.store.subscribers.upsert(components.subscribers(), FIXED_NOW)
    send_edition(components, settings, FIXED_NOW)  # syncs the CSV again before sending

    assert counts.updated == 1  # the name only
    record = components.store.subscribers.get(BEN)
    assert record is not None
    assert record.subscriber.name == "Benjamin Okafor"
    assert record.subscriber.timezone == "Asia/Tokyo"
    assert record.subscriber.topics == ("Sport",)
    # Nobody else chose: the CSV still rules them.
    ana = components.store.subscribers.get(ANA)
    assert ana is not None and ana.preferences_set_at is None


def test_unsubscribed_subscriber_sees_it_and_can_come_back(
    client: TestClient, components: Components, settings: Settings
) -> None:
    components.store.subscribers.set_status(
        DORA, SubscriberStatus.UNSUBSCRIBED, "unsubscribe link", FIXED_NOW
    )
    path = preferences_path(components, DORA)

    page = client.get(path).text
    assert "You are unsubscribed" in page
    assert 'name="section"' not in page  # no preferences form, just the way back
    token = csrf_of(page)

    # Saving preferences does not re-subscribe by the back door.
    refused = client.post(path, data={"csrf_token": token, "timezone": "UTC"})
    assert refused.status_code == 409
    assert status_of(components, DORA) == SubscriberStatus.UNSUBSCRIBED
    assert DORA not in send_edition(components, settings, FIXED_NOW)

    back = client.post(path, data={"csrf_token": token, "action": "resubscribe"})
    assert back.status_code == 200
    assert "subscribed again" in back.text
    assert status_of(components, DORA) == SubscriberStatus.ACTIVE
    assert DORA in send_edition(components, settings, FIXED_NOW + timedelta(days=1))


@pytest.mark.parametrize(
    "status", [SubscriberStatus.BOUNCED, SubscriberStatus.COMPLAINED, SubscriberStatus.DROPPED]
)
def test_suppressed_address_is_sent_to_sign_up_not_reactivated(
    client: TestClient, components: Components, status: SubscriberStatus
) -> None:
    components.store.subscribers.set_status(ANA, status, "event", FIXED_NOW)
    path = preferences_path(components, ANA)

    page = client.get(path).text
    assert "We stopped sending to this address" in page
    assert '<a href="/signup">' in page
    assert "<form" not in page
    token = csrf_of(client.get("/signup").text)
    for data in ({"action": "resubscribe"}, {"action": "save", "timezone": "UTC"}):
        client.post(path, data={"csrf_token": token, **data})
    assert status_of(components, ANA) == status


# --- sign-up ----------------------------------------------------------------------------


def signup(client: TestClient, address: str, **fields: object) -> httpx.Response:
    token = csrf_of(client.get("/signup").text)
    return client.post("/signup", data={"csrf_token": token, "email": address, **fields})


def confirmation_link(transport: MemoryTransport, address: str) -> str:
    messages = [m for m in transport.sent if m.to.email == address]
    assert messages, f"no confirmation to {address}"
    found = re.search(r"https://digest\.news\.example(/signup/confirm/\S+)", messages[-1].text)
    assert found
    return found.group(1)


def test_signup_form(client: TestClient) -> None:
    response = client.get("/signup")

    assert response.status_code == 200
    assert 'type="email"' in response.text and 'name="name"' in response.text
    assert response.text.count('name="section"') == len(SECTIONS)
    assert csrf_of(response.text)


def test_double_opt_in_from_form_to_subscriber(
    client: TestClient, components: Components, transport: MemoryTransport, settings: Settings
) -> None:
    response = signup(client, NEWCOMER, name="New Reader", section=["Culture", "Sport"])

    assert response.status_code == 200
    assert "Check your inbox" in response.text
    assert status_of(components, NEWCOMER) is None  # nothing before the confirmation
    [mail] = transport.sent
    assert mail.to == Subscriber(NEWCOMER, "New Reader")
    assert "Confirm your subscription" in mail.subject
    assert mail.unsubscribe_url.startswith("https://digest.news.example/unsubscribe/")
    link = confirmation_link(transport, NEWCOMER)
    assert f'href="https://digest.news.example{link}"' in mail.html

    # A link scanner's GET (and HEAD) subscribes nobody.
    shown = client.get(link)
    assert client.head(link).status_code == 200
    assert shown.status_code == 200
    assert "Confirm subscription" in shown.text and NEWCOMER in shown.text
    assert status_of(components, NEWCOMER) is None
    assert client.post(link, data={}).status_code == 403
    assert status_of(components, NEWCOMER) is None

    done = client.post(link, data={"csrf_token": csrf_of(shown.text)})

    assert done.status_code == 200
    assert "You are subscribed" in done.text
    record = components.store.subscribers.get(NEWCOMER)
    assert record is not None
    assert record.status == SubscriberStatus.ACTIVE
    assert record.subscriber == Subscriber(NEWCOMER, "New Reader", "UTC", ("Sport", "Culture"))
    assert record.preferences_set_at == FIXED_NOW
    # The page links to the new subscriber's preferences.
    assert preferences_path(components, NEWCOMER) in done.text
    assert NEWCOMER in send_edition(components, settings, FIXED_NOW)


def test_same_answer_for_known_and_unknown_addresses(
    client: TestClient, components: Components, transport: MemoryTransport
) -> None:
    known = signup(client, ANA)
    unknown = signup(client, NEWCOMER)

    assert known.status_code == unknown.status_code == 200
    assert known.text.replace(ANA, "X") == unknown.text.replace(NEWCOMER, "X")
    # Both get the same kind of mail; Ana stays as she was until she confirms.
    assert sorted(m.to.email for m in transport.sent) == sorted([ANA, NEWCOMER])
    assert components.store.subscribers.get(ANA).preferences_set_at is None  # type: ignore[union-attr]


def test_confirming_re_subscribes_someone_who_left(
    client: TestClient, components: Components, transport: MemoryTransport
) -> None:
    components.store.subscribers.set_status(
        BEN, SubscriberStatus.UNSUBSCRIBED, "unsubscribe link", FIXED_NOW
    )
    signup(client, "Ben.Okafor@mail.example", section="Sport")  # as typed, any case
    link = confirmation_link(transport, "Ben.Okafor@mail.example")

    page = client.get(link)
    client.post(link, data={"csrf_token": csrf_of(page.text)})

    record = components.store.subscribers.get(BEN)
    assert record is not None
    assert record.status == SubscriberStatus.ACTIVE
    assert record.subscriber.name == "Ben Okafor"  # kept: no name given
    assert record.subscriber.topics == ("Sport",)
    assert record.subscriber.timezone == "Europe/London"


def test_a_replayed_confirmation_link_does_not_undo_a_later_unsubscribe(
    client: TestClient, components: Components, transport: MemoryTransport, clock: Clock
) -> None:
    signup(client, NEWCOMER)
    link = confirmation_link(transport, NEWCOMER)
    client.post(link, data={"csrf_token": csrf_of(client.get(link).text)})
    assert status_of(components, NEWCOMER) == SubscriberStatus.ACTIVE
    clock.now = FIXED_NOW + timedelta(hours=2)
    components.store.subscribers.set_status(
        NEWCOMER, SubscriberStatus.UNSUBSCRIBED, "unsubscribe link", clock.now
    )
    clock.now = FIXED_NOW + timedelta(hours=3)  # the same link, still within 48 hours
    again = client.post(link, data={"csrf_token": csrf_of(client.get(link).text)})
    assert again.status_code == 409 and "Sign up again" in again.text
    assert status_of(components, NEWCOMER) == SubscriberStatus.UNSUBSCRIBED
    # A new sign-up, after the unsubscribe, works.
    signup(client, NEWCOMER)
    fresh = confirmation_link(transport, NEWCOMER)
    assert fresh != link
    client.post(fresh, data={"csrf_token": csrf_of(client.get(fresh).text)})
    assert status_of(components, NEWCOMER) == SubscriberStatus.ACTIVE


@pytest.mark.parametrize("csrf", [None, "forged"], ids=["missing", "wrong"])
def test_signup_without_csrf_sends_nothing(
    client: TestClient, transport: MemoryTransport, csrf: str | None
) -> None:
    client.get("/signup")
    data = {"email": NEWCOMER} | ({"csrf_token": csrf} if csrf else {})

    response = client.post("/signup", data=data)

    assert response.status_code == 403
    assert transport.sent == []
    assert f'value="{NEWCOMER}"' in response.text  # the form comes back filled in


@pytest.mark.parametrize("address", ["not-an-address", "a@b", "", "ana@mail.example\r\nBcc: x@y.z"])
def test_signup_with_a_bad_address_sends_nothing(
    client: TestClient, transport: MemoryTransport, address: str
) -> None:
    response = signup(client, address)

    assert response.status_code == 400
    assert "not a valid email address" in response.text
    assert transport.sent == []


def test_signup_rate_limit_per_client(client: TestClient, transport: MemoryTransport) -> None:
    for _ in range(6):  # looking at the form does not count
        assert client.head("/signup").status_code == 200
    answers = [signup(client, f"reader{i}@mail.example").status_code for i in range(6)]

    assert answers == [200] * 5 + [429]
    limited = signup(client, "reader9@mail.example")
    assert limited.status_code == 429
    assert 0 < int(limited.headers["Retry-After"]) <= 600
    assert len(transport.sent) == 5
    # The form itself still shows.
    assert client.get("/signup").status_code == 200


def test_one_address_gets_at_most_three_confirmations_an_hour(
    client: TestClient, transport: MemoryTransport
) -> None:
    answers = [signup(client, NEWCOMER) for _ in range(4)]

    assert [a.status_code for a in answers] == [200] * 4
    assert len({a.text for a in answers}) == 1
    assert len(transport.sent) == 3


def _confirm_tokens(c: Components, clock: Clock) -> dict[str, str]:
    key = c.signing_key()
    value = '{"e": "new.reader@mail.example", "n": "", "s": []}'
    good = sign(key, "signup", value, expires=clock.now + SIGNUP_TTL)
    encoded, stamp, mac = good.split(".")
    return {
        "expired": sign(key, "signup", value, expires=clock.now - timedelta(seconds=1)),
        "expiry-moved": f"{encoded}.{int(stamp) + 3600}.{mac}",
        "tampered-value": f"{sign(key, 'signup', value.replace('new', 'old')).split('.')[0]}.{stamp}.{mac}",
        "other-key": sign(b"another key", "signup", value, expires=clock.now + SIGNUP_TTL),
        "never-expires": sign(key, "signup", value),
        "preferences-token": sign(key, "preferences", NEWCOMER),
        "not-json": sign(key, "signup", "new.reader@mail.example", expires=clock.now + SIGNUP_TTL),
        "garbage": "%%%",
    }


@pytest.mark.parametrize(
    "which",
    [
        "expired",
        "expiry-moved",
        "tampered-value",
        "other-key",
        "never-expires",
        "preferences-token",
        "not-json",
        "garbage",
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_bad_confirmation_link_subscribes_nobody(
    client: TestClient, components: Components, clock: Clock, which: str, method: str
) -> None:
    token = _confirm_tokens(components, clock)[which]
    csrf = csrf_of(client.get("/signup").text)

    response = client.request(method, f"/signup/confirm/{token}", data={"csrf_token": csrf})

    assert response.status_code == 404
    assert "expired or is not valid" in response.text
    assert status_of(components, NEWCOMER) is None


def test_confirmation_link_expires_after_48_hours(
    client: TestClient, components: Components, transport: MemoryTransport, clock: Clock
) -> None:
    signup(client, NEWCOMER)
    link = confirmation_link(transport, NEWCOMER)
    csrf = csrf_of(client.get(link).text)

    clock.now = FIXED_NOW + SIGNUP_TTL - timedelta(seconds=1)
    assert client.get(link).status_code == 200
    clock.now = FIXED_NOW + SIGNUP_TTL
    assert client.get(link).status_code == 404
    assert client.post(link, data={"csrf_token": csrf}).status_code == 404
    assert status_of(components, NEWCOMER) is None


def test_hostile_name_is_escaped_everywhere(
    client: TestClient, components: Components, transport: MemoryTransport
) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    response = signup(client, NEWCOMER, name=hostile)
    assert response.status_code == 200
    mail = transport.sent[-1]
    assert "<script" not in mail.html.lower() and "<img" not in mail.html.lower()

    link = confirmation_link(transport, NEWCOMER)
    page = client.get(link)
    client.post(link, data={"csrf_token": csrf_of(page.text)})
    record = components.store.subscribers.get(NEWCOMER)
    assert record is not None
    # Sign-up keeps no characters that build addresses or markup in a name.
    assert not set('<>@,;:"') & set(record.subscriber.name)
    # A name imported from the operator's CSV may still carry them: pages escape it.
    components.store.subscribers.upsert([Subscriber(NEWCOMER, hostile)], FIXED_NOW)

    # The address in a bad-CSRF echo of the form, and the preferences page.
    echoed = client.post("/signup", data={"email": '"><script>alert(1)</script>', "name": hostile})
    for page_text in (echoed.text, client.get(preferences_path(components, NEWCOMER)).text):
        assert "<script" not in page_text.lower()
        assert "onerror=alert(1)>" not in page_text


def test_confirmation_is_written_to_the_outbox(settings: Settings, clock: Clock) -> None:
    outbox = settings.delivery.outbox_dir
    c = build_components(settings, clock=clock)
    try:
        assert isinstance(c.transport, OutboxTransport)
        with TestClient(create_app(c)) as client:
            assert signup(client, NEWCOMER, name="New Reader").status_code == 200
    finally:
        c.close()

    [path] = list(outbox.glob("signup-*.eml"))
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert message["To"] == f"New Reader <{NEWCOMER}>"
    assert message["Subject"] == "Confirm your subscription to The Morning Digest"
    text = message.get_body(("plain",))
    assert text is not None and "/signup/confirm/" in text.get_content()


def _eml(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_a_name_with_cr_lf_from_the_sign_up_form_injects_no_header(
    settings: Settings, clock: Clock
) -> None:
    """A sign-up whose name carries CR/LF and a header: the confirmation and, once
    confirmed, the edition go out with one To header and no other recipient; the
    stored name is one clean line; everyone else still gets the edition."""
    outbox = settings.delivery.outbox_dir
    c = build_components(settings, clock=clock)
    hostile = "Eve\r\nBcc: victim@x.example\r\n\r\n<b>body</b>"
    try:
        c.store.subscribers.upsert(c.subscribers(), FIXED_NOW)
        with TestClient(create_app(c)) as client:
            assert signup(client, NEWCOMER, name=hostile).status_code == 200
            [path] = list(outbox.glob("signup-*.eml"))
            confirmation = _eml(path)
            found = re.search(
                r"(/signup/confirm/\S+)", confirmation.get_body(("plain",)).get_content()
            )  # type: ignore[union-attr]
            assert found
            link = found.group(1)
            page = client.get(link)
            assert client.post(link, data={"csrf_token": csrf_of(page.text)}).status_code == 200
        record = c.store.subscribers.get(NEWCOMER)
        assert record is not None and record.status == SubscriberStatus.ACTIVE
        name = record.subscriber.name
        assert "\r" not in name and "\n" not in name and ":" not in name and "@" not in name
        report = pipeline.run(c, None)
        assert report.failed_deliveries == 0, report.notes
    finally:
        c.close()
    editions = [_eml(p) for p in outbox.glob("*.eml") if not p.name.startswith("signup-")]
    assert len(editions) == len(c.subscribers()) + 1  # the CSV's and the newcomer
    for message in [confirmation, *editions]:
        assert message["Bcc"] is None and message["Cc"] is None
        assert len(message.get_all("To") or []) == 1
        assert "\n" not in str(message["To"])
        assert len(message["To"].addresses) == 1  # the display name is no address
    [eve] = [m for m in editions if m["To"].addresses[0].addr_spec == NEWCOMER]
    assert eve["To"].addresses[0].display_name == name
    assert confirmation["To"].addresses[0].addr_spec == NEWCOMER


def provider_down(envelope: Envelope) -> str:
    raise TransientDeliveryError("connection refused", maybe_sent=False)


def test_mail_provider_down_says_so(settings: Settings, clock: Clock) -> None:
    c = build_components(settings, clock=clock, transport=MemoryTransport(provider_down))
    try:
        with TestClient(create_app(c)) as client:
            response = signup(client, NEWCOMER)
    finally:
        c.close()

    assert response.status_code == 503
    assert "try again later" in response.text


# --- archive ----------------------------------------------------------------------------

SENT_PERIOD = "2026-11-27"
DRAFT_PERIOD = "2026-11-28"


@pytest.fixture
def archive(components: Components, settings: Settings) -> Components:
    """One sent edition (the sample cycle) and a draft whose web version exists too."""
    send_edition(components, settings, FIXED_NOW)
    sent = components.store.editions.get("morning", SENT_PERIOD)
    assert sent is not None and sent.status == "sent"
    draft = replace(sent.edition, period=DRAFT_PERIOD)
    components.store.editions.save_draft(draft)
    write_web_version(components.renderer, components.settings, draft)
    return components


def test_archive_lists_sent_editions_only(client: TestClient, archive: Components) -> None:
    response = client.get("/editions")

    assert response.status_code == 200
    assert "The Morning Digest" in response.text
    assert f'href="/editions/morning/{SENT_PERIOD}"' in response.text
    assert DRAFT_PERIOD not in response.text


def test_archive_lists_newest_first(
    client: TestClient, archive: Components, settings: Settings
) -> None:
    send_edition(archive, settings, FIXED_NOW + timedelta(days=2))

    text = client.get("/editions").text

    assert text.index("2026-11-29") < text.index(SENT_PERIOD)


def test_empty_archive(client: TestClient) -> None:
    response = client.get("/editions")
    assert response.status_code == 200
    assert "No edition has been sent yet" in response.text


def test_sent_edition_is_served_with_images_allowed_and_scripts_off(
    client: TestClient, archive: Components
) -> None:
    response = client.get(f"/editions/morning/{SENT_PERIOD}")

    assert response.status_code == 200
    on_disk = archive.settings.web.editions_dir / "morning" / f"{SENT_PERIOD}.html"
    assert response.text == on_disk.read_text(encoding="utf-8")
    csp = response.headers["content-security-policy"]
    assert csp == WEB_VERSION_CSP
    assert "img-src https: http: data:" in csp
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["referrer-policy"] == "no-referrer"


def test_draft_is_not_served_though_its_file_exists(
    client: TestClient, archive: Components
) -> None:
    assert (archive.settings.web.editions_dir / "morning" / f"{DRAFT_PERIOD}.html").exists()

    response = client.get(f"/editions/morning/{DRAFT_PERIOD}")

    assert response.status_code == 404
    assert "no such edition" in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/editions/morning/%2e%2e",  # (a literal ".." the client resolves itself)
        "/editions/..%2F..%2Fconfig/digest",
        "/editions/morning/..%2F..%2F..%2Fconfig%2Fdigest",
        f"/editions/morning/{SENT_PERIOD}.html",
        f"/editions/Morning/{SENT_PERIOD}",
        f"/editions/morning/{SENT_PERIOD}%00",
        "/editions/morning/2026-11-27/extra",
        "/editions/evening/2026-11-27",
        "/editions/morning/" + "9" * 40,
    ],
)
def test_path_tricks_are_not_found(client: TestClient, archive: Components, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 404
    assert "[storage]" not in response.text


def test_a_symlink_out_of_the_web_folder_is_not_followed(
    client: TestClient, archive: Components, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.html"
    secret.write_text("top secret", encoding="utf-8")
    page = archive.settings.web.editions_dir / "morning" / f"{SENT_PERIOD}.html"
    page.unlink()
    page.symlink_to(secret)

    response = client.get(f"/editions/morning/{SENT_PERIOD}")

    assert response.status_code == 404
    assert "top secret" not in response.text


def test_sent_edition_without_its_file_is_not_found(
    client: TestClient, archive: Components
) -> None:
    (archive.settings.web.editions_dir / "morning" / f"{SENT_PERIOD}.html").unlink()

    assert client.get(f"/editions/morning/{SENT_PERIOD}").status_code == 404


# --- every page ---------------------------------------------------------------------------


def test_security_headers_on_every_subscriber_page(
    client: TestClient, components: Components
) -> None:
    responses = [
        client.get("/signup"),
        client.post("/signup", data={}),
        client.get("/signup/confirm/nope"),
        client.get(preferences_path(components, ANA)),
        client.post(preferences_path(components, ANA), data={}),
        client.get("/preferences/nope"),
        client.get("/editions"),
        client.get("/editions/morning/2000-01-01"),
    ]

    assert [r.status_code for r in responses] == [200, 403, 404, 200, 403, 404, 200, 404]
    for response in responses:
        csp = response.headers.get("content-security-policy", "")
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "form-action 'self'" in csp
        assert response.headers.get("referrer-policy") == "no-referrer"
        assert response.headers.get("x-content-type-options") == "nosniff"
        assert "location" not in response.headers
        assert response.headers["content-type"].startswith("text/html")


def test_no_redirect_target_is_taken_from_the_request(
    client: TestClient, components: Components
) -> None:
    path = preferences_path(components, ANA)
    token = csrf_of(client.get(path).text)
    for url in (
        f"{path}?next=https://evil.example/",
        "/signup?next=https://evil.example/",
        "/editions?next=//evil.example",
    ):
        response = client.post(url, data={"csrf_token": token, "timezone": "UTC"})
        assert "location" not in response.headers
        assert "evil.example" not in response.text
