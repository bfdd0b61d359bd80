"""One-off messages that are not editions (a sign-up confirmation), wrapped as a
one-recipient envelope so that every transport sends them the way it sends editions:
the outbox writes an ``.eml``, SendGrid posts one personalization."""

from __future__ import annotations

import hashlib
import html
import secrets
from collections.abc import Sequence

from digest.delivery.transport import Envelope, Recipient
from digest.models import Subscriber
from digest.rendering.personal import RenderedEdition


def notice(
    to: Subscriber,
    *,
    subject: str,
    paragraphs: Sequence[str],
    unsubscribe_url: str,
    kind: str,
    link: str | None = None,
    language: str = "en",
) -> Envelope:
    """A short plain message: the text part is the paragraphs; the HTML part the same,
    escaped, with the paragraph equal to ``link`` made a link. ``kind`` names the
    message in file names and provider categories ("signup"); ``language`` (a BCP 47
    tag) is the one it is written in."""
    text = "\n\n".join(paragraphs) + "\n"
    body = "".join(
        f'<p><a href="{html.escape(p, quote=True)}">{html.escape(p)}</a></p>'
        if p == link
        else f"<p>{html.escape(p)}</p>"
        for p in paragraphs
    )
    lang = html.escape(language, quote=True)
    page = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head>"
        '<body style="font-family:sans-serif;line-height:1.5;max-width:36rem">'
        f"{body}</body></html>"
    )
    # Unique per message: outbox file names and Message-IDs derive from the key.
    tag = hashlib.sha256(f"{to.email}\n{text}".encode()).hexdigest()[:16]
    rendered = RenderedEdition(
        edition_key=f"{kind}/{tag}",
        subject=subject,
        html=page,
        text=text,
        nonce=secrets.token_hex(8),  # no placeholders: the body is final
    )
    return Envelope(rendered, (Recipient(0, to, unsubscribe_url),))
