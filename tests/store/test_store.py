"""The store's contract. Every backend must pass this suite; add one to BACKENDS to run it.

SQLite runs twice: with the store's statements inline on the loop's thread (the default), and
through aiosqlite, the asyncio path that PostgreSQL (asyncpg) takes too; PostgreSQL runs on a
fresh database per test (tests/backends.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.core.progress import LessonStatus
from bot.store import Store
from bot.store.schema import metadata
from tests.backends import BACKENDS, PostgresDatabases, backend_database


@pytest.fixture(params=BACKENDS)
def store_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_databases: PostgresDatabases
) -> Iterator[tuple[str, bool]]:
    yield from backend_database(request.param, tmp_path, postgres_databases)


@pytest.fixture
async def store(store_url: tuple[str, bool]) -> AsyncIterator[Store]:
    url, inline = store_url
    store = await Store.open(url, inline=inline)
    yield store
    await store.close()


async def test_migrations_build_exactly_the_declared_schema(store: Store) -> None:
    def diff(connection: object) -> list[object]:
        return compare_metadata(MigrationContext.configure(connection), metadata)  # type: ignore[arg-type]

    async with store.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_opening_twice_is_a_no_op_migration(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/again.db"
    first = await Store.open(url)
    await first.ensure_resident(resident_id=1, language="en")
    await first.close()
    second = await Store.open(url)
    assert (await second.get_resident(resident_id=1)) is not None
    await second.close()


async def test_two_stores_on_one_file_take_turns_across_awaits(tmp_path: Path) -> None:
    """A unit of work may await something real while it holds SQLite's write lock; another
    store of the same process on the same file then waits its turn on the loop instead of
    blocking the loop's thread inside SQLite (where the holder could never finish)."""
    url = f"sqlite+aiosqlite:///{tmp_path}/shared.db"
    first, second = await Store.open(url), await Store.open(url)
    holding = asyncio.Event()

    async def hold() -> None:
        async with first.unit_of_work():
            await first.ensure_resident(resident_id=1, language="en")
            holding.set()
            await asyncio.sleep(0.2)

    holder = asyncio.create_task(hold())
    await holding.wait()
    started = asyncio.get_running_loop().time()
    await second.ensure_resident(resident_id=2, language="zh")
    waited = asyncio.get_running_loop().time() - started
    await holder
    assert await second.get_resident(resident_id=1) is not None
    assert await first.get_resident(resident_id=2) is not None
    assert waited < 2  # its turn came when the holder committed, not at the busy timeout
    await first.close()
    await second.close()


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/wal.db")
    try:
        async with store.engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
    finally:
        await store.close()


async def test_resident_created_once_with_first_language(store: Store) -> None:
    first = await store.ensure_resident(resident_id=42, language="en")
    again = await store.ensure_resident(resident_id=42, language="zh")
    assert first.language == again.language == "en"
    assert not again.consented
    await store.give_consent(resident_id=42)
    await store.set_language(resident_id=42, language="zh")
    resident = await store.get_resident(resident_id=42)
    assert resident is not None and resident.consented and resident.language == "zh"


async def test_lesson_progress_and_completion(store: Store) -> None:
    await store.ensure_resident(resident_id=1, language="zh")
    await store.open_card(resident_id=1, lesson_id="a", card_index=2)
    position = await store.lesson_in_progress(resident_id=1)
    assert position is not None and (position.lesson_id, position.card_index) == ("a", 2)
    await store.complete_lesson(resident_id=1, lesson_id="a")
    await store.open_card(resident_id=1, lesson_id="a", card_index=0)  # rereading a done lesson
    state = await store.resident_state(resident_id=1)
    assert state.status("a") is LessonStatus.DONE
    assert await store.lesson_in_progress(resident_id=1) is None


async def test_answer_recorded_once_and_moves_the_sitting_on(store: Store) -> None:
    await store.ensure_resident(resident_id=1, language="zh")
    attempt = await store.start_attempt(
        resident_id=1, lesson_id="a", question_ids=["q1", "q2"], kind="full"
    )
    assert await store.record_answer(attempt=attempt, position=0, option_index=1, correct=False)
    assert not await store.record_answer(attempt=attempt, position=0, option_index=0, correct=True)
    recorded = await store.attempt_answers(attempt_id=attempt.id)
    assert list(recorded) == ["q1"] and recorded["q1"].option_index == 1
    reloaded = await store.get_attempt(attempt_id=attempt.id)
    assert reloaded is not None and reloaded.position == 1


async def test_racing_presses_record_one_answer(store: Store) -> None:
    await store.ensure_resident(resident_id=1, language="zh")
    attempt = await store.start_attempt(
        resident_id=1, lesson_id="a", question_ids=["q1"], kind="full"
    )
    results = await asyncio.gather(
        *(
            store.record_answer(attempt=attempt, position=0, option_index=i % 2, correct=True)
            for i in range(6)
        )
    )
    assert sorted(results) == [False] * 5 + [True]
    assert len(await store.attempt_answers(attempt_id=attempt.id)) == 1


