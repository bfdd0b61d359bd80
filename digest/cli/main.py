"""The ``digest`` command: every command and group registered in one place; domain
errors become one line and an exit code (2 for configuration, 1 for the rest)."""

from __future__ import annotations

import logging
import sys

import typer
from rich.markup import escape

from digest.cli import (
    bounces,
    commands,
    config,
    operations,
    sources,
    subscriber_admin,
    subscribers,
    users,
)
from digest.cli.common import err
from digest.errors import DigestError

app = typer.Typer(
    help="Build and send a newsletter digest from feeds, pages and saved articles.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
for command in (
    commands.run,
    commands.collect,
    commands.build,
    commands.extract,
    commands.preview,
    commands.send,
    commands.approve,
    commands.test_send,
    operations.deliveries,
    operations.serve,
    operations.scheduler,
    operations.runs,
    operations.status,
):
    app.command()(command)
app.add_typer(config.app, name="config")
app.add_typer(operations.schedule_app, name="schedule")
for name, admin in (
    ("list", subscriber_admin.subscribers_list),
    ("export", subscriber_admin.subscribers_export),
    ("unsubscribe", subscriber_admin.subscribers_unsubscribe),
    ("suppress", subscriber_admin.subscribers_suppress),
    ("erase", subscriber_admin.subscribers_erase),
):
    subscribers.app.command(name)(admin)
app.add_typer(subscribers.app, name="subscribers")
app.add_typer(users.app, name="users")
app.add_typer(sources.app, name="sources")
app.add_typer(bounces.app, name="bounces")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except DigestError as exc:
        # The message may quote a file's text: "[/x]" must print, not be markup.
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
