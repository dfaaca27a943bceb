"""Aggregates for statistics: rebuilt from raw rows in SQL, or kept up to date incrementally.

``rebuild_statements`` recomputes every aggregate from the raw tables with plain GROUP BYs; the
migration that introduced them runs it once, and tests use it to prove that the incremental
updates (below) always arrive at the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.store import statements
from bot.store.db import Conn
from bot.store.schema import (
    answers,
    cohort_members,
    latest_answers,
    lesson_progress,
    option_totals,
    residents,
    scope_lesson_totals,
    scope_question_totals,
)

EVERYONE = 0  # the scope id of the whole population; cohorts use their own ids
DONE = "done"


def _as_int(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.case((condition, 1), else_=0)


def rebuild_statements(*, options: bool = True) -> list[sa.Executable]:
    """Statements that recompute every aggregate from the raw tables, in order.

    ``options=False`` leaves the option tallies out: the migration that introduced the
    aggregates (0003) fills its own, since they were keyed by position then, by option id now.
    """
    ranked = sa.select(
        answers.c.resident_id,
        answers.c.question_id,
        answers.c.lesson_id,
        _as_int(answers.c.correct).label("correct"),
        sa.func.row_number()
        .over(partition_by=(answers.c.resident_id, answers.c.question_id), order_by=answers.c.id)
        .label("first_rank"),
        sa.func.row_number()
        .over(
            partition_by=(answers.c.resident_id, answers.c.question_id),
            order_by=answers.c.id.desc(),
        )
        .label("last_rank"),
    ).subquery()
    per_resident_question = sa.select(
        ranked.c.resident_id,
        ranked.c.question_id,
        sa.func.max(ranked.c.lesson_id),
        sa.func.max(sa.case((ranked.c.first_rank == 1, ranked.c.correct), else_=0)) == 1,
        sa.func.max(sa.case((ranked.c.last_rank == 1, ranked.c.correct), else_=0)) == 1,
        sa.func.count(),
    ).group_by(ranked.c.resident_id, ranked.c.question_id)

    def question_totals(scope: Any, source: Any, group: Sequence[Any]) -> sa.Select[Any]:
        la = latest_answers
        return (
            sa.select(
                scope,
                la.c.question_id,
                sa.func.max(la.c.lesson_id),
                sa.func.sum(la.c.answers),
                sa.func.count(),
                sa.func.sum(_as_int(la.c.first_correct)),
                sa.func.sum(_as_int(la.c.latest_correct)),
            )
            .select_from(source)
            .group_by(*group, la.c.question_id)
        )

    def lesson_totals(scope: Any, source: Any, group: Sequence[Any]) -> sa.Select[Any]:
        lp = lesson_progress
        return (
            sa.select(
                scope, lp.c.lesson_id, sa.func.count(), sa.func.sum(_as_int(lp.c.status == DONE))
            )
            .select_from(source)
            .group_by(*group, lp.c.lesson_id)
        )

    members_answers = latest_answers.join(
        cohort_members, cohort_members.c.resident_id == latest_answers.c.resident_id
    )
    members_progress = lesson_progress.join(
        cohort_members, cohort_members.c.resident_id == lesson_progress.c.resident_id
    )
    question_columns = [
        "scope_id",
        "question_id",
        "lesson_id",
        "answers",
        "residents",
        "first_try_correct",
        "latest_correct",
    ]
    lesson_columns = ["scope_id", "lesson_id", "started", "completed"]
    done_lessons = (
        sa.select(sa.func.count())
        .where(lesson_progress.c.resident_id == residents.c.id, lesson_progress.c.status == DONE)
        .scalar_subquery()
    )
    tally: list[sa.Executable] = [
        sa.delete(latest_answers),
        sa.insert(latest_answers).from_select(
            [
                "resident_id",
                "question_id",
                "lesson_id",
                "first_correct",
                "latest_correct",
                "answers",
            ],
            per_resident_question,
        ),
        sa.delete(scope_question_totals),
        sa.insert(scope_question_totals).from_select(
            question_columns,
            question_totals(sa.literal(EVERYONE), latest_answers, []),
        ),
        sa.insert(scope_question_totals).from_select(
            question_columns,
            question_totals(
                cohort_members.c.cohort_id, members_answers, [cohort_members.c.cohort_id]
            ),
        ),
        sa.delete(scope_lesson_totals),
        sa.insert(scope_lesson_totals).from_select(
            lesson_columns, lesson_totals(sa.literal(EVERYONE), lesson_progress, [])
        ),
        sa.insert(scope_lesson_totals).from_select(
            lesson_columns,
            lesson_totals(
                cohort_members.c.cohort_id, members_progress, [cohort_members.c.cohort_id]
            ),
        ),
        sa.update(residents).values(lessons_done=done_lessons),
    ]
    if options:
        tally.extend(
            [
                sa.delete(option_totals),
                sa.insert(option_totals).from_select(
                    ["question_id", "option_id", "chosen"],
                    sa.select(answers.c.question_id, answers.c.option_id, sa.func.count())
                    .where(answers.c.option_id.is_not(None))
                    .group_by(answers.c.question_id, answers.c.option_id),
                ),
            ]
        )
    return tally


def rebuild(connection: Connection, *, options: bool = True) -> None:
    """Recompute all aggregates (synchronous: for migrations)."""
    for statement in rebuild_statements(options=options):
        connection.execute(statement)


async def rebuild_async(connection: Conn) -> None:
    for statement in rebuild_statements():
        await connection.execute(statement)


def upsert(conn: Conn, table: sa.Table) -> Any:
    """The dialect's INSERT that takes ON CONFLICT: the only dialect-specific SQL here."""
    return statements.upsert_for(conn.dialect.name, table)


