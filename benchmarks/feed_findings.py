"""What a checkout of digest stores of each made-up feed in ``tests/data/feeds``:
the items feedparser lists, the articles stored, how many have a date and how many
are headline-only. Collects each feed as a file source into a fresh database through
the real pipeline, with only the API that main had before issue 20, so the same
script measures before and after:

    .venv/bin/python benchmarks/feed_findings.py /path/to/a/checkout
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from pathlib import Path

FEEDS = Path(__file__).resolve().parent.parent / "tests" / "data" / "feeds"
FILES = [
    "science-rss1.rdf",
    "uol-pt.xml",
    "dates-es.xml",
    "dates-fr.xml",
    "dates-de.xml",
    "podcast.xml",
    "updates.xml",
]


def main(root: Path) -> None:
    sys.path.insert(0, str(root))
    import feedparser

    from digest import pipeline
    from digest.components import build_components
    from digest.models import RunReport
    from digest.settings.config import load_settings

    for name in FILES:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "digest.toml"
            config.write_text(
                'var_dir = "var"\n[storage]\nurl = "sqlite:///var/digest.db"\n'
                f'[[sources]]\nname = "S"\nkind = "feed"\npath = "{FEEDS / name}"\n'
                '[[editions]]\nname = "m"\ntitle = "M"\n'
            )
            c = build_components(load_settings(config, {}))
            pipeline.collect(c, RunReport())
            c.close()
            with sqlite3.connect(Path(tmp) / "var" / "digest.db") as db:
                stored, dated, empty = db.execute(
                    "select count(*), count(published), coalesce(sum(text = ''), 0) from articles"
                ).fetchone()
        listed = len(feedparser.parse(str(FEEDS / name)).entries)
        counts = f"items {listed:3}  stored {stored:3}  dated {dated:3}"
        print(f"{name:18} {counts}  headline-only {empty:3}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent))
