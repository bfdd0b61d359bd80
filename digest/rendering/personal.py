"""Per-subscriber values in a rendered edition: placeholders in, values out.

An edition is rendered and compiled once per combination of sections, with a
placeholder wherever a subscriber's own value goes; filling one is a string
replacement, each value HTML-escaped in the HTML part. The placeholders carry a
random nonce per render, so text from a feed cannot forge one.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from digest.models import RenderedMessage, Subscriber

PERSONAL_FIELDS = ("greeting", "unsubscribe_url", "preferences_url")


@dataclass(frozen=True, slots=True)
class RenderedEdition:
    """An edition's HTML and text with per-subscriber placeholders still in them."""

    edition_key: str
    subject: str
    html: str
    text: str
    nonce: str
    dropped: int = 0  # stories moved to the web version to stay under the clip


def placeholder(nonce: str, field: str) -> str:
    """Where a per-subscriber value goes."""
    return f"__dg{nonce}_{field}__"


def personal_values(
    subscriber: Subscriber, unsubscribe_url: str, preferences_url: str | None = None
) -> dict[str, str]:
    """The per-subscriber values, unescaped, by placeholder field."""
    return {
        "greeting": f"Hello {subscriber.name}," if subscriber.name else "Hello,",
        "unsubscribe_url": unsubscribe_url,
        "preferences_url": preferences_url or unsubscribe_url,
    }


def personalise(
    rendered: RenderedEdition,
    subscriber: Subscriber,
    unsubscribe_url: str,
    preferences_url: str | None = None,
) -> RenderedMessage:
    """Fill the placeholders for one subscriber: cheap string substitution."""
    html_out, text_out = rendered.html, rendered.text
    for field, value in personal_values(subscriber, unsubscribe_url, preferences_url).items():
        token = placeholder(rendered.nonce, field)
        html_out = html_out.replace(token, html.escape(value, quote=True))
        text_out = text_out.replace(token, value)
    return RenderedMessage(
        to=subscriber,
        subject=rendered.subject,
        html=html_out,
        text=text_out,
        unsubscribe_url=unsubscribe_url,
        edition_key=rendered.edition_key,
    )
