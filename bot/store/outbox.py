"""The outbox: replies committed with the effects that caused them, sent after the commit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from bot.core.models import Queued
from bot.store import statements as sql
from bot.store.db import Connections
from bot.store.schema import outbox
from bot.store.values import Clock


class Outbox:
    """Messages to send, per chat, in the order they were queued."""

    def __init__(self, connections: Connections, clock: Clock) -> None:
        self._db = connections
        self._now = clock

    async def add(self, *, chat_id: int, payload: dict[str, Any], priority: int = 0) -> int:
        """Queue a message for a chat; returns its id."""
        async with self._db._write() as conn:
            result = await conn.execute(
                sql.of(conn).outbox_add,
                {
                    "chat_id": chat_id,
                    "payload": json.dumps(payload),
                    "created_at": self._now(),
                    "priority": priority,
                },
            )
            return int(result.scalar_one())

    async def pending(
        self, *, chat_id: int | None = None, ids: Sequence[int] | None = None
    ) -> list[tuple[int, int, dict[str, Any]]]:
        """(id, chat id, payload) of messages still to send, in the order they were queued."""
        query = sa.select(outbox.c.id, outbox.c.chat_id, outbox.c.payload).order_by(outbox.c.id)
        if chat_id is not None:
            query = query.where(outbox.c.chat_id == chat_id)
        if ids is not None:
            query = query.where(outbox.c.id.in_(list(ids)))
        async with self._db._read() as conn:
            rows = await conn.execute(query)
            return [(row.id, row.chat_id, json.loads(row.payload)) for row in rows]

    async def chats(self) -> dict[int, int]:
        """Chats with messages to send, each with the most urgent priority among them."""
        query = sa.select(
            outbox.c.chat_id, sa.func.min(outbox.c.priority).label("priority")
        ).group_by(outbox.c.chat_id)
        async with self._db._read() as conn:
            rows = (await conn.execute(query)).all()
        return {int(row.chat_id): int(row.priority) for row in rows}

    async def for_chat(self, *, chat_id: int, limit: int = 50) -> tuple[bool, list[Queued]]:
        """Whether the chat blocked the bot, and its oldest queued messages: one read."""
        async with self._db._read() as conn:
            rows = (
                await conn.execute(
                    sql.of(conn).outbox_for_chat, {"chat_id": chat_id, "limit": limit}
                )
            ).all()
        # Nothing queued means nothing to send, whatever the chat's state.
        blocked = bool(rows) and rows[0].blocked_at is not None
        queued = [
            Queued(
                id=row.id,
                chat_id=chat_id,
                payload=json.loads(row.payload),
                priority=row.priority,
                attempts=row.attempts,
            )
            for row in rows
        ]
        return blocked, queued

    async def rewrite(self, *, message_id: int, payload: dict[str, Any]) -> None:
        """Replace a queued message's payload (an edit Telegram cannot apply becomes a send)."""
        async with self._db._write() as conn:
            await conn.execute(
                sa.update(outbox)
                .where(outbox.c.id == message_id)
                .values(payload=json.dumps(payload))
            )

    async def sent(self, *, message_id: int | None = None, ids: Sequence[int] = ()) -> None:
        """Forget messages Telegram accepted, or that need no sending (one, or several at once)."""
        chosen = [*ids, *([message_id] if message_id is not None else [])]
        if not chosen:
            return
        async with self._db._write() as conn:
            await conn.execute(sql.of(conn).outbox_sent, {"ids": chosen})

    async def failed(self, *, message_id: int) -> int:
        """Count a failed delivery attempt; returns the attempts so far."""
        async with self._db._write() as conn:
            await conn.execute(
                sa.update(outbox)
                .where(outbox.c.id == message_id)
                .values(attempts=outbox.c.attempts + 1)
            )
            return int(
                await conn.scalar(sa.select(outbox.c.attempts).where(outbox.c.id == message_id))
                or 0
            )

    async def drop_chat(self, *, chat_id: int) -> int:
        """Drop every message queued for a chat; returns how many."""
        async with self._db._write() as conn:
            result = await conn.execute(sa.delete(outbox).where(outbox.c.chat_id == chat_id))
            return int(result.rowcount)
