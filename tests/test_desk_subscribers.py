"""The desk's subscribers pages in process (Starlette's TestClient): the newsletter
and status filters, unsubscribe and suppress through their confirmation step, and a
POST with a valid session but a wrong CSRF token refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from digest.components import Components
from digest.models import Subscriber, SubscriberStatus
from tests.conftest import FIXED_NOW, make_components
from tests.test_desk import EDITOR, PASSWORD, client_for, sign_in
from tests.test_newsletters import TECH

PEOPLE = ("ana", "ben", "cy", "dee")


@pytest.fixture
def c(project: Path) -> Iterator[Components]:
    project.write_text(project.read_text() + TECH)
    (project.parent / "subscribers.csv").write_text("email,name,timezone,topics\n")
    components = make_components(project, environ={"DIGEST_SECRET_KEY": "k" * 32})
    components.store.editors.add(EDITOR, PASSWORD, FIXED_NOW)
    store = components.store
    store.subscribers.upsert(
        [Subscriber(f"{p}@mail.example", p.title()) for p in PEOPLE], FIXED_NOW
    )
    store.subscriptions.choose("ana@mail.example", ["morning"], ["morning", "tech"], FIXED_NOW)
    store.subscriptions.choose("ben@mail.example", ["tech"], ["morning", "tech"], FIXED_NOW)
    store.subscribers.set_status("dee@mail.example", SubscriberStatus.BOUNCED, "test", FIXED_NOW)
    yield components
    components.close()


def _listed(client: TestClient, query: str) -> list[str]:
    page = client.get(f"/desk/subscribers?{query}")
    assert page.status_code == 200, page.text
    return re.findall(r'<a href="/desk/subscribers/\d+">([^<]+)</a>', page.text)


def _id(client: TestClient, email: str) -> str:
    found = re.search(
        rf'<a href="/desk/subscribers/(\d+)">{re.escape(email)}</a>',
        client.get(f"/desk/subscribers?q={email}").text,
    )
    assert found, email
    return found.group(1)


def test_the_newsletter_and_status_filters(c: Components) -> None:
    client = client_for(c)
    sign_in(client)
    every = ["ana@mail.example", "ben@mail.example", "cy@mail.example", "dee@mail.example"]
    assert _listed(client, "") == every
    # Cy has every edition ('*'), Ana morning only, Ben tech only.
    assert _listed(client, "edition=tech") == [
        "ben@mail.example",
        "cy@mail.example",
        "dee@mail.example",
    ]
    assert _listed(client, "edition=morning") == [
        "ana@mail.example",
        "cy@mail.example",
        "dee@mail.example",
    ]
    assert _listed(client, "status=bounced") == ["dee@mail.example"]
    assert _listed(client, "edition=tech&status=active") == ["ben@mail.example", "cy@mail.example"]
    assert _listed(client, "edition=morning&status=active&q=AN") == ["ana@mail.example"]
    page = client.get("/desk/subscribers?edition=tech&status=active").text
    assert "Active per newsletter: morning 2 · tech 2. 2 match." in page
    assert client.get("/desk/subscribers?edition=nowhere").status_code == 404
    assert client.get("/desk/subscribers?status=sleeping").status_code == 404


def test_unsubscribe_and_suppress_after_confirming(c: Components) -> None:
    client = client_for(c)
    csrf = sign_in(client)
    ana, ben = _id(client, "ana@mail.example"), _id(client, "ben@mail.example")

    asked = client.post(f"/desk/subscribers/{ana}/unsubscribe", data={"csrf_token": csrf})
    assert asked.status_code == 200 and "Are you sure?" in asked.text
    assert c.store.subscribers.status("ana@mail.example") == SubscriberStatus.ACTIVE
    done = client.post(
        f"/desk/subscribers/{ana}/unsubscribe", data={"csrf_token": csrf, "confirm": "yes"}
    )
    assert done.status_code == 303 and done.headers["location"].endswith("?done=unsubscribe")
    assert c.store.subscribers.status("ana@mail.example") == SubscriberStatus.UNSUBSCRIBED
    assert "Done: unsubscribe." in client.get(done.headers["location"]).text

    client.post(f"/desk/subscribers/{ben}/suppress", data={"csrf_token": csrf, "confirm": "yes"})
    record = c.store.subscribers.get("ben@mail.example")
    assert record is not None and record.status == SubscriberStatus.BLOCKLISTED
    assert _listed(client, "status=blocklisted") == ["ben@mail.example"]


def test_a_wrong_csrf_token_with_a_valid_session_is_refused(c: Components) -> None:
    client = client_for(c)
    csrf = sign_in(client)
    cy = _id(client, "cy@mail.example")
    for action in ("unsubscribe", "suppress", "erase"):
        wrong = client.post(
            f"/desk/subscribers/{cy}/{action}",
            data={"csrf_token": csrf[:-2] + "xx", "confirm": "yes"},
        )
        assert wrong.status_code == 403
        missing = client.post(f"/desk/subscribers/{cy}/{action}", data={"confirm": "yes"})
        assert missing.status_code == 403
    assert c.store.subscribers.status("cy@mail.example") == SubscriberStatus.ACTIVE
    assert not c.store.erasures.erased(["cy@mail.example"], c.signing_key())
