"""RFC 5322 messages: multipart/alternative, plain text first, with one-click
unsubscribe headers (RFC 2369 / RFC 8058).

A :class:`MimeTemplate` turns one rendered edition into wire bytes once, with the
per-subscriber values still to go in; each subscriber's message is then a few small
encodings and one join. The outbox and SMTP write the same bytes.
"""

from __future__ import annotations

import base64
import email
import hashlib
import html
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime

from digest.models import RenderedMessage, Subscriber
from digest.rendering.personal import RenderedEdition, personal_values


class _Registry(HeaderRegistry):
    """The standard header classes, each made once: the stock registry builds a new
    class for every header it parses (about 0.15 ms each, per message)."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


# RFC 5322 allows 998 characters a line. With the default 78, a URL longer than a line
# (an unsubscribe link with its token) is folded into RFC 2047 encoded words, which
# mail clients do not decode in List-Unsubscribe: the one-click button would break.
HEADERS = policy.default.clone(max_line_length=998, header_factory=_Registry())
CRLF = b"\r\n"


def _address(name: str, email: str) -> Address:
    username, _, domain = email.rpartition("@")
    return Address(display_name=name, username=username, domain=domain)


def address_problem(name: str, email: str) -> str | None:
    """Why no To header can be built for this name and address, if it cannot (a
    subscriber row from before names were cleaned, say): that one message is refused,
    the others go."""
    try:
        _address(name, email)
    except ValueError as exc:
        return f"no To header can be built for this address: {exc}"
    return None


_UNSAFE_PHRASE = re.compile(r'[\x00-\x1f\x7f"\\<>]')
LIST_TITLE_MAX = 80


def list_id(edition_key: str, title: str, from_email: str) -> str:
    """The RFC 2919 List-Id of an edition: its title as a quoted phrase (control
    characters, quotes, backslashes and angle brackets dropped, at most
    ``LIST_TITLE_MAX`` characters) and ``<NAME.DOMAIN>`` with the sender's domain."""
    name = edition_key.partition("/")[0]
    domain = from_email.rpartition("@")[2] or "localhost"
    phrase = " ".join(_UNSAFE_PHRASE.sub(" ", title).split())[:LIST_TITLE_MAX].strip()
    label = f"<{name}.{domain}>"
    return f'"{phrase}" {label}' if phrase else label


def message_id_for(edition_key: str, email: str, from_email: str) -> str:
    """Deterministic: the same edition to the same subscriber has the same id (a bounce
    that quotes it is matched back to its delivery by recomputing it)."""
    digest = hashlib.sha256(f"{edition_key}\n{email}".encode()).hexdigest()[:24]
    domain = from_email.rpartition("@")[2] or "localhost"
    return f"<{digest}@{domain}>"


def message_id(message: RenderedMessage, from_email: str) -> str:
    return message_id_for(message.edition_key, message.to.email, from_email)


ENCODED_WORD_BYTES = 45  # of UTF-8 per RFC 2047 word: 60 base64 + 12 = 72 <= 75 characters


def _to(subscriber: Subscriber) -> str:
    """The To header's value. A name in ASCII is quoted as ``Address`` quotes it; one
    in another script becomes base64 encoded words, whole characters in each (RFC 2047
    section 5: allowed in a phrase, and safe whatever the name holds)."""
    address = _address(subscriber.name, subscriber.email)
    if subscriber.name.isascii() or not subscriber.email.isascii():
        return str(address)
    words, chunk = [], ""
    for char in subscriber.name:
        if len((chunk + char).encode()) > ENCODED_WORD_BYTES:
            words.append(chunk)
            chunk = ""
        chunk += char
    words.append(chunk)
    phrase = " ".join(f"=?utf-8?b?{base64.b64encode(w.encode()).decode()}?=" for w in words)
    return f"{phrase} <{address.addr_spec}>"


@dataclass(frozen=True, slots=True)
class Sender:
    """Who a message is from, and where replies and mailed unsubscribes go."""

    from_email: str
    from_name: str
    reply_to: str | None = None
    unsubscribe_mailto: str | None = None


