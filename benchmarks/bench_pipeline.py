"""Pipeline stage timings and peak memory on synthetic articles (no network).

Writes benchmarks/results/pipeline.json. Stages are timed in the same run, so the
ratios between them hold even on a noisy machine.
"""

from __future__ import annotations

import random
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.results import write_results
from digest.cleaning.scraped import clean_scraped_text
from digest.models import Article, Subscriber
from digest.pipeline import build_edition
from digest.rendering.personal import personalise
from digest.rendering.renderer import Renderer
from digest.settings.config import load_settings
from digest.stories.headlines import choose_headline
from digest.summarise.extractive import summarise

ROOT = Path(__file__).resolve().parent.parent
WORDS = [
    "council",
    "harbour",
    "market",
    "energy",
    "storm",
    "match",
    "film",
    "school",
    "bank",
    "river",
    "port",
    "vote",
    "tram",
    "ferry",
    "court",
    "union",
    "price",
    "health",
    "study",
    "museum",
    "league",
    "record",
    "budget",
    "minister",
    "company",
    "jobs",
    "data",
]


def synthetic(n: int, seed: int = 7) -> list[Article]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        # Three outlets per story: the story's own rare words make them one event.
        story_rng = random.Random(i // 3)
        topic = [f"{w}{i // 3}" for w in story_rng.sample(WORDS, 4)]
        sentences = [
            " ".join(rng.choice(WORDS + topic * 3) for _ in range(rng.randint(12, 24))).capitalize()
            + "."
            for _ in range(rng.randint(6, 14))
        ]
        out.append(
            Article(
                id=f"a{i}",
                source=f"Outlet {i % 7}",
                title=" ".join(topic).capitalize(),
                text="\n\n".join(
                    " ".join(sentences[j : j + 3]) for j in range(0, len(sentences), 3)
                ),
                url=f"https://outlet{i % 7}.example/{i}",
                published=datetime(2026, 11, 27, tzinfo=UTC),
            )
        )
    return out


def timed(fn, *args, repeat: int = 1, **kwargs):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    for _ in range(repeat):
        result = fn(*args, **kwargs)
    return result, (time.perf_counter() - start) / repeat


def main() -> int:
    settings = load_settings(ROOT / "config" / "digest.toml", {})
    config = settings.edition(None)
    now = datetime(2026, 11, 27, 6, tzinfo=UTC)
    results: dict[str, object] = {"machine_cores": 2}

    for n in (200, 1000):
        articles = synthetic(n)
        edition, seconds = timed(build_edition, articles, config, now, capped=False)
        results[f"build_edition_{n}"] = {
            "seconds": round(seconds, 3),
            "articles_per_second": round(n / seconds, 1),
            "stories": len(edition.stories),
        }

    # Summaries, one core (this process is single-threaded): goal >= 500 articles/s.
    singles = synthetic(2000, seed=11)
    _, seconds = timed(lambda: [summarise([a], config.summary_words) for a in singles])
    results["summarise_articles_per_second"] = round(len(singles) / seconds, 1)
    _, seconds = timed(lambda: [choose_headline([a]) for a in singles])
    results["headline_articles_per_second"] = round(len(singles) / seconds, 1)

    noisy = (ROOT / "samples" / "saved").glob("*.txt")
    texts = [p.read_text() for p in noisy]
    _, seconds = timed(lambda: [clean_scraped_text(t) for t in texts], repeat=50)
    results["clean_scraped_text_docs_per_second"] = round(len(texts) / seconds, 1)

    renderer = Renderer(None, base_url=settings.web.base_url)
    edition = build_edition(synthetic(200), config, now)
    rendered, render_seconds = timed(renderer.render, edition, repeat=5)
    subscriber = Subscriber("ana@mail.example", "Ana")
    _, personal_seconds = timed(
        personalise, rendered, subscriber, "https://x.example/u/T", repeat=500
    )
    results["render_compile_seconds"] = round(render_seconds, 4)
    results["personalise_seconds"] = round(personal_seconds, 6)
    results["personalise_vs_render_speedup"] = round(render_seconds / personal_seconds, 1)
    results["html_bytes"] = len(rendered.html.encode())
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    write_results("pipeline", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
