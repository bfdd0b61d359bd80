"""``digest config``: check the configuration."""

from __future__ import annotations

import json

import typer

from digest.audience.csv_list import load_subscribers
from digest.cli.common import ConfigOption, out, settings_from
from digest.tokens import describe_key

app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)


@app.command("check")
def config_check(config: ConfigOption = None) -> None:
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
