"""``digest sources``: import a feed list (OPML, a file or a URL) into the
configuration, export the configured feeds as OPML, and each source's health.
Registered by :mod:`digest.cli.main`."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.markup import escape
from rich.table import Table

from digest.cli.common import ConfigOption, components_from, err, out, settings_from
from digest.components import build_fetcher
from digest.errors import ConfigError
from digest.models import ItemCounts
from digest.settings.config import Settings, load_settings
from digest.sources.http import Resolver, make_client, resolve
from digest.sources.opml import (
    FeedList,
    counted,
    export_opml,
    fetch_opml,
    is_url,
    plan_import,
    read_opml,
    sources_toml,
)
from digest.store.health import FAILURE_STREAK_ALERT, SourceHealth, describe_counts

app = typer.Typer(help="Import, export and inspect the sources.", no_args_is_help=True)


@dataclass(frozen=True, slots=True)
class Network:
    """How ``sources import URL`` reaches the network: a client of a timeout, and the
    resolver the address checks use. The command takes one from its context's
    ``obj`` (``app(obj=...)``; a test's own network), else the real one."""

    client: Callable[[float], httpx.Client] = make_client
    resolver: Resolver = resolve


@app.command("import")
def sources_import(
    context: typer.Context,
    location: Annotated[
        str,
        typer.Argument(
            metavar="FILE_OR_URL", help="An OPML feed list (a feed reader's export), or its URL"
        ),
    ],
    config: ConfigOption = None,
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Append the new \\[\\[sources]] to this file instead of the config "
            "('-': print them)",
        ),
    ] = None,
) -> None:
    """Add the feeds of an OPML file (or URL) to the configuration as \\[\\[sources]].

    What real exports get wrong (a bare '&' in a URL, HTML entities, a wrong
    encoding) is repaired and reported with its line; feeds already configured
    (same URL) or listed twice are skipped and reported; the config is checked with
    the new sources before it is written.
    """
    settings = settings_from(config)
    network = context.obj if isinstance(context.obj, Network) else Network()
    feed_list = _read_feed_list(location, settings, network)
    plan = plan_import(feed_list.feeds, settings)
    for line in feed_list.repairs:
        err.print(f"[yellow]repaired[/] {escape(line)}", highlight=False, soft_wrap=True)
    for line in plan.skipped:
        err.print(f"[yellow]skipped[/] {escape(line)}", highlight=False, soft_wrap=True)
    counts = plan.summary()
    if not plan.added:
        err.print(f"{counts}; nothing to write", highlight=False)
        return
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    name = location if is_url(location) else Path(location).name
    block = sources_toml(plan.added, comment=f"Imported from {name} on {stamp}")
    if out_file == Path("-"):
        typer.echo(block, nl=False)
        err.print(counts, highlight=False)
        return
    if out_file is not None:
        if out_file.resolve() == settings.config_path.resolve():
            raise typer.BadParameter("leave out --out to add to the config", param_hint="--out")
        with out_file.open("a", encoding="utf-8") as handle:
            handle.write(block)
        out.print(f"{counts}: appended to {out_file}", highlight=False)
        return
    _append_checked(settings.config_path, block)
    out.print(f"{counts}: appended to {settings.config_path}", highlight=False)


def _read_feed_list(location: str, settings: Settings, network: Network) -> FeedList:
    if not is_url(location):
        return read_opml(Path(location))
    with network.client(settings.fetching.timeout_seconds) as client:
        fetcher = build_fetcher(settings.fetching, client, network.resolver)
        return fetch_opml(location, fetcher)


@app.command("export")
def sources_export(
    out_file: Annotated[
        Path, typer.Argument(metavar="FILE.opml", help="Where to write the OPML ('-': print it)")
    ],
    config: ConfigOption = None,
) -> None:
    """Write every configured feed as OPML 2.0, in folders named after their topics.

    Pages, folders and feeds read from a file are left out, each named.
    """
    settings = settings_from(config)
    export = export_opml(settings.sources, title=settings.name, now=datetime.now(UTC))
    for line in export.left_out:
        err.print(f"[yellow]left out[/] {escape(line)}", highlight=False, soft_wrap=True)
    left_out = counted(len(export.left_out), "source")
    counts = f"{counted(export.exported, 'feed')} exported, {left_out} left out"
    if out_file == Path("-"):
        sys.stdout.buffer.write(export.document)
        sys.stdout.buffer.flush()
        err.print(counts, highlight=False)
        return
    if out_file.resolve() == settings.config_path.resolve():
        raise typer.BadParameter("that is the config file", param_hint="FILE.opml")
    try:
        out_file.write_bytes(export.document)
    except OSError as exc:
        raise ConfigError(f"cannot write: {exc.strerror}", path=str(out_file)) from None
    out.print(f"{counts}: written to {out_file}", highlight=False)


