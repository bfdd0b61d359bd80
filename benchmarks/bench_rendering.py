"""Rendering: personalising by substitution against the naive path (Jinja render +
MJML compile + CSS inlining per subscriber), measured in the same run; 100,000
subscribers personalised on one core; and the HTML size of a large real edition.

Goals (issue 6): >= 50x faster than naive; 100,000 in <= 10 s; BBC edition <= 102 KB.
Writes benchmarks/results/rendering.json.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.results import write_results  # noqa: E402
from digest.cleaning.articles import clean  # noqa: E402
from digest.components import build_renderer  # noqa: E402
from digest.models import Subscriber  # noqa: E402
from digest.pipeline import build_edition  # noqa: E402
from digest.rendering.personal import personalise  # noqa: E402
from digest.settings.config import load_settings  # noqa: E402
from digest.sources.feed import FeedSource  # noqa: E402
from digest.sources.folder import FolderSource  # noqa: E402

BBC = ROOT.parent / "shared" / "eval" / "data" / "topics-bbc.jsonl.gz"


def main() -> int:
    settings = load_settings(ROOT / "config" / "digest.toml", {})
    config = settings.edition(None)
    docs = [
        d
        for f in sorted((ROOT / "samples" / "feeds").iterdir())
        for d in FeedSource(f.name, path=f).fetch()
    ]
    docs += FolderSource("Saved", ROOT / "samples" / "saved").fetch()
    edition = build_edition([clean(d) for d in docs], config, datetime(2026, 11, 27, 6, tzinfo=UTC))
    renderer = build_renderer(settings)
    people = [Subscriber(f"p{i}@mail.example", f"Person {i}") for i in range(100_000)]

    naive_n = 100
    started = time.perf_counter()
    for person in people[:naive_n]:
        personalise(renderer.render(edition), person, f"https://x.example/u/{person.email}")
    naive_per = (time.perf_counter() - started) / naive_n

    started = time.perf_counter()
    rendered = renderer.render(edition)
    for person in people:
        personalise(rendered, person, f"https://x.example/u/{person.email}")
    fast_total = time.perf_counter() - started

    results: dict[str, object] = {
        "naive_ms_per_message": round(naive_per * 1000, 2),
        "substitution_ms_per_message": round(fast_total / len(people) * 1000, 4),
        "speedup": round(naive_per / (fast_total / len(people)), 1),
        "personalised_100k_seconds": round(fast_total, 2),
        "sample_html_bytes": len(rendered.html.encode()),
        "goal": "speedup >= 50, 100k <= 10 s, BBC html <= 104448 bytes",
    }
    if BBC.exists():
        with tempfile.TemporaryDirectory() as tmp:
            html = Path(tmp) / "bbc.html"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "digest",
                    "build",
                    "--articles",
                    str(BBC),
                    "--out",
                    str(Path(tmp) / "e.json"),
                    "--html",
                    str(html),
                ],
                check=True,
                capture_output=True,
                cwd=ROOT,
            )
            results["bbc_html_bytes"] = html.stat().st_size
    write_results("rendering", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
