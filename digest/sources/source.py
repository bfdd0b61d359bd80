"""Sources: where raw documents come from. One module per kind, one Protocol for all."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from digest.models import RawDocument


class Source(Protocol):
    """Anything that yields raw documents. Raises :class:`digest.errors.SourceError`
    when the whole source is unusable; a single bad item is skipped inside."""

    name: str

    def fetch(self) -> list[RawDocument]:
        """Everything the source offers now, newest first where it knows."""
        ...


@dataclass(frozen=True, slots=True)
class Validators:
    """What a server gave to recognise an unchanged answer next time (conditional GET)."""

    url: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class Fetched:
    """What one fetch of a source gave: documents, or nothing new (HTTP 304)."""

    documents: list[RawDocument]
    validators: Validators | None = None  # to send next time; None: nothing to remember
    not_modified: bool = False
    notes: list[str] = field(default_factory=list)  # items kept in a lesser form, and why
    # Items the source listed but did not hand on, by reason ("over the source's limit").
    skipped: Mapping[str, int] = field(default_factory=dict)

    @property
    def items(self) -> int:
        """How many items the source listed: those handed on and those it skipped."""
        return len(self.documents) + sum(self.skipped.values())


@runtime_checkable
class ConditionalSource(Source, Protocol):
    """A source over HTTP that can skip unchanged answers and pages it already has."""

    full_text: bool  # whether it fetches linked pages (and so wants ``known_urls``)

    def fetch_changes(
        self, previous: Validators | None, known_urls: Collection[str] = frozenset()
    ) -> Fetched:
        """Fetch, sending ``previous`` validators; ``known_urls`` (canonical links of
        articles already stored, by any source) need no full-text fetch."""
        ...


class MemorySource:
    """A source that returns documents it was given: for tests and dry runs."""

    def __init__(self, name: str, documents: list[RawDocument]) -> None:
        self.name = name
        self._documents = list(documents)

    def fetch(self) -> list[RawDocument]:
        return list(self._documents)