async def test_latest_answer_decides_mastery_and_tries_are_counted(store: Store) -> None:
    await store.ensure_resident(resident_id=1, language="zh")
    first = await store.start_attempt(
        resident_id=1, lesson_id="a", question_ids=["q1"], kind="full"
    )
    await store.record_answer(attempt=first, position=0, option_index=0, correct=False)
    assert await store.finish_attempt(attempt_id=first.id)
    assert not await store.finish_attempt(attempt_id=first.id)
    retry = await store.start_attempt(
        resident_id=1, lesson_id="a", question_ids=["q1"], kind="retry"
    )
    await store.record_answer(attempt=retry, position=0, option_index=1, correct=True)
    state = await store.resident_state(resident_id=1)
    assert state.latest_correct == {"q1": True}
    exported = await store.export_resident(resident_id=1)
    assert [a["try_number"] for a in exported["answers"]] == [1, 2]


async def test_unfinished_attempt_is_the_latest_open_one(store: Store) -> None:
    await store.ensure_resident(resident_id=1, language="zh")
    done = await store.start_attempt(resident_id=1, lesson_id="a", question_ids=["q1"], kind="full")
    await store.finish_attempt(attempt_id=done.id)
    assert await store.unfinished_attempt(resident_id=1) is None
    open_one = await store.start_attempt(
        resident_id=1, lesson_id="b", question_ids=["q2"], kind="full"
    )
    found = await store.unfinished_attempt(resident_id=1)
    assert found is not None and found.id == open_one.id


async def test_export_and_forget_cover_every_row(store: Store) -> None:
    for resident_id in (1, 2):
        await store.ensure_resident(resident_id=resident_id, language="zh")
        await store.open_card(resident_id=resident_id, lesson_id="a", card_index=0)
        attempt = await store.start_attempt(
            resident_id=resident_id, lesson_id="a", question_ids=["q1"], kind="full"
        )
        await store.record_answer(attempt=attempt, position=0, option_index=0, correct=True)
        sitting = await store.start_sitting(
            resident_id=resident_id, kind="baseline", item_ids=["k1"]
        )
        await store.record_item_answer(sitting=sitting, position=0, option_index=None, points=0)
        cohort = await store.create_cohort(code=f"c{resident_id}", name="Dawa", created_by=9)
        await store.join_cohort(resident_id=resident_id, cohort_id=cohort.id)
        # The fraud tools (issue 16): a loan calculator half-way, and a drill answered.
        await store.loans.start(resident_id=resident_id, step="received")
        await store.drills.record(
            resident_id=resident_id, drill_id="d", answer="scam", correct=True
        )
        await store.checks.wait_for_message(resident_id=resident_id)  # the scam checker
    exported = await store.export_resident(resident_id=1)
    assert {k: len(v) for k, v in exported.items()} == {
        "residents": 1,
        "lesson_progress": 1,
        "quiz_attempts": 1,
        "answers": 1,
        "assessment_sittings": 1,
        "assessment_answers": 1,
        "cohort_members": 1,
        "broadcast_deliveries": 0,
        "latest_answers": 1,
        "outbox": 0,
        "exports": 0,
        "loan_sessions": 1,
        "drill_answers": 1,
        "check_waits": 1,
    }
    await store.forget_resident(resident_id=1)
    assert {k: len(v) for k, v in (await store.export_resident(resident_id=1)).items()} == {
        "residents": 0,
        "lesson_progress": 0,
        "quiz_attempts": 0,
        "answers": 0,
        "assessment_sittings": 0,
        "assessment_answers": 0,
        "cohort_members": 0,
        "broadcast_deliveries": 0,
        "latest_answers": 0,
        "outbox": 0,
        "exports": 0,
        "loan_sessions": 0,
        "drill_answers": 0,
        "check_waits": 0,
    }
    assert (await store.get_resident(resident_id=2)) is not None  # others untouched
    assert len((await store.export_resident(resident_id=2))["answers"]) == 1
    assert len((await store.export_resident(resident_id=2))["assessment_answers"]) == 1


async def test_inbox_accepts_once_and_forgets_old_ids(store: Store) -> None:
    update = {"update_id": 5, "message": {"text": "secret words"}}
    assert await store.inbox_accept([update]) == [update]
    assert await store.inbox_accept([update]) == [update]  # accepted, not yet handled
    assert await store.inbox_finish(update_id=5)
    assert not await store.inbox_finish(update_id=5)
    assert await store.inbox_accept([update]) == []  # handled: a redelivery is filtered out
    async with store.engine.connect() as conn:
        payloads = (await conn.exec_driver_sql("select payload from inbox")).all()
    assert payloads == [(None,)]  # the content is erased once handled
    assert await store.inbox_purge(older_than=dt.timedelta(days=3)) == 0
    assert await store.inbox_purge(older_than=dt.timedelta(seconds=-1)) == 1
