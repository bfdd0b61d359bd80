"""Hardening of the web app found by review: body limits, login lock-out, rate-limit
keys, control characters, suppressed addresses and odd parameters."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.testclient import TestClient

from digest.cleaning.articles import clean
from digest.components import Components, build_components
from digest.models import RawDocument, SubscriberStatus
from digest.settings.config import load_settings
from digest.tokens import sign
from digest.web.app import create_app
from digest.web.middleware import MAX_FORM_BYTES
from digest.web.pages import client_address
from digest.web.ratelimit import RateLimiter
from tests.conftest import FIXED_NOW
from tests.test_desk import EDITOR, PASSWORD, built, csrf_from, sign_in

ANA = "ana.lopez@mail.example"


@pytest.fixture
def c(project: Path) -> Iterator[Components]:
    components = build_components(
        load_settings(project, {"DIGEST_SECRET_KEY": "test-secret-" + "k" * 32}),
        clock=lambda: FIXED_NOW,
    )
    components.store.editors.add(EDITOR, PASSWORD, FIXED_NOW)
    components.store.subscribers.upsert(components.subscribers(), FIXED_NOW)
    yield components
    components.close()


def from_address(c: Components, host: str) -> TestClient:
    return TestClient(create_app(c), client=(host, 40000), follow_redirects=False)


def test_big_bodies_are_refused_before_they_are_read(c: Components) -> None:
    client = TestClient(create_app(c), follow_redirects=False)
    big = b"a=" + b"x" * (MAX_FORM_BYTES + 10)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert client.post("/desk/login", content=big, headers=headers).status_code == 413
    assert client.post("/desk/editions/1/approve", content=big, headers=headers).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while read
        yield b"a="
        for _ in range(20):
            yield b"x" * 8192

    token = csrf_from(client.get("/desk/login").text)
    response = client.post("/desk/login", content=chunks(), headers=headers)
    assert response.status_code == 413
    ok = client.post(
        "/desk/login", data={"email": EDITOR, "password": PASSWORD, "csrf_token": token}
    )
    assert ok.status_code == 303


def test_a_strangers_guesses_do_not_lock_the_editor_out(c: Components) -> None:
    stranger = from_address(c, "203.0.113.9")
    token = csrf_from(stranger.get("/desk/login").text)
    codes = [
        stranger.post(
            "/desk/login", data={"email": EDITOR, "password": f"guess {i}", "csrf_token": token}
        ).status_code
        for i in range(6)
    ]
    assert codes == [400] * 5 + [429]
    editor = from_address(c, "198.51.100.7")
    sign_in(editor)  # the right password from elsewhere still works


def test_ipv6_clients_are_counted_by_their_64() -> None:
    def request(host: str) -> Request:
        return Request({"type": "http", "client": (host, 1), "headers": [], "method": "GET"})

    one = client_address(request("2001:db8:1:2::1"))
    assert one == client_address(request("2001:db8:1:2:ffff::9")) == "2001:db8:1:2::/64"
    assert client_address(request("2001:db8:1:3::1")) != one
    assert client_address(request("192.0.2.7")) == "192.0.2.7"


def test_the_limiter_keeps_bounded_memory() -> None:
    now = [0.0]
    limiter = RateLimiter(2, 60, clock=lambda: now[0], max_keys=100)
    for i in range(1000):
        now[0] += 0.01
        assert limiter.allow(f"k{i}")
    assert len(limiter._hits) <= 100
    assert limiter.allow("k999") and not limiter.allow("k999")  # recent keys still count


def test_control_characters_from_a_feed_do_not_stop_the_edition(c: Components) -> None:
    article = clean(
        RawDocument(
            source="Civic Wire",
            url="https://civic.example/a",
            title="Council approves harbour plan\x01\x0b",
            fragment="<p>The council approved the plan on Tuesday.\x01 It costs 3 million.</p>",
            author="Ed\x02 Itor",
        )
    )
    assert article.title == "Council approves harbour plan" and "\x01" not in article.text
    assert article.author == "Ed Itor"
    # And if one reaches a template anyway (an editor's text, an old article): dropped there.
    stored = built(c)
    first = stored.edition.sections[0]
    bad = replace(first.stories[0], headline="Bad\x01 headline")
    edited = replace(
        stored.edition,
        sections=(replace(first, stories=(bad, *first.stories[1:])), *stored.edition.sections[1:]),
    )
    message = c.renderer.preview(edited)
    assert "Bad headline" in message.html and "\x01" not in message.html


def test_unsubscribing_never_lifts_a_suppression(c: Components) -> None:
    c.store.subscribers.set_status(ANA, SubscriberStatus.COMPLAINED, "spam report", FIXED_NOW)
    client = TestClient(create_app(c))
    token = sign(c.signing_key(), "unsubscribe", ANA)
    response = client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert c.store.subscribers.status(ANA) == SubscriberStatus.COMPLAINED


def test_odd_parameters_are_not_found_not_errors(c: Components) -> None:
    stored = built(c)
    client = TestClient(create_app(c), follow_redirects=False)
    sign_in(client)
    assert client.get("/desk/editions/99999999999999999999").status_code == 404
    assert client.get(f"/desk/editions/{stored.id}/email.exe").status_code == 404
    for odd in ("²", "9" * 5000, "-1"):
        assert client.get(f"/desk/editions/{stored.id}/email.txt?as={odd}").status_code == 200
    text = client.get(f"/desk/editions/{stored.id}/email.txt")
    assert "frame-ancestors 'self'" in text.headers["content-security-policy"]
