"""The store's side of "ask in your own words": how typed questions were answered, counted.
Never the question itself, nor who asked it.

Implements ``bot.core.ask.desk.AskStore``; every call joins the unit of work in progress, so a
count is committed together with the reply it belongs to.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from bot.store.aggregates import add_one
from bot.store.db import Connections
from bot.store.schema import ask_counts


class AskRecords:
    """One small table of tallies."""

    def __init__(self, connections: Connections) -> None:
        self._db = connections

    async def count(self, *, tallies: Sequence[str]) -> None:
        """Add one to each of ``tallies``."""
        async with self._db._write() as conn:
            await add_one(conn, ask_counts, ask_counts.c.tally, tallies)

    async def counts(self) -> dict[str, int]:
        """Every tally and its count."""
        async with self._db._read() as conn:
            rows = await conn.execute(sa.select(ask_counts.c.tally, ask_counts.c.times))
            return {row.tally: int(row.times) for row in rows}
