"""The replicas' port (``store.replicas``) and the inbox's and broadcasts' parts of it, on every
backend: several processes on one database (the bot uses them on PostgreSQL only)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest

from bot.store import Store
from bot.store.replicas import ChatPacing
from tests.backends import PostgresDatabases, require
from tests.store.conftest import Clock

LEASE = dt.timedelta(seconds=15)


@pytest.fixture
async def other(store_url: tuple[str, bool], clock: Clock) -> AsyncIterator[Store]:
    """A second process's store on the same database."""
    url, inline = store_url
    store = await Store.open(url, clock=clock, inline=inline)
    yield store
    await store.close()


@pytest.fixture
async def postgres_store_pair(
    postgres_databases: PostgresDatabases,
) -> AsyncIterator[tuple[Store, Store]]:
    """Two processes' stores on one PostgreSQL database."""
    require(postgres_databases)
    name, url = postgres_databases.new()
    first, second = await Store.open(url), await Store.open(url)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()
        postgres_databases.release(name)


class TestReplicas:
    async def test_a_replica_is_alive_while_it_beats_and_leaves_when_it_retires(
        self, store: Store, other: Store, clock: Clock
    ) -> None:
        assert store.replicas.me != other.replicas.me
        await store.replicas.beat()
        await other.replicas.beat()
        assert await store.replicas.alive() == sorted([store.replicas.me, other.replicas.me])
        clock.advance(LEASE + dt.timedelta(seconds=1))
        await store.replicas.beat()
        assert await store.replicas.alive() == [store.replicas.me]  # the other fell silent
        await store.replicas.retire()
        assert await other.replicas.alive() == []

    async def test_a_chat_is_held_by_one_live_replica_and_taken_over_after_the_lease(
        self, store: Store, other: Store, clock: Clock
    ) -> None:
        a, b = store.replicas, other.replicas
        await a.beat()
        await b.beat()
        assert await a.claim_chat(chat_id=7) == ChatPacing()  # nothing known: idle
        assert await a.claim_chat(chat_id=7) == ChatPacing()  # its own: still its own
        assert await b.claim_chat(chat_id=7) is None
        assert await b.holder(chat_id=7) == a.me
        clock.advance(LEASE + dt.timedelta(seconds=1))
        await b.beat()  # a fell silent: its chat is b's to take
        assert await b.claim_chat(chat_id=7) == ChatPacing()
        assert await a.holder(chat_id=7) == b.me

    async def test_a_chat_is_let_go_only_when_nothing_is_queued_and_its_pacing_travels(
        self, store: Store, other: Store
    ) -> None:
        a, b = store.replicas, other.replicas
        await a.beat()
        await b.beat()
        assert await a.claim_chat(chat_id=7) is not None
        await other.outbox.add(chat_id=7, payload={"text": "queued by b"})
        pacing = ChatPacing(
            tokens=0.5, stamp=1000.0, not_before=1010.0, group_sends=(960.125, 999.5)
        )
        # Something was queued meanwhile: a keeps the chat (and sends it).
        assert not await a.release_chat(chat_id=7, pacing=pacing, released_at=1000.0)
        assert await a.claimable() == {7: 0}
        assert await b.claimable() == {}  # a live replica holds it
        assert await b.claim_chat(chat_id=7) is None
        _, queued = await store.outbox.for_chat(chat_id=7)
        await store.outbox.sent(ids=[m.id for m in queued])
        assert await a.release_chat(chat_id=7, pacing=pacing, released_at=1000.0)
        assert await a.holder(chat_id=7) is None
        assert not await b.release_chat(chat_id=7, pacing=pacing, released_at=1.0)  # not b's
        assert await b.claim_chat(chat_id=7) == pacing  # the next holder paces it on

    async def test_retiring_lets_go_of_every_chat(self, store: Store, other: Store) -> None:
        await store.replicas.beat()
        await other.replicas.beat()
        for chat_id in (1, 2):
            assert await store.replicas.claim_chat(chat_id=chat_id) is not None
        await store.replicas.retire()
        for chat_id in (1, 2):
            assert await other.replicas.claim_chat(chat_id=chat_id) is not None

    async def test_the_bots_budget_hands_out_evenly_spaced_slots_after_any_pause(
        self, store: Store, other: Store
    ) -> None:
        gap = 0.035
        first = await store.replicas.reserve(now=100.0, gap=gap)
        second = await other.replicas.reserve(now=100.0, gap=gap)
        third = await store.replicas.reserve(now=100.01, gap=gap)
        assert first == 100.0
        assert second == pytest.approx(100.035)
        assert third == pytest.approx(100.07)
        assert await store.replicas.reserve(now=200.0, gap=gap) == 200.0  # after a quiet spell
        await other.replicas.pause(until=205.0)
        await other.replicas.pause(until=203.0)  # a shorter pause does not shorten it
        assert await store.replicas.reserve(now=200.1, gap=gap) == 205.0
        assert await store.replicas.reserve(now=200.1, gap=gap) == pytest.approx(205.035)

    async def test_the_bots_budget_never_hands_one_slot_twice(
        self, store: Store, other: Store
    ) -> None:
        gap = 0.035
        slots = await asyncio.gather(
            *(s.replicas.reserve(now=50.0, gap=gap) for s in (store, other) for _ in range(20))
        )
        assert sorted(round((slot - 50.0) / gap) for slot in slots) == list(range(40))

    async def test_idle_chat_claims_and_silent_replicas_are_purged(
        self, store: Store, clock: Clock
    ) -> None:
        await store.replicas.beat()
        assert await store.replicas.claim_chat(chat_id=1) is not None
        assert await store.replicas.claim_chat(chat_id=2) is not None
        assert await store.replicas.release_chat(chat_id=1, pacing=ChatPacing(), released_at=100.0)
        assert await store.replicas.purge(before=50.0) == 0
        assert await store.replicas.purge(before=150.0) == 1  # chat 1; chat 2 is held
        clock.advance(dt.timedelta(days=2))
        assert await store.replicas.purge(before=150.0) == 1  # the replica, silent two days
        assert await store.replicas.alive() == []


