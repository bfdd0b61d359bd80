"""The SendGrid transport: v3 Mail Send through the official ``sendgrid`` package.

One request carries up to 1,000 recipients (one personalization each); the body
travels once, and each recipient's greeting and unsubscribe link are SendGrid
substitutions of our placeholders. Errors are sorted by what they mean for
exactly-once sending:

- 429: :class:`RateLimited` until ``X-RateLimit-Reset``; nothing was sent.
- 400, 413: :class:`RequestRejected`; nothing was sent, the caller splits the batch.
- 401, 403: :class:`TransportAuthError`; the whole send stops.
- other 5xx: :class:`TransientDeliveryError` that *may* have been acted on.
- connection refused / DNS before sending: :class:`TransientDeliveryError`, not sent.
- a timeout or a dropped connection after the request went out:
  :class:`AmbiguousDeliveryError`; SendGrid has no idempotency key.
"""

from __future__ import annotations

import html
import http.client
import json
import socket
import time
from typing import Any
from urllib.error import URLError

import python_http_client
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from digest.delivery.mime import list_id
from digest.delivery.transport import Envelope
from digest.errors import (
    AmbiguousDeliveryError,
    DeliveryError,
    RateLimited,
    RequestRejected,
    TransientDeliveryError,
    TransportAuthError,
)
from digest.rendering.personal import PERSONAL_FIELDS, personal_values, placeholder

MAX_RECIPIENTS = 1000  # SendGrid's limit per request


def sendgrid_client(api_key: str, api_url: str, timeout: float = 30.0) -> python_http_client.Client:
    """The official SDK's HTTP client for ``api_url``, with a timeout (the SDK has no
    option of its own for it; its client does)."""
    client: python_http_client.Client = SendGridAPIClient(
        api_key=api_key, host=api_url.rstrip("/")
    ).client
    client.timeout = timeout
    return client


