"""The database schema (SQLAlchemy Core). Alembic migrations in ``migrations/``
create it; keep the two in step (a test compares them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, whatever the database keeps (SQLite keeps naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware times")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

articles = Table(
    "articles",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("source", String(200), nullable=False),
    Column("url", Text),
    Column("title", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("author", Text),
    Column("credit", String(100)),
    Column("topic_hint", String(100)),
    Column("published", UTCDateTime()),
    Column("collected_at", UTCDateTime(), nullable=False),
    Column("image", Text),
    Column("language", String(35)),  # BCP 47 tag, when the source or page says
    Column("guid", Text),  # the feed item's GUID: its identity within the source
    Column("outlet", String(200)),  # the publisher, when not the source's name
    Index("ix_articles_collected_at", "collected_at"),
    # An item's link finds the same article from another source; hash: URLs can be long.
    Index("ix_articles_url", "url", postgresql_using="hash"),
)

editions = Table(
    "editions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(63), nullable=False),
    Column("period", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # draft | approved | sending | sent
    Column("built_at", UTCDateTime(), nullable=False),
    Column("payload", Text, nullable=False),  # the edition as JSON
    Column("approved_at", UTCDateTime()),
    Column("approved_by", String(320)),
    UniqueConstraint("name", "period", name="uq_editions_name_period"),
)

edition_articles = Table(
    "edition_articles",
    metadata,
    Column("edition_id", Integer, ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True),
    Column("article_id", String(64), ForeignKey("articles.id"), primary_key=True),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("edition_id", Integer, ForeignKey("editions.id", ondelete="CASCADE"), nullable=False),
    Column("email", String(320), nullable=False),
    # pending -> sending -> accepted | failed | rejected | ambiguous; suppressed
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("message_id", String(200)),
    Column("error", Text),
    Column("updated_at", UTCDateTime(), nullable=False),
    # The claim a row was sent under: a provider batch id (scheduled sends) or a local id.
    Column("batch_id", String(100)),
    Column("send_at", UTCDateTime()),
    # A row put back after a failed or cancelled attempt waits until then (back-off).
    Column("next_attempt_at", UTCDateTime()),
    Column("claimed_by", String(200)),  # the lease holder of the last claim
    # Handed to a one-message-at-a-time transport (SMTP: before the final dot).
    Column("handed_at", UTCDateTime()),
    UniqueConstraint("edition_id", "email", name="uq_deliveries_edition_email"),
    Index("ix_deliveries_edition_state", "edition_id", "state"),
    Index("ix_deliveries_batch", "batch_id"),
)

subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),  # normalised, lower-case
    Column("name", Text, nullable=False, default=""),
    Column("timezone", String(64), nullable=False, default="UTC"),
    Column("topics", Text, nullable=False, default=""),  # ';'-separated section names
    # active | paused | pending | unsubscribed | bounced | complained | dropped | blocklisted
    Column("status", String(16), nullable=False),
    Column("status_reason", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    # Set when the subscriber chose their own sections, time zone or pause on the
    # preferences page: a CSV import then keeps their choice.
    Column("preferences_set_at", UTCDateTime()),
)

# One row per subscriber and edition (a newsletter). Edition "*" is every edition; a
# row for a named edition overrides it (migration 0013 explains).
subscriptions = Table(
    "subscriptions",
    metadata,
    Column(
        "subscriber_id",
        Integer,
        ForeignKey("subscribers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("edition", String(63), primary_key=True),
    Column("status", String(16), nullable=False),  # active | unsubscribed
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_subscriptions_edition_status", "edition", "status"),
)

# The keyed hash (HMAC-SHA256, the signing key) of each erased address.
erasures = Table(
    "erasures",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("erased_at", UTCDateTime(), nullable=False),
)

webhook_events = Table(
    "webhook_events",
    metadata,
    Column("event_id", String(100), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("email", String(320), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
)

summary_cache = Table(
    "summary_cache",
    metadata,
    Column("key", String(64), primary_key=True),  # sha256 of model, prompt and sources
    Column("summary", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # run | catch-up | send | collect
    Column("edition", String(63)),
    Column("period", String(32)),
    Column("timezone", String(64)),  # the local-time delivery group, if it was one's
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    # running | ok | partial | held | expired | skipped | failed | interrupted
    Column("status", String(16), nullable=False),
    Column("summary", Text),  # JSON counts
    Column("error", Text),
    Column("holder", String(200)),  # the process that ran it (its lease holder)
    Index("ix_runs_edition_started", "edition", "started_at"),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)

# The validators of each source's last full answer, sent back as If-None-Match /
# If-Modified-Since (conditional GET). Kept only while the source's URL is the same.
source_state = Table(
    "source_state",
    metadata,
    Column("source", String(200), primary_key=True),
    Column("url", Text, nullable=False),
    Column("etag", Text),
    Column("last_modified", String(100)),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# Every fetch of every source (source health); pruned after FETCH_HISTORY.
fetches = Table(
    "fetches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(200), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # ok | not_modified | failed
    Column("new_items", Integer, nullable=False),  # stored for the first time
    Column("seen_items", Integer, nullable=False),  # the items the source listed
    # seen_items = new_items + known_items + skipped_items
    Column("known_items", Integer, nullable=False, server_default="0"),  # stored already
    Column("skipped_items", Integer, nullable=False, server_default="0"),
    Column("skip_reasons", Text),  # JSON: reason -> count of the skipped items
    Column("error", Text),
    Index("ix_fetches_source_id", "source", "id"),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(300), nullable=False),  # scrypt$n$r$p$salt$hash
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_login_at", UTCDateTime()),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # sha256 of the cookie value
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)

edition_edits = Table(
    "edition_edits",
    metadata,
    Column("edition_id", Integer, ForeignKey("editions.id", ondelete="CASCADE"), primary_key=True),
    Column("story_id", String(64), primary_key=True),
    Column("data", Text, nullable=False),  # the editor's changes to one story, as JSON
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(320)),
)

# One row per problem monitoring found (an edition past its deadline, a send stopped on
# a refused key, ambiguous deliveries, a source failing run after run): notified once,
# resolved once.
alerts = Table(
    "alerts",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("message", Text, nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("notified_at", UTCDateTime()),
    Column("resolved_at", UTCDateTime()),
)

# Hits of the web app's rate limits (sign-in, sign-up), shared by every web process.
rate_hits = Table(
    "rate_hits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(400), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Index("ix_rate_hits_key_at", "key", "at"),
)
