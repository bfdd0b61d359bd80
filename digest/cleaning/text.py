"""What the cleaning modules share: the extraction result and small text helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

# Lines that are page furniture, not article text: PREV/NEXT, share and follow bars,
# cookie notices, newsletter prompts, section headers, copyright lines.
BOILERPLATE = re.compile(
    r"""^(
        (prev|next|previous)\b.*
      | .*\bfollow\s+us\b.*
      | (share|tweet|email|print)(\s+(this|on\s+\w+|article|story))?\W*
      | share\s+on\s+\w+.*
      | .*\b(accept|allow|reject)\s+(all\s+)?cookies\b.*
      | .*\bcookie\s+(policy|settings|preferences)\b.*
      | .*\bsubscribe\s+(to|for)\s+(our|the)\b.*
      | .*\bsign\s+up\s+for\b.*
      | (read\s+more|related|recommended|advertisement|sponsored|most\s+read)\b.{0,80}
      | .*\ball\s+rights\s+reserved\b.*
      | (©|\(c\)|copyright\b).*
      | [\W_]*
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
# Characters XML 1.0 forbids (lxml refuses them; the email's MJML compile fails).
NOT_XML_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class Extracted:
    """What extraction found in one document."""

    title: str
    text: str
    author: str | None = None
    published: datetime | None = None
    url: str | None = None
    credit: str | None = None
    image: str | None = None
    site: str | None = None  # og:site_name or the publisher's name, from the page


def is_boilerplate(line: str) -> bool:
    # Share bars, cookie notices and their kind are short; prose is not tested.
    return len(line) <= 400 and bool(BOILERPLATE.match(line))


def one_line(value: str) -> str:
    """One line of text without the characters XML forbids (control characters in a
    title would make the email's MJML compile fail)."""
    return " ".join(NOT_XML_TEXT.sub("", value).split())


def norm(value: str) -> str:
    return " ".join(re.findall(r"\w+", value.lower()))


def first_words(text: str, n: int = 12) -> str:
    words = text.split()
    return " ".join(words[:n]) + ("…" if len(words) > n else "")


def cut_at_word(value: str, limit: int) -> str:
    """``value`` if it fits in ``limit`` characters, else cut at the last word that
    does, with an ellipsis."""
    if len(value) <= limit:
        return value
    cut = value[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:-") + "…"


def cut_at_paragraph(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else its whole paragraphs that do
    (a first paragraph longer than that is cut at a word)."""
    if len(text) <= limit:
        return text
    kept: list[str] = []
    size = 0
    for paragraph in text.split("\n\n"):
        if size + len(paragraph) > limit:
            break
        kept.append(paragraph)
        size += len(paragraph) + 2
    return "\n\n".join(kept) if kept else cut_at_word(text, limit)
