"""``finlit db copy``: a SQLite deployment moved to PostgreSQL, whole, checked and still working."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.cli import main
from bot.store import Store
from bot.store.copy import TargetNotEmpty, copy_database
from bot.store.schema import answers, metadata
from tests.store.test_stats import simulate

pytestmark = pytest.mark.postgres


async def filled_sqlite(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path}/live.db"
    store = await Store.open(url)
    try:
        await simulate(store, seed=5)
        await store.outbox.add(chat_id=1, payload={"kind": "text", "text": "hi", "keyboard": []})
        writer = store.exports.writer(chat_id=1, stem="a", header=("x",))
        await writer.write_rows(_rows())
        await store.audit.record(admin_id=9, action="stats")
        await store.asks.count(tallies=["asked", "lesson", "topic:credit"])  # issue 17's counts
    finally:
        await store.close()
    return url


async def _rows() -> AsyncIterator[tuple[int]]:
    for i in range(100):
        yield (i,)


async def counts(url: str) -> dict[str, int]:
    store = await Store.open(url, inline=False)
    try:
        async with store.engine.connect() as conn:
            return {
                t.name: int(await conn.scalar(sa.select(sa.func.count()).select_from(t)) or 0)
                for t in metadata.sorted_tables
            }
    finally:
        await store.close()


async def test_a_sqlite_deployment_moves_to_postgres_whole_and_keeps_working(
    tmp_path: Path, empty_postgres: str
) -> None:
    source = await filled_sqlite(tmp_path)
    copied = await copy_database(source, empty_postgres)
    assert {c.name: c.rows for c in copied} == await counts(source)
    assert await counts(empty_postgres) == await counts(source)
    assert sum(c.rows for c in copied) > 500
    # The copy is a working deployment: new rows get fresh ids (the sequences moved on).
    store = await Store.open(empty_postgres, inline=False)
    try:
        before = await store.lessons.resident_state(resident_id=1)
        attempt = await store.quizzes.start(
            resident_id=1, lesson_id="l0", question_ids=["l0-q0"], kind="full"
        )
        await store.quizzes.record_answer(attempt=attempt, position=0, option_index=0, correct=True)
        await store.outbox.add(chat_id=1, payload={"kind": "text", "text": "x", "keyboard": []})
        async with store.engine.connect() as conn:
            assert (
                await conn.scalar(sa.select(sa.func.count()).select_from(answers))
                == (await counts(source))["answers"] + 1
            )
        assert before.lesson_status  # progress came along
    finally:
        await store.close()


async def test_a_database_in_use_is_never_overwritten_without_force(
    tmp_path: Path, empty_postgres: str
) -> None:
    source = await filled_sqlite(tmp_path)
    await copy_database(source, empty_postgres)
    with pytest.raises(TargetNotEmpty) as refused:
        await copy_database(source, empty_postgres)
    assert refused.value.tables["residents"] == 40
    copied = await copy_database(source, empty_postgres, force=True)  # replaced, not doubled
    assert {c.name: c.rows for c in copied} == await counts(empty_postgres)


def test_the_command_copies_and_refuses_a_second_time(
    tmp_path: Path,
    empty_postgres: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import asyncio

    source = asyncio.run(filled_sqlite(tmp_path))
    monkeypatch.setenv("DATABASE_URL", source)
    monkeypatch.chdir(tmp_path)  # no .env from the repository
    assert main(["db", "copy", "--to", empty_postgres]) == 0
    out = capsys.readouterr().out
    assert "residents 40" in out and "verified" in out
    assert main(["db", "copy", "--to", empty_postgres]) == 1
    assert "--force" in capsys.readouterr().err
