"""Sources: where raw documents come from. One module per kind, one Protocol for all."""

from __future__ import annotations

from typing import Protocol

from digest.models import RawDocument


class Source(Protocol):
    """Anything that yields raw documents. Raises :class:`digest.errors.SourceError`
    when the whole source is unusable; a single bad item is skipped inside."""

    name: str

    def fetch(self) -> list[RawDocument]:
        """Everything the source offers now, newest first where it knows."""
        ...


class MemorySource:
    """A source that returns documents it was given: for tests and dry runs."""

    def __init__(self, name: str, documents: list[RawDocument]) -> None:
        self.name = name
        self._documents = list(documents)

    def fetch(self) -> list[RawDocument]:
        return list(self._documents)
