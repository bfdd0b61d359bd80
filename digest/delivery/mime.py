"""RFC 5322 messages: multipart/alternative, plain text first, with one-click
unsubscribe headers (RFC 2369 / RFC 8058)."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from digest.models import RenderedMessage

# RFC 5322 allows 998 characters a line. With the default 78, a URL longer than a line
# (an unsubscribe link with its token) is folded into RFC 2047 encoded words, which
# mail clients do not decode in List-Unsubscribe: the one-click button would break.
HEADERS = policy.default.clone(max_line_length=998)


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


def message_id(message: RenderedMessage, from_email: str) -> str:
    """Deterministic: the same edition to the same subscriber has the same id."""
    digest = hashlib.sha256(f"{message.edition_key}\n{message.to.email}".encode()).hexdigest()[:24]
    domain = from_email.rpartition("@")[2] or "localhost"
    return f"<{digest}@{domain}>"


def build_mime(
    message: RenderedMessage,
    *,
    from_email: str,
    from_name: str,
    now: datetime,
    reply_to: str | None = None,
    unsubscribe_mailto: str | None = None,
) -> EmailMessage:
    mime = EmailMessage(policy=HEADERS)
    # Address objects, not formatted strings: the header is then built from the parts,
    # so a display name such as 'Zoë <eve@evil.example>' stays a quoted name and never
    # becomes a second recipient.
    mime["From"] = _address(from_name, from_email)
    mime["To"] = _address(message.to.name, message.to.email)
    mime["Subject"] = message.subject
    mime["Date"] = format_datetime(now)
    mime["Message-ID"] = message_id(message, from_email)
    if reply_to:
        mime["Reply-To"] = reply_to
    targets = [f"<{message.unsubscribe_url}>"]
    if unsubscribe_mailto:
        targets.append(f"<mailto:{unsubscribe_mailto}?subject=unsubscribe>")
    mime["List-Id"] = list_id(message.edition_key, message.title, from_email)
    mime["List-Unsubscribe"] = ", ".join(targets)
    mime["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mime.set_content(message.text, subtype="plain", charset="utf-8")
    mime.add_alternative(message.html, subtype="html", charset="utf-8")
    return mime
