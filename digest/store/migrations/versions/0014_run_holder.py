"""Each run names the process that ran it (its lease holder, ``host:pid:random``), so
a run left ``running`` by a process that died can be closed as ``interrupted``.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("holder", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("holder")
