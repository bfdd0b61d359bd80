"""``digest subscribers list | export | unsubscribe | suppress | erase``: finding,
exporting and stopping subscribers (a GDPR request included). ``cli/main.py``
registers them in the ``subscribers`` group, beside ``import``."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from digest.audience.csv_list import EXPORT_COLUMNS
from digest.audience.erasing import erase
from digest.audience.suppressing import suppress
from digest.audience.unsubscribing import unsubscribe
from digest.cli.common import ConfigOption, components_from, err, out
from digest.cli.subscribers import EditionFilter
from digest.components import Components
from digest.models import SubscriberStatus
from digest.store.subscriber_list import Filters, Listed, editions_cell

EmailArgument = Annotated[str, typer.Argument(help="the subscriber's address")]


def _filters(c: Components, edition: str | None, status: str | None, search: str | None) -> Filters:
    if edition is not None:
        c.settings.edition(edition)  # ConfigError naming the configured ones
    if status is not None and status not in {s.value for s in SubscriberStatus}:
        known = ", ".join(s.value for s in SubscriberStatus)
        err.print(f"unknown status {escape(status[:40])!r}: one of {known}", highlight=False)
        raise typer.Exit(2)
    return Filters(edition, status, search)


def _row(listed: Listed, names: list[str]) -> dict[str, str]:
    return {
        "email": listed.email,
        "name": listed.name,
        "timezone": listed.timezone,
        "topics": listed.topics,
        "editions": editions_cell(listed.rows, names),
        "status": listed.status,
        "created_at": listed.created_at.isoformat(),
        "updated_at": listed.updated_at.isoformat(),
    }


def subscribers_list(
    edition: EditionFilter = None,
    status: Annotated[str | None, typer.Option("--status", help="that status only")] = None,
    search: Annotated[
        str | None, typer.Option("--search", help="text in the address or name")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON array")] = False,
    config: ConfigOption = None,
) -> None:
    """List subscribers, with their editions and status."""
    with components_from(config) as c:
        names = [e.name for e in c.settings.editions]
        rows = [
            _row(x, names)
            for x in c.store.subscriber_list.every(_filters(c, edition, status, search))
        ]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    for row in rows:
        line = f"{row['email']}\t{row['status']}\t{row['editions'] or '-'}\t{row['name']}"
        out.print(escape(line), highlight=False, soft_wrap=True)
    out.print(f"{len(rows)} subscriber(s)", highlight=False)


def subscribers_export(
    csv_file: Annotated[Path, typer.Argument(help="the CSV file to write")],
    edition: EditionFilter = None,
    config: ConfigOption = None,
) -> None:
    """Write subscribers as CSV: the import's columns (editions included), status and
    dates. Importing the file again changes nothing."""
    with components_from(config) as c:
        names = [e.name for e in c.settings.editions]
        filters = _filters(c, edition, None, None)
        csv_file.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=csv_file.parent, prefix=".export.", suffix=".csv")
        count = 0
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=EXPORT_COLUMNS)
            writer.writeheader()
            for listed in c.store.subscriber_list.every(filters):
                writer.writerow(_row(listed, names))
                count += 1
        os.replace(temp, csv_file)
    out.print(escape(f"{count} subscriber(s) written to {csv_file}"), highlight=False)


def subscribers_unsubscribe(
    email: EmailArgument,
    edition: EditionFilter = None,
    config: ConfigOption = None,
) -> None:
    """Unsubscribe from one edition (--edition), or from everything: as the email's
    link does."""
    with components_from(config) as c:
        if edition is not None:
            c.settings.edition(edition)
        names = [e.name for e in c.settings.editions]
        reason = "digest subscribers unsubscribe"
        done = unsubscribe(c.store, email, edition, c.clock(), reason, names)
    _done(done, email, f"unsubscribed from {edition}" if edition else "unsubscribed")


def subscribers_suppress(email: EmailArgument, config: ConfigOption = None) -> None:
    """Never send anything to this address again (blocklisted), whatever its editions."""
    with components_from(config) as c:
        done = suppress(c.store, email, "digest subscribers suppress", c.clock())
    _done(done, email, "suppressed (blocklisted)")


def subscribers_erase(email: EmailArgument, config: ConfigOption = None) -> None:
    """Erase the address, name and preferences everywhere in the database (the
    delivery ledger included); keep only its keyed hash, so an import of it is refused
    unless it confirms a sign-up again. The subscriber list file and the outbox's
    messages are not touched: the output names them."""
    with components_from(config) as c:
        erased = erase(c, email)
    out.print(escape(erased.describe()), highlight=False, soft_wrap=True)


def _done(done: bool, email: str, what: str) -> None:
    if not done:
        err.print(escape(f"no subscriber {email} that could be {what}"), highlight=False)
        raise typer.Exit(1)
    out.print(escape(f"{email}: {what}"), highlight=False)
