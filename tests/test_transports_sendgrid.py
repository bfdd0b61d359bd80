"""The SendGrid transport and the delivery engine against a real local server that
speaks SendGrid's v3 API, validates every body with SendGrid's own OpenAPI spec and
injects faults. Counted from the server's own log: every subscriber accepted once."""

from __future__ import annotations

import html
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from python_http_client.exceptions import BadRequestsError

from digest import pipeline
from digest.components import Components, build_components
from digest.delivery.deliverer import Deliverer
from digest.delivery.requests import DeliveryPolicy
from digest.delivery.sendgrid import SendGridTransport, sendgrid_client
from digest.delivery.transport import Envelope, Recipient
from digest.errors import TransportAuthError
from digest.models import Edition, Subscriber
from digest.rendering.personal import RenderedEdition, placeholder
from digest.settings.config import load_settings
from digest.store.database import Store, open_store
from tests.sendgrid_server import SPEC, SendGridServer

pytestmark = pytest.mark.skipif(not SPEC.exists(), reason=f"SendGrid spec not found at {SPEC}")

NONCE = "feedfacefeedface"
RENDERED = RenderedEdition(
    edition_key="morning/2026-11-28",
    subject="The Morning Digest",
    html=f"<p>{placeholder(NONCE, 'greeting')}</p><a href='{placeholder(NONCE, 'unsubscribe_url')}'>u</a>",
    text=f"{placeholder(NONCE, 'greeting')}\nUnsubscribe: {placeholder(NONCE, 'unsubscribe_url')}\n",
    nonce=NONCE,
)


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def server() -> Iterator[SendGridServer]:
    s = SendGridServer().start()
    try:
        yield s
    finally:
        s.stop()


def _transport(
    server: SendGridServer, key: str = "SG.test-key", timeout: float = 5
) -> SendGridTransport:
    return SendGridTransport(
        sendgrid_client(key, server.url, timeout),
        from_email="digest@news.example",
        from_name="Digest",
        categories=("daily",),
        asm_group_id=42,
    )


def _envelope(*people: Subscriber) -> Envelope:
    return Envelope(
        RENDERED,
        tuple(
            Recipient(n, p, f"https://digest.example.org/unsubscribe/T{n}")
            for n, p in enumerate(people)
        ),
    )


def _substitute(content: str, personalization: dict[str, object]) -> str:
    for key, value in personalization["substitutions"].items():  # type: ignore[attr-defined]
        content = content.replace(key, value)
    return content


