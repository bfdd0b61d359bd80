"""The desk's forms about one edition: change a story, approve or take the approval
back, rebuild, send a test. Each checks the session, its CSRF token and the edition
before the action (``digest.editorial.actions``) runs."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from digest.editorial import actions
from digest.errors import DeliveryError, RenderError
from digest.settings.fields import check_email
from digest.store.desk import Session
from digest.store.editions import StoredEdition
from digest.web.auth import current_session
from digest.web.desk import (
    Endpoint,
    conflict,
    desk_page,
    edition_of,
    forbidden,
    group_index,
    groups_of,
    not_found,
)
from digest.web.pages import csrf_ok
from digest.web.state import web

log = logging.getLogger(__name__)

Poster = Callable[[Request, Session, StoredEdition, FormData], Awaitable[Response]]


def posting(handler: Poster) -> Endpoint:
    """A form about one edition: signed in, the session's CSRF token, the edition exists."""

    async def endpoint(request: Request) -> Response:
        c = web(request).c
        session = current_session(c, request)
        if session is None:  # before reading any form: strangers cost nothing
            return forbidden(request)
        form = await request.form()
        if not csrf_ok(request, form.get("csrf_token"), session.csrf):
            return forbidden(request)
        stored = edition_of(c, request)
        if stored is None:
            return not_found(request)
        return await handler(request, session, stored, form)

    return endpoint


@posting
async def story_action(
    request: Request, session: Session, stored: StoredEdition, form: FormData
) -> Response:
    key = request.path_params["story"]
    change = actions.StoryChange(
        action=str(form.get("action", "")),
        section=str(form.get("section", "")),
        headline=str(form.get("headline", "")),
        summary=str(form.get("summary", "")),
    )
    outcome = actions.change_story(web(request).c, stored, key, change, session.email)
    if outcome is actions.Outcome.IMPOSSIBLE:
        return _problem(request, session, stored, "That change is not possible.")
    if outcome is actions.Outcome.CONFLICT:
        return conflict(request, stored)
    return _back(stored, "saved", anchor=f"story-{key}")


@posting
async def approve(
    request: Request, session: Session, stored: StoredEdition, form: FormData
) -> Response:
    version = str(form.get("version", ""))
    if not actions.approve(web(request).c, stored, session.email, version):
        return conflict(request, stored)
    log.info("edition %s approved by %s", stored.edition.key, session.email)
    return _back(stored, "approved")


@posting
async def reopen(
    request: Request, session: Session, stored: StoredEdition, form: FormData
) -> Response:
    if not actions.reopen(web(request).c, stored):
        return conflict(request, stored)
    return _back(stored, "reopened")


@posting
async def rebuild(
    request: Request, session: Session, stored: StoredEdition, form: FormData
) -> Response:
    if not await run_in_threadpool(actions.rebuild, web(request).c, stored):
        return conflict(request, stored)
    return _back(stored, "rebuilt")


@posting
async def send_test(
    request: Request, session: Session, stored: StoredEdition, form: FormData
) -> Response:
    c = web(request).c
    try:
        address = check_email(str(form.get("email", "")).strip())
    except ValueError as exc:
        return _problem(request, session, stored, f"Not an email address: {exc}")
    try:
        groups = groups_of(c, stored.edition)
        chosen = groups[group_index(str(form.get("as", "0")), groups)]
        await run_in_threadpool(actions.send_test, c, stored.edition, address, chosen)
    except (DeliveryError, RenderError) as exc:
        return _problem(request, session, stored, f"The test was not sent: {exc}")
    log.info("test of %s sent to %s by %s", stored.edition.key, address, session.email)
    return _back(stored, "tested")


def _problem(request: Request, session: Session, stored: StoredEdition, text: str) -> Response:
    context = {"stored": stored, "flash": text, "flash_error": True}
    return desk_page(request, session, "desk/problem.html", context, status=400)


def _back(stored: StoredEdition, done: str, anchor: str = "") -> Response:
    url = f"/desk/editions/{stored.id}?done={done}" + (f"#{anchor}" if anchor else "")
    return RedirectResponse(url, status_code=303)
