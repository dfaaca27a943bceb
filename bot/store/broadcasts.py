"""Broadcasts: a draft, then a durable job with one delivery row per recipient.

The periodic retention task calls the purges; each deletes at most ``limit`` rows per call (one
short write transaction), so it is called again while it returns ``limit``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from bot.core.models import Broadcast, Recipient
from bot.store.db import Connections
from bot.store.schema import broadcast_deliveries, broadcasts, cohort_members, replicas, residents
from bot.store.values import Clock

# Delivery statuses, and the broadcast counter each final one adds to.
DELIVERY_COUNTERS = {
    "sent": "sent",
    "failed": "failed",
    "unknown": "failed",  # a claim a crash interrupted: maybe delivered, never repeated
    "blocked": "blocked",
    "skipped": "skipped",  # turned announcements off after the broadcast was confirmed
}


class Broadcasts:
    """Administrators' announcements and who each one reached."""

    def __init__(self, connections: Connections, clock: Clock) -> None:
        self._db = connections
        self._now = clock

    async def audience(self, *, cohort_id: int | None, notice_version: int = 1) -> int:
        """How many residents a broadcast would reach now (consented to ``notice_version`` or
        later, reachable, not opted out)."""
        async with self._db._read() as conn:
            count = await conn.scalar(
                sa.select(sa.func.count()).select_from(
                    _audience(cohort_id, notice_version).subquery()
                )
            )
        return int(count or 0)

    async def create(self, *, admin_id: int, cohort_id: int | None, text: str) -> Broadcast:
        """A draft broadcast, not sent to anyone until it is started."""
        async with self._db._write() as conn:
            result = await conn.execute(
                sa.insert(broadcasts)
                .values(
                    admin_id=admin_id,
                    cohort_id=cohort_id,
                    text=text,
                    status="draft",
                    created_at=self._now(),
                )
                .returning(broadcasts)
            )
            return _broadcast(result.one())

    async def get(self, *, broadcast_id: int) -> Broadcast | None:
        """A broadcast by id, with its counters."""
        async with self._db._read() as conn:
            row = (
                await conn.execute(sa.select(broadcasts).where(broadcasts.c.id == broadcast_id))
            ).first()
        return _broadcast(row) if row else None

    async def start(self, *, broadcast_id: int, notice_version: int = 1) -> Broadcast | None:
        """Draft -> sending, writing one pending delivery per recipient in the same transaction.

        None when the broadcast is not a draft (already confirmed, cancelled, unknown): a second
        press of "Send" creates nothing.
        """
        async with self._db._write() as conn:
            cohort_id = await conn.scalar(
                sa.select(broadcasts.c.cohort_id).where(broadcasts.c.id == broadcast_id)
            )
            moved = await conn.execute(
                sa.update(broadcasts)
                .where(broadcasts.c.id == broadcast_id, broadcasts.c.status == "draft")
                .values(status="sending", started_at=self._now())
            )
            if moved.rowcount != 1:
                return None
            audience = _audience(cohort_id, notice_version).subquery()
            await conn.execute(
                sa.insert(broadcast_deliveries).from_select(
                    ["broadcast_id", "resident_id", "status", "attempts"],
                    sa.select(
                        sa.literal(broadcast_id),
                        audience.c.id,
                        sa.literal("pending"),
                        sa.literal(0),
                    ),
                )
            )
            count = await conn.scalar(
                sa.select(sa.func.count()).where(
                    broadcast_deliveries.c.broadcast_id == broadcast_id
                )
            )
            await conn.execute(
                sa.update(broadcasts)
                .where(broadcasts.c.id == broadcast_id)
                .values(recipients=int(count or 0))
            )
            row = (
                await conn.execute(sa.select(broadcasts).where(broadcasts.c.id == broadcast_id))
            ).one()
            return _broadcast(row)

    async def cancel(self, *, broadcast_id: int) -> bool:
        """Draft -> cancelled; False if it was not a draft any more."""
        async with self._db._write() as conn:
            moved = await conn.execute(
                sa.update(broadcasts)
                .where(broadcasts.c.id == broadcast_id, broadcasts.c.status == "draft")
                .values(status="cancelled", finished_at=self._now())
            )
            return moved.rowcount == 1

    async def sending(self) -> list[Broadcast]:
        """Broadcasts confirmed and not finished (the worker resumes them)."""
        async with self._db._read() as conn:
            rows = await conn.execute(
                sa.select(broadcasts)
                .where(broadcasts.c.status == "sending")
                .order_by(broadcasts.c.id)
            )
            return [_broadcast(row) for row in rows]

    async def pending_deliveries(self, *, broadcast_id: int, limit: int) -> list[Recipient]:
        """Up to ``limit`` deliveries not attempted yet, with the residents' current settings."""
        d = broadcast_deliveries
        async with self._db._read() as conn:
            rows = await conn.execute(
                sa.select(
                    d.c.resident_id,
                    residents.c.language,
                    residents.c.announcements,
                    residents.c.blocked_at,
                )
                .join(residents, residents.c.id == d.c.resident_id)
                .where(d.c.broadcast_id == broadcast_id, d.c.status == "pending")
                .order_by(d.c.resident_id)
                .limit(limit)
            )
            return [
                Recipient(
                    resident_id=row.resident_id,
                    language=row.language,
                    announcements=bool(row.announcements),
                    blocked=row.blocked_at is not None,
                )
                for row in rows
            ]

    async def claim(self, *, broadcast_id: int, resident_id: int, by: str | None = None) -> bool:
        """Pending -> sending, committed before the message goes out; False if not pending
        (another replica's claim came first). ``by``: the claiming replica (``replicas.id``)."""
        d = broadcast_deliveries
        async with self._db._write() as conn:
            claimed = await conn.execute(
                sa.update(d)
                .where(
                    d.c.broadcast_id == broadcast_id,
                    d.c.resident_id == resident_id,
                    d.c.status == "pending",
                )
                .values(status="sending", attempts=d.c.attempts + 1, claimed_by=by)
            )
            return claimed.rowcount == 1

    async def release(self, *, broadcast_id: int, resident_id: int) -> bool:
        """Sending -> pending: Telegram certainly did not take it (flood control)."""
        d = broadcast_deliveries
        async with self._db._write() as conn:
            released = await conn.execute(
                sa.update(d)
                .where(
                    d.c.broadcast_id == broadcast_id,
                    d.c.resident_id == resident_id,
                    d.c.status == "sending",
                )
                .values(status="pending")
            )
            return released.rowcount == 1

    async def settle(
        self, *, broadcast_id: int, resident_id: int, status: str, claimed: bool = True
    ) -> bool:
        """A claimed (or, with ``claimed=False``, a pending) delivery's outcome, counted once."""
        counter = DELIVERY_COUNTERS[status]
        d = broadcast_deliveries
        now = self._now()
        async with self._db._write() as conn:
            settled = await conn.execute(
                sa.update(d)
                .where(
                    d.c.broadcast_id == broadcast_id,
                    d.c.resident_id == resident_id,
                    d.c.status == ("sending" if claimed else "pending"),
                )
                .values(status=status, sent_at=now if status == "sent" else None)
            )
            if settled.rowcount != 1:
                return False
            await conn.execute(
                sa.update(broadcasts)
                .where(broadcasts.c.id == broadcast_id)
                .values({counter: broadcasts.c[counter] + 1})
            )
            return True

    async def abandon_claimed(self, *, lease: dt.timedelta | None = None) -> int:
        """After a crash: claims whose fate is unknown become "unknown" (never sent again).

        ``lease``: several replicas share the database; claims of a replica heard from within
        the lease are in flight, not abandoned (None: one process, every claim is abandoned).
        """
        d = broadcast_deliveries
        orphaned = d.c.status == "sending"
        if lease is not None:
            live = sa.select(replicas.c.id).where(replicas.c.seen_at >= self._now() - lease)
            orphaned = sa.and_(
                orphaned,
                sa.or_(d.c.claimed_by.is_(None), d.c.claimed_by.not_in(live.scalar_subquery())),
            )
        async with self._db._write() as conn:
            rows = (
                await conn.execute(
                    sa.select(d.c.broadcast_id, sa.func.count().label("n"))
                    .where(orphaned)
                    .group_by(d.c.broadcast_id)
                )
            ).all()
            abandoned = 0
            for row in rows:
                # Counted by what this statement changed: another replica may settle a claim
                # between the two statements.
                changed = await conn.execute(
                    sa.update(d)
                    .where(d.c.broadcast_id == row.broadcast_id, orphaned)
                    .values(status="unknown")
                )
                abandoned += int(changed.rowcount)
                await conn.execute(
                    sa.update(broadcasts)
                    .where(broadcasts.c.id == row.broadcast_id)
                    .values(failed=broadcasts.c.failed + int(changed.rowcount))
                )
            return abandoned

    async def finish(self, *, broadcast_id: int) -> bool:
        """Sending -> done once no delivery is pending or in flight; True for the one caller
        that made the change (it reports the end)."""
        d = broadcast_deliveries
        async with self._db._write() as conn:
            open_deliveries = sa.exists().where(
                d.c.broadcast_id == broadcast_id, d.c.status.in_(("pending", "sending"))
            )
            done = await conn.execute(
                sa.update(broadcasts)
                .where(
                    broadcasts.c.id == broadcast_id,
                    broadcasts.c.status == "sending",
                    ~open_deliveries,
                )
                .values(status="done", finished_at=self._now())
            )
            return done.rowcount == 1

    async def delivery_status(self, *, broadcast_id: int) -> dict[int, str]:
        """Each recipient's delivery status (for tests and support)."""
        d = broadcast_deliveries
        async with self._db._read() as conn:
            rows = await conn.execute(
                sa.select(d.c.resident_id, d.c.status).where(d.c.broadcast_id == broadcast_id)
            )
            return {row.resident_id: row.status for row in rows}

    async def purge_deliveries(self, *, older_than: dt.timedelta, limit: int = 5000) -> int:
        """Drop who-received-what rows of broadcasts finished before ``older_than`` ago.

        The broadcast keeps its counters (sent, failed, blocked, skipped).
        """
        cutoff = self._now() - older_than
        d, b = broadcast_deliveries, broadcasts
        finished = sa.select(b.c.id).where(
            b.c.status.in_(("done", "cancelled")),
            sa.func.coalesce(b.c.finished_at, b.c.created_at) < cutoff,
        )
        async with self._db._write() as conn:
            keys = (
                await conn.execute(
                    sa.select(d.c.broadcast_id, d.c.resident_id)
                    .where(d.c.broadcast_id.in_(finished))
                    .limit(limit)
                )
            ).all()
            for broadcast_id in {key.broadcast_id for key in keys}:
                residents_ = [key.resident_id for key in keys if key.broadcast_id == broadcast_id]
                await conn.execute(
                    sa.delete(d).where(
                        d.c.broadcast_id == broadcast_id, d.c.resident_id.in_(residents_)
                    )
                )
        return len(keys)

    async def purge(self, *, older_than: dt.timedelta, limit: int = 500) -> int:
        """Drop broadcasts (their text and counters) finished, cancelled or left as drafts
        before ``older_than`` ago, with any delivery rows they still have."""
        cutoff = self._now() - older_than
        d, b = broadcast_deliveries, broadcasts
        async with self._db._write() as conn:
            ids = [
                int(broadcast_id)
                for broadcast_id in (
                    await conn.execute(
                        sa.select(b.c.id)
                        .where(
                            b.c.status.in_(("done", "cancelled", "draft")),
                            sa.func.coalesce(b.c.finished_at, b.c.created_at) < cutoff,
                        )
                        .limit(limit)
                    )
                ).scalars()
            ]
            if ids:
                await conn.execute(sa.delete(d).where(d.c.broadcast_id.in_(ids)))
                await conn.execute(sa.delete(b).where(b.c.id.in_(ids)))
        return len(ids)


def _audience(cohort_id: int | None, notice_version: int) -> sa.Select[Any]:
    """Residents a broadcast reaches: consented to the privacy notice's ``notice_version`` (the
    one that names announcements) or later, reachable, not opted out (of the cohort)."""
    query = sa.select(residents.c.id).where(
        residents.c.consent_at.is_not(None),
        residents.c.consent_version >= notice_version,
        residents.c.blocked_at.is_(None),
        residents.c.announcements.is_(sa.true()),
    )
    if cohort_id is not None:
        members = sa.select(cohort_members.c.resident_id).where(
            cohort_members.c.cohort_id == cohort_id
        )
        query = query.where(residents.c.id.in_(members))
    return query


def _broadcast(row: sa.Row[Any]) -> Broadcast:
    return Broadcast(
        id=row.id,
        admin_id=row.admin_id,
        cohort_id=row.cohort_id,
        text=row.text,
        status=row.status,
        recipients=row.recipients,
        sent=row.sent,
        failed=row.failed,
        blocked=row.blocked,
        skipped=row.skipped,
    )
