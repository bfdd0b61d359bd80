"""Sections: each story goes to the configured section it fits; the rest are grouped.

1. Keyword fit. A section is described by its name, description and keywords; a
   story's fit is how many of those terms its headlines (double weight) and text
   use, plus a strong bonus when a source's topic hint names the section. Words
   are compared after folding plurals ("films" = "film").
2. Learning the edition's own vocabulary. Keywords alone miss most stories (a
   short wire item may use none of them). When the edition is large enough, the
   stories whose fit clearly favours one section (top fit at least ``SEED_MARGIN``
   above the runner-up) label a logistic-regression classifier over the stories'
   TF-IDF and LSA vectors; it then labels every story, and is retrained
   ``SELF_TRAINING_ROUNDS`` times on the most confident share of each section
   (self-training, after Yarowsky 1995 and Nigam et al. 2000). Each story's section
   probabilities are finally averaged with those of its nearest neighbours, since
   stories on one subject tend to sit together.
3. Stories that fit no section (no keyword evidence and no confident prediction)
   are grouped by ``digest.auto_sections``; a group of at least three stories gets
   its own section named by its key terms, the rest go to the fallback section.

Constants were chosen on the dev topic sets (BBC News, AG News; ``make eval``),
maximising the NMI of both while keeping the sample edition's sections sensible;
the classifier settings sit on a plateau (C 10-100, 2-5 rounds).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from digest.auto_sections import group_leftovers
from digest.models import Article, Story
from digest.settings import SectionSettings
from digest.vectors import nearest_neighbours, tfidf

HINT_BONUS = 5.0
MIN_SCORE = 1.0  # a keyword fit below this is no evidence
SEED_MARGIN = 2.0  # a seed's fit beats the runner-up section's by this much
MIN_STORIES_TO_LEARN = 60  # fewer stories: keyword fit alone decides
MIN_SEEDS = 5  # seeds a section needs to be learned
SELF_TRAINING_ROUNDS = 3
CONFIDENT_SHARE = 0.7  # of each section's stories, the most confident retrain the model
REGULARISATION = 10.0  # logistic regression C
LSA_DIMENSIONS = 100
SMOOTHING_NEIGHBOURS = 5
SMOOTHING_WEIGHT = 0.5
REJECT_BELOW = 0.0  # predicted probability under which a story without keyword fit is left over
_TEXT_CHARS = 3000
_MEMBERS = 4
_WORD = re.compile(r"[a-z0-9]+")


def fold(word: str) -> str:
    """A plural's singular, crudely: enough for keyword matching ("films" = "film")."""
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokens(text: str) -> list[str]:
    return [fold(w) for w in _WORD.findall(text.lower())]


@dataclass(frozen=True, slots=True)
class _Profile:
    name: str
    terms: frozenset[str]  # single words and space-joined phrases, folded


def _profile(section: SectionSettings) -> _Profile:
    terms: set[str] = set()
    for keyword in section.keywords:
        words = tokens(keyword)
        if words:
            terms.add(" ".join(words))
    for word in _WORD.findall(f"{section.name} {section.description}".lower()):
        if word not in ENGLISH_STOP_WORDS and len(word) > 2:
            terms.add(fold(word))
    return _Profile(section.name, frozenset(terms))


def assign_sections(
    stories: Sequence[tuple[Story, Sequence[Article]]],
    sections: Sequence[SectionSettings],
    other: str = "Other",
) -> dict[str, list[Story]]:
    """Section name -> its stories: configured sections in configuration order, then
    automatic groups, then the fallback. Stories keep their input order within a section."""
    out: dict[str, list[Story]] = {s.name: [] for s in sections}
    if not stories:
        out.setdefault(other, [])
        return out
    heads = [tokens(" ".join(a.title for a in members)) for _, members in stories]
    bodies = [
        tokens(" ".join(a.text[:_TEXT_CHARS] for a in members[:_MEMBERS])) for _, members in stories
    ]
    profiles = [_profile(s) for s in sections]
    fit = _keyword_fit(profiles, heads, bodies, stories)
    choice = _choose(fit, heads, bodies)
    leftovers = [i for i, c in enumerate(choice) if c < 0]
    for i, c in enumerate(choice):
        if c >= 0:
            out[profiles[c].name].append(stories[i][0])
    groups = group_leftovers([heads[i] + bodies[i] for i in leftovers])
    taken = set(out) | {other}
    for label, members in groups:
        name = label if label not in taken else f"{label} ({len(members)})"
        taken.add(name)
        out[name] = [stories[leftovers[m]][0] for m in members]
    grouped = {m for _, members in groups for m in members}
    out.setdefault(other, [])
    out[other].extend(stories[i][0] for k, i in enumerate(leftovers) if k not in grouped)
    # The fallback comes last, whatever it is called.
    out[other] = out.pop(other)
    return out


