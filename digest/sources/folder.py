"""A folder of saved articles: ``.html``/``.htm`` pages and ``.txt``/``.md`` scraped text."""

from __future__ import annotations

import logging
from pathlib import Path

from digest.errors import SourceError
from digest.models import RawDocument

log = logging.getLogger(__name__)

HTML_SUFFIXES = frozenset({".html", ".htm"})
TEXT_SUFFIXES = frozenset({".txt", ".md"})


class FolderSource:
    """Every readable article file directly in ``path``, in name order."""

    def __init__(
        self, name: str, path: Path, *, topic: str | None = None, limit: int | None = None
    ) -> None:
        self.name = name
        self.path = path
        self.topic = topic
        self.limit = limit
        self.skipped: list[str] = []

    def fetch(self) -> list[RawDocument]:
        if not self.path.is_dir():
            raise SourceError(self.name, f"{self.path} is not a folder")
        files = sorted(
            p
            for p in self.path.iterdir()
            if p.is_file() and p.suffix.lower() in HTML_SUFFIXES | TEXT_SUFFIXES
        )
        if not files:
            raise SourceError(self.name, f"{self.path} holds no .html, .txt or .md files")
        documents: list[RawDocument] = []
        for file in files[: self.limit] if self.limit else files:
            try:
                content = file.read_bytes().decode("utf-8", errors="replace")
            except OSError as exc:
                log.warning("source %s: cannot read %s: %s", self.name, file, exc.strerror)
                self.skipped.append(f"{file}: {exc.strerror}")
                continue
            is_html = file.suffix.lower() in HTML_SUFFIXES
            documents.append(
                RawDocument(
                    source=self.name,
                    url=None,
                    html=content if is_html else None,
                    text=None if is_html else content,
                    topic_hint=self.topic,
                    origin=str(file),
                )
            )
        return documents
