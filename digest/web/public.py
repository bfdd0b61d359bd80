"""What the subscriber pages share: the page helpers, the section choice, messages.

Links carry signed tokens (:mod:`digest.tokens`): ``preferences`` tokens never
expire (they sit in old emails); ``signup`` tokens carry the sign-up itself and
expire (``digest.audience.signup``). Every form carries a CSRF token (double-submit
cookie, ``pages.csrf_ok``). A GET never changes anything: link scanners follow
links, so confirming takes a POST.

A page that belongs to one edition (its sign-up, its unsubscribe link, its archive)
speaks that edition's language; the others speak ``[web] language``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from digest.language.catalogues import Messages
from digest.web.pages import page
from digest.web.state import web


def words_for(request: Request, edition: str | None = None) -> Messages:
    """The words of a page: those of ``edition`` when it is a configured edition,
    else of ``[web] language``."""
    c = web(request).c
    config = next((e for e in c.settings.editions if e.name == edition), None)
    return c.messages(config.language if config is not None else c.settings.web.language)


def show(
    request: Request,
    template: str,
    title: str,
    status: int = 200,
    *,
    words: Messages,
    **context: Any,
) -> HTMLResponse:
    site = web(request).c.settings.delivery.from_name
    values = {"site": site, "title": title, **context}
    return page(request, template, values, status=status, words=words)


def message(
    request: Request, words: Messages, title: str, text: str, status: int = 200, **context: Any
) -> HTMLResponse:
    values = {"message": text, "link": None, "link_text": "", **context}
    return show(request, "public/message.html", title, status, words=words, **values)


def invalid_link(request: Request, words: Messages, *, expiring: bool = False) -> HTMLResponse:
    text = (
        words.gettext(
            "This confirmation link has expired or is not valid. Sign up again to get a new one."
        )
        if expiring
        else words.gettext("This link is not valid. Use the link in your most recent email.")
    )
    return message(request, words, words.gettext("Link not valid"), text, 404)


def chosen(request: Request, values: list[str]) -> tuple[str, ...]:
    """Known section names only; every one ticked means all (future ones too)."""
    sections = web(request).sections
    ticked = set(values)
    picked = tuple(s for s in sections if s in ticked)
    return () if len(picked) == len(sections) else picked


def newsletters(request: Request, ticked: set[str]) -> list[dict[str, Any]]:
    """Every configured edition (newsletter) for a list of checkboxes; none when
    there is only one (nothing to choose)."""
    editions = web(request).c.settings.editions
    if len(editions) < 2:
        return []
    return [{"name": e.name, "title": e.title, "chosen": e.name in ticked} for e in editions]


def chosen_editions(request: Request, values: list[str]) -> tuple[str, ...]:
    """Known edition names only, in configuration order."""
    ticked = set(values)
    return tuple(e.name for e in web(request).c.settings.editions if e.name in ticked)


def expired(words: Messages) -> dict[str, Any]:
    return {"flash": words.gettext("The form expired; please try again."), "flash_error": True}


async def no_token(request: Request) -> HTMLResponse:
    words = words_for(request)
    return message(
        request,
        words,
        words.gettext("Use the link in your email"),
        words.gettext(
            "To change your preferences or unsubscribe, follow the link at the bottom "
            "of any edition we sent you."
        ),
    )
