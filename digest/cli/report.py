"""The summary tables a run, a collection or a send ends with."""

from __future__ import annotations

from rich.table import Table

from digest.cli.common import out
from digest.models import RunReport, SourceReport
from digest.store.health import FAILURE_STREAK_ALERT, describe_counts


def print_report(report: RunReport) -> None:
    table = Table(title="Sources", show_lines=False)
    for column in ("source", "status", "items", "error"):
        table.add_column(column)
    for s in report.sources:
        items = describe_counts(s.counts) if s.ok and not s.not_modified else ""
        table.add_row(s.name, _source_status(s), items, s.error or "")
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
