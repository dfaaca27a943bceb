"""The outbox's port (``store.outbox``), on every backend."""

from __future__ import annotations

from bot.store import Store


class TestOutbox:
    """Messages queued per chat, in order, until sent or dropped."""

    async def test_queued_in_order_per_chat_until_sent(self, store: Store) -> None:
        first = await store.outbox.add(chat_id=1, payload={"text": "a"}, priority=1)
        second = await store.outbox.add(chat_id=1, payload={"text": "b"})
        other = await store.outbox.add(chat_id=2, payload={"text": "c"}, priority=2)
        assert await store.outbox.chats() == {1: 0, 2: 2}
        assert await store.outbox.pending(chat_id=1) == [
            (first, 1, {"text": "a"}),
            (second, 1, {"text": "b"}),
        ]
        assert await store.outbox.pending(ids=[other]) == [(other, 2, {"text": "c"})]
        blocked, queued = await store.outbox.for_chat(chat_id=1)
        assert not blocked
        assert [(q.id, q.payload, q.priority) for q in queued] == [
            (first, {"text": "a"}, 1),
            (second, {"text": "b"}, 0),
        ]
        await store.outbox.rewrite(message_id=first, payload={"text": "a2"})
        assert await store.outbox.failed(message_id=first) == 1
        assert await store.outbox.failed(message_id=first) == 2
        _, queued = await store.outbox.for_chat(chat_id=1, limit=1)
        assert [(q.payload, q.attempts) for q in queued] == [({"text": "a2"}, 2)]
        await store.outbox.sent(message_id=first)
        await store.outbox.sent(ids=[second])
        await store.outbox.sent()  # nothing to forget
        assert await store.outbox.pending(chat_id=1) == []
        assert await store.outbox.drop_chat(chat_id=2) == 1
        assert await store.outbox.chats() == {}

    async def test_a_chat_that_blocked_the_bot_says_so_with_its_messages(
        self, store: Store
    ) -> None:
        await store.residents.ensure(resident_id=1, language="zh")
        assert await store.outbox.for_chat(chat_id=1) == (False, [])
        await store.residents.set_blocked(resident_id=1, blocked=True)
        assert await store.outbox.for_chat(chat_id=1) == (False, [])  # nothing to send
        await store.outbox.add(chat_id=1, payload={"text": "a"})
        blocked, queued = await store.outbox.for_chat(chat_id=1)
        assert blocked and len(queued) == 1
