"""The check-up: sittings with their scores, and answers with "I don't know" kept apart.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assessment_sittings",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("resident_id", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("item_ids", sa.Text, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("knowledge_score", sa.Float, nullable=True),
        sa.Column("behaviour_score", sa.Float, nullable=True),
        sa.Column("attitude_score", sa.Float, nullable=True),
        sa.Column("dont_know_count", sa.Integer, nullable=True),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name="fk_assessment_sittings_resident_id_residents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_assessment_sittings"),
    )
    op.create_index(
        "ix_assessment_sittings_resident_id_kind_finished_at",
        "assessment_sittings",
        ["resident_id", "kind", "finished_at"],
    )
    op.create_table(
        "assessment_answers",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("sitting_id", sa.Integer, nullable=False),
        sa.Column("resident_id", sa.BigInteger, nullable=False),
        sa.Column("item_id", sa.String(32), nullable=False),
        sa.Column("option_index", sa.Integer, nullable=True),
        sa.Column("dont_know", sa.Boolean, nullable=False),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sitting_id"],
            ["assessment_sittings.id"],
            name="fk_assessment_answers_sitting_id_assessment_sittings",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name="fk_assessment_answers_resident_id_residents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_assessment_answers"),
        sa.UniqueConstraint(
            "sitting_id", "item_id", name="uq_assessment_answers_sitting_id_item_id"
        ),
    )
    op.create_index("ix_assessment_answers_item_id", "assessment_answers", ["item_id"])


def downgrade() -> None:
    op.drop_table("assessment_answers")
    op.drop_table("assessment_sittings")
