"""The store's side of the scam-message checker: who is about to send a message to check, and
how often each red flag was found. Never the message itself.

Implements ``bot.core.fraud.checking.CheckStore``; every call joins the unit of work in progress,
so a count is committed together with the reply it belongs to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import sqlalchemy as sa

from bot.store.aggregates import add_one
from bot.store.db import Connections
from bot.store.schema import check_counts, check_waits


def _aware(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class CheckRecords:
    """The checker's two small tables."""

    def __init__(self, connections: Connections, clock: Callable[[], dt.datetime]) -> None:
        self._db = connections
        self._now = clock

    async def wait_for_message(self, *, resident_id: int) -> None:
        """The resident's next text is a message to check."""
        async with self._db._write() as conn:
            await conn.execute(
                sa.delete(check_waits).where(check_waits.c.resident_id == resident_id)
            )
            await conn.execute(
                sa.insert(check_waits).values(resident_id=resident_id, since=self._now())
            )

    async def take_wait(self, *, resident_id: int, within: dt.timedelta) -> bool:
        """Whether the resident asked to check a message within ``within``; the wait is used up
        either way (one text per request)."""
        async with self._db._write() as conn:
            since = (
                await conn.execute(
                    sa.select(check_waits.c.since).where(check_waits.c.resident_id == resident_id)
                )
            ).scalar_one_or_none()
            if since is None:
                return False
            await conn.execute(
                sa.delete(check_waits).where(check_waits.c.resident_id == resident_id)
            )
            return _aware(since) >= self._now() - within

    async def count(self, *, categories: Sequence[str]) -> None:
        """One message checked, with the red flags it showed (``none`` counted when none)."""
        names = ("checked", *(categories or ("none",)))
        async with self._db._write() as conn:
            await add_one(conn, check_counts, check_counts.c.category, names)

    async def counts(self) -> dict[str, int]:
        """Messages checked (``checked``), found clean (``none``), and per red flag."""
        async with self._db._read() as conn:
            rows = await conn.execute(sa.select(check_counts.c.category, check_counts.c.times))
            return {row.category: int(row.times) for row in rows}

    async def purge_waits(self, *, older_than: dt.timedelta, limit: int = 5000) -> int:
        """Drop waits nobody followed up; returns how many."""
        cutoff = self._now() - older_than
        async with self._db._write() as conn:
            doomed = sa.select(check_waits.c.resident_id).where(check_waits.c.since < cutoff)
            ids = [int(i) for i in (await conn.execute(doomed.limit(limit))).scalars()]
            if ids:
                await conn.execute(sa.delete(check_waits).where(check_waits.c.resident_id.in_(ids)))
            return len(ids)
