"""Sentence splitting without downloaded data: regular expressions plus a list of
abbreviations that do not end a sentence (Mr., U.S., Jan., initials, decimals)."""

from __future__ import annotations

import re

_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "mt",
        "ft",
        "gen",
        "col",
        "lt",
        "sgt",
        "capt",
        "cmdr",
        "adm",
        "gov",
        "sen",
        "rep",
        "pres",
        "rev",
        "hon",
        "vs",
        "etc",
        "inc",
        "ltd",
        "co",
        "corp",
        "dept",
        "univ",
        "assn",
        "bros",
        "approx",
        "fig",
        "vol",
        "pp",
        "eds",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "tue",
        "thu",
        "fri",
        "ave",
        "blvd",
        "rd",
        "ft",
        "e.g",
        "i.e",
        "u.s",
        "u.k",
        "u.n",
        "a.m",
        "p.m",
    ]
)

# A candidate boundary: sentence punctuation, optional closing quotes/brackets, space,
# then something that can start a sentence (capital, digit, opening quote).
_BOUNDARY = re.compile(r"""([.!?…]+)(["'”’)\]]*)\s+(?=["'“‘(\[]?[A-Z0-9])""")


def split_sentences(text: str) -> list[str]:
    """Split ``text`` (paragraphs separated by blank lines) into sentences."""
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        if paragraph:
            out.extend(_split_paragraph(paragraph))
    return out


def _split_paragraph(paragraph: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(paragraph):
        end = match.end(2)
        if (
            match.group(1) == "."
            and not match.group(2)
            and _is_abbreviation(paragraph[start : match.start(1)])
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


def _is_abbreviation(before: str) -> bool:
    word = before.rsplit(" ", 1)[-1].lstrip("\"'“‘([").lower()
    if not word:
        return False
    if word in _ABBREVIATIONS:
        return True
    # Initials and dotted acronyms: "J.", "U.S", "a.m"
    return bool(re.fullmatch(r"[a-z]|([a-z]\.)+[a-z]", word))
