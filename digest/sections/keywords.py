"""Keyword fit: how well a story's words match each configured section.

A section is described by its name, description and keywords (a keyword may be a
phrase). A story's fit for a section counts the section's terms in the story's
headlines (2 points, a phrase 2.5) and text (1 point plus 0.2 per repeat up to
five, a phrase 1.5), adds ``HINT_BONUS`` when a source's topic hint names the
section, and divides by the square root of the number of tellings, so that a
story told five times does not win by volume. Words are compared after folding
plurals ("films" = "film"); stop words in descriptions do not count.

Each story is read in its language (``digest.language.profiles``: its words, stop
words and plural folding) and matched against the keywords a section lists for that
language (``keywords = {en = [...], es = [...]}``), or its one list.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.feature_extraction.text import CountVectorizer

from digest.language.profiles import profile
from digest.language.tags import ENGLISH, article_language
from digest.models import Article
from digest.settings.editions import SectionSettings

HINT_BONUS = 5.0
TEXT_CHARS = 3000  # of each telling: the top of an article says what it is about
TELLINGS = 4  # tellings of a story that are read


def tokens(text: str, language: str = ENGLISH) -> list[str]:
    """The folded words of ``text`` in ``language`` ("films" -> "film")."""
    rules = profile(language)
    return [rules.fold(w) for w in rules.terms.findall(text.lower())]


def section_terms(section: SectionSettings, language: str = ENGLISH) -> frozenset[str]:
    """Folded single words and space-joined phrases that describe a section to stories
    in ``language``."""
    rules = profile(language)
    terms: set[str] = set()
    for keyword in section.keywords_for(language):
        words = tokens(keyword, language)
        if words:
            terms.add(" ".join(words))
    for word in rules.terms.findall(f"{section.name} {section.description}".lower()):
        if word not in rules.stop_words and len(word) > 2:
            terms.add(rules.fold(word))
    return frozenset(terms)


@dataclass(frozen=True, slots=True)
class StoryWords:
    """A story as the section stage reads it: the words of its headlines and of the
    top of its first tellings, its sources' topic hints and how many tellings it has."""

    head: list[str]
    body: list[str]
    hints: frozenset[str]
    tellings: int
    language: str = ENGLISH


def story_words(members: Sequence[Article], language: str = ENGLISH) -> StoryWords:
    """A story's words, read in its members' language (else ``language``)."""
    language = article_language(members[0], language) if members else language
    return StoryWords(
        tokens(" ".join(a.title for a in members), language),
        tokens(" ".join(a.text[:TEXT_CHARS] for a in members[:TELLINGS]), language),
        frozenset((a.topic_hint or "").strip().lower() for a in members),
        len(members),
        language,
    )


def keyword_fit(
    stories: Sequence[StoryWords], sections: Sequence[SectionSettings]
) -> NDArray[np.float64]:
    """Stories x sections fit scores (see the module docstring); 0 when nothing matches."""
    fit = np.zeros((len(stories), len(sections)))
    if not sections or not stories:
        return fit
    by_language: dict[str, list[int]] = {}
    for index, story in enumerate(stories):
        by_language.setdefault(story.language, []).append(index)
    for language, rows in by_language.items():
        fit[rows] = _fit([stories[i] for i in rows], sections, language)
    return fit


def _fit(
    stories: Sequence[StoryWords], sections: Sequence[SectionSettings], language: str
) -> NDArray[np.float64]:
    """``keyword_fit`` of stories all in ``language``."""
    fit = _term_fit(stories, [section_terms(s, language) for s in sections])
    names = [s.name.strip().lower() for s in sections]
    for i, story in enumerate(stories):
        for k, name in enumerate(names):
            if name in story.hints:
                fit[i, k] += HINT_BONUS
        fit[i] /= math.sqrt(max(1, story.tellings))
    return fit


def _term_fit(
    stories: Sequence[StoryWords], profiles: Sequence[frozenset[str]]
) -> NDArray[np.float64]:
    """The points the sections' terms (``profiles``) score in each story."""
    vocabulary = sorted(set().union(*profiles))
    if not vocabulary:
        return np.zeros((len(stories), len(profiles)))
    column = {term: i for i, term in enumerate(vocabulary)}
    belongs = np.zeros((len(vocabulary), len(profiles)))
    for k, terms in enumerate(profiles):
        for term in terms:
            belongs[column[term], k] = 1.0
    phrase = np.array([" " in term for term in vocabulary])
    counter = CountVectorizer(analyzer=_ngrams, vocabulary=column)
    heads = counter.transform([story.head for story in stories])
    bodies = counter.transform([story.body for story in stories])
    in_head = sp.csr_matrix(heads > 0, dtype=np.float64)
    in_body = sp.csr_matrix(bodies > 0, dtype=np.float64)
    repeats = sp.csr_matrix(bodies, dtype=np.float64)
    repeats.data = np.minimum(repeats.data, 5.0) * 0.2
    words, phrases = belongs * ~phrase[:, None], belongs * phrase[:, None]
    fit = np.asarray(in_head @ (2.0 * words + 2.5 * phrases))
    fit += np.asarray(in_body @ (words + 1.5 * phrases) + repeats @ words)
    return fit


def _ngrams(words: list[str]) -> list[str]:
    return words + [" ".join(words[i : i + n]) for n in (2, 3) for i in range(len(words) - n + 1)]
