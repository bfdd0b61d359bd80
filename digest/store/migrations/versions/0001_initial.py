"""Articles, editions, the articles of each edition, deliveries.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digest.store.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("url", sa.Text()),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.Text()),
        sa.Column("credit", sa.String(100)),
        sa.Column("topic_hint", sa.String(100)),
        sa.Column("published", UTCDateTime()),
        sa.Column("collected_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_articles_collected_at", "articles", ["collected_at"])
    op.create_table(
        "editions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("period", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("built_at", UTCDateTime(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.UniqueConstraint("name", "period", name="uq_editions_name_period"),
    )
    op.create_table(
        "edition_articles",
        sa.Column(
            "edition_id",
            sa.Integer(),
            sa.ForeignKey("editions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("article_id", sa.String(64), sa.ForeignKey("articles.id"), primary_key=True),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "edition_id",
            sa.Integer(),
            sa.ForeignKey("editions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(200)),
        sa.Column("error", sa.Text()),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("edition_id", "email", name="uq_deliveries_edition_email"),
    )


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("edition_articles")
    op.drop_table("editions")
    op.drop_index("ix_articles_collected_at", table_name="articles")
    op.drop_table("articles")
