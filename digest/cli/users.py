"""``digest users``: editor accounts for the desk."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from digest.cli.common import ConfigOption, components_from, err, out

app = typer.Typer(help="Manage editor accounts (the web desk).", no_args_is_help=True)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input")
]


@app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="The editor's email address (their login)")],
    config: ConfigOption = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create an editor account for the web desk (/desk); asks for the password."""
    from email_validator import EmailNotValidError, validate_email

    try:
        address = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        err.print(f"not an email address: {email}: {exc}", highlight=False)
        raise typer.Exit(2) from None
    password = _password(password_stdin)
    with components_from(config) as c:
        c.store.editors.add(address, password, c.clock())
    out.print(f"editor {address} added", highlight=False)


@app.command("password")
def users_password(
    email: Annotated[str, typer.Argument(help="The editor's email address")],
    config: ConfigOption = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Set a new password; ends the editor's open sessions."""
    password = _password(password_stdin)
    with components_from(config) as c:
        found = c.store.editors.set_password(email, password)
    if not found:
        err.print(f"no editor {email}", highlight=False)
        raise typer.Exit(1)
    out.print(f"password of {email} changed", highlight=False)


@app.command("remove")
def users_remove(
    email: Annotated[str, typer.Argument(help="The editor's email address")],
    config: ConfigOption = None,
) -> None:
    """Delete an editor account and its sessions."""
    with components_from(config) as c:
        found = c.store.editors.remove(email)
    if not found:
        err.print(f"no editor {email}", highlight=False)
        raise typer.Exit(1)
    out.print(f"editor {email} removed", highlight=False)


@app.command("list")
def users_list(config: ConfigOption = None) -> None:
    """Editor accounts."""
    with components_from(config) as c:
        for email in c.store.editors.emails():
            out.print(email, highlight=False)
