"""The broadcasts' port (``store.broadcasts``), on every backend."""

from __future__ import annotations

from bot.store import Store


async def audience_of_three(store: Store) -> int:
    """Residents 1-3 consented (3 in a cohort, 2 opted out) and 4 never agreed; the cohort's id."""
    cohort = await store.cohorts.create(code="dawa000001", name="Dawa", created_by=9)
    for resident_id in (1, 2, 3, 4):
        await store.residents.ensure(resident_id=resident_id, language="zh")
        if resident_id != 4:
            await store.residents.give_consent(resident_id=resident_id)
    await store.residents.set_announcements(resident_id=2, on=False)
    await store.cohorts.join(resident_id=3, cohort_id=cohort.id)
    return cohort.id


class TestBroadcasts:
    """A draft, then one delivery per recipient, each claimed and settled once."""

    async def test_a_broadcast_reaches_its_audience_once(self, store: Store) -> None:
        cohort_id = await audience_of_three(store)
        assert await store.broadcasts.audience(cohort_id=None) == 2
        assert await store.broadcasts.audience(cohort_id=cohort_id) == 1
        draft = await store.broadcasts.create(admin_id=9, cohort_id=None, text="hello")
        assert (
            draft.status == "draft" and await store.broadcasts.get(broadcast_id=draft.id) == draft
        )
        started = await store.broadcasts.start(broadcast_id=draft.id)
        assert started is not None and (started.status, started.recipients) == ("sending", 2)
        assert await store.broadcasts.start(broadcast_id=draft.id) is None  # pressed twice
        assert not await store.broadcasts.cancel(broadcast_id=draft.id)
        assert [b.id for b in await store.broadcasts.sending()] == [draft.id]
        pending = await store.broadcasts.pending_deliveries(broadcast_id=draft.id, limit=10)
        assert [(r.resident_id, r.announcements, r.blocked) for r in pending] == [
            (1, True, False),
            (3, True, False),
        ]
        assert await store.broadcasts.claim(broadcast_id=draft.id, resident_id=1)
        assert not await store.broadcasts.claim(broadcast_id=draft.id, resident_id=1)
        assert await store.broadcasts.release(broadcast_id=draft.id, resident_id=1)
        assert await store.broadcasts.claim(broadcast_id=draft.id, resident_id=1)
        assert await store.broadcasts.settle(broadcast_id=draft.id, resident_id=1, status="sent")
        assert not await store.broadcasts.settle(
            broadcast_id=draft.id, resident_id=1, status="sent"
        )
        assert not await store.broadcasts.finish(broadcast_id=draft.id)  # 3 still pending
        assert await store.broadcasts.settle(
            broadcast_id=draft.id, resident_id=3, status="skipped", claimed=False
        )
        assert await store.broadcasts.delivery_status(broadcast_id=draft.id) == {
            1: "sent",
            3: "skipped",
        }
        assert await store.broadcasts.finish(broadcast_id=draft.id)
        assert not await store.broadcasts.finish(broadcast_id=draft.id)
        done = await store.broadcasts.get(broadcast_id=draft.id)
        assert done is not None and (done.status, done.sent, done.skipped) == ("done", 1, 1)

    async def test_claims_a_crash_interrupted_are_never_sent_again(self, store: Store) -> None:
        await audience_of_three(store)
        draft = await store.broadcasts.create(admin_id=9, cohort_id=None, text="hello")
        await store.broadcasts.start(broadcast_id=draft.id)
        assert await store.broadcasts.claim(broadcast_id=draft.id, resident_id=1)
        assert await store.broadcasts.abandon_claimed() == 1
        assert await store.broadcasts.abandon_claimed() == 0
        assert (await store.broadcasts.delivery_status(broadcast_id=draft.id))[1] == "unknown"
        counted = await store.broadcasts.get(broadcast_id=draft.id)
        assert counted is not None and counted.failed == 1

    async def test_a_draft_can_be_cancelled_once(self, store: Store) -> None:
        draft = await store.broadcasts.create(admin_id=9, cohort_id=None, text="hello")
        assert await store.broadcasts.cancel(broadcast_id=draft.id)
        assert not await store.broadcasts.cancel(broadcast_id=draft.id)
        assert await store.broadcasts.start(broadcast_id=draft.id) is None
