"""What wraps every request: a cap on request bodies and the security headers."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

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
