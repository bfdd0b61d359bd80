"""``digest config``: check the configuration."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from digest.audience.csv_list import load_subscribers
from digest.cli.common import ConfigOption, err, out, settings_from
from digest.settings.config import Settings
from digest.tokens import describe_key

app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)


@app.command("check")
def config_check(
    config: ConfigOption = None,
    probe: Annotated[
        bool, typer.Option("--probe", help="Also connect to the SMTP server as a send would")
    ] = False,
) -> None:
    """Validate the config (and subscriber list); print it with secrets masked."""
    settings = settings_from(config)
    subscribers = load_subscribers(settings.subscribers.file)
    out.print_json(json.dumps(settings.masked(), ensure_ascii=False))
    secret = settings.web.secret_key
    key = describe_key(secret.get_secret_value() if secret else None, settings.var_dir)
    out.print(f"signing key: {key}", highlight=False)
    out.print(
        f"ok: {len(settings.sources)} sources, {len(settings.editions)} editions, "
        f"{len(subscribers)} subscribers ({settings.config_path})",
        highlight=False,
    )
    smtp = settings.delivery.smtp
    if smtp is not None and not smtp.tls_verify:
        err.print(
            "warning: [delivery.smtp] tls_verify = false: the SMTP server's certificate is "
            "not checked, so anyone on the path can read the mail and the password",
            highlight=False,
        )
    if probe:
        _probe(settings)


def _probe(settings: Settings) -> None:
    """EHLO, STARTTLS and AUTH as a send would do them; what the server offers."""
    from digest.delivery.smtp import tls_context
    from digest.delivery.smtp_session import probe

    smtp = settings.delivery.smtp
    if smtp is None:
        out.print("probe: nothing to probe (transport is not smtp)", highlight=False)
        return
    found = probe(smtp, tls_context(smtp))
    out.print(
        f"smtp {smtp.host}:{smtp.effective_port}: {found.greeting}, "
        f"{found.tls or 'no TLS'}, "
        f"{'logged in as ' + (smtp.username or '') if found.authenticated else 'no login'}",
        highlight=False,
    )
    out.print(f"  offers: {', '.join(found.extensions)}", highlight=False)
