"""Feeds out: each edition's archive as Atom (``/editions/NAME/feed.xml``) and JSON
Feed (``/editions/NAME/feed.json``), its newest sent editions (never a draft).

An edition the settings do not name, and that never sent one, is not found. The
answer carries a strong ETag (a hash of the body): a feed reader that sends it back
in ``If-None-Match`` gets a 304 until another edition goes out. There is no
Last-Modified: an edition may be built long before it is approved and sent, so no
date of ours says when the feed last changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from digest.components import Components
from digest.rendering.feeds import (
    ATOM_TYPE,
    FEED_SIZE,
    JSON_FEED_TYPE,
    Feed,
    atom_document,
    edition_feed,
    json_feed_document,
)
from digest.web.archive import EDITION_NAME, not_found
from digest.web.state import web

CACHE_CONTROL = "public, max-age=300"


async def atom_feed(request: Request) -> Response:
    return await _serve(request, atom_document, f"{ATOM_TYPE}; charset=utf-8")


async def json_feed(request: Request) -> Response:
    return await _serve(request, json_feed_document, JSON_FEED_TYPE)


def feed_of(c: Components, name: str) -> Feed | None:
    """The feed of edition ``name``; None when there is no such edition."""
    if not EDITION_NAME.fullmatch(name):
        return None
    titles = {e.name: e.title for e in c.settings.editions}
    sent = c.store.editions.sent_of(name, FEED_SIZE)
    if name not in titles and not sent:
        return None
    author = c.settings.delivery.from_name
    editions = [stored.edition for stored in sent]
    language = c.settings.edition_or_default(name).language
    return edition_feed(c.renderer, name, titles.get(name, name), author, editions, language)


async def _serve(request: Request, serialise: Callable[[Feed], bytes], media_type: str) -> Response:
    c = web(request).c
    name = request.path_params["name"]
    feed = await run_in_threadpool(feed_of, c, name)
    if feed is None:
        return not_found(request, name)
    body = serialise(feed)
    tag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL}
    if _matches(request.headers.get("if-none-match", ""), tag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _matches(header: str, tag: str) -> bool:
    """RFC 9110's weak comparison, as If-None-Match uses: ``W/`` does not matter."""
    offered = {value.strip().removeprefix("W/") for value in header.split(",")}
    return "*" in offered or tag in offered
