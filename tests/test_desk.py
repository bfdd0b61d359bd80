"""The editor's desk: sign-in, CSRF, edits kept across rebuilds, approval holding the
send, test sends, previews. In process through Starlette's TestClient, on the shipped
config in a temp dir with a real SQLite file and the outbox transport (real .eml files).
"""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from digest import pipeline
from digest.components import Components
from digest.models import RunReport, SubscriberStatus
from digest.scheduler.wiring import Runner
from digest.store.editions import StoredEdition
from digest.web.app import create_app
from tests.conftest import FIXED_NOW, Clock, make_components

EDITOR = "editor@news.example"
PASSWORD = "correct horse battery"
HOSTILE = '<script>alert("x")</script> Tram vote <img src=x onerror=alert(1)>'


DESK_ENVIRON = {"DIGEST_SECRET_KEY": "test-secret-" + "k" * 32}


def require_approval(project: Path) -> Path:
    """The shipped config's morning edition held for an editor's approval."""
    text = project.read_text(encoding="utf-8")
    anchor = 'name = "morning"\n'
    assert text.count(anchor) == 1
    project.write_text(text.replace(anchor, anchor + "requires_approval = true\n"))
    return project


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def c(project: Path, clock: Clock) -> Iterator[Components]:
    components = make_components(project, clock=clock, environ=DESK_ENVIRON)
    components.store.editors.add(EDITOR, PASSWORD, FIXED_NOW)
    yield components
    components.close()


@pytest.fixture
def held(project: Path, clock: Clock) -> Iterator[Components]:
    components = make_components(require_approval(project), clock=clock, environ=DESK_ENVIRON)
    components.store.editors.add(EDITOR, PASSWORD, FIXED_NOW)
    yield components
    components.close()


def client_for(c: Components) -> TestClient:
    return TestClient(create_app(c), follow_redirects=False)


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


def sign_in(client: TestClient) -> str:
    """Sign in; return the session's CSRF token (from the desk page)."""
    login = client.get("/desk/login")
    response = client.post(
        "/desk/login",
        data={"email": EDITOR, "password": PASSWORD, "csrf_token": csrf_from(login.text)},
    )
    assert response.status_code == 303, response.text
    desk = client.get("/desk")
    assert desk.status_code == 200
    return csrf_from(desk.text)


def built(c: Components) -> StoredEdition:
    report = RunReport()
    pipeline.collect(c, report)
    return pipeline.build(c, "morning", report)


def current(c: Components, stored: StoredEdition) -> StoredEdition:
    fresh = c.store.editions.by_id(stored.id)
    assert fresh is not None
    return fresh


def act(client: TestClient, stored: StoredEdition, story: str, csrf: str, **form: str) -> Any:
    return client.post(
        f"/desk/editions/{stored.id}/stories/{story}", data={"csrf_token": csrf, **form}
    )


def approve(client: TestClient, stored: StoredEdition, csrf: str) -> Any:
    """Press Approve on the edition's page (the form carries the version shown)."""
    page = client.get(f"/desk/editions/{stored.id}").text
    found = re.search(r'name="version" value="([^"]+)"', page)
    version = found.group(1) if found else ""
    return client.post(
        f"/desk/editions/{stored.id}/approve", data={"csrf_token": csrf, "version": version}
    )


def outbox_messages(c: Components) -> dict[str, Message]:
    folder = c.settings.delivery.outbox_dir
    return {p.name: email.message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))}


def html_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no HTML part")


# --- signing in -------------------------------------------------------------------------


def test_the_desk_needs_a_session(c: Components) -> None:
    client = client_for(c)
    for path in (
        "/desk",
        "/desk/editions/1",
        "/desk/editions/1/preview",
        "/desk/editions/1/email.html",
    ):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/desk/login"


def test_login_needs_the_csrf_token_and_the_right_password(c: Components) -> None:
    client = client_for(c)
    token = csrf_from(client.get("/desk/login").text)
    no_token = client.post("/desk/login", data={"email": EDITOR, "password": PASSWORD})
    assert no_token.status_code == 403
    wrong = client.post(
        "/desk/login", data={"email": EDITOR, "password": "nope nope nope", "csrf_token": token}
    )
    assert wrong.status_code == 400 and "Wrong email or password" in wrong.text
    unknown = client.post(
        "/desk/login",
        data={"email": "who@news.example", "password": PASSWORD, "csrf_token": token},
    )
    assert unknown.status_code == 400 and unknown.text.count("Wrong email") == 1
    right = client.post(
        "/desk/login", data={"email": EDITOR, "password": PASSWORD, "csrf_token": token}
    )
    assert right.status_code == 303 and right.headers["location"] == "/desk"
    cookie = right.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/desk" in cookie


