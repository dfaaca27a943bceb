"""Lessons: the card each resident is on, and which lessons they finished."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from bot.core.models import LessonPosition
from bot.core.progress import LessonStatus, ResidentState
from bot.store import aggregates
from bot.store import statements as sql
from bot.store.db import Conn, Connections
from bot.store.schema import lesson_progress, residents
from bot.store.values import Clock, aware


class Lessons:
    """A row per resident and lesson, kept in step with the statistics' aggregates."""

    def __init__(self, connections: Connections, clock: Clock) -> None:
        self._db = connections
        self._now = clock

    async def open_card(self, *, resident_id: int, lesson_id: str, card_index: int) -> None:
        """Remember the card a resident is looking at; a finished lesson stays finished."""
        now = self._now()
        async with self._db._write() as conn:
            await self._start(conn, resident_id, lesson_id, card_index, now)
            await conn.execute(
                sql.of(conn).lesson_card,
                {
                    "b_resident_id": resident_id,
                    "b_lesson_id": lesson_id,
                    "b_card_index": card_index,
                    "b_now": now,
                },
            )

    async def complete(self, *, resident_id: int, lesson_id: str) -> None:
        """Mark a lesson finished, counted once however often it is finished."""
        now = self._now()
        async with self._db._write() as conn:
            await self._start(conn, resident_id, lesson_id, 0, now)
            finished = await conn.execute(
                sa.update(lesson_progress)
                .where(
                    lesson_progress.c.resident_id == resident_id,
                    lesson_progress.c.lesson_id == lesson_id,
                    lesson_progress.c.status != LessonStatus.DONE.value,
                )
                .values(status=LessonStatus.DONE.value, completed_at=now, updated_at=now)
            )
            if finished.rowcount == 1:
                scopes = await aggregates.scopes_of(conn, resident_id)
                await aggregates.add_lesson_counts(
                    conn, scopes, lesson_id=lesson_id, started=0, completed=1
                )
                await conn.execute(
                    sa.update(residents)
                    .where(residents.c.id == resident_id)
                    .values(lessons_done=residents.c.lessons_done + 1)
                )

    async def _start(
        self, conn: Conn, resident_id: int, lesson_id: str, card: int, now: dt.datetime
    ) -> None:
        """Create the resident's row for a lesson unless it exists, and count it as started."""
        created = await conn.execute(
            sql.of(conn).lesson_start,
            {
                "resident_id": resident_id,
                "lesson_id": lesson_id,
                "card_index": card,
                "status": LessonStatus.STARTED.value,
                "started_at": now,
                "updated_at": now,
            },
        )
        if created.rowcount == 1:
            scopes = await aggregates.scopes_of(conn, resident_id)
            await aggregates.add_lesson_counts(
                conn, scopes, lesson_id=lesson_id, started=1, completed=0
            )

    async def in_progress(self, *, resident_id: int) -> LessonPosition | None:
        """The unfinished lesson the resident looked at most recently."""
        async with self._db._read() as conn:
            row = (
                await conn.execute(sql.of(conn).lesson_in_progress, {"resident_id": resident_id})
            ).first()
        if row is None:
            return None
        return LessonPosition(row.lesson_id, row.card_index, aware(row.updated_at))

    async def resident_state(self, *, resident_id: int) -> ResidentState:
        """Lesson statuses and whether the latest answer to each question was right."""
        async with self._db._read() as conn:
            params = {"resident_id": resident_id}
            statuses = await conn.execute(sql.of(conn).lesson_statuses, params)
            lesson_status = {row.lesson_id: LessonStatus(row.status) for row in statuses}
            rows = await conn.execute(sql.of(conn).latest_correct, params)
            latest_correct = {row.question_id: bool(row.latest_correct) for row in rows}
        return ResidentState(lesson_status=lesson_status, latest_correct=latest_correct)
