"""SMTP delivery against a real SMTP server (aiosmtpd, STARTTLS on a certificate made
in the test, AUTH), with a real ledger on SQLite and PostgreSQL: every subscriber
once through temporary and permanent refusals, 421s and dropped connections; the
connection's problems that stop a send, each in one line with nothing lost."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from digest.delivery.deliverer import Deliverer
from digest.delivery.mime import Sender
from digest.delivery.requests import DeliveryPolicy
from digest.delivery.smtp import SmtpTransport, queue_id
from digest.delivery.smtp_session import probe
from digest.delivery.transport import Envelope, Recipient
from digest.errors import TransportAuthError
from digest.models import DeliveryState, Edition, Subscriber
from digest.rendering.personal import RenderedEdition
from digest.settings.delivery import SmtpSettings
from digest.store.database import Store, open_store
from tests.conftest import FIXED_NOW, Clock
from tests.smtp_server import PASSWORD, USER, Handler, SmtpServer, make_certificate

pytestmark = pytest.mark.filterwarnings("ignore:Session.login_data is deprecated")

RENDERED = RenderedEdition(
    "morning/2026-11-27", "Morning", "<p>Hello __dgN_greeting__</p>", "Hi __dgN_greeting__", "N"
)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = open_store(database_url)
    yield opened
    opened.close()


def settings_for(server: SmtpServer, cert: Path, **changes: object) -> SmtpSettings:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": server.port,
        "username": USER,
        "password": SecretStr(PASSWORD),
        "ca_file": cert,
        "timeout_seconds": 5.0,
    }
    values.update(changes)
    return SmtpSettings.model_validate(values)


def transport_for(settings: SmtpSettings, clock: Clock) -> SmtpTransport:
    return SmtpTransport(settings, Sender("digest@news.example", "Digest"), clock=clock)


def _setup(store: Store, n: int) -> tuple[int, list[str]]:
    people = [Subscriber(f"s{i:04d}@mail.example", f"S{i}") for i in range(n)]
    store.subscribers.upsert(people, FIXED_NOW)
    edition = Edition("morning", "Morning", "Morning", "2026-11-27", FIXED_NOW, ())
    return store.editions.save_draft(edition).id, [p.email for p in people]


def _deliver(store: Store, transport: SmtpTransport, edition_id: int, clock: Clock):  # type: ignore[no-untyped-def]
    deliverer = Deliverer(
        store.ledger,
        transport,
        clock=clock,
        sleep=clock.sleep,
        policy=DeliveryPolicy(batch_size=200, backoff_seconds=0.5),
        rng=random.Random(1),
    )
    return deliverer.deliver(edition_id, lambda s: RENDERED, lambda e: f"https://x.example/u/{e}")


# -- exactly once through what servers answer -------------------------------------------


@pytest.mark.slow
def test_two_thousand_subscribers_once_through_every_kind_of_answer(
    store: Store, certificate: tuple[Path, Path]
) -> None:
    handler = Handler()
    script = {
        "s0003@mail.example": ("rcpt:451",),  # try again later, then fine
        "s0010@mail.example": ("rcpt:550",),  # no such user
        "s0020@mail.example": ("rcpt:421",),  # the server goes down, then back
        "s0030@mail.example": ("drop-before-dot",),
        "s0040@mail.example": ("drop-after-dot",),  # kept, but the answer is lost
        "s0050@mail.example": ("data:452", "data:452"),  # queue full twice
        "s0060@mail.example": ("data:554",),  # refused after the dot
        "s0070@mail.example": ("data:421",),
        "s1999@mail.example": ("rcpt:451",) * 9,  # never takes it: at the attempt cap
    }
    for address, answers in script.items():
        handler.script(address, *answers)
    clock = Clock()
    with SmtpServer(handler, certificate=certificate) as server:
        edition_id, emails = _setup(store, 2000)
        transport = transport_for(settings_for(server, certificate[0]), clock)
        report = _deliver(store, transport, edition_id, clock)

    got = handler.counts
    assert max(got.values()) == 1, "somebody got the edition twice"
    rows = {r.email: r for r in store.ledger.rows(edition_id)}
    states = {e: r.state for e, r in rows.items()}
    refused = {"s0010@mail.example", "s0060@mail.example"}
    assert {e for e, s in states.items() if s == DeliveryState.REJECTED} == refused
    assert "5.1.1 no such user" in (rows["s0010@mail.example"].error or "")
    assert "5.7.1 refused" in (rows["s0060@mail.example"].error or "")
    assert states["s0040@mail.example"] == DeliveryState.AMBIGUOUS
    assert got["s0040@mail.example"] == 1  # it did arrive: ambiguous was the truth
    assert states["s1999@mail.example"] == DeliveryState.FAILED
    assert "gave up after 5 attempts" in (rows["s1999@mail.example"].error or "")
    accepted = {e for e, s in states.items() if s == DeliveryState.ACCEPTED}
    assert accepted == set(emails) - refused - {"s0040@mail.example", "s1999@mail.example"}
    assert set(got) == accepted | {"s0040@mail.example"}
    # The server's queue id is what the ledger keeps.
    assert all((rows[e].message_id or "").startswith("Q") for e in accepted)
    assert report.rejected == 2 and report.ambiguous == 1
    assert any("ambiguous" in note for note in report.notes)


def test_a_crash_leaves_only_handed_over_messages_in_doubt(
    store: Store, certificate: tuple[Path, Path]
) -> None:
    """Rows claimed by a process that died: those never handed to the server go out
    normally; the one handed over and unanswered is ambiguous."""
    clock = Clock()
    edition_id, emails = _setup(store, 30)
    store.ledger.enqueue(edition_id, clock())
    claimed = store.ledger.claim(edition_id, 10, "local-dead", clock(), holder="gone:1")
    store.ledger.settle([], [claimed[0].delivery_id], clock())
    handler = Handler()
    with SmtpServer(handler, certificate=certificate) as server:
        transport = transport_for(settings_for(server, certificate[0]), clock)
        report = _deliver(store, transport, edition_id, clock)
    states = {r.email: r.state for r in store.ledger.rows(edition_id)}
    assert states[claimed[0].subscriber.email] == DeliveryState.AMBIGUOUS
    assert report.ambiguous == 1
    others = set(emails) - {claimed[0].subscriber.email}
    assert {e for e, s in states.items() if s == DeliveryState.ACCEPTED} == others
    assert set(handler.counts) == others and max(handler.counts.values()) == 1


def test_a_pool_of_connections_and_messages_per_connection(
    certificate: tuple[Path, Path],
) -> None:
    handler = Handler()
    with SmtpServer(handler, certificate=certificate) as server:
        settings = settings_for(server, certificate[0], connections=3, messages_per_connection=5)
        transport = transport_for(settings, Clock())
        recipients = tuple(
            Recipient(i, Subscriber(f"p{i}@mail.example"), "https://x/u") for i in range(30)
        )
        assert transport.send(Envelope(RENDERED, recipients)).endswith("+29")
        transport.close()
    per_connection = handler.per_connection
    assert sum(per_connection.values()) == 30
    assert max(per_connection.values()) <= 5  # none used past its cap
    # 3 workers split 30 messages: each opens a connection per 5 it sends.
    assert 6 <= len(per_connection) <= 8


# -- problems that stop the send: one line each, nothing lost ----------------------------


def _stops(store: Store, settings: SmtpSettings, clock: Clock) -> str:
    edition_id, _ = _setup(store, 20)
    with pytest.raises(TransportAuthError) as raised:
        _deliver(store, transport_for(settings, clock), edition_id, clock)
    states = {r.state for r in store.ledger.rows(edition_id)}
    assert states == {DeliveryState.PENDING}, "rows were lost or marked"
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_a_wrong_password_stops_the_send(store: Store, certificate: tuple[Path, Path]) -> None:
    with SmtpServer(Handler(), certificate=certificate) as server:
        settings = settings_for(server, certificate[0], password=SecretStr("wrong"))
        message = _stops(store, settings, Clock())
    assert f"refused the login of {USER}" in message and "535" in message


def test_no_starttls_offered_stops_the_send(store: Store, certificate: tuple[Path, Path]) -> None:
    with SmtpServer(Handler(), mode="plain", auth=False) as server:
        settings = settings_for(server, certificate[0], username=None, password=None)
        message = _stops(store, settings, Clock())
    assert "does not offer STARTTLS" in message


def test_a_certificate_for_another_host_stops_the_send(store: Store, tmp_path: Path) -> None:
    other = make_certificate(tmp_path, "mail.other.example")
    with SmtpServer(Handler(), certificate=other) as server:
        message = _stops(store, settings_for(server, other[0]), Clock())
    assert "certificate of 127.0.0.1" in message and "not trusted" in message


def test_a_port_with_no_smtp_server_stops_the_send(store: Store, local_server: object) -> None:
    port = int(str(local_server.url).rsplit(":", 1)[1].split("/")[0])  # type: ignore[attr-defined]
    settings = SmtpSettings(host="127.0.0.1", port=port, security="none", timeout_seconds=1.0)
    message = _stops(store, settings, Clock())
    # An HTTP server says nothing first.
    assert "no SMTP greeting from 127.0.0.1" in message and "is it an SMTP server" in message


def test_a_server_that_is_down_leaves_the_rows_failed_for_the_next_run(
    store: Store,
) -> None:
    settings = SmtpSettings(host="127.0.0.1", port=1, security="none", timeout_seconds=2.0)
    edition_id, _ = _setup(store, 5)
    clock = Clock()
    _deliver(store, transport_for(settings, clock), edition_id, clock)
    rows = store.ledger.rows(edition_id)
    assert {r.state for r in rows} == {DeliveryState.FAILED}
    assert all("cannot connect to 127.0.0.1:1" in (r.error or "") for r in rows)


# -- small parts ----------------------------------------------------------------------


def test_the_probe_reports_what_the_server_offers(certificate: tuple[Path, Path]) -> None:
    with SmtpServer(Handler(), certificate=certificate) as server:
        settings = settings_for(server, certificate[0])
        found = probe(
            settings, SmtpTransport(settings, Sender("d@x.example", "D"), clock=Clock()).context
        )
    assert found.tls and found.tls.startswith("TLS")
    assert found.authenticated
    assert any(e.startswith("AUTH") for e in found.extensions)


def test_security_none_is_for_loopback_only() -> None:
    with pytest.raises(ValueError, match="only to a loopback address"):
        SmtpSettings(host="smtp.example.org", security="none")
    assert SmtpSettings(host="localhost", security="none").effective_port == 25
    assert SmtpSettings(host="email-smtp.eu-west-1.amazonaws.com").effective_port == 587


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("2.0.0 Ok: queued as 4BQ2Xk1Z", "4BQ2Xk1Z"),  # Postfix
        ("Ok 0100018f3a2b-6f0c-4e5e-000000", "0100018f3a2b-6f0c-4e5e-000000"),  # SES
        ("OK id=1rXyz-000Abc-2x", "1rXyz-000Abc-2x"),  # Exim
        ("2.0.0 OK", "<fallback@x>"),
    ],
)
def test_the_queue_id_from_the_reply(reply: str, expected: str) -> None:
    assert queue_id(reply, "<fallback@x>") == expected


def test_verp_puts_the_recipient_in_the_return_path(certificate: tuple[Path, Path]) -> None:
    handler = Handler()
    with SmtpServer(handler, certificate=certificate) as server:
        settings = settings_for(
            server, certificate[0], return_path="bounces@news.example", verp=True
        )
        transport = transport_for(settings, Clock())
        recipient = Recipient(1, Subscriber("ann@mail.example"), "https://x/u")
        transport.send(Envelope(RENDERED, (recipient,)))
        transport.close()
    assert handler.received[0].mail_from == "bounces+ann=mail.example@news.example"


def test_the_wire_message_greets_in_the_editions_language() -> None:
    """The outbox and SMTP fill the same values as the preview: an edition's greeting
    in its language, the name escaped in the HTML part only."""
    import email
    from datetime import UTC, datetime
    from email import policy

    from digest.delivery.mime import MimeTemplate

    rendered = RenderedEdition(
        "mañana/2026-12-02",
        "Mañana",
        "<p>__dgN_greeting__</p>",
        "__dgN_greeting__",
        "N",
        greetings=("Hola:", "Hola, %(name)s:"),
    )
    wire = MimeTemplate(rendered, Sender("d@news.example", "D")).build(
        Subscriber("ana@mail.example", "Ana <&>"), "https://x/u", None, datetime.now(UTC)
    )
    parsed = email.message_from_bytes(wire.data, policy=policy.default)
    html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "<p>Hola, Ana &lt;&amp;&gt;:</p>" in html
    assert text.strip() == "Hola, Ana <&>:"
