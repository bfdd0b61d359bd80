"""The preferences page behind the signed link in every edition: sections, time
zone, pause; an unsubscribed subscriber can subscribe again from here."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from digest.components import Components
from digest.language.catalogues import N_, Messages
from digest.models import SubscriberStatus
from digest.settings.fields import check_timezone
from digest.store.subscribers import SubscriberRecord
from digest.store.subscriptions import subscribed_editions
from digest.tokens import sign, verify
from digest.web.pages import csrf_ok
from digest.web.public import (
    chosen,
    chosen_editions,
    expired,
    invalid_link,
    newsletters,
    show,
    words_for,
)
from digest.web.state import web

STOPPED_BECAUSE = {
    SubscriberStatus.BOUNCED: N_("messages to it bounced"),
    SubscriberStatus.COMPLAINED: N_("a message was marked as spam"),
    SubscriberStatus.DROPPED: N_("the mail provider refused to deliver to it"),
    SubscriberStatus.BLOCKLISTED: N_("it was blocked in the tool the list came from"),
}
OTHER_STOP = N_("of a delivery problem")


def _page(
    request: Request,
    words: Messages,
    record: SubscriberRecord,
    status: int = 200,
    **flash: Any,
) -> HTMLResponse:
    state = web(request)
    person = record.subscriber
    wanted = {t.lower() for t in person.topics}
    zones = state.zones
    own_zones = zones if person.timezone in zones else sorted([*zones, person.timezone])
    rows = state.c.store.subscriptions.of(person.email)
    names = [e.name for e in state.c.settings.editions]
    return show(
        request,
        "public/preferences.html",
        words.gettext("Your preferences"),
        status,
        words=words,
        email=person.email,
        state=record.status.value,
        sections=[{"name": s, "chosen": s.lower() in wanted} for s in state.sections],
        timezones=own_zones,
        timezone=person.timezone,
        newsletters=newsletters(request, set(subscribed_editions(rows, names))),
        unsubscribe_path=f"/unsubscribe/{sign(state.signing_key, 'unsubscribe', person.email)}",
        stopped_because=words.gettext(STOPPED_BECAUSE.get(record.status, OTHER_STOP)),
        **flash,
    )


async def preferences(request: Request) -> Response:
    state = web(request)
    c = state.c
    words = words_for(request)
    email = verify(state.signing_key, "preferences", request.path_params["token"])
    record = c.store.subscribers.get(email) if email else None
    if email is None or record is None:
        return invalid_link(request, words)
    if request.method in ("GET", "HEAD"):
        return _page(request, words, record)
    form = await request.form()
    if not csrf_ok(request, form.get("csrf_token")):
        return _page(request, words, record, 403, **expired(words))
    if form.get("action") == "resubscribe":
        again = c.store.subscribers.set_status(
            email,
            SubscriberStatus.ACTIVE,
            "re-subscribed on the preferences page",
            c.clock(),
            only_from={SubscriberStatus.UNSUBSCRIBED},
        )
        flash = words.gettext("Welcome back: you are subscribed again.") if again else None
        return _page(request, words, _reload(c, email, record), flash=flash)
    timezone = str(form.get("timezone", record.subscriber.timezone))
    try:
        # One of the listed zones (or the one the subscriber has): a select
        # cannot send anything else.
        if timezone not in state.zones and timezone != record.subscriber.timezone:
            raise ValueError(timezone)
        check_timezone(timezone)
    except ValueError:
        flash = words.gettext("Choose a time zone from the list.")
        return _page(request, words, record, 400, flash=flash, flash_error=True)
    topics = chosen(request, [str(v) for v in form.getlist("section")])
    paused = form.get("paused") == "yes"
    if not c.store.subscribers.set_preferences(email, topics, timezone, paused, c.clock()):
        # Unsubscribed or suppressed since the page was shown.
        return _page(
            request,
            words,
            _reload(c, email, record),
            409,
            flash=words.gettext("Nothing saved: this address no longer gets the digest."),
            flash_error=True,
        )
    names = [e.name for e in c.settings.editions]
    if len(names) > 1:
        picked = chosen_editions(request, [str(v) for v in form.getlist("edition")])
        c.store.subscriptions.choose(email, picked, names, c.clock())
    saved = words.gettext("Saved. Deliveries are paused.") if paused else words.gettext("Saved.")
    return _page(request, words, _reload(c, email, record), flash=saved)


def _reload(c: Components, email: str, fallback: SubscriberRecord) -> SubscriberRecord:
    return c.store.subscribers.get(email) or fallback
