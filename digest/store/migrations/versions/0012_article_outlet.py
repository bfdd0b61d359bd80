"""Each article's outlet (the publisher: a page's site name, a newsletter's sender),
where it is not the source's name; older rows keep the source's name (NULL).

Revision ID: 0012
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("outlet", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("outlet")
