"""The cohorts' port (``store.cohorts``), on every backend."""

from __future__ import annotations

from bot.store import Store


class TestCohorts:
    """Cohorts found by code or name, joined once, a link code held until consent."""

    async def test_create_find_join_and_count(self, store: Store) -> None:
        dawa = await store.cohorts.create(code="dawa000001", name="Dawa", created_by=9)
        again = await store.cohorts.create(code="dawa000002", name="Dawa", created_by=9)
        assert await store.cohorts.find(code="dawa000001") == dawa
        assert await store.cohorts.find(name="Dawa") == again  # the most recent of that name
        assert await store.cohorts.find(code="nowhere") is None
        for resident_id in (1, 2):
            await store.residents.ensure(resident_id=resident_id, language="zh")
            assert await store.cohorts.join(resident_id=resident_id, cohort_id=dawa.id)
        assert not await store.cohorts.join(resident_id=1, cohort_id=dawa.id)
        assert [(c.id, c.members) for c in await store.cohorts.all()] == [
            (again.id, 0),
            (dawa.id, 2),
        ]

    async def test_a_held_code_is_taken_once(self, store: Store) -> None:
        await store.residents.ensure(resident_id=1, language="zh")
        assert await store.cohorts.take_code(resident_id=1) is None
        await store.cohorts.hold_code(resident_id=1, code="dawa000001")
        assert await store.cohorts.take_code(resident_id=1) == "dawa000001"
        assert await store.cohorts.take_code(resident_id=1) is None
