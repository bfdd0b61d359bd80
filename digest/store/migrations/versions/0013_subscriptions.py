"""Subscriptions per edition and erasures.

``subscriptions``: one row per subscriber and edition (a newsletter), with its own
status and dates. The edition ``*`` stands for every edition, present and future: a
row for a named edition overrides it (an unsubscribe from one newsletter is a row
``unsubscribed`` beside an active ``*``). The editions in a configuration are not known
when a migration runs, so existing installations migrate with one active ``*`` row per
subscriber: everyone stays subscribed to every edition, as before.

``erasures``: the keyed hash (HMAC-SHA256 under the signing key) of each erased
address, so a later import of it is refused unless it confirms a sign-up again.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digest.store.schema import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("subscriber_id", sa.Integer(), primary_key=True),
        sa.Column("edition", sa.String(63), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["subscriber_id"], ["subscribers.id"], ondelete="CASCADE"),
    )
    op.create_index("ix_subscriptions_edition_status", "subscriptions", ["edition", "status"])
    op.create_table(
        "erasures",
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sa.Column("erased_at", UTCDateTime(), nullable=False),
    )
    # Everyone subscribed to every edition: what the installation did before.
    op.execute(
        "INSERT INTO subscriptions (subscriber_id, edition, status, created_at, updated_at) "
        "SELECT id, '*', 'active', created_at, updated_at FROM subscribers"
    )


def downgrade() -> None:
    op.drop_table("erasures")
    op.drop_index("ix_subscriptions_edition_status", table_name="subscriptions")
    op.drop_table("subscriptions")