def _keyword_fit(
    profiles: list[_Profile],
    heads: list[list[str]],
    bodies: list[list[str]],
    stories: Sequence[tuple[Story, Sequence[Article]]],
) -> NDArray[np.float64]:
    """Stories x sections: headline matches count 2 (phrases 2.5), text matches 1 plus
    0.2 per repeat up to five (phrases 1.5), a topic hint ``HINT_BONUS``; divided by
    the square root of the number of members so big stories do not win by volume."""
    fit = np.zeros((len(stories), len(profiles)))
    if profiles:
        vocabulary = sorted({t for p in profiles for t in p.terms})
        counter = CountVectorizer(
            analyzer=_ngrams, vocabulary={t: i for i, t in enumerate(vocabulary)}
        )
        head = (counter.transform(heads) > 0).astype(np.float64)
        body = counter.transform(bodies).astype(np.float64)
        body_score = body.copy()
        body_score.data = 1.0 + np.minimum(body.data, 5.0) * 0.2
        member = np.zeros((len(vocabulary), len(profiles)))
        for k, profile in enumerate(profiles):
            for term in profile.terms:
                member[vocabulary.index(term), k] = 1.0
        phrase = np.array([" " in t for t in vocabulary])
        head_weight = np.where(phrase, 2.5, 2.0)[:, None] * member
        body_weight = member.copy()
        body_weight[phrase] *= 1.5
        body_phrase = body.copy()
        body_phrase.data[:] = 1.0
        fit = np.asarray(head @ head_weight)
        fit += np.asarray(body_score @ (member * ~phrase[:, None]))
        fit += np.asarray(body_phrase @ (body_weight * phrase[:, None]))
    for i, (_, members) in enumerate(stories):
        hints = {(a.topic_hint or "").strip().lower() for a in members}
        for k, profile in enumerate(profiles):
            if profile.name.lower() in hints:
                fit[i, k] += HINT_BONUS
        fit[i] /= math.sqrt(max(1, len(members)))
    return fit


def _ngrams(words: list[str]) -> list[str]:
    return words + [" ".join(words[i : i + n]) for n in (2, 3) for i in range(len(words) - n + 1)]


def _choose(
    fit: NDArray[np.float64], heads: list[list[str]], bodies: list[list[str]]
) -> NDArray[np.int64]:
    """The section index per story, or -1 when it fits none."""
    n, sections = fit.shape
    evidence = fit.max(axis=1) >= MIN_SCORE if sections else np.zeros(n, dtype=bool)
    choice = np.where(evidence, fit.argmax(axis=1) if sections else -1, -1)
    if sections < 2 or n < MIN_STORIES_TO_LEARN:
        return choice
    ranked = np.sort(fit, axis=1)
    seeds = evidence & (ranked[:, -1] - ranked[:, -2] >= SEED_MARGIN)
    counts = np.bincount(choice[seeds], minlength=sections)
    if (counts >= MIN_SEEDS).sum() < 2:
        return choice
    (words,) = tfidf([" ".join(h + h + b) for h, b in zip(heads, bodies, strict=True)], min_df=2)
    features = _features(words)
    probabilities = _self_train(features, choice, seeds & (counts[choice] >= MIN_SEEDS), sections)
    probabilities = _smooth(words, probabilities)
    predicted = probabilities.argmax(axis=1)
    confident = probabilities.max(axis=1) >= REJECT_BELOW
    return np.where(evidence | confident, predicted, -1)


def _features(words: sp.csr_matrix) -> sp.csr_matrix:
    """TF-IDF words plus LSA dimensions (word co-occurrence, for short texts)."""
    dimensions = min(LSA_DIMENSIONS, words.shape[0] - 1, words.shape[1] - 1)
    if dimensions < 2:
        return words
    lsa = TruncatedSVD(dimensions, random_state=0).fit_transform(words)
    return sp.hstack([words, sp.csr_matrix(normalize(lsa))]).tocsr()


def _self_train(
    features: sp.csr_matrix, labels: NDArray[np.int64], seeds: NDArray[np.bool_], sections: int
) -> NDArray[np.float64]:
    """Section probabilities per story from a classifier grown from the seeds."""
    train, target = seeds, labels
    probabilities = np.zeros((features.shape[0], sections))
    for _ in range(SELF_TRAINING_ROUNDS):
        if len(np.unique(target[train])) < 2:
            break
        model = LogisticRegression(C=REGULARISATION, max_iter=1000)
        model.fit(features[train], target[train])
        probabilities = np.zeros((features.shape[0], sections))
        probabilities[:, model.classes_] = model.predict_proba(features)
        target = probabilities.argmax(axis=1)
        confidence = probabilities.max(axis=1)
        train = np.zeros(len(target), dtype=bool)
        for k in np.unique(target):
            mine = target == k
            train |= mine & (confidence >= np.quantile(confidence[mine], 1 - CONFIDENT_SHARE))
    return probabilities


def _smooth(words: sp.csr_matrix, probabilities: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each story's probabilities averaged with its nearest neighbours' mean."""
    graph = nearest_neighbours(words, SMOOTHING_NEIGHBOURS)
    n = len(probabilities)
    adjacency = sp.coo_matrix(
        (np.ones(2 * len(graph.rows)), (np.r_[graph.rows, graph.cols], np.r_[graph.cols, graph.rows])),
        shape=(n, n),
    ).tocsr()
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    mean = adjacency @ probabilities / np.maximum(degree, 1)[:, None]
    weight = np.where(degree > 0, SMOOTHING_WEIGHT, 0.0)[:, None]
    return np.asarray((1 - weight) * probabilities + weight * mean)
