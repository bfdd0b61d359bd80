"""One-click unsubscribe (RFC 8058): a POST, from the mail client's button or the
page's form, unsubscribes and answers 200 without a redirect; a GET only asks (link
scanners follow links). The form carries no CSRF token: mail clients send none."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from digest.models import SubscriberStatus
from digest.tokens import verify
from digest.web.pages import page
from digest.web.state import web


async def unsubscribe(request: Request) -> Response:
    state = web(request)
    c = state.c
    site = c.settings.delivery.from_name
    email = verify(state.signing_key, "unsubscribe", request.path_params["token"])
    if email is None:
        context: dict[str, object] = {"site": site, "title": "Link not valid", "link": None}
        context.update(link_text="", message="This unsubscribe link is not valid.")
        return page(request, "public/message.html", context, status=404)
    done = request.method == "POST"
    if done:
        # Only an active, paused or pending subscriber becomes "unsubscribed": a
        # bounced or complained address must stay suppressed (re-activation needs a
        # sign-up). Pending: the link in a sign-up confirmation mail.
        c.store.subscribers.set_status(
            email,
            SubscriberStatus.UNSUBSCRIBED,
            "unsubscribe link",
            c.clock(),
            only_from=(SubscriberStatus.ACTIVE, SubscriberStatus.PAUSED, SubscriberStatus.PENDING),
        )
    title = "Unsubscribed" if done else "Unsubscribe"
    shown = {"site": site, "title": title, "email": email, "done": done}
    return page(request, "public/unsubscribe.html", shown)
