"""A folder of saved articles: ``.html``/``.htm`` pages, ``.txt``/``.md`` scraped text,
and ``.eml`` newsletters saved or forwarded to the folder."""

from __future__ import annotations

import email
import email.policy
import logging
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path

from digest.errors import SourceError
from digest.models import RawDocument

log = logging.getLogger(__name__)

HTML_SUFFIXES = frozenset({".html", ".htm"})
TEXT_SUFFIXES = frozenset({".txt", ".md"})
EMAIL_SUFFIXES = frozenset({".eml"})


class FolderSource:
    """Every readable article file directly in ``path``, in name order."""

    def __init__(
        self,
        name: str,
        path: Path,
        *,
        topic: str | None = None,
        limit: int | None = None,
        language: str | None = None,
    ) -> None:
        self.name = name
        self.path = path
        self.topic = topic
        self.limit = limit
        self.language = language
        self.skipped: list[str] = []

    def fetch(self) -> list[RawDocument]:
        if not self.path.is_dir():
            raise SourceError(self.name, f"{self.path} is not a folder")
        files = sorted(
            p
            for p in self.path.iterdir()
            if p.is_file() and p.suffix.lower() in HTML_SUFFIXES | TEXT_SUFFIXES | EMAIL_SUFFIXES
        )
        if not files:
            raise SourceError(self.name, f"{self.path} holds no .html, .txt, .md or .eml files")
        documents: list[RawDocument] = []
        for file in files[: self.limit] if self.limit else files:
            try:
                raw = file.read_bytes()
            except OSError as exc:
                log.warning("source %s: cannot read %s: %s", self.name, file, exc.strerror)
                self.skipped.append(f"{file}: {exc.strerror}")
                continue
            if file.suffix.lower() in EMAIL_SUFFIXES:
                try:
                    documents.append(_email(self.name, file, raw, self.topic, self.language))
                except ValueError as exc:
                    log.warning("source %s: cannot read %s: %s", self.name, file, exc)
                    self.skipped.append(f"{file}: {exc}")
                continue
            content = raw.decode("utf-8", errors="replace")
            is_html = file.suffix.lower() in HTML_SUFFIXES
            documents.append(
                RawDocument(
                    source=self.name,
                    url=None,
                    html=content if is_html else None,
                    text=None if is_html else content,
                    topic_hint=self.topic,
                    origin=str(file),
                    language=self.language,
                    source_is_outlet=False,
                )
            )
        return documents


def _email(
    source: str, file: Path, raw: bytes, topic: str | None, language: str | None
) -> RawDocument:
    """A newsletter saved as .eml (``raw``, read from ``file``): the subject is the
    title, the HTML part (else the text part) the body, the Date header the
    publication time."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("html", "plain"))
    content = body.get_content() if body is not None else ""
    is_html = body is not None and body.get_content_type() == "text/html"
    try:
        published = parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
    except (TypeError, ValueError):
        published = None
    return RawDocument(
        source=source,
        url=None,
        html=content if is_html else None,
        text=None if is_html else content,
        title=str(message["Subject"] or "") or None,
        author=str(message["From"] or "") or None,
        published=published,
        topic_hint=topic,
        origin=str(file),
        language=language,
        outlet=_sender(message),
        source_is_outlet=False,
    )


def _sender(message: EmailMessage) -> str | None:
    """The newsletter's sender by name ("The Harbour Times <news@...>"), else its
    address's domain: the outlet, rather than the folder's name."""
    name, address = parseaddr(str(message["From"] or ""))
    return name.strip() or (address.rpartition("@")[2] or None)
