"""``digest subscribers``: the subscriber list in the database."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from digest.audience.csv_list import read_subscribers
from digest.cli.common import ConfigOption, components_from, err, out

app = typer.Typer(help="Manage the subscriber list.", no_args_is_help=True)


@app.command("import")
def subscribers_import(
    csv_file: Annotated[Path, typer.Argument(help="CSV with email,name,timezone,topics")],
    config: ConfigOption = None,
) -> None:
    """Import subscribers: each rejected line is reported, the rest imported.

    Idempotent; never re-activates someone who unsubscribed, bounced or complained.
    """
    people, problems = read_subscribers(csv_file)
    with components_from(config) as c:
        counts = c.store.subscribers.upsert(people, c.clock())
    for problem in problems:
        err.print(f"[yellow]rejected[/] {csv_file}: {problem}", highlight=False)
    out.print(
        f"{counts.added} added, {counts.updated} updated, {counts.unchanged} unchanged, "
        f"{len(problems)} rejected",
        highlight=False,
    )
    if problems:
        raise typer.Exit(1)
