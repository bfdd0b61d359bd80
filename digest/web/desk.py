"""The editor's desk (``/desk``): sign in, list editions, preview one exactly as
subscribers get it, change it (reorder, pin, drop, move, rewrite), approve it and
send a test. Every form carries the session's CSRF token."""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from digest import pipeline
from digest.components import Components
from digest.delivery.transport import Envelope, Recipient
from digest.editorial.edits import Edit, apply_edits, edit_for, generated_text, section_names
from digest.errors import DeliveryError, RenderError
from digest.models import Edition, RenderedMessage, RunReport, Section, Subscriber
from digest.rendering.renderer import section_groups, xml_safe
from digest.settings.config import EditionSettings, check_email
from digest.store.database import StoredEdition, edition_version
from digest.store.desk import Session
from digest.web.auth import SESSION_COOKIE, SESSION_TTL, current_session, set_session_cookie
from digest.web.pages import client_address, csrf_ok, page
from digest.web.ratelimit import RateLimiter

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]
Viewer = Callable[[Request, Session, StoredEdition], Awaitable[Response]]
Poster = Callable[[Request, Session, StoredEdition, FormData], Awaitable[Response]]

EDITABLE = ("draft", "approved")
MAX_HEADLINE = 300
MAX_SUMMARY = 2000
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
PREVIEWS_KEPT = 8
FRAMING_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def routes(c: Components) -> list[Route]:
    # All attempts per client address; failures per account and address, so that a
    # stranger's wrong guesses never lock the real editor out.
    by_address = RateLimiter(limit=10, window=15 * 60)
    failures = RateLimiter(limit=5, window=15 * 60)

    # The preview page loads the same rendering three times (two widths and the text):
    # the last few renderings are kept, keyed by the content they were made from.
    previews: dict[tuple[str, tuple[str, ...]], RenderedMessage] = {}
    previews_lock = threading.Lock()

    def preview_of(stored: StoredEdition, sections: tuple[Section, ...]) -> RenderedMessage:
        key = (edition_version(stored), tuple(s.name for s in sections))
        with previews_lock:
            if key in previews:
                return previews[key]
        message = pipeline.preview_message(c, stored.edition, sections)
        with previews_lock:
            while len(previews) >= PREVIEWS_KEPT:
                del previews[next(iter(previews))]
            previews[key] = message
        return message

    def login_page(request: Request, flash: str | None = None, status: int = 200) -> Response:
        context = {"title": "Sign in", "flash": flash, "flash_error": flash is not None}
        return page(request, "desk/login.html", context, status=status)

    async def login(request: Request) -> Response:
        if request.method == "GET":
            if current_session(c, request) is not None:
                return RedirectResponse("/desk", status_code=303)
            return login_page(request)
        form = await request.form()
        if not csrf_ok(request, form.get("csrf_token")):
            return _forbidden(request)
        email = str(form.get("email", "")).strip().lower()[:320]
        password = str(form.get("password", ""))
        address = client_address(request)
        attempt = f"{email} {address}"
        if failures.blocked(attempt) or not by_address.allow(address):
            wait = max(by_address.retry_after(address), failures.retry_after(attempt))
            response = login_page(request, "Too many attempts; try again later.", 429)
            response.headers["Retry-After"] = str(wait)
            return response
        user_id = await run_in_threadpool(c.store.editors.authenticate, email, password, c.clock())
        if user_id is None:
            failures.hit(attempt)
            log.warning("failed editor sign-in for %r from %s", email, address)
            return login_page(request, "Wrong email or password.", 400)
        token = c.store.editors.open_session(user_id, c.clock(), SESSION_TTL)
        signed_in = RedirectResponse("/desk", status_code=303)
        set_session_cookie(signed_in, request, token, base_url=c.settings.web.base_url)
        return signed_in

    async def logout(request: Request) -> Response:
        session = current_session(c, request)
        form = await request.form()
        if session is None or not csrf_ok(request, form.get("csrf_token"), session.csrf):
            return _forbidden(request)
        c.store.editors.close_session(request.cookies[SESSION_COOKIE])
        response = RedirectResponse("/desk/login", status_code=303)
        set_session_cookie(response, request, None)
        return response

    def viewing(handler: Viewer) -> Endpoint:
        """A page of one edition: signed in, the edition exists."""

        async def endpoint(request: Request) -> Response:
            session = current_session(c, request)
            if session is None:
                return RedirectResponse("/desk/login", status_code=303)
            stored = _edition(c, request)
            if stored is None:
                return _not_found(request)
            return await handler(request, session, stored)

        return endpoint

    def posting(handler: Poster) -> Endpoint:
        """A form about one edition: signed in, the session's CSRF token, the edition exists."""

        async def endpoint(request: Request) -> Response:
            session = current_session(c, request)
            if session is None:  # before reading any form: strangers cost nothing
                return _forbidden(request)
            form = await request.form()
            if not csrf_ok(request, form.get("csrf_token"), session.csrf):
                return _forbidden(request)
            stored = _edition(c, request)
            if stored is None:
                return _not_found(request)
            return await handler(request, session, stored, form)

        return endpoint

    async def editions(request: Request) -> Response:
        session = current_session(c, request)
        if session is None:
            return RedirectResponse("/desk/login", status_code=303)
        listed = c.store.list_editions()
        counts = c.store.ledger.counts_of([stored.id for stored in listed])
        rows = [{"stored": stored, "counts": counts.get(stored.id, {})} for stored in listed]
        held = {e.name for e in c.settings.editions if e.requires_approval}
        return _desk(request, session, "desk/editions.html", {"rows": rows, "held": held})

    @viewing
    async def edition(request: Request, session: Session, stored: StoredEdition) -> Response:
        config = pipeline.edition_config(c, stored.edition.name)
        edits = c.store.edits.all(stored.id)
        dropped = [
            (key, edit) for key, edit in edits.items() if edit.get("dropped") and "story" in edit
        ]
        counts = c.store.ledger.counts(stored.id)
        context = {
            "stored": stored,
            "edition": stored.edition,
            "version": edition_version(stored),
            "groups": _labels(_groups(c, stored.edition)),
            "editable": stored.status in EDITABLE,
            "edits": edits,
            "dropped": dropped,
            "sections": section_names(config, stored.edition),
            "counts": counts,
            "suppressed": c.store.ledger.suppressed_since(stored.id),
            "requires_approval": config.requires_approval,
            "rebuildable": stored.status == "draft"
            and stored.edition.period == pipeline.local_period(c.clock(), config.schedule.timezone),
            "flash": MESSAGES.get(request.query_params.get("done", "")),
        }
        return _desk(request, session, "desk/edition.html", context)

    @viewing
    async def preview(request: Request, session: Session, stored: StoredEdition) -> Response:
        groups = _groups(c, stored.edition)
        shown = _group_index(request.query_params.get("as", "0"), groups)
        context = {
            "stored": stored,
            "edition": stored.edition,
            "groups": _labels(groups),
            "shown": shown,
        }
        response = _desk(request, session, "desk/preview.html", context)
        response.headers["Content-Security-Policy"] = FRAMING_CSP
        return response

    @viewing
    async def email(request: Request, session: Session, stored: StoredEdition) -> Response:
        if request.path_params["part"] not in ("html", "txt"):
            return _not_found(request)
        groups = _groups(c, stored.edition)
        index = _group_index(request.query_params.get("as", "0"), groups)
        try:
            message = await run_in_threadpool(preview_of, stored, groups[index])
        except RenderError as exc:
            return PlainTextResponse(f"cannot render: {exc}", status_code=500)
        if request.path_params["part"] == "txt":
            response: Response = PlainTextResponse(message.text)
        else:
            response = Response(message.html, media_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = PREVIEW_CSP
        return response

    @posting
    async def story_action(
        request: Request, session: Session, stored: StoredEdition, form: FormData
    ) -> Response:
        if stored.status not in EDITABLE:
            return _conflict(request, stored)
        key = request.path_params["story"]
        config = pipeline.edition_config(c, stored.edition.name)
        edits = c.store.edits.all(stored.id)
        changes = _change(stored.edition, edits, key, form, config)
        if changes is None:
            return _problem(request, session, stored, "That change is not possible.")
        merged = {**edits, **changes}
        base = generated_text(stored.edition, edits)
        changed, _ = apply_edits(base, merged, section_names(config, stored.edition))
        # The edition may have started sending since it was read: then nothing changes.
        if not c.store.reopen(stored.id) or c.store.save_draft(changed).status != "draft":
            return _conflict(request, stored)
        c.store.edits.save(stored.id, changes, session.email, c.clock())
        return _back(stored, "saved", anchor=f"story-{key}")

    @posting
    async def approve(
        request: Request, session: Session, stored: StoredEdition, form: FormData
    ) -> Response:
        version = str(form.get("version", ""))
        if not c.store.approve(stored.id, session.email, c.clock(), version):
            return _conflict(request, stored)
        log.info("edition %s approved by %s", stored.edition.key, session.email)
        return _back(stored, "approved")

    @posting
    async def reopen(
        request: Request, session: Session, stored: StoredEdition, form: FormData
    ) -> Response:
        if stored.status != "approved" or not c.store.reopen(stored.id):
            return _conflict(request, stored)
        return _back(stored, "reopened")

    @posting
    async def rebuild(
        request: Request, session: Session, stored: StoredEdition, form: FormData
    ) -> Response:
        config = pipeline.edition_config(c, stored.edition.name)
        today = pipeline.local_period(c.clock(), config.schedule.timezone)
        if stored.status != "draft" or stored.edition.period != today:
            return _conflict(request, stored)
        await run_in_threadpool(pipeline.build, c, stored.edition.name, RunReport())
        return _back(stored, "rebuilt")

    @posting
    async def send_test(
        request: Request, session: Session, stored: StoredEdition, form: FormData
    ) -> Response:
        try:
            address = check_email(str(form.get("email", "")).strip())
        except ValueError as exc:
            return _problem(request, session, stored, f"Not an email address: {exc}")
        try:
            groups = _groups(c, stored.edition)
            chosen = groups[_group_index(str(form.get("as", "0")), groups)]
            await run_in_threadpool(_send_test, c, stored.edition, address, chosen)
        except (DeliveryError, RenderError) as exc:
            return _problem(request, session, stored, f"The test was not sent: {exc}")
        log.info("test of %s sent to %s by %s", stored.edition.key, address, session.email)
        return _back(stored, "tested")

    def _problem(request: Request, session: Session, stored: StoredEdition, text: str) -> Response:
        return _desk(
            request,
            session,
            "desk/problem.html",
            {"stored": stored, "flash": text, "flash_error": True},
            status=400,
        )

    return [
        Route("/desk/login", login, methods=["GET", "POST"]),
        Route("/desk/logout", logout, methods=["POST"]),
        Route("/desk", editions),
        Route("/desk/editions/{id:int}", edition),
        Route("/desk/editions/{id:int}/preview", preview),
        Route("/desk/editions/{id:int}/email.{part:str}", email),
        Route("/desk/editions/{id:int}/stories/{story:str}", story_action, methods=["POST"]),
        Route("/desk/editions/{id:int}/approve", approve, methods=["POST"]),
        Route("/desk/editions/{id:int}/reopen", reopen, methods=["POST"]),
        Route("/desk/editions/{id:int}/rebuild", rebuild, methods=["POST"]),
        Route("/desk/editions/{id:int}/test", send_test, methods=["POST"]),
    ]


def _change(
    edition: Edition,
    edits: dict[str, Edit],
    key: str,
    form: Any,
    config: EditionSettings,
) -> dict[str, Edit] | None:
    """The edit objects one form changes, or None when the change makes no sense."""
    action = str(form.get("action", ""))
    stories = {story.id: story for story in edition.stories}
    home = next((s.name for s in edition.sections for st in s.stories if st.id == key), None)
    if action == "restore":
        edit = dict(edits.get(key, {}))
        if not edit.pop("dropped", False):
            return None
        edit["restore"] = True
        return {key: edit}
    story = stories.get(key)
    if story is None or home is None:
        return None
    edit = edit_for(story, home, edits.get(key))
    if action in ("up", "down"):
        section = next(s for s in edition.sections if s.name == home)
        order = [st.id for st in section.stories]
        i = order.index(key)
        j = i - 1 if action == "up" else i + 1
        if not 0 <= j < len(order):
            return None
        order[i], order[j] = order[j], order[i]
        changes = {}
        for position, story_id in enumerate(order):
            other = (
                edit if story_id == key else edit_for(stories[story_id], home, edits.get(story_id))
            )
            other["position"] = position
            changes[story_id] = other
        return changes
    if action == "pin":
        edit["pinned"] = True
    elif action == "unpin":
        edit.pop("pinned", None)
    elif action == "drop":
        edit["dropped"] = True
        edit.setdefault("section", home)
        edit.pop("pinned", None)
    elif action == "move":
        target = str(form.get("section", ""))
        if target not in section_names(config, edition) or target == home:
            return None
        edit["section"] = target
        edit.pop("position", None)
    elif action == "text":
        for field, limit in (("headline", MAX_HEADLINE), ("summary", MAX_SUMMARY)):
            value = " ".join(xml_safe(str(form.get(field, ""))).split())[:limit]
            generated = edit["story"][field]
            if value and value != generated:
                edit[field] = value
            else:
                edit.pop(field, None)
    else:
        return None
    return {key: edit}


def _edition(c: Components, request: Request) -> StoredEdition | None:
    edition_id = int(request.path_params["id"])
    return c.store.edition_by_id(edition_id) if edition_id < 2**31 else None


def _groups(c: Components, edition: Edition) -> list[tuple[Section, ...]]:
    """The section combinations the edition goes out in: every section first, then
    each distinct choice among active subscribers (as the delivery renders them)."""
    return section_groups(edition, [(), *c.store.subscribers.topic_choices()])


def _labels(groups: list[tuple[Section, ...]]) -> list[str]:
    return [", ".join(s.name for s in group) for group in groups]


def _group_index(value: str, groups: list[tuple[Section, ...]]) -> int:
    """``as=N``: which combination to show or send; anything else: every section."""
    valid = value.isascii() and value.isdigit() and len(value) <= 4
    return int(value) if valid and int(value) < len(groups) else 0


def _send_test(
    c: Components, edition: Edition, address: str, sections: tuple[Section, ...]
) -> None:
    """The edition as a group of subscribers gets it (``sections``), to one address,
    outside the ledger."""
    config = pipeline.edition_config(c, edition.name)
    rendered = c.renderer.render(edition, sections, preheader=config.preheader, theme=config.theme)
    rendered = replace(
        rendered, subject=f"[Test] {rendered.subject}", edition_key=f"{edition.key}-test"
    )
    key = c.signing_key()
    recipient = Recipient(
        delivery_id=0,
        subscriber=Subscriber(email=address),
        unsubscribe_url=pipeline.unsubscribe_url(c, key, address),
        preferences_url=pipeline.preferences_url(c, key, address),
    )
    c.transport.send(Envelope(rendered, (recipient,)))


def _desk(
    request: Request,
    session: Session,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> Response:
    values = {"editor": session.email, "csrf_token": session.csrf, **context}
    return page(request, template, values, status=status)


def _back(stored: StoredEdition, done: str, anchor: str = "") -> Response:
    url = f"/desk/editions/{stored.id}?done={done}" + (f"#{anchor}" if anchor else "")
    return RedirectResponse(url, status_code=303)


def _message(request: Request, title: str, text: str, status: int) -> Response:
    return page(request, "desk/message.html", {"title": title, "message": text}, status=status)


def _forbidden(request: Request) -> Response:
    return _message(request, "Not allowed", "Sign in again and retry (the form had expired).", 403)


def _not_found(request: Request) -> Response:
    return _message(request, "Not found", "No such edition.", 404)


def _conflict(request: Request, stored: StoredEdition) -> Response:
    text = f"Edition {stored.edition.key} is {stored.status}: not possible now."
    return _message(request, "Not possible now", text, 409)
