"""Editions as newsletters at scale, against the code before them: 100,000
subscribers sent

- as one edition by the code before issue 16 (commit 0d4b575, the last before
  subscriptions were added in 7e02a84): today's single-edition send as the issue
  meant it ("old single");
- as one edition by this code (everyone subscribed to every edition: "new single");
- split across two editions by this code (half subscribed to each, explicit
  subscription rows: "new two").

Each arm runs in its own process (``newsletters_arm.py``) with its own PYTHONPATH:
the old code is taken out of git (``git archive``) into a temporary folder under
/tmp, so the shared repository gains no worktree entry and a killed run leaves
nothing to prune. Each arm prepares its own SQLite database once; then every round
sends one period through each arm, the order alternating from round to round; the
best of ``--rounds`` counts. The transport builds each request's SendGrid payload and
posts nothing: the figure is our work (enqueue, claims, envelopes, payloads,
outcomes), not the network's.

The goal (issue 16): new two within 10 % of old single. Also reported: new single
against old single. Without git or the commit (a source tarball), the old arm is
skipped and the output says so; the ratio is then against new single only. Writes
benchmarks/results/newsletters.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.results import write_results  # noqa: E402

PRE_ISSUE = "0d4b575"  # the last commit before 7e02a84 (subscriptions per edition)
ARM = Path(__file__).resolve().parent / "newsletters_arm.py"


@dataclass
class Arm:
    name: str
    code: Path  # the checkout whose ``digest`` runs
    editions: list[str]
    seconds: list[float] = field(default_factory=list)

    def run(self, *args: str) -> str:
        env = {**os.environ, "PYTHONPATH": str(self.code)}
        done = subprocess.run(
            [sys.executable, str(ARM), *args],
            env=env,
            cwd=self.code,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"arm {self.name} failed:\n{done.stderr}")
        return done.stdout


def pre_issue_code(into: Path) -> tuple[Path | None, str]:
    """The code of :data:`PRE_ISSUE` unpacked under ``into``, or None and why not."""
    git = shutil.which("git")
    if git is None:
        return None, "no git on this machine"
    archive = subprocess.run(
        [git, "-C", str(ROOT), "archive", "--format=tar", PRE_ISSUE, "digest"],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        return None, f"git archive {PRE_ISSUE} failed: {archive.stderr.decode().strip()}"
    target = into / f"digest-{PRE_ISSUE}"
    target.mkdir()
    tar_path = into / "old.tar"
    tar_path.write_bytes(archive.stdout)
    with tarfile.open(tar_path) as tar:
        tar.extractall(target, filter="data")
    return target, f"commit {PRE_ISSUE} unpacked from git"


def best(arm: Arm | None) -> float | None:
    return min(arm.seconds) if arm and arm.seconds else None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-newsletters-", dir="/tmp") as tmp:
        old_code, how = pre_issue_code(Path(tmp))
        arms = [Arm("new single", ROOT, ["morning"]), Arm("new two", ROOT, ["morning", "tech"])]
        old = Arm("old single", old_code, ["morning"]) if old_code else None
        if old is None:
            print(
                f"note: the pre-issue code is not available ({how}); old single skipped, "
                "ratios against new single only",
                file=sys.stderr,
            )
        else:
            arms.insert(0, old)
        for arm in arms:
            arm.run(
                "prepare",
                f"{tmp}/{arm.name.replace(' ', '-')}.db",
                str(args.n),
                ",".join(arm.editions),
            )
        ran: dict[str, str] = {}
        for round_ in range(args.rounds):
            period = f"2026-12-{round_ + 1:02}"
            for arm in arms if round_ % 2 == 0 else reversed(arms):
                db = f"{tmp}/{arm.name.replace(' ', '-')}.db"
                said = json.loads(arm.run("send", db, str(args.n), ",".join(arm.editions), period))
                assert said["delivered"] == args.n, (arm.name, said)
                arm.seconds.append(said["seconds"])
                ran[arm.name] = said["digest"]
                print(f"round {round_ + 1}: {arm.name}: {said['seconds']:.2f} s", file=sys.stderr)
    new_single, new_two = best(arms[-2]), best(arms[-1])
    baseline = best(old) or new_single
    assert new_single is not None and new_two is not None and baseline is not None
    results = {
        "subscribers": args.n,
        "rounds": args.rounds,
        "pre_issue_code": how if old else f"not available: {how}",
        "code_run": ran,
        "seconds": {arm.name: [round(s, 2) for s in arm.seconds] for arm in arms},
        "best_seconds": {arm.name: round(min(arm.seconds), 2) for arm in arms},
        "new_two_vs_old_single": round(new_two / baseline, 3) if old else None,
        "new_single_vs_old_single": round(new_single / baseline, 3) if old else None,
        "new_two_vs_new_single": round(new_two / new_single, 3),
        "goal": "new two <= 1.10 x old single",
    }
    write_results("newsletters", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
