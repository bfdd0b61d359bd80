"""Story clustering and section assignment at scale, on synthetic articles (no network).

Writes benchmarks/results/stories.json: seconds for ``group_articles`` and
``assign_sections`` and the peak resident memory at 5k, 10k and 20k articles, so
growth shows. Each size runs in its own subprocess, so one size's peak memory
does not hide the next one's. Also reports how well the synthetic events were
recovered (BCubed F1), as a guard that the fast path still clusters.

The generator: events are drawn from topic vocabularies (one per configured
section, plus two topics no section covers); each event has its own names,
places and numbers, and is told by one to six outlets in their own words (a
different sample of the event's facts and the topic's words), sometimes as a
lightly edited wire copy. Words come from the event (names, numbers, a few
key words), its topic (the listed words plus topic jargon) and a large general
vocabulary, so topics hang together and events stand apart as in real news.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.results import write_results
from digest.models import Article, Story, StoryLink
from digest.sections.assign import OTHER, assign_sections
from digest.settings.config import load_settings
from digest.stories.grouping import group_articles
from digest.stories.story import story_id

ROOT = Path(__file__).resolve().parent.parent
SIZES = (5_000, 10_000, 20_000)

TOPICS = {
    "politics": "election vote parliament council mayor party minister policy bill law campaign "
    "senate budget opposition coalition voters ballot reform cabinet spokesman committee",
    "world": "foreign embassy border refugees sanctions military troops ceasefire summit treaty "
    "diplomats rebels army peace talks invasion allies envoy humanitarian conflict",
    "business": "company shares market profit revenue economy bank inflation jobs trade investors "
    "stock sales firm growth prices earnings merger takeover retail quarter",
    "technology": "software internet online digital computer app data startup phone mobile "
    "broadband chip network users website hackers devices cloud platform update",
    "science": "scientists research study space climate health hospital patients doctors disease "
    "vaccine species telescope planet treatment trial cells genes laboratory energy",
    "sport": "match season league cup championship coach players team goal win victory "
    "football tennis cricket rugby tournament final striker referee stadium",
    "culture": "film music album band singer actor award festival museum gallery art book "
    "novel theatre television show concert director premiere exhibition",
    "weather": "storm rain wind gusts flooding forecast snow temperatures frost warning "
    "coast roads power lines drivers thunder showers heatwave drought",
    "gardening": "garden plants seeds soil compost roses pruning lawn bulbs allotment "
    "vegetables tomatoes hedges greenhouse flowers shrubs watering mulch",
}
FILLER = [
    "said",
    "told",
    "according",
    "also",
    "would",
    "could",
    "new",
    "year",
    "week",
    "day",
    "people",
    "time",
    "first",
    "last",
    "local",
    "officials",
    "report",
    "statement",
    "plan",
    "group",
    "city",
    "region",
    "national",
    "public",
    "announced",
    "expected",
    "including",
    "after",
    "before",
    "during",
    "while",
    "says",
    "since",
    "two",
    "three",
    "million",
    "part",
    "more",
    "than",
    "most",
    "some",
    "many",
    "other",
    "second",
    "next",
    "late",
    "early",
]
SYLLABLES = [
    "ka",
    "lo",
    "ver",
    "min",
    "tor",
    "sa",
    "bel",
    "rin",
    "dal",
    "mor",
    "pen",
    "ash",
    "fen",
    "gro",
    "hal",
    "kes",
    "lun",
    "mar",
    "nor",
    "ost",
]
OUTLETS = [f"Outlet {i}" for i in range(12)]


def _name(rng: random.Random, syllables: tuple[int, int] = (3, 4)) -> str:
    """A made-up word; names are long enough that two events rarely share one."""
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(*syllables))).capitalize()


def _vocabularies(rng: random.Random) -> tuple[dict[str, list[str]], list[str]]:
    """Each topic's words plus its own jargon, and a large general vocabulary: real
    news uses thousands of ordinary words, so two stories rarely share many by chance."""
    topics = {
        topic: words.split() + [f"{_name(rng, (2, 2)).lower()}{topic[:3]}" for _ in range(60)]
        for topic, words in TOPICS.items()
    }
    general = FILLER + [f"{_name(rng, (2, 3)).lower()}e" for _ in range(1500)]
    return topics, general


def synthetic(n: int, seed: int = 11) -> tuple[list[Article], dict[str, int]]:
    """``n`` articles and the event each belongs to."""
    rng = random.Random(seed)
    vocabularies, general = _vocabularies(rng)
    topics = list(TOPICS)
    articles: list[Article] = []
    event_of: dict[str, int] = {}
    start = datetime(2026, 11, 27, tzinfo=UTC)
    event = 0
    while len(articles) < n:
        topic = rng.choice(topics)
        vocabulary = vocabularies[topic]
        facts = [_name(rng) for _ in range(rng.randint(3, 6))]
        facts += [str(rng.randint(2, 9999)) for _ in range(2)]
        event_words = rng.sample(vocabulary, 8)
        tellings = min(n - len(articles), rng.choice((1, 1, 2, 2, 3, 3, 4, 5, 6)))
        wire: str | None = None
        for outlet in rng.sample(OUTLETS, tellings):
            if wire is not None and rng.random() < 0.2:  # a lightly edited wire copy
                words = wire.split()
                for _ in range(3):
                    words[rng.randrange(len(words))] = rng.choice(general)
                text = " ".join(words)
            else:
                text = _telling(rng, facts, event_words, vocabulary, general)
                wire = wire or text
            title_words = rng.sample(facts[:3], 2) + rng.sample(TOPICS[topic].split(), 1)
            title_words += rng.sample(event_words, 2)
            rng.shuffle(title_words)
            article_id = f"a{len(articles)}"
            articles.append(
                Article(
                    id=article_id,
                    source=outlet,
                    title=" ".join(title_words).capitalize(),
                    text=text,
                    url=f"https://{outlet.replace(' ', '').lower()}.example/{article_id}",
                    published=start - timedelta(minutes=rng.randint(0, 2880)),
                )
            )
            event_of[article_id] = event
        event += 1
    rng.shuffle(articles)
    return articles, event_of


def _telling(
    rng: random.Random,
    facts: list[str],
    event_words: list[str],
    vocabulary: list[str],
    general: list[str],
) -> str:
    paragraphs = []
    for _ in range(rng.randint(3, 6)):
        sentences = []
        for _ in range(rng.randint(2, 4)):
            words = []
            for _ in range(rng.randint(10, 22)):
                roll = rng.random()
                if roll < 0.12:
                    words.append(rng.choice(facts))
                elif roll < 0.3:
                    words.append(rng.choice(event_words))
                elif roll < 0.5:
                    words.append(rng.choice(vocabulary))
                else:
                    words.append(rng.choice(general))
            sentences.append(" ".join(words).capitalize() + ".")
        paragraphs.append(" ".join(sentences))
    return "\n\n".join(paragraphs)


def _bcubed_f1(groups: list[list[Article]], event_of: dict[str, int]) -> float:
    story_of = {a.id: i for i, g in enumerate(groups) for a in g}
    pairs = Counter((event_of[i], story_of[i]) for i in event_of)
    events = Counter(event_of.values())
    stories = Counter(story_of.values())
    n = len(event_of)
    precision = sum(c * c / stories[s] for (_, s), c in pairs.items()) / n
    recall = sum(c * c / events[e] for (e, _), c in pairs.items()) / n
    return 2 * precision * recall / (precision + recall)


def measure(n: int) -> dict[str, float | int]:
    """One size, in this process: timings and this process's peak memory."""
    articles, event_of = synthetic(n)
    config = load_settings(ROOT / "config" / "digest.toml", {}).edition(None)
    before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    groups = group_articles(articles)
    grouped = time.perf_counter()
    stories = [
        (
            Story(
                id=story_id(group),
                headline=group[0].title,
                summary="",
                articles=tuple(StoryLink(a.id, a.source, a.title, a.url) for a in group),
            ),
            group,
        )
        for group in groups
    ]
    sections = assign_sections(stories, config.sections, config.other_section or OTHER)
    done = time.perf_counter()
    return {
        "articles": n,
        "group_articles_seconds": round(grouped - started, 2),
        "assign_sections_seconds": round(done - grouped, 2),
        "total_seconds": round(done - started, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_before_mb": round(before_mb, 1),
        "stories": len(groups),
        "events": len(set(event_of.values())),
        "bcubed_f1": round(_bcubed_f1(groups, event_of), 3),
        "sections": sum(1 for members in sections.values() if members),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, help="measure one size in this process, print JSON")
    args = parser.parse_args()
    if args.size:
        print(json.dumps(measure(args.size)))
        return 0
    results: dict[str, object] = {"machine_cores": 2, "limit": "20k articles <= 60 s, 1.5 GB"}
    for n in SIZES:
        out = subprocess.run(
            [sys.executable, __file__, "--size", str(n)],
            check=True,
            capture_output=True,
            text=True,
        )
        results[f"articles_{n}"] = json.loads(out.stdout.strip().splitlines()[-1])
    write_results("stories", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