def test_the_session_cookie_is_secure_over_https(c: Components) -> None:
    client = TestClient(create_app(c), base_url="https://testserver", follow_redirects=False)
    token = csrf_from(client.get("/desk/login").text)
    right = client.post(
        "/desk/login", data={"email": EDITOR, "password": PASSWORD, "csrf_token": token}
    )
    assert "Secure" in right.headers["set-cookie"]


def test_the_session_cookie_is_secure_on_the_public_https_host_even_over_http(
    c: Components,
) -> None:
    """A TLS proxy that forgets X-Forwarded-Proto: the request looks like http, but
    it is for the https site of [web] base_url, so the cookie must not go out plain."""
    client = TestClient(
        create_app(c), base_url="http://digest.news.example", follow_redirects=False
    )
    token = csrf_from(client.get("/desk/login").text)
    right = client.post(
        "/desk/login", data={"email": EDITOR, "password": PASSWORD, "csrf_token": token}
    )
    assert "Secure" in right.headers["set-cookie"]
    local = client_for(c)  # http://testserver: a look on the machine itself
    sign_in(local)


def test_login_is_rate_limited(c: Components) -> None:
    client = client_for(c)
    token = csrf_from(client.get("/desk/login").text)
    statuses = [
        client.post(
            "/desk/login", data={"email": EDITOR, "password": f"wrong {i}", "csrf_token": token}
        ).status_code
        for i in range(6)
    ]
    assert statuses == [400] * 5 + [429]
    blocked = client.post(
        "/desk/login", data={"email": EDITOR, "password": PASSWORD, "csrf_token": token}
    )
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0


def test_logout_ends_the_session(c: Components) -> None:
    client = client_for(c)
    csrf = sign_in(client)
    assert client.post("/desk/logout", data={}).status_code == 403
    assert client.post("/desk/logout", data={"csrf_token": csrf}).status_code == 303
    assert client.get("/desk").status_code == 303


def test_a_new_password_ends_sessions(c: Components) -> None:
    client = client_for(c)
    sign_in(client)
    assert c.store.editors.set_password(EDITOR, "another long password")
    assert client.get("/desk").status_code == 303


def test_sessions_expire(c: Components, clock: Clock) -> None:
    client = client_for(c)
    sign_in(client)
    clock.now = FIXED_NOW + timedelta(hours=13)
    assert client.get("/desk").status_code == 303


# --- editing ----------------------------------------------------------------------------


def test_editions_are_listed_with_their_status(c: Components) -> None:
    stored = built(c)
    client = client_for(c)
    sign_in(client)
    page = client.get("/desk").text
    assert f"/desk/editions/{stored.id}" in page and "draft" in page
    detail = client.get(f"/desk/editions/{stored.id}")
    assert detail.status_code == 200
    for story in stored.edition.stories:
        assert f'id="story-{story.id}"' in detail.text


def test_forms_without_the_session_token_change_nothing(c: Components) -> None:
    stored = built(c)
    client = client_for(c)
    sign_in(client)
    story = stored.edition.stories[0]
    before = current(c, stored)
    other = client_for(c)
    other_csrf = sign_in(other)  # a valid token, but of another session
    for token in ("", "forged", other_csrf):
        response = act(client, stored, story.id, token, action="drop")
        assert response.status_code == 403
    for verb in ("approve", "rebuild", "test"):
        assert client.post(f"/desk/editions/{stored.id}/{verb}", data={}).status_code == 403
    assert current(c, stored) == before


def test_reorder_moves_a_story_and_the_order_survives_a_rebuild(c: Components) -> None:
    stored = built(c)
    client = client_for(c)
    csrf = sign_in(client)
    section = next(s for s in stored.edition.sections if len(s.stories) >= 2)
    first, second = section.stories[0].id, section.stories[1].id
    assert act(client, stored, second, csrf, action="up").status_code == 303
    after = next(s for s in current(c, stored).edition.sections if s.name == section.name)
    assert [st.id for st in after.stories[:2]] == [second, first]
    rebuilt = pipeline.build(c, "morning", RunReport())
    again = next(s for s in rebuilt.edition.sections if s.name == section.name)
    assert [st.id for st in again.stories[:2]] == [second, first]
    # the top story cannot move further up
    assert act(client, stored, second, csrf, action="up").status_code == 400


