"""The statements a resident's every press runs, built once per dialect with bind parameters.

Building a SQLAlchemy statement and computing its cache key costs several times what running
it costs on SQLite: an upsert built anew took about 100 µs against 17 µs prebuilt (see
bench/README.md). These are the statements on the path of every update; the rest of the store
builds its statements where it uses them, which reads better and costs nothing that matters.

Bind parameters that feed an UPDATE's SET or an upsert's DO UPDATE are prefixed with ``b_``:
SQLAlchemy reserves the column names themselves for the row's new values.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from bot.core.progress import LessonStatus
from bot.store.schema import (
    answers,
    cohort_members,
    inbox,
    latest_answers,
    lesson_progress,
    option_totals,
    outbox,
    quiz_attempts,
    residents,
    scope_lesson_totals,
    scope_question_totals,
)


def upsert_for(dialect: str, table: sa.Table) -> Any:
    """The dialect's INSERT that takes ON CONFLICT: the only dialect-specific SQL here."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for dialect {dialect}")


def _p(name: str) -> sa.BindParameter[Any]:
    return sa.bindparam(name)


class Statements:
    """One dialect's prebuilt hot statements; execute them with a dict of parameters."""

    def __init__(self, dialect: str) -> None:
        up = functools.partial(upsert_for, dialect)

        # Inbox and outbox: every update.
        self.inbox_insert_ignore = up(inbox).on_conflict_do_nothing()
        self.inbox_handled = sa.select(inbox.c.update_id).where(
            inbox.c.update_id.in_(sa.bindparam("ids", expanding=True)),
            inbox.c.done_at.is_not(None),
        )
        self.inbox_finish = up(inbox).on_conflict_do_update(
            index_elements=[inbox.c.update_id],
            set_={"done_at": _p("b_now"), "payload": None, "resident_id": None},
            where=inbox.c.done_at.is_(None),
        )
        # A resident's turn across processes (PostgreSQL only: see Inbox.take_turn).
        self.take_turn = sa.select(
            sa.func.pg_advisory_xact_lock(sa.bindparam("key", type_=sa.BigInteger))
        )
        self.outbox_add = sa.insert(outbox).returning(outbox.c.id)
        self.outbox_for_chat = (
            sa.select(
                outbox.c.id,
                outbox.c.payload,
                outbox.c.priority,
                outbox.c.attempts,
                residents.c.blocked_at,
            )
            .select_from(outbox.outerjoin(residents, residents.c.id == outbox.c.chat_id))
            .where(outbox.c.chat_id == _p("chat_id"))
            .order_by(outbox.c.id)
            .limit(_p("limit"))
        )
        self.outbox_sent = sa.delete(outbox).where(
            outbox.c.id.in_(sa.bindparam("ids", expanding=True))
        )

        # Residents.
        self.ensure_resident = (
            up(residents)
            .on_conflict_do_update(
                index_elements=[residents.c.id],
                # Someone who writes to the bot has not blocked it (any more).
                set_={"last_seen_at": _p("b_now"), "blocked_at": None},
            )
            .returning(residents)
        )
        self.resident = sa.select(residents).where(residents.c.id == _p("resident_id"))
        self.scopes = sa.select(cohort_members.c.cohort_id).where(
            cohort_members.c.resident_id == _p("resident_id")
        )

        # Lessons.
        self.lesson_statuses = sa.select(
            lesson_progress.c.lesson_id, lesson_progress.c.status
        ).where(lesson_progress.c.resident_id == _p("resident_id"))
        self.latest_correct = sa.select(
            latest_answers.c.question_id, latest_answers.c.latest_correct
        ).where(latest_answers.c.resident_id == _p("resident_id"))
        self.lesson_start = up(lesson_progress).on_conflict_do_nothing()
        self.lesson_card = (
            sa.update(lesson_progress)
            .where(
                lesson_progress.c.resident_id == _p("b_resident_id"),
                lesson_progress.c.lesson_id == _p("b_lesson_id"),
            )
            .values(card_index=_p("b_card_index"), updated_at=_p("b_now"))
        )
        self.lesson_in_progress = (
            sa.select(lesson_progress)
            .where(
                lesson_progress.c.resident_id == _p("resident_id"),
                lesson_progress.c.status == LessonStatus.STARTED.value,
            )
            .order_by(lesson_progress.c.updated_at.desc())
            .limit(1)
        )

        # Quizzes.
        self.attempt = sa.select(quiz_attempts).where(quiz_attempts.c.id == _p("attempt_id"))
        self.unfinished_attempt = (
            sa.select(quiz_attempts)
            .where(
                quiz_attempts.c.resident_id == _p("resident_id"),
                quiz_attempts.c.finished_at.is_(None),
            )
            .order_by(quiz_attempts.c.updated_at.desc(), quiz_attempts.c.id.desc())
            .limit(1)
        )
        self.start_attempt = sa.insert(quiz_attempts).returning(quiz_attempts)
        self.attempt_move = (
            sa.update(quiz_attempts)
            .where(
                quiz_attempts.c.id == _p("b_attempt_id"),
                quiz_attempts.c.position == _p("b_position"),
                quiz_attempts.c.finished_at.is_(None),
            )
            .values(position=_p("b_position") + 1, updated_at=_p("b_now"))
        )
        self.attempt_answers = sa.select(
            answers.c.question_id, answers.c.option_index, answers.c.option_id, answers.c.correct
        ).where(answers.c.attempt_id == _p("attempt_id"))
        self.previous_answer = sa.select(
            latest_answers.c.latest_correct, latest_answers.c.answers
        ).where(
            latest_answers.c.resident_id == _p("resident_id"),
            latest_answers.c.question_id == _p("question_id"),
        )
        self.answer_insert = sa.insert(answers)
        self.latest_insert = sa.insert(latest_answers)
        self.latest_update = (
            sa.update(latest_answers)
            .where(
                latest_answers.c.resident_id == _p("b_resident_id"),
                latest_answers.c.question_id == _p("b_question_id"),
            )
            .values(latest_correct=_p("b_correct"), answers=latest_answers.c.answers + 1)
        )

        # Aggregates kept in step with the answers (see aggregates.py).
        qt, lt, ot = scope_question_totals, scope_lesson_totals, option_totals
        self.add_question_counts = up(qt).on_conflict_do_update(
            index_elements=[qt.c.scope_id, qt.c.question_id],
            set_={
                "answers": qt.c.answers + _p("b_answers"),
                "residents": qt.c.residents + _p("b_residents"),
                "first_try_correct": qt.c.first_try_correct + _p("b_first_try_correct"),
                "latest_correct": qt.c.latest_correct + _p("b_latest_correct"),
            },
        )
        self.add_lesson_counts = up(lt).on_conflict_do_update(
            index_elements=[lt.c.scope_id, lt.c.lesson_id],
            set_={
                "started": lt.c.started + _p("b_started"),
                "completed": lt.c.completed + _p("b_completed"),
            },
        )
        self.count_option = up(ot).on_conflict_do_update(
            index_elements=[ot.c.question_id, ot.c.option_id],
            set_={"chosen": ot.c.chosen + 1},
        )


@functools.cache
def statements(dialect: str) -> Statements:
    return Statements(dialect)


def of(conn: Any) -> Statements:
    """The prebuilt statements for ``conn``'s dialect."""
    return statements(conn.dialect.name)
