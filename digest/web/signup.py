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
from digest.audience.signup import (
    SIGNUP_TTL,
    SignUp,
    confirm,
    send_confirmation,
    signup_language,
)
from digest.errors import DeliveryError
from digest.language.catalogues import Messages
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
    words_for,
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
    request: Request,
    words: Messages,
    form: FormData | None = None,
    status: int = 200,
    **flash: Any,
) -> HTMLResponse:
    ticked = set(form.getlist("section")) if form else set()
    fixed = _fixed(request)
    editions = set(form.getlist("edition")) if form else set()
    titles = {e.name: e.title for e in web(request).c.settings.editions}
    return show(
        request,
        "public/signup.html",
        words.gettext("Sign up"),
        status,
        words=words,
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
        words = words_for(request)
        no_such = words.gettext("There is no newsletter of that name.")
        return message(request, words, words.gettext("No such newsletter"), no_such, 404)
    words = words_for(request, fixed)
    if request.method in ("GET", "HEAD"):
        return _form(request, words)
    client = client_address(request)
    if not state.signups.allow(client):
        return _too_many(request, words, state.signups.retry_after(client))
    form = await request.form()
    if not csrf_ok(request, form.get("csrf_token")):
        return _form(request, words, form, 403, **expired(words))
    try:
        email = check_email(str(form.get("email") or "").strip())
    except ValueError:
        flash = words.gettext("That is not a valid email address.")
        return _form(request, words, form, 400, flash=flash, flash_error=True)
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
                words,
                words.gettext("Not sent"),
                words.gettext(
                    "We could not send the confirmation email just now; try again later."
                ),
                503,
            )
    return _check_your_inbox(request, words, email)


def _too_many(request: Request, words: Messages, retry_after: int) -> Response:
    response = message(
        request,
        words,
        words.gettext("Too many sign-ups"),
        words.gettext("Too many attempts; try again in a few minutes."),
        429,
    )
    response.headers["Retry-After"] = str(retry_after)
    return response


def _check_your_inbox(request: Request, words: Messages, email: str) -> Response:
    hours = int(SIGNUP_TTL.total_seconds() // 3600)
    return message(
        request,
        words,
        words.gettext("Check your inbox"),
        words.ngettext(
            "If %(email)s can receive email, a confirmation link is on its way. "
            "Follow it within %(hours)s hour to start getting the digest.",
            "If %(email)s can receive email, a confirmation link is on its way. "
            "Follow it within %(hours)s hours to start getting the digest.",
            hours,
        )
        % {"email": email, "hours": hours},
    )


async def confirm_signup(request: Request) -> Response:
    state = web(request)
    value = verify(state.signing_key, "signup", request.path_params["token"], now=state.c.clock())
    wanted = SignUp.loads(value) if value is not None else None
    if wanted is None:
        return invalid_link(request, words_for(request), expiring=True)
    words = state.c.messages(signup_language(state.c, wanted))
    shown: dict[str, Any] = {"email": wanted.email, "sections": wanted.sections, "words": words}
    title = words.gettext("Confirm")
    if request.method in ("GET", "HEAD"):
        return show(request, "public/confirm.html", title, **shown)
    form = await request.form()
    if not csrf_ok(request, form.get("csrf_token")):
        return show(request, "public/confirm.html", title, 403, **shown, **expired(words))
    if not confirm(state.c, wanted):
        # They stopped after this link was mailed: a replayed link must not undo it.
        return message(
            request,
            words,
            words.gettext("Link already used"),
            words.gettext(
                "This confirmation link was sent before your last change. "
                "Sign up again to get a new one."
            ),
            409,
            link="/signup",
            link_text=words.gettext("Sign up again"),
        )
    token = sign(state.signing_key, "preferences", wanted.email.lower())
    return show(
        request,
        "public/confirmed.html",
        words.gettext("Subscribed"),
        words=words,
        email=wanted.email,
        preferences_path=f"/preferences/{token}",
    )
