"""Quizzes: a resident's attempts at a lesson's questions, and every answer given."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from bot.core.models import Attempt, RecordedAnswer
from bot.store import aggregates
from bot.store import statements as sql
from bot.store.db import Conn, Connections
from bot.store.schema import quiz_attempts
from bot.store.values import Clock, aware


class Quizzes:
    """Quiz attempts and their answers, kept in step with the statistics' aggregates."""

    def __init__(self, connections: Connections, clock: Clock) -> None:
        self._db = connections
        self._now = clock

    async def start(
        self, *, resident_id: int, lesson_id: str, question_ids: Sequence[str], kind: str
    ) -> Attempt:
        """A new attempt at ``question_ids``, at its first question."""
        now = self._now()
        async with self._db._write() as conn:
            result = await conn.execute(
                sql.of(conn).start_attempt,
                {
                    "resident_id": resident_id,
                    "lesson_id": lesson_id,
                    "kind": kind,
                    "question_ids": json.dumps(list(question_ids)),
                    "position": 0,
                    "started_at": now,
                    "updated_at": now,
                },
            )
            return _attempt(result.one())

    async def get(self, *, attempt_id: int) -> Attempt | None:
        """A quiz attempt by id."""
        async with self._db._read() as conn:
            row = (await conn.execute(sql.of(conn).attempt, {"attempt_id": attempt_id})).first()
        return _attempt(row) if row else None

    async def unfinished(self, *, resident_id: int) -> Attempt | None:
        """The resident's most recently touched quiz attempt that is not finished."""
        async with self._db._read() as conn:
            row = (
                await conn.execute(sql.of(conn).unfinished_attempt, {"resident_id": resident_id})
            ).first()
        return _attempt(row) if row else None

    async def record_answer(
        self,
        *,
        attempt: Attempt,
        position: int,
        option_index: int,
        correct: bool,
        option_id: str | None = None,
    ) -> bool:
        """Record the answer at ``position`` and move the attempt on; False if it was answered.

        ``option_index`` is the option's position in content, ``option_id`` its stable id (the
        tutor always gives it; the option tallies count by it).

        The guarded update is the lock: of two presses racing for one question, only the one
        that moves the position on inserts an answer.
        """
        now = self._now()
        question_id = attempt.question_ids[position]
        async with self._db._write() as conn:
            q = sql.of(conn)
            moved = await conn.execute(
                q.attempt_move, {"b_attempt_id": attempt.id, "b_position": position, "b_now": now}
            )
            if moved.rowcount != 1:
                return False
            previous = (
                await conn.execute(
                    q.previous_answer,
                    {"resident_id": attempt.resident_id, "question_id": question_id},
                )
            ).first()
            await conn.execute(
                q.answer_insert,
                {
                    "attempt_id": attempt.id,
                    "resident_id": attempt.resident_id,
                    "lesson_id": attempt.lesson_id,
                    "question_id": question_id,
                    "option_index": option_index,
                    "option_id": option_id,
                    "correct": correct,
                    "try_number": (previous.answers if previous else 0) + 1,
                    "answered_at": now,
                },
            )
            earlier = None if previous is None else bool(previous.latest_correct)
            await self._count_answer(conn, attempt, question_id, option_id, correct, earlier)
        return True

    async def _count_answer(
        self,
        conn: Conn,
        attempt: Attempt,
        question_id: str,
        option_id: str | None,
        correct: bool,
        previous: bool | None,
    ) -> None:
        """Keep the statistics' aggregates in step with the answer just recorded.

        ``previous`` is whether the resident's latest answer to this question was right before
        this one, or None if this is their first answer to it.
        """
        if previous is None:
            await conn.execute(
                sql.of(conn).latest_insert,
                {
                    "resident_id": attempt.resident_id,
                    "question_id": question_id,
                    "lesson_id": attempt.lesson_id,
                    "first_correct": correct,
                    "latest_correct": correct,
                    "answers": 1,
                },
            )
        else:
            await conn.execute(
                sql.of(conn).latest_update,
                {
                    "b_resident_id": attempt.resident_id,
                    "b_question_id": question_id,
                    "b_correct": correct,
                },
            )
        first = previous is None
        await aggregates.add_question_counts(
            conn,
            await aggregates.scopes_of(conn, attempt.resident_id),
            question_id=question_id,
            lesson_id=attempt.lesson_id,
            answers_=1,
            residents_=int(first),
            first_try_correct=int(first and correct),
            latest_correct=int(correct) - int(bool(previous)),
        )
        if option_id is not None:
            await aggregates.count_option(conn, question_id=question_id, option_id=option_id)

    async def answers(self, *, attempt_id: int) -> dict[str, RecordedAnswer]:
        """The attempt's answers by question id."""
        async with self._db._read() as conn:
            rows = await conn.execute(sql.of(conn).attempt_answers, {"attempt_id": attempt_id})
            return {
                row.question_id: RecordedAnswer(
                    row.question_id, row.option_index, bool(row.correct), row.option_id
                )
                for row in rows
            }

    async def finish(self, *, attempt_id: int) -> bool:
        """Close an attempt; True only for the call that actually closed it."""
        now = self._now()
        async with self._db._write() as conn:
            result = await conn.execute(
                sa.update(quiz_attempts)
                .where(quiz_attempts.c.id == attempt_id, quiz_attempts.c.finished_at.is_(None))
                .values(finished_at=now, updated_at=now)
            )
            return result.rowcount == 1


def _attempt(row: sa.Row[Any]) -> Attempt:
    return Attempt(
        id=row.id,
        resident_id=row.resident_id,
        lesson_id=row.lesson_id,
        kind=row.kind,
        question_ids=tuple(json.loads(row.question_ids)),
        position=row.position,
        updated_at=aware(row.updated_at),
        finished_at=aware(row.finished_at) if row.finished_at else None,
    )
