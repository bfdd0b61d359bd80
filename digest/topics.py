"""Sections: each story goes to the configured section it fits best.

A section is described by its name, description and keywords; a story's fit is
how many of those terms its headline (double weight) and text use, plus a strong
bonus when the source's topic hint names the section. Stories that fit nothing
go to the fallback section ("Other").
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from digest.models import Article, Story
from digest.settings import SectionSettings

_WORD = re.compile(r"[a-z0-9]+")
HINT_BONUS = 5.0
MIN_SCORE = 1.0


@dataclass(frozen=True, slots=True)
class _Profile:
    name: str
    terms: frozenset[str]
    phrases: tuple[str, ...]


def _profile(section: SectionSettings) -> _Profile:
    terms: set[str] = set()
    phrases: list[str] = []
    for keyword in section.keywords:
        words = _WORD.findall(keyword.lower())
        if len(words) == 1:
            terms.add(words[0])
        elif words:
            phrases.append(" ".join(words))
    for word in _WORD.findall(f"{section.name} {section.description}".lower()):
        if word not in ENGLISH_STOP_WORDS and len(word) > 2:
            terms.add(word)
    return _Profile(section.name, frozenset(terms), tuple(phrases))


def assign_sections(
    stories: Sequence[tuple[Story, Sequence[Article]]],
    sections: Sequence[SectionSettings],
    other: str = "Other",
) -> dict[str, list[Story]]:
    """Section name -> its stories, in configuration order, fallback last."""
    profiles = [_profile(s) for s in sections]
    out: dict[str, list[Story]] = {s.name: [] for s in sections}
    out.setdefault(other, [])
    for story, members in stories:
        best, best_score = other, MIN_SCORE - 1e-9
        for profile in profiles:
            score = _fit(profile, story, members)
            if score > best_score:
                best, best_score = profile.name, score
        out[best].append(story)
    return out


def _fit(profile: _Profile, story: Story, members: Sequence[Article]) -> float:
    head = " ".join(_WORD.findall(" ".join(a.title for a in members).lower()))
    body = " ".join(_WORD.findall(" ".join(a.text[:3000] for a in members).lower()))
    head_words = set(head.split())
    body_counts = Counter(body.split())
    score = 0.0
    for term in profile.terms:
        if term in head_words:
            score += 2.0
        if term in body_counts:
            score += 1.0 + min(body_counts[term], 5) * 0.2
    for phrase in profile.phrases:
        if phrase in head:
            score += 2.5
        if phrase in body:
            score += 1.5
    hints = {(a.topic_hint or "").lower() for a in members}
    if profile.name.lower() in hints:
        score += HINT_BONUS
    return score / math.sqrt(max(1, len(members)))
