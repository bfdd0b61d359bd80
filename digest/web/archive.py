"""The public archive: sent editions only (never a draft), each the web version
written at send time (``[web] editions_dir``)."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from digest.web.public import message, show, words_for
from digest.web.state import web

# What a URL may name: an edition name as the settings allow it and a period without
# dots or slashes, so no path outside the web folder can be built.
EDITION_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
PERIOD = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,31}")
# The web version shows images from the feeds' hosts; scripts stay off.
WEB_VERSION_CSP = (
    "default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


async def archive(request: Request) -> Response:
    c = web(request).c
    titles = {e.name: e.title for e in c.settings.editions}
    groups: dict[str, list[dict[str, str]]] = {}
    for item in c.store.editions.sent():
        if EDITION_NAME.fullmatch(item.name) and PERIOD.fullmatch(item.period):
            groups.setdefault(item.name, []).append(
                {"name": item.name, "period": item.period, "label": item.period}
            )
    listed = [
        {"name": name, "title": titles.get(name, name), "editions": items}
        for name, items in groups.items()
    ]
    words = words_for(request)
    return show(
        request, "public/archive.html", words.gettext("Archive"), words=words, groups=listed
    )


async def web_version(request: Request) -> Response:
    c = web(request).c
    name, period = request.path_params["name"], request.path_params["period"]

    def missing() -> HTMLResponse:
        return not_found(request, name)

    if not (EDITION_NAME.fullmatch(name) and PERIOD.fullmatch(period)):
        return missing()
    # Only a sent edition: a draft's web version exists before it goes out.
    if c.store.editions.status(name, period) != "sent":
        return missing()
    root = c.settings.web.editions_dir.resolve()
    path = (root / name / f"{period}.html").resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return missing()
    return HTMLResponse(
        path.read_text(encoding="utf-8"),
        headers={"Content-Security-Policy": WEB_VERSION_CSP, "Link": feed_links(name)},
    )


def not_found(request: Request, name: str) -> HTMLResponse:
    """No such sent edition, in the language of the edition ``name`` names."""
    words = words_for(request, name)
    text = words.gettext("There is no such edition in the archive.")
    return message(request, words, words.gettext("Not found"), text, 404)


def feed_links(name: str) -> str:
    """The edition's feeds as a ``Link`` header (RFC 8288): the web version is written
    at send time, so its page cannot carry ``<link rel="alternate">`` itself."""
    return (
        f'</editions/{name}/feed.xml>; rel="alternate"; type="application/atom+xml", '
        f'</editions/{name}/feed.json>; rel="alternate"; type="application/feed+json"'
    )
