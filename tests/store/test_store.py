"""The store's contract. Every backend must pass this suite; add one to BACKENDS to run it.

One class per feature repository (one port), in the module named after it: ``TestResidents`` in
test_residents.py, ``TestQuizzes`` in test_quizzes.py, and so on; this one is the store as a whole
(its schema, its connections, its transactions). SQLite runs twice: with the store's statements
inline on the loop's thread (the default), and through aiosqlite, the asyncio path that
PostgreSQL (asyncpg) takes too; PostgreSQL runs on a fresh database per test (tests/backends.py
and tests/store/conftest.py).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.store import Store
from bot.store.schema import metadata


class TestStore:
    """The schema, the connections and the units of work every feature shares."""

    async def test_migrations_build_exactly_the_declared_schema(self, store: Store) -> None:
        def diff(connection: sa.Connection) -> list[object]:
            found: list[object] = compare_metadata(MigrationContext.configure(connection), metadata)
            return found  # alembic declares it as Any: the list of differences

        async with store.engine.connect() as conn:
            assert await conn.run_sync(diff) == []

    async def test_opening_twice_is_a_no_op_migration(self, tmp_path: Path) -> None:
        url = f"sqlite+aiosqlite:///{tmp_path}/again.db"
        first = await Store.open(url)
        await first.residents.ensure(resident_id=1, language="en")
        await first.close()
        second = await Store.open(url)
        assert (await second.residents.get(resident_id=1)) is not None
        await second.close()

    async def test_two_stores_on_one_file_take_turns_across_awaits(self, tmp_path: Path) -> None:
        """A unit of work may await something real while it holds SQLite's write lock; another
        store of the same process on the same file then waits its turn on the loop instead of
        blocking the loop's thread inside SQLite (where the holder could never finish)."""
        url = f"sqlite+aiosqlite:///{tmp_path}/shared.db"
        first, second = await Store.open(url), await Store.open(url)
        holding = asyncio.Event()

        async def hold() -> None:
            async with first.unit_of_work():
                await first.residents.ensure(resident_id=1, language="en")
                holding.set()
                await asyncio.sleep(0.2)

        holder = asyncio.create_task(hold())
        await holding.wait()
        started = asyncio.get_running_loop().time()
        await second.residents.ensure(resident_id=2, language="zh")
        waited = asyncio.get_running_loop().time() - started
        await holder
        assert await second.residents.get(resident_id=1) is not None
        assert await first.residents.get(resident_id=2) is not None
        assert waited < 2  # its turn came when the holder committed, not at the busy timeout
        await first.close()
        await second.close()

    async def test_sqlite_runs_in_wal_mode_with_foreign_keys(self, tmp_path: Path) -> None:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path}/wal.db")
        try:
            async with store.engine.connect() as conn:
                assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
                assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
        finally:
            await store.close()

    async def test_every_feature_joins_the_unit_of_work(self, store: Store) -> None:
        """A unit of work that fails leaves nothing of any feature's writes behind."""

        class Undone(Exception):
            pass

        with pytest.raises(Undone):
            async with store.unit_of_work():
                await store.residents.ensure(resident_id=1, language="zh")
                await store.lessons.open_card(resident_id=1, lesson_id="a", card_index=0)
                await store.outbox.add(chat_id=1, payload={"text": "hi"})
                await store.inbox.accept([{"update_id": 1}])
                await store.state.set_once("key", "value")
                assert await store.residents.get(resident_id=1) is not None  # its own writes
                raise Undone
        assert await store.residents.get(resident_id=1) is None
        assert await store.lessons.in_progress(resident_id=1) is None
        assert await store.outbox.chats() == {}
        assert await store.inbox.pending() == []
        assert await store.state.get("key") is None

    async def test_units_of_work_do_not_nest(self, store: Store) -> None:
        async with store.unit_of_work():
            with pytest.raises(RuntimeError):
                async with store.unit_of_work():
                    pass
