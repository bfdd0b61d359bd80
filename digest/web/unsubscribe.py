"""One-click unsubscribe (RFC 8058): a POST, from the mail client's button or the
page's form, unsubscribes and answers 200 without a redirect; a GET only asks (link
scanners follow links). The form carries no CSRF token: mail clients send none.

A message's link names its edition: the one-click POST unsubscribes from that
newsletter only; the page's second button (``scope=everything``) from all of them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from digest.audience.unsubscribing import unsubscribe as stop
from digest.links import unsubscribe_scope
from digest.web.pages import page
from digest.web.public import words_for
from digest.web.state import web


async def unsubscribe(request: Request) -> Response:
    state = web(request)
    c = state.c
    site = c.settings.delivery.from_name
    scope = unsubscribe_scope(state.signing_key, request.path_params["token"])
    if scope is None:
        words = words_for(request)
        context: dict[str, object] = {"site": site, "link": None, "link_text": ""}
        context["title"] = words.gettext("Link not valid")
        context["message"] = words.gettext("This unsubscribe link is not valid.")
        return page(request, "public/message.html", context, status=404, words=words)
    email, edition = scope
    words = words_for(request, edition)  # the language of the newsletter it came from
    done = request.method == "POST"
    if done:
        form = await request.form()
        if form.get("scope") == "everything":
            edition = None
        names = [e.name for e in c.settings.editions]
        stop(c.store, email, edition, c.clock(), "unsubscribe link", names)
    known = {e.name: e.title for e in c.settings.editions}
    newsletter = known.get(edition, edition) if edition else None
    title = words.gettext("Unsubscribed") if done else words.gettext("Unsubscribe")
    shown = {"site": site, "title": title, "email": email, "done": done}
    shown["newsletter"] = newsletter
    shown["everything"] = len(known) > 1  # one edition: its link is everything already
    return page(request, "public/unsubscribe.html", shown, words=words)
