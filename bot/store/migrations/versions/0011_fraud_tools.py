"""The loan calculator's conversation state and the spot-the-scam drills' answers.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "loan_sessions",
        sa.Column(
            "resident_id",
            sa.BigInteger,
            sa.ForeignKey("residents.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("token", sa.Integer, nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("answers", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(None, "loan_sessions", ["updated_at"])
    op.create_table(
        "drill_answers",
        sa.Column(
            "resident_id",
            sa.BigInteger,
            sa.ForeignKey("residents.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("drill_id", sa.String(32), primary_key=True),
        sa.Column("answer", sa.String(8), nullable=False),
        sa.Column("correct", sa.Boolean, nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(None, "drill_answers", ["drill_id", "correct"])
    op.create_index(None, "drill_answers", ["resident_id", "last_at"])


def downgrade() -> None:
    op.drop_table("drill_answers")
    op.drop_table("loan_sessions")
