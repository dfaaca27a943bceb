"""Residents, lesson progress, quiz attempts and answers.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "residents",
        sa.Column("id", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_residents"),
    )
    op.create_table(
        "lesson_progress",
        sa.Column("resident_id", sa.BigInteger, nullable=False),
        sa.Column("lesson_id", sa.String(32), nullable=False),
        sa.Column("card_index", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name="fk_lesson_progress_resident_id_residents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("resident_id", "lesson_id", name="pk_lesson_progress"),
    )
    op.create_index(
        "ix_lesson_progress_lesson_id_status", "lesson_progress", ["lesson_id", "status"]
    )
    op.create_table(
        "quiz_attempts",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("resident_id", sa.BigInteger, nullable=False),
        sa.Column("lesson_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("question_ids", sa.Text, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name="fk_quiz_attempts_resident_id_residents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_quiz_attempts"),
    )
    op.create_index(
        "ix_quiz_attempts_resident_id_finished_at", "quiz_attempts", ["resident_id", "finished_at"]
    )
    op.create_table(
        "answers",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("attempt_id", sa.Integer, nullable=False),
        sa.Column("resident_id", sa.BigInteger, nullable=False),
        sa.Column("lesson_id", sa.String(32), nullable=False),
        sa.Column("question_id", sa.String(32), nullable=False),
        sa.Column("option_index", sa.Integer, nullable=False),
        sa.Column("correct", sa.Boolean, nullable=False),
        sa.Column("try_number", sa.Integer, nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["quiz_attempts.id"],
            name="fk_answers_attempt_id_quiz_attempts",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name="fk_answers_resident_id_residents",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_answers"),
        sa.UniqueConstraint("attempt_id", "question_id", name="uq_answers_attempt_id_question_id"),
    )
    op.create_index(
        "ix_answers_resident_id_question_id_answered_at",
        "answers",
        ["resident_id", "question_id", "answered_at"],
    )
    op.create_index("ix_answers_question_id_correct", "answers", ["question_id", "correct"])


def downgrade() -> None:
    op.drop_table("answers")
    op.drop_table("quiz_attempts")
    op.drop_table("lesson_progress")
    op.drop_table("residents")
