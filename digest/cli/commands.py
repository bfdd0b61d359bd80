"""The pipeline commands: run, collect, build, extract, preview, send, and the
editor's approve and test send."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from digest import pipeline
from digest.cli.common import (
    ConfigOption,
    EditionOption,
    components_from,
    err,
    find_edition,
    out,
    progress_bar,
    settings_from,
    write_json,
)
from digest.cli.report import print_report
from digest.cli.signals import STOPPED_EXIT_CODE, stop_on_signals
from digest.components import build_components, build_renderer
from digest.editorial import actions
from digest.errors import EditionBusy, NotFoundError
from digest.models import RunReport
from digest.rendering.outputs import preview_message, write_preview
from digest.serialise import edition_to_dict
from digest.settings.config import Settings
from digest.settings.fields import check_email
from digest.sources.jsonl import article_from_record, extract_record, read_jsonl, write_jsonl
from digest.store.editions import edition_version


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
    """One whole cycle: collect, build this period's edition, preview, deliver.

    Exit codes: 0 everyone delivered, 1 some deliveries not done (failed, ambiguous),
    2 a configuration or input error, 3 another live process holds the edition
    (skipped; it says which and until when), 4 stopped on request (SIGTERM, SIGINT)
    after the batch in flight, the rest pending.
    """
    settings = settings_from(config)
    if now is not None:
        moment = now if now.tzinfo else now.replace(tzinfo=UTC)
        c = build_components(settings, clock=lambda: moment)
    else:
        c = build_components(settings)
    try:
        with stop_on_signals(c.stop), progress_bar() as progress:
            report = pipeline.run(c, edition, progress)
    finally:
        c.close()
    print_report(report)
    if report.skipped:
        err.print(f"[bold yellow]skipped:[/] {report.notes[-1]}", highlight=False, soft_wrap=True)
        raise typer.Exit(EditionBusy.exit_code)
    _exit(report, c.stop.is_set())


def _exit(report: RunReport, stopped: bool) -> None:
    """The exit code of a run or send that was not skipped."""
    if stopped and report.failed_deliveries:
        err.print(
            f"stopped on request: the batch in flight was finished; "
            f"{report.failed_deliveries} deliveries not done, for the next run or the "
            "scheduler's catch-up",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(STOPPED_EXIT_CODE)
    if report.failed_deliveries:
        raise typer.Exit(1)


def collect(config: ConfigOption = None) -> None:
    """Fetch every source and store new articles."""
    report = RunReport()
    with components_from(config) as c, progress_bar() as progress:
        pipeline.collect(c, report, progress)
    print_report(report)


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
            write_json(out_file, edition_to_dict(stored.edition))
        if html or text:
            message = preview_message(c.renderer, c.settings, stored.edition)
            if html:
                write_preview(c.renderer, c.settings, stored.edition, html, message=message)
            if text:
                write_preview(
                    c.renderer, c.settings, stored.edition, text, text=True, message=message
                )
    finally:
        c.close()
    print_report(report)


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
        loaded,
        config,
        datetime.now(UTC),
        capped=not all_stories,
        weights=settings.source_weights,
        stories=settings.stories,
        summaries=settings.summaries,
        locales=settings.locales_dir,
    )
    write_json(out_file, edition_to_dict(edition))
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


def extract(
    jsonl: Annotated[Path, typer.Option(help="JSON Lines input: {id, url?, html? | text?}")],
    out_file: Annotated[Path, typer.Option("--out", help="JSON Lines output: {id, title, text}")],
    config: ConfigOption = None,
) -> None:
    """Extract title and main text of each document (offline)."""
    records = list(read_jsonl(jsonl))
    results = []
    with progress_bar() as progress:
        step = progress.task("Extracting", len(records))
        for _, record in records:
            results.append(extract_record(record))
            step(1)
    write_jsonl(out_file, results)
    err.print(f"{len(results)} documents -> {out_file}")


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
        stored = find_edition(c, edition)
        path = write_preview(c.renderer, c.settings, stored.edition, out_file, text=text)
    out.print(f"preview written to {path}", highlight=False)


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
    """Deliver an edition to every subscriber who has not had it yet.

    Exit codes as `digest run`'s."""
    report = RunReport()
    due = at if at is None or at.tzinfo else at.replace(tzinfo=UTC)
    with components_from(config) as c, stop_on_signals(c.stop), progress_bar() as progress:
        stored = find_edition(c, edition)
        pipeline.send_stored(c, stored, report, progress, due=due, retry_ambiguous=retry_ambiguous)
    print_report(report)
    _exit(report, c.stop.is_set())


def approve(
    edition: Annotated[str, typer.Argument(help="Edition name, or name/period")],
    config: ConfigOption = None,
    editor: Annotated[str, typer.Option(help="Who approves (kept with the edition)")] = "cli",
) -> None:
    """Approve a draft held for approval (as on the desk): it goes out at its time."""
    with components_from(config) as c:
        stored = find_edition(c, edition)
        if not actions.approve(c, stored, editor, edition_version(stored)):
            raise NotFoundError(f"edition {stored.edition.key} is {stored.status}: not approved")
    out.print(f"edition {stored.edition.key} approved", highlight=False)


def test_send(
    edition: Annotated[str, typer.Argument(help="Edition name, or name/period")],
    to: Annotated[str, typer.Option("--to", help="The address the test goes to")],
    config: ConfigOption = None,
) -> None:
    """Send the edition once to one address, outside the ledger, "[Test]" in the subject."""
    try:
        address = check_email(to)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--to") from None
    with components_from(config) as c:
        stored = find_edition(c, edition)
        actions.send_test(c, stored.edition, address, stored.edition.sections)
    out.print(f"test of {stored.edition.key} sent to {address}", highlight=False)
