"""A local HTTP server that speaks SendGrid's v3 Mail Send API, for tests.

Every body is validated against SendGrid's own OpenAPI spec
(../shared/sendgrid/tsg_mail_v3.json); an invalid one gets 400 with SendGrid's
error JSON, as the real service would answer. Accepted bodies are kept in a log.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.localserver import QuietHandler, ThreadedServer

SPEC = Path(__file__).resolve().parent.parent.parent / "shared" / "sendgrid" / "tsg_mail_v3.json"


def mail_send_validator(spec_path: Path = SPEC) -> Draft202012Validator:
    spec = json.loads(spec_path.read_text())
    registry: Registry[Any] = Registry().with_resource("urn:sendgrid", Resource(spec, DRAFT202012))
    pointer = "urn:sendgrid#/components/requestBodies/PostMailSend/content/application~1json/schema"
    return Draft202012Validator({"$ref": pointer}, registry=registry)


class SendGridServer:
    def __init__(self, api_key: str = "SG.test-key") -> None:
        self.api_key = api_key
        self.validator = mail_send_validator()
        self.accepted: list[dict[str, Any]] = []
        self.rejected: list[dict[str, Any]] = []
        self.force_status: int | None = None
        server = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                if self.path != "/v3/mail/send":
                    return self._answer(404, {"errors": [{"message": "not found"}]})
                if self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    return self._answer(
                        401,
                        {
                            "errors": [
                                {
                                    "message": "The provided authorization grant is invalid, expired, or revoked"
                                }
                            ]
                        },
                    )
                if server.force_status:
                    return self._answer(server.force_status, {"errors": [{"message": "forced"}]})
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError:
                    return self._answer(
                        400, {"errors": [{"message": "Bad Request", "field": None}]}
                    )
                errors = sorted(server.validator.iter_errors(body), key=lambda e: list(e.path))
                if errors:
                    server.rejected.append(body)
                    return self._answer(
                        400,
                        {
                            "errors": [
                                {"message": e.message, "field": ".".join(map(str, e.path))}
                                for e in errors
                            ]
                        },
                    )
                server.accepted.append(body)
                self._answer(202, None, {"X-Message-Id": uuid.uuid4().hex[:22]})

            def _answer(
                self, status: int, data: Any, headers: dict[str, str] | None = None
            ) -> None:
                payload = b"" if data is None else json.dumps(data).encode()
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadedServer(Handler)

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> SendGridServer:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
