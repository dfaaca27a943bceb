"""Replicas on one PostgreSQL database: the inbox's resident, broadcast claims' owner, the
replicas, outbox chat claims and the shared sending budget.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("resident_id", sa.BigInteger, nullable=True))
    op.create_index(None, "inbox", ["resident_id", "update_id"])
    with op.batch_alter_table("broadcast_deliveries") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(40), nullable=True))
    op.create_table(
        "replicas",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "outbox_claims",
        sa.Column("chat_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("replica", sa.String(40), nullable=True),
        sa.Column("tokens", sa.Float, nullable=True),
        sa.Column("stamp", sa.Float, nullable=True),
        sa.Column("not_before", sa.Float, nullable=True),
        sa.Column("released_at", sa.Float, nullable=True),
    )
    op.create_index(None, "outbox_claims", ["replica"])
    op.create_table(
        "send_budget",
        sa.Column("name", sa.String(16), primary_key=True),
        sa.Column("next_slot", sa.Float, nullable=False),
        sa.Column("paused_until", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("send_budget")
    op.drop_table("outbox_claims")
    op.drop_table("replicas")
    with op.batch_alter_table("broadcast_deliveries") as batch:
        batch.drop_column("claimed_by")
    op.drop_index("ix_inbox_resident_id_update_id", "inbox")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("resident_id")
