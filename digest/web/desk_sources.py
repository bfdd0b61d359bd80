"""The desk's sources page (``/desk/sources``): each configured source's health, as
``digest sources status`` shows it (``store.health``): the last fetch and its status,
what became of the items it last listed, the last success and failure, the failures
in a row and the last error. Read only; signed-in editors only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from digest.cleaning.text import cut_at_word, one_line
from digest.settings.sources import SourceSettings
from digest.store.health import FAILURE_STREAK_ALERT, SourceHealth, describe_counts
from digest.web.auth import current_session
from digest.web.desk import desk_page
from digest.web.state import web

ERROR_SHOWN = 500  # characters of the last error; the CLI's history has it whole
STATUS_LABELS = {"ok": "ok", "not_modified": "not modified", "failed": "failed"}


async def sources_page(request: Request) -> Response:
    c = web(request).c
    session = current_session(c, request)
    if session is None:
        return RedirectResponse("/desk/login", status_code=303)
    configured = {s.name: s for s in c.settings.sources}
    health = await run_in_threadpool(c.store.health.status, configured)
    rows = [source_row(configured[h.source], h) for h in health]
    context = {
        "rows": rows,
        "flagged": [row["name"] for row in rows if row["flagged"]],
        "alert": FAILURE_STREAK_ALERT,
    }
    return desk_page(request, session, "desk/sources.html", context)


def source_row(source: SourceSettings, h: SourceHealth) -> dict[str, Any]:
    """What the page shows of one source; texts from the database capped (the page
    escapes them)."""
    status = h.last_status
    return {
        "name": source.name,
        "kind": source.kind,
        "location": cut_at_word(one_line(source.location), 200),
        "enabled": source.enabled,
        "status": status or "never",
        "status_label": STATUS_LABELS.get(status or "", status or "never fetched"),
        "last_fetch": _when(h.last_fetch),
        "last_success": _when(h.last_success),
        "last_failure": _when(h.last_failure),
        "streak": h.failure_streak,
        "flagged": h.flagged,
        "error": cut_at_word(one_line(h.last_error), ERROR_SHOWN) if h.last_error else "",
        "counts": describe_counts(h.last_counts) if h.last_counts else "",
        "fetches": h.fetches,
    }


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "-"
