"""The SendGrid test double itself, driven with plain HTTP requests."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.sendgrid_server import SPEC, Accepted, SendGridServer, mail_send_validator

pytestmark = pytest.mark.skipif(not SPEC.exists(), reason=f"SendGrid spec not found at {SPEC}")

AUTH = {"Authorization": "Bearer SG.test-key"}
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def server() -> Iterator[SendGridServer]:
    with SendGridServer() as s:
        yield s


@pytest.fixture
def client(server: SendGridServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=2) as c:
        yield c


def mail(*emails: str, **extra: Any) -> dict[str, Any]:
    """A valid Mail Send body with one personalization per address."""
    return {
        "personalizations": [{"to": [{"email": e}]} for e in emails or ("ana@mail.example",)],
        "from": {"email": "digest@news.example", "name": "Digest"},
        "subject": "The Morning Digest",
        "content": [{"type": "text/plain", "value": "Hello"}],
        **extra,
    }


def send(client: httpx.Client, body: dict[str, Any], **kw: Any) -> httpx.Response:
    return client.post("/v3/mail/send", json=body, **kw)


def new_batch(client: httpx.Client) -> str:
    response = client.post("/v3/mail/batch")
    assert response.status_code == 201
    return str(response.json()["batch_id"])


def errors(response: httpx.Response) -> list[dict[str, Any]]:
    return list(response.json()["errors"])


# -- mail send


def test_accepts_a_valid_body_with_a_unique_message_id(
    server: SendGridServer, client: httpx.Client
) -> None:
    first = send(client, mail("Ana@Mail.example", "ben@mail.example"))
    second = send(client, mail())
    assert first.status_code == second.status_code == 202
    assert first.content == b""
    ids = {first.headers["X-Message-Id"], second.headers["X-Message-Id"]}
    assert len(ids) == 2
    record = server.log[0]
    assert record == Accepted(
        first.headers["X-Message-Id"],
        None,
        None,
        ("ana@mail.example", "ben@mail.example"),
        mail("Ana@Mail.example", "ben@mail.example"),
    )
    assert len(server.accepted) == 2 and not server.rejected and server.requests_count == 2


def test_schema_violation_gets_sendgrid_error_json(
    server: SendGridServer, client: httpx.Client
) -> None:
    response = send(client, mail(subject=3))
    assert response.status_code == 400
    assert errors(response) == [{"message": "3 is not of type 'string'", "field": "subject"}]
    over = send(client, mail(*(f"u{i}@mail.example" for i in range(1001))))
    assert over.status_code == 400 and errors(over)[0]["field"] == "personalizations"
    assert len(errors(over)[0]["message"]) < 300  # not the whole array quoted back
    assert len(server.rejected) == 2 and not server.accepted and not server.log


def test_invalid_json_is_a_400(server: SendGridServer, client: httpx.Client) -> None:
    response = client.post("/v3/mail/send", content=b"{nope")
    assert response.status_code == 400 and "errors" in response.json()
    assert not server.log


def test_sandbox_mode_answers_200_and_delivers_nothing(
    server: SendGridServer, client: httpx.Client
) -> None:
    response = send(client, mail(mail_settings={"sandbox_mode": {"enable": True}}))
    assert response.status_code == 200 and response.headers["X-Message-Id"]
    assert len(server.accepted) == 1 and not server.log and not server.delivered()


def test_more_than_1000_recipients_in_total_is_a_400(
    server: SendGridServer, client: httpx.Client
) -> None:
    def body(per: int, count: int) -> dict[str, Any]:
        return mail(
            personalizations=[
                {"to": [{"email": f"u{i}.{j}@mail.example"} for j in range(per)]}
                for i in range(count)
            ]
        )

    refused = send(client, body(3, 334))  # 334 personalizations, 1,002 recipients
    assert refused.status_code == 400 and errors(refused)[0]["field"] == "personalizations"
    cc = body(1, 500)
    cc["personalizations"][0]["cc"] = [{"email": f"c{i}@mail.example"} for i in range(501)]
    assert send(client, cc).status_code == 400  # cc and bcc count too
    assert send(client, body(2, 500)).status_code == 202
    assert len(server.log) == 1 and len(server.log[0].emails) == 1000


def test_send_at_more_than_72_hours_ahead_is_a_400(
    server: SendGridServer, client: httpx.Client
) -> None:
    now = 1_800_000_000.0
    server.clock = lambda: now
    limit = int(now) + 72 * 3600
    too_far = send(client, mail(send_at=limit + 1))
    assert too_far.status_code == 400 and errors(too_far)[0]["field"] == "send_at"
    nested = mail()
    nested["personalizations"][0]["send_at"] = limit + 1
    assert errors(send(client, nested))[0]["field"] == "personalizations.0.send_at"
    assert send(client, mail(send_at=limit)).status_code == 202
    assert server.log[0].send_at == limit


# -- batches and scheduled sends


def test_batch_cancel_flow_and_delivered(server: SendGridServer, client: httpx.Client) -> None:
    batch = new_batch(client)
    assert client.get(f"/v3/mail/batch/{batch}").json() == {"batch_id": batch}
    later = int(time.time()) + 3600
    assert send(client, mail("a@mail.example", batch_id=batch, send_at=later)).status_code == 202
    assert send(client, mail("a@mail.example", "b@mail.example")).status_code == 202
    assert server.delivered() == Counter({"a@mail.example": 2, "b@mail.example": 1})

    cancel = client.post("/v3/user/scheduled_sends", json={"batch_id": batch, "status": "cancel"})
    assert cancel.status_code == 201
    assert cancel.json() == {"batch_id": batch, "status": "cancel"}
    assert server.cancelled == {batch}
    assert server.delivered() == Counter({"a@mail.example": 1, "b@mail.example": 1})


def test_an_address_counts_once_per_request(server: SendGridServer, client: httpx.Client) -> None:
    assert send(client, mail("a@mail.example", "A@mail.example")).status_code == 202
    assert server.delivered() == Counter({"a@mail.example": 1})
    assert server.log[0].emails == ("a@mail.example", "a@mail.example")


def test_pause_is_echoed(server: SendGridServer, client: httpx.Client) -> None:
    batch = new_batch(client)
    pause = client.post("/v3/user/scheduled_sends", json={"batch_id": batch, "status": "pause"})
    assert pause.status_code == 201 and pause.json() == {"batch_id": batch, "status": "pause"}
    assert server.paused == {batch} and not server.cancelled


def test_unknown_batch_ids_are_refused(server: SendGridServer, client: httpx.Client) -> None:
    new_batch(client)
    unknown = client.post("/v3/user/scheduled_sends", json={"batch_id": "nope", "status": "cancel"})
    assert unknown.status_code == 400 and errors(unknown)[0]["field"] == "batch_id"
    assert client.get("/v3/mail/batch/nope").status_code == 400
    bad_status = client.post(
        "/v3/user/scheduled_sends", json={"batch_id": new_batch(client), "status": "stop"}
    )
    assert bad_status.status_code == 400
    response = send(client, mail(batch_id="nope"))
    assert response.status_code == 400 and errors(response)[0]["field"] == "batch_id"
    assert not server.log and not server.cancelled


def test_cancel_after_send_at_has_passed_is_refused(
    server: SendGridServer, client: httpx.Client
) -> None:
    now = [1_800_000_000.0]
    server.clock = lambda: now[0]
    batch = new_batch(client)
    assert send(client, mail(batch_id=batch, send_at=int(now[0]) + 600)).status_code == 202
    now[0] += 601
    refused = client.post("/v3/user/scheduled_sends", json={"batch_id": batch, "status": "cancel"})
    assert refused.status_code == 400
    assert errors(refused)[0]["message"] == "batch already sent"
    assert not server.cancelled and server.delivered() == Counter({"ana@mail.example": 1})

    immediate = new_batch(client)  # no send_at: out on acceptance
    assert send(client, mail(batch_id=immediate)).status_code == 202
    again = client.post(
        "/v3/user/scheduled_sends", json={"batch_id": immediate, "status": "cancel"}
    )
    assert again.status_code == 400


def test_wrong_key_is_a_401_on_every_endpoint(server: SendGridServer) -> None:
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer SG.wrong"}) as c:
        responses = [
            c.post("/v3/mail/send", json=mail()),
            c.post("/v3/mail/batch"),
            c.post("/v3/user/scheduled_sends", json={"batch_id": "x", "status": "cancel"}),
            c.get("/v3/mail/batch/x"),
        ]
    with httpx.Client(base_url=server.url) as anonymous:
        responses.append(anonymous.post("/v3/mail/send", json=mail()))
    assert [r.status_code for r in responses] == [401] * 5
    assert all(errors(r)[0]["message"] for r in responses)
    assert not server.log and not server.batches and server.requests_count == 2


# -- bad recipients


def test_bad_emails_fail_the_whole_request_until_split_out(
    server: SendGridServer, client: httpx.Client
) -> None:
    server.bad_emails = {"Bad@Mail.example"}
    refused = send(client, mail("good@mail.example", "bad@mail.example"))
    assert refused.status_code == 400
    assert errors(refused) == [
        {"message": "Invalid email bad@mail.example", "field": "personalizations.1.to"}
    ]
    assert not server.log
    assert send(client, mail("good@mail.example")).status_code == 202
    assert send(client, mail("bad@mail.example")).status_code == 400
    assert server.delivered() == Counter({"good@mail.example": 1})


# -- faults


def test_429_carries_rate_limit_headers(server: SendGridServer, client: httpx.Client) -> None:
    server.clock = lambda: 1_800_000_000.5
    server.faults.append("429")
    response = send(client, mail())
    assert response.status_code == 429
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Limit"]) > 0
    assert response.headers["X-RateLimit-Reset"] == "1800000002"  # ceil(now + 1)
    assert not server.log and not server.accepted
    assert send(client, mail()).status_code == 202  # consumed: the next one goes through


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_record_nothing(
    server: SendGridServer, client: httpx.Client, status: int
) -> None:
    server.faults.append(str(status))
    response = send(client, mail())
    assert response.status_code == status and errors(response)
    assert not server.log and server.requests_count == 1


def test_faults_are_consumed_in_order(server: SendGridServer, client: httpx.Client) -> None:
    server.faults.extend(["503", "500", "429"])
    assert [send(client, mail()).status_code for _ in range(4)] == [503, 500, 429, 202]
    assert server.faults == [] and len(server.log) == 1 and server.requests_count == 4


def test_reset_before_drops_the_request(server: SendGridServer, client: httpx.Client) -> None:
    server.faults.append("reset_before")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        send(client, mail())
    assert not server.log and not server.accepted and server.requests_count == 1
    assert send(client, mail()).status_code == 202


def test_reset_after_delivers_but_never_answers(
    server: SendGridServer, client: httpx.Client
) -> None:
    server.faults.append("reset_after")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        send(client, mail())
    assert len(server.log) == 1  # a retry now would deliver twice
    assert send(client, mail()).status_code == 202
    assert server.delivered() == Counter({"ana@mail.example": 2})


def test_slow_and_delay_hold_the_answer(server: SendGridServer, client: httpx.Client) -> None:
    server.faults.append("slow:0.2")
    started = time.monotonic()
    assert send(client, mail()).status_code == 202
    assert time.monotonic() - started >= 0.2
    server.delay = 0.1
    started = time.monotonic()
    assert send(client, mail()).status_code == 202
    assert time.monotonic() - started >= 0.1
    assert len(server.log) == 2


def test_timeout_after_accept_records_then_stalls(
    server: SendGridServer, client: httpx.Client
) -> None:
    server.faults.append("timeout_after_accept:0.4")
    with pytest.raises(httpx.ReadTimeout):
        send(client, mail(), timeout=0.15)
    assert len(server.log) == 1
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=2) as patient:
        server.faults.append("timeout_after_accept:0.1")
        assert send(patient, mail()).status_code == 202
    assert len(server.log) == 2


def test_400_fault_names_one_recipient(server: SendGridServer, client: httpx.Client) -> None:
    server.faults.append("400:Bad@mail.example")
    refused = send(client, mail("bad@mail.example"))
    assert refused.status_code == 400
    assert errors(refused) == [
        {"message": "Invalid email bad@mail.example", "field": "personalizations.0.to"}
    ]
    server.faults.append("400:bad@mail.example")
    assert send(client, mail("other@mail.example")).status_code == 202  # consumed anyway
    assert send(client, mail("bad@mail.example")).status_code == 202
    assert not server.faults and len(server.log) == 2


def test_an_unknown_fault_is_reported(server: SendGridServer, client: httpx.Client) -> None:
    server.faults.append("explode")
    response = send(client, mail())
    assert response.status_code == 500 and "explode" in errors(response)[0]["message"]


# -- plumbing


def test_concurrent_sends_are_all_recorded(server: SendGridServer, client: httpx.Client) -> None:
    def one(i: int) -> str:
        response = send(client, mail(f"u{i}@mail.example"))
        assert response.status_code == 202
        return str(response.headers["X-Message-Id"])

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(one, range(40)))
    assert len(set(ids)) == 40 and server.requests_count == 40
    assert {r.message_id for r in server.log} == set(ids)
    assert sum(server.delivered().values()) == 40


def test_inlined_validator_agrees_with_the_spec_refs() -> None:
    fast, reference = mail_send_validator(), mail_send_validator(inline=False)
    bad_to = mail()
    bad_to["personalizations"][0]["to"] = [{"name": "no email"}, {"email": 5}]
    bodies: list[Any] = [
        mail(),
        mail(subject=""),
        mail(reply_to={"name": "x"}),
        mail(attachments=[{"content": "x", "filename": "a", "disposition": "sideways"}]),
        mail(asm={"group_id": "one"}),
        mail(categories=["c"] * 11),
        bad_to,
        {"from": {"email": "a@b.example"}},
        [],
    ]

    def verdict(validator: Any, body: Any) -> list[tuple[str, list[Any]]]:
        return sorted((e.message, list(e.path)) for e in validator.iter_errors(body))

    for body in bodies:
        assert verdict(fast, body) == verdict(reference, body), body
    assert any(verdict(reference, body) for body in bodies[1:])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_runs_standalone() -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.sendgrid_server", "--port", str(port), "--no-validate"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        assert str(port) in process.stdout.readline().decode()  # printed once listening
        url = f"http://127.0.0.1:{port}/v3/mail/send"
        response = httpx.post(url, content=json.dumps(mail()), headers=AUTH)
        assert response.status_code == 202
        invalid = httpx.post(url, json=mail(subject=3), headers=AUTH)
        assert invalid.status_code == 202  # --no-validate
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=5)
    assert process.returncode == 0 and "2 sends, 2 accepted" in out.decode()
