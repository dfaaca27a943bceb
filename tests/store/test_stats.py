"""Statistics counts: the incremental aggregates always equal plain GROUP BYs over raw rows."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.store import Store
from bot.store.aggregates import rebuild_async
from bot.store.schema import (
    latest_answers,
    option_totals,
    scope_lesson_totals,
    scope_question_totals,
)
from bot.store.scope_counts import raw_scope_counts, scope_counts
from tests.backends import BACKENDS, PostgresDatabases, backend_database

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(params=BACKENDS)
def store_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_databases: PostgresDatabases
) -> Iterator[tuple[str, bool]]:
    yield from backend_database(request.param, tmp_path, postgres_databases)


@pytest.fixture
async def store(store_url: tuple[str, bool]) -> AsyncIterator[Store]:
    # Every backend, and both ways of running SQLite's statements, keep the same aggregates.
    url, inline = store_url
    store = await Store.open(url, inline=inline)
    yield store
    await store.close()


async def simulate(store: Store, seed: int) -> int:
    """Random residents learning, some joining a cohort before and some after they learn."""
    rng = random.Random(seed)
    cohort = await store.cohorts.create(code="dawa2026", name="Dawa", created_by=1)
    lessons = {f"l{i}": [f"l{i}-q{j}" for j in range(3)] for i in range(4)}
    for resident_id in range(1, 41):
        await store.residents.ensure(resident_id=resident_id, language="zh")
        await store.residents.give_consent(resident_id=resident_id)
        await store.residents.set_profile(
            resident_id=resident_id, field="age_band", value=rng.choice(["18-39", "40-64", "65+"])
        )
        if rng.random() < 0.3:
            await store.cohorts.join(resident_id=resident_id, cohort_id=cohort.id)
        for lesson_id, questions in rng.sample(sorted(lessons.items()), rng.randint(0, 4)):
            await store.lessons.open_card(
                resident_id=resident_id, lesson_id=lesson_id, card_index=0
            )
            for _ in range(rng.randint(1, 3)):  # first attempt, then some retries
                attempt = await store.quizzes.start(
                    resident_id=resident_id,
                    lesson_id=lesson_id,
                    question_ids=questions,
                    kind="full",
                )
                for position in range(len(questions)):
                    option = rng.randint(0, 2)
                    await store.quizzes.record_answer(
                        attempt=attempt, position=position, option_index=option, correct=option == 0
                    )
                await store.quizzes.finish(attempt_id=attempt.id)
            if rng.random() < 0.6:
                await store.lessons.complete(resident_id=resident_id, lesson_id=lesson_id)
        if rng.random() < 0.3:  # joined after learning: their past counts move into the cohort
            await store.cohorts.join(resident_id=resident_id, cohort_id=cohort.id)
        if rng.random() < 0.5:
            sitting = await store.checkups.start(
                resident_id=resident_id, kind="baseline", item_ids=["k"]
            )
            share = rng.choice([0.0, 0.5, 1.0])
            await store.checkups.finish(
                sitting_id=sitting.id,
                scores={"knowledge": share, "behaviour": 0.5, "attitude": 1.0},
                dont_know=rng.randint(0, 1),
            )
            if rng.random() < 0.5:
                final = await store.checkups.start(
                    resident_id=resident_id, kind="final", item_ids=["k"]
                )
                await store.checkups.finish(
                    sitting_id=final.id,
                    scores={"knowledge": min(1.0, share + 0.5), "behaviour": 1.0, "attitude": 1.0},
                    dont_know=0,
                )
    return cohort.id


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_aggregates_equal_raw_group_bys(store: Store, seed: int) -> None:
    cohort_id = await simulate(store, seed)
    async with store.engine.connect() as conn:
        for scope in (None, cohort_id):
            fast = await scope_counts(conn, scope, now=NOW, knowledge_items=8)
            raw = await raw_scope_counts(conn, scope, now=NOW, knowledge_items=8)
            assert fast == raw
            assert fast.questions and fast.lessons


async def test_rebuilding_from_raw_rows_gives_the_incremental_tables(store: Store) -> None:
    await simulate(store, 7)
    tables = (latest_answers, scope_question_totals, scope_lesson_totals, option_totals)

    async def snapshot() -> list[list[tuple[object, ...]]]:
        async with store.engine.connect() as conn:
            return [sorted(tuple(row) for row in await conn.execute(sa.select(t))) for t in tables]

    incremental = await snapshot()
    async with store.engine.begin() as conn:
        await rebuild_async(conn)
    assert await snapshot() == incremental


async def test_reach_and_activity_windows(store: Store) -> None:
    times = iter([NOW - dt.timedelta(days=40), NOW - dt.timedelta(days=10), NOW])
    clocked = Store(store.engine, clock=lambda: next(times))
    for resident_id in (1, 2, 3):
        await clocked.residents.ensure(resident_id=resident_id, language="zh")
    async with store.engine.connect() as conn:
        reach = (await scope_counts(conn, None, now=NOW, knowledge_items=8)).reach
    assert dataclasses.astuple(reach) == (3, 0, 1, 2, 1)


async def test_checkup_pairs_take_each_residents_latest_finished_final_in_the_scope(
    store: Store,
) -> None:
    cohort = await store.cohorts.create(code="pairs2026", name="Pairs", created_by=1)

    async def sitting(resident_id: int, kind: str, knowledge: float | None) -> None:
        started = await store.checkups.start(resident_id=resident_id, kind=kind, item_ids=["k"])
        if knowledge is not None:  # None: started, never finished
            await store.checkups.finish(
                sitting_id=started.id,
                scores={"knowledge": knowledge, "behaviour": 0.5, "attitude": 0.5},
                dont_know=0,
            )

    for resident_id in (1, 2, 3):
        await store.residents.ensure(resident_id=resident_id, language="zh")
        await store.residents.give_consent(resident_id=resident_id)
    for resident_id in (1, 2):
        await store.cohorts.join(resident_id=resident_id, cohort_id=cohort.id)
    await sitting(1, "baseline", 0.5)
    await sitting(1, "final", 0.75)
    await sitting(1, "final", 1.0)  # the latest final is the one compared
    await sitting(2, "baseline", 0.0)
    await sitting(2, "final", None)  # unfinished: not a final yet
    await sitting(3, "baseline", 0.25)  # outside the cohort
    await sitting(3, "final", 0.5)
    async with store.engine.connect() as conn:
        everyone = await scope_counts(conn, None, now=NOW, knowledge_items=8)
        members = await scope_counts(conn, cohort.id, now=NOW, knowledge_items=8)
    k = everyone.assessment.dimensions["knowledge"]
    assert (k.baseline_n, k.baseline_sum, k.final_n, k.final_sum) == (3, 0.75, 2, 1.5)
    assert (k.paired_n, k.paired_gain_sum, k.normalised_n) == (2, 0.75, 2)
    assert k.normalised_sum == pytest.approx(1 + 1 / 3)
    assert k.reached_target == 1
    k = members.assessment.dimensions["knowledge"]
    assert (k.baseline_n, k.baseline_sum, k.final_n, k.final_sum) == (2, 0.5, 1, 1.0)
    assert (k.paired_n, k.paired_gain_sum, k.normalised_n, k.normalised_sum) == (1, 0.5, 1, 1.0)
    assert k.reached_target == 1
    assert (everyone.assessment.residents_answering, members.assessment.residents_answering) == (
        3,
        2,
    )