def _append_checked(config_path: Path, block: str) -> None:
    """Append ``block`` to the config file, only if the result still loads; the file is
    replaced in one step (no half-written config)."""
    original = config_path.read_text(encoding="utf-8")
    text = original + ("" if original.endswith("\n") or not original else "\n") + block
    fd, name = tempfile.mkstemp(prefix=f".{config_path.name}.", dir=config_path.parent)
    temporary = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        try:
            load_settings(temporary, os.environ)
        except ConfigError as exc:
            raise ConfigError(
                f"the imported sources would make the config invalid ({exc}); not written",
                path=str(config_path),
            ) from None
        shutil.copymode(config_path, temporary)
        temporary.replace(config_path)
    finally:
        temporary.unlink(missing_ok=True)


@app.command("status")
def sources_status(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="As JSON")] = False,
) -> None:
    """Each source's last fetch, what became of the items it last listed, last success
    and failure, and failures in a row."""
    with components_from(config) as c:
        configured = {s.name: s for s in c.settings.sources}
        health = c.store.health.status(configured)
    if as_json:
        rows = [
            {
                "source": h.source,
                "kind": configured[h.source].kind,
                "enabled": configured[h.source].enabled,
                "last_status": h.last_status,
                "last_fetch": _iso(h.last_fetch),
                "last_success": _iso(h.last_success),
                "last_failure": _iso(h.last_failure),
                "failure_streak": h.failure_streak,
                "flagged": h.flagged,
                "last_error": h.last_error,
                "fetches": h.fetches,
                **_counts_json(h.last_counts),
            }
            for h in health
        ]
        out.print_json(json.dumps(rows))
        return
    table = Table(title="Sources")
    for column in ("source", "kind", "last fetch", "last items"):
        table.add_column(column)
    for column in ("last success", "last failure", "in a row"):
        table.add_column(column)
    table.add_column("last error", overflow="fold")
    for h in health:
        source = configured[h.source]
        table.add_row(
            escape(h.source) + ("" if source.enabled else " [dim](disabled)[/]"),
            source.kind,
            _last(h),
            escape(describe_counts(h.last_counts)) if h.last_counts else "-",
            _when(h.last_success),
            _when(h.last_failure),
            f"[bold red]{h.failure_streak}[/]" if h.flagged else str(h.failure_streak),
            escape(h.last_error or ""),
        )
    out.print(table)
    flagged = [h.source for h in health if h.flagged]
    if flagged:
        out.print(
            f"failing {FAILURE_STREAK_ALERT}+ runs in a row: {', '.join(flagged)}", highlight=False
        )


@app.command("history")
def sources_history(
    name: Annotated[str, typer.Argument(help="A source's name")],
    config: ConfigOption = None,
    limit: Annotated[int, typer.Option(help="How many fetches")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="As JSON")] = False,
) -> None:
    """A source's latest fetches, newest first: status, duration, items, error."""
    with components_from(config) as c:
        if name not in {s.name for s in c.settings.sources}:
            raise ConfigError(f"no source named {name!r}", path=str(c.settings.config_path))
        fetches = c.store.health.recent(name, limit)
    rows = [
        {
            "started": _iso(f.started_at),
            "status": f.status,
            "ms": f.duration_ms,
            "seen": f.seen_items,
            "new": f.new_items,
            "error": f.error,
        }
        for f in fetches
    ]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table(title=f"Fetches of {escape(name)}")
    for column in ("started", "status", "ms", "seen", "new"):
        table.add_column(column)
    table.add_column("error", overflow="fold")
    for row in rows:
        table.add_row(*(escape(str(row[k] if row[k] is not None else "")) for k in row))
    out.print(table)


def _counts_json(counts: ItemCounts | None) -> dict[str, object]:
    """The last fetch that read the source's items: what became of them (None before
    the first; a 304 reads nothing, so the fetch before it counts)."""
    if counts is None:
        return dict.fromkeys(("items", "stored", "known", "skipped", "skip_reasons"))
    return {
        "items": counts.items,
        "stored": counts.stored,
        "known": counts.known,
        "skipped": counts.skipped,
        "skip_reasons": dict(sorted(counts.reasons.items())),
    }


def _last(h: SourceHealth) -> str:
    if h.last_status is None:
        return "[dim]never[/]"
    colour = {"ok": "green", "not_modified": "dim", "failed": "red"}.get(h.last_status, "")
    label = h.last_status.replace("_", " ")
    return f"[{colour}]{label}[/] {_when(h.last_fetch)}" if colour else label


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
