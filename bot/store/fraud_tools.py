"""The store's side of the fraud tools: the loan calculator's sessions and the drills' answers.

Implements the ports ``bot.core.fraud.loan_talk.LoanSessionStore`` and
``bot.core.fraud.drills.DrillStore``; every call joins the unit of work in progress, so an answer
is committed together with the reply it causes. ``category_tallies`` counts the drills' answers
for /stats (through ``bot.store.reports.Reports``).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from bot.core.fraud.drills import CategoryTally, RecordedDrill
from bot.core.fraud.loan_talk import LoanSession
from bot.store.db import Conn, Connections
from bot.store.schema import cohort_members, drill_answers, loan_sessions


def _aware(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class LoanSessions:
    """One calculator conversation per resident, kept only while it is needed."""

    def __init__(self, connections: Connections, clock: Callable[[], dt.datetime]) -> None:
        self._db = connections
        self._now = clock

    async def start(self, *, resident_id: int, step: str) -> LoanSession:
        """A new conversation with a new token (any earlier one of the resident's is dropped,
        and the buttons of its screens with it)."""
        s = loan_sessions
        async with self._db._write() as conn:
            old = (
                await conn.execute(sa.select(s.c.token).where(s.c.resident_id == resident_id))
            ).scalar_one_or_none()
            await conn.execute(sa.delete(s).where(s.c.resident_id == resident_id))
            token = secrets.randbelow(2**31 - 2) + 1
            while token == old:
                token = secrets.randbelow(2**31 - 2) + 1
            now = self._now()
            await conn.execute(
                sa.insert(s).values(
                    resident_id=resident_id, token=token, step=step, answers="{}", updated_at=now
                )
            )
            return LoanSession(token, resident_id, step, {}, now)

    async def get(self, *, resident_id: int) -> LoanSession | None:
        async with self._db._read() as conn:
            row = (
                await conn.execute(
                    sa.select(loan_sessions).where(loan_sessions.c.resident_id == resident_id)
                )
            ).first()
        if row is None:
            return None
        return LoanSession(
            row.token, row.resident_id, row.step, json.loads(row.answers), _aware(row.updated_at)
        )

    async def advance(self, *, session: LoanSession, step: str, answers: dict[str, Any]) -> bool:
        """Record answers and the next step, only if the session is still at ``session.step``
        (a double press or a redelivered update moves it once)."""
        s = loan_sessions
        async with self._db._write() as conn:
            result = await conn.execute(
                sa.update(s)
                .where(
                    s.c.resident_id == session.resident_id,
                    s.c.token == session.id,
                    s.c.step == session.step,
                )
                .values(step=step, answers=json.dumps(answers), updated_at=self._now())
            )
            return result.rowcount == 1

    async def finish(self, *, resident_id: int, session_id: int) -> None:
        """The result is shown (or the resident stopped): nothing typed is kept any longer."""
        s = loan_sessions
        async with self._db._write() as conn:
            await conn.execute(
                sa.delete(s).where(s.c.resident_id == resident_id, s.c.token == session_id)
            )

    async def purge(self, *, older_than: dt.timedelta, limit: int = 500) -> int:
        """Drop conversations left idle for ``older_than``; how many were dropped."""
        s = loan_sessions
        cutoff = self._now() - older_than
        async with self._db._write() as conn:
            ids = (
                (
                    await conn.execute(
                        sa.select(s.c.resident_id).where(s.c.updated_at < cutoff).limit(limit)
                    )
                )
                .scalars()
                .all()
            )
            if ids:
                await conn.execute(sa.delete(s).where(s.c.resident_id.in_(ids)))
            return len(ids)


class DrillAnswers:
    """Each resident's first answer to each drill, and where they are in the drills."""

    def __init__(self, connections: Connections, clock: Callable[[], dt.datetime]) -> None:
        self._db = connections
        self._now = clock

    async def record(
        self, *, resident_id: int, drill_id: str, answer: str, correct: bool
    ) -> RecordedDrill:
        """Keep the first answer to a drill (a later one only moves the resident on); returns
        the answer on record."""
        d = drill_answers
        async with self._db._write() as conn:
            now = self._now()
            moved = await conn.execute(
                sa.update(d)
                .where(d.c.resident_id == resident_id, d.c.drill_id == drill_id)
                .values(last_at=now)
            )
            if moved.rowcount == 0:
                await conn.execute(
                    sa.insert(d).values(
                        resident_id=resident_id,
                        drill_id=drill_id,
                        answer=answer,
                        correct=correct,
                        answered_at=now,
                        last_at=now,
                    )
                )
                return RecordedDrill(drill_id, answer, correct, first=True)
            row = (
                await conn.execute(
                    sa.select(d.c.answer, d.c.correct).where(
                        d.c.resident_id == resident_id, d.c.drill_id == drill_id
                    )
                )
            ).one()
            return RecordedDrill(drill_id, row.answer, bool(row.correct), first=False)

    async def latest(self, *, resident_id: int) -> str | None:
        """The drill the resident answered last, if any."""
        d = drill_answers
        async with self._db._read() as conn:
            found = await conn.execute(
                sa.select(d.c.drill_id)
                .where(d.c.resident_id == resident_id)
                .order_by(d.c.last_at.desc(), d.c.drill_id)
                .limit(1)
            )
            return found.scalar_one_or_none()

    async def answered(self, *, resident_id: int) -> set[str]:
        d = drill_answers
        async with self._db._read() as conn:
            rows = await conn.execute(sa.select(d.c.drill_id).where(d.c.resident_id == resident_id))
            return {str(drill_id) for drill_id in rows.scalars()}


async def category_tallies(
    conn: Conn, categories: Mapping[str, Sequence[str]], cohort_id: int | None
) -> dict[str, CategoryTally]:
    """Per category (given as its drills' ids): residents, first answers and right ones, for
    everyone or one cohort's members. One short query per category, on an index by drill."""
    d = drill_answers
    found: dict[str, CategoryTally] = {}
    for category, drill_ids in categories.items():
        query = sa.select(
            sa.func.count(sa.distinct(d.c.resident_id)),
            sa.func.count(),
            sa.func.count(sa.case((d.c.correct, 1))),
        ).where(d.c.drill_id.in_(list(drill_ids)))
        if cohort_id is not None:
            members = sa.select(cohort_members.c.resident_id).where(
                cohort_members.c.cohort_id == cohort_id
            )
            query = query.where(d.c.resident_id.in_(members))
        row: Sequence[Any] = (await conn.execute(query)).one()
        residents, answers, right = (int(value or 0) for value in row)
        found[category] = CategoryTally(residents, answers, right)
    return found
