"""The editor's desk (``/desk``): sign in, list editions, look at one and preview it
exactly as subscribers get it. The forms that change an edition are in
``web.desk_forms``; every form carries the session's CSRF token."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from digest.components import Components
from digest.editorial.actions import EDITABLE, is_rebuildable
from digest.editorial.edits import NO_EDIT, section_names
from digest.errors import RenderError
from digest.models import Edition, Section
from digest.rendering.groups import section_groups
from digest.rendering.outputs import preview_message
from digest.sections.assign import fallback_section
from digest.store.desk import Session
from digest.store.editions import StoredEdition, edition_version
from digest.web.auth import SESSION_COOKIE, SESSION_TTL, current_session, set_session_cookie
from digest.web.pages import client_address, csrf_ok, page
from digest.web.state import web

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]
Viewer = Callable[[Request, Session, StoredEdition], Awaitable[Response]]

# What a redirect may say on the next page: fixed texts, never one from the URL.
MESSAGES = {
    "saved": "Saved.",
    "approved": "Approved. It goes out at its scheduled time.",
    "reopened": "Back to draft: approve it again when it is ready.",
    "rebuilt": "Rebuilt from the latest articles; your changes were kept.",
    "tested": "Test sent.",
}
PREVIEW_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src https: http: data:; "
    "frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox"
)
FRAMING_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


# -- signing in ------------------------------------------------------------------------


def _login_page(request: Request, flash: str | None = None, status: int = 200) -> Response:
    context = {"title": "Sign in", "flash": flash, "flash_error": flash is not None}
    return page(request, "desk/login.html", context, status=status)


async def login(request: Request) -> Response:
    state = web(request)
    c = state.c
    if request.method == "GET":
        if current_session(c, request) is not None:
            return RedirectResponse("/desk", status_code=303)
        return _login_page(request)
    form = await request.form()
    if not csrf_ok(request, form.get("csrf_token")):
        return forbidden(request)
    email = str(form.get("email", "")).strip().lower()[:320]
    password = str(form.get("password", ""))
    address = client_address(request)
    attempt = f"{email} {address}"
    if state.login_failures.blocked(attempt) or not state.logins.allow(address):
        wait = max(state.logins.retry_after(address), state.login_failures.retry_after(attempt))
        response = _login_page(request, "Too many attempts; try again later.", 429)
        response.headers["Retry-After"] = str(wait)
        return response
    user_id = await run_in_threadpool(c.store.editors.authenticate, email, password, c.clock())
    if user_id is None:
        state.login_failures.hit(attempt)
        log.warning("failed editor sign-in for %r from %s", email, address)
        return _login_page(request, "Wrong email or password.", 400)
    token = c.store.editors.open_session(user_id, c.clock(), SESSION_TTL)
    signed_in = RedirectResponse("/desk", status_code=303)
    set_session_cookie(signed_in, request, token, base_url=c.settings.web.base_url)
    return signed_in


async def logout(request: Request) -> Response:
    c = web(request).c
    session = current_session(c, request)
    form = await request.form()
    if session is None or not csrf_ok(request, form.get("csrf_token"), session.csrf):
        return forbidden(request)
    c.store.editors.close_session(request.cookies[SESSION_COOKIE])
    response = RedirectResponse("/desk/login", status_code=303)
    set_session_cookie(response, request, None)
    return response


# -- pages -----------------------------------------------------------------------------


def viewing(handler: Viewer) -> Endpoint:
    """A page of one edition: signed in, the edition exists."""

    async def endpoint(request: Request) -> Response:
        c = web(request).c
        session = current_session(c, request)
        if session is None:
            return RedirectResponse("/desk/login", status_code=303)
        stored = edition_of(c, request)
        if stored is None:
            return not_found(request)
        return await handler(request, session, stored)

    return endpoint


async def editions(request: Request) -> Response:
    c = web(request).c
    session = current_session(c, request)
    if session is None:
        return RedirectResponse("/desk/login", status_code=303)
    listed = c.store.editions.recent()
    counts = c.store.ledger.counts_of([stored.id for stored in listed])
    rows = [{"stored": stored, "counts": counts.get(stored.id, {})} for stored in listed]
    held = {e.name for e in c.settings.editions if e.requires_approval}
    return desk_page(request, session, "desk/editions.html", {"rows": rows, "held": held})


@viewing
async def edition(request: Request, session: Session, stored: StoredEdition) -> Response:
    c = web(request).c
    config = c.settings.edition_or_default(stored.edition.name)
    edits = c.store.edits.all(stored.id)
    dropped = [(key, edit) for key, edit in edits.items() if edit.dropped and edit.story]
    context = {
        "stored": stored,
        "edition": stored.edition,
        "version": edition_version(stored),
        "groups": _labels(groups_of(c, stored.edition)),
        "editable": stored.status in EDITABLE,
        "edits": edits,
        "no_edit": NO_EDIT,
        "dropped": dropped,
        "sections": section_names(
            config, stored.edition, fallback_section(config, c.messages(config.language))
        ),
        "counts": c.store.ledger.counts(stored.id),
        "suppressed": c.store.ledger.suppressed_since(stored.id),
        "requires_approval": config.requires_approval,
        "rebuildable": is_rebuildable(c, stored),
        "flash": MESSAGES.get(request.query_params.get("done", "")),
    }
    return desk_page(request, session, "desk/edition.html", context)


@viewing
async def preview(request: Request, session: Session, stored: StoredEdition) -> Response:
    groups = groups_of(web(request).c, stored.edition)
    shown = group_index(request.query_params.get("as", "0"), groups)
    context = {
        "stored": stored,
        "edition": stored.edition,
        "groups": _labels(groups),
        "shown": shown,
    }
    response = desk_page(request, session, "desk/preview.html", context)
    response.headers["Content-Security-Policy"] = FRAMING_CSP
    return response


@viewing
async def email(request: Request, session: Session, stored: StoredEdition) -> Response:
    state = web(request)
    c = state.c
    if request.path_params["part"] not in ("html", "txt"):
        return not_found(request)
    groups = groups_of(c, stored.edition)
    chosen = groups[group_index(request.query_params.get("as", "0"), groups)]
    key = (edition_version(stored), tuple(s.name for s in chosen))
    try:
        message = await run_in_threadpool(
            state.previews.get,
            key,
            lambda: preview_message(c.renderer, c.settings, stored.edition, chosen),
        )
    except RenderError as exc:
        return PlainTextResponse(f"cannot render: {exc}", status_code=500)
    if request.path_params["part"] == "txt":
        response: Response = PlainTextResponse(message.text)
    else:
        response = Response(message.html, media_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = PREVIEW_CSP
    return response


# -- shared by the desk's pages and forms ---------------------------------------------


def edition_of(c: Components, request: Request) -> StoredEdition | None:
    edition_id = int(request.path_params["id"])
    return c.store.editions.by_id(edition_id) if edition_id < 2**31 else None


def groups_of(c: Components, edition: Edition) -> list[tuple[Section, ...]]:
    """The section combinations the edition goes out in: every section first, then
    each distinct choice among active subscribers (as the delivery renders them)."""
    return section_groups(edition, [(), *c.store.subscribers.topic_choices()])


def _labels(groups: list[tuple[Section, ...]]) -> list[str]:
    return [", ".join(s.name for s in group) for group in groups]


def group_index(value: str, groups: list[tuple[Section, ...]]) -> int:
    """``as=N``: which combination to show or send; anything else: every section."""
    valid = value.isascii() and value.isdigit() and len(value) <= 4
    return int(value) if valid and int(value) < len(groups) else 0


def desk_page(
    request: Request,
    session: Session,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> Response:
    values = {"editor": session.email, "csrf_token": session.csrf, **context}
    return page(request, template, values, status=status)


def _message(request: Request, title: str, text: str, status: int) -> Response:
    return page(request, "desk/message.html", {"title": title, "message": text}, status=status)


def forbidden(request: Request) -> Response:
    return _message(request, "Not allowed", "Sign in again and retry (the form had expired).", 403)


def not_found(request: Request) -> Response:
    return _message(request, "Not found", "No such edition.", 404)


def conflict(request: Request, stored: StoredEdition) -> Response:
    text = f"Edition {stored.edition.key} is {stored.status}: not possible now."
    return _message(request, "Not possible now", text, 409)
