"""Average-linkage clustering on a sparse similarity graph.

Average linkage merges the two clusters whose members are, on average, most
similar, and stops when no pair reaches the threshold. It neither chains
(single linkage lets one article bridge two events) nor lets one outlier veto a
merge (complete linkage). Here similarities are known only along the edges of a
neighbour graph (``digest.stories.vectors.nearest_neighbours``); a pair without an edge
counts as 0. Clusters are therefore only compared when some of their members are
neighbours, and their average is never overestimated, so merging stays on the
safe side. Work is proportional to the number of edges times a logarithm.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray


def average_linkage(
    n: int,
    rows: NDArray[np.int64],
    cols: NDArray[np.int64],
    weights: NDArray[np.float64],
    threshold: float,
    *,
    forced: Iterable[tuple[int, int]] = (),
) -> list[int]:
    """A cluster label per node: the smallest node of its cluster.

    ``forced`` pairs are merged first whatever their similarity (copies of one text).
    Node order decides ties only, so callers that want order-independent results
    pass nodes in a canonical order.
    """
    links: list[dict[int, float]] = [{} for _ in range(n)]
    for i, j, w in zip(rows.tolist(), cols.tolist(), weights.tolist(), strict=True):
        if i != j:
            links[i][j] = links[i].get(j, 0.0) + w
            links[j][i] = links[i][j]
    size = [1] * n
    version = [0] * n
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def merge(a: int, b: int) -> int:
        keep, gone = (a, b) if len(links[a]) >= len(links[b]) else (b, a)
        for c, w in links[gone].items():
            if c == keep:
                continue
            total = links[keep].get(c, 0.0) + w
            links[keep][c] = total
            links[c][keep] = total
            del links[c][gone]
        links[keep].pop(gone, None)
        links[gone] = {}
        size[keep] += size[gone]
        parent[gone] = keep
        version[keep] += 1
        version[gone] += 1
        return keep

    for i, j in sorted(forced):
        a, b = root(i), root(j)
        if a != b:
            merge(a, b)

    heap: list[tuple[float, int, int, int, int]] = []

    for a in range(n):
        for c, w in links[a].items():
            avg = w / (size[a] * size[c])
            if a < c and avg >= threshold:
                heap.append((-avg, a, c, version[a], version[c]))
    heapq.heapify(heap)
    while heap:
        _, a, b, va, vb = heapq.heappop(heap)
        if version[a] != va or version[b] != vb or parent[a] != a or parent[b] != b:
            continue  # stale: one side has merged since this entry was pushed
        keep = merge(a, b)
        for c, w in links[keep].items():
            avg = w / (size[keep] * size[c])
            if avg >= threshold:
                x, y = (keep, c) if keep < c else (c, keep)
                heapq.heappush(heap, (-avg, x, y, version[x], version[y]))
    return _smallest_member([root(i) for i in range(n)])


def dense_average_linkage(
    vectors: NDArray[np.float64],
    rows: NDArray[np.int64],
    cols: NDArray[np.int64],
    threshold: float,
) -> list[int]:
    """Average linkage with exact averages, for subject-sized groups.

    With unit-length ``vectors`` the mean cosine between two groups is the dot
    product of their summed vectors over the product of their sizes, so it needs
    no pairwise similarities. The edges (``rows``, ``cols``) only say which groups
    are compared: two groups become candidates once any of their members are
    neighbours. Labels as for ``average_linkage``.
    """
    n = len(vectors)
    sums = [vectors[i].copy() for i in range(n)]
    size = [1] * n
    version = [0] * n
    parent = list(range(n))
    near: list[set[int]] = [set() for _ in range(n)]
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        if i != j:
            near[i].add(j)
            near[j].add(i)

    def link(a: int, b: int) -> float:
        return float(sums[a] @ sums[b]) / (size[a] * size[b])

    heap = [
        (-avg, a, b, 0, 0)
        for a in range(n)
        for b in near[a]
        if a < b and (avg := link(a, b)) >= threshold
    ]
    heapq.heapify(heap)
    while heap:
        _, a, b, va, vb = heapq.heappop(heap)
        if version[a] != va or version[b] != vb or parent[a] != a or parent[b] != b:
            continue
        keep, gone = (a, b) if len(near[a]) >= len(near[b]) else (b, a)
        sums[keep] = sums[keep] + sums[gone]
        size[keep] += size[gone]
        parent[gone] = keep
        for c in near[gone]:
            near[c].discard(gone)
            if c != keep:
                near[c].add(keep)
                near[keep].add(c)
        near[keep].discard(gone)
        near[gone] = set()
        version[keep] += 1
        version[gone] += 1
        for c in near[keep]:
            avg = link(keep, c)
            if avg >= threshold:
                x, y = (keep, c) if keep < c else (c, keep)
                heapq.heappush(heap, (-avg, x, y, version[x], version[y]))
    roots = []
    for i in range(n):
        r = i
        while parent[r] != r:
            r = parent[r]
        roots.append(r)
    return _smallest_member(roots)


def _smallest_member(roots: list[int]) -> list[int]:
    """Each node's label: the smallest node with the same root (stable across runs)."""
    smallest: dict[int, int] = {}
    for i, r in enumerate(roots):
        smallest.setdefault(r, i)
    return [smallest[r] for r in roots]
