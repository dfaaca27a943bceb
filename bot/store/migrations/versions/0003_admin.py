"""Cohorts, the admin audit log, residents' optional profile, and aggregates for statistics.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.aggregates import rebuild

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("residents") as batch:
        batch.add_column(sa.Column("age_band", sa.String(16), nullable=True))
        batch.add_column(sa.Column("resident_type", sa.String(16), nullable=True))
        batch.add_column(sa.Column("place", sa.String(32), nullable=True))
        batch.add_column(sa.Column("pending_cohort", sa.String(32), nullable=True))
        batch.add_column(sa.Column("lessons_done", sa.Integer, nullable=False, server_default="0"))
        batch.create_index("ix_residents_last_seen_at", ["last_seen_at"])
    op.create_table(
        "cohorts",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("created_by", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cohorts"),
        sa.UniqueConstraint("code", name="uq_cohorts_code"),
    )
    op.create_table(
        "cohort_members",
        sa.Column("cohort_id", sa.Integer, nullable=False),
        sa.Column("resident_id", sa.BigInteger, nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cohort_id"],
            ["cohorts.id"],
            name="fk_cohort_members_cohort_id_cohorts",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name="fk_cohort_members_resident_id_residents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cohort_id", "resident_id", name="pk_cohort_members"),
    )
    op.create_index("ix_cohort_members_resident_id", "cohort_members", ["resident_id"])
    op.create_table(
        "admin_audit",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("admin_id", sa.BigInteger, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("detail", sa.String(256), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_admin_audit"),
    )
    op.create_table(
        "latest_answers",
        sa.Column("resident_id", sa.BigInteger, nullable=False),
        sa.Column("question_id", sa.String(32), nullable=False),
        sa.Column("lesson_id", sa.String(32), nullable=False),
        sa.Column("first_correct", sa.Boolean, nullable=False),
        sa.Column("latest_correct", sa.Boolean, nullable=False),
        sa.Column("answers", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name="fk_latest_answers_resident_id_residents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("resident_id", "question_id", name="pk_latest_answers"),
    )
    op.create_table(
        "scope_question_totals",
        sa.Column("scope_id", sa.Integer, nullable=False),
        sa.Column("question_id", sa.String(32), nullable=False),
        sa.Column("lesson_id", sa.String(32), nullable=False),
        sa.Column("answers", sa.Integer, nullable=False),
        sa.Column("residents", sa.Integer, nullable=False),
        sa.Column("first_try_correct", sa.Integer, nullable=False),
        sa.Column("latest_correct", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("scope_id", "question_id", name="pk_scope_question_totals"),
    )
    op.create_table(
        "scope_lesson_totals",
        sa.Column("scope_id", sa.Integer, nullable=False),
        sa.Column("lesson_id", sa.String(32), nullable=False),
        sa.Column("started", sa.Integer, nullable=False),
        sa.Column("completed", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("scope_id", "lesson_id", name="pk_scope_lesson_totals"),
    )
    op.create_table(
        "option_totals",
        sa.Column("question_id", sa.String(32), nullable=False),
        sa.Column("option_index", sa.Integer, nullable=False),
        sa.Column("chosen", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("question_id", "option_index", name="pk_option_totals"),
    )
    # Existing answers and progress count from the start. The option tallies were keyed by
    # position then (0009 keys them by option id), so this revision fills them itself.
    rebuild(op.get_bind(), options=False)
    op.execute(
        "INSERT INTO option_totals (question_id, option_index, chosen) "
        "SELECT question_id, option_index, count(*) FROM answers "
        "GROUP BY question_id, option_index"
    )


def downgrade() -> None:
    for table in (
        "option_totals",
        "scope_lesson_totals",
        "scope_question_totals",
        "latest_answers",
        "admin_audit",
        "cohort_members",
        "cohorts",
    ):
        op.drop_table(table)
    with op.batch_alter_table("residents") as batch:
        batch.drop_index("ix_residents_last_seen_at")
        for column in ("lessons_done", "pending_cohort", "place", "resident_type", "age_band"):
            batch.drop_column(column)
