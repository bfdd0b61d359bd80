"""Extractive summaries: 1-3 whole sentences per story, within a word budget.

Sentences are scored by how central their words are to the whole story (a word
centroid over every sentence of every member article) with a bonus for lead
position. A sentence adds to the summary only what the chosen ones do not say
already: one whose content words are mostly covered by them (the same facts in
another outlet's words) is skipped. The chosen ones keep their reading order, and
the summary never opens with a sentence that leans on one the reader has not seen
("He said ...", "But ...", "Thalberg said ..." with Thalberg not introduced).
Deterministic, no model.
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
# A candidate whose content words are more than this share covered by the chosen
# sentences (all of them together, or any one of them) says nothing new.
MAX_COVERED = 0.5
LEAD_WEIGHT = 0.6  # journalists put the news first
# Openers that point back at a sentence the reader did not see.
_LEANING = frozenset(
    {"he", "she", "they", "it", "his", "her", "their", "its", "this", "these", "those"}
    | {"but", "and", "however", "also", "so", "yet", "meanwhile", "instead", "still", "then"}
)
# Overlapping: "Governor Anna Thalberg" gives Anna and Thalberg.
_FULL_NAME = re.compile(r"\b[A-Z][a-z]+ (?=([A-Z][a-z'’-]+)\b)")
_REPORTED = re.compile(
    r"^([A-Z][a-z'’-]+)\s+(?:said|says|told|added|noted|argued|wrote|warned|explained|insisted)\b"
)


@dataclass(frozen=True, slots=True)
class _Candidate:
    text: str
    words: frozenset[str]
    article: int
    position: int
    length: int
    leaning: bool  # opens by pointing back: cannot open the summary


def summarise(
    articles: Sequence[Article],
    budget_words: int = 60,
    redundancy: float = MAX_COVERED,
    lead_weight: float = LEAD_WEIGHT,
) -> str:
    """The summary of a story told by ``articles`` (lead article first): sentences
    more than ``redundancy`` covered by those chosen are skipped, and a sentence's
    lead bonus is ``lead_weight / (1 + its position in its report)``."""
    candidates = _candidates(articles)
    if not candidates:
        return ""
    ranked = _ranked(candidates, lead_weight)
    chosen = _choose(ranked, budget_words, redundancy)
    chosen.sort(key=lambda c: (c.article, c.position))
    while chosen and chosen[0].leaning:
        # Its antecedent is not in the summary: drop it, and open with the best
        # sentence that stands on its own when there is no other.
        chosen.pop(0)
    if not chosen:
        opener = next((c for c in ranked if not c.leaning), None)
        chosen = [opener] if opener is not None else []
    return " ".join(c.text for c in chosen)


def _ranked(candidates: list[_Candidate], lead_weight: float) -> list[_Candidate]:
    """Most central first, with a bonus for what journalists put first."""
    centroid = Counter(word for c in candidates for word in c.words)
    total = sum(centroid.values()) or 1

    def score(c: _Candidate) -> float:
        if not c.words:
            return 0.0
        centrality = sum(centroid[w] for w in c.words) / total / math.sqrt(len(c.words))
        lead = 1.0 / (1.0 + c.position)
        return centrality * (1.0 + lead_weight * lead)

    return sorted(candidates, key=lambda c: (-score(c), c.article, c.position))


def _choose(ranked: list[_Candidate], budget_words: int, redundancy: float) -> list[_Candidate]:
    """The best sentences that fit the budget and each say something new."""
    chosen: list[_Candidate] = []
    covered: set[str] = set()
    used = 0
    for candidate in ranked:
        if len(chosen) == MAX_SENTENCES:
            break
        if used + candidate.length > budget_words and chosen:
            continue
        if _says_again(candidate, chosen, covered, redundancy):
            continue
        chosen.append(candidate)
        covered |= candidate.words
        used += candidate.length
        if used >= budget_words * 0.8:
            break
    return chosen


def _says_again(
    candidate: _Candidate, chosen: list[_Candidate], covered: set[str], redundancy: float
) -> bool:
    if not candidate.words:
        return bool(chosen)
    if len(candidate.words & covered) / len(candidate.words) > redundancy:
        return True
    return any(_overlap(candidate.words, c.words) > redundancy for c in chosen)


def _candidates(articles: Sequence[Article]) -> list[_Candidate]:
    out: list[_Candidate] = []
    people = _surnames(articles)
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
            leaning = _leans_back(sentence, articles[0].title, people)
            out.append(_Candidate(sentence, words, a_index, position, length, leaning))
            position += 1
    return out


def _is_whole(sentence: str) -> bool:
    """Starts like a sentence and ends like one: no fragments, no half quotes."""
    if not re.match(r"""^["'“‘(]?[A-Z0-9]""", sentence):
        return False
    if not re.search(r"""[.!?]["'”’)]*$""", sentence):
        return False
    return sentence.count('"') % 2 == 0 and sentence.count("“") == sentence.count("”")


def _surnames(articles: Sequence[Article]) -> frozenset[str]:
    """Last names of the people the story's reports introduce in full ("Anna
    Thalberg"): a sentence opening "Thalberg said" assumes the reader met her. An
    organisation ("Northgrid said") is never written after a first name."""
    return frozenset(m.group(1) for article in articles for m in _FULL_NAME.finditer(article.text))


def _leans_back(sentence: str, title: str, people: frozenset[str]) -> bool:
    """Opens with a pronoun or connective, a bare number, or a person the reader has
    not met ("Thalberg said ..." where the lead's headline does not name Thalberg)."""
    first = _WORD.findall(sentence[:40].lower())[:1]
    if (first and first[0] in _LEANING) or sentence[:1].isdigit():
        return True
    named = _REPORTED.match(sentence)
    return bool(named and named.group(1) in people and named.group(1) not in title)


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))
