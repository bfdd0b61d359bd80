"""Editions as newsletters: two editions with their own sources and audiences, built
and sent on SQLite and PostgreSQL; unsubscribing from one keeps the other; an erased
address gets nothing, cannot be re-imported, and after a confirmed sign-up gets no
second copy of what it had."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from digest import pipeline
from digest.audience.importing import write_import
from digest.audience.imports import read_import
from digest.audience.signup import SignUp, confirm
from digest.audience.unsubscribing import unsubscribe
from digest.components import Components, build_components
from digest.delivery.mime import Sender, build_mime
from digest.delivery.transport import MemoryTransport
from digest.errors import ConfigError
from digest.models import RunReport, SubscriberStatus
from digest.settings.config import load_settings
from digest.store.schema import deliveries
from tests.conftest import FIXED_NOW, Clock, make_article

TECH = """
[[editions]]
name = "tech"
title = "Tech \\"Briefing\\" <weekly>"
sources = ["Northern Ledger"]
schedule = { cron = "0 8 * * 1", timezone = "UTC" }

[[editions.sections]]
name = "Technology"
keywords = ["technology", "software", "internet"]
"""


def _config(project: Path, url: str) -> Path:
    text = project.read_text().replace('url = "sqlite:///../var/digest.db"', f'url = "{url}"')
    text = text.replace(
        'name = "morning"\n',
        'name = "morning"\nsources = ["The Harbour Times", "Civic Wire", "Saved articles"]\n',
        1,
    )
    project.write_text(text + TECH)
    (project.parent / "subscribers.csv").write_text("email,name,timezone,topics\n")
    return project


def _components(config: Path, clock: Clock) -> tuple[Components, MemoryTransport]:
    transport = MemoryTransport()
    settings = load_settings(config, {"DIGEST_SECRET_KEY": "k" * 40})
    return build_components(settings, clock=clock, transport=transport), transport


def _import(c: Components, path: Path, rows: str, edition: str | None = None) -> int:
    path.write_text("email,name,editions\n" + rows)
    names = [e.name for e in c.settings.editions]
    read = read_import(path, [], None, names)
    assert not read.problems, read.problems
    return write_import(c.store, c.signing_key(), read, c.clock(), edition=edition).erased


def _who(transport: MemoryTransport, since: int = 0) -> Counter[tuple[str, str]]:
    return Counter((m.edition_key.partition("/")[0], m.to.email) for m in transport.sent[since:])


def test_two_newsletters_their_sources_audiences_unsubscribe_and_erase(
    project: Path, database_url: str, tmp_path: Path
) -> None:
    clock = Clock(FIXED_NOW)
    c, transport = _components(_config(project, database_url), clock)
    try:
        _import(
            c,
            tmp_path / "people.csv",
            "ana@mail.example,Ana,morning\n"
            "ben@mail.example,Ben,tech\n"
            "cy@mail.example,Cy,\n"
            "dee@mail.example,Dee,morning;tech;morning\n",
        )
        morning = pipeline.run(c, "morning")
        tech = pipeline.run(c, "tech", collect_first=False)
        assert morning.delivered == 3 and tech.delivered == 3
        got = _who(transport)
        assert {e for e, _ in got if e == "morning"} and set(got.values()) == {1}
        assert {w for e, w in got if e == "morning"} == {
            "ana@mail.example",
            "cy@mail.example",
            "dee@mail.example",
        }
        assert {w for e, w in got if e == "tech"} == {
            "ben@mail.example",
            "cy@mail.example",
            "dee@mail.example",
        }
        # Each edition drew on its own sources only.
        built = {n: c.store.editions.latest(n) for n in ("morning", "tech")}
        sources = {
            n: {a.source for s in b.edition.stories for a in s.articles}
            for n, b in built.items()
            if b is not None
        }
        assert sources["tech"] == {"Northern Ledger"}
        assert "Northern Ledger" not in sources["morning"]
        # List-Id per edition, the title's quotes and brackets dropped.
        message = next(m for m in transport.sent if m.edition_key.startswith("tech/"))
        mime = build_mime(message, Sender("d@news.example", "D"), FIXED_NOW)
        assert mime["List-Id"] == '"Tech Briefing weekly" <tech.news.example>'
        assert "/unsubscribe/" in mime["List-Unsubscribe"]

        # Cy leaves tech only; Dee is erased (twice: harmless).
        names = ["morning", "tech"]
        assert unsubscribe(c.store, "cy@mail.example", "tech", clock(), "test", names)
        assert c.store.subscribers.status("cy@mail.example") == SubscriberStatus.ACTIVE
        first = c.store.erasures.erase("dee@mail.example", c.signing_key(), clock())
        again = c.store.erasures.erase("dee@mail.example", c.signing_key(), clock())
        assert first.subscriber and first.deliveries == 2 and not again.subscriber
        assert again.already
        with c.store.engine.connect() as conn:
            emails = set(conn.scalars(select(deliveries.c.email)))
        assert "dee@mail.example" not in emails
        assert _import(c, tmp_path / "again.csv", "dee@mail.example,Dee,\n") == 1
        assert c.store.subscribers.get("dee@mail.example") is None

        clock.now += timedelta(days=1)
        fresh = [
            make_article("n1", source="Northern Ledger", title="Software news of the day"),
            make_article("h1", source="The Harbour Times", title="Harbour news of the day"),
        ]
        c.store.articles.add(fresh, clock())
        sent_before = len(transport.sent)
        pipeline.run(c, "morning", collect_first=False)
        pipeline.run(c, "tech", collect_first=False)
        day2 = _who(transport, sent_before)
        assert set(day2) == {
            ("morning", "ana@mail.example"),
            ("morning", "cy@mail.example"),
            ("tech", "ben@mail.example"),
        }

        # Dee confirms a sign-up to tech: the erasure is lifted, and yesterday's
        # editions, delivered before the erasure, are not delivered a second time.
        wanted = SignUp("dee@mail.example", "Dee", (), clock(), ("tech",))
        assert confirm(c, wanted)
        assert c.store.erasures.erased(["dee@mail.example"], c.signing_key()) == set()
        before = len(transport.sent)
        for name in ("morning", "tech"):
            for stored in c.store.editions.sent_of(name):
                pipeline.send(c, stored, RunReport())
        resent = _who(transport, before)
        assert set(resent) == {("tech", "dee@mail.example")}  # today's tech only
        assert c.store.subscriptions.of("dee@mail.example") == {
            "morning": "unsubscribed",
            "tech": "active",
        }
    finally:
        c.close()


def test_an_edition_without_subscribers_is_built_and_says_nothing_was_sent(
    project: Path, tmp_path: Path
) -> None:
    c, transport = _components(_config(project, f"sqlite:///{tmp_path / 'd.db'}"), Clock())
    try:
        _import(c, tmp_path / "p.csv", "ana@mail.example,Ana,morning\n")
        report = pipeline.run(c, "tech")
        assert report.delivered == 0 and not transport.sent
        assert any("has no subscribers" in note for note in report.notes)
        assert c.store.editions.latest("tech") is not None
    finally:
        c.close()


def test_an_unknown_source_of_an_edition_is_a_config_error(project: Path) -> None:
    project.write_text(project.read_text() + TECH.replace("Northern Ledger", "Nowhere Post"))
    with pytest.raises(ConfigError, match=r"edition 'tech'.*'Nowhere Post'"):
        load_settings(project, {})


@pytest.mark.parametrize("name", ["confirm", "all"])
def test_an_edition_name_that_is_a_page_address_is_refused(project: Path, name: str) -> None:
    project.write_text(project.read_text() + TECH.replace('name = "tech"', f'name = "{name}"'))
    with pytest.raises(ConfigError, match="reserved"):
        load_settings(project, {})


def test_erasing_during_a_send_suppresses_what_was_not_sent_yet() -> None:
    from digest.models import Edition, Subscriber
    from digest.store.database import open_store

    store = open_store("sqlite://")
    try:
        store.subscribers.upsert([Subscriber("ana@mail.example", "Ana")], FIXED_NOW)
        stored = store.editions.save_draft(
            Edition("morning", "M", "M", "2026-11-27", FIXED_NOW, ())
        )
        assert store.ledger.enqueue(stored.id, FIXED_NOW) == 1
        erased = store.erasures.erase("ana@mail.example", b"k" * 32, FIXED_NOW)
        assert erased.deliveries == 1
        assert store.ledger.counts(stored.id) == {"suppressed": 1}
        assert store.ledger.claim(stored.id, 10, "b1", FIXED_NOW, None) == []
    finally:
        store.close()
