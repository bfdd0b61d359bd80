"""``digest subscribers``: the subscriber list in the database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from digest.audience.importing import preview_import, write_import
from digest.audience.imports import ImportFile, format_names, read_import
from digest.cli.common import ConfigOption, err, out, settings_from
from digest.components import build_components
from digest.models import SubscriberStatus
from digest.store.subscribers import ImportResult

app = typer.Typer(help="Manage the subscriber list.", no_args_is_help=True)

EditionFilter = Annotated[
    str | None, typer.Option("--edition", "-e", metavar="NAME", help="that edition only")
]

SHOWN_CHANGES = 20  # status changes of known subscribers listed; the rest counted


@app.command("import")
def subscribers_import(
    csv_file: Annotated[
        Path,
        typer.Argument(help="CSV with email,name,timezone,topics, or another tool's export"),
    ],
    format_name: Annotated[
        str | None,
        typer.Option(
            "--format",
            metavar="NAME",
            help=f"read the file as NAME ({', '.join(format_names())}) [default: from its header]",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print what would change; write nothing")
    ] = False,
    edition: EditionFilter = None,
    config: ConfigOption = None,
) -> None:
    """Import subscribers from our CSV or another newsletter tool's export.

    Each rejected line is reported, the rest imported; idempotent. Consent carries
    over and never upgrades: an address stopped here stays stopped, and one without
    evidence of an opt-in is pending, never mailed before a confirmed sign-up.
    """
    settings = settings_from(config)
    if edition is not None:
        settings.edition(edition)  # an unknown name: a config error naming the known
    sections = dict.fromkeys(s.name for e in settings.editions for s in e.sections)
    names = [e.name for e in settings.editions]
    read = read_import(csv_file, sections, format_name, names)
    _say(f"{read.label}: {read.rows} rows")
    if read.ignored:
        shown = escape(", ".join(c if c.isprintable() else repr(c) for c in read.ignored))
        _say(f"note: columns not used by digest, ignored: {shown}")
    if dry_run:
        written = preview_import(settings, read, datetime.now(UTC), edition=edition)
    else:
        components = build_components(settings)
        try:
            now, key = components.clock(), components.signing_key()
            written = write_import(components.store, key, read, now, edition=edition)
        finally:
            components.close()
    result = written.result
    if written.erased:
        _say(
            f"refused {written.erased} erased address(es): only a confirmed sign-up "
            "(/signup) brings one back"
        )
    _report(csv_file, read, result, dry_run)
    if read.problems:
        raise typer.Exit(1)


def _report(csv_file: Path, read: ImportFile, result: ImportResult, dry_run: bool) -> None:
    for problem in read.problems:
        line = f"[yellow]rejected[/] {escape(f'{csv_file}: {problem}')}"
        err.print(line, highlight=False, soft_wrap=True)
    counts = [f"{result.statuses[s.value]} {s.value}" for s in SubscriberStatus]
    shown = [c for c in counts if not c.startswith("0 ")]
    if shown:
        _say(f"by status{', if written' if dry_run else ''}: {', '.join(shown)}")
    for change in result.changes[:SHOWN_CHANGES]:
        line = f"  {change.email}: {change.before.value} -> {change.after.value} ({change.reason})"
        _say(escape(line))
    if len(result.changes) > SHOWN_CHANGES:
        _say(f"  and {len(result.changes) - SHOWN_CHANGES} more status changes")
    if result.kept:
        _say(
            f"{result.kept} keep the status they have here: an import never re-activates "
            "an address, nor undoes a subscriber's own choice here but with a bounce, a "
            "complaint, a block or an unsubscribe not dated before that choice"
        )
    if result.statuses[SubscriberStatus.PENDING.value]:
        hint = read.format.pending_hint
        _say(
            " ".join(("pending: not mailed until they confirm a sign-up (/signup).", hint)).strip()
        )
    c = result.counts
    _say(
        f"{'dry run, nothing written: ' if dry_run else ''}{c.added} added, {c.updated} updated, "
        f"{c.unchanged} unchanged, {len(read.problems)} rejected"
    )


def _say(text: str) -> None:
    """One line of the report, unwrapped (it may be piped or grepped)."""
    out.print(text, highlight=False, soft_wrap=True)
