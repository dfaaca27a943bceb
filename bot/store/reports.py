"""The figures behind the administrators' desk (the core's ``bot.core.admin.ports.Reports``).

Every read runs on a connection of its own, straight from the engine and outside any unit of
work: a long read at province scale holds up no resident's answer, and never sees half of one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.admin.ports import AnswerRecord, CohortOverlap, ItemTally
from bot.core.fraud.drills import CategoryTally
from bot.core.literacy import ScopeCounts
from bot.store import scope_counts as counts
from bot.store.aggregates import EVERYONE
from bot.store.fraud_tools import category_tallies
from bot.store.schema import answers, cohort_members, scope_question_totals

EXPORT_BATCH = 2000  # answers read from the database at a time


class Reports:
    """Aggregate counts for /stats, /items and /export, and the answers an export streams."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def scope_counts(
        self, *, cohort_id: int | None, now: dt.datetime, knowledge_items: int
    ) -> ScopeCounts:
        """The counts for everyone or one cohort, from the incremental aggregates."""
        async with self._engine.connect() as conn:
            return await counts.scope_counts(
                conn, cohort_id, now=now, knowledge_items=knowledge_items
            )

    async def cohort_overlap(self, *, cohort_id: int) -> CohortOverlap:
        """The cohort's size, the population's, and its distance to every other cohort."""
        async with self._engine.connect() as conn:
            return await counts.cohort_overlap(conn, cohort_id)

    async def answering_residents(self, *, cohort_id: int | None) -> int:
        """How many residents in the scope have answered at least one question."""
        async with self._engine.connect() as conn:
            return await counts.answering_residents(conn, cohort_id)

    async def item_tallies(self, *, question_ids: Sequence[str]) -> dict[str, ItemTally]:
        """Per question anyone answered: everyone's totals and first-try wrong options."""
        qt = scope_question_totals
        async with self._engine.connect() as conn:
            totals = await conn.execute(
                sa.select(
                    qt.c.question_id, qt.c.residents, qt.c.first_try_correct, qt.c.answers
                ).where(qt.c.scope_id == EVERYONE, qt.c.question_id.in_(list(question_ids)))
            )
            # First tries only: a resident retrying a question many times must not make their
            # wrong choices look like everyone's.
            chosen = await counts.first_try_wrong_options(conn, question_ids)
        return {
            str(question_id): ItemTally(
                residents=int(residents),
                first_try_correct=int(first_try_correct),
                answers=int(answered),
                wrong_first_tries=chosen.get(str(question_id), {}),
            )
            for question_id, residents, first_try_correct, answered in totals
        }

    async def answer_batches(
        self, *, cohort_id: int | None
    ) -> AsyncIterator[Sequence[AnswerRecord]]:
        """Every recorded answer in scope, in order, a batch at a time, streamed from a read
        connection (a batch per await: row by row would cost a thread hop per answer)."""
        a = answers
        query = sa.select(
            a.c.resident_id,
            a.c.lesson_id,
            a.c.question_id,
            a.c.option_index,
            a.c.option_id,
            a.c.correct,
            a.c.try_number,
            a.c.answered_at,
        ).order_by(a.c.id)
        if cohort_id is not None:
            members = sa.select(cohort_members.c.resident_id).where(
                cohort_members.c.cohort_id == cohort_id
            )
            query = query.where(a.c.resident_id.in_(members))
        async with self._engine.connect() as conn:
            result = await conn.stream(query.execution_options(yield_per=EXPORT_BATCH))
            async for batch in result.partitions():
                yield batch

    async def drill_tallies(
        self, *, categories: Mapping[str, Sequence[str]], cohort_id: int | None
    ) -> dict[str, CategoryTally]:
        """Per drill category: residents, first answers and right ones, in scope."""
        async with self._engine.connect() as conn:
            return await category_tallies(conn, categories, cohort_id)
