"""The administrators' audit log: what each administrator did, kept for a while.

The periodic retention task calls ``purge``; it deletes at most ``limit`` rows per call (one short
write transaction), so it is called again while it returns ``limit``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from bot.store.db import Connections
from bot.store.schema import admin_audit
from bot.store.values import Clock, jsonable


class AuditLog:
    """One row per administrator's action."""

    def __init__(self, connections: Connections, clock: Clock) -> None:
        self._db = connections
        self._now = clock

    async def record(self, *, admin_id: int, action: str, detail: str = "") -> None:
        """Record what an administrator did (``detail`` cut to 256 characters)."""
        async with self._db._write() as conn:
            await conn.execute(
                sa.insert(admin_audit).values(
                    admin_id=admin_id, action=action, detail=detail[:256], at=self._now()
                )
            )

    async def recent(self, *, limit: int = 50) -> list[dict[str, Any]]:
        """The latest ``limit`` actions, newest first."""
        async with self._db._read() as conn:
            rows = await conn.execute(
                sa.select(admin_audit).order_by(admin_audit.c.id.desc()).limit(limit)
            )
            return [jsonable(dict(row._mapping)) for row in rows]

    async def purge(self, *, older_than: dt.timedelta, limit: int = 5000) -> int:
        """Drop administrators' audit rows older than ``older_than``."""
        cutoff = self._now() - older_than
        async with self._db._write() as conn:
            old = sa.select(admin_audit.c.id).where(admin_audit.c.at < cutoff).limit(limit)
            result = await conn.execute(sa.delete(admin_audit).where(admin_audit.c.id.in_(old)))
            return int(result.rowcount)
