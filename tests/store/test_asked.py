"""The store's side of "ask in your own words" (issue 17), on every backend: tallies and nothing
else, joined to the unit of work, outside /mydata and /forget (they name no one), kept by the
retention purge, and moved whole by ``finlit db copy``."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.core.ask.desk import ASKED, LESSON, NOTHING, TOPIC, URGENT
from bot.store import Store
from bot.store.schema import ask_counts
from tests.store.conftest import Clock


class TestAskCounts:
    async def test_tallies_add_up(self, store: Store) -> None:
        await store.asks.count(tallies=[ASKED, LESSON, TOPIC + "credit"])
        await store.asks.count(tallies=[ASKED, LESSON, TOPIC + "credit"])
        await store.asks.count(tallies=[ASKED, URGENT])
        await store.asks.count(tallies=[ASKED, NOTHING])
        assert await store.asks.counts() == {
            ASKED: 4,
            LESSON: 2,
            TOPIC + "credit": 2,
            URGENT: 1,
            NOTHING: 1,
        }

    async def test_counting_at_once_loses_nothing(self, store: Store) -> None:
        # The first count of a tally from several tasks at once: one upsert, no duplicate key.
        await asyncio.gather(*(store.asks.count(tallies=[ASKED, URGENT]) for _ in range(8)))
        assert await store.asks.counts() == {ASKED: 8, URGENT: 8}

    async def test_a_count_commits_with_its_unit_of_work(self, store: Store) -> None:
        with pytest.raises(RuntimeError):
            async with store.unit_of_work():
                await store.asks.count(tallies=[ASKED])
                raise RuntimeError("the reply could not be recorded")
        assert await store.asks.counts() == {}

    async def test_counts_name_no_one_so_mydata_and_forget_leave_them(self, store: Store) -> None:
        assert [c.name for c in ask_counts.columns] == ["tally", "times"]
        assert ask_counts.name not in {c.table.name for c in store.privacy.resident_columns()}
        await store.residents.ensure(resident_id=1, language="zh")
        await store.asks.count(tallies=[ASKED, URGENT])
        assert ask_counts.name not in await store.privacy.export(resident_id=1)
        await store.privacy.forget(resident_id=1)
        assert await store.asks.counts() == {ASKED: 1, URGENT: 1}  # totals, traceable to no one

    async def test_the_retention_purge_keeps_the_totals(self, store: Store, clock: Clock) -> None:
        await store.residents.ensure(resident_id=2, language="en")  # never consents
        await store.asks.count(tallies=[ASKED, NOTHING])
        clock.advance(dt.timedelta(days=31))
        assert await store.privacy.purge_unconsented(older_than=dt.timedelta(days=30)) == 1
        assert await store.asks.counts() == {ASKED: 1, NOTHING: 1}
