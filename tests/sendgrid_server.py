"""A local HTTP server that speaks SendGrid's v3 Mail Send API, for tests.

Every ``/v3/mail/send`` body is validated against SendGrid's own OpenAPI spec
(../shared/sendgrid/tsg_mail_v3.json); an invalid one gets 400 with SendGrid's
error JSON, as the real service would answer. On top of the schema it enforces
the documented rules the schema cannot express (issued ``batch_id``, ``send_at``
at most 72 h ahead, at most 1,000 recipients in total) and keeps a log of what it
accepted, so tests can count what would have been delivered.

Endpoints (all need ``Authorization: Bearer <api_key>``, else 401):

- ``POST /v3/mail/send``: 202 + ``X-Message-Id`` (200 in sandbox mode, which
  delivers nothing and so is not logged).
- ``POST /v3/mail/batch``: 201 ``{"batch_id": ...}``; ``GET /v3/mail/batch/{id}``.
- ``POST /v3/user/scheduled_sends``: ``{"batch_id", "status": "cancel" | "pause"}``.

Failures to rehearse go in ``faults``, a FIFO consumed one per mail-send request:
``"429"``, ``"500"``, ``"503"``, ``"reset_before"``, ``"reset_after"``,
``"slow:<s>"``, ``"timeout_after_accept:<s>"``, ``"timeout:<s>"``, ``"400:<email>"`` (see
``FAULTS``). A recipient that the server always fails on goes in ``stuck`` (address ->
fault): every request naming it gets that fault, whatever else it carries.

Run standalone (for benchmarks)::

    python -m tests.sendgrid_server --port 8025 [--delay 0.05] [--no-validate]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import secrets
import signal
import socket
import string
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.localserver import QuietHandler, ThreadedServer

SPEC = Path(__file__).resolve().parent.parent.parent / "shared" / "sendgrid" / "tsg_mail_v3.json"
_BODY_POINTER = "/components/requestBodies/PostMailSend/content/application~1json/schema"

MAX_RECIPIENTS = 1000
MAX_SCHEDULE_AHEAD = 72 * 3600  # seconds
FAULTS = (
    "429",  # rate limited, with X-RateLimit-* headers; nothing recorded
    "500",  # internal error; nothing recorded
    "503",  # unavailable; nothing recorded
    "reset_before",  # body read, nothing recorded, connection closed without an answer
    "reset_after",  # handled and recorded as usual, then closed without an answer
    "slow:<seconds>",  # sleep, then handle normally
    "timeout_after_accept:<seconds>",  # recorded, then sleep before answering
    "timeout:<seconds>",  # sleep, then 504 with nothing recorded (the client gave up first)
    "400:<email>",  # 400 naming <email> if it is a recipient, else normal
)

_FAULT_KINDS = frozenset({"", *(f.partition(":")[0] for f in FAULTS)})
_ALPHANUM = string.ascii_letters + string.digits
_UNAUTHORIZED = "The provided authorization grant is invalid, expired, or revoked"


# --------------------------------------------------------------------------- schema


# Keywords that only annotate: dropping them changes no validation outcome.
_ANNOTATIONS = frozenset(
    {"description", "title", "examples", "example", "deprecated", "readOnly", "writeOnly"}
    | {"$comment", "default", "externalDocs", "xml", "discriminator", "nullable"}
)
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SCHEMA_ONE = frozenset(
    {"items", "additionalProperties", "not", "if", "then", "else", "contains"}
    | {"propertyNames", "unevaluatedProperties", "unevaluatedItems"}
)


def _pointer(document: Any, pointer: str) -> Any:
    node = document
    for part in pointer.lstrip("/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _inline(spec: dict[str, Any], schema: Any, seen: tuple[str, ...] = ()) -> Any:
    """``schema`` with every local ``$ref`` replaced by its target and annotations dropped.

    Same verdicts and error paths as resolving the refs at validation time, but
    jsonschema no longer looks a reference up for every item of a 1,000-item array
    (about 25 % faster). Raises ValueError on a recursive or non-local ref.
    """
    if not isinstance(schema, dict):
        return schema
    schema = dict(schema)
    ref = schema.pop("$ref", None)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _ANNOTATIONS:
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: _inline(spec, sub, seen) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [_inline(spec, sub, seen) for sub in value]
        elif key in _SCHEMA_ONE:
            out[key] = _inline(spec, value, seen)
        else:
            out[key] = value
    if ref is None:
        return out
    if not isinstance(ref, str) or not ref.startswith("#/") or ref in seen:
        raise ValueError(f"cannot inline $ref {ref!r}")
    target = _inline(spec, _pointer(spec, ref[1:]), (*seen, ref))
    # In 2020-12 a $ref beside other keywords is the conjunction of both.
    return {"allOf": [target, out]} if out else target


@lru_cache(maxsize=4)
def mail_send_validator(spec_path: Path = SPEC, *, inline: bool = True) -> Draft202012Validator:
    """A validator for the Mail Send request body (``components.requestBodies.PostMailSend``).

    ``inline=False`` resolves the spec's ``$ref``s through a ``referencing`` registry
    instead, the plain way; both give the same verdicts (tested), the inlined one faster.
    """
    spec = json.loads(spec_path.read_text())
    if inline:
        try:
            schema = _inline(spec, _pointer(spec, _BODY_POINTER))
        except ValueError:
            pass
        else:
            if '"$ref"' not in json.dumps(schema):  # else a ref hid where _inline does not look
                return Draft202012Validator(schema)
    registry: Registry[Any] = Registry().with_resource("urn:sendgrid", Resource(spec, DRAFT202012))
    return Draft202012Validator({"$ref": f"urn:sendgrid#{_BODY_POINTER}"}, registry=registry)


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Accepted:
    """One accepted (and so, unless its batch is cancelled, delivered) mail-send request."""

    message_id: str
    batch_id: str | None
    # Earliest moment any part of it goes out (epoch s); None = at once, on acceptance.
    send_at: int | None
    emails: tuple[str, ...]  # every ``to`` address of every personalization, lower-cased
    body: dict[str, Any] = field(repr=False)


@dataclass
class _Reply:
    status: int
    data: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering

    @classmethod
    def error(cls, status: int, message: str, where: str | None = None) -> _Reply:
        return cls(status, {"errors": [_error(message, where)]})


def _error(message: str, where: str | None = None) -> dict[str, Any]:
    """One entry of SendGrid's error JSON; ``where`` is the offending field, if any."""
    return {"message": message, "field": where}


