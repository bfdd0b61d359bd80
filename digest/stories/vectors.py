"""Text vectors and nearest neighbours, shared by the stories and sections stages.

Articles are compared as L2-normalised TF-IDF vectors (sublinear term frequency,
the text's language's stop words removed), with the inverse document frequencies of the
collection at hand; subjects are compared in an LSA space (``concepts``).

Neighbours are found without comparing all pairs:

- ``nearest_neighbours`` (sparse TF-IDF, for events): each document keeps its few
  heaviest terms as blocking keys, leaving out terms so common that they say little
  about an event; only documents that share a key become candidates, their cosine
  is computed exactly, and each keeps its ``k`` best. Work and memory grow with the
  number of documents times the posting lengths of rare terms.
- ``dense_neighbours`` (LSA, for subjects, where common words matter): an inverted
  file over k-means cells, each document searching its few nearest cells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from sklearn.cluster import MiniBatchKMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

# BLAS and OpenMP threads per process while stories and sections are computed. Their
# matrices are sparse or small: a second thread gains nothing on a quiet machine and
# costs much where processes share the cores (on 2 cores, `bench_stories` 20k alone:
# 36.9-43.6 s against 37.6-42.6 s with two threads; four `digest build`s of the dev
# halves at once: 16 s against 39 s).
NUMERIC_THREADS = 1
BLOCK_KEYS = 24  # heaviest terms per document used as blocking keys
BLOCK_MAX_SHARE = 0.05  # a term in more than this share of documents is no key ...
BLOCK_MIN_POSTINGS = 50  # ... unless it is in no more than this many
_CHUNK = 1024  # rows per block of candidate scoring: bounds peak memory


def numeric_threads() -> threadpool_limits:
    """A context in which the numeric libraries use ``NUMERIC_THREADS`` threads."""
    return threadpool_limits(limits=NUMERIC_THREADS)


@dataclass(frozen=True, slots=True)
class Neighbours:
    """A symmetric sparse similarity graph: each undirected edge once, ``rows < cols``."""

    rows: NDArray[np.int64]
    cols: NDArray[np.int64]
    sims: NDArray[np.float64]

    def best(self, n: int, rank: int) -> NDArray[np.float64]:
        """Each node's ``rank``-th highest edge similarity (0 when it has fewer edges)."""
        out = np.zeros(n)
        if rank < 1 or not len(self.sims):
            return out
        nodes = np.concatenate([self.rows, self.cols])
        sims = np.concatenate([self.sims, self.sims])
        order = np.lexsort((-sims, nodes))
        nodes, sims = nodes[order], sims[order]
        starts = np.searchsorted(nodes, np.arange(n))
        ends = np.searchsorted(nodes, np.arange(n), side="right")
        has = ends - starts >= rank
        out[has] = sims[starts[has] + rank - 1]
        return out


@dataclass(frozen=True, slots=True)
class Tfidf:
    """TF-IDF rows of some documents; ``also`` holds other texts in the same vocabulary."""

    rows: sp.csr_matrix
    terms: tuple[str, ...]
    also: sp.csr_matrix


def tfidf(
    docs: list[str],
    *,
    min_df: int = 1,
    also: list[str] | None = None,
    stop_words: str | list[str] | None = "english",
) -> Tfidf:
    """L2-normalised TF-IDF rows of ``docs`` (and of ``also``, in the same vocabulary).

    A document with no counted word is an all-zero row. ``min_df`` falls back to 1
    when no word reaches it (a tiny edition). ``stop_words`` are left out
    (``digest.language.stopwords.vector_stop_words`` gives them per language).
    """
    others = also or []
    for df in dict.fromkeys((min(min_df, len(docs)), 1)):
        vectorizer = TfidfVectorizer(
            sublinear_tf=True, stop_words=stop_words, min_df=df, dtype=np.float64
        )
        try:
            rows = vectorizer.fit_transform(docs)
        except ValueError:  # "empty vocabulary": only stop words (or words used once)
            continue
        return Tfidf(
            sp.csr_matrix(rows),
            tuple(vectorizer.get_feature_names_out()),
            sp.csr_matrix(vectorizer.transform(others))
            if others
            else sp.csr_matrix((0, rows.shape[1])),
        )
    return Tfidf(sp.csr_matrix((len(docs), 1)), ("",), sp.csr_matrix((len(others), 1)))


