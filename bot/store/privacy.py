"""Privacy: /mydata and /forget cover every table with a resident's id, found in the schema.

Also the retention of residents who never consented: they are forgotten after a while.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from bot.store.db import Conn, Connections
from bot.store.inbox import delete_updates_of
from bot.store.schema import residents
from bot.store.values import Clock, jsonable

# Tables naming a person that /mydata and /forget leave alone, and why. (The inbox is covered:
# an update waiting to be handled names its resident; a handled one keeps only its id, for
# three days, to recognise a redelivery.) Every other table
# with a resident's id is covered automatically (``resident_columns``), and
# tests/test_privacy_store.py fails when a table names someone in neither way.
PRIVACY_EXEMPT: tuple[tuple[str, str], ...] = (
    (
        "admin_audit",
        "what administrators did (their ids, not residents'), kept for accountability and "
        "purged after AUDIT_RETENTION_DAYS",
    ),
    (
        "broadcasts",
        "administrators' announcements (the administrator's id and text), purged after "
        "BROADCAST_RETENTION_DAYS; who received one is in broadcast_deliveries",
    ),
    (
        "cohorts",
        "the cohort and the administrator who created it; membership is in cohort_members",
    ),
)
# Columns that name a person without a foreign key to residents. In a private chat, the
# chat's id is the resident's Telegram id.
PERSON_COLUMNS = ("resident_id", "chat_id", "admin_id", "created_by", "user_id")


def resident_columns(metadata: sa.MetaData | None = None) -> list[sa.Column[Any]]:
    """The column holding a resident's id in each table that has one, parents first."""
    found: list[sa.Column[Any]] = []
    for table in (metadata or residents.metadata).sorted_tables:
        if table.name == residents.name:
            found.append(table.c.id)
            continue
        for column in table.columns:
            refers = any(fk.column.table.name == residents.name for fk in column.foreign_keys)
            if refers or column.name in ("resident_id", "chat_id"):
                found.append(column)
                break
    return found


async def delete_residents(conn: Conn, resident_ids: Sequence[int]) -> None:
    """Delete every row about these residents."""
    # Children before parents, so no backend needs ON DELETE CASCADE.
    for column in reversed(resident_columns()):
        await conn.execute(sa.delete(column.table).where(column.in_(list(resident_ids))))


class Privacy:
    """What is stored about a resident: all of it shown, or all of it deleted."""

    # For callers that hold the store: the same rule as the module's function.
    resident_columns = staticmethod(resident_columns)

    def __init__(self, connections: Connections, clock: Clock) -> None:
        self._db = connections
        self._now = clock

    async def export(self, *, resident_id: int) -> dict[str, Any]:
        """Every row stored about a resident, as plain JSON-ready data."""
        out: dict[str, Any] = {}
        async with self._db._read() as conn:
            for column in resident_columns():
                table = column.table
                # In the order they were stored (PostgreSQL returns updated rows in any order).
                rows = await conn.execute(
                    sa.select(table)
                    .where(column == resident_id)
                    .order_by(*table.primary_key.columns)
                )
                out[table.name] = [jsonable(dict(row._mapping)) for row in rows]
        # Messages waiting to be sent are JSON in the database: shown as what they are.
        for message in out.get("outbox", []):
            if isinstance(message.get("payload"), str):
                message["payload"] = json.loads(message["payload"])
        return out

    async def forget(self, *, resident_id: int) -> None:
        """Delete every row about a resident, queued messages included (children first)."""
        async with self._db._write() as conn:
            # Aggregate counters keep their totals: they cannot be traced back to anyone.
            await delete_residents(conn, [resident_id])

    # Retention: a periodic task calls this; it deletes at most ``limit`` residents per call (one
    # short write transaction), so call again while it returns ``limit``.

    async def purge_unconsented(self, *, older_than: dt.timedelta, limit: int = 500) -> int:
        """Forget residents who never accepted the privacy notice, unseen for ``older_than``.

        Everything about them goes, as with /forget, and so do updates of theirs still waiting
        in the inbox. Returns how many residents were forgotten.
        """
        cutoff = self._now() - older_than
        async with self._db._write() as conn:
            ids = [
                int(resident_id)
                for resident_id in (
                    await conn.execute(
                        sa.select(residents.c.id)
                        .where(residents.c.consent_at.is_(None), residents.c.last_seen_at < cutoff)
                        .limit(limit)
                    )
                ).scalars()
            ]
            if ids:
                await delete_residents(conn, ids)
                await delete_updates_of(conn, set(ids))
        return len(ids)
