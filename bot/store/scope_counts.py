"""The counts behind /stats, for everyone or one cohort: never a row about one resident.

``scope_counts`` reads the incremental aggregates and the residents table (bounded work per
question and per lesson, plus one pass over the scope's residents); ``raw_scope_counts`` computes
the same counts with straightforward GROUP BYs over the raw answers and progress, as the
benchmark's baseline and the tests' proof that both agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from bot.core.admin.ports import NOT_GIVEN, CohortOverlap
from bot.core.assessment import DIMENSIONS
from bot.core.literacy import (
    TARGET_SCORE,
    AssessmentCounts,
    BreakdownCounts,
    LessonCounts,
    QuestionCounts,
    ReachCounts,
    ScopeCounts,
    SittingPairs,
)
from bot.store.aggregates import DONE, EVERYONE
from bot.store.db import Conn
from bot.store.schema import (
    answers,
    assessment_sittings,
    cohort_members,
    latest_answers,
    lesson_progress,
    residents,
    scope_lesson_totals,
    scope_question_totals,
)

BREAKDOWN_FIELDS = ("age_band", "resident_type")


def _in_scope(column: sa.ColumnElement[Any], cohort_id: int | None) -> sa.ColumnElement[bool]:
    """Rows of residents in the scope: everyone, or members of one cohort."""
    if cohort_id is None:
        return sa.true()
    members = sa.select(cohort_members.c.resident_id).where(cohort_members.c.cohort_id == cohort_id)
    return column.in_(members)


async def _reach(conn: Conn, cohort_id: int | None, now: dt.datetime) -> ReachCounts:
    r = residents
    week, month = now - dt.timedelta(days=7), now - dt.timedelta(days=30)
    row = (
        await conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.count(r.c.consent_at),
                sa.func.count(sa.case((r.c.last_seen_at >= week, 1))),
                sa.func.count(sa.case((r.c.last_seen_at >= month, 1))),
                sa.func.count(sa.case((r.c.created_at >= week, 1))),
            ).where(_in_scope(r.c.id, cohort_id))
        )
    ).one()
    return ReachCounts(*(int(v or 0) for v in row))


async def _lessons_per_active(
    conn: Conn, cohort_id: int | None, now: dt.datetime, *, raw: bool
) -> dict[int, int]:
    r = residents
    done: sa.ColumnElement[Any]
    if raw:
        done = (
            sa.select(sa.func.count())
            .where(lesson_progress.c.resident_id == r.c.id, lesson_progress.c.status == DONE)
            .scalar_subquery()
        )
    else:
        done = r.c.lessons_done
    per_resident = (
        sa.select(done.label("n"))
        .where(r.c.last_seen_at >= now - dt.timedelta(days=30), _in_scope(r.c.id, cohort_id))
        .subquery()
    )
    rows = await conn.execute(
        sa.select(per_resident.c.n, sa.func.count()).group_by(per_resident.c.n)
    )
    return {int(n): int(count) for n, count in rows}


async def _assessment(conn: Conn, cohort_id: int | None, knowledge_items: int) -> AssessmentCounts:
    s = assessment_sittings
    finished = s.c.finished_at.is_not(None)
    # Only the columns compared, and every subquery filtered by kind and scope: PostgreSQL
    # otherwise hashes the whole sittings table, every column, to find the latest finals by id
    # (bench/README.md, stats.py on PostgreSQL).
    wanted = [s.c.resident_id, s.c.instrument_version, *(s.c[f"{d}_score"] for d in DIMENSIONS)]

    def finished_of(kind: str) -> sa.Select[Any]:
        return sa.select(*wanted).where(
            s.c.kind == kind, finished, _in_scope(s.c.resident_id, cohort_id)
        )

    base = finished_of("baseline").subquery("base")
    latest_final_ids = (
        sa.select(sa.func.max(s.c.id).label("id"))
        .where(s.c.kind == "final", finished, _in_scope(s.c.resident_id, cohort_id))
        .group_by(s.c.resident_id)
        .subquery("latest_final_ids")
    )
    final = (
        finished_of("final")
        .join(latest_final_ids, s.c.id == latest_final_ids.c.id)
        .subquery("final")
    )
    # All dimensions in one pass over baseline-left-join-latest-final: the join is the costly
    # part, so it is done once (nine aggregates per dimension side by side).
    columns: list[sa.ColumnElement[Any]] = []
    for dimension in DIMENSIONS:
        b, f = base.c[f"{dimension}_score"], final.c[f"{dimension}_score"]
        paired = f.is_not(None)
        below_max = paired & (b < 1.0)
        columns += [
            sa.func.count(b),
            sa.func.coalesce(sa.func.sum(b), 0.0),
            sa.func.count(f),
            sa.func.coalesce(sa.func.sum(f), 0.0),
            sa.func.count(sa.case((paired, 1))),
            sa.func.coalesce(sa.func.sum(f - b), 0.0),
            sa.func.count(sa.case((below_max, 1))),
            sa.func.coalesce(sa.func.sum(sa.case((below_max, (f - b) / (1.0 - b)))), 0.0),
            sa.func.count(sa.case((sa.func.coalesce(f, b) >= TARGET_SCORE, 1))),
        ]
    row = (
        await conn.execute(
            sa.select(*columns).select_from(
                # Before/after pairs only on one instrument: a final of another check-up
                # version is not compared with the baseline.
                base.outerjoin(
                    final,
                    (final.c.resident_id == base.c.resident_id)
                    & (final.c.instrument_version == base.c.instrument_version),
                )
            )
        )
    ).one()
    pairs: dict[str, SittingPairs] = {}
    for i, dimension in enumerate(DIMENSIONS):
        v = row[i * 9 : i * 9 + 9]
        pairs[dimension] = SittingPairs(
            baseline_n=int(v[0]),
            baseline_sum=float(v[1]),
            final_n=int(v[2]),
            final_sum=float(v[3]),
            paired_n=int(v[4]),
            paired_gain_sum=float(v[5]),
            normalised_n=int(v[6]),
            normalised_sum=float(v[7]),
            reached_target=int(v[8]),
        )
    sittings, dont_know, residents_taking = (
        await conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(s.c.dont_know_count), 0),
                sa.func.count(sa.distinct(s.c.resident_id)),
            ).where(finished, _in_scope(s.c.resident_id, cohort_id))
        )
    ).one()
    return AssessmentCounts(
        dimensions=pairs,
        knowledge_answers=int(sittings) * knowledge_items,
        dont_know_answers=int(dont_know),
        residents_answering=int(residents_taking),
    )


async def _breakdowns(conn: Conn, cohort_id: int | None, *, raw: bool) -> list[BreakdownCounts]:
    r = residents
    if raw:
        done: sa.ColumnElement[Any] = (
            sa.select(sa.func.count())
            .where(lesson_progress.c.resident_id == r.c.id, lesson_progress.c.status == DONE)
            .scalar_subquery()
        )
    else:
        done = r.c.lessons_done
    out = []
    for field in BREAKDOWN_FIELDS:
        group = sa.func.coalesce(r.c[field], NOT_GIVEN).label("grp")
        rows = await conn.execute(
            sa.select(group, sa.func.count(), sa.func.coalesce(sa.func.sum(done), 0))
            .where(r.c.consent_at.is_not(None), _in_scope(r.c.id, cohort_id))
            .group_by(group)
        )
        counted = {str(g): (int(n), int(d)) for g, n, d in rows}
        out.append(
            BreakdownCounts(
                question=field,
                residents={g: n for g, (n, _) in counted.items()},
                lessons_done={g: d for g, (_, d) in counted.items()},
            )
        )
    return out


async def scope_counts(
    conn: Conn, cohort_id: int | None, *, now: dt.datetime, knowledge_items: int
) -> ScopeCounts:
    """The counts for one scope, from the aggregates."""
    scope = EVERYONE if cohort_id is None else cohort_id
    lt, qt = scope_lesson_totals, scope_question_totals
    lessons = await conn.execute(
        sa.select(lt.c.lesson_id, lt.c.started, lt.c.completed).where(lt.c.scope_id == scope)
    )
    questions = await conn.execute(
        sa.select(
            qt.c.question_id,
            qt.c.lesson_id,
            qt.c.residents,
            qt.c.first_try_correct,
            qt.c.latest_correct,
        ).where(qt.c.scope_id == scope)
    )
    return ScopeCounts(
        reach=await _reach(conn, cohort_id, now),
        lessons=sorted(LessonCounts(*row) for row in lessons),
        questions=sorted(QuestionCounts(*row) for row in questions),
        lessons_per_active=await _lessons_per_active(conn, cohort_id, now, raw=False),
        assessment=await _assessment(conn, cohort_id, knowledge_items),
        breakdowns=await _breakdowns(conn, cohort_id, raw=False),
    )


async def raw_scope_counts(
    conn: Conn, cohort_id: int | None, *, now: dt.datetime, knowledge_items: int
) -> ScopeCounts:
    """The same counts by plain GROUP BYs over raw answers and progress (the baseline)."""
    lp, a = lesson_progress, answers
    lessons = await conn.execute(
        sa.select(lp.c.lesson_id, sa.func.count(), sa.func.count(sa.case((lp.c.status == DONE, 1))))
        .where(_in_scope(lp.c.resident_id, cohort_id))
        .group_by(lp.c.lesson_id)
    )
    ranked = (
        sa.select(
            a.c.question_id,
            a.c.lesson_id,
            a.c.correct,
            sa.func.row_number()
            .over(partition_by=(a.c.resident_id, a.c.question_id), order_by=a.c.id)
            .label("first_rank"),
            sa.func.row_number()
            .over(partition_by=(a.c.resident_id, a.c.question_id), order_by=a.c.id.desc())
            .label("last_rank"),
        )
        .where(_in_scope(a.c.resident_id, cohort_id))
        .subquery()
    )
    right = ranked.c.correct.is_(True)
    questions = await conn.execute(
        sa.select(
            ranked.c.question_id,
            sa.func.max(ranked.c.lesson_id),
            sa.func.count(sa.case((ranked.c.first_rank == 1, 1))),
            sa.func.count(sa.case(((ranked.c.first_rank == 1) & right, 1))),
            sa.func.count(sa.case(((ranked.c.last_rank == 1) & right, 1))),
        ).group_by(ranked.c.question_id)
    )
    return ScopeCounts(
        reach=await _reach(conn, cohort_id, now),
        lessons=sorted(LessonCounts(*row) for row in lessons),
        questions=sorted(QuestionCounts(*row) for row in questions),
        lessons_per_active=await _lessons_per_active(conn, cohort_id, now, raw=True),
        assessment=await _assessment(conn, cohort_id, knowledge_items),
        breakdowns=await _breakdowns(conn, cohort_id, raw=True),
    )


async def cohort_overlap(conn: Conn, cohort_id: int) -> CohortOverlap:
    """The cohort's size, the population's, and its distance to every other cohort."""
    cm, other = cohort_members, cohort_members.alias("other")
    members = int(
        await conn.scalar(
            sa.select(sa.func.count()).select_from(cm).where(cm.c.cohort_id == cohort_id)
        )
        or 0
    )
    # Members join only once they consent, so the consented residents are what a cohort is
    # compared with (comparing with everyone would hide a small gap behind unconsented rows).
    population = int(
        await conn.scalar(
            sa.select(sa.func.count())
            .select_from(residents)
            .where(residents.c.consent_at.is_not(None))
        )
        or 0
    )
    sizes = {
        int(cohort): int(size)
        for cohort, size in await conn.execute(
            sa.select(cm.c.cohort_id, sa.func.count())
            .where(cm.c.cohort_id != cohort_id)
            .group_by(cm.c.cohort_id)
        )
    }
    shared = {
        int(cohort): int(count)
        for cohort, count in await conn.execute(
            sa.select(other.c.cohort_id, sa.func.count())
            .select_from(cm.join(other, other.c.resident_id == cm.c.resident_id))
            .where(cm.c.cohort_id == cohort_id, other.c.cohort_id != cohort_id)
            .group_by(other.c.cohort_id)
        )
    }
    return CohortOverlap(
        members=members,
        population=population,
        differences={
            cohort: members + size - 2 * shared.get(cohort, 0) for cohort, size in sizes.items()
        },
    )


async def answering_residents(conn: Conn, cohort_id: int | None) -> int:
    """How many residents in the scope have answered at least one question."""
    la = latest_answers
    return int(
        await conn.scalar(
            sa.select(sa.func.count(sa.distinct(la.c.resident_id))).where(
                _in_scope(la.c.resident_id, cohort_id)
            )
        )
        or 0
    )


async def first_try_wrong_options(
    conn: Conn, question_ids: Sequence[str]
) -> dict[str, dict[str, int]]:
    """Per question, how often each wrong option (by its id) was chosen on a first try.

    Counted by option id, never by position: options are shown in a different order to each
    resident, and an answer stored before option ids that migration 0009 could not place
    (its id NULL) is not counted.

    Read from the answers themselves (the option totals count retries too), through the index
    on (question_id, correct), so only wrong answers are visited: 0.9 s for all 248 questions
    at 1,000,000 answers, 0.06 s for one topic (SQLite). A per-option first-try
    counter kept with the aggregates would make it constant (a schema change, not made here).
    """
    a = answers
    rows = await conn.execute(
        sa.select(a.c.question_id, a.c.option_id, sa.func.count())
        .where(
            a.c.question_id.in_(list(question_ids)),
            a.c.correct.is_(False),
            a.c.try_number == 1,
            a.c.option_id.is_not(None),
        )
        .group_by(a.c.question_id, a.c.option_id)
    )
    out: dict[str, dict[str, int]] = {}
    for question_id, option_id, count in rows:
        out.setdefault(str(question_id), {})[str(option_id)] = int(count)
    return out
