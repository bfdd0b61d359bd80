"""Stories: articles about the same event, from one or several outlets, merged.

Exact copies are merged by a fingerprint of their text; the rest by average-link
agglomerative clustering on TF-IDF cosine similarity of title and body, cut at
``threshold`` (0.175 on the dev data: the best mean BCubed F1 over two story sets).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity

from digest.models import Article

DEFAULT_THRESHOLD = 0.175


def group_articles(
    articles: Sequence[Article], threshold: float = DEFAULT_THRESHOLD
) -> list[list[Article]]:
    """Partition ``articles`` into stories; each story lists its lead article first."""
    if not articles:
        return []
    # Exact copies (syndicated wire text) first: they always merge.
    by_print: dict[str, list[Article]] = {}
    for article in articles:
        by_print.setdefault(_fingerprint(article), []).append(article)
    groups = list(by_print.values())
    if len(groups) > 1:
        docs = [_document(g[0]) for g in groups]
        try:
            vectors = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(docs)
        except ValueError:  # no content words at all ("empty vocabulary"): nothing to compare
            vectors = None
        if vectors is not None:
            labels = AgglomerativeClustering(
                n_clusters=None,
                metric="cosine",
                linkage="average",
                distance_threshold=1.0 - threshold,
            ).fit_predict(vectors.toarray())
            merged: dict[int, list[list[Article]]] = {}
            for label, group in zip(labels, groups, strict=True):
                merged.setdefault(int(label), []).append(group)
            groups = [[a for g in parts for a in g] for parts in merged.values()]
    return [_lead_first(g) for g in groups]


def _lead_first(group: list[Article]) -> list[Article]:
    """The most central article leads (its headline and link represent the story)."""
    if len(group) <= 2:
        return sorted(group, key=lambda a: (-len(a.text), a.id))
    try:
        vectors = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(
            [_document(a) for a in group]
        )
    except ValueError:  # no content words: keep the longest first
        return sorted(group, key=lambda a: (-len(a.text), a.id))
    centrality = np.asarray(cosine_similarity(vectors).mean(axis=1)).ravel()
    order = sorted(range(len(group)), key=lambda i: (-centrality[i], group[i].id))
    return [group[i] for i in order]


def _document(article: Article) -> str:
    return f"{article.title}. {article.title}. {article.text}"


def _fingerprint(article: Article) -> str:
    words = re.findall(r"\w+", article.text.lower())
    if len(words) < 30:  # too short to be sure it is a copy: the title must match too
        words = re.findall(r"\w+", article.title.lower()) + words
    return hashlib.sha1(" ".join(words).encode("utf-8")).hexdigest()


def story_id(group: Sequence[Article]) -> str:
    """Stable across rebuilds as long as the lead stays the same."""
    return hashlib.sha1(group[0].id.encode("utf-8")).hexdigest()[:12]


def story_score(group: Sequence[Article], now_ts: float) -> float:
    """Rank within a section: outlets count most, then freshness (a day halves it)."""
    outlets = len({a.source for a in group})
    times = [a.published.timestamp() for a in group if a.published]
    freshness = 0.5 ** (max(0.0, now_ts - max(times)) / 86400.0) if times else 0.5
    return outlets + freshness
