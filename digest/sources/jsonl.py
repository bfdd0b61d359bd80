"""Offline commands over JSON Lines files: ``digest extract --jsonl`` and
``digest build --articles``. Nothing is stored or sent; formats are those of
``../shared/eval/README.md`` and stay stable."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from digest.cleaning.articles import MAX_RAW, capped
from digest.cleaning.pages import extract_html, fragment_text
from digest.cleaning.scraped import clean_scraped_text
from digest.cleaning.text import Extracted
from digest.errors import ConfigError, ExtractionError
from digest.language.detect import detect_language
from digest.models import Article
from digest.sources.page import language_tag


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of a JSON Lines file (``.gz`` too)."""
    opener: Any = gzip.open if path.suffix == ".gz" else open
    try:
        handle: IO[str] = opener(path, "rt", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=str(path)) from None
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"line {number}: not JSON: {exc.msg}", path=str(path)) from None
            if not isinstance(record, dict) or not isinstance(record.get("id"), str):
                raise ConfigError(
                    f"line {number}: expected an object with a string 'id'", path=str(path)
                )
            yield number, record


def extract_record(record: dict[str, Any]) -> dict[str, str]:
    """``{"id","title","text"}`` for one input document; empty text when nothing is found."""
    found: Extracted
    try:
        if record.get("html"):
            found = extract_html(str(record["html"]), record.get("url"))
        elif record.get("text"):
            found = clean_scraped_text(str(record["text"]), record.get("title"), record.get("url"))
        else:
            found = Extracted(title=str(record.get("title") or ""), text="")
    except ExtractionError:
        found = Extracted(title=str(record.get("title") or ""), text="")
    return {"id": record["id"], "title": found.title, "text": found.text}


def article_from_record(record: dict[str, Any], source_default: str = "input") -> Article:
    """An article as ``digest build --articles`` takes it: text, or HTML to extract.
    Its ``language`` (a BCP 47 tag) when the line has one, else the detector's
    (``digest.language.detect``); an article with neither is read in the edition's."""
    title = " ".join(str(record.get("title") or "").split())
    text = str(record.get("text") or "")[:MAX_RAW]
    if not text and record.get("html"):
        html = str(record["html"])[:MAX_RAW]
        found = extract_html(html, record.get("url"))
        text = found.text or fragment_text(html)
        title = title or found.title
    # Every line is a paragraph: input files put one paragraph a line or a blank line between.
    text = "\n\n".join(" ".join(p.split()) for p in text.splitlines() if p.strip())
    title = title or " ".join(text.split()[:12])
    return capped(
        Article(
            id=record["id"],
            source=str(record.get("source") or source_default),
            title=title,
            text=text,
            url=record.get("url"),
            published=_published(record.get("published")),
            language=language_tag(_str(record.get("language")))
            or detect_language(f"{title}\n{text}"),
        )
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _published(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
