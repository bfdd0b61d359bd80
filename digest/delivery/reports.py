"""Reading what mail servers send back about SMTP deliveries: RFC 3464 delivery status
notifications (bounces) and RFC 5965 ARF complaint reports.

A notification names the recipient it is about (``Original-Recipient`` or
``Final-Recipient`` of a DSN, ``Original-Rcpt-To`` of an ARF report, else the quoted
message's ``To``), often quotes the original ``Message-ID``, and was mailed to the
return path, which with VERP names the recipient too. What it means:

- ``Action: failed`` with a 5.x.x status: a hard bounce (the address does not work);
- ``Action: failed`` with a 4.x.x status: a soft bounce (the server gave up for now:
  mailbox full, over quota, greylisted too long);
- ``delayed``, ``delivered``, ``relayed``, ``expanded``: nothing to do;
- an ARF report: a complaint (the reader marked it as spam).

Anything else (a bounce as free text, a message that is not a report) is not read:
the importer leaves it where it is and says so.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses, parseaddr
from typing import Literal

Kind = Literal["hard", "soft", "complaint"]
MAX_REASON = 300
# Headers a delivered bounce keeps its envelope recipient in (the VERP address).
_ENVELOPE_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")
_ADDRESS = re.compile(r"[^\s<>\"';,]+@[^\s<>\"';,]+")


class Unreadable(Exception):
    """The message is not a delivery status notification or complaint report we read."""


@dataclass(frozen=True, slots=True)
class Report:
    """One recipient's bounce or complaint, as the notification tells it."""

    kind: Kind
    recipient: str | None  # as the report names it
    verp: str | None  # as the address it was mailed to names it (VERP)
    message_id: str | None  # of the original message, when quoted
    reason: str
    report_id: str  # the notification's own id (its Message-ID, or a hash of it)

    @property
    def address(self) -> str | None:
        """Whom it is about: the VERP address (we wrote it) before the report's own
        (which a forwarding server may have rewritten)."""
        return self.verp or self.recipient


def read_reports(raw: bytes, return_path: str | None = None) -> list[Report]:
    """The reports in one notification: one per failed recipient of a DSN, one for
    an ARF complaint; [] for notices that need nothing (delayed, delivered). Raises
    :class:`Unreadable` for anything that is not such a report."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    if message.get_content_type() != "multipart/report":
        raise Unreadable(f"a {message.get_content_type()} message, not a multipart/report")
    report_id = _text(message.get("Message-ID")) or hashlib.sha256(raw).hexdigest()[:32]
    verp = _verp_recipient(message, return_path)
    original = _original_message_id(message)
    kind = (message.get_param("report-type") or "").lower()  # type: ignore[union-attr]
    if kind == "delivery-status":
        return _dsn(message, verp, original, report_id)
    if kind == "feedback-report":
        return [_arf(message, verp, original, report_id)]
    raise Unreadable(f"a report of type {kind or '(none)'!r}")


def _part(message: EmailMessage, content_type: str) -> Message | None:
    return next((p for p in message.walk() if p.get_content_type() == content_type), None)


def _blocks(part: Message) -> list[Message]:
    """The header blocks of a message/delivery-status or message/feedback-report part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    text = payload if isinstance(payload, str) else ""
    return [HeaderParser().parsestr(block) for block in re.split(r"\r?\n\r?\n", text.strip())]


def _dsn(message: EmailMessage, verp: str | None, original: str | None, rid: str) -> list[Report]:
    part = _part(message, "message/delivery-status")
    if part is None:
        raise Unreadable("a delivery-status report without its message/delivery-status part")
    blocks = [b for b in _blocks(part)[1:] if b.get("Action") or b.get("Status")]
    if not blocks:
        raise Unreadable("a delivery-status report with no recipient in it")
    reports = []
    for block in blocks:
        action = _text(block.get("Action")).lower()
        status = _text(block.get("Status"))
        if action != "failed":
            continue  # delayed, delivered, relayed, expanded: nothing to do
        if not re.fullmatch(r"[245]\.\d{1,3}\.\d{1,3}", status):
            raise Unreadable(f"a failed recipient with a malformed status {status!r}")
        recipient = _typed_address(block.get("Original-Recipient")) or _typed_address(
            block.get("Final-Recipient")
        )
        diagnostic = _text(block.get("Diagnostic-Code"))
        reason = f"{status} {diagnostic}".strip()[:MAX_REASON]
        kind: Kind = "hard" if status.startswith("5") else "soft"
        reports.append(Report(kind, recipient, verp, original, reason, rid))
    return reports


def _arf(message: EmailMessage, verp: str | None, original: str | None, rid: str) -> Report:
    part = _part(message, "message/feedback-report")
    if part is None:
        raise Unreadable("a feedback report without its message/feedback-report part")
    fields = _blocks(part)[0] if _blocks(part) else Message()
    feedback = _text(fields.get("Feedback-Type")).lower() or "abuse"
    recipient = _bare(_text(fields.get("Original-Rcpt-To"))) or _quoted_to(message)
    return Report("complaint", recipient, verp, original, f"complaint: {feedback}", rid)


def _original_message_id(message: EmailMessage) -> str | None:
    """The Message-ID of the quoted original (message/rfc822 or text/rfc822-headers)."""
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            inner = part.get_payload()
            quoted = inner[0] if isinstance(inner, list) and inner else None
            if isinstance(quoted, Message) and quoted.get("Message-ID"):
                return _text(quoted.get("Message-ID")).strip() or None
        elif content_type == "text/rfc822-headers":
            headers = HeaderParser().parsestr(str(part.get_payload(decode=False)))
            if headers.get("Message-ID"):
                return _text(headers.get("Message-ID")).strip() or None
    return None


def _quoted_to(message: EmailMessage) -> str | None:
    for part in message.walk():
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                found = getaddresses([_text(inner[0].get("To"))])
                return found[0][1].lower() if found and found[0][1] else None
    return None


def _verp_recipient(message: EmailMessage, return_path: str | None) -> str | None:
    """With VERP the notification went to local+alice=example.org@domain: alice@example.org."""
    if not return_path:
        return None
    local, _, domain = return_path.lower().rpartition("@")
    prefix, suffix = f"{local}+", f"@{domain}"
    for header in _ENVELOPE_HEADERS:
        for value in message.get_all(header, []):
            for address in _ADDRESS.findall(_text(value).lower()):
                if address.startswith(prefix) and address.endswith(suffix):
                    encoded = address[len(prefix) : -len(suffix)]
                    user, sep, host = encoded.rpartition("=")
                    if sep and user and host:
                        return f"{user}@{host}"
    return None


def _typed_address(value: object) -> str | None:
    """``rfc822; alice@example.org`` -> alice@example.org."""
    text = _text(value)
    address_type, sep, address = text.partition(";")
    if not sep or address_type.strip().lower() != "rfc822":
        return None
    return _bare(address)


def _bare(value: str) -> str | None:
    address = parseaddr(value.strip())[1].lower()
    return address if "@" in address else None


def _text(value: object) -> str:
    return " ".join(str(value).split()) if value is not None else ""