def test_one_request_carries_every_recipient_with_its_own_values(server: SendGridServer) -> None:
    people = [Subscriber("ana@mail.example", "Ana <b>"), Subscriber("ben@mail.example")]
    assert _transport(server).send(_envelope(*people))
    [body] = server.accepted
    assert not server.rejected
    first, second = body["personalizations"]
    assert first["to"] == [{"email": "ana@mail.example", "name": "Ana <b>"}]
    assert first["headers"]["List-Unsubscribe"] == "<https://digest.example.org/unsubscribe/T0>"
    assert first["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert first["custom_args"] == {"edition": "morning/2026-11-28", "delivery": "0"}
    text, html_part = (c["value"] for c in body["content"])
    # What the subscriber sees once SendGrid substitutes: escaped in HTML, raw in text.
    assert f"<p>Hello {html.escape('Ana <b>')},</p>" in _substitute(html_part, first)
    assert "Hello Ana <b>," in _substitute(text, first)
    assert "Hello," in _substitute(text, second) and "/T1" in _substitute(text, second)
    assert body["asm"] == {"group_id": 42} and "daily" in body["categories"]


def test_each_edition_carries_its_own_list_id(server: SendGridServer) -> None:
    # Two newsletters: every personalization of a request names its edition's list
    # (RFC 2919), the title's quotes and angle brackets dropped; the server's
    # validation of the body against SendGrid's spec passes.
    tech = replace(RENDERED, edition_key="tech/2026-11-30", title='Tech "Briefing" <weekly>')
    morning = replace(RENDERED, title="The Morning Digest")
    transport = _transport(server)
    people = (Subscriber("ana@mail.example"), Subscriber("ben@mail.example"))
    for rendered in (morning, tech):
        assert transport.send(replace(_envelope(*people), rendered=rendered))
    assert not server.rejected and len(server.accepted) == 2
    ids = [{p["headers"]["List-Id"] for p in body["personalizations"]} for body in server.accepted]
    assert ids == [
        {'"The Morning Digest" <morning.news.example>'},
        {'"Tech Briefing weekly" <tech.news.example>'},
    ]


def test_a_thousand_recipients_fit_one_valid_request(server: SendGridServer) -> None:
    people = [Subscriber(f"p{i}@mail.example", f"P{i}") for i in range(1000)]
    _transport(server).send(_envelope(*people))
    assert len(server.log) == 1 and len(server.log[0].emails) == 1000 and not server.rejected


def test_the_validating_server_rejects_what_sendgrid_would(server: SendGridServer) -> None:
    transport = _transport(server)
    bad = transport.payload(_envelope(Subscriber("a@mail.example")))
    bad["personalizations"] = bad["personalizations"] * 1001  # over maxItems
    with pytest.raises(BadRequestsError) as caught:
        transport.client.mail.send.post(request_body=bad)
    assert caught.value.status_code == 400
    assert server.rejected and not server.accepted


# -- the reliability matrix ---------------------------------------------------------------

N = 60
BATCH = 15


def _ledger(tmp_path: Path) -> tuple[Store, int, list[str]]:
    store = open_store(f"sqlite:///{tmp_path / 'digest.db'}")
    people = [Subscriber(f"s{i}@mail.example", f"S{i}") for i in range(N)]
    store.subscribers.upsert(people, now())
    edition = Edition("morning", "Morning", "Morning", "2026-11-28", now(), ())
    return store, store.editions.save_draft(edition).id, [p.email for p in people]


def _run(
    store: Store,
    edition_id: int,
    transport: SendGridTransport,
    *,
    due: datetime | None = None,
    retry_ambiguous: bool = False,
):  # type: ignore[no-untyped-def]
    deliverer = Deliverer(
        store.ledger,
        transport,
        clock=now,
        sleep=lambda s: time.sleep(min(s, 0.05)),
        policy=DeliveryPolicy(batch_size=BATCH, backoff_seconds=0.01),
    )
    return deliverer.deliver(
        edition_id,
        lambda s: RENDERED,
        lambda e: f"https://x.example/u/{e}",
        due=due,
        retry_ambiguous=retry_ambiguous,
    )


FAULTS = [
    "429",
    "500",
    "503",
    "reset_before",
    "reset_after",
    "slow:0.2",
    "timeout_after_accept:6",
    "400:s20@mail.example",
]
AMBIGUOUS = {"reset_before", "reset_after", "timeout_after_accept:6"}


def _client_timeout(fault: str) -> float:
    """Seconds the client waits for an answer: far below the stalled answer of a
    timeout fault (so that it surely times out), far above a healthy answer of a
    loaded test run (so that only the fault does)."""
    return 2.0 if fault.startswith("timeout_after_accept:") else 10.0


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("scheduled", [False, True], ids=["immediate", "scheduled"])
def test_every_fault_mode_sends_exactly_once(
    tmp_path: Path, server: SendGridServer, fault: str, scheduled: bool
) -> None:
    store, edition_id, emails = _ledger(tmp_path)
    server.faults = ["", fault]  # the second request meets the fault
    server.rate_limit_reset_seconds = 0.2
    transport = _transport(server, timeout=_client_timeout(fault))
    due = now() + timedelta(minutes=20) if scheduled else None
    report = _run(store, edition_id, transport, due=due)
    delivered = server.delivered()
    counts = report.counts
    assert max(delivered.values()) == 1, "somebody was sent twice"
    if fault.startswith("400:"):
        # One request failed as a whole: splitting sends the rest of it, only the culprit
        # remains (the fault is consumed once, so a retry of it alone succeeds).
        assert sorted(delivered) == sorted(emails)
    elif fault in AMBIGUOUS and not scheduled:
        # No way to know: those rows wait for the operator, the rest went once.
        assert counts == {"accepted": N - BATCH, "ambiguous": BATCH}
        assert len(delivered) in (N - BATCH, N)
        assert "retry-ambiguous" in " ".join(report.notes)
    else:
        assert counts == {"accepted": N}
        assert sorted(delivered) == sorted(emails)
    if scheduled and fault in AMBIGUOUS | {"500", "503"}:
        assert len(server.cancelled) == 1 and report.requeued == BATCH


def test_permanently_bad_addresses_are_quarantined(tmp_path: Path, server: SendGridServer) -> None:
    store, edition_id, emails = _ledger(tmp_path)
    server.bad_emails = {"s3@mail.example", "s33@mail.example"}
    report = _run(store, edition_id, _transport(server))
    assert report.counts == {"accepted": N - 2, "rejected": 2}
    rejected = [d for d in store.ledger.rows(edition_id) if d.state == "rejected"]
    assert {d.email for d in rejected} == server.bad_emails
    assert all("s3" in (d.error or "") or "s33" in (d.error or "") for d in rejected)
    assert set(server.delivered()) == set(emails) - server.bad_emails


def test_retry_ambiguous_is_the_operators_choice(tmp_path: Path, server: SendGridServer) -> None:
    store, edition_id, _ = _ledger(tmp_path)
    server.faults = ["", "reset_before"]  # never reached SendGrid: resending is right
    transport = _transport(server)
    _run(store, edition_id, transport)
    assert store.ledger.counts(edition_id)["ambiguous"] == BATCH
    _run(store, edition_id, transport)
    assert store.ledger.counts(edition_id)["ambiguous"] == BATCH  # a plain re-run leaves them
    _run(store, edition_id, transport, retry_ambiguous=True)
    assert store.ledger.counts(edition_id) == {"accepted": N}
    assert set(server.delivered().values()) == {1}


def test_bad_key_stops_the_whole_send(tmp_path: Path, server: SendGridServer) -> None:
    store, edition_id, _ = _ledger(tmp_path)
    with pytest.raises(TransportAuthError, match="HTTP 401"):
        _run(store, edition_id, _transport(server, key="SG.wrong"))
    assert not server.log and store.ledger.counts(edition_id) == {"pending": N}


# -- the whole program ----------------------------------------------------------------------


def _sendgrid_project(
    project: Path, server: SendGridServer, subscribers: int | None = None
) -> None:
    """The shipped config switched to SendGrid at the local server."""
    config = project.read_text().replace('transport = "outbox"', 'transport = "sendgrid"')
    config = config.replace('api_url = "https://api.sendgrid.com"', f'api_url = "{server.url}"')
    config = config.replace("timeout_seconds = 30", "timeout_seconds = 2")
    if subscribers:
        config = config.replace(
            'outbox_dir = "../outbox"', 'outbox_dir = "../outbox"\nbatch_size = 10'
        )
        rows = "".join(f"p{i}@mail.example,P{i},UTC,\n" for i in range(subscribers))
        (project.parent / "subscribers.csv").write_text("email,name,timezone,topics\n" + rows)
    project.write_text(config)


def _components(project: Path, key: str = "SG.test-key") -> Components:
    return build_components(load_settings(project, {"SENDGRID_API_KEY": key}))


def test_whole_run_through_sendgrid(server: SendGridServer, project: Path) -> None:
    _sendgrid_project(project, server)
    c = _components(project)
    report = pipeline.run(c, None)
    assert report.delivered == 4 and report.failed_deliveries == 0
    # Two combinations of sections among the four subscribers: two requests.
    assert sorted(server.delivered()) == sorted(s.email for s in c.subscribers())
    again = pipeline.run(c, None)
    assert again.delivered == 0 and again.already_delivered == 4
    assert set(server.delivered().values()) == {1}


def test_bad_key_run_sends_nothing(server: SendGridServer, project: Path) -> None:
    _sendgrid_project(project, server)
    with pytest.raises(TransportAuthError):
        pipeline.run(_components(project, "SG.wrong"), None)
    assert not server.log


def _digest(project: Path, *args: str) -> subprocess.Popen[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SENDGRID_API_KEY": "SG.test-key",
        "COLUMNS": "200",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "digest", *args, "--config", str(project)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
@pytest.mark.parametrize("scheduled", [False, True], ids=["immediate", "scheduled"])
def test_kill_minus_nine_then_resume(
    server: SendGridServer, project: Path, scheduled: bool
) -> None:
    """kill -9 at random moments of a send; resuming sends everyone exactly once
    (immediate sends: save the batch in flight at the kill, reported ambiguous)."""
    people = 200
    _sendgrid_project(project, server, subscribers=people)
    server.delay = 0.03  # 20 requests of 10: the send takes about a second
    for step in ("collect", "build"):
        proc = _digest(project, step)
        assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    at = (
        ["--at", (now() + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S%z")]
        if scheduled
        else []
    )
    rng = random.Random(7 + scheduled)
    kills = 0
    for _ in range(3):
        base = server.requests_count
        proc = _digest(project, "send", "morning", *at)
        # Kill inside the send: after a random number of requests, at a random moment.
        target = base + rng.randint(1, 5)
        deadline = time.monotonic() + 60
        while (
            server.requests_count < target and proc.poll() is None and time.monotonic() < deadline
        ):
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.04))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
    final = _digest(project, "send", "morning", *at)
    final_out, final_err = final.communicate(timeout=120)
    assert kills >= 1
    # Exit 1 only while ambiguous rows wait for the operator.
    assert final.returncode == (1 if "of which ambiguous" in final_out else 0), (
        final_out + final_err
    )
    delivered = server.delivered()
    assert max(delivered.values()) == 1, "somebody was sent twice"
    if scheduled:
        assert len(delivered) == people  # cancelled and resubmitted: nobody skipped
    else:
        store = open_store(f"sqlite:///{project.parent.parent / 'var' / 'digest.db'}")
        edition = store.editions.latest("morning")
        assert edition is not None
        rows = store.ledger.rows(edition.id)
        accepted = {r.email for r in rows if r.state == "accepted"}
        ambiguous = {r.email for r in rows if r.state == "ambiguous"}
        assert len(accepted) + len(ambiguous) == people  # nobody skipped
        assert accepted <= set(delivered)  # every accepted row really went, once
        assert set(delivered) <= accepted | ambiguous
        assert len(ambiguous) <= 10 * kills  # at most the batch in flight at each kill