def test_a_rewritten_headline_and_summary_survive_a_rebuild_and_are_escaped(
    c: Components,
) -> None:
    stored = built(c)
    client = client_for(c)
    csrf = sign_in(client)
    story = stored.edition.stories[0]
    response = act(
        client, stored, story.id, csrf, action="text", headline=HOSTILE, summary="Short and clear."
    )
    assert response.status_code == 303
    edited = next(s for s in current(c, stored).edition.stories if s.id == story.id)
    assert edited.headline == HOSTILE and edited.summary == "Short and clear."
    rebuilt = pipeline.build(c, "morning", RunReport())
    kept = next(s for s in rebuilt.edition.stories if s.id == story.id)
    assert kept.headline == HOSTILE and kept.summary == "Short and clear."
    page = client.get(f"/desk/editions/{stored.id}").text
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    preview = client.get(f"/desk/editions/{stored.id}/email.html").text
    assert "<script>alert" not in preview and "<img src=x" not in preview
    assert "&lt;script&gt;alert" in preview
    # emptying the field goes back to the generated headline
    act(client, stored, story.id, csrf, action="text", headline="", summary="")
    back = next(s for s in current(c, stored).edition.stories if s.id == story.id)
    assert back.headline == story.headline and back.summary == story.summary


def test_drop_restore_pin_and_move(c: Components) -> None:
    stored = built(c)
    client = client_for(c)
    csrf = sign_in(client)
    story = stored.edition.stories[-1]
    home = next(s.name for s in stored.edition.sections if story in s.stories)
    act(client, stored, story.id, csrf, action="drop")
    assert story.id not in {s.id for s in current(c, stored).edition.stories}
    rebuilt = pipeline.build(c, "morning", RunReport())
    assert story.id not in {s.id for s in rebuilt.edition.stories}
    assert "Restore" in client.get(f"/desk/editions/{stored.id}").text
    act(client, stored, story.id, csrf, action="restore")
    assert story.id in {s.id for s in current(c, stored).edition.stories}

    target = next(s.name for s in stored.edition.sections if s.name != home)
    act(client, stored, story.id, csrf, action="move", section=target)
    moved = next(s for s in current(c, stored).edition.sections if s.name == target)
    assert story.id in {st.id for st in moved.stories}
    assert act(client, stored, story.id, csrf, action="move", section="Nowhere").status_code == 400

    act(client, stored, story.id, csrf, action="pin")
    pinned = next(s for s in current(c, stored).edition.sections if s.name == target)
    assert pinned.stories[0].id == story.id
    assert act(client, stored, "no-such-story", csrf, action="pin").status_code == 400


def test_a_pinned_story_survives_the_caps(project: Path, clock: Clock) -> None:
    text = project.read_text(encoding="utf-8")
    project.write_text(text.replace("max_stories = 20", "max_stories = 3"))
    c = make_components(project, clock=clock, environ=DESK_ENVIRON)
    c.store.editors.add(EDITOR, PASSWORD, FIXED_NOW)
    stored = built(c)
    assert len(stored.edition.stories) == 3
    # Uncapped, the edition has more; pin one the caps leave out by adding it first.
    client = client_for(c)
    csrf = sign_in(client)
    weakest = min(stored.edition.stories, key=lambda s: s.score)
    act(client, stored, weakest.id, csrf, action="pin")
    c.close()
    text = project.read_text(encoding="utf-8")
    project.write_text(text.replace("max_stories = 3", "max_stories = 1"))
    c = make_components(project, clock=clock, environ=DESK_ENVIRON)
    rebuilt = pipeline.build(c, "morning", RunReport())
    ids = [s.id for s in rebuilt.edition.stories]
    assert weakest.id in ids and len(ids) == 1
    c.close()


# --- approval, preview, test sends -------------------------------------------------------


