"""Simple baselines on the same dev halves as the pipeline (``benchmarks/eval.py``):

- summaries: Lead-3, the first three sentences of each story's first article, on the
  pipeline's own stories (so only the summaries differ);
- stories: TF-IDF (title + text) average-link clustering, cut at the cosine distance
  chosen on the other half (grid 0.50-0.95), as the data's manifest describes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer

SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'“‘(]?[A-Z0-9])")
CUTS = [round(0.50 + 0.025 * i, 3) for i in range(19)]  # cosine distance 0.50-0.95


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def lead3(text: str) -> str:
    paragraphs = [p for p in re.split(r"\n+", text) if p.strip()]
    sentences = [s for p in paragraphs for s in SENTENCE_END.split(p.strip()) if s]
    return " ".join(sentences[:3])


def lead3_edition(edition: Path, inputs: Path, out: Path) -> Path:
    texts = {row["id"]: row.get("text") or "" for row in read_jsonl(inputs)}
    data = json.loads(edition.read_text())
    for section in data["sections"]:
        for story in section["stories"]:
            story["summary"] = lead3(texts.get(story["articles"][0], ""))
    out.write_text(json.dumps(data))
    return out


def average_link(inputs: Path, cut: float) -> list[list[str]]:
    rows = read_jsonl(inputs)
    docs = [f"{r.get('title') or ''}\n{r.get('text') or ''}" for r in rows]
    vectors = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(docs)
    clustering = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=cut
    )
    labels = clustering.fit_predict(vectors.toarray().astype(np.float32))
    groups: dict[int, list[str]] = {}
    for row, label in zip(rows, labels, strict=True):
        groups.setdefault(int(label), []).append(row["id"])
    return list(groups.values())


def stories_edition(groups: list[list[str]], out: Path) -> Path:
    stories = [{"headline": "", "summary": "", "articles": ids} for ids in groups]
    out.write_text(json.dumps({"sections": [{"name": "All", "stories": stories}]}))
    return out


def on_halves(
    halves: dict[str, list[dict[str, Path]]],
    held_out: dict[str, Any],
    scorer: Path,
    out: Path,
) -> dict[str, Any]:
    """Each baseline's held-out score, keyed like the pipeline's."""
    from benchmarks.eval import score

    results: dict[str, Any] = {}
    for name, metric in (
        ("stories-neus", ("rouge1", "rouge2")),
        ("topics-bbc", ("sentence_precision",)),
    ):
        key = f"{name}/summaries"
        scores = []
        for h in (0, 1):
            edition = Path(held_out[key]["editions"][h])
            base = lead3_edition(
                edition, halves[name][h]["input"], out / f"{name}.half{h}.lead3.json"
            )
            scores.append(score(scorer, "summaries", base, halves[name][h]["summaries"]))
        results[key] = {m: round(sum(s[m] for s in scores) / 2, 4) for m in metric}
        results[key]["halves"] = [{m: round(s[m], 4) for m in metric} for s in scores]
    for name in ("stories-ecb", "stories-neus"):
        per_cut = [
            [_story_score(name, h, cut, halves, scorer, out) for cut in CUTS] for h in (0, 1)
        ]
        test = [max(zip(per_cut[1 - h], per_cut[h], strict=True))[1] for h in (0, 1)]
        results[f"{name}/stories"] = {
            "bcubed_f1": round(sum(test) / 2, 4),
            "halves": [round(t, 4) for t in test],
        }
    return results


def _story_score(
    name: str, h: int, cut: float, halves: dict[str, list[dict[str, Path]]], scorer: Path, out: Path
) -> float:
    from benchmarks.eval import score

    groups = average_link(halves[name][h]["input"], cut)
    edition = stories_edition(groups, out / f"{name}.half{h}.avglink-{cut}.json")
    return float(score(scorer, "stories", edition, halves[name][h]["stories"])["bcubed_f1"])
