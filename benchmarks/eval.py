"""`make eval`: run the two eval commands on the dev sets of ../shared/eval and print
the scorer's summary lines. The data stays outside the repository."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

# (set, command, [(task, gold file)])
SETS = [
    ("extract-aeb", "extract", [("extract", "extract-aeb.gold.jsonl.gz")]),
    ("extract-traf", "extract", [("segments", "extract-traf.gold.jsonl.gz")]),
    ("extract-noisy", "extract", [("extract", "extract-noisy.gold.jsonl.gz")]),
    ("stories-ecb", "build", [("stories", "stories-ecb.gold.jsonl.gz")]),
    (
        "stories-neus",
        "build",
        [
            ("stories", "stories-neus.gold.jsonl.gz"),
            ("summaries", "stories-neus.summaries.gold.jsonl.gz"),
        ],
    ),
    (
        "topics-bbc",
        "build",
        [
            ("topics", "topics-bbc.gold.jsonl.gz"),
            ("summaries", "topics-bbc.summaries.gold.jsonl.gz"),
        ],
    ),
    ("topics-ag", "build", [("topics", "topics-ag.gold.jsonl.gz")]),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/eval/data"))
    parser.add_argument("--out", type=Path, default=Path("var/eval"))
    parser.add_argument("--only", nargs="*", help="set names to run")
    args = parser.parse_args()
    scorer = args.data.parent / "score.py"
    if not args.data.is_dir() or not scorer.is_file():
        print(f"eval data not found at {args.data} (../shared is absent): nothing to score")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    digest = [sys.executable, "-m", "digest"]
    results: dict[str, object] = {}
    for name, command, tasks in SETS:
        if args.only and name not in args.only:
            continue
        source = args.data / f"{name}.jsonl.gz"
        if command == "extract":
            pred = args.out / f"{name}.out.jsonl"
            cmd = [*digest, "extract", "--jsonl", str(source), "--out", str(pred)]
        else:
            pred = args.out / f"{name}.edition.json"
            cmd = [*digest, "build", "--articles", str(source), "--out", str(pred), "--all"]
        started = time.perf_counter()
        subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        for task, gold in tasks:
            scored = subprocess.run(
                [
                    sys.executable,
                    str(scorer),
                    task,
                    "--pred",
                    str(pred),
                    "--gold",
                    str(args.data / gold),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            lines = scored.stdout.strip().splitlines()
            print(f"{name:14s} {task:10s} {lines[-1]}   ({seconds:.1f} s)")
            try:
                results[f"{name}/{task}"] = json.loads("\n".join(lines[:-1]))
            except json.JSONDecodeError:
                results[f"{name}/{task}"] = lines[-1]
    (args.out / "scores.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
