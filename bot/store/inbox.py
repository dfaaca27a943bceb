"""The inbox: updates are kept until handled, so none is lost between Telegram and a crash."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from bot.store import statements as sql
from bot.store.db import Conn, Connections
from bot.store.schema import inbox
from bot.store.values import Clock

# Advisory lock keys of residents' turns: this prefix above 52 bits of the resident's id (a
# Telegram id fits in 52), so they never meet db.MIGRATION_LOCK or each other in practice.
TURN_LOCKS = 0x0F1 << 52
TURN_BITS = (1 << 52) - 1


class Inbox:
    """Telegram's updates by id: accepted, handled once, their content then erased."""

    def __init__(self, connections: Connections, clock: Clock, *, shared: bool = False) -> None:
        """``shared``: several processes may handle this database's updates (PostgreSQL)."""
        self._db = connections
        self._now = clock
        self.shared = shared

    async def accept(
        self, updates: Sequence[dict[str, Any]], *, residents: Sequence[int] | None = None
    ) -> list[dict[str, Any]]:
        """Record updates (idempotently) and return those not handled yet, in order.

        ``residents``: whose each update is (the user, else the chat), for ``earlier``.
        """
        if not updates:
            return []
        now = self._now()
        ids = [int(update["update_id"]) for update in updates]
        whose = list(residents) if residents is not None else [None] * len(ids)
        rows = [
            {
                "update_id": update_id,
                "payload": json.dumps(update),
                "received_at": now,
                "resident_id": resident,
            }
            for update_id, update, resident in zip(ids, updates, whose, strict=True)
        ]
        async with self._db._write() as conn:
            # Two statements for the whole batch that getUpdates returned, not two per update.
            await conn.execute(sql.of(conn).inbox_insert_ignore, rows)
            handled = set((await conn.execute(sql.of(conn).inbox_handled, {"ids": ids})).scalars())
        return [
            update
            for update_id, update in zip(ids, updates, strict=True)
            if update_id not in handled
        ]

    async def pending(self) -> list[dict[str, Any]]:
        """Updates accepted but not handled (a crash came in between), oldest first."""
        async with self._db._read() as conn:
            rows = await conn.execute(
                sa.select(inbox.c.payload)
                .where(inbox.c.done_at.is_(None), inbox.c.payload.is_not(None))
                .order_by(inbox.c.update_id)
            )
            return [json.loads(row.payload) for row in rows]

    async def earlier(self, *, resident_id: int, update_id: int) -> list[dict[str, Any]]:
        """A resident's updates accepted before ``update_id`` and not handled yet (by any
        process), oldest first."""
        async with self._db._read() as conn:
            rows = await conn.execute(
                sa.select(inbox.c.payload)
                .where(
                    inbox.c.resident_id == resident_id,
                    inbox.c.update_id < update_id,
                    inbox.c.done_at.is_(None),
                    inbox.c.payload.is_not(None),
                )
                .order_by(inbox.c.update_id)
            )
            return [json.loads(row.payload) for row in rows]

    async def waiting(self, *, older_than: dt.timedelta) -> list[dict[str, Any]]:
        """Updates accepted more than ``older_than`` ago and still not handled: a process that
        accepted them stopped (or died) before handling them. Oldest first."""
        async with self._db._read() as conn:
            rows = await conn.execute(
                sa.select(inbox.c.payload)
                .where(
                    inbox.c.done_at.is_(None),
                    inbox.c.payload.is_not(None),
                    inbox.c.received_at < self._now() - older_than,
                )
                .order_by(inbox.c.update_id)
            )
            return [json.loads(row.payload) for row in rows]

    async def take_turn(self, *, resident_id: int) -> None:
        """Inside a unit of work: wait until no other process is handling this resident, and
        keep them waiting until the commit. PostgreSQL's transaction-scoped advisory lock; on
        SQLite nothing (one process, whose queues already take a resident's updates in turn)."""
        if not self.shared:
            return
        async with self._db._write() as conn:
            await conn.execute(
                sql.of(conn).take_turn, {"key": TURN_LOCKS | (resident_id & TURN_BITS)}
            )

    async def done(self, *, update_id: int) -> bool:
        """Whether the update was handled."""
        async with self._db._read() as conn:
            done = await conn.scalar(
                sa.select(inbox.c.done_at).where(inbox.c.update_id == update_id)
            )
        return done is not None

    async def finish(self, *, update_id: int) -> bool:
        """Mark an update handled and forget its content; False if it already was."""
        now = self._now()
        async with self._db._write() as conn:
            result = await conn.execute(
                sql.of(conn).inbox_finish,
                {
                    "update_id": update_id,
                    "payload": None,
                    "received_at": now,
                    "done_at": now,
                    "resident_id": None,
                    "b_now": now,
                },
            )
            return result.rowcount == 1

    async def purge(self, *, older_than: dt.timedelta) -> int:
        """Drop handled update ids once Telegram can no longer redeliver them."""
        async with self._db._write() as conn:
            result = await conn.execute(
                sa.delete(inbox).where(inbox.c.done_at < self._now() - older_than)
            )
            return int(result.rowcount)


async def delete_updates_of(conn: Conn, resident_ids: set[int]) -> None:
    """Drop updates not handled yet that are from or about any of ``resident_ids``."""
    # Only updates not yet handled keep a payload; they are few, so they are read here.
    rows = await conn.execute(
        sa.select(inbox.c.update_id, inbox.c.payload).where(inbox.c.payload.is_not(None))
    )
    doomed = [
        row.update_id for row in rows.all() if update_people(json.loads(row.payload)) & resident_ids
    ]
    if doomed:
        await conn.execute(sa.delete(inbox).where(inbox.c.update_id.in_(doomed)))


def update_people(update: dict[str, Any]) -> set[int]:
    """The user and chat ids an update (a Telegram JSON object) is from or about."""
    found: set[int] = set()
    for part in update.values():
        if not isinstance(part, dict):
            continue
        for holder in (part, part.get("message")):
            if not isinstance(holder, dict):
                continue
            for key in ("from", "chat"):
                who = holder.get(key)
                if isinstance(who, dict) and isinstance(who.get("id"), int):
                    found.add(who["id"])
    return found
