"""Server-rendered pages: one Jinja environment (autoescaped) for every page of the
web app, a CSRF guard for forms, and the response helpers the routes share."""

from __future__ import annotations

import gettext
import hmac
import ipaddress
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from digest.language.catalogues import Messages

TEMPLATES = Path(__file__).parent / "templates"
CSRF_COOKIE = "digest_csrf"
CSRF_FIELD = "csrf_token"
# The desk speaks English; pages for subscribers speak their edition's language.
_ENGLISH = gettext.NullTranslations()


@lru_cache(maxsize=32)
def _environment(translations: gettext.NullTranslations) -> jinja2.Environment:
    """One environment per language's translations, made once and never switched:
    the app serves requests in several languages at once."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    return env


def page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    words: Messages | None = None,
) -> HTMLResponse:
    """Render ``template`` in the language of ``words`` (English without), with the
    request's CSRF token available as ``csrf_token``.

    Anonymous forms use a double-submit cookie: the token is set as a cookie and
    must come back in the form field (:func:`csrf_ok`). Signed-in editors get theirs
    from the session instead (``context["csrf_token"]`` overrides).
    """
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    values: dict[str, Any] = {
        "csrf_token": token,
        "request": request,
        "flash": None,
        "flash_error": False,
        "lang": words.language if words else "en",
    }
    values.update(context or {})
    env = _environment(words.translations if words else _ENGLISH)
    response = HTMLResponse(env.get_template(template).render(values), status_code=status)
    if CSRF_COOKIE not in request.cookies:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
    return response


def csrf_ok(request: Request, form_value: object, expected: str | None = None) -> bool:
    """Whether the form's token matches ``expected`` (the session's) or, for
    anonymous forms, the double-submit cookie."""
    want = expected if expected is not None else request.cookies.get(CSRF_COOKIE)
    return (
        isinstance(form_value, str)
        and bool(want)
        and hmac.compare_digest(form_value.encode(), str(want).encode())
    )


def client_address(request: Request) -> str:
    """The client, for rate limits: its IPv4 address, or its IPv6 /64 (one host
    usually holds a whole /64, so single addresses would be free to rotate). Behind
    a proxy, ``digest serve --forwarded-allow-ips`` makes this the real client."""
    host = request.client.host if request.client else "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return host
