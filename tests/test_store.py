"""The store on a real SQLite file: migrations, opening for a dry run, de-duplication,
editions, the ledger."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import StatementError

from digest.errors import ConfigError
from digest.models import Edition, Ranking, Section, Story, StoryLink, StoryRef
from digest.serialise import edition_from_dict, edition_to_dict
from digest.store.database import MIGRATIONS, Store, open_store, open_store_unchanged
from digest.store.schema import metadata
from tests.conftest import FIXED_NOW, count_rows, make_article


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return open_store(f"sqlite:///{tmp_path / 'var' / 'digest.db'}")


def _edition(period: str = "2026-11-27", article_ids: tuple[str, ...] = ("a1",)) -> Edition:
    story = Story(
        id="s1",
        headline="Headline",
        summary="Summary.",
        articles=tuple(
            StoryLink(a, "Outlet", "Title", f"https://outlet.example/{a}") for a in article_ids
        ),
    )
    return Edition(
        name="morning",
        title="Morning",
        subject="Morning",
        period=period,
        built_at=FIXED_NOW,
        sections=(Section("World", (story,)),),
    )


def test_migrations_create_the_schema_the_code_uses(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    inspector = inspect(store.engine)
    for table in metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name
    assert "alembic_version" in inspector.get_table_names()


def test_reopening_an_existing_file_keeps_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    open_store(url).articles.add([make_article("a1")], FIXED_NOW)
    assert count_rows(open_store(url), "articles") == 1


def test_opening_unchanged_writes_nothing(database_url: str, tmp_path: Path) -> None:
    # No file (or no schema yet): an empty store in memory, and nothing made.
    missing = tmp_path / "new" / "digest.db"
    empty = open_store_unchanged(f"sqlite:///{missing}")
    assert count_rows(empty, "subscribers") == 0 and not missing.parent.exists()
    empty.close()
    blank = open_store_unchanged(database_url)
    assert str(blank.engine.url) == "sqlite://"
    blank.close()
    # Up to date: read as it is.
    open_store(database_url).articles.add([make_article("a1")], FIXED_NOW)
    current = open_store_unchanged(database_url)
    assert count_rows(current, "articles") == 1
    current.close()


def test_an_older_schema_is_not_migrated_by_a_dry_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = create_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0012")
    engine.dispose()
    with pytest.raises(ConfigError, match=r"is at revision 0012.*a dry run does not migrate it"):
        open_store_unchanged(url)
    with create_engine(url).connect() as connection:
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == "0012"


def test_same_article_twice_is_stored_once(store: Store) -> None:
    assert store.articles.add([make_article("a1"), make_article("a2")], FIXED_NOW) == 2
    assert store.articles.add([make_article("a1"), make_article("a1")], FIXED_NOW) == 0
    assert count_rows(store, "articles") == 2


def test_articles_for_edition_respects_window_and_sent_editions(store: Store) -> None:
    store.articles.add([make_article("old")], FIXED_NOW - timedelta(days=3))
    store.articles.add([make_article("a1"), make_article("a2")], FIXED_NOW)
    since = FIXED_NOW - timedelta(hours=48)
    assert {a.id for a in store.articles.for_edition("morning", since)} == {"a1", "a2"}

    stored = store.editions.save_draft(_edition(article_ids=("a1",)))
    # A draft does not consume articles; a sending/sent edition does.
    assert {a.id for a in store.articles.for_edition("morning", since)} == {"a1", "a2"}
    store.editions.set_status(stored.id, "sent")
    assert {a.id for a in store.articles.for_edition("morning", since)} == {"a2"}
    assert {a.id for a in store.articles.for_edition("evening", since)} == {"a1", "a2"}


def test_sent_stories_are_those_of_editions_no_longer_drafts(store: Store) -> None:
    store.articles.add([make_article("a1"), make_article("a2")], FIXED_NOW - timedelta(days=1))
    store.articles.add([make_article("a3")], FIXED_NOW)
    yesterday = store.editions.save_draft(_edition("2026-11-26", ("a1", "a2")))
    store.editions.save_draft(_edition("2026-11-27", ("a3",)))  # today's draft: not sent
    since = FIXED_NOW - timedelta(hours=48)
    assert store.articles.sent_stories("morning", since) == []
    store.editions.set_status(yesterday.id, "sent")
    (sent,) = store.articles.sent_stories("morning", since)
    assert sent.ref == StoryRef("morning/2026-11-26", "s1")
    assert [a.id for a in sent.articles] == ["a1", "a2"]
    assert sent.articles[0].text == make_article("a1").text
    assert store.articles.sent_stories("evening", since) == []
    assert (
        store.articles.sent_stories("morning", FIXED_NOW + timedelta(hours=1)) == []
    )  # built before


def test_a_sent_edition_is_never_replaced(store: Store) -> None:
    store.articles.add([make_article("a1"), make_article("a2")], FIXED_NOW)
    first = store.editions.save_draft(_edition(article_ids=("a1",)))
    rebuilt = store.editions.save_draft(_edition(article_ids=("a2",)))
    assert rebuilt.id == first.id
    assert (
        store.editions.get("morning", "2026-11-27").edition.stories[0].articles[0].article_id
        == "a2"
    )  # type: ignore[union-attr]
    store.editions.set_status(first.id, "sending")
    again = store.editions.save_draft(_edition(article_ids=("a1",)))
    assert again.status == "sending"
    assert again.edition.stories[0].articles[0].article_id == "a2"


def test_edition_round_trips_through_json(store: Store) -> None:
    store.articles.add([make_article("a1")], FIXED_NOW)
    store.editions.save_draft(_edition())
    stored = store.editions.latest("morning")
    assert stored is not None
    assert stored.edition == _edition()


def test_ranking_and_update_round_trip_through_json(store: Store) -> None:
    edition = _edition()
    story = replace(
        edition.sections[0].stories[0],
        score=5.0,
        ranking=Ranking(outlets=2, freshness=0.5, weight=2.0),
        update_of=StoryRef("morning/2026-11-26", "s0"),
    )
    edition = replace(edition, sections=(Section("World", (story,)),))
    data = edition_to_dict(edition)
    assert data["sections"][0]["stories"][0]["ranking"] == {
        "outlets": 2,
        "freshness": 0.5,
        "weight": 2.0,
        "total": 5.0,
    }
    assert data["sections"][0]["stories"][0]["update_of"] == {
        "edition": "morning/2026-11-26",
        "story": "s0",
    }
    store.articles.add([make_article("a1")], FIXED_NOW)
    store.editions.save_draft(edition)
    stored = store.editions.latest("morning")
    assert stored is not None and stored.edition == edition


def test_an_edition_stored_before_rankings_still_loads() -> None:
    data = edition_to_dict(_edition())
    for story in data["sections"][0]["stories"]:
        del story["ranking"], story["update_of"]
    (story,) = edition_from_dict(data).stories
    assert story.ranking is None and story.update_of is None


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(StatementError, match="naive"):
        store.articles.add([make_article("a1")], FIXED_NOW.replace(tzinfo=None))


def test_sent_editions_newest_first_and_never_drafts(store: Store) -> None:
    for period in ("2026-11-25", "2026-11-26", "2026-11-27"):
        store.editions.save_draft(_edition(period, article_ids=()))
    for period in ("2026-11-25", "2026-11-26"):
        stored = store.editions.get("morning", period)
        assert stored is not None
        store.editions.set_status(stored.id, "sent")

    listed = store.editions.sent()

    assert [(e.name, e.period) for e in listed] == [
        ("morning", "2026-11-26"),
        ("morning", "2026-11-25"),
    ]
    assert store.editions.status("morning", "2026-11-26") == "sent"
    assert store.editions.status("morning", "2026-11-27") == "draft"
    assert store.editions.status("morning", "2026-01-01") is None
