"""The SendGrid transport: v3 Mail Send through the official ``sendgrid`` package.

One request per message for now (batching up to 1,000 personalizations is the
delivery issue's work). A timeout or dropped connection after the request may
have reached SendGrid is *ambiguous*: SendGrid has no idempotency key, so it is
reported as such and never retried silently.
"""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.error import URLError

import python_http_client
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient

from digest.errors import AmbiguousDeliveryError, DeliveryError, TransportAuthError
from digest.models import RenderedMessage
from digest.transports.message import message_id


class SendGridTransport:
    def __init__(
        self,
        *,
        api_key: str,
        api_url: str,
        from_email: str,
        from_name: str,
        reply_to: str | None = None,
        timeout: float = 30.0,
        sandbox_mode: bool = False,
    ) -> None:
        sdk = SendGridAPIClient(api_key=api_key, host=api_url.rstrip("/"))
        # The SDK has no timeout option of its own; its HTTP client does.
        sdk.client = python_http_client.Client(
            host=sdk.host, request_headers=sdk._default_headers, version=3, timeout=timeout
        )
        self.sdk = sdk
        self.from_email = from_email
        self.from_name = from_name
        self.reply_to = reply_to
        self.sandbox_mode = sandbox_mode

    def payload(self, message: RenderedMessage) -> dict[str, Any]:
        """The request body (validated against SendGrid's OpenAPI spec in the tests)."""
        to: dict[str, str] = {"email": message.to.email}
        if message.to.name:
            to["name"] = message.to.name
        edition = message.edition_key.partition("/")[0]
        body: dict[str, Any] = {
            "personalizations": [
                {
                    "to": [to],
                    "custom_args": {"edition": message.edition_key},
                    "headers": {
                        "List-Unsubscribe": f"<{message.unsubscribe_url}>",
                        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                    },
                }
            ],
            "from": {"email": self.from_email, "name": self.from_name},
            "subject": message.subject,
            "content": [
                {"type": "text/plain", "value": message.text},
                {"type": "text/html", "value": message.html},
            ],
            "headers": {"Message-ID": message_id(message, self.from_email)},
            "categories": ["digest", edition[:255]],
            "mail_settings": {"sandbox_mode": {"enable": self.sandbox_mode}},
        }
        if self.reply_to:
            body["reply_to"] = {"email": self.reply_to}
        return body

    def send(self, message: RenderedMessage) -> str:
        try:
            response = self.sdk.client.mail.send.post(request_body=self.payload(message))
        except HTTPError as exc:
            status = getattr(exc, "status_code", 0)
            detail = _errors(getattr(exc, "body", b""))
            if status in (401, 403):
                raise TransportAuthError(
                    f"SendGrid refused the API key (HTTP {status}){detail}"
                ) from None
            raise DeliveryError(f"SendGrid answered HTTP {status}{detail}") from None
        except TimeoutError as exc:
            raise AmbiguousDeliveryError(f"no answer from SendGrid in time: {exc}") from None
        except URLError as exc:
            if isinstance(exc.reason, (TimeoutError, socket.timeout, ConnectionResetError)):
                raise AmbiguousDeliveryError(f"connection to SendGrid lost: {exc.reason}") from None
            raise DeliveryError(f"cannot reach SendGrid: {exc.reason}") from None
        except (ConnectionResetError, ConnectionAbortedError) as exc:
            raise AmbiguousDeliveryError(f"connection to SendGrid lost: {exc}") from None
        return str(response.headers.get("X-Message-Id") or message_id(message, self.from_email))


def _errors(body: bytes | str) -> str:
    try:
        data = json.loads(body or b"{}")
        messages = [e.get("message", "") for e in data.get("errors", [])]
    except (ValueError, AttributeError):
        return ""
    return f": {'; '.join(m for m in messages if m)}" if messages else ""