def _addresses(people: Any) -> list[str]:
    if not isinstance(people, list):
        return []
    return [
        p["email"].lower()
        for p in people
        if isinstance(p, dict) and isinstance(p.get("email"), str)
    ]


def _personalizations(body: dict[str, Any]) -> list[dict[str, Any]]:
    items = body.get("personalizations")
    return [p for p in items if isinstance(p, dict)] if isinstance(items, list) else []


def _send_at(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


# --------------------------------------------------------------------------- HTTP plumbing


class _HTTPServer(ThreadingHTTPServer):
    """Keeps track of open connections so ``stop()`` can close keep-alive ones too."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[QuietHandler], lock: Any) -> None:
        self.connections: set[socket.socket] = set()
        self.lock = lock
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self.lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # the client went away (timed out, reset): expected in fault tests
        super().handle_error(request, client_address)


class _Serving(ThreadedServer):
    """``ThreadedServer`` on a chosen port (0 = any free one)."""

    def __init__(self, handler: type[QuietHandler], host: str, port: int, lock: Any) -> None:
        self.httpd = _HTTPServer((host, port), handler, lock)
        # A short poll so that stop() (httpd.shutdown) returns at once, not after 0.5 s.
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )


# --------------------------------------------------------------------------- the double


class SendGridServer:
    """SendGrid's v3 Mail API on 127.0.0.1, with a delivery log and fault injection.

    Every piece of state below is guarded by ``lock`` (the one lock); plain reads
    between requests need no locking.
    """

    def __init__(
        self,
        api_key: str = "SG.test-key",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        validate: bool = True,
        keep_bodies: bool = True,
    ) -> None:
        self.api_key = api_key
        self.validate = validate
        # False (the standalone default) keeps memory flat over a long benchmark:
        # accepted/rejected stay empty and records carry an empty body.
        self.keep_bodies = keep_bodies
        self.validator = mail_send_validator()
        self.lock = threading.Lock()
        self.clock: Callable[[], float] = time.time
        # what happened
        self.accepted: list[dict[str, Any]] = []  # every accepted body (sandbox ones too)
        self.rejected: list[dict[str, Any]] = []  # every JSON body answered 400
        self.log: list[Accepted] = []  # every accepted, delivering request
        self.requests_count = 0  # every /v3/mail/send attempt, whatever came of it
        self.batches: set[str] = set()  # issued batch ids
        self.cancelled: set[str] = set()
        self.paused: set[str] = set()
        # behaviour
        self.force_status: int | None = None  # answer every mail send with this status
        self.faults: list[str] = []  # FIFO, one consumed per mail send; see FAULTS
        self.delay = 0.0  # seconds before handling every mail send
        self.bad_emails: set[str] = set()  # permanently rejected recipients
        # address -> a fault of FAULTS that every request naming it gets, for good
        self.stuck: dict[str, str] = {}
        self.stuck_hits = 0  # requests that got a stuck recipient's fault
        # Once ``hold_at`` requests were accepted, mail sends wait (before being handled)
        # until ``open`` is set again: a send frozen mid-way, to look at it.
        self.hold_at: int | None = None
        self.open = threading.Event()
        self.open.set()
        self.held = 0  # mail sends waiting at the gate now
        self.rate_limit = 600  # X-RateLimit-Limit on 429
        self.rate_limit_reset_seconds = 1.0  # X-RateLimit-Reset = clock() + this

        self.server = _Serving(self._handler(), host, port, self.lock)

    # -- lifecycle

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> SendGridServer:
        self.server.start()
        return self

    def stop(self) -> None:
        if self.server.thread.is_alive():
            self.server.httpd.shutdown()
        self.server.httpd.server_close()
        self.server.httpd.close_connections()

    def __enter__(self) -> SendGridServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- assertions

    def delivered(self) -> Counter[str]:
        """How many times each ``to`` address was sent mail (cancelled batches excluded)."""
        counts: Counter[str] = Counter()
        with self.lock:
            for record in self.log:
                if record.batch_id is None or record.batch_id not in self.cancelled:
                    counts.update(set(record.emails))
        return counts

    # -- endpoints

    def _authorized(self, authorization: str | None) -> bool:
        return authorization == f"Bearer {self.api_key}"

    def create_batch(self) -> _Reply:
        batch_id = "".join(secrets.choice(_ALPHANUM) for _ in range(32))
        with self.lock:
            self.batches.add(batch_id)
        return _Reply(201, {"batch_id": batch_id})

    def get_batch(self, batch_id: str) -> _Reply:
        with self.lock:
            known = batch_id in self.batches
        if not known:
            return _Reply.error(400, "invalid batch id", "batch_id")
        return _Reply(200, {"batch_id": batch_id})

    def scheduled_send(self, raw: bytes) -> _Reply:
        try:
            body = json.loads(raw)
        except ValueError:
            return _Reply.error(400, "Bad Request")
        if not isinstance(body, dict):
            return _Reply.error(400, "Bad Request")
        batch_id, status = body.get("batch_id"), body.get("status")
        if status not in ("cancel", "pause"):
            return _Reply.error(400, "status must be either cancel or pause", "status")
        with self.lock:
            if not isinstance(batch_id, str) or batch_id not in self.batches:
                return _Reply.error(400, "invalid batch id", "batch_id")
            now = self.clock()
            if any(
                r.batch_id == batch_id and (r.send_at is None or r.send_at <= now) for r in self.log
            ):
                return _Reply.error(400, "batch already sent", "batch_id")
            if status == "cancel":
                self.cancelled.add(batch_id)
                self.paused.discard(batch_id)
            else:
                self.paused.add(batch_id)
        return _Reply(201, {"batch_id": batch_id, "status": status})

    def mail_send(self, authorization: str | None, raw: bytes) -> _Reply:
        with self.lock:
            self.requests_count += 1
            fault = self.faults.pop(0) if self.faults else ""
            delay = self.delay
            stuck = dict(self.stuck)
        if not fault and stuck:
            fault = next((stuck[e] for e in _to_addresses(raw) if e in stuck), "")
            if fault:
                with self.lock:
                    self.stuck_hits += 1
        kind, _, arg = fault.partition(":")
        try:
            seconds = float(arg) if kind in ("slow", "timeout_after_accept", "timeout") else 0.0
        except ValueError:
            seconds = -1.0
        if seconds < 0 or kind not in _FAULT_KINDS:
            return _Reply.error(500, f"test double: unknown fault {fault!r}, see FAULTS")

        pause = delay + (seconds if kind in ("slow", "timeout") else 0.0)
        if pause > 0:
            time.sleep(pause)
        self._wait_at_the_gate()
        if kind == "reset_before":
            return _Reply(0, drop=True)
        if not self._authorized(authorization):
            return _Reply.error(401, _UNAUTHORIZED)
        if self.force_status:
            return _Reply.error(self.force_status, "forced")
        if kind == "429":
            reset = math.ceil(self.clock() + self.rate_limit_reset_seconds)
            reply = _Reply.error(429, "too many requests")
            reply.headers = {
                "X-RateLimit-Limit": str(self.rate_limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(reset),
            }
            return reply
        if kind == "500":
            return _Reply.error(500, "internal server error")
        if kind == "503":
            return _Reply.error(503, "service unavailable")
        if kind == "timeout":
            return _Reply.error(504, "gateway timeout")

        reply = self._accept(raw, bad_recipient=arg.lower() if kind == "400" else None)
        if kind == "reset_after":
            return _Reply(0, drop=True)
        if kind == "timeout_after_accept":
            time.sleep(seconds)
        return reply

    def release(self) -> None:
        """Let held mail sends through, and hold no more."""
        self.hold_at = None
        self.open.set()

    def _wait_at_the_gate(self) -> None:
        if self.open.is_set():
            return
        with self.lock:
            self.held += 1
        try:
            self.open.wait(300)
        finally:
            with self.lock:
                self.held -= 1

    def _accept(self, raw: bytes, bad_recipient: str | None) -> _Reply:
        try:
            body = json.loads(raw)
        except ValueError:
            return _Reply.error(400, "Bad Request")
        if self.validate:
            errors = sorted(self.validator.iter_errors(body), key=lambda e: list(e.path))
            if errors:
                if self.keep_bodies:
                    with self.lock:
                        self.rejected.append(body)
                return _Reply(
                    400,
                    {
                        "errors": [
                            _error(_short(e.message), ".".join(map(str, e.path))) for e in errors
                        ]
                    },
                )
        if not isinstance(body, dict):
            return _Reply.error(400, "Bad Request")

        problems: list[dict[str, Any]] = []
        now = self.clock()
        personalizations = _personalizations(body)
        top_send_at = _send_at(body.get("send_at"))
        if top_send_at is not None and top_send_at > now + MAX_SCHEDULE_AHEAD:
            problems.append(_error("send_at cannot be more than 72 hours in the future", "send_at"))
        starts: list[int | None] = []
        recipients = 0
        named: set[str] = set()
        bad = {e.lower() for e in list(self.bad_emails)}  # a test may be adding to it
        if bad_recipient:
            bad.add(bad_recipient)
        for i, p in enumerate(personalizations):
            own = _send_at(p.get("send_at"))
            if own is not None and own > now + MAX_SCHEDULE_AHEAD:
                problems.append(
                    _error(
                        "send_at cannot be more than 72 hours in the future",
                        f"personalizations.{i}.send_at",
                    )
                )
            starts.append(own if own is not None else top_send_at)
            for role in ("to", "cc", "bcc"):
                addresses = _addresses(p.get(role))
                recipients += len(addresses)
                for email in addresses:
                    if email in bad and email not in named:
                        named.add(email)
                        problems.append(
                            _error(f"Invalid email {email}", f"personalizations.{i}.{role}")
                        )
        if recipients > MAX_RECIPIENTS:
            problems.append(
                _error(
                    f"The total number of recipients must be at most {MAX_RECIPIENTS}"
                    f" (this request has {recipients})",
                    "personalizations",
                )
            )
        batch_id = body.get("batch_id")
        sandbox = _sandbox(body)
        message_id = secrets.token_urlsafe(16)
        record = Accepted(
            message_id=message_id,
            batch_id=batch_id if isinstance(batch_id, str) else None,
            send_at=None
            if not starts or None in starts
            else min(s for s in starts if s is not None),
            emails=tuple(e for p in personalizations for e in _addresses(p.get("to"))),
            body=body if self.keep_bodies else {},
        )
        with self.lock:
            if batch_id is not None and batch_id not in self.batches:
                problems.insert(0, _error("invalid batch id", "batch_id"))
            if self.keep_bodies:
                (self.rejected if problems else self.accepted).append(body)
            if not problems and not sandbox:
                self.log.append(record)
                if self.hold_at is not None and len(self.log) >= self.hold_at:
                    self.open.clear()
        if problems:
            return _Reply(400, {"errors": problems})
        return _Reply(200 if sandbox else 202, None, {"X-Message-Id": message_id})

    # -- the request handler

    def _handler(self) -> type[QuietHandler]:
        double = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like the real API
            disable_nagle_algorithm = True  # no 40 ms stall between headers and body

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = self.path.split("?", 1)[0].rstrip("/")
                authorization = self.headers.get("Authorization")
                if path == "/v3/mail/send":
                    return self._reply(double.mail_send(authorization, raw))
                if path not in ("/v3/mail/batch", "/v3/user/scheduled_sends"):
                    return self._reply(_Reply.error(404, "not found"))
                if not double._authorized(authorization):
                    return self._reply(_Reply.error(401, _UNAUTHORIZED))
                if path == "/v3/mail/batch":
                    return self._reply(double.create_batch())
                return self._reply(double.scheduled_send(raw))

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0].rstrip("/")
                prefix = "/v3/mail/batch/"
                if not path.startswith(prefix) or "/" in path[len(prefix) :]:
                    return self._reply(_Reply.error(404, "not found"))
                if not double._authorized(self.headers.get("Authorization")):
                    return self._reply(_Reply.error(401, _UNAUTHORIZED))
                return self._reply(double.get_batch(path[len(prefix) :]))

            def _reply(self, reply: _Reply) -> None:
                if reply.drop:
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                payload = b"" if reply.data is None else json.dumps(reply.data).encode()
                try:
                    self.send_response(reply.status)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    self.close_connection = True  # the client gave up waiting

        return Handler


def _to_addresses(raw: bytes) -> list[str]:
    """The ``to`` addresses of a mail-send body (none when it is not one)."""
    try:
        body = json.loads(raw)
    except ValueError:
        return []
    if not isinstance(body, dict):
        return []
    return [e for p in _personalizations(body) for e in _addresses(p.get("to"))]


def _short(message: str, limit: int = 240) -> str:
    """jsonschema quotes the whole failing value ("[...1,001 items...] is too long")."""
    if len(message) <= limit:
        return message
    half = limit // 2
    return f"{message[:half]} … {message[-half:]}"


def _sandbox(body: dict[str, Any]) -> bool:
    settings = body.get("mail_settings")
    mode = settings.get("sandbox_mode") if isinstance(settings, dict) else None
    return isinstance(mode, dict) and mode.get("enable") is True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.sendgrid_server", description="Local SendGrid v3 stand-in."
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--api-key", default="SG.test-key")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds added to every send")
    parser.add_argument(
        "--no-validate", action="store_true", help="skip schema validation (raw HTTP cost)"
    )
    parser.add_argument(
        "--keep-bodies", action="store_true", help="keep every body in memory (off: flat memory)"
    )
    args = parser.parse_args(argv)
    server = SendGridServer(
        args.api_key,
        host=args.host,
        port=args.port,
        validate=not args.no_validate,
        keep_bodies=args.keep_bodies,
    )
    server.delay = args.delay
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # still print the summary
    print(f"SendGrid stand-in on {server.url} (key {args.api_key})", flush=True)
    try:
        server.server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server.httpd.server_close()
        delivered = server.delivered()
        print(
            f"{server.requests_count} sends, {len(server.log)} accepted,"
            f" {sum(delivered.values())} deliveries to {len(delivered)} addresses",
            flush=True,
        )


if __name__ == "__main__":
    main()
