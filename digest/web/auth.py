"""Editor sign-in: a server-side session behind an HttpOnly cookie, a CSRF token per
session, and rate limits on the login form."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from digest.components import Components
from digest.store.desk import Session

SESSION_COOKIE = "digest_session"
SESSION_TTL = timedelta(hours=12)


def current_session(c: Components, request: Request) -> Session | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 100:
        return None
    return c.store.editors.session(token, c.clock())


def set_session_cookie(
    response: Response, request: Request, token: str | None, *, base_url: str = ""
) -> None:
    """Set (or, with None, clear) the session cookie: HttpOnly, SameSite=Lax, and
    Secure when the request came over HTTPS or was made to the public site's host
    while ``[web] base_url`` is https (a proxy that does not say it terminated TLS).
    A look at the desk on the machine itself (http://127.0.0.1) works without."""
    if token is None:
        response.delete_cookie(SESSION_COOKIE, path="/desk")
        return
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure(request) or _public_https(request, base_url),
        path="/desk",
    )


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _public_https(request: Request, base_url: str) -> bool:
    site = urlsplit(base_url)
    return site.scheme == "https" and request.url.hostname == site.hostname