async def add_one(conn: Conn, table: sa.Table, key: sa.Column[Any], names: Sequence[str]) -> None:
    """Add one to the ``times`` of each of ``names`` in a table of plain counters keyed by
    ``key``. One statement each (ON CONFLICT): two processes counting a name's first time at
    once on PostgreSQL would otherwise both insert, and one would fail."""
    for name in names:
        insert = upsert(conn, table).values({key.name: name, "times": 1})
        await conn.execute(
            insert.on_conflict_do_update(index_elements=[key], set_={"times": table.c.times + 1})
        )


async def scopes_of(conn: Conn, resident_id: int) -> list[int]:
    """Everyone, plus each cohort the resident belongs to."""
    rows = await conn.execute(statements.of(conn).scopes, {"resident_id": resident_id})
    return [EVERYONE, *(row.cohort_id for row in rows)]


async def add_question_counts(
    conn: Conn,
    scopes: Sequence[int],
    *,
    question_id: str,
    lesson_id: str,
    answers_: int,
    residents_: int,
    first_try_correct: int,
    latest_correct: int,
) -> None:
    """Add deltas to each scope's totals for one question."""
    if not scopes:
        return
    deltas = {
        "answers": answers_,
        "residents": residents_,
        "first_try_correct": first_try_correct,
        "latest_correct": latest_correct,
    }
    await conn.execute(
        statements.of(conn).add_question_counts,
        [
            {
                "scope_id": scope,
                "question_id": question_id,
                "lesson_id": lesson_id,
                **deltas,
                **{f"b_{name}": value for name, value in deltas.items()},
            }
            for scope in scopes
        ],
    )


async def add_lesson_counts(
    conn: Conn, scopes: Sequence[int], *, lesson_id: str, started: int, completed: int
) -> None:
    if not scopes:
        return
    await conn.execute(
        statements.of(conn).add_lesson_counts,
        [
            {
                "scope_id": scope,
                "lesson_id": lesson_id,
                "started": started,
                "completed": completed,
                "b_started": started,
                "b_completed": completed,
            }
            for scope in scopes
        ],
    )


async def count_option(conn: Conn, *, question_id: str, option_id: str) -> None:
    await conn.execute(
        statements.of(conn).count_option,
        {"question_id": question_id, "option_id": option_id, "chosen": 1},
    )


async def add_resident_to_cohort_totals(conn: Conn, *, resident_id: int, cohort_id: int) -> None:
    """A resident joining a cohort brings their learning so far into its totals."""
    rows = await conn.execute(
        sa.select(latest_answers).where(latest_answers.c.resident_id == resident_id)
    )
    for row in rows.all():
        await add_question_counts(
            conn,
            [cohort_id],
            question_id=row.question_id,
            lesson_id=row.lesson_id,
            answers_=row.answers,
            residents_=1,
            first_try_correct=int(row.first_correct),
            latest_correct=int(row.latest_correct),
        )
    progress = await conn.execute(
        sa.select(lesson_progress.c.lesson_id, lesson_progress.c.status).where(
            lesson_progress.c.resident_id == resident_id
        )
    )
    for row in progress.all():
        await add_lesson_counts(
            conn,
            [cohort_id],
            lesson_id=row.lesson_id,
            started=1,
            completed=int(row.status == DONE),
        )
