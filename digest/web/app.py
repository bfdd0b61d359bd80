"""The web app served by ``digest serve``: the editor's desk (``web/editor.py``),
the subscriber pages, SendGrid's Event Webhook and a health check."""

from __future__ import annotations

import html
import logging

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digest.components import Components
from digest.delivery.events import WebhookRejected, WebhookVerifier, apply_events, parse_events
from digest.models import SubscriberStatus
from digest.scheduler.plans import health
from digest.tokens import verify
from digest.web import desk as editor
from digest.web import public

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def create_app(c: Components) -> ASGIApp:
    """The app, on components built once at start-up from the settings."""
    key = c.settings.delivery.sendgrid.webhook_public_key
    verifier = WebhookVerifier(key) if key else None
    signing_key = c.signing_key()

    async def sendgrid_events(request: Request) -> Response:
        if verifier is None:
            return JSONResponse({"error": "webhook not configured"}, status_code=404)
        body = await request.body()
        try:
            verifier.verify(
                body,
                request.headers.get("X-Twilio-Email-Event-Webhook-Signature"),
                request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp"),
                now=c.clock().timestamp(),
            )
            events = parse_events(body)
        except WebhookRejected as exc:
            log.warning("%s", exc)
            return JSONResponse({"error": exc.reason}, status_code=403)
        counts = apply_events(c.store.subscribers, events, c.clock())
        return JSONResponse(counts)

    def _subscriber(request: Request) -> str | None:
        return verify(signing_key, "unsubscribe", request.path_params["token"])

    async def unsubscribe(request: Request) -> Response:
        email = _subscriber(request)
        if email is None:
            return _page("Link not valid", "This unsubscribe link is not valid.", 404)
        if request.method == "POST":
            # RFC 8058: a POST (from the mail client's button or our form) unsubscribes
            # and answers 200 without a redirect.
            # Only an active or paused subscriber becomes "unsubscribed": a bounced or
            # complained address must stay suppressed (re-activation needs a sign-up).
            c.store.subscribers.set_status(
                email,
                SubscriberStatus.UNSUBSCRIBED,
                "unsubscribe link",
                c.clock(),
                only_from=(SubscriberStatus.ACTIVE, SubscriberStatus.PAUSED),
            )
            return _page("Unsubscribed", f"{email} will get no more digests.", 200)
        # A GET never unsubscribes by itself: link scanners follow links.
        form = (
            f"<p>Stop sending digests to <b>{html.escape(email)}</b>?</p>"
            '<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
            '<button type="submit">Unsubscribe</button></form>'
        )
        return _page("Unsubscribe", form, 200, raw=True)

    async def healthz(request: Request) -> Response:
        status = health(c, c.clock())
        return JSONResponse(status, status_code=200 if status["healthy"] else 503)

    app = Starlette(
        routes=[
            Route("/webhooks/sendgrid", sendgrid_events, methods=["POST"]),
            Route("/unsubscribe/{token}", unsubscribe, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            *editor.routes(c),
            *public.routes(c),
        ]
    )
    return SecurityHeaders(BodyLimit(app), hsts=c.settings.web.base_url.startswith("https://"))


MAX_FORM_BYTES = 64 * 1024  # a form of the desk or the subscriber pages
MAX_WEBHOOK_BYTES = 5 * 1024 * 1024  # a batch of SendGrid events


class BodyLimit:
    """Refuses request bodies over the limit with 413, by Content-Length up front and
    by counting while the app reads: forms are parsed into memory, so an unbounded
    body would be a cheap way to exhaust it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = MAX_WEBHOOK_BYTES if scope["path"] == "/webhooks/sendgrid" else MAX_FORM_BYTES
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > limit:
            response = PlainTextResponse("Request body too large", status_code=413)
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(status_code=413, detail="Request body too large")
            return message

        await self.app(scope, counted, send)


class SecurityHeaders:
    """Adds the security headers to every response, error pages included: it wraps
    the whole app, outside Starlette's own error handling."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.headers = dict(SECURITY_HEADERS)
        if hsts:  # served as https://: browsers must never use plain http for it again
            self.headers["Strict-Transport-Security"] = "max-age=31536000"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name not in headers:  # a route may set a stricter or wider one
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)


def _page(title: str, body: str, status: int, *, raw: bool = False) -> HTMLResponse:
    content = body if raw else f"<p>{html.escape(body)}</p>"
    return HTMLResponse(
        f"<!doctype html><html lang='en'><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width'><title>{html.escape(title)}</title>"
        f"<body style='font-family:sans-serif;max-width:32rem;margin:2rem auto'>"
        f"<h1>{html.escape(title)}</h1>{content}</body></html>",
        status_code=status,
    )
