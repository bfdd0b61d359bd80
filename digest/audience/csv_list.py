"""The subscriber list: a CSV file with ``email,name,timezone,topics``.

``topics`` is a ``;``-separated list of section names; empty means every section.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from digest.audience.people import clean_name, clean_topics
from digest.errors import ConfigError
from digest.models import Subscriber
from digest.settings.fields import check_email, check_timezone

COLUMNS = ("email", "name", "timezone", "topics")
# ``digest subscribers import`` and ``export``: the editions (newsletters) too, and an
# export's status and dates (an import only ever lowers a status from them).
EXPORT_COLUMNS = (*COLUMNS, "editions", "status", "created_at", "updated_at")


@dataclass(frozen=True, slots=True)
class Table:
    """A CSV file read whole: the column names (trimmed, lower-case) and each row
    with the line it starts on."""

    header: tuple[str, ...]
    rows: tuple[tuple[int, dict[str, str]], ...]


def load_subscribers(path: Path) -> list[Subscriber]:
    """Read and validate the configured subscriber CSV.

    Any bad line makes the whole file invalid (:class:`ConfigError` naming the file,
    line and field): sending to half a list is worse than not sending.
    """
    subscribers, problems = read_subscribers(path)
    if problems:
        raise ConfigError("; ".join(problems), path=str(path))
    return subscribers


def read_subscribers(path: Path) -> tuple[list[Subscriber], list[str]]:
    """The valid rows, and one problem per rejected line ("line N: why").

    A missing file or header is a :class:`ConfigError`: nothing can be read at all.
    """
    table = read_table(path)
    problem = header_problem(table.header)
    if problem:
        raise ConfigError(problem, path=str(path))
    seen: dict[str, int] = {}
    out: list[Subscriber] = []
    problems: list[str] = []
    for line, row in table.rows:
        try:
            person = subscriber_from_row(row)
        except ValueError as exc:
            problems.append(f"line {line}: {exc}")
            continue
        if person.email.lower() in seen:
            problems.append(
                f"line {line}: {person.email} already on line {seen[person.email.lower()]}"
            )
            continue
        seen[person.email.lower()] = line
        out.append(person)
    return out, problems


def header_problem(header: tuple[str, ...], columns: tuple[str, ...] = COLUMNS) -> str | None:
    """Why a header is not one of our own format, or None when it is."""
    if "email" not in header:
        return "the first line must name the columns, with 'email' among them"
    unknown = [h for h in header if h not in columns]
    if unknown:
        return f"unknown column(s) {', '.join(unknown)}"
    return None


def subscriber_from_row(row: Mapping[str, str]) -> Subscriber:
    """One row of our own format; ValueError names the bad field."""
    email = check_email((row.get("email") or "").strip())
    timezone = check_timezone((row.get("timezone") or "").strip() or "UTC")
    return Subscriber(
        email=email,
        name=clean_name(row.get("name") or ""),
        timezone=timezone,
        topics=clean_topics((row.get("topics") or "").split(";")),
    )


def read_table(path: Path) -> Table:
    """The rows of a UTF-8 CSV file, keyed by the trimmed, lower-case column names."""
    with io.StringIO(read_text(path), newline="") as handle:
        reader = csv.DictReader(handle)
        header = tuple(h.strip().lower() for h in (reader.fieldnames or []))
        reader.fieldnames = list(header)
        rows: list[tuple[int, dict[str, str]]] = []
        start = reader.line_num + 1
        for row in reader:
            # Where the row starts: a quoted value may hold line breaks.
            line, start = start, reader.line_num + 1
            # A short row leaves None; the cells of a long one go under None.
            rows.append((line, {k: v or "" for k, v in row.items() if isinstance(k, str)}))
    return Table(header, tuple(rows))


def read_text(path: Path) -> str:
    """The file as UTF-8 (a byte-order mark allowed, as Excel writes one); a file in
    another encoding is refused with the first line that is not UTF-8."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read subscribers: {exc.strerror}", path=str(path)) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"line {line}: not UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8",
            path=str(path),
        ) from None
