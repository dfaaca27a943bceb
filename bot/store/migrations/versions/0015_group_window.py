"""A group's last sends travel with its outbox claim, so the next replica keeps 20 a minute.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_claims") as batch:
        batch.add_column(sa.Column("group_sends", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_claims") as batch:
        batch.drop_column("group_sends")
