"""Self-healing delivery: a row in back-off waits for its next attempt
(``next_attempt_at``) and names the process that claimed it (``claimed_by``); a run
names the local-time group it was for; alerts are raised and resolved once per
problem; rate-limit hits are counted in the database, so several web processes share
one allowance.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digest.store.schema import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("next_attempt_at", UTCDateTime()))
        batch.add_column(sa.Column("claimed_by", sa.String(200)))
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("timezone", sa.String(64)))  # a local-time group's
    op.create_table(
        "alerts",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("notified_at", UTCDateTime()),
        sa.Column("resolved_at", UTCDateTime()),
    )
    op.create_table(
        "rate_hits",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(400), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_rate_hits_key_at", "rate_hits", ["key", "at"])


def downgrade() -> None:
    op.drop_index("ix_rate_hits_key_at", table_name="rate_hits")
    op.drop_table("rate_hits")
    op.drop_table("alerts")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("timezone")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("claimed_by")
        batch.drop_column("next_attempt_at")