@dataclass(frozen=True, slots=True)
class Wire:
    """One message, ready to hand over: its Message-ID and bytes."""

    message_id: str
    data: bytes


class MimeTemplate:
    """One rendered edition as wire bytes, its per-subscriber values left out: both
    parts quoted-printable (7-bit, which any relay takes), each literal stretch encoded
    once and joined to the subscriber's values with soft line breaks."""

    def __init__(
        self,
        rendered: RenderedEdition,
        sender: Sender,
        linesep: bytes = CRLF,
        *,
        transparent: bool = False,
    ) -> None:
        """``transparent``: the bytes go straight into an SMTP DATA (RFC 5321 section
        4.5.2: a line that starts with a dot gets another), so each stretch is
        stuffed once here rather than the whole message for every subscriber."""
        self.rendered, self.sender, self.eol = rendered, sender, linesep
        self.transparent = transparent
        self.fold = HEADERS.clone(linesep=linesep.decode())
        seed = f"{rendered.edition_key}\n{rendered.nonce}".encode()
        # Quoted-printable never holds "=_": the boundary cannot occur inside a part.
        self.boundary = "=_dg" + hashlib.sha256(seed).hexdigest()[:28]
        self._from = self._folded("From", _address(sender.from_name, sender.from_email))
        self._subject = self._folded("Subject", rendered.subject)
        self._reply = self._folded("Reply-To", sender.reply_to) if sender.reply_to else b""
        list_header = list_id(rendered.edition_key, rendered.title, sender.from_email)
        self._tail = b"".join(
            (
                self._folded("List-Id", list_header),
                b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" + linesep,
                b"MIME-Version: 1.0" + linesep,
                self._folded("Content-Type", f'multipart/alternative; boundary="{self.boundary}"'),
                linesep,
            )
        )
        html_parts, text_parts = rendered.parts()
        self._text = self._segments(text_parts, "plain")
        self._html = self._segments(html_parts, "html")

    def _folded(self, name: str, value: object) -> bytes:
        """One header line (folded), parsed from ``value`` as ``EmailMessage`` would."""
        parsed = self.fold.header_store_parse(name, value)
        return self.fold.fold_binary(*parsed)

    def _line(self, name: str, value: str) -> bytes:
        """A header that needs no encoding or folding as it is; anything else (a name
        in another script, say) through the ``email`` package (~1 ms a header)."""
        if value.isascii() and value.isprintable() and len(name) + len(value) < 997:
            return f"{name}: {value}".encode() + self.eol
        return self._folded(name, value)

    def _segments(self, parts: tuple[str, ...], subtype: str) -> tuple[bytes | str, ...]:
        """The part's head and its literal stretches encoded; field names in between."""
        eol = self.eol
        head = (
            f"--{self.boundary}".encode() + eol
            + f'Content-Type: text/{subtype}; charset="utf-8"'.encode() + eol
            + b"Content-Transfer-Encoding: quoted-printable" + eol + eol
        )  # fmt: skip
        out: list[bytes | str] = [head]
        last = len(parts) - 1
        for i, part in enumerate(parts):
            if i % 2:
                out.append(part)  # a field: the subscriber's value goes here
            else:
                out.append(self._encoded(part, soft_end=i != last))
        return tuple(out)

    def _encoded(self, text: str, *, soft_end: bool) -> bytes:
        """A stretch of a part, quoted-printable; it always starts a line."""
        encoded = quoted_printable(text, self.eol, soft_end=soft_end) + self.eol
        return dot_stuffed(encoded) if self.transparent else encoded

    def build(
        self,
        subscriber: Subscriber,
        unsubscribe_url: str,
        preferences_url: str | None,
        now: datetime,
    ) -> Wire:
        """This subscriber's message."""
        values = personal_values(
            subscriber, unsubscribe_url, preferences_url, self.rendered.greetings
        )
        ident = message_id_for(self.rendered.edition_key, subscriber.email, self.sender.from_email)
        targets = [f"<{unsubscribe_url}>"]
        if self.sender.unsubscribe_mailto:
            targets.append(f"<mailto:{self.sender.unsubscribe_mailto}?subject=unsubscribe>")
        out = [
            self._from,
            self._line("To", _to(subscriber)),
            self._subject,
            self._line("Date", format_datetime(now)),
            self._line("Message-ID", ident),
            self._reply,
            self._line("List-Unsubscribe", ", ".join(targets)),
            self._tail,
        ]
        self._fill(out, self._text, values)
        escaped = {k: html.escape(v, quote=True) for k, v in values.items()}
        self._fill(out, self._html, escaped)
        out.append(f"--{self.boundary}--".encode() + self.eol)
        return Wire(ident, b"".join(out))

    def _fill(
        self, out: list[bytes], segments: tuple[bytes | str, ...], values: dict[str, str]
    ) -> None:
        for segment in segments:
            if isinstance(segment, str):
                value = values.get(segment, segment)
                out.append(self._encoded(value, soft_end=True))
            else:
                out.append(segment)


