"""Per-subscriber values in a rendered edition: placeholders in, values out.

An edition is rendered and compiled once per combination of sections, with a
placeholder wherever a subscriber's own value goes; filling one is a string
replacement, each value HTML-escaped in the HTML part. The placeholders carry a
random nonce per render, so text from a feed cannot forge one.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from digest.language.catalogues import N_
from digest.models import RenderedMessage, Subscriber

PERSONAL_FIELDS = ("greeting", "unsubscribe_url", "preferences_url")
# The greeting without a name, and with one; each edition has them in its language.
GREETINGS = (N_("Hello,"), N_("Hello %(name)s,"))


@dataclass(frozen=True, slots=True)
class RenderedEdition:
    """An edition's HTML and text with per-subscriber placeholders still in them."""

    edition_key: str
    subject: str
    html: str
    text: str
    nonce: str
    dropped: int = 0  # stories moved to the web version to stay under the clip
    title: str = ""  # the edition's (newsletter's) title: its List-Id names it
    greetings: tuple[str, str] = GREETINGS  # in the edition's language
    # Both parts cut at their placeholders once, so filling them is one join.
    _html_parts: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _text_parts: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pattern = re.compile(rf"__dg{re.escape(self.nonce)}_([a-z_]+?)__")
        object.__setattr__(self, "_html_parts", tuple(pattern.split(self.html)))
        object.__setattr__(self, "_text_parts", tuple(pattern.split(self.text)))

    def parts(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The HTML and the text cut at their placeholders: literal, field, literal,
        ..., literal (what a transport that encodes once per edition starts from)."""
        return self._html_parts, self._text_parts

    def fill(self, values: dict[str, str]) -> tuple[str, str]:
        """HTML and text with every placeholder replaced (HTML-escaped in the HTML)."""
        escaped = {k: html.escape(v, quote=True) for k, v in values.items()}
        return _join(self._html_parts, escaped), _join(self._text_parts, values)


def placeholder(nonce: str, field: str) -> str:
    """Where a per-subscriber value goes."""
    return f"__dg{nonce}_{field}__"


def personal_values(
    subscriber: Subscriber,
    unsubscribe_url: str,
    preferences_url: str | None = None,
    greetings: tuple[str, str] = GREETINGS,
) -> dict[str, str]:
    """The per-subscriber values, unescaped, by placeholder field; ``greetings`` are
    the edition's (without a name, with ``%(name)s``)."""
    named = greetings[1] % {"name": subscriber.name} if subscriber.name else greetings[0]
    return {
        "greeting": named,
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
    html_out, text_out = rendered.fill(
        personal_values(subscriber, unsubscribe_url, preferences_url, rendered.greetings)
    )
    return RenderedMessage(
        to=subscriber,
        subject=rendered.subject,
        html=html_out,
        text=text_out,
        unsubscribe_url=unsubscribe_url,
        edition_key=rendered.edition_key,
        title=rendered.title,
    )


def _join(parts: tuple[str, ...], values: dict[str, str]) -> str:
    # re.split with one group: literal, field, literal, field, ..., literal
    return "".join(values.get(p, p) if i % 2 else p for i, p in enumerate(parts))
