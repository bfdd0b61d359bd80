"""Sign-up with double opt-in: the form, the confirmation mail, the confirm page.

The answer is the same whether or not the address is known and whether or not a
mail went out (the per-address limit): nothing to learn about anyone."""

from __future__ import annotations

import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from digest.audience.people import MAX_NAME, clean_name
from digest.audience.signup import SIGNUP_TTL, SignUp, confirm, send_confirmation
from digest.errors import DeliveryError
from digest.settings.fields import check_email
from digest.tokens import sign, verify
from digest.web.pages import client_address, csrf_ok
from digest.web.public import (
    chosen,
    chosen_editions,
    expired,
    invalid_link,
    message,
    newsletters,
    show,
)
from digest.web.state import web

log = logging.getLogger(__name__)


def _fixed(request: Request) -> str | None:
    """The edition of /signup/NAME (None on /signup); LookupError when unknown."""
    name = request.path_params.get("edition")
    if name is None:
        return None
    if name not in {e.name for e in web(request).c.settings.editions}:
        raise LookupError(name)
    return str(name)


def _form(
    request: Request, form: FormData | None = None, status: int = 200, **flash: Any
) -> HTMLResponse:
    ticked = set(form.getlist("section")) if form else set()
    fixed = _fixed(request)
    editions = set(form.getlist("edition")) if form else set()
    titles = {e.name: e.title for e in web(request).c.settings.editions}
    return show(
        request,
        "public/signup.html",
        "Sign up",
        status,
        email=str(form.get("email") or "")[:320] if form else "",
        name=str(form.get("name") or "")[:MAX_NAME] if form else "",
        max_name=MAX_NAME,
        sections=[{"name": s, "chosen": s in ticked} for s in web(request).sections],
        newsletters=[] if fixed else newsletters(request, {str(e) for e in editions}),
        newsletter=titles.get(fixed) if fixed else None,
        action=f"/signup/{fixed}" if fixed else "/signup",
        **flash,
    )


async def signup(request: Request) -> Response:
    state = web(request)
    try:
        fixed = _fixed(request)
    except LookupError:
        return message(request, "No such newsletter", "There is no newsletter of that name.", 404)
    if request.method in ("GET", "HEAD"):
        return _form(request)
    client = client_address(request)
    if not state.signups.allow(client):
        response = message(
            request, "Too many sign-ups", "Too many attempts; try again in a few minutes.", 429
        )
        response.headers["Retry-After"] = str(state.signups.retry_after(client))
        return response
    form = await request.form()
    if not csrf_ok(request, form.get("csrf_token")):
        return _form(request, form, 403, **expired())
    try:
        email = check_email(str(form.get("email") or "").strip())
    except ValueError:
        return _form(
            request, form, 400, flash="That is not a valid email address.", flash_error=True
        )
    name = clean_name(str(form.get("name") or ""))
    sections = chosen(request, [str(v) for v in form.getlist("section")])
    editions = (
        (fixed,) if fixed else chosen_editions(request, [str(v) for v in form.getlist("edition")])
    )
    wanted = SignUp(email, name, sections, state.c.clock(), editions)
    if state.mails.allow(email.lower()):
        try:
            await run_in_threadpool(send_confirmation, state.c, state.signing_key, wanted)
        except DeliveryError as exc:
            log.warning("sign-up confirmation not sent: %s", exc)
            return message(
                request,
                "Not sent",
                "We could not send the confirmation email just now; try again later.",
                503,
            )
    return message(
        request,
        "Check your inbox",
        f"If {email} can receive email, a confirmation link is on its way. "
        f"Follow it within {int(SIGNUP_TTL.total_seconds() // 3600)} hours to start "
        "getting the digest.",
    )


async def confirm_signup(request: Request) -> Response:
    state = web(request)
    value = verify(state.signing_key, "signup", request.path_params["token"], now=state.c.clock())
    wanted = SignUp.loads(value) if value is not None else None
    if wanted is None:
        return invalid_link(request, expiring=True)
    shown: dict[str, Any] = {"email": wanted.email, "sections": wanted.sections}
    if request.method in ("GET", "HEAD"):
        return show(request, "public/confirm.html", "Confirm", **shown)
    form = await request.form()
    if not csrf_ok(request, form.get("csrf_token")):
        return show(request, "public/confirm.html", "Confirm", 403, **shown, **expired())
    if not confirm(state.c, wanted):
        # They stopped after this link was mailed: a replayed link must not undo it.
        return message(
            request,
            "Link already used",
            "This confirmation link was sent before your last change. "
            "Sign up again to get a new one.",
            409,
            link="/signup",
            link_text="Sign up again",
        )
    token = sign(state.signing_key, "preferences", wanted.email.lower())
    return show(
        request,
        "public/confirmed.html",
        "Subscribed",
        email=wanted.email,
        preferences_path=f"/preferences/{token}",
    )