class SendGridTransport:
    max_recipients = MAX_RECIPIENTS
    idempotent = False

    def __init__(
        self,
        client: python_http_client.Client,
        *,
        from_email: str,
        from_name: str,
        reply_to: str | None = None,
        sandbox_mode: bool = False,
        categories: tuple[str, ...] = (),
        asm_group_id: int | None = None,
    ) -> None:
        """``client``: the SDK's HTTP client, from :func:`sendgrid_client` (tests and
        benchmarks point one at a local stand-in)."""
        self.client = client
        self.from_email = from_email
        self.from_name = from_name
        self.reply_to = reply_to
        self.sandbox_mode = sandbox_mode
        self.categories = categories
        self.asm_group_id = asm_group_id

    # -- the request body ------------------------------------------------------------

    def payload(self, envelope: Envelope) -> dict[str, Any]:
        """The request body (validated against SendGrid's OpenAPI spec in the tests)."""
        rendered = envelope.rendered
        nonce = rendered.nonce
        # HTML wants escaped values, text raw ones: give the text part its own keys.
        text = rendered.text
        for field in PERSONAL_FIELDS:
            text = text.replace(placeholder(nonce, field), placeholder(nonce, field + "_t"))
        personalizations = []
        for recipient in envelope.recipients:
            to: dict[str, str] = {"email": recipient.subscriber.email}
            if recipient.subscriber.name:
                to["name"] = recipient.subscriber.name
            substitutions: dict[str, str] = {}
            for field, value in personal_values(
                recipient.subscriber,
                recipient.unsubscribe_url,
                recipient.preferences_url,
                rendered.greetings,
            ).items():
                substitutions[placeholder(nonce, field)] = html.escape(value, quote=True)
                substitutions[placeholder(nonce, field + "_t")] = value
            personalizations.append(
                {
                    "to": [to],
                    "substitutions": substitutions,
                    "custom_args": {
                        "edition": rendered.edition_key,
                        "delivery": str(recipient.delivery_id),
                    },
                    "headers": {
                        "List-Id": list_id(rendered.edition_key, rendered.title, self.from_email),
                        "List-Unsubscribe": f"<{recipient.unsubscribe_url}>",
                        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                    },
                }
            )
        edition = rendered.edition_key.partition("/")[0]
        body: dict[str, Any] = {
            "personalizations": personalizations,
            "from": {"email": self.from_email, "name": self.from_name},
            "subject": rendered.subject,
            "content": [
                {"type": "text/plain", "value": text},
                {"type": "text/html", "value": rendered.html},
            ],
            "categories": list(dict.fromkeys(("digest", edition[:255], *self.categories)))[:10],
            "mail_settings": {"sandbox_mode": {"enable": self.sandbox_mode}},
        }
        if self.reply_to:
            body["reply_to"] = {"email": self.reply_to}
        if self.asm_group_id is not None:
            body["asm"] = {"group_id": self.asm_group_id}
        if envelope.batch_id:
            body["batch_id"] = envelope.batch_id
        if envelope.send_at is not None:
            body["send_at"] = int(envelope.send_at.timestamp())
        return body

    # -- requests ----------------------------------------------------------------------

    def send(self, envelope: Envelope) -> str:
        response = self._call(
            lambda: self.client.mail.send.post(request_body=self.payload(envelope))
        )
        return str(response.headers.get("X-Message-Id") or "")

    def new_batch(self) -> str:
        """A batch id for scheduled sends (POST /v3/mail/batch)."""
        response = self._call(lambda: self.client.mail.batch.post())
        return str(json.loads(response.body)["batch_id"])

    def cancel_batch(self, batch_id: str) -> None:
        """Cancel a scheduled batch; raises DeliveryError when SendGrid refuses
        (for instance because it has already gone out)."""
        self._call(
            lambda: self.client.user.scheduled_sends.post(
                request_body={"batch_id": batch_id, "status": "cancel"}
            )
        )

    def _call(self, request: Any) -> Any:
        try:
            return request()
        except HTTPError as exc:
            raise _classify(exc) from None
        except TimeoutError as exc:
            raise AmbiguousDeliveryError(f"no answer from SendGrid in time: {exc}") from None
        except URLError as exc:
            reason = exc.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise AmbiguousDeliveryError(f"no answer from SendGrid in time: {reason}") from None
            if isinstance(reason, ConnectionResetError):
                raise AmbiguousDeliveryError(f"connection to SendGrid lost: {reason}") from None
            # Refused, DNS, TLS: the request never left.
            raise TransientDeliveryError(
                f"cannot reach SendGrid: {reason}", maybe_sent=False
            ) from None
        except (http.client.RemoteDisconnected, ConnectionError) as exc:
            raise AmbiguousDeliveryError(f"connection to SendGrid lost: {exc}") from None


def _classify(exc: HTTPError) -> DeliveryError:
    status = int(getattr(exc, "status_code", 0) or 0)
    detail = _errors(getattr(exc, "body", b""))
    headers = getattr(exc, "headers", None) or {}
    if status == 429:
        try:
            retry_at = float(headers.get("X-RateLimit-Reset") or 0)
        except (TypeError, ValueError):
            retry_at = 0.0
        return RateLimited(f"SendGrid rate limit{detail}", retry_at or time.time() + 1.0)
    if status in (401, 403):
        return TransportAuthError(f"SendGrid refused the API key (HTTP {status}){detail}")
    if status in (400, 413):
        return RequestRejected(f"SendGrid rejected the request (HTTP {status}){detail}", status)
    if status >= 500:
        return TransientDeliveryError(f"SendGrid answered HTTP {status}{detail}", maybe_sent=True)
    return DeliveryError(f"SendGrid answered HTTP {status}{detail}")


def _errors(body: bytes | str) -> str:
    try:
        data = json.loads(body or b"{}")
        messages = [e.get("message", "") for e in data.get("errors", [])]
    except (ValueError, AttributeError):
        return ""
    return f": {'; '.join(m for m in messages if m)}" if messages else ""
