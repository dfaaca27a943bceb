"""Tables, as SQLAlchemy Core metadata; Alembic migrations must produce exactly this."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# A resident is identified by the channel's user id (Telegram's is a 52-bit integer). No names.
residents = sa.Table(
    "residents",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
)

lesson_progress = sa.Table(
    "lesson_progress",
    metadata,
    sa.Column(
        "resident_id",
        sa.BigInteger,
        sa.ForeignKey("residents.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("lesson_id", sa.String(32), primary_key=True),
    sa.Column("card_index", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
    # Statistics per lesson (completion rates) scan by lesson.
    sa.Index(None, "lesson_id", "status"),
)

quiz_attempts = sa.Table(
    "quiz_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "resident_id",
        sa.BigInteger,
        sa.ForeignKey("residents.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("lesson_id", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    # The questions of this sitting, in order, as a JSON list: content may change later.
    sa.Column("question_ids", sa.Text, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index(None, "resident_id", "finished_at"),
)

answers = sa.Table(
    "answers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "attempt_id",
        sa.Integer,
        sa.ForeignKey("quiz_attempts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "resident_id",
        sa.BigInteger,
        sa.ForeignKey("residents.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("lesson_id", sa.String(32), nullable=False),
    sa.Column("question_id", sa.String(32), nullable=False),
    sa.Column("option_index", sa.Integer, nullable=False),
    sa.Column("correct", sa.Boolean, nullable=False),
    # 1 for the resident's first answer to this question ever, 2 for the second, ...
    sa.Column("try_number", sa.Integer, nullable=False),
    sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
    # One answer per question per sitting: a double press or a redelivered update adds nothing.
    sa.UniqueConstraint("attempt_id", "question_id"),
    # Latest answer per question for a resident (progress), and per question (item analysis).
    sa.Index(None, "resident_id", "question_id", "answered_at"),
    sa.Index(None, "question_id", "correct"),
)

# One sitting of the check-up (baseline or final) and its scores once finished.
assessment_sittings = sa.Table(
    "assessment_sittings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "resident_id",
        sa.BigInteger,
        sa.ForeignKey("residents.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("item_ids", sa.Text, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    # Shares of the maximum (0..1) per dimension, and how often "I don't know" was chosen.
    sa.Column("knowledge_score", sa.Float, nullable=True),
    sa.Column("behaviour_score", sa.Float, nullable=True),
    sa.Column("attitude_score", sa.Float, nullable=True),
    sa.Column("dont_know_count", sa.Integer, nullable=True),
    sa.Index(None, "resident_id", "kind", "finished_at"),
)

assessment_answers = sa.Table(
    "assessment_answers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "sitting_id",
        sa.Integer,
        sa.ForeignKey("assessment_sittings.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column(
        "resident_id",
        sa.BigInteger,
        sa.ForeignKey("residents.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("item_id", sa.String(32), nullable=False),
    # None when the resident chose "I don't know", which is kept apart from a wrong answer.
    sa.Column("option_index", sa.Integer, nullable=True),
    sa.Column("dont_know", sa.Boolean, nullable=False),
    sa.Column("points", sa.Integer, nullable=False),
    sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("sitting_id", "item_id"),
    sa.Index(None, "item_id"),
)
