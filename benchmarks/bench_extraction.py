"""Extraction overhead: `digest.cleaning.extract_html` against calling trafilatura
directly on the same pages, in the same run, with the same settings (main text and
metadata, precision first); the ratio to trafilatura's defaults is reported too. Pages: the AEB dev
set of ../shared/eval when present (measurement only), else the shipped samples.
Goal (issue 3): overhead within 10%.
Writes benchmarks/results/extraction.json."""

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
from digest.cleaning.pages import TRAFILATURA_OPTIONS, extract_html  # noqa: E402

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
    same = defaults = ours = 0.0
    for _ in range(rounds):
        # Interleaved page by page: the machine's drift (other tenants, clock
        # changes) hits all three alike instead of whichever ran in a bad second.
        for html, url in docs:
            started = time.perf_counter()
            trafilatura.bare_extraction(html, url=url, favor_precision=True, **TRAFILATURA_OPTIONS)
            same += time.perf_counter() - started
            started = time.perf_counter()
            trafilatura.bare_extraction(html, url=url, with_metadata=True)
            defaults += time.perf_counter() - started
            started = time.perf_counter()
            extract_html(html, url)
            ours += time.perf_counter() - started
    per_page = rounds * len(docs) / 1000
    write_results(
        "extraction",
        {
            "pages": name,
            "documents": len(docs),
            "trafilatura_same_settings_ms_per_page": round(same / per_page, 2),
            "trafilatura_defaults_ms_per_page": round(defaults / per_page, 2),
            "digest_ms_per_page": round(ours / per_page, 2),
            # What digest adds around trafilatura (the fallback run on short results,
            # line cleaning), against trafilatura called with the same settings.
            "overhead_ratio": round(ours / same, 3),
            # Including the cost of the settings themselves (favor_precision prunes
            # more), against trafilatura's defaults.
            "ratio_to_trafilatura_defaults": round(ours / defaults, 3),
            "goal": "overhead_ratio <= 1.10",
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
