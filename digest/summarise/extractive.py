"""Extractive summaries: 1-3 whole sentences per story, within a word budget.

Sentences are scored by how central their words are to the whole story (a word
centroid over every sentence of every member article) with a bonus for lead
position; near-repeats of a chosen sentence are skipped, and the chosen ones
keep their reading order. Deterministic, no model.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from digest.language.sentences import split_sentences
from digest.models import Article

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# "MADRID (EFE) - ", "CALDMOOR, Nov 25 (Civic Wire) - ", "LONDON: "
_DATELINE = re.compile(
    r"^[A-ZÀ-Þ][A-ZÀ-Þ .'-]{2,40}"  # the city, in capitals
    r"(?:,\s*[A-Z][\w.]{1,20}(?:\s+\d{1,2})?)?"  # ", Country" or ", Nov 25"
    r"\s*(?:\([^)]{1,30}\))?\s*[-–—]\s+"  # "(Agency) - "
)
_JUNK = re.compile(
    r"(click here|sign up|subscribe|photo:|photograph:|picture:|image:|credit:|getty images|"
    r"all rights reserved|follow us|read more|^updated\b|^published\b)",
    re.IGNORECASE,
)
# "By Jane Doe" or "By JANE DOE, Reuters": a byline, not "By Thursday the council had...".
_BYLINE = re.compile(r"^By (?:[A-Z][a-zA-Z.'-]+ ){1,3}(?:and |[,|]|[A-Z][a-zA-Z.'-]+\b)")
MAX_SENTENCES = 3


@dataclass(frozen=True, slots=True)
class _Candidate:
    text: str
    words: frozenset[str]
    article: int
    position: int
    length: int


def summarise(articles: Sequence[Article], budget_words: int = 60) -> str:
    """The summary of a story told by ``articles`` (lead article first)."""
    candidates = _candidates(articles)
    if not candidates:
        return ""
    centroid = Counter(word for c in candidates for word in c.words)
    total = sum(centroid.values()) or 1

    def score(c: _Candidate) -> float:
        if not c.words:
            return 0.0
        centrality = sum(centroid[w] for w in c.words) / total / math.sqrt(len(c.words))
        lead = 1.0 / (1.0 + c.position)  # journalists put the news first
        return centrality * (1.0 + 0.6 * lead)

    ranked = sorted(candidates, key=lambda c: (-score(c), c.article, c.position))
    chosen: list[_Candidate] = []
    used = 0
    for candidate in ranked:
        if len(chosen) == MAX_SENTENCES:
            break
        if used + candidate.length > budget_words and chosen:
            continue
        if any(_overlap(candidate.words, c.words) > 0.5 for c in chosen):
            continue
        chosen.append(candidate)
        used += candidate.length
        if used >= budget_words * 0.8:
            break
    chosen.sort(key=lambda c: (c.article, c.position))
    return " ".join(c.text for c in chosen)


def _candidates(articles: Sequence[Article]) -> list[_Candidate]:
    out: list[_Candidate] = []
    for a_index, article in enumerate(articles):
        position = 0
        for sentence in split_sentences(article.text):
            sentence = _DATELINE.sub("", sentence).strip()
            length = len(sentence.split())
            if (
                length < 5
                or length > 80
                or _JUNK.search(sentence)
                or _BYLINE.match(sentence)
                or not _is_whole(sentence)
            ):
                continue
            words = frozenset(
                w for w in _WORD.findall(sentence.lower()) if w not in ENGLISH_STOP_WORDS
            )
            out.append(_Candidate(sentence, words, a_index, position, length))
            position += 1
    return out


def _is_whole(sentence: str) -> bool:
    """Starts like a sentence and ends like one: no fragments, no half quotes."""
    if not re.match(r"""^["'“‘(]?[A-Z0-9]""", sentence):
        return False
    if not re.search(r"""[.!?]["'”’)]*$""", sentence):
        return False
    return sentence.count('"') % 2 == 0 and sentence.count("“") == sentence.count("”")


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))