def test_an_edition_that_needs_approval_is_held_then_sent_with_the_edit(
    held: Components,
) -> None:
    c = held
    report = pipeline.run(c, "morning")
    assert report.held and report.delivered == 0
    assert not outbox_messages(c)
    assert c.store.runs.recent(1)[0].status == "held"
    stored = (
        c.store.editions.get("morning", report.edition.split("/")[1]) if report.edition else None
    )
    assert stored is not None and stored.status == "draft"
    # `digest send` holds it too
    assert pipeline.send(c, stored, RunReport()) is None and not outbox_messages(c)

    client = client_for(c)
    csrf = sign_in(client)
    assert "held until an editor approves" in client.get(f"/desk/editions/{stored.id}").text
    story = stored.edition.stories[0]
    act(client, stored, story.id, csrf, action="text", headline="An editor's better headline")
    assert approve(client, stored, csrf).status_code == 303
    approved = current(c, stored)
    assert approved.status == "approved" and approved.approved_by == EDITOR
    # approving twice is a conflict; editing again sends it back to draft
    assert approve(client, stored, csrf).status_code == 409
    act(client, stored, story.id, csrf, action="pin")
    assert current(c, stored).status == "draft"
    approve(client, stored, csrf)

    # The scheduler's check releases a held and since approved edition.
    Runner(c).release_approved()
    messages = outbox_messages(c)
    assert messages and current(c, stored).status == "sent"
    # Subscribers who chose other sections do not get that story; the others do.
    assert any("An editor's better headline" in html_part(m) for m in messages.values())
    page = client.get(f"/desk/editions/{stored.id}").text
    assert "Approve" not in page.split("<h2>")[0] or 'status">sent' in page
    assert act(client, stored, story.id, csrf, action="drop").status_code == 409


def test_release_waits_for_approval(held: Components) -> None:
    c = held
    pipeline.run(c, "morning")
    Runner(c).release_approved()
    assert not outbox_messages(c)


def test_reopen_takes_an_approval_back(c: Components) -> None:
    stored = built(c)
    client = client_for(c)
    csrf = sign_in(client)
    approve(client, stored, csrf)
    assert current(c, stored).status == "approved"
    response = client.post(f"/desk/editions/{stored.id}/reopen", data={"csrf_token": csrf})
    assert response.status_code == 303 and current(c, stored).status == "draft"
    assert current(c, stored).approved_by is None


def test_preview_is_the_delivery_rendering_at_two_widths_and_as_text(c: Components) -> None:
    stored = built(c)
    client = client_for(c)
    sign_in(client)
    page = client.get(f"/desk/editions/{stored.id}/preview")
    assert page.status_code == 200
    assert 'width="640"' in page.text and 'width="375"' in page.text
    assert "frame-src 'self'" in page.headers["content-security-policy"]
    html = client.get(f"/desk/editions/{stored.id}/email.html")
    expected = c.renderer.preview(stored.edition, theme="classic").html
    # The same renderer: identical but for the per-render nonce-free output.
    assert html.text == expected
    csp = html.headers["content-security-policy"]
    assert "sandbox" in csp and "script-src" not in csp and "frame-ancestors 'self'" in csp
    text = client.get(f"/desk/editions/{stored.id}/email.txt")
    assert text.headers["content-type"].startswith("text/plain")
    assert stored.edition.stories[0].headline in text.text


def test_a_test_send_goes_to_one_address_outside_the_ledger(c: Components) -> None:
    stored = built(c)
    client = client_for(c)
    csrf = sign_in(client)
    bad = client.post(
        f"/desk/editions/{stored.id}/test", data={"csrf_token": csrf, "email": "nope"}
    )
    assert bad.status_code == 400 and "Not an email address" in bad.text
    response = client.post(
        f"/desk/editions/{stored.id}/test", data={"csrf_token": csrf, "email": "Me@Desk.Example"}
    )
    assert response.status_code == 303
    messages = list(outbox_messages(c).values())
    assert len(messages) == 1
    assert messages[0]["Subject"].startswith("[Test] ")
    assert messages[0]["To"].endswith("Me@desk.example>") or "Me@desk.example" in messages[0]["To"]
    assert c.store.ledger.counts(stored.id) == {}
    assert current(c, stored).status == "draft"


def test_delivery_numbers_show_after_a_send(c: Components, clock: Clock) -> None:
    report = pipeline.run(c, "morning")
    assert report.delivered > 0
    stored = c.store.editions.latest("morning")
    assert stored is not None
    clock.now = FIXED_NOW + timedelta(minutes=5)
    someone = c.store.ledger.rows(stored.id)[0].email
    c.store.subscribers.set_status(someone, SubscriberStatus.BOUNCED, "test", clock.now)
    client = client_for(c)
    sign_in(client)
    page = client.get(f"/desk/editions/{stored.id}").text
    accepted = c.store.ledger.counts(stored.id)["accepted"]
    assert re.search(rf"<td>Accepted</td><td>{accepted}</td>", page)
    assert re.search(r"<td>Bounced since</td><td>1</td>", page)


