"""Importing a subscriber file: read it, recognise its format from the header row
(or take the one ``--format`` names), map each row onto one normalised record, and
leave the writing to the store (:meth:`SubscriberStore.import_records`).

Nothing is guessed: a file of no known shape is refused with the columns it has, a
format's unused columns are ignored with one note, and a row that cannot be mapped
(a bad address, a status value the format does not define, a repeated address) is
reported with its line and not imported; the other rows are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from digest.audience.csv_list import EXPORT_COLUMNS, Table, header_problem, read_table
from digest.audience.formats import FORMATS, Format, Source, named, recognise
from digest.errors import ConfigError
from digest.models import ImportedSubscriber

OWN = "digest"


@dataclass(frozen=True, slots=True)
class ImportFile:
    """A subscriber file read and mapped, ready to write."""

    format: Format
    label: str  # what the file is: "Ghost members export"
    rows: int
    records: tuple[ImportedSubscriber, ...]
    problems: tuple[str, ...]  # "line N: why", one per row not imported
    ignored: tuple[str, ...]  # the file's columns the format does not use


def read_import(
    path: Path,
    sections: Iterable[str],
    format_name: str | None = None,
    editions: Iterable[str] = (),
) -> ImportFile:
    """``path`` read as ``format_name``, or as the format its header shows.

    :class:`ConfigError` when the file as a whole cannot be read: not UTF-8, an
    unknown shape, a column the format needs missing, a Mailchimp file that does not
    say which members it holds.
    """
    table = read_table(path)
    form = _format_of(table, format_name, path)
    missing = [c for c in form.required if c not in table.header]
    if missing:
        raise ConfigError(
            f"read as a {form.label}, it lacks the column(s) {_columns(missing)}", path=str(path)
        )
    if form.name == OWN and (problem := header_problem(table.header, EXPORT_COLUMNS)):
        raise ConfigError(problem, path=str(path))
    source = Source(table.header, path.name, _by_lower(sections), tuple(editions))
    try:
        mapper = form.mapper(source)
    except ValueError as exc:
        raise ConfigError(str(exc), path=str(path)) from None
    records, problems = _map_rows(table, mapper)
    ignored = tuple(h for h in table.header if h not in form.uses)
    label = form.label_of(source)
    return ImportFile(form, label, len(table.rows), tuple(records), tuple(problems), ignored)


def format_names() -> list[str]:
    return [f.name for f in FORMATS]


def _format_of(table: Table, format_name: str | None, path: Path) -> Format:
    if format_name:
        form = named(format_name)
        if form is None:
            raise ConfigError(
                f"unknown format {format_name[:40]!r}: one of {', '.join(format_names())}",
                path=str(path),
            )
        return form
    form = recognise(table.header)
    if form is None:
        raise ConfigError(
            f"{header_problem(table.header)}; nor is it an export digest recognises "
            f"(columns: {_columns(table.header) or 'none'}); --format NAME reads it as one",
            path=str(path),
        )
    return form


def _map_rows(
    table: Table, mapper: Callable[[dict[str, str]], ImportedSubscriber]
) -> tuple[list[ImportedSubscriber], list[str]]:
    seen: dict[str, int] = {}
    records: list[ImportedSubscriber] = []
    problems: list[str] = []
    for line, row in table.rows:
        try:
            record = mapper(row)
        except ValueError as exc:
            problems.append(f"line {line}: {exc}")
            continue
        key = record.email.lower()
        if key in seen:
            problems.append(f"line {line}: {record.email} already on line {seen[key]}")
            continue
        seen[key] = line
        records.append(record)
    return records, problems


def _by_lower(sections: Iterable[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in sections:
        found.setdefault(name.lower(), name)
    return found


def _columns(names: Iterable[str]) -> str:
    """Column names as a message may show them: printable, each capped."""
    return ", ".join(n[:40] if n.isprintable() else repr(n[:40]) for n in names)
