"""Source health and conditional GET: every fetch of a source, the validators
(ETag, Last-Modified) of each source's last answer, and an article's language.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digest.store.schema import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_state",
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("etag", sa.Text()),
        sa.Column("last_modified", sa.String(100)),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "fetches",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("new_items", sa.Integer(), nullable=False),
        sa.Column("seen_items", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text()),
    )
    op.create_index("ix_fetches_source_id", "fetches", ["source", "id"])
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("language", sa.String(35)))


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("language")
    op.drop_index("ix_fetches_source_id", table_name="fetches")
    op.drop_table("fetches")
    op.drop_table("source_state")
