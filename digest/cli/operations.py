"""Operations commands: the delivery ledger, the web app, the scheduler, its
schedule and run history."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from digest.cli.common import ConfigOption, components_from, find_edition, out, settings_from
from digest.components import build_components
from digest.logs import configure_logging
from digest.models import Delivery

schedule_app = typer.Typer(help="Inspect the schedule.", no_args_is_help=True)


def deliveries(
    edition: Annotated[str, typer.Argument(help="Edition name, or name/period")],
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Counts as JSON")] = False,
    listed: Annotated[
        bool, typer.Option("--list", help="Every delivery: address, state, attempts, error")
    ] = False,
    state: Annotated[str | None, typer.Option(help="With --list: only this state")] = None,
) -> None:
    """Delivery counts of an edition by state (or, with --list, each delivery)."""
    with components_from(config) as c:
        stored = find_edition(c, edition)
        counts = c.store.ledger.counts(stored.id)
        rows = c.store.ledger.rows(stored.id) if listed else []
    if listed:
        _list_deliveries([r for r in rows if state is None or r.state == state], as_json)
        return
    if as_json:
        out.print_json(
            json.dumps({"edition": stored.edition.key, "status": stored.status, **counts})
        )
        return
    table = Table(title=f"Deliveries of {stored.edition.key} ({stored.status})")
    table.add_column("state")
    table.add_column("count", justify="right")
    for state, count in sorted(counts.items()):
        table.add_row(state, str(count))
    table.add_row("total", str(sum(counts.values())))
    out.print(table)


def status(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="As JSON (as /healthz answers)")] = False,
) -> None:
    """Each edition of the current period: delivered, pending, failed, ambiguous, its
    deadline and problems; and which scheduler holds the lease. Exit 1 when unhealthy."""
    from digest.scheduler.health import health

    with components_from(config) as c:
        report = health(c, c.clock())
    if as_json:
        out.print_json(json.dumps(report))
    else:
        _print_status(report)
    if not report["healthy"]:
        raise typer.Exit(1)


def _print_status(report: dict[str, object]) -> None:
    scheduler = report["scheduler"]
    assert isinstance(scheduler, dict)
    holder = scheduler["holder"] or "none (no scheduler holds the lease)"
    out.print(f"scheduler: {holder}", highlight=False)
    table = Table(title="healthy" if report["healthy"] else "UNHEALTHY")
    columns = ("edition", "status", "due", "deadline", "delivered", "pending", "failed")
    for column in (*columns, "ambiguous", "problems"):
        table.add_column(column, overflow="fold")
    editions = report["editions"]
    assert isinstance(editions, dict)
    for name, e in editions.items():
        state = "held for approval" if e["held_for_approval"] else str(e["status"] or "-")
        table.add_row(
            f"{name}/{e['period']}",
            state,
            str(e["last_due"] or "-"),
            str(e["deadline"] or "-"),
            *(str(e[k]) for k in ("delivered", "pending", "failed", "ambiguous")),
            "; ".join(e["problems"]) or "-",
        )
    out.print(table)


def _list_deliveries(rows: list[Delivery], as_json: bool) -> None:
    if as_json:
        data = [
            {"email": r.email, "state": r.state.value, "attempts": r.attempts, "error": r.error}
            for r in rows
        ]
        out.print_json(json.dumps(data))
        return
    table = Table(title=f"{len(rows)} deliveries")
    for column in ("email", "state", "attempts", "message id", "error"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            escape(r.email),
            r.state.value,
            str(r.attempts),
            r.message_id or "",
            escape(r.error or ""),
        )
    out.print(table)


def serve(
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    forwarded_allow_ips: Annotated[
        str,
        typer.Option(
            envvar="FORWARDED_ALLOW_IPS",
            help="Reverse proxies whose X-Forwarded-For/-Proto are trusted (comma-separated "
            "addresses or networks; none by default: the peer is the client)",
        ),
    ] = "",
) -> None:
    """Serve the web app: the editor's desk, subscriber pages, the archive, SendGrid's webhook."""
    import uvicorn

    from digest.web.app import create_app

    with components_from(config) as c:
        uvicorn.run(
            create_app(c),
            host=host,
            port=port,
            log_level="info",
            # Without a trusted proxy the headers are ignored: any process could
            # otherwise rotate X-Forwarded-For around the per-client limits.
            proxy_headers=bool(forwarded_allow_ips.strip()),
            forwarded_allow_ips=forwarded_allow_ips.strip() or None,
        )


def scheduler(config: ConfigOption = None) -> None:
    """Run collection and each edition on their schedules until stopped (SIGTERM).

    SIGHUP reloads the configuration. Only one scheduler runs at a time (a lease in
    the database); a second one stands by.
    """
    from digest.scheduler.service import run_scheduler

    settings = settings_from(config)
    configure_logging(settings.logging.format, settings.logging.level)
    c = build_components(settings)
    for e in settings.editions:
        out.print(f"{e.name}: '{e.schedule.cron}' in {e.schedule.timezone}", highlight=False)
    try:
        run_scheduler(c, reload=lambda: build_components(settings_from(config)))
    finally:
        c.close()


@schedule_app.command("list")
def schedule_list(
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="As JSON")] = False,
) -> None:
    """Next fire times per job: local time and UTC."""
    from digest.scheduler.plans import schedule_table

    with components_from(config) as c:
        rows = schedule_table(c, c.clock())
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table(title="Schedule")
    for column in ("job", "cron", "timezone", "next due (local)", "next due (UTC)", "fires (UTC)"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["job"],
            row["cron"],
            row["timezone"],
            row["next_due_local"],
            row["next_due_utc"],
            row["next_fire_utc"],
        )
    out.print(table)


def runs(
    config: ConfigOption = None,
    limit: Annotated[int, typer.Option(help="How many")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="As JSON")] = False,
) -> None:
    """Run history: start, end, status, counts, errors."""
    with components_from(config) as c:
        records = c.store.runs.recent(limit)
    rows = [
        {
            "id": r.id,
            "kind": r.kind,
            "edition": r.edition,
            "period": r.period,
            "started": r.started_at.isoformat(),
            "finished": r.finished_at.isoformat() if r.finished_at else None,
            "status": r.status,
            "summary": r.summary,
            "error": r.error,
        }
        for r in records
    ]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table(title="Runs")
    for column in ("id", "kind", "edition", "period", "started", "finished", "status", "counts"):
        table.add_column(column)
    for row in rows:
        counts = ", ".join(f"{k} {v}" for k, v in row["summary"].items() if v)  # type: ignore[union-attr]
        table.add_row(
            *(
                str(row[k] or "")
                for k in ("id", "kind", "edition", "period", "started", "finished")
            ),
            str(row["status"]) + (f": {row['error']}" if row["error"] else ""),
            counts,
        )
    out.print(table)
