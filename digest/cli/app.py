"""The ``digest`` command: parse, load settings, call the pipeline, report.

Thin on purpose: domain errors become one-line messages and exit codes here.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from digest import pipeline
from digest.components import Components, build_components, build_renderer
from digest.errors import DigestError, NotFoundError
from digest.models import RunReport, SourceReport
from digest.serialise import edition_to_dict
from digest.settings.config import Settings, config_path, load_settings
from digest.sources.jsonl import article_from_record, extract_record, read_jsonl, write_jsonl
from digest.store.database import StoredEdition
from digest.store.health import FAILURE_STREAK_ALERT

app = typer.Typer(
    help="Build and send a newsletter digest from feeds, pages and saved articles.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")
schedule_app = typer.Typer(help="Inspect the schedule.", no_args_is_help=True)
app.add_typer(schedule_app, name="schedule")
subscribers_app = typer.Typer(help="Manage the subscriber list.", no_args_is_help=True)
app.add_typer(subscribers_app, name="subscribers")
users_app = typer.Typer(help="Manage editor accounts (the web desk).", no_args_is_help=True)
app.add_typer(users_app, name="users")

out = Console()
err = Console(stderr=True)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Config file [default: $DIGEST_CONFIG or config/digest.toml]"
    ),
]
EditionOption = Annotated[
    str | None, typer.Option("--edition", "-e", help="Edition name [default: the first]")
]


def settings_from(config: Path | None) -> Settings:
    """The settings of ``--config``, ``$DIGEST_CONFIG`` or the default file."""
    return load_settings(config_path(config, os.environ), os.environ)


@contextmanager
def components_from(config: Path | None) -> Iterator[Components]:
    components = build_components(settings_from(config))
    try:
        yield components
    finally:
        components.close()


class _RichProgress:
    """Adapts rich's progress bar to :class:`digest.pipeline.Progress`."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def task(self, label: str, total: int) -> Callable[[int], None]:
        task_id = self.progress.add_task(label, total=total)
        return lambda n: self.progress.advance(task_id, n)


@contextmanager
def _progress() -> Iterator[_RichProgress]:
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with bar:
        yield _RichProgress(bar)


def find_edition(c: Components, name: str) -> StoredEdition:
    """``name`` or ``name/period``: the latest period when none is given."""
    edition, _, period = name.partition("/")
    stored = c.store.get_edition(edition, period) if period else c.store.latest_edition(edition)
    if stored is None:
        raise NotFoundError(f"no edition {name!r} has been built yet (try 'digest build')")
    return stored


def _report(report: RunReport) -> None:
    table = Table(title="Sources", show_lines=False)
    for column in ("source", "status", "fetched", "new", "error"):
        table.add_column(column)
    for s in report.sources:
        table.add_row(s.name, _source_status(s), str(s.fetched), str(s.new), s.error or "")
    if report.sources:
        out.print(table)
    summary = Table(title="Run summary", show_header=False)
    summary.add_column("what")
    summary.add_column("value")
    ok = sum(1 for s in report.sources if s.ok)
    rows = [
        ("sources ok / failed", f"{ok} / {len(report.sources) - ok}"),
        *_failing_sources(report),
        ("documents skipped", str(len(report.documents_skipped))),
        ("edition", report.edition or "-"),
        ("articles in edition", str(report.articles)),
        ("stories", str(report.stories)),
        ("sections", str(report.sections)),
        ("delivered", str(report.delivered)),
        ("already delivered", str(report.already_delivered)),
        ("not delivered", str(report.failed_deliveries)),
    ]
    if report.ambiguous_deliveries:
        rows.append(
            (
                "of which ambiguous",
                f"{report.ambiguous_deliveries} (may have gone out: check, then "
                "'digest send EDITION --retry-ambiguous')",
            )
        )
    if report.preview:
        rows.append(("preview", report.preview))
    if report.web_version:
        rows.append(("web version", report.web_version))
    if report.outbox:
        rows.append(("outbox", report.outbox))
    for what, value in rows:
        summary.add_row(what, value)
    out.print(summary)
    for skipped in report.documents_skipped:
        out.print(f"[yellow]skipped[/] {skipped}", markup=True, highlight=False)
    for note in report.notes:
        out.print(f"note: {note}", highlight=False)


def _source_status(s: SourceReport) -> str:
    if s.not_modified:
        return "[dim]not modified[/]"
    if s.ok:
        return "[green]ok[/]"
    if s.failure_streak >= FAILURE_STREAK_ALERT:
        return f"[bold red]failed ({s.failure_streak} runs in a row)[/]"
    return "[red]failed[/]"


def _failing_sources(report: RunReport) -> list[tuple[str, str]]:
    flagged = [s.name for s in report.sources if s.failure_streak >= FAILURE_STREAK_ALERT]
    if not flagged:
        return []
    return [(f"failing {FAILURE_STREAK_ALERT}+ runs in a row", ", ".join(flagged))]


@app.command()
def run(
    config: ConfigOption = None,
    edition: EditionOption = None,
    now: Annotated[
        datetime | None,
        typer.Option(
            "--now",
            help="Run as if it were this moment (ISO 8601; re-run a missed day). The period "
            "is derived from it in the edition's time zone.",
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
        ),
    ] = None,
) -> None:
    """One whole cycle: collect, build this period's edition, preview, deliver."""
    settings = settings_from(config)
    if now is not None:
        moment = now if now.tzinfo else now.replace(tzinfo=UTC)
        c = build_components(settings, clock=lambda: moment)
    else:
        c = build_components(settings)
    try:
        with _progress() as progress:
            report = pipeline.run(c, edition, progress)
    finally:
        c.close()
    _report(report)
    if report.failed_deliveries:
        raise typer.Exit(1)


