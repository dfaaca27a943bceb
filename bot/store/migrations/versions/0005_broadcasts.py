"""Administrators' broadcasts, their deliveries, and residents' announcements setting.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("residents") as batch:
        batch.add_column(
            sa.Column("announcements", sa.Boolean, nullable=False, server_default=sa.true())
        )
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("admin_id", sa.BigInteger, nullable=False),
        sa.Column("cohort_id", sa.Integer, nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recipients", sa.Integer, nullable=False, server_default="0"),
        sa.Column("sent", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("blocked", sa.Integer, nullable=False, server_default="0"),
        sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),
        sa.ForeignKeyConstraint(
            ["cohort_id"], ["cohorts.id"], name="fk_broadcasts_cohort_id_cohorts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_broadcasts"),
    )
    op.create_index("ix_broadcasts_status", "broadcasts", ["status"])
    op.create_table(
        "broadcast_deliveries",
        sa.Column("broadcast_id", sa.Integer, nullable=False),
        sa.Column("resident_id", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name="fk_broadcast_deliveries_broadcast_id_broadcasts",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name="fk_broadcast_deliveries_resident_id_residents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("broadcast_id", "resident_id", name="pk_broadcast_deliveries"),
    )
    op.create_index(
        "ix_broadcast_deliveries_broadcast_id_status",
        "broadcast_deliveries",
        ["broadcast_id", "status"],
    )
    op.create_index("ix_broadcast_deliveries_resident_id", "broadcast_deliveries", ["resident_id"])


def downgrade() -> None:
    op.drop_table("broadcast_deliveries")
    op.drop_table("broadcasts")
    with op.batch_alter_table("residents") as batch:
        batch.drop_column("announcements")
