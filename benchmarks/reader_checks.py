"""Reader checks: what a subscriber would call a defect, even where ROUGE counts
nothing. Computed on an edition's JSON (``digest build --out``) and its input
articles; each check a count of stories or a share of summaries (goals in
``benchmarks/floors.toml``):

- ``outlet_named_twice``: stories whose credit line names an outlet twice, as the
  email names them (``digest.rendering.attribution``, the function the templates
  call) and, where the plain-text part was written, as "Also reported by:" reads;
- ``repeated_sentence_share``: summaries with two sentences sharing more than half of
  the shorter one's content words (the same thing in two outlets' words);
- ``dangling_opening_share``: summaries whose first sentence opens with a pronoun or
  connective (He, She, They, It, His, Her, Their, But, And, However, Also), a bare
  number ("2020 was ...", "Two voted for ..."), or whose sentence, first or not, opens
  on a surname neither the headline nor an earlier sentence introduced ("Thalberg
  said ..." where the reports write "Anna Thalberg");
- ``headline_number_unsupported``: stories whose headline has a number found neither
  in the summary nor in the reports the summary's sentences come from (headline and
  summary telling different reports' figures);
- ``spread_beyond_lookback``: stories, not marked as updates, whose articles were
  published further apart than the edition's lookback (48 h by default).

The checks that need outlets or dates run only where the input carries them (the
sample edition; the dev sets hold titles and texts only).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from digest.rendering.attribution import attribution
from digest.serialise import story_from_dict

ROOT = Path(__file__).resolve().parent.parent
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'“‘(]?[A-Z0-9])")
# A full stop after these is not a sentence's end ("Dr. Scott Atlas", "the U.S. Senate",
# a tokenised ".357" read as "a. 357": no sentence ends on a one-letter word).
TITLES = re.compile(
    r"\b(?:Mr|Mrs|Ms|Dr|Prof|Rep|Sen|Gov|Lt|Gen|Col|Sgt|Capt|Rev|St|Jr|Sr|No|Mt|Ft|Jan|Feb|"
    r"Mar|Apr|Aug|Sept|Sep|Oct|Nov|Dec|[A-Za-z](?:\.[A-Za-z])*)\.$"
)
WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
OPENERS = {"he", "she", "they", "it", "his", "her", "their", "but", "and", "however", "also"}
# A count with nothing counted ("Two voted for ...", "Three of them ..."): the number
# word, then a verb or "of" rather than a noun.
NUMBER_WORD = re.compile(
    r"^(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|both|dozens|hundreds)$"
)
_BARE_VERBS = {"voted", "died", "remained"}  # verbs in -ed, never before what is counted
BARE_AFTER = re.compile(
    r"^(?:of|were|was|are|is|have|had|has|will|would|could|did|do|said|say|says|told|"
    r"remain|remained|voted|died|[a-z]+ed)$"
)


def _counted(words: list[str]) -> bool:
    """A count's "of" or adjective in -ed followed by what it counts ("Hundreds of
    villagers", "Three suspected militants") counts something; "Three of them",
    "Two voted for" (a stop word next) and ``_BARE_VERBS`` ("Two voted Labour") do not."""
    if len(words) < 3 or words[2] in ENGLISH_STOP_WORDS:
        return False
    return words[1] == "of" or (words[1].endswith("ed") and words[1] not in _BARE_VERBS)


ALSO_REPORTED = re.compile(r"^\s*Also reported by:\s*(.*?)(?:\s+and \d+ more)?\s*$", re.MULTILINE)
REPORTING = re.compile(
    r"^([A-Z][a-z'’-]+)\s+(said|says|told|added|noted|argued|wrote|warned|explained|insisted)\b"
)
LOOKBACK = timedelta(hours=48)


def sentences(text: str) -> list[str]:
    """Split at a full stop, question or exclamation mark before a capital, except
    after a title or an abbreviation such as "Dr." or "U.S."."""
    out: list[str] = []
    for piece in SENTENCE.split(" ".join(text.split())):
        if out and TITLES.search(out[-1]):
            out[-1] += " " + piece
        elif piece:
            out.append(piece)
    return out


def content_words(sentence: str) -> set[str]:
    return {w for w in WORD.findall(sentence.lower()) if w not in ENGLISH_STOP_WORDS}


def repeats(summary: str) -> bool:
    words = [content_words(s) for s in sentences(summary)]
    for i, a in enumerate(words):
        for b in words[i + 1 :]:
            shorter = min(len(a), len(b))
            if shorter and len(a & b) > shorter / 2:
                return True
    return False


def dangles(summary: str, headline: str, told: str = "") -> bool:
    """The summary points at something the reader never saw: its first sentence opens
    on a pronoun, connective or bare number, or any sentence on a surname that neither
    the headline nor an earlier sentence introduced (``told``: the reports, where
    people are introduced with a first name)."""
    said = sentences(summary)
    if not said:
        return False
    first = said[0]
    words = WORD.findall(first.lower())[:3]
    if (words and words[0] in OPENERS) or first[0].isdigit():
        return True
    if len(words) >= 2 and NUMBER_WORD.match(words[0]) and BARE_AFTER.match(words[1]):
        return not _counted(words)
    seen = headline
    for sentence in said:
        if _unmet(sentence, seen, told):
            return True
        seen += " " + sentence
    return False


def _unmet(sentence: str, seen: str, told: str) -> bool:
    # A surname the reports introduce with a first name ("Anna Thalberg") but the
    # summary uses bare; a name never written after a first name is an organisation.
    named = REPORTING.match(sentence)
    if not named or named.group(1) in seen:
        return False
    return re.search(rf"\b[A-Z][a-z]+ {re.escape(named.group(1))}\b", told) is not None


def check(
    edition: dict[str, Any], articles: dict[str, dict[str, Any]], text_part: str | None = None
) -> dict[str, float]:
    """Every check on one edition (its JSON), its input ``articles`` by id and, when it
    was written, its plain-text part."""
    stories = [st for section in edition["sections"] for st in section["stories"]]
    summaries = [st["summary"] for st in stories if st.get("summary")]
    outlets = {a.get("source") for a in articles.values()}
    real_outlets = len(outlets - {None, "", "input"}) > 1
    dated = any(a.get("published") for a in articles.values())
    result = {
        "repeated_sentence_share": _share(sum(repeats(s) for s in summaries), summaries),
        "dangling_opening_share": _share(
            sum(
                dangles(st["summary"], st["headline"], _told(st, articles))
                for st in stories
                if st.get("summary")
            ),
            summaries,
        ),
        "headline_number_unsupported": sum(_unsupported(st, articles) for st in stories),
    }
    if real_outlets:
        twice = sum(_twice(st) for st in stories)
        if text_part is not None:
            twice = max(twice, sum(_repeats_outlet(line) for line in _credit_lines(text_part)))
        result["outlet_named_twice"] = twice
    if dated:
        result["spread_beyond_lookback"] = sum(_spread(st, articles) for st in stories)
    return result


def _share(count: int, of: list[str]) -> float:
    return round(count / len(of), 4) if of else 0.0


def _twice(story: dict[str, Any]) -> bool:
    """The story's outlets as its credit line names them (lead, then the others, each
    meant once) hold one name twice."""
    credit = attribution(story_from_dict(_storable(story)), cap=None)
    named = [credit.lead.source] if credit.lead is not None else []
    named += [link.source for link in credit.others]
    return _repeats_outlet([n for n in named if n])


def _storable(story: dict[str, Any]) -> dict[str, Any]:
    return {"id": "", "headline": "", "summary": "", "sources": [], **story}


def _credit_lines(text_part: str) -> list[list[str]]:
    """The outlets of each "Also reported by:" line of a plain-text part."""
    return [
        [name.strip() for name in match.group(1).split(", ") if name.strip()]
        for match in ALSO_REPORTED.finditer(text_part)
    ]


def _repeats_outlet(names: list[str]) -> bool:
    return len(names) != len(set(names))


def _told(story: dict[str, Any], articles: dict[str, dict[str, Any]]) -> str:
    return " ".join(
        f"{articles.get(i, {}).get('title') or ''} {articles.get(i, {}).get('text') or ''}"
        for i in story["articles"]
    )


def _unsupported(story: dict[str, Any], articles: dict[str, dict[str, Any]]) -> bool:
    """A number of the headline is in neither the summary nor the reports (title and
    text) its sentences come from. A story without a summary has nothing to disagree."""
    summary = story.get("summary") or ""
    if not summary:
        return False
    used = _used_reports(summary, [articles.get(i, {}) for i in story["articles"]])
    known = {_number(n) for n in NUMBER.findall(" ".join([summary, *used]))}
    return any(_number(n) not in known for n in NUMBER.findall(story["headline"]))


def _used_reports(summary: str, reports: list[dict[str, Any]]) -> list[str]:
    """The reports (title and text) that hold a sentence of ``summary``."""
    wanted = [" ".join(WORD.findall(s.lower())) for s in sentences(summary)]
    used = []
    for report in reports:
        told = f"{report.get('title') or ''}\n{report.get('text') or ''}"
        flat = " ".join(WORD.findall(told.lower()))
        if any(w and w in flat for w in wanted):
            used.append(told)
    return used


def _number(text: str) -> str:
    return text.replace(",", "")


def _spread(story: dict[str, Any], articles: dict[str, dict[str, Any]]) -> bool:
    if story.get("update_of"):
        return False
    times = [_time(articles.get(i, {}).get("published")) for i in story["articles"]]
    known = [t for t in times if t is not None]
    return len(known) > 1 and max(known) - min(known) > LOOKBACK


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


Checked = tuple[dict[str, Any], dict[str, dict[str, Any]], str | None]


def sample_edition(out: Path) -> Checked:
    """The shipped samples collected and built as the default config does (capped):
    the edition, the stored articles as the checks' input, the email's text part."""
    with tempfile.TemporaryDirectory() as tmp:
        for folder in ("config", "samples"):
            shutil.copytree(ROOT / folder, Path(tmp) / folder)
        config = Path(tmp) / "config" / "digest.toml"
        env = {"PATH": "/usr/bin:/bin", "DIGEST_SECRET_KEY": "eval-" + "k" * 40}
        digest = [sys.executable, "-m", "digest"]
        subprocess.run(
            [*digest, "collect", "--config", str(config)], check=True, env=env, capture_output=True
        )
        edition_path = out / "sample.edition.json"
        text_path = out / "sample.edition.txt"
        subprocess.run(
            [
                *digest,
                "build",
                *("--config", str(config), "--out", str(edition_path)),
                *("--text", str(text_path)),
            ],
            check=True,
            env=env,
            capture_output=True,
        )
        articles = _stored_articles(Path(tmp) / "var" / "digest.db")
    return json.loads(edition_path.read_text()), articles, text_path.read_text()


def _stored_articles(database: Path) -> dict[str, dict[str, Any]]:
    import sqlite3

    with sqlite3.connect(database) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT id, source, title, text, published FROM articles").fetchall()
    return {r["id"]: dict(r) for r in rows}


def run_all(
    held_out: dict[str, Any], halves: dict[str, list[dict[str, Path]]], out: Path
) -> dict[str, dict[str, float]]:
    """Every check on every held-out dev edition and on the sample edition:
    {check: {edition: value}}."""
    from benchmarks.eval import read_jsonl

    found: dict[str, dict[str, float]] = {}
    editions: list[tuple[str, Checked]] = []
    for key, value in held_out.items():
        if key == "chosen" or not key.endswith(("/stories", "/topics")):
            continue
        name = key.partition("/")[0]
        for h, path in enumerate(value["editions"]):
            inputs = {row["id"]: row for row in read_jsonl(halves[name][h]["input"])}
            edition = json.loads(Path(path).read_text())
            editions.append((f"{name}.half{h}", (edition, inputs, None)))
    editions.append(("sample", sample_edition(out)))
    for label, checked in editions:
        for name, value in check(*checked).items():
            found.setdefault(name, {})[label] = value
    return found