def concepts(rows: sp.csr_matrix, dimensions: int) -> NDArray[np.float64]:
    """Unit-length LSA vectors of TF-IDF ``rows``: documents on one subject share
    concepts more reliably than words, which matters for short texts. Falls back to
    the (dense) rows themselves when there are too few documents or words."""
    k = min(dimensions, rows.shape[0] - 1, rows.shape[1] - 1)
    if k < 2:
        return np.asarray(normalize(rows).toarray())
    with np.errstate(divide="ignore", invalid="ignore"):  # variance ratios of empty rows
        reduced = TruncatedSVD(k, random_state=0).fit_transform(rows)
    return np.asarray(normalize(reduced))


def paired_cosine(
    a: sp.csr_matrix, b: sp.csr_matrix, rows: NDArray[np.int64], cols: NDArray[np.int64]
) -> NDArray[np.float64]:
    """``a[rows[e]] · b[cols[e]]`` for every edge ``e`` (cosine when rows are normalised)."""
    out = np.empty(len(rows))
    step = 20_000
    for start in range(0, len(rows), step):
        left = a[rows[start : start + step]]
        right = b[cols[start : start + step]]
        out[start : start + step] = np.asarray(left.multiply(right).sum(axis=1)).ravel()
    return out


def nearest_neighbours(vectors: sp.csr_matrix, k: int) -> Neighbours:
    """Up to ``k`` most similar other rows per row, by exact cosine, found by blocking.

    The graph is the union of every row's list, so a row may have more than ``k``
    edges (when it is someone else's neighbour). Rows must be L2-normalised.
    """
    n = vectors.shape[0]
    empty = Neighbours(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if n < 2 or k < 1 or vectors.nnz == 0:
        return empty
    keys = _blocking_keys(vectors)
    keys_t = sp.csr_matrix(keys.T)
    found_rows: list[NDArray[np.int64]] = []
    found_cols: list[NDArray[np.int64]] = []
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        scores = sp.csr_matrix(keys[start:stop] @ keys_t)
        rows, cols = _top_candidates(scores, start, 2 * k)
        found_rows.append(rows)
        found_cols.append(cols)
    rows = np.concatenate(found_rows)
    cols = np.concatenate(found_cols)
    sims = paired_cosine(vectors, vectors, rows, cols)
    return _undirected(*_keep_best(rows, cols, sims, k), n)


def dense_neighbours(vectors: NDArray[np.float64], k: int, probes: int = 3) -> Neighbours:
    """Up to ``k`` most similar other rows per row of unit-length dense vectors.

    Blocked like an inverted file: k-means cuts the space into about sqrt(n) cells,
    each row is compared only with the rows of its ``probes`` nearest cells, so the
    work grows as n ** 1.5 rather than n ** 2. Used for LSA vectors, where the
    sparse blocking keys of ``nearest_neighbours`` do not exist.
    """
    n = len(vectors)
    empty = Neighbours(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if n < 2 or k < 1:
        return empty
    cells = max(1, int(math.sqrt(n)))
    if cells > 1:
        kmeans = MiniBatchKMeans(cells, random_state=0, n_init=3, batch_size=2048)
        home = kmeans.fit_predict(vectors)
        nearest = np.argsort(-(vectors @ normalize(kmeans.cluster_centers_).T), axis=1)
        visits = nearest[:, : min(probes, cells)]
    else:
        home = np.zeros(n, dtype=np.int64)
        visits = np.zeros((n, 1), dtype=np.int64)
    found_rows: list[NDArray[np.int64]] = []
    found_cols: list[NDArray[np.int64]] = []
    found_sims: list[NDArray[np.float64]] = []
    for cell in range(cells):
        members = np.flatnonzero(home == cell)
        queries = np.flatnonzero((visits == cell).any(axis=1))
        if not len(members) or not len(queries):
            continue
        sims = vectors[queries] @ vectors[members].T
        sims[queries[:, None] == members[None, :]] = -np.inf
        keep = min(k, len(members))
        top = np.argpartition(-sims, keep - 1, axis=1)[:, :keep]
        found_rows.append(np.repeat(queries, keep))
        found_cols.append(members[top].ravel())
        found_sims.append(np.take_along_axis(sims, top, axis=1).ravel())
    rows = np.concatenate(found_rows)
    cols = np.concatenate(found_cols)
    sims = np.concatenate(found_sims)
    usable = np.isfinite(sims) & (sims > 0)
    return _undirected(*_keep_best(rows[usable], cols[usable], sims[usable], k), n)


def _undirected(
    rows: NDArray[np.int64], cols: NDArray[np.int64], sims: NDArray[np.float64], n: int
) -> Neighbours:
    """One undirected edge per pair (the first found), with a positive similarity."""
    low, high = np.minimum(rows, cols), np.maximum(rows, cols)
    _, first = np.unique(low * n + high, return_index=True)
    keep = first[sims[first] > 0]
    return Neighbours(low[keep], high[keep], sims[keep])


def _blocking_keys(vectors: sp.csr_matrix) -> sp.csr_matrix:
    """Each row's heaviest terms, leaving out terms too common to block on."""
    n = vectors.shape[0]
    df = np.bincount(vectors.indices, minlength=vectors.shape[1])
    common = df > max(BLOCK_MIN_POSTINGS, BLOCK_MAX_SHARE * n)
    data = vectors.data.copy()
    data[common[vectors.indices]] = 0.0
    keys = sp.csr_matrix((data, vectors.indices.copy(), vectors.indptr.copy()), shape=vectors.shape)
    for i in range(n):
        lo, hi = keys.indptr[i], keys.indptr[i + 1]
        if hi - lo > BLOCK_KEYS:
            row = keys.data[lo:hi]
            cut = np.partition(row, hi - lo - BLOCK_KEYS)[hi - lo - BLOCK_KEYS]
            row[row < cut] = 0.0
    keys.eliminate_zeros()
    return keys


def _top_candidates(
    scores: sp.csr_matrix, offset: int, limit: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The ``limit`` best-scoring other rows of each row of a block of candidate scores."""
    rows: list[NDArray[np.int64]] = []
    cols: list[NDArray[np.int64]] = []
    for local in range(scores.shape[0]):
        lo, hi = scores.indptr[local], scores.indptr[local + 1]
        found = scores.indices[lo:hi].astype(np.int64)
        values = scores.data[lo:hi]
        mine = offset + local
        values = np.where(found == mine, -1.0, values)
        if len(found) > limit:
            pick = np.argpartition(-values, limit)[:limit]
            found, values = found[pick], values[pick]
        found = found[values > 0]
        rows.append(np.full(len(found), mine, dtype=np.int64))
        cols.append(found)
    return np.concatenate(rows), np.concatenate(cols)


def _keep_best(
    rows: NDArray[np.int64], cols: NDArray[np.int64], sims: NDArray[np.float64], k: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Each row's ``k`` most similar candidates (ties broken by column, for determinism)."""
    order = np.lexsort((cols, -sims, rows))
    rows, cols, sims = rows[order], cols[order], sims[order]
    starts = np.searchsorted(rows, rows, side="left")
    rank = np.arange(len(rows)) - starts
    keep = rank < k
    return rows[keep], cols[keep], sims[keep]
