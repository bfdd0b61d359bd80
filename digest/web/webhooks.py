"""Machine endpoints: SendGrid's Event Webhook (signature checked) and ``/healthz``."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from digest.delivery.events import WebhookRejected, apply_events, parse_events
from digest.scheduler.health import health
from digest.web.state import web

log = logging.getLogger(__name__)


async def sendgrid_events(request: Request) -> Response:
    state = web(request)
    if state.webhook is None:
        return JSONResponse({"error": "webhook not configured"}, status_code=404)
    c = state.c
    body = await request.body()
    try:
        state.webhook.verify(
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


async def healthz(request: Request) -> Response:
    c = web(request).c
    status = health(c, c.clock())
    return JSONResponse(status, status_code=200 if status["healthy"] else 503)
