"""The scam-message checker's storage: a request to check waits in the database (not in memory),
lapses, is purged by housekeeping, and the counts hold nothing but counts."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.core.fraud.routing import CHECK_WAIT
from bot.housekeeping import CHECK_WAIT_MEMORY, Housekeeping
from bot.settings import Settings
from bot.store import Store
from bot.store.schema import check_counts, check_waits
from tests.fakes.clock import StillClock

START = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> StillClock:
    return StillClock(START)


@pytest.fixture(params=["inline", "asyncio"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: StillClock
) -> AsyncIterator[Store]:
    store = await Store.open(
        f"sqlite+aiosqlite:///{tmp_path}/checks.db", clock=clock, inline=request.param == "inline"
    )
    await store.residents.ensure(resident_id=1, language="zh")
    await store.residents.ensure(resident_id=2, language="en")
    yield store
    await store.close()


async def test_a_request_is_used_once_and_lapses(store: Store, clock: StillClock) -> None:
    checks = store.checks
    assert not await checks.take_wait(resident_id=1, within=CHECK_WAIT)
    await checks.wait_for_message(resident_id=1)
    await checks.wait_for_message(resident_id=1)  # pressed twice: still one request
    assert await checks.take_wait(resident_id=1, within=CHECK_WAIT)
    assert not await checks.take_wait(resident_id=1, within=CHECK_WAIT)  # used up

    await checks.wait_for_message(resident_id=2)
    clock.now += CHECK_WAIT + dt.timedelta(seconds=1)
    assert not await checks.take_wait(resident_id=2, within=CHECK_WAIT)  # lapsed
    assert not await checks.take_wait(resident_id=2, within=CHECK_WAIT)  # and gone


async def test_a_request_inside_a_unit_of_work_commits_with_it(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.unit_of_work():
            await store.checks.wait_for_message(resident_id=1)
            raise RuntimeError("the handler failed")
    assert not await store.checks.take_wait(resident_id=1, within=CHECK_WAIT)


async def test_counts_are_counts_only(store: Store) -> None:
    await store.checks.count(categories=["safe_account", "fake_authority"])
    await store.checks.count(categories=["safe_account"])
    await store.checks.count(categories=[])
    assert await store.checks.counts() == {
        "checked": 3,
        "none": 1,
        "safe_account": 2,
        "fake_authority": 1,
    }
    # No resident and no text: a category and a number, nothing else.
    assert [c.name for c in check_counts.columns] == ["category", "times"]
    assert store.privacy.resident_columns() and check_counts.name not in {
        column.table.name for column in store.privacy.resident_columns()
    }
    assert check_waits.name in {column.table.name for column in store.privacy.resident_columns()}


async def test_housekeeping_purges_old_requests(
    store: Store, clock: StillClock, settings: Settings
) -> None:
    await store.checks.wait_for_message(resident_id=1)
    clock.now += dt.timedelta(hours=1)
    await store.checks.wait_for_message(resident_id=2)
    clock.now = START + CHECK_WAIT_MEMORY + dt.timedelta(minutes=30)
    removed = await Housekeeping(store, settings).run_once()
    assert removed["scam-check waits"] == 1
    async with store.engine.connect() as conn:
        left = (await conn.execute(sa.select(check_waits.c.resident_id))).scalars().all()
    assert left == [2]


async def test_forget_deletes_a_pending_request(store: Store) -> None:
    await store.checks.wait_for_message(resident_id=1)
    assert len((await store.privacy.export(resident_id=1))["check_waits"]) == 1
    await store.privacy.forget(resident_id=1)
    assert (await store.privacy.export(resident_id=1))["check_waits"] == []
