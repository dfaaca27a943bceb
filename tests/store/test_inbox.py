"""The inbox's port (``store.inbox``), on every backend."""

from __future__ import annotations

import datetime as dt

from bot.store import Store


class TestInbox:
    """Updates accepted once, handled once, their content erased, their ids purged."""

    async def test_inbox_accepts_once_and_forgets_old_ids(self, store: Store) -> None:
        update = {"update_id": 5, "message": {"text": "secret words"}}
        assert await store.inbox.accept([update]) == [update]
        assert await store.inbox.accept([update]) == [update]  # accepted, not yet handled
        assert await store.inbox.finish(update_id=5)
        assert not await store.inbox.finish(update_id=5)
        assert await store.inbox.accept([update]) == []  # handled: a redelivery is filtered out
        async with store.engine.connect() as conn:
            payloads = (await conn.exec_driver_sql("select payload from inbox")).all()
        assert payloads == [(None,)]  # the content is erased once handled
        assert await store.inbox.purge(older_than=dt.timedelta(days=3)) == 0
        assert await store.inbox.purge(older_than=dt.timedelta(seconds=-1)) == 1

    async def test_pending_lists_what_is_not_handled_oldest_first(self, store: Store) -> None:
        later, earlier = {"update_id": 7}, {"update_id": 6}
        assert await store.inbox.accept([later, earlier]) == [later, earlier]
        assert await store.inbox.pending() == [earlier, later]
        assert not await store.inbox.done(update_id=6)
        assert await store.inbox.finish(update_id=6)
        assert await store.inbox.done(update_id=6)
        assert await store.inbox.pending() == [later]
