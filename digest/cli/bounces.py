"""``digest bounces``: bounces and complaints read from a mailbox (SMTP delivery)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from digest.cli.common import ConfigOption, components_from, out
from digest.delivery.bounces import import_configured

app = typer.Typer(help="Bounces and complaints from a mailbox.", no_args_is_help=True)


@app.command("import")
def bounces_import(
    config: ConfigOption = None,
    maildir: Annotated[
        Path | None, typer.Option("--maildir", help="Read this Maildir instead of [bounces]")
    ] = None,
) -> None:
    """Read the unread letters of the bounce mailbox: hard bounces and complaints
    suppress the address, soft bounces count; letters that cannot be read are left."""
    with components_from(config) as c:
        summary = import_configured(c, maildir)
    out.print(summary.line(), highlight=False)
    for left in summary.left:
        out.print(f"  left unread: {left}", highlight=False, soft_wrap=True)