def mime_bytes(
    message: RenderedMessage, sender: Sender, now: datetime, linesep: bytes = CRLF
) -> bytes:
    """A personalised message's bytes (nothing left to fill in)."""
    rendered = RenderedEdition(
        edition_key=message.edition_key,
        subject=message.subject,
        html=message.html,
        text=message.text,
        nonce=secrets.token_hex(8),  # text from a feed cannot forge a placeholder
        title=message.title,
    )
    wire = MimeTemplate(rendered, sender, linesep).build(
        message.to, message.unsubscribe_url, None, now
    )
    return wire.data


def build_mime(message: RenderedMessage, sender: Sender, now: datetime) -> EmailMessage:
    """:func:`mime_bytes` parsed, for reading a message's headers."""
    parsed = email.message_from_bytes(mime_bytes(message, sender, now), policy=HEADERS)
    assert isinstance(parsed, EmailMessage)
    return parsed


def dot_stuffed(data: bytes) -> bytes:
    """RFC 5321 section 4.5.2 transparency of CRLF text that starts a line."""
    stuffed = data.replace(b"\r\n.", b"\r\n..")
    return b"." + stuffed if stuffed.startswith(b".") else stuffed


# Bytes quoted-printable leaves as they are: printable ASCII and tab ("=" is escaped
# before, so that a soft break is never cut from its escape by the pattern).
_QP_UNSAFE = re.compile(rb"[^\t\x20-\x7e]")
_QP_ESCAPES = {bytes([b]): b"=%02X" % b for b in range(256)}
QP_LINE = 76


def quoted_printable(text: str, eol: bytes, *, soft_end: bool = False) -> bytes:
    """RFC 2045 quoted-printable of ``text``: lines of at most 76 characters, soft
    breaks never inside an escape, whitespace at a line's end escaped. With
    ``soft_end`` the last line ends in a soft break (what follows joins it). binascii's
    encoder takes ~5 ms for a 70 KB edition, this a fraction of that."""
    plain = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    out: list[bytes] = []
    lines = plain.split(b"\n")
    for n, raw in enumerate(lines, 1):
        line = _QP_UNSAFE.sub(lambda m: _QP_ESCAPES[m.group()], raw.replace(b"=", b"=3D"))
        if line[-1:] in (b" ", b"\t"):
            line = line[:-1] + _QP_ESCAPES[line[-1:]]
        limit = QP_LINE - 1 if soft_end and n == len(lines) else QP_LINE
        start = 0
        while len(line) - start > limit:
            cut = start + QP_LINE - 1
            if line[cut - 1] == 61:  # "=": an escape starts right before the break
                cut -= 1
            elif line[cut - 2] == 61:
                cut -= 2
            out.append(line[start:cut] + b"=")
            start = cut
        out.append(line[start:] + b"=" if soft_end and n == len(lines) else line[start:])
    return eol.join(out)
