"""The desk's subscribers pages: ``/desk/subscribers`` (search, filter by edition and
status, counts per edition, keyset paging: fast at 100,000) and one subscriber's page
(subscriptions, status, last deliveries, webhook events) with unsubscribe, suppress
and erase: each a POST with the session's CSRF token, then a confirmation step."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from digest.audience.erasing import erase
from digest.audience.suppressing import suppress
from digest.audience.unsubscribing import unsubscribe
from digest.components import Components
from digest.models import SubscriberStatus
from digest.store.subscriber_list import PAGE, Filters, detail, editions_cell
from digest.web.auth import current_session
from digest.web.desk import desk_page, forbidden, not_found
from digest.web.pages import csrf_ok
from digest.web.state import web

ACTIONS = {
    "unsubscribe": "Unsubscribe from every newsletter",
    "suppress": "Suppress: never send to this address again",
    "erase": "Erase: delete the address, name and preferences everywhere",
}


def _int(value: str | None) -> int:
    return int(value) if value and value.isdigit() and len(value) < 12 else 0


async def subscribers_page(request: Request) -> Response:
    c = web(request).c
    session = current_session(c, request)
    if session is None:
        return RedirectResponse("/desk/login", status_code=303)
    names = [e.name for e in c.settings.editions]
    edition = request.query_params.get("edition") or None
    status = request.query_params.get("status") or None
    if edition not in (None, *names) or status not in (None, *(s.value for s in SubscriberStatus)):
        return not_found(request)
    search = (request.query_params.get("q") or "")[:320] or None
    filters = Filters(edition, status, search)
    after = _int(request.query_params.get("after"))
    listing = c.store.subscriber_list
    page = await run_in_threadpool(listing.page, filters, after, PAGE + 1)
    rows = [
        {
            "id": x.id,
            "email": x.email,
            "name": x.name,
            "status": x.status,
            "editions": editions_cell(x.rows, names) or "-",
        }
        for x in page[:PAGE]
    ]
    context: dict[str, Any] = {
        "rows": rows,
        "next": page[PAGE - 1].id if len(page) > PAGE else None,
        "counts": await run_in_threadpool(c.store.subscriptions.counts, names),
        "total": await run_in_threadpool(listing.count, filters),
        "editions": names,
        "statuses": [s.value for s in SubscriberStatus],
        "edition": edition or "",
        "status": status or "",
        "q": search or "",
    }
    return desk_page(request, session, "desk/subscribers.html", context)


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


async def subscriber_page(request: Request) -> Response:
    c = web(request).c
    session = current_session(c, request)
    if session is None:
        return RedirectResponse("/desk/login", status_code=303)
    found = await run_in_threadpool(detail, c.store.engine, _int(request.path_params["id"]))
    if found is None:
        return not_found(request)
    person = found.listed
    names = [e.name for e in c.settings.editions]
    context = {
        "person": person,
        "subscriptions": sorted(person.rows.items()),
        "editions": editions_cell(person.rows, names) or "none",
        "deliveries": [(k, s, e[:200], _when(w)) for k, s, e, w in found.deliveries],
        "events": [(k, _when(w)) for k, w in found.events],
        "actions": ACTIONS,
        "confirm": None,
        "done": request.query_params.get("done", "")[:40],
    }
    return desk_page(request, session, "desk/subscriber.html", context)


def _act(c: Components, email: str, action: str) -> str:
    if action == "unsubscribe":
        unsubscribe(c.store, email, None, c.clock(), "the desk")
        return "unsubscribed"
    if action == "suppress":
        suppress(c.store, email, "the desk", c.clock())
        return "suppressed"
    return erase(c, email).describe()


async def subscriber_action(request: Request) -> Response:
    c = web(request).c
    session = current_session(c, request)
    if session is None:
        return forbidden(request)
    form = await request.form()
    if not csrf_ok(request, form.get("csrf_token"), session.csrf):
        return forbidden(request)
    action = request.path_params["action"]
    found = await run_in_threadpool(detail, c.store.engine, _int(request.path_params["id"]))
    if found is None or action not in ACTIONS:
        return not_found(request)
    if form.get("confirm") != "yes":
        context = {"person": found.listed, "action": action, "label": ACTIONS[action]}
        return desk_page(request, session, "desk/subscriber_confirm.html", context)
    said = await run_in_threadpool(_act, c, found.listed.email, action)
    if action == "erase":
        context = {"person": None, "said": said}
        return desk_page(request, session, "desk/subscriber_confirm.html", context)
    return RedirectResponse(f"/desk/subscribers/{found.listed.id}?done={action}", 303)
