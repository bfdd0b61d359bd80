"""Extraction overhead: `digest.cleaning.extract_html` against calling trafilatura
directly on the same pages, in the same run, for the same result (main text and
metadata: `bare_extraction(with_metadata=True)`); plain `extract()` without metadata
is reported too. Pages: the AEB dev
set of ../shared/eval when present (measurement only), else the shipped samples.
Goal (issue 3): overhead within 10%. Writes benchmarks/results/extraction.json."""

from __future__ import annotations

import gzip
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trafilatura  # noqa: E402

from benchmarks.results import write_results  # noqa: E402
from digest.cleaning import extract_html  # noqa: E402

AEB = ROOT.parent / "shared" / "eval" / "data" / "extract-aeb.jsonl.gz"


def pages() -> tuple[str, list[tuple[str, str | None]]]:
    if AEB.exists():
        with gzip.open(AEB, "rt", encoding="utf-8") as handle:
            return "extract-aeb", [(r["html"], r.get("url")) for r in map(json.loads, handle)]
    files = sorted((ROOT / "samples" / "saved").glob("*.html"))
    return "samples", [(f.read_text(encoding="utf-8"), None) for f in files]


def main() -> int:
    name, docs = pages()
    rounds = 3
    direct = plain = ours = 0.0
    for _ in range(rounds):  # interleaved, so machine noise hits all alike
        started = time.perf_counter()
        for html, url in docs:
            trafilatura.bare_extraction(html, url=url, with_metadata=True)
        direct += time.perf_counter() - started
        started = time.perf_counter()
        for html, url in docs:
            trafilatura.extract(html, url=url)
        plain += time.perf_counter() - started
        started = time.perf_counter()
        for html, url in docs:
            extract_html(html, url)
        ours += time.perf_counter() - started
    write_results(
        "extraction",
        {
            "pages": name,
            "documents": len(docs),
            "trafilatura_with_metadata_ms_per_page": round(direct / rounds / len(docs) * 1000, 2),
            "trafilatura_extract_no_metadata_ms_per_page": round(
                plain / rounds / len(docs) * 1000, 2
            ),
            "digest_ms_per_page": round(ours / rounds / len(docs) * 1000, 2),
            "overhead_ratio": round(ours / direct, 3),
            "goal": "overhead_ratio <= 1.10",
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
