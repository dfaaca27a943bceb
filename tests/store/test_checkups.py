"""The check-up's port (``store.checkups``), on every backend."""

from __future__ import annotations

from bot.store import Store


class TestCheckups:
    """Sittings of the check-up: each item answered once, closed once with its scores."""

    async def test_a_sitting_records_each_item_once_and_closes_once(self, store: Store) -> None:
        await store.residents.ensure(resident_id=1, language="zh")
        sitting = await store.checkups.start(
            resident_id=1, kind="baseline", item_ids=["k1", "k2"], instrument_version=2
        )
        checkups = store.checkups
        assert await checkups.record_answer(sitting=sitting, position=0, option_index=2, points=1)
        assert not await checkups.record_answer(
            sitting=sitting, position=0, option_index=1, points=0
        )
        assert await checkups.record_answer(
            sitting=sitting, position=1, option_index=None, points=0
        )
        assert await checkups.answers(sitting_id=sitting.id) == {"k1": 2, "k2": None}
        scores = {"knowledge": 0.5, "behaviour": 1.0, "attitude": 0.25}
        assert await checkups.finish(sitting_id=sitting.id, scores=scores, dont_know=1)
        assert not await checkups.finish(sitting_id=sitting.id, scores=scores, dont_know=1)
        closed = await checkups.get(sitting_id=sitting.id)
        assert closed is not None and closed.finished_at is not None
        assert (closed.position, closed.scores, closed.instrument_version) == (2, scores, 2)
        later = await checkups.start(resident_id=1, kind="follow_up", item_ids=["k1"])
        assert [s.id for s in await checkups.of_resident(resident_id=1)] == [sitting.id, later.id]
        assert await checkups.get(sitting_id=later.id + 1) is None
