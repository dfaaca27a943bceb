"""Application state: small values the whole deployment shares, by key."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from bot.store.aggregates import upsert
from bot.store.db import Connections
from bot.store.schema import app_state
from bot.store.values import Clock, aware


class AppState:
    """Keyed values: secrets made once, when a group last heard the bot's note."""

    def __init__(self, connections: Connections, clock: Clock) -> None:
        self._db = connections
        self._now = clock

    async def get(self, key: str) -> str | None:
        """The value stored under ``key``, if any."""
        async with self._db._read() as conn:
            value = await conn.scalar(sa.select(app_state.c.value).where(app_state.c.key == key))
        return None if value is None else str(value)

    async def set_once(self, key: str, value: str) -> str:
        """Store ``value`` under ``key`` unless one is there; return what is stored."""
        async with self._db._write() as conn:
            await conn.execute(
                upsert(conn, app_state).on_conflict_do_nothing().values(key=key, value=value)
            )
            stored = await conn.scalar(sa.select(app_state.c.value).where(app_state.c.key == key))
        return str(stored)

    async def claim_group_note(self, *, chat_id: int, every: dt.timedelta) -> bool:
        """Whether a group may hear the bot's note now (at most once per ``every``); if so, the
        time is recorded in the same transaction, so two processes cannot both say it."""
        key = f"group_note:{chat_id}"
        now = self._now()
        async with self._db._write() as conn:
            value = await conn.scalar(sa.select(app_state.c.value).where(app_state.c.key == key))
            if value is not None and aware(dt.datetime.fromisoformat(value)) > now - every:
                return False
            statement = upsert(conn, app_state).values(key=key, value=now.isoformat())
            await conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[app_state.c.key], set_={"value": now.isoformat()}
                )
            )
            return True

    async def purge(self, *, key: str) -> bool:
        """Forget one piece of application state (e.g. a secret an older finlit kept)."""
        async with self._db._write() as conn:
            result = await conn.execute(sa.delete(app_state).where(app_state.c.key == key))
            return int(result.rowcount) > 0