class TestInboxAcrossReplicas:
    async def test_a_residents_earlier_updates_waiting_anywhere_and_left_unhandled(
        self, store: Store, other: Store, clock: Clock
    ) -> None:
        def update(n: int) -> dict[str, object]:
            return {"update_id": n, "message": {"text": str(n)}}

        await store.inbox.accept([update(1), update(3)], residents=[7, 7])
        await other.inbox.accept([update(2), update(4)], residents=[8, 7])
        assert await other.inbox.earlier(resident_id=7, update_id=4) == [update(1), update(3)]
        assert await store.inbox.earlier(resident_id=7, update_id=3) == [update(1)]
        assert await store.inbox.earlier(resident_id=8, update_id=2) == []
        async with store.unit_of_work():
            await store.inbox.take_turn(resident_id=7)  # a no-op on SQLite; a lock on PostgreSQL
            assert await store.inbox.finish(update_id=1)
        assert await other.inbox.earlier(resident_id=7, update_id=4) == [update(3)]
        assert await store.inbox.waiting(older_than=LEASE) == []
        clock.advance(LEASE + dt.timedelta(seconds=1))
        assert await store.inbox.waiting(older_than=LEASE) == [update(2), update(3), update(4)]

    async def test_a_handled_update_forgets_whose_it_was(self, store: Store) -> None:
        await store.inbox.accept([{"update_id": 1}], residents=[7])
        assert len((await store.privacy.export(resident_id=7))["inbox"]) == 1
        assert await store.inbox.finish(update_id=1)
        assert (await store.privacy.export(resident_id=7))["inbox"] == []


@pytest.mark.postgres
async def test_a_residents_turn_waits_for_another_process_until_its_commit(
    postgres_store_pair: tuple[Store, Store],
) -> None:
    first, second = postgres_store_pair
    order: list[str] = []
    holding = asyncio.Event()

    async def one() -> None:
        async with first.unit_of_work():
            await first.inbox.take_turn(resident_id=7)
            holding.set()
            await asyncio.sleep(0.3)
            order.append("first commits")

    async def two() -> None:
        await holding.wait()
        async with second.unit_of_work():
            await second.inbox.take_turn(resident_id=8)  # another resident: no wait
            order.append("other resident")
            await second.inbox.take_turn(resident_id=7)
            order.append("second has the turn")

    await asyncio.gather(one(), two())
    assert order == ["other resident", "first commits", "second has the turn"]


class TestBroadcastClaimsAcrossReplicas:
    async def test_abandoning_spares_the_claims_of_live_replicas(
        self, store: Store, other: Store, clock: Clock
    ) -> None:
        for resident_id in (1, 2, 3):
            await store.residents.ensure(resident_id=resident_id, language="zh")
            await store.residents.give_consent(resident_id=resident_id)
        draft = await store.broadcasts.create(admin_id=9, cohort_id=None, text="hi")
        assert await store.broadcasts.start(broadcast_id=draft.id) is not None
        await store.replicas.beat()
        await other.replicas.beat()
        b = draft.id
        assert await store.broadcasts.claim(broadcast_id=b, resident_id=1, by=store.replicas.me)
        assert not await other.broadcasts.claim(broadcast_id=b, resident_id=1, by="x")  # once
        assert await other.broadcasts.claim(broadcast_id=b, resident_id=2, by=other.replicas.me)
        assert await other.broadcasts.claim(broadcast_id=b, resident_id=3)  # before replicas
        # A replica starting now abandons only what no live replica holds.
        assert await other.broadcasts.abandon_claimed(lease=LEASE) == 1
        status = await store.broadcasts.delivery_status(broadcast_id=b)
        assert status == {1: "sending", 2: "sending", 3: "unknown"}
        clock.advance(LEASE + dt.timedelta(seconds=1))
        await other.replicas.beat()  # the first replica fell silent
        assert await other.broadcasts.abandon_claimed(lease=LEASE) == 1
        assert (await store.broadcasts.delivery_status(broadcast_id=b))[1] == "unknown"
        assert not await store.broadcasts.settle(broadcast_id=b, resident_id=1, status="sent")
        assert await other.broadcasts.settle(broadcast_id=b, resident_id=2, status="sent")
        final = await store.broadcasts.get(broadcast_id=b)
        assert final is not None and (final.sent, final.failed) == (1, 2)
