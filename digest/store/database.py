"""The database: one :class:`Store` holding a query object per concern (articles,
editions, the delivery ledger, subscribers, runs and leases, the desk, source health).

``open_store(url)`` creates or upgrades the schema with Alembic, then hands back a
:class:`Store`. ``sqlite://`` (in memory) serves unit tests; a file URL serves users.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import StaticPool

from digest.errors import StoreError
from digest.store.articles import ArticleStore
from digest.store.desk import EditionEdits, Editors
from digest.store.editions import EditionStore
from digest.store.health import HealthLog
from digest.store.ledger import Ledger
from digest.store.runs import Leases, RunLog
from digest.store.subscribers import SubscriberStore

MIGRATIONS = Path(__file__).parent / "migrations"


def open_store(url: str) -> Store:
    """Connect, create the SQLite file's folder if needed, and migrate to the latest schema."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"bad database URL {url!r}: {exc}") from None
    kwargs: dict[str, object] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        else:
            kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        migrate(engine)
    except OperationalError as exc:
        raise StoreError(
            f"cannot open database {parsed.render_as_string(hide_password=True)}: {exc.orig}"
        ) from None
    return Store(engine)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Store:
    """The queries, by concern. Each method of each is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.articles = ArticleStore(engine)
        self.editions = EditionStore(engine)
        self.ledger = Ledger(engine)
        self.subscribers = SubscriberStore(engine)
        self.runs = RunLog(engine)
        self.leases = Leases(engine)
        self.editors = Editors(engine)
        self.edits = EditionEdits(engine)
        self.health = HealthLog(engine)

    def close(self) -> None:
        self.engine.dispose()
