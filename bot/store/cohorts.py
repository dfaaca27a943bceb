"""Cohorts: groups of residents an administrator follows, joined through a link."""

from __future__ import annotations

import sqlalchemy as sa

from bot.core.models import Cohort
from bot.store import aggregates
from bot.store.db import Connections
from bot.store.schema import cohort_members, cohorts, residents
from bot.store.values import Clock


class Cohorts:
    """Cohorts, their members, and the link code a resident holds until they consent."""

    def __init__(self, connections: Connections, clock: Clock) -> None:
        self._db = connections
        self._now = clock

    async def create(self, *, code: str, name: str, created_by: int) -> Cohort:
        """A new cohort with its link code."""
        async with self._db._write() as conn:
            result = await conn.execute(
                sa.insert(cohorts)
                .values(code=code, name=name, created_by=created_by, created_at=self._now())
                .returning(cohorts.c.id)
            )
            return Cohort(id=result.scalar_one(), code=code, name=name)

    async def find(self, *, code: str | None = None, name: str | None = None) -> Cohort | None:
        """A cohort by its link code, or by its name (the most recent one of that name)."""
        condition = cohorts.c.code == code if code is not None else cohorts.c.name == name
        async with self._db._read() as conn:
            row = (
                await conn.execute(
                    sa.select(cohorts).where(condition).order_by(cohorts.c.id.desc()).limit(1)
                )
            ).first()
        return Cohort(row.id, row.code, row.name) if row else None

    async def all(self) -> list[Cohort]:
        """All cohorts with their sizes, newest first."""
        size = (
            sa.select(sa.func.count())
            .where(cohort_members.c.cohort_id == cohorts.c.id)
            .scalar_subquery()
        )
        async with self._db._read() as conn:
            rows = await conn.execute(
                sa.select(
                    cohorts.c.id, cohorts.c.code, cohorts.c.name, size.label("members")
                ).order_by(cohorts.c.id.desc())
            )
            return [Cohort(r.id, r.code, r.name, r.members) for r in rows]

    async def hold_code(self, *, resident_id: int, code: str) -> None:
        """Remember a cohort link used before consent; it is joined once they consent."""
        async with self._db._write() as conn:
            await conn.execute(
                sa.update(residents)
                .where(residents.c.id == resident_id)
                .values(pending_cohort=code)
            )

    async def take_code(self, *, resident_id: int) -> str | None:
        """The cohort link code the resident held before consent, now cleared."""
        async with self._db._write() as conn:
            code = await conn.scalar(
                sa.select(residents.c.pending_cohort).where(residents.c.id == resident_id)
            )
            if code is not None:
                await conn.execute(
                    sa.update(residents)
                    .where(residents.c.id == resident_id)
                    .values(pending_cohort=None)
                )
            return code

    async def join(self, *, resident_id: int, cohort_id: int) -> bool:
        """Join once; the resident's learning so far is added to the cohort's statistics."""
        async with self._db._write() as conn:
            joined = await conn.execute(
                aggregates.upsert(conn, cohort_members)
                .on_conflict_do_nothing()
                .values(cohort_id=cohort_id, resident_id=resident_id, joined_at=self._now())
            )
            if joined.rowcount != 1:
                return False
            await aggregates.add_resident_to_cohort_totals(
                conn, resident_id=resident_id, cohort_id=cohort_id
            )
            return True
