"""The scam-message checker: who is about to send a message to check, and red-flag counts.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "check_waits",
        sa.Column(
            "resident_id",
            sa.BigInteger,
            sa.ForeignKey("residents.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(None, "check_waits", ["since"])
    op.create_table(
        "check_counts",
        sa.Column("category", sa.String(32), primary_key=True),
        sa.Column("times", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("check_counts")
    op.drop_table("check_waits")
