"""The database: one :class:`Store` holding a query object per concern (articles,
editions, the delivery ledger, subscribers, runs and leases, the desk, source health).

``open_store(url)`` creates or upgrades the schema with Alembic, then hands back a
:class:`Store`; ``open_store_unchanged(url)``, for a dry run, writes nothing.
``sqlite://`` (in memory) serves unit tests; a file URL serves users.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import URL, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

from digest.errors import ConfigError
from digest.store.alerts import AlertLog
from digest.store.articles import ArticleStore
from digest.store.desk import EditionEdits, Editors
from digest.store.editions import EditionStore
from digest.store.erasures import ErasureStore
from digest.store.health import HealthLog
from digest.store.leases import Leases
from digest.store.ledger import Ledger
from digest.store.runs import RunLog
from digest.store.subscriber_list import SubscriberList
from digest.store.subscribers import SubscriberStore
from digest.store.subscriptions import SubscriptionStore

MIGRATIONS = Path(__file__).parent / "migrations"


def open_store(url: str) -> Store:
    """Connect, create the SQLite file's folder if needed, and migrate to the latest
    schema. A URL, driver, file or schema digest cannot use is a :class:`ConfigError`
    saying which (nothing is written)."""
    parsed = _parse(url)
    shown = parsed.render_as_string(hide_password=True)
    lock: Path | None = None
    database = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        lock = Path(database + ".migrate-lock")
    engine = _engine(url, parsed)
    try:
        with _file_lock(lock):
            migrate(engine)
    except DatabaseError as exc:
        engine.dispose()
        raise _url_error(f"cannot open database {shown}: {exc.orig}") from None
    except CommandError as exc:
        engine.dispose()
        raise _url_error(
            f"the schema of {shown} is newer than this version of digest ({exc}): "
            "upgrade digest, or use another database"
        ) from None
    return Store(engine)


def open_store_unchanged(url: str) -> Store:
    """The database as it is, for a dry run: nothing is created, migrated or written
    by opening it. A database that does not exist yet (no SQLite file, or no schema)
    is an empty one in memory; one whose schema is older than this version's is a
    :class:`ConfigError` (reading it would need a migration, which is a write)."""
    parsed = _parse(url)
    shown = parsed.render_as_string(hide_password=True)
    database = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if parsed.get_backend_name() == "sqlite" and not (database and Path(database).is_file()):
        return open_store("sqlite://")
    engine = _engine(url, parsed)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except DatabaseError as exc:
        engine.dispose()
        raise _url_error(f"cannot open database {shown}: {exc.orig}") from None
    if current is None:
        engine.dispose()
        return open_store("sqlite://")
    head = _scripts().get_current_head()
    if current != head:
        engine.dispose()
        raise _url_error(
            f"the schema of {shown} is at revision {current}, this version of digest uses "
            f"{head}: a dry run does not migrate it; any command that writes (or "
            "'digest subscribers list') migrates it first"
        )
    return Store(engine)


def _engine(url: str, parsed: URL) -> Engine:
    kwargs: dict[str, object] = {}
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite and parsed.database in (None, "", ":memory:"):
        kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    try:
        engine = create_engine(url, **kwargs)
    except NoSuchModuleError:
        raise _url_error(f"{parsed.drivername}:// is not a database digest can use") from None
    except ModuleNotFoundError as exc:
        raise _url_error(
            f"the driver for {parsed.drivername}:// is not installed ({exc.name})"
        ) from None
    if sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError as exc:
        raise _url_error(f"bad database URL {url!r}: {exc}") from None


def _url_error(message: str) -> ConfigError:
    hint = " (digest uses sqlite:///PATH or postgresql+psycopg://USER@HOST/DB)"
    return ConfigError(message + hint, field="storage.url / $DIGEST_DATABASE_URL")


@contextmanager
def _file_lock(path: Path | None) -> Iterator[None]:
    """Holds an exclusive lock on ``path`` (released when the process dies, too), so
    processes starting together on a new SQLite file migrate it one at a time. A lock
    file this process made is removed again when what it guarded failed (a file that
    is no database, a damaged one): a bad setting leaves nothing behind."""
    if path is None:
        yield
        return
    made = not path.exists()
    done = False
    try:
        with path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
                done = True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        if made and not done:
            path.unlink(missing_ok=True)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# The key of the PostgreSQL advisory lock held while migrating ("digest" in ASCII).
MIGRATION_LOCK = 0x646967657374


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision; one process at a time (on
    PostgreSQL an advisory lock held by the migration's transaction). A schema from
    a newer version of digest raises ``CommandError`` before anything changes."""
    config = _config()
    script = ScriptDirectory.from_config(config)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        current = MigrationContext.configure(connection).get_current_revision()
        if current is not None and current not in {r.revision for r in script.walk_revisions()}:
            raise CommandError(
                f"revision {current} is unknown; this version knows {script.get_current_head()}"
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


class Store:
    """The queries, by concern. Each method of each is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.articles = ArticleStore(engine)
        self.editions = EditionStore(engine)
        self.ledger = Ledger(engine)
        self.subscribers = SubscriberStore(engine)
        self.subscriptions = SubscriptionStore(engine)
        self.erasures = ErasureStore(engine)
        self.subscriber_list = SubscriberList(engine)
        self.runs = RunLog(engine)
        self.leases = Leases(engine)
        self.editors = Editors(engine)
        self.edits = EditionEdits(engine)
        self.health = HealthLog(engine)
        self.alerts = AlertLog(engine)

    def close(self) -> None:
        self.engine.dispose()
