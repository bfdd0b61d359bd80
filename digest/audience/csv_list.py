"""The subscriber list: a CSV file with ``email,name,timezone,topics``.

``topics`` is a ``;``-separated list of section names; empty means every section.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from digest.audience.people import clean_name, clean_topics
from digest.errors import ConfigError
from digest.models import Subscriber
from digest.settings.fields import check_email, check_timezone

COLUMNS = ("email", "name", "timezone", "topics")


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
    text = read_text(path)
    with io.StringIO(text, newline="") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        if "email" not in header:
            raise ConfigError(
                "the first line must name the columns, with 'email' among them", path=str(path)
            )
        unknown = [h for h in header if h not in COLUMNS]
        if unknown:
            raise ConfigError(f"unknown column(s) {', '.join(unknown)}", path=str(path))
        reader.fieldnames = header
        seen: dict[str, int] = {}
        out: list[Subscriber] = []
        problems: list[str] = []
        start = reader.line_num + 1
        for row in reader:
            # Where the row starts: a quoted value may hold line breaks.
            line, start = start, reader.line_num + 1
            email_raw = (row.get("email") or "").strip()
            try:
                email = check_email(email_raw)
                timezone = check_timezone((row.get("timezone") or "").strip() or "UTC")
            except ValueError as exc:
                problems.append(f"line {line}: {exc}")
                continue
            if email.lower() in seen:
                problems.append(f"line {line}: {email} already on line {seen[email.lower()]}")
                continue
            seen[email.lower()] = line
            topics = clean_topics((row.get("topics") or "").split(";"))
            out.append(
                Subscriber(
                    email=email,
                    name=clean_name(row.get("name") or ""),
                    timezone=timezone,
                    topics=topics,
                )
            )
    return out, problems


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
