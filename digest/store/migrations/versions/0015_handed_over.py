"""When a delivery's message was handed to a transport that sends one message at a
time (SMTP: just before the final dot). A crash then leaves in doubt only the rows
handed over and unanswered; claimed rows never handed over are simply sent again.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from digest.store.schema import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("handed_at", UTCDateTime()))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("handed_at")
