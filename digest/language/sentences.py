"""Sentence splitting without downloaded data: regular expressions plus, per
language, the abbreviations that do not end a sentence (Mr., U.S., Sra., EE.UU.,
z.B.), initials and decimals.

A sentence may end at ``.``, ``!``, ``?`` or ``…`` followed by closing quotes or
brackets, a space and something that can start a sentence: a capital (in other
languages than English any Latin capital, "Él", "Über"), a digit, or an opening
quote or mark ("«", "„", "¿", "¡").
"""

from __future__ import annotations

import re

from digest.language.profiles import Profile, profile
from digest.language.tags import ENGLISH


def split_sentences(text: str, language: str = ENGLISH) -> list[str]:
    """Split ``text`` (paragraphs separated by blank lines) into sentences, with the
    rules of ``language`` (a primary tag, "es")."""
    rules = profile(language)
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        if paragraph:
            out.extend(_split_paragraph(paragraph, rules))
    return out


def _split_paragraph(paragraph: str, rules: Profile) -> list[str]:
    sentences: list[str] = []
    start = 0
    for match in rules.boundary.finditer(paragraph):
        end = match.end(2)
        if (
            match.group(1) == "."
            and not match.group(2)
            and _is_abbreviation(paragraph[start : match.start(1)], rules, paragraph[match.end() :])
        ):
            continue
        sentence = paragraph[start:end].strip()
        if sentence:
            sentences.append(sentence)
        start = match.end()
    tail = paragraph[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _is_abbreviation(before: str, rules: Profile, after: str = "") -> bool:
    word = before.rsplit(" ", 1)[-1].lstrip(rules.opening).lower()
    if not word:
        return False
    if word in rules.abbreviations or (word in rules.numbered and after[:1].isdigit()):
        return True
    # Initials and dotted acronyms: "J.", "U.S", "a.m"
    return bool(rules.initials.fullmatch(word))