def test_rebuild_from_the_desk_keeps_edits(c: Components) -> None:
    stored = built(c)
    client = client_for(c)
    csrf = sign_in(client)
    story = stored.edition.stories[0]
    act(client, stored, story.id, csrf, action="text", headline="Kept headline")
    response = client.post(f"/desk/editions/{stored.id}/rebuild", data={"csrf_token": csrf})
    assert response.status_code == 303 and "done=rebuilt" in response.headers["location"]
    assert "Kept headline" in {s.headline for s in current(c, stored).edition.stories}


def test_unknown_editions_are_404(c: Components) -> None:
    client = client_for(c)
    sign_in(client)
    assert client.get("/desk/editions/999").status_code == 404


def test_preview_as_each_group_of_subscribers(c: Components) -> None:
    stored = built(c)
    c.store.subscribers.upsert(c.subscribers(), FIXED_NOW)
    client = client_for(c)
    sign_in(client)
    page = client.get(f"/desk/editions/{stored.id}/preview").text
    assert "?as=1" in page  # the shipped list has subscribers who chose sections
    everything = client.get(f"/desk/editions/{stored.id}/email.txt?as=0").text
    chosen = client.get(f"/desk/editions/{stored.id}/email.txt?as=1").text
    assert len(chosen) < len(everything)
    for bogus in ("99", "-1", "x"):
        assert client.get(f"/desk/editions/{stored.id}/email.txt?as={bogus}").text == everything


def test_approval_is_of_the_version_the_editor_saw(c: Components) -> None:
    stored = built(c)
    alice, bob = client_for(c), client_for(c)
    alice_csrf, bob_csrf = sign_in(alice), sign_in(bob)
    seen = alice.get(f"/desk/editions/{stored.id}").text
    version = re.search(r'name="version" value="([^"]+)"', seen)
    assert version
    story = stored.edition.stories[0]
    act(bob, stored, story.id, bob_csrf, action="text", headline="Bob's late change")
    stale = alice.post(
        f"/desk/editions/{stored.id}/approve",
        data={"csrf_token": alice_csrf, "version": version.group(1)},
    )
    assert stale.status_code == 409 and current(c, stored).status == "draft"
    assert approve(alice, stored, alice_csrf).status_code == 303
    assert current(c, stored).status == "approved"


def test_an_edit_while_sending_starts_is_refused_not_lost(c: Components) -> None:
    stored = built(c)
    client = client_for(c)
    csrf = sign_in(client)
    story = stored.edition.stories[0]
    # The sender claimed the edition after the desk read it: the edit is refused.
    assert c.store.editions.start_sending(current(c, stored))
    response = act(client, stored, story.id, csrf, action="drop")
    assert response.status_code == 409
    assert story.id in {s.id for s in current(c, stored).edition.stories}
    assert c.store.edits.all(stored.id) == {}


def test_a_send_of_a_version_changed_meanwhile_sends_nothing(c: Components) -> None:
    stored = built(c)
    client = client_for(c)
    csrf = sign_in(client)
    snapshot = current(c, stored)  # what a sender has read and rendered
    act(client, stored, stored.edition.stories[0].id, csrf, action="drop")
    report = RunReport()
    assert pipeline.send(c, snapshot, report) is None
    assert not outbox_messages(c) and current(c, stored).status == "draft"
    assert any("changed while it was being prepared" in note for note in report.notes)
    pipeline.send(c, current(c, stored), RunReport())  # the next run sends the current one
    assert outbox_messages(c) and current(c, stored).status == "sent"


def test_a_test_send_can_carry_one_groups_sections(c: Components) -> None:
    stored = built(c)
    c.store.subscribers.upsert(c.subscribers(), FIXED_NOW)
    client = client_for(c)
    csrf = sign_in(client)
    assert 'name="as"' in client.get(f"/desk/editions/{stored.id}").text
    for group, address in (("0", "all@desk.example"), ("1", "some@desk.example")):
        response = client.post(
            f"/desk/editions/{stored.id}/test",
            data={"csrf_token": csrf, "email": address, "as": group},
        )
        assert response.status_code == 303
    sizes = {str(m["To"]): len(html_part(m)) for m in outbox_messages(c).values()}
    assert sizes["some@desk.example"] < sizes["all@desk.example"]
