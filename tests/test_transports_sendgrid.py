"""The SendGrid transport against a local server that validates every body with
SendGrid's own OpenAPI spec."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from python_http_client.exceptions import BadRequestsError

from digest import pipeline
from digest.components import Components, build_components
from digest.errors import DeliveryError, TransportAuthError
from digest.models import RenderedMessage, Subscriber
from digest.settings import load_settings
from digest.transports.sendgrid import SendGridTransport
from tests.conftest import FIXED_NOW
from tests.sendgrid_server import SPEC, SendGridServer

pytestmark = pytest.mark.skipif(not SPEC.exists(), reason=f"SendGrid spec not found at {SPEC}")


@pytest.fixture
def server() -> Iterator[SendGridServer]:
    s = SendGridServer().start()
    try:
        yield s
    finally:
        s.stop()


def _message(name: str = "Ana") -> RenderedMessage:
    return RenderedMessage(
        to=Subscriber("ana@mail.example", name),
        subject="The Morning Digest",
        html="<p>Hello</p>",
        text="Hello\n",
        unsubscribe_url="https://digest.example.org/unsubscribe/T",
        edition_key="morning/2026-11-27",
    )


def _transport(server: SendGridServer, key: str = "SG.test-key") -> SendGridTransport:
    return SendGridTransport(
        api_key=key,
        api_url=server.url,
        from_email="digest@news.example",
        from_name="Digest",
        timeout=5,
    )


def test_body_is_valid_for_sendgrid_and_carries_unsubscribe(server: SendGridServer) -> None:
    message_id = _transport(server).send(_message())
    assert message_id and len(server.accepted) == 1 and not server.rejected
    body = server.accepted[0]
    personalization = body["personalizations"][0]
    assert personalization["to"] == [{"email": "ana@mail.example", "name": "Ana"}]
    assert personalization["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    assert personalization["custom_args"] == {"edition": "morning/2026-11-27"}


def test_the_validating_server_rejects_a_bad_body(server: SendGridServer) -> None:
    transport = _transport(server)
    bad = transport.payload(_message())
    bad["personalizations"] = [{"to": [{"email": "x@y.example"}]}] * 1001  # over maxItems
    response = transport.sdk.client.mail.send
    with pytest.raises(BadRequestsError) as caught:
        response.post(request_body=bad)
    assert caught.value.status_code == 400
    assert server.rejected and not server.accepted


def _sendgrid_components(project: Path, server: SendGridServer, key: str) -> Components:
    """The shipped config switched to SendGrid at the local server."""
    config = project.read_text().replace('transport = "outbox"', 'transport = "sendgrid"')
    config = config.replace('api_url = "https://api.sendgrid.com"', f'api_url = "{server.url}"')
    project.write_text(config)
    settings = load_settings(project, {"SENDGRID_API_KEY": key})
    return build_components(settings, clock=lambda: FIXED_NOW)


def test_bad_key_stops_the_whole_send(server: SendGridServer, project: Path) -> None:
    c = _sendgrid_components(project, server, "SG.wrong")
    with pytest.raises(TransportAuthError, match="HTTP 401"):
        pipeline.run(c, None)
    assert not server.accepted


def test_whole_run_through_sendgrid(server: SendGridServer, project: Path) -> None:
    c = _sendgrid_components(project, server, "SG.test-key")
    report = pipeline.run(c, None)
    assert report.delivered == 4 and report.failed_deliveries == 0
    assert sorted(b["personalizations"][0]["to"][0]["email"] for b in server.accepted) == sorted(
        s.email for s in c.subscribers()
    )
    again = pipeline.run(c, None)
    assert again.delivered == 0 and len(server.accepted) == 4


def test_server_error_is_a_retryable_failure(server: SendGridServer) -> None:
    server.force_status = 503
    with pytest.raises(DeliveryError, match="HTTP 503") as caught:
        _transport(server).send(_message())
    assert not isinstance(caught.value, TransportAuthError)
