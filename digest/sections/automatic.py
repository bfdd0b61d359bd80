"""Automatic sections: stories that fit no configured section, grouped by subject.

The number of groups is not given. The left-over stories are compared in the
edition's LSA space (``digest.stories.vectors.concepts``) and merged by average linkage
(``digest.stories.linkage.dense_average_linkage``) until no two groups are, on average,
``GROUP_THRESHOLD`` similar; the groups that hold at least ``MIN_GROUP`` stories
and ``MIN_GROUP_SHARE`` of the edition become sections (at most ``MAX_GROUPS``),
and the rest stay in the fallback section. The threshold is looser than the story
one, since stories on one subject share concepts, not facts. It was set on
synthetic editions with subjects no section covers (``benchmarks/bench_stories.py``:
0.2 gives one group per uncovered subject at 2k-20k articles; 0.3 splits them,
0.1 starts merging them) and checked on the sample edition and the dev topic sets.

A group is named by its key terms: the words used by the largest share of its
stories beyond their share in the whole edition (so a subject's words beat one
event's names), e.g. "Storm · Power · Gusts"; reporting words, weekdays and
months (``digest.language.profiles``, in the edition's language) never name one.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from digest.language.catalogues import N_
from digest.language.profiles import Profile, profile
from digest.language.tags import ENGLISH
from digest.stories.linkage import dense_average_linkage
from digest.stories.vectors import dense_neighbours

GROUP_THRESHOLD = 0.2
MIN_GROUP = 3
MIN_GROUP_SHARE = 0.01  # of the edition's stories: 50 for an edition of 5,000
MAX_GROUPS = 8
LABEL_TERMS = 3
LABEL_MIN_SHARE = 0.3  # a label word is used by at least this share of the group
_NEIGHBOURS = 10
# A group without key terms; the edition's language gives its own word for it.
UNNAMED = N_("More stories")


def group_stories(
    words: sp.csr_matrix,
    terms: tuple[str, ...],
    meaning: NDArray[np.float64],
    candidates: list[int],
    language: str = ENGLISH,
    unnamed: str = UNNAMED,
) -> list[tuple[str, list[int]]]:
    """(label, story indices) per automatic group among ``candidates``, largest first.

    ``words`` (TF-IDF) and ``meaning`` (unit LSA vectors) hold one row per story of
    the whole edition; ``terms`` names the columns of ``words``. Labels take words
    that ``language`` (the edition's) lets name a subject, else ``unnamed``.
    """
    smallest = max(MIN_GROUP, math.ceil(MIN_GROUP_SHARE * words.shape[0]))
    if len(candidates) < smallest:
        return []
    pool = np.asarray(candidates)
    graph = dense_neighbours(meaning[pool], _NEIGHBOURS)
    labels = dense_average_linkage(meaning[pool], graph.rows, graph.cols, GROUP_THRESHOLD)
    members: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        members.setdefault(label, []).append(int(pool[index]))
    groups = sorted(
        (m for m in members.values() if len(m) >= smallest), key=lambda m: (-len(m), m[0])
    )[:MAX_GROUPS]
    used = sp.csr_matrix(words > 0, dtype=np.float64)
    everywhere = np.asarray(used.mean(axis=0)).ravel()  # once for the edition
    rules = profile(language)
    return [(_label(used, everywhere, group, terms, rules) or unnamed, group) for group in groups]


def _label(
    used: sp.csr_matrix,
    everywhere: NDArray[np.float64],
    group: list[int],
    terms: tuple[str, ...],
    rules: Profile,
) -> str:
    """The words most of the group uses and few other stories of the edition do
    (``used``: which story uses which word; ``everywhere``: its share in the edition)."""
    inside = np.asarray(used[group].mean(axis=0)).ravel()
    lift = np.where(inside >= LABEL_MIN_SHARE, inside - everywhere, 0.0)
    order = np.lexsort((np.arange(len(lift)), -lift))
    chosen = [
        terms[i]
        for i in order
        if lift[i] > 0 and rules.label_word.match(terms[i]) and terms[i] not in rules.not_labels
    ]
    return " · ".join(w.capitalize() for w in chosen[:LABEL_TERMS])
