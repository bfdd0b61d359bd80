"""What became of every item a fetch listed (known and skipped, with the reasons,
beside new and seen), and each article's GUID with an index on its link (an item's
identity within its source, and the same article across sources).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("fetches") as batch:
        batch.add_column(sa.Column("known_items", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("skipped_items", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("skip_reasons", sa.Text()))
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("guid", sa.Text()))
    op.create_index("ix_articles_url", "articles", ["url"], postgresql_using="hash")


def downgrade() -> None:
    op.drop_index("ix_articles_url", table_name="articles")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("guid")
    with op.batch_alter_table("fetches") as batch:
        batch.drop_column("skip_reasons")
        batch.drop_column("skipped_items")
        batch.drop_column("known_items")
