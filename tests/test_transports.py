"""Transports: the outbox writes parseable RFC 5322 messages, atomically and idempotently."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest

from digest.delivery.outbox import OutboxTransport
from digest.delivery.transport import Envelope, MemoryTransport, Recipient
from digest.errors import DeliveryError
from digest.models import Subscriber
from digest.rendering.personal import RenderedEdition, placeholder
from tests.conftest import FIXED_NOW

NONCE = "0123456789abcdef"
RENDERED = RenderedEdition(
    edition_key="morning/2026-11-27",
    subject="The Morning Digest — 2026-11-27",
    html=f"<html><body><p>{placeholder(NONCE, 'greeting')}</p></body></html>",
    text=f"{placeholder(NONCE, 'greeting')}\n",
    nonce=NONCE,
)


def _message(*emails: str) -> Envelope:
    recipients = tuple(
        Recipient(n, Subscriber(e, "Ana López"), "https://digest.example.org/unsubscribe/TOKEN")
        for n, e in enumerate(emails or ("ana@mail.example",))
    )
    return Envelope(RENDERED, recipients)


def _outbox(directory: Path) -> OutboxTransport:
    return OutboxTransport(
        directory, from_email="digest@news.example", from_name="Digest", clock=lambda: FIXED_NOW
    )


def test_outbox_writes_a_multipart_message_with_unsubscribe_headers(tmp_path: Path) -> None:
    transport = _outbox(tmp_path / "outbox")
    message_id = transport.send(_message())
    [path] = list((tmp_path / "outbox").glob("*.eml"))
    parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in parsed.iter_parts()]
    assert parts == [
        "text/plain",
        "text/html",
    ]  # plain text first: clients pick the last they can show
    assert parsed["To"] == "Ana López <ana@mail.example>"
    assert parsed["From"] == "Digest <digest@news.example>"
    assert parsed["Subject"] == "The Morning Digest — 2026-11-27"
    assert parsed["Message-ID"] == message_id
    assert parsed["Date"]
    assert parsed["List-Unsubscribe"] == "<https://digest.example.org/unsubscribe/TOKEN>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert (
        parsed.get_body(("html",)).get_content().strip()
        == "<html><body><p>Hello Ana López,</p></body></html>"
    )


def test_sending_the_same_message_twice_leaves_one_file(tmp_path: Path) -> None:
    transport = _outbox(tmp_path)
    first = transport.send(_message())
    second = transport.send(_message())
    assert first == second
    assert len(list(tmp_path.glob("*.eml"))) == 1
    assert not list(tmp_path.glob("*.tmp"))


def test_different_subscribers_get_different_files(tmp_path: Path) -> None:
    transport = _outbox(tmp_path)
    transport.send(_message("ana@mail.example", "ana@other.example"))
    assert len(list(tmp_path.glob("*.eml"))) == 2


def test_unwritable_outbox_is_a_delivery_error(tmp_path: Path) -> None:
    blocker = tmp_path / "outbox"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(DeliveryError, match="cannot write"):
        _outbox(blocker).send(_message())


def test_memory_transport_keeps_messages() -> None:
    transport = MemoryTransport()
    assert transport.send(_message("a@mail.example", "b@mail.example")) == "memory-2"
    assert [m.to.email for m in transport.sent] == ["a@mail.example", "b@mail.example"]
    assert transport.sent[0].html == "<html><body><p>Hello Ana López,</p></body></html>"


def test_a_long_unsubscribe_url_stays_literal_in_the_raw_header(tmp_path: Path) -> None:
    """Mail clients read List-Unsubscribe raw: a URL folded into RFC 2047 encoded
    words (Python's default for a word longer than 78 characters) breaks one-click."""
    url = "https://digest.example.org/unsubscribe/" + "YW5hLmxvcGV6QG1haWwuZXhhbXBsZQ" * 3
    envelope = Envelope(RENDERED, (Recipient(1, Subscriber("ana@mail.example"), url),))
    _outbox(tmp_path).send(envelope)
    [path] = list(tmp_path.glob("*.eml"))
    raw = path.read_bytes().decode("ascii")
    assert f"List-Unsubscribe: <{url}>\n" in raw


def test_a_display_name_cannot_add_a_recipient(tmp_path: Path) -> None:
    """A name like 'Zoë <eve@evil.example>' stays a name: the header has one address."""
    envelope = Envelope(
        RENDERED,
        (
            Recipient(
                1, Subscriber("new@mail.example", "Zoë <eve@evil.example>"), "https://x.example/u"
            ),
        ),
    )
    _outbox(tmp_path).send(envelope)
    [path] = list(tmp_path.glob("*.eml"))
    parsed = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    addresses = parsed["To"].addresses
    assert [a.addr_spec for a in addresses] == ["new@mail.example"]
    assert addresses[0].display_name == "Zoë <eve@evil.example>"