@app.command()
def collect(config: ConfigOption = None) -> None:
    """Fetch every source and store new articles."""
    report = RunReport()
    with components_from(config) as c, _progress() as progress:
        pipeline.collect(c, report, progress)
    _report(report)


@app.command()
def build(
    config: ConfigOption = None,
    edition: EditionOption = None,
    articles: Annotated[
        Path | None, typer.Option(help="JSON Lines of articles (offline build)")
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the edition JSON here")
    ] = None,
    all_stories: Annotated[
        bool, typer.Option("--all", help="No caps: every article in one story")
    ] = False,
    html: Annotated[Path | None, typer.Option(help="Also write the email HTML")] = None,
    text: Annotated[Path | None, typer.Option(help="Also write the plain-text part")] = None,
) -> None:
    """Build an edition: from what was collected, or offline from --articles."""
    settings = settings_from(config)
    if articles is not None:
        _offline_build(settings, edition, articles, out_file, all_stories, html, text)
        return
    report = RunReport()
    c = build_components(settings)
    try:
        stored = pipeline.build(c, edition, report)
        if out_file:
            _write_json(out_file, edition_to_dict(stored.edition))
        if html or text:
            message = pipeline.preview_message(c, stored.edition)
            if html:
                pipeline.write_preview(c, stored.edition, html, message=message)
            if text:
                pipeline.write_preview(c, stored.edition, text, text=True, message=message)
    finally:
        c.close()
    _report(report)


def _offline_build(
    settings: Settings,
    edition_name: str | None,
    articles_path: Path,
    out_file: Path | None,
    all_stories: bool,
    html: Path | None,
    text: Path | None,
) -> None:
    if out_file is None:
        raise typer.BadParameter("--articles needs --out EDITION.json", param_hint="--out")
    config = settings.edition(edition_name)
    loaded = [article_from_record(record) for _, record in read_jsonl(articles_path)]
    edition = pipeline.build_edition(
        loaded, config, datetime.now(UTC), capped=not all_stories, weights=settings.source_weights
    )
    _write_json(out_file, edition_to_dict(edition))
    if html or text:
        message = build_renderer(settings).preview(edition, config.preheader, theme=config.theme)
        if html:
            html.write_text(message.html, encoding="utf-8")
        if text:
            text.write_text(message.text, encoding="utf-8")
    err.print(
        f"{len(loaded)} articles -> {len(edition.stories)} stories in "
        f"{len(edition.sections)} sections: {out_file}"
    )


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


@app.command()
def extract(
    jsonl: Annotated[Path, typer.Option(help="JSON Lines input: {id, url?, html? | text?}")],
    out_file: Annotated[Path, typer.Option("--out", help="JSON Lines output: {id, title, text}")],
    config: ConfigOption = None,
) -> None:
    """Extract title and main text of each document (offline)."""
    records = list(read_jsonl(jsonl))
    results = []
    with _progress() as progress:
        step = progress.task("Extracting", len(records))
        for _, record in records:
            results.append(extract_record(record))
            step(1)
    write_jsonl(out_file, results)
    err.print(f"{len(results)} documents -> {out_file}")


@app.command()
def preview(
    edition: Annotated[str, typer.Argument(help="Edition name, or name/period")],
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the preview")],
    text: Annotated[
        bool, typer.Option("--text", help="The plain-text part instead of HTML")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Write an edition as a subscriber would see it."""
    with components_from(config) as c:
        path = pipeline.write_preview(c, find_edition(c, edition).edition, out_file, text=text)
    out.print(f"preview written to {path}", highlight=False)


@app.command()
def send(
    edition: Annotated[str, typer.Argument(help="Edition name, or name/period")],
    config: ConfigOption = None,
    at: Annotated[
        datetime | None,
        typer.Option(
            "--at",
            help="When it is due (ISO 8601). Far enough ahead, SendGrid holds each batch "
            "until then, so an interrupted batch can be cancelled and resent exactly once.",
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S"],
        ),
    ] = None,
    retry_ambiguous: Annotated[
        bool,
        typer.Option(
            "--retry-ambiguous",
            help="Send again to subscribers whose earlier send may or may not have gone out",
        ),
    ] = False,
) -> None:
    """Deliver an edition to every subscriber who has not had it yet."""
    report = RunReport()
    due = at if at is None or at.tzinfo else at.replace(tzinfo=UTC)
    with components_from(config) as c, _progress() as progress:
        stored = find_edition(c, edition)
        pipeline.send(c, stored, report, progress, due=due, retry_ambiguous=retry_ambiguous)
    _report(report)
    if report.failed_deliveries:
        raise typer.Exit(1)


@config_app.command("check")
def config_check(config: ConfigOption = None) -> None:
    """Validate the config (and subscriber list); print it with secrets masked."""
    from digest.audience.csv_list import load_subscribers

    settings = settings_from(config)
    subscribers = load_subscribers(settings.subscribers.file)
    out.print_json(json.dumps(settings.masked(), ensure_ascii=False))
    out.print(
        f"ok: {len(settings.sources)} sources, {len(settings.editions)} editions, "
        f"{len(subscribers)} subscribers ({settings.config_path})",
        highlight=False,
    )


# The operations commands register themselves on `app` when imported.
from digest.cli import operations  # noqa: E402,F401
from digest.cli import sources as _sources  # noqa: E402,F401


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except DigestError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
